/*
 * store.c: the SQLite store: opening (pragmas, schema, prepared
 * statements), transactions, the integrity check and the helpers the other
 * store_*.c files share.  Tables and rows: store_host.c (hosts, policy),
 * store_key.c (session keys, replay cache, tokens), store_audit.c (audit).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cryptgate/log.h"
#include "cryptgate/store.h"

#include "store_int.h"

/* Page cache per connection, KiB (negative cache_size = KiB). */
#define STORE_CACHE_KIB 8000

/*
 * The schema version lives in meta ('schema_version'), created before the
 * first migration.  Version 0 is an empty database.
 */
static const char store_meta[] =
    "CREATE TABLE IF NOT EXISTS meta ("
    " name TEXT PRIMARY KEY NOT NULL,"
    " value INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO meta (name, value) VALUES ('schema_version', 0);";

/* Version 1: the first schema. */
static const char store_v1[] =
    "CREATE TABLE IF NOT EXISTS hosts ("
    " host_id BLOB PRIMARY KEY NOT NULL CHECK (length(host_id) = 16),"
    " name TEXT UNIQUE NOT NULL,"
    " state INTEGER NOT NULL CHECK (state BETWEEN 1 AND 3),"
    " kvno INTEGER NOT NULL CHECK (kvno BETWEEN 1 AND 65535),"
    " created_ms INTEGER NOT NULL,"
    " addrs BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS host_keys ("
    " host_id BLOB NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,"
    " kvno INTEGER NOT NULL,"
    " type INTEGER NOT NULL,"
    " sign_pk BLOB NOT NULL,"
    " seal_pk BLOB NOT NULL,"
    " comment TEXT NOT NULL,"
    " valid_until_ms INTEGER," /* NULL: the current version */
    " PRIMARY KEY (host_id, kvno)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS policy ("
    " client_id BLOB NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,"
    " peer_id BLOB NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,"
    " service TEXT NOT NULL,"
    " PRIMARY KEY (client_id, peer_id, service)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS policy_peer ON policy (peer_id);"
    "CREATE TABLE IF NOT EXISTS session_keys ("
    " key_id BLOB PRIMARY KEY NOT NULL,"
    " client_id BLOB NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,"
    " peer_id BLOB NOT NULL REFERENCES hosts (host_id) ON DELETE CASCADE,"
    " service TEXT NOT NULL,"
    " client_addr BLOB NOT NULL,"
    " not_before_ms INTEGER NOT NULL,"
    " not_after_ms INTEGER NOT NULL,"
    " revoked INTEGER NOT NULL DEFAULT 0,"
    " wrapped BLOB NOT NULL) WITHOUT ROWID;"
    /*
     * No index on client_id or peer_id: with random key ids each index is
     * one more random leaf page per insert, and inserts (REQUEST) are the
     * hot path; host removal (cascade) and sqlstore_key_revoke_host scan the
     * table instead (about 10 ms per 100,000 keys).
     */
    "CREATE INDEX IF NOT EXISTS session_keys_expiry"
    " ON session_keys (not_after_ms);"
    "CREATE TABLE IF NOT EXISTS replay ("
    " sender BLOB NOT NULL,"
    " nonce BLOB NOT NULL,"
    " expires_ms INTEGER NOT NULL,"
    " PRIMARY KEY (sender, nonce)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS replay_expiry ON replay (expires_ms);"
    "CREATE TABLE IF NOT EXISTS tokens ("
    " token_id BLOB PRIMARY KEY NOT NULL,"
    " wrapped BLOB NOT NULL,"
    " expires_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS audit ("
    " seq INTEGER PRIMARY KEY,"
    " ts_ms INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " op TEXT NOT NULL,"
    " detail TEXT NOT NULL,"
    " result INTEGER NOT NULL,"
    " prev BLOB NOT NULL,"
    " hash BLOB NOT NULL);"
    /* Append-only against mistakes; the hash chain catches the rest. */
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;";

/*
 * The migrations, in order: store_migrations[i] takes the schema from
 * version i to version i + 1.  Append to change the schema (never edit
 * one that shipped); the last one's version is the one this code knows.
 * pgstore_schema.c keeps the same numbering for PostgreSQL.
 */
