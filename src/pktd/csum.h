/*
 * csum.h: the Internet checksum (RFC 1071) for IPv4 headers, TCP and ICMP,
 * with the IPv4 and IPv6 pseudo-headers (RFC 793, RFC 8200 section 8.1).
 */
#ifndef CRYPTGATE_PKTD_CSUM_H
#define CRYPTGATE_PKTD_CSUM_H

#include <stddef.h>
#include <stdint.h>

/**
 * csum_add(sum, p, len): add the ${len} bytes at ${p}, taken as big-endian
 * 16-bit words (an odd last byte padded with zero), to the running sum
 * ${sum}; return the new sum.  ${len} must be even except for the last
 * call of a sequence.
 */
uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t len);

/** csum_fold(sum): the one's complement of ${sum} folded to 16 bits. */
uint16_t csum_fold(uint64_t sum);

/**
 * csum_pseudo(sum, family, src, dst, proto, len): add the pseudo-header of
 * ${family} (AF_INET: 4-byte addresses; AF_INET6: 16) for upper-layer
 * protocol ${proto} and length ${len} to ${sum}; return the new sum.
 */
uint64_t csum_pseudo(uint64_t sum, int family, const uint8_t *src,
    const uint8_t *dst, uint8_t proto, uint32_t len);

/**
 * csum_ipv4_header(ip, hlen): compute and store the header checksum of the
 * ${hlen}-byte IPv4 header at ${ip}.
 */
void csum_ipv4_header(uint8_t *ip, size_t hlen);

#endif /* !CRYPTGATE_PKTD_CSUM_H */
