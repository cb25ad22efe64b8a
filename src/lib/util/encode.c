/*
 * encode.c: strict hex and base64 (RFC 4648) encoders and decoders.
 *
 * The decoders classify characters with arithmetic masks instead of
 * branches or table look-ups, as wireguard-tools encoding.c and libsodium
 * codecs.c do, so decoding a key takes the same time whatever the key.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cryptgate/encode.h"

static const char hexdigits[] = "0123456789abcdef";
static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * All ones if ${lo} <= ${c} <= ${hi}, else 0; all values < 256.  The
 * subtractions wrap (unsigned) so bit 31 says "below" without a branch.
 */
static uint32_t
ct_range(uint32_t c, uint32_t lo, uint32_t hi)
{
	uint32_t below = (c - lo) >> 31;
	uint32_t above = (hi - c) >> 31;

	return ((below | above) - 1);
}

/* The value of hex digit ${c} in the low 4 bits; ${*bad} gets ones if not. */
static uint32_t
hex_value(uint32_t c, uint32_t *bad)
{
	uint32_t m09 = ct_range(c, '0', '9');
	uint32_t maf = ct_range(c, 'a', 'f');
	uint32_t mAF = ct_range(c, 'A', 'F');

	*bad |= ~(m09 | maf | mAF);
	return (((c - '0') & m09) | ((c - 'a' + 10) & maf) |
	    ((c - 'A' + 10) & mAF));
}

/* The value of base64 character ${c}; ${*bad} gets ones if not one. */
static uint32_t
b64_value(uint32_t c, uint32_t *bad)
{
	uint32_t mAZ = ct_range(c, 'A', 'Z');
	uint32_t maz = ct_range(c, 'a', 'z');
	uint32_t m09 = ct_range(c, '0', '9');
	uint32_t mplus = ct_range(c, '+', '+');
	uint32_t mslash = ct_range(c, '/', '/');

	*bad |= ~(mAZ | maz | m09 | mplus | mslash);
	return (((c - 'A') & mAZ) | ((c - 'a' + 26) & maz) |
	    ((c - '0' + 52) & m09) | (62 & mplus) | (63 & mslash));
}

int
encode_hex(char *dst, size_t dstsize, const uint8_t *src, size_t len)
{
	size_t i;

	if (len > (SIZE_MAX - 1) / 2 || dstsize < ENCODE_HEXLEN(len) + 1)
		goto err0;
	for (i = 0; i < len; i++) {
		dst[2 * i] = hexdigits[src[i] >> 4];
		dst[2 * i + 1] = hexdigits[src[i] & 0x0f];
	}
	dst[2 * len] = '\0';

	/* Success! */
	return (0);

err0:
	/* Failure! */
	return (-1);
}

int
encode_unhex(uint8_t *dst, size_t dstsize, size_t *dstlen, const char *src,
    size_t srclen)
{
	uint32_t bad = 0, hi, lo;
	size_t i, n;

	*dstlen = 0;
	n = srclen / 2;
	if (srclen % 2 != 0 || n > dstsize)
		goto err0;
	for (i = 0; i < n; i++) {
		hi = hex_value((uint8_t)src[2 * i], &bad);
		lo = hex_value((uint8_t)src[2 * i + 1], &bad);
		dst[i] = (uint8_t)((hi << 4) | lo);
	}
	if (bad != 0)
		goto err0;
	*dstlen = n;

	/* Success! */
	return (0);

err0:
	memset(dst, 0, n < dstsize ? n : dstsize);

	/* Failure! */
	return (-1);
}

int
encode_base64(char *dst, size_t dstsize, const uint8_t *src, size_t len)
{
	uint32_t v;
	size_t i, o;

	if (len > (SIZE_MAX - 3) / 4 * 3 - 3 ||
	    dstsize < ENCODE_BASE64LEN(len) + 1)
		goto err0;
	for (i = 0, o = 0; i + 3 <= len; i += 3, o += 4) {
		v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8 |
		    src[i + 2];
		dst[o] = b64chars[v >> 18];
		dst[o + 1] = b64chars[(v >> 12) & 63];
		dst[o + 2] = b64chars[(v >> 6) & 63];
		dst[o + 3] = b64chars[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)src[i] << 16;
		dst[o] = b64chars[v >> 18];
		dst[o + 1] = b64chars[(v >> 12) & 63];
		dst[o + 2] = '=';
		dst[o + 3] = '=';
		o += 4;
	} else if (len - i == 2) {
		v = (uint32_t)src[i] << 16 | (uint32_t)src[i + 1] << 8;
		dst[o] = b64chars[v >> 18];
		dst[o + 1] = b64chars[(v >> 12) & 63];
		dst[o + 2] = b64chars[(v >> 6) & 63];
		dst[o + 3] = '=';
		o += 4;
	}
	dst[o] = '\0';

	/* Success! */
	return (0);

err0:
	/* Failure! */
	return (-1);
}

int
encode_unbase64(uint8_t *dst, size_t dstsize, size_t *dstlen, const char *src,
    size_t srclen)
{
	uint32_t bad = 0, v;
	size_t i, o, pad = 0, quads, outlen, wipelen;

	*dstlen = 0;
	quads = srclen / 4;
	wipelen = quads * 3 < dstsize ? quads * 3 : dstsize;
	if (srclen % 4 != 0)
		goto err0;
	if (srclen > 0 && src[srclen - 1] == '=') {
		pad = 1;
		if (src[srclen - 2] == '=')
			pad = 2;
	}
	outlen = quads * 3 - pad;
	if (outlen > dstsize)
		goto err0;

	/* Every quad but the last: four alphabet characters. */
	for (i = 0, o = 0; i + 1 < quads; i++, o += 3) {
		v = b64_value((uint8_t)src[4 * i], &bad) << 18 |
		    b64_value((uint8_t)src[4 * i + 1], &bad) << 12 |
		    b64_value((uint8_t)src[4 * i + 2], &bad) << 6 |
		    b64_value((uint8_t)src[4 * i + 3], &bad);
		dst[o] = (uint8_t)(v >> 16);
		dst[o + 1] = (uint8_t)(v >> 8);
		dst[o + 2] = (uint8_t)v;
	}

	/* The last quad, with 0, 1 or 2 '=' and zero pad bits. */
	if (quads > 0) {
		v = b64_value((uint8_t)src[4 * i], &bad) << 18 |
		    b64_value((uint8_t)src[4 * i + 1], &bad) << 12;
		if (pad < 2)
			v |= b64_value((uint8_t)src[4 * i + 2], &bad) << 6;
		if (pad < 1)
			v |= b64_value((uint8_t)src[4 * i + 3], &bad);
		/* Non-canonical: bits below the last output byte set. */
		if (pad == 1)
			bad |= v & 0xff;
		else if (pad == 2)
			bad |= v & 0xffff;
		dst[o] = (uint8_t)(v >> 16);
		if (pad < 2)
			dst[o + 1] = (uint8_t)(v >> 8);
		if (pad < 1)
			dst[o + 2] = (uint8_t)v;
	}
	if (bad != 0)
		goto err0;
	*dstlen = outlen;

	/* Success! */
	return (0);

err0:
	memset(dst, 0, wipelen);

	/* Failure! */
	return (-1);
}
