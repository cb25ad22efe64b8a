/*
 * sign.c: Ed25519 (RFC 8032) through OpenSSL 3 EVP_PKEY, one-shot only, with
 * domain separation by a context label: the signed bytes are
 * ctx || 0x00 || message.
 *
 * Every signature is made by pkey_sign and checked by pkey_verify, whether
 * the key is imported for the call (sign_detached, sign_verify, the _pure
 * variants) or once (struct sign_key, struct sign_pub).  A key imported
 * once also keeps an initialized signing (or verifying) context that each
 * call copies (EVP_MD_CTX_copy_ex only reads it, so threads share it):
 * that saves fetching the algorithm and setting up its context per call.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "cryptgate/log.h"
#include "cryptgate/secret.h"
#include "cryptgate/sign.h"

/* Messages up to this size (with the context) are built on the stack. */
#define SIGN_STACKBYTES 1024

/* An imported private key; OpenSSL keeps the seed in its secure heap. */
struct sign_key {
	EVP_PKEY *pkey;
	EVP_MD_CTX *tmpl; /* EVP_DigestSignInit done */
	uint8_t pk[SIGN_PUBLICBYTES];
};

struct sign_pub {
	EVP_PKEY *pkey;
	EVP_MD_CTX *tmpl; /* EVP_DigestVerifyInit done */
	uint8_t pk[SIGN_PUBLICBYTES];
};

/* ctx || 0x00 || m, on the stack when it fits. */
struct sign_msg {
	uint8_t *p;
	size_t len;
	uint8_t stack[SIGN_STACKBYTES];
};

/* A valid pointer for empty messages (OpenSSL dislikes NULL buffers). */
static const uint8_t sign_empty[1];

/* Import the seed ${sk}; NULL (logged as ${who}) on error. */
static EVP_PKEY *
import_private(const char *who, const uint8_t sk[static SIGN_SECRETBYTES])
{
	EVP_PKEY *pkey;

	if ((pkey = EVP_PKEY_new_raw_private_key(
	         EVP_PKEY_ED25519, NULL, sk, SIGN_SECRETBYTES)) == NULL) {
		log_warnx("%s: cannot import the private key", who);
		ERR_clear_error();
	}
	return (pkey);
}

/* Import the public key ${pk}; NULL (logged as ${who}) on error. */
static EVP_PKEY *
import_public(const char *who, const uint8_t pk[static SIGN_PUBLICBYTES])
{
	EVP_PKEY *pkey;

	if ((pkey = EVP_PKEY_new_raw_public_key(
	         EVP_PKEY_ED25519, NULL, pk, SIGN_PUBLICBYTES)) == NULL) {
		log_warnx("%s: cannot import the public key", who);
		ERR_clear_error();
	}
	return (pkey);
}

/* Export the public key of ${pkey} to ${pk}.  Return 0 or -1 (logged). */
static int
export_public(
    const char *who, const EVP_PKEY *pkey, uint8_t pk[static SIGN_PUBLICBYTES])
{
	size_t pklen = SIGN_PUBLICBYTES;

	if (EVP_PKEY_get_raw_public_key(pkey, pk, &pklen) != 1 ||
	    pklen != SIGN_PUBLICBYTES) {
		log_warnx("%s: cannot export the public key", who);
		ERR_clear_error();
		secret_wipe(pk, SIGN_PUBLICBYTES);
		return (-1);
	}
	return (0);
}

/*
 * A context for one signature (${sign}) or verification by ${pkey}: a copy
 * of ${tmpl} if not NULL, else initialized here.  Return it or NULL.
 */
