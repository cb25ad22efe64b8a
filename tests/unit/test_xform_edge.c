/*
 * test_xform_edge.c: the packet transform of cryptgate-pktd at its edges
 * (xform_fixture.h): sequence numbers wrapping at 2^32 and the 64-bit
 * offset extension, ICMP fragmentation-needed / packet-too-big and hard
 * errors, every truncation and broken option lengths of real packets in
 * exactly-sized buffers, no headroom, flow expiry, and the packet
 * description of the drop log lines (pkt_format_flow).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "xform_fixture.h"

/* Set a flow's offsets as if ${n} bytes had gone each way. */
static void
advance(struct conn *c, uint64_t n)
{
	struct flow *fa = &c->a.x->flows->flows[0];
	struct flow *fb = &c->b.x->flows->flows[0];

	assert_true(fa->used && fb->used);
	fa->out.hi += n;
	fb->in.hi += n;
	fa->in.hi += n;
	fb->out.hi += n;
	fa->peer_acked += n;
	fb->peer_acked += n;
	c->a.nxt += (uint32_t)n;
	c->b.nxt += (uint32_t)n;
}

static void
test_seq_wrap(void **state)
{
	uint8_t data[1000], w[BUFSZ], old[BUFSZ];
	struct conn c;
	size_t i, lold, l;

	(void)state;
	memset(data, 'w', sizeof(data));
	/* The absolute sequence numbers wrap at once. */
	conn_init(&c, AF_INET, KEY, 0xfffffe00, 0xffffff80);
	handshake(&c);
	for (i = 0; i < 4; i++)
		xmit(&c, true, PKT_ACK, TSOPT, sizeof(TSOPT), data,
		    sizeof(data), NULL, NULL);
	lold = a_out(&c, PKT_ACK, data, 100, c.a.nxt, c.b.nxt, old);
	assert_int_equal(b_in(&c, old, lold), XF_R_OK);
	/* The relative offset wraps after 4 GiB (SNE). */
	advance(&c, 0xffffffffULL - 2000);
	for (i = 0; i < 5; i++) {
		xmit(&c, true, PKT_ACK, TSOPT, sizeof(TSOPT), data,
		    sizeof(data), NULL, NULL);
		xmit(&c, false, PKT_ACK, TSOPT, sizeof(TSOPT), data, 10, NULL,
		    NULL);
	}
	assert_true(c.a.x->flows->flows[0].out.hi > 0x100000000ULL);
	assert_true(c.b.x->flows->flows[0].in.hi > 0x100000000ULL);
	/* Bring the 32-bit sequence back to the old segment's: 4 GiB later
	 * it is a different offset, and the old tag fails. */
	advance(&c, 0x100000000ULL - 5000 - 100 - 5000 + 2000 - 1);
	l = a_out(&c, PKT_ACK, data, 100, pkt_be32(old + 24), c.b.nxt, w);
	(void)l;
	assert_int_equal(b_in(&c, old, lold), XF_R_BADTAG);
	conn_fini(&c);
}

static size_t
icmp_pkt(uint8_t *p, int family, const char *router, const char *to,
    uint8_t type, uint8_t code, uint32_t mtu, const uint8_t *quote, size_t qlen)
{
	size_t l4 =
	    ip_hdr(p, family, router, to, family == AF_INET ? 1 : 58, 8 + qlen);

	memset(p + l4, 0, 8);
	p[l4] = type;
	p[l4 + 1] = code;
	if (family == AF_INET)
		pkt_put16(p + l4 + 6, (uint16_t)mtu);
	else
		pkt_put32(p + l4 + 4, mtu);
	memcpy(p + l4 + 8, quote, qlen);
	fill_csum(p, l4 + 8 + qlen, 2);
	return (l4 + 8 + qlen);
}

