/*
 * soakclient.c: the load of the soak benchmark (bench/soak.sh; never part
 * of make check).
 *
 * soakclient -c ADDR:PORT (the client gateway) runs N connections at once
 * (-n, 200) for D seconds (-d, 600), each slot in a loop: connect, send a
 * blob whose size is drawn between -m and -M bytes (1 KiB, 4 MiB), evenly
 * over the octaves (log-uniform, piecewise), at -b bytes/s per connection (0: as fast as possible), read the
 * echo while sending, half-close once all is sent, read to the end of the
 * stream, close, pause 0..-t ms.  The blob is a PRNG stream seeded by -s
 * and the connection's number: what comes back is compared byte for byte
 * with it as it arrives (so a cut connection is checked too), and at the
 * end the SHA-256 of what came back is compared with the SHA-256 of what
 * was sent.  -x percent of the connections are cut at a random point of
 * the exchange (while sending or while receiving), half of them with
 * close(), half with an RST (SO_LINGER 0): the random disconnects.  After
 * a failed connection the slot waits -B ms more (1000) before the next,
 * as a client would.  At D seconds no new connection starts; those
 * running get -g seconds to end.
 *
 * Outcomes: ok (all came back, SHA-256 equal), cut (we cut it, the bytes
 * received matched), corrupt (a byte differs, too many bytes, or the
 * SHA-256 differs: must never happen), connfail (connect failed), reset
 * (ECONNRESET, EPIPE or another error), short (end of stream before all
 * came back), stall (no byte moved for -T seconds: aborted with an RST),
 * unfinished (still running after the grace time).
 *
 * Output on stdout, one line each, key=value:
 *   I  every -i seconds (10): the outcomes in the interval, t (unix
 *      seconds), el (seconds since the start), active connections, MiB
 *      moved (both directions);
 *   M  every minute: the same for the minute, plus p50/p99 of ttfb (the
 *      connect to the first echoed byte: TCP to the client gateway, its
 *      TLS handshake and key, the backend connection) and of total (the
 *      connect to the verified end) of the ok connections, in ms;
 *   T  at the end: the totals and the latencies over the whole run.
 * The first corruption is described on stderr.  Exit 0, or 1 if any
 * connection was corrupt (or on a setup error), 2 on a usage error.
 *
 * The backend is bench/soakecho.c.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cryptgate/digest.h"
#include "cryptgate/log.h"
#include "cryptgate/sock.h"

#define TXCHUNK 32768
#define RXCHUNK 65536
#define BURST 65536
#define MAXSLOTS 20000
#define MAXEVENTS 256

enum outcome {
	OUT_OK,
	OUT_CUT,
	OUT_CORRUPT,
	OUT_CONNFAIL, /* this one and those after it: failures */
	OUT_RESET,
	OUT_SHORT,
	OUT_STALL,
	OUT_UNFINISHED,
	OUT_N
};

static const char *res_names[OUT_N] = { "ok", "cut", "corrupt", "connfail",
	"reset", "short", "stall", "unfinished" };

/* A xorshift64* stream, consumed byte by byte. */
struct prng {
	uint64_t s;
	uint64_t w;
	unsigned int left;
};

struct lat {
	double *v;
	size_t n;
	size_t cap;
};

struct counts {
	long n[OUT_N];
	uint64_t bytes;
};

enum st { S_THINK, S_CONNECT, S_XFER };

struct slot {
	int fd;
	enum st st;
	bool want_out; /* EPOLLOUT in the registered events */
	bool shut; /* all sent, SHUT_WR done */
	bool cut_tx; /* cut after sending cut bytes, else after receiving */
	bool rst; /* cut with an RST */
	uint64_t num;
	size_t size, sent, rcvd, cut; /* cut: 0 = not cut */
	struct prng tx, rx;
	struct digest_ctx *dtx, *drx;
	double t0, t_xfer, t_first, t_progress, t_next;
	size_t txlen, txoff;
	uint8_t txbuf[TXCHUNK];
};

static struct {
	const char *connect;
	int nslots;
	int duration;
	size_t min, max;
	double rate;
	double cutpct;
	int think_ms;
	int backoff_ms;
	int interval;
	int stall;
	int grace;
	uint64_t seed;
} opt = { .nslots = 200,
	.duration = 600,
	.min = 1024,
	.max = 4194304,
	.rate = 262144,
	.cutpct = 10,
	.think_ms = 100,
	.backoff_ms = 1000,
	.interval = 10,
	.stall = 30,
	.grace = 30,
	.seed = 1 };

