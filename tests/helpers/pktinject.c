/*
 * pktinject: the attacker of the cryptgate-pktd tests (61-pkt-faults.sh).
 * It runs in a third network namespace on the bridge between two hosts,
 * watches the IPv4 TCP segments from SRC to DST:PORT on SNIFF (an
 * AF_PACKET socket on the bridge port facing SRC) and writes forged
 * Ethernet frames straight out of OUT (the bridge port facing DST), so
 * they reach DST as if SRC had sent them.
 *
 *   pktinject MODE SNIFF OUT SRC DST PORT N TIMEOUT [DELAY_MS]
 *
 *   flip     the first N data segments whose sequence number has bits
 *            10-17 clear (about one per 256 KB; the test drops exactly
 *            those on the bridge with iptables u32 + limit): one payload
 *            byte flipped, TCP checksum recomputed, sent in place of the
 *            original.
 *   replay   copies of N data segments, sent again unchanged DELAY_MS
 *            (default 2000) after the last of them was seen: older than
 *            pktd's replay window (1000 ticks of the sender's 1 kHz TCP
 *            timestamp clock).  Each line gives the copy's age.
 *   rst      N times, when SRC has paused (30 ms without data): an RST|ACK
 *            at exactly the next sequence number, alternately without
 *            options and with the option area (tag) of the last segment.
 *   data     like rst, but an ACK|PSH carrying 64 bytes of
 *            "CGPKT-INJECTED" at the next sequence number.
 *
 * Prints one line per frame sent, then "done N"; exit 0 when N actions
 * were done, 2 when TIMEOUT seconds passed first, 1 on errors.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FRAMEMAX 65600
#define ETHLEN 14
#define MAXKEEP 64

enum mode { M_FLIP, M_REPLAY, M_RST, M_DATA };

struct seg {
	uint8_t frame[FRAMEMAX];
	size_t len;
	uint64_t at; /* when it was seen (ms) */
};

static struct seg last; /* the last segment seen (rst, data) */
static struct seg keep[MAXKEEP];
static uint8_t out[FRAMEMAX];

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static uint16_t
get16(const uint8_t *p)
{
	return ((uint16_t)(p[0] << 8 | p[1]));
}

static uint32_t
get32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
sum16(uint32_t s, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		s += get16(p + i);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return (s);
}

static uint16_t
fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return ((uint16_t)~s);
}

/* Recompute the IPv4 header and TCP checksums of the frame f. */
static void
fix_sums(uint8_t *f)
{
	uint8_t *ip = f + ETHLEN, *tcp, ph[12];
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	size_t tot = get16(ip + 2), tlen = tot - ihl;

	put16(ip + 10, 0);
	put16(ip + 10, fold(sum16(0, ip, ihl)));
	tcp = ip + ihl;
	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = IPPROTO_TCP;
	put16(ph + 10, (uint16_t)tlen);
	put16(tcp + 16, 0);
	put16(tcp + 16, fold(sum16(sum16(0, ph, 12), tcp, tlen)));
}

/*
 * If the frame f (n bytes) is an IPv4 TCP segment src -> dst:port, return
 * its payload length (0 or more) and set *tcpoff; else -1.
 */
static long
match(const uint8_t *f, size_t n, struct in_addr src, struct in_addr dst,
    uint16_t port, size_t *tcpoff)
{
	const uint8_t *ip = f + ETHLEN;
	size_t ihl, tot, doff;

	if (n < ETHLEN + 40 || get16(f + 12) != ETHERTYPE_IP ||
	    (ip[0] >> 4) != 4 || ip[9] != IPPROTO_TCP)
		return (-1);
	ihl = (size_t)(ip[0] & 0x0f) * 4;
	tot = get16(ip + 2);
	if (ihl < 20 || tot < ihl + 20 || ETHLEN + tot > n ||
	    memcmp(ip + 12, &src, 4) != 0 || memcmp(ip + 16, &dst, 4) != 0 ||
	    get16(ip + ihl + 2) != port)
		return (-1);
	doff = (size_t)(ip[ihl + 12] >> 4) * 4;
	if (doff < 20 || ihl + doff > tot)
		return (-1);
	*tcpoff = ETHLEN + ihl;
	return ((long)(tot - ihl - doff));
}

