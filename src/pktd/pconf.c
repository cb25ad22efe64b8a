/*
 * pconf.c: cryptgate-pktd's configuration ([pkt], [policy NAME]; see
 * cryptgate.conf(5)) and the policies' keys, read from key.cfg files.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cryptgate/keycfg.h"
#include "cryptgate/secret.h"

#include "pktd.h"

/* The key of ${p}, from its key_file; 0 or -1 (logged). */
static int
load_key(struct ppolicy *p)
{
	struct keycfg *kc;
	const uint8_t *k;
	int rc = -1;

	if ((kc = keycfg_load(p->key_file, 0)) == NULL)
		return (-1);
	if ((k = keycfg_find(kc, p->key_identity)) == NULL) {
		log_warnx("[policy %s] %s has no key for identity %s", p->name,
		    p->key_file, p->key_identity);
		goto out;
	}
	if ((p->key = secret_alloc(XF_KEYBYTES)) == NULL) {
		log_warnx("out of memory");
		goto out;
	}
	memcpy(p->key, k, XF_KEYBYTES);
	rc = 0;
out:
	keycfg_free(kc);
	return (rc);
}

/* Policy ${p} from section ${s}; 0 or -1 (logged). */
static int
load_policy(struct ppolicy *p, const struct conf_section *s, const char *path,
    bool keys)
{
	const char *dir;

	p->name = conf_section_name(s);
	p->peer = *conf_get_prefix(s, "peer");
	p->ports = conf_get_ports(s, "ports", &p->nports);
	dir = conf_get_str(s, "direction");
	p->direction = strcmp(dir, "in") == 0 ? XF_INCOMING
	    : strcmp(dir, "out") == 0         ? XF_OUTGOING
	                                      : XF_BOTH;
	p->key_file = conf_get_str(s, "key_file");
	p->key_identity = conf_get_str(s, "key_identity");
	if (p->key_identity == NULL)
		p->key_identity = p->name;
	if (p->key_file == NULL) {
		log_warnx("%s:%u: [policy %s] needs key_file (keys from the "
		          "KDC are not supported by cryptgate-pktd yet)",
		    path, conf_section_line(s), p->name);
		return (-1);
	}
	if (keys && load_key(p))
		return (-1);
	return (0);
}

/* The xf_rule array of ${pc}; 0 or -1. */
static int
make_rules(struct pconf *pc)
{
	struct ppolicy *p;
	size_t i, j, n = 0;

	for (i = 0; i < pc->npols; i++)
		n += pc->pols[i].nports;
	if ((pc->rules = calloc(pc->npols, sizeof(*pc->rules))) == NULL ||
	    (pc->ranges = calloc(n + 1, sizeof(*pc->ranges))) == NULL)
		return (-1);
	n = 0;
	for (i = 0; i < pc->npols; i++) {
		p = &pc->pols[i];
		pc->rules[i].family = p->peer.family;
		memcpy(pc->rules[i].prefix, p->peer.addr, 16);
		pc->rules[i].plen = p->peer.len;
		pc->rules[i].ports = &pc->ranges[n];
		pc->rules[i].nports = p->nports;
		for (j = 0; j < p->nports; j++) {
			pc->ranges[n].lo = p->ports[j].lo;
			pc->ranges[n].hi = p->ports[j].hi;
			n++;
		}
		pc->rules[i].direction = p->direction;
		pc->rules[i].key = p->key;
		if (p->peer.family == AF_INET6)
			pc->has_v6 = true;
		else
			pc->has_v4 = true;
	}
	return (0);
}

struct pconf *
pconf_load(const char *path, bool keys)
{
	const struct conf_section *s, *ps = NULL;
	struct pconf *pc;
	size_t i = 0;

	if ((pc = calloc(1, sizeof(*pc))) == NULL) {
		log_warnx("out of memory");
		return (NULL);
	}
	pc->path = path;
	if ((pc->conf = conf_load(path, conf_schema_pkt, NULL)) == NULL)
		goto err;
	s = conf_section(pc->conf, "pkt", NULL);
	pc->queues = (unsigned int)conf_get_int(s, "queues");
	pc->queue_num = (uint16_t)conf_get_int(s, "queue_num");
	pc->status_path = conf_get_str(s, "status_socket");
	pc->user = conf_get_str(s, "user");
	if (pc->user != NULL && priv_user_check(pc->user))
		goto err;
	pc->flow_timeout_ms =
	    (uint64_t)conf_get_duration(s, "flow_timeout") * 1000;
	pc->max_flows = (size_t)conf_get_int(s, "max_flows");
	if ((unsigned int)pc->queue_num + pc->queues > 65536) {
		log_warnx("%s: queue_num + queues goes past queue 65535", path);
		goto err;
	}
	pc->npols = conf_section_count(pc->conf, "policy");
	if (pc->npols == 0) {
		log_warnx("%s: no [policy] section: nothing to protect", path);
		goto err;
	}
	if ((pc->pols = calloc(pc->npols, sizeof(*pc->pols))) == NULL) {
		log_warnx("out of memory");
		goto err;
	}
	while ((ps = conf_section_next(pc->conf, ps, "policy")) != NULL) {
		if (load_policy(&pc->pols[i++], ps, path, keys))
			goto err;
	}
	if (make_rules(pc)) {
		log_warnx("out of memory");
		goto err;
	}

	/* Success! */
	return (pc);

err:
	pconf_free(pc);
	return (NULL);
}

void
pconf_free(struct pconf *pc)
{
	size_t i;

	if (pc == NULL)
		return;
	for (i = 0; pc->pols != NULL && i < pc->npols; i++)
		secret_free(pc->pols[i].key, XF_KEYBYTES);
	free(pc->pols);
	free(pc->rules);
	free(pc->ranges);
	conf_free(pc->conf);
	free(pc);
}

size_t
pconf_files(const struct pconf *pc, struct priv_file *files, size_t max)
{
	size_t i, j, n = 0;

	if (max > 0) {
		files[n].path = conf_file(pc->conf);
		files[n++].secret = false;
	}
	for (i = 0; i < pc->npols && n < max; i++) {
		for (j = 0;
		     j < n && strcmp(files[j].path, pc->pols[i].key_file) != 0;
		     j++)
			;
		if (j < n)
			continue;
		files[n].path = pc->pols[i].key_file;
		files[n++].secret = true;
	}
	return (n);
}

/* Same policy ${a} and ${b}, keys included. */
static bool
same(const struct ppolicy *a, const struct ppolicy *b)
{
	if (strcmp(a->name, b->name) != 0 || a->direction != b->direction ||
	    a->nports != b->nports ||
	    memcmp(&a->peer, &b->peer, sizeof(a->peer)) != 0 ||
	    memcmp(a->ports, b->ports, a->nports * sizeof(*a->ports)) != 0)
		return (false);
	if (a->key == NULL || b->key == NULL)
		return (a->key == b->key);
	return (secret_equal(a->key, b->key, XF_KEYBYTES));
}

bool
pconf_same_policy(const struct pconf *a, const struct pconf *b)
{
	size_t i;

	if (a->npols != b->npols)
		return (false);
	for (i = 0; i < a->npols; i++) {
		if (!same(&a->pols[i], &b->pols[i]))
			return (false);
	}
	return (true);
}
