/*
 * sock.c: TCP listening sockets, accept4, descriptor flags and socket
 * addresses as text (see sock.h).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cryptgate/conf.h"
#include "cryptgate/log.h"
#include "cryptgate/sock.h"

/* Longest numeric host part sock_parse accepts (an IPv6 address). */
#define HOSTLEN_MAX (INET6_ADDRSTRLEN - 1)

/* sock.h spells sizeof(sun_path) as 108: sock_unix_listen relies on it. */
_Static_assert(sizeof(((struct sock_unix *)0)->path) ==
        sizeof(((struct sockaddr_un *)0)->sun_path),
    "struct sock_unix's path is not a sun_path");

/*
 * Parse the decimal port ${s} (0..65535, no sign, no leading zero) into
 * ${*port}.  Return 0 or -1.
 */
static int
parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	if (strcmp(s, "0") == 0) {
		*port = 0;
		return (0);
	}
	if (s[0] == '\0' || s[0] == '0' || strlen(s) > 5)
		return (-1);
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return (-1);
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return (-1);
	*port = (uint16_t)v;
	return (0);
}

int
sock_parse(const char *s, uint16_t defport, struct sockaddr_storage *ss,
    socklen_t *sslen)
{
	char host[HOSTLEN_MAX + 1];
	const char *h, *p, *end;
	struct sockaddr_in *sin;
	struct sockaddr_in6 *sin6;
	uint16_t port = defport;
	size_t hlen;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		/* "[v6]" or "[v6]:port" */
		h = s + 1;
		if ((end = strchr(h, ']')) == NULL)
			goto err0;
		hlen = (size_t)(end - h);
		if (end[1] == ':')
			p = end + 2;
		else if (end[1] == '\0')
			p = NULL;
		else
			goto err0;
	} else if ((end = strchr(s, ':')) != NULL &&
	    strchr(end + 1, ':') == NULL) {
		/* "a.b.c.d:port" */
		h = s;
		hlen = (size_t)(end - s);
		p = end + 1;
	} else {
		/* "a.b.c.d" or a bare IPv6 address */
		h = s;
		hlen = strlen(s);
		p = NULL;
	}
	if (hlen == 0 || hlen > HOSTLEN_MAX)
		goto err0;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (p != NULL) {
		if (parse_port(p, &port))
			goto err0;
	} else if (defport == 0) {
		goto err0;
	}

	sin = (struct sockaddr_in *)ss;
	sin6 = (struct sockaddr_in6 *)ss;
	if (s[0] != '[' && inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		*sslen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*sslen = sizeof(*sin6);
	} else {
		goto err0;
	}

	/* Success! */
	return (0);

err0:
	/* Failure! */
	memset(ss, 0, sizeof(*ss));
	return (-1);
}

const char *
sock_format(char *buf, size_t size, const struct sockaddr *sa, socklen_t salen)
{
	char a[INET6_ADDRSTRLEN];
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	struct in_addr v4;

	if (size == 0)
		return (buf);
	if (sa->sa_family == AF_INET && salen >= sizeof(*sin)) {
		sin = (const struct sockaddr_in *)(const void *)sa;
		if (inet_ntop(AF_INET, &sin->sin_addr, a, sizeof(a)) == NULL)
			goto unknown;
		snprintf(buf, size, "%s:%u", a, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6 && salen >= sizeof(*sin6)) {
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			memcpy(&v4, &sin6->sin6_addr.s6_addr[12], sizeof(v4));
			if (inet_ntop(AF_INET, &v4, a, sizeof(a)) == NULL)
				goto unknown;
			snprintf(buf, size, "%s:%u", a, ntohs(sin6->sin6_port));
		} else {
			if (inet_ntop(AF_INET6, &sin6->sin6_addr, a,
			        sizeof(a)) == NULL)
				goto unknown;
			if (sin6->sin6_scope_id != 0)
				snprintf(buf, size, "[%s%%%u]:%u", a,
				    (unsigned int)sin6->sin6_scope_id,
				    ntohs(sin6->sin6_port));
			else
				snprintf(buf, size, "[%s]:%u", a,
				    ntohs(sin6->sin6_port));
		}
	} else {
		goto unknown;
	}
	return (buf);

unknown:
	snprintf(buf, size, "?");
	return (buf);
}

