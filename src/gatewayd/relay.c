/*
 * relay.c: connection pairs: sockets, buffers, back-pressure, half-close,
 * timeouts and limits (see gatewayd.h for the layout of a struct conn).
 *
 * Sockets are non-blocking and edge-triggered for input and output: each
 * side keeps the edges it saw in ->ready and gives them up only when an
 * operation says the socket would block (EAGAIN, TLS_WANT_*, a short
 * write), so bytes that TLS buffered internally are never forgotten.
 * ->rneed and ->wneed say which readiness a read or write waits for (TLS
 * may need the socket writable to read, or the other way round).
 *
 * Each direction has one buffer of buffer_size bytes, taken from the
 * worker's pool when bytes arrive and given back as soon as it is empty
 * (an idle connection holds none).  A full buffer stops reading its
 * source (back-pressure), so memory is bounded whatever the peers do.  A
 * TLS write that would block is repeated with the same length and the
 * buffer is not moved meanwhile (OpenSSL's rule).
 *
 * End of stream: EOF on a plain socket becomes close_notify on the TLS
 * side and close_notify becomes shutdown(SHUT_WR) on the plain side, once
 * the buffer is written; the pair is closed when both directions are
 * done.  Any error (TLS error or truncation, reset, write failure)
 * resets both sockets (SO_LINGER 0), so that the programs at both ends
 * see an error, never a clean end.
 *
 * One timer per connection: the handshake deadline until the relay
 * starts, then the idle timeout (re-armed lazily from ->last_ms).  A pump
 * does at most PUMP_ROUNDS rounds and then yields to other connections
 * through the zero-delay timer ->again.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "gatewayd.h"

#define PUMP_ROUNDS 32

static void conn_timer(struct evloop_timer *t, void *arg);
static void conn_again(struct evloop_timer *t, void *arg);
static void pump(struct conn *c);
static void log_connect_failed(struct conn *c, int err);

static void
side_close(struct worker *w, struct side *s, bool reset)
{
	struct linger l = { 1, 0 };

	if (s->fd == -1)
		return;
	evloop_io_stop(w->el, &s->io);
	tls_conn_free(s->tls);
	s->tls = NULL;
	if (reset)
		(void)setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(s->fd);
	s->fd = -1;
}

static void
buf_release(struct conn *c, struct rbuf *b)
{
	if (b->p != NULL)
		loop_buf_put(c->w, b->p, c->svc->cf->bufsize);
	b->p = NULL;
	b->off = 0;
	b->len = 0;
}

/* Free ${c}, its sockets closed (reset if ${reset}). */
static void
conn_free(struct conn *c, bool reset)
{
	struct worker *w = c->w;
	struct service *svc = c->svc;
	int i;

	keys_unwait(c);
	if (c->ftp != NULL)
		ftpgw_free(c);
	ftpdata_free(c->data);
	c->data = NULL;
	for (i = 0; i < 2; i++) {
		side_close(w, &c->s[i], reset);
		buf_release(c, &c->b[i]);
	}
	evloop_timer_stop(w->el, &c->timer);
	evloop_timer_stop(w->el, &c->again);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->nconns--;
	stats_add(svc->st, w->id, ST_CLOSED, 1);
	stats_release(svc->st, &c->peer, c->counted_client);
	gwconf_unref(svc->cf);
	free(c->refused_id);
	free(c->refusal_detail);
	free(c);
	if (w->stopping && w->nconns == 0)
		evloop_break(w->el);
}

static void
conn_log(struct conn *c, const char *how, const char *why)
{
	uint64_t now = evloop_now(c->w->el);

	if (log_getverbose() < 1)
		return;
	log_info("%s: [%s] %s after %llu ms (%s), %llu bytes in, %llu out",
	    c->name, c->svc->name, how, (unsigned long long)(now - c->start_ms),
	    why != NULL ? why : "end", (unsigned long long)c->bytes[0],
	    (unsigned long long)c->bytes[1]);
}

void
relay_abort(struct conn *c, const char *why)
{
	stats_add(c->svc->st, c->w->id, ST_RESETS, 1);
	conn_log(c, "reset", why);
	conn_free(c, true);
}

void
relay_close(struct conn *c, enum stat_id stat, const char *why)
{
	if (stat != 0)
		stats_add(c->svc->st, c->w->id, stat, 1);
	conn_log(c, "closed", why);
	conn_free(c, false);
}

