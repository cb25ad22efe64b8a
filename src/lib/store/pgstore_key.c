/*
 * pgstore_key.c: session keys, the replay cache, enrollment tokens and
 * the audit chain on PostgreSQL (as store_key.c and store_audit.c).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <libpq-fe.h>

#include "cryptgate/log.h"
#include "cryptgate/secret.h"
#include "cryptgate/store.h"

#include "pgstore_int.h"

#define KEY_COLS \
	"SELECT key_id, client_id, peer_id, service, client_addr," \
	" not_before_ms, not_after_ms, revoked, wrapped FROM session_keys"

/* Fill ${k} from row ${row} of a KEY_COLS result. */
static int
key_row(struct pgstore *st, const PGresult *r, int row, struct store_key *k)
{
	int64_t revoked;

	memset(k, 0, sizeof(*k));
	if (pgcol_blob(r, row, 0, k->key_id, sizeof(k->key_id), NULL) ||
	    pgcol_blob(r, row, 1, k->client_id, sizeof(k->client_id), NULL) ||
	    pgcol_blob(r, row, 2, k->peer_id, sizeof(k->peer_id), NULL) ||
	    pgcol_text(r, row, 3, k->service, sizeof(k->service)) ||
	    pgcol_blob(
	        r, row, 4, k->client_addr, sizeof(k->client_addr), NULL) ||
	    pgcol_int(r, row, 5, &k->not_before_ms) ||
	    pgcol_int(r, row, 6, &k->not_after_ms) ||
	    pgcol_int(r, row, 7, &revoked) ||
	    pgcol_blob(
	        r, row, 8, k->wrapped, sizeof(k->wrapped), &k->wrappedlen))
		return (pgstore_failx(st,
		    "session key: malformed row "
		    "(database tampered with?)"));
	k->revoked = revoked != 0;
	return (0);
}

int
pgstore_key_put(struct pgstore *st, const struct store_key *k)
{
	struct pgparams p = { 0 };
	size_t slen;
	uint64_t n;

	slen = strnlen(k->service, sizeof(k->service));
	if (slen == 0 || slen > STORE_SERVICEBYTES_MAX || k->wrappedlen == 0 ||
	    k->wrappedlen > STORE_WRAPPEDBYTES_MAX)
		return (pgstore_failx(st, "key put: invalid key"));
	if (pgstore_write_ok(st))
		return (-1);
	pgp_blob(&p, k->key_id, STORE_IDBYTES);
	pgp_blob(&p, k->client_id, STORE_IDBYTES);
	pgp_blob(&p, k->peer_id, STORE_IDBYTES);
	pgp_blob(&p, k->service, slen);
	pgp_blob(&p, k->client_addr, STORE_ADDRBYTES);
	pgp_int(&p, k->not_before_ms);
	pgp_int(&p, k->not_after_ms);
	pgp_int(&p, k->revoked ? 1 : 0);
	pgp_blob(&p, k->wrapped, k->wrappedlen);
	if (pgstore_changes(st,
	        "INSERT INTO session_keys (key_id, client_id, peer_id, service,"
	        " client_addr, not_before_ms, not_after_ms, revoked, wrapped)"
	        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
	        " ON CONFLICT DO NOTHING",
	        &p, "key put", &n))
		return (-1);
	return (n == 0 ? STORE_DUPLICATE : 0);
}

int
pgstore_key_get(struct pgstore *st, const uint8_t key_id[static STORE_IDBYTES],
    struct store_key *k)
{
	struct pgparams p = { 0 };
	PGresult *r;
	int ret;

	pgp_blob(&p, key_id, STORE_IDBYTES);
	if (pgstore_query(st, KEY_COLS " WHERE key_id = $1", &p, "key get", &r))
		return (-1);
	ret = PQntuples(r) == 0 ? STORE_NOTFOUND : key_row(st, r, 0, k);
	PQclear(r);
	return (ret);
}

/* Run the write ${sql} on the id ${id}; ${*n} = rows changed. */
static int
write_id(struct pgstore *st, const char *sql, const uint8_t *id,
    const char *what, uint64_t *n)
{
	struct pgparams p = { 0 };

	*n = 0;
	if (pgstore_write_ok(st))
		return (-1);
	pgp_blob(&p, id, STORE_IDBYTES);
	return (pgstore_changes(st, sql, &p, what, n));
}

int
pgstore_key_revoke(
    struct pgstore *st, const uint8_t key_id[static STORE_IDBYTES])
{
	uint64_t n;

	if (write_id(st,
	        "UPDATE session_keys SET revoked = 1 WHERE key_id = $1", key_id,
	        "key revoke", &n))
		return (-1);
	return (n == 0 ? STORE_NOTFOUND : 0);
}

