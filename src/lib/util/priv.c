/*
 * priv.c: giving up privileges (priv.h).
 *
 * The kernel's own interface, no libcap: capget/capset (capabilities(7),
 * version 3: two 32-bit words per set), prctl PR_CAPBSET_DROP,
 * PR_CAP_AMBIENT, PR_SET_SECUREBITS, PR_SET_NO_NEW_PRIVS.
 *
 * Switching user as root, in this order:
 *
 *   1. the bounding set cut to what is kept (needs CAP_SETPCAP);
 *   2. securebits NO_SETUID_FIXUP (the uid change below leaves the
 *      capability sets alone: we cut them ourselves), NOROOT (uid 0 gets no
 *      capability at execve), KEEP_CAPS_LOCKED, all locked;
 *   3. setgroups, setresgid, setresuid;
 *   4. permitted and effective: what is kept and CAP_SETPCAP; inheritable:
 *      what is kept; the ambient set: cleared, then what is kept raised (a
 *      program we run keeps those, and only those);
 *   5. securebit NO_CAP_AMBIENT_RAISE, locked; then CAP_SETPCAP goes too;
 *   6. PR_SET_NO_NEW_PRIVS; then every one of these checked.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <linux/securebits.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cryptgate/log.h"
#include "cryptgate/priv.h"

#define CAPS_MAX 64
#define SECBITS_FIRST \
	(SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP | \
	    SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED)
#define SECBITS_LAST \
	(SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)
#define NAMEBYTES 64
/* What switching users takes. */
#define SWITCH_CAPS \
	(PRIV_CAP(CAP_SETUID) | PRIV_CAP(CAP_SETGID) | PRIV_CAP(CAP_SETPCAP))

/* A user to switch to: ids, supplementary groups. */
struct who {
	char name[NAMEBYTES];
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	int ngroups;
};

/* The three sets capget gives. */
struct caps {
	uint64_t eff;
	uint64_t perm;
	uint64_t inh;
};

static const char *
capname(int c, char *buf, size_t size)
{
	static const struct {
		int c;
		const char *name;
	} names[] = {
		{ CAP_CHOWN, "CAP_CHOWN" },
		{ CAP_DAC_OVERRIDE, "CAP_DAC_OVERRIDE" },
		{ CAP_DAC_READ_SEARCH, "CAP_DAC_READ_SEARCH" },
		{ CAP_SETGID, "CAP_SETGID" },
		{ CAP_SETUID, "CAP_SETUID" },
		{ CAP_SETPCAP, "CAP_SETPCAP" },
		{ CAP_NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE" },
		{ CAP_NET_ADMIN, "CAP_NET_ADMIN" },
		{ CAP_NET_RAW, "CAP_NET_RAW" },
		{ CAP_SYS_ADMIN, "CAP_SYS_ADMIN" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i].c == c)
			return (names[i].name);
	}
	snprintf(buf, size, "capability %d", c);
	return (buf);
}

/* ${caps} as "CAP_A CAP_B" (or "no capability") into ${buf}. */
static const char *
capnames(uint64_t caps, char *buf, size_t size)
{
	char one[32];
	size_t len = 0;
	int c;

	snprintf(buf, size, "no capability");
	for (c = 0; c < CAPS_MAX && len < size; c++) {
		if ((caps & PRIV_CAP(c)) == 0)
			continue;
		len += (size_t)snprintf(buf + len, size - len, "%s%s",
		    len > 0 ? " " : "", capname(c, one, sizeof(one)));
	}
	return (buf);
}

/* The highest capability number this kernel knows. */
static int
last_cap(void)
{
	int c;

	for (c = 0; c < CAPS_MAX; c++) {
		if (prctl(PR_CAPBSET_READ, (unsigned long)c, 0UL, 0UL, 0UL) ==
		    -1)
			break;
	}
	return (c - 1);
}

static int
caps_get(struct caps *cs)
{
	struct __user_cap_header_struct h;
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(&h, 0, sizeof(h));
	memset(d, 0, sizeof(d));
	h.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capget, &h, d) == -1) {
		log_warn("priv_drop: capget");
		return (-1);
	}
	cs->eff = d[0].effective | (uint64_t)d[1].effective << 32;
	cs->perm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	cs->inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return (0);
}

