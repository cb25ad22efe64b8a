/*
 * kdcclient.c: the host side of the KDC protocol: clients, requests and
 * the non-blocking state machine that sends them (kdcclient.h).  Response
 * checks are in kdcclient_verify.c, helpers in kdcclient_util.c.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cryptgate/digest.h"
#include "cryptgate/hostkey.h"
#include "cryptgate/hostpub.h"
#include "cryptgate/kdcclient.h"
#include "cryptgate/log.h"
#include "cryptgate/mac.h"
#include "cryptgate/rand.h"
#include "cryptgate/secret.h"
#include "cryptgate/sign.h"
#include "cryptgate/wire.h"

#include "kdcclient_int.h"

static uint64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

struct kdcclient *
kdcclient_new(const struct kdcclient_config *cfg)
{
	struct kdcclient *kc;
	const char *name;
	size_t i;

	name =
	    cfg->kdc_name != NULL ? cfg->kdc_name : KDCCLIENT_KDCNAME_DEFAULT;
	if (cfg->key == NULL || cfg->kdc_pub == NULL) {
		log_warnx("kdcclient_new: no host key or no KDC public key");
		goto err0;
	}
	if (!kdcclient_kdc_name_is_valid(name)) {
		log_warnx("KDC name '%s' cannot be used in PSK identities: "
		          "use 1 to %d printable characters without ':' or "
		          "space",
		    name, KDCCLIENT_KDCNAME_MAX);
		goto err0;
	}
	if (cfg->naddrs == 0 || cfg->naddrs > KDCCLIENT_ADDRS_MAX ||
	    cfg->timeout_ms < 0) {
		log_warnx("kdcclient_new: need 1 to %d KDC addresses",
		    KDCCLIENT_ADDRS_MAX);
		goto err0;
	}
	for (i = 0; i < cfg->naddrs; i++) {
		if ((cfg->addrs[i].ss.ss_family != AF_INET &&
		        cfg->addrs[i].ss.ss_family != AF_INET6) ||
		    cfg->addrs[i].sslen == 0 ||
		    cfg->addrs[i].sslen > sizeof(struct sockaddr_storage)) {
			log_warnx("kdcclient_new: KDC address %zu is not an "
			          "IPv4 or IPv6 socket address",
			    i);
			goto err0;
		}
	}
	if ((kc = calloc(1, sizeof(*kc))) == NULL) {
		log_warn("kdcclient_new");
		goto err0;
	}
	kc->key = cfg->key;
	hostkey_public(cfg->key, &kc->self);
	kc->kvno = cfg->kvno != 0 ? cfg->kvno : WIRE_KVNO_FIRST;
	kc->kdc_pub[0] = *cfg->kdc_pub;
	if (cfg->kdc_pub_next != NULL) {
		kc->kdc_pub[1] = *cfg->kdc_pub_next;
		kc->has_next = true;
	}
	/* Imported once: every response is verified with them. */
	if ((kc->kdc_sign[0] = sign_pub_new(kc->kdc_pub[0].sign_pk)) == NULL ||
	    (kc->has_next &&
	        (kc->kdc_sign[1] = sign_pub_new(kc->kdc_pub[1].sign_pk)) ==
	            NULL)) {
		kdcclient_free(kc);
		goto err0;
	}
	memcpy(kc->kdc_name, name, strlen(name) + 1);
	memcpy(kc->addrs, cfg->addrs, cfg->naddrs * sizeof(cfg->addrs[0]));
	kc->naddrs = cfg->naddrs;
	kc->timeout_ms = cfg->timeout_ms != 0 ? cfg->timeout_ms
	                                      : KDCCLIENT_TIMEOUT_DEFAULT_MS;
	kc->attempts =
	    cfg->attempts != 0 ? cfg->attempts : (unsigned int)cfg->naddrs;

	/* Success! */
	return (kc);

err0:
	/* Failure! */
	return (NULL);
}

void
kdcclient_free(struct kdcclient *kc)
{
	if (kc == NULL)
		return;
	sign_pub_free(kc->kdc_sign[0]);
	sign_pub_free(kc->kdc_sign[1]);
	hostkey_free(kc->key_owned);
	free(kc);
}

