/*
 * tls.c: TLS 1.3 with an external PSK for the gateway, on OpenSSL libssl
 * (the only file that includes <openssl/ssl.h>).  Facts it relies on:
 * shared/research/kdc-crypto.md section 2 (e).
 *
 * Client: a psk-use-session callback builds the SSL_SESSION that carries
 * the PSK (called again after a HelloRetryRequest, with the hash of the
 * suite the server chose).  Server: a client-hello callback parses the
 * first identity of the pre_shared_key extension, asks the lookup callback
 * and pauses the handshake (SSL_CLIENT_HELLO_RETRY) while the lookup is
 * pending; the psk-find-session callback then hands the key to OpenSSL.
 * After the handshake both sides check that the PSK was used and that an
 * (EC)DHE share was exchanged (psk_dhe_ke).
 *
 * Records are read from the socket (read-ahead, TLS_READBUF) and written
 * into memory (tlsout.c), then sent a batch per send(2); every call that
 * can make OpenSSL write sends that output before it returns, or says
 * TLS_WANT_WRITE.
 *
 * The thread's OpenSSL error queue is cleared before every SSL_* call and
 * read (then cleared) after a failure, so one connection's errors never
 * show up in another's checks.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include "cryptgate/log.h"
#include "cryptgate/secret.h"
#include "cryptgate/tls.h"
#include "tlshello.h"
#include "tlsout.h"

#define TLS_SUITES "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"
/* No finite-field groups: an ffdhe8192 share costs the server dearly. */
#define TLS_GROUPS "X25519:P-256:X448:P-521:P-384"
/* Read buffer once established: several records per read(2). */
#define TLS_READBUF ((size_t)256 * 1024)
#define TLS_REASONLEN 96
#define TLS_ERRLEN 128

#define EXT_PRE_SHARED_KEY 41
#define EXT_PSK_KEX_MODES 45

/* TLS_AES_128_GCM_SHA256: the suite whose hash (SHA-256) the PSK uses. */
static const unsigned char tls13_aes128gcm[2] = { 0x13, 0x01 };

struct tls_ctx {
	SSL_CTX *ssl_ctx;
	enum tls_role role;
	tls_psk_lookup_fn *psk_lookup;
	void *arg;
};

enum psk_state {
	PSK_NONE = 0, /* nothing yet */
	PSK_PENDING, /* server: the lookup answered TLS_PSK_PENDING */
	PSK_FOUND, /* the key is in conn->psk */
	PSK_REFUSED, /* server: no key for this identity */
};

struct tls_conn {
	struct tls_ctx *ctx;
	SSL *ssl;
	struct tlsout *out; /* what OpenSSL wrote, until it is sent */
	size_t unreported; /* plaintext sent, not yet told tls_write's caller */
	void *user;
	uint8_t *psk; /* TLS_PSKBYTES of secret memory */
	enum psk_state psk_state;
	char identity[TLS_IDENTITYBYTES_MAX + 1];
	size_t idlen;
	bool started; /* tls_handshake was called */
	bool established;
	bool failed; /* fatal: every later call returns TLS_ERROR */
	bool eof; /* the peer's close_notify was read */
	bool shut_sent; /* our close_notify is out */
	char reason[TLS_REASONLEN]; /* set by our callbacks */
	char err[TLS_ERRLEN];
};

static struct tls_conn *
conn_of(const SSL *ssl)
{
	return (SSL_get_ex_data(ssl, 0));
}

/* Record a failure found by our own code (not in the error queue). */
static void
set_reason(struct tls_conn *conn, const char *reason)
{
	if (conn->reason[0] == '\0')
		snprintf(conn->reason, sizeof(conn->reason), "%s", reason);
}

/*
 * A fatal error in ${what} ("handshake", "read", ...) after an SSL_* call
 * whose SSL_get_error was ${sslerr}: build conn->err from our own reason or
 * the first error in the queue, clear the queue, make the failure sticky.
 */
