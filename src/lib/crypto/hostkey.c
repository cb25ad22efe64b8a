/*
 * hostkey.c: the private host identity: generation, the PREFIX.key format
 * (two PKCS#8 PEM blocks, see hostkey.h), signing and opening sealed data.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cryptgate/encode.h"
#include "cryptgate/file.h"
#include "cryptgate/hpke.h"
#include "cryptgate/log.h"
#include "cryptgate/rsa.h"
#include "cryptgate/secret.h"
#include "cryptgate/sign.h"
#include "cryptgate/x25519.h"
#include "cryptgate/hostkey.h"

#define PEM_PRIVATE_KEY "PRIVATE KEY"
/* The identity lines of a rotated key (hostkey.h). */
#define META_ID "Host-Id: "
#define META_KVNO "Key-Version: "

/* Allocated with secret_alloc. */
struct hostkey {
	enum hostkey_type type;
	uint8_t sign_sk[SIGN_SECRETBYTES];
	uint8_t seal_sk[X25519_SECRETBYTES]; /* HOSTKEY_X25519 */
	struct rsa_key *rsa; /* HOSTKEY_RSA */
	struct hostpub pub; /* derived from the above (host_id: see meta) */
	uint16_t kvno; /* Key-Version, or HOSTKEY_KVNO_FIRST */
	int meta; /* 1 if the file had Host-Id and Key-Version */
	/* The keys above imported once (derive_public): signing and opening
	 * then cost no public key computation. */
	struct sign_key *sign;
	struct x25519_key *seal; /* HOSTKEY_X25519 */
};

/* A PEM block as PEM_read_bio_ex returns it (secure heap). */
struct pemblock {
	char *name;
	char *header;
	unsigned char *data;
	long len;
};

static struct hostkey *
hostkey_new(enum hostkey_type type)
{
	struct hostkey *hk;

	if ((hk = secret_alloc(sizeof(*hk))) == NULL) {
		log_warnx("hostkey: out of memory");
		return (NULL);
	}
	hk->type = type;
	hk->rsa = NULL;
	hk->kvno = HOSTKEY_KVNO_FIRST;
	hk->meta = 0;
	hk->sign = NULL;
	hk->seal = NULL;
	return (hk);
}

void
hostkey_free(struct hostkey *hk)
{
	if (hk == NULL)
		return;
	rsa_key_free(hk->rsa);
	sign_key_free(hk->sign);
	x25519_key_free(hk->seal);
	secret_free(hk, sizeof(*hk));
}

/*
 * Import the private keys of ${hk} (once: hostkey_sign and hostkey_open use
 * them) and derive ${hk}->pub from them.
 */
static int
derive_public(struct hostkey *hk)
{
	struct hostpub *pub = &hk->pub;

	memset(pub, 0, sizeof(*pub));
	pub->type = hk->type;
	sign_key_free(hk->sign);
	x25519_key_free(hk->seal);
	hk->seal = NULL;
	if ((hk->sign = sign_key_new(hk->sign_sk)) == NULL)
		goto err0;
	sign_key_public(hk->sign, pub->sign_pk);
	if (hk->type == HOSTKEY_X25519) {
		if ((hk->seal = x25519_key_new(hk->seal_sk)) == NULL)
			goto err0;
		x25519_key_public(hk->seal, pub->seal_pk);
		pub->seal_pklen = X25519_PUBLICBYTES;
	} else if (rsa_key_spki_der(hk->rsa, pub->seal_pk, sizeof(pub->seal_pk),
	               &pub->seal_pklen))
		goto err0;
	if (hostpub_id_compute(
	        pub->host_id, pub->sign_pk, pub->seal_pk, pub->seal_pklen))
		goto err0;

	/* Success! */
	return (0);

err0:
	/* Failure! */
	return (-1);
}

struct hostkey *
hostkey_generate(enum hostkey_type type)
{
	struct hostkey *hk;
	uint8_t pk[SIGN_PUBLICBYTES];

	if (type != HOSTKEY_X25519 && type != HOSTKEY_RSA) {
		log_warnx("hostkey_generate: unknown key type %d", (int)type);
		goto err0;
	}
	if ((hk = hostkey_new(type)) == NULL)
		goto err0;
	if (sign_keypair(pk, hk->sign_sk))
		goto err1;
	if (type == HOSTKEY_X25519) {
		if (x25519_keypair(pk, hk->seal_sk))
			goto err1;
	} else if ((hk->rsa = rsa_key_generate(RSA_BITS_DEFAULT)) == NULL)
		goto err1;
	if (derive_public(hk))
		goto err1;

	/* Success! */
	return (hk);

err1:
	hostkey_free(hk);
err0:
	/* Failure! */
	return (NULL);
}

