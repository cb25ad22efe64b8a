/*
 * stream.h: the packet encryptor's primitives, with contexts made once per
 * key and reused for every packet (no allocation per call):
 * - ChaCha20 keystream XOR at a 64-bit byte offset (RFC 8439 section 2.4
 *   block function with the original 64-bit block counter and a 64-bit
 *   nonce, zero for the packet path; OpenSSL's "ChaCha20" with IV =
 *   8-byte little-endian block counter || nonce, which carries the low
 *   counter word into the high one);
 * - HMAC-SHA256 (RFC 2104) truncated to 1..32 bytes, over an iovec.
 *
 * Thread safety: a context is used by one thread at a time.
 */
#ifndef CRYPTGATE_STREAM_H
#define CRYPTGATE_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "cdefs.h"

#define STREAM_KEYBYTES 32
#define STREAM_BLOCKBYTES 64
#define STREAM_NONCEBYTES 8
#define STREAM_PRF_KEYBYTES 32
#define STREAM_PRF_MAXBYTES 32

struct stream;
struct stream_prf;

/**
 * stream_new(key, nonce): a ChaCha20 keystream context for the 32-byte
 * ${key} and the 8-byte ${nonce} (RFC 8439 state words 14-15; NULL means
 * zero), both copied into the context.  Return NULL on failure (logged).
 * Free with stream_free().
 */
struct stream *stream_new(
    const uint8_t key[static STREAM_KEYBYTES], const uint8_t *nonce) CG_WUR;

/**
 * stream_xor(s, out, in, len, offset): ${out} = ${in} XOR the ${len}
 * keystream bytes starting at byte ${offset} of the stream of ${s} (byte
 * ${offset} is byte offset % 64 of block offset / 64).  ${out} may equal
 * ${in}.  The stream must not pass 2^64 bytes (offset + len <= 2^64).
 * Return 0, or -1 (${out} zeroed).
 */
int stream_xor(struct stream *s, uint8_t *out, const uint8_t *in, size_t len,
    uint64_t offset) CG_WUR;

/** stream_free(s): wipe and free ${s}; stream_free(NULL) does nothing. */
void stream_free(struct stream *s);

/**
 * stream_prf_new(key, keylen): an HMAC-SHA256 context keyed once with the
 * ${keylen} bytes at ${key} (1..1024).  Return NULL on failure (logged).
 * Free with stream_prf_free().
 */
struct stream_prf *stream_prf_new(const uint8_t *key, size_t keylen) CG_WUR;

/**
 * stream_prf_tag(p, out, outlen, iov, iovcnt): ${out} = the first
 * ${outlen} (1..STREAM_PRF_MAXBYTES) bytes of HMAC-SHA256 under the key of
 * ${p} of the concatenation of the ${iovcnt} buffers of ${iov}.  Return 0,
 * or -1 (${out} zeroed).
 */
int stream_prf_tag(struct stream_prf *p, uint8_t *out, size_t outlen,
    const struct iovec *iov, size_t iovcnt) CG_WUR;

/** stream_prf_free(p): free ${p}; stream_prf_free(NULL) does nothing. */
void stream_prf_free(struct stream_prf *p);

#endif /* !CRYPTGATE_STREAM_H */
