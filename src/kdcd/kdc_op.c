/*
 * kdc_op.c: the rules of each request type (docs/PROTOCOL.md, and the
 * research notes' kdc-crypto.md section 3, "Rules for specific
 * messages"), run by the workers after decoding, freshness and (but for
 * ENROLL) authentication and the replay check.
 *
 * Each function leaves an answer in the job (an ERROR through kdc_fail or
 * kdc_deny, or a signed response) and, when the database must change or
 * an audit record be written, the writer's part (job->wop).  Reads use the
 * worker's own read-only connection; nothing here takes a lock but the
 * replay cache's and the ENROLL rate limiter's, and no crypto runs under
 * either.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cryptgate/digest.h"
#include "cryptgate/hostpub.h"
#include "cryptgate/keywrap.h"
#include "cryptgate/log.h"
#include "cryptgate/rand.h"
#include "cryptgate/rsa.h"
#include "cryptgate/secret.h"
#include "cryptgate/store.h"
#include "cryptgate/wire.h"

#include "kdcd.h"

/* ENROLL rate limit per source address: a token bucket of BURST
 * requests, refilled at one per RATE_MS; buckets in a direct-mapped
 * table (addresses that collide share a bucket: stricter, never looser). */
#define ENROLL_BURST 10
#define ENROLL_RATE_MS 6000
#define ENROLL_SLOTS 4096

struct bucket {
	uint8_t addr[16];
	int64_t last_ms; /* last refill */
	uint32_t tokens;
};

static pthread_mutex_t enroll_mu = PTHREAD_MUTEX_INITIALIZER;
static struct bucket enroll_tab[ENROLL_SLOTS];

/*
 * Take one ENROLL token for the source address of ${ctx}.  Return 0, or
 * the seconds to wait before the next one.
 */
static unsigned int
enroll_ratelimit(struct kdc_ctx *ctx)
{
	const struct kdc_job *job = ctx->job;
	struct wire_addr a;
	struct bucket *b;
	uint32_t h = 2166136261u, add;
	unsigned int wait = 0;
	size_t i;

	if (wire_addr_from_sockaddr(
	        &a, (const struct sockaddr *)&job->src, job->srclen))
		memset(&a, 0, sizeof(a));
	/* FNV-1a: the table is only a rate limiter; collisions are safe. */
	for (i = 0; i < sizeof(a.addr); i++)
		h = (h ^ a.addr[i]) * 16777619u;
	pthread_mutex_lock(&enroll_mu);
	b = &enroll_tab[h % ENROLL_SLOTS];
	if (memcmp(b->addr, a.addr, sizeof(b->addr)) != 0 &&
	    (b->last_ms == 0 ||
	        job->now_ms - b->last_ms >
	            (int64_t)ENROLL_BURST * ENROLL_RATE_MS)) {
		/* An idle bucket of another address: take it over. */
		memcpy(b->addr, a.addr, sizeof(b->addr));
		b->tokens = ENROLL_BURST;
		b->last_ms = job->now_ms;
	}
	if (b->last_ms == 0)
		b->last_ms = job->now_ms;
	if (job->now_ms > b->last_ms) {
		add = (uint32_t)((job->now_ms - b->last_ms) / ENROLL_RATE_MS);
		if (add > 0) {
			b->tokens = b->tokens + add > ENROLL_BURST
			    ? ENROLL_BURST
			    : b->tokens + add;
			b->last_ms += (int64_t)add * ENROLL_RATE_MS;
		}
	}
	if (b->tokens > 0)
		b->tokens--;
	else
		wait = ENROLL_RATE_MS / 1000;
	pthread_mutex_unlock(&enroll_mu);
	return (wait);
}

/* The wire address ${a} as the store keeps it: family || 16 bytes. */
static void
addr_store(uint8_t out[static STORE_ADDRBYTES], const struct wire_addr *a)
{
	out[0] = a->family;
	memcpy(out + 1, a->addr, 16);
}

static void
addr_wire(struct wire_addr *a, const uint8_t in[static STORE_ADDRBYTES])
{
	a->family = in[0];
	memcpy(a->addr, in + 1, 16);
}

