/*
 * test_evloop.c: the event loop (evloop.c): timers fire in deadline order
 * and can be re-armed and stopped, also from callbacks; descriptor
 * watchers see readiness, level and edge triggered; a watcher stopped by
 * an earlier callback of the same batch gets no stale event; wakeups from
 * other threads run the callback and are coalesced.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cryptgate/evloop.h"
#include "cryptgate/log.h"

#define NTIMERS 200

struct tctx {
	struct evloop *el;
	int order[NTIMERS];
	int n;
	int stop_after;
};

struct tslot {
	struct evloop_timer t;
	struct tctx *c;
	int id;
};

static void
timer_cb(struct evloop_timer *t, void *arg)
{
	struct tslot *s = arg;

	(void)t;
	s->c->order[s->c->n++] = s->id;
	if (s->c->n == s->c->stop_after)
		evloop_break(s->c->el);
}

/* Timers armed in a shuffled order fire by deadline; stopped ones never. */
static void
test_timer_order(void **state)
{
	struct tctx c;
	struct tslot *s;
	int i, j, tmp, perm[NTIMERS];

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_non_null(c.el = evloop_new());
	assert_non_null(s = calloc(NTIMERS, sizeof(*s)));
	for (i = 0; i < NTIMERS; i++)
		perm[i] = i;
	srand(1);
	for (i = NTIMERS - 1; i > 0; i--) {
		j = rand() % (i + 1);
		tmp = perm[i];
		perm[i] = perm[j];
		perm[j] = tmp;
	}
	for (i = 0; i < NTIMERS; i++) {
		s[perm[i]].c = &c;
		s[perm[i]].id = perm[i];
		evloop_timer_init(&s[perm[i]].t, timer_cb, &s[perm[i]]);
		/* Deadlines 1 ms apart, 10..209 ms ahead. */
		assert_int_equal(evloop_timer_start(c.el, &s[perm[i]].t,
		                     10 + (uint64_t)perm[i]),
		    0);
	}
	assert_int_equal(evloop_timer_count(c.el), NTIMERS);
	/* Stop every tenth; re-arm #5 later than everybody. */
	for (i = 0; i < NTIMERS; i += 10)
		evloop_timer_stop(c.el, &s[i].t);
	assert_false(evloop_timer_is_active(&s[0].t));
	evloop_timer_stop(c.el, &s[0].t); /* twice: a no-op */
	assert_int_equal(evloop_timer_start(c.el, &s[5].t, 400), 0);
	c.stop_after = NTIMERS - NTIMERS / 10;
	assert_int_equal(evloop_run(c.el), 0);
	assert_int_equal(c.n, NTIMERS - NTIMERS / 10);
	assert_int_equal(c.order[c.n - 1], 5);
	for (i = 1; i < c.n - 1; i++)
		assert_true(c.order[i - 1] < c.order[i]);
	for (i = 0; i < c.n; i++)
		assert_int_not_equal(c.order[i] % 10, 0);
	assert_int_equal(evloop_timer_count(c.el), 0);
	free(s);
	evloop_free(c.el);
}

struct ioctx {
	struct evloop *el;
	struct evloop_io a;
	struct evloop_io b;
	int fds[2][2];
	int calls_a;
	int calls_b;
	unsigned int rev;
};

/* A stops B (whose event is in the same batch), then ends the loop. */
static void
io_a(struct evloop_io *io, unsigned int revents, void *arg)
{
	struct ioctx *c = arg;

	(void)io;
	c->calls_a++;
	c->rev = revents;
	evloop_io_stop(c->el, &c->b);
	evloop_io_stop(c->el, &c->a);
	evloop_break(c->el);
}

static void
io_b(struct evloop_io *io, unsigned int revents, void *arg)
{
	struct ioctx *c = arg;

	(void)io;
	(void)revents;
	c->calls_b++;
	evloop_io_stop(c->el, &c->a);
	evloop_io_stop(c->el, &c->b);
	evloop_break(c->el);
}

static void
test_io_stop_in_batch(void **state)
{
	struct ioctx c;
	int i;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_non_null(c.el = evloop_new());
	for (i = 0; i < 2; i++)
		assert_int_equal(
		    socketpair(AF_UNIX, SOCK_STREAM, 0, c.fds[i]), 0);
	evloop_io_init(&c.a, c.fds[0][0], io_a, &c);
	evloop_io_init(&c.b, c.fds[1][0], io_b, &c);
	assert_int_equal(evloop_io_start(c.el, &c.a, EVLOOP_IN), 0);
	assert_int_equal(evloop_io_start(c.el, &c.b, EVLOOP_IN), 0);
	/* Both readable before the loop runs: one batch holds both. */
	assert_int_equal(write(c.fds[0][1], "x", 1), 1);
	assert_int_equal(write(c.fds[1][1], "y", 1), 1);
	assert_int_equal(evloop_run(c.el), 0);
	/* Whichever ran first stopped the other: exactly one call. */
	assert_int_equal(c.calls_a + c.calls_b, 1);
	if (c.calls_a)
		assert_true(c.rev & EVLOOP_IN);
	for (i = 0; i < 2; i++) {
		close(c.fds[i][0]);
		close(c.fds[i][1]);
	}
	evloop_free(c.el);
}

