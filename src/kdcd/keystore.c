/*
 * keystore.c: cryptgate-kdcd's keystore process, the only one that holds
 * the signing key, the master key and the database (see kdcd.h,
 * "Processes").  It never reads the network: request messages come from
 * the network process over the socket pair (ipc.h), go through the
 * workers and the writer (kdc.c, kdc_op.c, writer.c), and each answer goes
 * back as one message.
 *
 * The main thread reads the socket pair in an event loop, with the
 * signals.  It stops reading while max_connections requests are in
 * progress (a network process that floods it only waits), and it stops
 * when the network process closes the pair and every request has been
 * answered.  A malformed message means the network process is broken or
 * no longer ours: the keystore stops at once.
 */
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cryptgate/conf.h"
#include "cryptgate/evloop.h"
#include "cryptgate/hostkey.h"
#include "cryptgate/keywrap.h"
#include "cryptgate/log.h"
#include "cryptgate/priv.h"
#include "cryptgate/replay.h"
#include "cryptgate/sandbox.h"
#include "cryptgate/secret.h"
#include "cryptgate/store.h"

#include "ipc.h"
#include "kdcd.h"

/* After SIGTERM, how long the network process may take to close the pair
 * (it answers what it has first). */
#define KS_TERM_WAIT_MS (KDC_SHUTDOWN_WAIT_MS + 2000)
/* Requests in progress at most, whatever max_connections says. */
#define KS_INFLIGHT_MAX 4096

/* A request with its message: the frame the job points to lives here. */
struct ks_job {
	struct kdc_job job;
	struct ipc_req req;
};

struct keystore {
	struct kdcd *d;
	struct evloop *el;
	int fd; /* the socket pair */
	struct evloop_io io;
	bool reading; /* io is started */
	bool eof; /* the network process closed the pair */
	bool failed; /* a malformed message: stop, exit 1 */
	atomic_size_t inflight;
	size_t max_inflight;
	int sigfd;
	struct evloop_io sigio;
	struct evloop_timer term_timer;
};

/* The system calls of the keystore: files (the database, the audit log,
 * SQLite's journal), memory, threads, the socket pair, the loop, and
 * syslog's socket. */
static const char *const ks_allow[] = { "read", "pread64", "pwrite64", "readv",
	"writev", "lseek", "fsync", "fdatasync", "fcntl", "openat", "close",
	"fstat", "newfstatat", "statx", "stat", "lstat", "access", "faccessat",
	"faccessat2", "unlink", "unlinkat", "ftruncate", "fallocate", "getcwd",
	"readlink", "mmap", "munmap", "mremap", "mprotect", "madvise", "brk",
	"futex", "clock_gettime", "clock_nanosleep", "nanosleep",
	"gettimeofday", "getrandom", "rt_sigprocmask", "sigaltstack", "sendto",
	"sendmsg", "recvfrom", "recvmsg", "connect", "epoll_wait",
	"epoll_pwait", "epoll_ctl", "clone", "clone3", "set_robust_list",
	"rseq", "sched_yield", "getuid", "geteuid", "getgid", "getegid",
	"uname", "prlimit64", "getdents64", "poll", "ppoll", "restart_syscall",
	NULL };
static const char *const ks_deny[] = { "execve", "execveat", "ioctl",
	"process_vm_readv", "process_vm_writev", "bind", "listen", "accept",
	"accept4", "kill", NULL };

static struct keystore *ks_global; /* for keystore_complete */

/* Load the signing key and the master key; 0 or -1 (logged). */
static int
load_keys(struct kdcd *d, const struct conf_section *sec)
{
	struct hostpub pub;

	if ((d->hk = hostkey_load(conf_get_str(sec, "signing_key"))) == NULL)
		return (-1);
	hostkey_public(d->hk, &pub);
	memcpy(d->kdc_id, pub.host_id, WIRE_IDBYTES);
	if ((d->master = keywrap_master_load(
	         conf_get_str(sec, "master_key"))) == NULL)
		return (-1);
	return (0);
}