static EVP_MD_CTX *
mctx_new(EVP_PKEY *pkey, const EVP_MD_CTX *tmpl, int sign)
{
	EVP_MD_CTX *mctx;
	int ok;

	if ((mctx = EVP_MD_CTX_new()) == NULL)
		return (NULL);
	/* Ed25519 is one-shot: the digest must be NULL. */
	if (tmpl != NULL)
		ok = EVP_MD_CTX_copy_ex(mctx, tmpl);
	else if (sign)
		ok = EVP_DigestSignInit(mctx, NULL, NULL, NULL, pkey);
	else
		ok = EVP_DigestVerifyInit(mctx, NULL, NULL, NULL, pkey);
	if (ok != 1) {
		EVP_MD_CTX_free(mctx);
		return (NULL);
	}
	return (mctx);
}

/*
 * Plain Ed25519 signature of the ${mlen} bytes at ${m} by ${pkey} (with
 * its signing context ${tmpl}, or NULL).  Return 0, or -1 (logged as
 * ${who}) with ${sig} zeroed.
 */
static int
pkey_sign(const char *who, uint8_t sig[static SIGN_BYTES], EVP_PKEY *pkey,
    const EVP_MD_CTX *tmpl, const uint8_t *m, size_t mlen)
{
	EVP_MD_CTX *mctx;
	size_t siglen = SIGN_BYTES;

	if ((mctx = mctx_new(pkey, tmpl, 1)) == NULL) {
		log_warnx("%s: cannot set up signing", who);
		goto err0;
	}
	if (EVP_DigestSign(
	        mctx, sig, &siglen, mlen > 0 ? m : sign_empty, mlen) != 1 ||
	    siglen != SIGN_BYTES) {
		log_warnx("%s: signing failed", who);
		goto err1;
	}
	EVP_MD_CTX_free(mctx);

	/* Success! */
	return (0);

err1:
	EVP_MD_CTX_free(mctx);
err0:
	ERR_clear_error();
	secret_wipe(sig, SIGN_BYTES);

	/* Failure! */
	return (-1);
}

/*
 * 0 if ${sig} is a plain Ed25519 signature of the ${mlen} bytes at ${m} by
 * ${pkey} (with its verifying context ${tmpl}, or NULL); -1 otherwise (a
 * bad signature is peer input: not logged).
 */
static int
pkey_verify(const char *who, const uint8_t sig[static SIGN_BYTES],
    EVP_PKEY *pkey, const EVP_MD_CTX *tmpl, const uint8_t *m, size_t mlen)
{
	EVP_MD_CTX *mctx;

	if ((mctx = mctx_new(pkey, tmpl, 0)) == NULL) {
		log_warnx("%s: cannot set up verification", who);
		goto err0;
	}
	if (EVP_DigestVerify(
	        mctx, sig, SIGN_BYTES, mlen > 0 ? m : sign_empty, mlen) != 1)
		goto err1;
	EVP_MD_CTX_free(mctx);

	/* Success! */
	return (0);

err1:
	EVP_MD_CTX_free(mctx);
err0:
	ERR_clear_error();

	/* Failure! */
	return (-1);
}

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

	if ((pkey = import_private("sign_public", sk)) == NULL)
		goto err0;
	if (export_public("sign_public", pkey, pk))
		goto err1;
	EVP_PKEY_free(pkey);

	/* Success! */
	return (0);

err1:
	EVP_PKEY_free(pkey);
err0:
	secret_wipe(pk, SIGN_PUBLICBYTES);

	/* Failure! */
	return (-1);
}

int
sign_detached_pure(uint8_t sig[static SIGN_BYTES], const uint8_t *m,
    size_t mlen, const uint8_t sk[static SIGN_SECRETBYTES])
{
	EVP_PKEY *pkey;

	if (m == NULL && mlen > 0) {
		log_warnx("sign_detached_pure: NULL message");
		goto err0;
	}
	if ((pkey = import_private("sign_detached_pure", sk)) == NULL)
		goto err0;
	if (pkey_sign("sign_detached_pure", sig, pkey, NULL, m, mlen))
		goto err1;
	EVP_PKEY_free(pkey);

	/* Success! */
	return (0);

err1:
	EVP_PKEY_free(pkey);
err0:
	secret_wipe(sig, SIGN_BYTES);

	/* Failure! */
	return (-1);
}

