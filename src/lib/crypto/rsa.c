/*
 * rsa.c: RSAES-OAEP and RSASSA-PSS (RFC 8017) with SHA-256 and MGF1-SHA-256
 * through OpenSSL 3 EVP_PKEY, and the key encodings we use: PKCS#8 (DER and
 * PEM) for private keys, SubjectPublicKeyInfo DER for public keys.
 */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "cryptgate/log.h"
#include "cryptgate/secret.h"
#include "cryptgate/sign.h"
#include "cryptgate/rsa.h"

#define RSA_HASHBYTES ((size_t)32) /* SHA-256 */

struct rsa_key {
	EVP_PKEY *pkey;
	bool priv;
};

/* The two-prime RSA private key components, in check_private order. */
static const char *const rsa_params[] = {
	OSSL_PKEY_PARAM_RSA_N,
	OSSL_PKEY_PARAM_RSA_E,
	OSSL_PKEY_PARAM_RSA_D,
	OSSL_PKEY_PARAM_RSA_FACTOR1,
	OSSL_PKEY_PARAM_RSA_FACTOR2,
	OSSL_PKEY_PARAM_RSA_EXPONENT1,
	OSSL_PKEY_PARAM_RSA_EXPONENT2,
	OSSL_PKEY_PARAM_RSA_COEFFICIENT1,
};
#define RSA_NPARAMS (sizeof(rsa_params) / sizeof(rsa_params[0]))

/*
 * Cheap consistency check of a two-prime private key (RFC 8017 section
 * 3.2): n = p q, e d = 1 mod (p - 1) and mod (q - 1), dP = d mod (p - 1),
 * dQ = d mod (q - 1), qInv q = 1 mod p.  A corrupted key file decodes
 * fine but fails here.  No primality tests: EVP_PKEY_pairwise_check costs
 * 30..200 ms, this costs microseconds.  Return 0 or -1.
 */
static int
check_private(const EVP_PKEY *pkey)
{
	BIGNUM *v[RSA_NPARAMS] = { NULL }, *f3 = NULL, *p1, *q1, *t;
	BIGNUM *n, *e, *d, *p, *q, *dp, *dq, *qinv;
	BN_CTX *bnctx;
	size_t i;
	int rc = -1;

	/* Multi-prime keys (RFC 8017 section 3.2, u > 2) are refused. */
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_FACTOR3, &f3) == 1)
		goto err0;
	for (i = 0; i < RSA_NPARAMS; i++) {
		if ((v[i] = BN_secure_new()) == NULL ||
		    EVP_PKEY_get_bn_param(pkey, rsa_params[i], &v[i]) != 1)
			goto err0;
	}
	n = v[0], e = v[1], d = v[2], p = v[3], q = v[4];
	dp = v[5], dq = v[6], qinv = v[7];
	if ((bnctx = BN_CTX_secure_new()) == NULL)
		goto err0;
	BN_CTX_start(bnctx);
	p1 = BN_CTX_get(bnctx);
	q1 = BN_CTX_get(bnctx);
	if ((t = BN_CTX_get(bnctx)) == NULL)
		goto err1;
	if (!BN_is_odd(e) || BN_is_one(e) || !BN_mul(t, p, q, bnctx) ||
	    BN_cmp(t, n) != 0)
		goto err1;
	if (!BN_sub(p1, p, BN_value_one()) || !BN_sub(q1, q, BN_value_one()))
		goto err1;
	if (!BN_mod_mul(t, e, d, p1, bnctx) || !BN_is_one(t) ||
	    !BN_mod_mul(t, e, d, q1, bnctx) || !BN_is_one(t))
		goto err1;
	if (!BN_nnmod(t, d, p1, bnctx) || BN_cmp(t, dp) != 0 ||
	    !BN_nnmod(t, d, q1, bnctx) || BN_cmp(t, dq) != 0)
		goto err1;
	if (!BN_mod_mul(t, qinv, q, p, bnctx) || !BN_is_one(t))
		goto err1;

	/* Success! */
	rc = 0;

err1:
	BN_CTX_end(bnctx);
	BN_CTX_free(bnctx);
err0:
	for (i = 0; i < RSA_NPARAMS; i++)
		BN_clear_free(v[i]);
	BN_clear_free(f3);
	return (rc);
}

