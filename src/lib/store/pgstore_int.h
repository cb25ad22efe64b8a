/*
 * pgstore_int.h: what the files of the PostgreSQL store share (pgstore.c:
 * connection, schema, transactions, helpers; pgstore_row.c: the rows).
 * Private to src/lib/store/; pgstore*.c are the only code that includes
 * <libpq-fe.h>.
 */
#ifndef CRYPTGATE_PGSTORE_INT_H
#define CRYPTGATE_PGSTORE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "cryptgate/log.h"
#include "cryptgate/store.h"

#include "store_be.h"

#define PG_NPARAMS_MAX 10
#define PG_PREPARED_MAX 64 /* more distinct queries run unprepared */

/* How pgstore_op_begin protected a multi-statement operation. */
#define PG_OP_TXN 1 /* its own transaction, with the write lock */
#define PG_OP_SAVEPOINT 2 /* a savepoint inside the caller's one */

struct pgstore {
	PGconn *conn;
	int flags;
	int busy_ms; /* lock_timeout of the write lock */
	bool in_txn; /* between pgstore_begin and pgstore_commit/rollback */

	/* Audit chain head, cached while a transaction holds the lock. */
	bool audit_head_valid;
	int64_t audit_seq;
	uint8_t audit_hash[STORE_HASHBYTES];

	/* The queries prepared on this connection, by their SQL's address
	 * (pgstore_query's ${sql} are literals): statement "cgN" is
	 * prepared[N]. */
	const char *prepared[PG_PREPARED_MAX];
	int nprepared;

	struct log_ratelimit rl; /* error messages */
};

/* The parameters of one query: bytes (bytea) binary, integers as text. */
struct pgparams {
	int n;
	const char *val[PG_NPARAMS_MAX];
	int len[PG_NPARAMS_MAX];
	int fmt[PG_NPARAMS_MAX];
	char num[PG_NPARAMS_MAX][24];
};

/*
 * pgp_blob, pgp_text, pgp_int: append a parameter to ${p}: ${len} bytes
 * at ${buf}, the bytes of the string ${s} (a bytea too), an integer.  The
 * bytes must outlive the query.
 */
void pgp_blob(struct pgparams *p, const void *buf, size_t len);
void pgp_text(struct pgparams *p, const char *s);
void pgp_int(struct pgparams *p, int64_t v);

/**
 * pgstore_failx(st, what): log "store: ${what}" (rate limited), forget the
 * cached audit head.  Return -1.
 */
int pgstore_failx(struct pgstore *st, const char *what);

/**
 * pgstore_query(st, sql, p, what, res): run ${sql} with ${p} (NULL: none),
 * binary results; ${sql} is a string constant, prepared on this connection
 * the first time it runs.  Return 0 with ${*res} (if ${res} is not NULL:
 * PQclear it) or -1 (logged with the server's message).
 */
int pgstore_query(struct pgstore *st, const char *sql, const struct pgparams *p,
    const char *what, PGresult **res);

/**
 * pgstore_changes(st, sql, p, what, n): run the write ${sql}; ${*n} = the
 * rows it changed.  Return 0 or -1 (logged).
 */
int pgstore_changes(struct pgstore *st, const char *sql,
    const struct pgparams *p, const char *what, uint64_t *n);

/**
 * pgstore_write_ok(st): 0 if a write may proceed, -1 (logged) if the open
 * transaction failed (PostgreSQL refuses every later statement in it).
 */
int pgstore_write_ok(struct pgstore *st);

/* pgstore_op_begin, pgstore_op_end: as store_op_begin/end (store_int.h),
 * with PG_OP_*. */
int pgstore_op_begin(struct pgstore *st, int *how);
int pgstore_op_end(struct pgstore *st, int how, bool ok);

/*
 * Column readers of a binary result, row ${row}: as store_col_blob and
 * store_col_text; pgcol_int reads a bigint (-1 if NULL or not 8 bytes).
 */
int pgcol_blob(const PGresult *r, int row, int col, uint8_t *buf, size_t size,
    size_t *len);
int pgcol_text(const PGresult *r, int row, int col, char *buf, size_t size);
int pgcol_int(const PGresult *r, int row, int col, int64_t *v);

#endif /* !CRYPTGATE_PGSTORE_INT_H */
