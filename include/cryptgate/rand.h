/*
 * rand.h: random bytes from OpenSSL's CSPRNG.
 */
#ifndef CRYPTGATE_RAND_H
#define CRYPTGATE_RAND_H

#include <stddef.h>

#include "cdefs.h"

/**
 * rand_bytes(buf, len): fill ${buf} with ${len} random bytes (RAND_bytes).
 * Return 0 on success, -1 (buffer zeroed) if the generator failed.
 */
int rand_bytes(void *buf, size_t len) CG_WUR;

#endif /* !CRYPTGATE_RAND_H */