/*
 * Wrap ${pkey} (taken over, freed on failure) after checking that it is a
 * plain RSA key (not RSA-PSS) of RSA_BITS_MIN..RSA_BITS_MAX bits.
 */
static struct rsa_key *
wrap_pkey(EVP_PKEY *pkey, bool priv, const char *what)
{
	struct rsa_key *key;
	int bits;

	if (!EVP_PKEY_is_a(pkey, "RSA")) {
		log_warnx("%s: not an RSA key", what);
		goto err1;
	}
	bits = EVP_PKEY_get_bits(pkey);
	if (bits < RSA_BITS_MIN || bits > RSA_BITS_MAX) {
		log_warnx("%s: RSA key of %d bits (allowed: %d..%d)", what,
		    bits, RSA_BITS_MIN, RSA_BITS_MAX);
		goto err1;
	}
	if (priv && check_private(pkey)) {
		log_warnx(
		    "%s: inconsistent or unsupported RSA private key", what);
		goto err1;
	}
	if ((key = malloc(sizeof(*key))) == NULL) {
		log_warn("%s: malloc", what);
		goto err1;
	}
	key->pkey = pkey;
	key->priv = priv;

	/* Success! */
	return (key);

err1:
	EVP_PKEY_free(pkey);
	ERR_clear_error();

	/* Failure! */
	return (NULL);
}

struct rsa_key *
rsa_key_generate(unsigned int bits)
{
	EVP_PKEY *pkey;

	if (bits < RSA_BITS_MIN || bits > RSA_BITS_MAX) {
		log_warnx("rsa_key_generate: %u bits not allowed", bits);
		goto err0;
	}
	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits)) ==
	    NULL) {
		log_warnx("rsa_key_generate: EVP_PKEY_Q_keygen failed");
		goto err0;
	}

	/* Success! */
	return (wrap_pkey(pkey, true, "rsa_key_generate"));

err0:
	ERR_clear_error();

	/* Failure! */
	return (NULL);
}

struct rsa_key *
rsa_key_from_pkcs8_der(const uint8_t *der, size_t len)
{
	PKCS8_PRIV_KEY_INFO *p8;
	const unsigned char *p = der;
	EVP_PKEY *pkey;

	if (der == NULL || len == 0 || len > LONG_MAX) {
		log_warnx("rsa_key_from_pkcs8_der: bad length %zu", len);
		goto err0;
	}

	/* The whole input must be one PrivateKeyInfo, nothing after it. */
	if ((p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, (long)len)) == NULL ||
	    p != der + len) {
		log_warnx("rsa_key_from_pkcs8_der: malformed PKCS#8");
		goto err1;
	}
	if ((pkey = EVP_PKCS82PKEY_ex(p8, NULL, NULL)) == NULL) {
		log_warnx("rsa_key_from_pkcs8_der: malformed private key");
		goto err1;
	}

	/* PKCS8_PRIV_KEY_INFO_free wipes the key octets. */
	PKCS8_PRIV_KEY_INFO_free(p8);

	/* Success! */
	return (wrap_pkey(pkey, true, "rsa_key_from_pkcs8_der"));

err1:
	PKCS8_PRIV_KEY_INFO_free(p8);
err0:
	ERR_clear_error();

	/* Failure! */
	return (NULL);
}

struct rsa_key *
rsa_key_from_pem(const char *pem, size_t len)
{
	struct rsa_key *key;
	BIO *bio;
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long datalen = 0;

	if (pem == NULL || len == 0 || len > INT_MAX) {
		log_warnx("rsa_key_from_pem: bad length %zu", len);
		goto err0;
	}
	if ((bio = BIO_new_mem_buf(pem, (int)len)) == NULL) {
		log_warnx("rsa_key_from_pem: BIO_new_mem_buf failed");
		goto err0;
	}

	/*
	 * Decode into the secure heap (name, header and data all come from
	 * it); accept only an unencrypted PKCS#8 block.
	 */
	if (PEM_read_bio_ex(bio, &name, &header, &data, &datalen,
	        PEM_FLAG_SECURE | PEM_FLAG_EAY_COMPATIBLE) != 1) {
		log_warnx("rsa_key_from_pem: no PEM block");
		goto err1;
	}
	if (strcmp(name, PEM_STRING_PKCS8INF) != 0 || header[0] != '\0') {
		log_warnx("rsa_key_from_pem: not an unencrypted "
		          "\"PRIVATE KEY\" block");
		goto err2;
	}
	if ((key = rsa_key_from_pkcs8_der(data, (size_t)datalen)) == NULL)
		goto err2;

	OPENSSL_secure_clear_free(data, (size_t)datalen);
	OPENSSL_secure_free(header);
	OPENSSL_secure_free(name);
	BIO_free(bio);

	/* Success! */
	return (key);

err2:
	OPENSSL_secure_clear_free(data, (size_t)datalen);
	OPENSSL_secure_free(header);
	OPENSSL_secure_free(name);
err1:
	BIO_free(bio);
err0:
	ERR_clear_error();

	/* Failure! */
	return (NULL);
}

