/*
 * ftpgw.c: FTP control connections through the gateways.
 *
 * Both roles parse the decrypted control channel line by line (ftp.c):
 * commands flow in direction 0 (s[0] to s[1]) and replies in direction 1,
 * in either role.  The gateway facing the FTP client ("client side": the
 * client and transparent roles) and the gateway facing the FTP server
 * ("server side") each rewrite what names a data connection:
 *
 *   PORT/EPRT (active): checked (the address must be the control peer's,
 *   the port >= 1024), then replaced by a data listener of our own on the
 *   local address of s[1]; its single connection (from s[1]'s peer only)
 *   is carried on to the address and port the command named.
 *
 *   227/229 answering PASV/EPSV (passive): the address in the reply is
 *   ignored; a data listener of our own on the local address of s[0]
 *   takes the place of the port, accepts one connection from s[0]'s peer
 *   only, and carries it to s[1]'s peer on the port of the reply.
 *
 * Between the gateways every data connection is TLS 1.3 with a PSK taken
 * from the control connection's TLS exporter, with the direction and the
 * port of the listener as context (ftpdata.c): it is bound to this
 * control session and to that one transfer.  A new PORT/PASV replaces
 * the listener before; a listener lives ftp_data_timeout at most.
 *
 * Refused locally (a reply of ours, nothing forwarded): PORT/EPRT naming
 * another address (bounce) or a port below 1024, malformed PORT/EPRT,
 * LPRT/LPSV, AUTH (FTPS would blind the gateway), PORT/EPRT/PASV after
 * EPSV ALL.  A command line longer than FTP_LINE_MAX is answered with 500
 * and ends the session; an overlong reply line resets it.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cryptgate/secret.h"

#include "ftp.h"
#include "ftpgw.h"
#include "gatewayd.h"

void
ftpgw_hostport(const struct sockaddr_storage *ss, struct ftp_hostport *hp)
{
	const struct sockaddr_in *sin = (const void *)ss;
	const struct sockaddr_in6 *sin6 = (const void *)ss;

	memset(hp, 0, sizeof(*hp));
	hp->family = ss->ss_family;
	if (ss->ss_family == AF_INET) {
		memcpy(hp->addr, &sin->sin_addr, 4);
		hp->port = ntohs(sin->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		memcpy(hp->addr, &sin6->sin6_addr, 16);
		hp->port = ntohs(sin6->sin6_port);
	}
}

void
ftpgw_sockaddr(struct sockaddr_storage *out, socklen_t *outlen,
    const struct sockaddr_storage *ss, socklen_t sslen, uint16_t port)
{
	memcpy(out, ss, sslen);
	*outlen = sslen;
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)out)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)out)->sin6_port = htons(port);
}

/* Same address (ports ignored). */
static bool
same_host(const struct ftp_hostport *a, const struct sockaddr_storage *ss)
{
	struct ftp_hostport b;

	ftpgw_hostport(ss, &b);
	if (a->family != b.family)
		return (false);
	return (memcmp(a->addr, b.addr, a->family == AF_INET ? 4 : 16) == 0);
}

int
ftpgw_start(struct conn *c)
{
	struct ftpsess *fs;
	int i, on = 1;

	if ((fs = calloc(1, sizeof(*fs))) == NULL) {
		log_warnx("out of memory");
		return (-1);
	}
	fs->ctl = c;
	fs->refs = 1;
	fs->client_side = c->svc->role != ROLE_SERVER;
	ftp_init(&fs->p);
	ftp_expect_greeting(&fs->p);
	for (i = 0; i < 2; i++) {
		fs->loclen[i] = sizeof(fs->loc[i]);
		fs->remlen[i] = sizeof(fs->rem[i]);
		if (getsockname(c->s[i].fd, (struct sockaddr *)&fs->loc[i],
		        &fs->loclen[i]) == -1 ||
		    getpeername(c->s[i].fd, (struct sockaddr *)&fs->rem[i],
		        &fs->remlen[i]) == -1) {
			log_warn("[%s] %s: FTP control addresses", c->svc->name,
			    c->name);
			free(fs);
			return (-1);
		}
		/* Keep TCP urgent bytes (ABOR's Telnet DM) in the stream. */
		if (c->s[i].tls == NULL)
			(void)setsockopt(c->s[i].fd, SOL_SOCKET, SO_OOBINLINE,
			    &on, sizeof(on));
	}
	c->ftp = fs;
	if (relay_bufs(c)) {
		c->ftp = NULL;
		free(fs);
		log_warnx("out of memory");
		return (-1);
	}

	/* Success! */
	return (0);
}

