/* SPDX-License-Identifier: MIT
 * policy.c - the policy engine: rules read from YAML (or the embedded
 * default), and the first-match decision for one request. The contract is
 * written in policy.h; this file keeps the tables of what must be named
 * (raw/packet sockets, sensitive options) in one place.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "consts.h"
#include "policy.h"

#define SB__POL_MAX_RULES 1024  /* rules in one policy */
#define SB__POL_MAX_LIST  1024  /* entries in one list of a rule */
#define SB__POL_TEXT_MAX  255   /* cgroup prefixes, subjects */

#define SB__OPBIT(o) (1u << (o))
#define SB__OPS_ALL  ((1u << SB__POL_COUNT) - 1)
/* Operations on a socket: the ones families/types speak about. */
#define SB__OPS_SOCK (SB__OPS_ALL & ~(SB__OPBIT(SB__POL_RESOLVE) | \
	SB__OPBIT(SB__POL_IFADDRS) | SB__OPBIT(SB__POL_WATCH)))
#define SB__OPS_DEST  (SB__OPBIT(SB__POL_CONNECT) | SB__OPBIT(SB__POL_SENDTO))
#define SB__OPS_BIND  SB__OPBIT(SB__POL_BIND)
#define SB__OPS_PORTS (SB__OPS_DEST | SB__OPS_BIND)
#define SB__OPS_OPTS  SB__OPBIT(SB__POL_SETSOCKOPT)

/* ---- what only a rule naming it may allow (policy.h rule 6) ---------- */

static const int sb__named_families[] = {
	AF_PACKET,   /* link-layer frames: sniffing, spoofing */
	AF_NETLINK,  /* the kernel's configuration interface */
};

static const int sb__named_types[] = {
	SOCK_RAW,    /* hand-made IP headers, every protocol's traffic */
	SOCK_PACKET, /* the obsolete packet interface */
};

struct sb__optid {
	int level, name;
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
};

/*
 * One line per option the kernel refuses an unprivileged process (or
 * that picks a device, a source address or a path the policy did not see:
 * DESIGN.md, security rules). Walked by it_policy_privileged as uid 65534.
 */