struct rsa_key *
rsa_key_from_spki_der(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey;

	if (der == NULL || len == 0 || len > LONG_MAX) {
		log_warnx("rsa_key_from_spki_der: bad length %zu", len);
		goto err0;
	}
	if ((pkey = d2i_PUBKEY(NULL, &p, (long)len)) == NULL) {
		log_warnx("rsa_key_from_spki_der: malformed public key");
		goto err0;
	}
	if (p != der + len) {
		log_warnx("rsa_key_from_spki_der: trailing data");
		goto err1;
	}

	/* Success! */
	return (wrap_pkey(pkey, false, "rsa_key_from_spki_der"));

err1:
	EVP_PKEY_free(pkey);
err0:
	ERR_clear_error();

	/* Failure! */
	return (NULL);
}

int
rsa_key_to_pem(const struct rsa_key *key, char **pem, size_t *len)
{
	BIO *bio;
	char *data;
	long n;
	char *out;

	if (key == NULL || !key->priv) {
		log_warnx("rsa_key_to_pem: no private key");
		goto err0;
	}

	/* A secure-heap memory BIO: its buffer is wiped when freed. */
	if ((bio = BIO_new(BIO_s_secmem())) == NULL) {
		log_warnx("rsa_key_to_pem: BIO_new failed");
		goto err0;
	}

	/* No cipher: PKCS#8 PrivateKeyInfo, "BEGIN PRIVATE KEY". */
	if (PEM_write_bio_PrivateKey(
	        bio, key->pkey, NULL, NULL, 0, NULL, NULL) != 1) {
		log_warnx("rsa_key_to_pem: PEM_write_bio_PrivateKey failed");
		goto err1;
	}
	if ((n = BIO_get_mem_data(bio, &data)) <= 0 || data == NULL) {
		log_warnx("rsa_key_to_pem: empty output");
		goto err1;
	}
	if ((out = secret_alloc((size_t)n + 1)) == NULL) {
		log_warnx("rsa_key_to_pem: secret_alloc failed");
		goto err2;
	}
	memcpy(out, data, (size_t)n);
	out[n] = '\0';
	OPENSSL_cleanse(data, (size_t)n);
	BIO_free(bio);
	*pem = out;
	*len = (size_t)n;

	/* Success! */
	return (0);

err2:
	OPENSSL_cleanse(data, (size_t)n);
err1:
	BIO_free(bio);
err0:
	ERR_clear_error();

	/* Failure! */
	return (-1);
}

int
rsa_key_spki_der(
    const struct rsa_key *key, uint8_t *der, size_t dersize, size_t *len)
{
	unsigned char *p = der;
	int n;

	if (key == NULL || der == NULL) {
		log_warnx("rsa_key_spki_der: NULL argument");
		goto err0;
	}
	if ((n = i2d_PUBKEY(key->pkey, NULL)) <= 0) {
		log_warnx("rsa_key_spki_der: i2d_PUBKEY failed");
		goto err0;
	}
	if ((size_t)n > dersize) {
		log_warnx(
		    "rsa_key_spki_der: %d bytes do not fit in %zu", n, dersize);
		goto err0;
	}
	if (i2d_PUBKEY(key->pkey, &p) != n) {
		log_warnx("rsa_key_spki_der: i2d_PUBKEY failed");
		goto err0;
	}
	*len = (size_t)n;

	/* Success! */
	return (0);

err0:
	ERR_clear_error();

	/* Failure! */
	return (-1);
}

size_t
rsa_key_bytes(const struct rsa_key *key)
{
	int n;

	if (key == NULL || (n = EVP_PKEY_get_size(key->pkey)) <= 0)
		return (0);
	return ((size_t)n);
}

