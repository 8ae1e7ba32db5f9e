/* SPDX-License-Identifier: MIT
 * policy.c - the policy engine: the built policy (its references, the
 * embedded default) and the first-match decision for one request. The
 * contract is written in policy.h; this file keeps the tables of what must
 * be named (raw/packet sockets, privileged options and values) in one
 * place. Rules are read from YAML by policy_read.c.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "consts.h"
#include "policy.h"
#include "policy_rules.h"

/* ---- what only a rule naming it may allow (policy.h rule 6) ---------- */

/* The families an allow rule covers without naming them; every other
 * (AF_PACKET: link-layer frames, AF_NETLINK: the kernel's configuration
 * interface, and the rarer ones, AF_ALG, AF_VSOCK, AF_KEY..., each more
 * kernel code in reach of a caller) needs a rule naming it. 0: a request
 * that concerns no socket family. */
static const int sb__plain_families[] = { 0, AF_UNIX, AF_INET, AF_INET6 };

static const int sb__named_types[] = {
	SOCK_RAW,    /* hand-made IP headers, every protocol's traffic */
	SOCK_PACKET, /* the obsolete packet interface */
};

/*
 * When setting an option takes a privilege. The kernel checks the
 * broker's capabilities (CAP_NET_ADMIN, CAP_NET_RAW), not the caller's, so
 * the policy checks instead: these need a rule that names the option.
 */
enum sb__when {
	SB__W_ALWAYS,   /* any value */
	SB__W_OUTSIDE,  /* an int value outside lo..hi (no int: always) */
	SB__W_RAISE,    /* an int value above the socket's current one */
	SB__W_NONZERO,  /* a value with a non-zero byte (selects something) */
};

struct sb__named_opt {
	int level, name;
	enum sb__when when;
	int lo, hi;
	unsigned need;  /* SB__NEED_* the kernel checks for it, or 0 */
};

/*
 * One line per option the kernel refuses an unprivileged process (or
 * that picks a device, a source address or a path the policy did not see:
 * DESIGN.md, security rules). Walked by it_policy_privileged as uid 65534.
 * The last column is the capability the kernel checks for it, which the
 * broker keeps after start-up only when a rule names the option
 * (sb__policy_needs(), isolation.c); 0: the kernel checks none, the
 * option is named-only for the policy's sake.
 */
