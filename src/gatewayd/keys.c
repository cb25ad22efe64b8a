/*
 * keys.c: where the gateway's PSKs come from.
 *
 * Server role: the key cache, shared by the workers behind a mutex, maps
 * (service, key id) to the PSK, the client address the KDC bound the key
 * to, and an expiry (key_cache_ttl, capped by the key's not_after).  A
 * hit is used only from that address.  A miss starts a RETRIEVE on the
 * worker's event loop (kdcclient ops driven by kdcclient_step); the
 * handshakes that wait for the same (service, key id, address) share it.
 * A denial is cached as a negative entry for NEG_TTL_MS.  When the KDC
 * cannot be reached, the waiting handshakes are refused with a
 * rate-limited "KDC unreachable" line and, for KDC_DOWN_MS, so are new
 * unknown identities on that worker without trying (cached keys go on
 * working).  At most LOOKUPS_MAX ops run at once per worker; more wait in
 * a queue (bounded by the connection limits and the handshake timeout).
 *
 * Client roles: keyslot.c.  Both drive their KDC operations through the
 * lookups here (struct lookup, keys_int.h).
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "cryptgate/secret.h"

#include "gatewayd.h"
#include "keys_int.h"

#define CACHE_BUCKETS 4096
#define CACHE_MAX 65536
#define NEG_TTL_MS 10000
#define KDC_DOWN_MS 2000
#define LOOKUPS_MAX 32

struct centry {
	struct centry *next;
	char svc[WIRE_SERVICE_MAX + 1];
	uint8_t key_id[WIRE_KEYIDBYTES];
	struct wire_addr addr;
	uint8_t requester[WIRE_IDBYTES]; /* the client host of the key */
	int64_t expires;
	enum stat_id why; /* negative entries: the reason */
	char *detail; /* negative entries: the reason in words, or NULL */
	uint8_t *psk; /* TLS_PSKBYTES of secret memory; NULL: negative */
};

static struct {
	pthread_mutex_t mu;
	struct centry *b[CACHE_BUCKETS];
	size_t n;
} K = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void lookup_step(struct lookup *l);

int64_t
keys_real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* The address of ${ss} as the KDC protocol writes it. */
static void
to_wire(struct wire_addr *a, const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *sin = (const void *)ss;
	const struct sockaddr_in6 *sin6 = (const void *)ss;

	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET6 &&
	    !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		a->family = WIRE_AF_INET6;
		memcpy(a->addr, &sin6->sin6_addr, 16);
		return;
	}
	a->family = WIRE_AF_INET;
	a->addr[10] = 0xff;
	a->addr[11] = 0xff;
	if (ss->ss_family == AF_INET)
		memcpy(&a->addr[12], &sin->sin_addr, 4);
	else
		memcpy(&a->addr[12], &sin6->sin6_addr.s6_addr[12], 4);
}

bool
keys_addr_eq(const struct wire_addr *a, const struct wire_addr *b)
{
	return (a->family == b->family &&
	    memcmp(a->addr, b->addr, sizeof(a->addr)) == 0);
}

/* --- the cache ---------------------------------------------------------- */

int
keys_init(void)
{
	return (0);
}

static void
centry_free(struct centry *e)
{
	secret_free(e->psk, TLS_PSKBYTES);
	free(e->detail);
	free(e);
}

static size_t
bucket(const uint8_t key_id[static WIRE_KEYIDBYTES])
{
	return (((size_t)key_id[0] << 8 | key_id[1]) % CACHE_BUCKETS);
}

/* Drop expired entries (all of them if ${all}); with K.mu held. */
static void
sweep_locked(int64_t now, bool all)
{
	struct centry *e, **pp;
	size_t i;

	for (i = 0; i < CACHE_BUCKETS; i++) {
		for (pp = &K.b[i]; (e = *pp) != NULL;) {
			if (all || e->expires <= now) {
				*pp = e->next;
				centry_free(e);
				K.n--;
			} else {
				pp = &e->next;
			}
		}
	}
}