static const char *const store_migrations[] = {
	store_v1,
};
#define STORE_SCHEMA_VERSION \
	((int64_t)(sizeof(store_migrations) / sizeof(store_migrations[0])))

#define HOST_COLS \
	"SELECT h.host_id, h.name, h.state, h.kvno, h.created_ms, h.addrs," \
	" k.type, k.sign_pk, k.seal_pk, k.comment FROM hosts h" \
	" LEFT JOIN host_keys k ON k.host_id = h.host_id AND k.kvno = h.kvno"
#define KEY_COLS \
	"SELECT key_id, client_id, peer_id, service, client_addr," \
	" not_before_ms, not_after_ms, revoked, wrapped FROM session_keys"

static const char *const store_sql[S_NSTMT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SAVEPOINT] = "SAVEPOINT store_op",
	[S_RELEASE] = "RELEASE store_op",
	[S_ROLLBACK_TO] = "ROLLBACK TO store_op",
	[S_INTEGRITY] = "PRAGMA integrity_check",
	[S_HOST_INSERT] = "INSERT INTO hosts (host_id, name, state, kvno,"
	                  " created_ms, addrs) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[S_HOSTKEY_INSERT] = "INSERT INTO host_keys (host_id, kvno, type,"
	                     " sign_pk, seal_pk, comment, valid_until_ms)"
	                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)",
	[S_HOST_GET] = HOST_COLS " WHERE h.host_id = ?1",
	[S_HOST_GET_NAME] = HOST_COLS " WHERE h.name = ?1",
	[S_HOST_FOREACH] = HOST_COLS " ORDER BY h.name",
	[S_HOST_KEY] = "SELECT type, sign_pk, seal_pk, comment FROM host_keys"
	               " WHERE host_id = ?1 AND kvno = ?2 AND"
	               " (valid_until_ms IS NULL OR valid_until_ms > ?3)",
	[S_HOST_SET_STATE] = "UPDATE hosts SET state = ?2 WHERE host_id = ?1",
	[S_HOST_KVNO] = "SELECT kvno FROM hosts WHERE host_id = ?1",
	[S_HOSTKEY_EXPIRE] = "UPDATE host_keys SET valid_until_ms = ?3"
	                     " WHERE host_id = ?1 AND kvno = ?2",
	[S_HOST_SET_KVNO] = "UPDATE hosts SET kvno = ?2 WHERE host_id = ?1",
	[S_HOST_DELETE] = "DELETE FROM hosts WHERE host_id = ?1",
	[S_POLICY_INSERT] = "INSERT OR IGNORE INTO policy (client_id, peer_id,"
	                    " service) VALUES (?1, ?2, ?3)",
	[S_POLICY_DELETE] = "DELETE FROM policy WHERE client_id = ?1 AND"
	                    " peer_id = ?2 AND service = ?3",
	[S_POLICY_CHECK] = "SELECT 1 FROM policy WHERE client_id = ?1 AND"
	                   " peer_id = ?2 AND service IN (?3, '*') LIMIT 1",
	[S_POLICY_FOREACH] = "SELECT client_id, peer_id, service FROM policy"
	                     " ORDER BY client_id, peer_id, service",
	[S_KEY_INSERT] = "INSERT INTO session_keys (key_id, client_id,"
	                 " peer_id, service, client_addr, not_before_ms,"
	                 " not_after_ms, revoked, wrapped)"
	                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[S_KEY_GET] = KEY_COLS " WHERE key_id = ?1",
	[S_KEY_REVOKE] = "UPDATE session_keys SET revoked = 1"
	                 " WHERE key_id = ?1",
	[S_KEY_REVOKE_HOST] = "UPDATE session_keys SET revoked = 1"
	                      " WHERE (client_id = ?1 OR peer_id = ?1)"
	                      " AND revoked = 0",
	[S_KEY_PURGE] = "DELETE FROM session_keys WHERE not_after_ms < ?1",
	[S_KEY_FOREACH] = KEY_COLS " ORDER BY not_before_ms, key_id",
	[S_KEY_COUNT] = "SELECT count(*) FROM session_keys",
	[S_REPLAY_INSERT] = "INSERT INTO replay (sender, nonce, expires_ms)"
	                    " VALUES (?1, ?2, ?3)",
	[S_REPLAY_FOREACH] = "SELECT sender, nonce, expires_ms FROM replay"
	                     " WHERE expires_ms > ?1",
	[S_REPLAY_PURGE] = "DELETE FROM replay WHERE expires_ms <= ?1",
	[S_TOKEN_INSERT] = "INSERT INTO tokens (token_id, wrapped, expires_ms)"
	                   " VALUES (?1, ?2, ?3)",
	[S_TOKEN_GET] = "SELECT wrapped, expires_ms FROM tokens"
	                " WHERE token_id = ?1",
	[S_TOKEN_DELETE] = "DELETE FROM tokens WHERE token_id = ?1",
	[S_AUDIT_HEAD] = "SELECT seq, hash FROM audit ORDER BY seq DESC"
	                 " LIMIT 1",
	[S_AUDIT_INSERT] = "INSERT INTO audit (seq, ts_ms, actor, op, detail,"
	                   " result, prev, hash)"
	                   " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[S_AUDIT_FOREACH] = "SELECT seq, ts_ms, actor, op, detail, result,"
	                    " prev, hash FROM audit WHERE seq >= ?1"
	                    " ORDER BY seq",
};

