/*
 * hpke.c: Hybrid Public Key Encryption (RFC 9180) with DHKEM(X25519,
 * HKDF-SHA256), HKDF-SHA256 and the AEADs AES-128-GCM, ChaCha20-Poly1305
 * and export-only, in all four modes, on the library's HKDF, AEAD and
 * X25519 wrappers.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cryptgate/aead.h"
#include "cryptgate/hkdf.h"
#include "cryptgate/log.h"
#include "cryptgate/secret.h"
#include "cryptgate/x25519.h"
#include "cryptgate/hpke.h"

/* RFC 9180 section 7.1: identifiers. */
#define HPKE_KEM_X25519_SHA256 0x0020
#define HPKE_KDF_HKDF_SHA256 0x0001

#define HPKE_NH 32 /* KDF output size */
#define HPKE_NN AEAD_NONCEBYTES
#define HPKE_NSECRET 32 /* DHKEM(X25519) shared_secret size */
#define HPKE_SUITEBYTES_MAX 10

/* "HPKE-v1" || suite_id || label || ikm (or info) must fit here. */
#define HPKE_LABELEDBYTES_MAX 1024

/* The RFC 9180 section 4 label prefix, without its NUL. */
static const uint8_t hpke_v1[] = { 'H', 'P', 'K', 'E', '-', 'v', '1' };
#define HPKE_V1LEN sizeof(hpke_v1)

struct hpke_ctx {
	enum hpke_aead aead;
	enum aead_alg alg; /* unused for export-only */
	size_t nk; /* key length, 0 for export-only */
	bool sender;
	uint64_t seq; /* never wraps: see next_nonce */
	uint8_t key[AEAD_KEYBYTES_MAX];
	uint8_t base_nonce[HPKE_NN];
	uint8_t exporter_secret[HPKE_NH];
};

/* A suite_id: "KEM" || kem_id, or "HPKE" || kem_id || kdf_id || aead_id. */
struct hpke_suite {
	uint8_t id[HPKE_SUITEBYTES_MAX];
	size_t len;
};

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
suite_kem(struct hpke_suite *s)
{
	memcpy(s->id, "KEM", 3);
	put16(s->id + 3, HPKE_KEM_X25519_SHA256);
	s->len = 5;
}

static void
suite_hpke(struct hpke_suite *s, enum hpke_aead aead)
{
	memcpy(s->id, "HPKE", 4);
	put16(s->id + 4, HPKE_KEM_X25519_SHA256);
	put16(s->id + 6, HPKE_KDF_HKDF_SHA256);
	put16(s->id + 8, (uint16_t)aead);
	s->len = 10;
}

/* Copy ${len} bytes at ${p} to ${buf} + ${*n}; the caller checked room. */
static void
append(uint8_t *buf, size_t *n, const void *p, size_t len)
{
	if (len > 0)
		memcpy(buf + *n, p, len);
	*n += len;
}

/*
 * LabeledExtract(salt, label, ikm) (RFC 9180 section 4):
 * Extract(salt, "HPKE-v1" || suite_id || label || ikm).
 */
static int
labeled_extract(uint8_t prk[static HPKE_NH], const struct hpke_suite *s,
    const uint8_t *salt, size_t saltlen, const char *label, const uint8_t *ikm,
    size_t ikmlen)
{
	uint8_t buf[HPKE_LABELEDBYTES_MAX];
	size_t labellen = strlen(label), n = 0;
	int rc;

	if (ikmlen > sizeof(buf) - HPKE_V1LEN - s->len - labellen) {
		log_warnx("hpke: input of %zu bytes too long", ikmlen);
		return (-1);
	}
	append(buf, &n, hpke_v1, HPKE_V1LEN);
	append(buf, &n, s->id, s->len);
	append(buf, &n, label, labellen);
	append(buf, &n, ikm, ikmlen);
	rc = hkdf_extract(prk, salt, saltlen, buf, n);
	secret_wipe(buf, n);
	return (rc);
}

/*
 * LabeledExpand(prk, label, info, L) (RFC 9180 section 4):
 * Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L).
 */
