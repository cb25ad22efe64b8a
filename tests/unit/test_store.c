/*
 * test_store.c: the store on both backends (store_fixture.h: SQLite files
 * in a temporary directory, then a throwaway PostgreSQL cluster): opening,
 * the backend spec and the schema version, migrations, hosts (add, get,
 * duplicates, rotation and its overlap window, removal cascading to
 * everything), policy with '*', session keys, secure deletion (SQLite),
 * the replay cache and one-time tokens.  Transactions, the audit log,
 * read-only handles, two writers and timings are in test_store_txn.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cryptgate/hostkey.h"
#include "cryptgate/hostpub.h"
#include "cryptgate/log.h"
#include "cryptgate/rand.h"
#include "cryptgate/store.h"

#include "store_fixture.h"

/* The output of a one-line query (sqlite3 or psql), into ${buf}. */
static void
sqlout(const char *path, const char *sql, char *buf, size_t size)
{
	char cmd[1024];

	sqlcmd(cmd, sizeof(cmd) - 32, path, sql);
	snprintf(cmd + strlen(cmd), 32, " 2>/dev/null");
	(void)cmdline(cmd, buf, size);
}

static void
assert_host_equal(const struct store_host *a, const struct store_host *b)
{
	assert_memory_equal(a->host_id, b->host_id, STORE_IDBYTES);
	assert_string_equal(a->name, b->name);
	assert_int_equal(a->state, b->state);
	assert_int_equal(a->kvno, b->kvno);
	assert_int_equal(a->created_ms, b->created_ms);
	assert_int_equal(a->naddrs, b->naddrs);
	assert_memory_equal(a->addrs, b->addrs, a->naddrs * STORE_ADDRBYTES);
	assert_true(hostpub_equal(&a->pub, &b->pub));
	assert_string_equal(a->pub.comment, b->pub.comment);
}

static void
test_open(void **state)
{
	struct store *st;
	const char *p;
	char path[300], out[64];
	struct stat sb;

	(void)state;
	/* Not created without STORE_CREATE. */
	p = newdb();
	assert_null(store_open(p, 0));
	assert_null(store_open(p, STORE_READONLY));
	assert_int_equal(access(p, F_OK), -1);
	assert_null(store_open(p, STORE_CREATE | STORE_READONLY));

	/* Created 0600, WAL, schema version 1; reopened without CREATE. */
	umask(022);
	assert_non_null(st = store_open(p, STORE_CREATE | STORE_DURABLE));
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s-wal", p);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s-shm", p);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(store_integrity_check(st), 0);
	store_close(st);
	sqlout(p, "PRAGMA journal_mode", out, sizeof(out));
	assert_string_equal(out, "wal");
	sqlout(p, "SELECT value FROM meta WHERE name = 'schema_version'", out,
	    sizeof(out));
	assert_string_equal(out, "1");
	assert_non_null(st = store_open(p, 0));
	store_close(st);
	assert_non_null(st = store_open(p, STORE_CREATE));
	store_close(st);
	assert_non_null(st = store_open(p, STORE_READONLY));
	assert_int_equal(store_integrity_check(st), 0);
	store_close(st);
	store_close(NULL);
	/* "sqlite:PATH" is the same database. */
	snprintf(path, sizeof(path), "sqlite:%s", p);
	assert_non_null(st = store_open(path, STORE_READONLY));
	store_close(st);
	assert_null(store_open("sqlite:", STORE_CREATE));
	assert_null(store_open(PG_PREFIX, STORE_CREATE));
	assert_null(store_open("", STORE_CREATE));

	/* An unknown schema version is refused, with or without CREATE. */
	assert_int_equal(sqlcli(p,
	                     "UPDATE meta SET value = 2 WHERE name = "
	                     "'schema_version'"),
	    0);
	assert_null(store_open(p, 0));
	assert_null(store_open(p, STORE_CREATE));
	assert_null(store_open(p, STORE_READONLY));

	/* Another SQLite database is not ours. */
	snprintf(path, sizeof(path), "%s/other.db", tmpdir);
	assert_int_equal(sqlcli(path, "CREATE TABLE t (x)"), 0);
	assert_null(store_open(path, STORE_CREATE));
	assert_null(store_open(path, 0));
	/* ... and was left alone (not even switched to WAL). */
	sqlout(path, "PRAGMA journal_mode", out, sizeof(out));
	assert_string_equal(out, "delete");
	sqlout(path, "SELECT count(*) FROM sqlite_master", out, sizeof(out));
	assert_string_equal(out, "1");

	/* An empty file is initialised with CREATE only. */
	snprintf(path, sizeof(path), "%s/empty.db", tmpdir);
	assert_int_equal(sqlcli(path, "VACUUM"), 0);
	assert_null(store_open(path, 0));
	assert_non_null(st = store_open(path, STORE_CREATE));
	store_close(st);

	/* Not a database at all. */
	snprintf(path, sizeof(path), "%s/garbage.db", tmpdir);
	{
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		fputs("this is not an SQLite database, not at all, no", f);
		fclose(f);
	}
	assert_null(store_open(path, 0));
}

