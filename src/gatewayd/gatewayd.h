/*
 * gatewayd.h: cryptgate-gatewayd's internal interfaces (see
 * cryptgate-gatewayd(8)).
 *
 * Threads: the main thread handles signals, the status socket, reloads
 * and housekeeping; N workers each run an event loop with their own
 * SO_REUSEPORT listening socket per listen address and own every
 * connection they accept.  Shared between threads: the configuration
 * (struct gwconf, read-only, reference counted: live connections keep
 * the one they started with), the key cache and the client key slots
 * (keys.c, behind a mutex), the counters (stats.c, per worker).
 *
 * A connection (struct conn) pairs two sockets: s[0] is the accepted one,
 * s[1] the one the gateway opens.  The server role has TLS on s[0] and
 * the backend on s[1]; the client and transparent roles have the local
 * program on s[0] and TLS to the remote gateway on s[1].  b[d] holds the
 * bytes read from s[d] that s[!d] has not taken yet.
 */
#ifndef CRYPTGATE_GATEWAYD_H
#define CRYPTGATE_GATEWAYD_H

#include <sys/socket.h>
#include <sys/types.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptgate/conf.h"
#include "cryptgate/evloop.h"
#include "cryptgate/kdcclient.h"
#include "cryptgate/keycfg.h"
#include "cryptgate/log.h"
#include "cryptgate/priv.h"
#include "cryptgate/sock.h"
#include "cryptgate/tls.h"
#include "cryptgate/wire.h"

#define GW_WORKERS_MAX 64
#define GW_MARK 0x4347 /* SO_MARK of our outgoing transparent sockets */

enum gw_role {
	ROLE_SERVER = 1,
	ROLE_CLIENT = 2,
	ROLE_TRANSPARENT = 3,
};

/* Counters (stats.c); HS_* are the handshake failures by reason. */
enum stat_id {
	ST_ACCEPTED = 0, /* admitted */
	ST_CLOSED, /* admitted, then finished */
	ST_REFUSED, /* over a connection limit: closed at once */
	ST_HS_OK,
	ST_HS_BAD_PSK, /* the binder did not verify: wrong key */
	ST_HS_UNKNOWN, /* identity unknown, denied, or wrong address */
	ST_HS_TIMEOUT,
	ST_HS_MALFORMED, /* not TLS 1.3 with a PSK of ours */
	ST_HS_KDC_DOWN,
	ST_HS_OTHER,
	ST_BYTES_IN, /* plaintext, from the connecting side */
	ST_BYTES_OUT, /* plaintext, to the connecting side */
	ST_BACKEND_FAIL, /* connect to the backend / remote gateway failed */
	ST_RESETS, /* connections ended by an error or a reset */
	ST_FTP_DATA, /* FTP data connections carried */
	ST_FTP_REFUSED, /* FTP commands refused (bounce, LPRT, AUTH, ...) */
	ST_FTP_HIJACK, /* FTP data connections from a wrong address */
	ST_COUNT
};

struct stats_svc;
struct keyslot;
struct ftpsess;
struct ftpdata;
struct worker;
struct gwconf;

/* One [service NAME]. */
struct service {
	struct gwconf *cf;
	const char *name;
	const char *kdc_service; /* "service", or the section name */
	enum gw_role role;
	bool ftp; /* protocol = ftp */
	uint64_t ftp_data_ms; /* a data listener waits this long */
	const struct conf_addr *listen;
	size_t nlisten;
	struct sockaddr_storage target; /* backend or connect, resolved */
	socklen_t targetlen;
	bool proxy_protocol;
	long max_conns; /* 0: none */
	long max_per_client; /* 0: none */
	bool has_peer;
	uint8_t peer_id[WIRE_IDBYTES];
	struct keycfg *keys; /* key_file (server: every identity) */
	/* Client/transparent with key_file: the one key to present. */
	char identity[KEYCFG_IDENTITY_MAX + 1];
	const uint8_t *psk; /* inside ->keys */
	/* Client: our address as the remote gateway sees it (the key's). */
	struct wire_addr src;
	/* Transparent. */
	const struct conf_addr *dest;
	struct wire_addr *dest_src; /* our address toward each dest */
	size_t ndest;
	uint16_t secured_port;
	struct stats_svc *st;
};

