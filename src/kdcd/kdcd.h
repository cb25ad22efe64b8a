/*
 * kdcd.h: what the files of cryptgate-kdcd share.
 *
 * Processes (docs/man/cryptgate-kdcd.8, PRIVILEGES):
 *
 *   monitor (main.c): reads the configuration, binds the listening
 *     sockets, starts the two others, forwards signals to them and stops
 *     when they do.  It never holds a key.
 *   keystore (keystore.c): loads the signing and master keys, opens the
 *     database, then drops to an unprivileged user, becomes undumpable and
 *     confines itself to the system calls it needs.  It never reads the
 *     network: it gets each request as a message over a socket pair
 *     (ipc.h), already decoded, and checks it (ipc_req_match).
 *   network (net.c, server.c): the listening sockets and connections; it
 *     reads frames, decodes them, sends them to the keystore and writes
 *     the answers back.  It drops to an unprivileged user and its system
 *     call filter refuses every file and socket it could open.
 *
 * Threads of the keystore and the path of one request:
 *
 *   main thread (keystore.c, one evloop): reads request messages from the
 *     socket pair and hands them to the workers as struct kdc_job; the
 *     answers go back as messages from whichever thread made them
 *     (keystore_complete).
 *   workers (kdc.c, kdc_op.c; N threads): the message's match with its
 *     frame, freshness, signature, replay, authorization, the action, the
 *     answer (sealed, signed).  Jobs that change the database or need an
 *     audit record go to the writer; the others straight back.
 *   writer (writer.c, one thread, the only write connection): group
 *     commit: every queued job in one transaction, one fsync, then the
 *     answers are released.  A job whose write failed or whose answer
 *     depends on the write goes back to a worker (KDC_PHASE_FINISH) to get
 *     its (signed) answer.
 *
 * Queues (queue.c) link jobs through ->next: work (the main thread and
 * the writer -> workers), writer (workers -> writer), and in the network
 * process the connections' answers.  No crypto runs under any lock.
 */
#ifndef CRYPTGATE_KDCD_H
#define CRYPTGATE_KDCD_H

#include <sys/socket.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptgate/hostpub.h"
#include "cryptgate/log.h"
#include "cryptgate/store.h"
#include "cryptgate/wire.h"

/* Largest answer: REQUEST_RESP with an RSA-3072 sealed key is 664 bytes. */
#define KDC_RESPBYTES_MAX 1024 /* = IPC_RESPBYTES_MAX */
#define KDC_ACTORBYTES (2 * WIRE_IDBYTES + 1)
#define KDC_DETAILBYTES 384
/* ROTATE: how long the old host key stays valid. */
#define KDC_ROTATE_OVERLAP_MS ((int64_t)24 * 3600 * 1000)
/* Imported host signing keys each worker keeps (a direct-mapped cache
 * keyed by the key's bytes; a power of 2). */
#define KDC_KEYCACHE 256
/* Shortest session key lifetime, seconds. */
#define KDC_LIFETIME_MIN 60
/* How often the writer purges expired keys and nonces, milliseconds:
 * often, so that each purge is small (a second's worth of expiries) and
 * never stalls the commits behind it for long. */
#define KDC_PURGE_INTERVAL_MS 1000
/* SIGTERM: how long in-flight requests may take before the exit. */
#define KDC_SHUTDOWN_WAIT_MS 10000

struct evloop;
struct conf_section;
struct keywrap_master;
struct hostkey;
struct net;
struct replay;
struct server;
struct sign_pub;
struct writer;

/* A queue of jobs (queue.c): a mutex, a condition variable, a list. */
struct kdc_job;
struct queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct kdc_job *head;
	struct kdc_job *tail;
	size_t n;
	unsigned int waiting;
	bool closed;
	bool kicked;
};

enum kdc_phase {
	KDC_PHASE_PROCESS = 0, /* a new request */
	KDC_PHASE_FINISH, /* back from the writer: make the answer */
};