const uint8_t *
kdcclient_host_id(const struct kdcclient *kc)
{
	return (kc->self.host_id);
}

const char *
kdcclient_kdc_name(const struct kdcclient *kc)
{
	return (kc->kdc_name);
}

/* A new op of ${type} for ${kc}, in state ST_NEXT. */
static struct kdcclient_op *
op_new(struct kdcclient *kc, unsigned int type)
{
	struct kdcclient_op *op;

	if ((op = calloc(1, sizeof(*op))) == NULL) {
		log_warn("kdcclient");
		return (NULL);
	}
	op->kc = kc;
	op->fd = -1;
	op->state = ST_NEXT;
	op->deadline = INT64_MAX;
	op->req.hdr.version = WIRE_VERSION;
	op->req.hdr.type = (uint8_t)type;
	op->req.hdr.suite = (uint8_t)hostkey_type(kc->key);
	return (op);
}

/* Set the sender fields of ${m}'s header: this host, or none (ENROLL). */
static void
set_sender(const struct kdcclient *kc, struct wire_msg *m)
{
	if (m->hdr.type == WIRE_ENROLL) {
		memset(m->hdr.sender_id, 0, WIRE_IDBYTES);
		m->hdr.signer_kvno = WIRE_KVNO_FIRST;
	} else {
		memcpy(m->hdr.sender_id, kc->self.host_id, WIRE_IDBYTES);
		m->hdr.signer_kvno = kc->kvno;
	}
}

/*
 * Fill in the header of ${m} for a new attempt (fresh nonce, current
 * time), encode and sign it into ${op}->out, and hash it.  Return 0 or -1
 * (logged).
 */
static int
build_frame(struct kdcclient_op *op, struct wire_msg *m)
{
	struct kdcclient *kc = op->kc;
	const uint8_t *sm;
	size_t smlen, maclen, macoff;

	set_sender(kc, m);
	m->hdr.timestamp = wall_ms();
	if (m->hdr.type == WIRE_ENROLL && op->has_token) {
		/* The token's public id, by which the KDC finds it. */
		memcpy(m->hdr.nonce, op->token_id, WIRE_NONCEBYTES);
	} else if (rand_bytes(m->hdr.nonce, WIRE_NONCEBYTES)) {
		log_warnx("kdcclient: no random nonce");
		return (-1);
	}
	if (wire_msg_encode(op->out, sizeof(op->out), &op->outlen, m))
		return (-1);
	if (m->hdr.type == WIRE_ENROLL && op->has_token) {
		/* enroll_mac = HMAC-SHA256(token, hdr || body before it). */
		if (wire_frame_enroll_mac(
		        op->out, op->outlen, &maclen, &macoff) ||
		    mac_hmac_sha256(op->out + macoff, op->token, WIRE_MACBYTES,
		        op->out + WIRE_LENBYTES, maclen)) {
			log_warnx("kdcclient: cannot compute the enrollment "
			          "MAC");
			return (-1);
		}
	}
	if (wire_frame_signed(op->out, op->outlen, &sm, &smlen) ||
	    hostkey_sign(kc->key, op->out + op->outlen - WIRE_SIGBYTES,
	        WIRE_CTX_REQUEST, sm, smlen) ||
	    wire_frame_hash(op->reqhash, op->out, op->outlen)) {
		log_warnx("kdcclient: cannot sign the request");
		return (-1);
	}
	op->outoff = 0;
	return (0);
}

/* Check that ${op}'s request encodes (once, at start; nothing is signed
 * before the first attempt). */
static struct kdcclient_op *
op_check(struct kdcclient_op *op)
{
	struct wire_msg m = op->req;

	if (op->req.hdr.suite != WIRE_SUITE_X25519 &&
	    op->req.hdr.suite != WIRE_SUITE_RSA) {
		log_warnx("kdcclient: unknown host key type");
		goto err;
	}
	set_sender(op->kc, &m);
	if (wire_msg_encode(op->out, sizeof(op->out), &op->outlen, &m))
		goto err;
	op->outlen = 0;
	return (op);

err:
	kdcclient_op_free(op);
	return (NULL);
}

