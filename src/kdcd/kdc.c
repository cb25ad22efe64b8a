/*
 * kdc.c: the KDC's worker threads: the processing order of
 * docs/PROTOCOL.md ("KDC processing order") up to the request type's own
 * rules (kdc_op.c), and the answers: ERROR frames, sealed and signed
 * responses.
 *
 * Every frame that reaches a worker is at least WIRE_FRAME_MIN bytes (the
 * I/O thread checked its length prefix), so it always has a header to
 * echo: every failure is answered with a signed ERROR that carries the
 * request's nonce, suite (1 if unknown) and hash.
 */
#include <sys/socket.h>

#include <arpa/inet.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "cryptgate/hostkey.h"
#include "cryptgate/hostpub.h"
#include "cryptgate/log.h"
#include "cryptgate/replay.h"
#include "cryptgate/sign.h"
#include "cryptgate/sock.h"
#include "cryptgate/store.h"
#include "cryptgate/wire.h"

#include "ipc.h"
#include "kdcd.h"

/* Seconds a client should wait after RATE. */
#define RETRY_RATE 1

struct worker {
	pthread_t thr;
	struct kdcd *d;
	struct store *st;
	struct log_ratelimit rl;
	bool started;
};

static struct worker *workers;
static unsigned int nworkers;

int64_t
kdc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

const char *
kdc_hex(char *buf, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		buf[2 * i] = hex[p[i] >> 4];
		buf[2 * i + 1] = hex[p[i] & 15];
	}
	buf[2 * n] = '\0';
	return (buf);
}

const char *
kdc_addr(char *buf, size_t size, const struct wire_addr *a)
{
	if (a->family == WIRE_AF_INET) {
		if (inet_ntop(AF_INET, a->addr + 12, buf, (socklen_t)size) ==
		    NULL)
			snprintf(buf, size, "?");
	} else if (inet_ntop(AF_INET6, a->addr, buf, (socklen_t)size) == NULL) {
		snprintf(buf, size, "?");
	}
	return (buf);
}

/* Sign the encoded frame in ${job}->resp with the KDC's key. */
static int
sign_frame(struct kdcd *d, struct kdc_job *job)
{
	const uint8_t *m;
	size_t mlen;

	if (wire_frame_signed(job->resp, job->resplen, &m, &mlen) ||
	    hostkey_sign(d->hk, job->resp + job->resplen - WIRE_SIGBYTES,
	        WIRE_CTX_RESPONSE, m, mlen)) {
		log_warnx("cannot sign an answer");
		return (-1);
	}
	return (0);
}

/* Fill the answer header of ${m}: type, suite, nonce echoed; KDC id. */
static void
answer_hdr(
    struct kdcd *d, const struct kdc_job *job, struct wire_msg *m, uint8_t type)
{
	m->hdr.version = WIRE_VERSION;
	m->hdr.type = type;
	m->hdr.suite = job->suite;
	m->hdr.flags = 0;
	m->hdr.signer_kvno = WIRE_KVNO_FIRST;
	memcpy(m->hdr.sender_id, d->kdc_id, WIRE_IDBYTES);
	m->hdr.timestamp = (uint64_t)kdc_now_ms();
	memcpy(m->hdr.nonce, job->nonce, WIRE_NONCEBYTES);
	memset(m->sig, 0, sizeof(m->sig));
}

/* ${job}'s answer: ERROR ${code}.  On failure the connection is closed. */
static void
error_frame(
    struct kdcd *d, struct kdc_job *job, uint16_t code, uint16_t retry_after)
{
	struct wire_msg m;

	memset(&m, 0, sizeof(m));
	answer_hdr(d, job, &m, WIRE_ERROR);
	memcpy(m.u.error.req_hash, job->req_hash, WIRE_HASHBYTES);
	m.u.error.code = code;
	m.u.error.kdc_time = m.hdr.timestamp;
	m.u.error.retry_after = retry_after;
	job->resplen = 0;
	if (wire_msg_encode(job->resp, sizeof(job->resp), &job->resplen, &m) ||
	    sign_frame(d, job)) {
		job->resplen = 0;
		job->close = true;
	}
	job->wop = KDC_W_NONE;
	job->persist = false;
	atomic_fetch_add_explicit(&d->stats.errors, 1, memory_order_relaxed);
}

