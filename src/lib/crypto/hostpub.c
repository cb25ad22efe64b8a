/*
 * hostpub.c: public host identities: host id, the .pub line format,
 * sealing to a host and verifying its signatures.  Layouts: hostpub.h.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cryptgate/digest.h"
#include "cryptgate/encode.h"
#include "cryptgate/file.h"
#include "cryptgate/hpke.h"
#include "cryptgate/log.h"
#include "cryptgate/rsa.h"
#include "cryptgate/sign.h"
#include "cryptgate/hostpub.h"

/* Domain-separation prefix of the host id hash (no NUL). */
#define HOSTID_LABEL "cryptgate host"

int
hostpub_id_compute(uint8_t id[static HOSTPUB_IDBYTES],
    const uint8_t sign_pk[static SIGN_PUBLICBYTES], const uint8_t *seal_pk,
    size_t seal_pklen)
{
	uint8_t md[DIGEST_SHA256BYTES];
	struct digest_ctx *d;

	if ((d = digest_new()) == NULL)
		goto err0;
	if (digest_update(d, HOSTID_LABEL, strlen(HOSTID_LABEL)) ||
	    digest_update(d, sign_pk, SIGN_PUBLICBYTES) ||
	    digest_update(d, seal_pk, seal_pklen) || digest_final(d, md))
		goto err1;
	memcpy(id, md, HOSTPUB_IDBYTES);
	digest_free(d);

	/* Success! */
	return (0);

err1:
	digest_free(d);
err0:
	/* Failure! */
	return (-1);
}

const char *
hostpub_type_name(enum hostkey_type type)
{
	switch (type) {
	case HOSTKEY_X25519:
		return ("x25519");
	case HOSTKEY_RSA:
		return ("rsa");
	default:
		return (NULL);
	}
}

/*
 * Check that ${der} (${len} bytes) is a canonical DER SubjectPublicKeyInfo
 * of an RSA key of RSA_BITS_MIN..RSA_BITS_MAX bits that passes OpenSSL's
 * public key checks.  Return 0, or -1 with ${*errstr} set.
 */
static int
rsa_spki_check(const uint8_t *der, size_t len, const char **errstr)
{
	const unsigned char *p = der;
	unsigned char *re = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	EVP_PKEY *pk;
	int bits, relen;

	*errstr = "malformed RSA public key";
	if (len == 0 || len > HOSTPUB_SEALPKBYTES_MAX)
		goto err0;
	if ((pk = d2i_PUBKEY_ex(NULL, &p, (long)len, NULL, NULL)) == NULL)
		goto err0;
	if (p != der + len)
		goto err1;
	if (!EVP_PKEY_is_a(pk, "RSA")) {
		*errstr = "sealing key is not an RSA public key";
		goto err1;
	}
	bits = EVP_PKEY_get_bits(pk);
	if (bits < RSA_BITS_MIN || bits > RSA_BITS_MAX) {
		*errstr = "RSA key size outside 2048..4096 bits";
		goto err1;
	}
	/* Only the canonical encoding, so that a key has one host id. */
	if ((relen = i2d_PUBKEY(pk, &re)) <= 0 || (size_t)relen != len ||
	    memcmp(re, der, len) != 0)
		goto err2;
	if ((pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) == NULL ||
	    EVP_PKEY_public_check(pctx) != 1) {
		*errstr = "invalid RSA public key";
		goto err3;
	}
	EVP_PKEY_CTX_free(pctx);
	OPENSSL_free(re);
	EVP_PKEY_free(pk);

	/* Success! */
	*errstr = NULL;
	return (0);

err3:
	EVP_PKEY_CTX_free(pctx);
err2:
	OPENSSL_free(re);
err1:
	EVP_PKEY_free(pk);
err0:
	ERR_clear_error();

	/* Failure! */
	return (-1);
}

/* True if ${s} (${len} bytes) is a valid comment (see hostpub.h). */
static bool
comment_ok(const char *s, size_t len)
{
	size_t i;

	if (len > HOSTPUB_COMMENTBYTES_MAX)
		return (false);
	if (len > 0 && (s[0] == ' ' || s[len - 1] == ' '))
		return (false);
	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return (false);
	return (true);
}

