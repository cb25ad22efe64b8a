/*
 * store.h: the KDC's database, behind one interface.
 *
 * Two backends behind it, chosen per handle by store_open's spec
 * (src/lib/store/store_switch.c): SQLite, the embedded default
 * (store.c, store_host.c, store_key.c, store_audit.c: the only code that
 * includes <sqlite3.h>), and PostgreSQL for several KDC instances on one
 * database (pgstore*.c: the only code that includes <libpq-fe.h>).  Both
 * keep the same semantics; where they differ it is said below.  The store
 * holds only opaque or public data: session keys arrive already wrapped
 * under the master key (see keywrap.h), so no key material in the clear
 * ever reaches the database.
 *
 * Threads: a struct store is one database connection, used by one thread
 * at a time.  Each thread (KDC worker, writer, CLI) opens its own; SQLite's
 * WAL mode (PostgreSQL's MVCC) lets readers run beside the single writer.
 * Several processes (the daemon and `cryptgate kdc ...` admin commands;
 * with PostgreSQL several daemons) may use one database at once; writers
 * wait up to STORE_BUSY_TIMEOUT_MS for each other.
 *
 * Schema: versioned in the database (table meta, 'schema_version') and
 * brought up to date by an ordered list of migrations (one per version,
 * the same numbering for both backends), applied in one transaction by the
 * first read-write store_open that finds an older version.  A database
 * newer than this code is refused, and left alone.
 *
 * Return convention: 0 success, -1 error (logged once), and for lookups
 * STORE_NOTFOUND (1) when there is no such row.
 *
 * The foreach functions call ${cb} with a row valid only during the call;
 * ${cb} may use other store functions on the same handle, but not the same
 * foreach.  They return 0, or -1 if a query failed (logged) or ${cb}
 * returned nonzero (which stops the walk; not logged).
 */
#ifndef CRYPTGATE_STORE_H
#define CRYPTGATE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"
#include "hostpub.h"

#define STORE_NOTFOUND 1
#define STORE_DUPLICATE 2
#define STORE_BUSY_TIMEOUT_MS 5000

#define STORE_IDBYTES 16 /* host ids and key ids */
#define STORE_NONCEBYTES 16 /* request nonces (replay cache) */
#define STORE_ADDRBYTES 17 /* wire.h addr: u8 family || 16 bytes */
#define STORE_NAMEBYTES_MAX 253
#define STORE_SERVICEBYTES_MAX 64
#define STORE_WRAPPEDBYTES_MAX 128 /* a wrapped session key */
#define STORE_HOSTADDRS_MAX 16
#define STORE_AUDIT_ACTORBYTES_MAX 64
#define STORE_AUDIT_DETAILBYTES_MAX 512
#define STORE_AUDIT_OPBYTES_MAX 15
#define STORE_HASHBYTES 32

/* Flags of store_open. */
/* Create the file (SQLite) and the schema if missing. */
#define STORE_CREATE 0x01
/* Open read-only (SQLITE_OPEN_READONLY; PostgreSQL: read-only transactions). */
#define STORE_READONLY 0x02
/* A commit survives power loss (synchronous=FULL; PostgreSQL:
 * synchronous_commit on, else off: a crash of the server's machine may
 * lose the last commits, never consistency). */
#define STORE_DURABLE 0x04
/* No automatic WAL checkpoint after commits (the writer's commits stay
 * short): another thread calls store_checkpoint instead.  PostgreSQL:
 * ignored (the server checkpoints). */
#define STORE_NOCHECKPOINT 0x08

enum store_host_state {
	STORE_HOST_PENDING = 1, /* enrolled, waiting for approval */
	STORE_HOST_ACTIVE = 2,
	STORE_HOST_REVOKED = 3,
};

struct store_host {
	uint8_t host_id[STORE_IDBYTES];
	char name[STORE_NAMEBYTES_MAX + 1];
	enum store_host_state state;
	uint16_t kvno; /* current key version, 1 at enrollment */
	struct hostpub pub; /* the keys of version ${kvno} */
	size_t naddrs;
	uint8_t addrs[STORE_HOSTADDRS_MAX][STORE_ADDRBYTES];
	int64_t created_ms;
};

struct store_key {
	uint8_t key_id[STORE_IDBYTES];
	uint8_t client_id[STORE_IDBYTES]; /* the host that requested it */
	uint8_t peer_id[STORE_IDBYTES]; /* the host that may retrieve it */
	char service[STORE_SERVICEBYTES_MAX + 1];
	uint8_t client_addr[STORE_ADDRBYTES];
	int64_t not_before_ms;
	int64_t not_after_ms;
	bool revoked;
	uint8_t wrapped[STORE_WRAPPEDBYTES_MAX]; /* keywrap output, opaque */
	size_t wrappedlen;
};

