/*
 * cdefs.h: compiler attributes shared by every cryptgate header.
 */
#ifndef CRYPTGATE_CDEFS_H
#define CRYPTGATE_CDEFS_H

/* The result must be checked: verify, open, parse and load functions. */
#define CG_WUR __attribute__((warn_unused_result))
/* printf-style format checking: CG_PRINTF(fmt_index, first_arg_index). */
#define CG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define CG_NORETURN __attribute__((noreturn))

#endif /* !CRYPTGATE_CDEFS_H */
