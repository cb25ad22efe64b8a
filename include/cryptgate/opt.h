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

#endif /* !CRYPTGATE_OPT_H */
