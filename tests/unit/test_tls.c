/*
 * test_tls.c: TLS 1.3 external PSK (tls.c): a client and a server on a
 * non-blocking socketpair driven by a small loop.  Handshake with the right
 * key, a wrong key, an unknown identity, a pending lookup answered or
 * refused; 1 MiB each way (SHA-256 compared, the writer's buffer moved and
 * grown between calls); TLS 1.3 half-close; truncation; garbage, HTTP and
 * hand-made ClientHellos with malformed or psk_ke-only PSK extensions; one
 * context shared by two threads; memory per idle connection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cryptgate/digest.h"
#include "cryptgate/log.h"
#include "cryptgate/rand.h"
#include "cryptgate/tls.h"

#include "tls_fixture.h"

#define ID "kdc1-000102030405060708090a0b0c0d0e0f"
#define KIB ((size_t)1024)
#define MIB (1024 * KIB)

static const uint8_t key_good[TLS_PSKBYTES] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
	11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
	29, 30, 31, 32 };
static const uint8_t key_bad[TLS_PSKBYTES] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
	11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
	29, 30, 31, 33 };

/* The server's lookup: what it answers and what it saw. */
struct lookup {
	enum tls_psk_status answer;
	int calls;
	char seen[TLS_IDENTITYBYTES_MAX + 1];
	void *user_seen;
};

static enum tls_psk_status
lookup_cb(void *arg, struct tls_conn *conn, const uint8_t *identity,
    size_t idlen, uint8_t psk[static TLS_PSKBYTES])
{
	struct lookup *lk = arg;

	lk->calls++;
	lk->user_seen = tls_conn_user(conn);
	assert_true(idlen <= TLS_IDENTITYBYTES_MAX);
	memcpy(lk->seen, identity, idlen);
	lk->seen[idlen] = '\0';
	if (lk->answer == TLS_PSK_FOUND) {
		if (strcmp(lk->seen, ID) != 0)
			return (TLS_PSK_NOTFOUND);
		memcpy(psk, key_good, TLS_PSKBYTES);
	}
	return (lk->answer);
}

struct pair {
	int fd[2]; /* [0] client, [1] server */
	struct tls_ctx *cctx, *sctx;
	struct tls_conn *c, *s;
	struct lookup lk;
};

static int
nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return (fl == -1 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK));
}

/* A connected pair; the client offers ID with ${key} unless NULL. */
static void
pair_open(struct pair *p, const uint8_t *key, enum tls_psk_status answer)
{
	struct tls_ctx_config ccfg = { .role = TLS_ROLE_CLIENT };
	struct tls_ctx_config scfg = { .role = TLS_ROLE_SERVER,
		.psk_lookup = lookup_cb };

	memset(p, 0, sizeof(*p));
	p->lk.answer = answer;
	scfg.arg = &p->lk;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p->fd), 0);
	assert_int_equal(nonblock(p->fd[0]), 0);
	assert_int_equal(nonblock(p->fd[1]), 0);
	assert_non_null(p->cctx = tls_ctx_new(&ccfg));
	assert_non_null(p->sctx = tls_ctx_new(&scfg));
	assert_non_null(p->c = tls_conn_new(p->cctx, p->fd[0], NULL));
	assert_non_null(p->s = tls_conn_new(p->sctx, p->fd[1], &p->lk));
	if (key != NULL)
		assert_int_equal(
		    tls_conn_set_psk(p->c, ID, strlen(ID), key), 0);
}

static void
pair_close(struct pair *p)
{
	tls_conn_free(p->c);
	tls_conn_free(p->s);
	tls_ctx_free(p->cctx);
	tls_ctx_free(p->sctx);
	if (p->fd[0] != -1)
		close(p->fd[0]);
	if (p->fd[1] != -1)
		close(p->fd[1]);
}

static bool
final(int r)
{
	return (r == TLS_OK || r == TLS_ERROR);
}

/*
 * Step both handshakes until both are final or the server waits for its
 * PSK (*rs == TLS_WANT_PSK).  ${c} may be NULL (server only).
 */
