/*
 * keyslot.c: the keys of the client roles (client, transparent).
 *
 * One key slot per (service, peer, our address), shared by the workers:
 * the first connection that finds it empty starts a REQUEST to the KDC,
 * the others wait (on their worker's keywait list); the key is then used
 * by every connection until shortly before its not_after (one REQUEST
 * per key lifetime), and renewed in the background once three quarters
 * of its remaining life have passed.  Workers waiting for a slot are
 * woken with evloop_wakeup().  A key the peer's gateway refuses is
 * dropped (at most once per CLIENT_DROP_MS), so that a revoked key is
 * replaced; after a failed REQUEST new connections are refused for
 * CLIENT_FAIL_MS.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "cryptgate/secret.h"

#include "gatewayd.h"
#include "keys_int.h"

#define CLIENT_FAIL_MS 1000
#define CLIENT_DROP_MS 10000

struct keyslot {
	struct keyslot *next;
	char svc[WIRE_SERVICE_MAX + 1];
	uint8_t peer[WIRE_IDBYTES];
	struct wire_addr src;
	bool valid;
	bool fetching;
	char identity[KDCCLIENT_IDENTITYBYTES];
	uint8_t *psk; /* secret memory */
	int64_t use_until;
	int64_t refresh_at;
	int64_t fail_until;
	enum stat_id fail_why;
	uint64_t waitmask; /* workers with connections waiting */
	int64_t dropped_at; /* keys_client_failed dropped the key then */
};

static struct {
	pthread_mutex_t mu;
	struct keyslot *slots;
} S = { .mu = PTHREAD_MUTEX_INITIALIZER };

void
keyslot_cancel(struct keyslot *s)
{
	pthread_mutex_lock(&S.mu);
	s->fetching = false;
	pthread_mutex_unlock(&S.mu);
}

void
keyslot_fini(void)
{
	struct keyslot *s;

	pthread_mutex_lock(&S.mu);
	while ((s = S.slots) != NULL) {
		S.slots = s->next;
		secret_free(s->psk, TLS_PSKBYTES);
		free(s);
	}
	pthread_mutex_unlock(&S.mu);
}

static void
wake_workers(struct worker *self, uint64_t mask)
{
	struct worker *w;
	unsigned int i;

	for (i = 0; i < gw_nworkers() && mask != 0; i++) {
		if (!(mask & ((uint64_t)1 << i)))
			continue;
		mask &= ~((uint64_t)1 << i);
		w = gw_worker(i);
		atomic_store(&w->kw.woken, true);
		if (w != self)
			evloop_wakeup(w->el);
	}
	if (atomic_load(&self->kw.woken))
		keyslot_wake(self);
}

void
keyslot_request_done(struct lookup *l, int r)
{
	const struct kdcclient_result *res = kdcclient_result(l->op);
	struct keyslot *s = l->slot;
	struct keys_worker *kw = &l->w->kw;
	char id[KDCCLIENT_IDENTITYBYTES], err[256];
	uint8_t psk[TLS_PSKBYTES];
	int64_t now = kdcclient_now_ms(), left = 0;
	uint64_t mask;
	bool ok = false;

	err[0] = '\0';
	if (r != KDCCLIENT_DONE || res == NULL)
		snprintf(err, sizeof(err), "KDC unreachable: %s",
		    l->op != NULL ? kdcclient_error(l->op) : "out of memory");
	else if (res->error != 0 || res->session_key == NULL)
		kdcclient_err_format(err, sizeof(err), res);
	else if ((left = (int64_t)res->not_after - keys_real_ms()) <= 0)
		snprintf(err, sizeof(err), "the KDC issued an expired key");
	else if (kdcclient_identity(id, sizeof(id),
	             kdcclient_kdc_name(l->cf->kc), res->key_id) ||
	    kdcclient_psk(psk, res->session_key, res->key_id))
		snprintf(err, sizeof(err), "cannot derive the key");
	else
		ok = true;
	if (!ok)
		log_ratelimited(&kw->rl, LOG_WARNING,
		    "[%s] no key for new connections: %s", l->svc, err);

	pthread_mutex_lock(&S.mu);
	s->fetching = false;
	if (ok &&
	    (s->psk != NULL || (s->psk = secret_alloc(TLS_PSKBYTES)) != NULL)) {
		memcpy(s->psk, psk, TLS_PSKBYTES);
		memcpy(s->identity, id, sizeof(id));
		s->valid = true;
		s->use_until =
		    now + left - (left / 10 < 10000 ? left / 10 : 10000);
		s->refresh_at = now + left * 3 / 4;
		s->fail_until = 0;
	} else {
		s->fail_until = now + CLIENT_FAIL_MS;
		s->fail_why =
		    r != KDCCLIENT_DONE ? ST_HS_KDC_DOWN : ST_HS_UNKNOWN;
	}
	mask = s->waitmask;
	s->waitmask = 0;
	pthread_mutex_unlock(&S.mu);
	secret_wipe(psk, sizeof(psk));
	wake_workers(l->w, mask);
}

