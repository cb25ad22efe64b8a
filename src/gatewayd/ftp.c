/*
 * ftp.c: the FTP control channel as the gateways see it: line
 * reassembly, command classification (PORT, EPRT, PASV, EPSV, ...), the
 * multi-line reply parser (RFC 959 section 4.2), the FIFO that matches
 * replies to pipelined commands, and the 227/229 parsers (RFC 1123
 * section 4.1.2.6, RFC 2428 section 3).  Pure: no I/O, no allocation, so
 * that it can be unit-tested and fuzzed on its own (fuzz/fuzz_ftp.c).
 *
 * Everything here reads peer input: every number is bounded in digits
 * before it is converted, and every address ends in a fixed-size buffer.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ftp.h"

/* Longest IPv6 text EPRT may carry (INET6_ADDRSTRLEN without NUL). */
#define FTP_V6TEXT_MAX 45

void
ftp_expect_greeting(struct ftp_ctl *f)
{
	f->await_greeting = true;
}

void
ftp_init(struct ftp_ctl *f)
{
	memset(f, 0, sizeof(*f));
}

/* Line reassembly. */

/* A line returned by ftp_line_next stays in the buffer until the next
   call; such a buffer ends in LF, an incomplete one never holds an LF. */
static bool
lb_complete(const struct ftp_linebuf *lb)
{
	return (lb->len > 0 && lb->buf[lb->len - 1] == '\n');
}

int
ftp_line_next(struct ftp_ctl *f, enum ftp_dir dir, const uint8_t *p, size_t n,
    size_t *used, const char **line, size_t *linelen)
{
	struct ftp_linebuf *lb = &f->lb[dir == FTP_S2C ? 1 : 0];
	const uint8_t *lf;
	size_t room, k;

	*used = 0;
	*line = NULL;
	*linelen = 0;
	if (lb_complete(lb))
		lb->len = 0;
	room = FTP_LINE_MAX - lb->len;
	k = n < room ? n : room;
	if ((lf = memchr(p, '\n', k)) != NULL) {
		k = (size_t)(lf - p) + 1;
		memcpy(lb->buf + lb->len, p, k);
		lb->len += k;
		*used = k;
		*line = lb->buf;
		*linelen = lb->len;
		return (1);
	}
	if (k > 0)
		memcpy(lb->buf + lb->len, p, k);
	*used = k;
	if (k == n) {
		lb->len += k;
		return (0);
	}

	/* More bytes than fit and no LF among them: the line is too long. */
	lb->len = 0;
	return (-1);
}

size_t
ftp_line_pending(const struct ftp_ctl *f, enum ftp_dir dir)
{
	const struct ftp_linebuf *lb = &f->lb[dir == FTP_S2C ? 1 : 0];

	return (lb_complete(lb) ? 0 : lb->len);
}

/* Small scanners.  Each works on [*p, end) and advances *p. */

static bool
is_digit(char c)
{
	return (c >= '0' && c <= '9');
}

static bool
is_alpha(char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'));
}

/* Drop the line terminator, "\r\n" or "\n", if there is one. */
static size_t
strip_eol(const char *line, size_t len)
{
	if (len == 0 || line[len - 1] != '\n')
		return (len);
	len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	return (len);
}

/*
 * Read a decimal number of 1..${maxdig} digits and at most ${max}; leave
 * *p after it.  Return 0 or -1.
 */
static int
scan_num(const char **p, const char *end, size_t maxdig, unsigned long max,
    unsigned long *v)
{
	const char *s = *p;
	unsigned long x = 0;
	size_t i;

	for (i = 0; s + i < end && is_digit(s[i]); i++) {
		if (i == maxdig)
			return (-1);
		x = x * 10 + (unsigned long)(s[i] - '0');
	}
	if (i == 0 || x > max)
		return (-1);
	*p = s + i;
	*v = x;
	return (0);
}

/*
 * Read ${cnt} numbers 0..255 of at most 3 digits separated by ${sep} into
 * ${out}; leave *p after the last one.  Return 0 or -1.
 */
