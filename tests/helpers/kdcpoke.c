/*
 * kdcpoke: a test client for cryptgate-kdcd that can also misbehave.  It
 * builds one KDC request with the wire API, signed with a host key file,
 * optionally corrupts it, sends it to the KDC and prints what came back as
 * one machine-checkable line on stdout:
 *
 *   REQUEST_RESP ok key_id=HEX not_before=MS not_after=MS psk=HEX
 *   RETRIEVE_RESP ok key_id=HEX not_after=MS requester=HEX psk=HEX
 *   REVOKE_RESP ok count=N
 *   ERROR NAME kdc_time=MS retry_after=S
 *   BADRESP WHAT        (an answer that fails the client checks)
 *   closed after=SECONDS [sent=BYTES]
 *   timeout [sent=BYTES]
 *   connect-failed
 *
 * Every answer is checked as a client must (docs/PROTOCOL.md, "Client
 * processing"): strict decoding, type, echoed nonce and suite, KDC id and
 * signature under the pinned key, req_hash, and the sealed key opens; psk
 * is the TLS PSK derived from the session key (the value in key.cfg).
 *
 * Usage: kdcpoke -a IP:PORT -k HOST.key -K KDC.pub [options] COMMAND
 *   request  --peer HEXID --service SVC [--client-addr IP] [--lifetime S]
 *   retrieve --key-id HEX --service SVC --client-addr IP
 *            (--keys FILE instead of --key-id: one RETRIEVE per line of
 *            FILE, its first word the key id; one result line each)
 *   revoke   --key-id HEX | --all
 *   idle     (connect, send nothing)
 *   send FILE (send the bytes of FILE, e.g. a frame saved with --save)
 * Corruptions: --truncate N, --len-prefix N, --garbage N, --garbage-framed N,
 * --flip BIT, --version V, --type T, --suite S, --flags F, --kvno N,
 * --sender HEXID, --sign-key FILE, --bad-sig, --ts-offset SECONDS,
 * --repeat exact|nonce (a second request on a new connection: the same
 * bytes, or a new request reusing the nonce), --slow SECONDS (one byte a
 * second), --shut (half-close after sending), --save FILE.
 * Modes: --loop SECONDS (repeat until then, one line per attempt),
 * --timeout SECONDS (for the answer, default 10), -v (sizes and types on
 * stderr).
 * Exit: 0 when a result line was printed, 1 on a local error, 2 usage.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cryptgate/encode.h"
#include "cryptgate/file.h"
#include "cryptgate/hkdf.h"
#include "cryptgate/hostkey.h"
#include "cryptgate/hostpub.h"
#include "cryptgate/log.h"
#include "cryptgate/rand.h"
#include "cryptgate/secret.h"
#include "cryptgate/wire.h"

#define PSK_LABEL "cryptgate tls13 psk"
#define NOTSET (-1L)

enum cmd { CMD_REQUEST, CMD_RETRIEVE, CMD_REVOKE, CMD_IDLE, CMD_SEND };

struct opts {
	const char *addr, *keyfile, *kdcpub, *signkey, *save, *sendfile;
	const char *peer, *service, *client_addr, *key_id, *sender, *repeat;
	const char *keys;
	enum cmd cmd;
	long lifetime, truncate, len_prefix, garbage, garbage_framed, flip;
	long version, type, suite, flags, kvno, slow, loop;
	double ts_offset, timeout;
	int bad_sig, shut, all, verbose;
};

static struct opts o;
static struct hostkey *hk, *signhk;
static struct hostpub me, kdc;

static void
usage(void)
{
	fprintf(stderr,
	    "usage: kdcpoke -a IP:PORT -k HOST.key -K KDC.pub [options] "
	    "request|retrieve|revoke|idle|send FILE\n"
	    "(see the comment at the top of tests/helpers/kdcpoke.c)\n");
	exit(2);
}

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

static uint64_t
unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static void
hex(char *dst, size_t size, const uint8_t *src, size_t len)
{
	if (encode_hex(dst, size, src, len) != 0)
		snprintf(dst, size, "?");
}

static int
unhex_exact(uint8_t *dst, size_t len, const char *s)
{
	size_t n;

	if (s == NULL || strlen(s) != 2 * len ||
	    encode_unhex(dst, len, &n, s, strlen(s)) != 0 || n != len)
		return (-1);
	return (0);
}

static int
parse_ip(struct wire_addr *a, const char *s)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, s, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		return (wire_addr_from_sockaddr(
		    a, (struct sockaddr *)&sin, sizeof(sin)));
	}
	if (inet_pton(AF_INET6, s, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		return (wire_addr_from_sockaddr(
		    a, (struct sockaddr *)&sin6, sizeof(sin6)));
	}
	return (-1);
}

/* Connect to o.addr ("IP:PORT" or "[IPv6]:PORT") within the timeout. */
static int
net_connect(void)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	char host[64];
	const char *colon;
	struct pollfd pfd;
	socklen_t sslen, elen = sizeof(int);
	int fd = -1, e = 0, port;

	memset(&ss, 0, sizeof(ss));
	colon = strrchr(o.addr, ':');
	if (colon == NULL || (size_t)(colon - o.addr) >= sizeof(host))
		goto err;
	port = atoi(colon + 1);
	if (o.addr[0] == '[')
		snprintf(host, sizeof(host), "%.*s", (int)(colon - o.addr - 2),
		    o.addr + 1);
	else
		snprintf(
		    host, sizeof(host), "%.*s", (int)(colon - o.addr), o.addr);
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		sslen = sizeof(*sin6);
	} else
		goto err;
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		goto err;
	if (connect(fd, (struct sockaddr *)&ss, sslen) == -1) {
		if (errno != EINPROGRESS)
			goto err;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, (int)(o.timeout * 1000)) != 1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) == -1 ||
		    e != 0)
			goto err;
	}

	/* Success! */
	return (fd);
