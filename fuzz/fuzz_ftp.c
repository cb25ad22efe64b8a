/*
 * fuzz_ftp.c: the FTP control-channel parser (src/gatewayd/ftp.c) on
 * arbitrary bytes.
 *
 * Byte 0 seeds the chunking; the rest is fed through ftp_line_next in both
 * directions, split at pseudo-random points, every command line through
 * ftp_command and every reply line through ftp_reply, ftp_parse_227 and
 * ftp_parse_229; the whole input also goes to the pure parsers as one
 * line.  Properties (abort() if broken):
 *  - the lines and errors are the same however the input is split, each
 *    line ends in its only LF and is at most FTP_LINE_MAX bytes;
 *  - the FIFO and multi-line state stay in range; a final reply has a
 *    code 100..599, an answer one >= 200;
 *  - whatever PORT, EPRT, 227, 229 or a reply code parsed, ftp_fmt_*
 *    writes it in fewer than FTP_FMT_MAX bytes and it parses back to the
 *    same values;
 *  - a command parses the same with and without its terminator.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* NOLINTNEXTLINE(bugprone-suspicious-include): fuzzed on its own. */
#include "../src/gatewayd/ftp.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ftp_ctl ref, ctl;

static bool
hp_equal(const struct ftp_hostport *a, const struct ftp_hostport *b)
{
	size_t alen = a->family == AF_INET6 ? 16 : 4;

	return (a->family == b->family && a->port == b->port &&
	    memcmp(a->addr, b->addr, alen) == 0);
}

static void
check_fmt_len(const char *buf, size_t n)
{
	if (n == 0 || n >= FTP_FMT_MAX || strlen(buf) != n ||
	    memcmp(buf + n - 2, "\r\n", 2) != 0 ||
	    memchr(buf, '\n', n - 1) != NULL)
		abort();
}

static void
check_cmd(const char *line, size_t len, const struct ftp_cmd *c)
{
	struct ftp_cmd again;
	char buf[FTP_FMT_MAX];
	size_t n;

	if (c->kind == FTP_CMD_PORT) {
		if (c->hp.family != AF_INET || c->hp.port == 0)
			abort();
		n = ftp_fmt_port(buf, sizeof(buf), &c->hp);
		check_fmt_len(buf, n);
		ftp_parse_command(buf, n, &again);
		if (again.kind != FTP_CMD_PORT || !hp_equal(&again.hp, &c->hp))
			abort();
	}
	if (c->kind == FTP_CMD_EPRT) {
		if (c->hp.port == 0 ||
		    (c->hp.family != AF_INET && c->hp.family != AF_INET6 &&
		        c->hp.family != AF_UNSPEC))
			abort();
		n = ftp_fmt_eprt(buf, sizeof(buf), &c->hp);
		check_fmt_len(buf, n);
		ftp_parse_command(buf, n, &again);
		if (again.kind != FTP_CMD_EPRT || !hp_equal(&again.hp, &c->hp))
			abort();
	}
	if (c->kind == FTP_CMD_EPSV && c->epsv_proto != 0 &&
	    c->epsv_proto != 1 && c->epsv_proto != 2)
		abort();
	/* The terminator of a line (its only LF) does not matter. */
	if (len > 0 && line[len - 1] == '\n' &&
	    memchr(line, '\n', len - 1) == NULL) {
		ftp_parse_command(line, strip_eol(line, len), &again);
		if (again.kind != c->kind ||
		    again.epsv_proto != c->epsv_proto ||
		    !hp_equal(&again.hp, &c->hp) ||
		    memcmp(again.hp.addr, c->hp.addr, 16) != 0)
			abort();
	}
}

static void
check_passive(const char *line, size_t len)
{
	struct ftp_hostport hp, again;
	char buf[FTP_FMT_MAX];
	uint16_t port, port2;
	size_t n;

	if (ftp_parse_227(line, len, &hp) == 0) {
		if (hp.family != AF_INET || hp.port == 0)
			abort();
		n = ftp_fmt_227(buf, sizeof(buf), &hp);
		check_fmt_len(buf, n);
		if (ftp_parse_227(buf, n, &again) != 0 ||
		    !hp_equal(&hp, &again))
			abort();
	}
	if (ftp_parse_229(line, len, &port) == 0) {
		if (port == 0)
			abort();
		n = ftp_fmt_229(buf, sizeof(buf), port);
		check_fmt_len(buf, n);
		if (ftp_parse_229(buf, n, &port2) != 0 || port2 != port)
			abort();
	}
}