void
keys_sweep(int64_t now)
{
	pthread_mutex_lock(&K.mu);
	sweep_locked(now, false);
	pthread_mutex_unlock(&K.mu);
}

size_t
keys_cache_count(void)
{
	size_t n;

	pthread_mutex_lock(&K.mu);
	n = K.n;
	pthread_mutex_unlock(&K.mu);
	return (n);
}

void
keys_fini(void)
{
	pthread_mutex_lock(&K.mu);
	sweep_locked(0, true);
	pthread_mutex_unlock(&K.mu);
	keyslot_fini();
}

/* The entry of (${svc}, ${key_id}), expired ones removed; K.mu held. */
static struct centry *
cache_find(const char *svc, const uint8_t *key_id, int64_t now)
{
	struct centry *e, **pp;

	for (pp = &K.b[bucket(key_id)]; (e = *pp) != NULL;) {
		if (e->expires <= now) {
			*pp = e->next;
			centry_free(e);
			K.n--;
			continue;
		}
		if (memcmp(e->key_id, key_id, WIRE_KEYIDBYTES) == 0 &&
		    strcmp(e->svc, svc) == 0)
			return (e);
		pp = &e->next;
	}
	return (NULL);
}

/* Cache a key (${psk}) or a refusal (NULL, ${why}, ${detail}) for ${ttl}
 * ms. */
static void
cache_put(const struct lookup *l, const uint8_t *psk, const uint8_t *requester,
    enum stat_id why, const char *detail, int64_t ttl)
{
	int64_t now = kdcclient_now_ms();
	struct centry *e;
	size_t h = bucket(l->key_id);

	if (ttl <= 0)
		return;
	pthread_mutex_lock(&K.mu);
	if ((e = cache_find(l->svc, l->key_id, now)) != NULL &&
	    e->psk != NULL && psk == NULL && !keys_addr_eq(&e->addr, &l->addr))
		goto out; /* keep the key; this was another address */
	if (e == NULL) {
		if (K.n >= CACHE_MAX)
			sweep_locked(now, false);
		if (K.n >= CACHE_MAX || (e = calloc(1, sizeof(*e))) == NULL)
			goto out;
		memcpy(e->svc, l->svc, sizeof(e->svc));
		memcpy(e->key_id, l->key_id, WIRE_KEYIDBYTES);
		e->next = K.b[h];
		K.b[h] = e;
		K.n++;
	}
	e->addr = l->addr;
	if (requester != NULL)
		memcpy(e->requester, requester, WIRE_IDBYTES);
	e->expires = now + ttl;
	e->why = why;
	free(e->detail);
	/* Out of memory: the log line of a cached refusal says less. */
	e->detail = psk == NULL && detail != NULL ? strdup(detail) : NULL;
	if (psk == NULL) {
		secret_free(e->psk, TLS_PSKBYTES);
		e->psk = NULL;
	} else if (e->psk != NULL ||
	    (e->psk = secret_alloc(TLS_PSKBYTES)) != NULL) {
		memcpy(e->psk, psk, TLS_PSKBYTES);
	} else {
		e->expires = now; /* no memory: swept next time */
	}
out:
	pthread_mutex_unlock(&K.mu);
}

/* --- lookups ------------------------------------------------------------ */

void
keys_wait_on(struct conn **head, struct conn *c)
{
	c->wnext = *head;
	if (*head != NULL)
		(*head)->wpprev = &c->wnext;
	*head = c;
	c->wpprev = head;
}

void
keys_unwait(struct conn *c)
{
	if (c->wpprev == NULL)
		return;
	*c->wpprev = c->wnext;
	if (c->wnext != NULL)
		c->wnext->wpprev = c->wpprev;
	c->wnext = NULL;
	c->wpprev = NULL;
}

static void
lookup_io(struct evloop_io *io, unsigned int revents, void *arg)
{
	(void)io;
	(void)revents;
	lookup_step(arg);
}