static void
conn_fail(struct tls_conn *conn, const char *what, int sslerr)
{
	unsigned long e = ERR_peek_error();
	const char *r = NULL;
	int saved = errno;
	bool eof;

	/* 3.0 reports an EOF without close_notify as an SSL error. */
	eof = (e != 0 && ERR_GET_LIB(e) == ERR_LIB_SSL &&
	          ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) ||
	    (e == 0 && sslerr == SSL_ERROR_SYSCALL && saved == 0);
	if (conn->reason[0] != '\0')
		r = conn->reason;
	else if (eof)
		r = conn->established ? "peer closed without close_notify"
		                      : "peer closed the connection";
	else if (e != 0)
		r = ERR_reason_error_string(e);
	else if (sslerr == SSL_ERROR_SYSCALL)
		r = strerror(saved);
	if (r == NULL)
		r = "unknown error";
	snprintf(conn->err, sizeof(conn->err), "%s: %s", what, r);
	ERR_clear_error();
	conn->failed = true;
	log_debug("tls: %s", conn->err);
}

static SSL_SESSION *
psk_session(SSL *ssl, const uint8_t *psk)
{
	SSL_SESSION *s;
	const SSL_CIPHER *cipher;

	if ((cipher = SSL_CIPHER_find(ssl, tls13_aes128gcm)) == NULL)
		goto err0;
	if ((s = SSL_SESSION_new()) == NULL)
		goto err0;
	if (SSL_SESSION_set1_master_key(s, psk, TLS_PSKBYTES) != 1 ||
	    SSL_SESSION_set_cipher(s, cipher) != 1 ||
	    SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION) != 1)
		goto err1;

	/* Success! */
	return (s);

err1:
	SSL_SESSION_free(s); /* wipes the master key */
err0:
	/* Failure! */
	return (NULL);
}

/* Client: offer conn's PSK; after an HRR, only if its hash is ${md}. */
static int
use_session_cb(SSL *ssl, const EVP_MD *md, const unsigned char **id,
    size_t *idlen, SSL_SESSION **sess)
{
	struct tls_conn *conn = conn_of(ssl);
	const SSL_CIPHER *cipher;
	const EVP_MD *pskmd;

	*sess = NULL;
	if (conn == NULL || conn->psk_state != PSK_FOUND)
		return (0);
	if ((cipher = SSL_CIPHER_find(ssl, tls13_aes128gcm)) == NULL ||
	    (pskmd = SSL_CIPHER_get_handshake_digest(cipher)) == NULL)
		return (0);
	if (md != NULL && EVP_MD_get_type(md) != EVP_MD_get_type(pskmd)) {
		set_reason(conn,
		    "server chose a suite whose hash "
		    "does not fit the psk");
		return (1); /* no PSK: the handshake fails */
	}
	if ((*sess = psk_session(ssl, conn->psk)) == NULL)
		return (0);
	*id = (const unsigned char *)conn->identity;
	*idlen = conn->idlen;
	return (1);
}

/* Server: the session for ${id} if it is the identity that was looked up. */
static int
find_session_cb(
    SSL *ssl, const unsigned char *id, size_t idlen, SSL_SESSION **sess)
{
	struct tls_conn *conn = conn_of(ssl);

	*sess = NULL;
	if (conn == NULL || conn->psk_state != PSK_FOUND ||
	    idlen != conn->idlen ||
	    CRYPTO_memcmp(id, conn->identity, idlen) != 0)
		return (1); /* not ours: no PSK for it */
	if ((*sess = psk_session(ssl, conn->psk)) == NULL)
		return (0);
	return (1);
}

static int
hello_refuse(struct tls_conn *conn, int *al, int alert, const char *reason)
{
	set_reason(conn, reason);
	*al = alert;
	return (SSL_CLIENT_HELLO_ERROR);
}

