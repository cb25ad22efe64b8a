/*
 * test_aead.c: aead_seal/aead_open known answers, tampering, misuse.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptgate/aead.h"
#include "cryptgate/rand.h"

static const enum aead_alg algs[] = { AEAD_CHACHA20_POLY1305, AEAD_AES256_GCM,
	AEAD_AES128_GCM };
#define NALGS (sizeof(algs) / sizeof(algs[0]))

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

/* RFC 8439 section 2.8.2. */
static const char rfc8439_key[] =
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f";
static const char rfc8439_nonce[] = "070000004041424344454647";
static const char rfc8439_ad[] = "50515253c0c1c2c3c4c5c6c7";
static const char rfc8439_pt[] =
    "Ladies and Gentlemen of the class of '99: If I could offer you only "
    "one tip for the future, sunscreen would be it.";
static const char rfc8439_ct[] =
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
    "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
    "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
    "3ff4def08e4b7a9de576d26586cec64b6116"
    "1ae10b594f09e26a7e902ecbd0600691"; /* tag */
#define RFC8439_PTLEN 114

static void
test_keybytes(void **state)
{
	(void)state;
	assert_int_equal(aead_keybytes(AEAD_CHACHA20_POLY1305), 32);
	assert_int_equal(aead_keybytes(AEAD_AES256_GCM), 32);
	assert_int_equal(aead_keybytes(AEAD_AES128_GCM), 16);
	assert_int_equal(aead_keybytes((enum aead_alg)0), 0);
	assert_int_equal(aead_keybytes((enum aead_alg)99), 0);
}

/* Seal ${pt} and compare with ${ct_hex} (ct || tag), then open it back. */
static void
check_kat(enum aead_alg alg, const char *key_hex, const char *nonce_hex,
    const char *ad_hex, const uint8_t *pt, size_t ptlen, const char *ct_hex)
{
	uint8_t key[AEAD_KEYBYTES_MAX], nonce[AEAD_NONCEBYTES], ad[64];
	uint8_t *ct, *got, *back;
	size_t adlen = strlen(ad_hex) / 2;

	assert_true(adlen <= sizeof(ad));
	unhex(key, aead_keybytes(alg), key_hex);
	unhex(nonce, sizeof(nonce), nonce_hex);
	unhex(ad, adlen, ad_hex);
	assert_non_null(ct = malloc(ptlen + AEAD_TAGBYTES));
	assert_non_null(got = malloc(ptlen + AEAD_TAGBYTES));
	assert_non_null(back = malloc(ptlen + 1));
	unhex(ct, ptlen + AEAD_TAGBYTES, ct_hex);

	assert_int_equal(
	    aead_seal(got, pt, ptlen, ad, adlen, nonce, key, alg), 0);
	assert_memory_equal(got, ct, ptlen + AEAD_TAGBYTES);
	memset(back, 0xaa, ptlen + 1);
	assert_int_equal(aead_open(back, ct, ptlen + AEAD_TAGBYTES, ad, adlen,
	                     nonce, key, alg),
	    0);
	assert_memory_equal(back, pt, ptlen);
	assert_int_equal(back[ptlen], 0xaa); /* no overrun */
	free(back);
	free(got);
	free(ct);
}

static void
test_chacha20_poly1305_rfc8439(void **state)
{
	(void)state;
	assert_int_equal(strlen(rfc8439_pt), RFC8439_PTLEN);
	check_kat(AEAD_CHACHA20_POLY1305, rfc8439_key, rfc8439_nonce,
	    rfc8439_ad, (const uint8_t *)rfc8439_pt, RFC8439_PTLEN, rfc8439_ct);
}

/*
 * McGrew and Viega, "The Galois/Counter Mode of Operation (GCM)", the
 * specification submitted to NIST (csrc.nist.gov/groups/ST/toolkit/BCM/
 * documents/proposedmodes/gcm/gcm-spec.pdf), Appendix B: Test Case 16
 * (AES-256, 96-bit IV, with AAD) and Test Case 4 (same inputs, AES-128).
 */
