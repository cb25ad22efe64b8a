/*
 * store_fixture.h: what the store tests share (test_store.c, test_store_txn.c):
 * a temporary directory of databases, the sqlite3 CLI for tampering, and
 * hosts and keys to store.  Every function here is used by both files.
 *
 * The same tests run on both backends: the "sqlite" group on files in a
 * temporary directory, the "postgresql" group (pg_run) on a throwaway
 * cluster that tests/helpers/pgcluster.sh starts for the group, one
 * database per test.  dbpath is then a store_open spec
 * ("postgresql:CONNINFO"), and sqlcli runs psql instead of sqlite3.
 */
#ifndef STORE_FIXTURE_H
#define STORE_FIXTURE_H

#define PGCLUSTER CG_SRCDIR "/tests/helpers/pgcluster.sh"
#define PG_PREFIX "postgresql:"

static char tmpdir[64];
static char dbpath[512];
static int dbn;

static char pgdir[64]; /* the cluster's directory ("" if none) */
static char pgconn[256]; /* its conninfo, without dbname */
static char pgbin[256]; /* psql's directory */

/* true if ${path} is a PostgreSQL spec (the postgresql group). */
static int
is_pg(const char *path)
{
	return (strncmp(path, PG_PREFIX, strlen(PG_PREFIX)) == 0);
}

static int
setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/test_store.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return (-1);
	log_init(1, 0, LOG_USER);
	log_procinit("test_store");
	return (0);
}

static int
teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return (system(cmd) == 0 ? 0 : -1);
}

/* Read the first line ${cmd} prints into ${buf}; its exit status. */
static int
cmdline(const char *cmd, char *buf, size_t size)
{
	FILE *p;
	int rc;

	buf[0] = '\0';
	if ((p = popen(cmd, "r")) == NULL)
		return (-1);
	if (fgets(buf, (int)size, p) == NULL)
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	rc = pclose(p);
	return (rc == -1 || !WIFEXITED(rc) ? -1 : WEXITSTATUS(rc));
}

/*
 * The postgresql group's setup: a cluster of its own (the helper's watcher
 * stops it if this process dies before pg_teardown).
 */
static int
pg_setup(void **state)
{
	char cmd[512];

	if (setup(state))
		return (-1);
	strcpy(pgdir, "/tmp/test_store_pg.XXXXXX");
	if (mkdtemp(pgdir) == NULL)
		return (-1);
	snprintf(cmd, sizeof(cmd), "%s start '%s' %ld", PGCLUSTER, pgdir,
	    (long)getpid());
	if (cmdline(cmd, pgconn, sizeof(pgconn)) != 0 || pgconn[0] == '\0') {
		fprintf(stderr, "# cannot start a PostgreSQL cluster\n");
		return (-1);
	}
	return (
	    cmdline(PGCLUSTER " bindir", pgbin, sizeof(pgbin)) == 0 ? 0 : -1);
}

static int
pg_teardown(void **state)
{
	char cmd[256];
	int rc;

	snprintf(cmd, sizeof(cmd), "%s stop '%s'", PGCLUSTER, pgdir);
	rc = system(cmd);
	pgdir[0] = '\0';
	return (teardown(state) == 0 && rc == 0 ? 0 : -1);
}

/*
 * Run the group ${tests} on PostgreSQL; skip it (a TAP skip line) only if
 * the PostgreSQL server binaries are missing.
 */
static int
pg_run(const char *name, const struct CMUnitTest *tests, size_t n)
{
	char buf[256];

	if (cmdline(PGCLUSTER " bindir", buf, sizeof(buf)) != 0) {
		printf("ok - %s # SKIP PostgreSQL server binaries missing "
		       "(apt-get install postgresql)\n",
		    name);
		return (0);
	}
	return (_cmocka_run_group_tests(name, tests, n, pg_setup, pg_teardown));
}

