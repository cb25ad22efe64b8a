/*
 * connbench.c - tiny connection-setup benchmark for relay pairs.
 *
 *   connbench echo   PORT [IDLE_S]         threaded echo server on 127.0.0.1:PORT
 *                                          (a connection idle for IDLE_S, default
 *                                          30, is closed)
 *   connbench client PORT N [DEADLINE_S]   N sequential short connections to
 *                                          127.0.0.1:PORT (connect, send 1 byte,
 *                                          read the echo, close); prints
 *                                          "ok=<n> fail=<n> conn_per_s=<x> p50_ms=<x> p99_ms=<x>"
 *   connbench hold   PORT N [HOLD_S]       opens N connections to 127.0.0.1:PORT,
 *                                          each sends 1 byte and reads the echo,
 *                                          prints "held=<n> fail=<n> setup_s=<x>"
 *                                          and keeps them all open (idle) for
 *                                          HOLD_S seconds (default 600) or until
 *                                          SIGTERM/SIGINT
 *
 * The client loop is bounded: it stops after N connections or DEADLINE_S
 * seconds (default 60), whichever comes first, and every socket operation has
 * a 5 s timeout.  Only ever talks to 127.0.0.1.
 *
 * bench/peers/connbench.c is a copy of the project's shared connbench.c with
 * the hold mode (bench/gateway.sh: idle memory per connection) and the echo
 * idle time added; echo threads get 64 KiB stacks, so thousands fit.
 *
 * Build: cc -O2 -pthread -o connbench connbench.c
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
set_timeouts(int fd, int secs)
{
	struct timeval tv = { secs, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static struct sockaddr_in
loopback(int port)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

static int echo_idle_s = 30;
static volatile sig_atomic_t stop;

static void
on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void *
echo_conn(void *arg)
{
	int fd = (int)(long)arg;
	char buf[4096];
	ssize_t n;
	set_timeouts(fd, echo_idle_s);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			break;
	close(fd);
	return NULL;
}

static int
run_echo(int port)
{
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = loopback(port);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(lfd, 1024)) {
		perror("echo: bind/listen");
		return 1;
	}
	for (;;) {
		pthread_t t;
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("echo: accept");
			return 1;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (pthread_create(&t, &attr, echo_conn, (void *)(long)fd) != 0)
			close(fd);
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static int
run_client(int port, int n, double deadline_s)
{
	double *lat = calloc((size_t)n, sizeof(double));
	int ok = 0, fail = 0, one = 1;
	struct sockaddr_in sa = loopback(port);
	double t0 = now_s();
	if (!lat)
		return 1;
	for (int i = 0; i < n && now_s() - t0 < deadline_s; i++) {
		double s = now_s();
		char c = 'x', r = 0;
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		set_timeouts(fd, 5);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    write(fd, &c, 1) == 1 && read(fd, &r, 1) == 1 && r == c)
			lat[ok++] = (now_s() - s) * 1000.0;
		else
			fail++;
		close(fd);
	}
	double elapsed = now_s() - t0;
	if (ok == 0) {
		printf("ok=0 fail=%d conn_per_s=0 p50_ms=NA p99_ms=NA\n", fail);
		return 2;
	}
	qsort(lat, (size_t)ok, sizeof(double), cmp_double);
	int i50 = (int)(0.50 * (ok - 1) + 0.5),
	    i99 = (int)(0.99 * (ok - 1) + 0.5);
	printf("ok=%d fail=%d conn_per_s=%.1f p50_ms=%.3f p99_ms=%.3f\n", ok,
	    fail, ok / elapsed, lat[i50], lat[i99]);
	free(lat);
	return fail ? 3 : 0;
}

/* N idle connections, each past one echoed byte; held until HOLD_S/SIGTERM. */
static int
run_hold(int port, int n, double hold_s)
{
	int *fds = calloc((size_t)n, sizeof(int));
	int ok = 0, fail = 0, one = 1;
	struct sockaddr_in sa = loopback(port);
	struct rlimit rl;
	double t0 = now_s();
	if (!fds)
		return 1;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGTERM, on_stop);
	signal(SIGINT, on_stop);
	for (int i = 0; i < n && !stop; i++) {
		char c = 'h', r = 0;
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0) {
			fail++;
			continue;
		}
		set_timeouts(fd, 10);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
		    write(fd, &c, 1) == 1 && read(fd, &r, 1) == 1 && r == c) {
			fds[ok++] = fd;
		} else {
			fail++;
			close(fd);
		}
	}
	printf("held=%d fail=%d setup_s=%.2f\n", ok, fail, now_s() - t0);
	fflush(stdout);
	while (!stop && now_s() - t0 < hold_s)
		usleep(100 * 1000);
	for (int i = 0; i < ok; i++)
		close(fds[i]);
	free(fds);
	return fail ? 3 : 0;
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 3 && strcmp(argv[1], "echo") == 0) {
		if (argc >= 4)
			echo_idle_s = atoi(argv[3]);
		return run_echo(atoi(argv[2]));
	}
	if (argc >= 4 && strcmp(argv[1], "hold") == 0)
		return run_hold(atoi(argv[2]), atoi(argv[3]),
		    argc >= 5 ? atof(argv[4]) : 600.0);
	if (argc >= 4 && strcmp(argv[1], "client") == 0)
		return run_client(atoi(argv[2]), atoi(argv[3]),
		    argc >= 5 ? atof(argv[4]) : 60.0);
	fprintf(stderr,
	    "usage: %s echo PORT [IDLE_S] | client PORT N [DEADLINE_S] | "
	    "hold PORT N [HOLD_S]\n",
	    argv[0]);
	return 1;
}