struct master_check {
	const struct kdcd *d;
	bool seen; /* a stored key was tried */
	bool opened; /* and the master key opened it */
	char key_id[2 * STORE_IDBYTES + 1];
};

static int
master_check_one(const struct store_key *k, void *arg)
{
	struct master_check *mc = arg;
	uint8_t key[WIRE_SESSIONKEYBYTES];
	size_t keylen;

	mc->seen = true;
	kdc_hex(mc->key_id, k->key_id, sizeof(k->key_id));
	mc->opened =
	    keywrap_unwrap(key, sizeof(key), &keylen, k->wrapped, k->wrappedlen,
	        k->key_id, sizeof(k->key_id), mc->d->master) == 0 &&
	    keylen == sizeof(key);
	secret_wipe(key, sizeof(key));
	return (1); /* one is enough */
}

/*
 * The master key must open the keys already stored: a wrong master_key
 * file would otherwise show only later, as INTERNAL answers to RETRIEVE.
 * 0 (it does, or nothing is stored yet) or -1 (logged).
 */
static int
check_master(const struct kdcd *d, struct store *st)
{
	struct master_check mc = { .d = d };

	if (store_key_foreach(st, master_check_one, &mc) == -1 && !mc.seen)
		return (-1); /* the database said why */
	if (mc.seen && !mc.opened) {
		log_warnx("%s: master_key does not open the stored session "
		          "keys (tried key %s): wrong master key file for "
		          "this database?",
		    d->confpath, mc.key_id);
		return (-1);
	}
	return (0);
}

int
keystore_check(struct kdcd *d, const struct conf_section *sec)
{
	struct store *st;
	int rc = -1;

	if (load_keys(d, sec))
		goto out;
	/* The database must exist (cryptgate kdc init) and open. */
	if ((st = store_open(d->dbpath, STORE_READONLY)) == NULL)
		goto out;
	rc = check_master(d, st);
	store_close(st);
out:
	keywrap_master_free(d->master);
	d->master = NULL;
	hostkey_free(d->hk);
	d->hk = NULL;
	return (rc);
}

static int
replay_load_cb(
    const uint8_t *sender, const uint8_t *nonce, int64_t expires, void *arg)
{
	struct kdcd *d = arg;
	int64_t now = kdc_now_ms();

	switch (replay_check(d->replay, sender, nonce,
	    (uint64_t)(expires - d->replay_window_ms), (uint64_t)now)) {
	case REPLAY_FULL:
		log_warnx("replay cache full while loading persisted nonces");
		return (-1);
	default:
		return (0);
	}
}

static void
log_stats(struct kdcd *d)
{
	struct kdc_stats *s = &d->stats;
	uint64_t b = atomic_load(&s->batches), n = atomic_load(&s->batched);

	log_info("served %llu requests (REQUEST %llu, RETRIEVE %llu, ENROLL "
	         "%llu, REVOKE %llu, ROTATE %llu, errors %llu); %llu "
	         "connections (%llu refused, %llu timed out); %llu commits, "
	         "%.1f requests each on average, at most %llu",
	    (unsigned long long)atomic_load(&s->requests),
	    (unsigned long long)atomic_load(&s->by_type[WIRE_REQUEST]),
	    (unsigned long long)atomic_load(&s->by_type[WIRE_RETRIEVE]),
	    (unsigned long long)atomic_load(&s->by_type[WIRE_ENROLL]),
	    (unsigned long long)atomic_load(&s->by_type[WIRE_REVOKE]),
	    (unsigned long long)atomic_load(&s->by_type[WIRE_ROTATE]),
	    (unsigned long long)atomic_load(&s->errors),
	    (unsigned long long)atomic_load(&s->accepted),
	    (unsigned long long)atomic_load(&s->refused),
	    (unsigned long long)atomic_load(&s->timeouts),
	    (unsigned long long)b, b > 0 ? (double)n / (double)b : 0.0,
	    (unsigned long long)atomic_load(&s->batch_max));
}

