/*
 * wire.h: the KDC protocol v1 on the wire: every message layout constant
 * and protocol limit, the decoded structures, and strict encoders and
 * decoders (wire.c: header, framing, signatures; wire_msg.c: bodies and
 * whole messages).  docs/PROTOCOL.md describes the same bytes in prose.
 *
 * A frame is
 *
 *   u32 len || hdr (48 bytes) || body (hdr.body_len bytes) || sig (64)
 *
 * where len counts the bytes after itself (48 + body_len + 64) and is at
 * most WIRE_FRAME_MAX.  Integers are big-endian.  sig is Ed25519 over
 * ctx || 0x00 || hdr || body (sign.h) with ctx WIRE_CTX_REQUEST for types
 * below 0x80 and WIRE_CTX_RESPONSE for responses and ERROR.
 *
 * Decoders are strict and never log (the caller knows the peer): exact
 * lengths (trailing bytes are malformed), version 1, known types, suites
 * and codes, flags 0, every length capped, canonical addresses, strings
 * in their charset.  Encoders run the same checks, so whatever one side
 * encodes the other decodes, and whatever decodes re-encodes to the same
 * bytes.  Encoders log what is wrong (a bug of the caller).
 *
 * Thread safety: every function here is reentrant (no global state).
 */
#ifndef CRYPTGATE_WIRE_H
#define CRYPTGATE_WIRE_H

#include <sys/socket.h>
#include <sys/types.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"
#include "sign.h"

/* --- Framing ------------------------------------------------------------ */

#define WIRE_VERSION 1
#define WIRE_LENBYTES 4 /* the u32 length prefix */
#define WIRE_HDRBYTES 48
#define WIRE_SIGBYTES 64 /* Ed25519 */
#define WIRE_FRAME_MAX 16384 /* largest value of the u32 length */
#define WIRE_FRAME_MIN (WIRE_HDRBYTES + WIRE_SIGBYTES) /* smallest value */
/* Largest frame on the wire, length prefix included: a buffer this big
 * holds any frame. */
#define WIRE_FRAMEBYTES_MAX (WIRE_LENBYTES + WIRE_FRAME_MAX)
#define WIRE_BODY_MAX (WIRE_FRAME_MAX - WIRE_FRAME_MIN)

/* Header field offsets (each field big-endian). */
#define WIRE_HDR_VERSION 0 /* u8, WIRE_VERSION */
#define WIRE_HDR_TYPE 1 /* u8, enum wire_type */
#define WIRE_HDR_SUITE 2 /* u8, enum wire_suite */
#define WIRE_HDR_FLAGS 3 /* u8, 0 */
#define WIRE_HDR_BODYLEN 4 /* u16 */
#define WIRE_HDR_KVNO 6 /* u16, signer key version */
#define WIRE_HDR_SENDER 8 /* 16 bytes */
#define WIRE_HDR_TIMESTAMP 24 /* u64, unix time in milliseconds */
#define WIRE_HDR_NONCE 32 /* 16 bytes */

/* Domain-separation contexts of the signatures (sign.h adds 0x00). */
#define WIRE_CTX_REQUEST "cryptgate kdc v1 request"
#define WIRE_CTX_RESPONSE "cryptgate kdc v1 response"
#define WIRE_CTX_ROTATE "cryptgate kdc v1 rotate" /* ROTATE pop_sig */

/* --- Codes -------------------------------------------------------------- */

enum wire_type {
	WIRE_RETRIEVE = 1,
	WIRE_REQUEST = 2,
	WIRE_ENROLL = 3,
	WIRE_REVOKE = 4,
	WIRE_ROTATE = 5,
	WIRE_RESPONSE = 0x80, /* response type = request type | 0x80 */
	WIRE_RETRIEVE_RESP = 0x81,
	WIRE_REQUEST_RESP = 0x82,
	WIRE_ENROLL_RESP = 0x83,
	WIRE_REVOKE_RESP = 0x84,
	WIRE_ROTATE_RESP = 0x85,
	WIRE_ERROR = 0xff,
};

/* Suites: the sender host's sealing algorithm (all sign with Ed25519). */
enum wire_suite {
	/* Ed25519 + HPKE base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
	 * ChaCha20-Poly1305 (RFC 9180). */
	WIRE_SUITE_X25519 = 1,
	/* Ed25519 + RSAES-OAEP-SHA256 (MGF1-SHA256), RSA-3072 only. */
	WIRE_SUITE_RSA = 2,
};

