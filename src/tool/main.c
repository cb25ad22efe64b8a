/*
 * cryptgate: the command-line tool.  One binary, a table of subcommands
 * (wireguard-tools wg.c style), each in its own file.
 */
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "cryptgate/log.h"

#include "cmd.h"

#ifndef CRYPTGATE_VERSION
#define CRYPTGATE_VERSION "0.1.0"
#endif

static const struct subcommand {
	const char *name;
	int (*main)(int, char **);
	const char *description;
} subcommands[] = {
	{ "keygen", keygen_main,
	    "Generate a host identity (signing and sealing keys)" },
	{ "pubkey", pubkey_main,
	    "Print the public identity of a host key file" },
	{ "check-config", check_config_main,
	    "Check a configuration file and report every error" },
	{ "request", request_main,
	    "Ask the KDC for a session key and write it to key.cfg" },
	{ "retrieve", retrieve_main,
	    "Fetch a session key as a server-side gateway does" },
	{ "enroll", enroll_main,
	    "Register this host's public keys with the KDC" },
	{ "revoke", revoke_main, "Revoke this host's session keys at the KDC" },
	{ "rotate", rotate_main,
	    "Replace this host's key pair, announced to the KDC" },
	{ "kdc", kdc_main,
	    "Administer the KDC database (init, host, policy, key, audit)" },
	{ "status", status_main,
	    "Print the counters of a running cryptgate-gatewayd or -pktd" },
	{ "pkt", pkt_main,
	    "Print or remove cryptgate-pktd's firewall rules (rules, down)" },
	{ "gateway", gateway_main,
	    "Remove the transparent role's firewall guard (down)" },
};

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f,
	    "usage: cryptgate <command> [options]\n"
	    "       cryptgate <command> --help\n"
	    "       cryptgate [-h | --help | -V | --version]\n\n"
	    "Commands:\n");
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-14s %s\n", subcommands[i].name,
		    subcommands[i].description);
	fprintf(f,
	    "\nOptions:\n"
	    "  -h, --help     print this help and exit\n"
	    "  -V, --version  print the version and exit\n"
	    "\nSee cryptgate(1).\n");
}

int
main(int argc, char **argv)
{
	size_t i;

	log_init(1, 0, LOG_USER);
	log_procinit("cryptgate");

	if (argc < 2) {
		usage(stderr);
		return (2);
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return (0);
	}
	if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("cryptgate %s\n", CRYPTGATE_VERSION);
		return (0);
	}
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		if (strcmp(argv[1], subcommands[i].name) == 0)
			return (subcommands[i].main(argc - 1, argv + 1));
	}
	if (argv[1][0] == '-')
		log_warnx("unknown option %s (see cryptgate --help)", argv[1]);
	else
		log_warnx(
		    "unknown command '%s' (see cryptgate --help)", argv[1]);
	return (2);
}
