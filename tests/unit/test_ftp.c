/*
 * test_ftp.c: the FTP control-channel parser (src/gatewayd/ftp.c): line
 * reassembly, PORT/EPRT/EPSV classification, 227/229 replies, multi-line
 * replies (RFC 959 section 4.2), the pending-command FIFO and the
 * formatters.  Cases from /work/shared/research/ftp.md sections 3 and 4.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <string.h>

/* NOLINTNEXTLINE(bugprone-suspicious-include): tested on its own. */
#include "../../src/gatewayd/ftp.c"

/* Helpers. */

static struct ftp_cmd
cmd_n(const char *s, size_t n)
{
	struct ftp_cmd c;

	memset(&c, 0xa5, sizeof(c));
	ftp_parse_command(s, n, &c);
	return (c);
}

static struct ftp_cmd
cmd(const char *s)
{
	return (cmd_n(s, strlen(s)));
}

static void
assert_kind(const char *s, enum ftp_cmd_kind kind)
{
	struct ftp_cmd c = cmd(s);

	if (c.kind != kind)
		fail_msg("\"%s\": kind %d, want %d", s, (int)c.kind, (int)kind);
}

static void
assert_v4(const struct ftp_hostport *hp, const char *ip, uint16_t port)
{
	uint8_t a[4];

	assert_int_equal(inet_pton(AF_INET, ip, a), 1);
	assert_int_equal(hp->family, AF_INET);
	assert_memory_equal(hp->addr, a, 4);
	assert_int_equal(hp->port, port);
}

static void
assert_v6(const struct ftp_hostport *hp, const char *ip, uint16_t port)
{
	uint8_t a[16];

	assert_int_equal(inet_pton(AF_INET6, ip, a), 1);
	assert_int_equal(hp->family, AF_INET6);
	assert_memory_equal(hp->addr, a, 16);
	assert_int_equal(hp->port, port);
}

static struct ftp_reply
reply(struct ftp_ctl *f, const char *s)
{
	struct ftp_reply r;

	memset(&r, 0xa5, sizeof(r));
	ftp_reply(f, s, strlen(s), &r);
	return (r);
}

static void
send_cmd(struct ftp_ctl *f, const char *s, enum ftp_cmd_kind kind)
{
	struct ftp_cmd c;

	ftp_command(f, s, strlen(s), &c);
	assert_int_equal(c.kind, kind);
}

/* Line reassembly. */

/* Feed ${in} in pieces of ${chunk} bytes; collect lines joined by '|'. */
static void
feed(const char *in, size_t chunk, char *out, size_t outsize)
{
	struct ftp_ctl f;
	const char *line;
	size_t n = strlen(in), off = 0, used, ll, olen = 0, take;
	int rc;

	ftp_init(&f);
	out[0] = '\0';
	while (off < n) {
		take = n - off < chunk ? n - off : chunk;
		rc = ftp_line_next(&f, FTP_C2S, (const uint8_t *)in + off, take,
		    &used, &line, &ll);
		assert_true(used <= take);
		off += used;
		assert_int_not_equal(rc, -1);
		if (rc == 0) {
			assert_int_equal(used, take);
			continue;
		}
		assert_true(ll > 0 && line[ll - 1] == '\n');
		assert_null(memchr(line, '\n', ll - 1));
		assert_true(olen + ll + 2 < outsize);
		memcpy(out + olen, line, ll);
		olen += ll;
		out[olen++] = '|';
		out[olen] = '\0';
		assert_int_equal(ftp_line_pending(&f, FTP_C2S), 0);
	}
}

static void
test_lines_split(void **state)
{
	const char *in = "USER anonymous\r\nPASS x\nPORT 127,0,0,1,195,80\r\n"
	                 "LIST\r\nQUIT";
	const char *want = "USER anonymous\r\n|PASS x\n|"
	                   "PORT 127,0,0,1,195,80\r\n|LIST\r\n|";
	char out[256];
	size_t chunk;

	(void)state;
	/* Every chunk size 1..len: every split position is a chunk edge. */
	for (chunk = 1; chunk <= strlen(in) + 1; chunk++) {
		feed(in, chunk, out, sizeof(out));
		assert_string_equal(out, want);
	}
}

static void
test_lines_split_points(void **state)
{
	const char *in = "PASV\r\n227 x\r\n";
	struct ftp_ctl f;
	const char *line;
	size_t cut, used, ll, n = strlen(in);
	int rc;

	(void)state;
	for (cut = 0; cut <= n; cut++) {
		ftp_init(&f);
		rc = ftp_line_next(
		    &f, FTP_S2C, (const uint8_t *)in, cut, &used, &line, &ll);
		if (cut < 6) {
			assert_int_equal(rc, 0);
			assert_int_equal(used, cut);
			assert_int_equal(ftp_line_pending(&f, FTP_S2C), cut);
			assert_int_equal(ftp_line_pending(&f, FTP_C2S), 0);
			rc = ftp_line_next(&f, FTP_S2C,
			    (const uint8_t *)in + cut, n - cut, &used, &line,
			    &ll);
			assert_int_equal(used, 6 - cut);
		} else {
			assert_int_equal(used, 6);
		}
		assert_int_equal(rc, 1);
		assert_int_equal(ll, 6);
		assert_memory_equal(line, "PASV\r\n", 6);
	}
}