struct kdcclient_op *
kdcclient_request_start(struct kdcclient *kc,
    const uint8_t peer_id[static WIRE_IDBYTES], const char *service,
    const struct wire_addr *client_addr, uint32_t lifetime)
{
	struct kdcclient_op *op;
	struct wire_request *r;

	if (!wire_name_is_valid(service, WIRE_SERVICE_MAX)) {
		log_warnx("invalid service name '%s': use 1 to %d characters "
		          "of A-Z a-z 0-9 . _ -",
		    service, WIRE_SERVICE_MAX);
		return (NULL);
	}
	if ((op = op_new(kc, WIRE_REQUEST)) == NULL)
		return (NULL);
	r = &op->req.u.request;
	memcpy(r->peer_id, peer_id, WIRE_IDBYTES);
	memcpy(r->service, service, strlen(service) + 1);
	if (client_addr != NULL) {
		r->client_addr = *client_addr;
	} else {
		/* Placeholder until connected: 127.0.0.1. */
		op->local_addr = true;
		r->client_addr.family = WIRE_AF_INET;
		r->client_addr.addr[10] = r->client_addr.addr[11] = 0xff;
		r->client_addr.addr[12] = 127;
		r->client_addr.addr[15] = 1;
	}
	r->lifetime = lifetime;
	return (op_check(op));
}

struct kdcclient_op *
kdcclient_retrieve_start(struct kdcclient *kc,
    const uint8_t key_id[static WIRE_KEYIDBYTES],
    const struct wire_addr *client_addr, const char *service)
{
	struct kdcclient_op *op;
	struct wire_retrieve *r;

	if (!wire_name_is_valid(service, WIRE_SERVICE_MAX)) {
		log_warnx("invalid service name '%s'", service);
		return (NULL);
	}
	if ((op = op_new(kc, WIRE_RETRIEVE)) == NULL)
		return (NULL);
	r = &op->req.u.retrieve;
	memcpy(r->key_id, key_id, WIRE_KEYIDBYTES);
	r->client_addr = *client_addr;
	memcpy(r->service, service, strlen(service) + 1);
	return (op_check(op));
}

struct kdcclient_op *
kdcclient_enroll_start(struct kdcclient *kc, const char *hostname,
    const struct wire_addr *addrs, size_t naddrs, const uint8_t *token)
{
	uint8_t digest[DIGEST_SHA256BYTES];
	struct kdcclient_op *op;
	struct wire_enroll *e;

	if (!wire_name_is_valid(hostname, WIRE_HOSTNAME_MAX)) {
		log_warnx("invalid host name '%s': use 1 to %d characters of "
		          "A-Z a-z 0-9 . _ -",
		    hostname, WIRE_HOSTNAME_MAX);
		return (NULL);
	}
	if (naddrs > WIRE_ADDRS_MAX) {
		log_warnx("too many addresses (at most %d)", WIRE_ADDRS_MAX);
		return (NULL);
	}
	if (kc->self.seal_pklen > WIRE_SEALPK_MAX) {
		log_warnx("this host's sealing key is too large to enroll");
		return (NULL);
	}
	if ((op = op_new(kc, WIRE_ENROLL)) == NULL)
		return (NULL);
	e = &op->req.u.enroll;
	memcpy(e->sig_pk, kc->self.sign_pk, WIRE_SIGNPKBYTES);
	e->seal_alg = op->req.hdr.suite;
	e->seal_pk.len = (uint16_t)kc->self.seal_pklen;
	memcpy(e->seal_pk.key, kc->self.seal_pk, kc->self.seal_pklen);
	memcpy(e->hostname, hostname, strlen(hostname) + 1);
	e->naddrs = (uint8_t)naddrs;
	if (naddrs > 0)
		memcpy(e->addrs, addrs, naddrs * sizeof(addrs[0]));
	if (token != NULL) {
		memcpy(op->token, token, WIRE_MACBYTES);
		op->has_token = true;
		if (digest_sha256(digest, token, WIRE_MACBYTES)) {
			kdcclient_op_free(op);
			return (NULL);
		}
		memcpy(op->token_id, digest, WIRE_NONCEBYTES);
	}
	return (op_check(op));
}