int
pgstore_key_revoke_host(struct pgstore *st,
    const uint8_t host_id[static STORE_IDBYTES], uint64_t *count)
{
	return (write_id(st,
	    "UPDATE session_keys SET revoked = 1"
	    " WHERE (client_id = $1 OR peer_id = $1) AND revoked = 0",
	    host_id, "key revoke", count));
}

int
pgstore_key_purge(struct pgstore *st, int64_t now_ms, uint64_t *count)
{
	struct pgparams p = { 0 };

	*count = 0;
	if (pgstore_write_ok(st))
		return (-1);
	pgp_int(&p, now_ms);
	return (pgstore_changes(st,
	    "DELETE FROM session_keys WHERE not_after_ms < $1", &p, "key purge",
	    count));
}

int
pgstore_key_foreach(
    struct pgstore *st, int (*cb)(const struct store_key *, void *), void *arg)
{
	struct store_key k;
	PGresult *r;
	int i, ret = 0;

	memset(&k, 0, sizeof(k));
	if (pgstore_query(st, KEY_COLS " ORDER BY not_before_ms, key_id", NULL,
	        "key list", &r))
		return (-1);
	for (i = 0; i < PQntuples(r); i++) {
		if (key_row(st, r, i, &k) || cb(&k, arg) != 0) {
			ret = -1;
			break;
		}
	}
	PQclear(r);
	secret_wipe(&k, sizeof(k));
	return (ret);
}

int
pgstore_key_count(struct pgstore *st, uint64_t *count)
{
	PGresult *r;
	int64_t n = 0;
	int ret = 0;

	*count = 0;
	if (pgstore_query(
	        st, "SELECT count(*) FROM session_keys", NULL, "key count", &r))
		return (-1);
	if (PQntuples(r) != 1 || pgcol_int(r, 0, 0, &n) || n < 0)
		ret = pgstore_failx(st, "key count: malformed result");
	else
		*count = (uint64_t)n;
	PQclear(r);
	return (ret);
}

int
pgstore_replay_put(struct pgstore *st,
    const uint8_t sender[static STORE_IDBYTES],
    const uint8_t nonce[static STORE_NONCEBYTES], int64_t expires_ms)
{
	struct pgparams p = { 0 };
	uint64_t n;

	if (pgstore_write_ok(st))
		return (-1);
	pgp_blob(&p, sender, STORE_IDBYTES);
	pgp_blob(&p, nonce, STORE_NONCEBYTES);
	pgp_int(&p, expires_ms);
	if (pgstore_changes(st,
	        "INSERT INTO replay (sender, nonce, expires_ms)"
	        " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
	        &p, "replay put", &n))
		return (-1);
	return (n == 0 ? STORE_DUPLICATE : 0);
}

int
pgstore_replay_foreach(struct pgstore *st, int64_t now_ms,
    int (*cb)(const uint8_t *sender, const uint8_t *nonce, int64_t expires_ms,
        void *arg),
    void *arg)
{
	uint8_t sender[STORE_IDBYTES], nonce[STORE_NONCEBYTES];
	struct pgparams p = { 0 };
	PGresult *r;
	int64_t exp;
	int i, ret = 0;

	pgp_int(&p, now_ms);
	if (pgstore_query(st,
	        "SELECT sender, nonce, expires_ms FROM replay"
	        " WHERE expires_ms > $1",
	        &p, "replay list", &r))
		return (-1);
	for (i = 0; i < PQntuples(r); i++) {
		if (pgcol_blob(r, i, 0, sender, sizeof(sender), NULL) ||
		    pgcol_blob(r, i, 1, nonce, sizeof(nonce), NULL) ||
		    pgcol_int(r, i, 2, &exp)) {
			ret = pgstore_failx(st, "replay list: malformed row");
			break;
		}
		if (cb(sender, nonce, exp, arg) != 0) {
			ret = -1;
			break;
		}
	}
	PQclear(r);
	return (ret);
}

int
pgstore_replay_purge(struct pgstore *st, int64_t now_ms)
{
	struct pgparams p = { 0 };

	if (pgstore_write_ok(st))
		return (-1);
	pgp_int(&p, now_ms);
	return (pgstore_query(st, "DELETE FROM replay WHERE expires_ms <= $1",
	    &p, "replay purge", NULL));
}

int
pgstore_token_add(struct pgstore *st,
    const uint8_t token_id[static STORE_IDBYTES], const uint8_t *wrapped,
    size_t wrappedlen, int64_t expires_ms)
{
	struct pgparams p = { 0 };
	uint64_t n;

	if (wrapped == NULL || wrappedlen == 0 ||
	    wrappedlen > STORE_WRAPPEDBYTES_MAX)
		return (pgstore_failx(st, "token add: invalid token"));
	if (pgstore_write_ok(st))
		return (-1);
	pgp_blob(&p, token_id, STORE_IDBYTES);
	pgp_blob(&p, wrapped, wrappedlen);
	pgp_int(&p, expires_ms);
	if (pgstore_changes(st,
	        "INSERT INTO tokens (token_id, wrapped, expires_ms)"
	        " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
	        &p, "token add", &n))
		return (-1);
	return (n == 0 ? STORE_DUPLICATE : 0);
}

