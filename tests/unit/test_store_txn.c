/*
 * test_store_txn.c: the store's transactions (commit, rollback, a failed
 * write inside one), the hash-chained audit log (appends in transactions
 * and across connections, tampering found with the sqlite3 CLI or psql),
 * read-only handles refusing every write, two writers (busy timeout, then
 * waiting for the other's commit), checkpoints from another connection,
 * and a timing line per operation; on both backends (store_fixture.h),
 * checkpoints on SQLite only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cryptgate/hostkey.h"
#include "cryptgate/hostpub.h"
#include "cryptgate/log.h"
#include "cryptgate/rand.h"
#include "cryptgate/store.h"

#include "store_fixture.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

struct audits {
	int n;
	int64_t first, last;
	char actor[STORE_AUDIT_ACTORBYTES_MAX + 8];
	size_t detaillen;
};

static int
collect_audit(const struct store_audit *a, void *arg)
{
	struct audits *au = arg;

	if (au->n == 0)
		au->first = a->seq;
	au->last = a->seq;
	au->n++;
	snprintf(au->actor, sizeof(au->actor), "%s", a->actor);
	au->detaillen = strlen(a->detail);
	return (0);
}

static void
test_audit(void **state)
{
	struct store *st = freshdb(), *st2;
	struct store_host a;
	struct store_key k;
	struct audits au;
	uint64_t count;
	int64_t bad;
	char longs[1024];
	const char *p = dbpath;

	(void)state;
	assert_int_equal(store_audit_verify(st, &count, &bad), 0);
	assert_int_equal(count, 0);

	/* Two transactions of several records, one record alone. */
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(
	    store_audit_append(st, 1000, "admin", "host add", "name=a", 0), 0);
	addhost(st, &a, "a");
	assert_int_equal(store_audit_append(st, 1001, "0123", "REQUEST",
	                     "peer=x service=ssh", 0),
	    0);
	assert_int_equal(
	    store_audit_append(st, 1002, "0123", "REQUEST", "", 7), 0);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(store_audit_append(st, 1003, NULL, NULL, NULL, -5), 0);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(
	    store_audit_append(st, 1004, "admin", "key revoke", "k", 0), 0);
	assert_int_equal(
	    store_audit_append(st, 1005, "admin", "key purge", "n=0", 0), 0);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(store_audit_verify(st, &count, &bad), 0);
	assert_int_equal(count, 6);

	/* A rolled-back transaction leaves nothing, and the chain goes on. */
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(
	    store_audit_append(st, 1006, "admin", "REQUEST", "lost", 0), 0);
	mkkey(&k, a.host_id, a.host_id, "ssh", 0, 10);
	assert_int_equal(store_key_put(st, &k), 0);
	assert_int_equal(
	    store_audit_append(st, 1006, "x", "RETRIEVE", "", 0), 0);
	store_rollback(st);
	assert_int_equal(store_key_get(st, k.key_id, &k), STORE_NOTFOUND);
	assert_int_equal(store_audit_verify(st, &count, &bad), 0);
	assert_int_equal(count, 6);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(
	    store_audit_append(st, 1007, "admin", "REQUEST", "kept", 0), 0);
	assert_int_equal(store_commit(st), 0);

	/* Another connection appends between our transactions. */
	assert_non_null(st2 = store_open(p, 0));
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(
	    store_audit_append(st, 1008, "a", "REQUEST", "", 0), 0);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(
	    store_audit_append(st2, 1009, "b", "REQUEST", "", 0), 0);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(
	    store_audit_append(st, 1010, "a", "REQUEST", "", 0), 0);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(store_audit_verify(st2, &count, &bad), 0);
	assert_int_equal(count, 10);
	store_close(st2);

	/* Truncation to the caps. */
	memset(longs, 'x', sizeof(longs) - 1);
	longs[sizeof(longs) - 1] = '\0';
	assert_int_equal(
	    store_audit_append(st, 1011, longs, longs, longs, 0), 0);
	memset(&au, 0, sizeof(au));
	assert_int_equal(store_audit_foreach(st, 11, collect_audit, &au), 0);
	assert_int_equal(au.n, 1);
	assert_int_equal(au.first, 11);
	assert_int_equal(strlen(au.actor), STORE_AUDIT_ACTORBYTES_MAX);
	assert_int_equal(au.detaillen, STORE_AUDIT_DETAILBYTES_MAX);
	memset(&au, 0, sizeof(au));
	assert_int_equal(store_audit_foreach(st, 4, collect_audit, &au), 0);
	assert_int_equal(au.n, 8);
	assert_int_equal(au.first, 4);
	assert_int_equal(au.last, 11);
	assert_int_equal(store_audit_verify(st, &count, &bad), 0);
	assert_int_equal(count, 11);
	store_close(st);

	/* The triggers refuse updates and deletes. */
	assert_int_not_equal(
	    sqlcli(p, "UPDATE audit SET detail = 'x' WHERE seq = 3"), 0);
	assert_int_not_equal(sqlcli(p, "DELETE FROM audit WHERE seq = 3"), 0);

	/* Tamper with record 3 behind the store's back. */
	assert_int_equal(sqlcli(p,
	                     is_pg(p) ? "DROP TRIGGER audit_no_update ON audit;"
	                                " UPDATE audit SET detail = 'peer=y'"
	                                " WHERE seq = 3"
	                              : "DROP TRIGGER audit_no_update;"
	                                " UPDATE audit SET detail = 'peer=y'"
	                                " WHERE seq = 3"),
	    0);
	assert_non_null(st = store_open(p, STORE_READONLY));
	assert_int_equal(store_audit_verify(st, &count, &bad), -1);
	assert_int_equal(bad, 3);
	assert_int_equal(count, 2);
	store_close(st);

	/* Put it back: fine again.  Then relink record 5 to a fake hash. */
	assert_int_equal(
	    sqlcli(p, "UPDATE audit SET detail = '' WHERE seq = 3"), 0);
	assert_non_null(st = store_open(p, 0));
	assert_int_equal(store_audit_verify(st, &count, &bad), 0);
	assert_int_equal(count, 11);
	store_close(st);
	assert_int_equal(
	    sqlcli(p, "UPDATE audit SET result = 1 WHERE seq = 9"), 0);
	assert_non_null(st = store_open(p, 0));
	assert_int_equal(store_audit_verify(st, &count, &bad), -1);
	assert_int_equal(bad, 9);
	store_close(st);
	assert_int_equal(
	    sqlcli(p, "UPDATE audit SET result = 0 WHERE seq = 9"), 0);

	/* A deleted record: the next one does not link. */
	assert_int_equal(sqlcli(p,
	                     is_pg(p) ? "DROP TRIGGER audit_no_delete ON audit;"
	                                " DELETE FROM audit WHERE seq = 5"
	                              : "DROP TRIGGER audit_no_delete;"
	                                " DELETE FROM audit WHERE seq = 5"),
	    0);
	assert_non_null(st = store_open(p, 0));
	assert_int_equal(store_audit_verify(st, &count, &bad), -1);
	assert_int_equal(bad, 6);
	assert_int_equal(count, 4);
	store_close(st);
}

