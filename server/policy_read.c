/* SPDX-License-Identifier: MIT
 * policy_read.c - the `policy:` section of the YAML file (or a rule list
 * given alone) -> a built policy. Every rule is checked as a whole; errors
 * name the line and the field. Users and groups are resolved here, at load
 * time, never on a call's path.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <yaml.h>

#include "consts.h"
#include "policy_read.h"
#include "policy_rules.h"
#include "yamlread.h"

/* ---- names and numbers ------------------------------------------------ */

/* Decimal digits only (no sign, no spaces), at most @max. */
static int sb__digits(const char *s, size_t len, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (!len || len > 10)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int sb__all_digits(const char *s)
{
	return s[0] && strspn(s, "0123456789") == strlen(s);
}

/*
 * A numeric id (0..4294967294), or the first step of a name: Return: 0
 * with *@out set, 1 when @s is a name to look up, or -EINVAL.
 */
static int sb__parse_numeric_id(const char *s, unsigned long *out)
{
	if (!s || !s[0])
		return -EINVAL;
	if (sb__all_digits(s))
		return sb__digits(s, strlen(s), 4294967294ul, out) < 0 ? -EINVAL : 0;
	return strlen(s) > 255 ? -EINVAL : 1;
}

int sb__parse_uid(const char *s, uid_t *out)
{
	struct passwd pw, *res = NULL;
	unsigned long v;
	char *buf;
	int ret = sb__parse_numeric_id(s, &v);

	if (ret <= 0) {
		if (ret == 0)
			*out = (uid_t)v;
		return ret;
	}
	buf = malloc(16384);
	if (!buf)
		return -ENOMEM;
	ret = getpwnam_r(s, &pw, buf, 16384, &res);
	if (!ret && res)
		*out = pw.pw_uid;
	free(buf);
	return !ret && res ? 0 : -ENOENT;
}

int sb__parse_gid(const char *s, gid_t *out)
{
	struct group gr, *res = NULL;
	unsigned long v;
	char *buf;
	int ret = sb__parse_numeric_id(s, &v);

	if (ret <= 0) {
		if (ret == 0)
			*out = (gid_t)v;
		return ret;
	}
	/* Group entries list their members: a larger buffer. */
	buf = malloc(65536);
	if (!buf)
		return -ENOMEM;
	ret = getgrnam_r(s, &gr, buf, 65536, &res);
	if (!ret && res)
		*out = gr.gr_gid;
	free(buf);
	return !ret && res ? 0 : -ENOENT;
}

/* ---- reading rules from YAML ------------------------------------------ */

/* A list field: a sequence of 1..SB__POL_MAX_LIST entries, or one scalar. */
static int sb__plist(struct sb__yctx *y, yaml_node_t *n, const char *field, size_t *count)
{
	size_t c;

	if (n->type == YAML_SCALAR_NODE) {
		*count = 1;
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return sb__yfail(y, n, "%s: expected a value or a list of values", field);
	c = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (!c)
		return sb__yfail(y, n, "%s: empty list (leave the field out instead)", field);
	if (c > SB__POL_MAX_LIST)
		return sb__yfail(y, n, "%s: more than %d entries", field, SB__POL_MAX_LIST);
	*count = c;
	return 0;
}

/* Entry @i of a list field, which must be a scalar; NULL after an error. */
static const char *sb__pitem(struct sb__yctx *y, yaml_node_t *n, size_t i, const char *field,
			     yaml_node_t **node)
{
	yaml_node_t *it = n;
	const char *s;

	if (n->type == YAML_SEQUENCE_NODE)
		it = yaml_document_get_node(y->doc, n->data.sequence.items.start[i]);
	*node = it ? it : n;
	s = sb__yscalar(it);
	if (!s)
		sb__yfail(y, *node, "%s: entries are single values, not lists or mappings",
			  field);
	return s;
}

static int sb__pcidr(const char *s, struct sb__cidr *c, const char **why)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char buf[64], *slash;
	unsigned long prefix;
	unsigned bits, i;

	*why = "not an IP address or CIDR";
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", s);
	slash = strchr(buf, '/');
	if (slash)
		*slash++ = 0;
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, buf, c->ip) == 1)
		bits = 32;
	else if (inet_pton(AF_INET6, buf, c->ip) == 1)
		bits = 128;
	else
		return -EINVAL;
	c->v6 = bits == 128;
	prefix = bits;
	if (slash && sb__digits(slash, strlen(slash), bits, &prefix) < 0) {
		*why = c->v6 ? "prefix length is not 0..128" : "prefix length is not 0..32";
		return -EINVAL;
	}
	c->prefix = (unsigned)prefix;
	for (i = c->prefix; i < bits; i++) {
		if (c->ip[i / 8] & (0x80u >> (i % 8))) {
			*why = "address has bits set beyond the prefix length";
			return -EINVAL;
		}
	}
	/* An IPv4-mapped range is IPv4 for the kernel: store it as such. */
	if (c->v6 && c->prefix >= 96 && !memcmp(c->ip, mapped, sizeof(mapped))) {
		memmove(c->ip, c->ip + 12, 4);
		memset(c->ip + 4, 0, 12);
		c->v6 = 0;
		c->prefix -= 96;
	}
	return 0;
}