int
relay_deadline(struct conn *c, uint64_t ms)
{
	if (evloop_timer_start(c->w->el, &c->timer, ms) == 0)
		return (0);
	relay_abort(c, "out of memory (timer)");
	return (-1);
}

static void
side_event(struct evloop_io *io, unsigned int revents, void *arg)
{
	struct side *s = arg;
	struct conn *c = s->c;
	int i = s == &c->s[0] ? 0 : 1, err = 0;
	socklen_t len = sizeof(err);

	(void)io;
	if (revents & EVLOOP_ERR)
		revents |= EVLOOP_IN | EVLOOP_OUT;
	s->ready |= (uint8_t)(revents & (EVLOOP_IN | EVLOOP_OUT));
	if (c->state == CS_RELAY) {
		pump(c);
	} else if (c->state == CS_CONNECT && i == 1) {
		if (!(s->ready & EVLOOP_OUT))
			return;
		if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err == 0) {
			service_connected(c);
			return;
		}
		stats_add(c->svc->st, c->w->id, ST_BACKEND_FAIL, 1);
		log_connect_failed(c, err);
		relay_abort(c, "connect failed");
	} else {
		service_event(c, i);
	}
}

int
relay_side_start(struct conn *c, int i)
{
	struct side *s = &c->s[i];

	evloop_io_init(&s->io, s->fd, side_event, s);
	return (evloop_io_start(
	    c->w->el, &s->io, EVLOOP_IN | EVLOOP_OUT | EVLOOP_EDGE));
}

/* Log the refusal of the connection from ${peer} by the limit ${r}. */
static void
log_refused(struct worker *w, const struct service *svc,
    const struct sockaddr_storage *peer, socklen_t peerlen, enum stats_admit r)
{
	char name[SOCK_ADDRSTRLEN], limit[64];

	switch (r) {
	case ADMIT_GATEWAY:
		snprintf(limit, sizeof(limit),
		    "the gateway's max_connections (%zu)", svc->cf->max_conns);
		break;
	case ADMIT_SERVICE:
		snprintf(limit, sizeof(limit),
		    "the service's max_connections (%ld)", svc->max_conns);
		break;
	case ADMIT_CLIENT:
		snprintf(limit, sizeof(limit),
		    "max_connections_per_client (%ld)", svc->max_per_client);
		break;
	default:
		snprintf(limit, sizeof(limit), "out of memory");
		break;
	}
	log_ratelimited(&w->rl, LOG_WARNING,
	    "[%s] %s: connection refused (refused): %s%s", svc->name,
	    sock_format(
	        name, sizeof(name), (const struct sockaddr *)peer, peerlen),
	    limit, r == ADMIT_NOMEM ? "" : " reached");
}

/* Log that connecting s[1] of ${c} failed with ${err} (errno). */
static void
log_connect_failed(struct conn *c, int err)
{
	char to[SOCK_ADDRSTRLEN];

	if (c->to != NULL)
		sock_format(to, sizeof(to), c->to, c->tolen);
	else
		snprintf(to, sizeof(to), "?");
	log_ratelimited(&c->w->rl, LOG_WARNING,
	    "[%s] %s: connecting to the %s %s failed (backend_failures): %s",
	    c->svc->name, c->name,
	    c->svc->role == ROLE_SERVER ? "backend" : "remote gateway", to,
	    strerror(err));
}

