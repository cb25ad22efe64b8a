/*
 * nfq.c: NFQUEUE through libmnl and libnetfilter_queue's nfq_nlmsg_*
 * helpers (as in libnetfilter_queue 1.0.5's examples/nf-queue.c), with
 * batched reads and verdicts (see nfq.h).
 *
 * Verdicts: each is a NFQNL_MSG_VERDICT message (NFQA_VERDICT_HDR, and
 * NFQA_PAYLOAD when the packet changed); all of a batch go out in one
 * sendmsg whose iovec points at the small headers built here and at the
 * packet buffers themselves, so payloads are not copied again.  The kernel
 * processes every netlink message of the datagram.
 */
#include <sys/socket.h>
#include <sys/uio.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <linux/types.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

#include "cryptgate/log.h"

#include "nfq.h"

#define NL_BUFBYTES 8192 /* config messages and their answers */
#define RXBYTES (NFQ_PKTBYTES + NL_BUFBYTES)
#define HDRBYTES 64 /* nlmsghdr, nfgenmsg, verdict, payload attr header */

struct nfqueue {
	struct mnl_socket *nl;
	int fd;
	uint16_t num;
	uint32_t portid;
	size_t cap;
	uint8_t *rx;
	struct nfqueue_pkt pkts[NFQ_BATCH];
	size_t npkts;
	uint8_t hdr[NFQ_BATCH][HDRBYTES];
	struct iovec iov[NFQ_BATCH * 3];
	size_t first[NFQ_BATCH + 1]; /* each verdict's first iov */
	uint64_t enobufs;
	uint64_t errors;
	struct log_ratelimit rl;
};

static const uint8_t zeros[MNL_ALIGNTO];

/* Send the config message at ${nlh} and wait for its ack; 0 or -1. */
static int
config_send(struct nfqueue *q, struct nlmsghdr *nlh, const char *what)
{
	char buf[NL_BUFBYTES];
	uint32_t seq = (uint32_t)time(NULL);
	ssize_t n;

	nlh->nlmsg_flags |= NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0) {
		log_warn("queue %u: %s", q->num, what);
		return (-1);
	}
	for (;;) {
		if ((n = mnl_socket_recvfrom(q->nl, buf, sizeof(buf))) < 0) {
			if (errno == EINTR)
				continue;
			log_warn("queue %u: %s", q->num, what);
			return (-1);
		}
		errno = 0;
		switch (
		    mnl_cb_run(buf, (size_t)n, seq, q->portid, NULL, NULL)) {
		case MNL_CB_STOP:
			return (0);
		case MNL_CB_OK:
			continue;
		default:
			if (errno == EBUSY || errno == EPERM)
				log_warnx(
				    "queue %u: %s: the queue is in use by "
				    "another program (another "
				    "cryptgate-pktd?)",
				    q->num, what);
			else
				log_warn("queue %u: %s", q->num, what);
			return (-1);
		}
	}
}

/* Large socket buffers; a failure only costs performance. */
static void
buffers(struct nfqueue *q)
{
	int sz = NFQ_SOCKBYTES, one = 1;

	if (setsockopt(q->fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) &&
	    setsockopt(q->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)))
		log_warn("queue %u: SO_RCVBUF", q->num);
	if (setsockopt(q->fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) &&
	    setsockopt(q->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)))
		log_warn("queue %u: SO_SNDBUF", q->num);
	if (mnl_socket_setsockopt(q->nl, NETLINK_NO_ENOBUFS, &one, sizeof(one)))
		log_warn("queue %u: NETLINK_NO_ENOBUFS", q->num);
}

/* Bind the queue and set its parameters; 0 or -1 (logged). */
static int
bind_queue(struct nfqueue *q)
{
	char buf[NL_BUFBYTES];
	struct nlmsghdr *nlh;

	/* Attribute padding goes to the kernel as is: zero it. */
	memset(buf, 0, sizeof(buf));
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->num);
	nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
	if (config_send(q, nlh, "bind"))
		return (-1);
	memset(buf, 0, sizeof(buf));
	nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->num);
	nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, NFQ_PKTBYTES);
	nfq_nlmsg_cfg_put_qmaxlen(nlh, NFQ_MAXLEN);
	/* GSO and fail-open both explicitly off. */
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(0));
	mnl_attr_put_u32(
	    nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_GSO | NFQA_CFG_F_FAIL_OPEN));
	return (config_send(q, nlh, "queue parameters"));
}

