/*
 * pkt.c: cryptgate pkt: the firewall rules of cryptgate-pktd.
 *
 *	cryptgate pkt rules [-f pkt.conf]   print the rules it installs
 *	cryptgate pkt down [-f pkt.conf]    remove them (protection off)
 *
 * The rules belong to the daemon (programs share code only through
 * libcryptgate), so both run cryptgate-pktd -r / -x: the one next to this
 * program, or in ../sbin, or in PATH.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cryptgate/log.h"
#include "cryptgate/opt.h"

#include "cmd.h"

#define PKT_DEFAULT_CONF "/etc/cryptgate/pkt.conf"
#define PKTD_NAME "cryptgate-pktd"

static void
pkt_usage(FILE *f)
{
	fprintf(f,
	    "usage: cryptgate pkt rules [-f PKT.CONF]\n"
	    "       cryptgate pkt down [-f PKT.CONF]\n"
	    "\n"
	    "rules: print the iptables and ip6tables rules cryptgate-pktd\n"
	    "       installs for the configuration (iptables-restore input).\n"
	    "down:  remove cryptgate-pktd's rules and chains.  Until then the\n"
	    "       policies' traffic is dropped whenever the daemon is not\n"
	    "       running; afterwards it is no longer protected.\n"
	    "\n"
	    "Options:\n"
	    "  -f, --config FILE   the daemon's configuration "
	    "(default " PKT_DEFAULT_CONF ")\n"
	    "  -h, --help          print this help and exit\n"
	    "\n"
	    "Exit status: 0 on success, 1 on error, 2 on a usage error.\n"
	    "See cryptgate(1) and cryptgate-pktd(8).\n");
}

/* Exec cryptgate-pktd with ${argv}; returns only on failure. */
static void
exec_pktd(char **argv)
{
	static const char *const rel[] = { "/" PKTD_NAME,
		"/../sbin/" PKTD_NAME };
	char self[PATH_MAX], path[PATH_MAX * 2], *dir;
	ssize_t n;
	size_t i;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		dir = dirname(self);
		for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			snprintf(path, sizeof(path), "%s%s", dir, rel[i]);
			if (access(path, X_OK) == 0)
				execv(path, argv);
		}
	}
	execvp(PKTD_NAME, argv);
	log_warn("pkt: cannot run " PKTD_NAME);
}

int
pkt_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfgpath = PKT_DEFAULT_CONF, *what;
	char *args[6], cmd[16];
	int ch;

	if (argc < 2) {
		pkt_usage(stderr);
		return (2);
	}
	what = argv[1];
	if (strcmp(what, "-h") == 0 || strcmp(what, "--help") == 0 ||
	    strcmp(what, "help") == 0) {
		pkt_usage(stdout);
		return (0);
	}
	if (strcmp(what, "rules") != 0 && strcmp(what, "down") != 0) {
		if (what[0] == '-')
			log_warnx("pkt: unknown option %s (see cryptgate pkt "
			          "--help)",
			    what);
		else
			log_warnx("pkt: unknown command '%s' (see cryptgate "
			          "pkt --help)",
			    what);
		return (2);
	}
	snprintf(cmd, sizeof(cmd), "pkt %s", what);
	opterr = 0;
	optind = 1;
	while ((ch = getopt_long(argc - 1, argv + 1, ":f:h", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'f':
			cfgpath = optarg;
			break;
		case 'h':
			pkt_usage(stdout);
			return (0);
		default: /* ':' or '?' */
			return (opt_error(
			    ch, argv + 1, longopts, cmd, "cryptgate pkt"));
		}
	}
	if (optind != argc - 1)
		return (opt_extra(argv[1 + optind], cmd, "cryptgate pkt"));
	args[0] = PKTD_NAME;
	args[1] = strcmp(what, "rules") == 0 ? "-r" : "-x";
	args[2] = "-f";
	args[3] = (char *)(uintptr_t)cfgpath;
	args[4] = NULL;
	fflush(stdout);
	exec_pktd(args);
	return (1);
}