/* Bytes of a host id the logs show before the sender is authenticated. */
#define LOG_IDBYTES 8

/*
 * Who sent ${ctx}'s request, for its log line, into ${buf}: " host NAME"
 * once its signature verified, else " sender HEX" (the first LOG_IDBYTES
 * of the host id it claims, or ENROLL's computed one), else "".
 */
static const char *
sender_text(const struct kdc_ctx *ctx, char *buf, size_t size)
{
	static const uint8_t zero[WIRE_IDBYTES];
	const uint8_t *id = NULL;
	char hex[2 * LOG_IDBYTES + 1];

	if (ctx->authed) {
		snprintf(buf, size, " host %s", ctx->host.name);
		return (buf);
	}
	if (memcmp(ctx->job->sender, zero, WIRE_IDBYTES) != 0)
		id = ctx->job->sender;
	else if (ctx->decoded &&
	    memcmp(ctx->msg.hdr.sender_id, zero, WIRE_IDBYTES) != 0)
		id = ctx->msg.hdr.sender_id;
	if (id != NULL)
		snprintf(
		    buf, size, " sender %s", kdc_hex(hex, id, LOG_IDBYTES));
	else
		buf[0] = '\0';
	return (buf);
}

void
kdc_fail(
    struct kdc_ctx *ctx, uint16_t code, uint16_t retry_after, const char *why)
{
	char who[STORE_NAMEBYTES_MAX + 8];

	if (why != NULL)
		log_ratelimited(ctx->rl,
		    code == WIRE_ERR_INTERNAL ? LOG_ERR : LOG_NOTICE,
		    "%s %s%s: refused (%s): %s", wire_type_name(ctx->job->type),
		    ctx->src, sender_text(ctx, who, sizeof(who)),
		    wire_err_name(code), why);
	error_frame(ctx->d, ctx->job, code, retry_after);
}

void
kdc_deny(struct kdc_ctx *ctx, uint16_t code, const char *why)
{
	struct kdc_job *job = ctx->job;

	kdc_fail(ctx, code, 0, why);
	if (job->close || ctx->host.state != STORE_HOST_ACTIVE)
		return;
	/* Refusals of known hosts are audited; the answer waits for the
	 * record (fail closed: INTERNAL if it cannot be written). */
	job->wop = KDC_W_AUDIT;
	job->op = wire_type_name(job->type);
	job->result = code;
	snprintf(job->detail, sizeof(job->detail), "refused: %s src=%s", why,
	    ctx->src);
}

bool
kdc_seal_ok(const struct hostpub *pub, unsigned int suite)
{
	if (suite == WIRE_SUITE_X25519)
		return (pub->type == HOSTKEY_X25519);
	if (suite == WIRE_SUITE_RSA)
		return (pub->type == HOSTKEY_RSA &&
		    hostpub_sealed_size(pub, WIRE_SESSIONKEYBYTES) ==
		        WIRE_SEALED_RSA);
	return (false);
}

int
kdc_answer(struct kdc_ctx *ctx, struct wire_msg *m, const struct hostpub *to,
    unsigned int role, const uint8_t *key, const uint8_t *key_id)
{
	struct kdcd *d = ctx->d;
	struct kdc_job *job = ctx->job;
	uint8_t info[WIRE_SEAL_INFOBYTES];
	struct wire_sealed *s = NULL;
	size_t aadlen, bloboff, clen, slen;

	answer_hdr(d, job, m, job->type | WIRE_RESPONSE);
	slen = wire_sealed_bytes(job->suite);
	if (to != NULL) {
		s = m->hdr.type == WIRE_REQUEST_RESP
		    ? &m->u.request_resp.sealed
		    : &m->u.retrieve_resp.sealed;
		s->len = (uint16_t)slen;
		memset(s->blob, 0, sizeof(s->blob));
	}
	job->resplen = 0;
	if (wire_msg_encode(job->resp, sizeof(job->resp), &job->resplen, m))
		goto err0;
	if (to != NULL) {
		if (wire_frame_sealed(
		        job->resp, job->resplen, &aadlen, &bloboff) ||
		    wire_seal_info(info, role, key_id, job->sender) ||
		    hostpub_seal(to, job->resp + bloboff, slen, &clen, key,
		        WIRE_SESSIONKEYBYTES, info, sizeof(info),
		        job->resp + WIRE_LENBYTES, aadlen) ||
		    clen != slen) {
			log_warnx("cannot seal a session key");
			goto err0;
		}
	}
	if (sign_frame(d, job))
		goto err0;

	/* Success! */
	return (0);

err0:
	/* Failure! */
	job->resplen = 0;
	return (-1);
}

