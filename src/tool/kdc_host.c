/*
 * kdc_host.c: cryptgate kdc host add|approve|remove|revoke|list: the hosts
 * the KDC knows, and the host lookups the other kdc commands share.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptgate/hostpub.h"
#include "cryptgate/log.h"
#include "cryptgate/store.h"
#include "cryptgate/wire.h"

#include "kdc_int.h"

static const char *
kdc_host_state_name(enum store_host_state state)
{
	switch (state) {
	case STORE_HOST_PENDING:
		return ("pending");
	case STORE_HOST_ACTIVE:
		return ("active");
	case STORE_HOST_REVOKED:
		return ("revoked");
	}
	return ("unknown");
}

int
kdc_host_resolve(struct kdc_ctx *ctx, const char *arg, struct store_host *h)
{
	uint8_t id[STORE_IDBYTES];
	int rc;

	if (kdc_parse_id(id, arg)) {
		if ((rc = store_host_get(ctx->st, id, h)) == STORE_NOTFOUND)
			log_warnx("%s: no host with id %s in the database",
			    ctx->cmd, arg);
		return (rc == 0 ? 0 : -1);
	}
	if (!wire_name_is_valid(arg, WIRE_HOSTNAME_MAX)) {
		log_warnx("%s: '%s' is neither a host name (1..%d characters "
		          "of A-Z a-z 0-9 . _ -) nor a host id (32 hex digits)",
		    ctx->cmd, arg, WIRE_HOSTNAME_MAX);
		return (-1);
	}
	if ((rc = store_host_get_by_name(ctx->st, arg, h)) == STORE_NOTFOUND)
		log_warnx("%s: no host named '%s' in the database (see "
		          "cryptgate kdc host list)",
		    ctx->cmd, arg);
	return (rc == 0 ? 0 : -1);
}

void
kdc_host_label(struct kdc_ctx *ctx, char *buf, size_t size,
    const uint8_t id[static STORE_IDBYTES])
{
	struct store_host *h;
	char hex[KDC_IDHEXBYTES];

	/* struct store_host is large: keep it off the stack. */
	if ((h = malloc(sizeof(*h))) != NULL &&
	    store_host_get(ctx->st, id, h) == 0)
		snprintf(buf, size, "%s", h->name);
	else
		snprintf(buf, size, "%s", kdc_hex_id(hex, id));
	free(h);
}

/* True if ${s} would be read as a host id. */
static bool
kdc_host_looks_like_id(const char *s)
{
	uint8_t id[STORE_IDBYTES];

	return (kdc_parse_id(id, s));
}

static int
kdc_host_add(struct kdc_ctx *ctx)
{
	char hex[KDC_IDHEXBYTES];
	const char *path = ctx->args[0], *name;
	struct store_host h, old;
	int rc;

	memset(&h, 0, sizeof(h));
	if (hostpub_load(&h.pub, path))
		return (KDC_EXIT_FAIL);
	kdc_hex_id(hex, h.pub.host_id);
	if ((name = ctx->name) == NULL) {
		name = h.pub.comment;
		if (name[0] == '\0') {
			log_warnx("%s: %s has no comment to name the host: "
			          "give the name with --name NAME",
			    ctx->cmd, path);
			return (KDC_EXIT_FAIL);
		}
		if (!wire_name_is_valid(name, WIRE_HOSTNAME_MAX) ||
		    kdc_host_looks_like_id(name)) {
			log_warnx("%s: the comment '%s' of %s is not a valid "
			          "host name: give the name with --name NAME",
			    ctx->cmd, name, path);
			return (KDC_EXIT_FAIL);
		}
	} else if (!wire_name_is_valid(name, WIRE_HOSTNAME_MAX) ||
	    kdc_host_looks_like_id(name)) {
		log_warnx("%s: invalid host name '%s' (1..%d characters of "
		          "A-Z a-z 0-9 . _ -, not 32 hex digits)",
		    ctx->cmd, name, WIRE_HOSTNAME_MAX);
		return (KDC_EXIT_FAIL);
	}
	memcpy(h.host_id, h.pub.host_id, STORE_IDBYTES);
	/* wire_name_is_valid checked that it fits. */
	memcpy(h.name, name, strlen(name) + 1);
	h.state = STORE_HOST_ACTIVE;
	h.kvno = WIRE_KVNO_FIRST;
	h.naddrs = ctx->naddrs;
	memcpy(h.addrs, ctx->addrs, sizeof(h.addrs));
	h.created_ms = kdc_now_ms();

	if (kdc_begin(ctx))
		return (KDC_EXIT_FAIL);
	if ((rc = store_host_get(ctx->st, h.host_id, &old)) == 0) {
		log_warnx("%s: host id %s (%s) is already in the database, "
		          "as '%s'",
		    ctx->cmd, hex, path, old.name);
		return (KDC_EXIT_FAIL);
	}
	if (rc != STORE_NOTFOUND)
		return (KDC_EXIT_FAIL);
	if ((rc = store_host_get_by_name(ctx->st, name, &old)) == 0) {
		log_warnx("%s: a host named '%s' is already in the database "
		          "(host id %s)",
		    ctx->cmd, name, kdc_hex_id(hex, old.host_id));
		return (KDC_EXIT_FAIL);
	}
	if (rc != STORE_NOTFOUND)
		return (KDC_EXIT_FAIL);
	if ((rc = store_host_add(ctx->st, &h)) != 0) {
		if (rc == STORE_DUPLICATE)
			log_warnx("%s: host '%s' (id %s) is already in the "
			          "database",
			    ctx->cmd, name, hex);
		return (KDC_EXIT_FAIL);
	}
	if (kdc_commit(ctx, "host add",
	        "name=%s host_id=%s type=%s addrs=%zu state=active", name, hex,
	        hostpub_type_name(h.pub.type), h.naddrs))
		return (KDC_EXIT_FAIL);
	printf("host %s (%s) added, active\n", name, hex);
	return (kdc_flush() ? KDC_EXIT_FAIL : KDC_EXIT_OK);
}