/* A sealing key of ${alg} in an ENROLL or ROTATE: RSA must be 3072. */
static bool
sealpk_ok(unsigned int alg, const struct wire_sealpk *pk)
{
	struct rsa_key *key;
	bool ok;

	if (alg == WIRE_SUITE_X25519)
		return (pk->len == WIRE_SEALPK_X25519);
	if ((key = rsa_key_from_spki_der(pk->key, pk->len)) == NULL)
		return (false);
	ok = rsa_key_bytes(key) == WIRE_SEALED_RSA;
	rsa_key_free(key);
	return (ok);
}

/* Fill ${pub} with the keys of an ENROLL or ROTATE, for host ${id}. */
static void
pub_from(struct hostpub *pub, const uint8_t id[static WIRE_IDBYTES],
    unsigned int alg, const uint8_t sig_pk[static WIRE_SIGNPKBYTES],
    const struct wire_sealpk *pk)
{
	memset(pub, 0, sizeof(*pub));
	pub->type = alg == WIRE_SUITE_RSA ? HOSTKEY_RSA : HOSTKEY_X25519;
	memcpy(pub->host_id, id, WIRE_IDBYTES);
	memcpy(pub->sign_pk, sig_pk, WIRE_SIGNPKBYTES);
	memcpy(pub->seal_pk, pk->key, pk->len);
	pub->seal_pklen = pk->len;
}

void
kdc_op_request(struct kdc_ctx *ctx)
{
	struct kdcd *d = ctx->d;
	struct kdc_job *job = ctx->job;
	const struct wire_request *rq = &ctx->msg.u.request;
	struct store_key *k = &job->u.key;
	struct wire_request_resp *rr;
	struct store_host peer;
	uint8_t key[WIRE_SESSIONKEYBYTES];
	char kid[33], pid[33], ca[64];
	uint32_t lifetime;
	bool allowed = false;
	int rc;

	if (!kdc_seal_ok(&ctx->pub, job->suite)) {
		kdc_deny(
		    ctx, WIRE_ERR_DENIED, "sealing key unfit for the suite");
		return;
	}
	if ((rc = store_host_get(ctx->st, rq->peer_id, &peer)) ==
	    STORE_NOTFOUND) {
		kdc_deny(ctx, WIRE_ERR_DENIED, "unknown peer");
		return;
	} else if (rc != 0) {
		kdc_fail(ctx, WIRE_ERR_INTERNAL, 1, "database error");
		return;
	}
	if (peer.state != STORE_HOST_ACTIVE) {
		kdc_deny(ctx, WIRE_ERR_DENIED, "peer not active");
		return;
	}
	if (store_policy_check(
	        ctx->st, job->sender, rq->peer_id, rq->service, &allowed)) {
		kdc_fail(ctx, WIRE_ERR_INTERNAL, 1, "database error");
		return;
	}
	if (!allowed) {
		kdc_deny(ctx, WIRE_ERR_DENIED, "not allowed by policy");
		return;
	}

	/* Lifetime: 0 asks for the default; clamp to [60, max]. */
	lifetime = rq->lifetime != 0 ? rq->lifetime : d->key_lifetime;
	if (lifetime > d->max_key_lifetime)
		lifetime = d->max_key_lifetime;
	if (lifetime < KDC_LIFETIME_MIN)
		lifetime = KDC_LIFETIME_MIN;

	memset(k, 0, sizeof(*k));
	if (rand_bytes(k->key_id, sizeof(k->key_id)) ||
	    rand_bytes(key, sizeof(key))) {
		kdc_fail(ctx, WIRE_ERR_INTERNAL, 1, "random generator failed");
		goto out;
	}
	memcpy(k->client_id, job->sender, WIRE_IDBYTES);
	memcpy(k->peer_id, rq->peer_id, WIRE_IDBYTES);
	memcpy(k->service, rq->service, sizeof(rq->service));
	addr_store(k->client_addr, &rq->client_addr);
	k->not_before_ms = job->now_ms;
	k->not_after_ms = job->now_ms + (int64_t)lifetime * 1000;
	if (keywrap_wrap(k->wrapped, sizeof(k->wrapped), &k->wrappedlen, key,
	        sizeof(key), k->key_id, sizeof(k->key_id), d->master)) {
		kdc_fail(ctx, WIRE_ERR_INTERNAL, 1, "cannot wrap the key");
		goto out;
	}

	memset(&ctx->msg.u, 0, sizeof(ctx->msg.u.request_resp));
	rr = &ctx->msg.u.request_resp;
	memcpy(rr->req_hash, job->req_hash, WIRE_HASHBYTES);
	memcpy(rr->key_id, k->key_id, WIRE_KEYIDBYTES);
	rr->not_before = (uint64_t)k->not_before_ms;
	rr->not_after = (uint64_t)k->not_after_ms;
	memcpy(rr->peer_id, k->peer_id, WIRE_IDBYTES);
	memcpy(rr->service, k->service, sizeof(rr->service));
	addr_wire(&rr->client_addr, k->client_addr);
	if (kdc_answer(
	        ctx, &ctx->msg, &ctx->pub, WIRE_ROLE_CLIENT, key, k->key_id)) {
		kdc_fail(ctx, WIRE_ERR_INTERNAL, 1, "cannot make the answer");
		goto out;
	}

	/* The key, its nonce and its audit record commit together before
	 * the answer leaves. */
	job->wop = KDC_W_REQUEST;
	job->persist = true;
	job->op = "REQUEST";
	snprintf(job->detail, sizeof(job->detail),
	    "key=%s peer=%s service=%s client_addr=%s lifetime=%u src=%s",
	    kdc_hex(kid, k->key_id, WIRE_KEYIDBYTES),
	    kdc_hex(pid, k->peer_id, WIRE_IDBYTES), k->service,
	    kdc_addr(ca, sizeof(ca), &rr->client_addr), lifetime, ctx->src);
out:
	secret_wipe(key, sizeof(key));
}

