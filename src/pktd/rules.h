/*
 * rules.h: the iptables and ip6tables rules that send protected traffic
 * to cryptgate-pktd's queues (see rules.c and cryptgate-pktd(8)).
 */
#ifndef CRYPTGATE_PKTD_RULES_H
#define CRYPTGATE_PKTD_RULES_H

#include <stdbool.h>
#include <stdio.h>

#include "cryptgate/cdefs.h"

struct pconf;

/**
 * rules_print(pc, f): write to ${f} the rules ${pc} installs, as the
 * iptables-restore and ip6tables-restore input (--noflush) they are
 * installed with.  Return 0 or -1.
 */
int rules_print(const struct pconf *pc, FILE *f) CG_WUR;

/**
 * rules_install(pc): install (or replace) the rules of ${pc}: the chains
 * of each table are replaced in one iptables-restore transaction, so no
 * protected packet passes in clear meanwhile.  A family with no policy
 * has its chains removed.  The rules stay when the daemon exits.  Return
 * 0 or -1 (logged; the previous rules, if any, may stay in place).
 */
int rules_install(const struct pconf *pc) CG_WUR;

/**
 * rules_remove(void): remove the chains and jumps of both families,
 * whatever configuration installed them.  Return 0, or -1 if a chain
 * could not be removed (logged).
 */
int rules_remove(void) CG_WUR;

#endif /* !CRYPTGATE_PKTD_RULES_H */