static int
kdc_host_approve(struct kdc_ctx *ctx)
{
	char hex[KDC_IDHEXBYTES];
	struct store_host h;

	if (kdc_begin(ctx) || kdc_host_resolve(ctx, ctx->args[0], &h))
		return (KDC_EXIT_FAIL);
	kdc_hex_id(hex, h.host_id);
	if (h.state != STORE_HOST_PENDING) {
		log_warnx("%s: host %s (%s) is not pending approval: it is %s",
		    ctx->cmd, h.name, hex, kdc_host_state_name(h.state));
		return (KDC_EXIT_FAIL);
	}
	if (store_host_set_state(ctx->st, h.host_id, STORE_HOST_ACTIVE) ||
	    kdc_commit(ctx, "host approve", "name=%s host_id=%s state=active",
	        h.name, hex))
		return (KDC_EXIT_FAIL);
	printf("host %s (%s) approved, active\n", h.name, hex);
	return (kdc_flush() ? KDC_EXIT_FAIL : KDC_EXIT_OK);
}

static int
kdc_host_revoke(struct kdc_ctx *ctx)
{
	char hex[KDC_IDHEXBYTES];
	struct store_host h;
	uint64_t count = 0;

	if (kdc_begin(ctx) || kdc_host_resolve(ctx, ctx->args[0], &h))
		return (KDC_EXIT_FAIL);
	kdc_hex_id(hex, h.host_id);
	if (store_host_set_state(ctx->st, h.host_id, STORE_HOST_REVOKED) ||
	    store_key_revoke_host(ctx->st, h.host_id, &count) ||
	    kdc_commit(ctx, "host revoke",
	        "name=%s host_id=%s state=revoked keys_revoked=%llu", h.name,
	        hex, (unsigned long long)count))
		return (KDC_EXIT_FAIL);
	printf("host %s (%s) revoked; %llu session key%s revoked\n", h.name,
	    hex, (unsigned long long)count, count == 1 ? "" : "s");
	return (kdc_flush() ? KDC_EXIT_FAIL : KDC_EXIT_OK);
}

static int
kdc_host_remove(struct kdc_ctx *ctx)
{
	char hex[KDC_IDHEXBYTES];
	struct store_host h;

	if (kdc_begin(ctx) || kdc_host_resolve(ctx, ctx->args[0], &h))
		return (KDC_EXIT_FAIL);
	kdc_hex_id(hex, h.host_id);
	if (store_host_remove(ctx->st, h.host_id) ||
	    kdc_commit(ctx, "host remove", "name=%s host_id=%s", h.name, hex))
		return (KDC_EXIT_FAIL);
	printf("host %s (%s) removed, with its policies and session keys\n",
	    h.name, hex);
	return (kdc_flush() ? KDC_EXIT_FAIL : KDC_EXIT_OK);
}

static int
kdc_host_collect(const struct store_host *h, void *arg)
{
	struct store_host *v;

	if ((v = kdc_rows_add(arg, sizeof(*v), "kdc host list")) == NULL)
		return (-1);
	*v = *h;
	return (0);
}

