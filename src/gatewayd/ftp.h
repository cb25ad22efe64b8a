/*
 * ftp.h: the FTP control channel, as the gateways see it (RFC 959, RFC
 * 2428, RFC 1123 section 4.1.2.6).  Pure parsing and formatting: no I/O,
 * no allocation; the engine (ftpgw.c) does the sockets.
 *
 * Each control connection has one struct ftp_ctl.  Bytes travelling from
 * the FTP client toward the server (commands, FTP_C2S) and back (replies,
 * FTP_S2C) are cut into lines by ftp_line_next (CRLF or a bare LF ends a
 * line; a line longer than FTP_LINE_MAX is an error).  Each command line
 * goes to ftp_command, which classifies it and remembers it in a FIFO of
 * pending commands; each reply line goes to ftp_reply, which follows
 * multi-line replies and, on the final line of a complete reply (not 1xx),
 * pops the command it answers.
 */
#ifndef CRYPTGATE_GATEWAYD_FTP_H
#define CRYPTGATE_GATEWAYD_FTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptgate/cdefs.h"

/* Longest line, terminator included (OpenBSD ftp-proxy: 500). */
#define FTP_LINE_MAX 4096
/* Commands remembered while they wait for their reply. */
#define FTP_PENDING_MAX 64
/* Longest line ftp_fmt_* write, with CRLF and NUL. */
#define FTP_FMT_MAX 128

enum ftp_dir {
	FTP_C2S = 0, /* commands: FTP client toward the server */
	FTP_S2C = 1, /* replies */
};

/* An IPv4 or IPv6 address and a port, host order port. */
struct ftp_hostport {
	int family; /* AF_INET or AF_INET6; AF_UNSPEC: the address was
		       "0.0.0.0" or "::" (EPRT), the caller substitutes */
	uint8_t addr[16]; /* 4 bytes for AF_INET */
	uint16_t port;
};

enum ftp_cmd_kind {
	FTP_CMD_OTHER = 0, /* anything else: forwarded unchanged */
	FTP_CMD_PORT, /* PORT h1,h2,h3,h4,p1,p2: valid, in .hp */
	FTP_CMD_EPRT, /* EPRT |1|a.b.c.d|port| or |2|v6|port|: in .hp */
	FTP_CMD_PASV,
	FTP_CMD_EPSV, /* EPSV, EPSV 1, EPSV 2: .epsv_proto 0, 1, 2 */
	FTP_CMD_EPSV_ALL,
	FTP_CMD_LPRT, /* refused locally */
	FTP_CMD_LPSV, /* refused locally */
	FTP_CMD_AUTH, /* AUTH ...: refused locally (FTPS out of scope) */
	FTP_CMD_BADADDR, /* PORT/EPRT with bad syntax or numbers */
	FTP_CMD_BADPROTO, /* EPRT/EPSV with a protocol other than 1 or 2 */
	FTP_CMD_BADTELNET, /* a Telnet command (IAC) inside the line */
};

struct ftp_cmd {
	enum ftp_cmd_kind kind;
	struct ftp_hostport hp; /* PORT, EPRT */
	int epsv_proto; /* EPSV: 0 (none given), 1 or 2 */
};

/* What a reply line is. */
struct ftp_reply {
	int code; /* 100..599 on a reply's first or final line, else 0 */
	bool final; /* the last line of a reply */
	/* On a final line with code >= 200 when a command was pending:
	   answers is true and cmd is that command (popped); otherwise
	   answers is false and cmd is FTP_CMD_OTHER. */
	bool answers;
	enum ftp_cmd_kind cmd;
};

struct ftp_linebuf {
	char buf[FTP_LINE_MAX];
	size_t len;
};

struct ftp_ctl {
	struct ftp_linebuf lb[2]; /* by enum ftp_dir */
	/* FIFO of pending commands (ring). */
	enum ftp_cmd_kind pending[FTP_PENDING_MAX];
	size_t phead;
	size_t pcount;
	bool epsv_all; /* EPSV ALL was accepted: PORT/EPRT/PASV refused */
	/* Reply parser: inside a multi-line reply with this code. */
	int multi_code;
	/* The next final reply is the server's greeting. */
	bool await_greeting;
};

/** ftp_init(f): a control connection's state, before any byte. */
void ftp_init(struct ftp_ctl *f);

/**
 * ftp_expect_greeting(f): the server has not greeted yet: its first
 * final reply (code >= 200) answers no command, even if the client sent
 * some before it.
 */
void ftp_expect_greeting(struct ftp_ctl *f);

/**
 * ftp_line_next(f, dir, p, n, used, line, linelen): take bytes of
 * direction ${dir} from ${p} (${n} bytes) until a line is complete.
 * Sets ${*used} to the bytes taken (always, also on 0 and -1).  Return 1
 * with ${*line}/${*linelen} naming the complete line, its terminator
 * ("\r\n" or "\n") included (valid until the next call for ${dir}); 0 if
 * all ${n} bytes were taken and no line is complete yet; -1 if the line
 * would exceed FTP_LINE_MAX (the buffered part is dropped; the caller
 * ends the session).  A NUL byte is just a byte.
 */