static int
caps_set(uint64_t eff, uint64_t perm, uint64_t inh)
{
	struct __user_cap_header_struct h;
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
	int i;

	memset(&h, 0, sizeof(h));
	h.version = _LINUX_CAPABILITY_VERSION_3;
	for (i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
		d[i].effective = (uint32_t)(eff >> (32 * i));
		d[i].permitted = (uint32_t)(perm >> (32 * i));
		d[i].inheritable = (uint32_t)(inh >> (32 * i));
	}
	if (syscall(SYS_capset, &h, d) == -1) {
		log_warn("priv_drop: capset");
		return (-1);
	}
	return (0);
}

/* Capabilities are per thread: refuse if another thread runs. */
static int
single_threaded(void)
{
	char line[128];
	long n = 0;
	FILE *f;

	/* Without /proc we cannot tell: the callers' contract holds. */
	if ((f = fopen("/proc/self/status", "re")) == NULL)
		return (0);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "Threads:", 8) == 0) {
			n = strtol(line + 8, NULL, 10);
			break;
		}
	}
	fclose(f);
	if (n > 1) {
		log_warnx("priv_drop: %ld threads run: capabilities are per "
		          "thread, the drop must come before any other starts",
		    n);
		return (-1);
	}
	return (0);
}

/* What of ${keep} the process has (${cs}); the rest is logged. */
static uint64_t
available(uint64_t keep, const struct caps *cs)
{
	char buf[256];

	if ((keep & ~cs->perm) != 0)
		log_warnx("priv_drop: %s not held: left out",
		    capnames(keep & ~cs->perm, buf, sizeof(buf)));
	return (keep & cs->perm);
}

/* Cut the bounding set to ${keep}. */
static int
bset_cut(uint64_t keep, int last)
{
	char buf[32];
	int c;

	for (c = 0; c <= last; c++) {
		if ((keep & PRIV_CAP(c)) != 0 ||
		    prctl(PR_CAPBSET_READ, (unsigned long)c, 0UL, 0UL, 0UL) !=
		        1)
			continue;
		if (prctl(PR_CAPBSET_DROP, (unsigned long)c, 0UL, 0UL, 0UL) ==
		    -1) {
			log_warn("priv_drop: PR_CAPBSET_DROP %s",
			    capname(c, buf, sizeof(buf)));
			return (-1);
		}
	}
	return (0);
}

/* Add ${bits} to the securebits. */
static int
secbits_add(int bits)
{
	int old;

	if ((old = prctl(PR_GET_SECUREBITS, 0UL, 0UL, 0UL, 0UL)) == -1 ||
	    prctl(PR_SET_SECUREBITS, (unsigned long)(old | bits), 0UL, 0UL,
	        0UL) == -1) {
		log_warn("priv_drop: PR_SET_SECUREBITS 0x%x", bits);
		return (-1);
	}
	return (0);
}

/* The ambient set: exactly ${keep} (held in permitted and inheritable). */
static int
ambient_set(uint64_t keep, int last)
{
	char buf[32];
	int c;

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0UL, 0UL, 0UL) ==
	    -1) {
		log_warn("priv_drop: PR_CAP_AMBIENT_CLEAR_ALL");
		return (-1);
	}
	for (c = 0; c <= last; c++) {
		if ((keep & PRIV_CAP(c)) != 0 &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE,
		        (unsigned long)c, 0UL, 0UL) == -1) {
			log_warn("priv_drop: PR_CAP_AMBIENT_RAISE %s",
			    capname(c, buf, sizeof(buf)));
			return (-1);
		}
	}
	return (0);
}

/*
 * Steps 4 to 6 of the top of this file, for ${keep}: ${setpcap} if the
 * process may still use CAP_SETPCAP for the securebits.
 */
static int
cut_caps(uint64_t keep, bool setpcap, int last)
{
	uint64_t pc = setpcap ? PRIV_CAP(CAP_SETPCAP) : 0;
	struct caps cs;

	/*
	 * No capset when nothing changes: a seccomp filter may deny it
	 * (systemd's SystemCallFilter=~@privileged) to a process that holds
	 * nothing to give up.
	 */
	if (caps_get(&cs))
		return (-1);
	if ((cs.eff != (keep | pc) || cs.perm != (keep | pc) ||
	        cs.inh != keep) &&
	    caps_set(keep | pc, keep | pc, keep))
		return (-1);
	if (ambient_set(keep, last) ||
	    (setpcap &&
	        (secbits_add(SECBITS_LAST) || caps_set(keep, keep, keep))))
		return (-1);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL) == -1) {
		log_warn("priv_drop: PR_SET_NO_NEW_PRIVS");
		return (-1);
	}
	return (0);
}

