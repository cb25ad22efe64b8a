/*
 * store_switch.c: store.h's functions, dispatched to the backend a handle
 * was opened with (store_be.h).  store_open's spec: "sqlite:PATH",
 * "postgresql:CONNINFO", or a plain path (SQLite).  A switch per function
 * rather than a table of function pointers: each backend keeps its own
 * connection type, and the compiler checks every call.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cryptgate/log.h"
#include "cryptgate/store.h"

#include "store_be.h"

/* One connection, to one backend: exactly one of the two is set. */
struct store {
	struct sqlstore *sql;
	struct pgstore *pg;
};

#define SQLITE_PREFIX "sqlite:"
#define PG_PREFIX "postgresql:"

struct store *
store_open(const char *spec, int flags)
{
	struct store *st;
	const char *rest;
	bool pg = false;

	if (spec == NULL)
		spec = "";
	if (strncmp(spec, PG_PREFIX, strlen(PG_PREFIX)) == 0) {
		rest = spec + strlen(PG_PREFIX);
		pg = true;
	} else if (strncmp(spec, SQLITE_PREFIX, strlen(SQLITE_PREFIX)) == 0)
		rest = spec + strlen(SQLITE_PREFIX);
	else
		rest = spec;
	if (*rest == '\0') {
		log_warnx("store: \"%s\": no database named", spec);
		return (NULL);
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		log_warn("store_open");
		return (NULL);
	}
	if (pg)
		st->pg = pgstore_open(rest, flags);
	else
		st->sql = sqlstore_open(rest, flags);
	if (st->sql == NULL && st->pg == NULL) {
		free(st);
		return (NULL);
	}
	return (st);
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->pg != NULL)
		pgstore_close(st->pg);
	else
		sqlstore_close(st->sql);
	free(st);
}

int
store_busy_timeout(struct store *st, int ms)
{
	if (st->pg != NULL)
		return (pgstore_busy_timeout(st->pg, ms));
	return (sqlstore_busy_timeout(st->sql, ms));
}

int
store_checkpoint(struct store *st)
{
	if (st->pg != NULL)
		return (pgstore_checkpoint(st->pg));
	return (sqlstore_checkpoint(st->sql));
}

int
store_begin(struct store *st)
{
	if (st->pg != NULL)
		return (pgstore_begin(st->pg));
	return (sqlstore_begin(st->sql));
}

int
store_commit(struct store *st)
{
	if (st->pg != NULL)
		return (pgstore_commit(st->pg));
	return (sqlstore_commit(st->sql));
}

void
store_rollback(struct store *st)
{
	if (st->pg != NULL)
		pgstore_rollback(st->pg);
	else
		sqlstore_rollback(st->sql);
}

int
store_integrity_check(struct store *st)
{
	if (st->pg != NULL)
		return (pgstore_integrity_check(st->pg));
	return (sqlstore_integrity_check(st->sql));
}

int
store_host_add(struct store *st, const struct store_host *h)
{
	if (st->pg != NULL)
		return (pgstore_host_add(st->pg, h));
	return (sqlstore_host_add(st->sql, h));
}

int
store_host_get(struct store *st, const uint8_t id[static STORE_IDBYTES],
    struct store_host *h)
{
	if (st->pg != NULL)
		return (pgstore_host_get(st->pg, id, h));
	return (sqlstore_host_get(st->sql, id, h));
}

int
store_host_get_by_name(struct store *st, const char *name, struct store_host *h)
{
	if (st->pg != NULL)
		return (pgstore_host_get_by_name(st->pg, name, h));
	return (sqlstore_host_get_by_name(st->sql, name, h));
}

int
store_host_key(struct store *st, const uint8_t id[static STORE_IDBYTES],
    uint16_t kvno, int64_t now_ms, struct hostpub *pub)
{
	if (st->pg != NULL)
		return (pgstore_host_key(st->pg, id, kvno, now_ms, pub));
	return (sqlstore_host_key(st->sql, id, kvno, now_ms, pub));
}

int
store_host_set_state(struct store *st, const uint8_t id[static STORE_IDBYTES],
    enum store_host_state state)
{
	if (st->pg != NULL)
		return (pgstore_host_set_state(st->pg, id, state));
	return (sqlstore_host_set_state(st->sql, id, state));
}

int
store_host_rotate(struct store *st, const uint8_t id[static STORE_IDBYTES],
    const struct hostpub *pub, uint16_t new_kvno, int64_t old_valid_until_ms)
{
	if (st->pg != NULL)
		return (pgstore_host_rotate(
		    st->pg, id, pub, new_kvno, old_valid_until_ms));
	return (sqlstore_host_rotate(
	    st->sql, id, pub, new_kvno, old_valid_until_ms));
}

int
store_host_remove(struct store *st, const uint8_t id[static STORE_IDBYTES])
{
	if (st->pg != NULL)
		return (pgstore_host_remove(st->pg, id));
	return (sqlstore_host_remove(st->sql, id));
}

int
store_host_foreach(
    struct store *st, int (*cb)(const struct store_host *, void *), void *arg)
{
	if (st->pg != NULL)
		return (pgstore_host_foreach(st->pg, cb, arg));
	return (sqlstore_host_foreach(st->sql, cb, arg));
}

int
store_policy_allow(struct store *st, const uint8_t client[static STORE_IDBYTES],
    const uint8_t peer[static STORE_IDBYTES], const char *service)
{
	if (st->pg != NULL)
		return (pgstore_policy_allow(st->pg, client, peer, service));
	return (sqlstore_policy_allow(st->sql, client, peer, service));
}