/* A loaded configuration; read-only once published. */
struct gwconf {
	atomic_int refs;
	struct conf *conf;
	struct conf *hostconf; /* NULL without host_config */
	struct kdcclient *kc; /* NULL if no service uses the KDC */
	struct tls_ctx *sctx; /* server role */
	struct tls_ctx *cctx; /* client roles */
	uint64_t handshake_ms;
	uint64_t idle_ms;
	uint64_t drain_ms;
	uint64_t cache_ttl_ms;
	size_t max_conns;
	size_t bufsize;
	unsigned int workers;
	const char *status_path;
	const char *user; /* [gateway] user, or NULL */
	struct service *svcs;
	size_t nsvcs;
};

/* A listening socket of one worker. */
struct listener {
	struct worker *w;
	int fd;
	struct evloop_io io;
	struct service *svc;
	struct sockaddr_storage ss;
	socklen_t sslen;
};

/* The listeners handed to a worker by a (re)load. */
struct lset {
	struct listener *v;
	size_t n;
};

enum conn_state {
	CS_KEY = 1, /* client: waiting for a key from the KDC */
	CS_HANDSHAKE, /* TLS handshake */
	CS_PSK, /* server: handshake paused for a KDC lookup */
	CS_CONNECT, /* connecting s[1] */
	CS_RELAY,
};

struct side {
	struct conn *c;
	int fd;
	struct tls_conn *tls;
	struct evloop_io io;
	uint8_t ready; /* EVLOOP_IN/OUT edges not used up */
	uint8_t rneed; /* what the next read waits for */
	uint8_t wneed; /* what the next write waits for */
	bool rdone; /* end of stream read */
	bool wdone; /* our end of stream sent (FIN or close_notify) */
	size_t wpend; /* TLS write to repeat with the same length */
};

struct rbuf {
	uint8_t *p;
	size_t off;
	size_t len;
};

struct conn {
	struct conn *prev;
	struct conn *next;
	struct conn *wnext; /* on a lookup's or the worker's wait list */
	struct conn **wpprev;
	struct worker *w;
	struct service *svc; /* its config is referenced */
	enum conn_state state;
	struct side s[2];
	struct rbuf b[2];
	struct evloop_timer timer;
	struct evloop_timer again; /* zero-delay: the pump yielded */
	uint64_t start_ms;
	uint64_t last_ms; /* last transfer */
	uint64_t bytes[2];
	struct sockaddr_storage peer; /* who connected to us */
	socklen_t peerlen;
	struct sockaddr_storage dst; /* transparent: original destination */
	socklen_t dstlen;
	struct wire_addr src; /* client/transparent: our address to peer */
	bool counted_client; /* in the per-client table */
	bool psk_given; /* server: a key was handed to TLS */
	bool lookup_called; /* server: the PSK callback ran */
	enum stat_id refusal; /* server: why the key was refused, or 0 */
	/* Server: the identity refused and why (heap; NULL if unknown), for the
	 * one line hs_failed logs (service_refuse). */
	char *refused_id;
	char *refusal_detail;
	/* The address s[1] connects to (relay_connect): svc->target, ->dst or
	 * the FTP data target, all living as long as the conn; for the logs. */
	const struct sockaddr *to;
	socklen_t tolen;
	struct ftpsess *ftp; /* an FTP control connection (ftpgw.c) */
	struct ftpdata *data; /* an FTP data connection (ftpdata.c) */
	char name[SOCK_ADDRSTRLEN];
};

/* Per-worker state of keys.c. */
struct keys_worker {
	struct lookup *active; /* ops running */
	struct lookup *queued; /* waiting for a free op slot */
	struct lookup **qtail;
	size_t nactive;
	struct conn *keywait; /* client conns waiting for a key slot */
	atomic_bool woken; /* a slot was filled: retry keywait */
	int64_t kdc_down_until;
	struct log_ratelimit rl;
};

