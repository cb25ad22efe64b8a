/*
 * digest.c: SHA-256 through OpenSSL 3 EVP, with the digest fetched once
 * (EVP_sha256() would fetch it again on every use).
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "cryptgate/log.h"
#include "cryptgate/digest.h"

struct digest_ctx {
	EVP_MD_CTX *md;
	int finalized;
};

/* A valid pointer for empty inputs. */
static const uint8_t digest_empty[1];

/* A fetched EVP_MD is safe to share between threads. */
static pthread_once_t digest_once = PTHREAD_ONCE_INIT;
static EVP_MD *digest_md;

static void
fetch_md(void)
{
	digest_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	ERR_clear_error();
}

/* The SHA-256 implementation, or NULL (logged as ${who}). */
static const EVP_MD *
get_md(const char *who)
{
	if (pthread_once(&digest_once, fetch_md) != 0 || digest_md == NULL) {
		log_warnx("%s: SHA-256 not available in OpenSSL", who);
		return (NULL);
	}
	return (digest_md);
}

int
digest_sha256(
    uint8_t out[static DIGEST_SHA256BYTES], const void *m, size_t mlen)
{
	const EVP_MD *md;
	unsigned int outlen = 0;

	if ((md = get_md("digest_sha256")) == NULL)
		goto err0;
	if (m == NULL && mlen == 0)
		m = digest_empty;
	if (m == NULL) {
		log_warnx("digest_sha256: NULL input");
		goto err0;
	}
	if (EVP_Digest(m, mlen, out, &outlen, md, NULL) != 1 ||
	    outlen != DIGEST_SHA256BYTES) {
		log_warnx("digest_sha256: EVP_Digest failed");
		ERR_clear_error();
		goto err0;
	}

	/* Success! */
	return (0);

err0:
	memset(out, 0, DIGEST_SHA256BYTES);

	/* Failure! */
	return (-1);
}

struct digest_ctx *
digest_new(void)
{
	struct digest_ctx *d;
	const EVP_MD *md;

	if ((md = get_md("digest_new")) == NULL)
		goto err0;
	if ((d = malloc(sizeof(*d))) == NULL) {
		log_warn("digest_new");
		goto err0;
	}
	d->finalized = 0;
	if ((d->md = EVP_MD_CTX_new()) == NULL) {
		log_warnx("digest_new: EVP_MD_CTX_new failed");
		goto err1;
	}
	if (EVP_DigestInit_ex2(d->md, md, NULL) != 1) {
		log_warnx("digest_new: EVP_DigestInit_ex2 failed");
		goto err2;
	}

	/* Success! */
	return (d);

err2:
	EVP_MD_CTX_free(d->md);
err1:
	free(d);
	ERR_clear_error();
err0:
	/* Failure! */
	return (NULL);
}

int
digest_update(struct digest_ctx *d, const void *m, size_t mlen)
{
	if (mlen == 0)
		return (0);
	if (d->finalized || m == NULL) {
		log_warnx("digest_update: bad call");
		goto err0;
	}
	if (EVP_DigestUpdate(d->md, m, mlen) != 1) {
		log_warnx("digest_update: EVP_DigestUpdate failed");
		ERR_clear_error();
		goto err0;
	}

	/* Success! */
	return (0);

err0:
	/* Failure! */
	return (-1);
}

int
digest_final(struct digest_ctx *d, uint8_t out[static DIGEST_SHA256BYTES])
{
	unsigned int outlen = 0;

	if (d->finalized) {
		log_warnx("digest_final: already finalized");
		goto err0;
	}
	d->finalized = 1;
	if (EVP_DigestFinal_ex(d->md, out, &outlen) != 1 ||
	    outlen != DIGEST_SHA256BYTES) {
		log_warnx("digest_final: EVP_DigestFinal_ex failed");
		ERR_clear_error();
		goto err0;
	}

	/* Success! */
	return (0);

err0:
	memset(out, 0, DIGEST_SHA256BYTES);

	/* Failure! */
	return (-1);
}

void
digest_free(struct digest_ctx *d)
{
	if (d == NULL)
		return;
	EVP_MD_CTX_free(d->md);
	free(d);
}
