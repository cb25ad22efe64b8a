/*
 * test_kdcclient.c: the KDC client (kdcclient.h) against a fake KDC: a
 * loopback listener in a thread that checks each request and answers
 * with frames built by the wire API and signed with a test KDC key, good
 * or broken in one chosen way.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cryptgate/digest.h"
#include "cryptgate/hostkey.h"
#include "cryptgate/hostpub.h"
#include "cryptgate/kdcclient.h"
#include "cryptgate/mac.h"
#include "cryptgate/rand.h"
#include "cryptgate/wire.h"

enum mode {
	M_GOOD,
	M_BADSIG, /* signed by another key */
	M_BADHASH, /* req_hash of something else */
	M_BADNONCE, /* nonce not echoed */
	M_TAMPER, /* sealed blob flipped before signing */
	M_ERROR, /* ERROR with f->code */
	M_TRUNCATE, /* half a frame, then close */
	M_SILENT, /* never answers */
	M_WRONGTYPE, /* ENROLL_RESP to anything */
	M_ECHO, /* REQUEST_RESP for another service */
	M_BADLEN, /* length prefix over the limit */
	M_RESEAL, /* key sealed for role 2 instead of 1 */
	M_BADSENDER, /* signed by the KDC key, another sender_id */
	M_SUITE, /* suite 2 in the response to a suite 1 request */
	M_OTHERID, /* another key id, host id or kvno than asked */
};

struct fake {
	int lfd;
	struct kdcclient_addr addr;
	pthread_t th;
	enum mode mode;
	uint16_t code, kvno;
	const struct hostkey *key; /* signs responses */
	const struct hostkey *evil;
	struct hostpub kdc_pub; /* kvno 1 identity (sender_id) */
	struct hostpub client; /* the host being served */
	int served; /* requests answered or read */
	int bad; /* requests that failed the fake's checks */
	struct wire_msg last; /* last request decoded */
	uint8_t session_key[WIRE_SESSIONKEYBYTES];
	uint8_t key_id[WIRE_KEYIDBYTES];
	const uint8_t *token; /* ENROLL MAC key, or NULL */
};

static struct hostkey *hk_client, *hk_kdc, *hk_kdc2, *hk_evil, *hk_new;
static struct hostpub pub_client, pub_kdc, pub_kdc2;

static uint64_t
now_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static int
read_full(int fd, uint8_t *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		if ((r = read(fd, p, n)) <= 0)
			return (-1);
		p += r;
		n -= (size_t)r;
	}
	return (0);
}

/* Seal ${f}->session_key into ${frame} for ${role}. */
static void
seal_into(struct fake *f, uint8_t *frame, size_t len, unsigned int role,
    const uint8_t *key_id, const uint8_t *recipient, unsigned int suite)
{
	uint8_t info[WIRE_SEAL_INFOBYTES];
	size_t aadlen, off, clen;

	assert_int_equal(wire_frame_sealed(frame, len, &aadlen, &off), 0);
	assert_int_equal(wire_seal_info(info, role, key_id, recipient), 0);
	assert_int_equal(
	    hostpub_seal(&f->client, frame + off, wire_sealed_bytes(suite),
	        &clen, f->session_key, WIRE_SESSIONKEYBYTES, info, sizeof(info),
	        frame + WIRE_LENBYTES, aadlen),
	    0);
	if (f->mode == M_TAMPER)
		frame[off + 5] ^= 0x01;
}

