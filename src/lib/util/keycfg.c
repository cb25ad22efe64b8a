/*
 * keycfg.c: key.cfg, "<identity>:<64 hex>" lines (keycfg.h).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptgate/encode.h"
#include "cryptgate/file.h"
#include "cryptgate/keycfg.h"
#include "cryptgate/log.h"
#include "cryptgate/secret.h"

#define KEY_HEXLEN ENCODE_HEXLEN((size_t)KEYCFG_KEYBYTES)
/* The longest line: identity, ':', key, newline. */
#define LINE_MAX_BYTES (KEYCFG_IDENTITY_MAX + 1 + KEY_HEXLEN + 1)

struct entry {
	char identity[KEYCFG_IDENTITY_MAX + 1];
	uint8_t key[KEYCFG_KEYBYTES];
	unsigned int line; /* in the file parsed; 0 if added */
};

struct keycfg {
	struct entry *e; /* secret_alloc(cap * sizeof(*e)) */
	size_t n;
	size_t cap;
};

bool
keycfg_identity_is_valid(const char *identity)
{
	size_t i, n = strlen(identity);

	if (n == 0 || n > KEYCFG_IDENTITY_MAX)
		return (false);
	for (i = 0; i < n; i++) {
		if (identity[i] < 0x21 || identity[i] > 0x7e ||
		    identity[i] == ':')
			return (false);
	}
	return (true);
}

struct keycfg *
keycfg_new(void)
{
	struct keycfg *kc;

	if ((kc = calloc(1, sizeof(*kc))) == NULL)
		log_warn("keycfg_new");
	return (kc);
}

void
keycfg_free(struct keycfg *kc)
{
	if (kc == NULL)
		return;
	secret_free(kc->e, kc->cap * sizeof(kc->e[0]));
	free(kc);
}

/* Room for one more entry in ${kc}.  Return 0 or -1 (logged). */
static int
grow(struct keycfg *kc)
{
	struct entry *ne;
	size_t ncap;

	if (kc->n < kc->cap)
		return (0);
	if (kc->n >= KEYCFG_ENTRIES_MAX) {
		log_warnx("too many keys (at most %d)", KEYCFG_ENTRIES_MAX);
		return (-1);
	}
	ncap = kc->cap == 0 ? 16 : kc->cap * 2;
	if (ncap > KEYCFG_ENTRIES_MAX)
		ncap = KEYCFG_ENTRIES_MAX;
	if ((ne = secret_alloc(ncap * sizeof(*ne))) == NULL) {
		log_warnx("keycfg: out of memory");
		return (-1);
	}
	if (kc->n > 0)
		memcpy(ne, kc->e, kc->n * sizeof(*ne));
	secret_free(kc->e, kc->cap * sizeof(kc->e[0]));
	kc->e = ne;
	kc->cap = ncap;
	return (0);
}

/* The index of ${identity} in ${kc}, or -1. */
static ssize_t
lookup(const struct keycfg *kc, const char *identity)
{
	size_t i;

	for (i = 0; i < kc->n; i++) {
		if (strcmp(kc->e[i].identity, identity) == 0)
			return ((ssize_t)i);
	}
	return (-1);
}

/*
 * Parse the line ${s} (${len} bytes, no newline) into ${e}.  Return 0, or
 * -1 with ${*why} set (static text).
 */
static int
parse_line(struct entry *e, const char *s, size_t len, const char **why)
{
	const char *colon;
	size_t idlen, i, klen;

	if (memchr(s, '\r', len) != NULL) {
		*why = "carriage return in line (DOS line endings are not "
		       "allowed)";
		return (-1);
	}
	if ((colon = memchr(s, ':', len)) == NULL) {
		*why = "not in the form identity:key (no ':')";
		return (-1);
	}
	idlen = (size_t)(colon - s);
	if (idlen == 0) {
		*why = "empty identity";
		return (-1);
	}
	if (idlen > KEYCFG_IDENTITY_MAX) {
		*why = "identity longer than 255 characters";
		return (-1);
	}
	for (i = 0; i < idlen; i++) {
		if (s[i] < 0x21 || s[i] > 0x7e) {
			*why = "identity holds a space or a character that "
			       "is not printable ASCII";
			return (-1);
		}
	}
	memcpy(e->identity, s, idlen);
	e->identity[idlen] = '\0';
	if (len - idlen - 1 != KEY_HEXLEN ||
	    encode_unhex(
	        e->key, sizeof(e->key), &klen, colon + 1, KEY_HEXLEN) ||
	    klen != KEYCFG_KEYBYTES) {
		*why = "the key is not 64 hexadecimal digits (32 bytes)";
		return (-1);
	}
	return (0);
}

/* A pointer to an entry, for sorting. */
struct ref {
	const struct entry *e;
};

/* qsort: entries by identity. */
static int
cmp_identity(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;

	return (strcmp(x->e->identity, y->e->identity));
}

