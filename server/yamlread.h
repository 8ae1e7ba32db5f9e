/* SPDX-License-Identifier: MIT
 * yamlread.h - the shared layer over libyaml's document API: what the
 * config and policy readers need to turn a node into a value or a
 * message "line N: field: what is wrong".
 *
 * Every function that fails writes the message into the context's buffer
 * (the first error is the one reported: the readers stop at it) and
 * returns -EINVAL (-ENOMEM for sb__ynomem()).
 */
#ifndef SB_SERVER_YAMLREAD_H
#define SB_SERVER_YAMLREAD_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include <yaml.h>

/* One document being read, and where its first error goes. */
struct sb__yctx {
	yaml_document_t *doc;
	char *err;
	size_t errlen;
};

/** sb__yfail_record() - "line N: <fmt>" into @y->err, N from @n (1 when
 *  NULL). */
void sb__yfail_record(struct sb__yctx *y, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static inline int sb__yfailed(int err)
{
	return err;
}

/** sb__yfail() - sb__yfail_record(). Return: -EINVAL. A macro, so that the
 *  value is in the caller's own code: clang-tidy's analyzer follows an error
 *  path to the caller's return only when it sees the value returned. */
#define sb__yfail(y, n, ...) (sb__yfail_record((y), (n), __VA_ARGS__), sb__yfailed(-EINVAL))

/** sb__ynomem() - "line N: out of memory". Return: -ENOMEM. */
#define sb__ynomem(y, n) (sb__yfail_record((y), (n), "out of memory"), sb__yfailed(-ENOMEM))

/** sb__yscalar() - the text of a scalar node; NULL for NULL or another kind. */
const char *sb__yscalar(const yaml_node_t *n);

/**
 * sb__ykey() - the key of pair @p of a mapping
 * @field: the mapping's name for messages ("" for the top level)
 * @keys:  the known keys; @nkeys of them (at most 32)
 * @seen:  bit i set once keys[i] was given; updated
 * @val:   set to the value node
 *
 * Unknown, repeated (libyaml lets repeats through) and value-less keys
 * are errors. Return: the key's index in @keys, or -1 after an error.
 */
int sb__ykey(struct sb__yctx *y, const yaml_node_pair_t *p, const char *field,
	     const char *const *keys, size_t nkeys, unsigned *seen, yaml_node_t **val);

/** sb__yuint() - a number of digits of @base (8 or 10) only, no sign, in
 *  @min..@max. Return: 0 and *@out set, or -EINVAL. */
int sb__yuint(struct sb__yctx *y, yaml_node_t *n, const char *field,
	      unsigned long min, unsigned long max, int base, uint32_t *out);

/** sb__ybool() - `true` or `false`. Return: 0 and *@out set, or -EINVAL. */
int sb__ybool(struct sb__yctx *y, yaml_node_t *n, const char *field, int *out);

/**
 * sb__yaml_check_nul() - reject scalars with embedded NUL bytes, which C
 * strings would silently shorten (a prefix "a\0b" would match as "a").
 * Return: 0, or -EINVAL with "line N: a value contains a NUL byte".
 */
int sb__yaml_check_nul(yaml_document_t *doc, char *err, size_t errlen);

/** Deepest nesting of mappings and lists a file may have (ours needs 5). */
#define SB__YAML_MAX_DEPTH 32

/**
 * sb__yaml_check_depth() - read the events of a fresh @parser and refuse
 * nesting deeper than SB__YAML_MAX_DEPTH, before libyaml's scanner (whose
 * cost grows with the depth at every token) is run over the whole file.
 * Consumes @parser; the caller deletes it and loads with a new one.
 * Return: 0 (also after a syntax error, which the loader then reports), or
 *         -EINVAL with "line N: nesting deeper than 32 levels".
 */
int sb__yaml_check_depth(yaml_parser_t *parser, char *err, size_t errlen);

#endif /* SB_SERVER_YAMLREAD_H */
