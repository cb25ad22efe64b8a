/*
 * spawn.h: running a helper program (iptables, iptables-restore) and
 * waiting for it, never through a shell.
 */
#ifndef CRYPTGATE_SPAWN_H
#define CRYPTGATE_SPAWN_H

#include <stdbool.h>

/**
 * spawn_run(argv, in, quiet): run ${argv} (${argv[0]} looked up in PATH,
 * with posix_spawnp; the environment is inherited) and wait for it to end.
 * If ${in} is not NULL, the NUL-terminated string ${in} is written to the
 * program's standard input through a pipe, which is then closed; else its
 * standard input is ours.  If ${quiet}, its standard error goes to
 * /dev/null.  Return 0 if it exited with status 0 and all of ${in} was
 * written; -1 if it could not be started (logged as "cannot run ARGV0:
 * REASON" unless ${quiet}), exited with another status, was killed by a
 * signal, or did not take all of ${in}.  A program that exits without
 * reading a long ${in} raises SIGPIPE here: the caller ignores SIGPIPE.
 */
int spawn_run(char *const argv[], const char *in, bool quiet);

#endif /* !CRYPTGATE_SPAWN_H */
