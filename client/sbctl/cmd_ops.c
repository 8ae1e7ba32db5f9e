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
#include "promtext.h"
#include "rawcall.h"
#include "sbctl.h"
#include "sockbroker/v1/sockbroker.pb.h"

#define SBCTL_OPS_TIMEOUT_MS 10000

/* ---- stats ---- */

/* The repeated messages of GetStatsReply, decoded one by one. */
struct sbctl_list {
	void *v;
	size_t n, size;
	const pb_msgdesc_t *desc;
};

struct sbctl_stats_lists {
	struct sbctl_list ids, methods, rules;
};

static bool sbctl_dec_item(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	struct sbctl_list *l = *arg;
	char *v;

	(void)f;
	/* Bounded by the message size the client accepts; still, no more
	 * records than a broker can have. */
	if (l->n >= 65536)
		return false;
	v = realloc(l->v, (l->n + 1) * l->size);
	if (!v)
		return false;
	l->v = v;
	memset(v + l->n * l->size, 0, l->size);
	if (!pb_decode(s, l->desc, v + l->n * l->size))
		return false;
	l->n++;
	return true;
}

static void *sbctl_item(const struct sbctl_list *l, size_t i)
{
	return (char *)l->v + i * l->size;
}

/* Field name -> offset, for promtext.c's accessor and the listings. */
struct sbctl_field {
	const char *key;
	size_t off;
};

#define SBCTL_F(T, k) { #k, offsetof(T, k) }
static const struct sbctl_field sbctl_reply_fields[] = {
	SBCTL_F(sockbroker_v1_GetStatsReply, uptime_ms),
	SBCTL_F(sockbroker_v1_GetStatsReply, sessions_open),
	SBCTL_F(sockbroker_v1_GetStatsReply, sessions_total),
	SBCTL_F(sockbroker_v1_GetStatsReply, sockets_open),
	SBCTL_F(sockbroker_v1_GetStatsReply, sockets_total),
	SBCTL_F(sockbroker_v1_GetStatsReply, calls_total),
	SBCTL_F(sockbroker_v1_GetStatsReply, calls_failed),
	SBCTL_F(sockbroker_v1_GetStatsReply, bytes_sent),
	SBCTL_F(sockbroker_v1_GetStatsReply, bytes_received),
	SBCTL_F(sockbroker_v1_GetStatsReply, datagrams_dropped),
	SBCTL_F(sockbroker_v1_GetStatsReply, waits_parked),
	SBCTL_F(sockbroker_v1_GetStatsReply, policy_denied),
	SBCTL_F(sockbroker_v1_GetStatsReply, limits_hit),
	SBCTL_F(sockbroker_v1_GetStatsReply, bytes_held),
	SBCTL_F(sockbroker_v1_GetStatsReply, max_session_bytes),
	SBCTL_F(sockbroker_v1_GetStatsReply, max_identity_bytes),
	SBCTL_F(sockbroker_v1_GetStatsReply, connections_open),
	SBCTL_F(sockbroker_v1_GetStatsReply, connections_refused_policy),
	SBCTL_F(sockbroker_v1_GetStatsReply, connections_refused_limit),
	SBCTL_F(sockbroker_v1_GetStatsReply, connections_idle_closed),
	SBCTL_F(sockbroker_v1_GetStatsReply, connections_dropped_emfile),
	SBCTL_F(sockbroker_v1_GetStatsReply, rss_bytes),
	SBCTL_F(sockbroker_v1_GetStatsReply, heap_bytes),
	{ NULL, 0 },
};

static const struct sbctl_field sbctl_ident_fields[] = {
	SBCTL_F(sockbroker_v1_IdentityStats, sessions_open),
	SBCTL_F(sockbroker_v1_IdentityStats, sockets_open),
	SBCTL_F(sockbroker_v1_IdentityStats, calls),
	SBCTL_F(sockbroker_v1_IdentityStats, denied),
	SBCTL_F(sockbroker_v1_IdentityStats, limited),
	SBCTL_F(sockbroker_v1_IdentityStats, bytes_held),
	SBCTL_F(sockbroker_v1_IdentityStats, connections_open),
	SBCTL_F(sockbroker_v1_IdentityStats, connections_refused),
	{ NULL, 0 },
};

static const struct sbctl_field sbctl_method_fields[] = {
	SBCTL_F(sockbroker_v1_MethodStats, calls),
	SBCTL_F(sockbroker_v1_MethodStats, failed),
	SBCTL_F(sockbroker_v1_MethodStats, duration_us_sum),
	{ NULL, 0 },
};

static const struct sbctl_field sbctl_rule_fields[] = {
	SBCTL_F(sockbroker_v1_RuleStats, allowed),
	SBCTL_F(sockbroker_v1_RuleStats, denied),
	{ NULL, 0 },
};