int
store_policy_deny(struct store *st, const uint8_t client[static STORE_IDBYTES],
    const uint8_t peer[static STORE_IDBYTES], const char *service)
{
	if (st->pg != NULL)
		return (pgstore_policy_deny(st->pg, client, peer, service));
	return (sqlstore_policy_deny(st->sql, client, peer, service));
}

int
store_policy_check(struct store *st, const uint8_t client[static STORE_IDBYTES],
    const uint8_t peer[static STORE_IDBYTES], const char *service,
    bool *allowed)
{
	if (st->pg != NULL)
		return (pgstore_policy_check(
		    st->pg, client, peer, service, allowed));
	return (sqlstore_policy_check(st->sql, client, peer, service, allowed));
}

int
store_policy_foreach(struct store *st,
    int (*cb)(const uint8_t *client, const uint8_t *peer, const char *service,
        void *arg),
    void *arg)
{
	if (st->pg != NULL)
		return (pgstore_policy_foreach(st->pg, cb, arg));
	return (sqlstore_policy_foreach(st->sql, cb, arg));
}

int
store_key_put(struct store *st, const struct store_key *k)
{
	if (st->pg != NULL)
		return (pgstore_key_put(st->pg, k));
	return (sqlstore_key_put(st->sql, k));
}

int
store_key_get(struct store *st, const uint8_t key_id[static STORE_IDBYTES],
    struct store_key *k)
{
	if (st->pg != NULL)
		return (pgstore_key_get(st->pg, key_id, k));
	return (sqlstore_key_get(st->sql, key_id, k));
}

int
store_key_revoke(struct store *st, const uint8_t key_id[static STORE_IDBYTES])
{
	if (st->pg != NULL)
		return (pgstore_key_revoke(st->pg, key_id));
	return (sqlstore_key_revoke(st->sql, key_id));
}

int
store_key_revoke_host(struct store *st,
    const uint8_t host_id[static STORE_IDBYTES], uint64_t *count)
{
	if (st->pg != NULL)
		return (pgstore_key_revoke_host(st->pg, host_id, count));
	return (sqlstore_key_revoke_host(st->sql, host_id, count));
}

int
store_key_purge(struct store *st, int64_t now_ms, uint64_t *count)
{
	if (st->pg != NULL)
		return (pgstore_key_purge(st->pg, now_ms, count));
	return (sqlstore_key_purge(st->sql, now_ms, count));
}

int
store_key_foreach(
    struct store *st, int (*cb)(const struct store_key *, void *), void *arg)
{
	if (st->pg != NULL)
		return (pgstore_key_foreach(st->pg, cb, arg));
	return (sqlstore_key_foreach(st->sql, cb, arg));
}

int
store_key_count(struct store *st, uint64_t *count)
{
	if (st->pg != NULL)
		return (pgstore_key_count(st->pg, count));
	return (sqlstore_key_count(st->sql, count));
}

int
store_replay_put(struct store *st, const uint8_t sender[static STORE_IDBYTES],
    const uint8_t nonce[static STORE_NONCEBYTES], int64_t expires_ms)
{
	if (st->pg != NULL)
		return (pgstore_replay_put(st->pg, sender, nonce, expires_ms));
	return (sqlstore_replay_put(st->sql, sender, nonce, expires_ms));
}

int
store_replay_foreach(struct store *st, int64_t now_ms,
    int (*cb)(const uint8_t *sender, const uint8_t *nonce, int64_t expires_ms,
        void *arg),
    void *arg)
{
	if (st->pg != NULL)
		return (pgstore_replay_foreach(st->pg, now_ms, cb, arg));
	return (sqlstore_replay_foreach(st->sql, now_ms, cb, arg));
}

int
store_replay_purge(struct store *st, int64_t now_ms)
{
	if (st->pg != NULL)
		return (pgstore_replay_purge(st->pg, now_ms));
	return (sqlstore_replay_purge(st->sql, now_ms));
}

int
store_token_add(struct store *st, const uint8_t token_id[static STORE_IDBYTES],
    const uint8_t *wrapped, size_t wrappedlen, int64_t expires_ms)
{
	if (st->pg != NULL)
		return (pgstore_token_add(
		    st->pg, token_id, wrapped, wrappedlen, expires_ms));
	return (sqlstore_token_add(
	    st->sql, token_id, wrapped, wrappedlen, expires_ms));
}

int
store_token_take(struct store *st, const uint8_t token_id[static STORE_IDBYTES],
    int64_t now_ms, uint8_t *wrapped, size_t wrappedsize, size_t *wrappedlen)
{
	if (st->pg != NULL)
		return (pgstore_token_take(st->pg, token_id, now_ms, wrapped,
		    wrappedsize, wrappedlen));
	return (sqlstore_token_take(
	    st->sql, token_id, now_ms, wrapped, wrappedsize, wrappedlen));
}

int
store_audit_append(struct store *st, int64_t ts_ms, const char *actor,
    const char *op, const char *detail, int result)
{
	if (st->pg != NULL)
		return (pgstore_audit_append(
		    st->pg, ts_ms, actor, op, detail, result));
	return (
	    sqlstore_audit_append(st->sql, ts_ms, actor, op, detail, result));
}

int
store_audit_verify(struct store *st, uint64_t *count, int64_t *bad_seq)
{
	if (st->pg != NULL)
		return (pgstore_audit_verify(st->pg, count, bad_seq));
	return (sqlstore_audit_verify(st->sql, count, bad_seq));
}

int
store_audit_foreach(struct store *st, int64_t since_seq,
    int (*cb)(const struct store_audit *, void *), void *arg)
{
	if (st->pg != NULL)
		return (pgstore_audit_foreach(st->pg, since_seq, cb, arg));
	return (sqlstore_audit_foreach(st->sql, since_seq, cb, arg));
}
