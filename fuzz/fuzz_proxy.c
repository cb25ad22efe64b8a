/*
 * fuzz_proxy.c: the PROXY protocol v2 header writer of the gateway's
 * server role (proxy_v2_header, src/gatewayd/proxy.c) on arbitrary
 * addresses, ports, families, address lengths and buffer sizes.
 *
 * Input: byte 0 picks the source, byte 1 the destination (low 3 bits: 0
 * IPv4, 1 IPv6, 2 IPv4-mapped IPv6, 3 AF_UNIX, 4 NULL, 5 an arbitrary
 * family; bit 3: a short address length, taken from the next byte), byte
 * 2 the buffer size (NULL buffer at 255); then the address bytes (16 +
 * 2 of port each, zeros when the input runs out).  Checked beyond "no
 * crash": the result is -1 exactly when the buffer is NULL or too small;
 * otherwise it is 16, 28 or 52 bytes, nothing is written past it (nor
 * anything at all on -1), and a strict v2 reader written here from
 * haproxy.org's proxy-protocol.txt (section 2.2) reads back the expected
 * command, family, addresses and ports: LOCAL when either side is not an
 * IP address, TCP over IPv4 when both are IPv4 (mapped or not), else TCP
 * over IPv6 with IPv4 addresses mapped.
 *
 * Only v2 is written by cryptgate, so the reader knows no v1 text form.
 *
 *   make fuzz && build/fuzz/fuzz_proxy -max_total_time=60 fuzz/corpus/proxy
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* NOLINTNEXTLINE(bugprone-suspicious-include): fuzzed on its own. */
#include "../src/gatewayd/proxy.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CANARY 0xa5
#define FZ_NULLBUF 255

/* What one side should look like in the header. */
struct fz_side {
	bool ip; /* an IP address the writer must send */
	bool v4; /* IPv4, or IPv4-mapped IPv6 */
	uint8_t a[16]; /* IPv4 in the first 4 bytes when v4 */
	uint8_t port[2];
};

/* What the strict reader found. */
struct fz_hdr {
	bool local;
	bool v4;
	uint8_t src[16], dst[16];
	uint8_t sport[2], dport[2];
};

static const uint8_t v2sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a,
	0x51, 0x55, 0x49, 0x54, 0x0a };
static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

/* The next input byte, or 0 once it is used up. */
static uint8_t
take(const uint8_t **p, size_t *n)
{
	uint8_t c;

	if (*n == 0)
		return (0);
	c = **p;
	(*p)++;
	(*n)--;
	return (c);
}

static void
take_bytes(uint8_t *dst, size_t len, const uint8_t **p, size_t *n)
{
	size_t i;

	for (i = 0; i < len; i++)
		dst[i] = take(p, n);
}

/*
 * Build one side into ${ss} as ${sel} says; set *sa (NULL or ${ss}),
 * *salen, and the expectation ${want}.
 */
static void
make_side(uint8_t sel, struct sockaddr_storage *ss, const struct sockaddr **sa,
    socklen_t *salen, struct fz_side *want, const uint8_t **p, size_t *n)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)(void *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)(void *)ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)(void *)ss;
	uint8_t raw[16];
	socklen_t full;

	memset(ss, 0, sizeof(*ss));
	memset(want, 0, sizeof(*want));
	take_bytes(raw, sizeof(raw), p, n);
	take_bytes(want->port, sizeof(want->port), p, n);
	*sa = (const struct sockaddr *)ss;
	switch (sel & 7) {
	case 0:
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, raw, 4);
		memcpy(&sin->sin_port, want->port, 2);
		full = sizeof(*sin);
		want->ip = want->v4 = true;
		memcpy(want->a, raw, 4);
		break;
	case 1:
	case 2:
		if ((sel & 7) == 2)
			memcpy(raw, mapped, sizeof(mapped));
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, raw, 16);
		memcpy(&sin6->sin6_port, want->port, 2);
		sin6->sin6_flowinfo = raw[0];
		sin6->sin6_scope_id = raw[1];
		full = sizeof(*sin6);
		want->ip = true;
		want->v4 = memcmp(raw, mapped, sizeof(mapped)) == 0;
		if (want->v4)
			memcpy(want->a, raw + 12, 4);
		else
			memcpy(want->a, raw, 16);
		break;
	case 3:
		sun->sun_family = AF_UNIX;
		memcpy(sun->sun_path, raw, sizeof(raw));
		full = sizeof(*sun);
		break;
	case 4:
		*sa = NULL;
		full = 0;
		break;
	default:
		/* Any family but the two IP ones: not an IP address. */
		ss->ss_family = (sa_family_t)(raw[0] | raw[1] << 8);
		if (ss->ss_family == AF_INET || ss->ss_family == AF_INET6)
			ss->ss_family = AF_UNSPEC;
		full = sizeof(*ss);
		break;
	}
	*salen = full;
	if (sel & 8) {
		/* A length short of (or past) the family's structure. */
		*salen = take(p, n) % (sizeof(*ss) + 1);
		if (*salen < full)
			want->ip = false;
	}
	if (*sa == NULL)
		want->ip = false;
}

