/*
 * test_hostkey_kat.c: a host key file made of known keys (the RFC 8032
 * section 7.1 TEST 1 seed, the RFC 7748 section 6.1 Alice key): hostkey
 * imports its keys once (struct sign_key, struct x25519_key) and must give
 * exactly what the raw-key functions give: the public keys, the
 * signatures (sign_detached), the openings (hpke_open); plus tampering and
 * threads sharing one key.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cryptgate/hostkey.h"
#include "cryptgate/hostpub.h"
#include "cryptgate/hpke.h"
#include "cryptgate/sign.h"
#include "cryptgate/x25519.h"

/* PKCS#8 of the Ed25519 seed, then of the X25519 key (python3: base64 of
 * 302e020100300506032b6570 04220420 || key, 6e for X25519). */
static const char kat_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n"
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VuBCIEIHcHbQpzGKV9PBbBclGyZkXfTC+H68CZKrF3+6UduSwq\n"
    "-----END PRIVATE KEY-----\n";
static const char sign_sk_hex[] =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
static const char sign_pk_hex[] =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
static const char seal_sk_hex[] =
    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
static const char seal_pk_hex[] =
    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a";

static const uint8_t info[] = "hostkey kat info";
static const uint8_t aad[] = "hostkey kat aad";

static struct hostkey *hk;
static uint8_t sign_sk[32], sign_pk[32], seal_sk[32], seal_pk[32];

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
setup(void **state)
{
	const char *errstr = NULL;

	(void)state;
	unhex(sign_sk, 32, sign_sk_hex);
	unhex(sign_pk, 32, sign_pk_hex);
	unhex(seal_sk, 32, seal_sk_hex);
	unhex(seal_pk, 32, seal_pk_hex);
	hk = hostkey_parse(kat_key, strlen(kat_key), &errstr);
	return (hk != NULL ? 0 : -1);
}

static int
teardown(void **state)
{
	(void)state;
	hostkey_free(hk);
	return (0);
}

static void
test_public(void **state)
{
	struct hostpub pub;
	uint8_t id[HOSTPUB_IDBYTES];

	(void)state;
	hostkey_public(hk, &pub);
	assert_int_equal(pub.type, HOSTKEY_X25519);
	assert_memory_equal(pub.sign_pk, sign_pk, 32);
	assert_int_equal(pub.seal_pklen, 32);
	assert_memory_equal(pub.seal_pk, seal_pk, 32);
	assert_int_equal(hostpub_id_compute(id, sign_pk, seal_pk, 32), 0);
	assert_memory_equal(pub.host_id, id, sizeof(id));
}

/* hostkey_sign == sign_detached with the seed, for several sizes. */
static void
test_sign_equal(void **state)
{
	static const size_t lens[] = { 0, 1, 150, 1020, 1021, 3000 };
	struct hostpub pub;
	uint8_t m[3000], sig1[SIGN_BYTES], sig2[SIGN_BYTES];
	size_t i, j;

	(void)state;
	hostkey_public(hk, &pub);
	for (j = 0; j < sizeof(m); j++)
		m[j] = (uint8_t)(j ^ 0x5a);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		assert_int_equal(hostkey_sign(hk, sig1, "ctx", m, lens[i]), 0);
		assert_int_equal(
		    sign_detached(sig2, "ctx", m, lens[i], sign_sk), 0);
		assert_memory_equal(sig1, sig2, SIGN_BYTES);
		assert_int_equal(
		    hostpub_verify(&pub, sig1, "ctx", m, lens[i]), 0);
		sig1[SIGN_BYTES - 1] ^= 0x40;
		assert_int_equal(
		    hostpub_verify(&pub, sig1, "ctx", m, lens[i]), -1);
	}
	assert_int_equal(hostkey_sign(hk, sig1, "", m, 1), -1);
	assert_int_equal(hostkey_sign(hk, sig1, NULL, m, 1), -1);
}

