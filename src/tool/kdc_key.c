/*
 * kdc_key.c: cryptgate kdc key list|revoke|purge: the session keys the KDC
 * issued.  Only their metadata is shown: the keys themselves are stored
 * wrapped under the master key and never leave the database here.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptgate/log.h"
#include "cryptgate/store.h"

#include "kdc_int.h"

/* What key list shows of a key: never the wrapped bytes. */
struct kdc_key_row {
	uint8_t key_id[STORE_IDBYTES];
	uint8_t client_id[STORE_IDBYTES];
	uint8_t peer_id[STORE_IDBYTES];
	char service[STORE_SERVICEBYTES_MAX + 1];
	uint8_t client_addr[STORE_ADDRBYTES];
	int64_t not_before_ms;
	int64_t not_after_ms;
	bool revoked;
};

static const char *
kdc_key_state(const struct kdc_key_row *k, int64_t now)
{
	if (k->revoked)
		return ("revoked");
	if (now < k->not_before_ms)
		return ("not yet valid");
	if (now > k->not_after_ms)
		return ("expired");
	return ("valid");
}

static int
kdc_key_collect(const struct store_key *k, void *arg)
{
	struct kdc_key_row *v;

	if ((v = kdc_rows_add(arg, sizeof(*v), "kdc key list")) == NULL)
		return (-1);
	memcpy(v->key_id, k->key_id, STORE_IDBYTES);
	memcpy(v->client_id, k->client_id, STORE_IDBYTES);
	memcpy(v->peer_id, k->peer_id, STORE_IDBYTES);
	snprintf(v->service, sizeof(v->service), "%s", k->service);
	memcpy(v->client_addr, k->client_addr, STORE_ADDRBYTES);
	v->not_before_ms = k->not_before_ms;
	v->not_after_ms = k->not_after_ms;
	v->revoked = k->revoked;
	return (0);
}

/* One printed row. */
struct kdc_key_line {
	char client[KDC_LABELBYTES];
	char peer[KDC_LABELBYTES];
	char addr[KDC_ADDRSTRBYTES];
};

static void
kdc_key_line(
    struct kdc_ctx *ctx, struct kdc_key_line *l, const struct kdc_key_row *k)
{
	kdc_host_label(ctx, l->client, sizeof(l->client), k->client_id);
	kdc_host_label(ctx, l->peer, sizeof(l->peer), k->peer_id);
	kdc_addr_format(l->addr, sizeof(l->addr), k->client_addr);
}

static int
kdc_key_list(struct kdc_ctx *ctx)
{
	char hex[KDC_IDHEXBYTES], nb[KDC_TIMEBYTES], na[KDC_TIMEBYTES];
	struct kdc_rows rows = { NULL, 0, 0 };
	const struct kdc_key_row *v;
	struct kdc_key_line l;
	int wc = 6, wp = 4, ws = 7, wa = 11;
	int64_t now = kdc_now_ms();
	size_t i;

	/* Collect first, then look the names up: one statement at a time. */
	if (store_key_foreach(ctx->st, kdc_key_collect, &rows))
		goto err;
	v = rows.v;
	for (i = 0; i < rows.n; i++) {
		kdc_key_line(ctx, &l, &v[i]);
		kdc_width(&wc, l.client);
		kdc_width(&wp, l.peer);
		kdc_width(&ws, v[i].service);
		kdc_width(&wa, l.addr);
	}
	printf("%-32s  %-*s  %-*s  %-*s  %-*s  %-20s  %-20s  %s\n", "KEY ID",
	    wc, "CLIENT", wp, "PEER", ws, "SERVICE", wa, "CLIENT ADDR",
	    "NOT BEFORE", "NOT AFTER", "STATE");
	for (i = 0; i < rows.n; i++) {
		const struct kdc_key_row *k = &v[i];

		kdc_key_line(ctx, &l, k);
		kdc_time_iso(nb, sizeof(nb), k->not_before_ms, false);
		kdc_time_iso(na, sizeof(na), k->not_after_ms, false);
		printf("%-32s  %-*s  %-*s  %-*s  %-*s  %-20s  %-20s  %s\n",
		    kdc_hex_id(hex, k->key_id), wc, l.client, wp, l.peer, ws,
		    k->service, wa, l.addr, nb, na, kdc_key_state(k, now));
	}
	return (kdc_list_done(&rows));

err:
	free(rows.v);
	return (KDC_EXIT_FAIL);
}

