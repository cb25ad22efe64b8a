/*
 * secret.h: memory that holds key material, and constant-time comparison.
 */
#ifndef CRYPTGATE_SECRET_H
#define CRYPTGATE_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "cdefs.h"

/**
 * secret_alloc(len): zeroed memory for ${len} bytes of key material, from
 * OpenSSL's secure heap when it is initialised, otherwise from the normal
 * heap.  ${len} may be 0.  Return NULL on failure.  Free with
 * secret_free(p, len).
 */
void *secret_alloc(size_t len);

/**
 * secret_free(p, len): wipe ${len} bytes at ${p} and free them.
 * secret_free(NULL, n) does nothing.
 */
void secret_free(void *p, size_t len);

/**
 * secret_wipe(p, len): overwrite ${len} bytes at ${p} with zeros
 * (OPENSSL_cleanse).  ${p} may be NULL.
 */
void secret_wipe(void *p, size_t len);

/**
 * secret_equal(a, b, len): true if the ${len} bytes at ${a} and ${b} are
 * equal.  Runs in time independent of the contents (CRYPTO_memcmp).
 */
bool secret_equal(const void *a, const void *b, size_t len) CG_WUR;

#endif /* !CRYPTGATE_SECRET_H */