int
hostpub_set_comment(struct hostpub *pub, const char *comment)
{
	size_t len;

	if (comment == NULL)
		comment = "";
	len = strlen(comment);
	if (!comment_ok(comment, len))
		return (-1);
	memcpy(pub->comment, comment, len + 1);
	return (0);
}

/*
 * Cut the next field of the line [${*p}, ${end}): up to a space or the end.
 * Set ${*f} and ${*flen} and move ${*p} past the field and one space.
 * Return 0, or -1 if the field is empty.
 */
static int
next_field(const char **p, const char *end, const char **f, size_t *flen)
{
	const char *s = *p;

	while (s < end && *s != ' ')
		s++;
	*f = *p;
	*flen = (size_t)(s - *p);
	if (s < end)
		s++;
	*p = s;
	return (*flen > 0 ? 0 : -1);
}

/* Decode base64 field ${f} into exactly ${want} bytes, or up to ${max}. */
static int
b64_field(uint8_t *dst, size_t max, size_t *dstlen, const char *f, size_t flen)
{
	if (flen > ENCODE_BASE64LEN(max))
		return (-1);
	return (encode_unbase64(dst, max, dstlen, f, flen));
}

int
hostpub_parse(
    struct hostpub *pub, const char *line, size_t len, const char **errstr)
{
	const char *p = line, *end = line + len, *f;
	uint8_t id[HOSTPUB_IDBYTES];
	size_t flen, n, i;

	memset(pub, 0, sizeof(*pub));
	*errstr = "empty (expected one " HOSTPUB_MAGIC " line)";
	if (len == 0)
		goto err0;
	if (line[len - 1] == '\n')
		end--;
	if (memchr(line, '\n', (size_t)(end - line)) != NULL) {
		*errstr = "not a single line";
		goto err0;
	}

	/* Magic. */
	*errstr = "not a cryptgate public key (expected \"" HOSTPUB_MAGIC
	          " TYPE HOSTID SIGNPK SEALPK [COMMENT]\")";
	if (next_field(&p, end, &f, &flen) || flen != strlen(HOSTPUB_MAGIC) ||
	    memcmp(f, HOSTPUB_MAGIC, flen) != 0)
		goto err0;

	/* Type. */
	if (next_field(&p, end, &f, &flen))
		goto err0;
	if (flen == 6 && memcmp(f, "x25519", 6) == 0)
		pub->type = HOSTKEY_X25519;
	else if (flen == 3 && memcmp(f, "rsa", 3) == 0)
		pub->type = HOSTKEY_RSA;
	else {
		*errstr = "unknown key type (expected x25519 or rsa)";
		goto err0;
	}

	/* Host id: 32 lowercase hex digits. */
	if (next_field(&p, end, &f, &flen))
		goto err0;
	*errstr = "malformed host id (expected 32 lowercase hex digits)";
	if (flen != HOSTPUB_IDHEXLEN)
		goto err0;
	for (i = 0; i < flen; i++)
		if (f[i] >= 'A' && f[i] <= 'F')
			goto err0;
	if (encode_unhex(pub->host_id, sizeof(pub->host_id), &n, f, flen))
		goto err0;

	/* Signing key. */
	*errstr = "malformed signing key (expected 32 bytes in base64)";
	if (next_field(&p, end, &f, &flen) ||
	    b64_field(pub->sign_pk, sizeof(pub->sign_pk), &n, f, flen) ||
	    n != SIGN_PUBLICBYTES)
		goto err0;

	/* Sealing key. */
	*errstr = "malformed sealing key (bad base64 or size)";
	if (next_field(&p, end, &f, &flen) ||
	    b64_field(
	        pub->seal_pk, sizeof(pub->seal_pk), &pub->seal_pklen, f, flen))
		goto err0;
	if (pub->type == HOSTKEY_X25519) {
		if (pub->seal_pklen != X25519_PUBLICBYTES)
			goto err0;
	} else if (rsa_spki_check(pub->seal_pk, pub->seal_pklen, errstr))
		goto err0;

	/* Comment: the rest of the line, if any. */
	if (p > line && p[-1] == ' ' && p == end) {
		*errstr = "trailing space";
		goto err0;
	}
	if (!comment_ok(p, (size_t)(end - p))) {
		*errstr = "bad comment (printable ASCII, at most 255 "
		          "characters, no leading or trailing space)";
		goto err0;
	}
	memcpy(pub->comment, p, (size_t)(end - p));
	pub->comment[end - p] = '\0';

