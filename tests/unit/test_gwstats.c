/*
 * test_gwstats.c: the gateway's connection limits (src/gatewayd/stats.c):
 * stats_admit says which limit refused a connection (the gateway's
 * max_connections, the service's, max_connections_per_client), takes no
 * slot when it refuses, and stats_release gives every slot back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <string.h>
#include <syslog.h>

#include "../../src/gatewayd/stats.c"

/* What stats.c takes from the rest of the daemon. */
size_t
keys_cache_count(void)
{
	return (0);
}

const char *
gwconf_role_name(enum gw_role role)
{
	(void)role;
	return ("server");
}

static struct sockaddr_storage
v4(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &s->sin_addr), 1);
	return (ss);
}

static int
setup(void **state)
{
	(void)state;
	return (stats_init(1));
}

static int
teardown(void **state)
{
	(void)state;
	stats_fini();
	return (0);
}

/* The service's limit, then the gateway's; a refusal takes no slot. */
static void
test_limits(void **state)
{
	struct stats_svc *a = stats_service("a", ROLE_SERVER);
	struct stats_svc *b = stats_service("b", ROLE_SERVER);
	struct sockaddr_storage p = v4("192.0.2.1", 1000);
	bool counted = true;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	/* Gateway 3, service a 2, no per-client limit. */
	assert_int_equal(stats_admit(a, 3, 2, &p, 0, &counted), ADMIT_OK);
	assert_false(counted);
	assert_int_equal(stats_admit(a, 3, 2, &p, 0, &counted), ADMIT_OK);
	assert_int_equal(stats_admit(a, 3, 2, &p, 0, &counted), ADMIT_SERVICE);
	assert_int_equal(stats_active(), 2);
	assert_int_equal(atomic_load(&a->active), 2);
	assert_int_equal(stats_admit(b, 3, 0, &p, 0, &counted), ADMIT_OK);
	assert_int_equal(stats_admit(b, 3, 0, &p, 0, &counted), ADMIT_GATEWAY);
	assert_int_equal(stats_admit(a, 3, 2, &p, 0, &counted), ADMIT_GATEWAY);
	assert_int_equal(stats_active(), 3);
	assert_int_equal(atomic_load(&b->active), 1);
	/* Released: room again. */
	stats_release(a, &p, false);
	assert_int_equal(stats_admit(b, 3, 0, &p, 0, &counted), ADMIT_OK);
	stats_release(a, &p, false);
	stats_release(b, &p, false);
	stats_release(b, &p, false);
	assert_int_equal(stats_active(), 0);
	assert_int_equal(atomic_load(&a->active), 0);
	assert_int_equal(atomic_load(&b->active), 0);
}

/* max_connections_per_client counts addresses, not ports. */
static void
test_per_client(void **state)
{
	struct stats_svc *s = stats_service("c", ROLE_SERVER);
	struct sockaddr_storage p1 = v4("192.0.2.1", 1000);
	struct sockaddr_storage p1b = v4("192.0.2.1", 2000);
	struct sockaddr_storage p2 = v4("192.0.2.2", 1000);
	bool c1 = false, c2 = false, c3 = true;

	(void)state;
	assert_non_null(s);
	assert_int_equal(stats_admit(s, 100, 0, &p1, 2, &c1), ADMIT_OK);
	assert_true(c1);
	assert_int_equal(stats_admit(s, 100, 0, &p1b, 2, &c2), ADMIT_OK);
	assert_int_equal(stats_admit(s, 100, 0, &p1, 2, &c3), ADMIT_CLIENT);
	assert_false(c3);
	assert_int_equal(stats_active(), 2);
	/* Another address has its own count. */
	assert_int_equal(stats_admit(s, 100, 0, &p2, 2, &c3), ADMIT_OK);
	assert_true(c3);
	/* One released: that address may connect again. */
	stats_release(s, &p1, c1);
	assert_int_equal(stats_admit(s, 100, 0, &p1b, 2, &c1), ADMIT_OK);
	/* The service limit is checked before the client's. */
	assert_int_equal(stats_admit(s, 100, 3, &p1, 2, &c3), ADMIT_SERVICE);
	stats_release(s, &p1, c1);
	stats_release(s, &p1b, c2);
	stats_release(s, &p2, true);
	assert_int_equal(stats_active(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_per_client, setup, teardown),
	};

	log_init(1, 0, LOG_USER);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
