/*
 * test_priv.c: priv_drop and its helpers, each drop in a child process that
 * checks from inside what it became: its uids and gids, setuid(0) and
 * setuid(other) refused, capget, the ambient and bounding sets, the
 * securebits, no_new_privs, a root-only 0600 file it cannot open, a
 * capability kept that really works (CAP_NET_ADMIN: SO_MARK,
 * IP_TRANSPARENT, "ip link set lo up" run as a program in a network
 * namespace of its own) and one dropped that does not, and what a program
 * it runs holds (/proc/self/status of cat).  Also: the refusals (no user,
 * root, unknown user, another thread running), the non-root path (a child
 * made into a systemd-like User= process with ambient capabilities), a
 * seccomp filter denying capset (systemd's ~@privileged: no capset when
 * nothing changes), root without CAP_SETUID (a reduced bounding set),
 * priv_can_read and priv_daemon_drop's choice of user.  The cases that
 * need root skip, with the reason, when not run as root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <net/if.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cryptgate/log.h"
#include "cryptgate/priv.h"
#include "cryptgate/spawn.h"

#define NOUSER "cryptgate-test-no-such-user"
#define NETADMIN PRIV_CAP(CAP_NET_ADMIN)

/* In a child: fail with the condition's text. */
#define CHECK(c) \
	do { \
		if (!(c)) { \
			fprintf(stderr, "%s:%d: check failed: %s (%s)\n", \
			    __FILE__, __LINE__, #c, strerror(errno)); \
			_exit(1); \
		} \
	} while (0)

static char dir[64]; /* 0755, root's: files for the children */
static char rootfile[96]; /* root's, 0600 */
static char nobodyfile[96]; /* nobody's, 0600 */
static char openfile[96]; /* root's, 0644 */
static char closeddir[96]; /* root's, 0700, holds open.conf 0644 */
static char closedfile[128];
static uid_t nobody_uid;
static gid_t nobody_gid;

static void
put(const char *path, mode_t mode, uid_t uid)
{
	int fd;

	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	                 0600)) != -1);
	assert_int_equal(write(fd, "x\n", 2), 2);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(fchown(fd, uid, (gid_t)-1), 0);
	close(fd);
}

static int
setup(void **state)
{
	const struct passwd *pw;

	(void)state;
	log_init(1, 1, LOG_USER);
	log_procinit("test_priv");
	if (geteuid() != 0 || (pw = getpwnam("nobody")) == NULL)
		return (0);
	nobody_uid = pw->pw_uid;
	nobody_gid = pw->pw_gid;
	snprintf(dir, sizeof(dir), "/tmp/test_priv.XXXXXX");
	if (mkdtemp(dir) == NULL || chmod(dir, 0755) == -1)
		return (-1);
	snprintf(rootfile, sizeof(rootfile), "%s/root.key", dir);
	snprintf(nobodyfile, sizeof(nobodyfile), "%s/nobody.key", dir);
	snprintf(openfile, sizeof(openfile), "%s/open.conf", dir);
	snprintf(closeddir, sizeof(closeddir), "%s/closed", dir);
	snprintf(closedfile, sizeof(closedfile), "%s/open.conf", closeddir);
	if (mkdir(closeddir, 0700) == -1)
		return (-1);
	put(rootfile, 0600, 0);
	put(nobodyfile, 0600, nobody_uid);
	put(openfile, 0644, 0);
	put(closedfile, 0644, 0);
	return (0);
}

static int
teardown(void **state)
{
	(void)state;
	if (dir[0] == '\0')
		return (0);
	(void)unlink(rootfile);
	(void)unlink(nobodyfile);
	(void)unlink(openfile);
	(void)unlink(closedfile);
	(void)rmdir(closeddir);
	(void)rmdir(dir);
	return (0);
}

/* Skip unless root and nobody exists. */
static bool
need_root(void)
{
	if (geteuid() == 0 && nobody_uid != 0)
		return (true);
	print_message("# needs root and user nobody (switching users, "
	              "network namespaces)\n");
	return (false);
}

/* Run ${fn} in a child; assert that it exited 0. */
static void
in_child(void (*fn)(void))
{
	pid_t pid;
	int st;

	fflush(NULL);
	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void
caps_now(uint64_t *eff, uint64_t *perm, uint64_t *inh)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	CHECK(syscall(SYS_capget, &h, d) == 0);
	*eff = d[0].effective | (uint64_t)d[1].effective << 32;
	*perm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	*inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
}