static const struct sb__named_opt sb__named_opts[] = {
	/* SOL_SOCKET */
	{ SOL_SOCKET, SO_DEBUG, SB__W_OUTSIDE, 0, 0, SB__NEED_NET_ADMIN },         /* CAP_NET_ADMIN */
	{ SOL_SOCKET, SO_SNDBUFFORCE, SB__W_ALWAYS, 0, 0, SB__NEED_NET_ADMIN },    /* CAP_NET_ADMIN */
	{ SOL_SOCKET, SO_RCVBUFFORCE, SB__W_ALWAYS, 0, 0, SB__NEED_NET_ADMIN },    /* CAP_NET_ADMIN */
	{ SOL_SOCKET, SO_PRIORITY, SB__W_OUTSIDE, 0, 6, SB__NEED_NET_ADMIN },      /* above 6: CAP_NET_ADMIN */
	{ SOL_SOCKET, SO_MARK, SB__W_ALWAYS, 0, 0, SB__NEED_NET_ADMIN },           /* policy routing, firewall */
	{ SOL_SOCKET, SO_BINDTODEVICE, SB__W_ALWAYS, 0, 0, SB__NEED_NET_RAW },   /* leave the routing the policy saw */
#ifdef SO_BINDTOIFINDEX
	{ SOL_SOCKET, SO_BINDTOIFINDEX, SB__W_ALWAYS, 0, 0, SB__NEED_NET_RAW },  /* the same, by index */
#endif
	{ SOL_SOCKET, SO_BUSY_POLL, SB__W_RAISE, 0, 0, SB__NEED_NET_ADMIN },       /* raising: CAP_NET_ADMIN */
#ifdef SO_PREFER_BUSY_POLL
	{ SOL_SOCKET, SO_PREFER_BUSY_POLL, SB__W_OUTSIDE, 0, 0, SB__NEED_NET_ADMIN }, /* CAP_NET_ADMIN */
	{ SOL_SOCKET, SO_BUSY_POLL_BUDGET, SB__W_RAISE, 0, 0, SB__NEED_NET_ADMIN }, /* raising: CAP_NET_ADMIN */
#endif
	{ SOL_SOCKET, SO_TXTIME, SB__W_ALWAYS, 0, 0, SB__NEED_NET_ADMIN },         /* most clocks: CAP_NET_ADMIN */
	/* The kernel groups SO_REUSEPORT sockets by owner, and the broker owns
	 * every caller's socket: one caller could take another's traffic. */
	{ SOL_SOCKET, SO_REUSEPORT, SB__W_OUTSIDE, 0, 0, 0 },
	/* IPPROTO_IP */
	{ IPPROTO_IP, IP_TRANSPARENT, SB__W_ALWAYS, 0, 0, SB__NEED_NET_ADMIN },    /* CAP_NET_RAW/ADMIN */
	{ IPPROTO_IP, IP_FREEBIND, SB__W_ALWAYS, 0, 0, 0 },       /* bind addresses the host lacks */
	{ IPPROTO_IP, IP_OPTIONS, SB__W_ALWAYS, 0, 0, SB__NEED_NET_RAW },        /* security options: CAP_NET_RAW */
	{ IPPROTO_IP, IP_IPSEC_POLICY, SB__W_ALWAYS, 0, 0, SB__NEED_NET_ADMIN },   /* CAP_NET_ADMIN */
	{ IPPROTO_IP, IP_XFRM_POLICY, SB__W_ALWAYS, 0, 0, SB__NEED_NET_ADMIN },    /* CAP_NET_ADMIN */
	{ IPPROTO_IP, IP_UNICAST_IF, SB__W_NONZERO, 0, 0, 0 },    /* picks the device */
	{ IPPROTO_IP, IP_MULTICAST_IF, SB__W_NONZERO, 0, 0, 0 },  /* picks the device */
	/* IPPROTO_IPV6 */
	{ IPPROTO_IPV6, IPV6_TRANSPARENT, SB__W_ALWAYS, 0, 0, SB__NEED_NET_ADMIN }, /* CAP_NET_RAW/ADMIN */
	{ IPPROTO_IPV6, IPV6_FREEBIND, SB__W_ALWAYS, 0, 0, 0 },
	{ IPPROTO_IPV6, IPV6_UNICAST_IF, SB__W_NONZERO, 0, 0, 0 },
	{ IPPROTO_IPV6, IPV6_MULTICAST_IF, SB__W_NONZERO, 0, 0, 0 },
	{ IPPROTO_IPV6, IPV6_PKTINFO, SB__W_NONZERO, 0, 0, 0 },   /* sticky source and device */
	{ IPPROTO_IPV6, IPV6_2292PKTOPTIONS, SB__W_ALWAYS, 0, 0, SB__NEED_NET_RAW }, /* the same, and more */
	{ IPPROTO_IPV6, IPV6_HOPOPTS, SB__W_ALWAYS, 0, 0, SB__NEED_NET_RAW },    /* CAP_NET_RAW */
	{ IPPROTO_IPV6, IPV6_DSTOPTS, SB__W_ALWAYS, 0, 0, SB__NEED_NET_RAW },    /* CAP_NET_RAW */
	{ IPPROTO_IPV6, IPV6_RTHDRDSTOPTS, SB__W_ALWAYS, 0, 0, SB__NEED_NET_RAW }, /* CAP_NET_RAW */
	{ IPPROTO_IPV6, IPV6_RTHDR, SB__W_ALWAYS, 0, 0, 0 },      /* a path around the destination */
	{ IPPROTO_IPV6, IPV6_JOIN_ANYCAST, SB__W_ALWAYS, 0, 0, SB__NEED_NET_ADMIN }, /* CAP_NET_ADMIN */
	{ IPPROTO_IPV6, IPV6_IPSEC_POLICY, SB__W_ALWAYS, 0, 0, SB__NEED_NET_ADMIN }, /* CAP_NET_ADMIN */
	{ IPPROTO_IPV6, IPV6_XFRM_POLICY, SB__W_ALWAYS, 0, 0, SB__NEED_NET_ADMIN },  /* CAP_NET_ADMIN */
	/* IPPROTO_TCP */
	{ IPPROTO_TCP, TCP_REPAIR, SB__W_ALWAYS, 0, 0, SB__NEED_NET_ADMIN },       /* CAP_NET_ADMIN */
	{ IPPROTO_TCP, TCP_REPAIR_QUEUE, SB__W_ALWAYS, 0, 0, SB__NEED_NET_ADMIN },
	{ IPPROTO_TCP, TCP_QUEUE_SEQ, SB__W_ALWAYS, 0, 0, SB__NEED_NET_ADMIN },
	{ IPPROTO_TCP, TCP_REPAIR_OPTIONS, SB__W_ALWAYS, 0, 0, SB__NEED_NET_ADMIN },
	{ IPPROTO_TCP, TCP_REPAIR_WINDOW, SB__W_ALWAYS, 0, 0, SB__NEED_NET_ADMIN },
	/* Unprivileged: only the allowed list; the broker may load any. */
	{ IPPROTO_TCP, TCP_CONGESTION, SB__W_ALWAYS, 0, 0, SB__NEED_NET_ADMIN },
	{ IPPROTO_TCP, TCP_ULP, SB__W_ALWAYS, 0, 0, SB__NEED_NET_ADMIN },          /* loads modules as root */
};


