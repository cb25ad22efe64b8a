/*
 * test_conf.c: the configuration loader: every value type (good, bad,
 * boundaries), every error with its line number, defaults, relative paths,
 * named sections, line length, BOM, CRLF, unreadable files, the program
 * schemas, the files in tests/data/conf/ and the man page's coverage.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cryptgate/conf.h"

#include "../../src/lib/conf/conf_value.h"

#define MAXMSG 64

/* Errors collected by the capture reporter. */
static struct capture {
	size_t n;
	unsigned int line[MAXMSG];
	char msg[MAXMSG][600];
	char file[MAXMSG][256];
} cap;

static void
cap_fn(void *arg, const char *file, unsigned int line, const char *msg)
{
	(void)arg;
	if (cap.n == MAXMSG)
		return;
	cap.line[cap.n] = line;
	snprintf(cap.msg[cap.n], sizeof(cap.msg[0]), "%s", msg);
	snprintf(cap.file[cap.n], sizeof(cap.file[0]), "%s", file);
	cap.n++;
}

static const struct conf_report capture = { cap_fn, NULL };

/* A schema with one key of every type. */
static const struct conf_schema ts[] = {
	{ "t", NULL, CONF_SECTION, 0, NULL, 0, 0, 0, NULL, "all types" },
	{ "t", "s", CONF_STRING, 0, "dflt", 0, 0, 0, NULL, NULL },
	{ "t", "i", CONF_INT, 0, "5", -10, 100, 0, NULL, NULL },
	{ "t", "b", CONF_BOOL, 0, "no", 0, 0, 0, NULL, NULL },
	{ "t", "p", CONF_PORT, 0, "80", 0, 0, 0, NULL, NULL },
	{ "t", "d", CONF_DURATION, 0, "1m", 0, 86400, 0, NULL, NULL },
	{ "t", "z", CONF_SIZE, 0, "64k", 1, 1LL << 32, 0, NULL, NULL },
	{ "t", "path", CONF_PATH, 0, "rel/default", 0, 0, 0, NULL, NULL },
	{ "t", "a", CONF_ADDR, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "t", "ah", CONF_ADDR, CONF_HOSTNAME, NULL, 0, 0, 7441, NULL, NULL },
	{ "t", "al", CONF_ADDRLIST, 0, "127.0.0.1", 0, 0, 7441, NULL, NULL },
	{ "t", "e", CONF_ENUM, 0, "red", 0, 0, 0, "red|green|blue", NULL },
	{ "t", "pf", CONF_PREFIX, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "t", "pl", CONF_PORTLIST, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "n", NULL, CONF_SECTION, CONF_NAMED, NULL, 0, 0, 0, NULL, NULL },
	{ "n", "v", CONF_INT, CONF_REQUIRED, NULL, 0, 10, 0, NULL, NULL },
	{ "n", "w", CONF_STRING, 0, "w-default", 0, 0, 0, NULL, NULL },
	{ "r", NULL, CONF_SECTION, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "r", "x", CONF_STRING, 0, NULL, 0, 0, 0, NULL, NULL },
	{ NULL, NULL, CONF_SECTION, 0, NULL, 0, 0, 0, NULL, NULL },
};

/* Like ts, but [r] has a required key and [n] must appear. */
static const struct conf_schema treq[] = {
	{ "r", NULL, CONF_SECTION, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "r", "must", CONF_STRING, CONF_REQUIRED, NULL, 0, 0, 0, NULL, NULL },
	{ "r", "opt", CONF_STRING, 0, NULL, 0, 0, 0, NULL, NULL },
	{ "n", NULL, CONF_SECTION, CONF_NAMED | CONF_REQUIRED, NULL, 0, 0, 0,
	    NULL, NULL },
	{ "n", "k", CONF_STRING, 0, NULL, 0, 0, 0, NULL, NULL },
	{ NULL, NULL, CONF_SECTION, 0, NULL, 0, 0, 0, NULL, NULL },
};

static struct conf *
load_as(const char *text, size_t len, const char *name,
    const struct conf_schema *schema)
{
	memset(&cap, 0, sizeof(cap));
	return (conf_load_string(text, len, name, schema, &capture));
}

static struct conf *
loads(const char *text, const char *name, const struct conf_schema *schema)
{
	return (load_as(text, strlen(text), name, schema));
}

static struct conf *
load(const char *text)
{
	return (load_as(text, strlen(text), "/nonexistent-dir/t.conf", ts));
}

/* Assert that an error at ${line} contains ${sub}. */
static void
expect_error(unsigned int line, const char *sub)
{
	size_t i;

	for (i = 0; i < cap.n; i++) {
		if (cap.line[i] == line && strstr(cap.msg[i], sub) != NULL)
			return;
	}
	for (i = 0; i < cap.n; i++)
		print_message("# got %u: %s\n", cap.line[i], cap.msg[i]);
	fail_msg("no error at line %u containing \"%s\"", line, sub);
}

/* Load "[t]\n${key} = ${value}\n"; it must succeed. */
static struct conf *
good_value(const char *key, const char *value)
{
	char buf[1024];
	struct conf *c;
	size_t i;

	snprintf(buf, sizeof(buf), "[t]\n%s = %s\n", key, value);
	c = load(buf);
	for (i = 0; i < cap.n; i++)
		print_message("# %s = %s: %s\n", key, value, cap.msg[i]);
	assert_non_null(c);
	assert_int_equal(cap.n, 0);
	return (c);
}

/* Load "[t]\n${key} = ${value}\n"; it must fail, saying ${why} on line 2. */
static void
bad_value(const char *key, const char *value, const char *why)
{
	char buf[1024], exp[1024];

	snprintf(buf, sizeof(buf), "[t]\n%s = %s\n", key, value);
	assert_null(load(buf));
	assert_int_equal(cap.n, 1);
	snprintf(
	    exp, sizeof(exp), "invalid value '%s' for %s: %s", value, key, why);
	if (strcmp(cap.msg[0], exp) != 0)
		fail_msg("got \"%s\", want \"%s\"", cap.msg[0], exp);
	assert_int_equal(cap.line[0], 2);
	assert_string_equal(cap.file[0], "/nonexistent-dir/t.conf");
}

