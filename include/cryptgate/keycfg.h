/*
 * keycfg.h: key.cfg, the file of TLS pre-shared keys that `cryptgate
 * request` writes and the gateways (or stunnel, as PSKsecrets) read.
 *
 * One key per line:
 *
 *	<identity>:<64 hex digits>
 *
 * identity: 1..KEYCFG_IDENTITY_MAX characters 0x21..0x7e except ':' (a
 * PSK identity "<kdc name>-<32 hex key id>" when the KDC issued the key);
 * the key: 32 bytes as 64 hex digits (lowercase when written; either case
 * read).  Lines end with "\n" (the last one may lack it); empty lines are
 * allowed and dropped when the file is rewritten.  Anything else (spaces,
 * comments, "\r", a short or long key, a repeated identity) is an error
 * reported with its line number.  stunnel's PSKsecrets reads the same
 * format.
 *
 * The file holds secrets: it is read with file_read_secret (refused if
 * group or others may access it, or if it is a symbolic link) and written
 * atomically with mode 0600 (file_write).  Keys are kept in secret memory
 * and wiped when freed.
 *
 * Thread safety: a struct keycfg is not locked; use one per thread or
 * lock around it.
 */
#ifndef CRYPTGATE_KEYCFG_H
#define CRYPTGATE_KEYCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"

#define KEYCFG_KEYBYTES 32
#define KEYCFG_IDENTITY_MAX 255 /* characters, without the NUL */
/* Largest key.cfg read (over 3,000 lines of the longest form). */
#define KEYCFG_FILEBYTES_MAX ((size_t)1024 * 1024)
/* At most this many keys in one file. */
#define KEYCFG_ENTRIES_MAX 65536

/* keycfg_load flags. */
#define KEYCFG_MISSING_OK 0x01 /* a file that does not exist is empty */

struct keycfg;

/** keycfg_new(void): an empty key list, or NULL (logged). */
struct keycfg *keycfg_new(void);

/**
 * keycfg_load(path, flags): read the key file ${path} (see above).  With
 * KEYCFG_MISSING_OK in ${flags} a file that does not exist gives an empty
 * list.  Return the list (free with keycfg_free), or NULL: logged once,
 * as "PATH:LINE: what is wrong" for a syntax error.
 */
struct keycfg *keycfg_load(const char *path, int flags);

/**
 * keycfg_parse(buf, len, name): parse the ${len} bytes at ${buf} as a key
 * file; ${name} names it in messages.  Return the list (keycfg_free) or
 * NULL (logged as "NAME:LINE: ...").
 */
struct keycfg *keycfg_parse(const char *buf, size_t len, const char *name);

/**
 * keycfg_set(kc, identity, key): add the key ${key} for ${identity} to
 * ${kc}, or replace the key of ${identity} if it has one (in place, so
 * the file keeps its order; new identities go at the end).  Return 0, or
 * -1 (logged) if ${identity} is not a valid identity or ${kc} is full.
 */
int keycfg_set(struct keycfg *kc, const char *identity,
    const uint8_t key[static KEYCFG_KEYBYTES]) CG_WUR;

/**
 * keycfg_remove(kc, identity): remove ${identity}'s key from ${kc}.
 * Return 0, or -1 (not logged) if there is none.
 */
int keycfg_remove(struct keycfg *kc, const char *identity);

/**
 * keycfg_find(kc, identity): the key of ${identity} (KEYCFG_KEYBYTES bytes
 * of secret memory owned by ${kc}, valid until ${kc} changes), or NULL.
 */
const uint8_t *keycfg_find(const struct keycfg *kc, const char *identity);

/** keycfg_count(kc): the number of keys in ${kc}. */
size_t keycfg_count(const struct keycfg *kc);

/**
 * keycfg_identity(kc, i): the identity of the ${i}-th key (file order),
 * ${i} < keycfg_count(${kc}).
 */
const char *keycfg_identity(const struct keycfg *kc, size_t i);

/**
 * keycfg_write(kc, path): replace ${path} atomically with the keys of
 * ${kc}, one line each, file mode 0600 (file_write).  The text is built in
 * secret memory and wiped.  Return 0 or -1 (logged).
 */
int keycfg_write(const struct keycfg *kc, const char *path) CG_WUR;

/**
 * keycfg_identity_is_valid(identity): true if ${identity} is
 * 1..KEYCFG_IDENTITY_MAX characters 0x21..0x7e other than ':'.
 */
bool keycfg_identity_is_valid(const char *identity);

/** keycfg_free(kc): wipe and free ${kc}; NULL is a no-op. */
void keycfg_free(struct keycfg *kc);

#endif /* !CRYPTGATE_KEYCFG_H */