/* Admit and start the connection ${fd} (owned); ${d}: FTP data (owned). */
static void
conn_start(struct worker *w, struct service *svc, int fd,
    const struct sockaddr_storage *peer, socklen_t peerlen, struct ftpdata *d)
{
	struct gwconf *cf = svc->cf;
	struct linger l = { 1, 0 };
	struct conn *c;
	bool counted;
	enum stats_admit r;

	/* FTP data connections count in the totals, not per client: their
	 * peer is a gateway or the FTP server as often as the client. */
	if ((r = stats_admit(svc->st, cf->max_conns, svc->max_conns, peer,
	         d != NULL ? 0 : svc->max_per_client, &counted)) != ADMIT_OK) {
		ftpdata_free(d);
		stats_add(svc->st, w->id, ST_REFUSED, 1);
		log_refused(w, svc, peer, peerlen, r);
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_ratelimited(&w->rl, LOG_WARNING, "out of memory");
		stats_release(svc->st, peer, counted);
		ftpdata_free(d);
		close(fd);
		return;
	}
	c->w = w;
	c->svc = svc;
	c->data = d;
	gwconf_ref(cf);
	c->counted_client = counted;
	memcpy(&c->peer, peer, peerlen);
	c->peerlen = peerlen;
	sock_format(
	    c->name, sizeof(c->name), (const struct sockaddr *)peer, peerlen);
	c->s[0].c = c;
	c->s[0].fd = fd;
	c->s[1].c = c;
	c->s[1].fd = -1;
	c->s[0].rneed = c->s[1].rneed = EVLOOP_IN;
	c->s[0].wneed = c->s[1].wneed = EVLOOP_OUT;
	c->start_ms = c->last_ms = evloop_now(w->el);
	evloop_timer_init(&c->timer, conn_timer, c);
	evloop_timer_init(&c->again, conn_again, c);
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	stats_add(svc->st, w->id, ST_ACCEPTED, 1);
	(void)sock_set_nodelay(fd);
	if (evloop_timer_start(w->el, &c->timer, cf->handshake_ms) ||
	    relay_side_start(c, 0)) {
		relay_abort(c, "out of memory");
		return;
	}
	service_start(c);
}

void
relay_accept(struct worker *w, struct service *svc, int fd,
    const struct sockaddr_storage *peer, socklen_t peerlen)
{
	conn_start(w, svc, fd, peer, peerlen, NULL);
}

void
relay_adopt(struct worker *w, struct service *svc, int fd,
    const struct sockaddr_storage *peer, socklen_t peerlen, struct ftpdata *d)
{
	conn_start(w, svc, fd, peer, peerlen, d);
}

int
relay_connect(
    struct conn *c, const struct sockaddr *sa, socklen_t salen, int mark)
{
	struct side *s = &c->s[1];
	int fd;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    IPPROTO_TCP);
	if (fd == -1) {
		log_ratelimited(&c->w->rl, LOG_WARNING, "[%s] %s: socket: %s",
		    c->svc->name, c->name, strerror(errno));
		goto fail;
	}
	if (mark != 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) == -1) {
		log_ratelimited(&c->w->rl, LOG_WARNING,
		    "[%s] %s: setsockopt SO_MARK: %s", c->svc->name, c->name,
		    strerror(errno));
		close(fd);
		goto fail;
	}
	(void)sock_set_nodelay(fd);
	if (c->data != NULL && ftpdata_bind(c, fd)) {
		close(fd);
		goto fail;
	}
	c->to = sa;
	c->tolen = salen;
	if (connect(fd, sa, salen) == -1 && errno != EINPROGRESS) {
		log_connect_failed(c, errno);
		close(fd);
		goto fail;
	}
	s->fd = fd;
	s->ready = 0;
	c->state = CS_CONNECT;
	if (relay_side_start(c, 1))
		return (-1);
	return (0);

fail:
	stats_add(c->svc->st, c->w->id, ST_BACKEND_FAIL, 1);
	return (-1);
}

/* --- the pump ----------------------------------------------------------- */

/* Read into ${p}: > 0 bytes, 0 (would block, or end: ->rdone), -1 error. */
static ssize_t
side_read(struct side *s, uint8_t *p, size_t len, const char **why)
{
	ssize_t n;

	if (s->tls != NULL) {
		n = tls_read(s->tls, p, len);
		if (n > 0) {
			s->rneed = EVLOOP_IN;
			return (n);
		}
		switch (n) {
		case TLS_EOF:
			s->rdone = true;
			return (0);
		case TLS_WANT_READ:
			s->ready &= (uint8_t)~EVLOOP_IN;
			s->rneed = EVLOOP_IN;
			return (0);
		case TLS_WANT_WRITE:
			s->ready &= (uint8_t)~EVLOOP_OUT;
			s->rneed = EVLOOP_OUT;
			return (0);
		default:
			*why = tls_conn_error(s->tls);
			return (-1);
		}
	}
	do {
		n = recv(s->fd, p, len, 0);
	} while (n == -1 && errno == EINTR);
	if (n > 0)
		return (n);
	if (n == 0) {
		s->rdone = true;
		return (0);
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		s->ready &= (uint8_t)~EVLOOP_IN;
		return (0);
	}
	*why = strerror(errno);
	return (-1);
}

