/*
 * transparent.c: the firewall side of the transparent role.
 *
 * Two chains of our own, with iptables for the IPv4 destinations and
 * ip6tables for the IPv6 ones, each with one rule per transparent
 * destination DEST:PORT:
 *
 *   nat CRYPTGATE-GW (jumped to from nat OUTPUT), the redirect:
 *	-p tcp -d DEST --dport PORT -m mark ! --mark 0x4347
 *	    -j REDIRECT --to-ports LISTEN
 *   filter CRYPTGATE-GW-GUARD (jumped to first from filter OUTPUT), the
 *   guard:
 *	-p tcp -d DEST --dport PORT -m mark ! --mark 0x4347
 *	    -j REJECT --reject-with tcp-reset
 *
 * nat OUTPUT rewrites the destination of a redirected connection to the
 * loopback address before filter OUTPUT sees its packets, so the guard
 * only meets the connections to DEST:PORT that the gateway does not
 * carry: none while it runs; every one when it is stopped, killed or
 * has not started yet.  Those get a reset, never a connection in clear.
 * The gateway's own encrypted connections carry SO_MARK 0x4347: they are
 * neither redirected (no loop) nor rejected.
 *
 * The gateway never removes the guard.  At exit it removes the nat chain
 * (connections to DEST:PORT are then reset by the guard); after a SIGKILL
 * the nat chain stays and redirects to a port nobody listens on (reset
 * as well).  Protection ends only with "cryptgate gateway down"
 * (src/tool/gateway.c, which knows these chain names too).
 *
 * Install (at start and on every reload), per family, in three
 * iptables-restore --noflush transactions (declaring a chain in one
 * flushes it, so a chain is replaced at once, never empty in between):
 *
 *   1. the guard gets the new destinations appended (old and new);
 *   2. the nat chain is replaced by the new redirects;
 *   3. the guard is replaced by the new destinations alone.
 *
 * So no destination is ever neither redirected nor guarded, and one that
 * left the configuration is unguarded only once the new redirects are in
 * force.  A family without destinations loses its nat chain, then its
 * guard.  Commands run with posix_spawnp, never through a shell.
 *
 * Locally generated connections redirected in OUTPUT arrive on the
 * loopback address, so the service listens on 127.0.0.1 (or ::1) at
 * LISTEN.  SO_ORIGINAL_DST (IPv4) and IP6T_SO_ORIGINAL_DST (IPv6) give
 * the destination a redirected connection had.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptgate/spawn.h"

#include "gatewayd.h"

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80 /* linux/netfilter_ipv4.h */
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80 /* linux/netfilter_ipv6/ip6_tables.h */
#endif

#define CHAIN "CRYPTGATE-GW" /* nat */
#define GUARD "CRYPTGATE-GW-GUARD" /* filter */

static bool nat_installed[2]; /* IPv4, IPv6: we made the nat chain */
static bool ever_installed; /* a transparent_install succeeded */

static char *
ipt(int v6, bool restore)
{
	if (restore)
		return (v6 ? "ip6tables-restore" : "iptables-restore");
	return (v6 ? "ip6tables" : "iptables");
}

/* True if ${table} has the chain ${chain}. */
static bool
has_chain(int v6, const char *table, const char *chain)
{
	char *argv[] = { ipt(v6, false), "-w", "-t", (char *)(uintptr_t)table,
		"-S", (char *)(uintptr_t)chain, NULL };

	return (spawn_run(argv, NULL, true) == 0);
}

/* True if ${table}'s OUTPUT jumps to ${chain} (our form of the jump). */
static bool
has_jump(int v6, const char *table, const char *chain)
{
	char *argv[] = { ipt(v6, false), "-w", "-t", (char *)(uintptr_t)table,
		"-C", "OUTPUT", "-p", "tcp", "-j", (char *)(uintptr_t)chain,
		NULL };

	return (spawn_run(argv, NULL, true) == 0);
}

/* Remove ${table}'s ${chain} and the jumps to it; 0, or -1 if it stays. */
static int
remove_chain(int v6, const char *table, const char *chain)
{
	char *t = (char *)(uintptr_t)table, *c = (char *)(uintptr_t)chain;
	char *del[] = { ipt(v6, false), "-w", "-t", t, "-D", "OUTPUT", "-p",
		"tcp", "-j", c, NULL };
	char *flush[] = { ipt(v6, false), "-w", "-t", t, "-F", c, NULL };
	char *x[] = { ipt(v6, false), "-w", "-t", t, "-X", c, NULL };

	while (spawn_run(del, NULL, true) == 0)
		;
	(void)spawn_run(flush, NULL, true);
	if (spawn_run(x, NULL, true) == 0 || !has_chain(v6, table, chain))
		return (0);
	log_warnx("%s: table %s: chain %s not removed (still referenced?)",
	    ipt(v6, false), table, chain);
	return (-1);
}

/* ${svc}'s listen port of ${d}'s address family, or 0. */
static uint16_t
listen_port(const struct service *svc, const struct conf_addr *d)
{
	size_t i;

	for (i = 0; i < svc->nlisten; i++) {
		if (svc->listen[i].family == d->family)
			return (svc->listen[i].port);
	}
	return (0);
}

/*
 * The number of ${cf}'s transparent destinations of family ${v6}; -1
 * (logged) if one has no listen address of its family to redirect to.
 */
