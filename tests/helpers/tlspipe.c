/*
 * tlspipe: relay stdin/stdout over one TLS 1.3 external-PSK connection made
 * with libcryptgate's tls.c, so interop with openssl s_client/s_server,
 * stunnel and gnutls can be tested without the gateway daemon.
 *
 * Usage: tlspipe client|server --psk-identity ID --psk HEX
 *            (-c ADDR:PORT | -l ADDR:PORT) [options]
 *   -c ADDR:PORT      client: connect there (numeric address)
 *   -l ADDR:PORT      server: listen there (port 0: any), serve one client
 *   --port-file F     server: write the port listened on to F
 *   --pending MS      server: the lookup answers "pending" and the key is
 *                     given MS milliseconds later (the asynchronous path)
 *   --expect N        send our close_notify only after stdin's EOF and N
 *                     bytes from the peer (so neither side cuts the other)
 *   --echo            server: send back what is received (no stdin)
 *   -t SECONDS        give up after this long (default 20)
 *
 * stdin's EOF sends close_notify (TLS 1.3 half-close); the peer's
 * close_notify ends stdout.  On stderr: "tlspipe: established identity=ID
 * cipher=SUITE" (the library verified psk_dhe_ke), and at the end
 * "tlspipe: done sent=N received=N" or "tlspipe: error: REASON".
 * Exit 0 after a clean close both ways, 1 on a TLS or I/O error, 2 usage,
 * 3 timeout.
 */
#include <sys/socket.h>

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cryptgate/cdefs.h"
#include "cryptgate/encode.h"
#include "cryptgate/log.h"
#include "cryptgate/sock.h"
#include "cryptgate/tls.h"

#define BUFSZ (128 * 1024)

struct opts {
	bool server;
	const char *id;
	uint8_t psk[TLS_PSKBYTES];
	const char *addr;
	const char *portfile;
	long pending_ms;
	long long expect;
	bool echo;
	int timeout;
};

static struct opts o = { .pending_ms = -1, .expect = -1, .timeout = 20 };

static enum tls_psk_status
lookup(void *arg, struct tls_conn *conn, const uint8_t *identity, size_t idlen,
    uint8_t psk[static TLS_PSKBYTES])
{
	if (idlen != strlen(o.id) || memcmp(identity, o.id, idlen) != 0) {
		fprintf(stderr, "tlspipe: lookup: unknown identity\n");
		return (TLS_PSK_NOTFOUND);
	}
	if (o.pending_ms >= 0)
		return (TLS_PSK_PENDING);
	memcpy(psk, o.psk, TLS_PSKBYTES);
	return (TLS_PSK_FOUND);
}

static void usage(void) CG_NORETURN;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: tlspipe client|server --psk-identity ID --psk HEX "
	    "(-c ADDR:PORT | -l ADDR:PORT)\n"
	    "       [--port-file F] [--pending MS] [--expect N] [--echo] "
	    "[-t SECONDS]\n");
	exit(2);
}

static long long
number(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		usage();
	return (v);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

static int
get_socket(void)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	char buf[SOCK_ADDRSTRLEN];
	struct pollfd pfd;
	FILE *f;
	int fd, lfd;

	if (sock_parse(o.addr, 0, &ss, &sslen) != 0)
		usage();
	if (!o.server) {
		if ((fd = socket(ss.ss_family, SOCK_STREAM, 0)) == -1 ||
		    connect(fd, (struct sockaddr *)&ss, sslen) == -1) {
			fprintf(stderr, "tlspipe: connect %s: %s\n", o.addr,
			    strerror(errno));
			exit(1);
		}
		if (sock_set_nonblock(fd) != 0)
			exit(1);
		return (fd);
	}
	if ((lfd = sock_listen((struct sockaddr *)&ss, sslen, 1, 0)) == -1 ||
	    sock_local(lfd, &ss, &sslen) != 0)
		exit(1);
	sock_format(buf, sizeof(buf), (struct sockaddr *)&ss, sslen);
	fprintf(stderr, "tlspipe: listening on %s\n", buf);
	if (o.portfile != NULL) {
		if ((f = fopen(o.portfile, "w")) == NULL)
			exit(1);
		fprintf(f, "%s\n", strrchr(buf, ':') + 1);
		fclose(f);
	}
	pfd.fd = lfd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, o.timeout * 1000) != 1) {
		fprintf(stderr, "tlspipe: error: nobody connected\n");
		exit(3);
	}
	if ((fd = sock_accept(lfd, NULL, NULL)) == -1) {
		fprintf(stderr, "tlspipe: accept: %s\n", strerror(errno));
		exit(1);
	}
	close(lfd);
	return (fd);
}

