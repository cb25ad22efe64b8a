/*
 * test_spawn.c: spawn_run with real children (sh -c): exit statuses, a
 * program that is not found (with and without its message), a child
 * killed by a signal, text on the child's standard input (short, longer
 * than a pipe holds, and not read at all), the standard input inherited
 * when there is no text, and the standard error hidden by quiet.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cryptgate/log.h"
#include "cryptgate/spawn.h"

/* More than a pipe holds (64 KiB by default). */
#define BIG ((size_t)256 * 1024)
#define MISSING "cryptgate-test-no-such-program"

static int
setup(void **state)
{
	(void)state;
	log_init(1, 0, LOG_USER);
	log_procinit("test_spawn");
	/* As the daemons do: a child that does not read is EPIPE, not death. */
	signal(SIGPIPE, SIG_IGN);
	return (0);
}

/* spawn_run of "sh -c ${script}". */
static int
sh(const char *script, const char *in, bool quiet)
{
	char *argv[] = { "sh", "-c", (char *)(uintptr_t)script, NULL };

	return (spawn_run(argv, in, quiet));
}

/*
 * spawn_run(${argv}, ${in}, ${quiet}) with our standard error (the log's,
 * and the child's unless quiet) in a temporary file; its result in ${*rc},
 * what was written there returned (static buffer).
 */
static const char *
stderr_of(char *const argv[], const char *in, bool quiet, int *rc)
{
	static char buf[1024];
	size_t n;
	FILE *f;
	int saved;

	assert_non_null(f = tmpfile());
	fflush(stderr);
	assert_true((saved = dup(2)) >= 0);
	assert_int_equal(dup2(fileno(f), 2), 2);
	*rc = spawn_run(argv, in, quiet);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return (buf);
}

static void
test_exit_status(void **state)
{
	char *t[] = { "true", NULL }, *f[] = { "false", NULL };
	char *args[] = { "sh", "-c", "test \"$1\" = 'a b;c'", "sh", "a b;c",
		NULL };

	(void)state;
	assert_int_equal(spawn_run(t, NULL, false), 0);
	assert_int_equal(spawn_run(f, NULL, false), -1);
	assert_int_equal(sh("exit 0", NULL, false), 0);
	assert_int_equal(sh("exit 1", NULL, false), -1);
	assert_int_equal(sh("exit 3", NULL, true), -1);
	assert_int_equal(sh("exit 255", NULL, false), -1);
	/* The arguments arrive as given, never through a shell of ours. */
	assert_int_equal(spawn_run(args, NULL, false), 0);
}

static void
test_missing_program(void **state)
{
	char *argv[] = { MISSING, "-x", NULL };
	/* Under valgrind (CG_VALGRIND=1) posix_spawnp's child is a fork
	 * whose exec fails with status 127: the same -1, but nothing said. */
	const bool said = getenv("CG_VALGRIND") == NULL;
	const char *err;
	int rc;

	(void)state;
	err = stderr_of(argv, NULL, false, &rc);
	assert_int_equal(rc, -1);
	if (said)
		assert_non_null(strstr(
		    err, "cannot run " MISSING ": No such file or directory"));

	/* quiet: the same failure, nothing said. */
	err = stderr_of(argv, "text\n", true, &rc);
	assert_int_equal(rc, -1);
	assert_string_equal(err, "");

	/* With text for it: still -1, said, and we carry on (no pipe left). */
	err = stderr_of(argv, "text\n", false, &rc);
	assert_int_equal(rc, -1);
	if (said)
		assert_non_null(strstr(err, "cannot run " MISSING));
}

static void
test_killed(void **state)
{
	(void)state;
	assert_int_equal(sh("kill -KILL $$", NULL, false), -1);
	assert_int_equal(sh("kill -TERM $$", NULL, true), -1);
	/* Killed after reading all its input: still a failure. */
	assert_int_equal(
	    sh("cat >/dev/null; kill -KILL $$", "rules\n", false), -1);
}

static void
test_stdin(void **state)
{
	char *big;

	(void)state;
	assert_int_equal(
	    sh("read x && test \"$x\" = hello", "hello\n", false), 0);
	assert_int_equal(
	    sh("read x && test \"$x\" = hello", "bye\n", false), -1);
	/* Every line, in order, then end of file. */
	assert_int_equal(sh("test \"$(cat)\" = \"$(printf 'a\\nb\\nc')\"",
	                     "a\nb\nc\n", false),
	    0);
	/* An empty text: the child sees end of file at once. */
	assert_int_equal(sh("test -z \"$(cat)\"", "", false), 0);

	/* More than a pipe holds: written in pieces, all of it arrives. */
	assert_non_null(big = malloc(BIG + 1));
	memset(big, 'x', BIG);
	big[BIG] = '\0';
	assert_int_equal(sh("[ $(wc -c) -eq 262144 ]", big, false), 0);
	assert_int_equal(sh("[ $(wc -c) -eq 262143 ]", big, false), -1);
	/* A child that exits 0 without reading it did not take the text. */
	assert_int_equal(sh("exit 0", big, false), -1);
	free(big);
}

/* Without text the child reads our standard input. */
static void
test_stdin_inherited(void **state)
{
	FILE *f;
	int saved;

	(void)state;
	assert_non_null(f = tmpfile());
	assert_int_equal(fputs("ours\n", f) >= 0, 1);
	assert_int_equal(fflush(f), 0);
	rewind(f);
	assert_true((saved = dup(0)) >= 0);
	assert_int_equal(dup2(fileno(f), 0), 0);
	assert_int_equal(sh("read x && test \"$x\" = ours", NULL, false), 0);
	assert_int_equal(dup2(saved, 0), 0);
	close(saved);
	fclose(f);
}

static void
test_quiet_stderr(void **state)
{
	char *says[] = { "sh", "-c", "echo child-says >&2; exit $0", "0",
		NULL };
	char *fails[] = { "sh", "-c", "echo child-says >&2; exit $0", "2",
		NULL };
	const char *err;
	int rc;

	(void)state;
	err = stderr_of(says, NULL, false, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(err, "child-says\n");

	err = stderr_of(fails, "in\n", true, &rc);
	assert_int_equal(rc, -1);
	assert_string_equal(err, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_missing_program),
		cmocka_unit_test(test_killed),
		cmocka_unit_test(test_stdin),
		cmocka_unit_test(test_stdin_inherited),
		cmocka_unit_test(test_quiet_stderr),
	};

	return (cmocka_run_group_tests(tests, setup, NULL));
}
