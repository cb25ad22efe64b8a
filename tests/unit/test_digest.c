/*
 * test_digest.c: SHA-256 (digest.c) against FIPS 180-4 example values,
 * one-shot and incremental.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "cryptgate/digest.h"
#include "cryptgate/log.h"

static void
unhex(uint8_t *out, size_t n, const char *s)
{
	unsigned int v;
	size_t i;

	assert_int_equal(strlen(s), 2 * n);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* FIPS 180-4 / NIST CSRC SHA-256 examples. */
static const struct {
	const char *m;
	const char *hex;
} kat[] = {
	{ "",
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"
	    "5" },
	{ "abc",
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a"
	    "d" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c"
	    "1" },
};

static void
test_oneshot(void **state)
{
	uint8_t want[32], got[32];
	size_t i;

	for (i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		unhex(want, sizeof(want), kat[i].hex);
		assert_int_equal(
		    digest_sha256(got, kat[i].m, strlen(kat[i].m)), 0);
		assert_memory_equal(got, want, 32);
	}
	assert_int_equal(digest_sha256(got, NULL, 0), 0);
	unhex(want, sizeof(want), kat[0].hex);
	assert_memory_equal(got, want, 32);
}

static void
test_incremental(void **state)
{
	uint8_t want[32], got[32];
	struct digest_ctx *d;
	char *a;
	size_t i, step;

	/* One million 'a', fed in uneven pieces. */
	unhex(want, sizeof(want),
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	assert_non_null(a = malloc(1000000));
	memset(a, 'a', 1000000);
	assert_int_equal(digest_sha256(got, a, 1000000), 0);
	assert_memory_equal(got, want, 32);
	assert_non_null(d = digest_new());
	for (i = 0, step = 1; i < 1000000; i += step, step = step * 3 % 4099)
		assert_int_equal(digest_update(d, a + i,
		                     step < 1000000 - i ? step : 1000000 - i),
		    0);
	assert_int_equal(digest_update(d, NULL, 0), 0);
	assert_int_equal(digest_final(d, got), 0);
	assert_memory_equal(got, want, 32);
	/* Finalized: no more updates or results. */
	assert_int_equal(digest_final(d, got), -1);
	assert_int_equal(digest_update(d, "x", 1), -1);
	digest_free(d);
	digest_free(NULL);
	free(a);
}

static int
setup(void **state)
{
	log_init(1, 0, LOG_USER);
	return (0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oneshot),
		cmocka_unit_test(test_incremental),
	};

	return (cmocka_run_group_tests(tests, setup, NULL));
}