static const struct sbctl_field *const sbctl_fields_of[] = {
	[SB__PROM_REPLY] = sbctl_reply_fields,
	[SB__PROM_IDENTITY] = sbctl_ident_fields,
	[SB__PROM_METHOD] = sbctl_method_fields,
	[SB__PROM_RULE] = sbctl_rule_fields,
};

static uint64_t sbctl_get(const void *obj, enum sb__prom_kind kind, const char *key)
{
	const struct sbctl_field *f;
	uint64_t v;

	for (f = sbctl_fields_of[kind]; f->key; f++)
		if (!strcmp(f->key, key)) {
			memcpy(&v, (const char *)obj + f->off, sizeof(v));
			return v;
		}
	return 0;
}

static const char *sbctl_name(const void *obj, enum sb__prom_kind kind)
{
	if (kind == SB__PROM_IDENTITY)
		return ((const sockbroker_v1_IdentityStats *)obj)->identity;
	if (kind == SB__PROM_METHOD)
		return ((const sockbroker_v1_MethodStats *)obj)->method;
	if (kind == SB__PROM_RULE)
		return ((const sockbroker_v1_RuleStats *)obj)->rule;
	return "";
}

static const uint64_t *sbctl_buckets(const void *m, size_t *n)
{
	const sockbroker_v1_MethodStats *ms = m;

	*n = ms->buckets_count;
	return ms->buckets;
}

/* The lists as arrays of pointers, as promtext.c takes them. */
static const void **sbctl_ptrs(const struct sbctl_list *l)
{
	const void **p = calloc(l->n ? l->n : 1, sizeof(*p));
	size_t i;

	for (i = 0; p && i < l->n; i++)
		p[i] = sbctl_item(l, i);
	return p;
}

static int sbctl_stats_prometheus(const sockbroker_v1_GetStatsReply *rep,
				  const struct sbctl_stats_lists *ls)
{
	struct sb__prom_in in;
	const void **ids = sbctl_ptrs(&ls->ids), **ms = sbctl_ptrs(&ls->methods),
		   **rs = sbctl_ptrs(&ls->rules);
	int ret = -ENOMEM;

	if (ids && ms && rs) {
		memset(&in, 0, sizeof(in));
		in.reply = rep;
		in.ids = ids;
		in.n_ids = ls->ids.n;
		in.methods = ms;
		in.n_methods = ls->methods.n;
		in.rules = rs;
		in.n_rules = ls->rules.n;
		in.bounds_us = rep->latency_bounds_us;
		in.n_bounds = rep->latency_bounds_us_count;
		in.get = sbctl_get;
		in.name = sbctl_name;
		in.buckets = sbctl_buckets;
		ret = sb__prom_write(stdout, &in);
	}
	free(ids);
	free(ms);
	free(rs);
	return ret;
}

static void sbctl_json_u64s(struct sbctl_json *j, const char *key, const uint64_t *v, size_t n)
{
	size_t i;

	sbctl_json_begin_arr(j, key);
	for (i = 0; i < n; i++)
		sbctl_json_unum(j, NULL, v[i]);
	sbctl_json_end_arr(j);
}

static void sbctl_stats_json(const sockbroker_v1_GetStatsReply *rep,
			     const struct sbctl_stats_lists *ls)
{
	const struct sbctl_field *f;
	struct sbctl_json j;
	size_t i;

	sbctl_json_init(&j, stdout, 1);
	sbctl_json_begin_obj(&j, NULL);
	for (f = sbctl_reply_fields; f->key; f++)
		sbctl_json_unum(&j, f->key, sbctl_get(rep, SB__PROM_REPLY, f->key));
	sbctl_json_begin_arr(&j, "identities");
	for (i = 0; i < ls->ids.n; i++) {
		const sockbroker_v1_IdentityStats *id = sbctl_item(&ls->ids, i);

		sbctl_json_begin_obj(&j, NULL);
		sbctl_json_str(&j, "identity", id->identity);
		for (f = sbctl_ident_fields; f->key; f++)
			sbctl_json_unum(&j, f->key, sbctl_get(id, SB__PROM_IDENTITY, f->key));
		sbctl_json_end_obj(&j);
	}
	sbctl_json_end_arr(&j);
	sbctl_json_u64s(&j, "latency_bounds_us", rep->latency_bounds_us,
			rep->latency_bounds_us_count);
	sbctl_json_begin_arr(&j, "methods");
	for (i = 0; i < ls->methods.n; i++) {
		const sockbroker_v1_MethodStats *m = sbctl_item(&ls->methods, i);

		sbctl_json_begin_obj(&j, NULL);
		sbctl_json_str(&j, "method", m->method);
		for (f = sbctl_method_fields; f->key; f++)
			sbctl_json_unum(&j, f->key, sbctl_get(m, SB__PROM_METHOD, f->key));
		sbctl_json_u64s(&j, "buckets", m->buckets, m->buckets_count);
		sbctl_json_end_obj(&j);
	}
	sbctl_json_end_arr(&j);
	sbctl_json_begin_arr(&j, "rules");
	for (i = 0; i < ls->rules.n; i++) {
		const sockbroker_v1_RuleStats *r = sbctl_item(&ls->rules, i);

		sbctl_json_begin_obj(&j, NULL);
		sbctl_json_str(&j, "rule", r->rule);
		for (f = sbctl_rule_fields; f->key; f++)
			sbctl_json_unum(&j, f->key, sbctl_get(r, SB__PROM_RULE, f->key));
		sbctl_json_end_obj(&j);
	}
	sbctl_json_end_arr(&j);
	sbctl_json_end_obj(&j);
	sbctl_json_done(&j);
}