int
kdc_replay(struct kdc_ctx *ctx, const uint8_t sender[static WIRE_IDBYTES])
{
	const struct wire_hdr *h = &ctx->msg.hdr;

	switch (replay_check(ctx->d->replay, sender, h->nonce, h->timestamp,
	    (uint64_t)ctx->job->now_ms)) {
	case REPLAY_FRESH:
		return (0);
	case REPLAY_DUPLICATE:
		kdc_fail(ctx, WIRE_ERR_REPLAY, 0, "replayed request");
		return (-1);
	case REPLAY_STALE:
		kdc_fail(ctx, WIRE_ERR_SKEW, 0, "stale timestamp");
		return (-1);
	case REPLAY_FULL:
	default:
		kdc_fail(ctx, WIRE_ERR_RATE, RETRY_RATE, "replay cache full");
		return (-1);
	}
}

/*
 * Verify the signature of the request frame (a request type, decoded) with
 * the sender's key ${ctx}->pub.sign_pk, imported once per worker: a host
 * key only changes with a new kvno, and the cache is keyed by the key
 * bytes themselves, so it is never stale.  Return 0 or -1.
 */
static int
verify_request(struct kdc_ctx *ctx)
{
	const struct kdc_job *job = ctx->job;
	const uint8_t *pk = ctx->pub.sign_pk;
	struct sign_pub **slot;

	/* The key bytes are uniform: two of them make a good index (a
	 * crafted collision only costs an import). */
	slot = &ctx->keys[(pk[0] | (size_t)pk[1] << 8) % KDC_KEYCACHE];
	if (*slot == NULL ||
	    memcmp(sign_pub_key(*slot), pk, SIGN_PUBLICBYTES) != 0) {
		sign_pub_free(*slot);
		if ((*slot = sign_pub_new(pk)) == NULL)
			return (wire_frame_verify(job->req, job->reqlen, pk));
	}
	return (wire_frame_verify_pub(job->req, job->reqlen, *slot));
}

/*
 * Find the sender's key by (sender_id, signer_kvno), verify the frame's
 * signature, check the replay cache and the sender's state.  Return 0, or
 * -1 (answered).
 */
static int
authenticate(struct kdc_ctx *ctx)
{
	struct kdc_job *job = ctx->job;
	const struct wire_hdr *h = &ctx->msg.hdr;
	int rc;

	memcpy(job->sender, h->sender_id, WIRE_IDBYTES);
	rc = store_host_get(ctx->st, h->sender_id, &ctx->host);
	if (rc == STORE_NOTFOUND) {
		kdc_fail(ctx, WIRE_ERR_SIG, 0, "unknown host");
		return (-1);
	} else if (rc != 0) {
		kdc_fail(ctx, WIRE_ERR_INTERNAL, 1, "database error");
		return (-1);
	}
	if (h->signer_kvno == ctx->host.kvno) {
		ctx->pub = ctx->host.pub;
	} else if (h->signer_kvno > ctx->host.kvno || h->signer_kvno == 0) {
		/* 0 never names a key. */
		kdc_fail(ctx, WIRE_ERR_SIG, 0, "unknown key version");
		return (-1);
	} else if ((rc = store_host_key(ctx->st, h->sender_id, h->signer_kvno,
	                job->now_ms, &ctx->pub)) == STORE_NOTFOUND) {
		kdc_fail(ctx, WIRE_ERR_EXPIRED, 0, "old key version expired");
		return (-1);
	} else if (rc != 0) {
		kdc_fail(ctx, WIRE_ERR_INTERNAL, 1, "database error");
		return (-1);
	}
	if (verify_request(ctx)) {
		kdc_fail(ctx, WIRE_ERR_SIG, 0, "bad signature");
		return (-1);
	}
	ctx->authed = true;
	if (kdc_replay(ctx, h->sender_id))
		return (-1);
	switch (ctx->host.state) {
	case STORE_HOST_ACTIVE:
		break;
	case STORE_HOST_PENDING:
		kdc_fail(ctx, WIRE_ERR_PENDING, 0, "host awaits approval");
		return (-1);
	default:
		kdc_fail(ctx, WIRE_ERR_DENIED, 0, "host revoked");
		return (-1);
	}
	kdc_hex(job->actor, h->sender_id, WIRE_IDBYTES);
	return (0);
}