static void
drive(struct tls_conn *c, struct tls_conn *s, int *rc, int *rs)
{
	int i;

	*rc = c == NULL ? TLS_OK : TLS_WANT_READ;
	*rs = TLS_WANT_READ;
	for (i = 0; i < 200; i++) {
		if (!final(*rc))
			*rc = tls_handshake(c);
		if (!final(*rs))
			*rs = tls_handshake(s);
		if (*rs == TLS_WANT_PSK || (final(*rc) && final(*rs)))
			return;
	}
}

static void
test_config(void **state)
{
	struct tls_ctx_config cfg = { .role = TLS_ROLE_SERVER };
	struct tls_ctx *ctx;
	struct tls_conn *conn;
	int fd[2];

	(void)state;
	/* A server needs a lookup; the role must be known. */
	assert_null(tls_ctx_new(&cfg));
	cfg.role = 7;
	assert_null(tls_ctx_new(&cfg));
	assert_null(tls_ctx_new(NULL));

	/* A client without a PSK does not start; identities are checked. */
	cfg.role = TLS_ROLE_CLIENT;
	assert_non_null(ctx = tls_ctx_new(&cfg));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0);
	assert_non_null(conn = tls_conn_new(ctx, fd[0], NULL));
	assert_int_equal(tls_conn_set_psk(conn, "", 0, key_good), -1);
	assert_int_equal(tls_conn_set_psk(conn, "a\0b", 3, key_good), -1);
	{
		char big[TLS_IDENTITYBYTES_MAX + 1];

		memset(big, 'x', sizeof(big));
		assert_int_equal(
		    tls_conn_set_psk(conn, big, sizeof(big), key_good), -1);
		assert_int_equal(
		    tls_conn_set_psk(conn, big, sizeof(big) - 1, key_good), 0);
	}
	tls_conn_free(conn);
	assert_non_null(conn = tls_conn_new(ctx, fd[0], NULL));
	assert_int_equal(tls_handshake(conn), TLS_ERROR);
	assert_non_null(strstr(tls_conn_error(conn), "no psk"));
	assert_null(tls_conn_identity(conn));
	assert_null(tls_conn_cipher(conn));
	tls_conn_free(conn);
	tls_ctx_free(ctx);
	close(fd[0]);
	close(fd[1]);
	tls_ctx_free(NULL);
	tls_conn_free(NULL);
}

static void
test_handshake_ok(void **state)
{
	struct pair p;
	int rc, rs;
	char buf[16];

	(void)state;
	pair_open(&p, key_good, TLS_PSK_FOUND);
	/* Nothing moves before the handshake. */
	assert_int_equal(tls_read(p.s, buf, sizeof(buf)), TLS_ERROR);
	drive(p.c, p.s, &rc, &rs);
	assert_int_equal(rc, TLS_OK);
	assert_int_equal(rs, TLS_OK);
	assert_int_equal(p.lk.calls, 1);
	assert_string_equal(p.lk.seen, ID);
	assert_ptr_equal(p.lk.user_seen, &p.lk);
	assert_string_equal(tls_conn_identity(p.s), ID);
	assert_string_equal(tls_conn_identity(p.c), ID);
	/* Server preference: AES-128-GCM first. */
	assert_string_equal(tls_conn_cipher(p.s), "TLS_AES_128_GCM_SHA256");
	assert_string_equal(tls_conn_cipher(p.c), "TLS_AES_128_GCM_SHA256");
	assert_string_equal(tls_conn_error(p.c), "no error");
	/* Again is a no-op. */
	assert_int_equal(tls_handshake(p.c), TLS_OK);
	assert_int_equal(tls_handshake(p.s), TLS_OK);
	pair_close(&p);
}

static void
test_wrong_psk(void **state)
{
	struct pair p;
	int rc, rs;

	(void)state;
	pair_open(&p, key_bad, TLS_PSK_FOUND);
	drive(p.c, p.s, &rc, &rs);
	assert_int_equal(rs, TLS_ERROR);
	assert_int_equal(rc, TLS_ERROR);
	assert_non_null(strstr(tls_conn_error(p.s), "binder"));
	assert_non_null(strstr(tls_conn_error(p.c), "handshake: "));
	print_message("# wrong psk: server \"%s\", client \"%s\"\n",
	    tls_conn_error(p.s), tls_conn_error(p.c));
	/* Failures are final. */
	assert_int_equal(tls_handshake(p.s), TLS_ERROR);
	assert_int_equal(tls_write(p.c, "x", 1), TLS_ERROR);
	pair_close(&p);
}

