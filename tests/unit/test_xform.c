/*
 * test_xform.c: the packet transform of cryptgate-pktd (src/pktd/, see
 * docs/PACKET.md) on real IPv4 and IPv6 TCP packets through two hosts'
 * transforms, A-OUT -> wire -> B-IN and back (xform_fixture.h): the
 * handshake, round trips, retransmissions, tampering, forged RST/ACK,
 * hello and KeyID checks, TFO/MPTCP stripping, SACK trimming, traffic
 * outside the policy and the keepalive guard.  test_xform_edge.c has
 * sequence wrap, ICMP, malformed input and expiry.
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

static const uint8_t OTHERKEY[XF_KEYBYTES] = { 0x99 };

static void
roundtrip(int family)
{
	uint8_t data[1448], wire[BUFSZ];
	struct xf_stats st;
	struct conn c;
	size_t i, wlen;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	conn_init(&c, family, KEY, 0x12345678, 0xfedcba98);
	handshake(&c);
	xmit(&c, true, PKT_ACK | 0x08, TSOPT, sizeof(TSOPT), "hello", 5, wire,
	    &wlen);
	if (family == AF_INET) {
		uint32_t sum = 0;

		/* DF off (a path MTU under the link's fragments instead of
		 * stalling), and the header checksum still right. */
		assert_int_equal(wire[6] & 0x40, 0);
		for (i = 0; i < 20; i += 2)
			sum += (uint32_t)(wire[i] << 8 | wire[i + 1]);
		while (sum > 0xffff)
			sum = (sum & 0xffff) + (sum >> 16);
		assert_int_equal(sum, 0xffff);
	}
	xmit(&c, false, PKT_ACK, TSOPT, sizeof(TSOPT), data, sizeof(data), NULL,
	    NULL);
	xmit(&c, false, PKT_ACK, TSOPT, sizeof(TSOPT), data, 100, NULL, NULL);
	xmit(&c, true, PKT_ACK, TSOPT, sizeof(TSOPT), NULL, 0, NULL, NULL);
	xmit(&c, true, PKT_ACK | PKT_FIN, TSOPT, sizeof(TSOPT), NULL, 0, NULL,
	    NULL);
	xmit(&c, false, PKT_ACK | PKT_FIN, TSOPT, sizeof(TSOPT), NULL, 0, NULL,
	    NULL);
	xmit(&c, true, PKT_ACK, TSOPT, sizeof(TSOPT), NULL, 0, NULL, NULL);
	xf_stats_get(c.b.x, &st);
	assert_int_equal(st.flows_open, 1);
	assert_int_equal(st.flows_total, 1);
	assert_int_equal(st.out_bytes, sizeof(data) + 100);
	assert_int_equal(st.in_bytes, 5);
	assert_int_equal(st.drops[XF_R_BADTAG], 0);
	/* Closed both ways: gone after 60 s even with a long idle time. */
	c.now += 60000;
	xf_expire(c.b.x, c.now);
	xf_stats_get(c.b.x, &st);
	assert_int_equal(st.flows_open, 0);
	assert_int_equal(st.flows_expired, 1);
	conn_fini(&c);
}

static void
test_v4_roundtrip(void **state)
{
	(void)state;
	roundtrip(AF_INET);
}

static void
test_v6_roundtrip(void **state)
{
	(void)state;
	roundtrip(AF_INET6);
}