static const char *const sb__op_names[SB__POL_COUNT] = {
	[SB__POL_SOCKET] = "socket",       [SB__POL_CONNECT] = "connect",
	[SB__POL_BIND] = "bind",           [SB__POL_LISTEN] = "listen",
	[SB__POL_ACCEPT] = "accept",       [SB__POL_SENDTO] = "sendto",
	[SB__POL_RESOLVE] = "resolve",     [SB__POL_IFADDRS] = "ifaddrs",
	[SB__POL_WATCH] = "watch",         [SB__POL_SETSOCKOPT] = "setsockopt",
	[SB__POL_HANDOFF] = "handoff",
};

const char *sb__pol_op_name(enum sb__pol_op op)
{
	return (unsigned)op < SB__POL_COUNT ? sb__op_names[op] : "?";
}

void sb__rule_release(struct sb__rule *r)
{
	size_t i;

	for (i = 0; i < r->n_cgroups; i++)
		free(r->cgroups[i]);
	for (i = 0; i < r->n_subjects; i++)
		free(r->subjects[i]);
	for (i = 0; i < r->n_sans; i++)
		free(r->sans[i]);
	for (i = 0; i < r->n_listeners; i++)
		free(r->listeners[i]);
	free(r->sans);
	free(r->listeners);
	free(r->uids);
	free(r->gids);
	free(r->cgroups);
	free(r->subjects);
	free(r->families);
	free(r->types);
	free(r->dest.cidr);
	free(r->dest.ux);
	free(r->bind.cidr);
	free(r->bind.ux);
	free(r->ports);
	free(r->opts);
}

struct sb__policy *sb__policy_ref(struct sb__policy *p)
{
	if (p)
		atomic_fetch_add(&p->refs, 1);
	return p;
}

void sb__policy_free(struct sb__policy *p)
{
	size_t i;

	if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	for (i = 0; i < p->n; i++)
		sb__rule_release(&p->rules[i]);
	free(p->rules);
	free(p);
}

/* Append to @b (of @len, used *@n) what printf would, cut at the end. */
static void __attribute__((format(printf, 4, 5)))
sb__cat(char *b, size_t len, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (*n >= len)
		return;
	va_start(ap, fmt);
	r = vsnprintf(b + *n, len - *n, fmt, ap);
	va_end(ap);
	if (r > 0)
		*n = *n + (size_t)r < len ? *n + (size_t)r : len - 1;
}

