/*
 * loop.c: the worker threads: one event loop each, its listening sockets
 * (one SO_REUSEPORT socket per listen address and worker, so the kernel
 * spreads connections over the workers), accepting, the relay buffer
 * pool, and the mailbox through which the main thread hands over a
 * reloaded configuration or the order to stop.
 *
 * Reload: the main thread builds each worker's new listener set, reusing
 * the sockets of addresses that stay (so nothing in their accept queues
 * is lost) and posts it; the worker moves its watchers to the new set,
 * accepts what is queued on the sockets that go away (those connections
 * belong to the old configuration) and closes them.  Live connections
 * keep the configuration they started with (reference counted).
 *
 * Stop: the worker closes its listeners and lets its connections finish;
 * after drain_timeout it resets the ones left, then its loop ends.
 */
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "gatewayd.h"

/* Connections accepted per listener event (then others get a turn). */
#define ACCEPT_BURST 64
/* Listeners pause this long when the process runs out of descriptors. */
#define ACCEPT_PAUSE_MS 1000
/* Free relay buffers kept per worker. */
#define POOL_MAX 64

static void listener_cb(struct evloop_io *io, unsigned int revents, void *arg);

uint8_t *
loop_buf_get(struct worker *w, size_t size)
{
	if (size == w->poolsize && w->npool > 0)
		return (w->pool[--w->npool]);
	return (malloc(size));
}

void
loop_buf_put(struct worker *w, uint8_t *p, size_t size)
{
	if (size == w->poolsize && w->npool < POOL_MAX) {
		w->pool[w->npool++] = p;
		return;
	}
	free(p);
}

static void
pool_resize(struct worker *w, size_t size)
{
	if (size == w->poolsize)
		return;
	while (w->npool > 0)
		free(w->pool[--w->npool]);
	w->poolsize = size;
}

void
loop_lset_free(struct lset *ls, bool close_fds)
{
	size_t i;

	for (i = 0; close_fds && i < ls->n; i++) {
		if (ls->v[i].fd != -1)
			close(ls->v[i].fd);
	}
	free(ls->v);
	ls->v = NULL;
	ls->n = 0;
}

/* Accept what ${l} holds (up to ${max}); false if accept must pause. */
static bool
accept_some(struct listener *l, int max)
{
	struct worker *w = l->w;
	struct sockaddr_storage ss;
	socklen_t len;
	int i, fd;

	for (i = 0; i < max; i++) {
		len = sizeof(ss);
		if ((fd = sock_accept(l->fd, &ss, &len)) == -1) {
			switch (errno) {
			case EAGAIN:
#if EAGAIN != EWOULDBLOCK
			case EWOULDBLOCK:
#endif
				return (true);
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				log_ratelimited(&w->rl, LOG_WARNING,
				    "accept: %s: pausing for %d ms",
				    strerror(errno), ACCEPT_PAUSE_MS);
				return (false);
			default:
				log_ratelimited(&w->rl, LOG_WARNING,
				    "accept: %s", strerror(errno));
				return (true);
			}
		}
		relay_accept(w, l->svc, fd, &ss, len);
	}
	return (true);
}

static void
listeners_start(struct worker *w)
{
	size_t i;

	for (i = 0; i < w->ls.n; i++) {
		evloop_io_init(
		    &w->ls.v[i].io, w->ls.v[i].fd, listener_cb, &w->ls.v[i]);
		if (evloop_io_start(w->el, &w->ls.v[i].io, EVLOOP_IN))
			log_warnx(
			    "worker %u: a listener is not watched", w->id);
	}
}

static void
listeners_stop(struct worker *w)
{
	size_t i;

	for (i = 0; i < w->ls.n; i++)
		evloop_io_stop(w->el, &w->ls.v[i].io);
}

static void
listener_cb(struct evloop_io *io, unsigned int revents, void *arg)
{
	struct listener *l = arg;
	struct worker *w = l->w;

	(void)io;
	(void)revents;
	if (accept_some(l, ACCEPT_BURST) || w->paused)
		return;
	w->paused = true;
	listeners_stop(w);
	if (evloop_timer_start(w->el, &w->pause_timer, ACCEPT_PAUSE_MS))
		listeners_start(w);
}

static void
pause_cb(struct evloop_timer *t, void *arg)
{
	struct worker *w = arg;

	(void)t;
	w->paused = false;
	if (!w->stopping)
		listeners_start(w);
}

