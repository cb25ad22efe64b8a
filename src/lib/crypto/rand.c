/*
 * rand.c: random bytes from OpenSSL's CSPRNG.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include "cryptgate/log.h"
#include "cryptgate/secret.h"
#include "cryptgate/rand.h"

int
rand_bytes(void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t off, n;

	/* RAND_bytes takes an int length: feed it in chunks. */
	for (off = 0; off < len; off += n) {
		n = len - off;
		if (n > INT_MAX)
			n = INT_MAX;
		if (RAND_bytes(p + off, (int)n) != 1) {
			log_warnx("rand_bytes: RAND_bytes failed");
			ERR_clear_error();
			goto err0;
		}
	}

	/* Success! */
	return (0);

err0:
	secret_wipe(buf, len);

	/* Failure! */
	return (-1);
}
