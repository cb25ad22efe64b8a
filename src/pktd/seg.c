/*
 * seg.c: data, pure ACK, FIN and RST segments of protected flows
 * (docs/PACKET.md, "Segments"): ChaCha20 at the 64-bit stream offset,
 * encrypt-then-MAC with a 96-bit HMAC-SHA256 tag in a 16-byte option.
 */
#include <sys/uio.h>

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cryptgate/secret.h"
#include "cryptgate/stream.h"

#include "flow.h"
#include "pkt.h"
#include "seg.h"
#include "tcpopt.h"
#include "xfint.h"

#define SEG_MACHDRBYTES 72
/* RFC 7323 section 5.5: a TSval kept longer than 24 days is invalid. */
#define SEG_PAWS_IDLE_MS (24ULL * 86400 * 1000)
/* The fastest timestamp clock allowed for, in ticks per ms (Linux's
 * optional microsecond timestamps), and the slack on the elapsed time. */
#define SEG_PAWS_MAXRATE 1000
#define SEG_PAWS_SLACK_MS 1000

uint64_t
seg_ext64(uint32_t rel, uint64_t hi)
{
	uint64_t c = (hi & ~(uint64_t)0xffffffff) | rel;

	if (c > hi && c - hi > 0x80000000ULL && c >= 0x100000000ULL)
		c -= 0x100000000ULL;
	else if (c < hi && hi - c > 0x80000000ULL)
		c += 0x100000000ULL;
	return (c);
}

static void
put64(uint8_t *p, uint64_t v)
{
	pkt_put32(p, (uint32_t)(v >> 32));
	pkt_put32(p + 4, (uint32_t)v);
}

/*
 * The tag of ${k}: HMAC-SHA256 under ${mac} of
 *   "CKP1" | dir (0 = initiator to responder) | 0 0 0
 *   | off64(seq) (8) | off64(ack) or 0 (8)
 *   | src (16) | dst (16) | TCP length (4)
 *   | TCP bytes 0..3 (ports) | TCP bytes 12..19, checksum zeroed
 *   | options with the 12 tag bytes (TCP offset ${tagoff}) zeroed
 *   | payload (ciphertext)
 * truncated to 96 bits.
 */
static int
seg_mac(struct stream_prf *mac, uint8_t dirb, const struct pkt *k,
    uint64_t seq64, uint64_t ack64, size_t tagoff, uint8_t tag[XF_TAGBYTES])
{
	uint8_t h[SEG_MACHDRBYTES + TCPOPT_MAXBYTES];
	const uint8_t *th = k->p + k->l4;
	size_t optlen = k->thl - 20;
	struct iovec iov[2];

	memcpy(h, "CKP1", 4);
	h[4] = dirb;
	h[5] = 0;
	h[6] = 0;
	h[7] = 0;
	put64(h + 8, seq64);
	put64(h + 16, ack64);
	pkt_mapped(h + 24, k->family, pkt_src(k));
	pkt_mapped(h + 40, k->family, pkt_dst(k));
	pkt_put32(h + 56, (uint32_t)(k->thl + k->plen));
	memcpy(h + 60, th, 4);
	memcpy(h + 64, th + 12, 8);
	h[68] = 0;
	h[69] = 0;
	memcpy(h + SEG_MACHDRBYTES, th + 20, optlen);
	memset(h + SEG_MACHDRBYTES + (tagoff - 20), 0, XF_TAGBYTES);
	iov[0].iov_base = h;
	iov[0].iov_len = SEG_MACHDRBYTES + optlen;
	iov[1].iov_base = k->p + k->l4 + k->thl;
	iov[1].iov_len = k->plen;
	return (stream_prf_tag(mac, tag, XF_TAGBYTES, iov, 2));
}

/* The new option area of an outgoing segment, with room for the tag. */
static enum xf_reason
out_options(struct xf *x, const struct pkt *k, uint8_t opt[TCPOPT_MAXBYTES],
    size_t *optlen, size_t *tagopt)
{
	const uint8_t *src = k->p + k->l4 + 20;
	size_t n = k->thl - 20, trimmed;
	struct tcpopt o;

	if (tcpopt_parse(&o, src, n, XF_EXID) || o.ours_off >= 0)
		return (XF_R_MALFORMED);
	if (o.has_auth)
		return (XF_R_NOSPACE);
	if (!o.has_eol && !o.has_tfo && !o.has_mptcp &&
	    n + XF_TAGOPTBYTES <= TCPOPT_MAXBYTES) {
		/* Keep the kernel's layout, add the tag at the end. */
		memcpy(opt, src, n);
		*tagopt = n;
		*optlen = n + XF_TAGOPTBYTES;
	} else {
		if (tcpopt_build(opt, optlen, &o, src, false, XF_TAGOPTBYTES,
		        tagopt, &trimmed))
			return (XF_R_NOSPACE);
		x->st.sack_trims += trimmed;
	}
	opt[*tagopt] = XF_OPTKIND;
	opt[*tagopt + 1] = XF_TAGOPTBYTES;
	pkt_put16(opt + *tagopt + 2, XF_EXID);
	memset(opt + *tagopt + 4, 0, XF_TAGBYTES);
	return (XF_R_OK);
}