static void
test_unknown_identity(void **state)
{
	struct pair p;
	int rc, rs;

	(void)state;
	pair_open(&p, key_good, TLS_PSK_NOTFOUND);
	drive(p.c, p.s, &rc, &rs);
	assert_int_equal(rs, TLS_ERROR);
	assert_int_equal(rc, TLS_ERROR);
	assert_int_equal(p.lk.calls, 1);
	assert_string_equal(
	    tls_conn_error(p.s), "handshake: unknown psk identity");
	assert_non_null(strstr(tls_conn_error(p.c), "unknown psk identity"));
	pair_close(&p);
}

static void
test_pending_then_key(void **state)
{
	struct pair p;
	int rc, rs;

	(void)state;
	pair_open(&p, key_good, TLS_PSK_PENDING);
	drive(p.c, p.s, &rc, &rs);
	assert_int_equal(rs, TLS_WANT_PSK);
	assert_int_equal(rc, TLS_WANT_READ);
	assert_string_equal(tls_conn_identity(p.s), ID);
	/* Still pending: asked once only. */
	assert_int_equal(tls_handshake(p.s), TLS_WANT_PSK);
	assert_int_equal(tls_handshake(p.s), TLS_WANT_PSK);
	assert_int_equal(p.lk.calls, 1);
	/* Only the identity looked up can be answered; clients cannot. */
	assert_int_equal(tls_conn_set_psk(p.s, "kdc1-00", 7, key_good), -1);
	assert_int_equal(tls_conn_set_psk(p.c, ID, strlen(ID), key_good), -1);
	assert_int_equal(tls_conn_set_psk(p.s, ID, strlen(ID), key_good), 0);
	drive(p.c, p.s, &rc, &rs);
	assert_int_equal(rc, TLS_OK);
	assert_int_equal(rs, TLS_OK);
	assert_int_equal(p.lk.calls, 1);
	pair_close(&p);

	/* A pending lookup answered with the wrong key. */
	pair_open(&p, key_good, TLS_PSK_PENDING);
	drive(p.c, p.s, &rc, &rs);
	assert_int_equal(rs, TLS_WANT_PSK);
	assert_int_equal(tls_conn_set_psk(p.s, ID, strlen(ID), key_bad), 0);
	drive(p.c, p.s, &rc, &rs);
	assert_int_equal(rs, TLS_ERROR);
	assert_int_equal(rc, TLS_ERROR);
	pair_close(&p);
}

static void
test_pending_then_refuse(void **state)
{
	struct pair p;
	int rc, rs;

	(void)state;
	pair_open(&p, key_good, TLS_PSK_PENDING);
	drive(p.c, p.s, &rc, &rs);
	assert_int_equal(rs, TLS_WANT_PSK);
	tls_conn_refuse_psk(p.s);
	assert_int_equal(tls_conn_set_psk(p.s, ID, strlen(ID), key_good), -1);
	drive(p.c, p.s, &rc, &rs);
	assert_int_equal(rs, TLS_ERROR);
	assert_int_equal(rc, TLS_ERROR);
	assert_string_equal(
	    tls_conn_error(p.s), "handshake: psk lookup refused");
	assert_int_equal(p.lk.calls, 1);
	pair_close(&p);
}

static void
established(struct pair *p)
{
	int rc, rs;

	pair_open(p, key_good, TLS_PSK_FOUND);
	drive(p->c, p->s, &rc, &rs);
	assert_int_equal(rc, TLS_OK);
	assert_int_equal(rs, TLS_OK);
}

/* One direction of a transfer: a source, a staging buffer, a sink. */
struct flow {
	const uint8_t *src;
	size_t srclen, taken; /* bytes moved into staging */
	uint8_t *stage;
	size_t stagecap, staged;
	uint8_t *dst;
	size_t got;
	size_t readsz;
	int moves;
};