static struct keyslot *
slot_get(const char *svc, const uint8_t *peer, const struct wire_addr *src)
{
	struct keyslot *s;

	for (s = S.slots; s != NULL; s = s->next) {
		if (strcmp(s->svc, svc) == 0 &&
		    memcmp(s->peer, peer, WIRE_IDBYTES) == 0 &&
		    keys_addr_eq(&s->src, src))
			return (s);
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	snprintf(s->svc, sizeof(s->svc), "%s", svc);
	memcpy(s->peer, peer, WIRE_IDBYTES);
	s->src = *src;
	s->next = S.slots;
	S.slots = s;
	return (s);
}

enum keys_result
keyslot_get(struct conn *c, char *identity, size_t size,
    uint8_t psk[static TLS_PSKBYTES], enum stat_id *why)
{
	struct worker *w = c->w;
	struct service *svc = c->svc;
	struct keyslot *s;
	struct lookup *l;
	int64_t now = kdcclient_now_ms();
	enum keys_result r;
	bool start = false;

	pthread_mutex_lock(&S.mu);
	if ((s = slot_get(svc->kdc_service, svc->peer_id, &c->src)) == NULL) {
		pthread_mutex_unlock(&S.mu);
		*why = ST_HS_OTHER;
		return (KEYS_REFUSED);
	}
	if (s->valid && now < s->use_until) {
		snprintf(identity, size, "%s", s->identity);
		memcpy(psk, s->psk, TLS_PSKBYTES);
		if (now >= s->refresh_at && !s->fetching &&
		    now >= s->fail_until)
			start = s->fetching = true;
		r = KEYS_FOUND;
	} else if (now < s->fail_until) {
		*why = s->fail_why;
		r = KEYS_REFUSED;
	} else {
		s->waitmask |= (uint64_t)1 << w->id;
		if (!s->fetching)
			start = s->fetching = true;
		keys_wait_on(&w->kw.keywait, c);
		r = KEYS_PENDING;
	}
	pthread_mutex_unlock(&S.mu);
	if (!start)
		return (r);
	if ((l = keys_lookup_new(w, svc->cf, LK_REQUEST, svc->kdc_service)) ==
	    NULL) {
		pthread_mutex_lock(&S.mu);
		s->fetching = false;
		pthread_mutex_unlock(&S.mu);
		if (r == KEYS_PENDING) {
			keys_unwait(c);
			*why = ST_HS_OTHER;
			r = KEYS_REFUSED;
		}
		return (r);
	}
	l->slot = s;
	l->addr = c->src;
	memcpy(l->peer, svc->peer_id, WIRE_IDBYTES);
	l->has_peer = true;
	if (keys_lookup_submit(l) == 0)
		return (r);
	keys_lookup_free(l);
	pthread_mutex_lock(&S.mu);
	s->fetching = false;
	pthread_mutex_unlock(&S.mu);
	if (r == KEYS_PENDING) {
		keys_unwait(c);
		*why = ST_HS_OTHER;
		r = KEYS_REFUSED;
	}
	return (r);
}

void
keyslot_failed(struct conn *c, const char *identity)
{
	struct service *svc = c->svc;
	struct keyslot *s;
	int64_t now = kdcclient_now_ms();

	if (identity == NULL || svc->keys != NULL)
		return;
	pthread_mutex_lock(&S.mu);
	for (s = S.slots; s != NULL; s = s->next) {
		if (strcmp(s->svc, svc->kdc_service) == 0 &&
		    memcmp(s->peer, svc->peer_id, WIRE_IDBYTES) == 0 &&
		    keys_addr_eq(&s->src, &c->src))
			break;
	}
	if (s != NULL && s->valid && strcmp(s->identity, identity) == 0 &&
	    (s->dropped_at == 0 || now - s->dropped_at >= CLIENT_DROP_MS)) {
		s->valid = false;
		s->dropped_at = now;
		log_ratelimited(&c->w->kw.rl, LOG_NOTICE,
		    "[%s] the peer refused key %s: asking the KDC for a new "
		    "one",
		    svc->name, identity);
	}
	pthread_mutex_unlock(&S.mu);
}

void
keyslot_wake(struct worker *w)
{
	struct conn *list, *c;

	if (!atomic_exchange(&w->kw.woken, false))
		return;
	if ((list = w->kw.keywait) == NULL)
		return;
	w->kw.keywait = NULL;
	list->wpprev = &list;
	while ((c = list) != NULL) {
		keys_unwait(c);
		service_key_ready(c);
	}
}
