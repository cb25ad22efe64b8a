/*
 * kdc.c: cryptgate kdc: offline administration of the KDC database.
 *
 * "cryptgate kdc init", "cryptgate kdc host add", ...: this file finds the
 * leaf command in the tables of kdc_*.c, parses its options (one parser for
 * all, each leaf saying which options it takes), loads kdc.conf, opens the
 * database and runs the leaf.  It also holds the helpers the leaves share:
 * time and address formatting, ids, and the admin transaction that commits
 * a change together with its audit record.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cryptgate/conf.h"
#include "cryptgate/encode.h"
#include "cryptgate/log.h"
#include "cryptgate/store.h"
#include "cryptgate/wire.h"

#include "cmd.h"
#include "kdc_int.h"

/* Every command table, in the order of the usage text. */
static const struct kdc_cmd *const kdc_tables[] = {
	kdc_init_cmds,
	kdc_host_cmds,
	kdc_policy_cmds,
	kdc_key_cmds,
	kdc_token_cmds,
	kdc_audit_cmds,
};
#define KDC_NTABLES (sizeof(kdc_tables) / sizeof(kdc_tables[0]))

/* Largest --ttl: a week. */
#define KDC_TTL_MAX (7 * 86400LL)

/* Help text of the options a leaf takes besides its own (-f, -h). */
static const char kdc_common_help[] =
    "  -f, --config FILE     the KDC configuration file (kdc.conf; "
    "required)\n"
    "  -h, --help            print this help and exit\n";

static void
kdc_usage(FILE *f)
{
	const struct kdc_cmd *c;
	size_t i;

	fprintf(f,
	    "usage: cryptgate kdc <command> -f kdc.conf [options] [args]\n"
	    "       cryptgate kdc <command> --help\n"
	    "\n"
	    "Administer the KDC database offline, through the database file "
	    "named in\n"
	    "kdc.conf (not the network port).  The daemon may be running.\n"
	    "\n"
	    "Commands:\n");
	for (i = 0; i < KDC_NTABLES; i++) {
		for (c = kdc_tables[i]; c->name != NULL; c++) {
			char full[32];

			snprintf(full, sizeof(full), "%s%s%s",
			    c->group != NULL ? c->group : "",
			    c->group != NULL ? " " : "", c->name);
			fprintf(f, "  %-15s %s\n", full, c->brief);
		}
	}
	fprintf(f,
	    "\n"
	    "Exit status: 0 on success, 1 on error, 2 on a usage error.\n"
	    "See cryptgate-kdc(1).\n");
}

static void
kdc_group_usage(FILE *f, const char *group)
{
	const struct kdc_cmd *c;
	size_t i;

	fprintf(f,
	    "usage: cryptgate kdc %s <command> -f kdc.conf [args]\n"
	    "       cryptgate kdc %s <command> --help\n"
	    "\n"
	    "Commands:\n",
	    group, group);
	for (i = 0; i < KDC_NTABLES; i++) {
		for (c = kdc_tables[i]; c->name != NULL; c++) {
			if (c->group == NULL || strcmp(c->group, group) != 0)
				continue;
			fprintf(f, "  %-9s %s\n", c->name, c->brief);
		}
	}
	fprintf(f, "\nSee cryptgate-kdc(1).\n");
}

static void
kdc_leaf_usage(FILE *f, const struct kdc_cmd *c, const char *cmd)
{
	fprintf(f,
	    "usage: cryptgate %s -f kdc.conf%s%s\n"
	    "\n"
	    "%s"
	    "\n"
	    "Options:\n"
	    "%s",
	    cmd, c->args[0] != '\0' ? " " : "", c->args, c->help,
	    kdc_common_help);
	fprintf(f,
	    "\n"
	    "Exit status: 0 on success, 1 on error, 2 on a usage error.\n"
	    "See cryptgate-kdc(1).\n");
}

/* Parse a DURATION (30, 30s, 5m, 1h, 1d) into ${*secs}; 0 or -1. */
static int
kdc_parse_duration(const char *s, long long *secs)
{
	unsigned long long v;
	long long mult = 1;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return (-1);
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || v > (unsigned long long)KDC_TTL_MAX)
		return (-1);
	if (*end != '\0') {
		switch (*end) {
		case 's':
			mult = 1;
			break;
		case 'm':
			mult = 60;
			break;
		case 'h':
			mult = 3600;
			break;
		case 'd':
			mult = 86400;
			break;
		default:
			return (-1);
		}
		if (end[1] != '\0')
			return (-1);
	}
	*secs = (long long)v * mult;
	return (0);
}