struct store_audit {
	int64_t seq; /* 1, 2, 3, ... */
	int64_t ts_ms;
	/* Host id hex, "admin", ... */
	char actor[STORE_AUDIT_ACTORBYTES_MAX + 1];
	/* "REQUEST", "host approve", ... */
	char op[STORE_AUDIT_OPBYTES_MAX + 1];
	/* Never key material. */
	char detail[STORE_AUDIT_DETAILBYTES_MAX + 1];
	int result; /* 0 ok, else an error code */
	uint8_t prev[STORE_HASHBYTES];
	uint8_t hash[STORE_HASHBYTES];
};

struct store;

/**
 * store_open(spec, flags): open (with STORE_CREATE: create) the database
 * ${spec} names: "sqlite:PATH", "postgresql:CONNINFO" (a libpq connection
 * string or URI, e.g. "host=/run/postgresql dbname=kdc"), or a plain PATH
 * (SQLite).
 *
 * SQLite: the file at PATH, in WAL mode with foreign_keys and secure_delete
 * on, every statement prepared.  With STORE_CREATE a new file is created
 * with mode 0600.  PostgreSQL: one connection; the database must exist
 * (created by its administrator) and the schema goes into its current
 * schema (search_path).
 *
 * With STORE_CREATE an empty database gets the schema; without it, it is
 * refused.  An older schema version is migrated (read-write opens only:
 * STORE_READONLY refuses it); a newer one, or a database that is not a
 * cryptgate database, is refused.  Return the handle (close with
 * store_close) or NULL (logged).
 */
struct store *store_open(const char *spec, int flags);

/**
 * store_close(st): roll back an open transaction, finalize statements and
 * close; NULL is a no-op.
 */
void store_close(struct store *st);

/**
 * store_busy_timeout(st, ms): wait at most ${ms} milliseconds (instead of
 * STORE_BUSY_TIMEOUT_MS) for other writers; 0 fails at once when the
 * database is locked.  PostgreSQL: the wait for the writers' lock
 * (lock_timeout; 0 is 1 ms there).  Return 0 or -1.
 */
int store_busy_timeout(struct store *st, int ms) CG_WUR;

/**
 * store_checkpoint(st): copy committed pages from the write-ahead log into
 * the database (a passive checkpoint: it never waits for, nor blocks,
 * readers and the writer; what it cannot copy now is left for the next
 * call).  Call it every second or so from a thread of its own, on a
 * read-write handle of its own, when the writer opened the store with
 * STORE_NOCHECKPOINT.  PostgreSQL: nothing to do (the server checkpoints):
 * 0, or -1 on a read-only handle as with SQLite.  Return 0 or -1.
 */
int store_checkpoint(struct store *st) CG_WUR;

/**
 * store_begin(st), store_commit(st), store_rollback(st): an explicit write
 * transaction (BEGIN IMMEDIATE), so that several writes (a session key, its
 * replay nonce and its audit record) commit together: group commit puts
 * many requests in one.  Writes outside an explicit transaction commit one
 * by one.  store_rollback on a store with no open transaction is a no-op.
 * store_begin fails if a transaction is open or the lock cannot be had
 * within the busy timeout.  If store_commit fails the transaction is rolled
 * back (store_rollback is then a no-op).  A write inside the transaction
 * that fails with STORE_DUPLICATE or STORE_NOTFOUND leaves it usable; if
 * SQLite had to roll it back (I/O error, disk full), every later write
 * and store_commit fail.
 *
 * PostgreSQL: BEGIN, then a transaction-scoped advisory lock that every
 * store_begin (and every multi-statement write outside one: host add and
 * rotate, token take, audit append) takes, so that writers, across KDC
 * instances too, keep SQLite's single-writer order and the audit chain
 * its sequence.  Any other error inside the transaction (a foreign key,
 * the connection) aborts it: every later write and store_commit fail.
 */
int store_begin(struct store *st) CG_WUR;
int store_commit(struct store *st) CG_WUR;
void store_rollback(struct store *st);

/**
 * store_integrity_check(st): 0 if PRAGMA integrity_check says "ok".
 * PostgreSQL: 0 if the schema version can be read and is this code's (the
 * server checks its own pages).
 */
int store_integrity_check(struct store *st) CG_WUR;

/* --- hosts --- */

