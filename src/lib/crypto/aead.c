/*
 * aead.c: ChaCha20-Poly1305 (RFC 8439) and AES-GCM (NIST SP 800-38D) through
 * OpenSSL 3 EVP, with 96-bit nonces and 128-bit tags, ciphertext = ct || tag.
 */
#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "cryptgate/log.h"
#include "cryptgate/secret.h"
#include "cryptgate/aead.h"

/* Ciphers are fetched once; a fetched EVP_CIPHER is safe to share. */
static pthread_once_t aead_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *aead_chacha;
static EVP_CIPHER *aead_aes256gcm;
static EVP_CIPHER *aead_aes128gcm;

static void
fetch_ciphers(void)
{
	/* A NULL result is reported by get_cipher when it is needed. */
	aead_chacha = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	aead_aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	aead_aes128gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	ERR_clear_error();
}

static const EVP_CIPHER *
get_cipher(enum aead_alg alg)
{
	const EVP_CIPHER *c;

	if (pthread_once(&aead_once, fetch_ciphers) != 0) {
		log_warnx("aead: pthread_once failed");
		return (NULL);
	}
	switch (alg) {
	case AEAD_CHACHA20_POLY1305:
		c = aead_chacha;
		break;
	case AEAD_AES256_GCM:
		c = aead_aes256gcm;
		break;
	case AEAD_AES128_GCM:
		c = aead_aes128gcm;
		break;
	default:
		log_warnx("aead: unknown algorithm %d", (int)alg);
		return (NULL);
	}
	if (c == NULL)
		log_warnx(
		    "aead: algorithm %d not available in OpenSSL", (int)alg);
	return (c);
}

size_t
aead_keybytes(enum aead_alg alg)
{
	switch (alg) {
	case AEAD_CHACHA20_POLY1305:
	case AEAD_AES256_GCM:
		return (32);
	case AEAD_AES128_GCM:
		return (16);
	default:
		return (0);
	}
}

/*
 * Set up ${ctx} for ${alg} with ${key}, ${nonce}, direction ${enc}, and feed
 * the associated data.  Return 0 or -1 (logged).
 */
static int
aead_init(EVP_CIPHER_CTX *ctx, enum aead_alg alg, const uint8_t *key,
    const uint8_t *nonce, const uint8_t *ad, size_t adlen, int enc)
{
	const EVP_CIPHER *cipher;
	int outl;

	if ((cipher = get_cipher(alg)) == NULL)
		goto err0;
	if (key == NULL) {
		log_warnx("aead: NULL key");
		goto err0;
	}
	if ((ad == NULL && adlen > 0) || adlen > INT_MAX) {
		log_warnx("aead: bad associated data length %zu", adlen);
		goto err0;
	}

	/* 12 bytes is the default IV length of all three ciphers. */
	if (EVP_CipherInit_ex2(ctx, cipher, key, nonce, enc, NULL) != 1) {
		log_warnx("aead: EVP_CipherInit_ex2 failed");
		goto err0;
	}
	if ((size_t)EVP_CIPHER_CTX_get_iv_length(ctx) != AEAD_NONCEBYTES ||
	    (size_t)EVP_CIPHER_CTX_get_key_length(ctx) != aead_keybytes(alg)) {
		log_warnx("aead: unexpected key or nonce length");
		goto err0;
	}
	if (adlen > 0 &&
	    EVP_CipherUpdate(ctx, NULL, &outl, ad, (int)adlen) != 1) {
		log_warnx("aead: EVP_CipherUpdate (associated data) failed");
		goto err0;
	}

	/* Success! */
	return (0);

err0:
	ERR_clear_error();

	/* Failure! */
	return (-1);
}

