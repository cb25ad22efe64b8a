/*
 * status.c: cryptgate status: read the counters of a running
 * cryptgate-gatewayd or cryptgate-pktd from its status socket and print
 * them.
 *
 * The daemon answers each connection with text lines and closes it:
 *
 *	gateway pid=P uptime=S workers=W active=A max_connections=M ...
 *	service=NAME role=ROLE active=A accepted=N ... (one per service)
 *
 * or, from cryptgate-pktd:
 *
 *	pktd pid=P uptime=S queues=N queue_num=Q policies=K
 *	queue=Q in_pkts=N ... drop_REASON=N ... (one per queue, then
 *	queue=total)
 *
 * printed as is with -r, else as a readable block per service or queue.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cryptgate/conf.h"
#include "cryptgate/log.h"
#include "cryptgate/opt.h"

#include "cmd.h"

#define STATUS_DEFAULT_SOCKET "/run/cryptgate/gatewayd.sock"
#define STATUS_MAXBYTES ((size_t)1024 * 1024)
#define STATUS_TIMEOUT_MS 5000

static void
status_usage(FILE *f)
{
	fprintf(f,
	    "usage: cryptgate status [-r] [-f GATEWAY.CONF | -s SOCKET]\n"
	    "\n"
	    "Print the counters of a running cryptgate-gatewayd: connections\n"
	    "accepted, open and refused, handshake failures by reason, bytes\n"
	    "relayed and backend failures, per service.  From\n"
	    "cryptgate-pktd (-f pkt.conf): packets, drops by reason and\n"
	    "flows per queue.\n"
	    "\n"
	    "Options:\n"
	    "  -f, --config FILE   the gateway's (or pktd's) configuration: "
	    "its\n"
	    "                      status_socket\n"
	    "  -s, --socket PATH   the status socket "
	    "(default " STATUS_DEFAULT_SOCKET ")\n"
	    "  -r, --raw           print the daemon's lines as they are\n"
	    "  -h, --help          print this help and exit\n"
	    "\n"
	    "Exit status: 0 on success, 1 on error, 2 on a usage error.\n"
	    "See cryptgate(1), cryptgate-gatewayd(8) and cryptgate-pktd(8).\n");
}

/* Read the whole answer of the daemon at ${path}; NULL (logged). */
static char *
fetch(const char *path)
{
	struct sockaddr_un sun;
	struct pollfd p;
	size_t len = 0;
	ssize_t n;
	char *buf;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("status: %s: path too long", path);
		return (NULL);
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((buf = malloc(STATUS_MAXBYTES + 1)) == NULL) {
		log_warnx("status: out of memory");
		return (NULL);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		log_warn("status: cannot reach the gateway at %s (is "
		         "cryptgate-gatewayd running?)",
		    path);
		goto err;
	}
	p.fd = fd;
	p.events = POLLIN;
	while (len < STATUS_MAXBYTES) {
		if (poll(&p, 1, STATUS_TIMEOUT_MS) <= 0) {
			log_warnx("status: %s: no answer", path);
			goto err;
		}
		if ((n = read(fd, buf + len, STATUS_MAXBYTES - len)) == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_warn("status: read %s", path);
			goto err;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (strncmp(buf, "gateway ", 8) != 0 && strncmp(buf, "pktd ", 5) != 0) {
		log_warnx(
		    "status: %s: not a gateway or pktd status socket", path);
		free(buf);
		return (NULL);
	}
	return (buf);

err:
	if (fd != -1)
		close(fd);
	free(buf);
	return (NULL);
}

/* The value of "KEY=" in the line ${line} (up to its end), or "?". */
static const char *
field(const char *line, const char *key, char *out, size_t size)
{
	size_t klen = strlen(key), n;
	const char *p = line;

	while ((p = strstr(p, key)) != NULL) {
		if ((p == line || p[-1] == ' ') && p[klen] == '=') {
			p += klen + 1;
			n = strcspn(p, " \n");
			if (n >= size)
				n = size - 1;
			memcpy(out, p, n);
			out[n] = '\0';
			return (out);
		}
		p += klen;
	}
	snprintf(out, size, "?");
	return (out);
}

static void
print_service(const char *line)
{
	char a[8][72];

	printf("service %s (%s)\n", field(line, "service", a[0], sizeof(a[0])),
	    field(line, "role", a[1], sizeof(a[1])));
	printf("  connections  %s open; accepted %s, refused %s (limits), "
	       "reset %s\n",
	    field(line, "active", a[0], sizeof(a[0])),
	    field(line, "accepted", a[1], sizeof(a[1])),
	    field(line, "refused", a[2], sizeof(a[2])),
	    field(line, "resets", a[3], sizeof(a[3])));
	printf("  handshakes   %s ok; failed: bad psk %s, unknown identity "
	       "%s, timeout %s,\n",
	    field(line, "handshakes", a[0], sizeof(a[0])),
	    field(line, "hs_bad_psk", a[1], sizeof(a[1])),
	    field(line, "hs_unknown_identity", a[2], sizeof(a[2])),
	    field(line, "hs_timeout", a[3], sizeof(a[3])));
	printf("               malformed %s, KDC down %s, other %s\n",
	    field(line, "hs_malformed", a[0], sizeof(a[0])),
	    field(line, "hs_kdc_down", a[1], sizeof(a[1])),
	    field(line, "hs_other", a[2], sizeof(a[2])));
	printf("  bytes        %s in (from clients), %s out (to clients)\n",
	    field(line, "bytes_in", a[0], sizeof(a[0])),
	    field(line, "bytes_out", a[1], sizeof(a[1])));
	printf("  backend      %s connect failures\n",
	    field(line, "backend_failures", a[0], sizeof(a[0])));
	if (strstr(line, " protocol=ftp ") != NULL)
		printf("  ftp          %s data connections; refused: %s "
		       "commands, %s data connections from a wrong address\n",
		    field(line, "ftp_data", a[0], sizeof(a[0])),
		    field(line, "ftp_refused", a[1], sizeof(a[1])),
		    field(line, "ftp_hijack", a[2], sizeof(a[2])));
}

/* A cryptgate-pktd "queue=" line. */
static void
print_queue(const char *line)
{
	char a[6][72], name[64];
	const char *p;
	size_t n;
	bool any = false;

	printf("queue %s\n", field(line, "queue", a[0], sizeof(a[0])));
	printf("  packets      %s in, %s out; payload bytes %s in, %s out; "
	       "%s passed unprotected\n",
	    field(line, "in_pkts", a[0], sizeof(a[0])),
	    field(line, "out_pkts", a[1], sizeof(a[1])),
	    field(line, "in_bytes", a[2], sizeof(a[2])),
	    field(line, "out_bytes", a[3], sizeof(a[3])),
	    field(line, "passed", a[4], sizeof(a[4])));
	printf("  flows        %s open, %s total, %s expired\n",
	    field(line, "flows_open", a[0], sizeof(a[0])),
	    field(line, "flows_total", a[1], sizeof(a[1])),
	    field(line, "flows_expired", a[2], sizeof(a[2])));
	printf("  drops        %s (MAC failures %s)",
	    field(line, "drops", a[0], sizeof(a[0])),
	    field(line, "mac_failures", a[1], sizeof(a[1])));
	for (p = strstr(line, " drop_"); p != NULL; p = strstr(p, " drop_")) {
		p += 6;
		n = strcspn(p, "=");
		if (n + 5 >= sizeof(name) || p[n] != '=')
			break;
		memcpy(name, p - 5, n + 5);
		name[n + 5] = '\0';
		if (strcmp(field(line, name, a[0], sizeof(a[0])), "0") != 0) {
			printf("%s %s %s", any ? "," : ":", name + 5, a[0]);
			any = true;
		}
	}
	printf("\n");
	printf("  tcp          %s SACK trims, %s MSS clamps, %s keepalive "
	       "strips, %s ICMP MTU fixes\n",
	    field(line, "sack_trims", a[0], sizeof(a[0])),
	    field(line, "mss_clamps", a[1], sizeof(a[1])),
	    field(line, "keepalive_strips", a[2], sizeof(a[2])),
	    field(line, "icmp_mtu", a[3], sizeof(a[3])));
	printf("  netlink      %s batches, %s lost (ENOBUFS), %s errors\n",
	    field(line, "batches", a[0], sizeof(a[0])),
	    field(line, "enobufs", a[1], sizeof(a[1])),
	    field(line, "netlink_errors", a[2], sizeof(a[2])));
}

static void
print_all(char *text)
{
	char a[6][72], *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "gateway ", 8) == 0)
			printf("gateway pid %s, up %s s, %s workers, %s "
			       "connections open (limit %s), %s keys cached\n",
			    field(line, "pid", a[0], sizeof(a[0])),
			    field(line, "uptime", a[1], sizeof(a[1])),
			    field(line, "workers", a[2], sizeof(a[2])),
			    field(line, "active", a[3], sizeof(a[3])),
			    field(line, "max_connections", a[4], sizeof(a[4])),
			    field(line, "key_cache", a[5], sizeof(a[5])));
		else if (strncmp(line, "pktd ", 5) == 0)
			printf("pktd pid %s, up %s s, %s queues from %s, %s "
			       "policies\n",
			    field(line, "pid", a[0], sizeof(a[0])),
			    field(line, "uptime", a[1], sizeof(a[1])),
			    field(line, "queues", a[2], sizeof(a[2])),
			    field(line, "queue_num", a[3], sizeof(a[3])),
			    field(line, "policies", a[4], sizeof(a[4])));
		else if (strncmp(line, "queue=", 6) == 0)
			print_queue(line);
		else if (strncmp(line, "service=", 8) == 0)
			print_service(line);
	}
}