/* --- the socket pair ------------------------------------------------------ */

/* Stop when the pair is closed and nothing is in progress. */
static void
ks_maybe_done(struct keystore *ks)
{
	if ((ks->eof || ks->failed) && atomic_load(&ks->inflight) == 0)
		evloop_break(ks->el);
}

static void
ks_stop_reading(struct keystore *ks)
{
	if (ks->reading) {
		evloop_io_stop(ks->el, &ks->io);
		ks->reading = false;
	}
}

/* A request message: make it a job for the workers. */
static void
ks_submit(struct keystore *ks, struct ks_job *kj)
{
	struct kdc_job *j = &kj->job;
	const struct ipc_req *r = &kj->req;

	memset(j, 0, sizeof(*j));
	j->req = r->frame;
	j->reqlen = r->framelen;
	memcpy(&j->src, &r->src, sizeof(j->src));
	j->srclen = (socklen_t)r->srclen;
	j->type = r->type;
	j->suite =
	    wire_sealed_bytes(r->suite) != 0 ? r->suite : WIRE_SUITE_X25519;
	memcpy(j->nonce, r->nonce, WIRE_NONCEBYTES);
	j->ipc = r;
	atomic_fetch_add(&ks->inflight, 1);
	kdc_submit(ks->d, j);
}

/* Read every message the pair holds (up to the in-flight limit). */
static void
ks_read(struct keystore *ks)
{
	struct ks_job *kj;
	const struct ipc_stats *st;
	struct kdc_stats *s = &ks->d->stats;
	ssize_t n;

	while (!ks->eof && !ks->failed) {
		if (atomic_load(&ks->inflight) >= ks->max_inflight) {
			ks_stop_reading(ks); /* a completion resumes */
			return;
		}
		if ((kj = malloc(sizeof(*kj))) == NULL) {
			log_warn("keystore: request");
			ks_stop_reading(ks);
			return; /* a completion resumes */
		}
		n = recv(ks->fd, &kj->req, sizeof(kj->req), MSG_DONTWAIT);
		if (n > 0 && (size_t)n >= sizeof(uint32_t) &&
		    kj->req.magic == IPC_STATS_MAGIC) {
			st = (const struct ipc_stats *)(void *)&kj->req;
			if (ipc_stats_check(st, (size_t)n) == 0) {
				atomic_fetch_add(&s->accepted, st->accepted);
				atomic_fetch_add(&s->refused, st->refused);
				atomic_fetch_add(&s->timeouts, st->timeouts);
				free(kj);
				continue;
			}
		} else if (n > 0 && ipc_req_check(&kj->req, (size_t)n) == 0) {
			ks_submit(ks, kj);
			continue;
		}
		free(kj);
		if (n > 0) {
			log_warnx("keystore: malformed message from the "
			          "network process (%zd bytes): stopping",
			    n);
			ks->failed = true;
		} else if (n == 0) {
			ks->eof = true;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR) {
			return;
		} else {
			log_warn("keystore: recv");
			ks->eof = true;
		}
	}
	ks_stop_reading(ks);
	ks_maybe_done(ks);
}

static void
ks_event(struct evloop_io *io, unsigned int revents, void *arg)
{
	(void)io;
	(void)revents;
	ks_read(arg);
}

/* A completion freed room, or the last request is answered. */
static void
ks_wakeup(void *arg)
{
	struct keystore *ks = arg;

	if (!ks->reading && !ks->eof && !ks->failed &&
	    atomic_load(&ks->inflight) < ks->max_inflight) {
		if (evloop_io_start(ks->el, &ks->io, EVLOOP_IN) == 0)
			ks->reading = true;
	}
	ks_maybe_done(ks);
}

