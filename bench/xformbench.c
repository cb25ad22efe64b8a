/*
 * xformbench.c: CPU cost of the packet transform of cryptgate-pktd per
 * 1448-byte TCP segment (src/pktd/xform.c and the files it uses, included
 * here): encrypt+tag (host A, OUT) and verify+decrypt (host B, IN) on an
 * established IPv4 flow, plus the two primitives alone.  Prints ns per
 * segment (median of 5 runs).
 *
 *   $BUILD/bench/xformbench [iterations]     (default 200000)
 */
#include <sys/socket.h>
#include <arpa/inet.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "cryptgate/log.h"

#include "../src/pktd/csum.c"
#include "../src/pktd/flow.c"
#include "../src/pktd/hello.c"
#include "../src/pktd/icmp.c"
#include "../src/pktd/pkt.c"
#include "../src/pktd/seg.c"
#include "../src/pktd/tcpopt.c"
#include "../src/pktd/xform.c"

#define B_MSS 1448
#define B_BUF 2048
#define B_RUNS 5

static const uint8_t b_key[XF_KEYBYTES] = { 1, 2, 3 };
static const struct xf_portrange b_ports[] = { { 5001, 5001 } };
static const uint8_t b_synopt[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1,
	0, 0, 0, 0, 1, 3, 3, 7 };
static const uint8_t b_tsopt[12] = { 1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 1 };

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec);
}

static size_t
b_tcp(uint8_t *p, bool from_a, uint32_t seq, uint32_t ack, uint8_t flags,
    const uint8_t *opt, size_t optlen, const uint8_t *d, size_t dlen)
{
	size_t thl = 20 + optlen;
	uint8_t *th = p + 20;
	struct pkt k;

	memset(p, 0, 20 + thl);
	p[0] = 0x45;
	pkt_put16(p + 2, (uint16_t)(20 + thl + dlen));
	p[8] = 64;
	p[9] = 6;
	inet_pton(AF_INET, from_a ? "10.0.0.1" : "10.0.0.2", p + 12);
	inet_pton(AF_INET, from_a ? "10.0.0.2" : "10.0.0.1", p + 16);
	pkt_put16(th, from_a ? 40000 : 5001);
	pkt_put16(th + 2, from_a ? 5001 : 40000);
	pkt_put32(th + 4, seq);
	pkt_put32(th + 8, ack);
	th[12] = (uint8_t)((thl / 4) << 4);
	th[13] = flags;
	pkt_put16(th + 14, 65000);
	memcpy(th + 20, opt, optlen);
	if (dlen > 0)
		memcpy(th + thl, d, dlen);
	memset(&k, 0, sizeof(k));
	k.p = p;
	k.len = k.cap = 20 + thl + dlen;
	if (pkt_parse_ip(&k) != XF_R_OK)
		abort();
	csum_ipv4_header(p, 20);
	pkt_l4_csum_set(&k, 16, true);
	return (k.len);
}

static struct xf *
b_xf(bool a)
{
	struct xf_rule r;
	struct xf *x;

	memset(&r, 0, sizeof(r));
	r.family = AF_INET;
	inet_pton(AF_INET, a ? "10.0.0.2" : "10.0.0.1", r.prefix);
	r.plen = 32;
	r.ports = b_ports;
	r.nports = 1;
	r.direction = a ? XF_OUTGOING : XF_INCOMING;
	r.key = b_key;
	if ((x = xf_new(&r, 1, 1024)) == NULL)
		abort();
	return (x);
}

static void
b_step(struct xf *x, enum xf_dir dir, uint8_t *p, size_t *len)
{
	enum xf_reason why;
	size_t out;

	if (xf_packet(x, dir, p, *len, B_BUF, &out, 1, &why) != XF_ACCEPT ||
	    why != XF_R_OK) {
		fprintf(stderr, "xformbench: %s\n", xf_reason_name(why));
		exit(1);
	}
	*len = out;
}

static int
cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

static uint64_t
median(uint64_t *v)
{
	qsort(v, B_RUNS, sizeof(*v), cmp);
	return (v[B_RUNS / 2]);
}

int
main(int argc, char **argv)
{
	static uint8_t d[B_MSS], plain[B_BUF], wire[B_BUF], p[B_BUF];
	uint64_t t_out[B_RUNS], t_in[B_RUNS], t_x[B_RUNS], t_m[B_RUNS], t0;
	long n = argc > 1 ? atol(argv[1]) : 200000, i;
	size_t len, plen, wlen;
	struct stream *s;
	struct stream_prf *m;
	struct iovec iov;
	uint8_t tag[12];
	struct xf *a, *b;
	int r;

	log_init(1, 0, LOG_USER);
	if (n <= 0)
		return (2);
	memset(d, 0x5a, sizeof(d));
	a = b_xf(true);
	b = b_xf(false);
	len = b_tcp(p, true, 100, 0, PKT_SYN, b_synopt, 20, NULL, 0);
	b_step(a, XF_OUT, p, &len);
	b_step(b, XF_IN, p, &len);
	len =
	    b_tcp(p, false, 900, 101, PKT_SYN | PKT_ACK, b_synopt, 20, NULL, 0);
	b_step(b, XF_OUT, p, &len);
	b_step(a, XF_IN, p, &len);
	plen = b_tcp(plain, true, 101, 901, PKT_ACK, b_tsopt, 12, d, B_MSS);
	memcpy(wire, plain, plen);
	wlen = plen;
	b_step(a, XF_OUT, wire, &wlen);
	if ((s = stream_new(b_key, NULL)) == NULL ||
	    (m = stream_prf_new(b_key, 32)) == NULL)
		return (1);
	iov.iov_base = plain;
	iov.iov_len = B_MSS + 100;
	for (r = 0; r < B_RUNS; r++) {
		t0 = now_ns();
		for (i = 0; i < n; i++) {
			memcpy(p, plain, plen);
			len = plen;
			b_step(a, XF_OUT, p, &len);
		}
		t_out[r] = (now_ns() - t0) / (uint64_t)n;
		t0 = now_ns();
		for (i = 0; i < n; i++) {
			memcpy(p, wire, wlen);
			len = wlen;
			b_step(b, XF_IN, p, &len);
		}
		t_in[r] = (now_ns() - t0) / (uint64_t)n;
		t0 = now_ns();
		for (i = 0; i < n; i++)
			if (stream_xor(s, p, d, B_MSS, (uint64_t)i * B_MSS))
				return (1);
		t_x[r] = (now_ns() - t0) / (uint64_t)n;
		t0 = now_ns();
		for (i = 0; i < n; i++)
			if (stream_prf_tag(m, tag, sizeof(tag), &iov, 1))
				return (1);
		t_m[r] = (now_ns() - t0) / (uint64_t)n;
	}
	printf("xformbench: %ld segments of %d bytes per run, median of %d\n",
	    n, B_MSS, B_RUNS);
	printf("encrypt+tag (OUT)      %6llu ns/segment\n",
	    (unsigned long long)median(t_out));
	printf("verify+decrypt (IN)    %6llu ns/segment\n",
	    (unsigned long long)median(t_in));
	printf("  ChaCha20 %d B alone  %6llu ns\n", B_MSS,
	    (unsigned long long)median(t_x));
	printf("  HMAC-SHA256 %d B     %6llu ns\n", B_MSS + 100,
	    (unsigned long long)median(t_m));
	stream_free(s);
	stream_prf_free(m);
	xf_free(a);
	xf_free(b);
	return (0);
}
