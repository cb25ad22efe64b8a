/*
 * writer.c: the KDC's writer thread, owner of the only write connection to
 * the database (synchronous=FULL).
 *
 * Group commit: the thread takes every queued job at once, applies them
 * all in one BEGIN IMMEDIATE ... COMMIT (so one fsync covers the batch),
 * and only then releases their answers.  While it commits, new jobs queue
 * up for the next batch, so the batch grows with the load and the fsync
 * cost per request shrinks.  Per job, in the transaction: the persisted
 * replay nonce (a duplicate turns the answer into REPLAY), the job's own
 * change (session key, host, revocation, rotation) and its audit record.
 * If any statement fails (disk full, read-only file, I/O error) the whole
 * transaction is rolled back and every job of the batch is answered
 * INTERNAL: nothing half-applied, no answer without its audit record.
 *
 * Every KDC_PURGE_INTERVAL_MS the thread also deletes expired session keys
 * and replay nonces.  A second thread checkpoints the write-ahead log
 * every second on its own connection, off the commit path.  If [kdc] audit_log names a file, each committed
 * audit record is also appended to it as a line (after the commit; the
 * database is the authority); SIGHUP reopens it (log rotation).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cryptgate/digest.h"
#include "cryptgate/keywrap.h"
#include "cryptgate/log.h"
#include "cryptgate/mac.h"
#include "cryptgate/secret.h"
#include "cryptgate/store.h"
#include "cryptgate/wire.h"

#include "kdcd.h"

/* Audit-file line buffer per batch. */
#define ABUF_LINE 640
/* Purged keys are reported (audit record, log line) at most this often. */
#define PURGE_REPORT_MS 60000
/* How often the checkpointer copies the WAL into the database. */
#define CHECKPOINT_INTERVAL_MS 1000

