/*
 * worker.c: one thread per NFQUEUE queue.  Each wakeup drains up to
 * NFQ_BATCH packets, runs each through the thread's own transform
 * (xf_packet) and answers them all with one sendmsg.  The transform and
 * its flow table belong to the thread: the packet path takes no lock.
 * Between batches (and at least every TICK_MS) the thread publishes its
 * counters, expires idle flows and picks up a transform posted by a
 * reload.
 */
#include <sys/eventfd.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cryptgate/kdcclient.h"

#include "nfq.h"
#include "pkt.h"
#include "pktd.h"

#define TICK_MS 100 /* publish counters this often */
#define EXPIRE_MS 1000 /* xf_expire this often */
#define PKTCAP (NFQ_PKTBYTES + XF_HEADROOM + 24)

/* A new transform for ${pc}, or NULL (logged). */
static struct xf *
make_xf(const struct pconf *pc)
{
	struct xf *x;

	if ((x = xf_new(pc->rules, pc->npols, pc->max_flows)) == NULL)
		return (NULL);
	xf_set_flow_timeout(x, pc->flow_timeout_ms);
	return (x);
}

static void
publish(struct worker *w)
{
	struct xf_stats st;
	uint64_t enobufs, errors;

	xf_stats_get(w->xf, &st);
	nfqueue_counters(w->q, &enobufs, &errors);
	pthread_mutex_lock(&w->mu);
	w->st = st;
	w->enobufs = enobufs;
	w->nl_errors = errors;
	pthread_mutex_unlock(&w->mu);
}

/* Swap in a transform handed over by worker_commit, if any. */
static void
take_posted(struct worker *w)
{
	struct xf *x;

	pthread_mutex_lock(&w->mu);
	x = w->next_xf;
	w->next_xf = NULL;
	pthread_mutex_unlock(&w->mu);
	if (x == NULL)
		return;
	xf_free(w->xf);
	w->xf = x;
	log_debug("queue %u: new policy in use", w->qnum);
}

/*
 * True if ${rl} lets a line through now (log_ratelimited's rule, same
 * clock): the flow of a dropped packet is formatted only then, not for
 * every packet of a flood.
 */
static bool
rl_open(const struct log_ratelimit *rl)
{
	int64_t now = kdcclient_now_ms() / 1000;

	return (rl->printed < LOG_RATELIMIT_BURST || rl->window_start == 0 ||
	    now - rl->window_start >= LOG_RATELIMIT_INTERVAL);
}

/* Decide packet ${p}. */
static void
decide(struct worker *w, struct nfqueue_pkt *p, uint64_t now,
    struct log_ratelimit *rl)
{
	enum xf_reason why = XF_R_MALFORMED;
	enum xf_verdict v = XF_DROP;
	size_t outlen = p->len;
	char flow[PKT_FLOWSTRLEN];

	if (p->len > 0 && p->hook != NFQ_HOOK_OTHER)
		v = xf_packet(w->xf, p->hook == NFQ_HOOK_IN ? XF_IN : XF_OUT,
		    p->buf, p->len, PKTCAP, &outlen, now, &why);
	p->accept = v == XF_ACCEPT;
	p->outlen = outlen;
	p->modified = p->accept && (why == XF_R_OK || outlen != p->len);
	if (p->accept)
		return;
	/* Its addresses and ports are as they came (the transform changes
	 * neither); it may have grown to outlen (options) before the drop. */
	if (rl_open(rl))
		pkt_format_flow(flow, sizeof(flow), p->buf,
		    outlen > p->len && outlen <= PKTCAP ? outlen : p->len);
	else
		snprintf(flow, sizeof(flow), "a packet"); /* suppressed */
	log_ratelimited(rl, LOG_NOTICE, "queue %u: dropped %s (drop_%s)",
	    w->qnum, flow, xf_reason_name(why));
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct log_ratelimit rl = { 0 };
	struct pollfd pfd[2];
	struct nfqueue_pkt *pkts;
	uint64_t now, last_pub = 0, last_exp = 0, batches = 0;
	int n, i;

