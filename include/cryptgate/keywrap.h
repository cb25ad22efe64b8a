/*
 * keywrap.h: the KDC's master key, and session keys wrapped under it for
 * storage at rest.
 *
 * Master key file (mode 0600, one line, an optional trailing newline):
 *
 *   cryptgate-master-v1 VERSION HEX
 *
 * VERSION is the decimal master key version, 1..255 without leading zeros;
 * HEX the 32-byte key as 64 lowercase hex digits; fields separated by
 * exactly one space.
 *
 * Wrapped format (KEYWRAP_OVERHEAD bytes longer than the key):
 *
 *   u8 version || nonce (12 random bytes) || ciphertext || tag (16 bytes)
 *
 * with ChaCha20-Poly1305 (RFC 8439) under the master key of that version
 * and associated data  version || aad  where ${aad} is the caller's (the
 * key id of a session key), so a wrapped key cannot be moved to another
 * row or replayed under another master key version.
 */
#ifndef CRYPTGATE_KEYWRAP_H
#define CRYPTGATE_KEYWRAP_H

#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"

#define KEYWRAP_MASTERBYTES 32
#define KEYWRAP_NONCEBYTES 12
#define KEYWRAP_TAGBYTES 16
#define KEYWRAP_OVERHEAD (1 + KEYWRAP_NONCEBYTES + KEYWRAP_TAGBYTES) /* 29 */
#define KEYWRAP_KEYBYTES_MAX 64 /* longest key keywrap_wrap accepts */
#define KEYWRAP_AADBYTES_MAX 255 /* longest ${aad} */
#define KEYWRAP_MAGIC "cryptgate-master-v1"
#define KEYWRAP_FILEBYTES_MAX 256

/* keywrap_master_create flags. */
#define KEYWRAP_FORCE 0x01 /* replace an existing file */

/* A master key and its version, in secret_alloc memory. */
struct keywrap_master;

/**
 * keywrap_master_load(path): read the master key file ${path}, which must
 * be a regular file (not a symbolic link) with mode & 077 == 0, and parse
 * it strictly (format above).  Return the key (free it with
 * keywrap_master_free) or NULL (logged as "PATH: reason").
 */
struct keywrap_master *keywrap_master_load(const char *path);

/**
 * keywrap_master_create(path, version, flags): generate a random master key
 * of version ${version} (1..255) and write it to ${path} atomically with
 * mode 0600.  An existing ${path} is refused (EEXIST) unless ${flags} has
 * KEYWRAP_FORCE.  Return 0 or -1 (logged).
 */
int keywrap_master_create(
    const char *path, unsigned int version, int flags) CG_WUR;

/** keywrap_master_version(m): the version of ${m} (1..255). */
unsigned int keywrap_master_version(const struct keywrap_master *m);

/** keywrap_master_free(m): wipe and free ${m}; NULL is a no-op. */
void keywrap_master_free(struct keywrap_master *m);

/**
 * keywrap_wrap(out, outsize, outlen, key, keylen, aad, aadlen, m): wrap the
 * ${keylen} bytes (1..KEYWRAP_KEYBYTES_MAX) at ${key} under ${m}, bound to
 * ${aad} (${aadlen} bytes, at most KEYWRAP_AADBYTES_MAX; NULL if 0), into
 * ${out} (${outsize} bytes, at least ${keylen} + KEYWRAP_OVERHEAD); set
 * ${*outlen}.  A fresh random nonce is used each time.  Return 0 or -1
 * (logged).
 */
int keywrap_wrap(uint8_t *out, size_t outsize, size_t *outlen,
    const uint8_t *key, size_t keylen, const uint8_t *aad, size_t aadlen,
    const struct keywrap_master *m) CG_WUR;

/**
 * keywrap_unwrap(out, outsize, outlen, in, inlen, aad, aadlen, m): check and
 * open the wrapped key ${in} (${inlen} bytes) with ${m} and ${aad}, writing
 * the key to ${out} (${outsize} bytes, at least ${inlen} -
 * KEYWRAP_OVERHEAD; use secret memory) and its length to ${*outlen}.
 * Return 0, or -1 for every failure alike (too short or too long, another
 * master key version, wrong ${aad}, bad tag, ${out} too small), with
 * ${out} wiped and ${*outlen} = 0.  Failures are not logged: the caller
 * knows which row failed and says so.
 */
int keywrap_unwrap(uint8_t *out, size_t outsize, size_t *outlen,
    const uint8_t *in, size_t inlen, const uint8_t *aad, size_t aadlen,
    const struct keywrap_master *m) CG_WUR;

/**
 * keywrap_version(in, inlen): the master key version a wrapped key was made
 * with (to choose the master key during a rollover), or -1 if ${inlen} is
 * too short to be a wrapped key.
 */
int keywrap_version(const uint8_t *in, size_t inlen);

#endif /* !CRYPTGATE_KEYWRAP_H */