/* Opening a PostgreSQL database: what test_open does for SQLite files. */
static void
test_open_pg(void **state)
{
	struct store *st;
	const char *p;
	char spec[600], out[64];

	(void)state;
	/* An empty database is initialised with CREATE only. */
	p = newdb();
	assert_null(store_open(p, 0));
	assert_null(store_open(p, STORE_READONLY));
	assert_null(store_open(p, STORE_CREATE | STORE_READONLY));
	assert_non_null(st = store_open(p, STORE_CREATE | STORE_DURABLE));
	assert_int_equal(store_integrity_check(st), 0);
	assert_int_equal(store_checkpoint(st), 0);
	store_close(st);
	sqlout(p, "SELECT value FROM meta WHERE name = 'schema_version'", out,
	    sizeof(out));
	assert_string_equal(out, "1");
	assert_non_null(st = store_open(p, 0));
	store_close(st);
	assert_non_null(st = store_open(p, STORE_CREATE));
	store_close(st);
	assert_non_null(st = store_open(p, STORE_READONLY));
	assert_int_equal(store_integrity_check(st), 0);
	assert_int_equal(store_checkpoint(st), -1);
	store_close(st);

	/* An unknown schema version is refused, with or without CREATE. */
	assert_int_equal(sqlcli(p,
	                     "UPDATE meta SET value = 2 WHERE name = "
	                     "'schema_version'"),
	    0);
	assert_null(store_open(p, 0));
	assert_null(store_open(p, STORE_CREATE));
	assert_null(store_open(p, STORE_READONLY));

	/* Another database is not ours, and is left alone. */
	p = newdb();
	assert_int_equal(sqlcli(p, "CREATE TABLE t (x bigint)"), 0);
	assert_null(store_open(p, STORE_CREATE));
	assert_null(store_open(p, 0));
	sqlout(p, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
	    out, sizeof(out));
	assert_string_equal(out, "1");

	/* No such database, no such server, not a conninfo. */
	snprintf(spec, sizeof(spec), "%s%s dbname=nosuchdb", PG_PREFIX, pgconn);
	assert_null(store_open(spec, STORE_CREATE));
	snprintf(spec, sizeof(spec),
	    "%shost=%s/nodir dbname=x connect_timeout=2", PG_PREFIX, tmpdir);
	assert_null(store_open(spec, STORE_CREATE));
	assert_null(store_open(PG_PREFIX "this is not a conninfo", 0));
}

/*
 * Migrations: an older database (here version 0: meta alone) is brought
 * to the current version in one transaction, a failed migration leaves it
 * as it was, and a newer one is refused and left alone.
 */
static void
test_migrate(void **state)
{
	struct store *st;
	struct store_host a, got;
	const char *p;
	char out[64];

	(void)state;
	p = newdb();
	assert_int_equal(sqlcli(p,
	                     "CREATE TABLE meta (name TEXT PRIMARY KEY NOT "
	                     "NULL, value BIGINT NOT NULL);"
	                     " INSERT INTO meta VALUES ('schema_version', 0);"
	                     " CREATE TABLE replay (x BIGINT)"),
	    0);
	/* Version 0 is "not initialised": CREATE only, never read-only. */
	assert_null(store_open(p, 0));
	assert_null(store_open(p, STORE_READONLY));

	/* The stray replay table breaks migration 1 (its index): nothing is
	 * left of it, not even the tables created before. */
	assert_null(store_open(p, STORE_CREATE));
	sqlout(p, "SELECT value FROM meta WHERE name = 'schema_version'", out,
	    sizeof(out));
	assert_string_equal(out, "0");
	assert_int_not_equal(sqlcli(p, "SELECT count(*) FROM hosts"), 0);

	/* Without it the migration applies, and the store works. */
	assert_int_equal(sqlcli(p, "DROP TABLE replay"), 0);
	assert_non_null(st = store_open(p, STORE_CREATE));
	addhost(st, &a, "a");
	assert_int_equal(store_audit_append(st, 1, "admin", "x", "", 0), 0);
	store_close(st);
	sqlout(p, "SELECT value FROM meta WHERE name = 'schema_version'", out,
	    sizeof(out));
	assert_string_equal(out, "1");

	/* A newer database is refused, and not touched. */
	assert_int_equal(sqlcli(p,
	                     "UPDATE meta SET value = 1000 WHERE name = "
	                     "'schema_version'"),
	    0);
	assert_null(store_open(p, 0));
	assert_null(store_open(p, STORE_CREATE));
	assert_null(store_open(p, STORE_READONLY));
	sqlout(p, "SELECT value FROM meta WHERE name = 'schema_version'", out,
	    sizeof(out));
	assert_string_equal(out, "1000");
	assert_int_equal(sqlcli(p,
	                     "UPDATE meta SET value = 1 WHERE name = "
	                     "'schema_version'"),
	    0);
	assert_non_null(st = store_open(p, STORE_READONLY));
	assert_int_equal(store_host_get(st, a.host_id, &got), 0);
	store_close(st);
}

