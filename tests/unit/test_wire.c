/*
 * test_wire.c: KDC protocol v1 wire format (wire.c, wire_msg.c): round trips of every message, golden bytes, every malformed
 * variant rejected by the decoder and refused by the encoder, the frame
 * cap, signatures and the helper regions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "cryptgate/digest.h"
#include "cryptgate/log.h"
#include "cryptgate/sign.h"
#include "cryptgate/wire.h"

#include "wire_fixture.h"

static size_t
enc(uint8_t *buf, const struct wire_msg *m)
{
	size_t len = 0;

	assert_int_equal(wire_msg_encode(buf, BUFSZ, &len, m), 0);
	return (len);
}

static bool
decodes(const uint8_t *buf, size_t len)
{
	struct wire_msg m;

	return (wire_msg_decode(&m, buf, len, NULL) == 0);
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Rewrite the length prefix and body_len of ${buf} for body ${bodylen}. */
static size_t
reframe(uint8_t *buf, size_t bodylen)
{
	put32(buf, (uint32_t)(WIRE_FRAME_MIN + bodylen));
	buf[4 + WIRE_HDR_BODYLEN] = (uint8_t)(bodylen >> 8);
	buf[4 + WIRE_HDR_BODYLEN + 1] = (uint8_t)bodylen;
	return (WIRE_LENBYTES + WIRE_FRAME_MIN + bodylen);
}

static void
test_roundtrip(void **state)
{
	uint8_t buf[BUFSZ], buf2[BUFSZ];
	struct wire_msg m, d;
	size_t i, len, len2;
	uint16_t err;

	for (i = 0; i < NCOMBOS; i++) {
		fill(&m, combos[i][0], combos[i][1]);
		len = enc(buf, &m);
		assert_int_equal(wire_frame_peek_len(buf), (ssize_t)len);
		assert_int_equal(wire_msg_decode(&d, buf, len, &err), 0);
		trim(&m);
		m.hdr.body_len =
		    (uint16_t)(len - WIRE_LENBYTES - WIRE_FRAME_MIN);
		assert_memory_equal(&m, &d, sizeof(m));
		len2 = enc(buf2, &d);
		assert_int_equal(len2, len);
		assert_memory_equal(buf, buf2, len);
	}
}

static void
test_golden(void **state)
{
	/* REVOKE: kind 1, id 0x00..0x0f, reason 2, suite 1, kvno 3. */
	static const uint8_t revoke[] = {
		0x00, 0x00, 0x00, 0x82, /* len = 48 + 18 + 64 = 130 */
		0x01, 0x04, 0x01, 0x00, 0x00, 0x12, 0x00, 0x03, /* hdr */
		0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9,
		0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, /* sender */
		0x00, 0x00, 0x01, 0x8c, 0x00, 0x00, 0x00, 0x01, /* ts */
		0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9,
		0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, /* nonce */
		0x01, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
		0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x02, /* body */
	};
	/* ERROR body: req_hash 0x11 * 32, code 5, kdc_time, retry 0x0102. */
	static const uint8_t errbody[] = { 0x00, 0x05, 0x00, 0x00, 0x01, 0x8c,
		0x12, 0x34, 0x56, 0x78, 0x01, 0x02 };
	uint8_t buf[BUFSZ];
	struct wire_msg m;
	size_t i, len;

	memset(&m, 0, sizeof(m));
	m.hdr.version = 1;
	m.hdr.type = WIRE_REVOKE;
	m.hdr.suite = 1;
	m.hdr.signer_kvno = 3;
	for (i = 0; i < 16; i++) {
		m.hdr.sender_id[i] = (uint8_t)(0xa0 + i);
		m.hdr.nonce[i] = (uint8_t)(0xb0 + i);
		m.u.revoke.id[i] = (uint8_t)i;
	}
	m.hdr.timestamp = 0x0000018c00000001ULL;
	m.u.revoke.kind = WIRE_REVOKE_KEY;
	m.u.revoke.reason = WIRE_REASON_SUPERSEDED;
	memset(m.sig, 0xee, sizeof(m.sig));
	len = enc(buf, &m);
	assert_int_equal(len, sizeof(revoke) + WIRE_SIGBYTES);
	assert_memory_equal(buf, revoke, sizeof(revoke));
	for (i = sizeof(revoke); i < len; i++)
		assert_int_equal(buf[i], 0xee);

	m.hdr.type = WIRE_ERROR;
	memset(m.u.error.req_hash, 0x11, WIRE_HASHBYTES);
	m.u.error.code = WIRE_ERR_DENIED;
	m.u.error.kdc_time = 0x0000018c12345678ULL;
	m.u.error.retry_after = 0x0102;
	len = enc(buf, &m);
	assert_int_equal(len, 4 + 48 + WIRE_ERROR_BYTES + 64);
	assert_int_equal(buf[4 + WIRE_HDR_TYPE], 0xff);
	for (i = 0; i < WIRE_HASHBYTES; i++)
		assert_int_equal(buf[52 + i], 0x11);
	assert_memory_equal(buf + 52 + 32, errbody, sizeof(errbody));
}

