/*
 * file.c: read small whole files (key files with a permission check) and
 * write files atomically (temporary file, fsync, rename, fsync directory).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cryptgate/log.h"
#include "cryptgate/secret.h"
#include "cryptgate/file.h"

/* What a temporary file name adds to the final one. */
#define TMP_SUFFIX ".tmp.XXXXXX"

/*
 * Open ${path} for reading and check it: a regular file of at most
 * ${maxlen} bytes and, if ${secret}, not a symbolic link and mode & 077 == 0.
 * Return the descriptor (size in ${*size}) or -1 (logged).
 */
static int
open_checked(const char *path, size_t maxlen, bool secret, size_t *size)
{
	struct stat st;
	int fd, flags;

	/* O_NONBLOCK: opening a FIFO must not hang; fstat then refuses it. */
	flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	if (secret)
		flags |= O_NOFOLLOW;
	if ((fd = open(path, flags)) == -1) {
		if (secret && errno == ELOOP)
			log_warnx("%s: is a symbolic link: a key file must be "
			          "a regular file",
			    path);
		else
			log_warn("%s", path);
		goto err0;
	}
	if (fstat(fd, &st) == -1) {
		log_warn("%s: fstat", path);
		goto err1;
	}
	if (!S_ISREG(st.st_mode)) {
		log_warnx("%s: not a regular file", path);
		goto err1;
	}
	if (secret && (st.st_mode & 077) != 0) {
		log_warnx("%s: permissions %04o are too open: a key file must "
		          "not be accessible by group or others (chmod 600 %s)",
		    path, (unsigned int)(st.st_mode & 07777), path);
		goto err1;
	}
	if (st.st_size < 0 || (uintmax_t)st.st_size > maxlen) {
		log_warnx("%s: too large (%jd bytes, at most %zu)", path,
		    (intmax_t)st.st_size, maxlen);
		goto err1;
	}
	*size = (size_t)st.st_size;

	/* Success! */
	return (fd);

err1:
	close(fd);
err0:
	/* Failure! */
	return (-1);
}

/*
 * Read up to ${bufsize} bytes from ${fd} into ${buf}; set ${*len}.  A file
 * that holds ${bufsize} bytes or more has grown since fstat: refuse it.
 */
static int
read_all(int fd, const char *path, char *buf, size_t bufsize, size_t *len)
{
	size_t off = 0;
	ssize_t n;

	while (off < bufsize) {
		n = read(fd, buf + off, bufsize - off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			log_warn("%s: read", path);
			goto err0;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	if (off == bufsize) {
		log_warnx("%s: file changed while being read", path);
		goto err0;
	}
	*len = off;

	/* Success! */
	return (0);

err0:
	/* Failure! */
	return (-1);
}

int
file_read(const char *path, size_t maxlen, char **buf, size_t *len)
{
	char *p;
	size_t size;
	int fd;

	if ((fd = open_checked(path, maxlen, false, &size)) == -1)
		goto err0;
	/* One byte to detect growth, which also holds the NUL. */
	if ((p = malloc(size + 1)) == NULL) {
		log_warn("%s", path);
		goto err1;
	}
	if (read_all(fd, path, p, size + 1, len))
		goto err2;
	p[*len] = '\0';
	close(fd);
	*buf = p;

	/* Success! */
	return (0);

err2:
	free(p);
err1:
	close(fd);
err0:
	/* Failure! */
	return (-1);
}

int
file_read_secret(const char *path, size_t maxlen, char **buf, size_t *len)
{
	char *p;
	size_t size;
	int fd;

	if ((fd = open_checked(path, maxlen, true, &size)) == -1)
		goto err0;
	if ((p = secret_alloc(size + 1)) == NULL) {
		log_warnx("%s: out of memory", path);
		goto err1;
	}
	if (read_all(fd, path, p, size + 1, len))
		goto err2;
	p[*len] = '\0';
	close(fd);
	*buf = p;

	/* Success! */
	return (0);

err2:
	secret_free(p, size + 1);
err1:
	close(fd);
err0:
	/* Failure! */
	return (-1);
}

/* The directory part of ${path} ("." if none), in a new string or NULL. */
static char *
dir_of(const char *path)
{
	const char *slash;

	if ((slash = strrchr(path, '/')) == NULL)
		return (strdup("."));
	if (slash == path)
		return (strdup("/"));
	return (strndup(path, (size_t)(slash - path)));
}

/* fsync the directory holding ${path}, so a rename in it is durable. */
static int
sync_dir(const char *path)
{
	char *dir;
	int fd;

	if ((dir = dir_of(path)) == NULL) {
		log_warn("%s", path);
		goto err0;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("%s", dir);
		goto err1;
	}
	/* Some file systems cannot fsync a directory: nothing to do then. */
	if (fsync(fd) == -1 && errno != EINVAL && errno != EROFS) {
		log_warn("%s: fsync", dir);
		goto err2;
	}
	close(fd);
	free(dir);

	/* Success! */
	return (0);

err2:
	close(fd);
err1:
	free(dir);
err0:
	/* Failure! */
	return (-1);
}

/* Write ${len} bytes to ${fd}. */
static int
write_all(int fd, const char *path, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("%s: write", path);
			return (-1);
		}
		p += n;
		len -= (size_t)n;
	}
	return (0);
}