/* Write the addresses of ${h} as "a,b,c" ("-" if none) to ${buf}. */
static void
kdc_host_addrs(char *buf, size_t size, const struct store_host *h)
{
	char a[KDC_ADDRSTRBYTES];
	size_t i, len;

	snprintf(buf, size, "%s", h->naddrs == 0 ? "-" : "");
	for (i = 0; i < h->naddrs && i < STORE_HOSTADDRS_MAX; i++) {
		kdc_addr_format(a, sizeof(a), h->addrs[i]);
		len = strlen(buf);
		snprintf(buf + len, size - len, "%s%s", i > 0 ? "," : "", a);
	}
}

#define KDC_HOST_ADDRSBYTES (STORE_HOSTADDRS_MAX * KDC_ADDRSTRBYTES)

static int
kdc_host_list(struct kdc_ctx *ctx)
{
	char hex[KDC_IDHEXBYTES], created[KDC_TIMEBYTES];
	char addrs[KDC_HOST_ADDRSBYTES];
	struct kdc_rows rows = { NULL, 0, 0 };
	const struct store_host *v;
	int wname = 4, waddr = 9;
	size_t i;

	if (store_host_foreach(ctx->st, kdc_host_collect, &rows))
		goto err;
	v = rows.v;
	for (i = 0; i < rows.n; i++) {
		kdc_host_addrs(addrs, sizeof(addrs), &v[i]);
		kdc_width(&wname, v[i].name);
		kdc_width(&waddr, addrs);
	}
	printf("%-*s  %-32s  %-6s  %-7s  %4s  %-*s  %s\n", wname, "NAME",
	    "HOST ID", "TYPE", "STATE", "KVNO", waddr, "ADDRESSES", "CREATED");
	for (i = 0; i < rows.n; i++) {
		const struct store_host *h = &v[i];
		const char *type = hostpub_type_name(h->pub.type);

		kdc_host_addrs(addrs, sizeof(addrs), h);
		kdc_time_iso(created, sizeof(created), h->created_ms, false);
		printf("%-*s  %-32s  %-6s  %-7s  %4u  %-*s  %s\n", wname,
		    h->name, kdc_hex_id(hex, h->host_id),
		    type != NULL ? type : "?", kdc_host_state_name(h->state),
		    (unsigned int)h->kvno, waddr, addrs, created);
	}
	return (kdc_list_done(&rows));

err:
	free(rows.v);
	return (KDC_EXIT_FAIL);
}

const struct kdc_cmd kdc_host_cmds[] = {
	{ "host", "add", "[--name NAME] [--addr IP]... FILE.pub",
	    "Add a host from its public identity file, active",
	    "Add the host whose public identity (written by cryptgate keygen) "
	    "is in\n"
	    "FILE.pub to the database, active (no approval needed), with key "
	    "version 1.\n"
	    "Its name is the comment of FILE.pub unless --name is given; a "
	    "host name is\n"
	    "1..253 characters of A-Z a-z 0-9 . _ - and is unique, as is the "
	    "host id.\n"
	    "\n"
	    "  --name NAME           the host's name (default: the comment "
	    "of FILE.pub)\n"
	    "  --addr IP             an IPv4 or IPv6 address of the host; "
	    "repeat for more\n"
	    "                        (at most 16)\n",
	    KDC_OPT_NAME | KDC_OPT_ADDR, 0, 1, 1, kdc_host_add },
	{ "host", "approve", "HOST", "Approve a pending (enrolled) host",
	    "Make a host that enrolled itself with cryptgate enroll (state "
	    "pending)\n"
	    "active, so that it can request and retrieve keys.  A host that "
	    "is not\n"
	    "pending is an error.\n"
	    "HOST is a host name, or a host id (32 hex digits).\n",
	    0, 0, 1, 1, kdc_host_approve },
	{ "host", "revoke", "HOST", "Revoke a host and its session keys",
	    "Set the host's state to revoked, so that the KDC refuses its "
	    "requests, and\n"
	    "revoke every session key it requested or may retrieve; prints "
	    "how many.\n"
	    "The host stays in the database (see host remove).\n"
	    "HOST is a host name, or a host id (32 hex digits).\n",
	    0, 0, 1, 1, kdc_host_revoke },
	{ "host", "remove", "HOST", "Delete a host, its policies and keys",
	    "Delete the host from the database, with the policy rules that "
	    "name it and\n"
	    "the session keys it requested or may retrieve.\n"
	    "HOST is a host name, or a host id (32 hex digits).\n",
	    0, 0, 1, 1, kdc_host_remove },
	{ "host", "list", "", "List the hosts",
	    "Print a table of the hosts: name, host id, sealing key type, "
	    "state\n"
	    "(pending, active, revoked), key version, addresses and creation "
	    "time\n"
	    "(ISO 8601, UTC).\n",
	    0, 0, 0, 0, kdc_host_list },
	{ NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0, NULL },
};
