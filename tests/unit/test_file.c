/*
 * test_file.c: file_read, file_read_secret (permission, symlink and type
 * checks, with the exact message), file_write (modes, FILE_EXCL, no
 * temporary file left behind) and file_dir_is_world_writable.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cryptgate/file.h"
#include "cryptgate/log.h"
#include "cryptgate/secret.h"

static char tmpdir[64];
static char errpath[128];
static int saved_stderr = -1;

static int
setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/test_file.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return (-1);
	/* A fixed mode, whatever the runner's umask. */
	chmod(tmpdir, 0700);
	snprintf(errpath, sizeof(errpath), "%s.stderr", tmpdir);
	log_init(1, 0, LOG_USER);
	log_procinit("test_file");
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

/* Path of ${name} in the test directory (static buffer, 4 slots). */
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
put(const char *name, const char *content, mode_t mode)
{
	const char *p = tpath(name);
	FILE *f;

	unlink(p);
	assert_non_null(f = fopen(p, "w"));
	assert_int_equal(fputs(content, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, mode), 0);
}

/* Redirect stderr (the log) to a file until capture_end. */
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

/* Restore stderr; return what was logged (static buffer). */
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

/* Number of entries in the test directory whose name contains ".tmp.". */
static int
count_tmp(void)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	assert_non_null(d = opendir(tmpdir));
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, ".tmp.") != NULL)
			n++;
	closedir(d);
	return (n);
}