void
ftpgw_sess_unref(struct ftpsess *fs)
{
	if (fs == NULL || --fs->refs > 0)
		return;
	secret_wipe(fs, sizeof(*fs));
	free(fs);
}

void
ftpgw_free(struct conn *c)
{
	struct ftpsess *fs = c->ftp;

	ftpdata_unlisten(fs);
	fs->ctl = NULL;
	c->ftp = NULL;
	ftpgw_sess_unref(fs);
}

void
ftpgw_touch(struct ftpsess *fs, uint64_t now)
{
	if (fs != NULL && fs->ctl != NULL)
		fs->ctl->last_ms = now;
}

bool
ftpgw_urgent(const struct conn *c, int d, size_t *len)
{
	const struct ftpsess *fs = c->ftp;
	uint64_t at;

	if (d != 0 || !fs->urg || fs->urg_at < c->bytes[0])
		return (false);
	at = fs->urg_at - c->bytes[0];
	if (at >= *len)
		return (false);
	*len = (size_t)at + 1;
	return (true);
}

void
ftpgw_urgent_sent(struct conn *c)
{
	c->ftp->urg = false;
}

bool
ftpgw_ended(const struct conn *c, int d)
{
	return (d == 0 && c->ftp->ended);
}

bool
ftpgw_drained(const struct conn *c, int d)
{
	const struct ftpsess *fs = c->ftp;

	if (d == 1)
		return (fs->rawlen[1] == 0 && !fs->end_reply);
	return (fs->rawlen[0] == 0 && fs->heldlen == 0);
}

/* Room for ${n} more bytes at the end of b[${d}]; false: wait. */
static bool
room(struct conn *c, int d, size_t n)
{
	struct rbuf *b = &c->b[d];
	size_t cap = c->svc->cf->bufsize;

	if (cap - b->off - b->len >= n)
		return (true);
	if (c->s[!d].wpend != 0 || cap - b->len < n)
		return (false);
	memmove(b->p, b->p + b->off, b->len);
	b->off = 0;
	return (true);
}

/* Append ${n} bytes to b[${d}] (room() said yes). */
static void
put(struct conn *c, int d, const void *p, size_t n)
{
	struct rbuf *b = &c->b[d];

	memcpy(b->p + b->off + b->len, p, n);
	b->len += n;
}

/* Answer the FTP client ourselves (toward s[0]). */
static void
reply(struct conn *c, int code, const char *text)
{
	char buf[FTP_FMT_MAX];
	size_t n = ftp_fmt_reply(buf, sizeof(buf), code, text);

	put(c, 1, buf, n);
}

static void
refuse(struct conn *c, int code, const char *text, const char *why)
{
	stats_add(c->svc->st, c->w->id, ST_FTP_REFUSED, 1);
	log_ratelimited(&c->w->rl, LOG_NOTICE,
	    "[%s] %s: FTP command refused (ftp_refused): %s", c->svc->name,
	    c->name, why);
	reply(c, code, text);
}

/* PORT/EPRT: check, open our listener, forward the rewritten command. */
static void
active_cmd(struct conn *c, const struct ftp_cmd *cmd)
{
	struct ftpsess *fs = c->ftp;
	struct ftp_hostport hp = cmd->hp, ours;
	char line[FTP_FMT_MAX];
	size_t n;

	if (hp.family == AF_UNSPEC) {
		ftpgw_hostport(&fs->rem[0], &ours);
		memcpy(hp.addr, ours.addr, sizeof(hp.addr));
		hp.family = ours.family;
	}
	if (fs->p.epsv_all) {
		refuse(c, 500, "EPSV ALL is in effect", "PORT after EPSV ALL");
		return;
	}
	if (hp.family != fs->rem[0].ss_family) {
		refuse(c, 522,
		    fs->rem[0].ss_family == AF_INET
		        ? "Network protocol not supported, use (1)"
		        : "Network protocol not supported, use (2)",
		    "EPRT of another address family");
		return;
	}
	if (!same_host(&hp, &fs->rem[0])) {
		refuse(c, 501,
		    "Data connections go only to the control connection's "
		    "address",
		    "PORT/EPRT to another address (bounce)");
		return;
	}
	if (hp.port < 1024) {
		refuse(c, 501, "Data ports below 1024 are refused",
		    "PORT/EPRT to a privileged port");
		return;
	}
	if (ftpdata_listen(c, true, &hp, &ours)) {
		reply(c, 425, "Can't open data connection (gateway)");
		return;
	}
	n = cmd->kind == FTP_CMD_PORT && ours.family == AF_INET
	    ? ftp_fmt_port(line, sizeof(line), &ours)
	    : ftp_fmt_eprt(line, sizeof(line), &ours);
	ftp_command(&fs->p, line, n, &(struct ftp_cmd){ 0 });
	put(c, 0, line, n);
}

