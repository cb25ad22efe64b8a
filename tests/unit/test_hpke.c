/*
 * test_hpke.c: HPKE (RFC 9180) one-shot and context APIs (hpke.h).
 *
 * hpke.c is included so that the sequence-number limit can be reached by
 * setting the counter; it uses no OpenSSL header itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cryptgate/x25519.h"
#include "../../src/lib/crypto/hpke.c"

/* RFC 9180 appendix A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
 * ChaCha20Poly1305, base mode. */
static const char a21_ikmE[] =
    "909a9b35d3dc4713a5e72a4da274b55d3d3821a37e5d099e74a647db583a904b";
static const char a21_pkEm[] =
    "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a";
static const char a21_skEm[] =
    "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600";
static const char a21_ikmR[] =
    "1ac01f181fdf9f352797655161c58b75c656a6cc2716dcb66372da835542e1df";
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
static const char a24_ikmE[] =
    "49d6eac8c6c558c953a0a252929a818745bb08cd3d29e15f9f5db5eb2e7d4b84";
static const char a24_enc[] =
    "656a2e00dc9990fd189e6e473459392df556e9a2758754a09db3f51179a3fc02";
static const char a24_pkRm[] =
    "a5099431c35c491ec62ca91df1525d6349cb8aa170c51f9581f8627be6334851";
static const char a24_skRm[] =
    "7b36a42822e75bf3362dfabbe474b3016236408becb83b859a6909e22803cb0c";
static const char a24_ikmS[] =
    "20ade1d5203de1aadfb261c4700b6432e260d0d317be6ebbb8d7fffb1f86ad9d";
static const char a24_skSm[] =
    "90761c5b0a7ef0985ed66687ad708b921d9803d51637c8d1cb72d03ed0f64418";
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
static const uint8_t msg[] = "a message of some length for HPKE";

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

static void
test_rfc9180_a21(void **state)
{
	struct hpke_params p;
	struct hpke_ctx *s, *r;
	uint8_t ikmE[32], ikmR[32], pkEm[32], skEm[32], pkRm[32], skRm[32];
	uint8_t pk[32], sk[32], enc[HPKE_ENCBYTES], inf[64], pt[64], ad[16];
	uint8_t ct[128], c[128], m[128], ec[16], ev[32], out[32];
	size_t infolen, ptlen, adlen, ctlen, eclen;

	(void)state;
	unhex(ikmE, sizeof(ikmE), a21_ikmE);
	unhex(ikmR, sizeof(ikmR), a21_ikmR);
	unhex(pkEm, sizeof(pkEm), a21_pkEm);
	unhex(skEm, sizeof(skEm), a21_skEm);
	unhex(pkRm, sizeof(pkRm), a21_pkRm);
	unhex(skRm, sizeof(skRm), a21_skRm);
	infolen = unhex(inf, sizeof(inf), a21_info);
	ptlen = unhex(pt, sizeof(pt), a21_pt);

	/* DeriveKeyPair. */
	assert_int_equal(hpke_derive_keypair(pk, sk, ikmE, sizeof(ikmE)), 0);
	assert_memory_equal(pk, pkEm, 32);
	assert_memory_equal(sk, skEm, 32);
	assert_int_equal(hpke_derive_keypair(pk, sk, ikmR, sizeof(ikmR)), 0);
	assert_memory_equal(pk, pkRm, 32);
	assert_memory_equal(sk, skRm, 32);
	assert_int_equal(hpke_derive_keypair(pk, sk, ikmR, 31), -1);

	memset(&p, 0, sizeof(p));
	p.mode = HPKE_MODE_BASE;
	p.aead = HPKE_AEAD_CHACHA20POLY1305;
	p.info = inf;
	p.infolen = infolen;
	p.ikmE = ikmE;
	p.ikmElen = sizeof(ikmE);
	assert_non_null(s = hpke_setup_sender(enc, pkRm, &p));
	assert_memory_equal(enc, pkEm, HPKE_ENCBYTES);
	assert_non_null(r = hpke_setup_receiver(enc, skRm, &p));

	/* Encryptions sequence 0 and 1. */
	adlen = unhex(ad, sizeof(ad), a21_aad0);
	ctlen = unhex(ct, sizeof(ct), a21_ct0);
	assert_int_equal(ctlen, ptlen + AEAD_TAGBYTES);
	assert_int_equal(hpke_ctx_seal(s, c, pt, ptlen, ad, adlen), 0);
	assert_memory_equal(c, ct, ctlen);
	assert_int_equal(hpke_ctx_open(r, m, ct, ctlen, ad, adlen), 0);
	assert_memory_equal(m, pt, ptlen);

	adlen = unhex(ad, sizeof(ad), a21_aad1);
	ctlen = unhex(ct, sizeof(ct), a21_ct1);
	assert_int_equal(hpke_ctx_seal(s, c, pt, ptlen, ad, adlen), 0);
	assert_memory_equal(c, ct, ctlen);
	assert_int_equal(hpke_ctx_open(r, m, ct, ctlen, ad, adlen), 0);
	assert_memory_equal(m, pt, ptlen);

	/* Export "TestContext", 32 bytes. */
	eclen = unhex(ec, sizeof(ec), a21_exp_ctx);
	unhex(ev, sizeof(ev), a21_exp_val);
	assert_int_equal(hpke_ctx_export(s, out, sizeof(out), ec, eclen), 0);
	assert_memory_equal(out, ev, sizeof(ev));
	assert_int_equal(hpke_ctx_export(r, out, sizeof(out), ec, eclen), 0);
	assert_memory_equal(out, ev, sizeof(ev));

	/* The one-shot API opens what the context API sealed at seq 0. */
	hpke_ctx_free(s);
	hpke_ctx_free(r);
	adlen = unhex(ad, sizeof(ad), a21_aad0);
	ctlen = unhex(ct, sizeof(ct), a21_ct0);
	memcpy(c, enc, HPKE_ENCBYTES);
	memcpy(c + HPKE_ENCBYTES, ct, ctlen);
	assert_int_equal(hpke_open(m, c, HPKE_ENCBYTES + ctlen, inf, infolen,
	                     ad, adlen, skRm),
	    0);
	assert_memory_equal(m, pt, ptlen);
}