void
kdc_op_retrieve(struct kdc_ctx *ctx)
{
	struct kdcd *d = ctx->d;
	struct kdc_job *job = ctx->job;
	const struct wire_retrieve *rt = &ctx->msg.u.retrieve;
	struct wire_retrieve_resp *rr;
	struct wire_addr wa;
	struct store_key k;
	struct store_host client;
	uint8_t key[KEYWRAP_KEYBYTES_MAX], addr[STORE_ADDRBYTES];
	static const uint8_t zero[WIRE_KEYIDBYTES];
	char kid[33], cid[33], ca[64];
	const char *why = NULL;
	size_t keylen = 0;
	int rc;

	/* Every refusal below is the same DENIED to the host; the reason
	 * goes to the audit log only. */
	if (memcmp(rt->key_id, zero, sizeof(zero)) == 0) {
		kdc_deny(
		    ctx, WIRE_ERR_DENIED, "lookup by address is not supported");
		return;
	}
	if (!kdc_seal_ok(&ctx->pub, job->suite)) {
		kdc_deny(
		    ctx, WIRE_ERR_DENIED, "sealing key unfit for the suite");
		return;
	}
	if ((rc = store_key_get(ctx->st, rt->key_id, &k)) == STORE_NOTFOUND) {
		why = "no such key";
	} else if (rc != 0) {
		kdc_fail(ctx, WIRE_ERR_INTERNAL, 1, "database error");
		return;
	} else {
		addr_store(addr, &rt->client_addr);
		if (memcmp(k.peer_id, job->sender, WIRE_IDBYTES) != 0)
			why = "not the key's peer";
		else if (strcmp(k.service, rt->service) != 0)
			why = "wrong service";
		else if (memcmp(k.client_addr, addr, sizeof(addr)) != 0)
			why = "wrong client address";
		else if (job->now_ms < k.not_before_ms ||
		    job->now_ms > k.not_after_ms)
			why = "key expired";
		else if (k.revoked)
			why = "key revoked";
	}
	if (why == NULL) {
		rc = store_host_get(ctx->st, k.client_id, &client);
		if (rc == STORE_NOTFOUND ||
		    (rc == 0 && client.state != STORE_HOST_ACTIVE)) {
			why = "requester no longer active";
		} else if (rc != 0) {
			kdc_fail(ctx, WIRE_ERR_INTERNAL, 1, "database error");
			return;
		}
	}
	kdc_hex(kid, rt->key_id, WIRE_KEYIDBYTES);
	if (why != NULL) {
		char detail[128];

		snprintf(detail, sizeof(detail), "key=%s: %s", kid, why);
		kdc_deny(ctx, WIRE_ERR_DENIED, detail);
		return;
	}

	if (keywrap_unwrap(key, sizeof(key), &keylen, k.wrapped, k.wrappedlen,
	        k.key_id, sizeof(k.key_id), d->master) ||
	    keylen != WIRE_SESSIONKEYBYTES) {
		log_warnx("RETRIEVE %s host %s: refused (INTERNAL): key %s "
		          "cannot be unwrapped (wrong master key?)",
		    ctx->src, ctx->host.name, kid);
		kdc_fail(ctx, WIRE_ERR_INTERNAL, 1, NULL);
		goto out;
	}
	memset(&ctx->msg.u, 0, sizeof(ctx->msg.u.retrieve_resp));
	rr = &ctx->msg.u.retrieve_resp;
	memcpy(rr->req_hash, job->req_hash, WIRE_HASHBYTES);
	memcpy(rr->key_id, k.key_id, WIRE_KEYIDBYTES);
	rr->not_after = (uint64_t)k.not_after_ms;
	memcpy(rr->requester_id, k.client_id, WIRE_IDBYTES);
	if (kdc_answer(
	        ctx, &ctx->msg, &ctx->pub, WIRE_ROLE_PEER, key, k.key_id)) {
		kdc_fail(ctx, WIRE_ERR_INTERNAL, 1, "cannot make the answer");
		goto out;
	}
	/* The audit record commits before the answer leaves (fail
	 * closed). */
	job->wop = KDC_W_AUDIT;
	job->op = "RETRIEVE";
	addr_wire(&wa, k.client_addr);
	snprintf(job->detail, sizeof(job->detail),
	    "key=%s client=%s service=%s client_addr=%s src=%s", kid,
	    kdc_hex(cid, k.client_id, WIRE_IDBYTES), k.service,
	    kdc_addr(ca, sizeof(ca), &wa), ctx->src);
out:
	secret_wipe(key, sizeof(key));
}

