/*
 * csum.c: the Internet checksum (RFC 1071), summed 32 bits at a time into
 * a 64-bit accumulator and folded at the end (see csum.h).
 */
#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "csum.h"

uint64_t
csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
	uint32_t w;

	/* Big-endian 32-bit words sum to the same folded value. */
	while (len >= 4) {
		w = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		    (uint32_t)p[2] << 8 | p[3];
		sum += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		sum += (uint32_t)p[0] << 8 | p[1];
		p += 2;
		len -= 2;
	}
	if (len == 1)
		sum += (uint32_t)p[0] << 8;
	return (sum);
}

uint16_t
csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ((uint16_t)~sum);
}

uint64_t
csum_pseudo(uint64_t sum, int family, const uint8_t *src, const uint8_t *dst,
    uint8_t proto, uint32_t len)
{
	size_t alen = family == AF_INET ? 4 : 16;

	sum = csum_add(sum, src, alen);
	sum = csum_add(sum, dst, alen);
	sum += proto;
	sum += len >> 16;
	sum += len & 0xffff;
	return (sum);
}

void
csum_ipv4_header(uint8_t *ip, size_t hlen)
{
	uint16_t c;

	ip[10] = 0;
	ip[11] = 0;
	c = csum_fold(csum_add(0, ip, hlen));
	ip[10] = (uint8_t)(c >> 8);
	ip[11] = (uint8_t)c;
}