static int
labeled_expand(uint8_t *out, size_t outlen, const uint8_t prk[static HPKE_NH],
    const struct hpke_suite *s, const char *label, const uint8_t *info,
    size_t infolen)
{
	uint8_t buf[HPKE_LABELEDBYTES_MAX];
	size_t labellen = strlen(label), n = 0;
	int rc;

	if (outlen > (size_t)HPKE_EXPORTBYTES_MAX ||
	    infolen > sizeof(buf) - 2 - HPKE_V1LEN - s->len - labellen) {
		log_warnx("hpke: expand of %zu bytes with %zu bytes of info",
		    outlen, infolen);
		return (-1);
	}
	put16(buf, (uint16_t)outlen);
	n += 2;
	append(buf, &n, hpke_v1, HPKE_V1LEN);
	append(buf, &n, s->id, s->len);
	append(buf, &n, label, labellen);
	append(buf, &n, info, infolen);
	rc = hkdf_expand(out, outlen, prk, HPKE_NH, buf, n);
	secret_wipe(buf, n);
	return (rc);
}

/*
 * DeriveKeyPair (RFC 9180 section 7.1.3) up to the private key: ${sk} from
 * ${ikm}.  Return 0 or -1 (logged).
 */
static int
derive_sk(
    uint8_t sk[static X25519_SECRETBYTES], const uint8_t *ikm, size_t ikmlen)
{
	struct hpke_suite s;
	uint8_t prk[HPKE_NH];

	/* RFC 9180 section 7.1.3: ikm carries at least Nsk bytes of entropy. */
	if (ikm == NULL || ikmlen < X25519_SECRETBYTES ||
	    ikmlen > HPKE_IKMBYTES_MAX) {
		log_warnx("hpke_derive_keypair: bad ikm length %zu", ikmlen);
		goto err0;
	}
	suite_kem(&s);
	if (labeled_extract(prk, &s, NULL, 0, "dkp_prk", ikm, ikmlen) ||
	    labeled_expand(sk, X25519_SECRETBYTES, prk, &s, "sk", NULL, 0))
		goto err1;
	secret_wipe(prk, sizeof(prk));

	/* Success! */
	return (0);

err1:
	secret_wipe(prk, sizeof(prk));
	secret_wipe(sk, X25519_SECRETBYTES);
err0:

	/* Failure! */
	return (-1);
}

int
hpke_derive_keypair(uint8_t pk[static X25519_PUBLICBYTES],
    uint8_t sk[static X25519_SECRETBYTES], const uint8_t *ikm, size_t ikmlen)
{
	if (derive_sk(sk, ikm, ikmlen))
		goto err0;
	if (x25519_public(pk, sk))
		goto err1;

	/* Success! */
	return (0);

err1:
	secret_wipe(sk, X25519_SECRETBYTES);
err0:

	/* Failure! */
	return (-1);
}

/*
 * DHKEM ExtractAndExpand (RFC 9180 section 4.1): shared_secret from
 * ${dh} (one or two X25519 results) and kem_context = enc || pkR [|| pkS].
 */
static int
kem_shared_secret(uint8_t ss[static HPKE_NSECRET], const uint8_t *dh,
    size_t dhlen, const uint8_t enc[static HPKE_ENCBYTES],
    const uint8_t pkR[static X25519_PUBLICBYTES], const uint8_t *pkS)
{
	struct hpke_suite s;
	uint8_t prk[HPKE_NH], kem_context[3 * X25519_PUBLICBYTES];
	size_t n = HPKE_ENCBYTES + X25519_PUBLICBYTES;
	int rc;

	memcpy(kem_context, enc, HPKE_ENCBYTES);
	memcpy(kem_context + HPKE_ENCBYTES, pkR, X25519_PUBLICBYTES);
	if (pkS != NULL) {
		memcpy(kem_context + n, pkS, X25519_PUBLICBYTES);
		n += X25519_PUBLICBYTES;
	}
	suite_kem(&s);
	rc = -1;
	if (labeled_extract(prk, &s, NULL, 0, "eae_prk", dh, dhlen) == 0 &&
	    labeled_expand(ss, HPKE_NSECRET, prk, &s, "shared_secret",
	        kem_context, n) == 0)
		rc = 0;
	secret_wipe(prk, sizeof(prk));
	return (rc);
}

static bool
is_auth(enum hpke_mode mode)
{
	return (mode == HPKE_MODE_AUTH || mode == HPKE_MODE_AUTH_PSK);
}