static const char gcm_pt[] =
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39";
static const char gcm_ad[] = "feedfacedeadbeeffeedfacedeadbeefabaddad2";
static const char gcm_iv[] = "cafebabefacedbaddecaf888";

static void
test_aes256_gcm_kat(void **state)
{
	uint8_t pt[60];

	(void)state;
	unhex(pt, sizeof(pt), gcm_pt);
	check_kat(AEAD_AES256_GCM,
	    "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
	    gcm_iv, gcm_ad, pt, sizeof(pt),
	    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
	    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
	    "76fc6ece0f4e1768cddf8853bb2d551b");
}

static void
test_aes128_gcm_kat(void **state)
{
	uint8_t pt[60];

	(void)state;
	unhex(pt, sizeof(pt), gcm_pt);
	check_kat(AEAD_AES128_GCM, "feffe9928665731c6d6a8f9467308308", gcm_iv,
	    gcm_ad, pt, sizeof(pt),
	    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	    "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
	    "5bc94fbc3221a5db94fae95ae7121a47");
}

static void
test_roundtrip(void **state)
{
	static const size_t lens[] = { 0, 1, 15, 16, 17, 63, 64, 65, 1500,
		65536 };
	uint8_t key[AEAD_KEYBYTES_MAX], nonce[AEAD_NONCEBYTES], ad[13];
	uint8_t *m, *c, *back;
	size_t a, i, j, mlen;

	(void)state;
	for (a = 0; a < NALGS; a++) {
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			mlen = lens[i];
			assert_non_null(m = malloc(mlen + 1));
			assert_non_null(c = malloc(mlen + AEAD_TAGBYTES));
			assert_non_null(back = malloc(mlen + 1));
			assert_int_equal(rand_bytes(key, sizeof(key)), 0);
			assert_int_equal(rand_bytes(nonce, sizeof(nonce)), 0);
			assert_int_equal(rand_bytes(ad, sizeof(ad)), 0);
			for (j = 0; j < mlen; j++)
				m[j] = (uint8_t)(j * 7 + 1);

			/* With and without associated data. */
			assert_int_equal(aead_seal(c, m, mlen, ad, sizeof(ad),
			                     nonce, key, algs[a]),
			    0);
			if (mlen >= 16)
				assert_memory_not_equal(c, m, 16);
			assert_int_equal(
			    aead_open(back, c, mlen + AEAD_TAGBYTES, ad,
			        sizeof(ad), nonce, key, algs[a]),
			    0);
			assert_memory_equal(back, m, mlen);
			assert_int_equal(
			    aead_seal(c, m, mlen, NULL, 0, nonce, key, algs[a]),
			    0);
			assert_int_equal(
			    aead_open(back, c, mlen + AEAD_TAGBYTES, NULL, 0,
			        nonce, key, algs[a]),
			    0);
			assert_memory_equal(back, m, mlen);

			/* AD given at seal, missing at open. */
			assert_int_equal(aead_seal(c, m, mlen, ad, sizeof(ad),
			                     nonce, key, algs[a]),
			    0);
			assert_int_equal(
			    aead_open(back, c, mlen + AEAD_TAGBYTES, NULL, 0,
			        nonce, key, algs[a]),
			    -1);
			free(back);
			free(c);
			free(m);
		}
	}
}

/* A NULL message of length 0 gives a bare tag that still authenticates. */
static void
test_empty_null(void **state)
{
	uint8_t key[AEAD_KEYBYTES_MAX] = { 1 }, nonce[AEAD_NONCEBYTES] = { 2 };
	uint8_t tag[AEAD_TAGBYTES], ad[3] = { 'a', 'd', '!' };
	size_t a;

	(void)state;
	for (a = 0; a < NALGS; a++) {
		assert_int_equal(aead_seal(tag, NULL, 0, ad, sizeof(ad), nonce,
		                     key, algs[a]),
		    0);
		assert_false(tag[0] == 0 && tag[1] == 0 && tag[2] == 0 &&
		    tag[3] == 0 && tag[4] == 0 && tag[5] == 0);
		assert_int_equal(aead_open(NULL, tag, sizeof(tag), ad,
		                     sizeof(ad), nonce, key, algs[a]),
		    0);
		ad[0] ^= 1;
		assert_int_equal(aead_open(NULL, tag, sizeof(tag), ad,
		                     sizeof(ad), nonce, key, algs[a]),
		    -1);
		ad[0] ^= 1;
	}
}

