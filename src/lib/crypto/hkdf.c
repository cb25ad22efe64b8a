/*
 * hkdf.c: HKDF-SHA256 (RFC 5869) through OpenSSL 3 EVP_KDF, with the extract
 * and expand steps available separately (as RFC 9180 LabeledExtract and
 * LabeledExpand need).
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "cryptgate/log.h"
#include "cryptgate/secret.h"
#include "cryptgate/hkdf.h"

/* The KDF is fetched once; a fetched EVP_KDF is safe to share. */
static pthread_once_t hkdf_once = PTHREAD_ONCE_INIT;
static EVP_KDF *hkdf_kdf;

/* OSSL_PARAM wants non-const pointers to data it only reads. */
static char hkdf_digest[] = "SHA256";
static uint8_t hkdf_empty[1];

static void
fetch_kdf(void)
{
	hkdf_kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	ERR_clear_error();
}

static void *
unconst(const void *p)
{
	return ((void *)(uintptr_t)p);
}

/*
 * Run HKDF in ${mode} with key ${key}, optional ${salt} and ${info}, writing
 * ${outlen} bytes to ${out}.  Return 0 or -1 (logged as ${who}).
 */
static int
hkdf_run(const char *who, int mode, uint8_t *out, size_t outlen,
    const uint8_t *key, size_t keylen, const uint8_t *salt, size_t saltlen,
    const uint8_t *info, size_t infolen)
{
	OSSL_PARAM params[6], *p = params;
	EVP_KDF_CTX *kctx;

	if (pthread_once(&hkdf_once, fetch_kdf) != 0 || hkdf_kdf == NULL) {
		log_warnx("%s: HKDF not available in OpenSSL", who);
		goto err0;
	}
	if ((kctx = EVP_KDF_CTX_new(hkdf_kdf)) == NULL) {
		log_warnx("%s: EVP_KDF_CTX_new failed", who);
		goto err0;
	}

	/* An empty key still needs a non-NULL pointer. */
	*p++ = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	*p++ = OSSL_PARAM_construct_utf8_string(
	    OSSL_KDF_PARAM_DIGEST, hkdf_digest, 0);
	*p++ = OSSL_PARAM_construct_octet_string(
	    OSSL_KDF_PARAM_KEY, keylen > 0 ? unconst(key) : hkdf_empty, keylen);
	/* No salt means HashLen zero bytes (RFC 5869 section 2.2). */
	if (saltlen > 0)
		*p++ = OSSL_PARAM_construct_octet_string(
		    OSSL_KDF_PARAM_SALT, unconst(salt), saltlen);
	if (infolen > 0)
		*p++ = OSSL_PARAM_construct_octet_string(
		    OSSL_KDF_PARAM_INFO, unconst(info), infolen);
	*p = OSSL_PARAM_construct_end();

	if (EVP_KDF_derive(kctx, out, outlen, params) != 1) {
		log_warnx("%s: EVP_KDF_derive failed", who);
		goto err1;
	}
	EVP_KDF_CTX_free(kctx);

	/* Success! */
	return (0);

err1:
	EVP_KDF_CTX_free(kctx);
err0:
	ERR_clear_error();
	secret_wipe(out, outlen);

	/* Failure! */
	return (-1);
}

int
hkdf_extract(uint8_t prk[static HKDF_PRKBYTES], const uint8_t *salt,
    size_t saltlen, const uint8_t *ikm, size_t ikmlen)
{
	if ((salt == NULL && saltlen > 0) || (ikm == NULL && ikmlen > 0)) {
		log_warnx("hkdf_extract: NULL input");
		goto err0;
	}
	if (hkdf_run("hkdf_extract", EVP_KDF_HKDF_MODE_EXTRACT_ONLY, prk,
	        HKDF_PRKBYTES, ikm, ikmlen, salt, saltlen, NULL, 0))
		goto err0;

	/* Success! */
	return (0);

err0:
	secret_wipe(prk, HKDF_PRKBYTES);

	/* Failure! */
	return (-1);
}

int
hkdf_expand(uint8_t *out, size_t outlen, const uint8_t *prk, size_t prklen,
    const uint8_t *info, size_t infolen)
{
	if (out == NULL && outlen > 0) {
		log_warnx("hkdf_expand: NULL output");
		goto err1;
	}
	if (outlen > HKDF_OUTBYTES_MAX) {
		/* Do not trust ${outlen} enough to wipe that much. */
		log_warnx("hkdf_expand: output length %zu over %d", outlen,
		    HKDF_OUTBYTES_MAX);
		goto err1;
	}
	if (prk == NULL || prklen < HKDF_PRKBYTES) {
		log_warnx(
		    "hkdf_expand: PRK shorter than %d bytes", HKDF_PRKBYTES);
		goto err0;
	}
	if (infolen > HKDF_INFOBYTES_MAX || (info == NULL && infolen > 0)) {
		log_warnx("hkdf_expand: bad info length %zu", infolen);
		goto err0;
	}

	/* The empty output string: nothing to compute. */
	if (outlen == 0)
		return (0);

	if (hkdf_run("hkdf_expand", EVP_KDF_HKDF_MODE_EXPAND_ONLY, out, outlen,
	        prk, prklen, NULL, 0, info, infolen))
		goto err0;

	/* Success! */
	return (0);

err0:
	secret_wipe(out, outlen);
err1:

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
