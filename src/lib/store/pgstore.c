/*
 * pgstore.c: the PostgreSQL store: connecting, the schema and its
 * migrations, transactions and the helpers pgstore_row.c shares.
 *
 * Semantics follow the SQLite store (store.c): one connection per handle;
 * writers that need a serial order (explicit transactions, and so the
 * audit chain) take one transaction-scoped advisory lock, the
 * counterpart of SQLite's BEGIN IMMEDIATE, waiting at most the busy
 * timeout for it (lock_timeout).  Duplicates are found with ON CONFLICT
 * DO NOTHING, not by an error, so that they leave a transaction usable,
 * as SQLite does.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <libpq-fe.h>

#include "cryptgate/log.h"
#include "cryptgate/store.h"

#include "pgstore_int.h"
#include "store_be.h"

/* pg_advisory_xact_lock key of the writers: "cgst". */
#define PG_WRITE_LOCK "1667724148"

/*
 * The schema version lives in meta ('schema_version'), created before the
 * first migration, as in store.c; version 0 is an empty database.  Every
 * integer is a bigint (pgcol_int reads 8 bytes), and every string of the
 * store a bytea: stored and compared byte for byte as SQLite does, in any
 * database encoding (a text column would refuse bytes that are not valid
 * in it, e.g. a UTF-8 sequence cut by the audit caps).
 */
static const char pg_meta[] =
    "CREATE TABLE IF NOT EXISTS meta ("
    " name text PRIMARY KEY NOT NULL,"
    " value bigint NOT NULL);"
    "INSERT INTO meta (name, value) VALUES ('schema_version', 0)"
    " ON CONFLICT DO NOTHING;";

/* Version 1: store.c's first schema. */
static const char pg_v1[] =
    "CREATE TABLE IF NOT EXISTS hosts ("
    " host_id bytea PRIMARY KEY NOT NULL CHECK (length(host_id) = 16),"
    " name bytea UNIQUE NOT NULL,"
    " state bigint NOT NULL CHECK (state BETWEEN 1 AND 3),"
    " kvno bigint NOT NULL CHECK (kvno BETWEEN 1 AND 65535),"
    " created_ms bigint NOT NULL,"
    " addrs bytea NOT NULL);"
    "CREATE TABLE IF NOT EXISTS host_keys ("
    " host_id bytea NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,"
    " kvno bigint NOT NULL,"
    " type bigint NOT NULL,"
    " sign_pk bytea NOT NULL,"
    " seal_pk bytea NOT NULL,"
    " comment bytea NOT NULL,"
    " valid_until_ms bigint,"
    " PRIMARY KEY (host_id, kvno));"
    "CREATE TABLE IF NOT EXISTS policy ("
    " client_id bytea NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,"
    " peer_id bytea NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,"
    " service bytea NOT NULL,"
    " PRIMARY KEY (client_id, peer_id, service));"
    "CREATE INDEX IF NOT EXISTS policy_peer ON policy (peer_id);"
    "CREATE TABLE IF NOT EXISTS session_keys ("
    " key_id bytea PRIMARY KEY NOT NULL,"
    " client_id bytea NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,"
    " peer_id bytea NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,"
    " service bytea NOT NULL,"
    " client_addr bytea NOT NULL,"
    " not_before_ms bigint NOT NULL,"
    " not_after_ms bigint NOT NULL,"
    " revoked bigint NOT NULL DEFAULT 0,"
    " wrapped bytea NOT NULL);"
    "CREATE INDEX IF NOT EXISTS session_keys_expiry ON session_keys "
    "(not_after_ms);"
    "CREATE TABLE IF NOT EXISTS replay ("
    " sender bytea NOT NULL,"
    " nonce bytea NOT NULL,"
    " expires_ms bigint NOT NULL,"
    " PRIMARY KEY (sender, nonce));"
    "CREATE INDEX IF NOT EXISTS replay_expiry ON replay (expires_ms);"
    "CREATE TABLE IF NOT EXISTS tokens ("
    " token_id bytea PRIMARY KEY NOT NULL,"
    " wrapped bytea NOT NULL,"
    " expires_ms bigint NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit ("
    " seq bigint PRIMARY KEY,"
    " ts_ms bigint NOT NULL,"
    " actor bytea NOT NULL,"
    " op bytea NOT NULL,"
    " detail bytea NOT NULL,"
    " result bigint NOT NULL,"
    " prev bytea NOT NULL,"
    " hash bytea NOT NULL);"
    /* Append-only against mistakes; the hash chain catches the rest. */
    "CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE "
    "plpgsql"
    " AS $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;"
    "CREATE OR REPLACE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    " FOR EACH ROW EXECUTE FUNCTION audit_append_only();"
    "CREATE OR REPLACE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    " FOR EACH ROW EXECUTE FUNCTION audit_append_only();"
    "CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit"
    " FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();";