static struct sockaddr_storage dst;
static socklen_t dstlen;
static int ep = -1;
static struct prng rng; /* sizes, cuts, pauses */
static uint64_t nextnum;
static long nactive;
static struct counts c_int, c_min, c_tot;
static struct lat ttfb_min, total_min, ttfb_all, total_all;
static bool reported_corrupt;
static uint8_t rbuf[RXCHUNK], ebuf[RXCHUNK];

static uint64_t
splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return (x ^ (x >> 31));
}

static void
prng_init(struct prng *p, uint64_t seed)
{
	p->s = splitmix64(seed) | 1;
	p->left = 0;
}

static uint64_t
prng_next(struct prng *p)
{
	uint64_t x = p->s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	p->s = x;
	return (x * 0x2545f4914f6cdd1dULL);
}

/* A number in [0, 1). */
static double
prng_unit(struct prng *p)
{
	return ((double)(prng_next(p) >> 11) / 9007199254740992.0);
}

/* The next ${len} bytes of the stream ${p} into ${buf}. */
static void
prng_fill(struct prng *p, uint8_t *buf, size_t len)
{
	uint64_t w;

	for (; len > 0 && p->left > 0; len--, p->left--) {
		*buf++ = (uint8_t)p->w;
		p->w >>= 8;
	}
	for (; len >= 8; len -= 8, buf += 8) {
		w = prng_next(p);
		memcpy(buf, &w, 8); /* the byte order does not matter */
	}
	if (len > 0) {
		p->w = prng_next(p);
		p->left = 8;
		prng_fill(p, buf, len);
	}
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static long
unix_s(void)
{
	return ((long)time(NULL));
}

static void
lat_add(struct lat *l, double v)
{
	double *nv;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4096;
		if ((nv = realloc(l->v, l->cap * sizeof(*nv))) == NULL) {
			perror("soakclient: realloc");
			exit(1);
		}
		l->v = nv;
	}
	l->v[l->n++] = v;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return ((x > y) - (x < y));
}

/* The ${q} quantile of ${l} in ms (nearest rank; sorts ${l}), or 0. */
static double
lat_q(struct lat *l, double q)
{
	size_t i;

	if (l->n == 0)
		return (0);
	qsort(l->v, l->n, sizeof(l->v[0]), cmp_double);
	i = (size_t)(q * (double)l->n); /* nearest rank, rounded down */
	return (1000 * l->v[i < l->n ? i : l->n - 1]);
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void
set_events(struct slot *s, bool out)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

	if (s->want_out == out)
		return;
	if (out)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev) == 0)
		s->want_out = out;
}

static void
count(enum outcome r)
{
	c_int.n[r]++;
	c_min.n[r]++;
	c_tot.n[r]++;
}

static void
moved(size_t n)
{
	c_int.bytes += n;
	c_min.bytes += n;
	c_tot.bytes += n;
}

/* End ${s}'s connection with outcome ${r} (an RST if ${rst}); pause. */
static void
finish(struct slot *s, enum outcome r, bool rst, double t)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	if (rst)
		(void)setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(s->fd);
	s->fd = -1;
	digest_free(s->dtx);
	digest_free(s->drx);
	s->dtx = s->drx = NULL;
	count(r);
	if (r == OUT_OK) {
		lat_add(&ttfb_min, s->t_first - s->t0);
		lat_add(&total_min, t - s->t0);
		lat_add(&ttfb_all, s->t_first - s->t0);
		lat_add(&total_all, t - s->t0);
	}
	s->st = S_THINK;
	s->t_next = t + prng_unit(&rng) * opt.think_ms / 1000.0;
	if (r >= OUT_CONNFAIL) /* a failure: back off, as clients do */
		s->t_next += opt.backoff_ms / 1000.0;
	nactive--;
}

static void
corrupt(struct slot *s, const char *what, size_t off, double t)
{
	if (!reported_corrupt) {
		reported_corrupt = true;
		fprintf(stderr,
		    "soakclient: CORRUPT: connection %llu (size %zu): %s at "
		    "byte %zu\n",
		    (unsigned long long)s->num, s->size, what, off);
	}
	finish(s, OUT_CORRUPT, true, t);
}

