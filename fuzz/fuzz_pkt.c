/*
 * fuzz_pkt.c: libFuzzer target for the packet transform of cryptgate-pktd
 * (src/pktd/xform.c and the files it uses, included here): raw bytes as
 * IN and OUT IP packets for two transforms, host A (10.0.0.1 / fd00::1,
 * client) and host B (10.0.0.2 / fd00::2, server port 5001), with an
 * established protected flow set up first on each, so the option, MAC,
 * cipher, ICMP and SYN paths are all reachable.
 *
 * Input: byte 0 picks the path (low 2 bits: 0 A-OUT, 1 A-IN, 2 B-IN,
 * 3 A-OUT then B-IN; bit 2: IPv6 flow instead of IPv4; bit 3: the roles
 * swapped, so B-OUT, B-IN, A-IN, B-OUT then A-IN); the rest is the
 * packet.  Checked beyond "no crash, no leak": *outlen <= cap, nothing
 * written past cap (the buffer is exactly cap bytes), and a non-SYN
 * segment one side's OUT transformed is accepted by the other's IN with
 * its payload back, unless stale (PAWS).
 *
 * Seeds: cc -DFUZZ_PKT_SEEDS ... fuzz/fuzz_pkt.c writes fuzz/corpus/pkt/.
 *
 *   make fuzz && build/fuzz/fuzz_pkt -max_total_time=300 fuzz/corpus/pkt
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

#include "cryptgate/log.h"

#include "../src/pktd/csum.c"
#include "../src/pktd/flow.c"
#include "../src/pktd/hello.c"
#include "../src/pktd/icmp.c"
#include "../src/pktd/pkt.c"
#include "../src/pktd/seg.c"
#include "../src/pktd/tcpopt.c"
#include "../src/pktd/xform.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FZ_MAX 4096
#define FZ_CPORT 40000
#define FZ_SPORT 5001
#define FZ_ISN_A 0x01020304U
#define FZ_ISN_B 0xfffffff0U

static const uint8_t fz_key[XF_KEYBYTES] = { 0xc0, 0xff, 0xee };
static const struct xf_portrange fz_ports[] = { { FZ_SPORT, FZ_SPORT } };
static const uint8_t fz_synopt[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0,
	1, 0, 0, 0, 0, 1, 3, 3, 7 };
static const uint8_t fz_tsopt[12] = { 1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 1 };

static const char *fz_addr[2][2] = { { "10.0.0.1", "10.0.0.2" },
	{ "fd00::1", "fd00::2" } };

static void
fz_csum(uint8_t *p, size_t len)
{
	struct pkt k;

	memset(&k, 0, sizeof(k));
	k.p = p;
	k.len = k.cap = len;
	if (pkt_parse_ip(&k) != XF_R_OK)
		abort();
	if (k.family == AF_INET)
		csum_ipv4_header(p, k.l4);
	pkt_l4_csum_set(&k, 16, true);
}

/* A TCP packet of flow ${v6} from A (${from_a}) or B. */
static size_t
fz_tcp(uint8_t *p, int v6, bool from_a, uint32_t seq, uint32_t ack,
    uint8_t flags, const uint8_t *opt, size_t optlen, const void *d,
    size_t dlen)
{
	int family = v6 ? AF_INET6 : AF_INET;
	size_t l4 = v6 ? 40 : 20, thl = 20 + optlen;
	const char *src = fz_addr[v6][from_a ? 0 : 1];
	const char *dst = fz_addr[v6][from_a ? 1 : 0];
	uint8_t *th = p + l4;

	memset(p, 0, l4 + thl);
	if (v6) {
		p[0] = 0x60;
		pkt_put16(p + 4, (uint16_t)(thl + dlen));
		p[6] = 6;
		p[7] = 64;
	} else {
		p[0] = 0x45;
		pkt_put16(p + 2, (uint16_t)(l4 + thl + dlen));
		p[8] = 64;
		p[9] = 6;
	}
	if (inet_pton(family, src, p + (v6 ? 8 : 12)) != 1 ||
	    inet_pton(family, dst, p + (v6 ? 24 : 16)) != 1)
		abort();
	pkt_put16(th, from_a ? FZ_CPORT : FZ_SPORT);
	pkt_put16(th + 2, from_a ? FZ_SPORT : FZ_CPORT);
	pkt_put32(th + 4, seq);
	pkt_put32(th + 8, ack);
	th[12] = (uint8_t)((thl / 4) << 4);
	th[13] = flags;
	pkt_put16(th + 14, 65000);
	if (optlen > 0)
		memcpy(th + 20, opt, optlen);
	if (dlen > 0)
		memcpy(th + thl, d, dlen);
	fz_csum(p, l4 + thl + dlen);
	return (l4 + thl + dlen);
}

