/*
 * kdcclient.h: the host side of the KDC protocol (docs/PROTOCOL.md):
 * REQUEST, RETRIEVE, ENROLL, REVOKE and ROTATE, driven without blocking.
 *
 * A struct kdcclient holds what every request needs: this host's identity
 * (struct hostkey), the pinned KDC signing keys (kvno 1 = public_key, kvno
 * 2 = public_key_next), the KDC's name and addresses, the per-attempt
 * timeout and the number of attempts.  Each request is a struct
 * kdcclient_op, a small state machine an event loop drives:
 *
 *	op = kdcclient_request_start(kc, peer_id, "ftp", NULL, 0);
 *	for (;;) {
 *		r = kdcclient_step(op, kdcclient_now_ms());
 *		if (r == KDCCLIENT_DONE || r == KDCCLIENT_FAILED)
 *			break;
 *		wait until kdcclient_fd(op) is readable (KDCCLIENT_WANT_READ)
 *		or writable (KDCCLIENT_WANT_WRITE), or until the monotonic
 *		clock reaches kdcclient_deadline(op), whichever comes first;
 *	}
 *
 * (kdcclient_run does exactly that with poll(2)).  Each attempt opens a
 * fresh non-blocking TCP connection to the next address (round robin),
 * sends a new frame (fresh random nonce, current time) signed by this host
 * and reads one response frame.  A connection that fails, is closed early
 * or does not complete within the timeout moves on to the next attempt.
 *
 * A complete response is verified before anything in it is used: strict
 * decoding, response type (the request's type | 0x80, or ERROR), suite,
 * sender id and Ed25519 signature under the pinned KDC key of its
 * signer_kvno, nonce echoed, req_hash equal to the SHA-256 of the frame
 * sent, the echoed request fields, and the sealed session key must open
 * (hostkey_open, info and aad of docs/PROTOCOL.md).  A response failing any
 * check is never trusted: the op FAILs with "KDC response failed
 * verification".  A verified ERROR is a result (KDCCLIENT_DONE with
 * result->error set), not a failure.
 *
 * Network and verification failures are not logged (the caller decides
 * how loudly to report them): kdcclient_error() describes them in one
 * line.  Invalid arguments (bugs of the caller) are logged.
 *
 * Times: ${now_ms} and deadlines are CLOCK_MONOTONIC milliseconds
 * (kdcclient_now_ms); the timestamps on the wire and in results are unix
 * milliseconds (CLOCK_REALTIME).
 *
 * Thread safety: a struct kdcclient is read-only after kdcclient_new and
 * may be shared by threads; each op is used by one thread at a time.
 */
#ifndef CRYPTGATE_KDCCLIENT_H
#define CRYPTGATE_KDCCLIENT_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"
#include "hostkey.h"
#include "hostpub.h"
#include "wire.h"

/* At most this many KDC addresses. */
#define KDCCLIENT_ADDRS_MAX 16
/* Per-attempt timeout when the configuration gives none. */
#define KDCCLIENT_TIMEOUT_DEFAULT_MS 5000
/* kdcclient_error() messages fit in this many bytes with their NUL. */
#define KDCCLIENT_ERRBYTES 768

/* TLS 1.3 external PSK: HKDF-Expand(session key, label || key_id, 32). */
#define KDCCLIENT_PSK_LABEL "cryptgate tls13 psk"
#define KDCCLIENT_PSKBYTES 32
/* PSK identity "<kdc name>-<32 hex key id>": at most 255 characters. */
#define KDCCLIENT_IDENTITY_MAX 255
#define KDCCLIENT_IDENTITYBYTES (KDCCLIENT_IDENTITY_MAX + 1)
#define KDCCLIENT_KDCNAME_MAX \
	(KDCCLIENT_IDENTITY_MAX - 1 - 2 * WIRE_KEYIDBYTES) /* 222 */
#define KDCCLIENT_KDCNAME_DEFAULT "kdc1"

/* What kdcclient_step asks for. */
enum kdcclient_status {
	KDCCLIENT_FAILED = -1, /* over: kdcclient_error() says why */
	KDCCLIENT_DONE = 0, /* over: a verified response, kdcclient_result() */
	KDCCLIENT_WANT_READ = 1, /* wait for kdcclient_fd() readable */
	KDCCLIENT_WANT_WRITE = 2, /* wait for kdcclient_fd() writable */
};

/* One KDC address (an IP literal: names are resolved beforehand). */
struct kdcclient_addr {
	struct sockaddr_storage ss; /* AF_INET or AF_INET6, with the port */
	socklen_t sslen;
};

