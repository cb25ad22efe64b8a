/*
 * conf_parse.c: parse a configuration file's text and check it against a
 * schema.
 *
 * libinih splits "key = value" lines and strips inline comments, but the
 * Debian build (r55) has fixed options that would hide mistakes: its handler
 * gets no line number, an indented line continues the previous key, a
 * section name is cut at 49 characters, and a line longer than its buffer
 * is split in two.  So we feed it through our own reader, which is called
 * once per line: it counts lines, checks each one (length, control
 * characters, indentation, section headers, key names) and hands libinih
 * only well-formed "key = value" lines, de-indented and at most
 * CONF_MAX_LINE bytes long, and an empty line in place of anything else.
 * Section headers are handled by the reader itself.  Errors are collected
 * (up to CONF_MAX_ERRORS) and reported in line order at the end.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "cryptgate/conf.h"

#include "conf_int.h"
#include "conf_value.h"

struct conf_error {
	unsigned int line;
	char *msg;
};

/* Parsing state, shared by the reader and the handler. */
struct conf_parser {
	struct conf *conf;
	const char *buf;
	size_t len;
	size_t pos;
	unsigned int lineno;
	char *basedir; /* for relative paths */
	struct conf_section *cur; /* section the keys go to, or NULL */
	bool skip; /* in a bad section: ignore its keys */
	bool pending; /* handed a key line to libinih */
	struct conf_error errs[CONF_MAX_ERRORS];
	size_t nerrs;
	size_t dropped;
	bool nomem;
};

static void error_at(struct conf_parser *, unsigned int, const char *, ...)
    CG_PRINTF(3, 4);

/* Record an error at ${line}; reported, sorted, when loading ends. */
static void
error_at(struct conf_parser *p, unsigned int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (p->nerrs == CONF_MAX_ERRORS) {
		p->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((p->errs[p->nerrs].msg = strdup(msg)) == NULL) {
		p->nomem = true;
		p->dropped++;
		return;
	}
	p->errs[p->nerrs++].line = line;
}

/* Emit the recorded errors in line order (stable), then free them. */
static void
flush_errors(struct conf_parser *p, const struct conf_report *rep)
{
	struct conf_error e;
	size_t i, j;
	char msg[128];

	for (i = 1; i < p->nerrs; i++) {
		e = p->errs[i];
		for (j = i; j > 0 && p->errs[j - 1].line > e.line; j--)
			p->errs[j] = p->errs[j - 1];
		p->errs[j] = e;
	}
	for (i = 0; i < p->nerrs; i++) {
		conf_emit(rep, p->conf->file, p->errs[i].line, p->errs[i].msg);
		free(p->errs[i].msg);
	}
	if (p->nomem) {
		conf_emit(rep, p->conf->file, 0, "out of memory");
	} else if (p->dropped > 0) {
		snprintf(msg, sizeof(msg),
		    "too many errors, %zu more not shown", p->dropped);
		conf_emit(rep, p->conf->file,
		    p->nerrs > 0 ? p->errs[p->nerrs - 1].line : 0, msg);
	}
	p->nerrs = 0;
}

/* The CONF_SECTION entry of ${type} in ${schema}, or NULL. */
static const struct conf_schema *
find_section(const struct conf_schema *schema, const char *type)
{
	const struct conf_schema *e;

	for (e = schema; e->section != NULL; e++) {
		if (e->type == CONF_SECTION && strcmp(e->section, type) == 0)
			return (e);
	}
	return (NULL);
}

static size_t
count_keys(const struct conf_schema *sent)
{
	size_t n = 0;

	while (sent[n + 1].section != NULL && sent[n + 1].type != CONF_SECTION)
		n++;
	return (n);
}

/* Edit distance of ${a} and ${b}, or a large number if either is long. */
static size_t
distance(const char *a, const char *b)
{
	size_t row[33], la = strlen(a), lb = strlen(b), i, j, diag, up;

	if (la > 32 || lb > 32)
		return (SIZE_MAX);
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			up = row[j];
			row[j] = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
		}
	}
	return (row[lb]);
}

/*
 * Write " (did you mean 'x'?)" to ${buf} if the key (if ${keys}) or section
 * name of one of the ${n} entries at ${ents} is close to ${word}; else "".
 */
