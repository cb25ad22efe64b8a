/*
 * stats.c: the gateway's counters and connection limits.
 *
 * Counters are kept per service (by name, so that they survive reloads)
 * and per worker: each worker adds to its own cache line without
 * contention; the status socket sums them.  The limits (gateway, service,
 * client address) are shared by the workers: atomic counts, and for the
 * per-client limit a small hash table behind a mutex (used only when the
 * service sets max_connections_per_client).
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gatewayd.h"

#define CT_BUCKETS 256

struct stats_ctr {
	_Alignas(64) atomic_uint_fast64_t v[ST_COUNT];
};

struct client_ent {
	struct client_ent *next;
	uint8_t addr[17]; /* family, then 16 address bytes */
	long n;
};

struct stats_svc {
	struct stats_svc *next;
	char name[CONF_MAX_NAME + 1];
	atomic_int role;
	struct stats_ctr *per; /* one per worker */
	atomic_long active;
	pthread_mutex_t mu;
	struct client_ent *ct[CT_BUCKETS];
};

static struct {
	pthread_mutex_t mu;
	struct stats_svc *list;
	unsigned int nworkers;
	atomic_long active;
	int64_t start_ms;
} S = { .mu = PTHREAD_MUTEX_INITIALIZER };

static const char *const names[ST_COUNT] = {
	[ST_ACCEPTED] = "accepted",
	[ST_CLOSED] = "closed",
	[ST_REFUSED] = "refused",
	[ST_HS_OK] = "handshakes",
	[ST_HS_BAD_PSK] = "hs_bad_psk",
	[ST_HS_UNKNOWN] = "hs_unknown_identity",
	[ST_HS_TIMEOUT] = "hs_timeout",
	[ST_HS_MALFORMED] = "hs_malformed",
	[ST_HS_KDC_DOWN] = "hs_kdc_down",
	[ST_HS_OTHER] = "hs_other",
	[ST_BYTES_IN] = "bytes_in",
	[ST_BYTES_OUT] = "bytes_out",
	[ST_BACKEND_FAIL] = "backend_failures",
	[ST_RESETS] = "resets",
	[ST_FTP_DATA] = "ftp_data",
	[ST_FTP_REFUSED] = "ftp_refused",
	[ST_FTP_HIJACK] = "ftp_hijack",
};

const char *
stats_reason_name(enum stat_id id)
{
	return ((unsigned int)id < ST_COUNT ? names[id] : "?");
}

int
stats_init(unsigned int nworkers)
{
	S.nworkers = nworkers;
	S.start_ms = kdcclient_now_ms();
	atomic_store(&S.active, 0);
	return (0);
}

void
stats_fini(void)
{
	struct stats_svc *st;
	struct client_ent *e;
	size_t i;

	while ((st = S.list) != NULL) {
		S.list = st->next;
		for (i = 0; i < CT_BUCKETS; i++) {
			while ((e = st->ct[i]) != NULL) {
				st->ct[i] = e->next;
				free(e);
			}
		}
		pthread_mutex_destroy(&st->mu);
		free(st->per);
		free(st);
	}
}

struct stats_svc *
stats_service(const char *name, enum gw_role role)
{
	struct stats_svc *st;

	pthread_mutex_lock(&S.mu);
	for (st = S.list; st != NULL; st = st->next) {
		if (strcmp(st->name, name) == 0)
			break;
	}
	if (st == NULL) {
		if ((st = calloc(1, sizeof(*st))) == NULL ||
		    (st->per = aligned_alloc(64,
		         sizeof(struct stats_ctr) * GW_WORKERS_MAX)) == NULL) {
			free(st);
			st = NULL;
			log_warnx("out of memory");
			goto out;
		}
		memset(st->per, 0, sizeof(struct stats_ctr) * GW_WORKERS_MAX);
		snprintf(st->name, sizeof(st->name), "%s", name);
		pthread_mutex_init(&st->mu, NULL);
		st->next = S.list;
		S.list = st;
	}
	atomic_store(&st->role, (int)role);
out:
	pthread_mutex_unlock(&S.mu);
	return (st);
}

void
stats_add(struct stats_svc *st, unsigned int w, enum stat_id id, uint64_t n)
{
	atomic_fetch_add_explicit(&st->per[w].v[id], n, memory_order_relaxed);
}

static uint64_t
sum(const struct stats_svc *st, enum stat_id id)
{
	uint64_t t = 0;
	unsigned int w;

	for (w = 0; w < S.nworkers; w++)
		t += atomic_load_explicit(
		    &st->per[w].v[id], memory_order_relaxed);
	return (t);
}

