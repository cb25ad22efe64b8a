/*
 * kdcclient_verify.c: checks of the KDC's responses before anything in
 * them is used (docs/PROTOCOL.md, "Client processing"), and what the
 * KDC's error codes mean.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cryptgate/hostkey.h"
#include "cryptgate/kdcclient.h"
#include "cryptgate/secret.h"
#include "cryptgate/wire.h"

#include "kdcclient_int.h"

/* Open the sealed key in ${op}->in for ${role}.  Return 0 or -1. */
static int
open_key(struct kdcclient_op *op, unsigned int role,
    const uint8_t key_id[static WIRE_KEYIDBYTES])
{
	uint8_t info[WIRE_SEAL_INFOBYTES];
	size_t aadlen, bloboff, klen;

	if (op->session_key == NULL &&
	    (op->session_key = secret_alloc(WIRE_SESSIONKEYBYTES)) == NULL)
		return (-1);
	if (wire_frame_sealed(op->in, op->inlen, &aadlen, &bloboff) ||
	    wire_seal_info(info, role, key_id, op->kc->self.host_id) ||
	    hostkey_open(op->kc->key, op->session_key, WIRE_SESSIONKEYBYTES,
	        &klen, op->in + bloboff, wire_sealed_bytes(op->sent.hdr.suite),
	        info, sizeof(info), op->in + WIRE_LENBYTES, aadlen) ||
	    klen != WIRE_SESSIONKEYBYTES) {
		secret_wipe(op->session_key, WIRE_SESSIONKEYBYTES);
		return (-1);
	}
	op->res.session_key = op->session_key;
	return (0);
}

/* The KDC key that signs with ${kvno}, or NULL. */
static const struct hostpub *
kdc_key(const struct kdcclient *kc, unsigned int kvno)
{
	if (kvno == 1)
		return (&kc->kdc_pub[0]);
	if (kvno == 2 && kc->has_next)
		return (&kc->kdc_pub[1]);
	return (NULL);
}

/* Check the body of the response ${m} against the request.  Return NULL
 * or what is wrong. */
static const char *
verify_body(struct kdcclient_op *op, const struct wire_msg *m)
{
	const struct wire_msg *q = &op->sent;
	struct kdcclient_result *res = &op->res;
	static const uint8_t zero[WIRE_KEYIDBYTES];

	switch (m->hdr.type) {
	case WIRE_REQUEST_RESP:
		if (memcmp(m->u.request_resp.peer_id, q->u.request.peer_id,
		        WIRE_IDBYTES) != 0 ||
		    strcmp(m->u.request_resp.service, q->u.request.service) !=
		        0 ||
		    memcmp(&m->u.request_resp.client_addr,
		        &q->u.request.client_addr,
		        sizeof(struct wire_addr)) != 0)
			return ("the response is for another peer, service "
			        "or address");
		memcpy(res->key_id, m->u.request_resp.key_id, WIRE_KEYIDBYTES);
		res->not_before = m->u.request_resp.not_before;
		res->not_after = m->u.request_resp.not_after;
		memcpy(res->peer_id, m->u.request_resp.peer_id, WIRE_IDBYTES);
		snprintf(res->service, sizeof(res->service), "%s",
		    m->u.request_resp.service);
		res->client_addr = m->u.request_resp.client_addr;
		if (open_key(op, WIRE_ROLE_CLIENT, res->key_id))
			return ("the sealed session key does not open");
		break;
	case WIRE_RETRIEVE_RESP:
		if (memcmp(q->u.retrieve.key_id, zero, WIRE_KEYIDBYTES) != 0 &&
		    memcmp(m->u.retrieve_resp.key_id, q->u.retrieve.key_id,
		        WIRE_KEYIDBYTES) != 0)
			return ("the response is for another key");
		memcpy(res->key_id, m->u.retrieve_resp.key_id, WIRE_KEYIDBYTES);
		res->not_after = m->u.retrieve_resp.not_after;
		memcpy(res->requester_id, m->u.retrieve_resp.requester_id,
		    WIRE_IDBYTES);
		snprintf(res->service, sizeof(res->service), "%s",
		    q->u.retrieve.service);
		res->client_addr = q->u.retrieve.client_addr;
		if (open_key(op, WIRE_ROLE_PEER, res->key_id))
			return ("the sealed session key does not open");
		break;
	case WIRE_ENROLL_RESP:
		if (memcmp(m->u.enroll_resp.host_id, op->kc->self.host_id,
		        WIRE_IDBYTES) != 0)
			return ("the KDC computed another host id");
		memcpy(res->host_id, m->u.enroll_resp.host_id, WIRE_IDBYTES);
		res->enroll_state = m->u.enroll_resp.state;
		break;
	case WIRE_REVOKE_RESP:
		res->revoked = m->u.revoke_resp.count;
		break;
	case WIRE_ROTATE_RESP:
		if (m->u.rotate_resp.new_kvno != q->u.rotate.new_kvno)
			return ("the response is for another key version");
		res->new_kvno = m->u.rotate_resp.new_kvno;
		res->old_valid_until = m->u.rotate_resp.old_valid_until;
		break;
	case WIRE_ERROR:
		res->error = m->u.error.code;
		res->kdc_time = m->u.error.kdc_time;
		res->retry_after = m->u.error.retry_after;
		break;
	default:
		return ("unexpected response type");
	}
	return (NULL);
}