static void
test_rfc9180_a24(void **state)
{
	struct hpke_params p;
	struct hpke_ctx *s, *r;
	uint8_t ikmE[32], ikmS[32], encx[32], pkRm[32], skRm[32], skSm[32];
	uint8_t pkSm[32], pk[32], sk[32], psk[32], psk_id[32], inf[64];
	uint8_t enc[HPKE_ENCBYTES], pt[64], ad[16], ct[128], c[128], m[128];
	uint8_t ec[16], ev[32], out[32];
	size_t ptlen, adlen, ctlen, eclen;

	(void)state;
	unhex(ikmE, sizeof(ikmE), a24_ikmE);
	unhex(ikmS, sizeof(ikmS), a24_ikmS);
	unhex(encx, sizeof(encx), a24_enc);
	unhex(pkRm, sizeof(pkRm), a24_pkRm);
	unhex(skRm, sizeof(skRm), a24_skRm);
	unhex(skSm, sizeof(skSm), a24_skSm);
	unhex(pkSm, sizeof(pkSm), a24_pkSm);
	assert_int_equal(hpke_derive_keypair(pk, sk, ikmS, sizeof(ikmS)), 0);
	assert_memory_equal(pk, pkSm, 32);
	assert_memory_equal(sk, skSm, 32);

	memset(&p, 0, sizeof(p));
	p.mode = HPKE_MODE_AUTH_PSK;
	p.aead = HPKE_AEAD_CHACHA20POLY1305;
	p.info = inf;
	p.infolen = unhex(inf, sizeof(inf), a21_info);
	p.psk = psk;
	p.psklen = unhex(psk, sizeof(psk), a24_psk);
	p.psk_id = psk_id;
	p.psk_idlen = unhex(psk_id, sizeof(psk_id), a24_psk_id);
	p.skS = skSm;
	p.pkS = pkSm;
	p.ikmE = ikmE;
	p.ikmElen = sizeof(ikmE);
	assert_non_null(s = hpke_setup_sender(enc, pkRm, &p));
	assert_memory_equal(enc, encx, HPKE_ENCBYTES);
	assert_non_null(r = hpke_setup_receiver(enc, skRm, &p));

	ptlen = unhex(pt, sizeof(pt), a21_pt);
	adlen = unhex(ad, sizeof(ad), a21_aad0);
	ctlen = unhex(ct, sizeof(ct), a24_ct0);
	assert_int_equal(hpke_ctx_seal(s, c, pt, ptlen, ad, adlen), 0);
	assert_memory_equal(c, ct, ctlen);
	assert_int_equal(hpke_ctx_open(r, m, ct, ctlen, ad, adlen), 0);
	assert_memory_equal(m, pt, ptlen);

	eclen = unhex(ec, sizeof(ec), a21_exp_ctx);
	unhex(ev, sizeof(ev), a24_exp_val);
	assert_int_equal(hpke_ctx_export(r, out, sizeof(out), ec, eclen), 0);
	assert_memory_equal(out, ev, sizeof(ev));
	hpke_ctx_free(s);
	hpke_ctx_free(r);
}