static pthread_once_t store_once = PTHREAD_ONCE_INIT;
static int store_init_rc;

/* Process-wide SQLite setup, before the first connection. */
static void
store_global_init(void)
{
	/*
	 * Memory statistics take a global mutex on every allocation, which
	 * serialises the KDC's threads.  This fails harmlessly (SQLITE_MISUSE)
	 * if someone else initialised SQLite first.
	 */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	store_init_rc = sqlite3_initialize();
}

int
store_fail(struct sqlstore *st, const char *what)
{
	log_ratelimited(&st->rl, LOG_WARNING, "store: %s: %s", what,
	    sqlite3_errmsg(st->db));
	st->audit_head_valid = false;
	return (-1);
}

int
store_failx(struct sqlstore *st, const char *what)
{
	log_ratelimited(&st->rl, LOG_WARNING, "store: %s", what);
	st->audit_head_valid = false;
	return (-1);
}

void
store_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

int
store_exec(struct sqlstore *st, enum store_stmt id, const char *what)
{
	sqlite3_stmt *s = st->stmt[id];
	int rc, ret;

	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		ret = 0;
	else if (rc == SQLITE_CONSTRAINT_PRIMARYKEY ||
	    rc == SQLITE_CONSTRAINT_UNIQUE)
		ret = STORE_DUPLICATE;
	else
		ret = store_fail(st, what);
	store_done(s);
	return (ret);
}

int
store_write_ok(struct sqlstore *st)
{
	if (st->in_txn && sqlite3_get_autocommit(st->db))
		return (store_failx(st, "transaction rolled back by an error"));
	return (0);
}

int
store_op_begin(struct sqlstore *st, int *how)
{
	if (store_write_ok(st))
		return (-1);
	if (st->in_txn) {
		*how = STORE_OP_SAVEPOINT;
		return (store_exec(st, S_SAVEPOINT, "savepoint") ? -1 : 0);
	}
	*how = STORE_OP_TXN;
	return (store_exec(st, S_BEGIN, "begin") ? -1 : 0);
}

int
store_op_end(struct sqlstore *st, int how, bool ok)
{
	if (how == STORE_OP_SAVEPOINT) {
		if (ok && store_exec(st, S_RELEASE, "release") == 0)
			return (0);
		/* Undo, then drop the savepoint: the transaction goes on. */
		if (!sqlite3_get_autocommit(st->db)) {
			(void)store_exec(st, S_ROLLBACK_TO, "rollback to");
			(void)store_exec(st, S_RELEASE, "release");
		}
		return (ok ? -1 : 0);
	}
	if (ok && store_exec(st, S_COMMIT, "commit") == 0)
		return (0);
	if (!sqlite3_get_autocommit(st->db))
		(void)store_exec(st, S_ROLLBACK, "rollback");
	return (ok ? -1 : 0);
}