static void
test_lines_max(void **state)
{
	static uint8_t big[FTP_LINE_MAX + 8];
	struct ftp_ctl f;
	const char *line;
	size_t used, ll;

	(void)state;
	memset(big, 'A', sizeof(big));
	/* Exactly FTP_LINE_MAX with CRLF: accepted, at once and in two. */
	big[FTP_LINE_MAX - 2] = '\r';
	big[FTP_LINE_MAX - 1] = '\n';
	ftp_init(&f);
	assert_int_equal(ftp_line_next(&f, FTP_C2S, big, FTP_LINE_MAX + 8,
	                     &used, &line, &ll),
	    1);
	assert_int_equal(used, FTP_LINE_MAX);
	assert_int_equal(ll, FTP_LINE_MAX);
	ftp_init(&f);
	assert_int_equal(ftp_line_next(&f, FTP_C2S, big, FTP_LINE_MAX - 1,
	                     &used, &line, &ll),
	    0);
	assert_int_equal(ftp_line_pending(&f, FTP_C2S), FTP_LINE_MAX - 1);
	assert_int_equal(ftp_line_next(&f, FTP_C2S, big + FTP_LINE_MAX - 1, 1,
	                     &used, &line, &ll),
	    1);
	assert_int_equal(ll, FTP_LINE_MAX);

	/* One byte more: -1, at once and split, with LF and bare LF. */
	memset(big, 'A', sizeof(big));
	big[FTP_LINE_MAX - 1] = '\r';
	big[FTP_LINE_MAX] = '\n';
	ftp_init(&f);
	assert_int_equal(ftp_line_next(&f, FTP_C2S, big, FTP_LINE_MAX + 1,
	                     &used, &line, &ll),
	    -1);
	assert_int_equal(used, FTP_LINE_MAX);
	assert_null(line);
	assert_int_equal(ftp_line_pending(&f, FTP_C2S), 0);
	ftp_init(&f);
	assert_int_equal(
	    ftp_line_next(&f, FTP_C2S, big, FTP_LINE_MAX, &used, &line, &ll),
	    0);
	assert_int_equal(ftp_line_pending(&f, FTP_C2S), FTP_LINE_MAX);
	assert_int_equal(ftp_line_next(&f, FTP_C2S, big + FTP_LINE_MAX, 1,
	                     &used, &line, &ll),
	    -1);
	assert_int_equal(used, 0);
	/* Sane after -1: the buffer is empty and the other side untouched. */
	assert_int_equal(ftp_line_pending(&f, FTP_C2S), 0);
	assert_int_equal(ftp_line_next(&f, FTP_C2S, (const uint8_t *)"NOOP\n",
	                     5, &used, &line, &ll),
	    1);
	assert_int_equal(ll, 5);
	memset(big, 'A', sizeof(big));
	big[FTP_LINE_MAX] = '\n';
	ftp_init(&f);
	assert_int_equal(ftp_line_next(&f, FTP_S2C, big, FTP_LINE_MAX + 1,
	                     &used, &line, &ll),
	    -1);
	/* A NUL byte is just a byte. */
	ftp_init(&f);
	assert_int_equal(
	    ftp_line_next(&f, FTP_S2C, (const uint8_t *)"2\0003 x\r\nrest", 11,
	        &used, &line, &ll),
	    1);
	assert_int_equal(ll, 7);
	assert_memory_equal(line, "2\0003 x\r\n", 7);
	assert_int_equal(ftp_line_next(&f, FTP_S2C, (const uint8_t *)"", 0,
	                     &used, &line, &ll),
	    0);
	assert_int_equal(used, 0);
}

/* PORT. */