/* "unix:/path/prefix": absolute and clean; a trailing '/' is dropped. */
static int sb__pux(const char *s, struct sb__uxpfx *u, const char **why)
{
	size_t n;

	memset(u, 0, sizeof(*u));
	if (!strncmp(s, "unix-abstract:", 14)) {
		s += 14;
		u->abstract = 1;
	} else {
		s += 5;
	}
	n = strlen(s);
	*why = "name longer than 107 bytes";
	if (n > SB__UNIX_NAME_MAX)
		return -EINVAL;
	if (!u->abstract) {
		while (n > 1 && s[n - 1] == '/')
			n--;
		*why = "path prefix must be absolute, without //, . or .. components";
		if (!sb__path_clean((const uint8_t *)s, n))
			return -EINVAL;
	}
	memcpy(u->s, s, n);
	u->len = n;
	return 0;
}

static int sb__palist(struct sb__yctx *y, yaml_node_t *v, const char *field,
		      struct sb__alist *l)
{
	yaml_node_t *it;
	const char *s, *why;
	size_t i, n;

	if (sb__plist(y, v, field, &n) < 0)
		return -EINVAL;
	l->cidr = calloc(n, sizeof(*l->cidr));
	l->ux = calloc(n, sizeof(*l->ux));
	if (!l->cidr || !l->ux)
		return sb__ynomem(y, v);
	for (i = 0; i < n; i++) {
		s = sb__pitem(y, v, i, field, &it);
		if (!s)
			return -EINVAL;
		if (!strncmp(s, "unix:", 5) || !strncmp(s, "unix-abstract:", 14)) {
			if (sb__pux(s, &l->ux[l->n_ux], &why) < 0)
				return sb__yfail(y, it, "%s: bad Unix address \"%.80s\": %s",
						 field, s, why);
			l->n_ux++;
		} else {
			if (sb__pcidr(s, &l->cidr[l->n_cidr], &why) < 0)
				return sb__yfail(y, it, "%s: bad CIDR \"%.80s\": %s", field, s,
						 why);
			l->n_cidr++;
		}
	}
	return 0;
}

static int sb__pports(struct sb__yctx *y, yaml_node_t *v, const char *field,
		      struct sb__rule *r)
{
	unsigned long lo, hi;
	yaml_node_t *it;
	const char *s, *dash;
	size_t i, n;

	if (sb__plist(y, v, field, &n) < 0)
		return -EINVAL;
	r->ports = calloc(n, sizeof(*r->ports));
	if (!r->ports)
		return sb__ynomem(y, v);
	for (i = 0; i < n; i++) {
		s = sb__pitem(y, v, i, field, &it);
		if (!s)
			return -EINVAL;
		dash = strchr(s, '-');
		if (dash) {
			if (sb__digits(s, (size_t)(dash - s), 65535, &lo) < 0 ||
			    sb__digits(dash + 1, strlen(dash + 1), 65535, &hi) < 0 || lo > hi)
				return sb__yfail(y, it, "%s: bad port range \"%.80s\" "
						 "(expected LOW-HIGH within 0-65535)", field, s);
		} else if (sb__digits(s, strlen(s), 65535, &lo) < 0) {
			return sb__yfail(y, it, "%s: bad port range \"%.80s\" "
					 "(expected a port 0-65535 or LOW-HIGH)", field, s);
		} else {
			hi = lo;
		}
		r->ports[i].lo = (unsigned)lo;
		r->ports[i].hi = (unsigned)hi;
		r->n_ports++;
	}
	return 0;
}