/* Truncated at every length, consistent or not, and one byte too long. */
static void
test_truncated_trailing(void **state)
{
	uint8_t buf[BUFSZ], cut[BUFSZ];
	struct wire_msg m;
	size_t i, n, len, body, clen;

	for (i = 0; i < NCOMBOS; i++) {
		fill(&m, combos[i][0], combos[i][1]);
		len = enc(buf, &m);
		body = len - WIRE_LENBYTES - WIRE_FRAME_MIN;
		for (n = 0; n < len; n++)
			assert_false(decodes(buf, n));
		/* Body cut short with a length prefix and body_len to match. */
		for (n = 0; n < body; n++) {
			memcpy(cut, buf, 52 + n);
			memcpy(cut + 52 + n, buf + len - 64, 64);
			clen = reframe(cut, n);
			assert_false(decodes(cut, clen));
		}
		/* One trailing byte, with and without matching lengths. */
		memcpy(cut, buf, len);
		cut[len] = 0;
		assert_false(decodes(cut, len + 1));
		memcpy(cut, buf, 52 + body);
		cut[52 + body] = 0;
		memcpy(cut + 53 + body, buf + len - 64, 64);
		clen = reframe(cut, body + 1);
		assert_false(decodes(cut, clen));
		/* The untouched frame still decodes. */
		assert_true(decodes(buf, len));
	}
}

static void
test_bad_header(void **state)
{
	static const uint8_t badtypes[] = { 0, 6, 0x7f, 0x80, 0x86, 0xfe };
	uint8_t buf[BUFSZ], b[BUFSZ];
	struct wire_msg m, d;
	struct wire_hdr h;
	size_t i, len;
	uint16_t err;

	fill(&m, WIRE_REQUEST, 1);
	len = enc(buf, &m);
	for (i = 0; i < 256; i++) {
		if (i == 1)
			continue;
		memcpy(b, buf, len);
		b[4 + WIRE_HDR_VERSION] = (uint8_t)i;
		err = 0;
		assert_int_equal(wire_msg_decode(&d, b, len, &err), -1);
		assert_int_equal(err, WIRE_ERR_VERSION);
		assert_int_equal(wire_hdr_decode(&h, b + 4), -1);
	}
	for (i = 0; i < sizeof(badtypes); i++) {
		memcpy(b, buf, len);
		b[4 + WIRE_HDR_TYPE] = badtypes[i];
		assert_int_equal(wire_msg_decode(&d, b, len, &err), -1);
		assert_int_equal(err, WIRE_ERR_MALFORMED);
		assert_int_equal(wire_hdr_decode(&h, b + 4), -1);
	}
	for (i = 0; i < 256; i++) {
		memcpy(b, buf, len);
		b[4 + WIRE_HDR_SUITE] = (uint8_t)i;
		if (i == 1 || i == 2) {
			assert_true(decodes(b, len));
			continue;
		}
		assert_false(decodes(b, len));
		assert_int_equal(wire_hdr_decode(&h, b + 4), -1);
	}
	for (i = 1; i < 256; i++) {
		memcpy(b, buf, len);
		b[4 + WIRE_HDR_FLAGS] = (uint8_t)i;
		assert_false(decodes(b, len));
		assert_int_equal(wire_hdr_decode(&h, b + 4), -1);
	}
	/* body_len off by one either way; length prefix off by one. */
	memcpy(b, buf, len);
	b[4 + WIRE_HDR_BODYLEN + 1]++;
	assert_false(decodes(b, len));
	b[4 + WIRE_HDR_BODYLEN + 1] -= 2;
	assert_false(decodes(b, len));
	memcpy(b, buf, len);
	b[3]++;
	b[len] = 0;
	assert_false(decodes(b, len));
	assert_false(decodes(b, len + 1));
	/* A request type where a response is expected is still valid. */
	assert_int_equal(wire_msg_decode(&d, buf, len, &err), 0);

	/* The encoders refuse the same. */
	fill(&m, WIRE_REQUEST, 1);
	m.hdr.version = 2;
	assert_int_equal(wire_msg_encode(b, BUFSZ, &len, &m), -1);
	assert_int_equal(wire_hdr_encode(b, &m.hdr), -1);
	fill(&m, WIRE_REQUEST, 1);
	m.hdr.flags = 1;
	assert_int_equal(wire_msg_encode(b, BUFSZ, &len, &m), -1);
	fill(&m, WIRE_REQUEST, 3);
	assert_int_equal(wire_msg_encode(b, BUFSZ, &len, &m), -1);
	fill(&m, WIRE_REQUEST, 1);
	m.hdr.type = 6;
	assert_int_equal(wire_msg_encode(b, BUFSZ, &len, &m), -1);
	/* Output buffer too small by one byte. */
	fill(&m, WIRE_REQUEST, 1);
	len = enc(buf, &m);
	assert_int_equal(wire_msg_encode(b, len - 1, &len, &m), -1);
}

