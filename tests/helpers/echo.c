/*
 * echo: a TCP echo server and test clients for the gateway tests.
 *
 *   echo serve PORT [LOG]     echo server on 127.0.0.1:PORT (PORT 0: any;
 *                             the port is printed on stdout).  Half-close
 *                             aware: after the client's EOF it sends what
 *                             is left, then its own FIN.  With LOG, one
 *                             line "conn bytes=N first=HEX8" per closed
 *                             connection (N bytes received).
 *   echo count PORT           like serve, but reads until EOF, then
 *                             answers "bytes=N\n" and closes (half-close).
 *   echo source PORT          like serve, but sends bytes until the peer
 *                             goes away, reading nothing (back-pressure).
 *   echo send ADDR FILE       connect to ADDR (ip:port), send FILE while
 *                             reading the echo, half-close after FILE,
 *                             read until EOF; print "sha256=HEX bytes=N".
 *                             Exit 0 on a clean EOF, 3 if the connection
 *                             was reset or cut, 1 on other errors.
 *   echo multi ADDR N BYTES   N concurrent connections, each sends BYTES
 *                             random bytes and checks the echo; print
 *                             "ok N" and exit 0 if every stream matched.
 *   echo chat ADDR N MS       one connection: N times send a line, expect
 *                             it back, sleep MS; exit 0 if all came back,
 *                             3 on a reset, 4 on an early clean EOF.
 *   echo sendwait ADDR FILE   like send, but half-closes only once the
 *                             whole echo came back (for peers that end
 *                             the connection at the backend's EOF).
 *   echo sendonly ADDR FILE   connect, send FILE, half-close, then print
 *                             "read=N" with what came back before EOF
 *                             (exit 3 on a reset, 0 on EOF).
 *
 * Everything is bounded by a 60 s alarm.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cryptgate/digest.h"
#include "cryptgate/encode.h"
#include "cryptgate/rand.h"
#include "cryptgate/sock.h"

#define BUFSZ 65536

static FILE *logfp;
static int mode; /* 0 echo, 1 count, 2 source */
static pthread_mutex_t logmu = PTHREAD_MUTEX_INITIALIZER;

static int
dial(const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (sock_parse(addr, 0, &ss, &len)) {
		fprintf(stderr, "echo: bad address %s\n", addr);
		exit(1);
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&ss, len) == -1) {
		perror("echo: connect");
		exit(1);
	}
	return (fd);
}

static void *
serve_one(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint8_t buf[BUFSZ], first[4] = { 0 };
	char hex[9];
	size_t total = 0, off;
	ssize_t n, m;
	char line[32];

	if (mode == 2) {
		memset(buf, 'x', sizeof(buf));
		while (write(fd, buf, sizeof(buf)) > 0)
			;
		close(fd);
		return (NULL);
	}
	while (mode == 1 && (n = read(fd, buf, sizeof(buf))) > 0)
		total += (size_t)n;
	if (mode == 1) {
		snprintf(line, sizeof(line), "bytes=%zu\n", total);
		(void)!write(fd, line, strlen(line));
		close(fd);
		return (NULL);
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (total < 4)
			memcpy(first + total, buf,
			    (size_t)n < 4 - total ? (size_t)n : 4 - total);
		total += (size_t)n;
		for (off = 0; off < (size_t)n; off += (size_t)m) {
			if ((m = write(fd, buf + off, (size_t)n - off)) <= 0)
				goto out;
		}
	}
	if (n == 0)
		shutdown(fd, SHUT_WR);
out:
	if (logfp != NULL) {
		(void)encode_hex(hex, sizeof(hex), first, 4);
		pthread_mutex_lock(&logmu);
		fprintf(logfp, "conn bytes=%zu first=%s\n", total, hex);
		fflush(logfp);
		pthread_mutex_unlock(&logmu);
	}
	/* Wait for the peer's close so that no reset is sent. */
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	return (NULL);
}

