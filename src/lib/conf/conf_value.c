/*
 * conf_value.c: parse one configuration value by its schema type (the
 * syntax of each type is described in cryptgate.conf(5)).
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cryptgate/conf.h"

#include "conf_value.h"

/* Result of digits(). */
#define DIGITS_OK 0
#define DIGITS_NONE (-1)
#define DIGITS_BIG (-2)

static void why_set(char *why, const char *fmt, ...) CG_PRINTF(2, 3);

static void
why_set(char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, CONF_VALUE_WHYLEN, fmt, ap);
	va_end(ap);
}

static bool
is_digit(char c)
{
	return (c >= '0' && c <= '9');
}

static bool
is_space(char c)
{
	return (c == ' ' || c == '\t');
}

/*
 * Read the decimal digits at ${*sp} into ${*out} and advance ${*sp} past
 * them.  DIGITS_NONE if there is no digit, DIGITS_BIG if the number is
 * larger than ${limit} (all digits are still consumed).
 */
static int
digits(const char **sp, unsigned long long limit, unsigned long long *out)
{
	const char *s = *sp;
	unsigned long long v = 0;
	unsigned int d;
	int rc = DIGITS_OK;

	if (!is_digit(*s))
		return (DIGITS_NONE);
	for (; is_digit(*s); s++) {
		d = (unsigned int)(*s - '0');
		if (rc == DIGITS_OK && (limit < d || v > (limit - d) / 10))
			rc = DIGITS_BIG;
		if (rc == DIGITS_OK)
			v = v * 10 + d;
	}
	*sp = s;
	*out = v;
	return (rc);
}

static int
parse_int(const struct conf_schema *e, const char *s, long long *out, char *why)
{
	unsigned long long u;
	bool neg = false;
	long long v;

	if (*s == '-') {
		neg = true;
		s++;
	}
	if (digits(&s, LLONG_MAX, &u) != DIGITS_OK || *s != '\0')
		goto bad;
	v = neg ? -(long long)u : (long long)u;
	if (v < e->min || v > e->max)
		goto bad;
	*out = v;

	/* Success! */
	return (0);

bad:
	why_set(why, "not an integer in %lld..%lld", e->min, e->max);
	return (-1);
}

/*
 * Number with an optional one-letter unit from ${units} (multipliers in
 * ${mults}); shared by durations and sizes.
 */
static int
parse_scaled(const struct conf_schema *e, const char *s, const char *units,
    const unsigned long long *mults, const char *what, const char *unit,
    long long *out, char *why)
{
	unsigned long long u, mult = 1;
	const char *p;
	int rc;

	if ((rc = digits(&s, LLONG_MAX, &u)) == DIGITS_NONE)
		goto bad;
	if (*s != '\0') {
		if ((p = strchr(units, *s)) == NULL || s[1] != '\0')
			goto bad;
		mult = mults[p - units];
	}
	if (rc == DIGITS_BIG || u > (unsigned long long)LLONG_MAX / mult ||
	    (long long)(u * mult) < e->min || (long long)(u * mult) > e->max) {
		why_set(why, "not a %s in %lld..%lld %s", what, e->min, e->max,
		    unit);
		return (-1);
	}
	*out = (long long)(u * mult);

	/* Success! */
	return (0);

bad:
	why_set(why, "not a %s", what);
	return (-1);
}

static int
parse_bool(const char *s, long long *out, char *why)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return (0);
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return (0);
		}
	}
	why_set(why, "expected yes/no");
	return (-1);
}

/* A port number 1..65535 and nothing else. */
static int
parse_port(const char *s, uint16_t *port)
{
	unsigned long long u;

	if (digits(&s, 65535, &u) != DIGITS_OK || *s != '\0' || u == 0)
		return (-1);
	*port = (uint16_t)u;
	return (0);
}

/* A host name as in RFC 1123: dot-separated labels of [A-Za-z0-9-]. */
static bool
valid_hostname(const char *h)
{
	size_t label = 0;
	bool alldigits = true;
	const char *p;

	if (*h == '\0' || strlen(h) > CONF_MAX_HOST)
		return (false);
	for (p = h; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0 || p[-1] == '-')
				return (false);
			label = 0;
			continue;
		}
		if (!is_digit(*p))
			alldigits = false;
		if (!(is_digit(*p) || (*p >= 'a' && *p <= 'z') ||
		        (*p >= 'A' && *p <= 'Z') || *p == '-'))
			return (false);
		if (label == 0 && *p == '-')
			return (false);
		if (++label > 63)
			return (false);
	}
	/* All digits and dots is a mistyped IPv4 address, not a name. */
	return (label > 0 && p[-1] != '-' && !alldigits);
}