int sb__policy_describe(const struct sb__policy *p, size_t i, char *buf, size_t len)
{
	const struct sb__rule *r;
	size_t n = 0, k;
	unsigned o;

	if (!p || i >= p->n || !len)
		return -EINVAL;
	r = &p->rules[i];
	buf[0] = 0;
	sb__cat(buf, len, &n, "%s \"%s\": ", r->allow ? "allow" : "deny", r->name);
	if (r->any)
		sb__cat(buf, len, &n, "any caller");
	for (k = 0; k < r->n_uids; k++)
		sb__cat(buf, len, &n, "%s%u", k ? "," : "uid ", (unsigned)r->uids[k]);
	for (k = 0; k < r->n_gids; k++)
		sb__cat(buf, len, &n, "%s%u", k ? "," : " gid ", (unsigned)r->gids[k]);
	for (k = 0; k < r->n_cgroups; k++)
		sb__cat(buf, len, &n, "%s%s", k ? "," : " cgroup ", r->cgroups[k]);
	for (k = 0; k < r->n_subjects; k++)
		sb__cat(buf, len, &n, "%s\"%s\"", k ? "," : " subject ", r->subjects[k]);
	for (k = 0; k < r->n_sans; k++)
		sb__cat(buf, len, &n, "%s%s", k ? "," : " san ", r->sans[k]);
	for (k = 0; k < r->n_listeners; k++)
		sb__cat(buf, len, &n, "%s%s", k ? "," : " listener ", r->listeners[k]);
	if (r->ops == SB__OPS_ALL) {
		sb__cat(buf, len, &n, "; every operation");
	} else {
		sb__cat(buf, len, &n, ";");
		for (o = 0, k = 0; o < SB__POL_COUNT; o++)
			if (r->ops & SB__OPBIT(o))
				sb__cat(buf, len, &n, "%s%s", k++ ? "," : " ",
					sb__pol_op_name((enum sb__pol_op)o));
	}
	if (r->n_families)
		sb__cat(buf, len, &n, "; %zu families", r->n_families);
	if (r->n_types)
		sb__cat(buf, len, &n, "; %zu types", r->n_types);
	if (r->dest.n_cidr + r->dest.n_ux)
		sb__cat(buf, len, &n, "; %zu destinations", r->dest.n_cidr + r->dest.n_ux);
	if (r->bind.n_cidr + r->bind.n_ux)
		sb__cat(buf, len, &n, "; %zu bind addresses", r->bind.n_cidr + r->bind.n_ux);
	for (k = 0; k < r->n_ports; k++) {
		sb__cat(buf, len, &n, "%s%u", k ? "," : "; ports ", r->ports[k].lo);
		if (r->ports[k].hi != r->ports[k].lo)
			sb__cat(buf, len, &n, "-%u", r->ports[k].hi);
	}
	if (r->n_opts)
		sb__cat(buf, len, &n, "; %zu socket options", r->n_opts);
	return 0;
}

size_t sb__policy_rule_count(const struct sb__policy *p)
{
	return p ? p->n : 0;
}

const char *sb__policy_rule_name(const struct sb__policy *p, size_t i)
{
	return p && i < p->n ? p->rules[i].name : NULL;
}

struct sb__policy *sb__policy_alloc(size_t n)
{
	struct sb__policy *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->rules = calloc(n ? n : 1, sizeof(*p->rules));
	if (!p->rules) {
		free(p);
		return NULL;
	}
	atomic_init(&p->refs, 1);
	return p;
}

/*
 * The embedded default is built once per owner and shared: every
 * sb__config_default() (start-up, each reload) asks for it. The cache holds
 * one reference, so the policy stays alive (and reachable) for the life of
 * the process.
 */
static pthread_mutex_t sb__default_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sb__policy *sb__default_cache;
static uid_t sb__default_owner;

static struct sb__policy *sb__policy_build_default(uid_t owner)
{
	struct sb__policy *p = sb__policy_alloc(1);
	struct sb__rule *r;

	if (!p)
		return NULL;
	r = &p->rules[0];
	p->n = 1;
	snprintf(r->name, sizeof(r->name), "owner");
	r->allow = 1;
	r->ops = SB__OPS_ALL;
	r->uids = calloc(2, sizeof(*r->uids));
	if (!r->uids) {
		sb__policy_free(p);
		return NULL;
	}
	r->uids[r->n_uids++] = owner;
	if (owner != 0)
		r->uids[r->n_uids++] = 0;
	return p;
}

struct sb__policy *sb__policy_default(uid_t owner)
{
	struct sb__policy *p;

	pthread_mutex_lock(&sb__default_lock);
	if (!sb__default_cache || sb__default_owner != owner) {
		p = sb__policy_build_default(owner);
		if (p) {
			sb__policy_free(sb__default_cache);
			sb__default_cache = p;
			sb__default_owner = owner;
		}
	}
	p = sb__policy_ref(sb__default_cache);
	pthread_mutex_unlock(&sb__default_lock);
	return p;
}

/* ---- the decision ---------------------------------------------------- */

/* An address as the kernel will use it (policy.h rule 5). */
struct sb__naddr {
	enum { SB__NA_OTHER, SB__NA_V4, SB__NA_V6, SB__NA_PATH, SB__NA_ABSTRACT,
	       SB__NA_UNNAMED } kind;
	uint8_t ip[16];
	int has_port;
	unsigned port;
	const uint8_t *name;
	size_t name_len;
};

