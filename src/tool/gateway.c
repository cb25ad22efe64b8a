/*
 * gateway.c: cryptgate gateway: the firewall rules of cryptgate-gatewayd's
 * transparent role.
 *
 *	cryptgate gateway down [-f gateway.conf] [--force]
 *
 * The gateway (src/gatewayd/transparent.c) keeps two chains per address
 * family: nat CRYPTGATE-GW, its REDIRECT rules, removed when it exits, and
 * filter CRYPTGATE-GW-GUARD, which resets connections to the transparent
 * destinations that it does not carry (it is stopped, killed, or has not
 * started) and which it never removes: it fails closed.  "down" is the
 * way to end that on purpose: it removes the guard and, if no gateway
 * runs with the configuration, the nat chain too.  A gateway runs if its
 * status socket answers or a listen address of a transparent service is
 * in use; then "down" refuses unless --force (the guard goes, the running
 * gateway's REDIRECT rules stay; it puts the guard back on its next
 * reload).  Commands run with posix_spawnp, never through a shell.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cryptgate/conf.h"
#include "cryptgate/log.h"
#include "cryptgate/opt.h"

#include "cmd.h"

#define GATEWAY_DEFAULT_CONF "/etc/cryptgate/gateway.conf"
/* The chains of src/gatewayd/transparent.c. */
#define GW_NAT_CHAIN "CRYPTGATE-GW"
#define GW_GUARD_CHAIN "CRYPTGATE-GW-GUARD"
#define STATUS_TIMEOUT_MS 2000

extern char **environ;

static void
gateway_usage(FILE *f)
{
	fprintf(f,
	    "usage: cryptgate gateway down [-f GATEWAY.CONF] [--force]\n"
	    "\n"
	    "down:  remove the firewall rules of cryptgate-gatewayd's\n"
	    "       transparent role: the guard that resets connections to\n"
	    "       the transparent destinations whenever the gateway does\n"
	    "       not carry them (it is stopped, killed or reloading), and,\n"
	    "       if no gateway runs, the redirect rules.  Until then those\n"
	    "       connections never go out in clear; afterwards they do\n"
	    "       whenever the gateway is not running.\n"
	    "\n"
	    "Options:\n"
	    "  -f, --config FILE   the gateway's configuration, to find a\n"
	    "                      running gateway "
	    "(default " GATEWAY_DEFAULT_CONF ")\n"
	    "      --force         remove the guard even while a gateway\n"
	    "                      runs (its redirect rules stay until it\n"
	    "                      exits; a reload puts the guard back)\n"
	    "  -h, --help          print this help and exit\n"
	    "\n"
	    "Exit status: 0 on success, 1 on error, 2 on a usage error.\n"
	    "See cryptgate(1) and cryptgate-gatewayd(8).\n");
}

/* Run ${argv} quietly (argv[0] looked up in PATH); 0 if it exits 0. */
static int
run(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, e;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return (-1);
	(void)posix_spawn_file_actions_addopen(
	    &fa, 1, "/dev/null", O_WRONLY, 0);
	(void)posix_spawn_file_actions_addopen(
	    &fa, 2, "/dev/null", O_WRONLY, 0);
	e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0)
		return (-1);
	while (waitpid(pid, &st, 0) == -1) {
		if (errno != EINTR)
			return (-1);
	}
	return (WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1);
}

static char *
ipt(int v6)
{
	return (v6 ? "ip6tables" : "iptables");
}

/* True if ${table} has the chain ${chain}. */
static bool
has_chain(int v6, const char *table, const char *chain)
{
	char *argv[] = { ipt(v6), "-w", "-t", (char *)(uintptr_t)table, "-S",
		(char *)(uintptr_t)chain, NULL };

	return (run(argv) == 0);
}

/*
 * Remove ${table}'s ${chain} and the jumps to it from OUTPUT, if it
 * exists (${*removed} set then).  Return 0, or -1 if it is still there
 * (logged).
 */
static int
remove_chain(int v6, const char *table, const char *chain, bool *removed)
{
	char *t = (char *)(uintptr_t)table, *c = (char *)(uintptr_t)chain;
	char *del[] = { ipt(v6), "-w", "-t", t, "-D", "OUTPUT", "-p", "tcp",
		"-j", c, NULL };
	char *flush[] = { ipt(v6), "-w", "-t", t, "-F", c, NULL };
	char *x[] = { ipt(v6), "-w", "-t", t, "-X", c, NULL };

	if (!has_chain(v6, table, chain))
		return (0);
	while (run(del) == 0)
		;
	(void)run(flush);
	if (run(x) != 0 && has_chain(v6, table, chain)) {
		log_warnx("gateway down: %s: table %s: chain %s not removed "
		          "(another rule still jumps to it?)",
		    ipt(v6), table, chain);
		return (-1);
	}
	*removed = true;
	return (0);
}

/*
 * True if the gateway's status socket ${path} answers; its first line
 * ("gateway pid=P ...") goes to ${why}.
 */
