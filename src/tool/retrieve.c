/*
 * retrieve.c: cryptgate retrieve: fetch a session key from the KDC as the
 * server-side gateway does for an incoming connection (diagnostics and
 * tests), and write its TLS PSK to key.cfg.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "cryptgate/kdcclient.h"
#include "cryptgate/log.h"
#include "cryptgate/wire.h"

#include "cmd.h"
#include "kdcop.h"

static const char usage_text[] =
    "NAME\n"
    "    cryptgate retrieve - fetch a session key as a server gateway does\n"
    "\n"
    "SYNOPSIS\n"
    "    cryptgate retrieve -f HOST.CONF --key-id KEYID --client-addr IP\n"
    "                       --service SVC [-o KEY.CFG]\n"
    "\n"
    "DESCRIPTION\n"
    "    Sends the KDC named in HOST.CONF a RETRIEVE for the session key\n"
    "    KEYID, exactly as this host's gateway does when a client at IP\n"
    "    connects to its service SVC with that key's PSK identity.  The\n"
    "    KDC hands the key out only if this host is the peer the key was\n"
    "    issued for, SVC and IP are the ones it was issued with, and it is\n"
    "    neither expired nor revoked; otherwise it answers DENIED, the\n"
    "    same for every reason.\n"
    "\n"
    "    The answer is checked like that of cryptgate request (pinned KDC\n"
    "    signature, request hash, key id, sealed key).  The PSK is written\n"
    "    to KEY.CFG as \"IDENTITY:HEXKEY\" (replacing the identity's line\n"
    "    if there is one; atomic, mode 0600); standard output gets the\n"
    "    identity, the key id, the requesting host's id, the expiry time\n"
    "    (UTC) and the file name, never the key.  Use it to check a\n"
    "    server's view of a key or the KDC's access rules.\n"
    "\n"
    "OPTIONS\n"
    "    -f FILE, --config=FILE\n"
    "        The host configuration of the server host.  Required.\n"
    "\n"
    "    --key-id KEYID\n"
    "        The key id: 32 hexadecimal digits, or the PSK identity\n"
    "        \"<kdc name>-<32 hex>\" as key.cfg and TLS clients show it.\n"
    "        Required.\n"
    "\n"
    "    --client-addr IP\n"
    "        The client's address, as the gateway sees it (IPv4 or IPv6).\n"
    "        Required.\n"
    "\n"
    "    --service SVC\n"
    "        The service name.  Required.\n"
    "\n"
    "    -o FILE, --output=FILE\n"
    "        The key file to write.  Default: key.cfg in the current\n"
    "        directory.\n"
    "\n"
    "    -h, --help\n"
    "        Print this help and exit.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 the key was written; 1 an error (one line on standard error,\n"
    "    e.g. \"the KDC denied the request (DENIED)\"); 2 a usage error.\n"
    "\n"
    "See cryptgate(1).\n";

int
retrieve_main(int argc, char **argv)
{
	enum { OPT_KEY_ID = 256, OPT_SERVICE, OPT_CLIENT_ADDR };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, 'o' },
		{ "key-id", required_argument, NULL, OPT_KEY_ID },
		{ "service", required_argument, NULL, OPT_SERVICE },
		{ "client-addr", required_argument, NULL, OPT_CLIENT_ADDR },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfgpath = NULL, *out = "key.cfg", *keyid = NULL;
	const char *service = NULL, *caddr = NULL;
	struct kdcop ko;
	uint8_t key_id[WIRE_KEYIDBYTES];
	struct wire_addr ca;
	int ch, rc = 1;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":f:ho:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			cfgpath = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return (0);
		case 'o':
			out = optarg;
			break;
		case OPT_KEY_ID:
			keyid = optarg;
			break;
		case OPT_SERVICE:
			service = optarg;
			break;
		case OPT_CLIENT_ADDR:
			caddr = optarg;
			break;
		default:
			return (kdcop_usage_error("retrieve", ch, argv));
		}
	}
	if (optind < argc) {
		log_warnx("retrieve: unexpected argument '%s'", argv[optind]);
		return (2);
	}
	if (cfgpath == NULL || keyid == NULL || caddr == NULL ||
	    service == NULL) {
		log_warnx("retrieve: -f HOST.CONF, --key-id, --client-addr and "
		          "--service are required (see cryptgate retrieve "
		          "--help)");
		return (2);
	}
	if (kdcop_key_args("retrieve", service, caddr, &ca, out))
		return (2);

	if (kdcop_load(&ko, cfgpath, out) || kdcop_client(&ko))
		goto out;
	if (kdcop_key_id(key_id, keyid, ko.kc, "retrieve")) {
		rc = 2;
		goto out;
	}
	if ((ko.op = kdcclient_retrieve_start(ko.kc, key_id, &ca, service)) ==
	    NULL)
		goto out;
	if (kdcop_finish(&ko, "retrieve") || kdcop_save_key(&ko, out, true))
		goto out;
	rc = 0;

out:
	kdcop_close(&ko);
	return (rc);
}
