/*
 * conf_schema.c: the configuration schemas of the cryptgate programs.
 * Keep docs/man/cryptgate.conf.5 in step (tests/unit/test_conf.c checks that
 * every key is documented there).
 */
#include <stddef.h>
#include <string.h>

#include "cryptgate/conf.h"

#define KDC_PORT 7441

#define SECTION(s, fl, h) \
	{ \
		.section = (s), .type = CONF_SECTION, .flags = (fl), \
		.help = (h) \
	}
#define END \
	{ \
		.section = NULL \
	}

const struct conf_schema conf_schema_kdc[] = {
	SECTION("kdc", 0, "the key distribution centre"),
	{ "kdc", "name", CONF_STRING, 0, "kdc1", 0, 0, 0, NULL,
	    "name of this KDC, bound into every key it issues" },
	{ "kdc", "listen", CONF_ADDRLIST, 0, "127.0.0.1:7441", 0, 0, KDC_PORT,
	    NULL, "addresses to listen on" },
	{ "kdc", "database", CONF_PATH, 0, "/var/lib/cryptgate/kdc.db", 0, 0, 0,
	    NULL, "SQLite database of hosts and keys" },
	{ "kdc", "signing_key", CONF_PATH, CONF_REQUIRED, NULL, 0, 0, 0, NULL,
	    "the KDC's signing key file" },
	{ "kdc", "master_key", CONF_PATH, CONF_REQUIRED, NULL, 0, 0, 0, NULL,
	    "key file that wraps the keys stored in the database" },
	{ "kdc", "audit_log", CONF_PATH, 0, NULL, 0, 0, 0, NULL,
	    "file to append one line per issued key to" },
	{ "kdc", "key_lifetime", CONF_DURATION, 0, "1h", 60, 86400, 0, NULL,
	    "lifetime of the keys issued" },
	{ "kdc", "max_key_lifetime", CONF_DURATION, 0, "24h", 60, 86400, 0,
	    NULL, "longest lifetime a client may ask for" },
	{ "kdc", "clock_skew", CONF_DURATION, 0, "120s", 0, 3600, 0, NULL,
	    "clock difference tolerated with clients" },
	{ "kdc", "workers", CONF_INT, 0, "0", 0, 64, 0, NULL,
	    "worker threads; 0: one per CPU core" },
	{ "kdc", "legacy_retrieve_by_address", CONF_BOOL, 0, "no", 0, 0, 0,
	    NULL, "let hosts retrieve keys by IP address (insecure)" },
	{ "kdc", "enroll", CONF_ENUM, 0, "approve", 0, 0, 0,
	    "approve|token|closed",
	    "who may ENROLL: anyone as pending, token holders, nobody" },
	{ "kdc", "max_connections", CONF_INT, 0, "1024", 1, 1000000, 0, NULL,
	    "client connections open at once" },
	{ "kdc", "request_timeout", CONF_DURATION, 0, "5s", 1, 300, 0, NULL,
	    "time allowed to receive one whole request" },
	{ "kdc", "idle_timeout", CONF_DURATION, 0, "60s", 1, 86400, 0, NULL,
	    "a connection idle this long between requests is closed" },
	{ "kdc", "replay_cache_entries", CONF_INT, 0, "1048576", 1024, 67108864,
	    0, NULL, "requests the in-memory replay cache holds" },
	{ "kdc", "user", CONF_STRING, 0, NULL, 0, 0, 0, NULL,
	    "started as root: the user the keystore switches to (default: the "
	    "database's owner); the network process runs as nobody" },
	END
};