struct writer {
	struct kdcd *d;
	struct store *st;
	pthread_t thr;
	struct queue q;
	struct store *ckst; /* the checkpointer's connection */
	pthread_t ckthr;
	struct queue ckq; /* only for its timed wait and close */
	atomic_bool reopen;
	int auditfd;
	uint64_t next_purge; /* monotonic ms */
	uint64_t purged; /* keys purged since the last report */
	int64_t purge_report_ms; /* unix ms of the next report */
	struct log_ratelimit rl;
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static void
audit_open(struct writer *w)
{
	int fd;

	if (w->d->audit_log == NULL)
		return;
	fd = open(w->d->audit_log,
	    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd == -1) {
		log_warn("%s", w->d->audit_log);
		return;
	}
	if (w->auditfd != -1)
		close(w->auditfd);
	w->auditfd = fd;
}

/* Append the committed audit records of ${batch} to the audit file. */
static void
audit_file(struct writer *w, struct kdc_job *batch)
{
	char *buf, ts[32];
	struct kdc_job *j;
	size_t n = 0, cap = 0, len;
	struct tm tm;
	time_t t;
	int k;

	if (w->auditfd == -1)
		return;
	for (j = batch; j != NULL; j = j->next)
		cap += ABUF_LINE;
	if ((buf = malloc(cap)) == NULL)
		return;
	for (j = batch; j != NULL; j = j->next) {
		if (j->op == NULL)
			continue;
		t = (time_t)(j->now_ms / 1000);
		gmtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		k = snprintf(buf + n, cap - n,
		    "%s.%03dZ actor=%s op=%s result=%s %s\n", ts,
		    (int)(j->now_ms % 1000), j->actor, j->op,
		    j->werr != 0 ? wire_err_name(j->werr)
		        : j->result != 0
		        ? wire_err_name((unsigned int)j->result)
		        : "ok",
		    j->detail);
		if (k < 0)
			continue;
		len = (size_t)k >= cap - n ? cap - n - 1 : (size_t)k;
		if (len > 0 && buf[n + len - 1] != '\n')
			buf[n + len - 1] = '\n';
		n += len;
	}
	if (n > 0 && write(w->auditfd, buf, n) != (ssize_t)n)
		log_ratelimited(&w->rl, LOG_WARNING, "%s: write: %s",
		    w->d->audit_log, strerror(errno));
	free(buf);
}

/*
 * ENROLL with a one-time token: the token's id is the ENROLL's nonce
 * (id = SHA-256(token)[0..16), as `cryptgate kdc token create` stores it);
 * take it (one use), unwrap it and check enroll_mac with it.  Return 0 if
 * it holds, 1 if not (the job is refused), -1 on a store error.
 */
static int
enroll_token(struct writer *w, struct kdc_job *j)
{
	uint8_t wrapped[STORE_WRAPPEDBYTES_MAX], dg[DIGEST_SHA256BYTES];
	uint8_t tok[KEYWRAP_KEYBYTES_MAX];
	size_t wlen = 0, tlen = 0, maclen, macoff;
	int rc, ret = 1;

	rc = store_token_take(
	    w->st, j->nonce, j->now_ms, wrapped, sizeof(wrapped), &wlen);
	if (rc == STORE_NOTFOUND)
		return (1);
	if (rc != 0)
		return (-1);
	if (keywrap_unwrap(tok, sizeof(tok), &tlen, wrapped, wlen, j->nonce,
	        WIRE_NONCEBYTES, w->d->master)) {
		log_warnx(
		    "enrollment token: cannot unwrap (wrong master key?)");
		goto out;
	}
	if (digest_sha256(dg, tok, tlen) ||
	    memcmp(dg, j->nonce, WIRE_NONCEBYTES) != 0)
		goto out;
	if (wire_frame_enroll_mac(j->req, j->reqlen, &maclen, &macoff) ||
	    mac_hmac_sha256_verify(
	        j->req + macoff, tok, tlen, j->req + WIRE_LENBYTES, maclen))
		goto out;
	ret = 0;
out:
	secret_wipe(tok, sizeof(tok));
	return (ret);
}

/*
 * Apply ${j}'s writes inside the open transaction.  Return 0 (with
 * j->werr set if the job itself is refused), or -1 if the store failed
 * (the whole batch is rolled back).
 */
static int
apply(struct writer *w, struct kdc_job *j)
{
	struct store *st = w->st;
	uint64_t count;
	int rc;

	j->werr = 0;
	j->count = 0;
	if (j->persist) {
		rc = store_replay_put(
		    st, j->sender, j->nonce, j->nonce_expires_ms);
		if (rc == STORE_DUPLICATE) {
			j->werr = WIRE_ERR_REPLAY;
			return (0);
		} else if (rc != 0) {
			return (-1);
		}
	}
	switch (j->wop) {
	case KDC_W_REQUEST:
		if ((rc = store_key_put(st, &j->u.key)) == STORE_DUPLICATE)
			j->werr = WIRE_ERR_INTERNAL;
		else if (rc != 0)
			return (-1);
		break;
	case KDC_W_ENROLL:
		if (j->u.enroll.token && (rc = enroll_token(w, j)) != 0) {
			if (rc == -1)
				return (-1);
			j->werr = WIRE_ERR_DENIED;
			snprintf(j->detail, sizeof(j->detail),
			    "refused: bad enrollment token");
			break;
		}
		if (j->u.enroll.exists)
			rc = store_host_set_state(
			    st, j->sender, STORE_HOST_ACTIVE);
		else
			rc = store_host_add(st, &j->u.enroll.host);
		if (rc == STORE_DUPLICATE || rc == STORE_NOTFOUND)
			j->werr = WIRE_ERR_DENIED;
		else if (rc != 0)
			return (-1);
		break;
	case KDC_W_REVOKE_KEY:
		if ((rc = store_key_revoke(st, j->u.revoke_id)) == 0)
			j->count = 1;
		else if (rc != STORE_NOTFOUND)
			return (-1);
		break;
	case KDC_W_REVOKE_MINE:
		if (store_key_revoke_host(st, j->sender, &count))
			return (-1);
		j->count = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;
		break;
	case KDC_W_ROTATE:
		rc = store_host_rotate(st, j->sender, &j->u.rotate.pub,
		    j->u.rotate.new_kvno, j->u.rotate.old_valid_until_ms);
		if (rc == STORE_NOTFOUND)
			j->werr = WIRE_ERR_DENIED;
		else if (rc != 0)
			return (-1);
		break;
	case KDC_W_AUDIT:
	case KDC_W_NONE:
	default:
		break;
	}
	if (j->op != NULL &&
	    store_audit_append(st, j->now_ms, j->actor, j->op, j->detail,
	        j->werr != 0 ? j->werr : j->result))
		return (-1);
	return (0);
}

/* Release the jobs of ${batch}: answers out, or back for a new answer. */
static void
release(struct writer *w, struct kdc_job *batch)
{
	struct kdcd *d = w->d;
	struct kdc_job *j, *next;

	for (j = batch; j != NULL; j = next) {
		next = j->next;
		j->wop = KDC_W_NONE;
		if (j->werr != 0 || j->resplen == 0) {
			kdc_finish(d, j);
		} else {
			if (j->resp[WIRE_LENBYTES + WIRE_HDR_TYPE] !=
			    WIRE_ERROR)
				atomic_fetch_add_explicit(
				    &d->stats.by_type[j->type % 6], 1,
				    memory_order_relaxed);
			keystore_complete(d, j);
		}
	}
}

static void
commit(struct writer *w, struct kdc_job *batch)
{
	struct kdc_stats *s = &w->d->stats;
	struct kdc_job *j;
	uint64_t n = 0, max;

	for (j = batch; j != NULL; j = j->next)
		n++;
	if (store_begin(w->st))
		goto fail;
	for (j = batch; j != NULL; j = j->next) {
		if (apply(w, j)) {
			store_rollback(w->st);
			goto fail;
		}
	}
	if (store_commit(w->st)) {
		store_rollback(w->st);
		goto fail;
	}
	atomic_fetch_add_explicit(&s->batches, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->batched, n, memory_order_relaxed);
	max = atomic_load_explicit(&s->batch_max, memory_order_relaxed);
	if (n > max)
		atomic_store_explicit(&s->batch_max, n, memory_order_relaxed);
	audit_file(w, batch);
	release(w, batch);
	return;

fail:
	log_ratelimited(&w->rl, LOG_ERR,
	    "database write of %llu requests failed: answered INTERNAL",
	    (unsigned long long)n);
	for (j = batch; j != NULL; j = j->next) {
		j->werr = WIRE_ERR_INTERNAL;
		j->count = 0;
	}
	release(w, batch);
}

/*
 * Delete expired session keys and replay nonces.  The deletions are
 * audited (and logged) in one record per PURGE_REPORT_MS, not one per
 * purge.
 */
static void
purge(struct writer *w)
{
	int64_t now = kdc_now_ms();
	uint64_t n = 0, total;
	char detail[64];
	bool report;

	if (store_begin(w->st))
		return;
	if (store_key_purge(w->st, now, &n) || store_replay_purge(w->st, now))
		goto fail;
	total = w->purged + n;
	report = total > 0 && now >= w->purge_report_ms;
	if (report) {
		snprintf(detail, sizeof(detail), "purged %llu expired keys",
		    (unsigned long long)total);
		if (store_audit_append(
		        w->st, now, "kdcd", "key purge", detail, 0))
			goto fail;
	}
	if (store_commit(w->st))
		goto fail;
	w->purged += n;
	if (report) {
		log_info("purged %llu expired session keys",
		    (unsigned long long)w->purged);
		w->purged = 0;
		w->purge_report_ms = now + PURGE_REPORT_MS;
	}
	return;

fail:
	store_rollback(w->st);
	log_ratelimited(&w->rl, LOG_WARNING, "purge of expired keys failed");
}

/*
 * The checkpointer: the writer's connection never checkpoints
 * (STORE_NOCHECKPOINT), so that commits stay short; this thread copies
 * the write-ahead log into the database every second instead, on its own
 * connection, without blocking the writer or the readers.
 */
static void *
checkpoint_main(void *arg)
{
	struct writer *w = arg;
	struct log_ratelimit rl;
	bool closed = false;

	memset(&rl, 0, sizeof(rl));
	while (!closed) {
		(void)queue_pop_all(&w->ckq, CHECKPOINT_INTERVAL_MS);
		pthread_mutex_lock(&w->ckq.mu);
		closed = w->ckq.closed;
		pthread_mutex_unlock(&w->ckq.mu);
		if (store_checkpoint(w->ckst))
			log_ratelimited(&rl, LOG_WARNING, "checkpoint failed");
	}
	return (NULL);
}

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct kdc_job *batch;
	uint64_t now;
	int64_t wait;

