/*
 * priv.h: giving up privileges: switching a daemon started as root to an
 * unprivileged user, keeping only the Linux capabilities it needs (the raw
 * kernel interface: capget/capset, prctl; no libcap), locking that in
 * (securebits, no_new_privs) and checking the result.
 *
 * Capabilities are per thread: call these functions before the process
 * starts any thread (they refuse otherwise).
 */
#ifndef CRYPTGATE_PRIV_H
#define CRYPTGATE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"

/* A ${keep_caps} bit: what to keep across the drop, 1ULL << CAP_*. */
#define PRIV_CAP(c) (1ULL << (c))

/**
 * priv_drop(user, keep_caps): if running as root (euid 0), switch to
 * ${user} (setgroups to its supplementary groups or none, setresgid,
 * setresuid; "root" and uid 0 are refused), keeping only the capabilities
 * in ${keep_caps} (permitted and effective, inheritable and ambient too so
 * that the programs we spawn keep them), and lock it in with the
 * securebits NOROOT, NO_SETUID_FIXUP and NO_CAP_AMBIENT_RAISE, each
 * locked, and KEEP_CAPS_LOCKED; the bounding set is cut to ${keep_caps}.
 * If not root: priv_drop_caps(${keep_caps}) (the uid stays, ${user} is
 * not used).  Always ends with PR_SET_NO_NEW_PRIVS = 1.  ${user} NULL
 * when root: error.  Verified afterwards: getresuid and getresgid give
 * the target, setuid(0) fails, capget shows only ${keep_caps}, no
 * ambient capability outside it, no_new_privs is set.  Return 0, or -1
 * (logged with the step that failed; the process is then in an
 * unspecified state between the two: the caller exits).
 */
int priv_drop(const char *user, uint64_t keep_caps) CG_WUR;

/**
 * priv_drop_caps(keep_caps): keep the uid (root too) but drop every
 * capability not in ${keep_caps} that the process has: permitted,
 * effective, inheritable, ambient, and the bounding set and the securebits
 * (NOROOT, NO_SETUID_FIXUP, NO_CAP_AMBIENT_RAISE, KEEP_CAPS, all locked:
 * uid 0 gets nothing back at execve) where CAP_SETPCAP allows it.  A
 * capability of ${keep_caps} the process does not have is logged and left
 * out.  Ends with PR_SET_NO_NEW_PRIVS = 1; verified like priv_drop.
 * Return 0 or -1 (logged).
 */
int priv_drop_caps(uint64_t keep_caps) CG_WUR;

/**
 * priv_caps(void): the capabilities the calling thread may use (its
 * permitted set), as a ${keep_caps} mask; 0 if capget fails.
 */
uint64_t priv_caps(void);

/** priv_user_exists(user): true if getpwnam finds ${user}. */
bool priv_user_exists(const char *user);

/**
 * priv_user_check(user): 0 if ${user} exists and is not root (uid 0);
 * else -1, logged ("user NAME: no such user", "... is root").
 */
int priv_user_check(const char *user) CG_WUR;

/**
 * priv_can_read(user, paths, n, ok): whether ${user} could open each of
 * the ${n} files ${paths} for reading: ${ok[i]} for ${paths[i]}.  Checked
 * by a child process that takes ${user}'s uid, gid and groups and opens
 * them (directories on the way count).  Root only.  Return 0, or -1
 * (logged: not root, no such user, the child failed).
 */
int priv_can_read(
    const char *user, const char *const *paths, size_t n, bool *ok) CG_WUR;

/* A file a daemon reads again on a reload (priv_daemon_drop). */
struct priv_file {
	const char *path;
	bool secret; /* a key file: refused when others can read it */
};

/**
 * priv_daemon_drop(user, keep_caps, files, n): a daemon's privilege drop
 * once it holds its sockets, for a daemon that re-reads the ${n} ${files}
 * on a reload.  Not root: priv_drop_caps(${keep_caps}) (${user} is only
 * reported if it is not the user we run as).  Root, ${user} set: warn
 * about each file ${user} cannot read (a reload will fail), then
 * priv_drop(${user}, ${keep_caps}).  Root, ${user} NULL: the owner of the
 * secret files becomes the user if it is one user other than root that
 * can read every file; else the process keeps uid 0 with
 * priv_drop_caps(${keep_caps}), and says so.  Return 0 or -1 (logged).
 */
int priv_daemon_drop(const char *user, uint64_t keep_caps,
    const struct priv_file *files, size_t n) CG_WUR;

#endif /* !CRYPTGATE_PRIV_H */
