/*
 * server.c: the network process's connections: listening sockets, frame
 * reading with deadlines, and answers (see kdcd.h for the processes).
 *
 * A connection is READING (waiting for one whole frame), BUSY (its frame
 * is with the workers; nothing is read meanwhile, so pipelined bytes wait
 * in the kernel or in the buffer) or WRITING (its answer did not fit in
 * the socket buffer).  Sockets are edge-triggered for input and output:
 * ->readable remembers that the socket may hold unread bytes (an edge
 * seen while BUSY, or a read that filled the buffer), so reading resumes
 * after the answer without waiting for a new edge.
 *
 * Deadlines (one timer per connection): a whole frame must arrive within
 * request_timeout, counted from the accept for the first frame and from
 * the first byte for the next ones (this closes the client that sends
 * nothing or one byte a second); between frames a connection may stay
 * idle for idle_timeout; an answer must be taken within request_timeout.
 * A BUSY connection has no deadline: the KDC owes it an answer.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cryptgate/evloop.h"
#include "cryptgate/log.h"
#include "cryptgate/sock.h"
#include "cryptgate/wire.h"

#include "kdcd.h"

/* Read buffer of a connection; a larger frame gets a buffer its size. */
#define RBUF_INIT 2048
/* Connections accepted per listener event (then others get a turn). */
#define ACCEPT_BURST 64
/* Listeners pause this long when the process runs out of descriptors. */
#define ACCEPT_PAUSE_MS 1000

enum conn_state {
	C_READING = 0,
	C_BUSY,
	C_WRITING,
};

struct conn {
	struct conn *prev;
	struct conn *next;
	struct server *srv;
	int fd;
	struct evloop_io io;
	struct evloop_timer timer;
	enum conn_state state;
	bool readable; /* the socket may hold unread bytes */
	bool peer_closed; /* its end of file is (or will be) queued */
	bool dead; /* error or hang-up seen while BUSY */
	bool framing; /* the timer is the deadline of a frame */
	uint8_t *buf;
	size_t cap;
	size_t len;
	size_t framelen; /* 0 until the length prefix is in */
	size_t woff; /* WRITING: bytes of the answer sent */
	char name[SOCK_ADDRSTRLEN];
	uint32_t slot; /* in srv->slots */
	uint64_t id; /* BUSY: the request's id (slot, and a serial above) */
	struct kdc_job job;
};

struct listener {
	struct server *srv;
	int fd;
	struct evloop_io io;
};

struct server {
	struct kdcd *d;
	struct evloop *el;
	struct listener *ls;
	size_t nls;
	bool paused;
	bool stopping;
	struct evloop_timer pause_timer;
	struct evloop_timer stop_timer;
	struct conn **slots; /* max_conns: a connection by its slot */
	uint32_t *free_slots; /* a stack of the free ones */
	size_t nfree;
	uint64_t serial; /* of the last request sent */
	struct conn *conns;
	size_t nconns;
	size_t inflight; /* BUSY connections */
	struct log_ratelimit rl;
};

static void conn_event(struct evloop_io *io, unsigned int revents, void *arg);
static void conn_input(struct conn *c);

