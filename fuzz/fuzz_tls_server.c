/*
 * fuzz_tls_server.c: libFuzzer target for the server side of the gateway
 * wire (src/lib/crypto/tls.c) through the real path: a server tls_conn on
 * one end of a socketpair, the input written into the other end, and
 * tls_handshake driven until it fails.  This reaches our pre_shared_key
 * and psk_key_exchange_modes parsers in the client-hello callback, the
 * lookup (found, not found, pending then answered or refused) and the
 * psk-find-session callback, with OpenSSL's record and handshake code
 * around them.
 *
 * Input: one control byte, then the bytes the "client" sends.  Control
 * bits: 0x01 the lookup answers PENDING (then tls_conn_set_psk or, with
 * 0x02, tls_conn_refuse_psk); 0x04 answer only after one more
 * tls_handshake call (which must say TLS_WANT_PSK again); bits 0x30 the
 * size of the pieces the input is written in (all at once, 1, 7 or 100
 * bytes, with a handshake step after each piece).  After the last piece
 * the writing end is shut, so every run ends in TLS_ERROR.
 *
 * The lookup knows one identity, FUZZ_IDENTITY, with the key 0x00..0x1f:
 * the seed ClientHellos in fuzz/corpus/tls_server/ offer it, so their
 * binders verify and a run goes on to the ServerHello.  ch-*: captured
 * (socat listener writing to a file) from tests/helpers/tlspipe, openssl
 * s_client (-psk, HRR-provoking groups, -allow_no_dhe_kex, no PSK, TLS
 * 1.2, a SHA-384 suite, another identity) and gnutls-cli (ECDHE-PSK,
 * PSK only), with various control bytes; craft-*: the tlspipe hello
 * with its pre_shared_key or psk_key_exchange_modes extension rewritten
 * (NUL or empty or 255/256-byte identities, two identities, short or
 * missing binders, trailing bytes...); binder-ok-*: rewritten with the
 * binders recomputed (RFC 8446 4.2.11.2), so they verify; garbage-*.
 * Later tests (tests/integration/53-gateway-faults.sh) send some of them
 * to the gateway: the gateway's test key.cfg holds this identity and key.
 *
 * Invariants beyond "no crash, no leak": the lookup only ever sees an
 * identity of 1..TLS_IDENTITYBYTES_MAX bytes without a NUL, and
 * tls_conn_identity then returns it; an identity the gateway's parser
 * (kdcclient_identity_parse) accepts formats back to itself (hex case
 * aside); TLS_WANT_PSK only after a PENDING
 * answer; no input completes a handshake (the client Finished depends on
 * the server's random); once the input is delivered the handshake fails
 * within a few steps, with a reason (tls_conn_error).  With
 * FUZZ_TLS_VERBOSE in the environment each run prints that reason.
 *
 *   make fuzz && build/fuzz/fuzz_tls_server -max_total_time=180 \
 *       fuzz/corpus/tls_server
 */
#include <sys/socket.h>

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "cryptgate/kdcclient.h"
#include "cryptgate/log.h"
#include "cryptgate/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_KDC "kdc1"
#define FUZZ_IDENTITY FUZZ_KDC "-00112233445566778899aabbccddeeff"
#define FUZZ_MAXINPUT 65536
#define STEPS_AFTER_EOF 16

#define F_PENDING 0x01
#define F_REFUSE 0x02
#define F_LATE 0x04
#define F_CHUNK(f) (((f) >> 4) & 3)

static const size_t chunk_sizes[4] = { 0, 1, 7, 100 };

struct run {
	uint8_t flags;
	int lookups;
	bool pending;
	char seen[TLS_IDENTITYBYTES_MAX + 1];
};

static struct tls_ctx *ctx;
static bool verbose; /* FUZZ_TLS_VERBOSE set: each run's end on stderr */

static void
fuzz_psk(uint8_t psk[static TLS_PSKBYTES])
{
	size_t i;

	for (i = 0; i < TLS_PSKBYTES; i++)
		psk[i] = (uint8_t)i;
}

static bool
is_ours(const uint8_t *id, size_t idlen)
{
	return (idlen == strlen(FUZZ_IDENTITY) &&
	    memcmp(id, FUZZ_IDENTITY, idlen) == 0);
}

