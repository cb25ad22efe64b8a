/*
 * x25519.h: X25519 Diffie-Hellman (RFC 7748) on raw 32-byte keys.
 */
#ifndef CRYPTGATE_X25519_H
#define CRYPTGATE_X25519_H

#include <stdint.h>

#include "cdefs.h"

#define X25519_PUBLICBYTES 32
#define X25519_SECRETBYTES 32
#define X25519_SHAREDBYTES 32

/** x25519_keypair(pk, sk): a fresh key pair.  Return 0 or -1. */
int x25519_keypair(uint8_t pk[static X25519_PUBLICBYTES],
    uint8_t sk[static X25519_SECRETBYTES]) CG_WUR;

/** x25519_public(pk, sk): the public key of ${sk}.  Return 0 or -1. */
int x25519_public(uint8_t pk[static X25519_PUBLICBYTES],
    const uint8_t sk[static X25519_SECRETBYTES]) CG_WUR;

/**
 * x25519(shared, sk, pk): X25519(${sk}, ${pk}).  Return 0, or -1 (and
 * ${shared} zeroed) on error, including an all-zero result from a
 * low-order ${pk} (RFC 7748 section 6.1, RFC 9180 section 7.1.4); that
 * case is peer input and is not logged.
 */
int x25519(uint8_t shared[static X25519_SHAREDBYTES],
    const uint8_t sk[static X25519_SECRETBYTES],
    const uint8_t pk[static X25519_PUBLICBYTES]) CG_WUR;

#endif /* !CRYPTGATE_X25519_H */