static struct xf *
fz_xf(int v6, bool a)
{
	struct xf_rule r;
	struct xf *x;
	int family = v6 ? AF_INET6 : AF_INET;

	memset(&r, 0, sizeof(r));
	r.family = family;
	if (inet_pton(family, fz_addr[v6][a ? 1 : 0], r.prefix) != 1)
		abort();
	r.plen = v6 ? 128 : 32;
	r.ports = fz_ports;
	r.nports = 1;
	r.direction = a ? XF_OUTGOING : XF_INCOMING;
	r.key = fz_key;
	if ((x = xf_new(&r, 1, 16)) == NULL)
		abort();
	return (x);
}

/* Pass ${p} through ${x}, requiring ${want}. */
static void
fz_step(struct xf *x, enum xf_dir dir, uint8_t *p, size_t *len)
{
	enum xf_reason why;
	size_t out;

	if (xf_packet(x, dir, p, *len, FZ_MAX, &out, 1000, &why) != XF_ACCEPT ||
	    why != XF_R_OK)
		abort();
	*len = out;
}

/* Two transforms with the handshake of flow ${v6} done. */
static void
fz_setup(int v6, struct xf **a, struct xf **b)
{
	uint8_t p[FZ_MAX];
	size_t len;

	*a = fz_xf(v6, true);
	*b = fz_xf(v6, false);
	len = fz_tcp(p, v6, true, FZ_ISN_A, 0, PKT_SYN, fz_synopt,
	    sizeof(fz_synopt), NULL, 0);
	fz_step(*a, XF_OUT, p, &len);
	fz_step(*b, XF_IN, p, &len);
	len = fz_tcp(p, v6, false, FZ_ISN_B, FZ_ISN_A + 1, PKT_SYN | PKT_ACK,
	    fz_synopt, sizeof(fz_synopt), NULL, 0);
	fz_step(*b, XF_OUT, p, &len);
	fz_step(*a, XF_IN, p, &len);
	len = fz_tcp(p, v6, true, FZ_ISN_A + 1, FZ_ISN_B + 1, PKT_ACK, fz_tsopt,
	    sizeof(fz_tsopt), NULL, 0);
	fz_step(*a, XF_OUT, p, &len);
	fz_step(*b, XF_IN, p, &len);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(1, 0, LOG_USER);
	return (0);
}