static void
lookup_timer(struct evloop_timer *t, void *arg)
{
	(void)t;
	lookup_step(arg);
}

struct lookup *
keys_lookup_new(
    struct worker *w, struct gwconf *cf, enum lookup_kind kind, const char *svc)
{
	struct lookup *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return (NULL);
	l->w = w;
	l->cf = gwconf_ref(cf);
	l->kind = kind;
	snprintf(l->svc, sizeof(l->svc), "%s", svc);
	evloop_io_init(&l->io, -1, lookup_io, l);
	evloop_timer_init(&l->timer, lookup_timer, l);
	return (l);
}

void
keys_lookup_free(struct lookup *l)
{
	evloop_io_stop(l->w->el, &l->io);
	evloop_timer_stop(l->w->el, &l->timer);
	kdcclient_op_free(l->op);
	gwconf_unref(l->cf);
	free(l);
}

static void
list_remove(struct lookup **head, struct lookup *l)
{
	struct lookup **pp;

	for (pp = head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == l) {
			*pp = l->next;
			return;
		}
	}
}

/* The lookup for (${svc}, ${key_id}, ${addr}) on ${kw}, or NULL. */
static struct lookup *
lookup_find(struct keys_worker *kw, const char *svc, const uint8_t *key_id,
    const struct wire_addr *addr, const struct service *sv)
{
	struct lookup *l, *lists[2] = { kw->active, kw->queued };
	int i;

	for (i = 0; i < 2; i++) {
		for (l = lists[i]; l != NULL; l = l->next) {
			if (l->kind == LK_RETRIEVE &&
			    memcmp(l->key_id, key_id, WIRE_KEYIDBYTES) == 0 &&
			    keys_addr_eq(&l->addr, addr) &&
			    strcmp(l->svc, svc) == 0 &&
			    l->has_peer == sv->has_peer &&
			    memcmp(l->peer, sv->peer_id, WIRE_IDBYTES) == 0)
				return (l);
		}
	}
	return (NULL);
}

/*
 * Make ${l} active: its first step runs from the event loop (a zero-delay
 * timer), never from the caller, so that an answer (even an immediate
 * failure) never comes before the caller has set up its waiting state.
 * Return 0, or -1 (out of memory: ${l} is not active).
 */
static int
lookup_launch(struct lookup *l)
{
	struct keys_worker *kw = &l->w->kw;

	if (l->kind == LK_RETRIEVE)
		l->op = kdcclient_retrieve_start(
		    l->cf->kc, l->key_id, &l->addr, l->svc);
	else
		l->op = kdcclient_request_start(
		    l->cf->kc, l->peer, l->svc, &l->addr, 0);
	if (evloop_timer_start(l->w->el, &l->timer, 0))
		return (-1);
	l->next = kw->active;
	kw->active = l;
	kw->nactive++;
	return (0);
}

int
keys_lookup_submit(struct lookup *l)
{
	struct keys_worker *kw = &l->w->kw;

	if (kw->nactive < LOOKUPS_MAX)
		return (lookup_launch(l));
	l->next = NULL;
	if (kw->qtail == NULL)
		kw->qtail = &kw->queued;
	*kw->qtail = l;
	kw->qtail = &l->next;
	return (0);
}

static void retrieve_done(struct lookup *l, int r);

static void
lookup_finish(struct lookup *l, int r)
{
	struct keys_worker *kw = &l->w->kw;
	struct lookup *q;

	list_remove(&kw->active, l);
	kw->nactive--;
	evloop_io_stop(l->w->el, &l->io);
	evloop_timer_stop(l->w->el, &l->timer);
	if (l->kind == LK_RETRIEVE)
		retrieve_done(l, r);
	else
		keyslot_request_done(l, r);
	keys_lookup_free(l);
	while (kw->nactive < LOOKUPS_MAX && (q = kw->queued) != NULL) {
		if ((kw->queued = q->next) == NULL)
			kw->qtail = NULL;
		if (lookup_launch(q)) {
			/* Out of memory: fail it like a KDC failure. */
			kdcclient_op_free(q->op);
			q->op = NULL;
			q->next = kw->active;
			kw->active = q;
			kw->nactive++;
			lookup_finish(q, KDCCLIENT_FAILED);
			break;
		}
	}
}