struct kdcclient_config {
	const struct hostkey *key; /* this host; must outlive the client */
	uint16_t kvno; /* signer_kvno of ${key}; 0 means 1 */
	const struct hostpub *kdc_pub; /* pinned KDC key, kvno 1 (required) */
	const struct hostpub *kdc_pub_next; /* kvno 2, or NULL */
	const char *kdc_name; /* NULL: KDCCLIENT_KDCNAME_DEFAULT */
	const struct kdcclient_addr *addrs; /* tried in order, round robin */
	size_t naddrs; /* 1..KDCCLIENT_ADDRS_MAX */
	int64_t timeout_ms; /* per attempt; 0: KDCCLIENT_TIMEOUT_DEFAULT_MS */
	unsigned int attempts; /* connections in all; 0: one per address */
};

/* A verified response.  Fields a response type does not carry are 0. */
struct kdcclient_result {
	unsigned int type; /* WIRE_*_RESP, or WIRE_ERROR */
	uint16_t error; /* 0, or the KDC's enum wire_err code */
	uint64_t kdc_time; /* ERROR: the KDC's clock (unix ms) */
	uint16_t retry_after; /* ERROR: seconds, 0 = do not retry */
	uint16_t kdc_kvno; /* the KDC key version that signed it */
	char kdc_addr[64]; /* the address that answered, "ip:port" */
	/* REQUEST_RESP, RETRIEVE_RESP. */
	uint8_t key_id[WIRE_KEYIDBYTES];
	uint64_t not_before; /* unix ms (RETRIEVE_RESP: 0) */
	uint64_t not_after; /* unix ms */
	uint8_t peer_id[WIRE_IDBYTES]; /* REQUEST_RESP: the peer */
	uint8_t requester_id[WIRE_IDBYTES]; /* RETRIEVE_RESP: the client */
	char service[WIRE_SERVICE_MAX + 1];
	struct wire_addr client_addr; /* REQUEST_RESP: as sent */
	/* WIRE_SESSIONKEYBYTES in secret memory owned by the op, or NULL. */
	const uint8_t *session_key;
	/* ENROLL_RESP. */
	uint8_t host_id[WIRE_IDBYTES];
	uint8_t enroll_state; /* enum wire_enroll_state */
	/* REVOKE_RESP. */
	uint32_t revoked;
	/* ROTATE_RESP. */
	uint16_t new_kvno;
	uint64_t old_valid_until; /* unix ms */
};

struct conf;
struct kdcclient;
struct kdcclient_op;

/**
 * kdcclient_new(cfg): a client for the KDC described by ${cfg}, which is
 * copied (except ${cfg}->key, borrowed: it must outlive the client).  The
 * KDC name must be 1..KDCCLIENT_KDCNAME_MAX printable characters without
 * ':' or space (it prefixes PSK identities).  Return the client (free with
 * kdcclient_free) or NULL (logged).
 */
struct kdcclient *kdcclient_new(const struct kdcclient_config *cfg);

/**
 * kdcclient_new_conf(conf): a client for the host configuration ${conf}
 * (conf_schema_host): loads [host] key (hostkey_load: the requests are
 * signed as its key version, hostkey_kvno), [kdc] public_key
 * and public_key_next (hostpub_load), resolves [kdc] address (host names
 * with getaddrinfo: this blocks, call it at start-up; a name that does not
 * resolve is skipped with a warning if others remain) and takes [kdc]
 * name and timeout; one attempt per address.  The client owns the key it
 * loaded.  Return it (kdcclient_free) or NULL (logged, naming the file).
 */
struct kdcclient *kdcclient_new_conf(const struct conf *conf);

/** kdcclient_free(kc): free ${kc} (after its ops); NULL is a no-op. */
void kdcclient_free(struct kdcclient *kc);

/** kdcclient_host_id(kc): this host's id (HOSTPUB_IDBYTES bytes). */
const uint8_t *kdcclient_host_id(const struct kdcclient *kc);

/** kdcclient_kdc_name(kc): the KDC's name, as in PSK identities. */
const char *kdcclient_kdc_name(const struct kdcclient *kc);

/**
 * kdcclient_request_start(kc, peer_id, service, client_addr, lifetime): a
 * REQUEST for a new session key with the host ${peer_id} for ${service},
 * to be used from ${client_addr} (NULL: the local address of each
 * connection to the KDC), valid ${lifetime} seconds (0: the KDC's
 * default).  Nothing is sent before the first kdcclient_step.  Return the
 * op (free with kdcclient_op_free, before ${kc}) or NULL (logged: invalid
 * arguments, out of memory).
 */