/* As store.c's store_migrations: pg_migrations[i] goes from i to i + 1. */
static const char *const pg_migrations[] = {
	pg_v1,
};
#define PG_SCHEMA_VERSION \
	((int64_t)(sizeof(pg_migrations) / sizeof(pg_migrations[0])))

void
pgp_blob(struct pgparams *p, const void *buf, size_t len)
{
	p->val[p->n] = buf;
	p->len[p->n] = (int)len;
	p->fmt[p->n] = 1;
	p->n++;
}

void
pgp_text(struct pgparams *p, const char *s)
{
	pgp_blob(p, s, strlen(s));
}

void
pgp_int(struct pgparams *p, int64_t v)
{
	snprintf(p->num[p->n], sizeof(p->num[p->n]), "%" PRId64, v);
	p->val[p->n] = p->num[p->n];
	p->len[p->n] = 0;
	p->fmt[p->n] = 0; /* text format: the server infers the type */
	p->n++;
}

int
pgstore_failx(struct pgstore *st, const char *what)
{
	log_ratelimited(&st->rl, LOG_WARNING, "store: %s", what);
	st->audit_head_valid = false;
	return (-1);
}

/* Log "store: ${what}: <message>" from ${r} or the connection. */
static int
pg_fail(struct pgstore *st, const char *what, const PGresult *r)
{
	const char *msg;
	size_t n;

	msg = r != NULL ? PQresultErrorMessage(r) : PQerrorMessage(st->conn);
	if (msg == NULL || *msg == '\0')
		msg = PQerrorMessage(st->conn);
	n = strcspn(msg, "\n");
	log_ratelimited(
	    &st->rl, LOG_WARNING, "store: %s: %.*s", what, (int)n, msg);
	st->audit_head_valid = false;
	return (-1);
}

static int set_session(struct pgstore *, int);

/*
 * Reconnect if the connection broke (a server restart, a killed backend)
 * and no transaction is open (one that is fails to its end: its caller
 * rolls back, then the next statement reconnects).  The statement that
 * found the connection broken failed; it is not retried (a write may have
 * committed before the break).  Return 0, or -1 (logged).
 */
static int
alive(struct pgstore *st)
{
	if (PQstatus(st->conn) == CONNECTION_OK || st->in_txn)
		return (0);
	PQreset(st->conn);
	st->nprepared = 0;
	st->audit_head_valid = false;
	if (PQstatus(st->conn) != CONNECTION_OK)
		return (pg_fail(st, "postgresql: reconnect", NULL));
	log_info("store: postgresql %s: reconnected", PQdb(st->conn));
	return (set_session(st, st->flags));
}

/*
 * The name of ${sql}'s prepared statement (into ${name}), preparing it on
 * first use.  Return 0, 1 if there is no room left (run it unprepared), or
 * -1 (logged).
 */
static int
prepare(struct pgstore *st, const char *sql, int nparams, char *name,
    size_t size, const char *what)
{
	PGresult *r;
	int i, ok;

	for (i = 0; i < st->nprepared; i++) {
		if (st->prepared[i] == sql)
			break;
	}
	snprintf(name, size, "cg%d", i);
	if (i < st->nprepared)
		return (0);
	if (i == PG_PREPARED_MAX)
		return (1);
	r = PQprepare(st->conn, name, sql, nparams, NULL);
	ok = r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok) {
		(void)pg_fail(st, what, r);
		PQclear(r);
		return (-1);
	}
	PQclear(r);
	st->prepared[st->nprepared++] = sql;
	return (0);
}

