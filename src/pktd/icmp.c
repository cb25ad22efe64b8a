/*
 * icmp.c: ICMP errors for protected flows (docs/PACKET.md, "ICMP").
 * The quoted packet is one this host sent: its source is the local end.
 */
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "flow.h"
#include "icmp.h"
#include "pkt.h"
#include "seg.h"
#include "xfint.h"

#define ICMP_UNREACH 3
#define ICMP_PARAMPROB 12
#define ICMP_NEEDFRAG 4
#define ICMP6_UNREACH 1
#define ICMP6_PTB 2
#define ICMP6_PARAMPROB 4
#define ICMP_MIN_MTU 576
#define ICMP6_MIN_MTU 1280

/* Errors Linux treats as fatal for a connection (icmp_err_convert,
 * icmpv6_err_convert): the ones an attacker would forge. */
static bool
is_hard(int family, uint8_t type, uint8_t code)
{
	if (family == AF_INET)
		return (
		    (type == ICMP_UNREACH &&
		        (code == 2 || code == 3 || (code >= 6 && code <= 10) ||
		            (code >= 13 && code <= 15))) ||
		    type == ICMP_PARAMPROB);
	return ((type == ICMP6_UNREACH && code != 0 && code != 3) ||
	    type == ICMP6_PARAMPROB);
}

static bool
is_error(int family, uint8_t type)
{
	if (family == AF_INET)
		return (type == ICMP_UNREACH || type == 11 ||
		    type == ICMP_PARAMPROB);
	return (type >= 1 && type <= 4);
}

/*
 * The header length of the IPv6 packet quoted at ${qoff} of ${k}: its
 * extension headers walked as the kernel does before it hands an error to
 * TCP (ipv6_skip_exthdr), bounded by the ICMP message.  *${odd} is set if
 * a fragment (offset 0) or AH header was skipped: a protected flow never
 * sends those.  Return XF_R_OK if TCP follows, XF_R_NOPOLICY if another
 * protocol (or a later fragment) does, XF_R_MALFORMED if it is cut short.
 */
static enum xf_reason
quote6(const struct pkt *k, size_t qoff, size_t *qhl, bool *odd)
{
	const uint8_t *q = k->p + qoff, *h;
	size_t off = 40, hl;
	uint8_t nh = q[6];

	*odd = false;
	while (nh == 0 || nh == 43 || nh == 60 || nh == 44 || nh == 51) {
		if (qoff + off + 8 > k->len)
			return (XF_R_MALFORMED);
		h = q + off;
		if (nh == 44) {
			if ((pkt_be16(h + 2) & 0xfff8) != 0)
				return (XF_R_NOPOLICY); /* no TCP header */
			*odd = true;
			hl = 8;
		} else if (nh == 51) {
			*odd = true;
			hl = ((size_t)h[1] + 2) * 4; /* RFC 4302 section 2.2 */
		} else {
			hl = ((size_t)h[1] + 1) * 8;
		}
		nh = h[0];
		off += hl;
	}
	*qhl = off;
	return (nh == 6 ? XF_R_OK : XF_R_NOPOLICY);
}

/* Lower the MTU of a frag-needed / packet-too-big message by the tag. */
static enum xf_reason
lower_mtu(struct xf *x, struct pkt *k)
{
	uint8_t *ic = k->p + k->l4;
	uint32_t mtu, floor;

	if (k->family == AF_INET) {
		mtu = pkt_be16(ic + 6);
		floor = ICMP_MIN_MTU;
	} else {
		mtu = pkt_be32(ic + 4);
		floor = ICMP6_MIN_MTU;
	}
	if (mtu == 0)
		return (XF_R_OK); /* RFC 1191 old-style: nothing to lower */
	mtu = mtu > floor + XF_MSS_DELTA ? mtu - XF_MSS_DELTA : floor;
	if (k->family == AF_INET)
		pkt_put16(ic + 6, (uint16_t)mtu);
	else
		pkt_put32(ic + 4, mtu);
	pkt_l4_csum_set(k, 2, k->family == AF_INET6);
	x->st.icmp_mtu++;
	return (XF_R_OK);
}

enum xf_reason
icmp_in(struct xf *x, struct pkt *k)
{
	const uint8_t *ic = k->p + k->l4, *q, *qsrc, *qdst, *qt;
	size_t qoff = k->l4 + 8, qhl;
	struct flow_key fk;
	struct flow *f;
	uint64_t seq64;
	uint8_t type, code;
	enum xf_reason r;
	bool odd = false;
	int rule;

	if (k->l4 + 8 > k->len)
		return (XF_R_MALFORMED);
	type = ic[0];
	code = ic[1];
	if (!is_error(k->family, type))
		return (XF_R_NOPOLICY);
	/* The quoted IP header and the first 8 bytes of its TCP header. */
	q = k->p + qoff;
	if (k->family == AF_INET) {
		if (qoff + 20 > k->len || q[0] >> 4 != 4 || q[9] != 6)
			return (XF_R_NOPOLICY);
		qhl = (size_t)(q[0] & 0x0f) * 4;
		qsrc = q + 12;
		qdst = q + 16;
	} else {
		if (qoff + 40 > k->len || q[0] >> 4 != 6)
			return (XF_R_NOPOLICY);
		if ((r = quote6(k, qoff, &qhl, &odd)) != XF_R_OK)
			return (r);
		qsrc = q + 8;
		qdst = q + 24;
	}
	if (qhl < 20 || qoff + qhl + 8 > k->len)
		return (XF_R_MALFORMED);
	qt = q + qhl;
	memset(&fk, 0, sizeof(fk));
	pkt_mapped(fk.laddr, k->family, qsrc);
	pkt_mapped(fk.raddr, k->family, qdst);
	fk.lport = pkt_be16(qt);
	fk.rport = pkt_be16(qt + 2);
	fk.family = (uint32_t)k->family;
	f = flow_lookup(x->flows, &fk);
	rule = f != NULL ? 0 : xf_match(x, k->family, qdst, fk.lport, fk.rport);
	if (rule < 0)
		return (XF_R_NOPOLICY);
	if (odd)
		return (XF_R_UNSUPPORTED); /* not a packet of ours */
	if (f == NULL)
		return (XF_R_NOFLOW);
	if (!pkt_l4_csum_ok(k, k->family == AF_INET6))
		return (XF_R_MALFORMED);
	/* The quoted sequence number must be one we have sent. */
	seq64 = seg_ext64(pkt_be32(qt + 4) - f->out.isn, f->out.hi);
	if (!f->out.has_isn || seq64 > f->out.hi)
		return (XF_R_STALE);
	if ((k->family == AF_INET && type == ICMP_UNREACH &&
	        code == ICMP_NEEDFRAG) ||
	    (k->family == AF_INET6 && type == ICMP6_PTB))
		return (lower_mtu(x, k));
	if (f->state == FLOW_EST && is_hard(k->family, type, code))
		return (XF_R_ICMP);
	return (XF_R_OK);
}