/* Server: take the PSK identity from the ClientHello and look it up. */
static int
client_hello_cb(SSL *ssl, int *al, void *arg)
{
	struct tls_ctx *ctx = arg;
	struct tls_conn *conn = conn_of(ssl);
	const unsigned char *ext;
	const uint8_t *id;
	size_t extlen, idlen;
	enum tls_psk_status st;

	if (conn == NULL) {
		*al = SSL_AD_INTERNAL_ERROR;
		return (SSL_CLIENT_HELLO_ERROR);
	}
	if (conn->psk_state == PSK_REFUSED)
		return (hello_refuse(conn, al, SSL_AD_UNKNOWN_PSK_IDENTITY,
		    "psk lookup refused"));
	if (SSL_client_hello_isv2(ssl))
		return (hello_refuse(
		    conn, al, SSL_AD_HANDSHAKE_FAILURE, "SSLv2 client hello"));
	if (SSL_client_hello_get0_ext(ssl, EXT_PRE_SHARED_KEY, &ext, &extlen) !=
	    1)
		return (hello_refuse(conn, al, SSL_AD_HANDSHAKE_FAILURE,
		    "client offers no psk"));
	if (tlshello_psk_ext(ext, extlen, &id, &idlen) == -1)
		return (hello_refuse(conn, al, SSL_AD_DECODE_ERROR,
		    "malformed pre_shared_key extension"));
	if (SSL_client_hello_get0_ext(ssl, EXT_PSK_KEX_MODES, &ext, &extlen) !=
	        1 ||
	    !tlshello_offers_psk_dhe_ke(ext, extlen))
		return (hello_refuse(conn, al, SSL_AD_HANDSHAKE_FAILURE,
		    "client does not offer psk_dhe_ke"));
	if (idlen > TLS_IDENTITYBYTES_MAX || memchr(id, '\0', idlen) != NULL)
		return (hello_refuse(conn, al, SSL_AD_ILLEGAL_PARAMETER,
		    "psk identity too long or with a NUL byte"));

	if (conn->psk_state != PSK_NONE) {
		/* Again: after TLS_WANT_PSK, or the ClientHello after HRR. */
		if (idlen != conn->idlen ||
		    memcmp(id, conn->identity, idlen) != 0)
			return (hello_refuse(conn, al, SSL_AD_ILLEGAL_PARAMETER,
			    "psk identity changed"));
		return (conn->psk_state == PSK_PENDING
		        ? SSL_CLIENT_HELLO_RETRY
		        : SSL_CLIENT_HELLO_SUCCESS);
	}

	memcpy(conn->identity, id, idlen);
	conn->identity[idlen] = '\0';
	conn->idlen = idlen;
	st = ctx->psk_lookup(ctx->arg, conn, id, idlen, conn->psk);
	/* What the lookup left in the queue is not this handshake's error. */
	ERR_clear_error();
	switch (st) {
	case TLS_PSK_FOUND:
		conn->psk_state = PSK_FOUND;
		return (SSL_CLIENT_HELLO_SUCCESS);
	case TLS_PSK_PENDING:
		conn->psk_state = PSK_PENDING;
		return (SSL_CLIENT_HELLO_RETRY);
	default:
		secret_wipe(conn->psk, TLS_PSKBYTES);
		conn->psk_state = PSK_REFUSED;
		return (hello_refuse(conn, al, SSL_AD_UNKNOWN_PSK_IDENTITY,
		    "unknown psk identity"));
	}
}

/* Check that the settings made on ${c} are in force. */
static int
ctx_check(SSL_CTX *c)
{
	uint64_t opts = SSL_CTX_get_options(c);
	long mode = SSL_CTX_get_mode(c);

	if ((opts & SSL_OP_ALLOW_NO_DHE_KEX) != 0 ||
	    (opts & SSL_OP_IGNORE_UNEXPECTED_EOF) != 0 ||
	    (opts & SSL_OP_NO_TICKET) == 0 ||
	    SSL_CTX_get_min_proto_version(c) != TLS1_3_VERSION ||
	    SSL_CTX_get_max_proto_version(c) != TLS1_3_VERSION ||
	    SSL_CTX_get_num_tickets(c) != 0 ||
	    SSL_CTX_get_session_cache_mode(c) != SSL_SESS_CACHE_OFF ||
	    SSL_CTX_get_max_early_data(c) != 0 ||
	    (mode & SSL_MODE_ENABLE_PARTIAL_WRITE) == 0 ||
	    (mode & SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER) == 0 ||
	    (mode & SSL_MODE_RELEASE_BUFFERS) == 0)
		return (-1);
	return (0);
}