static void
test_port(void **state)
{
	struct ftp_cmd c;

	(void)state;
	c = cmd("PORT 127,0,0,1,195,80\r\n");
	assert_int_equal(c.kind, FTP_CMD_PORT);
	assert_v4(&c.hp, "127.0.0.1", 50000);
	c = cmd("port 10,1,1,1,4,1");
	assert_int_equal(c.kind, FTP_CMD_PORT);
	assert_v4(&c.hp, "10.1.1.1", 1025);
	c = cmd("Port 255,255,255,255,255,255   \n");
	assert_int_equal(c.kind, FTP_CMD_PORT);
	assert_v4(&c.hp, "255.255.255.255", 65535);
	c = cmd("PORT 001,002,003,004,000,001\r\n");
	assert_int_equal(c.kind, FTP_CMD_PORT);
	assert_v4(&c.hp, "1.2.3.4", 1);
	c = cmd("  PORT 1,2,3,4,5,6\r\n");
	assert_int_equal(c.kind, FTP_CMD_PORT);
	assert_v4(&c.hp, "1.2.3.4", 1286);

	assert_kind("PORT 256,0,0,1,195,80\r\n", FTP_CMD_BADADDR);
	assert_kind("PORT 127,0,0,1,256,80\r\n", FTP_CMD_BADADDR);
	assert_kind("PORT 127,0,0,1,195,256\r\n", FTP_CMD_BADADDR);
	assert_kind("PORT 127,0,0,1,0,0\r\n", FTP_CMD_BADADDR);
	assert_kind("PORT 0127,0,0,1,195,80\r\n", FTP_CMD_BADADDR);
	assert_kind("PORT 127,0,0,1,0195,80\r\n", FTP_CMD_BADADDR);
	assert_kind("PORT +127,0,0,1,195,80\r\n", FTP_CMD_BADADDR);
	assert_kind("PORT 127,-0,0,1,195,80\r\n", FTP_CMD_BADADDR);
	assert_kind("PORT 127,0,0,1,195\r\n", FTP_CMD_BADADDR);
	assert_kind("PORT 127,0,0,1,195,\r\n", FTP_CMD_BADADDR);
	assert_kind("PORT 127,,0,1,195,80\r\n", FTP_CMD_BADADDR);
	assert_kind("PORT\r\n", FTP_CMD_BADADDR);
	assert_kind("PORT \r\n", FTP_CMD_BADADDR);
	assert_kind("PORT 127,0,0,1,195,80,1\r\n", FTP_CMD_BADADDR);
	assert_kind("PORT 127, 0,0,1,195,80\r\n", FTP_CMD_BADADDR);
	assert_kind("PORT 127 ,0,0,1,195,80\r\n", FTP_CMD_BADADDR);
	assert_kind("PORT  127,0,0,1,195,80\r\n", FTP_CMD_BADADDR);
	assert_kind("PORT\t127,0,0,1,195,80\r\n", FTP_CMD_BADADDR);
	assert_kind("PORT(127,0,0,1,195,80)\r\n", FTP_CMD_BADADDR);
	assert_kind("PORT 127,0,0,1,195,80x\r\n", FTP_CMD_BADADDR);
	assert_kind("PORT 127,0,0,1,195,80\t\r\n", FTP_CMD_BADADDR);
	/* Only "\r\n" or "\n" is a terminator: a CR more is argument. */
	assert_kind("PORT 1,2,3,4,5,6\r\r\n", FTP_CMD_BADADDR);
	assert_kind("PORT 1,2,3,4,5,6\r", FTP_CMD_BADADDR);
	assert_kind("PORTS 127,0,0,1,195,80\r\n", FTP_CMD_OTHER);
	assert_kind("XPORT 127,0,0,1,195,80\r\n", FTP_CMD_OTHER);
	assert_kind("POR\r\n", FTP_CMD_OTHER);
	/* NUL bytes: inside the argument, and after the verb. */
	c = cmd_n("PORT 127,0,0,1,195,80\0\r\n", 24);
	assert_int_equal(c.kind, FTP_CMD_BADADDR);
	assert_int_equal(c.hp.family, 0);
	c = cmd_n("PORT 127,0\0,0,1,195,80\r\n", 24);
	assert_int_equal(c.kind, FTP_CMD_BADADDR);
	c = cmd_n("PORT\0 127,0,0,1,195,80\r\n", 24);
	assert_int_equal(c.kind, FTP_CMD_BADADDR);
	c = cmd_n("PO\0RT 127,0,0,1,195,80\r\n", 24);
	assert_int_equal(c.kind, FTP_CMD_OTHER);
	/* The terminator is optional; only the given length is read. */
	c = cmd_n("PORT 127,0,0,1,195,80999", 21);
	assert_int_equal(c.kind, FTP_CMD_PORT);
	assert_v4(&c.hp, "127.0.0.1", 50000);
}

/* EPRT (RFC 2428 section 2). */