static enum tls_psk_status
lookup(void *arg, struct tls_conn *conn, const uint8_t *id, size_t idlen,
    uint8_t psk[static TLS_PSKBYTES])
{
	struct run *r = tls_conn_user(conn);
	uint8_t key_id[WIRE_KEYIDBYTES];
	char again[KDCCLIENT_IDENTITYBYTES];

	(void)arg;
	/* The contract: checked before the lookup is asked. */
	if (r == NULL || idlen == 0 || idlen > TLS_IDENTITYBYTES_MAX ||
	    memchr(id, '\0', idlen) != NULL)
		abort();
	/* Once per connection: the retries after PENDING do not ask again. */
	if (r->lookups++ > 0)
		abort();
	memcpy(r->seen, id, idlen);
	r->seen[idlen] = '\0';
	/* The gateway's next step (service.c): the identity's key id. */
	if (kdcclient_identity_parse(r->seen, FUZZ_KDC, key_id) == 0 &&
	    (kdcclient_identity(again, sizeof(again), FUZZ_KDC, key_id) ||
	        strcasecmp(again, r->seen) != 0))
		abort();
	if (r->flags & F_PENDING) {
		r->pending = true;
		return (TLS_PSK_PENDING);
	}
	if (!is_ours(id, idlen))
		return (TLS_PSK_NOTFOUND);
	fuzz_psk(psk);
	return (TLS_PSK_FOUND);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct tls_ctx_config cfg = { .role = TLS_ROLE_SERVER,
		.psk_lookup = lookup };

	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);
	log_init(1, 0, LOG_USER);
	verbose = getenv("FUZZ_TLS_VERBOSE") != NULL;
	if ((ctx = tls_ctx_new(&cfg)) == NULL)
		abort();
	return (0);
}

/* Answer a pending lookup as the flags say. */
static void
answer(struct run *r, struct tls_conn *conn)
{
	uint8_t psk[TLS_PSKBYTES];

	r->pending = false;
	if ((r->flags & F_REFUSE) ||
	    !is_ours((const uint8_t *)r->seen, strlen(r->seen))) {
		tls_conn_refuse_psk(conn);
		return;
	}
	fuzz_psk(psk);
	if (tls_conn_set_psk(conn, r->seen, strlen(r->seen), psk))
		abort();
}

/* Read and drop what the server sent. */
static void
drain(int fd)
{
	uint8_t buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run r;
	struct tls_conn *conn;
	size_t off = 0, chunk, n;
	ssize_t w;
	int sv[2], rc, after_eof = 0;
	bool late_done = false;

	if (size < 1 || size > FUZZ_MAXINPUT + 1)
		return (0);
	memset(&r, 0, sizeof(r));
	r.flags = data[0];
	data++;
	size--;
	chunk = chunk_sizes[F_CHUNK(r.flags)];
	if (chunk == 0)
		chunk = size;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1)
		abort();
	if ((conn = tls_conn_new(ctx, sv[1], &r)) == NULL)
		abort();
	for (;;) {
		if (off < size) {
			n = size - off < chunk ? size - off : chunk;
			if ((w = write(sv[0], data + off, n)) > 0)
				off += (size_t)w;
		}
		if (off == size && after_eof++ == 0)
			shutdown(sv[0], SHUT_WR);
		rc = tls_handshake(conn);
		drain(sv[0]);
		if (rc == TLS_OK)
			abort(); /* impossible without the server's random */
		if (rc == TLS_ERROR)
			break;
		if (rc == TLS_WANT_PSK) {
			if (!r.pending)
				abort();
			if ((r.flags & F_LATE) && !late_done) {
				late_done = true;
				continue;
			}
			answer(&r, conn);
		} else if (r.pending && (r.flags & F_LATE) && late_done) {
			abort(); /* still pending: it must say so again */
		}
		/* All delivered and shut: the end must come soon. */
		if (after_eof > STEPS_AFTER_EOF)
			abort();
	}
	if (verbose)
		fprintf(stderr,
		    "fuzz_tls_server: flags 0x%02x, %d lookup(s), %s\n",
		    r.flags, r.lookups, tls_conn_error(conn));
	if (strcmp(tls_conn_error(conn), "no error") == 0)
		abort();
	if (r.lookups > 0 &&
	    (tls_conn_identity(conn) == NULL ||
	        strcmp(tls_conn_identity(conn), r.seen) != 0))
		abort();
	tls_conn_free(conn);
	close(sv[0]);
	close(sv[1]);
	return (0);
}