static int
serve(const char *port, const char *log)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	pthread_t th;
	int lfd, fd;
	char a[32];

	alarm(0);
	snprintf(a, sizeof(a), "127.0.0.1:%s", port);
	if ((lfd = sock_listen_str(a, 0, 0, 0)) == -1)
		return (1);
	if (sock_local(lfd, &ss, &len))
		return (1);
	if (log != NULL && (logfp = fopen(log, "a")) == NULL) {
		perror(log);
		return (1);
	}
	printf("%u\n", ntohs(((struct sockaddr_in *)&ss)->sin_port));
	fflush(stdout);
	for (;;) {
		struct pollfd p = { lfd, POLLIN, 0 };

		(void)poll(&p, 1, -1);
		if ((fd = accept(lfd, NULL, NULL)) == -1)
			continue;
		if (pthread_create(&th, NULL, serve_one, (void *)(intptr_t)fd))
			close(fd);
		else
			pthread_detach(th);
	}
}

/*
 * Send ${in} and read the echo; half-close after the input, or (${wait} >
 * 0) once ${wait} bytes came back.  Return 0 EOF, 3 cut, 1.
 */
static int
exchange(int fd, FILE *in, struct digest_ctx *d, size_t *got, size_t wait)
{
	uint8_t buf[BUFSZ], out[BUFSZ];
	size_t olen = 0, ooff = 0;
	bool ieof = false, shut = false;
	ssize_t n;

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };

		if (!ieof && olen == ooff) {
			olen = fread(out, 1, sizeof(out), in);
			ooff = 0;
			if (olen == 0)
				ieof = true;
		}
		if (ieof && !shut && *got >= wait) {
			shutdown(fd, SHUT_WR);
			shut = true;
		}
		if (olen > ooff)
			p.events |= POLLOUT;
		if (poll(&p, 1, -1) == -1)
			return (1);
		if (p.revents & (POLLIN | POLLERR | POLLHUP)) {
			n = read(fd, buf, sizeof(buf));
			if (n == 0)
				return (ieof ? 0 : 3);
			if (n < 0)
				return (errno == ECONNRESET ? 3 : 1);
			*got += (size_t)n;
			if (d != NULL && digest_update(d, buf, (size_t)n))
				return (1);
		}
		if ((p.revents & POLLOUT) && olen > ooff) {
			n = write(fd, out + ooff, olen - ooff);
			if (n < 0)
				return (errno == EPIPE || errno == ECONNRESET
				        ? 3
				        : 1);
			ooff += (size_t)n;
		}
	}
}

static int
send_file(const char *addr, const char *file, bool sum, bool wait)
{
	struct stat st;
	struct digest_ctx *d = NULL;
	uint8_t h[DIGEST_SHA256BYTES];
	char hex[2 * DIGEST_SHA256BYTES + 1];
	size_t got = 0;
	FILE *in;
	int fd, rc;

	if ((in = fopen(file, "rb")) == NULL) {
		perror(file);
		return (1);
	}
	if (sum && (d = digest_new()) == NULL) {
		fclose(in);
		return (1);
	}
	if (fstat(fileno(in), &st) == -1) {
		perror(file);
		fclose(in);
		digest_free(d);
		return (1);
	}
	fd = dial(addr);
	rc = exchange(fd, in, d, &got, wait ? (size_t)st.st_size : 0);
	if (sum) {
		if (digest_final(d, h))
			memset(h, 0, sizeof(h));
		(void)encode_hex(hex, sizeof(hex), h, sizeof(h));
		printf("sha256=%s bytes=%zu\n", hex, got);
		digest_free(d);
	} else {
		printf("read=%zu\n", got);
	}
	fclose(in);
	close(fd);
	return (rc);
}

struct stream {
	int fd;
	uint8_t *data;
	size_t len, sent, got;
	bool done, bad;
};

