/*
 * test_hpke_key.c: HPKE with the recipient's key imported once
 * (hpke_open_key, hpke_setup_receiver_key): RFC 9180 appendix A.2.1 and
 * A.2.4, byte-identical results to hpke_open and hpke_setup_receiver,
 * tampering, wrong keys.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cryptgate/hpke.h"
#include "cryptgate/x25519.h"

/* RFC 9180 appendix A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
 * ChaCha20Poly1305, base mode. */
static const char a21_pkEm[] =
    "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a";
static const char a21_pkRm[] =
    "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a";
static const char a21_skRm[] =
    "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb";
static const char a21_info[] = "4f6465206f6e2061204772656369616e2055726e";
static const char a21_pt[] =
    "4265617574792069732074727574682c20747275746820626561757479";
static const char a21_aad0[] = "436f756e742d30";
static const char a21_ct0[] =
    "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db2199"
    "3c62ce81883d2dd1b51a28";
static const char a21_aad1[] = "436f756e742d31";
static const char a21_ct1[] =
    "6b53c051e4199c518de79594e1c4ab18b96f081549d45ce015be002090bb119e8528"
    "5337cc95ba5f59992dc98c";
static const char a21_exp_ctx[] = "54657374436f6e74657874";
static const char a21_exp_val[] =
    "5acb09211139c43b3090489a9da433e8a30ee7188ba8b0a9a1ccf0c229283e53";

/* RFC 9180 appendix A.2.4: the same suite in auth_psk mode. */
static const char a24_enc[] =
    "656a2e00dc9990fd189e6e473459392df556e9a2758754a09db3f51179a3fc02";
static const char a24_skRm[] =
    "7b36a42822e75bf3362dfabbe474b3016236408becb83b859a6909e22803cb0c";
static const char a24_pkSm[] =
    "3ac5bd4dd66ff9f2740bef0d6ccb66daa77bff7849d7895182b07fb74d087c45";
static const char a24_psk[] =
    "0247fd33b913760fa1fa51e1892d9f307fbe65eb171e8132c2af18555a738b82";
static const char a24_psk_id[] = "456e6e796e20447572696e206172616e204d6f726961";
static const char a24_ct0[] =
    "9aa52e29274fc6172e38a4461361d2342585d3aeec67fb3b721ecd63f059577c7fe8"
    "86be0ede01456ebc67d597";
static const char a24_exp_val[] =
    "d3bae066aa8da27d527d85c040f7dd6ccb60221c902ee36a82f70bcd62a60ee4";

static const uint8_t info[] = "cryptgate test hpke info";
static const uint8_t aad[] = "cryptgate test hpke aad";
static const uint8_t msg[] = "a session key, or some other message";

static size_t
unhex(uint8_t *out, size_t outsize, const char *hex)
{
	size_t n = strlen(hex) / 2, i;
	unsigned int b;

	assert_true(strlen(hex) % 2 == 0 && n <= outsize);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (uint8_t)b;
	}
	return (n);
}

static void
assert_zero(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		assert_int_equal(p[i], 0);
}

/* A.2.1 through the receiver key, by context and one-shot. */
static void
test_rfc9180_a21_key(void **state)
{
	struct x25519_key *kR;
	struct hpke_params p;
	struct hpke_ctx *r;
	uint8_t enc[HPKE_ENCBYTES], pkRm[32], skRm[32], pk[32], inf[64];
	uint8_t pt[64], ad[16], ct[128], c[160], m[128], ec[16], ev[32];
	uint8_t out[32];
	size_t infolen, ptlen, adlen, ctlen, eclen;

	(void)state;
	unhex(enc, sizeof(enc), a21_pkEm);
	unhex(pkRm, sizeof(pkRm), a21_pkRm);
	unhex(skRm, sizeof(skRm), a21_skRm);
	infolen = unhex(inf, sizeof(inf), a21_info);
	ptlen = unhex(pt, sizeof(pt), a21_pt);
	assert_non_null(kR = x25519_key_new(skRm));
	x25519_key_public(kR, pk);
	assert_memory_equal(pk, pkRm, 32);

	memset(&p, 0, sizeof(p));
	p.mode = HPKE_MODE_BASE;
	p.aead = HPKE_AEAD_CHACHA20POLY1305;
	p.info = inf;
	p.infolen = infolen;
	assert_non_null(r = hpke_setup_receiver_key(enc, kR, &p));
	adlen = unhex(ad, sizeof(ad), a21_aad0);
	ctlen = unhex(ct, sizeof(ct), a21_ct0);
	assert_int_equal(hpke_ctx_open(r, m, ct, ctlen, ad, adlen), 0);
	assert_memory_equal(m, pt, ptlen);
	adlen = unhex(ad, sizeof(ad), a21_aad1);
	ctlen = unhex(ct, sizeof(ct), a21_ct1);
	assert_int_equal(hpke_ctx_open(r, m, ct, ctlen, ad, adlen), 0);
	assert_memory_equal(m, pt, ptlen);
	eclen = unhex(ec, sizeof(ec), a21_exp_ctx);
	unhex(ev, sizeof(ev), a21_exp_val);
	assert_int_equal(hpke_ctx_export(r, out, sizeof(out), ec, eclen), 0);
	assert_memory_equal(out, ev, sizeof(ev));
	hpke_ctx_free(r);

	/* One-shot: enc || ct of sequence 0. */
	adlen = unhex(ad, sizeof(ad), a21_aad0);
	ctlen = unhex(ct, sizeof(ct), a21_ct0);
	memcpy(c, enc, HPKE_ENCBYTES);
	memcpy(c + HPKE_ENCBYTES, ct, ctlen);
	memset(m, 0xaa, sizeof(m));
	assert_int_equal(hpke_open_key(m, c, HPKE_ENCBYTES + ctlen, inf,
	                     infolen, ad, adlen, kR),
	    0);
	assert_memory_equal(m, pt, ptlen);
	/* The sequence 1 ciphertext is not a one-shot one. */
	adlen = unhex(ad, sizeof(ad), a21_aad1);
	ctlen = unhex(ct, sizeof(ct), a21_ct1);
	memcpy(c + HPKE_ENCBYTES, ct, ctlen);
	assert_int_equal(hpke_open_key(m, c, HPKE_ENCBYTES + ctlen, inf,
	                     infolen, ad, adlen, kR),
	    -1);
	assert_zero(m, ptlen);
	x25519_key_free(kR);
}

