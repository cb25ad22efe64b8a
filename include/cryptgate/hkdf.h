/*
 * hkdf.h: HKDF with SHA-256 (RFC 5869), on OpenSSL HMAC.
 */
#ifndef CRYPTGATE_HKDF_H
#define CRYPTGATE_HKDF_H

#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"

#define HKDF_PRKBYTES 32 /* SHA-256 output */
#define HKDF_OUTBYTES_MAX 8160 /* 255 * HashLen, the RFC 5869 limit */
#define HKDF_INFOBYTES_MAX 1024 /* our cap; keep info small */

/**
 * hkdf_extract(prk, salt, saltlen, ikm, ikmlen): PRK = HMAC-SHA256(salt, ikm).
 * A NULL or empty ${salt} means HashLen zero bytes.  Return 0 or -1.
 */
int hkdf_extract(uint8_t prk[static HKDF_PRKBYTES], const uint8_t *salt,
    size_t saltlen, const uint8_t *ikm, size_t ikmlen) CG_WUR;

/**
 * hkdf_expand(out, outlen, prk, prklen, info, infolen): HKDF-Expand of
 * ${prk} into ${outlen} bytes at ${out}.  ${prklen} >= HKDF_PRKBYTES,
 * ${outlen} <= HKDF_OUTBYTES_MAX, ${infolen} <= HKDF_INFOBYTES_MAX.
 * ${outlen} == 0 succeeds and writes nothing.  Return 0 or -1 (${out}
 * zeroed, unless ${outlen} is over the limit: then it is not touched).
 */
int hkdf_expand(uint8_t *out, size_t outlen, const uint8_t *prk, size_t prklen,
    const uint8_t *info, size_t infolen) CG_WUR;

/**
 * hkdf(out, outlen, salt, saltlen, ikm, ikmlen, info, infolen): extract then
 * expand.  Return 0 or -1.
 */
int hkdf(uint8_t *out, size_t outlen, const uint8_t *salt, size_t saltlen,
    const uint8_t *ikm, size_t ikmlen, const uint8_t *info,
    size_t infolen) CG_WUR;

#endif /* !CRYPTGATE_HKDF_H */
