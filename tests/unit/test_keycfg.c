/*
 * test_keycfg.c: key.cfg parsing, updating and writing (keycfg.h), and
 * kdcclient_keycfg_update on top of it.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "cryptgate/hostkey.h"
#include "cryptgate/kdcclient.h"
#include "cryptgate/keycfg.h"
#include "cryptgate/log.h"

#define HEX1 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define HEX2 "FFEEDDCCBBAA99887766554433221100ffeeddccbbaa99887766554433221100"

static char tmpdir[64];
static char errpath[128];
static int saved_stderr = -1;

static int
setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/test_keycfg.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return (-1);
	chmod(tmpdir, 0700);
	snprintf(errpath, sizeof(errpath), "%s.stderr", tmpdir);
	log_init(1, 0, LOG_USER);
	log_procinit("test_keycfg");
	return (0);
}

static int
teardown(void **state)
{
	char cmd[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", tmpdir, errpath);
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

static void
put(const char *name, const char *content, size_t len, mode_t mode)
{
	const char *p = tpath(name);
	int fd;

	unlink(p);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	assert_int_equal(chmod(p, mode), 0);
}

/* The contents of ${name} (static buffer). */
static const char *
slurp(const char *name)
{
	static char buf[4096];
	ssize_t n;
	int fd;

	fd = open(tpath(name), O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return (buf);
}

static void
capture_begin(void)
{
	int fd;

	fflush(stderr);
	saved_stderr = dup(2);
	assert_true(saved_stderr >= 0);
	fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
}

static const char *
capture_end(void)
{
	static char buf[1024];
	ssize_t n;
	int fd;

	fflush(stderr);
	assert_int_equal(dup2(saved_stderr, 2), 2);
	close(saved_stderr);
	fd = open(errpath, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return (buf);
}

static void
test_parse_good(void **state)
{
	static const char text[] = "\nkdc1-00:" HEX1 "\n\n"
	                           "any!ident~ity:" HEX2;
	struct keycfg *kc;
	const uint8_t *k;

	(void)state;
	kc = keycfg_parse(text, strlen(text), "t");
	assert_non_null(kc);
	assert_int_equal(keycfg_count(kc), 2);
	assert_string_equal(keycfg_identity(kc, 0), "kdc1-00");
	assert_string_equal(keycfg_identity(kc, 1), "any!ident~ity");
	assert_null(keycfg_identity(kc, 2));
	k = keycfg_find(kc, "kdc1-00");
	assert_non_null(k);
	assert_int_equal(k[0], 0);
	assert_int_equal(k[31], 0x1f);
	k = keycfg_find(kc, "any!ident~ity");
	assert_int_equal(k[0], 0xff);
	assert_null(keycfg_find(kc, "kdc1"));
	keycfg_free(kc);
	/* Empty input: an empty list. */
	kc = keycfg_parse("", 0, "t");
	assert_non_null(kc);
	assert_int_equal(keycfg_count(kc), 0);
	keycfg_free(kc);
}

/* Each malformed file is refused with "NAME:LINE: reason". */
static void
test_parse_bad(void **state)
{
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ "a:" HEX1 "\nno colon here\n", "k:2: not in the form" },
		{ ":" HEX1 "\n", "k:1: empty identity" },
		{ "a b:" HEX1 "\n", "k:1: identity holds a space" },
		{ "a\t:" HEX1 "\n", "k:1: identity holds a space" },
		{ "a:" HEX1 "0\n", "k:1: the key is not 64 hex" },
		{ "a:" HEX1 " \n", "k:1: the key is not 64 hex" },
		{ "\n\na:00\n", "k:3: the key is not 64 hex" },
		{ "a:" HEX1 "\r\n", "k:1: carriage return" },
		{ "# comment\n", "k:1: not in the form" },
		{ "a:"
		  "zz02030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1"
		  "e1f\n",
		    "k:1: the key is not 64 hex" },
		{ "a:" HEX1 "\nb:" HEX2 "\na:" HEX2 "\n",
		    "k:3: identity 'a' repeated (first on line 1)" },
		{ "a:b:" HEX1 "\n", "k:1: the key is not 64 hex" },
	};
	struct keycfg *kc;
	char longid[400];
	const char *msg;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		capture_begin();
		kc = keycfg_parse(cases[i].text, strlen(cases[i].text), "k");
		msg = capture_end();
		if (kc != NULL || strstr(msg, cases[i].msg) == NULL)
			fail_msg("case %zu: got '%s'", i, msg);
	}
	/* A NUL byte, and a 256-character identity. */
	capture_begin();
	kc = keycfg_parse("a\0:" HEX1 "\n", 68, "k");
	msg = capture_end();
	assert_null(kc);
	assert_non_null(strstr(msg, "k:1: NUL byte"));
	memset(longid, 'i', 256);
	snprintf(longid + 256, sizeof(longid) - 256, ":%s\n", HEX1);
	capture_begin();
	kc = keycfg_parse(longid, strlen(longid), "k");
	msg = capture_end();
	assert_null(kc);
	assert_non_null(strstr(msg, "k:1: identity longer than 255"));
	/* 255 characters is fine. */
	memmove(longid + 255, longid + 256, strlen(longid + 256) + 1);
	kc = keycfg_parse(longid, strlen(longid), "k");
	assert_non_null(kc);
	keycfg_free(kc);
}

