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

/*
 * A private key imported once (with its public key, computed once), for
 * several key exchanges: x25519() imports ${sk} and computes its public
 * key on every call, a second scalar multiplication that a struct
 * x25519_key saves.  Results are byte-identical.  A key object is
 * read-only once made: several threads may use one at the same time.
 */
struct x25519_key;

/**
 * x25519_key_new(sk): import the private key ${sk} (computing its public
 * key).  Return the key (free with x25519_key_free) or NULL (logged).
 */
struct x25519_key *x25519_key_new(const uint8_t sk[static X25519_SECRETBYTES]);

/**
 * x25519_key_generate(void): a fresh key pair (one scalar multiplication).
 * Return the key (free with x25519_key_free) or NULL (logged).
 */
struct x25519_key *x25519_key_generate(void);

/** x25519_key_public(key, pk): the public key of ${key}. */
void x25519_key_public(
    const struct x25519_key *key, uint8_t pk[static X25519_PUBLICBYTES]);

/**
 * x25519_key_derive(shared, key, pk): X25519(private key of ${key}, ${pk}),
 * as x25519(): return 0, or -1 (and ${shared} zeroed) on error, including
 * an all-zero result from a low-order ${pk} (peer input, not logged).
 */
int x25519_key_derive(uint8_t shared[static X25519_SHAREDBYTES],
    const struct x25519_key *key,
    const uint8_t pk[static X25519_PUBLICBYTES]) CG_WUR;

/** x25519_key_free(key): free ${key}; NULL is a no-op. */
void x25519_key_free(struct x25519_key *key);

#endif /* !CRYPTGATE_X25519_H */
