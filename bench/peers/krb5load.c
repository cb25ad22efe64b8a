/*
 * krb5load.c - closed-loop load generator for an MIT krb5kdc (libkrb5).
 *
 * T threads, each with its own krb5_context and its own client principal
 * (PREFIX<i mod N>@REALM, key copied from KEYTAB into a per-thread MEMORY
 * keytab), run for D seconds per phase:
 *   as    krb5_get_init_creds_keytab(): AS-REQ, KDC answers PREAUTH_REQUIRED,
 *         AS-REQ with PA-ENC-TIMESTAMP, AS-REP (two KDC round trips = 1 op)
 *   tgs   krb5_get_credentials() for SERVICE with a TGT fetched once per
 *         thread, into a freshly initialised MEMORY ccache (1 round trip)
 *   both  as then tgs with the new TGT (the two are reported separately)
 * For every phase it prints ops/s, p50/p99 latency, the CPU time the KDC
 * (PID and its direct children, i.e. -w workers) spent per op from
 * /proc/PID/stat utime+stime, the load generator's own CPU per op, the KDC's
 * storage writes per op (/proc/PID/io write_bytes) and the machine's idle %.
 * A line starting with "R " carries the same numbers for scripts.
 *
 * Build: cc -O2 -pthread krb5load.c $(pkg-config --cflags --libs krb5)
 * Usage: krb5load -k KEYTAB -r REALM -c PREFIX -n N -s SERVICE -p KDCPID
 *                 [-t 1,16,64] [-d 10] [-m as,tgs] [-l LABEL]
 * KRB5_CONFIG must name a krb5.conf that locates the KDC of REALM.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <krb5.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum { AS = 0, TGS = 1 };
static const char *kt_name, *realm, *prefix, *service, *label = "-";
static int nclients = 1, duration = 10;
static pid_t kdc_pid;
static pthread_barrier_t barrier;
static double deadline;

struct lat {
	double *v;
	size_t n, cap;
};
struct thr {
	pthread_t tid;
	int id, do_as, do_tgs;
	struct lat lat[2];
	long errors;
	char err[160];
};

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
lat_add(struct lat *l, double v)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4096;
		if ((l->v = realloc(l->v, l->cap * sizeof(double))) == NULL) {
			perror("realloc");
			exit(1);
		}
	}
	l->v[l->n++] = v;
}

static void
fail(struct thr *t, krb5_context ctx, krb5_error_code ret, const char *what)
{
	if (t->errors++ == 0) {
		const char *m = krb5_get_error_message(ctx, ret);
		snprintf(t->err, sizeof(t->err), "%s: %s", what, m);
		krb5_free_error_message(ctx, m);
	}
}

/* Copy PRINC's entries from the file keytab into a MEMORY keytab. */
static krb5_error_code
mem_keytab(krb5_context ctx, krb5_principal princ, int id, krb5_keytab *out)
{
	krb5_keytab src;
	krb5_kt_cursor cur;
	krb5_keytab_entry e;
	krb5_error_code ret;
	char name[64];
	int found = 0;

	snprintf(name, sizeof(name), "MEMORY:krb5load-%d", id);
	if ((ret = krb5_kt_resolve(ctx, name, out)) != 0 ||
	    (ret = krb5_kt_resolve(ctx, kt_name, &src)) != 0)
		return ret;
	if ((ret = krb5_kt_start_seq_get(ctx, src, &cur)) == 0) {
		while (krb5_kt_next_entry(ctx, src, &e, &cur) == 0) {
			if (krb5_principal_compare(ctx, e.principal, princ) &&
			    krb5_kt_add_entry(ctx, *out, &e) == 0)
				found++;
			krb5_free_keytab_entry_contents(ctx, &e);
		}
		krb5_kt_end_seq_get(ctx, src, &cur);
	}
	krb5_kt_close(ctx, src);
	return ret ? ret : found ? 0 : KRB5_KT_NOTFOUND;
}