static void
icmp_case(int family)
{
	uint8_t w[BUFSZ], p[BUFSZ];
	const char *router = family == AF_INET ? "192.0.2.1" : "2001:db8::1";
	enum xf_reason why;
	size_t wl, len, q;
	struct conn c;

	conn_init(&c, family, KEY, 10, 20);
	handshake(&c);
	wl = a_out(&c, PKT_ACK, "big", 3, c.a.nxt, c.b.nxt, w);
	q = l4off(w) + 8;
	/* Fragmentation needed / packet too big: MTU lowered by 16. */
	len = icmp_pkt(p, family, router, c.a.addr, family == AF_INET ? 3 : 2,
	    family == AF_INET ? 4 : 0, 1500, w, q);
	assert_int_equal(
	    run(&c, c.a.x, XF_IN, p, &len, BUFSZ, &why), XF_ACCEPT);
	assert_int_equal(why, XF_R_OK);
	if (family == AF_INET)
		assert_int_equal(pkt_be16(p + l4off(p) + 6), 1484);
	else
		assert_int_equal(pkt_be32(p + l4off(p) + 4), 1484);
	/* Hard errors for the protected flow are dropped. */
	len = icmp_pkt(p, family, router, c.a.addr, family == AF_INET ? 3 : 1,
	    family == AF_INET ? 3 : 4, 0, w, q);
	assert_int_equal(run(&c, c.a.x, XF_IN, p, &len, BUFSZ, &why), XF_DROP);
	assert_int_equal(why, XF_R_ICMP);
	/* Soft errors pass. */
	len = icmp_pkt(
	    p, family, router, c.a.addr, family == AF_INET ? 3 : 1, 0, 0, w, q);
	assert_int_equal(
	    run(&c, c.a.x, XF_IN, p, &len, BUFSZ, &why), XF_ACCEPT);
	/* A quoted sequence number never sent is refused. */
	pkt_put32(w + l4off(w) + 4, c.a.nxt + 0x40000000);
	len = icmp_pkt(p, family, router, c.a.addr, family == AF_INET ? 3 : 2,
	    family == AF_INET ? 4 : 0, 1500, w, q);
	assert_int_equal(run(&c, c.a.x, XF_IN, p, &len, BUFSZ, &why), XF_DROP);
	assert_int_equal(why, XF_R_STALE);
	(void)wl;
	conn_fini(&c);
}

static void
test_icmp(void **state)
{
	(void)state;
	icmp_case(AF_INET);
	icmp_case(AF_INET6);
}

/*
 * ${w} (an IPv6 TCP packet) quoted with extension header ${nh} of
 * ${ehlen} bytes (next header ${next}; for a fragment header, offset
 * field ${fragoff}) before the first 20 bytes of its TCP header, into
 * ${q}; return the quote's length.
 */
static size_t
quote_eh(uint8_t *q, const uint8_t *w, uint8_t nh, size_t ehlen, uint8_t next,
    uint16_t fragoff)
{
	memcpy(q, w, 40);
	q[6] = nh;
	memset(q + 40, 0, ehlen);
	q[40] = next;
	if (nh == 51)
		q[41] = (uint8_t)(ehlen / 4 - 2);
	else if (nh == 44)
		pkt_put16(q + 42, fragoff);
	else
		q[41] = (uint8_t)(ehlen / 8 - 1);
	memcpy(q + 40 + ehlen, w + 40, 20);
	pkt_put16(q + 4, (uint16_t)(ehlen + 20));
	return (40 + ehlen + 20);
}

/* ICMPv6 ${type}/${code} (MTU 1500) quoting ${q}: the verdict's reason. */
static enum xf_reason
icmp6_in(struct conn *c, uint8_t type, uint8_t code, const uint8_t *q,
    size_t qlen, uint8_t *p)
{
	enum xf_reason why;
	size_t len;

	len = icmp_pkt(
	    p, AF_INET6, "2001:db8::1", c->a.addr, type, code, 1500, q, qlen);
	(void)run(c, c->a.x, XF_IN, p, &len, BUFSZ, &why);
	return (why);
}

