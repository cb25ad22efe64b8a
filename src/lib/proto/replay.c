/*
 * replay.c: the KDC's in-memory replay cache (docs/PROTOCOL.md, "Replay").
 *
 * An open-addressing hash table with linear probing, keyed by
 * sender_id || nonce.  The index is FNV-1a over a random per-cache seed
 * and the key, finished with the MurmurHash3 fmix64 mixer: a hash table
 * hash, not a cryptographic primitive; the seed only makes collisions
 * hard to aim at from outside (and only authenticated senders reach the
 * cache).  Deletion shifts the following entries back (no tombstones), so
 * the table never degrades.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cryptgate/log.h"
#include "cryptgate/rand.h"
#include "cryptgate/replay.h"

#define KEYBYTES (WIRE_IDBYTES + WIRE_NONCEBYTES)
#define CAP_INITIAL 1024

struct entry {
	uint8_t key[KEYBYTES]; /* sender_id || nonce */
	uint64_t expiry; /* unix ms; 0 = empty slot */
};

struct replay {
	pthread_mutex_t mtx;
	struct entry *slots;
	size_t cap; /* slots, a power of two */
	size_t maxcap; /* smallest power of two >= 2 * max */
	size_t count; /* occupied slots */
	size_t max; /* live entries allowed */
	uint64_t skew;
	uint64_t window; /* 2 * skew */
	uint64_t next_sweep;
	uint64_t seed;
};

static uint64_t
hash_key(const struct replay *r, const uint8_t key[static KEYBYTES])
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 offset basis */
	uint64_t s = r->seed;
	size_t i;

	for (i = 0; i < 8; i++, s >>= 8) {
		h ^= (uint8_t)s;
		h *= 0x100000001b3ULL; /* FNV-1a 64 prime */
	}
	for (i = 0; i < KEYBYTES; i++) {
		h ^= key[i];
		h *= 0x100000001b3ULL;
	}
	/* fmix64: spread the high bits into the low ones (the index). */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (h);
}

/*
 * The slot holding ${key} in ${slots} (${cap} slots), or the empty slot
 * where it would go.  Set ${*found}.
 */
static size_t
find(const struct replay *r, struct entry *slots, size_t cap,
    const uint8_t key[static KEYBYTES], bool *found)
{
	size_t i = (size_t)hash_key(r, key) & (cap - 1);

	while (slots[i].expiry != 0) {
		if (memcmp(slots[i].key, key, KEYBYTES) == 0) {
			*found = true;
			return (i);
		}
		i = (i + 1) & (cap - 1);
	}
	*found = false;
	return (i);
}

/* Empty slot ${i}, shifting back the entries probed past it. */
static void
delete_slot(struct replay *r, size_t i)
{
	size_t mask = r->cap - 1, j = i, k;

	for (;;) {
		j = (j + 1) & mask;
		if (r->slots[j].expiry == 0)
			break;
		k = (size_t)hash_key(r, r->slots[j].key) & mask;
		/* Entry j stays if its home k lies cyclically in (i, j]. */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		r->slots[i] = r->slots[j];
		i = j;
	}
	memset(&r->slots[i], 0, sizeof(r->slots[i]));
	r->count--;
}

static size_t
sweep_locked(struct replay *r, uint64_t now)
{
	size_t s = 0, removed = 0;

	/*
	 * delete_slot() may move an entry into slot s: look at s again.  An
	 * entry moved from the start of the table to its end (a cluster that
	 * wraps) is merely looked at twice.
	 */
	while (s < r->cap) {
		if (r->slots[s].expiry != 0 && r->slots[s].expiry <= now) {
			delete_slot(r, s);
			removed++;
		} else {
			s++;
		}
	}
	return (removed);
}

/* Double the table, dropping entries expired at ${now}.  0 or -1. */
static int
grow(struct replay *r, uint64_t now)
{
	struct entry *slots;
	size_t cap = r->cap * 2, i, j, count = 0;
	bool found;

	if ((slots = calloc(cap, sizeof(*slots))) == NULL) {
		log_warn("replay: cannot grow the cache to %zu slots", cap);
		goto err0;
	}
	for (i = 0; i < r->cap; i++) {
		if (r->slots[i].expiry == 0 || r->slots[i].expiry <= now)
			continue;
		j = find(r, slots, cap, r->slots[i].key, &found);
		slots[j] = r->slots[i];
		count++;
	}
	free(r->slots);
	r->slots = slots;
	r->cap = cap;
	r->count = count;

	/* Success! */
	return (0);

err0:
	/* Failure! */
	return (-1);
}