bool
rsa_key_is_private(const struct rsa_key *key)
{
	return (key != NULL && key->priv);
}

void
rsa_key_free(struct rsa_key *key)
{
	if (key == NULL)
		return;
	EVP_PKEY_free(key->pkey);
	free(key);
}

/*
 * Set OAEP with SHA-256, MGF1-SHA-256 and ${label} on ${pctx}, after
 * EVP_PKEY_{en,de}crypt_init.  Return 0 or -1; logs nothing (the decrypt
 * path must not log), the caller does.
 */
static int
oaep_params(EVP_PKEY_CTX *pctx, const uint8_t *label, size_t labellen)
{
	void *l;

	if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0)
		goto err0;
	if (labellen > 0) {
		/* set0 takes ownership on success only. */
		if ((l = OPENSSL_memdup(label, labellen)) == NULL)
			goto err0;
		if (EVP_PKEY_CTX_set0_rsa_oaep_label(pctx, l, (int)labellen) <=
		    0) {
			OPENSSL_free(l);
			goto err0;
		}
	}

	/* Success! */
	return (0);

err0:
	/* Failure! */
	return (-1);
}

/* The label is public, but keep it to a sane size. */
static int
check_label(const uint8_t *label, size_t labellen)
{
	return ((label == NULL && labellen > 0) || labellen > INT_MAX ? -1 : 0);
}

int
rsa_oaep_seal(uint8_t *c, size_t *clen, const uint8_t *m, size_t mlen,
    const uint8_t *label, size_t labellen, const struct rsa_key *key)
{
	EVP_PKEY_CTX *pctx;
	size_t k, outlen;

	if (key == NULL || c == NULL || clen == NULL ||
	    (m == NULL && mlen > 0) || check_label(label, labellen)) {
		log_warnx("rsa_oaep_seal: bad arguments");
		goto err0;
	}

	/* RFC 8017 section 7.1.1: mLen <= k - 2hLen - 2. */
	k = rsa_key_bytes(key);
	if (k < 2 * RSA_HASHBYTES + 2 || mlen > k - 2 * RSA_HASHBYTES - 2) {
		log_warnx("rsa_oaep_seal: message too long (%zu bytes)", mlen);
		goto err0;
	}
	if ((pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL)) ==
	    NULL) {
		log_warnx("rsa_oaep_seal: EVP_PKEY_CTX_new_from_pkey failed");
		goto err0;
	}
	if (EVP_PKEY_encrypt_init(pctx) <= 0 ||
	    oaep_params(pctx, label, labellen)) {
		log_warnx("rsa_oaep_seal: cannot set up OAEP");
		goto err1;
	}
	outlen = k;
	if (EVP_PKEY_encrypt(pctx, c, &outlen, m, mlen) <= 0 || outlen != k) {
		log_warnx("rsa_oaep_seal: EVP_PKEY_encrypt failed");
		goto err1;
	}
	EVP_PKEY_CTX_free(pctx);
	*clen = outlen;

	/* Success! */
	return (0);

err1:
	EVP_PKEY_CTX_free(pctx);
err0:
	ERR_clear_error();

	/* Failure! */
	return (-1);
}

int
rsa_oaep_open(uint8_t *m, size_t msize, size_t *mlen, const uint8_t *c,
    size_t clen, const uint8_t *label, size_t labellen,
    const struct rsa_key *key)
{
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t *buf = NULL;
	size_t k = 0, outlen;
	int rc = -1;

	/* Caller errors, independent of the ciphertext: these may log. */
	if (key == NULL || !key->priv || mlen == NULL ||
	    (m == NULL && msize > 0) || check_label(label, labellen)) {
		log_warnx("rsa_oaep_open: bad arguments or no private key");
		goto done;
	}

	/*
	 * From here on, every failure takes the same path with no log line
	 * and no distinct error state (RFC 8017 section 7.1.2 note: an
	 * attacker must not learn which step failed).
	 */
	k = rsa_key_bytes(key);
	if (c == NULL || clen != k)
		goto done;
	if ((buf = secret_alloc(k)) == NULL)
		goto done;
	if ((pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key->pkey, NULL)) == NULL)
		goto done;
	if (EVP_PKEY_decrypt_init(pctx) <= 0 ||
	    oaep_params(pctx, label, labellen))
		goto done;

	/* OpenSSL wants an output buffer of the full modulus size. */
	outlen = k;
	if (EVP_PKEY_decrypt(pctx, buf, &outlen, c, clen) <= 0 || outlen > k ||
	    outlen > msize)
		goto done;
	if (outlen > 0)
		memcpy(m, buf, outlen);
	*mlen = outlen;
	rc = 0;