/* A.2.4 (auth_psk: a second exchange, with pkS) through the receiver key. */
static void
test_rfc9180_a24_key(void **state)
{
	struct x25519_key *kR;
	struct hpke_params p;
	struct hpke_ctx *r;
	uint8_t enc[HPKE_ENCBYTES], skRm[32], pkSm[32], psk[32], psk_id[32];
	uint8_t inf[64], pt[64], ad[16], ct[128], m[128], ec[16], ev[32];
	uint8_t out[32];
	size_t ptlen, adlen, ctlen, eclen;

	(void)state;
	unhex(enc, sizeof(enc), a24_enc);
	unhex(skRm, sizeof(skRm), a24_skRm);
	unhex(pkSm, sizeof(pkSm), a24_pkSm);
	assert_non_null(kR = x25519_key_new(skRm));
	memset(&p, 0, sizeof(p));
	p.mode = HPKE_MODE_AUTH_PSK;
	p.aead = HPKE_AEAD_CHACHA20POLY1305;
	p.info = inf;
	p.infolen = unhex(inf, sizeof(inf), a21_info);
	p.psk = psk;
	p.psklen = unhex(psk, sizeof(psk), a24_psk);
	p.psk_id = psk_id;
	p.psk_idlen = unhex(psk_id, sizeof(psk_id), a24_psk_id);
	p.pkS = pkSm;
	assert_non_null(r = hpke_setup_receiver_key(enc, kR, &p));
	ptlen = unhex(pt, sizeof(pt), a21_pt);
	adlen = unhex(ad, sizeof(ad), a21_aad0);
	ctlen = unhex(ct, sizeof(ct), a24_ct0);
	assert_int_equal(hpke_ctx_open(r, m, ct, ctlen, ad, adlen), 0);
	assert_memory_equal(m, pt, ptlen);
	eclen = unhex(ec, sizeof(ec), a21_exp_ctx);
	unhex(ev, sizeof(ev), a24_exp_val);
	assert_int_equal(hpke_ctx_export(r, out, sizeof(out), ec, eclen), 0);
	assert_memory_equal(out, ev, sizeof(ev));
	hpke_ctx_free(r);

	/* The wrong sender key gives another context: the open fails. */
	pkSm[0] ^= 0x01;
	assert_non_null(r = hpke_setup_receiver_key(enc, kR, &p));
	assert_int_equal(hpke_ctx_open(r, m, ct, ctlen, ad, adlen), -1);
	hpke_ctx_free(r);
	/* Bad parameters and no key are refused. */
	p.pkS = NULL;
	assert_null(hpke_setup_receiver_key(enc, kR, &p));
	p.pkS = pkSm;
	assert_null(hpke_setup_receiver_key(enc, NULL, &p));
	x25519_key_free(kR);
}