/* Process the new request of ${ctx}->job up to its answer. */
static void
process(struct kdc_ctx *ctx)
{
	struct kdcd *d = ctx->d;
	struct kdc_job *job = ctx->job;
	const struct ipc_req *r = job->ipc;

	job->resplen = 0;
	job->close = false;
	job->wop = KDC_W_NONE;
	job->persist = false;
	job->werr = 0;
	job->count = 0;
	job->result = 0;
	job->op = NULL;
	job->detail[0] = '\0';
	job->actor[0] = '\0';
	job->now_ms = kdc_now_ms();
	memset(job->sender, 0, sizeof(job->sender));
	atomic_fetch_add_explicit(&d->stats.requests, 1, memory_order_relaxed);

	/* What an ERROR echoes (type, suite, nonce) came with the message. */
	if (wire_frame_hash(job->req_hash, job->req, job->reqlen)) {
		kdc_fail(ctx, WIRE_ERR_INTERNAL, 1, "cannot hash");
		return;
	}
	if (r->decode_err != 0) {
		kdc_fail(ctx, r->decode_err, 0, "undecodable frame");
		return;
	}
	/* The network process decoded the frame; act on its decoding only
	 * if it is exactly what the frame (and so its signature) says. */
	if (ipc_req_match(r)) {
		kdc_fail(ctx, WIRE_ERR_MALFORMED, 0,
		    "the network process's decoding does not match the frame");
		return;
	}
	memcpy(&ctx->msg, &r->msg, sizeof(ctx->msg));
	ctx->decoded = true;
	if (wire_type_is_response(ctx->msg.hdr.type)) {
		kdc_fail(
		    ctx, WIRE_ERR_MALFORMED, 0, "a response sent to the KDC");
		return;
	}
	if (ctx->msg.hdr.timestamp > (uint64_t)(job->now_ms + d->skew_ms) ||
	    ctx->msg.hdr.timestamp + (uint64_t)d->skew_ms <
	        (uint64_t)job->now_ms) {
		kdc_fail(ctx, WIRE_ERR_SKEW, 0, "timestamp outside the window");
		return;
	}
	job->nonce_expires_ms =
	    (int64_t)ctx->msg.hdr.timestamp + d->replay_window_ms;
	/* RETRIEVE is not persisted in the replay cache: one made before
	 * this process started may have been seen by the previous one. */
	if (ctx->msg.hdr.type == WIRE_RETRIEVE &&
	    ctx->msg.hdr.timestamp < (uint64_t)d->start_ms) {
		kdc_fail(ctx, WIRE_ERR_SKEW, 0, "timestamp before KDC start");
		return;
	}
	if (ctx->msg.hdr.type == WIRE_ENROLL) {
		kdc_op_enroll(ctx);
		return;
	}
	if (authenticate(ctx))
		return;
	switch (ctx->msg.hdr.type) {
	case WIRE_REQUEST:
		kdc_op_request(ctx);
		break;
	case WIRE_RETRIEVE:
		kdc_op_retrieve(ctx);
		break;
	case WIRE_REVOKE:
		kdc_op_revoke(ctx);
		break;
	case WIRE_ROTATE:
		kdc_op_rotate(ctx);
		break;
	default:
		kdc_fail(ctx, WIRE_ERR_MALFORMED, 0, "unknown type");
		break;
	}
}