static void
lookup_step(struct lookup *l)
{
	struct evloop *el = l->w->el;
	int64_t now = kdcclient_now_ms(), dl;
	int r;

	if (l->op == NULL) {
		lookup_finish(l, KDCCLIENT_FAILED);
		return;
	}
	r = kdcclient_step(l->op, now);
	evloop_io_stop(el, &l->io);
	if (r != KDCCLIENT_WANT_READ && r != KDCCLIENT_WANT_WRITE) {
		lookup_finish(l, r);
		return;
	}
	evloop_io_init(&l->io, kdcclient_fd(l->op), lookup_io, l);
	dl = kdcclient_deadline(l->op) - now;
	if (evloop_io_start(el, &l->io,
	        r == KDCCLIENT_WANT_READ ? EVLOOP_IN : EVLOOP_OUT) ||
	    evloop_timer_start(el, &l->timer, dl > 0 ? (uint64_t)dl : 0))
		lookup_finish(l, KDCCLIENT_FAILED);
}

/* --- server role -------------------------------------------------------- */

/* Answer every connection waiting on ${l} (a refusal: ${why}, ${detail}). */
static void
answer(
    struct lookup *l, const uint8_t *psk, enum stat_id why, const char *detail)
{
	struct conn *c;

	while ((c = l->waiters) != NULL) {
		keys_unwait(c);
		service_psk_answered(c, l->identity, psk, why, detail);
	}
}

static void
retrieve_done(struct lookup *l, int r)
{
	const struct kdcclient_result *res = kdcclient_result(l->op);
	struct keys_worker *kw = &l->w->kw;
	uint8_t psk[TLS_PSKBYTES];
	char err[256];
	int64_t left, ttl;

	if (r != KDCCLIENT_DONE || res == NULL) {
		kw->kdc_down_until = kdcclient_now_ms() + KDC_DOWN_MS;
		/* Each connection refused logs it (service.c: hs_log). */
		answer(l, NULL, ST_HS_KDC_DOWN,
		    l->op != NULL ? kdcclient_error(l->op) : "out of memory");
		return;
	}
	left = (int64_t)res->not_after - keys_real_ms();
	if (res->error != 0 || res->session_key == NULL ||
	    memcmp(res->key_id, l->key_id, WIRE_KEYIDBYTES) != 0 ||
	    (l->has_peer &&
	        memcmp(res->requester_id, l->peer, WIRE_IDBYTES) != 0) ||
	    left <= 0) {
		if (res->error != 0)
			kdcclient_err_format(err, sizeof(err), res);
		else
			snprintf(err, sizeof(err), "%s",
			    left <= 0 ? "key expired"
			              : "key issued to another host than peer");
		cache_put(l, NULL, NULL, ST_HS_UNKNOWN, err, NEG_TTL_MS);
		answer(l, NULL, ST_HS_UNKNOWN, err);
		return;
	}
	if (kdcclient_psk(psk, res->session_key, l->key_id)) {
		answer(l, NULL, ST_HS_OTHER, "cannot derive the PSK");
		return;
	}
	ttl = (int64_t)l->cf->cache_ttl_ms;
	cache_put(l, psk, res->requester_id, 0, NULL, ttl < left ? ttl : left);
	answer(l, psk, 0, NULL);
	secret_wipe(psk, sizeof(psk));
}