void
kdc_op_enroll(struct kdc_ctx *ctx)
{
	struct kdc_job *job = ctx->job;
	const struct wire_enroll *e = &ctx->msg.u.enroll;
	struct store_host *h = &job->u.enroll.host;
	static const uint8_t zero[WIRE_MACBYTES];
	struct wire_enroll_resp *er;
	struct store_host old;
	uint8_t id[WIRE_IDBYTES], state;
	char hid[33], name[WIRE_HOSTNAME_MAX + 1];
	unsigned int wait;
	bool token;
	int rc;

	if (ctx->d->enroll == KDC_ENROLL_CLOSED) {
		kdc_fail(ctx, WIRE_ERR_DENIED, 0,
		    "enrollment is closed (enroll = closed)");
		return;
	}
	if ((wait = enroll_ratelimit(ctx)) != 0) {
		kdc_fail(ctx, WIRE_ERR_RATE, (uint16_t)wait,
		    "too many enrollments from this address");
		return;
	}
	/* Proof of possession: signed by the key it registers. */
	if (wire_frame_verify(job->req, job->reqlen, e->sig_pk)) {
		kdc_fail(ctx, WIRE_ERR_SIG, 0, "bad signature");
		return;
	}
	if (!sealpk_ok(e->seal_alg, &e->seal_pk)) {
		kdc_fail(
		    ctx, WIRE_ERR_MALFORMED, 0, "sealing key not RSA-3072");
		return;
	}
	if (hostpub_id_compute(id, e->sig_pk, e->seal_pk.key, e->seal_pk.len)) {
		kdc_fail(ctx, WIRE_ERR_INTERNAL, 1, "cannot compute host id");
		return;
	}
	memcpy(job->sender, id, WIRE_IDBYTES);
	kdc_hex(job->actor, id, WIRE_IDBYTES);
	if (kdc_replay(ctx, id))
		return;
	snprintf(name, sizeof(name), "%s", e->hostname);
	token = memcmp(e->enroll_mac, zero, sizeof(zero)) != 0;
	if (!token && ctx->d->enroll == KDC_ENROLL_TOKEN) {
		kdc_fail(ctx, WIRE_ERR_DENIED, 0,
		    "enrollment needs a token (enroll = token)");
		return;
	}

	memset(&job->u.enroll, 0, sizeof(job->u.enroll));
	if ((rc = store_host_get(ctx->st, id, &old)) == 0) {
		/* Enrolled before: idempotent, but a token may activate a
		 * pending host. */
		if (old.state == STORE_HOST_REVOKED) {
			kdc_fail(ctx, WIRE_ERR_DENIED, 0, "host revoked");
			return;
		}
		state = old.state == STORE_HOST_ACTIVE || token
		    ? WIRE_STATE_ACTIVE
		    : WIRE_STATE_PENDING;
		if (old.state == STORE_HOST_PENDING && token) {
			job->u.enroll.exists = true;
			job->u.enroll.token = true;
			job->wop = KDC_W_ENROLL;
		}
	} else if (rc != STORE_NOTFOUND) {
		kdc_fail(ctx, WIRE_ERR_INTERNAL, 1, "database error");
		return;
	} else {
		if ((rc = store_host_get_by_name(ctx->st, e->hostname, &old)) ==
		    0) {
			kdc_fail(ctx, WIRE_ERR_DENIED, 0,
			    "host name taken by another host");
			return;
		} else if (rc != STORE_NOTFOUND) {
			kdc_fail(ctx, WIRE_ERR_INTERNAL, 1, "database error");
			return;
		}
		state = token ? WIRE_STATE_ACTIVE : WIRE_STATE_PENDING;
		memcpy(h->host_id, id, WIRE_IDBYTES);
		snprintf(h->name, sizeof(h->name), "%s", e->hostname);
		h->state = token ? STORE_HOST_ACTIVE : STORE_HOST_PENDING;
		h->kvno = WIRE_KVNO_FIRST;
		pub_from(&h->pub, id, e->seal_alg, e->sig_pk, &e->seal_pk);
		h->naddrs = e->naddrs;
		for (size_t i = 0; i < e->naddrs; i++)
			addr_store(h->addrs[i], &e->addrs[i]);
		h->created_ms = job->now_ms;
		job->u.enroll.token = token;
		job->wop = KDC_W_ENROLL;
	}

	/* The answer assumes the token is good; the writer checks it and
	 * turns the answer into DENIED if it is not. */
	memset(&ctx->msg.u, 0, sizeof(ctx->msg.u.enroll_resp));
	er = &ctx->msg.u.enroll_resp;
	memcpy(er->req_hash, job->req_hash, WIRE_HASHBYTES);
	memcpy(er->host_id, id, WIRE_IDBYTES);
	er->state = state;
	if (kdc_answer(ctx, &ctx->msg, NULL, 0, NULL, NULL)) {
		kdc_fail(ctx, WIRE_ERR_INTERNAL, 1, "cannot make the answer");
		return;
	}
	if (job->wop == KDC_W_ENROLL) {
		job->persist = true;
		job->op = "ENROLL";
		snprintf(job->detail, sizeof(job->detail),
		    "host=%s name=%s state=%s token=%s src=%s",
		    kdc_hex(hid, id, WIRE_IDBYTES), name,
		    state == WIRE_STATE_ACTIVE ? "active" : "pending",
		    token ? "yes" : "no", ctx->src);
	}
}