static void
test_frame_cap(void **state)
{
	static uint8_t big[WIRE_FRAMEBYTES_MAX + 1];
	uint8_t p[4];

	put32(p, WIRE_FRAME_MAX);
	assert_int_equal(wire_frame_peek_len(p), WIRE_FRAMEBYTES_MAX);
	put32(p, WIRE_FRAME_MAX + 1);
	assert_int_equal(wire_frame_peek_len(p), -1);
	put32(p, 0xffffffff);
	assert_int_equal(wire_frame_peek_len(p), -1);
	put32(p, WIRE_FRAME_MIN);
	assert_int_equal(
	    wire_frame_peek_len(p), WIRE_LENBYTES + WIRE_FRAME_MIN);
	put32(p, WIRE_FRAME_MIN - 1);
	assert_int_equal(wire_frame_peek_len(p), -1);
	put32(p, 0);
	assert_int_equal(wire_frame_peek_len(p), -1);

	/* A frame over the cap never decodes, whatever it holds. */
	memset(big, 0, sizeof(big));
	put32(big, WIRE_FRAME_MAX + 1);
	big[4] = 1;
	big[5] = WIRE_RETRIEVE;
	big[6] = 1;
	assert_false(decodes(big, sizeof(big)));
	/* At the cap: body_len would be 16272, no body is that long. */
	put32(big, WIRE_FRAME_MAX);
	big[4 + WIRE_HDR_BODYLEN] = (uint8_t)(WIRE_BODY_MAX >> 8);
	big[4 + WIRE_HDR_BODYLEN + 1] = (uint8_t)WIRE_BODY_MAX;
	assert_false(decodes(big, WIRE_FRAMEBYTES_MAX));
}

/* Build a frame around a raw body and say whether it decodes. */
static bool
raw_decodes(
    unsigned int type, unsigned int suite, const uint8_t *body, size_t bodylen)
{
	uint8_t buf[BUFSZ];
	struct wire_msg m;

	fill(&m, type == WIRE_ENROLL ? WIRE_ENROLL : WIRE_REVOKE, suite);
	m.hdr.type = (uint8_t)type;
	assert_int_equal(wire_hdr_encode(buf + 4, &m.hdr), 0);
	memcpy(buf + 52, body, bodylen);
	memset(buf + 52 + bodylen, 0, 64);
	return (decodes(buf, reframe(buf, bodylen)));
}