enum keys_result
keys_server(struct conn *c, const uint8_t key_id[static WIRE_KEYIDBYTES],
    const char *identity, uint8_t psk[static TLS_PSKBYTES], enum stat_id *why)
{
	struct worker *w = c->w;
	struct keys_worker *kw = &w->kw;
	const char *svc = c->svc->kdc_service;
	struct wire_addr addr;
	struct centry *e;
	struct lookup *l;
	int64_t now = kdcclient_now_ms();
	enum keys_result r = KEYS_REFUSED;
	char detail[320];

	detail[0] = '\0';
	to_wire(&addr, &c->peer);
	pthread_mutex_lock(&K.mu);
	if ((e = cache_find(svc, key_id, now)) != NULL) {
		if (e->psk != NULL && keys_addr_eq(&e->addr, &addr) &&
		    c->svc->has_peer &&
		    memcmp(e->requester, c->svc->peer_id, WIRE_IDBYTES) != 0) {
			*why = ST_HS_UNKNOWN;
			snprintf(detail, sizeof(detail),
			    "key issued to another host than peer");
		} else if (e->psk != NULL && keys_addr_eq(&e->addr, &addr)) {
			memcpy(psk, e->psk, TLS_PSKBYTES);
			r = KEYS_FOUND;
		} else if (e->psk != NULL) {
			/* The KDC bound this key to another address. */
			*why = ST_HS_UNKNOWN;
			snprintf(detail, sizeof(detail),
			    "the key is bound to another client address");
		} else if (keys_addr_eq(&e->addr, &addr)) {
			/* Refused a moment ago: the entry's detail is copied
			 * while K.mu is held (it may go once it is not). */
			*why = e->why;
			snprintf(detail, sizeof(detail), "%s (cached refusal)",
			    e->detail != NULL ? e->detail : "refused");
		} else {
			r = KEYS_PENDING; /* a refusal for another address */
		}
	} else {
		r = KEYS_PENDING;
	}
	pthread_mutex_unlock(&K.mu);
	if (r == KEYS_REFUSED)
		goto refused;
	if (r != KEYS_PENDING)
		return (r);
	if (now < kw->kdc_down_until) {
		*why = ST_HS_KDC_DOWN;
		snprintf(detail, sizeof(detail),
		    "a lookup failed less than %d s ago", KDC_DOWN_MS / 1000);
		goto refused;
	}
	if ((l = lookup_find(kw, svc, key_id, &addr, c->svc)) == NULL) {
		if ((l = keys_lookup_new(w, c->svc->cf, LK_RETRIEVE, svc)) ==
		    NULL)
			goto nomem;
		memcpy(l->key_id, key_id, WIRE_KEYIDBYTES);
		l->addr = addr;
		l->has_peer = c->svc->has_peer;
		memcpy(l->peer, c->svc->peer_id, WIRE_IDBYTES);
		snprintf(l->identity, sizeof(l->identity), "%s", identity);
		if (keys_lookup_submit(l)) {
			keys_lookup_free(l);
			goto nomem;
		}
	}
	keys_wait_on(&l->waiters, c);
	return (KEYS_PENDING);

nomem:
	*why = ST_HS_OTHER;
	snprintf(detail, sizeof(detail), "out of memory");
refused:
	service_refuse(c, *why, identity, detail);
	return (KEYS_REFUSED);
}

void
keys_worker_fini(struct worker *w)
{
	struct keys_worker *kw = &w->kw;
	struct lookup *l;
	int i;

	for (i = 0; i < 2; i++) {
		while ((l = i == 0 ? kw->active : kw->queued) != NULL) {
			if (i == 0)
				kw->active = l->next;
			else
				kw->queued = l->next;
			if (l->kind == LK_REQUEST)
				keyslot_cancel(l->slot);
			while (l->waiters != NULL)
				keys_unwait(l->waiters);
			keys_lookup_free(l);
		}
	}
	kw->qtail = NULL;
	kw->nactive = 0;
}

size_t
keys_inflight(const struct worker *w)
{
	const struct lookup *l;
	size_t n = w->kw.nactive;

	for (l = w->kw.queued; l != NULL; l = l->next)
		n++;
	return (n);
}