static void
caps_put(uint64_t eff, uint64_t perm, uint64_t inh)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	int i;

	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		d[i].effective = (uint32_t)(eff >> (32 * i));
		d[i].permitted = (uint32_t)(perm >> (32 * i));
		d[i].inheritable = (uint32_t)(inh >> (32 * i));
	}
	CHECK(syscall(SYS_capset, &h, d) == 0);
}

/* The ambient set, by PR_CAP_AMBIENT_IS_SET. */
static uint64_t
ambient_now(void)
{
	uint64_t a = 0;
	int c;

	for (c = 0; c < 64; c++) {
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET,
		        (unsigned long)c, 0UL, 0UL) == 1)
			a |= PRIV_CAP(c);
	}
	return (a);
}

/* The bounding set, by PR_CAPBSET_READ. */
static uint64_t
bounding_now(void)
{
	uint64_t b = 0;
	int c;

	for (c = 0; c < 64; c++) {
		if (prctl(PR_CAPBSET_READ, (unsigned long)c, 0UL, 0UL, 0UL) ==
		    1)
			b |= PRIV_CAP(c);
	}
	return (b);
}

/*
 * What a program we run holds: the hexadecimal value of ${field}
 * ("CapEff", "CapAmb", ...) in the /proc/self/status that cat prints.
 */