/* ERROR codes (u16).  0 is never sent. */
enum wire_err {
	WIRE_ERR_VERSION = 1, /* unsupported protocol version */
	WIRE_ERR_SIG = 2, /* unknown signer or bad signature */
	WIRE_ERR_SKEW = 3, /* |now - timestamp| > WIRE_SKEW_MS */
	WIRE_ERR_REPLAY = 4, /* (sender, nonce) seen before */
	WIRE_ERR_DENIED = 5, /* not authorized, or no such key (uniform) */
	WIRE_ERR_EXPIRED = 6, /* the sender's key or enrollment expired */
	WIRE_ERR_PENDING = 7, /* enrollment awaits admin approval */
	WIRE_ERR_RATE = 8, /* rate limit or replay cache full; retry */
	WIRE_ERR_INTERNAL = 9, /* KDC failure (store, audit, crypto) */
	WIRE_ERR_MALFORMED = 10, /* bad framing, type, suite, flags, body */
};
#define WIRE_ERR_MAX WIRE_ERR_MALFORMED

/* Sealed-key roles in the HPKE info. */
enum wire_role {
	WIRE_ROLE_CLIENT = 1, /* REQUEST_RESP: sealed to the requester */
	WIRE_ROLE_PEER = 2, /* RETRIEVE_RESP: sealed to the peer host */
};

/* ENROLL_RESP state. */
enum wire_enroll_state {
	WIRE_STATE_PENDING = 1, /* waits for admin approval */
	WIRE_STATE_ACTIVE = 2,
};

/* REVOKE kind. */
enum wire_revoke_kind {
	WIRE_REVOKE_KEY = 1, /* id = a session key id */
	WIRE_REVOKE_HOST = 2, /* id = a host id (admin only) */
	WIRE_REVOKE_MINE = 3, /* every key of the sender; id all zero */
};

/* REVOKE reason. */
enum wire_revoke_reason {
	WIRE_REASON_UNSPECIFIED = 0,
	WIRE_REASON_COMPROMISE = 1,
	WIRE_REASON_SUPERSEDED = 2,
	WIRE_REASON_RETIRED = 3,
};
#define WIRE_REASON_MAX WIRE_REASON_RETIRED

/* --- Field sizes and limits --------------------------------------------- */

#define WIRE_IDBYTES 16 /* host ids, KDC id */
#define WIRE_NONCEBYTES 16
#define WIRE_KEYIDBYTES 16 /* session key id */
#define WIRE_HASHBYTES 32 /* req_hash: SHA-256 of the request frame */
#define WIRE_SIGNPKBYTES 32 /* Ed25519 public key */
#define WIRE_MACBYTES 32 /* ENROLL enroll_mac, HMAC-SHA256 */
#define WIRE_SESSIONKEYBYTES 32 /* plaintext of a sealed blob */

/* Strings: u8 len || bytes, 1..max bytes of [A-Za-z0-9._-], no NUL. */
#define WIRE_SERVICE_MAX 64
#define WIRE_HOSTNAME_MAX 253

/* Addresses: u8 family || 16 bytes; IPv4 as ::ffff:a.b.c.d (family 4);
 * family 6 must not hold a v4-mapped address (one encoding per address). */
#define WIRE_ADDRBYTES 17
#define WIRE_AF_INET 4
#define WIRE_AF_INET6 6
#define WIRE_ADDRS_MAX 16 /* ENROLL n */

/* Sealed session keys: u16 len || blob, len exactly the suite's size. */
#define WIRE_SEALED_X25519 80 /* enc 32 || ct 32 || tag 16 */
#define WIRE_SEALED_RSA 384 /* RSA-3072 OAEP ciphertext */
#define WIRE_SEALED_MAX WIRE_SEALED_RSA

/* Sealing public keys (ENROLL, ROTATE): u16 len || bytes. */
#define WIRE_SEALPK_X25519 32 /* raw X25519, exactly */
#define WIRE_SEALPK_RSA_MAX 600 /* DER SubjectPublicKeyInfo, 1..600 */
#define WIRE_SEALPK_MAX WIRE_SEALPK_RSA_MAX

/* HPKE info (and the info part of the RSA-OAEP label):
 * WIRE_SEAL_INFO_LABEL || u8 role || key_id[16] || recipient_id[16]. */
#define WIRE_SEAL_INFO_LABEL "cryptgate kdc v1 key"
#define WIRE_SEAL_INFO_LABELBYTES (sizeof(WIRE_SEAL_INFO_LABEL) - 1)
#define WIRE_SEAL_INFOBYTES \
	(WIRE_SEAL_INFO_LABELBYTES + 1 + WIRE_KEYIDBYTES + WIRE_IDBYTES)