err:
	if (fd != -1)
		close(fd);
	return (-1);
}

/* Send all of buf before the deadline; -1 if the peer closed or timeout. */
static int
send_all(int fd, const uint8_t *buf, size_t len, double deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	ssize_t n;

	while (len > 0) {
		n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			return (-1);
		if (mono_now() >= deadline ||
		    poll(&pfd, 1, (int)((deadline - mono_now()) * 1000) + 1) <
		        0)
			return (-1);
	}
	return (0);
}

/*
 * Read one frame before the deadline.  Return 1 with a frame in buf, 0 if
 * the connection was closed (or reset), -2 on timeout, -3 if the length
 * prefix that came is out of bounds.
 */
static int
recv_frame(int fd, uint8_t *buf, size_t *len, double deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0, want = WIRE_LENBYTES;
	ssize_t n, total;
	double left;

	while (got < want) {
		left = deadline - mono_now();
		if (left <= 0)
			return (-2);
		if (poll(&pfd, 1, (int)(left * 1000) + 1) == 0)
			continue;
		n = recv(fd, buf + got, want - got, 0);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			return (0);
		if (n < 0)
			continue;
		got += (size_t)n;
		if (got == WIRE_LENBYTES && want == WIRE_LENBYTES) {
			if ((total = wire_frame_peek_len(buf)) < 0)
				return (-3);
			want = (size_t)total;
		}
	}
	*len = got;
	return (1);
}

/* Wait until the peer closes; 1 closed, -2 timeout (data is discarded). */
static int
wait_close(int fd, double deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint8_t buf[512];
	double left;
	ssize_t n;

	for (;;) {
		left = deadline - mono_now();
		if (left <= 0)
			return (-2);
		if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			return (1);
	}
}

/*
 * Build the request of o.cmd with nonce ${nonce} (random if NULL); a
 * REQUEST's client address is o.client_addr or else ${local}.
 */