int
pgstore_query(struct pgstore *st, const char *sql, const struct pgparams *p,
    const char *what, PGresult **res)
{
	PGresult *r;
	ExecStatusType s;
	char name[16];
	int n = p != NULL ? p->n : 0, rc;

	if (alive(st))
		return (-1);
	if ((rc = prepare(st, sql, n, name, sizeof(name), what)) == -1)
		return (-1);
	if (rc == 0)
		r = PQexecPrepared(st->conn, name, n, p != NULL ? p->val : NULL,
		    p != NULL ? p->len : NULL, p != NULL ? p->fmt : NULL, 1);
	else
		r = PQexecParams(st->conn, sql, n, NULL,
		    p != NULL ? p->val : NULL, p != NULL ? p->len : NULL,
		    p != NULL ? p->fmt : NULL, 1);
	s = r != NULL ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
		(void)pg_fail(st, what, r);
		PQclear(r);
		return (-1);
	}
	if (res != NULL)
		*res = r;
	else
		PQclear(r);
	return (0);
}

int
pgstore_changes(struct pgstore *st, const char *sql, const struct pgparams *p,
    const char *what, uint64_t *n)
{
	PGresult *r;

	if (pgstore_query(st, sql, p, what, &r))
		return (-1);
	*n = strtoull(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	return (0);
}

/* Run the constant ${sql} (several statements allowed, no parameters). */
static int
pg_exec(struct pgstore *st, const char *sql, const char *what)
{
	PGresult *r;
	ExecStatusType s;

	if (alive(st))
		return (-1);
	r = PQexec(st->conn, sql);
	s = r != NULL ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
		(void)pg_fail(st, what, r);
		PQclear(r);
		return (-1);
	}
	PQclear(r);
	return (0);
}

int
pgcol_blob(
    const PGresult *r, int row, int col, uint8_t *buf, size_t size, size_t *len)
{
	int n;

	if (PQgetisnull(r, row, col))
		return (-1);
	n = PQgetlength(r, row, col);
	if (n < 0 || (size_t)n > size || (len == NULL && (size_t)n != size))
		return (-1);
	if (n > 0)
		memcpy(buf, PQgetvalue(r, row, col), (size_t)n);
	if (len != NULL)
		*len = (size_t)n;
	return (0);
}

int
pgcol_text(const PGresult *r, int row, int col, char *buf, size_t size)
{
	const char *p;
	int n;

	if (PQgetisnull(r, row, col))
		return (-1);
	p = PQgetvalue(r, row, col);
	n = PQgetlength(r, row, col);
	if (n < 0 || (size_t)n >= size || memchr(p, '\0', (size_t)n) != NULL)
		return (-1);
	memcpy(buf, p, (size_t)n);
	buf[n] = '\0';
	return (0);
}

int
pgcol_int(const PGresult *r, int row, int col, int64_t *v)
{
	const uint8_t *p;
	uint64_t u = 0;
	int i;

	if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8)
		return (-1);
	p = (const uint8_t *)PQgetvalue(r, row, col);
	for (i = 0; i < 8; i++)
		u = (u << 8) | p[i];
	*v = (int64_t)u;
	return (0);
}

/* BEGIN, then the writers' lock within the busy timeout. */
static int
begin_locked(struct pgstore *st)
{
	char sql[128];

	if (pg_exec(st, "BEGIN", "begin"))
		return (-1);
	/* lock_timeout 0 is "forever": 0 ms here is "fail at once". */
	snprintf(sql, sizeof(sql), "SET LOCAL lock_timeout = %d",
	    st->busy_ms > 0 ? st->busy_ms : 1);
	if (pg_exec(st, sql, "begin") ||
	    pg_exec(st, "SELECT pg_advisory_xact_lock(" PG_WRITE_LOCK ")",
	        "begin: the database is locked")) {
		(void)pg_exec(st, "ROLLBACK", "rollback");
		return (-1);
	}
	return (0);
}

int
pgstore_write_ok(struct pgstore *st)
{
	if (st->in_txn && PQtransactionStatus(st->conn) != PQTRANS_INTRANS)
		return (
		    pgstore_failx(st, "transaction rolled back by an error"));
	return (0);
}

int
pgstore_op_begin(struct pgstore *st, int *how)
{
	if (pgstore_write_ok(st))
		return (-1);
	if (st->in_txn) {
		*how = PG_OP_SAVEPOINT;
		return (pg_exec(st, "SAVEPOINT store_op", "savepoint"));
	}
	*how = PG_OP_TXN;
	return (begin_locked(st));
}