/* ${s} (${len} bytes): 32 lowercase hex digits into ${id}; 0 or -1. */
static int
meta_id(uint8_t id[static HOSTPUB_IDBYTES], const char *s, size_t len)
{
	size_t i, n;

	if (len != HOSTPUB_IDHEXLEN)
		return (-1);
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return (-1);
	if (encode_unhex(id, HOSTPUB_IDBYTES, &n, s, len) ||
	    n != HOSTPUB_IDBYTES)
		return (-1);
	return (0);
}

/* ${s} (${len} bytes): a key version 1..65535, no leading zero; 0 or -1. */
static int
meta_kvno(uint16_t *kvno, const char *s, size_t len)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 5 || s[0] == '0')
		return (-1);
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > UINT16_MAX)
		return (-1);
	*kvno = (uint16_t)v;
	return (0);
}

/*
 * Read the Host-Id and Key-Version lines before the first PEM block of
 * ${pem} (${len} bytes) into ${hk} (kvno, meta) and ${id}.  Return 0, or -1
 * with ${*errstr} set.
 */
static int
parse_meta(struct hostkey *hk, uint8_t id[static HOSTPUB_IDBYTES],
    const char *pem, size_t len, const char **errstr)
{
	const char *p = pem, *end = pem + len, *nl;
	size_t n, lid = strlen(META_ID), lkv = strlen(META_KVNO);
	int seen = 0; /* 1: Host-Id, 2: Key-Version */

	*errstr = "malformed Host-Id or Key-Version line";
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n >= 10 && memcmp(p, "-----BEGIN", 10) == 0)
			break;
		if (n >= lid && memcmp(p, META_ID, lid) == 0) {
			if ((seen & 1) || meta_id(id, p + lid, n - lid))
				return (-1);
			seen |= 1;
		} else if (n >= lkv && memcmp(p, META_KVNO, lkv) == 0) {
			if ((seen & 2) ||
			    meta_kvno(&hk->kvno, p + lkv, n - lkv))
				return (-1);
			seen |= 2;
		}
	}
	if (seen != 0 && seen != 3) {
		*errstr = "Host-Id and Key-Version lines go together";
		return (-1);
	}
	hk->meta = seen == 3;
	return (0);
}

static void
pemblock_free(struct pemblock *b)
{
	OPENSSL_secure_free(b->name);
	OPENSSL_secure_free(b->header);
	if (b->data != NULL)
		OPENSSL_secure_clear_free(b->data, (size_t)b->len);
	memset(b, 0, sizeof(*b));
}

/*
 * Read the next PEM block from ${bio} into ${b}.  Return 1 if one was read,
 * 0 at the end (no further "-----BEGIN" line), -1 if the PEM is broken.
 */
static int
pemblock_read(BIO *bio, struct pemblock *b)
{
	unsigned long e;

	memset(b, 0, sizeof(*b));
	if (PEM_read_bio_ex(bio, &b->name, &b->header, &b->data, &b->len,
	        PEM_FLAG_SECURE | PEM_FLAG_EAY_COMPATIBLE) == 1)
		return (1);
	e = ERR_peek_last_error();
	ERR_clear_error();
	memset(b, 0, sizeof(*b));
	if (ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
		return (0);
	return (-1);
}

/*
 * Check that ${b} is an unencrypted "PRIVATE KEY" block without headers.
 * Return 0, or -1 with ${*errstr} set.
 */
static int
pemblock_check_name(const struct pemblock *b, const char **errstr)
{
	if (strcmp(b->name, "ENCRYPTED " PEM_PRIVATE_KEY) == 0) {
		*errstr = "encrypted key files are not supported (expected "
		          "two unencrypted PEM PRIVATE KEY blocks)";
		return (-1);
	}
	if (strstr(b->name, "PUBLIC KEY") != NULL) {
		*errstr = "this is a public key, not a cryptgate host key "
		          "(expected two PEM PRIVATE KEY blocks)";
		return (-1);
	}
	if (strcmp(b->name, PEM_PRIVATE_KEY) != 0 || b->header[0] != '\0') {
		*errstr = "not a cryptgate host key (expected two PEM "
		          "PRIVATE KEY blocks)";
		return (-1);
	}
	return (0);
}

/*
 * Decode the PKCS#8 DER of block ${b} (already checked by
 * pemblock_check_name).  Return the key or NULL with ${*errstr} set.
 */
static EVP_PKEY *
pemblock_pkey(const struct pemblock *b, const char **errstr)
{
	const unsigned char *p = b->data;
	PKCS8_PRIV_KEY_INFO *p8;
	EVP_PKEY *pk;

	*errstr = "malformed PKCS#8 private key";
	if (b->len <= 0)
		goto err0;
	if ((p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, b->len)) == NULL)
		goto err0;
	if (p != b->data + b->len)
		goto err1;
	if ((pk = EVP_PKCS82PKEY_ex(p8, NULL, NULL)) == NULL)
		goto err1;
	PKCS8_PRIV_KEY_INFO_free(p8);

	/* Success! */
	*errstr = NULL;
	return (pk);

err1:
	PKCS8_PRIV_KEY_INFO_free(p8);
err0:
	ERR_clear_error();

	/* Failure! */
	return (NULL);
}

