/*
 * ftpgw.h: what ftpgw.c (FTP control connections) and ftpdata.c (their
 * data listeners and data connections) share.  All of a session's
 * objects live on the worker of its control connection.
 */
#ifndef CRYPTGATE_GATEWAYD_FTPGW_H
#define CRYPTGATE_GATEWAYD_FTPGW_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptgate/cdefs.h"
#include "cryptgate/evloop.h"

#include "ftp.h"

/* Data connections of one session alive at once. */
#define FTP_DATA_MAX 8
/* Bytes read from a control socket at once. */
#define FTP_RAWBYTES 8192

struct conn;
struct ftpsess;

/* The one data listener of a session. */
struct ftplisten {
	struct ftpsess *fs;
	uint64_t gen; /* which listener of the session */
	int fd;
	struct evloop_io io;
	struct evloop_timer timer;
	bool tls_in; /* TLS server on the accepted socket, else client out */
	struct sockaddr_storage expect; /* the only peer address accepted */
	socklen_t expectlen;
	struct sockaddr_storage target; /* where the data goes on */
	socklen_t targetlen;
	struct sockaddr_storage src; /* source address toward target */
	socklen_t srclen;
	uint8_t psk[32];
};

/* A control session: the state of one FTP control connection. */
struct ftpsess {
	struct conn *ctl; /* NULL once the control connection is gone */
	int refs; /* the control connection and each data connection */
	bool client_side; /* client or transparent role */
	struct ftp_ctl p;
	uint8_t raw[2][FTP_RAWBYTES]; /* read, not yet parsed */
	size_t rawlen[2];
	struct ftplisten *ls; /* NULL or the current data listener */
	uint64_t lsgen; /* listeners opened so far */
	/* A command that may be answered locally waits (in held) until
	   the greeting came and every command before it was answered, so
	   that replies keep the order of the commands. */
	bool greeted;
	bool ended; /* commands ended (overlong line): input is dropped */
	bool end_reply; /* the 500 for it is still to be sent */
	/* The stream position (c->bytes[0]) of a Telnet DM byte to send
	   urgent toward a plain server, if urg. */
	bool urg;
	uint64_t urg_at;
	char held[FTP_LINE_MAX];
	size_t heldlen;
	struct sockaddr_storage loc[2]; /* local addresses of s[0], s[1] */
	socklen_t loclen[2];
	struct sockaddr_storage rem[2]; /* peer addresses of s[0], s[1] */
	socklen_t remlen[2];
};

/** ftpgw_hostport(ss, hp): the address and port of ${ss} into ${hp}. */
void ftpgw_hostport(const struct sockaddr_storage *ss, struct ftp_hostport *hp);
/**
 * ftpgw_sockaddr(out, outlen, ss, sslen, port): ${ss} (IPv4 or IPv6)
 * with its port set to ${port}.
 */
void ftpgw_sockaddr(struct sockaddr_storage *out, socklen_t *outlen,
    const struct sockaddr_storage *ss, socklen_t sslen, uint16_t port);

/**
 * ftpgw_sess_unref(fs): drop a reference to ${fs}; the last frees it.
 * NULL: no-op.
 */
void ftpgw_sess_unref(struct ftpsess *fs);

/**
 * ftpdata_listen(c, active, hp, ours): replace the data listener of the
 * control connection ${c} by a new one: for PORT/EPRT (${active}) toward
 * ${hp} (checked by the caller: the control peer's address), or for a
 * passive reply whose port is ${hp}->port.  ${*ours} gets the address
 * and port to advertise.  Return 0 or -1 (logged).
 */
int ftpdata_listen(struct conn *c, bool active, const struct ftp_hostport *hp,
    struct ftp_hostport *ours) CG_WUR;

/** ftpdata_unlisten(fs): close ${fs}'s data listener, if any. */
void ftpdata_unlisten(struct ftpsess *fs);

#endif /* !CRYPTGATE_GATEWAYD_FTPGW_H */