int
aead_seal(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t *ad,
    size_t adlen, const uint8_t nonce[static AEAD_NONCEBYTES],
    const uint8_t *key, enum aead_alg alg)
{
	EVP_CIPHER_CTX *ctx;
	int outl, finl;

	if (c == NULL || (m == NULL && mlen > 0) ||
	    mlen > (size_t)INT_MAX - AEAD_TAGBYTES) {
		log_warnx("aead_seal: bad message length %zu", mlen);
		goto err0;
	}
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL) {
		log_warnx("aead_seal: EVP_CIPHER_CTX_new failed");
		goto err0;
	}
	if (aead_init(ctx, alg, key, nonce, ad, adlen, 1))
		goto err1;

	outl = 0;
	if (mlen > 0 && EVP_CipherUpdate(ctx, c, &outl, m, (int)mlen) != 1) {
		log_warnx("aead_seal: EVP_CipherUpdate failed");
		goto err1;
	}
	if (EVP_CipherFinal_ex(ctx, c + outl, &finl) != 1 ||
	    (size_t)outl + (size_t)finl != mlen) {
		log_warnx("aead_seal: EVP_CipherFinal_ex failed");
		goto err1;
	}
	if (EVP_CIPHER_CTX_ctrl(
	        ctx, EVP_CTRL_AEAD_GET_TAG, AEAD_TAGBYTES, c + mlen) != 1) {
		log_warnx("aead_seal: cannot get the tag");
		goto err1;
	}
	EVP_CIPHER_CTX_free(ctx);

	/* Success! */
	return (0);

err1:
	EVP_CIPHER_CTX_free(ctx);
err0:
	ERR_clear_error();
	if (c != NULL && mlen <= (size_t)INT_MAX - AEAD_TAGBYTES)
		secret_wipe(c, mlen + AEAD_TAGBYTES);

	/* Failure! */
	return (-1);
}

int
aead_open(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t *ad,
    size_t adlen, const uint8_t nonce[static AEAD_NONCEBYTES],
    const uint8_t *key, enum aead_alg alg)
{
	EVP_CIPHER_CTX *ctx;
	uint8_t tag[AEAD_TAGBYTES], fin[AEAD_TAGBYTES];
	uint8_t *out;
	size_t mlen = 0;
	int outl, finl;

	/* A short ciphertext is peer input: fail quietly. */
	if (clen < AEAD_TAGBYTES)
		goto err0;
	mlen = clen - AEAD_TAGBYTES;
	if (c == NULL || (m == NULL && mlen > 0) || mlen > INT_MAX) {
		log_warnx("aead_open: bad ciphertext length %zu", clen);
		goto err0;
	}

	/* Copy the tag first: with m == c it stays intact, but be explicit. */
	memcpy(tag, c + mlen, AEAD_TAGBYTES);

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL) {
		log_warnx("aead_open: EVP_CIPHER_CTX_new failed");
		goto err0;
	}
	if (aead_init(ctx, alg, key, nonce, ad, adlen, 0))
		goto err1;
	outl = 0;
	if (mlen > 0 && EVP_CipherUpdate(ctx, m, &outl, c, (int)mlen) != 1) {
		log_warnx("aead_open: EVP_CipherUpdate failed");
		goto err1;
	}
	if (EVP_CIPHER_CTX_ctrl(
	        ctx, EVP_CTRL_AEAD_SET_TAG, AEAD_TAGBYTES, tag) != 1) {
		log_warnx("aead_open: cannot set the tag");
		goto err1;
	}

	/*
	 * A failure here is an authentication failure: not logged.  Nothing
	 * is output by the final call of these ciphers; ${fin} avoids NULL
	 * pointer arithmetic when ${m} is NULL (empty message).
	 */
	out = (m != NULL) ? m + outl : fin;
	if (EVP_CipherFinal_ex(ctx, out, &finl) != 1 ||
	    (size_t)outl + (size_t)finl != mlen)
		goto err1;
	EVP_CIPHER_CTX_free(ctx);

	/* Success! */
	return (0);

err1:
	EVP_CIPHER_CTX_free(ctx);
err0:
	ERR_clear_error();
	if (m != NULL && mlen <= INT_MAX)
		secret_wipe(m, mlen);

	/* Failure! */
	return (-1);
}