int
sign_verify_pure(const uint8_t sig[static SIGN_BYTES], const uint8_t *m,
    size_t mlen, const uint8_t pk[static SIGN_PUBLICBYTES])
{
	EVP_PKEY *pkey;

	if (m == NULL && mlen > 0) {
		log_warnx("sign_verify_pure: NULL message");
		goto err0;
	}
	if ((pkey = import_public("sign_verify_pure", pk)) == NULL)
		goto err0;
	if (pkey_verify("sign_verify_pure", sig, pkey, NULL, m, mlen))
		goto err1;
	EVP_PKEY_free(pkey);

	/* Success! */
	return (0);

err1:
	EVP_PKEY_free(pkey);
err0:
	/* Failure! */
	return (-1);
}

/*
 * Check ${ctx} and build ${ctx} || 0x00 || ${m} in ${sm} (release it with
 * sign_msg_free).  Return 0 or -1 (logged as ${who}).
 */
static int
sign_msg_init(const char *who, struct sign_msg *sm, const char *ctx,
    const uint8_t *m, size_t mlen)
{
	size_t ctxlen;

	sm->p = NULL;
	sm->len = 0;
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
	sm->len = ctxlen + 1 + mlen;
	if (sm->len <= sizeof(sm->stack))
		sm->p = sm->stack;
	else if ((sm->p = malloc(sm->len)) == NULL) {
		log_warn("%s: malloc", who);
		sm->len = 0;
		goto err0;
	}
	memcpy(sm->p, ctx, ctxlen);
	sm->p[ctxlen] = 0x00;
	if (mlen > 0)
		memcpy(sm->p + ctxlen + 1, m, mlen);

	/* Success! */
	return (0);

err0:
	/* Failure! */
	return (-1);
}

/* Wipe (the message may be confidential) and release ${sm}. */
static void
sign_msg_free(struct sign_msg *sm)
{
	if (sm->p == NULL)
		return;
	secret_wipe(sm->p, sm->len);
	if (sm->p != sm->stack)
		free(sm->p);
	sm->p = NULL;
}

int
sign_detached(uint8_t sig[static SIGN_BYTES], const char *ctx, const uint8_t *m,
    size_t mlen, const uint8_t sk[static SIGN_SECRETBYTES])
{
	struct sign_msg sm;
	EVP_PKEY *pkey;

	if (sign_msg_init("sign_detached", &sm, ctx, m, mlen))
		goto err0;
	if ((pkey = import_private("sign_detached", sk)) == NULL)
		goto err1;
	if (pkey_sign("sign_detached", sig, pkey, NULL, sm.p, sm.len))
		goto err2;
	EVP_PKEY_free(pkey);
	sign_msg_free(&sm);

	/* Success! */
	return (0);

err2:
	EVP_PKEY_free(pkey);
err1:
	sign_msg_free(&sm);
err0:
	secret_wipe(sig, SIGN_BYTES);

	/* Failure! */
	return (-1);
}

int
sign_verify(const uint8_t sig[static SIGN_BYTES], const char *ctx,
    const uint8_t *m, size_t mlen, const uint8_t pk[static SIGN_PUBLICBYTES])
{
	struct sign_msg sm;
	EVP_PKEY *pkey;

	if (sign_msg_init("sign_verify", &sm, ctx, m, mlen))
		goto err0;
	if ((pkey = import_public("sign_verify", pk)) == NULL)
		goto err1;
	if (pkey_verify("sign_verify", sig, pkey, NULL, sm.p, sm.len))
		goto err2;
	EVP_PKEY_free(pkey);
	sign_msg_free(&sm);

	/* Success! */
	return (0);

err2:
	EVP_PKEY_free(pkey);
err1:
	sign_msg_free(&sm);
err0:
	/* Failure! */
	return (-1);
}