/**
 * store_host_add(st, h): insert ${h}; STORE_DUPLICATE if its id or name
 * exists.  ${h}->name must be 1..STORE_NAMEBYTES_MAX bytes without control
 * characters; with ${h}->kvno == 1, ${h}->host_id must be the id of
 * ${h}->pub's keys (hostpub_id_compute; ${h}->pub.host_id is ignored).
 */
int store_host_add(struct store *st, const struct store_host *h) CG_WUR;

/**
 * store_host_get(st, id, h): fill ${h}; 0, STORE_NOTFOUND or -1.
 * ${h}->pub.host_id is computed from the stored keys (it equals ${id} for
 * kvno 1, and a mismatch is refused as tampering; after a rotation the
 * host keeps its id while its new keys hash to another one).
 */
int store_host_get(struct store *st, const uint8_t id[static STORE_IDBYTES],
    struct store_host *h) CG_WUR;

/** store_host_get_by_name(st, name, h): as store_host_get, by name. */
int store_host_get_by_name(
    struct store *st, const char *name, struct store_host *h) CG_WUR;

/**
 * store_host_key(st, id, kvno, now_ms, pub): the keys of host ${id} at
 * version ${kvno}, if that version is current or still inside its overlap
 * window after a rotation (valid_until > ${now_ms}).  0, STORE_NOTFOUND, -1.
 */
int store_host_key(struct store *st, const uint8_t id[static STORE_IDBYTES],
    uint16_t kvno, int64_t now_ms, struct hostpub *pub) CG_WUR;

/** store_host_set_state(st, id, state): 0, STORE_NOTFOUND or -1. */
int store_host_set_state(struct store *st,
    const uint8_t id[static STORE_IDBYTES], enum store_host_state state) CG_WUR;

/**
 * store_host_rotate(st, id, pub, new_kvno, old_valid_until_ms): make ${pub}
 * the keys of version ${new_kvno} (> current) and keep the old version
 * valid until ${old_valid_until_ms}.  0, STORE_NOTFOUND or -1.
 */
int store_host_rotate(struct store *st, const uint8_t id[static STORE_IDBYTES],
    const struct hostpub *pub, uint16_t new_kvno,
    int64_t old_valid_until_ms) CG_WUR;

/**
 * store_host_remove(st, id): delete the host, its keys, its policies and its
 * session keys.  0, STORE_NOTFOUND or -1.  It scans the session keys
 * (about 10 ms per 100,000): an admin operation.
 */
int store_host_remove(
    struct store *st, const uint8_t id[static STORE_IDBYTES]) CG_WUR;

/** store_host_foreach(st, cb, arg): call ${cb} for every host, by name; stop if it returns -1. */
int store_host_foreach(struct store *st,
    int (*cb)(const struct store_host *, void *), void *arg) CG_WUR;

/* --- policy: which client host may get a key for which peer and service --- */

/**
 * store_policy_allow(st, client, peer, service): add a rule ("*" = any
 * service); 0 also if it exists already, -1 if either host does not exist
 * or ${service} is not 1..STORE_SERVICEBYTES_MAX bytes without control
 * characters.
 */
int store_policy_allow(struct store *st,
    const uint8_t client[static STORE_IDBYTES],
    const uint8_t peer[static STORE_IDBYTES], const char *service) CG_WUR;

/** store_policy_deny(st, client, peer, service): remove that rule; 0, STORE_NOTFOUND, -1. */
int store_policy_deny(struct store *st,
    const uint8_t client[static STORE_IDBYTES],
    const uint8_t peer[static STORE_IDBYTES], const char *service) CG_WUR;

/**
 * store_policy_check(st, client, peer, service, allowed): set ${*allowed}
 * if a rule for (client, peer, service) or (client, peer, "*") exists.
 */
int store_policy_check(struct store *st,
    const uint8_t client[static STORE_IDBYTES],
    const uint8_t peer[static STORE_IDBYTES], const char *service,
    bool *allowed) CG_WUR;

/** store_policy_foreach(st, cb, arg): every rule. */
int store_policy_foreach(struct store *st,
    int (*cb)(const uint8_t *client, const uint8_t *peer, const char *service,
        void *arg),
    void *arg) CG_WUR;

/* --- session keys --- */

/**
 * store_key_put(st, k): insert; STORE_DUPLICATE if the key id exists, -1 if
 * the client or peer host does not exist.
 */
int store_key_put(struct store *st, const struct store_key *k) CG_WUR;

/** store_key_get(st, key_id, k): 0, STORE_NOTFOUND or -1. */
int store_key_get(struct store *st, const uint8_t key_id[static STORE_IDBYTES],
    struct store_key *k) CG_WUR;

/** store_key_revoke(st, key_id): mark revoked; 0, STORE_NOTFOUND or -1. */
int store_key_revoke(
    struct store *st, const uint8_t key_id[static STORE_IDBYTES]) CG_WUR;