/* Parse --addr ${s} (an IPv4 or IPv6 address) into ${addr}; 0 or -1. */
static int
kdc_parse_addr(uint8_t addr[static STORE_ADDRBYTES], const char *s)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;
	struct wire_addr a;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, s, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		if (wire_addr_from_sockaddr(
		        &a, (struct sockaddr *)&sin, sizeof(sin)))
			return (-1);
	} else if (inet_pton(AF_INET6, s, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		if (wire_addr_from_sockaddr(
		        &a, (struct sockaddr *)&sin6, sizeof(sin6)))
			return (-1);
	} else
		return (-1);
	addr[0] = a.family;
	memcpy(addr + 1, a.addr, sizeof(a.addr));
	return (0);
}

/* Add --addr ${s} to ${ctx}; 0, or a KDC_EXIT_* status (reported). */
static int
kdc_add_addr(struct kdc_ctx *ctx, const char *s)
{
	uint8_t addr[STORE_ADDRBYTES];
	size_t i;

	if (kdc_parse_addr(addr, s)) {
		log_warnx("%s: --addr '%s' is not an IPv4 or IPv6 address",
		    ctx->cmd, s);
		return (KDC_EXIT_USAGE);
	}
	for (i = 0; i < ctx->naddrs; i++)
		if (memcmp(ctx->addrs[i], addr, STORE_ADDRBYTES) == 0)
			return (0); /* given twice: once is enough */
	if (ctx->naddrs == STORE_HOSTADDRS_MAX) {
		log_warnx("%s: too many --addr (at most %d)", ctx->cmd,
		    STORE_HOSTADDRS_MAX);
		return (KDC_EXIT_USAGE);
	}
	memcpy(ctx->addrs[ctx->naddrs++], addr, STORE_ADDRBYTES);
	return (0);
}

/* Report an option ${opt} that ${c} does not take. */
static int
kdc_bad_option(struct kdc_ctx *ctx, const char *opt)
{
	log_warnx("%s: unknown option %s (see cryptgate %s --help)", ctx->cmd,
	    opt, ctx->cmd);
	return (KDC_EXIT_USAGE);
}

/*
 * Parse the options and arguments of the leaf ${c} into ${ctx}.  Return
 * -1 to go on, or the exit status (help printed, usage error reported).
 */
static int
kdc_parse_args(
    struct kdc_ctx *ctx, const struct kdc_cmd *c, int argc, char **argv)
{
	enum { O_FORCE = 256, O_NAME, O_ADDR, O_TTL, O_SINCE };
	static const struct option longopts[] = {
		{ "addr", required_argument, NULL, O_ADDR },
		{ "config", required_argument, NULL, 'f' },
		{ "force", no_argument, NULL, O_FORCE },
		{ "help", no_argument, NULL, 'h' },
		{ "name", required_argument, NULL, O_NAME },
		{ "since", required_argument, NULL, O_SINCE },
		{ "ttl", required_argument, NULL, O_TTL },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int ch, rc;

	optind = 0; /* glibc: start afresh */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":f:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			ctx->confpath = optarg;
			break;
		case 'h':
			kdc_leaf_usage(stdout, c, ctx->cmd);
			return (KDC_EXIT_OK);
		case O_FORCE:
			if (!(c->opts & KDC_OPT_FORCE))
				return (kdc_bad_option(ctx, "--force"));
			ctx->force = true;
			break;
		case O_NAME:
			if (!(c->opts & KDC_OPT_NAME))
				return (kdc_bad_option(ctx, "--name"));
			ctx->name = optarg;
			break;
		case O_ADDR:
			if (!(c->opts & KDC_OPT_ADDR))
				return (kdc_bad_option(ctx, "--addr"));
			if ((rc = kdc_add_addr(ctx, optarg)) != 0)
				return (rc);
			break;
		case O_TTL:
			if (!(c->opts & KDC_OPT_TTL))
				return (kdc_bad_option(ctx, "--ttl"));
			if (kdc_parse_duration(optarg, &ctx->ttl) ||
			    ctx->ttl < 60 || ctx->ttl > KDC_TTL_MAX) {
				log_warnx("%s: --ttl '%s' is not a duration "
				          "from 1m to 7d (e.g. 30m, 1h, 2d)",
				    ctx->cmd, optarg);
				return (KDC_EXIT_USAGE);
			}
			break;
		case O_SINCE:
			if (!(c->opts & KDC_OPT_SINCE))
				return (kdc_bad_option(ctx, "--since"));
			errno = 0;
			ctx->since = strtoll(optarg, &end, 10);
			if (optarg[0] < '0' || optarg[0] > '9' ||
			    *end != '\0' || errno != 0 || ctx->since < 1) {
				log_warnx("%s: --since '%s' is not a record "
				          "number (1, 2, ...)",
				    ctx->cmd, optarg);
				return (KDC_EXIT_USAGE);
			}
			break;
		case ':':
			log_warnx("%s: option %s needs an argument (see "
			          "cryptgate %s --help)",
			    ctx->cmd, argv[optind - 1], ctx->cmd);
			return (KDC_EXIT_USAGE);
		default:
			if (optopt != 0) {
				char opt[3] = { '-', (char)optopt, '\0' };

				return (kdc_bad_option(ctx, opt));
			}
			return (kdc_bad_option(ctx, argv[optind - 1]));
		}
	}
	ctx->args = argv + optind;
	ctx->nargs = argc - optind;
	if (ctx->confpath == NULL || ctx->confpath[0] == '\0') {
		log_warnx("%s: missing -f kdc.conf (see cryptgate %s --help)",
		    ctx->cmd, ctx->cmd);
		return (KDC_EXIT_USAGE);
	}
	if (ctx->nargs < c->minargs) {
		log_warnx("%s: missing argument: usage: cryptgate %s -f "
		          "kdc.conf %s",
		    ctx->cmd, ctx->cmd, c->args);
		return (KDC_EXIT_USAGE);
	}
	if (ctx->nargs > c->maxargs) {
		log_warnx("%s: unexpected argument '%s' (see cryptgate %s "
		          "--help)",
		    ctx->cmd, ctx->args[c->maxargs], ctx->cmd);
		return (KDC_EXIT_USAGE);
	}
	return (-1);
}

