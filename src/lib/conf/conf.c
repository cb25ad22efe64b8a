/*
 * conf.c: loading configuration files (the parsing is in conf_parse.c) and
 * querying the result.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cryptgate/conf.h"
#include "cryptgate/log.h"

#include "conf_int.h"
#include "conf_value.h"

/* Getter type masks. */
#define T(x) (1u << (x))
#define T_STR (T(CONF_STRING) | T(CONF_PATH) | T(CONF_ENUM))
#define T_NUM \
	(T(CONF_INT) | T(CONF_BOOL) | T(CONF_PORT) | T(CONF_DURATION) | \
	    T(CONF_SIZE))
#define T_ANY (~0u)

static void
report_stderr(void *arg, const char *file, unsigned int line, const char *msg)
{
	(void)arg;
	if (line > 0)
		fprintf(stderr, "%s:%u: %s\n", file, line, msg);
	else
		fprintf(stderr, "%s: %s\n", file, msg);
}

const struct conf_report conf_report_stderr = { report_stderr, NULL };

void
conf_emit(const struct conf_report *rep, const char *file, unsigned int line,
    const char *msg)
{
	if (rep != NULL && rep->fn != NULL)
		rep->fn(rep->arg, file, line, msg);
	else if (line > 0)
		log_warnx("%s:%u: %s", file, line, msg);
	else
		log_warnx("%s: %s", file, msg);
}

static void emitf(const struct conf_report *, const char *, const char *, ...)
    CG_PRINTF(3, 4);

/* Report an error about the file ${file} as a whole. */
static void
emitf(const struct conf_report *rep, const char *file, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conf_emit(rep, file, 0, msg);
}

/* Read all of ${path} into ${*buf} (${*len} bytes); errors to ${rep}. */
static int
read_file(
    const char *path, char **buf, size_t *len, const struct conf_report *rep)
{
	struct stat st;
	char *b = NULL;
	size_t n = 0;
	ssize_t r;
	int fd;

	/* O_NONBLOCK: opening a FIFO must not hang; it is refused below. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) ==
	    -1) {
		emitf(rep, path, "cannot open: %s", strerror(errno));
		goto err0;
	}
	if (fstat(fd, &st) == -1) {
		emitf(rep, path, "cannot stat: %s", strerror(errno));
		goto err1;
	}
	if (S_ISDIR(st.st_mode)) {
		emitf(rep, path, "is a directory, not a configuration file");
		goto err1;
	}
	if (!S_ISREG(st.st_mode)) {
		emitf(rep, path, "not a regular file");
		goto err1;
	}
	if ((b = malloc(CONF_MAX_FILE + 1)) == NULL) {
		emitf(rep, path, "out of memory");
		goto err1;
	}
	/* Read up to one byte more than allowed, to notice a larger file. */
	while (n <= CONF_MAX_FILE) {
		if ((r = read(fd, b + n, CONF_MAX_FILE + 1 - n)) == -1) {
			if (errno == EINTR)
				continue;
			emitf(rep, path, "read error: %s", strerror(errno));
			goto err2;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > CONF_MAX_FILE) {
		emitf(
		    rep, path, "file too large (max %d bytes)", CONF_MAX_FILE);
		goto err2;
	}
	close(fd);
	*buf = b;
	*len = n;

	/* Success! */
	return (0);

err2:
	free(b);
err1:
	close(fd);
err0:
	return (-1);
}

struct conf *
conf_load_string(const char *buf, size_t len, const char *name,
    const struct conf_schema *schema, const struct conf_report *report)
{
	struct conf *conf;

	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		goto nomem;
	conf->schema = schema;
	if ((conf->file = strdup(name)) == NULL)
		goto nomem;
	if (conf_parse_buf(conf, buf, len, report) == -1)
		goto err;

	/* Success! */
	return (conf);

nomem:
	conf_emit(report, name, 0, "out of memory");
err:
	conf_free(conf);
	return (NULL);
}

struct conf *
conf_load(const char *path, const struct conf_schema *schema,
    const struct conf_report *report)
{
	struct conf *conf;
	char *buf;
	size_t len;

	if (read_file(path, &buf, &len, report) == -1)
		return (NULL);
	conf = conf_load_string(buf, len, path, schema, report);
	free(buf);
	return (conf);
}

int
conf_peek(const char *path, const char *const *types, bool *found,
    const struct conf_report *report)
{
	char *buf;
	size_t len, i;

	for (i = 0; types[i] != NULL; i++)
		found[i] = false;
	if (read_file(path, &buf, &len, report) == -1)
		return (-1);
	conf_parse_peek(buf, len, types, found);
	free(buf);

	/* Success! */
	return (0);
}

void
conf_free(struct conf *conf)
{
	size_t i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->nsecs; i++)
		conf_parse_section_free(conf->secs[i]);
	free(conf->secs);
	free(conf->file);
	free(conf);
}

const char *
conf_file(const struct conf *conf)
{
	return (conf->file);
}

const struct conf_section *
conf_section(const struct conf *conf, const char *type, const char *name)
{
	const struct conf_section *sec;
	size_t i;

	for (i = 0; i < conf->nsecs; i++) {
		sec = conf->secs[i];
		if (strcmp(sec->ent->section, type) != 0)
			continue;
		if (name == NULL
		        ? sec->name == NULL
		        : (sec->name != NULL && strcmp(sec->name, name) == 0))
			return (sec);
	}
	return (NULL);
}

