/*
 * flow.h: the per-queue table of protected TCP connections, keyed by the
 * 4-tuple seen from this host, with every entry allocated up front.
 */
#ifndef CRYPTGATE_PKTD_FLOW_H
#define CRYPTGATE_PKTD_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptgate/cdefs.h"
#include "cryptgate/stream.h"

#define FLOW_NONCEBYTES 12

/* Addresses as 16 bytes, IPv4 as ::ffff:a.b.c.d; ports host order. */
struct flow_key {
	uint8_t laddr[16];
	uint8_t raddr[16];
	uint16_t lport;
	uint16_t rport;
	uint32_t family; /* AF_INET or AF_INET6 */
};

enum flow_state {
	FLOW_SYN_SENT = 1, /* we sent the hello SYN; no keys yet */
	FLOW_SYN_RCVD, /* we got a hello SYN; keys derived */
	FLOW_EST /* keys and both ISNs known */
};

/* One direction of a flow: its keys and its sequence space. */
struct flow_dir {
	struct stream *enc;
	struct stream_prf *mac;
	uint32_t isn;
	bool has_isn;
	bool fin; /* a FIN was sent in this direction */
	bool syn_ts; /* its SYN (or SYN-ACK) carried timestamps */
	bool ts_ok; /* IN: ts_max holds an authenticated TSval */
	uint32_t ts_max; /* IN: highest authenticated TSval (RFC 7323) */
	uint64_t ts_ms; /* IN: when ts_max was last raised or confirmed */
	uint64_t hi; /* highest offset seen (authenticated for IN) */
};

struct flow {
	struct flow_key key;
	uint32_t next; /* hash chain (flow.c) */
	bool used;
	bool initiator; /* this host sent the SYN */
	bool closed; /* RST seen, or FIN both ways */
	bool confirmed; /* a tagged segment from the peer verified */
	uint8_t state; /* enum flow_state */
	uint32_t rule;
	uint8_t nonce_i[FLOW_NONCEBYTES];
	uint8_t nonce_r[FLOW_NONCEBYTES];
	struct flow_dir out;
	struct flow_dir in;
	uint64_t peer_acked; /* highest authenticated ACK of our stream */
	uint64_t created_ms;
	uint64_t last_ms;
};

struct flow_table;

/**
 * flow_table_new(max): a table of ${max} (1..2^24) flows, all allocated
 * now.  Return NULL on failure.
 */
struct flow_table *flow_table_new(size_t max) CG_WUR;

/** flow_table_free(t): free ${t} and every flow's contexts. */
void flow_table_free(struct flow_table *t);

/** flow_lookup(t, k): the flow of ${k}, or NULL. */
struct flow *flow_lookup(struct flow_table *t, const struct flow_key *k);

/**
 * flow_insert(t, k): a new zeroed flow for ${k} (which must not be in the
 * table), or NULL if the table is full.
 */
struct flow *flow_insert(struct flow_table *t, const struct flow_key *k);

/**
 * flow_remove(t, f): remove ${f} from ${t}, free its cipher and MAC
 * contexts and wipe it.
 */
void flow_remove(struct flow_table *t, struct flow *f);

/** flow_count(t): the number of flows in ${t}. */
size_t flow_count(const struct flow_table *t);

/**
 * flow_expire(t, now_ms, idle_ms, closed_ms, half_ms): remove flows idle
 * for ${idle_ms}, closed ones after ${closed_ms}, and unfinished
 * handshakes after ${half_ms}: flows not in FLOW_EST, and responder
 * flows no tagged segment of the peer has confirmed (a spoofed SYN and
 * our SYN-ACK make such a flow).  Return the number removed.
 */
size_t flow_expire(struct flow_table *t, uint64_t now_ms, uint64_t idle_ms,
    uint64_t closed_ms, uint64_t half_ms);

#endif /* !CRYPTGATE_PKTD_FLOW_H */