/* Freshness: a request is fresh if |now - timestamp| <= WIRE_SKEW_MS; the
 * replay cache keeps (sender, nonce) until timestamp + 2 * WIRE_SKEW_MS. */
#define WIRE_SKEW_MS 120000
#define WIRE_REPLAY_WINDOW_MS (2 * (uint64_t)WIRE_SKEW_MS)

/* REQUEST lifetime (seconds): 0 asks for the default; the KDC clamps. */
#define WIRE_LIFETIME_DEFAULT 3600
#define WIRE_LIFETIME_MAX 86400

/* Key versions: ENROLL is signed with kvno 1; 0 never names a key. */
#define WIRE_KVNO_FIRST 1

/* Fixed body sizes. */
#define WIRE_ENROLL_RESP_BYTES (WIRE_HASHBYTES + WIRE_IDBYTES + 1)
#define WIRE_REVOKE_BYTES (1 + WIRE_IDBYTES + 1)
#define WIRE_REVOKE_RESP_BYTES (WIRE_HASHBYTES + 4)
#define WIRE_ROTATE_RESP_BYTES (WIRE_HASHBYTES + 2 + 8)
#define WIRE_ERROR_BYTES (WIRE_HASHBYTES + 2 + 8 + 2)

/* --- Decoded structures (plain values: no pointers, nothing to free) ---- */

struct wire_hdr {
	uint8_t version; /* WIRE_VERSION */
	uint8_t type; /* enum wire_type */
	uint8_t suite; /* enum wire_suite */
	uint8_t flags; /* 0 */
	uint16_t body_len; /* set by decoders; encoders compute it */
	uint16_t signer_kvno; /* key version of the signer */
	uint8_t sender_id[WIRE_IDBYTES]; /* host id, KDC id, 0 for ENROLL */
	uint64_t timestamp; /* unix time, milliseconds */
	uint8_t nonce[WIRE_NONCEBYTES]; /* random; responses echo it */
};

struct wire_addr {
	uint8_t family; /* WIRE_AF_INET or WIRE_AF_INET6 */
	uint8_t addr[16]; /* network order; IPv4 as ::ffff:a.b.c.d */
};

struct wire_sealed {
	uint16_t len; /* wire_sealed_bytes(suite) */
	uint8_t blob[WIRE_SEALED_MAX];
};

struct wire_sealpk {
	uint16_t len; /* WIRE_SEALPK_X25519, or 1..WIRE_SEALPK_RSA_MAX */
	uint8_t key[WIRE_SEALPK_MAX];
};

/* 1 RETRIEVE (peer host -> KDC): key_id, client_addr, service. */
struct wire_retrieve {
	uint8_t key_id[WIRE_KEYIDBYTES]; /* all zero: legacy lookup */
	struct wire_addr client_addr; /* from getpeername() */
	char service[WIRE_SERVICE_MAX + 1];
};

/* 0x81: req_hash, key_id, not_after, requester_id, sealed (role 2). */
struct wire_retrieve_resp {
	uint8_t req_hash[WIRE_HASHBYTES];
	uint8_t key_id[WIRE_KEYIDBYTES];
	uint64_t not_after; /* unix ms */
	uint8_t requester_id[WIRE_IDBYTES];
	struct wire_sealed sealed;
};

/* 2 REQUEST (client host -> KDC): peer_id, service, client_addr, lifetime. */
struct wire_request {
	uint8_t peer_id[WIRE_IDBYTES];
	char service[WIRE_SERVICE_MAX + 1];
	struct wire_addr client_addr;
	uint32_t lifetime; /* seconds, 0 = default */
};

/* 0x82: req_hash, key_id, not_before, not_after, peer_id, service,
 * client_addr, sealed (role 1).  not_before <= not_after. */
struct wire_request_resp {
	uint8_t req_hash[WIRE_HASHBYTES];
	uint8_t key_id[WIRE_KEYIDBYTES];
	uint64_t not_before; /* unix ms */
	uint64_t not_after; /* unix ms */
	uint8_t peer_id[WIRE_IDBYTES];
	char service[WIRE_SERVICE_MAX + 1];
	struct wire_addr client_addr;
	struct wire_sealed sealed;
};

/* 3 ENROLL (new host -> KDC, signed by sig_pk; header sender_id zero,
 * signer_kvno WIRE_KVNO_FIRST, seal_alg equal to the header's suite). */
