/*
 * test_xform_replay.c: replay protection of the packet transform
 * (docs/PACKET.md, "Replays"; xform_fixture.h): PAWS on the authenticated
 * TCP timestamp (RFC 7323 section 5).  A verbatim replay older than
 * XF_PAWS_WINDOW is dropped as stale and the flow goes on; reordering
 * within the window passes; TSvals wrap at 2^32; flows without timestamps
 * are not checked; a segment that fails its tag moves nothing; RSTs are
 * exempt.
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

/* SYN options without timestamps: MSS 1460, SACK-permitted, NOP, WS 7. */
static const uint8_t SYNOPT_NOTS[12] = { 2, 4, 0x05, 0xb4, 4, 2, 1, 3, 3, 7, 1,
	1 };

/* NOP NOP TS(${tsval}, 1) into ${o}. */
static void
tsopt(uint8_t o[12], uint32_t tsval)
{
	o[0] = 1;
	o[1] = 1;
	o[2] = 8;
	o[3] = 10;
	pkt_put32(o + 4, tsval);
	pkt_put32(o + 8, 1);
}

/*
 * A data segment (or a pure ACK if ${dlen} is 0) at A's next sequence
 * number with TSval ${tsval} (no timestamp option if ${notsopt}), out
 * through A; the wire packet in ${wire}, its length returned.  A's next
 * sequence number moves on.
 */
static size_t
a_seg(struct conn *c, const char *data, size_t dlen, uint32_t tsval,
    bool notsopt, uint8_t *wire)
{
	uint8_t o[12];
	size_t len;

	tsopt(o, tsval);
	len = tcp_pkt(wire, c->family, c->a.addr, c->b.addr, c->a.port,
	    c->b.port, c->a.nxt, c->b.nxt, PKT_ACK, notsopt ? NULL : o,
	    notsopt ? 0 : sizeof(o), data, dlen);
	{
		enum xf_reason why;

		assert_int_equal(
		    run(c, c->a.x, XF_OUT, wire, &len, BUFSZ, &why), XF_ACCEPT);
		assert_int_equal(why, XF_R_OK);
	}
	c->a.nxt += (uint32_t)dlen;
	return (len);
}

/* B's flow (the only one in its table). */
static struct flow *
bflow(struct conn *c)
{
	struct flow *f = &c->b.x->flows->flows[0];

	assert_true(f->used);
	return (f);
}

static uint64_t
stale(struct conn *c)
{
	struct xf_stats st;

	xf_stats_get(c->b.x, &st);
	return (st.drops[XF_R_STALE]);
}

/* B-IN of ${wire}: the reason; on accepts the payload must be ${data}. */
static enum xf_reason
b_check(struct conn *c, const uint8_t *wire, size_t wlen, const char *data,
    size_t dlen)
{
	uint8_t p[BUFSZ];
	enum xf_reason why;
	size_t len = wlen;

	memcpy(p, wire, wlen);
	if (run(c, c->b.x, XF_IN, p, &len, BUFSZ, &why) == XF_ACCEPT &&
	    dlen > 0) {
		assert_int_equal(len - payload_off(p), dlen);
		assert_memory_equal(p + payload_off(p), data, dlen);
	}
	return (why);
}