static int
kdc_key_revoke(struct kdc_ctx *ctx)
{
	char hex[KDC_IDHEXBYTES], client[KDC_LABELBYTES];
	char peer[KDC_LABELBYTES];
	uint8_t id[STORE_IDBYTES];
	struct store_key k;
	int rc;

	if (!kdc_parse_id(id, ctx->args[0])) {
		log_warnx("%s: invalid key id '%s' (32 hex digits, as key "
		          "list shows)",
		    ctx->cmd, ctx->args[0]);
		return (KDC_EXIT_FAIL);
	}
	kdc_hex_id(hex, id);
	if (kdc_begin(ctx))
		return (KDC_EXIT_FAIL);
	if ((rc = store_key_get(ctx->st, id, &k)) != 0) {
		if (rc == STORE_NOTFOUND)
			log_warnx("%s: no session key with id %s in the "
			          "database",
			    ctx->cmd, hex);
		return (KDC_EXIT_FAIL);
	}
	/* The wrapped key is not needed here: drop it. */
	memset(k.wrapped, 0, sizeof(k.wrapped));
	if (k.revoked) {
		printf("session key %s was already revoked\n", hex);
		return (kdc_flush() ? KDC_EXIT_FAIL : KDC_EXIT_OK);
	}
	kdc_host_label(ctx, client, sizeof(client), k.client_id);
	kdc_host_label(ctx, peer, sizeof(peer), k.peer_id);
	if ((rc = store_key_revoke(ctx->st, id)) != 0) {
		if (rc == STORE_NOTFOUND)
			log_warnx("%s: no session key with id %s in the "
			          "database",
			    ctx->cmd, hex);
		return (KDC_EXIT_FAIL);
	}
	if (kdc_commit(ctx, "key revoke",
	        "key_id=%s client=%s peer=%s service=%s", hex, client, peer,
	        k.service))
		return (KDC_EXIT_FAIL);
	printf("session key %s revoked (%s -> %s, service %s)\n", hex, client,
	    peer, k.service);
	return (kdc_flush() ? KDC_EXIT_FAIL : KDC_EXIT_OK);
}

static int
kdc_key_purge(struct kdc_ctx *ctx)
{
	uint64_t count = 0;

	if (kdc_begin(ctx) || store_key_purge(ctx->st, kdc_now_ms(), &count) ||
	    kdc_commit(
	        ctx, "key purge", "purged=%llu", (unsigned long long)count))
		return (KDC_EXIT_FAIL);
	printf("purged %llu expired session key%s\n", (unsigned long long)count,
	    count == 1 ? "" : "s");
	return (kdc_flush() ? KDC_EXIT_FAIL : KDC_EXIT_OK);
}

const struct kdc_cmd kdc_key_cmds[] = {
	{ "key", "list", "", "List the session keys (never the keys)",
	    "Print a table of the session keys the KDC issued: key id, "
	    "client host,\n"
	    "peer host, service, client address, not-before and not-after "
	    "times\n"
	    "(ISO 8601, UTC) and state: valid, expired, revoked or not yet "
	    "valid.\n"
	    "The keys themselves are never shown.\n",
	    0, 0, 0, 0, kdc_key_list },
	{ "key", "revoke", "KEYID", "Revoke one session key",
	    "Mark the session key KEYID (32 hex digits, as key list shows) "
	    "revoked: the\n"
	    "KDC refuses to hand it out from then on (its next RETRIEVE "
	    "fails).\n",
	    0, 0, 1, 1, kdc_key_revoke },
	{ "key", "purge", "", "Delete the expired session keys",
	    "Delete the session keys whose not-after time has passed and "
	    "print how many\n"
	    "were deleted.  The daemon also purges them on its own.\n",
	    0, 0, 0, 0, kdc_key_purge },
	{ NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0, NULL },
};