struct replay *
replay_new(size_t max_entries, uint64_t skew_ms)
{
	struct replay *r;

	if (max_entries == 0)
		max_entries = REPLAY_ENTRIES_DEFAULT;
	if (skew_ms == 0)
		skew_ms = WIRE_SKEW_MS;
	if (max_entries > REPLAY_ENTRIES_MAX || skew_ms > UINT64_MAX / 4) {
		log_warnx("replay_new: bad size or skew");
		goto err0;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("replay_new");
		goto err0;
	}
	r->max = max_entries;
	r->skew = skew_ms;
	r->window = 2 * skew_ms;
	for (r->maxcap = 2; r->maxcap < 2 * max_entries; r->maxcap *= 2)
		;
	r->cap = r->maxcap < CAP_INITIAL ? r->maxcap : CAP_INITIAL;
	if ((r->slots = calloc(r->cap, sizeof(*r->slots))) == NULL) {
		log_warn("replay_new");
		goto err1;
	}
	if (rand_bytes(&r->seed, sizeof(r->seed)))
		goto err2;
	if ((errno = pthread_mutex_init(&r->mtx, NULL)) != 0) {
		log_warn("replay_new: pthread_mutex_init");
		goto err2;
	}

	/* Success! */
	return (r);

err2:
	free(r->slots);
err1:
	free(r);
err0:
	/* Failure! */
	return (NULL);
}

void
replay_free(struct replay *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->mtx);
	free(r->slots);
	free(r);
}

enum replay_result
replay_check(struct replay *r, const uint8_t sender_id[static WIRE_IDBYTES],
    const uint8_t nonce[static WIRE_NONCEBYTES], uint64_t ts, uint64_t now)
{
	uint8_t key[KEYBYTES];
	enum replay_result res;
	uint64_t expiry;
	size_t i;
	bool found;

	/* Saturate: ${ts} comes from the peer. */
	expiry = ts > UINT64_MAX - r->window ? UINT64_MAX : ts + r->window;
	if (expiry <= now)
		return (REPLAY_STALE);
	memcpy(key, sender_id, WIRE_IDBYTES);
	memcpy(key + WIRE_IDBYTES, nonce, WIRE_NONCEBYTES);

	pthread_mutex_lock(&r->mtx);
	if (now >= r->next_sweep) {
		sweep_locked(r, now);
		r->next_sweep =
		    now > UINT64_MAX - r->skew ? UINT64_MAX : now + r->skew;
	}
	i = find(r, r->slots, r->cap, key, &found);
	if (found) {
		if (r->slots[i].expiry > now) {
			res = REPLAY_DUPLICATE;
			goto out;
		}
		/* An expired entry for the same pair: renew it. */
		r->slots[i].expiry = expiry;
		res = REPLAY_FRESH;
		goto out;
	}
	if (r->count >= r->max) {
		sweep_locked(r, now);
		if (r->count >= r->max) {
			res = REPLAY_FULL;
			goto out;
		}
		i = find(r, r->slots, r->cap, key, &found);
	}
	/* Keep the load factor at most 1/2; maxcap >= 2 * max always fits. */
	if ((r->count + 1) * 2 > r->cap && r->cap < r->maxcap) {
		if (grow(r, now)) {
			res = REPLAY_FULL;
			goto out;
		}
		i = find(r, r->slots, r->cap, key, &found);
	}
	memcpy(r->slots[i].key, key, KEYBYTES);
	r->slots[i].expiry = expiry;
	r->count++;
	res = REPLAY_FRESH;
out:
	pthread_mutex_unlock(&r->mtx);
	return (res);
}

size_t
replay_sweep(struct replay *r, uint64_t now)
{
	size_t removed;

	pthread_mutex_lock(&r->mtx);
	removed = sweep_locked(r, now);
	pthread_mutex_unlock(&r->mtx);
	return (removed);
}

size_t
replay_count(struct replay *r)
{
	size_t n;

	pthread_mutex_lock(&r->mtx);
	n = r->count;
	pthread_mutex_unlock(&r->mtx);
	return (n);
}
