/*
 * hello.c: the handshake of protected flows (docs/PACKET.md, "Hello"):
 * SYN and SYN-ACK carry an 18-byte option (kind 253, ExID 0x434b,
 * version 1 << 4 | flags 0, KeyID, 12-byte nonce) and are not
 * authenticated; the first tagged segments confirm the keys.
 */
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cryptgate/hkdf.h"
#include "cryptgate/rand.h"
#include "cryptgate/secret.h"
#include "cryptgate/stream.h"

#include "flow.h"
#include "hello.h"
#include "pkt.h"
#include "tcpopt.h"
#include "xfint.h"

#define HELLO_KDF_LABEL "cryptgate pkt conn"
#define HELLO_MIN_MSS 64

static const uint8_t hello_salt_label[4] = { 'C', 'K', 'P', '1' };

/*
 * The four per-connection keys: PRK = HKDF-Extract("CKP1" || N_i || N_r,
 * pair key); OKM = HKDF-Expand(PRK, "cryptgate pkt conn" || ver || KeyID
 * || addr_i || addr_r || port_i || port_r, 128) = K_enc_i2r | K_enc_r2i |
 * K_mac_i2r | K_mac_r2i (addresses as 16 bytes, ports big-endian).
 */
static int
derive(const struct xf *x, struct flow *f)
{
	const struct xf_policy *r = &x->rules[f->rule];
	const struct flow_key *k = &f->key;
	uint8_t salt[4 + 2 * FLOW_NONCEBYTES], info[64], okm[128];
	size_t n = sizeof(HELLO_KDF_LABEL) - 1, eo, ei, mo, mi;

	memcpy(salt, hello_salt_label, sizeof(hello_salt_label));
	memcpy(salt + 4, f->nonce_i, FLOW_NONCEBYTES);
	memcpy(salt + 4 + FLOW_NONCEBYTES, f->nonce_r, FLOW_NONCEBYTES);
	/* The NUL is overwritten by the version. */
	memcpy(info, HELLO_KDF_LABEL, sizeof(HELLO_KDF_LABEL));
	info[n++] = XF_VERSION;
	info[n++] = r->keyid;
	memcpy(info + n, f->initiator ? k->laddr : k->raddr, 16);
	memcpy(info + n + 16, f->initiator ? k->raddr : k->laddr, 16);
	n += 32;
	pkt_put16(info + n, f->initiator ? k->lport : k->rport);
	pkt_put16(info + n + 2, f->initiator ? k->rport : k->lport);
	n += 4;
	if (hkdf(okm, sizeof(okm), salt, sizeof(salt), r->key, XF_KEYBYTES,
	        info, n))
		goto err0;
	eo = f->initiator ? 0 : 32;
	ei = f->initiator ? 32 : 0;
	mo = f->initiator ? 64 : 96;
	mi = f->initiator ? 96 : 64;
	if ((f->out.enc = stream_new(okm + eo, NULL)) == NULL ||
	    (f->in.enc = stream_new(okm + ei, NULL)) == NULL ||
	    (f->out.mac = stream_prf_new(okm + mo, 32)) == NULL ||
	    (f->in.mac = stream_prf_new(okm + mi, 32)) == NULL)
		goto err1;
	secret_wipe(okm, sizeof(okm));

	/* Success! */
	return (0);

err1:
	secret_wipe(okm, sizeof(okm));
err0:
	/* Failure!  flow_remove() frees what was made. */
	return (-1);
}

/*
 * OUT SYN or SYN-ACK: repack the options with the hello, clamp MSS, note
 * whether it offers timestamps (RFC 7323 section 3.2).
 */
static enum xf_reason
add_hello(struct xf *x, struct pkt *k, struct flow *f,
    const uint8_t nonce[FLOW_NONCEBYTES])
{
	uint8_t *th = k->p + k->l4, opt[TCPOPT_MAXBYTES];
	struct tcpopt o;
	size_t optlen, off, trimmed;

	if (tcpopt_parse(&o, th + 20, k->thl - 20, XF_EXID))
		return (XF_R_MALFORMED);
	if (o.ours_off >= 0)
		return (XF_R_MALFORMED);
	if (o.has_auth)
		return (XF_R_NOSPACE);
	if (!o.has_mss) {
		/* RFC 9293 section 3.7.1 defaults. */
		o.has_mss = true;
		o.mss = k->family == AF_INET ? 536 : 1220;
	}
	if (o.mss >= HELLO_MIN_MSS + XF_MSS_DELTA)
		o.mss -= XF_MSS_DELTA;
	if (tcpopt_build(
	        opt, &optlen, &o, th + 20, true, XF_HELLOBYTES, &off, &trimmed))
		return (XF_R_NOSPACE);
	opt[off] = XF_OPTKIND;
	opt[off + 1] = XF_HELLOBYTES;
	pkt_put16(opt + off + 2, XF_EXID);
	opt[off + 4] = XF_VERSION << 4;
	opt[off + 5] = x->rules[f->rule].keyid;
	memcpy(opt + off + 6, nonce, FLOW_NONCEBYTES);
	/* SYN data (Fast Open) would go out before there are keys. */
	k->plen = 0;
	if (pkt_set_options(k, opt, optlen) != XF_R_OK)
		return (XF_R_NOSPACE);
	pkt_l4_csum_set(k, 16, true);
	f->out.syn_ts = o.has_ts;
	x->st.mss_clamps++;
	return (XF_R_OK);
}