/* Check the result: ids ${uid} ${gid}, capabilities within ${keep}. */
static int
verify(uid_t uid, gid_t gid, uint64_t keep, int last)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;
	struct caps cs;
	char buf[256];
	int c;

	if (getresuid(&r, &e, &s) == -1 || r != uid || e != uid || s != uid ||
	    getresgid(&rg, &eg, &sg) == -1 || rg != gid || eg != gid ||
	    sg != gid) {
		log_warnx("priv_drop: check: not uid %u gid %u on every id",
		    (unsigned int)uid, (unsigned int)gid);
		return (-1);
	}
	if (uid != 0 && setuid(0) == 0) {
		log_warnx("priv_drop: check: setuid(0) works");
		return (-1);
	}
	if (caps_get(&cs))
		return (-1);
	if (((cs.eff | cs.perm | cs.inh) & ~keep) != 0) {
		log_warnx("priv_drop: check: %s still held",
		    capnames(
		        (cs.eff | cs.perm | cs.inh) & ~keep, buf, sizeof(buf)));
		return (-1);
	}
	for (c = 0; c <= last; c++) {
		if ((keep & PRIV_CAP(c)) == 0 &&
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET,
		        (unsigned long)c, 0UL, 0UL) == 1) {
			log_warnx("priv_drop: check: %s ambient",
			    capname(c, buf, sizeof(buf)));
			return (-1);
		}
	}
	if (prctl(PR_GET_NO_NEW_PRIVS, 0UL, 0UL, 0UL, 0UL) != 1) {
		log_warnx("priv_drop: check: no_new_privs not set");
		return (-1);
	}
	return (0);
}

/* ${user}'s ids and groups into ${w}; 0 or -1 (logged). */
static int
who_load(struct who *w, const char *user)
{
	const struct passwd *pw;
	gid_t *g;
	int n = 16;

	memset(w, 0, sizeof(*w));
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		if (errno != 0)
			log_warn("user %s: getpwnam", user);
		else
			log_warnx("user %s: no such user", user);
		return (-1);
	}
	if (pw->pw_uid == 0 || strcmp(user, "root") == 0) {
		log_warnx(
		    "user %s: is root (uid 0): not a user to drop to", user);
		return (-1);
	}
	if (strlen(user) >= sizeof(w->name)) {
		log_warnx("user %s: name too long", user);
		return (-1);
	}
	memcpy(w->name, user, strlen(user) + 1);
	w->uid = pw->pw_uid;
	w->gid = pw->pw_gid;
	for (;;) {
		if ((g = reallocarray(w->groups, (size_t)n, sizeof(*g))) ==
		    NULL) {
			log_warnx("out of memory");
			goto err;
		}
		w->groups = g;
		w->ngroups = n;
		if (getgrouplist(w->name, w->gid, w->groups, &w->ngroups) != -1)
			break;
		if (w->ngroups <= n || n > 65536) {
			log_warnx("user %s: getgrouplist failed", user);
			goto err;
		}
		n = w->ngroups;
	}

	/* Success! */
	return (0);

err:
	free(w->groups);
	w->groups = NULL;
	return (-1);
}

/* Step 3: become ${w}. */
static int
become(const struct who *w)
{
	if (setgroups((size_t)w->ngroups, w->groups) == -1) {
		log_warn("priv_drop: setgroups");
		return (-1);
	}
	if (setresgid(w->gid, w->gid, w->gid) == -1) {
		log_warn("priv_drop: setresgid %u", (unsigned int)w->gid);
		return (-1);
	}
	if (setresuid(w->uid, w->uid, w->uid) == -1) {
		log_warn("priv_drop: setresuid %u", (unsigned int)w->uid);
		return (-1);
	}
	return (0);
}

uint64_t
priv_caps(void)
{
	struct caps cs;

	if (caps_get(&cs))
		return (0);
	return (cs.perm);
}

bool
priv_user_exists(const char *user)
{
	return (user != NULL && getpwnam(user) != NULL);
}