static int sb__popts(struct sb__yctx *y, yaml_node_t *v, const char *field,
		     struct sb__rule *r)
{
	static const struct {
		const char *prefix;
		int level;
		enum sb__cfam fam;
	} lv[] = {	/* IPV6_ before IP_: the longer prefix first */
		{ "SO_", SOL_SOCKET, SB__C_SO },     { "TCP_", IPPROTO_TCP, SB__C_TCP },
		{ "IPV6_", IPPROTO_IPV6, SB__C_IPV6 }, { "IP_", IPPROTO_IP, SB__C_IP },
		{ "UDP_", IPPROTO_UDP, SB__C_UDP },
	};
	yaml_node_t *it;
	const char *s;
	size_t i, j, n;
	int native;

	if (sb__plist(y, v, field, &n) < 0)
		return -EINVAL;
	r->opts = calloc(n, sizeof(*r->opts));
	if (!r->opts)
		return sb__ynomem(y, v);
	for (i = 0; i < n; i++) {
		s = sb__pitem(y, v, i, field, &it);
		if (!s)
			return -EINVAL;
		for (j = 0; j < SB__N(lv); j++)
			if (!strncasecmp(s, lv[j].prefix, strlen(lv[j].prefix)))
				break;
		if (j == SB__N(lv) || sb__const_by_name(lv[j].fam, s, &native) < 0)
			return sb__yfail(y, it, "%s: unknown socket option \"%.80s\" (expected "
					 "a name such as SO_REUSEADDR, TCP_NODELAY, IP_TOS, "
					 "IPV6_V6ONLY)", field, s);
		r->opts[i].level = lv[j].level;
		r->opts[i].name = native;
		r->n_opts++;
	}
	return 0;
}

/* families (SB__C_AF) or types (SB__C_SOCK), by name, "AF_"/"SOCK_" optional. */
static int sb__pconsts(struct sb__yctx *y, yaml_node_t *v, const char *field,
		       enum sb__cfam fam, int **out, size_t *count)
{
	yaml_node_t *it;
	const char *s;
	size_t i, n;
	int native;

	if (sb__plist(y, v, field, &n) < 0)
		return -EINVAL;
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return sb__ynomem(y, v);
	for (i = 0; i < n; i++) {
		s = sb__pitem(y, v, i, field, &it);
		if (!s)
			return -EINVAL;
		if (sb__const_by_name(fam, s, &native) < 0 || native == 0)
			return sb__yfail(y, it, "%s: unknown %s \"%.80s\"", field,
					 fam == SB__C_AF ? "address family (e.g. inet, inet6, "
							   "unix)"
							 : "socket type (e.g. stream, dgram, "
							   "seqpacket, raw)", s);
		(*out)[(*count)++] = native;
	}
	return 0;
}

static int sb__pops(struct sb__yctx *y, yaml_node_t *v, const char *field, unsigned *ops)
{
	yaml_node_t *it;
	const char *s;
	size_t i, n;
	unsigned o;

	if (sb__plist(y, v, field, &n) < 0)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		s = sb__pitem(y, v, i, field, &it);
		if (!s)
			return -EINVAL;
		/* The earlier name of handoff, still read. */
		if (!strcasecmp(s, "fdpass"))
			s = sb__pol_op_name(SB__POL_HANDOFF);
		for (o = 0; o < SB__POL_COUNT; o++)
			if (!strcasecmp(s, sb__pol_op_name((enum sb__pol_op)o)))
				break;
		if (o == SB__POL_COUNT)
			return sb__yfail(y, it, "%s: unknown operation \"%.80s\" (expected socket, "
					 "connect, bind, listen, accept, sendto, resolve, "
					 "ifaddrs, watch, setsockopt, handoff)", field, s);
		*ops |= SB__OPBIT(o);
	}
	return 0;
}

