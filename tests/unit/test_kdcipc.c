/*
 * test_kdcipc.c: the messages between cryptgate-kdcd's network process and
 * its keystore (src/kdcd/ipc.c): what the keystore accepts, and that it
 * acts on a decoded request only if it is exactly its frame.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "cryptgate/wire.h"

/* NOLINTNEXTLINE(bugprone-suspicious-include): tested on its own. */
#include "../../src/kdcd/ipc.c"

#include "wire_fixture.h"

static struct sockaddr_storage src4;

static void
setup_src(void)
{
	struct sockaddr_in *in = (struct sockaddr_in *)&src4;

	memset(&src4, 0, sizeof(src4));
	in->sin_family = AF_INET;
	in->sin_port = htons(40000);
	in->sin_addr.s_addr = htonl(0x7f000001);
}

/* The message for a valid frame of ${type}/${suite}; its size in ${n}. */
static struct ipc_req *
make(unsigned int type, unsigned int suite, size_t *n)
{
	struct ipc_req *r = calloc(1, sizeof(*r));
	uint8_t frame[WIRE_FRAMEBYTES_MAX];
	struct wire_msg m;
	size_t len;

	assert_non_null(r);
	fill(&m, type, suite);
	assert_int_equal(wire_msg_encode(frame, sizeof(frame), &len, &m), 0);
	setup_src();
	*n = ipc_req_fill(r, 0x1122334455667788ULL, frame, len, &src4,
	    sizeof(struct sockaddr_in));
	return (r);
}

/* Every request type and suite: filled, checked, matched; the decoded
 * message is the one encoded. */
static void
test_roundtrip(void **state)
{
	struct ipc_req *r;
	struct wire_msg m;
	size_t i, n;

	(void)state;
	for (i = 0; i < NCOMBOS; i++) {
		if (wire_type_is_response(combos[i][0]))
			continue;
		r = make(combos[i][0], combos[i][1], &n);
		assert_int_equal(r->decode_err, 0);
		assert_int_equal(r->type, combos[i][0]);
		assert_int_equal(r->suite, combos[i][1]);
		assert_int_equal(n, IPC_REQ_BYTES(r->framelen));
		assert_int_equal(ipc_req_check(r, n), 0);
		assert_int_equal(ipc_req_match(r), 0);
		fill(&m, combos[i][0], combos[i][1]);
		trim(&m);
		m.hdr.body_len =
		    (uint16_t)(r->framelen - WIRE_LENBYTES - WIRE_FRAME_MIN);
		assert_memory_equal(&m, &r->msg, sizeof(m));
		free(r);
	}
}

/* A decoding that is not the frame is refused: any field of the message,
 * any byte of the frame (the signature too). */
static void
test_mismatch(void **state)
{
	struct ipc_req *r;
	size_t n, off;

	(void)state;
	r = make(WIRE_REQUEST, 1, &n);
	r->msg.u.request.peer_id[3] ^= 1;
	assert_int_equal(ipc_req_check(r, n), 0);
	assert_int_not_equal(ipc_req_match(r), 0);
	free(r);

	r = make(WIRE_RETRIEVE, 2, &n);
	r->msg.hdr.timestamp++;
	assert_int_not_equal(ipc_req_match(r), 0);
	free(r);

	for (off = WIRE_LENBYTES; off < 400; off += 37) {
		r = make(WIRE_REQUEST, 2, &n);
		if (off >= r->framelen) {
			free(r);
			break;
		}
		r->frame[off] ^= 0x80;
		assert_int_equal(ipc_req_check(r, n), 0);
		assert_int_not_equal(ipc_req_match(r), 0);
		free(r);
	}
	/* The last byte: the signature. */
	r = make(WIRE_REVOKE, 1, &n);
	r->frame[r->framelen - 1] ^= 1;
	assert_int_not_equal(ipc_req_match(r), 0);
	free(r);
}

