/*
 * icmp.h: ICMP and ICMPv6 errors that quote a protected flow.
 */
#ifndef CRYPTGATE_PKTD_ICMP_H
#define CRYPTGATE_PKTD_ICMP_H

#include "pkt.h"
#include "xfint.h"

/**
 * icmp_in(x, k): handle the incoming ICMP (proto 1) or ICMPv6 (58) packet
 * ${k}.  Errors quoting a protected flow: fragmentation-needed and
 * packet-too-big get their MTU lowered by XF_MSS_DELTA (checksum fixed);
 * hard errors are dropped (RFC 5925 section 7.8); others pass.  Anything
 * else passes unchanged (XF_R_NOPOLICY).  Return the reason.
 */
enum xf_reason icmp_in(struct xf *x, struct pkt *k);

#endif /* !CRYPTGATE_PKTD_ICMP_H */
