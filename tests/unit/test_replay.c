/*
 * test_replay.c: the replay cache: insert, duplicate, expiry, stale, full,
 * sweep, growth, threads, and a randomized comparison against a
 * brute-force model.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "cryptgate/log.h"
#include "cryptgate/replay.h"

#define T0 1700000000000ULL
#define W (2 * (uint64_t)WIRE_SKEW_MS)

static void
key(uint8_t sender[16], uint8_t nonce[16], uint32_t s, uint32_t n)
{
	memset(sender, 0, 16);
	memset(nonce, 0, 16);
	memcpy(sender, &s, sizeof(s));
	memcpy(nonce + 12, &n, sizeof(n));
}

static enum replay_result
chk(struct replay *r, uint32_t s, uint32_t n, uint64_t ts, uint64_t now)
{
	uint8_t sender[16], nonce[16];

	key(sender, nonce, s, n);
	return (replay_check(r, sender, nonce, ts, now));
}

static void
test_basic(void **state)
{
	struct replay *r;

	assert_non_null(r = replay_new(0, 0));
	assert_int_equal(chk(r, 1, 1, T0, T0), REPLAY_FRESH);
	assert_int_equal(chk(r, 1, 1, T0, T0), REPLAY_DUPLICATE);
	/* A replay with another timestamp is still the same nonce. */
	assert_int_equal(chk(r, 1, 1, T0 + 5, T0 + 10), REPLAY_DUPLICATE);
	assert_int_equal(chk(r, 1, 2, T0, T0), REPLAY_FRESH);
	assert_int_equal(chk(r, 2, 1, T0, T0), REPLAY_FRESH);
	assert_int_equal(replay_count(r), 3);
	replay_free(r);
	replay_free(NULL);
}

static void
test_expiry(void **state)
{
	struct replay *r;

	assert_non_null(r = replay_new(0, 0));
	assert_int_equal(chk(r, 1, 1, T0, T0), REPLAY_FRESH);
	/* Kept until ts + 2 * skew, exclusive. */
	assert_int_equal(chk(r, 1, 1, T0, T0 + W - 1), REPLAY_DUPLICATE);
	assert_int_equal(chk(r, 1, 1, T0, T0 + W), REPLAY_STALE);
	/* The same pair with a fresh timestamp after expiry is new. */
	assert_int_equal(chk(r, 1, 1, T0 + W, T0 + W), REPLAY_FRESH);
	assert_int_equal(chk(r, 1, 1, T0 + W, T0 + W), REPLAY_DUPLICATE);
	assert_int_equal(replay_count(r), 1);

	/* Stale requests are not recorded. */
	assert_int_equal(chk(r, 9, 9, T0, T0 + 3 * W), REPLAY_STALE);
	assert_int_equal(chk(r, 9, 9, 0, T0), REPLAY_STALE);
	assert_int_equal(replay_count(r), 1);

	/* A timestamp near the end of time saturates, it does not wrap. */
	assert_int_equal(chk(r, 7, 7, UINT64_MAX - 1, T0), REPLAY_FRESH);
	assert_int_equal(
	    chk(r, 7, 7, UINT64_MAX - 1, T0 + W), REPLAY_DUPLICATE);
	replay_free(r);

	/* A custom skew. */
	assert_non_null(r = replay_new(10, 1000));
	assert_int_equal(chk(r, 1, 1, T0, T0), REPLAY_FRESH);
	assert_int_equal(chk(r, 1, 1, T0, T0 + 1999), REPLAY_DUPLICATE);
	assert_int_equal(chk(r, 1, 1, T0, T0 + 2000), REPLAY_STALE);
	replay_free(r);
}

static void
test_full(void **state)
{
	struct replay *r;
	uint32_t i;

	assert_non_null(r = replay_new(4, 0));
	for (i = 0; i < 4; i++)
		assert_int_equal(chk(r, 1, i, T0 + i, T0), REPLAY_FRESH);
	assert_int_equal(chk(r, 1, 4, T0, T0), REPLAY_FULL);
	assert_int_equal(chk(r, 2, 0, T0, T0), REPLAY_FULL);
	/* Live entries are never evicted: they still count as seen. */
	for (i = 0; i < 4; i++)
		assert_int_equal(chk(r, 1, i, T0, T0), REPLAY_DUPLICATE);
	assert_int_equal(replay_count(r), 4);
	/* Once the first one expires there is room for exactly one. */
	assert_int_equal(chk(r, 1, 5, T0 + W, T0 + W), REPLAY_FRESH);
	assert_int_equal(chk(r, 1, 6, T0 + W, T0 + W), REPLAY_FULL);
	assert_int_equal(chk(r, 1, 1, T0 + 1, T0 + W), REPLAY_DUPLICATE);
	/* All expired: room for four again. */
	for (i = 10; i < 14; i++)
		assert_int_equal(
		    chk(r, 3, i, T0 + 4 * W, T0 + 4 * W), REPLAY_FRESH);
	assert_int_equal(chk(r, 3, 99, T0 + 4 * W, T0 + 4 * W), REPLAY_FULL);
	replay_free(r);

	assert_null(replay_new(REPLAY_ENTRIES_MAX + 1, 0));
}