struct kdcclient_op *kdcclient_request_start(struct kdcclient *kc,
    const uint8_t peer_id[static WIRE_IDBYTES], const char *service,
    const struct wire_addr *client_addr, uint32_t lifetime);

/**
 * kdcclient_retrieve_start(kc, key_id, client_addr, service): a RETRIEVE
 * of the key ${key_id} that the client at ${client_addr} uses for
 * ${service} on this host (the server side).  Like
 * kdcclient_request_start otherwise.
 */
struct kdcclient_op *kdcclient_retrieve_start(struct kdcclient *kc,
    const uint8_t key_id[static WIRE_KEYIDBYTES],
    const struct wire_addr *client_addr, const char *service);

/**
 * kdcclient_enroll_start(kc, hostname, addrs, naddrs, token): an ENROLL of
 * this host's public keys under ${hostname}, with ${naddrs} (at most
 * WIRE_ADDRS_MAX) addresses ${addrs}, and the one-time enrollment
 * ${token} (32 bytes) or NULL.  With a token, enroll_mac is
 * HMAC-SHA256(token, hdr || body before the mac) and the header nonce is
 * the token's id, SHA-256(token)[0..16), by which the KDC finds it (so
 * every attempt of the op carries the same nonce).  Like
 * kdcclient_request_start otherwise.
 */
struct kdcclient_op *kdcclient_enroll_start(struct kdcclient *kc,
    const char *hostname, const struct wire_addr *addrs, size_t naddrs,
    const uint8_t *token);

/**
 * kdcclient_revoke_start(kc, kind, id, reason): a REVOKE of ${kind} (enum
 * wire_revoke_kind; ${id} is a key id, a host id, or NULL for
 * WIRE_REVOKE_MINE) with ${reason} (enum wire_revoke_reason).  Like
 * kdcclient_request_start otherwise.
 */
struct kdcclient_op *kdcclient_revoke_start(struct kdcclient *kc,
    unsigned int kind, const uint8_t *id, unsigned int reason);

/**
 * kdcclient_rotate_start(kc, newkey, new_kvno): a ROTATE of this host's
 * keys to ${newkey} (borrowed until the op is freed) as key version
 * ${new_kvno} (not 0), signed by the current key, with the proof of
 * possession signed by ${newkey}.  Like kdcclient_request_start otherwise.
 */
struct kdcclient_op *kdcclient_rotate_start(
    struct kdcclient *kc, const struct hostkey *newkey, uint16_t new_kvno);

/**
 * kdcclient_step(op, now_ms): advance ${op} as far as it can go without
 * blocking, ${now_ms} being the monotonic time (kdcclient_now_ms).
 * Return KDCCLIENT_WANT_READ or KDCCLIENT_WANT_WRITE (call again when
 * kdcclient_fd(${op}) is ready that way, or at kdcclient_deadline(${op})),
 * KDCCLIENT_DONE (kdcclient_result) or KDCCLIENT_FAILED (kdcclient_error).
 * The descriptor may change from one call to the next (a new attempt:
 * re-register it with epoll); once the op is over it is closed.  Calling
 * it early or again after the end is harmless.
 */
int kdcclient_step(struct kdcclient_op *op, int64_t now_ms);

/** kdcclient_fd(op): the socket ${op} waits on, or -1. */
int kdcclient_fd(const struct kdcclient_op *op);

/**
 * kdcclient_deadline(op): the monotonic time (ms) at which ${op}'s current
 * attempt times out and kdcclient_step must be called even if the socket
 * is not ready; INT64_MAX once the op is over.
 */
int64_t kdcclient_deadline(const struct kdcclient_op *op);

/**
 * kdcclient_run(op): drive ${op} to its end with poll(2), blocking (for
 * command-line tools).  Return 0 (KDCCLIENT_DONE) or -1 (FAILED; not
 * logged, see kdcclient_error).
 */
int kdcclient_run(struct kdcclient_op *op) CG_WUR;

/**
 * kdcclient_result(op): the verified response of ${op} once kdcclient_step
 * returned KDCCLIENT_DONE, else NULL.  It lives as long as ${op}.
 */
const struct kdcclient_result *kdcclient_result(const struct kdcclient_op *op);

/**
 * kdcclient_error(op): one line saying why ${op} failed, e.g. "KDC at
 * 127.0.0.1:7441: connection refused; no KDC answered" or "KDC response
 * failed verification: bad KDC signature (from 127.0.0.1:7441)"; "" if it
 * did not fail.
 */
