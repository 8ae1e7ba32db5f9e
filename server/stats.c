/* SPDX-License-Identifier: MIT
 * stats.c - the broker's counters.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "stats.h"

static atomic_uint_fast64_t sb__sessions_total, sb__sockets_total,
	sb__calls_total, sb__calls_failed, sb__bytes_sent, sb__bytes_received,
	sb__dropped, sb__denied, sb__limits;
static int64_t sb__started;

void sb__stats_init(void)
{
	sb__started = sb__now_ms();
}

void sb__stats_call(int ok)
{
	atomic_fetch_add_explicit(&sb__calls_total, 1, memory_order_relaxed);
	if (!ok)
		atomic_fetch_add_explicit(&sb__calls_failed, 1, memory_order_relaxed);
}

void sb__stats_session_opened(void)
{
	atomic_fetch_add(&sb__sessions_total, 1);
}

void sb__stats_socket_opened(void)
{
	atomic_fetch_add_explicit(&sb__sockets_total, 1, memory_order_relaxed);
}

void sb__stats_bytes(uint64_t sent, uint64_t received)
{
	if (sent)
		atomic_fetch_add_explicit(&sb__bytes_sent, sent, memory_order_relaxed);
	if (received)
		atomic_fetch_add_explicit(&sb__bytes_received, received,
					  memory_order_relaxed);
}

void sb__stats_dropped(uint64_t n)
{
	atomic_fetch_add_explicit(&sb__dropped, n, memory_order_relaxed);
}

void sb__stats_denied(const struct sb__identity *id)
{
	atomic_fetch_add(&sb__denied, 1);
	if (id)
		atomic_fetch_add(&sb__idrec_of(id)->denied, 1);
}

void sb__stats_limit(const struct sb__identity *id)
{
	atomic_fetch_add(&sb__limits, 1);
	if (id)
		atomic_fetch_add(&sb__idrec_of(id)->limited, 1);
}

/* The identity records: an append-only array, searched under a lock
 * (identities are few; a session looks its record up once). */
static pthread_mutex_t sb__idlock = PTHREAD_MUTEX_INITIALIZER;
static struct sb__idrec *sb__idrecs[SB__IDREC_MAX + 1];
static size_t sb__n_idrecs;

static void sb__idkey(const struct sb__identity *id, char *buf, size_t len)
{
	if (id->subject[0])
		snprintf(buf, len, "cert:%s", id->subject);
	else if (!strcmp(id->transport, "tcp"))
		snprintf(buf, len, "tcp:insecure");
	else if (id->listener[0] && memchr(id->listener, 0, sizeof(id->listener)))
		/* Behind a listener identity uids repeat from workload to
		 * workload (every pod's root is 0): its limits are its own. */
		snprintf(buf, len, "listener:%s/uid:%u", id->listener, (unsigned)id->uid);
	else
		snprintf(buf, len, "uid:%u", (unsigned)id->uid);
}

struct sb__idrec *sb__idrec_of(const struct sb__identity *id)
{
	static struct sb__idrec other = { .key = "other" };
	struct sb__idrec *r = NULL;
	char key[sizeof(r->key)];
	size_t i;

	sb__idkey(id, key, sizeof(key));
	pthread_mutex_lock(&sb__idlock);
	for (i = 0; i < sb__n_idrecs; i++)
		if (!strcmp(sb__idrecs[i]->key, key)) {
			r = sb__idrecs[i];
			break;
		}
	if (!r && sb__n_idrecs < SB__IDREC_MAX) {
		r = calloc(1, sizeof(*r));
		if (r) {
			memcpy(r->key, key, sizeof(key));
			sb__idrecs[sb__n_idrecs++] = r;
		}
	}
	pthread_mutex_unlock(&sb__idlock);
	return r ? r : &other;
}

void sb__stats_id_call(struct sb__idrec *r)
{
	atomic_fetch_add_explicit(&r->calls, 1, memory_order_relaxed);
}

size_t sb__idrec_list(struct sb__idrec **out, size_t max)
{
	size_t i, n;

	pthread_mutex_lock(&sb__idlock);
	n = sb__n_idrecs < max ? sb__n_idrecs : max;
	for (i = 0; i < n; i++)
		out[i] = sb__idrecs[i];
	pthread_mutex_unlock(&sb__idlock);
	return n;
}

void sb__stats_read(struct sb__stats *o)
{
	o->sessions_total = atomic_load(&sb__sessions_total);
	o->sockets_total = atomic_load(&sb__sockets_total);
	o->calls_total = atomic_load(&sb__calls_total);
	o->calls_failed = atomic_load(&sb__calls_failed);
	o->bytes_sent = atomic_load(&sb__bytes_sent);
	o->bytes_received = atomic_load(&sb__bytes_received);
	o->datagrams_dropped = atomic_load(&sb__dropped);
	o->policy_denied = atomic_load(&sb__denied);
	o->limits_hit = atomic_load(&sb__limits);
	o->started_ms = sb__started;
}
