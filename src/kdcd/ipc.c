/*
 * ipc.c: the messages between the network process and the keystore
 * (ipc.h): making them on one side, checking them on the other.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <stdint.h>
#include <string.h>

#include "cryptgate/wire.h"

#include "ipc.h"

size_t
ipc_req_fill(struct ipc_req *r, uint64_t id, const uint8_t *frame,
    size_t framelen, const struct sockaddr_storage *src, socklen_t srclen)
{
	const uint8_t *hdr = frame + WIRE_LENBYTES;
	uint16_t err = WIRE_ERR_MALFORMED;

	memset(r, 0, offsetof(struct ipc_req, frame));
	r->magic = IPC_REQ_MAGIC;
	r->framelen = (uint32_t)framelen;
	r->id = id;
	/* Only what accept(2) filled in: the rest of ${src} is garbage. */
	if ((size_t)srclen > sizeof(r->src))
		srclen = sizeof(r->src);
	memcpy(&r->src, src, (size_t)srclen);
	r->srclen = (uint32_t)srclen;
	r->type = hdr[WIRE_HDR_TYPE];
	r->suite = hdr[WIRE_HDR_SUITE];
	memcpy(r->nonce, hdr + WIRE_HDR_NONCE, WIRE_NONCEBYTES);
	if (wire_msg_decode(&r->msg, frame, framelen, &err))
		r->decode_err = err;
	memcpy(r->frame, frame, framelen);
	return (IPC_REQ_BYTES(framelen));
}

int
ipc_req_check(const struct ipc_req *r, size_t n)
{
	if (n < offsetof(struct ipc_req, frame) || r->magic != IPC_REQ_MAGIC)
		return (-1);
	if (r->framelen < WIRE_LENBYTES + WIRE_FRAME_MIN ||
	    r->framelen > WIRE_FRAMEBYTES_MAX ||
	    n != IPC_REQ_BYTES(r->framelen))
		return (-1);
	switch (r->src.ss_family) {
	case AF_INET:
		if (r->srclen != sizeof(struct sockaddr_in))
			return (-1);
		break;
	case AF_INET6:
		if (r->srclen != sizeof(struct sockaddr_in6))
			return (-1);
		break;
	default:
		return (-1);
	}
	if (r->decode_err != 0 && r->decode_err != WIRE_ERR_VERSION &&
	    r->decode_err != WIRE_ERR_MALFORMED)
		return (-1);
	return (0);
}

int
ipc_req_match(const struct ipc_req *r)
{
	uint8_t buf[WIRE_FRAMEBYTES_MAX];
	size_t len;

	if (r->decode_err != 0 ||
	    wire_msg_encode(buf, sizeof(buf), &len, &r->msg) != 0 ||
	    len != r->framelen || memcmp(buf, r->frame, len) != 0)
		return (-1);
	return (0);
}

int
ipc_resp_check(const struct ipc_resp *r, size_t n)
{
	if (n != sizeof(*r) || r->magic != IPC_RESP_MAGIC ||
	    r->resplen > sizeof(r->resp) || r->close > 1)
		return (-1);
	return (0);
}

int
ipc_stats_check(const struct ipc_stats *s, size_t n)
{
	if (n != sizeof(*s) || s->magic != IPC_STATS_MAGIC)
		return (-1);
	return (0);
}
