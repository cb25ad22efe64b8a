/*
 * ipc.h: the messages between cryptgate-kdcd's network process and its
 * keystore (see kdcd.h, "Processes").
 *
 * One SOCK_SEQPACKET socket pair joins them; every message is one packet,
 * and its size is exact: a receiver refuses a packet whose length is not
 * the one its fixed part announces.
 *
 *   network -> keystore: struct ipc_req, one per request frame; its size is
 *     IPC_REQ_BYTES(framelen).  The network process decoded the frame (it
 *     alone parses what comes from the network); the keystore never runs
 *     the decoder: it re-encodes the decoded message and refuses it unless
 *     the encoding is the frame, byte for byte (ipc_req_match), so the
 *     signature it verifies over the frame covers what it acts on.
 *   network -> keystore: struct ipc_stats, once, before it exits.
 *   keystore -> network: struct ipc_resp, one per request, in any order.
 */
#ifndef CRYPTGATE_KDCD_IPC_H
#define CRYPTGATE_KDCD_IPC_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "cryptgate/cdefs.h"
#include "cryptgate/wire.h"

#define IPC_REQ_MAGIC 0x4b445131u /* "KDQ1" */
#define IPC_RESP_MAGIC 0x4b445231u /* "KDR1" */
#define IPC_STATS_MAGIC 0x4b445331u /* "KDS1" */

/* Largest answer: REQUEST_RESP with an RSA-3072 sealed key is 664 bytes. */
#define IPC_RESPBYTES_MAX 1024

struct ipc_req {
	uint32_t magic;
	uint32_t framelen; /* bytes of frame[] (length prefix included) */
	uint64_t id; /* the network process's, echoed in the answer */
	struct sockaddr_storage src; /* the client's address */
	uint32_t srclen;
	uint16_t decode_err; /* 0: msg is the frame decoded; else the code */
	uint8_t type; /* the header's type byte, as received */
	uint8_t suite; /* and its suite byte */
	uint8_t nonce[WIRE_NONCEBYTES]; /* and its nonce */
	uint8_t pad[4];
	struct wire_msg msg; /* zeroed if decode_err */
	uint8_t frame[WIRE_FRAMEBYTES_MAX];
};
#define IPC_REQ_BYTES(framelen) (offsetof(struct ipc_req, frame) + (framelen))

struct ipc_resp {
	uint32_t magic;
	uint32_t resplen; /* bytes of resp[] to send */
	uint64_t id; /* the request's */
	uint8_t close; /* close the connection after resp (or at once) */
	uint8_t pad[7];
	uint8_t resp[IPC_RESPBYTES_MAX];
};

struct ipc_stats {
	uint32_t magic;
	uint32_t pad;
	uint64_t accepted; /* connections */
	uint64_t refused; /* over max_connections */
	uint64_t timeouts; /* closed on a deadline */
};

/**
 * ipc_req_fill(r, id, frame, framelen, src, srclen): make the request
 * message for the ${framelen}-byte frame ${frame} (length prefix included,
 * at least WIRE_FRAME_MIN + WIRE_LENBYTES and at most WIRE_FRAMEBYTES_MAX
 * bytes: the caller checked the length prefix) from ${src}: decode it.
 * Return the number of bytes of ${r} to send.
 */
size_t ipc_req_fill(struct ipc_req *r, uint64_t id, const uint8_t *frame,
    size_t framelen, const struct sockaddr_storage *src, socklen_t srclen);

/**
 * ipc_req_check(r, n): 0 if the ${n}-byte packet ${r} is a well-formed
 * request message: magic, frame length in range and ${n} exact, address
 * family and length, decode_err 0 or an ERROR code the decoder gives.
 * -1 otherwise (not logged).  The message itself is checked by
 * ipc_req_match.
 */
int ipc_req_check(const struct ipc_req *r, size_t n) CG_WUR;

/**
 * ipc_req_match(r): 0 if ${r}->msg (decode_err 0) encodes to exactly
 * ${r}->frame (wire_msg_encode applies every check of the decoder), else
 * -1 (the encoder logs a message it finds invalid).  Uses
 * WIRE_FRAMEBYTES_MAX bytes of stack.
 */
int ipc_req_match(const struct ipc_req *r) CG_WUR;

/**
 * ipc_resp_check(r, n): 0 if the ${n}-byte packet ${r} is a well-formed
 * answer message (magic, ${n} == sizeof(*r), resplen in range), else -1.
 */
int ipc_resp_check(const struct ipc_resp *r, size_t n) CG_WUR;

/**
 * ipc_stats_check(s, n): 0 if the ${n}-byte packet ${s} is a statistics
 * message, else -1.
 */
int ipc_stats_check(const struct ipc_stats *s, size_t n) CG_WUR;

#endif /* !CRYPTGATE_KDCD_IPC_H */