ssize_t
relay_read(struct conn *c, int i, uint8_t *p, size_t len, const char **why)
{
	return (side_read(&c->s[i], p, len, why));
}

int
relay_bufs(struct conn *c)
{
	size_t cap = c->svc->cf->bufsize;
	int i;

	for (i = 0; i < 2; i++) {
		if (c->b[i].p == NULL &&
		    (c->b[i].p = loop_buf_get(c->w, cap)) == NULL)
			return (-1);
	}
	return (0);
}

/* Write from ${p}: > 0 bytes taken, 0 would block, -1 error. */
static ssize_t
side_write(
    struct side *s, const uint8_t *p, size_t len, int flags, const char **why)
{
	ssize_t n;

	if (s->tls != NULL) {
		if (s->wpend > 0)
			len = s->wpend;
		n = tls_write(s->tls, p, len);
		if (n > 0) {
			s->wpend = 0;
			s->wneed = EVLOOP_OUT;
			return (n);
		}
		switch (n) {
		case TLS_WANT_WRITE:
			s->ready &= (uint8_t)~EVLOOP_OUT;
			s->wneed = EVLOOP_OUT;
			s->wpend = len;
			return (0);
		case TLS_WANT_READ:
			s->ready &= (uint8_t)~EVLOOP_IN;
			s->wneed = EVLOOP_IN;
			s->wpend = len;
			return (0);
		default:
			*why = tls_conn_error(s->tls);
			return (-1);
		}
	}
	do {
		n = send(s->fd, p, len, MSG_NOSIGNAL | flags);
	} while (n == -1 && errno == EINTR);
	if (n > 0) {
		/* A short write: the socket buffer is full. */
		if ((size_t)n < len)
			s->ready &= (uint8_t)~EVLOOP_OUT;
		return (n);
	}
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		s->ready &= (uint8_t)~EVLOOP_OUT;
		return (0);
	}
	*why = n == 0 ? "write returned 0" : strerror(errno);
	return (-1);
}

/* Send our end of stream on ${s}: 0 (done or would block) or -1. */
static int
side_shutdown(struct side *s, const char **why)
{
	int r;

	if (s->tls == NULL) {
		if (shutdown(s->fd, SHUT_WR) == -1) {
			*why = strerror(errno);
			return (-1);
		}
		s->wdone = true;
		return (0);
	}
	switch ((r = tls_shutdown(s->tls))) {
	case TLS_OK:
		s->wdone = true;
		return (0);
	case TLS_WANT_WRITE:
	case TLS_WANT_READ:
		s->ready &=
		    (uint8_t) ~(r == TLS_WANT_WRITE ? EVLOOP_OUT : EVLOOP_IN);
		s->wneed = r == TLS_WANT_WRITE ? EVLOOP_OUT : EVLOOP_IN;
		return (0);
	default:
		*why = tls_conn_error(s->tls);
		return (-1);
	}
}

/*
 * Move what can be moved from s[d] to s[!d]; set ${*progress} if
 * anything moved.  Return 0, or -1 on an error (${*why}).
 */
static int
flow(struct conn *c, int d, bool *progress, const char **why)
{
	struct side *src = &c->s[d], *dst = &c->s[!d];
	struct rbuf *b = &c->b[d];
	size_t cap = c->svc->cf->bufsize, space;
	ssize_t n;
	int pulls = 0;

	for (;;) {
		while (b->len > 0 && (dst->ready & dst->wneed)) {
			size_t wl = b->len;
			int oob = 0;

			/* FTP: a Telnet Synch (ABOR) goes out urgent. */
			if (c->ftp != NULL && dst->tls == NULL &&
			    ftpgw_urgent(c, d, &wl))
				oob = MSG_OOB;
			if ((n = side_write(
			         dst, b->p + b->off, wl, oob, why)) == -1)
				return (-1);
			if (n == 0)
				break;
			if (oob != 0 && (size_t)n == wl)
				ftpgw_urgent_sent(c);
			b->off += (size_t)n;
			b->len -= (size_t)n;
			c->bytes[d] += (uint64_t)n;
			*progress = true;
		}
		if (b->len == 0 && dst->wpend == 0 && c->ftp == NULL)
			buf_release(c, b);
		if (c->ftp != NULL) {
			bool more = false;

			if (ftpgw_pull(c, d, &more, why))
				return (-1);
			if (!more)
				break;
			*progress = true;
			/* pump() comes back (PUMP_ROUNDS, then ->again). */
			if (++pulls >= 8)
				break;
			continue;
		}
		if (src->rdone || !(src->ready & src->rneed))
			break;
		if (b->p == NULL && (b->p = loop_buf_get(c->w, cap)) == NULL) {
			*why = "out of memory";
			return (-1);
		}
		if (b->off > 0 && dst->wpend == 0 &&
		    cap - b->off - b->len < cap / 4) {
			memmove(b->p, b->p + b->off, b->len);
			b->off = 0;
		}
		if ((space = cap - b->off - b->len) == 0)
			break; /* back-pressure: wait for s[!d] */
		if ((n = side_read(src, b->p + b->off + b->len, space, why)) ==
		    -1)
			return (-1);
		if (n == 0) {
			if (b->len == 0)
				buf_release(c, b);
			break;
		}
		b->len += (size_t)n;
		*progress = true;
	}
	if ((src->rdone || (c->ftp != NULL && ftpgw_ended(c, d))) &&
	    b->len == 0 && !dst->wdone &&
	    (c->ftp == NULL || ftpgw_drained(c, d)) &&
	    (dst->ready & dst->wneed)) {
		if (side_shutdown(dst, why))
			return (-1);
		*progress |= dst->wdone;
	}
	return (0);
}

