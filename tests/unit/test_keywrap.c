/*
 * test_keywrap.c: the master key file (create, load, strict parsing,
 * permissions, overwrite protection) and key wrapping (round trip, layout,
 * binding to the aad and the master key version, every bit flip).
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

#include "cryptgate/keywrap.h"
#include "cryptgate/log.h"

#define HEX64 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static char tmpdir[64];

static int
setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/test_keywrap.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return (-1);
	log_init(1, 0, LOG_USER);
	log_procinit("test_keywrap");
	return (0);
}

static int
teardown(void **state)
{
	char cmd[256];

	(void)state;
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

/* Write ${content} to ${name} with ${mode}; return its path. */
static const char *
put(const char *name, const char *content, mode_t mode)
{
	const char *p = tpath(name);
	FILE *f;

	unlink(p);
	assert_non_null(f = fopen(p, "w"));
	assert_int_equal(
	    fwrite(content, 1, strlen(content), f), strlen(content));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, mode), 0);
	return (p);
}

static struct keywrap_master *
load_content(const char *content)
{
	return (keywrap_master_load(put("m.key", content, 0600)));
}

static void
test_create_load(void **state)
{
	struct keywrap_master *m1, *m2;
	const char *p = tpath("master.key");
	uint8_t key[32], w[64], out[32];
	size_t wlen, outlen;
	struct stat sb;
	char buf[256];
	FILE *f;

	(void)state;
	umask(022);
	assert_int_equal(keywrap_master_create(p, 7, 0), 0);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	/* The file is the documented single line. */
	assert_non_null(f = fopen(p, "r"));
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_int_equal(strlen(buf), strlen("cryptgate-master-v1 7 ") + 65);
	assert_memory_equal(buf, "cryptgate-master-v1 7 ", 22);
	assert_int_equal(buf[strlen(buf) - 1], '\n');

	assert_non_null(m1 = keywrap_master_load(p));
	assert_int_equal(keywrap_master_version(m1), 7);

	/* No overwrite without KEYWRAP_FORCE: the old key still works. */
	memset(key, 0x5a, sizeof(key));
	assert_int_equal(
	    keywrap_wrap(w, sizeof(w), &wlen, key, 32, NULL, 0, m1), 0);
	assert_int_equal(keywrap_master_create(p, 8, 0), -1);
	assert_int_equal(errno, EEXIST);
	assert_non_null(m2 = keywrap_master_load(p));
	assert_int_equal(keywrap_master_version(m2), 7);
	assert_int_equal(
	    keywrap_unwrap(out, sizeof(out), &outlen, w, wlen, NULL, 0, m2), 0);
	assert_memory_equal(out, key, 32);
	keywrap_master_free(m2);

	/* With it: a new random key of the new version. */
	assert_int_equal(keywrap_master_create(p, 8, KEYWRAP_FORCE), 0);
	assert_non_null(m2 = keywrap_master_load(p));
	assert_int_equal(keywrap_master_version(m2), 8);
	assert_int_equal(
	    keywrap_unwrap(out, sizeof(out), &outlen, w, wlen, NULL, 0, m2),
	    -1);
	keywrap_master_free(m2);
	keywrap_master_free(m1);
	keywrap_master_free(NULL);

	/* Versions 0 and 256 cannot be created. */
	assert_int_equal(keywrap_master_create(tpath("v0.key"), 0, 0), -1);
	assert_int_equal(keywrap_master_create(tpath("v256.key"), 256, 0), -1);
	assert_int_equal(access(tpath("v0.key"), F_OK), -1);

	/* Two created keys differ. */
	assert_int_equal(keywrap_master_create(tpath("a.key"), 1, 0), 0);
	assert_int_equal(keywrap_master_create(tpath("b.key"), 1, 0), 0);
	assert_non_null(m1 = keywrap_master_load(tpath("a.key")));
	assert_non_null(m2 = keywrap_master_load(tpath("b.key")));
	assert_int_equal(
	    keywrap_wrap(w, sizeof(w), &wlen, key, 32, NULL, 0, m1), 0);
	assert_int_equal(
	    keywrap_unwrap(out, sizeof(out), &outlen, w, wlen, NULL, 0, m2),
	    -1);
	keywrap_master_free(m1);
	keywrap_master_free(m2);
}

