/*
 * rsa.h: RSA, the optional sealing key type (the original design used RSA).
 *
 * Encryption is RSAES-OAEP with SHA-256 and MGF1-SHA-256 (both set
 * explicitly: OpenSSL's OAEP default is SHA-1).  Signatures are RSASSA-PSS
 * with SHA-256, MGF1-SHA-256 and a 32-byte salt, over
 * ctx || 0x00 || message as in sign.h.  Keys are 2048..4096 bits; new keys
 * are RSA_BITS_DEFAULT.
 */
#ifndef CRYPTGATE_RSA_H
#define CRYPTGATE_RSA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"

#define RSA_BITS_DEFAULT 3072
#define RSA_BITS_MIN 2048
#define RSA_BITS_MAX 4096
#define RSA_BYTES_MAX (RSA_BITS_MAX / 8)
#define RSA_SPKIBYTES_MAX 600 /* DER SubjectPublicKeyInfo, 4096-bit */

struct rsa_key;

/** rsa_key_generate(bits): a new private key.  Return it or NULL. */
struct rsa_key *rsa_key_generate(unsigned int bits);

/**
 * rsa_key_from_pkcs8_der(der, len): parse an unencrypted PKCS#8 private
 * key.  NULL if it is malformed, not RSA, or outside the allowed sizes.
 */
struct rsa_key *rsa_key_from_pkcs8_der(const uint8_t *der, size_t len);

/** rsa_key_from_pem(pem, len): as above, from a "PRIVATE KEY" PEM block. */
struct rsa_key *rsa_key_from_pem(const char *pem, size_t len);

/** rsa_key_from_spki_der(der, len): parse a public key (SubjectPublicKeyInfo). */
struct rsa_key *rsa_key_from_spki_der(const uint8_t *der, size_t len);

/**
 * rsa_key_to_pem(key, pem, len): write the private key ${key} as PKCS#8
 * PEM into a buffer from secret_alloc(); set ${*pem} (NUL-terminated) and
 * ${*len} (without the NUL).  Free with secret_free(*pem, *len + 1).
 * Return 0 or -1.
 */
int rsa_key_to_pem(const struct rsa_key *key, char **pem, size_t *len) CG_WUR;

/**
 * rsa_key_spki_der(key, der, dersize, len): write the public part of
 * ${key} as DER SubjectPublicKeyInfo into ${der} (${dersize} bytes) and its
 * length into ${*len}.  Return 0 or -1.
 */
int rsa_key_spki_der(const struct rsa_key *key, uint8_t *der, size_t dersize,
    size_t *len) CG_WUR;

/** rsa_key_bytes(key): the modulus size in bytes (= ciphertext size). */
size_t rsa_key_bytes(const struct rsa_key *key);

/** rsa_key_is_private(key): true if ${key} holds the private part. */
bool rsa_key_is_private(const struct rsa_key *key);

/** rsa_key_free(key): free (OpenSSL wipes the private part); NULL no-op. */
void rsa_key_free(struct rsa_key *key);

/**
 * rsa_oaep_seal(c, clen, m, mlen, label, labellen, key): encrypt ${m} to
 * ${key}; ${c} must have rsa_key_bytes(key) bytes; ${*clen} gets the
 * length.  Return 0 or -1 (message too long, error).
 */
int rsa_oaep_seal(uint8_t *c, size_t *clen, const uint8_t *m, size_t mlen,
    const uint8_t *label, size_t labellen, const struct rsa_key *key) CG_WUR;

/**
 * rsa_oaep_open(m, msize, mlen, c, clen, label, labellen, key): decrypt
 * into ${m} (${msize} bytes), length in ${*mlen}.  Return 0, or -1 on any
 * failure, all alike (no padding oracle detail).
 */
int rsa_oaep_open(uint8_t *m, size_t msize, size_t *mlen, const uint8_t *c,
    size_t clen, const uint8_t *label, size_t labellen,
    const struct rsa_key *key) CG_WUR;

/**
 * rsa_pss_sign(sig, siglen, ctx, m, mlen, key): sign ${ctx} || 0x00 || ${m};
 * ${sig} must have rsa_key_bytes(key) bytes.  Return 0 or -1.
 */
int rsa_pss_sign(uint8_t *sig, size_t *siglen, const char *ctx,
    const uint8_t *m, size_t mlen, const struct rsa_key *key) CG_WUR;

/** rsa_pss_verify(sig, siglen, ctx, m, mlen, key): 0 if valid, else -1. */
int rsa_pss_verify(const uint8_t *sig, size_t siglen, const char *ctx,
    const uint8_t *m, size_t mlen, const struct rsa_key *key) CG_WUR;

#endif /* !CRYPTGATE_RSA_H */