int
pgstore_op_end(struct pgstore *st, int how, bool ok)
{
	if (how == PG_OP_SAVEPOINT) {
		if (ok && pg_exec(st, "RELEASE store_op", "release") == 0)
			return (0);
		/* Undo, then drop the savepoint: the transaction goes on. */
		(void)pg_exec(st, "ROLLBACK TO store_op; RELEASE store_op",
		    "rollback to");
		return (ok ? -1 : 0);
	}
	if (ok && pg_exec(st, "COMMIT", "commit") == 0)
		return (0);
	if (PQtransactionStatus(st->conn) != PQTRANS_IDLE)
		(void)pg_exec(st, "ROLLBACK", "rollback");
	return (ok ? -1 : 0);
}

/* The single bigint of the constant query ${sql}; STORE_NOTFOUND if no row. */
static int
query_int(struct pgstore *st, const char *sql, int64_t *v, const char *what)
{
	PGresult *r;
	int ret = 0;

	if (pgstore_query(st, sql, NULL, what, &r))
		return (-1);
	if (PQntuples(r) == 0)
		ret = STORE_NOTFOUND;
	else if (pgcol_int(r, 0, 0, v))
		ret = pgstore_failx(st, "schema: not a number");
	PQclear(r);
	return (ret);
}

/*
 * As store.c's schema_version: ${*v} = the schema version, 0 if the
 * database (its current schema) has no table yet (STORE_CREATE only).
 */
static int
schema_version(struct pgstore *st, int flags, int64_t *v)
{
	const char *db = PQdb(st->conn);
	int64_t nmeta, ntables;
	int rc;

	if (query_int(st,
	        "SELECT count(*) FROM pg_catalog.pg_tables WHERE"
	        " schemaname = current_schema() AND tablename = 'meta'",
	        &nmeta, "schema") != 0 ||
	    query_int(st,
	        "SELECT count(*) FROM pg_catalog.pg_tables WHERE"
	        " schemaname = current_schema()",
	        &ntables, "schema") != 0)
		return (-1);
	if (nmeta == 0) {
		if (ntables != 0 || !(flags & STORE_CREATE)) {
			log_warnx("store: postgresql %s: not a cryptgate "
			          "database%s",
			    db, ntables == 0 ? " (not initialised)" : "");
			return (-1);
		}
		*v = 0;
		return (0);
	}
	rc = query_int(st,
	    "SELECT value FROM meta WHERE name = 'schema_version'", v,
	    "schema version");
	if (rc == -1)
		return (-1);
	if (rc == STORE_NOTFOUND) {
		log_warnx("store: postgresql %s: no schema version", db);
		return (-1);
	}
	if (*v < 0 || *v > PG_SCHEMA_VERSION) {
		log_warnx("store: postgresql %s: schema version %" PRId64
		          " is newer than this program's (%" PRId64
		          "): upgrade cryptgate",
		    db, *v, PG_SCHEMA_VERSION);
		return (-1);
	}
	if (*v == 0 && !(flags & STORE_CREATE)) {
		log_warnx("store: postgresql %s: not initialised", db);
		return (-1);
	}
	return (0);
}

/* As store.c's migrate, under the writers' lock. */
static int
migrate(struct pgstore *st, int flags)
{
	char sql[128];
	int64_t v, i;

	if (begin_locked(st))
		return (-1);
	if (schema_version(st, flags, &v) || pg_exec(st, pg_meta, "meta"))
		goto err;
	for (i = v; i < PG_SCHEMA_VERSION; i++) {
		if (pg_exec(st, pg_migrations[i], "migrate"))
			goto err;
		log_info("store: postgresql %s: schema version %" PRId64,
		    PQdb(st->conn), i + 1);
	}
	snprintf(sql, sizeof(sql),
	    "UPDATE meta SET value = %" PRId64 " WHERE name = 'schema_version'",
	    PG_SCHEMA_VERSION);
	if (pg_exec(st, sql, "schema version") ||
	    pg_exec(st, "COMMIT", "commit"))
		goto err;

	/* Success! */
	return (0);

err:
	if (PQtransactionStatus(st->conn) != PQTRANS_IDLE)
		(void)pg_exec(st, "ROLLBACK", "rollback");

	/* Failure! */
	return (-1);
}