struct worker {
	unsigned int id;
	pthread_t th;
	struct evloop *el;
	struct gwconf *cf; /* current, referenced */
	struct lset ls;
	struct conn *conns;
	size_t nconns;
	bool stopping;
	bool paused;
	struct evloop_timer pause_timer;
	struct evloop_timer drain_timer;
	/* Mailbox from the main thread. */
	pthread_mutex_t mu;
	pthread_cond_t cv; /* has_new went false, or exited */
	bool started;
	bool exited;
	struct gwconf *newcf;
	struct lset newls;
	bool has_new;
	bool stop;
	/* Free relay buffers of cf->bufsize bytes. */
	void **pool;
	size_t npool;
	size_t poolsize;
	struct keys_worker kw;
	struct log_ratelimit rl;
};

/* main.c */
/** gw_worker(id): worker ${id} (0 .. gw_nworkers() - 1). */
struct worker *gw_worker(unsigned int id);
/** gw_nworkers(void): the number of workers. */
unsigned int gw_nworkers(void);
/** gw_worker_done(w): called by ${w}'s thread as it ends. */
void gw_worker_done(struct worker *w);

/* gwconf.c */
/**
 * gwconf_load(path): load and check the configuration ${path}: services,
 * host configuration, KDC client, key files, TLS contexts.  Return it
 * with one reference, or NULL (every problem logged).
 */
struct gwconf *gwconf_load(const char *path);
/** gwconf_ref(cf): take a reference on ${cf}; return ${cf}. */
struct gwconf *gwconf_ref(struct gwconf *cf);
/** gwconf_unref(cf): drop a reference; the last one frees.  NULL: no-op. */
void gwconf_unref(struct gwconf *cf);
/** gwconf_role_name(role): "server", "client" or "transparent". */
const char *gwconf_role_name(enum gw_role role);
/** gwconf_uses_kdc(svc): true if ${svc} gets its keys from the KDC. */
bool gwconf_uses_kdc(const struct service *svc);
/**
 * gwconf_files(cf, files, max): the files a reload of ${cf} reads again
 * (the configuration, the host configuration, its host key and KDC public
 * keys, the key files; key files marked secret), at most ${max} of them,
 * into ${files}.  Return how many.
 */
size_t gwconf_files(
    const struct gwconf *cf, struct priv_file *files, size_t max);
/**
 * gwconf_caps(cf): the capabilities the gateway keeps for ${cf}, as
 * priv_drop's mask: CAP_NET_ADMIN with a transparent service (SO_MARK,
 * iptables-restore), CAP_NET_BIND_SERVICE if it listens below port 1024.
 */
uint64_t gwconf_caps(const struct gwconf *cf);

/* loop.c */
/**
 * loop_start(w, cf, ls): start the worker thread ${w} with the
 * configuration ${cf} (a reference is taken) and the listeners ${ls}
 * (taken over).  Return 0 or -1 (logged).
 */
int loop_start(struct worker *w, unsigned int id, struct gwconf *cf,
    struct lset *ls) CG_WUR;
/**
 * loop_post(w, cf, ls): hand ${w} a new configuration (a reference is
 * taken) and listeners (taken over).
 */
void loop_post(struct worker *w, struct gwconf *cf, struct lset *ls);
/** loop_wait_posted(w): wait until ${w} took what loop_post gave it. */
void loop_wait_posted(struct worker *w);
/** loop_stop(w): ask ${w} to stop accepting, drain and end its thread. */
void loop_stop(struct worker *w);
/** loop_join(w): wait for ${w}'s thread and free its resources. */
void loop_join(struct worker *w);
/** loop_buf_get(w, size): a relay buffer of ${size} bytes, or NULL. */
uint8_t *loop_buf_get(struct worker *w, size_t size);
/** loop_buf_put(w, p, size): give back a buffer of loop_buf_get. */
void loop_buf_put(struct worker *w, uint8_t *p, size_t size);
/** loop_lset_free(ls, close_fds): free ${ls} (closing its sockets). */
void loop_lset_free(struct lset *ls, bool close_fds);

/* relay.c */
/**
 * relay_accept(w, svc, fd, peer, peerlen): a new connection on ${fd}
 * (owned from now on) for ${svc}: admitted (limits) and started, or
 * refused and closed.
 */