static void
test_hosts(void **state)
{
	struct store *st = freshdb();
	struct store_host a, b, c, got;
	uint8_t unknown[STORE_IDBYTES];

	(void)state;
	mkhost(&a, "alpha", STORE_HOST_PENDING);
	mkhost(&b, "bravo.example.org", STORE_HOST_ACTIVE);
	b.naddrs = 0;
	b.pub.comment[0] = '\0';
	assert_int_equal(store_host_add(st, &a), 0);
	assert_int_equal(store_host_add(st, &b), 0);

	assert_int_equal(store_host_get(st, a.host_id, &got), 0);
	assert_host_equal(&got, &a);
	assert_memory_equal(got.pub.host_id, a.host_id, STORE_IDBYTES);
	assert_int_equal(
	    store_host_get_by_name(st, "bravo.example.org", &got), 0);
	assert_host_equal(&got, &b);
	assert_int_equal(
	    store_host_get_by_name(st, "Alpha", &got), STORE_NOTFOUND);
	memset(unknown, 0x42, sizeof(unknown));
	assert_int_equal(store_host_get(st, unknown, &got), STORE_NOTFOUND);

	/* Duplicates: same id, same name. */
	c = a;
	strcpy(c.name, "charlie");
	assert_int_equal(store_host_add(st, &c), STORE_DUPLICATE);
	mkhost(&c, "alpha", STORE_HOST_ACTIVE);
	assert_int_equal(store_host_add(st, &c), STORE_DUPLICATE);
	/* Nothing of the refused host was kept. */
	assert_int_equal(store_host_get(st, c.host_id, &got), STORE_NOTFOUND);

	/* Invalid hosts. */
	strcpy(c.name, "charlie");
	c.host_id[0] ^= 1; /* does not match its keys */
	assert_int_equal(store_host_add(st, &c), -1);
	c.host_id[0] ^= 1;
	strcpy(c.name, "bad\nname");
	assert_int_equal(store_host_add(st, &c), -1);
	c.name[0] = '\0';
	assert_int_equal(store_host_add(st, &c), -1);
	strcpy(c.name, "charlie");
	c.state = 9;
	assert_int_equal(store_host_add(st, &c), -1);
	c.state = STORE_HOST_REVOKED;
	c.naddrs = STORE_HOSTADDRS_MAX + 1;
	assert_int_equal(store_host_add(st, &c), -1);
	c.naddrs = STORE_HOSTADDRS_MAX;
	assert_int_equal(store_host_add(st, &c), 0);
	assert_int_equal(store_host_get(st, c.host_id, &got), 0);
	assert_host_equal(&got, &c);

	/* State changes. */
	assert_int_equal(
	    store_host_set_state(st, a.host_id, STORE_HOST_ACTIVE), 0);
	assert_int_equal(store_host_get(st, a.host_id, &got), 0);
	assert_int_equal(got.state, STORE_HOST_ACTIVE);
	assert_int_equal(
	    store_host_set_state(st, a.host_id, STORE_HOST_REVOKED), 0);
	assert_int_equal(store_host_get(st, a.host_id, &got), 0);
	assert_int_equal(got.state, STORE_HOST_REVOKED);
	assert_int_equal(store_host_set_state(st, unknown, STORE_HOST_ACTIVE),
	    STORE_NOTFOUND);
	assert_int_equal(
	    store_host_set_state(st, a.host_id, (enum store_host_state)0), -1);

	store_close(st);
}