static const struct conf_section *
tsec(const struct conf *c)
{
	const struct conf_section *s = conf_section(c, "t", NULL);

	assert_non_null(s);
	return (s);
}

static void
test_int(void **state)
{
	static const struct {
		const char *in;
		long long out;
	} good[] = { { "0", 0 }, { "-10", -10 }, { "100", 100 }, { "007", 7 },
		{ "-0", 0 } };
	static const char *const bad[] = { "101", "-11", "1.5", "abc", "5x",
		"+5", "0x10", "99999999999999999999", "-99999999999999999999",
		"1 2", "--1" };
	struct conf *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		c = good_value("i", good[i].in);
		assert_int_equal(conf_get_int(tsec(c), "i"), good[i].out);
		conf_free(c);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		bad_value("i", bad[i], "not an integer in -10..100");
}

static void
test_bool(void **state)
{
	static const char *const yes[] = { "yes", "true", "on", "1", "YES",
		"True" };
	static const char *const no[] = { "no", "false", "off", "0", "Off" };
	static const char *const bad[] = { "2", "yess", "y", "enabled", "-1" };
	struct conf *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		c = good_value("b", yes[i]);
		assert_true(conf_get_bool(tsec(c), "b"));
		conf_free(c);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		c = good_value("b", no[i]);
		assert_false(conf_get_bool(tsec(c), "b"));
		assert_true(conf_is_set(tsec(c), "b"));
		conf_free(c);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		bad_value("b", bad[i], "expected yes/no");
}

static void
test_port(void **state)
{
	static const char *const bad[] = { "0", "65536", "-1", "http", "8O",
		"100000", "80 81" };
	struct conf *c;
	size_t i;

	(void)state;
	c = good_value("p", "1");
	assert_int_equal(conf_get_port(tsec(c), "p"), 1);
	conf_free(c);
	c = good_value("p", "65535");
	assert_int_equal(conf_get_port(tsec(c), "p"), 65535);
	conf_free(c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		bad_value("p", bad[i], "not a port number");
}

static void
test_duration(void **state)
{
	static const struct {
		const char *in;
		long long out;
	} good[] = { { "0", 0 }, { "30", 30 }, { "30s", 30 }, { "5m", 300 },
		{ "1h", 3600 }, { "24h", 86400 }, { "1d", 86400 },
		{ "86400", 86400 }, { "1440m", 86400 } };
	static const char *const syntax[] = { "5x", "1h30m", "m", "-5", "5 m",
		"1.5h", "5M", "5sec", "s5" };
	static const char *const range[] = { "86401", "2d", "25h",
		"99999999999999999999d", "999999999999999999d" };
	struct conf *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		c = good_value("d", good[i].in);
		assert_int_equal(conf_get_duration(tsec(c), "d"), good[i].out);
		conf_free(c);
	}
	for (i = 0; i < sizeof(syntax) / sizeof(syntax[0]); i++)
		bad_value("d", syntax[i], "not a duration");
	for (i = 0; i < sizeof(range) / sizeof(range[0]); i++)
		bad_value("d", range[i], "not a duration in 0..86400 seconds");
}

static void
test_size(void **state)
{
	static const struct {
		const char *in;
		unsigned long long out;
	} good[] = { { "1", 1 }, { "512", 512 }, { "64k", 65536 },
		{ "64K", 65536 }, { "1m", 1048576 }, { "1M", 1048576 },
		{ "4g", 4ULL << 30 }, { "4294967296", 4ULL << 30 } };
	struct conf *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		c = good_value("z", good[i].in);
		assert_int_equal(conf_get_size(tsec(c), "z"), good[i].out);
		conf_free(c);
	}
	bad_value("z", "1t", "not a size");
	bad_value("z", "k", "not a size");
	bad_value("z", "1.5k", "not a size");
	bad_value("z", "0", "not a size in 1..4294967296 bytes");
	bad_value("z", "5g", "not a size in 1..4294967296 bytes");
	bad_value("z", "4294967297", "not a size in 1..4294967296 bytes");
}

static void
test_string_and_enum(void **state)
{
	struct conf *c;

	(void)state;
	/* Inline comments need a blank before ';'; '#' is not one. */
	c = good_value("s", "a b ; comment");
	assert_string_equal(conf_get_str(tsec(c), "s"), "a b");
	conf_free(c);
	c = good_value("s", "a;b # c = d");
	assert_string_equal(conf_get_str(tsec(c), "s"), "a;b # c = d");
	conf_free(c);
	c = good_value("e", "blue");
	assert_string_equal(conf_get_str(tsec(c), "e"), "blue");
	conf_free(c);
	bad_value("e", "Red", "expected red, green or blue");
	bad_value("e", "re", "expected red, green or blue");
	bad_value("e", "red green", "expected red, green or blue");
}