	for (;;) {
		now = mono_ms();
		wait = w->next_purge > now ? (int64_t)(w->next_purge - now) : 0;
		batch = queue_pop_all(&w->q, wait);
		if (batch != NULL)
			commit(w, batch);
		if (atomic_exchange(&w->reopen, false) &&
		    w->d->audit_log != NULL) {
			audit_open(w);
			log_info("%s: reopened", w->d->audit_log);
		}
		if (mono_ms() >= w->next_purge) {
			purge(w);
			w->next_purge = mono_ms() + KDC_PURGE_INTERVAL_MS;
		}
		if (batch == NULL) {
			pthread_mutex_lock(&w->q.mu);
			if (w->q.closed && w->q.head == NULL) {
				pthread_mutex_unlock(&w->q.mu);
				break;
			}
			pthread_mutex_unlock(&w->q.mu);
		}
	}
	return (NULL);
}

struct writer *
writer_start(struct kdcd *d, struct store *st)
{
	struct writer *w;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_warn("writer");
		goto err0;
	}
	w->d = d;
	w->st = st;
	w->auditfd = -1;
	atomic_init(&w->reopen, false);
	w->next_purge = mono_ms();
	if (queue_init(&w->q))
		goto err1;
	if (queue_init(&w->ckq))
		goto err2;
	if ((w->ckst = store_open(d->dbpath, STORE_DURABLE)) == NULL)
		goto err3;
	audit_open(w);
	if ((errno = pthread_create(&w->ckthr, NULL, checkpoint_main, w)) !=
	    0) {
		log_warn("pthread_create");
		goto err4;
	}
	if ((errno = pthread_create(&w->thr, NULL, writer_main, w)) != 0) {
		log_warn("pthread_create");
		goto err5;
	}

	/* Success! */
	return (w);

err5:
	queue_close(&w->ckq);
	pthread_join(w->ckthr, NULL);
err4:
	if (w->auditfd != -1)
		close(w->auditfd);
	store_close(w->ckst);
err3:
	queue_fini(&w->ckq);
err2:
	queue_fini(&w->q);
err1:
	free(w);
err0:
	/* Failure! */
	return (NULL);
}

void
writer_submit(struct writer *wr, struct kdc_job *job)
{
	queue_push(&wr->q, job);
}

void
writer_reopen(struct writer *wr)
{
	atomic_store(&wr->reopen, true);
	queue_kick(&wr->q);
}

void
writer_stop(struct writer *wr)
{
	if (wr == NULL)
		return;
	queue_close(&wr->q);
	pthread_join(wr->thr, NULL);
	/* A last checkpoint happens as the checkpointer leaves. */
	queue_close(&wr->ckq);
	pthread_join(wr->ckthr, NULL);
	store_close(wr->ckst);
	if (wr->auditfd != -1)
		close(wr->auditfd);
	store_close(wr->st);
	queue_fini(&wr->ckq);
	queue_fini(&wr->q);
	free(wr);
}
