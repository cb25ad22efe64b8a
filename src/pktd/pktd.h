/*
 * pktd.h: cryptgate-pktd's shared declarations: the loaded configuration
 * (pconf.c), the queue workers (worker.c) and the status text (stats.c).
 * See cryptgate-pktd(8).
 *
 * Threads: the main thread loads the configuration, installs the rules,
 * starts one worker per NFQUEUE queue and serves the status socket and
 * the signals.  Each worker owns its queue and its struct xf (the
 * transform and its flow table): nothing is shared on the packet path.
 * A worker publishes a copy of its counters under its own mutex a few
 * times a second; the status socket reads those copies.
 */
#ifndef CRYPTGATE_PKTD_H
#define CRYPTGATE_PKTD_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptgate/conf.h"
#include "cryptgate/log.h"
#include "cryptgate/priv.h"

#include "xform.h"

#define PKTD_QUEUES_MAX 64
/* HMARK marks: PKTD_MARK_BASE + i sends a flow to queue queue_num + i. */
#define PKTD_MARK_BASE 0x434b0000u
/* HMARK's hash seed: fixed, so a restart spreads flows the same way. */
#define PKTD_HMARK_RND 0x434b5044u

/* One [policy NAME] section. */
struct ppolicy {
	const char *name;
	struct conf_prefix peer;
	const struct conf_portrange *ports;
	size_t nports;
	int direction; /* enum xf_direction */
	const char *key_file;
	const char *key_identity;
	uint8_t *key; /* XF_KEYBYTES of secret memory */
};

/* The whole configuration, as loaded. */
struct pconf {
	struct conf *conf;
	const char *path;
	unsigned int queues;
	uint16_t queue_num;
	const char *status_path;
	const char *user; /* [pkt] user, or NULL */
	uint64_t flow_timeout_ms;
	size_t max_flows;
	struct ppolicy *pols;
	size_t npols;
	struct xf_rule *rules; /* one per policy, pointing into pols */
	struct xf_portrange *ranges; /* the rules' port ranges */
	bool has_v4;
	bool has_v6;
};

/**
 * pconf_load(path, keys): read the configuration file ${path}; if ${keys},
 * also every policy's key (key_file, key_identity).  Return it (free with
 * pconf_free) or NULL (every error logged).
 */
struct pconf *pconf_load(const char *path, bool keys) CG_WUR;

/** pconf_free(pc): wipe the keys and free ${pc}; NULL does nothing. */
void pconf_free(struct pconf *pc);

/**
 * pconf_files(pc, files, max): the files a reload of ${pc} reads again
 * (the configuration; the key files, marked secret), at most ${max} of
 * them, into ${files}.  Return how many.
 */
size_t pconf_files(const struct pconf *pc, struct priv_file *files, size_t max);

/**
 * pconf_same_policy(a, b): true if ${a} and ${b} have the same policies,
 * keys included (a reload that changes nothing keeps the flows).
 */
bool pconf_same_policy(const struct pconf *a, const struct pconf *b);

/* A worker: one NFQUEUE queue, one thread. */
struct worker {
	unsigned int id;
	uint16_t qnum;
	pthread_t thread;
	bool inited; /* mu initialised */
	bool started;
	int stopfd; /* eventfd: the main thread writes 1 to stop */
	struct nfqueue *q;
	struct xf *xf; /* owned by the thread once it runs */
	uint64_t flow_timeout_ms;
	pthread_mutex_t mu; /* guards st, nfq_* counters and next_xf */
	struct xf_stats st; /* published copy */
	uint64_t enobufs;
	uint64_t nl_errors;
	uint64_t batches;
	struct xf *next_xf; /* posted by a reload; the thread swaps */
	struct xf *ready; /* main thread: made by worker_prepare */
};

/**
 * worker_open(w, id, qnum, pc): bind NFQUEUE queue ${qnum} and make the
 * transform for ${pc}'s policies (packets queue in the kernel until
 * worker_run).  Return 0 or -1 (logged; nothing left open).
 */
int worker_open(
    struct worker *w, unsigned int id, uint16_t qnum, const struct pconf *pc);

/** worker_run(w): start ${w}'s thread.  Return 0 or -1 (logged). */
int worker_run(struct worker *w);

/**
 * worker_prepare(w, pc): build a new transform for ${pc}, kept by ${w}
 * until worker_commit or worker_discard (main thread only).  Return 0 or
 * -1 (logged; nothing kept).
 */
int worker_prepare(struct worker *w, const struct pconf *pc) CG_WUR;

/** worker_discard(w): free the transform worker_prepare made, if any. */
void worker_discard(struct worker *w);

/**
 * worker_commit(w): hand the transform worker_prepare made (if any) to
 * ${w}'s thread, which swaps it in and frees its old one (and the old
 * one's flows) within TICK_MS (100 ms).  Cannot fail.
 */
void worker_commit(struct worker *w);

/**
 * worker_is_committed(w): true once ${w}'s thread has swapped in the
 * transform of the last worker_commit.
 */
bool worker_is_committed(struct worker *w);

/**
 * worker_close(w): stop ${w}'s thread if it runs, wait for it, close its
 * queue (the kernel drops what is queued) and free its transform.  The
 * published counters stay readable.
 */
void worker_close(struct worker *w);

/** worker_snapshot(w, st, nlerr): copy ${w}'s published counters. */
void worker_snapshot(struct worker *w, struct xf_stats *st, uint64_t nlerr[3]);

/**
 * stats_format(buf, size, pc, ws, n, start_ms): the status text: a "pktd"
 * line, one "queue=I" line per worker of ${ws} (${n}) and a "queue=total"
 * line.  Return its length (truncated to fit ${size}).
 */
size_t stats_format(char *buf, size_t size, const struct pconf *pc,
    struct worker *ws, unsigned int n, int64_t start_ms);

#endif /* !CRYPTGATE_PKTD_H */