static void
test_path(void **state)
{
	char cwd[PATH_MAX], want[PATH_MAX + 16], dir[] = "/tmp/tconfXXXXXX";
	char file[PATH_MAX];
	struct conf *c;
	FILE *f;

	(void)state;
	c = good_value("path", "/abs/key");
	assert_string_equal(conf_get_str(tsec(c), "path"), "/abs/key");
	conf_free(c);
	/* Relative to the file's directory (taken as written if missing). */
	c = good_value("path", "keys/k.key");
	assert_string_equal(
	    conf_get_str(tsec(c), "path"), "/nonexistent-dir/keys/k.key");
	assert_string_equal(conf_get_str(tsec(c), "s"), "dflt");
	conf_free(c);
	/* Defaults too. */
	c = good_value("s", "x");
	assert_string_equal(
	    conf_get_str(tsec(c), "path"), "/nonexistent-dir/rel/default");
	conf_free(c);
	/* No directory part: the current directory, made absolute. */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	c = loads("[t]\npath = k\n", "t.conf", ts);
	assert_non_null(c);
	snprintf(want, sizeof(want), "%s/k", cwd);
	assert_string_equal(conf_get_str(tsec(c), "path"), want);
	conf_free(c);
	/* conf_load: against the real directory, through ".." too. */
	assert_non_null(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/x.conf", dir);
	assert_non_null(f = fopen(file, "w"));
	fputs("[t]\npath = sub/../k.key\n", f);
	fclose(f);
	snprintf(file, sizeof(file), "%s/../%s/x.conf", dir, dir + 5);
	memset(&cap, 0, sizeof(cap));
	assert_non_null(c = conf_load(file, ts, &capture));
	snprintf(want, sizeof(want), "%s/sub/../k.key", dir);
	assert_string_equal(conf_get_str(tsec(c), "path"), want);
	conf_free(c);
	snprintf(file, sizeof(file), "%s/x.conf", dir);
	unlink(file);
	rmdir(dir);
}

static void
test_addr(void **state)
{
	const struct conf_addr *a;
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;
	struct conf *c;
	size_t n;

	(void)state;
	c = good_value("a", "127.0.0.1:80");
	a = conf_get_addr(tsec(c), "a");
	assert_non_null(a);
	assert_int_equal(a->family, AF_INET);
	assert_int_equal(a->port, 80);
	assert_string_equal(a->host, "127.0.0.1");
	sin = (const struct sockaddr_in *)&a->ss;
	assert_int_equal(a->sslen, sizeof(*sin));
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 80);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	conf_free(c);

	c = good_value("a", "[2001:db8::1]:65535");
	a = conf_get_addrs(tsec(c), "a", &n);
	assert_int_equal(n, 1);
	assert_int_equal(a->family, AF_INET6);
	assert_string_equal(a->host, "2001:db8::1");
	sin6 = (const struct sockaddr_in6 *)&a->ss;
	assert_int_equal(a->sslen, sizeof(*sin6));
	assert_int_equal(ntohs(sin6->sin6_port), 65535);
	assert_int_equal(sin6->sin6_addr.s6_addr[0], 0x20);
	assert_int_equal(sin6->sin6_addr.s6_addr[15], 1);
	conf_free(c);

	/* Host names only where allowed; default port where given. */
	c = good_value("ah", "kdc-1.example.com");
	a = conf_get_addr(tsec(c), "ah");
	assert_int_equal(a->family, AF_UNSPEC);
	assert_int_equal(a->sslen, 0);
	assert_string_equal(a->host, "kdc-1.example.com");
	assert_int_equal(a->port, 7441);
	conf_free(c);
	c = good_value("ah", "[::1]");
	assert_int_equal(conf_get_addr(tsec(c), "ah")->port, 7441);
	assert_int_equal(conf_get_addr(tsec(c), "ah")->family, AF_INET6);
	conf_free(c);
	c = good_value("ah", "localhost:9");
	assert_int_equal(conf_get_addr(tsec(c), "ah")->port, 9);
	conf_free(c);

	bad_value("a", "127.0.0.1", "missing port (as in 127.0.0.1:PORT)");
	bad_value("a", "[::1]", "missing port (as in [::1]:PORT)");
	bad_value("a", "1.2.3.4:0", "'0' is not a port number");
	bad_value("a", "1.2.3.4:65536", "'65536' is not a port number");
	bad_value("a", "1.2.3.4:", "'' is not a port number");
	bad_value(
	    "a", "::1", "an IPv6 address needs brackets, as in [::1]:7441");
	bad_value("a", "[::1]:80x", "'80x' is not a port number");
	bad_value("a", "localhost:80", "not an IP address:port");
	bad_value("a", "[1.2.3.4]:80", "not an IP address:port");
	bad_value("a", "1.2.3.256:80", "not an IP address:port");
	bad_value("a", "[::1]x", "not an IP address:port");
	bad_value("a", "[::1:80", "not an IP address:port");
	bad_value("a", ":80", "not an IP address:port");
	bad_value("a", "1:2:3", "not an IP address:port");
	bad_value("a", "1.2.3.4:80 5.6.7.8:80", "expected one address");
	bad_value("ah", "1.2.3.999", "not a host:port address");
	bad_value("ah", "-bad.example:1", "not a host:port address");
	bad_value("ah", "bad-.example:1", "not a host:port address");
	bad_value("ah", "a..b:1", "not a host:port address");
	bad_value("ah", "host_name:1", "not a host:port address");
	bad_value("ah", "[kdc.example]:1", "not a host:port address");
	bad_value("ah", "a.b.:1", "not a host:port address");
	bad_value("ah",
	    "a234567890123456789012345678901234567890123456789012345678901234."
	    "x",
	    "not a host:port address");
}

static void
test_addrlist(void **state)
{
	const struct conf_addr *a;
	struct conf *c;
	char big[512];
	size_t n, i;

	(void)state;
	c = good_value("al", "127.0.0.1  [::1]:9\t10.0.0.1:1");
	a = conf_get_addrs(tsec(c), "al", &n);
	assert_int_equal(n, 3);
	assert_int_equal(a[0].port, 7441);
	assert_int_equal(a[1].port, 9);
	assert_int_equal(a[1].family, AF_INET6);
	assert_string_equal(a[2].host, "10.0.0.1");
	conf_free(c);
	bad_value("al", "127.0.0.1 127.0.0.1:7441",
	    "duplicate address '127.0.0.1:7441'");
	bad_value("al", "127.0.0.1:1, 127.0.0.2:1",
	    "'127.0.0.1:1,': '1,' is not a port number");
	/* 33 addresses: one too many (and the line stays under 200). */
	big[0] = '\0';
	for (i = 0; i < CONF_MAX_LIST + 1; i++)
		snprintf(big + strlen(big), sizeof(big) - strlen(big), "%s%zu",
		    i ? " " : "", i + 1);
	bad_value("al", big, "too many addresses (max 32)");
}

