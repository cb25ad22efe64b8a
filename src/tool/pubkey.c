/*
 * pubkey.c: cryptgate pubkey: print the public identity line of a host key
 * file, recomputed from the private keys.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptgate/encode.h"
#include "cryptgate/hostkey.h"
#include "cryptgate/hostpub.h"
#include "cryptgate/log.h"

#include "cmd.h"

static void
pubkey_usage(FILE *f)
{
	fprintf(f,
	    "usage: cryptgate pubkey [-c COMMENT] KEYFILE\n"
	    "\n"
	    "Print the public identity of the host key file KEYFILE (as "
	    "written "
	    "by\n"
	    "cryptgate keygen) on one line, in the format of a .pub file.  The "
	    "keys and\n"
	    "the host id are recomputed from the private keys.  KEYFILE must "
	    "not be\n"
	    "accessible by group or others (chmod 600).\n"
	    "\n"
	    "Options:\n"
	    "  -c, --comment TEXT    comment at the end of the line (default: "
	    "the last\n"
	    "                        component of KEYFILE without .key)\n"
	    "  -h, --help            print this help and exit\n"
	    "\n"
	    "Exit status: 0 on success, 1 on error, 2 on a usage error.\n"
	    "See cryptgate(1).\n");
}

/*
 * The default comment for ${path}: its last component without ".key", as
 * keygen wrote it, as the comment of ${pub}; none if that is not valid.
 */
static void
default_comment(struct hostpub *pub, const char *path)
{
	char buf[HOSTPUB_COMMENTBYTES_MAX + 1];
	const char *base;
	size_t len;

	base = strrchr(path, '/');
	base = base != NULL ? base + 1 : path;
	len = strlen(base);
	if (len >= 4 && strcmp(base + len - 4, ".key") == 0)
		len -= 4;
	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, base, len);
	buf[len] = '\0';
	if (hostpub_set_comment(pub, buf))
		pub->comment[0] = '\0';
}

int
pubkey_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "comment", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char line[HOSTPUB_LINEBYTES_MAX], hex[HOSTPUB_IDHEXLEN + 1];
	uint8_t stored[HOSTPUB_IDBYTES];
	const char *comment = NULL;
	struct hostkey *hk;
	struct hostpub pub;
	uint16_t kvno;
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			comment = optarg;
			break;
		case 'h':
			pubkey_usage(stdout);
			return (0);
		case ':':
			log_warnx("pubkey: option %s needs an argument (see "
			          "cryptgate pubkey --help)",
			    argv[optind - 1]);
			return (2);
		default:
			if (optopt != 0)
				log_warnx("pubkey: unknown option -%c (see "
				          "cryptgate pubkey --help)",
				    optopt);
			else
				log_warnx("pubkey: unknown option %s (see "
				          "cryptgate pubkey --help)",
				    argv[optind - 1]);
			return (2);
		}
	}
	if (argc - optind != 1) {
		log_warnx("pubkey: expected one KEYFILE argument (see "
		          "cryptgate pubkey --help)");
		return (2);
	}
	if (comment != NULL && hostpub_set_comment(&pub, comment)) {
		log_warnx("pubkey: invalid comment (printable ASCII, at most "
		          "%d characters, no leading or trailing space)",
		    HOSTPUB_COMMENTBYTES_MAX);
		return (2);
	}

	if ((hk = hostkey_load(argv[optind])) == NULL)
		return (1);
	hostkey_public(hk, &pub);
	kvno = hostkey_kvno(hk);
	hostkey_free(hk);
	/*
	 * The id of these keys, as every .pub line has.  A rotated key file
	 * names the id the KDC knows the host by instead (its first keys'):
	 * say so, the line stays parseable.
	 */
	memcpy(stored, pub.host_id, sizeof(stored));
	if (hostpub_id_compute(
	        pub.host_id, pub.sign_pk, pub.seal_pk, pub.seal_pklen))
		return (1);
	if (memcmp(stored, pub.host_id, sizeof(stored)) != 0 &&
	    encode_hex(hex, sizeof(hex), stored, sizeof(stored)) == 0)
		log_warnx("pubkey: %s is a rotated key (Key-Version %u): the "
		          "KDC knows this host as %s",
		    argv[optind], (unsigned int)kvno, hex);
	if (comment != NULL) {
		if (hostpub_set_comment(&pub, comment))
			return (2);
	} else
		default_comment(&pub, argv[optind]);
	if (hostpub_format(&pub, line, sizeof(line))) {
		log_warnx("pubkey: cannot format the public key");
		return (1);
	}
	printf("%s\n", line);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		log_warn("stdout");
		return (1);
	}

	/* Success! */
	return (0);
}
