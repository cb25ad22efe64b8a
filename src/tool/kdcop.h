/*
 * kdcop.h: what the CLI's KDC client commands (request, retrieve, revoke,
 * rotate) share: the host configuration and the KDC client made from it,
 * one operation driven to its end, the KDC's refusal reported, a session
 * key written to its key file.  Errors are logged once, as one line
 * prefixed with the command's name where the message is the command's.
 */
#ifndef CRYPTGATE_TOOL_KDCOP_H
#define CRYPTGATE_TOOL_KDCOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptgate/cdefs.h"
#include "cryptgate/kdcclient.h"
#include "cryptgate/wire.h"

/* A reason from kdcop_run fits in this many bytes with its NUL. */
#define KDCOP_MSGBYTES KDCCLIENT_ERRBYTES

/* What one command works with; all NULL until made, kdcop_close frees. */
struct kdcop {
	struct conf *conf; /* the host configuration */
	struct kdcclient *kc;
	struct kdcclient_op *op; /* the command's operation */
};

/**
 * kdcop_load(ko, cfgpath, keyfile): set ${ko} empty, then load the host
 * configuration ${cfgpath} into ${ko}->conf.  If ${keyfile} is not NULL,
 * the key file a session key will be written to must be readable now
 * (keycfg_load, a missing file is fine): it is refused before the KDC
 * issues a key that could not be saved.  Return 0 or -1 (logged); call
 * kdcop_close in either case.
 */
int kdcop_load(
    struct kdcop *ko, const char *cfgpath, const char *keyfile) CG_WUR;

/**
 * kdcop_client(ko): make ${ko}->kc from ${ko}->conf (kdcclient_new_conf:
 * the host key, the pinned KDC keys, the KDC addresses).  Return 0 or -1
 * (logged).
 */
int kdcop_client(struct kdcop *ko) CG_WUR;

/**
 * kdcop_run(op, msg, size, refused): drive ${op} to its end
 * (kdcclient_run: the KDC addresses in turn, each for at most [kdc]
 * timeout).  Return 0 if a verified answer accepts the request.  Else
 * return -1 with the reason, not logged, in ${msg} (${size} bytes,
 * KDCOP_MSGBYTES suffice) and ${*refused} true if the KDC answered with an
 * error ("the KDC denied the request (DENIED)"), false if no verified
 * answer came (the KDC may have done what was asked).
 */
int kdcop_run(
    struct kdcclient_op *op, char *msg, size_t size, bool *refused) CG_WUR;

/**
 * kdcop_finish(ko, cmd): kdcop_run of ${ko}->op, the reason of a failure
 * logged as "${cmd}: REASON".  Return 0 or -1.
 */
int kdcop_finish(struct kdcop *ko, const char *cmd) CG_WUR;

/**
 * kdcop_key_args(cmd, service, caddr, ca, out): check the arguments of a
 * command that gets a session key: the service name ${service}
 * (wire_name_is_valid), the client address ${caddr} (if not NULL: parsed
 * into ${ca}) and the key file name ${out} (not empty).  Return 0, or -1
 * logged as "${cmd}: ..." (a usage error).
 */
int kdcop_key_args(const char *cmd, const char *service, const char *caddr,
    struct wire_addr *ca, const char *out) CG_WUR;

/**
 * kdcop_key_id(id, s, kc, cmd): decode the --key-id argument ${s}: 32
 * hexadecimal digits, or the PSK identity "<kdc name>-<32 hex>" of the
 * KDC of ${kc}.  Return 0, or -1 logged as "${cmd}: --key-id ... is
 * neither ..." (a usage error).
 */
int kdcop_key_id(uint8_t id[static WIRE_KEYIDBYTES], const char *s,
    const struct kdcclient *kc, const char *cmd) CG_WUR;

/**
 * kdcop_warn_dir(path): warn if the directory of the key file ${path} is
 * world-writable (other users can delete or replace the file).
 */
void kdcop_warn_dir(const char *path);

/**
 * kdcop_fmt_time(buf, size, ms): unix milliseconds ${ms} as UTC,
 * "2026-01-02T03:04:05Z", in ${buf} (${size} bytes, 32 suffice).
 */
void kdcop_fmt_time(char *buf, size_t size, uint64_t ms);

/**
 * kdcop_save_key(ko, path, requester): write the PSK of the session key
 * that ${ko}->op got to the key file ${path} (kdcclient_keycfg_update) and
 * print its identity, key id, the requesting host's id if ${requester},
 * its expiry time and the file's full name on standard output, never the
 * key.  Return 0 or -1 (logged).
 */
int kdcop_save_key(
    const struct kdcop *ko, const char *path, bool requester) CG_WUR;

/**
 * kdcop_close(ko): free what ${ko} holds.
 */
void kdcop_close(struct kdcop *ko);

/**
 * kdcop_usage_error(cmd, ch, argv): log the option getopt_long refused
 * (it returned ${ch}, ':' for a missing argument, else an unknown option)
 * as "${cmd}: ... (see cryptgate ${cmd} --help)".  Return 2, the exit
 * status of a usage error.
 */
int kdcop_usage_error(const char *cmd, int ch, char **argv);

#endif /* !CRYPTGATE_TOOL_KDCOP_H */
