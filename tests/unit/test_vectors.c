/*
 * test_vectors.c: known-answer tests.  Every vector of the Wycheproof files
 * in tests/data/vectors/ (see PROVENANCE.md there) goes through cryptgate's
 * own wrappers: aead, x25519, sign and rsa.  The RFC 9180 (HPKE) vectors
 * are run by test_vectors_hpke.c.
 *
 * Wycheproof: "valid" must be accepted with the expected output, "invalid"
 * must be rejected, "acceptable" may go either way (counted as passed, the
 * way it went is printed).  A vector for a parameter the API deliberately
 * does not offer is SKIPPED with its reason, never passed.
 *
 * Prints one line per file and at the end exactly one line
 * "# counts: P passed, F failed, S skipped" with the totals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "cryptgate/aead.h"
#include "cryptgate/cdefs.h"
#include "cryptgate/rsa.h"
#include "cryptgate/sign.h"
#include "cryptgate/x25519.h"

#define VEC_DIR CG_SRCDIR "/tests/data/vectors/"
#define NREASONS 6

/* Per-file counts. */
struct tally {
	const char *file;
	unsigned int passed, failed, skipped, seen;
	unsigned int acc_accepted, acc_rejected;
	const char *reason[NREASONS];
	unsigned int nreason[NREASONS];
};

/* What a wrapper did with one vector. */
enum outcome {
	OUT_ACCEPT, /* accepted, output as expected */
	OUT_REJECT, /* rejected */
	OUT_WRONG, /* accepted with a wrong output: always a failure */
	OUT_ERROR, /* could not be run (bad vector, setup failed): failure */
	OUT_SKIP, /* parameter not offered by the API */
};

/* Per-family state, set up per Wycheproof test group. */
struct gstate {
	bool chacha; /* AEAD family: ChaCha20-Poly1305, else AES-GCM */
	enum aead_alg alg; /* AEAD group */
	struct rsa_key *rsa; /* RSA group key, NULL if it did not parse */
	uint8_t pk[SIGN_PUBLICBYTES]; /* Ed25519 group key */
	int selfcheck; /* negative self-check: 0 not run, 1 ok, -1 failed */
};

struct hexbuf {
	uint8_t *p;
	size_t len;
};

static unsigned int total_passed, total_failed, total_skipped;

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Decode the hex string member ${k} of ${o} into a new buffer in ${b}. */
static int
hexget(struct hexbuf *b, const cJSON *o, const char *k)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
	const char *s;
	size_t n, i;
	int hi, lo;

	b->p = NULL;
	b->len = 0;
	if (!cJSON_IsString(it))
		return (-1);
	s = it->valuestring;
	if ((n = strlen(s)) % 2 != 0)
		return (-1);
	if ((b->p = malloc(n / 2 + 1)) == NULL)
		return (-1);
	for (i = 0; i < n / 2; i++) {
		hi = hexval(s[2 * i]);
		lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			free(b->p);
			b->p = NULL;
			return (-1);
		}
		b->p[i] = (uint8_t)(hi << 4 | lo);
	}
	b->len = n / 2;
	return (0);
}

/* Decode the members ${names} (NULL-terminated) of ${o} into ${f}. */
static int
hexget_all(struct hexbuf *f, const cJSON *o, const char *const *names)
{
	int rc = 0;
	size_t i;

	for (i = 0; names[i] != NULL; i++)
		if (hexget(&f[i], o, names[i]) != 0)
			rc = -1;
	return (rc);
}

static void
hexfree_all(struct hexbuf *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(f[i].p);
}

static bool
hexeq(const struct hexbuf *b, const uint8_t *p, size_t len)
{
	return (b->len == len && (len == 0 || memcmp(b->p, p, len) == 0));
}

static const char *
jstr(const cJSON *o, const char *k)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

	return (cJSON_IsString(it) ? it->valuestring : "");
}

static int
jint(const cJSON *o, const char *k)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);

	return (cJSON_IsNumber(it) ? it->valueint : -1);
}