static void
test_retransmit(void **state)
{
	uint8_t w1[BUFSZ], w2[BUFSZ], w3[BUFSZ];
	size_t l1, l2, l3;
	struct conn c;

	(void)state;
	conn_init(&c, AF_INET, KEY, 1000, 2000);
	handshake(&c);
	l1 = a_out(&c, PKT_ACK, "retransmit me", 13, c.a.nxt, c.b.nxt, w1);
	l2 = a_out(&c, PKT_ACK, "retransmit me", 13, c.a.nxt, c.b.nxt, w2);
	/* Same bytes, same offset, same header: the same packet. */
	assert_int_equal(l1, l2);
	assert_memory_equal(w1, w2, l1);
	/* A new ACK: the same ciphertext, a different tag. */
	l3 = a_out(&c, PKT_ACK, "retransmit me", 13, c.a.nxt, c.b.nxt + 5, w3);
	assert_memory_equal(w1 + payload_off(w1), w3 + payload_off(w3), 13);
	assert_memory_not_equal(find_opt(w1, 253), find_opt(w3, 253), 16);
	/* Resegmented: the second half alone encrypts to the same bytes. */
	l2 = a_out(&c, PKT_ACK, "transmit me", 11, c.a.nxt + 2, c.b.nxt, w2);
	assert_memory_equal(w1 + payload_off(w1) + 2, w2 + payload_off(w2), 11);
	assert_int_equal(b_in(&c, w1, l1), XF_R_OK);
	assert_int_equal(b_in(&c, w2, l2), XF_R_OK);
	(void)l3;
	conn_fini(&c);
}

static void
test_tamper(void **state)
{
	uint8_t w[BUFSZ], old[BUFSZ], t[BUFSZ];
	size_t l, lold, i, nbad = 0;
	enum xf_reason why;
	struct xf_stats st;
	struct conn c;

	(void)state;
	conn_init(&c, AF_INET6, KEY, 77, 88);
	handshake(&c);
	lold = a_out(&c, PKT_ACK, "first segment", 13, c.a.nxt, c.b.nxt, old);
	assert_int_equal(b_in(&c, old, lold), XF_R_OK);
	c.a.nxt += 13;
	l = a_out(&c, PKT_ACK, "second", 6, c.a.nxt, c.b.nxt, w);
	/* Every single bit flipped in the TCP header or payload (but the
	 * checksum and the ports, which would just move it elsewhere). */
	for (i = l4off(w) + 4; i < l; i++) {
		if (i == l4off(w) + 16 || i == l4off(w) + 17)
			continue;
		memcpy(t, w, l);
		t[i] ^= 0x10;
		fill_csum(t, l, 16);
		why = b_in(&c, t, l);
		/* The data offset or an option length: no longer parses. */
		assert_true(why == XF_R_BADTAG || why == XF_R_MALFORMED);
		nbad += why == XF_R_BADTAG;
	}
	assert_true(nbad + 12 >= l - l4off(w) - 6);
	/* An old segment replayed with a changed payload. */
	memcpy(t, old, lold);
	t[payload_off(t)] ^= 1;
	fill_csum(t, lold, 16);
	assert_int_equal(b_in(&c, t, lold), XF_R_BADTAG);
	/* The tag option removed. */
	assert_int_equal(b_in(&c, w, l), XF_R_OK);
	xf_stats_get(c.b.x, &st);
	assert_true(st.mac_failures > 30);
	assert_int_equal(st.mac_failures, st.drops[XF_R_BADTAG]);
	conn_fini(&c);
}

static void
test_forged_rst_ack(void **state)
{
	uint8_t p[BUFSZ];
	enum xf_reason why;
	size_t len;
	struct conn c;

	(void)state;
	conn_init(&c, AF_INET, KEY, 5, 6);
	handshake(&c);
	/* A third party's RST with the right sequence number. */
	len = tcp_pkt(p, AF_INET, c.b.addr, c.a.addr, c.b.port, c.a.port,
	    c.b.nxt, c.a.nxt, PKT_RST | PKT_ACK, NULL, 0, NULL, 0);
	assert_int_equal(run(&c, c.a.x, XF_IN, p, &len, BUFSZ, &why), XF_DROP);
	assert_int_equal(why, XF_R_RST);
	/* An ACK / data injection. */
	len = tcp_pkt(p, AF_INET, c.b.addr, c.a.addr, c.b.port, c.a.port,
	    c.b.nxt, c.a.nxt, PKT_ACK, TSOPT, sizeof(TSOPT), "rm -rf", 6);
	assert_int_equal(run(&c, c.a.x, XF_IN, p, &len, BUFSZ, &why), XF_DROP);
	assert_int_equal(why, XF_R_BADTAG);
	/* An authenticated RST passes and closes the flow. */
	xmit(&c, false, PKT_RST | PKT_ACK, NULL, 0, NULL, 0, NULL, NULL);
	assert_true(
	    flow_lookup(c.a.x->flows, &c.a.x->flows->flows[0].key)->closed);
	conn_fini(&c);
}