/* Take the configuration ${cf} and the listeners ${ls}. */
static void
apply(struct worker *w, struct gwconf *cf, struct lset *ls)
{
	struct listener *o;
	size_t i, j;
	bool kept;

	listeners_stop(w);
	for (i = 0; i < w->ls.n; i++) {
		o = &w->ls.v[i];
		for (j = 0, kept = false; j < ls->n && !kept; j++)
			kept = ls->v[j].fd == o->fd;
		if (kept)
			continue;
		/* Going away: serve what is queued, old settings. */
		(void)accept_some(o, 100000);
		close(o->fd);
	}
	loop_lset_free(&w->ls, false);
	w->ls = *ls;
	ls->v = NULL;
	ls->n = 0;
	for (i = 0; i < w->ls.n; i++)
		w->ls.v[i].w = w;
	gwconf_unref(w->cf);
	w->cf = cf;
	pool_resize(w, cf->bufsize);
	if (!w->paused && !w->stopping)
		listeners_start(w);
}

static void
drain_cb(struct evloop_timer *t, void *arg)
{
	struct worker *w = arg;

	(void)t;
	if (w->nconns > 0)
		log_info("worker %u: drain timeout: resetting %zu connections",
		    w->id, w->nconns);
	relay_free_all(w);
	evloop_break(w->el);
}

static void
begin_stop(struct worker *w)
{
	w->stopping = true;
	listeners_stop(w);
	loop_lset_free(&w->ls, true);
	if (w->nconns == 0 ||
	    evloop_timer_start(w->el, &w->drain_timer, w->cf->drain_ms))
		drain_cb(&w->drain_timer, w);
}

static void
wake_cb(void *arg)
{
	struct worker *w = arg;
	struct gwconf *cf = NULL;
	struct lset ls = { NULL, 0 };
	bool stop;

	pthread_mutex_lock(&w->mu);
	if (w->has_new) {
		cf = w->newcf;
		ls = w->newls;
		w->newcf = NULL;
		w->newls.v = NULL;
		w->newls.n = 0;
		w->has_new = false;
		pthread_cond_broadcast(&w->cv);
	}
	stop = w->stop;
	pthread_mutex_unlock(&w->mu);
	if (cf != NULL) {
		if (w->stopping) {
			loop_lset_free(&ls, true);
			gwconf_unref(cf);
		} else {
			apply(w, cf, &ls);
		}
	}
	if (stop && !w->stopping)
		begin_stop(w);
	keyslot_wake(w);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	listeners_start(w);
	if (evloop_run(w->el))
		log_warnx("worker %u: event loop failed", w->id);
	relay_free_all(w);
	keys_worker_fini(w);
	listeners_stop(w);
	loop_lset_free(&w->ls, true);
	gw_worker_done(w);
	return (NULL);
}

int
loop_start(
    struct worker *w, unsigned int id, struct gwconf *cf, struct lset *ls)
{
	size_t i;
	int e;

	w->id = id;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if ((w->el = evloop_new()) == NULL)
		return (-1);
	if ((w->pool = calloc(POOL_MAX, sizeof(*w->pool))) == NULL) {
		log_warnx("out of memory");
		return (-1);
	}
	w->poolsize = cf->bufsize;
	w->cf = gwconf_ref(cf);
	w->ls = *ls;
	ls->v = NULL;
	ls->n = 0;
	for (i = 0; i < w->ls.n; i++)
		w->ls.v[i].w = w;
	evloop_wakeup_set(w->el, wake_cb, w);
	evloop_timer_init(&w->pause_timer, pause_cb, w);
	evloop_timer_init(&w->drain_timer, drain_cb, w);
	if ((e = pthread_create(&w->th, NULL, worker_main, w)) != 0) {
		errno = e;
		log_warn("pthread_create");
		return (-1);
	}
	w->started = true;
	return (0);
}

void
loop_post(struct worker *w, struct gwconf *cf, struct lset *ls)
{
	pthread_mutex_lock(&w->mu);
	while (w->has_new)
		pthread_cond_wait(&w->cv, &w->mu);
	w->newcf = gwconf_ref(cf);
	w->newls = *ls;
	ls->v = NULL;
	ls->n = 0;
	w->has_new = true;
	pthread_mutex_unlock(&w->mu);
	evloop_wakeup(w->el);
}

void
loop_wait_posted(struct worker *w)
{
	pthread_mutex_lock(&w->mu);
	while (w->has_new && !w->exited)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

void
loop_stop(struct worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_mutex_unlock(&w->mu);
	evloop_wakeup(w->el);
}

void
loop_join(struct worker *w)
{
	if (w->started)
		pthread_join(w->th, NULL);
	w->started = false;
	if (w->has_new) {
		loop_lset_free(&w->newls, true);
		gwconf_unref(w->newcf);
		w->has_new = false;
	}
	loop_lset_free(&w->ls, true);
	pool_resize(w, 0);
	free(w->pool);
	w->pool = NULL;
	evloop_free(w->el);
	w->el = NULL;
	gwconf_unref(w->cf);
	w->cf = NULL;
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
}
