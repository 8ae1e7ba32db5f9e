/* SPDX-License-Identifier: MIT
 * config.c - the embedded default configuration and the YAML file reader
 * (libyaml's document API). Errors name the line and the field; unknown and
 * repeated keys are errors. The `policy:` section is read by policy_read.c,
 * and both readers share yamlread.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "config.h"
#include "log.h"
#include "policy_read.h"
#include "yamlread.h"

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
	cfg->limits.max_sessions = SB__DEF_MAX_SESSIONS;
	cfg->limits.max_sessions_per_uid = SB__DEF_MAX_SESSIONS_PER_UID;
	cfg->limits.max_sockets_per_session = SB__DEF_MAX_SOCKETS;
	cfg->limits.max_sockets_per_uid = SB__DEF_MAX_SOCKETS_PER_UID;
	cfg->limits.max_pending_accepts = SB__DEF_MAX_PENDING_ACCEPTS;
	cfg->limits.max_stream_bytes = SB__DEF_MAX_STREAM_BYTES;
	cfg->limits.max_session_bytes = SB__DEF_MAX_SESSION_BYTES;
	cfg->limits.max_identity_bytes = SB__DEF_MAX_IDENTITY_BYTES;
	cfg->limits.max_message_bytes = SB__DEF_MAX_MESSAGE_BYTES;
	cfg->limits.resolver_threads = SB__DEF_RESOLVER_THREADS;
	cfg->limits.max_connections = SB__DEF_MAX_CONNECTIONS;
	cfg->limits.max_connections_per_uid = SB__DEF_MAX_CONNECTIONS_PER_UID;
	cfg->limits.idle_connection_ms = SB__DEF_IDLE_CONNECTION_MS;
	cfg->log_level = SB__LOG_INFO;
	cfg->confine.seccomp = 1;
	cfg->policy = sb__policy_default(geteuid());
}

void sb__config_free(struct sb__config *cfg)
{
	sb__policy_free(cfg->policy);
	cfg->policy = NULL;
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
	memset(l, 0, sizeof(*l));
	snprintf(l->path, sizeof(l->path), "%s", name);
	l->abstract = abstract;
	l->mode = 0600;
	return 0;
}

static int sb__ypath(struct sb__yctx *y, yaml_node_t *v, const char *field, char *dst,
		     size_t size)
{
	const char *s = sb__yscalar(v);

	if (!s || !s[0] || strlen(s) >= size)
		return sb__yfail(y, v, "%s: a path of 1..%zu bytes", field, size - 1);
	snprintf(dst, size, "%s", s);
	return 0;
}

/* A file the broker will need later: readable now, or the file is refused. */
static int sb__yreadable(struct sb__yctx *y, yaml_node_t *v, const char *field,
			 const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return sb__yfail(y, v, "%s: cannot read \"%.120s\": %s", field, path,
				 strerror(errno));
	close(fd);
	return 0;
}

static int sb__ytls(struct sb__yctx *y, yaml_node_t *m, const char *field,
		    struct sb__tcp_listen_cfg *t)
{
	static const char *const keys[] = { "cert", "key", "client_ca" };
	char *dst[] = { t->cert, t->key, t->client_ca };
	yaml_node_pair_t *p;
	unsigned seen = 0;
	char sub[128];
	size_t i;
	int k;

	if (m->type != YAML_MAPPING_NODE)
		return sb__yfail(y, m, "%s: expected a mapping of cert, key, client_ca", field);
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *v;

		k = sb__ykey(y, p, field, keys, 3, &seen, &v);
		if (k < 0)
			return -EINVAL;
		snprintf(sub, sizeof(sub), "%s.%s", field, keys[k]);
		if (sb__ypath(y, v, sub, dst[k], SB__TLS_PATH_MAX) < 0 ||
		    sb__yreadable(y, v, sub, dst[k]) < 0)
			return -EINVAL;
	}
	for (i = 0; i < 3; i++)
		if (!(seen & (1u << i)))
			return sb__yfail(y, m, "%s: missing %s (mutual TLS needs cert, key "
					 "and client_ca)", field, keys[i]);
	return 0;
}

