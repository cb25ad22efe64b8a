/*
 * wire_fixture.h: valid KDC protocol messages of every type for the wire
 * tests (test_wire.c); every field is set to something non-trivial.
 * Included by one test file only, hence the static definitions.
 */
#ifndef WIRE_FIXTURE_H
#define WIRE_FIXTURE_H

#define BUFSZ WIRE_FRAMEBYTES_MAX

/* Every (type, suite) pair the round-trip tests cover. */
static const uint8_t combos[][2] = {
	{ WIRE_RETRIEVE, 1 },
	{ WIRE_RETRIEVE, 2 },
	{ WIRE_RETRIEVE_RESP, 1 },
	{ WIRE_RETRIEVE_RESP, 2 },
	{ WIRE_REQUEST, 1 },
	{ WIRE_REQUEST, 2 },
	{ WIRE_REQUEST_RESP, 1 },
	{ WIRE_REQUEST_RESP, 2 },
	{ WIRE_ENROLL, 1 },
	{ WIRE_ENROLL, 2 },
	{ WIRE_ENROLL_RESP, 1 },
	{ WIRE_REVOKE, 1 },
	{ WIRE_REVOKE_RESP, 2 },
	{ WIRE_ROTATE, 1 },
	{ WIRE_ROTATE, 2 },
	{ WIRE_ROTATE_RESP, 1 },
	{ WIRE_ERROR, 1 },
	{ WIRE_ERROR, 2 },
};
#define NCOMBOS (sizeof(combos) / sizeof(combos[0]))

static void
pattern(uint8_t *p, size_t n, uint8_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + 7 * i);
}

static void
v4(struct wire_addr *a, uint8_t last)
{
	memset(a, 0, sizeof(*a));
	a->family = WIRE_AF_INET;
	a->addr[10] = a->addr[11] = 0xff;
	a->addr[12] = 192;
	a->addr[13] = 0;
	a->addr[14] = 2;
	a->addr[15] = last;
}

static void
v6(struct wire_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->family = WIRE_AF_INET6;
	a->addr[0] = 0x20;
	a->addr[1] = 0x01;
	a->addr[2] = 0x0d;
	a->addr[3] = 0xb8;
	a->addr[15] = 1;
}

static void
sealpk(struct wire_sealpk *k, unsigned int alg)
{
	k->len = alg == 1 ? WIRE_SEALPK_X25519 : 422;
	pattern(k->key, k->len, 0x51);
}

