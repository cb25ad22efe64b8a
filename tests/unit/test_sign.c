/*
 * test_sign.c: Ed25519 against RFC 8032 section 7.1, domain separation,
 * bit flips, context checks; the imported key objects (sign_key,
 * sign_pub) against the one-shot functions, tampering, threads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptgate/sign.h"

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
check_rfc8032(const char *sk_hex, const char *pk_hex, const char *m_hex,
    const char *sig_hex)
{
	uint8_t sk[SIGN_SECRETBYTES], pk[SIGN_PUBLICBYTES], got_pk[32];
	uint8_t m[8], sig[SIGN_BYTES], got[SIGN_BYTES];
	size_t mlen = strlen(m_hex) / 2;

	assert_true(mlen <= sizeof(m));
	unhex(sk, sizeof(sk), sk_hex);
	unhex(pk, sizeof(pk), pk_hex);
	unhex(m, mlen, m_hex);
	unhex(sig, sizeof(sig), sig_hex);

	assert_int_equal(sign_public(got_pk, sk), 0);
	assert_memory_equal(got_pk, pk, sizeof(pk));
	assert_int_equal(
	    sign_detached_pure(got, mlen > 0 ? m : NULL, mlen, sk), 0);
	assert_memory_equal(got, sig, sizeof(sig));
	assert_int_equal(
	    sign_verify_pure(sig, mlen > 0 ? m : NULL, mlen, pk), 0);

	/* The context-separated signature is a different one. */
	assert_int_equal(sign_detached(got, "rfc8032", m, mlen, sk), 0);
	assert_memory_not_equal(got, sig, sizeof(sig));
	assert_int_equal(sign_verify(sig, "rfc8032", m, mlen, pk), -1);
}

