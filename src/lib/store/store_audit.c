/*
 * store_audit.c: the append-only, hash-chained audit log.
 *
 *   hash = SHA-256(prev || be64 seq || be64 ts_ms || u8 len || actor ||
 *                  u8 len || op || be16 len || detail || be32 result)
 *
 * with prev = the hash of the record before (32 zero bytes for seq 1).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "cryptgate/digest.h"
#include "cryptgate/log.h"
#include "cryptgate/store.h"

#include "store_int.h"

#define AUDIT_OPBYTES_MAX STORE_AUDIT_OPBYTES_MAX
#define AUDIT_ENCBYTES_MAX \
	(STORE_HASHBYTES + 8 + 8 + 1 + STORE_AUDIT_ACTORBYTES_MAX + 1 + \
	    AUDIT_OPBYTES_MAX + 2 + STORE_AUDIT_DETAILBYTES_MAX + 4)

static uint8_t *
put_be(uint8_t *p, uint64_t v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return (p + n);
}

int
store_audit_hash(uint8_t hash[static STORE_HASHBYTES],
    const uint8_t prev[static STORE_HASHBYTES], int64_t seq, int64_t ts_ms,
    const struct store_audit_text *t, int result)
{
	uint8_t buf[AUDIT_ENCBYTES_MAX], *p = buf;

	if (t->actorlen > STORE_AUDIT_ACTORBYTES_MAX ||
	    t->oplen > AUDIT_OPBYTES_MAX ||
	    t->detaillen > STORE_AUDIT_DETAILBYTES_MAX)
		return (-1);
	memcpy(p, prev, STORE_HASHBYTES);
	p += STORE_HASHBYTES;
	p = put_be(p, (uint64_t)seq, 8);
	p = put_be(p, (uint64_t)ts_ms, 8);
	p = put_be(p, t->actorlen, 1);
	memcpy(p, t->actor, t->actorlen);
	p += t->actorlen;
	p = put_be(p, t->oplen, 1);
	memcpy(p, t->op, t->oplen);
	p += t->oplen;
	p = put_be(p, t->detaillen, 2);
	memcpy(p, t->detail, t->detaillen);
	p += t->detaillen;
	p = put_be(p, (uint32_t)result, 4);
	return (digest_sha256(hash, buf, (size_t)(p - buf)));
}

/* Load the chain head (last seq and hash; 0 and zeros if empty). */
static int
audit_head(
    struct sqlstore *st, int64_t *seq, uint8_t hash[static STORE_HASHBYTES])
{
	sqlite3_stmt *s = st->stmt[S_AUDIT_HEAD];
	int rc, ret = 0;

	*seq = 0;
	memset(hash, 0, STORE_HASHBYTES);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(s, 0);
		if (store_col_blob(s, 1, hash, STORE_HASHBYTES, NULL))
			ret = store_failx(st, "audit: malformed last record");
	} else if (rc != SQLITE_DONE)
		ret = store_fail(st, "audit head");
	store_done(s);
	return (ret);
}

/* The body of sqlstore_audit_append, inside a transaction. */
static int
audit_append(struct sqlstore *st, int64_t ts_ms,
    const struct store_audit_text *t, int result)
{
	sqlite3_stmt *s = st->stmt[S_AUDIT_INSERT];
	uint8_t prev[STORE_HASHBYTES], hash[STORE_HASHBYTES];
	int64_t seq;
	int rc;

	if (st->in_txn && st->audit_head_valid) {
		seq = st->audit_seq;
		memcpy(prev, st->audit_hash, sizeof(prev));
	} else if (audit_head(st, &seq, prev))
		return (-1);
	seq++;
	if (store_audit_hash(hash, prev, seq, ts_ms, t, result))
		return (store_failx(st, "audit: cannot hash the record"));
	if (sqlite3_bind_int64(s, 1, seq) || sqlite3_bind_int64(s, 2, ts_ms) ||
	    sqlite3_bind_text(
	        s, 3, t->actor, (int)t->actorlen, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 4, t->op, (int)t->oplen, SQLITE_STATIC) ||
	    sqlite3_bind_text(
	        s, 5, t->detail, (int)t->detaillen, SQLITE_STATIC) ||
	    sqlite3_bind_int(s, 6, result) ||
	    sqlite3_bind_blob(s, 7, prev, sizeof(prev), SQLITE_STATIC) ||
	    sqlite3_bind_blob(s, 8, hash, sizeof(hash), SQLITE_STATIC)) {
		store_done(s);
		return (store_fail(st, "audit: bind"));
	}
	if ((rc = store_exec(st, S_AUDIT_INSERT, "audit append")) != 0)
		return (rc == STORE_DUPLICATE
		        ? store_failx(st, "audit append: sequence number taken")
		        : -1);

	/* The write lock is ours until commit or rollback: keep the head. */
	st->audit_seq = seq;
	memcpy(st->audit_hash, hash, sizeof(hash));
	st->audit_head_valid = st->in_txn;
	return (0);
}