/* "a.b.c.d:PORT" or "[v6]:PORT": literal addresses only, port 0..65535
 * (0: any free port, which the log then names). */
static int sb__ytcp_addr(const char *s, struct sb__addr *a)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	unsigned long port;
	size_t n;

	memset(a, 0, sizeof(*a));
	if (s[0] == '[') {
		colon = strstr(s, "]:");
		if (!colon)
			return -EINVAL;
		n = (size_t)(colon - s - 1);
		colon++;
		s++;
	} else {
		colon = strchr(s, ':');	/* IPv6 only in brackets */
		if (!colon || strchr(colon + 1, ':'))
			return -EINVAL;
		n = (size_t)(colon - s);
	}
	if (n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = 0;
	colon++;
	if (!colon[0] || strspn(colon, "0123456789") != strlen(colon) || strlen(colon) > 5)
		return -EINVAL;
	port = strtoul(colon, NULL, 10);
	if (port > 65535)
		return -EINVAL;
	a->port = (uint16_t)port;
	if (inet_pton(AF_INET, host, a->ip) == 1)
		a->kind = SB__ADDR_INET;
	else if (inet_pton(AF_INET6, host, a->ip) == 1)
		a->kind = SB__ADDR_INET6;
	else
		return -EINVAL;
	return 0;
}

static int sb__is_loopback(const struct sb__addr *a)
{
	static const uint8_t lo6[16] = { [15] = 1 };
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (a->kind == SB__ADDR_INET)
		return a->ip[0] == 127;
	return !memcmp(a->ip, lo6, 16) ||
	       (!memcmp(a->ip, mapped, sizeof(mapped)) && a->ip[12] == 127);
}

enum { SB__L_UNIX, SB__L_ABSTRACT, SB__L_TCP, SB__L_MODE, SB__L_OWNER, SB__L_GROUP,
       SB__L_IDENTITY, SB__L_TLS, SB__L_INSECURE, SB__L_COUNT };

/* A listener identity is written like a rule name: 1..63 of [A-Za-z0-9_.-]. */
static int sb__ident_word(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n < 1 || n > 63 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				     "0123456789_.-") != n)
		return 0;
	return 1;
}

static int sb__ylisten_one(struct sb__yctx *y, yaml_node_t *m, const char *field,
			   struct sb__config *c)
{
	static const char *const keys[SB__L_COUNT] = {
		"unix", "abstract", "tcp", "mode", "owner", "group", "identity", "tls",
		"insecure",
	};
	struct sb__listen_cfg l = { .mode = 0600 };
	struct sb__tcp_listen_cfg t;
	yaml_node_t *nodes[SB__L_COUNT] = { NULL };
	yaml_node_pair_t *p;
	unsigned seen = 0;
	char sub[96];
	int k, kinds;

	memset(&t, 0, sizeof(t));
	if (m->type != YAML_MAPPING_NODE)
		return sb__yfail(y, m, "%s: each entry is a mapping", field);
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *v;
		const char *val;
		uint32_t mode = 0600;
		int ret = 0;

