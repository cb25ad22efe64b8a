/*
 * enroll.c: cryptgate enroll: register this host's public keys with the
 * KDC (pending until an administrator approves, or active at once with a
 * one-time token).
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cryptgate/conf.h"
#include "cryptgate/encode.h"
#include "cryptgate/kdcclient.h"
#include "cryptgate/log.h"
#include "cryptgate/secret.h"
#include "cryptgate/wire.h"

#include "cmd.h"

static const char usage_text[] =
    "NAME\n"
    "    cryptgate enroll - register this host with the KDC\n"
    "\n"
    "SYNOPSIS\n"
    "    cryptgate enroll -f HOST.CONF [--token TOKEN] [--addr IP]...\n"
    "\n"
    "DESCRIPTION\n"
    "    Sends the KDC named in HOST.CONF this host's public identity (its\n"
    "    Ed25519 signing key and its sealing key, from [host] key) under\n"
    "    the name [host] name, signed with the new signing key itself as\n"
    "    proof of possession.  The KDC answers with the host id it\n"
    "    computed, which must be this host's, and the host's state, which\n"
    "    is printed as one line:\n"
    "\n"
    "        pending approval   an administrator must still run\n"
    "                           cryptgate kdc host approve on the KDC\n"
    "        active             the host may request keys now\n"
    "\n"
    "    With a one-time token from cryptgate kdc token create the host is\n"
    "    active at once.  Enrolling again with the same keys is harmless.\n"
    "\n"
    "OPTIONS\n"
    "    -f FILE, --config=FILE\n"
    "        The host configuration.  Required.\n"
    "\n"
    "    --token TOKEN\n"
    "        The one-time enrollment token, 64 hexadecimal digits; it\n"
    "        keys an HMAC-SHA256 over the request and is not sent itself.\n"
    "\n"
    "    --addr IP\n"
    "        An address of this host to register (IPv4 or IPv6); repeat\n"
    "        for more, at most 16.\n"
    "\n"
    "    -h, --help\n"
    "        Print this help and exit.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 enrolled (pending or active); 1 an error (one line on standard\n"
    "    error); 2 a usage error.\n"
    "\n"
    "See cryptgate(1), cryptgate-kdc(1).\n";

int
enroll_main(int argc, char **argv)
{
	enum { OPT_TOKEN = 256, OPT_ADDR };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "token", required_argument, NULL, OPT_TOKEN },
		{ "addr", required_argument, NULL, OPT_ADDR },
		{ NULL, 0, NULL, 0 },
	};
	struct wire_addr addrs[WIRE_ADDRS_MAX];
	const struct kdcclient_result *res;
	const char *cfgpath = NULL, *name;
	struct kdcclient_op *op = NULL;
	struct kdcclient *kc = NULL;
	struct conf *conf = NULL;
	uint8_t token[WIRE_MACBYTES];
	size_t naddrs = 0, len;
	bool has_token = false;
	char msg[256];
	int ch, rc = 1;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":f:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			cfgpath = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return (0);
		case OPT_TOKEN:
			if (strlen(optarg) !=
			        ENCODE_HEXLEN((size_t)WIRE_MACBYTES) ||
			    encode_unhex(token, sizeof(token), &len, optarg,
			        strlen(optarg)) ||
			    len != WIRE_MACBYTES) {
				log_warnx("enroll: --token must be 64 "
				          "hexadecimal digits");
				secret_wipe(token, sizeof(token));
				return (2);
			}
			has_token = true;
			break;
		case OPT_ADDR:
			if (naddrs == WIRE_ADDRS_MAX) {
				log_warnx("enroll: at most %d --addr",
				    WIRE_ADDRS_MAX);
				goto usage;
			}
			if (kdcclient_addr_parse(&addrs[naddrs], optarg)) {
				log_warnx("enroll: --addr '%s' is not an IPv4 "
				          "or IPv6 address",
				    optarg);
				goto usage;
			}
			naddrs++;
			break;
		case ':':
			log_warnx("enroll: option %s needs an argument (see "
			          "cryptgate enroll --help)",
			    argv[optind - 1]);
			goto usage;
		default:
			log_warnx("enroll: unknown option %s (see cryptgate "
			          "enroll --help)",
			    argv[optind - 1]);
			goto usage;
		}
	}
	if (optind < argc) {
		log_warnx("enroll: unexpected argument '%s'", argv[optind]);
		goto usage;
	}
	if (cfgpath == NULL) {
		log_warnx("enroll: -f HOST.CONF is required (see cryptgate "
		          "enroll --help)");
		goto usage;
	}

	if ((conf = conf_load(cfgpath, conf_schema_host, NULL)) == NULL)
		goto out;
	name = conf_get_str(conf_section(conf, "host", NULL), "name");
	if (!wire_name_is_valid(name, WIRE_HOSTNAME_MAX)) {
		log_warnx("%s:%u: host name '%s' cannot be enrolled: use 1 to "
		          "%d characters of A-Z a-z 0-9 . _ -",
		    cfgpath,
		    conf_line(conf_section(conf, "host", NULL), "name"), name,
		    WIRE_HOSTNAME_MAX);
		goto out;
	}
	if ((kc = kdcclient_new_conf(conf)) == NULL)
		goto out;
	if ((op = kdcclient_enroll_start(
	         kc, name, addrs, naddrs, has_token ? token : NULL)) == NULL)
		goto out;
	if (kdcclient_run(op)) {
		log_warnx("enroll: %s", kdcclient_error(op));
		goto out;
	}
	res = kdcclient_result(op);
	if (res->error != 0) {
		kdcclient_err_format(msg, sizeof(msg), res);
		log_warnx("enroll: %s", msg);
		goto out;
	}
	printf("%s\n",
	    res->enroll_state == WIRE_STATE_ACTIVE ? "active"
	                                           : "pending approval");
	if (fflush(stdout) == EOF || ferror(stdout)) {
		log_warn("stdout");
		goto out;
	}
	rc = 0;

out:
	secret_wipe(token, sizeof(token));
	kdcclient_op_free(op);
	kdcclient_free(kc);
	conf_free(conf);
	return (rc);

usage:
	secret_wipe(token, sizeof(token));
	return (2);
}
