/*
 * test_sock.c: socket helpers (sock.c): address parsing and formatting,
 * listening on IPv4 and IPv6 loopback with the expected options, accept4
 * with non-blocking close-on-exec descriptors.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cryptgate/conf.h"
#include "cryptgate/log.h"
#include "cryptgate/sock.h"

static void
roundtrip(const char *in, uint16_t defport, const char *want)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char buf[SOCK_ADDRSTRLEN];

	if (sock_parse(in, defport, &ss, &len) != 0)
		fail_msg("sock_parse(%s) failed", in);
	assert_string_equal(
	    sock_format(buf, sizeof(buf), (struct sockaddr *)&ss, len), want);
}

static void
test_parse_format(void **state)
{
	static const char *const bad[] = { "", ":", "1.2.3.4:", "1.2.3.4:00",
		"1.2.3.4:65536", "1.2.3.4:+80", "1.2.3.4:080", "1.2.3.4:8x",
		"[::1]", "[::1]:", "[::1]x", "[1.2.3.4]:80", "[::1:80",
		"example.com:80", "1.2.3:80", "::1:80:", "[]:80", " 1.2.3.4:80",
		"1.2.3.4 :80", "256.1.1.1:80", "1.2.3.4:80:90" };
	struct sockaddr_storage ss;
	socklen_t len;
	size_t i;

	(void)state;
	roundtrip("127.0.0.1:7441", 0, "127.0.0.1:7441");
	roundtrip("10.1.2.3", 99, "10.1.2.3:99");
	roundtrip("[::1]:8", 0, "[::1]:8");
	roundtrip("[2001:db8::1]", 7441, "[2001:db8::1]:7441");
	roundtrip("2001:db8::2", 5, "[2001:db8::2]:5");
	roundtrip("[::ffff:192.0.2.1]:1", 0, "192.0.2.1:1");
	roundtrip("0.0.0.0:65535", 0, "0.0.0.0:65535");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* "[::1]" and friends need a port only without a default. */
		if (sock_parse(bad[i], 0, &ss, &len) == 0)
			fail_msg("sock_parse(\"%s\") accepted", bad[i]);
	}
	assert_int_equal(sock_parse("[::1]", 1, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	/* Unknown family. */
	{
		struct sockaddr sa;
		char buf[SOCK_ADDRSTRLEN];

		memset(&sa, 0, sizeof(sa));
		sa.sa_family = AF_UNIX;
		assert_string_equal(
		    sock_format(buf, sizeof(buf), &sa, sizeof(sa)), "?");
	}
}

/* Listen on ${addr} port 0, connect, accept; check the descriptor flags. */
static void
listen_accept(const char *addr)
{
	struct sockaddr_storage ss, peer;
	socklen_t len, plen;
	struct pollfd pfd;
	int lfd, cfd, afd, v;
	socklen_t vlen = sizeof(v);

	lfd = sock_listen_str(addr, 0, 0, 0);
	if (lfd == -1 && strchr(addr, '[') != NULL) {
		/* No IPv6 here. */
		return;
	}
	assert_true(lfd >= 0);
	assert_true(fcntl(lfd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(lfd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(
	    getsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &v, &vlen), 0);
	assert_true(v != 0);
	/* Nothing pending: EAGAIN, not a block. */
	assert_int_equal(sock_accept(lfd, NULL, NULL), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);

	assert_int_equal(sock_local(lfd, &ss, &len), 0);
	assert_true(ss.ss_family == AF_INET
	        ? ((struct sockaddr_in *)&ss)->sin_port != 0
	        : ((struct sockaddr_in6 *)&ss)->sin6_port != 0);
	cfd = socket(ss.ss_family, SOCK_STREAM, 0);
	assert_true(cfd >= 0);
	assert_int_equal(connect(cfd, (struct sockaddr *)&ss, len), 0);
	pfd.fd = lfd;
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	afd = sock_accept(lfd, &peer, &plen);
	assert_true(afd >= 0);
	assert_int_equal(peer.ss_family, ss.ss_family);
	assert_true(fcntl(afd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(afd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(sock_set_nodelay(afd), 0);
	close(afd);
	close(cfd);

	/* A second socket on the same port fails (no SO_REUSEPORT). */
	assert_int_equal(sock_listen((struct sockaddr *)&ss, len, 0, 0), -1);
	close(lfd);
}

static void
test_listen(void **state)
{
	int fd, fd2;
	struct sockaddr_storage ss;
	socklen_t len;

	(void)state;
	listen_accept("127.0.0.1:0");
	listen_accept("[::1]:0");
	/* Not an address. */
	assert_int_equal(sock_listen_str("localhost:80", 0, 0, 0), -1);
	/* SO_REUSEPORT: two sockets share a port. */
	fd = sock_listen_str("127.0.0.1:0", 0, 0, SOCK_REUSEPORT);
	assert_true(fd >= 0);
	assert_int_equal(sock_local(fd, &ss, &len), 0);
	fd2 = sock_listen((struct sockaddr *)&ss, len, 0, SOCK_REUSEPORT);
	assert_true(fd2 >= 0);
	close(fd2);
	close(fd);
	/* A conf address. */
	{
		struct conf_addr a;

		memset(&a, 0, sizeof(a));
		assert_int_equal(
		    sock_parse("127.0.0.1", 1, &a.ss, &a.sslen), 0);
		((struct sockaddr_in *)&a.ss)->sin_port = 0;
		a.family = AF_INET;
		fd = sock_listen_conf(&a, 0, 0);
		assert_true(fd >= 0);
		close(fd);
	}
	/* Flag helpers on a plain descriptor. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(sock_set_nonblock(fd), 0);
	assert_int_equal(sock_set_cloexec(fd), 0);
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_format),
		cmocka_unit_test(test_listen),
	};

	log_init(1, 0, LOG_USER);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