/* Load kdc.conf and, unless ${c} says not to, open the database. */
static int
kdc_open(struct kdc_ctx *ctx, const struct kdc_cmd *c)
{
	struct stat sb;

	if ((ctx->conf = conf_load(ctx->confpath, conf_schema_kdc, NULL)) ==
	    NULL)
		return (-1);
	ctx->sec = conf_section(ctx->conf, "kdc", NULL);
	ctx->dbpath = conf_get_str(ctx->sec, "database");
	if (ctx->sec == NULL || ctx->dbpath == NULL) {
		log_warnx("%s: no database in %s", ctx->cmd, ctx->confpath);
		return (-1);
	}
	if (c->flags & KDC_CMD_NOSTORE)
		return (0);
	if (stat(ctx->dbpath, &sb) == -1) {
		if (errno == ENOENT)
			log_warnx("%s: database %s does not exist (create it "
			          "with cryptgate kdc init -f %s)",
			    ctx->cmd, ctx->dbpath, ctx->confpath);
		else
			log_warn("%s: %s", ctx->cmd, ctx->dbpath);
		return (-1);
	}
	if ((ctx->st = store_open(ctx->dbpath, STORE_DURABLE)) == NULL)
		return (-1);
	return (0);
}

/* Run the leaf ${c} with its ${argc} arguments ${argv} (argv[0]: its name). */
static int
kdc_run(const struct kdc_cmd *c, int argc, char **argv)
{
	struct kdc_ctx ctx;
	char cmd[48];
	int rc;

	snprintf(cmd, sizeof(cmd), "kdc %s%s%s",
	    c->group != NULL ? c->group : "", c->group != NULL ? " " : "",
	    c->name);
	memset(&ctx, 0, sizeof(ctx));
	ctx.cmd = cmd;
	ctx.since = 1;
	if ((rc = kdc_parse_args(&ctx, c, argc, argv)) != -1)
		return (rc);
	if (kdc_open(&ctx, c) == 0)
		rc = c->run(&ctx);
	else
		rc = KDC_EXIT_FAIL;
	kdc_rollback(&ctx);
	store_close(ctx.st);
	conf_free(ctx.conf);
	return (rc);
}

static bool
kdc_is_help(const char *s)
{
	return (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0 ||
	    strcmp(s, "help") == 0);
}

int
kdc_main(int argc, char **argv)
{
	const struct kdc_cmd *c;
	bool group = false;
	size_t i;

	if (argc < 2) {
		kdc_usage(stderr);
		return (KDC_EXIT_USAGE);
	}
	if (kdc_is_help(argv[1])) {
		kdc_usage(stdout);
		return (KDC_EXIT_OK);
	}
	for (i = 0; i < KDC_NTABLES; i++) {
		for (c = kdc_tables[i]; c->name != NULL; c++) {
			if (c->group == NULL && strcmp(c->name, argv[1]) == 0)
				return (kdc_run(c, argc - 1, argv + 1));
			if (c->group != NULL && strcmp(c->group, argv[1]) == 0)
				group = true;
		}
	}
	if (!group) {
		log_warnx("kdc: unknown command '%s' (see cryptgate kdc "
		          "--help)",
		    argv[1]);
		return (KDC_EXIT_USAGE);
	}
	if (argc < 3) {
		kdc_group_usage(stderr, argv[1]);
		return (KDC_EXIT_USAGE);
	}
	if (kdc_is_help(argv[2])) {
		kdc_group_usage(stdout, argv[1]);
		return (KDC_EXIT_OK);
	}
	for (i = 0; i < KDC_NTABLES; i++) {
		for (c = kdc_tables[i]; c->name != NULL; c++) {
			if (c->group != NULL &&
			    strcmp(c->group, argv[1]) == 0 &&
			    strcmp(c->name, argv[2]) == 0)
				return (kdc_run(c, argc - 2, argv + 2));
		}
	}
	log_warnx("kdc %s: unknown command '%s' (see cryptgate kdc %s --help)",
	    argv[1], argv[2], argv[1]);
	return (KDC_EXIT_USAGE);
}