int
priv_user_check(const char *user)
{
	struct who w;

	if (who_load(&w, user))
		return (-1);
	free(w.groups);
	return (0);
}

int
priv_drop_caps(uint64_t keep_caps)
{
	struct caps cs;
	uint64_t keep;
	bool setpcap;
	int last = last_cap();

	if (single_threaded() || caps_get(&cs))
		return (-1);
	keep = available(keep_caps, &cs);
	setpcap = (cs.eff & PRIV_CAP(CAP_SETPCAP)) != 0;
	if (setpcap && (bset_cut(keep, last) || secbits_add(SECBITS_FIRST)))
		return (-1);
	if (cut_caps(keep, setpcap, last) ||
	    verify(geteuid(), getegid(), keep, last))
		return (-1);

	/* Success! */
	return (0);
}

int
priv_drop(const char *user, uint64_t keep_caps)
{
	struct caps cs;
	struct who w;
	uint64_t keep;
	int last = last_cap();

	if (geteuid() != 0)
		return (priv_drop_caps(keep_caps));
	if (user == NULL) {
		log_warnx("priv_drop: running as root and no user to drop to");
		return (-1);
	}
	if (single_threaded() || who_load(&w, user))
		return (-1);
	if (caps_get(&cs))
		goto err;
	if ((cs.eff & SWITCH_CAPS) != SWITCH_CAPS) {
		log_warnx(
		    "priv_drop: switching to user %s needs CAP_SETUID, "
		    "CAP_SETGID and CAP_SETPCAP (a reduced bounding set?)",
		    user);
		goto err;
	}
	keep = available(keep_caps, &cs);
	if (bset_cut(keep, last) || secbits_add(SECBITS_FIRST) || become(&w) ||
	    cut_caps(keep, true, last) || verify(w.uid, w.gid, keep, last))
		goto err;
	free(w.groups);

	/* Success! */
	return (0);

err:
	free(w.groups);
	return (-1);
}