static void
check_reply(const char *line, size_t len, const struct ftp_reply *r)
{
	struct ftp_ctl fresh;
	struct ftp_reply again;
	char text[FTP_FMT_MAX], buf[FTP_FMT_MAX];
	size_t tlen, n;

	if (ctl.pcount > FTP_PENDING_MAX || ctl.phead >= FTP_PENDING_MAX)
		abort();
	if (ctl.multi_code != 0 &&
	    (ctl.multi_code < 100 || ctl.multi_code > 599))
		abort();
	if (r->code != 0 && (r->code < 100 || r->code > 599))
		abort();
	if (r->final && r->code == 0)
		abort();
	if (r->answers && (!r->final || r->code < 200))
		abort();
	if (!r->answers && r->cmd != FTP_CMD_OTHER)
		abort();
	check_passive(line, len);
	if (r->code == 0)
		return;

	/* The code and text, formatted, give a final line of that code. */
	tlen = len > 4 ? len - 4 : 0;
	if (tlen > sizeof(text) - 1)
		tlen = sizeof(text) - 1;
	if (tlen > 0)
		memcpy(text, line + 4, tlen);
	text[tlen] = '\0';
	n = ftp_fmt_reply(buf, sizeof(buf), r->code, text);
	check_fmt_len(buf, n);
	ftp_init(&fresh);
	ftp_reply(&fresh, buf, n, &again);
	if (!again.final || again.code != r->code || again.answers)
		abort();
}

/* A cheap generator for split points. */
static uint32_t
next_rand(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return (*s >> 16);
}

/* Mix ${rc} and the line into ${h}. */
static uint64_t
mix(uint64_t h, int rc, const char *line, size_t len)
{
	size_t i;

	h = (h ^ (uint64_t)(rc + 2)) * 0x100000001b3ull;
	for (i = 0; i < len; i++)
		h = (h ^ (uint8_t)line[i]) * 0x100000001b3ull;
	return ((h ^ len) * 0x100000001b3ull);
}

static void
check_line(int rc, const char *line, size_t len, size_t used, size_t n)
{
	if (used > n)
		abort();
	if (rc == 0 && (used != n || line != NULL))
		abort();
	if (rc == 1 &&
	    (len == 0 || len > FTP_LINE_MAX || line[len - 1] != '\n' ||
	        memchr(line, '\n', len - 1) != NULL))
		abort();
}

/* Feed ${p} whole (reference) and cut (stateful); compare. */
static void
run(enum ftp_dir dir, const uint8_t *p, size_t n, uint32_t seed)
{
	const char *line;
	struct ftp_cmd c;
	struct ftp_reply r;
	uint64_t h1 = 0, h2 = 0;
	size_t off, used, len, chunk;
	int rc;

	ftp_init(&ref);
	for (off = 0; off < n; off += used) {
		rc = ftp_line_next(
		    &ref, dir, p + off, n - off, &used, &line, &len);
		check_line(rc, line, len, used, n - off);
		if (rc == 0)
			break;
		h1 = mix(h1, rc, line, rc == 1 ? len : 0);
	}
	for (off = 0; off < n; off += used) {
		chunk = 1 + next_rand(&seed) % (seed & 0x100 ? 8 : 600);
		if (chunk > n - off)
			chunk = n - off;
		rc = ftp_line_next(
		    &ctl, dir, p + off, chunk, &used, &line, &len);
		check_line(rc, line, len, used, chunk);
		if (rc == 0)
			continue;
		h2 = mix(h2, rc, line, rc == 1 ? len : 0);
		if (rc == -1)
			continue;
		if (dir == FTP_C2S) {
			ftp_command(&ctl, line, len, &c);
			check_cmd(line, len, &c);
			if (c.kind >= FTP_CMD_LPRT || next_rand(&seed) % 7 == 0)
				ftp_command_unsend(&ctl);
		} else {
			ftp_reply(&ctl, line, len, &r);
			check_reply(line, len, &r);
		}
	}
	if (h1 != h2 ||
	    ftp_line_pending(&ref, dir) != ftp_line_pending(&ctl, dir))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ftp_cmd c;
	struct ftp_reply r;
	uint32_t seed;

	if (size < 1)
		return (0);
	seed = data[0];
	data++;
	size--;

	/* The pure parsers on the whole input, as one line. */
	ftp_parse_command((const char *)data, size, &c);
	check_cmd((const char *)data, size, &c);
	check_passive((const char *)data, size);

	ftp_init(&ctl);
	ftp_reply(&ctl, (const char *)data, size, &r);
	check_reply((const char *)data, size, &r);

	/* Commands, then the same bytes as replies, on one control state. */
	ftp_init(&ctl);
	run(FTP_C2S, data, size, seed);
	run(FTP_S2C, data, size, seed * 31u + 7u);
	return (0);
}