int
pgstore_token_take(struct pgstore *st,
    const uint8_t token_id[static STORE_IDBYTES], int64_t now_ms,
    uint8_t *wrapped, size_t wrappedsize, size_t *wrappedlen)
{
	uint8_t buf[STORE_WRAPPEDBYTES_MAX];
	struct pgparams p = { 0 };
	PGresult *r;
	int64_t expires_ms = 0;
	size_t len = 0;
	int how, ret;

	*wrappedlen = 0;
	if (pgstore_op_begin(st, &how))
		return (-1);
	/* Used or expired, it goes: one statement, so one taker wins. */
	pgp_blob(&p, token_id, STORE_IDBYTES);
	if (pgstore_query(st,
	        "DELETE FROM tokens WHERE token_id = $1"
	        " RETURNING wrapped, expires_ms",
	        &p, "token take", &r))
		ret = -1;
	else {
		/* Expired: STORE_NOTFOUND, keeping the deletion. */
		if (PQntuples(r) == 0)
			ret = STORE_NOTFOUND;
		else if (pgcol_blob(r, 0, 0, buf, sizeof(buf), &len) ||
		    pgcol_int(r, 0, 1, &expires_ms))
			ret = pgstore_failx(st, "token take: malformed row");
		else if (len > wrappedsize)
			ret = pgstore_failx(st, "token take: buffer too small");
		else
			ret = expires_ms <= now_ms ? STORE_NOTFOUND : 0;
		PQclear(r);
	}
	/* STORE_NOTFOUND keeps the deletion of an expired token. */
	if (pgstore_op_end(st, how, ret != -1))
		ret = -1;
	if (ret == 0) {
		memcpy(wrapped, buf, len);
		*wrappedlen = len;
	}
	secret_wipe(buf, sizeof(buf));
	return (ret);
}

/* Load the chain head (last seq and hash; 0 and zeros if empty). */
static int
audit_head(
    struct pgstore *st, int64_t *seq, uint8_t hash[static STORE_HASHBYTES])
{
	PGresult *r;
	int ret = 0;

	*seq = 0;
	memset(hash, 0, STORE_HASHBYTES);
	if (pgstore_query(st,
	        "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", NULL,
	        "audit head", &r))
		return (-1);
	if (PQntuples(r) > 0 &&
	    (pgcol_int(r, 0, 0, seq) ||
	        pgcol_blob(r, 0, 1, hash, STORE_HASHBYTES, NULL)))
		ret = pgstore_failx(st, "audit: malformed last record");
	PQclear(r);
	return (ret);
}

/* The body of pgstore_audit_append, under the writers' lock. */
static int
audit_append(struct pgstore *st, int64_t ts_ms,
    const struct store_audit_text *t, int result)
{
	uint8_t prev[STORE_HASHBYTES], hash[STORE_HASHBYTES];
	struct pgparams p = { 0 };
	int64_t seq;

	if (st->in_txn && st->audit_head_valid) {
		seq = st->audit_seq;
		memcpy(prev, st->audit_hash, sizeof(prev));
	} else if (audit_head(st, &seq, prev))
		return (-1);
	seq++;
	if (store_audit_hash(hash, prev, seq, ts_ms, t, result))
		return (pgstore_failx(st, "audit: cannot hash the record"));
	pgp_int(&p, seq);
	pgp_int(&p, ts_ms);
	/* The strings as bytes: the lengths are the truncated ones. */
	pgp_blob(&p, t->actor, t->actorlen);
	pgp_blob(&p, t->op, t->oplen);
	pgp_blob(&p, t->detail, t->detaillen);
	pgp_int(&p, result);
	pgp_blob(&p, prev, sizeof(prev));
	pgp_blob(&p, hash, sizeof(hash));
	if (pgstore_query(st,
	        "INSERT INTO audit (seq, ts_ms, actor, op, detail, result,"
	        " prev, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
	        &p, "audit append", NULL))
		return (-1);

	/* The write lock is ours until commit or rollback: keep the head. */
	st->audit_seq = seq;
	memcpy(st->audit_hash, hash, sizeof(hash));
	st->audit_head_valid = st->in_txn;
	return (0);
}

