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

#endif /* !CRYPTGATE_SIGN_H */
