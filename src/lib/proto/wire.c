/*
 * wire.c: KDC protocol v1 header, framing, signatures and small helpers
 * (docs/PROTOCOL.md).  Bodies are in wire_msg.c.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <netinet/in.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cryptgate/digest.h"
#include "cryptgate/log.h"
#include "cryptgate/sign.h"
#include "cryptgate/wire.h"

_Static_assert(WIRE_SIGBYTES == SIGN_BYTES, "signature size");
_Static_assert(WIRE_SIGNPKBYTES == SIGN_PUBLICBYTES, "public key size");
_Static_assert(WIRE_HASHBYTES == DIGEST_SHA256BYTES, "hash size");
_Static_assert(
    WIRE_HDR_NONCE + WIRE_NONCEBYTES == WIRE_HDRBYTES, "header layout");
_Static_assert(WIRE_BODY_MAX <= UINT16_MAX, "body_len is a u16");

/* The IPv4-mapped IPv6 prefix ::ffff:0:0/96 (RFC 4291 section 2.5.5.2). */
static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
	0xff };

static uint16_t
be16dec(const uint8_t *p)
{
	return ((uint16_t)((p[0] << 8) | p[1]));
}

static void
be16enc(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t
be32dec(const uint8_t *p)
{
	return (((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	    ((uint32_t)p[2] << 8) | (uint32_t)p[3]);
}

static uint64_t
be64dec(const uint8_t *p)
{
	return (((uint64_t)be32dec(p) << 32) | be32dec(p + 4));
}

static void
be64enc(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

ssize_t
wire_frame_peek_len(const uint8_t prefix[static WIRE_LENBYTES])
{
	uint32_t len = be32dec(prefix);

	if (len > WIRE_FRAME_MAX || len < WIRE_FRAME_MIN)
		return (-1);
	return ((ssize_t)(WIRE_LENBYTES + len));
}

bool
wire_type_is_known(unsigned int type)
{
	switch (type) {
	case WIRE_RETRIEVE:
	case WIRE_REQUEST:
	case WIRE_ENROLL:
	case WIRE_REVOKE:
	case WIRE_ROTATE:
	case WIRE_RETRIEVE_RESP:
	case WIRE_REQUEST_RESP:
	case WIRE_ENROLL_RESP:
	case WIRE_REVOKE_RESP:
	case WIRE_ROTATE_RESP:
	case WIRE_ERROR:
		return (true);
	default:
		return (false);
	}
}

bool
wire_type_is_response(unsigned int type)
{
	return (wire_type_is_known(type) && (type & WIRE_RESPONSE) != 0);
}

const char *
wire_type_name(unsigned int type)
{
	switch (type) {
	case WIRE_RETRIEVE:
		return ("RETRIEVE");
	case WIRE_REQUEST:
		return ("REQUEST");
	case WIRE_ENROLL:
		return ("ENROLL");
	case WIRE_REVOKE:
		return ("REVOKE");
	case WIRE_ROTATE:
		return ("ROTATE");
	case WIRE_RETRIEVE_RESP:
		return ("RETRIEVE_RESP");
	case WIRE_REQUEST_RESP:
		return ("REQUEST_RESP");
	case WIRE_ENROLL_RESP:
		return ("ENROLL_RESP");
	case WIRE_REVOKE_RESP:
		return ("REVOKE_RESP");
	case WIRE_ROTATE_RESP:
		return ("ROTATE_RESP");
	case WIRE_ERROR:
		return ("ERROR");
	default:
		return ("unknown");
	}
}

const char *
wire_err_name(unsigned int code)
{
	static const char *const names[] = {
		[WIRE_ERR_VERSION] = "VERSION",
		[WIRE_ERR_SIG] = "SIG",
		[WIRE_ERR_SKEW] = "SKEW",
		[WIRE_ERR_REPLAY] = "REPLAY",
		[WIRE_ERR_DENIED] = "DENIED",
		[WIRE_ERR_EXPIRED] = "EXPIRED",
		[WIRE_ERR_PENDING] = "PENDING",
		[WIRE_ERR_RATE] = "RATE",
		[WIRE_ERR_INTERNAL] = "INTERNAL",
		[WIRE_ERR_MALFORMED] = "MALFORMED",
	};

	if (code == 0 || code > WIRE_ERR_MAX)
		return ("unknown");
	return (names[code]);
}

size_t
wire_sealed_bytes(unsigned int suite)
{
	switch (suite) {
	case WIRE_SUITE_X25519:
		return (WIRE_SEALED_X25519);
	case WIRE_SUITE_RSA:
		return (WIRE_SEALED_RSA);
	default:
		return (0);
	}
}

static bool
name_char_ok(unsigned char c)
{
	return ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-');
}

bool
wire_name_is_valid(const char *s, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= max || !name_char_ok((unsigned char)s[i]))
			return (false);
	}
	return (i > 0);
}

bool
wire_addr_is_valid(const struct wire_addr *a)
{
	bool mapped = memcmp(a->addr, v4mapped, sizeof(v4mapped)) == 0;

	switch (a->family) {
	case WIRE_AF_INET:
		return (mapped);
	case WIRE_AF_INET6:
		return (!mapped);
	default:
		return (false);
	}
}

int
wire_addr_from_sockaddr(
    struct wire_addr *a, const struct sockaddr *sa, socklen_t salen)
{
	const struct sockaddr_in *sin;
	const struct sockaddr_in6 *sin6;

	memset(a, 0, sizeof(*a));
	if (sa == NULL || salen < (socklen_t)sizeof(sa_family_t))
		goto err0;
	switch (sa->sa_family) {
	case AF_INET:
		if (salen < (socklen_t)sizeof(*sin))
			goto err0;
		sin = (const struct sockaddr_in *)(const void *)sa;
		memcpy(a->addr, v4mapped, sizeof(v4mapped));
		memcpy(a->addr + 12, &sin->sin_addr, 4);
		a->family = WIRE_AF_INET;
		break;
	case AF_INET6:
		if (salen < (socklen_t)sizeof(*sin6))
			goto err0;
		sin6 = (const struct sockaddr_in6 *)(const void *)sa;
		memcpy(a->addr, &sin6->sin6_addr, 16);
		a->family = memcmp(a->addr, v4mapped, sizeof(v4mapped)) == 0
		    ? WIRE_AF_INET
		    : WIRE_AF_INET6;
		break;
	default:
		goto err0;
	}

	/* Success! */
	return (0);

err0:
	memset(a, 0, sizeof(*a));

	/* Failure! */
	return (-1);
}

bool
wire_is_fresh(uint64_t ts, uint64_t now)
{
	uint64_t d = ts > now ? ts - now : now - ts;

	return (d <= WIRE_SKEW_MS);
}

/* The header checks shared by encode and decode. */
static bool
hdr_ok(const struct wire_hdr *hdr)
{
	return (hdr->version == WIRE_VERSION && wire_type_is_known(hdr->type) &&
	    wire_sealed_bytes(hdr->suite) != 0 && hdr->flags == 0);
}

int
wire_hdr_encode(uint8_t out[static WIRE_HDRBYTES], const struct wire_hdr *hdr)
{
	if (!hdr_ok(hdr)) {
		log_warnx("wire_hdr_encode: invalid header (version %u, "
		          "type 0x%02x, suite %u, flags 0x%02x)",
		    hdr->version, hdr->type, hdr->suite, hdr->flags);
		goto err0;
	}
	out[WIRE_HDR_VERSION] = hdr->version;
	out[WIRE_HDR_TYPE] = hdr->type;
	out[WIRE_HDR_SUITE] = hdr->suite;
	out[WIRE_HDR_FLAGS] = hdr->flags;
	be16enc(out + WIRE_HDR_BODYLEN, hdr->body_len);
	be16enc(out + WIRE_HDR_KVNO, hdr->signer_kvno);
	memcpy(out + WIRE_HDR_SENDER, hdr->sender_id, WIRE_IDBYTES);
	be64enc(out + WIRE_HDR_TIMESTAMP, hdr->timestamp);
	memcpy(out + WIRE_HDR_NONCE, hdr->nonce, WIRE_NONCEBYTES);

	/* Success! */
	return (0);

err0:
	/* Failure! */
	return (-1);
}

int
wire_hdr_decode(struct wire_hdr *hdr, const uint8_t in[static WIRE_HDRBYTES])
{
	memset(hdr, 0, sizeof(*hdr));
	hdr->version = in[WIRE_HDR_VERSION];
	hdr->type = in[WIRE_HDR_TYPE];
	hdr->suite = in[WIRE_HDR_SUITE];
	hdr->flags = in[WIRE_HDR_FLAGS];
	hdr->body_len = be16dec(in + WIRE_HDR_BODYLEN);
	hdr->signer_kvno = be16dec(in + WIRE_HDR_KVNO);
	memcpy(hdr->sender_id, in + WIRE_HDR_SENDER, WIRE_IDBYTES);
	hdr->timestamp = be64dec(in + WIRE_HDR_TIMESTAMP);
	memcpy(hdr->nonce, in + WIRE_HDR_NONCE, WIRE_NONCEBYTES);
	if (!hdr_ok(hdr))
		goto err0;

	/* Success! */
	return (0);

err0:
	memset(hdr, 0, sizeof(*hdr));

	/* Failure! */
	return (-1);
}

/*
 * Check the framing of ${frame}: the length prefix equals ${framelen} - 4
 * and is within the limits, and body_len is consistent with it.  Set
 * ${*bodylen}.  Return 0 or -1.
 */
static int
frame_check(const uint8_t *frame, size_t framelen, size_t *bodylen)
{
	uint32_t len;

	if (frame == NULL || framelen < WIRE_LENBYTES + WIRE_FRAME_MIN ||
	    framelen > WIRE_FRAMEBYTES_MAX)
		return (-1);
	len = be32dec(frame);
	if (len != framelen - WIRE_LENBYTES)
		return (-1);
	*bodylen = be16dec(frame + WIRE_LENBYTES + WIRE_HDR_BODYLEN);
	if (*bodylen != len - WIRE_FRAME_MIN)
		return (-1);
	return (0);
}

int
wire_frame_signed(
    const uint8_t *frame, size_t framelen, const uint8_t **m, size_t *mlen)
{
	size_t bodylen;

	if (frame_check(frame, framelen, &bodylen))
		return (-1);
	*m = frame + WIRE_LENBYTES;
	*mlen = WIRE_HDRBYTES + bodylen;
	return (0);
}

int
wire_frame_hash(
    uint8_t out[static WIRE_HASHBYTES], const uint8_t *frame, size_t framelen)
{
	return (digest_sha256(out, frame, framelen));
}

/* The signature context of a frame, or NULL if its type is unknown. */
static const char *
frame_ctx(const uint8_t *frame)
{
	unsigned int type = frame[WIRE_LENBYTES + WIRE_HDR_TYPE];

	if (!wire_type_is_known(type))
		return (NULL);
	return (
	    wire_type_is_response(type) ? WIRE_CTX_RESPONSE : WIRE_CTX_REQUEST);
}

int
wire_frame_sign(
    uint8_t *frame, size_t framelen, const uint8_t sk[static SIGN_SECRETBYTES])
{
	const uint8_t *m;
	const char *ctx;
	size_t mlen;

	if (wire_frame_signed(frame, framelen, &m, &mlen) ||
	    (ctx = frame_ctx(frame)) == NULL) {
		log_warnx("wire_frame_sign: malformed frame");
		goto err0;
	}
	if (sign_detached(frame + framelen - WIRE_SIGBYTES, ctx, m, mlen, sk))
		goto err0;

	/* Success! */
	return (0);

err0:
	/* Failure! */
	return (-1);
}

int
wire_frame_verify(const uint8_t *frame, size_t framelen,
    const uint8_t pk[static WIRE_SIGNPKBYTES])
{
	const uint8_t *m;
	const char *ctx;
	size_t mlen;

	if (wire_frame_signed(frame, framelen, &m, &mlen) ||
	    (ctx = frame_ctx(frame)) == NULL)
		return (-1);
	return (
	    sign_verify(frame + framelen - WIRE_SIGBYTES, ctx, m, mlen, pk));
}

int
wire_frame_verify_pub(
    const uint8_t *frame, size_t framelen, const struct sign_pub *pub)
{
	const uint8_t *m;
	const char *ctx;
	size_t mlen;

	if (wire_frame_signed(frame, framelen, &m, &mlen) ||
	    (ctx = frame_ctx(frame)) == NULL)
		return (-1);
	return (sign_pub_verify(
	    frame + framelen - WIRE_SIGBYTES, ctx, m, mlen, pub));
}

int
wire_frame_sealed(
    const uint8_t *frame, size_t framelen, size_t *aadlen, size_t *bloboff)
{
	const uint8_t *hdr;
	size_t bodylen, n;

	if (frame_check(frame, framelen, &bodylen))
		return (-1);
	hdr = frame + WIRE_LENBYTES;
	if (hdr[WIRE_HDR_VERSION] != WIRE_VERSION || hdr[WIRE_HDR_FLAGS] != 0 ||
	    (hdr[WIRE_HDR_TYPE] != WIRE_RETRIEVE_RESP &&
	        hdr[WIRE_HDR_TYPE] != WIRE_REQUEST_RESP) ||
	    (n = wire_sealed_bytes(hdr[WIRE_HDR_SUITE])) == 0 ||
	    bodylen < 2 + n)
		return (-1);
	/* The sealed field is the last of both bodies: u16 len || blob. */
	if (be16dec(hdr + WIRE_HDRBYTES + bodylen - n - 2) != n)
		return (-1);
	*aadlen = WIRE_HDRBYTES + bodylen - n - 2;
	*bloboff = WIRE_LENBYTES + WIRE_HDRBYTES + bodylen - n;
	return (0);
}

int
wire_frame_enroll_mac(
    const uint8_t *frame, size_t framelen, size_t *maclen, size_t *macoff)
{
	const uint8_t *hdr;
	size_t bodylen;

	if (frame_check(frame, framelen, &bodylen))
		return (-1);
	hdr = frame + WIRE_LENBYTES;
	if (hdr[WIRE_HDR_VERSION] != WIRE_VERSION || hdr[WIRE_HDR_FLAGS] != 0 ||
	    hdr[WIRE_HDR_TYPE] != WIRE_ENROLL || bodylen < WIRE_MACBYTES)
		return (-1);
	/* enroll_mac is the last field of the ENROLL body. */
	*maclen = WIRE_HDRBYTES + bodylen - WIRE_MACBYTES;
	*macoff = WIRE_LENBYTES + *maclen;
	return (0);
}

int
wire_seal_info(uint8_t info[static WIRE_SEAL_INFOBYTES], unsigned int role,
    const uint8_t key_id[static WIRE_KEYIDBYTES],
    const uint8_t recipient_id[static WIRE_IDBYTES])
{
	uint8_t *p = info;

	if (role != WIRE_ROLE_CLIENT && role != WIRE_ROLE_PEER) {
		log_warnx("wire_seal_info: bad role %u", role);
		goto err0;
	}
	memcpy(p, WIRE_SEAL_INFO_LABEL, WIRE_SEAL_INFO_LABELBYTES);
	p += WIRE_SEAL_INFO_LABELBYTES;
	*p++ = (uint8_t)role;
	memcpy(p, key_id, WIRE_KEYIDBYTES);
	p += WIRE_KEYIDBYTES;
	memcpy(p, recipient_id, WIRE_IDBYTES);

	/* Success! */
	return (0);

err0:
	/* Failure! */
	return (-1);
}
