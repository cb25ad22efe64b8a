/*
 * test_mac.c: HMAC-SHA256 (mac.c) against the RFC 4231 test cases, and
 * mac_hmac_sha256_verify's answers for good, altered and truncated input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "cryptgate/log.h"
#include "cryptgate/mac.h"

static size_t
unhex(uint8_t *out, size_t size, const char *s)
{
	unsigned int v;
	size_t i, n = strlen(s) / 2;

	assert_true(n <= size);
	assert_int_equal(strlen(s) % 2, 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return (n);
}

/* RFC 4231 section 4: test cases 1-4, 6 and 7 (5 is truncated output). */
static const struct {
	const char *key;
	const char *data;
	const char *mac;
} rfc4231[] = {
	{ "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "4869205468657265",
	    "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff"
	    "7" },
	{ "4a656665",
	    "7768617420646f2079612077616e7420666f72206e6f7468696e673f",
	    "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec384"
	    "3" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
	    "dddddddddddddddddddddddddddddddddddd",
	    "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565f"
	    "e" },
	{ "0102030405060708090a0b0c0d0e0f10111213141516171819",
	    "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
	    "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
	    "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665"
	    "b" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaa",
	    "54657374205573696e67204c6172676572205468616e20426c6f636b2d53697a"
	    "65204b6579202d2048617368204b6579204669727374",
	    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f5"
	    "4" },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaa",
	    "5468697320697320612074657374207573696e672061206c6172676572207468"
	    "616e20626c6f636b2d73697a65206b657920616e642061206c61726765722074"
	    "68616e20626c6f636b2d73697a6520646174612e20546865206b6579206e6565"
	    "647320746f20626520686173686564206265666f7265206265696e6720757365"
	    "642062792074686520484d414320616c676f726974686d2e",
	    "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e"
	    "2" },
};

static void
test_rfc4231(void **state)
{
	uint8_t key[256], data[256], want[32], got[MAC_HMAC_SHA256BYTES];
	size_t i, klen, dlen;

	(void)state;
	for (i = 0; i < sizeof(rfc4231) / sizeof(rfc4231[0]); i++) {
		klen = unhex(key, sizeof(key), rfc4231[i].key);
		dlen = unhex(data, sizeof(data), rfc4231[i].data);
		assert_int_equal(unhex(want, sizeof(want), rfc4231[i].mac), 32);
		assert_int_equal(
		    mac_hmac_sha256(got, key, klen, data, dlen), 0);
		assert_memory_equal(got, want, 32);
		assert_int_equal(
		    mac_hmac_sha256_verify(want, key, klen, data, dlen), 0);
	}
	printf("# counts: %zu passed, 0 failed, 0 skipped\n", i);
}

static void
test_verify_rejects(void **state)
{
	uint8_t key[32], m[100], mac[32], bad[32];
	size_t i;

	(void)state;
	memset(key, 7, sizeof(key));
	for (i = 0; i < sizeof(m); i++)
		m[i] = (uint8_t)i;
	assert_int_equal(
	    mac_hmac_sha256(mac, key, sizeof(key), m, sizeof(m)), 0);
	assert_int_equal(
	    mac_hmac_sha256_verify(mac, key, sizeof(key), m, sizeof(m)), 0);
	/* Every single-bit change of the MAC is refused. */
	for (i = 0; i < 8 * sizeof(mac); i++) {
		memcpy(bad, mac, sizeof(bad));
		bad[i / 8] ^= (uint8_t)(1u << (i % 8));
		assert_int_equal(
		    mac_hmac_sha256_verify(bad, key, sizeof(key), m, sizeof(m)),
		    -1);
	}
	/* Another message, a shorter message, another key. */
	m[50] ^= 1;
	assert_int_equal(
	    mac_hmac_sha256_verify(mac, key, sizeof(key), m, sizeof(m)), -1);
	m[50] ^= 1;
	assert_int_equal(
	    mac_hmac_sha256_verify(mac, key, sizeof(key), m, sizeof(m) - 1),
	    -1);
	key[0] ^= 1;
	assert_int_equal(
	    mac_hmac_sha256_verify(mac, key, sizeof(key), m, sizeof(m)), -1);
}

static void
test_edges(void **state)
{
	uint8_t key[MAC_KEYBYTES_MAX + 1], out[32], zero[32];

	(void)state;
	memset(key, 1, sizeof(key));
	memset(zero, 0, sizeof(zero));
	/* Empty message: allowed, NULL or not. */
	assert_int_equal(mac_hmac_sha256(out, key, 16, NULL, 0), 0);
	assert_int_equal(mac_hmac_sha256_verify(out, key, 16, NULL, 0), 0);
	/* Empty, missing or oversized key: refused, output zeroed. */
	memset(out, 0xff, sizeof(out));
	assert_int_equal(mac_hmac_sha256(out, key, 0, key, 4), -1);
	assert_memory_equal(out, zero, 32);
	assert_int_equal(mac_hmac_sha256(out, NULL, 16, key, 4), -1);
	assert_int_equal(mac_hmac_sha256(out, key, sizeof(key), key, 4), -1);
	assert_int_equal(
	    mac_hmac_sha256(out, key, MAC_KEYBYTES_MAX, key, 4), 0);
	assert_int_equal(mac_hmac_sha256_verify(out, key, 0, key, 4), -1);
	/* A NULL message with a length is refused. */
	assert_int_equal(mac_hmac_sha256(out, key, 16, NULL, 4), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4231),
		cmocka_unit_test(test_verify_rejects),
		cmocka_unit_test(test_edges),
	};

	log_init(1, 0, LOG_USER);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
