/*
 * test_secret.c: secret_alloc/free/wipe/equal and rand_bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "cryptgate/rand.h"
#include "cryptgate/secret.h"

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
test_alloc_free(void **state)
{
	uint8_t *p;
	size_t lens[] = { 0, 1, 32, 4096, 100000 }, i;

	(void)state;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		assert_non_null(p = secret_alloc(lens[i]));
		assert_true(is_zero(p, lens[i])); /* zeroed */
		memset(p, 0x5a, lens[i]);
		secret_free(p, lens[i]);
	}
	secret_free(NULL, 0);
	secret_free(NULL, 32);
}

static void
test_wipe(void **state)
{
	uint8_t buf[48];

	(void)state;
	memset(buf, 0xff, sizeof(buf));
	secret_wipe(buf + 8, 32);
	assert_true(is_zero(buf + 8, 32));
	assert_int_equal(buf[7], 0xff);
	assert_int_equal(buf[40], 0xff);
	secret_wipe(NULL, 0);
	secret_wipe(buf, 0);
	assert_int_equal(buf[0], 0xff);
}

static void
test_equal(void **state)
{
	uint8_t a[64], b[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(a); i++)
		a[i] = b[i] = (uint8_t)(i + 1);
	assert_true(secret_equal(a, b, sizeof(a)));
	assert_true(secret_equal(a, a, sizeof(a)));
	assert_true(secret_equal(a, b, 0));
	/* A difference at any position, in any bit, is seen. */
	for (i = 0; i < sizeof(a); i++) {
		b[i] ^= (uint8_t)(1u << (i % 8));
		assert_false(secret_equal(a, b, sizeof(a)));
		assert_false(secret_equal(b, a, sizeof(a)));
		/* ... but not outside the compared length. */
		assert_true(secret_equal(a, b, i));
		b[i] ^= (uint8_t)(1u << (i % 8));
	}
	assert_true(secret_equal(a, b, sizeof(a)));
}

static void
test_rand(void **state)
{
	uint8_t a[32], b[32], big[70000];

	(void)state;
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	assert_int_equal(rand_bytes(a, sizeof(a)), 0);
	assert_int_equal(rand_bytes(b, sizeof(b)), 0);
	assert_false(is_zero(a, sizeof(a)));
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(rand_bytes(a, 0), 0);
	memset(big, 0, sizeof(big));
	assert_int_equal(rand_bytes(big, sizeof(big)), 0);
	assert_false(is_zero(big + sizeof(big) - 32, 32));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc_free),
		cmocka_unit_test(test_wipe),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_rand),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