static int
build(uint8_t *frame, size_t *len, const uint8_t *nonce,
    const struct wire_addr *local)
{
	struct wire_msg m;
	uint8_t *p;
	size_t mlen;
	int64_t ts;

	memset(&m, 0, sizeof(m));
	m.hdr.version = WIRE_VERSION;
	m.hdr.suite = hostkey_type(hk) == HOSTKEY_RSA ? WIRE_SUITE_RSA
	                                              : WIRE_SUITE_X25519;
	m.hdr.signer_kvno = WIRE_KVNO_FIRST;
	memcpy(m.hdr.sender_id, me.host_id, WIRE_IDBYTES);
	ts = (int64_t)unix_ms() + (int64_t)(o.ts_offset * 1000);
	m.hdr.timestamp = ts < 0 ? 0 : (uint64_t)ts;
	if (nonce != NULL)
		memcpy(m.hdr.nonce, nonce, WIRE_NONCEBYTES);
	else if (rand_bytes(m.hdr.nonce, WIRE_NONCEBYTES) != 0)
		return (-1);
	if (o.service != NULL && strlen(o.service) > WIRE_SERVICE_MAX)
		goto bad;
	switch (o.cmd) {
	case CMD_REQUEST:
		m.hdr.type = WIRE_REQUEST;
		if (unhex_exact(m.u.request.peer_id, WIRE_IDBYTES, o.peer) !=
		        0 ||
		    o.service == NULL)
			goto bad;
		strcpy(m.u.request.service, o.service);
		m.u.request.lifetime =
		    o.lifetime == NOTSET ? 0 : (uint32_t)o.lifetime;
		m.u.request.client_addr = *local;
		if (o.client_addr != NULL &&
		    parse_ip(&m.u.request.client_addr, o.client_addr) != 0)
			goto bad;
		break;
	case CMD_RETRIEVE:
		m.hdr.type = WIRE_RETRIEVE;
		if (unhex_exact(
		        m.u.retrieve.key_id, WIRE_KEYIDBYTES, o.key_id) != 0 ||
		    o.service == NULL || o.client_addr == NULL ||
		    parse_ip(&m.u.retrieve.client_addr, o.client_addr) != 0)
			goto bad;
		strcpy(m.u.retrieve.service, o.service);
		break;
	case CMD_REVOKE:
		m.hdr.type = WIRE_REVOKE;
		m.u.revoke.kind = o.all ? WIRE_REVOKE_MINE : WIRE_REVOKE_KEY;
		if (!o.all &&
		    unhex_exact(m.u.revoke.id, WIRE_KEYIDBYTES, o.key_id) != 0)
			goto bad;
		break;
	default:
		return (-1);
	}
	if (wire_msg_encode(frame, WIRE_FRAMEBYTES_MAX, len, &m) != 0)
		return (-1);

	/* Header tampering, then a (valid) signature over the result. */
	p = frame + WIRE_LENBYTES;
	if (o.version != NOTSET)
		p[WIRE_HDR_VERSION] = (uint8_t)o.version;
	if (o.type != NOTSET)
		p[WIRE_HDR_TYPE] = (uint8_t)o.type;
	if (o.suite != NOTSET)
		p[WIRE_HDR_SUITE] = (uint8_t)o.suite;
	if (o.flags != NOTSET)
		p[WIRE_HDR_FLAGS] = (uint8_t)o.flags;
	if (o.kvno != NOTSET) {
		p[WIRE_HDR_KVNO] = (uint8_t)(o.kvno >> 8);
		p[WIRE_HDR_KVNO + 1] = (uint8_t)o.kvno;
	}
	if (o.sender != NULL &&
	    unhex_exact(p + WIRE_HDR_SENDER, WIRE_IDBYTES, o.sender) != 0)
		goto bad;
	mlen = *len - WIRE_LENBYTES - WIRE_SIGBYTES;
	if (hostkey_sign(signhk, frame + *len - WIRE_SIGBYTES,
	        wire_type_is_response(p[WIRE_HDR_TYPE]) ? WIRE_CTX_RESPONSE
	                                                : WIRE_CTX_REQUEST,
	        p, mlen) != 0)
		return (-1);
	if (o.bad_sig)
		frame[*len - 1] ^= 0x01;

	/* Success! */
	return (0);
bad:
	fprintf(stderr, "kdcpoke: bad or missing arguments\n");
	return (-1);
}