struct wire_enroll {
	uint8_t sig_pk[WIRE_SIGNPKBYTES];
	uint8_t seal_alg; /* enum wire_suite */
	struct wire_sealpk seal_pk;
	char hostname[WIRE_HOSTNAME_MAX + 1];
	uint8_t naddrs; /* 0..WIRE_ADDRS_MAX */
	struct wire_addr addrs[WIRE_ADDRS_MAX];
	/* HMAC-SHA256(one-time token, hdr || body before the mac), or zero
	 * when enrolling without a token (wire_frame_enroll_mac). */
	uint8_t enroll_mac[WIRE_MACBYTES];
};

/* 0x83: req_hash, host_id, state. */
struct wire_enroll_resp {
	uint8_t req_hash[WIRE_HASHBYTES];
	uint8_t host_id[WIRE_IDBYTES];
	uint8_t state; /* enum wire_enroll_state */
};

/* 4 REVOKE: kind, id, reason. */
struct wire_revoke {
	uint8_t kind; /* enum wire_revoke_kind */
	uint8_t id[WIRE_IDBYTES]; /* all zero for WIRE_REVOKE_MINE */
	uint8_t reason; /* enum wire_revoke_reason */
};

/* 0x84: req_hash, count. */
struct wire_revoke_resp {
	uint8_t req_hash[WIRE_HASHBYTES];
	uint32_t count; /* keys revoked */
};

/* 5 ROTATE (outer signature by the OLD key): new keys, new_kvno, pop_sig
 * (wire_msg_pop_sign). */
struct wire_rotate {
	uint8_t new_sig_pk[WIRE_SIGNPKBYTES];
	uint8_t seal_alg; /* enum wire_suite of the new sealing key */
	struct wire_sealpk new_seal_pk;
	uint16_t new_kvno; /* != 0 */
	uint8_t pop_sig[WIRE_SIGBYTES];
};

/* 0x85: req_hash, new_kvno, old_valid_until. */
struct wire_rotate_resp {
	uint8_t req_hash[WIRE_HASHBYTES];
	uint16_t new_kvno; /* != 0 */
	uint64_t old_valid_until; /* unix ms */
};

/* 0xFF ERROR: req_hash, code, kdc_time, retry_after. */
struct wire_error {
	uint8_t req_hash[WIRE_HASHBYTES];
	uint16_t code; /* enum wire_err, 1..WIRE_ERR_MAX */
	uint64_t kdc_time; /* unix ms, so a client can see its skew */
	uint16_t retry_after; /* seconds, 0 = do not retry */
};

/* A whole frame: header, the body selected by hdr.type, signature. */
struct wire_msg {
	struct wire_hdr hdr;
	union {
		struct wire_retrieve retrieve;
		struct wire_retrieve_resp retrieve_resp;
		struct wire_request request;
		struct wire_request_resp request_resp;
		struct wire_enroll enroll;
		struct wire_enroll_resp enroll_resp;
		struct wire_revoke revoke;
		struct wire_revoke_resp revoke_resp;
		struct wire_rotate rotate;
		struct wire_rotate_resp rotate_resp;
		struct wire_error error;
	} u;
	uint8_t sig[WIRE_SIGBYTES];
};

/* --- wire.c: header, framing, signatures, helpers ----------------------- */

/**
 * wire_frame_peek_len(prefix): the total size in bytes (length prefix
 * included) of the frame whose first 4 bytes are ${prefix}, or -1 if the
 * length is over WIRE_FRAME_MAX or under WIRE_FRAME_MIN (drop the
 * connection: the stream cannot be resynchronised).
 */
ssize_t wire_frame_peek_len(const uint8_t prefix[static WIRE_LENBYTES]);

/**
 * wire_hdr_encode(out, hdr): write ${hdr} (48 bytes) to ${out}.  Checks
 * version, type, suite and flags, not body_len.  Return 0 or -1 (logged).
 */
int wire_hdr_encode(
    uint8_t out[static WIRE_HDRBYTES], const struct wire_hdr *hdr) CG_WUR;

/**
 * wire_hdr_decode(hdr, in): decode the 48 bytes at ${in} into ${hdr}.
 * Strict: version 1, known type and suite, flags 0.  Return 0, or -1 (not
 * logged; ${hdr} zeroed).
 */
int wire_hdr_decode(
    struct wire_hdr *hdr, const uint8_t in[static WIRE_HDRBYTES]) CG_WUR;

