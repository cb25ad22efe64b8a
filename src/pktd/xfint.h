/*
 * xfint.h: the transform's state, shared by xform.c (API, dispatch,
 * policy), hello.c (SYN and SYN-ACK), seg.c (every other segment) and
 * icmp.c (ICMP errors).  Not for the daemon: it uses xform.h.
 */
#ifndef CRYPTGATE_PKTD_XFINT_H
#define CRYPTGATE_PKTD_XFINT_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"
#include "xform.h"

/* One [policy], with its key in secret memory. */
struct xf_policy {
	int family;
	uint8_t prefix[16];
	unsigned int plen;
	struct xf_portrange *ports;
	size_t nports;
	int direction;
	uint8_t *key; /* secret_alloc(XF_KEYBYTES) */
	uint8_t keyid;
};

struct xf {
	struct xf_policy *rules;
	size_t nrules;
	struct flow_table *flows;
	uint64_t idle_ms;
	struct xf_stats st;
};

/**
 * xf_match(x, family, raddr, lport, rport): the index of the first policy
 * of ${x} protecting a connection with the peer ${raddr} (4 or 16 bytes)
 * between the local port ${lport} and the remote port ${rport}, or -1.
 */
int xf_match(const struct xf *x, int family, const uint8_t *raddr,
    uint16_t lport, uint16_t rport);

#endif /* !CRYPTGATE_PKTD_XFINT_H */
