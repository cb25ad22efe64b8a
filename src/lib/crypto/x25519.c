/*
 * x25519.c: X25519 (RFC 7748) on raw keys through OpenSSL 3 EVP_PKEY; every
 * exchange is made by x25519_key_derive.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "cryptgate/log.h"
#include "cryptgate/secret.h"
#include "cryptgate/x25519.h"

int
x25519_keypair(uint8_t pk[static X25519_PUBLICBYTES],
    uint8_t sk[static X25519_SECRETBYTES])
{
	EVP_PKEY *pkey;
	size_t pklen = X25519_PUBLICBYTES, sklen = X25519_SECRETBYTES;

	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "X25519")) == NULL) {
		log_warnx("x25519_keypair: key generation failed");
		goto err0;
	}
	if (EVP_PKEY_get_raw_private_key(pkey, sk, &sklen) != 1 ||
	    sklen != X25519_SECRETBYTES ||
	    EVP_PKEY_get_raw_public_key(pkey, pk, &pklen) != 1 ||
	    pklen != X25519_PUBLICBYTES) {
		log_warnx("x25519_keypair: cannot export the key pair");
		goto err1;
	}
	EVP_PKEY_free(pkey);

	/* Success! */
	return (0);

err1:
	EVP_PKEY_free(pkey);
err0:
	ERR_clear_error();
	secret_wipe(sk, X25519_SECRETBYTES);
	secret_wipe(pk, X25519_PUBLICBYTES);

	/* Failure! */
	return (-1);
}

/* An imported private key and its public key. */
struct x25519_key {
	EVP_PKEY *pkey;
	uint8_t pk[X25519_PUBLICBYTES];
};

/*
 * Wrap ${pkey} (owned by the result, freed on error) with its public key.
 * Return the key or NULL (logged as ${who}).
 */
static struct x25519_key *
key_wrap(const char *who, EVP_PKEY *pkey)
{
	struct x25519_key *key;
	size_t pklen = X25519_PUBLICBYTES;

	if ((key = calloc(1, sizeof(*key))) == NULL) {
		log_warn("%s: calloc", who);
		goto err0;
	}
	key->pkey = pkey;
	if (EVP_PKEY_get_raw_public_key(pkey, key->pk, &pklen) != 1 ||
	    pklen != X25519_PUBLICBYTES) {
		log_warnx("%s: cannot export the public key", who);
		goto err1;
	}

	/* Success! */
	return (key);

err1:
	x25519_key_free(key); /* and ${pkey} */
	pkey = NULL;
err0:
	EVP_PKEY_free(pkey);
	ERR_clear_error();

	/* Failure! */
	return (NULL);
}

struct x25519_key *
x25519_key_new(const uint8_t sk[static X25519_SECRETBYTES])
{
	EVP_PKEY *pkey;

	if ((pkey = EVP_PKEY_new_raw_private_key(
	         EVP_PKEY_X25519, NULL, sk, X25519_SECRETBYTES)) == NULL) {
		log_warnx("x25519_key_new: cannot import the private key");
		ERR_clear_error();
		return (NULL);
	}
	return (key_wrap("x25519_key_new", pkey));
}

struct x25519_key *
x25519_key_generate(void)
{
	EVP_PKEY *pkey;

	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "X25519")) == NULL) {
		log_warnx("x25519_key_generate: key generation failed");
		ERR_clear_error();
		return (NULL);
	}
	return (key_wrap("x25519_key_generate", pkey));
}

void
x25519_key_public(
    const struct x25519_key *key, uint8_t pk[static X25519_PUBLICBYTES])
{
	memcpy(pk, key->pk, X25519_PUBLICBYTES);
}

int
x25519_key_derive(uint8_t shared[static X25519_SHAREDBYTES],
    const struct x25519_key *key, const uint8_t pk[static X25519_PUBLICBYTES])
{
	EVP_PKEY *peer;
	EVP_PKEY_CTX *pctx;
	uint8_t out[X25519_SHAREDBYTES];
	uint8_t acc = 0;
	size_t outlen = sizeof(out), i;

	if (key == NULL) {
		log_warnx("x25519_key_derive: no key");
		goto err0;
	}
	if ((peer = EVP_PKEY_new_raw_public_key(
	         EVP_PKEY_X25519, NULL, pk, X25519_PUBLICBYTES)) == NULL) {
		log_warnx("x25519: cannot import the public key");
		goto err0;
	}
	if ((pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL)) ==
	    NULL) {
		log_warnx("x25519: EVP_PKEY_CTX_new_from_pkey failed");
		goto err1;
	}
	if (EVP_PKEY_derive_init(pctx) != 1 ||
	    EVP_PKEY_derive_set_peer(pctx, peer) != 1) {
		log_warnx("x25519: cannot set up the key exchange");
		goto err2;
	}

	/*
	 * OpenSSL already refuses an all-zero result (low-order ${pk}); that
	 * failure is peer input and is not logged.  Check it again ourselves
	 * in constant time (RFC 7748 section 6.1, RFC 9180 section 7.1.4).
	 */
	if (EVP_PKEY_derive(pctx, out, &outlen) != 1 ||
	    outlen != X25519_SHAREDBYTES)
		goto err2;
	for (i = 0; i < sizeof(out); i++)
		acc |= out[i];
	if (acc == 0)
		goto err2;

	memcpy(shared, out, sizeof(out));
	secret_wipe(out, sizeof(out));
	EVP_PKEY_CTX_free(pctx);
	EVP_PKEY_free(peer);

	/* Success! */
	return (0);

err2:
	EVP_PKEY_CTX_free(pctx);
err1:
	EVP_PKEY_free(peer);
err0:
	ERR_clear_error();
	secret_wipe(out, sizeof(out));
	secret_wipe(shared, X25519_SHAREDBYTES);

	/* Failure! */
	return (-1);
}

void
x25519_key_free(struct x25519_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

int
x25519_public(uint8_t pk[static X25519_PUBLICBYTES],
    const uint8_t sk[static X25519_SECRETBYTES])
{
	struct x25519_key *key;

	if ((key = x25519_key_new(sk)) == NULL) {
		secret_wipe(pk, X25519_PUBLICBYTES);
		return (-1);
	}
	x25519_key_public(key, pk);
	x25519_key_free(key);
	return (0);
}

int
x25519(uint8_t shared[static X25519_SHAREDBYTES],
    const uint8_t sk[static X25519_SECRETBYTES],
    const uint8_t pk[static X25519_PUBLICBYTES])
{
	struct x25519_key *key;
	int rc;

	if ((key = x25519_key_new(sk)) == NULL) {
		secret_wipe(shared, X25519_SHAREDBYTES);
		return (-1);
	}
	rc = x25519_key_derive(shared, key, pk);
	x25519_key_free(key);
	return (rc);
}