/* Write what the socket takes; compact the staging buffer (it "moves"). */
static void
flow_write(struct tls_conn *w, struct flow *f)
{
	size_t n;
	ssize_t r;

	n = f->srclen - f->taken;
	if (n > f->stagecap - f->staged)
		n = f->stagecap - f->staged;
	memcpy(f->stage + f->staged, f->src + f->taken, n);
	f->staged += n;
	f->taken += n;
	if (f->staged == 0)
		return;
	r = tls_write(w, f->stage, f->staged);
	if (r == TLS_WANT_WRITE || r == TLS_WANT_READ)
		return;
	assert_true(r > 0);
	assert_true((size_t)r <= f->staged);
	if ((size_t)r < f->staged)
		f->moves++;
	memmove(f->stage, f->stage + r, f->staged - (size_t)r);
	f->staged -= (size_t)r;
}

static void
flow_read(struct tls_conn *rd, struct flow *f)
{
	ssize_t r;
	size_t want = f->readsz;

	if (want > f->srclen - f->got)
		want = f->srclen - f->got + 1; /* +1: no over-delivery */
	r = tls_read(rd, f->dst + f->got, want);
	if (r == TLS_WANT_READ || r == TLS_WANT_WRITE)
		return;
	assert_true(r > 0);
	f->got += (size_t)r;
	assert_true(f->got <= f->srclen);
}

static void
flow_init(struct flow *f, size_t len, size_t stagecap, size_t readsz)
{
	uint8_t *src;

	memset(f, 0, sizeof(*f));
	assert_non_null(src = malloc(len));
	assert_int_equal(rand_bytes(src, len), 0);
	f->src = src;
	f->srclen = len;
	assert_non_null(f->stage = malloc(stagecap));
	f->stagecap = stagecap;
	assert_non_null(f->dst = malloc(len + 1));
	f->readsz = readsz;
}

static void
flow_check_free(struct flow *f)
{
	uint8_t h1[DIGEST_SHA256BYTES], h2[DIGEST_SHA256BYTES];

	assert_int_equal(f->got, f->srclen);
	assert_int_equal(digest_sha256(h1, f->src, f->srclen), 0);
	assert_int_equal(digest_sha256(h2, f->dst, f->got), 0);
	assert_memory_equal(h1, h2, sizeof(h1));
	free((void *)(uintptr_t)f->src);
	free(f->stage);
	free(f->dst);
}

static void
test_data_both_ways(void **state)
{
	struct pair p;
	struct flow up, down;
	int i;

	(void)state;
	established(&p);
	/* Staging bigger than the socket buffer: short counts happen. */
	flow_init(&up, MIB, 256 * KIB, 100000);
	flow_init(&down, MIB + 12345, 64 * KIB + 7, 4096);
	for (i = 0; i < 100000; i++) {
		if (up.got == up.srclen && down.got == down.srclen)
			break;
		flow_write(p.c, &up);
		flow_write(p.s, &down);
		flow_read(p.s, &up);
		flow_read(p.c, &down);
	}
	print_message("# 1 MiB each way in %d rounds; short writes %d/%d\n", i,
	    up.moves, down.moves);
	assert_true(up.moves > 0);
	flow_check_free(&up);
	flow_check_free(&down);
	assert_false(tls_pending(p.c));
	assert_false(tls_pending(p.s));
	pair_close(&p);
}

/*
 * Both directions full (each side wrote until its socket was full and
 * nobody read): a read must still deliver, never wait for the socket to
 * be writable (that would deadlock two relays), and the output waiting
 * inside tls.c leaves once the peer reads.
 */
