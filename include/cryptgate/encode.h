/*
 * encode.h: hex (base16) and base64 (RFC 4648 section 4) text encodings.
 *
 * Decoders are strict: they reject odd hex lengths, base64 lengths that are
 * not a multiple of 4, characters outside the alphabet, misplaced or
 * missing '=' padding, non-zero padding bits (non-canonical encodings) and
 * any trailing byte (including whitespace and newlines).  Decoding runs in
 * time that depends only on the input length, not on its contents, so it
 * may be used on key material (wireguard-tools encoding.c manner).
 *
 * These functions never log: callers know what was being decoded and
 * report the error with that context.
 */
#ifndef CRYPTGATE_ENCODE_H
#define CRYPTGATE_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"

/* Encoded length of ${n} bytes, not counting the terminating NUL. */
#define ENCODE_HEXLEN(n) ((n)*2)
#define ENCODE_BASE64LEN(n) ((((n) + 2) / 3) * 4)

/**
 * encode_hex(dst, dstsize, src, len): write the lowercase hex encoding of
 * the ${len} bytes at ${src} and a NUL to ${dst}, which has ${dstsize}
 * bytes (at least ENCODE_HEXLEN(${len}) + 1).  Return 0, or -1 if ${dst}
 * is too small (then ${dst} is left untouched).
 */
int encode_hex(char *dst, size_t dstsize, const uint8_t *src, size_t len);

/**
 * encode_unhex(dst, dstsize, dstlen, src, srclen): decode the ${srclen}
 * hex characters at ${src} (upper or lower case, no separators, no NUL
 * needed) into ${dst} (${dstsize} bytes) and set ${*dstlen}.  Return 0,
 * or -1 if ${srclen} is odd, a character is not a hex digit, or the
 * output does not fit; on failure the first min(${dstsize}, ${srclen}/2)
 * bytes of ${dst} are zeroed and ${*dstlen} is 0.  Constant time in the
 * contents of ${src}.
 */
int encode_unhex(uint8_t *dst, size_t dstsize, size_t *dstlen, const char *src,
    size_t srclen) CG_WUR;

/**
 * encode_base64(dst, dstsize, src, len): write the padded base64 encoding
 * (standard alphabet) of the ${len} bytes at ${src} and a NUL to ${dst}
 * (at least ENCODE_BASE64LEN(${len}) + 1 bytes).  Return 0, or -1 if
 * ${dst} is too small (then ${dst} is left untouched).
 */
int encode_base64(char *dst, size_t dstsize, const uint8_t *src, size_t len);

/**
 * encode_unbase64(dst, dstsize, dstlen, src, srclen): decode the ${srclen}
 * padded base64 characters at ${src} into ${dst} (${dstsize} bytes) and set
 * ${*dstlen}.  Only the canonical encoding is accepted.  Return 0, or -1
 * (bad length, character, padding, non-zero pad bits, output too large),
 * with the first min(${dstsize}, 3 * ${srclen} / 4) bytes of ${dst}
 * zeroed and ${*dstlen} set to 0.  Constant time in the contents of ${src}
 * except for the position of the '=' padding (which only reveals the
 * decoded length).
 */
int encode_unbase64(uint8_t *dst, size_t dstsize, size_t *dstlen,
    const char *src, size_t srclen) CG_WUR;

#endif /* !CRYPTGATE_ENCODE_H */
