/*
 * test_x25519.c: X25519 against RFC 7748 sections 5.2 and 6.1, low-order
 * points, key generation; the same for imported keys (struct x25519_key).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cryptgate/x25519.h"

/* Decode exactly ${n} bytes of hex ${s} into ${out}. */
static void
unhex(uint8_t *out, size_t n, const char *s)
{
	size_t i;
	unsigned int v;

	assert_int_equal(strlen(s), 2 * n);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static int
is_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return (0);
	return (1);
}

static void
check_dh(const char *k_hex, const char *u_hex, const char *out_hex)
{
	uint8_t k[32], u[32], want[32], got[32];

	unhex(k, 32, k_hex);
	unhex(u, 32, u_hex);
	unhex(want, 32, out_hex);
	assert_int_equal(x25519(got, k, u), 0);
	assert_memory_equal(got, want, 32);
}

/* RFC 7748 section 5.2, the two single-call vectors. */
static void
test_rfc7748_5_2(void **state)
{
	(void)state;
	check_dh(
	    "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
	    "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
	    "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
	/* The u-coordinate has its top bit set: it must be ignored. */
	check_dh(
	    "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
	    "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
	    "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

/* RFC 7748 section 5.2, iterated: k = X25519(k, u), u = old k. */
static void
test_rfc7748_5_2_iterated(void **state)
{
	uint8_t k[32] = { 9 }, u[32] = { 9 }, r[32], want1[32], want1000[32];
	int i;

	(void)state;
	unhex(want1, 32,
	    "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
	unhex(want1000, 32,
	    "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
	for (i = 1; i <= 1000; i++) {
		assert_int_equal(x25519(r, k, u), 0);
		memcpy(u, k, 32);
		memcpy(k, r, 32);
		if (i == 1)
			assert_memory_equal(k, want1, 32);
	}
	assert_memory_equal(k, want1000, 32);
}

/* RFC 7748 section 6.1: Alice and Bob. */
static void
test_rfc7748_6_1(void **state)
{
	uint8_t a_sk[32], a_pk[32], b_sk[32], b_pk[32], want[32];
	uint8_t pk[32], s1[32], s2[32];

	(void)state;
	unhex(a_sk, 32,
	    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	unhex(a_pk, 32,
	    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	unhex(b_sk, 32,
	    "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	unhex(b_pk, 32,
	    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	unhex(want, 32,
	    "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");

	assert_int_equal(x25519_public(pk, a_sk), 0);
	assert_memory_equal(pk, a_pk, 32);
	assert_int_equal(x25519_public(pk, b_sk), 0);
	assert_memory_equal(pk, b_pk, 32);
	assert_int_equal(x25519(s1, a_sk, b_pk), 0);
	assert_int_equal(x25519(s2, b_sk, a_pk), 0);
	assert_memory_equal(s1, want, 32);
	assert_memory_equal(s2, want, 32);
}

static void
test_keypair(void **state)
{
	uint8_t a_pk[32], a_sk[32], b_pk[32], b_sk[32], pk[32];
	uint8_t s1[32], s2[32];

	(void)state;
	assert_int_equal(x25519_keypair(a_pk, a_sk), 0);
	assert_int_equal(x25519_keypair(b_pk, b_sk), 0);
	assert_memory_not_equal(a_sk, b_sk, 32);
	assert_memory_not_equal(a_pk, b_pk, 32);
	assert_int_equal(x25519_public(pk, a_sk), 0);
	assert_memory_equal(pk, a_pk, 32);
	assert_int_equal(x25519(s1, a_sk, b_pk), 0);
	assert_int_equal(x25519(s2, b_sk, a_pk), 0);
	assert_memory_equal(s1, s2, 32);
	assert_false(is_zero(s1, 32));
}

/*
 * Points of small order (and their non-canonical encodings) give an all-zero
 * result, which must be refused with the output zeroed (RFC 7748 section
 * 6.1, RFC 9180 section 7.1.4).  The list is the usual one (e.g. the
 * libsodium/Wycheproof blocklist): 0, 1, the two points of order 8, p-1, p,
 * p+1, and 0 and 1 with the ignored top bit set.
 */
static const char *const low_order[] = {
	"00000000000000000000000000000000000000000000000000000000000000"
	"00",
	"01000000000000000000000000000000000000000000000000000000000000"
	"00",
	"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b8"
	"00",
	"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f11"
	"57",
	"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	"7f",
	"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	"7f",
	"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	"7f",
	"00000000000000000000000000000000000000000000000000000000000000"
	"80",
	"01000000000000000000000000000000000000000000000000000000000000"
	"80",
};

/* The one-shot x25519 with the points above. */
static void
test_low_order(void **state)
{
	uint8_t pk[32], sk[32], u[32], out[32];
	size_t i;

	(void)state;
	assert_int_equal(x25519_keypair(pk, sk), 0);
	for (i = 0; i < sizeof(low_order) / sizeof(low_order[0]); i++) {
		unhex(u, 32, low_order[i]);
		memset(out, 0xaa, sizeof(out));
		assert_int_equal(x25519(out, sk, u), -1);
		assert_true(is_zero(out, sizeof(out)));
	}

	/* And a good peer still works afterwards. */
	assert_int_equal(x25519(out, sk, pk), 0);
	assert_false(is_zero(out, sizeof(out)));
}

/* The key objects against RFC 7748 and the one-shot functions. */
static void
test_key_rfc7748(void **state)
{
	uint8_t a_sk[32], a_pk[32], b_sk[32], b_pk[32], want[32];
	uint8_t k[32], u[32], pk[32], s1[32], s2[32];
	struct x25519_key *a, *b, *kk;

	(void)state;
	unhex(a_sk, 32,
	    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	unhex(a_pk, 32,
	    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	unhex(b_sk, 32,
	    "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	unhex(b_pk, 32,
	    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	unhex(want, 32,
	    "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	assert_non_null(a = x25519_key_new(a_sk));
	assert_non_null(b = x25519_key_new(b_sk));
	x25519_key_public(a, pk);
	assert_memory_equal(pk, a_pk, 32);
	x25519_key_public(b, pk);
	assert_memory_equal(pk, b_pk, 32);
	assert_int_equal(x25519_key_derive(s1, a, b_pk), 0);
	assert_int_equal(x25519_key_derive(s2, b, a_pk), 0);
	assert_memory_equal(s1, want, 32);
	assert_memory_equal(s2, want, 32);
	/* A key serves many exchanges. */
	assert_int_equal(x25519_key_derive(s1, a, b_pk), 0);
	assert_memory_equal(s1, want, 32);

	/* Section 5.2, top bit of u set. */
	unhex(k, 32,
	    "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d");
	unhex(u, 32,
	    "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493");
	unhex(want, 32,
	    "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
	assert_non_null(kk = x25519_key_new(k));
	assert_int_equal(x25519_key_derive(s1, kk, u), 0);
	assert_memory_equal(s1, want, 32);
	assert_int_equal(x25519(s2, k, u), 0);
	assert_memory_equal(s2, want, 32);

	x25519_key_free(kk);
	x25519_key_free(b);
	x25519_key_free(a);
	x25519_key_free(NULL);
}

static void
test_key_generate(void **state)
{
	struct x25519_key *a, *b, *c;
	uint8_t a_pk[32], b_pk[32], c_pk[32], p_pk[32], p_sk[32];
	uint8_t s1[32], s2[32];

	(void)state;
	assert_non_null(a = x25519_key_generate());
	assert_non_null(b = x25519_key_generate());
	x25519_key_public(a, a_pk);
	x25519_key_public(b, b_pk);
	assert_memory_not_equal(a_pk, b_pk, 32);
	assert_int_equal(x25519_key_derive(s1, a, b_pk), 0);
	assert_int_equal(x25519_key_derive(s2, b, a_pk), 0);
	assert_memory_equal(s1, s2, 32);
	assert_false(is_zero(s1, 32));

	/* Cached and one-shot exchanges agree with a raw key pair. */
	assert_int_equal(x25519_keypair(p_pk, p_sk), 0);
	assert_non_null(c = x25519_key_new(p_sk));
	x25519_key_public(c, c_pk);
	assert_memory_equal(c_pk, p_pk, 32);
	assert_int_equal(x25519_key_derive(s1, c, a_pk), 0);
	assert_int_equal(x25519(s2, p_sk, a_pk), 0);
	assert_memory_equal(s1, s2, 32);
	assert_int_equal(x25519_key_derive(s2, a, p_pk), 0);
	assert_memory_equal(s1, s2, 32);
	/* A different peer, a different secret. */
	assert_int_equal(x25519_key_derive(s2, c, b_pk), 0);
	assert_memory_not_equal(s1, s2, 32);
	x25519_key_free(c);
	x25519_key_free(b);
	x25519_key_free(a);
}

static void
test_key_low_order(void **state)
{
	struct x25519_key *k;
	uint8_t pk[32], sk[32], u[32], out[32];
	size_t i;

	(void)state;
	assert_int_equal(x25519_keypair(pk, sk), 0);
	assert_non_null(k = x25519_key_new(sk));
	for (i = 0; i < sizeof(low_order) / sizeof(low_order[0]); i++) {
		unhex(u, 32, low_order[i]);
		memset(out, 0xaa, sizeof(out));
		assert_int_equal(x25519_key_derive(out, k, u), -1);
		assert_true(is_zero(out, sizeof(out)));
	}
	memset(out, 0xaa, sizeof(out));
	assert_int_equal(x25519_key_derive(out, NULL, pk), -1);
	assert_true(is_zero(out, sizeof(out)));
	assert_int_equal(x25519_key_derive(out, k, pk), 0);
	assert_false(is_zero(out, sizeof(out)));
	x25519_key_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc7748_5_2),
		cmocka_unit_test(test_rfc7748_5_2_iterated),
		cmocka_unit_test(test_rfc7748_6_1),
		cmocka_unit_test(test_keypair),
		cmocka_unit_test(test_low_order),
		cmocka_unit_test(test_key_rfc7748),
		cmocka_unit_test(test_key_generate),
		cmocka_unit_test(test_key_low_order),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
