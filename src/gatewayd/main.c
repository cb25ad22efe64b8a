/*
 * main.c: cryptgate-gatewayd, the encryption gateway: options, the
 * configuration, listening sockets, signals, daemonizing, the worker
 * threads, reloads, the status socket (see gatewayd.h and
 * cryptgate-gatewayd(8)).
 *
 * The main thread runs its own small event loop: a signalfd (SIGHUP
 * reloads, SIGTERM/SIGINT stop), the status socket (each connection gets
 * the counters as text, then is closed) and a housekeeping timer.
 */
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cryptgate/opt.h"

#include "gatewayd.h"

#define DEFAULT_CONF "/etc/cryptgate/gateway.conf"
#define SPARE_FDS 64
#define SWEEP_MS 10000
#define STATUS_MAX ((size_t)256 * 1024)

/* What a worker's listening sockets are, as the main thread sees them. */
struct lrec {
	int fd;
	struct sockaddr_storage ss;
	socklen_t sslen;
};

static struct {
	const char *path;
	struct evloop *el;
	struct gwconf *cf;
	struct worker workers[GW_WORKERS_MAX];
	unsigned int nworkers;
	unsigned int nstarted; /* threads running (or ended) */
	struct lrec *cur[GW_WORKERS_MAX]; /* posted to each worker */
	size_t ncur[GW_WORKERS_MAX];
	atomic_uint done;
	bool stopping;
	int sigfd;
	struct evloop_io sigio;
	struct sock_unix stat; /* the status socket */
	struct evloop_io statio;
	struct evloop_timer sweep;
	uint64_t caps; /* what the privilege drop kept */
} G = { .sigfd = -1, .stat = { .fd = -1 } };

struct worker *
gw_worker(unsigned int id)
{
	return (&G.workers[id]);
}

unsigned int
gw_nworkers(void)
{
	return (G.nworkers);
}

void
gw_worker_done(struct worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->exited = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	atomic_fetch_add(&G.done, 1);
	evloop_wakeup(G.el);
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: cryptgate-gatewayd [-dnv] [-f gateway.conf]\n"
	    "  -d          stay in the foreground, log to stderr\n"
	    "  -f          configuration file (default " DEFAULT_CONF ")\n"
	    "  -h, --help  print this help and exit\n"
	    "  -n          check the configuration and keys, then exit\n"
	    "  -v          more verbose (twice: debug)\n"
	    "See cryptgate-gatewayd(8).\n");
}

/* Make room for two descriptors per connection. */
static void
raise_nofile(const struct gwconf *cf)
{
	struct rlimit rl;
	rlim_t want =
	    2 * (rlim_t)cf->max_conns + SPARE_FDS + 8 * (rlim_t)cf->workers;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= want)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want
	    ? want
	    : rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur < want)
		log_warnx("max_connections %zu needs %llu descriptors, the "
		          "limit is %llu: connections beyond it will fail",
		    cf->max_conns, (unsigned long long)want,
		    (unsigned long long)rl.rlim_cur);
}

/*
 * At start: every listen address must be free.  SO_REUSEPORT would
 * otherwise let a second gateway share the ports of a running one.
 */