/* hpke_open_key and hpke_open agree on what hpke_seal made. */
static void
test_open_key_equal(void **state)
{
	struct x25519_key *kR;
	uint8_t pk[32], sk[32], c[sizeof(msg) + HPKE_OVERHEAD];
	uint8_t m1[sizeof(msg)], m2[sizeof(msg)], e[HPKE_OVERHEAD], em[1];
	int i;

	(void)state;
	assert_int_equal(x25519_keypair(pk, sk), 0);
	assert_non_null(kR = x25519_key_new(sk));
	for (i = 0; i < 4; i++) {
		assert_int_equal(hpke_seal(c, msg, sizeof(msg), info,
		                     sizeof(info), aad, sizeof(aad), pk),
		    0);
		assert_int_equal(hpke_open(m1, c, sizeof(c), info, sizeof(info),
		                     aad, sizeof(aad), sk),
		    0);
		assert_int_equal(hpke_open_key(m2, c, sizeof(c), info,
		                     sizeof(info), aad, sizeof(aad), kR),
		    0);
		assert_memory_equal(m1, msg, sizeof(msg));
		assert_memory_equal(m2, msg, sizeof(msg));
	}
	/* In place after enc. */
	assert_int_equal(hpke_open_key(c + HPKE_ENCBYTES, c, sizeof(c), info,
	                     sizeof(info), aad, sizeof(aad), kR),
	    0);
	assert_memory_equal(c + HPKE_ENCBYTES, msg, sizeof(msg));
	/* Empty message, no info, no aad. */
	assert_int_equal(hpke_seal(e, NULL, 0, NULL, 0, NULL, 0, pk), 0);
	assert_int_equal(
	    hpke_open_key(em, e, sizeof(e), NULL, 0, NULL, 0, kR), 0);
	x25519_key_free(kR);
}

static void
test_open_key_tamper(void **state)
{
	struct x25519_key *kR, *k2;
	uint8_t pk[32], sk[32], c[sizeof(msg) + HPKE_OVERHEAD], m[sizeof(msg)];
	size_t i;
	int failed = 0, zeroed = 0;

	(void)state;
	assert_int_equal(x25519_keypair(pk, sk), 0);
	assert_non_null(kR = x25519_key_new(sk));
	assert_non_null(k2 = x25519_key_generate());
	assert_int_equal(hpke_seal(c, msg, sizeof(msg), info, sizeof(info), aad,
	                     sizeof(aad), pk),
	    0);

	/* Every byte of enc, ct and tag. */
	for (i = 0; i < sizeof(c); i++) {
		c[i] ^= 0x10;
		memset(m, 0xaa, sizeof(m));
		if (hpke_open_key(m, c, sizeof(c), info, sizeof(info), aad,
		        sizeof(aad), kR) == -1)
			failed++;
		if (m[0] == 0 && memcmp(m, m + 1, sizeof(m) - 1) == 0)
			zeroed++;
		c[i] ^= 0x10;
	}
	assert_int_equal(failed, (int)sizeof(c));
	assert_int_equal(zeroed, (int)sizeof(c));

	/* Wrong info, aad, key; truncated; no key. */
	memset(m, 0xaa, sizeof(m));
	assert_int_equal(hpke_open_key(m, c, sizeof(c), info, sizeof(info) - 1,
	                     aad, sizeof(aad), kR),
	    -1);
	assert_zero(m, sizeof(m));
	memset(m, 0xaa, sizeof(m));
	assert_int_equal(hpke_open_key(m, c, sizeof(c), info, sizeof(info), aad,
	                     sizeof(aad) - 1, kR),
	    -1);
	assert_zero(m, sizeof(m));
	memset(m, 0xaa, sizeof(m));
	assert_int_equal(hpke_open_key(m, c, sizeof(c), info, sizeof(info), aad,
	                     sizeof(aad), k2),
	    -1);
	assert_zero(m, sizeof(m));
	memset(m, 0xaa, sizeof(m));
	assert_int_equal(hpke_open_key(m, c, sizeof(c) - 1, info, sizeof(info),
	                     aad, sizeof(aad), kR),
	    -1);
	assert_zero(m, sizeof(m) - 1);
	assert_int_equal(hpke_open_key(m, c, HPKE_OVERHEAD - 1, info,
	                     sizeof(info), aad, sizeof(aad), kR),
	    -1);
	memset(m, 0xaa, sizeof(m));
	assert_int_equal(hpke_open_key(m, c, sizeof(c), info, sizeof(info), aad,
	                     sizeof(aad), NULL),
	    -1);
	assert_zero(m, sizeof(m));

	/* Still good with the right inputs. */
	assert_int_equal(hpke_open_key(m, c, sizeof(c), info, sizeof(info), aad,
	                     sizeof(aad), kR),
	    0);
	assert_memory_equal(m, msg, sizeof(msg));

	/* A low-order enc is refused, ${m} zeroed all the same. */
	memset(c, 0, HPKE_ENCBYTES);
	memset(m, 0xaa, sizeof(m));
	assert_int_equal(hpke_open_key(m, c, sizeof(c), info, sizeof(info), aad,
	                     sizeof(aad), kR),
	    -1);
	assert_zero(m, sizeof(m));
	x25519_key_free(k2);
	x25519_key_free(kR);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc9180_a21_key),
		cmocka_unit_test(test_rfc9180_a24_key),
		cmocka_unit_test(test_open_key_equal),
		cmocka_unit_test(test_open_key_tamper),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
