/*
 * tlsout.c: the output side of a gateway TLS connection.  OpenSSL writes
 * each record into a BIO of ours that keeps it in memory; tls_write
 * encrypts a whole batch (up to TLSOUT_BATCHBYTES of plaintext, 16
 * records) and then sends it with one send(2), instead of one system call
 * per 16 KiB record through a socket BIO.  On this machine a plain relay
 * pair costs about half the CPU per byte with 256 KiB writes than with
 * 16 KiB ones (docs/PERFORMANCE.md), and the TLS side was the small one.
 *
 * For every application-data record the output remembers where it ends
 * and how much plaintext it carries, so that tls_write reports as accepted
 * only the plaintext whose records have left entirely: the caller keeps
 * the rest and offers it again (tls_write's contract), as it did when
 * OpenSSL wrote to the socket itself.
 *
 * The buffer is freed whenever it is empty, so an idle connection holds
 * none.  It never holds more than one batch plus what OpenSSL writes
 * outside tls_write (handshake flights, alerts, KeyUpdate, close_notify);
 * TLSOUT_MAXBYTES bounds it anyway: a write beyond it fails the
 * connection.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>

#include "cryptgate/log.h"
#include "tlsout.h"

/* A batch of records (each at most 16384 + 256 bytes) and some spare. */
#define TLSOUT_MAXBYTES ((size_t)1024 * 1024)
#define TLSOUT_RECMAX 32 /* records of one batch: 16 */

struct tlsout {
	BIO *bio;
	int fd;
	uint8_t *buf;
	size_t cap;
	size_t off; /* buf[off..len) is not sent yet */
	size_t len;
	struct {
		size_t end; /* offset in buf just past the record */
		size_t plain; /* its plaintext bytes */
	} rec[TLSOUT_RECMAX];
	size_t nrec;
};

static pthread_once_t meth_once = PTHREAD_ONCE_INIT;
static BIO_METHOD *meth;

static int
out_write(BIO *b, const char *data, size_t dlen, size_t *written)
{
	struct tlsout *out = BIO_get_data(b);
	size_t need, ncap;
	uint8_t *nbuf;

	BIO_clear_retry_flags(b);
	if (out == NULL || dlen > TLSOUT_MAXBYTES - out->len)
		return (0);
	need = out->len + dlen;
	if (need > out->cap) {
		ncap = out->cap > 0 ? out->cap : 32768;
		while (ncap < need)
			ncap *= 2;
		if (ncap > TLSOUT_MAXBYTES)
			ncap = TLSOUT_MAXBYTES;
		if ((nbuf = realloc(out->buf, ncap)) == NULL)
			return (0);
		out->buf = nbuf;
		out->cap = ncap;
	}
	memcpy(out->buf + out->len, data, dlen);
	out->len += dlen;
	*written = dlen;
	return (1);
}

static long
out_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	const struct tlsout *out = BIO_get_data(b);

	(void)num;
	(void)ptr;
	switch (cmd) {
	case BIO_CTRL_FLUSH:
		/* tls.c sends; to OpenSSL the bytes are gone. */
		return (1);
	case BIO_CTRL_WPENDING:
		return (out != NULL ? (long)(out->len - out->off) : 0);
	default:
		return (0);
	}
}

static int
out_create(BIO *b)
{
	BIO_set_data(b, NULL);
	BIO_set_init(b, 1);
	return (1);
}

static void
make_meth(void)
{
	BIO_METHOD *m;

	if ((m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
	         "cryptgate tls output")) == NULL)
		return;
	if (BIO_meth_set_write_ex(m, out_write) != 1 ||
	    BIO_meth_set_ctrl(m, out_ctrl) != 1 ||
	    BIO_meth_set_create(m, out_create) != 1) {
		BIO_meth_free(m);
		return;
	}
	meth = m;
}

struct tlsout *
tlsout_new(int fd)
{
	struct tlsout *out;

	if (pthread_once(&meth_once, make_meth) != 0 || meth == NULL) {
		log_warnx("tlsout_new: cannot create the BIO method");
		goto err0;
	}
	if ((out = calloc(1, sizeof(*out))) == NULL) {
		log_warn("tlsout_new: calloc");
		goto err0;
	}
	out->fd = fd;
	if ((out->bio = BIO_new(meth)) == NULL) {
		log_warnx("tlsout_new: BIO_new failed");
		goto err1;
	}
	BIO_set_data(out->bio, out);

	/* Success! */
	return (out);

err1:
	free(out);
err0:
	/* Failure! */
	return (NULL);
}

void
tlsout_free(struct tlsout *out)
{
	if (out == NULL)
		return;
	/* The SSL object may still hold a reference: detach it from us. */
	BIO_set_data(out->bio, NULL);
	BIO_free(out->bio);
	free(out->buf);
	free(out);
}

BIO *
tlsout_bio(struct tlsout *out)
{
	return (out->bio);
}

void
tlsout_record(struct tlsout *out, size_t plain)
{
	/* A batch has at most 16 records: more means a caller's bug. */
	if (out->nrec == TLSOUT_RECMAX) {
		out->rec[out->nrec - 1].end = out->len;
		out->rec[out->nrec - 1].plain += plain;
		return;
	}
	out->rec[out->nrec].end = out->len;
	out->rec[out->nrec].plain = plain;
	out->nrec++;
}

bool
tlsout_pending(const struct tlsout *out)
{
	return (out->len > out->off);
}

/* Move the records that left entirely (up to ${out->off}) to ${*acked}. */
static void
ack_records(struct tlsout *out, size_t *acked)
{
	size_t i = 0;

	while (i < out->nrec && out->rec[i].end <= out->off)
		*acked += out->rec[i++].plain;
	if (i > 0) {
		memmove(out->rec, out->rec + i,
		    (out->nrec - i) * sizeof(out->rec[0]));
		out->nrec -= i;
	}
}

int
tlsout_flush(struct tlsout *out, size_t *acked)
{
	ssize_t n;

	*acked = 0;
	while (out->off < out->len) {
		do {
			n = send(out->fd, out->buf + out->off,
			    out->len - out->off, MSG_NOSIGNAL);
		} while (n == -1 && errno == EINTR);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ack_records(out, acked);
			return (1);
		}
		if (n <= 0) {
			if (n == 0)
				errno = EPIPE;
			return (-1);
		}
		out->off += (size_t)n;
	}
	ack_records(out, acked);
	/* Empty: give the memory back (an idle connection holds none). */
	free(out->buf);
	out->buf = NULL;
	out->cap = out->off = out->len = 0;
	out->nrec = 0;
	return (0);
}