static void
replay(int family)
{
	uint8_t w1[BUFSZ], w2[BUFSZ], w3[BUFSZ], ack[BUFSZ];
	size_t l1, l2, l3, lack;
	struct conn c;

	conn_init(&c, family, KEY, 0x01020304, 0x0a0b0c0d);
	handshake(&c);
	assert_true(bflow(&c)->out.syn_ts && bflow(&c)->in.syn_ts);
	l1 = a_seg(&c, "first", 5, 100, false, w1);
	assert_int_equal(b_check(&c, w1, l1, "first", 5), XF_R_OK);
	lack = a_seg(&c, NULL, 0, 100, false, ack);
	assert_int_equal(b_check(&c, ack, lack, NULL, 0), XF_R_OK);
	/* Within the window a verbatim copy passes (TCP discards it as a
	 * duplicate). */
	assert_int_equal(b_check(&c, w1, l1, "first", 5), XF_R_OK);
	/* 1.1 s later at 1 kHz: 1000 ticks behind still passes. */
	l2 = a_seg(&c, "second", 6, 1100, false, w2);
	assert_int_equal(b_check(&c, w2, l2, "second", 6), XF_R_OK);
	assert_int_equal(bflow(&c)->in.ts_max, 1100);
	assert_int_equal(b_check(&c, w1, l1, "first", 5), XF_R_OK);
	l3 = a_seg(&c, "third", 5, 1101, false, w3);
	assert_int_equal(b_check(&c, w3, l3, "third", 5), XF_R_OK);
	/* 1001 behind: the replayed data segment and ACK are dropped. */
	assert_int_equal(stale(&c), 0);
	assert_int_equal(b_check(&c, w1, l1, NULL, 0), XF_R_STALE);
	assert_int_equal(b_check(&c, ack, lack, NULL, 0), XF_R_STALE);
	assert_int_equal(stale(&c), 2);
	assert_int_equal(bflow(&c)->in.ts_max, 1101);
	/* The flow continues: fresh segments pass both ways. */
	l3 = a_seg(&c, "fourth", 6, 1200, false, w3);
	assert_int_equal(b_check(&c, w3, l3, "fourth", 6), XF_R_OK);
	xmit(&c, false, PKT_ACK, TSOPT, sizeof(TSOPT), "back", 4, NULL, NULL);
	/* A non-RST segment without a timestamp on this flow: stale. */
	l3 = a_seg(&c, "nots", 4, 0, true, w3);
	assert_int_equal(b_check(&c, w3, l3, NULL, 0), XF_R_STALE);
	assert_int_equal(stale(&c), 3);
	conn_fini(&c);
}

static void
test_v4_replay(void **state)
{
	(void)state;
	replay(AF_INET);
}

static void
test_v6_replay(void **state)
{
	(void)state;
	replay(AF_INET6);
}

static void
test_reorder(void **state)
{
	uint8_t w1[BUFSZ], w2[BUFSZ], w3[BUFSZ];
	size_t l1, l2, l3;
	struct conn c;

	(void)state;
	conn_init(&c, AF_INET, KEY, 10, 20);
	handshake(&c);
	/* Sent in order w1 w2 w3, arriving w3 w1 w2. */
	l1 = a_seg(&c, "aaaa", 4, 5000, false, w1);
	l2 = a_seg(&c, "bbbb", 4, 5400, false, w2);
	l3 = a_seg(&c, "cccc", 4, 5900, false, w3);
	assert_int_equal(b_check(&c, w3, l3, "cccc", 4), XF_R_OK);
	assert_int_equal(b_check(&c, w1, l1, "aaaa", 4), XF_R_OK);
	assert_int_equal(b_check(&c, w2, l2, "bbbb", 4), XF_R_OK);
	/* A reordered one does not lower ts_max. */
	assert_int_equal(bflow(&c)->in.ts_max, 5900);
	assert_int_equal(stale(&c), 0);
	/* One held back longer than the window. */
	l1 = a_seg(&c, "late", 4, 6000, false, w1);
	l2 = a_seg(&c, "next", 4, 7001, false, w2);
	assert_int_equal(b_check(&c, w2, l2, "next", 4), XF_R_OK);
	assert_int_equal(b_check(&c, w1, l1, NULL, 0), XF_R_STALE);
	assert_int_equal(stale(&c), 1);
	conn_fini(&c);
}

