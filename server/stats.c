/* SPDX-License-Identifier: MIT
 * stats.c - the broker's counters.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifdef SB_SANITIZED
/* The sanitizer runtime's (its header is not installed with gcc here). */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

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

/*
 * Latency buckets, from a broker's own histograms (sbctl stats after 30
 * rounds of hostname, resolve, ifaddrs and an HTTP fetch through connect,
 * on the 2-core test machine under load): calls that never wait take
 * 5-50 us from the broker taking them to their status being queued
 * (GetHostName 12 us on average, 19 of 30 under 10 us; Close, Poll,
 * GetPeerName 10-25 us; CloseSession 50 us), interface lists and name
 * lookups 0.1-25 ms (GetIfAddrs, GetAddrInfo), Dial 0.1-10 ms, and calls
 * that park or stream (Connect, Recv, Pipe, the OpenSession lease) last
 * up to their timeout or the client's life. So: 5 us to 30 s in 1-2.5-5
 * steps, and above.
 */
const uint64_t sb__lat_bounds_us[SB__LAT_BOUNDS] = {
	5, 10, 25, 50, 100, 250, 500,
	1000, 2500, 5000, 10000, 25000, 50000,
	100000, 250000, 500000, 1000000, 2500000, 5000000,
	10000000, 30000000,
};

/* Shards: threads (the completion queue, the reactor, the pool's) take
 * one each in turn, so that two threads rarely write one cache line. */
#define SB__LAT_SHARDS 4

struct sb__lat {
	atomic_uint_fast64_t calls, failed, sum_us;
	atomic_uint_fast64_t buckets[SB__LAT_BOUNDS + 1];
} __attribute__((aligned(64)));

static struct sb__lat sb__lat[SB__LAT_SHARDS][SB__STATS_METHODS];
static atomic_uint sb__lat_next;
static _Thread_local unsigned sb__lat_shard = ~0u;

void sb__stats_method_call(size_t m, int ok, uint64_t us)
{
	struct sb__lat *l;
	size_t b = 0;

	if (m >= SB__STATS_METHODS)
		return;
	if (sb__lat_shard == ~0u)
		sb__lat_shard = atomic_fetch_add_explicit(&sb__lat_next, 1,
							  memory_order_relaxed) % SB__LAT_SHARDS;
	l = &sb__lat[sb__lat_shard][m];
	while (b < SB__LAT_BOUNDS && us > sb__lat_bounds_us[b])
		b++;
	atomic_fetch_add_explicit(&l->buckets[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&l->sum_us, us, memory_order_relaxed);
	if (!ok)
		atomic_fetch_add_explicit(&l->failed, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&l->calls, 1, memory_order_relaxed);
}

void sb__stats_method_read(size_t m, struct sb__method_stats *o)
{
	size_t s, b;

	memset(o, 0, sizeof(*o));
	if (m >= SB__STATS_METHODS)
		return;
	for (s = 0; s < SB__LAT_SHARDS; s++) {
		struct sb__lat *l = &sb__lat[s][m];

		o->calls += atomic_load_explicit(&l->calls, memory_order_relaxed);
		o->failed += atomic_load_explicit(&l->failed, memory_order_relaxed);
		o->sum_us += atomic_load_explicit(&l->sum_us, memory_order_relaxed);
		for (b = 0; b <= SB__LAT_BOUNDS; b++)
			o->buckets[b] += atomic_load_explicit(&l->buckets[b],
							      memory_order_relaxed);
	}
}

/* Rule records: as the identity records, an append-only array. */
static pthread_mutex_t sb__rulelock = PTHREAD_MUTEX_INITIALIZER;
static struct sb__rulerec *sb__rulerecs[SB__RULEREC_MAX];
static size_t sb__n_rulerecs;

struct sb__rulerec *sb__rulerec_of(const char *name)
{
	static struct sb__rulerec other = { .name = "other" };
	struct sb__rulerec *r = NULL;
	size_t i;

	pthread_mutex_lock(&sb__rulelock);
	for (i = 0; i < sb__n_rulerecs; i++)
		if (!strcmp(sb__rulerecs[i]->name, name)) {
			r = sb__rulerecs[i];
			break;
		}
	if (!r && sb__n_rulerecs < SB__RULEREC_MAX) {
		r = calloc(1, sizeof(*r));
		if (r) {
			snprintf(r->name, sizeof(r->name), "%s", name);
			sb__rulerecs[sb__n_rulerecs++] = r;
		}
	}
	pthread_mutex_unlock(&sb__rulelock);
	return r ? r : &other;
}

void sb__stats_rule(struct sb__rulerec *r, int allow)
{
	atomic_fetch_add_explicit(allow ? &r->allowed : &r->denied, 1, memory_order_relaxed);
}

size_t sb__rulerec_list(struct sb__rulerec **out, size_t max)
{
	size_t i, n;

	pthread_mutex_lock(&sb__rulelock);
	n = sb__n_rulerecs < max ? sb__n_rulerecs : max;
	for (i = 0; i < n; i++)
		out[i] = sb__rulerecs[i];
	pthread_mutex_unlock(&sb__rulelock);
	return n;
}

void sb__stats_memory(uint64_t *rss_bytes, uint64_t *heap_bytes)
{
	unsigned long long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "re");
	long page = sysconf(_SC_PAGESIZE);
	struct mallinfo2 mi = mallinfo2();

	*rss_bytes = 0;
	if (f) {
		/* Numbers the kernel writes. */
		/* NOLINTNEXTLINE(cert-err34-c) */
		if (fscanf(f, "%llu %llu", &size, &resident) == 2 && page > 0)
			*rss_bytes = resident * (unsigned long long)page;
		fclose(f);
	}
#ifdef SB_SANITIZED
	/* The sanitizer's allocator replaces malloc: glibc's figures are 0. */
	(void)mi;
	*heap_bytes = __sanitizer_get_current_allocated_bytes();
#else
	/* Small blocks in the arenas plus blocks of their own mmap. */
	*heap_bytes = (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
#endif
}
