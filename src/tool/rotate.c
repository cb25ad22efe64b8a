/*
 * rotate.c: cryptgate rotate: replace this host's key pair.  The new keys
 * are announced to the KDC in a ROTATE signed with the current key (with
 * a proof of possession of the new one); only once the KDC's verified
 * answer accepts them is the new key file put in place of the old one.
 *
 * A rotated key file keeps the host's identity at the KDC in two lines
 * before its PEM blocks (include/cryptgate/hostkey.h):
 *
 *	Host-Id: <32 hex digits>	the id the KDC knows the host by: the
 *					hash of its first keys, which ROTATE
 *					does not change
 *	Key-Version: <N>		the version of these keys at the KDC,
 *					the signer_kvno of every request
 *
 * A key file without them is version 1 of the host its keys hash to.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cryptgate/conf.h"
#include "cryptgate/encode.h"
#include "cryptgate/file.h"
#include "cryptgate/hostkey.h"
#include "cryptgate/hostpub.h"
#include "cryptgate/kdcclient.h"
#include "cryptgate/log.h"
#include "cryptgate/secret.h"
#include "cryptgate/wire.h"

#include "cmd.h"
#include "kdcop.h"

#define META_ID "Host-Id: "
#define META_KVNO "Key-Version: "
#define META_BYTES 64 /* both lines with their newlines */

static const char usage_text[] =
    "NAME\n"
    "    cryptgate rotate - replace this host's key pair at the KDC\n"
    "\n"
    "SYNOPSIS\n"
    "    cryptgate rotate -f HOST.CONF [-t x25519|rsa3072 | --new-key FILE]\n"
    "\n"
    "DESCRIPTION\n"
    "    Makes a new host key (the sealing key of the type of the current\n"
    "    one unless -t says otherwise), or takes the one of --new-key, and\n"
    "    announces it to the KDC named in HOST.CONF in a ROTATE request\n"
    "    signed with the current key ([host] key), with a proof that this\n"
    "    host holds the new key.  The KDC's answer is verified like every\n"
    "    answer (pinned KDC key, request hash, the new key version).\n"
    "\n"
    "    The new key is first written to KEY.new (mode 0600, synced).  Once\n"
    "    the KDC has accepted it, the old key file is kept as KEY.old (mode\n"
    "    0600) and KEY.new is renamed to KEY, the [host] key file.  If the\n"
    "    KDC refuses, KEY.new is removed and KEY is left as it was.\n"
    "\n"
    "    The host keeps its host id: peers and policy rules need no change.\n"
    "    The new key file says so in two lines before its PEM blocks,\n"
    "    \"Host-Id: ID\" and \"Key-Version: N\" (the key version at the KDC,\n"
    "    one more at each rotation).  PREFIX.pub is not rewritten: the KDC\n"
    "    already has the new public keys.\n"
    "\n"
    "    Standard output gets the host id, the new key version, the time\n"
    "    (UTC) until which the KDC still accepts the old key (24 hours),\n"
    "    and the file names.  Programs that loaded the old key keep using\n"
    "    it: send SIGHUP to cryptgate-gatewayd before that time.\n"
    "\n"
    "OPTIONS\n"
    "    -f FILE, --config=FILE\n"
    "        The host configuration (cryptgate.conf(5)): this host's key\n"
    "        and its KDC.  Required.\n"
    "\n"
    "    -t TYPE, --type=TYPE\n"
    "        The sealing key of the new key: x25519 or rsa3072, as for\n"
    "        cryptgate keygen.  Default: the type of the current key.\n"
    "\n"
    "    --new-key FILE\n"
    "        Use the host key in FILE (made by cryptgate keygen, mode 0600)\n"
    "        instead of making one.  FILE itself is not changed.\n"
    "\n"
    "    -h, --help\n"
    "        Print this help and exit.\n"
    "\n"
    "EXIT STATUS\n"
    "    0 the KDC took the new key and it is installed; 1 an error (one\n"
    "    line on standard error, e.g. \"the KDC denied the request\n"
    "    (DENIED)\"); 2 a usage error.\n"
    "\n"
    "FILES\n"
    "    KEY.new exists only while the command runs, or after an attempt\n"
    "    that got no answer from the KDC: the KDC may then have taken the\n"
    "    new key or not, and the command refuses to run again until it is\n"
    "    resolved.  If cryptgate kdc host list on the KDC shows the new key\n"
    "    version (Key-Version in KEY.new) for this host, install it with\n"
    "    mv KEY.new KEY; otherwise delete KEY.new.\n"
    "\n"
    "EXAMPLES\n"
    "    cryptgate rotate -f /etc/cryptgate/host.conf\n"
    "\n"
    "See cryptgate(1), cryptgate.conf(5), cryptgate-kdc(1).\n";

