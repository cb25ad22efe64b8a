/*
 * hkdf.c: HKDF-SHA256 (RFC 5869) on OpenSSL 3's HMAC-SHA256 (EVP_MAC), with
 * the extract and expand steps available separately (as RFC 9180
 * LabeledExtract and LabeledExpand need).
 *
 * HKDF is two lines of HMAC; running them here rather than through
 * EVP_KDF("HKDF") saves a context and a digest fetch per call (EVP_KDF
 * contexts cannot be duplicated in OpenSSL 3.0, and HPKE makes eight HKDF
 * calls per seal or open).  RFC 5869 appendix A checks the result.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "cryptgate/log.h"
#include "cryptgate/secret.h"
#include "cryptgate/hkdf.h"

/*
 * An unkeyed HMAC-SHA256 context, made once and duplicated for each call
 * (EVP_MAC_CTX_dup only reads it, so threads share it safely): no fetch
 * of HMAC or SHA-256 per call.
 */
static pthread_once_t hkdf_once = PTHREAD_ONCE_INIT;
static EVP_MAC_CTX *hkdf_hmac;

/* OSSL_PARAM wants non-const pointers to data it only reads. */
static char hkdf_digest[] = "SHA256";

/* RFC 5869 section 2.2: no salt means HashLen zero bytes. */
static const uint8_t hkdf_zero_salt[HKDF_PRKBYTES];

static void
hkdf_init(void)
{
	OSSL_PARAM params[2];
	EVP_MAC *mac;

	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_MAC_PARAM_DIGEST, hkdf_digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) != NULL &&
	    (hkdf_hmac = EVP_MAC_CTX_new(mac)) != NULL &&
	    EVP_MAC_CTX_set_params(hkdf_hmac, params) != 1) {
		EVP_MAC_CTX_free(hkdf_hmac);
		hkdf_hmac = NULL;
	}
	EVP_MAC_free(mac); /* the context keeps its own reference */
	ERR_clear_error();
}

/* A new unkeyed HMAC-SHA256 context, or NULL (logged as ${who}). */
static EVP_MAC_CTX *
hmac_new(const char *who)
{
	EVP_MAC_CTX *c;

	if (pthread_once(&hkdf_once, hkdf_init) != 0 || hkdf_hmac == NULL) {
		log_warnx("%s: HMAC-SHA256 not available in OpenSSL", who);
		return (NULL);
	}
	if ((c = EVP_MAC_CTX_dup(hkdf_hmac)) == NULL) {
		log_warnx("%s: EVP_MAC_CTX_dup failed", who);
		ERR_clear_error();
	}
	return (c);
}

/*
 * ${out} = HMAC-SHA256(${key}, ${a} || ${b} || ${c}) with the context
 * ${mc} (keyed here; ${key} is never NULL, ${keylen} may be 0).  Return 0
 * or -1 (logged as ${who}).
 */
static int
hmac3(const char *who, EVP_MAC_CTX *mc, uint8_t out[static HKDF_PRKBYTES],
    const uint8_t *key, size_t keylen, const uint8_t *a, size_t alen,
    const uint8_t *b, size_t blen, const uint8_t *c, size_t clen)
{
	size_t outlen = 0;

	if (EVP_MAC_init(mc, key, keylen, NULL) != 1 ||
	    (alen > 0 && EVP_MAC_update(mc, a, alen) != 1) ||
	    (blen > 0 && EVP_MAC_update(mc, b, blen) != 1) ||
	    (clen > 0 && EVP_MAC_update(mc, c, clen) != 1) ||
	    EVP_MAC_final(mc, out, &outlen, HKDF_PRKBYTES) != 1 ||
	    outlen != HKDF_PRKBYTES) {
		log_warnx("%s: HMAC-SHA256 failed", who);
		ERR_clear_error();
		secret_wipe(out, HKDF_PRKBYTES);
		return (-1);
	}
	return (0);
}