int
store_col_blob(sqlite3_stmt *s, int col, uint8_t *buf, size_t size, size_t *len)
{
	const void *p;
	int n;

	p = sqlite3_column_blob(s, col);
	n = sqlite3_column_bytes(s, col);
	if (n < 0 || (size_t)n > size || (len == NULL && (size_t)n != size))
		return (-1);
	if (n > 0)
		memcpy(buf, p, (size_t)n);
	if (len != NULL)
		*len = (size_t)n;
	return (0);
}

int
store_col_text(sqlite3_stmt *s, int col, char *buf, size_t size)
{
	const unsigned char *p;
	int n;

	p = sqlite3_column_text(s, col);
	n = sqlite3_column_bytes(s, col);
	if (p == NULL || n < 0 || (size_t)n >= size ||
	    memchr(p, '\0', (size_t)n) != NULL)
		return (-1);
	memcpy(buf, p, (size_t)n);
	buf[n] = '\0';
	return (0);
}

/* Create ${path} with mode 0600 if it does not exist. */
static int
create_file(const char *path)
{
	int fd;

	fd = open(
	    path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd == -1) {
		if (errno == EEXIST)
			return (0);
		log_warn("%s", path);
		return (-1);
	}
	if (close(fd)) {
		log_warn("%s", path);
		return (-1);
	}
	return (0);
}

/* Run the constant SQL ${sql} (no user data in it). */
static int
exec_sql(struct sqlstore *st, const char *sql, const char *what)
{
	if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return (store_fail(st, what));
	return (0);
}

/*
 * Run the constant single-row query ${sql} and put its integer result in
 * ${*v}.  Return 0, STORE_NOTFOUND if there is no row, or -1 (logged).
 */
static int
query_int(struct sqlstore *st, const char *sql, int64_t *v, const char *what)
{
	sqlite3_stmt *s;
	int rc, ret;

	if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
		return (store_fail(st, what));
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int64(s, 0);
		ret = 0;
	} else if (rc == SQLITE_DONE)
		ret = STORE_NOTFOUND;
	else
		ret = store_fail(st, what);
	sqlite3_finalize(s);
	return (ret);
}

/* Connection settings. */
static int
set_pragmas(struct sqlstore *st, int flags)
{
	char sql[256];

	if (sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL) !=
	        SQLITE_OK ||
	    sqlite3_db_config(
	        st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL) != SQLITE_OK)
		return (store_fail(st, "sqlite3_db_config"));
	if (sqlite3_extended_result_codes(st->db, 1) != SQLITE_OK ||
	    sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS) != SQLITE_OK)
		return (store_fail(st, "busy timeout"));
	snprintf(sql, sizeof(sql),
	    "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;"
	    " PRAGMA cache_size = -%d; PRAGMA mmap_size = 0;"
	    " PRAGMA temp_store = MEMORY; PRAGMA synchronous = %s;",
	    STORE_CACHE_KIB, (flags & STORE_DURABLE) ? "FULL" : "NORMAL");
	if (exec_sql(st, sql, "pragmas"))
		return (-1);
	if ((flags & STORE_NOCHECKPOINT) &&
	    exec_sql(st, "PRAGMA wal_autocheckpoint = 0", "wal_autocheckpoint"))
		return (-1);
	return (0);
}

/* Switch to WAL mode (persistent: a no-op once the database is in it). */
static int
set_wal(struct sqlstore *st)
{
	sqlite3_stmt *s;
	const char *mode;

	if (sqlite3_prepare_v2(
	        st->db, "PRAGMA journal_mode = WAL", -1, &s, NULL) != SQLITE_OK)
		return (store_fail(st, "journal_mode"));
	if (sqlite3_step(s) != SQLITE_ROW) {
		(void)store_fail(st, "journal_mode");
		goto err0;
	}
	mode = (const char *)sqlite3_column_text(s, 0);
	if (mode == NULL || strcmp(mode, "wal") != 0) {
		log_warnx("store: %s: cannot set journal_mode = WAL",
		    sqlite3_db_filename(st->db, "main"));
		goto err0;
	}
	sqlite3_finalize(s);

	/* Success! */
	return (0);

err0:
	sqlite3_finalize(s);

	/* Failure! */
	return (-1);
}