/*
 * A command line with a Telnet Synch (IAC DM, RFC 959 4.1.3: before ABOR
 * the client sends IAC IP, then IAC DM as urgent data) on its way to a
 * plain server: remember where its IAC goes, to send "IAC IP IAC" urgent
 * as BSD ftp clients do (the urgent pointer then marks the IAC before DM).
 */
static void
mark_urgent(struct conn *c, const char *line, size_t len)
{
	struct ftpsess *fs = c->ftp;
	const char *p;

	if (fs->client_side || c->s[1].tls != NULL)
		return;
	p = memmem(line, len, "\xff\xf2", 2);
	if (p == NULL)
		return;
	fs->urg = true;
	fs->urg_at = c->bytes[0] + c->b[0].len + (uint64_t)(p - line);
}

/* Commands that may be answered by the gateway itself. */
static bool
may_answer(enum ftp_cmd_kind k)
{
	/* A line with Telnet commands inside is no client's honest
	   command: it is refused at once, in no particular order. */
	return (k != FTP_CMD_OTHER && k != FTP_CMD_EPSV_ALL &&
	    k != FTP_CMD_BADTELNET);
}

/*
 * One command line (direction 0); room for it was checked.  Return 1 if
 * it must wait (copied to held) for the replies before it, else 0.
 */
static int
command(struct conn *c, const char *line, size_t len)
{
	struct ftpsess *fs = c->ftp;
	struct ftp_cmd cmd;
	int fam = fs->rem[0].ss_family;

	ftp_parse_command(line, len, &cmd);
	/* Also wait when the FIFO is full: a forgotten PASV would let the
	   server's own 227 through unrewritten. */
	/* (Unless the server is gone: no reply will come any more.) */
	if (((may_answer(cmd.kind) && (!fs->greeted || fs->p.pcount > 0)) ||
	        fs->p.pcount >= FTP_PENDING_MAX) &&
	    !c->s[1].rdone) {
		if (line != fs->held)
			memcpy(fs->held, line, len);
		fs->heldlen = len;
		return (1);
	}
	fs->heldlen = 0;
	switch (cmd.kind) {
	case FTP_CMD_PORT:
	case FTP_CMD_EPRT:
		active_cmd(c, &cmd);
		return (0);
	case FTP_CMD_BADADDR:
		refuse(
		    c, 501, "Syntax error in PORT/EPRT", "malformed PORT/EPRT");
		return (0);
	case FTP_CMD_BADTELNET:
		refuse(c, 500,
		    "Telnet commands inside a command line are refused",
		    "Telnet IAC in a command");
		return (0);
	case FTP_CMD_BADPROTO:
		refuse(c, 522,
		    fam == AF_INET ? "Network protocol not supported, use (1)"
		                   : "Network protocol not supported, use (2)",
		    "unknown network protocol");
		return (0);
	case FTP_CMD_LPRT:
	case FTP_CMD_LPSV:
		refuse(c, 502, "LPRT/LPSV not supported: use EPRT/EPSV",
		    "LPRT/LPSV");
		return (0);
	case FTP_CMD_AUTH:
		refuse(c, 502,
		    "AUTH not supported (the gateways encrypt the session)",
		    "AUTH");
		return (0);
	case FTP_CMD_PASV:
		if (fs->p.epsv_all) {
			refuse(c, 500, "EPSV ALL is in effect",
			    "PASV after EPSV ALL");
			return (0);
		}
		if (fs->client_side && fam != AF_INET) {
			refuse(c, 500, "PASV needs IPv4: use EPSV",
			    "PASV over IPv6");
			return (0);
		}
		/* An IPv6 backend answers EPSV; the reply is converted. */
		if (!fs->client_side && fs->rem[1].ss_family != AF_INET) {
			ftp_command(&fs->p, line, len, &cmd);
			put(c, 0, "EPSV\r\n", 6);
			return (0);
		}
		break;
	case FTP_CMD_EPSV:
		if (fs->client_side && cmd.epsv_proto != 0 &&
		    cmd.epsv_proto != (fam == AF_INET ? 1 : 2)) {
			refuse(c, 522,
			    fam == AF_INET
			        ? "Network protocol not supported, use (1)"
			        : "Network protocol not supported, use (2)",
			    "EPSV of another address family");
			return (0);
		}
		/* The next leg may have the other family: plain EPSV. */
		ftp_command(&fs->p, line, len, &cmd);
		put(c, 0, "EPSV\r\n", 6);
		return (0);
	default:
		break;
	}
	ftp_command(&fs->p, line, len, &cmd);
	mark_urgent(c, line, len);
	put(c, 0, line, len);
	return (0);
}