static int sb__pstrs(struct sb__yctx *y, yaml_node_t *v, const char *field, int cgroup,
		     char ***out, size_t *count)
{
	yaml_node_t *it;
	const char *s;
	size_t i, n, len;

	if (sb__plist(y, v, field, &n) < 0)
		return -EINVAL;
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return sb__ynomem(y, v);
	for (i = 0; i < n; i++) {
		s = sb__pitem(y, v, i, field, &it);
		if (!s)
			return -EINVAL;
		len = strlen(s);
		if (!len || len > SB__POL_TEXT_MAX)
			return sb__yfail(y, it, "%s: expected 1..%d bytes", field,
					 SB__POL_TEXT_MAX);
		if (cgroup) {
			if (s[0] != '/')
				return sb__yfail(y, it, "%s: a cgroup prefix is an absolute "
						 "path such as /system.slice/app.service", field);
			while (len > 1 && s[len - 1] == '/')
				len--;
		}
		(*out)[i] = strndup(s, len);
		if (!(*out)[i])
			return sb__ynomem(y, it);
		(*count)++;
	}
	return 0;
}

static int sb__pids(struct sb__yctx *y, yaml_node_t *v, const char *field, int group,
		    struct sb__rule *r)
{
	yaml_node_t *it;
	const char *s;
	size_t i, n;
	int ret;

	if (sb__plist(y, v, field, &n) < 0)
		return -EINVAL;
	if (group)
		r->gids = calloc(n, sizeof(*r->gids));
	else
		r->uids = calloc(n, sizeof(*r->uids));
	if (group ? !r->gids : !r->uids)
		return sb__ynomem(y, v);
	for (i = 0; i < n; i++) {
		s = sb__pitem(y, v, i, field, &it);
		if (!s)
			return -EINVAL;
		ret = group ? sb__parse_gid(s, &r->gids[r->n_gids])
			    : sb__parse_uid(s, &r->uids[r->n_uids]);
		if (ret == -ENOMEM)
			return sb__ynomem(y, it);
		if (ret == -ENOENT)
			return sb__yfail(y, it, "%s: no such %s \"%.80s\"", field,
					 group ? "group" : "user", s);
		if (ret < 0)
			return sb__yfail(y, it, "%s: bad %s \"%.80s\" (expected 0..4294967294 "
					 "or a name)", field, group ? "gid" : "uid", s);
		if (group)
			r->n_gids++;
		else
			r->n_uids++;
	}
	return 0;
}

static int sb__pmatch(struct sb__yctx *y, yaml_node_t *m, const char *pfx, struct sb__rule *r)
{
	static const char *const keys[] = { "uid", "gid", "cgroup", "subject", "san",
					    "listener", "any" };
	char field[96];
	yaml_node_pair_t *p;
	unsigned seen = 0;
	int k, ret;

	snprintf(field, sizeof(field), "%s.match", pfx);
	if (m->type != YAML_MAPPING_NODE)
		return sb__yfail(y, m, "%s: expected a mapping (uid, gid, cgroup, subject, "
				 "san, listener or any)", field);
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *v;
		char sub[128];
		const char *s;

		k = sb__ykey(y, p, field, keys, SB__N(keys), &seen, &v);
		if (k < 0)
			return -EINVAL;
		snprintf(sub, sizeof(sub), "%s.%s", field, keys[k]);
		switch (k) {
		case 0:
		case 1:
			ret = sb__pids(y, v, sub, k == 1, r);
			break;
		case 2:
			ret = sb__pstrs(y, v, sub, 1, &r->cgroups, &r->n_cgroups);
			break;
		case 3:
			ret = sb__pstrs(y, v, sub, 0, &r->subjects, &r->n_subjects);
			break;
		case 4:
			ret = sb__pstrs(y, v, sub, 0, &r->sans, &r->n_sans);
			break;
		case 5:
			ret = sb__pstrs(y, v, sub, 0, &r->listeners, &r->n_listeners);
			break;
		default:
			s = sb__yscalar(v);
			ret = 0;
			if (!s || strcmp(s, "true"))
				ret = sb__yfail(y, v, "%s: only `any: true` is meaningful", sub);
			r->any = 1;
			break;
		}
		if (ret < 0)
			return ret;
	}
	if (!seen)
		return sb__yfail(y, m, "%s: empty (use `any: true` to match every caller)",
				 field);
	if (r->any && seen != (1u << 6))
		return sb__yfail(y, m, "%s: `any` cannot be combined with other keys", field);
	return 0;
}

