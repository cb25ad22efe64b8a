/*
 * conf_int.h: what conf.c and conf_parse.c share.  Private to src/lib/conf/.
 */
#ifndef CRYPTGATE_CONF_INT_H
#define CRYPTGATE_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "cryptgate/conf.h"

#include "conf_value.h"

struct conf_section {
	const struct conf_schema *ent; /* the CONF_SECTION entry */
	char *name; /* NULL for an unnamed section */
	unsigned int line; /* 0: not in the file */
	size_t nkeys; /* its keys are ent[1..nkeys] */
	struct conf_value *vals; /* nkeys values */
};

struct conf {
	char *file;
	const struct conf_schema *schema;
	struct conf_section **secs; /* unnamed ones first, then file order */
	size_t nsecs;
};

/**
 * conf_emit(rep, file, line, msg): send one message to ${rep}, or to
 * log_warnx if ${rep} is NULL.
 */
void conf_emit(const struct conf_report *rep, const char *file,
    unsigned int line, const char *msg);

/**
 * conf_parse_buf(conf, buf, len, rep): parse the ${len} bytes at ${buf}
 * into the empty ${conf} (whose file and schema are set), check them
 * against the schema and fill in defaults.  Return 0, or -1 after
 * reporting every error to ${rep} (${conf} must then be freed).
 */
int conf_parse_buf(struct conf *conf, const char *buf, size_t len,
    const struct conf_report *rep);

/**
 * conf_parse_peek(buf, len, types, found): set ${found[i]} if a section
 * header of type ${types[i]} appears in the ${len} bytes at ${buf}.
 */
void conf_parse_peek(
    const char *buf, size_t len, const char *const *types, bool *found);

/**
 * conf_parse_section_free(sec): free ${sec} and its values.  NULL: no-op.
 */
void conf_parse_section_free(struct conf_section *sec);

#endif /* !CRYPTGATE_CONF_INT_H */
