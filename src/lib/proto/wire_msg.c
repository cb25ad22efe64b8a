/*
 * wire_msg.c: KDC protocol v1 bodies and whole messages: strict encode
 * and decode of every message type (docs/PROTOCOL.md, "Bodies").
 *
 * Decoding is split in two steps that encoding shares: a parser that only
 * follows the layout (lengths, bounds of the fixed arrays, no NUL in
 * strings), then one checker per body for everything else (charsets,
 * address canonical form, sizes per suite, known codes).  The encoder runs
 * the same checker first, so encode(decode(x)) == x for every x that
 * decodes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cryptgate/log.h"
#include "cryptgate/sign.h"
#include "cryptgate/wire.h"

/* Largest ROTATE proof-of-possession message (wire_msg_pop). */
#define POPBYTES_MAX \
	(WIRE_IDBYTES + WIRE_SIGNPKBYTES + 1 + 2 + WIRE_SEALPK_MAX + 2)

static const uint8_t zero_id[WIRE_IDBYTES];

/* --- Writer ------------------------------------------------------------- */

struct wbuf {
	uint8_t *p;
	size_t size;
	size_t len;
	bool overflow;
};

static void
w_bytes(struct wbuf *w, const void *src, size_t n)
{
	if (w->overflow || w->size - w->len < n) {
		w->overflow = true;
		return;
	}
	if (n > 0)
		memcpy(w->p + w->len, src, n);
	w->len += n;
}

static void
w_u8(struct wbuf *w, uint8_t v)
{
	w_bytes(w, &v, 1);
}

static void
w_u16(struct wbuf *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	w_bytes(w, b, sizeof(b));
}

static void
w_u32(struct wbuf *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16),
		(uint8_t)(v >> 8), (uint8_t)v };

	w_bytes(w, b, sizeof(b));
}

static void
w_u64(struct wbuf *w, uint64_t v)
{
	w_u32(w, (uint32_t)(v >> 32));
	w_u32(w, (uint32_t)v);
}

/* str = u8 len || bytes; ${s} was checked (1..255 characters). */
static void
w_str(struct wbuf *w, const char *s)
{
	size_t n = strlen(s);

	w_u8(w, (uint8_t)n);
	w_bytes(w, s, n);
}

static void
w_addr(struct wbuf *w, const struct wire_addr *a)
{
	w_u8(w, a->family);
	w_bytes(w, a->addr, sizeof(a->addr));
}

static void
w_sealed(struct wbuf *w, const struct wire_sealed *s)
{
	w_u16(w, s->len);
	w_bytes(w, s->blob, s->len);
}

static void
w_sealpk(struct wbuf *w, const struct wire_sealpk *k)
{
	w_u16(w, k->len);
	w_bytes(w, k->key, k->len);
}

/* --- Reader ------------------------------------------------------------- */

struct rbuf {
	const uint8_t *p;
	size_t len;
	size_t off;
	bool bad;
};

static void
r_bytes(struct rbuf *r, void *dst, size_t n)
{
	if (r->bad || r->len - r->off < n) {
		r->bad = true;
		return;
	}
	if (n > 0)
		memcpy(dst, r->p + r->off, n);
	r->off += n;
}

static uint8_t
r_u8(struct rbuf *r)
{
	uint8_t v = 0;

	r_bytes(r, &v, 1);
	return (v);
}

static uint16_t
r_u16(struct rbuf *r)
{
	uint8_t b[2] = { 0, 0 };

	r_bytes(r, b, sizeof(b));
	return ((uint16_t)((b[0] << 8) | b[1]));
}