static uint64_t
exec_field(const char *field)
{
	char buf[8192], want[32];
	unsigned long long v = ~0ULL;
	size_t len = 0;
	ssize_t n;
	const char *p;
	int fd[2], st;
	pid_t pid;

	CHECK(pipe(fd) == 0);
	CHECK((pid = fork()) != -1);
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execlp("cat", "cat", "/proc/self/status", (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	while (len < sizeof(buf) - 1 &&
	    (n = read(fd[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fd[0]);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
	    WEXITSTATUS(st) == 0);
	snprintf(want, sizeof(want), "\n%s:", field);
	CHECK((p = strstr(buf, want)) != NULL);
	CHECK(sscanf(p + strlen(want), "%llx", &v) == 1);
	return (v);
}

/* True if SO_MARK can be set on a new socket. */
static bool
can_mark(void)
{
	int fd, mark = 0x4347, rc;

	CHECK((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	rc = setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	close(fd);
	return (rc == 0);
}

/* True if IP_TRANSPARENT can be set on a new socket. */
static bool
can_transparent(void)
{
	int fd, one = 1, rc;

	CHECK((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	rc = setsockopt(fd, SOL_IP, IP_TRANSPARENT, &one, sizeof(one));
	close(fd);
	return (rc == 0);
}

/* "ip link set dev lo up" as a program, and lo then up. */
static bool
ip_lo_up(void)
{
	char *argv[] = { "ip", "link", "set", "dev", "lo", "up", NULL };
	struct ifreq ifr;
	int fd, rc;

	if (spawn_run(argv, NULL, true) != 0)
		return (false);
	CHECK((fd = socket(AF_INET, SOCK_DGRAM, 0)) != -1);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	close(fd);
	return (rc == 0 && (ifr.ifr_flags & IFF_UP) != 0);
}

/* The ids are all ${uid} and ${gid}, and no group is 0. */
static void
check_ids(uid_t uid, gid_t gid)
{
	uid_t r, e, s;
	gid_t rg, eg, sg, g[64];
	int i, n;

	CHECK(getresuid(&r, &e, &s) == 0);
	CHECK(r == uid && e == uid && s == uid);
	CHECK(getresgid(&rg, &eg, &sg) == 0);
	CHECK(rg == gid && eg == gid && sg == gid);
	CHECK((n = getgroups(64, g)) != -1);
	for (i = 0; i < n; i++)
		CHECK(g[i] != 0);
}

/* Everything a process switched to nobody with ${keep} shows. */
static void
check_dropped(uint64_t keep)
{
	uint64_t eff, perm, inh;
	int sb;

	check_ids(nobody_uid, nobody_gid);
	CHECK(setuid(0) == -1 && errno == EPERM);
	CHECK(setresuid(0, 0, 0) == -1);
	caps_now(&eff, &perm, &inh);
	CHECK(eff == keep && perm == keep && inh == keep);
	CHECK(ambient_now() == keep);
	CHECK(bounding_now() == keep);
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0UL, 0UL, 0UL, 0UL) == 1);
	sb = prctl(PR_GET_SECUREBITS, 0UL, 0UL, 0UL, 0UL);
	CHECK((sb & SECBIT_NOROOT) && (sb & SECBIT_NOROOT_LOCKED));
	CHECK((sb & SECBIT_NO_SETUID_FIXUP_LOCKED) &&
	    (sb & SECBIT_KEEP_CAPS_LOCKED) &&
	    (sb & SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED));
	/* The root-only file is closed to us, nobody's file is open. */
	CHECK(open(rootfile, O_RDONLY) == -1 && errno == EACCES);
	CHECK(open(nobodyfile, O_RDONLY) != -1);
	/* A program we run holds what we kept, no more. */
	CHECK(exec_field("CapEff") == keep);
	CHECK(exec_field("CapPrm") == keep);
	CHECK(exec_field("CapAmb") == keep);
	CHECK(exec_field("NoNewPrivs") == 1);
}

static void
child_none(void)
{
	/* A network namespace of our own, for "ip link" below. */
	CHECK(unshare(CLONE_NEWNET) == 0);
	CHECK(priv_drop("nobody", 0) == 0);
	check_dropped(0);
	CHECK(!can_mark() && errno == EPERM);
	CHECK(!can_transparent());
	CHECK(!ip_lo_up());
}

static void
test_drop_none(void **state)
{
	(void)state;
	if (!need_root())
		skip();
	in_child(child_none);
}

static void
child_netadmin(void)
{
	CHECK(unshare(CLONE_NEWNET) == 0);
	CHECK(priv_drop("nobody", NETADMIN) == 0);
	check_dropped(NETADMIN);
	/* The kept capability works, here and in a program we run. */
	CHECK(can_mark());
	CHECK(can_transparent());
	CHECK(ip_lo_up());
	/* And nothing else: no other user, no root file. */
	CHECK(setgid(0) == -1);
	CHECK(setuid(1) == -1);
	CHECK(chown(nobodyfile, 0, 0) == -1);
}

static void
test_drop_netadmin(void **state)
{
	(void)state;
	if (!need_root())
		skip();
	in_child(child_netadmin);
}

/* Root keeps uid 0 without capabilities: priv_drop_caps(0). */
static void
child_keep_root(void)
{
	uint64_t eff, perm, inh;

	CHECK(priv_drop_caps(0) == 0);
	check_ids(0, 0);
	caps_now(&eff, &perm, &inh);
	CHECK(eff == 0 && perm == 0 && inh == 0);
	CHECK(ambient_now() == 0 && bounding_now() == 0);
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0UL, 0UL, 0UL, 0UL) == 1);
	/* No CAP_DAC_OVERRIDE: another user's 0600 file is closed. */
	CHECK(open(nobodyfile, O_RDONLY) == -1 && errno == EACCES);
	CHECK(setuid(nobody_uid) == -1 && errno == EPERM);
	CHECK(!can_mark());
	/* Uid 0 gets nothing back at execve (SECBIT_NOROOT). */
	CHECK(exec_field("CapEff") == 0);
	CHECK(exec_field("CapPrm") == 0);
	CHECK(exec_field("CapBnd") == 0);
}

static void
test_drop_keep_root(void **state)
{
	(void)state;
	if (!need_root())
		skip();
	in_child(child_keep_root);
}

/*
 * Not root: what systemd's User=nobody with AmbientCapabilities=
 * CAP_NET_ADMIN CAP_NET_BIND_SERVICE makes; priv_drop keeps the uid and
 * only CAP_NET_ADMIN.
 */
static void
child_not_root(void)
{
	uint64_t both = NETADMIN | PRIV_CAP(CAP_NET_BIND_SERVICE), eff, perm,
	         inh;

	CHECK(prctl(PR_SET_KEEPCAPS, 1UL, 0UL, 0UL, 0UL) == 0);
	CHECK(setgroups(0, NULL) == 0);
	CHECK(setresgid(nobody_gid, nobody_gid, nobody_gid) == 0);
	CHECK(setresuid(nobody_uid, nobody_uid, nobody_uid) == 0);
	caps_put(both, both, both);
	CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE,
	          (unsigned long)CAP_NET_ADMIN, 0UL, 0UL) == 0);
	CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE,
	          (unsigned long)CAP_NET_BIND_SERVICE, 0UL, 0UL) == 0);
	/* The user is not used when not root. */
	CHECK(priv_drop("daemon", NETADMIN) == 0);
	check_ids(nobody_uid, nobody_gid);
	caps_now(&eff, &perm, &inh);
	CHECK(eff == NETADMIN && perm == NETADMIN && inh == NETADMIN);
	CHECK(ambient_now() == NETADMIN);
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0UL, 0UL, 0UL, 0UL) == 1);
	CHECK(can_mark());
	CHECK(exec_field("CapEff") == NETADMIN);
	/* Asking for one we do not have: left out, not an error. */
	CHECK(priv_drop(NULL, PRIV_CAP(CAP_NET_RAW)) == 0);
	caps_now(&eff, &perm, &inh);
	CHECK(eff == 0 && perm == 0 && ambient_now() == 0);
}