static void
test_load_strict(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"cryptgate-master-v1 1 " HEX64 "\n\n",
		"cryptgate-master-v1 1 " HEX64 "\r\n",
		"cryptgate-master-v1 1 " HEX64 " ",
		"cryptgate-master-v1  1 " HEX64 "\n",
		"cryptgate-master-v1 1  " HEX64 "\n",
		" cryptgate-master-v1 1 " HEX64 "\n",
		"cryptgate-master-v2 1 " HEX64 "\n",
		"cryptgate-master-v1 0 " HEX64 "\n",
		"cryptgate-master-v1 01 " HEX64 "\n",
		"cryptgate-master-v1 256 " HEX64 "\n",
		"cryptgate-master-v1 +1 " HEX64 "\n",
		"cryptgate-master-v1 -1 " HEX64 "\n",
		"cryptgate-master-v1 1000 " HEX64 "\n",
		"cryptgate-master-v1 x " HEX64 "\n",
		"cryptgate-master-v1 " HEX64 "\n",
		"cryptgate-master-v1 1\n",
		"cryptgate-master-v1 1 " HEX64 "00\n",
		"cryptgate-master-v1 1 0" HEX64 "\n",
		"cryptgate-master-v1 1 "
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e"
		"1"
		"\n",
		"cryptgate-master-v1 1 "
		"000102030405060708090A0B0C0D0E0F101112131415161718191a1b1c1d1e"
		"1f"
		"\n",
		"cryptgate-master-v1 1 "
		"000102030405060708090g0b0c0d0e0f101112131415161718191a1b1c1d1e"
		"1f"
		"\n",
		"cryptgate-master-v1\t1 " HEX64 "\n",
		"cryptgate-master-v1 1 " HEX64 "\ncryptgate-master-v1 1 " HEX64,
	};
	struct keywrap_master *m;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = load_content(bad[i]);
		if (m != NULL)
			fail_msg("accepted bad master file %zu", i);
	}

	/* The good forms: with and without the newline, 1 and 255. */
	assert_non_null(m = load_content("cryptgate-master-v1 1 " HEX64));
	assert_int_equal(keywrap_master_version(m), 1);
	keywrap_master_free(m);
	assert_non_null(
	    m = load_content("cryptgate-master-v1 255 " HEX64 "\n"));
	assert_int_equal(keywrap_master_version(m), 255);
	keywrap_master_free(m);

	/* Permissions and symbolic links. */
	put("g.key", "cryptgate-master-v1 1 " HEX64 "\n", 0640);
	assert_null(keywrap_master_load(tpath("g.key")));
	put("o.key", "cryptgate-master-v1 1 " HEX64 "\n", 0604);
	assert_null(keywrap_master_load(tpath("o.key")));
	put("ok.key", "cryptgate-master-v1 1 " HEX64 "\n", 0400);
	unlink(tpath("link.key"));
	assert_int_equal(symlink(tpath("ok.key"), tpath("link.key")), 0);
	assert_null(keywrap_master_load(tpath("link.key")));
	assert_non_null(m = keywrap_master_load(tpath("ok.key")));
	keywrap_master_free(m);
	assert_null(keywrap_master_load(tpath("missing.key")));
}