/* Session settings. */
static int
set_session(struct pgstore *st, int flags)
{
	char sql[256];

	snprintf(sql, sizeof(sql),
	    "SET client_min_messages = warning; SET synchronous_commit = %s;"
	    " SET default_transaction_read_only = %s;"
	    " SET idle_in_transaction_session_timeout = 0",
	    (flags & STORE_DURABLE) ? "on" : "off",
	    (flags & STORE_READONLY) ? "on" : "off");
	return (pg_exec(st, sql, "session settings"));
}

struct pgstore *
pgstore_open(const char *conninfo, int flags)
{
	struct pgstore *st;
	int64_t v;

	if ((flags & STORE_CREATE) && (flags & STORE_READONLY)) {
		log_warnx("store: STORE_CREATE with STORE_READONLY");
		goto err0;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		log_warn("pgstore_open");
		goto err0;
	}
	st->flags = flags;
	st->busy_ms = STORE_BUSY_TIMEOUT_MS;
	if ((st->conn = PQconnectdb(conninfo)) == NULL) {
		log_warnx("store: postgresql: out of memory");
		goto err1;
	}
	if (PQstatus(st->conn) != CONNECTION_OK) {
		(void)pg_fail(st, "postgresql: connect", NULL);
		goto err1;
	}
	if (set_session(st, flags) || schema_version(st, flags, &v))
		goto err1;
	if (v < PG_SCHEMA_VERSION && (flags & STORE_READONLY)) {
		log_warnx("store: postgresql %s: schema version %" PRId64
		          ": open it read-write once to upgrade it to %" PRId64,
		    PQdb(st->conn), v, PG_SCHEMA_VERSION);
		goto err1;
	}
	if (v < PG_SCHEMA_VERSION && migrate(st, flags))
		goto err1;

	/* Success! */
	return (st);

err1:
	pgstore_close(st);
err0:
	/* Failure! */
	return (NULL);
}

void
pgstore_close(struct pgstore *st)
{
	if (st == NULL)
		return;
	if (st->in_txn)
		pgstore_rollback(st);
	if (st->conn != NULL)
		PQfinish(st->conn);
	free(st);
}

int
pgstore_busy_timeout(struct pgstore *st, int ms)
{
	if (ms < 0)
		return (pgstore_failx(st, "busy timeout: negative"));
	st->busy_ms = ms;
	return (0);
}

int
pgstore_checkpoint(struct pgstore *st)
{
	/* The server checkpoints on its own: nothing to copy here. */
	if (st->flags & STORE_READONLY)
		return (
		    pgstore_failx(st, "checkpoint: the database is read-only"));
	return (0);
}

int
pgstore_begin(struct pgstore *st)
{
	if (st->in_txn)
		return (pgstore_failx(st, "begin: a transaction is open"));
	if (st->flags & STORE_READONLY)
		return (pgstore_failx(st, "begin: the database is read-only"));
	if (begin_locked(st))
		return (-1);
	st->in_txn = true;
	st->audit_head_valid = false;
	return (0);
}

int
pgstore_commit(struct pgstore *st)
{
	int ret = 0;

	if (!st->in_txn)
		return (pgstore_failx(st, "commit: no transaction is open"));
	if (pgstore_write_ok(st) || pg_exec(st, "COMMIT", "commit"))
		ret = -1;
	/* A failed COMMIT (or one of an aborted transaction) rolls back. */
	if (PQtransactionStatus(st->conn) != PQTRANS_IDLE)
		(void)pg_exec(st, "ROLLBACK", "rollback");
	st->in_txn = false;
	st->audit_head_valid = false;
	return (ret);
}

void
pgstore_rollback(struct pgstore *st)
{
	if (!st->in_txn)
		return;
	if (PQtransactionStatus(st->conn) != PQTRANS_IDLE)
		(void)pg_exec(st, "ROLLBACK", "rollback");
	st->in_txn = false;
	st->audit_head_valid = false;
}

int
pgstore_integrity_check(struct pgstore *st)
{
	int64_t v;

	/*
	 * The server checks its own pages (data checksums, amcheck): here,
	 * that the connection works and the schema is the one we know.
	 */
	if (query_int(st,
	        "SELECT value FROM meta WHERE name = 'schema_version'", &v,
	        "integrity check") != 0)
		return (-1);
	if (v != PG_SCHEMA_VERSION) {
		log_warnx("store: integrity check: schema version %" PRId64, v);
		return (-1);
	}
	return (0);
}