static void
test_read(void **state)
{
	char *buf;
	size_t len;

	(void)state;
	put("a.conf", "hello\nworld\n", 0644);
	assert_int_equal(file_read(tpath("a.conf"), 100, &buf, &len), 0);
	assert_int_equal(len, 12);
	assert_string_equal(buf, "hello\nworld\n");
	free(buf);

	/* The cap: exactly at it is fine, one byte over is refused. */
	assert_int_equal(file_read(tpath("a.conf"), 12, &buf, &len), 0);
	free(buf);
	capture_begin();
	assert_int_equal(file_read(tpath("a.conf"), 11, &buf, &len), -1);
	assert_non_null(strstr(capture_end(), "too large"));

	/* Empty file. */
	put("empty", "", 0644);
	assert_int_equal(file_read(tpath("empty"), 10, &buf, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(buf, "");
	free(buf);

	/* Missing, a directory, a FIFO (must not block). */
	capture_begin();
	assert_int_equal(file_read(tpath("missing"), 10, &buf, &len), -1);
	assert_non_null(strstr(capture_end(), "No such file"));
	capture_begin();
	assert_int_equal(file_read(tmpdir, 10, &buf, &len), -1);
	assert_non_null(strstr(capture_end(), "not a regular file"));
	assert_int_equal(mkfifo(tpath("fifo"), 0600), 0);
	capture_begin();
	assert_int_equal(file_read(tpath("fifo"), 10, &buf, &len), -1);
	assert_non_null(strstr(capture_end(), "not a regular file"));
	unlink(tpath("fifo"));
}

static void
test_read_secret_modes(void **state)
{
	static const mode_t refused[] = { 0644, 0640, 0604, 0660, 0601, 0610,
		0602, 0620, 0700 | 0007, 0444 };
	char *buf, want[256];
	const char *msg;
	size_t len, i;

	(void)state;
	put("host.key", "secret\n", 0600);
	assert_int_equal(
	    file_read_secret(tpath("host.key"), 100, &buf, &len), 0);
	assert_int_equal(len, 7);
	assert_string_equal(buf, "secret\n");
	secret_free(buf, len + 1);

	put("ro.key", "s", 0400);
	assert_int_equal(file_read_secret(tpath("ro.key"), 100, &buf, &len), 0);
	secret_free(buf, len + 1);

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(chmod(tpath("host.key"), refused[i]), 0);
		capture_begin();
		assert_int_equal(
		    file_read_secret(tpath("host.key"), 100, &buf, &len), -1);
		msg = capture_end();
		snprintf(want, sizeof(want),
		    "test_file: %s: permissions %04o are too open: a key file "
		    "must not be accessible by group or others (chmod 600 "
		    "%s)\n",
		    tpath("host.key"), (unsigned int)refused[i],
		    tpath("host.key"));
		assert_string_equal(msg, want);
	}
}

static void
test_read_secret_types(void **state)
{
	char *buf;
	const char *msg;
	size_t len;

	(void)state;
	put("real.key", "k", 0600);
	unlink(tpath("link.key"));
	assert_int_equal(symlink(tpath("real.key"), tpath("link.key")), 0);
	capture_begin();
	assert_int_equal(
	    file_read_secret(tpath("link.key"), 100, &buf, &len), -1);
	msg = capture_end();
	assert_non_null(strstr(msg, "symbolic link"));
	/* file_read (public files) follows symbolic links. */
	assert_int_equal(file_read(tpath("link.key"), 100, &buf, &len), 0);
	free(buf);

	capture_begin();
	assert_int_equal(file_read_secret(tmpdir, 100, &buf, &len), -1);
	assert_non_null(strstr(capture_end(), "not a regular file"));

	put("big.key", "0123456789", 0600);
	capture_begin();
	assert_int_equal(file_read_secret(tpath("big.key"), 9, &buf, &len), -1);
	assert_non_null(strstr(capture_end(), "too large"));
}

static void
test_write_modes(void **state)
{
	struct stat st;
	char *buf;
	size_t len;
	mode_t old;

	(void)state;
	/* The mode is exact whatever the umask. */
	old = umask(077);
	unlink(tpath("w.pub"));
	assert_int_equal(file_write(tpath("w.pub"), "pub\n", 4, 0644, 0), 0);
	assert_int_equal(stat(tpath("w.pub"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	umask(0);
	unlink(tpath("w.key"));
	assert_int_equal(
	    file_write(tpath("w.key"), "key\n", 4, 0600, FILE_EXCL), 0);
	assert_int_equal(stat(tpath("w.key"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	umask(old);

	assert_int_equal(file_read(tpath("w.key"), 100, &buf, &len), 0);
	assert_string_equal(buf, "key\n");
	free(buf);
	assert_int_equal(count_tmp(), 0);

	/* Zero bytes. */
	assert_int_equal(file_write(tpath("w0"), "", 0, 0600, 0), 0);
	assert_int_equal(stat(tpath("w0"), &st), 0);
	assert_int_equal(st.st_size, 0);
}

/* As root, a replaced file keeps its owner and group; a new one is
 * root's. */
static void
test_write_keeps_owner(void **state)
{
	struct stat st;

	(void)state;
	if (geteuid() != 0) {
		skip(); /* needs root to give a file away */
		return;
	}
	unlink(tpath("own.key"));
	assert_int_equal(file_write(tpath("own.key"), "a\n", 2, 0600, 0), 0);
	assert_int_equal(stat(tpath("own.key"), &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(chown(tpath("own.key"), 65534, 65533), 0);
	assert_int_equal(file_write(tpath("own.key"), "b\n", 2, 0600, 0), 0);
	assert_int_equal(stat(tpath("own.key"), &st), 0);
	assert_int_equal(st.st_uid, 65534);
	assert_int_equal(st.st_gid, 65533);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(count_tmp(), 0);
}

static void
test_write_excl(void **state)
{
	char *buf;
	size_t len;

	(void)state;
	put("x.key", "old\n", 0600);

	/* FILE_EXCL: refused, errno EEXIST, not logged, old content kept. */
	capture_begin();
	errno = 0;
	assert_int_equal(
	    file_write(tpath("x.key"), "new\n", 4, 0600, FILE_EXCL), -1);
	assert_int_equal(errno, EEXIST);
	assert_string_equal(capture_end(), "");
	assert_int_equal(file_read(tpath("x.key"), 100, &buf, &len), 0);
	assert_string_equal(buf, "old\n");
	free(buf);
	assert_int_equal(count_tmp(), 0);

	/* A dangling symbolic link also counts as existing. */
	unlink(tpath("dangling"));
	assert_int_equal(symlink(tpath("nowhere"), tpath("dangling")), 0);
	assert_int_equal(
	    file_write(tpath("dangling"), "x", 1, 0600, FILE_EXCL), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(access(tpath("nowhere"), F_OK), -1);

	/* Without FILE_EXCL: replaced. */
	assert_int_equal(file_write(tpath("x.key"), "new\n", 4, 0600, 0), 0);
	assert_int_equal(file_read(tpath("x.key"), 100, &buf, &len), 0);
	assert_string_equal(buf, "new\n");
	free(buf);
	assert_int_equal(count_tmp(), 0);
}

static void
test_write_fails_cleanly(void **state)
{
	(void)state;
	/* Missing directory: logged, nothing created. */
	capture_begin();
	assert_int_equal(
	    file_write(tpath("nodir/f"), "x", 1, 0600, FILE_EXCL), -1);
	assert_non_null(strstr(capture_end(), "nodir/f"));
	assert_int_equal(count_tmp(), 0);

	/* Replacing a directory fails and leaves no temporary file. */
	assert_int_equal(mkdir(tpath("adir"), 0700), 0);
	capture_begin();
	assert_int_equal(file_write(tpath("adir"), "x", 1, 0600, 0), -1);
	(void)capture_end();
	assert_int_equal(count_tmp(), 0);
	rmdir(tpath("adir"));
}

static void
test_world_writable(void **state)
{
	(void)state;
	assert_int_equal(mkdir(tpath("ww"), 0700), 0);
	assert_false(file_dir_is_world_writable(tpath("ww/f")));
	assert_int_equal(chmod(tpath("ww"), 0777), 0);
	assert_true(file_dir_is_world_writable(tpath("ww/f")));
	assert_int_equal(chmod(tpath("ww"), 01777), 0);
	assert_true(file_dir_is_world_writable(tpath("ww/f")));
	assert_int_equal(chmod(tpath("ww"), 0775), 0);
	assert_false(file_dir_is_world_writable(tpath("ww/f")));
	rmdir(tpath("ww"));
	assert_false(file_dir_is_world_writable(tpath("ww/f")));
	assert_false(file_dir_is_world_writable("/f"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_read_secret_modes),
		cmocka_unit_test(test_read_secret_types),
		cmocka_unit_test(test_write_modes),
		cmocka_unit_test(test_write_keeps_owner),
		cmocka_unit_test(test_write_excl),
		cmocka_unit_test(test_write_fails_cleanly),
		cmocka_unit_test(test_world_writable),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