int
sqlstore_audit_append(struct sqlstore *st, int64_t ts_ms, const char *actor,
    const char *op, const char *detail, int result)
{
	struct store_audit_text t;
	int how, rc;

	t.actor = actor != NULL ? actor : "";
	t.op = op != NULL ? op : "";
	t.detail = detail != NULL ? detail : "";
	t.actorlen = strnlen(t.actor, STORE_AUDIT_ACTORBYTES_MAX);
	t.oplen = strnlen(t.op, AUDIT_OPBYTES_MAX);
	t.detaillen = strnlen(t.detail, STORE_AUDIT_DETAILBYTES_MAX);

	if (st->in_txn)
		return (store_write_ok(st)
		        ? -1
		        : audit_append(st, ts_ms, &t, result));
	if (store_op_begin(st, &how))
		return (-1);
	rc = audit_append(st, ts_ms, &t, result);
	if (store_op_end(st, how, rc == 0))
		rc = -1;
	return (rc);
}

/* Copy up to ${size} - 1 bytes of text column ${col} into ${buf}. */
static void
col_text_trunc(sqlite3_stmt *s, int col, char *buf, size_t size)
{
	const unsigned char *p = sqlite3_column_text(s, col);
	size_t n = (size_t)sqlite3_column_bytes(s, col);

	if (p == NULL)
		n = 0;
	if (n > size - 1)
		n = size - 1;
	if (n > 0)
		memcpy(buf, p, n);
	buf[n] = '\0';
}

/*
 * Check the current row of ${s} (an S_AUDIT_FOREACH) against the chain:
 * ${expect} is its seq, ${prev} the hash before, updated to its hash.
 * Return 0, or -1 (logged, naming the record) if it does not verify.
 */
static int
verify_row(
    sqlite3_stmt *s, int64_t expect, uint8_t prev[static STORE_HASHBYTES])
{
	uint8_t rprev[STORE_HASHBYTES], rhash[STORE_HASHBYTES];
	uint8_t hash[STORE_HASHBYTES];
	struct store_audit_text t;
	int64_t seq, result;
	const char *why;

	seq = sqlite3_column_int64(s, 0);
	t.actor = (const char *)sqlite3_column_text(s, 2);
	t.actorlen = (size_t)sqlite3_column_bytes(s, 2);
	t.op = (const char *)sqlite3_column_text(s, 3);
	t.oplen = (size_t)sqlite3_column_bytes(s, 3);
	t.detail = (const char *)sqlite3_column_text(s, 4);
	t.detaillen = (size_t)sqlite3_column_bytes(s, 4);
	result = sqlite3_column_int64(s, 5);
	if (seq != expect)
		why = "sequence gap";
	else if (t.actor == NULL || t.op == NULL || t.detail == NULL ||
	    result < INT32_MIN || result > INT32_MAX)
		why = "malformed record";
	else if (store_col_blob(s, 6, rprev, sizeof(rprev), NULL) ||
	    store_col_blob(s, 7, rhash, sizeof(rhash), NULL))
		why = "malformed hash";
	else if (memcmp(rprev, prev, STORE_HASHBYTES) != 0)
		why = "does not link to the record before";
	else if (store_audit_hash(hash, prev, seq, sqlite3_column_int64(s, 1),
	             &t, (int)result) ||
	    memcmp(hash, rhash, STORE_HASHBYTES) != 0)
		why = "hash mismatch";
	else {
		memcpy(prev, rhash, STORE_HASHBYTES);
		return (0);
	}
	log_warnx("store: audit record %lld: %s", (long long)seq, why);
	return (-1);
}

int
sqlstore_audit_verify(struct sqlstore *st, uint64_t *count, int64_t *bad_seq)
{
	sqlite3_stmt *s = st->stmt[S_AUDIT_FOREACH];
	uint8_t prev[STORE_HASHBYTES];
	int64_t expect = 1;
	int rc, ret = 0;

	*count = 0;
	*bad_seq = 0;
	memset(prev, 0, sizeof(prev));
	if (sqlite3_bind_int64(s, 1, INT64_MIN)) {
		store_done(s);
		return (store_fail(st, "audit verify: bind"));
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (verify_row(s, expect, prev)) {
			*bad_seq = sqlite3_column_int64(s, 0);
			ret = -1;
			break;
		}
		expect++;
		(*count)++;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = store_fail(st, "audit verify");
	store_done(s);
	return (ret);
}

int
sqlstore_audit_foreach(struct sqlstore *st, int64_t since_seq,
    int (*cb)(const struct store_audit *, void *), void *arg)
{
	sqlite3_stmt *s = st->stmt[S_AUDIT_FOREACH];
	struct store_audit a;
	int rc, ret = 0;

	if (sqlite3_bind_int64(s, 1, since_seq)) {
		store_done(s);
		return (store_fail(st, "audit list: bind"));
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&a, 0, sizeof(a));
		a.seq = sqlite3_column_int64(s, 0);
		a.ts_ms = sqlite3_column_int64(s, 1);
		col_text_trunc(s, 2, a.actor, sizeof(a.actor));
		col_text_trunc(s, 3, a.op, sizeof(a.op));
		col_text_trunc(s, 4, a.detail, sizeof(a.detail));
		a.result = (int)sqlite3_column_int64(s, 5);
		/* Malformed hashes stay zero: audit verify names them. */
		(void)store_col_blob(s, 6, a.prev, sizeof(a.prev), NULL);
		(void)store_col_blob(s, 7, a.hash, sizeof(a.hash), NULL);
		if (cb(&a, arg) != 0) {
			ret = -1;
			break;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = store_fail(st, "audit list");
	store_done(s);
	return (ret);
}
