/*
 * main.c: cryptgate-pktd, the packet encryptor: options, the
 * configuration, the queues and their workers, the firewall rules,
 * signals, the status socket (see pktd.h and cryptgate-pktd(8)).
 *
 * Start: load the configuration and keys, bind every queue, then install
 * the rules (replacing any left by an earlier run in one transaction per
 * table), then start one worker thread per queue.  The rules stay when the
 * daemon exits for any reason: protected packets are then dropped by the
 * kernel (no process reads their queue) until it runs again or an operator
 * removes them (cryptgate pkt down, or cryptgate-pktd -x).
 *
 * The main thread waits on a signalfd (SIGHUP reloads, SIGTERM/SIGINT
 * stop) and the status socket (each connection gets the counters as text,
 * then is closed).
 */
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <linux/capability.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cryptgate/kdcclient.h"
#include "cryptgate/opt.h"
#include "cryptgate/sock.h"

#include "pktd.h"
#include "rules.h"

#define DEFAULT_CONF "/etc/cryptgate/pkt.conf"
#define STATUS_MAX ((size_t)64 * 1024)
#define RELOAD_WAIT_MS 2000 /* for the workers to take a new policy */
#define RELOAD_POLL_MS 10

static struct {
	const char *path;
	struct pconf *pc;
	struct worker workers[PKTD_QUEUES_MAX];
	unsigned int nworkers;
	int sigfd;
	struct sock_unix stat; /* the status socket */
	int64_t start_ms;
} G = { .sigfd = -1, .stat = { .fd = -1 } };

/*
 * What cryptgate-pktd keeps: CAP_NET_ADMIN, for its queues (every verdict
 * is a netlink message nfnetlink checks it for) and iptables-restore on a
 * reload.  Not CAP_NET_RAW: neither needs it (iptables-nft).
 */
#define PKTD_CAPS PRIV_CAP(CAP_NET_ADMIN)

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: cryptgate-pktd [-dnrvx] [-f pkt.conf]\n"
	    "  -d          stay in the foreground, log to stderr, debug "
	    "messages\n"
	    "  -f          configuration file (default " DEFAULT_CONF ")\n"
	    "  -h, --help  print this help and exit\n"
	    "  -n          check the configuration and keys, then exit\n"
	    "  -r          print the iptables rules the configuration "
	    "installs,\n"
	    "              then exit\n"
	    "  -v          more verbose (twice: debug)\n"
	    "  -x          remove the rules (protected traffic then flows in "
	    "clear,\n"
	    "              or not at all if the peer still encrypts), then "
	    "exit\n"
	    "See cryptgate-pktd(8).\n");
}

/*
 * Wait (up to RELOAD_WAIT_MS) until every worker has swapped in the
 * transform of worker_commit; log if one has not.
 */
static void
wait_committed(void)
{
	unsigned int w, waited = 0;

	for (w = 0; w < G.nworkers; w++) {
		while (!worker_is_committed(&G.workers[w])) {
			if (waited >= RELOAD_WAIT_MS) {
				log_warnx("reload: queue %u has not taken the "
				          "new policy yet",
				    G.workers[w].qnum);
				return;
			}
			(void)poll(NULL, 0, RELOAD_POLL_MS);
			waited += RELOAD_POLL_MS;
		}
	}
}

/* Free the transforms of a reload that failed; log. */
static void
reload_abort(struct pconf *pc, const char *why)
{
	unsigned int w;

	for (w = 0; w < G.nworkers; w++)
		worker_discard(&G.workers[w]);
	pconf_free(pc);
	log_warnx("reload failed: %s; keeping the running configuration", why);
}

/*
 * SIGHUP: re-read the configuration and keys.  The new transforms are
 * built first and the rules installed next: if either fails, nothing
 * changes (the old rules are put back if only one family's went in).  Then
 * the workers swap their transforms, within TICK_MS: for that moment
 * packets of a policy the reload added are queued to the old transform
 * and pass unchanged, as they did before the reload (connections that
 * were not protected); packets of a removed one are no longer queued.
 */
static void
reload(void)
{
	struct pconf *pc;
	unsigned int w;
	bool same;

	if (G.pc == NULL)
		return; /* not running yet */
	log_info("SIGHUP: reloading %s", G.path);
	if ((pc = pconf_load(G.path, true)) == NULL) {
		log_warnx("reload failed: keeping the running configuration");
		return;
	}
	if (pc->queues != G.pc->queues || pc->queue_num != G.pc->queue_num)
		log_warnx("queues, queue_num: a change needs a restart "
		          "(keeping queues %u..%u)",
		    G.pc->queue_num, G.pc->queue_num + G.pc->queues - 1);
	if (strcmp(pc->status_path, G.pc->status_path) != 0)
		log_warnx("status_socket: a new path needs a restart (keeping "
		          "%s)",
		    G.pc->status_path);
	if ((pc->user == NULL) != (G.pc->user == NULL) ||
	    (pc->user != NULL && strcmp(pc->user, G.pc->user) != 0))
		log_warnx("user: a change needs a restart");
	pc->queues = G.pc->queues;
	pc->queue_num = G.pc->queue_num;
	same = pconf_same_policy(pc, G.pc);
	for (w = 0; !same && w < G.nworkers; w++) {
		if (worker_prepare(&G.workers[w], pc)) {
			reload_abort(pc, "cannot build the new policy");
			return;
		}
	}
	/* Also puts back rules someone removed or reordered. */
	if (rules_install(pc)) {
		if (rules_install(G.pc))
			log_warnx("reload: the previous rules could not be "
			          "put back either");
		reload_abort(pc, "rules not installed");
		return;
	}
	for (w = 0; !same && w < G.nworkers; w++)
		worker_commit(&G.workers[w]);
	if (!same)
		wait_committed();
	pconf_free(G.pc);
	G.pc = pc;
	log_info("reloaded: %zu policies%s", pc->npols,
	    same ? ", unchanged" : "; open connections were reset");
}

