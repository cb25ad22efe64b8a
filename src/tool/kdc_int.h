/*
 * kdc_int.h: internals of `cryptgate kdc ...`, the offline administration
 * of the KDC database (see cryptgate-kdc(1)).
 *
 * kdc.c parses the command line of every leaf command ("host add", "key
 * list", ...) from the tables the kdc_*.c files export, loads kdc.conf and
 * opens the database, then calls the leaf's run function.  Errors are
 * reported once, as one line, where they are detected.
 */
#ifndef CRYPTGATE_TOOL_KDC_INT_H
#define CRYPTGATE_TOOL_KDC_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptgate/cdefs.h"
#include "cryptgate/store.h"

struct conf;
struct conf_section;

/* Options a leaf command accepts besides -f and -h (struct kdc_cmd.opts). */
#define KDC_OPT_FORCE 0x01 /* --force */
#define KDC_OPT_NAME 0x02 /* --name NAME */
#define KDC_OPT_ADDR 0x04 /* --addr IP, repeatable */
#define KDC_OPT_TTL 0x08 /* --ttl DURATION */
#define KDC_OPT_SINCE 0x10 /* --since SEQ */

/* Flags of a leaf command. */
#define KDC_CMD_NOSTORE 0x01 /* do not open the database (kdc init) */

/* Exit statuses. */
#define KDC_EXIT_OK 0
#define KDC_EXIT_FAIL 1
#define KDC_EXIT_USAGE 2

/* Audit actor of every admin command. */
#define KDC_ACTOR "admin"

/* The parsed command line and what kdc.c opened for the leaf. */
struct kdc_ctx {
	const char *cmd; /* "host add" */
	const char *confpath;
	bool force;
	const char *name;
	size_t naddrs;
	uint8_t addrs[STORE_HOSTADDRS_MAX][STORE_ADDRBYTES];
	long long ttl; /* seconds; 0 if not given */
	int64_t since; /* 1 if not given */
	char **args; /* positional arguments */
	int nargs;
	struct conf *conf;
	const struct conf_section *sec; /* [kdc] */
	const char *dbpath;
	struct store *st; /* NULL for KDC_CMD_NOSTORE */
};

/* A leaf command: "cryptgate kdc GROUP NAME ...". */
struct kdc_cmd {
	const char *group; /* "host", or NULL for a top-level one ("init") */
	const char *name; /* "add" */
	const char *args; /* synopsis after -f kdc.conf */
	const char *brief; /* one line */
	const char *help; /* description and specific options, "\n" ended */
	unsigned int opts; /* KDC_OPT_* */
	unsigned int flags; /* KDC_CMD_* */
	int minargs;
	int maxargs;
	int (*run)(struct kdc_ctx *);
};

/* The commands of each file; each table ends with an entry of NULL .name. */
extern const struct kdc_cmd kdc_init_cmds[];
extern const struct kdc_cmd kdc_host_cmds[];
extern const struct kdc_cmd kdc_policy_cmds[];
extern const struct kdc_cmd kdc_key_cmds[];
extern const struct kdc_cmd kdc_token_cmds[];
extern const struct kdc_cmd kdc_audit_cmds[];

/** kdc_now_ms(void): the current unix time in milliseconds. */
int64_t kdc_now_ms(void);

/**
 * kdc_time_iso(buf, size, ms, millis): write ${ms} (unix milliseconds) as
 * ISO 8601 UTC, "2025-11-26T23:40:00Z", or with ${millis}
 * "2025-11-26T23:40:00.123Z", to ${buf} (${size} >= KDC_TIMEBYTES).
 */
#define KDC_TIMEBYTES 40
void kdc_time_iso(char *buf, size_t size, int64_t ms, bool millis);

/**
 * kdc_addr_format(buf, size, addr): write the 17-byte wire address
 * ${addr} as text (IPv4 or IPv6) to ${buf} (${size} >= KDC_ADDRSTRBYTES);
 * "-" if it is all zero, "?" if it is not a valid wire address.
 */
#define KDC_ADDRSTRBYTES 48
void kdc_addr_format(
    char *buf, size_t size, const uint8_t addr[static STORE_ADDRBYTES]);

/**
 * kdc_parse_id(id, s): true (and ${id} set) if ${s} is exactly 32 hex
 * digits (a host id or key id).
 */
bool kdc_parse_id(uint8_t id[static STORE_IDBYTES], const char *s) CG_WUR;

/**
 * kdc_hex_id(buf, id): write ${id} as 32 lowercase hex digits and a NUL
 * to ${buf}; return ${buf}.
 */
#define KDC_IDHEXBYTES ((size_t)2 * STORE_IDBYTES + 1)
const char *kdc_hex_id(
    char buf[static KDC_IDHEXBYTES], const uint8_t id[static STORE_IDBYTES]);

/* kdc_host.c: host lookups shared by the other commands. */

/**
 * kdc_host_resolve(ctx, arg, h): fill ${h} with the host ${arg} names: 32
 * hex digits are a host id, anything else a host name.  Return 0, or -1
 * after reporting one line (no such host, invalid name, store error).
 */
int kdc_host_resolve(
    struct kdc_ctx *ctx, const char *arg, struct store_host *h) CG_WUR;

/**
 * kdc_host_label(ctx, buf, size, id): write the name of host ${id}, or its
 * hex id if the database has no such host, to ${buf} (${size} >=
 * KDC_IDHEXBYTES).
 */
void kdc_host_label(struct kdc_ctx *ctx, char *buf, size_t size,
    const uint8_t id[static STORE_IDBYTES]);

/* A label: a host name or a hex id (kdc_host_label). */
#define KDC_LABELBYTES (STORE_NAMEBYTES_MAX + 1)

/* kdc.c: helpers. */

/**
 * kdc_begin(ctx): start the write transaction of an admin change.  Return
 * 0 or -1 (reported).
 */
int kdc_begin(struct kdc_ctx *ctx) CG_WUR;

/**
 * kdc_commit(ctx, op, fmt, ...): append the audit record (actor
 * KDC_ACTOR, ${op}, detail from ${fmt}, result 0) and commit the
 * transaction; on failure roll it back.  Return 0 or -1 (reported).
 */
int kdc_commit(struct kdc_ctx *ctx, const char *op, const char *fmt, ...)
    CG_PRINTF(3, 4) CG_WUR;

/** kdc_rollback(ctx): abandon the transaction, if any. */
void kdc_rollback(struct kdc_ctx *ctx);

/* The rows a list command collects before it prints them. */
struct kdc_rows {
	void *v; /* n elements in use, room for cap */
	size_t n, cap;
};

/**
 * kdc_rows_add(rows, size, what): a new element of ${size} bytes at the
 * end of ${rows} (grown as needed; free(rows->v) when done).  Return it,
 * or NULL on failure, logged as "${what}: <strerror>".
 */
void *kdc_rows_add(struct kdc_rows *rows, size_t size, const char *what);

/**
 * kdc_list_done(rows): free ${rows} and flush the table printed from them.
 * Return KDC_EXIT_OK, or KDC_EXIT_FAIL (reported) on a write error.
 */
int kdc_list_done(struct kdc_rows *rows);

/**
 * kdc_width(w, s): widen the column width ${*w} to the length of ${s}.
 */
void kdc_width(int *w, const char *s);

/** kdc_flush(void): flush stdout; 0, or -1 (reported) on a write error. */
int kdc_flush(void) CG_WUR;

#endif /* !CRYPTGATE_TOOL_KDC_INT_H */