/* A valid message of ${type} in ${suite}, every field non-trivial. */
static void
fill(struct wire_msg *m, unsigned int type, unsigned int suite)
{
	size_t i;

	memset(m, 0, sizeof(*m));
	m->hdr.version = 1;
	m->hdr.type = (uint8_t)type;
	m->hdr.suite = (uint8_t)suite;
	m->hdr.signer_kvno = 0x0102;
	pattern(m->hdr.sender_id, WIRE_IDBYTES, 0x10);
	m->hdr.timestamp = 0x0000018c12345678ULL;
	pattern(m->hdr.nonce, WIRE_NONCEBYTES, 0x20);
	pattern(m->sig, WIRE_SIGBYTES, 0x30);
	switch (type) {
	case WIRE_RETRIEVE:
		pattern(m->u.retrieve.key_id, WIRE_KEYIDBYTES, 0x40);
		v4(&m->u.retrieve.client_addr, 7);
		strcpy(m->u.retrieve.service, "ftp");
		break;
	case WIRE_RETRIEVE_RESP:
		pattern(m->u.retrieve_resp.req_hash, WIRE_HASHBYTES, 1);
		pattern(m->u.retrieve_resp.key_id, WIRE_KEYIDBYTES, 2);
		m->u.retrieve_resp.not_after = 0x1122334455667788ULL;
		pattern(m->u.retrieve_resp.requester_id, WIRE_IDBYTES, 3);
		m->u.retrieve_resp.sealed.len =
		    (uint16_t)wire_sealed_bytes(suite);
		pattern(m->u.retrieve_resp.sealed.blob, WIRE_SEALED_MAX, 4);
		break;
	case WIRE_REQUEST:
		pattern(m->u.request.peer_id, WIRE_IDBYTES, 5);
		strcpy(m->u.request.service, "tel-net_2.x");
		v6(&m->u.request.client_addr);
		m->u.request.lifetime = 0xa0b0c0d0;
		break;
	case WIRE_REQUEST_RESP:
		pattern(m->u.request_resp.req_hash, WIRE_HASHBYTES, 6);
		pattern(m->u.request_resp.key_id, WIRE_KEYIDBYTES, 7);
		m->u.request_resp.not_before = 1000;
		m->u.request_resp.not_after = 3601000;
		pattern(m->u.request_resp.peer_id, WIRE_IDBYTES, 8);
		memset(m->u.request_resp.service, 'S', WIRE_SERVICE_MAX);
		v4(&m->u.request_resp.client_addr, 9);
		m->u.request_resp.sealed.len =
		    (uint16_t)wire_sealed_bytes(suite);
		pattern(m->u.request_resp.sealed.blob, WIRE_SEALED_MAX, 9);
		break;
	case WIRE_ENROLL:
		memset(m->hdr.sender_id, 0, WIRE_IDBYTES);
		m->hdr.signer_kvno = WIRE_KVNO_FIRST;
		pattern(m->u.enroll.sig_pk, WIRE_SIGNPKBYTES, 10);
		m->u.enroll.seal_alg = (uint8_t)suite;
		sealpk(&m->u.enroll.seal_pk, suite);
		memset(m->u.enroll.hostname, 'h', WIRE_HOSTNAME_MAX);
		m->u.enroll.naddrs = WIRE_ADDRS_MAX;
		for (i = 0; i < WIRE_ADDRS_MAX; i++) {
			if (i % 2)
				v6(&m->u.enroll.addrs[i]);
			else
				v4(&m->u.enroll.addrs[i], (uint8_t)i);
		}
		pattern(m->u.enroll.enroll_mac, WIRE_MACBYTES, 11);
		break;
	case WIRE_ENROLL_RESP:
		pattern(m->u.enroll_resp.req_hash, WIRE_HASHBYTES, 12);
		pattern(m->u.enroll_resp.host_id, WIRE_IDBYTES, 13);
		m->u.enroll_resp.state = WIRE_STATE_PENDING;
		break;
	case WIRE_REVOKE:
		m->u.revoke.kind = WIRE_REVOKE_HOST;
		pattern(m->u.revoke.id, WIRE_IDBYTES, 14);
		m->u.revoke.reason = WIRE_REASON_COMPROMISE;
		break;
	case WIRE_REVOKE_RESP:
		pattern(m->u.revoke_resp.req_hash, WIRE_HASHBYTES, 15);
		m->u.revoke_resp.count = 0xdeadbeef;
		break;
	case WIRE_ROTATE:
		pattern(m->u.rotate.new_sig_pk, WIRE_SIGNPKBYTES, 16);
		m->u.rotate.seal_alg = (uint8_t)suite;
		sealpk(&m->u.rotate.new_seal_pk, suite);
		m->u.rotate.new_kvno = 3;
		pattern(m->u.rotate.pop_sig, WIRE_SIGBYTES, 17);
		break;
	case WIRE_ROTATE_RESP:
		pattern(m->u.rotate_resp.req_hash, WIRE_HASHBYTES, 18);
		m->u.rotate_resp.new_kvno = 2;
		m->u.rotate_resp.old_valid_until = 0x0102030405060708ULL;
		break;
	case WIRE_ERROR:
		pattern(m->u.error.req_hash, WIRE_HASHBYTES, 19);
		m->u.error.code = WIRE_ERR_DENIED;
		m->u.error.kdc_time = 0xfedcba9876543210ULL;
		m->u.error.retry_after = 30;
		break;
	default:
		fail();
	}
}

/* The sealed blob after its length is only wire_sealed_bytes() long. */
static void
trim(struct wire_msg *m)
{
	struct wire_sealed *s = NULL;

	if (m->hdr.type == WIRE_RETRIEVE_RESP)
		s = &m->u.retrieve_resp.sealed;
	else if (m->hdr.type == WIRE_REQUEST_RESP)
		s = &m->u.request_resp.sealed;
	else if (m->hdr.type == WIRE_ENROLL)
		memset(m->u.enroll.seal_pk.key + m->u.enroll.seal_pk.len, 0,
		    WIRE_SEALPK_MAX - m->u.enroll.seal_pk.len);
	else if (m->hdr.type == WIRE_ROTATE)
		memset(
		    m->u.rotate.new_seal_pk.key + m->u.rotate.new_seal_pk.len,
		    0, WIRE_SEALPK_MAX - m->u.rotate.new_seal_pk.len);
	if (s != NULL)
		memset(s->blob + s->len, 0, WIRE_SEALED_MAX - s->len);
}

#endif /* !WIRE_FIXTURE_H */