void
keystore_complete(struct kdcd *d, struct kdc_job *job)
{
	struct keystore *ks = ks_global;
	struct ks_job *kj = (struct ks_job *)(void *)((char *)job -
	    offsetof(struct ks_job, job));
	struct ipc_resp resp;
	ssize_t n;

	(void)d;
	memset(&resp, 0, sizeof(resp));
	resp.magic = IPC_RESP_MAGIC;
	resp.id = kj->req.id;
	resp.close = job->close ? 1 : 0;
	if (!job->close && job->resplen <= sizeof(resp.resp)) {
		resp.resplen = (uint32_t)job->resplen;
		memcpy(resp.resp, job->resp, job->resplen);
	} else {
		resp.close = 1;
	}
	do
		n = send(ks->fd, &resp, sizeof(resp), MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)sizeof(resp))
		log_debug("keystore: answer not delivered: %s",
		    n == -1 ? strerror(errno) : "short send");
	secret_wipe(kj, sizeof(*kj));
	free(kj);
	/* The loop resumes reading or ends once nothing is in progress. */
	if (atomic_fetch_sub(&ks->inflight, 1) == 1 || !ks->reading)
		evloop_wakeup(ks->el);
}

/* --- signals ---------------------------------------------------------------- */

static void
term_expired(struct evloop_timer *t, void *arg)
{
	struct keystore *ks = arg;

	(void)t;
	log_warnx("keystore: the network process did not stop within %d "
	          "ms: stopping",
	    KS_TERM_WAIT_MS);
	ks->eof = true;
	ks_stop_reading(ks);
	evloop_break(ks->el);
}

static void
ks_signal(struct evloop_io *io, unsigned int revents, void *arg)
{
	struct keystore *ks = arg;
	struct signalfd_siginfo si;

	(void)io;
	(void)revents;
	while (read(ks->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: %s",
			    ks->d->audit_log != NULL
			        ? "reopening the audit log"
			        : "nothing to reopen (no audit_log)");
			writer_reopen(ks->d->wr);
		} else if (!evloop_timer_is_active(&ks->term_timer)) {
			/* SIGTERM stops the network process, which closes
			 * the pair once its requests are answered. */
			if (evloop_timer_start(
			        ks->el, &ks->term_timer, KS_TERM_WAIT_MS))
				evloop_break(ks->el);
		}
	}
}

/* --- privileges ------------------------------------------------------------- */

/*
 * Give up the privileges the keystore does not need, before it starts a
 * thread: the user (the [kdc] user, else the owner of the database), every
 * capability, ptrace and core dumps.  0 or -1 (logged).
 */