/* Close and free ${c} (never while BUSY: a worker holds its job). */
static void
conn_free(struct conn *c)
{
	struct server *srv = c->srv;

	evloop_io_stop(srv->el, &c->io);
	evloop_timer_stop(srv->el, &c->timer);
	close(c->fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	srv->nconns--;
	srv->slots[c->slot] = NULL;
	srv->free_slots[srv->nfree++] = c->slot;
	free(c->buf);
	free(c);
	if (srv->stopping && srv->nconns == 0)
		evloop_break(srv->el);
}

static void
conn_close(struct conn *c, const char *why)
{
	if (why != NULL)
		log_debug("%s: closed: %s", c->name, why);
	conn_free(c);
}

/* Arm ${c}'s deadline: a frame's (request_timeout) or idle_timeout. */
static int
conn_deadline(struct conn *c, bool frame)
{
	struct kdcd *d = c->srv->d;

	c->framing = frame;
	return (evloop_timer_start(c->srv->el, &c->timer,
	    frame ? d->request_timeout_ms : d->idle_timeout_ms));
}

static void
conn_timeout(struct evloop_timer *t, void *arg)
{
	struct conn *c = arg;

	(void)t;
	atomic_fetch_add_explicit(
	    &c->srv->d->stats.timeouts, 1, memory_order_relaxed);
	conn_close(c,
	    c->state == C_WRITING ? "answer not taken in time"
	        : c->framing      ? "request not received in time"
	                          : "idle");
}

/* Hand the complete frame at the start of the buffer to the workers. */
static void
conn_dispatch(struct conn *c)
{
	struct server *srv = c->srv;
	struct kdc_job *j = &c->job;

	evloop_timer_stop(srv->el, &c->timer);
	c->framing = false;
	c->state = C_BUSY;
	srv->inflight++;
	j->owner = c;
	j->req = c->buf;
	j->reqlen = c->framelen;
	c->id = (++srv->serial << 32) | c->slot;
	net_submit(srv->d->net, j, c->id);
}

/*
 * Look at the buffered bytes: dispatch a complete frame, or grow the
 * buffer for a long one.  Return 1 if dispatched, 0 if more bytes are
 * needed, -1 if ${c} was closed.
 */
static int
conn_parse(struct conn *c)
{
	ssize_t fl;
	uint8_t *nb;

	if (c->framelen == 0 && c->len >= WIRE_LENBYTES) {
		if ((fl = wire_frame_peek_len(c->buf)) < 0) {
			log_ratelimited(&c->srv->rl, LOG_NOTICE,
			    "connection %s: refused (MALFORMED): bad frame "
			    "length, connection closed",
			    c->name);
			conn_close(c, NULL);
			return (-1);
		}
		c->framelen = (size_t)fl;
		if (c->framelen > c->cap) {
			if ((nb = realloc(c->buf, c->framelen)) == NULL) {
				log_warn("%s: frame buffer", c->name);
				conn_close(c, NULL);
				return (-1);
			}
			c->buf = nb;
			c->cap = c->framelen;
		}
	}
	if (c->framelen != 0 && c->len >= c->framelen) {
		conn_dispatch(c);
		return (1);
	}
	return (0);
}

/* READING: read what the socket holds until a frame is complete. */
static void
conn_read(struct conn *c)
{
	size_t want;
	ssize_t n;

	while (c->state == C_READING) {
		/* A frame dispatched, or the connection closed. */
		if (conn_parse(c) != 0)
			return;
		if (!c->readable)
			return;
		want = c->cap - c->len;
		n = read(c->fd, c->buf + c->len, want);
		if (n > 0) {
			if (c->len == 0 && !c->framing &&
			    conn_deadline(c, true)) {
				conn_close(c, "timer");
				return;
			}
			c->len += (size_t)n;
			/* A short read emptied the socket, unless an end of
			 * file is queued behind the data (no new edge would
			 * announce it); a full read may have left bytes. */
			if ((size_t)n < want && !c->peer_closed)
				c->readable = false;
		} else if (n == 0) {
			conn_close(c, c->len > 0 ? "truncated frame" : NULL);
			return;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			c->readable = false;
		} else if (errno != EINTR) {
			conn_close(c, "read error");
			return;
		}
	}
}

/* The answer is out: drop the frame, then go on with the next one. */
static void
conn_answered(struct conn *c)
{
	struct server *srv = c->srv;

	if (srv->stopping) {
		conn_close(c, NULL);
		return;
	}
	c->len -= c->framelen;
	if (c->len > 0)
		memmove(c->buf, c->buf + c->framelen, c->len);
	c->framelen = 0;
	c->woff = 0;
	c->state = C_READING;
	if (c->cap > RBUF_INIT && c->len <= RBUF_INIT) {
		/* Give a long frame's buffer back. */
		uint8_t *nb = realloc(c->buf, RBUF_INIT);

		if (nb != NULL) {
			c->buf = nb;
			c->cap = RBUF_INIT;
		}
	}
	if (conn_deadline(c, c->len > 0)) {
		conn_close(c, "timer");
		return;
	}
	conn_input(c);
}

/* WRITING: send the rest of the answer. */
static void
conn_write(struct conn *c)
{
	struct kdc_job *j = &c->job;
	ssize_t n;

	while (c->woff < j->resplen) {
		n = send(c->fd, j->resp + c->woff, j->resplen - c->woff,
		    MSG_NOSIGNAL);
		if (n > 0) {
			c->woff += (size_t)n;
		} else if (n == -1 &&
		    (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* The answer must be taken within request_timeout. */
			c->framing = false;
			if (!evloop_timer_is_active(&c->timer) &&
			    evloop_timer_start(c->srv->el, &c->timer,
			        c->srv->d->request_timeout_ms)) {
				conn_close(c, "timer");
				return;
			}
			return;
		} else if (n == -1 && errno == EINTR) {
			continue;
		} else {
			conn_close(c, "write error");
			return;
		}
	}
	evloop_timer_stop(c->srv->el, &c->timer);
	conn_answered(c);
}

/* Continue reading if the buffer or the socket may hold more. */
static void
conn_input(struct conn *c)
{
	if (c->state == C_READING)
		conn_read(c);
}

static void
conn_event(struct evloop_io *io, unsigned int revents, void *arg)
{
	struct conn *c = arg;

	(void)io;
	if (revents & EVLOOP_HUP)
		c->peer_closed = true;
	if (revents & EVLOOP_ERR) {
		if (c->state == C_BUSY) {
			c->dead = true;
			return;
		}
		/* Read first: the peer may have sent a frame and closed. */
		c->readable = true;
		if (c->state == C_READING) {
			conn_read(c);
			return;
		}
		conn_close(c, "connection error");
		return;
	}
	if (revents & EVLOOP_IN) {
		c->readable = true;
		if (c->state == C_READING) {
			conn_read(c);
			return;
		}
	}
	if ((revents & EVLOOP_OUT) && c->state == C_WRITING)
		conn_write(c);
}

/* An answer from another thread, on the loop thread. */
static void
conn_complete(struct conn *c)
{
	struct server *srv = c->srv;

	srv->inflight--;
	if (c->dead || c->job.close) {
		conn_close(c, c->dead ? "connection lost" : "refused");
		return;
	}
	c->state = C_WRITING;
	c->woff = 0;
	/* The deadline of the answer starts if the first send blocks. */
	conn_write(c);
}

void
server_answer(struct server *srv, uint64_t id, const uint8_t *resp,
    size_t resplen, bool close)
{
	uint32_t slot = (uint32_t)(id & 0xffffffffu);
	struct conn *c;

	if (slot >= srv->d->max_conns || (c = srv->slots[slot]) == NULL ||
	    c->state != C_BUSY || c->id != id) {
		log_warnx("an answer for no request (id %016llx): ignored",
		    (unsigned long long)id);
		return;
	}
	c->id = 0;
	c->job.close = close;
	c->job.resplen = resplen;
	memcpy(c->job.resp, resp, resplen);
	conn_complete(c);
	if (srv->stopping && srv->nconns == 0)
		evloop_break(srv->el);
}

/* --- accepting ---------------------------------------------------------- */

static void
listeners_pause(struct server *srv, bool pause)
{
	size_t i;

	for (i = 0; i < srv->nls; i++) {
		if (pause)
			evloop_io_stop(srv->el, &srv->ls[i].io);
		else if (evloop_io_start(srv->el, &srv->ls[i].io, EVLOOP_IN))
			log_warnx("cannot resume listening socket %zu", i);
	}
	srv->paused = pause;
}

static void
pause_expired(struct evloop_timer *t, void *arg)
{
	struct server *srv = arg;

	(void)t;
	if (!srv->stopping && srv->paused)
		listeners_pause(srv, false);
}

/* A new connection on ${fd} from ${ss}. */
static void
conn_new(struct server *srv, int fd, const struct sockaddr_storage *ss,
    socklen_t sslen)
{
	struct conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->buf = malloc(RBUF_INIT)) == NULL) {
		log_warn("connection");
		free(c);
		close(fd);
		return;
	}
	c->srv = srv;
	c->fd = fd;
	c->slot = srv->free_slots[--srv->nfree];
	srv->slots[c->slot] = c;
	c->cap = RBUF_INIT;
	c->state = C_READING;
	memcpy(&c->job.src, ss, sizeof(*ss));
	c->job.srclen = sslen;
	sock_format(
	    c->name, sizeof(c->name), (const struct sockaddr *)ss, sslen);
	/* Answers are one write each: no reason to wait for ACKs. */
	(void)sock_set_nodelay(fd);
	evloop_io_init(&c->io, fd, conn_event, c);
	evloop_timer_init(&c->timer, conn_timeout, c);
	if ((c->next = srv->conns) != NULL)
		c->next->prev = c;
	srv->conns = c;
	srv->nconns++;
	/* The first frame is due request_timeout after the accept. */
	if (conn_deadline(c, true) ||
	    evloop_io_start(
	        srv->el, &c->io, EVLOOP_IN | EVLOOP_OUT | EVLOOP_EDGE)) {
		conn_close(c, NULL);
		return;
	}
	atomic_fetch_add_explicit(
	    &srv->d->stats.accepted, 1, memory_order_relaxed);
	log_debug("%s: connected", c->name);
}

