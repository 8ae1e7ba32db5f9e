/* SPDX-License-Identifier: MIT
 * stats_reply.h - a GetStatsReply from the broker's counters: GetStats's
 * answer and the source of the /metrics page (metrics.c).
 */
#ifndef SB_SERVER_STATS_REPLY_H
#define SB_SERVER_STATS_REPLY_H

#include "identity.h"
#include "sockbroker/v1/sockbroker.pb-c.h"

/* A reply and the arrays it points into, all owned by the struct. */
struct sb__stats_snap {
	Sockbroker__V1__GetStatsReply rep;
	Sockbroker__V1__IdentityStats *ids;
	Sockbroker__V1__MethodStats *methods;
	uint64_t *buckets;
	Sockbroker__V1__RuleStats *rules;
};

/**
 * sb__stats_snap_take() - fill @s with the counters now
 * @s:      filled; give it to sb__stats_snap_free() whatever this returns
 * @caller: whose identity record to show when @all is 0 (NULL: none)
 * @all:    1: every identity and the rules (root, the broker's owner, the
 *          metrics listener); 0: @caller's own record and no rules
 *
 * Thread-safe. Return: 0, or -ENOMEM (then @s holds what was filled).
 */
int sb__stats_snap_take(struct sb__stats_snap *s, const struct sb__identity *caller,
			int all);

/** sb__stats_snap_free() - free what @s owns. */
void sb__stats_snap_free(struct sb__stats_snap *s);

#endif /* SB_SERVER_STATS_REPLY_H */
