/* SPDX-License-Identifier: MIT
 * ops_session.c - OpenSession (the lease), CloseSession, GetStats and the
 * standard health service.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "grpc/health/v1/health.pb-c.h"
#include "log.h"
#include "ops.h"
#include "reactor.h"
#include "stats.h"
#include "stats_reply.h"

static void sb__session_ctx_free(void *ctx)
{
	sb__session_unref(ctx);
}

/* The client went away: the lease is over. */
static void sb__lease_closed(struct sb__call *c)
{
	sb__session_end(c->ctx);
}

static void sb__lease_sent(struct sb__call *c, int ok)
{
	if (!ok)
		sb__session_end(c->ctx);
}

void sb__h_open_session(struct sb__call *c, void *req)
{
	SBPB(OpenSessionRequest) *r = req;
	SBPB(SessionEvent) ev = SOCKBROKER__V1__SESSION_EVENT__INIT;
	SBPB(Identity) id = SOCKBROKER__V1__IDENTITY__INIT;
	struct sb__session *s;
	int ret;

	if (strlen(r->client_name) > 64) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
			      "client_name is longer than 64 bytes");
		return;
	}
	ret = sb__session_open(&c->ident, r->client_name, c, &s);
	if (ret < 0) {
		sb__stats_limit(&c->ident);
		sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED,
			      ret == -ENOMEM ? ENOMEM : EMFILE,
			      ret == -EUSERS ? "limit max_sessions_per_uid reached"
			      : ret == -EMFILE ? "limit max_sessions reached"
					       : "cannot open a session: %s",
			      strerror(-ret));
		return;
	}
	c->ctx = s;
	c->ctx_free = sb__session_ctx_free;
	sb__info("session %llu opened by uid %u pid %d (%s)",
		 (unsigned long long)s->id, (unsigned)c->ident.uid,
		 (int)c->ident.pid, s->client_name);
	ev.token = s->token;
	ev.session_id = s->id;
	id.uid = c->ident.uid;
	id.gid = c->ident.gid;
	id.pid = (uint32_t)c->ident.pid;
	id.cgroup = c->ident.cgroup;
	id.transport = c->ident.transport;
	ev.identity = &id;
	ev.max_sockets = s->max_sockets;
	ev.max_message_bytes = sb__op_max_bytes();
	if (sb__call_on_close(c, sb__lease_closed) < 0 ||
	    sb__call_send(c, &ev.base, sb__lease_sent) < 0)
		sb__session_end(s);
}

void sb__h_close_session(struct sb__call *c, void *req)
{
	SBPB(CloseSessionReply) rep = SOCKBROKER__V1__CLOSE_SESSION_REPLY__INIT;

	(void)req;
	sb__session_end(c->session);
	sb__call_reply(c, &rep.base);
}

/* Counters per identity and per rule: all of them for root and the
 * broker's owner on a plain local listener, the caller's own record
 * otherwise (identities and the policy's rules are not everyone's
 * business). Behind a listener identity uid 0 is a workload's root (every
 * pod's), not the host's. */
void sb__h_get_stats(struct sb__call *c, void *req)
{
	int all = c->ident.known && !c->ident.listener[0] &&
		  strcmp(c->ident.transport, "tcp") &&
		  (c->ident.uid == 0 || c->ident.uid == geteuid());
	struct sb__stats_snap s;

	(void)req;
	if (sb__stats_snap_take(&s, &c->ident, all) < 0)
		sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM,
			      "out of memory for the statistics");
	else
		sb__call_reply(c, &s.rep.base);
	sb__stats_snap_free(&s);
}

/* The services the health check knows: "" (the broker) and ours. */
static int sb__health_known(const char *svc)
{
	return !svc[0] || !strcmp(svc, "sockbroker.v1.SocketBroker");
}

void sb__h_health_check(struct sb__call *c, void *req)
{
	Grpc__Health__V1__HealthCheckRequest *r = req;
	Grpc__Health__V1__HealthCheckResponse rep =
		GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;

	if (!sb__health_known(r->service)) {
		sb__call_fail(c, GRPC_STATUS_NOT_FOUND, ENOENT,
			      "unknown service \"%s\"", r->service);
		return;
	}
	rep.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
	sb__call_reply(c, &rep.base);
}

static void sb__watch_closed(struct sb__call *c)
{
	sb__call_fail(c, GRPC_STATUS_CANCELLED, 0, "watch cancelled");
}

void sb__h_health_watch(struct sb__call *c, void *req)
{
	Grpc__Health__V1__HealthCheckRequest *r = req;
	Grpc__Health__V1__HealthCheckResponse rep =
		GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;

	/* The status never changes while the broker runs: send it once and
	 * hold the stream until the client leaves. */
	rep.status = sb__health_known(r->service)
		? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
		: GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
	if (sb__call_on_close(c, sb__watch_closed) < 0 ||
	    sb__call_send(c, &rep.base, NULL) < 0)
		sb__call_fail(c, GRPC_STATUS_CANCELLED, 0, "watch cancelled");
}
