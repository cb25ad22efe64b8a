/*
 * service.c: what each role does before the relay starts.
 *
 * Server: TLS on the accepted socket; the PSK callback takes the key from
 * key_file (KDC-less: any identity of the file, no address binding) or
 * from keys.c (cache or RETRIEVE, with the client's address); the
 * handshake pauses (TLS_WANT_PSK) while the KDC answers.  Only after
 * TLS_OK does the gateway connect to the backend, so not one byte reaches
 * it from a client that did not complete the handshake; then the PROXY
 * v2 header if configured, then the relay.
 *
 * Client: a key (key_file, or the service's key slot, REQUEST to the KDC
 * once per key lifetime), a connection to the remote gateway, the
 * handshake, the relay.  Transparent: the original destination
 * (SO_ORIGINAL_DST) must be one of the service's destinations; the
 * encrypted connection goes to its address on secured_port, marked so
 * that our REDIRECT rules leave it alone.
 *
 * Failures before the relay: a handshake failure is counted by reason and
 * closes the connection; on the client side the local program's
 * connection is reset, so that it sees an error.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cryptgate/secret.h"

#include "gatewayd.h"

static void server_handshake(struct conn *c);
static void client_handshake(struct conn *c);
static void client_key(struct conn *c);

void
service_refuse(
    struct conn *c, enum stat_id why, const char *identity, const char *detail)
{
	c->refusal = why;
	free(c->refused_id);
	free(c->refusal_detail);
	/* Out of memory: the line says less, nothing worse. */
	c->refused_id = identity != NULL ? strdup(identity) : NULL;
	c->refusal_detail = detail != NULL ? strdup(detail) : NULL;
}

/*
 * The one line of ${c}'s failed handshake, counted as ${why}: the identity
 * refused and why if the PSK lookup refused it, else the identity offered
 * (if printable) and the TLS error ${err}.
 */
static void
hs_log(struct conn *c, struct tls_conn *tls, enum stat_id why, const char *err)
{
	const char *svc = c->svc->name, *reason = stats_reason_name(why);
	const char *id = tls != NULL ? tls_conn_identity(tls) : NULL;
	const char *detail =
	    c->refusal_detail != NULL ? c->refusal_detail : err;

	if (c->refused_id != NULL && why == ST_HS_KDC_DOWN)
		log_ratelimited(&c->w->rl, LOG_WARNING,
		    "[%s] KDC unreachable: refusing identity %s from %s (%s): "
		    "%s",
		    svc, c->refused_id, c->name, reason, detail);
	else if (c->refused_id != NULL)
		log_ratelimited(&c->w->rl, LOG_NOTICE,
		    "[%s] refusing identity %s from %s (%s): %s", svc,
		    c->refused_id, c->name, reason, detail);
	else if (c->refusal_detail == NULL && id != NULL &&
	    keycfg_identity_is_valid(id))
		log_ratelimited(&c->w->rl, LOG_NOTICE,
		    "[%s] %s: TLS handshake failed (%s): identity %s: %s", svc,
		    c->name, reason, id, detail);
	else
		log_ratelimited(&c->w->rl, LOG_NOTICE,
		    "[%s] %s: TLS handshake failed (%s): %s", svc, c->name,
		    reason, detail);
}

/* The handshake of ${c} failed: count the reason, log one line, close. */
static void
hs_failed(struct conn *c, struct tls_conn *tls)
{
	enum stat_id why;

	const char *err = tls != NULL ? tls_conn_error(tls) : "";

	if (c->refusal != 0)
		why = c->refusal;
	else if (c->svc->role != ROLE_SERVER)
		/* What the server's alert says. */
		why = strstr(err, "unknown psk") != NULL ? ST_HS_UNKNOWN
		    : strstr(err, "decrypt") != NULL     ? ST_HS_BAD_PSK
		                                         : ST_HS_OTHER;
	else if (c->psk_given)
		/* A key was found for the identity: it was the wrong key only
		 * if the client's binder failed; anything else (a dropped
		 * connection, garbage after the hello) is not a key problem. */
		why =
		    strstr(err, "binder") != NULL ? ST_HS_BAD_PSK : ST_HS_OTHER;
	else if (!c->lookup_called)
		why = ST_HS_MALFORMED;
	else
		why = ST_HS_OTHER;
	hs_log(c, tls, why, tls != NULL ? err : "no TLS connection");
	if (c->svc->role == ROLE_SERVER) {
		relay_close(c, why, "handshake failed");
	} else {
		stats_add(c->svc->st, c->w->id, why, 1);
		if (tls != NULL)
			keyslot_failed(c, tls_conn_identity(tls));
		relay_abort(c, "handshake failed");
	}
}