static int
send_frame(int fd, int ifindex, const uint8_t *f, size_t len)
{
	struct sockaddr_ll sll;

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = ifindex;
	sll.sll_halen = ETH_ALEN;
	memcpy(sll.sll_addr, f, ETH_ALEN);
	if (sendto(fd, f, len, 0, (struct sockaddr *)&sll, sizeof(sll)) !=
	    (ssize_t)len) {
		perror("pktinject: sendto");
		return (-1);
	}
	return (0);
}

/*
 * Build into out a segment after the last one seen: flags fl, at sequence
 * number seq, with the last segment's options if withopt, and the payload
 * pl (pllen bytes).  Return the frame length.
 */
static size_t
forge(uint8_t fl, uint32_t seq, int withopt, const uint8_t *pl, size_t pllen)
{
	const uint8_t *ip = last.frame + ETHLEN;
	size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
	size_t doff = (size_t)(ip[ihl + 12] >> 4) * 4;
	size_t nd = withopt ? doff : 20;
	uint8_t *tcp;

	memcpy(out, last.frame, ETHLEN + ihl + nd);
	tcp = out + ETHLEN + ihl;
	put16(out + ETHLEN + 2, (uint16_t)(ihl + nd + pllen));
	put16(out + ETHLEN + 4, (uint16_t)(get16(ip + 4) + 7));
	put32(tcp + 4, seq);
	tcp[12] = (uint8_t)((nd / 4) << 4);
	tcp[13] = fl;
	put16(tcp + 18, 0);
	if (pllen > 0)
		memcpy(tcp + nd, pl, pllen);
	fix_sums(out);
	return (ETHLEN + ihl + nd + pllen);
}

static int
open_if(const char *name, int *ifindex)
{
	struct sockaddr_ll sll;
	int fd, sz = 8 << 20;

	if ((*ifindex = (int)if_nametoindex(name)) == 0) {
		fprintf(stderr, "pktinject: no interface %s\n", name);
		return (-1);
	}
	if ((fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))) == -1) {
		perror("pktinject: socket");
		return (-1);
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = *ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) == -1) {
		perror("pktinject: bind");
		close(fd);
		return (-1);
	}
	return (fd);
}