/* Build the answer to the request ${q} (frame ${qf}, ${qlen} bytes). */
static size_t
answer(struct fake *f, const struct wire_msg *q, const uint8_t *qf, size_t qlen,
    uint8_t *out, size_t outsize)
{
	struct wire_msg m;
	const uint8_t *sm;
	size_t len, smlen;
	unsigned int role = 0;
	uint8_t *hash;

	memset(&m, 0, sizeof(m));
	m.hdr.version = WIRE_VERSION;
	m.hdr.suite = q->hdr.suite;
	m.hdr.signer_kvno = f->kvno;
	memcpy(m.hdr.sender_id, f->kdc_pub.host_id, WIRE_IDBYTES);
	if (f->mode == M_BADSENDER)
		m.hdr.sender_id[15] ^= 0x80;
	m.hdr.timestamp = now_unix_ms();
	memcpy(m.hdr.nonce, q->hdr.nonce, WIRE_NONCEBYTES);
	if (f->mode == M_BADNONCE)
		m.hdr.nonce[3] ^= 0x40;
	m.hdr.type = q->hdr.type | WIRE_RESPONSE;
	if (f->mode == M_ERROR || f->mode == M_SUITE)
		m.hdr.type = WIRE_ERROR;
	if (f->mode == M_SUITE)
		m.hdr.suite = WIRE_SUITE_RSA;
	if (f->mode == M_WRONGTYPE)
		m.hdr.type = q->hdr.type == WIRE_ENROLL ? WIRE_REVOKE_RESP
		                                        : WIRE_ENROLL_RESP;
	assert_int_equal(rand_bytes(f->key_id, WIRE_KEYIDBYTES), 0);
	assert_int_equal(rand_bytes(f->session_key, WIRE_SESSIONKEYBYTES), 0);
	switch (m.hdr.type) {
	case WIRE_REQUEST_RESP:
		hash = m.u.request_resp.req_hash;
		memcpy(m.u.request_resp.key_id, f->key_id, WIRE_KEYIDBYTES);
		m.u.request_resp.not_before = now_unix_ms();
		m.u.request_resp.not_after = m.u.request_resp.not_before +
		    (q->u.request.lifetime ? q->u.request.lifetime : 3600) *
		        1000ULL;
		memcpy(m.u.request_resp.peer_id, q->u.request.peer_id,
		    WIRE_IDBYTES);
		snprintf(m.u.request_resp.service,
		    sizeof(m.u.request_resp.service), "%s",
		    f->mode == M_ECHO ? "other" : q->u.request.service);
		m.u.request_resp.client_addr = q->u.request.client_addr;
		m.u.request_resp.sealed.len =
		    (uint16_t)wire_sealed_bytes(q->hdr.suite);
		role = f->mode == M_RESEAL ? WIRE_ROLE_PEER : WIRE_ROLE_CLIENT;
		break;
	case WIRE_RETRIEVE_RESP:
		hash = m.u.retrieve_resp.req_hash;
		memcpy(f->key_id, q->u.retrieve.key_id, WIRE_KEYIDBYTES);
		if (f->mode == M_OTHERID)
			f->key_id[0] ^= 1;
		memcpy(m.u.retrieve_resp.key_id, f->key_id, WIRE_KEYIDBYTES);
		m.u.retrieve_resp.not_after = now_unix_ms() + 60000;
		memset(m.u.retrieve_resp.requester_id, 0x77, WIRE_IDBYTES);
		m.u.retrieve_resp.sealed.len =
		    (uint16_t)wire_sealed_bytes(q->hdr.suite);
		role = WIRE_ROLE_PEER;
		break;
	case WIRE_ENROLL_RESP:
		hash = m.u.enroll_resp.req_hash;
		memcpy(
		    m.u.enroll_resp.host_id, f->client.host_id, WIRE_IDBYTES);
		if (f->mode == M_OTHERID)
			m.u.enroll_resp.host_id[0] ^= 1;
		m.u.enroll_resp.state =
		    f->token != NULL ? WIRE_STATE_ACTIVE : WIRE_STATE_PENDING;
		break;
	case WIRE_REVOKE_RESP:
		hash = m.u.revoke_resp.req_hash;
		m.u.revoke_resp.count = 3;
		break;
	case WIRE_ROTATE_RESP:
		hash = m.u.rotate_resp.req_hash;
		m.u.rotate_resp.new_kvno = q->u.rotate.new_kvno;
		if (f->mode == M_OTHERID)
			m.u.rotate_resp.new_kvno++;
		m.u.rotate_resp.old_valid_until = now_unix_ms() + 86400000;
		break;
	default:
		hash = m.u.error.req_hash;
		m.u.error.code = f->code != 0 ? f->code : WIRE_ERR_DENIED;
		m.u.error.kdc_time = now_unix_ms() - 300000;
		m.u.error.retry_after = 7;
		break;
	}
	assert_int_equal(wire_frame_hash(hash, qf, qlen), 0);
	if (f->mode == M_BADHASH)
		hash[0] ^= 1;
	assert_int_equal(wire_msg_encode(out, outsize, &len, &m), 0);
	if (role != 0)
		seal_into(f, out, len, role, f->key_id, q->hdr.sender_id,
		    q->hdr.suite);
	assert_int_equal(wire_frame_signed(out, len, &sm, &smlen), 0);
	assert_int_equal(
	    hostkey_sign(f->mode == M_BADSIG ? f->evil : f->key,
	        out + len - WIRE_SIGBYTES, WIRE_CTX_RESPONSE, sm, smlen),
	    0);
	return (len);
}

/* Check the request ${q} as a KDC would; count failures in ${f}->bad. */
static void
check_request(
    struct fake *f, const struct wire_msg *q, const uint8_t *qf, size_t qlen)
{
	struct hostpub signer = f->client;
	size_t maclen, macoff;
	uint8_t id[WIRE_IDBYTES], dg[32];

	if (q->hdr.type == WIRE_ENROLL) {
		if (hostpub_id_compute(id, q->u.enroll.sig_pk,
		        q->u.enroll.seal_pk.key, q->u.enroll.seal_pk.len) ||
		    memcmp(id, f->client.host_id, WIRE_IDBYTES) != 0)
			f->bad++;
		/* The token's id is the nonce, as the KDC finds it. */
		if (f->token != NULL &&
		    (digest_sha256(dg, f->token, 32) ||
		        memcmp(dg, q->hdr.nonce, WIRE_NONCEBYTES) != 0 ||
		        wire_frame_enroll_mac(qf, qlen, &maclen, &macoff) ||
		        mac_hmac_sha256_verify(qf + macoff, f->token, 32,
		            qf + WIRE_LENBYTES, maclen)))
			f->bad++;
	} else if (memcmp(q->hdr.sender_id, f->client.host_id, WIRE_IDBYTES) !=
	    0) {
		f->bad++;
	}
	if (q->hdr.type == WIRE_ROTATE &&
	    wire_msg_pop_verify(&q->u.rotate, f->client.host_id))
		f->bad++;
	if (wire_frame_verify(qf, qlen, signer.sign_pk) ||
	    !wire_is_fresh(q->hdr.timestamp, now_unix_ms()))
		f->bad++;
}