void
kdc_op_revoke(struct kdc_ctx *ctx)
{
	struct kdc_job *job = ctx->job;
	const struct wire_revoke *rv = &ctx->msg.u.revoke;
	struct store_key k;
	char kid[33];
	int rc;

	switch (rv->kind) {
	case WIRE_REVOKE_KEY:
		rc = store_key_get(ctx->st, rv->id, &k);
		if (rc != 0 && rc != STORE_NOTFOUND) {
			kdc_fail(ctx, WIRE_ERR_INTERNAL, 1, "database error");
			return;
		}
		if (rc == STORE_NOTFOUND ||
		    (memcmp(k.client_id, job->sender, WIRE_IDBYTES) != 0 &&
		        memcmp(k.peer_id, job->sender, WIRE_IDBYTES) != 0)) {
			kdc_deny(ctx, WIRE_ERR_DENIED, "revoke: not your key");
			return;
		}
		job->wop = KDC_W_REVOKE_KEY;
		memcpy(job->u.revoke_id, rv->id, WIRE_KEYIDBYTES);
		snprintf(job->detail, sizeof(job->detail),
		    "key=%s reason=%u src=%s",
		    kdc_hex(kid, rv->id, WIRE_KEYIDBYTES), rv->reason,
		    ctx->src);
		break;
	case WIRE_REVOKE_MINE:
		job->wop = KDC_W_REVOKE_MINE;
		snprintf(job->detail, sizeof(job->detail),
		    "all keys reason=%u src=%s", rv->reason, ctx->src);
		break;
	default:
		kdc_deny(ctx, WIRE_ERR_DENIED,
		    "revoke by host id is for the administrator");
		return;
	}
	/* The answer (the count) is made after the write (KDC_PHASE_FINISH). */
	job->persist = true;
	job->op = "REVOKE";
}