		k = sb__ykey(y, p, field, keys, SB__L_COUNT, &seen, &v);
		if (k < 0)
			return -EINVAL;
		nodes[k] = v;
		val = sb__yscalar(v);
		snprintf(sub, sizeof(sub), "%s.%s", field, keys[k]);
		switch (k) {
		case SB__L_UNIX:
		case SB__L_ABSTRACT:
			if (!val || !val[0] || strlen(val) >= sizeof(l.path))
				return sb__yfail(y, v, "%s: a name of 1..107 bytes", sub);
			snprintf(l.path, sizeof(l.path), "%s", val);
			l.abstract = k == SB__L_ABSTRACT;
			break;
		case SB__L_TCP:
			if (!val || strlen(val) >= sizeof(t.text) || sb__ytcp_addr(val, &t.addr) < 0)
				return sb__yfail(y, v, "%s: expected \"A.B.C.D:PORT\" or "
						 "\"[IPV6]:PORT\" with a literal address and a "
						 "port 0..65535 (0: any free port)", sub);
			snprintf(t.text, sizeof(t.text), "%s", val);
			break;
		case SB__L_MODE:
			ret = sb__yuint(y, v, sub, 0, 0777, 8, &mode);
			l.mode = (mode_t)mode;
			break;
		case SB__L_OWNER:
			ret = sb__parse_uid(val, &l.owner);
			if (ret < 0)
				return sb__yfail(y, v, "%s: %s \"%.64s\"", sub, ret == -ENOENT ?
						 "no such user" : "expected a user name or uid",
						 val ? val : "");
			l.has_owner = 1;
			break;
		case SB__L_GROUP:
			ret = sb__parse_gid(val, &l.group);
			if (ret < 0)
				return sb__yfail(y, v, "%s: %s \"%.64s\"", sub, ret == -ENOENT ?
						 "no such group" : "expected a group name or gid",
						 val ? val : "");
			l.has_group = 1;
			break;
		case SB__L_IDENTITY:
			if (!sb__ident_word(val))
				return sb__yfail(y, v, "%s: 1..63 of A-Z a-z 0-9 _ . -", sub);
			snprintf(l.identity, sizeof(l.identity), "%s", val);
			break;
		case SB__L_TLS:
			ret = sb__ytls(y, v, sub, &t);
			break;
		default:
			ret = sb__ybool(y, v, sub, &t.insecure);
			break;
		}
		if (ret < 0)
			return -EINVAL;
	}
	kinds = !!nodes[SB__L_UNIX] + !!nodes[SB__L_ABSTRACT] + !!nodes[SB__L_TCP];
	if (kinds != 1)
		return sb__yfail(y, m, "%s: needs exactly one of unix, abstract, tcp", field);
	if (nodes[SB__L_UNIX] || nodes[SB__L_ABSTRACT]) {
		for (k = SB__L_TLS; k <= SB__L_INSECURE; k++)
			if (nodes[k])
				return sb__yfail(y, nodes[k], "%s.%s: only for tcp listeners",
						 field, keys[k]);
		for (k = SB__L_OWNER; nodes[SB__L_ABSTRACT] && k <= SB__L_GROUP; k++)
			if (nodes[k])
				return sb__yfail(y, nodes[k], "%s.%s: an abstract socket has "
						 "no file to own", field, keys[k]);
		/* Who may reach a socket file is what its directory lets in; an
		 * abstract name is open to the whole network namespace, so its
		 * callers would share the identity with anyone there. */
		if (nodes[SB__L_ABSTRACT] && nodes[SB__L_IDENTITY])
			return sb__yfail(y, nodes[SB__L_IDENTITY], "%s.identity: only for "
					 "unix listeners (anyone in the network namespace "
					 "reaches an abstract socket)", field);
		if (c->n_listen == SB__MAX_LISTENERS)
			return sb__yfail(y, m, "%s: more than %d Unix listeners", field,
					 SB__MAX_LISTENERS);
		c->listen[c->n_listen++] = l;
		return 0;
	}
	for (k = SB__L_MODE; k <= SB__L_IDENTITY; k++)
		if (nodes[k])
			return sb__yfail(y, nodes[k], "%s.%s: only for unix listeners%s", field,
					 keys[k], k == SB__L_IDENTITY ? " (a TCP caller's "
					 "identity is its certificate)" : "");
	if (nodes[SB__L_TLS] && t.insecure)
		return sb__yfail(y, nodes[SB__L_INSECURE], "%s.insecure: contradicts tls",
				 field);
	if (!nodes[SB__L_TLS] && !t.insecure)
		return sb__yfail(y, m, "%s: a TCP listener needs tls (cert, key, client_ca); "
				 "plaintext only with insecure: true on a loopback address",
				 field);
	if (t.insecure && !sb__is_loopback(&t.addr))
		return sb__yfail(y, nodes[SB__L_TCP], "%s.tcp: insecure: true is allowed "
				 "only on a loopback address (127.0.0.0/8, ::1), not %s",
				 field, t.text);
	if (c->n_tcp_listen == SB__MAX_LISTENERS)
		return sb__yfail(y, m, "%s: more than %d TCP listeners", field,
				 SB__MAX_LISTENERS);
	c->tcp_listen[c->n_tcp_listen++] = t;
	return 0;
}

