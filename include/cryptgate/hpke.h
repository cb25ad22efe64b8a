/*
 * hpke.h: Hybrid Public Key Encryption, RFC 9180, built on OpenSSL 3.0
 * primitives (OpenSSL's own OSSL_HPKE_* arrives only in 3.2).
 *
 * KEM is DHKEM(X25519, HKDF-SHA256) (0x0020) and KDF is HKDF-SHA256
 * (0x0001), always.  cryptgate itself seals with the one-shot
 * hpke_seal/hpke_open: base mode, ChaCha20-Poly1305 (0x0003).  The context
 * API offers the rest of RFC 9180 for these two (all four modes, AEADs
 * AES-128-GCM, ChaCha20-Poly1305 and export-only) so that every RFC 9180
 * appendix A vector of the suites runs through this code.
 */
#ifndef CRYPTGATE_HPKE_H
#define CRYPTGATE_HPKE_H

#include <stddef.h>
#include <stdint.h>

#include "aead.h"
#include "cdefs.h"
#include "x25519.h"

#define HPKE_ENCBYTES X25519_PUBLICBYTES
#define HPKE_OVERHEAD (HPKE_ENCBYTES + AEAD_TAGBYTES)
#define HPKE_INFOBYTES_MAX 512
#define HPKE_PSKBYTES_MIN 32 /* RFC 9180 section 9.5 */
#define HPKE_PSKBYTES_MAX 128
#define HPKE_PSKIDBYTES_MAX 128
#define HPKE_EXPORTBYTES_MAX (255 * 32)
#define HPKE_EXPCTXBYTES_MAX 512 /* exporter_context */
#define HPKE_IKMBYTES_MAX 512 /* hpke_derive_keypair, ikmE */

/**
 * hpke_seal(c, m, mlen, info, infolen, aad, aadlen, pkR): single-shot base
 * mode seal of ${mlen} bytes at ${m} to the X25519 public key ${pkR}, with
 * a fresh ephemeral key.  Writes enc || ct || tag, ${mlen} + HPKE_OVERHEAD
 * bytes, to ${c}.  ${info} binds the context (role, key id, recipient);
 * ${aad} is authenticated, not encrypted.  ${c} and ${m} must not overlap.
 * Return 0 or -1.
 */
int hpke_seal(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t *info,
    size_t infolen, const uint8_t *aad, size_t aadlen,
    const uint8_t pkR[static X25519_PUBLICBYTES]) CG_WUR;

/**
 * hpke_open(m, c, clen, info, infolen, aad, aadlen, skR): open what
 * hpke_seal wrote, writing ${clen} - HPKE_OVERHEAD bytes to ${m}.
 * Return 0, or -1 on any failure (short input, bad enc, bad tag, wrong
 * info or aad), with ${m} zeroed.  ${m} may be ${c} + HPKE_ENCBYTES;
 * otherwise the buffers must not overlap.
 */
int hpke_open(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t *info,
    size_t infolen, const uint8_t *aad, size_t aadlen,
    const uint8_t skR[static X25519_SECRETBYTES]) CG_WUR;

/**
 * hpke_open_key(m, c, clen, info, infolen, aad, aadlen, kR): hpke_open with
 * the recipient's key imported once (x25519_key_new): the same result, one
 * X25519 scalar multiplication instead of two.  ${kR} is only read.
 */
int hpke_open_key(uint8_t *m, const uint8_t *c, size_t clen,
    const uint8_t *info, size_t infolen, const uint8_t *aad, size_t aadlen,
    const struct x25519_key *kR) CG_WUR;

enum hpke_mode {
	HPKE_MODE_BASE = 0x00,
	HPKE_MODE_PSK = 0x01,
	HPKE_MODE_AUTH = 0x02,
	HPKE_MODE_AUTH_PSK = 0x03,
};

enum hpke_aead {
	HPKE_AEAD_AES128GCM = 0x0001,
	HPKE_AEAD_CHACHA20POLY1305 = 0x0003,
	HPKE_AEAD_EXPORT_ONLY = 0xffff,
};

/*
 * Parameters of a context setup; unused fields NULL / 0.  A PSK and a PSK
 * id are given together in the PSK modes only (HPKE_PSKBYTES_MIN..MAX and
 * up to HPKE_PSKIDBYTES_MAX bytes); ${info} up to HPKE_INFOBYTES_MAX.  The
 * auth modes need skS on the sender side and pkS on the receiver side (the
 * other side's field is ignored); other modes refuse both.  The receiver
 * ignores ikmE.
 */
