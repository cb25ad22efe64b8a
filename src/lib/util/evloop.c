/*
 * evloop.c: an epoll event loop with descriptor watchers, a min-heap of
 * timers and an eventfd wakeup (see evloop.h).
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cryptgate/log.h"
#include "cryptgate/evloop.h"

/* Initial capacity of the timer heap. */
#define HEAP_INIT 64

struct heapent {
	uint64_t when;
	struct evloop_timer *t;
};

struct evloop {
	int epfd;
	int wakefd;
	atomic_int wake_pending; /* an eventfd write is outstanding */
	atomic_bool stop;
	uint64_t now; /* monotonic ms */

	/* The batch being dispatched, so that evloop_io_stop can drop the
	 * events of a watcher stopped meanwhile. */
	struct epoll_event ev[EVLOOP_BATCH];
	int nev;
	int cur;

	/* Timers: a binary min-heap on when (kept in the entries, so that
	 * comparisons touch only the heap array). */
	struct heapent *heap;
	size_t nheap;
	size_t heapcap;

	struct evloop_io wakeio;
	void (*wakecb)(void *);
	void *wakearg;
};

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static uint32_t
to_epoll(unsigned int events)
{
	uint32_t e = 0;

	if (events & EVLOOP_IN)
		e |= EPOLLIN | EPOLLRDHUP;
	if (events & EVLOOP_OUT)
		e |= EPOLLOUT;
	if (events & EVLOOP_EDGE)
		e |= EPOLLET;
	return (e);
}

static unsigned int
from_epoll(uint32_t e)
{
	unsigned int r = 0;

	if (e & (EPOLLIN | EPOLLRDHUP))
		r |= EVLOOP_IN;
	if (e & EPOLLOUT)
		r |= EVLOOP_OUT;
	if (e & (EPOLLERR | EPOLLHUP))
		r |= EVLOOP_ERR;
	if (e & (EPOLLRDHUP | EPOLLHUP))
		r |= EVLOOP_HUP;
	return (r);
}

/* The eventfd is readable: clear it, then run the wakeup callback. */
static void
wake_cb(struct evloop_io *io, unsigned int revents, void *arg)
{
	struct evloop *el = arg;
	uint64_t v;

	(void)io;
	(void)revents;
	while (read(el->wakefd, &v, sizeof(v)) == -1 && errno == EINTR)
		continue;
	/* Clear before the callback drains: a wakeup racing with the
	 * callback then writes again and nothing is lost. */
	atomic_store(&el->wake_pending, 0);
	if (el->wakecb != NULL)
		el->wakecb(el->wakearg);
}

struct evloop *
evloop_new(void)
{
	struct evloop *el;

	if ((el = calloc(1, sizeof(*el))) == NULL) {
		log_warn("evloop_new");
		goto err0;
	}
	el->wakefd = -1;
	if ((el->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		log_warn("epoll_create1");
		goto err1;
	}
	if ((el->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		log_warn("eventfd");
		goto err2;
	}
	if ((el->heap = calloc(HEAP_INIT, sizeof(*el->heap))) == NULL) {
		log_warn("evloop_new");
		goto err3;
	}
	el->heapcap = HEAP_INIT;
	atomic_init(&el->wake_pending, 0);
	atomic_init(&el->stop, false);
	el->now = mono_ms();
	evloop_io_init(&el->wakeio, el->wakefd, wake_cb, el);
	if (evloop_io_start(el, &el->wakeio, EVLOOP_IN))
		goto err4;

	/* Success! */
	return (el);

err4:
	free(el->heap);
err3:
	close(el->wakefd);
err2:
	close(el->epfd);
err1:
	free(el);
err0:
	/* Failure! */
	return (NULL);
}

void
evloop_free(struct evloop *el)
{
	if (el == NULL)
		return;
	close(el->wakefd);
	close(el->epfd);
	free(el->heap);
	free(el);
}

uint64_t
evloop_now(const struct evloop *el)
{
	return (el->now);
}

void
evloop_update_time(struct evloop *el)
{
	el->now = mono_ms();
}

void
evloop_io_init(struct evloop_io *io, int fd,
    void (*cb)(struct evloop_io *, unsigned int, void *), void *arg)
{
	memset(io, 0, sizeof(*io));
	io->fd = fd;
	io->cb = cb;
	io->arg = arg;
}

int
evloop_io_start(struct evloop *el, struct evloop_io *io, unsigned int events)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = to_epoll(events);
	ev.data.ptr = io;
	if (epoll_ctl(el->epfd, EPOLL_CTL_ADD, io->fd, &ev) == -1) {
		log_warn("epoll_ctl ADD fd %d", io->fd);
		return (-1);
	}
	io->events = events;
	io->active = true;
	return (0);
}

int
evloop_io_set(struct evloop *el, struct evloop_io *io, unsigned int events)
{
	struct epoll_event ev;

	if (!io->active)
		return (evloop_io_start(el, io, events));
	if (events == io->events)
		return (0);
	memset(&ev, 0, sizeof(ev));
	ev.events = to_epoll(events);
	ev.data.ptr = io;
	if (epoll_ctl(el->epfd, EPOLL_CTL_MOD, io->fd, &ev) == -1) {
		log_warn("epoll_ctl MOD fd %d", io->fd);
		return (-1);
	}
	io->events = events;
	return (0);
}

void
evloop_io_stop(struct evloop *el, struct evloop_io *io)
{
	int i;

	if (!io->active)
		return;
	/* Fails only if the descriptor was closed already: then the kernel
	 * removed it itself. */
	(void)epoll_ctl(el->epfd, EPOLL_CTL_DEL, io->fd, NULL);
	io->active = false;
	for (i = el->cur + 1; i < el->nev; i++) {
		if (el->ev[i].data.ptr == io)
			el->ev[i].data.ptr = NULL;
	}
}

/* --- timers: binary min-heap, slot = index + 1 ------------------------- */

static void
heap_place(struct evloop *el, size_t i, struct heapent e)
{
	el->heap[i] = e;
	e.t->slot = i + 1;
}

static void
heap_up(struct evloop *el, size_t i)
{
	struct heapent e = el->heap[i];
	size_t parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (el->heap[parent].when <= e.when)
			break;
		heap_place(el, i, el->heap[parent]);
		i = parent;
	}
	heap_place(el, i, e);
}

