/*
 * main.c: cryptgate-kdcd, the key distribution center: options, the
 * configuration, the listening sockets, daemonizing, and the monitor that
 * starts the keystore and the network process and supervises them (see
 * kdcd.h and cryptgate-kdcd(8)).
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <linux/capability.h>

#include <errno.h>
#include <fcntl.h>
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
#include "cryptgate/log.h"
#include "cryptgate/opt.h"
#include "cryptgate/priv.h"
#include "cryptgate/sandbox.h"
#include "cryptgate/sock.h"

#include "kdcd.h"

#define DEFAULT_CONF "/etc/cryptgate/kdc.conf"
#define MAX_LISTEN CONF_MAX_LIST

/* Descriptors beyond connections: listeners, database files, logs. */
#define SPARE_FDS 64

/* The configuration: the children read it (struct kdcd points into it)
 * until they exit, without freeing it. */
static struct conf *conf;

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
	d->ks_user = conf_get_str(sec, "user");
	/* Another user than the keystore's: the network process cannot
	 * signal it or read its files. */
	d->net_user = "nobody";
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

/* --- the monitor -------------------------------------------------------- */

/*
 * Detach (with no -d): fork; the parent waits until the child says it is
 * ready (daemon_ready) and exits 0, or exits 1 if the child ends first.
 * The child starts a new session.  Return the pipe to report readiness
 * on, or -1 (logged; in the parent only).
 */
static int
daemon_start(void)
{
	int p[2];
	pid_t pid;
	char b;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		log_warn("daemon");
		return (-1);
	}
	if (pid > 0) {
		close(p[1]);
		while ((n = read(p[0], &b, 1)) == -1 && errno == EINTR)
			;
		_exit(n == 1 ? 0 : 1);
	}
	close(p[0]);
	if (setsid() == -1) {
		log_warn("setsid");
		_exit(1);
	}
	return (p[1]);
}

/* Tell the waiting parent, detach from the terminal; 0 or -1 (logged). */
static int
daemon_ready(int statusfd)
{
	int fd;

	if (chdir("/") == -1 ||
	    (fd = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		log_warn("daemon");
		return (-1);
	}
	(void)dup2(fd, 0);
	(void)dup2(fd, 1);
	(void)dup2(fd, 2);
	if (fd > 2)
		close(fd);
	if (write(statusfd, "r", 1) != 1) {
		log_warn("daemon");
		return (-1);
	}
	close(statusfd);
	return (0);
}

/* The monitor's own system calls: waiting for signals and children,
 * signalling them, and logging. */
static const char *const mon_allow[] = { "rt_sigtimedwait", "wait4", "waitid",
	"kill", "close", "clock_gettime", "gettimeofday", "sendto", "connect",
	"socket", "brk", "mmap", "munmap", "rt_sigprocmask", "restart_syscall",
	"futex", "newfstatat", "fstat", NULL };
static const char *const mon_deny[] = { "open", "openat", "execve", "execveat",
	"ptrace", "ioctl", NULL };

struct child {
	const char *what; /* "keystore", "network process" */
	pid_t pid; /* 0 once reaped */
	bool failed; /* exited non-zero or killed */
};

/*
 * Start a child that runs ${fn}: it dies with the monitor (the network
 * process at once, the keystore through SIGTERM, after its answers).
 * Return its pid, or -1 (logged).
 */
int
kdc_die_with_monitor(const struct kdcd *d, int sig)
{
	if (prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) == -1) {
		log_warn("prctl PR_SET_PDEATHSIG");
		return (-1);
	}
	if (getppid() != d->monitor) {
		log_warnx("the monitor is gone");
		return (-1);
	}
	return (0);
}

static pid_t
child_start(
    const struct kdcd *d, struct child *c, const char *what, int deathsig)
{
	pid_t pid;

	c->what = what;
	c->failed = false;
	if ((pid = fork()) == -1) {
		log_warn("fork (%s)", what);
		return (-1);
	}
	if (pid == 0) {
		if (kdc_die_with_monitor(d, deathsig))
			_exit(1);
		return (0);
	}
	c->pid = pid;
	return (pid);
}

/* Reap the children that ended; log how. */
static void
reap(struct child *cs, size_t n)
{
	pid_t pid;
	int st;
	size_t i;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < n; i++) {
			if (cs[i].pid != pid)
				continue;
			cs[i].pid = 0;
			if (WIFSIGNALED(st)) {
				cs[i].failed = true;
				log_warnx("the %s (pid %d) was killed by "
				          "signal %d (%s)",
				    cs[i].what, (int)pid, WTERMSIG(st),
				    strsignal(WTERMSIG(st)));
			} else if (WIFEXITED(st) && WEXITSTATUS(st) != 0) {
				cs[i].failed = true;
				log_warnx("the %s (pid %d) exited with status "
				          "%d",
				    cs[i].what, (int)pid, WEXITSTATUS(st));
			}
		}
	}
}