/* Frame corruptions applied after signing. */
static int
corrupt(uint8_t *frame, size_t *len)
{
	uint32_t v;

	if (o.garbage != NOTSET || o.garbage_framed != NOTSET) {
		*len = (size_t)(o.garbage != NOTSET ? o.garbage
		                                    : o.garbage_framed);
		if (*len > WIRE_FRAMEBYTES_MAX + 4096 ||
		    rand_bytes(frame, *len) != 0)
			return (-1);
		/* An unknown suite: the ERROR must then say suite 1. */
		if (*len > WIRE_LENBYTES + WIRE_HDR_SUITE)
			frame[WIRE_LENBYTES + WIRE_HDR_SUITE] = 0x7f;
		if (o.garbage_framed != NOTSET && *len >= WIRE_LENBYTES) {
			v = (uint32_t)(*len - WIRE_LENBYTES);
			frame[0] = v >> 24;
			frame[1] = v >> 16;
			frame[2] = v >> 8;
			frame[3] = v;
		}
	}
	if (o.flip != NOTSET) {
		if ((size_t)o.flip >= *len * 8)
			return (-1);
		frame[o.flip / 8] ^= (uint8_t)(1u << (o.flip % 8));
	}
	if (o.len_prefix != NOTSET) {
		v = (uint32_t)o.len_prefix;
		frame[0] = v >> 24;
		frame[1] = v >> 16;
		frame[2] = v >> 8;
		frame[3] = v;
	}
	if (o.truncate != NOTSET && (size_t)o.truncate < *len)
		*len = (size_t)o.truncate;
	return (0);
}

/* The session key in a response frame, then the PSK derived from it. */
static int
open_psk(const uint8_t *r, size_t rlen, unsigned int role,
    const uint8_t *key_id, char *pskhex, size_t pskhexsize)
{
	uint8_t info[WIRE_SEAL_INFOBYTES], sk[WIRE_SESSIONKEYBYTES], psk[32];
	uint8_t pinfo[sizeof(PSK_LABEL) - 1 + WIRE_KEYIDBYTES];
	size_t aadlen, bloboff, sklen;
	int rc = -1;

	if (wire_frame_sealed(r, rlen, &aadlen, &bloboff) != 0 ||
	    wire_seal_info(info, role, key_id, me.host_id) != 0 ||
	    hostkey_open(hk, sk, sizeof(sk), &sklen, r + bloboff,
	        wire_sealed_bytes(r[WIRE_LENBYTES + WIRE_HDR_SUITE]), info,
	        sizeof(info), r + WIRE_LENBYTES, aadlen) != 0 ||
	    sklen != sizeof(sk))
		goto err;
	memcpy(pinfo, PSK_LABEL, sizeof(PSK_LABEL) - 1);
	memcpy(pinfo + sizeof(PSK_LABEL) - 1, key_id, WIRE_KEYIDBYTES);
	if (hkdf_expand(
	        psk, sizeof(psk), sk, sizeof(sk), pinfo, sizeof(pinfo)) != 0)
		goto err;
	hex(pskhex, pskhexsize, psk, sizeof(psk));

	/* Success! */
	rc = 0;
err:
	secret_wipe(sk, sizeof(sk));
	secret_wipe(psk, sizeof(psk));
	return (rc);
}

