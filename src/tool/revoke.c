/*
 * revoke.c: cryptgate revoke: revoke one of this host's session keys, or
 * all of them, at the KDC.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cryptgate/kdcclient.h"
#include "cryptgate/log.h"
#include "cryptgate/wire.h"

#include "cmd.h"
#include "kdcop.h"

static const char usage_text[] =
    "NAME\n"
    "    cryptgate revoke - revoke this host's session keys at the KDC\n"
    "\n"
    "SYNOPSIS\n"
    "    cryptgate revoke -f HOST.CONF (--key-id KEYID | --all)\n"
    "                     [--reason REASON]\n"
    "\n"
    "DESCRIPTION\n"
    "    Asks the KDC named in HOST.CONF to revoke the session key KEYID,\n"
    "    or with --all every key issued to this host.  A revoked key is\n"
    "    refused to the peer's gateway from its next RETRIEVE on, so new\n"
    "    connections with it fail once the gateways' key caches expire\n"
    "    (60 s by default); open connections are not cut.  The KDC only\n"
    "    revokes keys this host is party to.  Prints \"revoked N key(s)\".\n"
    "\n"
    "OPTIONS\n"
    "    -f FILE, --config=FILE\n"
    "        The host configuration.  Required.\n"
    "\n"
    "    --key-id KEYID\n"
    "        The key: 32 hexadecimal digits, or its PSK identity\n"
    "        \"<kdc name>-<32 hex>\" as written in key.cfg.\n"
    "\n"
    "    --all\n"
    "        Every key of this host (after a compromise of this host).\n"
    "\n"
    "    --reason REASON\n"
    "        Recorded in the KDC's audit log: unspecified (default),\n"
    "        compromise, superseded or retired.\n"
    "\n"
    "    -h, --help\n"
    "        Print this help and exit.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 the KDC answered (even if nothing was revoked); 1 an error (one\n"
    "    line on standard error); 2 a usage error.\n"
    "\n"
    "See cryptgate(1).\n";

/* enum wire_revoke_reason of ${s}, or -1. */
static int
parse_reason(const char *s)
{
	static const char *const names[] = { "unspecified", "compromise",
		"superseded", "retired" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0)
			return ((int)i);
	}
	return (-1);
}

int
revoke_main(int argc, char **argv)
{
	enum { OPT_KEY_ID = 256, OPT_ALL, OPT_REASON };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "key-id", required_argument, NULL, OPT_KEY_ID },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "reason", required_argument, NULL, OPT_REASON },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfgpath = NULL, *keyid = NULL;
	struct kdcop ko;
	uint8_t key_id[WIRE_KEYIDBYTES];
	uint32_t revoked;
	int ch, rc = 1, all = 0, reason = WIRE_REASON_UNSPECIFIED;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":f:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			cfgpath = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return (0);
		case OPT_KEY_ID:
			keyid = optarg;
			break;
		case OPT_ALL:
			all = 1;
			break;
		case OPT_REASON:
			if ((reason = parse_reason(optarg)) == -1) {
				log_warnx(
				    "revoke: unknown reason '%s' "
				    "(unspecified, compromise, superseded "
				    "or retired)",
				    optarg);
				return (2);
			}
			break;
		default:
			return (kdcop_usage_error("revoke", ch, argv));
		}
	}
	if (optind < argc) {
		log_warnx("revoke: unexpected argument '%s'", argv[optind]);
		return (2);
	}
	if (cfgpath == NULL || (keyid == NULL) == !all) {
		log_warnx("revoke: -f HOST.CONF and one of --key-id or --all "
		          "are required (see cryptgate revoke --help)");
		return (2);
	}

	if (kdcop_load(&ko, cfgpath, NULL) || kdcop_client(&ko))
		goto out;
	if (keyid != NULL && kdcop_key_id(key_id, keyid, ko.kc, "revoke")) {
		rc = 2;
		goto out;
	}
	if ((ko.op = kdcclient_revoke_start(ko.kc,
	         all ? WIRE_REVOKE_MINE : WIRE_REVOKE_KEY, all ? NULL : key_id,
	         (unsigned int)reason)) == NULL)
		goto out;
	if (kdcop_finish(&ko, "revoke"))
		goto out;
	revoked = kdcclient_result(ko.op)->revoked;
	printf("revoked %u key%s\n", (unsigned int)revoked,
	    revoked == 1 ? "" : "s");
	if (fflush(stdout) == EOF || ferror(stdout)) {
		log_warn("stdout");
		goto out;
	}
	rc = 0;

out:
	kdcop_close(&ko);
	return (rc);
}
