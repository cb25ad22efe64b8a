/*
 * sandbox.h: confining a process to a list of system calls (seccomp, through
 * libseccomp; sandbox.c is the only code that includes <seccomp.h>).
 */
#ifndef CRYPTGATE_SANDBOX_H
#define CRYPTGATE_SANDBOX_H

#include "cryptgate/cdefs.h"

/* What a confined process may do. */
struct sandbox_policy {
	/* The system calls it may make: names ("read"), NULL-terminated. */
	const char *const *allow;
	/* Calls that fail with EACCES instead of killing it, so that the
	 * code that tries them reports an error (NULL: none). */
	const char *const *deny;
	/* If not 0: socket(2) is allowed for this domain only (AF_UNIX),
	 * and fails with EACCES for the others. */
	int socket_domain;
};

/**
 * sandbox_apply(p): confine the calling process, every thread it has (the
 * filter is synchronised to them) and every thread or child it creates, to
 * ${p}.  Any call outside ${p}->allow and ${p}->deny kills the process: a
 * line naming the call is written to standard error, then the process dies
 * of SIGSYS.  A name this kernel or architecture does not know is skipped.
 * Sets no_new_privs first.  Return 0, or -1 (logged) if the filter could
 * not be built or loaded.  A build with CG_SANDBOX_OFF defined (the
 * valgrind tree of make valgrind: valgrind makes system calls of its own)
 * loads no filter and says so.
 */
int sandbox_apply(const struct sandbox_policy *p) CG_WUR;

#endif /* !CRYPTGATE_SANDBOX_H */