static void
test_not_root(void **state)
{
	(void)state;
	if (!need_root())
		skip();
	in_child(child_not_root);
}

/*
 * A seccomp filter that fails capset with EPERM, as systemd's
 * SystemCallFilter=~@privileged does.
 */
static void
deny_capset(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_capset, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

	CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL) == 0);
	CHECK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0UL, 0UL) == 0);
}

/* A process with nothing to give up needs no capset. */
static void
child_no_capset(void)
{
	uint64_t eff, perm, inh;

	/* Nobody, every capability gone (no KEEPCAPS). */
	CHECK(setgroups(0, NULL) == 0);
	CHECK(setresgid(nobody_gid, nobody_gid, nobody_gid) == 0);
	CHECK(setresuid(nobody_uid, nobody_uid, nobody_uid) == 0);
	caps_now(&eff, &perm, &inh);
	CHECK(eff == 0 && perm == 0 && inh == 0);
	deny_capset();
	CHECK(priv_drop_caps(0) == 0);
	check_ids(nobody_uid, nobody_gid);
}

/* One with a capability to give up and capset denied: an error. */
static void
child_capset_denied(void)
{
	deny_capset();
	CHECK(priv_drop_caps(0) == -1);
}

static void
test_seccomp_capset(void **state)
{
	(void)state;
	if (!need_root())
		skip();
	in_child(child_no_capset);
	in_child(child_capset_denied);
}

/* Root without CAP_SETUID (systemd's CapabilityBoundingSet=...). */
static void
child_no_setuid(void)
{
	const struct priv_file f[] = { { nobodyfile, true } };
	uint64_t eff, perm, inh;

	CHECK(prctl(PR_CAPBSET_DROP, (unsigned long)CAP_SETUID, 0UL, 0UL,
	          0UL) == 0);
	caps_now(&eff, &perm, &inh);
	caps_put(
	    eff & ~PRIV_CAP(CAP_SETUID), perm & ~PRIV_CAP(CAP_SETUID), inh);
	/* Asked for: refused; by default: uid 0 stays, capabilities go. */
	CHECK(priv_drop("nobody", 0) == -1);
	check_ids(0, 0);
	CHECK(priv_daemon_drop(NULL, NETADMIN, f, 1) == 0);
	check_ids(0, 0);
	caps_now(&eff, &perm, &inh);
	CHECK(eff == NETADMIN && perm == NETADMIN);
	CHECK(bounding_now() == NETADMIN);
}

static void
test_no_setuid(void **state)
{
	(void)state;
	if (!need_root())
		skip();
	in_child(child_no_setuid);
}

static void *
sleeper(void *arg)
{
	char c;

	/* Until the pipe ${arg} closes. */
	if (read(*(int *)arg, &c, 1) == -1)
		return (NULL);
	return (NULL);
}