/*
 * Move ${tmp} to ${path} unless ${path} exists: renameat2 RENAME_NOREPLACE,
 * or link + unlink on file systems without it.  errno EEXIST, not logged,
 * if ${path} exists.
 */
static int
rename_noreplace(const char *tmp, const char *path)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return (0);
	if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
		goto err0;
	if (link(tmp, path) == -1)
		goto err0;
	if (unlink(tmp) == -1) {
		log_warn("%s: unlink", tmp);
		return (-1);
	}
	return (0);

err0:
	if (errno != EEXIST)
		log_warn("%s: rename", path);
	return (-1);
}

int
file_write(
    const char *path, const void *buf, size_t len, mode_t mode, int flags)
{
	struct stat sb;
	char *tmp;
	size_t plen;
	int fd, saved;

	plen = strlen(path);
	if ((tmp = malloc(plen + sizeof(TMP_SUFFIX))) == NULL) {
		log_warn("%s", path);
		goto err0;
	}
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, TMP_SUFFIX, sizeof(TMP_SUFFIX));

	/* mkostemp creates the file 0600; fchmod sets ${mode} exactly. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		log_warn("%s: cannot create a temporary file", path);
		goto err1;
	}
	if (fchmod(fd, mode) == -1) {
		log_warn("%s: fchmod", tmp);
		goto err2;
	}
	/* As root, the file replaced keeps its owner and group. */
	if (geteuid() == 0 && stat(path, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (sb.st_uid != 0 || sb.st_gid != 0) &&
	    fchown(fd, sb.st_uid, sb.st_gid) == -1) {
		log_warn("%s: fchown", tmp);
		goto err2;
	}
	if (write_all(fd, tmp, buf, len))
		goto err2;
	if (fsync(fd) == -1) {
		log_warn("%s: fsync", tmp);
		goto err2;
	}
	if (close(fd) == -1) {
		fd = -1;
		log_warn("%s: close", tmp);
		goto err2;
	}
	fd = -1;
	if (flags & FILE_EXCL) {
		if (rename_noreplace(tmp, path))
			goto err2;
	} else if (rename(tmp, path) == -1) {
		log_warn("%s: rename", path);
		goto err2;
	}
	free(tmp);
	if (sync_dir(path))
		goto err0;

	/* Success! */
	return (0);

err2:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = saved;
err1:
	free(tmp);
err0:
	/* Failure! */
	return (-1);
}

bool
file_dir_is_world_writable(const char *path)
{
	struct stat st;
	char *dir;
	bool ww;

	if ((dir = dir_of(path)) == NULL)
		return (false);
	ww = stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & S_IWOTH) != 0;
	free(dir);
	return (ww);
}