static int sb__ylisten(struct sb__yctx *y, yaml_node_t *seq, struct sb__config *c)
{
	yaml_node_item_t *it;
	char field[32];

	if (seq->type != YAML_SEQUENCE_NODE)
		return sb__yfail(y, seq, "%s: expected a list", "listen");
	c->n_listen = 0;
	c->n_tcp_listen = 0;
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
		yaml_node_t *m = yaml_document_get_node(y->doc, *it);

		snprintf(field, sizeof(field), "listen[%zu]",
			 (size_t)(it - seq->data.sequence.items.start));
		if (!m)
			return sb__yfail(y, seq, "%s: missing", field);
		if (sb__ylisten_one(y, m, field, c) < 0)
			return -EINVAL;
	}
	return 0;
}

/* Every limit of the `limits:` section: its name, place, range, and
 * whether a reload can change it (the rest take a restart). */
static const struct sb__limit_field {
	const char *name;
	size_t off;
	unsigned long min, max;
	int at_restart;
} sb__limit_fields[] = {
	{ "max_sessions", offsetof(struct sb__limits, max_sessions), 1, 1000000, 0 },
	{ "max_sessions_per_uid", offsetof(struct sb__limits, max_sessions_per_uid), 1, 1000000, 0 },
	{ "max_sockets_per_session", offsetof(struct sb__limits, max_sockets_per_session), 1, 1000000, 0 },
	{ "max_sockets_per_uid", offsetof(struct sb__limits, max_sockets_per_uid), 1, 10000000, 0 },
	{ "max_pending_accepts", offsetof(struct sb__limits, max_pending_accepts), 1, 65536, 0 },
	{ "max_stream_bytes", offsetof(struct sb__limits, max_stream_bytes), 4096, 256u << 20, 0 },
	{ "max_message_bytes", offsetof(struct sb__limits, max_message_bytes), 65536, 64u << 20, 1 },
	{ "max_session_bytes", offsetof(struct sb__limits, max_session_bytes), 1u << 20, 4095u << 20, 0 },
	{ "max_identity_bytes", offsetof(struct sb__limits, max_identity_bytes), 1u << 20, 4095u << 20, 0 },
	{ "resolver_threads", offsetof(struct sb__limits, resolver_threads), 1, 64, 1 },
	{ "max_connections", offsetof(struct sb__limits, max_connections), 1, 1000000, 0 },
	{ "max_connections_per_uid", offsetof(struct sb__limits, max_connections_per_uid), 1, 1000000, 0 },
	{ "idle_connection_ms", offsetof(struct sb__limits, idle_connection_ms), 100, 86400000, 0 },
};

#define SB__N_LIMITS (sizeof(sb__limit_fields) / sizeof(sb__limit_fields[0]))

size_t sb__limit_count(void)
{
	return SB__N_LIMITS;
}

const char *sb__limit_name(size_t i)
{
	return i < SB__N_LIMITS ? sb__limit_fields[i].name : NULL;
}

uint32_t sb__limit_value(const struct sb__limits *l, size_t i)
{
	uint32_t v = 0;

	if (i < SB__N_LIMITS)
		memcpy(&v, (const char *)l + sb__limit_fields[i].off, sizeof(v));
	return v;
}

int sb__limit_at_restart(size_t i)
{
	return i < SB__N_LIMITS && sb__limit_fields[i].at_restart;
}

static int sb__ylimits(struct sb__yctx *y, yaml_node_t *m, struct sb__limits *l)
{
	const struct sb__limit_field *f = sb__limit_fields;
	const char *keys[SB__N_LIMITS];
	yaml_node_pair_t *p;
	unsigned seen = 0;
	size_t i;

	if (m->type != YAML_MAPPING_NODE)
		return sb__yfail(y, m, "%s: expected a mapping", "limits");
	for (i = 0; i < SB__N_LIMITS; i++)
		keys[i] = f[i].name;
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *v;
		char field[80];
		int k = sb__ykey(y, p, "limits", keys, SB__N_LIMITS, &seen, &v);

		if (k < 0)
			return -EINVAL;
		snprintf(field, sizeof(field), "limits.%s", f[k].name);
		if (sb__yuint(y, v, field, f[k].min, f[k].max, 10,
			      (uint32_t *)((char *)l + f[k].off)) < 0)
			return -EINVAL;
	}
	return 0;
}