void relay_accept(struct worker *w, struct service *svc, int fd,
    const struct sockaddr_storage *peer, socklen_t peerlen);
/** relay_run(c): advance ${c} after an event or a key; may free ${c}. */
void relay_run(struct conn *c);
/** relay_abort(c, why): reset both sockets and free ${c}. */
void relay_abort(struct conn *c, const char *why);
/**
 * relay_close(c, stat, why): count ${stat} (0: none), close ${c} without
 * a reset and free it.
 */
void relay_close(struct conn *c, enum stat_id stat, const char *why);
/**
 * relay_connect(c, sa, salen, mark): start connecting s[1] to ${sa}
 * (SO_MARK ${mark} if nonzero).  Return 0 or -1 (logged, counted).
 */
int relay_connect(
    struct conn *c, const struct sockaddr *sa, socklen_t salen, int mark);
/** relay_side_start(c, i): watch s[${i}] (edge-triggered, in and out). */
int relay_side_start(struct conn *c, int i) CG_WUR;
/** relay_deadline(c, ms): re-arm ${c}'s timer; on -1 ${c} is freed. */
int relay_deadline(struct conn *c, uint64_t ms) CG_WUR;
/** relay_free_all(w): reset every connection of ${w}. */
void relay_free_all(struct worker *w);
/**
 * relay_adopt(w, svc, fd, peer, peerlen, d): like relay_accept, for the
 * FTP data connection ${d} (taken over, also on failure).
 */
void relay_adopt(struct worker *w, struct service *svc, int fd,
    const struct sockaddr_storage *peer, socklen_t peerlen, struct ftpdata *d);
/**
 * relay_read(c, i, p, len, why): read from s[${i}] into ${p}: > 0 bytes,
 * 0 (would block, or end of stream: ->rdone), -1 error (${*why}).
 */
ssize_t relay_read(
    struct conn *c, int i, uint8_t *p, size_t len, const char **why);
/** relay_bufs(c): make sure ${c} has both relay buffers.  0 or -1. */
int relay_bufs(struct conn *c) CG_WUR;

/* ftpgw.c: FTP control connections. */
/**
 * ftpgw_start(c): ${c}, of an FTP service, starts relaying: set up its
 * control-channel state.  Return 0 or -1 (logged).
 */
int ftpgw_start(struct conn *c) CG_WUR;
/**
 * ftpgw_pull(c, d, progress, why): read what s[${d}] has and pass it
 * through the FTP control-channel filter into the relay buffers.  Return
 * 0 (set ${*progress} if anything moved), or -1 (${*why}).
 */
int ftpgw_pull(struct conn *c, int d, bool *progress, const char **why);
/**
 * ftpgw_ended(c, d): direction ${d} was ended by the filter (an overlong
 * command line): what s[${d}] still sends is read and dropped.
 */
bool ftpgw_ended(const struct conn *c, int d);
/** ftpgw_drained(c, d): nothing of direction ${d} waits in the filter. */
bool ftpgw_drained(const struct conn *c, int d);
/** ftpgw_free(c): ${c}'s FTP state (its data listener closed). */
void ftpgw_free(struct conn *c);
/**
 * ftpgw_urgent(c, d, len): if the first ${*len} bytes of b[${d}] hold the
 * Telnet DM byte of an ABOR, cut ${*len} to end with it and return true:
 * they go out with MSG_OOB (then call ftpgw_urgent_sent).
 */
bool ftpgw_urgent(const struct conn *c, int d, size_t *len);
/** ftpgw_urgent_sent(c): the urgent byte went out. */
void ftpgw_urgent_sent(struct conn *c);
/** ftpgw_touch(fs, now): a data connection of ${fs} moved bytes. */
void ftpgw_touch(struct ftpsess *fs, uint64_t now);

/* ftpdata.c: FTP data connections. */
/** ftpdata_start(c): service_start for the data connection ${c}. */
void ftpdata_start(struct conn *c);
/** ftpdata_event(c, i): service_event for the data connection ${c}. */
void ftpdata_event(struct conn *c, int i);
/** ftpdata_connected(c): service_connected for the data connection. */
void ftpdata_connected(struct conn *c);
/** ftpdata_timeout(c): service_timeout for the data connection. */
void ftpdata_timeout(struct conn *c);
/** ftpdata_psk(c, identity, idlen, psk): the PSK lookup of ${c}. */
enum tls_psk_status ftpdata_psk(struct conn *c, const uint8_t *identity,
    size_t idlen, uint8_t psk[static TLS_PSKBYTES]);