/**
 * store_key_revoke_host(st, host_id, count): revoke every key whose client
 * or peer is ${host_id}; ${*count} gets how many (not counting keys that
 * were revoked already).  0 or -1.  A scan of all keys (about 10 ms per
 * 100,000): keys are indexed for insertion speed, not by host.
 */
int store_key_revoke_host(struct store *st,
    const uint8_t host_id[static STORE_IDBYTES], uint64_t *count) CG_WUR;

/**
 * store_key_purge(st, now_ms, count): delete keys with not_after < now
 * (about 2.5 us each, zeroed on disk by secure_delete: purge often, so
 * that each purge is short).  PostgreSQL has no secure_delete: deleted
 * rows stay on disk until vacuum reuses their space (the wrapped keys are
 * useless without the master key).
 */
int store_key_purge(struct store *st, int64_t now_ms, uint64_t *count) CG_WUR;

/** store_key_foreach(st, cb, arg): every key (wrapped bytes included, opaque). */
int store_key_foreach(struct store *st,
    int (*cb)(const struct store_key *, void *), void *arg) CG_WUR;

/** store_key_count(st, count): how many keys are stored. */
int store_key_count(struct store *st, uint64_t *count) CG_WUR;

/* --- replay cache, persisted for state-changing requests --- */

/**
 * store_replay_put(st, sender, nonce, expires_ms): record a nonce;
 * STORE_DUPLICATE if (sender, nonce) is already there.
 */
int store_replay_put(struct store *st,
    const uint8_t sender[static STORE_IDBYTES],
    const uint8_t nonce[static STORE_NONCEBYTES], int64_t expires_ms) CG_WUR;

/** store_replay_foreach(st, now_ms, cb, arg): every unexpired nonce (to reload the in-memory cache at start). */
int store_replay_foreach(struct store *st, int64_t now_ms,
    int (*cb)(const uint8_t *sender, const uint8_t *nonce, int64_t expires_ms,
        void *arg),
    void *arg) CG_WUR;

/** store_replay_purge(st, now_ms): delete expired nonces. */
int store_replay_purge(struct store *st, int64_t now_ms) CG_WUR;

/* --- one-time enrollment tokens --- */

/**
 * store_token_add(st, token_id, wrapped, wrappedlen, expires_ms): store an
 * enrollment token (its secret wrapped under the master key) by its public
 * id.  STORE_DUPLICATE if the id exists.
 */
int store_token_add(struct store *st,
    const uint8_t token_id[static STORE_IDBYTES], const uint8_t *wrapped,
    size_t wrappedlen, int64_t expires_ms) CG_WUR;

/**
 * store_token_take(st, token_id, now_ms, wrapped, wrappedsize, wrappedlen):
 * fetch and delete an unexpired token (one use).  0, STORE_NOTFOUND or -1.
 * An expired token is deleted too, and reported as STORE_NOTFOUND.
 */
int store_token_take(struct store *st,
    const uint8_t token_id[static STORE_IDBYTES], int64_t now_ms,
    uint8_t *wrapped, size_t wrappedsize, size_t *wrappedlen) CG_WUR;

/* --- audit log: append-only, hash-chained, never key material --- */

/**
 * store_audit_append(st, ts_ms, actor, op, detail, result): append a record
 * whose hash = SHA-256(prev hash || canonical encoding of the record).  Call
 * it inside the transaction of the operation it records, so both commit or
 * neither does (outside one, it commits alone).  Strings are truncated to
 * their caps; NULL is "".  The hash (big-endian integers, u8/u16 lengths):
 *   SHA-256(prev || u64 seq || u64 ts_ms || u8 len || actor || u8 len ||
 *           op || u16 len || detail || i32 result),
 * prev = 32 zero bytes for seq 1.
 */
int store_audit_append(struct store *st, int64_t ts_ms, const char *actor,
    const char *op, const char *detail, int result) CG_WUR;

/**
 * store_audit_verify(st, count, bad_seq): walk the chain from the start;
 * return 0 with ${*count} records if every hash links and matches, -1 with
 * ${*bad_seq} = the first bad record (0 if the failure was an error).
 */
int store_audit_verify(
    struct store *st, uint64_t *count, int64_t *bad_seq) CG_WUR;

/** store_audit_foreach(st, since_seq, cb, arg): records with seq >= since_seq. */
int store_audit_foreach(struct store *st, int64_t since_seq,
    int (*cb)(const struct store_audit *, void *), void *arg) CG_WUR;

#endif /* !CRYPTGATE_STORE_H */