/* The req_hash field of the response ${m}. */
static const uint8_t *
resp_hash(const struct wire_msg *m)
{
	switch (m->hdr.type) {
	case WIRE_RETRIEVE_RESP:
		return (m->u.retrieve_resp.req_hash);
	case WIRE_REQUEST_RESP:
		return (m->u.request_resp.req_hash);
	case WIRE_ENROLL_RESP:
		return (m->u.enroll_resp.req_hash);
	case WIRE_REVOKE_RESP:
		return (m->u.revoke_resp.req_hash);
	case WIRE_ROTATE_RESP:
		return (m->u.rotate_resp.req_hash);
	default:
		return (m->u.error.req_hash);
	}
}

/*
 * Verify the complete response frame in ${op}->in (docs/PROTOCOL.md,
 * "Client processing") and fill ${op}->res.  Return NULL, or what is
 * wrong (then nothing of the response may be used).
 */
const char *
kdcclient_verify_response(struct kdcclient_op *op)
{
	const struct hostpub *kpub;
	const char *why = NULL;
	struct wire_msg *m;

	if ((m = malloc(sizeof(*m))) == NULL)
		return ("out of memory");
	if (wire_msg_decode(m, op->in, op->inlen, NULL)) {
		why = "malformed response";
		goto out;
	}
	if (m->hdr.type != (op->sent.hdr.type | WIRE_RESPONSE) &&
	    m->hdr.type != WIRE_ERROR) {
		why = "unexpected response type";
		goto out;
	}
	if ((kpub = kdc_key(op->kc, m->hdr.signer_kvno)) == NULL) {
		why = "signed with an unknown KDC key version";
		goto out;
	}
	if (wire_frame_verify_pub(op->in, op->inlen,
	        op->kc->kdc_sign[kpub == &op->kc->kdc_pub[0] ? 0 : 1])) {
		why = "bad KDC signature";
		goto out;
	}
	if (memcmp(m->hdr.sender_id, kpub->host_id, WIRE_IDBYTES) != 0) {
		why = "sender id is not the pinned KDC's";
		goto out;
	}
	if (memcmp(m->hdr.nonce, op->sent.hdr.nonce, WIRE_NONCEBYTES) != 0) {
		why = "nonce not echoed";
		goto out;
	}
	if (memcmp(resp_hash(m), op->reqhash, WIRE_HASHBYTES) != 0) {
		why = "request hash mismatch";
		goto out;
	}
	if (m->hdr.suite != op->sent.hdr.suite) {
		why = "suite mismatch";
		goto out;
	}
	op->res.type = m->hdr.type;
	op->res.kdc_kvno = m->hdr.signer_kvno;
	why = verify_body(op, m);

out:
	secret_wipe(m, sizeof(*m));
	free(m);
	return (why);
}

const char *
kdcclient_err_text(unsigned int code)
{
	switch (code) {
	case WIRE_ERR_VERSION:
		return ("the KDC does not speak this protocol version");
	case WIRE_ERR_SIG:
		return ("the KDC does not know this host's key or rejected "
		        "its signature (is the host enrolled and approved?)");
	case WIRE_ERR_SKEW:
		return ("this host's clock is too far from the KDC's");
	case WIRE_ERR_REPLAY:
		return ("the KDC has already seen this request");
	case WIRE_ERR_DENIED:
		return ("the KDC denied the request");
	case WIRE_ERR_EXPIRED:
		return ("this host's key version has expired at the KDC");
	case WIRE_ERR_PENDING:
		return ("this host's enrollment awaits approval by the KDC "
		        "administrator");
	case WIRE_ERR_RATE:
		return ("the KDC is busy or rate limiting this host");
	case WIRE_ERR_INTERNAL:
		return ("the KDC failed internally and did nothing");
	case WIRE_ERR_MALFORMED:
		return ("the KDC could not parse the request");
	default:
		return ("the KDC answered with an unknown error");
	}
}

void
kdcclient_err_format(char *buf, size_t size, const struct kdcclient_result *res)
{
	struct timespec ts;
	int64_t now, off;

	if (size == 0)
		return;
	buf[0] = '\0';
	if (res == NULL || res->type != WIRE_ERROR)
		return;
	if (res->error == WIRE_ERR_SKEW) {
		clock_gettime(CLOCK_REALTIME, &ts);
		now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		off = (now - (int64_t)res->kdc_time) / 1000;
		snprintf(buf, size, "%s: %lld s %s (SKEW)",
		    kdcclient_err_text(res->error),
		    (long long)(off < 0 ? -off : off),
		    off < 0 ? "behind" : "ahead");
	} else if (res->error == WIRE_ERR_RATE && res->retry_after != 0) {
		snprintf(buf, size, "%s; retry after %u s (RATE)",
		    kdcclient_err_text(res->error),
		    (unsigned int)res->retry_after);
	} else {
		snprintf(buf, size, "%s (%s)", kdcclient_err_text(res->error),
		    wire_err_name(res->error));
	}
}
