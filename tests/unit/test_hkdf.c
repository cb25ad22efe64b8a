/*
 * test_hkdf.c: HKDF-SHA256 against RFC 5869 appendix A and against HMAC
 * block by block, limits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptgate/hkdf.h"
#include "cryptgate/mac.h"

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

/* Fill ${p} with ${n} bytes counting up from ${start}. */
static void
seq(uint8_t *p, size_t n, unsigned int start)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(start + i);
}

/* Check extract, expand and the one-shot hkdf against ${prk_hex}/${okm_hex}. */
static void
check_case(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt,
    size_t saltlen, const uint8_t *info, size_t infolen, const char *prk_hex,
    const char *okm_hex, size_t L)
{
	uint8_t prk[HKDF_PRKBYTES], want_prk[HKDF_PRKBYTES];
	uint8_t okm[100], want_okm[100];

	assert_true(L <= sizeof(okm));
	unhex(want_prk, sizeof(want_prk), prk_hex);
	unhex(want_okm, L, okm_hex);

	assert_int_equal(hkdf_extract(prk, salt, saltlen, ikm, ikmlen), 0);
	assert_memory_equal(prk, want_prk, sizeof(prk));

	memset(okm, 0xaa, sizeof(okm));
	assert_int_equal(
	    hkdf_expand(okm, L, prk, sizeof(prk), info, infolen), 0);
	assert_memory_equal(okm, want_okm, L);
	assert_int_equal(okm[L], 0xaa); /* no overrun */

	memset(okm, 0, sizeof(okm));
	assert_int_equal(
	    hkdf(okm, L, salt, saltlen, ikm, ikmlen, info, infolen), 0);
	assert_memory_equal(okm, want_okm, L);

	/* A shorter output is a prefix of the longer one. */
	memset(okm, 0, sizeof(okm));
	assert_int_equal(
	    hkdf_expand(okm, 7, prk, sizeof(prk), info, infolen), 0);
	assert_memory_equal(okm, want_okm, 7);
	assert_true(is_zero(okm + 7, sizeof(okm) - 7));
}

/* RFC 5869 A.1: basic test case with SHA-256. */
static void
test_rfc5869_case1(void **state)
{
	uint8_t ikm[22], salt[13], info[10];

	(void)state;
	memset(ikm, 0x0b, sizeof(ikm));
	seq(salt, sizeof(salt), 0x00);
	seq(info, sizeof(info), 0xf0);
	check_case(ikm, sizeof(ikm), salt, sizeof(salt), info, sizeof(info),
	    "077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5",
	    "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
	    "34007208d5b887185865",
	    42);
}

/* RFC 5869 A.2: longer inputs and outputs. */
static void
test_rfc5869_case2(void **state)
{
	uint8_t ikm[80], salt[80], info[80];

	(void)state;
	seq(ikm, sizeof(ikm), 0x00);
	seq(salt, sizeof(salt), 0x60);
	seq(info, sizeof(info), 0xb0);
	check_case(ikm, sizeof(ikm), salt, sizeof(salt), info, sizeof(info),
	    "06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244",
	    "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
	    "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
	    "cc30c58179ec3e87c14c01d5c1f3434f1d87",
	    82);
}

/* RFC 5869 A.3: zero-length salt and info. */
static void
test_rfc5869_case3(void **state)
{
	static const char prk[] =
	    "19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04";
	static const char okm[] =
	    "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
	    "9d201395faa4b61a96c8";
	uint8_t ikm[22], zeros[HKDF_PRKBYTES] = { 0 }, dummy[1] = { 0 };

	(void)state;
	memset(ikm, 0x0b, sizeof(ikm));
	check_case(ikm, sizeof(ikm), NULL, 0, NULL, 0, prk, okm, 42);
	/* Empty non-NULL salt and an explicit HashLen-zeros salt agree. */
	check_case(ikm, sizeof(ikm), dummy, 0, dummy, 0, prk, okm, 42);
	check_case(
	    ikm, sizeof(ikm), zeros, sizeof(zeros), NULL, 0, prk, okm, 42);
}

/* An empty IKM is legal HKDF input. */
static void
test_empty_ikm(void **state)
{
	uint8_t prk1[HKDF_PRKBYTES], prk2[HKDF_PRKBYTES];
	uint8_t one = 0;

	(void)state;
	assert_int_equal(hkdf_extract(prk1, NULL, 0, NULL, 0), 0);
	assert_int_equal(hkdf_extract(prk2, NULL, 0, &one, 1), 0);
	assert_memory_not_equal(prk1, prk2, sizeof(prk1));
	assert_false(is_zero(prk1, sizeof(prk1)));
}