/* X-OUT accepted a non-SYN segment: ${b}'s IN must give its payload back. */
static void
fz_check_pair(struct xf *b, const uint8_t *orig, size_t olen, uint8_t *p,
    size_t len, size_t cap)
{
	struct pkt k0, k1;
	enum xf_reason why;
	size_t out;

	memset(&k0, 0, sizeof(k0));
	k0.p = (uint8_t *)(uintptr_t)orig;
	k0.len = k0.cap = olen;
	if (pkt_parse_ip(&k0) != XF_R_OK || k0.proto != 6 ||
	    pkt_parse_tcp(&k0) != XF_R_OK || (k0.flags & PKT_SYN))
		return;
	if (xf_packet(b, XF_IN, p, len, cap, &out, 1000, &why) != XF_ACCEPT ||
	    why != XF_R_OK || out > cap) {
		/* The flow has timestamps: a non-RST segment without one, or
		 * with a TSval outside the replay window, is stale at B after
		 * its tag verified (seg.c, PAWS). */
		if (why == XF_R_STALE && !(k0.flags & PKT_RST) && out <= cap)
			return;
		abort();
	}
	memset(&k1, 0, sizeof(k1));
	k1.p = p;
	k1.len = k1.cap = out;
	if (pkt_parse_ip(&k1) != XF_R_OK || pkt_parse_tcp(&k1) != XF_R_OK)
		abort();
	if (k1.plen > 0 &&
	    (k1.plen != k0.plen ||
	        memcmp(k1.p + k1.l4 + k1.thl, k0.p + k0.l4 + k0.thl, k1.plen) !=
	            0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xf *a, *b, *x, *y;
	enum xf_reason why;
	enum xf_verdict v;
	size_t len, cap, out;
	uint8_t *p;
	int mode;

	if (size < 1 || size > FZ_MAX)
		return (0);
	mode = data[0];
	len = size - 1;
	cap = len + XF_HEADROOM;
	if ((p = malloc(cap)) == NULL)
		abort();
	memcpy(p, data + 1, len);
	fz_setup((mode >> 2) & 1, &a, &b);
	/* x: the side whose OUT and IN modes 0 and 1 take; y: the other. */
	x = (mode & 8) ? b : a;
	y = (mode & 8) ? a : b;
	switch (mode & 3) {
	case 0:
	case 3:
		v = xf_packet(x, XF_OUT, p, len, cap, &out, 1000, &why);
		break;
	case 1:
		v = xf_packet(x, XF_IN, p, len, cap, &out, 1000, &why);
		break;
	default:
		v = xf_packet(y, XF_IN, p, len, cap, &out, 1000, &why);
		break;
	}
	if (out > cap || (unsigned int)why >= XF_R_COUNT)
		abort();
	if ((mode & 3) == 3 && v == XF_ACCEPT && why == XF_R_OK)
		fz_check_pair(y, data + 1, len, p, out, cap);
	xf_free(a);
	xf_free(b);
	free(p);
	return (0);
}

#ifdef FUZZ_PKT_SEEDS
/* Write seed inputs into the directory argv[1]. */
static void
seed(const char *dir, const char *name, int mode, const uint8_t *p, size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL)
		abort();
	fputc(mode, f);
	fwrite(p, 1, len, f);
	fclose(f);
}

int
main(int argc, char **argv)
{
	static const uint8_t sack[20] = { 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8,
		1, 1, 5, 10, 0, 0, 0, 1 };
	uint8_t p[FZ_MAX], w[FZ_MAX], d[1448];
	struct xf *a, *b;
	char name[64];
	size_t len, wl;
	int v6;

	if (argc != 2)
		return (2);
	LLVMFuzzerInitialize(NULL, NULL);
	memset(d, 'D', sizeof(d));
	for (v6 = 0; v6 < 2; v6++) {
		const char *fam = v6 ? "v6" : "v4";
		int m6 = v6 << 2;

		fz_setup(v6, &a, &b);
#define SEED(tag, mode) \
	do { \
		snprintf(name, sizeof(name), "%s-%s", fam, tag); \
		seed(argv[1], name, (mode) | m6, p, len); \
	} while (0)
		len = fz_tcp(p, v6, true, FZ_ISN_A + 1, FZ_ISN_B + 1,
		    PKT_ACK | 0x08, fz_tsopt, sizeof(fz_tsopt), d, 1448);
		SEED("data-out", 0);
		SEED("data-pair", 3);
		memcpy(w, p, len);
		wl = len;
		fz_step(a, XF_OUT, w, &wl);
		memcpy(p, w, wl);
		len = wl;
		SEED("data-wire-in", 2);
		len = fz_tcp(p, v6, true, FZ_ISN_A + 1, FZ_ISN_B + 1, PKT_ACK,
		    sack, sizeof(sack), "s", 1);
		SEED("sack-pair", 3);
		len = fz_tcp(p, v6, true, FZ_ISN_A + 1, FZ_ISN_B + 1,
		    PKT_ACK | PKT_FIN, fz_tsopt, sizeof(fz_tsopt), NULL, 0);
		SEED("fin-pair", 3);
		len = fz_tcp(p, v6, false, FZ_ISN_B + 1, FZ_ISN_A + 1,
		    PKT_RST | PKT_ACK, NULL, 0, NULL, 0);
		SEED("rst-in", 1);
		len = fz_tcp(p, v6, true, 77, 0, PKT_SYN, fz_synopt,
		    sizeof(fz_synopt), "TFO", 3);
		SEED("syn-out", 0);
		SEED("syn-nohello-in", 2);
		memcpy(w, p, len);
		wl = len;
		{
			struct xf *a2 = fz_xf(v6, true);

			fz_step(a2, XF_OUT, w, &wl);
			xf_free(a2);
		}
		memcpy(p, w, wl);
		len = wl;
		SEED("syn-hello-in", 2);
		len = fz_tcp(p, v6, false, 99, FZ_ISN_A + 1, PKT_SYN | PKT_ACK,
		    fz_synopt, sizeof(fz_synopt), NULL, 0);
		SEED("synack-in", 1);
		/* The server side's turn (bit 3): B-OUT, B-IN, A-IN. */
		len = fz_tcp(p, v6, false, FZ_ISN_B + 1, FZ_ISN_A + 1,
		    PKT_ACK | 0x08, fz_tsopt, sizeof(fz_tsopt), d, 1448);
		SEED("b-data-out", 8);
		SEED("b-data-pair", 8 | 3);
		memcpy(w, p, len);
		wl = len;
		fz_step(b, XF_OUT, w, &wl);
		memcpy(p, w, wl);
		len = wl;
		SEED("b-data-wire-in", 8 | 2);
		len = fz_tcp(p, v6, false, FZ_ISN_B + 1, FZ_ISN_A + 1,
		    PKT_ACK | PKT_FIN, fz_tsopt, sizeof(fz_tsopt), NULL, 0);
		SEED("b-fin-pair", 8 | 3);
		len = fz_tcp(p, v6, true, FZ_ISN_A + 1, FZ_ISN_B + 1,
		    PKT_RST | PKT_ACK, NULL, 0, NULL, 0);
		SEED("b-rst-in", 8 | 1);
		/* ICMP frag-needed / PTB quoting A's data segment. */
		{
			size_t l4 = v6 ? 40 : 20, q = l4 + 8;
			uint8_t ic[256];
			struct pkt k;

			len = fz_tcp(w, v6, true, FZ_ISN_A + 1, FZ_ISN_B + 1,
			    PKT_ACK, NULL, 0, NULL, 0);
			memcpy(ic, w, 64);
			memset(p, 0, l4 + 8);
			memcpy(p, ic, l4);
			if (v6) {
				memcpy(p + 8, "\x20\x01\x0d\xb8", 4);
				memcpy(p + 24, ic + 8, 16);
				p[6] = 58;
				pkt_put16(p + 4, (uint16_t)(8 + q));
				p[l4] = 2;
				pkt_put32(p + l4 + 4, 1500);
			} else {
				p[12] = 192;
				memcpy(p + 16, ic + 12, 4);
				p[9] = 1;
				pkt_put16(p + 2, (uint16_t)(l4 + 8 + q));
				p[l4] = 3;
				p[l4 + 1] = 4;
				pkt_put16(p + l4 + 6, 1500);
			}
			memcpy(p + l4 + 8, ic, q);
			len = l4 + 8 + q;
			memset(&k, 0, sizeof(k));
			k.p = p;
			k.len = k.cap = len;
			if (pkt_parse_ip(&k) != XF_R_OK)
				abort();
			if (!v6)
				csum_ipv4_header(p, l4);
			pkt_l4_csum_set(&k, 2, v6 != 0);
			SEED("icmp-mtu-in", 1);
			p[l4] = v6 ? 1 : 3;
			p[l4 + 1] = v6 ? 4 : 3;
			pkt_l4_csum_set(&k, 2, v6 != 0);
			SEED("icmp-hard-in", 1);
		}
		xf_free(a);
		xf_free(b);
	}
	return (0);
}
#endif
