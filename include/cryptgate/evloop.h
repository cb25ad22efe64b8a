/*
 * evloop.h: a small epoll event loop for the daemons: descriptor watchers,
 * timers and a cross-thread wakeup.
 *
 * - Watchers (struct evloop_io) and timers (struct evloop_timer) are owned
 *   by the caller, usually embedded in a connection struct; the loop only
 *   keeps pointers to the started ones.  Stop a watcher or timer before
 *   freeing its memory.  A callback may start, stop or free any watcher
 *   or timer, its own included: events still pending in the current batch
 *   for a watcher stopped meanwhile are dropped.
 * - Timers have millisecond resolution on CLOCK_MONOTONIC and live in a
 *   binary min-heap: starting, re-arming and stopping one is O(log n), so
 *   thousands of per-connection deadlines cost little.  evloop_now() is
 *   the loop's cached clock, updated once per wait.
 * - The wakeup is an eventfd: evloop_wakeup(), callable from any thread
 *   (and from a signal handler), makes the loop thread call the wakeup
 *   callback soon.  Several wakeups before the loop runs are coalesced
 *   into one callback (one eventfd write), so the callback must drain
 *   everything that is pending (a completion queue, typically).
 *
 * Thread safety: one thread runs the loop and is the only one to call any
 * function here, except evloop_wakeup() and evloop_break().
 */
#ifndef CRYPTGATE_EVLOOP_H
#define CRYPTGATE_EVLOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"

/* Events of a watcher (evloop_io_start) and what happened (revents). */
#define EVLOOP_IN 0x01 /* readable (revents: also end of file) */
#define EVLOOP_OUT 0x02 /* writable */
#define EVLOOP_ERR 0x04 /* revents only: error or hang-up on the descriptor */
/* revents only: the peer closed its side (EPOLLRDHUP, EPOLLHUP); reads
 * return end of file once the data before it is consumed. */
#define EVLOOP_HUP 0x08
#define EVLOOP_EDGE 0x10 /* events only: edge-triggered (EPOLLET) */

/* Events handled per epoll_wait call. */
#define EVLOOP_BATCH 64

struct evloop;

/* A descriptor watcher; fill it with evloop_io_init. */
struct evloop_io {
	int fd;
	unsigned int events; /* as started */
	bool active;
	void (*cb)(struct evloop_io *io, unsigned int revents, void *arg);
	void *arg;
};

/* A one-shot timer; fill it with evloop_timer_init. */
struct evloop_timer {
	uint64_t when; /* monotonic milliseconds (when armed) */
	size_t slot; /* heap index + 1; 0 when stopped */
	void (*cb)(struct evloop_timer *t, void *arg);
	void *arg;
};

/**
 * evloop_new(void): a new loop (an epoll instance and its eventfd).
 * Return it (free with evloop_free) or NULL (logged).
 */
struct evloop *evloop_new(void);

/**
 * evloop_free(el): close ${el}'s descriptors and free it.  Watchers and
 * timers still started are forgotten (their memory is the caller's; the
 * watched descriptors are not closed).  NULL is a no-op.
 */
void evloop_free(struct evloop *el);

/**
 * evloop_run(el): dispatch events and timers until evloop_break() is
 * called.  Return 0, or -1 (logged) if epoll_wait fails for another
 * reason than EINTR.
 */
int evloop_run(struct evloop *el) CG_WUR;

/**
 * evloop_break(el): make evloop_run return after the callbacks of the
 * current iteration.  Any thread may call it (it wakes the loop).
 */
void evloop_break(struct evloop *el);

/** evloop_now(el): the loop's clock, monotonic milliseconds. */
uint64_t evloop_now(const struct evloop *el);

/** evloop_update_time(el): refresh evloop_now() from the system clock. */
void evloop_update_time(struct evloop *el);

/**
 * evloop_io_init(io, fd, cb, arg): prepare ${io} to watch ${fd};
 * ${cb}(${io}, revents, ${arg}) will be called with EVLOOP_IN,
 * EVLOOP_OUT and EVLOOP_ERR bits.
 */
void evloop_io_init(struct evloop_io *io, int fd,
    void (*cb)(struct evloop_io *, unsigned int, void *), void *arg);

/**
 * evloop_io_start(el, io, events): start watching ${io}'s descriptor for
 * ${events} (EVLOOP_IN, EVLOOP_OUT, EVLOOP_EDGE).  Return 0 or -1
 * (logged).
 */
int evloop_io_start(
    struct evloop *el, struct evloop_io *io, unsigned int events) CG_WUR;

/**
 * evloop_io_set(el, io, events): change the events of the started ${io}
 * (a no-op if they are unchanged).  Return 0 or -1 (logged).
 */
int evloop_io_set(
    struct evloop *el, struct evloop_io *io, unsigned int events) CG_WUR;

/**
 * evloop_io_stop(el, io): stop watching ${io} (a no-op if it is not
 * started).  Call it before closing the descriptor.
 */
void evloop_io_stop(struct evloop *el, struct evloop_io *io);

/**
 * evloop_timer_init(t, cb, arg): prepare the stopped timer ${t};
 * ${cb}(${t}, ${arg}) is called when it expires (it is then stopped).
 */
void evloop_timer_init(struct evloop_timer *t,
    void (*cb)(struct evloop_timer *, void *), void *arg);

/**
 * evloop_timer_start(el, t, ms): (re)arm ${t} to expire ${ms} milliseconds
 * after evloop_now(${el}).  Return 0, or -1 (logged; ${t} unchanged) if
 * the heap cannot grow.
 */
int evloop_timer_start(
    struct evloop *el, struct evloop_timer *t, uint64_t ms) CG_WUR;

/** evloop_timer_stop(el, t): disarm ${t}; a no-op if it is stopped. */
void evloop_timer_stop(struct evloop *el, struct evloop_timer *t);

/** evloop_timer_is_active(t): true if ${t} is armed. */
bool evloop_timer_is_active(const struct evloop_timer *t);

/** evloop_timer_count(el): how many timers are armed. */
size_t evloop_timer_count(const struct evloop *el);

/**
 * evloop_wakeup_set(el, cb, arg): have the loop thread call ${cb}(${arg})
 * after each evloop_wakeup() (NULL: nothing but waking up).
 */
void evloop_wakeup_set(struct evloop *el, void (*cb)(void *), void *arg);

/**
 * evloop_wakeup(el): wake ${el}'s thread so that it runs the wakeup
 * callback.  Any thread and signal handlers may call it; wakeups are
 * coalesced (see above).
 */
void evloop_wakeup(struct evloop *el);

#endif /* !CRYPTGATE_EVLOOP_H */