static void
test_limits(void **state)
{
	uint8_t prk[HKDF_PRKBYTES + 8], *out, *info;
	size_t i;

	(void)state;
	memset(prk, 0x42, sizeof(prk));
	assert_non_null(out = malloc(HKDF_OUTBYTES_MAX + 1));
	assert_non_null(info = calloc(1, HKDF_INFOBYTES_MAX + 1));

	/* The largest output is allowed and not trivially zero. */
	memset(out, 0, HKDF_OUTBYTES_MAX + 1);
	assert_int_equal(
	    hkdf_expand(out, HKDF_OUTBYTES_MAX, prk, HKDF_PRKBYTES, NULL, 0),
	    0);
	assert_false(is_zero(out + HKDF_OUTBYTES_MAX - 32, 32));
	assert_int_equal(out[HKDF_OUTBYTES_MAX], 0);

	/* One more byte is refused and the buffer is left alone. */
	memset(out, 0xaa, HKDF_OUTBYTES_MAX + 1);
	assert_int_equal(hkdf_expand(out, HKDF_OUTBYTES_MAX + 1, prk,
	                     HKDF_PRKBYTES, NULL, 0),
	    -1);
	for (i = 0; i <= HKDF_OUTBYTES_MAX; i++)
		assert_int_equal(out[i], 0xaa);
	assert_int_equal(
	    hkdf(out, HKDF_OUTBYTES_MAX + 1, NULL, 0, prk, 1, NULL, 0), -1);
	assert_int_equal(hkdf(out, SIZE_MAX, NULL, 0, prk, 1, NULL, 0), -1);

	/* Info at the cap works; over it is refused with the output zeroed. */
	assert_int_equal(
	    hkdf_expand(out, 32, prk, HKDF_PRKBYTES, info, HKDF_INFOBYTES_MAX),
	    0);
	assert_false(is_zero(out, 32));
	assert_int_equal(hkdf_expand(out, 32, prk, HKDF_PRKBYTES, info,
	                     HKDF_INFOBYTES_MAX + 1),
	    -1);
	assert_true(is_zero(out, 32));
	memset(out, 0xaa, 32);
	assert_int_equal(
	    hkdf(out, 32, NULL, 0, prk, 1, info, HKDF_INFOBYTES_MAX + 1), -1);
	assert_true(is_zero(out, 32));

	/* A PRK shorter than HashLen is refused; a longer one is fine. */
	memset(out, 0xaa, 32);
	assert_int_equal(
	    hkdf_expand(out, 32, prk, HKDF_PRKBYTES - 1, NULL, 0), -1);
	assert_true(is_zero(out, 32));
	assert_int_equal(hkdf_expand(out, 32, prk, sizeof(prk), NULL, 0), 0);
	assert_int_equal(
	    hkdf_expand(out, 32, NULL, HKDF_PRKBYTES, NULL, 0), -1);

	/* NULL with a nonzero length. */
	assert_int_equal(hkdf_expand(out, 32, prk, HKDF_PRKBYTES, NULL, 1), -1);
	assert_int_equal(hkdf_extract(out, NULL, 1, prk, 1), -1);
	assert_int_equal(hkdf_extract(out, NULL, 0, NULL, 1), -1);

	/* The empty output. */
	assert_int_equal(hkdf_expand(out, 0, prk, HKDF_PRKBYTES, NULL, 0), 0);

	free(info);
	free(out);
}

/*
 * Every block of a long expansion, against RFC 5869 section 2.3 computed
 * with mac.c's HMAC (EVP_Q_mac, independent of hkdf.c's): T(i) =
 * HMAC(PRK, T(i-1) || info || i); and every shorter output is a prefix.
 */
static void
test_expand_blocks(void **state)
{
	static const size_t lens[] = { 1, 31, 32, 33, 63, 64, 65, 100, 4096,
		HKDF_OUTBYTES_MAX - 1 };
	uint8_t prk[40], info[50], t[32 + sizeof(info) + 1], want[32];
	uint8_t *okm, *part;
	size_t i, tlen = 0;

	(void)state;
	seq(prk, sizeof(prk), 0x11);
	seq(info, sizeof(info), 0x70);
	assert_non_null(okm = malloc(HKDF_OUTBYTES_MAX));
	assert_non_null(part = malloc(HKDF_OUTBYTES_MAX));
	assert_int_equal(hkdf_expand(okm, HKDF_OUTBYTES_MAX, prk, sizeof(prk),
	                     info, sizeof(info)),
	    0);
	for (i = 1; i <= HKDF_OUTBYTES_MAX / 32; i++) {
		memcpy(t + tlen, info, sizeof(info));
		t[tlen + sizeof(info)] = (uint8_t)i;
		assert_int_equal(mac_hmac_sha256(want, prk, sizeof(prk), t,
		                     tlen + sizeof(info) + 1),
		    0);
		assert_memory_equal(okm + 32 * (i - 1), want, 32);
		memcpy(t, want, 32);
		tlen = 32;
	}
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memset(part, 0, HKDF_OUTBYTES_MAX);
		assert_int_equal(hkdf_expand(part, lens[i], prk, sizeof(prk),
		                     info, sizeof(info)),
		    0);
		assert_memory_equal(part, okm, lens[i]);
		assert_true(
		    is_zero(part + lens[i], HKDF_OUTBYTES_MAX - lens[i]));
	}
	/* Extract is HMAC(salt, IKM), a 65-byte salt (hashed first) too. */
	{
		uint8_t salt[65], ikm[20], prk1[32];

		seq(salt, sizeof(salt), 0x30);
		seq(ikm, sizeof(ikm), 0x90);
		assert_int_equal(
		    hkdf_extract(prk1, salt, sizeof(salt), ikm, sizeof(ikm)),
		    0);
		assert_int_equal(
		    mac_hmac_sha256(want, salt, sizeof(salt), ikm, sizeof(ikm)),
		    0);
		assert_memory_equal(prk1, want, 32);
	}
	free(part);
	free(okm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc5869_case1),
		cmocka_unit_test(test_rfc5869_case2),
		cmocka_unit_test(test_rfc5869_case3),
		cmocka_unit_test(test_empty_ikm),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_expand_blocks),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