int
main(int argc, char **argv)
{
	static const char inj[] =
	    "CGPKT-INJECTED-CGPKT-INJECTED-CGPKT-INJECTED-"
	    "CGPKT-INJECTED-0123";
	struct in_addr src, dst;
	struct sockaddr_ll from;
	socklen_t flen;
	uint8_t buf[FRAMEMAX];
	uint64_t deadline, lastdata = 0, replay_at = 0, delay = 2000;
	uint32_t next = 0;
	size_t tcpoff, nkeep = 0, flen2, i;
	long pl;
	ssize_t n;
	enum mode mode;
	int sfd, ofd, sif, oif, want, done = 0, have = 0;
	struct pollfd p;

	if ((argc != 9 && argc != 10) ||
	    inet_pton(AF_INET, argv[4], &src) != 1 ||
	    inet_pton(AF_INET, argv[5], &dst) != 1) {
		fprintf(stderr,
		    "usage: pktinject flip|replay|rst|data SNIFF "
		    "OUT SRC DST PORT N TIMEOUT [DELAY_MS]\n");
		return (1);
	}
	if (strcmp(argv[1], "flip") == 0)
		mode = M_FLIP;
	else if (strcmp(argv[1], "replay") == 0)
		mode = M_REPLAY;
	else if (strcmp(argv[1], "rst") == 0)
		mode = M_RST;
	else if (strcmp(argv[1], "data") == 0)
		mode = M_DATA;
	else {
		fprintf(stderr, "pktinject: unknown mode %s\n", argv[1]);
		return (1);
	}
	if (argc == 10 && atoi(argv[9]) > 0)
		delay = (uint64_t)atoi(argv[9]);
	want = atoi(argv[7]);
	if (want < 1 || want > MAXKEEP)
		want = 1;
	deadline = now_ms() + (uint64_t)atoi(argv[8]) * 1000;
	if ((sfd = open_if(argv[2], &sif)) == -1 ||
	    (ofd = open_if(argv[3], &oif)) == -1)
		return (1);
	setvbuf(stdout, NULL, _IOLBF, 0);
	p.fd = sfd;
	p.events = POLLIN;
	while (done < want) {
		uint64_t t = now_ms();

		if (t >= deadline) {
			printf("timeout after %d\n", done);
			return (2);
		}
		if (mode == M_REPLAY && replay_at != 0 && t >= replay_at) {
			for (i = 0; i < nkeep; i++) {
				if (send_frame(ofd, oif, keep[i].frame,
				        keep[i].len) == -1)
					return (1);
				printf("replayed seq=%u age_ms=%llu\n",
				    get32(keep[i].frame + ETHLEN + 20 + 4),
				    (unsigned long long)(now_ms() -
				        keep[i].at));
				done++;
			}
			break;
		}
		if ((mode == M_RST || mode == M_DATA) && have &&
		    lastdata != 0 && t - lastdata >= 30) {
			int withopt = done & 1;

			if (mode == M_RST)
				flen2 = forge(0x14, next, withopt, NULL, 0);
			else
				flen2 = forge(0x18, next, withopt,
				    (const uint8_t *)inj, 64);
			if (send_frame(ofd, oif, out, flen2) == -1)
				return (1);
			printf("%s seq=%u options=%s\n",
			    mode == M_RST ? "rst" : "data", next,
			    withopt ? "copied" : "none");
			done++;
			lastdata = 0;
			continue;
		}
		if (poll(&p, 1, 5) <= 0)
			continue;
		flen = sizeof(from);
		n = recvfrom(
		    sfd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			perror("pktinject: recvfrom");
			return (1);
		}
		if (from.sll_pkttype == PACKET_OUTGOING ||
		    (pl = match(buf, (size_t)n, src, dst,
		         (uint16_t)atoi(argv[6]), &tcpoff)) < 0)
			continue;
		if (mode == M_RST || mode == M_DATA) {
			uint32_t end = get32(buf + tcpoff + 4) + (uint32_t)pl;

			if (pl > 0 || have) {
				if (!have || (int32_t)(end - next) > 0)
					next = end;
				memcpy(last.frame, buf, (size_t)n);
				last.len = (size_t)n;
				have = 1;
			}
			if (pl > 0)
				lastdata = now_ms();
			continue;
		}
		if (pl < 64)
			continue;
		if (mode == M_FLIP) {
			size_t off = ETHLEN + get16(buf + ETHLEN + 2) -
			    (size_t)pl / 2 - 1;

			if (((get32(buf + tcpoff + 4) >> 10) & 0xff) != 0)
				continue;
			buf[off] ^= 0x20;
			fix_sums(buf);
			if (send_frame(ofd, oif, buf, (size_t)n) == -1)
				return (1);
			printf("flipped seq=%u\n", get32(buf + tcpoff + 4));
			done++;
		} else if (nkeep < (size_t)want) {
			memcpy(keep[nkeep].frame, buf, (size_t)n);
			keep[nkeep].len = (size_t)n;
			keep[nkeep++].at = now_ms();
			if (nkeep == (size_t)want)
				replay_at = now_ms() + delay;
		}
	}
	printf("done %d\n", done);
	return (0);
}
