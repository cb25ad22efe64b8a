/*
 * conf.h: configuration files, shared by every cryptgate program.
 *
 * The format (see cryptgate.conf(5)) is INI: "[section]" or
 * "[section name]" headers, "key = value" lines, "#" or ";" comment lines.
 * What is allowed is described by a schema, a table of struct conf_schema
 * entries; conf_load checks the file against it, reports every error it
 * finds as "FILE:LINE: message" and, if there was none, returns a typed,
 * read-only struct conf that the getters below query.  Defaults from the
 * schema are filled in, so a getter returns the default for a key the file
 * does not set.
 *
 * The schemas of the cryptgate programs are conf_schema_kdc,
 * conf_schema_host, conf_schema_gateway and conf_schema_pkt.
 *
 * Thread safety: loading uses no global state; a loaded struct conf may be
 * read from several threads at once.
 */
#ifndef CRYPTGATE_CONF_H
#define CRYPTGATE_CONF_H

#include <sys/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"

/* Longest line, in bytes, not counting the line end ("\n" or "\r\n"). */
#define CONF_MAX_LINE 199
/* Largest configuration file, in bytes. */
#define CONF_MAX_FILE 1048576
/* At most this many errors are reported per file (then a summary line). */
#define CONF_MAX_ERRORS 20
/* At most this many sections per file. */
#define CONF_MAX_SECTIONS 256
/* At most this many addresses, or port ranges, in one list value. */
#define CONF_MAX_LIST 32
/* Longest section instance name, as in "[service NAME]". */
#define CONF_MAX_NAME 63
/* Longest host name in an address. */
#define CONF_MAX_HOST 253

/* Value types (cryptgate.conf(5) describes the syntax of each). */
enum conf_type {
	CONF_SECTION = 0, /* not a key: the entry describes its section */
	CONF_STRING, /* any non-empty text */
	CONF_INT, /* decimal integer in min..max */
	CONF_BOOL, /* yes/no, true/false, on/off, 1/0 */
	CONF_PORT, /* TCP/UDP port 1..65535 */
	CONF_DURATION, /* 30, 30s, 5m, 1h, 1d: seconds, in min..max */
	CONF_SIZE, /* 512, 64k, 1m, 1g: bytes (1k = 1024), in min..max */
	CONF_PATH, /* file name; relative to the file's directory */
	CONF_ADDR, /* one address: IPv4:port, [IPv6]:port, host:port */
	CONF_ADDRLIST, /* one or more CONF_ADDR, space separated */
	CONF_ENUM, /* one of the words in .words */
	CONF_PREFIX, /* IP prefix: 10.0.0.0/24, 2001:db8::/64, or an IP */
	CONF_PORTLIST, /* ports and ranges, space separated: 21 5000-5010 */
};

/* struct conf_schema flags. */
#define CONF_REQUIRED 0x01 /* key: must be set; section: must appear */
#define CONF_NAMED 0x02 /* section: "[type NAME]", any number of them */
#define CONF_HOSTNAME 0x04 /* CONF_ADDR*: host names allowed, not only IPs */

/*
 * One schema entry.  A schema is an array of them ended by an entry whose
 * .section is NULL.  Each section type has one entry with .type
 * CONF_SECTION (and .key NULL) giving its flags, followed by the entries of
 * its keys.  .def is the default in the file's own syntax (e.g. "5m"),
 * parsed like a value from the file; NULL means no default.  .min and .max
 * bound CONF_INT, CONF_DURATION (seconds) and CONF_SIZE (bytes) values and
 * must satisfy min < max for them.  .port is the port CONF_ADDR* values get
 * when they name none (0: the port is required).  .words lists CONF_ENUM's
 * allowed values, separated by "|".
 */
struct conf_schema {
	const char *section;
	const char *key;
	enum conf_type type;
	unsigned int flags;
	const char *def;
	long long min;
	long long max;
	uint16_t port;
	const char *words;
	const char *help;
};