/* Check the answer r to the sent frame s as a client does; print it. */
static void
report(const uint8_t *s, size_t slen, const uint8_t *r, size_t rlen)
{
	struct wire_msg m;
	uint8_t h[WIRE_HASHBYTES], zero[WIRE_NONCEBYTES] = { 0 };
	const uint8_t *nonce = zero;
	char a[65], b[65], c[65];
	unsigned int stype = slen > 5 ? s[WIRE_LENBYTES + WIRE_HDR_TYPE] : 0;
	unsigned int ssuite = slen > 6 ? s[WIRE_LENBYTES + WIRE_HDR_SUITE] : 0;
	size_t hlen = slen;
	uint32_t plen;

	if (wire_msg_decode(&m, r, rlen, NULL) != 0) {
		printf("BADRESP undecodable\n");
		return;
	}
	if (m.hdr.type != WIRE_ERROR &&
	    (m.hdr.type != (stype | WIRE_RESPONSE) ||
	        wire_type_is_response(stype))) {
		printf("BADRESP type=%s\n", wire_type_name(m.hdr.type));
		return;
	}
	if (slen >= WIRE_LENBYTES + WIRE_HDRBYTES)
		nonce = s + WIRE_LENBYTES + WIRE_HDR_NONCE;
	if (memcmp(m.hdr.nonce, nonce, WIRE_NONCEBYTES) != 0) {
		printf("BADRESP nonce\n");
		return;
	}
	if (m.hdr.suite !=
	    ((ssuite == WIRE_SUITE_X25519 || ssuite == WIRE_SUITE_RSA)
	            ? ssuite
	            : WIRE_SUITE_X25519)) {
		printf("BADRESP suite\n");
		return;
	}
	if (memcmp(m.hdr.sender_id, kdc.host_id, WIRE_IDBYTES) != 0 ||
	    m.hdr.signer_kvno != WIRE_KVNO_FIRST ||
	    wire_frame_verify(r, rlen, kdc.sign_pk) != 0) {
		printf("BADRESP signature\n");
		return;
	}
	/* The KDC hashed the frame as it read it (its own length prefix). */
	if (slen >= WIRE_LENBYTES) {
		plen = (uint32_t)s[0] << 24 | (uint32_t)s[1] << 16 |
		    (uint32_t)s[2] << 8 | s[3];
		if ((size_t)plen + WIRE_LENBYTES < hlen)
			hlen = (size_t)plen + WIRE_LENBYTES;
	}
	if (wire_frame_hash(h, s, hlen) != 0 ||
	    memcmp(h, m.u.error.req_hash, WIRE_HASHBYTES) != 0) {
		printf("BADRESP req_hash\n");
		return;
	}
	switch (m.hdr.type) {
	case WIRE_ERROR:
		printf("ERROR %s kdc_time=%" PRIu64 " retry_after=%u\n",
		    wire_err_name(m.u.error.code), m.u.error.kdc_time,
		    m.u.error.retry_after);
		break;
	case WIRE_REQUEST_RESP: {
		const struct wire_request_resp *q = &m.u.request_resp;
		struct wire_msg sm;

		if (wire_msg_decode(&sm, s, slen, NULL) != 0 ||
		    memcmp(q->peer_id, sm.u.request.peer_id, WIRE_IDBYTES) !=
		        0 ||
		    strcmp(q->service, sm.u.request.service) != 0 ||
		    memcmp(&q->client_addr, &sm.u.request.client_addr,
		        sizeof(q->client_addr)) != 0 ||
		    q->not_before > q->not_after) {
			printf("BADRESP fields\n");
			return;
		}
		if (open_psk(r, rlen, WIRE_ROLE_CLIENT, q->key_id, c,
		        sizeof(c)) != 0) {
			printf("BADRESP sealed\n");
			return;
		}
		hex(a, sizeof(a), q->key_id, WIRE_KEYIDBYTES);
		printf("REQUEST_RESP ok key_id=%s not_before=%" PRIu64
		       " not_after=%" PRIu64 " psk=%s\n",
		    a, q->not_before, q->not_after, c);
		break;
	}
	case WIRE_RETRIEVE_RESP: {
		const struct wire_retrieve_resp *q = &m.u.retrieve_resp;

		if (memcmp(q->key_id, s + WIRE_LENBYTES + WIRE_HDRBYTES,
		        WIRE_KEYIDBYTES) != 0) {
			printf("BADRESP key_id\n");
			return;
		}
		if (open_psk(r, rlen, WIRE_ROLE_PEER, q->key_id, c,
		        sizeof(c)) != 0) {
			printf("BADRESP sealed\n");
			return;
		}
		hex(a, sizeof(a), q->key_id, WIRE_KEYIDBYTES);
		hex(b, sizeof(b), q->requester_id, WIRE_IDBYTES);
		printf("RETRIEVE_RESP ok key_id=%s not_after=%" PRIu64
		       " requester=%s psk=%s\n",
		    a, q->not_after, b, c);
		break;
	}
	case WIRE_REVOKE_RESP:
		printf("REVOKE_RESP ok count=%" PRIu32 "\n",
		    m.u.revoke_resp.count);
		break;
	default:
		printf("%s ok\n", wire_type_name(m.hdr.type));
		break;
	}
}