static void sb__normalize(const struct sb__addr *a, int dest, struct sb__naddr *n)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t zero[16];

	memset(n, 0, sizeof(*n));
	switch (a->kind) {
	case SB__ADDR_INET:
		n->kind = SB__NA_V4;
		memcpy(n->ip, a->ip, 4);
		break;
	case SB__ADDR_INET6:
		if (!memcmp(a->ip, mapped, sizeof(mapped))) {
			n->kind = SB__NA_V4;
			memcpy(n->ip, a->ip + 12, 4);
		} else {
			n->kind = SB__NA_V6;
			memcpy(n->ip, a->ip, 16);
		}
		break;
	case SB__ADDR_UNIX_PATH:
		n->kind = SB__NA_PATH;
		break;
	case SB__ADDR_UNIX_ABSTRACT:
		n->kind = SB__NA_ABSTRACT;
		break;
	case SB__ADDR_UNIX_UNNAMED:
		n->kind = SB__NA_UNNAMED;
		break;
	default:
		return;
	}
	if (n->kind == SB__NA_V4 || n->kind == SB__NA_V6) {
		n->has_port = 1;
		n->port = a->port;
		/* Linux sends to the unspecified address over loopback. */
		if (dest && n->kind == SB__NA_V4 && !memcmp(n->ip, zero, 4)) {
			n->ip[0] = 127;
			n->ip[3] = 1;
		} else if (dest && n->kind == SB__NA_V6 && !memcmp(n->ip, zero, 16)) {
			n->ip[15] = 1;
		}
	} else if (n->kind != SB__NA_UNNAMED) {
		n->name = a->name;
		n->name_len = a->name_len < SB__UNIX_NAME_MAX ? a->name_len
							      : SB__UNIX_NAME_MAX;
	}
}

static int sb__prefix_eq(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rem = bits % 8;

	if (memcmp(a, b, full))
		return 0;
	return !rem || !((a[full] ^ b[full]) & (uint8_t)(0xff00u >> rem));
}

/* An absolute path without empty, "." or ".." components, and no NUL. */
int sb__path_clean(const uint8_t *p, size_t n)
{
	size_t i = 1, start;

	if (!n || p[0] != '/' || memchr(p, 0, n))
		return 0;
	while (i <= n) {
		start = i;
		while (i < n && p[i] != '/')
			i++;
		if (i == start || (i - start == 1 && p[start] == '.') ||
		    (i - start == 2 && p[start] == '.' && p[start + 1] == '.'))
			return n == 1;	/* "/" alone is clean */
		i++;
	}
	return 1;
}

static int sb__ux_match(const struct sb__uxpfx *u, const struct sb__naddr *n)
{
	if (n->kind == SB__NA_UNNAMED)	/* autobind: an abstract name */
		return u->abstract && !u->len;
	if (n->kind == SB__NA_ABSTRACT)
		return u->abstract && n->name_len >= u->len &&
		       !memcmp(n->name, u->s, u->len);
	if (n->kind != SB__NA_PATH || u->abstract || !sb__path_clean(n->name, n->name_len))
		return 0;
	if (u->len == 1)	/* "/" */
		return 1;
	return n->name_len >= u->len && !memcmp(n->name, u->s, u->len) &&
	       (n->name_len == u->len || n->name[u->len] == '/');
}

static int sb__alist_match(const struct sb__alist *l, const struct sb__naddr *n)
{
	size_t i;

	if (n->kind == SB__NA_V4 || n->kind == SB__NA_V6) {
		for (i = 0; i < l->n_cidr; i++)
			if (l->cidr[i].v6 == (n->kind == SB__NA_V6) &&
			    sb__prefix_eq(l->cidr[i].ip, n->ip, l->cidr[i].prefix))
				return 1;
		return 0;
	}
	for (i = 0; i < l->n_ux; i++)
		if (sb__ux_match(&l->ux[i], n))
			return 1;
	return 0;
}

static int sb__int_in(const int *v, size_t n, int x)
{
	while (n--)
		if (v[n] == x)
			return 1;
	return 0;
}

static int sb__opt_in(const struct sb__optid *v, size_t n, int level, int name)
{
	while (n--)
		if (v[n].level == level && v[n].name == name)
			return 1;
	return 0;
}

/* @prefix ("/a/b", no trailing '/') covers @path on a '/' boundary. */
static int sb__cgroup_match(const char *prefix, const char *path)
{
	size_t n = strlen(prefix);

	if (n == 1)
		return path[0] == '/';
	return !strncmp(path, prefix, n) && (path[n] == 0 || path[n] == '/');
}