/* Report a repeated identity in ${kc}.  Return 0 or -1 (logged). */
static int
check_duplicates(const struct keycfg *kc, const char *name)
{
	const struct entry *a, *b;
	struct ref *idx;
	size_t i;
	int rc = 0;

	if (kc->n < 2)
		return (0);
	if ((idx = calloc(kc->n, sizeof(struct ref))) == NULL) {
		log_warn("%s", name);
		return (-1);
	}
	for (i = 0; i < kc->n; i++)
		idx[i].e = &kc->e[i];
	qsort(idx, kc->n, sizeof(struct ref), cmp_identity);
	for (i = 1; i < kc->n; i++) {
		if (strcmp(idx[i - 1].e->identity, idx[i].e->identity) != 0)
			continue;
		a = idx[i - 1].e->line < idx[i].e->line ? idx[i - 1].e
		                                        : idx[i].e;
		b = a == idx[i].e ? idx[i - 1].e : idx[i].e;
		log_warnx("%s:%u: identity '%s' repeated (first on line %u)",
		    name, b->line, b->identity, a->line);
		rc = -1;
		break;
	}
	free(idx);
	return (rc);
}

struct keycfg *
keycfg_parse(const char *buf, size_t len, const char *name)
{
	struct keycfg *kc;
	const char *p = buf, *end = buf + len, *nl, *why;
	unsigned int line = 0;
	size_t linelen;

	if ((kc = keycfg_new()) == NULL)
		goto err0;
	while (p < end) {
		line++;
		nl = memchr(p, '\n', (size_t)(end - p));
		linelen = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (linelen > 0) {
			if (grow(kc))
				goto err1;
			if (memchr(p, '\0', linelen) != NULL) {
				log_warnx(
				    "%s:%u: NUL byte in line", name, line);
				goto err1;
			}
			if (linelen > LINE_MAX_BYTES ||
			    parse_line(&kc->e[kc->n], p, linelen, &why)) {
				if (linelen > LINE_MAX_BYTES)
					why = "line too long";
				log_warnx("%s:%u: %s", name, line, why);
				secret_wipe(&kc->e[kc->n], sizeof(kc->e[0]));
				goto err1;
			}
			kc->e[kc->n].line = line;
			kc->n++;
		}
		p += linelen + (nl != NULL ? 1 : 0);
	}
	if (check_duplicates(kc, name))
		goto err1;

	/* Success! */
	return (kc);

err1:
	keycfg_free(kc);
err0:
	/* Failure! */
	return (NULL);
}

struct keycfg *
keycfg_load(const char *path, int flags)
{
	struct keycfg *kc;
	struct stat st;
	size_t len;
	char *buf;

	if ((flags & KEYCFG_MISSING_OK) && lstat(path, &st) == -1 &&
	    errno == ENOENT)
		return (keycfg_new());
	if (file_read_secret(path, KEYCFG_FILEBYTES_MAX, &buf, &len))
		return (NULL);
	kc = keycfg_parse(buf, len, path);
	secret_free(buf, len + 1);
	return (kc);
}

int
keycfg_set(struct keycfg *kc, const char *identity,
    const uint8_t key[static KEYCFG_KEYBYTES])
{
	ssize_t i;

	if (!keycfg_identity_is_valid(identity)) {
		log_warnx("invalid PSK identity '%s': use 1 to %d printable "
		          "characters without ':' or space",
		    identity, KEYCFG_IDENTITY_MAX);
		return (-1);
	}
	if ((i = lookup(kc, identity)) == -1) {
		if (grow(kc))
			return (-1);
		i = (ssize_t)kc->n++;
		memcpy(kc->e[i].identity, identity, strlen(identity) + 1);
		kc->e[i].line = 0;
	}
	memcpy(kc->e[i].key, key, KEYCFG_KEYBYTES);
	return (0);
}

int
keycfg_remove(struct keycfg *kc, const char *identity)
{
	ssize_t i;

	if ((i = lookup(kc, identity)) == -1)
		return (-1);
	memmove(&kc->e[i], &kc->e[i + 1],
	    (kc->n - (size_t)i - 1) * sizeof(kc->e[0]));
	kc->n--;
	secret_wipe(&kc->e[kc->n], sizeof(kc->e[0]));
	return (0);
}

const uint8_t *
keycfg_find(const struct keycfg *kc, const char *identity)
{
	ssize_t i;

	if ((i = lookup(kc, identity)) == -1)
		return (NULL);
	return (kc->e[i].key);
}

size_t
keycfg_count(const struct keycfg *kc)
{
	return (kc->n);
}

const char *
keycfg_identity(const struct keycfg *kc, size_t i)
{
	return (i < kc->n ? kc->e[i].identity : NULL);
}

int
keycfg_write(const struct keycfg *kc, const char *path)
{
	size_t i, size = 1, off = 0, idlen;
	char *buf;
	int rc = -1;

	for (i = 0; i < kc->n; i++)
		size += strlen(kc->e[i].identity) + 1 + KEY_HEXLEN + 1;
	if ((buf = secret_alloc(size)) == NULL) {
		log_warnx("%s: out of memory", path);
		return (-1);
	}
	for (i = 0; i < kc->n; i++) {
		idlen = strlen(kc->e[i].identity);
		memcpy(buf + off, kc->e[i].identity, idlen);
		off += idlen;
		buf[off++] = ':';
		if (encode_hex(
		        buf + off, size - off, kc->e[i].key, KEYCFG_KEYBYTES))
			goto out;
		off += KEY_HEXLEN;
		buf[off++] = '\n';
	}
	rc = file_write(path, buf, off, 0600, 0);

out:
	secret_free(buf, size);
	return (rc);
}