static void
test_syn_checks(void **state)
{
	uint8_t p[BUFSZ], q[BUFSZ];
	enum xf_reason why;
	size_t len, qlen;
	struct conn c;

	(void)state;
	/* A SYN without the hello to a protected port. */
	conn_init(&c, AF_INET, KEY, 1, 2);
	len = tcp_pkt(p, AF_INET, c.a.addr, c.b.addr, c.a.port, c.b.port, 1, 0,
	    PKT_SYN, SYNOPT, sizeof(SYNOPT), NULL, 0);
	assert_int_equal(run(&c, c.b.x, XF_IN, p, &len, BUFSZ, &why), XF_DROP);
	assert_int_equal(why, XF_R_NOHELLO);
	/* A data segment of an unknown protected flow. */
	len = tcp_pkt(p, AF_INET, c.a.addr, c.b.addr, c.a.port, c.b.port, 1, 0,
	    PKT_ACK, NULL, 0, "x", 1);
	assert_int_equal(run(&c, c.b.x, XF_IN, p, &len, BUFSZ, &why), XF_DROP);
	assert_int_equal(why, XF_R_NOFLOW);
	assert_int_equal(run(&c, c.a.x, XF_OUT, p, &len, BUFSZ, &why), XF_DROP);
	assert_int_equal(why, XF_R_NOFLOW);
	conn_fini(&c);

	/* A hello SYN to a closed port: the server's RST reaches the
	 * client, which has no keys yet (connection refused). */
	conn_init(&c, AF_INET, KEY, 1, 2);
	len = tcp_pkt(p, AF_INET, c.a.addr, c.b.addr, c.a.port, c.b.port, 1, 0,
	    PKT_SYN, SYNOPT, sizeof(SYNOPT), NULL, 0);
	assert_int_equal(
	    run(&c, c.a.x, XF_OUT, p, &len, BUFSZ, &why), XF_ACCEPT);
	assert_int_equal(
	    run(&c, c.b.x, XF_IN, p, &len, BUFSZ, &why), XF_ACCEPT);
	/* A forged RST (wrong ACK) is not taken. */
	len = tcp_pkt(p, AF_INET, c.b.addr, c.a.addr, c.b.port, c.a.port, 0, 7,
	    PKT_RST | PKT_ACK, NULL, 0, NULL, 0);
	assert_int_equal(run(&c, c.a.x, XF_IN, p, &len, BUFSZ, &why), XF_DROP);
	assert_int_equal(why, XF_R_RST);
	len = tcp_pkt(p, AF_INET, c.b.addr, c.a.addr, c.b.port, c.a.port, 0, 2,
	    PKT_RST | PKT_ACK, NULL, 0, NULL, 0);
	memcpy(q, p, len);
	qlen = len;
	assert_int_equal(
	    run(&c, c.b.x, XF_OUT, p, &len, BUFSZ, &why), XF_ACCEPT);
	assert_int_equal(
	    run(&c, c.a.x, XF_IN, p, &len, BUFSZ, &why), XF_ACCEPT);
	assert_memory_equal(p, q, qlen);
	conn_fini(&c);

	/* The peer's key differs: KeyID mismatch. */
	conn_init(&c, AF_INET, OTHERKEY, 1, 2);
	len = tcp_pkt(p, AF_INET, c.a.addr, c.b.addr, c.a.port, c.b.port, 1, 0,
	    PKT_SYN, SYNOPT, sizeof(SYNOPT), NULL, 0);
	assert_int_equal(
	    run(&c, c.a.x, XF_OUT, p, &len, BUFSZ, &why), XF_ACCEPT);
	memcpy(q, p, len);
	qlen = len;
	assert_int_equal(run(&c, c.b.x, XF_IN, p, &len, BUFSZ, &why), XF_DROP);
	assert_int_equal(why, XF_R_KEYID);
	/* A corrupted SYN (bad checksum) is not passed on. */
	q[qlen - 1] ^= 0x80;
	assert_int_equal(run(&c, c.b.x, XF_IN, q, &qlen, BUFSZ, &why), XF_DROP);
	assert_int_equal(why, XF_R_MALFORMED);
	conn_fini(&c);
}