struct hpke_params {
	enum hpke_mode mode;
	enum hpke_aead aead;
	const uint8_t *info;
	size_t infolen;
	const uint8_t *psk; /* PSK modes */
	size_t psklen;
	const uint8_t *psk_id; /* PSK modes */
	size_t psk_idlen;
	const uint8_t *skS; /* auth modes, sender side (32 bytes) */
	const uint8_t *pkS; /* auth modes, receiver side (32 bytes) */
	/* Sender only: derive the ephemeral key from ikmE (RFC 9180
	 * DeriveKeyPair) instead of generating it.  Known-answer tests only. */
	const uint8_t *ikmE;
	size_t ikmElen;
};

struct hpke_ctx;

/**
 * hpke_setup_sender(enc, pkR, params): encapsulate to ${pkR} and derive a
 * sender context (seal and export only), writing the encapsulated key to
 * ${enc}.  Return the context (free with hpke_ctx_free) or NULL.
 */
struct hpke_ctx *hpke_setup_sender(uint8_t enc[static HPKE_ENCBYTES],
    const uint8_t pkR[static X25519_PUBLICBYTES],
    const struct hpke_params *params);

/**
 * hpke_setup_receiver(enc, skR, params): decapsulate ${enc} with ${skR} and
 * derive a receiver context (open and export only).  Return the context
 * (free with hpke_ctx_free) or NULL.
 */
struct hpke_ctx *hpke_setup_receiver(const uint8_t enc[static HPKE_ENCBYTES],
    const uint8_t skR[static X25519_SECRETBYTES],
    const struct hpke_params *params);

/**
 * hpke_setup_receiver_key(enc, kR, params): hpke_setup_receiver with the
 * recipient's key imported once (x25519_key_new); ${kR} is only read.
 */
struct hpke_ctx *hpke_setup_receiver_key(
    const uint8_t enc[static HPKE_ENCBYTES], const struct x25519_key *kR,
    const struct hpke_params *params);

/**
 * hpke_ctx_seal(ctx, c, m, mlen, aad, aadlen): ContextS.Seal: writes
 * ${mlen} + AEAD_TAGBYTES bytes to ${c} (which may equal ${m}) and advances
 * the sequence number.  Return 0 or -1 (receiver or export-only context,
 * sequence exhausted at 2^64 - 1 messages, error).
 */
int hpke_ctx_seal(struct hpke_ctx *ctx, uint8_t *c, const uint8_t *m,
    size_t mlen, const uint8_t *aad, size_t aadlen) CG_WUR;

/**
 * hpke_ctx_open(ctx, m, c, clen, aad, aadlen): ContextR.Open.  Return 0, or
 * -1 with ${m} zeroed; the sequence number advances only on success.
 */
int hpke_ctx_open(struct hpke_ctx *ctx, uint8_t *m, const uint8_t *c,
    size_t clen, const uint8_t *aad, size_t aadlen) CG_WUR;

/**
 * hpke_ctx_export(ctx, out, outlen, exp_ctx, exp_ctxlen): Context.Export
 * of ${outlen} bytes (1..HPKE_EXPORTBYTES_MAX) with exporter_context
 * ${exp_ctx} (up to HPKE_EXPCTXBYTES_MAX bytes).  Return 0 or -1.
 */
int hpke_ctx_export(const struct hpke_ctx *ctx, uint8_t *out, size_t outlen,
    const uint8_t *exp_ctx, size_t exp_ctxlen) CG_WUR;

/** hpke_ctx_free(ctx): wipe and free ${ctx}; NULL is a no-op. */
void hpke_ctx_free(struct hpke_ctx *ctx);

/**
 * hpke_derive_keypair(pk, sk, ikm, ikmlen): RFC 9180 DeriveKeyPair for
 * DHKEM(X25519, HKDF-SHA256).  32 <= ${ikmlen} <= HPKE_IKMBYTES_MAX.
 * Return 0 or -1.
 */
int hpke_derive_keypair(uint8_t pk[static X25519_PUBLICBYTES],
    uint8_t sk[static X25519_SECRETBYTES], const uint8_t *ikm,
    size_t ikmlen) CG_WUR;

#endif /* !CRYPTGATE_HPKE_H */