static void *
worker(void *arg)
{
	struct thr *t = arg;
	krb5_context ctx = NULL;
	krb5_principal client = NULL, server = NULL;
	krb5_keytab kt = NULL;
	krb5_ccache cc = NULL;
	krb5_get_init_creds_opt *opt = NULL;
	krb5_creds tgt, in, *out;
	krb5_error_code ret;
	char name[256];
	int ready = 0;
	double t0;

	memset(&tgt, 0, sizeof(tgt));
	snprintf(
	    name, sizeof(name), "%s%d@%s", prefix, t->id % nclients, realm);
	if ((ret = krb5_init_context(&ctx)) != 0) {
		snprintf(t->err, sizeof(t->err), "krb5_init_context: %d", ret);
		t->errors = 1;
		goto wait;
	}
	if ((ret = krb5_parse_name(ctx, name, &client)) != 0 ||
	    (ret = krb5_parse_name(ctx, service, &server)) != 0 ||
	    (ret = mem_keytab(ctx, client, t->id, &kt)) != 0 ||
	    (ret = krb5_cc_new_unique(ctx, "MEMORY", NULL, &cc)) != 0 ||
	    (ret = krb5_get_init_creds_opt_alloc(ctx, &opt)) != 0) {
		fail(t, ctx, ret, "setup");
		goto wait;
	}
	/* The tgs phase needs one TGT up front (outside the timed window). */
	if (t->do_tgs && !t->do_as &&
	    (ret = krb5_get_init_creds_keytab(
	         ctx, &tgt, client, kt, 0, NULL, opt)) != 0) {
		fail(t, ctx, ret, "initial TGT");
		goto wait;
	}
	ready = 1;
wait:
	/* 1st wait: setup done (main samples counters); 2nd: go. */
	pthread_barrier_wait(&barrier);
	pthread_barrier_wait(&barrier);
	while (ready && now() < deadline) {
		if (t->do_as) {
			if (tgt.client != NULL)
				krb5_free_cred_contents(ctx, &tgt);
			t0 = now();
			ret = krb5_get_init_creds_keytab(
			    ctx, &tgt, client, kt, 0, NULL, opt);
			if (ret != 0) {
				memset(&tgt, 0, sizeof(tgt));
				fail(t, ctx, ret, "AS");
				continue;
			}
			lat_add(&t->lat[AS], now() - t0);
		}
		if (t->do_tgs) {
			t0 = now();
			memset(&in, 0, sizeof(in));
			in.client = client;
			in.server = server;
			if ((ret = krb5_cc_initialize(ctx, cc, client)) != 0 ||
			    (ret = krb5_cc_store_cred(ctx, cc, &tgt)) != 0 ||
			    (ret = krb5_get_credentials(
			         ctx, 0, cc, &in, &out)) != 0) {
				fail(t, ctx, ret, "TGS");
				continue;
			}
			lat_add(&t->lat[TGS], now() - t0);
			krb5_free_creds(ctx, out);
		}
	}
	if (ctx != NULL) {
		if (tgt.client != NULL)
			krb5_free_cred_contents(ctx, &tgt);
		if (opt)
			krb5_get_init_creds_opt_free(ctx, opt);
		if (cc)
			krb5_cc_destroy(ctx, cc);
		if (kt)
			krb5_kt_close(ctx, kt);
		krb5_free_principal(ctx, client);
		krb5_free_principal(ctx, server);
		krb5_free_context(ctx);
	}
	return NULL;
}

/* Sum utime+stime (s) and write_bytes of PID and its direct children. */
static void
kdc_usage(double *cpu, double *wbytes)
{
	char path[64], buf[1024], *p;
	struct dirent *de;
	DIR *d = opendir("/proc");
	long hz = sysconf(_SC_CLK_TCK);
	unsigned long long ut, st, wb;
	int pid, ppid;
	FILE *f;

	*cpu = *wbytes = 0;
	while (d && (de = readdir(d)) != NULL) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = atoi(de->d_name);
		snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
		fclose(f);
		/* after ')': state ppid pgrp session tty tpgid flags minflt
		 * cminflt majflt cmajflt utime stime */
		if (p == NULL ||
		    sscanf(p + 2,
		        "%*c %d %*d %*d %*d %*d %*u %*u "
		        "%*u %*u %*u %llu %llu",
		        &ppid, &ut, &st) != 3 ||
		    (pid != kdc_pid && ppid != kdc_pid))
			continue;
		*cpu += (double)(ut + st) / hz;
		snprintf(path, sizeof(path), "/proc/%d/io", pid);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		while (fgets(buf, sizeof(buf), f))
			if (sscanf(buf, "write_bytes: %llu", &wb) == 1)
				*wbytes += wb;
		fclose(f);
	}
	if (d)
		closedir(d);
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
	        &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) == 8)
		for (i = 0; i < 8; i++) {
			*total += v[i];
			if (i != 3 && i != 4)
				*busy += v[i];
		}
	if (f)
		fclose(f);
}

static double
self_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double
pct(const double *v, size_t n, double p)
{
	size_t i = (size_t)ceil(p * n);
	return n ? v[i ? i - 1 : 0] * 1e3 : 0;
}