/* --- server role -------------------------------------------------------- */

enum tls_psk_status
service_psk_lookup(void *arg, struct tls_conn *tc, const uint8_t *identity,
    size_t idlen, uint8_t psk[static TLS_PSKBYTES])
{
	struct conn *c = tls_conn_user(tc);
	struct service *svc = c->svc;
	char id[TLS_IDENTITYBYTES_MAX + 1];
	uint8_t key_id[WIRE_KEYIDBYTES];
	const uint8_t *k;
	enum stat_id why = ST_HS_OTHER;
	char detail[128];

	(void)arg;
	if (c->data != NULL)
		return (ftpdata_psk(c, identity, idlen, psk));
	c->lookup_called = true;
	if (idlen == 0 || idlen > TLS_IDENTITYBYTES_MAX) {
		service_refuse(
		    c, ST_HS_MALFORMED, NULL, "invalid PSK identity");
		return (TLS_PSK_NOTFOUND);
	}
	memcpy(id, identity, idlen);
	id[idlen] = '\0';
	if (!keycfg_identity_is_valid(id)) {
		/* Not printed: it may hold any bytes. */
		service_refuse(c, ST_HS_MALFORMED, NULL,
		    "invalid PSK identity (not printable ASCII or has ':')");
		return (TLS_PSK_NOTFOUND);
	}
	if (svc->keys != NULL) {
		if ((k = keycfg_find(svc->keys, id)) == NULL) {
			service_refuse(c, ST_HS_UNKNOWN, id, "not in key_file");
			return (TLS_PSK_NOTFOUND);
		}
		memcpy(psk, k, TLS_PSKBYTES);
		c->psk_given = true;
		return (TLS_PSK_FOUND);
	}
	if (kdcclient_identity_parse(
	        id, kdcclient_kdc_name(svc->cf->kc), key_id)) {
		snprintf(detail, sizeof(detail), "not an identity of KDC %s",
		    kdcclient_kdc_name(svc->cf->kc));
		service_refuse(c, ST_HS_UNKNOWN, id, detail);
		return (TLS_PSK_NOTFOUND);
	}
	switch (keys_server(c, key_id, id, psk, &why)) {
	case KEYS_FOUND:
		c->psk_given = true;
		return (TLS_PSK_FOUND);
	case KEYS_PENDING:
		return (TLS_PSK_PENDING);
	case KEYS_REFUSED:
		break;
	}
	/* keys_server called service_refuse (the same ${why}). */
	c->refusal = why;
	return (TLS_PSK_NOTFOUND);
}

void
service_psk_answered(struct conn *c, const char *identity, const uint8_t *psk,
    enum stat_id why, const char *detail)
{
	struct tls_conn *tls = c->s[0].tls;

	if (c->state != CS_PSK)
		return;
	if (psk != NULL &&
	    tls_conn_set_psk(tls, identity, strlen(identity), psk) == 0) {
		c->psk_given = true;
	} else if (psk != NULL) {
		service_refuse(c, ST_HS_OTHER, identity, "TLS setup failed");
		tls_conn_refuse_psk(tls);
	} else {
		service_refuse(c, why, identity, detail);
		tls_conn_refuse_psk(tls);
	}
	c->state = CS_HANDSHAKE;
	server_handshake(c);
}