enum {
	SB__K_NAME, SB__K_ACTION, SB__K_MATCH, SB__K_OPS, SB__K_FAMILIES, SB__K_TYPES,
	SB__K_DEST, SB__K_BIND, SB__K_PORTS, SB__K_SOCKOPTS, SB__K_COUNT
};

static const char *const sb__rule_keys[SB__K_COUNT] = {
	"name", "action", "match", "ops", "families", "types", "destinations", "bind",
	"ports", "sockopts",
};

/* The operations each constraint speaks about (policy.h rule 3). */
static unsigned sb__key_ops(int k)
{
	switch (k) {
	case SB__K_FAMILIES:
	case SB__K_TYPES:
		return SB__OPS_SOCK;
	case SB__K_DEST:
		return SB__OPS_DEST;
	case SB__K_BIND:
		return SB__OPS_BIND;
	case SB__K_PORTS:
		return SB__OPS_PORTS;
	case SB__K_SOCKOPTS:
		return SB__OPS_OPTS;
	default:
		return 0;
	}
}

static int sb__pname(struct sb__yctx *y, yaml_node_t *v, const char *field, struct sb__rule *r)
{
	const char *s = sb__yscalar(v);
	size_t n = s ? strlen(s) : 0;

	if (!n || n >= sizeof(r->name) ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
		return sb__yfail(y, v, "%s: 1..63 letters, digits, '_', '.' or '-'", field);
	if (!strcmp(s, "default"))
		return sb__yfail(y, v, "%s: \"default\" is reserved for the implicit "
				 "final deny", field);
	memcpy(r->name, s, n + 1);
	return 0;
}

static int sb__prule(struct sb__yctx *y, yaml_node_t *m, const char *pfx, struct sb__rule *r)
{
	yaml_node_t *nodes[SB__K_COUNT] = { NULL };
	char field[128];
	yaml_node_pair_t *p;
	unsigned seen = 0, explicit_ops = 0, implied = 0;
	const char *s;
	int k, ret = 0;

	if (m->type != YAML_MAPPING_NODE)
		return sb__yfail(y, m, "%s: each rule is a mapping with name, match, action",
				 pfx);
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *v;

		k = sb__ykey(y, p, pfx, sb__rule_keys, SB__K_COUNT, &seen, &v);
		if (k < 0)
			return -EINVAL;
		nodes[k] = v;
		snprintf(field, sizeof(field), "%s.%s", pfx, sb__rule_keys[k]);
		switch (k) {
		case SB__K_NAME:
			ret = sb__pname(y, v, field, r);
			break;
		case SB__K_ACTION:
			s = sb__yscalar(v);
			if (s && !strcmp(s, "allow"))
				r->allow = 1;
			else if (!s || strcmp(s, "deny"))
				ret = sb__yfail(y, v, "%s: allow or deny", field);
			break;
		case SB__K_MATCH:
			ret = sb__pmatch(y, v, pfx, r);
			break;
		case SB__K_OPS:
			ret = sb__pops(y, v, field, &explicit_ops);
			break;
		case SB__K_FAMILIES:
			ret = sb__pconsts(y, v, field, SB__C_AF, &r->families, &r->n_families);
			break;
		case SB__K_TYPES:
			ret = sb__pconsts(y, v, field, SB__C_SOCK, &r->types, &r->n_types);
			break;
		case SB__K_DEST:
			ret = sb__palist(y, v, field, &r->dest);
			break;
		case SB__K_BIND:
			ret = sb__palist(y, v, field, &r->bind);
			break;
		case SB__K_PORTS:
			ret = sb__pports(y, v, field, r);
			break;
		default:
			ret = sb__popts(y, v, field, r);
			break;
		}
		if (ret < 0)
			return ret;
	}
	for (k = SB__K_NAME; k <= SB__K_MATCH; k++)
		if (!nodes[k])
			return sb__yfail(y, m, "%s: missing field \"%s\"", pfx, sb__rule_keys[k]);
	/*
	 * The operation set: explicit, or implied by the constraints. Ports
	 * narrow the address lists' operations when there are some, so that
	 * destinations + ports does not also allow binding those ports.
	 */
	if (nodes[SB__K_DEST])
		implied |= SB__OPS_DEST;
	if (nodes[SB__K_BIND])
		implied |= SB__OPS_BIND;
	if (nodes[SB__K_PORTS] && !implied)
		implied = SB__OPS_PORTS;
	if (nodes[SB__K_SOCKOPTS])
		implied |= SB__OPS_OPTS;
	if (!implied)
		implied = nodes[SB__K_FAMILIES] || nodes[SB__K_TYPES] ? SB__OPS_SOCK
								      : SB__OPS_ALL;
	r->ops = nodes[SB__K_OPS] ? explicit_ops : implied;
	/* A constraint that speaks about none of the listed ops is a mistake. */
	for (k = SB__K_FAMILIES; nodes[SB__K_OPS] && k < SB__K_COUNT; k++)
		if (nodes[k] && !(sb__key_ops(k) & r->ops))
			return sb__yfail(y, nodes[k], "%s.%s: concerns none of the operations "
					 "in %s.ops", pfx, sb__rule_keys[k], pfx);
	return 0;
}