static void
test_oneshot_roundtrip(void **state)
{
	uint8_t pk[32], sk[32], c[sizeof(msg) + HPKE_OVERHEAD],
	    c2[sizeof(msg) + HPKE_OVERHEAD], m[sizeof(msg)];
	uint8_t e[HPKE_OVERHEAD], em[1];

	(void)state;
	assert_int_equal(x25519_keypair(pk, sk), 0);
	assert_int_equal(hpke_seal(c, msg, sizeof(msg), info, sizeof(info), aad,
	                     sizeof(aad), pk),
	    0);
	assert_int_equal(hpke_open(m, c, sizeof(c), info, sizeof(info), aad,
	                     sizeof(aad), sk),
	    0);
	assert_memory_equal(m, msg, sizeof(msg));

	/* A fresh ephemeral key each time. */
	assert_int_equal(hpke_seal(c2, msg, sizeof(msg), info, sizeof(info),
	                     aad, sizeof(aad), pk),
	    0);
	assert_memory_not_equal(c, c2, HPKE_ENCBYTES);
	assert_memory_not_equal(
	    c + HPKE_ENCBYTES, c2 + HPKE_ENCBYTES, sizeof(msg));

	/* Empty message, no info, no aad. */
	assert_int_equal(hpke_seal(e, NULL, 0, NULL, 0, NULL, 0, pk), 0);
	assert_int_equal(hpke_open(em, e, sizeof(e), NULL, 0, NULL, 0, sk), 0);

	/* Opened in place after enc. */
	assert_int_equal(hpke_open(c2 + HPKE_ENCBYTES, c2, sizeof(c2), info,
	                     sizeof(info), aad, sizeof(aad), sk),
	    0);
	assert_memory_equal(c2 + HPKE_ENCBYTES, msg, sizeof(msg));
}

static void
test_oneshot_tamper(void **state)
{
	uint8_t pk[32], sk[32], c[sizeof(msg) + HPKE_OVERHEAD], m[sizeof(msg)];
	size_t i;
	int failed = 0, zeroed = 0;

	(void)state;
	assert_int_equal(x25519_keypair(pk, sk), 0);
	assert_int_equal(hpke_seal(c, msg, sizeof(msg), info, sizeof(info), aad,
	                     sizeof(aad), pk),
	    0);

	/* Every byte of enc, ct and tag. */
	for (i = 0; i < sizeof(c); i++) {
		c[i] ^= 0x04;
		memset(m, 0xaa, sizeof(m));
		if (hpke_open(m, c, sizeof(c), info, sizeof(info), aad,
		        sizeof(aad), sk) == -1)
			failed++;
		if (m[0] == 0 && memcmp(m, m + 1, sizeof(m) - 1) == 0)
			zeroed++;
		c[i] ^= 0x04;
	}
	assert_int_equal(failed, (int)sizeof(c));
	assert_int_equal(zeroed, (int)sizeof(c));

	/* Truncated, or too short to hold enc and tag. */
	memset(m, 0xaa, sizeof(m));
	assert_int_equal(hpke_open(m, c, sizeof(c) - 1, info, sizeof(info), aad,
	                     sizeof(aad), sk),
	    -1);
	assert_zero(m, sizeof(m) - 1);
	assert_int_equal(hpke_open(m, c, HPKE_OVERHEAD - 1, info, sizeof(info),
	                     aad, sizeof(aad), sk),
	    -1);

	/* A low-order enc (all zeros) is refused, ${m} zeroed all the same. */
	memset(c, 0, HPKE_ENCBYTES);
	memset(m, 0xaa, sizeof(m));
	assert_int_equal(hpke_open(m, c, sizeof(c), info, sizeof(info), aad,
	                     sizeof(aad), sk),
	    -1);
	assert_zero(m, sizeof(m));
}