/*
 * Put in ${*v} the schema version of the database: 0 if it is empty (with
 * STORE_CREATE only: else it is refused).  Refuse a database that is not
 * ours or newer than this code.  Nothing is written.
 */
static int
schema_version(struct sqlstore *st, int flags, int64_t *v)
{
	const char *path = sqlite3_db_filename(st->db, "main");
	int64_t nmeta, ntables;
	int rc;

	if (query_int(st,
	        "SELECT count(*) FROM sqlite_master"
	        " WHERE type = 'table' AND name = 'meta'",
	        &nmeta, "schema") != 0 ||
	    query_int(st, "SELECT count(*) FROM sqlite_master", &ntables,
	        "schema") != 0)
		return (-1);
	if (nmeta == 0) {
		/* Only an empty database may be initialised. */
		if (ntables != 0 || !(flags & STORE_CREATE)) {
			log_warnx("store: %s: not a cryptgate database%s", path,
			    ntables == 0 ? " (not initialised)" : "");
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
		log_warnx("store: %s: no schema version", path);
		return (-1);
	}
	if (*v < 0 || *v > STORE_SCHEMA_VERSION) {
		log_warnx("store: %s: schema version %" PRId64
		          " is newer than this program's (%" PRId64
		          "): upgrade cryptgate",
		    path, *v, STORE_SCHEMA_VERSION);
		return (-1);
	}
	if (*v == 0 && !(flags & STORE_CREATE)) {
		log_warnx("store: %s: not initialised", path);
		return (-1);
	}
	return (0);
}

/*
 * Bring the schema from its version to STORE_SCHEMA_VERSION in one
 * transaction: every migration applies, or none.  The version is read
 * again under the write lock, since another process may have migrated in
 * between.
 */
static int
migrate(struct sqlstore *st, int flags)
{
	char sql[128];
	int64_t v, i;

	if (exec_sql(st, "BEGIN IMMEDIATE", "begin"))
		return (-1);
	if (schema_version(st, flags, &v) || exec_sql(st, store_meta, "meta"))
		goto err;
	for (i = v; i < STORE_SCHEMA_VERSION; i++) {
		if (exec_sql(st, store_migrations[i], "migrate"))
			goto err;
		log_info("store: %s: schema version %" PRId64,
		    sqlite3_db_filename(st->db, "main"), i + 1);
	}
	snprintf(sql, sizeof(sql),
	    "UPDATE meta SET value = %" PRId64 " WHERE name = 'schema_version'",
	    STORE_SCHEMA_VERSION);
	if (exec_sql(st, sql, "schema version") ||
	    exec_sql(st, "COMMIT", "commit"))
		goto err;

	/* Success! */
	return (0);

err:
	if (!sqlite3_get_autocommit(st->db))
		(void)sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);

	/* Failure! */
	return (-1);
}