const struct conf_schema conf_schema_host[] = { SECTION("host", 0,
	                                            "this host's identity"),
	{ "host", "name", CONF_STRING, CONF_REQUIRED, NULL, 0, 0, 0, NULL,
	    "this host's name, as registered with the KDC" },
	{ "host", "key", CONF_PATH, CONF_REQUIRED, NULL, 0, 0, 0, NULL,
	    "private key file written by cryptgate keygen" },
	SECTION("kdc", 0, "the KDC this host uses"),
	{ "kdc", "name", CONF_STRING, 0, "kdc1", 0, 0, 0, NULL,
	    "the KDC's name" },
	{ "kdc", "address", CONF_ADDRLIST, CONF_REQUIRED | CONF_HOSTNAME, NULL,
	    0, 0, KDC_PORT, NULL, "the KDC's addresses, tried in order" },
	{ "kdc", "public_key", CONF_PATH, CONF_REQUIRED, NULL, 0, 0, 0, NULL,
	    "the KDC's signing public key" },
	{ "kdc", "public_key_next", CONF_PATH, 0, NULL, 0, 0, 0, NULL,
	    "the KDC's next signing public key, during a rotation" },
	{ "kdc", "timeout", CONF_DURATION, 0, "5s", 1, 300, 0, NULL,
	    "how long to wait for the KDC's answer" },
	SECTION("peer", CONF_NAMED, "a host this host talks to, by name"),
	{ "peer", "id", CONF_STRING, CONF_REQUIRED, NULL, 0, 0, 0, NULL,
	    "the peer's host id, 32 hexadecimal digits" },
	END };

const struct conf_schema conf_schema_gateway[] = { SECTION("gateway", 0,
	                                               "the gateway daemon"),
	{ "gateway", "host_config", CONF_PATH, 0, NULL, 0, 0, 0, NULL,
	    "host configuration file (needed by services using the KDC)" },
	{ "gateway", "workers", CONF_INT, 0, "0", 0, 64, 0, NULL,
	    "worker threads; 0: one per CPU core" },
	{ "gateway", "key_cache_ttl", CONF_DURATION, 0, "60s", 0, 86400, 0,
	    NULL, "how long keys from the KDC are cached" },
	{ "gateway", "max_connections", CONF_INT, 0, "1024", 1, 1000000, 0,
	    NULL, "connections open at once, all services together" },
	{ "gateway", "handshake_timeout", CONF_DURATION, 0, "10s", 1, 3600, 0,
	    NULL, "time allowed for a connection's handshake" },
	{ "gateway", "idle_timeout", CONF_DURATION, 0, "300s", 1, 604800, 0,
	    NULL, "a connection idle this long is closed" },
	{ "gateway", "drain_timeout", CONF_DURATION, 0, "30s", 0, 86400, 0,
	    NULL, "on SIGTERM, time live connections get to finish" },
	{ "gateway", "buffer_size", CONF_SIZE, 0, "64k", 16384, 4194304, 0,
	    NULL, "relay buffer per direction of a connection" },
	{ "gateway", "status_socket", CONF_PATH, 0,
	    "/run/cryptgate/gatewayd.sock", 0, 0, 0, NULL,
	    "Unix socket cryptgate status reads the counters from" },
	{ "gateway", "user", CONF_STRING, 0, NULL, 0, 0, 0, NULL,
	    "started as root: the user to switch to once the sockets are open "
	    "(default: the owner of the key files)" },
	SECTION("service", CONF_NAMED, "one service the gateway relays"),
	{ "service", "role", CONF_ENUM, CONF_REQUIRED, NULL, 0, 0, 0,
	    "server|client|transparent", "what this end of the service does" },
	{ "service", "listen", CONF_ADDRLIST, CONF_REQUIRED, NULL, 0, 0, 0,
	    NULL, "addresses to accept connections on" },
	{ "service", "backend", CONF_ADDR, CONF_HOSTNAME, NULL, 0, 0, 0, NULL,
	    "plaintext server the decrypted connections go to" },
	{ "service", "connect", CONF_ADDR, CONF_HOSTNAME, NULL, 0, 0, 0, NULL,
	    "remote gateway the encrypted connections go to" },
	{ "service", "peer", CONF_STRING, 0, NULL, 0, 0, 0, NULL,
	    "name of the host at the other end" },
	{ "service", "protocol", CONF_ENUM, 0, "tcp", 0, 0, 0, "tcp|ftp",
	    "application protocol" },
	{ "service", "key_file", CONF_PATH, 0, NULL, 0, 0, 0, NULL,
	    "static key file instead of keys from the KDC" },
	{ "service", "proxy_protocol", CONF_BOOL, 0, "no", 0, 0, 0, NULL,
	    "send a PROXY protocol header to the backend" },
	{ "service", "max_connections_per_client", CONF_INT, 0, "0", 0, 1000000,
	    0, NULL, "connections per client address; 0: no limit" },
	{ "service", "max_connections", CONF_INT, 0, "0", 0, 1000000, 0, NULL,
	    "connections open at once for this service; 0: no limit" },
	{ "service", "service", CONF_STRING, 0, NULL, 0, 0, 0, NULL,
	    "service name in KDC keys; default: the section name" },
	{ "service", "key_identity", CONF_STRING, 0, NULL, 0, 0, 0, NULL,
	    "client role: the key_file identity to use" },
	{ "service", "destination", CONF_ADDRLIST, 0, NULL, 0, 0, 0, NULL,
	    "transparent role: original destinations to intercept" },
	{ "service", "secured_port", CONF_PORT, 0, NULL, 0, 0, 0, NULL,
	    "transparent role: the remote gateway's port" },
	{ "service", "ftp_data_timeout", CONF_DURATION, 0, "60s", 1, 3600, 0,
	    NULL, "protocol ftp: how long a data listener waits" },
	END };

