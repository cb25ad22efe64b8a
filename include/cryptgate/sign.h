/*
 * sign.h: Ed25519 signatures (RFC 8032) with domain separation.
 *
 * sign_detached/sign_verify sign  ctx || 0x00 || message,  where ${ctx} is a
 * non-empty NUL-free label naming the purpose ("cryptgate kdc v1 request",
 * ...), so a signature made for one purpose never verifies for another.
 * The _pure variants are plain Ed25519 over the message, for
 * interoperability and known-answer tests only.
 */
#ifndef CRYPTGATE_SIGN_H
#define CRYPTGATE_SIGN_H

#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"

#define SIGN_PUBLICBYTES 32
#define SIGN_SECRETBYTES 32 /* the RFC 8032 seed */
#define SIGN_BYTES 64
#define SIGN_CTXBYTES_MAX 64

/** sign_keypair(pk, sk): a fresh Ed25519 key pair.  Return 0 or -1. */
int sign_keypair(uint8_t pk[static SIGN_PUBLICBYTES],
    uint8_t sk[static SIGN_SECRETBYTES]) CG_WUR;

/** sign_public(pk, sk): the public key of seed ${sk}.  Return 0 or -1. */
int sign_public(uint8_t pk[static SIGN_PUBLICBYTES],
    const uint8_t sk[static SIGN_SECRETBYTES]) CG_WUR;

/**
 * sign_detached(sig, ctx, m, mlen, sk): sign ${ctx} || 0x00 || ${m} with
 * ${sk}.  ${ctx} must be 1..SIGN_CTXBYTES_MAX characters.  Return 0 or -1.
 */
int sign_detached(uint8_t sig[static SIGN_BYTES], const char *ctx,
    const uint8_t *m, size_t mlen,
    const uint8_t sk[static SIGN_SECRETBYTES]) CG_WUR;

/**
 * sign_verify(sig, ctx, m, mlen, pk): 0 if ${sig} is a valid signature by
 * ${pk} over ${ctx} || 0x00 || ${m}; -1 otherwise.  Verification is strict
 * (OpenSSL rejects non-canonical S and small-order points as Wycheproof
 * expects).  A bad signature is not logged; a bad ${ctx} is.
 */
int sign_verify(const uint8_t sig[static SIGN_BYTES], const char *ctx,
    const uint8_t *m, size_t mlen,
    const uint8_t pk[static SIGN_PUBLICBYTES]) CG_WUR;

/** sign_detached_pure(sig, m, mlen, sk): plain Ed25519.  Return 0 or -1. */
int sign_detached_pure(uint8_t sig[static SIGN_BYTES], const uint8_t *m,
    size_t mlen, const uint8_t sk[static SIGN_SECRETBYTES]) CG_WUR;

/** sign_verify_pure(sig, m, mlen, pk): plain Ed25519.  Return 0 or -1. */
int sign_verify_pure(const uint8_t sig[static SIGN_BYTES], const uint8_t *m,
    size_t mlen, const uint8_t pk[static SIGN_PUBLICBYTES]) CG_WUR;

/*
 * Keys imported once, for signing or verifying many messages (the KDC
 * signs every answer with one key).  sign_detached and sign_verify import
 * the key on every call; these objects save that (for a private key, the
 * Ed25519 public key computation, a scalar multiplication) and give
 * byte-identical results.  A key object is read-only once made: several
 * threads may use one at the same time.
 */
struct sign_key;
struct sign_pub;

/**
 * sign_key_new(sk): import the Ed25519 seed ${sk} for signing.  Return the
 * key (free with sign_key_free) or NULL (logged).
 */
struct sign_key *sign_key_new(const uint8_t sk[static SIGN_SECRETBYTES]);

/** sign_key_public(key, pk): the public key of ${key}. */
void sign_key_public(
    const struct sign_key *key, uint8_t pk[static SIGN_PUBLICBYTES]);

/**
 * sign_key_detached(sig, ctx, m, mlen, key): sign_detached with the key
 * ${key}: sign ${ctx} || 0x00 || ${m}.  Return 0 or -1 (logged).
 */
int sign_key_detached(uint8_t sig[static SIGN_BYTES], const char *ctx,
    const uint8_t *m, size_t mlen, const struct sign_key *key) CG_WUR;

/** sign_key_free(key): free ${key}; NULL is a no-op. */
void sign_key_free(struct sign_key *key);

/**
 * sign_pub_new(pk): import the Ed25519 public key ${pk} for verifying.
 * Return it (free with sign_pub_free) or NULL (logged).  A malformed
 * ${pk} (not a point) is accepted here and fails every verification, as
 * with sign_verify.
 */
struct sign_pub *sign_pub_new(const uint8_t pk[static SIGN_PUBLICBYTES]);

/** sign_pub_key(pub): the 32 bytes of the public key of ${pub}. */
const uint8_t *sign_pub_key(const struct sign_pub *pub);

/**
 * sign_pub_verify(sig, ctx, m, mlen, pub): sign_verify with the key
 * ${pub}: 0 if ${sig} is a valid signature over ${ctx} || 0x00 || ${m},
 * -1 otherwise (a bad signature is not logged; a bad ${ctx} is).
 */
int sign_pub_verify(const uint8_t sig[static SIGN_BYTES], const char *ctx,
    const uint8_t *m, size_t mlen, const struct sign_pub *pub) CG_WUR;

/** sign_pub_free(pub): free ${pub}; NULL is a no-op. */
void sign_pub_free(struct sign_pub *pub);

#endif /* !CRYPTGATE_SIGN_H */
