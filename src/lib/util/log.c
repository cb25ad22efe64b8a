/*
 * log.c: logging in the OpenBSD log.c style, plus a rate-limited variant
 * for per-packet and per-connection paths.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "cryptgate/log.h"

static int log_foreground = 1;
static int log_verbose;
static const char *log_procname;

void
log_init(int foreground, int verbose, int facility)
{
	log_foreground = foreground;
	log_verbose = verbose;
	if (!foreground)
		openlog(log_procname, LOG_PID | LOG_NDELAY, facility);
	tzset();
}

void
log_procinit(const char *name)
{
	if (name != NULL)
		log_procname = name;
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

int
log_getverbose(void)
{
	return (log_verbose);
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	int saved_errno = errno;

	if (log_foreground) {
		/* One fprintf per line so concurrent lines do not mix. */
		char buf[1024];

		vsnprintf(buf, sizeof(buf), fmt, ap);
		if (log_procname != NULL)
			fprintf(stderr, "%s: %s\n", log_procname, buf);
		else
			fprintf(stderr, "%s\n", buf);
		fflush(stderr);
	} else {
		vsyslog(pri, fmt, ap);
	}
	errno = saved_errno;
}

static void logit(int pri, const char *fmt, ...) CG_PRINTF(2, 3);

static void
logit(int pri, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}

/* Log at ${pri} with ": strerror(errno)" appended. */
static void vlog_errno(int pri, const char *fmt, va_list ap) CG_PRINTF(2, 0);

static void
vlog_errno(int pri, const char *fmt, va_list ap)
{
	char msg[1024];
	int saved_errno = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	logit(pri, "%s: %s", msg, strerror(saved_errno));
	errno = saved_errno;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_errno(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_verbose < 2)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog_errno(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap);
	va_end(ap);
	exit(1);
}

static int64_t
monotonic_seconds(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		return (0);
	return ((int64_t)ts.tv_sec);
}

void
log_ratelimited(struct log_ratelimit *rl, int pri, const char *fmt, ...)
{
	va_list ap;
	int64_t now = monotonic_seconds();

	if ((pri == LOG_INFO && log_verbose < 1) ||
	    (pri == LOG_DEBUG && log_verbose < 2))
		return;
	if (rl->window_start == 0 ||
	    now - rl->window_start >= LOG_RATELIMIT_INTERVAL) {
		rl->window_start = now;
		rl->printed = 0;
	}
	if (rl->printed >= LOG_RATELIMIT_BURST) {
		rl->suppressed++;
		return;
	}
	rl->printed++;
	if (rl->suppressed > 0) {
		logit(pri, "%llu similar messages suppressed",
		    (unsigned long long)rl->suppressed);
		rl->suppressed = 0;
	}
	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}
