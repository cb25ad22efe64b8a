/*
 * xform_fixture.h: packets and a two-host setup for the packet transform
 * tests (test_xform.c, test_xform_edge.c): the transform's sources are
 * included here, packets are built by hand with an independent RFC 1071
 * checksum, and host A (client) and host B (server, port 5001) run their
 * own struct xf with the same key and mirrored policies.
 */
#ifndef XFORM_FIXTURE_H
#define XFORM_FIXTURE_H

#include <sys/socket.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "cryptgate/log.h"

#include "../../src/pktd/csum.c"
#include "../../src/pktd/flow.c"
#include "../../src/pktd/hello.c"
#include "../../src/pktd/icmp.c"
#include "../../src/pktd/pkt.c"
#include "../../src/pktd/seg.c"
#include "../../src/pktd/tcpopt.c"
#include "../../src/pktd/xform.c"

#define FIX_UNUSED __attribute__((unused))

#define BUFSZ 2048
#define PORT_SRV 5001
#define PORT_CLI 40000

static const uint8_t KEY[XF_KEYBYTES] = { 0x11, 0x22, 0x33, 0x44, 0x55 };
static const struct xf_portrange PORTS[] = { { PORT_SRV, PORT_SRV } };

/* Linux's SYN options: MSS 1460, SACK-permitted, TS, NOP, WS 7. */
static const uint8_t SYNOPT[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1,
	0, 0, 0, 0, 1, 3, 3, 7 };
/* NOP NOP TS. */
static const uint8_t TSOPT[12] = { 1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 1 };

struct side {
	struct xf *x;
	const char *addr;
	uint16_t port;
	uint32_t isn;
	uint32_t nxt; /* next sequence number to send */
};

struct conn {
	int family;
	struct side a; /* client */
	struct side b; /* server */
	uint64_t now;
};

/* An RFC 1071 sum written independently of csum.c. */
FIX_UNUSED static uint16_t
sum16(uint32_t s, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n % 2)
		s += (uint32_t)(p[n - 1] << 8);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ((uint16_t)s);
}

FIX_UNUSED static size_t
l4off(const uint8_t *p)
{
	return (p[0] >> 4 == 4 ? (size_t)(p[0] & 15) * 4 : 40);
}

/* True if the IP (v4) and TCP/ICMP checksums of ${p} are right. */
FIX_UNUSED static bool
csums_ok(const uint8_t *p, size_t len)
{
	size_t l4 = l4off(p), n = len - l4;
	uint32_t s = 0;
	uint8_t proto;

	if (p[0] >> 4 == 4) {
		if (sum16(0, p, l4) != 0xffff)
			return (false);
		proto = p[9];
		if (proto != 1)
			s = sum16(sum16(0, p + 12, 8),
			    (const uint8_t[]){
			        0, proto, (uint8_t)(n >> 8), (uint8_t)n },
			    4);
	} else {
		proto = p[6];
		s = sum16(sum16(0, p + 8, 32),
		    (const uint8_t[]){
		        0, 0, (uint8_t)(n >> 8), (uint8_t)n, 0, 0, 0, proto },
		    8);
	}
	return (sum16(s, p + l4, n) == 0xffff);
}

FIX_UNUSED static void
fill_csum(uint8_t *p, size_t len, size_t at)
{
	size_t l4 = l4off(p);

	p[l4 + at] = 0;
	p[l4 + at + 1] = 0;
	if (p[0] >> 4 == 4) {
		p[10] = p[11] = 0;
		pkt_put16(p + 10, (uint16_t)~sum16(0, p, l4));
	}
	/* Solve for the checksum: the full sum must be 0xffff. */
	pkt_put16(p + l4 + at, 0);
	{
		uint32_t s = 0;
		size_t n = len - l4;
		uint8_t proto = p[0] >> 4 == 4 ? p[9] : p[6];

		if (p[0] >> 4 == 4 && proto != 1)
			s = sum16(sum16(0, p + 12, 8),
			    (const uint8_t[]){
			        0, proto, (uint8_t)(n >> 8), (uint8_t)n },
			    4);
		else if (p[0] >> 4 == 6)
			s = sum16(sum16(0, p + 8, 32),
			    (const uint8_t[]){ 0, 0, (uint8_t)(n >> 8),
			        (uint8_t)n, 0, 0, 0, proto },
			    8);
		pkt_put16(p + l4 + at, (uint16_t)~sum16(s, p + l4, n));
	}
}

/* An IP header for ${proto} from ${src} to ${dst}, ${l4len} bytes after
 * it; return its length. */
FIX_UNUSED static size_t
ip_hdr(uint8_t *p, int family, const char *src, const char *dst, uint8_t proto,
    size_t l4len)
{
	if (family == AF_INET) {
		memset(p, 0, 20);
		p[0] = 0x45;
		pkt_put16(p + 2, (uint16_t)(20 + l4len));
		p[6] = 0x40;
		p[8] = 64;
		p[9] = proto;
		assert_int_equal(inet_pton(AF_INET, src, p + 12), 1);
		assert_int_equal(inet_pton(AF_INET, dst, p + 16), 1);
		return (20);
	}
	memset(p, 0, 40);
	p[0] = 0x60;
	pkt_put16(p + 4, (uint16_t)l4len);
	p[6] = proto;
	p[7] = 64;
	assert_int_equal(inet_pton(AF_INET6, src, p + 8), 1);
	assert_int_equal(inet_pton(AF_INET6, dst, p + 24), 1);
	return (40);
}

