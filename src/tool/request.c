/*
 * request.c: cryptgate request: ask the KDC for a new session key shared
 * with a peer host, and write its TLS PSK to key.cfg.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptgate/conf.h"
#include "cryptgate/encode.h"
#include "cryptgate/kdcclient.h"
#include "cryptgate/log.h"
#include "cryptgate/wire.h"

#include "cmd.h"
#include "kdcop.h"

static const char usage_text[] =
    "NAME\n"
    "    cryptgate request - get a session key from the KDC\n"
    "\n"
    "SYNOPSIS\n"
    "    cryptgate request -f HOST.CONF --peer NAME|HOSTID --service SVC\n"
    "                      [--client-addr IP] [--lifetime DURATION]\n"
    "                      [-o KEY.CFG]\n"
    "\n"
    "DESCRIPTION\n"
    "    Asks the key distribution center named in HOST.CONF for a new\n"
    "    session key shared between this host and the peer host, for the\n"
    "    service SVC.  The request is signed with this host's key; the\n"
    "    answer must be signed by the pinned KDC key ([kdc] public_key or\n"
    "    public_key_next), carry the hash of the request and the same\n"
    "    peer, service and address, and the session key sealed to this\n"
    "    host must open.  Any answer failing a check is rejected.\n"
    "\n"
    "    The TLS pre-shared key derived from the session key is written\n"
    "    to KEY.CFG as the line \"IDENTITY:HEXKEY\" (stunnel PSKsecrets\n"
    "    format), where IDENTITY is \"<kdc name>-<key id>\".  An existing\n"
    "    KEY.CFG keeps its other lines; the file is replaced atomically\n"
    "    with mode 0600.  Standard output gets the identity, the key id,\n"
    "    the expiry time (UTC) and the file name; never the key.\n"
    "\n"
    "    The KDC addresses of [kdc] address are tried in order, each for\n"
    "    at most [kdc] timeout.\n"
    "\n"
    "OPTIONS\n"
    "    -f FILE, --config=FILE\n"
    "        The host configuration (cryptgate.conf(5)): this host's key\n"
    "        and its KDC.  Required.\n"
    "\n"
    "    --peer NAME|HOSTID\n"
    "        The host at the other end: the NAME of a [peer NAME] section\n"
    "        of the configuration, or its 32-digit host id.  Required.\n"
    "\n"
    "    --service SVC\n"
    "        The service the key is for, as the peer's gateway names it\n"
    "        (1 to 64 characters of A-Z a-z 0-9 . _ -).  Required.\n"
    "\n"
    "    --client-addr IP\n"
    "        The address the peer will see this host's connections come\n"
    "        from (IPv4 or IPv6).  Default: the local address of the\n"
    "        connection to the KDC.  Give it when a NAT is in between.\n"
    "\n"
    "    --lifetime DURATION\n"
    "        How long the key should be valid: N (seconds), Ns, Nm, Nh or\n"
    "        Nd, at most 24h.  Default: the KDC's (1h unless configured);\n"
    "        the KDC may shorten it.\n"
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
    "EXAMPLES\n"
    "    cryptgate request -f /etc/cryptgate/host.conf --peer ftpserver \\\n"
    "        --service ftp -o /etc/stunnel/psk.txt\n"
    "\n"
    "See cryptgate(1), cryptgate.conf(5).\n";

/* A DURATION (N, Ns, Nm, Nh, Nd) in seconds, 1..WIRE_LIFETIME_MAX, or
 * -1. */
static long long
parse_lifetime(const char *s)
{
	unsigned long long v;
	char *end;
	long long mult = 1;

	if (!isdigit((unsigned char)s[0]))
		return (-1);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || v > WIRE_LIFETIME_MAX)
		return (-1);
	if (strcmp(end, "m") == 0)
		mult = 60;
	else if (strcmp(end, "h") == 0)
		mult = 3600;
	else if (strcmp(end, "d") == 0)
		mult = 86400;
	else if (strcmp(end, "s") != 0 && *end != '\0')
		return (-1);
	if (v == 0 || v * (unsigned long long)mult > WIRE_LIFETIME_MAX)
		return (-1);
	return ((long long)v * mult);
}

