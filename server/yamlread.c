/* SPDX-License-Identifier: MIT
 * yamlread.c - the one layer over libyaml's document API that the config
 * reader (config.c) and the policy reader (policy_read.c) share: error
 * messages with the line, scalars, keys of a mapping (unknown, repeated
 * and empty ones refused), numbers, booleans, and the checks made on a
 * whole file before it is read.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "yamlread.h"

void sb__yfail_record(struct sb__yctx *y, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(y->err, y->errlen, "line %zu: %s", n ? n->start_mark.line + 1 : 1, msg);
}

const char *sb__yscalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value
						: NULL;
}

/* Digits of @base only: no sign, no blanks, no "0x". */
int sb__yuint(struct sb__yctx *y, yaml_node_t *n, const char *field,
		     unsigned long min, unsigned long max, int base, uint32_t *out)
{
	const char *s = sb__yscalar(n);
	unsigned long v;
	char *end;

	if (!s || !s[0])
		return sb__yfail(y, n, "%s: expected a number", field);
	if (strspn(s, base == 8 ? "01234567" : "0123456789") != strlen(s))
		return sb__yfail(y, n, "%s: not %s number: \"%.40s\"", field,
				 base == 8 ? "an octal" : "a decimal", s);
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || v < min || v > max)
		return sb__yfail(y, n, "%s: out of range (%lu..%lu)", field, min, max);
	*out = (uint32_t)v;
	return 0;
}

int sb__ybool(struct sb__yctx *y, yaml_node_t *n, const char *field, int *out)
{
	const char *s = sb__yscalar(n);

	if (s && !strcmp(s, "true"))
		*out = 1;
	else if (s && !strcmp(s, "false"))
		*out = 0;
	else
		return sb__yfail(y, n, "%s: true or false", field);
	return 0;
}

/*
 * Key of pair @p of a mapping: its index in @keys, or -1 after an error.
 * Unknown and repeated keys are errors (libyaml lets repeats through).
 */
int sb__ykey(struct sb__yctx *y, const yaml_node_pair_t *p, const char *field,
		    const char *const *keys, size_t nkeys, unsigned *seen,
		    yaml_node_t **val)
{
	yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
	const char *key = sb__yscalar(k);
	size_t i;

	*val = yaml_document_get_node(y->doc, p->value);
	if (!key) {
		sb__yfail(y, k, "%s: keys are names", field[0] ? field : "top level");
		return -1;
	}
	for (i = 0; i < nkeys; i++)
		if (!strcmp(key, keys[i]))
			break;
	if (i == nkeys) {
		sb__yfail(y, k, "%s%s%.64s: unknown field", field, field[0] ? "." : "", key);
		return -1;
	}
	if (*seen & (1u << i)) {
		sb__yfail(y, k, "%s%s%s: given twice", field, field[0] ? "." : "", key);
		return -1;
	}
	if (!*val) {
		sb__yfail(y, k, "%s%s%s: no value", field, field[0] ? "." : "", key);
		return -1;
	}
	*seen |= 1u << i;
	return (int)i;
}

int sb__yaml_check_nul(yaml_document_t *doc, char *err, size_t errlen)
{
	yaml_node_t *n;

	for (n = doc->nodes.start; n < doc->nodes.top; n++) {
		if (n->type == YAML_SCALAR_NODE &&
		    strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
			snprintf(err, errlen, "line %zu: a value contains a NUL byte",
				 n->start_mark.line + 1);
			return -EINVAL;
		}
	}
	return 0;
}

int sb__yaml_check_depth(yaml_parser_t *parser, char *err, size_t errlen)
{
	yaml_event_t ev;
	int depth = 0, ret = 0, done = 0;

	while (!done) {
		if (!yaml_parser_parse(parser, &ev))
			return 0;
		switch (ev.type) {
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (++depth > SB__YAML_MAX_DEPTH) {
				snprintf(err, errlen, "line %zu: nesting deeper than %d levels",
					 ev.start_mark.line + 1, SB__YAML_MAX_DEPTH);
				ret = -EINVAL;
				done = 1;
			}
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			depth--;
			break;
		case YAML_STREAM_END_EVENT:
			done = 1;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	return ret;
}