static void
test_both_full(void **state)
{
	struct pair p;
	struct flow up, down;
	ssize_t r;
	int i;

	(void)state;
	established(&p);
	flow_init(&up, 4 * MIB, 256 * KIB, 65536);
	flow_init(&down, 4 * MIB, 256 * KIB, 65536);
	for (i = 0; i < 64 && up.taken < up.srclen; i++)
		flow_write(p.c, &up);
	/* Blocked writing, nothing to read: wait for input, not output. */
	assert_int_equal(tls_read(p.c, down.dst, 65536), TLS_WANT_READ);
	for (i = 0; i < 64 && down.taken < down.srclen; i++)
		flow_write(p.s, &down);
	assert_true(up.staged > 0 && down.staged > 0); /* both blocked */
	assert_int_equal(tls_write(p.c, up.stage, up.staged), TLS_WANT_WRITE);
	r = tls_read(p.c, down.dst, 65536);
	assert_true(r > 0);
	down.got += (size_t)r;
	r = tls_read(p.s, up.dst, 65536);
	assert_true(r > 0);
	up.got += (size_t)r;
	for (i = 0; i < 100000; i++) {
		if (up.got == up.srclen && down.got == down.srclen)
			break;
		flow_read(p.s, &up);
		flow_read(p.c, &down);
		flow_write(p.c, &up);
		flow_write(p.s, &down);
	}
	flow_check_free(&up);
	flow_check_free(&down);
	pair_close(&p);
}

/*
 * Reads, writes and idle turns in a random order on both sides (seeded):
 * records that leave during a read (tls.c sends waiting output there too)
 * are reported to the next write, never encrypted twice or lost.
 */
static void
test_random_schedule(void **state)
{
	struct pair p;
	struct flow up, down;
	unsigned int seed = 20261127;
	int i;

	(void)state;
	established(&p);
	flow_init(&up, 3 * MIB + 1, 100 * KIB + 3, 5000);
	flow_init(&down, 2 * MIB + 77, 300 * KIB, 70000);
	for (i = 0; i < 400000; i++) {
		if (up.got == up.srclen && down.got == down.srclen)
			break;
		switch (rand_r(&seed) % 4) {
		case 0:
			flow_write(p.c, &up);
			break;
		case 1:
			flow_write(p.s, &down);
			break;
		case 2:
			flow_read(p.s, &up);
			break;
		default:
			flow_read(p.c, &down);
			break;
		}
	}
	print_message("# random schedule: %d turns, short writes %d/%d\n", i,
	    up.moves, down.moves);
	flow_check_free(&up);
	flow_check_free(&down);
	pair_close(&p);
}

/* Read until data, EOF or error (bounded); return the tls_read result. */
static ssize_t
read_some(struct tls_conn *c, void *buf, size_t len)
{
	ssize_t r = TLS_WANT_READ;
	int i;

	for (i = 0; i < 1000 && (r == TLS_WANT_READ || r == TLS_WANT_WRITE);
	     i++)
		r = tls_read(c, buf, len);
	return (r);
}

static void
test_half_close(void **state)
{
	struct pair p;
	char buf[64];

	(void)state;
	established(&p);
	assert_int_equal(tls_write(p.c, "last words", 10), 10);
	assert_int_equal(tls_shutdown(p.c), TLS_OK);
	assert_int_equal(tls_shutdown(p.c), TLS_OK); /* once */
	/* Writing after our close_notify fails (not fatal: reads go on). */
	assert_int_equal(tls_write(p.c, "more", 4), TLS_ERROR);
	assert_string_equal(tls_conn_error(p.c), "write: after shutdown");
	assert_int_equal(read_some(p.s, buf, sizeof(buf)), 10);
	assert_memory_equal(buf, "last words", 10);
	assert_int_equal(read_some(p.s, buf, sizeof(buf)), TLS_EOF);
	assert_int_equal(tls_read(p.s, buf, sizeof(buf)), TLS_EOF);
	/* The server still writes; the client, closed for writing, reads. */
	assert_int_equal(tls_write(p.s, "reply", 5), 5);
	if (read_some(p.c, buf, sizeof(buf)) != 5)
		fail_msg("client: %s", tls_conn_error(p.c));
	assert_memory_equal(buf, "reply", 5);
	assert_int_equal(tls_shutdown(p.s), TLS_OK);
	assert_int_equal(read_some(p.c, buf, sizeof(buf)), TLS_EOF);
	pair_close(&p);
}

