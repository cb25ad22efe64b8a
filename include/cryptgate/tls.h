/*
 * tls.h: TLS 1.3 with an external PSK, for the gateway (OpenSSL libssl).
 *
 * The wire is exactly ARCHITECTURE.md "Gateway wire": TLS 1.3 only; external
 * PSK with a SHA-256 hash; identity "<kdc-name>-<32 hex key id>"; key
 * exchange psk_dhe_ke only (SSL_OP_ALLOW_NO_DHE_KEX off, asserted, so every
 * connection has forward secrecy); server suites TLS_AES_128_GCM_SHA256 and
 * TLS_CHACHA20_POLY1305_SHA256 only; no session tickets, no resumption, no
 * 0-RTT.  Interoperates with `openssl s_client/s_server -psk` and with
 * stunnel's PSKsecrets.
 *
 * Connections are non-blocking, on a socket the caller owns (the caller's
 * event loop polls it).  Calls that cannot finish return TLS_WANT_READ or
 * TLS_WANT_WRITE: call again when the socket is ready.  OpenSSL writes to
 * the socket with write(2) (an alert may go to a peer that is gone): the
 * process must ignore SIGPIPE.
 *
 * Server side PSK lookup may be asynchronous: the lookup callback answers
 * TLS_PSK_PENDING, tls_handshake returns TLS_WANT_PSK and the handshake
 * pauses (a client-hello callback returning SSL_CLIENT_HELLO_RETRY) until
 * the caller gives the key with tls_conn_set_psk (or refuses with
 * tls_conn_refuse_psk) and calls tls_handshake again.
 */
#ifndef CRYPTGATE_TLS_H
#define CRYPTGATE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cdefs.h"

#define TLS_PSKBYTES 32
#define TLS_IDENTITYBYTES_MAX 255 /* stunnel and legacy-callback peers' cap */

/* Results of tls_handshake, tls_read, tls_write, tls_shutdown. */
#define TLS_OK 0
#define TLS_ERROR (-1)
#define TLS_WANT_READ (-2)
#define TLS_WANT_WRITE (-3)
#define TLS_WANT_PSK (-4) /* server: the PSK lookup is pending */
#define TLS_EOF (-5) /* tls_read: the peer sent close_notify */

enum tls_role {
	TLS_ROLE_CLIENT = 1,
	TLS_ROLE_SERVER = 2,
};

/* What a server-side PSK lookup callback answers. */
enum tls_psk_status {
	TLS_PSK_FOUND = 1, /* ${psk} filled */
	TLS_PSK_NOTFOUND = 2, /* refuse: the handshake fails */
	TLS_PSK_PENDING = 3, /* asked elsewhere (KDC): resume later */
};

struct tls_conn;

/*
 * Server side: look up the PSK for ${identity} (${idlen} bytes, 1 to
 * TLS_IDENTITYBYTES_MAX, no NUL byte (longer ones or ones with a NUL are
 * refused before the lookup), not NUL-terminated, otherwise not validated:
 * may be any bytes) on ${conn}.  Called from tls_handshake.
 * ${arg} is tls_ctx_new's argument; tls_conn_user(conn) gives the
 * connection's user pointer.
 */
typedef enum tls_psk_status tls_psk_lookup_fn(void *arg, struct tls_conn *conn,
    const uint8_t *identity, size_t idlen, uint8_t psk[static TLS_PSKBYTES]);

struct tls_ctx_config {
	enum tls_role role;
	tls_psk_lookup_fn *psk_lookup; /* server role */
	void *arg;
};

struct tls_ctx;

/**
 * tls_ctx_new(cfg): a context (one SSL_CTX, shared by every connection of
 * a service and every thread) configured as described above; the settings
 * are checked after they are made (psk_dhe_ke only, no tickets).  Return
 * NULL on failure.
 */
struct tls_ctx *tls_ctx_new(const struct tls_ctx_config *cfg);

/** tls_ctx_free(ctx): free; connections must be freed first.  NULL no-op. */
void tls_ctx_free(struct tls_ctx *ctx);

/**
 * tls_conn_new(ctx, fd, user): a connection on the connected non-blocking
 * socket ${fd} (still owned by the caller, who closes it after
 * tls_conn_free).  ${user} is returned by tls_conn_user.
 */
struct tls_conn *tls_conn_new(struct tls_ctx *ctx, int fd, void *user);

/** tls_conn_free(conn): free without sending anything; NULL no-op. */
void tls_conn_free(struct tls_conn *conn);

/** tls_conn_user(conn): the user pointer given to tls_conn_new. */
void *tls_conn_user(const struct tls_conn *conn);

