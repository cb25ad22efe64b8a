/*
 * store_host.c: hosts, their key versions, and the policy rules.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "cryptgate/encode.h"
#include "cryptgate/hostpub.h"
#include "cryptgate/log.h"
#include "cryptgate/store.h"

#include "store_int.h"

/* Columns of the host queries (HOST_COLS in store.c). */
enum {
	HC_ID,
	HC_NAME,
	HC_STATE,
	HC_KVNO,
	HC_CREATED,
	HC_ADDRS,
	HC_TYPE, /* the key columns, as in S_HOST_KEY from here */
};

/* true if ${s} is 1..${max} bytes without control characters. */
static bool
text_ok(const char *s, size_t max)
{
	size_t i, len;

	if (s == NULL || (len = strnlen(s, max + 1)) == 0 || len > max)
		return (false);
	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return (false);
	}
	return (true);
}

/* Log that the stored row of host ${id} is malformed.  Return -1. */
static int
bad_row(struct sqlstore *st, const uint8_t *id, const char *why)
{
	char hex[ENCODE_HEXLEN(STORE_IDBYTES) + 1];

	if (encode_hex(hex, sizeof(hex), id, STORE_IDBYTES))
		strcpy(hex, "?");
	log_warnx("store: host %s: %s (database tampered with?)", hex, why);
	st->audit_head_valid = false;
	return (-1);
}

/* Check the parts of ${pub} that are stored. */
static int
pub_valid(const struct hostpub *pub)
{
	bool x25519, rsa;

	x25519 = pub->type == HOSTKEY_X25519 &&
	    pub->seal_pklen == X25519_PUBLICBYTES;
	rsa = pub->type == HOSTKEY_RSA && pub->seal_pklen > 0 &&
	    pub->seal_pklen <= HOSTPUB_SEALPKBYTES_MAX;
	if (!x25519 && !rsa)
		return (-1);
	if (strnlen(pub->comment, sizeof(pub->comment)) >= sizeof(pub->comment))
		return (-1);
	return (0);
}

/*
 * Fill ${pub} from the key columns starting at ${col} of ${s} (type,
 * sign_pk, seal_pk, comment) and compute its host id.  ${id} is the host's
 * id: the keys of version 1 must hash to it.
 */
static int
pub_row(struct sqlstore *st, sqlite3_stmt *s, int col, const uint8_t *id,
    uint16_t kvno, struct hostpub *pub)
{
	int64_t type;

	memset(pub, 0, sizeof(*pub));
	type = sqlite3_column_int64(s, col);
	if (type != HOSTKEY_X25519 && type != HOSTKEY_RSA)
		return (bad_row(st, id, "unknown key type"));
	pub->type = (enum hostkey_type)type;
	if (store_col_blob(
	        s, col + 1, pub->sign_pk, sizeof(pub->sign_pk), NULL) ||
	    store_col_blob(s, col + 2, pub->seal_pk, sizeof(pub->seal_pk),
	        &pub->seal_pklen) ||
	    store_col_text(s, col + 3, pub->comment, sizeof(pub->comment)) ||
	    pub_valid(pub))
		return (bad_row(st, id, "malformed keys"));
	if (hostpub_id_compute(
	        pub->host_id, pub->sign_pk, pub->seal_pk, pub->seal_pklen))
		return (-1);
	if (kvno == 1 && memcmp(pub->host_id, id, STORE_IDBYTES) != 0)
		return (bad_row(st, id, "the keys do not match the host id"));
	return (0);
}

/* Fill ${h} from the current row of a host query ${s}. */
static int
host_row(struct sqlstore *st, sqlite3_stmt *s, struct store_host *h)
{
	size_t addrlen;
	int64_t v;

	memset(h, 0, sizeof(*h));
	if (store_col_blob(s, HC_ID, h->host_id, sizeof(h->host_id), NULL))
		return (bad_row(st, h->host_id, "malformed id"));
	if (store_col_text(s, HC_NAME, h->name, sizeof(h->name)))
		return (bad_row(st, h->host_id, "malformed name"));
	v = sqlite3_column_int64(s, HC_STATE);
	if (v < STORE_HOST_PENDING || v > STORE_HOST_REVOKED)
		return (bad_row(st, h->host_id, "unknown state"));
	h->state = (enum store_host_state)v;
	v = sqlite3_column_int64(s, HC_KVNO);
	if (v < 1 || v > UINT16_MAX)
		return (bad_row(st, h->host_id, "bad key version"));
	h->kvno = (uint16_t)v;
	h->created_ms = sqlite3_column_int64(s, HC_CREATED);
	if (store_col_blob(
	        s, HC_ADDRS, &h->addrs[0][0], sizeof(h->addrs), &addrlen) ||
	    addrlen % STORE_ADDRBYTES != 0)
		return (bad_row(st, h->host_id, "malformed addresses"));
	h->naddrs = addrlen / STORE_ADDRBYTES;
	if (sqlite3_column_type(s, HC_TYPE) == SQLITE_NULL)
		return (bad_row(st, h->host_id, "no keys for its version"));
	return (pub_row(st, s, HC_TYPE, h->host_id, h->kvno, &h->pub));
}