	/* The host id must be the one of these keys. */
	if (hostpub_id_compute(
	        id, pub->sign_pk, pub->seal_pk, pub->seal_pklen)) {
		*errstr = "cannot compute the host id";
		goto err0;
	}
	if (memcmp(id, pub->host_id, HOSTPUB_IDBYTES) != 0) {
		*errstr = "host id does not match the keys (corrupted or "
		          "tampered with)";
		goto err0;
	}

	/* Success! */
	*errstr = NULL;
	return (0);

err0:
	memset(pub, 0, sizeof(*pub));

	/* Failure! */
	return (-1);
}

int
hostpub_load(struct hostpub *pub, const char *path)
{
	const char *errstr;
	size_t len;
	char *buf;

	if (file_read(path, HOSTPUB_FILEBYTES_MAX, &buf, &len))
		goto err0;
	if (hostpub_parse(pub, buf, len, &errstr)) {
		log_warnx("%s: %s", path, errstr);
		goto err1;
	}
	free(buf);

	/* Success! */
	return (0);

err1:
	free(buf);
err0:
	/* Failure! */
	return (-1);
}

/* True if the type and sealing key size of ${pub} are consistent. */
static bool
pub_valid(const struct hostpub *pub)
{
	switch (pub->type) {
	case HOSTKEY_X25519:
		return (pub->seal_pklen == X25519_PUBLICBYTES);
	case HOSTKEY_RSA:
		return (pub->seal_pklen > 0 &&
		    pub->seal_pklen <= HOSTPUB_SEALPKBYTES_MAX);
	default:
		return (false);
	}
}

int
hostpub_format(const struct hostpub *pub, char *buf, size_t size)
{
	char id[HOSTPUB_IDHEXLEN + 1];
	char spk[ENCODE_BASE64LEN(SIGN_PUBLICBYTES) + 1];
	char seal[ENCODE_BASE64LEN(HOSTPUB_SEALPKBYTES_MAX) + 1];
	size_t clen;
	int n;

	if (!pub_valid(pub))
		goto err0;
	clen = strnlen(pub->comment, sizeof(pub->comment));
	if (clen == sizeof(pub->comment) || !comment_ok(pub->comment, clen))
		goto err0;
	if (encode_hex(id, sizeof(id), pub->host_id, HOSTPUB_IDBYTES) ||
	    encode_base64(spk, sizeof(spk), pub->sign_pk, SIGN_PUBLICBYTES) ||
	    encode_base64(seal, sizeof(seal), pub->seal_pk, pub->seal_pklen))
		goto err0;
	n = snprintf(buf, size, "%s %s %s %s %s%s%s", HOSTPUB_MAGIC,
	    hostpub_type_name(pub->type), id, spk, seal, clen > 0 ? " " : "",
	    pub->comment);
	if (n < 0 || (size_t)n >= size)
		goto err0;

	/* Success! */
	return (0);

err0:
	/* Failure! */
	return (-1);
}

bool
hostpub_equal(const struct hostpub *a, const struct hostpub *b)
{
	return (a->type == b->type && a->seal_pklen == b->seal_pklen &&
	    a->seal_pklen <= sizeof(a->seal_pk) &&
	    memcmp(a->host_id, b->host_id, HOSTPUB_IDBYTES) == 0 &&
	    memcmp(a->sign_pk, b->sign_pk, SIGN_PUBLICBYTES) == 0 &&
	    memcmp(a->seal_pk, b->seal_pk, a->seal_pklen) == 0);
}

int
hostpub_oaep_label(const uint8_t *info, size_t infolen, const uint8_t *aad,
    size_t aadlen, uint8_t **label, size_t *labellen)
{
	uint8_t *l;

	if (infolen > HOSTPUB_LABELBYTES_MAX ||
	    aadlen > HOSTPUB_LABELBYTES_MAX - infolen) {
		log_warnx("hostpub: info and aad too long for an OAEP label");
		goto err0;
	}
	if ((l = malloc(4 + infolen + aadlen)) == NULL) {
		log_warn("hostpub_oaep_label");
		goto err0;
	}
	l[0] = (uint8_t)(infolen >> 24);
	l[1] = (uint8_t)(infolen >> 16);
	l[2] = (uint8_t)(infolen >> 8);
	l[3] = (uint8_t)infolen;
	if (infolen > 0)
		memcpy(l + 4, info, infolen);
	if (aadlen > 0)
		memcpy(l + 4 + infolen, aad, aadlen);
	*label = l;
	*labellen = 4 + infolen + aadlen;

	/* Success! */
	return (0);

err0:
	/* Failure! */
	return (-1);
}

