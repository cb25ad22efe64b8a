/*
 * replay.h: the KDC's in-memory replay cache of (sender id, nonce) pairs.
 *
 * An entry lives until its request's timestamp + 2 * skew, then it is
 * forgotten (a replay that late fails the freshness check instead).  The
 * cache is bounded: when it holds max_entries live entries it refuses new
 * ones (REPLAY_FULL; the KDC answers RATE) rather than evicting live
 * entries, which would reopen a replay window.  Expired entries are swept
 * when the cache fills up, every skew milliseconds during inserts, and on
 * replay_sweep().  Average cost of replay_check: O(1) (open addressing,
 * linear probing, load factor at most 1/2, hash keyed by a random seed).
 *
 * Persistence of the nonces of state-changing requests across restarts is
 * the store's job, not this cache's.
 *
 * Thread safety: every function takes the cache's mutex, so one cache may
 * be shared by several threads.
 */
#ifndef CRYPTGATE_REPLAY_H
#define CRYPTGATE_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"
#include "wire.h"

#define REPLAY_ENTRIES_DEFAULT ((size_t)1024 * 1024)
#define REPLAY_ENTRIES_MAX ((size_t)64 * 1024 * 1024)

enum replay_result {
	REPLAY_FRESH = 0, /* not seen: now recorded */
	REPLAY_DUPLICATE, /* seen and not expired: reject (REPLAY) */
	REPLAY_STALE, /* timestamp + 2 * skew <= now: reject (SKEW) */
	REPLAY_FULL, /* no room: reject (RATE), nothing recorded */
};

struct replay;

/**
 * replay_new(max_entries, skew_ms): an empty cache holding at most
 * ${max_entries} live entries (0: REPLAY_ENTRIES_DEFAULT; at most
 * REPLAY_ENTRIES_MAX) that keeps each entry until its timestamp + 2 *
 * ${skew_ms} (0: WIRE_SKEW_MS).  The table starts small and grows with
 * use, up to the smallest power of two >= 2 * ${max_entries} slots of 40
 * bytes (80 MiB for the default).  Return it, or NULL (logged).  Free with
 * replay_free().
 */
struct replay *replay_new(size_t max_entries, uint64_t skew_ms);

/** replay_free(r): free ${r}; replay_free(NULL) does nothing. */
void replay_free(struct replay *r);

/**
 * replay_check(r, sender_id, nonce, ts, now): check-and-insert the pair
 * (${sender_id}, ${nonce}) of a request with timestamp ${ts}, at time
 * ${now} (both unix milliseconds).  The caller checks freshness first
 * (wire_is_fresh); a pair whose expiry ${ts} + 2 * skew is already past
 * is REPLAY_STALE and not recorded.  Returns an enum replay_result.
 */
enum replay_result replay_check(struct replay *r,
    const uint8_t sender_id[static WIRE_IDBYTES],
    const uint8_t nonce[static WIRE_NONCEBYTES], uint64_t ts,
    uint64_t now) CG_WUR;

/**
 * replay_sweep(r, now): forget every entry of ${r} expired at ${now}
 * (expiry <= ${now}).  Return the number of entries removed.  O(capacity).
 */
size_t replay_sweep(struct replay *r, uint64_t now);

/** replay_count(r): the number of entries ${r} holds (expired or not). */
size_t replay_count(struct replay *r);

#endif /* !CRYPTGATE_REPLAY_H */
