/*
 * stats.c: the text cryptgate-pktd's status socket answers with, in the
 * form cryptgate-gatewayd uses (one line per object, key=value fields):
 *
 *	pktd pid=P uptime=S queues=N queue_num=Q policies=K
 *	queue=Q in_pkts=... drops=... drop_bad_tag=... (one per queue)
 *	queue=total ... (the sums)
 *
 * cryptgate status prints it (see cryptgate-pktd(8), "STATUS").
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cryptgate/kdcclient.h"

#include "pktd.h"

/* The counters of one line. */
struct line {
	struct xf_stats st;
	uint64_t nl[3]; /* enobufs, netlink errors, batches */
};

static void
add(struct line *t, const struct line *l)
{
	size_t r;

	t->st.in_pkts += l->st.in_pkts;
	t->st.out_pkts += l->st.out_pkts;
	t->st.in_bytes += l->st.in_bytes;
	t->st.out_bytes += l->st.out_bytes;
	t->st.passed += l->st.passed;
	t->st.flows_open += l->st.flows_open;
	t->st.flows_total += l->st.flows_total;
	t->st.flows_expired += l->st.flows_expired;
	t->st.sack_trims += l->st.sack_trims;
	t->st.mss_clamps += l->st.mss_clamps;
	t->st.keepalive_strips += l->st.keepalive_strips;
	t->st.icmp_mtu += l->st.icmp_mtu;
	t->st.mac_failures += l->st.mac_failures;
	for (r = 0; r < XF_R_COUNT; r++)
		t->st.drops[r] += l->st.drops[r];
	for (r = 0; r < 3; r++)
		t->nl[r] += l->nl[r];
}

/* Format line ${l} named ${name} at ${buf}; the length, or -1 if full. */
static int
format_line(char *buf, size_t size, const char *name, const struct line *l)
{
	const struct xf_stats *s = &l->st;
	uint64_t drops = 0;
	size_t off = 0, r;
	int n;

#define ADD(...) \
	do { \
		n = snprintf(buf + off, size - off, __VA_ARGS__); \
		if (n < 0 || (size_t)n >= size - off) \
			return (-1); \
		off += (size_t)n; \
	} while (0)

	for (r = 0; r < XF_R_COUNT; r++) {
		if (r != XF_R_OK && r != XF_R_NOPOLICY)
			drops += s->drops[r];
	}
	ADD("queue=%s in_pkts=%llu out_pkts=%llu in_bytes=%llu "
	    "out_bytes=%llu passed=%llu drops=%llu mac_failures=%llu",
	    name, (unsigned long long)s->in_pkts,
	    (unsigned long long)s->out_pkts, (unsigned long long)s->in_bytes,
	    (unsigned long long)s->out_bytes, (unsigned long long)s->passed,
	    (unsigned long long)drops, (unsigned long long)s->mac_failures);
	ADD(" flows_open=%llu flows_total=%llu flows_expired=%llu "
	    "sack_trims=%llu mss_clamps=%llu keepalive_strips=%llu "
	    "icmp_mtu=%llu",
	    (unsigned long long)s->flows_open,
	    (unsigned long long)s->flows_total,
	    (unsigned long long)s->flows_expired,
	    (unsigned long long)s->sack_trims,
	    (unsigned long long)s->mss_clamps,
	    (unsigned long long)s->keepalive_strips,
	    (unsigned long long)s->icmp_mtu);
	ADD(" enobufs=%llu netlink_errors=%llu batches=%llu",
	    (unsigned long long)l->nl[0], (unsigned long long)l->nl[1],
	    (unsigned long long)l->nl[2]);
	for (r = 0; r < XF_R_COUNT; r++) {
		if (r != XF_R_OK && r != XF_R_NOPOLICY)
			ADD(" drop_%s=%llu", xf_reason_name((enum xf_reason)r),
			    (unsigned long long)s->drops[r]);
	}
	ADD("\n");
	return ((int)off);
#undef ADD
}

size_t
stats_format(char *buf, size_t size, const struct pconf *pc, struct worker *ws,
    unsigned int n, int64_t start_ms)
{
	struct line l, total;
	char name[16];
	size_t off = 0;
	unsigned int i;
	int k;

	if (size == 0)
		return (0);
	buf[0] = '\0';
	k = snprintf(buf, size,
	    "pktd pid=%ld uptime=%lld queues=%u queue_num=%u policies=%zu\n",
	    (long)getpid(), (long long)(kdcclient_now_ms() - start_ms) / 1000,
	    n, (unsigned int)pc->queue_num, pc->npols);
	if (k < 0 || (size_t)k >= size)
		goto full;
	off = (size_t)k;
	memset(&total, 0, sizeof(total));
	for (i = 0; i < n; i++) {
		memset(&l, 0, sizeof(l));
		worker_snapshot(&ws[i], &l.st, l.nl);
		add(&total, &l);
		snprintf(name, sizeof(name), "%u", ws[i].qnum);
		if ((k = format_line(buf + off, size - off, name, &l)) < 0)
			goto full;
		off += (size_t)k;
	}
	if ((k = format_line(buf + off, size - off, "total", &total)) < 0)
		goto full;
	off += (size_t)k;
	return (off);

full:
	buf[off] = '\0';
	return (off);
}
