/*
 * tlsout.h: the output side of a TLS connection (internal to
 * src/lib/crypto; used by tls.c only).
 */
#ifndef CRYPTGATE_TLSOUT_H
#define CRYPTGATE_TLSOUT_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/bio.h>

#include "cryptgate/cdefs.h"

/* The most plaintext one tls_write encrypts before it sends. */
#define TLSOUT_BATCHBYTES ((size_t)256 * 1024)

struct tlsout;

/**
 * tlsout_new(fd): an output for the connected socket ${fd}: a BIO (owned
 * by the tlsout, not by the SSL object: give it to SSL_set_bio after
 * BIO_up_ref) into which OpenSSL writes whole records, kept in memory until
 * tlsout_flush sends them.  NULL on failure.
 */
struct tlsout *tlsout_new(int fd);

/** tlsout_free(out): free, dropping unsent bytes.  NULL no-op. */
void tlsout_free(struct tlsout *out);

/** tlsout_bio(out): the BIO OpenSSL writes into. */
BIO *tlsout_bio(struct tlsout *out);

/**
 * tlsout_record(out, plain): the bytes written into the BIO since the last
 * call end an application-data record that carried ${plain} plaintext
 * bytes (the count SSL_write_ex returned).
 */
void tlsout_record(struct tlsout *out, size_t plain);

/** tlsout_pending(out): true if bytes wait to be sent. */
bool tlsout_pending(const struct tlsout *out);

/**
 * tlsout_flush(out, acked): send what waits, in as few send(2) calls as the
 * socket takes.  ${*acked} = the plaintext bytes of the records that left
 * entirely (tlsout_record's counts).  Return 0 when nothing is left, 1
 * when the socket is full (wait until it is writable), -1 on an error
 * (errno; the bytes are lost).
 */
int tlsout_flush(struct tlsout *out, size_t *acked) CG_WUR;

#endif /* !CRYPTGATE_TLSOUT_H */
