/*
 * test_vectors_hpke.c: known-answer tests of the HPKE context API against
 * RFC 9180 appendix A (tests/data/vectors/hpke-rfc9180-appendixA.json, see
 * PROVENANCE.md there).  Every set with KEM DHKEM(X25519, HKDF-SHA256) and
 * KDF HKDF-SHA256 runs in full: DeriveKeyPair of ikmE, ikmR (and ikmS in
 * the auth modes), setup with ikmE gives enc, every encryption seals to ct
 * and opens (in sequence order, dummy messages filling the gaps), every
 * export matches on both sides.  One count per check (key pairs and setup,
 * each encryption, each export); one skip per set of another KEM/KDF.
 * The hex, file and count helpers are copies of those in test_vectors.c.
 *
 * Prints one line for the file and at the end exactly one line
 * "# counts: P passed, F failed, S skipped".
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
#include "cryptgate/hpke.h"
#include "cryptgate/x25519.h"

#define VEC_DIR CG_SRCDIR "/tests/data/vectors/"
#define NREASONS 2

/* Counts for the file. */
struct tally {
	const char *file;
	unsigned int passed, failed, skipped, seen;
	const char *reason[NREASONS];
	unsigned int nreason[NREASONS];
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

/* HPKE, RFC 9180 appendix A. */

enum {
	H_INFO,
	H_IKME,
	H_PKEM,
	H_SKEM,
	H_IKMR,
	H_PKRM,
	H_SKRM,
	H_ENC,
	H_KEY,
	H_NONCE,
	H_PSK,
	H_PSKID,
	H_IKMS,
	H_PKSM,
	H_SKSM,
	H_N
};
static const char *const hpke_names[] = { "info", "ikmE", "pkEm", "skEm",
	"ikmR", "pkRm", "skRm", "enc", "key", "base_nonce", NULL };
static const char *const hpke_psk_names[] = { "psk", "psk_id", NULL };
static const char *const hpke_auth_names[] = { "ikmS", "pkSm", "skSm", NULL };

/* DeriveKeyPair(${ikm}) must give the key pair ${pk}, ${sk}. */
static bool
hpke_keypair_ok(
    const struct hexbuf *ikm, const struct hexbuf *pk, const struct hexbuf *sk)
{
	uint8_t dpk[X25519_PUBLICBYTES], dsk[X25519_SECRETBYTES];

	return (hpke_derive_keypair(dpk, dsk, ikm->p, ikm->len) == 0 &&
	    hexeq(pk, dpk, sizeof(dpk)) && hexeq(sk, dsk, sizeof(dsk)));
}

/*
 * Check the encryption ${e} (sequence number ${e.seq}) after advancing
 * both contexts from ${*seq} with dummy messages.  Return NULL or why not.
 */
static const char *
hpke_encryption(struct hpke_ctx *s, struct hpke_ctx *r, uint64_t *seq,
    const cJSON *e, const struct hexbuf *f, enum aead_alg alg)
{
	static const char *const names[] = { "pt", "aad", "nonce", "ct", NULL };
	struct hexbuf x[4];
	uint8_t buf[64], dummy[1 + AEAD_TAGBYTES], nonce[AEAD_NONCEBYTES];
	const char *why = "malformed encryption";
	int want = jint(e, "seq");
	size_t i;

	if (hexget_all(x, e, names) != 0 || want < 0 ||
	    x[0].len + AEAD_TAGBYTES > sizeof(buf) ||
	    f[H_NONCE].len != AEAD_NONCEBYTES ||
	    f[H_KEY].len != aead_keybytes(alg))
		goto done;
	why = "seq out of order";
	if ((uint64_t)want < *seq)
		goto done;
	/* The listed nonce must be base_nonce XOR seq (RFC 9180 5.2). */
	memcpy(nonce, f[H_NONCE].p, sizeof(nonce));
	for (i = 0; i < 8; i++)
		nonce[AEAD_NONCEBYTES - 1 - i] ^=
		    (uint8_t)((uint64_t)want >> (8 * i));
	why = "nonce is not base_nonce XOR seq";
	if (!hexeq(&x[2], nonce, sizeof(nonce)))
		goto done;
	why = "advancing with dummy messages failed";
	for (; *seq < (uint64_t)want; (*seq)++)
		if (hpke_ctx_seal(s, dummy, (const uint8_t *)"x", 1, NULL, 0) !=
		        0 ||
		    hpke_ctx_open(r, buf, dummy, sizeof(dummy), NULL, 0) != 0)
			goto done;
	(*seq)++;
	why = "seal: ct differs";
	if (hpke_ctx_seal(s, buf, x[0].p, x[0].len, x[1].p, x[1].len) != 0 ||
	    !hexeq(&x[3], buf, x[0].len + AEAD_TAGBYTES))
		goto done;
	why = "open failed or pt differs";
	if (hpke_ctx_open(r, buf, x[3].p, x[3].len, x[1].p, x[1].len) != 0 ||
	    !hexeq(&x[0], buf, x[0].len))
		goto done;
	/* Cross-check: the vector's key and nonce give the same ct. */
	why = "ct differs from AEAD with the vector's key and nonce";
	if (aead_seal(buf, x[0].p, x[0].len, x[1].p, x[1].len, nonce,
	        f[H_KEY].p, alg) != 0 ||
	    !hexeq(&x[3], buf, x[0].len + AEAD_TAGBYTES))
		goto done;
	why = NULL;
done:
	hexfree_all(x, 4);
	return (why);
}

/* Both contexts must export ${e}'s exported_value. */
static const char *
hpke_export(const struct hpke_ctx *s, const struct hpke_ctx *r, const cJSON *e)
{
	static const char *const names[] = { "exporter_context",
		"exported_value", NULL };
	struct hexbuf x[2];
	uint8_t out[256];
	const char *why = "malformed export";
	int len = jint(e, "L");

	if (hexget_all(x, e, names) != 0 || len < 0 ||
	    (size_t)len > sizeof(out))
		goto done;
	why = "sender export differs";
	if (hpke_ctx_export(s, out, (size_t)len, x[0].p, x[0].len) != 0 ||
	    !hexeq(&x[1], out, (size_t)len))
		goto done;
	why = "receiver export differs";
	if (hpke_ctx_export(r, out, (size_t)len, x[0].p, x[0].len) != 0 ||
	    !hexeq(&x[1], out, (size_t)len))
		goto done;
	why = NULL;
done:
	hexfree_all(x, 2);
	return (why);
}

/*
 * Negative self-check after the vectors of a set: an export-only context
 * refuses to seal; otherwise a ciphertext with one flipped byte does not
 * open, and the untouched one still opens (the failed open did not advance
 * the receiver).  Return true if so.
 */
static bool
hpke_selfcheck(struct hpke_ctx *s, struct hpke_ctx *r, int aead)
{
	uint8_t c[1 + AEAD_TAGBYTES], m[1 + AEAD_TAGBYTES];

	if (aead == HPKE_AEAD_EXPORT_ONLY)
		return (
		    hpke_ctx_seal(s, c, (const uint8_t *)"x", 1, NULL, 0) != 0);
	if (hpke_ctx_seal(s, c, (const uint8_t *)"x", 1, NULL, 0) != 0)
		return (false);
	c[0] ^= 0x01;
	if (hpke_ctx_open(r, m, c, sizeof(c), NULL, 0) == 0)
		return (false);
	c[0] ^= 0x01;
	return (hpke_ctx_open(r, m, c, sizeof(c), NULL, 0) == 0 && m[0] == 'x');
}

/*
 * Run one suite-0x0020/0x0001 set ${v} (number ${n}); count into ${t}.
 * Return false if the negative self-check ran and failed.
 */
static bool
hpke_set(struct tally *t, const cJSON *v, int n)
{
	struct hexbuf f[H_N] = { { NULL, 0 } };
	struct hpke_params ps = { .mode = HPKE_MODE_BASE }, pr;
	struct hpke_ctx *s = NULL, *r = NULL;
	uint8_t enc[HPKE_ENCBYTES];
	bool selfcheck = true;
	int mode = jint(v, "mode"), aead = jint(v, "aead_id");
	enum aead_alg alg = aead == HPKE_AEAD_AES128GCM
	    ? AEAD_AES128_GCM
	    : AEAD_CHACHA20_POLY1305;
	const char *why = "malformed set";
	uint64_t seq = 0;
	const cJSON *e;

	if (hexget_all(f, v, hpke_names) != 0 ||
	    f[H_ENC].len != HPKE_ENCBYTES || f[H_PKRM].len != 32 ||
	    f[H_SKRM].len != 32 ||
	    ((mode & HPKE_MODE_PSK) &&
	        hexget_all(&f[H_PSK], v, hpke_psk_names) != 0) ||
	    ((mode & HPKE_MODE_AUTH) &&
	        (hexget_all(&f[H_IKMS], v, hpke_auth_names) != 0 ||
	            f[H_PKSM].len != 32 || f[H_SKSM].len != 32)))
		goto keypair;
	why = "DeriveKeyPair differs";
	if (!hpke_keypair_ok(&f[H_IKME], &f[H_PKEM], &f[H_SKEM]) ||
	    !hpke_keypair_ok(&f[H_IKMR], &f[H_PKRM], &f[H_SKRM]) ||
	    ((mode & HPKE_MODE_AUTH) &&
	        !hpke_keypair_ok(&f[H_IKMS], &f[H_PKSM], &f[H_SKSM])))
		goto keypair;
	ps.mode = (enum hpke_mode)mode;
	ps.aead = (enum hpke_aead)aead;
	ps.info = f[H_INFO].p;
	ps.infolen = f[H_INFO].len;
	ps.psk = f[H_PSK].p;
	ps.psklen = f[H_PSK].len;
	ps.psk_id = f[H_PSKID].p;
	ps.psk_idlen = f[H_PSKID].len;
	pr = ps;
	ps.skS = f[H_SKSM].p;
	ps.ikmE = f[H_IKME].p;
	ps.ikmElen = f[H_IKME].len;
	pr.pkS = f[H_PKSM].p;
	why = "setup sender failed or enc differs";
	if ((s = hpke_setup_sender(enc, f[H_PKRM].p, &ps)) == NULL ||
	    !hexeq(&f[H_ENC], enc, sizeof(enc)))
		goto keypair;
	why = "setup receiver failed";
	if ((r = hpke_setup_receiver(f[H_ENC].p, f[H_SKRM].p, &pr)) == NULL)
		goto keypair;
	why = NULL;
keypair:
	t->seen++;
	if (why == NULL)
		t->passed++;
	else
		tally_fail(t, "set %d (mode %d, aead 0x%04x) keys: %s", n, mode,
		    aead, why);
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(v, "encryptions"))
	{
		t->seen++;
		if (s == NULL || r == NULL)
			why = "no context";
		else if ((why = hpke_encryption(s, r, &seq, e, f, alg)) == NULL)
			t->passed++;
		if (why != NULL)
			tally_fail(t,
			    "set %d (mode %d, aead 0x%04x) seq %d: %s", n, mode,
			    aead, jint(e, "seq"), why);
	}
	cJSON_ArrayForEach(e, cJSON_GetObjectItem(v, "exports"))
	{
		t->seen++;
		if (s == NULL || r == NULL)
			why = "no context";
		else if ((why = hpke_export(s, r, e)) == NULL)
			t->passed++;
		if (why != NULL)
			tally_fail(t,
			    "set %d (mode %d, aead 0x%04x) export: %s", n, mode,
			    aead, why);
	}
	if (s != NULL && r != NULL)
		selfcheck = hpke_selfcheck(s, r, aead);
	hpke_ctx_free(s);
	hpke_ctx_free(r);
	hexfree_all(f, H_N);
	return (selfcheck);
}