static void
test_oneshot_wrong(void **state)
{
	uint8_t pk[32], sk[32], pk2[32], sk2[32];
	uint8_t c[sizeof(msg) + HPKE_OVERHEAD], m[sizeof(msg)];

	(void)state;
	assert_int_equal(x25519_keypair(pk, sk), 0);
	assert_int_equal(x25519_keypair(pk2, sk2), 0);
	assert_int_equal(hpke_seal(c, msg, sizeof(msg), info, sizeof(info), aad,
	                     sizeof(aad), pk),
	    0);

	memset(m, 0xaa, sizeof(m));
	assert_int_equal(hpke_open(m, c, sizeof(c), info, sizeof(info) - 1, aad,
	                     sizeof(aad), sk),
	    -1);
	assert_zero(m, sizeof(m));
	memset(m, 0xaa, sizeof(m));
	assert_int_equal(
	    hpke_open(m, c, sizeof(c), NULL, 0, aad, sizeof(aad), sk), -1);
	assert_zero(m, sizeof(m));
	memset(m, 0xaa, sizeof(m));
	assert_int_equal(hpke_open(m, c, sizeof(c), info, sizeof(info), aad,
	                     sizeof(aad) - 1, sk),
	    -1);
	assert_zero(m, sizeof(m));
	assert_int_equal(
	    hpke_open(m, c, sizeof(c), info, sizeof(info), NULL, 0, sk), -1);
	memset(m, 0xaa, sizeof(m));
	assert_int_equal(hpke_open(m, c, sizeof(c), info, sizeof(info), aad,
	                     sizeof(aad), sk2),
	    -1);
	assert_zero(m, sizeof(m));

	/* Still good with the right inputs. */
	assert_int_equal(hpke_open(m, c, sizeof(c), info, sizeof(info), aad,
	                     sizeof(aad), sk),
	    0);
	assert_memory_equal(m, msg, sizeof(msg));

	/* info over the cap. */
	{
		uint8_t big[HPKE_INFOBYTES_MAX + 1];

		memset(big, 'i', sizeof(big));
		assert_int_equal(hpke_seal(c, msg, sizeof(msg), big,
		                     sizeof(big), NULL, 0, pk),
		    -1);
		assert_int_equal(hpke_seal(c, msg, sizeof(msg), big,
		                     sizeof(big) - 1, NULL, 0, pk),
		    0);
		assert_int_equal(hpke_open(m, c, sizeof(c), big,
		                     sizeof(big) - 1, NULL, 0, sk),
		    0);
	}
}

/* Fill ${p} for ${mode}/${aead}; the PSK and keys live in static storage. */
static void
mode_params(struct hpke_params *p, enum hpke_mode mode, enum hpke_aead aead,
    const uint8_t *skS, const uint8_t *pkS)
{
	static const uint8_t psk[32] = "0123456789abcdef0123456789abcdef";
	static const uint8_t psk_id[] = "psk id";

	memset(p, 0, sizeof(*p));
	p->mode = mode;
	p->aead = aead;
	p->info = info;
	p->infolen = sizeof(info);
	if (mode == HPKE_MODE_PSK || mode == HPKE_MODE_AUTH_PSK) {
		p->psk = psk;
		p->psklen = sizeof(psk);
		p->psk_id = psk_id;
		p->psk_idlen = sizeof(psk_id);
	}
	if (mode == HPKE_MODE_AUTH || mode == HPKE_MODE_AUTH_PSK) {
		p->skS = skS;
		p->pkS = pkS;
	}
}

