/*
 * tlshello.c: strict parsers of the two ClientHello extensions the
 * gateway's TLS server reads itself (RFC 8446 4.2.9 and 4.2.11), before
 * OpenSSL looks at the PSK: pre_shared_key (for the identity the KDC is
 * asked about) and psk_key_exchange_modes (psk_dhe_ke required).  Network
 * input: fuzzed through fuzz/fuzz_tls_server.c.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlshello.h"

#define PSK_DHE_KE 1 /* PskKeyExchangeMode psk_dhe_ke */

static size_t
get16(const uint8_t *p)
{
	return ((size_t)p[0] << 8 | p[1]);
}

/*
 * Parse a pre_shared_key extension body (RFC 8446 4.2.11) of ${len} bytes
 * at ${p}, strictly: every length in bounds, at least one identity, one
 * binder of 32..255 bytes per identity, nothing left over.  Set
 * ${id}/${idlen} to the first identity.  Return 0 or -1.
 */
int
tlshello_psk_ext(
    const uint8_t *p, size_t len, const uint8_t **id, size_t *idlen)
{
	size_t off, end, n, nids = 0, nbinders = 0;

	*id = NULL;
	*idlen = 0;
	if (len < 2 || (n = get16(p)) < 7 || n > len - 2)
		return (-1);
	off = 2;
	end = off + n;
	while (off < end) {
		if (end - off < 2)
			return (-1);
		n = get16(p + off);
		off += 2;
		if (n == 0 || end - off < n + 4)
			return (-1);
		if (nids++ == 0) {
			*id = p + off;
			*idlen = n;
		}
		off += n + 4; /* identity, obfuscated_ticket_age */
	}
	if (len - off < 2 || (n = get16(p + off)) < 33 || n != len - off - 2)
		return (-1);
	off += 2;
	while (off < len) {
		n = p[off++];
		if (n < 32 || len - off < n)
			return (-1);
		off += n;
		nbinders++;
	}
	if (nids == 0 || nbinders != nids)
		return (-1);

	/* Success! */
	return (0);
}

bool
tlshello_offers_psk_dhe_ke(const uint8_t *p, size_t len)
{
	size_t i;

	if (len < 2 || p[0] != len - 1)
		return (false);
	for (i = 1; i < len; i++)
		if (p[i] == PSK_DHE_KE)
			return (true);
	return (false);
}