static void
test_tfo_mptcp(void **state)
{
	/* MSS, TFO cookie (8 bytes), NOP, WS. */
	const uint8_t tfo[20] = { 2, 4, 0x05, 0xb4, 34, 10, 1, 2, 3, 4, 5, 6, 7,
		8, 1, 3, 3, 7, 1, 1 };
	/* MSS, MP_CAPABLE v1 (12), SACK-permitted, NOP, NOP. */
	const uint8_t mp[20] = { 2, 4, 0x05, 0xb4, 30, 12, 0x01, 0x81, 1, 2, 3,
		4, 5, 6, 7, 8, 4, 2, 1, 1 };
	uint8_t p[BUFSZ];
	enum xf_reason why;
	size_t len;
	struct conn c;

	(void)state;
	conn_init(&c, AF_INET, KEY, 100, 200);
	len = tcp_pkt(p, AF_INET, c.a.addr, c.b.addr, c.a.port, c.b.port, 100,
	    0, PKT_SYN, tfo, sizeof(tfo), "GET /", 5);
	assert_int_equal(
	    run(&c, c.a.x, XF_OUT, p, &len, BUFSZ, &why), XF_ACCEPT);
	assert_null(find_opt(p, 34));
	assert_non_null(find_opt(p, 253));
	assert_non_null(find_opt(p, 3));
	assert_int_equal(payload_off(p), len); /* SYN data removed */
	assert_int_equal(
	    run(&c, c.b.x, XF_IN, p, &len, BUFSZ, &why), XF_ACCEPT);
	conn_fini(&c);
	conn_init(&c, AF_INET6, KEY, 100, 200);
	len = tcp_pkt(p, AF_INET6, c.a.addr, c.b.addr, c.a.port, c.b.port, 100,
	    0, PKT_SYN, mp, sizeof(mp), NULL, 0);
	assert_int_equal(
	    run(&c, c.a.x, XF_OUT, p, &len, BUFSZ, &why), XF_ACCEPT);
	assert_null(find_opt(p, 30));
	assert_non_null(find_opt(p, 4));
	assert_int_equal(pkt_be16(find_opt(p, 2) + 2), 1444);
	conn_fini(&c);
}

static void
test_sack_trim(void **state)
{
	/* NOP NOP TS, NOP NOP SACK with 3 blocks: 40 bytes. */
	uint8_t opt[40] = { 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8, 1, 1, 5, 26 };
	uint8_t p[BUFSZ];
	const uint8_t *s;
	enum xf_reason why;
	struct xf_stats st;
	size_t len, i;
	struct conn c;

	(void)state;
	for (i = 16; i < 40; i++)
		opt[i] = (uint8_t)i;
	conn_init(&c, AF_INET, KEY, 100, 200);
	handshake(&c);
	len = tcp_pkt(p, AF_INET, c.a.addr, c.b.addr, c.a.port, c.b.port,
	    c.a.nxt, c.b.nxt, PKT_ACK, opt, sizeof(opt), "z", 1);
	assert_int_equal(
	    run(&c, c.a.x, XF_OUT, p, &len, BUFSZ, &why), XF_ACCEPT);
	assert_non_null(s = find_opt(p, 5));
	assert_int_equal(s[1], 10);
	assert_memory_equal(s + 2, opt + 16, 8); /* the first block kept */
	assert_non_null(find_opt(p, 8));
	xf_stats_get(c.a.x, &st);
	assert_int_equal(st.sack_trims, 2);
	assert_int_equal(
	    run(&c, c.b.x, XF_IN, p, &len, BUFSZ, &why), XF_ACCEPT);
	assert_memory_equal(p + payload_off(p), "z", 1);
	conn_fini(&c);
}