/** ftpdata_free(d): free ${d} (wiping its key).  NULL: no-op. */
void ftpdata_free(struct ftpdata *d);
/** ftpdata_bind(c, fd): bind ${fd} to ${c}'s source address.  0 or -1. */
int ftpdata_bind(struct conn *c, int fd) CG_WUR;
/** ftpdata_session(c): the control session of the data connection. */
struct ftpsess *ftpdata_session(const struct conn *c);

/* service.c */
/** service_start(c): the role's first step for the new ${c}. */
void service_start(struct conn *c);
/** service_event(c, i): an event on s[${i}] before CS_RELAY. */
void service_event(struct conn *c, int i);
/** service_connected(c): s[1]'s connect completed. */
void service_connected(struct conn *c);
/** service_key_ready(c): a client conn's key slot changed: retry. */
void service_key_ready(struct conn *c);
/**
 * service_psk_answered(c, identity, psk, why, detail): a server conn's KDC
 * lookup was answered: the key ${psk} for ${identity}, or NULL (refused,
 * counted as ${why}, for the reason ${detail}, logged when the handshake
 * fails).  May free ${c}.
 */
void service_psk_answered(struct conn *c, const char *identity,
    const uint8_t *psk, enum stat_id why, const char *detail);
/**
 * service_refuse(c, why, identity, detail): the server conn ${c}'s key for
 * ${identity} (NULL: none valid) is refused, to be counted as ${why}
 * because of ${detail} (NULL: the TLS error says why): kept in ${c} (both
 * strings copied) for the one line the failed handshake logs.
 */
void service_refuse(
    struct conn *c, enum stat_id why, const char *identity, const char *detail);
/** service_timeout(c): the handshake deadline passed. */
void service_timeout(struct conn *c);
/**
 * service_psk_lookup: the server TLS contexts' PSK callback (tls.h).
 */
enum tls_psk_status service_psk_lookup(void *arg, struct tls_conn *tc,
    const uint8_t *identity, size_t idlen, uint8_t psk[static TLS_PSKBYTES]);

/* keys.c, keyslot.c */
enum keys_result {
	KEYS_FOUND = 0,
	KEYS_PENDING = 1,
	KEYS_REFUSED = 2, /* ${*why} says which counter */
};
/** keys_init(void): the global key cache and slots.  0 or -1. */
int keys_init(void) CG_WUR;
/** keys_fini(void): wipe and free the cache and slots. */
void keys_fini(void);
/** keys_sweep(now): drop expired cache entries. */
void keys_sweep(int64_t now);
/** keys_cache_count(void): entries in the key cache. */
size_t keys_cache_count(void);
/**
 * keys_server(c, key_id, identity, psk, why): the key of ${key_id} for the
 * server conn ${c} (its client address and service): from the cache, or
 * a RETRIEVE started (KEYS_PENDING: service_psk_answered(c) follows),
 * or refused (KEYS_REFUSED: counted as ${*why}, service_refuse(c) called).
 */
enum keys_result keys_server(struct conn *c,
    const uint8_t key_id[static WIRE_KEYIDBYTES], const char *identity,
    uint8_t psk[static TLS_PSKBYTES], enum stat_id *why);
/**
 * keyslot_get(c, identity, size, psk, why): the key the client conn ${c}
 * presents: from its slot, or a REQUEST started (KEYS_PENDING: the conn
 * waits on its worker's keywait list; service_key_ready(c) follows).
 */
enum keys_result keyslot_get(struct conn *c, char *identity, size_t size,
    uint8_t psk[static TLS_PSKBYTES], enum stat_id *why);
/**
 * keyslot_failed(c, identity): the handshake of the client conn ${c}
 * with the key ${identity} failed: drop that key from the slot (rate
 * limited) so that the next connection gets a new one.
 */
