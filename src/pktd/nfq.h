/*
 * nfq.h: one NFQUEUE queue, read and answered in batches (nfq.c is the
 * only file that includes libnetfilter_queue and libmnl).
 *
 * The queue is bound with NFQNL_COPY_PACKET (the whole packet), a long
 * kernel queue, NFQA_CFG_F_GSO off (the kernel segments GSO packets and
 * completes their checksums before queueing them) and NFQA_CFG_F_FAIL_OPEN
 * off (a full queue drops, never accepts).  The netlink socket gets large
 * buffers and NETLINK_NO_ENOBUFS.
 *
 * Use: poll nfqueue_fd() for input, nfqueue_recv() drains up to NFQ_BATCH packets
 * without blocking, the caller decides each packet (accept or drop,
 * optionally with new bytes), nfqueue_verdicts() sends every verdict in one
 * sendmsg.  Thread safety: one thread per struct nfqueue.
 *
 * The names are nfqueue_*, not nfq_*: libnetfilter_queue owns those.
 */
#ifndef CRYPTGATE_PKTD_NFQ_H
#define CRYPTGATE_PKTD_NFQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptgate/cdefs.h"

#define NFQ_BATCH 64 /* packets read per wakeup at most */
#define NFQ_MAXLEN 8192 /* kernel queue length */
#define NFQ_SOCKBYTES (8 * 1024 * 1024) /* SO_RCVBUFFORCE, SO_SNDBUFFORCE */
#define NFQ_PKTBYTES 65535 /* largest packet copied */

/* Where the kernel queued a packet. */
enum nfqueue_hook { NFQ_HOOK_IN = 0, NFQ_HOOK_OUT = 1, NFQ_HOOK_OTHER = 2 };

/* One queued packet, in a buffer of nfqueue_open's ${cap} bytes. */
struct nfqueue_pkt {
	uint32_t id;
	enum nfqueue_hook hook;
	uint8_t *buf; /* the packet from its IP header; owned by the queue */
	size_t len; /* bytes of the packet as queued */
	/* Set by the caller before nfqueue_verdicts: */
	bool accept;
	bool modified; /* send buf[0..outlen) back in place of the packet */
	size_t outlen;
};

struct nfqueue;

/**
 * nfqueue_open(num, cap): bind NFQUEUE queue ${num} as described above, with
 * packet buffers of ${cap} (>= NFQ_PKTBYTES) bytes, so a packet may grow
 * in place.  Return the queue or NULL (logged; EBUSY: another process has
 * the queue).
 */
struct nfqueue *nfqueue_open(uint16_t num, size_t cap) CG_WUR;

/** nfqueue_fd(q): the descriptor to poll for input. */
int nfqueue_fd(const struct nfqueue *q);

/**
 * nfqueue_recv(q, pkts): read the queued packets, without blocking, up to
 * NFQ_BATCH; set *${pkts} to an array of them (owned by ${q}, valid until
 * the next nfqueue_recv).  Packets the caller does not decide are dropped.
 * Return how many (0: none waiting), or -1 on a socket error (logged).
 * ENOBUFS (the kernel lost messages) is counted, not an error.
 */
int nfqueue_recv(struct nfqueue *q, struct nfqueue_pkt **pkts);

/**
 * nfqueue_verdicts(q, n): send the verdicts of the first ${n} packets of the
 * last nfqueue_recv, each accepted packet with its new bytes if modified, in
 * one sendmsg.  Return 0 or -1 (logged).
 */
int nfqueue_verdicts(struct nfqueue *q, size_t n);

/**
 * nfqueue_counters(q, enobufs, errors): messages lost by the kernel
 * (ENOBUFS), netlink errors (bad messages, error answers).
 */
void nfqueue_counters(
    const struct nfqueue *q, uint64_t *enobufs, uint64_t *errors);

/** nfqueue_close(q): unbind and close ${q}; queued packets are dropped. */
void nfqueue_close(struct nfqueue *q);

#endif /* !CRYPTGATE_PKTD_NFQ_H */