/*
 * Check ${p} against the caps and RFC 9180 section 5.1 VerifyPSKInputs:
 * a PSK and a PSK id are both given (PSK modes) or both absent.  The auth
 * key of ${sender}'s side is required in auth modes and refused in the
 * others; the other side's field is ignored.  Return 0 or -1.
 */
static int
check_params(const struct hpke_params *p, bool sender, const char *what)
{
	bool got_psk, got_psk_id, psk_mode;

	if (p == NULL) {
		log_warnx("%s: no parameters", what);
		return (-1);
	}
	switch (p->mode) {
	case HPKE_MODE_BASE:
	case HPKE_MODE_AUTH:
		psk_mode = false;
		break;
	case HPKE_MODE_PSK:
	case HPKE_MODE_AUTH_PSK:
		psk_mode = true;
		break;
	default:
		log_warnx("%s: unknown mode %d", what, (int)p->mode);
		return (-1);
	}
	switch (p->aead) {
	case HPKE_AEAD_AES128GCM:
	case HPKE_AEAD_CHACHA20POLY1305:
	case HPKE_AEAD_EXPORT_ONLY:
		break;
	default:
		log_warnx("%s: unknown AEAD 0x%04x", what, (unsigned)p->aead);
		return (-1);
	}
	if (p->infolen > HPKE_INFOBYTES_MAX ||
	    (p->info == NULL && p->infolen > 0)) {
		log_warnx("%s: bad info length %zu", what, p->infolen);
		return (-1);
	}
	got_psk = p->psklen > 0;
	got_psk_id = p->psk_idlen > 0;
	if ((got_psk && p->psk == NULL) || (got_psk_id && p->psk_id == NULL)) {
		log_warnx("%s: NULL PSK or PSK id", what);
		return (-1);
	}
	if (got_psk != got_psk_id) {
		log_warnx("%s: PSK and PSK id must be given together", what);
		return (-1);
	}
	if (got_psk != psk_mode) {
		log_warnx("%s: PSK %s in mode %d", what,
		    got_psk ? "given" : "missing", (int)p->mode);
		return (-1);
	}
	if (got_psk &&
	    (p->psklen < HPKE_PSKBYTES_MIN || p->psklen > HPKE_PSKBYTES_MAX ||
	        p->psk_idlen > HPKE_PSKIDBYTES_MAX)) {
		log_warnx("%s: PSK of %zu bytes (%d..%d) or PSK id of %zu "
		          "bytes (max %d)",
		    what, p->psklen, HPKE_PSKBYTES_MIN, HPKE_PSKBYTES_MAX,
		    p->psk_idlen, HPKE_PSKIDBYTES_MAX);
		return (-1);
	}
	if (is_auth(p->mode) && (sender ? p->skS == NULL : p->pkS == NULL)) {
		log_warnx("%s: auth mode without the %s key", what,
		    sender ? "sender's private" : "sender's public");
		return (-1);
	}
	if (!is_auth(p->mode) && (p->skS != NULL || p->pkS != NULL)) {
		log_warnx("%s: sender key given outside the auth modes", what);
		return (-1);
	}
	return (0);
}

/*
 * KeySchedule (RFC 9180 section 5.1) from ${ss}; ${p} has been checked.
 * Return a new context or NULL.
 */
static struct hpke_ctx *
key_schedule(const uint8_t ss[static HPKE_NSECRET], const struct hpke_params *p,
    bool sender)
{
	struct hpke_ctx *ctx;
	struct hpke_suite s;
	uint8_t ksc[1 + 2 * HPKE_NH], secret[HPKE_NH];

	if ((ctx = secret_alloc(sizeof(*ctx))) == NULL) {
		log_warnx("hpke: secret_alloc failed");
		goto err0;
	}
	ctx->aead = p->aead;
	ctx->sender = sender;
	ctx->seq = 0;
	/* The AEAD of an export-only context is never used. */
	if (p->aead == HPKE_AEAD_AES128GCM)
		ctx->alg = AEAD_AES128_GCM;
	else
		ctx->alg = AEAD_CHACHA20_POLY1305;
	ctx->nk =
	    p->aead == HPKE_AEAD_EXPORT_ONLY ? 0 : aead_keybytes(ctx->alg);
	suite_hpke(&s, p->aead);

	/* key_schedule_context = mode || psk_id_hash || info_hash */
	ksc[0] = (uint8_t)p->mode;
	if (labeled_extract(
	        ksc + 1, &s, NULL, 0, "psk_id_hash", p->psk_id, p->psk_idlen) ||
	    labeled_extract(ksc + 1 + HPKE_NH, &s, NULL, 0, "info_hash",
	        p->info, p->infolen))
		goto err1;
	if (labeled_extract(
	        secret, &s, ss, HPKE_NSECRET, "secret", p->psk, p->psklen))
		goto err2;

	/* Export-only: Nk = Nn = 0, no key and no nonce. */
	if (ctx->nk > 0 &&
	    (labeled_expand(
	         ctx->key, ctx->nk, secret, &s, "key", ksc, sizeof(ksc)) ||
	        labeled_expand(ctx->base_nonce, HPKE_NN, secret, &s,
	            "base_nonce", ksc, sizeof(ksc))))
		goto err2;
	if (labeled_expand(ctx->exporter_secret, HPKE_NH, secret, &s, "exp",
	        ksc, sizeof(ksc)))
		goto err2;
	secret_wipe(secret, sizeof(secret));

	/* Success! */
	return (ctx);

err2:
	secret_wipe(secret, sizeof(secret));
err1:
	hpke_ctx_free(ctx);
err0:

	/* Failure! */
	return (NULL);
}