/* What the writer does for a job. */
enum kdc_wop {
	KDC_W_NONE = 0, /* nothing: the answer goes straight out */
	KDC_W_AUDIT, /* an audit record only (RETRIEVE, denials) */
	KDC_W_REQUEST, /* session key, nonce, audit */
	KDC_W_ENROLL, /* new host (or token activation), nonce, audit */
	KDC_W_REVOKE_KEY, /* revoke one key, nonce, audit */
	KDC_W_REVOKE_MINE, /* revoke every key of the sender, nonce, audit */
	KDC_W_ROTATE, /* new host keys, nonce, audit */
};

/* One request, from its frame to its answer. */
struct ipc_req;
struct kdc_job {
	struct kdc_job *next;
	void *owner; /* server.c's connection (network process) */
	const struct ipc_req *ipc; /* the message (keystore) */
	uint64_t id; /* the request's id (network process) */

	/* Set by server.c; the frame stays valid until the job completes. */
	const uint8_t *req;
	size_t reqlen;
	struct sockaddr_storage src;
	socklen_t srclen;

	/* Set by the worker while processing. */
	enum kdc_phase phase;
	uint8_t type; /* as received (header byte), for the logs */
	uint8_t suite; /* echoed in the answer (1 if unknown) */
	uint8_t nonce[WIRE_NONCEBYTES]; /* echoed */
	uint8_t req_hash[WIRE_HASHBYTES];
	uint8_t sender[WIRE_IDBYTES]; /* host id (ENROLL: computed) */
	int64_t now_ms; /* unix ms when processing began */

	/* The answer: a whole signed frame, or close the connection. */
	uint8_t resp[KDC_RESPBYTES_MAX];
	size_t resplen;
	bool close;

	/* For the writer. */
	enum kdc_wop wop;
	bool persist; /* store (sender, nonce) until nonce_expires_ms */
	int64_t nonce_expires_ms;
	char actor[KDC_ACTORBYTES];
	const char *op; /* audit op: "REQUEST", ... (static string) */
	char detail[KDC_DETAILBYTES];
	int result; /* audit result: 0, or an enum wire_err */
	uint16_t werr; /* set by the writer: answer this error instead */
	uint32_t count; /* REVOKE: keys revoked (set by the writer) */
	union {
		struct store_key key; /* KDC_W_REQUEST */
		struct {
			struct store_host host;
			bool exists; /* PENDING host activated by a token */
			bool token; /* enroll_mac set: take the token */
		} enroll;
		uint8_t revoke_id[WIRE_KEYIDBYTES]; /* KDC_W_REVOKE_KEY */
		struct {
			struct hostpub pub;
			uint16_t new_kvno;
			int64_t old_valid_until_ms;
		} rotate;
	} u;
};

/* Counters, updated with relaxed atomics, logged at exit. */
struct kdc_stats {
	atomic_uint_fast64_t requests; /* frames processed */
	atomic_uint_fast64_t errors; /* answered with ERROR */
	atomic_uint_fast64_t by_type[6]; /* successes, by request type */
	atomic_uint_fast64_t batches; /* writer transactions */
	atomic_uint_fast64_t batched; /* jobs in them */
	atomic_uint_fast64_t batch_max;
	atomic_uint_fast64_t accepted; /* connections */
	atomic_uint_fast64_t refused; /* over max_connections */
	atomic_uint_fast64_t timeouts; /* connections closed on a deadline */
};

/* The daemon: read-only once the threads run (except where noted). */
struct kdcd {
	const char *confpath;
	const char *dbpath;
	const char *audit_log; /* NULL: none */
	char name[64]; /* [kdc] name */
	struct hostkey *hk; /* the KDC's signing identity */
	uint8_t kdc_id[WIRE_IDBYTES];
	struct keywrap_master *master;
	struct replay *replay; /* shared, has its own mutex */
	int64_t start_ms; /* unix ms: RETRIEVE older than this is refused */
	int64_t skew_ms;
	int64_t replay_window_ms; /* 2 * skew: how long nonces are kept */
	uint32_t key_lifetime; /* seconds */
	uint32_t max_key_lifetime; /* seconds */
	bool legacy_retrieve;
	enum kdc_enroll {
		KDC_ENROLL_APPROVE, /* anyone, pending until approved */
		KDC_ENROLL_TOKEN, /* only with a one-time token */
		KDC_ENROLL_CLOSED, /* nobody: kdc host add only */
	} enroll;
	unsigned int nworkers;
	size_t max_conns;
	uint64_t request_timeout_ms;
	uint64_t idle_timeout_ms;