/* --- helpers shared by the leaves ---------------------------------------- */

int64_t
kdc_now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
		return ((int64_t)time(NULL) * 1000);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

void
kdc_time_iso(char *buf, size_t size, int64_t ms, bool millis)
{
	int64_t secs = ms / 1000, frac = ms % 1000;
	struct tm tm;
	time_t t;
	char base[32];

	if (frac < 0) {
		frac += 1000;
		secs--;
	}
	t = (time_t)secs;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(buf, size, "?");
		return;
	}
	if (millis)
		snprintf(buf, size, "%s.%03dZ", base, (int)frac);
	else
		snprintf(buf, size, "%sZ", base);
}

void
kdc_addr_format(
    char *buf, size_t size, const uint8_t addr[static STORE_ADDRBYTES])
{
	static const uint8_t zero[STORE_ADDRBYTES];
	struct wire_addr a;
	const char *p;

	if (memcmp(addr, zero, STORE_ADDRBYTES) == 0) {
		snprintf(buf, size, "-");
		return;
	}
	a.family = addr[0];
	memcpy(a.addr, addr + 1, sizeof(a.addr));
	if (!wire_addr_is_valid(&a) || size < INET6_ADDRSTRLEN) {
		snprintf(buf, size, "?");
		return;
	}
	if (a.family == WIRE_AF_INET)
		p = inet_ntop(AF_INET, a.addr + 12, buf, (socklen_t)size);
	else
		p = inet_ntop(AF_INET6, a.addr, buf, (socklen_t)size);
	if (p == NULL)
		snprintf(buf, size, "?");
}

bool
kdc_parse_id(uint8_t id[static STORE_IDBYTES], const char *s)
{
	size_t len;

	if (strlen(s) != KDC_IDHEXBYTES - 1)
		return (false);
	if (encode_unhex(id, STORE_IDBYTES, &len, s, KDC_IDHEXBYTES - 1) ||
	    len != STORE_IDBYTES)
		return (false);
	return (true);
}

const char *
kdc_hex_id(
    char buf[static KDC_IDHEXBYTES], const uint8_t id[static STORE_IDBYTES])
{
	if (encode_hex(buf, KDC_IDHEXBYTES, id, STORE_IDBYTES))
		buf[0] = '\0';
	return (buf);
}

int
kdc_begin(struct kdc_ctx *ctx)
{
	return (store_begin(ctx->st));
}

int
kdc_commit(struct kdc_ctx *ctx, const char *op, const char *fmt, ...)
{
	char detail[STORE_AUDIT_DETAILBYTES_MAX + 1];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (store_audit_append(
	        ctx->st, kdc_now_ms(), KDC_ACTOR, op, detail, 0) ||
	    store_commit(ctx->st)) {
		store_rollback(ctx->st);
		return (-1);
	}

	/* Success! */
	return (0);
}

void
kdc_rollback(struct kdc_ctx *ctx)
{
	if (ctx->st != NULL)
		store_rollback(ctx->st);
}

int
kdc_flush(void)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		log_warn("stdout");
		return (-1);
	}
	return (0);
}

void *
kdc_rows_add(struct kdc_rows *rows, size_t size, const char *what)
{
	void *v;
	size_t cap;

	if (rows->n == rows->cap) {
		cap = rows->cap == 0 ? 16 : rows->cap * 2;
		if ((v = reallocarray(rows->v, cap, size)) == NULL) {
			log_warn("%s", what);
			return (NULL);
		}
		rows->v = v;
		rows->cap = cap;
	}
	return ((char *)rows->v + size * rows->n++);
}

int
kdc_list_done(struct kdc_rows *rows)
{
	free(rows->v);
	rows->v = NULL;
	rows->n = rows->cap = 0;
	return (kdc_flush() ? KDC_EXIT_FAIL : KDC_EXIT_OK);
}

void
kdc_width(int *w, const char *s)
{
	if ((int)strlen(s) > *w)
		*w = (int)strlen(s);
}