/*
 * lg2(x), pow2(y): log2 and its inverse, linear within each octave (no
 * libm): sizes drawn uniformly in lg2 are spread evenly over the octaves.
 */
static double
lg2(double x)
{
	int e = 0;

	while (x >= 2) {
		x /= 2;
		e++;
	}
	return (e + x - 1);
}

static double
pow2(double y)
{
	int k = (int)y;

	return ((double)((uint64_t)1 << k) * (1 + (y - k)));
}

/* Start the next connection of ${s}. */
static void
slot_start(struct slot *s, double t)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = s };
	double lmin = lg2((double)opt.min), lmax = lg2((double)opt.max);
	size_t c;

	s->num = nextnum++;
	s->size = (size_t)pow2(lmin + prng_unit(&rng) * (lmax - lmin));
	if (s->size < opt.min)
		s->size = opt.min;
	if (s->size > opt.max)
		s->size = opt.max;
	s->cut = 0;
	if (prng_unit(&rng) * 100 < opt.cutpct) {
		c = 1 + (size_t)(prng_next(&rng) % (2 * s->size));
		s->cut_tx = c <= s->size;
		s->cut = s->cut_tx ? c : c - s->size;
		s->rst = prng_next(&rng) & 1;
	}
	prng_init(&s->tx, opt.seed ^ (s->num << 20));
	prng_init(&s->rx, opt.seed ^ (s->num << 20));
	s->sent = s->rcvd = s->txlen = s->txoff = 0;
	s->shut = false;
	s->want_out = true;
	s->t0 = s->t_progress = t;
	s->t_first = 0;
	nactive++;
	s->st = S_CONNECT;
	s->dtx = digest_new();
	s->drx = digest_new();
	s->fd = socket(dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (s->dtx == NULL || s->drx == NULL || s->fd == -1) {
		perror("soakclient: socket");
		exit(1);
	}
	if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) == -1) {
		perror("soakclient: epoll_ctl");
		exit(1);
	}
	if (connect(s->fd, (struct sockaddr *)&dst, dstlen) == -1 &&
	    errno != EINPROGRESS)
		finish(s, OUT_CONNFAIL, false, t);
}

/* Cut ${s} on purpose. */
static void
slot_cut(struct slot *s, double t)
{
	finish(s, OUT_CUT, s->rst, t);
}

/* Send what the pace allows; 0, or -1 if ${s} ended. */
static int
slot_send(struct slot *s, double t)
{
	double allowed;
	size_t n;
	ssize_t w;

	while (!s->shut) {
		if (s->txoff == s->txlen) {
			if (s->cut > 0 && s->cut_tx && s->sent == s->cut) {
				slot_cut(s, t);
				return (-1);
			}
			if (s->sent == s->size) {
				(void)shutdown(s->fd, SHUT_WR);
				s->shut = true;
				break;
			}
			n = s->size - s->sent;
			if (n > TXCHUNK)
				n = TXCHUNK;
			if (s->cut > 0 && s->cut_tx && n > s->cut - s->sent)
				n = s->cut - s->sent;
			/* Whole chunks only: fewer, larger writes. */
			allowed = opt.rate * (t - s->t_xfer) + BURST;
			if (opt.rate > 0 && (double)(s->sent + n) > allowed)
				break; /* the tick comes back */
			prng_fill(&s->tx, s->txbuf, n);
			if (digest_update(s->dtx, s->txbuf, n))
				exit(1);
			s->txlen = n;
			s->txoff = 0;
		}
		w = send(s->fd, s->txbuf + s->txoff, s->txlen - s->txoff,
		    MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			set_events(s, true);
			return (0);
		}
		if (w == -1) {
			finish(s, OUT_RESET, false, t);
			return (-1);
		}
		s->txoff += (size_t)w;
		s->sent += (size_t)w;
		s->t_progress = t;
		moved((size_t)w);
	}
	set_events(s, false);
	return (0);
}

/* The end of the echo: check it all. */
static void
slot_eof(struct slot *s, double t)
{
	uint8_t htx[DIGEST_SHA256BYTES], hrx[DIGEST_SHA256BYTES];

	if (s->sent != s->size || s->rcvd != s->size) {
		finish(s, OUT_SHORT, false, t);
		return;
	}
	if (digest_final(s->dtx, htx) || digest_final(s->drx, hrx))
		exit(1);
	if (memcmp(htx, hrx, sizeof(htx)) != 0)
		corrupt(s, "SHA-256 differs", s->rcvd, t);
	else
		finish(s, OUT_OK, false, t);
}