/*
 * Open ${c} (length ${clen}) and expect failure with every output byte
 * zeroed (the buffer is prefilled with 0xaa).
 */
static void
expect_open_fails(uint8_t *out, const uint8_t *c, size_t clen,
    const uint8_t *ad, size_t adlen, const uint8_t *nonce, const uint8_t *key,
    enum aead_alg alg)
{
	memset(out, 0xaa, clen - AEAD_TAGBYTES);
	assert_int_equal(
	    aead_open(out, c, clen, ad, adlen, nonce, key, alg), -1);
	assert_true(is_zero(out, clen - AEAD_TAGBYTES));
}

/* Flip every byte of ct || tag, of the AD and of the nonce, one at a time. */
static void
tamper_alg(enum aead_alg alg)
{
	uint8_t key[AEAD_KEYBYTES_MAX], nonce[AEAD_NONCEBYTES], ad[12];
	uint8_t c[RFC8439_PTLEN + AEAD_TAGBYTES], out[RFC8439_PTLEN];
	uint8_t badkey[AEAD_KEYBYTES_MAX];
	size_t i, clen = sizeof(c), bit;

	unhex(key, sizeof(key), rfc8439_key);
	unhex(nonce, sizeof(nonce), rfc8439_nonce);
	unhex(ad, sizeof(ad), rfc8439_ad);
	assert_int_equal(aead_seal(c, (const uint8_t *)rfc8439_pt,
	                     RFC8439_PTLEN, ad, sizeof(ad), nonce, key, alg),
	    0);

	for (i = 0; i < clen; i++) {
		bit = i % 8; /* vary the flipped bit too */
		c[i] ^= (uint8_t)(1u << bit);
		expect_open_fails(
		    out, c, clen, ad, sizeof(ad), nonce, key, alg);
		c[i] ^= (uint8_t)(1u << bit);
	}
	for (i = 0; i < sizeof(ad); i++) {
		ad[i] ^= 0x80;
		expect_open_fails(
		    out, c, clen, ad, sizeof(ad), nonce, key, alg);
		ad[i] ^= 0x80;
	}
	for (i = 0; i < sizeof(nonce); i++) {
		nonce[i] ^= 0x01;
		expect_open_fails(
		    out, c, clen, ad, sizeof(ad), nonce, key, alg);
		nonce[i] ^= 0x01;
	}

	/* Truncated or extended AD. */
	expect_open_fails(out, c, clen, ad, sizeof(ad) - 1, nonce, key, alg);

	/* Wrong key: every key byte. */
	for (i = 0; i < aead_keybytes(alg); i++) {
		memcpy(badkey, key, sizeof(key));
		badkey[i] ^= 0x40;
		expect_open_fails(
		    out, c, clen, ad, sizeof(ad), nonce, badkey, alg);
	}

	/* Truncated ciphertext (the tag moves). */
	expect_open_fails(out, c, clen - 1, ad, sizeof(ad), nonce, key, alg);

	/* Still intact after all that. */
	memset(out, 0, sizeof(out));
	assert_int_equal(
	    aead_open(out, c, clen, ad, sizeof(ad), nonce, key, alg), 0);
	assert_memory_equal(out, rfc8439_pt, RFC8439_PTLEN);

	/* The wrong algorithm with the same key bytes. */
	if (alg != AEAD_AES128_GCM)
		expect_open_fails(out, c, clen, ad, sizeof(ad), nonce, key,
		    alg == AEAD_AES256_GCM ? AEAD_CHACHA20_POLY1305
		                           : AEAD_AES256_GCM);
}

static void
test_tamper(void **state)
{
	size_t a;

	(void)state;
	for (a = 0; a < NALGS; a++)
		tamper_alg(algs[a]);
}

