/*
 * test_encode.c: hex and base64 against RFC 4648 section 10, every
 * rejection of the strict decoders, and random round trips.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cryptgate/encode.h"

static const char b64alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* RFC 4648 section 10. */
static const struct {
	const char *plain, *b64, *hex;
} rfc4648[] = {
	{ "", "", "" },
	{ "f", "Zg==", "66" },
	{ "fo", "Zm8=", "666F" },
	{ "foo", "Zm9v", "666F6F" },
	{ "foob", "Zm9vYg==", "666F6F62" },
	{ "fooba", "Zm9vYmE=", "666F6F6261" },
	{ "foobar", "Zm9vYmFy", "666F6F626172" },
};
#define NVEC (sizeof(rfc4648) / sizeof(rfc4648[0]))

static int
is_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return (0);
	return (1);
}

/* Decode ${s} as base64 into a 64-byte buffer; return the status. */
static int
unb64(const char *s, size_t *len)
{
	uint8_t out[64];

	memset(out, 0xa5, sizeof(out));
	if (encode_unbase64(out, sizeof(out), len, s, strlen(s)) == 0)
		return (0);
	/* A failure leaves the output zeroed and no length. */
	assert_true(is_zero(out,
	    strlen(s) / 4 * 3 < sizeof(out) ? strlen(s) / 4 * 3 : sizeof(out)));
	assert_int_equal(*len, 0);
	return (-1);
}

static void
test_base64_rfc4648(void **state)
{
	char enc[64];
	uint8_t dec[64];
	size_t i, len;

	(void)state;
	for (i = 0; i < NVEC; i++) {
		len = strlen(rfc4648[i].plain);
		assert_int_equal(encode_base64(enc, sizeof(enc),
		                     (const uint8_t *)rfc4648[i].plain, len),
		    0);
		assert_string_equal(enc, rfc4648[i].b64);
		assert_int_equal(strlen(enc), ENCODE_BASE64LEN(len));
		assert_int_equal(encode_unbase64(dec, sizeof(dec), &len,
		                     rfc4648[i].b64, strlen(rfc4648[i].b64)),
		    0);
		assert_int_equal(len, strlen(rfc4648[i].plain));
		assert_memory_equal(dec, rfc4648[i].plain, len);
	}
}

