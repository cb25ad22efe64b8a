/*
 * ftpdata.c: FTP data listeners and data connections (see ftpgw.c).
 *
 * A listener accepts one connection, from one address only: any other
 * peer is reset and counted (ftp_hijack) and the listener keeps waiting
 * until ftp_data_timeout.  A listener for the other gateway (TLS) stays
 * open until a connection completes the handshake with this session's
 * key, so that a process on that host without the key cannot take the
 * place of the real connection.  The accepted connection becomes a struct conn
 * with a struct ftpdata: one of its sockets is plain (the FTP client or
 * server), the other TLS 1.3 toward the other gateway:
 *
 *   tls_in:  the accepted socket is TLS (we are the TLS server); after
 *            the handshake we connect to the target and relay.
 *   !tls_in: the accepted socket is plain; we connect to the other
 *            gateway, handshake as TLS client, then relay.
 *
 * The PSK: 32 bytes of the control connection's TLS exporter with label
 * FTPDATA_LABEL and context "A" or "P" (active, passive) and the data
 * port between the gateways (2 bytes, big-endian), so a data connection
 * only completes with the two gateways of this control session, for this
 * one listener.  Its identity, FTPDATA_IDENTITY, names no key.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cryptgate/secret.h"

#include "ftpgw.h"
#include "gatewayd.h"

#define FTPDATA_LABEL "EXPORTER-cryptgate-ftp-data"
#define FTPDATA_IDENTITY "cryptgate-ftp-data"

struct ftpdata {
	struct ftpsess *fs; /* referenced */
	uint64_t gen; /* the listener that accepted it */
	bool tls_in;
	struct sockaddr_storage target;
	socklen_t targetlen;
	struct sockaddr_storage src;
	socklen_t srclen;
	uint8_t psk[TLS_PSKBYTES];
};

void
ftpdata_free(struct ftpdata *d)
{
	if (d == NULL)
		return;
	ftpgw_sess_unref(d->fs);
	secret_wipe(d, sizeof(*d));
	free(d);
}

struct ftpsess *
ftpdata_session(const struct conn *c)
{
	return (c->data->fs);
}

void
ftpdata_unlisten(struct ftpsess *fs)
{
	struct ftplisten *l = fs->ls;
	struct worker *w;

	if (l == NULL)
		return;
	w = fs->ctl->w;
	evloop_io_stop(w->el, &l->io);
	evloop_timer_stop(w->el, &l->timer);
	close(l->fd);
	secret_wipe(l, sizeof(*l));
	free(l);
	fs->ls = NULL;
}

static void
listen_timeout(struct evloop_timer *t, void *arg)
{
	struct ftplisten *l = arg;

	(void)t;
	log_debug("FTP data listener timed out");
	ftpdata_unlisten(l->fs);
}

static bool
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	if (a->ss_family != b->ss_family)
		return (false);
	if (a->ss_family == AF_INET)
		return (((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)b)->sin_addr.s_addr);
	return (memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
	            &((const struct sockaddr_in6 *)b)->sin6_addr, 16) == 0);
}

/* A connection ${fd} from the expected address: hand it to the relay. */
static void
adopt(struct ftplisten *l, int fd, const struct sockaddr_storage *peer,
    socklen_t peerlen)
{
	struct ftpsess *fs = l->fs;
	struct conn *ctl = fs->ctl;
	struct worker *w = ctl->w;
	struct service *svc = ctl->svc;
	struct ftpdata *d;

	if (fs->refs > FTP_DATA_MAX || (d = calloc(1, sizeof(*d))) == NULL) {
		log_ratelimited(&w->rl, LOG_WARNING,
		    "[%s] %s: FTP data connection refused: too many at once",
		    svc->name, ctl->name);
		close(fd);
		return;
	}
	d->fs = fs;
	fs->refs++;
	d->gen = l->gen;
	d->tls_in = l->tls_in;
	memcpy(&d->target, &l->target, sizeof(d->target));
	d->targetlen = l->targetlen;
	memcpy(&d->src, &l->src, sizeof(d->src));
	d->srclen = l->srclen;
	memcpy(d->psk, l->psk, sizeof(d->psk));
	/*
	 * A plain listener is done with its one connection.  A TLS one
	 * (from the other gateway) waits until a handshake succeeds: a
	 * connection from the right address without this session's key
	 * (another process on the other gateway's host) must not take the
	 * place of the real one.
	 */
	if (!l->tls_in)
		ftpdata_unlisten(fs);
	relay_adopt(w, svc, fd, peer, peerlen, d);
}

