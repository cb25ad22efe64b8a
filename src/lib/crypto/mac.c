/*
 * mac.c: HMAC-SHA256 through OpenSSL 3 EVP_Q_mac, and its constant-time
 * verification (see mac.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "cryptgate/log.h"
#include "cryptgate/mac.h"

/* A valid pointer for empty messages. */
static const uint8_t mac_empty[1];

int
mac_hmac_sha256(uint8_t out[static MAC_HMAC_SHA256BYTES], const uint8_t *key,
    size_t keylen, const uint8_t *m, size_t mlen)
{
	size_t outlen = 0;

	if (key == NULL || keylen == 0 || keylen > MAC_KEYBYTES_MAX) {
		log_warnx("mac_hmac_sha256: invalid key length %zu", keylen);
		goto err0;
	}
	if (m == NULL && mlen == 0)
		m = mac_empty;
	if (m == NULL) {
		log_warnx("mac_hmac_sha256: NULL message");
		goto err0;
	}
	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen, m, mlen,
	        out, MAC_HMAC_SHA256BYTES, &outlen) == NULL ||
	    outlen != MAC_HMAC_SHA256BYTES) {
		log_warnx("mac_hmac_sha256: EVP_Q_mac failed");
		ERR_clear_error();
		goto err0;
	}

	/* Success! */
	return (0);

err0:
	OPENSSL_cleanse(out, MAC_HMAC_SHA256BYTES);

	/* Failure! */
	return (-1);
}

int
mac_hmac_sha256_verify(const uint8_t mac[static MAC_HMAC_SHA256BYTES],
    const uint8_t *key, size_t keylen, const uint8_t *m, size_t mlen)
{
	uint8_t want[MAC_HMAC_SHA256BYTES];
	int rc = -1;

	if (mac_hmac_sha256(want, key, keylen, m, mlen))
		goto done;
	if (CRYPTO_memcmp(want, mac, MAC_HMAC_SHA256BYTES) == 0)
		rc = 0;
done:
	OPENSSL_cleanse(want, sizeof(want));
	return (rc);
}
