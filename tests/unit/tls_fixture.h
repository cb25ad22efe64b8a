/*
 * tls_fixture.h: hand-made TLS 1.3 ClientHellos for test_tls.c, to feed the
 * server pre_shared_key and psk_key_exchange_modes extensions that no real
 * client sends (malformed, psk_ke only).  Included by one test file only,
 * hence the static definitions.
 */
#ifndef TLS_FIXTURE_H
#define TLS_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A ClientHello with the given pre_shared_key and psk modes bodies. */
static size_t
client_hello(uint8_t *out, const uint8_t *psk, size_t psklen,
    const uint8_t *modes, size_t modeslen)
{
	uint8_t ext[1024], body[2048];
	size_t e = 0, b = 0, i;

#define PUT16(buf, off, v) \
	do { \
		(buf)[(off)++] = (uint8_t)((v) >> 8); \
		(buf)[(off)++] = (uint8_t)(v); \
	} while (0)
	/* supported_versions: TLS 1.3; supported_groups: x25519. */
	PUT16(ext, e, 43);
	PUT16(ext, e, 3);
	ext[e++] = 2;
	PUT16(ext, e, 0x0304);
	PUT16(ext, e, 10);
	PUT16(ext, e, 4);
	PUT16(ext, e, 2);
	PUT16(ext, e, 0x001d);
	if (modes != NULL) {
		PUT16(ext, e, 45);
		PUT16(ext, e, modeslen);
		memcpy(ext + e, modes, modeslen);
		e += modeslen;
	}
	PUT16(ext, e, 41); /* last, as RFC 8446 requires */
	PUT16(ext, e, psklen);
	if (psklen > 0)
		memcpy(ext + e, psk, psklen);
	e += psklen;

	PUT16(body, b, 0x0303);
	for (i = 0; i < 32; i++)
		body[b++] = (uint8_t)i; /* random */
	body[b++] = 0; /* session id */
	PUT16(body, b, 2);
	PUT16(body, b, 0x1301);
	body[b++] = 1; /* compression: null */
	body[b++] = 0;
	PUT16(body, b, e);
	memcpy(body + b, ext, e);
	b += e;

	out[0] = 22; /* handshake record */
	out[1] = 3;
	out[2] = 1;
	out[3] = (uint8_t)((b + 4) >> 8);
	out[4] = (uint8_t)(b + 4);
	out[5] = 1; /* client_hello */
	out[6] = 0;
	out[7] = (uint8_t)(b >> 8);
	out[8] = (uint8_t)b;
	memcpy(out + 9, body, b);
#undef PUT16
	return (9 + b);
}

/* A pre_shared_key body: ${nids} identities ${ids}, ${nb} binders. */
static size_t
psk_ext(uint8_t *out, const char *const *ids, size_t nids, size_t nb,
    size_t binderlen)
{
	size_t o = 2, i, l, start;

	for (i = 0; i < nids; i++) {
		l = strlen(ids[i]);
		out[o++] = (uint8_t)(l >> 8);
		out[o++] = (uint8_t)l;
		memcpy(out + o, ids[i], l);
		o += l;
		memset(out + o, 0, 4);
		o += 4;
	}
	out[0] = (uint8_t)((o - 2) >> 8);
	out[1] = (uint8_t)(o - 2);
	start = o;
	o += 2;
	for (i = 0; i < nb; i++) {
		out[o++] = (uint8_t)binderlen;
		memset(out + o, 0xaa, binderlen);
		o += binderlen;
	}
	out[start] = (uint8_t)((o - start - 2) >> 8);
	out[start + 1] = (uint8_t)(o - start - 2);
	return (o);
}

#endif /* !TLS_FIXTURE_H */