static int
ks_drop(struct kdcd *d)
{
	const char *user = d->ks_user;
	const struct passwd *pw;
	struct stat sb;

	if (geteuid() == 0 && user == NULL) {
		if (stat(d->dbpath, &sb) == 0 && sb.st_uid != 0 &&
		    (pw = getpwuid(sb.st_uid)) != NULL) {
			user = pw->pw_name;
		} else {
			log_warnx("the keystore keeps user root: the database "
			          "%s is owned by root and [kdc] user is not "
			          "set (see cryptgate-kdcd(8), PRIVILEGES)",
			    d->dbpath);
		}
	}
	if (user != NULL || geteuid() != 0) {
		if (priv_drop(user, 0))
			return (-1);
	} else if (priv_drop_caps(0)) {
		return (-1);
	}
	if (kdc_die_with_monitor(d, SIGTERM))
		return (-1);
	/* Not dumpable: no core file with keys, and no ptrace by the network
	 * process even when it runs as the same user. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		log_warn("prctl PR_SET_DUMPABLE");
		return (-1);
	}
	return (0);
}

/* --- the process ------------------------------------------------------------ */

/* Everything up to "ready": keys, database, threads, confinement. */
static int
ks_start(struct keystore *ks, const struct conf_section *sec, size_t replay)
{
	const struct sandbox_policy pol = {
		.allow = ks_allow, .deny = ks_deny, .socket_domain = AF_UNIX
	};
	struct kdcd *d = ks->d;
	struct store *wst;
	sigset_t mask;

	if (load_keys(d, sec))
		return (-1);
	d->start_ms = kdc_now_ms();
	if ((d->replay = replay_new(replay, (uint64_t)d->skew_ms)) == NULL)
		return (-1);
	if ((wst = store_open(d->dbpath, STORE_DURABLE | STORE_NOCHECKPOINT)) ==
	    NULL)
		return (-1);
	if (check_master(d, wst) ||
	    store_replay_foreach(wst, d->start_ms, replay_load_cb, d) ||
	    queue_init(&d->work)) {
		store_close(wst);
		return (-1);
	}
	d->work_ready = true;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if ((errno = pthread_sigmask(SIG_BLOCK, &mask, NULL)) != 0 ||
	    (ks->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) ==
	        -1) {
		log_warn("signalfd");
		store_close(wst);
		return (-1);
	}
	evloop_io_init(&ks->sigio, ks->sigfd, ks_signal, ks);
	evloop_io_init(&ks->io, ks->fd, ks_event, ks);
	evloop_timer_init(&ks->term_timer, term_expired, ks);
	evloop_wakeup_set(ks->el, ks_wakeup, ks);
	if (evloop_io_start(ks->el, &ks->sigio, EVLOOP_IN) || ks_drop(d)) {
		store_close(wst);
		return (-1);
	}
	/* The threads, as the user the keystore runs as from now on; then
	 * the filter, for them all. */
	if ((d->wr = writer_start(d, wst)) == NULL)
		return (-1);
	if (kdc_start(d))
		return (-1);
	if (d->daemonize)
		log_init(0, d->verbose, LOG_DAEMON);
	return (sandbox_apply(&pol));
}

int
keystore_main(struct kdcd *d, const struct conf_section *sec, size_t replay,
    int fd, int readyfd)
{
	struct keystore ks;
	int rc = 1;

	memset(&ks, 0, sizeof(ks));
	ks.d = d;
	ks.fd = fd;
	ks.sigfd = -1;
	ks.max_inflight =
	    d->max_conns < KS_INFLIGHT_MAX ? d->max_conns : KS_INFLIGHT_MAX;
	atomic_init(&ks.inflight, 0);
	ks_global = &ks;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		log_warn("prctl PR_SET_DUMPABLE");
		goto out;
	}
	if ((ks.el = evloop_new()) == NULL)
		goto out;
	if (ks_start(&ks, sec, replay))
		goto out;
	if (evloop_io_start(ks.el, &ks.io, EVLOOP_IN))
		goto out;
	ks.reading = true;
	log_info("ready: %u workers, database %s, KDC name %s", d->nworkers,
	    d->dbpath, d->name);
	if (write(readyfd, "r", 1) != 1) {
		log_warn("keystore: ready");
		goto out;
	}
	close(readyfd);
	readyfd = -1;
	if (evloop_run(ks.el))
		goto out;
	if (atomic_load(&ks.inflight) > 0) {
		/* A worker or the writer is stuck (a locked database?):
		 * leave without waiting; SQLite's journal keeps the file
		 * consistent, as after a crash. */
		log_warnx("exiting with %zu requests unanswered",
		    atomic_load(&ks.inflight));
		log_stats(d);
		_exit(1);
	}
	rc = ks.failed ? 1 : 0;

out:
	kdc_stop(d);
	if (d->wr != NULL)
		writer_stop(d->wr);
	d->wr = NULL;
	if (ks.el != NULL) {
		ks_stop_reading(&ks);
		evloop_timer_stop(ks.el, &ks.term_timer);
		if (ks.sigfd != -1)
			evloop_io_stop(ks.el, &ks.sigio);
		evloop_wakeup_set(ks.el, NULL, NULL);
		evloop_free(ks.el);
	}
	if (ks.sigfd != -1)
		close(ks.sigfd);
	if (d->work_ready)
		queue_fini(&d->work);
	replay_free(d->replay);
	d->replay = NULL;
	keywrap_master_free(d->master);
	d->master = NULL;
	hostkey_free(d->hk);
	d->hk = NULL;
	if (readyfd != -1)
		close(readyfd);
	close(fd);
	log_stats(d);
	log_info("exiting");
	return (rc);
}