int
hkdf_extract(uint8_t prk[static HKDF_PRKBYTES], const uint8_t *salt,
    size_t saltlen, const uint8_t *ikm, size_t ikmlen)
{
	EVP_MAC_CTX *mc;

	if ((salt == NULL && saltlen > 0) || (ikm == NULL && ikmlen > 0)) {
		log_warnx("hkdf_extract: NULL input");
		goto err0;
	}
	if ((mc = hmac_new("hkdf_extract")) == NULL)
		goto err0;
	/* PRK = HMAC-Hash(salt, IKM) */
	if (hmac3("hkdf_extract", mc, prk, saltlen > 0 ? salt : hkdf_zero_salt,
	        saltlen > 0 ? saltlen : sizeof(hkdf_zero_salt), ikm, ikmlen,
	        NULL, 0, NULL, 0))
		goto err1;
	EVP_MAC_CTX_free(mc);

	/* Success! */
	return (0);

err1:
	EVP_MAC_CTX_free(mc);
err0:
	secret_wipe(prk, HKDF_PRKBYTES);

	/* Failure! */
	return (-1);
}

int
hkdf_expand(uint8_t *out, size_t outlen, const uint8_t *prk, size_t prklen,
    const uint8_t *info, size_t infolen)
{
	EVP_MAC_CTX *mc;
	uint8_t t[HKDF_PRKBYTES], i;
	size_t off, n;

	if (out == NULL && outlen > 0) {
		log_warnx("hkdf_expand: NULL output");
		goto err0;
	}
	if (outlen > HKDF_OUTBYTES_MAX) {
		/* Do not trust ${outlen} enough to wipe that much. */
		log_warnx("hkdf_expand: output length %zu over %d", outlen,
		    HKDF_OUTBYTES_MAX);
		goto err0;
	}
	if (prk == NULL || prklen < HKDF_PRKBYTES) {
		log_warnx(
		    "hkdf_expand: PRK shorter than %d bytes", HKDF_PRKBYTES);
		goto err1;
	}
	if (infolen > HKDF_INFOBYTES_MAX || (info == NULL && infolen > 0)) {
		log_warnx("hkdf_expand: bad info length %zu", infolen);
		goto err1;
	}

	/* The empty output string: nothing to compute. */
	if (outlen == 0)
		return (0);

	/*
	 * T(0) = empty, T(i) = HMAC-Hash(PRK, T(i-1) || info || i), OKM =
	 * the first ${outlen} bytes of T(1) || T(2) || ...
	 */
	if ((mc = hmac_new("hkdf_expand")) == NULL)
		goto err1;
	for (i = 1, off = 0; off < outlen; i++) {
		if (hmac3("hkdf_expand", mc, t, prk, prklen, t,
		        i == 1 ? 0 : sizeof(t), info, infolen, &i, 1))
			goto err2;
		n = outlen - off < sizeof(t) ? outlen - off : sizeof(t);
		memcpy(out + off, t, n);
		off += n;
	}
	secret_wipe(t, sizeof(t));
	EVP_MAC_CTX_free(mc);

	/* Success! */
	return (0);

err2:
	secret_wipe(t, sizeof(t));
	EVP_MAC_CTX_free(mc);
err1:
	secret_wipe(out, outlen);
err0:

	/* Failure! */
	return (-1);
}

int
hkdf(uint8_t *out, size_t outlen, const uint8_t *salt, size_t saltlen,
    const uint8_t *ikm, size_t ikmlen, const uint8_t *info, size_t infolen)
{
	uint8_t prk[HKDF_PRKBYTES];

	if (hkdf_extract(prk, salt, saltlen, ikm, ikmlen))
		goto err0;
	if (hkdf_expand(out, outlen, prk, sizeof(prk), info, infolen))
		goto err1;
	secret_wipe(prk, sizeof(prk));

	/* Success! */
	return (0);

err1:
	secret_wipe(prk, sizeof(prk));
err0:
	if (out != NULL && outlen <= HKDF_OUTBYTES_MAX)
		secret_wipe(out, outlen);

	/* Failure! */
	return (-1);
}
