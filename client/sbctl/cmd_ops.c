/* SPDX-License-Identifier: MIT
 * cmd_ops.c - the operations commands: stats (GetStats) and health (the
 * standard grpc.health.v1.Health/Check), both raw calls (rawcall.c) since
 * libsockbroker has no wrapper for them.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <pb_decode.h>
#include <pb_encode.h>

#include "grpc/health/v1/health.pb.h"
#include "rawcall.h"
#include "sbctl.h"
#include "sockbroker/v1/sockbroker.pb.h"

#define SBCTL_OPS_TIMEOUT_MS 10000

/* ---- stats ---- */

struct sbctl_idents {
	sockbroker_v1_IdentityStats *v;
	size_t n;
};

static bool sbctl_dec_ident(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	struct sbctl_idents *l = *arg;
	sockbroker_v1_IdentityStats *v;

	(void)f;
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v)
		return false;
	l->v = v;
	memset(&v[l->n], 0, sizeof(*v));
	if (!pb_decode(s, sockbroker_v1_IdentityStats_fields, &v[l->n]))
		return false;
	l->n++;
	return true;
}

/*
 * One counter of GetStatsReply: its key in the text and JSON output, and
 * its Prometheus name, type and help. A counter of a reason shares a name
 * with its siblings and tells them apart by a "reason" label.
 */
struct sbctl_stat {
	const char *key;
	size_t off;          /* in sockbroker_v1_GetStatsReply */
	const char *metric;  /* sockbroker_<metric> */
	const char *type;    /* "counter" or "gauge" */
	const char *reason;  /* label value, or NULL */
	const char *help;
};

#define SBCTL_ST(k, m, t, r, h) { #k, offsetof(sockbroker_v1_GetStatsReply, k), m, t, r, h }
static const struct sbctl_stat sbctl_stats[] = {
	SBCTL_ST(uptime_ms, "uptime_seconds", "gauge", NULL, "Time since the broker started."),
	SBCTL_ST(sessions_open, "sessions_open", "gauge", NULL, "Sessions open now."),
	SBCTL_ST(sessions_total, "sessions_total", "counter", NULL, "Sessions opened."),
	SBCTL_ST(sockets_open, "sockets_open", "gauge", NULL, "Broker sockets open now."),
	SBCTL_ST(sockets_total, "sockets_total", "counter", NULL, "Broker sockets opened."),
	SBCTL_ST(calls_total, "calls_total", "counter", NULL, "Calls served."),
	SBCTL_ST(calls_failed, "calls_failed_total", "counter", NULL,
		 "Calls that ended with a status other than OK."),
	SBCTL_ST(bytes_sent, "sent_bytes_total", "counter", NULL, "Bytes sent on broker sockets."),
	SBCTL_ST(bytes_received, "received_bytes_total", "counter", NULL,
		 "Bytes received on broker sockets."),
	SBCTL_ST(datagrams_dropped, "datagrams_dropped_total", "counter", NULL,
		 "Datagrams the kernel dropped on broker sockets."),
	SBCTL_ST(waits_parked, "waits_parked", "gauge", NULL, "Calls waiting in the reactor now."),
	SBCTL_ST(policy_denied, "policy_denied_total", "counter", NULL, "Requests the policy refused."),
	SBCTL_ST(limits_hit, "limits_hit_total", "counter", NULL, "Requests refused by a limit."),
	SBCTL_ST(bytes_held, "held_bytes", "gauge", NULL, "Buffer bytes held for callers now."),
	SBCTL_ST(max_session_bytes, "max_session_bytes", "gauge", NULL,
		 "The limit of bytes held for one session."),
	SBCTL_ST(max_identity_bytes, "max_identity_bytes", "gauge", NULL,
		 "The limit of bytes held for one identity."),
	SBCTL_ST(connections_open, "connections_open", "gauge", NULL,
		 "Local connections open now."),
	SBCTL_ST(connections_refused_policy, "connections_refused_total", "counter", "policy",
		 "Local connections refused at accept."),
	SBCTL_ST(connections_refused_limit, "connections_refused_total", "counter", "limit",
		 "Local connections refused at accept."),
	SBCTL_ST(connections_idle_closed, "connections_idle_closed_total", "counter", NULL,
		 "Local connections closed for making no call."),
	SBCTL_ST(connections_dropped_emfile, "connections_refused_total", "counter", "emfile",
		 "Local connections refused at accept."),
};

/* The same per identity (IdentityStats), labelled identity="...". */
struct sbctl_istat {
	const char *key;
	size_t off;
	const char *metric, *type, *help;
};

