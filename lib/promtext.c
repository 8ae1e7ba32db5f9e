/* SPDX-License-Identifier: MIT
 * promtext.c - the Prometheus text format of GetStats (promtext.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "promtext.h"

/*
 * One figure: its field, its name after "sockbroker_", type and help. A
 * figure of a reason shares its name with its siblings and tells them
 * apart by a "reason" label.
 */
struct sb__prom_fig {
	const char *key, *metric, *type, *reason, *help;
};

static const struct sb__prom_fig sb__prom_reply[] = {
	{ "uptime_ms", "uptime_seconds", "gauge", NULL, "Time since the broker started." },
	{ "sessions_open", "sessions_open", "gauge", NULL, "Sessions open now." },
	{ "sessions_total", "sessions_total", "counter", NULL, "Sessions opened." },
	{ "sockets_open", "sockets_open", "gauge", NULL, "Broker sockets open now." },
	{ "sockets_total", "sockets_total", "counter", NULL, "Broker sockets opened." },
	{ "calls_total", "calls_total", "counter", NULL, "Calls served." },
	{ "calls_failed", "calls_failed_total", "counter", NULL,
	  "Calls that ended with a status other than OK." },
	{ "bytes_sent", "sent_bytes_total", "counter", NULL, "Bytes sent on broker sockets." },
	{ "bytes_received", "received_bytes_total", "counter", NULL,
	  "Bytes received on broker sockets." },
	{ "datagrams_dropped", "datagrams_dropped_total", "counter", NULL,
	  "Datagrams the kernel dropped on broker sockets." },
	{ "waits_parked", "waits_parked", "gauge", NULL, "Calls waiting in the reactor now." },
	{ "policy_denied", "policy_denied_total", "counter", NULL, "Requests the policy refused." },
	{ "limits_hit", "limits_hit_total", "counter", NULL, "Requests refused by a limit." },
	{ "bytes_held", "held_bytes", "gauge", NULL, "Buffer bytes held for callers now." },
	{ "max_session_bytes", "max_session_bytes", "gauge", NULL,
	  "The limit of bytes held for one session." },
	{ "max_identity_bytes", "max_identity_bytes", "gauge", NULL,
	  "The limit of bytes held for one identity." },
	{ "connections_open", "connections_open", "gauge", NULL, "Local connections open now." },
	{ "connections_refused_policy", "connections_refused_total", "counter", "policy",
	  "Local connections refused at accept." },
	{ "connections_refused_limit", "connections_refused_total", "counter", "limit",
	  "Local connections refused at accept." },
	{ "connections_idle_closed", "connections_idle_closed_total", "counter", NULL,
	  "Local connections closed for making no call." },
	{ "connections_dropped_emfile", "connections_refused_total", "counter", "emfile",
	  "Local connections refused at accept." },
	{ "rss_bytes", "resident_memory_bytes", "gauge", NULL,
	  "Resident set size of the broker." },
	{ "heap_bytes", "heap_bytes", "gauge", NULL, "Bytes malloc has handed out and not taken back." },
};

static const struct sb__prom_fig sb__prom_ident[] = {
	{ "sessions_open", "identity_sessions_open", "gauge", NULL, "Sessions open now, per identity." },
	{ "sockets_open", "identity_sockets_open", "gauge", NULL, "Sockets open now, per identity." },
	{ "calls", "identity_calls_total", "counter", NULL, "Calls served, per identity." },
	{ "denied", "identity_denied_total", "counter", NULL,
	  "Requests refused by the policy, per identity." },
	{ "limited", "identity_limited_total", "counter", NULL,
	  "Requests refused by a limit, per identity." },
	{ "bytes_held", "identity_held_bytes", "gauge", NULL, "Buffer bytes held now, per identity." },
	{ "connections_open", "identity_connections_open", "gauge", NULL,
	  "Local connections open now, per identity." },
	{ "connections_refused", "identity_connections_refused_total", "counter", NULL,
	  "Local connections refused at accept, per identity." },
};

#define SB__PN(a) (sizeof(a) / sizeof((a)[0]))

const char *sb__prom_reply_key(size_t i)
{
	return i < SB__PN(sb__prom_reply) ? sb__prom_reply[i].key : NULL;
}

const char *sb__prom_identity_key(size_t i)
{
	return i < SB__PN(sb__prom_ident) ? sb__prom_ident[i].key : NULL;
}

static void sb__prom_head(FILE *f, const char *metric, const char *type, const char *help)
{
	fprintf(f, "# HELP sockbroker_%s %s\n# TYPE sockbroker_%s %s\n", metric, help, metric,
		type);
}