const struct conf_schema conf_schema_pkt[] = { SECTION("pkt", 0,
	                                           "the packet daemon"),
	{ "pkt", "host_config", CONF_PATH, 0, NULL, 0, 0, 0, NULL,
	    "host configuration file (this host's identity)" },
	{ "pkt", "queues", CONF_INT, 0, "1", 1, 64, 0, NULL,
	    "number of NFQUEUE queues" },
	{ "pkt", "queue_num", CONF_INT, 0, "0", 0, 65535, 0, NULL,
	    "number of the first NFQUEUE queue" },
	{ "pkt", "status_socket", CONF_PATH, 0, "/run/cryptgate/pktd.sock", 0,
	    0, 0, NULL,
	    "Unix socket cryptgate status reads the counters from" },
	{ "pkt", "flow_timeout", CONF_DURATION, 0, "135m", 10, 604800, 0, NULL,
	    "an idle connection's state is forgotten after this long" },
	{ "pkt", "max_flows", CONF_INT, 0, "65536", 16, 16777216, 0, NULL,
	    "connections tracked at once by each queue" },
	{ "pkt", "user", CONF_STRING, 0, NULL, 0, 0, 0, NULL,
	    "started as root: the user to switch to once the queues are open "
	    "(default: the owner of the key files)" },
	SECTION("policy", CONF_NAMED, "traffic to encrypt"),
	{ "policy", "peer", CONF_PREFIX, CONF_REQUIRED, NULL, 0, 0, 0, NULL,
	    "peer addresses" },
	{ "policy", "ports", CONF_PORTLIST, CONF_REQUIRED, NULL, 0, 0, 0, NULL,
	    "ports and port ranges" },
	{ "policy", "direction", CONF_ENUM, 0, "both", 0, 0, 0, "both|in|out",
	    "which connections: both, incoming or outgoing" },
	{ "policy", "key_file", CONF_PATH, 0, NULL, 0, 0, 0, NULL,
	    "key.cfg file holding the key shared with the peers" },
	{ "policy", "key_identity", CONF_STRING, 0, NULL, 0, 0, 0, NULL,
	    "the key's identity in key_file; default: the section name" },
	END };

const struct conf_schema *
conf_schema_lookup(const char *kind)
{
	static const struct {
		const char *kind;
		const struct conf_schema *schema;
	} kinds[] = {
		{ "kdc", conf_schema_kdc },
		{ "host", conf_schema_host },
		{ "gateway", conf_schema_gateway },
		{ "pkt", conf_schema_pkt },
	};
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(kinds[i].kind, kind) == 0)
			return (kinds[i].schema);
	}
	return (NULL);
}