static void
test_eprt(void **state)
{
	struct ftp_cmd c;

	(void)state;
	c = cmd("EPRT |1|1.2.3.4|5000|\r\n");
	assert_int_equal(c.kind, FTP_CMD_EPRT);
	assert_v4(&c.hp, "1.2.3.4", 5000);
	c = cmd("EPRT |2|::1|5000|\r\n");
	assert_int_equal(c.kind, FTP_CMD_EPRT);
	assert_v6(&c.hp, "::1", 5000);
	c = cmd("eprt !2!2001:DB8::1:2!65535!  \n");
	assert_int_equal(c.kind, FTP_CMD_EPRT);
	assert_v6(&c.hp, "2001:db8::1:2", 65535);
	c = cmd("EPRT #1#132.235.1.2#6275#\r\n");
	assert_int_equal(c.kind, FTP_CMD_EPRT);
	assert_v4(&c.hp, "132.235.1.2", 6275);
	c = cmd("EPRT |2|::ffff:1.2.3.4|5000|\r\n");
	assert_int_equal(c.kind, FTP_CMD_EPRT);
	assert_v6(&c.hp, "::ffff:1.2.3.4", 5000);
	/* The unspecified address: the caller substitutes the peer. */
	c = cmd("EPRT |2|::|40000|\r\n");
	assert_int_equal(c.kind, FTP_CMD_EPRT);
	assert_int_equal(c.hp.family, AF_UNSPEC);
	assert_int_equal(c.hp.port, 40000);
	c = cmd("EPRT |1|0.0.0.0|40000|\r\n");
	assert_int_equal(c.kind, FTP_CMD_EPRT);
	assert_int_equal(c.hp.family, AF_UNSPEC);
	assert_int_equal(c.hp.port, 40000);

	assert_kind("EPRT |3|1.2.3.4|5000|\r\n", FTP_CMD_BADPROTO);
	assert_kind("EPRT |0|1.2.3.4|5000|\r\n", FTP_CMD_BADPROTO);
	assert_kind("EPRT |99999|x|5000|\r\n", FTP_CMD_BADPROTO);
	assert_kind("EPRT |999999|x|5000|\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT |x|1.2.3.4|5000|\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT ||1.2.3.4|5000|\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT |1!1.2.3.4!5000!\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT |1|1.2.3.4!5000|\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT |1|1.2.3.4|5000!\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT |1|1.2.3.4|5000\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT |1|1.2.3.4|5000||\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT 1|1|1.2.3.4|5000|\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT  |1|1.2.3.4|5000|\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT |1|1.2.3.4|65536|\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT |1|1.2.3.4|0|\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT |1|1.2.3.4|000000|\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT |1|1.2.3.4||\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT |1|1.2.3.4|-1|\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT |1|1.2.3.256|5000|\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT |1|1.2.3|5000|\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT |1|1.2.3.4.5|5000|\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT |1|::1|5000|\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT |2|1.2.3.4|5000|\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT |2|::g|5000|\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT |2|1:2:3:4:5:6:7:8:9|5000|\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT |2|fe80::1%eth0|5000|\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT |2|[::1]|5000|\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT |2||5000|\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT 1121.2.3.4150001\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT  \r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT\r\n", FTP_CMD_BADADDR);
	assert_kind("EPRT \x7f"
	            "1\x7f"
	            "1.2.3.4\x7f"
	            "5000\x7f\r\n",
	    FTP_CMD_BADADDR);
	assert_kind("EPRT ~1~1.2.3.4~5000~\r\n", FTP_CMD_EPRT);
	c = cmd_n("EPRT |2|::1\0|5000|\r\n", 19);
	assert_int_equal(c.kind, FTP_CMD_BADADDR);
	assert_int_equal(c.hp.family, 0);
	assert_int_equal(c.hp.port, 0);
}

static void
test_pasv_epsv(void **state)
{
	struct ftp_cmd c;

	(void)state;
	assert_kind("PASV\r\n", FTP_CMD_PASV);
	assert_kind("pasv\n", FTP_CMD_PASV);
	assert_kind("PASV  \r\n", FTP_CMD_PASV);
	assert_kind("PASVX\r\n", FTP_CMD_OTHER);
	c = cmd("EPSV\r\n");
	assert_int_equal(c.kind, FTP_CMD_EPSV);
	assert_int_equal(c.epsv_proto, 0);
	c = cmd("EPSV 1\r\n");
	assert_int_equal(c.kind, FTP_CMD_EPSV);
	assert_int_equal(c.epsv_proto, 1);
	c = cmd("epsv 2 \r\n");
	assert_int_equal(c.kind, FTP_CMD_EPSV);
	assert_int_equal(c.epsv_proto, 2);
	assert_kind("EPSV 3\r\n", FTP_CMD_BADPROTO);
	assert_kind("EPSV 0\r\n", FTP_CMD_BADPROTO);
	assert_kind("EPSV 12\r\n", FTP_CMD_BADPROTO);
	assert_kind("EPSV  1\r\n", FTP_CMD_BADPROTO);
	assert_kind("EPSV ALLX\r\n", FTP_CMD_BADPROTO);
	assert_kind("EPSV ALL\r\n", FTP_CMD_EPSV_ALL);
	assert_kind("epsv all\r\n", FTP_CMD_EPSV_ALL);
	assert_kind("EpSv aLl  \n", FTP_CMD_EPSV_ALL);
	assert_kind("EPSVALL\r\n", FTP_CMD_OTHER);
	assert_kind("LPRT 4,4,127,0,0,1,2,195,80\r\n", FTP_CMD_LPRT);
	assert_kind("lpsv\r\n", FTP_CMD_LPSV);
	assert_kind("AUTH TLS\r\n", FTP_CMD_AUTH);
	assert_kind("auth ssl\r\n", FTP_CMD_AUTH);
	assert_kind("RETR PORT 1,2,3,4,5,6\r\n", FTP_CMD_OTHER);
	assert_kind("\r\n", FTP_CMD_OTHER);
	assert_kind("", FTP_CMD_OTHER);
}