/*
 * IN SYN or SYN-ACK: check the checksum (nothing else authenticates it)
 * and the hello of ${k} against policy ${rule}; its nonce into ${nonce}.
 */
static enum xf_reason
check_hello(struct xf *x, struct pkt *k, int rule, struct tcpopt *o,
    uint8_t nonce[FLOW_NONCEBYTES])
{
	const uint8_t *h;

	if (!pkt_l4_csum_ok(k, true))
		return (XF_R_MALFORMED);
	if (tcpopt_parse(o, k->p + k->l4 + 20, k->thl - 20, XF_EXID))
		return (XF_R_MALFORMED);
	if (o->ours_off < 0)
		return (XF_R_NOHELLO);
	if (o->ours_len != XF_HELLOBYTES)
		return (XF_R_MALFORMED);
	h = k->p + k->l4 + 20 + o->ours_off;
	if (h[4] != XF_VERSION << 4)
		return (XF_R_UNSUPPORTED);
	if (h[5] != x->rules[rule].keyid)
		return (XF_R_KEYID);
	memcpy(nonce, h + 6, FLOW_NONCEBYTES);
	return (XF_R_OK);
}

/* IN SYN or SYN-ACK, checked: remove the hello and any SYN data. */
static void
strip_hello(struct pkt *k, const struct tcpopt *o)
{
	uint8_t *th = k->p + k->l4;
	size_t optlen;

	optlen = tcpopt_strip(
	    th + 20, k->thl - 20, (size_t)o->ours_off, o->ours_len);
	k->thl = 20 + optlen;
	k->plen = 0;
	pkt_set_len(k);
	pkt_l4_csum_set(k, 16, true);
}

static enum xf_reason
syn_out(struct xf *x, struct pkt *k, const struct flow_key *fk, struct flow *f,
    int rule, uint64_t now_ms)
{
	enum xf_reason r;

	if (f != NULL &&
	    !(f->initiator && f->state == FLOW_SYN_SENT &&
	        f->out.isn == k->seq)) {
		/* Our kernel starts a new connection on this 4-tuple. */
		rule = (int)f->rule;
		flow_remove(x->flows, f);
		f = NULL;
	}
	if (f == NULL) {
		if ((f = flow_insert(x->flows, fk)) == NULL)
			return (XF_R_TABLEFULL);
		f->rule = (uint32_t)rule;
		f->initiator = true;
		f->state = FLOW_SYN_SENT;
		f->out.isn = k->seq;
		f->out.has_isn = true;
		f->out.hi = 1;
		f->created_ms = now_ms;
		if (rand_bytes(f->nonce_i, FLOW_NONCEBYTES)) {
			flow_remove(x->flows, f);
			return (XF_R_INTERNAL);
		}
		x->st.flows_total++;
	}
	f->last_ms = now_ms;
	if ((r = add_hello(x, k, f, f->nonce_i)) != XF_R_OK)
		return (r);
	return (XF_R_OK);
}

/*
 * IN SYN or SYN-ACK ${k} of ${f} with the ISN and nonce ${f} has: a
 * retransmission, or a forged copy (ISN and nonce are public).  It changes
 * nothing: not whether timestamps are on (a copy without them would turn
 * off the replay check, RFC 7323 section 3.2), not the flow's liveness.
 * Once the peer has confirmed the flow, the kernel has its SYN or SYN-ACK:
 * dropped.  Before, it passes (the kernel answers it, which lets a lost
 * SYN-ACK or third ACK be made up for) if it offers timestamps as the
 * first one did.
 */
static enum xf_reason
retransmission(struct flow *f, struct pkt *k, const struct tcpopt *o)
{
	if (f->confirmed || o->has_ts != f->in.syn_ts)
		return (XF_R_STALE);
	strip_hello(k, o);
	return (XF_R_OK);
}

