/*
 * sign.c: Ed25519 (RFC 8032) through OpenSSL 3 EVP_PKEY, one-shot only, with
 * domain separation by a context label: the signed bytes are
 * ctx || 0x00 || message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "cryptgate/log.h"
#include "cryptgate/secret.h"
#include "cryptgate/sign.h"

/* A valid pointer for empty messages (OpenSSL dislikes NULL buffers). */
static const uint8_t sign_empty[1];

int
sign_keypair(
    uint8_t pk[static SIGN_PUBLICBYTES], uint8_t sk[static SIGN_SECRETBYTES])
{
	EVP_PKEY *pkey;
	size_t pklen = SIGN_PUBLICBYTES, sklen = SIGN_SECRETBYTES;

	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL) {
		log_warnx("sign_keypair: key generation failed");
		goto err0;
	}
	if (EVP_PKEY_get_raw_private_key(pkey, sk, &sklen) != 1 ||
	    sklen != SIGN_SECRETBYTES ||
	    EVP_PKEY_get_raw_public_key(pkey, pk, &pklen) != 1 ||
	    pklen != SIGN_PUBLICBYTES) {
		log_warnx("sign_keypair: cannot export the key pair");
		goto err1;
	}
	EVP_PKEY_free(pkey);

	/* Success! */
	return (0);

err1:
	EVP_PKEY_free(pkey);
err0:
	ERR_clear_error();
	secret_wipe(sk, SIGN_SECRETBYTES);
	secret_wipe(pk, SIGN_PUBLICBYTES);

	/* Failure! */
	return (-1);
}

int
sign_public(uint8_t pk[static SIGN_PUBLICBYTES],
    const uint8_t sk[static SIGN_SECRETBYTES])
{
	EVP_PKEY *pkey;
	size_t pklen = SIGN_PUBLICBYTES;

	if ((pkey = EVP_PKEY_new_raw_private_key(
	         EVP_PKEY_ED25519, NULL, sk, SIGN_SECRETBYTES)) == NULL) {
		log_warnx("sign_public: cannot import the private key");
		goto err0;
	}
	if (EVP_PKEY_get_raw_public_key(pkey, pk, &pklen) != 1 ||
	    pklen != SIGN_PUBLICBYTES) {
		log_warnx("sign_public: cannot export the public key");
		goto err1;
	}
	EVP_PKEY_free(pkey);

	/* Success! */
	return (0);

err1:
	EVP_PKEY_free(pkey);
err0:
	ERR_clear_error();
	secret_wipe(pk, SIGN_PUBLICBYTES);

	/* Failure! */
	return (-1);
}

int
sign_detached_pure(uint8_t sig[static SIGN_BYTES], const uint8_t *m,
    size_t mlen, const uint8_t sk[static SIGN_SECRETBYTES])
{
	EVP_PKEY *pkey;
	EVP_MD_CTX *mctx;
	size_t siglen = SIGN_BYTES;

	if (m == NULL && mlen > 0) {
		log_warnx("sign_detached_pure: NULL message");
		goto err0;
	}
	if ((pkey = EVP_PKEY_new_raw_private_key(
	         EVP_PKEY_ED25519, NULL, sk, SIGN_SECRETBYTES)) == NULL) {
		log_warnx("sign_detached_pure: cannot import the private key");
		goto err0;
	}
	if ((mctx = EVP_MD_CTX_new()) == NULL) {
		log_warnx("sign_detached_pure: EVP_MD_CTX_new failed");
		goto err1;
	}

	/* Ed25519 is one-shot: the digest must be NULL. */
	if (EVP_DigestSignInit(mctx, NULL, NULL, NULL, pkey) != 1 ||
	    EVP_DigestSign(
	        mctx, sig, &siglen, mlen > 0 ? m : sign_empty, mlen) != 1 ||
	    siglen != SIGN_BYTES) {
		log_warnx("sign_detached_pure: signing failed");
		goto err2;
	}
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_free(pkey);

	/* Success! */
	return (0);

err2:
	EVP_MD_CTX_free(mctx);
err1:
	EVP_PKEY_free(pkey);
err0:
	ERR_clear_error();
	secret_wipe(sig, SIGN_BYTES);

	/* Failure! */
	return (-1);
}

