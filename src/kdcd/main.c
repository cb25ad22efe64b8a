/*
 * main.c: cryptgate-kdcd, the key distribution center: options, the
 * configuration, keys and database, signals, daemonizing, and the threads'
 * start and orderly stop (see kdcd.h and cryptgate-kdcd(8)).
 */
#include <sys/resource.h>
#include <sys/signalfd.h>

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cryptgate/conf.h"
#include "cryptgate/evloop.h"
#include "cryptgate/hostkey.h"
#include "cryptgate/keywrap.h"
#include "cryptgate/log.h"
#include "cryptgate/opt.h"
#include "cryptgate/replay.h"
#include "cryptgate/secret.h"
#include "cryptgate/sock.h"
#include "cryptgate/store.h"

#include "kdcd.h"

#define DEFAULT_CONF "/etc/cryptgate/kdc.conf"
#define MAX_LISTEN CONF_MAX_LIST

/* Descriptors beyond connections: listeners, database files, logs. */
#define SPARE_FDS 64

struct sigctx {
	struct evloop *el;
	struct kdcd *d;
	struct evloop_io io;
	int fd;
	bool stopping;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: cryptgate-kdcd [-dnv] [-f kdc.conf]\n"
	    "  -d          stay in the foreground, log to stderr\n"
	    "  -f          configuration file (default " DEFAULT_CONF ")\n"
	    "  -h, --help  print this help and exit\n"
	    "  -n          check the configuration, keys and database, then "
	    "exit\n"
	    "  -v          more verbose (twice: debug)\n"
	    "See cryptgate-kdcd(8).\n");
}

/* [kdc] settings into ${d}. */
static void
settings(struct kdcd *d, const struct conf_section *sec)
{
	const char *e;
	long long w;

	snprintf(d->name, sizeof(d->name), "%s", conf_get_str(sec, "name"));
	d->dbpath = conf_get_str(sec, "database");
	d->audit_log = conf_get_str(sec, "audit_log");
	d->skew_ms = conf_get_duration(sec, "clock_skew") * 1000;
	d->replay_window_ms = 2 * (d->skew_ms > 0 ? d->skew_ms : WIRE_SKEW_MS);
	d->key_lifetime = (uint32_t)conf_get_duration(sec, "key_lifetime");
	d->max_key_lifetime =
	    (uint32_t)conf_get_duration(sec, "max_key_lifetime");
	d->legacy_retrieve = conf_get_bool(sec, "legacy_retrieve_by_address");
	e = conf_get_str(sec, "enroll");
	d->enroll = strcmp(e, "token") == 0 ? KDC_ENROLL_TOKEN
	    : strcmp(e, "closed") == 0      ? KDC_ENROLL_CLOSED
	                                    : KDC_ENROLL_APPROVE;
	d->max_conns = (size_t)conf_get_int(sec, "max_connections");
	d->request_timeout_ms =
	    (uint64_t)conf_get_duration(sec, "request_timeout") * 1000;
	d->idle_timeout_ms =
	    (uint64_t)conf_get_duration(sec, "idle_timeout") * 1000;
	if ((w = conf_get_int(sec, "workers")) == 0)
		w = sysconf(_SC_NPROCESSORS_ONLN);
	d->nworkers = w < 1 ? 1 : (unsigned int)w;
}

/* Load the signing key and the master key; 0 or -1 (logged). */
static int
load_keys(struct kdcd *d, const struct conf_section *sec)
{
	struct hostpub pub;

	if ((d->hk = hostkey_load(conf_get_str(sec, "signing_key"))) == NULL)
		return (-1);
	hostkey_public(d->hk, &pub);
	memcpy(d->kdc_id, pub.host_id, WIRE_IDBYTES);
	if ((d->master = keywrap_master_load(
	         conf_get_str(sec, "master_key"))) == NULL)
		return (-1);
	return (0);
}

struct master_check {
	const struct kdcd *d;
	bool seen; /* a stored key was tried */
	bool opened; /* and the master key opened it */
	char key_id[2 * STORE_IDBYTES + 1];
};

static int
master_check_one(const struct store_key *k, void *arg)
{
	struct master_check *mc = arg;
	uint8_t key[WIRE_SESSIONKEYBYTES];
	size_t keylen;

	mc->seen = true;
	kdc_hex(mc->key_id, k->key_id, sizeof(k->key_id));
	mc->opened =
	    keywrap_unwrap(key, sizeof(key), &keylen, k->wrapped, k->wrappedlen,
	        k->key_id, sizeof(k->key_id), mc->d->master) == 0 &&
	    keylen == sizeof(key);
	secret_wipe(key, sizeof(key));
	return (1); /* one is enough */
}

/*
 * The master key must open the keys already stored: a wrong master_key
 * file would otherwise show only later, as INTERNAL answers to RETRIEVE.
 * 0 (it does, or nothing is stored yet) or -1 (logged).
 */