static void *
fake_main(void *arg)
{
	struct fake *f = arg;
	uint8_t q[WIRE_FRAMEBYTES_MAX], out[WIRE_FRAMEBYTES_MAX];
	size_t qlen, len;
	struct wire_msg *msg;
	ssize_t total;
	int fd;

	msg = calloc(1, sizeof(*msg));
	for (;;) {
		if ((fd = accept(f->lfd, NULL, NULL)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (read_full(fd, q, WIRE_LENBYTES) ||
		    (total = wire_frame_peek_len(q)) == -1 ||
		    read_full(
		        fd, q + WIRE_LENBYTES, (size_t)total - WIRE_LENBYTES)) {
			f->bad++;
			close(fd);
			continue;
		}
		qlen = (size_t)total;
		f->served++;
		if (wire_msg_decode(msg, q, qlen, NULL)) {
			f->bad++;
			close(fd);
			continue;
		}
		f->last = *msg;
		check_request(f, msg, q, qlen);
		if (f->mode == M_SILENT) {
			while (read(fd, out, sizeof(out)) > 0)
				;
			close(fd);
			continue;
		}
		if (f->mode == M_BADLEN) {
			memset(out, 0xff, 8);
			if (write(fd, out, 8) != 8)
				f->bad++;
			close(fd);
			continue;
		}
		len = answer(f, msg, q, qlen, out, sizeof(out));
		if (f->mode == M_TRUNCATE)
			len /= 2;
		if (write(fd, out, len) != (ssize_t)len)
			f->bad++;
		close(fd);
	}
	free(msg);
	return (NULL);
}

static void
fake_start(struct fake *f, enum mode mode)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&f->addr.ss;
	socklen_t len = sizeof(*sin);

	memset(f, 0, sizeof(*f));
	f->mode = mode;
	f->kvno = 1;
	f->key = hk_kdc;
	f->evil = hk_evil;
	f->kdc_pub = pub_kdc;
	f->client = pub_client;
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)sin, sizeof(*sin)), 0);
	assert_int_equal(listen(f->lfd, 16), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)sin, &len), 0);
	f->addr.sslen = sizeof(*sin);
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void
fake_stop(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	pthread_join(f->th, NULL);
	close(f->lfd);
}

/* A loopback address nobody listens on (connection refused). */
static void
dead_addr(struct kdcclient_addr *a)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
	socklen_t len = sizeof(*sin);
	int fd;

	memset(a, 0, sizeof(*a));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)sin, sizeof(*sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)sin, &len), 0);
	close(fd);
	a->sslen = sizeof(*sin);
}

static struct kdcclient *
client_new(const struct hostkey *hk, const struct kdcclient_addr *addrs,
    size_t n, int64_t timeout_ms, unsigned int attempts, bool next)
{
	struct kdcclient_config cfg;
	struct kdcclient *kc;

	memset(&cfg, 0, sizeof(cfg));
	cfg.key = hk;
	cfg.kdc_pub = &pub_kdc;
	cfg.kdc_pub_next = next ? &pub_kdc2 : NULL;
	cfg.kdc_name = "kdcA";
	cfg.addrs = addrs;
	cfg.naddrs = n;
	cfg.timeout_ms = timeout_ms;
	cfg.attempts = attempts;
	kc = kdcclient_new(&cfg);
	assert_non_null(kc);
	return (kc);
}

static const uint8_t peer_id[WIRE_IDBYTES] = { 0x11, 0x22, 0x33, 0x44, 5, 6, 7,
	8, 9, 10, 11, 12, 13, 14, 15, 16 };

/* Run one REQUEST against a fake in ${mode}; return the op (DONE or
 * FAILED as ${expect_ok} says). */
static struct kdcclient_op *
one_request(struct fake *f, struct kdcclient **kcp, bool expect_ok)
{
	struct kdcclient_op *op;

	*kcp = client_new(hk_client, &f->addr, 1, 2000, 0, false);
	op = kdcclient_request_start(*kcp, peer_id, "ftp", NULL, 600);
	assert_non_null(op);
	if (expect_ok) {
		assert_int_equal(kdcclient_run(op), 0);
		assert_non_null(kdcclient_result(op));
		assert_string_equal(kdcclient_error(op), "");
	} else {
		assert_int_equal(kdcclient_run(op), -1);
		assert_null(kdcclient_result(op));
	}
	assert_int_equal(kdcclient_fd(op), -1);
	return (op);
}