static int
probe_free(const struct gwconf *cf)
{
	const struct conf_addr *a;
	size_t i, j;
	int fd, one = 1, rc = 0;

	for (i = 0; i < cf->nsvcs; i++) {
		for (j = 0; j < cf->svcs[i].nlisten; j++) {
			a = &cf->svcs[i].listen[j];
			if ((fd = socket(a->ss.ss_family,
			         SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
				continue;
			(void)setsockopt(
			    fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (a->ss.ss_family == AF_INET6)
				(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
				    &one, sizeof(one));
			if (bind(fd, (const struct sockaddr *)&a->ss,
			        a->sslen) == -1 &&
			    errno == EADDRINUSE) {
				log_warnx("[service %s] listen address %s:%u "
				          "is in use (another gateway?)",
				    cf->svcs[i].name, a->host, a->port);
				rc = -1;
			}
			close(fd);
		}
	}
	return (rc);
}

/*
 * Worker ${w}'s listener set for ${cf}, reusing the sockets of ${old}
 * (${nold}) whose address stays.  Return 0 (${ls}, ${recs}) or -1
 * (logged; nothing left open).
 */
static int
build_lset(const struct gwconf *cf, const struct lrec *old, size_t nold,
    struct lset *ls, struct lrec **recs, size_t *nrecs)
{
	const struct conf_addr *a;
	struct service *svc;
	size_t i, j, k, n = 0;

	for (i = 0; i < cf->nsvcs; i++)
		n += cf->svcs[i].nlisten;
	ls->n = 0;
	*recs = NULL;
	if (n == 0) {
		log_warnx("no listen address");
		return (-1);
	}
	if ((ls->v = calloc(n, sizeof(*ls->v))) == NULL ||
	    (*recs = calloc(n, sizeof(**recs))) == NULL) {
		free(ls->v);
		ls->v = NULL;
		log_warnx("out of memory");
		return (-1);
	}
	for (i = 0; i < cf->nsvcs; i++) {
		svc = &cf->svcs[i];
		for (j = 0; j < svc->nlisten; j++) {
			a = &svc->listen[j];
			ls->v[ls->n].svc = svc;
			ls->v[ls->n].fd = -1;
			memcpy(&ls->v[ls->n].ss, &a->ss, a->sslen);
			ls->v[ls->n].sslen = a->sslen;
			for (k = 0; k < nold; k++) {
				if (old[k].sslen == a->sslen &&
				    memcmp(&old[k].ss, &a->ss, a->sslen) == 0)
					ls->v[ls->n].fd = old[k].fd;
			}
			if (ls->v[ls->n].fd == -1 &&
			    (ls->v[ls->n].fd =
			            sock_listen((const struct sockaddr *)&a->ss,
			                a->sslen, 0, SOCK_REUSEPORT)) == -1)
				goto err;
			(*recs)[ls->n].fd = ls->v[ls->n].fd;
			(*recs)[ls->n].ss = ls->v[ls->n].ss;
			(*recs)[ls->n].sslen = a->sslen;
			ls->n++;
		}
	}
	*nrecs = ls->n;
	return (0);

err:
	/* Close only the sockets made here. */
	for (i = 0; i < ls->n; i++) {
		for (k = 0; k < nold && old[k].fd != ls->v[i].fd; k++)
			;
		if (k == nold)
			close(ls->v[i].fd);
	}
	free(ls->v);
	ls->v = NULL;
	ls->n = 0;
	free(*recs);
	*recs = NULL;
	return (-1);
}

/*
 * Undo build_all for workers [0, ${n}): close the listeners it opened (not
 * the running ones it reused) and free the sets.
 */
static void
unbuild(struct lset *ls, struct lrec **recs, unsigned int n)
{
	unsigned int w;
	size_t i, k;

	for (w = 0; w < n; w++) {
		for (i = 0; i < ls[w].n; i++) {
			for (k = 0;
			     k < G.ncur[w] && G.cur[w][k].fd != ls[w].v[i].fd;
			     k++)
				;
			if (k == G.ncur[w])
				close(ls[w].v[i].fd);
		}
		loop_lset_free(&ls[w], false);
		free(recs[w]);
		recs[w] = NULL;
	}
}

/* Listener sets for every worker; on failure everything new is closed. */
static int
build_all(
    const struct gwconf *cf, struct lset *ls, struct lrec **recs, size_t *nrecs)
{
	unsigned int w;

	for (w = 0; w < G.nworkers; w++) {
		if (build_lset(cf, G.cur[w], G.ncur[w], &ls[w], &recs[w],
		        &nrecs[w]) == 0)
			continue;
		unbuild(ls, recs, w);
		return (-1);
	}
	return (0);
}

static void
reload(void)
{
	struct lset ls[GW_WORKERS_MAX];
	struct lrec *recs[GW_WORKERS_MAX];
	size_t nrecs[GW_WORKERS_MAX];
	struct gwconf *cf;
	unsigned int w;

	log_info("SIGHUP: reloading %s", G.path);
	if ((cf = gwconf_load(G.path)) == NULL) {
		log_warnx("reload failed: keeping the running configuration");
		return;
	}
	if (cf->workers != G.nworkers)
		log_warnx("workers: changing the number of workers needs a "
		          "restart (keeping %u)",
		    G.nworkers);
	if (strcmp(cf->status_path, G.cf->status_path) != 0)
		log_warnx("status_socket: a new path needs a restart (keeping "
		          "%s)",
		    G.cf->status_path);
	if ((cf->user == NULL) != (G.cf->user == NULL) ||
	    (cf->user != NULL && strcmp(cf->user, G.cf->user) != 0))
		log_warnx("user: a change needs a restart");
	if ((gwconf_caps(cf) & ~G.caps) != 0) {
		log_warnx("reload failed: the new configuration needs "
		          "privileges given up at start (a first transparent "
		          "service, a listen port below 1024): restart the "
		          "gateway; keeping the running configuration");
		gwconf_unref(cf);
		return;
	}
	memset(ls, 0, sizeof(ls));
	if (build_all(cf, ls, recs, nrecs)) {
		log_warnx("reload failed: keeping the running configuration");
		gwconf_unref(cf);
		return;
	}
	/*
	 * Without its rules a new transparent destination would go out in
	 * clear: then the running configuration stays (what the failed
	 * install left is guard entries and redirects to closed ports:
	 * resets, never clear text).
	 */
	if ((transparent_needed(cf) || transparent_needed(G.cf)) &&
	    transparent_install(cf)) {
		log_warnx("reload failed: transparent rules not installed: "
		          "keeping the running configuration");
		unbuild(ls, recs, G.nworkers);
		if (transparent_needed(G.cf) && transparent_install(G.cf))
			log_warnx("reload: the previous rules could not be "
			          "restored either");
		gwconf_unref(cf);
		return;
	}
	for (w = 0; w < G.nworkers; w++) {
		loop_post(&G.workers[w], cf, &ls[w]);
		free(G.cur[w]);
		G.cur[w] = recs[w];
		G.ncur[w] = nrecs[w];
	}
	for (w = 0; w < G.nworkers; w++)
		loop_wait_posted(&G.workers[w]);
	gwconf_unref(G.cf);
	G.cf = cf;
	log_info("reloaded: %zu services", cf->nsvcs);
}

static void
stop(const char *why)
{
	unsigned int w;

	if (G.stopping)
		return;
	G.stopping = true;
	log_info("%s: stopping (%ld connections open, draining for at most "
	         "%llu s)",
	    why, stats_active(), (unsigned long long)G.cf->drain_ms / 1000);
	for (w = 0; w < G.nworkers; w++)
		loop_stop(&G.workers[w]);
}

static void
signal_cb(struct evloop_io *io, unsigned int revents, void *arg)
{
	struct signalfd_siginfo si;

	(void)io;
	(void)revents;
	(void)arg;
	while (read(G.sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			if (!G.stopping)
				reload();
			break;
		case SIGTERM:
			stop("SIGTERM");
			break;
		case SIGINT:
			stop("SIGINT");
			break;
		default:
			break;
		}
	}
}

static void
main_wake(void *arg)
{
	(void)arg;
	if (atomic_load(&G.done) == G.nstarted)
		evloop_break(G.el);
}

static void
sweep_cb(struct evloop_timer *t, void *arg)
{
	(void)arg;
	keys_sweep(kdcclient_now_ms());
	if (evloop_timer_start(G.el, t, SWEEP_MS))
		log_warnx("housekeeping timer not re-armed");
}

static void
status_cb(struct evloop_io *io, unsigned int revents, void *arg)
{
	char *buf;
	size_t len;
	int fd;

	(void)io;
	(void)revents;
	(void)arg;
	while ((fd = accept4(G.stat.fd, NULL, NULL, SOCK_CLOEXEC)) != -1) {
		if ((buf = malloc(STATUS_MAX)) != NULL) {
			len = stats_format(buf, STATUS_MAX, G.cf);
			/* Unix socket buffers take this at once; a reader
			 * too slow for that gets a truncated answer. */
			(void)send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
			free(buf);
		}
		close(fd);
	}
}

/*
 * Give up root, or the capabilities we do not need, before any thread
 * starts (cryptgate-gatewayd(8), PRIVILEGES).  Return 0 or -1 (logged).
 */
static int
drop(const struct gwconf *cf)
{
	struct priv_file *files;
	size_t max = cf->nsvcs + 8, n;
	int rc;

	if ((files = calloc(max, sizeof(*files))) == NULL) {
		log_warnx("out of memory");
		return (-1);
	}
	n = gwconf_files(cf, files, max);
	rc = priv_daemon_drop(cf->user, gwconf_caps(cf), files, n);
	free(files);
	G.caps = priv_caps();
	return (rc);
}

/* Signals, status socket, timer, then the workers; the exit status. */
static int
run(struct lset *ls, struct lrec **recs, size_t *nrecs)
{
	sigset_t mask;
	unsigned int w;
	int rc = 1;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if ((errno = pthread_sigmask(SIG_BLOCK, &mask, NULL)) != 0 ||
	    (G.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		log_warn("signalfd");
		return (1);
	}
	if ((G.el = evloop_new()) == NULL)
		return (1);
	evloop_wakeup_set(G.el, main_wake, NULL);
	evloop_io_init(&G.sigio, G.sigfd, signal_cb, NULL);
	evloop_timer_init(&G.sweep, sweep_cb, NULL);
	if (evloop_io_start(G.el, &G.sigio, EVLOOP_IN) ||
	    evloop_timer_start(G.el, &G.sweep, SWEEP_MS))
		goto out;
	if (G.stat.fd != -1) {
		evloop_io_init(&G.statio, G.stat.fd, status_cb, NULL);
		if (evloop_io_start(G.el, &G.statio, EVLOOP_IN))
			goto out;
	}
	for (w = 0; w < G.nworkers; w++) {
		G.cur[w] = recs[w];
		G.ncur[w] = nrecs[w];
		recs[w] = NULL;
		if (loop_start(&G.workers[w], w, G.cf, &ls[w]))
			break;
		G.nstarted++;
	}
	if (G.nstarted == G.nworkers) {
		log_info(
		    "ready: %zu services, %u workers", G.cf->nsvcs, G.nworkers);
		rc = 0;
	} else {
		stop("a worker did not start");
	}
	if (G.nstarted > 0 && evloop_run(G.el))
		rc = 1;
	for (w = 0; w < G.nworkers && w <= G.nstarted; w++)
		loop_join(&G.workers[w]);
out:
	evloop_io_stop(G.el, &G.statio);
	evloop_io_stop(G.el, &G.sigio);
	evloop_timer_stop(G.el, &G.sweep);
	evloop_free(G.el);
	close(G.sigfd);
	return (rc);
}

int
main(int argc, char **argv)
{
	struct lset ls[GW_WORKERS_MAX];
	struct lrec *recs[GW_WORKERS_MAX];
	size_t nrecs[GW_WORKERS_MAX];
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int w;
	int ch, rc = 1, verbose = 0;
	bool foreground = false, check = false;

	G.path = DEFAULT_CONF;
	log_procinit("cryptgate-gatewayd");
	opterr = 0;
	while (
	    (ch = getopt_long(argc, argv, ":df:hnv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			foreground = true;
			break;
		case 'f':
			G.path = optarg;
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
			    ch, argv, longopts, NULL, "cryptgate-gatewayd"));
		}
	}
	if (optind != argc)
		return (opt_extra(argv[optind], NULL, "cryptgate-gatewayd"));
	log_init(1, verbose, LOG_DAEMON);
	signal(SIGPIPE, SIG_IGN);
	memset(ls, 0, sizeof(ls));
	memset(recs, 0, sizeof(recs));
	memset(nrecs, 0, sizeof(nrecs));
	if (keys_init() || (G.cf = gwconf_load(G.path)) == NULL)
		goto out;
	if (check) {
		printf("%s: configuration OK\n", G.path);
		rc = 0;
		goto out;
	}
	G.nworkers = G.cf->workers;
	if (stats_init(G.nworkers))
		goto out;
	raise_nofile(G.cf);
	if (probe_free(G.cf) || build_all(G.cf, ls, recs, nrecs))
		goto out;
	if (transparent_needed(G.cf) && transparent_install(G.cf))
		goto out;
	(void)sock_unix_listen(&G.stat, G.cf->status_path, "gateway");
	if (drop(G.cf))
		goto out;
	if (!foreground) {
		if (daemon(0, 0) == -1) {
			log_warn("daemon");
			goto out;
		}
		log_init(0, verbose, LOG_DAEMON);
	}
	rc = run(ls, recs, nrecs);

out:
	for (w = 0; w < GW_WORKERS_MAX; w++) {
		loop_lset_free(&ls[w], true);
		free(recs[w]);
		free(G.cur[w]);
	}
	/* The REDIRECT rules this process installed, even on a reload. */
	transparent_remove();
	sock_unix_close(&G.stat);
	gwconf_unref(G.cf);
	keys_fini();
	stats_fini();
	if (G.nworkers > 0)
		log_info("exiting");
	return (rc);
}