struct edgectx {
	struct evloop *el;
	struct evloop_io io;
	struct evloop_timer done;
	int calls;
	unsigned int rev;
};

static void
edge_cb(struct evloop_io *io, unsigned int revents, void *arg)
{
	struct edgectx *c = arg;

	(void)io;
	c->calls++;
	c->rev |= revents;
}

static void
done_cb(struct evloop_timer *t, void *arg)
{
	struct edgectx *c = arg;

	(void)t;
	evloop_break(c->el);
}

/* Edge-triggered: unread data reports once; level-triggered: every pass. */
static void
test_io_edge_and_level(void **state)
{
	struct edgectx c;
	int sv[2];

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_non_null(c.el = evloop_new());
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	evloop_io_init(&c.io, sv[0], edge_cb, &c);
	evloop_timer_init(&c.done, done_cb, &c);
	assert_int_equal(
	    evloop_io_start(c.el, &c.io, EVLOOP_IN | EVLOOP_EDGE), 0);
	assert_int_equal(write(sv[1], "abc", 3), 3);
	assert_int_equal(evloop_timer_start(c.el, &c.done, 50), 0);
	assert_int_equal(evloop_run(c.el), 0);
	assert_int_equal(c.calls, 1);
	assert_true(c.rev & EVLOOP_IN);
	assert_false(c.rev & EVLOOP_HUP);

	/* Level-triggered, never read: called on every loop pass; a 1 ms
	 * timer ends it after a few. */
	c.calls = 0;
	assert_int_equal(evloop_io_set(c.el, &c.io, EVLOOP_IN), 0);
	assert_int_equal(evloop_io_set(c.el, &c.io, EVLOOP_IN), 0);
	assert_int_equal(evloop_timer_start(c.el, &c.done, 20), 0);
	assert_int_equal(evloop_run(c.el), 0);
	assert_true(c.calls > 1);

	/* Peer closed: reported as input (end of file) and hang-up. */
	c.calls = 0;
	c.rev = 0;
	evloop_io_stop(c.el, &c.io);
	{
		char buf[8];

		assert_int_equal(read(sv[0], buf, sizeof(buf)), 3);
	}
	close(sv[1]);
	assert_int_equal(
	    evloop_io_start(c.el, &c.io, EVLOOP_IN | EVLOOP_EDGE), 0);
	assert_int_equal(evloop_timer_start(c.el, &c.done, 50), 0);
	assert_int_equal(evloop_run(c.el), 0);
	assert_int_equal(c.calls, 1);
	assert_true(c.rev & EVLOOP_IN);
	assert_true(c.rev & EVLOOP_HUP);
	evloop_io_stop(c.el, &c.io);
	close(sv[0]);
	evloop_free(c.el);
}

#define WAKERS 4
#define WAKES 2000

struct wakectx {
	struct evloop *el;
	atomic_int posted;
	int seen; /* loop thread only */
	int calls;
};

static void
wake_cb(void *arg)
{
	struct wakectx *c = arg;

	c->calls++;
	c->seen = atomic_load(&c->posted);
	if (c->seen == WAKERS * WAKES)
		evloop_break(c->el);
}

static void *
waker(void *arg)
{
	struct wakectx *c = arg;
	int i;

	for (i = 0; i < WAKES; i++) {
		atomic_fetch_add(&c->posted, 1);
		evloop_wakeup(c->el);
	}
	return (NULL);
}

/* Every wakeup is eventually seen; many coalesce into fewer callbacks. */
static void
test_wakeup_threads(void **state)
{
	struct wakectx c;
	pthread_t t[WAKERS];
	int i;

	(void)state;
	memset(&c, 0, sizeof(c));
	atomic_init(&c.posted, 0);
	assert_non_null(c.el = evloop_new());
	evloop_wakeup_set(c.el, wake_cb, &c);
	for (i = 0; i < WAKERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, waker, &c), 0);
	assert_int_equal(evloop_run(c.el), 0);
	for (i = 0; i < WAKERS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(c.seen, WAKERS * WAKES);
	assert_true(c.calls >= 1);
	assert_true(c.calls <= WAKERS * WAKES);
	evloop_free(c.el);
}

/* The loop's clock moves; a 30 ms timer does not fire early. */
static void
test_now(void **state)
{
	struct edgectx c;
	uint64_t t0;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_non_null(c.el = evloop_new());
	evloop_timer_init(&c.done, done_cb, &c);
	evloop_update_time(c.el);
	t0 = evloop_now(c.el);
	assert_int_equal(evloop_timer_start(c.el, &c.done, 30), 0);
	assert_int_equal(evloop_run(c.el), 0);
	assert_true(evloop_now(c.el) >= t0 + 30);
	evloop_free(c.el);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timer_order),
		cmocka_unit_test(test_io_stop_in_batch),
		cmocka_unit_test(test_io_edge_and_level),
		cmocka_unit_test(test_wakeup_threads),
		cmocka_unit_test(test_now),
	};

	log_init(1, 0, LOG_USER);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