/* In place: c == m for seal, m == c for open, including a failing open. */
static void
test_in_place(void **state)
{
	uint8_t key[AEAD_KEYBYTES_MAX], nonce[AEAD_NONCEBYTES];
	uint8_t buf[300 + AEAD_TAGBYTES], ref[300 + AEAD_TAGBYTES];
	uint8_t pt[300];
	size_t a;

	(void)state;
	for (a = 0; a < NALGS; a++) {
		assert_int_equal(rand_bytes(key, sizeof(key)), 0);
		assert_int_equal(rand_bytes(nonce, sizeof(nonce)), 0);
		assert_int_equal(rand_bytes(pt, sizeof(pt)), 0);
		assert_int_equal(aead_seal(ref, pt, sizeof(pt), NULL, 0, nonce,
		                     key, algs[a]),
		    0);
		memcpy(buf, pt, sizeof(pt));
		assert_int_equal(aead_seal(buf, buf, sizeof(pt), NULL, 0, nonce,
		                     key, algs[a]),
		    0);
		assert_memory_equal(buf, ref, sizeof(buf));
		assert_int_equal(aead_open(buf, buf, sizeof(buf), NULL, 0,
		                     nonce, key, algs[a]),
		    0);
		assert_memory_equal(buf, pt, sizeof(pt));

		/* A failing in-place open zeroes the plaintext area. */
		memcpy(buf, ref, sizeof(buf));
		buf[sizeof(buf) - 1] ^= 1;
		assert_int_equal(aead_open(buf, buf, sizeof(buf), NULL, 0,
		                     nonce, key, algs[a]),
		    -1);
		assert_true(is_zero(buf, sizeof(pt)));
	}
}

static void
test_short_ciphertext(void **state)
{
	uint8_t key[AEAD_KEYBYTES_MAX] = { 0 }, nonce[AEAD_NONCEBYTES] = { 0 };
	uint8_t c[AEAD_TAGBYTES] = { 0 }, out[AEAD_TAGBYTES];
	size_t a, clen;

	(void)state;
	for (a = 0; a < NALGS; a++)
		for (clen = 0; clen < AEAD_TAGBYTES; clen++) {
			memset(out, 0xaa, sizeof(out));
			assert_int_equal(aead_open(out, c, clen, NULL, 0, nonce,
			                     key, algs[a]),
			    -1);
			/* Nothing may be written for a negative length. */
			assert_int_equal(out[0], 0xaa);
		}
}

static void
test_misuse(void **state)
{
	uint8_t key[AEAD_KEYBYTES_MAX] = { 0 }, nonce[AEAD_NONCEBYTES] = { 0 };
	uint8_t m[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t c[sizeof(m) + AEAD_TAGBYTES], out[sizeof(m)];

	(void)state;

	/* Unknown algorithm: refused, output zeroed. */
	memset(c, 0xaa, sizeof(c));
	assert_int_equal(
	    aead_seal(c, m, sizeof(m), NULL, 0, nonce, key, (enum aead_alg)42),
	    -1);
	assert_true(is_zero(c, sizeof(c)));
	assert_int_equal(aead_seal(c, m, sizeof(m), NULL, 0, nonce, key,
	                     AEAD_CHACHA20_POLY1305),
	    0);
	expect_open_fails(
	    out, c, sizeof(c), NULL, 0, nonce, key, (enum aead_alg)0);

	/* NULL AD with a nonzero length, NULL key. */
	assert_int_equal(
	    aead_seal(c, m, sizeof(m), NULL, 1, nonce, key, AEAD_AES256_GCM),
	    -1);
	assert_int_equal(
	    aead_seal(c, m, sizeof(m), NULL, 0, nonce, NULL, AEAD_AES256_GCM),
	    -1);
	expect_open_fails(
	    out, c, sizeof(c), NULL, 0, nonce, NULL, AEAD_CHACHA20_POLY1305);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keybytes),
		cmocka_unit_test(test_chacha20_poly1305_rfc8439),
		cmocka_unit_test(test_aes256_gcm_kat),
		cmocka_unit_test(test_aes128_gcm_kat),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_empty_null),
		cmocka_unit_test(test_tamper),
		cmocka_unit_test(test_in_place),
		cmocka_unit_test(test_short_ciphertext),
		cmocka_unit_test(test_misuse),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
