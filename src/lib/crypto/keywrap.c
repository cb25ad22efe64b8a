/*
 * keywrap.c: the KDC master key file and key wrapping with
 * ChaCha20-Poly1305 (format in keywrap.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cryptgate/aead.h"
#include "cryptgate/encode.h"
#include "cryptgate/file.h"
#include "cryptgate/log.h"
#include "cryptgate/rand.h"
#include "cryptgate/secret.h"
#include "cryptgate/keywrap.h"

#define KEYWRAP_ALG AEAD_CHACHA20_POLY1305
#define KEYWRAP_HEXLEN ((size_t)2 * KEYWRAP_MASTERBYTES)
#define KEYWRAP_VERSION_MAX 255

/* Allocated with secret_alloc. */
struct keywrap_master {
	unsigned int version;
	uint8_t key[KEYWRAP_MASTERBYTES];
};

static struct keywrap_master *
master_new(void)
{
	struct keywrap_master *m;

	if ((m = secret_alloc(sizeof(*m))) == NULL)
		log_warnx("keywrap: out of memory");
	return (m);
}

void
keywrap_master_free(struct keywrap_master *m)
{
	secret_free(m, sizeof(*m));
}

unsigned int
keywrap_master_version(const struct keywrap_master *m)
{
	return (m->version);
}

/*
 * Parse the decimal version at ${s} (${len} bytes): 1..255, digits only,
 * no leading zero.  Return it, or 0 if it is not one.
 */
static unsigned int
parse_version(const char *s, size_t len)
{
	unsigned int v = 0;
	size_t i;

	if (len == 0 || len > 3 || s[0] == '0')
		return (0);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (0);
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	return (v <= KEYWRAP_VERSION_MAX ? v : 0);
}

/*
 * Parse the file content ${buf} (${len} bytes) into ${m}.  Return 0, or -1
 * with ${*errstr} set.
 */
static int
master_parse(
    struct keywrap_master *m, const char *buf, size_t len, const char **errstr)
{
	const size_t magiclen = strlen(KEYWRAP_MAGIC);
	const char *ver, *hex, *sp;
	size_t i, keylen;
	unsigned int upper;

	/* One line, an optional single trailing newline. */
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (memchr(buf, '\n', len) != NULL || memchr(buf, '\0', len) != NULL) {
		*errstr = "not a single line";
		goto err0;
	}
	if (len < magiclen + 1 || memcmp(buf, KEYWRAP_MAGIC, magiclen) != 0 ||
	    buf[magiclen] != ' ') {
		*errstr = "not a master key file (expected " KEYWRAP_MAGIC ")";
		goto err0;
	}
	ver = buf + magiclen + 1;
	if ((sp = memchr(ver, ' ', len - (size_t)(ver - buf))) == NULL ||
	    (m->version = parse_version(ver, (size_t)(sp - ver))) == 0) {
		*errstr = "bad version (expected 1..255)";
		goto err0;
	}
	hex = sp + 1;
	if ((size_t)(buf + len - hex) != KEYWRAP_HEXLEN) {
		*errstr = "bad key (expected 64 lowercase hex digits)";
		goto err0;
	}
	/* Canonical lowercase only; no branch on the key's digits. */
	for (i = 0, upper = 0; i < KEYWRAP_HEXLEN; i++)
		upper |= (unsigned int)(hex[i] >= 'A') &
		    (unsigned int)(hex[i] <= 'Z');
	if (upper != 0 ||
	    encode_unhex(
	        m->key, sizeof(m->key), &keylen, hex, KEYWRAP_HEXLEN) ||
	    keylen != KEYWRAP_MASTERBYTES) {
		*errstr = "bad key (expected 64 lowercase hex digits)";
		goto err0;
	}

	/* Success! */
	return (0);

err0:
	secret_wipe(m, sizeof(*m));

	/* Failure! */
	return (-1);
}

struct keywrap_master *
keywrap_master_load(const char *path)
{
	struct keywrap_master *m;
	const char *errstr;
	char *buf;
	size_t len;

	if ((m = master_new()) == NULL)
		goto err0;
	if (file_read_secret(path, KEYWRAP_FILEBYTES_MAX, &buf, &len))
		goto err1;
	if (master_parse(m, buf, len, &errstr)) {
		log_warnx("%s: %s", path, errstr);
		goto err2;
	}
	secret_free(buf, len + 1);

	/* Success! */
	return (m);

err2:
	secret_free(buf, len + 1);
err1:
	keywrap_master_free(m);
err0:
	/* Failure! */
	return (NULL);
}