/* A CONF_ADDR value. */
struct conf_addr {
	char host[CONF_MAX_HOST + 1]; /* IP or host name, no brackets */
	uint16_t port;
	int family; /* AF_INET, AF_INET6, or AF_UNSPEC for a host name */
	struct sockaddr_storage ss; /* IP literals: address and port */
	socklen_t sslen; /* 0 for a host name */
};

/* A CONF_PREFIX value: addr/len, host bits zero. */
struct conf_prefix {
	int family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	unsigned int len;
};

/* One element of a CONF_PORTLIST value: lo..hi inclusive. */
struct conf_portrange {
	uint16_t lo;
	uint16_t hi;
};

/*
 * Where errors go.  fn(arg, file, line, msg) is called once per error, in
 * line order; ${line} is 0 for errors about the file as a whole (cannot be
 * read).  ${msg} has no trailing newline and is valid for the call only.
 */
struct conf_report {
	void (*fn)(
	    void *arg, const char *file, unsigned int line, const char *msg);
	void *arg;
};

/* Prints "FILE:LINE: msg" (or "FILE: msg") lines on stderr. */
extern const struct conf_report conf_report_stderr;

struct conf;
struct conf_section;

/**
 * conf_load(path, schema, report): read the configuration file ${path} and
 * check it against ${schema}.  Every error found (up to CONF_MAX_ERRORS)
 * goes to ${report}, or to log_warnx as "FILE:LINE: message" if ${report}
 * is NULL.  Relative CONF_PATH values are made absolute against the
 * directory of ${path}.  Return the configuration, to be freed with
 * conf_free, or NULL if there was any error.  ${schema} must outlive the
 * result.
 */
struct conf *conf_load(const char *path, const struct conf_schema *schema,
    const struct conf_report *report) CG_WUR;

/**
 * conf_load_string(buf, len, name, schema, report): like conf_load, for
 * the ${len} bytes at ${buf} (any bytes: NUL is reported as an error).
 * ${name} is the file name used in messages; relative CONF_PATH values are
 * resolved against its directory part (made absolute if that directory
 * exists, else taken as written; "." if ${name} has no "/").
 */
struct conf *conf_load_string(const char *buf, size_t len, const char *name,
    const struct conf_schema *schema, const struct conf_report *report) CG_WUR;

/**
 * conf_peek(path, types, found, report): read ${path} and set ${found[i]}
 * to whether a section header of type ${types[i]} ("[type]" or "[type
 * name]") appears in it, for each string of the NULL-terminated array
 * ${types}.  Nothing else is checked.  Return 0, or -1 (reported to
 * ${report}, or logged if NULL) if the file cannot be read.
 */
int conf_peek(const char *path, const char *const *types, bool *found,
    const struct conf_report *report) CG_WUR;

/** conf_free(conf): free ${conf} and every string it handed out.  NULL: no-op. */
void conf_free(struct conf *conf);

/** conf_file(conf): the file name ${conf} was loaded from. */
const char *conf_file(const struct conf *conf);

/**
 * conf_section(conf, type, name): the section "[${type} ${name}]" (${name}
 * NULL for a section without name), or NULL if there is none.  Every
 * unnamed section type of the schema is always present, holding its
 * defaults if the file lacks it (conf_section_line is then 0).  The result
 * lives as long as ${conf}.
 */
const struct conf_section *conf_section(
    const struct conf *conf, const char *type, const char *name);

/**
 * conf_section_next(conf, prev, type): the section of type ${type} that
 * follows ${prev} in file order, or the first one if ${prev} is NULL; NULL
 * after the last.  Iterates over the instances of a CONF_NAMED section.
 */
const struct conf_section *conf_section_next(
    const struct conf *conf, const struct conf_section *prev, const char *type);

/** conf_section_count(conf, type): how many sections of type ${type}. */
size_t conf_section_count(const struct conf *conf, const char *type);