#define NOT_PFX "not an IP prefix (as in 10.0.0.0/24 or 2001:db8::/64)"

static void
test_prefix(void **state)
{
	static const struct {
		const char *in;
		int family;
		unsigned int len;
		uint8_t b0;
	} good[] = { { "10.0.0.0/24", AF_INET, 24, 10 },
		{ "192.0.2.7", AF_INET, 32, 192 },
		{ "0.0.0.0/0", AF_INET, 0, 0 },
		{ "2001:db8::/64", AF_INET6, 64, 0x20 },
		{ "::/0", AF_INET6, 0, 0 }, { "::1", AF_INET6, 128, 0 },
		{ "10.1.2.3/32", AF_INET, 32, 10 } };
	const struct conf_prefix *p;
	struct conf *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		c = good_value("pf", good[i].in);
		assert_non_null(p = conf_get_prefix(tsec(c), "pf"));
		assert_int_equal(p->family, good[i].family);
		assert_int_equal(p->len, good[i].len);
		assert_int_equal(p->addr[0], good[i].b0);
		conf_free(c);
	}
	bad_value(
	    "pf", "10.0.0.1/24", "host bits set (did you mean 10.0.0.0/24?)");
	bad_value("pf", "10.0.0.129/25",
	    "host bits set (did you mean 10.0.0.128/25?)");
	bad_value(
	    "pf", "fe80::1/64", "host bits set (did you mean fe80::/64?)");
	bad_value("pf", "10.0.0.0/33", NOT_PFX);
	bad_value("pf", "::/129", NOT_PFX);
	bad_value("pf", "10.0.0.0/", NOT_PFX);
	bad_value("pf", "10.0.0/24", NOT_PFX);
	bad_value("pf", "10.0.0.0/2x", NOT_PFX);
	bad_value("pf", "example.com/24", NOT_PFX);
}

static void
test_portlist(void **state)
{
	const struct conf_portrange *r;
	struct conf *c;
	char big[256];
	size_t n, i;

	(void)state;
	c = good_value("pl", "21 23 5000-5010");
	r = conf_get_ports(tsec(c), "pl", &n);
	assert_int_equal(n, 3);
	assert_int_equal(r[0].lo, 21);
	assert_int_equal(r[0].hi, 21);
	assert_int_equal(r[2].lo, 5000);
	assert_int_equal(r[2].hi, 5010);
	conf_free(c);
	c = good_value("pl", "1-65535");
	r = conf_get_ports(tsec(c), "pl", &n);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].hi, 65535);
	conf_free(c);
	bad_value("pl", "0", "'0' is not a port or port range");
	bad_value("pl", "5-", "'5-' is not a port or port range");
	bad_value("pl", "-5", "'-5' is not a port or port range");
	bad_value("pl", "1-65536", "'1-65536' is not a port or port range");
	bad_value("pl", "21,22", "'21,22' is not a port or port range");
	bad_value("pl", "10-5", "'10-5' is not a port range (10 > 5)");
	bad_value("pl", "1-10 10", "'10' overlaps '1-10'");
	bad_value("pl", "5 1-10", "'1-10' overlaps '5'");
	big[0] = '\0';
	for (i = 0; i < CONF_MAX_LIST + 1; i++)
		snprintf(big + strlen(big), sizeof(big) - strlen(big), "%s%zu",
		    i ? " " : "", i + 1);
	bad_value("pl", big, "too many ports and ranges (max 32)");
}

/* One file with (nearly) every kind of error, each on its own line. */
static void
test_errors(void **state)
{
	static const struct {
		const char *line;
		const char *err; /* NULL: no error on this line */
	} f[] = {
		{ "# comment", NULL },
		{ "name = x", "'name' is outside of any section" },
		{ "[t]", NULL },
		{ "s = a", NULL },
		{ "s = b", "duplicate key 's' (first at line 4)" },
		{ "bogus = 1", "unknown key 'bogus' in section [t]" },
		{ "i = 1000",
		    "invalid value '1000' for i: not an integer in "
		    "-10..100" },
		{ "   continued", "continuation lines are not allowed" },
		{ "no equals here", "expected '[section]' or 'key = value'" },
		{ " = 5", "missing key name before '='" },
		{ "bad key = 1", "invalid key name 'bad key'" },
		{ "b =", "missing value for 'b'" },
		{ "[t]", "duplicate section [t] (first at line 3)" },
		{ "s = ignored", NULL },
		{ "[x]", "unknown section [x]" },
		{ "[n]", "section [n] needs a name, as in [n NAME]" },
		{ "[r name]", "section [r] takes no name" },
		{ "[n a b]", "section header has more than two words" },
		{ "[n a] junk", "unexpected text after section header" },
		{ "[n a", "missing ']' in section header" },
		{ "[n one]", "missing required key 'v' in section [n one]" },
		{ "w = 1", NULL },
		{ "[n one]", "duplicate section [n one] (first at line 21)" },
		{ "[n two]   ; comment", NULL },
		{ "v = 3", NULL },
		{ "\t# indented comment", NULL },
		{ "[ n   three ]", NULL },
		{ "  v = 1", NULL },
		{ "w = x = y ; z", NULL },
	};
	char buf[2048];
	size_t i, len = 0, nerr = 0;

	(void)state;
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		len += (size_t)snprintf(
		    buf + len, sizeof(buf) - len, "%s\n", f[i].line);
		assert_true(len < sizeof(buf));
	}
	assert_null(load(buf));
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (f[i].err == NULL)
			continue;
		expect_error((unsigned int)i + 1, f[i].err);
		nerr++;
	}
	assert_int_equal(cap.n, nerr);
	/* Reported in line order. */
	for (i = 1; i < cap.n; i++)
		assert_true(cap.line[i - 1] <= cap.line[i]);
	/* Messages are exactly what the table says. */
	assert_string_equal(cap.msg[0], f[1].err);

	/* The other section errors. */
	assert_null(load("[]\n[n bad/name]\n[n "
	                 "a234567890123456789012345678901234567890123456789012"
	                 "345678901234]\n[ti]\n[t]\ni = 1\npth = 1\n"));
	expect_error(1, "empty section header");
	expect_error(2,
	    "invalid section name 'bad/name' (up to 63 letters, "
	    "digits, '.', '_' or '-')");
	expect_error(3, "invalid section name 'a2345");
	expect_error(4, "unknown section [ti]");
	expect_error(7,
	    "unknown key 'pth' in section [t] (did you mean "
	    "'path'?)");
	assert_int_equal(cap.n, 5);
}