int
keywrap_master_create(const char *path, unsigned int version, int flags)
{
	struct keywrap_master *m;
	char *line;
	const size_t linesize = KEYWRAP_FILEBYTES_MAX;
	char hex[KEYWRAP_HEXLEN + 1];
	int n;

	if (version == 0 || version > KEYWRAP_VERSION_MAX) {
		log_warnx(
		    "keywrap: bad master key version %u (1..255)", version);
		goto err0;
	}
	if ((m = master_new()) == NULL)
		goto err0;
	if ((line = secret_alloc(linesize)) == NULL) {
		log_warnx("keywrap: out of memory");
		goto err1;
	}
	if (rand_bytes(m->key, sizeof(m->key))) {
		log_warnx("keywrap: cannot generate a master key");
		goto err2;
	}
	if (encode_hex(hex, sizeof(hex), m->key, sizeof(m->key)))
		goto err3;
	n = snprintf(line, linesize, "%s %u %s\n", KEYWRAP_MAGIC, version, hex);
	if (n < 0 || (size_t)n >= linesize)
		goto err3;
	if (file_write(path, line, (size_t)n, 0600,
	        (flags & KEYWRAP_FORCE) ? 0 : FILE_EXCL))
		goto err3;
	secret_wipe(hex, sizeof(hex));
	secret_free(line, linesize);
	keywrap_master_free(m);

	/* Success! */
	return (0);

err3:
	secret_wipe(hex, sizeof(hex));
err2:
	secret_free(line, linesize);
err1:
	keywrap_master_free(m);
err0:
	/* Failure! */
	return (-1);
}

/* Build the associated data  version || aad  in ${ad}. */
static int
build_ad(uint8_t ad[static 1 + KEYWRAP_AADBYTES_MAX], size_t *adlen,
    unsigned int version, const uint8_t *aad, size_t aadlen)
{
	if (aadlen > KEYWRAP_AADBYTES_MAX || (aad == NULL && aadlen > 0))
		return (-1);
	ad[0] = (uint8_t)version;
	if (aadlen > 0)
		memcpy(ad + 1, aad, aadlen);
	*adlen = 1 + aadlen;
	return (0);
}

int
keywrap_wrap(uint8_t *out, size_t outsize, size_t *outlen, const uint8_t *key,
    size_t keylen, const uint8_t *aad, size_t aadlen,
    const struct keywrap_master *m)
{
	uint8_t ad[1 + KEYWRAP_AADBYTES_MAX];
	size_t adlen;

	*outlen = 0;
	if (key == NULL || keylen == 0 || keylen > KEYWRAP_KEYBYTES_MAX ||
	    out == NULL || outsize < keylen + KEYWRAP_OVERHEAD) {
		log_warnx("keywrap_wrap: bad key length %zu or buffer size %zu",
		    keylen, outsize);
		goto err0;
	}
	if (build_ad(ad, &adlen, m->version, aad, aadlen)) {
		log_warnx(
		    "keywrap_wrap: bad associated data length %zu", aadlen);
		goto err0;
	}
	out[0] = (uint8_t)m->version;
	if (rand_bytes(out + 1, KEYWRAP_NONCEBYTES)) {
		log_warnx("keywrap_wrap: cannot generate a nonce");
		goto err0;
	}
	if (aead_seal(out + 1 + KEYWRAP_NONCEBYTES, key, keylen, ad, adlen,
	        out + 1, m->key, KEYWRAP_ALG))
		goto err0;
	*outlen = keylen + KEYWRAP_OVERHEAD;

	/* Success! */
	return (0);

err0:
	/* Failure! */
	return (-1);
}

int
keywrap_unwrap(uint8_t *out, size_t outsize, size_t *outlen, const uint8_t *in,
    size_t inlen, const uint8_t *aad, size_t aadlen,
    const struct keywrap_master *m)
{
	uint8_t ad[1 + KEYWRAP_AADBYTES_MAX];
	size_t adlen, keylen;

	*outlen = 0;
	if (out == NULL || in == NULL || inlen <= KEYWRAP_OVERHEAD ||
	    inlen > KEYWRAP_KEYBYTES_MAX + KEYWRAP_OVERHEAD)
		goto err0;
	keylen = inlen - KEYWRAP_OVERHEAD;
	if (outsize < keylen || in[0] != m->version)
		goto err0;
	if (build_ad(ad, &adlen, m->version, aad, aadlen))
		goto err0;
	if (aead_open(out, in + 1 + KEYWRAP_NONCEBYTES,
	        inlen - 1 - KEYWRAP_NONCEBYTES, ad, adlen, in + 1, m->key,
	        KEYWRAP_ALG))
		goto err0;
	*outlen = keylen;

	/* Success! */
	return (0);

err0:
	if (out != NULL)
		secret_wipe(out, outsize);

	/* Failure! */
	return (-1);
}

int
keywrap_version(const uint8_t *in, size_t inlen)
{
	if (in == NULL || inlen <= KEYWRAP_OVERHEAD)
		return (-1);
	return (in[0]);
}
