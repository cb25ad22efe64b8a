/*
 * test_hostkey.c: host identities (hostkey.c, hostpub.c): generate, save,
 * load for both sealing key types; sign/verify; seal/open; the host id
 * (known answer); .pub tampering; truncated and malformed key files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cryptgate/encode.h"
#include "cryptgate/file.h"
#include "cryptgate/hostkey.h"
#include "cryptgate/hostpub.h"
#include "cryptgate/log.h"

static char tmpdir[64];

/* One key of each type, generated once (RSA-3072 takes a while). */
static struct hostkey *hk_x, *hk_r, *hk_x2;

/* Known answer: sign_pk = 00..1f, seal_pk = 20..3f (X25519). */
static const char kat_line[] =
    "cryptgate-host-v1 x25519 dd7bfd434697a4ef9573533fbe4dcd3d "
    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= "
    "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8= kat host";

static int
setup(void **state)
{
	(void)state;
	log_init(1, 0, LOG_USER);
	log_procinit("test_hostkey");
	strcpy(tmpdir, "/tmp/test_hostkey.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return (-1);
	hk_x = hostkey_generate(HOSTKEY_X25519);
	hk_x2 = hostkey_generate(HOSTKEY_X25519);
	hk_r = hostkey_generate(HOSTKEY_RSA);
	return (hk_x != NULL && hk_x2 != NULL && hk_r != NULL ? 0 : -1);
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	hostkey_free(hk_x);
	hostkey_free(hk_x2);
	hostkey_free(hk_r);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return (system(cmd) == 0 ? 0 : -1);
}

static const char *
tpath(const char *name)
{
	static char buf[4][256];
	static int slot;

	slot = (slot + 1) % 4;
	snprintf(buf[slot], sizeof(buf[slot]), "%s/%s", tmpdir, name);
	return (buf[slot]);
}

/* Read ${path}; free() the result.  (noinline: gcc 12 -O2 otherwise
 * warns that the result may point to slurp's own local variable.) */
static __attribute__((noinline)) char *
slurp(const char *path, size_t *len)
{
	char *buf = NULL;

	if (file_read(path, 1 << 20, &buf, len) != 0)
		fail_msg("cannot read %s", path);
	return (buf);
}

static int
is_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return (0);
	return (1);
}