static void
test_request_good(void **state)
{
	const struct kdcclient_result *res;
	struct kdcclient_op *op;
	struct kdcclient *kc;
	struct fake f;
	char want[64];

	(void)state;
	fake_start(&f, M_GOOD);
	op = one_request(&f, &kc, true);
	res = kdcclient_result(op);
	assert_int_equal(res->type, WIRE_REQUEST_RESP);
	assert_int_equal(res->error, 0);
	assert_int_equal(res->kdc_kvno, 1);
	assert_non_null(res->session_key);
	assert_memory_equal(res->session_key, f.session_key, 32);
	assert_memory_equal(res->key_id, f.key_id, WIRE_KEYIDBYTES);
	assert_memory_equal(res->peer_id, peer_id, WIRE_IDBYTES);
	assert_string_equal(res->service, "ftp");
	assert_int_equal(res->not_after - res->not_before, 600000);
	/* The default client address is the local end: 127.0.0.1. */
	assert_int_equal(res->client_addr.family, WIRE_AF_INET);
	assert_int_equal(res->client_addr.addr[12], 127);
	snprintf(want, sizeof(want), "127.0.0.1:%u",
	    ntohs(((struct sockaddr_in *)&f.addr.ss)->sin_port));
	assert_string_equal(res->kdc_addr, want);
	fake_stop(&f);
	/* The fake KDC found the request well signed and fresh. */
	assert_int_equal(f.served, 1);
	assert_int_equal(f.bad, 0);
	assert_int_equal(f.last.hdr.type, WIRE_REQUEST);
	assert_int_equal(f.last.hdr.signer_kvno, 1);
	assert_int_equal(f.last.u.request.lifetime, 600);
	kdcclient_op_free(op);
	kdcclient_free(kc);
}

/* An explicit client address is sent as given; nonces differ. */
static void
test_request_addr(void **state)
{
	uint8_t nonce1[WIRE_NONCEBYTES];
	struct kdcclient_op *op;
	struct wire_addr a;
	struct kdcclient *kc;
	struct fake f;
	char buf[64];

	(void)state;
	fake_start(&f, M_GOOD);
	kc = client_new(hk_client, &f.addr, 1, 2000, 0, false);
	assert_int_equal(kdcclient_addr_parse(&a, "2001:db8::7"), 0);
	op = kdcclient_request_start(kc, peer_id, "tel-net", &a, 0);
	assert_non_null(op);
	assert_int_equal(kdcclient_run(op), 0);
	assert_memory_equal(&f.last.u.request.client_addr, &a, sizeof(a));
	assert_int_equal(kdcclient_addr_format(buf, sizeof(buf),
	                     &kdcclient_result(op)->client_addr),
	    0);
	assert_string_equal(buf, "2001:db8::7");
	memcpy(nonce1, f.last.hdr.nonce, sizeof(nonce1));
	kdcclient_op_free(op);
	op = kdcclient_request_start(kc, peer_id, "tel-net", &a, 0);
	assert_int_equal(kdcclient_run(op), 0);
	assert_memory_not_equal(nonce1, f.last.hdr.nonce, sizeof(nonce1));
	kdcclient_op_free(op);
	/* Invalid arguments are refused at start. */
	assert_null(kdcclient_request_start(kc, peer_id, "bad name", &a, 0));
	assert_null(kdcclient_request_start(kc, peer_id, "", &a, 0));
	fake_stop(&f);
	assert_int_equal(f.bad, 0);
	kdcclient_free(kc);
}

static void
test_retrieve_good(void **state)
{
	const struct kdcclient_result *res;
	uint8_t kid[WIRE_KEYIDBYTES];
	struct kdcclient_op *op;
	struct kdcclient *kc;
	struct wire_addr a;
	struct fake f;

	(void)state;
	fake_start(&f, M_GOOD);
	kc = client_new(hk_client, &f.addr, 1, 2000, 0, false);
	memset(kid, 0xab, sizeof(kid));
	assert_int_equal(kdcclient_addr_parse(&a, "192.0.2.9"), 0);
	op = kdcclient_retrieve_start(kc, kid, &a, "ftp");
	assert_int_equal(kdcclient_run(op), 0);
	res = kdcclient_result(op);
	assert_int_equal(res->type, WIRE_RETRIEVE_RESP);
	assert_memory_equal(res->session_key, f.session_key, 32);
	assert_memory_equal(res->key_id, kid, sizeof(kid));
	assert_int_equal(res->requester_id[0], 0x77);
	assert_memory_equal(&f.last.u.retrieve.client_addr, &a, sizeof(a));
	fake_stop(&f);
	assert_int_equal(f.bad, 0);
	kdcclient_op_free(op);
	kdcclient_free(kc);
}

static void
test_enroll(void **state)
{
	uint8_t token[32], wrong[32];
	struct kdcclient_op *op;
	struct kdcclient *kc;
	struct wire_addr a[2];
	struct fake f;

	(void)state;
	memset(token, 0x5a, sizeof(token));
	assert_int_equal(kdcclient_addr_parse(&a[0], "10.1.2.3"), 0);
	assert_int_equal(kdcclient_addr_parse(&a[1], "::1"), 0);
	fake_start(&f, M_GOOD);
	kc = client_new(hk_client, &f.addr, 1, 2000, 0, false);
	op = kdcclient_enroll_start(kc, "host-1.example", a, 2, NULL);
	assert_int_equal(kdcclient_run(op), 0);
	assert_int_equal(
	    kdcclient_result(op)->enroll_state, WIRE_STATE_PENDING);
	assert_memory_equal(
	    kdcclient_result(op)->host_id, pub_client.host_id, 16);
	assert_int_equal(f.last.u.enroll.naddrs, 2);
	assert_int_equal(f.last.hdr.signer_kvno, 1);
	kdcclient_op_free(op);
	/* With a token: the fake checks the HMAC and activates. */
	f.token = token;
	op = kdcclient_enroll_start(kc, "host-1.example", a, 2, token);
	assert_int_equal(kdcclient_run(op), 0);
	assert_int_equal(kdcclient_result(op)->enroll_state, WIRE_STATE_ACTIVE);
	kdcclient_op_free(op);
	/* A wrong token: the fake's MAC check fails. */
	memcpy(wrong, token, sizeof(wrong));
	wrong[0] ^= 1;
	op = kdcclient_enroll_start(kc, "host-1.example", a, 2, wrong);
	assert_int_equal(kdcclient_run(op), 0);
	kdcclient_op_free(op);
	fake_stop(&f);
	assert_int_equal(f.bad, 1);
	assert_null(kdcclient_enroll_start(kc, "bad:name", NULL, 0, NULL));
	kdcclient_free(kc);
}

