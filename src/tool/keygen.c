/*
 * keygen.c: cryptgate keygen: generate a host identity and write
 * PREFIX.key (private, 0600) and PREFIX.pub (public, 0644).
 */
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptgate/encode.h"
#include "cryptgate/file.h"
#include "cryptgate/hostkey.h"
#include "cryptgate/hostpub.h"
#include "cryptgate/log.h"

#include "cmd.h"

static void
keygen_usage(FILE *f)
{
	fprintf(f,
	    "usage: cryptgate keygen [-f] [-t x25519|rsa3072] [-c COMMENT] "
	    "-o PREFIX\n"
	    "\n"
	    "Generate a new host identity: an Ed25519 signing key and a "
	    "sealing key.\n"
	    "Writes PREFIX.key (the private keys, mode 0600) and PREFIX.pub "
	    "(the public\n"
	    "identity, one line, mode 0644), then prints the public line and "
	    "the host id.\n"
	    "\n"
	    "Options:\n"
	    "  -o, --output PREFIX   write PREFIX.key and PREFIX.pub "
	    "(required)\n"
	    "  -t, --type TYPE       sealing key: x25519 (default) or rsa3072 "
	    "(RSA-OAEP)\n"
	    "  -c, --comment TEXT    comment at the end of PREFIX.pub "
	    "(default: the last\n"
	    "                        component of PREFIX); printable ASCII, at "
	    "most 255\n"
	    "                        characters\n"
	    "  -f, --force           replace PREFIX.key and PREFIX.pub if they "
	    "exist\n"
	    "  -h, --help            print this help and exit\n"
	    "\n"
	    "Exit status: 0 on success, 1 on error, 2 on a usage error.\n"
	    "See cryptgate(1).\n");
}

/* The last component of ${prefix} as a comment, or NULL if unsuitable. */
static const char *
default_comment(const char *prefix)
{
	struct hostpub tmp;
	const char *base;

	base = strrchr(prefix, '/');
	base = base != NULL ? base + 1 : prefix;
	if (hostpub_set_comment(&tmp, base))
		return (NULL);
	return (base);
}

/* True if ${s} ends with ${suffix}. */
static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return (n >= m && strcmp(s + n - m, suffix) == 0);
}

/* Refuse (one line, return -1) if ${prefix}${ext} exists. */
static int
refuse_existing(const char *prefix, const char *ext)
{
	struct stat st;
	char *path;
	int exists;

	if (asprintf(&path, "%s%s", prefix, ext) == -1) {
		log_warn("keygen");
		return (-1);
	}
	exists = lstat(path, &st) == 0;
	free(path);
	if (!exists)
		return (0);
	log_warnx("%s%s already exists; not overwriting it (use --force to "
	          "replace it)",
	    prefix, ext);
	return (-1);
}

int
keygen_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "comment", required_argument, NULL, 'c' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "output", required_argument, NULL, 'o' },
		{ "type", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	char line[HOSTPUB_LINEBYTES_MAX], id[HOSTPUB_IDHEXLEN + 1];
	enum hostkey_type type = HOSTKEY_X25519;
	const char *prefix = NULL, *comment = NULL;
	struct hostkey *hk;
	struct hostpub pub;
	int ch, force = 0;

	opterr = 0;
	while (
	    (ch = getopt_long(argc, argv, ":c:fho:t:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			comment = optarg;
			break;
		case 'f':
			force = 1;
			break;
		case 'h':
			keygen_usage(stdout);
			return (0);
		case 'o':
			prefix = optarg;
			break;
		case 't':
			if (strcmp(optarg, "x25519") == 0)
				type = HOSTKEY_X25519;
			else if (strcmp(optarg, "rsa3072") == 0)
				type = HOSTKEY_RSA;
			else {
				log_warnx("keygen: unknown key type '%s' "
				          "(expected x25519 or rsa3072)",
				    optarg);
				return (2);
			}
			break;
		case ':':
			log_warnx("keygen: option %s needs an argument (see "
			          "cryptgate keygen --help)",
			    argv[optind - 1]);
			return (2);
		default:
			if (optopt != 0)
				log_warnx("keygen: unknown option -%c (see "
				          "cryptgate keygen --help)",
				    optopt);
			else
				log_warnx("keygen: unknown option %s (see "
				          "cryptgate keygen --help)",
				    argv[optind - 1]);
			return (2);
		}
	}
	if (optind < argc) {
		log_warnx("keygen: unexpected argument '%s' (the output is "
		          "given with -o PREFIX)",
		    argv[optind]);
		return (2);
	}
	if (prefix == NULL || prefix[0] == '\0') {
		log_warnx("keygen: missing -o PREFIX (see cryptgate keygen "
		          "--help)");
		return (2);
	}
	if (ends_with(prefix, "/") || ends_with(prefix, ".key") ||
	    ends_with(prefix, ".pub")) {
		log_warnx("keygen: PREFIX '%s' must be a file name without "
		          ".key or .pub: it names PREFIX.key and PREFIX.pub",
		    prefix);
		return (2);
	}
	if (comment != NULL && hostpub_set_comment(&pub, comment)) {
		log_warnx("keygen: invalid comment (printable ASCII, at most "
		          "%d characters, no leading or trailing space)",
		    HOSTPUB_COMMENTBYTES_MAX);
		return (2);
	}
	if (comment == NULL)
		comment = default_comment(prefix);

	/* Refuse before the (possibly slow) generation. */
	if (!force &&
	    (refuse_existing(prefix, ".key") ||
	        refuse_existing(prefix, ".pub")))
		return (1);
	if (file_dir_is_world_writable(prefix))
		log_warnx("warning: %s.key is in a world-writable directory: "
		          "other users can delete or replace it",
		    prefix);

	if ((hk = hostkey_generate(type)) == NULL)
		return (1);
	if (hostkey_save(hk, prefix, comment, force ? HOSTKEY_FORCE : 0)) {
		if (errno == EEXIST)
			log_warnx("%s.key or %s.pub already exists; not "
			          "overwriting it (use --force to replace it)",
			    prefix, prefix);
		hostkey_free(hk);
		return (1);
	}
	hostkey_public(hk, &pub);
	hostkey_free(hk);
	if (hostpub_set_comment(&pub, comment) ||
	    hostpub_format(&pub, line, sizeof(line)) ||
	    encode_hex(id, sizeof(id), pub.host_id, HOSTPUB_IDBYTES)) {
		log_warnx("keygen: cannot format the public key");
		return (1);
	}
	printf("%s\nhost id: %s\n", line, id);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		log_warn("stdout");
		return (1);
	}

	/* Success! */
	return (0);
}