FIX_UNUSED static size_t
tcp_pkt(uint8_t *p, int family, const char *src, const char *dst,
    uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
    const uint8_t *opt, size_t optlen, const void *data, size_t dlen)
{
	size_t l4, thl = 20 + optlen;
	uint8_t *th;

	l4 = ip_hdr(p, family, src, dst, 6, thl + dlen);
	th = p + l4;
	memset(th, 0, 20);
	pkt_put16(th, sport);
	pkt_put16(th + 2, dport);
	pkt_put32(th + 4, seq);
	pkt_put32(th + 8, ack);
	th[12] = (uint8_t)((thl / 4) << 4);
	th[13] = flags;
	pkt_put16(th + 14, 64240);
	if (optlen > 0)
		memcpy(th + 20, opt, optlen);
	if (dlen > 0)
		memcpy(th + thl, data, dlen);
	fill_csum(p, l4 + thl + dlen, 16);
	return (l4 + thl + dlen);
}

/* The option of ${kind} in the TCP header of ${p}, or NULL. */
FIX_UNUSED static const uint8_t *
find_opt(const uint8_t *p, uint8_t kind)
{
	const uint8_t *th = p + l4off(p);
	size_t thl = (size_t)(th[12] >> 4) * 4, i = 20;

	while (i < thl) {
		if (th[i] == 0)
			break;
		if (th[i] == 1) {
			i++;
			continue;
		}
		if (th[i] == kind)
			return (th + i);
		i += th[i + 1];
	}
	return (NULL);
}

FIX_UNUSED static size_t
payload_off(const uint8_t *p)
{
	const uint8_t *th = p + l4off(p);

	return (l4off(p) + (size_t)(th[12] >> 4) * 4);
}

FIX_UNUSED static struct xf *
mkxf(int family, const char *peer, int direction, const uint8_t *key)
{
	struct xf_rule r[2];
	struct xf *x;

	memset(r, 0, sizeof(r));
	r[0].family = family;
	assert_int_equal(inet_pton(family, peer, r[0].prefix), 1);
	r[0].plen = family == AF_INET ? 32 : 128;
	r[0].ports = PORTS;
	r[0].nports = 1;
	r[0].direction = direction;
	r[0].key = key;
	assert_non_null(x = xf_new(r, 1, 64));
	return (x);
}

FIX_UNUSED static void
conn_init(struct conn *c, int family, const uint8_t *bkey, uint32_t isn_a,
    uint32_t isn_b)
{
	memset(c, 0, sizeof(*c));
	c->family = family;
	c->a.addr = family == AF_INET ? "10.0.0.1" : "fd00::1";
	c->b.addr = family == AF_INET ? "10.0.0.2" : "fd00::2";
	c->a.port = PORT_CLI;
	c->b.port = PORT_SRV;
	c->a.isn = isn_a;
	c->b.isn = isn_b;
	c->a.nxt = isn_a;
	c->b.nxt = isn_b;
	c->a.x = mkxf(family, c->b.addr, XF_OUTGOING, KEY);
	c->b.x = mkxf(family, c->a.addr, XF_INCOMING, bkey);
	c->now = 1000;
}

FIX_UNUSED static void
conn_fini(struct conn *c)
{
	xf_free(c->a.x);
	xf_free(c->b.x);
}

/* Run ${len} bytes at ${p} through ${x}; return the verdict, reason in
 * *why, and check the output's length and checksums on accepts. */
FIX_UNUSED static enum xf_verdict
run(struct conn *c, struct xf *x, enum xf_dir dir, uint8_t *p, size_t *len,
    size_t cap, enum xf_reason *why)
{
	enum xf_verdict v;
	size_t out = (size_t)-1;

	v = xf_packet(x, dir, p, *len, cap, &out, c->now, why);
	assert_true(out <= cap);
	if (v == XF_ACCEPT) {
		assert_true(out >= 20);
		assert_true(csums_ok(p, out));
		*len = out;
	}
	return (v);
}

/*
 * Send a segment from ${from} to the other side: build it, run it through
 * the sender's OUT and the receiver's IN, check the wire form and that
 * the receiver gets the original bytes.  Return the wire packet in
 * ${wire} (if not NULL).
 */