/*
 * Strings are bytes, on both backends: a host named in Latin-1, an audit
 * record whose detail the cap cuts inside a UTF-8 sequence.
 */
static void
test_bytes(void **state)
{
	struct store *st = freshdb();
	struct store_host a, got;
	struct audits au;
	char detail[STORE_AUDIT_DETAILBYTES_MAX + 8];
	uint64_t count;
	int64_t bad;

	(void)state;
	addhost(st, &a, "caf\xe9");
	assert_int_equal(store_host_get_by_name(st, "caf\xe9", &got), 0);
	assert_string_equal(got.name, "caf\xe9");
	assert_string_equal(got.pub.comment, "caf\xe9");
	memset(detail, 'x', STORE_AUDIT_DETAILBYTES_MAX - 1);
	memcpy(detail + STORE_AUDIT_DETAILBYTES_MAX - 1, "\xc3\xa9", 3);
	assert_int_equal(
	    store_audit_append(st, 1, "\xe9t\xe9", "op", detail, 0), 0);
	memset(&au, 0, sizeof(au));
	assert_int_equal(store_audit_foreach(st, 1, collect_audit, &au), 0);
	assert_int_equal(au.n, 1);
	assert_string_equal(au.actor, "\xe9t\xe9");
	assert_int_equal(au.detaillen, STORE_AUDIT_DETAILBYTES_MAX);
	assert_int_equal(store_audit_verify(st, &count, &bad), 0);
	assert_int_equal(count, 1);
	store_close(st);
}