static void
test_base64_rejects(void **state)
{
	static const char *bad[] = {
		"Z",
		"Zg",
		"Zg=",
		"Zg===",
		"Zm9vY", /* length */
		"====",
		"A===",
		"=AAA",
		"Z=g=",
		"Zg=a", /* padding */
		"Zg==Zm9v",
		"Zm8=Zm9v",
		"Zm9v====", /* '=' before the end */
		"Zh==",
		"Zm9=",
		"Zg=B",
		"AB==", /* non-zero pad bits */
		"Zm9v\n",
		"Zm9v ",
		" Zm9v",
		"Zm 9",
		"Zm9v\r\n", /* space */
		"Zm-v",
		"Zm_v",
		"Zm.v",
		"Zm9v!",
		"Zm\x80v",
		"Zm\xffv",
	};
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (unb64(bad[i], &len) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	/* An embedded NUL is a bad character, not an end. */
	{
		uint8_t out[8];

		assert_int_equal(
		    encode_unbase64(out, sizeof(out), &len, "Zm\0v", 4), -1);
	}
}

static void
test_base64_every_char(void **state)
{
	char s[5] = "AAAA";
	uint8_t out[3];
	size_t len;
	int c, ok, want;

	(void)state;
	/* Position 0..2 of a full quad: exactly the 64 alphabet characters. */
	for (c = 0; c < 256; c++) {
		s[1] = (char)c;
		ok = encode_unbase64(out, sizeof(out), &len, s, 4) == 0;
		want = c != 0 && strchr(b64alphabet, c) != NULL;
		if (ok != want)
			fail_msg("char 0x%02x: got %d, want %d", c, ok, want);
		if (ok)
			assert_int_equal(out[0] << 16 | out[1] << 8 | out[2],
			    (int)(strchr(b64alphabet, c) - b64alphabet) << 12);
	}
	/* Last position: the alphabet and '=' (one pad, "AAA=" canonical). */
	s[1] = 'A';
	for (c = 0; c < 256; c++) {
		s[3] = (char)c;
		ok = encode_unbase64(out, sizeof(out), &len, s, 4) == 0;
		want = c == '=' || (c != 0 && strchr(b64alphabet, c) != NULL);
		if (ok != want)
			fail_msg(
			    "last char 0x%02x: got %d, want %d", c, ok, want);
	}
}

static void
test_base64_sizes(void **state)
{
	char enc[9];
	uint8_t dec[6];
	size_t len;

	(void)state;
	/* Encoder: needs room for the NUL; fails without touching dst. */
	memset(enc, 'x', sizeof(enc));
	assert_int_equal(
	    encode_base64(enc, 8, (const uint8_t *)"foobar", 6), -1);
	assert_int_equal(enc[0], 'x');
	assert_int_equal(
	    encode_base64(enc, 9, (const uint8_t *)"foobar", 6), 0);
	assert_string_equal(enc, "Zm9vYmFy");

	/* Decoder: exact fit, then one byte short. */
	assert_int_equal(encode_unbase64(dec, 6, &len, "Zm9vYmFy", 8), 0);
	assert_int_equal(len, 6);
	assert_int_equal(encode_unbase64(dec, 5, &len, "Zm9vYmFy", 8), -1);
	assert_true(is_zero(dec, 5));
	/* "Zm9vYmE=" decodes to 5 bytes: fits in 5. */
	assert_int_equal(encode_unbase64(dec, 5, &len, "Zm9vYmE=", 8), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(dec, "fooba", 5);
}

static void
test_base64_roundtrip(void **state)
{
	uint8_t in[300], out[300];
	char enc[ENCODE_BASE64LEN(300) + 1];
	size_t n, len, i;

	(void)state;
	srandom(1);
	for (n = 0; n <= sizeof(in); n++) {
		for (i = 0; i < n; i++)
			in[i] = (uint8_t)random();
		assert_int_equal(encode_base64(enc, sizeof(enc), in, n), 0);
		assert_int_equal(strlen(enc), ENCODE_BASE64LEN(n));
		assert_int_equal(
		    encode_unbase64(out, sizeof(out), &len, enc, strlen(enc)),
		    0);
		assert_int_equal(len, n);
		assert_memory_equal(in, out, n);
	}
}

static void
test_hex_vectors(void **state)
{
	char enc[64], lower[64];
	uint8_t dec[32];
	size_t i, j, len;

	(void)state;
	for (i = 0; i < NVEC; i++) {
		len = strlen(rfc4648[i].plain);
		assert_int_equal(encode_hex(enc, sizeof(enc),
		                     (const uint8_t *)rfc4648[i].plain, len),
		    0);
		/* We write lowercase; the RFC shows uppercase. */
		for (j = 0; rfc4648[i].hex[j] != '\0'; j++)
			lower[j] = (char)(rfc4648[i].hex[j] >= 'A' &&
			            rfc4648[i].hex[j] <= 'F'
			        ? rfc4648[i].hex[j] + 32
			        : rfc4648[i].hex[j]);
		lower[j] = '\0';
		assert_string_equal(enc, lower);
		/* Both cases decode. */
		assert_int_equal(encode_unhex(dec, sizeof(dec), &len,
		                     rfc4648[i].hex, strlen(rfc4648[i].hex)),
		    0);
		assert_int_equal(len, strlen(rfc4648[i].plain));
		assert_memory_equal(dec, rfc4648[i].plain, len);
		assert_int_equal(
		    encode_unhex(dec, sizeof(dec), &len, lower, strlen(lower)),
		    0);
		assert_memory_equal(dec, rfc4648[i].plain, len);
	}
	{
		const uint8_t all[] = { 0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff };

		assert_int_equal(encode_hex(enc, sizeof(enc), all, 6), 0);
		assert_string_equal(enc, "00017f80feff");
	}
}

static void
test_hex_rejects(void **state)
{
	static const char *bad[] = { "0", "abc", "0g", "g0", " 00", "00 ",
		"00\n", "0x00", "-1", "0G", "\xff\xff" };
	char s[3] = "00", enc[5];
	uint8_t out[8];
	size_t i, len;
	int c, ok, want;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(out, 0xa5, sizeof(out));
		if (encode_unhex(
		        out, sizeof(out), &len, bad[i], strlen(bad[i])) == 0)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(len, 0);
		assert_true(is_zero(out, strlen(bad[i]) / 2));
	}
	assert_int_equal(encode_unhex(out, sizeof(out), &len, "0\0", 2), -1);

	/* Every byte value in either position: only 0-9 a-f A-F. */
	for (c = 0; c < 256; c++) {
		want = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F');
		s[0] = (char)c;
		s[1] = '0';
		ok = encode_unhex(out, 1, &len, s, 2) == 0;
		if (ok != want)
			fail_msg("hi char 0x%02x: got %d", c, ok);
		s[0] = '0';
		s[1] = (char)c;
		ok = encode_unhex(out, 1, &len, s, 2) == 0;
		if (ok != want)
			fail_msg("lo char 0x%02x: got %d", c, ok);
		if (ok)
			assert_int_equal(
			    out[0], c <= '9' ? c - '0' : (c | 32) - 'a' + 10);
	}

	/* Output too small; encoder too small. */
	assert_int_equal(encode_unhex(out, 1, &len, "0102", 4), -1);
	assert_int_equal(encode_unhex(out, 2, &len, "0102", 4), 0);
	assert_int_equal(len, 2);
	assert_int_equal(out[1], 2);
	assert_int_equal(encode_hex(enc, 4, (const uint8_t *)"ab", 2), -1);
	assert_int_equal(encode_hex(enc, 5, (const uint8_t *)"ab", 2), 0);
	assert_string_equal(enc, "6162");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_rfc4648),
		cmocka_unit_test(test_base64_rejects),
		cmocka_unit_test(test_base64_every_char),
		cmocka_unit_test(test_base64_sizes),
		cmocka_unit_test(test_base64_roundtrip),
		cmocka_unit_test(test_hex_vectors),
		cmocka_unit_test(test_hex_rejects),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