size_t
hostpub_sealed_size(const struct hostpub *pub, size_t mlen)
{
	struct rsa_key *key;
	size_t k;

	if (!pub_valid(pub))
		return (0);
	if (pub->type == HOSTKEY_X25519)
		return (
		    mlen > SIZE_MAX - HPKE_OVERHEAD ? 0 : mlen + HPKE_OVERHEAD);
	if ((key = rsa_key_from_spki_der(pub->seal_pk, pub->seal_pklen)) ==
	    NULL)
		return (0);
	k = rsa_key_bytes(key);
	rsa_key_free(key);
	if (k < HOSTPUB_RSA_OVERHEAD || mlen > k - HOSTPUB_RSA_OVERHEAD)
		return (0);
	return (k);
}

/* hostpub_seal for an RSA host. */
static int
seal_rsa(const struct hostpub *pub, uint8_t *c, size_t csize, size_t *clen,
    const uint8_t *m, size_t mlen, const uint8_t *info, size_t infolen,
    const uint8_t *aad, size_t aadlen)
{
	struct rsa_key *key;
	uint8_t *label;
	size_t k, labellen;

	if ((key = rsa_key_from_spki_der(pub->seal_pk, pub->seal_pklen)) ==
	    NULL) {
		log_warnx("hostpub_seal: bad RSA public key");
		goto err0;
	}
	k = rsa_key_bytes(key);
	if (k < HOSTPUB_RSA_OVERHEAD || mlen > k - HOSTPUB_RSA_OVERHEAD) {
		log_warnx("hostpub_seal: message of %zu bytes too long for "
		          "RSA-OAEP with a %zu-bit key",
		    mlen, k * 8);
		goto err1;
	}
	if (csize < k) {
		log_warnx("hostpub_seal: output buffer too small");
		goto err1;
	}
	if (hostpub_oaep_label(info, infolen, aad, aadlen, &label, &labellen))
		goto err1;
	if (rsa_oaep_seal(c, clen, m, mlen, label, labellen, key))
		goto err2;
	free(label);
	rsa_key_free(key);

	/* Success! */
	return (0);

err2:
	free(label);
err1:
	rsa_key_free(key);
err0:
	/* Failure! */
	return (-1);
}

int
hostpub_seal(const struct hostpub *pub, uint8_t *c, size_t csize, size_t *clen,
    const uint8_t *m, size_t mlen, const uint8_t *info, size_t infolen,
    const uint8_t *aad, size_t aadlen)
{
	if (!pub_valid(pub)) {
		log_warnx("hostpub_seal: invalid public identity");
		goto err0;
	}
	if (infolen > HPKE_INFOBYTES_MAX) {
		log_warnx("hostpub_seal: info too long");
		goto err0;
	}
	if (pub->type == HOSTKEY_RSA) {
		if (seal_rsa(pub, c, csize, clen, m, mlen, info, infolen, aad,
		        aadlen))
			goto err0;
	} else {
		if (mlen > SIZE_MAX - HPKE_OVERHEAD ||
		    csize < mlen + HPKE_OVERHEAD) {
			log_warnx("hostpub_seal: output buffer too small");
			goto err0;
		}
		if (hpke_seal(
		        c, m, mlen, info, infolen, aad, aadlen, pub->seal_pk))
			goto err0;
		*clen = mlen + HPKE_OVERHEAD;
	}

	/* Success! */
	return (0);

err0:
	/* Failure! */
	return (-1);
}

int
hostpub_verify(const struct hostpub *pub, const uint8_t sig[static SIGN_BYTES],
    const char *ctx, const uint8_t *m, size_t mlen)
{
	return (sign_verify(sig, ctx, m, mlen, pub->sign_pk));
}