int ftp_line_next(struct ftp_ctl *f, enum ftp_dir dir, const uint8_t *p,
    size_t n, size_t *used, const char **line, size_t *linelen) CG_WUR;

/**
 * ftp_line_pending(f, dir): bytes of an incomplete line buffered for
 * ${dir}.
 */
size_t ftp_line_pending(const struct ftp_ctl *f, enum ftp_dir dir);

/**
 * ftp_parse_command(line, len, cmd): classify the command line ${line}
 * (terminator included or not).  Verbs are case-insensitive; PORT takes
 * exactly six decimal numbers (octets 0..255, p1/p2 0..255, no sign, at
 * most 3 digits each, port 1..65535), EPRT "<d>af<d>addr<d>port<d>" with one
 * delimiter 33..126 (not a digit) used four times, family 1 (dotted quad)
 * or 2 (inet_pton IPv6), port 1..65535 decimal; the unspecified address
 * gives family AF_UNSPEC; another decimal family gives FTP_CMD_BADPROTO.
 * Spaces after the verb: exactly one (trailing spaces before the line
 * end tolerated).  Before the verb, white space (some servers skip
 * any) and the ABOR Synch (IAC IP, IAC DM) are skipped; any other Telnet
 * command (an IAC not followed by IAC) anywhere in the line gives
 * FTP_CMD_BADTELNET, since servers that strip Telnet sequences would see
 * another command than we do.  A known verb followed by anything but a
 * space or the end (TAB, NUL, digit) is a bad argument: BADADDR for
 * PORT/EPRT, BADPROTO for EPSV; "PORTS" is FTP_CMD_OTHER.  Pure: no
 * state.
 */
void ftp_parse_command(const char *line, size_t len, struct ftp_cmd *cmd);

/**
 * ftp_command(f, line, len, cmd): ftp_parse_command, then remember the
 * command as pending (if the FIFO is full the oldest is forgotten), and
 * keep EPSV ALL state.  Commands the caller refuses locally (it answers
 * them itself and does not forward them) must be taken back with
 * ftp_command_unsend.
 */
void ftp_command(
    struct ftp_ctl *f, const char *line, size_t len, struct ftp_cmd *cmd);

/** ftp_command_unsend(f): forget the last command ftp_command added. */
void ftp_command_unsend(struct ftp_ctl *f);

/**
 * ftp_reply(f, line, len, r): a reply line from the server.  Follows
 * multi-line replies ("ddd-" ... "ddd "); a line that is not a valid
 * reply line outside a multi-line reply gives code 0 and final false
 * (forwarded unchanged, acts on nothing).  On the final line of a reply
 * with code >= 200 pops the oldest pending command into ${r->cmd}.
 * Sets the EPSV ALL state on a 2xx answering EPSV ALL.
 */
void ftp_reply(
    struct ftp_ctl *f, const char *line, size_t len, struct ftp_reply *r);

/**
 * ftp_parse_227(line, len, hp): the address and port of a 227 reply line
 * in RFC 1123 style: the first run of six comma-separated numbers after
 * the code, with or without parentheses, any text around.  Return 0
 * (valid numbers, port 1..65535) or -1.
 */
int ftp_parse_227(const char *line, size_t len, struct ftp_hostport *hp) CG_WUR;

/**
 * ftp_parse_229(line, len, port): the port of a 229 reply line:
 * "(<d><d><d>port<d>)" with one delimiter 33..126 (not a digit)
 * repeated, port 1..65535.  Return 0 or -1.
 */
int ftp_parse_229(const char *line, size_t len, uint16_t *port) CG_WUR;

/*
 * Formatting: each writes one line with CRLF and a NUL into ${buf}
 * (${size} >= FTP_FMT_MAX) and returns its length without the NUL (0
 * and an empty string if ${size} is too small).
 */
/** ftp_fmt_port(buf, size, hp): "PORT h1,h2,h3,h4,p1,p2\r\n" (IPv4). */
size_t ftp_fmt_port(char *buf, size_t size, const struct ftp_hostport *hp);
/** ftp_fmt_eprt(buf, size, hp): "EPRT |1|a.b.c.d|port|\r\n" or |2|. */
size_t ftp_fmt_eprt(char *buf, size_t size, const struct ftp_hostport *hp);
/**
 * ftp_fmt_227(buf, size, hp): "227 Entering Passive Mode
 * (h1,h2,h3,h4,p1,p2).\r\n" (IPv4 address; 0,0,0,0 if hp is not IPv4).
 */
size_t ftp_fmt_227(char *buf, size_t size, const struct ftp_hostport *hp);
/** ftp_fmt_229(buf, size, port): "229 Entering Extended Passive Mode
 * (|||port|).\r\n". */
size_t ftp_fmt_229(char *buf, size_t size, uint16_t port);
/**
 * ftp_fmt_reply(buf, size, code, text): "<code> <text>\r\n" (text cut at
 * its first CR or LF and to fit ${size}; a code outside 100..599 is
 * written as 500).
 */
size_t ftp_fmt_reply(char *buf, size_t size, int code, const char *text);

#endif /* !CRYPTGATE_GATEWAYD_FTP_H */
