/*
 * pkt.h: a parsed IPv4/IPv6 packet for the transform, and the helpers
 * that read and rewrite its headers.  Every offset is checked against the
 * packet's length by the parsers before it is used.
 */
#ifndef CRYPTGATE_PKTD_PKT_H
#define CRYPTGATE_PKTD_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xform.h"

#define PKT_FIN 0x01
#define PKT_SYN 0x02
#define PKT_RST 0x04
#define PKT_ACK 0x10

/* One packet; offsets into p. */
struct pkt {
	uint8_t *p;
	size_t len; /* from the IP header, <= the buffer's length */
	size_t cap;
	int family; /* AF_INET, AF_INET6 */
	uint8_t proto;
	size_t l4; /* TCP or ICMP header */
	size_t thl; /* TCP header length */
	size_t plen; /* TCP payload length */
	uint8_t flags;
	uint32_t seq;
	uint32_t ack;
	uint16_t sport;
	uint16_t dport;
};

static inline uint16_t
pkt_be16(const uint8_t *p)
{
	return ((uint16_t)(p[0] << 8 | p[1]));
}

static inline uint32_t
pkt_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

static inline void
pkt_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
pkt_put32(uint8_t *p, uint32_t v)
{
	pkt_put16(p, (uint16_t)(v >> 16));
	pkt_put16(p + 2, (uint16_t)v);
}

/**
 * pkt_parse_ip(k): parse the IP header (and IPv6 hop-by-hop, routing and
 * destination options headers) of ${k} (p, len, cap set): family, proto,
 * l4; len shrinks to the IP length.  Return XF_R_OK, XF_R_MALFORMED or
 * XF_R_UNSUPPORTED (fragments).
 */
enum xf_reason pkt_parse_ip(struct pkt *k);

/**
 * pkt_parse_tcp(k): parse the TCP header at l4.  Return XF_R_OK or
 * XF_R_MALFORMED.
 */
enum xf_reason pkt_parse_tcp(struct pkt *k);

/** pkt_src(k), pkt_dst(k): the addresses (4 or 16 bytes) in ${k}. */
const uint8_t *pkt_src(const struct pkt *k);
const uint8_t *pkt_dst(const struct pkt *k);

/** pkt_mapped(out, family, a): ${a} as 16 bytes, IPv4 as ::ffff:a.b.c.d. */
void pkt_mapped(uint8_t out[16], int family, const uint8_t *a);

/**
 * pkt_set_len(k): len = l4 + thl + plen; store it in the IP header (and
 * the IPv4 header checksum) and thl in the TCP data offset.
 */
void pkt_set_len(struct pkt *k);

/**
 * pkt_set_options(k, opt, optlen): replace the TCP options of ${k} with
 * the ${optlen} bytes at ${opt} (a multiple of 4, <= 40), moving the
 * payload, and fix the lengths (not the TCP checksum).  Return XF_R_OK or
 * XF_R_NOSPACE if the result would pass cap.
 */
enum xf_reason pkt_set_options(
    struct pkt *k, const uint8_t *opt, size_t optlen);

/**
 * pkt_l4_csum_ok(k, pseudo): true if the checksum of the layer 4 message
 * of ${k} is right (with the pseudo-header if ${pseudo}).
 */
bool pkt_l4_csum_ok(const struct pkt *k, bool pseudo);

/** pkt_l4_csum_set(k, off, pseudo): compute and store the layer 4
 * checksum of ${k} at offset ${off} of the layer 4 header. */
void pkt_l4_csum_set(struct pkt *k, size_t off, bool pseudo);

/* The longest text pkt_format_flow writes, with NUL. */
#define PKT_FLOWSTRLEN 128

/**
 * pkt_format_flow(buf, size, p, len): the packet at ${p} (${len} bytes,
 * read only) for a log line, into ${buf} (${size} bytes, PKT_FLOWSTRLEN
 * suffice): "SRC:SPORT -> DST:DPORT" for TCP (an IPv6 address in
 * brackets); "SRC -> DST (protocol N)" for another protocol, with
 * "(malformed TCP header)" or "(fragment)" instead when so; "malformed
 * packet (N bytes)" if the IP header does not parse.  Return ${buf}.
 */
const char *pkt_format_flow(char *buf, size_t size, uint8_t *p, size_t len);

#endif /* !CRYPTGATE_PKTD_PKT_H */