/*
 * An ICMPv6 error quoting a packet with extension headers is matched to
 * its flow as the kernel matches it to its socket: hard errors dropped,
 * PTB lowered.  Fragment and AH headers in a protected flow's quote are
 * not ours: dropped.
 */
static void
test_icmp6_exthdr(void **state)
{
	uint8_t w[BUFSZ], q[BUFSZ], p[BUFSZ];
	size_t ql;
	struct conn c;

	(void)state;
	conn_init(&c, AF_INET6, KEY, 10, 20);
	handshake(&c);
	(void)a_out(&c, PKT_ACK, "data", 4, c.a.nxt, c.b.nxt, w);
	ql = quote_eh(q, w, 60, 8, 6, 0);
	assert_int_equal(icmp6_in(&c, 1, 4, q, ql, p), XF_R_ICMP);
	assert_int_equal(icmp6_in(&c, 2, 0, q, ql, p), XF_R_OK);
	assert_int_equal(pkt_be32(p + 44), 1484);
	assert_int_equal(c.a.x->st.icmp_mtu, 1);
	ql = quote_eh(q, w, 0, 16, 6, 0);
	assert_int_equal(icmp6_in(&c, 4, 0, q, ql, p), XF_R_ICMP);
	ql = quote_eh(q, w, 43, 24, 6, 0);
	assert_int_equal(icmp6_in(&c, 1, 1, q, ql, p), XF_R_ICMP);
	assert_int_equal(icmp6_in(&c, 3, 0, q, ql, p), XF_R_OK);
	/* Hop-by-hop, then destination options, then TCP. */
	ql = quote_eh(q + 8, w, 60, 8, 6, 0) + 8;
	memmove(q, q + 8, 40);
	memset(q + 40, 0, 8);
	q[6] = 0;
	q[40] = 60;
	assert_int_equal(icmp6_in(&c, 1, 4, q, ql, p), XF_R_ICMP);
	/* Fragment (offset 0) and AH: not packets of ours. */
	ql = quote_eh(q, w, 44, 8, 6, 0);
	assert_int_equal(icmp6_in(&c, 1, 4, q, ql, p), XF_R_UNSUPPORTED);
	assert_int_equal(icmp6_in(&c, 2, 0, q, ql, p), XF_R_UNSUPPORTED);
	ql = quote_eh(q, w, 51, 24, 6, 0);
	assert_int_equal(icmp6_in(&c, 1, 4, q, ql, p), XF_R_UNSUPPORTED);
	/* A later fragment (no TCP header), UDP, an unprotected port: the
	 * kernel's business. */
	ql = quote_eh(q, w, 44, 8, 6, 8);
	assert_int_equal(icmp6_in(&c, 1, 4, q, ql, p), XF_R_NOPOLICY);
	ql = quote_eh(q, w, 60, 8, 17, 0);
	assert_int_equal(icmp6_in(&c, 1, 4, q, ql, p), XF_R_NOPOLICY);
	ql = quote_eh(q, w, 44, 8, 6, 0);
	pkt_put16(q + 48 + 2, 6000);
	assert_int_equal(icmp6_in(&c, 1, 4, q, ql, p), XF_R_NOPOLICY);
	/* Cut short: an extension header past the end, or too long. */
	ql = quote_eh(q, w, 60, 8, 6, 0);
	assert_int_equal(icmp6_in(&c, 1, 4, q, 44, p), XF_R_MALFORMED);
	q[41] = 7;
	assert_int_equal(icmp6_in(&c, 1, 4, q, ql, p), XF_R_MALFORMED);
	/* The flow goes on. */
	xmit(&c, true, PKT_ACK, TSOPT, sizeof(TSOPT), "more", 4, NULL, NULL);
	conn_fini(&c);
}

/* ${type}/${code} errors of ${family}: one quoting the protected flow
 * gets ${want}; quoting another port or UDP they pass unchanged. */