static int
check_master(const struct kdcd *d, struct store *st)
{
	struct master_check mc = { .d = d };

	if (store_key_foreach(st, master_check_one, &mc) == -1 && !mc.seen)
		return (-1); /* the database said why */
	if (mc.seen && !mc.opened) {
		log_warnx("%s: master_key does not open the stored session "
		          "keys (tried key %s): wrong master key file for "
		          "this database?",
		    d->confpath, mc.key_id);
		return (-1);
	}
	return (0);
}

/* Make room for max_connections descriptors. */
static void
raise_nofile(const struct kdcd *d)
{
	struct rlimit rl;
	rlim_t want =
	    (rlim_t)d->max_conns + SPARE_FDS + 4 * (rlim_t)d->nworkers;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want
	    ? want
	    : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < want)
		log_warnx("max_connections %zu exceeds the descriptor limit "
		          "(%llu): connections beyond it will be refused",
		    d->max_conns, (unsigned long long)rl.rlim_cur);
}

static int
replay_load_cb(
    const uint8_t *sender, const uint8_t *nonce, int64_t expires, void *arg)
{
	struct kdcd *d = arg;
	int64_t now = kdc_now_ms();

	switch (replay_check(d->replay, sender, nonce,
	    (uint64_t)(expires - d->replay_window_ms), (uint64_t)now)) {
	case REPLAY_FULL:
		log_warnx("replay cache full while loading persisted nonces");
		return (-1);
	default:
		return (0);
	}
}

static void
log_stats(struct kdcd *d)
{
	struct kdc_stats *s = &d->stats;
	uint64_t b = atomic_load(&s->batches), n = atomic_load(&s->batched);

	log_info("served %llu requests (REQUEST %llu, RETRIEVE %llu, ENROLL "
	         "%llu, REVOKE %llu, ROTATE %llu, errors %llu); %llu "
	         "connections (%llu refused, %llu timed out); %llu commits, "
	         "%.1f requests each on average, at most %llu",
	    (unsigned long long)atomic_load(&s->requests),
	    (unsigned long long)atomic_load(&s->by_type[WIRE_REQUEST]),
	    (unsigned long long)atomic_load(&s->by_type[WIRE_RETRIEVE]),
	    (unsigned long long)atomic_load(&s->by_type[WIRE_ENROLL]),
	    (unsigned long long)atomic_load(&s->by_type[WIRE_REVOKE]),
	    (unsigned long long)atomic_load(&s->by_type[WIRE_ROTATE]),
	    (unsigned long long)atomic_load(&s->errors),
	    (unsigned long long)atomic_load(&s->accepted),
	    (unsigned long long)atomic_load(&s->refused),
	    (unsigned long long)atomic_load(&s->timeouts),
	    (unsigned long long)b, b > 0 ? (double)n / (double)b : 0.0,
	    (unsigned long long)atomic_load(&s->batch_max));
}

static void
signal_cb(struct evloop_io *io, unsigned int revents, void *arg)
{
	struct sigctx *sc = arg;
	struct signalfd_siginfo si;

	(void)io;
	(void)revents;
	while (read(sc->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			log_info("SIGHUP: %s",
			    sc->d->audit_log != NULL
			        ? "reopening the audit log"
			        : "nothing to reopen (no audit_log)");
			writer_reopen(sc->d->wr);
			break;
		case SIGTERM:
		case SIGINT:
			if (sc->stopping)
				break;
			sc->stopping = true;
			log_info("%s: stopping (%zu requests in progress)",
			    si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT",
			    server_inflight(sc->d->srv));
			server_shutdown(sc->d->srv);
			break;
		default:
			break;
		}
	}
}

/* Bind every [kdc] listen address; 0 or -1 (logged). */
static int
listen_all(const struct conf_section *sec, int *lfds, size_t *nlfds)
{
	const struct conf_addr *a;
	size_t i, n;

	a = conf_get_addrs(sec, "listen", &n);
	*nlfds = 0;
	for (i = 0; i < n && i < MAX_LISTEN; i++) {
		if ((lfds[i] = sock_listen_conf(&a[i], 0, 0)) == -1)
			goto err0;
		*nlfds = i + 1;
	}
	if (*nlfds == 0) {
		log_warnx("no address to listen on");
		return (-1);
	}
	return (0);

err0:
	while (i-- > 0)
		close(lfds[i]);
	*nlfds = 0;
	return (-1);
}