static void
status_answer(void)
{
	char *buf;
	size_t len;
	int fd;

	while ((fd = accept4(G.stat.fd, NULL, NULL, SOCK_CLOEXEC)) != -1) {
		if ((buf = malloc(STATUS_MAX)) != NULL) {
			len = stats_format(buf, STATUS_MAX, G.pc, G.workers,
			    G.nworkers, G.start_ms);
			(void)send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
			free(buf);
		}
		close(fd);
	}
}

/* Wait for signals and status readers until SIGTERM or SIGINT. */
static int
run(void)
{
	struct signalfd_siginfo si;
	struct pollfd pfd[2];
	nfds_t n = 1;

	pfd[0].fd = G.sigfd;
	pfd[0].events = POLLIN;
	if (G.stat.fd != -1) {
		pfd[1].fd = G.stat.fd;
		pfd[1].events = POLLIN;
		n = 2;
	}
	for (;;) {
		if (poll(pfd, n, -1) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("poll");
			return (1);
		}
		if (n == 2 && pfd[1].revents != 0)
			status_answer();
		if (pfd[0].revents == 0)
			continue;
		while (read(G.sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			switch (si.ssi_signo) {
			case SIGHUP:
				reload();
				break;
			case SIGTERM:
			case SIGINT:
				log_info(
				    "%s: stopping; the rules stay (protected "
				    "traffic is dropped until restart)",
				    si.ssi_signo == SIGTERM ? "SIGTERM"
				                            : "SIGINT");
				return (0);
			default:
				break;
			}
		}
	}
}

/* Block the signals, open the signalfd: 0 or -1 (logged). */
static int
signals(void)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if ((errno = pthread_sigmask(SIG_BLOCK, &mask, NULL)) != 0 ||
	    (G.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		log_warn("signalfd");
		return (-1);
	}
	return (0);
}

/*
 * Give up root, or every capability but CAP_NET_ADMIN, before the worker
 * threads start (cryptgate-pktd(8), PRIVILEGES).  Return 0 or -1 (logged).
 */
static int
drop(const struct pconf *pc)
{
	struct priv_file *files;
	size_t max = pc->npols + 1, n;
	int rc;

	if ((files = calloc(max, sizeof(*files))) == NULL) {
		log_warnx("out of memory");
		return (-1);
	}
	n = pconf_files(pc, files, max);
	rc = priv_daemon_drop(pc->user, PKTD_CAPS, files, n);
	free(files);
	return (rc);
}

/* -r, -x: print or remove the rules. */
static int
rules_cmd(bool print)
{
	if (print)
		return (rules_print(G.pc, stdout) == 0 && fflush(stdout) == 0
		        ? 0
		        : 1);
	if (rules_remove()) {
		log_warnx("some rules could not be removed");
		return (1);
	}
	printf("cryptgate-pktd rules removed: traffic of the policies is "
	       "no longer protected\n");
	return (0);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pconf *pc;
	unsigned int w;
	int ch, rc = 1, verbose = 0;
	bool foreground = false, check = false, print = false, down = false;

	G.path = DEFAULT_CONF;
	log_procinit("cryptgate-pktd");
	opterr = 0;
	while (
	    (ch = getopt_long(argc, argv, ":df:hnrvx", longopts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			foreground = true;
			verbose = 2;
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
		case 'r':
			print = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'x':
			down = true;
			break;
		default: /* ':' or '?' */
			return (opt_error(
			    ch, argv, longopts, NULL, "cryptgate-pktd"));
		}
	}
	if (optind != argc)
		return (opt_extra(argv[optind], NULL, "cryptgate-pktd"));
	if (print && down) {
		log_warnx("-r and -x cannot be used together");
		return (2);
	}
	log_init(1, verbose, LOG_DAEMON);
	signal(SIGPIPE, SIG_IGN);
	if (down)
		return (rules_cmd(false));
	if ((pc = pconf_load(G.path, !print)) == NULL)
		goto out;
	G.pc = pc;
	if (print) {
		rc = rules_cmd(true);
		goto out;
	}
	if (check) {
		printf("%s: configuration OK\n", G.path);
		rc = 0;
		goto out;
	}
	G.start_ms = kdcclient_now_ms();
	for (w = 0; w < pc->queues; w++) {
		if (worker_open(
		        &G.workers[w], w, (uint16_t)(pc->queue_num + w), pc))
			goto out;
		G.nworkers++;
	}
	if (rules_install(G.pc) || signals())
		goto out;
	(void)sock_unix_listen(&G.stat, pc->status_path, "pktd");
	if (drop(pc))
		goto out;
	if (!foreground) {
		if (daemon(0, 0) == -1) {
			log_warn("daemon");
			goto out;
		}
		log_init(0, verbose, LOG_DAEMON);
	}
	for (w = 0; w < G.nworkers; w++) {
		if (worker_run(&G.workers[w]))
			goto out;
	}
	log_info("ready: %zu policies, queues %u..%u", pc->npols, pc->queue_num,
	    pc->queue_num + G.nworkers - 1);
	rc = run();

out:
	for (w = 0; w < G.nworkers; w++)
		worker_close(&G.workers[w]);
	for (w = 0; w < PKTD_QUEUES_MAX; w++) {
		if (G.workers[w].inited)
			pthread_mutex_destroy(&G.workers[w].mu);
	}
	sock_unix_close(&G.stat);
	if (G.sigfd != -1)
		close(G.sigfd);
	pconf_free(G.pc);
	if (G.nworkers > 0)
		log_info("exiting");
	return (rc);
}