	bool daemonize; /* no -d: log to syslog once started */
	pid_t monitor; /* the monitor's pid (children die with it) */
	int verbose; /* -v */
	const char *ks_user; /* [kdc] user: NULL if not set */
	const char *net_user; /* the network process's user (if root) */

	struct queue work; /* -> workers (keystore) */
	bool work_ready; /* work is initialised */
	struct server *srv; /* network process */
	struct net *net; /* network process */
	struct writer *wr; /* keystore */
	struct kdc_stats stats;
};

/* queue.c */
int queue_init(struct queue *q);
void queue_fini(struct queue *q);
/* queue_push(q, j): append ${j}; wake one waiter. */
void queue_push(struct queue *q, struct kdc_job *j);
/* queue_pop(q): the first job, waiting for one; NULL once closed and
 * empty. */
struct kdc_job *queue_pop(struct queue *q);
/* queue_pop_all(q, timeout_ms): every job (a list), waiting up to
 * ${timeout_ms} (-1: no limit) for one; NULL on timeout, kick or close. */
struct kdc_job *queue_pop_all(struct queue *q, int64_t timeout_ms);
/* queue_take_all(q): every job, without waiting (NULL if none). */
struct kdc_job *queue_take_all(struct queue *q);
/* queue_kick(q): make a waiting queue_pop_all return now. */
void queue_kick(struct queue *q);
/* queue_close(q): waiters return once the queue is empty. */
void queue_close(struct queue *q);

/* server.c: the network process's connections. */
struct server *server_new(
    struct kdcd *d, struct evloop *el, const int *lfds, size_t nlfds);
void server_free(struct server *srv);
/* server_answer(srv, id, resp, resplen, close): the keystore's answer to
 * the request ${id} (ignored if no connection waits for it: a late or
 * stray answer). */
void server_answer(struct server *srv, uint64_t id, const uint8_t *resp,
    size_t resplen, bool close);
/* server_shutdown(srv): stop accepting, close idle connections, and
 * break the loop once in-flight requests are answered (or after
 * KDC_SHUTDOWN_WAIT_MS).  Loop thread only. */
void server_shutdown(struct server *srv);
/* server_inflight(srv): requests not answered yet. */
size_t server_inflight(const struct server *srv);

/* kdc_die_with_monitor(d, sig): have ${sig} sent to this child process
 * when the monitor dies (again after a change of user, which clears it);
 * 0, or -1 if the monitor is already gone (logged). */
int kdc_die_with_monitor(const struct kdcd *d, int sig);

/* net.c: the network process. */
/* net_main(d, lfds, nlfds, fd): serve the listening sockets ${lfds} until
 * SIGTERM, with the keystore at the other end of the socket pair ${fd};
 * the exit status. */
int net_main(struct kdcd *d, int *lfds, size_t nlfds, int fd);
/* net_submit(n, job, id): send ${job}'s frame to the keystore as request
 * ${id} (queued while the pair is full). */
void net_submit(struct net *n, struct kdc_job *job, uint64_t id);

/* keystore.c: the keystore process. */
/* keystore_check(d, sec): load the keys and check that the master key
 * opens the database's keys (cryptgate-kdcd -n); 0 or -1 (logged). */
int keystore_check(struct kdcd *d, const struct conf_section *sec);
/* keystore_main(d, sec, replay, fd, readyfd): load the keys, open the
 * database, start the threads, confine the process, write one byte to
 * ${readyfd}, then serve the requests coming over the socket pair ${fd}
 * until it closes; the exit status. */
int keystore_main(struct kdcd *d, const struct conf_section *sec, size_t replay,
    int fd, int readyfd);
/* keystore_complete(d, job): ${job}'s answer is ready (any thread): send
 * it and free the job. */
void keystore_complete(struct kdcd *d, struct kdc_job *job);