int
sock_listen(const struct sockaddr *sa, socklen_t salen, int backlog, int flags)
{
	char name[SOCK_ADDRSTRLEN];
	int fd, one = 1;

	sock_format(name, sizeof(name), sa, salen);
	if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) {
		log_warnx("%s: not an IPv4 or IPv6 address", name);
		goto err0;
	}
	if ((fd = socket(sa->sa_family,
	         SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("%s: socket", name);
		goto err0;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1) {
		log_warn("%s: setsockopt SO_REUSEADDR", name);
		goto err1;
	}
	if ((flags & SOCK_REUSEPORT) &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) == -1) {
		log_warn("%s: setsockopt SO_REUSEPORT", name);
		goto err1;
	}
	if (sa->sa_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) ==
	        -1) {
		log_warn("%s: setsockopt IPV6_V6ONLY", name);
		goto err1;
	}
	if (bind(fd, sa, salen) == -1) {
		log_warn("%s: bind", name);
		goto err1;
	}
	if (listen(fd, backlog > 0 ? backlog : SOCK_BACKLOG) == -1) {
		log_warn("%s: listen", name);
		goto err1;
	}

	/* Success! */
	return (fd);

err1:
	close(fd);
err0:
	/* Failure! */
	return (-1);
}

int
sock_listen_str(const char *s, uint16_t defport, int backlog, int flags)
{
	struct sockaddr_storage ss;
	socklen_t sslen;

	if (sock_parse(s, defport, &ss, &sslen)) {
		log_warnx("%s: not a numeric address%s", s,
		    defport == 0 ? " with a port" : "");
		return (-1);
	}
	return (sock_listen((struct sockaddr *)&ss, sslen, backlog, flags));
}

int
sock_listen_conf(const struct conf_addr *a, int backlog, int flags)
{
	struct addrinfo hints, *res;
	char port[8];
	int fd, rc;

	if (a->sslen > 0)
		return (sock_listen(
		    (const struct sockaddr *)&a->ss, a->sslen, backlog, flags));

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = a->family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_ADDRCONFIG;
	snprintf(port, sizeof(port), "%u", a->port);
	if ((rc = getaddrinfo(a->host, port, &hints, &res)) != 0) {
		log_warnx("%s: %s", a->host, gai_strerror(rc));
		return (-1);
	}
	fd = sock_listen(res->ai_addr, res->ai_addrlen, backlog, flags);
	freeaddrinfo(res);
	return (fd);
}

int
sock_accept(int lfd, struct sockaddr_storage *ss, socklen_t *sslen)
{
	struct sockaddr_storage dummy;
	socklen_t len = sizeof(dummy);
	int fd;

	if (ss == NULL)
		ss = &dummy;
	fd = accept4(
	    lfd, (struct sockaddr *)ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd != -1 && sslen != NULL)
		*sslen = len;
	return (fd);
}

int
sock_set_nonblock(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1) {
		log_warn("fcntl O_NONBLOCK");
		return (-1);
	}
	return (0);
}

int
sock_set_cloexec(int fd)
{
	int fl;

	if ((fl = fcntl(fd, F_GETFD)) == -1 ||
	    fcntl(fd, F_SETFD, fl | FD_CLOEXEC) == -1) {
		log_warn("fcntl FD_CLOEXEC");
		return (-1);
	}
	return (0);
}

int
sock_set_nodelay(int fd)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1)
		return (-1);
	return (0);
}

int
sock_local(int fd, struct sockaddr_storage *ss, socklen_t *sslen)
{
	socklen_t len = sizeof(*ss);

	memset(ss, 0, sizeof(*ss));
	if (getsockname(fd, (struct sockaddr *)ss, &len) == -1) {
		log_warn("getsockname");
		return (-1);
	}
	*sslen = len;
	return (0);
}

int
sock_unix_listen(struct sock_unix *su, const char *path, const char *what)
{
	struct sockaddr_un sun;
	struct stat st;
	char dir[sizeof(sun.sun_path)];
	int fd;

	su->fd = -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("status_socket %s: path too long", path);
		return (-1);
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	memcpy(dir, sun.sun_path, sizeof(dir));
	(void)mkdir(dirname(dir), 0755);
	if ((fd = socket(
	         AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		goto err0;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 ||
		    errno == EAGAIN) {
			log_warnx("status_socket %s: another %s answers there; "
			          "no status socket",
			    path, what);
			close(fd);
			return (-1);
		}
		(void)unlink(path);
		close(fd);
		if ((fd = socket(AF_UNIX,
		         SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
			goto err0;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0660) == -1 || listen(fd, 16) == -1)
		goto err1;
	su->fd = fd;
	memcpy(su->path, sun.sun_path, strlen(path) + 1);
	su->ino = lstat(path, &st) == 0 ? (unsigned long)st.st_ino : 0;

	/* Success! */
	return (0);

err1:
	close(fd);
err0:
	log_warn("status_socket %s (cryptgate status will not work)", path);
	return (-1);
}

void
sock_unix_close(struct sock_unix *su)
{
	struct stat st;

	if (su->fd == -1)
		return;
	close(su->fd);
	su->fd = -1;
	if (lstat(su->path, &st) == 0 && (unsigned long)st.st_ino == su->ino)
		(void)unlink(su->path);
}
