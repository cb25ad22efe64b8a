/*
 * opt.h: what the programs' option parsers share.
 */
#ifndef CRYPTGATE_OPT_H
#define CRYPTGATE_OPT_H

#include <getopt.h>

/**
 * opt_refused(argv, longopts, buf): the option that getopt_long just
 * refused (it returned '?' or ':'), as the user typed it: the whole word
 * of a long option ("--bogus", "--config" without its argument), else
 * "-C" written into ${buf}.  For the one-line usage error
 * "PROG: unknown option X (see PROG --help)".
 */
const char *opt_refused(
    char **argv, const struct option *longopts, char buf[static 3]);

/**
 * opt_error(ch, argv, longopts, cmd, help): log the one-line usage error
 * for what getopt_long just refused (${ch} ':' for a missing argument,
 * anything else for an unknown option), naming it as opt_refused does:
 * "CMD: option X needs an argument (see HELP --help)" or "CMD: unknown
 * option X (see HELP --help)", without "CMD: " if ${cmd} is NULL (the
 * program's name comes first anyway).  Return 2, the usage exit status.
 */
int opt_error(int ch, char **argv, const struct option *longopts,
    const char *cmd, const char *help);

/**
 * opt_extra(arg, cmd, help): log "CMD: unexpected argument 'ARG' (see HELP
 * --help)" (no "CMD: " if ${cmd} is NULL); return 2.
 */
int opt_extra(const char *arg, const char *cmd, const char *help);

#endif /* !CRYPTGATE_OPT_H */
