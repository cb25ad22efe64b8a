/*
 * secret.c: memory for key material, wiping and constant-time comparison.
 */
#include <stdbool.h>
#include <stddef.h>

#include <openssl/crypto.h>

#include "cryptgate/secret.h"

void *
secret_alloc(size_t len)
{
	/*
	 * OPENSSL_secure_zalloc falls back to the normal heap (zeroed) when
	 * the secure heap is not initialised.  CRYPTO_malloc(0) returns NULL,
	 * so ask for at least one byte.
	 */
	return (OPENSSL_secure_zalloc(len > 0 ? len : 1));
}

void
secret_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_secure_clear_free(p, len);
}

void
secret_wipe(void *p, size_t len)
{
	if (p == NULL || len == 0)
		return;
	OPENSSL_cleanse(p, len);
}

bool
secret_equal(const void *a, const void *b, size_t len)
{
	if (len == 0)
		return (true);
	return (CRYPTO_memcmp(a, b, len) == 0);
}