static const struct sb__named_opt sb__named_opts[] = {
	/* SOL_SOCKET */
	{ SOL_SOCKET, SO_DEBUG, SB__W_OUTSIDE, 0, 0 },         /* CAP_NET_ADMIN */
	{ SOL_SOCKET, SO_SNDBUFFORCE, SB__W_ALWAYS, 0, 0 },    /* CAP_NET_ADMIN */
	{ SOL_SOCKET, SO_RCVBUFFORCE, SB__W_ALWAYS, 0, 0 },    /* CAP_NET_ADMIN */
	{ SOL_SOCKET, SO_PRIORITY, SB__W_OUTSIDE, 0, 6 },      /* above 6: CAP_NET_ADMIN */
	{ SOL_SOCKET, SO_MARK, SB__W_ALWAYS, 0, 0 },           /* policy routing, firewall */
	{ SOL_SOCKET, SO_BINDTODEVICE, SB__W_ALWAYS, 0, 0 },   /* leave the routing the policy saw */
#ifdef SO_BINDTOIFINDEX
	{ SOL_SOCKET, SO_BINDTOIFINDEX, SB__W_ALWAYS, 0, 0 },  /* the same, by index */
#endif
	{ SOL_SOCKET, SO_BUSY_POLL, SB__W_RAISE, 0, 0 },       /* raising: CAP_NET_ADMIN */
#ifdef SO_PREFER_BUSY_POLL
	{ SOL_SOCKET, SO_PREFER_BUSY_POLL, SB__W_OUTSIDE, 0, 0 }, /* CAP_NET_ADMIN */
	{ SOL_SOCKET, SO_BUSY_POLL_BUDGET, SB__W_RAISE, 0, 0 }, /* raising: CAP_NET_ADMIN */
#endif
	{ SOL_SOCKET, SO_TXTIME, SB__W_ALWAYS, 0, 0 },         /* most clocks: CAP_NET_ADMIN */
	/* The kernel groups SO_REUSEPORT sockets by owner, and the broker owns
	 * every caller's socket: one caller could take another's traffic. */
	{ SOL_SOCKET, SO_REUSEPORT, SB__W_OUTSIDE, 0, 0 },
	/* IPPROTO_IP */
	{ IPPROTO_IP, IP_TRANSPARENT, SB__W_ALWAYS, 0, 0 },    /* CAP_NET_RAW/ADMIN */
	{ IPPROTO_IP, IP_FREEBIND, SB__W_ALWAYS, 0, 0 },       /* bind addresses the host lacks */
	{ IPPROTO_IP, IP_OPTIONS, SB__W_ALWAYS, 0, 0 },        /* security options: CAP_NET_RAW */
	{ IPPROTO_IP, IP_IPSEC_POLICY, SB__W_ALWAYS, 0, 0 },   /* CAP_NET_ADMIN */
	{ IPPROTO_IP, IP_XFRM_POLICY, SB__W_ALWAYS, 0, 0 },    /* CAP_NET_ADMIN */
	{ IPPROTO_IP, IP_UNICAST_IF, SB__W_NONZERO, 0, 0 },    /* picks the device */
	{ IPPROTO_IP, IP_MULTICAST_IF, SB__W_NONZERO, 0, 0 },  /* picks the device */
	/* IPPROTO_IPV6 */
	{ IPPROTO_IPV6, IPV6_TRANSPARENT, SB__W_ALWAYS, 0, 0 }, /* CAP_NET_RAW/ADMIN */
	{ IPPROTO_IPV6, IPV6_FREEBIND, SB__W_ALWAYS, 0, 0 },
	{ IPPROTO_IPV6, IPV6_UNICAST_IF, SB__W_NONZERO, 0, 0 },
	{ IPPROTO_IPV6, IPV6_MULTICAST_IF, SB__W_NONZERO, 0, 0 },
	{ IPPROTO_IPV6, IPV6_PKTINFO, SB__W_NONZERO, 0, 0 },   /* sticky source and device */
	{ IPPROTO_IPV6, IPV6_2292PKTOPTIONS, SB__W_ALWAYS, 0, 0 }, /* the same, and more */
	{ IPPROTO_IPV6, IPV6_HOPOPTS, SB__W_ALWAYS, 0, 0 },    /* CAP_NET_RAW */
	{ IPPROTO_IPV6, IPV6_DSTOPTS, SB__W_ALWAYS, 0, 0 },    /* CAP_NET_RAW */
	{ IPPROTO_IPV6, IPV6_RTHDRDSTOPTS, SB__W_ALWAYS, 0, 0 }, /* CAP_NET_RAW */
	{ IPPROTO_IPV6, IPV6_RTHDR, SB__W_ALWAYS, 0, 0 },      /* a path around the destination */
	{ IPPROTO_IPV6, IPV6_JOIN_ANYCAST, SB__W_ALWAYS, 0, 0 }, /* CAP_NET_ADMIN */
	{ IPPROTO_IPV6, IPV6_IPSEC_POLICY, SB__W_ALWAYS, 0, 0 }, /* CAP_NET_ADMIN */
	{ IPPROTO_IPV6, IPV6_XFRM_POLICY, SB__W_ALWAYS, 0, 0 },  /* CAP_NET_ADMIN */
	/* IPPROTO_TCP */
	{ IPPROTO_TCP, TCP_REPAIR, SB__W_ALWAYS, 0, 0 },       /* CAP_NET_ADMIN */
	{ IPPROTO_TCP, TCP_REPAIR_QUEUE, SB__W_ALWAYS, 0, 0 },
	{ IPPROTO_TCP, TCP_QUEUE_SEQ, SB__W_ALWAYS, 0, 0 },
	{ IPPROTO_TCP, TCP_REPAIR_OPTIONS, SB__W_ALWAYS, 0, 0 },
	{ IPPROTO_TCP, TCP_REPAIR_WINDOW, SB__W_ALWAYS, 0, 0 },
	/* Unprivileged: only the allowed list; the broker may load any. */
	{ IPPROTO_TCP, TCP_CONGESTION, SB__W_ALWAYS, 0, 0 },
	{ IPPROTO_TCP, TCP_ULP, SB__W_ALWAYS, 0, 0 },          /* loads modules as root */
};

#define SB__N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const sb__op_names[SB__POL_COUNT] = {
	[SB__POL_SOCKET] = "socket",       [SB__POL_CONNECT] = "connect",
	[SB__POL_BIND] = "bind",           [SB__POL_LISTEN] = "listen",
	[SB__POL_ACCEPT] = "accept",       [SB__POL_SENDTO] = "sendto",
	[SB__POL_RESOLVE] = "resolve",     [SB__POL_IFADDRS] = "ifaddrs",
	[SB__POL_WATCH] = "watch",         [SB__POL_SETSOCKOPT] = "setsockopt",
	[SB__POL_FDPASS] = "fdpass",
};