/* 227 and 229 replies. */

static void
test_227(void **state)
{
	struct ftp_hostport hp;

	(void)state;
#define P227(s) ftp_parse_227(s, strlen(s), &hp)
	assert_int_equal(
	    P227("227 Entering Passive Mode (127,0,0,1,195,80).\r\n"), 0);
	assert_v4(&hp, "127.0.0.1", 50000);
	assert_int_equal(P227("227 Entering Passive Mode 10,0,0,7,4,1\r\n"), 0);
	assert_v4(&hp, "10.0.0.7", 1025);
	assert_int_equal(
	    P227("227 Entering Passive Mode. 127,0,0,1,195,80\r\n"), 0);
	assert_v4(&hp, "127.0.0.1", 50000);
	assert_int_equal(P227("227 =0,0,0,0,255,255"), 0);
	assert_v4(&hp, "0.0.0.0", 65535);
	assert_int_equal(P227("227 Logout.\r\n"), -1);
	assert_int_equal(hp.family, 0);
	assert_int_equal(
	    P227("227 Entering Passive Mode (127,0,0,1,256,80)\r\n"), -1);
	assert_int_equal(
	    P227("227 Entering Passive Mode (300,0,0,1,195,80)\r\n"), -1);
	assert_int_equal(
	    P227("227 Entering Passive Mode (127,0,0,1,0,0)\r\n"), -1);
	assert_int_equal(
	    P227("227 Entering Passive Mode (127,0,0,1,195)\r\n"), -1);
	assert_int_equal(
	    P227("227 Entering Passive Mode (127,0,0,1,195,80,1)\r\n"), -1);
	assert_int_equal(
	    P227("227 Entering Passive Mode (127,0,0,1,195,8000)\r\n"), -1);
	assert_int_equal(
	    P227("227 Entering Passive Mode (127, 0,0,1,195,80)\r\n"), -1);
	assert_int_equal(
	    P227("227-Entering Passive Mode (127,0,0,1,195,80)"), -1);
	assert_int_equal(
	    P227("229 Entering Passive Mode (127,0,0,1,195,80)"), -1);
	assert_int_equal(P227("227"), -1);
	assert_int_equal(P227("227 "), -1);
#undef P227
}

static void
test_229(void **state)
{
	uint16_t port;

	(void)state;
#define P229(s) ftp_parse_229(s, strlen(s), &port)
	assert_int_equal(
	    P229("229 Entering Extended Passive Mode (|||6446|)\r\n"), 0);
	assert_int_equal(port, 6446);
	assert_int_equal(
	    P229("229 Entering Extended Passive Mode (!!!1!)."), 0);
	assert_int_equal(port, 1);
	assert_int_equal(P229("229 x (~~~65535~)\n"), 0);
	assert_int_equal(port, 65535);
	assert_int_equal(P229("229 x (|!|6446|)\r\n"), -1);
	assert_int_equal(port, 0);
	assert_int_equal(P229("229 x (|||6446!)\r\n"), -1);
	assert_int_equal(P229("229 x |||6446|\r\n"), -1);
	assert_int_equal(P229("229 x (|||6446|\r\n"), -1);
	assert_int_equal(P229("229 x (|||70000|)\r\n"), -1);
	assert_int_equal(P229("229 x (|||65536|)\r\n"), -1);
	assert_int_equal(P229("229 x (|||0|)\r\n"), -1);
	assert_int_equal(P229("229 x (||||)\r\n"), -1);
	assert_int_equal(P229("229 x (111644461)\r\n"), -1);
	assert_int_equal(P229("229 x (   6446 )\r\n"), -1);
	assert_int_equal(P229("229 x (|1|1.2.3.4|6446|)\r\n"), -1);
	assert_int_equal(P229("227 x (|||6446|)\r\n"), -1);
	assert_int_equal(P229("229"), -1);
#undef P229
}

/* Multi-line replies (RFC 959 section 4.2). */

