/*
 * rules.c: cryptgate-pktd's iptables and ip6tables rules.
 *
 * In each family (iptables for IPv4 policies, ip6tables for IPv6):
 *
 *   mangle CRYPTGATE-PKT-OUT (first rule of OUTPUT), CRYPTGATE-PKT-IN
 *   (first rule of INPUT): the protected packets get an HMARK mark,
 *   PKTD_MARK_BASE + hash(addresses, ports) % queues; the hash is
 *   symmetric, so both directions of a connection get the same mark.
 *
 *   filter CRYPTGATE-PKT-OUT / CRYPTGATE-PKT-IN (first rules of OUTPUT,
 *   INPUT): the same packets jump to CRYPTGATE-PKT-Q, which sends mark
 *   PKTD_MARK_BASE + i to NFQUEUE queue_num + i, and drops anything else.
 *
 * Protected packets are, per [policy]: TCP to (OUTPUT) or from (INPUT)
 * the peer prefix, not over the loopback interface, with the policy's
 * ports as the remote port (direction out), the local port (in) or either
 * (both).  And, once per family,
 * every ICMP error the kernel acts on for TCP, from any address (routers
 * send them), not over the loopback interface: ICMP destination
 * unreachable, time exceeded and parameter problem (types 3, 11, 12);
 * ICMPv6 destination unreachable, packet too big, time exceeded and
 * parameter problem (types 1-4).  HMARK hashes ICMP errors by the packet
 * they quote, so they reach the connection's queue; the transform passes
 * those that quote no protected connection.
 *
 * NFQUEUE never has --queue-bypass: with no daemon reading a queue the
 * kernel drops its packets (fail closed).  The rules are installed with
 * iptables-restore --noflush, one transaction per table: declaring a
 * chain flushes it, so the old rules are replaced by the new ones at once.
 * Commands run with posix_spawnp, never through a shell.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <arpa/inet.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "cryptgate/spawn.h"

#include "pktd.h"
#include "rules.h"

#define CH_IN "CRYPTGATE-PKT-IN"
#define CH_OUT "CRYPTGATE-PKT-OUT"
#define CH_Q "CRYPTGATE-PKT-Q"
#define MULTIPORT_MAX 15 /* slots per multiport match; a range takes 2 */

/* How a policy's ports match in a chain. */
enum pmatch { PM_PORTS, PM_SPORTS, PM_DPORTS };

static const char *
ipt(int v6, bool restore)
{
	if (restore)
		return (v6 ? "ip6tables-restore" : "iptables-restore");
	return (v6 ? "ip6tables" : "iptables");
}

/* True if ${table} ${hook} already jumps to ${chain}. */
static bool
has_jump(int v6, const char *table, const char *hook, const char *chain)
{
	char *argv[] = { (char *)(uintptr_t)ipt(v6, false), "-w", "-t",
		(char *)(uintptr_t)table, "-C", (char *)(uintptr_t)hook, "-j",
		(char *)(uintptr_t)chain, NULL };

	return (spawn_run(argv, NULL, true) == 0);
}

/* "-m multiport --Xports a,b:c" chunks of ${p} for ${pm}, one per line. */
static void
port_chunks(FILE *f, const char *pre, const struct ppolicy *p, enum pmatch pm,
    const char *post)
{
	static const char *const opt[] = { "--ports", "--sports", "--dports" };
	size_t i = 0, slots;
	int sep;

	while (i < p->nports) {
		fprintf(f, "%s -m multiport %s ", pre, opt[pm]);
		slots = 0;
		sep = 0;
		while (i < p->nports) {
			unsigned int w =
			    p->ports[i].lo == p->ports[i].hi ? 1 : 2;

			if (slots + w > MULTIPORT_MAX)
				break;
			if (sep++)
				fputc(',', f);
			if (w == 1)
				fprintf(f, "%u", p->ports[i].lo);
			else
				fprintf(
				    f, "%u:%u", p->ports[i].lo, p->ports[i].hi);
			slots += w;
			i++;
		}
		fprintf(f, " %s\n", post);
	}
}