static const char *
suggest(const char *word, const struct conf_schema *ents, size_t n, bool keys,
    char *buf, size_t len)
{
	const char *best = NULL, *name;
	size_t i, d, bestd = 3;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		if (!keys && ents[i].type != CONF_SECTION)
			continue;
		name = keys ? ents[i].key : ents[i].section;
		if ((d = distance(word, name)) < bestd) {
			bestd = d;
			best = name;
		}
	}
	/* Too far, or a one-letter typo in a very short word. */
	if (best != NULL && bestd < strlen(best))
		snprintf(buf, len, " (did you mean '%s'?)", best);
	return (buf);
}

/* Index of ${key} among ${sec}'s keys, or -1. */
static long
find_key(const struct conf_section *sec, const char *key)
{
	size_t i;

	for (i = 0; i < sec->nkeys; i++) {
		if (strcmp(sec->ent[1 + i].key, key) == 0)
			return ((long)i);
	}
	return (-1);
}

void
conf_parse_section_free(struct conf_section *sec)
{
	size_t i;

	if (sec == NULL)
		return;
	for (i = 0; sec->vals != NULL && i < sec->nkeys; i++)
		conf_value_free(&sec->vals[i]);
	free(sec->vals);
	free(sec->name);
	free(sec);
}

/* Append a new section for ${sent} to ${conf}. */
static struct conf_section *
section_add(struct conf *conf, const struct conf_schema *sent, const char *name,
    unsigned int line)
{
	struct conf_section *sec, **tmp;

	if ((sec = calloc(1, sizeof(*sec))) == NULL)
		goto err0;
	sec->ent = sent;
	sec->line = line;
	sec->nkeys = count_keys(sent);
	if ((sec->vals = calloc(sec->nkeys + 1, sizeof(*sec->vals))) == NULL)
		goto err1;
	if (name != NULL && (sec->name = strdup(name)) == NULL)
		goto err1;
	/* An array of pointers: sections do not move as it grows. */
	tmp = reallocarray(conf->secs, conf->nsecs + 1,
	    sizeof(sec)); /* NOLINT(bugprone-sizeof-expression) */
	if (tmp == NULL)
		goto err1;
	conf->secs = tmp;
	conf->secs[conf->nsecs++] = sec;

	/* Success! */
	return (sec);

err1:
	conf_parse_section_free(sec);
err0:
	return (NULL);
}

/* "[type]" or "[type name]" of ${sec}, for messages. */
static const char *
sec_label(const struct conf_section *sec, char *buf, size_t len)
{
	snprintf(buf, len, "[%s%s%s]", sec->ent->section,
	    sec->name != NULL ? " " : "", sec->name != NULL ? sec->name : "");
	return (buf);
}

static bool
is_blank(char c)
{
	return (c == ' ' || c == '\t');
}

/* Letters, digits, '.', '_' and '-': key and section names. */
static bool
is_word(const char *s, size_t len)
{
	size_t i;
	char c;

	for (i = 0; i < len; i++) {
		c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		        (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		        c == '-'))
			return (false);
	}
	return (len > 0);
}

/*
 * Split the section header at ${s} (which starts with '[') into ${*type}
 * and ${*name} (NULL if none), in place.  -1 (reported) if malformed.
 */
static int
split_header(struct conf_parser *p, char *s, char **type, char **name)
{
	char *end, *rest;

	*name = NULL;
	if ((end = strchr(s, ']')) == NULL) {
		error_at(p, p->lineno, "missing ']' in section header");
		return (-1);
	}
	for (rest = end + 1; is_blank(*rest); rest++)
		;
	if (*rest != '\0' && *rest != '#' && *rest != ';') {
		error_at(p, p->lineno, "unexpected text after section header");
		return (-1);
	}
	*end = '\0';
	for (*type = s + 1; is_blank(**type); (*type)++)
		;
	for (end = *type; *end != '\0' && !is_blank(*end); end++)
		;
	if (*end != '\0') {
		*end++ = '\0';
		while (is_blank(*end))
			end++;
		if (*end != '\0')
			*name = end;
		while (*end != '\0' && !is_blank(*end))
			end++;
		for (rest = end; is_blank(*rest); rest++)
			;
		*end = '\0';
		if (*rest != '\0') {
			error_at(p, p->lineno,
			    "section header has more than two words");
			return (-1);
		}
	}
	if (**type == '\0') {
		error_at(p, p->lineno, "empty section header");
		return (-1);
	}
	return (0);
}

