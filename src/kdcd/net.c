/*
 * net.c: cryptgate-kdcd's network process (see kdcd.h, "Processes"): the
 * connections (server.c) on one event loop, and the socket pair to the
 * keystore.  It holds no key and can open no file: what it knows is the
 * configuration, its listening sockets and the pair.
 *
 * Requests go to the keystore in the order their frames completed; while
 * the pair is full they wait in a queue (the keystore reads as fast as its
 * workers take them).  Answers come back in any order, each naming its
 * request.  If the keystore goes away, the process stops: without it no
 * request can be answered.
 */
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cryptgate/evloop.h"
#include "cryptgate/log.h"
#include "cryptgate/priv.h"
#include "cryptgate/sandbox.h"

#include "ipc.h"
#include "kdcd.h"

_Static_assert(IPC_RESPBYTES_MAX == KDC_RESPBYTES_MAX, "answer sizes");

struct net {
	struct kdcd *d;
	struct evloop *el;
	int fd; /* the socket pair */
	struct evloop_io io;
	bool want_out; /* io waits for room to send */
	struct kdc_job *head; /* requests not sent yet (through ->next) */
	struct kdc_job *tail;
	struct ipc_req *req; /* the message being made */
	struct ipc_resp *resp; /* an answer being read */
	int sigfd;
	struct evloop_io sigio;
	bool lost; /* the keystore went away */
	bool stopping;
};

/* The system calls of the network process: its sockets, memory, the
 * loop.  Opening anything (a file or a socket) fails. */
static const char *const net_allow[] = { "read", "readv", "writev", "recvfrom",
	"recvmsg", "sendto", "sendmsg", "accept4", "close", "shutdown",
	"setsockopt", "getsockopt", "getsockname", "getpeername", "epoll_wait",
	"epoll_pwait", "epoll_ctl", "clock_gettime", "gettimeofday",
	"nanosleep", "clock_nanosleep", "mmap", "munmap", "mremap", "mprotect",
	"madvise", "brk", "futex", "rt_sigprocmask", "sigaltstack", "fcntl",
	"fstat", "newfstatat", "restart_syscall", "getrandom", NULL };
static const char *const net_deny[] = { "open", "openat", "openat2", "creat",
	"execve", "execveat", "socket", "socketpair", "connect", "bind",
	"listen", "ptrace", "process_vm_readv", "process_vm_writev", "kill",
	"unlink", "unlinkat", "rename", "renameat", "renameat2", "mkdir",
	"mkdirat", "link", "linkat", "symlink", "symlinkat", "chmod", "fchmod",
	"fchmodat", "chown", "fchown", "fchownat", "lchown", "truncate",
	"ftruncate", "ioctl", "clone", "clone3", "fork", "vfork", "stat",
	"lstat", "statx", "access", "faccessat", "faccessat2", "readlink",
	"readlinkat", "chdir", "fchdir", "chroot", "mount", "setuid", "setgid",
	"setreuid", "setregid", "setresuid", "setresgid", "setgroups", "prctl",
	NULL };

/* Send the queued requests while the pair takes them. */
static void
net_flush(struct net *n)
{
	struct kdc_job *j;
	size_t len;
	ssize_t w;

	while ((j = n->head) != NULL && !n->lost) {
		len = ipc_req_fill(
		    n->req, j->id, j->req, j->reqlen, &j->src, j->srclen);
		w = send(n->fd, n->req, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!n->want_out &&
			    evloop_io_set(
			        n->el, &n->io, EVLOOP_IN | EVLOOP_OUT) == 0)
				n->want_out = true;
			return;
		}
		if (w == -1 && errno == EINTR)
			continue;
		if (w != (ssize_t)len) {
			log_warn("the keystore's socket");
			n->lost = true;
			evloop_break(n->el);
			return;
		}
		n->head = j->next;
		j->next = NULL;
		if (n->head == NULL)
			n->tail = NULL;
	}
	if (n->want_out && evloop_io_set(n->el, &n->io, EVLOOP_IN) == 0)
		n->want_out = false;
}

void
net_submit(struct net *n, struct kdc_job *job, uint64_t id)
{
	job->id = id;
	job->next = NULL;
	if (n->tail != NULL)
		n->tail->next = job;
	else
		n->head = job;
	n->tail = job;
	if (!n->want_out)
		net_flush(n);
}