static void
test_ts_wrap(void **state)
{
	static const uint32_t up[] = { 0x7fff0000, 0xfff00000, 0xffffff00,
		0x00000100 };
	uint8_t w[BUFSZ], old[BUFSZ];
	size_t i, l, lold;
	struct conn c;

	(void)state;
	conn_init(&c, AF_INET6, KEY, 0xfffffff0, 0x7ffffff0);
	handshake(&c);
	lold = a_seg(&c, "0x7fff0000", 10, 0x7fff0000, false, old);
	for (i = 0; i < sizeof(up) / sizeof(up[0]); i++) {
		/* Time for a 1 kHz clock to get there (<= 2^31 ticks). */
		c.now += 0x80000000ULL / SEG_PAWS_MAXRATE;
		l = a_seg(&c, "up", 2, up[i], false, w);
		assert_int_equal(b_check(&c, w, l, "up", 2), XF_R_OK);
		assert_int_equal(bflow(&c)->in.ts_max, up[i]);
	}
	/* 0x200 behind 0x100 across the wrap: within the window. */
	l = a_seg(&c, "fffff00", 7, 0xffffff00, false, w);
	assert_int_equal(b_check(&c, w, l, "fffff00", 7), XF_R_OK);
	assert_int_equal(bflow(&c)->in.ts_max, 0x100);
	/* 0x900 behind across the wrap: stale. */
	l = a_seg(&c, "fffff800", 8, 0xfffff800, false, w);
	assert_int_equal(b_check(&c, w, l, NULL, 0), XF_R_STALE);
	/* The first one, 2^31 + 0x100 ticks old, looks 2^31 - 0x100 ahead:
	 * more than the clock can have moved since, so stale too. */
	assert_int_equal(b_check(&c, old, lold, NULL, 0), XF_R_STALE);
	assert_int_equal(stale(&c), 2);
	assert_int_equal(bflow(&c)->in.ts_max, 0x100);
	/* Far ahead but possible after a long pause (within 24 days). */
	c.now += 0x70000000ULL / SEG_PAWS_MAXRATE;
	l = a_seg(&c, "jump", 4, 0x70000100, false, w);
	assert_int_equal(b_check(&c, w, l, "jump", 4), XF_R_OK);
	assert_int_equal(bflow(&c)->in.ts_max, 0x70000100);
	l = a_seg(&c, "on", 2, 0x70000101, false, w);
	assert_int_equal(b_check(&c, w, l, "on", 2), XF_R_OK);
	conn_fini(&c);
}

/* A handshake with ${synopt} on the SYN and ${ackopt} on the SYN-ACK. */
static void
handshake_opts(struct conn *c, const uint8_t *synopt, size_t synlen,
    const uint8_t *ackopt, size_t acklen)
{
	uint8_t p[BUFSZ];
	enum xf_reason why;
	size_t len;

	len = tcp_pkt(p, c->family, c->a.addr, c->b.addr, c->a.port, c->b.port,
	    c->a.nxt, 0, PKT_SYN, synopt, synlen, NULL, 0);
	assert_int_equal(
	    run(c, c->a.x, XF_OUT, p, &len, BUFSZ, &why), XF_ACCEPT);
	assert_int_equal(
	    run(c, c->b.x, XF_IN, p, &len, BUFSZ, &why), XF_ACCEPT);
	c->a.nxt++;
	len = tcp_pkt(p, c->family, c->b.addr, c->a.addr, c->b.port, c->a.port,
	    c->b.nxt, c->a.nxt, PKT_SYN | PKT_ACK, ackopt, acklen, NULL, 0);
	assert_int_equal(
	    run(c, c->b.x, XF_OUT, p, &len, BUFSZ, &why), XF_ACCEPT);
	assert_int_equal(
	    run(c, c->a.x, XF_IN, p, &len, BUFSZ, &why), XF_ACCEPT);
	c->b.nxt++;
}

/* Timestamps not negotiated (${tssyn}: only the SYN offered them). */
static void
no_ts(bool tssyn)
{
	uint8_t w1[BUFSZ], w2[BUFSZ];
	size_t l1, l2;
	struct conn c;

	conn_init(&c, AF_INET, KEY, 1, 2);
	handshake_opts(&c, tssyn ? SYNOPT : SYNOPT_NOTS,
	    tssyn ? sizeof(SYNOPT) : sizeof(SYNOPT_NOTS), SYNOPT_NOTS,
	    sizeof(SYNOPT_NOTS));
	assert_int_equal(bflow(&c)->in.syn_ts, tssyn);
	assert_false(bflow(&c)->out.syn_ts);
	l1 = a_seg(&c, "one", 3, 0, true, w1);
	assert_int_equal(b_check(&c, w1, l1, "one", 3), XF_R_OK);
	l2 = a_seg(&c, "two", 3, 0, true, w2);
	assert_int_equal(b_check(&c, w2, l2, "two", 3), XF_R_OK);
	/* No check: a verbatim replay is left to TCP. */
	assert_int_equal(b_check(&c, w1, l1, "one", 3), XF_R_OK);
	/* Even a timestamp option is not looked at. */
	l1 = a_seg(&c, "ts", 2, 100000, false, w1);
	assert_int_equal(b_check(&c, w1, l1, "ts", 2), XF_R_OK);
	l2 = a_seg(&c, "old", 3, 5, false, w2);
	assert_int_equal(b_check(&c, w2, l2, "old", 3), XF_R_OK);
	assert_false(bflow(&c)->in.ts_ok);
	assert_int_equal(stale(&c), 0);
	xmit(&c, false, PKT_ACK, NULL, 0, "back", 4, NULL, NULL);
	conn_fini(&c);
}