/* Check that [${type} ${name}] may start here; its schema entry or NULL. */
static const struct conf_schema *
check_header(struct conf_parser *p, const char *type, const char *name)
{
	const struct conf_schema *sent;
	const struct conf_section *o;
	char label[128], hint[96];
	size_t i;

	if ((sent = find_section(p->conf->schema, type)) == NULL) {
		for (i = 0; p->conf->schema[i].section != NULL; i++)
			;
		error_at(p, p->lineno, "unknown section [%s]%s", type,
		    suggest(
		        type, p->conf->schema, i, false, hint, sizeof(hint)));
		return (NULL);
	}
	if ((sent->flags & CONF_NAMED) && name == NULL) {
		error_at(p, p->lineno,
		    "section [%s] needs a name, as in [%s NAME]", type, type);
		return (NULL);
	}
	if (!(sent->flags & CONF_NAMED) && name != NULL) {
		error_at(p, p->lineno, "section [%s] takes no name", type);
		return (NULL);
	}
	if (name != NULL &&
	    (strlen(name) > CONF_MAX_NAME || !is_word(name, strlen(name)))) {
		error_at(p, p->lineno,
		    "invalid section name '%s' (up to %d letters, digits, "
		    "'.', '_' or '-')",
		    name, CONF_MAX_NAME);
		return (NULL);
	}
	for (i = 0; i < p->conf->nsecs; i++) {
		o = p->conf->secs[i];
		if (o->ent != sent || o->line == 0)
			continue;
		if (name == NULL || strcmp(o->name, name) == 0) {
			error_at(p, p->lineno,
			    "duplicate section %s (first at line %u)",
			    sec_label(o, label, sizeof(label)), o->line);
			return (NULL);
		}
	}
	return (sent);
}

/* The section header at ${s} (which starts with '['), rstripped. */
static void
section_header(struct conf_parser *p, char *s)
{
	const struct conf_schema *sent;
	char *type, *name;
	size_t i;

	/* Until this header proves good, ignore the keys that follow. */
	p->cur = NULL;
	p->skip = true;
	if (split_header(p, s, &type, &name) == -1 ||
	    (sent = check_header(p, type, name)) == NULL)
		return;
	if (name == NULL) {
		/* Unnamed sections exist from the start: claim it. */
		for (i = 0; i < p->conf->nsecs; i++) {
			if (p->conf->secs[i]->ent == sent)
				p->cur = p->conf->secs[i];
		}
		if (p->cur == NULL) /* cannot happen: conf_parse_buf made it */
			return;
		p->cur->line = p->lineno;
	} else if (p->conf->nsecs >= CONF_MAX_SECTIONS) {
		error_at(p, p->lineno, "too many sections (max %d)",
		    CONF_MAX_SECTIONS);
		return;
	} else if ((p->cur = section_add(p->conf, sent, name, p->lineno)) ==
	    NULL) {
		p->nomem = true;
		return;
	}
	p->skip = false;
}

/* Whether ${s} is "[...]" followed by nothing but blanks or a comment. */
static bool
looks_like_header(const char *s)
{
	const char *end = strchr(s, ']');

	if (end == NULL)
		return (false);
	for (end++; is_blank(*end); end++)
		;
	return (*end == '\0' || *end == '#' || *end == ';');
}

/*
 * Check the line ${s} (NUL-terminated, no line end) and either handle it
 * here or copy a well-formed "key = value" line to ${out} for libinih.
 */