/* The final 227/229 answering PASV/EPSV: our listener instead. */
static void
passive_reply(
    struct conn *c, const struct ftp_reply *r, const char *line, size_t len)
{
	struct ftp_hostport hp, ours;
	char out[FTP_FMT_MAX];
	size_t n;
	uint16_t port = 0;
	int ok;

	if (r->code == 227) {
		ok = ftp_parse_227(line, len, &hp);
		port = hp.port;
	} else {
		ok = ftp_parse_229(line, len, &port);
	}
	memset(&hp, 0, sizeof(hp));
	hp.port = port;
	if (ok != 0) {
		log_ratelimited(&c->w->rl, LOG_NOTICE,
		    "[%s] %s: FTP reply refused (ftp_refused): malformed "
		    "passive reply from the server",
		    c->svc->name, c->name);
		stats_add(c->svc->st, c->w->id, ST_FTP_REFUSED, 1);
		n = ftp_fmt_reply(out, sizeof(out), 425,
		    "Can't open data connection (bad passive reply)");
	} else if (ftpdata_listen(c, false, &hp, &ours)) {
		n = ftp_fmt_reply(out, sizeof(out), 425,
		    "Can't open data connection (gateway)");
	} else if (r->cmd == FTP_CMD_PASV) {
		n = ftp_fmt_227(out, sizeof(out), &ours);
	} else {
		n = ftp_fmt_229(out, sizeof(out), ours.port);
	}
	put(c, 1, out, n);
}

/* A passive reply line we did not write: its code, no numbers. */
static void
withhold(struct conn *c, const char *line, size_t len)
{
	static const char txt[] = "Passive reply withheld by the gateway\r\n";
	char out[FTP_FMT_MAX];
	size_t n = 3;

	memcpy(out, line, 3);
	out[n++] = len > 3 && line[3] == '-' ? '-' : ' ';
	memcpy(out + n, txt, sizeof(txt) - 1);
	n += sizeof(txt) - 1;
	stats_add(c->svc->st, c->w->id, ST_FTP_REFUSED, 1);
	log_ratelimited(&c->w->rl, LOG_NOTICE,
	    "[%s] %s: FTP reply refused (ftp_refused): a passive reply "
	    "that answers no PASV/EPSV",
	    c->svc->name, c->name);
	put(c, 1, out, n);
}

/* One reply line (direction 1). */
static void
reply_line(struct conn *c, const char *line, size_t len)
{
	struct ftpsess *fs = c->ftp;
	struct ftp_reply r;

	ftp_reply(&fs->p, line, len, &r);
	if (r.final)
		fs->greeted = true;
	if (r.final && r.answers) {
		switch (r.cmd) {
		case FTP_CMD_PASV:
		case FTP_CMD_EPSV:
			if (r.code == 227 || r.code == 229) {
				passive_reply(c, &r, line, len);
				return;
			}
			ftpdata_unlisten(fs);
			break;
		case FTP_CMD_PORT:
		case FTP_CMD_EPRT:
			if (r.code / 100 != 2)
				ftpdata_unlisten(fs);
			break;
		default:
			break;
		}
	}
	/*
	 * A 227/229 line we did not rewrite (unsolicited, answering another
	 * command, or inside a multi-line reply) names an address of the
	 * server's choosing: the client never sees its numbers.  The code
	 * and its separator stay, so that the reply's framing is unchanged.
	 */
	if (len >= 3 && line[0] == '2' && line[1] == '2' &&
	    (line[2] == '7' || line[2] == '9')) {
		withhold(c, line, len);
		return;
	}
	put(c, 1, line, len);
}