static void
child_refusals(void)
{
	pthread_t th;
	int p[2];

	CHECK(priv_drop(NULL, 0) == -1);
	CHECK(priv_drop("root", 0) == -1);
	CHECK(priv_drop(NOUSER, 0) == -1);
	/* Capabilities are per thread: not with another running. */
	CHECK(pipe(p) == 0);
	CHECK(pthread_create(&th, NULL, sleeper, &p[0]) == 0);
	CHECK(priv_drop("nobody", 0) == -1);
	CHECK(priv_drop_caps(0) == -1);
	close(p[1]);
	CHECK(pthread_join(th, NULL) == 0);
	/* Nothing changed. */
	check_ids(0, 0);
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0UL, 0UL, 0UL, 0UL) == 0);
	CHECK(open(nobodyfile, O_RDONLY) != -1);
}

static void
test_refusals(void **state)
{
	(void)state;
	if (!need_root())
		skip();
	in_child(child_refusals);
}

static void
test_user_exists(void **state)
{
	(void)state;
	assert_true(priv_user_exists("root"));
	assert_false(priv_user_exists(NOUSER));
	assert_false(priv_user_exists(NULL));
	assert_int_equal(priv_user_check("root"), -1);
	assert_int_equal(priv_user_check(NOUSER), -1);
	if (priv_user_exists("nobody"))
		assert_int_equal(priv_user_check("nobody"), 0);
}

static void
test_can_read(void **state)
{
	const char *paths[] = { rootfile, nobodyfile, openfile, closedfile,
		"/nonexistent/cryptgate" };
	bool ok[5];

	(void)state;
	if (!need_root())
		skip();
	memset(ok, 0, sizeof(ok));
	assert_int_equal(priv_can_read("nobody", paths, 5, ok), 0);
	assert_false(ok[0]);
	assert_true(ok[1]);
	assert_true(ok[2]);
	assert_false(ok[3]); /* in a 0700 directory of root's */
	assert_false(ok[4]);
	assert_int_equal(priv_can_read(NOUSER, paths, 5, ok), -1);
	assert_int_equal(priv_can_read("root", paths, 5, ok), -1);
}

/* priv_daemon_drop, user unset, nobody's key: becomes nobody. */
static void
child_daemon_owner(void)
{
	const struct priv_file f[] = { { openfile, false },
		{ nobodyfile, true } };

	CHECK(priv_daemon_drop(NULL, NETADMIN, f, 2) == 0);
	check_ids(nobody_uid, nobody_gid);
	CHECK(ambient_now() == NETADMIN);
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0UL, 0UL, 0UL, 0UL) == 1);
}

/* User unset, root's key: uid 0 stays, without capabilities. */
static void
child_daemon_rootkey(void)
{
	const struct priv_file f[] = { { openfile, false },
		{ rootfile, true } };
	uint64_t eff, perm, inh;

	CHECK(priv_daemon_drop(NULL, 0, f, 2) == 0);
	check_ids(0, 0);
	caps_now(&eff, &perm, &inh);
	CHECK(eff == 0 && perm == 0 && bounding_now() == 0);
	CHECK(open(rootfile, O_RDONLY) != -1); /* a reload reads it */
}

/* User unset, nobody's key in a directory nobody cannot enter: root. */
static void
child_daemon_unreadable(void)
{
	const struct priv_file f[] = { { closedfile, false },
		{ nobodyfile, true } };

	CHECK(priv_daemon_drop(NULL, 0, f, 2) == 0);
	check_ids(0, 0);
	CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0UL, 0UL, 0UL, 0UL) == 1);
}

/* User set: switches even though it cannot read root's key (warned). */
static void
child_daemon_user(void)
{
	const struct priv_file f[] = { { rootfile, true } };

	CHECK(priv_daemon_drop("nobody", 0, f, 1) == 0);
	check_ids(nobody_uid, nobody_gid);
	CHECK(bounding_now() == 0);
}

static void
test_daemon_drop(void **state)
{
	(void)state;
	if (!need_root())
		skip();
	in_child(child_daemon_owner);
	in_child(child_daemon_rootkey);
	in_child(child_daemon_unreadable);
	in_child(child_daemon_user);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_exists),
		cmocka_unit_test(test_drop_none),
		cmocka_unit_test(test_drop_netadmin),
		cmocka_unit_test(test_drop_keep_root),
		cmocka_unit_test(test_not_root),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_seccomp_capset),
		cmocka_unit_test(test_no_setuid),
		cmocka_unit_test(test_can_read),
		cmocka_unit_test(test_daemon_drop),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
