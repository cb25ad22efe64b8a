/*
 * soakecho.c: the backend of the soak benchmark (bench/soak.sh; never part
 * of make check).
 *
 * Usage: soakecho ADDR:PORT
 *
 * An epoll echo server on ADDR:PORT (numeric): it sends back what each
 * connection sends, one buffer at a time (it reads again only once the
 * previous read was written back, so a slow reader slows its writer), and
 * closes the connection after the client's FIN or on any error.  It runs
 * until SIGTERM or SIGINT, then prints the number of connections it served
 * on stderr and exits 0 (1 if it could not listen, 2 on a usage error).
 * bench/soakclient checks what comes back.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <unistd.h>

#include "cryptgate/log.h"
#include "cryptgate/sock.h"

#define ECHOBUF 65536
#define MAXEVENTS 256

struct econn {
	struct econn *prev, *next; /* all the open connections */
	int fd;
	bool out; /* waiting to write (EPOLLOUT), else to read (EPOLLIN) */
	size_t len, off;
	uint8_t buf[ECHOBUF];
};

static int ep = -1;
static struct econn *conns;
static volatile sig_atomic_t stop;

static void
on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static void
econn_close(struct econn *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	close(c->fd);
	free(c);
}

static bool
again(void)
{
	return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

/* Read a buffer, write it back; the connection ends on EOF or error. */
static void
econn_event(struct econn *c)
{
	struct epoll_event ev = { .data.ptr = c };
	ssize_t r;

	if (c->len == 0) {
		r = recv(c->fd, c->buf, sizeof(c->buf), 0);
		if (r == -1 && again())
			return;
		if (r <= 0) {
			econn_close(c);
			return;
		}
		c->len = (size_t)r;
		c->off = 0;
	}
	r = send(c->fd, c->buf + c->off, c->len - c->off, MSG_NOSIGNAL);
	if (r == -1 && !again()) {
		econn_close(c);
		return;
	}
	if (r > 0)
		c->off += (size_t)r;
	if (c->off == c->len)
		c->len = c->off = 0;
	if (c->out != (c->len > 0)) {
		c->out = c->len > 0;
		ev.events = c->out ? EPOLLOUT : EPOLLIN;
		if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) == -1)
			econn_close(c);
	}
}

static void
echo_accept(int lfd, unsigned long *served)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct econn *c;
	int fd;

	while ((fd = sock_accept(lfd, NULL, NULL)) != -1) {
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		if ((c->next = conns) != NULL)
			conns->prev = c;
		conns = c;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
			econn_close(c);
			continue;
		}
		(*served)++;
	}
	if (errno == EMFILE || errno == ENFILE)
		usleep(10000); /* out of descriptors: let some close */
}

int
main(int argc, char **argv)
{
	struct epoll_event evs[MAXEVENTS], ev = { .events = EPOLLIN };
	struct sigaction sa = { .sa_handler = on_stop };
	struct rlimit rl;
	struct econn *c, *next;
	unsigned long served = 0;
	int lfd, i, n;

	if (argc != 2) {
		fprintf(stderr, "usage: soakecho ADDR:PORT\n");
		return (2);
	}
	log_init(1, 0, LOG_USER);
	log_procinit("soakecho");
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL) ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		perror("soakecho");
		return (1);
	}
	if ((lfd = sock_listen_str(argv[1], 0, 0, 0)) == -1)
		return (1);
	ev.data.ptr = NULL; /* the listener */
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) == -1) {
		perror("soakecho: epoll_ctl");
		return (1);
	}
	while (!stop) {
		n = epoll_wait(ep, evs, MAXEVENTS, 1000);
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				echo_accept(lfd, &served);
			else
				econn_event(evs[i].data.ptr);
		}
	}
	for (c = conns; c != NULL; c = next) {
		next = c->next;
		close(c->fd);
		free(c);
	}
	close(lfd);
	close(ep);
	fprintf(stderr, "soakecho: %lu connections served\n", served);
	return (0);
}