struct names {
	int n;
	char name[8][STORE_NAMEBYTES_MAX + 1];
	int stop_after;
};

static int
collect_host(const struct store_host *h, void *arg)
{
	struct names *nm = arg;

	snprintf(nm->name[nm->n], sizeof(nm->name[0]), "%s", h->name);
	nm->n++;
	return (nm->n == nm->stop_after ? -1 : 0);
}

static void
test_host_foreach(void **state)
{
	struct store *st = freshdb();
	struct store_host h;
	struct names nm;

	(void)state;
	memset(&nm, 0, sizeof(nm));
	assert_int_equal(store_host_foreach(st, collect_host, &nm), 0);
	assert_int_equal(nm.n, 0);
	addhost(st, &h, "mike");
	addhost(st, &h, "delta");
	addhost(st, &h, "zulu");
	addhost(st, &h, "echo");
	assert_int_equal(store_host_foreach(st, collect_host, &nm), 0);
	assert_int_equal(nm.n, 4);
	assert_string_equal(nm.name[0], "delta");
	assert_string_equal(nm.name[1], "echo");
	assert_string_equal(nm.name[2], "mike");
	assert_string_equal(nm.name[3], "zulu");

	/* A callback returning nonzero stops the walk. */
	memset(&nm, 0, sizeof(nm));
	nm.stop_after = 2;
	assert_int_equal(store_host_foreach(st, collect_host, &nm), -1);
	assert_int_equal(nm.n, 2);
	/* The statement was reset: a full walk works again. */
	memset(&nm, 0, sizeof(nm));
	assert_int_equal(store_host_foreach(st, collect_host, &nm), 0);
	assert_int_equal(nm.n, 4);
	store_close(st);
}

static void
test_host_rotate(void **state)
{
	struct store *st = freshdb();
	struct store_host h, n, got;
	struct hostpub pub;
	uint8_t unknown[STORE_IDBYTES];
	const int64_t t = 1800000000000;

	(void)state;
	addhost(st, &h, "rotor");
	mkhost(&n, "unused", STORE_HOST_ACTIVE); /* the new keys */
	strcpy(n.pub.comment, "rotor v2");

	assert_int_equal(store_host_key(st, h.host_id, 1, t, &pub), 0);
	assert_true(hostpub_equal(&pub, &h.pub));
	assert_int_equal(
	    store_host_key(st, h.host_id, 2, t, &pub), STORE_NOTFOUND);

	/* Rotate to version 2, version 1 valid until t + 1000. */
	assert_int_equal(
	    store_host_rotate(st, h.host_id, &n.pub, 2, t + 1000), 0);
	assert_int_equal(store_host_get(st, h.host_id, &got), 0);
	assert_int_equal(got.kvno, 2);
	assert_memory_equal(got.host_id, h.host_id, STORE_IDBYTES);
	assert_true(hostpub_equal(&got.pub, &n.pub));
	assert_string_equal(got.pub.comment, "rotor v2");
	/* pub.host_id is the id of the new keys. */
	assert_memory_equal(got.pub.host_id, n.host_id, STORE_IDBYTES);

	/* The overlap window of version 1. */
	assert_int_equal(store_host_key(st, h.host_id, 1, t, &pub), 0);
	assert_true(hostpub_equal(&pub, &h.pub));
	assert_int_equal(store_host_key(st, h.host_id, 1, t + 999, &pub), 0);
	assert_int_equal(
	    store_host_key(st, h.host_id, 1, t + 1000, &pub), STORE_NOTFOUND);
	assert_int_equal(
	    store_host_key(st, h.host_id, 2, t + 99999999, &pub), 0);
	assert_true(hostpub_equal(&pub, &n.pub));
	assert_int_equal(
	    store_host_key(st, h.host_id, 3, t, &pub), STORE_NOTFOUND);

	/* The version must grow; unknown hosts are not found. */
	assert_int_equal(store_host_rotate(st, h.host_id, &h.pub, 2, t), -1);
	assert_int_equal(store_host_rotate(st, h.host_id, &h.pub, 1, t), -1);
	memset(unknown, 7, sizeof(unknown));
	assert_int_equal(
	    store_host_rotate(st, unknown, &n.pub, 5, t), STORE_NOTFOUND);
	/* The refused rotations changed nothing. */
	assert_int_equal(store_host_get(st, h.host_id, &got), 0);
	assert_int_equal(got.kvno, 2);
	assert_int_equal(store_host_key(st, h.host_id, 1, t, &pub), 0);

	/* Rotate again inside a transaction: version 2 gets a window. */
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(
	    store_host_rotate(st, h.host_id, &h.pub, 3, t + 50), 0);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(store_host_key(st, h.host_id, 2, t + 49, &pub), 0);
	assert_int_equal(
	    store_host_key(st, h.host_id, 2, t + 50, &pub), STORE_NOTFOUND);
	assert_int_equal(store_host_key(st, h.host_id, 3, t + 50, &pub), 0);
	store_close(st);
}