struct hpke_ctx *
hpke_setup_sender(uint8_t enc[static HPKE_ENCBYTES],
    const uint8_t pkR[static X25519_PUBLICBYTES],
    const struct hpke_params *params)
{
	struct hpke_ctx *ctx = NULL;
	struct x25519_key *kE = NULL, *kS = NULL;
	uint8_t skE[X25519_SECRETBYTES], pkE[X25519_PUBLICBYTES];
	uint8_t pkS[X25519_PUBLICBYTES], dh[2 * X25519_SHAREDBYTES];
	uint8_t ss[HPKE_NSECRET];
	bool auth;

	if (check_params(params, true, "hpke_setup_sender"))
		goto err0;
	/* NOLINTNEXTLINE(clang-analyzer-core.NullDereference): check_params refused NULL */
	auth = is_auth(params->mode);

	/*
	 * Encap / AuthEncap (RFC 9180 section 4.1).  The ephemeral key stays
	 * an imported key from its generation to the exchange: one scalar
	 * multiplication for pkE, one for the exchange.
	 */
	if (params->ikmE != NULL) {
		if (derive_sk(skE, params->ikmE, params->ikmElen))
			goto err1;
		kE = x25519_key_new(skE);
	} else
		kE = x25519_key_generate();
	if (kE == NULL)
		goto err1;
	x25519_key_public(kE, pkE);
	if (auth) {
		if ((kS = x25519_key_new(params->skS)) == NULL)
			goto err1;
		x25519_key_public(kS, pkS);
	}
	if (x25519_key_derive(dh, kE, pkR)) {
		log_warnx("hpke_setup_sender: bad recipient public key");
		goto err1;
	}
	if (auth && x25519_key_derive(dh + X25519_SHAREDBYTES, kS, pkR)) {
		log_warnx("hpke_setup_sender: bad recipient public key");
		goto err1;
	}
	if (kem_shared_secret(ss, dh,
	        auth ? 2 * X25519_SHAREDBYTES : X25519_SHAREDBYTES, pkE, pkR,
	        auth ? pkS : NULL))
		goto err1;
	if ((ctx = key_schedule(ss, params, true)) == NULL)
		goto err1;
	memcpy(enc, pkE, HPKE_ENCBYTES);
	secret_wipe(ss, sizeof(ss));
	secret_wipe(dh, sizeof(dh));
	secret_wipe(skE, sizeof(skE));
	x25519_key_free(kS);
	x25519_key_free(kE);

	/* Success! */
	return (ctx);

err1:
	secret_wipe(ss, sizeof(ss));
	secret_wipe(dh, sizeof(dh));
	secret_wipe(skE, sizeof(skE));
	x25519_key_free(kS);
	x25519_key_free(kE);
err0:

	/* Failure! */
	return (NULL);
}