/* Send the PROXY v2 header on the new backend connection. */
static int
proxy_header(struct conn *c)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	uint8_t hdr[PROXY_V2_MAXBYTES];
	ssize_t n;
	int hl;

	if (getsockname(c->s[0].fd, (struct sockaddr *)&local, &len) == -1)
		len = 0;
	hl = proxy_v2_header(hdr, sizeof(hdr), (struct sockaddr *)&c->peer,
	    c->peerlen, len > 0 ? (struct sockaddr *)&local : NULL, len);
	if (hl <= 0)
		return (-1);
	/* A new socket's buffer is empty: this cannot block. */
	do {
		n = send(c->s[1].fd, hdr, (size_t)hl, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	return (n == hl ? 0 : -1);
}

static void
server_handshake(struct conn *c)
{
	struct service *svc = c->svc;

	switch (tls_handshake(c->s[0].tls)) {
	case TLS_OK:
		stats_add(svc->st, c->w->id, ST_HS_OK, 1);
		log_debug("[%s] %s: handshake done, identity %s, %s", svc->name,
		    c->name, tls_conn_identity(c->s[0].tls),
		    tls_conn_cipher(c->s[0].tls));
		if (relay_connect(
		        c, (struct sockaddr *)&svc->target, svc->targetlen, 0))
			relay_abort(c, "backend connect failed");
		return;
	case TLS_WANT_READ:
	case TLS_WANT_WRITE:
		return;
	case TLS_WANT_PSK:
		c->state = CS_PSK;
		return;
	default:
		hs_failed(c, c->s[0].tls);
		return;
	}
}

/* --- client roles ------------------------------------------------------- */

static void
client_handshake(struct conn *c)
{
	switch (tls_handshake(c->s[1].tls)) {
	case TLS_OK:
		stats_add(c->svc->st, c->w->id, ST_HS_OK, 1);
		log_debug("[%s] %s: handshake done, %s", c->svc->name, c->name,
		    tls_conn_cipher(c->s[1].tls));
		relay_run(c);
		return;
	case TLS_WANT_READ:
	case TLS_WANT_WRITE:
		return;
	default:
		hs_failed(c, c->s[1].tls);
		return;
	}
}

/* Connect to the remote gateway with ${identity} and ${psk}. */
static void
client_go(struct conn *c, const char *identity, const uint8_t *psk)
{
	struct service *svc = c->svc;
	const struct sockaddr *sa = (const struct sockaddr *)&svc->target;
	socklen_t salen = svc->targetlen;
	int mark = 0;

	if (svc->role == ROLE_TRANSPARENT) {
		sa = (const struct sockaddr *)&c->dst;
		salen = c->dstlen;
		mark = GW_MARK;
	}
	if (relay_connect(c, sa, salen, mark)) {
		relay_abort(c, "connect failed");
		return;
	}
	if ((c->s[1].tls = tls_conn_new(svc->cf->cctx, c->s[1].fd, c)) ==
	        NULL ||
	    tls_conn_set_psk(c->s[1].tls, identity, strlen(identity), psk)) {
		relay_abort(c, "TLS setup failed");
		return;
	}
}

static void
client_key(struct conn *c)
{
	char identity[KDCCLIENT_IDENTITYBYTES];
	uint8_t psk[TLS_PSKBYTES];
	enum stat_id why = ST_HS_OTHER;

	c->state = CS_KEY;
	if (c->svc->keys != NULL) {
		client_go(c, c->svc->identity, c->svc->psk);
		return;
	}
	switch (keyslot_get(c, identity, sizeof(identity), psk, &why)) {
	case KEYS_FOUND:
		client_go(c, identity, psk);
		secret_wipe(psk, sizeof(psk));
		return;
	case KEYS_PENDING:
		return;
	case KEYS_REFUSED:
		break;
	}
	stats_add(c->svc->st, c->w->id, why, 1);
	relay_abort(c, "no key");
}

void
service_key_ready(struct conn *c)
{
	if (c->state == CS_KEY)
		client_key(c);
}

/* Same family, address and port. */
static bool
sa_equal(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return (false);
	if (a->ss_family == AF_INET)
		return (a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr);
	if (a->ss_family == AF_INET6)
		return (a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0);
	return (false);
}

/* The transparent service's destination ${ss}: its index, or -1. */
static int
dest_index(const struct service *svc, const struct sockaddr_storage *ss)
{
	size_t i;

	for (i = 0; i < svc->ndest; i++) {
		if (sa_equal(&svc->dest[i].ss, ss))
			return ((int)i);
	}
	return (-1);
}

static void
transparent_start(struct conn *c)
{
	struct service *svc = c->svc;
	struct sockaddr_in *sin = (struct sockaddr_in *)&c->dst;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&c->dst;
	char name[SOCK_ADDRSTRLEN];
	int i;

	if (transparent_original_dst(c->s[0].fd, &c->dst, &c->dstlen)) {
		log_ratelimited(&c->w->rl, LOG_NOTICE,
		    "[%s] %s: connection refused: not a redirected connection "
		    "(no original destination)",
		    svc->name, c->name);
		relay_abort(c, "no original destination");
		return;
	}
	if ((i = dest_index(svc, &c->dst)) == -1) {
		log_ratelimited(&c->w->rl, LOG_NOTICE,
		    "[%s] %s: connection refused: original destination %s is "
		    "not a destination of this service",
		    svc->name, c->name,
		    sock_format(name, sizeof(name), (struct sockaddr *)&c->dst,
		        c->dstlen));
		relay_abort(c, "unknown destination");
		return;
	}
	c->src = svc->dest_src[i];
	if (c->dst.ss_family == AF_INET)
		sin->sin_port = htons(svc->secured_port);
	else
		sin6->sin6_port = htons(svc->secured_port);
	client_key(c);
}

/* --- dispatch ----------------------------------------------------------- */

void
service_start(struct conn *c)
{
	struct service *svc = c->svc;

	if (c->data != NULL) {
		ftpdata_start(c);
		return;
	}
	switch (svc->role) {
	case ROLE_SERVER:
		/* The TLS state comes with the first bytes (server_first). */
		c->state = CS_HANDSHAKE;
		return;
	case ROLE_CLIENT:
		c->src = svc->src;
		client_key(c);
		return;
	case ROLE_TRANSPARENT:
		transparent_start(c);
		return;
	}
}

/*
 * Server: the first bytes arrived.  The TLS state (tens of KiB with its
 * buffers) is only made now, so that connections that send nothing cost
 * little until their handshake timeout.
 */
static void
server_first(struct conn *c)
{
	if (!(c->s[0].ready & EVLOOP_IN))
		return;
	if ((c->s[0].tls = tls_conn_new(c->svc->cf->sctx, c->s[0].fd, c)) ==
	    NULL) {
		relay_close(c, ST_HS_OTHER, "TLS setup failed");
		return;
	}
	server_handshake(c);
}

void
service_event(struct conn *c, int i)
{
	if (c->data != NULL) {
		ftpdata_event(c, i);
		return;
	}
	if (c->state != CS_HANDSHAKE)
		return;
	if (c->svc->role == ROLE_SERVER && i == 0 && c->s[0].tls == NULL)
		server_first(c);
	else if (c->svc->role == ROLE_SERVER && i == 0)
		server_handshake(c);
	else if (c->svc->role != ROLE_SERVER && i == 1)
		client_handshake(c);
}

void
service_connected(struct conn *c)
{
	if (c->data != NULL) {
		ftpdata_connected(c);
		return;
	}
	if (c->svc->role == ROLE_SERVER) {
		if (c->svc->proxy_protocol && proxy_header(c)) {
			stats_add(c->svc->st, c->w->id, ST_BACKEND_FAIL, 1);
			relay_abort(c, "PROXY header not sent");
			return;
		}
		relay_run(c);
		return;
	}
	c->state = CS_HANDSHAKE;
	client_handshake(c);
}

void
service_timeout(struct conn *c)
{
	char to[SOCK_ADDRSTRLEN];

	if (c->data != NULL) {
		ftpdata_timeout(c);
		return;
	}
	if (c->state == CS_CONNECT) {
		stats_add(c->svc->st, c->w->id, ST_BACKEND_FAIL, 1);
		if (c->to != NULL)
			sock_format(to, sizeof(to), c->to, c->tolen);
		else
			snprintf(to, sizeof(to), "?");
		log_ratelimited(&c->w->rl, LOG_WARNING,
		    "[%s] %s: connecting to the %s %s timed out "
		    "(backend_failures)",
		    c->svc->name, c->name,
		    c->svc->role == ROLE_SERVER ? "backend" : "remote gateway",
		    to);
		relay_abort(c, "connect timeout");
		return;
	}
	log_ratelimited(&c->w->rl, LOG_NOTICE,
	    "[%s] %s: TLS handshake failed (hs_timeout): not done within "
	    "handshake_timeout%s",
	    c->svc->name, c->name,
	    c->state == CS_PSK       ? " (the KDC has not answered)"
	        : c->state == CS_KEY ? " (no key from the KDC yet)"
	                             : "");
	if (c->svc->role == ROLE_SERVER) {
		relay_close(c, ST_HS_TIMEOUT, "handshake timeout");
	} else {
		stats_add(c->svc->st, c->w->id, ST_HS_TIMEOUT, 1);
		relay_abort(c, "handshake timeout");
	}
}