static void
test_hpke(void **state)
{
	struct tally t = { .file = "hpke-rfc9180-appendixA.json" };
	unsigned int expected = 0;
	const cJSON *v;
	cJSON *root;
	int n = 0, aead, badchecks = 0;

	root = load(t.file);
	cJSON_ArrayForEach(v, root)
	{
		aead = jint(v, "aead_id");
		if (jint(v, "kem_id") != 0x0020 ||
		    jint(v, "kdf_id") != 0x0001) {
			t.seen++;
			tally_skip(&t,
			    "KEM/KDF not offered: only "
			    "DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256");
		} else if (aead != HPKE_AEAD_AES128GCM &&
		    aead != HPKE_AEAD_CHACHA20POLY1305 &&
		    aead != HPKE_AEAD_EXPORT_ONLY) {
			t.seen++;
			tally_skip(&t, "AEAD not offered");
		} else {
			expected += 1 +
			    (unsigned int)cJSON_GetArraySize(
			        cJSON_GetObjectItem(v, "encryptions")) +
			    (unsigned int)cJSON_GetArraySize(
			        cJSON_GetObjectItem(v, "exports"));
			if (!hpke_set(&t, v, n))
				badchecks++;
		}
		n++;
	}
	tally_finish(&t, expected + t.skipped);
	cJSON_Delete(root);
	if (badchecks != 0)
		fail_msg("%d sets failed the negative self-check", badchecks);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hpke),
	};
	int rc;

	rc = cmocka_run_group_tests(tests, NULL, NULL);
	printf("# counts: %u passed, %u failed, %u skipped\n", total_passed,
	    total_failed, total_skipped);
	return (rc);
}