int sb__policy_from_yaml(yaml_document_t *doc, yaml_node_t *seq, const char *field,
			 struct sb__policy **out, char *err, size_t errlen)
{
	struct sb__yctx y = { doc, err, errlen };
	struct sb__policy *p;
	size_t i, j, n;
	int ret;

	if (seq->type != YAML_SEQUENCE_NODE)
		return sb__yfail(&y, seq, "%s: expected a list of rules", field);
	n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (n > SB__POL_MAX_RULES)
		return sb__yfail(&y, seq, "%s: more than %d rules", field, SB__POL_MAX_RULES);
	p = sb__policy_alloc(n);
	if (!p)
		return sb__ynomem(&y, seq);
	for (i = 0; i < n; i++) {
		yaml_node_t *m = yaml_document_get_node(doc, seq->data.sequence.items.start[i]);
		char pfx[64];

		snprintf(pfx, sizeof(pfx), "%s[%zu]", field, i);
		p->n = i + 1;	/* so that a half-built rule is released too */
		ret = m ? sb__prule(&y, m, pfx, &p->rules[i])
			: sb__yfail(&y, seq, "%s: missing", pfx);
		if (ret < 0)
			goto fail;
		for (j = 0; j < i; j++) {
			if (!strcmp(p->rules[j].name, p->rules[i].name)) {
				ret = sb__yfail(&y, m, "%s.name: \"%s\" is also the name of %s[%zu]",
						pfx, p->rules[i].name, field, j);
				goto fail;
			}
		}
	}
	*out = p;
	return 0;
fail:
	sb__policy_free(p);
	return ret;
}

int sb__policy_parse(const char *text, size_t len, struct sb__policy **out,
		     char *err, size_t errlen)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	int ret = -EINVAL;

	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	ret = sb__yaml_check_depth(&parser, err, errlen);
	yaml_parser_delete(&parser);
	if (ret < 0)
		return ret;
	ret = -EINVAL;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errlen, "line %zu: %s", parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "YAML syntax error");
		goto out_parser;
	}
	root = yaml_document_get_root_node(&doc);
	if (!root)
		snprintf(err, errlen, "line 1: policy: empty document");
	else if (sb__yaml_check_nul(&doc, err, errlen) == 0)
		ret = sb__policy_from_yaml(&doc, root, "policy", out, err, errlen);
	yaml_document_delete(&doc);
out_parser:
	yaml_parser_delete(&parser);
	return ret;
}