/* Insert the key row (${id}, ${kvno}, ${pub}), current (no expiry). */
static int
insert_hostkey(struct sqlstore *st, const uint8_t *id, uint16_t kvno,
    const struct hostpub *pub)
{
	sqlite3_stmt *s = st->stmt[S_HOSTKEY_INSERT];

	if (sqlite3_bind_blob(s, 1, id, STORE_IDBYTES, SQLITE_STATIC) ||
	    sqlite3_bind_int(s, 2, kvno) ||
	    sqlite3_bind_int(s, 3, (int)pub->type) ||
	    sqlite3_bind_blob(
	        s, 4, pub->sign_pk, SIGN_PUBLICBYTES, SQLITE_STATIC) ||
	    sqlite3_bind_blob(
	        s, 5, pub->seal_pk, (int)pub->seal_pklen, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 6, pub->comment, -1, SQLITE_STATIC)) {
		store_done(s);
		return (store_fail(st, "host key: bind"));
	}
	return (store_exec(st, S_HOSTKEY_INSERT, "host key: insert"));
}

int
sqlstore_host_add(struct sqlstore *st, const struct store_host *h)
{
	sqlite3_stmt *s = st->stmt[S_HOST_INSERT];
	uint8_t id[STORE_IDBYTES];
	int how, rc;

	if (!text_ok(h->name, STORE_NAMEBYTES_MAX) ||
	    h->state < STORE_HOST_PENDING || h->state > STORE_HOST_REVOKED ||
	    h->kvno < 1 || h->naddrs > STORE_HOSTADDRS_MAX ||
	    pub_valid(&h->pub))
		return (store_failx(st, "host add: invalid host"));
	if (h->kvno == 1) {
		if (hostpub_id_compute(
		        id, h->pub.sign_pk, h->pub.seal_pk, h->pub.seal_pklen))
			return (-1);
		if (memcmp(id, h->host_id, STORE_IDBYTES) != 0)
			return (store_failx(st,
			    "host add: the host id does "
			    "not match its keys"));
	}
	if (store_op_begin(st, &how))
		return (-1);
	if (sqlite3_bind_blob(s, 1, h->host_id, STORE_IDBYTES, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 2, h->name, -1, SQLITE_STATIC) ||
	    sqlite3_bind_int(s, 3, (int)h->state) ||
	    sqlite3_bind_int(s, 4, h->kvno) ||
	    sqlite3_bind_int64(s, 5, h->created_ms) ||
	    sqlite3_bind_blob(s, 6, &h->addrs[0][0],
	        (int)(h->naddrs * STORE_ADDRBYTES), SQLITE_STATIC)) {
		store_done(s);
		rc = store_fail(st, "host add: bind");
	} else if ((rc = store_exec(st, S_HOST_INSERT, "host add")) == 0)
		rc = insert_hostkey(st, h->host_id, h->kvno, &h->pub);
	if (store_op_end(st, how, rc == 0))
		rc = -1;
	return (rc);
}

/* Run the host query ${id} bound by the caller and fill ${h}. */
static int
host_query(struct sqlstore *st, enum store_stmt id, struct store_host *h)
{
	sqlite3_stmt *s = st->stmt[id];
	int rc, ret;

	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		ret = host_row(st, s, h);
	else if (rc == SQLITE_DONE)
		ret = STORE_NOTFOUND;
	else
		ret = store_fail(st, "host get");
	store_done(s);
	return (ret);
}

int
sqlstore_host_get(struct sqlstore *st, const uint8_t id[static STORE_IDBYTES],
    struct store_host *h)
{
	sqlite3_stmt *s = st->stmt[S_HOST_GET];

	if (sqlite3_bind_blob(s, 1, id, STORE_IDBYTES, SQLITE_STATIC)) {
		store_done(s);
		return (store_fail(st, "host get: bind"));
	}
	return (host_query(st, S_HOST_GET, h));
}

int
sqlstore_host_get_by_name(
    struct sqlstore *st, const char *name, struct store_host *h)
{
	sqlite3_stmt *s = st->stmt[S_HOST_GET_NAME];