struct kdcclient_op *
kdcclient_revoke_start(struct kdcclient *kc, unsigned int kind,
    const uint8_t *id, unsigned int reason)
{
	struct kdcclient_op *op;
	struct wire_revoke *r;

	if ((kind != WIRE_REVOKE_MINE) != (id != NULL) ||
	    kind < WIRE_REVOKE_KEY || kind > WIRE_REVOKE_MINE ||
	    reason > WIRE_REASON_MAX) {
		log_warnx("kdcclient_revoke_start: invalid arguments");
		return (NULL);
	}
	if ((op = op_new(kc, WIRE_REVOKE)) == NULL)
		return (NULL);
	r = &op->req.u.revoke;
	r->kind = (uint8_t)kind;
	if (id != NULL)
		memcpy(r->id, id, WIRE_IDBYTES);
	r->reason = (uint8_t)reason;
	return (op_check(op));
}

struct kdcclient_op *
kdcclient_rotate_start(
    struct kdcclient *kc, const struct hostkey *newkey, uint16_t new_kvno)
{
	uint8_t pop[WIRE_IDBYTES + WIRE_SIGNPKBYTES + 5 + WIRE_SEALPK_MAX];
	struct kdcclient_op *op;
	struct wire_rotate *r;
	struct hostpub np;
	size_t poplen;

	hostkey_public(newkey, &np);
	if (new_kvno == 0 || np.seal_pklen > WIRE_SEALPK_MAX) {
		log_warnx("kdcclient_rotate_start: invalid arguments");
		return (NULL);
	}
	if ((op = op_new(kc, WIRE_ROTATE)) == NULL)
		return (NULL);
	r = &op->req.u.rotate;
	memcpy(r->new_sig_pk, np.sign_pk, WIRE_SIGNPKBYTES);
	r->seal_alg = (uint8_t)np.type;
	r->new_seal_pk.len = (uint16_t)np.seal_pklen;
	memcpy(r->new_seal_pk.key, np.seal_pk, np.seal_pklen);
	r->new_kvno = new_kvno;
	/* pop_sig: the new key signs host_id || the body before pop_sig. */
	if (wire_msg_pop(pop, sizeof(pop), &poplen, kc->self.host_id, r) ||
	    hostkey_sign(newkey, r->pop_sig, WIRE_CTX_ROTATE, pop, poplen)) {
		log_warnx("kdcclient: cannot sign the proof of possession");
		kdcclient_op_free(op);
		return (NULL);
	}
	return (op_check(op));
}

/* ${op} failed for good: set its message. */
static int op_fail(struct kdcclient_op *op, const char *fmt, ...)
    CG_PRINTF(2, 3);

static int
op_fail(struct kdcclient_op *op, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(op->err, sizeof(op->err), fmt, ap);
	va_end(ap);
	if (op->fd != -1) {
		close(op->fd);
		op->fd = -1;
	}
	op->state = ST_FAILED;
	op->deadline = INT64_MAX;
	return (KDCCLIENT_FAILED);
}

/* The current attempt failed with ${msg}: move on to the next. */
static void
attempt_fail(struct kdcclient_op *op, const char *msg)
{
	snprintf(op->errs[op->cur], sizeof(op->errs[op->cur]), "%s", msg);
	if (op->fd != -1) {
		close(op->fd);
		op->fd = -1;
	}
	op->state = ST_NEXT;
}