static void
listener_event(struct evloop_io *io, unsigned int revents, void *arg)
{
	struct listener *l = arg;
	struct server *srv = l->srv;
	struct sockaddr_storage ss;
	char name[SOCK_ADDRSTRLEN];
	socklen_t sslen;
	int fd, i;

	(void)io;
	(void)revents;
	for (i = 0; i < ACCEPT_BURST && !srv->stopping; i++) {
		if ((fd = sock_accept(l->fd, &ss, &sslen)) == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				log_ratelimited(&srv->rl, LOG_WARNING,
				    "accept: %s: pausing for %d ms",
				    strerror(errno), ACCEPT_PAUSE_MS);
				listeners_pause(srv, true);
				if (evloop_timer_start(srv->el,
				        &srv->pause_timer, ACCEPT_PAUSE_MS))
					listeners_pause(srv, false);
			} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED) {
				log_ratelimited(&srv->rl, LOG_WARNING,
				    "accept: %s", strerror(errno));
			}
			return;
		}
		if (srv->nfree == 0) { /* max_conns connections */
			atomic_fetch_add_explicit(
			    &srv->d->stats.refused, 1, memory_order_relaxed);
			log_ratelimited(&srv->rl, LOG_WARNING,
			    "connection %s: refused: max_connections (%zu) "
			    "reached",
			    sock_format(name, sizeof(name),
			        (struct sockaddr *)&ss, sslen),
			    srv->d->max_conns);
			close(fd);
			continue;
		}
		conn_new(srv, fd, &ss, sslen);
	}
}

