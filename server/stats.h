/* SPDX-License-Identifier: MIT
 * stats.h - the broker's counters, lock-free, read by GetStats.
 */
#ifndef SB_SERVER_STATS_H
#define SB_SERVER_STATS_H

#include <stdint.h>

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
void sb__stats_denied(void);
void sb__stats_limit(void);
/** sb__stats_read() - a snapshot of the counters. */
void sb__stats_read(struct sb__stats *out);

#endif /* SB_SERVER_STATS_H */