static void
icmp_type(struct conn *c, const uint8_t *w, uint8_t type, uint8_t code,
    enum xf_reason want)
{
	const char *router = c->family == AF_INET ? "192.0.2.1" : "2001:db8::1";
	uint8_t q[BUFSZ], p[BUFSZ];
	size_t ql = l4off(w) + 8, len;
	enum xf_reason why;

	memcpy(q, w, ql);
	len = icmp_pkt(p, c->family, router, c->a.addr, type, code, 0, q, ql);
	(void)run(c, c->a.x, XF_IN, p, &len, BUFSZ, &why);
	assert_int_equal(why, want);
	pkt_put16(q + l4off(q) + 2, 6000);
	len = icmp_pkt(p, c->family, router, c->a.addr, type, code, 0, q, ql);
	assert_int_equal(
	    run(c, c->a.x, XF_IN, p, &len, BUFSZ, &why), XF_ACCEPT);
	assert_int_equal(why, XF_R_NOPOLICY);
	memcpy(q, w, ql);
	q[c->family == AF_INET ? 9 : 6] = 17;
	len = icmp_pkt(p, c->family, router, c->a.addr, type, code, 0, q, ql);
	assert_int_equal(
	    run(c, c->a.x, XF_IN, p, &len, BUFSZ, &why), XF_ACCEPT);
	assert_int_equal(why, XF_R_NOPOLICY);
}

/* Every error type the daemon queues (rules.c), from any source. */
static void
test_icmp_types(void **state)
{
	uint8_t w[BUFSZ];
	struct conn c;

	(void)state;
	conn_init(&c, AF_INET, KEY, 10, 20);
	handshake(&c);
	(void)a_out(&c, PKT_ACK, "data", 4, c.a.nxt, c.b.nxt, w);
	icmp_type(&c, w, 3, 1, XF_R_OK);
	icmp_type(&c, w, 3, 3, XF_R_ICMP);
	icmp_type(&c, w, 3, 6, XF_R_ICMP);
	icmp_type(&c, w, 3, 11, XF_R_OK);
	icmp_type(&c, w, 3, 14, XF_R_ICMP);
	icmp_type(&c, w, 11, 0, XF_R_OK);
	icmp_type(&c, w, 12, 0, XF_R_ICMP);
	conn_fini(&c);
	conn_init(&c, AF_INET6, KEY, 10, 20);
	handshake(&c);
	(void)a_out(&c, PKT_ACK, "data", 4, c.a.nxt, c.b.nxt, w);
	icmp_type(&c, w, 1, 0, XF_R_OK);
	icmp_type(&c, w, 1, 1, XF_R_ICMP);
	icmp_type(&c, w, 2, 0, XF_R_OK);
	icmp_type(&c, w, 3, 0, XF_R_OK);
	icmp_type(&c, w, 4, 0, XF_R_ICMP);
	conn_fini(&c);
}

/* IPv6 TCP behind AH (queued: ip6tables -p tcp looks through AH) is
 * dropped both ways, never passed unchanged. */
static void
test_ah(void **state)
{
	uint8_t t[BUFSZ], p[BUFSZ];
	enum xf_reason why;
	size_t tl, len, out;
	struct conn c;
	int d;

	(void)state;
	conn_init(&c, AF_INET6, KEY, 10, 20);
	handshake(&c);
	for (d = 0; d < 2; d++) {
		tl = tcp_pkt(t, AF_INET6, d ? c.b.addr : c.a.addr,
		    d ? c.a.addr : c.b.addr, d ? c.b.port : c.a.port,
		    d ? c.a.port : c.b.port, d ? c.b.nxt : c.a.nxt,
		    d ? c.a.nxt : c.b.nxt, PKT_ACK, NULL, 0, "SECRET", 6);
		memcpy(p, t, 40);
		p[6] = 51;
		memset(p + 40, 0, 16);
		p[40] = 6;
		p[41] = 2;
		memcpy(p + 56, t + 40, tl - 40);
		len = tl + 16;
		pkt_put16(p + 4, (uint16_t)(len - 40));
		assert_int_equal(xf_packet(c.a.x, d ? XF_IN : XF_OUT, p, len,
		                     BUFSZ, &out, c.now, &why),
		    XF_DROP);
		assert_int_equal(why, XF_R_UNSUPPORTED);
	}
	conn_fini(&c);
}

