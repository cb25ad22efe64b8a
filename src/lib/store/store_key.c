/*
 * store_key.c: session keys (wrapped, opaque here), the persisted replay
 * cache and one-time enrollment tokens.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "cryptgate/log.h"
#include "cryptgate/secret.h"
#include "cryptgate/store.h"

#include "store_int.h"

/* Columns of KEY_COLS (store.c). */
enum {
	KC_ID,
	KC_CLIENT,
	KC_PEER,
	KC_SERVICE,
	KC_ADDR,
	KC_NB,
	KC_NA,
	KC_REVOKED,
	KC_WRAPPED,
};

/* Fill ${k} from the current row of ${s}. */
static int
key_row(struct sqlstore *st, sqlite3_stmt *s, struct store_key *k)
{
	memset(k, 0, sizeof(*k));
	if (store_col_blob(s, KC_ID, k->key_id, sizeof(k->key_id), NULL) ||
	    store_col_blob(
	        s, KC_CLIENT, k->client_id, sizeof(k->client_id), NULL) ||
	    store_col_blob(s, KC_PEER, k->peer_id, sizeof(k->peer_id), NULL) ||
	    store_col_text(s, KC_SERVICE, k->service, sizeof(k->service)) ||
	    store_col_blob(
	        s, KC_ADDR, k->client_addr, sizeof(k->client_addr), NULL) ||
	    store_col_blob(
	        s, KC_WRAPPED, k->wrapped, sizeof(k->wrapped), &k->wrappedlen))
		return (store_failx(st,
		    "session key: malformed row "
		    "(database tampered with?)"));
	k->not_before_ms = sqlite3_column_int64(s, KC_NB);
	k->not_after_ms = sqlite3_column_int64(s, KC_NA);
	k->revoked = sqlite3_column_int64(s, KC_REVOKED) != 0;
	return (0);
}

int
sqlstore_key_put(struct sqlstore *st, const struct store_key *k)
{
	sqlite3_stmt *s = st->stmt[S_KEY_INSERT];
	size_t slen;

	slen = strnlen(k->service, sizeof(k->service));
	if (slen == 0 || slen > STORE_SERVICEBYTES_MAX || k->wrappedlen == 0 ||
	    k->wrappedlen > STORE_WRAPPEDBYTES_MAX)
		return (store_failx(st, "key put: invalid key"));
	if (store_write_ok(st))
		return (-1);
	if (sqlite3_bind_blob(s, 1, k->key_id, STORE_IDBYTES, SQLITE_STATIC) ||
	    sqlite3_bind_blob(
	        s, 2, k->client_id, STORE_IDBYTES, SQLITE_STATIC) ||
	    sqlite3_bind_blob(s, 3, k->peer_id, STORE_IDBYTES, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 4, k->service, (int)slen, SQLITE_STATIC) ||
	    sqlite3_bind_blob(
	        s, 5, k->client_addr, STORE_ADDRBYTES, SQLITE_STATIC) ||
	    sqlite3_bind_int64(s, 6, k->not_before_ms) ||
	    sqlite3_bind_int64(s, 7, k->not_after_ms) ||
	    sqlite3_bind_int(s, 8, k->revoked ? 1 : 0) ||
	    sqlite3_bind_blob(
	        s, 9, k->wrapped, (int)k->wrappedlen, SQLITE_STATIC)) {
		store_done(s);
		return (store_fail(st, "key put: bind"));
	}
	return (store_exec(st, S_KEY_INSERT, "key put"));
}