struct sign_key *
sign_key_new(const uint8_t sk[static SIGN_SECRETBYTES])
{
	struct sign_key *key;

	if ((key = calloc(1, sizeof(*key))) == NULL) {
		log_warn("sign_key_new: calloc");
		goto err0;
	}
	if ((key->pkey = import_private("sign_key_new", sk)) == NULL)
		goto err1;
	if (export_public("sign_key_new", key->pkey, key->pk))
		goto err1;
	if ((key->tmpl = mctx_new(key->pkey, NULL, 1)) == NULL) {
		log_warnx("sign_key_new: cannot set up signing");
		goto err1;
	}

	/* Success! */
	return (key);

err1:
	sign_key_free(key);
err0:
	/* Failure! */
	return (NULL);
}

void
sign_key_public(const struct sign_key *key, uint8_t pk[static SIGN_PUBLICBYTES])
{
	memcpy(pk, key->pk, SIGN_PUBLICBYTES);
}

int
sign_key_detached(uint8_t sig[static SIGN_BYTES], const char *ctx,
    const uint8_t *m, size_t mlen, const struct sign_key *key)
{
	struct sign_msg sm;

	if (key == NULL) {
		log_warnx("sign_key_detached: no key");
		goto err0;
	}
	if (sign_msg_init("sign_key_detached", &sm, ctx, m, mlen))
		goto err0;
	if (pkey_sign(
	        "sign_key_detached", sig, key->pkey, key->tmpl, sm.p, sm.len))
		goto err1;
	sign_msg_free(&sm);

	/* Success! */
	return (0);

err1:
	sign_msg_free(&sm);
err0:
	secret_wipe(sig, SIGN_BYTES);

	/* Failure! */
	return (-1);
}

void
sign_key_free(struct sign_key *key)
{
	if (key == NULL)
		return;
	EVP_MD_CTX_free(key->tmpl);
	EVP_PKEY_free(key->pkey);
	free(key);
}

struct sign_pub *
sign_pub_new(const uint8_t pk[static SIGN_PUBLICBYTES])
{
	struct sign_pub *pub;

	if ((pub = calloc(1, sizeof(*pub))) == NULL) {
		log_warn("sign_pub_new: calloc");
		goto err0;
	}
	if ((pub->pkey = import_public("sign_pub_new", pk)) == NULL)
		goto err1;
	if ((pub->tmpl = mctx_new(pub->pkey, NULL, 0)) == NULL) {
		log_warnx("sign_pub_new: cannot set up verification");
		goto err1;
	}
	memcpy(pub->pk, pk, SIGN_PUBLICBYTES);

	/* Success! */
	return (pub);

err1:
	sign_pub_free(pub);
err0:
	/* Failure! */
	return (NULL);
}

const uint8_t *
sign_pub_key(const struct sign_pub *pub)
{
	return (pub->pk);
}

int
sign_pub_verify(const uint8_t sig[static SIGN_BYTES], const char *ctx,
    const uint8_t *m, size_t mlen, const struct sign_pub *pub)
{
	struct sign_msg sm;

	if (pub == NULL) {
		log_warnx("sign_pub_verify: no key");
		goto err0;
	}
	if (sign_msg_init("sign_pub_verify", &sm, ctx, m, mlen))
		goto err0;
	if (pkey_verify(
	        "sign_pub_verify", sig, pub->pkey, pub->tmpl, sm.p, sm.len))
		goto err1;
	sign_msg_free(&sm);

	/* Success! */
	return (0);

err1:
	sign_msg_free(&sm);
err0:
	/* Failure! */
	return (-1);
}

void
sign_pub_free(struct sign_pub *pub)
{
	if (pub == NULL)
		return;
	EVP_MD_CTX_free(pub->tmpl);
	EVP_PKEY_free(pub->pkey);
	free(pub);
}