/* Run the daemon until SIGTERM; the exit status. */
static int
run(struct kdcd *d, size_t replay_entries, int *lfds, size_t nlfds)
{
	struct sigctx sc;
	struct evloop *el = NULL;
	struct store *wst;
	sigset_t mask;
	int rc = 1;

	memset(&sc, 0, sizeof(sc));
	sc.fd = -1;
	d->start_ms = kdc_now_ms();
	if ((d->replay = replay_new(replay_entries, (uint64_t)d->skew_ms)) ==
	    NULL)
		goto out0;
	if ((wst = store_open(d->dbpath, STORE_DURABLE | STORE_NOCHECKPOINT)) ==
	    NULL)
		goto out0;
	if (store_replay_foreach(wst, d->start_ms, replay_load_cb, d)) {
		store_close(wst);
		goto out0;
	}
	if (queue_init(&d->work)) {
		store_close(wst);
		goto out0;
	}
	if ((el = evloop_new()) == NULL) {
		store_close(wst);
		goto out1;
	}
	if ((d->srv = server_new(d, el, lfds, nlfds)) == NULL) {
		store_close(wst);
		goto out2;
	}
	nlfds = 0; /* the server owns them now */

	/* Signals go to the loop through a signalfd; every thread started
	 * below inherits the mask. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if ((errno = pthread_sigmask(SIG_BLOCK, &mask, NULL)) != 0 ||
	    (sc.fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		log_warn("signalfd");
		store_close(wst);
		goto out3;
	}
	sc.el = el;
	sc.d = d;
	evloop_io_init(&sc.io, sc.fd, signal_cb, &sc);
	if (evloop_io_start(el, &sc.io, EVLOOP_IN)) {
		store_close(wst);
		goto out3;
	}
	if ((d->wr = writer_start(d, wst)) == NULL) {
		store_close(wst);
		goto out3;
	}
	if (kdc_start(d))
		goto out4;

	log_info("ready: %u workers, database %s, KDC name %s", d->nworkers,
	    d->dbpath, d->name);
	if (evloop_run(el))
		goto out5;
	if (server_inflight(d->srv) > 0) {
		/* A worker or the writer is stuck (a locked database?):
		 * leave without waiting; SQLite's journal keeps the file
		 * consistent, as after a crash. */
		log_warnx("exiting with %zu requests unanswered",
		    server_inflight(d->srv));
		log_stats(d);
		_exit(0);
	}
	rc = 0;

out5:
	kdc_stop(d);
out4:
	writer_stop(d->wr);
	d->wr = NULL;
out3:
	evloop_io_stop(el, &sc.io);
	if (sc.fd != -1)
		close(sc.fd);
	server_free(d->srv);
	d->srv = NULL;
out2:
	evloop_free(el);
out1:
	queue_fini(&d->work);
out0:
	while (nlfds-- > 0)
		close(lfds[nlfds]);
	replay_free(d->replay);
	d->replay = NULL;
	log_stats(d);
	log_info("exiting");
	return (rc);
}

int
main(int argc, char **argv)
{
	const char *path = DEFAULT_CONF;
	const struct conf_section *sec;
	struct conf *conf = NULL;
	struct store *st;
	struct kdcd d;
	int lfds[MAX_LISTEN];
	size_t nlfds = 0;
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, rc = 1, verbose = 0;
	bool foreground = false, check = false;

	log_procinit("cryptgate-kdcd");
	opterr = 0;
	while (
	    (ch = getopt_long(argc, argv, ":df:hnv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			foreground = true;
			break;
		case 'f':
			path = optarg;
			break;
		case 'h':
			usage(stdout);
			return (0);
		case 'n':
			check = true;
			break;
		case 'v':
			verbose++;
			break;
		default: /* ':' or '?' */
			return (opt_error(
			    ch, argv, longopts, NULL, "cryptgate-kdcd"));
		}
	}
	if (optind != argc)
		return (opt_extra(argv[optind], NULL, "cryptgate-kdcd"));
	log_init(1, verbose, LOG_DAEMON);
	signal(SIGPIPE, SIG_IGN);

	memset(&d, 0, sizeof(d));
	d.confpath = path;
	if ((conf = conf_load(path, conf_schema_kdc, &conf_report_stderr)) ==
	    NULL)
		goto out;
	sec = conf_section(conf, "kdc", NULL);
	settings(&d, sec);
	if (load_keys(&d, sec))
		goto out;
	/* The database must exist (cryptgate kdc init) and open. */
	if ((st = store_open(d.dbpath, STORE_READONLY)) == NULL)
		goto out;
	if (check_master(&d, st)) {
		store_close(st);
		goto out;
	}
	store_close(st);
	if (d.legacy_retrieve)
		log_warnx("legacy_retrieve_by_address is not supported: "
		          "RETRIEVE without a key id is refused");
	if (check) {
		printf("%s: configuration OK\n", path);
		rc = 0;
		goto out;
	}

	raise_nofile(&d);
	if (listen_all(sec, lfds, &nlfds))
		goto out;
	if (!foreground) {
		if (daemon(0, 0) == -1) {
			log_warn("daemon");
			goto out;
		}
		log_init(0, verbose, LOG_DAEMON);
	}
	rc = run(
	    &d, (size_t)conf_get_int(sec, "replay_cache_entries"), lfds, nlfds);
	nlfds = 0;

out:
	while (nlfds-- > 0)
		close(lfds[nlfds]);
	keywrap_master_free(d.master);
	hostkey_free(d.hk);
	conf_free(conf);
	return (rc);
}