static void
test_no_ts(void **state)
{
	(void)state;
	no_ts(false);
	no_ts(true);
}

static void
test_unauth_no_move(void **state)
{
	uint8_t w[BUFSZ];
	struct xf_stats st;
	struct conn c;
	size_t l;

	(void)state;
	conn_init(&c, AF_INET, KEY, 3, 4);
	handshake(&c);
	l = a_seg(&c, "base", 4, 100, false, w);
	assert_int_equal(b_check(&c, w, l, "base", 4), XF_R_OK);
	/* A huge TSval with a broken tag: dropped, ts_max stays. */
	l = a_seg(&c, "forged", 6, 0x70000000, false, w);
	w[payload_off(w)] ^= 0x01;
	fill_csum(w, l, 16);
	assert_int_equal(b_check(&c, w, l, NULL, 0), XF_R_BADTAG);
	assert_int_equal(bflow(&c)->in.ts_max, 100);
	/* An untagged one (third party) neither. */
	l = tcp_pkt(w, AF_INET, c.a.addr, c.b.addr, c.a.port, c.b.port, c.a.nxt,
	    c.b.nxt, PKT_ACK, TSOPT, sizeof(TSOPT), "x", 1);
	w[l4off(w) + 28] = 0x70; /* TSval 0x70000002 */
	fill_csum(w, l, 16);
	assert_int_equal(b_check(&c, w, l, NULL, 0), XF_R_BADTAG);
	assert_int_equal(bflow(&c)->in.ts_max, 100);
	/* So the next genuine segment still passes. */
	c.a.nxt -= 6;
	l = a_seg(&c, "genuine", 7, 200, false, w);
	assert_int_equal(b_check(&c, w, l, "genuine", 7), XF_R_OK);
	assert_int_equal(bflow(&c)->in.ts_max, 200);
	xf_stats_get(c.b.x, &st);
	assert_int_equal(st.drops[XF_R_BADTAG], 2);
	assert_int_equal(st.drops[XF_R_STALE], 0);
	conn_fini(&c);
}

static void
test_rst_and_idle(void **state)
{
	uint8_t w[BUFSZ], o[12];
	struct conn c;
	size_t l;

	(void)state;
	conn_init(&c, AF_INET, KEY, 7, 8);
	handshake(&c);
	l = a_seg(&c, "now", 3, 50000, false, w);
	assert_int_equal(b_check(&c, w, l, "now", 3), XF_R_OK);
	/* RFC 7323 section 5.5: after 24 days idle ts_max is not used. */
	c.now += 24ULL * 86400 * 1000 + 1;
	l = a_seg(&c, "idle", 4, 10, false, w);
	assert_int_equal(b_check(&c, w, l, "idle", 4), XF_R_OK);
	assert_int_equal(bflow(&c)->in.ts_max, 10);
	/* A tagged RST is exempt: an old TSval, or none, passes. */
	tsopt(o, 5);
	l = tcp_pkt(w, AF_INET, c.a.addr, c.b.addr, c.a.port, c.b.port, c.a.nxt,
	    c.b.nxt, PKT_RST | PKT_ACK, o, sizeof(o), NULL, 0);
	{
		enum xf_reason why;

		assert_int_equal(
		    run(&c, c.a.x, XF_OUT, w, &l, BUFSZ, &why), XF_ACCEPT);
	}
	assert_int_equal(b_check(&c, w, l, NULL, 0), XF_R_OK);
	assert_int_equal(bflow(&c)->in.ts_max, 10);
	assert_true(bflow(&c)->closed);
	conn_fini(&c);
	conn_init(&c, AF_INET, KEY, 7, 8);
	handshake(&c);
	xmit(&c, true, PKT_RST | PKT_ACK, NULL, 0, NULL, 0, NULL, NULL);
	assert_int_equal(stale(&c), 0);
	conn_fini(&c);
}