/* Decode exactly 32 hex digits at ${s} into ${id}.  Return 0 or -1. */
static int
hexid(uint8_t id[static WIRE_IDBYTES], const char *s)
{
	size_t len;

	if (strlen(s) != ENCODE_HEXLEN((size_t)WIRE_IDBYTES) ||
	    encode_unhex(id, WIRE_IDBYTES, &len, s, strlen(s)) ||
	    len != WIRE_IDBYTES)
		return (-1);
	return (0);
}

/*
 * The host id of the peer ${arg}: the id of a [peer ${arg}] section of
 * ${conf}, or ${arg} itself as 32 hex digits.  Return 0 or -1 (logged).
 */
static int
peer_lookup(
    const struct conf *conf, const char *arg, uint8_t id[static WIRE_IDBYTES])
{
	const struct conf_section *sec;
	const char *hex;

	if ((sec = conf_section(conf, "peer", arg)) != NULL) {
		hex = conf_get_str(sec, "id");
		if (hexid(id, hex) == 0)
			return (0);
		log_warnx("%s:%u: [peer %s] id must be 32 hexadecimal digits "
		          "(a host id)",
		    conf_file(conf), conf_line(sec, "id"), arg);
		return (-1);
	}
	if (hexid(id, arg) == 0)
		return (0);
	log_warnx("request: unknown peer '%s': no [peer %s] section in %s, "
	          "and not a 32-digit host id",
	    arg, arg, conf_file(conf));
	return (-1);
}

int
request_main(int argc, char **argv)
{
	enum { OPT_PEER = 256, OPT_SERVICE, OPT_CLIENT_ADDR, OPT_LIFETIME };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, 'o' },
		{ "peer", required_argument, NULL, OPT_PEER },
		{ "service", required_argument, NULL, OPT_SERVICE },
		{ "client-addr", required_argument, NULL, OPT_CLIENT_ADDR },
		{ "lifetime", required_argument, NULL, OPT_LIFETIME },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfgpath = NULL, *out = "key.cfg", *peer = NULL;
	const char *service = NULL, *caddr = NULL;
	struct kdcop ko;
	uint8_t peer_id[WIRE_IDBYTES];
	struct wire_addr ca;
	long long lifetime = 0;
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
		case OPT_PEER:
			peer = optarg;
			break;
		case OPT_SERVICE:
			service = optarg;
			break;
		case OPT_CLIENT_ADDR:
			caddr = optarg;
			break;
		case OPT_LIFETIME:
			if ((lifetime = parse_lifetime(optarg)) == -1) {
				log_warnx("request: invalid lifetime '%s' "
				          "(N, Ns, Nm, Nh or Nd; 1s to 24h)",
				    optarg);
				return (2);
			}
			break;
		default:
			return (kdcop_usage_error("request", ch, argv));
		}
	}
	if (optind < argc) {
		log_warnx("request: unexpected argument '%s'", argv[optind]);
		return (2);
	}
	if (cfgpath == NULL || peer == NULL || service == NULL) {
		log_warnx("request: -f HOST.CONF, --peer and --service are "
		          "required (see cryptgate request --help)");
		return (2);
	}
	if (kdcop_key_args("request", service, caddr, &ca, out))
		return (2);

	if (kdcop_load(&ko, cfgpath, out) ||
	    peer_lookup(ko.conf, peer, peer_id) || kdcop_client(&ko))
		goto out;
	if ((ko.op = kdcclient_request_start(ko.kc, peer_id, service,
	         caddr != NULL ? &ca : NULL, (uint32_t)lifetime)) == NULL)
		goto out;
	if (kdcop_finish(&ko, "request") || kdcop_save_key(&ko, out, false))
		goto out;
	rc = 0;

out:
	kdcop_close(&ko);
	return (rc);
}