/* --- life cycle ----------------------------------------------------------- */

struct server *
server_new(struct kdcd *d, struct evloop *el, const int *lfds, size_t nlfds)
{
	struct server *srv;
	size_t i;

	if ((srv = calloc(1, sizeof(*srv))) == NULL ||
	    (srv->ls = calloc(nlfds, sizeof(*srv->ls))) == NULL) {
		log_warn("server_new");
		free(srv);
		goto err0;
	}
	srv->d = d;
	srv->el = el;
	srv->nls = nlfds;
	/* An array of pointers to connections, one per slot. */
	srv->slots = calloc(d->max_conns,
	    // NOLINTNEXTLINE(bugprone-sizeof-expression): pointers, wanted
	    sizeof(struct conn *));
	if (srv->slots == NULL ||
	    (srv->free_slots = calloc(d->max_conns, sizeof(uint32_t))) ==
	        NULL) {
		log_warn("server_new");
		goto err1;
	}
	while (srv->nfree < d->max_conns) {
		srv->free_slots[srv->nfree] =
		    (uint32_t)(d->max_conns - 1 - srv->nfree);
		srv->nfree++;
	}
	evloop_timer_init(&srv->pause_timer, pause_expired, srv);
	evloop_timer_init(&srv->stop_timer, NULL, NULL);
	for (i = 0; i < nlfds; i++) {
		srv->ls[i].srv = srv;
		srv->ls[i].fd = lfds[i];
		evloop_io_init(
		    &srv->ls[i].io, lfds[i], listener_event, &srv->ls[i]);
		if (evloop_io_start(el, &srv->ls[i].io, EVLOOP_IN))
			goto err2;
	}

	/* Success! */
	return (srv);

err2:
	while (i-- > 0)
		evloop_io_stop(el, &srv->ls[i].io);
err1:
	free(srv->free_slots);
	free(srv->slots);
	free(srv->ls);
	free(srv);
err0:
	/* Failure! */
	return (NULL);
}

static void
stop_expired(struct evloop_timer *t, void *arg)
{
	struct server *srv = arg;

	(void)t;
	log_warnx("shutdown: %zu requests still in progress after %d ms",
	    srv->inflight, KDC_SHUTDOWN_WAIT_MS);
	evloop_break(srv->el);
}

void
server_shutdown(struct server *srv)
{
	struct conn *c, *next;
	size_t i;

	if (srv->stopping)
		return;
	srv->stopping = true;
	evloop_timer_stop(srv->el, &srv->pause_timer);
	for (i = 0; i < srv->nls; i++) {
		evloop_io_stop(srv->el, &srv->ls[i].io);
		close(srv->ls[i].fd);
		srv->ls[i].fd = -1;
	}
	/* Connections waiting for (the rest of) a frame go now; the others
	 * when their answer is out. */
	for (c = srv->conns; c != NULL; c = next) {
		next = c->next;
		if (c->state == C_READING)
			conn_close(c, NULL);
	}
	if (srv->nconns == 0) {
		evloop_break(srv->el);
		return;
	}
	evloop_timer_init(&srv->stop_timer, stop_expired, srv);
	if (evloop_timer_start(srv->el, &srv->stop_timer, KDC_SHUTDOWN_WAIT_MS))
		evloop_break(srv->el);
}

size_t
server_inflight(const struct server *srv)
{
	return (srv->inflight);
}

void
server_free(struct server *srv)
{
	struct conn *c, *next;
	size_t i;

	if (srv == NULL)
		return;
	/* Close whatever is left (the keystore is gone or done). */
	srv->stopping = false;
	for (c = srv->conns; c != NULL; c = next) {
		next = c->next;
		conn_free(c);
	}
	for (i = 0; i < srv->nls; i++) {
		if (srv->ls[i].fd != -1) {
			evloop_io_stop(srv->el, &srv->ls[i].io);
			close(srv->ls[i].fd);
		}
	}
	evloop_timer_stop(srv->el, &srv->pause_timer);
	evloop_timer_stop(srv->el, &srv->stop_timer);
	free(srv->free_slots);
	free(srv->slots);
	free(srv->ls);
	free(srv);
}