/* Every attempt failed: one line naming each address tried. */
static int
fail_all(struct kdcclient_op *op)
{
	char addr[64];
	size_t i, n, off = 0;
	int r;

	n = op->attempt < op->kc->naddrs ? op->attempt : op->kc->naddrs;
	op->err[0] = '\0';
	for (i = 0; i < n && off < sizeof(op->err); i++) {
		if (op->errs[i][0] == '\0')
			continue;
		kdcclient_format_sockaddr(addr, sizeof(addr),
		    &op->kc->addrs[i].ss, op->kc->addrs[i].sslen);
		r = snprintf(op->err + off, sizeof(op->err) - off,
		    "KDC at %s: %s; ", addr, op->errs[i]);
		if (r < 0)
			break;
		off += (size_t)r;
	}
	if (off < sizeof(op->err))
		snprintf(
		    op->err + off, sizeof(op->err) - off, "no KDC answered");
	if (op->fd != -1) {
		close(op->fd);
		op->fd = -1;
	}
	op->state = ST_FAILED;
	op->deadline = INT64_MAX;
	return (KDCCLIENT_FAILED);
}

/* Start attempt number ${op}->attempt: socket and connect. */
static void
attempt_start(struct kdcclient_op *op, int64_t now)
{
	const struct kdcclient_addr *a;

	op->cur = op->attempt % op->kc->naddrs;
	op->attempt++;
	a = &op->kc->addrs[op->cur];
	op->deadline = now + op->kc->timeout_ms;
	op->inlen = 0;
	op->inneed = WIRE_LENBYTES;
	op->fd = socket(a->ss.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (op->fd == -1) {
		attempt_fail(op, strerror(errno));
		return;
	}
	if (connect(op->fd, (const struct sockaddr *)&a->ss, a->sslen) == 0 ||
	    errno == EINPROGRESS || errno == EINTR) {
		op->state = ST_CONNECTING;
		return;
	}
	attempt_fail(
	    op, errno == ECONNREFUSED ? "connection refused" : strerror(errno));
}

/* Connected: build and sign this attempt's frame.  Return 0 or -1. */
static int
connected(struct kdcclient_op *op)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);

	op->sent = op->req;
	if (op->local_addr) {
		if (getsockname(op->fd, (struct sockaddr *)&ss, &sslen) == -1 ||
		    wire_addr_from_sockaddr(&op->sent.u.request.client_addr,
		        (const struct sockaddr *)&ss, sslen)) {
			op_fail(op,
			    "cannot get the local address of the "
			    "connection to the KDC: %s",
			    strerror(errno));
			return (-1);
		}
	}
	if (build_frame(op, &op->sent)) {
		op_fail(op, "cannot build the request (see above)");
		return (-1);
	}
	op->state = ST_WRITING;
	return (0);
}

/* A whole response is in: verify it and end ${op}. */
static int
finish(struct kdcclient_op *op)
{
	char addr[64];
	const char *why;

	close(op->fd);
	op->fd = -1;
	op->deadline = INT64_MAX;
	kdcclient_format_sockaddr(addr, sizeof(addr),
	    &op->kc->addrs[op->cur].ss, op->kc->addrs[op->cur].sslen);
	if ((why = kdcclient_verify_response(op)) != NULL) {
		memset(&op->res, 0, sizeof(op->res));
		if (op->session_key != NULL)
			secret_wipe(op->session_key, WIRE_SESSIONKEYBYTES);
		return (op_fail(op,
		    "KDC response failed verification: %s (from %s)", why,
		    addr));
	}
	snprintf(op->res.kdc_addr, sizeof(op->res.kdc_addr), "%s", addr);
	op->state = ST_DONE;
	return (KDCCLIENT_DONE);
}

/* ST_CONNECTING: is the connection established?  Return a status, or 0
 * to go on. */