static int
scan_bytes(const char **p, const char *end, char sep, uint8_t *out, size_t cnt)
{
	unsigned long v;
	size_t i;

	for (i = 0; i < cnt; i++) {
		if (i > 0) {
			if (*p >= end || **p != sep)
				return (-1);
			(*p)++;
		}
		if (scan_num(p, end, 3, 255, &v) != 0)
			return (-1);
		out[i] = (uint8_t)v;
	}
	return (0);
}

/* Case-insensitive compare of ${n} bytes against the upper-case ${up}. */
static bool
eq_upper(const char *s, const char *up, size_t n)
{
	size_t i;
	char c;

	for (i = 0; i < n; i++) {
		c = s[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c != up[i])
			return (false);
	}
	return (true);
}

static bool
all_zero(const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return (false);
	return (true);
}

/* Commands. */

/* PORT h1,h2,h3,h4,p1,p2 (RFC 959 section 4.1.2). */
static enum ftp_cmd_kind
parse_port(const char *a, const char *end, struct ftp_hostport *hp)
{
	uint8_t b[6];

	if (scan_bytes(&a, end, ',', b, 6) != 0 || a != end)
		return (FTP_CMD_BADADDR);
	hp->family = AF_INET;
	memcpy(hp->addr, b, 4);
	hp->port = (uint16_t)(b[4] << 8 | b[5]);
	if (hp->port == 0)
		return (FTP_CMD_BADADDR);
	return (FTP_CMD_PORT);
}

/* An EPRT/229 delimiter: RFC 2428 says 33..126; digits are refused, as
   nf_conntrack_ftp does, since they would make the fields ambiguous. */
static bool
is_delim(char d)
{
	return (d >= 33 && d <= 126 && !is_digit(d));
}

/* The IPv6 text ${s} (${n} bytes) into ${addr}.  Return 0 or -1. */
static int
parse_v6(const char *s, size_t n, uint8_t addr[static 16])
{
	char txt[FTP_V6TEXT_MAX + 1];
	size_t i;

	if (n < 2 || n > FTP_V6TEXT_MAX)
		return (-1);
	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]) && !(s[i] >= 'a' && s[i] <= 'f') &&
		    !(s[i] >= 'A' && s[i] <= 'F') && s[i] != ':' && s[i] != '.')
			return (-1);
	}
	memcpy(txt, s, n);
	txt[n] = '\0';
	if (inet_pton(AF_INET6, txt, addr) != 1)
		return (-1);
	return (0);
}

/* EPRT <d>af<d>addr<d>port<d> (RFC 2428 section 2). */
static enum ftp_cmd_kind
parse_eprt(const char *a, const char *end, struct ftp_hostport *hp)
{
	const char *fld[3], *fend[3], *q;
	unsigned long af, port;
	char d;
	size_t i;

	if (a >= end || !is_delim(*a))
		return (FTP_CMD_BADADDR);
	d = *a++;
	for (i = 0; i < 3; i++) {
		if ((q = memchr(a, d, (size_t)(end - a))) == NULL)
			return (FTP_CMD_BADADDR);
		fld[i] = a;
		fend[i] = q;
		a = q + 1;
	}
	if (a != end)
		return (FTP_CMD_BADADDR);

	/* Family: a number; one we do not know is a protocol error (522). */
	q = fld[0];
	if (scan_num(&q, fend[0], 5, 99999, &af) != 0 || q != fend[0])
		return (FTP_CMD_BADADDR);
	if (af != 1 && af != 2)
		return (FTP_CMD_BADPROTO);

	q = fld[2];
	if (scan_num(&q, fend[2], 5, 65535, &port) != 0 || q != fend[2] ||
	    port == 0)
		return (FTP_CMD_BADADDR);
	hp->port = (uint16_t)port;

	if (af == 1) {
		q = fld[1];
		if (scan_bytes(&q, fend[1], '.', hp->addr, 4) != 0 ||
		    q != fend[1])
			return (FTP_CMD_BADADDR);
		hp->family = all_zero(hp->addr, 4) ? AF_UNSPEC : AF_INET;
	} else {
		if (parse_v6(fld[1], (size_t)(fend[1] - fld[1]), hp->addr) != 0)
			return (FTP_CMD_BADADDR);
		hp->family = all_zero(hp->addr, 16) ? AF_UNSPEC : AF_INET6;
	}
	return (FTP_CMD_EPRT);
}

