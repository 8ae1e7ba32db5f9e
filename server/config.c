/* SPDX-License-Identifier: MIT
 * config.c - the embedded default configuration and the YAML file reader
 * (libyaml's document API). Errors name the line and the field.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "config.h"
#include "log.h"

void sb__default_socket_path(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (geteuid() == 0)
		snprintf(buf, len, "/run/sockbroker/sockbroker.sock");
	else if (xdg && xdg[0] == '/')
		snprintf(buf, len, "%s/sockbroker.sock", xdg);
	else
		snprintf(buf, len, "/run/user/%u/sockbroker.sock", (unsigned)geteuid());
}

void sb__config_default(struct sb__config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->limits.max_sessions = 1024;
	cfg->limits.max_sessions_per_uid = 256;
	cfg->limits.max_sockets_per_session = 4096;
	cfg->limits.max_message_bytes = 4u << 20;
	cfg->limits.resolver_threads = 4;
	cfg->allow_uids[0] = geteuid();
	cfg->allow_uids[1] = 0;
	cfg->log_level = SB__LOG_INFO;
}

int sb__config_add_listen(struct sb__config *cfg, const char *target)
{
	struct sb__listen_cfg *l;
	const char *name;
	int abstract = 0;

	if (!strncmp(target, "unix:", 5)) {
		name = target + 5;
	} else if (!strncmp(target, "unix-abstract:", 14)) {
		name = target + 14;
		abstract = 1;
	} else {
		return -EINVAL;
	}
	if (!name[0] || strlen(name) >= sizeof(l->path))
		return -EINVAL;
	if (cfg->n_listen == SB__MAX_LISTENERS)
		return -ENOSPC;
	l = &cfg->listen[cfg->n_listen++];
	snprintf(l->path, sizeof(l->path), "%s", name);
	l->abstract = abstract;
	l->mode = 0600;
	return 0;
}

struct sb__yctx {
	yaml_document_t *doc;
	char *err;
	size_t errlen;
};

static int __attribute__((format(printf, 3, 4)))
sb__yfail(struct sb__yctx *y, yaml_node_t *n, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(y->err, y->errlen, "line %zu: %s",
		 n ? n->start_mark.line + 1 : 0, msg);
	return -EINVAL;
}

static const char *sb__yscalar(yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value
						: NULL;
}

static int sb__yuint(struct sb__yctx *y, yaml_node_t *n, const char *field,
		     unsigned long min, unsigned long max, int base, uint32_t *out)
{
	const char *s = sb__yscalar(n);
	unsigned long v;
	char *end;

	if (!s || !s[0])
		return sb__yfail(y, n, "%s: expected a number", field);
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || *end || s[0] == '-')
		return sb__yfail(y, n, "%s: not a number", field);
	if (v < min || v > max)
		return sb__yfail(y, n, "%s: out of range", field);
	*out = (uint32_t)v;
	return 0;
}

static int sb__ylisten(struct sb__yctx *y, yaml_node_t *seq, struct sb__config *c)
{
	yaml_node_item_t *it;

	if (seq->type != YAML_SEQUENCE_NODE)
		return sb__yfail(y, seq, "%s: expected a list", "listen");
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *m = yaml_document_get_node(y->doc, *it);
		yaml_node_pair_t *p;
		struct sb__listen_cfg l = { .mode = 0600 };
		int have = 0;

		if (!m || m->type != YAML_MAPPING_NODE)
			return sb__yfail(y, m, "%s: each entry is a mapping", "listen");
		for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
			yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
			const char *key = sb__yscalar(k), *val = sb__yscalar(v);
			uint32_t mode;

			if (!key)
				return sb__yfail(y, k, "%s: keys are names", "listen");
			if (!strcmp(key, "unix") || !strcmp(key, "abstract")) {
				if (!val || !val[0] || strlen(val) >= sizeof(l.path))
					return sb__yfail(y, v, "listen.%s: a name of 1..107 bytes", key);
				snprintf(l.path, sizeof(l.path), "%s", val);
				l.abstract = key[0] == 'a';
				have = 1;
			} else if (!strcmp(key, "mode")) {
				if (sb__yuint(y, v, "listen.mode", 0, 0777, 8, &mode) < 0)
					return -EINVAL;
				l.mode = (mode_t)mode;
			} else {
				return sb__yfail(y, k, "listen.%s: unknown field", key);
			}
		}
		if (!have)
			return sb__yfail(y, m, "%s: needs unix or abstract", "listen");
		if (c->n_listen == SB__MAX_LISTENERS)
			return sb__yfail(y, m, "%s: too many listeners", "listen");
		c->listen[c->n_listen++] = l;
	}
	return 0;
}

static int sb__ylimits(struct sb__yctx *y, yaml_node_t *m, struct sb__limits *l)
{
	static const struct {
		const char *name;
		size_t off;
		unsigned long min, max;
	} f[] = {
		{ "max_sessions", offsetof(struct sb__limits, max_sessions), 1, 1000000 },
		{ "max_sessions_per_uid", offsetof(struct sb__limits, max_sessions_per_uid), 1, 1000000 },
		{ "max_sockets_per_session", offsetof(struct sb__limits, max_sockets_per_session), 1, 1000000 },
		{ "max_message_bytes", offsetof(struct sb__limits, max_message_bytes), 65536, 64u << 20 },
		{ "resolver_threads", offsetof(struct sb__limits, resolver_threads), 1, 64 },
	};
	yaml_node_pair_t *p;
	size_t i;

	if (m->type != YAML_MAPPING_NODE)
		return sb__yfail(y, m, "%s: expected a mapping", "limits");
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
		yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
		const char *key = sb__yscalar(k);
		char field[80];

		if (!key)
			return sb__yfail(y, k, "%s: keys are names", "limits");
		for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
			if (!strcmp(key, f[i].name))
				break;
		if (i == sizeof(f) / sizeof(f[0]))
			return sb__yfail(y, k, "limits.%s: unknown field", key);
		snprintf(field, sizeof(field), "limits.%s", key);
		if (sb__yuint(y, v, field, f[i].min, f[i].max, 10,
			      (uint32_t *)((char *)l + f[i].off)) < 0)
			return -EINVAL;
	}
	return 0;
}

int sb__config_load(struct sb__config *cfg, const char *path, char *err,
		    size_t errlen)
{
	struct sb__config c = *cfg;
	yaml_parser_t parser;
	yaml_document_t doc;
	struct sb__yctx y = { &doc, err, errlen };
	yaml_node_t *root;
	yaml_node_pair_t *p;
	FILE *f;
	int ret = -EINVAL;

	f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		return -errno;
	}
	c.n_listen = 0;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "line %zu: %s", parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "YAML syntax error");
		goto out_parser;
	}
	root = yaml_document_get_root_node(&doc);
	if (!root) {	/* an empty file: all defaults */
		ret = 0;
		goto out_doc;
	}
	if (root->type != YAML_MAPPING_NODE) {
		ret = sb__yfail(&y, root, "%s: the file is a mapping of sections", "top level");
		goto out_doc;
	}
	for (p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&doc, p->value);
		const char *key = sb__yscalar(k);

		if (!key) {
			ret = sb__yfail(&y, k, "%s: section names are words", "top level");
			goto out_doc;
		}
		if (!strcmp(key, "listen"))
			ret = sb__ylisten(&y, v, &c);
		else if (!strcmp(key, "limits"))
			ret = sb__ylimits(&y, v, &c.limits);
		else if (!strcmp(key, "log_level")) {
			const char *s = sb__yscalar(v);
			static const char *const lv[] = { "error", "warning", "info", "debug" };
			int i;

			ret = sb__yfail(&y, v, "%s: one of error, warning, info, debug", "log_level");
			for (i = 0; s && i < 4; i++)
				if (!strcmp(s, lv[i])) {
					c.log_level = i;
					ret = 0;
				}
		} else
			ret = sb__yfail(&y, k, "%s: unknown section", key);
		if (ret < 0)
			goto out_doc;
	}
	if (!c.n_listen) {	/* no listen section: keep the caller's */
		memcpy(c.listen, cfg->listen, sizeof(c.listen));
		c.n_listen = cfg->n_listen;
	}
	*cfg = c;
	ret = 0;
out_doc:
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	fclose(f);
	return ret;
}