/* The match lines of every ${v6} policy in ${table}, ending in ${target}. */
static void
matches(FILE *f, const struct pconf *pc, int v6, const char *target)
{
	static const enum pmatch out_pm[] = { [XF_BOTH] = PM_PORTS,
		[XF_INCOMING] = PM_SPORTS,
		[XF_OUTGOING] = PM_DPORTS };
	static const enum pmatch in_pm[] = { [XF_BOTH] = PM_PORTS,
		[XF_INCOMING] = PM_DPORTS,
		[XF_OUTGOING] = PM_SPORTS };
	/* Destination unreachable, time exceeded, parameter problem;
	 * ICMPv6 also packet too big. */
	static const unsigned int icmp_types[] = { 3, 11, 12 };
	static const unsigned int icmp6_types[] = { 1, 2, 3, 4 };
	const struct ppolicy *p;
	char addr[INET6_ADDRSTRLEN], pre[128];
	size_t i;

	for (i = 0; i < pc->npols; i++) {
		p = &pc->pols[i];
		if ((p->peer.family == AF_INET6) != (v6 != 0))
			continue;
		if (inet_ntop(p->peer.family, p->peer.addr, addr,
		        sizeof(addr)) == NULL)
			continue;
		snprintf(pre, sizeof(pre),
		    "-A " CH_OUT " ! -o lo -d %s/%u -p tcp", addr, p->peer.len);
		port_chunks(f, pre, p, out_pm[p->direction], target);
		snprintf(pre, sizeof(pre),
		    "-A " CH_IN " ! -i lo -s %s/%u -p tcp", addr, p->peer.len);
		port_chunks(f, pre, p, in_pm[p->direction], target);
	}
	/* Every ICMP error the kernel acts on for TCP, from any address
	 * (routers send them). */
	for (i = 0; i < (v6 ? 4 : 3); i++)
		fprintf(f,
		    v6 ? "-A " CH_IN " ! -i lo -p ipv6-icmp -m icmp6 "
		         "--icmpv6-type %u %s\n"
		       : "-A " CH_IN " ! -i lo -p icmp -m icmp "
		         "--icmp-type %u %s\n",
		    v6 ? icmp6_types[i] : icmp_types[i], target);
}

/*
 * The jumps from INPUT and OUTPUT of ${table}, first in their hooks: if
 * ${check} and a jump exists, it is moved to the front in the same
 * transaction.
 */
static void
jumps(FILE *f, int v6, const char *table, bool check)
{
	if (check && has_jump(v6, table, "INPUT", CH_IN))
		fprintf(f, "-D INPUT -j " CH_IN "\n");
	fprintf(f, "-I INPUT 1 -j " CH_IN "\n");
	if (check && has_jump(v6, table, "OUTPUT", CH_OUT))
		fprintf(f, "-D OUTPUT -j " CH_OUT "\n");
	fprintf(f, "-I OUTPUT 1 -j " CH_OUT "\n");
}

/* The iptables-restore input of family ${v6}. */
static void
family_text(FILE *f, const struct pconf *pc, int v6, bool check)
{
	char target[160];
	unsigned int i;

	snprintf(target, sizeof(target),
	    "-j HMARK --hmark-tuple src,dst,sport,dport --hmark-mod %u "
	    "--hmark-offset 0x%x --hmark-rnd 0x%x",
	    pc->queues, PKTD_MARK_BASE, PKTD_HMARK_RND);
	fprintf(f, "*mangle\n:" CH_IN " - [0:0]\n:" CH_OUT " - [0:0]\n");
	matches(f, pc, v6, target);
	jumps(f, v6, "mangle", check);
	fprintf(f, "COMMIT\n");
	fprintf(f,
	    "*filter\n:" CH_IN " - [0:0]\n:" CH_OUT " - [0:0]\n:" CH_Q
	    " - [0:0]\n");
	matches(f, pc, v6, "-j " CH_Q);
	for (i = 0; i < pc->queues; i++)
		fprintf(f,
		    "-A " CH_Q " -m mark --mark 0x%x -j NFQUEUE "
		    "--queue-num %u\n",
		    PKTD_MARK_BASE + i, (unsigned int)pc->queue_num + i);
	fprintf(f, "-A " CH_Q " -j DROP\n");
	jumps(f, v6, "filter", check);
	fprintf(f, "COMMIT\n");
}