struct hpke_ctx *
hpke_setup_receiver_key(const uint8_t enc[static HPKE_ENCBYTES],
    const struct x25519_key *kR, const struct hpke_params *params)
{
	struct hpke_ctx *ctx = NULL;
	uint8_t pkR[X25519_PUBLICBYTES], dh[2 * X25519_SHAREDBYTES];
	uint8_t ss[HPKE_NSECRET];
	bool auth;

	if (check_params(params, false, "hpke_setup_receiver"))
		goto err0;
	if (kR == NULL) {
		log_warnx("hpke_setup_receiver: no key");
		goto err0;
	}
	auth = is_auth(params->mode);

	/*
	 * Decap / AuthDecap (RFC 9180 section 4.1).  A low-order ${enc} or
	 * pkS makes the exchange fail: peer input, not logged.
	 */
	x25519_key_public(kR, pkR);
	if (x25519_key_derive(dh, kR, enc))
		goto err1;
	if (auth && x25519_key_derive(dh + X25519_SHAREDBYTES, kR, params->pkS))
		goto err1;
	if (kem_shared_secret(ss, dh,
	        auth ? 2 * X25519_SHAREDBYTES : X25519_SHAREDBYTES, enc, pkR,
	        auth ? params->pkS : NULL))
		goto err1;
	if ((ctx = key_schedule(ss, params, false)) == NULL)
		goto err1;
	secret_wipe(ss, sizeof(ss));
	secret_wipe(dh, sizeof(dh));

	/* Success! */
	return (ctx);

err1:
	secret_wipe(ss, sizeof(ss));
	secret_wipe(dh, sizeof(dh));
err0:

	/* Failure! */
	return (NULL);
}

struct hpke_ctx *
hpke_setup_receiver(const uint8_t enc[static HPKE_ENCBYTES],
    const uint8_t skR[static X25519_SECRETBYTES],
    const struct hpke_params *params)
{
	struct x25519_key *kR;
	struct hpke_ctx *ctx;

	if (check_params(params, false, "hpke_setup_receiver"))
		return (NULL);
	if ((kR = x25519_key_new(skR)) == NULL)
		return (NULL);
	ctx = hpke_setup_receiver_key(enc, kR, params);
	x25519_key_free(kR);
	return (ctx);
}

/*
 * ComputeNonce (RFC 9180 section 5.2): base_nonce XOR I2OSP(seq, Nn).
 * Refuse when seq cannot be incremented afterwards: our counter is 64
 * bits, so the limit is 2^64 - 1 messages, below the RFC's 2^96 - 1.
 */
static int
next_nonce(const struct hpke_ctx *ctx, uint8_t nonce[static HPKE_NN])
{
	size_t i;

	if (ctx->seq == UINT64_MAX)
		return (-1);
	memcpy(nonce, ctx->base_nonce, HPKE_NN);
	for (i = 0; i < 8; i++)
		nonce[HPKE_NN - 1 - i] ^= (uint8_t)(ctx->seq >> (8 * i));
	return (0);
}

int
hpke_ctx_seal(struct hpke_ctx *ctx, uint8_t *c, const uint8_t *m, size_t mlen,
    const uint8_t *aad, size_t aadlen)
{
	uint8_t nonce[HPKE_NN];

	if (ctx == NULL || !ctx->sender || ctx->nk == 0) {
		log_warnx("hpke_ctx_seal: not a sender context with an AEAD");
		goto err0;
	}
	if (next_nonce(ctx, nonce)) {
		log_warnx("hpke_ctx_seal: sequence number exhausted");
		goto err0;
	}
	if (aead_seal(c, m, mlen, aad, aadlen, nonce, ctx->key, ctx->alg))
		goto err0;
	ctx->seq++;

	/* Success! */
	return (0);

err0:

	/* Failure! */
	return (-1);
}

int
hpke_ctx_open(struct hpke_ctx *ctx, uint8_t *m, const uint8_t *c, size_t clen,
    const uint8_t *aad, size_t aadlen)
{
	uint8_t nonce[HPKE_NN];

	if (ctx == NULL || ctx->sender || ctx->nk == 0) {
		log_warnx("hpke_ctx_open: not a receiver context with an AEAD");
		goto err0;
	}
	if (next_nonce(ctx, nonce)) {
		log_warnx("hpke_ctx_open: sequence number exhausted");
		goto err0;
	}

	/* aead_open zeroes ${m} on failure. */
	if (aead_open(m, c, clen, aad, aadlen, nonce, ctx->key, ctx->alg))
		goto err1;
	ctx->seq++;

	/* Success! */
	return (0);

err0:
	if (m != NULL && clen >= AEAD_TAGBYTES)
		secret_wipe(m, clen - AEAD_TAGBYTES);
err1:

	/* Failure! */
	return (-1);
}