/* ---- the built policy ------------------------------------------------ */

struct sb__cidr {
	int v6;            /* 0: IPv4 (ip[0..3]), 1: IPv6 */
	unsigned prefix;
	uint8_t ip[16];
};

struct sb__uxpfx {
	int abstract;      /* 0: path prefix (component boundary), 1: bytes */
	size_t len;
	char s[SB__UNIX_NAME_MAX + 1];
};

struct sb__alist {         /* destinations or bind */
	struct sb__cidr *cidr;
	size_t n_cidr;
	struct sb__uxpfx *ux;
	size_t n_ux;
};

struct sb__prange {
	unsigned lo, hi;
};

struct sb__rule {
	char name[64];
	int allow;
	/* match */
	int any;
	uid_t *uids;
	size_t n_uids;
	gid_t *gids;
	size_t n_gids;
	char **cgroups;
	size_t n_cgroups;
	char **subjects;
	size_t n_subjects;
	char **sans;       /* subjectAltName entries (DNS, URI, e-mail, IP) */
	size_t n_sans;
	/* constraints: a list is present when its count is not 0 */
	unsigned ops;      /* SB__OPBIT set, explicit or implied */
	int *families;
	size_t n_families;
	int *types;
	size_t n_types;
	struct sb__alist dest, bind;
	struct sb__prange *ports;
	size_t n_ports;
	struct sb__optid *opts;
	size_t n_opts;
};

struct sb__policy {
	atomic_uint refs;
	size_t n;
	struct sb__rule *rules;
};

const char *sb__pol_op_name(enum sb__pol_op op)
{
	return (unsigned)op < SB__POL_COUNT ? sb__op_names[op] : "?";
}

static void sb__rule_release(struct sb__rule *r)
{
	size_t i;

	for (i = 0; i < r->n_cgroups; i++)
		free(r->cgroups[i]);
	for (i = 0; i < r->n_subjects; i++)
		free(r->subjects[i]);
	for (i = 0; i < r->n_sans; i++)
		free(r->sans[i]);
	free(r->sans);
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

size_t sb__policy_rule_count(const struct sb__policy *p)
{
	return p ? p->n : 0;
}

static struct sb__policy *sb__policy_alloc(size_t n)
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
static int sb__path_clean(const uint8_t *p, size_t n)
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
	if (o->when == SB__W_NONZERO) {
		for (i = 0; b && i < r->opt_len; i++)
			if (b[i])
				return 1;
		return !b && r->opt_len;
	}
	if (o->when == SB__W_ALWAYS || !b || r->opt_len < sizeof(int))
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
	    sb__int_in(sb__named_families, SB__N(sb__named_families), r->family) &&
	    !sb__int_in(ru->families, ru->n_families, r->family))
		return "packet and netlink sockets are allowed only by a rule naming "
		       "the family";
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