static void
test_ctx_modes(void **state)
{
	static const enum hpke_mode modes[] = { HPKE_MODE_BASE, HPKE_MODE_PSK,
		HPKE_MODE_AUTH, HPKE_MODE_AUTH_PSK };
	static const enum hpke_aead aeads[] = { HPKE_AEAD_AES128GCM,
		HPKE_AEAD_CHACHA20POLY1305, HPKE_AEAD_EXPORT_ONLY };
	struct hpke_params p;
	struct hpke_ctx *s, *r;
	uint8_t pkR[32], skR[32], pkS[32], skS[32], pkX[32], skX[32];
	uint8_t enc[HPKE_ENCBYTES], c[3][sizeof(msg) + AEAD_TAGBYTES];
	uint8_t m[sizeof(msg)], e1[64], e2[64], e3[64];
	uint8_t prev[12][64];
	size_t mi, ai, i, n = 0;

	(void)state;
	assert_int_equal(x25519_keypair(pkR, skR), 0);
	assert_int_equal(x25519_keypair(pkS, skS), 0);
	assert_int_equal(x25519_keypair(pkX, skX), 0);
	for (mi = 0; mi < 4; mi++) {
		for (ai = 0; ai < 3; ai++) {
			mode_params(&p, modes[mi], aeads[ai], skS, pkS);
			assert_non_null(s = hpke_setup_sender(enc, pkR, &p));
			assert_non_null(r = hpke_setup_receiver(enc, skR, &p));

			/* Exports agree; another context gives another. */
			assert_int_equal(hpke_ctx_export(s, e1, sizeof(e1),
			                     (const uint8_t *)"ctx", 3),
			    0);
			assert_int_equal(hpke_ctx_export(r, e2, sizeof(e2),
			                     (const uint8_t *)"ctx", 3),
			    0);
			assert_memory_equal(e1, e2, sizeof(e1));
			assert_int_equal(hpke_ctx_export(r, e3, sizeof(e3),
			                     (const uint8_t *)"ctY", 3),
			    0);
			assert_memory_not_equal(e1, e3, sizeof(e1));

			/* Every suite x mode differs from the others. */
			for (i = 0; i < n; i++)
				assert_memory_not_equal(prev[i], e1, 64);
			memcpy(prev[n++], e1, 64);

			if (aeads[ai] == HPKE_AEAD_EXPORT_ONLY) {
				assert_int_equal(
				    hpke_ctx_seal(s, c[0], msg, sizeof(msg),
				        aad, sizeof(aad)),
				    -1);
				assert_int_equal(
				    hpke_ctx_open(r, m, c[0], sizeof(c[0]), aad,
				        sizeof(aad)),
				    -1);
				hpke_ctx_free(s);
				hpke_ctx_free(r);
				continue;
			}
			for (i = 0; i < 3; i++)
				assert_int_equal(
				    hpke_ctx_seal(s, c[i], msg, sizeof(msg),
				        aad, sizeof(aad)),
				    0);
			assert_memory_not_equal(c[0], c[1], sizeof(c[0]));
			for (i = 0; i < 3; i++) {
				assert_int_equal(
				    hpke_ctx_open(r, m, c[i], sizeof(c[i]), aad,
				        sizeof(aad)),
				    0);
				assert_memory_equal(m, msg, sizeof(msg));
			}

			/* Roles are fixed. */
			assert_int_equal(
			    hpke_ctx_seal(r, c[0], msg, sizeof(msg), NULL, 0),
			    -1);
			assert_int_equal(hpke_ctx_open(s, m, c[0], sizeof(c[0]),
			                     aad, sizeof(aad)),
			    -1);
			hpke_ctx_free(r);

			/* Auth modes: another claimed sender fails. */
			if (p.pkS != NULL) {
				p.pkS = pkX;
				assert_non_null(
				    r = hpke_setup_receiver(enc, skR, &p));
				assert_int_equal(
				    hpke_ctx_open(r, m, c[0], sizeof(c[0]), aad,
				        sizeof(aad)),
				    -1);
				hpke_ctx_free(r);
			}
			hpke_ctx_free(s);
		}
	}
}

