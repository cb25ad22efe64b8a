/*
 * kdcclient_util.c: a KDC client from a host configuration, TLS PSKs and
 * PSK identities from session keys, address helpers (kdcclient.h).
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cryptgate/conf.h"
#include "cryptgate/encode.h"
#include "cryptgate/hkdf.h"
#include "cryptgate/hostkey.h"
#include "cryptgate/hostpub.h"
#include "cryptgate/kdcclient.h"
#include "cryptgate/keycfg.h"
#include "cryptgate/log.h"
#include "cryptgate/secret.h"
#include "cryptgate/wire.h"

#include "kdcclient_int.h"

int64_t
kdcclient_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}
/* "ip:port" or "[ip6]:port" of ${ss}. */
void
kdcclient_format_sockaddr(
    char *buf, size_t size, const struct sockaddr_storage *ss, socklen_t sslen)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getnameinfo((const struct sockaddr *)ss, sslen, host, sizeof(host),
	        serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(buf, size, "(unknown address)");
		return;
	}
	if (ss->ss_family == AF_INET6)
		snprintf(buf, size, "[%s]:%s", host, serv);
	else
		snprintf(buf, size, "%s:%s", host, serv);
}

bool
kdcclient_kdc_name_is_valid(const char *name)
{
	size_t i, n;

	if (name == NULL || (n = strlen(name)) == 0 ||
	    n > KDCCLIENT_KDCNAME_MAX)
		return (false);
	for (i = 0; i < n; i++) {
		if (name[i] < 0x21 || name[i] > 0x7e || name[i] == ':')
			return (false);
	}
	return (true);
}

int
kdcclient_psk(uint8_t psk[static KDCCLIENT_PSKBYTES],
    const uint8_t session_key[static WIRE_SESSIONKEYBYTES],
    const uint8_t key_id[static WIRE_KEYIDBYTES])
{
	uint8_t info[sizeof(KDCCLIENT_PSK_LABEL) - 1 + WIRE_KEYIDBYTES];

	memcpy(info, KDCCLIENT_PSK_LABEL, sizeof(KDCCLIENT_PSK_LABEL) - 1);
	memcpy(info + sizeof(KDCCLIENT_PSK_LABEL) - 1, key_id, WIRE_KEYIDBYTES);
	if (hkdf_expand(psk, KDCCLIENT_PSKBYTES, session_key,
	        WIRE_SESSIONKEYBYTES, info, sizeof(info))) {
		secret_wipe(psk, KDCCLIENT_PSKBYTES);
		return (-1);
	}
	return (0);
}

int
kdcclient_identity(char *buf, size_t size, const char *kdc_name,
    const uint8_t key_id[static WIRE_KEYIDBYTES])
{
	char hex[ENCODE_HEXLEN(WIRE_KEYIDBYTES) + 1];
	int n;

	if (!kdcclient_kdc_name_is_valid(kdc_name)) {
		log_warnx("invalid KDC name '%s'", kdc_name);
		return (-1);
	}
	if (encode_hex(hex, sizeof(hex), key_id, WIRE_KEYIDBYTES))
		return (-1);
	n = snprintf(buf, size, "%s-%s", kdc_name, hex);
	if (n < 0 || (size_t)n >= size) {
		log_warnx("kdcclient_identity: buffer too small");
		return (-1);
	}
	return (0);
}

int
kdcclient_identity_parse(const char *identity, const char *kdc_name,
    uint8_t key_id[static WIRE_KEYIDBYTES])
{
	size_t n = strlen(kdc_name), len;

	if (strncmp(identity, kdc_name, n) != 0 || identity[n] != '-')
		return (-1);
	identity += n + 1;
	if (strlen(identity) != ENCODE_HEXLEN((size_t)WIRE_KEYIDBYTES) ||
	    encode_unhex(key_id, WIRE_KEYIDBYTES, &len, identity,
	        ENCODE_HEXLEN((size_t)WIRE_KEYIDBYTES)) ||
	    len != WIRE_KEYIDBYTES)
		return (-1);
	return (0);
}

int
kdcclient_addr_parse(struct wire_addr *a, const char *s)
{
	struct sockaddr_in6 sin6;
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, s, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		return (wire_addr_from_sockaddr(
		    a, (const struct sockaddr *)&sin, sizeof(sin)));
	}
	if (inet_pton(AF_INET6, s, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		return (wire_addr_from_sockaddr(
		    a, (const struct sockaddr *)&sin6, sizeof(sin6)));
	}
	return (-1);
}

int
kdcclient_addr_format(char *buf, size_t size, const struct wire_addr *a)
{
	const void *p = a->addr;
	int af = AF_INET6;

	if (!wire_addr_is_valid(a))
		return (-1);
	if (a->family == WIRE_AF_INET) {
		p = a->addr + 12;
		af = AF_INET;
	}
	return (inet_ntop(af, p, buf, (socklen_t)size) != NULL ? 0 : -1);
}

/*
 * Append the addresses of the KDC address ${a} (an IP, or a host name
 * resolved with getaddrinfo) to ${addrs}, which holds ${*n} of at most
 * KDCCLIENT_ADDRS_MAX.  Return 0, or -1 (logged as "FILE:LINE: ...").
 */