done:
	EVP_PKEY_CTX_free(pctx);
	secret_free(buf, k);
	ERR_clear_error();
	if (rc != 0) {
		if (m != NULL && msize > 0)
			secret_wipe(m, msize);
		if (mlen != NULL)
			*mlen = 0;
	}
	return (rc);
}

/*
 * Set up ${mctx} for RSASSA-PSS (SHA-256, MGF1-SHA-256, 32-byte salt, which
 * verification also requires) and feed ${ctx} || 0x00 || ${m}.
 */
static int
pss_init(EVP_MD_CTX *mctx, const struct rsa_key *key, int sign, const char *ctx,
    const uint8_t *m, size_t mlen, const char *what)
{
	EVP_PKEY_CTX *pctx = NULL;
	size_t ctxlen;
	int r;

	if (ctx == NULL ||
	    (ctxlen = strnlen(ctx, SIGN_CTXBYTES_MAX + 1)) == 0 ||
	    ctxlen > SIGN_CTXBYTES_MAX) {
		log_warnx("%s: context must be 1..%d characters", what,
		    SIGN_CTXBYTES_MAX);
		goto err0;
	}
	if (m == NULL && mlen > 0) {
		log_warnx("%s: NULL message", what);
		goto err0;
	}
	if (sign)
		r = EVP_DigestSignInit_ex(
		    mctx, &pctx, "SHA256", NULL, NULL, key->pkey, NULL);
	else
		r = EVP_DigestVerifyInit_ex(
		    mctx, &pctx, "SHA256", NULL, NULL, key->pkey, NULL);
	if (r != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <=
	        0) {
		log_warnx("%s: cannot set up RSASSA-PSS", what);
		goto err0;
	}
	if (EVP_DigestUpdate(mctx, ctx, ctxlen) != 1 ||
	    EVP_DigestUpdate(mctx, "", 1) != 1 ||
	    (mlen > 0 && EVP_DigestUpdate(mctx, m, mlen) != 1)) {
		log_warnx("%s: EVP_DigestUpdate failed", what);
		goto err0;
	}

	/* Success! */
	return (0);

err0:
	/* Failure! */
	return (-1);
}

int
rsa_pss_sign(uint8_t *sig, size_t *siglen, const char *ctx, const uint8_t *m,
    size_t mlen, const struct rsa_key *key)
{
	EVP_MD_CTX *mctx;
	size_t k, n;

	if (key == NULL || !key->priv || sig == NULL || siglen == NULL) {
		log_warnx("rsa_pss_sign: bad arguments or no private key");
		goto err0;
	}
	k = rsa_key_bytes(key);
	if ((mctx = EVP_MD_CTX_new()) == NULL) {
		log_warnx("rsa_pss_sign: EVP_MD_CTX_new failed");
		goto err0;
	}
	if (pss_init(mctx, key, 1, ctx, m, mlen, "rsa_pss_sign"))
		goto err1;
	n = k;
	if (EVP_DigestSignFinal(mctx, sig, &n) != 1 || n != k) {
		log_warnx("rsa_pss_sign: EVP_DigestSignFinal failed");
		goto err1;
	}
	EVP_MD_CTX_free(mctx);
	*siglen = n;

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
rsa_pss_verify(const uint8_t *sig, size_t siglen, const char *ctx,
    const uint8_t *m, size_t mlen, const struct rsa_key *key)
{
	EVP_MD_CTX *mctx;

	if (key == NULL || sig == NULL) {
		log_warnx("rsa_pss_verify: NULL argument");
		goto err0;
	}

	/* A signature of the wrong size is simply invalid. */
	if (siglen != rsa_key_bytes(key))
		goto err0;
	if ((mctx = EVP_MD_CTX_new()) == NULL) {
		log_warnx("rsa_pss_verify: EVP_MD_CTX_new failed");
		goto err0;
	}
	if (pss_init(mctx, key, 0, ctx, m, mlen, "rsa_pss_verify"))
		goto err1;
	if (EVP_DigestVerifyFinal(mctx, sig, siglen) != 1)
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