/* Fill ${a}'s host, family and sockaddr from the text ${host}. */
static int
addr_set_host(struct conf_addr *a, const char *host, bool bracketed, bool names)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;

	if (bracketed) {
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return (-1);
		a->family = sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(a->port);
		a->sslen = sizeof(*sin6);
	} else if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		a->family = sin->sin_family = AF_INET;
		sin->sin_port = htons(a->port);
		a->sslen = sizeof(*sin);
	} else if (names && valid_hostname(host)) {
		a->family = AF_UNSPEC;
	} else {
		return (-1);
	}
	snprintf(a->host, sizeof(a->host), "%s", host);
	return (0);
}

static int
parse_addr(
    const struct conf_schema *e, const char *s, struct conf_addr *a, char *why)
{
	char host[CONF_MAX_HOST + 1];
	const char *hs = s, *he, *ps = NULL;
	bool bracketed = false;
	unsigned char tmp[sizeof(struct in6_addr)];

	memset(a, 0, sizeof(*a));
	if (*s == '[') {
		hs = s + 1;
		if ((he = strchr(hs, ']')) == NULL)
			goto bad;
		bracketed = true;
		if (he[1] == ':')
			ps = he + 2;
		else if (he[1] != '\0')
			goto bad;
	} else if ((he = strchr(s, ':')) != NULL) {
		if (strchr(he + 1, ':') != NULL) {
			if (inet_pton(AF_INET6, s, tmp) == 1) {
				why_set(why,
				    "an IPv6 address needs brackets, "
				    "as in [%s]:%u",
				    s, e->port != 0 ? e->port : 7441);
				return (-1);
			}
			goto bad;
		}
		ps = he + 1;
	} else {
		he = s + strlen(s);
	}
	if (he == hs || (size_t)(he - hs) > CONF_MAX_HOST)
		goto bad;
	memcpy(host, hs, (size_t)(he - hs));
	host[he - hs] = '\0';
	if (ps == NULL) {
		if (e->port == 0) {
			why_set(why, "missing port (as in %s:PORT)", s);
			return (-1);
		}
		a->port = e->port;
	} else if (parse_port(ps, &a->port) == -1) {
		why_set(why, "'%s' is not a port number", ps);
		return (-1);
	}
	if (addr_set_host(
	        a, host, bracketed, (e->flags & CONF_HOSTNAME) != 0) == -1)
		goto bad;

	/* Success! */
	return (0);

bad:
	why_set(why, "%s",
	    (e->flags & CONF_HOSTNAME) ? "not a host:port address"
	                               : "not an IP address:port");
	return (-1);
}

/* Split ${s} at spaces into a new array of words; NULL if out of memory. */
static char **
split_words(const char *s, size_t *n)
{
	char **w = NULL, **tmp;
	const char *e;

	*n = 0;
	for (;;) {
		while (is_space(*s))
			s++;
		if (*s == '\0')
			break;
		for (e = s; *e != '\0' && !is_space(*e); e++)
			;
		if ((tmp = realloc(w, (*n + 2) * sizeof(*w))) == NULL)
			goto err;
		w = tmp;
		if ((w[*n] = strndup(s, (size_t)(e - s))) == NULL)
			goto err;
		w[++*n] = NULL;
		s = e;
	}
	if (w == NULL && (w = calloc(1, sizeof(*w))) == NULL)
		goto err;

	/* Success! */
	return (w);

err:
	while (w != NULL && *n > 0)
		free(w[--*n]);
	free(w);
	return (NULL);
}

static void
free_words(char **w)
{
	size_t i;

	for (i = 0; w != NULL && w[i] != NULL; i++)
		free(w[i]);
	free(w);
}

