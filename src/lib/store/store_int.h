/*
 * store_int.h: what the files of src/lib/store/ share: the connection, its
 * prepared statements and the error and transaction helpers.  Private to
 * src/lib/store/ (the only code that includes <sqlite3.h>).
 */
#ifndef CRYPTGATE_STORE_INT_H
#define CRYPTGATE_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "cryptgate/log.h"
#include "cryptgate/store.h"

#include "store_be.h"

/* Every statement, prepared once at sqlstore_open (SQL in store.c). */
enum store_stmt {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_SAVEPOINT,
	S_RELEASE,
	S_ROLLBACK_TO,
	S_INTEGRITY,
	S_HOST_INSERT,
	S_HOSTKEY_INSERT,
	S_HOST_GET,
	S_HOST_GET_NAME,
	S_HOST_FOREACH,
	S_HOST_KEY,
	S_HOST_SET_STATE,
	S_HOST_KVNO,
	S_HOSTKEY_EXPIRE,
	S_HOST_SET_KVNO,
	S_HOST_DELETE,
	S_POLICY_INSERT,
	S_POLICY_DELETE,
	S_POLICY_CHECK,
	S_POLICY_FOREACH,
	S_KEY_INSERT,
	S_KEY_GET,
	S_KEY_REVOKE,
	S_KEY_REVOKE_HOST,
	S_KEY_PURGE,
	S_KEY_FOREACH,
	S_KEY_COUNT,
	S_REPLAY_INSERT,
	S_REPLAY_FOREACH,
	S_REPLAY_PURGE,
	S_TOKEN_INSERT,
	S_TOKEN_GET,
	S_TOKEN_DELETE,
	S_AUDIT_HEAD,
	S_AUDIT_INSERT,
	S_AUDIT_FOREACH,
	S_NSTMT
};

struct sqlstore {
	sqlite3 *db;
	sqlite3_stmt *stmt[S_NSTMT];
	int flags;
	bool in_txn; /* between sqlstore_begin and sqlstore_commit/rollback */

	/* Audit chain head, cached while a transaction holds the lock. */
	bool audit_head_valid;
	int64_t audit_seq;
	uint8_t audit_hash[STORE_HASHBYTES];

	struct log_ratelimit rl; /* error messages */
};

/* How store_op_begin protected a multi-statement operation. */
#define STORE_OP_TXN 1 /* its own BEGIN IMMEDIATE */
#define STORE_OP_SAVEPOINT 2 /* a savepoint inside the caller's one */

/**
 * store_fail(st, what): log "store: ${what}: <sqlite message>" (rate
 * limited), forget the cached audit head, and return -1.
 */
int store_fail(struct sqlstore *st, const char *what);

/**
 * store_failx(st, what): log "store: ${what}" (no sqlite message), as
 * store_fail.  Return -1.
 */
int store_failx(struct sqlstore *st, const char *what);

/** store_done(s): reset ${s} and clear its bindings, ready for reuse. */
void store_done(sqlite3_stmt *s);

/**
 * store_exec(st, id, what): step the statement ${id} (already bound) to
 * completion once and reset it.  Return 0, STORE_DUPLICATE if it broke a
 * primary key or unique constraint (not logged), or -1 (logged).
 */
int store_exec(struct sqlstore *st, enum store_stmt id, const char *what);

/**
 * store_write_ok(st): 0 if a write may proceed, -1 (logged) if an explicit
 * transaction is open but SQLite rolled it back after an error (the
 * caller's writes so far are lost: every later write fails until
 * sqlstore_commit or sqlstore_rollback).
 */
int store_write_ok(struct sqlstore *st);

/**
 * store_op_begin(st, how): make the following statements atomic: a
 * savepoint inside an open transaction, else BEGIN IMMEDIATE.  Return 0
 * with ${*how} set, or -1 (logged).
 */
int store_op_begin(struct sqlstore *st, int *how);

/**
 * store_op_end(st, how, ok): end what store_op_begin started, keeping the
 * changes if ${ok}, undoing them otherwise.  Return 0, or -1 (logged) if
 * keeping them failed (they are then undone).
 */
int store_op_end(struct sqlstore *st, int how, bool ok);

/**
 * store_col_blob(s, col, buf, size, len): copy the blob column ${col} of
 * the current row into ${buf} (${size} bytes); set ${*len} if ${len} is not
 * NULL, else require exactly ${size} bytes.  Return 0, or -1 (not logged)
 * if it does not fit or has the wrong length.
 */
int store_col_blob(
    sqlite3_stmt *s, int col, uint8_t *buf, size_t size, size_t *len);

/**
 * store_col_text(s, col, buf, size): copy the text column ${col} into
 * ${buf} (${size} bytes with the NUL).  Return 0, or -1 (not logged) if it
 * does not fit or holds a NUL byte.
 */
int store_col_text(sqlite3_stmt *s, int col, char *buf, size_t size);

#endif /* !CRYPTGATE_STORE_INT_H */