static int
count_rule(
    const uint8_t *client, const uint8_t *peer, const char *service, void *arg)
{
	(void)client;
	(void)peer;
	(void)service;
	(*(int *)arg)++;
	return (0);
}

static void
test_policy(void **state)
{
	struct store *st = freshdb();
	struct store_host a, b, c;
	uint8_t unknown[STORE_IDBYTES];
	bool ok;
	int n;

	(void)state;
	addhost(st, &a, "a");
	addhost(st, &b, "b");
	addhost(st, &c, "c");
	memset(unknown, 9, sizeof(unknown));

	assert_int_equal(
	    store_policy_check(st, a.host_id, b.host_id, "ssh", &ok), 0);
	assert_false(ok);
	assert_int_equal(
	    store_policy_allow(st, a.host_id, b.host_id, "ssh"), 0);
	assert_int_equal(
	    store_policy_allow(st, a.host_id, b.host_id, "ssh"), 0);
	assert_int_equal(
	    store_policy_check(st, a.host_id, b.host_id, "ssh", &ok), 0);
	assert_true(ok);
	assert_int_equal(
	    store_policy_check(st, a.host_id, b.host_id, "http", &ok), 0);
	assert_false(ok);
	/* Directed: b may not ask for a. */
	assert_int_equal(
	    store_policy_check(st, b.host_id, a.host_id, "ssh", &ok), 0);
	assert_false(ok);

	/* '*' allows every service, for that pair only. */
	assert_int_equal(store_policy_allow(st, a.host_id, c.host_id, "*"), 0);
	assert_int_equal(
	    store_policy_check(st, a.host_id, c.host_id, "http", &ok), 0);
	assert_true(ok);
	assert_int_equal(
	    store_policy_check(st, a.host_id, c.host_id, "ftp", &ok), 0);
	assert_true(ok);
	assert_int_equal(
	    store_policy_check(st, b.host_id, c.host_id, "http", &ok), 0);
	assert_false(ok);

	n = 0;
	assert_int_equal(store_policy_foreach(st, count_rule, &n), 0);
	assert_int_equal(n, 2);

	/* Deny removes exactly that rule. */
	assert_int_equal(store_policy_deny(st, a.host_id, c.host_id, "http"),
	    STORE_NOTFOUND);
	assert_int_equal(store_policy_deny(st, a.host_id, c.host_id, "*"), 0);
	assert_int_equal(
	    store_policy_check(st, a.host_id, c.host_id, "http", &ok), 0);
	assert_false(ok);
	assert_int_equal(
	    store_policy_deny(st, a.host_id, c.host_id, "*"), STORE_NOTFOUND);
	assert_int_equal(
	    store_policy_check(st, a.host_id, b.host_id, "ssh", &ok), 0);
	assert_true(ok);

	/* Unknown hosts and bad services. */
	assert_int_equal(store_policy_allow(st, unknown, b.host_id, "ssh"), -1);
	assert_int_equal(store_policy_allow(st, a.host_id, unknown, "ssh"), -1);
	assert_int_equal(store_policy_allow(st, a.host_id, b.host_id, ""), -1);
	assert_int_equal(
	    store_policy_allow(st, a.host_id, b.host_id, "x\ty"), -1);
	n = 0;
	assert_int_equal(store_policy_foreach(st, count_rule, &n), 0);
	assert_int_equal(n, 1);
	store_close(st);
}

static int
count_key(const struct store_key *k, void *arg)
{
	(void)k;
	(*(int *)arg)++;
	return (0);
}

