/* SPDX-License-Identifier: MIT
 * pool.c - a fixed set of worker threads over one FIFO job queue.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "pool.h"

struct sb__job {
	void (*fn)(void *);
	void *arg;
	struct sb__job *next;
};

static pthread_mutex_t sb__plock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sb__pcond = PTHREAD_COND_INITIALIZER;
static struct sb__job *sb__phead, **sb__ptail = &sb__phead;
static pthread_t *sb__pthreads;
static unsigned sb__pn;
static int sb__pstop;

static void *sb__pool_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct sb__job *j;

		pthread_mutex_lock(&sb__plock);
		while (!sb__phead && !sb__pstop)
			pthread_cond_wait(&sb__pcond, &sb__plock);
		j = sb__phead;
		if (j) {
			sb__phead = j->next;
			if (!sb__phead)
				sb__ptail = &sb__phead;
		}
		pthread_mutex_unlock(&sb__plock);
		if (!j)
			return NULL;
		j->fn(j->arg);
		free(j);
	}
}

int sb__pool_start(unsigned threads)
{
	unsigned i;

	sb__pthreads = calloc(threads, sizeof(*sb__pthreads));
	if (!sb__pthreads)
		return -ENOMEM;
	for (i = 0; i < threads; i++) {
		if (pthread_create(&sb__pthreads[i], NULL, sb__pool_main, NULL))
			return -EAGAIN;
		sb__pn++;
	}
	return 0;
}

int sb__pool_submit(void (*fn)(void *), void *arg)
{
	struct sb__job *j = malloc(sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->fn = fn;
	j->arg = arg;
	j->next = NULL;
	pthread_mutex_lock(&sb__plock);
	*sb__ptail = j;
	sb__ptail = &j->next;
	pthread_cond_signal(&sb__pcond);
	pthread_mutex_unlock(&sb__plock);
	return 0;
}

void sb__pool_stop(void)
{
	unsigned i;

	pthread_mutex_lock(&sb__plock);
	sb__pstop = 1;
	pthread_cond_broadcast(&sb__pcond);
	pthread_mutex_unlock(&sb__plock);
	for (i = 0; i < sb__pn; i++)
		pthread_join(sb__pthreads[i], NULL);
	free(sb__pthreads);
}
