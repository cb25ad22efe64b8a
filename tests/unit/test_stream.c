/*
 * test_stream.c: the packet path's primitives (stream.c): the ChaCha20
 * keystream at a 64-bit byte offset against RFC 8439 (sections 2.4.2 and
 * A.1), the block counter crossing 2^32, and the truncated HMAC-SHA256
 * context against RFC 4231 test cases 1-5.
 *
 * RFC 8439 section 2.3.2's block cannot be expressed through stream_xor:
 * its nonce's first word is state word 13, which our 64-bit counter owns,
 * and the counter it would need (0x09000000 << 32 | 1) is beyond a 64-bit
 * byte offset.  Section 2.4.2 (word 13 zero) and A.1 cover the same block
 * function.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>

#include "cryptgate/log.h"
#include "cryptgate/stream.h"

static size_t
unhex(uint8_t *out, size_t size, const char *s)
{
	unsigned int v;
	size_t n = 0;

	while (*s != '\0') {
		if (*s == ' ' || *s == ':' || *s == '\n') {
			s++;
			continue;
		}
		assert_true(n < size);
		assert_int_equal(sscanf(s, "%2x", &v), 1);
		out[n++] = (uint8_t)v;
		s += 2;
	}
	return (n);
}

static const char sunscreen[] =
    "Ladies and Gentlemen of the class of '99: If I could offer you only "
    "one tip for the future, sunscreen would be it.";

/* RFC 8439 section 2.4.2: key 00..1f, nonce 00:00:00:00:00:00:00:4a:00:00:
 * 00:00, counter 1.  State word 13 is 0, words 14-15 are our nonce. */
static void
test_rfc8439_242(void **state)
{
	const uint8_t nonce[STREAM_NONCEBYTES] = { 0, 0, 0, 0x4a, 0, 0, 0, 0 };
	uint8_t key[STREAM_KEYBYTES], want[114], got[114], ks[114];
	struct stream *s;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	n = unhex(want, sizeof(want),
	    "6e 2e 35 9a 25 68 f9 80 41 ba 07 28 dd 0d 69 81"
	    "e9 7e 7a ec 1d 43 60 c2 0a 27 af cc fd 9f ae 0b"
	    "f9 1b 65 c5 52 47 33 ab 8f 59 3d ab cd 62 b3 57"
	    "16 39 d6 24 e6 51 52 ab 8f 53 0c 35 9f 08 61 d8"
	    "07 ca 0d bf 50 0d 6a 61 56 a3 8e 08 8a 22 b6 5e"
	    "52 bc 51 4d 16 cc f8 06 81 8c e9 1a b7 79 37 36"
	    "5a f9 0b bf 74 a3 5b e6 b4 0b 8e ed f2 78 5e 42"
	    "87 4d");
	assert_int_equal(n, strlen(sunscreen));
	assert_non_null(s = stream_new(key, nonce));
	/* Counter 1 = byte offset 64. */
	assert_int_equal(
	    stream_xor(s, got, (const uint8_t *)sunscreen, n, 64), 0);
	assert_memory_equal(got, want, n);
	/* In place, and back. */
	assert_int_equal(stream_xor(s, got, got, n, 64), 0);
	assert_memory_equal(got, sunscreen, n);
	/* Any split of the message at any offset gives the same bytes. */
	for (i = 1; i < n; i += 7) {
		assert_int_equal(
		    stream_xor(s, got, (const uint8_t *)sunscreen, i, 64), 0);
		assert_int_equal(
		    stream_xor(s, got + i, (const uint8_t *)sunscreen + i,
		        n - i, 64 + i),
		    0);
		assert_memory_equal(got, want, n);
	}
	/* The keystream itself, first bytes from the RFC. */
	memset(ks, 0, sizeof(ks));
	assert_int_equal(stream_xor(s, ks, ks, sizeof(ks), 64), 0);
	n = unhex(want, sizeof(want), "22:4f:51:f3:40:1b:d9:e1:2f:de:27:6f");
	assert_memory_equal(ks, want, n);
	stream_free(s);
}

/* RFC 8439 appendix A.1 test vectors 1 and 2: zero key and nonce, blocks 0
 * and 1. */
static void
test_rfc8439_a1(void **state)
{
	const uint8_t key[STREAM_KEYBYTES] = { 0 };
	uint8_t want[128], got[128] = { 0 };
	struct stream *s;
	size_t n;

	(void)state;
	n = unhex(want, sizeof(want),
	    "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
	    "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586"
	    "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed"
	    "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f");
	assert_int_equal(n, 128);
	assert_non_null(s = stream_new(key, NULL));
	assert_int_equal(stream_xor(s, got, got, sizeof(got), 0), 0);
	assert_memory_equal(got, want, n);
	stream_free(s);
}

