/*
 * aead.h: authenticated encryption with associated data (OpenSSL EVP).
 *
 * Only 96-bit nonces and 128-bit tags are offered.  Ciphertexts are in the
 * "combined" form: ct || tag, so a ciphertext is AEAD_TAGBYTES longer than
 * its plaintext.
 */
#ifndef CRYPTGATE_AEAD_H
#define CRYPTGATE_AEAD_H

#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"

#define AEAD_NONCEBYTES 12
#define AEAD_TAGBYTES 16
#define AEAD_KEYBYTES_MAX 32

enum aead_alg {
	AEAD_CHACHA20_POLY1305 = 1, /* RFC 8439, 32-byte key */
	AEAD_AES256_GCM = 2, /* 32-byte key */
	AEAD_AES128_GCM = 3, /* 16-byte key (HPKE suite 0x0001 only) */
};

/** aead_keybytes(alg): the key length of ${alg}, or 0 if ${alg} is unknown. */
size_t aead_keybytes(enum aead_alg alg);

/**
 * aead_seal(c, m, mlen, ad, adlen, nonce, key, alg): encrypt ${mlen} bytes
 * at ${m} with associated data ${ad} (${adlen} bytes, may be NULL if 0)
 * under ${key} (aead_keybytes(${alg}) bytes) and ${nonce}, writing
 * ${mlen} + AEAD_TAGBYTES bytes to ${c}.  ${c} may equal ${m}.
 * A (key, nonce) pair must never be used twice.  Return 0, or -1 (logged,
 * ${c} zeroed).
 */
int aead_seal(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t *ad,
    size_t adlen, const uint8_t nonce[static AEAD_NONCEBYTES],
    const uint8_t *key, enum aead_alg alg) CG_WUR;

/**
 * aead_open(m, c, clen, ad, adlen, nonce, key, alg): check and decrypt the
 * ${clen}-byte ciphertext ${c} (ct || tag), writing ${clen} - AEAD_TAGBYTES
 * bytes to ${m}.  ${m} may equal ${c}.  Return 0 if the tag verifies; -1
 * otherwise (${clen} < AEAD_TAGBYTES, bad tag, any error), with ${m} zeroed.
 * A short ciphertext or a bad tag is not logged (peer input: the caller
 * decides, rate-limited); misuse and OpenSSL errors are.
 */
int aead_open(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t *ad,
    size_t adlen, const uint8_t nonce[static AEAD_NONCEBYTES],
    const uint8_t *key, enum aead_alg alg) CG_WUR;

#endif /* !CRYPTGATE_AEAD_H */
