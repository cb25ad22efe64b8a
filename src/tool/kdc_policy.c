/*
 * kdc_policy.c: cryptgate kdc policy allow|deny|list: which client host
 * may obtain a session key for which peer host and service.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptgate/log.h"
#include "cryptgate/store.h"
#include "cryptgate/wire.h"

#include "kdc_int.h"

/* Check the SERVICE argument: a protocol service name or "*". */
static int
kdc_policy_service(struct kdc_ctx *ctx, const char *service)
{
	if (strcmp(service, "*") == 0 ||
	    wire_name_is_valid(service, WIRE_SERVICE_MAX))
		return (0);
	log_warnx("%s: invalid service name '%s' (1..%d characters of A-Z "
	          "a-z 0-9 . _ -, or '*' for any service)",
	    ctx->cmd, service, WIRE_SERVICE_MAX);
	return (-1);
}

/* Resolve CLIENT and PEER (inside the transaction) and check SERVICE. */
static int
kdc_policy_args(
    struct kdc_ctx *ctx, struct store_host *client, struct store_host *peer)
{
	if (kdc_policy_service(ctx, ctx->args[2]) ||
	    kdc_host_resolve(ctx, ctx->args[0], client) ||
	    kdc_host_resolve(ctx, ctx->args[1], peer))
		return (-1);
	return (0);
}

/*
 * Commit the change ${op} of the rule ${client} ${peer} ${service}, with its
 * audit record.  Return 0 or -1 (reported).
 */
static int
kdc_policy_commit(struct kdc_ctx *ctx, const char *op,
    const struct store_host *client, const struct store_host *peer,
    const char *service)
{
	char chex[KDC_IDHEXBYTES], phex[KDC_IDHEXBYTES];

	return (kdc_commit(ctx, op,
	    "client=%s client_id=%s peer=%s peer_id=%s service=%s",
	    client->name, kdc_hex_id(chex, client->host_id), peer->name,
	    kdc_hex_id(phex, peer->host_id), service));
}

/* Looking for one exact rule in store_policy_foreach. */
struct kdc_policy_find {
	const uint8_t *client;
	const uint8_t *peer;
	const char *service;
	bool found;
};

static int
kdc_policy_match(
    const uint8_t *client, const uint8_t *peer, const char *service, void *arg)
{
	struct kdc_policy_find *f = arg;

	if (memcmp(client, f->client, STORE_IDBYTES) == 0 &&
	    memcmp(peer, f->peer, STORE_IDBYTES) == 0 &&
	    strcmp(service, f->service) == 0)
		f->found = true;
	return (0);
}

static int
kdc_policy_allow(struct kdc_ctx *ctx)
{
	struct store_host client, peer;
	struct kdc_policy_find find;
	const char *service = ctx->args[2];
	int rc;

	if (kdc_begin(ctx) || kdc_policy_args(ctx, &client, &peer))
		return (KDC_EXIT_FAIL);
	/* The store adds a rule that exists as a no-op: say so instead. */
	find.client = client.host_id;
	find.peer = peer.host_id;
	find.service = service;
	find.found = false;
	if (store_policy_foreach(ctx->st, kdc_policy_match, &find))
		return (KDC_EXIT_FAIL);
	rc = find.found ? STORE_DUPLICATE : 0;
	if (rc != 0 ||
	    (rc = store_policy_allow(
	         ctx->st, client.host_id, peer.host_id, service)) != 0) {
		if (rc == STORE_DUPLICATE)
			log_warnx("%s: %s may already get keys for %s, "
			          "service %s",
			    ctx->cmd, client.name, peer.name, service);
		return (KDC_EXIT_FAIL);
	}
	if (kdc_policy_commit(ctx, "policy allow", &client, &peer, service))
		return (KDC_EXIT_FAIL);
	printf("allowed: %s may get keys for %s, service %s\n", client.name,
	    peer.name, service);
	return (kdc_flush() ? KDC_EXIT_FAIL : KDC_EXIT_OK);
}