static void
note_flags(struct flow *f, const struct pkt *k, struct flow_dir *d)
{
	if (k->flags & PKT_FIN)
		d->fin = true;
	if ((k->flags & PKT_RST) || (f->out.fin && f->in.fin))
		f->closed = true;
}

/*
 * Our kernel refuses a connection (RST to a SYN, RFC 9293 section 3.10.7.1)
 * before there is a SYN-ACK: the initiator has no keys yet and takes it
 * unauthenticated (rst_unauth), so it goes out without payload or tag.
 */
static enum xf_reason
rst_refuse(struct pkt *k, struct flow *f)
{
	if (k->plen > 0) {
		k->plen = 0;
		pkt_set_len(k);
		pkt_l4_csum_set(k, 16, true);
	}
	f->closed = true;
	return (XF_R_OK);
}

enum xf_reason
seg_out(struct xf *x, struct pkt *k, struct flow *f, uint64_t now_ms)
{
	uint8_t opt[TCPOPT_MAXBYTES], *tag;
	uint64_t seq64, ack64 = 0, end;
	size_t optlen, tagopt;
	enum xf_reason r;

	if (f->state == FLOW_SYN_RCVD && (k->flags & PKT_RST))
		return (rst_refuse(k, f));
	if (f->state != FLOW_EST)
		return (XF_R_NOFLOW);
	seq64 = seg_ext64(k->seq - f->out.isn, f->out.hi);
	if (k->flags & PKT_ACK)
		ack64 = seg_ext64(k->ack - f->in.isn, f->in.hi);
	if (k->plen > 0 && seq64 + k->plen <= f->peer_acked) {
		/* Bytes the peer has: a keepalive's garbage byte must not
		 * be encrypted at an offset already used. */
		k->plen = 0;
		x->st.keepalive_strips++;
	}
	if (k->plen > 0 && seq64 == 0)
		return (XF_R_STALE);
	if ((r = out_options(x, k, opt, &optlen, &tagopt)) != XF_R_OK)
		return (r);
	/*
	 * IPv4: DF off.  The kernel sizes segments to the route's MTU
	 * without our option, then checks the bigger packet against that
	 * same MTU: with DF a path MTU under the link's (a PTB) would stall
	 * the flow.  Without it the packet is fragmented (here or by a
	 * router) and reassembled before the peer's INPUT hook.  pkt_set_len
	 * below recomputes the header checksum.
	 */
	if (k->family == AF_INET)
		k->p[6] &= (uint8_t)~0x40;
	if ((r = pkt_set_options(k, opt, optlen)) != XF_R_OK)
		return (r);
	tag = k->p + k->l4 + 20 + tagopt + 4;
	if (k->plen > 0 &&
	    stream_xor(f->out.enc, k->p + k->l4 + k->thl, k->p + k->l4 + k->thl,
	        k->plen, seq64 - 1))
		return (XF_R_INTERNAL);
	if (seg_mac(f->out.mac, f->initiator ? 0 : 1, k, seq64, ack64,
	        20 + tagopt + 4, tag))
		return (XF_R_INTERNAL);
	pkt_l4_csum_set(k, 16, true);
	end = seq64 + k->plen + ((k->flags & PKT_FIN) ? 1 : 0);
	if (end > f->out.hi)
		f->out.hi = end;
	note_flags(f, k, &f->out);
	f->last_ms = now_ms;
	x->st.out_bytes += k->plen;
	return (XF_R_OK);
}

/* An RST without a valid tag is let through only in SYN-SENT, when it
 * acknowledges our SYN (RFC 9293 section 3.10.7.3). */
static enum xf_reason
rst_unauth(struct pkt *k, struct flow *f, const struct tcpopt *o)
{
	uint8_t *th = k->p + k->l4;
	size_t optlen;

	if (f->state != FLOW_SYN_SENT || !(k->flags & PKT_ACK) ||
	    k->ack != f->out.isn + 1)
		return (XF_R_RST);
	if (o->ours_off >= 0) {
		optlen = tcpopt_strip(
		    th + 20, k->thl - 20, (size_t)o->ours_off, o->ours_len);
		memmove(th + 20 + optlen, th + k->thl, k->plen);
		k->thl = 20 + optlen;
	}
	k->plen = 0;
	pkt_set_len(k);
	pkt_l4_csum_set(k, 16, true);
	f->closed = true;
	return (XF_R_OK);
}

/*
 * Whether ts_max of ${f} is usable at ${now_ms}: it holds an authenticated
 * TSval that is not older than 24 days.
 */
static bool
paws_valid(const struct flow *f, uint64_t now_ms)
{
	return (f->in.ts_ok &&
	    (now_ms <= f->in.ts_ms ||
	        now_ms - f->in.ts_ms <= SEG_PAWS_IDLE_MS));
}