/* A's flow (the only one in its table). */
static struct flow *
aflow(struct conn *c)
{
	struct flow *f = &c->a.x->flows->flows[0];

	assert_true(f->used);
	return (f);
}

/*
 * handshake_opts() keeping the SYN and SYN-ACK as they went on the wire
 * (with their hellos) in ${syn} and ${sa}.
 */
static void
handshake_wire(struct conn *c, const uint8_t *synopt, size_t synlen,
    const uint8_t *ackopt, size_t acklen, uint8_t *syn, size_t *sl, uint8_t *sa,
    size_t *sal)
{
	uint8_t p[BUFSZ];
	enum xf_reason why;
	size_t len;

	len = tcp_pkt(p, c->family, c->a.addr, c->b.addr, c->a.port, c->b.port,
	    c->a.nxt, 0, PKT_SYN, synopt, synlen, NULL, 0);
	assert_int_equal(
	    run(c, c->a.x, XF_OUT, p, &len, BUFSZ, &why), XF_ACCEPT);
	memcpy(syn, p, len);
	*sl = len;
	assert_int_equal(
	    run(c, c->b.x, XF_IN, p, &len, BUFSZ, &why), XF_ACCEPT);
	c->a.nxt++;
	len = tcp_pkt(p, c->family, c->b.addr, c->a.addr, c->b.port, c->a.port,
	    c->b.nxt, c->a.nxt, PKT_SYN | PKT_ACK, ackopt, acklen, NULL, 0);
	assert_int_equal(
	    run(c, c->b.x, XF_OUT, p, &len, BUFSZ, &why), XF_ACCEPT);
	memcpy(sa, p, len);
	*sal = len;
	assert_int_equal(
	    run(c, c->a.x, XF_IN, p, &len, BUFSZ, &why), XF_ACCEPT);
	c->b.nxt++;
}

/*
 * A forged copy of the SYN or SYN-ACK ${wire}: same addresses, ports,
 * flags, ISN, ACK and hello, but options MSS, hello and, if ${ts}, a
 * timestamp.  Return its length.
 */
static size_t
forge(const uint8_t *wire, bool ts, uint8_t *out)
{
	const uint8_t *th = wire + l4off(wire), *h = find_opt(wire, 253);
	int family = wire[0] >> 4 == 4 ? AF_INET : AF_INET6;
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	uint8_t opt[36];
	size_t n = 0;

	assert_non_null(h);
	assert_non_null(inet_ntop(
	    family, wire + (family == AF_INET ? 12 : 8), src, sizeof(src)));
	assert_non_null(inet_ntop(
	    family, wire + (family == AF_INET ? 16 : 24), dst, sizeof(dst)));
	memcpy(opt, (const uint8_t[]){ 2, 4, 0x05, 0x94 }, 4);
	memcpy(opt + 4, h, XF_HELLOBYTES);
	n = 4 + XF_HELLOBYTES;
	opt[n++] = 1;
	opt[n++] = 1;
	if (ts) {
		memcpy(opt + n,
		    (const uint8_t[]){ 8, 10, 0, 0, 0, 9, 0, 0, 0, 0, 1, 1 },
		    12);
		n += 12;
	}
	return (tcp_pkt(out, family, src, dst, pkt_be16(th), pkt_be16(th + 2),
	    pkt_be32(th + 4), pkt_be32(th + 8), th[13], opt, n, NULL, 0));
}

/* Run a copy of ${wire} into ${x}; the reason. */
static enum xf_reason
in_copy(struct conn *c, struct xf *x, const uint8_t *wire, size_t wlen)
{
	uint8_t p[BUFSZ];
	enum xf_reason why;
	size_t len = wlen;

	memcpy(p, wire, wlen);
	if (run(c, x, XF_IN, p, &len, BUFSZ, &why) == XF_ACCEPT &&
	    why == XF_R_OK)
		assert_null(find_opt(p, 253));
	return (why);
}

