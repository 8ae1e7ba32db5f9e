/* SPDX-License-Identifier: MIT
 * stats.c - the broker's counters.
 */
#include <stdatomic.h>

#include "rpc.h"
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

void sb__stats_denied(void)
{
	atomic_fetch_add(&sb__denied, 1);
}

void sb__stats_limit(void)
{
	atomic_fetch_add(&sb__limits, 1);
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
