/* SPDX-License-Identifier: MIT
 * stats_reply.c - the counters of stats.c, session.c, identity.c and the
 * reactor as one GetStatsReply.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "methods.h"
#include "reactor.h"
#include "session.h"
#include "stats.h"
#include "stats_reply.h"

static int sb__snap_identities(struct sb__stats_snap *s, const struct sb__identity *caller,
			       int all)
{
	static struct sb__idrec *recs[SB__IDREC_MAX];	/* under sb__snap_lock */
	struct sb__idrec *own = !all && caller && caller->known ? sb__idrec_of(caller) : NULL;
	size_t n = sb__idrec_list(recs, SB__IDREC_MAX), i, k = 0;

	s->ids = calloc(n ? n : 1, sizeof(*s->ids));
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	s->rep.identities = calloc(n ? n : 1, sizeof(*s->rep.identities));
	if (!s->ids || !s->rep.identities)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		Sockbroker__V1__IdentityStats *d = &s->ids[k];

		if (!all && recs[i] != own)
			continue;
		sockbroker__v1__identity_stats__init(d);
		d->identity = recs[i]->key;
		d->sessions_open = atomic_load(&recs[i]->sessions_open);
		d->sockets_open = atomic_load(&recs[i]->sockets_open);
		d->calls = atomic_load(&recs[i]->calls);
		d->denied = atomic_load(&recs[i]->denied);
		d->limited = atomic_load(&recs[i]->limited);
		d->connections_open = atomic_load(&recs[i]->connections_open);
		d->connections_refused = atomic_load(&recs[i]->connections_refused);
		d->bytes_held = atomic_load(&recs[i]->bytes_held);
		s->rep.identities[k++] = d;
	}
	s->rep.n_identities = k;
	return 0;
}

/* The methods called at least once, with their buckets. */
static int sb__snap_methods(struct sb__stats_snap *s)
{
	struct sb__method_stats ms;
	size_t n = 0, i, k = 0;

	/* protobuf-c only reads it. */
	s->rep.latency_bounds_us = (uint64_t *)sb__lat_bounds_us;
	s->rep.n_latency_bounds_us = SB__LAT_BOUNDS;
	while (sb__methods[n].path)
		n++;
	s->methods = calloc(n ? n : 1, sizeof(*s->methods));
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	s->rep.methods = calloc(n ? n : 1, sizeof(*s->rep.methods));
	s->buckets = calloc(n ? n : 1, (SB__LAT_BOUNDS + 1) * sizeof(*s->buckets));
	if (!s->methods || !s->rep.methods || !s->buckets)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		Sockbroker__V1__MethodStats *d = &s->methods[k];

		sb__stats_method_read(i, &ms);
		if (!ms.calls)
			continue;
		sockbroker__v1__method_stats__init(d);
		d->method = (char *)sb__methods[i].path;
		d->calls = ms.calls;
		d->failed = ms.failed;
		d->duration_us_sum = ms.sum_us;
		d->buckets = s->buckets + k * (SB__LAT_BOUNDS + 1);
		memcpy(d->buckets, ms.buckets, sizeof(ms.buckets));
		d->n_buckets = SB__LAT_BOUNDS + 1;
		s->rep.methods[k++] = d;
	}
	s->rep.n_methods = k;
	return 0;
}

static int sb__snap_rules(struct sb__stats_snap *s)
{
	static struct sb__rulerec *recs[SB__RULEREC_MAX];	/* under sb__snap_lock */
	size_t n = sb__rulerec_list(recs, SB__RULEREC_MAX), i;

	s->rules = calloc(n ? n : 1, sizeof(*s->rules));
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	s->rep.rules = calloc(n ? n : 1, sizeof(*s->rep.rules));
	if (!s->rules || !s->rep.rules)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		sockbroker__v1__rule_stats__init(&s->rules[i]);
		s->rules[i].rule = recs[i]->name;
		s->rules[i].allowed = atomic_load(&recs[i]->allowed);
		s->rules[i].denied = atomic_load(&recs[i]->denied);
		s->rep.rules[i] = &s->rules[i];
	}
	s->rep.n_rules = n;
	return 0;
}

/* The record lists are large for a stack: one snapshot at a time (GetStats
 * and scrapes are rare next to calls). */
static pthread_mutex_t sb__snap_lock = PTHREAD_MUTEX_INITIALIZER;

int sb__stats_snap_take(struct sb__stats_snap *s, const struct sb__identity *caller, int all)
{
	Sockbroker__V1__GetStatsReply *rep = &s->rep;
	struct sb__conn_stats cs;
	struct sb__stats st;
	int ret;

	memset(s, 0, sizeof(*s));
	sockbroker__v1__get_stats_reply__init(rep);
	sb__stats_read(&st);
	sb__sessions_count(&rep->sessions_open, &rep->sockets_open);
	rep->uptime_ms = (uint64_t)(sb__now_ms() - st.started_ms);
	rep->sessions_total = st.sessions_total;
	rep->sockets_total = st.sockets_total;
	rep->calls_total = st.calls_total;
	rep->calls_failed = st.calls_failed;
	rep->bytes_sent = st.bytes_sent;
	rep->bytes_received = st.bytes_received;
	rep->datagrams_dropped = st.datagrams_dropped;
	rep->waits_parked = sb__reactor_parked();
	rep->policy_denied = st.policy_denied;
	sb__conn_stats(&cs);
	rep->connections_open = cs.open;
	rep->connections_refused_policy = cs.refused_policy;
	rep->connections_refused_limit = cs.refused_limit;
	rep->connections_idle_closed = cs.idle_closed;
	rep->connections_dropped_emfile = cs.dropped_emfile;
	rep->limits_hit = st.limits_hit;
	rep->bytes_held = sb__bytes_held();
	sb__bytes_limits(&rep->max_session_bytes, &rep->max_identity_bytes);
	sb__stats_memory(&rep->rss_bytes, &rep->heap_bytes);
	pthread_mutex_lock(&sb__snap_lock);
	ret = sb__snap_identities(s, caller, all);
	if (ret == 0)
		ret = sb__snap_methods(s);
	if (ret == 0 && all)
		ret = sb__snap_rules(s);
	pthread_mutex_unlock(&sb__snap_lock);
	return ret;
}

void sb__stats_snap_free(struct sb__stats_snap *s)
{
	free(s->rep.identities);
	free(s->ids);
	free(s->rep.methods);
	free(s->methods);
	free(s->buckets);
	free(s->rep.rules);
	free(s->rules);
	memset(s, 0, sizeof(*s));
}