static void
test_error_cap(void **state)
{
	char buf[4096];
	size_t i;

	(void)state;
	strcpy(buf, "[t]\n");
	for (i = 0; i < 30; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
		    "bogus%zu = 1\n", i);
	assert_null(load(buf));
	assert_int_equal(cap.n, CONF_MAX_ERRORS + 1);
	assert_int_equal(cap.line[0], 2);
	assert_int_equal(cap.line[CONF_MAX_ERRORS - 1], CONF_MAX_ERRORS + 1);
	assert_string_equal(
	    cap.msg[CONF_MAX_ERRORS], "too many errors, 10 more not shown");
	assert_int_equal(cap.line[CONF_MAX_ERRORS], CONF_MAX_ERRORS + 1);
}

static void
test_required(void **state)
{
	struct conf *c;
	const char *name = "/nonexistent-dir/r.conf";

	(void)state;
	c = loads("[r]\nmust = 1\n[n x]\n", name, treq);
	assert_non_null(c);
	conf_free(c);
	assert_null(loads("[r]\nopt = 1\nbogus = 2\n[n x]\n", name, treq));
	assert_int_equal(cap.n, 2);
	assert_int_equal(cap.line[0], 1);
	assert_string_equal(cap.msg[0],
	    "missing required key 'must' in "
	    "section [r]");
	expect_error(3, "unknown key 'bogus' in section [r]");
	/* Missing sections, at line 1; whitespace-only and empty files. */
	assert_null(loads("  \n\n", name, treq));
	assert_int_equal(cap.n, 2);
	expect_error(1, "missing required section [r]");
	expect_error(1, "missing required section [n NAME]");
	assert_null(loads("", name, treq));
	assert_int_equal(cap.n, 2);
	expect_error(1, "missing required section [r]");
	/* An invalid value still counts as present. */
	assert_null(load("[n a]\nv = 11\n"));
	assert_int_equal(cap.n, 1);
	expect_error(2, "invalid value '11' for v: not an integer in 0..10");
}

/* A line of exactly ${len} characters setting key s (len >= 10). */
static void
long_line(char *buf, size_t len)
{
	memcpy(buf, "s = ", 4);
	memset(buf + 4, 'a', len - 4);
	buf[len] = '\0';
}

static void
test_long_lines(void **state)
{
	char line[6000], buf[7000];
	struct conf *c;

	(void)state;
	long_line(line, CONF_MAX_LINE);
	snprintf(buf, sizeof(buf), "[t]\n%s\n", line);
	assert_non_null(c = load(buf));
	assert_int_equal(strlen(conf_get_str(tsec(c), "s")), CONF_MAX_LINE - 4);
	conf_free(c);
	/* The same with CRLF, and the last line without a line end. */
	snprintf(buf, sizeof(buf), "[t]\r\n%s\r\n", line);
	assert_non_null(c = load(buf));
	conf_free(c);
	snprintf(buf, sizeof(buf), "[t]\n%s", line);
	assert_non_null(c = load(buf));
	conf_free(c);
	/* A BOM does not count. */
	snprintf(buf, sizeof(buf), "\xef\xbb\xbf[t]%196s\n", "");
	assert_int_equal(strlen(buf), 3 + 199 + 1);
	assert_non_null(c = load(buf));
	conf_free(c);

	/* 200 and 5000 characters: an error, and the next line is intact. */
	long_line(line, CONF_MAX_LINE + 1);
	snprintf(buf, sizeof(buf), "[t]\n%s\ni = 1000\n", line);
	assert_null(load(buf));
	assert_int_equal(cap.n, 2);
	assert_string_equal(cap.msg[0], "line too long (max 199 characters)");
	assert_int_equal(cap.line[0], 2);
	expect_error(3, "not an integer in -10..100");
	long_line(line, 5000);
	snprintf(buf, sizeof(buf), "[t]\n%s\ni = 1000\n", line);
	assert_null(load(buf));
	assert_int_equal(cap.n, 2);
	expect_error(2, "line too long (max 199 characters)");
	expect_error(3, "not an integer in -10..100");
	/* Comments too: nothing is cut silently. */
	memset(line, '#', 250);
	line[250] = '\0';
	snprintf(buf, sizeof(buf), "%s\n[t]\n", line);
	assert_null(load(buf));
	expect_error(1, "line too long");
}

static void
test_bom_crlf_bytes(void **state)
{
	static const char nul[] = "[t]\ns = a\0b\ni = 2\n";
	struct conf *c;

	(void)state;
	c = load("\xef\xbb\xbf[t]\r\ns = x\r\ni = 7\r\n\r\n");
	assert_non_null(c);
	assert_string_equal(conf_get_str(tsec(c), "s"), "x");
	assert_int_equal(conf_get_int(tsec(c), "i"), 7);
	assert_int_equal(conf_line(tsec(c), "i"), 3);
	conf_free(c);
	c = load("[t]\ns =\tx\t\n");
	assert_non_null(c);
	assert_string_equal(conf_get_str(tsec(c), "s"), "x");
	conf_free(c);
	/* A BOM after line 1 is not one. */
	assert_null(load("[t]\n\xef\xbb\xbfs = x\n"));
	expect_error(2, "invalid key name");
	assert_null(load("[t]\ns = a\rb\n"));
	expect_error(2, "invalid control character 0x0d");
	assert_null(load("[t]\ns = \x01\n"));
	expect_error(2, "invalid control character 0x01");
	assert_null(load("[t]\ns = a\x7f\n"));
	expect_error(2, "invalid control character 0x7f");
	assert_null(load_as(nul, sizeof(nul) - 1, "n.conf", ts));
	assert_int_equal(cap.n, 1);
	expect_error(2, "invalid control character 0x00");
	/* UTF-8 in values is fine. */
	c = load("[t]\ns = caf\xc3\xa9\n");
	assert_non_null(c);
	assert_string_equal(conf_get_str(tsec(c), "s"), "caf\xc3\xa9");
	conf_free(c);
}