/* In the child of priv_can_read: become ${w}, try each file, _exit. */
static void CG_NORETURN
can_read_child(const struct who *w, const char *const *paths, size_t n, int out)
{
	size_t i;
	char c;
	int fd;

	if (setgroups((size_t)w->ngroups, w->groups) == -1 ||
	    setresgid(w->gid, w->gid, w->gid) == -1 ||
	    setresuid(w->uid, w->uid, w->uid) == -1)
		_exit(2);
	for (i = 0; i < n; i++) {
		fd = open(
		    paths[i], O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		c = fd != -1 ? 1 : 0;
		if (fd != -1)
			close(fd);
		if (write(out, &c, 1) != 1)
			_exit(3);
	}
	_exit(0);
}

int
priv_can_read(const char *user, const char *const *paths, size_t n, bool *ok)
{
	struct who w;
	size_t got = 0;
	ssize_t r;
	char c;
	int p[2], st;
	pid_t pid;

	if (geteuid() != 0) {
		log_warnx("priv_can_read: not root");
		return (-1);
	}
	if (who_load(&w, user))
		return (-1);
	if (pipe2(p, O_CLOEXEC) == -1) {
		log_warn("priv_can_read: pipe");
		goto err0;
	}
	if ((pid = fork()) == -1) {
		log_warn("priv_can_read: fork");
		goto err1;
	}
	if (pid == 0) {
		close(p[0]);
		can_read_child(&w, paths, n, p[1]);
	}
	close(p[1]);
	p[1] = -1;
	while (got < n &&
	    ((r = read(p[0], &c, 1)) == 1 || (r == -1 && errno == EINTR))) {
		if (r == 1)
			ok[got++] = c == 1;
	}
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (got != n || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		log_warnx("priv_can_read: the check as user %s failed", user);
		goto err1;
	}
	close(p[0]);
	free(w.groups);

	/* Success! */
	return (0);

err1:
	close(p[0]);
	if (p[1] != -1)
		close(p[1]);
err0:
	free(w.groups);
	return (-1);
}

/*
 * The user a daemon started as root runs as by default: the owner of its
 * secret files, into ${name}, if that is one user other than root who can
 * read every file.  Return 0, or -1 with the reason in ${*why}.
 */
static int
key_owner(const struct priv_file *files, size_t n, char *name, size_t size,
    const char **why)
{
	const char **paths;
	const struct passwd *pw;
	struct stat st;
	bool *ok, found = false;
	uid_t owner = 0;
	size_t i;
	int rc = -1;

	*why = "no key file";
	for (i = 0; i < n; i++) {
		if (!files[i].secret || stat(files[i].path, &st) == -1)
			continue;
		if (found && st.st_uid != owner) {
			*why = "the key files belong to different users";
			return (-1);
		}
		owner = st.st_uid;
		found = true;
	}
	if (!found)
		return (-1);
	*why = "the key files belong to root";
	if (owner == 0)
		return (-1);
	*why = "the key files' owner has no user name";
	if ((pw = getpwuid(owner)) == NULL || strlen(pw->pw_name) >= size)
		return (-1);
	memcpy(name, pw->pw_name, strlen(pw->pw_name) + 1);
	paths = calloc(n > 0 ? n : 1, sizeof(*paths));
	ok = calloc(n > 0 ? n : 1, sizeof(*ok));
	*why = "out of memory";
	if (paths == NULL || ok == NULL)
		goto out;
	for (i = 0; i < n; i++)
		paths[i] = files[i].path;
	*why = "the key files' owner cannot read the files";
	if (priv_can_read(name, paths, n, ok))
		goto out;
	for (i = 0; i < n && ok[i]; i++)
		;
	if (i < n) {
		log_info("user %s, the key files' owner, cannot read %s", name,
		    paths[i]);
		goto out;
	}
	rc = 0;
out:
	free(paths);
	free(ok);
	return (rc);
}

/* Root, ${user} set: warn about the files it cannot read. */
static int
warn_unreadable(const char *user, const struct priv_file *files, size_t n)
{
	const char **paths;
	bool *ok;
	size_t i;
	int rc = -1;

	paths = calloc(n > 0 ? n : 1, sizeof(*paths));
	ok = calloc(n > 0 ? n : 1, sizeof(*ok));
	if (paths == NULL || ok == NULL) {
		log_warnx("out of memory");
		goto out;
	}
	for (i = 0; i < n; i++)
		paths[i] = files[i].path;
	if (priv_can_read(user, paths, n, ok))
		goto out;
	for (i = 0; i < n; i++) {
		if (!ok[i])
			log_warnx("%s: not readable by user %s: a reload "
			          "(SIGHUP) will fail",
			    paths[i], user);
	}
	rc = 0;
out:
	free(paths);
	free(ok);
	return (rc);
}

int
priv_daemon_drop(const char *user, uint64_t keep_caps,
    const struct priv_file *files, size_t n)
{
	const struct passwd *pw;
	char name[NAMEBYTES], buf[256];
	const char *why;

	if (geteuid() != 0) {
		if (user != NULL && (pw = getpwnam(user)) != NULL &&
		    pw->pw_uid != geteuid())
			log_warnx("user %s: not started as root: running as "
			          "uid %u",
			    user, (unsigned int)geteuid());
		if (priv_drop_caps(keep_caps))
			return (-1);
		log_info("running as uid %u with %s", (unsigned int)geteuid(),
		    capnames(priv_caps(), buf, sizeof(buf)));
		return (0);
	}
	if (user != NULL) {
		/* Only warnings: priv_drop says why if it cannot switch. */
		(void)warn_unreadable(user, files, n);
		if (priv_drop(user, keep_caps))
			return (-1);
		log_info("running as user %s with %s", user,
		    capnames(priv_caps(), buf, sizeof(buf)));
		return (0);
	}
	if ((priv_caps() & SWITCH_CAPS) != SWITCH_CAPS)
		why = "CAP_SETUID, CAP_SETGID or CAP_SETPCAP not held";
	else if (key_owner(files, n, name, sizeof(name), &why) == 0) {
		if (priv_drop(name, keep_caps))
			return (-1);
		log_info("running as user %s (the key files' owner) with %s",
		    name, capnames(priv_caps(), buf, sizeof(buf)));
		return (0);
	}
	if (priv_drop_caps(keep_caps))
		return (-1);
	log_warnx("keeping uid 0 (%s) with %s: set user to switch to "
	          "another (a reload then needs the files readable by it)",
	    why, capnames(priv_caps(), buf, sizeof(buf)));
	return (0);
}