/* The client address of ${ss} as 17 bytes; false if not IP. */
static bool
client_key(uint8_t key[17], const struct sockaddr_storage *ss)
{
	const struct sockaddr_in *sin = (const void *)ss;
	const struct sockaddr_in6 *sin6 = (const void *)ss;

	memset(key, 0, 17);
	if (ss->ss_family == AF_INET) {
		key[0] = 4;
		memcpy(&key[1], &sin->sin_addr, 4);
	} else if (ss->ss_family == AF_INET6) {
		key[0] = 6;
		memcpy(&key[1], &sin6->sin6_addr, 16);
	} else {
		return (false);
	}
	return (true);
}

static size_t
client_hash(const uint8_t key[17])
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < 17; i++)
		h = (h ^ key[i]) * 16777619u;
	return (h % CT_BUCKETS);
}

/* Count one more connection from ${ss}: ADMIT_OK, ADMIT_CLIENT if over
 * ${max}, ADMIT_NOMEM. */
static enum stats_admit
client_take(struct stats_svc *st, const struct sockaddr_storage *ss, long max)
{
	struct client_ent *e;
	uint8_t key[17];
	size_t h;
	enum stats_admit r = ADMIT_CLIENT;

	if (!client_key(key, ss))
		return (ADMIT_OK);
	h = client_hash(key);
	pthread_mutex_lock(&st->mu);
	for (e = st->ct[h]; e != NULL; e = e->next) {
		if (memcmp(e->addr, key, sizeof(key)) == 0)
			break;
	}
	if (e == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL) {
			r = ADMIT_NOMEM;
			goto out;
		}
		memcpy(e->addr, key, sizeof(key));
		e->next = st->ct[h];
		st->ct[h] = e;
	}
	if (e->n < max) {
		e->n++;
		r = ADMIT_OK;
	}
out:
	pthread_mutex_unlock(&st->mu);
	return (r);
}

static void
client_give(struct stats_svc *st, const struct sockaddr_storage *ss)
{
	struct client_ent *e, **pp;
	uint8_t key[17];
	size_t h;

	if (!client_key(key, ss))
		return;
	h = client_hash(key);
	pthread_mutex_lock(&st->mu);
	for (pp = &st->ct[h]; (e = *pp) != NULL; pp = &e->next) {
		if (memcmp(e->addr, key, sizeof(key)) == 0) {
			if (--e->n <= 0) {
				*pp = e->next;
				free(e);
			}
			break;
		}
	}
	pthread_mutex_unlock(&st->mu);
}

enum stats_admit
stats_admit(struct stats_svc *st, size_t max_total, long max_svc,
    const struct sockaddr_storage *peer, long max_client, bool *counted)
{
	enum stats_admit r = ADMIT_SERVICE;

	*counted = false;
	if ((size_t)atomic_fetch_add(&S.active, 1) >= max_total) {
		atomic_fetch_sub(&S.active, 1);
		return (ADMIT_GATEWAY);
	}
	if (atomic_fetch_add(&st->active, 1) >= max_svc && max_svc > 0)
		goto undo;
	if (max_client > 0) {
		if ((r = client_take(st, peer, max_client)) != ADMIT_OK)
			goto undo;
		*counted = true;
	}
	return (ADMIT_OK);

undo:
	atomic_fetch_sub(&st->active, 1);
	atomic_fetch_sub(&S.active, 1);
	return (r);
}

void
stats_release(
    struct stats_svc *st, const struct sockaddr_storage *peer, bool counted)
{
	if (counted)
		client_give(st, peer);
	atomic_fetch_sub(&st->active, 1);
	atomic_fetch_sub(&S.active, 1);
}

long
stats_active(void)
{
	return (atomic_load(&S.active));
}

size_t
stats_format(char *buf, size_t size, const struct gwconf *cf)
{
	const struct service *svc;
	size_t off = 0, i;
	int n, id;

#define ADD(...) \
	do { \
		n = snprintf(buf + off, size - off, __VA_ARGS__); \
		if (n < 0 || (size_t)n >= size - off) \
			goto full; \
		off += (size_t)n; \
	} while (0)

	if (size == 0)
		return (0);
	buf[0] = '\0';
	ADD("gateway pid=%ld uptime=%lld workers=%u active=%ld "
	    "max_connections=%zu key_cache=%zu\n",
	    (long)getpid(), (long long)(kdcclient_now_ms() - S.start_ms) / 1000,
	    S.nworkers, stats_active(), cf->max_conns, keys_cache_count());
	for (i = 0; i < cf->nsvcs; i++) {
		svc = &cf->svcs[i];
		ADD("service=%s role=%s protocol=%s active=%ld", svc->name,
		    gwconf_role_name(svc->role), svc->ftp ? "ftp" : "tcp",
		    atomic_load(&svc->st->active));
		for (id = 0; id < ST_COUNT; id++)
			ADD(" %s=%llu", names[id],
			    (unsigned long long)sum(svc->st, (enum stat_id)id));
		ADD("\n");
	}
	return (off);

full:
	buf[off] = '\0';
	return (off);
#undef ADD
}