/** conf_section_type(sec): the type of ${sec}, e.g. "service". */
const char *conf_section_type(const struct conf_section *sec);

/** conf_section_name(sec): the name of ${sec} ("ftp"), or NULL if none. */
const char *conf_section_name(const struct conf_section *sec);

/** conf_section_line(sec): line of ${sec}'s header; 0 if not in the file. */
unsigned int conf_section_line(const struct conf_section *sec);

/*
 * Getters.  ${key} must be a key of ${sec}'s type in the schema, of a type
 * the getter accepts; otherwise (a bug in the caller) it is logged and the
 * getter returns 0/false/NULL.  A key the file does not set yields its
 * default, or 0/false/NULL if it has none.  Strings and arrays live as long
 * as the struct conf.
 */

/** conf_is_set(sec, key): true if ${key} is set in the file itself. */
bool conf_is_set(const struct conf_section *sec, const char *key);

/** conf_line(sec, key): the line that sets ${key}; 0 if not in the file. */
unsigned int conf_line(const struct conf_section *sec, const char *key);

/** conf_get_str(sec, key): CONF_STRING, CONF_PATH or CONF_ENUM value. */
const char *conf_get_str(const struct conf_section *sec, const char *key);

/** conf_get_int(sec, key): CONF_INT (or any numeric type's) value. */
long long conf_get_int(const struct conf_section *sec, const char *key);

/** conf_get_bool(sec, key): CONF_BOOL value. */
bool conf_get_bool(const struct conf_section *sec, const char *key);

/** conf_get_port(sec, key): CONF_PORT value. */
uint16_t conf_get_port(const struct conf_section *sec, const char *key);

/** conf_get_duration(sec, key): CONF_DURATION value, in seconds. */
long long conf_get_duration(const struct conf_section *sec, const char *key);

/** conf_get_size(sec, key): CONF_SIZE value, in bytes. */
unsigned long long conf_get_size(
    const struct conf_section *sec, const char *key);

/**
 * conf_get_addrs(sec, key, n): CONF_ADDR or CONF_ADDRLIST value: an array
 * of ${*n} addresses in file order (NULL and ${*n} = 0 if unset).
 */
const struct conf_addr *conf_get_addrs(
    const struct conf_section *sec, const char *key, size_t *n);

/** conf_get_addr(sec, key): the first address of conf_get_addrs, or NULL. */
const struct conf_addr *conf_get_addr(
    const struct conf_section *sec, const char *key);

/** conf_get_prefix(sec, key): CONF_PREFIX value, or NULL if unset. */
const struct conf_prefix *conf_get_prefix(
    const struct conf_section *sec, const char *key);

/**
 * conf_get_ports(sec, key, n): CONF_PORTLIST value: ${*n} ranges in file
 * order, not overlapping (NULL and ${*n} = 0 if unset).
 */
const struct conf_portrange *conf_get_ports(
    const struct conf_section *sec, const char *key, size_t *n);

/*
 * The schemas of the cryptgate programs (conf_schema.c); cryptgate.conf(5)
 * documents them.
 */
/* cryptgate-kdcd: [kdc]. */
extern const struct conf_schema conf_schema_kdc[];
/* A host's identity, for the CLI, gatewayd and pktd: [host], [kdc]. */
extern const struct conf_schema conf_schema_host[];
/* cryptgate-gatewayd: [gateway], [service NAME]... */
extern const struct conf_schema conf_schema_gateway[];
/* cryptgate-pktd: [pkt], [policy NAME]... */
extern const struct conf_schema conf_schema_pkt[];

/**
 * conf_schema_lookup(kind): the schema named ${kind} ("kdc", "host",
 * "gateway" or "pkt"), or NULL.
 */
const struct conf_schema *conf_schema_lookup(const char *kind);

#endif /* !CRYPTGATE_CONF_H */