/* "KEY=1,2,3" after a blank, or "1,2,3" after ": " when @key is NULL. */
static void sbctl_u64s(const char *key, const uint64_t *v, size_t n)
{
	size_t i;

	if (key)
		printf(" %s=", key);
	else
		fputs(": ", stdout);
	for (i = 0; i < n; i++)
		printf("%s%llu", i ? "," : "", (unsigned long long)v[i]);
}

static void sbctl_stats_text(const sockbroker_v1_GetStatsReply *rep,
			     const struct sbctl_stats_lists *ls)
{
	const struct sbctl_field *f;
	size_t i;

	for (f = sbctl_reply_fields; f->key; f++)
		printf("%s: %llu\n", f->key,
		       (unsigned long long)sbctl_get(rep, SB__PROM_REPLY, f->key));
	for (i = 0; i < ls->ids.n; i++) {
		const sockbroker_v1_IdentityStats *id = sbctl_item(&ls->ids, i);

		printf("identity %s:", id->identity);
		for (f = sbctl_ident_fields; f->key; f++)
			printf(" %s=%llu", f->key,
			       (unsigned long long)sbctl_get(id, SB__PROM_IDENTITY, f->key));
		putchar('\n');
	}
	fputs("latency_bounds_us", stdout);
	sbctl_u64s(NULL, rep->latency_bounds_us, rep->latency_bounds_us_count);
	putchar('\n');
	for (i = 0; i < ls->methods.n; i++) {
		const sockbroker_v1_MethodStats *m = sbctl_item(&ls->methods, i);

		printf("method %s:", m->method);
		for (f = sbctl_method_fields; f->key; f++)
			printf(" %s=%llu", f->key,
			       (unsigned long long)sbctl_get(m, SB__PROM_METHOD, f->key));
		sbctl_u64s("buckets", m->buckets, m->buckets_count);
		putchar('\n');
	}
	for (i = 0; i < ls->rules.n; i++) {
		const sockbroker_v1_RuleStats *r = sbctl_item(&ls->rules, i);

		printf("rule %s:", r->rule);
		for (f = sbctl_rule_fields; f->key; f++)
			printf(" %s=%llu", f->key,
			       (unsigned long long)sbctl_get(r, SB__PROM_RULE, f->key));
		putchar('\n');
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
	struct sbctl_stats_lists ls = {
		{ NULL, 0, sizeof(sockbroker_v1_IdentityStats), sockbroker_v1_IdentityStats_fields },
		{ NULL, 0, sizeof(sockbroker_v1_MethodStats), sockbroker_v1_MethodStats_fields },
		{ NULL, 0, sizeof(sockbroker_v1_RuleStats), sockbroker_v1_RuleStats_fields },
	};
	struct sbctl_raw_status st;
	int opt, rc, prom = 0;

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
	rep.identities.funcs.decode = sbctl_dec_item;
	rep.identities.arg = &ls.ids;
	rep.methods.funcs.decode = sbctl_dec_item;
	rep.methods.arg = &ls.methods;
	rep.rules.funcs.decode = sbctl_dec_item;
	rep.rules.arg = &ls.rules;
	if (sbctl_raw_call(sbctl_target(), "/sockbroker.v1.SocketBroker/GetStats",
			   &sockbroker_v1_GetStatsRequest_msg, &req,
			   &sockbroker_v1_GetStatsReply_msg, &rep, SBCTL_OPS_TIMEOUT_MS, &st) < 0) {
		rc = sbctl_raw_fail("stats", sbctl_target(), &st);
		goto out;
	}
	if (prom) {
		if (sbctl_stats_prometheus(&rep, &ls) == -ENOMEM) {
			rc = sbctl_fail_plain(ENOMEM, "stats");
			goto out;
		}
	} else if (sbctl.json) {
		sbctl_stats_json(&rep, &ls);
	} else {
		sbctl_stats_text(&rep, &ls);
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		rc = sbctl_fail_plain(EPIPE, "write stdout");
	else
		rc = SBCTL_OK;
out:
	free(ls.ids.v);
	free(ls.methods.v);
	free(ls.rules.v);
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
