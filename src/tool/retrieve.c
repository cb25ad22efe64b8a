/*
 * retrieve.c: cryptgate retrieve: fetch a session key from the KDC as the
 * server-side gateway does for an incoming connection (diagnostics and
 * tests), and write its TLS PSK to key.cfg.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cryptgate/conf.h"
#include "cryptgate/encode.h"
#include "cryptgate/file.h"
#include "cryptgate/kdcclient.h"
#include "cryptgate/keycfg.h"
#include "cryptgate/log.h"
#include "cryptgate/wire.h"

#include "cmd.h"

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

/*
 * Decode the key id ${s}: 32 hex digits, or "<${kdc_name}>-<32 hex>".
 * Return 0 or -1.
 */
static int
parse_key_id(
    uint8_t id[static WIRE_KEYIDBYTES], const char *s, const char *kdc_name)
{
	size_t len;

	if (strlen(s) == ENCODE_HEXLEN((size_t)WIRE_KEYIDBYTES) &&
	    encode_unhex(id, WIRE_KEYIDBYTES, &len, s, strlen(s)) == 0 &&
	    len == WIRE_KEYIDBYTES)
		return (0);
	return (kdcclient_identity_parse(s, kdc_name, id));
}

/* Write the key of ${res} to ${path} and print what was done. */
static int
save_key(const struct kdcclient *kc, const struct kdcclient_result *res,
    const char *path)
{
	char identity[KDCCLIENT_IDENTITYBYTES], kid[2 * WIRE_KEYIDBYTES + 1];
	char req[2 * WIRE_IDBYTES + 1], when[32], *real;
	struct tm tm;
	time_t t;

	if (file_dir_is_world_writable(path))
		log_warnx("warning: %s is in a world-writable directory: "
		          "other users can delete or replace it",
		    path);
	if (kdcclient_keycfg_update(path, kc, res, identity, sizeof(identity)))
		return (-1);
	if (encode_hex(kid, sizeof(kid), res->key_id, WIRE_KEYIDBYTES) ||
	    encode_hex(req, sizeof(req), res->requester_id, WIRE_IDBYTES))
		return (-1);
	t = (time_t)(res->not_after / 1000);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "%llu ms",
		    (unsigned long long)res->not_after);
	real = realpath(path, NULL);
	printf("identity: %s\nkey id: %s\nrequester: %s\nnot after: %s\n"
	       "key file: %s\n",
	    identity, kid, req, when, real != NULL ? real : path);
	free(real);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		log_warn("stdout");
		return (-1);
	}
	return (0);
}

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
	const struct kdcclient_result *res;
	struct kdcclient_op *op = NULL;
	struct kdcclient *kc = NULL;
	struct conf *conf = NULL;
	struct keycfg *kcfg;
	uint8_t key_id[WIRE_KEYIDBYTES];
	struct wire_addr ca;
	char msg[256];
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
		case ':':
			log_warnx("retrieve: option %s needs an argument (see "
			          "cryptgate retrieve --help)",
			    argv[optind - 1]);
			return (2);
		default:
			log_warnx("retrieve: unknown option %s (see cryptgate "
			          "retrieve --help)",
			    argv[optind - 1]);
			return (2);
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
	if (!wire_name_is_valid(service, WIRE_SERVICE_MAX)) {
		log_warnx("retrieve: invalid service name '%s' (1 to %d "
		          "characters of A-Z a-z 0-9 . _ -)",
		    service, WIRE_SERVICE_MAX);
		return (2);
	}
	if (kdcclient_addr_parse(&ca, caddr)) {
		log_warnx("retrieve: --client-addr '%s' is not an IPv4 or IPv6 "
		          "address",
		    caddr);
		return (2);
	}
	if (out[0] == '\0') {
		log_warnx("retrieve: empty output file name");
		return (2);
	}

	if ((conf = conf_load(cfgpath, conf_schema_host, NULL)) == NULL)
		goto out;
	/* A key file that cannot be read is refused before the KDC issues
	 * a key that could not be saved. */
	if ((kcfg = keycfg_load(out, KEYCFG_MISSING_OK)) == NULL)
		goto out;
	keycfg_free(kcfg);
	if ((kc = kdcclient_new_conf(conf)) == NULL)
		goto out;
	if (parse_key_id(key_id, keyid, kdcclient_kdc_name(kc))) {
		log_warnx("retrieve: --key-id '%s' is neither 32 hexadecimal "
		          "digits nor a PSK identity %s-<32 hex>",
		    keyid, kdcclient_kdc_name(kc));
		rc = 2;
		goto out;
	}
	if ((op = kdcclient_retrieve_start(kc, key_id, &ca, service)) == NULL)
		goto out;
	if (kdcclient_run(op)) {
		log_warnx("retrieve: %s", kdcclient_error(op));
		goto out;
	}
	res = kdcclient_result(op);
	if (res->error != 0) {
		kdcclient_err_format(msg, sizeof(msg), res);
		log_warnx("retrieve: %s", msg);
		goto out;
	}
	if (save_key(kc, res, out))
		goto out;
	rc = 0;

out:
	kdcclient_op_free(op);
	kdcclient_free(kc);
	conf_free(conf);
	return (rc);
}
