/*
 * fuzz_keycfg.c: libFuzzer target for the key.cfg parser (keycfg_parse,
 * include/cryptgate/keycfg.h), the file `cryptgate request` writes and the
 * gateways and stunnel (PSKsecrets) read.
 *
 * Invariants checked beyond "no crash, no leak": a parsed list has at
 * most one key per line, only valid identities, no repeated identity, and
 * every identity finds its own key; the list written back in the file's
 * format is the input itself without its empty lines, with the keys in
 * lowercase and a final newline (so nothing is dropped, reordered or
 * altered), and it parses again to the same list; replacing, adding and
 * removing a key behave as documented.
 *
 * keycfg_parse logs each error on stderr: fuzz with -close_fd_mask=2.
 *
 *   make fuzz && build/fuzz/fuzz_keycfg -close_fd_mask=2 \
 *       -max_total_time=60 fuzz/corpus/keycfg
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "cryptgate/encode.h"
#include "cryptgate/keycfg.h"
#include "cryptgate/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_MAXINPUT ((size_t)64 * 1024)
#define KEYHEX ((size_t)2 * KEYCFG_KEYBYTES)

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init(1, 0, LOG_USER);
	return (0);
}

/* ${kc} in the file's format, in a malloc'ed buffer; its length: *len. */
static char *
format(const struct keycfg *kc, size_t *len)
{
	size_t i, n = keycfg_count(kc), size = 1, off = 0, idlen;
	const char *id;
	char *buf;

	for (i = 0; i < n; i++)
		size += strlen(keycfg_identity(kc, i)) + 1 + KEYHEX + 1;
	if ((buf = malloc(size)) == NULL)
		abort();
	for (i = 0; i < n; i++) {
		id = keycfg_identity(kc, i);
		idlen = strlen(id);
		memcpy(buf + off, id, idlen);
		off += idlen;
		buf[off++] = ':';
		if (encode_hex(buf + off, size - off, keycfg_find(kc, id),
		        KEYCFG_KEYBYTES))
			abort();
		off += KEYHEX;
		buf[off++] = '\n';
	}
	*len = off;
	return (buf);
}

/*
 * What format() must give back for the input ${s} (${len} bytes) that
 * parsed: its non-empty lines, each ending in a newline, with the last
 * 64 characters (the key) lowercased.
 */
static char *
canonical(const char *s, size_t len, size_t *outlen)
{
	const char *p = s, *end = s + len, *nl;
	size_t linelen, off = 0, i;
	char *out;

	if ((out = malloc(len + 1)) == NULL)
		abort();
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		linelen = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (linelen > 0) {
			if (linelen < KEYHEX + 2)
				abort(); /* parsed, so at least "x:" + key */
			memcpy(out + off, p, linelen);
			for (i = linelen - KEYHEX; i < linelen; i++)
				if (out[off + i] >= 'A' && out[off + i] <= 'F')
					out[off + i] += 'a' - 'A';
			off += linelen;
			out[off++] = '\n';
		}
		p += linelen + (nl != NULL ? 1 : 0);
	}
	*outlen = off;
	return (out);
}

static size_t
count_lines(const char *s, size_t len)
{
	size_t i, n = 1;

	for (i = 0; i < len; i++)
		n += s[i] == '\n';
	return (n);
}

static void
check_same(const struct keycfg *a, const struct keycfg *b)
{
	size_t i;
	const char *id;

	if (keycfg_count(a) != keycfg_count(b))
		abort();
	for (i = 0; i < keycfg_count(a); i++) {
		id = keycfg_identity(a, i);
		if (strcmp(id, keycfg_identity(b, i)) != 0 ||
		    memcmp(keycfg_find(a, id), keycfg_find(b, id),
		        KEYCFG_KEYBYTES) != 0)
			abort();
	}
}

/* keycfg_set and keycfg_remove on a parsed list. */
static void
check_edits(struct keycfg *kc)
{
	static const uint8_t key[KEYCFG_KEYBYTES] = { 0x5a };
	const char *fresh = "fuzz-new-identity";
	size_t n = keycfg_count(kc);
	char first[KEYCFG_IDENTITY_MAX + 1];
	const uint8_t *k;

	if (keycfg_find(kc, fresh) != NULL)
		return; /* the input holds it already */
	if (keycfg_set(kc, fresh, key) || keycfg_count(kc) != n + 1 ||
	    strcmp(keycfg_identity(kc, n), fresh) != 0 ||
	    (k = keycfg_find(kc, fresh)) == NULL ||
	    memcmp(k, key, sizeof(key)) != 0)
		abort();
	if (keycfg_remove(kc, fresh) || keycfg_count(kc) != n ||
	    keycfg_find(kc, fresh) != NULL || keycfg_remove(kc, fresh) == 0)
		abort();
	if (n == 0)
		return;
	/* Replacing keeps the place and the count. */
	snprintf(first, sizeof(first), "%s", keycfg_identity(kc, 0));
	if (keycfg_set(kc, first, key) || keycfg_count(kc) != n ||
	    strcmp(keycfg_identity(kc, 0), first) != 0 ||
	    memcmp(keycfg_find(kc, first), key, sizeof(key)) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct keycfg *kc, *again;
	char *text, *want;
	size_t i, j, n, tlen, wlen;
	const char *id;

	if (size > FUZZ_MAXINPUT)
		return (0);
	if ((kc = keycfg_parse(s, size, "fuzz")) == NULL)
		return (0);
	n = keycfg_count(kc);
	if (n > count_lines(s, size) || n > KEYCFG_ENTRIES_MAX)
		abort();
	for (i = 0; i < n; i++) {
		id = keycfg_identity(kc, i);
		if (id == NULL || !keycfg_identity_is_valid(id))
			abort();
		for (j = 0; j < i; j++)
			if (strcmp(id, keycfg_identity(kc, j)) == 0)
				abort();
	}
	if (keycfg_identity(kc, n) != NULL)
		abort();
	text = format(kc, &tlen);
	want = canonical(s, size, &wlen);
	if (tlen != wlen || memcmp(text, want, tlen) != 0)
		abort();
	if ((again = keycfg_parse(text, tlen, "fuzz-again")) == NULL)
		abort();
	check_same(kc, again);
	keycfg_free(again);
	free(want);
	free(text);
	check_edits(kc);
	keycfg_free(kc);
	return (0);
}