static void
test_nopolicy(void **state)
{
	uint8_t p[BUFSZ], q[BUFSZ];
	enum xf_reason why;
	size_t len, l0;
	struct conn c;

	(void)state;
	conn_init(&c, AF_INET, KEY, 1, 2);
	/* Another port, another peer, UDP: all untouched. */
	l0 = len = tcp_pkt(p, AF_INET, c.a.addr, c.b.addr, c.a.port, 80, 1, 0,
	    PKT_SYN, SYNOPT, sizeof(SYNOPT), NULL, 0);
	memcpy(q, p, len);
	assert_int_equal(
	    run(&c, c.a.x, XF_OUT, p, &len, BUFSZ, &why), XF_ACCEPT);
	assert_int_equal(why, XF_R_NOPOLICY);
	assert_int_equal(len, l0);
	assert_memory_equal(p, q, l0);
	l0 = len = tcp_pkt(p, AF_INET, c.a.addr, "10.0.0.3", c.a.port, PORT_SRV,
	    1, 0, PKT_ACK, NULL, 0, "plain", 5);
	memcpy(q, p, len);
	assert_int_equal(
	    run(&c, c.a.x, XF_OUT, p, &len, BUFSZ, &why), XF_ACCEPT);
	assert_int_equal(why, XF_R_NOPOLICY);
	assert_memory_equal(p, q, l0);
	/* Direction: A protects only its outgoing connections to 5001; B's
	 * connection from port 5001 to A's port 40000 is not A's policy. */
	l0 = len = tcp_pkt(p, AF_INET, c.a.addr, c.b.addr, PORT_SRV, PORT_CLI,
	    1, 0, PKT_SYN, NULL, 0, NULL, 0);
	assert_int_equal(
	    run(&c, c.a.x, XF_OUT, p, &len, BUFSZ, &why), XF_ACCEPT);
	assert_int_equal(why, XF_R_NOPOLICY);
	l0 = len = ip_hdr(p, AF_INET, c.a.addr, c.b.addr, 17, 8);
	memset(p + l0, 0, 8);
	len += 8;
	assert_int_equal(
	    xf_packet(c.a.x, XF_OUT, p, len, BUFSZ, &l0, c.now, &why),
	    XF_ACCEPT);
	assert_int_equal(l0, len);
	assert_int_equal(why, XF_R_NOPOLICY);
	conn_fini(&c);
}

static void
test_keepalive(void **state)
{
	uint8_t w[BUFSZ];
	enum xf_reason why;
	struct xf_stats st;
	struct conn c;
	size_t len, l0;

	(void)state;
	conn_init(&c, AF_INET, KEY, 500, 600);
	handshake(&c);
	xmit(&c, true, PKT_ACK, TSOPT, sizeof(TSOPT), "0123456789", 10, NULL,
	    NULL);
	/* B acknowledges all of it. */
	xmit(&c, false, PKT_ACK, TSOPT, sizeof(TSOPT), NULL, 0, NULL, NULL);
	/* A BSD-style keepalive: one garbage byte at snd_una - 1. */
	l0 = len = tcp_pkt(w, AF_INET, c.a.addr, c.b.addr, c.a.port, c.b.port,
	    c.a.nxt - 1, c.b.nxt, PKT_ACK, TSOPT, sizeof(TSOPT), "?", 1);
	assert_int_equal(
	    run(&c, c.a.x, XF_OUT, w, &len, BUFSZ, &why), XF_ACCEPT);
	assert_int_equal(len, l0 - 1 + 16);
	assert_int_equal(payload_off(w), len);
	xf_stats_get(c.a.x, &st);
	assert_int_equal(st.keepalive_strips, 1);
	assert_int_equal(b_in(&c, w, len), XF_R_OK);
	conn_fini(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_roundtrip),
		cmocka_unit_test(test_v6_roundtrip),
		cmocka_unit_test(test_retransmit),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_forged_rst_ack),
		cmocka_unit_test(test_syn_checks),
		cmocka_unit_test(test_tfo_mptcp),
		cmocka_unit_test(test_sack_trim),
		cmocka_unit_test(test_nopolicy),
		cmocka_unit_test(test_keepalive),
	};

	log_init(1, 0, LOG_USER);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