/* The text of family ${v6} in a malloc'ed string, or NULL. */
static char *
family_string(const struct pconf *pc, int v6, bool check)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&s, &len)) == NULL)
		return (NULL);
	family_text(f, pc, v6, check);
	if (fclose(f) != 0) {
		free(s);
		return (NULL);
	}
	return (s);
}

int
rules_print(const struct pconf *pc, FILE *f)
{
	int v6;

	for (v6 = 0; v6 < 2; v6++) {
		if (!(v6 ? pc->has_v6 : pc->has_v4))
			continue;
		fprintf(f, "# %s --noflush\n", ipt(v6, true));
		family_text(f, pc, v6, false);
	}
	return (ferror(f) ? -1 : 0);
}

/* Remove the chains of family ${v6}; 0, or -1 if some remain. */
static int
remove_family(int v6)
{
	static const char *const tables[] = { "mangle", "filter" };
	static const char *const chains[] = { CH_IN, CH_OUT, CH_Q };
	const char *cmd = ipt(v6, false);
	char *del[] = { (char *)(uintptr_t)cmd, "-w", "-t", NULL, "-D", NULL,
		"-j", NULL, NULL };
	char *op[] = { (char *)(uintptr_t)cmd, "-w", "-t", NULL, NULL, NULL,
		NULL };
	char *list[] = { (char *)(uintptr_t)cmd, "-w", "-t", NULL, "-S", NULL,
		NULL };
	size_t t, c, k;
	int rc = 0;

	for (t = 0; t < 2; t++) {
		del[3] = op[3] = list[3] = (char *)(uintptr_t)tables[t];
		for (k = 0; k < 2; k++) {
			del[5] = k ? "OUTPUT" : "INPUT";
			del[7] = k ? CH_OUT : CH_IN;
			while (spawn_run(del, NULL, true) == 0)
				;
		}
		for (c = 0; c < 3; c++) {
			op[4] = "-F";
			op[5] = (char *)(uintptr_t)chains[c];
			(void)spawn_run(op, NULL, true);
		}
		for (c = 0; c < 3; c++) {
			op[4] = "-X";
			op[5] = list[5] = (char *)(uintptr_t)chains[c];
			if (spawn_run(op, NULL, true) != 0 &&
			    spawn_run(list, NULL, true) == 0) {
				log_warnx("%s: table %s: chain %s not removed "
				          "(still referenced?)",
				    cmd, tables[t], chains[c]);
				rc = -1;
			}
		}
	}
	return (rc);
}

int
rules_install(const struct pconf *pc)
{
	char *argv[] = { NULL, "-w", "--noflush", NULL };
	char *text;
	int v6;

	for (v6 = 0; v6 < 2; v6++) {
		if (!(v6 ? pc->has_v6 : pc->has_v4)) {
			(void)remove_family(v6);
			continue;
		}
		if ((text = family_string(pc, v6, true)) == NULL) {
			log_warnx("out of memory");
			return (-1);
		}
		argv[0] = (char *)(uintptr_t)ipt(v6, true);
		if (spawn_run(argv, text, false)) {
			log_warnx("%s failed: rules not installed (are you "
			          "root, are the xt_HMARK and xt_NFQUEUE "
			          "modules available?)",
			    argv[0]);
			free(text);
			return (-1);
		}
		free(text);
		log_info("%s: rules installed for queues %u..%u",
		    ipt(v6, false), pc->queue_num,
		    pc->queue_num + pc->queues - 1);
	}
	return (0);
}

int
rules_remove(void)
{
	int rc = 0, v6;

	for (v6 = 0; v6 < 2; v6++) {
		if (remove_family(v6))
			rc = -1;
	}
	return (rc);
}