static void
test_set_write_load(void **state)
{
	uint8_t k1[32], k2[32];
	struct keycfg *kc;
	struct stat st;

	(void)state;
	memset(k1, 0x11, sizeof(k1));
	memset(k2, 0xa2, sizeof(k2));
	kc = keycfg_new();
	assert_int_equal(keycfg_set(kc, "x", k1), 0);
	assert_int_equal(keycfg_set(kc, "y", k1), 0);
	assert_int_equal(keycfg_set(kc, "x", k2), 0); /* in place */
	assert_int_equal(keycfg_count(kc), 2);
	assert_int_equal(keycfg_set(kc, "bad:id", k1), -1);
	assert_int_equal(keycfg_set(kc, "bad id", k1), -1);
	assert_int_equal(keycfg_set(kc, "", k1), -1);
	assert_int_equal(keycfg_write(kc, tpath("key.cfg")), 0);
	keycfg_free(kc);
	assert_string_equal(slurp("key.cfg"),
	    "x:a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2"
	    "\n"
	    "y:1111111111111111111111111111111111111111111111111111111111111111"
	    "\n");
	assert_int_equal(stat(tpath("key.cfg"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	kc = keycfg_load(tpath("key.cfg"), 0);
	assert_non_null(kc);
	assert_memory_equal(keycfg_find(kc, "x"), k2, 32);
	assert_int_equal(keycfg_remove(kc, "x"), 0);
	assert_int_equal(keycfg_remove(kc, "x"), -1);
	assert_int_equal(keycfg_count(kc), 1);
	assert_string_equal(keycfg_identity(kc, 0), "y");
	keycfg_free(kc);

	/* Missing file: empty with KEYCFG_MISSING_OK, else an error. */
	kc = keycfg_load(tpath("absent.cfg"), KEYCFG_MISSING_OK);
	assert_non_null(kc);
	assert_int_equal(keycfg_count(kc), 0);
	keycfg_free(kc);
	capture_begin();
	kc = keycfg_load(tpath("absent.cfg"), 0);
	(void)capture_end();
	assert_null(kc);
}

/* A key file readable by group or others is refused, even if missing
 * files are allowed. */
static void
test_permissions(void **state)
{
	static const char text[] = "a:" HEX1 "\n";
	struct keycfg *kc;
	const char *msg;

	(void)state;
	put("open.cfg", text, strlen(text), 0644);
	capture_begin();
	kc = keycfg_load(tpath("open.cfg"), KEYCFG_MISSING_OK);
	msg = capture_end();
	assert_null(kc);
	assert_non_null(strstr(msg, "open.cfg"));
	put("open.cfg", text, strlen(text), 0600);
	kc = keycfg_load(tpath("open.cfg"), 0);
	assert_non_null(kc);
	keycfg_free(kc);
	/* A syntax error in a file names the file and line. */
	put("bad.cfg", "a:" HEX1 "\nb\n", strlen("a:" HEX1 "\nb\n"), 0600);
	capture_begin();
	kc = keycfg_load(tpath("bad.cfg"), 0);
	msg = capture_end();
	assert_null(kc);
	assert_non_null(strstr(msg, "bad.cfg:2: not in the form"));
}

/* kdcclient_keycfg_update adds or replaces "<kdc>-<keyid>:<psk>". */
static void
test_kdcclient_update(void **state)
{
	struct kdcclient_result res;
	struct kdcclient_config cfg;
	struct kdcclient_addr a;
	char id[KDCCLIENT_IDENTITYBYTES], want[512];
	uint8_t key[32], psk[32];
	struct kdcclient *kc;
	struct hostkey *hk;
	struct hostpub pub;
	struct keycfg *kcfg;
	size_t i;

	(void)state;
	assert_non_null(hk = hostkey_generate(HOSTKEY_X25519));
	hostkey_public(hk, &pub);
	memset(&a, 0, sizeof(a));
	a.ss.ss_family = AF_INET;
	a.sslen = sizeof(struct sockaddr_in);
	memset(&cfg, 0, sizeof(cfg));
	cfg.key = hk;
	cfg.kdc_pub = &pub;
	cfg.kdc_name = "kdcZ";
	cfg.addrs = &a;
	cfg.naddrs = 1;
	assert_non_null(kc = kdcclient_new(&cfg));
	for (i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	memset(&res, 0, sizeof(res));
	res.type = WIRE_REQUEST_RESP;
	memset(res.key_id, 0xc3, sizeof(res.key_id));
	res.session_key = key;
	put("upd.cfg", "other:" HEX1 "\n", 71, 0600);
	assert_int_equal(
	    kdcclient_keycfg_update(tpath("upd.cfg"), kc, &res, id, sizeof(id)),
	    0);
	assert_string_equal(id, "kdcZ-c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3c3");
	assert_int_equal(
	    kdcclient_keycfg_update(tpath("upd.cfg"), kc, &res, id, sizeof(id)),
	    0);
	kcfg = keycfg_load(tpath("upd.cfg"), 0);
	assert_non_null(kcfg);
	assert_int_equal(keycfg_count(kcfg), 2);
	assert_int_equal(kdcclient_psk(psk, key, res.key_id), 0);
	assert_memory_equal(keycfg_find(kcfg, id), psk, 32);
	keycfg_free(kcfg);
	snprintf(want, sizeof(want), "other:%s\n%s:", HEX1, id);
	assert_true(strncmp(slurp("upd.cfg"), want, strlen(want)) == 0);
	/* No session key (an ERROR result): refused. */
	res.session_key = NULL;
	capture_begin();
	assert_int_equal(
	    kdcclient_keycfg_update(tpath("upd.cfg"), kc, &res, id, sizeof(id)),
	    -1);
	(void)capture_end();
	kdcclient_free(kc);
	hostkey_free(hk);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_set_write_load),
		cmocka_unit_test(test_permissions),
		cmocka_unit_test(test_kdcclient_update),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