int sb__parse_uid(const char *s, uid_t *out)
{
	struct passwd pw, *res = NULL;
	unsigned long v;
	char *buf;
	int ret;

	if (!s || !s[0])
		return -EINVAL;
	if (sb__all_digits(s)) {
		if (sb__digits(s, strlen(s), 4294967294ul, &v) < 0)
			return -EINVAL;
		*out = (uid_t)v;
		return 0;
	}
	if (strlen(s) > 255)
		return -EINVAL;
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
	int ret;

	if (!s || !s[0])
		return -EINVAL;
	if (sb__all_digits(s)) {
		if (sb__digits(s, strlen(s), 4294967294ul, &v) < 0)
			return -EINVAL;
		*out = (gid_t)v;
		return 0;
	}
	if (strlen(s) > 255)
		return -EINVAL;
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

struct sb__py {
	yaml_document_t *doc;
	char *err;
	size_t errlen;
};

static int __attribute__((format(printf, 3, 4)))
sb__pfail(struct sb__py *y, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(y->err, y->errlen, "line %zu: %s", n ? n->start_mark.line + 1 : 1, msg);
	return -EINVAL;
}

static int sb__pnomem(struct sb__py *y, const yaml_node_t *n)
{
	sb__pfail(y, n, "out of memory");
	return -ENOMEM;
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

static const char *sb__pscalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* A list field: a sequence of 1..SB__POL_MAX_LIST entries, or one scalar. */
static int sb__plist(struct sb__py *y, yaml_node_t *n, const char *field, size_t *count)
{
	size_t c;

	if (n->type == YAML_SCALAR_NODE) {
		*count = 1;
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE)
		return sb__pfail(y, n, "%s: expected a value or a list of values", field);
	c = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (!c)
		return sb__pfail(y, n, "%s: empty list (leave the field out instead)", field);
	if (c > SB__POL_MAX_LIST)
		return sb__pfail(y, n, "%s: more than %d entries", field, SB__POL_MAX_LIST);
	*count = c;
	return 0;
}

/* Entry @i of a list field, which must be a scalar; NULL after an error. */
static const char *sb__pitem(struct sb__py *y, yaml_node_t *n, size_t i, const char *field,
			     yaml_node_t **node)
{
	yaml_node_t *it = n;
	const char *s;

	if (n->type == YAML_SEQUENCE_NODE)
		it = yaml_document_get_node(y->doc, n->data.sequence.items.start[i]);
	*node = it ? it : n;
	s = sb__pscalar(it);
	if (!s)
		sb__pfail(y, *node, "%s: entries are single values, not lists or mappings",
			  field);
	return s;
}

/*
 * One key of a mapping: its index in @keys, -1 after an error. Unknown and
 * repeated keys are errors (libyaml accepts repeats; we must not).
 */
static int sb__pkey(struct sb__py *y, const yaml_node_pair_t *p, const char *field,
		    const char *const *keys, size_t nkeys, unsigned *seen)
{
	yaml_node_t *k = yaml_document_get_node(y->doc, p->key);
	const char *key = sb__pscalar(k);
	size_t i;

	if (!key) {
		sb__pfail(y, k, "%s: keys are names", field);
		return -1;
	}
	for (i = 0; i < nkeys; i++)
		if (!strcmp(key, keys[i]))
			break;
	if (i == nkeys) {
		sb__pfail(y, k, "%s.%.64s: unknown field", field, key);
		return -1;
	}
	if (*seen & (1u << i)) {
		sb__pfail(y, k, "%s.%s: given twice", field, key);
		return -1;
	}
	*seen |= 1u << i;
	return (int)i;
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

static int sb__palist(struct sb__py *y, yaml_node_t *v, const char *field,
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
		return sb__pnomem(y, v);
	for (i = 0; i < n; i++) {
		s = sb__pitem(y, v, i, field, &it);
		if (!s)
			return -EINVAL;
		if (!strncmp(s, "unix:", 5) || !strncmp(s, "unix-abstract:", 14)) {
			if (sb__pux(s, &l->ux[l->n_ux], &why) < 0)
				return sb__pfail(y, it, "%s: bad Unix address \"%.80s\": %s",
						 field, s, why);
			l->n_ux++;
		} else {
			if (sb__pcidr(s, &l->cidr[l->n_cidr], &why) < 0)
				return sb__pfail(y, it, "%s: bad CIDR \"%.80s\": %s", field, s,
						 why);
			l->n_cidr++;
		}
	}
	return 0;
}

static int sb__pports(struct sb__py *y, yaml_node_t *v, const char *field,
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
		return sb__pnomem(y, v);
	for (i = 0; i < n; i++) {
		s = sb__pitem(y, v, i, field, &it);
		if (!s)
			return -EINVAL;
		dash = strchr(s, '-');
		if (dash) {
			if (sb__digits(s, (size_t)(dash - s), 65535, &lo) < 0 ||
			    sb__digits(dash + 1, strlen(dash + 1), 65535, &hi) < 0 || lo > hi)
				return sb__pfail(y, it, "%s: bad port range \"%.80s\" "
						 "(expected LOW-HIGH within 0-65535)", field, s);
		} else if (sb__digits(s, strlen(s), 65535, &lo) < 0) {
			return sb__pfail(y, it, "%s: bad port range \"%.80s\" "
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

static int sb__popts(struct sb__py *y, yaml_node_t *v, const char *field,
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
		return sb__pnomem(y, v);
	for (i = 0; i < n; i++) {
		s = sb__pitem(y, v, i, field, &it);
		if (!s)
			return -EINVAL;
		for (j = 0; j < SB__N(lv); j++)
			if (!strncasecmp(s, lv[j].prefix, strlen(lv[j].prefix)))
				break;
		if (j == SB__N(lv) || sb__const_by_name(lv[j].fam, s, &native) < 0)
			return sb__pfail(y, it, "%s: unknown socket option \"%.80s\" (expected "
					 "a name such as SO_REUSEADDR, TCP_NODELAY, IP_TOS, "
					 "IPV6_V6ONLY)", field, s);
		r->opts[i].level = lv[j].level;
		r->opts[i].name = native;
		r->n_opts++;
	}
	return 0;
}

/* families (SB__C_AF) or types (SB__C_SOCK), by name, "AF_"/"SOCK_" optional. */
static int sb__pconsts(struct sb__py *y, yaml_node_t *v, const char *field,
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
		return sb__pnomem(y, v);
	for (i = 0; i < n; i++) {
		s = sb__pitem(y, v, i, field, &it);
		if (!s)
			return -EINVAL;
		if (sb__const_by_name(fam, s, &native) < 0 || native == 0)
			return sb__pfail(y, it, "%s: unknown %s \"%.80s\"", field,
					 fam == SB__C_AF ? "address family (e.g. inet, inet6, "
							   "unix)"
							 : "socket type (e.g. stream, dgram, "
							   "seqpacket, raw)", s);
		(*out)[(*count)++] = native;
	}
	return 0;
}

static int sb__pops(struct sb__py *y, yaml_node_t *v, const char *field, unsigned *ops)
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
		for (o = 0; o < SB__POL_COUNT; o++)
			if (!strcasecmp(s, sb__op_names[o]))
				break;
		if (o == SB__POL_COUNT)
			return sb__pfail(y, it, "%s: unknown operation \"%.80s\" (expected socket, "
					 "connect, bind, listen, accept, sendto, resolve, "
					 "ifaddrs, watch, setsockopt, fdpass)", field, s);
		*ops |= SB__OPBIT(o);
	}
	return 0;
}

static int sb__pstrs(struct sb__py *y, yaml_node_t *v, const char *field, int cgroup,
		     char ***out, size_t *count)
{
	yaml_node_t *it;
	const char *s;
	size_t i, n, len;

	if (sb__plist(y, v, field, &n) < 0)
		return -EINVAL;
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return sb__pnomem(y, v);
	for (i = 0; i < n; i++) {
		s = sb__pitem(y, v, i, field, &it);
		if (!s)
			return -EINVAL;
		len = strlen(s);
		if (!len || len > SB__POL_TEXT_MAX)
			return sb__pfail(y, it, "%s: expected 1..%d bytes", field,
					 SB__POL_TEXT_MAX);
		if (cgroup) {
			if (s[0] != '/')
				return sb__pfail(y, it, "%s: a cgroup prefix is an absolute "
						 "path such as /system.slice/app.service", field);
			while (len > 1 && s[len - 1] == '/')
				len--;
		}
		(*out)[i] = strndup(s, len);
		if (!(*out)[i])
			return sb__pnomem(y, it);
		(*count)++;
	}
	return 0;
}

static int sb__pids(struct sb__py *y, yaml_node_t *v, const char *field, int group,
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
		return sb__pnomem(y, v);
	for (i = 0; i < n; i++) {
		s = sb__pitem(y, v, i, field, &it);
		if (!s)
			return -EINVAL;
		ret = group ? sb__parse_gid(s, &r->gids[r->n_gids])
			    : sb__parse_uid(s, &r->uids[r->n_uids]);
		if (ret == -ENOMEM)
			return sb__pnomem(y, it);
		if (ret == -ENOENT)
			return sb__pfail(y, it, "%s: no such %s \"%.80s\"", field,
					 group ? "group" : "user", s);
		if (ret < 0)
			return sb__pfail(y, it, "%s: bad %s \"%.80s\" (expected 0..4294967294 "
					 "or a name)", field, group ? "gid" : "uid", s);
		if (group)
			r->n_gids++;
		else
			r->n_uids++;
	}
	return 0;
}

static int sb__pmatch(struct sb__py *y, yaml_node_t *m, const char *pfx, struct sb__rule *r)
{
	static const char *const keys[] = { "uid", "gid", "cgroup", "subject", "san", "any" };
	char field[96];
	yaml_node_pair_t *p;
	unsigned seen = 0;
	int k, ret;

	snprintf(field, sizeof(field), "%s.match", pfx);
	if (m->type != YAML_MAPPING_NODE)
		return sb__pfail(y, m, "%s: expected a mapping (uid, gid, cgroup, subject, "
				 "san or any)", field);
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *v = yaml_document_get_node(y->doc, p->value);
		char sub[128];
		const char *s;

		k = sb__pkey(y, p, field, keys, SB__N(keys), &seen);
		if (k < 0)
			return -EINVAL;
		if (!v)
			return sb__pfail(y, m, "%s.%s: no value", field, keys[k]);
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
		default:
			s = sb__pscalar(v);
			ret = 0;
			if (!s || strcmp(s, "true"))
				ret = sb__pfail(y, v, "%s: only `any: true` is meaningful", sub);
			r->any = 1;
			break;
		}
		if (ret < 0)
			return ret;
	}
	if (!seen)
		return sb__pfail(y, m, "%s: empty (use `any: true` to match every caller)",
				 field);
	if (r->any && seen != (1u << 5))
		return sb__pfail(y, m, "%s: `any` cannot be combined with other keys", field);
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

static int sb__pname(struct sb__py *y, yaml_node_t *v, const char *field, struct sb__rule *r)
{
	const char *s = sb__pscalar(v);
	size_t n = s ? strlen(s) : 0;

	if (!n || n >= sizeof(r->name) ||
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
		return sb__pfail(y, v, "%s: 1..63 letters, digits, '_', '.' or '-'", field);
	if (!strcmp(s, "default"))
		return sb__pfail(y, v, "%s: \"default\" is reserved for the implicit "
				 "final deny", field);
	memcpy(r->name, s, n + 1);
	return 0;
}

static int sb__prule(struct sb__py *y, yaml_node_t *m, const char *pfx, struct sb__rule *r)
{
	yaml_node_t *nodes[SB__K_COUNT] = { NULL };
	char field[128];
	yaml_node_pair_t *p;
	unsigned seen = 0, explicit_ops = 0, implied = 0;
	const char *s;
	int k, ret = 0;

	if (m->type != YAML_MAPPING_NODE)
		return sb__pfail(y, m, "%s: each rule is a mapping with name, match, action",
				 pfx);
	for (p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *v = yaml_document_get_node(y->doc, p->value);

		k = sb__pkey(y, p, pfx, sb__rule_keys, SB__K_COUNT, &seen);
		if (k < 0)
			return -EINVAL;
		if (!v)
			return sb__pfail(y, m, "%s.%s: no value", pfx, sb__rule_keys[k]);
		nodes[k] = v;
		snprintf(field, sizeof(field), "%s.%s", pfx, sb__rule_keys[k]);
		switch (k) {
		case SB__K_NAME:
			ret = sb__pname(y, v, field, r);
			break;
		case SB__K_ACTION:
			s = sb__pscalar(v);
			if (s && !strcmp(s, "allow"))
				r->allow = 1;
			else if (!s || strcmp(s, "deny"))
				ret = sb__pfail(y, v, "%s: allow or deny", field);
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
			return sb__pfail(y, m, "%s: missing field \"%s\"", pfx, sb__rule_keys[k]);
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
			return sb__pfail(y, nodes[k], "%s.%s: concerns none of the operations "
					 "in %s.ops", pfx, sb__rule_keys[k], pfx);
	return 0;
}

int sb__policy_from_yaml(yaml_document_t *doc, yaml_node_t *seq, const char *field,
			 struct sb__policy **out, char *err, size_t errlen)
{
	struct sb__py y = { doc, err, errlen };
	struct sb__policy *p;
	size_t i, j, n;
	int ret;

	if (seq->type != YAML_SEQUENCE_NODE)
		return sb__pfail(&y, seq, "%s: expected a list of rules", field);
	n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
	if (n > SB__POL_MAX_RULES)
		return sb__pfail(&y, seq, "%s: more than %d rules", field, SB__POL_MAX_RULES);
	p = sb__policy_alloc(n);
	if (!p)
		return sb__pnomem(&y, seq);
	for (i = 0; i < n; i++) {
		yaml_node_t *m = yaml_document_get_node(doc, seq->data.sequence.items.start[i]);
		char pfx[64];

		snprintf(pfx, sizeof(pfx), "%s[%zu]", field, i);
		p->n = i + 1;	/* so that a half-built rule is released too */
		ret = m ? sb__prule(&y, m, pfx, &p->rules[i])
			: sb__pfail(&y, seq, "%s: missing", pfx);
		if (ret < 0)
			goto fail;
		for (j = 0; j < i; j++) {
			if (!strcmp(p->rules[j].name, p->rules[i].name)) {
				ret = sb__pfail(&y, m, "%s.name: \"%s\" is also the name of %s[%zu]",
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