static void
pump(struct conn *c)
{
	struct worker *w = c->w;
	const char *why = NULL;
	uint64_t before[2] = { c->bytes[0], c->bytes[1] };
	bool progress, moved = false;
	int rounds = 0;

	do {
		progress = false;
		if (flow(c, 0, &progress, &why) ||
		    flow(c, 1, &progress, &why)) {
			stats_add(c->svc->st, w->id, ST_BYTES_IN,
			    c->bytes[0] - before[0]);
			stats_add(c->svc->st, w->id, ST_BYTES_OUT,
			    c->bytes[1] - before[1]);
			relay_abort(c, why);
			return;
		}
		moved |= progress;
	} while (progress && ++rounds < PUMP_ROUNDS);
	if (moved) {
		c->last_ms = evloop_now(w->el);
		if (c->data != NULL)
			ftpgw_touch(ftpdata_session(c), c->last_ms);
		stats_add(
		    c->svc->st, w->id, ST_BYTES_IN, c->bytes[0] - before[0]);
		stats_add(
		    c->svc->st, w->id, ST_BYTES_OUT, c->bytes[1] - before[1]);
	}
	if (c->s[0].rdone && c->s[1].rdone && c->s[0].wdone && c->s[1].wdone) {
		relay_close(c, 0, NULL);
		return;
	}
	/* Out of rounds with work left: come back after the others. */
	if (progress && evloop_timer_start(w->el, &c->again, 0))
		relay_abort(c, "out of memory (timer)");
}

void
relay_run(struct conn *c)
{
	if (c->state != CS_RELAY) {
		c->state = CS_RELAY;
		/*
		 * The handshake may have pulled records into TLS buffers
		 * and drained the socket before epoll looked at it: then no
		 * edge comes.  Try both ways once; EAGAIN sets it right.
		 */
		c->s[0].ready |= EVLOOP_IN | EVLOOP_OUT;
		c->s[1].ready |= EVLOOP_IN | EVLOOP_OUT;
		c->last_ms = evloop_now(c->w->el);
		if (relay_deadline(c, c->svc->cf->idle_ms))
			return;
		if (c->svc->ftp && c->data == NULL && ftpgw_start(c)) {
			relay_abort(c, "FTP setup failed");
			return;
		}
	}
	pump(c);
}

static void
conn_again(struct evloop_timer *t, void *arg)
{
	(void)t;
	pump(arg);
}

static void
conn_timer(struct evloop_timer *t, void *arg)
{
	struct conn *c = arg;
	uint64_t now = evloop_now(c->w->el), idle = c->svc->cf->idle_ms;

	(void)t;
	if (c->state != CS_RELAY) {
		service_timeout(c);
		return;
	}
	if (now - c->last_ms >= idle) {
		relay_abort(c, "idle timeout");
		return;
	}
	if (relay_deadline(c, c->last_ms + idle - now))
		return; /* freed */
}

void
relay_free_all(struct worker *w)
{
	struct conn *c, *next;

	/* relay_abort frees only the connection it is given. */
	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		relay_abort(c, "stopping");
	}
}