/* Read the keystore's answers. */
static void
net_read(struct net *n)
{
	ssize_t r;

	for (;;) {
		r = recv(n->fd, n->resp, sizeof(*n->resp), MSG_DONTWAIT);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0 || ipc_resp_check(n->resp, (size_t)r)) {
			if (r > 0)
				log_warnx("malformed answer from the keystore");
			else if (!n->stopping || server_inflight(n->d->srv) > 0)
				log_warnx("the keystore is gone: stopping");
			n->lost = true;
			evloop_break(n->el);
			return;
		}
		server_answer(n->d->srv, n->resp->id, n->resp->resp,
		    n->resp->resplen, n->resp->close != 0);
	}
}

static void
net_event(struct evloop_io *io, unsigned int revents, void *arg)
{
	struct net *n = arg;

	(void)io;
	if (revents & (EVLOOP_IN | EVLOOP_HUP | EVLOOP_ERR))
		net_read(n);
	if ((revents & EVLOOP_OUT) && !n->lost)
		net_flush(n);
}

static void
net_signal(struct evloop_io *io, unsigned int revents, void *arg)
{
	struct net *n = arg;
	struct signalfd_siginfo si;

	(void)io;
	(void)revents;
	while (read(n->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo != SIGTERM && si.ssi_signo != SIGINT)
			continue; /* SIGHUP is the keystore's */
		if (n->stopping)
			continue;
		n->stopping = true;
		log_info("%s: stopping (%zu requests in progress)",
		    si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT",
		    server_inflight(n->d->srv));
		server_shutdown(n->d->srv);
	}
}

/* Tell the keystore the connection counters, for its last log line. */
static void
net_send_stats(struct net *n)
{
	struct kdc_stats *s = &n->d->stats;
	struct ipc_stats st;

	memset(&st, 0, sizeof(st));
	st.magic = IPC_STATS_MAGIC;
	st.accepted = atomic_load(&s->accepted);
	st.refused = atomic_load(&s->refused);
	st.timeouts = atomic_load(&s->timeouts);
	(void)send(n->fd, &st, sizeof(st), MSG_NOSIGNAL);
}

/*
 * Give up what the network process does not need: the user (the [kdc]
 * user, else nobody, when started as root), every capability, and every
 * system call that opens something.  0 or -1 (logged).
 */
static int
net_confine(struct kdcd *d)
{
	const struct sandbox_policy pol = { .allow = net_allow,
		.deny = net_deny };

	if (priv_drop(geteuid() == 0 ? d->net_user : NULL, 0) ||
	    kdc_die_with_monitor(d, SIGKILL))
		return (-1);
	return (sandbox_apply(&pol));
}

int
net_main(struct kdcd *d, int *lfds, size_t nlfds, int fd)
{
	struct net n;
	sigset_t mask;
	int rc = 1;

	memset(&n, 0, sizeof(n));
	n.d = d;
	n.fd = fd;
	n.sigfd = -1;
	d->net = &n;
	if ((n.req = malloc(sizeof(*n.req))) == NULL ||
	    (n.resp = malloc(sizeof(*n.resp))) == NULL) {
		log_warn("net_main");
		goto out0;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1 ||
	    (n.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1) {
		log_warn("signalfd");
		goto out0;
	}
	if ((n.el = evloop_new()) == NULL)
		goto out0;
	if ((d->srv = server_new(d, n.el, lfds, nlfds)) == NULL)
		goto out1;
	nlfds = 0; /* the server owns them now */
	evloop_io_init(&n.io, fd, net_event, &n);
	evloop_io_init(&n.sigio, n.sigfd, net_signal, &n);
	if (evloop_io_start(n.el, &n.io, EVLOOP_IN) ||
	    evloop_io_start(n.el, &n.sigio, EVLOOP_IN))
		goto out2;
	if (net_confine(d))
		goto out2;
	if (evloop_run(n.el))
		goto out2;
	rc = n.lost ? 1 : 0;

out2:
	evloop_io_stop(n.el, &n.io);
	evloop_io_stop(n.el, &n.sigio);
	server_free(d->srv);
	d->srv = NULL;
out1:
	evloop_free(n.el);
out0:
	while (nlfds-- > 0)
		close(lfds[nlfds]);
	if (!n.lost)
		net_send_stats(&n);
	if (n.sigfd != -1)
		close(n.sigfd);
	close(fd);
	free(n.req);
	free(n.resp);
	d->net = NULL;
	return (rc);
}
