/*
 * test_log.c: the log module: foreground format, log_warn's errno text,
 * verbosity, and the rate limiter's budget and "suppressed" report.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cryptgate/log.h"

static char captured[65536];

/* Run ${fn} with stderr redirected to a temporary file; keep its text. */
static void
capture(void (*fn)(void))
{
	FILE *tmp;
	int saved, n;

	fflush(stderr);
	assert_non_null(tmp = tmpfile());
	assert_true((saved = dup(STDERR_FILENO)) >= 0);
	assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);
	fn();
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(tmp);
	n = (int)fread(captured, 1, sizeof(captured) - 1, tmp);
	captured[n < 0 ? 0 : n] = '\0';
	fclose(tmp);
}

static size_t
count_lines(const char *s, const char *needle)
{
	size_t n = 0;

	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s += strlen(needle);
	}
	return (n);
}

static void
emit_levels(void)
{
	log_warnx("warnx %d", 1);
	errno = ENOENT;
	log_warn("warn %s", "x");
	log_info("info line");
	log_debug("debug line");
}

static void
test_levels(void **state)
{
	(void)state;
	log_init(1, 0, LOG_USER);
	log_procinit("t");
	capture(emit_levels);
	assert_non_null(strstr(captured, "t: warnx 1\n"));
	assert_non_null(
	    strstr(captured, "t: warn x: No such file or directory\n"));
	assert_null(strstr(captured, "info line"));
	assert_null(strstr(captured, "debug line"));

	log_setverbose(2);
	assert_int_equal(log_getverbose(), 2);
	capture(emit_levels);
	assert_non_null(strstr(captured, "t: info line\n"));
	assert_non_null(strstr(captured, "t: debug line\n"));
	log_setverbose(0);
}

static void
emit_burst(void)
{
	static struct log_ratelimit rl;
	int i;

	for (i = 0; i < 100; i++)
		log_ratelimited(&rl, LOG_WARNING, "drop %d", i);
	/* A new window: force it by moving the window start back. */
	rl.window_start -= LOG_RATELIMIT_INTERVAL + 1;
	log_ratelimited(&rl, LOG_WARNING, "after");
}

static void
test_ratelimit(void **state)
{
	(void)state;
	log_init(1, 0, LOG_USER);
	log_procinit("t");
	capture(emit_burst);
	/* The burst budget, then one report of what was held back. */
	assert_int_equal(
	    count_lines(captured, "t: drop "), LOG_RATELIMIT_BURST);
	assert_non_null(strstr(captured, "t: drop 0\n"));
	assert_null(strstr(captured, "t: drop 10\n"));
	assert_non_null(
	    strstr(captured, "t: 90 similar messages suppressed\nt: after\n"));
}

static void
emit_long(void)
{
	char big[4000];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_warnx("%s", big);
}

/* An over-long message is cut, not overflowed, and still one line. */
static void
test_long(void **state)
{
	(void)state;
	log_init(1, 0, LOG_USER);
	capture(emit_long);
	assert_int_equal(count_lines(captured, "\n"), 1);
	assert_true(strlen(captured) < 1100);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test(test_long),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