/* Data, then the raw socket closed (or half-closed) without close_notify. */
static void
test_truncation(void **state)
{
	struct pair p;
	char buf[64];
	int how;

	(void)state;
	for (how = 0; how < 2; how++) {
		established(&p);
		assert_int_equal(tls_write(p.c, "partial", 7), 7);
		if (how == 0) {
			close(p.fd[0]);
			p.fd[0] = -1;
		} else
			assert_int_equal(shutdown(p.fd[0], SHUT_WR), 0);
		assert_int_equal(read_some(p.s, buf, sizeof(buf)), 7);
		assert_int_equal(read_some(p.s, buf, sizeof(buf)), TLS_ERROR);
		assert_string_equal(tls_conn_error(p.s),
		    "read: peer closed without close_notify");
		assert_int_equal(tls_read(p.s, buf, sizeof(buf)), TLS_ERROR);
		pair_close(&p);
	}
}

/* The server alone, fed ${len} raw bytes (then EOF if ${eof}). */
static void
raw_to_server(
    const void *bytes, size_t len, bool eof, const char *want, int calls)
{
	struct pair p;
	int rc, rs;

	pair_open(&p, NULL, TLS_PSK_NOTFOUND);
	if (len > 0)
		assert_int_equal(write(p.fd[0], bytes, len), (ssize_t)len);
	if (eof)
		assert_int_equal(shutdown(p.fd[0], SHUT_WR), 0);
	drive(NULL, p.s, &rc, &rs);
	if (rs != TLS_ERROR)
		fail_msg("server accepted %s", want);
	if (strstr(tls_conn_error(p.s), want) == NULL)
		fail_msg(
		    "error \"%s\" lacks \"%s\"", tls_conn_error(p.s), want);
	assert_int_equal(p.lk.calls, calls);
	pair_close(&p);
}

static void
test_garbage(void **state)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	uint8_t junk[1000];

	(void)state;
	raw_to_server(http, strlen(http), false, "handshake: ", 0);
	assert_int_equal(rand_bytes(junk, sizeof(junk)), 0);
	junk[0] = 0x42; /* not a handshake record */
	raw_to_server(junk, sizeof(junk), false, "handshake: ", 0);
	raw_to_server(NULL, 0, true, "handshake: peer closed", 0);
	raw_to_server("\x16\x03\x01\x00", 4, true, "handshake: ", 0);
}

static void
hello_case(const uint8_t *psk, size_t psklen, const uint8_t *modes,
    size_t modeslen, const char *want, int calls)
{
	uint8_t ch[2048];
	size_t n = client_hello(ch, psk, psklen, modes, modeslen);

	raw_to_server(ch, n, false, want, calls);
}