struct tls_ctx *
tls_ctx_new(const struct tls_ctx_config *cfg)
{
	struct tls_ctx *ctx;
	SSL_CTX *c;
	bool server;

	if (cfg == NULL ||
	    (cfg->role != TLS_ROLE_CLIENT && cfg->role != TLS_ROLE_SERVER) ||
	    (cfg->role == TLS_ROLE_SERVER && cfg->psk_lookup == NULL)) {
		log_warnx("tls_ctx_new: bad configuration");
		goto err0;
	}
	server = cfg->role == TLS_ROLE_SERVER;
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL) {
		log_warn("tls_ctx_new: calloc");
		goto err0;
	}
	ctx->role = cfg->role;
	ctx->psk_lookup = cfg->psk_lookup;
	ctx->arg = cfg->arg;

	ERR_clear_error();
	c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	if ((ctx->ssl_ctx = c) == NULL) {
		log_warnx("tls_ctx_new: SSL_CTX_new failed");
		goto err1;
	}
	if (SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_ciphersuites(c, TLS_SUITES) != 1 ||
	    SSL_CTX_set1_groups_list(c, TLS_GROUPS) != 1 ||
	    SSL_CTX_set_num_tickets(c, 0) != 1) {
		log_warnx("tls_ctx_new: cannot set version, suites or groups");
		goto err1;
	}
	/* psk_dhe_ke only: forward secrecy for every connection. */
	SSL_CTX_clear_options(
	    c, SSL_OP_ALLOW_NO_DHE_KEX | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_options(c,
	    SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE |
	        SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_mode(c,
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	        SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_read_ahead(c, 1);
	if (server) {
		SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
		SSL_CTX_set_client_hello_cb(c, client_hello_cb, ctx);
		SSL_CTX_set_psk_find_session_callback(c, find_session_cb);
	} else {
		/* No trust anchors: a server that sends a certificate fails. */
		SSL_CTX_set_verify(c, SSL_VERIFY_PEER, NULL);
		SSL_CTX_set_psk_use_session_callback(c, use_session_cb);
	}
	if (ctx_check(c) == -1) {
		log_warnx("tls_ctx_new: settings not in force (psk_dhe_ke "
		          "only, TLS 1.3 only, no tickets)");
		goto err1;
	}
	ERR_clear_error();

	/* Success! */
	return (ctx);

err1:
	ERR_clear_error();
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx);
err0:
	/* Failure! */
	return (NULL);
}

void
tls_ctx_free(struct tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	SSL_CTX_free(ctx->ssl_ctx);
	free(ctx);
}

struct tls_conn *
tls_conn_new(struct tls_ctx *ctx, int fd, void *user)
{
	struct tls_conn *conn;
	BIO *rbio;

	if (ctx == NULL || fd < 0) {
		log_warnx("tls_conn_new: bad arguments");
		goto err0;
	}
	if ((conn = calloc(1, sizeof(*conn))) == NULL) {
		log_warn("tls_conn_new: calloc");
		goto err0;
	}
	conn->ctx = ctx;
	conn->user = user;
	if ((conn->psk = secret_alloc(TLS_PSKBYTES)) == NULL) {
		log_warnx("tls_conn_new: secret_alloc failed");
		goto err1;
	}
	if ((conn->out = tlsout_new(fd)) == NULL)
		goto err2;
	ERR_clear_error();
	/* Records are read from the socket and written into conn->out. */
	if ((conn->ssl = SSL_new(ctx->ssl_ctx)) == NULL ||
	    (rbio = BIO_new_socket(fd, BIO_NOCLOSE)) == NULL) {
		log_warnx("tls_conn_new: cannot create the SSL object");
		goto err3;
	}
	if (BIO_up_ref(tlsout_bio(conn->out)) != 1) {
		BIO_free(rbio);
		log_warnx("tls_conn_new: BIO_up_ref failed");
		goto err3;
	}
	SSL_set_bio(conn->ssl, rbio, tlsout_bio(conn->out));
	if (SSL_set_ex_data(conn->ssl, 0, conn) != 1) {
		log_warnx("tls_conn_new: cannot create the SSL object");
		goto err3;
	}
	if (ctx->role == TLS_ROLE_SERVER)
		SSL_set_accept_state(conn->ssl);
	else
		SSL_set_connect_state(conn->ssl);

	/* Success! */
	return (conn);

err3:
	ERR_clear_error();
	SSL_free(conn->ssl);
	tlsout_free(conn->out);
err2:
	secret_free(conn->psk, TLS_PSKBYTES);
err1:
	free(conn);
err0:
	/* Failure! */
	return (NULL);
}

void
tls_conn_free(struct tls_conn *conn)
{
	if (conn == NULL)
		return;
	SSL_free(conn->ssl);
	tlsout_free(conn->out);
	secret_free(conn->psk, TLS_PSKBYTES);
	free(conn);
}

void *
tls_conn_user(const struct tls_conn *conn)
{
	return (conn->user);
}

int
tls_conn_set_psk(struct tls_conn *conn, const char *identity, size_t idlen,
    const uint8_t psk[static TLS_PSKBYTES])
{
	if (identity == NULL || idlen == 0 || idlen > TLS_IDENTITYBYTES_MAX ||
	    memchr(identity, '\0', idlen) != NULL) {
		log_warnx("tls_conn_set_psk: bad identity");
		goto err0;
	}
	if (conn->ctx->role == TLS_ROLE_CLIENT) {
		if (conn->started) {
			log_warnx("tls_conn_set_psk: handshake started");
			goto err0;
		}
		memcpy(conn->identity, identity, idlen);
		conn->identity[idlen] = '\0';
		conn->idlen = idlen;
	} else if (conn->psk_state != PSK_PENDING || idlen != conn->idlen ||
	    memcmp(identity, conn->identity, idlen) != 0) {
		log_warnx("tls_conn_set_psk: no pending lookup for that "
		          "identity");
		goto err0;
	}
	memcpy(conn->psk, psk, TLS_PSKBYTES);
	conn->psk_state = PSK_FOUND;

	/* Success! */
	return (0);

err0:
	/* Failure! */
	return (-1);
}

void
tls_conn_refuse_psk(struct tls_conn *conn)
{
	if (conn->ctx->role != TLS_ROLE_SERVER)
		return;
	secret_wipe(conn->psk, TLS_PSKBYTES);
	conn->psk_state = PSK_REFUSED;
}

/* After SSL_do_handshake succeeded: was it PSK with (EC)DHE, TLS 1.3? */
static int
check_established(struct tls_conn *conn)
{
	SSL *ssl = conn->ssl;
	const SSL_CIPHER *cipher;
	const EVP_MD *md;
	EVP_PKEY *peerkey = NULL;

	if (SSL_version(ssl) != TLS1_3_VERSION) {
		set_reason(conn, "not TLS 1.3");
		goto err0;
	}
	if (conn->psk_state != PSK_FOUND || SSL_session_reused(ssl) != 1) {
		set_reason(conn, "the psk was not used");
		goto err0;
	}
	/* Only (EC)DHE leaves a peer share: psk_ke would have none. */
	if (SSL_get_negotiated_group(ssl) <= 0 ||
	    SSL_get_peer_tmp_key(ssl, &peerkey) != 1 || peerkey == NULL) {
		set_reason(conn, "no (EC)DHE key exchange (psk_ke)");
		goto err0;
	}
	EVP_PKEY_free(peerkey);
	if ((cipher = SSL_get_current_cipher(ssl)) == NULL ||
	    (md = SSL_CIPHER_get_handshake_digest(cipher)) == NULL ||
	    EVP_MD_get_type(md) != NID_sha256) {
		set_reason(conn, "not a SHA-256 suite");
		goto err0;
	}
	SSL_set_default_read_buffer_len(ssl, TLS_READBUF);

	/* Success! */
	return (0);

err0:
	/* Failure! */
	return (-1);
}

/*
 * Send what waits in conn->out: TLS_OK (nothing left), TLS_WANT_WRITE (the
 * socket is full) or TLS_ERROR (the connection failed in ${what}).
 * ${*acked} (if not NULL): the plaintext of the records that left.
 */
static int
out_flush(struct tls_conn *conn, const char *what, size_t *acked)
{
	size_t a;
	int r;

	r = tlsout_flush(conn->out, &a);
	/* Records may leave during a read or a handshake call too. */
	conn->unreported += a;
	if (acked != NULL) {
		*acked = conn->unreported;
		conn->unreported = 0;
	}
	if (r == 0)
		return (TLS_OK);
	if (r == 1)
		return (TLS_WANT_WRITE);
	snprintf(conn->err, sizeof(conn->err), "%s: %s", what, strerror(errno));
	conn->failed = true;
	log_debug("tls: %s", conn->err);
	return (TLS_ERROR);
}

/* After a failure: let an alert OpenSSL wrote go out if it can. */
static void
out_last(struct tls_conn *conn)
{
	size_t a;

	if (tlsout_flush(conn->out, &a) != 0)
		log_debug("tls: the alert was not sent");
}

int
tls_handshake(struct tls_conn *conn)
{
	int rc, e, r;

	if (conn->failed)
		return (TLS_ERROR);
	/* Our last flight first: the peer answers nothing before it. */
	if ((r = out_flush(conn, "handshake", NULL)) != TLS_OK)
		return (r);
	if (conn->established)
		return (TLS_OK);
	if (conn->ctx->role == TLS_ROLE_CLIENT &&
	    conn->psk_state != PSK_FOUND) {
		snprintf(conn->err, sizeof(conn->err), "handshake: no psk set");
		conn->failed = true;
		return (TLS_ERROR);
	}
	conn->started = true;
	ERR_clear_error();
	if ((rc = SSL_do_handshake(conn->ssl)) == 1) {
		if (check_established(conn) == -1) {
			conn_fail(conn, "handshake", SSL_ERROR_SSL);
			return (TLS_ERROR);
		}
		conn->established = true;
		/* TLS_WANT_WRITE: the next call sends the rest, then OK. */
		return (out_flush(conn, "handshake", NULL));
	}
	switch ((e = SSL_get_error(conn->ssl, rc))) {
	case SSL_ERROR_WANT_READ:
		/* The peer waits for our flight: it must leave first. */
		if ((r = out_flush(conn, "handshake", NULL)) != TLS_OK)
			return (r);
		return (TLS_WANT_READ);
	case SSL_ERROR_WANT_WRITE:
		return (TLS_WANT_WRITE);
	case SSL_ERROR_WANT_CLIENT_HELLO_CB:
		return (TLS_WANT_PSK);
	default:
		conn_fail(conn, "handshake", e);
		out_last(conn);
		return (TLS_ERROR);
	}
}

/* Common checks before tls_read, tls_write, tls_shutdown. */
static int
ready(struct tls_conn *conn, const char *what)
{
	if (conn->failed)
		return (-1);
	if (!conn->established) {
		snprintf(conn->err, sizeof(conn->err),
		    "%s: handshake not complete", what);
		return (-1);
	}
	return (0);
}

ssize_t
tls_read(struct tls_conn *conn, void *buf, size_t len)
{
	size_t total = 0, n;
	int e;

	if (ready(conn, "read") == -1)
		return (TLS_ERROR);
	if (conn->eof)
		return (TLS_EOF);
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	while (total < len) {
		ERR_clear_error();
		if (SSL_read_ex(conn->ssl, (uint8_t *)buf + total, len - total,
		        &n) == 1) {
			total += n;
			continue;
		}
		switch ((e = SSL_get_error(conn->ssl, 0))) {
		case SSL_ERROR_WANT_READ:
		case SSL_ERROR_WANT_WRITE:
			ERR_clear_error();
			/*
			 * Reading may have written (a KeyUpdate answer): send
			 * it if the socket takes it, else the next write or
			 * shutdown does, first.  Never wait for the socket to
			 * be writable here: the peer may be waiting for us to
			 * read (both directions full).
			 */
			if (out_flush(conn, "read", NULL) == TLS_ERROR &&
			    total == 0)
				return (TLS_ERROR);
			if (total > 0)
				return ((ssize_t)total);
			return (e == SSL_ERROR_WANT_READ ? TLS_WANT_READ
			                                 : TLS_WANT_WRITE);
		case SSL_ERROR_ZERO_RETURN:
			ERR_clear_error();
			conn->eof = true;
			return (total > 0 ? (ssize_t)total : TLS_EOF);
		default:
			/* Return what came before; the error comes next. */
			conn_fail(conn, "read", e);
			out_last(conn);
			return (total > 0 ? (ssize_t)total : TLS_ERROR);
		}
	}
	return ((ssize_t)total);
}

ssize_t
tls_write(struct tls_conn *conn, const void *buf, size_t len)
{
	size_t total = 0, n, acked;
	int e, r;

	if (ready(conn, "write") == -1)
		return (TLS_ERROR);
	if (conn->shut_sent) {
		/* A caller's mistake, not fatal: reading goes on. */
		snprintf(conn->err, sizeof(conn->err), "write: after shutdown");
		return (TLS_ERROR);
	}
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	if (len == 0)
		return (0);
	/*
	 * Records of an earlier call still waiting: they carry the first
	 * bytes of ${buf} (the caller offers again what was not accepted).
	 */
	if (tlsout_pending(conn->out) || conn->unreported > 0) {
		r = out_flush(conn, "write", &acked);
		if (acked > len) {
			/* Not the contract; say it in pieces all the same. */
			conn->unreported = acked - len;
			acked = len;
		}
		if (acked > 0)
			return ((ssize_t)acked);
		if (r != TLS_OK)
			return (r);
	}
	/* A batch of full records into conn->out, then one send. */
	if (len > TLSOUT_BATCHBYTES)
		len = TLSOUT_BATCHBYTES;
	while (total < len) {
		ERR_clear_error();
		if (SSL_write_ex(conn->ssl, (const uint8_t *)buf + total,
		        len - total, &n) != 1) {
			/* conn->out takes everything: this is an error. */
			e = SSL_get_error(conn->ssl, 0);
			conn_fail(conn, "write", e);
			out_last(conn);
			return (TLS_ERROR);
		}
		tlsout_record(conn->out, n);
		total += n;
	}
	r = out_flush(conn, "write", &acked);
	if (acked > 0)
		return ((ssize_t)acked);
	return (r);
}

int
tls_shutdown(struct tls_conn *conn)
{
	int rc, e, r;

	if (ready(conn, "shutdown") == -1)
		return (TLS_ERROR);
	if (conn->shut_sent)
		return (out_flush(conn, "shutdown", NULL));
	/*
	 * Once only (or again while WANT_WRITE): a second SSL_shutdown after
	 * success would wait for the peer's close_notify.
	 */
	if ((r = out_flush(conn, "shutdown", NULL)) != TLS_OK)
		return (r);
	ERR_clear_error();
	if ((rc = SSL_shutdown(conn->ssl)) >= 0) {
		conn->shut_sent = true;
		/* TLS_WANT_WRITE: the next call sends the rest. */
		return (out_flush(conn, "shutdown", NULL));
	}
	switch ((e = SSL_get_error(conn->ssl, rc))) {
	case SSL_ERROR_WANT_WRITE:
		ERR_clear_error();
		return (TLS_WANT_WRITE);
	default:
		conn_fail(conn, "shutdown", e);
		return (TLS_ERROR);
	}
}

bool
tls_pending(const struct tls_conn *conn)
{
	return (conn->established && !conn->failed &&
	    SSL_has_pending(conn->ssl) == 1);
}

const char *
tls_conn_identity(const struct tls_conn *conn)
{
	return (conn->idlen > 0 ? conn->identity : NULL);
}

int
tls_conn_export(const struct tls_conn *conn, uint8_t *out, size_t outlen,
    const char *label, const uint8_t *context, size_t contextlen)
{
	if (!conn->established || conn->failed || outlen == 0 ||
	    outlen > TLS_EXPORTBYTES_MAX)
		return (-1);
	if (SSL_export_keying_material(conn->ssl, out, outlen, label,
	        strlen(label), context, contextlen, 1) != 1) {
		OPENSSL_cleanse(out, outlen);
		return (-1);
	}

	/* Success! */
	return (0);
}

const char *
tls_conn_cipher(const struct tls_conn *conn)
{
	const SSL_CIPHER *cipher;

	if (!conn->established ||
	    (cipher = SSL_get_current_cipher(conn->ssl)) == NULL)
		return (NULL);
	return (SSL_CIPHER_get_name(cipher));
}

const char *
tls_conn_error(const struct tls_conn *conn)
{
	return (conn->err[0] != '\0' ? conn->err : "no error");
}