static void
die_tls(struct tls_conn *c)
{
	fprintf(stderr, "tlspipe: error: %s\n", tls_conn_error(c));
	exit(1);
}

/* Wait for ${events} on ${fd} (and stdin if ${in}) until the deadline. */
static void
wait_for(int fd, short events, bool in, double deadline, int maxms)
{
	struct pollfd p[2];
	int ms = (int)((deadline - now()) * 1000);

	if (ms <= 0) {
		fprintf(stderr, "tlspipe: error: timeout\n");
		exit(3);
	}
	if (maxms >= 0 && ms > maxms)
		ms = maxms;
	p[0].fd = fd;
	p[0].events = events;
	p[1].fd = 0;
	p[1].events = POLLIN;
	(void)poll(p, in ? 2 : 1, ms);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "psk-identity", required_argument, NULL, 'i' },
		{ "psk", required_argument, NULL, 'k' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "pending", required_argument, NULL, 'P' },
		{ "expect", required_argument, NULL, 'e' },
		{ "echo", no_argument, NULL, 'E' },
		{ NULL, 0, NULL, 0 },
	};
	struct tls_ctx_config cfg = { .psk_lookup = lookup };
	struct tls_ctx *ctx;
	struct tls_conn *c;
	static uint8_t up[BUFSZ], down[BUFSZ];
	size_t uplen = 0, klen = 0;
	long long sent = 0, received = 0;
	bool in_eof = false, peer_eof = false, shut = false;
	double deadline, answer_at = 0;
	ssize_t n;
	int ch, fd, r;
	short ev;

	log_init(1, 0, LOG_USER);
	log_procinit("tlspipe");
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "server") == 0)
		o.server = true;
	else if (strcmp(argv[1], "client") != 0)
		usage();
	optind = 2;
	while ((ch = getopt_long(argc, argv, "c:l:t:", lo, NULL)) != -1) {
		switch (ch) {
		case 'i':
			o.id = optarg;
			break;
		case 'k':
			if (encode_unhex(o.psk, sizeof(o.psk), &klen, optarg,
			        strlen(optarg)) != 0 ||
			    klen != TLS_PSKBYTES)
				usage();
			break;
		case 'c':
		case 'l':
			if ((ch == 'l') != o.server)
				usage();
			o.addr = optarg;
			break;
		case 'p':
			o.portfile = optarg;
			break;
		case 'P':
			o.pending_ms = (long)number(optarg);
			break;
		case 'e':
			o.expect = number(optarg);
			break;
		case 'E':
			o.echo = true;
			break;
		case 't':
			o.timeout = (int)number(optarg);
			break;
		default:
			usage();
		}
	}
	if (o.id == NULL || klen != TLS_PSKBYTES || o.addr == NULL ||
	    optind != argc)
		usage();

	cfg.role = o.server ? TLS_ROLE_SERVER : TLS_ROLE_CLIENT;
	if ((ctx = tls_ctx_new(&cfg)) == NULL)
		exit(1);
	deadline = now() + o.timeout;
	fd = get_socket();
	if ((c = tls_conn_new(ctx, fd, NULL)) == NULL)
		exit(1);
	if (!o.server &&
	    (o.id == NULL ||
	        tls_conn_set_psk(c, o.id, strlen(o.id), o.psk) != 0))
		exit(1);

	/* Handshake. */
	while ((r = tls_handshake(c)) != TLS_OK) {
		if (r == TLS_ERROR)
			die_tls(c);
		if (r == TLS_WANT_PSK) {
			if (answer_at == 0) {
				answer_at =
				    now() + (double)o.pending_ms / 1000.0;
				fprintf(stderr, "tlspipe: lookup pending\n");
			}
			if (now() < answer_at) {
				wait_for(fd, 0, false, deadline,
				    (int)((answer_at - now()) * 1000) + 1);
				continue;
			}
			if (tls_conn_set_psk(c, tls_conn_identity(c),
			        strlen(tls_conn_identity(c)), o.psk) != 0)
				exit(1);
			continue;
		}
		wait_for(fd, r == TLS_WANT_WRITE ? POLLOUT : POLLIN, false,
		    deadline, -1);
	}
	fprintf(stderr, "tlspipe: established identity=%s cipher=%s\n",
	    tls_conn_identity(c), tls_conn_cipher(c));

	/* Relay until both directions are closed. */
	in_eof = o.echo;
	if (!in_eof && sock_set_nonblock(0) != 0)
		exit(1);
	while (!(peer_eof && shut)) {
		ev = 0;
		if (!in_eof && uplen == 0) {
			n = read(0, up, sizeof(up));
			if (n > 0)
				uplen = (size_t)n;
			else if (n == 0)
				in_eof = true;
			else if (errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, "tlspipe: error: stdin: %s\n",
				    strerror(errno));
				exit(1);
			}
		}
		while (uplen > 0) {
			n = tls_write(c, up, uplen);
			if (n == TLS_ERROR)
				die_tls(c);
			if (n < 0) {
				ev |= n == TLS_WANT_WRITE ? POLLOUT : POLLIN;
				break;
			}
			sent += n;
			memmove(up, up + n, uplen - (size_t)n);
			uplen -= (size_t)n;
		}
		while (!peer_eof) {
			/* Echo: read only what can be sent back now. */
			size_t room =
			    o.echo ? sizeof(up) - uplen : sizeof(down);

			if (room == 0)
				break;
			n = tls_read(c, o.echo ? up + uplen : down, room);
			if (n == TLS_EOF) {
				peer_eof = true;
				if (o.echo)
					in_eof = true;
				else
					close(1);
				break;
			}
			if (n == TLS_ERROR)
				die_tls(c);
			if (n < 0) {
				ev |= n == TLS_WANT_WRITE ? POLLOUT : POLLIN;
				break;
			}
			received += n;
			if (o.echo) {
				uplen += (size_t)n;
				break;
			}
			if (fwrite(down, 1, (size_t)n, stdout) != (size_t)n ||
			    fflush(stdout) != 0) {
				fprintf(stderr, "tlspipe: error: stdout\n");
				exit(1);
			}
		}
		if (in_eof && uplen == 0 && !shut &&
		    (o.expect < 0 || received >= o.expect)) {
			if ((r = tls_shutdown(c)) == TLS_ERROR)
				die_tls(c);
			if (r == TLS_OK)
				shut = true;
			else
				ev |= POLLOUT;
		}
		if (o.echo && uplen > 0 && !(ev & (POLLOUT | POLLIN)))
			continue; /* echo what was read */
		if (!(peer_eof && shut))
			wait_for(fd, ev, !in_eof && uplen == 0, deadline,
			    ev == 0 ? 50 : -1);
	}
	fprintf(
	    stderr, "tlspipe: done sent=%lld received=%lld\n", sent, received);
	tls_conn_free(c);
	tls_ctx_free(ctx);
	close(fd);
	return (0);
}