/* Send frame (len bytes) one byte a second until o.slow seconds pass. */
static int
send_slow(int fd, const uint8_t *frame, size_t len, size_t *sent, double t0)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	for (*sent = 0; *sent < len; (*sent)++) {
		if (mono_now() - t0 >= (double)o.slow)
			return (-2);
		if (send(fd, frame + *sent, 1, MSG_NOSIGNAL) != 1)
			return (0);
		/* Anything readable now is a close (or an early answer). */
		if (poll(&pfd, 1, 1000) == 1)
			return (*sent + 1 < len ? 0 : 1);
	}
	return (1);
}

/*
 * One exchange: connect, build a request (reusing ${nonce} if not NULL) or
 * take the ${len_in} bytes at ${frame_in}, send, print the outcome.  The
 * bytes sent are left in ${frame} (${*len}).  Return 0 (a line was
 * printed), 1 (could not connect) or -1 (local error).
 */
static int
exchange(const uint8_t *frame_in, size_t len_in, uint8_t *frame, size_t *len,
    const uint8_t *nonce)
{
	static uint8_t r[WIRE_FRAMEBYTES_MAX];
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);
	struct wire_addr local;
	size_t rlen, sent = 0;
	double t0, deadline;
	int fd, rc = -1;

	memset(&local, 0, sizeof(local));
	*len = 0;
	if ((fd = net_connect()) == -1) {
		printf("connect-failed\n");
		return (1);
	}
	t0 = mono_now();
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1 ||
	    wire_addr_from_sockaddr(&local, (struct sockaddr *)&ss, sslen) != 0)
		goto err;
	if (frame_in != NULL) {
		memcpy(frame, frame_in, len_in);
		*len = len_in;
	} else if (o.cmd != CMD_IDLE &&
	    (build(frame, len, nonce, &local) != 0 || corrupt(frame, len) != 0))
		goto err;
	if (o.save != NULL && file_write(o.save, frame, *len, 0600, 0) != 0)
		goto err;

	deadline = t0 + o.timeout;
	if (o.slow != NOTSET) {
		rc = send_slow(fd, frame, *len, &sent, t0);
		if (rc == -2) {
			printf("timeout sent=%zu\n", sent);
			goto done;
		}
		if (rc == 0) {
			printf("closed after=%.1f sent=%zu\n", mono_now() - t0,
			    sent);
			goto done;
		}
		deadline = mono_now() + o.timeout;
	} else if (*len > 0)
		(void)send_all(fd, frame, *len, deadline);
	sent = *len;
	if (o.shut || (o.truncate != NOTSET && o.cmd != CMD_IDLE))
		shutdown(fd, SHUT_WR);
	if (*len == 0) {
		if (wait_close(fd, deadline) == 1)
			printf("closed after=%.1f\n", mono_now() - t0);
		else
			printf("timeout\n");
		goto done;
	}
	rc = recv_frame(fd, r, &rlen, deadline);
	if (rc == 1)
		report(frame, *len, r, rlen);
	else if (rc == 0)
		printf("closed after=%.1f sent=%zu\n", mono_now() - t0, sent);
	else if (rc == -3)
		printf("BADRESP length\n");
	else
		printf("timeout sent=%zu\n", sent);
	if (o.verbose && rc == 1)
		fprintf(stderr,
		    "kdcpoke: sent %zu bytes (type 0x%02x), got %zu "
		    "(%s)\n",
		    *len, *len > 5 ? frame[5] : 0, rlen,
		    wire_type_name(r[WIRE_LENBYTES + WIRE_HDR_TYPE]));