static void
listen_event(struct evloop_io *io, unsigned int revents, void *arg)
{
	struct ftplisten *l = arg;
	struct conn *ctl = l->fs->ctl;
	struct sockaddr_storage peer;
	struct linger lg = { 1, 0 };
	socklen_t len;
	char name[SOCK_ADDRSTRLEN];
	int fd, i;

	(void)io;
	(void)revents;
	for (i = 0; i < 16; i++) {
		len = sizeof(peer);
		memset(&peer, 0, sizeof(peer));
		fd = accept4(l->fd, (struct sockaddr *)&peer, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1)
			return;
		if (same_addr(&peer, &l->expect)) {
			if (!l->tls_in) {
				adopt(l, fd, &peer, len);
				return; /* the listener is closed */
			}
			adopt(l, fd, &peer, len);
			continue;
		}
		stats_add(ctl->svc->st, ctl->w->id, ST_FTP_HIJACK, 1);
		log_ratelimited(&ctl->w->rl, LOG_WARNING,
		    "[%s] %s: FTP data connection from %s refused "
		    "(ftp_hijack): not the session's peer",
		    ctl->svc->name, ctl->name,
		    sock_format(name, sizeof(name),
		        (const struct sockaddr *)&peer, len));
		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
}

/* A listening socket on ${ss}'s address, any port; its port in ${*port}. */
static int
listen_on(const struct sockaddr_storage *ss, socklen_t sslen, uint16_t *port)
{
	struct sockaddr_storage a;
	socklen_t alen;
	int fd;

	ftpgw_sockaddr(&a, &alen, ss, sslen, 0);
	if ((fd = socket(a.ss_family,
	         SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP)) ==
	    -1)
		goto err0;
	if (bind(fd, (struct sockaddr *)&a, alen) == -1 || listen(fd, 4) == -1)
		goto err1;
	alen = sizeof(a);
	if (getsockname(fd, (struct sockaddr *)&a, &alen) == -1)
		goto err1;
	*port = ntohs(a.ss_family == AF_INET
	        ? ((struct sockaddr_in *)&a)->sin_port
	        : ((struct sockaddr_in6 *)&a)->sin6_port);

	/* Success! */
	return (fd);

err1:
	close(fd);
err0:
	log_warn("FTP data listener");
	return (-1);
}

int
ftpdata_listen(struct conn *c, bool active, const struct ftp_hostport *hp,
    struct ftp_hostport *ours)
{
	struct ftpsess *fs = c->ftp;
	struct ftplisten *l;
	struct tls_conn *tls = fs->client_side ? c->s[1].tls : c->s[0].tls;
	int li = active ? 1 : 0; /* the side we listen toward */
	uint8_t ctx[3];
	uint16_t port;

	ftpdata_unlisten(fs);
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		log_warnx("out of memory");
		return (-1);
	}
	l->fs = fs;
	l->tls_in = fs->client_side == active;
	if ((l->fd = listen_on(&fs->loc[li], fs->loclen[li], &port)) == -1)
		goto err0;
	memcpy(&l->expect, &fs->rem[li], sizeof(l->expect));
	l->expectlen = fs->remlen[li];
	/* Active: on to the control peer (hp was checked to be it). */
	ftpgw_sockaddr(&l->target, &l->targetlen, &fs->rem[!li],
	    fs->remlen[!li], hp->port);
	ftpgw_sockaddr(&l->src, &l->srclen, &fs->loc[!li], fs->loclen[!li], 0);
	ctx[0] = active ? 'A' : 'P';
	ctx[1] = (uint8_t)((l->tls_in ? port : hp->port) >> 8);
	ctx[2] = (uint8_t)(l->tls_in ? port : hp->port);
	if (tls_conn_export(
	        tls, l->psk, sizeof(l->psk), FTPDATA_LABEL, ctx, sizeof(ctx))) {
		log_warnx("[%s] %s: FTP data key: TLS exporter failed",
		    c->svc->name, c->name);
		goto err1;
	}
	evloop_io_init(&l->io, l->fd, listen_event, l);
	evloop_timer_init(&l->timer, listen_timeout, l);
	if (evloop_io_start(c->w->el, &l->io, EVLOOP_IN) ||
	    evloop_timer_start(c->w->el, &l->timer, c->svc->ftp_data_ms)) {
		evloop_io_stop(c->w->el, &l->io);
		goto err1;
	}
	ftpgw_hostport(&fs->loc[li], ours);
	ours->port = port;
	l->gen = ++fs->lsgen;
	fs->ls = l;
	log_debug("[%s] %s: FTP data listener on port %u (%s, from the %s)",
	    c->svc->name, c->name, (unsigned int)port,
	    active ? "active" : "passive",
	    l->tls_in ? "other gateway"
	              : (fs->client_side ? "client" : "server"));

	/* Success! */
	return (0);

err1:
	close(l->fd);
err0:
	secret_wipe(l, sizeof(*l));
	free(l);
	return (-1);
}

/* --- the data connection before the relay -------------------------------- */