static int
phase(const char *mode, int nthr)
{
	struct thr *t = calloc(nthr, sizeof(*t));
	double k0, k1, w0, w1, c0, c1, b0, b1, m0, m1, t0, el;
	int i, k, do_as = strcmp(mode, "tgs") != 0;
	int do_tgs = strcmp(mode, "as") != 0;
	long errors = 0;

	if (t == NULL)
		return -1;
	pthread_barrier_init(&barrier, NULL, nthr + 1);
	deadline = 1e300;
	for (i = 0; i < nthr; i++) {
		t[i].id = i;
		t[i].do_as = do_as;
		t[i].do_tgs = do_tgs;
		if (pthread_create(&t[i].tid, NULL, worker, &t[i]) != 0) {
			perror("pthread_create");
			exit(1);
		}
	}
	pthread_barrier_wait(&barrier);
	kdc_usage(&k0, &w0);
	machine(&b0, &m0);
	c0 = self_cpu();
	t0 = now();
	deadline = t0 + duration;
	pthread_barrier_wait(&barrier);
	for (i = 0; i < nthr; i++)
		pthread_join(t[i].tid, NULL);
	el = now() - t0;
	kdc_usage(&k1, &w1);
	machine(&b1, &m1);
	c1 = self_cpu();
	for (i = 0; i < nthr; i++) {
		errors += t[i].errors;
		if (t[i].errors)
			fprintf(stderr,
			    "krb5load: thread %d: %ld errors, first: %s\n", i,
			    t[i].errors, t[i].err);
	}
	for (k = AS; k <= TGS; k++) {
		size_t n = 0, j;
		double *all;

		if ((k == AS && !do_as) || (k == TGS && !do_tgs))
			continue;
		for (i = 0; i < nthr; i++)
			n += t[i].lat[k].n;
		if ((all = malloc((n + 1) * sizeof(double))) == NULL)
			return -1;
		for (n = 0, i = 0; i < nthr; i++)
			for (j = 0; j < t[i].lat[k].n; j++)
				all[n++] = t[i].lat[k].v[j];
		qsort(all, n, sizeof(double), cmp);
		/* In "both" mode, CPU is per (AS+TGS) pair, shown on each row. */
		printf("%-6s %-4s %3d %8zu %9.1f %8.2f %8.2f %9.1f %9.1f %8.1f "
		       "%5.1f %6ld\n",
		    label, k == AS ? "as" : "tgs", nthr, n, n / el,
		    pct(all, n, .5), pct(all, n, .99),
		    n ? (k1 - k0) * 1e6 / n : 0, n ? (c1 - c0) * 1e6 / n : 0,
		    n ? (w1 - w0) / n : 0,
		    m1 > m0 ? 100.0 * (1 - (b1 - b0) / (m1 - m0)) : 0, errors);
		fprintf(stderr,
		    "R %s %s%s %d %zu %.1f %.3f %.3f %.1f %.1f %.1f "
		    "%.1f %ld\n",
		    label, k == AS ? "as" : "tgs", do_as && do_tgs ? "+" : "",
		    nthr, n, n / el, pct(all, n, .5), pct(all, n, .99),
		    n ? (k1 - k0) * 1e6 / n : 0, n ? (c1 - c0) * 1e6 / n : 0,
		    n ? (w1 - w0) / n : 0,
		    m1 > m0 ? 100.0 * (1 - (b1 - b0) / (m1 - m0)) : 0, errors);
		free(all);
	}
	fflush(stdout);
	for (i = 0; i < nthr; i++) {
		free(t[i].lat[AS].v);
		free(t[i].lat[TGS].v);
	}
	free(t);
	pthread_barrier_destroy(&barrier);
	return errors ? 1 : 0;
}

int
main(int argc, char **argv)
{
	char threads[256] = "1,16,64", modes[64] = "as,tgs", *tp, *mp;
	char *m, *th;
	int ch, rc = 0;

	while ((ch = getopt(argc, argv, "k:r:c:n:s:p:t:d:m:l:")) != -1) {
		switch (ch) {
		case 'k':
			kt_name = optarg;
			break;
		case 'r':
			realm = optarg;
			break;
		case 'c':
			prefix = optarg;
			break;
		case 'n':
			nclients = atoi(optarg);
			break;
		case 's':
			service = optarg;
			break;
		case 'p':
			kdc_pid = atoi(optarg);
			break;
		case 't':
			snprintf(threads, sizeof(threads), "%s", optarg);
			break;
		case 'd':
			duration = atoi(optarg);
			break;
		case 'm':
			snprintf(modes, sizeof(modes), "%s", optarg);
			break;
		case 'l':
			label = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (!kt_name || !realm || !prefix || !service || kdc_pid <= 0 ||
	    nclients < 1 || duration < 1) {
	usage:
		fprintf(stderr,
		    "usage: krb5load -k KEYTAB -r REALM -c PREFIX "
		    "-n N -s SERVICE -p KDCPID [-t 1,16,64] [-d 10] "
		    "[-m as,tgs,both] [-l LABEL]\n");
		return 2;
	}
	printf("%-6s %-4s %3s %8s %9s %8s %8s %9s %9s %8s %5s %6s\n", "label",
	    "op", "T", "ops", "ops/s", "p50_ms", "p99_ms", "kdc_us/op",
	    "cli_us/op", "kdc_wB/op", "idle%", "errors");
	for (m = strtok_r(modes, ",", &mp); m; m = strtok_r(NULL, ",", &mp)) {
		char tl[256];
		if (strcmp(m, "as") && strcmp(m, "tgs") && strcmp(m, "both"))
			goto usage;
		snprintf(tl, sizeof(tl), "%s", threads);
		for (th = strtok_r(tl, ",", &tp); th;
		     th = strtok_r(NULL, ",", &tp))
			if (atoi(th) > 0 && phase(m, atoi(th)) != 0)
				rc = 1;
	}
	return rc;
}