static void
lex_line(struct conf_parser *p, char *s, char *out)
{
	char *start, *end, *eq, *k;

	for (start = s; is_blank(*start); start++)
		;
	for (end = start + strlen(start); end > start && is_blank(end[-1]);
	     end--)
		;
	*end = '\0';
	if (*start == '\0' || *start == '#' || *start == ';')
		return;
	/* An indented "[::1]:80" continues a value; "  [kdc]" is a header. */
	if (*start == '[' && (start == s || looks_like_header(start))) {
		section_header(p, start);
		return;
	}
	if ((eq = strchr(start, '=')) == NULL) {
		error_at(p, p->lineno, "%s",
		    start > s ? "continuation lines are not allowed"
		              : "expected '[section]' or 'key = value'");
		return;
	}
	for (k = eq; k > start && is_blank(k[-1]); k--)
		;
	if (k == start) {
		error_at(p, p->lineno, "missing key name before '='");
		return;
	}
	if (!is_word(start, (size_t)(k - start))) {
		error_at(p, p->lineno, "invalid key name '%.*s'",
		    (int)(k - start), start);
		return;
	}
	if (p->skip)
		return;
	if (p->cur == NULL) {
		error_at(p, p->lineno, "'%.*s' is outside of any section",
		    (int)(k - start), start);
		return;
	}
	memcpy(out, start, (size_t)(end - start) + 1);
	p->pending = true;
}

/* libinih reader: one line per call (see the comment at the top). */
static char *
reader(char *str, int num, void *stream)
{
	struct conf_parser *p = stream;
	char line[CONF_MAX_LINE + 1];
	const char *s, *eol;
	size_t n, i;
	unsigned char c;

	if (p->pending) {
		/* libinih did not call the handler for our key line. */
		error_at(p, p->lineno, "syntax error");
		p->pending = false;
	}
	if (p->pos >= p->len)
		return (NULL);
	if (num < CONF_MAX_LINE + 1) {
		/* Not with Debian's r55 (200 bytes): never cut silently. */
		error_at(p, p->lineno + 1,
		    "libinih line buffer too small (%d bytes)", num);
		return (NULL);
	}
	s = p->buf + p->pos;
	eol = memchr(s, '\n', p->len - p->pos);
	n = eol != NULL ? (size_t)(eol - s) : p->len - p->pos;
	p->pos += n + (eol != NULL);
	p->lineno++;
	str[0] = '\0';

	if (n > 0 && s[n - 1] == '\r')
		n--;
	if (p->lineno == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
		s += 3;
		n -= 3;
	}
	if (n > CONF_MAX_LINE) {
		error_at(p, p->lineno, "line too long (max %d characters)",
		    CONF_MAX_LINE);
		return (str);
	}
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			error_at(p, p->lineno,
			    "invalid control character 0x%02x", c);
			return (str);
		}
	}
	memcpy(line, s, n);
	line[n] = '\0';
	lex_line(p, line, str);
	return (str);
}

/* libinih handler: a "key = value" line that lex_line passed on. */
static int
handler(void *user, const char *section, const char *key, const char *value)
{
	struct conf_parser *p = user;
	struct conf_section *sec = p->cur;
	struct conf_value *v;
	char why[CONF_VALUE_WHYLEN], label[128], hint[96];
	long i;

	(void)section; /* ours is p->cur: libinih's is cut at 49 bytes */
	if (!p->pending || sec == NULL)
		return (1);
	p->pending = false;
	if ((i = find_key(sec, key)) == -1) {
		error_at(p, p->lineno, "unknown key '%s' in section %s%s", key,
		    sec_label(sec, label, sizeof(label)),
		    suggest(key, sec->ent + 1, sec->nkeys, true, hint,
		        sizeof(hint)));
		return (1);
	}
	v = &sec->vals[i];
	if (v->line != 0) {
		error_at(p, p->lineno, "duplicate key '%s' (first at line %u)",
		    key, v->line);
		return (1);
	}
	v->line = p->lineno;
	if (*value == '\0') {
		error_at(p, p->lineno, "missing value for '%s'", key);
		return (1);
	}
	if (conf_value_parse(&sec->ent[1 + i], value, p->basedir, v, why) == -1)
		error_at(p, p->lineno, "invalid value '%s' for %s: %s", value,
		    key, why);
	return (1);
}

