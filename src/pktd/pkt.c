/*
 * pkt.c: IP and TCP header parsing and rewriting (see pkt.h).
 */
#include <sys/socket.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "csum.h"
#include "pkt.h"

enum xf_reason
pkt_parse_ip(struct pkt *k)
{
	size_t hl, tot, off;
	uint8_t nh;

	if (k->len < 20)
		return (XF_R_MALFORMED);
	if (k->p[0] >> 4 == 4) {
		k->family = AF_INET;
		hl = (size_t)(k->p[0] & 0x0f) * 4;
		tot = pkt_be16(k->p + 2);
		if (hl < 20 || tot < hl || tot > k->len)
			return (XF_R_MALFORMED);
		k->len = tot;
		k->proto = k->p[9];
		k->l4 = hl;
		if ((pkt_be16(k->p + 6) & 0x3fff) != 0)
			return (XF_R_UNSUPPORTED); /* a fragment */
		return (XF_R_OK);
	}
	if (k->p[0] >> 4 != 6 || k->len < 40)
		return (XF_R_MALFORMED);
	k->family = AF_INET6;
	tot = 40 + (size_t)pkt_be16(k->p + 4);
	if (tot > k->len || tot == 40)
		return (XF_R_MALFORMED);
	k->len = tot;
	nh = k->p[6];
	off = 40;
	while (nh == 0 || nh == 43 || nh == 60) {
		if (off + 8 > k->len)
			return (XF_R_MALFORMED);
		hl = ((size_t)k->p[off + 1] + 1) * 8;
		nh = k->p[off];
		off += hl;
	}
	/* A fragment, or AH (which ip6tables -p tcp looks through): not
	 * something a protected flow sends or takes. */
	if (nh == 44 || nh == 51)
		return (XF_R_UNSUPPORTED);
	if (off > k->len)
		return (XF_R_MALFORMED);
	k->proto = nh;
	k->l4 = off;
	return (XF_R_OK);
}

enum xf_reason
pkt_parse_tcp(struct pkt *k)
{
	const uint8_t *th = k->p + k->l4;

	if (k->l4 + 20 > k->len)
		return (XF_R_MALFORMED);
	k->thl = (size_t)(th[12] >> 4) * 4;
	if (k->thl < 20 || k->l4 + k->thl > k->len)
		return (XF_R_MALFORMED);
	k->plen = k->len - k->l4 - k->thl;
	k->sport = pkt_be16(th);
	k->dport = pkt_be16(th + 2);
	k->seq = pkt_be32(th + 4);
	k->ack = pkt_be32(th + 8);
	k->flags = th[13];
	return (XF_R_OK);
}

const uint8_t *
pkt_src(const struct pkt *k)
{
	return (k->p + (k->family == AF_INET ? 12 : 8));
}

const uint8_t *
pkt_dst(const struct pkt *k)
{
	return (k->p + (k->family == AF_INET ? 16 : 24));
}

void
pkt_mapped(uint8_t out[16], int family, const uint8_t *a)
{
	if (family == AF_INET6) {
		memcpy(out, a, 16);
		return;
	}
	memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	memcpy(out + 12, a, 4);
}

void
pkt_set_len(struct pkt *k)
{
	uint8_t *th = k->p + k->l4;

	k->len = k->l4 + k->thl + k->plen;
	if (k->family == AF_INET) {
		pkt_put16(k->p + 2, (uint16_t)k->len);
		csum_ipv4_header(k->p, (size_t)(k->p[0] & 0x0f) * 4);
	} else {
		pkt_put16(k->p + 4, (uint16_t)(k->len - 40));
	}
	th[12] = (uint8_t)((k->thl / 4) << 4 | (th[12] & 0x0f));
}

enum xf_reason
pkt_set_options(struct pkt *k, const uint8_t *opt, size_t optlen)
{
	uint8_t *th = k->p + k->l4;
	size_t nthl = 20 + optlen;

	if (k->l4 + nthl + k->plen > k->cap ||
	    k->l4 + nthl + k->plen > (k->family == AF_INET ? 65535 : 65575))
		return (XF_R_NOSPACE);
	memmove(th + nthl, th + k->thl, k->plen);
	memcpy(th + 20, opt, optlen);
	k->thl = nthl;
	pkt_set_len(k);
	return (XF_R_OK);
}

static uint16_t
l4_csum(const struct pkt *k, bool pseudo)
{
	uint64_t s = 0;
	size_t n = k->len - k->l4;

	if (pseudo)
		s = csum_pseudo(s, k->family, pkt_src(k), pkt_dst(k), k->proto,
		    (uint32_t)n);
	return (csum_fold(csum_add(s, k->p + k->l4, n)));
}

bool
pkt_l4_csum_ok(const struct pkt *k, bool pseudo)
{
	return (l4_csum(k, pseudo) == 0);
}

void
pkt_l4_csum_set(struct pkt *k, size_t off, bool pseudo)
{
	uint8_t *c = k->p + k->l4 + off;

	c[0] = 0;
	c[1] = 0;
	pkt_put16(c, l4_csum(k, pseudo));
}

/* The address ${a} of ${family} as text (IPv6 in brackets if ${brackets}). */
static void
addr_text(char *buf, size_t size, int family, const uint8_t *a, bool brackets)
{
	char s[INET6_ADDRSTRLEN];

	if (inet_ntop(family, a, s, sizeof(s)) == NULL)
		snprintf(s, sizeof(s), "?");
	if (family == AF_INET6 && brackets)
		snprintf(buf, size, "[%s]", s);
	else
		snprintf(buf, size, "%s", s);
}

const char *
pkt_format_flow(char *buf, size_t size, uint8_t *p, size_t len)
{
	char src[INET6_ADDRSTRLEN + 2], dst[INET6_ADDRSTRLEN + 2];
	struct pkt k;
	enum xf_reason r;
	bool tcp;

	memset(&k, 0, sizeof(k));
	k.p = p;
	k.len = len;
	k.cap = len;
	if ((r = pkt_parse_ip(&k)) == XF_R_MALFORMED) {
		snprintf(buf, size, "malformed packet (%zu bytes)", len);
		return (buf);
	}
	/* The parsers read only: ${p} is not changed. */
	tcp = r == XF_R_OK && k.proto == 6 && pkt_parse_tcp(&k) == XF_R_OK;
	addr_text(src, sizeof(src), k.family, pkt_src(&k), tcp);
	addr_text(dst, sizeof(dst), k.family, pkt_dst(&k), tcp);
	if (tcp)
		snprintf(buf, size, "%s:%u -> %s:%u", src,
		    (unsigned int)k.sport, dst, (unsigned int)k.dport);
	else if (r != XF_R_OK)
		snprintf(buf, size, "%s -> %s (%s)", src, dst,
		    k.family == AF_INET ? "fragment" : "fragment or AH");
	else if (k.proto == 6)
		snprintf(
		    buf, size, "%s -> %s (malformed TCP header)", src, dst);
	else
		snprintf(buf, size, "%s -> %s (protocol %u)", src, dst,
		    (unsigned int)k.proto);
	return (buf);
}
