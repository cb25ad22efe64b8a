/*
 * mac.h: HMAC-SHA256 (RFC 2104, FIPS 198-1) through OpenSSL 3 EVP_MAC, and
 * its constant-time verification.  The KDC checks ENROLL's enroll_mac
 * (docs/PROTOCOL.md) with it.
 *
 * Thread safety: every function is reentrant (no global state).
 */
#ifndef CRYPTGATE_MAC_H
#define CRYPTGATE_MAC_H

#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"

#define MAC_HMAC_SHA256BYTES 32
/* Longest key mac_hmac_sha256 accepts (longer keys are hashed by HMAC
 * itself; a cap keeps a careless caller from hashing megabytes). */
#define MAC_KEYBYTES_MAX 1024

/**
 * mac_hmac_sha256(out, key, keylen, m, mlen): ${out} = HMAC-SHA256 with the
 * key ${key} (${keylen} bytes, 1..MAC_KEYBYTES_MAX) of the ${mlen} bytes at
 * ${m} (${m} may be NULL if ${mlen} is 0).  Return 0, or -1 (logged;
 * ${out} zeroed).
 */
int mac_hmac_sha256(uint8_t out[static MAC_HMAC_SHA256BYTES],
    const uint8_t *key, size_t keylen, const uint8_t *m, size_t mlen) CG_WUR;

/**
 * mac_hmac_sha256_verify(mac, key, keylen, m, mlen): 0 if ${mac} equals
 * HMAC-SHA256(${key}, ${m}), compared in constant time, else -1 (not
 * logged; also -1 if the MAC cannot be computed).
 */
int mac_hmac_sha256_verify(const uint8_t mac[static MAC_HMAC_SHA256BYTES],
    const uint8_t *key, size_t keylen, const uint8_t *m, size_t mlen) CG_WUR;

#endif /* !CRYPTGATE_MAC_H */