/** wire_type_is_known(type): true for the 11 types of enum wire_type. */
bool wire_type_is_known(unsigned int type);

/** wire_type_is_response(type): true for 0x81..0x85 and ERROR. */
bool wire_type_is_response(unsigned int type);

/** wire_type_name(type): "RETRIEVE", "REQUEST_RESP", ..., or "unknown". */
const char *wire_type_name(unsigned int type);

/** wire_err_name(code): "VERSION", ..., "MALFORMED", or "unknown". */
const char *wire_err_name(unsigned int code);

/**
 * wire_sealed_bytes(suite): the size of a sealed session key in ${suite}
 * (80 or 384), or 0 if ${suite} is unknown.
 */
size_t wire_sealed_bytes(unsigned int suite);

/**
 * wire_name_is_valid(s, max): true if ${s} is a valid protocol string:
 * 1..${max} characters of [A-Za-z0-9._-] (service names with
 * WIRE_SERVICE_MAX, host names with WIRE_HOSTNAME_MAX).
 */
bool wire_name_is_valid(const char *s, size_t max);

/**
 * wire_addr_is_valid(a): true if ${a} is canonical: family 4 holding a
 * v4-mapped address, or family 6 holding anything else.
 */
bool wire_addr_is_valid(const struct wire_addr *a);

/**
 * wire_addr_from_sockaddr(a, sa, salen): set ${a} from an AF_INET or
 * AF_INET6 socket address (a v4-mapped AF_INET6 address becomes family
 * 4), ignoring the port.  Return 0, or -1 (not logged) for another family
 * or a short ${salen}.
 */
int wire_addr_from_sockaddr(
    struct wire_addr *a, const struct sockaddr *sa, socklen_t salen) CG_WUR;

/**
 * wire_is_fresh(ts, now): true if |${now} - ${ts}| <= WIRE_SKEW_MS (both
 * unix milliseconds).
 */
bool wire_is_fresh(uint64_t ts, uint64_t now);

/**
 * wire_frame_signed(frame, framelen, m, mlen): point ${*m} at the signed
 * region (hdr || body) of the ${framelen}-byte frame ${frame} and set
 * ${*mlen}.  Only the framing is checked (length prefix equal to
 * ${framelen} - 4 and within the limits, body_len consistent with it).
 * Return 0, or -1 (not logged).
 */
int wire_frame_signed(const uint8_t *frame, size_t framelen, const uint8_t **m,
    size_t *mlen) CG_WUR;

/**
 * wire_frame_hash(out, frame, framelen): ${out} = SHA-256 of the
 * ${framelen} bytes at ${frame}: the whole frame, length prefix and
 * signature included (the req_hash of responses).  Return 0 or -1.
 */
int wire_frame_hash(uint8_t out[static WIRE_HASHBYTES], const uint8_t *frame,
    size_t framelen) CG_WUR;

/**
 * wire_frame_sign(frame, framelen, sk): sign the frame ${frame} with the
 * Ed25519 seed ${sk}, writing the last 64 bytes.  The context is
 * WIRE_CTX_REQUEST or WIRE_CTX_RESPONSE according to the header's type,
 * which must be known.  Return 0 or -1 (logged).
 */
int wire_frame_sign(uint8_t *frame, size_t framelen,
    const uint8_t sk[static SIGN_SECRETBYTES]) CG_WUR;

/**
 * wire_frame_verify(frame, framelen, pk): 0 if the last 64 bytes of
 * ${frame} are a valid signature by ${pk} of its hdr || body in the
 * context of its type, else -1 (not logged).
 */
int wire_frame_verify(const uint8_t *frame, size_t framelen,
    const uint8_t pk[static WIRE_SIGNPKBYTES]) CG_WUR;

struct sign_pub;
/**
 * wire_frame_verify_pub(frame, framelen, pub): wire_frame_verify with the
 * imported key ${pub} (sign_pub_new), which saves the import per frame.
 */
int wire_frame_verify_pub(
    const uint8_t *frame, size_t framelen, const struct sign_pub *pub) CG_WUR;

/**
 * wire_frame_sealed(frame, framelen, aadlen, bloboff): for a
 * RETRIEVE_RESP or REQUEST_RESP frame whose framing, type and suite are
 * valid and whose body ends with a sealed field of the suite's size, set
 * ${*bloboff} to the offset in ${frame} of the sealed blob (after its u16
 * length; wire_sealed_bytes(suite) bytes) and ${*aadlen} so that the aad
 * is the ${*aadlen} bytes at ${frame} + WIRE_LENBYTES (hdr || the body
 * bytes preceding the sealed field).  An encoder seals into the frame at
 * ${bloboff} after encoding the message with a zero blob.  Return 0 or -1
 * (not logged).
 */
