/*
 * xform.h: the packet transform of cryptgate-pktd (docs/PACKET.md).  It
 * works on raw IP packets (IPv4 or IPv6, starting at the IP header) and
 * knows nothing of NFQUEUE: nfq.c reads packets, calls xf_packet() and
 * sends the verdict with the (possibly rewritten) bytes.
 *
 * Thread safety: one struct xf per NFQUEUE worker thread.  HMARK sends both
 * directions of a flow to the same queue, so no locks are needed; a struct
 * xf must never be used by two threads at once.  xf_stats_get() reads
 * counters without locks: call it from the owning thread (or accept torn
 * reads of single counters).
 */
#ifndef CRYPTGATE_PKTD_XFORM_H
#define CRYPTGATE_PKTD_XFORM_H

#include <stddef.h>
#include <stdint.h>

#include "cryptgate/cdefs.h"

#define XF_KEYBYTES 32 /* the pair key of a policy (key.cfg) */
#define XF_EXID 0x434b /* RFC 6994 ExID "CK" */
#define XF_VERSION 1
#define XF_OPTKIND 253 /* RFC 6994 shared experimental option */
#define XF_HELLOBYTES 18 /* SYN/SYN-ACK option */
#define XF_TAGOPTBYTES 16 /* option on every other segment */
#define XF_TAGBYTES 12 /* HMAC-SHA256 truncated to 96 bits */
#define XF_NONCEBYTES 12
#define XF_MSS_DELTA 16 /* MSS and PTB MTU lowered by this much */
#define XF_HEADROOM 40 /* cap must be >= len + XF_HEADROOM */
/* Replay window: an authenticated segment whose TSval is more than this
 * many timestamp ticks (1 s at Linux's 1 kHz clock) behind the highest
 * one seen in its direction is dropped (XF_R_STALE; docs/PACKET.md). */
#define XF_PAWS_WINDOW 1000

/* OUT: leaving this host (OUTPUT hook); IN: arriving (INPUT hook). */
enum xf_dir { XF_OUT = 0, XF_IN = 1 };

enum xf_verdict { XF_ACCEPT = 0, XF_DROP = 1 };

/* Why a packet got its verdict; drops are counted per reason. */
enum xf_reason {
	XF_R_OK = 0, /* transformed, accept */
	XF_R_MALFORMED, /* truncated/invalid IP, TCP or options: drop */
	XF_R_NOPOLICY, /* no policy: accepted unchanged */
	XF_R_NOHELLO, /* SYN/SYN-ACK without hello on a protected flow */
	XF_R_NOFLOW, /* protected, non-SYN, no flow state */
	XF_R_KEYID, /* hello KeyID is not the policy's */
	XF_R_BADTAG, /* tag missing or wrong */
	XF_R_STALE, /* replay / outside the window / old offset */
	XF_R_RST, /* unauthenticated RST */
	XF_R_ICMP, /* hard ICMP error for a protected flow */
	XF_R_TABLEFULL, /* no room for a new flow */
	XF_R_NOSPACE, /* options do not fit (MD5, AO, ...) */
	XF_R_UNSUPPORTED, /* fragments, simultaneous open, version */
	XF_R_INTERNAL, /* crypto failure (should not happen) */
	XF_R_COUNT
};

/* Rule directions (match of ports: see xf_rule). */
enum xf_direction { XF_BOTH = 0, XF_INCOMING = 1, XF_OUTGOING = 2 };

/* A port range, host byte order, lo <= hi. */
struct xf_portrange {
	uint16_t lo;
	uint16_t hi;
};

/*
 * One [policy]: TCP connections between this host and a peer in
 * prefix/plen (family AF_INET or AF_INET6; prefix holds 4 or 16 bytes) are
 * protected if a port in ports matches: XF_OUTGOING: the remote port of a
 * connection this host opened; XF_INCOMING: the local port of a connection
 * the peer opened; XF_BOTH: either.  nports == 0 means every port.  The
 * first matching rule wins.
 */
struct xf_rule {
	int family;
	uint8_t prefix[16];
	unsigned int plen;
	const struct xf_portrange *ports;
	size_t nports;
	int direction; /* enum xf_direction */
	const uint8_t *key; /* XF_KEYBYTES; copied into secret memory */
};

struct xf_stats {
	uint64_t in_pkts; /* packets seen, by direction */
	uint64_t out_pkts;
	uint64_t in_bytes; /* payload bytes decrypted / encrypted */
	uint64_t out_bytes;
	uint64_t passed; /* accepted unchanged (no policy) */
	uint64_t flows_open; /* flows in the table now */
	uint64_t flows_total; /* flows created */
	uint64_t flows_expired;
	uint64_t sack_trims; /* SACK blocks removed to fit the tag */
	uint64_t mss_clamps;
	uint64_t keepalive_strips; /* payload removed below peer's ACK */
	uint64_t icmp_mtu; /* frag-needed / PTB adjusted */
	uint64_t mac_failures; /* == drops[XF_R_BADTAG] */
	uint64_t drops[XF_R_COUNT];
};

struct xf;

/**
 * xf_new(rules, nrules, max_flows): a transform with a copy of the
 * ${nrules} policies at ${rules} (keys in secret memory) and a flow table
 * of ${max_flows} entries (all allocated now: no allocation on the packet
 * path).  Return NULL on error (logged).  Free with xf_free().
 */
struct xf *xf_new(
    const struct xf_rule *rules, size_t nrules, size_t max_flows) CG_WUR;

/** xf_free(x): wipe and free ${x}; xf_free(NULL) does nothing. */
void xf_free(struct xf *x);

/**
 * xf_set_flow_timeout(x, idle_ms): idle flows expire after ${idle_ms}
 * (default 8100000, 2 h 15 min: longer than Linux's tcp_keepalive_time of
 * 2 hours, so an idle connection's first keepalive finds its flow);
 * closed flows (FIN both ways, or RST) after min(idle_ms, 60000);
 * handshakes the peer has not confirmed after min(idle_ms, 75000).
 */
void xf_set_flow_timeout(struct xf *x, uint64_t idle_ms);

/**
 * xf_packet(x, dir, pkt, len, cap, outlen, now_ms, why): transform the IP
 * packet of ${len} bytes at ${pkt} in place (${pkt} has room for ${cap}
 * bytes, ${cap} >= ${len} + XF_HEADROOM is expected; less may give
 * XF_R_NOSPACE).  *${outlen} gets the new length (options added or
 * removed); it is always <= ${cap} and set even on drops.  Return the
 * verdict; *${why} the reason (XF_R_OK for transformed, XF_R_NOPOLICY for
 * untouched accepts).  Never reads beyond ${len}, never writes beyond
 * ${cap}; on a drop the packet's bytes are unspecified.
 */
enum xf_verdict xf_packet(struct xf *x, enum xf_dir dir, uint8_t *pkt,
    size_t len, size_t cap, size_t *outlen, uint64_t now_ms,
    enum xf_reason *why);

/** xf_expire(x, now_ms): remove idle and closed flows. */
void xf_expire(struct xf *x, uint64_t now_ms);

/** xf_stats_get(x, st): copy the counters of ${x} into ${st}. */
void xf_stats_get(const struct xf *x, struct xf_stats *st);

/**
 * xf_reason_name(r): a short name for ${r} ("bad_tag", ...), for status
 * output; "unknown" for values out of range.
 */
const char *xf_reason_name(enum xf_reason r);

#endif /* !CRYPTGATE_PKTD_XFORM_H */
