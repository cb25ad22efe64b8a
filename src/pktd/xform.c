/*
 * xform.c: the transport-mode packet transform of cryptgate-pktd: policy,
 * dispatch and counters (docs/PACKET.md).  hello.c handles SYN and
 * SYN-ACK, seg.c every other segment, icmp.c ICMP errors.  Everything
 * fails closed: what cannot be authenticated is dropped.
 */
#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cryptgate/digest.h"
#include "cryptgate/log.h"
#include "cryptgate/secret.h"

#include "flow.h"
#include "hello.h"
#include "icmp.h"
#include "pkt.h"
#include "seg.h"
#include "xfint.h"
#include "xform.h"

#define XF_IDLE_MS_DEFAULT 8100000ULL
#define XF_CLOSED_MS 60000ULL
#define XF_HALF_MS 75000ULL
#define XF_KEYID_LABEL "cryptgate pkt keyid"

static const char *const xf_names[XF_R_COUNT] = { "ok", "malformed",
	"no_policy", "no_hello", "no_flow", "key_id", "bad_tag", "stale",
	"unauth_rst", "icmp_hard", "table_full", "no_option_space",
	"unsupported", "internal" };

/* KeyID = first byte of SHA-256("cryptgate pkt keyid" || key). */
static int
keyid(const uint8_t *key, uint8_t *id)
{
	uint8_t buf[sizeof(XF_KEYID_LABEL) - 1 + XF_KEYBYTES];
	uint8_t h[DIGEST_SHA256BYTES];
	int rc;

	memcpy(buf, XF_KEYID_LABEL, sizeof(XF_KEYID_LABEL) - 1);
	memcpy(buf + sizeof(XF_KEYID_LABEL) - 1, key, XF_KEYBYTES);
	rc = digest_sha256(h, buf, sizeof(buf));
	*id = h[0];
	secret_wipe(buf, sizeof(buf));
	return (rc);
}

static int
copy_rule(struct xf_policy *p, const struct xf_rule *r)
{
	size_t alen = r->family == AF_INET ? 4 : 16;

	if ((r->family != AF_INET && r->family != AF_INET6) ||
	    r->plen > alen * 8 || r->key == NULL ||
	    (r->nports > 0 && r->ports == NULL)) {
		log_warnx("xf_new: invalid policy");
		return (-1);
	}
	p->family = r->family;
	memcpy(p->prefix, r->prefix, alen);
	p->plen = r->plen;
	p->direction = r->direction;
	p->nports = r->nports;
	if (r->nports > 0) {
		if ((p->ports = calloc(r->nports, sizeof(*p->ports))) == NULL)
			return (-1);
		memcpy(p->ports, r->ports, r->nports * sizeof(*p->ports));
	}
	if ((p->key = secret_alloc(XF_KEYBYTES)) == NULL)
		return (-1);
	memcpy(p->key, r->key, XF_KEYBYTES);
	return (keyid(p->key, &p->keyid));
}

struct xf *
xf_new(const struct xf_rule *rules, size_t nrules, size_t max_flows)
{
	struct xf *x;
	size_t i;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		goto err0;
	x->idle_ms = XF_IDLE_MS_DEFAULT;
	if (nrules > 0 &&
	    (x->rules = calloc(nrules, sizeof(*x->rules))) == NULL)
		goto err1;
	x->nrules = nrules;
	for (i = 0; i < nrules; i++)
		if (copy_rule(&x->rules[i], &rules[i]))
			goto err1;
	if ((x->flows = flow_table_new(max_flows)) == NULL) {
		log_warnx(
		    "xf_new: cannot make a table of %zu flows", max_flows);
		goto err1;
	}

	/* Success! */
	return (x);

err1:
	xf_free(x);
err0:
	/* Failure! */
	return (NULL);
}

void
xf_free(struct xf *x)
{
	size_t i;

	if (x == NULL)
		return;
	flow_table_free(x->flows);
	for (i = 0; i < x->nrules; i++) {
		free(x->rules[i].ports);
		secret_free(x->rules[i].key, XF_KEYBYTES);
	}
	free(x->rules);
	free(x);
}

void
xf_set_flow_timeout(struct xf *x, uint64_t idle_ms)
{
	x->idle_ms = idle_ms;
}

static bool
prefix_match(const struct xf_policy *r, const uint8_t *a)
{
	unsigned int full = r->plen / 8, bits = r->plen % 8;
	uint8_t mask;

	if (memcmp(r->prefix, a, full) != 0)
		return (false);
	if (bits == 0)
		return (true);
	mask = (uint8_t)(0xff << (8 - bits));
	return (((r->prefix[full] ^ a[full]) & mask) == 0);
}

static bool
port_in(const struct xf_policy *r, uint16_t port)
{
	size_t i;

	if (r->nports == 0)
		return (true);
	for (i = 0; i < r->nports; i++)
		if (port >= r->ports[i].lo && port <= r->ports[i].hi)
			return (true);
	return (false);
}