static void
test_psk_rules(void **state)
{
	struct hpke_params p;
	struct hpke_ctx *s, *r;
	uint8_t pkR[32], skR[32], pkS[32], skS[32], enc[HPKE_ENCBYTES];
	uint8_t c[sizeof(msg) + AEAD_TAGBYTES], m[sizeof(msg)];
	uint8_t psk[HPKE_PSKBYTES_MAX + 1], id[HPKE_PSKIDBYTES_MAX + 1];

	(void)state;
	assert_int_equal(x25519_keypair(pkR, skR), 0);
	assert_int_equal(x25519_keypair(pkS, skS), 0);
	memset(psk, 'k', sizeof(psk));
	memset(id, 'i', sizeof(id));

	/* PSK without id, id without PSK, in either PSK mode. */
	mode_params(&p, HPKE_MODE_PSK, HPKE_AEAD_AES128GCM, NULL, NULL);
	p.psk_id = NULL;
	p.psk_idlen = 0;
	assert_null(hpke_setup_sender(enc, pkR, &p));
	assert_null(hpke_setup_receiver(pkR, skR, &p));
	mode_params(&p, HPKE_MODE_AUTH_PSK, HPKE_AEAD_AES128GCM, skS, pkS);
	p.psk = NULL;
	p.psklen = 0;
	assert_null(hpke_setup_sender(enc, pkR, &p));
	assert_null(hpke_setup_receiver(pkR, skR, &p));

	/* PSK mode without either; base and auth modes with a PSK. */
	mode_params(&p, HPKE_MODE_BASE, HPKE_AEAD_AES128GCM, NULL, NULL);
	p.mode = HPKE_MODE_PSK;
	assert_null(hpke_setup_sender(enc, pkR, &p));
	mode_params(&p, HPKE_MODE_PSK, HPKE_AEAD_AES128GCM, NULL, NULL);
	p.mode = HPKE_MODE_BASE;
	assert_null(hpke_setup_sender(enc, pkR, &p));
	mode_params(&p, HPKE_MODE_AUTH_PSK, HPKE_AEAD_AES128GCM, skS, pkS);
	p.mode = HPKE_MODE_AUTH;
	assert_null(hpke_setup_sender(enc, pkR, &p));

	/* PSK size: 32..128; id up to 128. */
	mode_params(&p, HPKE_MODE_PSK, HPKE_AEAD_AES128GCM, NULL, NULL);
	p.psk = psk;
	p.psklen = HPKE_PSKBYTES_MIN - 1;
	assert_null(hpke_setup_sender(enc, pkR, &p));
	assert_null(hpke_setup_receiver(pkR, skR, &p));
	p.psklen = HPKE_PSKBYTES_MAX + 1;
	assert_null(hpke_setup_sender(enc, pkR, &p));
	p.psklen = HPKE_PSKBYTES_MAX;
	p.psk_id = id;
	p.psk_idlen = HPKE_PSKIDBYTES_MAX + 1;
	assert_null(hpke_setup_sender(enc, pkR, &p));
	p.psk_idlen = HPKE_PSKIDBYTES_MAX;
	assert_non_null(s = hpke_setup_sender(enc, pkR, &p));
	assert_non_null(r = hpke_setup_receiver(enc, skR, &p));
	assert_int_equal(hpke_ctx_seal(s, c, msg, sizeof(msg), NULL, 0), 0);
	assert_int_equal(hpke_ctx_open(r, m, c, sizeof(c), NULL, 0), 0);
	hpke_ctx_free(r);

	/* Another PSK or PSK id does not open. */
	psk[0] ^= 1;
	assert_non_null(r = hpke_setup_receiver(enc, skR, &p));
	assert_int_equal(hpke_ctx_open(r, m, c, sizeof(c), NULL, 0), -1);
	hpke_ctx_free(r);
	psk[0] ^= 1;
	p.psk_idlen--;
	assert_non_null(r = hpke_setup_receiver(enc, skR, &p));
	assert_int_equal(hpke_ctx_open(r, m, c, sizeof(c), NULL, 0), -1);
	hpke_ctx_free(r);
	hpke_ctx_free(s);

	/* Auth keys: required in auth modes, refused in the others. */
	mode_params(&p, HPKE_MODE_AUTH, HPKE_AEAD_AES128GCM, NULL, pkS);
	assert_null(hpke_setup_sender(enc, pkR, &p));
	mode_params(&p, HPKE_MODE_AUTH, HPKE_AEAD_AES128GCM, skS, NULL);
	assert_null(hpke_setup_receiver(pkR, skR, &p));
	mode_params(&p, HPKE_MODE_BASE, HPKE_AEAD_AES128GCM, NULL, NULL);
	p.skS = skS;
	assert_null(hpke_setup_sender(enc, pkR, &p));
	p.skS = NULL;
	p.pkS = pkS;
	assert_null(hpke_setup_receiver(pkR, skR, &p));

	/* Unknown mode or AEAD. */
	mode_params(&p, HPKE_MODE_BASE, HPKE_AEAD_AES128GCM, NULL, NULL);
	p.mode = (enum hpke_mode)4;
	assert_null(hpke_setup_sender(enc, pkR, &p));
	p.mode = HPKE_MODE_BASE;
	p.aead = (enum hpke_aead)2;
	assert_null(hpke_setup_sender(enc, pkR, &p));
	assert_null(hpke_setup_sender(enc, pkR, NULL));
}