/*
 * Forged copies of the SYN and SYN-ACK (ISNs and nonces are public)
 * change nothing: not whether the flow has timestamps (a copy without
 * them would turn the replay check off), not its state or liveness.
 */
static void
test_hello_copies(void **state)
{
	uint8_t syn[BUFSZ], sa[BUFSZ], f[BUFSZ], w[BUFSZ], o[12];
	size_t sl, sal, fl, wl;
	uint64_t la, lb;
	struct conn c;

	(void)state;
	conn_init(&c, AF_INET, KEY, 100, 200);
	handshake_wire(&c, SYNOPT, sizeof(SYNOPT), SYNOPT, sizeof(SYNOPT), syn,
	    &sl, sa, &sal);
	la = aflow(&c)->last_ms;
	lb = bflow(&c)->last_ms;
	c.now += 10;
	/* Before the peer confirmed the flow: a copy without timestamps is
	 * stale, an exact one passes (the kernel answers a retransmission),
	 * neither changes the flow. */
	assert_false(aflow(&c)->confirmed || bflow(&c)->confirmed);
	fl = forge(syn, false, f);
	assert_int_equal(in_copy(&c, c.b.x, f, fl), XF_R_STALE);
	assert_int_equal(in_copy(&c, c.b.x, syn, sl), XF_R_OK);
	fl = forge(sa, false, f);
	assert_int_equal(in_copy(&c, c.a.x, f, fl), XF_R_STALE);
	assert_int_equal(in_copy(&c, c.a.x, sa, sal), XF_R_OK);
	assert_true(aflow(&c)->in.syn_ts && bflow(&c)->in.syn_ts);
	assert_int_equal(aflow(&c)->last_ms, la);
	assert_int_equal(bflow(&c)->last_ms, lb);
	assert_int_equal(aflow(&c)->state, FLOW_EST);
	/* Confirmed both ways: even exact copies are stale. */
	xmit(&c, true, PKT_ACK, TSOPT, sizeof(TSOPT), NULL, 0, NULL, NULL);
	tsopt(o, 100);
	xmit(&c, false, PKT_ACK, o, sizeof(o), "old", 3, w, &wl);
	assert_true(aflow(&c)->confirmed && bflow(&c)->confirmed);
	assert_int_equal(in_copy(&c, c.b.x, syn, sl), XF_R_STALE);
	assert_int_equal(in_copy(&c, c.a.x, sa, sal), XF_R_STALE);
	/* The replay check outlives a forged SYN-ACK without timestamps. */
	c.now += 5000;
	tsopt(o, 5100);
	xmit(&c, false, PKT_ACK, o, sizeof(o), "new", 3, NULL, NULL);
	la = aflow(&c)->last_ms;
	c.now += 10;
	fl = forge(sa, false, f);
	assert_int_equal(in_copy(&c, c.a.x, f, fl), XF_R_STALE);
	assert_int_equal(in_copy(&c, c.a.x, w, wl), XF_R_STALE);
	assert_true(aflow(&c)->in.syn_ts);
	assert_int_equal(aflow(&c)->last_ms, la);
	xmit(&c, true, PKT_ACK, TSOPT, sizeof(TSOPT), "on", 2, NULL, NULL);
	conn_fini(&c);
	/* A flow without timestamps: a copy with them does not stall it. */
	conn_init(&c, AF_INET6, KEY, 300, 400);
	handshake_wire(&c, SYNOPT_NOTS, sizeof(SYNOPT_NOTS), SYNOPT_NOTS,
	    sizeof(SYNOPT_NOTS), syn, &sl, sa, &sal);
	fl = forge(syn, true, f);
	assert_int_equal(in_copy(&c, c.b.x, f, fl), XF_R_STALE);
	fl = forge(sa, true, f);
	assert_int_equal(in_copy(&c, c.a.x, f, fl), XF_R_STALE);
	assert_false(aflow(&c)->in.syn_ts || bflow(&c)->in.syn_ts);
	xmit(&c, true, PKT_ACK, NULL, 0, "a", 1, NULL, NULL);
	xmit(&c, false, PKT_ACK, NULL, 0, "b", 1, NULL, NULL);
	conn_fini(&c);
}