#define SBCTL_IST(k, m, t, h) { #k, offsetof(sockbroker_v1_IdentityStats, k), m, t, h }
static const struct sbctl_istat sbctl_istats[] = {
	SBCTL_IST(sessions_open, "identity_sessions_open", "gauge", "Sessions open now, per identity."),
	SBCTL_IST(sockets_open, "identity_sockets_open", "gauge", "Sockets open now, per identity."),
	SBCTL_IST(calls, "identity_calls_total", "counter", "Calls served, per identity."),
	SBCTL_IST(denied, "identity_denied_total", "counter", "Requests refused by the policy, per identity."),
	SBCTL_IST(limited, "identity_limited_total", "counter", "Requests refused by a limit, per identity."),
	SBCTL_IST(bytes_held, "identity_held_bytes", "gauge", "Buffer bytes held now, per identity."),
	SBCTL_IST(connections_open, "identity_connections_open", "gauge",
		  "Local connections open now, per identity."),
	SBCTL_IST(connections_refused, "identity_connections_refused_total", "counter",
		  "Local connections refused at accept, per identity."),
};

#define SBCTL_N(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t sbctl_u64(const void *msg, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)msg + off, sizeof(v));
	return v;
}

/* A label value as the text format wants it: \\, \" and \n escaped. */
static void sbctl_prom_label(const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			printf("\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", stdout);
		else
			putchar(*v);
	}
}

/* The Prometheus text exposition format (version 0.0.4), every family
 * once with its HELP and TYPE, for a textfile collector or a scraper. */
static void sbctl_stats_prometheus(const sockbroker_v1_GetStatsReply *rep,
				   const struct sbctl_idents *ids)
{
	size_t i, k;

	/* A family's samples must stand together: each family once, at its
	 * first row, with every row of the same name. */
	for (i = 0; i < SBCTL_N(sbctl_stats); i++) {
		const struct sbctl_stat *f = &sbctl_stats[i];

		for (k = 0; k < i; k++)
			if (!strcmp(sbctl_stats[k].metric, f->metric))
				break;
		if (k < i)
			continue;
		printf("# HELP sockbroker_%s %s\n# TYPE sockbroker_%s %s\n", f->metric,
		       f->help, f->metric, f->type);
		for (k = i; k < SBCTL_N(sbctl_stats); k++) {
			const struct sbctl_stat *g = &sbctl_stats[k];
			uint64_t v = sbctl_u64(rep, g->off);

			if (strcmp(g->metric, f->metric))
				continue;
			if (!strcmp(g->key, "uptime_ms"))
				printf("sockbroker_%s %llu.%03llu\n", g->metric,
				       (unsigned long long)(v / 1000),
				       (unsigned long long)(v % 1000));
			else if (g->reason)
				printf("sockbroker_%s{reason=\"%s\"} %llu\n", g->metric,
				       g->reason, (unsigned long long)v);
			else
				printf("sockbroker_%s %llu\n", g->metric, (unsigned long long)v);
		}
	}
	for (k = 0; k < SBCTL_N(sbctl_istats); k++) {
		const struct sbctl_istat *f = &sbctl_istats[k];

		printf("# HELP sockbroker_%s %s\n# TYPE sockbroker_%s %s\n", f->metric, f->help,
		       f->metric, f->type);
		for (i = 0; i < ids->n; i++) {
			printf("sockbroker_%s{identity=\"", f->metric);
			sbctl_prom_label(ids->v[i].identity);
			printf("\"} %llu\n", (unsigned long long)sbctl_u64(&ids->v[i], f->off));
		}
	}
}