static void
test_wrap_unwrap(void **state)
{
	struct keywrap_master *m, *m2;
	uint8_t key[32], aad[16], w[128], w2[128], out[64];
	size_t wlen, w2len, outlen, i;
	int bit;

	(void)state;
	assert_non_null(m = load_content("cryptgate-master-v1 3 " HEX64));
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0xa0 + i);
	memset(aad, 0x11, sizeof(aad));

	assert_int_equal(keywrap_wrap(w, sizeof(w), &wlen, key, sizeof(key),
	                     aad, sizeof(aad), m),
	    0);
	assert_int_equal(wlen, sizeof(key) + KEYWRAP_OVERHEAD);
	assert_int_equal(KEYWRAP_OVERHEAD, 29);
	assert_int_equal(w[0], 3);
	assert_int_equal(keywrap_version(w, wlen), 3);
	assert_int_equal(keywrap_version(w, KEYWRAP_OVERHEAD), -1);
	assert_int_equal(keywrap_unwrap(out, sizeof(out), &outlen, w, wlen, aad,
	                     sizeof(aad), m),
	    0);
	assert_int_equal(outlen, sizeof(key));
	assert_memory_equal(out, key, sizeof(key));

	/* Fresh nonce each time. */
	assert_int_equal(keywrap_wrap(w2, sizeof(w2), &w2len, key, sizeof(key),
	                     aad, sizeof(aad), m),
	    0);
	assert_int_equal(w2len, wlen);
	assert_memory_not_equal(w + 1, w2 + 1, wlen - 1);

	/* Another aad (another key id), or none. */
	aad[15] ^= 1;
	assert_int_equal(keywrap_unwrap(out, sizeof(out), &outlen, w, wlen, aad,
	                     sizeof(aad), m),
	    -1);
	assert_int_equal(outlen, 0);
	aad[15] ^= 1;
	assert_int_equal(
	    keywrap_unwrap(out, sizeof(out), &outlen, w, wlen, NULL, 0, m), -1);

	/* Every single bit flip is caught, and the output is wiped. */
	for (i = 0; i < wlen; i++) {
		for (bit = 0; bit < 8; bit++) {
			w[i] ^= (uint8_t)(1 << bit);
			memset(out, 0xee, sizeof(out));
			if (keywrap_unwrap(out, sizeof(out), &outlen, w, wlen,
			        aad, sizeof(aad), m) != -1)
				fail_msg(
				    "bit %d of byte %zu not caught", bit, i);
			assert_int_equal(outlen, 0);
			assert_int_equal(out[0], 0);
			assert_int_equal(out[sizeof(out) - 1], 0);
			w[i] ^= (uint8_t)(1 << bit);
		}
	}

	/* Truncated, extended, output too small. */
	assert_int_equal(keywrap_unwrap(out, sizeof(out), &outlen, w, wlen - 1,
	                     aad, sizeof(aad), m),
	    -1);
	assert_int_equal(keywrap_unwrap(out, sizeof(out), &outlen, w,
	                     KEYWRAP_OVERHEAD, aad, sizeof(aad), m),
	    -1);
	w[wlen] = 0;
	assert_int_equal(keywrap_unwrap(out, sizeof(out), &outlen, w, wlen + 1,
	                     aad, sizeof(aad), m),
	    -1);
	assert_int_equal(keywrap_unwrap(out, sizeof(key) - 1, &outlen, w, wlen,
	                     aad, sizeof(aad), m),
	    -1);
	assert_int_equal(keywrap_unwrap(out, sizeof(out), &outlen, w, wlen, aad,
	                     sizeof(aad), m),
	    0);

	/*
	 * The same key under another version number: the version byte is in
	 * the aad, so relabelling the wrapped key does not help.
	 */
	assert_non_null(m2 = load_content("cryptgate-master-v1 4 " HEX64));
	assert_int_equal(keywrap_unwrap(out, sizeof(out), &outlen, w, wlen, aad,
	                     sizeof(aad), m2),
	    -1);
	w[0] = 4;
	assert_int_equal(keywrap_unwrap(out, sizeof(out), &outlen, w, wlen, aad,
	                     sizeof(aad), m2),
	    -1);
	w[0] = 3;

	/* Wrap argument checks. */
	assert_int_equal(keywrap_wrap(w, sizeof(key) + KEYWRAP_OVERHEAD - 1,
	                     &wlen, key, sizeof(key), aad, sizeof(aad), m),
	    -1);
	assert_int_equal(
	    keywrap_wrap(w, sizeof(w), &wlen, key, 0, aad, sizeof(aad), m), -1);
	assert_int_equal(keywrap_wrap(w, sizeof(w), &wlen, key,
	                     KEYWRAP_KEYBYTES_MAX + 1, aad, sizeof(aad), m),
	    -1);
	assert_int_equal(keywrap_wrap(w, sizeof(w), &wlen, key, sizeof(key),
	                     aad, KEYWRAP_AADBYTES_MAX + 1, m),
	    -1);

	/* Shortest and longest keys. */
	assert_int_equal(
	    keywrap_wrap(w, sizeof(w), &wlen, key, 1, NULL, 0, m), 0);
	assert_int_equal(
	    keywrap_unwrap(out, sizeof(out), &outlen, w, wlen, NULL, 0, m), 0);
	assert_int_equal(outlen, 1);
	assert_int_equal(out[0], key[0]);
	keywrap_master_free(m2);
	keywrap_master_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_load),
		cmocka_unit_test(test_load_strict),
		cmocka_unit_test(test_wrap_unwrap),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