/*
 * Replay check (PAWS, RFC 7323 section 5) on the incoming segment ${k} of
 * ${f}, whose tag has verified (its options are authenticated).  Only for
 * flows whose SYN and SYN-ACK both carried timestamps: then every non-RST
 * segment carries one (section 3.2) and a segment without one is refused;
 * RSTs are exempt (Linux accepts an RST that fails PAWS).  A TSval more
 * than XF_PAWS_WINDOW ticks behind the highest authenticated one (serial
 * comparison in 32 bits) is an old segment or a replay.  So is one further
 * ahead than a 1 MHz clock can have moved since ts_max was last confirmed:
 * a TSval about 2^31 ticks old looks ahead in serial arithmetic, and
 * taking it would push ts_max back and lock the real sender out.  Return
 * true if ${k} may pass.
 */
static bool
paws_ok(const struct flow *f, const struct pkt *k, const struct tcpopt *o,
    uint64_t now_ms)
{
	uint64_t elapsed;
	uint32_t behind;

	if (!f->out.syn_ts || !f->in.syn_ts || (k->flags & PKT_RST))
		return (true);
	if (!o->has_ts)
		return (false);
	if (!paws_valid(f, now_ms))
		return (true);
	behind = f->in.ts_max - pkt_be32(o->ts);
	if (behind <= XF_PAWS_WINDOW)
		return (true);
	if (behind < 0x80000000U)
		return (false);
	elapsed = now_ms > f->in.ts_ms ? now_ms - f->in.ts_ms : 0;
	return ((uint64_t)(0U - behind) <=
	    (elapsed + SEG_PAWS_SLACK_MS) * SEG_PAWS_MAXRATE);
}

/* After ${k} passed paws_ok() and was accepted: raise ts_max of ${f}. */
static void
paws_note(struct flow *f, const struct pkt *k, const struct tcpopt *o,
    uint64_t now_ms)
{
	uint32_t v;

	if (!f->out.syn_ts || !f->in.syn_ts || (k->flags & PKT_RST) ||
	    !o->has_ts)
		return;
	v = pkt_be32(o->ts);
	if (!paws_valid(f, now_ms) || v - f->in.ts_max - 1 < 0x7fffffffU)
		f->in.ts_max = v;
	f->in.ts_ok = true;
	f->in.ts_ms = now_ms;
}

enum xf_reason
seg_in(struct xf *x, struct pkt *k, struct flow *f, uint64_t now_ms)
{
	uint8_t *th = k->p + k->l4, got[XF_TAGBYTES], want[XF_TAGBYTES];
	uint64_t seq64, ack64 = 0, end;
	size_t tagoff, optlen;
	struct tcpopt o;
	bool ok;

	if (tcpopt_parse(&o, th + 20, k->thl - 20, XF_EXID))
		return (XF_R_MALFORMED);
	if (f->state != FLOW_EST)
		return (
		    (k->flags & PKT_RST) ? rst_unauth(k, f, &o) : XF_R_NOFLOW);
	if (o.ours_off < 0 || o.ours_len != XF_TAGOPTBYTES)
		return ((k->flags & PKT_RST) ? XF_R_RST : XF_R_BADTAG);
	seq64 = seg_ext64(k->seq - f->in.isn, f->in.hi);
	if (k->flags & PKT_ACK)
		ack64 = seg_ext64(k->ack - f->out.isn, f->out.hi);
	tagoff = 20 + (size_t)o.ours_off + 4;
	memcpy(got, th + tagoff, XF_TAGBYTES);
	if (seg_mac(
	        f->in.mac, f->initiator ? 1 : 0, k, seq64, ack64, tagoff, want))
		return (XF_R_INTERNAL);
	ok = secret_equal(got, want, XF_TAGBYTES);
	if (!ok)
		return (XF_R_BADTAG);
	/* The peer has the keys: not a flow made by a spoofed SYN. */
	f->confirmed = true;
	/* Authenticated: now its timestamp can be trusted. */
	if (!paws_ok(f, k, &o, now_ms))
		return (XF_R_STALE);
	if (k->plen > 0 && seq64 == 0)
		return (XF_R_STALE);
	if (k->plen > 0 &&
	    stream_xor(f->in.enc, th + k->thl, th + k->thl, k->plen, seq64 - 1))
		return (XF_R_INTERNAL);
	optlen = tcpopt_strip(
	    th + 20, k->thl - 20, (size_t)o.ours_off, XF_TAGOPTBYTES);
	memmove(th + 20 + optlen, th + k->thl, k->plen);
	k->thl = 20 + optlen;
	pkt_set_len(k);
	pkt_l4_csum_set(k, 16, true);
	end = seq64 + k->plen + ((k->flags & PKT_FIN) ? 1 : 0);
	if (end > f->in.hi)
		f->in.hi = end;
	if ((k->flags & PKT_ACK) && ack64 > f->peer_acked)
		f->peer_acked = ack64;
	paws_note(f, k, &o, now_ms);
	note_flags(f, k, &f->in);
	f->last_ms = now_ms;
	x->st.in_bytes += k->plen;
	return (XF_R_OK);
}
