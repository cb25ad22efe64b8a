/*
 * pgstore_host.c: hosts, their key versions and the policy rules on
 * PostgreSQL (as store_host.c on SQLite).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <libpq-fe.h>

#include "cryptgate/encode.h"
#include "cryptgate/hostpub.h"
#include "cryptgate/log.h"
#include "cryptgate/store.h"

#include "pgstore_int.h"

#define HOST_COLS \
	"SELECT h.host_id, h.name, h.state, h.kvno, h.created_ms, h.addrs," \
	" k.type, k.sign_pk, k.seal_pk, k.comment FROM hosts h" \
	" LEFT JOIN host_keys k ON k.host_id = h.host_id AND k.kvno = h.kvno"

/* Columns of HOST_COLS. */
enum {
	HC_ID,
	HC_NAME,
	HC_STATE,
	HC_KVNO,
	HC_CREATED,
	HC_ADDRS,
	HC_TYPE, /* the key columns, as in host_key's query from here */
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
bad_row(struct pgstore *st, const uint8_t *id, const char *why)
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

/* As store_host.c's pub_row, from row ${row} of ${r}. */
static int
pub_row(struct pgstore *st, const PGresult *r, int row, int col,
    const uint8_t *id, uint16_t kvno, struct hostpub *pub)
{
	int64_t type;

	memset(pub, 0, sizeof(*pub));
	if (pgcol_int(r, row, col, &type) ||
	    (type != HOSTKEY_X25519 && type != HOSTKEY_RSA))
		return (bad_row(st, id, "unknown key type"));
	pub->type = (enum hostkey_type)type;
	if (pgcol_blob(
	        r, row, col + 1, pub->sign_pk, sizeof(pub->sign_pk), NULL) ||
	    pgcol_blob(r, row, col + 2, pub->seal_pk, sizeof(pub->seal_pk),
	        &pub->seal_pklen) ||
	    pgcol_text(r, row, col + 3, pub->comment, sizeof(pub->comment)) ||
	    pub_valid(pub))
		return (bad_row(st, id, "malformed keys"));
	if (hostpub_id_compute(
	        pub->host_id, pub->sign_pk, pub->seal_pk, pub->seal_pklen))
		return (-1);
	if (kvno == 1 && memcmp(pub->host_id, id, STORE_IDBYTES) != 0)
		return (bad_row(st, id, "the keys do not match the host id"));
	return (0);
}

/* Fill ${h} from row ${row} of a HOST_COLS result. */
static int
host_row(struct pgstore *st, const PGresult *r, int row, struct store_host *h)
{
	size_t addrlen;
	int64_t v;

	memset(h, 0, sizeof(*h));
	if (pgcol_blob(r, row, HC_ID, h->host_id, sizeof(h->host_id), NULL))
		return (bad_row(st, h->host_id, "malformed id"));
	if (pgcol_text(r, row, HC_NAME, h->name, sizeof(h->name)))
		return (bad_row(st, h->host_id, "malformed name"));
	if (pgcol_int(r, row, HC_STATE, &v) || v < STORE_HOST_PENDING ||
	    v > STORE_HOST_REVOKED)
		return (bad_row(st, h->host_id, "unknown state"));
	h->state = (enum store_host_state)v;
	if (pgcol_int(r, row, HC_KVNO, &v) || v < 1 || v > UINT16_MAX)
		return (bad_row(st, h->host_id, "bad key version"));
	h->kvno = (uint16_t)v;
	if (pgcol_int(r, row, HC_CREATED, &h->created_ms) ||
	    pgcol_blob(r, row, HC_ADDRS, &h->addrs[0][0], sizeof(h->addrs),
	        &addrlen) ||
	    addrlen % STORE_ADDRBYTES != 0)
		return (bad_row(st, h->host_id, "malformed addresses"));
	h->naddrs = addrlen / STORE_ADDRBYTES;
	if (PQgetisnull(r, row, HC_TYPE))
		return (bad_row(st, h->host_id, "no keys for its version"));
	return (pub_row(st, r, row, HC_TYPE, h->host_id, h->kvno, &h->pub));
}

/* Insert the key row (${id}, ${kvno}, ${pub}), current (no expiry). */
static int
insert_hostkey(struct pgstore *st, const uint8_t *id, uint16_t kvno,
    const struct hostpub *pub)
{
	struct pgparams p = { 0 };

	pgp_blob(&p, id, STORE_IDBYTES);
	pgp_int(&p, kvno);
	pgp_int(&p, (int64_t)pub->type);
	pgp_blob(&p, pub->sign_pk, SIGN_PUBLICBYTES);
	pgp_blob(&p, pub->seal_pk, pub->seal_pklen);
	pgp_text(&p, pub->comment);
	return (pgstore_query(st,
	    "INSERT INTO host_keys (host_id, kvno, type, sign_pk, seal_pk,"
	    " comment, valid_until_ms) VALUES ($1, $2, $3, $4, $5, $6, NULL)",
	    &p, "host key: insert", NULL));
}

int
pgstore_host_add(struct pgstore *st, const struct store_host *h)
{
	struct pgparams p = { 0 };
	uint8_t id[STORE_IDBYTES];
	uint64_t n = 0;
	int how, rc;

	if (!text_ok(h->name, STORE_NAMEBYTES_MAX) ||
	    h->state < STORE_HOST_PENDING || h->state > STORE_HOST_REVOKED ||
	    h->kvno == 0 || h->naddrs > STORE_HOSTADDRS_MAX ||
	    pub_valid(&h->pub))
		return (pgstore_failx(st, "host add: invalid host"));
	if (h->kvno == 1 &&
	    (hostpub_id_compute(
	         id, h->pub.sign_pk, h->pub.seal_pk, h->pub.seal_pklen) ||
	        memcmp(id, h->host_id, STORE_IDBYTES) != 0))
		return (pgstore_failx(
		    st, "host add: the id is not that of the keys"));
	if (pgstore_op_begin(st, &how))
		return (-1);
	pgp_blob(&p, h->host_id, STORE_IDBYTES);
	pgp_text(&p, h->name);
	pgp_int(&p, (int64_t)h->state);
	pgp_int(&p, h->kvno);
	pgp_int(&p, h->created_ms);
	pgp_blob(&p, &h->addrs[0][0], h->naddrs * STORE_ADDRBYTES);
	/* A taken id or name inserts nothing, without an error. */
	rc = pgstore_changes(st,
	    "INSERT INTO hosts (host_id, name, state, kvno, created_ms, addrs)"
	    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
	    &p, "host add", &n);
	if (rc == 0 && n == 0)
		rc = STORE_DUPLICATE;
	else if (rc == 0)
		rc = insert_hostkey(st, h->host_id, h->kvno, &h->pub);
	if (pgstore_op_end(st, how, rc == 0))
		rc = -1;
	return (rc);
}

/* Run the host query ${sql} with ${p} and fill ${h}. */
static int
host_query(struct pgstore *st, const char *sql, const struct pgparams *p,
    struct store_host *h)
{
	PGresult *r;
	int ret;