static int
resolve(const struct conf_addr *a, struct kdcclient_addr *addrs, size_t *n,
    const char *file, unsigned int line)
{
	struct addrinfo hints, *res, *ai;
	char port[8];
	int e;

	if (a->sslen > 0) {
		if (*n < KDCCLIENT_ADDRS_MAX) {
			memcpy(&addrs[*n].ss, &a->ss, a->sslen);
			addrs[*n].sslen = a->sslen;
			(*n)++;
		}
		return (0);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	snprintf(port, sizeof(port), "%u", (unsigned int)a->port);
	if ((e = getaddrinfo(a->host, port, &hints, &res)) != 0) {
		log_warnx("%s:%u: cannot resolve the KDC address %s: %s", file,
		    line, a->host, gai_strerror(e));
		return (-1);
	}
	for (ai = res; ai != NULL && *n < KDCCLIENT_ADDRS_MAX;
	     ai = ai->ai_next) {
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
		    ai->ai_addrlen > sizeof(addrs[*n].ss))
			continue;
		memset(&addrs[*n], 0, sizeof(addrs[*n]));
		memcpy(&addrs[*n].ss, ai->ai_addr, ai->ai_addrlen);
		addrs[*n].sslen = ai->ai_addrlen;
		(*n)++;
	}
	freeaddrinfo(res);
	return (0);
}

struct kdcclient *
kdcclient_new_conf(const struct conf *conf)
{
	struct kdcclient_addr addrs[KDCCLIENT_ADDRS_MAX];
	const struct conf_section *hs, *ks;
	const struct conf_addr *ca;
	struct kdcclient_config cfg;
	struct hostpub pub, next;
	struct kdcclient *kc;
	struct hostkey *hk;
	const char *file = conf_file(conf), *name, *nextpath;
	size_t i, n, naddrs = 0;

	hs = conf_section(conf, "host", NULL);
	ks = conf_section(conf, "kdc", NULL);
	if (hs == NULL || ks == NULL || conf_get_str(hs, "key") == NULL) {
		log_warnx("%s: not a host configuration", file);
		goto err0;
	}
	name = conf_get_str(ks, "name");
	if (!kdcclient_kdc_name_is_valid(name)) {
		log_warnx("%s:%u: KDC name '%s' cannot be used in PSK "
		          "identities: use 1 to %d printable characters "
		          "without ':' or space",
		    file, conf_line(ks, "name"), name, KDCCLIENT_KDCNAME_MAX);
		goto err0;
	}
	if ((hk = hostkey_load(conf_get_str(hs, "key"))) == NULL)
		goto err0;
	if (hostpub_load(&pub, conf_get_str(ks, "public_key")))
		goto err1;
	nextpath = conf_get_str(ks, "public_key_next");
	if (nextpath != NULL && hostpub_load(&next, nextpath))
		goto err1;
	ca = conf_get_addrs(ks, "address", &n);
	for (i = 0; i < n; i++)
		(void)resolve(
		    &ca[i], addrs, &naddrs, file, conf_line(ks, "address"));
	if (naddrs == 0)
		goto err1;

	memset(&cfg, 0, sizeof(cfg));
	cfg.key = hk;
	cfg.kvno = hostkey_kvno(hk);
	cfg.kdc_pub = &pub;
	cfg.kdc_pub_next = nextpath != NULL ? &next : NULL;
	cfg.kdc_name = name;
	cfg.addrs = addrs;
	cfg.naddrs = naddrs;
	cfg.timeout_ms = conf_get_duration(ks, "timeout") * 1000;
	if ((kc = kdcclient_new(&cfg)) == NULL)
		goto err1;
	/* kc now owns hk. */
	kc->key_owned = hk;

	/* Success! */
	return (kc);

err1:
	hostkey_free(hk);
err0:
	/* Failure! */
	return (NULL);
}

int
kdcclient_keycfg_update(const char *path, const struct kdcclient *kc,
    const struct kdcclient_result *res, char *identity, size_t size)
{
	struct keycfg *kcfg = NULL;
	uint8_t *psk;
	int rc = -1;

	if (res->session_key == NULL) {
		log_warnx("kdcclient_keycfg_update: no session key");
		return (-1);
	}
	if ((psk = secret_alloc(KDCCLIENT_PSKBYTES)) == NULL) {
		log_warnx("%s: out of memory", path);
		return (-1);
	}
	if (kdcclient_psk(psk, res->session_key, res->key_id)) {
		log_warnx("cannot derive the PSK");
		goto out;
	}
	if (kdcclient_identity(identity, size, kc->kdc_name, res->key_id))
		goto out;
	if ((kcfg = keycfg_load(path, KEYCFG_MISSING_OK)) == NULL ||
	    keycfg_set(kcfg, identity, psk) || keycfg_write(kcfg, path))
		goto out;
	rc = 0;

out:
	keycfg_free(kcfg);
	secret_free(psk, KDCCLIENT_PSKBYTES);
	return (rc);
}