int
sign_verify_pure(const uint8_t sig[static SIGN_BYTES], const uint8_t *m,
    size_t mlen, const uint8_t pk[static SIGN_PUBLICBYTES])
{
	EVP_PKEY *pkey;
	EVP_MD_CTX *mctx;

	if (m == NULL && mlen > 0) {
		log_warnx("sign_verify_pure: NULL message");
		goto err0;
	}
	if ((pkey = EVP_PKEY_new_raw_public_key(
	         EVP_PKEY_ED25519, NULL, pk, SIGN_PUBLICBYTES)) == NULL) {
		log_warnx("sign_verify_pure: cannot import the public key");
		goto err0;
	}
	if ((mctx = EVP_MD_CTX_new()) == NULL) {
		log_warnx("sign_verify_pure: EVP_MD_CTX_new failed");
		goto err1;
	}
	if (EVP_DigestVerifyInit(mctx, NULL, NULL, NULL, pkey) != 1) {
		log_warnx("sign_verify_pure: EVP_DigestVerifyInit failed");
		goto err2;
	}

	/* A bad signature is peer input: not logged. */
	if (EVP_DigestVerify(
	        mctx, sig, SIGN_BYTES, mlen > 0 ? m : sign_empty, mlen) != 1)
		goto err2;
	EVP_MD_CTX_free(mctx);
	EVP_PKEY_free(pkey);

	/* Success! */
	return (0);

err2:
	EVP_MD_CTX_free(mctx);
err1:
	EVP_PKEY_free(pkey);
err0:
	ERR_clear_error();

	/* Failure! */
	return (-1);
}

/*
 * Check ${ctx} and return a new buffer holding ${ctx} || 0x00 || ${m}, its
 * length in ${lenp}.  Return NULL (logged as ${who}) on error.
 */
static uint8_t *
sign_buf(const char *who, const char *ctx, const uint8_t *m, size_t mlen,
    size_t *lenp)
{
	uint8_t *buf;
	size_t ctxlen;

	if (ctx == NULL ||
	    (ctxlen = strnlen(ctx, SIGN_CTXBYTES_MAX + 1)) == 0 ||
	    ctxlen > SIGN_CTXBYTES_MAX) {
		log_warnx("%s: context must be 1 to %d characters", who,
		    SIGN_CTXBYTES_MAX);
		goto err0;
	}
	if ((m == NULL && mlen > 0) || mlen > SIZE_MAX - ctxlen - 1) {
		log_warnx("%s: bad message length %zu", who, mlen);
		goto err0;
	}
	*lenp = ctxlen + 1 + mlen;
	if ((buf = malloc(*lenp)) == NULL) {
		log_warn("%s: malloc", who);
		goto err0;
	}
	memcpy(buf, ctx, ctxlen);
	buf[ctxlen] = 0x00;
	if (mlen > 0)
		memcpy(buf + ctxlen + 1, m, mlen);

	/* Success! */
	return (buf);

err0:
	/* Failure! */
	return (NULL);
}

/* Wipe (the message may be confidential) and free ${buf}. */
static void
sign_buf_free(uint8_t *buf, size_t len)
{
	secret_wipe(buf, len);
	free(buf);
}

int
sign_detached(uint8_t sig[static SIGN_BYTES], const char *ctx, const uint8_t *m,
    size_t mlen, const uint8_t sk[static SIGN_SECRETBYTES])
{
	uint8_t *buf;
	size_t len;

	if ((buf = sign_buf("sign_detached", ctx, m, mlen, &len)) == NULL)
		goto err0;
	if (sign_detached_pure(sig, buf, len, sk))
		goto err1;
	sign_buf_free(buf, len);

	/* Success! */
	return (0);

err1:
	sign_buf_free(buf, len);
err0:
	secret_wipe(sig, SIGN_BYTES);

	/* Failure! */
	return (-1);
}

int
sign_verify(const uint8_t sig[static SIGN_BYTES], const char *ctx,
    const uint8_t *m, size_t mlen, const uint8_t pk[static SIGN_PUBLICBYTES])
{
	uint8_t *buf;
	size_t len;

	if ((buf = sign_buf("sign_verify", ctx, m, mlen, &len)) == NULL)
		goto err0;
	if (sign_verify_pure(sig, buf, len, pk))
		goto err1;
	sign_buf_free(buf, len);

	/* Success! */
	return (0);

err1:
	sign_buf_free(buf, len);
err0:
	/* Failure! */
	return (-1);
}
