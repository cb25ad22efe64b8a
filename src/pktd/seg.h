/*
 * seg.h: every segment of a protected flow other than SYN and SYN-ACK:
 * payload encryption at the 64-bit stream offset and the 96-bit tag.
 */
#ifndef CRYPTGATE_PKTD_SEG_H
#define CRYPTGATE_PKTD_SEG_H

#include <stdint.h>

#include "flow.h"
#include "pkt.h"
#include "xfint.h"

/**
 * seg_ext64(rel, hi): the 64-bit offset nearest ${hi} whose low 32 bits
 * are ${rel} (the sequence number extension of RFC 5925 section 6.2).
 */
uint64_t seg_ext64(uint32_t rel, uint64_t hi);

/**
 * seg_out(x, k, f, now_ms): encrypt and tag the outgoing segment ${k} of
 * flow ${f}.  Return the reason.
 */
enum xf_reason seg_out(
    struct xf *x, struct pkt *k, struct flow *f, uint64_t now_ms);

/**
 * seg_in(x, k, f, now_ms): verify, strip the tag of and decrypt the
 * incoming segment ${k} of flow ${f}.  Return the reason.
 */
enum xf_reason seg_in(
    struct xf *x, struct pkt *k, struct flow *f, uint64_t now_ms);

#endif /* !CRYPTGATE_PKTD_SEG_H */