static void
test_files(void **state)
{
	char dir[] = "/tmp/tconfXXXXXX", path[PATH_MAX];
	const char *types[] = { "t", "n", "kdc", "x", NULL };
	bool found[5];
	struct conf *c;
	FILE *f;
	size_t i;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	memset(&cap, 0, sizeof(cap));
	assert_null(conf_load(path, ts, &capture));
	assert_int_equal(cap.n, 1);
	assert_int_equal(cap.line[0], 0);
	assert_string_equal(cap.file[0], path);
	assert_string_equal(
	    cap.msg[0], "cannot open: No such file or directory");
	memset(&cap, 0, sizeof(cap));
	assert_int_equal(conf_peek(path, types, found, &capture), -1);
	assert_int_equal(cap.n, 1);

	memset(&cap, 0, sizeof(cap));
	assert_null(conf_load(dir, ts, &capture));
	assert_int_equal(cap.n, 1);
	assert_string_equal(
	    cap.msg[0], "is a directory, not a configuration file");

	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	memset(&cap, 0, sizeof(cap));
	assert_null(conf_load(path, ts, &capture));
	assert_string_equal(cap.msg[0], "not a regular file");
	unlink(path);

	/* CONF_MAX_FILE bytes load; one more does not. */
	snprintf(path, sizeof(path), "%s/big.conf", dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("\xef\xbb\xbf[t]\n  [ n  x ]\nv=1\n[kdc\n", f);
	for (i = (size_t)ftell(f); i < CONF_MAX_FILE; i++)
		fputc(i % 64 == 63 ? '\n' : '#', f);
	fclose(f);
	memset(&cap, 0, sizeof(cap));
	assert_int_equal(conf_peek(path, types, found, &capture), 0);
	assert_true(found[0] && found[1] && found[2]);
	assert_false(found[3]);
	c = conf_load(path, ts, &capture);
	assert_int_equal(cap.n, 1); /* [kdc: missing ']' */
	assert_null(c);
	assert_non_null(f = fopen(path, "a"));
	fputc('\n', f);
	fclose(f);
	memset(&cap, 0, sizeof(cap));
	assert_null(conf_load(path, ts, &capture));
	assert_int_equal(cap.n, 1);
	assert_string_equal(cap.msg[0], "file too large (max 1048576 bytes)");
	unlink(path);
	rmdir(dir);
}

static void
test_defaults(void **state)
{
	const struct conf_section *t;
	const struct conf_addr *a;
	struct conf *c;
	size_t n;

	(void)state;
	assert_non_null(c = load(""));
	assert_string_equal(conf_file(c), "/nonexistent-dir/t.conf");
	t = tsec(c);
	assert_int_equal(conf_section_line(t), 0);
	assert_null(conf_section_name(t));
	assert_string_equal(conf_section_type(t), "t");
	assert_string_equal(conf_get_str(t, "s"), "dflt");
	assert_int_equal(conf_get_int(t, "i"), 5);
	assert_false(conf_get_bool(t, "b"));
	assert_int_equal(conf_get_port(t, "p"), 80);
	assert_int_equal(conf_get_duration(t, "d"), 60);
	assert_int_equal(conf_get_size(t, "z"), 65536);
	assert_string_equal(conf_get_str(t, "e"), "red");
	assert_string_equal(
	    conf_get_str(t, "path"), "/nonexistent-dir/rel/default");
	a = conf_get_addrs(t, "al", &n);
	assert_int_equal(n, 1);
	assert_string_equal(a[0].host, "127.0.0.1");
	assert_int_equal(a[0].port, 7441);
	/* No default: nothing. */
	n = 99;
	assert_null(conf_get_addrs(t, "a", &n));
	assert_int_equal(n, 0);
	assert_null(conf_get_addr(t, "ah"));
	assert_null(conf_get_prefix(t, "pf"));
	n = 99;
	assert_null(conf_get_ports(t, "pl", &n));
	assert_int_equal(n, 0);
	assert_false(conf_is_set(t, "s"));
	assert_int_equal(conf_line(t, "s"), 0);
	assert_non_null(conf_section(c, "r", NULL));
	assert_null(conf_get_str(conf_section(c, "r", NULL), "x"));
	assert_null(conf_section(c, "n", NULL));
	assert_null(conf_section(c, "nope", NULL));
	assert_int_equal(conf_section_count(c, "n"), 0);
	assert_int_equal(conf_section_count(c, "t"), 1);
	conf_free(c);
}

static void
test_named(void **state)
{
	const struct conf_section *s, *a, *b;
	struct conf *c;

	(void)state;
	c = load("[n b]\nv = 1\n[t]\ns = q\n[n a]\nv = 2\nw = x\n[n A]\nv=0\n");
	assert_non_null(c);
	assert_int_equal(conf_section_count(c, "n"), 3);
	s = conf_section_next(c, NULL, "n");
	assert_string_equal(conf_section_name(s), "b");
	assert_int_equal(conf_section_line(s), 1);
	s = conf_section_next(c, s, "n");
	assert_string_equal(conf_section_name(s), "a");
	s = conf_section_next(c, s, "n");
	assert_string_equal(conf_section_name(s), "A");
	assert_null(conf_section_next(c, s, "n"));
	assert_non_null(a = conf_section(c, "n", "a"));
	assert_non_null(b = conf_section(c, "n", "b"));
	assert_string_equal(conf_section_type(a), "n");
	assert_int_equal(conf_section_line(a), 5);
	assert_int_equal(conf_get_int(a, "v"), 2);
	assert_string_equal(conf_get_str(a, "w"), "x");
	assert_int_equal(conf_line(a, "w"), 7);
	assert_true(conf_is_set(a, "w"));
	assert_int_equal(conf_get_int(b, "v"), 1);
	assert_string_equal(conf_get_str(b, "w"), "w-default");
	assert_false(conf_is_set(b, "w"));
	assert_null(conf_section(c, "n", "c"));
	assert_null(conf_section(c, "t", "a"));
	assert_int_equal(conf_section_line(tsec(c)), 3);
	conf_free(c);
	/* Too many sections. */
	{
		char *buf = malloc(CONF_MAX_SECTIONS * 16 + 64);
		size_t i;

		assert_non_null(buf);
		buf[0] = '\0';
		for (i = 0; i <= CONF_MAX_SECTIONS; i++)
			sprintf(buf + strlen(buf), "[n s%zu]\nv=1\n", i);
		assert_null(load(buf));
		/* 2 unnamed sections exist already: the 255th named fails. */
		assert_int_equal(cap.n, 3);
		expect_error(2 * (CONF_MAX_SECTIONS - 2) + 1,
		    "too many sections (max 256)");
		free(buf);
	}
}

static void
test_misuse(void **state)
{
	struct conf *c;
	size_t n = 5;

	(void)state;
	assert_non_null(c = load("[t]\ns = x\n"));
	/* Logged (on stderr) and harmless. */
	assert_int_equal(conf_get_int(tsec(c), "s"), 0);
	assert_null(conf_get_str(tsec(c), "i"));
	assert_false(conf_get_bool(tsec(c), "nokey"));
	assert_null(conf_get_addrs(tsec(c), "s", &n));
	assert_int_equal(n, 0);
	assert_int_equal(conf_get_port(NULL, "p"), 0);
	assert_null(conf_get_str(NULL, "s"));
	assert_int_equal(conf_line(NULL, "s"), 0);
	conf_free(c);
	conf_free(NULL);
}

static const struct conf_schema *const programs[] = { conf_schema_kdc,
	conf_schema_host, conf_schema_gateway, conf_schema_pkt };
static const char *const program_names[] = { "kdc", "host", "gateway", "pkt" };

/* Every program schema is well formed and its defaults are valid. */
static void
test_schemas(void **state)
{
	const struct conf_schema *e, *sec, *o;
	struct conf_value v;
	char why[CONF_VALUE_WHYLEN];
	size_t i;

	(void)state;
	for (i = 0; i < 4; i++) {
		assert_ptr_equal(
		    conf_schema_lookup(program_names[i]), programs[i]);
		assert_int_equal(programs[i][0].type, CONF_SECTION);
		sec = programs[i];
		for (e = programs[i]; e->section != NULL; e++) {
			assert_non_null(e->help);
			if (e->type == CONF_SECTION) {
				assert_null(e->key);
				sec = e;
				continue;
			}
			assert_string_equal(e->section, sec->section);
			for (o = sec + 1; o < e; o++)
				assert_string_not_equal(o->key, e->key);
			if (e->type == CONF_INT || e->type == CONF_DURATION ||
			    e->type == CONF_SIZE)
				assert_true(e->min < e->max);
			if (e->type == CONF_ENUM)
				assert_non_null(e->words);
			if (e->def == NULL)
				continue;
			assert_false(e->flags & CONF_REQUIRED);
			memset(&v, 0, sizeof(v));
			if (conf_value_parse(e, e->def, NULL, &v, why) == -1)
				fail_msg("[%s] %s default: %s", e->section,
				    e->key, why);
			conf_value_free(&v);
		}
	}
	assert_null(conf_schema_lookup("bogus"));
}

/* The programs' defaults are the ones documented. */
static void
test_program_defaults(void **state)
{
	const struct conf_section *s;
	const struct conf_addr *a;
	struct conf *c;
	size_t n;

	(void)state;
	c = loads("[kdc]\nsigning_key=s\nmaster_key=/m\n", "/etc/k.conf",
	    conf_schema_kdc);
	assert_non_null(c);
	s = conf_section(c, "kdc", NULL);
	assert_string_equal(conf_get_str(s, "name"), "kdc1");
	a = conf_get_addrs(s, "listen", &n);
	assert_int_equal(n, 1);
	assert_string_equal(a->host, "127.0.0.1");
	assert_int_equal(a->port, 7441);
	assert_string_equal(
	    conf_get_str(s, "database"), "/var/lib/cryptgate/kdc.db");
	assert_string_equal(conf_get_str(s, "signing_key"), "/etc/s");
	assert_null(conf_get_str(s, "audit_log"));
	assert_int_equal(conf_get_duration(s, "key_lifetime"), 3600);
	assert_int_equal(conf_get_duration(s, "max_key_lifetime"), 86400);
	assert_int_equal(conf_get_duration(s, "clock_skew"), 120);
	assert_int_equal(conf_get_int(s, "workers"), 0);
	assert_false(conf_get_bool(s, "legacy_retrieve_by_address"));
	conf_free(c);

	c = loads("[host]\nname=h\nkey=k\n[kdc]\naddress=kdc\npublic_key=p\n",
	    "/etc/h.conf", conf_schema_host);
	assert_non_null(c);
	s = conf_section(c, "kdc", NULL);
	assert_string_equal(conf_get_str(s, "name"), "kdc1");
	assert_int_equal(conf_get_duration(s, "timeout"), 5);
	assert_int_equal(conf_get_addr(s, "address")->port, 7441);
	assert_null(conf_get_str(s, "public_key_next"));
	conf_free(c);

	c = loads("[gateway]\nhost_config=h\n[service s]\nrole=server\n"
	          "listen=127.0.0.1:1\n",
	    "/etc/g.conf", conf_schema_gateway);
	assert_non_null(c);
	s = conf_section(c, "gateway", NULL);
	assert_int_equal(conf_get_int(s, "workers"), 0);
	assert_int_equal(conf_get_duration(s, "key_cache_ttl"), 60);
	assert_int_equal(conf_get_int(s, "max_connections"), 1024);
	assert_int_equal(conf_get_duration(s, "handshake_timeout"), 10);
	assert_int_equal(conf_get_duration(s, "idle_timeout"), 300);
	s = conf_section(c, "service", "s");
	assert_string_equal(conf_get_str(s, "protocol"), "tcp");
	assert_false(conf_get_bool(s, "proxy_protocol"));
	assert_int_equal(conf_get_int(s, "max_connections_per_client"), 0);
	assert_null(conf_get_addr(s, "backend"));
	conf_free(c);

	c = loads("[pkt]\nhost_config=h\n[policy p]\npeer=10.0.0.0/8\n"
	          "ports=1\n",
	    "/etc/p.conf", conf_schema_pkt);
	assert_non_null(c);
	s = conf_section(c, "pkt", NULL);
	assert_int_equal(conf_get_int(s, "queues"), 1);
	assert_int_equal(conf_get_int(s, "queue_num"), 0);
	assert_string_equal(
	    conf_get_str(conf_section(c, "policy", "p"), "direction"), "both");
	conf_free(c);
}

/* Every section and key of every program schema is in the man page. */
static void
test_manpage(void **state)
{
	const struct conf_schema *e;
	char *man, needle[128];
	FILE *f;
	long len;
	size_t i;

	(void)state;
	f = fopen(CG_SRCDIR "/docs/man/cryptgate.conf.5", "r");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	assert_true((len = ftell(f)) > 0);
	rewind(f);
	assert_non_null(man = calloc(1, (size_t)len + 1));
	assert_int_equal(fread(man, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	for (i = 0; i < 4; i++) {
		for (e = programs[i]; e->section != NULL; e++) {
			if (e->type == CONF_SECTION)
				snprintf(
				    needle, sizeof(needle), "[%s", e->section);
			else
				snprintf(needle, sizeof(needle),
				    ".BI \"%s = \"", e->key);
			if (strstr(man, needle) == NULL)
				fail_msg("%s not in cryptgate.conf.5", needle);
		}
	}
	free(man);
}

/* Run tests/data/conf/{good,bad}/KIND-*.conf; return how many. */
static size_t
data_dir(const char *which, bool good)
{
	char dir[PATH_MAX], path[PATH_MAX * 2], kind[16], expect[512];
	struct dirent *de;
	struct conf *c;
	size_t n = 0, i, k;
	bool hit, lines;
	DIR *d;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/tests/data/conf/%s", CG_SRCDIR, which);
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		k = strlen(de->d_name);
		if (k < 6 || strcmp(de->d_name + k - 5, ".conf") != 0)
			continue;
		k = strcspn(de->d_name, "-.");
		assert_true(k < sizeof(kind));
		snprintf(kind, sizeof(kind), "%.*s", (int)k, de->d_name);
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		memset(&cap, 0, sizeof(cap));
		c = conf_load(path, conf_schema_lookup(kind), &capture);
		if (good) {
			for (i = 0; i < cap.n; i++)
				print_message("# %s:%u: %s\n", path,
				    cap.line[i], cap.msg[i]);
			assert_non_null(c);
			conf_free(c);
			n++;
			continue;
		}
		if (c != NULL)
			fail_msg("%s loaded without error", path);
		assert_non_null(f = fopen(path, "r"));
		assert_non_null(fgets(expect, sizeof(expect), f));
		fclose(f);
		assert_int_equal(strncmp(expect, "# expect: ", 10), 0);
		expect[strcspn(expect, "\n")] = '\0';
		hit = false;
		lines = true;
		for (i = 0; i < cap.n; i++) {
			hit |= strstr(cap.msg[i], expect + 10) != NULL;
			lines &= cap.line[i] > 0;
		}
		if (!hit || !lines) {
			for (i = 0; i < cap.n; i++)
				print_message(
				    "# got %u: %s\n", cap.line[i], cap.msg[i]);
			fail_msg(
			    "%s: no line-numbered \"%s\"", path, expect + 10);
		}
		n++;
	}
	closedir(d);
	return (n);
}

static void
test_data_files(void **state)
{
	const struct conf_section *s;
	const struct conf_addr *a;
	struct conf *c;
	size_t n;

	(void)state;
	assert_true(data_dir("good", true) >= 5);
	assert_true(data_dir("bad", false) >= 30);
	/* A closer look at one good file. */
	memset(&cap, 0, sizeof(cap));
	c = conf_load(CG_SRCDIR "/tests/data/conf/good/gateway.conf",
	    conf_schema_gateway, &capture);
	assert_non_null(c);
	assert_int_equal(conf_section_count(c, "service"), 3);
	s = conf_section(c, "gateway", NULL);
	assert_int_equal(conf_get_duration(s, "idle_timeout"), 300);
	assert_string_equal(conf_get_str(s, "host_config"),
	    CG_SRCDIR "/tests/data/conf/good/host.conf");
	s = conf_section(c, "service", "ftp");
	assert_string_equal(conf_get_str(s, "role"), "server");
	assert_string_equal(conf_get_str(s, "protocol"), "ftp");
	a = conf_get_addrs(s, "listen", &n);
	assert_int_equal(n, 2);
	assert_int_equal(a[1].family, AF_INET6);
	assert_int_equal(a[1].port, 2121);
	s = conf_section(c, "service", "web-out");
	assert_string_equal(
	    conf_get_addr(s, "connect")->host, "gw.example.net");
	assert_true(conf_get_bool(s, "proxy_protocol"));
	conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_port),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_string_and_enum),
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_addrlist),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_portlist),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_required),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_bom_crlf_bytes),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_named),
		cmocka_unit_test(test_misuse),
		cmocka_unit_test(test_schemas),
		cmocka_unit_test(test_program_defaults),
		cmocka_unit_test(test_manpage),
		cmocka_unit_test(test_data_files),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