static char *
concat(const char *a, const char *b)
{
	char *s;

	if (asprintf(&s, "%s%s", a, b) == -1) {
		log_warnx("rotate: out of memory");
		return (NULL);
	}
	return (s);
}

/* fsync the directory holding ${path}; 0 or -1 (logged). */
static int
sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int fd, rc = -1;

	if (slash == NULL)
		dir = strdup(".");
	else
		dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
	if (dir == NULL) {
		log_warnx("rotate: out of memory");
		return (-1);
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1)
		log_warn("%s", dir);
	else
		rc = 0;
	if (fd != -1)
		close(fd);
	free(dir);
	return (rc);
}

/*
 * The key file text of ${hk}, as cryptgate keygen writes it, in a new
 * secret_alloc buffer ${*pem} of ${*len} + 1 bytes.  hostkey_save writes
 * it into a private directory (0700) made next to ${keypath}, removed at
 * once.  Return 0 or -1 (logged).
 */
static int
pem_of(const struct hostkey *hk, const char *keypath, char **pem, size_t *len)
{
	char *tmpl, *dir, *prefix = NULL, *kpath = NULL, *ppath = NULL;
	int rc = -1;

	if ((tmpl = concat(keypath, ".rotate-XXXXXX")) == NULL)
		return (-1);
	if ((dir = mkdtemp(tmpl)) == NULL) {
		log_warn("%s", tmpl);
		free(tmpl);
		return (-1);
	}
	if ((prefix = concat(dir, "/new")) == NULL ||
	    (kpath = concat(prefix, ".key")) == NULL ||
	    (ppath = concat(prefix, ".pub")) == NULL)
		goto out;
	if (hostkey_save(hk, prefix, NULL, 0)) {
		log_warn("%s", prefix);
		goto out;
	}
	if (file_read_secret(kpath, HOSTKEY_FILEBYTES_MAX, pem, len))
		goto out;
	rc = 0;
out:
	if (kpath != NULL)
		(void)unlink(kpath);
	if (ppath != NULL)
		(void)unlink(ppath);
	if (rmdir(dir) == -1)
		log_warn("%s", dir);
	free(ppath);
	free(kpath);
	free(prefix);
	free(tmpl);
	return (rc);
}

/*
 * Write the new key file ${path} (mode 0600, must not exist): the
 * identity lines for host ${id} at version ${kvno}, then the PEM text
 * ${pem} (${pemlen} bytes).  Then load it back: it must be the key ${hk}
 * under the host id ${id}, else it is removed.  Return 0 or -1 (logged).
 */