	if (pgstore_query(st, sql, p, "host get", &r))
		return (-1);
	ret = PQntuples(r) == 0 ? STORE_NOTFOUND : host_row(st, r, 0, h);
	PQclear(r);
	return (ret);
}

int
pgstore_host_get(struct pgstore *st, const uint8_t id[static STORE_IDBYTES],
    struct store_host *h)
{
	struct pgparams p = { 0 };

	pgp_blob(&p, id, STORE_IDBYTES);
	return (host_query(st, HOST_COLS " WHERE h.host_id = $1", &p, h));
}

int
pgstore_host_get_by_name(
    struct pgstore *st, const char *name, struct store_host *h)
{
	struct pgparams p = { 0 };

	if (name == NULL ||
	    strnlen(name, STORE_NAMEBYTES_MAX + 1) > STORE_NAMEBYTES_MAX ||
	    !text_ok(name, STORE_NAMEBYTES_MAX))
		return (STORE_NOTFOUND);
	pgp_text(&p, name);
	return (host_query(st, HOST_COLS " WHERE h.name = $1", &p, h));
}

int
pgstore_host_key(struct pgstore *st, const uint8_t id[static STORE_IDBYTES],
    uint16_t kvno, int64_t now_ms, struct hostpub *pub)
{
	struct pgparams p = { 0 };
	PGresult *r;
	int ret;

	pgp_blob(&p, id, STORE_IDBYTES);
	pgp_int(&p, kvno);
	pgp_int(&p, now_ms);
	if (pgstore_query(st,
	        "SELECT type, sign_pk, seal_pk, comment FROM host_keys"
	        " WHERE host_id = $1 AND kvno = $2 AND"
	        " (valid_until_ms IS NULL OR valid_until_ms > $3)",
	        &p, "host key", &r))
		return (-1);
	ret = PQntuples(r) == 0 ? STORE_NOTFOUND
	                        : pub_row(st, r, 0, 0, id, kvno, pub);
	PQclear(r);
	return (ret);
}

int
pgstore_host_set_state(struct pgstore *st,
    const uint8_t id[static STORE_IDBYTES], enum store_host_state state)
{
	struct pgparams p = { 0 };
	uint64_t n;

	if (state < STORE_HOST_PENDING || state > STORE_HOST_REVOKED)
		return (pgstore_failx(st, "host state: invalid state"));
	if (pgstore_write_ok(st))
		return (-1);
	pgp_blob(&p, id, STORE_IDBYTES);
	pgp_int(&p, (int64_t)state);
	if (pgstore_changes(st,
	        "UPDATE hosts SET state = $2 WHERE host_id = $1", &p,
	        "host state", &n))
		return (-1);
	return (n == 0 ? STORE_NOTFOUND : 0);
}

/* The body of pgstore_host_rotate, inside its transaction or savepoint. */
static int
rotate(struct pgstore *st, const uint8_t *id, const struct hostpub *pub,
    uint16_t new_kvno, int64_t old_valid_until_ms)
{
	struct pgparams p = { 0 };
	PGresult *r;
	int64_t cur;
	int rc;

	pgp_blob(&p, id, STORE_IDBYTES);
	if (pgstore_query(st,
	        "SELECT kvno FROM hosts WHERE host_id = $1 FOR UPDATE", &p,
	        "host rotate", &r))
		return (-1);
	rc = PQntuples(r) == 0 ? STORE_NOTFOUND
	    : pgcol_int(r, 0, 0, &cur)
	    ? pgstore_failx(st, "host rotate: malformed row")
	    : 0;
	PQclear(r);
	if (rc != 0)
		return (rc);
	if (new_kvno <= cur)
		return (pgstore_failx(st,
		    "host rotate: the new key version "
		    "must be greater than the current one"));
	pgp_int(&p, cur);
	pgp_int(&p, old_valid_until_ms);
	if (pgstore_query(st,
	        "UPDATE host_keys SET valid_until_ms = $3"
	        " WHERE host_id = $1 AND kvno = $2",
	        &p, "host rotate", NULL) ||
	    insert_hostkey(st, id, new_kvno, pub))
		return (-1);
	memset(&p, 0, sizeof(p));
	pgp_blob(&p, id, STORE_IDBYTES);
	pgp_int(&p, new_kvno);
	return (
	    pgstore_query(st, "UPDATE hosts SET kvno = $2 WHERE host_id = $1",
	        &p, "host rotate", NULL));
}

int
pgstore_host_rotate(struct pgstore *st, const uint8_t id[static STORE_IDBYTES],
    const struct hostpub *pub, uint16_t new_kvno, int64_t old_valid_until_ms)
{
	int how, rc;

	if (pub_valid(pub))
		return (pgstore_failx(st, "host rotate: invalid keys"));
	if (pgstore_op_begin(st, &how))
		return (-1);
	rc = rotate(st, id, pub, new_kvno, old_valid_until_ms);
	if (pgstore_op_end(st, how, rc == 0))
		rc = -1;
	return (rc);
}

int
pgstore_host_remove(struct pgstore *st, const uint8_t id[static STORE_IDBYTES])
{
	struct pgparams p = { 0 };
	uint64_t n;

	if (pgstore_write_ok(st))
		return (-1);
	pgp_blob(&p, id, STORE_IDBYTES);
	/* The foreign keys cascade to keys, policy and session keys. */
	if (pgstore_changes(st, "DELETE FROM hosts WHERE host_id = $1", &p,
	        "host remove", &n))
		return (-1);
	return (n == 0 ? STORE_NOTFOUND : 0);
}

int
pgstore_host_foreach(
    struct pgstore *st, int (*cb)(const struct store_host *, void *), void *arg)
{
	struct store_host h;
	PGresult *r;
	int i, ret = 0;

