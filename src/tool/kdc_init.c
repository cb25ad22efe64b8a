/*
 * kdc_init.c: cryptgate kdc init: create the KDC database, the KDC's
 * identity (signing_key, and its public half next to it as .pub) and the
 * master key that wraps the keys stored in the database.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cryptgate/conf.h"
#include "cryptgate/file.h"
#include "cryptgate/hostkey.h"
#include "cryptgate/hostpub.h"
#include "cryptgate/keywrap.h"
#include "cryptgate/log.h"
#include "cryptgate/store.h"

#include "kdc_int.h"

/* The first master key version. */
#define KDC_INIT_MASTER_VERSION 1

/* The files kdc init writes. */
enum { F_DB, F_KEY, F_PUB, F_MASTER, F_N };

struct kdc_init_files {
	const char *path[F_N];
	char *prefix; /* signing_key without ".key" */
	char *pub; /* prefix ".pub" */
	bool created[F_N];
};

static const char *const kdc_init_what[F_N] = {
	"database",
	"signing key",
	"public key",
	"master key",
};

/* SQLite's companions of the database file, removed with it. */
static const char *const kdc_init_dbext[] = { "-wal", "-shm", "-journal" };

/* Remove ${path}; ENOENT is fine.  0 or -1 (reported). */
static int
kdc_init_unlink(const char *path)
{
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("kdc init: cannot remove %s", path);
		return (-1);
	}
	return (0);
}

/* Remove the database ${db} and its -wal, -shm, -journal files. */
static int
kdc_init_unlink_db(const char *db)
{
	char *p;
	size_t i;
	int rc = 0;

	if (kdc_init_unlink(db))
		rc = -1;
	for (i = 0; i < sizeof(kdc_init_dbext) / sizeof(kdc_init_dbext[0]);
	     i++) {
		if (asprintf(&p, "%s%s", db, kdc_init_dbext[i]) == -1) {
			log_warn("kdc init");
			return (-1);
		}
		if (kdc_init_unlink(p))
			rc = -1;
		free(p);
	}
	return (rc);
}

/* Check that the directory holding ${path} exists.  0 or -1 (reported). */
static int
kdc_init_check_dir(const char *what, const char *path)
{
	struct stat sb;
	const char *slash;
	char *dir;
	int rc = -1;

	slash = strrchr(path, '/');
	if (slash == NULL)
		dir = strdup(".");
	else
		dir = strndup(path, slash == path ? 1 : (size_t)(slash - path));
	if (dir == NULL) {
		log_warn("kdc init");
		return (-1);
	}
	if (stat(dir, &sb) == -1) {
		if (errno == ENOENT)
			log_warnx("kdc init: directory %s (of the %s %s) does "
			          "not exist: create it first",
			    dir, what, path);
		else
			log_warn("kdc init: %s", dir);
		goto out;
	}
	if (!S_ISDIR(sb.st_mode)) {
		log_warnx("kdc init: %s (of the %s %s) is not a directory", dir,
		    what, path);
		goto out;
	}
	if (file_dir_is_world_writable(path))
		log_warnx("warning: the %s %s is in a world-writable "
		          "directory: other users can delete or replace it",
		    what, path);
	rc = 0;
out:
	free(dir);
	return (rc);
}

/*
 * Work out the paths from kdc.conf and check them: signing_key ends in
 * .key, the four files are distinct, their directories exist, and none of
 * them exists unless --force.  0 or -1 (reported).
 */
static int
kdc_init_paths(struct kdc_ctx *ctx, struct kdc_init_files *f)
{
	char exist[4 * (PATH_MAX + 8)];
	const char *key;
	struct stat sb;
	size_t len, i, j, n = 0;

	key = conf_get_str(ctx->sec, "signing_key");
	f->path[F_DB] = ctx->dbpath;
	f->path[F_KEY] = key;
	f->path[F_MASTER] = conf_get_str(ctx->sec, "master_key");
	if (key == NULL || f->path[F_MASTER] == NULL) {
		log_warnx(
		    "kdc init: %s: signing_key and master_key must be set",
		    ctx->confpath);
		return (-1);
	}
	len = strlen(key);
	if (len < 5 || strcmp(key + len - 4, ".key") != 0 ||
	    key[len - 5] == '/') {
		log_warnx("kdc init: signing_key %s must end in .key (the "
		          "public key is written next to it as .pub)",
		    key);
		return (-1);
	}
	if (asprintf(&f->prefix, "%.*s", (int)(len - 4), key) == -1) {
		f->prefix = NULL;
		log_warn("kdc init");
		return (-1);
	}
	if (asprintf(&f->pub, "%s.pub", f->prefix) == -1) {
		f->pub = NULL;
		log_warn("kdc init");
		return (-1);
	}
	f->path[F_PUB] = f->pub;
	for (i = 0; i < F_N; i++)
		for (j = i + 1; j < F_N; j++)
			if (strcmp(f->path[i], f->path[j]) == 0) {
				log_warnx("kdc init: the %s and the %s are the "
				          "same file %s",
				    kdc_init_what[i], kdc_init_what[j],
				    f->path[i]);
				return (-1);
			}
	for (i = 0; i < F_N; i++)
		if (kdc_init_check_dir(kdc_init_what[i], f->path[i]))
			return (-1);
	if (ctx->force)
		return (0);
	exist[0] = '\0';
	for (i = 0; i < F_N; i++) {
		if (lstat(f->path[i], &sb) == -1)
			continue;
		snprintf(exist + strlen(exist), sizeof(exist) - strlen(exist),
		    "%s%s %s", n > 0 ? ", " : "", kdc_init_what[i], f->path[i]);
		n++;
	}
	if (n > 0) {
		log_warnx("kdc init: the %s already exist%s; not overwriting "
		          "(--force replaces the database, the signing key and "
		          "the master key)",
		    exist, n > 1 ? "" : "s");
		return (-1);
	}
	return (0);
}