static void
test_multiline(void **state)
{
	struct ftp_ctl f;
	struct ftp_reply r;

	(void)state;
	ftp_init(&f);
	send_cmd(&f, "FEAT\r\n", FTP_CMD_OTHER);
	r = reply(&f, "211-Features:\r\n");
	assert_int_equal(r.code, 211);
	assert_false(r.final);
	assert_false(r.answers);
	r = reply(&f, " EPRT\r\n");
	assert_int_equal(r.code, 0);
	assert_false(r.final);
	r = reply(&f, " EPSV\r\n");
	assert_false(r.final);
	assert_int_equal(f.pcount, 1);
	r = reply(&f, "211 End\r\n");
	assert_int_equal(r.code, 211);
	assert_true(r.final);
	assert_true(r.answers);
	assert_int_equal(r.cmd, FTP_CMD_OTHER);
	assert_int_equal(f.pcount, 0);

	/* A 227 inside a 230- reply: not final, pops nothing. */
	send_cmd(&f, "PASS x\r\n", FTP_CMD_OTHER);
	send_cmd(&f, "PASV\r\n", FTP_CMD_PASV);
	r = reply(&f, "230-Welcome\r\n");
	assert_int_equal(r.code, 230);
	assert_false(r.final);
	r = reply(&f, "227 fake (1,2,3,4,5,6)\r\n");
	assert_int_equal(r.code, 0);
	assert_false(r.final);
	assert_false(r.answers);
	r = reply(&f, "231 x\r\n");
	assert_false(r.final);
	r = reply(&f, "230-more\r\n");
	assert_false(r.final);
	r = reply(&f, "2300 x\r\n");
	assert_false(r.final);
	assert_int_equal(f.pcount, 2);
	r = reply(&f, "230 Login successful.\r\n");
	assert_true(r.final);
	assert_int_equal(r.code, 230);
	assert_int_equal(r.cmd, FTP_CMD_OTHER);
	r = reply(&f, "227 Entering Passive Mode (127,0,0,1,195,80).\r\n");
	assert_true(r.final);
	assert_true(r.answers);
	assert_int_equal(r.cmd, FTP_CMD_PASV);
	assert_int_equal(f.pcount, 0);

	/* "230-" then "230 " ends it at once; bare "ddd" is final too. */
	send_cmd(&f, "NOOP\r\n", FTP_CMD_OTHER);
	assert_false(reply(&f, "230-\r\n").final);
	assert_true(reply(&f, "230 \r\n").final);
	send_cmd(&f, "NOOP\r\n", FTP_CMD_OTHER);
	r = reply(&f, "200\r\n");
	assert_true(r.final);
	assert_true(r.answers);

	/* Not reply lines: code 0, act on nothing. */
	send_cmd(&f, "NOOP\r\n", FTP_CMD_OTHER);
	assert_int_equal(reply(&f, "hello\r\n").code, 0);
	assert_int_equal(reply(&f, "20\r\n").code, 0);
	assert_int_equal(reply(&f, "600 x\r\n").code, 0);
	assert_int_equal(reply(&f, "099 x\r\n").code, 0);
	assert_int_equal(reply(&f, "2000 x\r\n").code, 0);
	assert_int_equal(reply(&f, "200x\r\n").code, 0);
	assert_int_equal(reply(&f, "").code, 0);
	assert_int_equal(f.pcount, 1);
	assert_true(reply(&f, "200 ok\n").answers);
	/* A final reply with nothing pending. */
	r = reply(&f, "421 Timeout.\r\n");
	assert_true(r.final);
	assert_false(r.answers);
	assert_int_equal(r.cmd, FTP_CMD_OTHER);
}

/* The pending-command FIFO. */

static void
test_fifo(void **state)
{
	struct ftp_ctl f;
	struct ftp_reply r;
	char line[32];
	int i;

	(void)state;
	ftp_init(&f);
	r = reply(&f, "220 hello\r\n");
	assert_true(r.final);
	assert_false(r.answers);
	/* Pipelined PASV, LIST. */
	send_cmd(&f, "PASV\r\n", FTP_CMD_PASV);
	send_cmd(&f, "LIST\r\n", FTP_CMD_OTHER);
	r = reply(&f, "227 Entering Passive Mode (127,0,0,1,195,80).\r\n");
	assert_true(r.answers);
	assert_int_equal(r.cmd, FTP_CMD_PASV);
	r = reply(&f, "150 Here comes the directory listing.\r\n");
	assert_true(r.final);
	assert_int_equal(r.code, 150);
	assert_false(r.answers);
	assert_int_equal(f.pcount, 1);
	r = reply(&f, "226 Directory send OK.\r\n");
	assert_true(r.answers);
	assert_int_equal(r.cmd, FTP_CMD_OTHER);
	assert_int_equal(f.pcount, 0);

	/* EPSV ALL: a 5xx leaves it off, a 2xx turns it on. */
	send_cmd(&f, "EPSV ALL\r\n", FTP_CMD_EPSV_ALL);
	r = reply(&f, "500 no\r\n");
	assert_int_equal(r.cmd, FTP_CMD_EPSV_ALL);
	assert_false(f.epsv_all);
	send_cmd(&f, "EPSV ALL\r\n", FTP_CMD_EPSV_ALL);
	r = reply(&f, "200 EPSV ALL ok.\r\n");
	assert_int_equal(r.cmd, FTP_CMD_EPSV_ALL);
	assert_true(f.epsv_all);

	/* A command refused locally is taken back. */
	ftp_init(&f);
	send_cmd(&f, "EPSV\r\n", FTP_CMD_EPSV);
	send_cmd(&f, "LPRT 4,4,1,2,3,4,2,1,1\r\n", FTP_CMD_LPRT);
	ftp_command_unsend(&f);
	send_cmd(&f, "PORT 1,2,3,4,0,0\r\n", FTP_CMD_BADADDR);
	ftp_command_unsend(&f);
	assert_int_equal(f.pcount, 1);
	r = reply(&f, "229 Entering Extended Passive Mode (|||6446|)\r\n");
	assert_int_equal(r.cmd, FTP_CMD_EPSV);
	assert_int_equal(f.pcount, 0);
	ftp_command_unsend(&f);
	assert_int_equal(f.pcount, 0);

	/* Overflow: the oldest is forgotten, the order kept. */
	ftp_init(&f);
	send_cmd(&f, "PASV\r\n", FTP_CMD_PASV);
	for (i = 0; i < FTP_PENDING_MAX - 1; i++)
		send_cmd(&f, "NOOP\r\n", FTP_CMD_OTHER);
	assert_int_equal(f.pcount, FTP_PENDING_MAX);
	send_cmd(&f, "EPSV 2\r\n", FTP_CMD_EPSV);
	assert_int_equal(f.pcount, FTP_PENDING_MAX);
	for (i = 0; i < FTP_PENDING_MAX - 1; i++) {
		snprintf(line, sizeof(line), "200 n%d\r\n", i);
		r = reply(&f, line);
		assert_true(r.answers);
		assert_int_equal(r.cmd, FTP_CMD_OTHER);
	}
	r = reply(&f, "229 (|||1|)\r\n");
	assert_int_equal(r.cmd, FTP_CMD_EPSV);
	r = reply(&f, "200 x\r\n");
	assert_false(r.answers);
	assert_int_equal(f.pcount, 0);
}