/* A label value as the text format wants it: \\, \" and \n escaped. */
static void sb__prom_label(FILE *f, const char *v)
{
	for (; v && *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* Microseconds as seconds, without trailing zeros: 10 -> 0.00001. */
static void sb__prom_seconds(FILE *f, uint64_t us)
{
	char frac[8];
	int n;

	if (us % 1000000 == 0) {
		fprintf(f, "%" PRIu64, us / 1000000);
		return;
	}
	n = snprintf(frac, sizeof(frac), "%06" PRIu64, us % 1000000);
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = 0;
	fprintf(f, "%" PRIu64 ".%s", us / 1000000, frac);
}

static void sb__prom_reply_figs(FILE *f, const struct sb__prom_in *in)
{
	size_t i, k;

	/* A family's samples must stand together: each family once, at its
	 * first row, with every row of the same name. */
	for (i = 0; i < SB__PN(sb__prom_reply); i++) {
		const struct sb__prom_fig *fi = &sb__prom_reply[i];

		for (k = 0; k < i; k++)
			if (!strcmp(sb__prom_reply[k].metric, fi->metric))
				break;
		if (k < i)
			continue;
		sb__prom_head(f, fi->metric, fi->type, fi->help);
		for (k = i; k < SB__PN(sb__prom_reply); k++) {
			const struct sb__prom_fig *g = &sb__prom_reply[k];
			uint64_t v;

			if (strcmp(g->metric, fi->metric))
				continue;
			v = in->get(in->reply, SB__PROM_REPLY, g->key);
			fprintf(f, "sockbroker_%s", g->metric);
			if (g->reason)
				fprintf(f, "{reason=\"%s\"}", g->reason);
			if (!strcmp(g->key, "uptime_ms")) {
				fputc(' ', f);
				sb__prom_seconds(f, v * 1000);
				fputc('\n', f);
			} else {
				fprintf(f, " %" PRIu64 "\n", v);
			}
		}
	}
}

static void sb__prom_ident_figs(FILE *f, const struct sb__prom_in *in)
{
	size_t i, k;

	for (k = 0; k < SB__PN(sb__prom_ident); k++) {
		const struct sb__prom_fig *fi = &sb__prom_ident[k];

		sb__prom_head(f, fi->metric, fi->type, fi->help);
		for (i = 0; i < in->n_ids; i++) {
			fprintf(f, "sockbroker_%s{identity=\"", fi->metric);
			sb__prom_label(f, in->name(in->ids[i], SB__PROM_IDENTITY));
			fprintf(f, "\"} %" PRIu64 "\n",
				in->get(in->ids[i], SB__PROM_IDENTITY, fi->key));
		}
	}
}

/* The latency histograms: cumulative buckets per method, +Inf the count. */
static void sb__prom_methods(FILE *f, const struct sb__prom_in *in)
{
	const char *h = "call_duration_seconds";
	size_t i, b, nb;

	sb__prom_head(f, h, "histogram",
		      "Time from the broker taking a call to its status, per method.");
	for (i = 0; i < in->n_methods; i++) {
		const void *m = in->methods[i];
		const uint64_t *bk = in->buckets(m, &nb);
		uint64_t cum = 0;

		for (b = 0; b < in->n_bounds; b++) {
			cum += b < nb ? bk[b] : 0;
			fprintf(f, "sockbroker_%s_bucket{method=\"", h);
			sb__prom_label(f, in->name(m, SB__PROM_METHOD));
			fputs("\",le=\"", f);
			sb__prom_seconds(f, in->bounds_us[b]);
			fprintf(f, "\"} %" PRIu64 "\n", cum);
		}
		fprintf(f, "sockbroker_%s_bucket{method=\"", h);
		sb__prom_label(f, in->name(m, SB__PROM_METHOD));
		fprintf(f, "\",le=\"+Inf\"} %" PRIu64 "\n", in->get(m, SB__PROM_METHOD, "calls"));
		fprintf(f, "sockbroker_%s_sum{method=\"", h);
		sb__prom_label(f, in->name(m, SB__PROM_METHOD));
		fputs("\"} ", f);
		sb__prom_seconds(f, in->get(m, SB__PROM_METHOD, "duration_us_sum"));
		fprintf(f, "\nsockbroker_%s_count{method=\"", h);
		sb__prom_label(f, in->name(m, SB__PROM_METHOD));
		fprintf(f, "\"} %" PRIu64 "\n", in->get(m, SB__PROM_METHOD, "calls"));
	}
	sb__prom_head(f, "method_calls_failed_total", "counter",
		      "Calls that ended with a status other than OK, per method.");
	for (i = 0; i < in->n_methods; i++) {
		fputs("sockbroker_method_calls_failed_total{method=\"", f);
		sb__prom_label(f, in->name(in->methods[i], SB__PROM_METHOD));
		fprintf(f, "\"} %" PRIu64 "\n", in->get(in->methods[i], SB__PROM_METHOD, "failed"));
	}
}

static void sb__prom_rules(FILE *f, const struct sb__prom_in *in)
{
	static const char *const dec[2][2] = { { "allow", "allowed" }, { "deny", "denied" } };
	size_t i, d;

	sb__prom_head(f, "rule_decisions_total", "counter",
		      "Policy decisions per rule (\"default\": no rule applied).");
	for (i = 0; i < in->n_rules; i++)
		for (d = 0; d < 2; d++) {
			fputs("sockbroker_rule_decisions_total{rule=\"", f);
			sb__prom_label(f, in->name(in->rules[i], SB__PROM_RULE));
			fprintf(f, "\",decision=\"%s\"} %" PRIu64 "\n", dec[d][0],
				in->get(in->rules[i], SB__PROM_RULE, dec[d][1]));
		}
}

int sb__prom_write(FILE *f, const struct sb__prom_in *in)
{
	sb__prom_reply_figs(f, in);
	sb__prom_ident_figs(f, in);
	sb__prom_methods(f, in);
	sb__prom_rules(f, in);
	return ferror(f) ? -EIO : 0;
}
