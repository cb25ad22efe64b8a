/*
 * hostpub.h: the public identity of a host: its Ed25519 signing key, its
 * sealing key (X25519 or RSA) and the host id derived from both.
 *
 *   host_id = SHA-256("cryptgate host" || sign_pk || seal_pk)[0..16)
 *
 * where seal_pk is the 32 raw X25519 bytes, or the DER SubjectPublicKeyInfo
 * of the RSA key.  A public identity is written as one line, the content
 * of PREFIX.pub (fields separated by exactly one space):
 *
 *   cryptgate-host-v1 TYPE HOSTID SIGNPK SEALPK [COMMENT]
 *
 * TYPE is "x25519" or "rsa", HOSTID 32 lowercase hex digits, SIGNPK and
 * SEALPK padded base64 (RFC 4648), COMMENT optional printable ASCII (may
 * contain spaces, at most HOSTPUB_COMMENTBYTES_MAX characters).
 *
 * Sealing (hostpub_seal, opened by hostkey_open):
 *  - x25519 hosts: HPKE base mode (hpke_seal), DHKEM(X25519, HKDF-SHA256),
 *    HKDF-SHA256, ChaCha20-Poly1305, with ${info} and ${aad} as given;
 *    the ciphertext is ${mlen} + HPKE_OVERHEAD bytes.
 *  - rsa hosts: RSAES-OAEP, SHA-256 and MGF1-SHA-256 (rsa_oaep_seal) with
 *    the OAEP label  be32(infolen) || info || aad  (the length prefix keeps
 *    (info, aad) pairs apart); the ciphertext has the modulus size and the
 *    message is at most modulus bytes - 66 (318 for RSA-3072).
 */
#ifndef CRYPTGATE_HOSTPUB_H
#define CRYPTGATE_HOSTPUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"
#include "rsa.h"
#include "sign.h"
#include "x25519.h"

/* The sealing key type of a host (shared by hostkey.h). */
enum hostkey_type {
	HOSTKEY_X25519 = 1, /* default */
	HOSTKEY_RSA = 2, /* RSA 2048..4096, new keys RSA_BITS_DEFAULT */
};

#define HOSTPUB_IDBYTES 16
#define HOSTPUB_IDHEXLEN 32 /* 2 * HOSTPUB_IDBYTES */
#define HOSTPUB_SEALPKBYTES_MAX RSA_SPKIBYTES_MAX
#define HOSTPUB_COMMENTBYTES_MAX 255
#define HOSTPUB_MAGIC "cryptgate-host-v1"
/* The longest line hostpub_format writes, with its NUL; files are capped
 * at HOSTPUB_FILEBYTES_MAX. */
#define HOSTPUB_LINEBYTES_MAX 1280
#define HOSTPUB_FILEBYTES_MAX 4096
/* OAEP with SHA-256 costs 2 * 32 + 2 bytes of the modulus. */
#define HOSTPUB_RSA_OVERHEAD 66
/* Largest ${infolen} + ${aadlen} accepted by hostpub_seal for RSA hosts. */
#define HOSTPUB_LABELBYTES_MAX 65536

/* A public identity; a plain value (copy it freely, nothing to free). */
struct hostpub {
	enum hostkey_type type;
	uint8_t host_id[HOSTPUB_IDBYTES];
	uint8_t sign_pk[SIGN_PUBLICBYTES];
	uint8_t seal_pk[HOSTPUB_SEALPKBYTES_MAX]; /* seal_pklen bytes used */
	size_t seal_pklen;
	char comment[HOSTPUB_COMMENTBYTES_MAX + 1]; /* "" if none */
};

/**
 * hostpub_id_compute(id, sign_pk, seal_pk, seal_pklen): set ${id} to the
 * host id of the keys ${sign_pk} and ${seal_pk} (${seal_pklen} bytes, see
 * above).  Return 0 or -1 (logged).
 */
int hostpub_id_compute(uint8_t id[static HOSTPUB_IDBYTES],
    const uint8_t sign_pk[static SIGN_PUBLICBYTES], const uint8_t *seal_pk,
    size_t seal_pklen) CG_WUR;