static void
test_sweep_grow(void **state)
{
	struct replay *r;
	uint32_t i, n = 20000;

	/* Grows from the initial table well past it. */
	assert_non_null(r = replay_new(n, 0));
	for (i = 0; i < n; i++)
		assert_int_equal(
		    chk(r, i % 7, i, T0 + (i % 100), T0), REPLAY_FRESH);
	assert_int_equal(chk(r, 0, n, T0, T0), REPLAY_FULL);
	for (i = 0; i < n; i++)
		assert_int_equal(chk(r, i % 7, i, T0, T0), REPLAY_DUPLICATE);
	assert_int_equal(replay_count(r), n);
	/* Entries with ts % 100 < 50 expire first. */
	assert_int_equal(replay_sweep(r, T0 + W + 49), n / 2);
	assert_int_equal(replay_count(r), n / 2);
	for (i = 0; i < n; i++)
		assert_int_equal(chk(r, i % 7, i, T0 + (i % 100), T0 + W + 49),
		    i % 100 < 50 ? REPLAY_STALE : REPLAY_DUPLICATE);
	assert_int_equal(replay_sweep(r, T0 + W + 49), 0);
	assert_int_equal(replay_sweep(r, T0 + 10 * W), n / 2);
	assert_int_equal(replay_count(r), 0);
	replay_free(r);
}

/* --- Randomized comparison with a brute-force model --------------------- */

struct model_entry {
	uint32_t s, n;
	uint64_t expiry;
};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next(void)
{
	/* xorshift64: deterministic test data. */
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (rng);
}

static void
run_model(size_t max, uint64_t skew, uint32_t nkeys, unsigned int ops)
{
	struct model_entry *m;
	struct replay *r;
	uint64_t now = T0, ts, expiry, window = 2 * skew;
	size_t mlen = 0, i, j, live;
	enum replay_result want, got;
	unsigned int op;
	uint32_t s, n;

	assert_non_null(m = calloc(nkeys * 3 + 1, sizeof(*m)));
	assert_non_null(r = replay_new(max, skew));
	for (op = 0; op < ops; op++) {
		now += next() % (skew / 8 + 1);
		s = (uint32_t)(next() % 3);
		n = (uint32_t)(next() % nkeys);
		ts = now - skew + next() % (2 * skew + 1);
		if (next() % 50 == 0)
			ts = now - window - next() % 10; /* stale */
		expiry = ts + window;

		for (i = 0; i < mlen; i++)
			if (m[i].s == s && m[i].n == n)
				break;
		for (live = 0, j = 0; j < mlen; j++)
			live += m[j].expiry > now;
		if (expiry <= now)
			want = REPLAY_STALE;
		else if (i < mlen && m[i].expiry > now)
			want = REPLAY_DUPLICATE;
		else if (live >= max)
			want = REPLAY_FULL;
		else
			want = REPLAY_FRESH;
		got = chk(r, s, n, ts, now);
		if (got != want)
			fail_msg("op %u: got %d, want %d", op, got, want);
		if (want == REPLAY_FRESH) {
			if (i == mlen)
				mlen++;
			m[i].s = s;
			m[i].n = n;
			m[i].expiry = expiry;
		}
		if (op % 997 == 0) {
			replay_sweep(r, now);
			assert_int_equal(
			    replay_count(r), live + (want == REPLAY_FRESH));
		}
	}
	replay_free(r);
	free(m);
}

static void
test_model(void **state)
{
	run_model(64, 100, 100, 200000); /* small table, often full */
	run_model(3000, 1000, 2000, 60000); /* grows, sweeps clusters */
	run_model(5, 50, 8, 50000); /* tiny, wrap-around clusters */
}

/* --- Threads ------------------------------------------------------------ */

#define NTHREADS 4
#define NKEYS 5000

struct thr {
	struct replay *r;
	unsigned int fresh;
};

static void *
worker(void *arg)
{
	struct thr *t = arg;
	uint32_t i;

	for (i = 0; i < NKEYS; i++)
		if (chk(t->r, 1, i, T0, T0) == REPLAY_FRESH)
			t->fresh++;
	return (NULL);
}

static void
test_threads(void **state)
{
	pthread_t th[NTHREADS];
	struct thr t[NTHREADS];
	unsigned int i, total = 0;
	struct replay *r;

	assert_non_null(r = replay_new(0, 0));
	for (i = 0; i < NTHREADS; i++) {
		t[i].r = r;
		t[i].fresh = 0;
		assert_int_equal(
		    pthread_create(&th[i], NULL, worker, &t[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		total += t[i].fresh;
	}
	/* Each key was new exactly once, whichever thread saw it first. */
	assert_int_equal(total, NKEYS);
	assert_int_equal(replay_count(r), NKEYS);
	replay_free(r);
}

static int
setup(void **state)
{
	log_init(1, 0, LOG_USER);
	return (0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_sweep_grow),
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_threads),
	};

	return (cmocka_run_group_tests(tests, setup, NULL));
}
