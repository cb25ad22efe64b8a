/*
 * queue.c: a multi-producer, multi-consumer queue of jobs (a list under a
 * mutex, with a condition variable for the consumers).  Jobs are linked
 * through their ->next field, so pushing never allocates.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "cryptgate/log.h"

#include "kdcd.h"

int
queue_init(struct queue *q)
{
	pthread_condattr_t ca;

	q->head = q->tail = NULL;
	q->n = 0;
	q->waiting = 0;
	q->closed = false;
	q->kicked = false;
	if ((errno = pthread_mutex_init(&q->mu, NULL)) != 0) {
		log_warn("pthread_mutex_init");
		goto err0;
	}
	if ((errno = pthread_condattr_init(&ca)) != 0) {
		log_warn("pthread_condattr_init");
		goto err1;
	}
	/* Timed waits on the monotonic clock: immune to clock steps. */
	if ((errno = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC)) != 0 ||
	    (errno = pthread_cond_init(&q->cv, &ca)) != 0) {
		log_warn("pthread_cond_init");
		pthread_condattr_destroy(&ca);
		goto err1;
	}
	pthread_condattr_destroy(&ca);

	/* Success! */
	return (0);

err1:
	pthread_mutex_destroy(&q->mu);
err0:
	/* Failure! */
	return (-1);
}

void
queue_fini(struct queue *q)
{
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
}

void
queue_push(struct queue *q, struct kdc_job *j)
{
	bool wake;

	j->next = NULL;
	pthread_mutex_lock(&q->mu);
	if (q->tail != NULL)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->n++;
	wake = q->waiting > 0;
	pthread_mutex_unlock(&q->mu);
	if (wake)
		pthread_cond_signal(&q->cv);
}

struct kdc_job *
queue_pop(struct queue *q)
{
	struct kdc_job *j;

	pthread_mutex_lock(&q->mu);
	while (q->head == NULL && !q->closed) {
		q->waiting++;
		pthread_cond_wait(&q->cv, &q->mu);
		q->waiting--;
	}
	if ((j = q->head) != NULL) {
		if ((q->head = j->next) == NULL)
			q->tail = NULL;
		q->n--;
		j->next = NULL;
	}
	pthread_mutex_unlock(&q->mu);
	return (j);
}

/* Detach the whole list; the caller holds the mutex. */
static struct kdc_job *
take_locked(struct queue *q)
{
	struct kdc_job *j = q->head;

	q->head = q->tail = NULL;
	q->n = 0;
	return (j);
}

struct kdc_job *
queue_pop_all(struct queue *q, int64_t timeout_ms)
{
	struct timespec ts;
	struct kdc_job *j;

	if (timeout_ms >= 0) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)(timeout_ms / 1000);
		ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
	}
	pthread_mutex_lock(&q->mu);
	while (q->head == NULL && !q->closed && !q->kicked) {
		q->waiting++;
		if (timeout_ms < 0) {
			pthread_cond_wait(&q->cv, &q->mu);
		} else if (pthread_cond_timedwait(&q->cv, &q->mu, &ts) ==
		    ETIMEDOUT) {
			q->waiting--;
			break;
		}
		q->waiting--;
	}
	q->kicked = false;
	j = take_locked(q);
	pthread_mutex_unlock(&q->mu);
	return (j);
}

struct kdc_job *
queue_take_all(struct queue *q)
{
	struct kdc_job *j;

	pthread_mutex_lock(&q->mu);
	j = take_locked(q);
	pthread_mutex_unlock(&q->mu);
	return (j);
}

void
queue_kick(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->kicked = true;
	pthread_mutex_unlock(&q->mu);
	pthread_cond_broadcast(&q->cv);
}

void
queue_close(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = true;
	pthread_mutex_unlock(&q->mu);
	pthread_cond_broadcast(&q->cv);
}