done:
	/* Success! */
	rc = 0;
err:
	fflush(stdout);
	close(fd);
	return (rc);
}

static long
num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno != 0 || *s == '\0' || *end != '\0')
		usage();
	return (v);
}

enum { A_STR, A_LONG, A_DBL, A_FLAG };

static const struct {
	const char *name;
	int kind;
	void *p;
} optab[] = {
	{ "peer", A_STR, &o.peer },
	{ "service", A_STR, &o.service },
	{ "client-addr", A_STR, &o.client_addr },
	{ "lifetime", A_LONG, &o.lifetime },
	{ "key-id", A_STR, &o.key_id },
	{ "keys", A_STR, &o.keys },
	{ "all", A_FLAG, &o.all },
	{ "truncate", A_LONG, &o.truncate },
	{ "len-prefix", A_LONG, &o.len_prefix },
	{ "garbage", A_LONG, &o.garbage },
	{ "garbage-framed", A_LONG, &o.garbage_framed },
	{ "flip", A_LONG, &o.flip },
	{ "version", A_LONG, &o.version },
	{ "type", A_LONG, &o.type },
	{ "suite", A_LONG, &o.suite },
	{ "flags", A_LONG, &o.flags },
	{ "kvno", A_LONG, &o.kvno },
	{ "sender", A_STR, &o.sender },
	{ "sign-key", A_STR, &o.signkey },
	{ "bad-sig", A_FLAG, &o.bad_sig },
	{ "ts-offset", A_DBL, &o.ts_offset },
	{ "repeat", A_STR, &o.repeat },
	{ "slow", A_LONG, &o.slow },
	{ "shut", A_FLAG, &o.shut },
	{ "save", A_STR, &o.save },
	{ "loop", A_LONG, &o.loop },
	{ "timeout", A_DBL, &o.timeout },
};
#define NOPTS (sizeof(optab) / sizeof(optab[0]))

