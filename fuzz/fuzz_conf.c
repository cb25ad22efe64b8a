/*
 * fuzz_conf.c: libFuzzer target for the configuration loader
 * (conf_load_string), with each program schema in turn.
 *
 * Invariants checked beyond "no crash, no leak": a load fails exactly when
 * errors were reported; there are 1..CONF_MAX_ERRORS + 1 of them, each
 * with a non-empty message and a line number within the input; a loaded
 * configuration answers every getter of its schema.
 *
 *   make fuzz && build/fuzz/fuzz_conf -max_total_time=60 fuzz/corpus/conf
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cryptgate/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct tally {
	size_t n;
	unsigned int maxline;
	bool empty;
};

/* Errors are counted, not printed. */
static void
count(void *arg, const char *file, unsigned int line, const char *msg)
{
	struct tally *t = arg;

	(void)file;
	t->n++;
	if (line > t->maxline)
		t->maxline = line;
	if (line == 0 || msg[0] == '\0')
		t->empty = true;
}

/* Call the getter that fits each key of every section of ${conf}. */
static void
walk(const struct conf *conf, const struct conf_schema *schema)
{
	const struct conf_schema *e, *sent = NULL;
	const struct conf_section *sec;
	size_t n;

	for (e = schema; e->section != NULL; e++) {
		if (e->type == CONF_SECTION) {
			sent = e;
			continue;
		}
		for (sec = conf_section_next(conf, NULL, sent->section);
		     sec != NULL;
		     sec = conf_section_next(conf, sec, sent->section)) {
			(void)conf_line(sec, e->key);
			switch (e->type) {
			case CONF_STRING:
			case CONF_PATH:
			case CONF_ENUM:
				if (conf_get_str(sec, e->key) == NULL &&
				    ((e->flags & CONF_REQUIRED) ||
				        e->def != NULL))
					abort();
				break;
			case CONF_ADDR:
			case CONF_ADDRLIST:
				if (conf_get_addrs(sec, e->key, &n) != NULL &&
				    (n == 0 || n > CONF_MAX_LIST))
					abort();
				break;
			case CONF_PORTLIST:
				(void)conf_get_ports(sec, e->key, &n);
				break;
			case CONF_PREFIX:
				(void)conf_get_prefix(sec, e->key);
				break;
			default:
				(void)conf_get_int(sec, e->key);
				break;
			}
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct conf_schema *const schemas[] = { conf_schema_kdc,
		conf_schema_host, conf_schema_gateway, conf_schema_pkt };
	struct tally t;
	struct conf_report rep = { count, &t };
	struct conf *conf;
	unsigned int lines = 1;
	size_t i;

	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	for (i = 0; i < sizeof(schemas) / sizeof(schemas[0]); i++) {
		memset(&t, 0, sizeof(t));
		/* A directory that does not exist: no realpath surprises. */
		conf = conf_load_string((const char *)data, size,
		    "/nonexistent/fuzz.conf", schemas[i], &rep);
		if ((conf == NULL) != (t.n > 0) || t.n > CONF_MAX_ERRORS + 1 ||
		    t.empty || t.maxline > lines)
			abort();
		if (conf != NULL)
			walk(conf, schemas[i]);
		conf_free(conf);
	}
	return (0);
}