static void
test_client_hello_psk_ext(void **state)
{
	static const uint8_t dhe[] = { 1, 1 }, ke[] = { 1, 0 },
	                     both[] = { 2, 0, 1 }, badmodes[] = { 2, 1 };
	static const char *const one[] = { ID }, *const two[] = { ID, "x" };
	const char *mal = "handshake: malformed pre_shared_key extension";
	uint8_t x[600];
	size_t n;
	char longid[TLS_IDENTITYBYTES_MAX + 2];
	const char *lid[1] = { longid };

	(void)state;
	/* Well formed: the lookup sees the first identity (and says no). */
	n = psk_ext(x, one, 1, 1, 32);
	hello_case(x, n, dhe, sizeof(dhe), "unknown psk identity", 1);
	hello_case(x, n, both, sizeof(both), "unknown psk identity", 1);
	n = psk_ext(x, two, 2, 2, 48);
	hello_case(x, n, dhe, sizeof(dhe), "unknown psk identity", 1);

	/* psk_ke only, or no modes at all: refused before any lookup. */
	n = psk_ext(x, one, 1, 1, 32);
	hello_case(x, n, ke, sizeof(ke), "does not offer psk_dhe_ke", 0);
	hello_case(x, n, NULL, 0, "does not offer psk_dhe_ke", 0);
	hello_case(x, n, badmodes, sizeof(badmodes), "psk_dhe_ke", 0);

	/* Malformed: every length is checked. */
	hello_case(x, 0, dhe, sizeof(dhe), mal, 0);
	hello_case(x, 1, dhe, sizeof(dhe), mal, 0);
	hello_case(x, n - 1, dhe, sizeof(dhe), mal, 0); /* short binder */
	x[n] = 0;
	hello_case(x, n + 1, dhe, sizeof(dhe), mal, 0); /* trailing byte */
	n = psk_ext(x, two, 2, 1, 32); /* binder missing */
	hello_case(x, n, dhe, sizeof(dhe), mal, 0);
	n = psk_ext(x, one, 1, 1, 31); /* binder too short */
	hello_case(x, n, dhe, sizeof(dhe), mal, 0);
	n = psk_ext(x, one, 1, 1, 32);
	x[1] += 1; /* identities overrun */
	hello_case(x, n, dhe, sizeof(dhe), mal, 0);
	n = psk_ext(x, one, 1, 1, 32);
	x[3] += 1; /* identity overruns the list */
	hello_case(x, n, dhe, sizeof(dhe), mal, 0);
	n = psk_ext(x, one, 1, 1, 32);
	x[0] = 0xff; /* identities longer than the extension */
	hello_case(x, n, dhe, sizeof(dhe), mal, 0);
	{
		static const char *const empty[] = { "" };

		n = psk_ext(x, empty, 1, 1, 32); /* empty identity */
		hello_case(x, n, dhe, sizeof(dhe), mal, 0);
	}

	/* Identities the lookup never sees: too long, or with a NUL. */
	memset(longid, 'k', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	n = psk_ext(x, lid, 1, 1, 32);
	hello_case(x, n, dhe, sizeof(dhe), "too long", 0);
	n = psk_ext(x, one, 1, 1, 32);
	x[8] = '\0';
	hello_case(x, n, dhe, sizeof(dhe), "NUL", 0);

	/* No pre_shared_key at all: a plain TLS client. */
	{
		uint8_t ch[2048];
		size_t l;

		l = client_hello(ch, NULL, 0, dhe, sizeof(dhe));
		/* Drop the empty extension 41 (4 bytes) and fix the lengths. */
		l -= 4;
		ch[4] -= 4;
		ch[8] -= 4;
		ch[9 + 2 + 32 + 1 + 4 + 2 + 1] -= 4;
		raw_to_server(ch, l, false, "client offers no psk", 0);
	}
}

/* Two threads share the two contexts, each with its own connections. */
struct thr {
	struct tls_ctx *cctx, *sctx;
	int ok;
};

static void *
thr_main(void *arg)
{
	struct thr *t = arg;
	struct tls_conn *c, *s;
	int fd[2], i, rc, rs;
	char buf[8];

	for (i = 0; i < 20; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, fd) != 0 ||
		    nonblock(fd[0]) != 0 || nonblock(fd[1]) != 0)
			return (NULL);
		c = tls_conn_new(t->cctx, fd[0], NULL);
		s = tls_conn_new(t->sctx, fd[1], NULL);
		if (c == NULL || s == NULL ||
		    tls_conn_set_psk(
		        c, ID, strlen(ID), (i % 3) ? key_good : key_bad) != 0)
			return (NULL);
		drive(c, s, &rc, &rs);
		if ((i % 3) != 0 && rc == TLS_OK && rs == TLS_OK &&
		    tls_write(c, "ping", 4) == 4 &&
		    read_some(s, buf, sizeof(buf)) == 4)
			t->ok++;
		if ((i % 3) == 0 && rc == TLS_ERROR && rs == TLS_ERROR)
			t->ok++;
		tls_conn_free(c);
		tls_conn_free(s);
		close(fd[0]);
		close(fd[1]);
	}
	return (NULL);
}

static void
test_threads(void **state)
{
	struct tls_ctx_config ccfg = { .role = TLS_ROLE_CLIENT };
	struct tls_ctx_config scfg = { .role = TLS_ROLE_SERVER,
		.psk_lookup = lookup_cb };
	struct lookup lk = { .answer = TLS_PSK_FOUND };
	struct thr t[2];
	pthread_t tid[2];
	int i;

	(void)state;
	scfg.arg = &lk; /* lk.calls races: not checked */
	memset(t, 0, sizeof(t));
	assert_non_null(t[0].cctx = tls_ctx_new(&ccfg));
	assert_non_null(t[0].sctx = tls_ctx_new(&scfg));
	t[1] = t[0];
	for (i = 0; i < 2; i++)
		assert_int_equal(
		    pthread_create(&tid[i], NULL, thr_main, &t[i]), 0);
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(tid[i], NULL), 0);
	assert_int_equal(t[0].ok, 20);
	assert_int_equal(t[1].ok, 20);
	tls_ctx_free(t[0].cctx);
	tls_ctx_free(t[0].sctx);
}