int sbctl_cmd_stats(const struct sbctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		SBCTL_COMMON_OPTIONS,
		{ "prometheus", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	sockbroker_v1_GetStatsRequest req = sockbroker_v1_GetStatsRequest_init_zero;
	sockbroker_v1_GetStatsReply rep = sockbroker_v1_GetStatsReply_init_zero;
	struct sbctl_idents ids = { NULL, 0 };
	struct sbctl_raw_status st;
	struct sbctl_json j;
	int opt, rc, prom = 0;
	size_t i, k;

	while ((opt = getopt_long(argc, argv, SBCTL_COMMON_SHORT "P", opts, NULL)) != -1) {
		if (opt == 'P') {
			prom = 1;
			continue;
		}
		if ((rc = sbctl_common_opt(cmd, opt)) >= 0)
			return rc;
	}
	if (optind < argc)
		return sbctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (prom && sbctl.json)
		return sbctl_usage_error(cmd, "--prometheus and --json are two formats: one");
	rep.identities.funcs.decode = sbctl_dec_ident;
	rep.identities.arg = &ids;
	if (sbctl_raw_call(sbctl_target(), "/sockbroker.v1.SocketBroker/GetStats",
			   &sockbroker_v1_GetStatsRequest_msg, &req,
			   &sockbroker_v1_GetStatsReply_msg, &rep, SBCTL_OPS_TIMEOUT_MS, &st) < 0) {
		free(ids.v);
		return sbctl_raw_fail("stats", sbctl_target(), &st);
	}
	if (prom) {
		sbctl_stats_prometheus(&rep, &ids);
	} else if (sbctl.json) {
		sbctl_json_init(&j, stdout, 1);
		sbctl_json_begin_obj(&j, NULL);
		for (i = 0; i < SBCTL_N(sbctl_stats); i++)
			sbctl_json_unum(&j, sbctl_stats[i].key, sbctl_u64(&rep, sbctl_stats[i].off));
		sbctl_json_begin_arr(&j, "identities");
		for (i = 0; i < ids.n; i++) {
			sbctl_json_begin_obj(&j, NULL);
			sbctl_json_str(&j, "identity", ids.v[i].identity);
			for (k = 0; k < SBCTL_N(sbctl_istats); k++)
				sbctl_json_unum(&j, sbctl_istats[k].key,
						sbctl_u64(&ids.v[i], sbctl_istats[k].off));
			sbctl_json_end_obj(&j);
		}
		sbctl_json_end_arr(&j);
		sbctl_json_end_obj(&j);
		sbctl_json_done(&j);
	} else {
		for (i = 0; i < SBCTL_N(sbctl_stats); i++)
			printf("%s: %llu\n", sbctl_stats[i].key,
			       (unsigned long long)sbctl_u64(&rep, sbctl_stats[i].off));
		for (i = 0; i < ids.n; i++) {
			printf("identity %s:", ids.v[i].identity);
			for (k = 0; k < SBCTL_N(sbctl_istats); k++)
				printf(" %s=%llu", sbctl_istats[k].key,
				       (unsigned long long)sbctl_u64(&ids.v[i], sbctl_istats[k].off));
			putchar('\n');
		}
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = sbctl_fail_plain(EPIPE, "write stdout");
	else
		rc = SBCTL_OK;
	free(ids.v);
	return rc;
}

/* ---- health ---- */

static bool sbctl_enc_str(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
	const char *str = *arg;

	if (!*str)
		return true;  /* proto3: the default is not sent */
	return pb_encode_tag_for_field(s, f) &&
	       pb_encode_string(s, (const pb_byte_t *)str, strlen(str));
}

static const char *sbctl_serving_name(int st)
{
	switch (st) {
	case grpc_health_v1_HealthCheckResponse_ServingStatus_UNKNOWN:
		return "UNKNOWN";
	case grpc_health_v1_HealthCheckResponse_ServingStatus_SERVING:
		return "SERVING";
	case grpc_health_v1_HealthCheckResponse_ServingStatus_NOT_SERVING:
		return "NOT_SERVING";
	case grpc_health_v1_HealthCheckResponse_ServingStatus_SERVICE_UNKNOWN:
		return "SERVICE_UNKNOWN";
	default:
		return "?";
	}
}

int sbctl_cmd_health(const struct sbctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = { SBCTL_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	grpc_health_v1_HealthCheckRequest req = grpc_health_v1_HealthCheckRequest_init_zero;
	grpc_health_v1_HealthCheckResponse rep = grpc_health_v1_HealthCheckResponse_init_zero;
	struct sbctl_raw_status st;
	const char *service = "";
	struct sbctl_json j;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, SBCTL_COMMON_SHORT, opts, NULL)) != -1)
		if ((rc = sbctl_common_opt(cmd, opt)) >= 0)
			return rc;
	if (argc - optind > 1)
		return sbctl_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
	if (argc - optind == 1)
		service = argv[optind];
	req.service.funcs.encode = sbctl_enc_str;
	req.service.arg = (void *)(uintptr_t)service;
	if (sbctl_raw_call(sbctl_target(), "/grpc.health.v1.Health/Check",
			   &grpc_health_v1_HealthCheckRequest_msg, &req,
			   &grpc_health_v1_HealthCheckResponse_msg, &rep,
			   SBCTL_OPS_TIMEOUT_MS, &st) < 0) {
		char what[300];

		snprintf(what, sizeof(what), "health%s%.256s", *service ? " " : "", service);
		return sbctl_raw_fail(what, sbctl_target(), &st);
	}
	if (sbctl.json) {
		sbctl_json_init(&j, stdout, 1);
		sbctl_json_begin_obj(&j, NULL);
		sbctl_json_str(&j, "service", service);
		sbctl_json_str(&j, "status", sbctl_serving_name(rep.status));
		sbctl_json_end_obj(&j);
		sbctl_json_done(&j);
	} else {
		printf("%s\n", sbctl_serving_name(rep.status));
	}
	return rep.status == grpc_health_v1_HealthCheckResponse_ServingStatus_SERVING
	       ? SBCTL_OK : SBCTL_FAIL;
}