int
status_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, 's' },
		{ "raw", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfgpath = NULL, *sock = NULL;
	struct conf *conf = NULL;
	char *text;
	int ch, rc = 1;
	static const char *const pkt_kind[] = { "pkt", NULL };
	bool raw = false, pkt = false;

	opterr = 0;
	while (
	    (ch = getopt_long(argc, argv, ":f:s:rh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			cfgpath = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'r':
			raw = true;
			break;
		case 'h':
			status_usage(stdout);
			return (0);
		default: /* ':' or '?' */
			return (opt_error(
			    ch, argv, longopts, "status", "cryptgate status"));
		}
	}
	if (optind != argc)
		return (opt_extra(argv[optind], "status", "cryptgate status"));
	if (cfgpath != NULL && sock != NULL) {
		log_warnx("status: -f and -s cannot be used together");
		return (2);
	}
	if (cfgpath != NULL) {
		if (conf_peek(cfgpath, pkt_kind, &pkt, &conf_report_stderr))
			return (1);
		if ((conf = conf_load(cfgpath,
		         pkt ? conf_schema_pkt : conf_schema_gateway,
		         &conf_report_stderr)) == NULL)
			return (1);
		sock = conf_get_str(
		    conf_section(conf, pkt ? "pkt" : "gateway", NULL),
		    "status_socket");
	}
	if (sock == NULL)
		sock = STATUS_DEFAULT_SOCKET;
	if ((text = fetch(sock)) != NULL) {
		if (raw)
			fputs(text, stdout);
		else
			print_all(text);
		free(text);
		rc = 0;
	}
	conf_free(conf);
	return (rc);
}