/**
 * tls_conn_set_psk(conn, identity, idlen, psk): client role: the identity
 * (1 to TLS_IDENTITYBYTES_MAX bytes, no NUL) and key to offer (call before
 * the first tls_handshake).  Server role: answer a pending lookup (after
 * TLS_WANT_PSK; ${identity} must be the one looked up, tls_conn_identity).
 * The key is copied into secret memory (wiped by tls_conn_free).  Return 0
 * or -1.
 */
int tls_conn_set_psk(struct tls_conn *conn, const char *identity, size_t idlen,
    const uint8_t psk[static TLS_PSKBYTES]) CG_WUR;

/** tls_conn_refuse_psk(conn): server role: the pending lookup failed. */
void tls_conn_refuse_psk(struct tls_conn *conn);

/**
 * tls_handshake(conn): advance the handshake.  TLS_OK when complete (and
 * psk_dhe_ke with a PSK was verified to be what was negotiated: otherwise
 * TLS_ERROR), TLS_WANT_READ/WRITE, TLS_WANT_PSK (server, lookup pending),
 * TLS_ERROR (the reason: tls_conn_error).
 */
int tls_handshake(struct tls_conn *conn) CG_WUR;

/**
 * tls_read(conn, buf, len): up to ${len} decrypted bytes (as many records as
 * fit or are available).  Return the count (> 0), TLS_EOF after the peer's
 * close_notify (a clean end of stream), TLS_WANT_READ/WRITE, or TLS_ERROR
 * (including a stream cut without close_notify: truncation is an error,
 * never a clean end).  When it fills the whole buffer, bytes may be left
 * inside the connection (tls_pending): call again when there is room,
 * without waiting for the socket.  ${len} 0 returns 0.
 */
ssize_t tls_read(struct tls_conn *conn, void *buf, size_t len) CG_WUR;

/**
 * tls_pending(conn): true if received bytes wait inside ${conn}: tls_read
 * may return data without the socket being readable (or TLS_WANT_READ if
 * they are only part of a record: then wait for the socket).
 */
bool tls_pending(const struct tls_conn *conn);

/**
 * tls_write(conn, buf, len): encrypt and send up to ${len} bytes (full
 * records while the socket takes them); return the count accepted and sent
 * (> 0; it may be less than ${len}: call again with the rest),
 * TLS_WANT_READ/WRITE, or TLS_ERROR.  After TLS_WANT_* or a short count, a
 * record may be half sent: the next call must start with the same bytes
 * (the unaccepted rest; the buffer may have moved and may have grown), and
 * tls_shutdown only after everything was accepted.  ${len} 0 returns 0.
 */
ssize_t tls_write(struct tls_conn *conn, const void *buf, size_t len) CG_WUR;

/**
 * tls_shutdown(conn): send close_notify (TLS 1.3 half-close: reading goes
 * on; writing ends).  TLS_OK, TLS_WANT_WRITE (call again) or TLS_ERROR.
 * Calls after TLS_OK do nothing and return TLS_OK.
 */
int tls_shutdown(struct tls_conn *conn) CG_WUR;

/**
 * tls_conn_identity(conn): the PSK identity (NUL-terminated) or NULL: on the
 * client the one set; on the server the one the client offered, from the
 * lookup on (not validated: may hold any bytes but NUL; escape to log).
 */
const char *tls_conn_identity(const struct tls_conn *conn);

#define TLS_EXPORTBYTES_MAX 64
/**
 * tls_conn_export(conn, out, outlen, label, context, contextlen): the
 * TLS 1.3 exporter (RFC 8446 section 7.5) of the established ${conn}:
 * ${outlen} (1..TLS_EXPORTBYTES_MAX) bytes for ${label} and ${context}
 * into ${out}, equal at both ends of the connection and unique to it.
 * The output is secret if used as a key.  Return 0 or -1.
 */
int tls_conn_export(const struct tls_conn *conn, uint8_t *out, size_t outlen,
    const char *label, const uint8_t *context, size_t contextlen) CG_WUR;

/**
 * tls_conn_cipher(conn): the negotiated suite name, e.g.
 * "TLS_AES_128_GCM_SHA256", or NULL before the handshake completed.
 */
const char *tls_conn_cipher(const struct tls_conn *conn);

/**
 * tls_conn_error(conn): a short description of the last failure for logs
 * ("handshake: binder does not verify", "read: peer closed without
 * close_notify", ...; "no error" if none).  The library does not log
 * per-connection failures itself (only at debug level).  A failure is
 * final: later calls on ${conn} return TLS_ERROR.
 */
const char *tls_conn_error(const struct tls_conn *conn);

#endif /* !CRYPTGATE_TLS_H */