/* Parse the vector file ${name}; a missing file fails the test. */
static cJSON *
load(const char *name)
{
	char path[1024];
	cJSON *j = NULL;
	char *s = NULL;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s%s", VEC_DIR, name);
	if ((f = fopen(path, "rb")) != NULL) {
		if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 &&
		    fseek(f, 0, SEEK_SET) == 0 &&
		    (s = malloc((size_t)n + 1)) != NULL &&
		    fread(s, 1, (size_t)n, f) == (size_t)n)
			j = cJSON_ParseWithLength(s, (size_t)n);
		free(s);
		fclose(f);
	}
	if (j == NULL) {
		total_failed++;
		printf("# cannot load %s\n", path);
		fail_msg("cannot load or parse %s", path);
	}
	return (j);
}

static void tally_fail(struct tally *, const char *, ...) CG_PRINTF(2, 3);

static void
tally_fail(struct tally *t, const char *fmt, ...)
{
	va_list ap;

	t->failed++;
	printf("# FAIL %s: ", t->file);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static void
tally_skip(struct tally *t, const char *why)
{
	size_t i;

	t->skipped++;
	for (i = 0; i < NREASONS; i++) {
		if (t->reason[i] == NULL)
			t->reason[i] = why;
		if (strcmp(t->reason[i], why) == 0) {
			t->nreason[i]++;
			return;
		}
	}
	fail_msg("%s: too many skip reasons", t->file);
}

/* Count one Wycheproof vector ${tc} that came out as ${o}. */
static void
judge(struct tally *t, const cJSON *tc, enum outcome o, const char *why)
{
	const char *res = jstr(tc, "result");

	t->seen++;
	if (o == OUT_SKIP) {
		tally_skip(t, why);
		return;
	}
	if (o == OUT_ACCEPT || o == OUT_REJECT) {
		if ((strcmp(res, "valid") == 0 && o == OUT_ACCEPT) ||
		    (strcmp(res, "invalid") == 0 && o == OUT_REJECT)) {
			t->passed++;
			return;
		}
		if (strcmp(res, "acceptable") == 0) {
			if (o == OUT_ACCEPT)
				t->acc_accepted++;
			else
				t->acc_rejected++;
			t->passed++;
			return;
		}
		why = o == OUT_ACCEPT ? "accepted" : "rejected";
	}
	tally_fail(t, "tcId %d (%s) [%s]: %s", jint(tc, "tcId"),
	    jstr(tc, "comment"), res, why);
}

/* Print the summary of ${t}, add it to the totals, fail on any failure. */
static void
tally_finish(struct tally *t, unsigned int expected)
{
	size_t i;

	printf("# %s: %u passed, %u failed, %u skipped", t->file, t->passed,
	    t->failed, t->skipped);
	for (i = 0; i < NREASONS && t->reason[i] != NULL; i++)
		printf("%s%u %s", i == 0 ? " (" : "; ", t->nreason[i],
		    t->reason[i]);
	printf("%s", i > 0 ? ")" : "");
	if (t->acc_accepted + t->acc_rejected > 0)
		printf(" acceptable: %u accepted, %u rejected", t->acc_accepted,
		    t->acc_rejected);
	printf("\n");
	fflush(stdout);
	total_passed += t->passed;
	total_failed += t->failed;
	total_skipped += t->skipped;
	/* Every vector of the file was counted, and some actually ran. */
	if (t->seen != expected)
		fail_msg(
		    "%s: %u of %u vectors counted", t->file, t->seen, expected);
	if (t->passed == 0)
		fail_msg("%s: no vector passed", t->file);
	if (t->failed != 0)
		fail_msg("%s: %u failed", t->file, t->failed);
}

/*
 * Run every test of the Wycheproof file ${file}: ${group} prepares a test
 * group (returns a skip reason for all its tests, or NULL), ${one} runs a
 * test, ${group_done} (may be NULL) releases what ${group} set up.
 */
static void
run_wycheproof(const char *file, struct gstate *st,
    const char *(*group)(const cJSON *, struct gstate *),
    enum outcome (*one)(const cJSON *, struct gstate *, const char **),
    void (*group_done)(struct gstate *))
{
	struct tally t = { .file = file };
	const cJSON *g, *tc;
	const char *skip, *why;
	enum outcome o;
	cJSON *root;

	root = load(file);
	cJSON_ArrayForEach(g, cJSON_GetObjectItem(root, "testGroups"))
	{
		skip = group(g, st);
		cJSON_ArrayForEach(tc, cJSON_GetObjectItem(g, "tests"))
		{
			why = skip;
			o = skip != NULL ? OUT_SKIP : one(tc, st, &why);
			judge(&t, tc, o, why);
		}
		if (group_done != NULL)
			group_done(st);
	}
	tally_finish(&t, (unsigned int)jint(root, "numberOfTests"));
	cJSON_Delete(root);
}

/* AEAD: AES-GCM and ChaCha20-Poly1305. */

static const char *
aead_group(const cJSON *g, struct gstate *st)
{
	int ks = jint(g, "keySize");

	if (st->chacha && ks == 256)
		st->alg = AEAD_CHACHA20_POLY1305;
	else if (!st->chacha && ks == 128)
		st->alg = AEAD_AES128_GCM;
	else if (!st->chacha && ks == 256)
		st->alg = AEAD_AES256_GCM;
	else if (!st->chacha && ks == 192)
		return ("192-bit AES keys not offered");
	else
		return ("key size not offered");
	if (jint(g, "ivSize") != 96)
		return ("only 96-bit nonces offered");
	if (jint(g, "tagSize") != 128)
		return ("only 128-bit tags offered");
	return (NULL);
}

enum { A_KEY, A_IV, A_AAD, A_MSG, A_CT, A_TAG, A_N };
static const char *const aead_names[] = { "key", "iv", "aad", "msg", "ct",
	"tag", NULL };

/*
 * Negative self-check on a valid vector: with one ciphertext byte flipped,
 * open must fail and zero its output.  Return 1 if so, else -1.
 */
static int
aead_selfcheck(
    const uint8_t *c, size_t clen, const struct hexbuf *f, enum aead_alg alg)
{
	uint8_t *bad = NULL, *m = NULL;
	int ok = -1;
	size_t i;

	if ((bad = malloc(clen)) == NULL || (m = malloc(clen)) == NULL)
		goto done;
	memcpy(bad, c, clen);
	bad[0] ^= 0x01;
	memset(m, 0xa5, clen);
	if (aead_open(m, bad, clen, f[A_AAD].p, f[A_AAD].len, f[A_IV].p,
	        f[A_KEY].p, alg) != -1)
		goto done;
	for (i = 0; i < clen - AEAD_TAGBYTES; i++)
		if (m[i] != 0)
			goto done;
	ok = 1;
done:
	free(bad);
	free(m);
	return (ok);
}

static enum outcome
aead_one(const cJSON *tc, struct gstate *st, const char **why)
{
	struct hexbuf f[A_N];
	uint8_t *c = NULL, *s = NULL, *m = NULL;
	enum outcome o = OUT_ERROR;
	bool valid = strcmp(jstr(tc, "result"), "valid") == 0;
	size_t clen;

	*why = "malformed vector";
	if (hexget_all(f, tc, aead_names) != 0)
		goto done;
	if (f[A_IV].len != AEAD_NONCEBYTES) {
		*why = "only 96-bit nonces offered";
		o = OUT_SKIP;
		goto done;
	}
	if (f[A_KEY].len != aead_keybytes(st->alg))
		goto done;
	/* ct || tag, as the API takes it (a short tag stays short). */
	clen = f[A_CT].len + f[A_TAG].len;
	if ((c = malloc(clen + 1)) == NULL || (m = malloc(clen + 1)) == NULL ||
	    (s = malloc(f[A_MSG].len + AEAD_TAGBYTES)) == NULL)
		goto done;
	memcpy(c, f[A_CT].p, f[A_CT].len);
	memcpy(c + f[A_CT].len, f[A_TAG].p, f[A_TAG].len);
	if (valid) {
		/* Seal must produce ct || tag exactly. */
		*why = "seal output differs from ct || tag";
		o = OUT_WRONG;
		if (aead_seal(s, f[A_MSG].p, f[A_MSG].len, f[A_AAD].p,
		        f[A_AAD].len, f[A_IV].p, f[A_KEY].p, st->alg) != 0 ||
		    !hexeq(&f[A_CT], s, f[A_MSG].len) ||
		    clen != f[A_MSG].len + AEAD_TAGBYTES ||
		    memcmp(c, s, clen) != 0)
			goto done;
	}
	if (aead_open(m, c, clen, f[A_AAD].p, f[A_AAD].len, f[A_IV].p,
	        f[A_KEY].p, st->alg) != 0) {
		o = OUT_REJECT;
		goto done;
	}
	/* An invalid vector that opens is "accepted", whatever came out. */
	o = OUT_ACCEPT;
	if (strcmp(jstr(tc, "result"), "invalid") == 0)
		goto done;
	*why = "open output differs from msg";
	o = OUT_WRONG;
	if (clen < AEAD_TAGBYTES || !hexeq(&f[A_MSG], m, clen - AEAD_TAGBYTES))
		goto done;
	o = OUT_ACCEPT;
	if (valid && st->selfcheck == 0)
		st->selfcheck = aead_selfcheck(c, clen, f, st->alg);
done:
	free(c);
	free(s);
	free(m);
	hexfree_all(f, A_N);
	return (o);
}

static void
test_aead_aes_gcm(void **state)
{
	struct gstate st = { .chacha = false };

	run_wycheproof("aes_gcm_test.json", &st, aead_group, aead_one, NULL);
	assert_int_equal(st.selfcheck, 1);
}

static void
test_aead_chacha20poly1305(void **state)
{
	struct gstate st = { .chacha = true };

	run_wycheproof(
	    "chacha20_poly1305_test.json", &st, aead_group, aead_one, NULL);
	assert_int_equal(st.selfcheck, 1);
}

/* X25519. */

static const char *
x25519_group(const cJSON *g, struct gstate *st)
{
	if (strcmp(jstr(g, "curve"), "curve25519") != 0)
		return ("curve not offered");
	return (NULL);
}

static enum outcome
x25519_one(const cJSON *tc, struct gstate *st, const char **why)
{
	static const char *const names[] = { "public", "private", "shared",
		NULL };
	struct hexbuf f[3];
	uint8_t ss[X25519_SHAREDBYTES];
	enum outcome o = OUT_ERROR;

	*why = "malformed vector";
	if (hexget_all(f, tc, names) != 0)
		goto done;
	if (f[0].len != X25519_PUBLICBYTES || f[1].len != X25519_SECRETBYTES) {
		*why = "key not 32 bytes (fixed-size API)";
		o = OUT_SKIP;
		goto done;
	}
	if (x25519(ss, f[1].p, f[0].p) != 0) {
		o = OUT_REJECT;
		goto done;
	}
	*why = "shared secret differs";
	o = hexeq(&f[2], ss, sizeof(ss)) ? OUT_ACCEPT : OUT_WRONG;
done:
	hexfree_all(f, 3);
	return (o);
}

static void
test_x25519(void **state)
{
	struct gstate st = { .chacha = false };

	run_wycheproof("x25519_test.json", &st, x25519_group, x25519_one, NULL);
}

/* Ed25519 (plain, RFC 8032). */

static const char *
ed25519_group(const cJSON *g, struct gstate *st)
{
	struct hexbuf pk;
	const char *skip = NULL;

	if (hexget(&pk, cJSON_GetObjectItem(g, "publicKey"), "pk") != 0 ||
	    pk.len != SIGN_PUBLICBYTES)
		skip = "public key not 32 bytes (fixed-size API)";
	else
		memcpy(st->pk, pk.p, SIGN_PUBLICBYTES);
	free(pk.p);
	return (skip);
}

static enum outcome
ed25519_one(const cJSON *tc, struct gstate *st, const char **why)
{
	static const char *const names[] = { "msg", "sig", NULL };
	struct hexbuf f[2];
	enum outcome o = OUT_ERROR;

	*why = "malformed vector";
	if (hexget_all(f, tc, names) != 0)
		goto done;
	if (f[1].len != SIGN_BYTES) {
		*why = "signature not 64 bytes (fixed-size API)";
		o = OUT_SKIP;
		goto done;
	}
	if (sign_verify_pure(f[1].p, f[0].p, f[0].len, st->pk) != 0) {
		o = OUT_REJECT;
		goto done;
	}
	o = OUT_ACCEPT;
	if (st->selfcheck == 0 && strcmp(jstr(tc, "result"), "valid") == 0) {
		/* Self-check: a signature with one flipped bit must fail. */
		f[1].p[SIGN_BYTES - 1] ^= 0x01;
		st->selfcheck = -1;
		if (sign_verify_pure(f[1].p, f[0].p, f[0].len, st->pk) != 0)
			st->selfcheck = 1;
	}
done:
	hexfree_all(f, 2);
	return (o);
}

static void
test_ed25519(void **state)
{
	struct gstate st = { .chacha = false };

	run_wycheproof(
	    "ed25519_test.json", &st, ed25519_group, ed25519_one, NULL);
	assert_int_equal(st.selfcheck, 1);
}

/* RSA-OAEP decryption. */

static const char *
rsa_group(const cJSON *g, struct gstate *st)
{
	int bits = jint(g, "keySize");
	struct hexbuf der;

	st->rsa = NULL;
	if (bits < RSA_BITS_MIN || bits > RSA_BITS_MAX)
		return ("RSA key sizes outside 2048..4096 not offered");
	if (strcmp(jstr(g, "sha"), "SHA-256") != 0 ||
	    strcmp(jstr(g, "mgf"), "MGF1") != 0 ||
	    strcmp(jstr(g, "mgfSha"), "SHA-256") != 0)
		return ("only OAEP-SHA256/MGF1-SHA256 offered");
	/* A key that does not parse makes every test of the group fail. */
	if (hexget(&der, g, "privateKeyPkcs8") == 0)
		st->rsa = rsa_key_from_pkcs8_der(der.p, der.len);
	free(der.p);
	return (NULL);
}

static void
rsa_group_done(struct gstate *st)
{
	rsa_key_free(st->rsa);
	st->rsa = NULL;
}

static enum outcome
rsa_one(const cJSON *tc, struct gstate *st, const char **why)
{
	static const char *const names[] = { "msg", "ct", "label", NULL };
	struct hexbuf f[3];
	uint8_t m[RSA_BYTES_MAX];
	enum outcome o = OUT_ERROR;
	size_t mlen = 0;

	*why = "malformed vector";
	if (hexget_all(f, tc, names) != 0)
		goto done;
	*why = "private key did not parse";
	if (st->rsa == NULL)
		goto done;
	if (rsa_oaep_open(m, sizeof(m), &mlen, f[1].p, f[1].len, f[2].p,
	        f[2].len, st->rsa) != 0) {
		o = OUT_REJECT;
		goto done;
	}
	*why = "decrypted message differs";
	o = hexeq(&f[0], m, mlen) ? OUT_ACCEPT : OUT_WRONG;
	if (o == OUT_ACCEPT && st->selfcheck == 0 && f[1].len > 0 &&
	    strcmp(jstr(tc, "result"), "valid") == 0) {
		/* Self-check: one flipped ciphertext bit must make open fail. */
		f[1].p[f[1].len - 1] ^= 0x01;
		st->selfcheck = -1;
		if (rsa_oaep_open(m, sizeof(m), &mlen, f[1].p, f[1].len, f[2].p,
		        f[2].len, st->rsa) != 0)
			st->selfcheck = 1;
	}
done:
	hexfree_all(f, 3);
	return (o);
}

static void
run_rsa(const char *file)
{
	struct gstate st = { .rsa = NULL };

	run_wycheproof(file, &st, rsa_group, rsa_one, rsa_group_done);
	assert_int_equal(st.selfcheck, 1);
}

static void
test_rsa_oaep_2048(void **state)
{
	run_rsa("rsa_oaep_2048_sha256_mgf1sha256_test.json");
}

static void
test_rsa_oaep_3072(void **state)
{
	run_rsa("rsa_oaep_3072_sha256_mgf1sha256_test.json");
}

static void
test_rsa_oaep_4096(void **state)
{
	run_rsa("rsa_oaep_4096_sha256_mgf1sha256_test.json");
}

static void
test_rsa_oaep_misc(void **state)
{
	run_rsa("rsa_oaep_misc_test.json");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aead_aes_gcm),
		cmocka_unit_test(test_aead_chacha20poly1305),
		cmocka_unit_test(test_x25519),
		cmocka_unit_test(test_ed25519),
		cmocka_unit_test(test_rsa_oaep_2048),
		cmocka_unit_test(test_rsa_oaep_3072),
		cmocka_unit_test(test_rsa_oaep_4096),
		cmocka_unit_test(test_rsa_oaep_misc),
	};
	int rc;

	rc = cmocka_run_group_tests(tests, NULL, NULL);
	printf("# counts: %u passed, %u failed, %u skipped\n", total_passed,
	    total_failed, total_skipped);
	return (rc);
}