int
xf_match(const struct xf *x, int family, const uint8_t *raddr, uint16_t lport,
    uint16_t rport)
{
	const struct xf_policy *r;
	size_t i;
	bool hit;

	for (i = 0; i < x->nrules; i++) {
		r = &x->rules[i];
		if (r->family != family || !prefix_match(r, raddr))
			continue;
		if (r->direction == XF_INCOMING)
			hit = port_in(r, lport);
		else if (r->direction == XF_OUTGOING)
			hit = port_in(r, rport);
		else
			hit = port_in(r, lport) || port_in(r, rport);
		if (hit)
			return ((int)i);
	}
	return (-1);
}

static enum xf_reason
tcp(struct xf *x, enum xf_dir dir, struct pkt *k, uint64_t now_ms)
{
	const uint8_t *laddr, *raddr;
	uint16_t lport, rport;
	struct flow_key fk;
	struct flow *f;
	enum xf_reason r;
	int rule = -1;

	if ((r = pkt_parse_tcp(k)) != XF_R_OK)
		return (r);
	laddr = dir == XF_OUT ? pkt_src(k) : pkt_dst(k);
	raddr = dir == XF_OUT ? pkt_dst(k) : pkt_src(k);
	lport = dir == XF_OUT ? k->sport : k->dport;
	rport = dir == XF_OUT ? k->dport : k->sport;
	memset(&fk, 0, sizeof(fk));
	pkt_mapped(fk.laddr, k->family, laddr);
	pkt_mapped(fk.raddr, k->family, raddr);
	fk.lport = lport;
	fk.rport = rport;
	fk.family = (uint32_t)k->family;
	if ((f = flow_lookup(x->flows, &fk)) == NULL &&
	    (rule = xf_match(x, k->family, raddr, lport, rport)) < 0)
		return (XF_R_NOPOLICY);
	if ((k->flags & PKT_SYN) && (k->flags & (PKT_RST | PKT_FIN)))
		return (XF_R_MALFORMED);
	if ((k->flags & PKT_SYN) && !(k->flags & PKT_ACK))
		return (hello_syn(x, dir, k, &fk, f, rule, now_ms));
	if (k->flags & PKT_SYN)
		return (hello_synack(x, dir, k, f, now_ms));
	if (f == NULL)
		return (XF_R_NOFLOW);
	if (dir == XF_OUT)
		return (seg_out(x, k, f, now_ms));
	return (seg_in(x, k, f, now_ms));
}

static enum xf_reason
packet(struct xf *x, enum xf_dir dir, struct pkt *k, uint64_t now_ms)
{
	enum xf_reason r;

	if ((r = pkt_parse_ip(k)) != XF_R_OK)
		return (r);
	if (k->proto == 6)
		return (tcp(x, dir, k, now_ms));
	if (dir == XF_IN &&
	    ((k->family == AF_INET && k->proto == 1) ||
	        (k->family == AF_INET6 && k->proto == 58)))
		return (icmp_in(x, k));
	return (XF_R_NOPOLICY);
}

enum xf_verdict
xf_packet(struct xf *x, enum xf_dir dir, uint8_t *pkt, size_t len, size_t cap,
    size_t *outlen, uint64_t now_ms, enum xf_reason *why)
{
	struct pkt k;
	enum xf_reason r;

	memset(&k, 0, sizeof(k));
	k.p = pkt;
	k.len = len < cap ? len : cap;
	k.cap = cap;
	if (dir == XF_OUT)
		x->st.out_pkts++;
	else
		x->st.in_pkts++;
	r = packet(x, dir, &k, now_ms);
	*why = r;
	if (r == XF_R_NOPOLICY) {
		x->st.passed++;
		*outlen = len < cap ? len : cap;
		return (XF_ACCEPT);
	}
	*outlen = k.len;
	if (r == XF_R_OK)
		return (XF_ACCEPT);
	x->st.drops[r]++;
	return (XF_DROP);
}

void
xf_expire(struct xf *x, uint64_t now_ms)
{
	uint64_t closed = x->idle_ms < XF_CLOSED_MS ? x->idle_ms : XF_CLOSED_MS;
	uint64_t half = x->idle_ms < XF_HALF_MS ? x->idle_ms : XF_HALF_MS;

	x->st.flows_expired +=
	    flow_expire(x->flows, now_ms, x->idle_ms, closed, half);
}

void
xf_stats_get(const struct xf *x, struct xf_stats *st)
{
	*st = x->st;
	st->flows_open = flow_count(x->flows);
	st->mac_failures = x->st.drops[XF_R_BADTAG];
}

const char *
xf_reason_name(enum xf_reason r)
{
	if ((unsigned int)r >= XF_R_COUNT)
		return ("unknown");
	return (xf_names[r]);
}
