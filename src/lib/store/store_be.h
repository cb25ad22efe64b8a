/*
 * store_be.h: the backends behind store.h, private to src/lib/store/.
 * store_switch.c picks one per handle from store_open's spec and calls
 * the same function of that backend: sqlstore_* (SQLite: store.c,
 * store_host.c, store_key.c, store_audit.c) or pgstore_* (PostgreSQL:
 * pgstore*.c).  Each has the contract of the store_* function of the same
 * name in store.h, on its own connection type.
 */
#ifndef CRYPTGATE_STORE_BE_H
#define CRYPTGATE_STORE_BE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptgate/cdefs.h"
#include "cryptgate/hostpub.h"
#include "cryptgate/store.h"

struct sqlstore;
struct pgstore;

/* An audit record's text fields, as lengths and bytes (not NUL-terminated). */
struct store_audit_text {
	const char *actor, *op, *detail;
	size_t actorlen, oplen, detaillen;
};

/**
 * store_audit_hash(hash, prev, seq, ts_ms, t, result): the hash of the audit
 * record (${prev}, ${seq}, ${ts_ms}, ${t}, ${result}) as store.h's
 * store_audit_append defines it, for both backends (store_audit.c).
 * Return 0, or -1 if a text field is longer than its cap.
 */
int store_audit_hash(uint8_t hash[static STORE_HASHBYTES],
    const uint8_t prev[static STORE_HASHBYTES], int64_t seq, int64_t ts_ms,
    const struct store_audit_text *t, int result) CG_WUR;

/* SQLite */

struct sqlstore *sqlstore_open(const char *path, int flags);
void sqlstore_close(struct sqlstore *st);
int sqlstore_busy_timeout(struct sqlstore *st, int ms) CG_WUR;
int sqlstore_checkpoint(struct sqlstore *st) CG_WUR;
int sqlstore_begin(struct sqlstore *st) CG_WUR;
int sqlstore_commit(struct sqlstore *st) CG_WUR;
void sqlstore_rollback(struct sqlstore *st);
int sqlstore_integrity_check(struct sqlstore *st) CG_WUR;
int sqlstore_host_add(struct sqlstore *st, const struct store_host *h) CG_WUR;
int sqlstore_host_get(struct sqlstore *st,
    const uint8_t id[static STORE_IDBYTES], struct store_host *h) CG_WUR;
int sqlstore_host_get_by_name(
    struct sqlstore *st, const char *name, struct store_host *h) CG_WUR;
int sqlstore_host_key(struct sqlstore *st,
    const uint8_t id[static STORE_IDBYTES], uint16_t kvno, int64_t now_ms,
    struct hostpub *pub) CG_WUR;
int sqlstore_host_set_state(struct sqlstore *st,
    const uint8_t id[static STORE_IDBYTES], enum store_host_state state) CG_WUR;
int sqlstore_host_rotate(struct sqlstore *st,
    const uint8_t id[static STORE_IDBYTES], const struct hostpub *pub,
    uint16_t new_kvno, int64_t old_valid_until_ms) CG_WUR;
int sqlstore_host_remove(
    struct sqlstore *st, const uint8_t id[static STORE_IDBYTES]) CG_WUR;
int sqlstore_host_foreach(struct sqlstore *st,
    int (*cb)(const struct store_host *, void *), void *arg) CG_WUR;
int sqlstore_policy_allow(struct sqlstore *st,
    const uint8_t client[static STORE_IDBYTES],
    const uint8_t peer[static STORE_IDBYTES], const char *service) CG_WUR;
int sqlstore_policy_deny(struct sqlstore *st,
    const uint8_t client[static STORE_IDBYTES],
    const uint8_t peer[static STORE_IDBYTES], const char *service) CG_WUR;
int sqlstore_policy_check(struct sqlstore *st,
    const uint8_t client[static STORE_IDBYTES],
    const uint8_t peer[static STORE_IDBYTES], const char *service,
    bool *allowed) CG_WUR;
int sqlstore_policy_foreach(struct sqlstore *st,
    int (*cb)(const uint8_t *client, const uint8_t *peer, const char *service,
        void *arg),
    void *arg) CG_WUR;
int sqlstore_key_put(struct sqlstore *st, const struct store_key *k) CG_WUR;
int sqlstore_key_get(struct sqlstore *st,
    const uint8_t key_id[static STORE_IDBYTES], struct store_key *k) CG_WUR;
int sqlstore_key_revoke(
    struct sqlstore *st, const uint8_t key_id[static STORE_IDBYTES]) CG_WUR;
int sqlstore_key_revoke_host(struct sqlstore *st,
    const uint8_t host_id[static STORE_IDBYTES], uint64_t *count) CG_WUR;
int sqlstore_key_purge(
    struct sqlstore *st, int64_t now_ms, uint64_t *count) CG_WUR;
int sqlstore_key_foreach(struct sqlstore *st,
    int (*cb)(const struct store_key *, void *), void *arg) CG_WUR;
int sqlstore_key_count(struct sqlstore *st, uint64_t *count) CG_WUR;
int sqlstore_replay_put(struct sqlstore *st,
    const uint8_t sender[static STORE_IDBYTES],
    const uint8_t nonce[static STORE_NONCEBYTES], int64_t expires_ms) CG_WUR;
int sqlstore_replay_foreach(struct sqlstore *st, int64_t now_ms,
    int (*cb)(const uint8_t *sender, const uint8_t *nonce, int64_t expires_ms,
        void *arg),
    void *arg) CG_WUR;
int sqlstore_replay_purge(struct sqlstore *st, int64_t now_ms) CG_WUR;
int sqlstore_token_add(struct sqlstore *st,
    const uint8_t token_id[static STORE_IDBYTES], const uint8_t *wrapped,
    size_t wrappedlen, int64_t expires_ms) CG_WUR;