/* Formatting. */

/*
 * Telnet commands inside a line: servers that strip them (BSD ftpd,
 * inetutils, wu-ftpd, ProFTPD) would see PORT in "P<IAC NOP>ORT"; white
 * space before the verb is skipped by some servers too.
 */
static void
test_telnet(void **state)
{
	struct ftp_cmd c;

	(void)state;
	assert_kind("P\xff\xf1ORT 127,0,0,1,100,100\r\n", FTP_CMD_BADTELNET);
	assert_kind("E\xff\xf1"
	            "PSV ALL\r\n",
	    FTP_CMD_BADTELNET);
	assert_kind("\xff\xfb\x01"
	            "AUTH TLS\r\n",
	    FTP_CMD_BADTELNET);
	assert_kind("STOR a\xff\r\n", FTP_CMD_BADTELNET);
	/* IAC IAC is an escaped 0xff byte: fine. */
	assert_kind("STOR a\xff\xff"
	            "b\r\n",
	    FTP_CMD_OTHER);
	/* The ABOR Synch before the verb is skipped. */
	assert_kind("\xff\xf4\xff\xf2"
	            "ABOR\r\n",
	    FTP_CMD_OTHER);
	c = cmd("\xff\xf4\xff\xf2"
	        "PORT 1,2,3,4,5,6\r\n");
	assert_int_equal(c.kind, FTP_CMD_PORT);
	/* Leading white space of any kind. */
	assert_kind("\tPORT 127,0,0,9,100,100\r\n", FTP_CMD_PORT);
	assert_kind(" \v\fPASV\r\n", FTP_CMD_PASV);
	assert_kind("\tLPRT 4,4,1,2,3,4,2,1,1\r\n", FTP_CMD_LPRT);
	assert_kind("\tauth tls\r\n", FTP_CMD_AUTH);
}

/* A client that sends USER before the greeting: the 220 answers nothing. */
static void
test_greeting(void **state)
{
	struct ftp_ctl f;
	struct ftp_reply r;

	(void)state;
	ftp_init(&f);
	ftp_expect_greeting(&f);
	send_cmd(&f, "USER anonymous\r\n", FTP_CMD_OTHER);
	send_cmd(&f, "PASV\r\n", FTP_CMD_PASV);
	r = reply(&f, "120 wait\r\n");
	assert_false(r.answers);
	r = reply(&f, "220-multi\r\n");
	assert_false(r.final);
	r = reply(&f, "220 hello\r\n");
	assert_true(r.final);
	assert_false(r.answers);
	assert_int_equal(f.pcount, 2);
	r = reply(&f, "331 password\r\n");
	assert_true(r.answers);
	assert_int_equal(r.cmd, FTP_CMD_OTHER);
	r = reply(&f, "227 Entering Passive Mode (127,0,0,1,195,80).\r\n");
	assert_true(r.answers);
	assert_int_equal(r.cmd, FTP_CMD_PASV);
	assert_int_equal(f.pcount, 0);
}