void keyslot_failed(struct conn *c, const char *identity);
/** keys_unwait(c): take ${c} off any wait list. */
void keys_unwait(struct conn *c);
/** keyslot_wake(w): the wakeup handler's part: retry keywait. */
void keyslot_wake(struct worker *w);
/** keys_worker_fini(w): cancel ${w}'s lookups (at its end). */
void keys_worker_fini(struct worker *w);
/** keys_inflight(w): KDC lookups running or queued on ${w}. */
size_t keys_inflight(const struct worker *w);

/* proxy.c */
#define PROXY_V2_MAXBYTES (16 + 36)
/**
 * proxy_v2_header(buf, size, src, srclen, dst, dstlen): write a PROXY
 * protocol v2 header (command PROXY, TCP over IPv4 or IPv6, or LOCAL if
 * the addresses are not IP) for a connection from ${src} to ${dst} into
 * ${buf}.  Return its length, or -1 if ${size} is too small.
 */
int proxy_v2_header(uint8_t *buf, size_t size, const struct sockaddr *src,
    socklen_t srclen, const struct sockaddr *dst, socklen_t dstlen);

/* transparent.c */
/**
 * transparent_install(cf): put the REDIRECT rules of ${cf}'s transparent
 * destinations in force, and their guard (REJECT with a reset in filter
 * OUTPUT, kept after exit), replacing those of a previous call without a
 * moment where a destination is neither redirected nor guarded.  Return
 * 0, or -1 (logged; the rules in force before stay, or at the first call
 * the REDIRECT rules are removed).
 */
int transparent_install(const struct gwconf *cf) CG_WUR;
/**
 * transparent_remove(void): at exit: remove the REDIRECT rules we
 * installed.  The guard stays: connections to the destinations are then
 * reset (cryptgate gateway down removes it).
 */
void transparent_remove(void);
/** transparent_needed(cf): true if ${cf} has a transparent service. */
bool transparent_needed(const struct gwconf *cf);
/**
 * transparent_original_dst(fd, ss, sslen): the destination of the
 * redirected connection ${fd} before REDIRECT.  Return 0 or -1.
 */
int transparent_original_dst(
    int fd, struct sockaddr_storage *ss, socklen_t *sslen) CG_WUR;

/* stats.c */
/** stats_init(nworkers): the counter tables.  0 or -1. */
int stats_init(unsigned int nworkers) CG_WUR;
/** stats_fini(void): free the tables. */
void stats_fini(void);
/** stats_service(name, role): the counters of service ${name}. */
struct stats_svc *stats_service(const char *name, enum gw_role role);
/** stats_add(st, w, id, n): add ${n} to counter ${id} of worker ${w}. */
void stats_add(
    struct stats_svc *st, unsigned int w, enum stat_id id, uint64_t n);
/* What stats_admit says. */
enum stats_admit {
	ADMIT_OK = 0,
	ADMIT_GATEWAY, /* over the gateway's max_connections */
	ADMIT_SERVICE, /* over the service's max_connections */
	ADMIT_CLIENT, /* over max_connections_per_client */
	ADMIT_NOMEM, /* the client table could not grow */
};
/**
 * stats_admit(st, max_total, max_svc, peer, max_client, counted): take a
 * connection slot of the gateway, of ${st} and of its client address.
 * Return ADMIT_OK if admitted (${*counted}: the client table has it),
 * else which limit refused it (no slot taken).
 */
enum stats_admit stats_admit(struct stats_svc *st, size_t max_total,
    long max_svc, const struct sockaddr_storage *peer, long max_client,
    bool *counted);
/** stats_release(st, peer, counted): give back stats_admit's slots. */
void stats_release(
    struct stats_svc *st, const struct sockaddr_storage *peer, bool counted);
/** stats_active(void): connections open in the whole gateway. */
long stats_active(void);
/**
 * stats_format(buf, size, cf): the status text of ${cf}'s services into
 * ${buf}.  Return its length (truncated to ${size} - 1).
 */
size_t stats_format(char *buf, size_t size, const struct gwconf *cf);
/** stats_reason_name(id): the status key of counter ${id}. */
const char *stats_reason_name(enum stat_id id);

#endif /* !CRYPTGATE_GATEWAYD_H */