/* A fresh database: a path in tmpdir, or a new PostgreSQL database. */
static const char *
newdb(void)
{
	char cmd[1024], out[64];

	dbn++;
	if (pgdir[0] == '\0') {
		snprintf(dbpath, sizeof(dbpath), "%s/kdc%d.db", tmpdir, dbn);
		return (dbpath);
	}
	snprintf(cmd, sizeof(cmd),
	    "'%s/psql' -X -q -v ON_ERROR_STOP=1 '%s dbname=postgres'"
	    " -c 'CREATE DATABASE kdc%d' 2>&1",
	    pgbin, pgconn, dbn);
	assert_int_equal(cmdline(cmd, out, sizeof(out)), 0);
	snprintf(dbpath, sizeof(dbpath), "%s%s dbname=kdc%d", PG_PREFIX, pgconn,
	    dbn);
	return (dbpath);
}

/* A new database, opened for writing. */
static struct store *
freshdb(void)
{
	struct store *st;

	assert_non_null(st = store_open(newdb(), STORE_CREATE));
	return (st);
}

/*
 * The command that runs ${sql} on ${path} with the sqlite3 CLI or psql
 * (${path} a PostgreSQL spec), printing results unaligned.
 */
static void
sqlcmd(char *cmd, size_t size, const char *path, const char *sql)
{
	if (is_pg(path))
		snprintf(cmd, size,
		    "'%s/psql' -X -q -A -t -v ON_ERROR_STOP=1 '%s' -c \"%s\"",
		    pgbin, path + strlen(PG_PREFIX), sql);
	else
		snprintf(cmd, size, "sqlite3 '%s' \"%s\"", path, sql);
}

/* Run ${sql} on ${path} (see sqlcmd); return its exit status. */
static int
sqlcli(const char *path, const char *sql)
{
	char cmd[1024];
	int rc;

	sqlcmd(cmd, sizeof(cmd) - 32, path, sql);
	snprintf(cmd + strlen(cmd), 32, " >/dev/null 2>&1");
	rc = system(cmd);
	return (rc == -1 ? -1 : WEXITSTATUS(rc));
}

/* A host with fresh X25519 keys. */
static void
mkhost(struct store_host *h, const char *name, enum store_host_state state)
{
	struct hostkey *hk;

	memset(h, 0, sizeof(*h));
	assert_non_null(hk = hostkey_generate(HOSTKEY_X25519));
	hostkey_public(hk, &h->pub);
	hostkey_free(hk);
	memcpy(h->host_id, h->pub.host_id, STORE_IDBYTES);
	assert_true(strlen(name) < sizeof(h->name));
	snprintf(h->name, sizeof(h->name), "%s", name);
	snprintf(h->pub.comment, sizeof(h->pub.comment), "%s", name);
	h->state = state;
	h->kvno = 1;
	h->created_ms = 1700000000000;
	h->naddrs = 2;
	h->addrs[0][0] = 4;
	h->addrs[0][13] = 192;
	h->addrs[0][16] = 7;
	h->addrs[1][0] = 6;
	memset(&h->addrs[1][1], 0xfe, 16);
}

static void
addhost(struct store *st, struct store_host *h, const char *name)
{
	mkhost(h, name, STORE_HOST_ACTIVE);
	assert_int_equal(store_host_add(st, h), 0);
}

static void
mkkey(struct store_key *k, const uint8_t *client, const uint8_t *peer,
    const char *service, int64_t nb, int64_t na)
{
	size_t i;

	memset(k, 0, sizeof(*k));
	assert_int_equal(rand_bytes(k->key_id, sizeof(k->key_id)), 0);
	memcpy(k->client_id, client, STORE_IDBYTES);
	memcpy(k->peer_id, peer, STORE_IDBYTES);
	snprintf(k->service, sizeof(k->service), "%s", service);
	k->client_addr[0] = 4;
	k->client_addr[16] = 9;
	k->not_before_ms = nb;
	k->not_after_ms = na;
	k->wrappedlen = 61;
	for (i = 0; i < k->wrappedlen; i++)
		k->wrapped[i] = (uint8_t)(i + k->key_id[0]);
}

#endif /* !STORE_FIXTURE_H */