static void
test_fmt(void **state)
{
	struct ftp_hostport hp;
	struct ftp_cmd c;
	char buf[FTP_FMT_MAX];
	char text[300];
	size_t n;

	(void)state;
	memset(&hp, 0, sizeof(hp));
	hp.family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, "127.0.0.1", hp.addr), 1);
	hp.port = 50000;
	n = ftp_fmt_port(buf, sizeof(buf), &hp);
	assert_string_equal(buf, "PORT 127,0,0,1,195,80\r\n");
	assert_int_equal(n, strlen(buf));
	n = ftp_fmt_eprt(buf, sizeof(buf), &hp);
	assert_string_equal(buf, "EPRT |1|127.0.0.1|50000|\r\n");
	assert_int_equal(n, strlen(buf));
	n = ftp_fmt_227(buf, sizeof(buf), &hp);
	assert_string_equal(
	    buf, "227 Entering Passive Mode (127,0,0,1,195,80).\r\n");
	assert_int_equal(n, strlen(buf));
	hp.port = 65535;
	assert_int_equal(ftp_fmt_227(buf, sizeof(buf), &hp), 48);
	assert_string_equal(
	    buf, "227 Entering Passive Mode (127,0,0,1,255,255).\r\n");
	ftp_fmt_port(buf, sizeof(buf), &hp);
	assert_string_equal(buf, "PORT 127,0,0,1,255,255\r\n");
	n = ftp_fmt_229(buf, sizeof(buf), 65535);
	assert_string_equal(
	    buf, "229 Entering Extended Passive Mode (|||65535|).\r\n");
	assert_int_equal(n, strlen(buf));
	ftp_fmt_229(buf, sizeof(buf), 6446);
	assert_string_equal(
	    buf, "229 Entering Extended Passive Mode (|||6446|).\r\n");

	/* IPv6 EPRT in inet_ntop form, and it parses back. */
	hp.family = AF_INET6;
	assert_int_equal(
	    inet_pton(AF_INET6, "2001:0db8:0:0:0:0:0:0001", hp.addr), 1);
	hp.port = 65535;
	n = ftp_fmt_eprt(buf, sizeof(buf), &hp);
	assert_int_equal(n, 28);
	assert_string_equal(buf, "EPRT |2|2001:db8::1|65535|\r\n");
	c = cmd(buf);
	assert_int_equal(c.kind, FTP_CMD_EPRT);
	assert_v6(&c.hp, "2001:db8::1", 65535);
	assert_int_equal(
	    inet_pton(
	        AF_INET6, "1111:2222:3333:4444:5555:6666:7777:8888", hp.addr),
	    1);
	n = ftp_fmt_eprt(buf, sizeof(buf), &hp);
	assert_true(n < FTP_FMT_MAX);
	assert_string_equal(
	    buf, "EPRT |2|1111:2222:3333:4444:5555:6666:7777:8888|65535|\r\n");
	/* Not IPv4: 227 and PORT say 0,0,0,0. */
	ftp_fmt_227(buf, sizeof(buf), &hp);
	assert_string_equal(
	    buf, "227 Entering Passive Mode (0,0,0,0,255,255).\r\n");

	/* Replies. */
	n = ftp_fmt_reply(buf, sizeof(buf), 500, "Illegal PORT command.");
	assert_string_equal(buf, "500 Illegal PORT command.\r\n");
	assert_int_equal(n, strlen(buf));
	ftp_fmt_reply(buf, sizeof(buf), 502, "");
	assert_string_equal(buf, "502 \r\n");
	ftp_fmt_reply(buf, sizeof(buf), 501, "a\r\n230 injected");
	assert_string_equal(buf, "501 a\r\n");
	ftp_fmt_reply(buf, sizeof(buf), 42, "x");
	assert_string_equal(buf, "500 x\r\n");
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	n = ftp_fmt_reply(buf, sizeof(buf), 421, text);
	assert_int_equal(n, FTP_FMT_MAX - 1);
	assert_int_equal(strlen(buf), FTP_FMT_MAX - 1);
	assert_memory_equal(buf, "421 xxx", 7);
	assert_memory_equal(buf + n - 3, "x\r\n", 3);
	n = ftp_fmt_reply(buf, 10, 421, text);
	assert_int_equal(n, 9);
	assert_string_equal(buf, "421 xxx\r\n");
	n = ftp_fmt_reply(buf, 7, 421, text);
	assert_int_equal(n, 6);
	assert_string_equal(buf, "421 \r\n");
	assert_int_equal(ftp_fmt_reply(buf, 6, 421, text), 0);
	assert_string_equal(buf, "");
	/* Too small for the line: 0 and an empty string. */
	assert_int_equal(ftp_fmt_229(buf, 10, 6446), 0);
	assert_string_equal(buf, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_split),
		cmocka_unit_test(test_lines_split_points),
		cmocka_unit_test(test_lines_max),
		cmocka_unit_test(test_port),
		cmocka_unit_test(test_eprt),
		cmocka_unit_test(test_pasv_epsv),
		cmocka_unit_test(test_227),
		cmocka_unit_test(test_229),
		cmocka_unit_test(test_multiline),
		cmocka_unit_test(test_fifo),
		cmocka_unit_test(test_greeting),
		cmocka_unit_test(test_telnet),
		cmocka_unit_test(test_fmt),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