/* Back from the writer: the answer depends on what was written. */
static void
finish(struct kdc_ctx *ctx)
{
	struct kdc_job *job = ctx->job;
	struct wire_msg m;

	if (job->werr != 0) {
		error_frame(ctx->d, job, job->werr,
		    job->werr == WIRE_ERR_INTERNAL ? 1 : 0);
		return;
	}
	/* REVOKE: the count is known only now. */
	memset(&m, 0, sizeof(m));
	memcpy(m.u.revoke_resp.req_hash, job->req_hash, WIRE_HASHBYTES);
	m.u.revoke_resp.count = job->count;
	if (kdc_answer(ctx, &m, NULL, 0, NULL, NULL))
		error_frame(ctx->d, job, WIRE_ERR_INTERNAL, 1);
}

/* Send ${job} on: to the writer, or back to the I/O thread. */
static void
route(struct kdcd *d, struct kdc_job *job)
{
	if (job->wop != KDC_W_NONE) {
		writer_submit(d->wr, job);
		return;
	}
	if (!job->close && job->resplen > 0 &&
	    job->resp[WIRE_LENBYTES + WIRE_HDR_TYPE] != WIRE_ERROR)
		atomic_fetch_add_explicit(
		    &d->stats.by_type[job->type % 6], 1, memory_order_relaxed);
	keystore_complete(d, job);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct kdc_ctx *ctx;
	struct kdc_job *job;

	/* The context is big (a decoded ENROLL, two host records). */
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		fatal("worker");
	ctx->d = w->d;
	ctx->st = w->st;
	ctx->rl = &w->rl;
	while ((job = queue_pop(&w->d->work)) != NULL) {
		ctx->job = job;
		/* Nothing of the previous job may show in this one's answer
		 * or logs (kdc_deny reads host.state, kdc_fail the name). */
		memset(&ctx->host, 0, sizeof(ctx->host));
		ctx->decoded = false;
		ctx->authed = false;
		sock_format(ctx->src, sizeof(ctx->src),
		    (const struct sockaddr *)&job->src, job->srclen);
		if (job->phase == KDC_PHASE_FINISH) {
			finish(ctx);
			job->wop = KDC_W_NONE;
		} else {
			process(ctx);
		}
		route(w->d, job);
	}
	for (size_t i = 0; i < KDC_KEYCACHE; i++)
		sign_pub_free(ctx->keys[i]);
	free(ctx);
	return (NULL);
}

void
kdc_submit(struct kdcd *d, struct kdc_job *job)
{
	job->phase = KDC_PHASE_PROCESS;
	queue_push(&d->work, job);
}

void
kdc_finish(struct kdcd *d, struct kdc_job *job)
{
	job->phase = KDC_PHASE_FINISH;
	queue_push(&d->work, job);
}

int
kdc_start(struct kdcd *d)
{
	unsigned int i;

	if ((workers = calloc(d->nworkers, sizeof(*workers))) == NULL) {
		log_warn("workers");
		goto err0;
	}
	nworkers = d->nworkers;
	/* Every connection first, so that a failure leaves no thread. */
	for (i = 0; i < nworkers; i++) {
		workers[i].d = d;
		if ((workers[i].st = store_open(d->dbpath, STORE_READONLY)) ==
		    NULL)
			goto err1;
	}
	for (i = 0; i < nworkers; i++) {
		if ((errno = pthread_create(&workers[i].thr, NULL, worker_main,
		         &workers[i])) != 0) {
			log_warn("pthread_create");
			goto err1;
		}
		workers[i].started = true;
	}

	/* Success! */
	return (0);

err1:
	kdc_stop(d);
err0:
	/* Failure! */
	return (-1);
}

void
kdc_stop(struct kdcd *d)
{
	unsigned int i;

	if (workers == NULL)
		return;
	queue_close(&d->work);
	for (i = 0; i < nworkers; i++) {
		if (workers[i].started)
			pthread_join(workers[i].thr, NULL);
		store_close(workers[i].st);
	}
	free(workers);
	workers = NULL;
	nworkers = 0;
}
