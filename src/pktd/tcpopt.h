/*
 * tcpopt.h: TCP option areas (RFC 9293 section 3.2): parse, repack with
 * room for our option, strip our option.
 */
#ifndef CRYPTGATE_PKTD_TCPOPT_H
#define CRYPTGATE_PKTD_TCPOPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cryptgate/cdefs.h"

#define TCPOPT_MAXBYTES 40
#define TCPOPT_MAXSACK 4
#define TCPOPT_MAXOTHER 8

#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WS 3
#define TCPOPT_SACKOK 4
#define TCPOPT_SACK 5
#define TCPOPT_TS 8
#define TCPOPT_MD5 19
#define TCPOPT_AO 29
#define TCPOPT_MPTCP 30
#define TCPOPT_TFO 34

/* A parsed option area; offsets are into the parsed bytes. */
struct tcpopt {
	bool has_mss;
	bool has_ws;
	bool sackok;
	bool has_ts;
	bool has_eol; /* an EOL before the end of the area */
	bool has_tfo; /* kind 34 (or RFC 6994 ExID 0xf989) */
	bool has_mptcp; /* kind 30 */
	bool has_auth; /* kind 19 (MD5) or 29 (AO): no room for both */
	uint16_t mss;
	uint8_t ws;
	uint8_t ts[8];
	size_t nsack;
	uint8_t sack[TCPOPT_MAXSACK][8];
	int ours_off; /* our option (kind 253, our ExID), -1 if none */
	uint8_t ours_len;
	size_t nother; /* options kept as they are */
	uint8_t other_off[TCPOPT_MAXOTHER];
	uint8_t other_len[TCPOPT_MAXOTHER];
};

/**
 * tcpopt_parse(o, opt, len, exid): parse the ${len}-byte (<= 40) option
 * area at ${opt} into ${o}; ${exid} is our RFC 6994 ExID.  Return 0, or -1
 * if it is malformed (a length under 2 or past the end, a known option of
 * the wrong size, our option twice, too many options).
 */
int tcpopt_parse(
    struct tcpopt *o, const uint8_t *opt, size_t len, uint16_t exid) CG_WUR;

/**
 * tcpopt_build(out, outlen, o, src, syn, ourslen, oursoff, trimmed): write
 * into ${out} a packed option area holding the options of ${o} (parsed
 * from ${src}) without NOP/EOL padding, our option, TFO and MPTCP, plus
 * ${ourslen} bytes of room for our option (its offset in *${oursoff}),
 * NOP-padded at the front to a multiple of 4.  SYN (${syn}): MSS, SACK
 * permitted, timestamps, window scale, others; otherwise timestamps,
 * others, then as many SACK blocks as fit (*${trimmed} gets the number
 * left out).  Return 0 and the length in *${outlen}, or -1 if the result
 * cannot fit in 40 bytes.
 */
int tcpopt_build(uint8_t out[static TCPOPT_MAXBYTES], size_t *outlen,
    const struct tcpopt *o, const uint8_t *src, bool syn, size_t ourslen,
    size_t *oursoff, size_t *trimmed) CG_WUR;

/**
 * tcpopt_strip(opt, len, off, olen): remove the ${olen} bytes at ${off}
 * from the ${len}-byte option area at ${opt} and NOP-pad the rest to a
 * multiple of 4.  Return the new length.
 */
size_t tcpopt_strip(uint8_t *opt, size_t len, size_t off, size_t olen);

#endif /* !CRYPTGATE_PKTD_TCPOPT_H */
