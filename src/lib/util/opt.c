/*
 * opt.c: what the programs' option parsers share (opt.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cryptgate/opt.h"

/*
 * optopt is 0 for an unknown long option, the option's value when the
 * argument of a known one is missing or unwanted; argv[optind - 1] is the
 * word getopt_long was reading.
 */
const char *
opt_refused(char **argv, const struct option *longopts, char buf[static 3])
{
	const char *w = argv[optind - 1];
	size_t i;

	if (optopt == 0)
		return (w);
	for (i = 0; strncmp(w, "--", 2) == 0 && longopts[i].name != NULL; i++) {
		if (longopts[i].val == optopt)
			return (w);
	}
	snprintf(buf, 3, "-%c", optopt);
	return (buf);
}