/* Feed raw[d] to the parser while the output has room. */
static int
filter(struct conn *c, int d, bool *progress, const char **why)
{
	struct ftpsess *fs = c->ftp;
	const char *line;
	size_t used, linelen, off = 0;
	int r = 0;

	if (d == 0 && fs->heldlen > 0) {
		if (!room(c, 0, FTP_LINE_MAX + FTP_FMT_MAX) ||
		    !room(c, 1, (size_t)2 * FTP_FMT_MAX) ||
		    command(c, fs->held, fs->heldlen))
			return (0);
		*progress = true;
	}
	while (off < fs->rawlen[d]) {
		/* The worst case of one line: itself and a reply. */
		if (!room(c, d, FTP_LINE_MAX + FTP_FMT_MAX) ||
		    !room(c, 1, (size_t)2 * FTP_FMT_MAX))
			break;
		r = ftp_line_next(&fs->p, (enum ftp_dir)d, fs->raw[d] + off,
		    fs->rawlen[d] - off, &used, &line, &linelen);
		off += used;
		*progress |= used > 0;
		if (r == 0)
			break;
		if (r == -1) {
			if (d == 1) {
				*why = "FTP reply line too long";
				return (-1);
			}
			/*
			 * End the session: no more commands; the server sees
			 * the end and closes, the client gets the 500 and the
			 * end.  What the client still sends is read and
			 * dropped, so that closing does not reset the 500.
			 */
			fs->ended = true;
			fs->end_reply = true;
			fs->rawlen[d] = 0;
			fs->heldlen = 0;
			return (0);
		}
		if (d == 0) {
			if (command(c, line, linelen))
				break;
		} else {
			reply_line(c, line, linelen);
		}
	}
	memmove(fs->raw[d], fs->raw[d] + off, fs->rawlen[d] - off);
	fs->rawlen[d] -= off;
	return (0);
}

int
ftpgw_pull(struct conn *c, int d, bool *progress, const char **why)
{
	struct ftpsess *fs = c->ftp;
	struct side *src = &c->s[d];
	ssize_t n;

	if (d == 0 && fs->ended) {
		/* The 500, in its turn among the replies. */
		if (fs->end_reply && room(c, 1, FTP_FMT_MAX) &&
		    ((fs->greeted && fs->p.pcount == 0) || c->s[1].rdone)) {
			refuse(
			    c, 500, "Command line too long", "overlong line");
			fs->end_reply = false;
			*progress = true;
		}
		/* Drop what comes (bounded: one buffer per call). */
		if (src->rdone || !(src->ready & src->rneed))
			return (0);
		n = relay_read(c, d, fs->raw[d], sizeof(fs->raw[d]), why);
		if (n == -1)
			return (-1);
		*progress |= n > 0;
		return (0);
	}
	if (filter(c, d, progress, why))
		return (-1);
	if (fs->rawlen[d] > 0 || src->rdone || !(src->ready & src->rneed))
		goto out;
	n = relay_read(c, d, fs->raw[d], sizeof(fs->raw[d]), why);
	if (n == -1)
		return (-1);
	if (n > 0) {
		fs->rawlen[d] = (size_t)n;
		*progress = true;
		if (filter(c, d, progress, why))
			return (-1);
	}
out:
	/* An incomplete line at the end of the stream is dropped. */
	if (src->rdone && fs->rawlen[d] == 0 &&
	    ftp_line_pending(&fs->p, (enum ftp_dir)d) > 0) {
		log_ratelimited(&c->w->rl, LOG_INFO,
		    "[%s] %s: FTP: unterminated line at the end dropped",
		    c->svc->name, c->name);
		fs->p.lb[d].len = 0;
	}
	return (0);
}