/* Remove what this run created, after a failure. */
static void
kdc_init_undo(struct kdc_ctx *ctx, struct kdc_init_files *f)
{
	size_t i;

	if (f->created[F_DB]) {
		store_close(ctx->st);
		ctx->st = NULL;
		(void)kdc_init_unlink_db(f->path[F_DB]);
	}
	for (i = F_KEY; i < F_N; i++)
		if (f->created[i])
			(void)kdc_init_unlink(f->path[i]);
}

static int
kdc_init_run(struct kdc_ctx *ctx)
{
	char line[HOSTPUB_LINEBYTES_MAX], hex[KDC_IDHEXBYTES];
	struct kdc_init_files f;
	struct hostkey *hk = NULL;
	struct hostpub pub;
	const char *name, *comment;
	int rc = KDC_EXIT_FAIL;

	memset(&f, 0, sizeof(f));
	if (kdc_init_paths(ctx, &f))
		goto out;
	name = conf_get_str(ctx->sec, "name");
	comment =
	    name != NULL && hostpub_set_comment(&pub, name) == 0 ? name : NULL;

	/* Generate first: nothing is written if that fails. */
	if ((hk = hostkey_generate(HOSTKEY_X25519)) == NULL)
		goto out;
	if (ctx->force && kdc_init_unlink_db(f.path[F_DB]))
		goto out;
	if ((ctx->st = store_open(
	         f.path[F_DB], STORE_CREATE | STORE_DURABLE)) == NULL)
		goto out;
	f.created[F_DB] = true;
	if (hostkey_save(
	        hk, f.prefix, comment, ctx->force ? HOSTKEY_FORCE : 0)) {
		if (errno == EEXIST)
			log_warnx("kdc init: %s or %s appeared meanwhile; not "
			          "overwriting it",
			    f.path[F_KEY], f.path[F_PUB]);
		goto undo;
	}
	f.created[F_KEY] = f.created[F_PUB] = true;
	if (keywrap_master_create(f.path[F_MASTER], KDC_INIT_MASTER_VERSION,
	        ctx->force ? KEYWRAP_FORCE : 0))
		goto undo;
	f.created[F_MASTER] = true;

	hostkey_public(hk, &pub);
	if (hostpub_set_comment(&pub, comment) ||
	    hostpub_format(&pub, line, sizeof(line))) {
		log_warnx("kdc init: cannot format the KDC's public key");
		goto undo;
	}
	kdc_hex_id(hex, pub.host_id);
	if (kdc_begin(ctx) ||
	    kdc_commit(ctx, "kdc init",
	        "name=%s kdc_id=%s master_key_version=%d%s",
	        name != NULL ? name : "", hex, KDC_INIT_MASTER_VERSION,
	        ctx->force ? " force" : ""))
		goto undo;

	printf("%s\n"
	       "kdc id: %s\n"
	       "public key: %s\n"
	       "Copy %s to every host and pin it in host.conf:\n"
	       "  [kdc] public_key = %s\n",
	    line, hex, f.path[F_PUB], f.path[F_PUB], f.path[F_PUB]);
	if (kdc_flush())
		goto out;

	/* Success! */
	rc = KDC_EXIT_OK;
	goto out;

undo:
	kdc_init_undo(ctx, &f);
out:
	hostkey_free(hk);
	free(f.prefix);
	free(f.pub);
	return (rc);
}

const struct kdc_cmd kdc_init_cmds[] = {
	{ NULL, "init", "[--force]",
	    "Create the KDC database, signing key and master key",
	    "Create the three files kdc.conf names: the database (database, "
	    "mode 0600),\n"
	    "the KDC's identity (signing_key, which must end in .key, mode "
	    "0600, and its\n"
	    "public half next to it as .pub, mode 0644) and the master key "
	    "(master_key,\n"
	    "mode 0600, version 1) that wraps the keys stored in the "
	    "database.  Their\n"
	    "directories must exist.  Prints the KDC's public identity line, "
	    "its id and\n"
	    "the path of the .pub file, which every host pins as [kdc] "
	    "public_key.\n"
	    "Refuses to overwrite any of these files unless --force is "
	    "given.\n"
	    "\n"
	    "  --force               replace the existing database (every "
	    "host, policy\n"
	    "                        and key in it is lost), signing key "
	    "and master key\n",
	    KDC_OPT_FORCE, KDC_CMD_NOSTORE, 0, 0, kdc_init_run },
	{ NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0, NULL },
};
