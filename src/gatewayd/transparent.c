/*
 * transparent.c: the firewall side of the transparent role.
 *
 * At start (and on reload) the gateway puts one REDIRECT rule per
 * transparent destination into a nat chain of its own, CRYPTGATE-GW,
 * jumped to from OUTPUT, with iptables (IPv4) and ip6tables (IPv6):
 *
 *	iptables -t nat -N CRYPTGATE-GW
 *	iptables -t nat -I OUTPUT -p tcp -j CRYPTGATE-GW
 *	iptables -t nat -A CRYPTGATE-GW -p tcp -d DEST --dport PORT
 *	    -m mark ! --mark 0x4347 -j REDIRECT --to-ports LISTEN
 *
 * and removes exactly that on exit (flush and delete the chain, delete
 * the jump).  The gateway's own encrypted connections carry SO_MARK
 * 0x4347 and are never redirected, so they cannot loop.  Locally
 * generated connections redirected in OUTPUT arrive on the loopback
 * address, so the service listens on 127.0.0.1 (or ::1) at LISTEN.
 *
 * SO_ORIGINAL_DST (IPv4) and IP6T_SO_ORIGINAL_DST (IPv6) give the
 * destination a redirected connection had.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gatewayd.h"

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80 /* linux/netfilter_ipv4.h */
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80 /* linux/netfilter_ipv6/ip6_tables.h */
#endif

#define CHAIN "CRYPTGATE-GW"

extern char **environ;

static bool installed[2]; /* IPv4, IPv6 */

/* Run ${argv} (argv[0] looked up in PATH); 0 if it exits 0. */
static int
run(char *const argv[], bool quiet)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, e;

	if (posix_spawn_file_actions_init(&fa) != 0)
		return (-1);
	if (quiet)
		(void)posix_spawn_file_actions_addopen(
		    &fa, 2, "/dev/null", O_WRONLY, 0);
	e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (e != 0) {
		if (!quiet)
			log_warnx("cannot run %s: %s", argv[0], strerror(e));
		return (-1);
	}
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

static void
remove_family(int v6)
{
	char *del[] = { ipt(v6), "-w", "-t", "nat", "-D", "OUTPUT", "-p", "tcp",
		"-j", CHAIN, NULL };
	char *flush[] = { ipt(v6), "-w", "-t", "nat", "-F", CHAIN, NULL };
	char *x[] = { ipt(v6), "-w", "-t", "nat", "-X", CHAIN, NULL };

	while (run(del, true) == 0)
		;
	(void)run(flush, true);
	(void)run(x, true);
}

void
transparent_remove(void)
{
	int v6;

	for (v6 = 0; v6 < 2; v6++) {
		if (installed[v6])
			remove_family(v6);
		installed[v6] = false;
	}
}

bool
transparent_needed(const struct gwconf *cf)
{
	size_t i;

	for (i = 0; i < cf->nsvcs; i++) {
		if (cf->svcs[i].role == ROLE_TRANSPARENT)
			return (true);
	}
	return (false);
}

/* The chain, empty, and the jump to it. */
static int
chain_ready(int v6)
{
	char *mk[] = { ipt(v6), "-w", "-t", "nat", "-N", CHAIN, NULL };
	char *flush[] = { ipt(v6), "-w", "-t", "nat", "-F", CHAIN, NULL };
	char *chk[] = { ipt(v6), "-w", "-t", "nat", "-C", "OUTPUT", "-p", "tcp",
		"-j", CHAIN, NULL };
	char *jump[] = { ipt(v6), "-w", "-t", "nat", "-I", "OUTPUT", "-p",
		"tcp", "-j", CHAIN, NULL };

	(void)run(mk, true);
	installed[v6] = true;
	if (run(flush, false))
		return (-1);
	if (run(chk, true) == 0)
		return (0);
	return (run(jump, false));
}

/* The rule sending ${d} to ${svc}'s listen port. */
static int
add_rule(const struct service *svc, const struct conf_addr *d)
{
	char dport[8], lport[8], mark[16];
	int v6 = d->family == AF_INET6;
	size_t i;
	char *argv[] = { ipt(v6), "-w", "-t", "nat", "-A", CHAIN, "-p", "tcp",
		"-d", (char *)(uintptr_t)d->host, "--dport", dport, "-m",
		"mark", "!", "--mark", mark, "-j", "REDIRECT", "--to-ports",
		lport, NULL };

	for (i = 0; i < svc->nlisten; i++) {
		if (svc->listen[i].family == d->family)
			break;
	}
	if (i == svc->nlisten) {
		log_warnx("[service %s] destination %s needs a listen address "
		          "of the same family (IPv%d)",
		    svc->name, d->host, v6 ? 6 : 4);
		return (-1);
	}
	snprintf(dport, sizeof(dport), "%u", d->port);
	snprintf(lport, sizeof(lport), "%u", svc->listen[i].port);
	snprintf(mark, sizeof(mark), "0x%x", GW_MARK);
	if ((!installed[v6] && chain_ready(v6)) || run(argv, false)) {
		log_warnx("[service %s] cannot install the REDIRECT rule for "
		          "%s port %u (are you root, is %s installed?)",
		    svc->name, d->host, d->port, ipt(v6));
		return (-1);
	}
	return (0);
}

int
transparent_install(const struct gwconf *cf)
{
	const struct service *svc;
	size_t i, j;

	transparent_remove();
	for (i = 0; i < cf->nsvcs; i++) {
		svc = &cf->svcs[i];
		if (svc->role != ROLE_TRANSPARENT)
			continue;
		for (j = 0; j < svc->ndest; j++) {
			if (add_rule(svc, &svc->dest[j]))
				goto err;
		}
	}
	return (0);

err:
	transparent_remove();
	return (-1);
}

int
transparent_original_dst(int fd, struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct sockaddr_storage me;
	socklen_t len = sizeof(me);

	memset(ss, 0, sizeof(*ss));
	memset(&me, 0, sizeof(me));
	if (getsockname(fd, (struct sockaddr *)&me, &len) == -1)
		return (-1);
	if (me.ss_family == AF_INET) {
		*sslen = sizeof(struct sockaddr_in);
		return (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, ss, sslen));
	}
	*sslen = sizeof(struct sockaddr_in6);
	return (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, ss, sslen));
}