static int
multi(const char *addr, int n, size_t bytes)
{
	struct stream *s = calloc((size_t)n, sizeof(*s));
	struct pollfd *p = calloc((size_t)n, sizeof(*p));
	uint8_t buf[BUFSZ];
	int i, left = n, bad = 0;
	ssize_t r;

	if (s == NULL || p == NULL) {
		free(s);
		free(p);
		return (1);
	}
	for (i = 0; i < n; i++) {
		s[i].fd = dial(addr);
		s[i].len = bytes;
		if ((s[i].data = malloc(bytes)) == NULL ||
		    rand_bytes(s[i].data, bytes))
			return (1);
	}
	while (left > 0) {
		for (i = 0; i < n; i++) {
			p[i].fd = s[i].done ? -1 : s[i].fd;
			p[i].events = POLLIN;
			if (s[i].sent < s[i].len)
				p[i].events |= POLLOUT;
		}
		if (poll(p, (nfds_t)n, -1) == -1)
			return (1);
		for (i = 0; i < n; i++) {
			if (s[i].done)
				continue;
			if ((p[i].revents & POLLOUT) && s[i].sent < s[i].len) {
				r = write(s[i].fd, s[i].data + s[i].sent,
				    s[i].len - s[i].sent);
				if (r > 0 &&
				    (s[i].sent += (size_t)r) == s[i].len)
					shutdown(s[i].fd, SHUT_WR);
			}
			if (!(p[i].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			r = read(s[i].fd, buf, sizeof(buf));
			if (r > 0) {
				if (s[i].got + (size_t)r > s[i].len ||
				    memcmp(buf, s[i].data + s[i].got,
				        (size_t)r) != 0)
					s[i].bad = true;
				s[i].got += (size_t)r;
				continue;
			}
			s[i].done = true;
			left--;
			if (r < 0 || s[i].got != s[i].len || s[i].bad)
				bad++;
			close(s[i].fd);
		}
	}
	printf("%s %d\n", bad == 0 ? "ok" : "bad", bad == 0 ? n : bad);
	for (i = 0; i < n; i++)
		free(s[i].data);
	free(s);
	free(p);
	return (bad == 0 ? 0 : 1);
}

static int
chat(const char *addr, int n, int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	char line[64], back[64];
	size_t got;
	ssize_t r;
	int fd = dial(addr), i;

	for (i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "line %d of %d\n", i, n);
		if (write(fd, line, strlen(line)) != (ssize_t)strlen(line))
			return (errno == EPIPE || errno == ECONNRESET ? 3 : 1);
		for (got = 0; got < strlen(line); got += (size_t)r) {
			if ((r = read(fd, back + got, strlen(line) - got)) < 0)
				return (3);
			if (r == 0)
				return (4);
		}
		if (memcmp(back, line, strlen(line)) != 0)
			return (1);
		nanosleep(&ts, NULL);
	}
	shutdown(fd, SHUT_WR);
	r = read(fd, back, sizeof(back));
	close(fd);
	printf("chat ok %d\n", n);
	return (r == 0 ? 0 : 3);
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	alarm(60);
	if (argc >= 3 && strcmp(argv[1], "serve") == 0)
		return (serve(argv[2], argc > 3 ? argv[3] : NULL));
	if (argc == 3 && strcmp(argv[1], "count") == 0) {
		mode = 1;
		return (serve(argv[2], NULL));
	}
	if (argc == 3 && strcmp(argv[1], "source") == 0) {
		mode = 2;
		return (serve(argv[2], NULL));
	}
	if (argc == 4 && strcmp(argv[1], "send") == 0)
		return (send_file(argv[2], argv[3], true, false));
	if (argc == 4 && strcmp(argv[1], "sendwait") == 0)
		return (send_file(argv[2], argv[3], true, true));
	if (argc == 4 && strcmp(argv[1], "sendonly") == 0)
		return (send_file(argv[2], argv[3], false, false));
	if (argc == 5 && strcmp(argv[1], "multi") == 0)
		return (multi(argv[2], (int)strtol(argv[3], NULL, 10),
		    (size_t)strtoul(argv[4], NULL, 10)));
	if (argc == 5 && strcmp(argv[1], "chat") == 0)
		return (chat(argv[2], (int)strtol(argv[3], NULL, 10),
		    (int)strtol(argv[4], NULL, 10)));
	fprintf(stderr,
	    "usage: echo serve PORT [LOG] | count PORT | source "
	    "PORT | send ADDR FILE | sendwait ADDR FILE | "
	    "sendonly ADDR FILE | multi ADDR N BYTES | chat ADDR "
	    "N MS\n");
	return (2);
}
