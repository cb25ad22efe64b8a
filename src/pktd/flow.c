/*
 * flow.c: the flow table: a chained hash table over a preallocated array,
 * with a random hash seed and a free list (see flow.h).  Lookups never
 * allocate.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cryptgate/rand.h"
#include "cryptgate/secret.h"
#include "cryptgate/stream.h"

#include "flow.h"

#define FLOW_NONE UINT32_MAX
#define FLOW_MAX ((size_t)1 << 24)

struct flow_table {
	struct flow *flows;
	uint32_t *buckets;
	size_t nbuckets; /* a power of 2 */
	size_t max;
	size_t count;
	uint32_t freelist;
	uint64_t seed[2];
};

static size_t
hash(const struct flow_table *t, const struct flow_key *k)
{
	const uint8_t *p = (const uint8_t *)k;
	uint64_t h = t->seed[0], w;
	size_t i;

	for (i = 0; i + 8 <= sizeof(*k); i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w ^ t->seed[1]) * 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	for (; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	h ^= h >> 32;
	return ((size_t)h & (t->nbuckets - 1));
}

struct flow_table *
flow_table_new(size_t max)
{
	struct flow_table *t;
	size_t i;

	if (max == 0 || max > FLOW_MAX)
		goto err0;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		goto err0;
	for (t->nbuckets = 16; t->nbuckets < max; t->nbuckets <<= 1)
		;
	if ((t->flows = calloc(max, sizeof(*t->flows))) == NULL)
		goto err1;
	if ((t->buckets = malloc(t->nbuckets * sizeof(*t->buckets))) == NULL)
		goto err2;
	for (i = 0; i < t->nbuckets; i++)
		t->buckets[i] = FLOW_NONE;
	for (i = 0; i < max; i++)
		t->flows[i].next = i + 1 < max ? (uint32_t)(i + 1) : FLOW_NONE;
	t->freelist = 0;
	t->max = max;
	if (rand_bytes(t->seed, sizeof(t->seed)))
		goto err3;

	/* Success! */
	return (t);

err3:
	free(t->buckets);
err2:
	free(t->flows);
err1:
	free(t);
err0:
	/* Failure! */
	return (NULL);
}

static void
clear(struct flow *f)
{
	stream_free(f->out.enc);
	stream_free(f->in.enc);
	stream_prf_free(f->out.mac);
	stream_prf_free(f->in.mac);
	secret_wipe(f, sizeof(*f));
}

void
flow_table_free(struct flow_table *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->max; i++)
		if (t->flows[i].used)
			clear(&t->flows[i]);
	free(t->flows);
	free(t->buckets);
	secret_wipe(t, sizeof(*t));
	free(t);
}

struct flow *
flow_lookup(struct flow_table *t, const struct flow_key *k)
{
	uint32_t i;

	for (i = t->buckets[hash(t, k)]; i != FLOW_NONE; i = t->flows[i].next)
		if (memcmp(&t->flows[i].key, k, sizeof(*k)) == 0)
			return (&t->flows[i]);
	return (NULL);
}

struct flow *
flow_insert(struct flow_table *t, const struct flow_key *k)
{
	struct flow *f;
	size_t b;
	uint32_t i;

	if ((i = t->freelist) == FLOW_NONE)
		return (NULL);
	f = &t->flows[i];
	t->freelist = f->next;
	memset(f, 0, sizeof(*f));
	f->key = *k;
	f->used = true;
	b = hash(t, k);
	f->next = t->buckets[b];
	t->buckets[b] = i;
	t->count++;
	return (f);
}

void
flow_remove(struct flow_table *t, struct flow *f)
{
	uint32_t i = (uint32_t)(f - t->flows), *pp;

	for (pp = &t->buckets[hash(t, &f->key)]; *pp != FLOW_NONE;
	     pp = &t->flows[*pp].next) {
		if (*pp == i) {
			*pp = f->next;
			break;
		}
	}
	clear(f);
	f->next = t->freelist;
	t->freelist = i;
	t->count--;
}

size_t
flow_count(const struct flow_table *t)
{
	return (t->count);
}

size_t
flow_expire(struct flow_table *t, uint64_t now_ms, uint64_t idle_ms,
    uint64_t closed_ms, uint64_t half_ms)
{
	struct flow *f;
	uint64_t limit, idle;
	size_t i, n = 0;

	for (i = 0; i < t->max; i++) {
		f = &t->flows[i];
		if (!f->used)
			continue;
		limit = idle_ms;
		if (f->closed && closed_ms < limit)
			limit = closed_ms;
		if ((f->state != FLOW_EST ||
		        (!f->initiator && !f->confirmed)) &&
		    half_ms < limit)
			limit = half_ms;
		idle = now_ms > f->last_ms ? now_ms - f->last_ms : 0;
		if (idle >= limit) {
			flow_remove(t, f);
			n++;
		}
	}
	return (n);
}