/*
 * A stream crossing block 2^32 - 1 -> 2^32 equals the two pieces computed
 * from their own starting blocks: the 32-bit counter carries into the next
 * word (the "64-bit counter" variant) and does not wrap to block 0.
 */
static void
test_counter_carry(void **state)
{
	uint8_t key[STREAM_KEYBYTES], across[300] = { 0 }, a[300] = { 0 };
	uint8_t block0[64] = { 0 };
	const uint64_t edge = ((uint64_t)1 << 32) * STREAM_BLOCKBYTES;
	const size_t before = 100;
	struct stream *s;

	(void)state;
	memset(key, 0x42, sizeof(key));
	assert_non_null(s = stream_new(key, NULL));
	assert_int_equal(
	    stream_xor(s, across, across, sizeof(across), edge - before), 0);
	assert_int_equal(stream_xor(s, a, a, before, edge - before), 0);
	assert_int_equal(
	    stream_xor(s, a + before, a + before, sizeof(a) - before, edge), 0);
	assert_memory_equal(across, a, sizeof(a));
	assert_int_equal(stream_xor(s, block0, block0, sizeof(block0), 0), 0);
	assert_memory_not_equal(across + before, block0, sizeof(block0));
	/* The same at the top of the 64-bit range, block 2^58 - 1. */
	memset(a, 0, sizeof(a));
	assert_int_equal(stream_xor(s, a, a, 64, UINT64_MAX - 63), 0);
	assert_memory_not_equal(a, block0, 64);
	stream_free(s);
}

/* RFC 4231 section 4, test cases 1-4 (full) and 5 (truncated to 128 bits). */
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
	{ "0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c",
	    "546573742057697468205472756e636174696f6e",
	    "a3b6167473100ee06e0c796c2955552b" },
};

static void
test_prf_rfc4231(void **state)
{
	uint8_t key[64], data[64], want[32], got[32];
	struct stream_prf *p;
	struct iovec iov[3];
	size_t i, j, kl, dl, ml;

	(void)state;
	for (i = 0; i < sizeof(rfc4231) / sizeof(rfc4231[0]); i++) {
		kl = unhex(key, sizeof(key), rfc4231[i].key);
		dl = unhex(data, sizeof(data), rfc4231[i].data);
		ml = unhex(want, sizeof(want), rfc4231[i].mac);
		assert_non_null(p = stream_prf_new(key, kl));
		/* Twice: the context is reused. */
		for (j = 0; j < 2; j++) {
			iov[0].iov_base = data;
			iov[0].iov_len = dl;
			assert_int_equal(stream_prf_tag(p, got, ml, iov, 1), 0);
			assert_memory_equal(got, want, ml);
		}
		/* Split over three buffers, one empty. */
		iov[0].iov_base = data;
		iov[0].iov_len = dl / 3;
		iov[1].iov_base = data;
		iov[1].iov_len = 0;
		iov[2].iov_base = data + dl / 3;
		iov[2].iov_len = dl - dl / 3;
		assert_int_equal(stream_prf_tag(p, got, ml, iov, 3), 0);
		assert_memory_equal(got, want, ml);
		/* Truncation is a prefix. */
		assert_int_equal(stream_prf_tag(p, got, 12, iov, 3), 0);
		assert_memory_equal(got, want, 12);
		stream_prf_free(p);
	}
}

static void
test_prf_edges(void **state)
{
	uint8_t key[32] = { 1 }, out[33];
	struct stream_prf *p;
	struct iovec iov = { .iov_base = key, .iov_len = 1 };

	(void)state;
	assert_null(stream_prf_new(key, 0));
	assert_null(stream_prf_new(NULL, 32));
	assert_non_null(p = stream_prf_new(key, sizeof(key)));
	assert_int_equal(stream_prf_tag(p, out, 0, &iov, 1), -1);
	assert_int_equal(stream_prf_tag(p, out, 33, &iov, 1), -1);
	/* An empty message is fine. */
	assert_int_equal(stream_prf_tag(p, out, 32, NULL, 0), 0);
	stream_prf_free(p);
	stream_prf_free(NULL);
	stream_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8439_242),
		cmocka_unit_test(test_rfc8439_a1),
		cmocka_unit_test(test_counter_carry),
		cmocka_unit_test(test_prf_rfc4231),
		cmocka_unit_test(test_prf_edges),
	};

	log_init(1, 0, LOG_USER);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
