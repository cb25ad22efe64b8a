/*
 * sock.h: TCP sockets for the daemons: non-blocking listening sockets on
 * "host:port" strings or configuration addresses, accept4, descriptor
 * flags, and socket addresses as text.
 *
 * Address syntax (sock_parse): "192.0.2.1:7441", "[2001:db8::1]:7441",
 * or without ":port" ("192.0.2.1", "[::1]", "::1") when a default port is
 * given.  Ports are decimal 0..65535 without leading zeros (0: the kernel
 * chooses one when listening; sock_local tells which).  Only numeric addresses: names are resolved by conf.h (CONF_ADDR
 * values) or sock_listen_conf.
 *
 * Listening sockets get SO_REUSEADDR (a restarted daemon binds at once
 * despite connections in TIME_WAIT), IPV6_V6ONLY for IPv6 addresses (so
 * "[::]:p" and "0.0.0.0:p" can both be listed), O_NONBLOCK and
 * FD_CLOEXEC; SO_REUSEPORT only on request (SOCK_REUSEPORT: one listening
 * socket per event loop thread, the kernel spreads connections over them).
 *
 * Thread safety: no global state; every function is reentrant.
 */
#ifndef CRYPTGATE_SOCK_H
#define CRYPTGATE_SOCK_H

#include <sys/socket.h>

#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"

struct conf_addr;

/* sock_listen flags. */
#define SOCK_REUSEPORT 0x01 /* also set SO_REUSEPORT */

/* Default backlog of sock_listen (capped by net.core.somaxconn). */
#define SOCK_BACKLOG 1024

/* The longest text sock_format writes, "[IPv6%scope]:65535", with NUL. */
#define SOCK_ADDRSTRLEN 72

/**
 * sock_parse(s, defport, ss, sslen): parse the numeric address ${s} (see
 * above) into ${ss} and ${*sslen}.  Without a ":port" the port is
 * ${defport}; if ${defport} is 0 the port is required.  Return 0, or -1
 * (not logged) if ${s} is not such an address.
 */
int sock_parse(const char *s, uint16_t defport, struct sockaddr_storage *ss,
    socklen_t *sslen) CG_WUR;

/**
 * sock_format(buf, size, sa, salen): write ${sa} as "a.b.c.d:port" or
 * "[v6]:port" (a v4-mapped IPv6 address as IPv4) to ${buf} (${size}
 * bytes, SOCK_ADDRSTRLEN suffices), NUL-terminated.  Another family is
 * written as "?".  Return ${buf}, so it can be used in a log call.
 */
const char *sock_format(
    char *buf, size_t size, const struct sockaddr *sa, socklen_t salen);

/**
 * sock_listen(sa, salen, backlog, flags): a TCP socket bound to ${sa} and
 * listening with ${backlog} (0: SOCK_BACKLOG), non-blocking and
 * close-on-exec, with the options described above (${flags}:
 * SOCK_REUSEPORT).  Return the descriptor (close it with close()), or -1
 * (logged with the address).
 */
int sock_listen(
    const struct sockaddr *sa, socklen_t salen, int backlog, int flags) CG_WUR;

/**
 * sock_listen_str(s, defport, backlog, flags): sock_listen on the numeric
 * address ${s} (sock_parse with ${defport}).  Return the descriptor or
 * -1 (logged).
 */
int sock_listen_str(
    const char *s, uint16_t defport, int backlog, int flags) CG_WUR;

/**
 * sock_listen_conf(a, backlog, flags): sock_listen on the configuration
 * address ${a}; a host name (no address in ${a}) is resolved with
 * getaddrinfo() and the first result is used.  Return the descriptor or
 * -1 (logged).
 */
int sock_listen_conf(const struct conf_addr *a, int backlog, int flags) CG_WUR;

/**
 * sock_accept(lfd, ss, sslen): accept a connection on the listening socket
 * ${lfd} with accept4(), the new descriptor non-blocking and close-on-exec;
 * its peer address goes to ${ss} and ${*sslen} (both may be NULL).  Return
 * the descriptor, or -1 with errno set (EAGAIN when there is none; not
 * logged: the caller decides what is worth a message).
 */
int sock_accept(int lfd, struct sockaddr_storage *ss, socklen_t *sslen);

/** sock_set_nonblock(fd): set O_NONBLOCK on ${fd}.  Return 0 or -1 (logged). */
int sock_set_nonblock(int fd) CG_WUR;

/** sock_set_cloexec(fd): set FD_CLOEXEC on ${fd}.  Return 0 or -1 (logged). */
int sock_set_cloexec(int fd) CG_WUR;

/**
 * sock_set_nodelay(fd): set TCP_NODELAY on the TCP socket ${fd} (answers
 * written in one piece leave at once).  Return 0 or -1 (not logged).
 */
int sock_set_nodelay(int fd);

/**
 * sock_local(fd, ss, sslen): the local address of the socket ${fd}
 * (getsockname), e.g. to learn the port the kernel chose for port 0.
 * Return 0 or -1 (logged).
 */
int sock_local(int fd, struct sockaddr_storage *ss, socklen_t *sslen) CG_WUR;

/* A daemon's Unix status socket (sock_unix_listen). */
struct sock_unix {
	int fd; /* -1: none */
	char path[108]; /* sizeof(sun_path) */
	unsigned long ino; /* the socket file's inode, to remove only ours */
};

/**
 * sock_unix_listen(su, path, what): listen on the Unix socket ${path}
 * (mode 0660, non-blocking, close-on-exec; its directory created 0755 if
 * missing), replacing a stale socket file but not one that another
 * process still answers on.  ${what} names the daemon in messages
 * ("another WHAT answers there").  On failure ${su}->fd is -1: logged as
 * a warning, the daemon goes on without it.  Return 0 or -1.
 */
int sock_unix_listen(struct sock_unix *su, const char *path, const char *what);

/**
 * sock_unix_close(su): close ${su} and remove its file if it is still
 * ours (a newer daemon may have replaced it).  fd -1: no-op.
 */
void sock_unix_close(struct sock_unix *su);

#endif /* !CRYPTGATE_SOCK_H */
