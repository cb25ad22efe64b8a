/*
 * kdcclient_int.h: the internals shared by kdcclient.c (requests and the
 * state machine), kdcclient_verify.c (response checks) and
 * kdcclient_util.c (configuration, PSK, identities).  Not a public header.
 */
#ifndef CRYPTGATE_KDCCLIENT_INT_H
#define CRYPTGATE_KDCCLIENT_INT_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptgate/hostkey.h"
#include "cryptgate/hostpub.h"
#include "cryptgate/kdcclient.h"
#include "cryptgate/wire.h"

/* The largest valid response frame: REQUEST_RESP, suite 2, longest
 * service (4 + 48 + 100 + 64 + 384 + 64 = 664 bytes). */
#define KC_RESP_MAX 1024
/* Request frames: ENROLL with an RSA-4096 key, 253-byte name and 16
 * addresses is about 1300 bytes. */
#define KC_REQ_MAX 2048
#define KC_ATTEMPT_ERRBYTES 96

_Static_assert(WIRE_LENBYTES + WIRE_HDRBYTES + 100 + WIRE_SERVICE_MAX +
            WIRE_SEALED_MAX + WIRE_SIGBYTES <=
        KC_RESP_MAX,
    "KC_RESP_MAX too small");

struct kdcclient {
	const struct hostkey *key;
	struct hostkey *key_owned; /* kdcclient_new_conf: freed with us */
	struct hostpub self;
	uint16_t kvno;
	struct hostpub kdc_pub[2]; /* kvno 1, kvno 2 */
	struct sign_pub *kdc_sign[2]; /* their signing keys, imported */
	bool has_next;
	char kdc_name[KDCCLIENT_KDCNAME_MAX + 1];
	struct kdcclient_addr addrs[KDCCLIENT_ADDRS_MAX];
	size_t naddrs;
	int64_t timeout_ms;
	unsigned int attempts;
};

enum op_state {
	ST_NEXT, /* start the next attempt */
	ST_CONNECTING,
	ST_WRITING,
	ST_READING,
	ST_DONE,
	ST_FAILED,
};

struct kdcclient_op {
	struct kdcclient *kc;
	struct wire_msg req; /* the request; header filled per attempt */
	struct wire_msg sent; /* what the current attempt sent */
	bool local_addr; /* REQUEST: client_addr = getsockname() */
	uint8_t token[WIRE_MACBYTES]; /* ENROLL */
	bool has_token;
	uint8_t token_id[WIRE_NONCEBYTES]; /* SHA-256(token)[0..16) */
	enum op_state state;
	unsigned int attempt; /* attempts started */
	size_t cur; /* address index of the current attempt */
	int fd;
	int64_t deadline;
	uint8_t out[KC_REQ_MAX];
	size_t outlen, outoff;
	uint8_t reqhash[WIRE_HASHBYTES];
	uint8_t in[KC_RESP_MAX];
	size_t inlen, inneed;
	struct kdcclient_result res;
	uint8_t *session_key; /* secret_alloc(WIRE_SESSIONKEYBYTES) */
	char errs[KDCCLIENT_ADDRS_MAX][KC_ATTEMPT_ERRBYTES];
	char err[KDCCLIENT_ERRBYTES];
};

/**
 * kdcclient_verify_response(op): verify the complete response frame in
 * ${op}->in against ${op}->sent (docs/PROTOCOL.md, "Client processing")
 * and fill ${op}->res (and the session key).  Return NULL, or a short
 * description of what is wrong: then nothing of the response may be used.
 */
const char *kdcclient_verify_response(struct kdcclient_op *op);

/**
 * kdcclient_format_sockaddr(buf, size, ss, sslen): write ${ss} as
 * "ip:port" or "[ip6]:port" to ${buf} (${size} bytes).
 */
void kdcclient_format_sockaddr(
    char *buf, size_t size, const struct sockaddr_storage *ss, socklen_t sslen);

#endif /* !CRYPTGATE_KDCCLIENT_INT_H */