static int
kdc_policy_deny(struct kdc_ctx *ctx)
{
	struct store_host client, peer;
	const char *service = ctx->args[2];
	int rc;

	if (kdc_begin(ctx) || kdc_policy_args(ctx, &client, &peer))
		return (KDC_EXIT_FAIL);
	if ((rc = store_policy_deny(
	         ctx->st, client.host_id, peer.host_id, service)) != 0) {
		if (rc == STORE_NOTFOUND)
			log_warnx("%s: no rule lets %s get keys for %s, "
			          "service %s (see cryptgate kdc policy list)",
			    ctx->cmd, client.name, peer.name, service);
		return (KDC_EXIT_FAIL);
	}
	if (kdc_policy_commit(ctx, "policy deny", &client, &peer, service))
		return (KDC_EXIT_FAIL);
	printf("denied: %s may no longer get keys for %s, service %s\n",
	    client.name, peer.name, service);
	return (kdc_flush() ? KDC_EXIT_FAIL : KDC_EXIT_OK);
}

struct kdc_policy_rule {
	uint8_t client[STORE_IDBYTES];
	uint8_t peer[STORE_IDBYTES];
	char service[STORE_SERVICEBYTES_MAX + 1];
};

static int
kdc_policy_collect(
    const uint8_t *client, const uint8_t *peer, const char *service, void *arg)
{
	struct kdc_policy_rule *v;

	if ((v = kdc_rows_add(arg, sizeof(*v), "kdc policy list")) == NULL)
		return (-1);
	memcpy(v->client, client, STORE_IDBYTES);
	memcpy(v->peer, peer, STORE_IDBYTES);
	snprintf(v->service, sizeof(v->service), "%s", service);
	return (0);
}

static int
kdc_policy_list(struct kdc_ctx *ctx)
{
	char client[KDC_LABELBYTES], peer[KDC_LABELBYTES];
	struct kdc_rows rows = { NULL, 0, 0 };
	const struct kdc_policy_rule *v;
	int wc = 6, wp = 4;
	size_t i;

	/* Collect first, then look the names up: one statement at a time. */
	if (store_policy_foreach(ctx->st, kdc_policy_collect, &rows))
		goto err;
	v = rows.v;
	for (i = 0; i < rows.n; i++) {
		kdc_host_label(ctx, client, sizeof(client), v[i].client);
		kdc_host_label(ctx, peer, sizeof(peer), v[i].peer);
		kdc_width(&wc, client);
		kdc_width(&wp, peer);
	}
	printf("%-*s  %-*s  %s\n", wc, "CLIENT", wp, "PEER", "SERVICE");
	for (i = 0; i < rows.n; i++) {
		kdc_host_label(ctx, client, sizeof(client), v[i].client);
		kdc_host_label(ctx, peer, sizeof(peer), v[i].peer);
		printf("%-*s  %-*s  %s\n", wc, client, wp, peer, v[i].service);
	}
	return (kdc_list_done(&rows));

err:
	free(rows.v);
	return (KDC_EXIT_FAIL);
}

const struct kdc_cmd kdc_policy_cmds[] = {
	{ "policy", "allow", "CLIENT PEER SERVICE|'*'",
	    "Let a client host get keys for a peer and service",
	    "Add the rule that lets the host CLIENT request session keys "
	    "for the host\n"
	    "PEER and the service SERVICE (1..64 characters of A-Z a-z 0-9 . "
	    "_ -), or for\n"
	    "any service with '*' (quote it from the shell).  CLIENT and "
	    "PEER are host\n"
	    "names or host ids (32 hex digits).  Adding a rule that exists is "
	    "an error.\n",
	    0, 0, 3, 3, kdc_policy_allow },
	{ "policy", "deny", "CLIENT PEER SERVICE|'*'", "Remove such a rule",
	    "Remove the rule that policy allow added with the same CLIENT, "
	    "PEER and\n"
	    "SERVICE ('*' removes the any-service rule only, not the rules "
	    "naming a\n"
	    "service).  Keys already issued stay valid until they expire or "
	    "are\n"
	    "revoked.  Removing a rule that does not exist is an error.\n",
	    0, 0, 3, 3, kdc_policy_deny },
	{ "policy", "list", "", "List the policy rules",
	    "Print a table of the rules: client host, peer host and service "
	    "('*': any).\n"
	    "Hosts are shown by name.\n",
	    0, 0, 0, 0, kdc_policy_list },
	{ NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0, NULL },
};
