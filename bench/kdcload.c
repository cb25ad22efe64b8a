/*
 * kdcload.c: closed-loop load generator for cryptgate-kdcd (make bench).
 *
 * T threads, each with one persistent TCP connection to the KDC and one host
 * identity (DIR/hostI.key, made by `cryptgate keygen` and registered with
 * `cryptgate kdc host add`; host I may ask for keys to host (I+1) mod N),
 * run for D seconds per phase:
 *   request   REQUEST for (peer host I+1, SERVICE, the connection's local
 *             address), signed by host I: one KDC round trip = 1 op
 *   retrieve  RETRIEVE by host I+1 of keys host I requested before the
 *             window (K per thread, cycled), with the same client address
 *             and service: one KDC round trip = 1 op
 *   fill      REQUEST at full speed until COUNT keys were issued (setup
 *             for the memory check; no table)
 * Per response, --light (default) checks the frame length, the type, the
 * echoed nonce and req_hash; --verify does what a real client does on top:
 * strict decode, the KDC's signature (pinned kdc.pub) and opening the
 * sealed session key (HPKE).  Latency covers the whole op, client crypto
 * included, as krb5load's does.
 *
 * Per phase it prints ops/s, p50/p99 latency, the KDC's CPU per op (utime +
 * stime of KDCPID and its children from /proc/PID/stat over the window),
 * its own CPU per op,
 * the KDC's storage writes per op (/proc/PID/io write_bytes), the KDC's
 * VmRSS and VmHWM (/proc/PID/status) and the machine's idle %.  A line
 * starting with "R " on stderr carries the same numbers for scripts.
 *
 * Usage: kdcload -a ADDR:PORT -k KDC.pub -D HOSTDIR -p KDCPID [-n NHOSTS]
 *            [-t 1,16,64] [-d 10] [-m request,retrieve|fill] [-c COUNT]
 *            [-s SERVICE] [-K KEYS] [-l LABEL] [--verify|--full|--light]
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cryptgate/hostkey.h"
#include "cryptgate/hostpub.h"
#include "cryptgate/log.h"
#include "cryptgate/rand.h"
#include "cryptgate/secret.h"
#include "cryptgate/sign.h"
#include "cryptgate/wire.h"

#define MAXHOSTS 1024
#define MAXTHREADS 1024
#define IO_TIMEOUT_S 10

enum op { OP_REQUEST, OP_RETRIEVE, OP_FILL };

static const char *op_names[] = { "request", "retrieve", "fill" };

/* Options and shared read-only state. */
static struct {
	const char *addr;
	const char *kdcpub;
	const char *hostdir;
	const char *service;
	const char *label;
	pid_t kdc_pid;
	int nhosts;
	int duration;
	int nkeys;
	long count;
	bool verify;
} opt = { .service = "bench",
	.nhosts = 64,
	.duration = 10,
	.nkeys = 16,
	.count = 100000 };

static struct sockaddr_storage kdc_ss;
static socklen_t kdc_sslen;
static struct sign_pub *kdc_pub; /* imported once, as kdcclient does */
static struct hostkey *hosts[MAXHOSTS];
static struct hostpub pubs[MAXHOSTS];

/* Per phase. */
static pthread_barrier_t barrier;
static _Atomic double deadline;
static atomic_long claimed; /* fill: keys being or been asked for */
static atomic_long filled; /* fill: keys issued */

struct lat {
	double *v;
	size_t n;
	size_t cap;
};

struct thr {
	pthread_t tid;
	int id;
	enum op op;
	int fd;
	bool ready;
	struct wire_addr local; /* client_addr: our end of the connection */
	uint8_t (*keys)[WIRE_KEYIDBYTES];
	int nkeys;
	struct lat lat;
	long errors;
	long codes[WIRE_ERR_MAX + 1];
	char err[160];
	uint8_t req[WIRE_FRAMEBYTES_MAX];
	uint8_t resp[WIRE_FRAMEBYTES_MAX];
};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static void
lat_add(struct lat *l, double v)
{
	double *nv;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4096;
		if ((nv = realloc(l->v, l->cap * sizeof(*nv))) == NULL) {
			perror("realloc");
			exit(1);
		}
		l->v = nv;
	}
	l->v[l->n++] = v;
}

