/*
 * proxy.c: the PROXY protocol version 2 header the server role sends to
 * the backend first when proxy_protocol = yes (haproxy.org's
 * proxy-protocol.txt, section 2.2), so that the backend sees the real
 * client's address and the address it connected to.
 *
 * Binary form: the 12-byte signature, version 2 and command PROXY (0x21),
 * TCP over IPv4 (0x11) or IPv6 (0x21), the address length (12 or 36, big
 * endian), then source address, destination address, source port and
 * destination port, all in network order.  An IPv4-mapped IPv6 address
 * is sent as IPv4 when the other one is IPv4 too; mixed families are sent
 * as IPv6 (IPv4 mapped).  Addresses that are not IP give the LOCAL
 * command with no address, which backends treat as "use the socket's".
 *
 * No other dependency than libc, so that it can be fuzzed and unit-tested
 * on its own.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gatewayd.h"

static const uint8_t sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51,
	0x55, 0x49, 0x54, 0x0a };

/* An IP address and port, in network order, IPv4 in the first 4 bytes. */
struct ipport {
	int family; /* AF_INET, AF_INET6 or 0 */
	uint8_t addr[16];
	uint8_t port[2];
};

static void
get_ip(struct ipport *ip, const struct sockaddr *sa, socklen_t salen)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	memset(ip, 0, sizeof(*ip));
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET &&
	    salen >= (socklen_t)sizeof(struct sockaddr_in)) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		ip->family = AF_INET;
		memcpy(ip->addr, &sin->sin_addr, 4);
		memcpy(ip->port, &sin->sin_port, 2);
	} else if (sa->sa_family == AF_INET6 &&
	    salen >= (socklen_t)sizeof(struct sockaddr_in6)) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		memcpy(ip->port, &sin6->sin6_port, 2);
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			ip->family = AF_INET;
			memcpy(ip->addr, &sin6->sin6_addr.s6_addr[12], 4);
		} else {
			ip->family = AF_INET6;
			memcpy(ip->addr, &sin6->sin6_addr, 16);
		}
	}
}

/* Make the IPv4 ${ip} an IPv4-mapped IPv6 address. */
static void
to_v6(struct ipport *ip)
{
	uint8_t v4[4];

	if (ip->family != AF_INET)
		return;
	memcpy(v4, ip->addr, 4);
	memset(ip->addr, 0, 10);
	ip->addr[10] = 0xff;
	ip->addr[11] = 0xff;
	memcpy(&ip->addr[12], v4, 4);
	ip->family = AF_INET6;
}

int
proxy_v2_header(uint8_t *buf, size_t size, const struct sockaddr *src,
    socklen_t srclen, const struct sockaddr *dst, socklen_t dstlen)
{
	struct ipport s, d;
	size_t alen, off;

	get_ip(&s, src, srclen);
	get_ip(&d, dst, dstlen);
	if (s.family == 0 || d.family == 0) {
		alen = 0;
	} else if (s.family != d.family) {
		to_v6(&s);
		to_v6(&d);
		alen = 36;
	} else {
		alen = s.family == AF_INET ? 12 : 36;
	}
	if (buf == NULL || size < 16 + alen)
		return (-1);
	memcpy(buf, sig, sizeof(sig));
	buf[12] = alen == 0 ? 0x20 : 0x21;
	buf[13] = alen == 0 ? 0x00 : alen == 12 ? 0x11 : 0x21;
	buf[14] = (uint8_t)(alen >> 8);
	buf[15] = (uint8_t)alen;
	off = 16;
	if (alen > 0) {
		memcpy(&buf[off], s.addr, alen == 12 ? 4 : 16);
		off += alen == 12 ? 4 : 16;
		memcpy(&buf[off], d.addr, alen == 12 ? 4 : 16);
		off += alen == 12 ? 4 : 16;
		memcpy(&buf[off], s.port, 2);
		memcpy(&buf[off + 2], d.port, 2);
		off += 4;
	}

	/* Success! */
	return ((int)off);
}