static void
test_sequence(void **state)
{
	struct hpke_params p;
	struct hpke_ctx *s, *r;
	uint8_t pkR[32], skR[32], enc[HPKE_ENCBYTES];
	uint8_t c0[sizeof(msg) + AEAD_TAGBYTES], c1[sizeof(c0)];
	uint8_t m[sizeof(msg)];

	(void)state;
	assert_int_equal(x25519_keypair(pkR, skR), 0);
	mode_params(&p, HPKE_MODE_BASE, HPKE_AEAD_CHACHA20POLY1305, NULL, NULL);
	assert_non_null(s = hpke_setup_sender(enc, pkR, &p));
	assert_int_equal(
	    hpke_ctx_seal(s, c0, msg, sizeof(msg), aad, sizeof(aad)), 0);
	assert_int_equal(
	    hpke_ctx_seal(s, c1, msg, sizeof(msg), aad, sizeof(aad)), 0);

	/* In order. */
	assert_non_null(r = hpke_setup_receiver(enc, skR, &p));
	assert_int_equal(
	    hpke_ctx_open(r, m, c0, sizeof(c0), aad, sizeof(aad)), 0);
	assert_int_equal(
	    hpke_ctx_open(r, m, c1, sizeof(c1), aad, sizeof(aad)), 0);
	assert_memory_equal(m, msg, sizeof(msg));

	/* A replay of either now fails. */
	assert_int_equal(
	    hpke_ctx_open(r, m, c0, sizeof(c0), aad, sizeof(aad)), -1);
	assert_int_equal(
	    hpke_ctx_open(r, m, c1, sizeof(c1), aad, sizeof(aad)), -1);
	hpke_ctx_free(r);

	/* Out of order: c1 first fails, and a failure does not advance. */
	assert_non_null(r = hpke_setup_receiver(enc, skR, &p));
	memset(m, 0xaa, sizeof(m));
	assert_int_equal(
	    hpke_ctx_open(r, m, c1, sizeof(c1), aad, sizeof(aad)), -1);
	assert_zero(m, sizeof(m));
	assert_int_equal(
	    hpke_ctx_open(r, m, c0, sizeof(c0), aad, sizeof(aad)), 0);
	assert_int_equal(
	    hpke_ctx_open(r, m, c1, sizeof(c1), aad, sizeof(aad)), 0);
	assert_memory_equal(m, msg, sizeof(msg));
	hpke_ctx_free(r);
	hpke_ctx_free(s);
}