static int sb__id_match(const struct sb__rule *r, const struct sb__identity *id)
{
	int local = !strncmp(id->transport, "unix", sizeof(id->transport));
	size_t i;
	int ok;

	if (!id->known)
		return 0;
	if (r->any)
		return 1;
	if (r->n_uids) {
		for (ok = 0, i = 0; i < r->n_uids && !ok; i++)
			ok = r->uids[i] == id->uid;
		if (!ok || !local)
			return 0;
	}
	if (r->n_gids) {
		for (ok = 0, i = 0; i < r->n_gids && !ok; i++)
			ok = r->gids[i] == id->gid;
		if (!ok || !local)
			return 0;
	}
	if (r->n_cgroups) {
		if (!local || memchr(id->cgroup, 0, sizeof(id->cgroup)) == NULL)
			return 0;
		for (ok = 0, i = 0; i < r->n_cgroups && !ok; i++)
			ok = sb__cgroup_match(r->cgroups[i], id->cgroup);
		if (!ok)
			return 0;
	}
	if (r->n_subjects) {
		if (!id->subject[0] || !memchr(id->subject, 0, sizeof(id->subject)))
			return 0;
		for (ok = 0, i = 0; i < r->n_subjects && !ok; i++)
			ok = !strcmp(r->subjects[i], id->subject);
		if (!ok)
			return 0;
	}
	if (r->n_sans) {
		size_t j;

		for (ok = 0, i = 0; i < r->n_sans && !ok; i++)
			for (j = 0; j < (size_t)id->n_san && j < SB__SAN_MAX && !ok; j++)
				ok = memchr(id->san[j], 0, sizeof(id->san[j])) &&
				     !strcmp(r->sans[i], id->san[j]);
		if (!ok)
			return 0;
	}
	if (r->n_listeners) {
		if (!local || !id->listener[0] || !memchr(id->listener, 0, sizeof(id->listener)))
			return 0;
		for (ok = 0, i = 0; i < r->n_listeners && !ok; i++)
			ok = !strcmp(r->listeners[i], id->listener);
		if (!ok)
			return 0;
	}
	return 1;
}

static int sb__constraints_match(const struct sb__rule *ru, const struct sb__pol_req *r,
				 int type, const struct sb__naddr *na)
{
	unsigned bit = SB__OPBIT(r->op);

	if (ru->n_families && (bit & SB__OPS_SOCK) &&
	    !sb__int_in(ru->families, ru->n_families, r->family))
		return 0;
	if (ru->n_types && (bit & SB__OPS_SOCK) && !sb__int_in(ru->types, ru->n_types, type))
		return 0;
	if ((ru->dest.n_cidr || ru->dest.n_ux) && (bit & SB__OPS_DEST) &&
	    !sb__alist_match(&ru->dest, na))
		return 0;
	if ((ru->bind.n_cidr || ru->bind.n_ux) && (bit & SB__OPS_BIND) &&
	    !sb__alist_match(&ru->bind, na))
		return 0;
	if (ru->n_ports && (bit & SB__OPS_PORTS)) {
		size_t i;
		int ok = 0;

		for (i = 0; na->has_port && i < ru->n_ports && !ok; i++)
			ok = na->port >= ru->ports[i].lo && na->port <= ru->ports[i].hi;
		if (!ok)
			return 0;
	}
	if (ru->n_opts && (bit & SB__OPS_OPTS) &&
	    !sb__opt_in(ru->opts, ru->n_opts, r->opt_level, r->opt_name))
		return 0;
	return 1;
}

static const struct sb__named_opt *sb__named_find(int level, int name)
{
	size_t i;

	for (i = 0; i < SB__N(sb__named_opts); i++)
		if (sb__named_opts[i].level == level && sb__named_opts[i].name == name)
			return &sb__named_opts[i];
	return NULL;
}

int sb__policy_opt_raises(int level, int name)
{
	const struct sb__named_opt *o = sb__named_find(level, name);

	return o && o->when == SB__W_RAISE;
}

/* Does setting @r's option to its value take a privilege? A value that
 * cannot be read as the entry needs counts as privileged. */
static int sb__opt_privileged(const struct sb__pol_req *r)
{
	const struct sb__named_opt *o = sb__named_find(r->opt_level, r->opt_name);
	const uint8_t *b = r->opt_val;
	int v;
	size_t i;

	if (!o)
		return 0;
	if (o->when == SB__W_ALWAYS || !b)	/* no value to judge: fail closed */
		return 1;
	if (o->when == SB__W_NONZERO) {
		for (i = 0; i < r->opt_len; i++)
			if (b[i])
				return 1;
		return 0;
	}
	if (r->opt_len < sizeof(int))
		return 1;
	memcpy(&v, b, sizeof(v));
	if (o->when == SB__W_RAISE)
		return v > r->opt_cur;
	return v < o->lo || v > o->hi;
}