const char *kdcclient_error(const struct kdcclient_op *op);

/**
 * kdcclient_op_free(op): close ${op}'s socket, wipe and free it (with its
 * session key); NULL is a no-op.
 */
void kdcclient_op_free(struct kdcclient_op *op);

/** kdcclient_now_ms(void): CLOCK_MONOTONIC in milliseconds. */
int64_t kdcclient_now_ms(void);

/**
 * kdcclient_err_text(code): what the KDC's ERROR ${code} means for the
 * user, e.g. "the KDC denied the request" (no trailing period; append
 * wire_err_name(code) in parentheses when reporting).
 */
const char *kdcclient_err_text(unsigned int code);

/**
 * kdcclient_err_format(buf, size, res): describe the KDC's ERROR in ${res}
 * in one line for the user, "<kdcclient_err_text> (<NAME>)" plus what
 * helps: the clock difference for SKEW, the delay for RATE, e.g. "this
 * host's clock is too far from the KDC's: 305 s ahead (SKEW)".  Writes
 * "" if ${res} is not an ERROR.  ${buf} has ${size} bytes (256 suffice).
 */
void kdcclient_err_format(
    char *buf, size_t size, const struct kdcclient_result *res);

/**
 * kdcclient_psk(psk, session_key, key_id): the TLS 1.3 external PSK of a
 * session key: ${psk} = HKDF-Expand(PRK = ${session_key}, info =
 * KDCCLIENT_PSK_LABEL || ${key_id}, 32).  Return 0 or -1 (${psk} zeroed).
 */
int kdcclient_psk(uint8_t psk[static KDCCLIENT_PSKBYTES],
    const uint8_t session_key[static WIRE_SESSIONKEYBYTES],
    const uint8_t key_id[static WIRE_KEYIDBYTES]) CG_WUR;

/**
 * kdcclient_identity(buf, size, kdc_name, key_id): write the PSK identity
 * "<${kdc_name}>-<32 lowercase hex of ${key_id}>" and a NUL to ${buf}
 * (${size} bytes; KDCCLIENT_IDENTITYBYTES always suffices).  Return 0, or
 * -1 (logged) if ${kdc_name} is not a valid KDC name or ${buf} is too
 * small.
 */
int kdcclient_identity(char *buf, size_t size, const char *kdc_name,
    const uint8_t key_id[static WIRE_KEYIDBYTES]) CG_WUR;

/**
 * kdcclient_identity_parse(identity, kdc_name, key_id): if ${identity} is
 * "<${kdc_name}>-<32 hex digits>", set ${key_id} and return 0; else -1
 * (not logged).
 */
int kdcclient_identity_parse(const char *identity, const char *kdc_name,
    uint8_t key_id[static WIRE_KEYIDBYTES]) CG_WUR;

/**
 * kdcclient_keycfg_update(path, kc, res, identity, size): derive the PSK
 * and the PSK identity of the session key in ${res} (a REQUEST_RESP or
 * RETRIEVE_RESP result of an op of ${kc}) and add or replace the
 * identity's line in the key file ${path} (keycfg.h; created if missing),
 * rewritten atomically with mode 0600.  Copy the identity to ${identity}
 * (${size} bytes, KDCCLIENT_IDENTITYBYTES suffice).  Return 0 or -1
 * (logged).
 */
int kdcclient_keycfg_update(const char *path, const struct kdcclient *kc,
    const struct kdcclient_result *res, char *identity, size_t size) CG_WUR;

/**
 * kdcclient_kdc_name_is_valid(name): true if ${name} can name a KDC in PSK
 * identities: 1..KDCCLIENT_KDCNAME_MAX characters 0x21..0x7e except ':'.
 */
bool kdcclient_kdc_name_is_valid(const char *name);

/**
 * kdcclient_addr_parse(a, s): set ${a} from the IPv4 or IPv6 literal ${s}
 * (no port, no brackets).  Return 0, or -1 (not logged).
 */
int kdcclient_addr_parse(struct wire_addr *a, const char *s) CG_WUR;

/**
 * kdcclient_addr_format(buf, size, a): write ${a} as text ("192.0.2.1",
 * "2001:db8::1") to ${buf} (${size} bytes; 46 suffice).  Return 0 or -1.
 */
int kdcclient_addr_format(char *buf, size_t size, const struct wire_addr *a);

#endif /* !CRYPTGATE_KDCCLIENT_H */