/*
 * Fork the keystore, wait until it is ready, fork the network process,
 * and supervise them until both are gone: SIGTERM and SIGINT go to the
 * network process (it answers what is in progress, then closes the pair,
 * and the keystore follows), SIGHUP to the keystore.  If either fails, the
 * other is told to stop.  ${statusfd}: the daemonizing parent's pipe (-1
 * with -d).  The exit status.
 */
static int
monitor(struct kdcd *d, const struct conf_section *sec, int *lfds, size_t nlfds,
    int statusfd)
{
	const struct sandbox_policy pol = {
		.allow = mon_allow, .deny = mon_deny, .socket_domain = AF_UNIX
	};
	struct child cs[2];
	struct child *ks = &cs[0], *net = &cs[1];
	int sp[2] = { -1, -1 }, rp[2] = { -1, -1 };
	siginfo_t si;
	sigset_t mask;
	size_t i;
	char b;
	pid_t pid;

	memset(cs, 0, sizeof(cs));
	d->monitor = getpid();
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) == -1 ||
	    pipe2(rp, O_CLOEXEC) == -1) {
		log_warn("monitor");
		goto fail;
	}
	if ((pid = child_start(d, ks, "keystore", SIGTERM)) == -1)
		goto fail;
	if (pid == 0) {
		for (i = 0; i < nlfds; i++)
			close(lfds[i]);
		close(sp[1]);
		close(rp[0]);
		if (statusfd != -1)
			close(statusfd);
		exit(keystore_main(d, sec,
		    (size_t)conf_get_int(sec, "replay_cache_entries"), sp[0],
		    rp[1]));
	}
	close(sp[0]);
	sp[0] = -1;
	close(rp[1]);
	rp[1] = -1;
	/* The keystore loads the keys and the database: wait for it. */
	while (read(rp[0], &b, 1) == -1 && errno == EINTR)
		;
	close(rp[0]);
	rp[0] = -1;
	reap(cs, 2);
	if (ks->pid == 0 || ks->failed) {
		log_warnx("the keystore did not start");
		goto fail;
	}
	if ((pid = child_start(d, net, "network process", SIGKILL)) == -1)
		goto fail;
	if (pid == 0) {
		if (statusfd != -1) {
			close(statusfd);
			log_init(0, d->verbose, LOG_DAEMON);
		}
		/* Its end never holds a key; _exit: nothing to flush. */
		_exit(net_main(d, lfds, nlfds, sp[1]));
	}
	for (i = 0; i < nlfds; i++)
		close(lfds[i]);
	nlfds = 0;
	close(sp[1]);
	sp[1] = -1;
	if (statusfd != -1) {
		log_init(0, d->verbose, LOG_DAEMON);
		if (daemon_ready(statusfd))
			goto fail;
	}
	/* Root: CAP_KILL to signal children of other users; else none. */
	if (priv_drop_caps(geteuid() == 0 ? (uint64_t)1 << CAP_KILL : 0) ||
	    sandbox_apply(&pol))
		goto fail;

	while (ks->pid != 0 || net->pid != 0) {
		if (sigwaitinfo(&mask, &si) == -1)
			continue;
		switch (si.si_signo) {
		case SIGTERM:
		case SIGINT:
			if (net->pid != 0)
				(void)kill(net->pid, SIGTERM);
			break;
		case SIGHUP:
			if (ks->pid != 0)
				(void)kill(ks->pid, SIGHUP);
			break;
		default: /* SIGCHLD */
			reap(cs, 2);
			/* Without its keystore the network process
			 * cannot answer; it sees the pair close too. */
			if (ks->pid == 0 && net->pid != 0)
				(void)kill(net->pid, SIGTERM);
			break;
		}
	}
	return (ks->failed || net->failed ? 1 : 0);

fail:
	for (i = 0; i < 2; i++) {
		if (cs[i].pid != 0)
			(void)kill(cs[i].pid, SIGKILL);
	}
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	for (i = 0; i < 2; i++) {
		if (sp[i] != -1)
			close(sp[i]);
		if (rp[i] != -1)
			close(rp[i]);
	}
	while (nlfds-- > 0)
		close(lfds[nlfds]);
	return (1);
}

int
main(int argc, char **argv)
{
	const char *path = DEFAULT_CONF;
	const struct conf_section *sec;
	struct kdcd d;
	int lfds[MAX_LISTEN];
	size_t nlfds = 0;
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, rc = 1, verbose = 0, statusfd = -1;
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
	if (d.legacy_retrieve)
		log_warnx("legacy_retrieve_by_address is not supported: "
		          "RETRIEVE without a key id is refused");
	if (check) {
		if (keystore_check(&d, sec))
			goto out;
		printf("%s: configuration OK\n", path);
		rc = 0;
		goto out;
	}

	raise_nofile(&d);
	if (listen_all(sec, lfds, &nlfds))
		goto out;
	if (!foreground && (statusfd = daemon_start()) == -1)
		goto out;
	d.daemonize = !foreground;
	d.verbose = verbose;
	rc = monitor(&d, sec, lfds, nlfds, statusfd);
	nlfds = 0;
	if (rc != 0 && statusfd != -1)
		log_warnx("not started");

out:
	while (nlfds-- > 0)
		close(lfds[nlfds]);
	conf_free(conf);
	return (rc);
}