/* Make the IPv4 side ${s} an IPv4-mapped IPv6 address. */
static void
want_v6(struct fz_side *s)
{
	uint8_t v4[4];

	if (!s->v4)
		return;
	memcpy(v4, s->a, 4);
	memcpy(s->a, mapped, sizeof(mapped));
	memcpy(s->a + 12, v4, 4);
	s->v4 = false;
}

/*
 * A strict PROXY v2 reader: exactly one header of ${len} bytes with
 * command LOCAL (no address block) or PROXY over TCP/IPv4 or TCP/IPv6
 * (address block of exactly 12 or 36 bytes, no TLVs).  0 or -1.
 */
static int
read_v2(const uint8_t *b, size_t len, struct fz_hdr *h)
{
	size_t alen, al;

	memset(h, 0, sizeof(*h));
	if (len < 16 || memcmp(b, v2sig, sizeof(v2sig)) != 0 ||
	    (b[12] & 0xf0) != 0x20)
		return (-1);
	alen = (size_t)b[14] << 8 | b[15];
	if (16 + alen != len)
		return (-1);
	if (b[12] == 0x20) {
		/* LOCAL: the family should be UNSPEC and nothing follow. */
		h->local = true;
		return (b[13] == 0x00 && alen == 0 ? 0 : -1);
	}
	if (b[12] != 0x21)
		return (-1);
	if (b[13] == 0x11 && alen == 12) {
		h->v4 = true;
		al = 4;
	} else if (b[13] == 0x21 && alen == 36) {
		al = 16;
	} else {
		return (-1);
	}
	memcpy(h->src, b + 16, al);
	memcpy(h->dst, b + 16 + al, al);
	memcpy(h->sport, b + 16 + 2 * al, 2);
	memcpy(h->dport, b + 16 + 2 * al + 2, 2);
	return (0);
}

static void
check_side(const uint8_t *got, const uint8_t *gport, const struct fz_side *s,
    size_t al)
{
	if (memcmp(got, s->a, al) != 0 || memcmp(gport, s->port, 2) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage sss, dss;
	const struct sockaddr *src, *dst;
	socklen_t srclen, dstlen;
	struct fz_side ws, wd;
	struct fz_hdr h;
	uint8_t ssel, dsel, bsel, *buf = NULL;
	size_t bufsize, want, i;
	int rc;

	ssel = take(&data, &size);
	dsel = take(&data, &size);
	bsel = take(&data, &size);
	make_side(ssel, &sss, &src, &srclen, &ws, &data, &size);
	make_side(dsel, &dss, &dst, &dstlen, &wd, &data, &size);

	if (!ws.ip || !wd.ip) {
		want = 16;
	} else if (ws.v4 && wd.v4) {
		want = 16 + 12;
	} else {
		want_v6(&ws);
		want_v6(&wd);
		want = 16 + 36;
	}
	if (want > PROXY_V2_MAXBYTES)
		abort();

	/* An exact-size heap buffer: ASan sees a write past its end. */
	bufsize = bsel % (PROXY_V2_MAXBYTES + 8);
	if (bsel != FZ_NULLBUF) {
		if ((buf = malloc(bufsize > 0 ? bufsize : 1)) == NULL)
			abort();
		memset(buf, FZ_CANARY, bufsize > 0 ? bufsize : 1);
	}
	rc = proxy_v2_header(buf, bufsize, src, srclen, dst, dstlen);
	if (buf == NULL || bufsize < want) {
		if (rc != -1)
			abort();
		for (i = 0; buf != NULL && i < bufsize; i++)
			if (buf[i] != FZ_CANARY)
				abort();
		free(buf);
		return (0);
	}
	if (rc < 0 || (size_t)rc != want)
		abort();
	for (i = want; i < bufsize; i++)
		if (buf[i] != FZ_CANARY)
			abort();
	if (read_v2(buf, want, &h) != 0 || h.local != (want == 16))
		abort();
	if (!h.local) {
		if (h.v4 != (want == 28))
			abort();
		check_side(h.src, h.sport, &ws, h.v4 ? 4 : 16);
		check_side(h.dst, h.dport, &wd, h.v4 ? 4 : 16);
	}
	free(buf);
	return (0);
}