int
pgstore_audit_append(struct pgstore *st, int64_t ts_ms, const char *actor,
    const char *op, const char *detail, int result)
{
	struct store_audit_text t;
	int how, rc;

	t.actor = actor != NULL ? actor : "";
	t.op = op != NULL ? op : "";
	t.detail = detail != NULL ? detail : "";
	t.actorlen = strnlen(t.actor, STORE_AUDIT_ACTORBYTES_MAX);
	t.oplen = strnlen(t.op, STORE_AUDIT_OPBYTES_MAX);
	t.detaillen = strnlen(t.detail, STORE_AUDIT_DETAILBYTES_MAX);

	/* Inside a transaction pgstore_begin took the writers' lock. */
	if (st->in_txn)
		return (pgstore_write_ok(st)
		        ? -1
		        : audit_append(st, ts_ms, &t, result));
	if (pgstore_op_begin(st, &how))
		return (-1);
	rc = audit_append(st, ts_ms, &t, result);
	if (pgstore_op_end(st, how, rc == 0))
		rc = -1;
	return (rc);
}

#define AUDIT_COLS \
	"SELECT seq, ts_ms, actor, op, detail, result, prev, hash FROM audit" \
	" WHERE seq >= $1 ORDER BY seq"

/* Fill ${a} from row ${row} of an AUDIT_COLS result; -1 if malformed. */
static int
audit_row(const PGresult *r, int row, struct store_audit *a)
{
	int64_t result = 0;
	size_t i;
	char *txt[3];
	size_t cap[3];
	int ret = 0;

	memset(a, 0, sizeof(*a));
	txt[0] = a->actor;
	txt[1] = a->op;
	txt[2] = a->detail;
	cap[0] = sizeof(a->actor);
	cap[1] = sizeof(a->op);
	cap[2] = sizeof(a->detail);
	if (pgcol_int(r, row, 0, &a->seq) || pgcol_int(r, row, 1, &a->ts_ms) ||
	    pgcol_int(r, row, 5, &result) || result < INT32_MIN ||
	    result > INT32_MAX)
		ret = -1;
	else
		a->result = (int)result;
	for (i = 0; i < 3; i++) {
		if (pgcol_text(r, row, (int)i + 2, txt[i], cap[i]))
			ret = -1;
	}
	/* Malformed hashes stay zero: audit verify names them. */
	if (pgcol_blob(r, row, 6, a->prev, sizeof(a->prev), NULL) ||
	    pgcol_blob(r, row, 7, a->hash, sizeof(a->hash), NULL))
		ret = -1;
	return (ret);
}

int
pgstore_audit_verify(struct pgstore *st, uint64_t *count, int64_t *bad_seq)
{
	uint8_t prev[STORE_HASHBYTES], hash[STORE_HASHBYTES];
	struct store_audit_text t;
	struct store_audit a;
	struct pgparams p = { 0 };
	const char *why;
	PGresult *r;
	int i, ret = 0;

	*count = 0;
	*bad_seq = 0;
	memset(prev, 0, sizeof(prev));
	pgp_int(&p, INT64_MIN);
	if (pgstore_query(st, AUDIT_COLS, &p, "audit verify", &r))
		return (-1);
	for (i = 0; i < PQntuples(r); i++) {
		why = NULL;
		if (audit_row(r, i, &a))
			why = "malformed record";
		else if (a.seq != i + 1)
			why = "sequence gap";
		else if (memcmp(a.prev, prev, STORE_HASHBYTES) != 0)
			why = "does not link to the record before";
		else {
			t.actor = a.actor;
			t.op = a.op;
			t.detail = a.detail;
			t.actorlen = strlen(a.actor);
			t.oplen = strlen(a.op);
			t.detaillen = strlen(a.detail);
			if (store_audit_hash(
			        hash, prev, a.seq, a.ts_ms, &t, a.result) ||
			    memcmp(hash, a.hash, STORE_HASHBYTES) != 0)
				why = "hash mismatch";
		}
		if (why != NULL) {
			log_warnx("store: audit record %lld: %s",
			    (long long)a.seq, why);
			*bad_seq = a.seq != 0 ? a.seq : i + 1;
			ret = -1;
			break;
		}
		memcpy(prev, a.hash, STORE_HASHBYTES);
		(*count)++;
	}
	PQclear(r);
	return (ret);
}

int
pgstore_audit_foreach(struct pgstore *st, int64_t since_seq,
    int (*cb)(const struct store_audit *, void *), void *arg)
{
	struct store_audit a;
	struct pgparams p = { 0 };
	PGresult *r;
	int i, ret = 0;

	pgp_int(&p, since_seq);
	if (pgstore_query(st, AUDIT_COLS, &p, "audit list", &r))
		return (-1);
	for (i = 0; i < PQntuples(r); i++) {
		(void)audit_row(r, i, &a);
		if (cb(&a, arg) != 0) {
			ret = -1;
			break;
		}
	}
	PQclear(r);
	return (ret);
}