/* Read and check what came back; 0, or -1 if ${s} ended. */
static int
slot_recv(struct slot *s, double t)
{
	ssize_t r;
	size_t n, i;

	for (;;) {
		r = recv(s->fd, rbuf, sizeof(rbuf), 0);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return (0);
		if (r == -1) {
			finish(s, OUT_RESET, false, t);
			return (-1);
		}
		if (r == 0) {
			slot_eof(s, t);
			return (-1);
		}
		n = (size_t)r;
		if (n > s->size - s->rcvd) {
			corrupt(s, "more bytes than sent", s->size, t);
			return (-1);
		}
		prng_fill(&s->rx, ebuf, n);
		if (memcmp(rbuf, ebuf, n) != 0) {
			for (i = 0; rbuf[i] == ebuf[i]; i++)
				;
			corrupt(s, "a byte differs", s->rcvd + i, t);
			return (-1);
		}
		if (digest_update(s->drx, rbuf, n))
			exit(1);
		if (s->rcvd == 0)
			s->t_first = t;
		s->rcvd += n;
		s->t_progress = t;
		moved(n);
		if (s->cut > 0 && !s->cut_tx && s->rcvd >= s->cut) {
			slot_cut(s, t);
			return (-1);
		}
	}
}

static void
slot_event(struct slot *s, uint32_t events, double t)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (s->st == S_CONNECT) {
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) ||
		    err != 0) {
			finish(s, OUT_CONNFAIL, false, t);
			return;
		}
		s->st = S_XFER;
		s->t_xfer = s->t_progress = t;
		if (slot_send(s, t))
			return;
		events |= EPOLLIN;
	} else if (s->st != S_XFER) {
		return; /* ended earlier in this batch */
	}
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && slot_recv(s, t))
		return;
	if ((events & EPOLLOUT) && s->want_out)
		(void)slot_send(s, t);
}

/* Timers: pauses, pacing, stalls. */
static void
tick(struct slot *slots, bool stopping, double t)
{
	struct slot *s;
	int i;

	for (i = 0; i < opt.nslots; i++) {
		s = &slots[i];
		if (s->st == S_THINK) {
			if (!stopping && t >= s->t_next)
				slot_start(s, t);
			continue;
		}
		if (t - s->t_progress > opt.stall) {
			finish(s, OUT_STALL, true, t);
			continue;
		}
		if (s->st == S_XFER && !s->want_out && !s->shut)
			(void)slot_send(s, t);
	}
}

static void
print_counts(const char *tag, const struct counts *c, double secs)
{
	int r;

	printf("%s t=%ld", tag, unix_s());
	for (r = 0; r < OUT_N; r++)
		printf(" %s=%ld", res_names[r], c->n[r]);
	printf(" active=%ld MiB=%.1f MiBps=%.1f", nactive,
	    (double)c->bytes / 1048576,
	    secs > 0 ? (double)c->bytes / 1048576 / secs : 0);
}

static void
print_lat(struct lat *ttfb, struct lat *total)
{
	printf(" ttfb_p50=%.1f ttfb_p99=%.1f total_p50=%.1f total_p99=%.1f",
	    lat_q(ttfb, 0.50), lat_q(ttfb, 0.99), lat_q(total, 0.50),
	    lat_q(total, 0.99));
}

