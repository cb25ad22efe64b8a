/*
 * opt.c: what the programs' option parsers share (opt.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cryptgate/log.h"
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

int
opt_error(int ch, char **argv, const struct option *longopts, const char *cmd,
    const char *help)
{
	char buf[3];
	const char *what = opt_refused(argv, longopts, buf);

	if (ch == ':')
		log_warnx("%s%soption %s needs an argument (see %s --help)",
		    cmd != NULL ? cmd : "", cmd != NULL ? ": " : "", what,
		    help);
	else
		log_warnx("%s%sunknown option %s (see %s --help)",
		    cmd != NULL ? cmd : "", cmd != NULL ? ": " : "", what,
		    help);
	return (2);
}

int
opt_extra(const char *arg, const char *cmd, const char *help)
{
	log_warnx("%s%sunexpected argument '%s' (see %s --help)",
	    cmd != NULL ? cmd : "", cmd != NULL ? ": " : "", arg, help);
	return (2);
}