/* kdc.c: the workers. */
int kdc_start(struct kdcd *d);
void kdc_stop(struct kdcd *d);
/* kdc_submit(d, job): process the new request ${job} (I/O thread). */
void kdc_submit(struct kdcd *d, struct kdc_job *job);
/* kdc_finish(d, job): make the answer of ${job} after the writer. */
void kdc_finish(struct kdcd *d, struct kdc_job *job);
/* kdc_now_ms(void): unix time in milliseconds. */
int64_t kdc_now_ms(void);

/* What a worker knows about the request it processes (kdc.c, kdc_op.c). */
struct kdc_ctx {
	struct kdcd *d;
	struct store *st; /* the worker's read-only connection */
	struct log_ratelimit *rl; /* the worker's */
	struct kdc_job *job;
	struct wire_msg msg; /* the decoded request */
	struct store_host host; /* the sender (not ENROLL); zeroed per job */
	bool decoded; /* msg holds the decoded request */
	bool authed; /* the request's signature is host's (its name is sure) */
	struct hostpub pub; /* the sender's key that signed */
	char src[64]; /* source address, for the logs */
	/* The worker's imported signing keys (kdc.c: verify_request). */
	struct sign_pub *keys[KDC_KEYCACHE];
};

/* kdc.c: shared with kdc_op.c. */
/* kdc_fail(ctx, code, retry_after, why): answer ERROR ${code}; log ${why}
 * (rate-limited) if not NULL, as "OP ADDR:PORT WHO: refused (CODE): why"
 * (WHO: "host NAME" once authenticated, else "sender" and the first bytes
 * of the claimed host id in hex, or nothing before the frame decodes). */
void kdc_fail(
    struct kdc_ctx *ctx, uint16_t code, uint16_t retry_after, const char *why);
/* kdc_deny(ctx, code, why): kdc_fail for an authenticated, ACTIVE sender,
 * with an audit record of the refusal (${why} is its detail). */
void kdc_deny(struct kdc_ctx *ctx, uint16_t code, const char *why);
/* kdc_answer(ctx, m, to, role, key, key_id): encode the answer ${m}
 * (header filled in here), seal ${key} (WIRE_SESSIONKEYBYTES) to ${to}
 * with ${role} and ${key_id} if ${to} is not NULL (else both may be
 * NULL), sign.  0, or -1 (logged). */
int kdc_answer(struct kdc_ctx *ctx, struct wire_msg *m,
    const struct hostpub *to, unsigned int role, const uint8_t *key,
    const uint8_t *key_id);
/* kdc_seal_ok(pub, suite): ${pub} can receive a sealed key of ${suite}. */
bool kdc_seal_ok(const struct hostpub *pub, unsigned int suite);
/* kdc_replay(ctx, sender): the replay check; 0, or -1 (answered). */
int kdc_replay(struct kdc_ctx *ctx, const uint8_t sender[static WIRE_IDBYTES]);
/* kdc_hex(buf, p, n): ${n} bytes as lowercase hex in ${buf}; ${buf}. */
const char *kdc_hex(char *buf, const uint8_t *p, size_t n);
/* kdc_addr(buf, size, a): the wire address ${a} as text. */
const char *kdc_addr(char *buf, size_t size, const struct wire_addr *a);

/* kdc_op.c: the request types, after decoding and freshness (and, but
 * for ENROLL, authentication and the replay check). */
void kdc_op_request(struct kdc_ctx *ctx);
void kdc_op_retrieve(struct kdc_ctx *ctx);
void kdc_op_enroll(struct kdc_ctx *ctx);
void kdc_op_revoke(struct kdc_ctx *ctx);
void kdc_op_rotate(struct kdc_ctx *ctx);

/* writer.c: the writer thread. */
struct writer *writer_start(struct kdcd *d, struct store *st);
/* writer_submit(wr, job): queue ${job}'s writes (worker threads). */
void writer_submit(struct writer *wr, struct kdc_job *job);
/* writer_reopen(wr): reopen the audit_log file (SIGHUP). */
void writer_reopen(struct writer *wr);
/* writer_stop(wr): commit what is queued, stop the thread, free ${wr};
 * the store is closed. */
void writer_stop(struct writer *wr);

#endif /* !CRYPTGATE_KDCD_H */