static void
check_roundtrip(struct hostkey *hk, const char *name, enum hostkey_type type)
{
	struct hostpub pub, pub2, pubf;
	struct hostkey *loaded;
	struct stat st;
	char prefix[256], line[HOSTPUB_LINEBYTES_MAX], *buf;
	size_t len;

	snprintf(prefix, sizeof(prefix), "%s/%s", tmpdir, name);
	assert_int_equal(hostkey_type(hk), type);
	assert_int_equal(hostkey_save(hk, prefix, "c1 with spaces", 0), 0);

	snprintf(line, sizeof(line), "%s.key", prefix);
	assert_int_equal(stat(line, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	buf = slurp(line, &len);
	assert_memory_equal(buf, "-----BEGIN PRIVATE KEY-----\n", 28);
	free(buf);
	assert_non_null(loaded = hostkey_load(line));
	assert_int_equal(hostkey_type(loaded), type);

	hostkey_public(hk, &pub);
	hostkey_public(loaded, &pub2);
	assert_true(hostpub_equal(&pub, &pub2));
	assert_int_equal(pub.type, type);
	assert_int_equal(pub.seal_pklen, type == HOSTKEY_X25519 ? 32 : 422);
	hostkey_free(loaded);

	snprintf(line, sizeof(line), "%s.pub", prefix);
	assert_int_equal(stat(line, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(hostpub_load(&pubf, line), 0);
	assert_true(hostpub_equal(&pub, &pubf));
	assert_string_equal(pubf.comment, "c1 with spaces");

	/* The file is the formatted line and a newline. */
	buf = slurp(line, &len);
	assert_int_equal(hostpub_format(&pubf, line, sizeof(line)), 0);
	assert_int_equal(len, strlen(line) + 1);
	assert_memory_equal(buf, line, len - 1);
	assert_int_equal(buf[len - 1], '\n');
	free(buf);
}

static void
test_roundtrip_x25519(void **state)
{
	(void)state;
	check_roundtrip(hk_x, "rtx", HOSTKEY_X25519);
}

static void
test_roundtrip_rsa(void **state)
{
	(void)state;
	check_roundtrip(hk_r, "rtr", HOSTKEY_RSA);
}

static void
test_save_refuses(void **state)
{
	struct hostkey *loaded;
	struct hostpub a, b;
	char prefix[256], *before, *after;
	size_t blen, alen;

	(void)state;
	snprintf(prefix, sizeof(prefix), "%s/ex", tmpdir);
	assert_int_equal(hostkey_save(hk_x, prefix, NULL, 0), 0);
	before = slurp(tpath("ex.key"), &blen);

	/* Exists: EEXIST, nothing changed. */
	errno = 0;
	assert_int_equal(hostkey_save(hk_x2, prefix, NULL, 0), -1);
	assert_int_equal(errno, EEXIST);
	after = slurp(tpath("ex.key"), &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	free(after);

	/* Forced: replaced by the other key. */
	assert_int_equal(hostkey_save(hk_x2, prefix, NULL, HOSTKEY_FORCE), 0);
	assert_non_null(loaded = hostkey_load(tpath("ex.key")));
	hostkey_public(loaded, &a);
	hostkey_public(hk_x2, &b);
	assert_true(hostpub_equal(&a, &b));
	hostkey_free(loaded);
	assert_int_equal(hostpub_load(&a, tpath("ex.pub")), 0);
	assert_true(hostpub_equal(&a, &b));
	assert_string_equal(a.comment, "");
	free(before);

	/* Only the .pub exists: refused, and no .key is created. */
	assert_int_equal(unlink(tpath("ex.key")), 0);
	errno = 0;
	assert_int_equal(hostkey_save(hk_x, prefix, NULL, 0), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(access(tpath("ex.key"), F_OK), -1);

	/* A bad comment is refused before anything is written. */
	assert_int_equal(unlink(tpath("ex.pub")), 0);
	assert_int_equal(hostkey_save(hk_x, prefix, "tab\there", 0), -1);
	assert_int_equal(access(tpath("ex.key"), F_OK), -1);
}

static void
test_load_mode(void **state)
{
	struct hostkey *hk;
	char prefix[256];

	(void)state;
	snprintf(prefix, sizeof(prefix), "%s/mode", tmpdir);
	assert_int_equal(hostkey_save(hk_x, prefix, NULL, 0), 0);
	assert_int_equal(chmod(tpath("mode.key"), 0644), 0);
	assert_null(hostkey_load(tpath("mode.key")));
	assert_int_equal(chmod(tpath("mode.key"), 0640), 0);
	assert_null(hostkey_load(tpath("mode.key")));
	assert_int_equal(chmod(tpath("mode.key"), 0600), 0);
	assert_non_null(hk = hostkey_load(tpath("mode.key")));
	hostkey_free(hk);
}

static void
test_sign_verify(void **state)
{
	struct hostpub pub, other;
	uint8_t sig[SIGN_BYTES], m[100];

	(void)state;
	memset(m, 0x42, sizeof(m));
	hostkey_public(hk_r, &pub);
	hostkey_public(hk_x, &other);
	assert_int_equal(hostkey_sign(hk_r, sig, "test ctx", m, sizeof(m)), 0);
	assert_int_equal(
	    hostpub_verify(&pub, sig, "test ctx", m, sizeof(m)), 0);
	assert_int_equal(
	    hostpub_verify(&pub, sig, "test ctx2", m, sizeof(m)), -1);
	assert_int_equal(
	    hostpub_verify(&other, sig, "test ctx", m, sizeof(m)), -1);
	m[99] ^= 1;
	assert_int_equal(
	    hostpub_verify(&pub, sig, "test ctx", m, sizeof(m)), -1);
	m[99] ^= 1;
	sig[0] ^= 0x80;
	assert_int_equal(
	    hostpub_verify(&pub, sig, "test ctx", m, sizeof(m)), -1);
}

static void
check_seal_open(struct hostkey *hk, struct hostkey *wrong)
{
	static const uint8_t info[] = "cryptgate test info";
	static const uint8_t aad[] = "header";
	struct hostpub pub;
	uint8_t m[32], out[600], c[600];
	size_t clen, mlen, csize, i;

	hostkey_public(hk, &pub);
	for (i = 0; i < sizeof(m); i++)
		m[i] = (uint8_t)(i * 7 + 1);
	csize = hostpub_sealed_size(&pub, sizeof(m));
	assert_true(csize > sizeof(m));
	assert_true(csize <= sizeof(c));
	assert_int_equal(hostpub_seal(&pub, c, sizeof(c), &clen, m, sizeof(m),
	                     info, sizeof(info), aad, sizeof(aad)),
	    0);
	assert_int_equal(clen, csize);
	assert_int_equal(hostkey_open(hk, out, sizeof(out), &mlen, c, clen,
	                     info, sizeof(info), aad, sizeof(aad)),
	    0);
	assert_int_equal(mlen, sizeof(m));
	assert_memory_equal(out, m, sizeof(m));

	/* Output buffer too small to seal into. */
	assert_int_equal(hostpub_seal(&pub, c, csize - 1, &clen, m, sizeof(m),
	                     info, sizeof(info), aad, sizeof(aad)),
	    -1);
	assert_int_equal(hostpub_seal(&pub, c, sizeof(c), &clen, m, sizeof(m),
	                     info, sizeof(info), aad, sizeof(aad)),
	    0);

	/* Wrong info, aad, key; output zeroed on failure. */
	memset(out, 0xff, sizeof(out));
	assert_int_equal(hostkey_open(hk, out, sizeof(out), &mlen, c, clen,
	                     info, sizeof(info) - 1, aad, sizeof(aad)),
	    -1);
	assert_true(is_zero(out, sizeof(out)));
	assert_int_equal(mlen, 0);
	assert_int_equal(hostkey_open(hk, out, sizeof(out), &mlen, c, clen,
	                     info, sizeof(info), aad, sizeof(aad) - 1),
	    -1);
	assert_int_equal(hostkey_open(hk, out, sizeof(out), &mlen, c, clen,
	                     info, sizeof(info), NULL, 0),
	    -1);
	assert_int_equal(hostkey_open(wrong, out, sizeof(out), &mlen, c, clen,
	                     info, sizeof(info), aad, sizeof(aad)),
	    -1);

	/* Every tampered byte, truncation, extension. */
	for (i = 0; i < clen; i++) {
		c[i] ^= 0x01;
		if (hostkey_open(hk, out, sizeof(out), &mlen, c, clen, info,
		        sizeof(info), aad, sizeof(aad)) == 0)
			fail_msg("tampered byte %zu accepted", i);
		c[i] ^= 0x01;
	}
	assert_int_equal(hostkey_open(hk, out, sizeof(out), &mlen, c, clen - 1,
	                     info, sizeof(info), aad, sizeof(aad)),
	    -1);
	assert_int_equal(hostkey_open(hk, out, sizeof(out), &mlen, c, 0, info,
	                     sizeof(info), aad, sizeof(aad)),
	    -1);
	c[clen] = 0;
	assert_int_equal(hostkey_open(hk, out, sizeof(out), &mlen, c, clen + 1,
	                     info, sizeof(info), aad, sizeof(aad)),
	    -1);
	/* Message buffer one byte too small. */
	assert_int_equal(hostkey_open(hk, out, sizeof(m) - 1, &mlen, c, clen,
	                     info, sizeof(info), aad, sizeof(aad)),
	    -1);
	/* Untouched ciphertext still opens. */
	assert_int_equal(hostkey_open(hk, out, sizeof(out), &mlen, c, clen,
	                     info, sizeof(info), aad, sizeof(aad)),
	    0);
	assert_memory_equal(out, m, sizeof(m));

	/* Empty message, no info, no aad. */
	assert_int_equal(
	    hostpub_seal(&pub, c, sizeof(c), &clen, m, 0, NULL, 0, NULL, 0), 0);
	assert_int_equal(hostkey_open(hk, out, sizeof(out), &mlen, c, clen,
	                     NULL, 0, NULL, 0),
	    0);
	assert_int_equal(mlen, 0);
}

static void
test_seal_open_x25519(void **state)
{
	(void)state;
	check_seal_open(hk_x, hk_x2);
}

static void
test_seal_open_rsa(void **state)
{
	struct hostpub pub;
	uint8_t m[400], c[400], out[400];
	size_t clen, mlen;

	(void)state;
	check_seal_open(hk_r, hk_x);

	/* RSA-3072 OAEP-SHA256: at most 384 - 66 = 318 bytes. */
	hostkey_public(hk_r, &pub);
	memset(m, 0x33, sizeof(m));
	assert_int_equal(hostpub_sealed_size(&pub, 318), 384);
	assert_int_equal(hostpub_sealed_size(&pub, 319), 0);
	assert_int_equal(
	    hostpub_seal(&pub, c, sizeof(c), &clen, m, 318, NULL, 0, NULL, 0),
	    0);
	assert_int_equal(hostkey_open(hk_r, out, sizeof(out), &mlen, c, clen,
	                     NULL, 0, NULL, 0),
	    0);
	assert_int_equal(mlen, 318);
	assert_memory_equal(out, m, 318);
	assert_int_equal(
	    hostpub_seal(&pub, c, sizeof(c), &clen, m, 319, NULL, 0, NULL, 0),
	    -1);
	/* (info, aad) are length-separated: ("ab", "c") != ("a", "bc"). */
	assert_int_equal(hostpub_seal(&pub, c, sizeof(c), &clen, m, 32,
	                     (const uint8_t *)"ab", 2, (const uint8_t *)"c", 1),
	    0);
	assert_int_equal(hostkey_open(hk_r, out, sizeof(out), &mlen, c, clen,
	                     (const uint8_t *)"a", 1, (const uint8_t *)"bc", 2),
	    -1);
	assert_int_equal(hostkey_open(hk_r, out, sizeof(out), &mlen, c, clen,
	                     (const uint8_t *)"ab", 2, (const uint8_t *)"c", 1),
	    0);
}

static void
test_host_id_kat(void **state)
{
	struct hostpub pub;
	uint8_t sign_pk[32], seal_pk[32], id[HOSTPUB_IDBYTES];
	char line[HOSTPUB_LINEBYTES_MAX], hex[40];
	const char *errstr = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < 32; i++) {
		sign_pk[i] = (uint8_t)i;
		seal_pk[i] = (uint8_t)(32 + i);
	}
	assert_int_equal(hostpub_id_compute(id, sign_pk, seal_pk, 32), 0);
	assert_int_equal(encode_hex(hex, sizeof(hex), id, sizeof(id)), 0);
	/* python3: sha256(b"cryptgate host" + bytes(range(64)))[:16] */
	assert_string_equal(hex, "dd7bfd434697a4ef9573533fbe4dcd3d");

	assert_int_equal(
	    hostpub_parse(&pub, kat_line, strlen(kat_line), &errstr), 0);
	assert_null(errstr);
	assert_int_equal(pub.type, HOSTKEY_X25519);
	assert_memory_equal(pub.host_id, id, sizeof(id));
	assert_memory_equal(pub.sign_pk, sign_pk, 32);
	assert_memory_equal(pub.seal_pk, seal_pk, 32);
	assert_string_equal(pub.comment, "kat host");
	assert_int_equal(hostpub_format(&pub, line, sizeof(line)), 0);
	assert_string_equal(line, kat_line);

	/* Recomputed for generated keys of both types. */
	hostkey_public(hk_r, &pub);
	assert_int_equal(
	    hostpub_id_compute(id, pub.sign_pk, pub.seal_pk, pub.seal_pklen),
	    0);
	assert_memory_equal(id, pub.host_id, sizeof(id));
	hostkey_public(hk_x, &pub);
	assert_int_equal(
	    hostpub_id_compute(id, pub.sign_pk, pub.seal_pk, pub.seal_pklen),
	    0);
	assert_memory_equal(id, pub.host_id, sizeof(id));
}

/* A character of the same alphabet as ${c} but different from it. */
static char
other_char(char c)
{
	if (c >= '0' && c <= '8')
		return ((char)(c + 1));
	if (c == '9')
		return ('0');
	if (c >= 'a' && c <= 'e')
		return ((char)(c + 1));
	if (c == 'f')
		return ('a');
	if (c >= 'g' && c < 'z')
		return ((char)(c + 1));
	if (c >= 'A' && c < 'Z')
		return ((char)(c + 1));
	if (c == 'z' || c == 'Z')
		return ('A');
	if (c == '+')
		return ('/');
	return ('+');
}

static void
check_tamper(const struct hostkey *hk)
{
	struct hostpub pub, p2;
	char line[HOSTPUB_LINEBYTES_MAX], orig;
	const char *errstr;
	size_t len, i, start, end, nrej = 0;

	hostkey_public(hk, &pub);
	assert_int_equal(hostpub_set_comment(&pub, "tamper test"), 0);
	assert_int_equal(hostpub_format(&pub, line, sizeof(line)), 0);
	len = strlen(line);
	assert_int_equal(hostpub_parse(&p2, line, len, &errstr), 0);

	/* From the host id to the end of the sealing key. */
	start =
	    strlen(HOSTPUB_MAGIC " ") + strlen(hostpub_type_name(pub.type)) + 1;
	end = len - strlen(" tamper test");
	for (i = start; i < end; i++) {
		if (line[i] == ' ' || line[i] == '=')
			continue;
		orig = line[i];
		line[i] = other_char(orig);
		errstr = NULL;
		if (hostpub_parse(&p2, line, len, &errstr) == 0)
			fail_msg("changed char %zu '%c' accepted", i, orig);
		assert_non_null(errstr);
		assert_true(is_zero((const uint8_t *)&p2, sizeof(p2)));
		line[i] = orig;
		nrej++;
	}
	assert_true(nrej >= 32 + 43 + 43);
	/* The comment is not covered by the host id. */
	line[len - 1] = 'X';
	assert_int_equal(hostpub_parse(&p2, line, len, &errstr), 0);
	assert_true(hostpub_equal(&pub, &p2));
}

static void
test_pub_tamper(void **state)
{
	(void)state;
	check_tamper(hk_x);
	check_tamper(hk_r);
}

static void
test_pub_rejects(void **state)
{
	static const char *bad[] = {
		"",
		"\n",
		"cryptgate-host-v2 x25519 dd7bfd434697a4ef9573533fbe4dcd3d "
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= "
		"ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
		"cryptgate-host-v1 rsa dd7bfd434697a4ef9573533fbe4dcd3d "
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= "
		"ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
		"cryptgate-host-v1 ed25519 dd7bfd434697a4ef9573533fbe4dcd3d "
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= "
		"ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
		/* Uppercase host id. */
		"cryptgate-host-v1 x25519 DD7BFD434697A4EF9573533FBE4DCD3D "
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= "
		"ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
		/* Two spaces. */
		"cryptgate-host-v1  x25519 dd7bfd434697a4ef9573533fbe4dcd3d "
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= "
		"ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
		/* Trailing space, trailing CR, two lines, tab in comment. */
		"cryptgate-host-v1 x25519 dd7bfd434697a4ef9573533fbe4dcd3d "
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= "
		"ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8= ",
		"cryptgate-host-v1 x25519 dd7bfd434697a4ef9573533fbe4dcd3d "
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= "
		"ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\r\n",
		"cryptgate-host-v1 x25519 dd7bfd434697a4ef9573533fbe4dcd3d "
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= "
		"ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n\n",
		"cryptgate-host-v1 x25519 dd7bfd434697a4ef9573533fbe4dcd3d "
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= "
		"ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8= a\tb",
		/* Missing field; short key; sealing key of 31 bytes. */
		"cryptgate-host-v1 x25519 dd7bfd434697a4ef9573533fbe4dcd3d "
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"cryptgate-host-v1 x25519 dd7bfd434697a4ef9573533fbe4dcd3d "
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg== "
		"ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
		"cryptgate-host-v1 x25519 dd7bfd434697a4ef9573533fbe4dcd3d "
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= "
		"ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pg==",
	};
	struct hostpub pub;
	const char *errstr;
	char longc[600];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errstr = NULL;
		if (hostpub_parse(&pub, bad[i], strlen(bad[i]), &errstr) == 0)
			fail_msg("accepted bad line %zu", i);
		assert_non_null(errstr);
	}
	/* A trailing newline and no comment are fine. */
	n = strlen(kat_line) - strlen(" kat host");
	memcpy(longc, kat_line, n);
	longc[n] = '\n';
	assert_int_equal(hostpub_parse(&pub, longc, n + 1, &errstr), 0);
	assert_string_equal(pub.comment, "");
	/* 255 comment characters accepted, 256 refused. */
	memcpy(longc, kat_line, n);
	longc[n] = ' ';
	memset(longc + n + 1, 'c', 256);
	assert_int_equal(hostpub_parse(&pub, longc, n + 1 + 255, &errstr), 0);
	assert_int_equal(hostpub_parse(&pub, longc, n + 1 + 256, &errstr), -1);
	/* An embedded NUL in the comment. */
	longc[n + 3] = '\0';
	assert_int_equal(hostpub_parse(&pub, longc, n + 1 + 10, &errstr), -1);
	/* hostpub_set_comment rules. */
	assert_int_equal(hostpub_set_comment(&pub, " lead"), -1);
	assert_int_equal(hostpub_set_comment(&pub, "trail "), -1);
	assert_int_equal(hostpub_set_comment(&pub, "caf\xc3\xa9"), -1);
	assert_int_equal(hostpub_set_comment(&pub, "in side"), 0);
	assert_int_equal(hostpub_set_comment(&pub, NULL), 0);
	assert_string_equal(pub.comment, "");
}

/* Every prefix of a valid key file is refused, without a crash. */
static void
check_truncated(const struct hostkey *hk, const char *name)
{
	struct hostkey *k;
	const char *errstr;
	char prefix[256], path[300], *buf;
	size_t len, n;

	snprintf(prefix, sizeof(prefix), "%s/%s", tmpdir, name);
	assert_int_equal(hostkey_save(hk, prefix, NULL, 0), 0);
	snprintf(path, sizeof(path), "%s.key", prefix);
	buf = slurp(path, &len);
	assert_non_null(k = hostkey_parse(buf, len, &errstr));
	hostkey_free(k);
	/* Only the final newline missing: still the same two blocks. */
	assert_non_null(k = hostkey_parse(buf, len - 1, &errstr));
	hostkey_free(k);
	/* Up to, but not including, the last newline of the END line. */
	for (n = 0; n + 1 < len; n++) {
		errstr = NULL;
		k = hostkey_parse(buf, n, &errstr);
		if (k != NULL)
			fail_msg("%s: prefix of %zu/%zu bytes accepted", name,
			    n, len);
		assert_non_null(errstr);
	}
	free(buf);
}

static void
test_truncated_keyfile(void **state)
{
	(void)state;
	check_truncated(hk_x, "trx");
	check_truncated(hk_r, "trr");
}

/* Replace the first occurrence of ${from} in ${s} by ${to} (same length). */
static void
subst(char *s, const char *from, const char *to)
{
	char *p;

	assert_int_equal(strlen(from), strlen(to));
	assert_non_null(p = strstr(s, from));
	memcpy(p, to, strlen(to));
}

static void
test_bad_keyfiles(void **state)
{
	struct hostkey *k;
	const char *errstr;
	char prefix[256], *buf, *second, *tmp, *p;
	size_t len, l1, l2;

	(void)state;
	snprintf(prefix, sizeof(prefix), "%s/bad", tmpdir);
	assert_int_equal(hostkey_save(hk_x, prefix, NULL, 0), 0);
	buf = slurp(tpath("bad.key"), &len);
	if ((second = strstr(buf + 1, "-----BEGIN")) == NULL) {
		fail_msg("no second PEM block");
		return; /* not reached (for the analyzer: cmocka's is opaque) */
	}
	l1 = (size_t)(second - buf);
	l2 = len - l1;
	assert_non_null(tmp = malloc(3 * len + 64));

	/* One block only. */
	assert_null(hostkey_parse(buf, l1, &errstr));
	assert_non_null(strstr(errstr, "one PEM block"));

	/* Swapped: X25519 first. */
	memcpy(tmp, second, l2);
	memcpy(tmp + l2, buf, l1);
	assert_null(hostkey_parse(tmp, len, &errstr));
	assert_non_null(strstr(errstr, "Ed25519"));

	/* Ed25519 twice. */
	memcpy(tmp, buf, l1);
	memcpy(tmp + l1, buf, l1);
	assert_null(hostkey_parse(tmp, 2 * l1, &errstr));
	assert_non_null(strstr(errstr, "X25519 or RSA"));

	/* Three blocks. */
	memcpy(tmp, buf, len);
	memcpy(tmp + len, second, l2);
	assert_null(hostkey_parse(tmp, len + l2, &errstr));
	assert_non_null(strstr(errstr, "more than two"));

	/* Comment lines and blank lines around the blocks are ignored. */
	p = tmp;
	p += sprintf(p, "# a comment\n\n");
	memcpy(p, buf, l1);
	p += l1;
	p += sprintf(p, "# between\n");
	memcpy(p, second, l2);
	p += l2;
	p += sprintf(p, "trailing words\n");
	assert_non_null(k = hostkey_parse(tmp, (size_t)(p - tmp), &errstr));
	hostkey_free(k);

	/* Wrong labels. */
	memcpy(tmp, buf, len);
	tmp[len] = '\0';
	subst(tmp, "BEGIN PRIVATE KEY", "BEGIN PUBLIC  KEY");
	subst(tmp, "END PRIVATE KEY", "END PUBLIC  KEY");
	assert_null(hostkey_parse(tmp, len, &errstr));
	memcpy(tmp, buf, len);
	subst(tmp, "BEGIN PRIVATE KEY", "BEGIN PRIVATE KEZ");
	subst(tmp, "END PRIVATE KEY", "END PRIVATE KEZ");
	assert_null(hostkey_parse(tmp, len, &errstr));
	assert_non_null(strstr(errstr, "not a cryptgate host key"));

	/* A PEM header (encrypted traditional format). */
	p = tmp;
	memcpy(p, "-----BEGIN PRIVATE KEY-----\n", 28);
	p += 28;
	p += sprintf(p,
	    "Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,"
	    "00000000000000000000000000000000\n\n");
	memcpy(p, buf + 28, len - 28);
	p += len - 28;
	assert_null(hostkey_parse(tmp, (size_t)(p - tmp), &errstr));

	/* Corrupted base64 and corrupted DER inside a block. */
	memcpy(tmp, buf, len);
	tmp[30] = '*';
	assert_null(hostkey_parse(tmp, len, &errstr));
	memcpy(tmp, buf, len);
	subst(tmp, "MC4CAQAw", "MC8CAQAw"); /* SEQUENCE length 47 */
	assert_null(hostkey_parse(tmp, len, &errstr));
	assert_non_null(errstr);

	/* Not PEM at all; the public line; empty. */
	assert_null(hostkey_parse("hello\n", 6, &errstr));
	assert_null(hostkey_parse(kat_line, strlen(kat_line), &errstr));
	assert_null(hostkey_parse("", 0, &errstr));
	assert_non_null(strstr(errstr, "not a cryptgate host key"));

	free(tmp);
	free(buf);
}

/* A rotated key file: Host-Id and Key-Version before the blocks. */
static void
test_rotated_keyfile(void **state)
{
	static const char id[] = "00112233445566778899aabbccddeeff";
	struct hostkey *k, *k2;
	struct hostpub pub, plain;
	const char *errstr;
	char prefix[256], *buf, *tmp, *p;
	size_t len, i;
	static const char *const bad[] = {
		"Host-Id: 00112233445566778899AABBCCDDEEFF\nKey-Version: 2\n",
		"Host-Id: 00112233445566778899aabbccddeef\nKey-Version: 2\n",
		"Host-Id: 00112233445566778899aabbccddeeff\nKey-Version: 0\n",
		"Host-Id: 00112233445566778899aabbccddeeff\nKey-Version: 02\n",
		"Host-Id: 00112233445566778899aabbccddeeff\nKey-Version: "
		"65536\n",
		"Host-Id: 00112233445566778899aabbccddeeff\nKey-Version: 2x\n",
		"Host-Id: 00112233445566778899aabbccddeeff\n",
		"Key-Version: 2\n",
		"Host-Id: 00112233445566778899aabbccddeeff\nKey-Version: 2\n"
		"Key-Version: 3\n",
	};

	(void)state;
	snprintf(prefix, sizeof(prefix), "%s/rot", tmpdir);
	assert_int_equal(hostkey_save(hk_x, prefix, NULL, 0), 0);
	buf = slurp(tpath("rot.key"), &len);
	assert_non_null(tmp = malloc(len + 256));
	hostkey_public(hk_x, &plain);
	assert_int_equal(hostkey_kvno(hk_x), HOSTKEY_KVNO_FIRST);

	/* Host-Id replaces the id of the keys; Key-Version is kept. */
	p = tmp + sprintf(tmp, "Host-Id: %s\r\nKey-Version: 65535\n", id);
	memcpy(p, buf, len);
	assert_non_null(
	    k = hostkey_parse(tmp, (size_t)(p - tmp) + len, &errstr));
	assert_int_equal(hostkey_kvno(k), 65535);
	hostkey_public(k, &pub);
	assert_memory_equal(pub.host_id,
	    "\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd"
	    "\xee\xff",
	    HOSTPUB_IDBYTES);
	assert_memory_equal(pub.sign_pk, plain.sign_pk, sizeof(pub.sign_pk));

	/* hostkey_save keeps them. */
	snprintf(prefix, sizeof(prefix), "%s/rot2", tmpdir);
	assert_int_equal(hostkey_save(k, prefix, NULL, 0), 0);
	assert_non_null(k2 = hostkey_load(tpath("rot2.key")));
	assert_int_equal(hostkey_kvno(k2), 65535);
	hostkey_public(k2, &plain);
	assert_memory_equal(plain.host_id, pub.host_id, HOSTPUB_IDBYTES);
	hostkey_free(k2);
	hostkey_free(k);

	/* Lines after the first block are text like any other. */
	memcpy(tmp, buf, len);
	p = tmp + len + sprintf(tmp + len, "Key-Version: 7\n");
	assert_non_null(k = hostkey_parse(tmp, (size_t)(p - tmp), &errstr));
	assert_int_equal(hostkey_kvno(k), HOSTKEY_KVNO_FIRST);
	hostkey_free(k);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		p = tmp + sprintf(tmp, "%s", bad[i]);
		memcpy(p, buf, len);
		assert_null(
		    hostkey_parse(tmp, (size_t)(p - tmp) + len, &errstr));
		assert_non_null(strstr(errstr, "Key-Version"));
	}
	free(tmp);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_x25519),
		cmocka_unit_test(test_roundtrip_rsa),
		cmocka_unit_test(test_save_refuses),
		cmocka_unit_test(test_load_mode),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_seal_open_x25519),
		cmocka_unit_test(test_seal_open_rsa),
		cmocka_unit_test(test_host_id_kat),
		cmocka_unit_test(test_pub_tamper),
		cmocka_unit_test(test_pub_rejects),
		cmocka_unit_test(test_truncated_keyfile),
		cmocka_unit_test(test_bad_keyfiles),
		cmocka_unit_test(test_rotated_keyfile),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