static int
parse_addrlist(
    const struct conf_schema *e, const char *s, struct conf_value *v, char *why)
{
	char **w;
	struct conf_addr *a = NULL;
	char r[CONF_VALUE_WHYLEN];
	size_t n, i, j;

	if ((w = split_words(s, &n)) == NULL)
		goto nomem;
	if (n == 0) {
		why_set(why, "missing value");
		goto err;
	}
	if (n > CONF_MAX_LIST || (e->type == CONF_ADDR && n != 1)) {
		why_set(why,
		    e->type == CONF_ADDR ? "expected one address"
		                         : "too many addresses "
		                           "(max %d)",
		    CONF_MAX_LIST);
		goto err;
	}
	if ((a = calloc(n, sizeof(*a))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		if (parse_addr(e, w[i], &a[i], r) == -1) {
			if (n == 1)
				why_set(why, "%s", r);
			else
				why_set(why, "'%s': %s", w[i], r);
			goto err;
		}
		for (j = 0; j < i; j++) {
			if (a[j].port == a[i].port &&
			    strcasecmp(a[j].host, a[i].host) == 0) {
				why_set(why, "duplicate address '%s'", w[i]);
				goto err;
			}
		}
	}
	free_words(w);
	v->addrs = a;
	v->naddrs = n;

	/* Success! */
	return (0);

nomem:
	why_set(why, "out of memory");
err:
	free(a);
	free_words(w);
	return (-1);
}

static int
parse_enum(const struct conf_schema *e, const char *s, char **out, char *why)
{
	const char *w = e->words, *end;
	size_t len = strlen(s), off = 0;
	int k;

	while (w != NULL && *w != '\0') {
		end = strchr(w, '|');
		if (end == NULL)
			end = w + strlen(w);
		if ((size_t)(end - w) == len && strncmp(w, s, len) == 0) {
			if ((*out = strdup(s)) == NULL) {
				why_set(why, "out of memory");
				return (-1);
			}
			return (0);
		}
		w = *end == '|' ? end + 1 : end;
	}

	/* "expected a, b or c" */
	off = (size_t)snprintf(why, CONF_VALUE_WHYLEN, "expected ");
	for (w = e->words; w != NULL && *w != '\0' && off < CONF_VALUE_WHYLEN;
	     w = *end == '|' ? end + 1 : end) {
		if ((end = strchr(w, '|')) == NULL)
			end = w + strlen(w);
		k = snprintf(why + off, CONF_VALUE_WHYLEN - off, "%s%.*s",
		    w == e->words ? "" : (*end == '\0' ? " or " : ", "),
		    (int)(end - w), w);
		if (k < 0)
			break;
		off += (size_t)k;
	}
	return (-1);
}

static int
parse_prefix(const char *s, struct conf_prefix *pfx, char *why)
{
	char addr[INET6_ADDRSTRLEN + 1], fix[INET6_ADDRSTRLEN];
	const char *slash, *l;
	unsigned long long len;
	unsigned int maxlen, i, nbytes;
	struct conf_prefix p;
	bool hostbits = false;
	uint8_t mask;

	memset(&p, 0, sizeof(p));
	slash = strchr(s, '/');
	if ((slash ? (size_t)(slash - s) : strlen(s)) >= sizeof(addr))
		goto bad;
	snprintf(addr, sizeof(addr), "%.*s",
	    (int)(slash ? (size_t)(slash - s) : strlen(s)), s);
	if (inet_pton(AF_INET, addr, p.addr) == 1) {
		p.family = AF_INET;
		maxlen = 32;
	} else if (inet_pton(AF_INET6, addr, p.addr) == 1) {
		p.family = AF_INET6;
		maxlen = 128;
	} else {
		goto bad;
	}
	len = maxlen;
	if (slash != NULL) {
		l = slash + 1;
		if (digits(&l, maxlen, &len) != DIGITS_OK || *l != '\0')
			goto bad;
	}
	p.len = (unsigned int)len;

	/* Clear the host bits, remembering whether any was set. */
	nbytes = maxlen / 8;
	for (i = 0; i < nbytes; i++) {
		if (i * 8 >= p.len)
			mask = 0;
		else if (i * 8 + 8 <= p.len)
			mask = 0xff;
		else
			mask = (uint8_t)(0xff << (8 - (p.len - i * 8)));
		if (p.addr[i] & ~mask)
			hostbits = true;
		p.addr[i] &= mask;
	}
	if (hostbits) {
		if (inet_ntop(p.family, p.addr, fix, sizeof(fix)) == NULL)
			goto bad;
		why_set(why, "host bits set (did you mean %s/%u?)", fix, p.len);
		return (-1);
	}
	*pfx = p;

	/* Success! */
	return (0);

bad:
	why_set(why, "not an IP prefix (as in 10.0.0.0/24 or 2001:db8::/64)");
	return (-1);
}

/* "21" or "5000-5010". */
static int
parse_portrange(const char *s, struct conf_portrange *r)
{
	char lo[8];
	const char *dash = strchr(s, '-');

	if (dash == NULL) {
		if (parse_port(s, &r->lo) == -1)
			return (-1);
		r->hi = r->lo;
		return (0);
	}
	if ((size_t)(dash - s) >= sizeof(lo))
		return (-1);
	snprintf(lo, sizeof(lo), "%.*s", (int)(dash - s), s);
	if (parse_port(lo, &r->lo) == -1 || parse_port(dash + 1, &r->hi) == -1)
		return (-1);
	return (0);
}

static int
parse_portlist(const char *s, struct conf_value *v, char *why)
{
	char **w;
	struct conf_portrange *r = NULL;
	size_t n, i, j;

	if ((w = split_words(s, &n)) == NULL)
		goto nomem;
	if (n == 0) {
		why_set(why, "missing value");
		goto err;
	}
	if (n > CONF_MAX_LIST) {
		why_set(
		    why, "too many ports and ranges (max %d)", CONF_MAX_LIST);
		goto err;
	}
	if ((r = calloc(n, sizeof(*r))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		if (parse_portrange(w[i], &r[i]) == -1) {
			why_set(why, "'%s' is not a port or port range", w[i]);
			goto err;
		}
		if (r[i].lo > r[i].hi) {
			why_set(why, "'%s' is not a port range (%u > %u)", w[i],
			    r[i].lo, r[i].hi);
			goto err;
		}
		for (j = 0; j < i; j++) {
			if (r[i].lo <= r[j].hi && r[j].lo <= r[i].hi) {
				why_set(why, "'%s' overlaps '%s'", w[i], w[j]);
				goto err;
			}
		}
	}
	free_words(w);
	v->ports = r;
	v->nports = n;

	/* Success! */
	return (0);

nomem:
	why_set(why, "out of memory");
err:
	free(r);
	free_words(w);
	return (-1);
}

static int
parse_path(const char *s, const char *basedir, char **out, char *why)
{
	size_t len;

	if (s[0] == '/' || basedir == NULL)
		len = strlen(s);
	else
		len = strlen(basedir) + 1 + strlen(s);
	if (len >= PATH_MAX) {
		why_set(why, "path too long (max %d bytes)", PATH_MAX - 1);
		return (-1);
	}
	if ((*out = malloc(len + 1)) == NULL) {
		why_set(why, "out of memory");
		return (-1);
	}
	if (s[0] == '/' || basedir == NULL)
		memcpy(*out, s, len + 1);
	else
		snprintf(*out, len + 1, "%s/%s", basedir, s);
	return (0);
}

int
conf_value_parse(const struct conf_schema *ent, const char *s,
    const char *basedir, struct conf_value *v,
    char why[static CONF_VALUE_WHYLEN])
{
	static const unsigned long long dur_mult[] = { 1, 60, 3600, 86400 };
	static const unsigned long long size_mult[] = { 1ULL << 10, 1ULL << 10,
		1ULL << 20, 1ULL << 20, 1ULL << 30, 1ULL << 30 };
	struct conf_value nv;
	uint16_t port = 0;
	int rc = -1;

	memset(&nv, 0, sizeof(nv));
	why[0] = '\0';
	switch (ent->type) {
	case CONF_STRING:
		if ((nv.str = strdup(s)) == NULL)
			why_set(why, "out of memory");
		else
			rc = 0;
		break;
	case CONF_INT:
		rc = parse_int(ent, s, &nv.num, why);
		break;
	case CONF_BOOL:
		rc = parse_bool(s, &nv.num, why);
		break;
	case CONF_PORT:
		if ((rc = parse_port(s, &port)) == -1)
			why_set(why, "not a port number");
		nv.num = port;
		break;
	case CONF_DURATION:
		rc = parse_scaled(ent, s, "smhd", dur_mult, "duration",
		    "seconds", &nv.num, why);
		break;
	case CONF_SIZE:
		rc = parse_scaled(
		    ent, s, "kKmMgG", size_mult, "size", "bytes", &nv.num, why);
		break;
	case CONF_PATH:
		rc = parse_path(s, basedir, &nv.str, why);
		break;
	case CONF_ADDR:
	case CONF_ADDRLIST:
		rc = parse_addrlist(ent, s, &nv, why);
		break;
	case CONF_ENUM:
		rc = parse_enum(ent, s, &nv.str, why);
		break;
	case CONF_PREFIX:
		rc = parse_prefix(s, &nv.pfx, why);
		break;
	case CONF_PORTLIST:
		rc = parse_portlist(s, &nv, why);
		break;
	case CONF_SECTION:
	default:
		why_set(why, "not a key");
		break;
	}
	if (rc == -1)
		goto err;
	nv.set = true;
	nv.line = v->line;
	conf_value_free(v);
	*v = nv;

	/* Success! */
	return (0);

err:
	conf_value_free(&nv);
	return (-1);
}

void
conf_value_free(struct conf_value *v)
{
	free(v->str);
	free(v->addrs);
	free(v->ports);
	memset(v, 0, sizeof(*v));
}