/* EPSV, EPSV 1, EPSV 2, EPSV ALL (RFC 2428 section 3, 4). */
static enum ftp_cmd_kind
parse_epsv(const char *a, const char *end, struct ftp_cmd *cmd)
{
	size_t n = (size_t)(end - a);

	if (n == 0)
		return (FTP_CMD_EPSV);
	if (n == 1 && (*a == '1' || *a == '2')) {
		cmd->epsv_proto = *a - '0';
		return (FTP_CMD_EPSV);
	}
	if (n == 3 && eq_upper(a, "ALL", 3))
		return (FTP_CMD_EPSV_ALL);
	return (FTP_CMD_BADPROTO);
}

static const struct {
	const char *verb;
	enum ftp_cmd_kind kind;
} verbs[] = {
	{ "PORT", FTP_CMD_PORT },
	{ "EPRT", FTP_CMD_EPRT },
	{ "PASV", FTP_CMD_PASV },
	{ "EPSV", FTP_CMD_EPSV },
	{ "LPRT", FTP_CMD_LPRT },
	{ "LPSV", FTP_CMD_LPSV },
	{ "AUTH", FTP_CMD_AUTH },
};

void
ftp_parse_command(const char *line, size_t len, struct ftp_cmd *cmd)
{
	const char *p, *q, *end, *verb;
	enum ftp_cmd_kind kind = FTP_CMD_OTHER;
	bool argok;
	size_t i;

	memset(cmd, 0, sizeof(*cmd));
	cmd->kind = FTP_CMD_OTHER;
	len = strip_eol(line, len);
	while (len > 0 && line[len - 1] == ' ')
		len--;
	p = line;
	end = line + len;
	/* The ABOR Synch (IAC IP, IAC DM) may come first. */
	while (end - p >= 2 && (uint8_t)p[0] == 0xff &&
	    ((uint8_t)p[1] == 0xf4 || (uint8_t)p[1] == 0xf2))
		p += 2;
	/*
	 * Servers that strip Telnet sequences (BSD ftpd, inetutils, wu-ftpd,
	 * ProFTPD) would see another verb than we do ("P<IAC NOP>ORT"):
	 * refuse any other IAC but "IAC IAC" (an escaped 0xff byte).
	 */
	for (q = p; q < end; q++) {
		if ((uint8_t)*q != 0xff)
			continue;
		if (q + 1 < end && (uint8_t)q[1] == 0xff) {
			q++;
			continue;
		}
		cmd->kind = FTP_CMD_BADTELNET;
		return;
	}
	/* Leading white space: some servers skip any, so we do too. */
	while (p < end &&
	    (*p == ' ' || *p == '\t' || *p == '\v' || *p == '\f' || *p == '\r'))
		p++;
	verb = p;
	while (p < end && is_alpha(*p))
		p++;
	if (p - verb != 4)
		return;
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (eq_upper(verb, verbs[i].verb, 4)) {
			kind = verbs[i].kind;
			break;
		}
	}
	if (kind == FTP_CMD_OTHER)
		return;

	/* The verb ends at the end, or at exactly one space before the
	   argument; anything else (TAB, NUL, a digit) is a bad argument. */
	argok = true;
	if (p < end) {
		if (*p == ' ' && p + 1 < end && p[1] != ' ')
			p++;
		else
			argok = false;
	}
	switch (kind) {
	case FTP_CMD_PORT:
		kind = argok ? parse_port(p, end, &cmd->hp) : FTP_CMD_BADADDR;
		break;
	case FTP_CMD_EPRT:
		kind = argok ? parse_eprt(p, end, &cmd->hp) : FTP_CMD_BADADDR;
		break;
	case FTP_CMD_EPSV:
		kind = argok ? parse_epsv(p, end, cmd) : FTP_CMD_BADPROTO;
		break;
	default:
		/* PASV, LPRT, LPSV, AUTH: whatever the argument. */
		break;
	}
	if (kind == FTP_CMD_BADADDR || kind == FTP_CMD_BADPROTO) {
		memset(&cmd->hp, 0, sizeof(cmd->hp));
		cmd->epsv_proto = 0;
	}
	cmd->kind = kind;
}