/* hostkey_open (the imported key) == hpke_open with the raw key. */
static void
test_open_equal(void **state)
{
	struct hostpub pub;
	uint8_t k[32], c[32 + HPKE_OVERHEAD], m1[32], m2[64];
	size_t clen, mlen, i;
	int failed = 0;

	(void)state;
	hostkey_public(hk, &pub);
	for (i = 0; i < sizeof(k); i++)
		k[i] = (uint8_t)(i + 1);
	assert_int_equal(hostpub_seal(&pub, c, sizeof(c), &clen, k, sizeof(k),
	                     info, sizeof(info), aad, sizeof(aad)),
	    0);
	assert_int_equal(clen, sizeof(c));
	assert_int_equal(hpke_open(m1, c, clen, info, sizeof(info), aad,
	                     sizeof(aad), seal_sk),
	    0);
	assert_memory_equal(m1, k, sizeof(k));
	assert_int_equal(hostkey_open(hk, m2, sizeof(m2), &mlen, c, clen, info,
	                     sizeof(info), aad, sizeof(aad)),
	    0);
	assert_int_equal(mlen, sizeof(k));
	assert_memory_equal(m2, k, sizeof(k));

	/* Every flipped byte fails, with the output zeroed. */
	for (i = 0; i < clen; i++) {
		c[i] ^= 0x80;
		memset(m2, 0xaa, sizeof(m2));
		if (hostkey_open(hk, m2, sizeof(m2), &mlen, c, clen, info,
		        sizeof(info), aad, sizeof(aad)) == -1 &&
		    mlen == 0 && m2[0] == 0 &&
		    memcmp(m2, m2 + 1, sizeof(m2) - 1) == 0)
			failed++;
		c[i] ^= 0x80;
	}
	assert_int_equal(failed, (int)clen);
	assert_int_equal(hostkey_open(hk, m2, sizeof(m2), &mlen, c, clen, info,
	                     sizeof(info) - 1, aad, sizeof(aad)),
	    -1);
	assert_int_equal(hostkey_open(hk, m2, sizeof(m2), &mlen, c, clen, info,
	                     sizeof(info), aad, sizeof(aad)),
	    0);
	assert_memory_equal(m2, k, sizeof(k));
}

/* Threads share the key: hostkey_sign and hostkey_open only read it. */
#define THREADS 4
#define ROUNDS 20

static uint8_t thr_c[32 + HPKE_OVERHEAD];
static uint8_t thr_want[SIGN_BYTES];

static void *
thr_main(void *arg)
{
	uint8_t sig[SIGN_BYTES], m[64];
	size_t mlen;
	int i, *failures = arg;

	for (i = 0; i < ROUNDS; i++) {
		if (hostkey_sign(hk, sig, "thr", thr_c, sizeof(thr_c)) != 0 ||
		    memcmp(sig, thr_want, sizeof(sig)) != 0)
			(*failures)++;
		if (hostkey_open(hk, m, sizeof(m), &mlen, thr_c, sizeof(thr_c),
		        info, sizeof(info), aad, sizeof(aad)) != 0 ||
		    mlen != 32 || m[0] != 7 || m[31] != 7)
			(*failures)++;
	}
	return (NULL);
}

static void
test_threads(void **state)
{
	struct hostpub pub;
	pthread_t thr[THREADS];
	int failures[THREADS], i;
	uint8_t k[32];
	size_t clen;

	(void)state;
	hostkey_public(hk, &pub);
	memset(k, 7, sizeof(k));
	assert_int_equal(hostpub_seal(&pub, thr_c, sizeof(thr_c), &clen, k,
	                     sizeof(k), info, sizeof(info), aad, sizeof(aad)),
	    0);
	assert_int_equal(
	    sign_detached(thr_want, "thr", thr_c, sizeof(thr_c), sign_sk), 0);
	for (i = 0; i < THREADS; i++) {
		failures[i] = 0;
		assert_int_equal(
		    pthread_create(&thr[i], NULL, thr_main, &failures[i]), 0);
	}
	for (i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(thr[i], NULL), 0);
		assert_int_equal(failures[i], 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_public),
		cmocka_unit_test(test_sign_equal),
		cmocka_unit_test(test_open_equal),
		cmocka_unit_test(test_threads),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
