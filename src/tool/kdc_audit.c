/*
 * kdc_audit.c: cryptgate kdc audit verify|show: the KDC's append-only,
 * hash-chained audit log (store_audit_*).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cryptgate/log.h"
#include "cryptgate/store.h"

#include "kdc_int.h"

static int
kdc_audit_verify(struct kdc_ctx *ctx)
{
	uint64_t count = 0;
	int64_t bad = 0;

	if (store_audit_verify(ctx->st, &count, &bad)) {
		if (bad > 0) {
			printf(
			    "audit chain BROKEN at record %" PRId64 "\n", bad);
			if (kdc_flush())
				return (KDC_EXIT_FAIL);
		}
		return (KDC_EXIT_FAIL);
	}
	printf("audit chain OK: %" PRIu64 " record%s\n", count,
	    count == 1 ? "" : "s");
	return (kdc_flush() ? KDC_EXIT_FAIL : KDC_EXIT_OK);
}

/* Print ${s} in double quotes, escaping '"', '\\' and non-printables. */
static void
kdc_audit_quoted(const char *s)
{
	const unsigned char *p;

	putchar('"');
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p > 0x7e)
			printf("\\x%02x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static int
kdc_audit_print(const struct store_audit *a, void *arg)
{
	char ts[KDC_TIMEBYTES];

	(void)arg;
	kdc_time_iso(ts, sizeof(ts), a->ts_ms, true);
	printf("%" PRId64 " %s actor=", a->seq, ts);
	kdc_audit_quoted(a->actor);
	printf(" op=");
	kdc_audit_quoted(a->op);
	printf(" detail=");
	kdc_audit_quoted(a->detail);
	printf(" result=%d\n", a->result);
	return (ferror(stdout) ? -1 : 0);
}

static int
kdc_audit_show(struct kdc_ctx *ctx)
{
	if (store_audit_foreach(ctx->st, ctx->since, kdc_audit_print, NULL)) {
		if (ferror(stdout))
			log_warnx("%s: cannot write to stdout", ctx->cmd);
		return (KDC_EXIT_FAIL);
	}
	return (kdc_flush() ? KDC_EXIT_FAIL : KDC_EXIT_OK);
}

const struct kdc_cmd kdc_audit_cmds[] = {
	{ "audit", "verify", "", "Check the audit log's hash chain",
	    "Walk the audit log from its first record and check that each "
	    "record's hash\n"
	    "matches its contents and links to the previous one.  Prints "
	    "\"audit chain\n"
	    "OK: N records\", or \"audit chain BROKEN at record N\" (the first "
	    "record that\n"
	    "was altered, inserted or removed) and exits 1.\n",
	    0, 0, 0, 0, kdc_audit_verify },
	{ "audit", "show", "[--since SEQ]", "Print the audit log",
	    "Print the audit log, one record per line, oldest first:\n"
	    "  SEQ TIME actor=\"...\" op=\"...\" detail=\"...\" result=N\n"
	    "TIME is ISO 8601 UTC with milliseconds; result is 0 for success, "
	    "else the\n"
	    "KDC protocol's ERROR code.  Strings are quoted, with \\\", \\\\ "
	    "and \\xNN escapes.\n"
	    "The log never holds key material.\n"
	    "\n"
	    "  --since SEQ           start at record number SEQ (default: "
	    "1)\n",
	    KDC_OPT_SINCE, 0, 0, 0, kdc_audit_show },
	{ NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0, NULL },
};
