/*
 * hello.h: SYN and SYN-ACK of protected flows: the hello option (nonces,
 * KeyID), option repacking, MSS clamping, and the per-connection keys.
 */
#ifndef CRYPTGATE_PKTD_HELLO_H
#define CRYPTGATE_PKTD_HELLO_H

#include "flow.h"
#include "pkt.h"
#include "xfint.h"

/**
 * hello_syn(x, dir, k, fk, f, rule, now_ms): handle the SYN (no ACK) ${k}
 * of the connection ${fk} (flow ${f} or NULL; policy ${rule}).  OUT: add
 * the hello with a fresh N_i, repack options, clamp MSS.  IN: check and
 * strip the hello, derive keys with a fresh N_r.  Return the reason.
 */
enum xf_reason hello_syn(struct xf *x, enum xf_dir dir, struct pkt *k,
    const struct flow_key *fk, struct flow *f, int rule, uint64_t now_ms);

/**
 * hello_synack(x, dir, k, f, now_ms): handle the SYN-ACK ${k} of flow
 * ${f} (NULL: drop).  OUT: add the hello with N_r.  IN: check and strip
 * the hello, derive keys.  Return the reason.
 */
enum xf_reason hello_synack(struct xf *x, enum xf_dir dir, struct pkt *k,
    struct flow *f, uint64_t now_ms);

#endif /* !CRYPTGATE_PKTD_HELLO_H */