/* Ports the kernel keeps for privileged processes (policy.h rule 6). */
static int sb__port_privileged(const struct sb__pol_req *r, const struct sb__naddr *na)
{
	unsigned start = r->port_start > 0 ? (unsigned)r->port_start : 1024;

	return r->op == SB__POL_BIND && na->has_port && na->port != 0 && na->port < start;
}

/* Why allow rule @ru may not allow @r although it applies, or NULL. */
static const char *sb__unnamed(const struct sb__rule *ru, const struct sb__pol_req *r,
			       int type, const struct sb__naddr *na)
{
	unsigned bit = SB__OPBIT(r->op);

	if ((bit & SB__OPS_SOCK) &&
	    !sb__int_in(sb__plain_families, SB__N(sb__plain_families), r->family) &&
	    !sb__int_in(ru->families, ru->n_families, r->family))
		return r->family == AF_PACKET || r->family == AF_NETLINK
		       ? "packet and netlink sockets are allowed only by a rule naming "
			 "the family"
		       : SB__POL_WHY_FAMILY;
	if ((bit & SB__OPS_SOCK) && sb__int_in(sb__named_types, SB__N(sb__named_types), type) &&
	    !sb__int_in(ru->types, ru->n_types, type))
		return "raw sockets are allowed only by a rule naming the type";
	if (r->op == SB__POL_SETSOCKOPT && sb__opt_privileged(r) &&
	    !sb__opt_in(ru->opts, ru->n_opts, r->opt_level, r->opt_name))
		return "this option (with this value) is allowed only by a rule naming it "
		       "in sockopts";
	/* The rule's port list, when there is one, already holds the port. */
	if (sb__port_privileged(r, na) && !ru->n_ports)
		return "a port below ip_unprivileged_port_start is allowed only by a rule "
		       "whose ports list names it";
	return NULL;
}

int sb__policy_check(const struct sb__policy *p, const struct sb__identity *id,
		     const struct sb__pol_req *r, struct sb__pol_decision *d)
{
	struct sb__naddr na;
	const char *why;
	unsigned bit;
	size_t i;
	int type;

	d->allow = 0;
	d->index = -1;
	snprintf(d->rule, sizeof(d->rule), "default");
	d->why = "no rule allows it";
	if (!p || !id || !r || (unsigned)r->op >= SB__POL_COUNT) {
		d->why = "malformed policy request";
		return 0;
	}
	bit = SB__OPBIT(r->op);
	type = r->type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	memset(&na, 0, sizeof(na));
	if (bit & SB__OPS_PORTS) {
		if (!r->addr) {
			d->why = "no address to judge";
			return 0;
		}
		sb__normalize(r->addr, r->op != SB__POL_BIND, &na);
		/* A raw socket has no port: the number in its address is
		 * ignored (IPv4) or names a protocol (IPv6), and must not match
		 * a rule's ports list. */
		if (type == SOCK_RAW)
			na.port = 0;
	}
	for (i = 0; i < p->n; i++) {
		const struct sb__rule *ru = &p->rules[i];

		if (!(ru->ops & bit) || !sb__id_match(ru, id) ||
		    !sb__constraints_match(ru, r, type, &na))
			continue;
		if (ru->allow && (why = sb__unnamed(ru, r, type, &na)) != NULL) {
			d->why = why;
			continue;
		}
		d->allow = ru->allow;
		d->index = (long)i;
		snprintf(d->rule, sizeof(d->rule), "%s", ru->name);
		d->why = ru->allow ? "allowed" : "denied by the rule";
		return d->allow;
	}
	return 0;
}

int sb__policy_serves(const struct sb__policy *p, const struct sb__identity *id)
{
	size_t i;

	if (!p || !id)
		return 0;
	for (i = 0; i < p->n; i++) {
		const struct sb__rule *ru = &p->rules[i];

		if (!sb__id_match(ru, id))
			continue;
		if (ru->allow)
			return 1;
		if (ru->ops == SB__OPS_ALL && !ru->n_families && !ru->n_types &&
		    !ru->dest.n_cidr && !ru->dest.n_ux && !ru->bind.n_cidr &&
		    !ru->bind.n_ux && !ru->n_ports && !ru->n_opts)
			return 0;
	}
	return 0;
}