static void
test_revoke_rotate(void **state)
{
	uint8_t kid[WIRE_KEYIDBYTES] = { 1 };
	struct kdcclient_op *op;
	struct kdcclient *kc;
	struct fake f;

	(void)state;
	fake_start(&f, M_GOOD);
	kc = client_new(hk_client, &f.addr, 1, 2000, 0, false);
	op = kdcclient_revoke_start(kc, WIRE_REVOKE_KEY, kid, 1);
	assert_int_equal(kdcclient_run(op), 0);
	assert_int_equal(kdcclient_result(op)->revoked, 3);
	assert_int_equal(f.last.u.revoke.kind, WIRE_REVOKE_KEY);
	assert_memory_equal(f.last.u.revoke.id, kid, sizeof(kid));
	kdcclient_op_free(op);
	op = kdcclient_revoke_start(kc, WIRE_REVOKE_MINE, NULL, 0);
	assert_int_equal(kdcclient_run(op), 0);
	kdcclient_op_free(op);
	assert_null(kdcclient_revoke_start(kc, WIRE_REVOKE_MINE, kid, 0));
	assert_null(kdcclient_revoke_start(kc, WIRE_REVOKE_KEY, NULL, 0));
	assert_null(kdcclient_revoke_start(kc, WIRE_REVOKE_KEY, kid, 9));
	op = kdcclient_rotate_start(kc, hk_new, 2);
	assert_non_null(op);
	assert_int_equal(kdcclient_run(op), 0);
	assert_int_equal(kdcclient_result(op)->new_kvno, 2);
	assert_true(kdcclient_result(op)->old_valid_until > now_unix_ms());
	kdcclient_op_free(op);
	fake_stop(&f);
	assert_int_equal(f.bad, 0);
	kdcclient_free(kc);
}

/* Each broken response fails verification with its reason. */
static void
test_bad_responses(void **state)
{
	static const struct {
		enum mode mode;
		const char *why;
	} cases[] = {
		{ M_BADSIG, "bad KDC signature" },
		{ M_BADHASH, "request hash mismatch" },
		{ M_BADNONCE, "nonce not echoed" },
		{ M_TAMPER, "sealed session key does not open" },
		{ M_RESEAL, "sealed session key does not open" },
		{ M_WRONGTYPE, "unexpected response type" },
		{ M_ECHO, "another peer, service or address" },
		{ M_BADLEN, "bad frame length" },
		{ M_BADSENDER, "sender id is not the pinned KDC's" },
		{ M_SUITE, "suite mismatch" },
	};
	struct kdcclient_op *op;
	struct kdcclient *kc;
	struct fake f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fake_start(&f, cases[i].mode);
		op = one_request(&f, &kc, false);
		if (strstr(kdcclient_error(op),
		        "KDC response failed verification") == NULL ||
		    strstr(kdcclient_error(op), cases[i].why) == NULL)
			fail_msg("case %zu: '%s'", i, kdcclient_error(op));
		/* Verification failures are final: one attempt only. */
		fake_stop(&f);
		assert_int_equal(f.served, 1);
		kdcclient_op_free(op);
		kdcclient_free(kc);
	}
}

/* Answers about another key id, host id or key version are refused. */
static void
test_other_id(void **state)
{
	uint8_t kid[WIRE_KEYIDBYTES] = { 9, 9, 9 };
	struct kdcclient_op *op[3];
	struct kdcclient *kc;
	struct wire_addr a;
	struct fake f;
	int i;

	(void)state;
	fake_start(&f, M_OTHERID);
	kc = client_new(hk_client, &f.addr, 1, 2000, 0, false);
	assert_int_equal(kdcclient_addr_parse(&a, "192.0.2.9"), 0);
	op[0] = kdcclient_retrieve_start(kc, kid, &a, "ftp");
	op[1] = kdcclient_enroll_start(kc, "h", NULL, 0, NULL);
	op[2] = kdcclient_rotate_start(kc, hk_new, 7);
	for (i = 0; i < 3; i++) {
		if (kdcclient_run(op[i]) != -1)
			fail_msg("op %d succeeded", i);
		assert_non_null(strstr(kdcclient_error(op[i]), "another"));
		kdcclient_op_free(op[i]);
	}
	kdcclient_free(kc);
	fake_stop(&f);
	assert_int_equal(f.bad, 0);
}