int wire_frame_sealed(const uint8_t *frame, size_t framelen, size_t *aadlen,
    size_t *bloboff) CG_WUR;

/**
 * wire_frame_enroll_mac(frame, framelen, maclen, macoff): for an ENROLL
 * frame with valid framing, set ${*macoff} to the offset in ${frame} of
 * its enroll_mac and ${*maclen} so that the MAC input is the ${*maclen}
 * bytes at ${frame} + WIRE_LENBYTES (hdr || body before the mac).
 * Return 0 or -1 (not logged).
 */
int wire_frame_enroll_mac(const uint8_t *frame, size_t framelen, size_t *maclen,
    size_t *macoff) CG_WUR;

/**
 * wire_seal_info(info, role, key_id, recipient_id): write the HPKE info
 * WIRE_SEAL_INFO_LABEL || u8 ${role} || ${key_id} || ${recipient_id}
 * (WIRE_SEAL_INFOBYTES bytes) to ${info}.  Return 0, or -1 (logged) if
 * ${role} is not an enum wire_role.
 */
int wire_seal_info(uint8_t info[static WIRE_SEAL_INFOBYTES], unsigned int role,
    const uint8_t key_id[static WIRE_KEYIDBYTES],
    const uint8_t recipient_id[static WIRE_IDBYTES]) CG_WUR;

/* --- wire_msg.c: bodies and whole messages ------------------------------ */

/**
 * wire_msg_encode(out, outsize, outlen, msg): encode ${msg} as a whole
 * frame (length prefix, header with body_len computed, body of
 * ${msg}->hdr.type, then ${msg}->sig as is: sign it afterwards with
 * wire_frame_sign) into ${out} (${outsize} bytes; WIRE_FRAMEBYTES_MAX
 * always suffices) and set ${*outlen}.  Every check of wire_msg_decode
 * applies.  Return 0, or -1 (logged) if ${msg} is invalid or does not
 * fit.
 */
int wire_msg_encode(uint8_t *out, size_t outsize, size_t *outlen,
    const struct wire_msg *msg) CG_WUR;

/**
 * wire_msg_decode(msg, frame, framelen, err): strictly decode the
 * ${framelen}-byte frame ${frame} (length prefix included) into ${msg}.
 * The signature is copied, not verified.  Return 0, or -1 (not logged)
 * with ${msg} zeroed and, if ${err} is not NULL, ${*err} set to the
 * ERROR code to answer with: WIRE_ERR_VERSION if the version byte is not
 * 1, else WIRE_ERR_MALFORMED.
 */
int wire_msg_decode(struct wire_msg *msg, const uint8_t *frame, size_t framelen,
    uint16_t *err) CG_WUR;

/**
 * wire_msg_pop(out, outsize, outlen, host_id, rot): write the message
 * signed by ROTATE's pop_sig: ${host_id} || new_sig_pk || seal_alg ||
 * u16 len || new_seal_pk || u16 new_kvno (the body of ${rot} before
 * pop_sig, prefixed by the rotating host's id) into ${out} (${outsize}
 * bytes) and set ${*outlen}.  Return 0 or -1 (logged).
 */
int wire_msg_pop(uint8_t *out, size_t outsize, size_t *outlen,
    const uint8_t host_id[static WIRE_IDBYTES],
    const struct wire_rotate *rot) CG_WUR;

/**
 * wire_msg_pop_sign(rot, host_id, new_sk): set ${rot}->pop_sig to the
 * Ed25519 signature by the new seed ${new_sk} (whose public key must be
 * ${rot}->new_sig_pk) of wire_msg_pop() in context WIRE_CTX_ROTATE.
 * Return 0 or -1 (logged).
 */
int wire_msg_pop_sign(struct wire_rotate *rot,
    const uint8_t host_id[static WIRE_IDBYTES],
    const uint8_t new_sk[static SIGN_SECRETBYTES]) CG_WUR;

/**
 * wire_msg_pop_verify(rot, host_id): 0 if ${rot}->pop_sig is a valid
 * signature by ${rot}->new_sig_pk of wire_msg_pop(), else -1 (not
 * logged).
 */
int wire_msg_pop_verify(const struct wire_rotate *rot,
    const uint8_t host_id[static WIRE_IDBYTES]) CG_WUR;

#endif /* !CRYPTGATE_WIRE_H */