/* RFC 8032 section 7.1, TEST 1 (empty message), TEST 2, TEST 3. */
static void
test_rfc8032(void **state)
{
	(void)state;
	check_rfc8032(
	    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
	    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
	    "",
	    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
	    "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
	check_rfc8032(
	    "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
	    "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
	    "72",
	    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
	    "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
	check_rfc8032(
	    "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
	    "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
	    "af82",
	    "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
	    "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a");
}

/* sign_detached is exactly Ed25519 over ctx || 0x00 || m. */
static void
test_construction(void **state)
{
	static const uint8_t m[] = { 'h', 'i', 0x00, 0xff };
	static const uint8_t framed[] = { 'c', 't', 'x', 0x00, 'h', 'i', 0x00,
		0xff };
	uint8_t pk[32], sk[32], sig1[64], sig2[64];

	(void)state;
	assert_int_equal(sign_keypair(pk, sk), 0);
	assert_int_equal(sign_detached(sig1, "ctx", m, sizeof(m), sk), 0);
	assert_int_equal(
	    sign_detached_pure(sig2, framed, sizeof(framed), sk), 0);
	assert_memory_equal(sig1, sig2, 64); /* Ed25519 is deterministic */
	assert_int_equal(sign_verify_pure(sig1, framed, sizeof(framed), pk), 0);
	assert_int_equal(sign_verify(sig2, "ctx", m, sizeof(m), pk), 0);
	/* Empty message, NULL pointer. */
	assert_int_equal(sign_detached(sig1, "ctx", NULL, 0, sk), 0);
	assert_int_equal(sign_verify(sig1, "ctx", NULL, 0, pk), 0);
	assert_int_equal(sign_verify(sig1, "ctx", m, 1, pk), -1);
}

static void
test_keypair(void **state)
{
	uint8_t pk1[32], sk1[32], pk2[32], sk2[32], pk[32], sig[64];
	static const uint8_t m[] = "message";

	(void)state;
	assert_int_equal(sign_keypair(pk1, sk1), 0);
	assert_int_equal(sign_keypair(pk2, sk2), 0);
	assert_memory_not_equal(sk1, sk2, 32);
	assert_memory_not_equal(pk1, pk2, 32);
	assert_int_equal(sign_public(pk, sk1), 0);
	assert_memory_equal(pk, pk1, 32);
	assert_int_equal(sign_detached(sig, "test", m, sizeof(m), sk1), 0);
	assert_int_equal(sign_verify(sig, "test", m, sizeof(m), pk1), 0);
	/* Wrong public key. */
	assert_int_equal(sign_verify(sig, "test", m, sizeof(m), pk2), -1);
}

static void
test_context_separation(void **state)
{
	uint8_t pk[32], sk[32], sig[64];
	static const uint8_t m[] = "payload";
	static const uint8_t c[] = { 'c' };

	(void)state;
	assert_int_equal(sign_keypair(pk, sk), 0);
	assert_int_equal(
	    sign_detached(sig, "cryptgate test A", m, sizeof(m), sk), 0);
	assert_int_equal(
	    sign_verify(sig, "cryptgate test A", m, sizeof(m), pk), 0);
	assert_int_equal(
	    sign_verify(sig, "cryptgate test B", m, sizeof(m), pk), -1);
	assert_int_equal(
	    sign_verify(sig, "cryptgate test", m, sizeof(m), pk), -1);
	assert_int_equal(sign_verify_pure(sig, m, sizeof(m), pk), -1);

	/* Moving a byte between context and message changes the input. */
	assert_int_equal(sign_detached(sig, "abc", NULL, 0, sk), 0);
	assert_int_equal(sign_verify(sig, "ab", c, sizeof(c), pk), -1);
	assert_int_equal(sign_verify(sig, "abc", NULL, 0, pk), 0);
}

static void
test_bit_flips(void **state)
{
	uint8_t pk[32], sk[32], sig[64], m[40];
	size_t i;
	int b;

	(void)state;
	assert_int_equal(sign_keypair(pk, sk), 0);
	for (i = 0; i < sizeof(m); i++)
		m[i] = (uint8_t)(i * 3);
	assert_int_equal(sign_detached(sig, "flip", m, sizeof(m), sk), 0);
	assert_int_equal(sign_verify(sig, "flip", m, sizeof(m), pk), 0);

	for (i = 0; i < sizeof(sig); i++)
		for (b = 0; b < 8; b++) {
			sig[i] ^= (uint8_t)(1u << b);
			assert_int_equal(
			    sign_verify(sig, "flip", m, sizeof(m), pk), -1);
			sig[i] ^= (uint8_t)(1u << b);
		}
	for (i = 0; i < sizeof(m); i++)
		for (b = 0; b < 8; b++) {
			m[i] ^= (uint8_t)(1u << b);
			assert_int_equal(
			    sign_verify(sig, "flip", m, sizeof(m), pk), -1);
			m[i] ^= (uint8_t)(1u << b);
		}
	for (i = 0; i < sizeof(pk); i++) {
		pk[i] ^= 0x01;
		assert_int_equal(
		    sign_verify(sig, "flip", m, sizeof(m), pk), -1);
		pk[i] ^= 0x01;
	}
	assert_int_equal(sign_verify(sig, "flip", m, sizeof(m) - 1, pk), -1);
	assert_int_equal(sign_verify(sig, "flip", m, sizeof(m), pk), 0);
}

static void
test_bad_context(void **state)
{
	char ctx64[SIGN_CTXBYTES_MAX + 1], ctx65[SIGN_CTXBYTES_MAX + 2];
	uint8_t pk[32], sk[32], sig[64];
	static const uint8_t m[] = "m";

	(void)state;
	memset(ctx64, 'x', SIGN_CTXBYTES_MAX);
	ctx64[SIGN_CTXBYTES_MAX] = '\0';
	memset(ctx65, 'x', SIGN_CTXBYTES_MAX + 1);
	ctx65[SIGN_CTXBYTES_MAX + 1] = '\0';
	assert_int_equal(sign_keypair(pk, sk), 0);

	/* The longest context is fine. */
	assert_int_equal(sign_detached(sig, ctx64, m, sizeof(m), sk), 0);
	assert_int_equal(sign_verify(sig, ctx64, m, sizeof(m), pk), 0);

	/* Empty, too long and NULL are refused; the signature is zeroed. */
	memset(sig, 0xaa, sizeof(sig));
	assert_int_equal(sign_detached(sig, "", m, sizeof(m), sk), -1);
	assert_true(is_zero(sig, sizeof(sig)));
	memset(sig, 0xaa, sizeof(sig));
	assert_int_equal(sign_detached(sig, ctx65, m, sizeof(m), sk), -1);
	assert_true(is_zero(sig, sizeof(sig)));
	memset(sig, 0xaa, sizeof(sig));
	assert_int_equal(sign_detached(sig, NULL, m, sizeof(m), sk), -1);
	assert_true(is_zero(sig, sizeof(sig)));

	/* Verification under a bad context fails even for a good signature. */
	assert_int_equal(sign_detached(sig, ctx64, m, sizeof(m), sk), 0);
	assert_int_equal(sign_verify(sig, "", m, sizeof(m), pk), -1);
	assert_int_equal(sign_verify(sig, ctx65, m, sizeof(m), pk), -1);
	assert_int_equal(sign_verify(sig, NULL, m, sizeof(m), pk), -1);

	/* NULL message with a nonzero length. */
	assert_int_equal(sign_detached(sig, "ctx", NULL, 1, sk), -1);
	assert_int_equal(sign_verify(sig, "ctx", NULL, 1, pk), -1);
}

/*
 * The key objects give byte-identical signatures to sign_detached (Ed25519
 * is deterministic), for the RFC 8032 keys and messages of every size
 * class (empty, small, at and past the on-stack buffer of sign.c, 1 KiB).
 */
static void
check_key_equal(const uint8_t sk[static 32], const uint8_t pk[static 32])
{
	static const size_t lens[] = { 0, 1, 2, 100, 1019, 1020, 1021, 1022,
		5000 };
	struct sign_key *key;
	struct sign_pub *pub;
	uint8_t got_pk[32], sig1[64], sig2[64], *m, *framed;
	size_t i, j;

	assert_non_null(key = sign_key_new(sk));
	assert_non_null(pub = sign_pub_new(pk));
	sign_key_public(key, got_pk);
	assert_memory_equal(got_pk, pk, 32);
	assert_memory_equal(sign_pub_key(pub), pk, 32);
	assert_non_null(m = malloc(5000));
	assert_non_null(framed = malloc(4 + 5000));
	for (j = 0; j < 5000; j++)
		m[j] = (uint8_t)(j * 7 + 1);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		assert_int_equal(
		    sign_key_detached(sig1, "ctx", m, lens[i], key), 0);
		assert_int_equal(sign_detached(sig2, "ctx", m, lens[i], sk), 0);
		assert_memory_equal(sig1, sig2, 64);
		/* ... and both are Ed25519 over ctx || 0x00 || m. */
		memcpy(framed, "ctx", 4);
		memcpy(framed + 4, m, lens[i]);
		assert_int_equal(
		    sign_detached_pure(sig2, framed, 4 + lens[i], sk), 0);
		assert_memory_equal(sig1, sig2, 64);
		assert_int_equal(sign_verify(sig1, "ctx", m, lens[i], pk), 0);
		assert_int_equal(
		    sign_pub_verify(sig1, "ctx", m, lens[i], pub), 0);
		if (lens[i] > 0) {
			assert_int_equal(
			    sign_pub_verify(sig1, "ctx", m, lens[i] - 1, pub),
			    -1);
		}
	}
	/* The empty message as NULL. */
	assert_int_equal(sign_key_detached(sig1, "ctx", NULL, 0, key), 0);
	assert_int_equal(sign_detached(sig2, "ctx", NULL, 0, sk), 0);
	assert_memory_equal(sig1, sig2, 64);
	assert_int_equal(sign_pub_verify(sig1, "ctx", NULL, 0, pub), 0);
	free(framed);
	free(m);
	sign_pub_free(pub);
	sign_key_free(key);
}

static void
test_key_objects(void **state)
{
	uint8_t sk[32], pk[32];

	(void)state;
	unhex(sk, 32,
	    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
	unhex(pk, 32,
	    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
	check_key_equal(sk, pk);
	unhex(sk, 32,
	    "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7");
	unhex(pk, 32,
	    "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025");
	check_key_equal(sk, pk);
	assert_int_equal(sign_keypair(pk, sk), 0);
	check_key_equal(sk, pk);
}

/* Tampering is caught through the imported public key as through pk. */
static void
test_pub_bit_flips(void **state)
{
	struct sign_key *key;
	struct sign_pub *pub, *other;
	uint8_t pk[32], sk[32], pk2[32], sk2[32], sig[64], m[40];
	size_t i;
	int b;

	(void)state;
	assert_int_equal(sign_keypair(pk, sk), 0);
	assert_int_equal(sign_keypair(pk2, sk2), 0);
	assert_non_null(key = sign_key_new(sk));
	assert_non_null(pub = sign_pub_new(pk));
	assert_non_null(other = sign_pub_new(pk2));
	for (i = 0; i < sizeof(m); i++)
		m[i] = (uint8_t)(i * 5);
	assert_int_equal(sign_key_detached(sig, "flip", m, sizeof(m), key), 0);
	assert_int_equal(sign_pub_verify(sig, "flip", m, sizeof(m), pub), 0);
	assert_int_equal(sign_pub_verify(sig, "flip", m, sizeof(m), other), -1);
	assert_int_equal(sign_pub_verify(sig, "flop", m, sizeof(m), pub), -1);
	assert_int_equal(sign_pub_verify(sig, "fli", m, sizeof(m), pub), -1);
	for (i = 0; i < sizeof(sig); i++)
		for (b = 0; b < 8; b++) {
			sig[i] ^= (uint8_t)(1u << b);
			assert_int_equal(
			    sign_pub_verify(sig, "flip", m, sizeof(m), pub),
			    -1);
			sig[i] ^= (uint8_t)(1u << b);
		}
	for (i = 0; i < sizeof(m); i++)
		for (b = 0; b < 8; b++) {
			m[i] ^= (uint8_t)(1u << b);
			assert_int_equal(
			    sign_pub_verify(sig, "flip", m, sizeof(m), pub),
			    -1);
			m[i] ^= (uint8_t)(1u << b);
		}
	/* The object still verifies after all those failures. */
	assert_int_equal(sign_pub_verify(sig, "flip", m, sizeof(m), pub), 0);
	sign_pub_free(other);
	sign_pub_free(pub);
	sign_key_free(key);
}

static void
test_key_bad_args(void **state)
{
	char ctx65[SIGN_CTXBYTES_MAX + 2];
	struct sign_key *key;
	struct sign_pub *pub;
	uint8_t pk[32], sk[32], sig[64], bad[32];
	static const uint8_t m[] = "m";

	(void)state;
	memset(ctx65, 'x', SIGN_CTXBYTES_MAX + 1);
	ctx65[SIGN_CTXBYTES_MAX + 1] = '\0';
	assert_int_equal(sign_keypair(pk, sk), 0);
	assert_non_null(key = sign_key_new(sk));
	assert_non_null(pub = sign_pub_new(pk));

	/* Bad contexts, NULL message, no key: refused, signature zeroed. */
	memset(sig, 0xaa, sizeof(sig));
	assert_int_equal(sign_key_detached(sig, "", m, sizeof(m), key), -1);
	assert_true(is_zero(sig, sizeof(sig)));
	memset(sig, 0xaa, sizeof(sig));
	assert_int_equal(sign_key_detached(sig, ctx65, m, sizeof(m), key), -1);
	assert_true(is_zero(sig, sizeof(sig)));
	memset(sig, 0xaa, sizeof(sig));
	assert_int_equal(sign_key_detached(sig, NULL, m, sizeof(m), key), -1);
	assert_true(is_zero(sig, sizeof(sig)));
	memset(sig, 0xaa, sizeof(sig));
	assert_int_equal(sign_key_detached(sig, "ctx", NULL, 1, key), -1);
	assert_true(is_zero(sig, sizeof(sig)));
	memset(sig, 0xaa, sizeof(sig));
	assert_int_equal(sign_key_detached(sig, "ctx", m, sizeof(m), NULL), -1);
	assert_true(is_zero(sig, sizeof(sig)));

	assert_int_equal(sign_key_detached(sig, "ctx", m, sizeof(m), key), 0);
	assert_int_equal(sign_pub_verify(sig, "ctx", m, sizeof(m), pub), 0);
	assert_int_equal(sign_pub_verify(sig, "", m, sizeof(m), pub), -1);
	assert_int_equal(sign_pub_verify(sig, ctx65, m, sizeof(m), pub), -1);
	assert_int_equal(sign_pub_verify(sig, NULL, m, sizeof(m), pub), -1);
	assert_int_equal(sign_pub_verify(sig, "ctx", NULL, 1, pub), -1);
	assert_int_equal(sign_pub_verify(sig, "ctx", m, sizeof(m), NULL), -1);

	/* A key that is no point imports but verifies nothing. */
	memset(bad, 0xff, sizeof(bad));
	sign_pub_free(pub);
	assert_non_null(pub = sign_pub_new(bad));
	assert_int_equal(sign_pub_verify(sig, "ctx", m, sizeof(m), pub), -1);
	assert_int_equal(sign_verify(sig, "ctx", m, sizeof(m), bad), -1);

	sign_pub_free(pub);
	sign_key_free(key);
	sign_key_free(NULL);
	sign_pub_free(NULL);
}

/* Threads share one key object of each kind. */
#define THREADS 4
#define ROUNDS 25

struct thr_arg {
	const struct sign_key *key;
	const struct sign_pub *pub;
	const uint8_t (*want)[64];
	int failures;
};

static void *
thr_main(void *arg)
{
	struct thr_arg *a = arg;
	uint8_t sig[64], m[8];
	int i;

	for (i = 0; i < ROUNDS; i++) {
		memset(m, i, sizeof(m));
		if (sign_key_detached(sig, "thr", m, sizeof(m), a->key) != 0 ||
		    memcmp(sig, a->want[i], 64) != 0 ||
		    sign_pub_verify(sig, "thr", m, sizeof(m), a->pub) != 0)
			a->failures++;
		sig[0] ^= 1;
		if (sign_pub_verify(sig, "thr", m, sizeof(m), a->pub) != -1)
			a->failures++;
	}
	return (NULL);
}

static void
test_key_threads(void **state)
{
	struct thr_arg args[THREADS];
	pthread_t thr[THREADS];
	uint8_t pk[32], sk[32], want[ROUNDS][64], m[8];
	struct sign_key *key;
	struct sign_pub *pub;
	int i;

	(void)state;
	assert_int_equal(sign_keypair(pk, sk), 0);
	for (i = 0; i < ROUNDS; i++) {
		memset(m, i, sizeof(m));
		assert_int_equal(
		    sign_detached(want[i], "thr", m, sizeof(m), sk), 0);
	}
	assert_non_null(key = sign_key_new(sk));
	assert_non_null(pub = sign_pub_new(pk));
	for (i = 0; i < THREADS; i++) {
		args[i].key = key;
		args[i].pub = pub;
		args[i].want = (const uint8_t(*)[64])want;
		args[i].failures = 0;
		assert_int_equal(
		    pthread_create(&thr[i], NULL, thr_main, &args[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(thr[i], NULL), 0);
		assert_int_equal(args[i].failures, 0);
	}
	sign_pub_free(pub);
	sign_key_free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8032),
		cmocka_unit_test(test_construction),
		cmocka_unit_test(test_keypair),
		cmocka_unit_test(test_context_separation),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_bad_context),
		cmocka_unit_test(test_key_objects),
		cmocka_unit_test(test_pub_bit_flips),
		cmocka_unit_test(test_key_bad_args),
		cmocka_unit_test(test_key_threads),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