static void
heap_down(struct evloop *el, size_t i)
{
	struct heapent e = el->heap[i];
	size_t c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= el->nheap)
			break;
		if (c + 1 < el->nheap &&
		    el->heap[c + 1].when < el->heap[c].when)
			c++;
		if (e.when <= el->heap[c].when)
			break;
		heap_place(el, i, el->heap[c]);
		i = c;
	}
	heap_place(el, i, e);
}

/* Remove the armed timer ${t} from the heap. */
static void
heap_remove(struct evloop *el, struct evloop_timer *t)
{
	size_t i = t->slot - 1;
	struct heapent last;

	t->slot = 0;
	last = el->heap[--el->nheap];
	if (last.t == t)
		return;
	heap_place(el, i, last);
	if (i > 0 && el->heap[(i - 1) / 2].when > last.when)
		heap_up(el, i);
	else
		heap_down(el, i);
}

void
evloop_timer_init(struct evloop_timer *t,
    void (*cb)(struct evloop_timer *, void *), void *arg)
{
	memset(t, 0, sizeof(*t));
	t->cb = cb;
	t->arg = arg;
}

int
evloop_timer_start(struct evloop *el, struct evloop_timer *t, uint64_t ms)
{
	struct heapent *nh;
	uint64_t when = el->now + ms;
	size_t i;

	t->when = when;
	if (t->slot != 0) {
		/* Re-arm in place. */
		i = t->slot - 1;
		el->heap[i].when = when;
		if (i > 0 && el->heap[(i - 1) / 2].when > when)
			heap_up(el, i);
		else
			heap_down(el, i);
		return (0);
	}
	if (el->nheap == el->heapcap) {
		if (el->heapcap > SIZE_MAX / 2 / sizeof(*nh) ||
		    (nh = realloc(el->heap, 2 * el->heapcap * sizeof(*nh))) ==
		        NULL) {
			log_warnx("evloop_timer_start: out of memory");
			return (-1);
		}
		el->heap = nh;
		el->heapcap *= 2;
	}
	el->heap[el->nheap].when = when;
	el->heap[el->nheap].t = t;
	t->slot = ++el->nheap;
	heap_up(el, el->nheap - 1);
	return (0);
}

void
evloop_timer_stop(struct evloop *el, struct evloop_timer *t)
{
	if (t->slot != 0)
		heap_remove(el, t);
}

bool
evloop_timer_is_active(const struct evloop_timer *t)
{
	return (t->slot != 0);
}

size_t
evloop_timer_count(const struct evloop *el)
{
	return (el->nheap);
}

/* Run every timer due at evloop_now. */
static void
run_timers(struct evloop *el)
{
	struct evloop_timer *t;

	while (el->nheap > 0 && el->heap[0].when <= el->now) {
		t = el->heap[0].t;
		heap_remove(el, t);
		t->cb(t, t->arg);
	}
}

/* epoll_wait timeout: until the first timer, or forever. */
static int
wait_ms(const struct evloop *el)
{
	uint64_t d;

	if (el->nheap == 0)
		return (-1);
	if (el->heap[0].when <= el->now)
		return (0);
	d = el->heap[0].when - el->now;
	return (d > 60000 ? 60000 : (int)d);
}

/* --- wakeup and the loop ------------------------------------------------ */

void
evloop_wakeup_set(struct evloop *el, void (*cb)(void *), void *arg)
{
	el->wakecb = cb;
	el->wakearg = arg;
}

void
evloop_wakeup(struct evloop *el)
{
	uint64_t one = 1;
	ssize_t n;

	if (atomic_exchange(&el->wake_pending, 1) != 0)
		return;
	/* EAGAIN means the counter is huge: the loop is awake anyway. */
	do {
		n = write(el->wakefd, &one, sizeof(one));
	} while (n == -1 && errno == EINTR);
}

void
evloop_break(struct evloop *el)
{
	atomic_store(&el->stop, true);
	evloop_wakeup(el);
}

int
evloop_run(struct evloop *el)
{
	struct evloop_io *io;
	int n;

	atomic_store(&el->stop, false);
	while (!atomic_load(&el->stop)) {
		n = epoll_wait(el->epfd, el->ev, EVLOOP_BATCH, wait_ms(el));
		el->now = mono_ms();
		if (n == -1) {
			if (errno == EINTR)
				continue;
			log_warn("epoll_wait");
			return (-1);
		}
		el->nev = n;
		for (el->cur = 0; el->cur < el->nev; el->cur++) {
			if ((io = el->ev[el->cur].data.ptr) == NULL)
				continue;
			io->cb(io, from_epoll(el->ev[el->cur].events), io->arg);
		}
		el->nev = 0;
		el->cur = 0;
		run_timers(el);
	}
	return (0);
}