static int
run_client(void)
{
	struct epoll_event evs[MAXEVENTS];
	struct slot *slots;
	double t, t_start, t_end, t_int, t_min, t_last_int, t_last_min;
	bool stopping = false;
	int i, n, minute = 0;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (slots = calloc((size_t)opt.nslots, sizeof(*slots))) == NULL) {
		perror("soakclient");
		return (1);
	}
	prng_init(&rng, opt.seed);
	t_start = t_last_int = t_last_min = now();
	t_end = t_start + opt.duration;
	t_int = t_start + opt.interval;
	t_min = t_start + 60;
	for (i = 0; i < opt.nslots; i++) {
		slots[i].fd = -1;
		/* Spread the first connections over the first second. */
		slots[i].t_next = t_start + (double)i / opt.nslots;
	}
	printf("# soakclient -> %s: %d connections, %d s, sizes %zu..%zu, "
	       "%.0f B/s each, %.1f%% cut, seed %llu\n",
	    opt.connect, opt.nslots, opt.duration, opt.min, opt.max, opt.rate,
	    opt.cutpct, (unsigned long long)opt.seed);
	for (;;) {
		t = now();
		if (!stopping && t >= t_end) {
			stopping = true;
			t_end = t + opt.grace;
		}
		if (stopping && (nactive == 0 || t >= t_end))
			break;
		tick(slots, stopping, t);
		if (t >= t_int) {
			print_counts("I", &c_int, t - t_last_int);
			printf(" el=%.0f\n", t - t_start);
			memset(&c_int, 0, sizeof(c_int));
			t_last_int = t;
			t_int += opt.interval;
		}
		if (t >= t_min) {
			print_counts("M", &c_min, t - t_last_min);
			print_lat(&ttfb_min, &total_min);
			printf(" min=%d\n", ++minute);
			memset(&c_min, 0, sizeof(c_min));
			ttfb_min.n = total_min.n = 0;
			t_last_min = t;
			t_min += 60;
		}
		fflush(stdout);
		n = epoll_wait(ep, evs, MAXEVENTS, 10);
		if (n == -1 && errno != EINTR) {
			perror("soakclient: epoll_wait");
			exit(1);
		}
		t = now();
		for (i = 0; i < n; i++)
			slot_event(evs[i].data.ptr, evs[i].events, t);
	}
	t = now();
	for (i = 0; i < opt.nslots; i++)
		if (slots[i].st != S_THINK)
			finish(&slots[i], OUT_UNFINISHED, true, t);
	print_counts("T", &c_tot, t - t_start);
	print_lat(&ttfb_all, &total_all);
	printf(
	    " conns=%llu el=%.0f\n", (unsigned long long)nextnum, t - t_start);
	fflush(stdout);
	free(slots);
	close(ep);
	return (c_tot.n[OUT_CORRUPT] > 0 ? 1 : 0);
}

static void CG_NORETURN
usage(void)
{
	fprintf(stderr,
	    "usage: soakclient -c ADDR:PORT [-n CONNS] [-d SECONDS] [-s SEED]\n"
	    "                  [-m MINBYTES] [-M MAXBYTES] [-b BYTES_PER_S]\n"
	    "                  [-x CUT_PERCENT] [-t THINK_MS] [-B BACKOFF_MS]\n"
	    "                  [-i INTERVAL] [-T STALL_S] [-g GRACE_S]\n");
	exit(2);
}

/* ${s} as a number in [${lo}, ${hi}], or the usage message. */
static double
num(const char *s, double lo, double hi)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		usage();
	return (v);
}

int
main(int argc, char **argv)
{
	int ch;

	while ((ch = getopt(argc, argv, "c:n:d:s:m:M:b:x:t:B:i:T:g:")) != -1) {
		switch (ch) {
		case 'c':
			opt.connect = optarg;
			break;
		case 'n':
			opt.nslots = (int)num(optarg, 1, MAXSLOTS);
			break;
		case 'd':
			opt.duration = (int)num(optarg, 1, 1e7);
			break;
		case 's':
			opt.seed = (uint64_t)num(optarg, 0, 1e15);
			break;
		case 'm':
			opt.min = (size_t)num(optarg, 1, 1e12);
			break;
		case 'M':
			opt.max = (size_t)num(optarg, 1, 1e12);
			break;
		case 'b':
			opt.rate = num(optarg, 0, 1e12);
			break;
		case 'x':
			opt.cutpct = num(optarg, 0, 100);
			break;
		case 't':
			opt.think_ms = (int)num(optarg, 0, 1e7);
			break;
		case 'B':
			opt.backoff_ms = (int)num(optarg, 0, 1e7);
			break;
		case 'i':
			opt.interval = (int)num(optarg, 1, 1e7);
			break;
		case 'T':
			opt.stall = (int)num(optarg, 1, 1e7);
			break;
		case 'g':
			opt.grace = (int)num(optarg, 0, 1e7);
			break;
		default:
			usage();
		}
	}
	if (argc != optind || opt.connect == NULL || opt.max < opt.min)
		usage();
	log_init(1, 0, LOG_USER);
	log_procinit("soakclient");
	raise_nofile();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (sock_parse(opt.connect, 0, &dst, &dstlen)) {
		fprintf(stderr, "soakclient: bad address %s\n", opt.connect);
		return (1);
	}
	return (run_client());
}