static void
test_txn(void **state)
{
	struct store *st = freshdb();
	struct store_host a, got;

	(void)state;
	assert_int_equal(store_commit(st), -1);
	store_rollback(st);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_begin(st), -1);
	addhost(st, &a, "a");
	store_rollback(st);
	store_rollback(st);
	assert_int_equal(store_host_get(st, a.host_id, &got), STORE_NOTFOUND);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_host_add(st, &a), 0);
	/* A failed multi-statement write leaves the rest of the txn. */
	assert_int_equal(store_host_add(st, &a), STORE_DUPLICATE);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(store_host_get(st, a.host_id, &got), 0);
	/* close with an open transaction rolls it back. */
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_host_remove(st, a.host_id), 0);
	store_close(st);
	assert_non_null(st = store_open(dbpath, 0));
	assert_int_equal(store_host_get(st, a.host_id, &got), 0);
	store_close(st);
}

static void
test_readonly(void **state)
{
	struct store *st = freshdb(), *ro;
	struct store_host a, b, got;
	struct store_key k;
	uint8_t tok[STORE_IDBYTES], out[64];
	uint64_t count;
	int64_t bad;
	size_t outlen;
	bool ok;

	(void)state;
	addhost(st, &a, "a");
	mkkey(&k, a.host_id, a.host_id, "ssh", 0, 100);
	assert_int_equal(store_key_put(st, &k), 0);
	memset(tok, 1, sizeof(tok));
	memset(out, 2, sizeof(out)); /* the "wrapped secret" stored */
	assert_int_equal(store_token_add(st, tok, out, 30, 1000), 0);
	assert_int_equal(store_audit_append(st, 1, "admin", "x", "", 0), 0);
	store_close(st);

	assert_non_null(ro = store_open(dbpath, STORE_READONLY));
	mkhost(&b, "b", STORE_HOST_ACTIVE);
	assert_int_equal(store_host_add(ro, &b), -1);
	assert_int_equal(
	    store_host_set_state(ro, a.host_id, STORE_HOST_REVOKED), -1);
	assert_int_equal(store_host_rotate(ro, a.host_id, &b.pub, 2, 0), -1);
	assert_int_equal(store_policy_allow(ro, a.host_id, a.host_id, "*"), -1);
	mkkey(&k, a.host_id, a.host_id, "ssh", 0, 100);
	assert_int_equal(store_key_put(ro, &k), -1);
	assert_int_equal(store_key_revoke_host(ro, a.host_id, &count), -1);
	assert_int_equal(store_key_purge(ro, INT64_MAX, &count), -1);
	assert_int_equal(store_replay_put(ro, tok, tok, 5), -1);
	assert_int_equal(
	    store_token_take(ro, tok, 0, out, sizeof(out), &outlen), -1);
	assert_int_equal(store_audit_append(ro, 2, "admin", "x", "", 0), -1);
	assert_int_equal(store_host_remove(ro, a.host_id), -1);
	assert_int_equal(store_begin(ro), -1);

	/* Reads work. */
	assert_int_equal(store_host_get(ro, a.host_id, &got), 0);
	assert_int_equal(
	    store_policy_check(ro, a.host_id, a.host_id, "ssh", &ok), 0);
	assert_false(ok);
	assert_int_equal(store_key_count(ro, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(store_integrity_check(ro), 0);
	assert_int_equal(store_audit_verify(ro, &count, &bad), 0);
	assert_int_equal(count, 1);
	store_close(ro);

	/* Nothing changed, nothing broke. */
	assert_non_null(st = store_open(dbpath, 0));
	assert_int_equal(store_integrity_check(st), 0);
	assert_int_equal(store_host_get(st, a.host_id, &got), 0);
	assert_int_equal(got.state, STORE_HOST_ACTIVE);
	assert_int_equal(got.kvno, 1);
	assert_int_equal(store_key_count(st, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(
	    store_token_take(st, tok, 0, out, sizeof(out), &outlen), 0);
	store_close(st);
}

struct committer {
	struct store *st;
	useconds_t delay;
	int rc;
};

static void *
commit_later(void *arg)
{
	struct committer *c = arg;

	usleep(c->delay);
	c->rc = store_commit(c->st);
	return (NULL);
}

static void
test_busy(void **state)
{
	struct store *a = freshdb(), *b;
	struct store_host h, got;
	struct committer c;
	pthread_t t;
	double t0, dt;

	(void)state;
	assert_non_null(b = store_open(dbpath, 0));

	/* a holds the write lock; b gives up after its busy timeout. */
	assert_int_equal(store_begin(a), 0);
	addhost(a, &h, "held");
	assert_int_equal(store_busy_timeout(b, 200), 0);
	t0 = now_s();
	assert_int_equal(store_begin(b), -1);
	dt = now_s() - t0;
	assert_true(dt >= 0.15);
	assert_true(dt < 3.0);
	mkhost(&h, "other", STORE_HOST_ACTIVE);
	assert_int_equal(store_host_add(b, &h), -1);
	/* Readers are not blocked, and do not see the uncommitted host. */
	assert_int_equal(
	    store_host_get_by_name(b, "held", &got), STORE_NOTFOUND);
	assert_int_equal(store_commit(a), 0);
	assert_int_equal(store_host_get_by_name(b, "held", &got), 0);

	/* With the default timeout, b waits for a's commit and goes on. */
	assert_int_equal(store_busy_timeout(b, STORE_BUSY_TIMEOUT_MS), 0);
	assert_int_equal(store_begin(a), 0);
	assert_int_equal(store_audit_append(a, 1, "a", "x", "", 0), 0);
	c.st = a;
	c.delay = 300000;
	c.rc = -2;
	assert_int_equal(pthread_create(&t, NULL, commit_later, &c), 0);
	t0 = now_s();
	assert_int_equal(store_begin(b), 0);
	dt = now_s() - t0;
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(c.rc, 0);
	assert_true(dt >= 0.2);
	assert_int_equal(store_host_add(b, &h), 0);
	assert_int_equal(store_audit_append(b, 2, "b", "x", "", 0), 0);
	assert_int_equal(store_commit(b), 0);
	{
		uint64_t count;
		int64_t bad;

		assert_int_equal(store_audit_verify(a, &count, &bad), 0);
		assert_int_equal(count, 2);
	}
	store_close(b);
	store_close(a);
}

struct appender {
	struct store *st;
	uint8_t id; /* 1 or 2 */
	int fails; /* store errors */
	int dups; /* STORE_DUPLICATE for the shared nonce */
};

/* 100 rounds: a transaction of a nonce and two records, or one record. */
static void *
append_many(void *arg)
{
	struct appender *ap = arg;
	uint8_t sender[STORE_IDBYTES], nonce[STORE_NONCEBYTES];
	int i, rc;

	memset(sender, ap->id, sizeof(sender));
	for (i = 0; i < 100; i++) {
		memset(nonce, 0, sizeof(nonce));
		nonce[0] = (uint8_t)i;
		if (i % 2 == 0) {
			if (store_begin(ap->st) != 0 ||
			    store_replay_put(ap->st, sender, nonce, 5) != 0 ||
			    store_audit_append(
			        ap->st, i, "t", "REQUEST", "in", 0) != 0 ||
			    store_audit_append(
			        ap->st, i, "t", "RETRIEVE", "in", 0) != 0 ||
			    store_commit(ap->st) != 0) {
				store_rollback(ap->st);
				ap->fails++;
			}
		} else if (store_audit_append(ap->st, i, "t", "x", "out", 0)) {
			ap->fails++;
		}
		if (i == 50) {
			/* The same nonce from both: one of them is a replay. */
			memset(nonce, 0xee, sizeof(nonce));
			rc = store_replay_put(ap->st, nonce, nonce, 5);
			if (rc == STORE_DUPLICATE)
				ap->dups++;
			else if (rc != 0)
				ap->fails++;
		}
	}
	return (NULL);
}

/*
 * Two connections (two KDC instances, on PostgreSQL) append to the audit
 * chain at once, in transactions and alone: one chain, no gap, every
 * record there; a nonce recorded by both is a replay for one of them.
 */
static void
test_audit_concurrent(void **state)
{
	struct appender ap[2];
	pthread_t t[2];
	uint64_t count;
	int64_t bad;
	int i;

	(void)state;
	memset(ap, 0, sizeof(ap));
	assert_non_null(ap[0].st = freshdb());
	assert_non_null(ap[1].st = store_open(dbpath, 0));
	for (i = 0; i < 2; i++) {
		ap[i].id = (uint8_t)(i + 1);
		assert_int_equal(
		    pthread_create(&t[i], NULL, append_many, &ap[i]), 0);
	}
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	assert_int_equal(ap[0].fails + ap[1].fails, 0);
	assert_int_equal(ap[0].dups + ap[1].dups, 1);
	assert_int_equal(store_audit_verify(ap[1].st, &count, &bad), 0);
	assert_int_equal(count, 2 * (50 * 2 + 50));
	store_close(ap[0].st);
	store_close(ap[1].st);
}

/*
 * PostgreSQL: a connection the server drops (a restart, a killed backend)
 * fails the statement that finds it, and the next one reconnects; an open
 * transaction is lost, and its commit fails.
 */
static void
test_reconnect(void **state)
{
	struct store *st = freshdb();
	struct store_host a, b, got;
	char sql[256];
	uint64_t count;
	int64_t bad;

	(void)state;
	addhost(st, &a, "a");
	assert_int_equal(store_audit_append(st, 1, "admin", "x", "", 0), 0);
	snprintf(sql, sizeof(sql),
	    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
	    " WHERE datname = 'kdc%d' AND pid <> pg_backend_pid()",
	    dbn);
	assert_int_equal(sqlcli(dbpath, sql), 0);
	assert_int_equal(store_host_get(st, a.host_id, &got), -1);
	assert_int_equal(store_host_get(st, a.host_id, &got), 0);
	/* Prepared statements again, the session settings again. */
	assert_int_equal(store_audit_append(st, 2, "admin", "x", "", 0), 0);

	/* Inside a transaction: lost, then the next one works. */
	assert_int_equal(store_begin(st), 0);
	mkhost(&b, "b", STORE_HOST_ACTIVE);
	assert_int_equal(store_host_add(st, &b), 0);
	assert_int_equal(sqlcli(dbpath, sql), 0);
	assert_int_equal(store_audit_append(st, 3, "admin", "x", "", 0), -1);
	assert_int_equal(store_commit(st), -1);
	assert_int_equal(store_host_get(st, b.host_id, &got), STORE_NOTFOUND);
	assert_int_equal(store_begin(st), 0);
	assert_int_equal(store_host_add(st, &b), 0);
	assert_int_equal(store_audit_append(st, 3, "admin", "x", "", 0), 0);
	assert_int_equal(store_commit(st), 0);
	assert_int_equal(store_audit_verify(st, &count, &bad), 0);
	assert_int_equal(count, 3);
	store_close(st);
}

static off_t
fsize(const char *path)
{
	struct stat sb;

	return (stat(path, &sb) == 0 ? sb.st_size : -1);
}

static void
test_checkpoint(void **state)
{
	struct store *st = freshdb(), *rd;
	struct store_host a, b;
	struct store_key k;
	char wal[sizeof(dbpath) + 8];
	uint64_t count;
	off_t dbsize;
	int i;

	(void)state;
	store_close(st);
	assert_non_null(st = store_open(dbpath, STORE_NOCHECKPOINT));
	assert_non_null(rd = store_open(dbpath, 0));
	snprintf(wal, sizeof(wal), "%s-wal", dbpath);
	addhost(st, &a, "a");
	addhost(st, &b, "b");
	dbsize = fsize(dbpath);
	/* Well over the 1000-page automatic checkpoint: none happens. */
	for (i = 0; i < 200; i++) {
		assert_int_equal(store_begin(st), 0);
		for (int j = 0; j < 50; j++) {
			mkkey(&k, a.host_id, b.host_id, "ssh", 0, 1);
			assert_int_equal(store_key_put(st, &k), 0);
		}
		assert_int_equal(store_commit(st), 0);
	}
	assert_true(fsize(wal) > (off_t)1000 * 4096);
	assert_int_equal(fsize(dbpath), dbsize);
	assert_int_equal(store_key_count(rd, &count), 0);
	assert_int_equal(count, 10000);

	/* Another connection checkpoints into the database file. */
	assert_int_equal(store_checkpoint(rd), 0);
	assert_true(fsize(dbpath) > dbsize + (off_t)100 * 4096);
	assert_int_equal(store_key_count(rd, &count), 0);
	assert_int_equal(count, 10000);
	assert_int_equal(store_integrity_check(st), 0);
	store_close(rd);
	store_close(st);
}

/* Per-operation cost, printed as a TAP comment; not an assertion. */
static void
test_timing(void **state)
{
	/* NGRP: the REQUESTs the group commits make (whole batches). */
	enum { N = 10000, BATCH = 32, NGRP = N / BATCH * BATCH };
	struct store *st = freshdb();
	struct store_host a, b;
	struct store_key *keys, got;
	uint8_t nonce[STORE_NONCEBYTES];
	double t0, put, get, grp, aud;
	uint64_t count;
	int64_t bad;
	int i, j;

	(void)state;
	store_close(st);
	assert_non_null(st = store_open(dbpath, STORE_DURABLE));
	addhost(st, &a, "a");
	addhost(st, &b, "b");
	assert_non_null(keys = calloc(N, sizeof(*keys)));
	for (i = 0; i < N; i++)
		mkkey(&keys[i], a.host_id, b.host_id, "ssh", i, 3600000 + i);

	t0 = now_s();
	assert_int_equal(store_begin(st), 0);
	for (i = 0; i < N; i++)
		assert_int_equal(store_key_put(st, &keys[i]), 0);
	assert_int_equal(store_commit(st), 0);
	put = (now_s() - t0) / N * 1e6;

	t0 = now_s();
	for (i = 0; i < N; i++) {
		assert_int_equal(store_key_get(st, keys[i].key_id, &got), 0);
		assert_int_equal(got.not_before_ms, i);
	}
	get = (now_s() - t0) / N * 1e6;

	t0 = now_s();
	assert_int_equal(store_begin(st), 0);
	for (i = 0; i < N; i++)
		assert_int_equal(
		    store_audit_append(st, i, "a", "RETRIEVE", "key", 0), 0);
	assert_int_equal(store_commit(st), 0);
	aud = (now_s() - t0) / N * 1e6;

	/* Group commit of REQUESTs: key + nonce + audit, durable. */
	t0 = now_s();
	for (i = 0; i < N / BATCH; i++) {
		assert_int_equal(store_begin(st), 0);
		for (j = 0; j < BATCH; j++) {
			mkkey(&got, a.host_id, b.host_id, "ssh", 0, 1);
			assert_int_equal(store_key_put(st, &got), 0);
			memcpy(nonce, got.key_id, sizeof(nonce));
			assert_int_equal(
			    store_replay_put(st, a.host_id, nonce, 5), 0);
			assert_int_equal(store_audit_append(st, i, "a",
			                     "REQUEST", "peer=b", 0),
			    0);
		}
		assert_int_equal(store_commit(st), 0);
	}
	grp = (now_s() - t0) / NGRP * 1e6;

	assert_int_equal(store_key_count(st, &count), 0);
	assert_int_equal(count, N + (N / BATCH) * BATCH);
	assert_int_equal(store_audit_verify(st, &count, &bad), 0);
	assert_int_equal(count, N + (N / BATCH) * BATCH);
	print_message("# store timing: key_put %.1f us/op (one txn),"
	              " key_get %.1f us/op, audit_append %.1f us/op (one txn),"
	              " REQUEST group commit %.1f us/req (%d per durable"
	              " commit)\n",
	    put, get, aud, grp, BATCH);
	free(keys);
	store_close(st);
}

int
main(void)
{
	const struct CMUnitTest sqlite_tests[] = {
		cmocka_unit_test(test_audit),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_txn),
		cmocka_unit_test(test_readonly),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_audit_concurrent),
		cmocka_unit_test(test_checkpoint),
		cmocka_unit_test(test_timing),
	};
	/* Checkpoints are SQLite's (the server checkpoints on its own). */
	const struct CMUnitTest pg_tests[] = {
		cmocka_unit_test(test_audit),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_txn),
		cmocka_unit_test(test_readonly),
		cmocka_unit_test(test_busy),
		cmocka_unit_test(test_audit_concurrent),
		cmocka_unit_test(test_reconnect),
		cmocka_unit_test(test_timing),
	};
	int rc;

	rc = cmocka_run_group_tests_name(
	    "sqlite", sqlite_tests, setup, teardown);
	rc += pg_run(
	    "postgresql", pg_tests, sizeof(pg_tests) / sizeof(pg_tests[0]));
	return (rc);
}
