/*
 * check_config.c: cryptgate check-config: check configuration files and
 * report every error, as "FILE:LINE: message" lines on stderr.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cryptgate/conf.h"
#include "cryptgate/opt.h"

#include "cmd.h"

static const char usage_text[] =
    "NAME\n"
    "    cryptgate check-config - check cryptgate configuration files\n"
    "\n"
    "SYNOPSIS\n"
    "    cryptgate check-config [-t kdc|host|gateway|pkt] FILE...\n"
    "    cryptgate check-config --help\n"
    "\n"
    "DESCRIPTION\n"
    "    Reads each FILE and checks it against the schema of one kind of\n"
    "    cryptgate configuration, as described in cryptgate.conf(5): the\n"
    "    syntax, the section and key names, every value's type and range,\n"
    "    duplicate keys and sections, and the keys that are required.\n"
    "    Referenced files (keys, host_config) are not opened.\n"
    "\n"
    "    Every error found is printed on standard error as one line\n"
    "\n"
    "        FILE:LINE: message\n"
    "\n"
    "    (\"FILE: message\" when the file itself cannot be read); at most\n"
    "    20 errors are shown per file.  A valid file gets one line on\n"
    "    standard output: \"FILE: configuration OK (KIND)\".\n"
    "\n"
    "    Without -t, the kind is inferred from the sections in the file: a\n"
    "    [gateway] section makes it a gateway configuration, else [pkt] a\n"
    "    pkt one, else [host] a host one, else [kdc] a kdc one.  A file\n"
    "    with both [gateway] and [pkt], or with none of these, needs -t.\n"
    "\n"
    "OPTIONS\n"
    "    -t KIND, --type=KIND\n"
    "        Check every FILE as a KIND configuration:\n"
    "          kdc      cryptgate-kdcd(8): [kdc]\n"
    "          host     a host's identity, used by cryptgate request and\n"
    "                   enroll and named by host_config: [host], [kdc]\n"
    "          gateway  cryptgate-gatewayd(8): [gateway], [service NAME]\n"
    "          pkt      cryptgate-pktd(8): [pkt], [policy NAME]\n"
    "\n"
    "    -h, --help\n"
    "        Print this help and exit.\n"
    "\n"
    "EXIT STATUS\n"
    "    0  every FILE is valid\n"
    "    1  some FILE has errors, cannot be read, or is of unknown kind\n"
    "    2  usage error (unknown option or KIND, no FILE)\n"
    "\n"
    "EXAMPLES\n"
    "    cryptgate check-config /etc/cryptgate/kdc.conf\n"
    "    cryptgate check-config -t host /etc/cryptgate/host.conf\n"
    "\n"
    "SEE ALSO\n"
    "    cryptgate(1), cryptgate.conf(5)\n";

/* Checked in this order: the first kind whose section is present wins. */
static const char *const kinds[] = { "gateway", "pkt", "host", "kdc", NULL };

/* Report a usage error, ${what} and ${arg} (or NULL), in one line; 2. */
static int
usage_error(const char *what, const char *arg)
{
	fprintf(stderr,
	    "cryptgate check-config: %s%s%s (see cryptgate check-config "
	    "--help)\n",
	    what, arg != NULL ? " " : "", arg != NULL ? arg : "");
	return (2);
}

/* The kind of ${path} from its sections; NULL (reported) if unclear. */
static const char *
infer_kind(const char *path)
{
	bool found[sizeof(kinds) / sizeof(kinds[0])];
	size_t i;

	if (conf_peek(path, kinds, found, &conf_report_stderr) == -1)
		return (NULL);
	if (found[0] && found[1]) {
		fprintf(stderr,
		    "%s: has both [gateway] and [pkt] sections; "
		    "use -t to say which kind of configuration "
		    "it is\n",
		    path);
		return (NULL);
	}
	for (i = 0; kinds[i] != NULL; i++) {
		if (found[i])
			return (kinds[i]);
	}
	fprintf(stderr,
	    "%s: cannot tell which kind of configuration this is "
	    "(no [gateway], [pkt], [host] or [kdc] section); "
	    "use -t\n",
	    path);
	return (NULL);
}

/* Check one file; 0 if valid, -1 if not (errors printed). */
static int
check_file(const char *path, const char *kind)
{
	struct conf *conf;

	if (kind == NULL && (kind = infer_kind(path)) == NULL)
		return (-1);
	conf = conf_load(path, conf_schema_lookup(kind), &conf_report_stderr);
	if (conf == NULL)
		return (-1);
	conf_free(conf);
	printf("%s: configuration OK (%s)\n", path, kind);

	/* Success! */
	return (0);
}

int
check_config_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "type", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	const char *kind = NULL;
	char opt[3];
	int ch, i, rc = 0;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":ht:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			fputs(usage_text, stdout);
			return (0);
		case 't':
			if (conf_schema_lookup(optarg) == NULL)
				return (usage_error("unknown configuration "
				                    "kind (expected kdc, host, "
				                    "gateway or pkt):",
				    optarg));
			kind = optarg;
			break;
		case ':':
			return (usage_error("option needs an argument:",
			    opt_refused(argv, longopts, opt)));
		default:
			return (usage_error("unknown option:",
			    opt_refused(argv, longopts, opt)));
		}
	}
	if (optind >= argc)
		return (usage_error("no configuration file given", NULL));
	for (i = optind; i < argc; i++) {
		if (check_file(argv[i], kind) == -1)
			rc = 1;
	}
	fflush(stdout);
	return (rc);
}