static void
test_keys(void **state)
{
	struct store *st = freshdb();
	struct store_host a, b, c;
	struct store_key k, k2, got;
	uint8_t unknown[STORE_IDBYTES];
	uint64_t count;
	int i, n;

	(void)state;
	addhost(st, &a, "a");
	addhost(st, &b, "b");
	addhost(st, &c, "c");
	memset(unknown, 3, sizeof(unknown));

	mkkey(&k, a.host_id, b.host_id, "ssh", 1000, 2000);
	assert_int_equal(store_key_put(st, &k), 0);
	assert_int_equal(store_key_get(st, k.key_id, &got), 0);
	assert_memory_equal(got.key_id, k.key_id, STORE_IDBYTES);
	assert_memory_equal(got.client_id, a.host_id, STORE_IDBYTES);
	assert_memory_equal(got.peer_id, b.host_id, STORE_IDBYTES);
	assert_string_equal(got.service, "ssh");
	assert_memory_equal(got.client_addr, k.client_addr, STORE_ADDRBYTES);
	assert_int_equal(got.not_before_ms, 1000);
	assert_int_equal(got.not_after_ms, 2000);
	assert_false(got.revoked);
	assert_int_equal(got.wrappedlen, k.wrappedlen);
	assert_memory_equal(got.wrapped, k.wrapped, k.wrappedlen);

	/* Duplicates and unknowns. */
	k2 = k;
	strcpy(k2.service, "other");
	assert_int_equal(store_key_put(st, &k2), STORE_DUPLICATE);
	assert_int_equal(store_key_get(st, unknown, &got), STORE_NOTFOUND);
	mkkey(&k2, unknown, b.host_id, "ssh", 1000, 2000);
	assert_int_equal(store_key_put(st, &k2), -1);
	mkkey(&k2, a.host_id, b.host_id, "ssh", 1000, 2000);
	k2.wrappedlen = 0;
	assert_int_equal(store_key_put(st, &k2), -1);
	k2.wrappedlen = STORE_WRAPPEDBYTES_MAX + 1;
	assert_int_equal(store_key_put(st, &k2), -1);
	assert_int_equal(store_key_count(st, &count), 0);
	assert_int_equal(count, 1);

	/* Revoke one. */
	assert_int_equal(store_key_revoke(st, k.key_id), 0);
	assert_int_equal(store_key_get(st, k.key_id, &got), 0);
	assert_true(got.revoked);
	assert_int_equal(store_key_revoke(st, unknown), STORE_NOTFOUND);

	/* a->b x3 (one revoked already), b->c x2, c->a x1, b->a x1. */
	for (i = 0; i < 2; i++) {
		mkkey(&k2, a.host_id, b.host_id, "ssh", 1000, 3000 + i);
		assert_int_equal(store_key_put(st, &k2), 0);
		mkkey(&k2, b.host_id, c.host_id, "ssh", 1000, 5000 + i);
		assert_int_equal(store_key_put(st, &k2), 0);
	}
	mkkey(&k2, c.host_id, a.host_id, "ftp", 1000, 9000);
	assert_int_equal(store_key_put(st, &k2), 0);
	mkkey(&k2, b.host_id, a.host_id, "ftp", 1000, 9000);
	k2.revoked = true;
	assert_int_equal(store_key_put(st, &k2), 0);
	assert_int_equal(store_key_count(st, &count), 0);
	assert_int_equal(count, 7);

	/* Host a: 2 unrevoked as client, 1 unrevoked as peer. */
	assert_int_equal(store_key_revoke_host(st, a.host_id, &count), 0);
	assert_int_equal(count, 3);
	assert_int_equal(store_key_revoke_host(st, a.host_id, &count), 0);
	assert_int_equal(count, 0);
	assert_int_equal(store_key_revoke_host(st, c.host_id, &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(store_key_revoke_host(st, unknown, &count), 0);
	assert_int_equal(count, 0);

	/* Purge: not_after < now. */
	assert_int_equal(store_key_purge(st, 2000, &count), 0);
	assert_int_equal(count, 0);
	assert_int_equal(store_key_purge(st, 3001, &count), 0);
	assert_int_equal(count, 2); /* 2000 and 3000 */
	assert_int_equal(store_key_get(st, k.key_id, &got), STORE_NOTFOUND);
	n = 0;
	assert_int_equal(store_key_foreach(st, count_key, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(store_key_purge(st, INT64_MAX, &count), 0);
	assert_int_equal(count, 5);
	assert_int_equal(store_key_count(st, &count), 0);
	assert_int_equal(count, 0);

	/* A duplicate inside a transaction does not spoil it. */
	mkkey(&k, a.host_id, b.host_id, "ssh", 1000, 2000);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_key_put(st, &k), 0);
	assert_int_equal(store_key_put(st, &k), STORE_DUPLICATE);
	mkkey(&k2, a.host_id, b.host_id, "ssh", 1000, 2000);
	assert_int_equal(store_key_put(st, &k2), 0);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(store_key_count(st, &count), 0);
	assert_int_equal(count, 2);
	store_close(st);
}

/* true if the file ${path} contains the ${len} bytes at ${pat}. */
static bool
file_has(const char *path, const uint8_t *pat, size_t len)
{
	static uint8_t buf[1 << 20];
	size_t n;
	FILE *f;

	assert_non_null(f = fopen(path, "rb"));
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	assert_true(n < sizeof(buf));
	return (memmem(buf, n, pat, len) != NULL);
}

static void
test_secure_delete(void **state)
{
	struct store *st = freshdb();
	struct store_host a;
	struct store_key k;
	uint64_t count;
	char wal[sizeof(dbpath) + 8];

	(void)state;
	addhost(st, &a, "a");
	mkkey(&k, a.host_id, a.host_id, "ssh", 0, 10);
	memset(k.wrapped, 0xa5, k.wrappedlen);
	assert_int_equal(store_key_put(st, &k), 0);
	store_close(st); /* checkpoints into the database file */
	assert_true(file_has(dbpath, k.wrapped, k.wrappedlen));

	assert_non_null(st = store_open(dbpath, 0));
	assert_int_equal(store_key_purge(st, 11, &count), 0);
	assert_int_equal(count, 1);
	store_close(st);
	snprintf(wal, sizeof(wal), "%s-wal", dbpath);
	assert_int_equal(access(wal, F_OK), -1);
	/* The deleted row's bytes were overwritten, not just unlinked. */
	assert_false(file_has(dbpath, k.wrapped, k.wrappedlen));
}

static void
test_remove_cascade(void **state)
{
	struct store *st = freshdb();
	struct store_host a, b, c, got;
	struct store_key k;
	struct hostpub pub;
	uint64_t count;
	int n;

	(void)state;
	addhost(st, &a, "a");
	addhost(st, &b, "b");
	addhost(st, &c, "c");
	assert_int_equal(store_policy_allow(st, a.host_id, b.host_id, "*"), 0);
	assert_int_equal(store_policy_allow(st, c.host_id, a.host_id, "x"), 0);
	assert_int_equal(store_policy_allow(st, b.host_id, c.host_id, "y"), 0);
	mkkey(&k, a.host_id, b.host_id, "ssh", 0, 10);
	assert_int_equal(store_key_put(st, &k), 0);
	mkkey(&k, c.host_id, a.host_id, "ssh", 0, 10);
	assert_int_equal(store_key_put(st, &k), 0);
	mkkey(&k, b.host_id, c.host_id, "ssh", 0, 10);
	assert_int_equal(store_key_put(st, &k), 0);
	assert_int_equal(store_host_rotate(st, a.host_id, &b.pub, 2, 99), 0);

	assert_int_equal(store_host_remove(st, a.host_id), 0);
	assert_int_equal(store_host_get(st, a.host_id, &got), STORE_NOTFOUND);
	assert_int_equal(
	    store_host_key(st, a.host_id, 1, 0, &pub), STORE_NOTFOUND);
	assert_int_equal(
	    store_host_key(st, a.host_id, 2, 0, &pub), STORE_NOTFOUND);
	n = 0;
	assert_int_equal(store_policy_foreach(st, count_rule, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_key_count(st, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(store_host_remove(st, a.host_id), STORE_NOTFOUND);
	/* The name is free again. */
	addhost(st, &a, "a");
	assert_int_equal(store_integrity_check(st), 0);
	store_close(st);
}

struct nonces {
	int n;
	int64_t min_expiry;
};

static int
collect_nonce(
    const uint8_t *sender, const uint8_t *nonce, int64_t expires_ms, void *arg)
{
	struct nonces *nc = arg;

	(void)sender;
	(void)nonce;
	if (nc->n == 0 || expires_ms < nc->min_expiry)
		nc->min_expiry = expires_ms;
	nc->n++;
	return (0);
}

static void
test_replay(void **state)
{
	struct store *st = freshdb();
	uint8_t s1[STORE_IDBYTES], s2[STORE_IDBYTES];
	uint8_t n1[STORE_NONCEBYTES], n2[STORE_NONCEBYTES];
	struct nonces nc;

	(void)state;
	memset(s1, 1, sizeof(s1));
	memset(s2, 2, sizeof(s2));
	memset(n1, 0xa1, sizeof(n1));
	memset(n2, 0xa2, sizeof(n2));

	assert_int_equal(store_replay_put(st, s1, n1, 100), 0);
	assert_int_equal(store_replay_put(st, s1, n1, 500), STORE_DUPLICATE);
	assert_int_equal(store_replay_put(st, s2, n1, 200), 0);
	assert_int_equal(store_replay_put(st, s1, n2, 300), 0);

	memset(&nc, 0, sizeof(nc));
	assert_int_equal(store_replay_foreach(st, 0, collect_nonce, &nc), 0);
	assert_int_equal(nc.n, 3);
	assert_int_equal(nc.min_expiry, 100);
	memset(&nc, 0, sizeof(nc));
	assert_int_equal(store_replay_foreach(st, 100, collect_nonce, &nc), 0);
	assert_int_equal(nc.n, 2);
	assert_int_equal(nc.min_expiry, 200);

	/* Purge the expired (expires <= now). */
	assert_int_equal(store_replay_purge(st, 200), 0);
	memset(&nc, 0, sizeof(nc));
	assert_int_equal(store_replay_foreach(st, 0, collect_nonce, &nc), 0);
	assert_int_equal(nc.n, 1);
	assert_int_equal(nc.min_expiry, 300);
	assert_int_equal(store_replay_put(st, s1, n1, 900), 0);
	assert_int_equal(store_replay_put(st, s1, n2, 900), STORE_DUPLICATE);
	store_close(st);
}

static void
test_tokens(void **state)
{
	struct store *st = freshdb();
	uint8_t t1[STORE_IDBYTES], t2[STORE_IDBYTES], t3[STORE_IDBYTES];
	uint8_t w[40], out[STORE_WRAPPEDBYTES_MAX];
	size_t outlen;

	(void)state;
	memset(t1, 1, sizeof(t1));
	memset(t2, 2, sizeof(t2));
	memset(t3, 3, sizeof(t3));
	memset(w, 0x77, sizeof(w));

	assert_int_equal(store_token_add(st, t1, w, sizeof(w), 1000), 0);
	assert_int_equal(
	    store_token_add(st, t1, w, sizeof(w), 1000), STORE_DUPLICATE);
	assert_int_equal(store_token_add(st, t2, w, 10, 1000), 0);
	assert_int_equal(store_token_add(st, t3, w, 0, 1000), -1);
	assert_int_equal(
	    store_token_add(st, t3, w, STORE_WRAPPEDBYTES_MAX + 1, 1000), -1);

	/* Too small a buffer: an error, and the token stays. */
	assert_int_equal(store_token_take(st, t1, 10, out, 39, &outlen), -1);
	assert_int_equal(outlen, 0);

	/* Taken once. */
	assert_int_equal(
	    store_token_take(st, t1, 999, out, sizeof(out), &outlen), 0);
	assert_int_equal(outlen, sizeof(w));
	assert_memory_equal(out, w, sizeof(w));
	assert_int_equal(
	    store_token_take(st, t1, 999, out, sizeof(out), &outlen),
	    STORE_NOTFOUND);
	assert_int_equal(store_token_take(st, t3, 0, out, sizeof(out), &outlen),
	    STORE_NOTFOUND);

	/* Expired (expires <= now): not given, and gone. */
	assert_int_equal(
	    store_token_take(st, t2, 1000, out, sizeof(out), &outlen),
	    STORE_NOTFOUND);
	assert_int_equal(store_token_take(st, t2, 0, out, sizeof(out), &outlen),
	    STORE_NOTFOUND);

	/* Inside a transaction, rolled back: the token comes back. */
	assert_int_equal(store_token_add(st, t3, w, 20, 1000), 0);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(
	    store_token_take(st, t3, 0, out, sizeof(out), &outlen), 0);
	assert_int_equal(outlen, 20);
	store_rollback(st);
	assert_int_equal(
	    store_token_take(st, t3, 0, out, sizeof(out), &outlen), 0);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest sqlite_tests[] = {
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_migrate),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_host_foreach),
		cmocka_unit_test(test_host_rotate),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_remove_cascade),
		cmocka_unit_test(test_secure_delete),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_tokens),
	};
	/* Secure deletion is SQLite's (PostgreSQL vacuums dead rows). */
	const struct CMUnitTest pg_tests[] = {
		cmocka_unit_test(test_open_pg),
		cmocka_unit_test(test_migrate),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_host_foreach),
		cmocka_unit_test(test_host_rotate),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_remove_cascade),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_tokens),
	};
	int rc;

	rc = cmocka_run_group_tests_name(
	    "sqlite", sqlite_tests, setup, teardown);
	rc += pg_run(
	    "postgresql", pg_tests, sizeof(pg_tests) / sizeof(pg_tests[0]));
	return (rc);
}
