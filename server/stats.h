/* SPDX-License-Identifier: MIT
 * stats.h - the broker's counters, lock-free, read by GetStats.
 */
#ifndef SB_SERVER_STATS_H
#define SB_SERVER_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "identity.h"

struct sb__stats {
	uint64_t sessions_total, sockets_total;
	uint64_t calls_total, calls_failed;
	uint64_t bytes_sent, bytes_received;
	uint64_t datagrams_dropped, policy_denied, limits_hit;
	int64_t started_ms;
};

void sb__stats_init(void);
void sb__stats_call(int ok);
void sb__stats_session_opened(void);
void sb__stats_socket_opened(void);
void sb__stats_bytes(uint64_t sent, uint64_t received);
void sb__stats_dropped(uint64_t n);
void sb__stats_denied(const struct sb__identity *id);
void sb__stats_limit(const struct sb__identity *id);
/** sb__stats_read() - a snapshot of the counters. */
void sb__stats_read(struct sb__stats *out);

/* Counters of one identity ("uid:1000", or a certificate name). Records
 * live as long as the broker; past SB__IDREC_MAX identities, the rest
 * share one record named "other". */
#define SB__IDREC_MAX 4096

struct sb__idrec {
	char key[272];   /* "uid:N", "listener:NAME/uid:N", "cert:SUBJECT"
			  * (whole), "tcp:insecure" */
	atomic_uint_fast64_t sessions_open, sockets_open;
	atomic_uint_fast64_t calls, denied, limited;
	atomic_uint_fast64_t connections_open, connections_refused;
	atomic_uint_fast64_t bytes_held; /* buffers held for its sessions now */
};

/** sb__idrec_of() - the record of @id, created on first use.
 *  Return: never NULL. */
struct sb__idrec *sb__idrec_of(const struct sb__identity *id);

/** sb__stats_id_call() - count one finished call on identity record @r. */
void sb__stats_id_call(struct sb__idrec *r);

/** sb__idrec_list() - the records, up to @max. Return: how many. */
size_t sb__idrec_list(struct sb__idrec **out, size_t max);

/*
 * Call latencies per method: a histogram each, of the time from the broker
 * taking a call to its status being queued. The hot path adds to counters
 * of its thread's shard (relaxed atomics, no lock), GetStats sums the
 * shards. Methods are the registry's indexes (methods.c), below
 * SB__STATS_METHODS.
 */
#define SB__STATS_METHODS 64
#define SB__LAT_BOUNDS 21  /* bucket upper bounds; one more bucket above them */

/** sb__lat_bounds_us - the bounds, in microseconds, ascending. */
extern const uint64_t sb__lat_bounds_us[SB__LAT_BOUNDS];

struct sb__method_stats {
	uint64_t calls, failed, sum_us;
	uint64_t buckets[SB__LAT_BOUNDS + 1];  /* per bucket, not cumulative */
};

/** sb__stats_method_call() - count a finished call of method @m that took
 *  @us, with status OK when @ok. Thread-safe, lock-free; @m out of range
 *  is ignored. */
void sb__stats_method_call(size_t m, int ok, uint64_t us);

/** sb__stats_method_read() - the sum of the shards of method @m (zeros
 *  when out of range). A call counted meanwhile may show in some fields
 *  only: the figures are a scrape's, not a transaction's. */
void sb__stats_method_read(size_t m, struct sb__method_stats *out);

/* Decisions of one policy rule name ("default": no rule applied). Records
 * live as long as the broker, so a rule's counters go on across reloads;
 * past SB__RULEREC_MAX names the rest share the record "other". */
#define SB__RULEREC_MAX 1024

struct sb__rulerec {
	char name[64];
	atomic_uint_fast64_t allowed, denied;
};

/** sb__rulerec_of() - the record of rule name @name, created on first use
 *  (takes a lock: call it when a policy is put in force, not per
 *  decision). Return: never NULL. */
struct sb__rulerec *sb__rulerec_of(const char *name);

/** sb__stats_rule() - count a decision on @r. Thread-safe, lock-free. */
void sb__stats_rule(struct sb__rulerec *r, int allow);

/** sb__rulerec_list() - the records, up to @max. Return: how many. */
size_t sb__rulerec_list(struct sb__rulerec **out, size_t max);

/** sb__stats_memory() - the broker's resident set (from /proc/self/statm)
 *  and the bytes malloc has handed out and not taken back; 0 for what
 *  cannot be read. */
void sb__stats_memory(uint64_t *rss_bytes, uint64_t *heap_bytes);

#endif /* SB_SERVER_STATS_H */