static int
step_connecting(struct kdcclient_op *op, int64_t now)
{
	struct pollfd pfd = { .fd = op->fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int err = 0;

	if (poll(&pfd, 1, 0) == 0) {
		if (now < op->deadline)
			return (KDCCLIENT_WANT_WRITE);
		attempt_fail(op, "connection timed out");
		return (0);
	}
	if (getsockopt(op->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		err = errno;
	if (err != 0) {
		attempt_fail(op,
		    err == ECONNREFUSED ? "connection refused" : strerror(err));
		return (0);
	}
	if (connected(op))
		return (KDCCLIENT_FAILED);
	return (0);
}

/* ST_WRITING and ST_READING.  Return a status, or 0 to go on. */
static int
step_io(struct kdcclient_op *op, int64_t now)
{
	ssize_t n, total;

	if (op->state == ST_WRITING)
		n = send(op->fd, op->out + op->outoff, op->outlen - op->outoff,
		    MSG_NOSIGNAL);
	else
		n = recv(op->fd, op->in + op->inlen, op->inneed - op->inlen, 0);
	if (n == -1 && errno == EINTR)
		return (0);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		if (now < op->deadline)
			return (op->state == ST_WRITING ? KDCCLIENT_WANT_WRITE
			                                : KDCCLIENT_WANT_READ);
		attempt_fail(op,
		    op->state == ST_WRITING
		        ? "timed out sending the request"
		        : "timed out waiting for the answer");
		return (0);
	}
	if (n == -1) {
		attempt_fail(op, strerror(errno));
		return (0);
	}
	if (op->state == ST_WRITING) {
		op->outoff += (size_t)n;
		if (op->outoff == op->outlen)
			op->state = ST_READING;
		return (0);
	}
	if (n == 0) {
		attempt_fail(op,
		    op->inlen == 0 ? "connection closed without an answer"
		                   : "connection closed in the middle of the "
		                     "answer (truncated response)");
		return (0);
	}
	op->inlen += (size_t)n;
	if (op->inlen < op->inneed)
		return (0);
	if (op->inneed == WIRE_LENBYTES) {
		total = wire_frame_peek_len(op->in);
		if (total == -1 || (size_t)total > sizeof(op->in)) {
			close(op->fd);
			op->fd = -1;
			return (op_fail(op,
			    "KDC response failed verification: bad frame "
			    "length"));
		}
		op->inneed = (size_t)total;
		return (0);
	}
	return (finish(op));
}

int
kdcclient_step(struct kdcclient_op *op, int64_t now)
{
	int r;

	for (;;) {
		switch (op->state) {
		case ST_DONE:
			return (KDCCLIENT_DONE);
		case ST_FAILED:
			return (KDCCLIENT_FAILED);
		case ST_NEXT:
			if (op->attempt >= op->kc->attempts)
				return (fail_all(op));
			attempt_start(op, now);
			break;
		case ST_CONNECTING:
			if ((r = step_connecting(op, now)) != 0)
				return (r);
			break;
		case ST_WRITING:
		case ST_READING:
			if ((r = step_io(op, now)) != 0)
				return (r);
			break;
		}
	}
}

int
kdcclient_fd(const struct kdcclient_op *op)
{
	return (op->fd);
}

int64_t
kdcclient_deadline(const struct kdcclient_op *op)
{
	return (op->deadline);
}

int
kdcclient_run(struct kdcclient_op *op)
{
	struct pollfd pfd;
	int64_t now, wait;
	int r;

	for (;;) {
		now = kdcclient_now_ms();
		r = kdcclient_step(op, now);
		if (r == KDCCLIENT_DONE)
			return (0);
		if (r == KDCCLIENT_FAILED)
			return (-1);
		pfd.fd = op->fd;
		pfd.events = r == KDCCLIENT_WANT_READ ? POLLIN : POLLOUT;
		pfd.revents = 0;
		wait = op->deadline - now;
		if (wait < 0)
			wait = 0;
		if (wait > INT_MAX)
			wait = INT_MAX;
		if (poll(&pfd, 1, (int)wait) == -1 && errno != EINTR) {
			op_fail(op, "poll: %s", strerror(errno));
			return (-1);
		}
	}
}

const struct kdcclient_result *
kdcclient_result(const struct kdcclient_op *op)
{
	return (op->state == ST_DONE ? &op->res : NULL);
}

const char *
kdcclient_error(const struct kdcclient_op *op)
{
	return (op->state == ST_FAILED ? op->err : "");
}

void
kdcclient_op_free(struct kdcclient_op *op)
{
	if (op == NULL)
		return;
	if (op->fd != -1)
		close(op->fd);
	secret_free(op->session_key, WIRE_SESSIONKEYBYTES);
	secret_wipe(op, sizeof(*op));
	free(op);
}
