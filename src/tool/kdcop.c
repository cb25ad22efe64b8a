/*
 * kdcop.c: what the CLI's KDC client commands share (kdcop.h).
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cryptgate/conf.h"
#include "cryptgate/encode.h"
#include "cryptgate/file.h"
#include "cryptgate/kdcclient.h"
#include "cryptgate/keycfg.h"
#include "cryptgate/log.h"
#include "cryptgate/wire.h"

#include "kdcop.h"

int
kdcop_load(struct kdcop *ko, const char *cfgpath, const char *keyfile)
{
	struct keycfg *kcfg;

	memset(ko, 0, sizeof(*ko));
	if ((ko->conf = conf_load(cfgpath, conf_schema_host, NULL)) == NULL)
		return (-1);
	if (keyfile != NULL) {
		if ((kcfg = keycfg_load(keyfile, KEYCFG_MISSING_OK)) == NULL)
			return (-1);
		keycfg_free(kcfg);
	}

	/* Success! */
	return (0);
}

int
kdcop_client(struct kdcop *ko)
{
	if ((ko->kc = kdcclient_new_conf(ko->conf)) == NULL)
		return (-1);

	/* Success! */
	return (0);
}

int
kdcop_run(struct kdcclient_op *op, char *msg, size_t size, bool *refused)
{
	const struct kdcclient_result *res;

	*refused = false;
	if (kdcclient_run(op)) {
		snprintf(msg, size, "%s", kdcclient_error(op));
		return (-1);
	}
	res = kdcclient_result(op);
	if (res->error != 0) {
		kdcclient_err_format(msg, size, res);
		*refused = true;
		return (-1);
	}

	/* Success! */
	return (0);
}

int
kdcop_finish(struct kdcop *ko, const char *cmd)
{
	char msg[KDCOP_MSGBYTES];
	bool refused;

	if (kdcop_run(ko->op, msg, sizeof(msg), &refused)) {
		log_warnx("%s: %s", cmd, msg);
		return (-1);
	}

	/* Success! */
	return (0);
}

int
kdcop_key_args(const char *cmd, const char *service, const char *caddr,
    struct wire_addr *ca, const char *out)
{
	if (!wire_name_is_valid(service, WIRE_SERVICE_MAX)) {
		log_warnx(
		    "%s: invalid service name '%s' (1 to %d characters of "
		    "A-Z a-z 0-9 . _ -)",
		    cmd, service, WIRE_SERVICE_MAX);
		return (-1);
	}
	if (caddr != NULL && kdcclient_addr_parse(ca, caddr)) {
		log_warnx(
		    "%s: --client-addr '%s' is not an IPv4 or IPv6 address",
		    cmd, caddr);
		return (-1);
	}
	if (out[0] == '\0') {
		log_warnx("%s: empty output file name", cmd);
		return (-1);
	}

	/* Success! */
	return (0);
}

int
kdcop_key_id(uint8_t id[static WIRE_KEYIDBYTES], const char *s,
    const struct kdcclient *kc, const char *cmd)
{
	size_t len;

	if (strlen(s) == ENCODE_HEXLEN((size_t)WIRE_KEYIDBYTES) &&
	    encode_unhex(id, WIRE_KEYIDBYTES, &len, s, strlen(s)) == 0 &&
	    len == WIRE_KEYIDBYTES)
		return (0);
	if (kdcclient_identity_parse(s, kdcclient_kdc_name(kc), id) == 0)
		return (0);
	log_warnx("%s: --key-id '%s' is neither 32 hexadecimal digits nor a "
	          "PSK identity %s-<32 hex>",
	    cmd, s, kdcclient_kdc_name(kc));
	return (-1);
}

void
kdcop_warn_dir(const char *path)
{
	if (file_dir_is_world_writable(path))
		log_warnx("warning: %s is in a world-writable directory: "
		          "other users can delete or replace it",
		    path);
}

void
kdcop_fmt_time(char *buf, size_t size, uint64_t ms)
{
	struct tm tm;
	time_t t = (time_t)(ms / 1000);

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "%llu ms", (unsigned long long)ms);
}

int
kdcop_save_key(const struct kdcop *ko, const char *path, bool requester)
{
	const struct kdcclient_result *res = kdcclient_result(ko->op);
	char identity[KDCCLIENT_IDENTITYBYTES], kid[2 * WIRE_KEYIDBYTES + 1];
	char req[2 * WIRE_IDBYTES + 1], when[32], *real;

	kdcop_warn_dir(path);
	if (kdcclient_keycfg_update(
	        path, ko->kc, res, identity, sizeof(identity)))
		return (-1);
	if (encode_hex(kid, sizeof(kid), res->key_id, WIRE_KEYIDBYTES) ||
	    encode_hex(req, sizeof(req), res->requester_id, WIRE_IDBYTES))
		return (-1);
	kdcop_fmt_time(when, sizeof(when), res->not_after);
	real = realpath(path, NULL);
	printf("identity: %s\nkey id: %s\n", identity, kid);
	if (requester)
		printf("requester: %s\n", req);
	printf(
	    "not after: %s\nkey file: %s\n", when, real != NULL ? real : path);
	free(real);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		log_warn("stdout");
		return (-1);
	}

	/* Success! */
	return (0);
}

void
kdcop_close(struct kdcop *ko)
{
	kdcclient_op_free(ko->op);
	kdcclient_free(ko->kc);
	conf_free(ko->conf);
	memset(ko, 0, sizeof(*ko));
}

int
kdcop_usage_error(const char *cmd, int ch, char **argv)
{
	if (ch == ':')
		log_warnx("%s: option %s needs an argument (see cryptgate %s "
		          "--help)",
		    cmd, argv[optind - 1], cmd);
	else
		log_warnx("%s: unknown option %s (see cryptgate %s --help)",
		    cmd, argv[optind - 1], cmd);
	return (2);
}