	if (pgstore_query(
	        st, HOST_COLS " ORDER BY h.name", NULL, "host list", &r))
		return (-1);
	for (i = 0; i < PQntuples(r); i++) {
		if (host_row(st, r, i, &h) || cb(&h, arg) != 0) {
			ret = -1;
			break;
		}
	}
	PQclear(r);
	return (ret);
}

int
pgstore_policy_allow(struct pgstore *st,
    const uint8_t client[static STORE_IDBYTES],
    const uint8_t peer[static STORE_IDBYTES], const char *service)
{
	struct pgparams p = { 0 };
	PGresult *r;
	int64_t n;
	int rc;

	if (!text_ok(service, STORE_SERVICEBYTES_MAX))
		return (pgstore_failx(st, "policy allow: invalid service"));
	if (pgstore_write_ok(st))
		return (-1);
	pgp_blob(&p, client, STORE_IDBYTES);
	pgp_blob(&p, peer, STORE_IDBYTES);
	/*
	 * Check the hosts first: a foreign key error would abort the
	 * caller's transaction, which SQLite's does not.
	 */
	if (pgstore_query(st,
	        "SELECT count(*) FROM hosts WHERE host_id IN ($1, $2)", &p,
	        "policy allow", &r))
		return (-1);
	rc = pgcol_int(r, 0, 0, &n);
	PQclear(r);
	if (rc != 0 || n != (memcmp(client, peer, STORE_IDBYTES) ? 2 : 1))
		return (pgstore_failx(st, "policy allow: no such host"));
	pgp_text(&p, service);
	/* Allowing twice is not an error. */
	return (pgstore_query(st,
	    "INSERT INTO policy (client_id, peer_id, service)"
	    " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
	    &p, "policy allow", NULL));
}

int
pgstore_policy_deny(struct pgstore *st,
    const uint8_t client[static STORE_IDBYTES],
    const uint8_t peer[static STORE_IDBYTES], const char *service)
{
	struct pgparams p = { 0 };
	uint64_t n;

	if (service == NULL)
		return (pgstore_failx(st, "policy deny: invalid service"));
	if (pgstore_write_ok(st))
		return (-1);
	pgp_blob(&p, client, STORE_IDBYTES);
	pgp_blob(&p, peer, STORE_IDBYTES);
	pgp_text(&p, service);
	if (pgstore_changes(st,
	        "DELETE FROM policy WHERE client_id = $1 AND peer_id = $2"
	        " AND service = $3",
	        &p, "policy deny", &n))
		return (-1);
	return (n == 0 ? STORE_NOTFOUND : 0);
}

int
pgstore_policy_check(struct pgstore *st,
    const uint8_t client[static STORE_IDBYTES],
    const uint8_t peer[static STORE_IDBYTES], const char *service,
    bool *allowed)
{
	struct pgparams p = { 0 };
	PGresult *r;

	*allowed = false;
	if (service == NULL)
		return (pgstore_failx(st, "policy check: invalid service"));
	pgp_blob(&p, client, STORE_IDBYTES);
	pgp_blob(&p, peer, STORE_IDBYTES);
	pgp_text(&p, service);
	if (pgstore_query(st,
	        "SELECT 1 FROM policy WHERE client_id = $1 AND peer_id = $2"
	        " AND service IN ($3, '*'::bytea) LIMIT 1",
	        &p, "policy check", &r))
		return (-1);
	*allowed = PQntuples(r) > 0;
	PQclear(r);
	return (0);
}

int
pgstore_policy_foreach(struct pgstore *st,
    int (*cb)(const uint8_t *client, const uint8_t *peer, const char *service,
        void *arg),
    void *arg)
{
	uint8_t client[STORE_IDBYTES], peer[STORE_IDBYTES];
	char service[STORE_SERVICEBYTES_MAX + 1];
	PGresult *r;
	int i, ret = 0;

	if (pgstore_query(st,
	        "SELECT client_id, peer_id, service FROM policy"
	        " ORDER BY client_id, peer_id, service",
	        NULL, "policy list", &r))
		return (-1);
	for (i = 0; i < PQntuples(r); i++) {
		if (pgcol_blob(r, i, 0, client, sizeof(client), NULL) ||
		    pgcol_blob(r, i, 1, peer, sizeof(peer), NULL) ||
		    pgcol_text(r, i, 2, service, sizeof(service))) {
			ret = pgstore_failx(st, "policy list: malformed rule");
			break;
		}
		if (cb(client, peer, service, arg) != 0) {
			ret = -1;
			break;
		}
	}
	PQclear(r);
	return (ret);
}
