/* SPDX-License-Identifier: MIT
 * cmd_ops.c - the operations commands: stats (GetStats) and health (the
 * standard grpc.health.v1.Health/Check), both raw calls (rawcall.c) since
 * libsockbroker has no wrapper for them.
 */
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

int sbctl_cmd_stats(const struct sbctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = { SBCTL_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	sockbroker_v1_GetStatsRequest req = sockbroker_v1_GetStatsRequest_init_zero;
	sockbroker_v1_GetStatsReply rep = sockbroker_v1_GetStatsReply_init_zero;
	struct sbctl_idents ids = { NULL, 0 };
	struct sbctl_raw_status st;
	struct sbctl_json j;
	size_t i;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, SBCTL_COMMON_SHORT, opts, NULL)) != -1)
		if ((rc = sbctl_common_opt(cmd, opt)) >= 0)
			return rc;
	if (optind < argc)
		return sbctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	rep.identities.funcs.decode = sbctl_dec_ident;
	rep.identities.arg = &ids;
	if (sbctl_raw_call(sbctl_target(), "/sockbroker.v1.SocketBroker/GetStats",
			   &sockbroker_v1_GetStatsRequest_msg, &req,
			   &sockbroker_v1_GetStatsReply_msg, &rep, SBCTL_OPS_TIMEOUT_MS, &st) < 0) {
		free(ids.v);
		return sbctl_raw_fail("stats", sbctl_target(), &st);
	}
	{
		const struct {
			const char *key;
			uint64_t val;
		} kv[] = {
			{ "uptime_ms", rep.uptime_ms },
			{ "sessions_open", rep.sessions_open },
			{ "sessions_total", rep.sessions_total },
			{ "sockets_open", rep.sockets_open },
			{ "sockets_total", rep.sockets_total },
			{ "calls_total", rep.calls_total },
			{ "calls_failed", rep.calls_failed },
			{ "bytes_sent", rep.bytes_sent },
			{ "bytes_received", rep.bytes_received },
			{ "datagrams_dropped", rep.datagrams_dropped },
			{ "waits_parked", rep.waits_parked },
			{ "policy_denied", rep.policy_denied },
			{ "limits_hit", rep.limits_hit },
			{ "bytes_held", rep.bytes_held },
			{ "max_session_bytes", rep.max_session_bytes },
			{ "max_identity_bytes", rep.max_identity_bytes },
		};

		if (sbctl.json) {
			sbctl_json_init(&j, stdout, 1);
			sbctl_json_begin_obj(&j, NULL);
			for (i = 0; i < sizeof(kv) / sizeof(*kv); i++)
				sbctl_json_unum(&j, kv[i].key, kv[i].val);
			sbctl_json_begin_arr(&j, "identities");
			for (i = 0; i < ids.n; i++) {
				sbctl_json_begin_obj(&j, NULL);
				sbctl_json_str(&j, "identity", ids.v[i].identity);
				sbctl_json_unum(&j, "sessions_open", ids.v[i].sessions_open);
				sbctl_json_unum(&j, "sockets_open", ids.v[i].sockets_open);
				sbctl_json_unum(&j, "calls", ids.v[i].calls);
				sbctl_json_unum(&j, "denied", ids.v[i].denied);
				sbctl_json_unum(&j, "limited", ids.v[i].limited);
				sbctl_json_unum(&j, "bytes_held", ids.v[i].bytes_held);
				sbctl_json_end_obj(&j);
			}
			sbctl_json_end_arr(&j);
			sbctl_json_end_obj(&j);
			sbctl_json_done(&j);
		} else {
			for (i = 0; i < sizeof(kv) / sizeof(*kv); i++)
				printf("%s: %llu\n", kv[i].key, (unsigned long long)kv[i].val);
			for (i = 0; i < ids.n; i++)
				printf("identity %s: sessions_open=%llu sockets_open=%llu "
				       "calls=%llu denied=%llu limited=%llu bytes_held=%llu\n",
				       ids.v[i].identity,
				       (unsigned long long)ids.v[i].sessions_open,
				       (unsigned long long)ids.v[i].sockets_open,
				       (unsigned long long)ids.v[i].calls,
				       (unsigned long long)ids.v[i].denied,
				       (unsigned long long)ids.v[i].limited,
				       (unsigned long long)ids.v[i].bytes_held);
		}
	}
	free(ids.v);
	return SBCTL_OK;
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