/* Does some port of @ru's list fall in 1..@start-1? */
static int sb__rule_low_port(const struct sb__rule *ru, unsigned start)
{
	size_t i;

	for (i = 0; i < ru->n_ports; i++)
		if (ru->ports[i].hi >= 1 && ru->ports[i].lo < start)
			return 1;
	return 0;
}

/* Record @need for rule @ru once: the first rule that needs it is named. */
static void sb__need(struct sb__pol_needs *n, unsigned need, const struct sb__rule *ru,
		     const char *what)
{
	unsigned b;

	for (b = 0; b < SB__NEED_COUNT; b++) {
		if (!(need & (1u << b)) || (n->caps & (1u << b)))
			continue;
		n->caps |= 1u << b;
		snprintf(n->why[b], sizeof(n->why[b]), "rule \"%s\" names %s", ru->name,
			 what);
	}
}

/* Can allow rule @ru let a caller reach a Unix address through @ops with
 * address list @l? A ports list never matches a Unix address. */
static int sb__rule_unix_list(const struct sb__rule *ru, unsigned ops,
			      const struct sb__alist *l)
{
	if (!(ru->ops & ops) || ru->n_ports)
		return 0;
	return l->n_ux || !l->n_cidr;
}

/* Does allow rule @ru let a local caller other than root reach a Unix
 * address? Root-only rules (every uid listed is 0) and rules that match
 * TLS callers only (who have no ids to take) do not. */
static int sb__rule_as_caller(const struct sb__rule *ru)
{
	size_t k;
	int unix_ok = !ru->n_families;

	for (k = 0; k < ru->n_families; k++)
		if (ru->families[k] == AF_UNIX)
			unix_ok = 1;
	if (!unix_ok || (!sb__rule_unix_list(ru, SB__OPS_DEST, &ru->dest) &&
			 !sb__rule_unix_list(ru, SB__OPS_BIND, &ru->bind)))
		return 0;
	if (ru->n_uids) {
		for (k = 0; k < ru->n_uids; k++)
			if (ru->uids[k] != 0)
				return 1;
		return 0;
	}
	return ru->any || ru->n_gids || ru->n_cgroups || ru->n_listeners;
}

void sb__policy_needs(const struct sb__policy *p, int port_start, struct sb__pol_needs *n)
{
	unsigned start = port_start > 0 ? (unsigned)port_start : 1024;
	size_t i, k;

	memset(n, 0, sizeof(*n));
	for (i = 0; p && i < p->n; i++) {
		const struct sb__rule *ru = &p->rules[i];

		/* Rule 6: only an allow rule that names it lends a privilege. */
		if (!ru->allow)
			continue;
		if (sb__rule_as_caller(ru))
			sb__need(n, SB__NEED_AS_CALLER, ru, "Unix addresses for callers "
				 "other than root (reached with the caller's ids)");
		if ((ru->ops & SB__OPS_BIND) && sb__rule_low_port(ru, start))
			sb__need(n, SB__NEED_NET_BIND_SERVICE, ru, "a port below "
				 "ip_unprivileged_port_start");
		if (ru->ops & SB__OPS_SOCK) {
			for (k = 0; k < ru->n_types; k++)
				if (sb__int_in(sb__named_types, SB__N(sb__named_types),
					       ru->types[k]))
					sb__need(n, SB__NEED_NET_RAW, ru, "raw sockets");
			for (k = 0; k < ru->n_families; k++) {
				if (ru->families[k] > 0 && ru->families[k] < 64 &&
				    !sb__int_in(sb__plain_families, SB__N(sb__plain_families),
						ru->families[k]))
					n->families |= 1ull << ru->families[k];
				if (ru->families[k] == AF_PACKET)
					sb__need(n, SB__NEED_NET_RAW, ru, "packet sockets");
				/* Configuration messages over netlink. */
				if (ru->families[k] == AF_NETLINK)
					sb__need(n, SB__NEED_NET_ADMIN, ru, "netlink sockets");
			}
		}
		for (k = 0; (ru->ops & SB__OPS_OPTS) && k < ru->n_opts; k++) {
			const struct sb__named_opt *o = sb__named_find(ru->opts[k].level,
								       ru->opts[k].name);

			if (o && o->need)
				sb__need(n, o->need, ru, "a privileged socket option");
		}
	}
}