static int sb__ylog_level(struct sb__yctx *y, yaml_node_t *v, int *level)
{
	static const char *const lv[] = { "error", "warning", "info", "debug" };
	const char *s = sb__yscalar(v);
	int i;

	for (i = 0; s && i < 4; i++) {
		if (!strcmp(s, lv[i])) {
			*level = i;
			return 0;
		}
	}
	return sb__yfail(y, v, "%s: one of error, warning, info, debug", "log_level");
}

/* confine.user: a user of the passwd database (name or uid), whose
 * primary group the broker takes too. Root is refused: it would undo
 * the point of naming a user. */
static int sb__yuser(struct sb__yctx *y, yaml_node_t *v, struct sb__confine_cfg *c)
{
	const char *s = sb__yscalar(v);
	struct passwd pw, *res = NULL;
	char buf[4096];
	uid_t uid;

	if (!s || strlen(s) >= sizeof(c->user) || sb__parse_uid(s, &uid) < 0 ||
	    getpwuid_r(uid, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return sb__yfail(y, v, "%s: no such user \"%.64s\" (a name or uid of "
				 "the passwd database)", "confine.user", s ? s : "");
	if (pw.pw_uid == 0)
		return sb__yfail(y, v, "%s: root is no dedicated user", "confine.user");
	c->has_user = 1;
	c->uid = pw.pw_uid;
	c->gid = pw.pw_gid;
	snprintf(c->user, sizeof(c->user), "%s", s);
	return 0;
}

static int sb__yconfine(struct sb__yctx *y, yaml_node_t *m, struct sb__confine_cfg *c)
{
	static const char *const keys[] = { "user", "seccomp", "credentials" };
	yaml_node_pair_t *p;
	unsigned seen = 0;

	if (m->type != YAML_MAPPING_NODE)
		return sb__yfail(y, m, "%s: expected a mapping of user, seccomp, credentials",
				 "confine");
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *v;
		int k = sb__ykey(y, p, "confine", keys, 3, &seen, &v), ret;

		if (k < 0)
			return -EINVAL;
		if (k == 0)
			ret = sb__yuser(y, v, c);
		else if (k == 1)
			ret = sb__ybool(y, v, "confine.seccomp", &c->seccomp);
		else
			ret = sb__ybool(y, v, "confine.credentials", &c->credentials);
		if (ret < 0)
			return -EINVAL;
	}
	return 0;
}

/* metrics: { listen: "127.0.0.1:9464", allow_remote: false } */
static int sb__ymetrics(struct sb__yctx *y, yaml_node_t *m, struct sb__metrics_cfg *c)
{
	static const char *const keys[] = { "listen", "allow_remote" };
	yaml_node_t *listen = NULL;
	yaml_node_pair_t *p;
	unsigned seen = 0;
	struct sb__metrics_cfg n;

	memset(&n, 0, sizeof(n));
	if (m->type != YAML_MAPPING_NODE)
		return sb__yfail(y, m, "%s: expected a mapping of listen, allow_remote",
				 "metrics");
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *v;
		int k = sb__ykey(y, p, "metrics", keys, 2, &seen, &v);
		const char *val;

		if (k < 0)
			return -EINVAL;
		if (k == 1) {
			if (sb__ybool(y, v, "metrics.allow_remote", &n.allow_remote) < 0)
				return -EINVAL;
			continue;
		}
		val = sb__yscalar(v);
		if (!val || strlen(val) >= sizeof(n.text) || sb__ytcp_addr(val, &n.addr) < 0)
			return sb__yfail(y, v, "%s: expected \"A.B.C.D:PORT\" or \"[IPV6]:PORT\" "
					 "with a literal address and a port 0..65535 (0: any "
					 "free port)", "metrics.listen");
		snprintf(n.text, sizeof(n.text), "%s", val);
		listen = v;
	}
	if (!listen)
		return sb__yfail(y, m, "%s: missing listen (\"127.0.0.1:9464\", say)", "metrics");
	/* The page has no authentication and names every identity and rule:
	 * off the host only when the operator says so. */
	if (!sb__is_loopback(&n.addr) && !n.allow_remote)
		return sb__yfail(y, listen, "%s: \"%s\" is not a loopback address; the "
				 "page is plaintext without authentication and names every "
				 "identity and rule: set allow_remote: true to serve it there",
				 "metrics.listen", n.text);
	n.enabled = 1;
	*c = n;
	return 0;
}