/* Copy the raw 32-byte private key of ${pk} to ${sk}. */
static int
raw_private(const EVP_PKEY *pk, uint8_t sk[static 32])
{
	size_t len = 32;

	if (EVP_PKEY_get_raw_private_key(pk, sk, &len) != 1 || len != 32) {
		secret_wipe(sk, 32);
		ERR_clear_error();
		return (-1);
	}
	return (0);
}

/* Load the sealing key of ${hk} from block ${b}; set ${*errstr}. */
static int
parse_seal(struct hostkey *hk, const struct pemblock *b, const char **errstr)
{
	EVP_PKEY *pk;
	int bits;

	if ((pk = pemblock_pkey(b, errstr)) == NULL)
		goto err0;
	if (EVP_PKEY_is_a(pk, "X25519")) {
		hk->type = HOSTKEY_X25519;
		*errstr = "malformed X25519 key";
		if (raw_private(pk, hk->seal_sk))
			goto err1;
	} else if (EVP_PKEY_is_a(pk, "RSA")) {
		hk->type = HOSTKEY_RSA;
		bits = EVP_PKEY_get_bits(pk);
		if (bits < RSA_BITS_MIN || bits > RSA_BITS_MAX) {
			*errstr = "RSA key size outside 2048..4096 bits";
			goto err1;
		}
		*errstr = "malformed RSA key";
		if ((hk->rsa = rsa_key_from_pkcs8_der(
		         b->data, (size_t)b->len)) == NULL ||
		    !rsa_key_is_private(hk->rsa))
			goto err1;
	} else {
		*errstr = "second key is not an X25519 or RSA private key";
		goto err1;
	}
	EVP_PKEY_free(pk);

	/* Success! */
	*errstr = NULL;
	return (0);

err1:
	EVP_PKEY_free(pk);
err0:
	/* Failure! */
	return (-1);
}

/* Load the signing key of ${hk} from block ${b}; set ${*errstr}. */
static int
parse_sign(struct hostkey *hk, const struct pemblock *b, const char **errstr)
{
	EVP_PKEY *pk;

	if ((pk = pemblock_pkey(b, errstr)) == NULL)
		goto err0;
	if (!EVP_PKEY_is_a(pk, "ED25519")) {
		*errstr = "first key is not an Ed25519 private key (expected "
		          "the signing key first)";
		goto err1;
	}
	if (raw_private(pk, hk->sign_sk)) {
		*errstr = "malformed Ed25519 key";
		goto err1;
	}
	EVP_PKEY_free(pk);

	/* Success! */
	return (0);

err1:
	EVP_PKEY_free(pk);
err0:
	/* Failure! */
	return (-1);
}