void
kdc_op_rotate(struct kdc_ctx *ctx)
{
	struct kdc_job *job = ctx->job;
	const struct wire_rotate *r = &ctx->msg.u.rotate;
	struct wire_rotate_resp *rr;
	uint16_t new_kvno = r->new_kvno;
	char hid[33];

	if (ctx->msg.hdr.signer_kvno != ctx->host.kvno) {
		kdc_deny(ctx, WIRE_ERR_DENIED, "rotate: not the current key");
		return;
	}
	if (new_kvno <= ctx->host.kvno) {
		kdc_deny(ctx, WIRE_ERR_DENIED, "rotate: new_kvno not above");
		return;
	}
	if (!sealpk_ok(r->seal_alg, &r->new_seal_pk)) {
		kdc_fail(
		    ctx, WIRE_ERR_MALFORMED, 0, "sealing key not RSA-3072");
		return;
	}
	if (wire_msg_pop_verify(r, job->sender)) {
		kdc_fail(ctx, WIRE_ERR_SIG, 0, "bad proof of possession");
		return;
	}
	pub_from(&job->u.rotate.pub, job->sender, r->seal_alg, r->new_sig_pk,
	    &r->new_seal_pk);
	memcpy(job->u.rotate.pub.comment, ctx->host.pub.comment,
	    sizeof(job->u.rotate.pub.comment));
	job->u.rotate.new_kvno = new_kvno;
	job->u.rotate.old_valid_until_ms = job->now_ms + KDC_ROTATE_OVERLAP_MS;

	memset(&ctx->msg.u, 0, sizeof(ctx->msg.u.rotate_resp));
	rr = &ctx->msg.u.rotate_resp;
	memcpy(rr->req_hash, job->req_hash, WIRE_HASHBYTES);
	rr->new_kvno = new_kvno;
	rr->old_valid_until = (uint64_t)job->u.rotate.old_valid_until_ms;
	if (kdc_answer(ctx, &ctx->msg, NULL, 0, NULL, NULL)) {
		kdc_fail(ctx, WIRE_ERR_INTERNAL, 1, "cannot make the answer");
		return;
	}
	job->wop = KDC_W_ROTATE;
	job->persist = true;
	job->op = "ROTATE";
	snprintf(job->detail, sizeof(job->detail),
	    "host=%s new_kvno=%u old_valid_until=%lld src=%s",
	    kdc_hex(hid, job->sender, WIRE_IDBYTES), new_kvno,
	    (long long)job->u.rotate.old_valid_until_ms, ctx->src);
}