/* The top level of the document, into @c (a copy of the caller's). */
static int sb__ydoc(struct sb__yctx *y, yaml_node_t *root, struct sb__config *c,
		    struct sb__policy **policy)
{
	static const char *const keys[] = { "listen", "limits", "log_level", "policy",
					    "confine", "metrics" };
	yaml_node_pair_t *p;
	unsigned seen = 0;
	int ret;

	/* Sections absent from the file keep @c's values (a copy of the
	 * caller's); listen, when present, replaces both listener lists. */
	if (root->type != YAML_MAPPING_NODE)
		return sb__yfail(y, root, "%s: the file is a mapping of sections "
				 "(listen, limits, log_level, policy, confine, metrics)",
				 "top level");
	for (p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
		yaml_node_t *v;
		int k = sb__ykey(y, p, "", keys, 6, &seen, &v);

		if (k < 0)
			return -EINVAL;
		switch (k) {
		case 0:
			ret = sb__ylisten(y, v, c);
			break;
		case 1:
			ret = sb__ylimits(y, v, &c->limits);
			break;
		case 2:
			ret = sb__ylog_level(y, v, &c->log_level);
			break;
		case 4:
			ret = sb__yconfine(y, v, &c->confine);
			break;
		case 5:
			ret = sb__ymetrics(y, v, &c->metrics);
			break;
		default:
			ret = sb__policy_from_yaml(y->doc, v, "policy", policy, y->err,
						   y->errlen);
			break;
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

int sb__config_load(struct sb__config *cfg, const char *path, char *err,
		    size_t errlen)
{
	struct sb__config c = *cfg;
	struct sb__policy *policy = NULL;
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	struct sb__yctx y = { &doc, err, errlen };
	yaml_node_t *root;
	FILE *f;
	int ret = -EINVAL;

	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		return ret;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	ret = sb__yaml_check_depth(&parser, err, errlen);
	yaml_parser_delete(&parser);
	if (ret < 0) {
		fclose(f);
		return ret;
	}
	ret = -EINVAL;
	rewind(f);
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "line %zu: %s", parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "YAML syntax error");
		goto out_parser;
	}
	root = yaml_document_get_root_node(&doc);
	if (root) {
		ret = sb__yaml_check_nul(&doc, err, errlen);
		if (ret == 0)
			ret = sb__ydoc(&y, root, &c, &policy);
		if (ret < 0)
			goto out_doc;
		/* A second document is a mistake (two files pasted together). */
		if (!yaml_parser_load(&parser, &extra)) {
			ret = -EINVAL;
			snprintf(err, errlen, "line %zu: %s", parser.problem_mark.line + 1,
				 parser.problem ? parser.problem : "YAML syntax error");
			goto out_doc;
		}
		if (yaml_document_get_root_node(&extra)) {
			ret = sb__yfail(&y, yaml_document_get_root_node(&extra), "%s: a second "
					"YAML document; the file holds one", "top level");
			yaml_document_delete(&extra);
			goto out_doc;
		}
		yaml_document_delete(&extra);
	}
	if (policy) {
		sb__policy_free(cfg->policy);
		c.policy = policy;
		policy = NULL;
	}
	*cfg = c;
	ret = 0;
out_doc:
	sb__policy_free(policy);
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	fclose(f);
	return ret;
}