	if (name == NULL ||
	    strnlen(name, STORE_NAMEBYTES_MAX + 1) > STORE_NAMEBYTES_MAX)
		return (STORE_NOTFOUND);
	if (sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC)) {
		store_done(s);
		return (store_fail(st, "host get: bind"));
	}
	return (host_query(st, S_HOST_GET_NAME, h));
}

int
sqlstore_host_key(struct sqlstore *st, const uint8_t id[static STORE_IDBYTES],
    uint16_t kvno, int64_t now_ms, struct hostpub *pub)
{
	sqlite3_stmt *s = st->stmt[S_HOST_KEY];
	int rc, ret;

	if (sqlite3_bind_blob(s, 1, id, STORE_IDBYTES, SQLITE_STATIC) ||
	    sqlite3_bind_int(s, 2, kvno) || sqlite3_bind_int64(s, 3, now_ms)) {
		store_done(s);
		return (store_fail(st, "host key: bind"));
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		ret = pub_row(st, s, 0, id, kvno, pub);
	else if (rc == SQLITE_DONE)
		ret = STORE_NOTFOUND;
	else
		ret = store_fail(st, "host key");
	store_done(s);
	return (ret);
}

int
sqlstore_host_set_state(struct sqlstore *st,
    const uint8_t id[static STORE_IDBYTES], enum store_host_state state)
{
	sqlite3_stmt *s = st->stmt[S_HOST_SET_STATE];

	if (state < STORE_HOST_PENDING || state > STORE_HOST_REVOKED)
		return (store_failx(st, "host state: invalid state"));
	if (store_write_ok(st))
		return (-1);
	if (sqlite3_bind_blob(s, 1, id, STORE_IDBYTES, SQLITE_STATIC) ||
	    sqlite3_bind_int(s, 2, (int)state)) {
		store_done(s);
		return (store_fail(st, "host state: bind"));
	}
	if (store_exec(st, S_HOST_SET_STATE, "host state"))
		return (-1);
	return (sqlite3_changes(st->db) == 0 ? STORE_NOTFOUND : 0);
}

/* The body of sqlstore_host_rotate, inside its transaction or savepoint. */
static int
rotate(struct sqlstore *st, const uint8_t *id, const struct hostpub *pub,
    uint16_t new_kvno, int64_t old_valid_until_ms)
{
	sqlite3_stmt *s;
	int64_t cur;
	int rc;

	s = st->stmt[S_HOST_KVNO];
	if (sqlite3_bind_blob(s, 1, id, STORE_IDBYTES, SQLITE_STATIC)) {
		store_done(s);
		return (store_fail(st, "host rotate: bind"));
	}
	cur = (rc = sqlite3_step(s)) == SQLITE_ROW ? sqlite3_column_int64(s, 0)
	                                           : 0;
	store_done(s);
	if (rc == SQLITE_DONE)
		return (STORE_NOTFOUND);
	if (rc != SQLITE_ROW)
		return (store_fail(st, "host rotate"));
	if (new_kvno <= cur)
		return (store_failx(st,
		    "host rotate: the new key version "
		    "must be greater than the current one"));

	s = st->stmt[S_HOSTKEY_EXPIRE];
	if (sqlite3_bind_blob(s, 1, id, STORE_IDBYTES, SQLITE_STATIC) ||
	    sqlite3_bind_int64(s, 2, cur) ||
	    sqlite3_bind_int64(s, 3, old_valid_until_ms)) {
		store_done(s);
		return (store_fail(st, "host rotate: bind"));
	}
	if (store_exec(st, S_HOSTKEY_EXPIRE, "host rotate") ||
	    insert_hostkey(st, id, new_kvno, pub))
		return (-1);

	s = st->stmt[S_HOST_SET_KVNO];
	if (sqlite3_bind_blob(s, 1, id, STORE_IDBYTES, SQLITE_STATIC) ||
	    sqlite3_bind_int(s, 2, new_kvno)) {
		store_done(s);
		return (store_fail(st, "host rotate: bind"));
	}
	return (store_exec(st, S_HOST_SET_KVNO, "host rotate") ? -1 : 0);
}

int
sqlstore_host_rotate(struct sqlstore *st,
    const uint8_t id[static STORE_IDBYTES], const struct hostpub *pub,
    uint16_t new_kvno, int64_t old_valid_until_ms)
{
	int how, rc;

	if (pub_valid(pub))
		return (store_failx(st, "host rotate: invalid keys"));
	if (store_op_begin(st, &how))
		return (-1);
	rc = rotate(st, id, pub, new_kvno, old_valid_until_ms);
	if (store_op_end(st, how, rc == 0))
		rc = -1;
	return (rc);
}

int
sqlstore_host_remove(
    struct sqlstore *st, const uint8_t id[static STORE_IDBYTES])
{
	sqlite3_stmt *s = st->stmt[S_HOST_DELETE];

	if (store_write_ok(st))
		return (-1);
	if (sqlite3_bind_blob(s, 1, id, STORE_IDBYTES, SQLITE_STATIC)) {
		store_done(s);
		return (store_fail(st, "host remove: bind"));
	}
	/* The foreign keys cascade to keys, policy and session keys. */
	if (store_exec(st, S_HOST_DELETE, "host remove"))
		return (-1);
	return (sqlite3_changes(st->db) == 0 ? STORE_NOTFOUND : 0);
}

int
sqlstore_host_foreach(struct sqlstore *st,
    int (*cb)(const struct store_host *, void *), void *arg)
{
	sqlite3_stmt *s = st->stmt[S_HOST_FOREACH];
	struct store_host h;
	int rc, ret = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (host_row(st, s, &h) || cb(&h, arg) != 0) {
			ret = -1;
			break;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = store_fail(st, "host list");
	store_done(s);
	return (ret);
}

/* Bind (client, peer, service) to the first parameters of ${s}. */
static int
bind_rule(struct sqlstore *st, sqlite3_stmt *s, const uint8_t *client,
    const uint8_t *peer, const char *service)
{
	if (sqlite3_bind_blob(s, 1, client, STORE_IDBYTES, SQLITE_STATIC) ||
	    sqlite3_bind_blob(s, 2, peer, STORE_IDBYTES, SQLITE_STATIC) ||
	    sqlite3_bind_text(s, 3, service, -1, SQLITE_STATIC)) {
		store_done(s);
		return (store_fail(st, "policy: bind"));
	}
	return (0);
}

int
sqlstore_policy_allow(struct sqlstore *st,
    const uint8_t client[static STORE_IDBYTES],
    const uint8_t peer[static STORE_IDBYTES], const char *service)
{
	if (!text_ok(service, STORE_SERVICEBYTES_MAX))
		return (store_failx(st, "policy allow: invalid service"));
	if (store_write_ok(st) ||
	    bind_rule(st, st->stmt[S_POLICY_INSERT], client, peer, service))
		return (-1);
	/* INSERT OR IGNORE: allowing twice is not an error. */
	return (store_exec(st, S_POLICY_INSERT, "policy allow") ? -1 : 0);
}

int
sqlstore_policy_deny(struct sqlstore *st,
    const uint8_t client[static STORE_IDBYTES],
    const uint8_t peer[static STORE_IDBYTES], const char *service)
{
	if (service == NULL)
		return (store_failx(st, "policy deny: invalid service"));
	if (store_write_ok(st) ||
	    bind_rule(st, st->stmt[S_POLICY_DELETE], client, peer, service) ||
	    store_exec(st, S_POLICY_DELETE, "policy deny"))
		return (-1);
	return (sqlite3_changes(st->db) == 0 ? STORE_NOTFOUND : 0);
}

int
sqlstore_policy_check(struct sqlstore *st,
    const uint8_t client[static STORE_IDBYTES],
    const uint8_t peer[static STORE_IDBYTES], const char *service,
    bool *allowed)
{
	sqlite3_stmt *s = st->stmt[S_POLICY_CHECK];
	int rc, ret = 0;

	*allowed = false;
	if (service == NULL)
		return (store_failx(st, "policy check: invalid service"));
	if (bind_rule(st, s, client, peer, service))
		return (-1);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*allowed = true;
	else if (rc != SQLITE_DONE)
		ret = store_fail(st, "policy check");
	store_done(s);
	return (ret);
}

int
sqlstore_policy_foreach(struct sqlstore *st,
    int (*cb)(const uint8_t *client, const uint8_t *peer, const char *service,
        void *arg),
    void *arg)
{
	sqlite3_stmt *s = st->stmt[S_POLICY_FOREACH];
	uint8_t client[STORE_IDBYTES], peer[STORE_IDBYTES];
	char service[STORE_SERVICEBYTES_MAX + 1];
	int rc, ret = 0;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (store_col_blob(s, 0, client, sizeof(client), NULL) ||
		    store_col_blob(s, 1, peer, sizeof(peer), NULL) ||
		    store_col_text(s, 2, service, sizeof(service))) {
			ret = store_failx(st, "policy list: malformed rule");
			break;
		}
		if (cb(client, peer, service, arg) != 0) {
			ret = -1;
			break;
		}
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = store_fail(st, "policy list");
	store_done(s);
	return (ret);
}