/* A RETRIEVE body with service ${s} of ${n} bytes. */
static bool
retrieve_with_service(const char *s, size_t n)
{
	uint8_t body[64 + 300];
	struct wire_addr a;

	memset(body, 0x42, 16);
	v4(&a, 1);
	body[16] = a.family;
	memcpy(body + 17, a.addr, 16);
	body[33] = (uint8_t)n;
	memcpy(body + 34, s, n);
	return (raw_decodes(WIRE_RETRIEVE, 1, body, 34 + n));
}

static void
test_strings(void **state)
{
	char s[300];
	uint8_t buf[BUFSZ];
	struct wire_msg m;
	size_t len;

	memset(s, 'a', sizeof(s));
	assert_true(retrieve_with_service("ftp", 3));
	assert_true(retrieve_with_service(s, 64));
	assert_false(retrieve_with_service(s, 65));
	assert_false(retrieve_with_service(s, 255));
	assert_false(retrieve_with_service("", 0));
	assert_false(retrieve_with_service("a b", 3));
	assert_false(retrieve_with_service("a/b", 3));
	assert_false(retrieve_with_service("a\0b", 3));
	assert_false(retrieve_with_service("a\x80", 2));
	assert_false(retrieve_with_service("a:", 2));
	assert_true(retrieve_with_service("A-z_0.9", 7));

	fill(&m, WIRE_RETRIEVE, 1);
	strcpy(m.u.retrieve.service, "a/b");
	assert_int_equal(wire_msg_encode(buf, BUFSZ, &len, &m), -1);
	m.u.retrieve.service[0] = '\0';
	assert_int_equal(wire_msg_encode(buf, BUFSZ, &len, &m), -1);
	/* 65 characters do not fit the array: no NUL, refused. */
	memset(m.u.retrieve.service, 'a', sizeof(m.u.retrieve.service));
	assert_int_equal(wire_msg_encode(buf, BUFSZ, &len, &m), -1);

	/* Host names: 253 is the limit (254 fits a u8 but is refused). */
	fill(&m, WIRE_ENROLL, 1);
	len = enc(buf, &m);
	assert_true(decodes(buf, len));
	m.u.enroll.hostname[10] = '*';
	assert_int_equal(wire_msg_encode(buf, BUFSZ, &len, &m), -1);

	assert_true(wire_name_is_valid("x", 1));
	assert_false(wire_name_is_valid("xy", 1));
	assert_false(wire_name_is_valid("", 10));
}

/* A REVOKE-sized raw body is the easiest carrier for a hand-made addr. */
static bool
request_with_addr(const struct wire_addr *a)
{
	uint8_t body[16 + 4 + 17 + 4];

	memset(body, 0x42, 16);
	body[16] = 3;
	memcpy(body + 17, "ftp", 3);
	body[20] = a->family;
	memcpy(body + 21, a->addr, 16);
	memset(body + 37, 0, 4);
	return (raw_decodes(WIRE_REQUEST, 1, body, sizeof(body)));
}