static enum xf_reason
syn_in(struct xf *x, struct pkt *k, const struct flow_key *fk, struct flow *f,
    int rule, uint64_t now_ms)
{
	uint8_t nonce[FLOW_NONCEBYTES];
	struct tcpopt o;
	enum xf_reason r;

	if (f != NULL)
		rule = (int)f->rule;
	if ((r = check_hello(x, k, rule, &o, nonce)) != XF_R_OK)
		return (r);
	if (f != NULL) {
		if (f->initiator && f->state == FLOW_SYN_SENT)
			return (XF_R_UNSUPPORTED); /* simultaneous open */
		if (!f->initiator && f->in.isn == k->seq &&
		    memcmp(f->nonce_i, nonce, sizeof(nonce)) == 0)
			return (retransmission(f, k, &o));
		/* A new SYN replaces a flow the peer never confirmed (a
		 * spoofed SYN): it gets a fresh N_r. */
		if (f->state == FLOW_EST && !f->closed &&
		    (f->initiator || f->confirmed))
			return (XF_R_STALE);
		flow_remove(x->flows, f);
	}
	if ((f = flow_insert(x->flows, fk)) == NULL)
		return (XF_R_TABLEFULL);
	f->rule = (uint32_t)rule;
	f->initiator = false;
	f->state = FLOW_SYN_RCVD;
	f->in.isn = k->seq;
	f->in.has_isn = true;
	f->in.syn_ts = o.has_ts;
	f->in.hi = 1;
	f->created_ms = now_ms;
	f->last_ms = now_ms;
	memcpy(f->nonce_i, nonce, sizeof(nonce));
	if (rand_bytes(f->nonce_r, FLOW_NONCEBYTES) || derive(x, f)) {
		flow_remove(x->flows, f);
		return (XF_R_INTERNAL);
	}
	x->st.flows_total++;
	strip_hello(k, &o);
	return (XF_R_OK);
}

enum xf_reason
hello_syn(struct xf *x, enum xf_dir dir, struct pkt *k,
    const struct flow_key *fk, struct flow *f, int rule, uint64_t now_ms)
{
	if (dir == XF_OUT)
		return (syn_out(x, k, fk, f, rule, now_ms));
	return (syn_in(x, k, fk, f, rule, now_ms));
}

static enum xf_reason
synack_in(struct xf *x, struct pkt *k, struct flow *f, uint64_t now_ms)
{
	uint8_t nonce[FLOW_NONCEBYTES];
	struct tcpopt o;
	enum xf_reason r;

	if (!f->initiator)
		return (XF_R_UNSUPPORTED);
	if ((r = check_hello(x, k, (int)f->rule, &o, nonce)) != XF_R_OK)
		return (r);
	if (k->ack != f->out.isn + 1)
		return (XF_R_STALE);
	if (f->state == FLOW_SYN_SENT) {
		memcpy(f->nonce_r, nonce, sizeof(nonce));
		f->in.isn = k->seq;
		f->in.has_isn = true;
		f->in.hi = 1;
		if (derive(x, f)) {
			flow_remove(x->flows, f);
			return (XF_R_INTERNAL);
		}
		f->in.syn_ts = o.has_ts;
		f->state = FLOW_EST;
		f->last_ms = now_ms;
		strip_hello(k, &o);
		return (XF_R_OK);
	}
	if (f->in.isn != k->seq ||
	    memcmp(f->nonce_r, nonce, sizeof(nonce)) != 0)
		return (XF_R_STALE);
	return (retransmission(f, k, &o));
}

static enum xf_reason
synack_out(struct xf *x, struct pkt *k, struct flow *f, uint64_t now_ms)
{
	if (f->initiator || f->out.enc == NULL)
		return (XF_R_NOFLOW);
	if ((f->out.has_isn && f->out.isn != k->seq) || k->ack != f->in.isn + 1)
		return (XF_R_STALE);
	if (!f->out.has_isn) {
		/* Retransmissions do not make a half-open flow live longer:
		 * a replayed SYN makes our kernel send one. */
		f->out.isn = k->seq;
		f->out.has_isn = true;
		f->out.hi = 1;
		f->state = FLOW_EST;
		f->last_ms = now_ms;
	}
	return (add_hello(x, k, f, f->nonce_r));
}

enum xf_reason
hello_synack(struct xf *x, enum xf_dir dir, struct pkt *k, struct flow *f,
    uint64_t now_ms)
{
	if (f == NULL)
		return (XF_R_NOFLOW);
	if (dir == XF_OUT)
		return (synack_out(x, k, f, now_ms));
	return (synack_in(x, k, f, now_ms));
}