struct nfqueue *
nfqueue_open(uint16_t num, size_t cap)
{
	struct nfqueue *q;
	size_t i;

	if (cap < NFQ_PKTBYTES || (q = calloc(1, sizeof(*q))) == NULL) {
		log_warnx("nfqueue_open: out of memory");
		return (NULL);
	}
	q->num = num;
	q->cap = cap;
	q->fd = -1;
	if ((q->rx = malloc(RXBYTES)) == NULL)
		goto nomem;
	for (i = 0; i < NFQ_BATCH; i++) {
		if ((q->pkts[i].buf = malloc(cap)) == NULL)
			goto nomem;
	}
	if ((q->nl = mnl_socket_open(NETLINK_NETFILTER)) == NULL) {
		log_warn("queue %u: netlink socket", num);
		goto err;
	}
	if (mnl_socket_bind(q->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		log_warn("queue %u: netlink bind", num);
		goto err;
	}
	q->fd = mnl_socket_get_fd(q->nl);
	q->portid = mnl_socket_get_portid(q->nl);
	buffers(q);
	if (bind_queue(q))
		goto err;

	/* Success! */
	return (q);

nomem:
	log_warnx("nfqueue_open: out of memory");
err:
	nfqueue_close(q);
	return (NULL);
}

int
nfqueue_fd(const struct nfqueue *q)
{
	return (q->fd);
}

/* Take the packet message ${nlh} into the next slot; 0, or -1 if bad. */
static int
take(struct nfqueue *q, const struct nlmsghdr *nlh)
{
	struct nlattr *attr[NFQA_MAX + 1] = { NULL };
	struct nfqnl_msg_packet_hdr *ph;
	struct nfqueue_pkt *p = &q->pkts[q->npkts];
	size_t len = 0;

	if (nfq_nlmsg_parse(nlh, attr) < 0 || attr[NFQA_PACKET_HDR] == NULL ||
	    mnl_attr_get_payload_len(attr[NFQA_PACKET_HDR]) < sizeof(*ph))
		return (-1);
	ph = mnl_attr_get_payload(attr[NFQA_PACKET_HDR]);
	p->id = ntohl(ph->packet_id);
	p->hook = ph->hook == NF_INET_LOCAL_IN ? NFQ_HOOK_IN
	    : ph->hook == NF_INET_LOCAL_OUT    ? NFQ_HOOK_OUT
	                                       : NFQ_HOOK_OTHER;
	if (attr[NFQA_PAYLOAD] != NULL)
		len = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
	if (len > q->cap)
		len = 0; /* cannot happen: copy range is NFQ_PKTBYTES */
	if (len > 0)
		memcpy(p->buf, mnl_attr_get_payload(attr[NFQA_PAYLOAD]), len);
	p->len = len;
	p->outlen = len;
	p->accept = false; /* undecided packets are dropped */
	p->modified = false;
	q->npkts++;
	return (0);
}

/* Walk the messages of one datagram of ${n} bytes. */
static void
parse(struct nfqueue *q, size_t n)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)q->rx;
	int len = (int)n;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
		if (nlh->nlmsg_type ==
		        ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET) &&
		    q->npkts < NFQ_BATCH) {
			if (take(q, nlh) == 0)
				continue;
		}
		/* Error answers to verdicts, bad or surplus messages. */
		q->errors++;
		log_ratelimited(&q->rl, LOG_WARNING,
		    "queue %u: netlink message type %u not handled", q->num,
		    nlh->nlmsg_type);
	}
}

int
nfqueue_recv(struct nfqueue *q, struct nfqueue_pkt **pkts)
{
	ssize_t n;

	q->npkts = 0;
	*pkts = q->pkts;
	while (q->npkts < NFQ_BATCH) {
		if ((n = recv(q->fd, q->rx, RXBYTES, MSG_DONTWAIT)) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				q->enobufs++;
				continue;
			}
			log_warn("queue %u: recv", q->num);
			return (-1);
		}
		if (n == 0)
			break;
		parse(q, (size_t)n);
	}
	return ((int)q->npkts);
}

