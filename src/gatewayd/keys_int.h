/*
 * keys_int.h: what keys.c (key cache, KDC lookups, server role) and
 * keyslot.c (client key slots) share.  Not for the rest of the daemon.
 */
#ifndef CRYPTGATE_GATEWAYD_KEYS_INT_H
#define CRYPTGATE_GATEWAYD_KEYS_INT_H

#include "gatewayd.h"

struct keyslot;

/* A KDC operation run on a worker's loop, with the conns waiting on it. */
enum lookup_kind {
	LK_RETRIEVE = 1,
	LK_REQUEST = 2,
};

struct lookup {
	struct lookup *next;
	struct worker *w;
	struct gwconf *cf; /* referenced: keeps the KDC client alive */
	enum lookup_kind kind;
	char svc[WIRE_SERVICE_MAX + 1];
	uint8_t key_id[WIRE_KEYIDBYTES];
	struct wire_addr addr;
	bool has_peer;
	uint8_t peer[WIRE_IDBYTES];
	char identity[KDCCLIENT_IDENTITYBYTES];
	struct keyslot *slot;
	struct kdcclient_op *op;
	struct evloop_io io;
	struct evloop_timer timer;
	struct conn *waiters;
};

/** keys_real_ms(void): CLOCK_REALTIME in milliseconds (KDC times). */
int64_t keys_real_ms(void);
/** keys_addr_eq(a, b): the same address. */
bool keys_addr_eq(const struct wire_addr *a, const struct wire_addr *b);
/** keys_wait_on(head, c): put ${c} on the wait list ${head}. */
void keys_wait_on(struct conn **head, struct conn *c);
/**
 * keys_lookup_new(w, cf, kind, svc): a lookup on ${w} (referencing
 * ${cf}) for the KDC service ${svc}, to fill in and submit; NULL.
 */
struct lookup *keys_lookup_new(struct worker *w, struct gwconf *cf,
    enum lookup_kind kind, const char *svc);
/**
 * keys_lookup_submit(l): start ${l} (its first step from the event loop,
 * never before this returns) or queue it.  0, or -1 (${l} still the
 * caller's: keys_lookup_free).
 */
int keys_lookup_submit(struct lookup *l) CG_WUR;
/** keys_lookup_free(l): free a lookup that is not active. */
void keys_lookup_free(struct lookup *l);

/** keyslot_request_done(l, r): a REQUEST lookup ended (kdcclient_step). */
void keyslot_request_done(struct lookup *l, int r);
/** keyslot_cancel(s): the REQUEST filling ${s} was cancelled. */
void keyslot_cancel(struct keyslot *s);
/** keyslot_fini(void): wipe and free every slot. */
void keyslot_fini(void);

#endif /* !CRYPTGATE_GATEWAYD_KEYS_INT_H */