FIX_UNUSED static void
xmit(struct conn *c, bool from_a, uint8_t flags, const uint8_t *opt,
    size_t optlen, const void *data, size_t dlen, uint8_t *wire, size_t *wlen)
{
	struct side *s = from_a ? &c->a : &c->b, *d = from_a ? &c->b : &c->a;
	uint8_t *orig = malloc(BUFSZ), *p = malloc(BUFSZ);
	enum xf_reason why;
	size_t olen, len;

	assert_non_null(orig);
	assert_non_null(p);
	olen = tcp_pkt(orig, c->family, s->addr, d->addr, s->port, d->port,
	    s->nxt, d->nxt, flags, opt, optlen, data, dlen);
	memcpy(p, orig, olen);
	len = olen;
	assert_int_equal(
	    run(c, s->x, XF_OUT, p, &len, olen + 40, &why), XF_ACCEPT);
	assert_int_equal(why, XF_R_OK);
	assert_int_equal(len, olen + 16);
	assert_non_null(find_opt(p, 253));
	if (dlen > 0)
		assert_memory_not_equal(p + payload_off(p), data, dlen);
	if (wire != NULL) {
		memcpy(wire, p, len);
		*wlen = len;
	}
	assert_int_equal(run(c, d->x, XF_IN, p, &len, BUFSZ, &why), XF_ACCEPT);
	assert_int_equal(why, XF_R_OK);
	assert_int_equal(len, olen);
	if (c->family == AF_INET) {
		/* IPv4 leaves with DF off (seg.c): all else is restored. */
		assert_int_equal(p[6] & 0x40, 0);
		p[6] = orig[6];
		memcpy(p + 10, orig + 10, 2);
	}
	assert_memory_equal(p, orig, olen);
	s->nxt += (uint32_t)dlen + ((flags & PKT_FIN) ? 1 : 0);
	free(orig);
	free(p);
}

FIX_UNUSED static void
handshake(struct conn *c)
{
	uint8_t p[BUFSZ];
	const uint8_t *o;
	enum xf_reason why;
	size_t len, l0;

	/* SYN: MSS lowered by 16, the hello added, all options kept. */
	len = tcp_pkt(p, c->family, c->a.addr, c->b.addr, c->a.port, c->b.port,
	    c->a.nxt, 0, PKT_SYN, SYNOPT, sizeof(SYNOPT), NULL, 0);
	l0 = len;
	assert_int_equal(
	    run(c, c->a.x, XF_OUT, p, &len, l0 + 40, &why), XF_ACCEPT);
	assert_int_equal(why, XF_R_OK);
	assert_int_equal(len, l0 + 20);
	assert_non_null(o = find_opt(p, 253));
	assert_int_equal(o[1], 18);
	assert_int_equal(pkt_be16(o + 2), 0x434b);
	assert_int_equal(o[4], 0x10);
	assert_non_null(o = find_opt(p, 2));
	assert_int_equal(pkt_be16(o + 2), 1460 - 16);
	assert_non_null(find_opt(p, 4));
	assert_non_null(find_opt(p, 8));
	assert_non_null(o = find_opt(p, 3));
	assert_int_equal(o[2], 7);
	assert_int_equal(
	    run(c, c->b.x, XF_IN, p, &len, BUFSZ, &why), XF_ACCEPT);
	assert_int_equal(why, XF_R_OK);
	assert_null(find_opt(p, 253));
	assert_int_equal(pkt_be16(find_opt(p, 2) + 2), 1444);
	c->a.nxt++;
	/* SYN-ACK. */
	len = tcp_pkt(p, c->family, c->b.addr, c->a.addr, c->b.port, c->a.port,
	    c->b.nxt, c->a.nxt, PKT_SYN | PKT_ACK, SYNOPT, sizeof(SYNOPT), NULL,
	    0);
	assert_int_equal(
	    run(c, c->b.x, XF_OUT, p, &len, BUFSZ, &why), XF_ACCEPT);
	assert_non_null(find_opt(p, 253));
	assert_int_equal(pkt_be16(find_opt(p, 2) + 2), 1444);
	assert_int_equal(
	    run(c, c->a.x, XF_IN, p, &len, BUFSZ, &why), XF_ACCEPT);
	assert_null(find_opt(p, 253));
	c->b.nxt++;
	/* The third segment is the first tagged one. */
	xmit(c, true, PKT_ACK, TSOPT, sizeof(TSOPT), NULL, 0, NULL, NULL);
}

/* Out through A, return the wire packet (not delivered). */
FIX_UNUSED static size_t
a_out(struct conn *c, uint8_t flags, const void *data, size_t dlen,
    uint32_t seq, uint32_t ack, uint8_t *wire)
{
	enum xf_reason why;
	size_t len;

	len = tcp_pkt(wire, c->family, c->a.addr, c->b.addr, c->a.port,
	    c->b.port, seq, ack, flags, TSOPT, sizeof(TSOPT), data, dlen);
	assert_int_equal(
	    run(c, c->a.x, XF_OUT, wire, &len, BUFSZ, &why), XF_ACCEPT);
	return (len);
}

FIX_UNUSED static enum xf_reason
b_in(struct conn *c, const uint8_t *wire, size_t wlen)
{
	uint8_t p[BUFSZ];
	enum xf_reason why;
	size_t len = wlen;

	memcpy(p, wire, wlen);
	(void)run(c, c->b.x, XF_IN, p, &len, BUFSZ, &why);
	return (why);
}

#endif /* !XFORM_FIXTURE_H */