/* Signed by the next KDC key (kvno 2): good only if it is pinned. */
static void
test_kvno(void **state)
{
	struct kdcclient_op *op;
	struct kdcclient *kc;
	struct fake f;

	(void)state;
	fake_start(&f, M_GOOD);
	f.key = hk_kdc2;
	f.kvno = 2;
	f.kdc_pub = pub_kdc2;
	kc = client_new(hk_client, &f.addr, 1, 2000, 0, true);
	op = kdcclient_request_start(kc, peer_id, "ftp", NULL, 0);
	assert_int_equal(kdcclient_run(op), 0);
	assert_int_equal(kdcclient_result(op)->kdc_kvno, 2);
	kdcclient_op_free(op);
	kdcclient_free(kc);
	kc = client_new(hk_client, &f.addr, 1, 2000, 0, false);
	op = kdcclient_request_start(kc, peer_id, "ftp", NULL, 0);
	assert_int_equal(kdcclient_run(op), -1);
	assert_non_null(strstr(kdcclient_error(op), "unknown KDC key"));
	kdcclient_op_free(op);
	kdcclient_free(kc);
	/* kvno 1 claimed but signed with the next key: refused. */
	f.kvno = 1;
	kc = client_new(hk_client, &f.addr, 1, 2000, 0, true);
	op = kdcclient_request_start(kc, peer_id, "ftp", NULL, 0);
	assert_int_equal(kdcclient_run(op), -1);
	assert_non_null(strstr(kdcclient_error(op), "bad KDC signature"));
	kdcclient_op_free(op);
	kdcclient_free(kc);
	fake_stop(&f);
}

/* A verified ERROR is a result, not a failure. */
static void
test_errors(void **state)
{
	static const uint16_t codes[] = { WIRE_ERR_DENIED, WIRE_ERR_PENDING,
		WIRE_ERR_RATE, WIRE_ERR_SKEW, WIRE_ERR_SIG, WIRE_ERR_INTERNAL };
	const struct kdcclient_result *res;
	struct kdcclient_op *op;
	struct kdcclient *kc;
	struct fake f;
	char msg[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		fake_start(&f, M_ERROR);
		f.code = codes[i];
		op = one_request(&f, &kc, true);
		res = kdcclient_result(op);
		assert_int_equal(res->type, WIRE_ERROR);
		assert_int_equal(res->error, codes[i]);
		assert_null(res->session_key);
		assert_int_equal(res->retry_after, 7);
		kdcclient_err_format(msg, sizeof(msg), res);
		switch (codes[i]) {
		case WIRE_ERR_DENIED:
			assert_string_equal(
			    msg, "the KDC denied the request (DENIED)");
			break;
		case WIRE_ERR_RATE:
			assert_non_null(strstr(msg, "retry after 7 s (RATE)"));
			break;
		case WIRE_ERR_SKEW:
			/* The fake's clock is 300 s behind ours. */
			assert_non_null(strstr(msg, ": 300 s ahead (SKEW)"));
			break;
		default:
			assert_non_null(strstr(msg, wire_err_name(codes[i])));
		}
		fake_stop(&f);
		kdcclient_op_free(op);
		kdcclient_free(kc);
	}
}

static void
test_truncated(void **state)
{
	struct kdcclient_op *op;
	struct kdcclient *kc;
	struct fake f;

	(void)state;
	fake_start(&f, M_TRUNCATE);
	op = one_request(&f, &kc, false);
	assert_non_null(strstr(kdcclient_error(op), "truncated"));
	assert_non_null(strstr(kdcclient_error(op), "no KDC answered"));
	fake_stop(&f);
	kdcclient_op_free(op);
	kdcclient_free(kc);
}

/* The first KDC never answers: timeout, then the second one answers. */
static void
test_timeout_next(void **state)
{
	struct kdcclient_addr addrs[2];
	struct kdcclient_op *op;
	struct kdcclient *kc;
	struct fake silent, good;
	int64_t t0, dt;
	char want[64];

	(void)state;
	fake_start(&silent, M_SILENT);
	fake_start(&good, M_GOOD);
	addrs[0] = silent.addr;
	addrs[1] = good.addr;
	kc = client_new(hk_client, addrs, 2, 300, 0, false);
	op = kdcclient_request_start(kc, peer_id, "ftp", NULL, 0);
	t0 = kdcclient_now_ms();
	assert_int_equal(kdcclient_run(op), 0);
	dt = kdcclient_now_ms() - t0;
	assert_true(dt >= 300);
	assert_true(dt < 3000);
	snprintf(want, sizeof(want), "127.0.0.1:%u",
	    ntohs(((struct sockaddr_in *)&good.addr.ss)->sin_port));
	assert_string_equal(kdcclient_result(op)->kdc_addr, want);
	kdcclient_op_free(op);
	kdcclient_free(kc);
	fake_stop(&silent);
	fake_stop(&good);
	assert_int_equal(silent.served, 1);
	assert_int_equal(good.served, 1);
	assert_int_equal(silent.bad + good.bad, 0);
}