/* Count an error; keep the first message. */
static void CG_PRINTF(2, 3) fail(struct thr *t, const char *fmt, ...)
{
	va_list ap;

	if (t->errors++ == 0) {
		va_start(ap, fmt);
		vsnprintf(t->err, sizeof(t->err), fmt, ap);
		va_end(ap);
	}
}

static void
disconnect(struct thr *t)
{
	if (t->fd != -1)
		close(t->fd);
	t->fd = -1;
}

static int
reconnect(struct thr *t)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct timeval tv = { .tv_sec = IO_TIMEOUT_S };
	int one = 1;

	disconnect(t);
	if ((t->fd = socket(kdc_ss.ss_family, SOCK_STREAM, 0)) == -1)
		goto err;
	if (setsockopt(t->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    setsockopt(t->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		goto err;
	if (connect(t->fd, (struct sockaddr *)&kdc_ss, kdc_sslen) == -1)
		goto err;
	if (getsockname(t->fd, (struct sockaddr *)&ss, &sslen) == -1 ||
	    wire_addr_from_sockaddr(&t->local, (struct sockaddr *)&ss, sslen))
		goto err;

	/* Success! */
	return (0);

err:
	fail(t, "connect: %s", strerror(errno));
	disconnect(t);
	return (-1);
}

/* Send ${len} bytes of t->req, read one frame into t->resp. */
static ssize_t
roundtrip(struct thr *t, size_t len)
{
	size_t off = 0, want = WIRE_LENBYTES;
	ssize_t n, total;

	while (off < len) {
		n = send(t->fd, t->req + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			goto err;
		off += (size_t)n;
	}
	off = 0;
	while (off < want) {
		n = recv(t->fd, t->resp + off, sizeof(t->resp) - off, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			goto err;
		off += (size_t)n;
		if (want == WIRE_LENBYTES && off >= WIRE_LENBYTES) {
			if ((total = wire_frame_peek_len(t->resp)) == -1) {
				fail(t, "%s", "bad response length");
				return (-1);
			}
			want = (size_t)total;
		}
	}
	if (off != want) {
		fail(t, "%s", "bytes after the response");
		return (-1);
	}

	/* Success! */
	return ((ssize_t)want);

err:
	fail(t, "I/O: %s", n == 0 ? "connection closed" : strerror(errno));
	return (-1);
}

/* Encode ${m} into t->req and sign it with ${hk}; return its length. */
static ssize_t
build(struct thr *t, struct wire_msg *m, const struct hostkey *hk,
    const struct hostpub *pub)
{
	const uint8_t *signed_part;
	size_t len, slen;

	m->hdr.version = WIRE_VERSION;
	m->hdr.suite = hostkey_type(hk) == HOSTKEY_RSA ? WIRE_SUITE_RSA
	                                               : WIRE_SUITE_X25519;
	m->hdr.signer_kvno = WIRE_KVNO_FIRST;
	memcpy(m->hdr.sender_id, pub->host_id, WIRE_IDBYTES);
	m->hdr.timestamp = now_ms();
	if (rand_bytes(m->hdr.nonce, WIRE_NONCEBYTES) ||
	    wire_msg_encode(t->req, sizeof(t->req), &len, m) ||
	    wire_frame_signed(t->req, len, &signed_part, &slen) ||
	    hostkey_sign(hk, t->req + len - WIRE_SIGBYTES, WIRE_CTX_REQUEST,
	        signed_part, slen)) {
		fail(t, "%s", "cannot build the request");
		return (-1);
	}
	return ((ssize_t)len);
}

/*
 * Check the ${rlen}-byte response in t->resp to the ${qlen}-byte request
 * in t->req (type ${type}).  With opt.verify, decode it into ${rm}, verify
 * the KDC's signature and open the sealed key with ${hk} (recipient ${pub},
 * role ${role}).  Light mode fills ${rm}->u.request_resp.key_id only.
 * Return 0, -2 for an ERROR response (the stream is still in sync), or -1.
 */
static int
check(struct thr *t, size_t qlen, size_t rlen, unsigned int type,
    struct wire_msg *rm, const struct hostkey *hk, const struct hostpub *pub,
    unsigned int role)
{
	uint8_t hash[WIRE_HASHBYTES], info[WIRE_SEAL_INFOBYTES];
	uint8_t key[WIRE_SESSIONKEYBYTES];
	const uint8_t *hdr = t->resp + WIRE_LENBYTES;
	const uint8_t *body = hdr + WIRE_HDRBYTES;
	const uint8_t *key_id;
	size_t aadlen, bloboff, klen, sealedlen;
	unsigned int code;

	if (rlen < WIRE_LENBYTES + WIRE_FRAME_MIN + WIRE_HASHBYTES ||
	    wire_frame_hash(hash, t->req, qlen))
		goto bad;
	if (hdr[WIRE_HDR_TYPE] == WIRE_ERROR &&
	    rlen >= WIRE_LENBYTES + WIRE_FRAME_MIN + WIRE_ERROR_BYTES) {
		code = (unsigned int)body[WIRE_HASHBYTES] << 8 |
		    body[WIRE_HASHBYTES + 1];
		t->codes[code <= WIRE_ERR_MAX ? code : 0]++;
		fail(t, "ERROR %s", wire_err_name(code));
		return (-2);
	}
	if (hdr[WIRE_HDR_TYPE] != type ||
	    memcmp(hdr + WIRE_HDR_NONCE,
	        t->req + WIRE_LENBYTES + WIRE_HDR_NONCE,
	        WIRE_NONCEBYTES) != 0 ||
	    memcmp(body, hash, WIRE_HASHBYTES) != 0)
		goto bad;
	if (!opt.verify) {
		/* Both response bodies have key_id right after req_hash. */
		memcpy(rm->u.request_resp.key_id, body + WIRE_HASHBYTES,
		    WIRE_KEYIDBYTES);
		return (0);
	}

	if (wire_msg_decode(rm, t->resp, rlen, NULL) ||
	    rm->hdr.signer_kvno != 1 ||
	    wire_frame_verify_pub(t->resp, rlen, kdc_pub)) {
		fail(t, "%s", "bad KDC signature or response");
		return (-1);
	}
	key_id = type == WIRE_REQUEST_RESP ? rm->u.request_resp.key_id
	                                   : rm->u.retrieve_resp.key_id;
	sealedlen = wire_sealed_bytes(rm->hdr.suite);
	if (wire_frame_sealed(t->resp, rlen, &aadlen, &bloboff) ||
	    wire_seal_info(info, role, key_id, pub->host_id) ||
	    hostkey_open(hk, key, sizeof(key), &klen, t->resp + bloboff,
	        sealedlen, info, sizeof(info), hdr, aadlen) ||
	    klen != sizeof(key)) {
		fail(t, "%s", "cannot open the sealed key");
		return (-1);
	}
	secret_wipe(key, sizeof(key));

	/* Success! */
	return (0);

bad:
	fail(t, "unexpected response (%s)", wire_type_name(hdr[WIRE_HDR_TYPE]));
	return (-1);
}

/* One REQUEST by host t->id for its peer; the new key id to ${key_id}. */
static int
do_request(struct thr *t, uint8_t key_id[static WIRE_KEYIDBYTES])
{
	int me = t->id % opt.nhosts, peer = (me + 1) % opt.nhosts, rc;
	struct wire_msg m, rm;
	ssize_t qlen, rlen;

	memset(&m, 0, sizeof(m));
	m.hdr.type = WIRE_REQUEST;
	memcpy(m.u.request.peer_id, pubs[peer].host_id, WIRE_IDBYTES);
	snprintf(m.u.request.service, sizeof(m.u.request.service), "%s",
	    opt.service);
	m.u.request.client_addr = t->local;
	m.u.request.lifetime = 0;
	if ((qlen = build(t, &m, hosts[me], &pubs[me])) == -1 ||
	    (rlen = roundtrip(t, (size_t)qlen)) == -1)
		return (-1);
	if ((rc = check(t, (size_t)qlen, (size_t)rlen, WIRE_REQUEST_RESP, &rm,
	         hosts[me], &pubs[me], WIRE_ROLE_CLIENT)) != 0)
		return (rc);
	memcpy(key_id, rm.u.request_resp.key_id, WIRE_KEYIDBYTES);
	return (0);
}

/* One RETRIEVE of ${key_id} by the peer host of t->id. */
static int
do_retrieve(struct thr *t, const uint8_t key_id[static WIRE_KEYIDBYTES])
{
	int peer = (t->id % opt.nhosts + 1) % opt.nhosts;
	struct wire_msg m, rm;
	ssize_t qlen, rlen;

	memset(&m, 0, sizeof(m));
	m.hdr.type = WIRE_RETRIEVE;
	memcpy(m.u.retrieve.key_id, key_id, WIRE_KEYIDBYTES);
	m.u.retrieve.client_addr = t->local;
	snprintf(m.u.retrieve.service, sizeof(m.u.retrieve.service), "%s",
	    opt.service);
	if ((qlen = build(t, &m, hosts[peer], &pubs[peer])) == -1 ||
	    (rlen = roundtrip(t, (size_t)qlen)) == -1)
		return (-1);
	return (check(t, (size_t)qlen, (size_t)rlen, WIRE_RETRIEVE_RESP, &rm,
	    hosts[peer], &pubs[peer], WIRE_ROLE_PEER));
}

/* Run one op on a live connection; reconnect after a failure. */
static int
one_op(struct thr *t, long i)
{
	uint8_t key_id[WIRE_KEYIDBYTES];
	int rc;

	if (t->fd == -1 && reconnect(t)) {
		usleep(10000);
		return (-1);
	}
	if (t->op == OP_RETRIEVE)
		rc = do_retrieve(t, t->keys[i % t->nkeys]);
	else
		rc = do_request(t, key_id);
	/* An ERROR leaves the stream in sync; anything else does not. */
	if (rc == -1)
		disconnect(t);
	return (rc);
}

static void *
worker(void *arg)
{
	struct thr *t = arg;
	double t0;
	long i;
	int k;

	t->fd = -1;
	if (reconnect(t))
		goto wait;
	if (t->op == OP_RETRIEVE) {
		/* The keys to retrieve, requested outside the window. */
		t->nkeys = opt.nkeys;
		if ((t->keys = calloc((size_t)t->nkeys, sizeof(*t->keys))) ==
		    NULL)
			goto wait;
		for (k = 0; k < t->nkeys; k++) {
			if (do_request(t, t->keys[k]))
				goto wait;
		}
	}
	t->ready = true;
wait:
	/* 1st wait: setup done (main samples counters); 2nd: go. */
	pthread_barrier_wait(&barrier);
	pthread_barrier_wait(&barrier);
	for (i = 0; t->ready; i++) {
		if (t->op == OP_FILL) {
			/* Claim one of the opt.count keys; give it back on
			 * failure. */
			if (atomic_fetch_add(&claimed, 1) >= opt.count)
				break;
		} else if (now() >= atomic_load(&deadline))
			break;
		t0 = now();
		if (one_op(t, i) == 0) {
			if (t->op == OP_FILL)
				atomic_fetch_add(&filled, 1);
			else
				lat_add(&t->lat, now() - t0);
		} else if (t->op == OP_FILL)
			atomic_fetch_sub(&claimed, 1);
	}
	disconnect(t);
	return (NULL);
}

/* KDC counters: CPU seconds, write_bytes, VmRSS and VmHWM (KiB). */
struct kdcstat {
	double cpu;
	double wbytes;
	long rss_kb;
	long hwm_kb;
};

/* Add what /proc says of process ${pid} to ${s}. */
static void
kdc_sample_one(int pid, struct kdcstat *s)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st, wb;
	long hz = sysconf(_SC_CLK_TCK), kb;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((f = fopen(path, "r")) != NULL) {
		/* After ')': state ppid pgrp session tty tpgid flags minflt
		 * cminflt majflt cmajflt utime stime. */
		p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		if (p != NULL &&
		    sscanf(p + 2,
		        "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		        &ut, &st) == 2)
			s->cpu += (double)(ut + st) / (double)hz;
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/io", pid);
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(buf, sizeof(buf), f)) {
			if (sscanf(buf, "write_bytes: %llu", &wb) == 1)
				s->wbytes += (double)wb;
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if ((f = fopen(path, "r")) != NULL) {
		while (fgets(buf, sizeof(buf), f)) {
			if (sscanf(buf, "VmRSS: %ld", &kb) == 1)
				s->rss_kb += kb;
			if (sscanf(buf, "VmHWM: %ld", &kb) == 1)
				s->hwm_kb += kb;
		}
		fclose(f);
	}
}

/* The KDC: the process given and its children (cryptgate-kdcd is a
 * monitor, a keystore and a network process), summed. */
static void
kdc_sample(struct kdcstat *s)
{
	char path[64];
	FILE *f;
	int child;

	memset(s, 0, sizeof(*s));
	kdc_sample_one((int)opt.kdc_pid, s);
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children",
	    (int)opt.kdc_pid, (int)opt.kdc_pid);
	if ((f = fopen(path, "r")) != NULL) {
		while (fscanf(f, "%d", &child) == 1)
			kdc_sample_one(child, s);
		fclose(f);
	}
}

/* Busy and total jiffies of the whole machine. */
static void
machine(double *busy, double *total)
{
	unsigned long long v[8] = { 0 };
	FILE *f = fopen("/proc/stat", "r");
	int i;

	*busy = *total = 0;
	if (f &&
	    fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	        &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8) {
		for (i = 0; i < 8; i++) {
			*total += (double)v[i];
			if (i != 3 && i != 4)
				*busy += (double)v[i];
		}
	}
	if (f)
		fclose(f);
}

static double
self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

/* The ${p} quantile of the ${n} sorted values ${v}, in milliseconds. */
static double
pct(const double *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)n);

	if ((double)i < p * (double)n)
		i++; /* ceil */
	return (n ? v[i ? i - 1 : 0] * 1e3 : 0);
}

static int
phase(enum op op, int nthr)
{
	struct thr *t;
	struct kdcstat k0, k1;
	double c0, c1, b0, b1, m0, m1, t0, el, idle, *all = NULL;
	size_t n = 0, j;
	long errors = 0, codes[WIRE_ERR_MAX + 1] = { 0 };
	int i, c, rc = -1;

	if ((t = calloc((size_t)nthr, sizeof(*t))) == NULL)
		return (-1);
	pthread_barrier_init(&barrier, NULL, (unsigned int)nthr + 1);
	atomic_store(&deadline, 1e300);
	atomic_store(&claimed, 0);
	atomic_store(&filled, 0);
	for (i = 0; i < nthr; i++) {
		t[i].id = i;
		t[i].op = op;
		if (pthread_create(&t[i].tid, NULL, worker, &t[i]) != 0) {
			perror("pthread_create");
			exit(1);
		}
	}
	pthread_barrier_wait(&barrier);
	kdc_sample(&k0);
	machine(&b0, &m0);
	c0 = self_cpu();
	t0 = now();
	atomic_store(&deadline, t0 + opt.duration);
	pthread_barrier_wait(&barrier);
	for (i = 0; i < nthr; i++)
		pthread_join(t[i].tid, NULL);
	el = now() - t0;
	kdc_sample(&k1);
	machine(&b1, &m1);
	c1 = self_cpu();

	for (i = 0; i < nthr; i++) {
		errors += t[i].errors ? t[i].errors : !t[i].ready;
		for (c = 0; c <= WIRE_ERR_MAX; c++)
			codes[c] += t[i].codes[c];
		if (t[i].errors)
			fprintf(stderr,
			    "kdcload: thread %d: %ld errors, "
			    "first: %s\n",
			    i, t[i].errors, t[i].err);
		n += t[i].lat.n;
	}
	for (c = 1; c <= WIRE_ERR_MAX; c++) {
		if (codes[c])
			fprintf(stderr, "kdcload: %s %d: %ld x ERROR %s\n",
			    op_names[op], nthr, codes[c], wire_err_name(c));
	}
	idle = m1 > m0 ? 100.0 * (1 - (b1 - b0) / (m1 - m0)) : 0;
	if (op == OP_FILL) {
		n = (size_t)atomic_load(&filled);
		printf("fill: %zu keys issued in %.1f s (%.0f/s) by %d "
		       "clients, %ld errors; KDC VmRSS %.1f MiB, VmHWM %.1f "
		       "MiB\n",
		    n, el, (double)n / el, nthr, errors, k1.rss_kb / 1024.0,
		    k1.hwm_kb / 1024.0);
		fprintf(stderr, "F %s %d %zu %.1f %ld %ld %ld\n", opt.label,
		    nthr, n, el, k1.rss_kb, k1.hwm_kb, errors);
		rc = errors ? 1 : 0;
		goto out;
	}

	if ((all = malloc((n + 1) * sizeof(*all))) == NULL)
		goto out;
	for (n = 0, i = 0; i < nthr; i++) {
		for (j = 0; j < t[i].lat.n; j++)
			all[n++] = t[i].lat.v[j];
	}
	qsort(all, n, sizeof(*all), cmp);
	printf("%-6s %-8s %3d %8zu %9.1f %8.2f %8.2f %9.1f %9.1f %9.0f %7.1f "
	       "%7.1f %5.1f %6ld\n",
	    opt.label, op_names[op], nthr, n, (double)n / el, pct(all, n, .5),
	    pct(all, n, .99), n ? (k1.cpu - k0.cpu) * 1e6 / (double)n : 0,
	    n ? (c1 - c0) * 1e6 / (double)n : 0,
	    n ? (k1.wbytes - k0.wbytes) / (double)n : 0, k1.rss_kb / 1024.0,
	    k1.hwm_kb / 1024.0, idle, errors);
	fprintf(stderr,
	    "R %s %s %d %zu %.1f %.3f %.3f %.1f %.1f %.0f %ld %ld %.1f %ld\n",
	    opt.label, op_names[op], nthr, n, (double)n / el, pct(all, n, .5),
	    pct(all, n, .99), n ? (k1.cpu - k0.cpu) * 1e6 / (double)n : 0,
	    n ? (c1 - c0) * 1e6 / (double)n : 0,
	    n ? (k1.wbytes - k0.wbytes) / (double)n : 0, k1.rss_kb, k1.hwm_kb,
	    idle, errors);
	fflush(stdout);
	rc = errors ? 1 : 0;

out:
	for (i = 0; i < nthr; i++) {
		free(t[i].lat.v);
		free(t[i].keys);
	}
	free(all);
	free(t);
	pthread_barrier_destroy(&barrier);
	return (rc);
}

/* Resolve "IP:PORT" or "[IP6]:PORT" into kdc_ss. */
static int
parse_addr(const char *s)
{
	struct addrinfo hints, *ai = NULL;
	char host[256];
	const char *port;
	size_t hlen;

	if (s[0] == '[') {
		if ((port = strstr(s, "]:")) == NULL)
			return (-1);
		hlen = (size_t)(port - s - 1);
		s++;
		port += 2;
	} else {
		if ((port = strrchr(s, ':')) == NULL)
			return (-1);
		hlen = (size_t)(port - s);
		port++;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return (-1);
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return (-1);
	memcpy(&kdc_ss, ai->ai_addr, ai->ai_addrlen);
	kdc_sslen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return (0);
}

static int
load_identities(void)
{
	struct hostpub kdc;
	char path[4096];
	int i;

	if (hostpub_load(&kdc, opt.kdcpub))
		return (-1);
	if ((kdc_pub = sign_pub_new(kdc.sign_pk)) == NULL)
		return (-1);
	for (i = 0; i < opt.nhosts; i++) {
		snprintf(path, sizeof(path), "%s/host%d.key", opt.hostdir, i);
		if ((hosts[i] = hostkey_load(path)) == NULL)
			return (-1);
		hostkey_public(hosts[i], &pubs[i]);
	}
	return (0);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: kdcload -a ADDR:PORT -k KDC.pub -D HOSTDIR -p KDCPID "
	    "[-n NHOSTS]\n"
	    "               [-t 1,16,64] [-d SECONDS] [-m request,retrieve|"
	    "fill]\n"
	    "               [-c COUNT] [-s SERVICE] [-K KEYS] [-l LABEL] "
	    "[--verify|--full|--light]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "verify", no_argument, NULL, 'V' },
		{ "full", no_argument, NULL, 'V' }, /* = --verify */
		{ "light", no_argument, NULL, 'L' },
		{ NULL, 0, NULL, 0 },
	};
	char threads[256] = "1,16,64", modes[64] = "request,retrieve";
	char tl[256], *m, *th, *mp, *tp;
	enum op op;
	int ch, rc = 0;

	while ((ch = getopt_long(argc, argv,
	            "a:k:D:p:n:t:d:m:c:s:K:l:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			opt.addr = optarg;
			break;
		case 'k':
			opt.kdcpub = optarg;
			break;
		case 'D':
			opt.hostdir = optarg;
			break;
		case 'p':
			opt.kdc_pid = (pid_t)atoi(optarg);
			break;
		case 'n':
			opt.nhosts = atoi(optarg);
			break;
		case 't':
			snprintf(threads, sizeof(threads), "%s", optarg);
			break;
		case 'd':
			opt.duration = atoi(optarg);
			break;
		case 'm':
			snprintf(modes, sizeof(modes), "%s", optarg);
			break;
		case 'c':
			opt.count = atol(optarg);
			break;
		case 's':
			opt.service = optarg;
			break;
		case 'K':
			opt.nkeys = atoi(optarg);
			break;
		case 'l':
			opt.label = optarg;
			break;
		case 'V':
			opt.verify = true;
			break;
		case 'L':
			opt.verify = false;
			break;
		default:
			usage();
		}
	}
	if (opt.addr == NULL || opt.kdcpub == NULL || opt.hostdir == NULL ||
	    opt.kdc_pid <= 0 || opt.nhosts < 2 || opt.nhosts > MAXHOSTS ||
	    opt.duration < 1 || opt.nkeys < 1 || opt.count < 1 ||
	    !wire_name_is_valid(opt.service, WIRE_SERVICE_MAX))
		usage();
	if (opt.label == NULL)
		opt.label = opt.verify ? "full" : "light";
	log_init(1, 0, LOG_USER);
	log_procinit("kdcload");
	if (parse_addr(opt.addr)) {
		fprintf(stderr, "kdcload: bad address %s\n", opt.addr);
		return (1);
	}
	if (load_identities())
		return (1);

	printf("%-6s %-8s %3s %8s %9s %8s %8s %9s %9s %9s %7s %7s %5s %6s\n",
	    "label", "op", "T", "ops", "ops/s", "p50_ms", "p99_ms", "kdc_us/op",
	    "gen_us/op", "kdc_wB/op", "rssMiB", "hwmMiB", "idle%", "errors");
	for (m = strtok_r(modes, ",", &mp); m; m = strtok_r(NULL, ",", &mp)) {
		if (strcmp(m, "request") == 0)
			op = OP_REQUEST;
		else if (strcmp(m, "retrieve") == 0)
			op = OP_RETRIEVE;
		else if (strcmp(m, "fill") == 0)
			op = OP_FILL;
		else
			usage();
		snprintf(tl, sizeof(tl), "%s", threads);
		for (th = strtok_r(tl, ",", &tp); th;
		     th = strtok_r(NULL, ",", &tp)) {
			if (atoi(th) < 1 || atoi(th) > MAXTHREADS)
				usage();
			if (phase(op, atoi(th)) != 0)
				rc = 1;
		}
	}
	for (ch = 0; ch < opt.nhosts; ch++)
		hostkey_free(hosts[ch]);
	return (rc);
}