const struct conf_section *
conf_section_next(
    const struct conf *conf, const struct conf_section *prev, const char *type)
{
	size_t i = 0;

	if (prev != NULL) {
		while (i < conf->nsecs && conf->secs[i] != prev)
			i++;
		i++;
	}
	for (; i < conf->nsecs; i++) {
		if (strcmp(conf->secs[i]->ent->section, type) == 0)
			return (conf->secs[i]);
	}
	return (NULL);
}

size_t
conf_section_count(const struct conf *conf, const char *type)
{
	size_t i, n = 0;

	for (i = 0; i < conf->nsecs; i++) {
		if (strcmp(conf->secs[i]->ent->section, type) == 0)
			n++;
	}
	return (n);
}

const char *
conf_section_type(const struct conf_section *sec)
{
	return (sec->ent->section);
}

const char *
conf_section_name(const struct conf_section *sec)
{
	return (sec->name);
}

unsigned int
conf_section_line(const struct conf_section *sec)
{
	return (sec->line);
}

/*
 * The value of ${key} in ${sec}, whose type must be in ${mask}; ${fn} names
 * the getter in the message logged when the caller got it wrong.  NULL if
 * ${sec} is NULL or on such a mistake.
 */
static const struct conf_value *
lookup(const struct conf_section *sec, const char *key, unsigned int mask,
    const char *fn)
{
	size_t i;

	if (sec == NULL || key == NULL)
		return (NULL);
	for (i = 0; i < sec->nkeys; i++) {
		if (strcmp(sec->ent[1 + i].key, key) != 0)
			continue;
		if (!(mask & T(sec->ent[1 + i].type))) {
			log_warnx("%s: key %s of section [%s] has another type",
			    fn, key, sec->ent->section);
			return (NULL);
		}
		return (&sec->vals[i]);
	}
	log_warnx("%s: no key %s in section [%s]", fn, key, sec->ent->section);
	return (NULL);
}

bool
conf_is_set(const struct conf_section *sec, const char *key)
{
	const struct conf_value *v = lookup(sec, key, T_ANY, "conf_is_set");

	return (v != NULL && v->line != 0);
}

unsigned int
conf_line(const struct conf_section *sec, const char *key)
{
	const struct conf_value *v = lookup(sec, key, T_ANY, "conf_line");

	return (v != NULL ? v->line : 0);
}

const char *
conf_get_str(const struct conf_section *sec, const char *key)
{
	const struct conf_value *v = lookup(sec, key, T_STR, "conf_get_str");

	return (v != NULL && v->set ? v->str : NULL);
}

long long
conf_get_int(const struct conf_section *sec, const char *key)
{
	const struct conf_value *v = lookup(sec, key, T_NUM, "conf_get_int");

	return (v != NULL && v->set ? v->num : 0);
}

bool
conf_get_bool(const struct conf_section *sec, const char *key)
{
	const struct conf_value *v;

	v = lookup(sec, key, T(CONF_BOOL), "conf_get_bool");
	return (v != NULL && v->set && v->num != 0);
}

uint16_t
conf_get_port(const struct conf_section *sec, const char *key)
{
	const struct conf_value *v;

	v = lookup(sec, key, T(CONF_PORT), "conf_get_port");
	return (v != NULL && v->set ? (uint16_t)v->num : 0);
}

long long
conf_get_duration(const struct conf_section *sec, const char *key)
{
	const struct conf_value *v;

	v = lookup(sec, key, T(CONF_DURATION), "conf_get_duration");
	return (v != NULL && v->set ? v->num : 0);
}

unsigned long long
conf_get_size(const struct conf_section *sec, const char *key)
{
	const struct conf_value *v;

	v = lookup(sec, key, T(CONF_SIZE), "conf_get_size");
	return (v != NULL && v->set ? (unsigned long long)v->num : 0);
}

const struct conf_addr *
conf_get_addrs(const struct conf_section *sec, const char *key, size_t *n)
{
	const struct conf_value *v;

	v = lookup(sec, key, T(CONF_ADDR) | T(CONF_ADDRLIST), "conf_get_addrs");
	if (v == NULL || !v->set) {
		*n = 0;
		return (NULL);
	}
	*n = v->naddrs;
	return (v->addrs);
}

const struct conf_addr *
conf_get_addr(const struct conf_section *sec, const char *key)
{
	const struct conf_addr *a;
	size_t n;

	a = conf_get_addrs(sec, key, &n);
	return (n > 0 ? a : NULL);
}

const struct conf_prefix *
conf_get_prefix(const struct conf_section *sec, const char *key)
{
	const struct conf_value *v;

	v = lookup(sec, key, T(CONF_PREFIX), "conf_get_prefix");
	return (v != NULL && v->set ? &v->pfx : NULL);
}

const struct conf_portrange *
conf_get_ports(const struct conf_section *sec, const char *key, size_t *n)
{
	const struct conf_value *v;

	v = lookup(sec, key, T(CONF_PORTLIST), "conf_get_ports");
	if (v == NULL || !v->set) {
		*n = 0;
		return (NULL);
	}
	*n = v->nports;
	return (v->ports);
}