/* Every address dead or silent: FAILED in bounded time, naming each. */
static void
test_all_dead(void **state)
{
	struct kdcclient_addr addrs[2];
	struct kdcclient_op *op;
	struct kdcclient *kc;
	struct fake silent;
	int64_t t0, dt;
	const char *e;

	(void)state;
	fake_start(&silent, M_SILENT);
	dead_addr(&addrs[0]);
	addrs[1] = silent.addr;
	kc = client_new(hk_client, addrs, 2, 200, 4, false);
	op = kdcclient_request_start(kc, peer_id, "ftp", NULL, 0);
	t0 = kdcclient_now_ms();
	assert_int_equal(kdcclient_run(op), -1);
	dt = kdcclient_now_ms() - t0;
	/* Two attempts at the silent one (200 ms each), two refused. */
	assert_true(dt >= 400);
	assert_true(dt < 2500);
	e = kdcclient_error(op);
	assert_non_null(strstr(e, "connection refused"));
	assert_non_null(strstr(e, "timed out waiting for the answer"));
	assert_non_null(strstr(e, "; no KDC answered"));
	assert_true(strncmp(e, "KDC at 127.0.0.1:", 17) == 0);
	assert_int_equal(
	    kdcclient_step(op, kdcclient_now_ms()), KDCCLIENT_FAILED);
	kdcclient_op_free(op);
	kdcclient_free(kc);
	fake_stop(&silent);
	assert_int_equal(silent.served, 2);
}

/* Two ops driven by the caller's own poll loop, as a gateway would. */
static void
test_event_loop(void **state)
{
	struct kdcclient_op *op[2];
	struct pollfd pfd[2];
	struct kdcclient *kc;
	struct fake f;
	int64_t now, next;
	int r[2], i, n, loops = 0;

	(void)state;
	fake_start(&f, M_GOOD);
	kc = client_new(hk_client, &f.addr, 1, 2000, 0, false);
	op[0] = kdcclient_request_start(kc, peer_id, "a", NULL, 0);
	op[1] = kdcclient_request_start(kc, peer_id, "b", NULL, 0);
	assert_int_equal(kdcclient_fd(op[0]), -1);
	r[0] = r[1] = KDCCLIENT_WANT_WRITE;
	for (;;) {
		now = kdcclient_now_ms();
		next = INT64_MAX;
		for (i = 0, n = 0; i < 2; i++) {
			if (r[i] == KDCCLIENT_WANT_READ ||
			    r[i] == KDCCLIENT_WANT_WRITE)
				r[i] = kdcclient_step(op[i], now);
			if (r[i] != KDCCLIENT_WANT_READ &&
			    r[i] != KDCCLIENT_WANT_WRITE)
				continue;
			assert_true(kdcclient_fd(op[i]) >= 0);
			pfd[n].fd = kdcclient_fd(op[i]);
			pfd[n].events =
			    r[i] == KDCCLIENT_WANT_READ ? POLLIN : POLLOUT;
			n++;
			if (kdcclient_deadline(op[i]) < next)
				next = kdcclient_deadline(op[i]);
		}
		if (n == 0)
			break;
		assert_true(next > now && next <= now + 2000);
		assert_true(poll(pfd, (nfds_t)n, (int)(next - now)) >= 0);
		assert_true(++loops < 1000);
	}
	assert_int_equal(r[0], KDCCLIENT_DONE);
	assert_int_equal(r[1], KDCCLIENT_DONE);
	assert_string_equal(kdcclient_result(op[0])->service, "a");
	assert_string_equal(kdcclient_result(op[1])->service, "b");
	assert_int_equal(kdcclient_deadline(op[0]), INT64_MAX);
	kdcclient_op_free(op[0]);
	kdcclient_op_free(op[1]);
	kdcclient_free(kc);
	fake_stop(&f);
	assert_int_equal(f.bad, 0);
}

/* An RSA host (suite 2): the key is sealed with RSA-OAEP. */
static void
test_rsa_host(void **state)
{
	struct kdcclient_op *op;
	struct hostkey *rsa;
	struct kdcclient *kc;
	struct fake f;

	(void)state;
	rsa = hostkey_generate(HOSTKEY_RSA);
	assert_non_null(rsa);
	fake_start(&f, M_GOOD);
	hostkey_public(rsa, &f.client);
	kc = client_new(rsa, &f.addr, 1, 5000, 0, false);
	op = kdcclient_request_start(kc, peer_id, "ftp", NULL, 0);
	assert_int_equal(kdcclient_run(op), 0);
	assert_int_equal(f.last.hdr.suite, WIRE_SUITE_RSA);
	assert_memory_equal(
	    kdcclient_result(op)->session_key, f.session_key, 32);
	kdcclient_op_free(op);
	kdcclient_free(kc);
	fake_stop(&f);
	assert_int_equal(f.bad, 0);
	hostkey_free(rsa);
}