static int
write_new(const char *path, const uint8_t id[static HOSTPUB_IDBYTES],
    uint16_t kvno, const char *pem, size_t pemlen, const struct hostkey *hk)
{
	char hex[HOSTPUB_IDHEXLEN + 1], *buf;
	struct hostpub want, got;
	struct hostkey *back;
	size_t len;
	int n, rc = -1;

	if (encode_hex(hex, sizeof(hex), id, HOSTPUB_IDBYTES) ||
	    (buf = secret_alloc(META_BYTES + pemlen + 1)) == NULL) {
		log_warnx("rotate: out of memory");
		return (-1);
	}
	n = snprintf(buf, META_BYTES + 1, "%s%s\n%s%u\n", META_ID, hex,
	    META_KVNO, (unsigned int)kvno);
	len = (size_t)n + pemlen;
	memcpy(buf + n, pem, pemlen);
	if (file_write(path, buf, len, 0600, FILE_EXCL)) {
		secret_free(buf, META_BYTES + pemlen + 1);
		return (-1);
	}
	secret_free(buf, META_BYTES + pemlen + 1);
	if ((back = hostkey_load(path)) == NULL)
		goto out;
	hostkey_public(hk, &want);
	hostkey_public(back, &got);
	hostkey_free(back);
	if (memcmp(got.sign_pk, want.sign_pk, sizeof(got.sign_pk)) != 0 ||
	    memcmp(got.host_id, id, HOSTPUB_IDBYTES) != 0) {
		log_warnx("rotate: %s does not load back as host %s (this "
		          "build of cryptgate does not read Host-Id lines)",
		    path, hex);
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		(void)unlink(path);
	return (rc);
}

/* What one run works on. */
struct rot {
	const char *keypath; /* [host] key */
	char *newpath, *oldpath; /* KEY.new, KEY.old */
	char *cur; /* the current key file (secret_alloc), curlen + 1 */
	size_t curlen;
	uint8_t id[HOSTPUB_IDBYTES]; /* the host's id at the KDC */
	uint16_t kvno; /* the current key's version there */
	struct hostkey *newkey;
	char *pem; /* the new key's PEM text (secret_alloc), pemlen + 1 */
	size_t pemlen;
};

/*
 * Read the current key file into ${r} and ${*cur}, check its identity
 * lines against what the KDC client ${kc} uses, and refuse if KEY.new
 * exists.  Return 0 or -1 (logged).
 */
static int
load_current(struct rot *r, const struct kdcclient *kc, struct hostkey **cur)
{
	const char *errstr;
	struct hostpub pub;
	struct stat st;

	if (lstat(r->newpath, &st) == 0) {
		log_warnx("rotate: %s exists: an earlier rotation got no "
		          "answer; if cryptgate kdc host list shows its "
		          "Key-Version for this host, mv it to %s, else delete "
		          "it",
		    r->newpath, r->keypath);
		return (-1);
	}
	if (file_read_secret(
	        r->keypath, HOSTKEY_FILEBYTES_MAX, &r->cur, &r->curlen))
		return (-1);
	if ((*cur = hostkey_parse(r->cur, r->curlen, &errstr)) == NULL) {
		log_warnx("%s: %s", r->keypath, errstr);
		return (-1);
	}
	hostkey_public(*cur, &pub);
	memcpy(r->id, pub.host_id, HOSTPUB_IDBYTES);
	r->kvno = hostkey_kvno(*cur);
	/* The KDC client read the same file: a mismatch is a bug. */
	if (memcmp(r->id, kdcclient_host_id(kc), HOSTPUB_IDBYTES) != 0) {
		log_warnx(
		    "rotate: %s: not the key the KDC client uses", r->keypath);
		return (-1);
	}
	if (r->kvno == UINT16_MAX) {
		log_warnx("rotate: %s: key version %u is the last one",
		    r->keypath, (unsigned int)r->kvno);
		return (-1);
	}
	return (0);
}

/*
 * The new key: the file ${path}, or a new key of ${type} (0: the current
 * key's), into ${r}.  Return 0 or -1 (logged).
 */
static int
load_new(struct rot *r, const char *path, enum hostkey_type type,
    const struct hostkey *cur)
{
	struct hostpub a, b;
	const char *errstr;

	if (path == NULL) {
		if ((r->newkey = hostkey_generate(
		         type != 0 ? type : hostkey_type(cur))) == NULL)
			return (-1);
		return (pem_of(r->newkey, r->keypath, &r->pem, &r->pemlen));
	}
	if (file_read_secret(path, HOSTKEY_FILEBYTES_MAX, &r->pem, &r->pemlen))
		return (-1);
	if ((r->newkey = hostkey_parse(r->pem, r->pemlen, &errstr)) == NULL) {
		log_warnx("%s: %s", path, errstr);
		return (-1);
	}
	/* Only a rotated file has a version above the first. */
	if (hostkey_kvno(r->newkey) != HOSTKEY_KVNO_FIRST) {
		log_warnx("rotate: %s: a rotated key file (it has a Host-Id "
		          "line): give a new key from cryptgate keygen",
		    path);
		return (-1);
	}
	hostkey_public(r->newkey, &a);
	hostkey_public(cur, &b);
	if (memcmp(a.sign_pk, b.sign_pk, sizeof(a.sign_pk)) == 0) {
		log_warnx("rotate: %s holds the current key", path);
		return (-1);
	}
	return (0);
}

/*
 * The KDC took the new key: keep the old file as KEY.old, move KEY.new to
 * KEY.  Return 0 or -1 (logged, with what to do by hand).
 */
static int
install(const struct rot *r, const char *until)
{
	if (file_write(r->oldpath, r->cur, r->curlen, 0600, 0))
		log_warnx("rotate: warning: the old key was not kept as %s",
		    r->oldpath);
	if (rename(r->newpath, r->keypath) == -1) {
		log_warn("rotate: the KDC has the new key but %s cannot be "
		         "renamed to %s: do it by hand before %s",
		    r->newpath, r->keypath, until);
		return (-1);
	}
	if (sync_dir(r->keypath))
		log_warnx(
		    "rotate: warning: %s may not survive a crash", r->keypath);
	return (0);
}

/* Print the outcome of ${res} for ${r}; 0 or -1. */
static int
report(
    const struct rot *r, const struct kdcclient_result *res, const char *until)
{
	char hex[HOSTPUB_IDHEXLEN + 1], *real;

	if (encode_hex(hex, sizeof(hex), r->id, HOSTPUB_IDBYTES))
		return (-1);
	real = realpath(r->keypath, NULL);
	printf("host id: %s\nkey version: %u\nold key version %u valid "
	       "until: %s\nkey file: %s\nold key file: %s.old\n",
	    hex, (unsigned int)res->new_kvno, (unsigned int)r->kvno, until,
	    real != NULL ? real : r->keypath, real != NULL ? real : r->keypath);
	free(real);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		log_warn("stdout");
		return (-1);
	}
	return (0);
}

