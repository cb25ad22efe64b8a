/*
 * nfqaccept: the NFQUEUE accept-all baseline of bench/pkt.sh, built from
 * cryptgate-pktd's own queue module (src/pktd/nfq.c: batched reads and
 * verdicts, the same socket buffers and queue flags), so the difference to
 * cryptgate-pktd is the transform alone.
 *
 *   nfqaccept [-e] QUEUE_NUM [QUEUES]
 *
 * Binds queues QUEUE_NUM .. QUEUE_NUM + QUEUES - 1 (default 1), one thread
 * each, and accepts every packet; with -e each verdict carries the packet
 * back (as cryptgate-pktd's verdicts do), else it is a bare accept.  Stops
 * on SIGTERM or SIGINT and prints "packets=N batches=N" on stdout.  The
 * rules are the caller's (bench/pkt.sh leaves cryptgate-pktd's in place).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nfq.h"

#define QMAX 64

struct qthread {
	pthread_t t;
	struct nfqueue *q;
	uint64_t packets;
	uint64_t batches;
};

static atomic_bool stop;
static bool echo;

static void
on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop, true);
}

static void *
run(void *arg)
{
	struct qthread *qt = arg;
	struct nfqueue_pkt *pkts;
	struct pollfd p;
	int n, i;

	p.fd = nfqueue_fd(qt->q);
	p.events = POLLIN;
	while (!atomic_load(&stop)) {
		if (poll(&p, 1, 100) <= 0)
			continue;
		if ((n = nfqueue_recv(qt->q, &pkts)) < 0)
			break;
		for (i = 0; i < n; i++) {
			pkts[i].accept = true;
			pkts[i].modified = echo;
			pkts[i].outlen = pkts[i].len;
		}
		if (n > 0) {
			(void)nfqueue_verdicts(qt->q, (size_t)n);
			qt->packets += (uint64_t)n;
			qt->batches++;
		}
	}
	return (NULL);
}

int
main(int argc, char **argv)
{
	static struct qthread qs[QMAX];
	struct sigaction sa;
	uint64_t packets = 0, batches = 0;
	int first, nq = 1, i, a = 1;

	if (argc > 1 && strcmp(argv[1], "-e") == 0) {
		echo = true;
		a++;
	}
	if (argc - a < 1 || argc - a > 2) {
		fprintf(stderr, "usage: nfqaccept [-e] QUEUE_NUM [QUEUES]\n");
		return (2);
	}
	first = atoi(argv[a]);
	if (argc - a == 2)
		nq = atoi(argv[a + 1]);
	if (first < 0 || nq < 1 || nq > QMAX || first + nq > 65536) {
		fprintf(stderr, "nfqaccept: bad queue numbers\n");
		return (2);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (i = 0; i < nq; i++) {
		if ((qs[i].q = nfqueue_open(
		         (uint16_t)(first + i), NFQ_PKTBYTES + 64)) == NULL) {
			fprintf(stderr, "nfqaccept: cannot bind queue %d\n",
			    first + i);
			return (1);
		}
	}
	for (i = 0; i < nq; i++) {
		if (pthread_create(&qs[i].t, NULL, run, &qs[i]) != 0) {
			fprintf(stderr, "nfqaccept: pthread_create failed\n");
			return (1);
		}
	}
	fprintf(stderr, "nfqaccept: %d queue(s) from %d bound\n", nq, first);
	for (i = 0; i < nq; i++) {
		pthread_join(qs[i].t, NULL);
		packets += qs[i].packets;
		batches += qs[i].batches;
		nfqueue_close(qs[i].q);
	}
	printf("packets=%llu batches=%llu\n", (unsigned long long)packets,
	    (unsigned long long)batches);
	return (0);
}