/* Heap held by idle established connections (skipped under ASan). */
static void
test_idle_memory(void **state)
{
	enum { N = 50 };
	struct tls_ctx_config ccfg = { .role = TLS_ROLE_CLIENT };
	struct tls_ctx_config scfg = { .role = TLS_ROLE_SERVER,
		.psk_lookup = lookup_cb };
	struct lookup lk = { .answer = TLS_PSK_FOUND };
	struct tls_ctx *cctx, *sctx;
	struct tls_conn *c[N], *s[N];
	int fd[N][2], i, rc, rs;
	struct mallinfo2 m0, m1, m2;
	size_t idle, fresh;
	char buf[4];

	(void)state;
	m0 = mallinfo2();
	if (m0.uordblks == 0) {
		print_message("# idle memory: not measurable (sanitizer)\n");
		skip();
	}
	scfg.arg = &lk;
	assert_non_null(cctx = tls_ctx_new(&ccfg));
	assert_non_null(sctx = tls_ctx_new(&scfg));
	/* Warm up (lazily loaded OpenSSL tables) with one connection. */
	for (i = 0; i < N; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fd[i]), 0);
		assert_int_equal(nonblock(fd[i][0]), 0);
		assert_int_equal(nonblock(fd[i][1]), 0);
	}
	m0 = mallinfo2();
	for (i = 0; i < N; i++) {
		assert_non_null(s[i] = tls_conn_new(sctx, fd[i][1], NULL));
	}
	m1 = mallinfo2();
	for (i = 0; i < N; i++) {
		assert_non_null(c[i] = tls_conn_new(cctx, fd[i][0], NULL));
		assert_int_equal(
		    tls_conn_set_psk(c[i], ID, strlen(ID), key_good), 0);
		drive(c[i], s[i], &rc, &rs);
		assert_int_equal(rc, TLS_OK);
		assert_int_equal(rs, TLS_OK);
		/* One record each way, then idle. */
		assert_int_equal(tls_write(c[i], "ab", 2), 2);
		assert_int_equal(read_some(s[i], buf, sizeof(buf)), 2);
		assert_int_equal(tls_write(s[i], "cd", 2), 2);
		assert_int_equal(read_some(c[i], buf, sizeof(buf)), 2);
	}
	m2 = mallinfo2();
	fresh = (m1.uordblks - m0.uordblks) / N;
	idle = (m2.uordblks - m0.uordblks) / N / 2;
	print_message("# memory: %zu bytes per fresh server connection, %zu "
	              "per idle established connection\n",
	    fresh, idle);
	for (i = 0; i < N; i++) {
		tls_conn_free(c[i]);
		tls_conn_free(s[i]);
		close(fd[i][0]);
		close(fd[i][1]);
	}
	tls_ctx_free(cctx);
	tls_ctx_free(sctx);
	/* 48 KiB per idle connection through a gateway pair: TLS <= 16. */
	assert_true(idle <= 16 * KIB);
	assert_true(fresh <= 16 * KIB);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_handshake_ok),
		cmocka_unit_test(test_wrong_psk),
		cmocka_unit_test(test_unknown_identity),
		cmocka_unit_test(test_pending_then_key),
		cmocka_unit_test(test_pending_then_refuse),
		cmocka_unit_test(test_data_both_ways),
		cmocka_unit_test(test_both_full),
		cmocka_unit_test(test_random_schedule),
		cmocka_unit_test(test_half_close),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_client_hello_psk_ext),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_idle_memory),
	};

	log_init(1, 0, LOG_USER);
	/* OpenSSL writes alerts with write(2): the daemons ignore SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
