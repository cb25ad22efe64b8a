/*
 * file.h: reading small whole files (configs, keys) and writing them
 * atomically.
 *
 * Errors are logged once here, prefixed with the path, so callers need not
 * add anything: "host.key: permissions 0644 are too open: ...".
 */
#ifndef CRYPTGATE_FILE_H
#define CRYPTGATE_FILE_H

#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>

#include "cdefs.h"

/* file_write flags. */
#define FILE_EXCL 0x01 /* fail if ${path} exists (EEXIST) */

/**
 * file_read(path, maxlen, buf, len): read the regular file ${path}, at most
 * ${maxlen} bytes, into a new NUL-terminated buffer ${*buf} of ${*len}
 * bytes (plus the NUL).  The caller frees ${*buf} with free().  Return 0,
 * or -1 (logged) if it cannot be opened, is not a regular file or is
 * larger than ${maxlen}.
 */
int file_read(const char *path, size_t maxlen, char **buf, size_t *len) CG_WUR;

/**
 * file_read_secret(path, maxlen, buf, len): like file_read for a file
 * holding key material: ${path} must not be a symbolic link
 * (O_NOFOLLOW), must be a regular file, and its mode must grant nothing to
 * group or others (mode & 077 == 0); otherwise it is refused with a
 * message naming the fix.  ${*buf} comes from secret_alloc() and holds
 * ${*len} bytes plus a NUL; free it with secret_free(*buf, *len + 1).
 * Return 0 or -1 (logged).
 */
int file_read_secret(
    const char *path, size_t maxlen, char **buf, size_t *len) CG_WUR;

/**
 * file_write(path, buf, len, mode, flags): replace ${path} atomically with
 * the ${len} bytes at ${buf}: write a temporary file in the same directory
 * with mode ${mode} (exactly, whatever the umask), fsync it, rename it to
 * ${path} and fsync the directory.  Readers see the old file or the new
 * one, never a partial one, and no temporary file is left behind.  With
 * FILE_EXCL in ${flags} the final step fails if ${path} already exists
 * (renameat2 RENAME_NOREPLACE, or link(2) where that is not supported).
 * Run as root, a replaced file keeps its owner and group (a key file that a
 * daemon reads as its own user stays readable by it after `cryptgate
 * request` or `rotate` as root rewrote it).
 * Return 0, or -1 (logged; errno is EEXIST if FILE_EXCL refused).
 */
int file_write(const char *path, const void *buf, size_t len, mode_t mode,
    int flags) CG_WUR;

/**
 * file_dir_is_world_writable(path): true if the directory that holds
 * ${path} (which need not exist yet) is writable by others (mode & 002):
 * anyone may then delete or replace the files in it.  False if it cannot
 * be examined.
 */
bool file_dir_is_world_writable(const char *path);

#endif /* !CRYPTGATE_FILE_H */
