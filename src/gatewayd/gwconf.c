/*
 * gwconf.c: loading gateway.conf into a struct gwconf: the [gateway]
 * settings, the services with their addresses resolved, the host
 * configuration and KDC client when a service needs the KDC, the key
 * files, and the TLS contexts.  Everything is checked here, so that a
 * reload that fails leaves the running configuration alone.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <linux/capability.h>
#include <netdb.h>
#include <netinet/in.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cryptgate/encode.h"

#include "gatewayd.h"

const char *
gwconf_role_name(enum gw_role role)
{
	switch (role) {
	case ROLE_SERVER:
		return ("server");
	case ROLE_CLIENT:
		return ("client");
	case ROLE_TRANSPARENT:
		return ("transparent");
	}
	return ("?");
}

bool
gwconf_uses_kdc(const struct service *svc)
{
	return (svc->keys == NULL);
}

struct gwconf *
gwconf_ref(struct gwconf *cf)
{
	atomic_fetch_add(&cf->refs, 1);
	return (cf);
}

static void
gwconf_free(struct gwconf *cf)
{
	size_t i;

	tls_ctx_free(cf->sctx);
	tls_ctx_free(cf->cctx);
	kdcclient_free(cf->kc);
	for (i = 0; cf->svcs != NULL && i < cf->nsvcs; i++) {
		keycfg_free(cf->svcs[i].keys);
		free(cf->svcs[i].dest_src);
	}
	free(cf->svcs);
	conf_free(cf->hostconf);
	conf_free(cf->conf);
	free(cf);
}

void
gwconf_unref(struct gwconf *cf)
{
	if (cf != NULL && atomic_fetch_sub(&cf->refs, 1) == 1)
		gwconf_free(cf);
}

/* Resolve the configuration address ${a} into ${ss}; 0 or -1 (logged). */
static int
resolve(const struct conf_addr *a, struct sockaddr_storage *ss,
    socklen_t *sslen, const char *what, const struct service *svc)
{
	struct addrinfo hints, *res = NULL;
	char port[8];
	int e;

	if (a->sslen > 0) {
		memcpy(ss, &a->ss, a->sslen);
		*sslen = a->sslen;
		return (0);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", a->port);
	if ((e = getaddrinfo(a->host, port, &hints, &res)) != 0 ||
	    res == NULL) {
		log_warnx("[service %s] %s %s: %s", svc->name, what, a->host,
		    e != 0 ? gai_strerror(e) : "no address");
		return (-1);
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return (0);
}

/*
 * Our address as ${ss} sees it (the address a key must be bound to): the
 * source the kernel picks for that destination (a UDP connect sends
 * nothing).  Return 0 or -1 (logged).
 */
static int
src_addr(struct wire_addr *a, const struct sockaddr_storage *ss,
    socklen_t sslen, const struct service *svc)
{
	struct sockaddr_storage me;
	const struct sockaddr_in *sin = (const void *)&me;
	const struct sockaddr_in6 *sin6 = (const void *)&me;
	socklen_t len = sizeof(me);
	int fd;

	memset(&me, 0, sizeof(me));
	memset(a, 0, sizeof(*a));
	if ((fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (const struct sockaddr *)ss, sslen) == -1 ||
	    getsockname(fd, (struct sockaddr *)&me, &len) == -1) {
		log_warn(
		    "[service %s] no route to the remote gateway", svc->name);
		if (fd != -1)
			close(fd);
		return (-1);
	}
	close(fd);
	if (me.ss_family == AF_INET6 &&
	    !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		a->family = WIRE_AF_INET6;
		memcpy(a->addr, &sin6->sin6_addr, 16);
	} else {
		a->family = WIRE_AF_INET;
		a->addr[10] = a->addr[11] = 0xff;
		if (me.ss_family == AF_INET)
			memcpy(&a->addr[12], &sin->sin_addr, 4);
		else
			memcpy(&a->addr[12], &sin6->sin6_addr.s6_addr[12], 4);
	}
	return (0);
}

/* ${svc}'s peer host id from its "peer" value; 0 or -1 (logged). */
static int
peer_id(struct service *svc, const struct conf_section *sec,
    const struct conf *hostconf)
{
	const char *p = conf_get_str(sec, "peer"), *hex = p;
	const struct conf_section *ps = NULL;
	size_t len;

	if (p == NULL)
		return (0);
	if (hostconf != NULL &&
	    (ps = conf_section(hostconf, "peer", p)) != NULL)
		hex = conf_get_str(ps, "id");
	if (strlen(hex) == (size_t)2 * WIRE_IDBYTES &&
	    encode_unhex(svc->peer_id, WIRE_IDBYTES, &len, hex, strlen(hex)) ==
	        0 &&
	    len == WIRE_IDBYTES) {
		svc->has_peer = true;
		return (0);
	}
	if (ps != NULL)
		log_warnx("%s:%u: [peer %s] id must be 32 hexadecimal digits",
		    conf_file(hostconf), conf_line(ps, "id"), p);
	else
		log_warnx("[service %s] peer %s: not a [peer NAME] of the host "
		          "configuration nor a 32-digit host id",
		    svc->name, p);
	return (-1);
}

/* Client roles with a key_file: the identity they present. */
static int
pick_identity(struct service *svc, const struct conf_section *sec)
{
	const char *id = conf_get_str(sec, "key_identity");

	if (id == NULL) {
		if (keycfg_count(svc->keys) != 1) {
			log_warnx("[service %s] key_file %s has %zu keys: set "
			          "key_identity to choose one",
			    svc->name, conf_get_str(sec, "key_file"),
			    keycfg_count(svc->keys));
			return (-1);
		}
		id = keycfg_identity(svc->keys, 0);
	}
	if ((svc->psk = keycfg_find(svc->keys, id)) == NULL) {
		log_warnx("[service %s] key_identity %s is not in %s",
		    svc->name, id, conf_get_str(sec, "key_file"));
		return (-1);
	}
	snprintf(svc->identity, sizeof(svc->identity), "%s", id);
	return (0);
}

/* Warn about a key that ${svc}'s role does not use. */
static void
unused(
    const struct service *svc, const struct conf_section *sec, const char *key)
{
	if (conf_is_set(sec, key))
		log_warnx("%s:%u: %s is not used by a %s service (ignored)",
		    conf_file(svc->cf->conf), conf_line(sec, key), key,
		    gwconf_role_name(svc->role));
}

/* The role-specific settings of ${svc}; 0 or -1 (logged). */
static int
svc_role(struct service *svc, const struct conf_section *sec)
{
	const struct conf_addr *a;
	struct sockaddr_in sin;
	size_t i;

	switch (svc->role) {
	case ROLE_SERVER:
		unused(svc, sec, "connect");
		unused(svc, sec, "destination");
		unused(svc, sec, "secured_port");
		unused(svc, sec, "key_identity");
		if ((a = conf_get_addr(sec, "backend")) != NULL)
			return (resolve(
			    a, &svc->target, &svc->targetlen, "backend", svc));
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons(svc->listen[0].port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		memcpy(&svc->target, &sin, sizeof(sin));
		svc->targetlen = sizeof(sin);
		return (0);
	case ROLE_CLIENT:
		unused(svc, sec, "backend");
		unused(svc, sec, "destination");
		unused(svc, sec, "secured_port");
		unused(svc, sec, "proxy_protocol");
		if ((a = conf_get_addr(sec, "connect")) == NULL) {
			log_warnx("[service %s] a client service needs connect "
			          "(the remote gateway)",
			    svc->name);
			return (-1);
		}
		if (resolve(a, &svc->target, &svc->targetlen, "connect", svc))
			return (-1);
		return (src_addr(&svc->src, &svc->target, svc->targetlen, svc));
	case ROLE_TRANSPARENT:
		unused(svc, sec, "backend");
		unused(svc, sec, "connect");
		unused(svc, sec, "proxy_protocol");
		svc->dest = conf_get_addrs(sec, "destination", &svc->ndest);
		svc->secured_port = conf_get_port(sec, "secured_port");
		if (svc->ndest == 0 || svc->secured_port == 0) {
			log_warnx("[service %s] a transparent service needs "
			          "destination and secured_port",
			    svc->name);
			return (-1);
		}
		if ((svc->dest_src = calloc(
		         svc->ndest, sizeof(*svc->dest_src))) == NULL) {
			log_warnx("out of memory");
			return (-1);
		}
		for (i = 0; i < svc->ndest; i++) {
			if (src_addr(&svc->dest_src[i], &svc->dest[i].ss,
			        svc->dest[i].sslen, svc))
				return (-1);
		}
		return (0);
	}
	return (-1);
}

static int
svc_load(struct gwconf *cf, struct service *svc, const struct conf_section *sec)
{
	const char *role = conf_get_str(sec, "role"), *kf;

	svc->cf = cf;
	svc->name = conf_section_name(sec);
	svc->role = strcmp(role, "server") == 0 ? ROLE_SERVER
	    : strcmp(role, "client") == 0       ? ROLE_CLIENT
	                                        : ROLE_TRANSPARENT;
	svc->kdc_service = conf_get_str(sec, "service");
	if (svc->kdc_service == NULL)
		svc->kdc_service = svc->name;
	if (strlen(svc->kdc_service) > WIRE_SERVICE_MAX) {
		log_warnx("[service %s] service name longer than %d characters",
		    svc->name, WIRE_SERVICE_MAX);
		return (-1);
	}
	svc->ftp = strcmp(conf_get_str(sec, "protocol"), "ftp") == 0;
	if (svc->ftp && svc->role == ROLE_TRANSPARENT) {
		/* A 229 reply names no address: the client would connect to
		 * the original destination, which nothing redirects. */
		log_warnx("[service %s] protocol ftp needs role server or "
		          "client (not transparent)",
		    svc->name);
		return (-1);
	}
	svc->listen = conf_get_addrs(sec, "listen", &svc->nlisten);
	svc->proxy_protocol = conf_get_bool(sec, "proxy_protocol");
	svc->max_conns = (long)conf_get_int(sec, "max_connections");
	svc->ftp_data_ms =
	    (uint64_t)conf_get_duration(sec, "ftp_data_timeout") * 1000;
	svc->max_per_client =
	    (long)conf_get_int(sec, "max_connections_per_client");
	if (svc->nlisten == 0 || svc_role(svc, sec))
		return (-1);
	if ((kf = conf_get_str(sec, "key_file")) != NULL) {
		if ((svc->keys = keycfg_load(kf, 0)) == NULL)
			return (-1);
		if (svc->role != ROLE_SERVER && pick_identity(svc, sec))
			return (-1);
		if (svc->role == ROLE_SERVER && keycfg_count(svc->keys) == 0)
			log_warnx("[service %s] key_file %s is empty: every "
			          "connection will be refused",
			    svc->name, kf);
	}
	if (peer_id(svc, sec, cf->hostconf))
		return (-1);
	if (svc->role != ROLE_SERVER && svc->keys == NULL && !svc->has_peer) {
		log_warnx(
		    "[service %s] set peer (the host to get keys with from "
		    "the KDC) or key_file",
		    svc->name);
		return (-1);
	}
	if ((svc->st = stats_service(svc->name, svc->role)) == NULL)
		return (-1);
	return (0);
}

static bool
same_addr(const struct conf_addr *a, const struct conf_addr *b)
{
	return (a->sslen == b->sslen && a->sslen > 0 &&
	    memcmp(&a->ss, &b->ss, a->sslen) == 0);
}

/* No listen address twice (SO_REUSEPORT would share it silently). */
static int
check_listen(const struct gwconf *cf)
{
	const struct service *s, *t;
	size_t i, j, k, l;

	for (i = 0; i < cf->nsvcs; i++) {
		s = &cf->svcs[i];
		for (j = i; j < cf->nsvcs; j++) {
			t = &cf->svcs[j];
			for (k = 0; k < s->nlisten; k++) {
				for (l = i == j ? k + 1 : 0; l < t->nlisten;
				     l++) {
					if (!same_addr(
					        &s->listen[k], &t->listen[l]))
						continue;
					log_warnx(
					    "listen address %s:%u is used "
					    "twice ([service %s], "
					    "[service %s])",
					    s->listen[k].host,
					    s->listen[k].port, s->name,
					    t->name);
					return (-1);
				}
			}
		}
	}
	return (0);
}

static void
settings(struct gwconf *cf, const struct conf_section *g)
{
	long long w;

	cf->handshake_ms =
	    (uint64_t)conf_get_duration(g, "handshake_timeout") * 1000;
	cf->idle_ms = (uint64_t)conf_get_duration(g, "idle_timeout") * 1000;
	cf->drain_ms = (uint64_t)conf_get_duration(g, "drain_timeout") * 1000;
	cf->cache_ttl_ms =
	    (uint64_t)conf_get_duration(g, "key_cache_ttl") * 1000;
	cf->max_conns = (size_t)conf_get_int(g, "max_connections");
	cf->bufsize = (size_t)conf_get_size(g, "buffer_size");
	cf->status_path = conf_get_str(g, "status_socket");
	cf->user = conf_get_str(g, "user");
	if ((w = conf_get_int(g, "workers")) == 0)
		w = sysconf(_SC_NPROCESSORS_ONLN);
	if (w < 1)
		w = 1;
	cf->workers = w > GW_WORKERS_MAX ? GW_WORKERS_MAX : (unsigned int)w;
}

/* The KDC client and the TLS contexts; 0 or -1 (logged). */
static int
contexts(struct gwconf *cf)
{
	struct tls_ctx_config tc;
	bool kdc = false, srv = false, cli = false;
	size_t i;

	for (i = 0; i < cf->nsvcs; i++) {
		kdc |= gwconf_uses_kdc(&cf->svcs[i]);
		/* FTP data connections go both ways: both contexts. */
		srv |= cf->svcs[i].role == ROLE_SERVER || cf->svcs[i].ftp;
		cli |= cf->svcs[i].role != ROLE_SERVER || cf->svcs[i].ftp;
	}
	if (kdc) {
		if (cf->hostconf == NULL) {
			log_warnx("%s: host_config is required: a service gets "
			          "its keys from the KDC (no key_file)",
			    conf_file(cf->conf));
			return (-1);
		}
		if ((cf->kc = kdcclient_new_conf(cf->hostconf)) == NULL)
			return (-1);
	}
	memset(&tc, 0, sizeof(tc));
	if (srv) {
		tc.role = TLS_ROLE_SERVER;
		tc.psk_lookup = service_psk_lookup;
		tc.arg = cf;
		if ((cf->sctx = tls_ctx_new(&tc)) == NULL)
			return (-1);
	}
	if (cli) {
		tc.role = TLS_ROLE_CLIENT;
		tc.psk_lookup = NULL;
		tc.arg = cf;
		if ((cf->cctx = tls_ctx_new(&tc)) == NULL)
			return (-1);
	}
	return (0);
}

struct gwconf *
gwconf_load(const char *path)
{
	const struct conf_section *g, *sec = NULL;
	const char *hp;
	struct gwconf *cf;
	size_t i;
	int errs = 0;

	if ((cf = calloc(1, sizeof(*cf))) == NULL) {
		log_warnx("out of memory");
		return (NULL);
	}
	atomic_init(&cf->refs, 1);
	if ((cf->conf = conf_load(path, conf_schema_gateway, NULL)) == NULL)
		goto err;
	g = conf_section(cf->conf, "gateway", NULL);
	settings(cf, g);
	if (cf->user != NULL && priv_user_check(cf->user))
		goto err;
	if ((hp = conf_get_str(g, "host_config")) != NULL &&
	    (cf->hostconf = conf_load(hp, conf_schema_host, NULL)) == NULL)
		goto err;
	if ((cf->nsvcs = conf_section_count(cf->conf, "service")) == 0) {
		log_warnx("%s: no [service NAME] section: nothing to do", path);
		goto err;
	}
	if ((cf->svcs = calloc(cf->nsvcs, sizeof(*cf->svcs))) == NULL) {
		log_warnx("out of memory");
		goto err;
	}
	for (i = 0; i < cf->nsvcs; i++) {
		sec = conf_section_next(cf->conf, sec, "service");
		if (svc_load(cf, &cf->svcs[i], sec))
			errs++;
	}
	if (errs > 0 || check_listen(cf) || contexts(cf))
		goto err;

	/* Success! */
	return (cf);

err:
	gwconf_free(cf);
	return (NULL);
}

/* Add ${path} (if not NULL and not there yet) to ${files}[${n}]. */
static size_t
add_file(struct priv_file *files, size_t n, size_t max, const char *path,
    bool secret)
{
	size_t i;

	if (path == NULL)
		return (n);
	for (i = 0; i < n; i++) {
		if (strcmp(files[i].path, path) == 0)
			return (n);
	}
	if (n < max) {
		files[n].path = path;
		files[n].secret = secret;
		n++;
	}
	return (n);
}

size_t
gwconf_files(const struct gwconf *cf, struct priv_file *files, size_t max)
{
	const struct conf_section *hs, *ks, *sec;
	size_t i, n = 0;

	n = add_file(files, n, max, conf_file(cf->conf), false);
	if (cf->hostconf != NULL) {
		n = add_file(files, n, max, conf_file(cf->hostconf), false);
		hs = conf_section(cf->hostconf, "host", NULL);
		ks = conf_section(cf->hostconf, "kdc", NULL);
		/* Read (kdcclient_new_conf) only if a service uses the KDC. */
		if (cf->kc != NULL && hs != NULL && ks != NULL) {
			n = add_file(
			    files, n, max, conf_get_str(hs, "key"), true);
			n = add_file(files, n, max,
			    conf_get_str(ks, "public_key"), false);
			n = add_file(files, n, max,
			    conf_get_str(ks, "public_key_next"), false);
		}
	}
	for (i = 0; i < cf->nsvcs; i++) {
		sec = conf_section(cf->conf, "service", cf->svcs[i].name);
		if (sec != NULL)
			n = add_file(
			    files, n, max, conf_get_str(sec, "key_file"), true);
	}
	return (n);
}

uint64_t
gwconf_caps(const struct gwconf *cf)
{
	const struct service *svc;
	uint64_t caps = 0;
	size_t i, j;

	for (i = 0; i < cf->nsvcs; i++) {
		svc = &cf->svcs[i];
		if (svc->role == ROLE_TRANSPARENT)
			caps |= PRIV_CAP(CAP_NET_ADMIN);
		for (j = 0; j < svc->nlisten; j++) {
			if (svc->listen[j].port < 1024)
				caps |= PRIV_CAP(CAP_NET_BIND_SERVICE);
		}
	}
	return (caps);
}
