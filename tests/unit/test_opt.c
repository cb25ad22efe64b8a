/*
 * test_opt.c: opt_refused names the option getopt_long refused as the user
 * typed it, for every way getopt_long refuses one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <getopt.h>
#include <string.h>

#include "cryptgate/opt.h"

static const struct option longopts[] = {
	{ "config", required_argument, NULL, 'f' },
	{ "help", no_argument, NULL, 'h' },
	{ "verbose", no_argument, NULL, 'v' },
	{ NULL, 0, NULL, 0 },
};

/* Parse ${argv} until getopt_long refuses something; that, named. */
static const char *
refused(int argc, char **argv, char buf[static 3])
{
	int c;

	optind = 0; /* glibc: start over, state included */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":f:hv", longopts, NULL)) != -1) {
		if (c == '?' || c == ':')
			return (opt_refused(argv, longopts, buf));
	}
	return (NULL);
}

static void
test_refused(void **state)
{
	static const struct {
		const char *args[4];
		const char *want;
	} cases[] = {
		{ { "p", "-Z" }, "-Z" },
		{ { "p", "-vZ" }, "-Z" }, /* inside a cluster */
		{ { "p", "--bogus" }, "--bogus" },
		{ { "p", "--bogus=1" }, "--bogus=1" },
		{ { "p", "-f" }, "-f" }, /* argument missing */
		{ { "p", "-vf" }, "-f" },
		{ { "p", "--config" }, "--config" },
		{ { "p", "--help=3" }, "--help=3" }, /* argument unwanted */
		{ { "p", "-v", "--verbose", "-x" }, "-x" },
	};
	char buf[3], *argv[5];
	const char *r;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (n = 0; n < 4 && cases[i].args[n] != NULL; n++)
			argv[n] = (char *)(uintptr_t)cases[i].args[n];
		argv[n] = NULL;
		r = refused((int)n, argv, buf);
		assert_non_null(r);
		assert_string_equal(r, cases[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