struct sqlstore *
sqlstore_open(const char *path, int flags)
{
	struct sqlstore *st;
	int64_t v;
	int oflags, i;

	if (pthread_once(&store_once, store_global_init) != 0 ||
	    store_init_rc != SQLITE_OK) {
		log_warnx("store: cannot initialise SQLite");
		goto err0;
	}
	if ((flags & STORE_CREATE) && (flags & STORE_READONLY)) {
		log_warnx("store: STORE_CREATE with STORE_READONLY");
		goto err0;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		log_warn("sqlstore_open");
		goto err0;
	}
	st->flags = flags;
	if ((flags & STORE_CREATE) && create_file(path))
		goto err1;

	oflags = SQLITE_OPEN_NOMUTEX |
	    ((flags & STORE_READONLY) ? SQLITE_OPEN_READONLY
	                              : SQLITE_OPEN_READWRITE);
	if (sqlite3_open_v2(path, &st->db, oflags, NULL) != SQLITE_OK) {
		if (st->db == NULL)
			log_warnx("store: %s: out of memory", path);
		else
			log_warnx(
			    "store: %s: %s", path, sqlite3_errmsg(st->db));
		goto err1;
	}
	if (set_pragmas(st, flags) || schema_version(st, flags, &v))
		goto err1;
	if (v < STORE_SCHEMA_VERSION && (flags & STORE_READONLY)) {
		log_warnx("store: %s: schema version %" PRId64
		          ": open it read-write once to upgrade it to %" PRId64,
		    path, v, STORE_SCHEMA_VERSION);
		goto err1;
	}
	if (!(flags & STORE_READONLY) && set_wal(st))
		goto err1;
	if (v < STORE_SCHEMA_VERSION && migrate(st, flags))
		goto err1;
	for (i = 0; i < S_NSTMT; i++) {
		if (sqlite3_prepare_v3(st->db, store_sql[i], -1,
		        SQLITE_PREPARE_PERSISTENT, &st->stmt[i],
		        NULL) != SQLITE_OK) {
			(void)store_fail(st, store_sql[i]);
			goto err1;
		}
	}

	/* Success! */
	return (st);

err1:
	sqlstore_close(st);
err0:
	/* Failure! */
	return (NULL);
}

void
sqlstore_close(struct sqlstore *st)
{
	int i;

	if (st == NULL)
		return;
	if (st->in_txn)
		sqlstore_rollback(st);
	for (i = 0; i < S_NSTMT; i++)
		sqlite3_finalize(st->stmt[i]);
	if (st->db != NULL && sqlite3_close(st->db) != SQLITE_OK)
		log_warnx("store: close: %s", sqlite3_errmsg(st->db));
	free(st);
}

int
sqlstore_busy_timeout(struct sqlstore *st, int ms)
{
	if (sqlite3_busy_timeout(st->db, ms) != SQLITE_OK)
		return (store_fail(st, "busy timeout"));
	return (0);
}

int
sqlstore_checkpoint(struct sqlstore *st)
{
	int rc;

	if (st->flags & STORE_READONLY)
		return (
		    store_failx(st, "checkpoint: the database is read-only"));
	rc = sqlite3_wal_checkpoint_v2(
	    st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		return (store_fail(st, "checkpoint"));
	return (0);
}

int
sqlstore_begin(struct sqlstore *st)
{
	if (st->in_txn)
		return (store_failx(st, "begin: a transaction is open"));
	if (st->flags & STORE_READONLY)
		return (store_failx(st, "begin: the database is read-only"));
	if (store_exec(st, S_BEGIN, "begin"))
		return (-1);
	st->in_txn = true;
	st->audit_head_valid = false;
	return (0);
}

int
sqlstore_commit(struct sqlstore *st)
{
	int ret = 0;

	if (!st->in_txn)
		return (store_failx(st, "commit: no transaction is open"));
	if (store_write_ok(st) || store_exec(st, S_COMMIT, "commit")) {
		ret = -1;
		if (!sqlite3_get_autocommit(st->db))
			(void)store_exec(st, S_ROLLBACK, "rollback");
	}
	st->in_txn = false;
	st->audit_head_valid = false;
	return (ret);
}

void
sqlstore_rollback(struct sqlstore *st)
{
	if (!st->in_txn)
		return;
	if (!sqlite3_get_autocommit(st->db))
		(void)store_exec(st, S_ROLLBACK, "rollback");
	st->in_txn = false;
	st->audit_head_valid = false;
}

int
sqlstore_integrity_check(struct sqlstore *st)
{
	sqlite3_stmt *s = st->stmt[S_INTEGRITY];
	const unsigned char *msg;
	int rc, ret = -1;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		msg = sqlite3_column_text(s, 0);
		if (msg != NULL && strcmp((const char *)msg, "ok") == 0) {
			ret = 0;
			continue;
		}
		log_warnx("store: integrity check: %s",
		    msg != NULL ? (const char *)msg : "(null)");
		ret = -1;
		break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = store_fail(st, "integrity check");
	store_done(s);
	return (ret);
}