/* The default flow_timeout outlasts Linux's 2-hour keepalive time. */
static void
test_default_timeout(void **state)
{
	struct xf_stats st;
	struct conn c;

	(void)state;
	conn_init(&c, AF_INET, KEY, 1, 2);
	handshake(&c);
	xmit(&c, false, PKT_ACK, TSOPT, sizeof(TSOPT), "hi", 2, NULL, NULL);
	c.now += 7200000 + 75000;
	xf_expire(c.a.x, c.now);
	xf_expire(c.b.x, c.now);
	xf_stats_get(c.a.x, &st);
	assert_int_equal(st.flows_open, 1);
	xf_stats_get(c.b.x, &st);
	assert_int_equal(st.flows_open, 1);
	/* The first keepalive probe (a pure ACK, TS 7200 s on) goes through. */
	xmit(&c, true, PKT_ACK, TSOPT, sizeof(TSOPT), NULL, 0, NULL, NULL);
	c.now += 8100000;
	xf_expire(c.a.x, c.now);
	xf_stats_get(c.a.x, &st);
	assert_int_equal(st.flows_open, 0);
	conn_fini(&c);
}

/* Every prefix and many corruptions of real packets, in both directions,
 * in exactly-sized buffers: never a crash, never a write past cap. */
static void
test_truncated(void **state)
{
	uint8_t src[8][BUFSZ], *b;
	size_t lens[8], n = 0, i, cut, len, out;
	enum xf_reason why;
	enum xf_verdict v;
	struct conn c;
	int d, j;

	(void)state;
	conn_init(&c, AF_INET, KEY, 1, 2);
	lens[n] = tcp_pkt(src[n], AF_INET, c.a.addr, c.b.addr, c.a.port,
	    c.b.port, 1, 0, PKT_SYN, SYNOPT, sizeof(SYNOPT), NULL, 0);
	n++;
	handshake(&c);
	lens[n] = a_out(&c, PKT_ACK, "payload!", 8, c.a.nxt, c.b.nxt, src[n]);
	n++;
	lens[n] = tcp_pkt(src[n], AF_INET6, "fd00::1", "fd00::2", PORT_CLI,
	    PORT_SRV, 1, 0, PKT_SYN, SYNOPT, sizeof(SYNOPT), NULL, 0);
	n++;
	for (i = 0; i < n; i++) {
		for (cut = 0; cut <= lens[i]; cut++) {
			for (d = 0; d < 2; d++) {
				b = malloc(cut + 1);
				assert_non_null(b);
				memcpy(b, src[i], cut);
				/* The IP length says more than there is. */
				v = xf_packet(d ? c.a.x : c.b.x, (enum xf_dir)d,
				    b, cut, cut + 1, &out, c.now, &why);
				assert_true(out <= cut + 1);
				if (cut < lens[i])
					assert_true(v == XF_DROP &&
					    why == XF_R_MALFORMED);
				free(b);
			}
		}
		/* Option lengths 0, 1 and past the end (v4 policy only). */
		for (j = 0; j < 3 && i < 2; j++) {
			len = lens[i];
			b = malloc(len + 40);
			assert_non_null(b);
			memcpy(b, src[i], len);
			b[l4off(b) + 20] = 2;
			b[l4off(b) + 21] = (uint8_t)(j == 2 ? 60 : j);
			v = xf_packet(
			    c.b.x, XF_IN, b, len, len + 40, &out, c.now, &why);
			assert_int_equal(v, XF_DROP);
			assert_true(
			    why == XF_R_MALFORMED || why == XF_R_BADTAG);
			free(b);
		}
	}
	conn_fini(&c);
}