int
ftpdata_bind(struct conn *c, int fd)
{
	struct ftpdata *d = c->data;
	int on = 1;

	if (d->srclen == 0)
		return (0);
	(void)setsockopt(
	    fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof(on));
	if (bind(fd, (struct sockaddr *)&d->src, d->srclen) == -1) {
		log_ratelimited(&c->w->rl, LOG_WARNING,
		    "[%s] %s: FTP data: bind: %s", c->svc->name, c->name,
		    strerror(errno));
		return (-1);
	}
	return (0);
}

enum tls_psk_status
ftpdata_psk(struct conn *c, const uint8_t *identity, size_t idlen,
    uint8_t psk[static TLS_PSKBYTES])
{
	if (idlen != strlen(FTPDATA_IDENTITY) ||
	    memcmp(identity, FTPDATA_IDENTITY, idlen) != 0)
		return (TLS_PSK_NOTFOUND);
	memcpy(psk, c->data->psk, TLS_PSKBYTES);
	c->psk_given = true;
	return (TLS_PSK_FOUND);
}

static void
failed(struct conn *c, struct tls_conn *tls)
{
	enum stat_id why = ST_HS_OTHER;
	const char *err = tls != NULL ? tls_conn_error(tls) : "no TLS";

	if (strstr(err, "binder") != NULL || strstr(err, "decrypt") != NULL)
		why = ST_HS_BAD_PSK;
	stats_add(c->svc->st, c->w->id, why, 1);
	log_ratelimited(&c->w->rl, LOG_NOTICE,
	    "[%s] %s: FTP data connection: TLS handshake failed (%s): %s",
	    c->svc->name, c->name, stats_reason_name(why), err);
	relay_abort(c, "FTP data handshake failed");
}

static void
handshake(struct conn *c)
{
	struct ftpdata *d = c->data;
	int i = d->tls_in ? 0 : 1;

	switch (tls_handshake(c->s[i].tls)) {
	case TLS_OK:
		stats_add(c->svc->st, c->w->id, ST_FTP_DATA, 1);
		/* The key was right: this listener's one connection. */
		if (d->tls_in && d->fs->ctl != NULL && d->fs->ls != NULL &&
		    d->fs->ls->gen == d->gen)
			ftpdata_unlisten(d->fs);
		if (!d->tls_in) {
			relay_run(c);
			return;
		}
		if (relay_connect(
		        c, (struct sockaddr *)&d->target, d->targetlen, 0))
			relay_abort(c, "FTP data connect failed");
		return;
	case TLS_WANT_READ:
	case TLS_WANT_WRITE:
		return;
	default:
		failed(c, c->s[i].tls);
		return;
	}
}

void
ftpdata_start(struct conn *c)
{
	struct ftpdata *d = c->data;

	if (d->tls_in) {
		c->state = CS_HANDSHAKE; /* TLS comes with the first bytes */
		return;
	}
	if (relay_connect(c, (struct sockaddr *)&d->target, d->targetlen, 0))
		relay_abort(c, "FTP data connect failed");
}

void
ftpdata_event(struct conn *c, int i)
{
	struct ftpdata *d = c->data;

	if (c->state != CS_HANDSHAKE || i != (d->tls_in ? 0 : 1))
		return;
	if (d->tls_in && c->s[0].tls == NULL) {
		if (!(c->s[0].ready & EVLOOP_IN))
			return;
		if ((c->s[0].tls = tls_conn_new(
		         c->svc->cf->sctx, c->s[0].fd, c)) == NULL) {
			relay_abort(c, "TLS setup failed");
			return;
		}
	}
	handshake(c);
}

void
ftpdata_connected(struct conn *c)
{
	struct ftpdata *d = c->data;

	if (d->tls_in) {
		relay_run(c);
		return;
	}
	if ((c->s[1].tls = tls_conn_new(c->svc->cf->cctx, c->s[1].fd, c)) ==
	        NULL ||
	    tls_conn_set_psk(c->s[1].tls, FTPDATA_IDENTITY,
	        strlen(FTPDATA_IDENTITY), d->psk)) {
		relay_abort(c, "TLS setup failed");
		return;
	}
	c->state = CS_HANDSHAKE;
	handshake(c);
}

void
ftpdata_timeout(struct conn *c)
{
	log_ratelimited(&c->w->rl, LOG_INFO, "[%s] %s: FTP data connection: %s",
	    c->svc->name, c->name,
	    c->state == CS_CONNECT ? "connect timed out (backend_failures)"
	                           : "TLS handshake failed (hs_timeout)");
	stats_add(c->svc->st, c->w->id,
	    c->state == CS_CONNECT ? ST_BACKEND_FAIL : ST_HS_TIMEOUT, 1);
	relay_abort(c, "FTP data timeout");
}
