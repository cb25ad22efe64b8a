/*
 * sandbox.c: seccomp filters (sandbox.h).
 *
 * A call outside the policy traps (SIGSYS) rather than killing at once, so
 * that the process can say which call it was: an operator who meets it
 * learns what to report, and a test learns what a policy lacks.  The
 * handler then restores the default action and re-raises, so the process
 * still dies of SIGSYS.
 */
#include <sys/prctl.h>

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdbool.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "cryptgate/log.h"
#include "cryptgate/sandbox.h"

/* AddressSanitizer: gcc says so with a macro, clang with a feature. */
#if defined(__SANITIZE_ADDRESS__)
#define CG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CG_ASAN 1
#endif
#endif

/* What every policy allows: the handler must be able to say why and die. */
static const char *const always[] = { "write", "rt_sigreturn", "rt_sigaction",
	"tgkill", "getpid", "gettid", "exit", "exit_group", NULL };

#ifdef CG_ASAN
/*
 * What AddressSanitizer's runtime needs besides: at thread start, and
 * LeakSanitizer's check at exit, which stops the threads from a helper it
 * clones, with ptrace, after listing /proc/self/task (openat is allowed
 * for directories only: nothing can be read that way).  Only in
 * sanitizer builds; a policy's deny list does not apply to these.
 */
static const char *const asan_allow[] = { "clone", "ptrace", "wait4", "waitid",
	"prctl", "getppid", "sched_yield", "sched_getaffinity", "getdents",
	"getdents64", "lseek", "getrlimit", "prlimit64", "sigaltstack", "mmap",
	"munmap", "mprotect", "madvise", "futex", "rt_sigprocmask", "close",
	"readlink", "getpid", NULL };

static bool
listed(const char *const *names, const char *name)
{
	for (; names != NULL && *names != NULL; names++)
		if (strcmp(*names, name) == 0)
			return (true);
	return (false);
}

static bool
is_asan_call(const char *name)
{
	return (listed(asan_allow, name) || strcmp(name, "open") == 0 ||
	    strcmp(name, "openat") == 0);
}
#endif

/* Write "cryptgate: sandbox: system call N (name) not allowed" to fd 2;
 * async-signal-safe. */
static void
sigsys_handler(int sig, siginfo_t *si, void *uc)
{
	static const char a[] = "cryptgate: sandbox: system call ";
	static const char b[] = " not allowed in this process\n";
	char num[24];
	size_t i = sizeof(num);
	unsigned int n = (unsigned int)si->si_syscall;

	(void)uc;
	do {
		num[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n != 0 && i > 0);
	(void)!write(2, a, sizeof(a) - 1);
	(void)!write(2, num + i, sizeof(num) - i);
	(void)!write(2, b, sizeof(b) - 1);
	signal(sig, SIG_DFL);
	raise(sig);
	_exit(128 + sig);
}

/* Add ${action} for every call named in ${names}; 0 or -1 (logged). */
static int
add_rules(scmp_filter_ctx ctx, const char *const *names, uint32_t action)
{
	int nr, rc;

	for (; names != NULL && *names != NULL; names++) {
#ifdef CG_ASAN
		if (action != SCMP_ACT_ALLOW && is_asan_call(*names))
			continue;
#endif
		if ((nr = seccomp_syscall_resolve_name(*names)) ==
		    __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		if ((rc = seccomp_rule_add(ctx, action, nr, 0)) < 0) {
			log_warnx("sandbox: %s: %s", *names, strerror(-rc));
			return (-1);
		}
	}
	return (0);
}

int
sandbox_apply(const struct sandbox_policy *p)
{
	struct sigaction sa;
	scmp_filter_ctx ctx;
	int rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		log_warn("sandbox: PR_SET_NO_NEW_PRIVS");
		goto err0;
	}
#ifdef CG_SANDBOX_OFF
	/* A build for valgrind (make valgrind), whose own system calls a
	 * filter would kill: never a build to install. */
	(void)p;
	log_warnx("sandbox: built with CG_SANDBOX_OFF: no system call filter");
	return (0);
#endif
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigsys_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1) {
		log_warn("sandbox: sigaction");
		goto err0;
	}
	if ((ctx = seccomp_init(SCMP_ACT_TRAP)) == NULL) {
		log_warnx("sandbox: seccomp_init failed");
		goto err0;
	}
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0) {
		/* libseccomp found no usable seccomp(2): an outer filter
		 * (systemd's SystemCallFilter=) may refuse it. */
		log_warnx(
		    "sandbox: cannot filter system calls (seccomp(2) with "
		    "TSYNC: %s): if this runs under a system call filter "
		    "(systemd's SystemCallFilter=), it must allow seccomp",
		    strerror(-rc));
		goto err1;
	}
	/* The handler must be able to say why and die. */
	if (add_rules(ctx, always, SCMP_ACT_ALLOW) ||
	    add_rules(ctx, p->allow, SCMP_ACT_ALLOW) ||
	    add_rules(ctx, p->deny, SCMP_ACT_ERRNO(EACCES)))
		goto err1;
#ifdef CG_ASAN
	if (add_rules(ctx, asan_allow, SCMP_ACT_ALLOW))
		goto err1;
	if ((!listed(p->allow, "openat") &&
	        (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
	             SCMP_A2(SCMP_CMP_MASKED_EQ, O_DIRECTORY, O_DIRECTORY)) <
	                0 ||
	            seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES),
	                SCMP_SYS(openat), 1,
	                SCMP_A2(SCMP_CMP_MASKED_EQ, O_DIRECTORY, 0)) < 0)) ||
	    (!listed(p->allow, "open") &&
	        (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 1,
	             SCMP_A1(SCMP_CMP_MASKED_EQ, O_DIRECTORY, O_DIRECTORY)) <
	                0 ||
	            seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES),
	                SCMP_SYS(open), 1,
	                SCMP_A1(SCMP_CMP_MASKED_EQ, O_DIRECTORY, 0)) < 0))) {
		log_warnx("sandbox: the sanitizer's calls");
		goto err1;
	}
#endif
	if (p->socket_domain != 0 &&
	    ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	          SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)p->socket_domain, 0))) <
	            0 ||
	        (rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES),
	             SCMP_SYS(socket), 1,
	             SCMP_A0(SCMP_CMP_NE, (scmp_datum_t)p->socket_domain, 0))) <
	            0)) {
		log_warnx("sandbox: socket: %s", strerror(-rc));
		goto err1;
	}
	if ((rc = seccomp_load(ctx)) < 0) {
		log_warnx("sandbox: seccomp_load: %s", strerror(-rc));
		goto err1;
	}
	seccomp_release(ctx);

	/* Success! */
	return (0);

err1:
	seccomp_release(ctx);
err0:
	/* Failure! */
	return (-1);
}