/* After parsing: required sections and keys, then the defaults. */
static void
finish(struct conf_parser *p)
{
	const struct conf_schema *e;
	struct conf_section *sec;
	struct conf_value *v;
	char why[CONF_VALUE_WHYLEN], label[128];
	size_t i, k;
	bool required;

	for (e = p->conf->schema; e->section != NULL; e++) {
		if (e->type != CONF_SECTION || !(e->flags & CONF_NAMED) ||
		    !(e->flags & CONF_REQUIRED))
			continue;
		if (conf_section_count(p->conf, e->section) == 0)
			error_at(p, 1, "missing required section [%s NAME]",
			    e->section);
	}
	for (i = 0; i < p->conf->nsecs; i++) {
		sec = p->conf->secs[i];
		required = (sec->ent->flags & CONF_REQUIRED) != 0;
		for (k = 0; k < sec->nkeys; k++)
			required |=
			    (sec->ent[1 + k].flags & CONF_REQUIRED) != 0;
		if (sec->line == 0 && required) {
			error_at(p, 1, "missing required section [%s]",
			    sec->ent->section);
			continue;
		}
		for (k = 0; k < sec->nkeys; k++) {
			e = &sec->ent[1 + k];
			v = &sec->vals[k];
			if (v->line != 0)
				continue;
			if ((e->flags & CONF_REQUIRED) && sec->line != 0)
				error_at(p, sec->line,
				    "missing required key '%s' in section %s",
				    e->key,
				    sec_label(sec, label, sizeof(label)));
			else if (e->def != NULL &&
			    conf_value_parse(e, e->def, p->basedir, v, why) ==
			        -1)
				error_at(p, 1,
				    "schema: bad default '%s' for %s: %s",
				    e->def, e->key, why);
		}
	}
}

/* The directory part of ${name}, absolute if it exists. */
static char *
base_dir(const char *name)
{
	const char *slash = strrchr(name, '/');
	char *dir, *real;

	if (slash == NULL)
		dir = strdup(".");
	else if (slash == name)
		dir = strdup("/");
	else
		dir = strndup(name, (size_t)(slash - name));
	if (dir == NULL)
		return (NULL);
	if ((real = realpath(dir, NULL)) != NULL) {
		free(dir);
		dir = real;
	}
	return (dir);
}

int
conf_parse_buf(struct conf *conf, const char *buf, size_t len,
    const struct conf_report *rep)
{
	struct conf_parser p;
	const struct conf_schema *e;
	int rc;

	memset(&p, 0, sizeof(p));
	p.conf = conf;
	p.buf = buf;
	p.len = len;
	if ((p.basedir = base_dir(conf->file)) == NULL)
		goto nomem;
	for (e = conf->schema; e->section != NULL; e++) {
		if (e->type == CONF_SECTION && !(e->flags & CONF_NAMED) &&
		    section_add(conf, e, NULL, 0) == NULL)
			goto nomem;
	}

	rc = ini_parse_stream(reader, &p, handler, &p);
	if (p.pending) {
		error_at(&p, p.lineno, "syntax error");
		p.pending = false;
	}
	if (rc == -2)
		p.nomem = true;
	else if (rc != 0 && p.nerrs == 0 && p.dropped == 0)
		error_at(&p, (unsigned int)rc, "syntax error");
	finish(&p);
	if (p.nerrs > 0 || p.dropped > 0 || p.nomem)
		goto err;
	free(p.basedir);

	/* Success! */
	return (0);

nomem:
	p.nomem = true;
err:
	flush_errors(&p, rep);
	free(p.basedir);
	return (-1);
}

void
conf_parse_peek(
    const char *buf, size_t len, const char *const *types, bool *found)
{
	const char *s, *end, *w;
	size_t i, wl;

	for (i = 0; types[i] != NULL; i++)
		found[i] = false;
	for (s = buf; s < buf + len; s = end < buf + len ? end + 1 : end) {
		if ((end = memchr(s, '\n', (size_t)(buf + len - s))) == NULL)
			end = buf + len;
		if (s == buf && len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
			s += 3;
		while (s < end && is_blank(*s))
			s++;
		if (s == end || *s != '[')
			continue;
		for (w = s + 1; w < end && is_blank(*w); w++)
			;
		for (wl = 0; w + wl < end && !is_blank(w[wl]) && w[wl] != ']';
		     wl++)
			;
		for (i = 0; types[i] != NULL; i++) {
			if (strlen(types[i]) == wl &&
			    strncmp(types[i], w, wl) == 0)
				found[i] = true;
		}
	}
}