/*
 * A spoofed SYN (a valid hello: the KeyID is public) and our kernel's
 * SYN-ACK make a responder flow the peer never confirms: it expires as a
 * half-open one and a real SYN on its 4-tuple replaces it.  A confirmed
 * flow, or an initiator's established one, is not half-open.
 */
static void
test_spoofed_syn(void **state)
{
	uint8_t p[BUFSZ];
	struct xf_stats st;
	enum xf_reason why;
	struct conn c;
	size_t len;
	int i;

	(void)state;
	conn_init(&c, AF_INET, KEY, 1000, 5000);
	for (i = 0; i < 2; i++) {
		len = tcp_pkt(p, AF_INET, c.a.addr, c.b.addr, c.a.port,
		    c.b.port, 777, 0, PKT_SYN, SYNOPT, sizeof(SYNOPT), NULL, 0);
		assert_int_equal(
		    run(&c, c.a.x, XF_OUT, p, &len, BUFSZ, &why), XF_ACCEPT);
		assert_int_equal(
		    run(&c, c.b.x, XF_IN, p, &len, BUFSZ, &why), XF_ACCEPT);
		len = tcp_pkt(p, AF_INET, c.b.addr, c.a.addr, c.b.port,
		    c.a.port, 9999, 778, PKT_SYN | PKT_ACK, SYNOPT,
		    sizeof(SYNOPT), NULL, 0);
		assert_int_equal(
		    run(&c, c.b.x, XF_OUT, p, &len, BUFSZ, &why), XF_ACCEPT);
		assert_int_equal(bflow(&c)->state, FLOW_EST);
		assert_false(bflow(&c)->confirmed);
		if (i == 1)
			break;
		/* Our kernel's SYN-ACK retransmissions do not extend it. */
		c.now += 60000;
		len = tcp_pkt(p, AF_INET, c.b.addr, c.a.addr, c.b.port,
		    c.a.port, 9999, 778, PKT_SYN | PKT_ACK, SYNOPT,
		    sizeof(SYNOPT), NULL, 0);
		assert_int_equal(
		    run(&c, c.b.x, XF_OUT, p, &len, BUFSZ, &why), XF_ACCEPT);
		c.now += 15000;
		xf_expire(c.b.x, c.now);
		xf_stats_get(c.b.x, &st);
		assert_int_equal(st.flows_open, 0);
	}
	/* The real client's SYN (new ISN, new N_i) replaces the flow. */
	handshake(&c);
	assert_true(bflow(&c)->confirmed);
	assert_false(aflow(&c)->confirmed);
	c.now += 100000;
	xf_expire(c.a.x, c.now);
	xf_expire(c.b.x, c.now);
	xf_stats_get(c.a.x, &st);
	assert_int_equal(st.flows_open, 1);
	xf_stats_get(c.b.x, &st);
	assert_int_equal(st.flows_open, 1);
	xmit(&c, false, PKT_ACK, TSOPT, sizeof(TSOPT), "srv", 3, NULL, NULL);
	xmit(&c, true, PKT_ACK, TSOPT, sizeof(TSOPT), "cli", 3, NULL, NULL);
	/* Now a new SYN on the live, confirmed flow is refused. */
	len = tcp_pkt(p, AF_INET, c.a.addr, c.b.addr, c.a.port, c.b.port, 4242,
	    0, PKT_SYN, SYNOPT, sizeof(SYNOPT), NULL, 0);
	assert_int_equal(
	    run(&c, c.a.x, XF_OUT, p, &len, BUFSZ, &why), XF_ACCEPT);
	assert_int_equal(run(&c, c.b.x, XF_IN, p, &len, BUFSZ, &why), XF_DROP);
	assert_int_equal(why, XF_R_STALE);
	conn_fini(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_replay),
		cmocka_unit_test(test_v6_replay),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_ts_wrap),
		cmocka_unit_test(test_no_ts),
		cmocka_unit_test(test_unauth_no_move),
		cmocka_unit_test(test_rst_and_idle),
		cmocka_unit_test(test_hello_copies),
		cmocka_unit_test(test_spoofed_syn),
	};

	log_init(1, 0, LOG_USER);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