static void
test_nospace(void **state)
{
	uint8_t p[BUFSZ], *b;
	enum xf_reason why;
	size_t len, out;
	struct conn c;

	(void)state;
	conn_init(&c, AF_INET, KEY, 1, 2);
	handshake(&c);
	len = tcp_pkt(p, AF_INET, c.a.addr, c.b.addr, c.a.port, c.b.port,
	    c.a.nxt, c.b.nxt, PKT_ACK, TSOPT, sizeof(TSOPT), "abc", 3);
	b = malloc(len);
	assert_non_null(b);
	memcpy(b, p, len);
	/* No headroom: dropped, nothing written past the buffer. */
	assert_int_equal(
	    xf_packet(c.a.x, XF_OUT, b, len, len, &out, c.now, &why), XF_DROP);
	assert_int_equal(why, XF_R_NOSPACE);
	assert_true(out <= len);
	free(b);
	conn_fini(&c);
}

static void
test_expiry(void **state)
{
	uint8_t w[BUFSZ];
	struct xf_stats st;
	struct conn c;
	size_t l;

	(void)state;
	conn_init(&c, AF_INET, KEY, 1, 2);
	xf_set_flow_timeout(c.a.x, 300000);
	xf_set_flow_timeout(c.b.x, 300000);
	handshake(&c);
	c.now += 299000;
	xf_expire(c.a.x, c.now);
	xf_stats_get(c.a.x, &st);
	assert_int_equal(st.flows_open, 1);
	c.now += 1000;
	xf_expire(c.a.x, c.now);
	xf_expire(c.b.x, c.now);
	xf_stats_get(c.a.x, &st);
	assert_int_equal(st.flows_open, 0);
	assert_int_equal(st.flows_expired, 1);
	/* The flow is gone: its segments are dropped, not sent in clear. */
	l = tcp_pkt(w, AF_INET, c.a.addr, c.b.addr, c.a.port, c.b.port, c.a.nxt,
	    c.b.nxt, PKT_ACK, NULL, 0, "late", 4);
	{
		enum xf_reason why;

		assert_int_equal(
		    run(&c, c.a.x, XF_OUT, w, &l, BUFSZ, &why), XF_DROP);
		assert_int_equal(why, XF_R_NOFLOW);
	}
	/* A half-open handshake goes after 75 s. */
	l = tcp_pkt(w, AF_INET, c.a.addr, c.b.addr, c.a.port + 1, c.b.port, 9,
	    0, PKT_SYN, SYNOPT, sizeof(SYNOPT), NULL, 0);
	{
		enum xf_reason why;

		assert_int_equal(
		    run(&c, c.a.x, XF_OUT, w, &l, BUFSZ, &why), XF_ACCEPT);
	}
	c.now += 75000;
	xf_expire(c.a.x, c.now);
	xf_stats_get(c.a.x, &st);
	assert_int_equal(st.flows_open, 0);
	assert_string_equal(xf_reason_name(XF_R_BADTAG), "bad_tag");
	assert_string_equal(xf_reason_name(XF_R_COUNT), "unknown");
	conn_fini(&c);
}

/* pkt_format_flow: the 4-tuple of TCP packets (IPv4, IPv6 in brackets),
 * the addresses of others, and every prefix of a packet in an exactly
 * sized buffer (never a read past it, always a NUL-terminated line). */
