/*
 * digest.h: SHA-256 (FIPS 180-4) through OpenSSL 3 EVP, one-shot and
 * incremental.
 */
#ifndef CRYPTGATE_DIGEST_H
#define CRYPTGATE_DIGEST_H

#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"

#define DIGEST_SHA256BYTES 32

/**
 * digest_sha256(out, m, mlen): ${out} = SHA-256 of the ${mlen} bytes at
 * ${m} (${m} may be NULL if ${mlen} is 0).  Return 0, or -1 (logged; ${out}
 * zeroed).
 */
int digest_sha256(
    uint8_t out[static DIGEST_SHA256BYTES], const void *m, size_t mlen) CG_WUR;

/* An incremental SHA-256 computation. */
struct digest_ctx;

/**
 * digest_new(void): start a SHA-256 computation.  Return it, or NULL
 * (logged).  Free with digest_free().
 */
struct digest_ctx *digest_new(void);

/**
 * digest_update(d, m, mlen): hash ${mlen} more bytes at ${m} into ${d}.
 * Return 0 or -1 (logged).
 */
int digest_update(struct digest_ctx *d, const void *m, size_t mlen) CG_WUR;

/**
 * digest_final(d, out): ${out} = SHA-256 of everything given to ${d}.
 * ${d} cannot be updated afterwards, only freed.  Return 0, or -1 (logged;
 * ${out} zeroed).
 */
int digest_final(
    struct digest_ctx *d, uint8_t out[static DIGEST_SHA256BYTES]) CG_WUR;

/** digest_free(d): free ${d}; digest_free(NULL) does nothing. */
void digest_free(struct digest_ctx *d);

#endif /* !CRYPTGATE_DIGEST_H */