/* An undecodable frame travels with its error code and never matches. */
static void
test_undecodable(void **state)
{
	uint8_t frame[WIRE_LENBYTES + WIRE_FRAME_MIN];
	struct ipc_req *r = calloc(1, sizeof(*r));
	size_t n;

	(void)state;
	assert_non_null(r);
	memset(frame, 0xee, sizeof(frame));
	frame[0] = 0;
	frame[1] = 0;
	frame[2] = (uint8_t)(WIRE_FRAME_MIN >> 8);
	frame[3] = (uint8_t)WIRE_FRAME_MIN;
	setup_src();
	n = ipc_req_fill(
	    r, 7, frame, sizeof(frame), &src4, sizeof(struct sockaddr_in));
	assert_int_not_equal(r->decode_err, 0);
	assert_int_equal(r->type, 0xee);
	assert_int_equal(ipc_req_check(r, n), 0);
	assert_int_not_equal(ipc_req_match(r), 0);
	free(r);
}

/* The keystore's checks of the fixed part. */
static void
test_check(void **state)
{
	struct ipc_req *r;
	size_t n;

	(void)state;
	r = make(WIRE_REQUEST, 1, &n);
	assert_int_equal(ipc_req_check(r, n), 0);
	assert_int_not_equal(ipc_req_check(r, n - 1), 0);
	assert_int_not_equal(ipc_req_check(r, n + 1), 0);
	assert_int_not_equal(ipc_req_check(r, 3), 0);
	assert_int_not_equal(ipc_req_check(r, 0), 0);
	r->magic = IPC_RESP_MAGIC;
	assert_int_not_equal(ipc_req_check(r, n), 0);
	r->magic = IPC_REQ_MAGIC;
	r->framelen = WIRE_FRAMEBYTES_MAX + 1;
	assert_int_not_equal(ipc_req_check(r, IPC_REQ_BYTES(r->framelen)), 0);
	r->framelen = WIRE_FRAME_MIN;
	assert_int_not_equal(ipc_req_check(r, IPC_REQ_BYTES(r->framelen)), 0);
	free(r);

	r = make(WIRE_REQUEST, 1, &n);
	r->src.ss_family = AF_UNIX;
	assert_int_not_equal(ipc_req_check(r, n), 0);
	r->src.ss_family = AF_INET6;
	assert_int_not_equal(ipc_req_check(r, n), 0); /* srclen of v4 */
	r->srclen = sizeof(struct sockaddr_in6);
	assert_int_equal(ipc_req_check(r, n), 0);
	r->srclen = sizeof(r->src) + 1;
	assert_int_not_equal(ipc_req_check(r, n), 0);
	r->srclen = sizeof(struct sockaddr_in6);
	r->decode_err = WIRE_ERR_INTERNAL;
	assert_int_not_equal(ipc_req_check(r, n), 0);
	r->decode_err = WIRE_ERR_VERSION;
	assert_int_equal(ipc_req_check(r, n), 0);
	free(r);
}

/* The network process's checks of an answer, and the statistics. */
static void
test_resp_stats(void **state)
{
	struct ipc_resp a;
	struct ipc_stats s;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.magic = IPC_RESP_MAGIC;
	a.resplen = IPC_RESPBYTES_MAX;
	assert_int_equal(ipc_resp_check(&a, sizeof(a)), 0);
	assert_int_not_equal(ipc_resp_check(&a, sizeof(a) - 1), 0);
	a.resplen = IPC_RESPBYTES_MAX + 1;
	assert_int_not_equal(ipc_resp_check(&a, sizeof(a)), 0);
	a.resplen = 10;
	a.close = 2;
	assert_int_not_equal(ipc_resp_check(&a, sizeof(a)), 0);
	a.close = 1;
	a.magic = IPC_REQ_MAGIC;
	assert_int_not_equal(ipc_resp_check(&a, sizeof(a)), 0);

	memset(&s, 0, sizeof(s));
	s.magic = IPC_STATS_MAGIC;
	assert_int_equal(ipc_stats_check(&s, sizeof(s)), 0);
	assert_int_not_equal(ipc_stats_check(&s, sizeof(s) + 1), 0);
	s.magic = IPC_RESP_MAGIC;
	assert_int_not_equal(ipc_stats_check(&s, sizeof(s)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_mismatch),
		cmocka_unit_test(test_undecodable),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_resp_stats),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
