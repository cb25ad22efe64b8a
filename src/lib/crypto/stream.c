/*
 * stream.c: ChaCha20 keystream at a 64-bit byte offset and truncated
 * HMAC-SHA256 with per-key contexts, for the packet path (see stream.h).
 *
 * The cipher context is keyed once; each call only sets the IV (the block
 * counter), which costs no allocation.  The HMAC context is keyed once;
 * each tag re-initialises it with a NULL key, which makes OpenSSL restart
 * from its stored inner and outer digest states (no allocation, no key
 * schedule).  That was measured faster than EVP_MAC_CTX_dup() of a keyed
 * template per tag (docs/PACKET.md, "Performance").
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "cryptgate/log.h"
#include "cryptgate/secret.h"
#include "cryptgate/stream.h"

#define STREAM_IVBYTES 16
#define STREAM_CHUNK 4096 /* the most EVP_CipherUpdate gets at once */

struct stream {
	EVP_CIPHER_CTX *ctx;
	uint8_t nonce[STREAM_NONCEBYTES];
};

struct stream_prf {
	EVP_MAC_CTX *ctx;
};

/* Fetched once: safe to share between threads. */
static pthread_once_t stream_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *stream_cipher;
static EVP_MAC *stream_mac;

static const uint8_t stream_zero[STREAM_BLOCKBYTES];

static void
fetch_algs(void)
{
	stream_cipher = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
	stream_mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	ERR_clear_error();
}

static int
get_algs(const char *who)
{
	if (pthread_once(&stream_once, fetch_algs) != 0 ||
	    stream_cipher == NULL || stream_mac == NULL) {
		log_warnx("%s: ChaCha20 or HMAC not available in OpenSSL", who);
		return (-1);
	}
	return (0);
}

struct stream *
stream_new(const uint8_t key[static STREAM_KEYBYTES], const uint8_t *nonce)
{
	uint8_t iv[STREAM_IVBYTES] = { 0 };
	struct stream *s;

	if (get_algs("stream_new"))
		goto err0;
	if ((s = malloc(sizeof(*s))) == NULL)
		goto err0;
	memset(s->nonce, 0, sizeof(s->nonce));
	if (nonce != NULL)
		memcpy(s->nonce, nonce, sizeof(s->nonce));
	memcpy(iv + 8, s->nonce, sizeof(s->nonce));
	if ((s->ctx = EVP_CIPHER_CTX_new()) == NULL)
		goto err1;
	if (EVP_EncryptInit_ex2(s->ctx, stream_cipher, key, iv, NULL) != 1) {
		log_warnx("stream_new: EVP_EncryptInit_ex2 failed");
		ERR_clear_error();
		goto err2;
	}

	/* Success! */
	return (s);

err2:
	EVP_CIPHER_CTX_free(s->ctx);
err1:
	free(s);
err0:
	/* Failure! */
	return (NULL);
}

int
stream_xor(struct stream *s, uint8_t *out, const uint8_t *in, size_t len,
    uint64_t offset)
{
	uint8_t iv[STREAM_IVBYTES] = { 0 };
	uint8_t skip[STREAM_BLOCKBYTES];
	uint64_t block = offset / STREAM_BLOCKBYTES;
	size_t off = (size_t)(offset % STREAM_BLOCKBYTES), done, n;
	int outl, i;

	/* RFC 8439 section 2.3, with words 12-13 the 64-bit block counter. */
	for (i = 0; i < 8; i++)
		iv[i] = (uint8_t)(block >> (8 * i));
	memcpy(iv + 8, s->nonce, sizeof(s->nonce));
	if (EVP_EncryptInit_ex2(s->ctx, NULL, NULL, iv, NULL) != 1)
		goto err0;
	if (off > 0 &&
	    (EVP_EncryptUpdate(s->ctx, skip, &outl, stream_zero, (int)off) !=
	            1 ||
	        (size_t)outl != off))
		goto err0;
	for (done = 0; done < len; done += n) {
		n = len - done < STREAM_CHUNK ? len - done : STREAM_CHUNK;
		if (EVP_EncryptUpdate(
		        s->ctx, out + done, &outl, in + done, (int)n) != 1 ||
		    (size_t)outl != n)
			goto err0;
	}
	secret_wipe(skip, sizeof(skip));

	/* Success! */
	return (0);

err0:
	ERR_clear_error();
	secret_wipe(skip, sizeof(skip));
	if (len > 0)
		memset(out, 0, len);

	/* Failure! */
	return (-1);
}

void
stream_free(struct stream *s)
{
	if (s == NULL)
		return;
	EVP_CIPHER_CTX_free(s->ctx);
	free(s);
}

struct stream_prf *
stream_prf_new(const uint8_t *key, size_t keylen)
{
	OSSL_PARAM params[2];
	struct stream_prf *p;

	if (key == NULL || keylen == 0 || keylen > 1024) {
		log_warnx("stream_prf_new: invalid key length %zu", keylen);
		goto err0;
	}
	if (get_algs("stream_prf_new"))
		goto err0;
	if ((p = malloc(sizeof(*p))) == NULL)
		goto err0;
	if ((p->ctx = EVP_MAC_CTX_new(stream_mac)) == NULL)
		goto err1;
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_MAC_PARAM_DIGEST, (char *)(uintptr_t) "SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(p->ctx, key, keylen, params) != 1) {
		log_warnx("stream_prf_new: EVP_MAC_init failed");
		ERR_clear_error();
		goto err2;
	}

	/* Success! */
	return (p);

err2:
	EVP_MAC_CTX_free(p->ctx);
err1:
	free(p);
err0:
	/* Failure! */
	return (NULL);
}

int
stream_prf_tag(struct stream_prf *p, uint8_t *out, size_t outlen,
    const struct iovec *iov, size_t iovcnt)
{
	uint8_t full[STREAM_PRF_MAXBYTES];
	size_t i, fl = 0;

	if (outlen == 0 || outlen > STREAM_PRF_MAXBYTES)
		return (-1);
	/* A NULL key restarts from the stored keyed state. */
	if (EVP_MAC_init(p->ctx, NULL, 0, NULL) != 1)
		goto err0;
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len == 0)
			continue;
		if (EVP_MAC_update(p->ctx, iov[i].iov_base, iov[i].iov_len) !=
		    1)
			goto err0;
	}
	if (EVP_MAC_final(p->ctx, full, &fl, sizeof(full)) != 1 ||
	    fl != sizeof(full))
		goto err0;
	memcpy(out, full, outlen);
	secret_wipe(full, sizeof(full));

	/* Success! */
	return (0);

err0:
	ERR_clear_error();
	secret_wipe(full, sizeof(full));
	memset(out, 0, outlen);

	/* Failure! */
	return (-1);
}

void
stream_prf_free(struct stream_prf *p)
{
	if (p == NULL)
		return;
	EVP_MAC_CTX_free(p->ctx);
	free(p);
}
