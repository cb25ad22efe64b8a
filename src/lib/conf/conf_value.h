/*
 * conf_value.h: parsing one configuration value by its schema type.
 * Private to src/lib/conf/.
 */
#ifndef CRYPTGATE_CONF_VALUE_H
#define CRYPTGATE_CONF_VALUE_H

#include <stdbool.h>
#include <stddef.h>

#include "cryptgate/conf.h"

/* Room for the reason conf_value_parse gives. */
#define CONF_VALUE_WHYLEN 256

/* A parsed value; which members are used depends on the schema type. */
struct conf_value {
	unsigned int line; /* line that set it; 0 if not in the file */
	bool set; /* holds a value (from the file or the default) */
	long long num; /* INT, BOOL, PORT, DURATION, SIZE */
	char *str; /* STRING, PATH, ENUM */
	struct conf_addr *addrs; /* ADDR (one), ADDRLIST */
	size_t naddrs;
	struct conf_portrange *ports; /* PORTLIST */
	size_t nports;
	struct conf_prefix pfx; /* PREFIX */
};

/**
 * conf_value_parse(ent, s, basedir, v, why): parse the text ${s} as a value
 * of ${ent}'s type and range into ${v} (whose previous contents are freed),
 * setting ${v}->set; relative paths are prefixed with ${basedir} (unless
 * NULL).  On failure, leave ${v} unchanged, write the reason ("not a
 * duration") to ${why} (CONF_VALUE_WHYLEN bytes) and return -1.
 */
int conf_value_parse(const struct conf_schema *ent, const char *s,
    const char *basedir, struct conf_value *v,
    char why[static CONF_VALUE_WHYLEN]) CG_WUR;

/** conf_value_free(v): free what ${v} holds and clear it. */
void conf_value_free(struct conf_value *v);

#endif /* !CRYPTGATE_CONF_VALUE_H */