int
hpke_ctx_export(const struct hpke_ctx *ctx, uint8_t *out, size_t outlen,
    const uint8_t *exp_ctx, size_t exp_ctxlen)
{
	struct hpke_suite s;

	if (ctx == NULL || out == NULL || outlen == 0 ||
	    outlen > (size_t)HPKE_EXPORTBYTES_MAX) {
		log_warnx("hpke_ctx_export: bad output length %zu", outlen);
		goto err0;
	}
	if (exp_ctxlen > HPKE_EXPCTXBYTES_MAX ||
	    (exp_ctx == NULL && exp_ctxlen > 0)) {
		log_warnx(
		    "hpke_ctx_export: bad context length %zu", exp_ctxlen);
		goto err0;
	}

	/* Export (RFC 9180 section 5.3). */
	suite_hpke(&s, ctx->aead);
	if (labeled_expand(out, outlen, ctx->exporter_secret, &s, "sec",
	        exp_ctx, exp_ctxlen))
		goto err0;

	/* Success! */
	return (0);

err0:

	/* Failure! */
	return (-1);
}

void
hpke_ctx_free(struct hpke_ctx *ctx)
{
	secret_free(ctx, sizeof(*ctx));
}

int
hpke_seal(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t *info,
    size_t infolen, const uint8_t *aad, size_t aadlen,
    const uint8_t pkR[static X25519_PUBLICBYTES])
{
	struct hpke_params p;
	struct hpke_ctx *ctx;

	if (c == NULL || mlen > SIZE_MAX - HPKE_OVERHEAD) {
		log_warnx("hpke_seal: bad arguments");
		goto err0;
	}
	memset(&p, 0, sizeof(p));
	p.mode = HPKE_MODE_BASE;
	p.aead = HPKE_AEAD_CHACHA20POLY1305;
	p.info = info;
	p.infolen = infolen;

	/* enc || ct || tag: the context writes enc, then seals after it. */
	if ((ctx = hpke_setup_sender(c, pkR, &p)) == NULL)
		goto err0;
	if (hpke_ctx_seal(ctx, c + HPKE_ENCBYTES, m, mlen, aad, aadlen))
		goto err1;
	hpke_ctx_free(ctx);

	/* Success! */
	return (0);

err1:
	hpke_ctx_free(ctx);
	secret_wipe(c, mlen + HPKE_OVERHEAD);
err0:

	/* Failure! */
	return (-1);
}

int
hpke_open_key(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t *info,
    size_t infolen, const uint8_t *aad, size_t aadlen,
    const struct x25519_key *kR)
{
	struct hpke_params p;
	struct hpke_ctx *ctx = NULL;

	/* Too short to hold enc and a tag: peer input, nothing to zero. */
	if (c == NULL || clen < HPKE_OVERHEAD)
		goto err0;
	memset(&p, 0, sizeof(p));
	p.mode = HPKE_MODE_BASE;
	p.aead = HPKE_AEAD_CHACHA20POLY1305;
	p.info = info;
	p.infolen = infolen;
	if ((ctx = hpke_setup_receiver_key(c, kR, &p)) == NULL)
		goto err1;
	if (hpke_ctx_open(
	        ctx, m, c + HPKE_ENCBYTES, clen - HPKE_ENCBYTES, aad, aadlen))
		goto err1;
	hpke_ctx_free(ctx);

	/* Success! */
	return (0);

err1:
	hpke_ctx_free(ctx);
	if (m != NULL)
		secret_wipe(m, clen - HPKE_OVERHEAD);
err0:

	/* Failure! */
	return (-1);
}

int
hpke_open(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t *info,
    size_t infolen, const uint8_t *aad, size_t aadlen,
    const uint8_t skR[static X25519_SECRETBYTES])
{
	struct x25519_key *kR;
	int rc;

	/* Too short to hold enc and a tag: peer input, nothing to zero. */
	if (c == NULL || clen < HPKE_OVERHEAD)
		return (-1);
	if ((kR = x25519_key_new(skR)) == NULL) {
		if (m != NULL)
			secret_wipe(m, clen - HPKE_OVERHEAD);
		return (-1);
	}
	rc = hpke_open_key(m, c, clen, info, infolen, aad, aadlen, kR);
	x25519_key_free(kR);
	return (rc);
}