int sqlstore_token_take(struct sqlstore *st,
    const uint8_t token_id[static STORE_IDBYTES], int64_t now_ms,
    uint8_t *wrapped, size_t wrappedsize, size_t *wrappedlen) CG_WUR;
int sqlstore_audit_append(struct sqlstore *st, int64_t ts_ms, const char *actor,
    const char *op, const char *detail, int result) CG_WUR;
int sqlstore_audit_verify(
    struct sqlstore *st, uint64_t *count, int64_t *bad_seq) CG_WUR;
int sqlstore_audit_foreach(struct sqlstore *st, int64_t since_seq,
    int (*cb)(const struct store_audit *, void *), void *arg) CG_WUR;

/* PostgreSQL */

struct pgstore *pgstore_open(const char *conninfo, int flags);
void pgstore_close(struct pgstore *st);
int pgstore_busy_timeout(struct pgstore *st, int ms) CG_WUR;
int pgstore_checkpoint(struct pgstore *st) CG_WUR;
int pgstore_begin(struct pgstore *st) CG_WUR;
int pgstore_commit(struct pgstore *st) CG_WUR;
void pgstore_rollback(struct pgstore *st);
int pgstore_integrity_check(struct pgstore *st) CG_WUR;
int pgstore_host_add(struct pgstore *st, const struct store_host *h) CG_WUR;
int pgstore_host_get(struct pgstore *st, const uint8_t id[static STORE_IDBYTES],
    struct store_host *h) CG_WUR;
int pgstore_host_get_by_name(
    struct pgstore *st, const char *name, struct store_host *h) CG_WUR;
int pgstore_host_key(struct pgstore *st, const uint8_t id[static STORE_IDBYTES],
    uint16_t kvno, int64_t now_ms, struct hostpub *pub) CG_WUR;
int pgstore_host_set_state(struct pgstore *st,
    const uint8_t id[static STORE_IDBYTES], enum store_host_state state) CG_WUR;
int pgstore_host_rotate(struct pgstore *st,
    const uint8_t id[static STORE_IDBYTES], const struct hostpub *pub,
    uint16_t new_kvno, int64_t old_valid_until_ms) CG_WUR;
int pgstore_host_remove(
    struct pgstore *st, const uint8_t id[static STORE_IDBYTES]) CG_WUR;
int pgstore_host_foreach(struct pgstore *st,
    int (*cb)(const struct store_host *, void *), void *arg) CG_WUR;
int pgstore_policy_allow(struct pgstore *st,
    const uint8_t client[static STORE_IDBYTES],
    const uint8_t peer[static STORE_IDBYTES], const char *service) CG_WUR;
int pgstore_policy_deny(struct pgstore *st,
    const uint8_t client[static STORE_IDBYTES],
    const uint8_t peer[static STORE_IDBYTES], const char *service) CG_WUR;
int pgstore_policy_check(struct pgstore *st,
    const uint8_t client[static STORE_IDBYTES],
    const uint8_t peer[static STORE_IDBYTES], const char *service,
    bool *allowed) CG_WUR;
int pgstore_policy_foreach(struct pgstore *st,
    int (*cb)(const uint8_t *client, const uint8_t *peer, const char *service,
        void *arg),
    void *arg) CG_WUR;
int pgstore_key_put(struct pgstore *st, const struct store_key *k) CG_WUR;
int pgstore_key_get(struct pgstore *st,
    const uint8_t key_id[static STORE_IDBYTES], struct store_key *k) CG_WUR;
int pgstore_key_revoke(
    struct pgstore *st, const uint8_t key_id[static STORE_IDBYTES]) CG_WUR;
int pgstore_key_revoke_host(struct pgstore *st,
    const uint8_t host_id[static STORE_IDBYTES], uint64_t *count) CG_WUR;
int pgstore_key_purge(
    struct pgstore *st, int64_t now_ms, uint64_t *count) CG_WUR;
int pgstore_key_foreach(struct pgstore *st,
    int (*cb)(const struct store_key *, void *), void *arg) CG_WUR;
int pgstore_key_count(struct pgstore *st, uint64_t *count) CG_WUR;
int pgstore_replay_put(struct pgstore *st,
    const uint8_t sender[static STORE_IDBYTES],
    const uint8_t nonce[static STORE_NONCEBYTES], int64_t expires_ms) CG_WUR;
int pgstore_replay_foreach(struct pgstore *st, int64_t now_ms,
    int (*cb)(const uint8_t *sender, const uint8_t *nonce, int64_t expires_ms,
        void *arg),
    void *arg) CG_WUR;
int pgstore_replay_purge(struct pgstore *st, int64_t now_ms) CG_WUR;
int pgstore_token_add(struct pgstore *st,
    const uint8_t token_id[static STORE_IDBYTES], const uint8_t *wrapped,
    size_t wrappedlen, int64_t expires_ms) CG_WUR;
int pgstore_token_take(struct pgstore *st,
    const uint8_t token_id[static STORE_IDBYTES], int64_t now_ms,
    uint8_t *wrapped, size_t wrappedsize, size_t *wrappedlen) CG_WUR;
int pgstore_audit_append(struct pgstore *st, int64_t ts_ms, const char *actor,
    const char *op, const char *detail, int result) CG_WUR;
int pgstore_audit_verify(
    struct pgstore *st, uint64_t *count, int64_t *bad_seq) CG_WUR;
int pgstore_audit_foreach(struct pgstore *st, int64_t since_seq,
    int (*cb)(const struct store_audit *, void *), void *arg) CG_WUR;

#endif /* !CRYPTGATE_STORE_BE_H */
