/*
 * hostkey.h: the private identity of a host: an Ed25519 signing key and a
 * sealing key (X25519 by default, or RSA), see hostpub.h for the public
 * side, the host id and the sealing scheme.
 *
 * Key file (PREFIX.key, mode 0600): exactly two unencrypted PKCS#8 PEM
 * "PRIVATE KEY" blocks, the Ed25519 key first, then the sealing key (X25519
 * or RSA 2048..4096 bits).  `openssl pkey -in PREFIX.key` reads the first
 * block, the signing key.  Text outside the blocks is ignored, as OpenSSL
 * does; anything else (a third block, a public or encrypted key, another
 * algorithm, broken PEM or DER) is refused.
 *
 * A rotated key (cryptgate rotate) names the host it belongs to in two
 * lines before the first block:
 *
 *   Host-Id: <32 lowercase hex digits>
 *   Key-Version: <1..65535, no leading zero>
 *
 * Host-Id is the id the KDC knows the host by: the id of the host's first
 * keys, which ROTATE does not change; hostkey_public reports it instead
 * of the id of the keys in the file.  Key-Version is the keys' version at
 * the KDC (the signer_kvno of the host's requests).  Both or neither,
 * each at most once; a file without them is version 1 of the host its
 * keys hash to.  Other text outside the blocks is ignored.
 */
#ifndef CRYPTGATE_HOSTKEY_H
#define CRYPTGATE_HOSTKEY_H

#include <stddef.h>
#include <stdint.h>

#include "cdefs.h"
#include "hostpub.h"
#include "sign.h"

/* Key files are at most this large (an RSA-4096 pair is about 3.5 KiB). */
#define HOSTKEY_FILEBYTES_MAX 16384

/* The key version of a key file without a Key-Version line. */
#define HOSTKEY_KVNO_FIRST 1

/* hostkey_save flags. */
#define HOSTKEY_FORCE 0x01 /* replace existing PREFIX.key / PREFIX.pub */

struct hostkey;

/**
 * hostkey_generate(type): a new host identity with a sealing key of
 * ${type} (RSA: RSA_BITS_DEFAULT bits).  Return it (free with
 * hostkey_free) or NULL (logged).
 */
struct hostkey *hostkey_generate(enum hostkey_type type);

/**
 * hostkey_parse(pem, len, errstr): parse the key file contents at ${pem}
 * (${len} bytes, no NUL needed).  Return the key (free with hostkey_free),
 * or NULL with ${*errstr} set to a static description (not logged, so the
 * caller can prefix the file name).
 */
struct hostkey *hostkey_parse(const char *pem, size_t len, const char **errstr);

/**
 * hostkey_load(path): read the key file ${path} with file_read_secret
 * (refused if it is a symbolic link or its mode grants anything to group
 * or others) and parse it.  Return the key or NULL (logged as
 * "PATH: reason").
 */
struct hostkey *hostkey_load(const char *path);

/**
 * hostkey_save(hk, prefix, comment, flags): write ${prefix}.key (mode
 * 0600) and ${prefix}.pub (mode 0644, one line ending in a newline, with
 * ${comment}, NULL for none), each atomically (file_write); a key read
 * with Host-Id and Key-Version lines keeps them in ${prefix}.key.  Without
 * HOSTKEY_FORCE in ${flags} neither file may exist beforehand.  Return 0,
 * or -1: logged, except when a file already exists, which returns -1 with
 * errno EEXIST and is left to the caller to report.  If the .pub cannot be
 * written, a .key written by this call without HOSTKEY_FORCE is removed.
 */
int hostkey_save(const struct hostkey *hk, const char *prefix,
    const char *comment, int flags) CG_WUR;

/**
 * hostkey_kvno(hk): the version of ${hk} at the KDC: the Key-Version
 * line of its file, or HOSTKEY_KVNO_FIRST.
 */
uint16_t hostkey_kvno(const struct hostkey *hk);

/** hostkey_type(hk): the sealing key type of ${hk}. */
enum hostkey_type hostkey_type(const struct hostkey *hk);

/**
 * hostkey_public(hk, pub): set ${pub} to the public identity of ${hk}
 * (with an empty comment).
 */
void hostkey_public(const struct hostkey *hk, struct hostpub *pub);

/**
 * hostkey_sign(hk, sig, ctx, m, mlen): sign ${ctx} || 0x00 || ${m} with the
 * Ed25519 key of ${hk} (the signature sign_detached makes, with the key
 * imported once when ${hk} was made); hostpub_verify checks it.  Return 0
 * or -1.  hostkey_sign and hostkey_open only read ${hk}: several threads
 * may use one key at the same time.
 */
int hostkey_sign(const struct hostkey *hk, uint8_t sig[static SIGN_BYTES],
    const char *ctx, const uint8_t *m, size_t mlen) CG_WUR;

/**
 * hostkey_open(hk, m, msize, mlen, c, clen, info, infolen, aad, aadlen):
 * decrypt what hostpub_seal sealed to ${hk}'s public identity with the
 * same ${info} and ${aad} (see hostpub.h: HPKE for X25519, RSA-OAEP for
 * RSA), writing the message to ${m} (${msize} bytes) and its length to
 * ${*mlen}.  Return 0, or -1 on any failure, all alike (wrong key, info or
 * aad, tampered or truncated ${c}, ${msize} too small), with ${m} zeroed.
 */
int hostkey_open(const struct hostkey *hk, uint8_t *m, size_t msize,
    size_t *mlen, const uint8_t *c, size_t clen, const uint8_t *info,
    size_t infolen, const uint8_t *aad, size_t aadlen) CG_WUR;

/** hostkey_free(hk): wipe and free ${hk}; NULL is a no-op. */
void hostkey_free(struct hostkey *hk);

#endif /* !CRYPTGATE_HOSTKEY_H */
