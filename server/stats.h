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

#endif /* SB_SERVER_STATS_H */