	pfd[0].fd = nfqueue_fd(w->q);
	pfd[0].events = POLLIN;
	pfd[1].fd = w->stopfd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, TICK_MS) == -1 && errno != EINTR) {
			/* As below: stop the daemon rather than leave the
			 * queue unread without a word. */
			log_warn("queue %u: poll", w->qnum);
			kill(getpid(), SIGTERM);
			break;
		}
		if (pfd[1].revents != 0)
			break;
		if (pfd[0].revents != 0) {
			if ((n = nfqueue_recv(w->q, &pkts)) < 0) {
				/* The queue is unusable: stop the daemon
				 * (its packets are dropped meanwhile). */
				kill(getpid(), SIGTERM);
				break;
			}
			now = (uint64_t)kdcclient_now_ms();
			for (i = 0; i < n; i++)
				decide(w, &pkts[i], now, &rl);
			if (n > 0) {
				(void)nfqueue_verdicts(w->q, (size_t)n);
				batches++;
			}
		}
		now = (uint64_t)kdcclient_now_ms();
		if (now - last_pub >= TICK_MS) {
			take_posted(w);
			publish(w);
			pthread_mutex_lock(&w->mu);
			w->batches = batches;
			pthread_mutex_unlock(&w->mu);
			last_pub = now;
		}
		if (now - last_exp >= EXPIRE_MS) {
			xf_expire(w->xf, now);
			last_exp = now;
		}
	}
	publish(w);
	return (NULL);
}

int
worker_open(
    struct worker *w, unsigned int id, uint16_t qnum, const struct pconf *pc)
{
	w->id = id;
	w->qnum = qnum;
	w->stopfd = -1;
	pthread_mutex_init(&w->mu, NULL);
	w->inited = true;
	if ((w->xf = make_xf(pc)) == NULL)
		goto err;
	if ((w->q = nfqueue_open(qnum, PKTCAP)) == NULL)
		goto err;
	if ((w->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		log_warn("eventfd");
		goto err;
	}

	/* Success! */
	return (0);

err:
	worker_close(w);
	return (-1);
}

int
worker_run(struct worker *w)
{
	if ((errno = pthread_create(&w->thread, NULL, worker_main, w)) != 0) {
		log_warn("pthread_create");
		return (-1);
	}
	w->started = true;
	return (0);
}

int
worker_prepare(struct worker *w, const struct pconf *pc)
{
	worker_discard(w);
	if ((w->ready = make_xf(pc)) == NULL)
		return (-1);
	return (0);
}

void
worker_discard(struct worker *w)
{
	xf_free(w->ready);
	w->ready = NULL;
}

void
worker_commit(struct worker *w)
{
	struct xf *old;

	if (w->ready == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	old = w->next_xf;
	/* The thread now owns the transform. */
	w->next_xf = w->ready;
	pthread_mutex_unlock(&w->mu);
	w->ready = NULL;
	xf_free(old);
}

bool
worker_is_committed(struct worker *w)
{
	bool done;

	pthread_mutex_lock(&w->mu);
	done = w->next_xf == NULL;
	pthread_mutex_unlock(&w->mu);
	return (done);
}

void
worker_close(struct worker *w)
{
	uint64_t one = 1;

	if (w->started) {
		if (write(w->stopfd, &one, sizeof(one)) != (ssize_t)sizeof(one))
			log_warn("queue %u: eventfd", w->qnum);
		pthread_join(w->thread, NULL);
		w->started = false;
	}
	if (w->stopfd != -1)
		close(w->stopfd);
	w->stopfd = -1;
	nfqueue_close(w->q);
	w->q = NULL;
	xf_free(w->xf);
	w->xf = NULL;
	xf_free(w->next_xf);
	w->next_xf = NULL;
	worker_discard(w);
}

void
worker_snapshot(struct worker *w, struct xf_stats *st, uint64_t nlerr[3])
{
	pthread_mutex_lock(&w->mu);
	*st = w->st;
	nlerr[0] = w->enobufs;
	nlerr[1] = w->nl_errors;
	nlerr[2] = w->batches;
	pthread_mutex_unlock(&w->mu);
}