void
ftp_command(
    struct ftp_ctl *f, const char *line, size_t len, struct ftp_cmd *cmd)
{
	ftp_parse_command(line, len, cmd);
	if (f->pcount == FTP_PENDING_MAX) {
		/* Full: forget the oldest. */
		f->phead = (f->phead + 1) % FTP_PENDING_MAX;
		f->pcount--;
	}
	f->pending[(f->phead + f->pcount) % FTP_PENDING_MAX] = cmd->kind;
	f->pcount++;
}

void
ftp_command_unsend(struct ftp_ctl *f)
{
	if (f->pcount > 0)
		f->pcount--;
}

/* Replies (RFC 959 section 4.2). */

/* The code of a line starting with three digits, first 1..5; else 0. */
static int
reply_code(const char *line, size_t len)
{
	if (len < 3 || line[0] < '1' || line[0] > '5' || !is_digit(line[1]) ||
	    !is_digit(line[2]))
		return (0);
	return ((line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0'));
}

void
ftp_reply(struct ftp_ctl *f, const char *line, size_t len, struct ftp_reply *r)
{
	int code;

	memset(r, 0, sizeof(*r));
	r->cmd = FTP_CMD_OTHER;
	len = strip_eol(line, len);
	code = reply_code(line, len);
	if (code == 0)
		return;
	if (f->multi_code != 0) {
		/* Only "ddd " with the opening code ends it; a bare "ddd"
		   is taken as "ddd " (some servers drop the space). */
		if (code != f->multi_code || (len > 3 && line[3] != ' '))
			return;
		f->multi_code = 0;
	} else if (len > 3 && line[3] == '-') {
		f->multi_code = code;
		r->code = code;
		return;
	} else if (len > 3 && line[3] != ' ') {
		return;
	}
	r->code = code;
	r->final = true;
	if (code >= 200 && f->await_greeting) {
		/* The server's greeting (220, or 421) answers no command. */
		f->await_greeting = false;
		return;
	}
	if (code < 200 || f->pcount == 0)
		return;
	r->answers = true;
	r->cmd = f->pending[f->phead];
	f->phead = (f->phead + 1) % FTP_PENDING_MAX;
	f->pcount--;
	if (r->cmd == FTP_CMD_EPSV_ALL && code < 300)
		f->epsv_all = true;
}

/* 227 and 229 replies. */

/* Whether [line, end) starts with the 4 bytes of ${code}. */
static bool
has_code(const char *line, const char *end, const char *code)
{
	return (end - line >= 4 && memcmp(line, code, 4) == 0);
}

int
ftp_parse_227(const char *line, size_t len, struct ftp_hostport *hp)
{
	const char *p, *end;
	uint8_t b[6];

	memset(hp, 0, sizeof(*hp));
	end = line + strip_eol(line, len);
	if (!has_code(line, end, "227 "))
		return (-1);
	/* RFC 1123 section 4.1.2.6: scan for the first digit. */
	for (p = line + 4; p < end && !is_digit(*p); p++)
		;
	if (scan_bytes(&p, end, ',', b, 6) != 0)
		return (-1);
	/* A seventh number or a longer run is not this format. */
	if (p < end && (*p == ',' || is_digit(*p)))
		return (-1);
	if (b[4] == 0 && b[5] == 0)
		return (-1);
	hp->family = AF_INET;
	memcpy(hp->addr, b, 4);
	hp->port = (uint16_t)(b[4] << 8 | b[5]);
	return (0);
}

int
ftp_parse_229(const char *line, size_t len, uint16_t *port)
{
	const char *p, *end;
	unsigned long v;
	char d;

	*port = 0;
	end = line + strip_eol(line, len);
	if (!has_code(line, end, "229 "))
		return (-1);
	if ((p = memchr(line + 4, '(', (size_t)(end - line - 4))) == NULL)
		return (-1);
	p++;
	/* "(<d><d><d>port<d>)" */
	if (end - p < 6 || !is_delim(p[0]) || p[1] != p[0] || p[2] != p[0])
		return (-1);
	d = p[0];
	p += 3;
	if (scan_num(&p, end, 5, 65535, &v) != 0 || v == 0)
		return (-1);
	if (end - p < 2 || p[0] != d || p[1] != ')')
		return (-1);
	*port = (uint16_t)v;
	return (0);
}

/* Formatting. */

/* snprintf's result as our length: 0 (and an empty ${buf}) if cut. */
static size_t
fmt_len(char *buf, size_t size, int n)
{
	if (n < 0 || (size_t)n >= size) {
		if (size > 0)
			buf[0] = '\0';
		return (0);
	}
	return ((size_t)n);
}

/* The IPv4 bytes of ${hp}, or zeros if it is not IPv4. */
static const uint8_t *
v4_bytes(const struct ftp_hostport *hp)
{
	static const uint8_t zero[4];

	return (hp->family == AF_INET ? hp->addr : zero);
}

size_t
ftp_fmt_port(char *buf, size_t size, const struct ftp_hostport *hp)
{
	const uint8_t *a = v4_bytes(hp);

	return (fmt_len(buf, size,
	    snprintf(buf, size, "PORT %u,%u,%u,%u,%u,%u\r\n", a[0], a[1], a[2],
	        a[3], (unsigned)(hp->port >> 8), (unsigned)(hp->port & 0xff))));
}

size_t
ftp_fmt_eprt(char *buf, size_t size, const struct ftp_hostport *hp)
{
	char txt[INET6_ADDRSTRLEN];
	const uint8_t *a;

	if (hp->family == AF_INET6) {
		if (inet_ntop(AF_INET6, hp->addr, txt, sizeof(txt)) == NULL)
			return (fmt_len(buf, size, -1));
		return (fmt_len(buf, size,
		    snprintf(buf, size, "EPRT |2|%s|%u|\r\n", txt,
		        (unsigned)hp->port)));
	}
	a = v4_bytes(hp);
	return (fmt_len(buf, size,
	    snprintf(buf, size, "EPRT |1|%u.%u.%u.%u|%u|\r\n", a[0], a[1], a[2],
	        a[3], (unsigned)hp->port)));
}

/* A reply that does not fit is cut by snprintf and refused by fmt_len:
 * gcc's truncation warning (with a small buffer inlined) is that case. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif
size_t
ftp_fmt_227(char *buf, size_t size, const struct ftp_hostport *hp)
{
	const uint8_t *a = v4_bytes(hp);

	return (fmt_len(buf, size,
	    snprintf(buf, size,
	        "227 Entering Passive Mode (%u,%u,%u,%u,%u,%u).\r\n", a[0],
	        a[1], a[2], a[3], (unsigned)(hp->port >> 8),
	        (unsigned)(hp->port & 0xff))));
}

size_t
ftp_fmt_229(char *buf, size_t size, uint16_t port)
{
	return (fmt_len(buf, size,
	    snprintf(buf, size,
	        "229 Entering Extended Passive Mode (|||%u|).\r\n",
	        (unsigned)port)));
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

size_t
ftp_fmt_reply(char *buf, size_t size, int code, const char *text)
{
	size_t tlen, room;
	int n;

	if (code < 100 || code > 599)
		code = 500;
	/* "ddd " + CRLF + NUL */
	if (size < 7) {
		if (size > 0)
			buf[0] = '\0';
		return (0);
	}
	n = snprintf(buf, size, "%03d ", code);
	if (n != 4)
		return (fmt_len(buf, size, -1));
	/* The text ends at the first CR or LF: one reply line, no more. */
	tlen = strcspn(text, "\r\n");
	room = size - 4 - 3;
	if (tlen > room)
		tlen = room;
	memcpy(buf + 4, text, tlen);
	memcpy(buf + 4 + tlen, "\r\n", 3);
	return (4 + tlen + 2);
}