static void
test_format_flow(void **state)
{
	uint8_t p[BUFSZ], *b;
	char buf[PKT_FLOWSTRLEN], small[12], want[64];
	size_t len, cut;

	(void)state;
	len = tcp_pkt(p, AF_INET, "192.0.2.1", "198.51.100.7", 40001, 5001, 1,
	    0, PKT_SYN, NULL, 0, NULL, 0);
	assert_string_equal(pkt_format_flow(buf, sizeof(buf), p, len),
	    "192.0.2.1:40001 -> 198.51.100.7:5001");
	len = tcp_pkt(p, AF_INET6, "fd00::1", "2001:db8::a:b", 65535, 1, 1, 0,
	    PKT_ACK, NULL, 0, "x", 1);
	assert_string_equal(pkt_format_flow(buf, sizeof(buf), p, len),
	    "[fd00::1]:65535 -> [2001:db8::a:b]:1");
	/* The longest addresses and ports fit PKT_FLOWSTRLEN. */
	len = tcp_pkt(p, AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, 65535, 1, 0,
	    PKT_ACK, NULL, 0, NULL, 0);
	assert_string_equal(pkt_format_flow(buf, sizeof(buf), p, len),
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535 -> "
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	/* Not TCP: the addresses and the protocol. */
	len = ip_hdr(p, AF_INET, "10.0.0.1", "10.0.0.2", 17, 8);
	memset(p + len, 0, 8);
	assert_string_equal(pkt_format_flow(buf, sizeof(buf), p, len + 8),
	    "10.0.0.1 -> 10.0.0.2 (protocol 17)");
	/* A TCP header cut short. */
	len = ip_hdr(p, AF_INET6, "fd00::1", "fd00::2", 6, 8);
	memset(p + len, 0, 8);
	assert_string_equal(pkt_format_flow(buf, sizeof(buf), p, len + 8),
	    "fd00::1 -> fd00::2 (malformed TCP header)");
	/* An IPv4 fragment. */
	len = tcp_pkt(p, AF_INET, "10.0.0.1", "10.0.0.2", 1, 2, 1, 0, PKT_ACK,
	    NULL, 0, NULL, 0);
	p[6] = 0x20; /* more fragments */
	assert_string_equal(pkt_format_flow(buf, sizeof(buf), p, len),
	    "10.0.0.1 -> 10.0.0.2 (fragment)");
	/* Not IP at all. */
	assert_string_equal(pkt_format_flow(buf, sizeof(buf), p, 0),
	    "malformed packet (0 bytes)");
	memset(p, 0, 64);
	assert_string_equal(pkt_format_flow(buf, sizeof(buf), p, 64),
	    "malformed packet (64 bytes)");
	/* A small buffer: truncated, terminated. */
	len = tcp_pkt(p, AF_INET, "192.0.2.1", "192.0.2.2", 1, 2, 1, 0, PKT_ACK,
	    NULL, 0, NULL, 0);
	assert_string_equal(
	    pkt_format_flow(small, sizeof(small), p, len), "192.0.2.1:1");
	/* Every prefix, in a buffer of exactly that size (ASan checks). */
	len = tcp_pkt(p, AF_INET6, "fd00::1", "fd00::2", 7, 8, 1, 0, PKT_ACK,
	    NULL, 0, "data", 4);
	for (cut = 0; cut <= len; cut++) {
		b = malloc(cut > 0 ? cut : 1);
		assert_non_null(b);
		memcpy(b, p, cut);
		pkt_format_flow(buf, sizeof(buf), b, cut);
		assert_true(strlen(buf) < sizeof(buf));
		/* The IPv6 payload length says more than there is. */
		snprintf(
		    want, sizeof(want), "malformed packet (%zu bytes)", cut);
		if (cut < len)
			assert_string_equal(buf, want);
		free(b);
	}
	assert_string_equal(buf, "[fd00::1]:7 -> [fd00::2]:8");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seq_wrap),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_icmp6_exthdr),
		cmocka_unit_test(test_icmp_types),
		cmocka_unit_test(test_ah),
		cmocka_unit_test(test_default_timeout),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_nospace),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_format_flow),
	};

	log_init(1, 0, LOG_USER);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