static void
test_sequence_limit(void **state)
{
	struct hpke_params p;
	struct hpke_ctx *s, *r;
	uint8_t pkR[32], skR[32], enc[HPKE_ENCBYTES];
	uint8_t c[sizeof(msg) + AEAD_TAGBYTES], m[sizeof(msg)];

	(void)state;
	assert_int_equal(x25519_keypair(pkR, skR), 0);
	mode_params(&p, HPKE_MODE_BASE, HPKE_AEAD_AES128GCM, NULL, NULL);
	assert_non_null(s = hpke_setup_sender(enc, pkR, &p));
	assert_non_null(r = hpke_setup_receiver(enc, skR, &p));

	/* The last sequence number that can be used: both ends agree. */
	s->seq = UINT64_MAX - 1;
	r->seq = UINT64_MAX - 1;
	assert_int_equal(hpke_ctx_seal(s, c, msg, sizeof(msg), NULL, 0), 0);
	assert_int_equal(hpke_ctx_open(r, m, c, sizeof(c), NULL, 0), 0);
	assert_memory_equal(m, msg, sizeof(msg));

	/* Then both refuse: the counter never wraps to 0. */
	assert_int_equal(s->seq, UINT64_MAX);
	assert_int_equal(hpke_ctx_seal(s, c, msg, sizeof(msg), NULL, 0), -1);
	memset(m, 0xaa, sizeof(m));
	assert_int_equal(hpke_ctx_open(r, m, c, sizeof(c), NULL, 0), -1);
	assert_zero(m, sizeof(m));
	assert_int_equal(s->seq, UINT64_MAX);
	assert_int_equal(r->seq, UINT64_MAX);
	hpke_ctx_free(r);
	hpke_ctx_free(s);
}

static void
test_export_limits(void **state)
{
	static uint8_t big1[HPKE_EXPORTBYTES_MAX + 1],
	    big2[HPKE_EXPORTBYTES_MAX];
	struct hpke_params p;
	struct hpke_ctx *s, *r;
	uint8_t pkR[32], skR[32], enc[HPKE_ENCBYTES];
	uint8_t ec[HPKE_EXPCTXBYTES_MAX + 1], out[32];

	(void)state;
	assert_int_equal(x25519_keypair(pkR, skR), 0);
	mode_params(&p, HPKE_MODE_BASE, HPKE_AEAD_EXPORT_ONLY, NULL, NULL);
	assert_non_null(s = hpke_setup_sender(enc, pkR, &p));
	assert_non_null(r = hpke_setup_receiver(enc, skR, &p));
	memset(ec, 'e', sizeof(ec));

	assert_int_equal(hpke_ctx_export(s, big1, sizeof(big1), NULL, 0), -1);
	assert_int_equal(hpke_ctx_export(s, big1, 0, NULL, 0), -1);
	assert_int_equal(hpke_ctx_export(s, big1, sizeof(big2), NULL, 0), 0);
	assert_int_equal(hpke_ctx_export(r, big2, sizeof(big2), NULL, 0), 0);
	assert_memory_equal(big1, big2, sizeof(big2));

	/* L is bound into the derivation: a shorter export is no prefix. */
	assert_int_equal(hpke_ctx_export(r, out, sizeof(out), NULL, 0), 0);
	assert_memory_not_equal(out, big2, sizeof(out));

	assert_int_equal(
	    hpke_ctx_export(s, out, sizeof(out), ec, sizeof(ec)), -1);
	assert_int_equal(
	    hpke_ctx_export(s, out, sizeof(out), ec, sizeof(ec) - 1), 0);
	assert_int_equal(
	    hpke_ctx_export(r, big1, sizeof(out), ec, sizeof(ec) - 1), 0);
	assert_memory_equal(out, big1, sizeof(out));
	hpke_ctx_free(r);
	hpke_ctx_free(s);
	hpke_ctx_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc9180_a21),
		cmocka_unit_test(test_rfc9180_a24),
		cmocka_unit_test(test_oneshot_roundtrip),
		cmocka_unit_test(test_oneshot_tamper),
		cmocka_unit_test(test_oneshot_wrong),
		cmocka_unit_test(test_ctx_modes),
		cmocka_unit_test(test_psk_rules),
		cmocka_unit_test(test_sequence),
		cmocka_unit_test(test_sequence_limit),
		cmocka_unit_test(test_export_limits),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