/* The iovec entries of packet ${i}'s verdict; how many. */
static size_t
verdict_iov(struct nfqueue *q, size_t i, struct iovec *iov)
{
	struct nfqueue_pkt *p = &q->pkts[i];
	struct nlmsghdr *nlh;
	struct nlattr *a;
	size_t hlen;

	nlh = nfq_nlmsg_put((char *)q->hdr[i], NFQNL_MSG_VERDICT, q->num);
	nfq_nlmsg_verdict_put(nlh, (int)p->id, p->accept ? NF_ACCEPT : NF_DROP);
	iov[0].iov_base = nlh;
	if (!p->accept || !p->modified) {
		iov[0].iov_len = nlh->nlmsg_len;
		return (1);
	}
	/* NFQA_PAYLOAD's header here, its bytes from the packet buffer. */
	a = mnl_nlmsg_get_payload_tail(nlh);
	a->nla_type = NFQA_PAYLOAD;
	a->nla_len = (uint16_t)(MNL_ATTR_HDRLEN + p->outlen);
	hlen = nlh->nlmsg_len + MNL_ATTR_HDRLEN;
	nlh->nlmsg_len += MNL_ALIGN(a->nla_len);
	iov[0].iov_len = hlen;
	iov[1].iov_base = p->buf;
	iov[1].iov_len = p->outlen;
	iov[2].iov_base = (void *)(uintptr_t)zeros;
	iov[2].iov_len = MNL_ALIGN(p->outlen) - p->outlen;
	return (iov[2].iov_len > 0 ? 3 : 2);
}

/* Send iov[from..to) in one sendmsg; 0 or -1 (errno). */
static int
send_iov(struct nfqueue *q, size_t from, size_t to)
{
	struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
	struct msghdr msg;

	memset(&msg, 0, sizeof(msg));
	msg.msg_name = &snl;
	msg.msg_namelen = sizeof(snl);
	msg.msg_iov = &q->iov[from];
	msg.msg_iovlen = to - from;
	while (sendmsg(q->fd, &msg, 0) < 0) {
		if (errno != EINTR)
			return (-1);
	}
	return (0);
}

int
nfqueue_verdicts(struct nfqueue *q, size_t n)
{
	size_t i, niov = 0;
	int rc = 0;

	if (n > q->npkts)
		n = q->npkts;
	/* Packets the caller left out are dropped, never left queued. */
	for (i = n; i < q->npkts; i++)
		q->pkts[i].accept = false;
	n = q->npkts;
	if (n == 0)
		return (0);
	for (i = 0; i < n; i++) {
		/* NFQA_PAYLOAD's nla_len (16 bits) counts its header. */
		if (q->pkts[i].outlen > q->cap ||
		    q->pkts[i].outlen > NFQ_PKTBYTES ||
		    (q->pkts[i].modified &&
		        q->pkts[i].outlen > UINT16_MAX - MNL_ATTR_HDRLEN))
			q->pkts[i].accept = false;
		q->first[i] = niov;
		niov += verdict_iov(q, i, &q->iov[niov]);
	}
	q->first[n] = niov;
	if (send_iov(q, 0, niov) == 0)
		goto out;
	/* Too big for one datagram?  Then one verdict at a time. */
	log_ratelimited(&q->rl, LOG_WARNING,
	    "queue %u: sending %zu verdicts at once: %s", q->num, n,
	    strerror(errno));
	q->errors++;
	for (i = 0; i < n; i++) {
		if (send_iov(q, q->first[i], q->first[i + 1]) == 0)
			continue;
		log_ratelimited(&q->rl, LOG_WARNING,
		    "queue %u: sending a verdict: %s", q->num, strerror(errno));
		q->errors++;
		rc = -1;
	}
out:
	q->npkts = 0;
	return (rc);
}

void
nfqueue_counters(const struct nfqueue *q, uint64_t *enobufs, uint64_t *errors)
{
	*enobufs = q->enobufs;
	*errors = q->errors;
}

void
nfqueue_close(struct nfqueue *q)
{
	char buf[NL_BUFBYTES];
	struct nlmsghdr *nlh;
	size_t i;

	if (q == NULL)
		return;
	if (q->nl != NULL) {
		if (q->fd != -1) {
			nlh = nfq_nlmsg_put(buf, NFQNL_MSG_CONFIG, q->num);
			nfq_nlmsg_cfg_put_cmd(
			    nlh, AF_INET, NFQNL_CFG_CMD_UNBIND);
			(void)mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len);
		}
		mnl_socket_close(q->nl);
	}
	for (i = 0; i < NFQ_BATCH; i++)
		free(q->pkts[i].buf);
	free(q->rx);
	free(q);
}
