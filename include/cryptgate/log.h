/*
 * log.h: logging, in the OpenBSD log.c style.
 *
 * In the foreground (log_init(1, ...)) messages go to stderr prefixed with the
 * process name; otherwise to syslog.  log_warn() appends strerror(errno),
 * log_warnx() does not.  Messages have no trailing period or newline.  Key
 * material is never logged.
 */
#ifndef CRYPTGATE_LOG_H
#define CRYPTGATE_LOG_H

#include <stdarg.h>
#include <stdint.h>

#include "cdefs.h"

/**
 * log_init(foreground, verbose, facility): log to stderr if ${foreground} is
 * nonzero, to syslog with ${facility} otherwise.  ${verbose} > 0 enables
 * log_info, > 1 enables log_debug.  May be called again to switch.
 */
void log_init(int foreground, int verbose, int facility);

/**
 * log_procinit(name): use ${name} (a string that lives for the whole
 * process) as the prefix of every message.
 */
void log_procinit(const char *name);

/** log_setverbose(verbose): change the verbosity set by log_init. */
void log_setverbose(int verbose);

/** log_getverbose(void): the current verbosity. */
int log_getverbose(void);

void log_warn(const char *, ...) CG_PRINTF(1, 2);
void log_warnx(const char *, ...) CG_PRINTF(1, 2);
void log_info(const char *, ...) CG_PRINTF(1, 2);
void log_debug(const char *, ...) CG_PRINTF(1, 2);
void vlog(int pri, const char *fmt, va_list ap) CG_PRINTF(2, 0);

/** fatal(fmt, ...): log_warn and exit(1).  Never in src/lib or on peer input. */
void fatal(const char *, ...) CG_PRINTF(1, 2) CG_NORETURN;
/** fatalx(fmt, ...): log_warnx and exit(1). */
void fatalx(const char *, ...) CG_PRINTF(1, 2) CG_NORETURN;

/*
 * Rate-limited logging for per-packet and per-connection paths.  Each call
 * site owns a struct log_ratelimit (usually static, zero-initialised).  At
 * most LOG_RATELIMIT_BURST messages per LOG_RATELIMIT_INTERVAL seconds are
 * written; the rest are counted and reported as "N messages suppressed" with
 * the next message that gets through.  Thread safety: one struct per thread
 * or per event loop.
 */
#define LOG_RATELIMIT_INTERVAL 5
#define LOG_RATELIMIT_BURST 10

struct log_ratelimit {
	int64_t window_start; /* monotonic seconds */
	unsigned int printed;
	uint64_t suppressed;
};

/**
 * log_ratelimited(rl, pri, fmt, ...): log like vlog at syslog priority
 * ${pri} unless ${rl}'s budget for the current interval is spent; then count
 * the message as suppressed.
 */
void log_ratelimited(struct log_ratelimit *rl, int pri, const char *fmt, ...)
    CG_PRINTF(3, 4);

#endif /* !CRYPTGATE_LOG_H */