static bool
status_answers(const char *path, char *why, size_t size)
{
	struct sockaddr_un sun;
	struct pollfd p;
	char buf[256];
	ssize_t n = 0;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (path == NULL || strlen(path) >= sizeof(sun.sun_path))
		return (false);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (false);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return (false);
	}
	p.fd = fd;
	p.events = POLLIN;
	if (poll(&p, 1, STATUS_TIMEOUT_MS) == 1 &&
	    (n = read(fd, buf, sizeof(buf) - 1)) < 0)
		n = 0;
	close(fd);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	snprintf(why, size, "its status socket %s answers%s%s%s", path,
	    n > 0 ? " (" : "", n > 0 ? buf : "", n > 0 ? ")" : "");
	return (true);
}

/* True if something listens on (holds) the address ${a}. */
static bool
addr_in_use(const struct conf_addr *a)
{
	int fd, one = 1;
	bool used;

	if (a->sslen == 0 ||
	    (fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (false);
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (a->ss.ss_family == AF_INET6)
		(void)setsockopt(
		    fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	used = bind(fd, (const struct sockaddr *)&a->ss, a->sslen) == -1 &&
	    errno == EADDRINUSE;
	close(fd);
	return (used);
}

/*
 * True if a gateway runs with ${conf}: its status socket answers, or a
 * listen address of a transparent service is in use.  Why, in ${why}.
 */
static bool
gateway_runs(const struct conf *conf, char *why, size_t size)
{
	const struct conf_section *sec = NULL;
	const struct conf_addr *a;
	const char *role;
	size_t i, n;

	if (status_answers(conf_get_str(conf_section(conf, "gateway", NULL),
	                       "status_socket"),
	        why, size))
		return (true);
	while ((sec = conf_section_next(conf, sec, "service")) != NULL) {
		role = conf_get_str(sec, "role");
		if (role == NULL || strcmp(role, "transparent") != 0)
			continue;
		a = conf_get_addrs(sec, "listen", &n);
		for (i = 0; i < n; i++) {
			if (!addr_in_use(&a[i]))
				continue;
			snprintf(why, size,
			    "[service %s] listen address %s port %u is in use",
			    conf_section_name(sec), a[i].host, a[i].port);
			return (true);
		}
	}
	return (false);
}

/* Remove the guard and, unless ${running}, the nat chain.  0 or -1. */
static int
down(bool running)
{
	bool guard = false, nat = false;
	int v6, rc = 0;

	for (v6 = 0; v6 < 2; v6++) {
		if (remove_chain(v6, "filter", GW_GUARD_CHAIN, &guard))
			rc = -1;
	}
	for (v6 = 0; v6 < 2 && !running; v6++) {
		if (remove_chain(v6, "nat", GW_NAT_CHAIN, &nat))
			rc = -1;
	}
	if (rc != 0)
		return (-1);
	if (!guard && !nat)
		printf("no transparent rules were installed: nothing to do\n");
	else if (running)
		printf("transparent guard removed, redirect rules kept (a "
		       "gateway may run): connections to the transparent "
		       "destinations go out in clear whenever it does not "
		       "carry them; a reload of the gateway puts the guard "
		       "back\n");
	else
		printf("transparent rules removed: connections to the "
		       "transparent destinations are no longer protected\n");
	return (0);
}

int
gateway_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "force", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfgpath = GATEWAY_DEFAULT_CONF, *what;
	struct conf *conf = NULL;
	char why[384];
	bool force = false, running = false;
	int ch, rc = 1;

	if (argc < 2) {
		log_warnx("gateway: missing command (see cryptgate gateway "
		          "--help)");
		return (2);
	}
	what = argv[1];
	if (strcmp(what, "-h") == 0 || strcmp(what, "--help") == 0 ||
	    strcmp(what, "help") == 0) {
		gateway_usage(stdout);
		return (0);
	}
	if (strcmp(what, "down") != 0) {
		if (what[0] == '-')
			log_warnx("gateway: unknown option %s (see cryptgate "
			          "gateway --help)",
			    what);
		else
			log_warnx("gateway: unknown command '%s' (see "
			          "cryptgate gateway --help)",
			    what);
		return (2);
	}
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc - 1, argv + 1, ":f:h", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'f':
			cfgpath = optarg;
			break;
		case 'F':
			force = true;
			break;
		case 'h':
			gateway_usage(stdout);
			return (0);
		default: /* ':' or '?' */
			return (opt_error(ch, argv + 1, longopts,
			    "gateway down", "cryptgate gateway"));
		}
	}
	if (optind != argc - 1)
		return (opt_extra(
		    argv[1 + optind], "gateway down", "cryptgate gateway"));
	if (geteuid() != 0) {
		log_warnx("gateway down: needs root (iptables)");
		return (1);
	}
	if ((conf = conf_load(
	         cfgpath, conf_schema_gateway, &conf_report_stderr)) == NULL) {
		if (!force) {
			log_warnx("gateway down: without its configuration "
			          "%s, whether a gateway runs is unknown: "
			          "nothing removed (--force removes the guard "
			          "anyway)",
			    cfgpath);
			return (1);
		}
		running = true; /* unknown: keep the nat chain */
	} else if (gateway_runs(conf, why, sizeof(why))) {
		if (!force) {
			log_warnx("gateway down: a gateway runs with %s (%s): "
			          "stop it first (or use --force to remove the "
			          "guard while it runs)",
			    cfgpath, why);
			goto out;
		}
		running = true;
	}
	if (down(running) == 0)
		rc = 0;
out:
	conf_free(conf);
	return (rc);
}