static void
test_psk_identity(void **state)
{
	static const uint8_t want[32] = { 0xc8, 0x62, 0xe8, 0x58, 0x15, 0x94,
		0x28, 0x87, 0x22, 0x0c, 0xbd, 0xce, 0xa4, 0x05, 0x74, 0x75,
		0x2e, 0xa7, 0x36, 0xc8, 0x7f, 0xb9, 0xcf, 0x1c, 0x20, 0xb2,
		0xaa, 0xf5, 0x5b, 0x36, 0x83, 0x89 };
	uint8_t key[32], kid[16], psk[32], back[16];
	char id[KDCCLIENT_IDENTITYBYTES], longname[300];
	size_t i;

	(void)state;
	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < 16; i++)
		kid[i] = (uint8_t)(0xa0 + i);
	/* HKDF-Expand(key, "cryptgate tls13 psk" || kid, 32), computed
	 * independently (Python hmac). */
	assert_int_equal(kdcclient_psk(psk, key, kid), 0);
	assert_memory_equal(psk, want, 32);
	assert_int_equal(kdcclient_identity(id, sizeof(id), "kdc1", kid), 0);
	assert_string_equal(id, "kdc1-a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
	assert_int_equal(kdcclient_identity_parse(id, "kdc1", back), 0);
	assert_memory_equal(back, kid, 16);
	assert_int_equal(kdcclient_identity_parse(id, "kdc", back), -1);
	assert_int_equal(
	    kdcclient_identity_parse("kdc1-a0a1", "kdc1", back), -1);
	assert_int_equal(
	    kdcclient_identity_parse(
	        "kdc1-a0a1a2a3a4a5a6a7a8a9aaabacadaeaz", "kdc1", back),
	    -1);
	assert_int_equal(kdcclient_identity(id, 10, "kdc1", kid), -1);
	assert_int_equal(kdcclient_identity(id, sizeof(id), "k:1", kid), -1);
	assert_int_equal(kdcclient_identity(id, sizeof(id), "k 1", kid), -1);
	memset(longname, 'k', sizeof(longname));
	longname[KDCCLIENT_KDCNAME_MAX] = '\0';
	assert_int_equal(kdcclient_identity(id, sizeof(id), longname, kid), 0);
	assert_int_equal(strlen(id), 255);
	longname[KDCCLIENT_KDCNAME_MAX] = 'k';
	longname[KDCCLIENT_KDCNAME_MAX + 1] = '\0';
	assert_false(kdcclient_kdc_name_is_valid(longname));
	assert_false(kdcclient_kdc_name_is_valid(""));
}

static void
test_addr(void **state)
{
	struct wire_addr a;
	char buf[64];

	(void)state;
	assert_int_equal(kdcclient_addr_parse(&a, "192.0.2.1"), 0);
	assert_int_equal(a.family, WIRE_AF_INET);
	assert_int_equal(kdcclient_addr_format(buf, sizeof(buf), &a), 0);
	assert_string_equal(buf, "192.0.2.1");
	/* A v4-mapped IPv6 literal is the IPv4 address. */
	assert_int_equal(kdcclient_addr_parse(&a, "::ffff:192.0.2.1"), 0);
	assert_int_equal(a.family, WIRE_AF_INET);
	assert_int_equal(kdcclient_addr_parse(&a, "fe80::1"), 0);
	assert_int_equal(a.family, WIRE_AF_INET6);
	assert_int_equal(kdcclient_addr_parse(&a, "192.0.2.1:80"), -1);
	assert_int_equal(kdcclient_addr_parse(&a, "[::1]"), -1);
	assert_int_equal(kdcclient_addr_parse(&a, "host"), -1);
	assert_int_equal(kdcclient_addr_parse(&a, ""), -1);
}

/* kdcclient_new refuses bad configurations. */
static void
test_new_invalid(void **state)
{
	struct kdcclient_addr a;
	struct kdcclient_config cfg;

	(void)state;
	dead_addr(&a);
	memset(&cfg, 0, sizeof(cfg));
	cfg.key = hk_client;
	cfg.kdc_pub = &pub_kdc;
	cfg.addrs = &a;
	cfg.naddrs = 1;
	cfg.kdc_name = "kdc:1";
	assert_null(kdcclient_new(&cfg));
	cfg.kdc_name = NULL;
	cfg.naddrs = 0;
	assert_null(kdcclient_new(&cfg));
	cfg.naddrs = KDCCLIENT_ADDRS_MAX + 1;
	assert_null(kdcclient_new(&cfg));
	cfg.naddrs = 1;
	cfg.kdc_pub = NULL;
	assert_null(kdcclient_new(&cfg));
	cfg.kdc_pub = &pub_kdc;
	a.ss.ss_family = AF_UNIX;
	assert_null(kdcclient_new(&cfg));
}

static int
setup(void **state)
{
	(void)state;
	hk_client = hostkey_generate(HOSTKEY_X25519);
	hk_kdc = hostkey_generate(HOSTKEY_X25519);
	hk_kdc2 = hostkey_generate(HOSTKEY_X25519);
	hk_evil = hostkey_generate(HOSTKEY_X25519);
	hk_new = hostkey_generate(HOSTKEY_X25519);
	if (hk_client == NULL || hk_kdc == NULL || hk_kdc2 == NULL ||
	    hk_evil == NULL || hk_new == NULL)
		return (-1);
	hostkey_public(hk_client, &pub_client);
	hostkey_public(hk_kdc, &pub_kdc);
	hostkey_public(hk_kdc2, &pub_kdc2);
	return (0);
}

static int
teardown(void **state)
{
	(void)state;
	hostkey_free(hk_client);
	hostkey_free(hk_kdc);
	hostkey_free(hk_kdc2);
	hostkey_free(hk_evil);
	hostkey_free(hk_new);
	return (0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_good),
		cmocka_unit_test(test_request_addr),
		cmocka_unit_test(test_retrieve_good),
		cmocka_unit_test(test_enroll),
		cmocka_unit_test(test_revoke_rotate),
		cmocka_unit_test(test_bad_responses),
		cmocka_unit_test(test_other_id),
		cmocka_unit_test(test_kvno),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_timeout_next),
		cmocka_unit_test(test_all_dead),
		cmocka_unit_test(test_event_loop),
		cmocka_unit_test(test_rsa_host),
		cmocka_unit_test(test_psk_identity),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_new_invalid),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