static void
test_addr(void **state)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_un sun;
	struct wire_addr a;
	unsigned int f;

	v4(&a, 1);
	assert_true(request_with_addr(&a));
	for (f = 0; f < 256; f++) {
		a.family = (uint8_t)f;
		if (f != 4)
			assert_false(request_with_addr(&a));
	}
	v4(&a, 1);
	a.addr[10] = 0xfe; /* family 4 but not v4-mapped */
	assert_false(request_with_addr(&a));
	a.family = WIRE_AF_INET6; /* ... is fine as family 6 */
	assert_true(request_with_addr(&a));
	v4(&a, 1);
	a.family = WIRE_AF_INET6; /* v4-mapped as family 6: not canonical */
	assert_false(request_with_addr(&a));
	v6(&a);
	assert_true(request_with_addr(&a));
	memset(&a, 0, sizeof(a));
	a.family = WIRE_AF_INET6; /* :: */
	assert_true(request_with_addr(&a));

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(21);
	assert_int_equal(inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr), 1);
	assert_int_equal(
	    wire_addr_from_sockaddr(&a, (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	assert_int_equal(a.family, WIRE_AF_INET);
	assert_true(wire_addr_is_valid(&a));
	assert_int_equal(a.addr[15], 7);
	assert_int_equal(wire_addr_from_sockaddr(
	                     &a, (struct sockaddr *)&sin, sizeof(sin) - 1),
	    -1);

	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	assert_int_equal(
	    inet_pton(AF_INET6, "::ffff:192.0.2.7", &sin6.sin6_addr), 1);
	assert_int_equal(
	    wire_addr_from_sockaddr(&a, (struct sockaddr *)&sin6, sizeof(sin6)),
	    0);
	assert_int_equal(a.family, WIRE_AF_INET);
	assert_int_equal(a.addr[15], 7);
	assert_int_equal(
	    inet_pton(AF_INET6, "2001:db8::1", &sin6.sin6_addr), 1);
	assert_int_equal(
	    wire_addr_from_sockaddr(&a, (struct sockaddr *)&sin6, sizeof(sin6)),
	    0);
	assert_int_equal(a.family, WIRE_AF_INET6);
	assert_memory_equal(a.addr, &sin6.sin6_addr, 16);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_int_equal(
	    wire_addr_from_sockaddr(&a, (struct sockaddr *)&sun, sizeof(sun)),
	    -1);
}

/*
 * Each case breaks one rule of a valid message: the encoder must refuse
 * the message, and the decoder the frame patched at ${off} (an offset in
 * the body) with ${val}.
 */
struct bad_case {
	uint8_t type, suite;
	size_t off; /* body offset to patch, or SIZE_MAX for none */
	uint8_t val;
};

/* Break rule ${which} of test_semantics' table in ${m}. */
static void
mutate(struct wire_msg *m, int which)
{
	switch (which) {
	case 0:
		m->u.revoke.kind = 0;
		break;
	case 1:
		m->u.revoke.kind = 4;
		break;
	case 2:
		m->u.revoke.reason = 4;
		break;
	case 3:
		m->u.revoke.kind = WIRE_REVOKE_MINE;
		break; /* id != 0 */
	case 4:
		m->u.enroll_resp.state = 0;
		break;
	case 5:
		m->u.enroll_resp.state = 3;
		break;
	case 6:
		m->u.error.code = 0;
		break;
	case 7:
		m->u.error.code = 11;
		break;
	case 8:
		m->u.rotate_resp.new_kvno = 0;
		break;
	case 9:
		m->u.rotate.new_kvno = 0;
		break;
	case 10:
		m->u.rotate.seal_alg = 3;
		break;
	case 11:
		m->u.rotate.new_seal_pk.len = 31;
		break;
	case 12:
		m->hdr.sender_id[5] = 1;
		break;
	case 13:
		m->hdr.signer_kvno = 2;
		break;
	case 14:
		m->u.enroll.seal_alg = 2;
		break;
	case 15:
		m->u.enroll.naddrs = WIRE_ADDRS_MAX + 1;
		break;
	case 16:
		m->u.enroll.addrs[3].family = 5;
		break;
	case 17:
		m->u.retrieve_resp.sealed.len = WIRE_SEALED_X25519 - 1;
		break;
	case 18:
		m->u.request_resp.not_before = m->u.request_resp.not_after + 1;
		break;
	case 19:
		m->u.request_resp.sealed.len = WIRE_SEALED_X25519;
		break;
	default:
		fail();
	}
}

static void
test_semantics(void **state)
{
	/* Body offsets: REVOKE kind 0, id 1, reason 17; ENROLL_RESP state
	 * 48; ERROR code 32..33; ROTATE_RESP kvno 32..33; ROTATE alg 32,
	 * kvno at 32 + 1 + 2 + 32; ENROLL alg 32, naddrs after the name. */
	static const struct bad_case cases[] = {
		{ WIRE_REVOKE, 1, 0, 0 },
		{ WIRE_REVOKE, 1, 0, 4 },
		{ WIRE_REVOKE, 1, 17, 4 },
		{ WIRE_REVOKE, 1, 0, 3 },
		{ WIRE_ENROLL_RESP, 1, 48, 0 },
		{ WIRE_ENROLL_RESP, 1, 48, 3 },
		{ WIRE_ERROR, 1, 33, 0 },
		{ WIRE_ERROR, 1, 33, 11 },
		{ WIRE_ROTATE_RESP, 1, 33, 0 },
		{ WIRE_ROTATE, 1, 32 + 3 + 32 + 1, 0 },
		{ WIRE_ROTATE, 1, 32, 3 },
		{ WIRE_ROTATE, 1, 34, 31 },
		{ WIRE_ENROLL, 1, SIZE_MAX, 0 },
		{ WIRE_ENROLL, 1, SIZE_MAX, 0 },
		{ WIRE_ENROLL, 1, 32, 2 },
		{ WIRE_ENROLL, 1, 32 + 3 + 32 + 1 + 253, 17 },
		{ WIRE_ENROLL, 1, 32 + 3 + 32 + 1 + 253 + 1 + 3 * 17, 5 },
		{ WIRE_RETRIEVE_RESP, 1, SIZE_MAX, 0 },
		{ WIRE_REQUEST_RESP, 1, SIZE_MAX, 0 },
		{ WIRE_REQUEST_RESP, 2, SIZE_MAX, 0 },
	};
	uint8_t buf[BUFSZ], b[BUFSZ];
	struct wire_msg m;
	size_t i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fill(&m, cases[i].type, cases[i].suite);
		len = enc(buf, &m);
		assert_true(decodes(buf, len));
		if (cases[i].off != SIZE_MAX) {
			memcpy(b, buf, len);
			b[52 + cases[i].off] = cases[i].val;
			if (!decodes(buf, len) || decodes(b, len))
				fail_msg("case %zu decodes", i);
		}
		mutate(&m, (int)i);
		if (wire_msg_encode(b, BUFSZ, &len, &m) != -1)
			fail_msg("case %zu encodes", i);
	}
	/* Header patches for ENROLL (decoder side). */
	fill(&m, WIRE_ENROLL, 2);
	len = enc(buf, &m);
	assert_true(decodes(buf, len));
	memcpy(b, buf, len);
	b[4 + WIRE_HDR_SENDER + 15] = 1;
	assert_false(decodes(b, len));
	memcpy(b, buf, len);
	b[4 + WIRE_HDR_KVNO + 1] = 2;
	assert_false(decodes(b, len));
	memcpy(b, buf, len);
	b[4 + WIRE_HDR_SUITE] = 1; /* suite 1 with an RSA key */
	assert_false(decodes(b, len));
}

static void
test_sign_verify(void **state)
{
	uint8_t pk[SIGN_PUBLICBYTES], sk[SIGN_SECRETBYTES];
	uint8_t pk2[SIGN_PUBLICBYTES], sk2[SIGN_SECRETBYTES];
	uint8_t buf[BUFSZ], b[BUFSZ], sig[SIGN_BYTES];
	const uint8_t *sm;
	struct wire_msg m;
	size_t i, len, smlen;
	int bit;

	assert_int_equal(sign_keypair(pk, sk), 0);
	assert_int_equal(sign_keypair(pk2, sk2), 0);
	fill(&m, WIRE_REQUEST, 1);
	len = enc(buf, &m);
	assert_int_equal(wire_frame_sign(buf, len, sk), 0);
	assert_int_equal(wire_frame_verify(buf, len, pk), 0);
	assert_int_equal(wire_frame_verify(buf, len, pk2), -1);
	assert_int_equal(wire_frame_verify(buf, len - 1, pk), -1);
	assert_true(decodes(buf, len));

	/* Any flipped bit, anywhere in the frame, fails. */
	for (i = 0; i < len; i++) {
		for (bit = 0; bit < 8; bit += 3) {
			memcpy(b, buf, len);
			b[i] ^= (uint8_t)(1 << bit);
			if (wire_frame_verify(b, len, pk) != -1)
				fail_msg("flipped byte %zu verifies", i);
		}
	}

	/* The signed region is hdr || body; the context is the request's. */
	assert_int_equal(wire_frame_signed(buf, len, &sm, &smlen), 0);
	assert_ptr_equal(sm, buf + 4);
	assert_int_equal(smlen, len - 4 - 64);
	assert_int_equal(
	    sign_verify(buf + len - 64, WIRE_CTX_REQUEST, sm, smlen, pk), 0);
	/* Signed as a response, a request does not verify. */
	assert_int_equal(
	    sign_detached(sig, WIRE_CTX_RESPONSE, sm, smlen, sk), 0);
	memcpy(buf + len - 64, sig, 64);
	assert_int_equal(wire_frame_verify(buf, len, pk), -1);

	/* Responses use the response context. */
	fill(&m, WIRE_ERROR, 1);
	len = enc(buf, &m);
	assert_int_equal(wire_frame_sign(buf, len, sk2), 0);
	assert_int_equal(wire_frame_verify(buf, len, pk2), 0);
	assert_int_equal(wire_frame_signed(buf, len, &sm, &smlen), 0);
	assert_int_equal(
	    sign_verify(buf + len - 64, WIRE_CTX_RESPONSE, sm, smlen, pk2), 0);
	/* Malformed framing cannot be signed. */
	buf[3]++;
	assert_int_equal(wire_frame_sign(buf, len, sk2), -1);
	assert_int_equal(wire_frame_signed(buf, len, &sm, &smlen), -1);
}

static void
test_frame_hash(void **state)
{
	uint8_t h[32], h2[32], buf[BUFSZ];
	struct wire_msg m;
	size_t len;

	fill(&m, WIRE_RETRIEVE, 1);
	len = enc(buf, &m);
	assert_int_equal(wire_frame_hash(h, buf, len), 0);
	assert_int_equal(digest_sha256(h2, buf, len), 0);
	assert_memory_equal(h, h2, 32);
	buf[len - 1] ^= 1; /* the signature is covered */
	assert_int_equal(wire_frame_hash(h2, buf, len), 0);
	assert_memory_not_equal(h, h2, 32);
	buf[len - 1] ^= 1;
	buf[0] ^= 1; /* so is the length prefix */
	assert_int_equal(wire_frame_hash(h2, buf, len), 0);
	assert_memory_not_equal(h, h2, 32);
}

static void
test_regions(void **state)
{
	static const uint8_t types[] = { WIRE_RETRIEVE_RESP,
		WIRE_REQUEST_RESP };
	uint8_t buf[BUFSZ], info[WIRE_SEAL_INFOBYTES], kid[16], rid[16];
	struct wire_msg m;
	size_t i, s, len, aadlen, off, n;
	const struct wire_sealed *sd;

	for (i = 0; i < 2; i++) {
		for (s = 1; s <= 2; s++) {
			fill(&m, types[i], (unsigned int)s);
			len = enc(buf, &m);
			n = wire_sealed_bytes((unsigned int)s);
			assert_int_equal(
			    wire_frame_sealed(buf, len, &aadlen, &off), 0);
			assert_int_equal(off, len - 64 - n);
			assert_int_equal(aadlen, off - 4 - 2);
			assert_int_equal(buf[off - 2], n >> 8);
			assert_int_equal(buf[off - 1], n & 0xff);
			sd = types[i] == WIRE_RETRIEVE_RESP
			    ? &m.u.retrieve_resp.sealed
			    : &m.u.request_resp.sealed;
			assert_memory_equal(buf + off, sd->blob, n);
		}
	}
	fill(&m, WIRE_REQUEST, 1);
	len = enc(buf, &m);
	assert_int_equal(wire_frame_sealed(buf, len, &aadlen, &off), -1);
	assert_int_equal(wire_frame_enroll_mac(buf, len, &aadlen, &off), -1);

	fill(&m, WIRE_ENROLL, 1);
	len = enc(buf, &m);
	assert_int_equal(wire_frame_enroll_mac(buf, len, &n, &off), 0);
	assert_int_equal(n, len - 4 - 64 - 32);
	assert_int_equal(off, 4 + n);
	assert_memory_equal(buf + off, m.u.enroll.enroll_mac, 32);

	pattern(kid, 16, 0x60);
	pattern(rid, 16, 0x70);
	assert_int_equal(WIRE_SEAL_INFOBYTES, 20 + 1 + 16 + 16);
	assert_int_equal(wire_seal_info(info, WIRE_ROLE_PEER, kid, rid), 0);
	assert_memory_equal(info, "cryptgate kdc v1 key", 20);
	assert_int_equal(info[20], 2);
	assert_memory_equal(info + 21, kid, 16);
	assert_memory_equal(info + 37, rid, 16);
	assert_int_equal(wire_seal_info(info, 0, kid, rid), -1);
	assert_int_equal(wire_seal_info(info, 3, kid, rid), -1);
}

static void
test_pop(void **state)
{
	uint8_t pk[32], sk[32], pk2[32], sk2[32], host[16], m[1024];
	struct wire_msg msg;
	struct wire_rotate r;
	size_t mlen;

	assert_int_equal(sign_keypair(pk, sk), 0);
	assert_int_equal(sign_keypair(pk2, sk2), 0);
	pattern(host, 16, 0x33);
	fill(&msg, WIRE_ROTATE, 2);
	r = msg.u.rotate;
	memcpy(r.new_sig_pk, pk, 32);
	assert_int_equal(wire_msg_pop_sign(&r, host, sk2), -1); /* wrong key */
	assert_int_equal(wire_msg_pop_sign(&r, host, sk), 0);
	assert_int_equal(wire_msg_pop_verify(&r, host), 0);
	assert_int_equal(wire_msg_pop(m, sizeof(m), &mlen, host, &r), 0);
	assert_int_equal(mlen, 16 + 32 + 1 + 2 + 422 + 2);
	assert_memory_equal(m, host, 16);
	assert_memory_equal(m + 16, pk, 32);
	assert_int_equal(m[48], 2);
	assert_int_equal(wire_msg_pop(m, mlen - 1, &mlen, host, &r), -1);
	host[0] ^= 1;
	assert_int_equal(wire_msg_pop_verify(&r, host), -1);
	host[0] ^= 1;
	r.new_kvno++;
	assert_int_equal(wire_msg_pop_verify(&r, host), -1);
	r.new_kvno--;
	r.new_seal_pk.key[100] ^= 1;
	assert_int_equal(wire_msg_pop_verify(&r, host), -1);
}

static void
test_fresh_names(void **state)
{
	uint64_t now = 1700000000000ULL;

	assert_true(wire_is_fresh(now, now));
	assert_true(wire_is_fresh(now - WIRE_SKEW_MS, now));
	assert_true(wire_is_fresh(now + WIRE_SKEW_MS, now));
	assert_false(wire_is_fresh(now - WIRE_SKEW_MS - 1, now));
	assert_false(wire_is_fresh(now + WIRE_SKEW_MS + 1, now));
	assert_false(wire_is_fresh(UINT64_MAX, 0));
	assert_false(wire_is_fresh(0, UINT64_MAX));
	assert_true(wire_is_fresh(0, WIRE_SKEW_MS));

	assert_string_equal(wire_type_name(WIRE_ROTATE_RESP), "ROTATE_RESP");
	assert_string_equal(wire_type_name(0x86), "unknown");
	assert_string_equal(wire_err_name(WIRE_ERR_MALFORMED), "MALFORMED");
	assert_string_equal(wire_err_name(WIRE_ERR_VERSION), "VERSION");
	assert_string_equal(wire_err_name(0), "unknown");
	assert_string_equal(wire_err_name(11), "unknown");
	assert_true(wire_type_is_response(WIRE_ERROR));
	assert_true(wire_type_is_response(WIRE_RETRIEVE_RESP));
	assert_false(wire_type_is_response(WIRE_RETRIEVE));
	assert_false(wire_type_is_response(0x86));
	assert_int_equal(wire_sealed_bytes(1), 80);
	assert_int_equal(wire_sealed_bytes(2), 384);
	assert_int_equal(wire_sealed_bytes(0), 0);
}

static int
setup(void **state)
{
	log_init(1, 0, LOG_USER);
	return (0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_truncated_trailing),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_frame_cap),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_semantics),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_frame_hash),
		cmocka_unit_test(test_regions),
		cmocka_unit_test(test_pop),
		cmocka_unit_test(test_fresh_names),
	};

	return (cmocka_run_group_tests(tests, setup, NULL));
}
