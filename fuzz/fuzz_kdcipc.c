/*
 * fuzz_kdcipc.c: what cryptgate-kdcd's keystore accepts from its network
 * process (src/kdcd/ipc.c, compiled in): ipc_req_check on raw packets, and
 * ipc_req_match, which runs the wire encoder over a decoded message the
 * network process made, on arbitrary message structures: a compromised
 * network process controls every byte of it.
 *
 * Input: byte 0: bits 0-2 pick the request type (RETRIEVE, REQUEST,
 * ENROLL, REVOKE, ROTATE, or as given), bit 3 the suite (1 or 2 unless
 * as given); then the bytes of a struct wire_msg (zero-padded); the last
 * two bytes pick a byte of the frame to flip.  The same bytes are also
 * checked as a raw packet by ipc_req_check, ipc_resp_check and
 * ipc_stats_check.  Checked beyond "no crash": when the message encodes,
 * the request message made of it matches its frame, that frame decodes,
 * and re-encoding the decoding gives the frame again (canonical); once
 * any byte of the frame is flipped, it no longer matches.
 *
 *   make fuzz && build/fuzz/fuzz_kdcipc -max_total_time=60 fuzz/corpus/kdcipc
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "cryptgate/log.h"
#include "cryptgate/wire.h"

/* NOLINTNEXTLINE(bugprone-suspicious-include): fuzzed on its own. */
#include "../src/kdcd/ipc.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t types[] = { WIRE_RETRIEVE, WIRE_REQUEST, WIRE_ENROLL,
	WIRE_REVOKE, WIRE_ROTATE };

static struct ipc_req req, req2;
static uint8_t frame[WIRE_FRAMEBYTES_MAX], frame2[WIRE_FRAMEBYTES_MAX];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct wire_msg m, d;
	size_t len, len2, n, flip;
	uint16_t err;

	log_init(1, 0, LOG_USER);
	/* The raw packet, as the keystore and the network process see it. */
	n = size < sizeof(req) ? size : sizeof(req);
	memset(&req, 0, sizeof(req));
	memcpy(&req, data, n);
	if (ipc_req_check(&req, size) == 0 && ipc_req_match(&req) == 0 &&
	    req.decode_err != 0)
		abort(); /* an undecodable frame never matches */
	if (ipc_resp_check((const struct ipc_resp *)(const void *)&req, size) ==
	        0 &&
	    size != sizeof(struct ipc_resp))
		abort();
	if (ipc_stats_check(
	        (const struct ipc_stats *)(const void *)&req, size) == 0 &&
	    size != sizeof(struct ipc_stats))
		abort();

	/* A decoded message as a network process could make it. */
	if (size < 1)
		return (0);
	memset(&m, 0, sizeof(m));
	n = size - 1 < sizeof(m) ? size - 1 : sizeof(m);
	memcpy(&m, data + 1, n);
	if ((data[0] & 7) < sizeof(types))
		m.hdr.type = types[data[0] & 7];
	if ((data[0] & 7) != 7)
		m.hdr.suite = (data[0] & 8) ? 2 : 1;
	if (wire_msg_encode(frame, sizeof(frame), &len, &m) != 0)
		return (0);
	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	(void)ipc_req_fill(&req, 1, frame, len, &ss, sizeof(*sin));
	if (req.decode_err != 0 || ipc_req_match(&req) != 0)
		abort(); /* the encoder's output must decode and match */
	/* Canonical: the decoding encodes to the same frame. */
	if (wire_msg_decode(&d, frame, len, &err) != 0 ||
	    wire_msg_encode(frame2, sizeof(frame2), &len2, &d) != 0 ||
	    len2 != len || memcmp(frame, frame2, len) != 0)
		abort();
	/* The message made of the encoding, with a byte of its frame
	 * flipped, does not match. */
	memcpy(&req2, &req, sizeof(req2));
	req2.msg = m;
	flip = size >= 2 ? ((size_t)data[size - 2] << 8 | data[size - 1]) % len
	                 : 0;
	req2.frame[flip] ^= 0x5a;
	if (ipc_req_match(&req2) == 0)
		abort();
	return (0);
}