struct hostkey *
hostkey_parse(const char *pem, size_t len, const char **errstr)
{
	struct pemblock b[3];
	struct hostkey *hk;
	uint8_t id[HOSTPUB_IDBYTES];
	BIO *bio;
	int i, n, r;

	memset(b, 0, sizeof(b));
	*errstr = "file too large for a host key";
	if (len > HOSTKEY_FILEBYTES_MAX)
		goto err0;
	*errstr = "out of memory";
	if ((hk = hostkey_new(HOSTKEY_X25519)) == NULL)
		goto err0;
	if (parse_meta(hk, id, pem, len, errstr))
		goto err1;
	*errstr = "out of memory";
	if ((bio = BIO_new_mem_buf(len > 0 ? pem : "", (int)len)) == NULL)
		goto err1;

	/* Exactly two blocks, then nothing that looks like PEM. */
	for (n = 0; n < 3; n++) {
		if ((r = pemblock_read(bio, &b[n])) == 0)
			break;
		if (r == -1) {
			*errstr = "truncated or malformed PEM block";
			goto err2;
		}
	}
	for (i = 0; i < n; i++)
		if (pemblock_check_name(&b[i], errstr))
			goto err2;
	if (n != 2) {
		if (n == 3)
			*errstr = "not a cryptgate host key (more than two PEM "
			          "blocks)";
		else if (n == 1)
			*errstr = "not a cryptgate host key (found one PEM "
			          "block, expected two: the signing key, then "
			          "the sealing key)";
		else
			*errstr = "not a cryptgate host key (expected two PEM "
			          "PRIVATE KEY blocks)";
		goto err2;
	}
	if (parse_sign(hk, &b[0], errstr) || parse_seal(hk, &b[1], errstr))
		goto err2;
	if (derive_public(hk)) {
		*errstr = "cannot derive the public keys";
		goto err2;
	}
	if (hk->meta)
		memcpy(hk->pub.host_id, id, HOSTPUB_IDBYTES);
	for (n = 0; n < 3; n++)
		pemblock_free(&b[n]);
	BIO_free(bio);

	/* Success! */
	*errstr = NULL;
	return (hk);

err2:
	for (n = 0; n < 3; n++)
		pemblock_free(&b[n]);
	BIO_free(bio);
err1:
	hostkey_free(hk);
err0:
	ERR_clear_error();

	/* Failure! */
	return (NULL);
}

struct hostkey *
hostkey_load(const char *path)
{
	struct hostkey *hk;
	const char *errstr;
	size_t len;
	char *buf;

	if (file_read_secret(path, HOSTKEY_FILEBYTES_MAX, &buf, &len))
		goto err0;
	if ((hk = hostkey_parse(buf, len, &errstr)) == NULL) {
		log_warnx("%s: %s", path, errstr);
		goto err1;
	}
	secret_free(buf, len + 1);

	/* Success! */
	return (hk);

err1:
	secret_free(buf, len + 1);
err0:
	/* Failure! */
	return (NULL);
}

/* Append the raw ${type} key ${sk} to ${bio} as a PKCS#8 PEM block. */
static int
write_raw_pem(BIO *bio, int type, const uint8_t sk[static 32])
{
	EVP_PKEY *pk;

	if ((pk = EVP_PKEY_new_raw_private_key(type, NULL, sk, 32)) == NULL)
		goto err0;
	if (PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL) != 1)
		goto err1;
	EVP_PKEY_free(pk);

	/* Success! */
	return (0);

err1:
	EVP_PKEY_free(pk);
err0:
	/* Failure! */
	return (-1);
}

/*
 * The key file contents of ${hk}, in a new secret_alloc buffer ${*pem} of
 * ${*len} + 1 bytes (NUL-terminated).
 */
static int
hostkey_to_pem(const struct hostkey *hk, char **pem, size_t *len)
{
	char hex[HOSTPUB_IDHEXLEN + 1];
	char *rsapem, *data, *p;
	size_t rsalen;
	long n;
	BIO *bio;

	if ((bio = BIO_new(BIO_s_secmem())) == NULL)
		goto err0;
	/* A rotated key keeps its identity lines (hostkey.h). */
	if (hk->meta &&
	    (encode_hex(hex, sizeof(hex), hk->pub.host_id, HOSTPUB_IDBYTES) ||
	        BIO_printf(bio, "%s%s\n%s%u\n", META_ID, hex, META_KVNO,
	            (unsigned int)hk->kvno) <= 0))
		goto err1;
	if (write_raw_pem(bio, EVP_PKEY_ED25519, hk->sign_sk))
		goto err1;
	if (hk->type == HOSTKEY_X25519) {
		if (write_raw_pem(bio, EVP_PKEY_X25519, hk->seal_sk))
			goto err1;
	} else {
		if (rsa_key_to_pem(hk->rsa, &rsapem, &rsalen))
			goto err1;
		n = rsalen > INT_MAX ? -1 : BIO_write(bio, rsapem, (int)rsalen);
		secret_free(rsapem, rsalen + 1);
		if (n != (long)rsalen)
			goto err1;
	}
	if ((n = BIO_get_mem_data(bio, &data)) <= 0)
		goto err1;
	if ((p = secret_alloc((size_t)n + 1)) == NULL)
		goto err1;
	memcpy(p, data, (size_t)n);
	BIO_free(bio);
	*pem = p;
	*len = (size_t)n;

	/* Success! */
	return (0);

err1:
	BIO_free(bio);
err0:
	log_warnx("hostkey: cannot encode the key as PEM");
	ERR_clear_error();

	/* Failure! */
	return (-1);
}

