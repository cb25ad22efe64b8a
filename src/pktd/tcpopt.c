/*
 * tcpopt.c: TCP option parsing and repacking for the packet transform
 * (see tcpopt.h).  Every length is checked against the area before a
 * byte is read.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tcpopt.h"

#define TFO_EXID 0xf989 /* RFC 7413 experimental form */

static int
add_other(struct tcpopt *o, size_t off, size_t olen)
{
	if (o->nother == TCPOPT_MAXOTHER)
		return (-1);
	o->other_off[o->nother] = (uint8_t)off;
	o->other_len[o->nother] = (uint8_t)olen;
	o->nother++;
	return (0);
}

/* Parse the option of kind ${kind} and length ${olen} at ${p} (${off}). */
static int
parse_one(
    struct tcpopt *o, const uint8_t *p, size_t off, size_t olen, uint16_t exid)
{
	uint16_t x;
	size_t i;

	switch (p[0]) {
	case TCPOPT_MSS:
		if (olen != 4 || o->has_mss)
			return (-1);
		o->has_mss = true;
		o->mss = (uint16_t)(p[2] << 8 | p[3]);
		return (0);
	case TCPOPT_WS:
		if (olen != 3 || o->has_ws)
			return (-1);
		o->has_ws = true;
		o->ws = p[2];
		return (0);
	case TCPOPT_SACKOK:
		if (olen != 2)
			return (-1);
		o->sackok = true;
		return (0);
	case TCPOPT_TS:
		if (olen != 10 || o->has_ts)
			return (-1);
		o->has_ts = true;
		memcpy(o->ts, p + 2, 8);
		return (0);
	case TCPOPT_SACK:
		if (olen < 10 || (olen - 2) % 8 != 0 || o->nsack > 0)
			return (-1);
		for (i = 0; i < (olen - 2) / 8 && i < TCPOPT_MAXSACK; i++)
			memcpy(o->sack[i], p + 2 + 8 * i, 8);
		o->nsack = i;
		return (0);
	case TCPOPT_TFO:
		o->has_tfo = true;
		return (0);
	case TCPOPT_MPTCP:
		o->has_mptcp = true;
		return (0);
	case TCPOPT_MD5:
	case TCPOPT_AO:
		o->has_auth = true;
		return (add_other(o, off, olen));
	case 253:
	case 254:
		if (olen >= 4) {
			x = (uint16_t)(p[2] << 8 | p[3]);
			if (p[0] == 253 && x == exid) {
				if (o->ours_off >= 0)
					return (-1);
				o->ours_off = (int)off;
				o->ours_len = (uint8_t)olen;
				return (0);
			}
			if (x == TFO_EXID) {
				o->has_tfo = true;
				return (0);
			}
		}
		return (add_other(o, off, olen));
	default:
		return (add_other(o, off, olen));
	}
}

int
tcpopt_parse(struct tcpopt *o, const uint8_t *opt, size_t len, uint16_t exid)
{
	size_t off = 0, olen;

	memset(o, 0, sizeof(*o));
	o->ours_off = -1;
	if (len > TCPOPT_MAXBYTES)
		return (-1);
	while (off < len) {
		if (opt[off] == TCPOPT_EOL) {
			/* The rest is padding. */
			o->has_eol = true;
			break;
		}
		if (opt[off] == TCPOPT_NOP) {
			off++;
			continue;
		}
		if (off + 2 > len)
			return (-1);
		olen = opt[off + 1];
		if (olen < 2 || olen > len - off)
			return (-1);
		if (parse_one(o, opt + off, off, olen, exid))
			return (-1);
		off += olen;
	}

	/* Success! */
	return (0);
}

static void
put(uint8_t *out, size_t *n, const uint8_t *p, size_t len)
{
	memcpy(out + *n, p, len);
	*n += len;
}

int
tcpopt_build(uint8_t out[static TCPOPT_MAXBYTES], size_t *outlen,
    const struct tcpopt *o, const uint8_t *src, bool syn, size_t ourslen,
    size_t *oursoff, size_t *trimmed)
{
	uint8_t tmp[TCPOPT_MAXBYTES * 2], b[10];
	size_t n = 0, i, pad, nsack, fixed;

	if (syn) {
		b[0] = TCPOPT_MSS;
		b[1] = 4;
		b[2] = (uint8_t)(o->mss >> 8);
		b[3] = (uint8_t)o->mss;
		if (o->has_mss)
			put(tmp, &n, b, 4);
		if (o->sackok) {
			b[0] = TCPOPT_SACKOK;
			b[1] = 2;
			put(tmp, &n, b, 2);
		}
	}
	if (o->has_ts) {
		b[0] = TCPOPT_TS;
		b[1] = 10;
		memcpy(b + 2, o->ts, 8);
		put(tmp, &n, b, 10);
	}
	if (syn && o->has_ws) {
		b[0] = TCPOPT_WS;
		b[1] = 3;
		b[2] = o->ws;
		put(tmp, &n, b, 3);
	}
	for (i = 0; i < o->nother; i++)
		put(tmp, &n, src + o->other_off[i], o->other_len[i]);
	fixed = n + ourslen;
	if (fixed > TCPOPT_MAXBYTES)
		return (-1);
	nsack = 0;
	if (!syn && o->nsack > 0) {
		nsack = o->nsack;
		while (nsack > 0 && fixed + 2 + 8 * nsack > TCPOPT_MAXBYTES)
			nsack--;
		if (nsack > 0) {
			tmp[n++] = TCPOPT_SACK;
			tmp[n++] = (uint8_t)(2 + 8 * nsack);
			for (i = 0; i < nsack; i++)
				put(tmp, &n, o->sack[i], 8);
		}
	}
	*trimmed = o->nsack - nsack;
	pad = (4 - (n + ourslen) % 4) % 4;
	if (n + ourslen + pad > TCPOPT_MAXBYTES)
		return (-1);
	memset(out, TCPOPT_NOP, pad);
	memcpy(out + pad, tmp, n);
	*oursoff = pad + n;
	memset(out + pad + n, 0, ourslen);
	*outlen = pad + n + ourslen;

	/* Success! */
	return (0);
}

size_t
tcpopt_strip(uint8_t *opt, size_t len, size_t off, size_t olen)
{
	size_t n = len - olen;

	memmove(opt + off, opt + off + olen, len - off - olen);
	while (n % 4 != 0)
		opt[n++] = TCPOPT_NOP;
	return (n);
}
