/*
 * fuzz_wire.c: the KDC protocol v1 decoders on arbitrary bytes.
 *
 * Properties (abort() if broken):
 *  - whatever wire_msg_decode accepts, wire_msg_encode re-encodes to the
 *    very same bytes;
 *  - the same for wire_hdr_decode / wire_hdr_encode on the first 48 bytes;
 *  - the framing helpers agree with the decoder.
 *
 * Each input is tried twice: as a whole frame (corpus files that start
 * with a length prefix), and as a body: byte 0 picks the type and suite,
 * the rest is wrapped in a valid length prefix, header and zero signature,
 * so the fuzzer explores every body parser without guessing lengths.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cryptgate/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t types[] = { WIRE_RETRIEVE, WIRE_REQUEST, WIRE_ENROLL,
	WIRE_REVOKE, WIRE_ROTATE, WIRE_RETRIEVE_RESP, WIRE_REQUEST_RESP,
	WIRE_ENROLL_RESP, WIRE_REVOKE_RESP, WIRE_ROTATE_RESP, WIRE_ERROR };
#define NTYPES (sizeof(types) / sizeof(types[0]))

static uint8_t out[WIRE_FRAMEBYTES_MAX];
static uint8_t frame[WIRE_FRAMEBYTES_MAX];

static void
check_frame(const uint8_t *buf, size_t len)
{
	struct wire_msg msg;
	struct wire_hdr hdr;
	const uint8_t *m;
	size_t outlen, mlen, a, b;
	ssize_t peek;
	uint16_t err;
	int ok;

	ok = wire_msg_decode(&msg, buf, len, &err) == 0;
	if (ok) {
		if (wire_msg_encode(out, sizeof(out), &outlen, &msg) != 0 ||
		    outlen != len || memcmp(out, buf, len) != 0)
			abort();
		/* A decoded frame has valid framing. */
		peek = wire_frame_peek_len(buf);
		if (peek < 0 || (size_t)peek != len ||
		    wire_frame_signed(buf, len, &m, &mlen) != 0 ||
		    m != buf + WIRE_LENBYTES ||
		    mlen != len - WIRE_LENBYTES - WIRE_SIGBYTES)
			abort();
		if ((msg.hdr.type == WIRE_RETRIEVE_RESP ||
		        msg.hdr.type == WIRE_REQUEST_RESP) &&
		    (wire_frame_sealed(buf, len, &a, &b) != 0 ||
		        b !=
		            len - WIRE_SIGBYTES -
		                wire_sealed_bytes(msg.hdr.suite)))
			abort();
		if (msg.hdr.type == WIRE_ENROLL &&
		    (wire_frame_enroll_mac(buf, len, &a, &b) != 0 ||
		        b != len - WIRE_SIGBYTES - WIRE_MACBYTES))
			abort();
	} else if (err != WIRE_ERR_VERSION && err != WIRE_ERR_MALFORMED) {
		abort();
	}
	if (len >= WIRE_LENBYTES) {
		(void)wire_frame_peek_len(buf);
		(void)!wire_frame_signed(buf, len, &m, &mlen);
		(void)!wire_frame_sealed(buf, len, &a, &b);
		(void)!wire_frame_enroll_mac(buf, len, &a, &b);
	}
	if (len >= WIRE_LENBYTES + WIRE_HDRBYTES &&
	    wire_hdr_decode(&hdr, buf + WIRE_LENBYTES) == 0) {
		if (wire_hdr_encode(out, &hdr) != 0 ||
		    memcmp(out, buf + WIRE_LENBYTES, WIRE_HDRBYTES) != 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_msg msg;
	size_t body, len;

	check_frame(data, size);

	/* As a body of the type and suite picked by byte 0. */
	if (size < 1 || size - 1 > WIRE_BODY_MAX)
		return (0);
	body = size - 1;
	memset(&msg, 0, sizeof(msg));
	msg.hdr.version = WIRE_VERSION;
	msg.hdr.type = types[data[0] % NTYPES];
	msg.hdr.suite = (uint8_t)(1 + (data[0] / NTYPES) % 2);
	msg.hdr.body_len = (uint16_t)body;
	msg.hdr.signer_kvno = WIRE_KVNO_FIRST;
	len = WIRE_LENBYTES + WIRE_FRAME_MIN + body;
	frame[0] = (uint8_t)((len - WIRE_LENBYTES) >> 24);
	frame[1] = (uint8_t)((len - WIRE_LENBYTES) >> 16);
	frame[2] = (uint8_t)((len - WIRE_LENBYTES) >> 8);
	frame[3] = (uint8_t)(len - WIRE_LENBYTES);
	if (wire_hdr_encode(frame + WIRE_LENBYTES, &msg.hdr) != 0)
		abort();
	memcpy(frame + WIRE_LENBYTES + WIRE_HDRBYTES, data + 1, body);
	memset(frame + len - WIRE_SIGBYTES, 0, WIRE_SIGBYTES);
	check_frame(frame, len);
	return (0);
}
