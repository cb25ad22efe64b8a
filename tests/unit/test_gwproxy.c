/*
 * test_gwproxy.c: the gateway's PROXY protocol v2 header encoder
 * (src/gatewayd/proxy.c), against byte layouts written out from
 * haproxy.org's proxy-protocol.txt section 2.2.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <string.h>

#include "../../src/gatewayd/proxy.c"

static const uint8_t SIG[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51,
	0x55, 0x49, 0x54, 0x0a };

static struct sockaddr_in
v4(const char *ip, uint16_t port)
{
	struct sockaddr_in s;

	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &s.sin_addr), 1);
	return (s);
}

static struct sockaddr_in6
v6(const char *ip, uint16_t port)
{
	struct sockaddr_in6 s;

	memset(&s, 0, sizeof(s));
	s.sin6_family = AF_INET6;
	s.sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, ip, &s.sin6_addr), 1);
	return (s);
}

static void
test_ipv4(void **state)
{
	struct sockaddr_in src = v4("192.0.2.1", 56324);
	struct sockaddr_in dst = v4("198.51.100.7", 443);
	const uint8_t want[28] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a,
		0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11, 0x00, 0x0c, 192, 0, 2,
		1, 198, 51, 100, 7, 0xdc, 0x04, 0x01, 0xbb };
	uint8_t buf[PROXY_V2_MAXBYTES];

	(void)state;
	assert_int_equal(
	    proxy_v2_header(buf, sizeof(buf), (struct sockaddr *)&src,
	        sizeof(src), (struct sockaddr *)&dst, sizeof(dst)),
	    28);
	assert_memory_equal(buf, want, sizeof(want));
	/* Exactly enough room, and one byte short. */
	assert_int_equal(proxy_v2_header(buf, 28, (struct sockaddr *)&src,
	                     sizeof(src), (struct sockaddr *)&dst, sizeof(dst)),
	    28);
	assert_int_equal(proxy_v2_header(buf, 27, (struct sockaddr *)&src,
	                     sizeof(src), (struct sockaddr *)&dst, sizeof(dst)),
	    -1);
}

static void
test_ipv6(void **state)
{
	struct sockaddr_in6 src = v6("2001:db8::1", 40000);
	struct sockaddr_in6 dst = v6("2001:db8::2", 7023);
	uint8_t buf[PROXY_V2_MAXBYTES];

	(void)state;
	assert_int_equal(
	    proxy_v2_header(buf, sizeof(buf), (struct sockaddr *)&src,
	        sizeof(src), (struct sockaddr *)&dst, sizeof(dst)),
	    52);
	assert_memory_equal(buf, SIG, sizeof(SIG));
	assert_int_equal(buf[12], 0x21);
	assert_int_equal(buf[13], 0x21);
	assert_int_equal(buf[14], 0);
	assert_int_equal(buf[15], 36);
	assert_memory_equal(&buf[16], &src.sin6_addr, 16);
	assert_memory_equal(&buf[32], &dst.sin6_addr, 16);
	assert_int_equal(buf[48] << 8 | buf[49], 40000);
	assert_int_equal(buf[50] << 8 | buf[51], 7023);
	assert_int_equal(proxy_v2_header(buf, 51, (struct sockaddr *)&src,
	                     sizeof(src), (struct sockaddr *)&dst, sizeof(dst)),
	    -1);
}

/* A v4-mapped client on a v6 socket is sent as IPv4 with an IPv4 dst. */
static void
test_mapped(void **state)
{
	struct sockaddr_in6 src = v6("::ffff:192.0.2.9", 1234);
	struct sockaddr_in dst = v4("192.0.2.10", 80);
	uint8_t buf[PROXY_V2_MAXBYTES];

	(void)state;
	assert_int_equal(
	    proxy_v2_header(buf, sizeof(buf), (struct sockaddr *)&src,
	        sizeof(src), (struct sockaddr *)&dst, sizeof(dst)),
	    28);
	assert_int_equal(buf[13], 0x11);
	assert_int_equal(buf[16], 192);
	assert_int_equal(buf[19], 9);
	assert_int_equal(buf[24] << 8 | buf[25], 1234);
}

/* Mixed families: both as IPv6, the IPv4 one mapped. */
static void
test_mixed(void **state)
{
	struct sockaddr_in src = v4("192.0.2.9", 1234);
	struct sockaddr_in6 dst = v6("2001:db8::2", 80);
	const uint8_t mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff,
		192, 0, 2, 9 };
	uint8_t buf[PROXY_V2_MAXBYTES];

	(void)state;
	assert_int_equal(
	    proxy_v2_header(buf, sizeof(buf), (struct sockaddr *)&src,
	        sizeof(src), (struct sockaddr *)&dst, sizeof(dst)),
	    52);
	assert_int_equal(buf[13], 0x21);
	assert_memory_equal(&buf[16], mapped, 16);
	assert_memory_equal(&buf[32], &dst.sin6_addr, 16);
}

/* Not IP (or unknown): LOCAL, no address block. */
static void
test_local(void **state)
{
	struct sockaddr_in src = v4("192.0.2.9", 1234);
	struct sockaddr_un un;
	uint8_t buf[PROXY_V2_MAXBYTES];

	(void)state;
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	assert_int_equal(
	    proxy_v2_header(buf, sizeof(buf), (struct sockaddr *)&src,
	        sizeof(src), (struct sockaddr *)&un, sizeof(un)),
	    16);
	assert_memory_equal(buf, SIG, sizeof(SIG));
	assert_int_equal(buf[12], 0x20);
	assert_int_equal(buf[13], 0x00);
	assert_int_equal(buf[14] | buf[15], 0);
	assert_int_equal(proxy_v2_header(buf, sizeof(buf),
	                     (struct sockaddr *)&src, sizeof(src), NULL, 0),
	    16);
	/* A truncated sockaddr is not trusted. */
	assert_int_equal(
	    proxy_v2_header(buf, sizeof(buf), (struct sockaddr *)&src, 4,
	        (struct sockaddr *)&src, sizeof(src)),
	    16);
	assert_int_equal(proxy_v2_header(NULL, 0, (struct sockaddr *)&src,
	                     sizeof(src), (struct sockaddr *)&src, sizeof(src)),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_mapped),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_local),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
