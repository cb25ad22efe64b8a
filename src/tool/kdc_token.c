/*
 * kdc_token.c: cryptgate kdc token create: a one-time enrollment token.
 *
 * The token is KDC_TOKEN_BYTES random bytes, printed once as hex; the
 * database keeps it wrapped under the master key, by its public id
 *
 *   token_id = SHA-256(token)[0..16)
 *
 * with keywrap_wrap(master, token, aad = token_id).  A host enrolls with it
 * (cryptgate enroll --token HEX): its ENROLL carries
 * enroll_mac = HMAC-SHA256(token, hdr || body before the mac), which the
 * KDC checks with the unwrapped token, then deletes it (store_token_take).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cryptgate/conf.h"
#include "cryptgate/digest.h"
#include "cryptgate/encode.h"
#include "cryptgate/keywrap.h"
#include "cryptgate/log.h"
#include "cryptgate/rand.h"
#include "cryptgate/secret.h"
#include "cryptgate/store.h"

#include "kdc_int.h"

#define KDC_TOKEN_BYTES 32
#define KDC_TOKEN_TTL_DEFAULT 3600 /* seconds */
#define KDC_TOKEN_HEXBYTES (2 * KDC_TOKEN_BYTES + 1)

static int
kdc_token_create(struct kdc_ctx *ctx)
{
	uint8_t digest[DIGEST_SHA256BYTES], id[STORE_IDBYTES];
	uint8_t wrapped[KDC_TOKEN_BYTES + KEYWRAP_OVERHEAD];
	char idhex[KDC_IDHEXBYTES], expires[KDC_TIMEBYTES];
	struct keywrap_master *mk = NULL;
	const char *mkpath;
	uint8_t *token = NULL;
	char *hex = NULL;
	long long ttl = ctx->ttl != 0 ? ctx->ttl : KDC_TOKEN_TTL_DEFAULT;
	int64_t expires_ms;
	size_t wrappedlen;
	int rc = KDC_EXIT_FAIL, r;

	mkpath = conf_get_str(ctx->sec, "master_key");
	if (mkpath == NULL) {
		log_warnx("%s: %s sets no master_key", ctx->cmd, ctx->confpath);
		goto out;
	}
	if ((mk = keywrap_master_load(mkpath)) == NULL)
		goto out;
	if ((token = secret_alloc(KDC_TOKEN_BYTES)) == NULL ||
	    (hex = secret_alloc(KDC_TOKEN_HEXBYTES)) == NULL) {
		log_warnx("%s: out of memory", ctx->cmd);
		goto out;
	}
	if (rand_bytes(token, KDC_TOKEN_BYTES)) {
		log_warnx("%s: the random number generator failed", ctx->cmd);
		goto out;
	}
	if (digest_sha256(digest, token, KDC_TOKEN_BYTES))
		goto out;
	memcpy(id, digest, sizeof(id));
	if (keywrap_wrap(wrapped, sizeof(wrapped), &wrappedlen, token,
	        KDC_TOKEN_BYTES, id, sizeof(id), mk))
		goto out;
	expires_ms = kdc_now_ms() + ttl * 1000;
	kdc_hex_id(idhex, id);
	kdc_time_iso(expires, sizeof(expires), expires_ms, false);

	if (kdc_begin(ctx))
		goto out;
	if ((r = store_token_add(
	         ctx->st, id, wrapped, wrappedlen, expires_ms)) != 0) {
		if (r == STORE_DUPLICATE)
			log_warnx(
			    "%s: token id %s exists already", ctx->cmd, idhex);
		goto out;
	}
	if (kdc_commit(ctx, "token create", "token_id=%s expires=%s ttl=%llds",
	        idhex, expires, ttl))
		goto out;
	if (encode_hex(hex, KDC_TOKEN_HEXBYTES, token, KDC_TOKEN_BYTES)) {
		log_warnx("%s: cannot format the token", ctx->cmd);
		goto out;
	}
	printf("%s\n", hex);
	if (kdc_flush())
		goto out;

	/* Success! */
	rc = KDC_EXIT_OK;
out:
	secret_free(hex, KDC_TOKEN_HEXBYTES);
	secret_free(token, KDC_TOKEN_BYTES);
	secret_wipe(digest, sizeof(digest));
	keywrap_master_free(mk);
	return (rc);
}

const struct kdc_cmd kdc_token_cmds[] = {
	{ "token", "create", "[--ttl DURATION]",
	    "Create a one-time enrollment token",
	    "Create a one-time enrollment token and print it, once, as 64 hex "
	    "digits.\n"
	    "A host that enrolls with it (cryptgate enroll --token TOKEN) is "
	    "active at\n"
	    "once, without host approve.  The token is 32 random bytes; the "
	    "database\n"
	    "keeps it wrapped under the master key, by its id, the first 16 "
	    "bytes of\n"
	    "SHA-256(token).  It can be used once, before it expires.\n"
	    "\n"
	    "  --ttl DURATION        how long the token is valid: 30m, 1h "
	    "(default), 2d...\n"
	    "                        (s, m, h, d; from 1m to 7d)\n",
	    KDC_OPT_TTL, 0, 0, 0, kdc_token_create },
	{ NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0, NULL },
};