static uint32_t
r_u32(struct rbuf *r)
{
	uint8_t b[4] = { 0, 0, 0, 0 };

	r_bytes(r, b, sizeof(b));
	return (((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
	    ((uint32_t)b[2] << 8) | (uint32_t)b[3]);
}

static uint64_t
r_u64(struct rbuf *r)
{
	uint64_t hi = r_u32(r);

	return ((hi << 32) | r_u32(r));
}

/* str into ${dst} (${max} + 1 bytes), NUL-terminated; no NUL inside. */
static void
r_str(struct rbuf *r, char *dst, size_t max)
{
	size_t n = r_u8(r);

	if (r->bad || n > max) {
		r->bad = true;
		return;
	}
	r_bytes(r, dst, n);
	if (r->bad || memchr(dst, '\0', n) != NULL) {
		r->bad = true;
		return;
	}
	dst[n] = '\0';
}

static void
r_addr(struct rbuf *r, struct wire_addr *a)
{
	a->family = r_u8(r);
	r_bytes(r, a->addr, sizeof(a->addr));
}

static void
r_sealed(struct rbuf *r, struct wire_sealed *s)
{
	s->len = r_u16(r);
	if (s->len > sizeof(s->blob)) {
		r->bad = true;
		return;
	}
	r_bytes(r, s->blob, s->len);
}

static void
r_sealpk(struct rbuf *r, struct wire_sealpk *k)
{
	k->len = r_u16(r);
	if (k->len > sizeof(k->key)) {
		r->bad = true;
		return;
	}
	r_bytes(r, k->key, k->len);
}

/* --- Checks (NULL if valid, else what is wrong) ------------------------- */

static const char *
check_sealpk(unsigned int alg, const struct wire_sealpk *k)
{
	switch (alg) {
	case WIRE_SUITE_X25519:
		if (k->len != WIRE_SEALPK_X25519)
			return ("sealing key length");
		break;
	case WIRE_SUITE_RSA:
		if (k->len == 0 || k->len > WIRE_SEALPK_RSA_MAX)
			return ("sealing key length");
		break;
	default:
		return ("sealing algorithm");
	}
	return (NULL);
}

static const char *
check_sealed(const struct wire_hdr *hdr, const struct wire_sealed *s)
{
	if (s->len != wire_sealed_bytes(hdr->suite))
		return ("sealed key length");
	return (NULL);
}

static const char *
check_service(const char *service)
{
	if (!wire_name_is_valid(service, WIRE_SERVICE_MAX))
		return ("service name");
	return (NULL);
}

static const char *
check_addr(const struct wire_addr *a)
{
	if (!wire_addr_is_valid(a))
		return ("address");
	return (NULL);
}

static const char *
check_enroll(const struct wire_hdr *hdr, const struct wire_enroll *e)
{
	const char *bad;
	size_t i;

	if (memcmp(hdr->sender_id, zero_id, WIRE_IDBYTES) != 0)
		return ("sender id (must be zero)");
	if (hdr->signer_kvno != WIRE_KVNO_FIRST)
		return ("signer kvno (must be 1)");
	if (e->seal_alg != hdr->suite)
		return ("sealing algorithm (must be the suite)");
	if ((bad = check_sealpk(e->seal_alg, &e->seal_pk)) != NULL)
		return (bad);
	if (!wire_name_is_valid(e->hostname, WIRE_HOSTNAME_MAX))
		return ("host name");
	if (e->naddrs > WIRE_ADDRS_MAX)
		return ("address count");
	for (i = 0; i < e->naddrs; i++) {
		if ((bad = check_addr(&e->addrs[i])) != NULL)
			return (bad);
	}
	return (NULL);
}

static const char *
check_revoke(const struct wire_revoke *v)
{
	if (v->kind < WIRE_REVOKE_KEY || v->kind > WIRE_REVOKE_MINE)
		return ("revoke kind");
	if (v->kind == WIRE_REVOKE_MINE &&
	    memcmp(v->id, zero_id, WIRE_IDBYTES) != 0)
		return ("revoke id (must be zero)");
	if (v->reason > WIRE_REASON_MAX)
		return ("revoke reason");
	return (NULL);
}

static const char *
check_rotate(const struct wire_rotate *rot)
{
	const char *bad;

	if ((bad = check_sealpk(rot->seal_alg, &rot->new_seal_pk)) != NULL)
		return (bad);
	if (rot->new_kvno == 0)
		return ("new kvno");
	return (NULL);
}

static const char *
check_msg(const struct wire_msg *msg)
{
	const struct wire_hdr *hdr = &msg->hdr;
	const char *bad;

	if (hdr->version != WIRE_VERSION)
		return ("version");
	if (wire_sealed_bytes(hdr->suite) == 0)
		return ("suite");
	if (hdr->flags != 0)
		return ("flags");
	switch (hdr->type) {
	case WIRE_RETRIEVE:
		if ((bad = check_addr(&msg->u.retrieve.client_addr)) != NULL)
			return (bad);
		return (check_service(msg->u.retrieve.service));
	case WIRE_RETRIEVE_RESP:
		return (check_sealed(hdr, &msg->u.retrieve_resp.sealed));
	case WIRE_REQUEST:
		if ((bad = check_addr(&msg->u.request.client_addr)) != NULL)
			return (bad);
		return (check_service(msg->u.request.service));
	case WIRE_REQUEST_RESP:
		if (msg->u.request_resp.not_before >
		    msg->u.request_resp.not_after)
			return ("validity (not_before > not_after)");
		if ((bad = check_service(msg->u.request_resp.service)) ||
		    (bad = check_addr(&msg->u.request_resp.client_addr)))
			return (bad);
		return (check_sealed(hdr, &msg->u.request_resp.sealed));
	case WIRE_ENROLL:
		return (check_enroll(hdr, &msg->u.enroll));
	case WIRE_ENROLL_RESP:
		if (msg->u.enroll_resp.state != WIRE_STATE_PENDING &&
		    msg->u.enroll_resp.state != WIRE_STATE_ACTIVE)
			return ("enroll state");
		return (NULL);
	case WIRE_REVOKE:
		return (check_revoke(&msg->u.revoke));
	case WIRE_REVOKE_RESP:
		return (NULL);
	case WIRE_ROTATE:
		return (check_rotate(&msg->u.rotate));
	case WIRE_ROTATE_RESP:
		if (msg->u.rotate_resp.new_kvno == 0)
			return ("new kvno");
		return (NULL);
	case WIRE_ERROR:
		if (msg->u.error.code == 0 || msg->u.error.code > WIRE_ERR_MAX)
			return ("error code");
		return (NULL);
	default:
		return ("type");
	}
}

/* --- Bodies ------------------------------------------------------------- */

static void
put_body(struct wbuf *w, const struct wire_msg *msg)
{
	const struct wire_retrieve *rt = &msg->u.retrieve;
	const struct wire_retrieve_resp *rtr = &msg->u.retrieve_resp;
	const struct wire_request *rq = &msg->u.request;
	const struct wire_request_resp *rqr = &msg->u.request_resp;
	const struct wire_enroll *en = &msg->u.enroll;
	const struct wire_rotate *ro = &msg->u.rotate;
	size_t i;

	switch (msg->hdr.type) {
	case WIRE_RETRIEVE:
		w_bytes(w, rt->key_id, WIRE_KEYIDBYTES);
		w_addr(w, &rt->client_addr);
		w_str(w, rt->service);
		break;
	case WIRE_RETRIEVE_RESP:
		w_bytes(w, rtr->req_hash, WIRE_HASHBYTES);
		w_bytes(w, rtr->key_id, WIRE_KEYIDBYTES);
		w_u64(w, rtr->not_after);
		w_bytes(w, rtr->requester_id, WIRE_IDBYTES);
		w_sealed(w, &rtr->sealed);
		break;
	case WIRE_REQUEST:
		w_bytes(w, rq->peer_id, WIRE_IDBYTES);
		w_str(w, rq->service);
		w_addr(w, &rq->client_addr);
		w_u32(w, rq->lifetime);
		break;
	case WIRE_REQUEST_RESP:
		w_bytes(w, rqr->req_hash, WIRE_HASHBYTES);
		w_bytes(w, rqr->key_id, WIRE_KEYIDBYTES);
		w_u64(w, rqr->not_before);
		w_u64(w, rqr->not_after);
		w_bytes(w, rqr->peer_id, WIRE_IDBYTES);
		w_str(w, rqr->service);
		w_addr(w, &rqr->client_addr);
		w_sealed(w, &rqr->sealed);
		break;
	case WIRE_ENROLL:
		w_bytes(w, en->sig_pk, WIRE_SIGNPKBYTES);
		w_u8(w, en->seal_alg);
		w_sealpk(w, &en->seal_pk);
		w_str(w, en->hostname);
		w_u8(w, en->naddrs);
		for (i = 0; i < en->naddrs; i++)
			w_addr(w, &en->addrs[i]);
		w_bytes(w, en->enroll_mac, WIRE_MACBYTES);
		break;
	case WIRE_ENROLL_RESP:
		w_bytes(w, msg->u.enroll_resp.req_hash, WIRE_HASHBYTES);
		w_bytes(w, msg->u.enroll_resp.host_id, WIRE_IDBYTES);
		w_u8(w, msg->u.enroll_resp.state);
		break;
	case WIRE_REVOKE:
		w_u8(w, msg->u.revoke.kind);
		w_bytes(w, msg->u.revoke.id, WIRE_IDBYTES);
		w_u8(w, msg->u.revoke.reason);
		break;
	case WIRE_REVOKE_RESP:
		w_bytes(w, msg->u.revoke_resp.req_hash, WIRE_HASHBYTES);
		w_u32(w, msg->u.revoke_resp.count);
		break;
	case WIRE_ROTATE:
		w_bytes(w, ro->new_sig_pk, WIRE_SIGNPKBYTES);
		w_u8(w, ro->seal_alg);
		w_sealpk(w, &ro->new_seal_pk);
		w_u16(w, ro->new_kvno);
		w_bytes(w, ro->pop_sig, WIRE_SIGBYTES);
		break;
	case WIRE_ROTATE_RESP:
		w_bytes(w, msg->u.rotate_resp.req_hash, WIRE_HASHBYTES);
		w_u16(w, msg->u.rotate_resp.new_kvno);
		w_u64(w, msg->u.rotate_resp.old_valid_until);
		break;
	case WIRE_ERROR:
		w_bytes(w, msg->u.error.req_hash, WIRE_HASHBYTES);
		w_u16(w, msg->u.error.code);
		w_u64(w, msg->u.error.kdc_time);
		w_u16(w, msg->u.error.retry_after);
		break;
	default:
		/* check_msg() refused it already. */
		w->overflow = true;
		break;
	}
}

static void
get_body(struct rbuf *r, struct wire_msg *msg)
{
	struct wire_retrieve *rt = &msg->u.retrieve;
	struct wire_retrieve_resp *rtr = &msg->u.retrieve_resp;
	struct wire_request *rq = &msg->u.request;
	struct wire_request_resp *rqr = &msg->u.request_resp;
	struct wire_enroll *en = &msg->u.enroll;
	struct wire_rotate *ro = &msg->u.rotate;
	size_t i;

	switch (msg->hdr.type) {
	case WIRE_RETRIEVE:
		r_bytes(r, rt->key_id, WIRE_KEYIDBYTES);
		r_addr(r, &rt->client_addr);
		r_str(r, rt->service, WIRE_SERVICE_MAX);
		break;
	case WIRE_RETRIEVE_RESP:
		r_bytes(r, rtr->req_hash, WIRE_HASHBYTES);
		r_bytes(r, rtr->key_id, WIRE_KEYIDBYTES);
		rtr->not_after = r_u64(r);
		r_bytes(r, rtr->requester_id, WIRE_IDBYTES);
		r_sealed(r, &rtr->sealed);
		break;
	case WIRE_REQUEST:
		r_bytes(r, rq->peer_id, WIRE_IDBYTES);
		r_str(r, rq->service, WIRE_SERVICE_MAX);
		r_addr(r, &rq->client_addr);
		rq->lifetime = r_u32(r);
		break;
	case WIRE_REQUEST_RESP:
		r_bytes(r, rqr->req_hash, WIRE_HASHBYTES);
		r_bytes(r, rqr->key_id, WIRE_KEYIDBYTES);
		rqr->not_before = r_u64(r);
		rqr->not_after = r_u64(r);
		r_bytes(r, rqr->peer_id, WIRE_IDBYTES);
		r_str(r, rqr->service, WIRE_SERVICE_MAX);
		r_addr(r, &rqr->client_addr);
		r_sealed(r, &rqr->sealed);
		break;
	case WIRE_ENROLL:
		r_bytes(r, en->sig_pk, WIRE_SIGNPKBYTES);
		en->seal_alg = r_u8(r);
		r_sealpk(r, &en->seal_pk);
		r_str(r, en->hostname, WIRE_HOSTNAME_MAX);
		en->naddrs = r_u8(r);
		if (en->naddrs > WIRE_ADDRS_MAX) {
			r->bad = true;
			break;
		}
		for (i = 0; i < en->naddrs; i++)
			r_addr(r, &en->addrs[i]);
		r_bytes(r, en->enroll_mac, WIRE_MACBYTES);
		break;
	case WIRE_ENROLL_RESP:
		r_bytes(r, msg->u.enroll_resp.req_hash, WIRE_HASHBYTES);
		r_bytes(r, msg->u.enroll_resp.host_id, WIRE_IDBYTES);
		msg->u.enroll_resp.state = r_u8(r);
		break;
	case WIRE_REVOKE:
		msg->u.revoke.kind = r_u8(r);
		r_bytes(r, msg->u.revoke.id, WIRE_IDBYTES);
		msg->u.revoke.reason = r_u8(r);
		break;
	case WIRE_REVOKE_RESP:
		r_bytes(r, msg->u.revoke_resp.req_hash, WIRE_HASHBYTES);
		msg->u.revoke_resp.count = r_u32(r);
		break;
	case WIRE_ROTATE:
		r_bytes(r, ro->new_sig_pk, WIRE_SIGNPKBYTES);
		ro->seal_alg = r_u8(r);
		r_sealpk(r, &ro->new_seal_pk);
		ro->new_kvno = r_u16(r);
		r_bytes(r, ro->pop_sig, WIRE_SIGBYTES);
		break;
	case WIRE_ROTATE_RESP:
		r_bytes(r, msg->u.rotate_resp.req_hash, WIRE_HASHBYTES);
		msg->u.rotate_resp.new_kvno = r_u16(r);
		msg->u.rotate_resp.old_valid_until = r_u64(r);
		break;
	case WIRE_ERROR:
		r_bytes(r, msg->u.error.req_hash, WIRE_HASHBYTES);
		msg->u.error.code = r_u16(r);
		msg->u.error.kdc_time = r_u64(r);
		msg->u.error.retry_after = r_u16(r);
		break;
	default:
		r->bad = true;
		break;
	}
}

/* --- Whole messages ----------------------------------------------------- */

int
wire_msg_encode(
    uint8_t *out, size_t outsize, size_t *outlen, const struct wire_msg *msg)
{
	struct wire_hdr hdr;
	struct wbuf w;
	const char *bad;
	size_t total;

	if ((bad = check_msg(msg)) != NULL) {
		log_warnx("wire_msg_encode: invalid %s message: %s",
		    wire_type_name(msg->hdr.type), bad);
		goto err0;
	}
	if (outsize < WIRE_LENBYTES + WIRE_FRAME_MIN) {
		log_warnx("wire_msg_encode: buffer too small");
		goto err0;
	}

	/* Body first: its length goes into the header. */
	w.p = out + WIRE_LENBYTES + WIRE_HDRBYTES;
	w.size = outsize - WIRE_LENBYTES - WIRE_FRAME_MIN;
	w.len = 0;
	w.overflow = false;
	put_body(&w, msg);
	if (w.overflow || w.len > WIRE_BODY_MAX) {
		log_warnx("wire_msg_encode: %s message does not fit",
		    wire_type_name(msg->hdr.type));
		goto err0;
	}

	hdr = msg->hdr;
	hdr.body_len = (uint16_t)w.len;
	if (wire_hdr_encode(out + WIRE_LENBYTES, &hdr))
		goto err0;
	total = WIRE_FRAME_MIN + w.len;
	out[0] = (uint8_t)(total >> 24);
	out[1] = (uint8_t)(total >> 16);
	out[2] = (uint8_t)(total >> 8);
	out[3] = (uint8_t)total;
	memcpy(out + WIRE_LENBYTES + WIRE_HDRBYTES + w.len, msg->sig,
	    WIRE_SIGBYTES);
	*outlen = WIRE_LENBYTES + total;

	/* Success! */
	return (0);

err0:
	/* Failure! */
	return (-1);
}

int
wire_msg_decode(
    struct wire_msg *msg, const uint8_t *frame, size_t framelen, uint16_t *err)
{
	struct rbuf r;
	uint32_t len;

	memset(msg, 0, sizeof(*msg));
	if (err != NULL)
		*err = WIRE_ERR_MALFORMED;
	if (framelen > WIRE_LENBYTES + WIRE_HDR_VERSION &&
	    frame[WIRE_LENBYTES + WIRE_HDR_VERSION] != WIRE_VERSION) {
		if (err != NULL)
			*err = WIRE_ERR_VERSION;
		goto err0;
	}

	/* Framing: the length prefix covers exactly the rest. */
	if (framelen < WIRE_LENBYTES + WIRE_FRAME_MIN ||
	    framelen > WIRE_FRAMEBYTES_MAX)
		goto err0;
	len = ((uint32_t)frame[0] << 24) | ((uint32_t)frame[1] << 16) |
	    ((uint32_t)frame[2] << 8) | (uint32_t)frame[3];
	if (len != framelen - WIRE_LENBYTES)
		goto err0;

	if (wire_hdr_decode(&msg->hdr, frame + WIRE_LENBYTES))
		goto err0;
	if (msg->hdr.body_len != len - WIRE_FRAME_MIN)
		goto err0;

	r.p = frame + WIRE_LENBYTES + WIRE_HDRBYTES;
	r.len = msg->hdr.body_len;
	r.off = 0;
	r.bad = false;
	get_body(&r, msg);
	if (r.bad || r.off != r.len)
		goto err0;
	if (check_msg(msg) != NULL)
		goto err0;
	memcpy(msg->sig, frame + framelen - WIRE_SIGBYTES, WIRE_SIGBYTES);

	/* Success! */
	return (0);

err0:
	memset(msg, 0, sizeof(*msg));

	/* Failure! */
	return (-1);
}

/* Write the ROTATE proof-of-possession message; return 0 or -1 (silent). */
static int
pop_build(uint8_t *out, size_t outsize, size_t *outlen,
    const uint8_t host_id[static WIRE_IDBYTES], const struct wire_rotate *rot)
{
	struct wbuf w = { out, outsize, 0, false };

	if (check_rotate(rot) != NULL)
		return (-1);
	w_bytes(&w, host_id, WIRE_IDBYTES);
	w_bytes(&w, rot->new_sig_pk, WIRE_SIGNPKBYTES);
	w_u8(&w, rot->seal_alg);
	w_sealpk(&w, &rot->new_seal_pk);
	w_u16(&w, rot->new_kvno);
	if (w.overflow)
		return (-1);
	*outlen = w.len;
	return (0);
}

int
wire_msg_pop(uint8_t *out, size_t outsize, size_t *outlen,
    const uint8_t host_id[static WIRE_IDBYTES], const struct wire_rotate *rot)
{
	if (pop_build(out, outsize, outlen, host_id, rot)) {
		log_warnx("wire_msg_pop: invalid ROTATE or buffer too small");
		return (-1);
	}
	return (0);
}

int
wire_msg_pop_sign(struct wire_rotate *rot,
    const uint8_t host_id[static WIRE_IDBYTES],
    const uint8_t new_sk[static SIGN_SECRETBYTES])
{
	uint8_t m[POPBYTES_MAX], pk[SIGN_PUBLICBYTES];
	size_t mlen;

	if (sign_public(pk, new_sk))
		goto err0;
	if (memcmp(pk, rot->new_sig_pk, SIGN_PUBLICBYTES) != 0) {
		log_warnx("wire_msg_pop_sign: key does not match new_sig_pk");
		goto err0;
	}
	if (wire_msg_pop(m, sizeof(m), &mlen, host_id, rot))
		goto err0;
	if (sign_detached(rot->pop_sig, WIRE_CTX_ROTATE, m, mlen, new_sk))
		goto err0;

	/* Success! */
	return (0);

err0:
	/* Failure! */
	return (-1);
}

int
wire_msg_pop_verify(
    const struct wire_rotate *rot, const uint8_t host_id[static WIRE_IDBYTES])
{
	uint8_t m[POPBYTES_MAX];
	size_t mlen;

	if (pop_build(m, sizeof(m), &mlen, host_id, rot))
		return (-1);
	return (sign_verify(
	    rot->pop_sig, WIRE_CTX_ROTATE, m, mlen, rot->new_sig_pk));
}