int
hostkey_save(const struct hostkey *hk, const char *prefix, const char *comment,
    int flags)
{
	char line[HOSTPUB_LINEBYTES_MAX + 1];
	char *keypath = NULL, *pubpath = NULL, *pem;
	struct hostpub pub;
	struct stat st;
	size_t pemlen, linelen;
	int wflags = (flags & HOSTKEY_FORCE) ? 0 : FILE_EXCL, saved;

	if (asprintf(&keypath, "%s.key", prefix) == -1) {
		log_warn("hostkey_save");
		keypath = NULL;
		goto err0;
	}
	if (asprintf(&pubpath, "%s.pub", prefix) == -1) {
		log_warn("hostkey_save");
		pubpath = NULL;
		goto err0;
	}
	pub = hk->pub;
	if (hostpub_set_comment(&pub, comment)) {
		log_warnx("%s: invalid comment (printable ASCII, at most %d "
		          "characters, no leading or trailing space)",
		    pubpath, HOSTPUB_COMMENTBYTES_MAX);
		goto err0;
	}
	if (hostpub_format(&pub, line, sizeof(line) - 1)) {
		log_warnx("%s: cannot format the public key", pubpath);
		goto err0;
	}
	linelen = strlen(line);
	line[linelen++] = '\n';

	/* Refuse early, before writing anything, if either file exists. */
	if (wflags == FILE_EXCL &&
	    (lstat(keypath, &st) == 0 || lstat(pubpath, &st) == 0)) {
		errno = EEXIST;
		goto err0;
	}
	if (hostkey_to_pem(hk, &pem, &pemlen))
		goto err0;
	if (file_write(keypath, pem, pemlen, 0600, wflags))
		goto err1;
	if (file_write(pubpath, line, linelen, 0644, wflags)) {
		saved = errno;
		if (wflags == FILE_EXCL)
			unlink(keypath);
		errno = saved;
		goto err1;
	}
	secret_free(pem, pemlen + 1);
	free(pubpath);
	free(keypath);

	/* Success! */
	return (0);

err1:
	saved = errno;
	secret_free(pem, pemlen + 1);
	errno = saved;
err0:
	saved = errno;
	free(pubpath);
	free(keypath);
	errno = saved;

	/* Failure! */
	return (-1);
}

uint16_t
hostkey_kvno(const struct hostkey *hk)
{
	return (hk->kvno);
}

enum hostkey_type
hostkey_type(const struct hostkey *hk)
{
	return (hk->type);
}

void
hostkey_public(const struct hostkey *hk, struct hostpub *pub)
{
	*pub = hk->pub;
}

int
hostkey_sign(const struct hostkey *hk, uint8_t sig[static SIGN_BYTES],
    const char *ctx, const uint8_t *m, size_t mlen)
{
	return (sign_key_detached(sig, ctx, m, mlen, hk->sign));
}

/* hostkey_open for an RSA host. */
static int
open_rsa(const struct hostkey *hk, uint8_t *m, size_t msize, size_t *mlen,
    const uint8_t *c, size_t clen, const uint8_t *info, size_t infolen,
    const uint8_t *aad, size_t aadlen)
{
	uint8_t *label;
	size_t labellen;
	int rc;

	if (hostpub_oaep_label(info, infolen, aad, aadlen, &label, &labellen))
		return (-1);
	rc = rsa_oaep_open(m, msize, mlen, c, clen, label, labellen, hk->rsa);
	free(label);
	return (rc);
}

int
hostkey_open(const struct hostkey *hk, uint8_t *m, size_t msize, size_t *mlen,
    const uint8_t *c, size_t clen, const uint8_t *info, size_t infolen,
    const uint8_t *aad, size_t aadlen)
{
	*mlen = 0;
	if (infolen > HPKE_INFOBYTES_MAX)
		goto err0;
	if (hk->type == HOSTKEY_RSA) {
		if (open_rsa(hk, m, msize, mlen, c, clen, info, infolen, aad,
		        aadlen))
			goto err0;
	} else {
		if (clen < HPKE_OVERHEAD || msize < clen - HPKE_OVERHEAD)
			goto err0;
		if (hpke_open_key(
		        m, c, clen, info, infolen, aad, aadlen, hk->seal))
			goto err0;
		*mlen = clen - HPKE_OVERHEAD;
	}

	/* Success! */
	return (0);

err0:
	*mlen = 0;
	secret_wipe(m, msize);

	/* Failure! */
	return (-1);
}