/**
 * hostpub_parse(pub, line, len, errstr): parse the ${len} bytes at ${line}
 * (one .pub line; a single trailing "\n" is allowed; no NUL needed) into
 * ${pub}.  Strict: exact field layout, known type, canonical base64 and
 * sizes (an RSA key must be a canonical DER SubjectPublicKeyInfo of
 * RSA_BITS_MIN..RSA_BITS_MAX bits), and the host id must match the keys.
 * Return 0, or -1 with ${*errstr} set to a static description (not
 * logged, so that the caller can prefix the file name); ${pub} is then
 * zeroed.
 */
int hostpub_parse(struct hostpub *pub, const char *line, size_t len,
    const char **errstr) CG_WUR;

/**
 * hostpub_load(pub, path): read the .pub file ${path} (one line, at most
 * HOSTPUB_FILEBYTES_MAX bytes) into ${pub}.  Return 0 or -1 (logged as
 * "PATH: reason").
 */
int hostpub_load(struct hostpub *pub, const char *path) CG_WUR;

/**
 * hostpub_format(pub, buf, size): write ${pub} as a .pub line, without a
 * newline, NUL-terminated, to ${buf} (${size} bytes; HOSTPUB_LINEBYTES_MAX
 * always suffices).  Return 0, or -1 if ${pub} is invalid or ${size} too
 * small.
 */
int hostpub_format(const struct hostpub *pub, char *buf, size_t size) CG_WUR;

/**
 * hostpub_set_comment(pub, comment): set the comment of ${pub} to
 * ${comment} (NULL or "" for none).  Return 0, or -1 (not logged, ${pub}
 * unchanged) if it is longer than HOSTPUB_COMMENTBYTES_MAX or holds a
 * character outside printable ASCII (0x20..0x7e), or starts or ends with
 * a space.
 */
int hostpub_set_comment(struct hostpub *pub, const char *comment) CG_WUR;

/** hostpub_type_name(type): "x25519", "rsa", or NULL if unknown. */
const char *hostpub_type_name(enum hostkey_type type);

/**
 * hostpub_equal(a, b): true if ${a} and ${b} are the same identity (type
 * and keys; comments are ignored).
 */
bool hostpub_equal(const struct hostpub *a, const struct hostpub *b);

/**
 * hostpub_sealed_size(pub, mlen): the size of the ciphertext hostpub_seal
 * makes of an ${mlen}-byte message to ${pub}, or 0 if ${mlen} is too long
 * for ${pub} (RSA) or ${pub} is invalid.
 */
size_t hostpub_sealed_size(const struct hostpub *pub, size_t mlen);

/**
 * hostpub_seal(pub, c, csize, clen, m, mlen, info, infolen, aad, aadlen):
 * encrypt ${m} (${mlen} bytes) to the host ${pub} as described above,
 * binding ${info} (at most HPKE_INFOBYTES_MAX bytes) and ${aad}; write
 * the ciphertext to ${c} (${csize} bytes, at least hostpub_sealed_size())
 * and its length to ${*clen}.  Return 0 or -1 (logged).
 */
int hostpub_seal(const struct hostpub *pub, uint8_t *c, size_t csize,
    size_t *clen, const uint8_t *m, size_t mlen, const uint8_t *info,
    size_t infolen, const uint8_t *aad, size_t aadlen) CG_WUR;

/**
 * hostpub_verify(pub, sig, ctx, m, mlen): 0 if ${sig} is a valid Ed25519
 * signature by ${pub}'s signing key over ${ctx} || 0x00 || ${m}
 * (sign_verify), -1 otherwise.
 */
int hostpub_verify(const struct hostpub *pub,
    const uint8_t sig[static SIGN_BYTES], const char *ctx, const uint8_t *m,
    size_t mlen) CG_WUR;

/**
 * hostpub_oaep_label(info, infolen, aad, aadlen, label, labellen): build
 * the RSA-OAEP label be32(${infolen}) || ${info} || ${aad} (shared with
 * hostkey_open) in a new buffer ${*label} of ${*labellen} bytes; the
 * caller free()s it.  Return 0 or -1 (logged: too long, out of memory).
 */
int hostpub_oaep_label(const uint8_t *info, size_t infolen, const uint8_t *aad,
    size_t aadlen, uint8_t **label, size_t *labellen) CG_WUR;

#endif /* !CRYPTGATE_HOSTPUB_H */