static void
parse_args(int argc, char **argv)
{
	struct option lo[NOPTS + 1];
	char *end;
	size_t i;
	int ch;

	memset(lo, 0, sizeof(lo));
	for (i = 0; i < NOPTS; i++) {
		lo[i].name = optab[i].name;
		lo[i].has_arg =
		    optab[i].kind == A_FLAG ? no_argument : required_argument;
		lo[i].val = 256 + (int)i;
	}
	o.lifetime = o.truncate = o.len_prefix = o.garbage = NOTSET;
	o.garbage_framed = o.flip = o.version = o.type = o.suite = NOTSET;
	o.flags = o.kvno = o.slow = o.loop = NOTSET;
	o.timeout = 10;
	while ((ch = getopt_long(argc, argv, "a:k:K:v", lo, NULL)) != -1) {
		if (ch == 'a')
			o.addr = optarg;
		else if (ch == 'k')
			o.keyfile = optarg;
		else if (ch == 'K')
			o.kdcpub = optarg;
		else if (ch == 'v')
			o.verbose = 1;
		else if (ch < 256 || (size_t)ch >= 256 + NOPTS)
			usage();
		else if (optab[ch - 256].kind == A_STR)
			*(const char **)optab[ch - 256].p = optarg;
		else if (optab[ch - 256].kind == A_LONG)
			*(long *)optab[ch - 256].p = num(optarg);
		else if (optab[ch - 256].kind == A_FLAG)
			*(int *)optab[ch - 256].p = 1;
		else {
			*(double *)optab[ch - 256].p = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0')
				usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || o.addr == NULL || o.keyfile == NULL ||
	    o.kdcpub == NULL || o.timeout <= 0)
		usage();
	if (strcmp(argv[0], "request") == 0)
		o.cmd = CMD_REQUEST;
	else if (strcmp(argv[0], "retrieve") == 0)
		o.cmd = CMD_RETRIEVE;
	else if (strcmp(argv[0], "revoke") == 0)
		o.cmd = CMD_REVOKE;
	else if (strcmp(argv[0], "idle") == 0)
		o.cmd = CMD_IDLE;
	else if (strcmp(argv[0], "send") == 0 && argc == 2) {
		o.cmd = CMD_SEND;
		o.sendfile = argv[1];
	} else
		usage();
	if (o.repeat != NULL && strcmp(o.repeat, "exact") != 0 &&
	    strcmp(o.repeat, "nonce") != 0)
		usage();
}

int
main(int argc, char **argv)
{
	static uint8_t frame[WIRE_FRAMEBYTES_MAX + 4096];
	static uint8_t first[WIRE_FRAMEBYTES_MAX + 4096];
	uint8_t nonce[WIRE_NONCEBYTES];
	char *file = NULL, kline[256];
	FILE *fp;
	size_t len = 0, flen = 0;
	double end;
	int rc = 1, x;

	log_init(1, 0, LOG_USER);
	log_procinit("kdcpoke");
	parse_args(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if ((hk = hostkey_load(o.keyfile)) == NULL ||
	    hostpub_load(&kdc, o.kdcpub) != 0)
		goto out;
	hostkey_public(hk, &me);
	signhk = hk;
	if (o.signkey != NULL && (signhk = hostkey_load(o.signkey)) == NULL)
		goto out;
	if (o.cmd == CMD_SEND) {
		if (file_read(o.sendfile, sizeof(frame), &file, &flen) != 0 ||
		    exchange((uint8_t *)file, flen, frame, &len, NULL) < 0)
			goto out;
	} else if (o.keys != NULL) {
		if ((fp = fopen(o.keys, "r")) == NULL) {
			log_warn("%s", o.keys);
			goto out;
		}
		x = 0;
		while (x >= 0 && fgets(kline, sizeof(kline), fp) != NULL) {
			kline[strcspn(kline, " \t\n")] = '\0';
			o.key_id = kline;
			x = exchange(NULL, 0, frame, &len, NULL);
		}
		fclose(fp);
		if (x < 0)
			goto out;
	} else if (o.loop != NOTSET) {
		end = mono_now() + (double)o.loop;
		while (mono_now() < end) {
			if ((x = exchange(NULL, 0, frame, &len, NULL)) < 0)
				goto out;
			if (x == 1)
				usleep(20000);
		}
	} else {
		if ((x = exchange(NULL, 0, frame, &len, NULL)) < 0)
			goto out;
		if (x == 0 && o.repeat != NULL &&
		    strcmp(o.repeat, "exact") == 0) {
			/* The same bytes again, on a new connection. */
			memcpy(first, frame, len);
			if (exchange(first, len, frame, &len, NULL) < 0)
				goto out;
		} else if (x == 0 && o.repeat != NULL) {
			if (len < WIRE_LENBYTES + WIRE_HDRBYTES)
				goto out;
			/* A new request (timestamp, signature), old nonce. */
			memcpy(nonce, frame + WIRE_LENBYTES + WIRE_HDR_NONCE,
			    sizeof(nonce));
			usleep(5000);
			if (exchange(NULL, 0, frame, &len, nonce) < 0)
				goto out;
		}
	}

	/* Success! */
	rc = 0;
out:
	free(file);
	if (signhk != hk)
		hostkey_free(signhk);
	hostkey_free(hk);
	return (rc);
}