int
sqlstore_key_get(struct sqlstore *st,
    const uint8_t key_id[static STORE_IDBYTES], struct store_key *k)
{
	sqlite3_stmt *s = st->stmt[S_KEY_GET];
	int rc, ret;

	if (sqlite3_bind_blob(s, 1, key_id, STORE_IDBYTES, SQLITE_STATIC)) {
		store_done(s);
		return (store_fail(st, "key get: bind"));
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		ret = key_row(st, s, k);
	else if (rc == SQLITE_DONE)
		ret = STORE_NOTFOUND;
	else
		ret = store_fail(st, "key get");
	store_done(s);
	return (ret);
}

int
sqlstore_key_revoke(
    struct sqlstore *st, const uint8_t key_id[static STORE_IDBYTES])
{
	sqlite3_stmt *s = st->stmt[S_KEY_REVOKE];

	if (store_write_ok(st))
		return (-1);
	if (sqlite3_bind_blob(s, 1, key_id, STORE_IDBYTES, SQLITE_STATIC)) {
		store_done(s);
		return (store_fail(st, "key revoke: bind"));
	}
	if (store_exec(st, S_KEY_REVOKE, "key revoke"))
		return (-1);
	return (sqlite3_changes(st->db) == 0 ? STORE_NOTFOUND : 0);
}

int
sqlstore_key_revoke_host(struct sqlstore *st,
    const uint8_t host_id[static STORE_IDBYTES], uint64_t *count)
{
	sqlite3_stmt *s = st->stmt[S_KEY_REVOKE_HOST];

	*count = 0;
	if (store_write_ok(st))
		return (-1);
	if (sqlite3_bind_blob(s, 1, host_id, STORE_IDBYTES, SQLITE_STATIC)) {
		store_done(s);
		return (store_fail(st, "key revoke: bind"));
	}
	if (store_exec(st, S_KEY_REVOKE_HOST, "key revoke"))
		return (-1);
	*count = (uint64_t)sqlite3_changes64(st->db);
	return (0);
}

int
sqlstore_key_purge(struct sqlstore *st, int64_t now_ms, uint64_t *count)
{
	sqlite3_stmt *s = st->stmt[S_KEY_PURGE];

	*count = 0;
	if (store_write_ok(st))
		return (-1);
	if (sqlite3_bind_int64(s, 1, now_ms)) {
		store_done(s);
		return (store_fail(st, "key purge: bind"));
	}
	if (store_exec(st, S_KEY_PURGE, "key purge"))
		return (-1);
	*count = (uint64_t)sqlite3_changes64(st->db);
	return (0);
}

int
sqlstore_key_foreach(
    struct sqlstore *st, int (*cb)(const struct store_key *, void *), void *arg)
{
	sqlite3_stmt *s = st->stmt[S_KEY_FOREACH];
	struct store_key k;
	int rc, ret = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (key_row(st, s, &k) || cb(&k, arg) != 0) {
			ret = -1;
			break;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = store_fail(st, "key list");
	store_done(s);
	secret_wipe(&k, sizeof(k));
	return (ret);
}

int
sqlstore_key_count(struct sqlstore *st, uint64_t *count)
{
	sqlite3_stmt *s = st->stmt[S_KEY_COUNT];
	int ret = 0;

	*count = 0;
	if (sqlite3_step(s) == SQLITE_ROW)
		*count = (uint64_t)sqlite3_column_int64(s, 0);
	else
		ret = store_fail(st, "key count");
	store_done(s);
	return (ret);
}

int
sqlstore_replay_put(struct sqlstore *st,
    const uint8_t sender[static STORE_IDBYTES],
    const uint8_t nonce[static STORE_NONCEBYTES], int64_t expires_ms)
{
	sqlite3_stmt *s = st->stmt[S_REPLAY_INSERT];

	if (store_write_ok(st))
		return (-1);
	if (sqlite3_bind_blob(s, 1, sender, STORE_IDBYTES, SQLITE_STATIC) ||
	    sqlite3_bind_blob(s, 2, nonce, STORE_NONCEBYTES, SQLITE_STATIC) ||
	    sqlite3_bind_int64(s, 3, expires_ms)) {
		store_done(s);
		return (store_fail(st, "replay put: bind"));
	}
	return (store_exec(st, S_REPLAY_INSERT, "replay put"));
}

int
sqlstore_replay_foreach(struct sqlstore *st, int64_t now_ms,
    int (*cb)(const uint8_t *sender, const uint8_t *nonce, int64_t expires_ms,
        void *arg),
    void *arg)
{
	sqlite3_stmt *s = st->stmt[S_REPLAY_FOREACH];
	uint8_t sender[STORE_IDBYTES], nonce[STORE_NONCEBYTES];
	int rc, ret = 0;

	if (sqlite3_bind_int64(s, 1, now_ms)) {
		store_done(s);
		return (store_fail(st, "replay list: bind"));
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (store_col_blob(s, 0, sender, sizeof(sender), NULL) ||
		    store_col_blob(s, 1, nonce, sizeof(nonce), NULL)) {
			ret = store_failx(st, "replay list: malformed row");
			break;
		}
		if (cb(sender, nonce, sqlite3_column_int64(s, 2), arg) != 0) {
			ret = -1;
			break;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = store_fail(st, "replay list");
	store_done(s);
	return (ret);
}

int
sqlstore_replay_purge(struct sqlstore *st, int64_t now_ms)
{
	sqlite3_stmt *s = st->stmt[S_REPLAY_PURGE];

	if (store_write_ok(st))
		return (-1);
	if (sqlite3_bind_int64(s, 1, now_ms)) {
		store_done(s);
		return (store_fail(st, "replay purge: bind"));
	}
	return (store_exec(st, S_REPLAY_PURGE, "replay purge") ? -1 : 0);
}

int
sqlstore_token_add(struct sqlstore *st,
    const uint8_t token_id[static STORE_IDBYTES], const uint8_t *wrapped,
    size_t wrappedlen, int64_t expires_ms)
{
	sqlite3_stmt *s = st->stmt[S_TOKEN_INSERT];

	if (wrapped == NULL || wrappedlen == 0 ||
	    wrappedlen > STORE_WRAPPEDBYTES_MAX)
		return (store_failx(st, "token add: invalid token"));
	if (store_write_ok(st))
		return (-1);
	if (sqlite3_bind_blob(s, 1, token_id, STORE_IDBYTES, SQLITE_STATIC) ||
	    sqlite3_bind_blob(s, 2, wrapped, (int)wrappedlen, SQLITE_STATIC) ||
	    sqlite3_bind_int64(s, 3, expires_ms)) {
		store_done(s);
		return (store_fail(st, "token add: bind"));
	}
	return (store_exec(st, S_TOKEN_INSERT, "token add"));
}

/* The body of sqlstore_token_take, inside its transaction or savepoint. */
static int
token_take(struct sqlstore *st, const uint8_t *token_id, int64_t now_ms,
    uint8_t *wrapped, size_t wrappedsize, size_t *wrappedlen)
{
	sqlite3_stmt *s = st->stmt[S_TOKEN_GET];
	uint8_t buf[STORE_WRAPPEDBYTES_MAX];
	size_t len = 0;
	int64_t expires_ms = 0;
	int rc, ret;

	if (sqlite3_bind_blob(s, 1, token_id, STORE_IDBYTES, SQLITE_STATIC)) {
		store_done(s);
		return (store_fail(st, "token take: bind"));
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		expires_ms = sqlite3_column_int64(s, 1);
		ret = store_col_blob(s, 0, buf, sizeof(buf), &len)
		    ? store_failx(st, "token take: malformed row")
		    : 0;
	} else if (rc == SQLITE_DONE)
		ret = STORE_NOTFOUND;
	else
		ret = store_fail(st, "token take");
	store_done(s);
	if (ret != 0)
		goto done;
	if (len > wrappedsize) {
		ret = store_failx(st, "token take: buffer too small");
		goto done;
	}

	/* Used or expired, it goes. */
	s = st->stmt[S_TOKEN_DELETE];
	if (sqlite3_bind_blob(s, 1, token_id, STORE_IDBYTES, SQLITE_STATIC)) {
		store_done(s);
		ret = store_fail(st, "token take: bind");
		goto done;
	}
	if (store_exec(st, S_TOKEN_DELETE, "token take")) {
		ret = -1;
		goto done;
	}
	if (expires_ms <= now_ms) {
		/* Keep the deletion: report "no such token". */
		ret = STORE_NOTFOUND;
		goto done;
	}
	memcpy(wrapped, buf, len);
	*wrappedlen = len;

done:
	secret_wipe(buf, sizeof(buf));
	return (ret);
}

int
sqlstore_token_take(struct sqlstore *st,
    const uint8_t token_id[static STORE_IDBYTES], int64_t now_ms,
    uint8_t *wrapped, size_t wrappedsize, size_t *wrappedlen)
{
	int how, rc;

	*wrappedlen = 0;
	if (store_op_begin(st, &how))
		return (-1);
	rc = token_take(st, token_id, now_ms, wrapped, wrappedsize, wrappedlen);
	/* STORE_NOTFOUND keeps the deletion of an expired token. */
	if (store_op_end(st, how, rc != -1)) {
		rc = -1;
		*wrappedlen = 0;
	}
	return (rc);
}