static int
count(const struct gwconf *cf, int v6)
{
	const struct service *svc;
	const struct conf_addr *d;
	size_t i, j;
	uint16_t lp;
	int n = 0;

	for (i = 0; i < cf->nsvcs; i++) {
		svc = &cf->svcs[i];
		if (svc->role != ROLE_TRANSPARENT)
			continue;
		for (j = 0; j < svc->ndest; j++) {
			d = &svc->dest[j];
			if ((d->family == AF_INET6) != (v6 != 0))
				continue;
			if ((lp = listen_port(svc, d)) == 0) {
				log_warnx("[service %s] destination %s needs a "
				          "listen address of the same family "
				          "(IPv%d)",
				    svc->name, d->host, v6 ? 6 : 4);
				return (-1);
			}
			/*
			 * After a SIGKILL the REDIRECT rules stay and point
			 * at ${lp}: whoever can bind it then receives what
			 * programs send (locally).  Root only, below 1024.
			 */
			if (lp >= 1024)
				log_warnx("[service %s] listen port %u: while "
				          "the gateway is down, any local user "
				          "could bind it and receive what is "
				          "redirected; use a port below 1024",
				    svc->name, (unsigned int)lp);
			n++;
		}
	}
	return (n);
}

/* The rules of ${cf}'s destinations of family ${v6}: guard or nat. */
static void
dest_rules(FILE *f, const struct gwconf *cf, int v6, bool guard)
{
	const struct service *svc;
	const struct conf_addr *d;
	size_t i, j;

	for (i = 0; i < cf->nsvcs; i++) {
		svc = &cf->svcs[i];
		if (svc->role != ROLE_TRANSPARENT)
			continue;
		for (j = 0; j < svc->ndest; j++) {
			d = &svc->dest[j];
			if ((d->family == AF_INET6) != (v6 != 0))
				continue;
			fprintf(f,
			    "-A %s -p tcp -d %s --dport %u -m mark ! --mark "
			    "0x%x -j ",
			    guard ? GUARD : CHAIN, d->host, d->port, GW_MARK);
			if (guard)
				fprintf(f, "REJECT --reject-with tcp-reset\n");
			else
				fprintf(f, "REDIRECT --to-ports %u\n",
				    listen_port(svc, d));
		}
	}
}

/*
 * Put the rules of ${cf}'s destinations of family ${v6} into the guard
 * (${guard}) or the nat chain, in one iptables-restore transaction: in
 * place of the chain's rules if ${replace}, else after them; with the
 * jump from OUTPUT if it is missing.  Return 0 or -1 (iptables-restore's
 * message on stderr).
 */
static int
restore(const struct gwconf *cf, int v6, bool guard, bool replace)
{
	const char *table = guard ? "filter" : "nat";
	const char *chain = guard ? GUARD : CHAIN;
	char *argv[] = { ipt(v6, true), "-w", "--noflush", NULL };
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	if ((f = open_memstream(&text, &len)) == NULL) {
		log_warn("open_memstream");
		return (-1);
	}
	fprintf(f, "*%s\n", table);
	if (replace)
		fprintf(f, ":%s - [0:0]\n", chain);
	dest_rules(f, cf, v6, guard);
	if (!has_jump(v6, table, chain))
		fprintf(f, "-I OUTPUT 1 -p tcp -j %s\n", chain);
	fprintf(f, "COMMIT\n");
	if (fclose(f) != 0) {
		log_warn("open_memstream");
		free(text);
		return (-1);
	}
	rc = spawn_run(argv, text, false);
	free(text);
	return (rc);
}

/* No destination of family ${v6}: its redirects go, then its guard. */
static void
clear_family(int v6)
{
	if (has_chain(v6, "nat", CHAIN))
		(void)remove_chain(v6, "nat", CHAIN);
	nat_installed[v6] = false;
	if (has_chain(v6, "filter", GUARD))
		(void)remove_chain(v6, "filter", GUARD);
}

/* The three steps (see the top of this file) for family ${v6}. */
static int
install_family(const struct gwconf *cf, int v6)
{
	char *mk[] = { ipt(v6, false), "-w", "-t", "filter", "-N", GUARD,
		NULL };

	(void)spawn_run(mk, NULL, true);
	if (restore(cf, v6, true, false)) {
		log_warnx("%s: the guard chain " GUARD " could not be "
		          "installed (are you root, is %s installed?)",
		    ipt(v6, true), ipt(v6, true));
		return (-1);
	}
	if (restore(cf, v6, false, true)) {
		log_warnx("%s: the REDIRECT rules could not be installed: "
		          "connections to the transparent destinations are "
		          "reset by " GUARD,
		    ipt(v6, true));
		return (-1);
	}
	nat_installed[v6] = true;
	if (restore(cf, v6, true, true))
		log_warnx("%s: " GUARD " not updated: destinations no longer "
		          "configured are still reset",
		    ipt(v6, true));
	return (0);
}

void
transparent_remove(void)
{
	bool any = false;
	int v6;

	for (v6 = 0; v6 < 2; v6++) {
		if (!nat_installed[v6])
			continue;
		if (remove_chain(v6, "nat", CHAIN) == 0)
			any = true;
		nat_installed[v6] = false;
	}
	if (any)
		log_info("REDIRECT rules removed; " GUARD " stays: connections "
		         "to the transparent destinations are reset until the "
		         "gateway runs again (cryptgate gateway down removes "
		         "it)");
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

int
transparent_install(const struct gwconf *cf)
{
	int n[2], v6;

	for (v6 = 0; v6 < 2; v6++) {
		if ((n[v6] = count(cf, v6)) == -1)
			return (-1);
	}
	for (v6 = 0; v6 < 2; v6++) {
		if (n[v6] == 0)
			clear_family(v6);
		else if (install_family(cf, v6))
			goto err;
	}
	log_info("transparent: %d destinations redirected to the gateway "
	         "and guarded (" GUARD ")",
	    n[0] + n[1]);
	ever_installed = true;

	/* Success! */
	return (0);

err:
	/* At start, nothing to redirect to: what we put in goes. */
	if (!ever_installed)
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
