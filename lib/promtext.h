/* SPDX-License-Identifier: MIT
 * promtext.h - GetStats in the Prometheus text exposition format (0.0.4):
 * the names, types and help of every figure, and the writer. One writer
 * for both runtimes: sbctl (nanopb) and the broker's /metrics (protobuf-c)
 * hand it their messages through the accessors of struct sb__prom_in, so
 * both print the same families.
 */
#ifndef SB_LIB_PROMTEXT_H
#define SB_LIB_PROMTEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What an accessor is asked about. */
enum sb__prom_kind {
	SB__PROM_REPLY,     /* GetStatsReply */
	SB__PROM_IDENTITY,  /* IdentityStats */
	SB__PROM_METHOD,    /* MethodStats */
	SB__PROM_RULE,      /* RuleStats */
};

/*
 * The messages to print. @get returns the uint64 field @key (the .proto's
 * field name) of @obj, a message of @kind; @name returns the string that
 * names an identity, method or rule; @buckets the method's bucket counts
 * (n_bounds + 1 of them, or fewer when the message had fewer: missing
 * ones count 0). All are called on this thread only, during
 * sb__prom_write().
 */
struct sb__prom_in {
	const void *reply;
	const void *const *ids;
	size_t n_ids;
	const void *const *methods;
	size_t n_methods;
	const void *const *rules;
	size_t n_rules;
	const uint64_t *bounds_us;  /* the reply's latency_bounds_us */
	size_t n_bounds;
	uint64_t (*get)(const void *obj, enum sb__prom_kind kind, const char *key);
	const char *(*name)(const void *obj, enum sb__prom_kind kind);
	const uint64_t *(*buckets)(const void *method, size_t *n);
};

/**
 * sb__prom_write() - print @in to @f: every family once with its HELP and
 * TYPE, its samples together, label values escaped.
 * Return: 0, or -EIO when @f reports an error.
 */
int sb__prom_write(FILE *f, const struct sb__prom_in *in);

/** sb__prom_reply_key() - the i-th GetStatsReply figure's field name, for
 *  the text and JSON listings; NULL past the last. */
const char *sb__prom_reply_key(size_t i);

/** sb__prom_identity_key() - the same for IdentityStats. */
const char *sb__prom_identity_key(size_t i);

#endif /* SB_LIB_PROMTEXT_H */
