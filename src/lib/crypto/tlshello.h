/*
 * tlshello.h: ClientHello extension parsers (internal to src/lib/crypto;
 * used by tls.c).
 */
#ifndef CRYPTGATE_TLSHELLO_H
#define CRYPTGATE_TLSHELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptgate/cdefs.h"

/**
 * tlshello_psk_ext(p, len, id, idlen): parse a pre_shared_key extension
 * body of ${len} bytes at ${p}, strictly: every length in bounds, at least
 * one identity, one binder of 32..255 bytes per identity, nothing left
 * over.  Set ${*id}/${*idlen} to the first identity (pointing into ${p}).
 * Return 0, or -1 if malformed.
 */
int tlshello_psk_ext(
    const uint8_t *p, size_t len, const uint8_t **id, size_t *idlen) CG_WUR;

/**
 * tlshello_offers_psk_dhe_ke(p, len): true if the psk_key_exchange_modes
 * body of ${len} bytes at ${p} is well formed and offers psk_dhe_ke.
 */
bool tlshello_offers_psk_dhe_ke(const uint8_t *p, size_t len);

#endif /* !CRYPTGATE_TLSHELLO_H */