/*
 * Send the ROTATE for ${r} through ${ko}.  Return 0 (accepted), or -1
 * (logged; KEY.new removed unless the KDC may have taken it).
 */
static int
send_rotate(struct rot *r, struct kdcop *ko)
{
	uint16_t kvno = (uint16_t)(r->kvno + 1);
	char msg[KDCOP_MSGBYTES];
	bool refused;

	if ((ko->op = kdcclient_rotate_start(ko->kc, r->newkey, kvno)) == NULL)
		goto gone;
	if (kdcop_run(ko->op, msg, sizeof(msg), &refused)) {
		if (!refused) {
			log_warnx("rotate: %s; the KDC may have the new key: "
			          "kept as %s (see FILES in cryptgate rotate "
			          "--help)",
			    msg, r->newpath);
			return (-1);
		}
		log_warnx("rotate: %s; %s is unchanged", msg, r->keypath);
		goto gone;
	}
	return (0);
gone:
	(void)unlink(r->newpath);
	return (-1);
}

/* Do the work; return the exit status. */
static int
rotate(const char *cfgpath, const char *newfile, enum hostkey_type type)
{
	struct hostkey *cur = NULL;
	struct kdcop ko;
	struct rot r;
	char until[32];
	int rc = 1;

	memset(&r, 0, sizeof(r));
	if (kdcop_load(&ko, cfgpath, NULL) || kdcop_client(&ko))
		goto out;
	/* kdcclient_new_conf checked that [host] key is set. */
	r.keypath = conf_get_str(conf_section(ko.conf, "host", NULL), "key");
	if ((r.newpath = concat(r.keypath, ".new")) == NULL ||
	    (r.oldpath = concat(r.keypath, ".old")) == NULL)
		goto out;
	kdcop_warn_dir(r.keypath);
	if (load_current(&r, ko.kc, &cur) || load_new(&r, newfile, type, cur))
		goto out;
	if (write_new(r.newpath, r.id, (uint16_t)(r.kvno + 1), r.pem, r.pemlen,
	        r.newkey))
		goto out;
	if (send_rotate(&r, &ko))
		goto out;
	kdcop_fmt_time(
	    until, sizeof(until), kdcclient_result(ko.op)->old_valid_until);
	if (install(&r, until) || report(&r, kdcclient_result(ko.op), until))
		goto out;
	rc = 0;

out:
	hostkey_free(cur);
	hostkey_free(r.newkey);
	if (r.pem != NULL)
		secret_free(r.pem, r.pemlen + 1);
	if (r.cur != NULL)
		secret_free(r.cur, r.curlen + 1);
	free(r.oldpath);
	free(r.newpath);
	kdcop_close(&ko);
	return (rc);
}

int
rotate_main(int argc, char **argv)
{
	enum { OPT_NEW_KEY = 256 };
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "type", required_argument, NULL, 't' },
		{ "new-key", required_argument, NULL, OPT_NEW_KEY },
		{ NULL, 0, NULL, 0 },
	};
	const char *cfgpath = NULL, *newfile = NULL;
	enum hostkey_type type = 0;
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":f:ht:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			cfgpath = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return (0);
		case 't':
			if (strcmp(optarg, "x25519") == 0)
				type = HOSTKEY_X25519;
			else if (strcmp(optarg, "rsa3072") == 0)
				type = HOSTKEY_RSA;
			else {
				log_warnx("rotate: unknown key type '%s' "
				          "(expected x25519 or rsa3072)",
				    optarg);
				return (2);
			}
			break;
		case OPT_NEW_KEY:
			newfile = optarg;
			break;
		default:
			return (kdcop_usage_error("rotate", ch, argv));
		}
	}
	if (optind < argc) {
		log_warnx("rotate: unexpected argument '%s'", argv[optind]);
		return (2);
	}
	if (cfgpath == NULL) {
		log_warnx("rotate: -f HOST.CONF is required (see cryptgate "
		          "rotate --help)");
		return (2);
	}
	if (newfile != NULL && type != 0) {
		log_warnx("rotate: -t and --new-key exclude each other");
		return (2);
	}
	return (rotate(cfgpath, newfile, type));
}
