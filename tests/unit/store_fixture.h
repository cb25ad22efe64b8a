/*
 * store_fixture.h: what the store tests share (test_store.c, test_store_txn.c):
 * a temporary directory of databases, the sqlite3 CLI for tampering, and
 * hosts and keys to store.  Every function here is used by both files.
 */
#ifndef STORE_FIXTURE_H
#define STORE_FIXTURE_H

static char tmpdir[64];
static char dbpath[256];
static int dbn;

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

/* A fresh database path. */
static const char *
newdb(void)
{
	snprintf(dbpath, sizeof(dbpath), "%s/kdc%d.db", tmpdir, ++dbn);
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

/* Run ${sql} on ${path} with the sqlite3 CLI; return its exit status. */
static int
sqlcli(const char *path, const char *sql)
{
	char cmd[1024];
	int rc;

	snprintf(
	    cmd, sizeof(cmd), "sqlite3 '%s' \"%s\" >/dev/null 2>&1", path, sql);
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
	strcpy(h->name, name);
	strcpy(h->pub.comment, name);
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
	strcpy(k->service, service);
	k->client_addr[0] = 4;
	k->client_addr[16] = 9;
	k->not_before_ms = nb;
	k->not_after_ms = na;
	k->wrappedlen = 61;
	for (i = 0; i < k->wrappedlen; i++)
		k->wrapped[i] = (uint8_t)(i + k->key_id[0]);
}

#endif /* !STORE_FIXTURE_H */
