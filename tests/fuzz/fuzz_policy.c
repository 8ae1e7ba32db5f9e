/* SPDX-License-Identifier: MIT
 * fuzz_policy.c - the policy decision (policy.c, sb__policy_check) under
 * libFuzzer: the input picks a policy of up to eight rules, a caller and
 * a request, from small pools of values so that rules and requests meet
 * often; the decision must agree (allow or deny, and the deciding rule)
 * with a slow reference matcher written here from policy.h's numbered
 * contract, and from nothing in policy.c. Rules are built as the reader
 * (policy_read.c) builds them: `any` alone or other keys, CIDRs with no
 * bits past their prefix, clean path prefixes.
 */
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "policy.h"
#include "policy_rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SB__ASSERT(c) do { if (!(c)) abort(); } while (0)
#define SB__MAX_RULES 8
#define SB__MAX_ITEMS 3

/* ---- the input as a stream of choices -------------------------------- */

struct sb__in {
	const uint8_t *p;
	size_t left;
};

static unsigned sb__byte(struct sb__in *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}

/* One of @n (n <= 256). */
static unsigned sb__pick(struct sb__in *in, unsigned n)
{
	return sb__byte(in) % n;
}

#define SB__PICK(in, pool) (pool)[sb__pick((in), SB__N(pool))]

/* ---- pools ----------------------------------------------------------- */

static const uid_t sb__uids[] = { 0, 1000, 65534 };
static const char *const sb__cgroups[] = { "/", "/a", "/a/b", "/ab", "", "/a/b/c" };
static const char *const sb__subjects[] = { "CN=a", "CN=b", "" };
static const char *const sb__listeners[] = { "w1", "w2", "" };
static const int sb__families[] = { AF_INET, AF_INET6, AF_UNIX, AF_PACKET, AF_NETLINK,
				    AF_ALG, AF_VSOCK, 0 };
static const int sb__types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_PACKET,
				 SOCK_SEQPACKET, SOCK_DGRAM | SOCK_NONBLOCK,
				 SOCK_RAW | SOCK_CLOEXEC, 0 };
static const unsigned sb__ports[] = { 0, 1, 80, 443, 1023, 1024, 8080, 65535 };
static const int sb__port_starts[] = { 0, -1, 1, 80, 1024, 65536 };
static const uint8_t sb__ips[][16] = {
	{ 10, 0, 0, 1 },
	{ 10, 1, 2, 3 },
	{ 127, 0, 0, 1 },
	{ 0, 0, 0, 0 },
	{ 192, 168, 1, 1 },
	{ 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 },
	{ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 },
	{ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1 },
	{ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0 },
	{ 0 },
};
static const unsigned sb__prefixes[] = { 0, 1, 7, 8, 9, 16, 24, 31, 32, 64, 96, 120, 128 };
static const char *const sb__paths[] = {
	"/", "/tmp", "/tmp/a", "/tmp/a/b", "/tmpx", "/tmp/", "/tmp//a", "/tmp/./a",
	"/tmp/../etc", "tmp/a", "/run/x.sock", "",
};
static const char *const sb__abstract[] = { "", "ab", "abc", "b" };

struct sb__opt {
	int level, name;
};

static const struct sb__opt sb__opts[] = {
	{ SOL_SOCKET, SO_KEEPALIVE },    { SOL_SOCKET, SO_REUSEADDR },
	{ SOL_SOCKET, SO_RCVBUFFORCE },  { SOL_SOCKET, SO_SNDBUFFORCE },
	{ SOL_SOCKET, SO_PRIORITY },     { SOL_SOCKET, SO_MARK },
	{ SOL_SOCKET, SO_DEBUG },        { SOL_SOCKET, SO_BUSY_POLL },
	{ SOL_SOCKET, SO_BUSY_POLL_BUDGET }, { SOL_SOCKET, SO_PREFER_BUSY_POLL },
	{ SOL_SOCKET, SO_TXTIME },       { SOL_SOCKET, SO_BINDTODEVICE },
	{ SOL_SOCKET, SO_BINDTOIFINDEX }, { SOL_SOCKET, SO_REUSEPORT },
	{ IPPROTO_IP, IP_TRANSPARENT },  { IPPROTO_IP, IP_FREEBIND },
	{ IPPROTO_IP, IP_OPTIONS },      { IPPROTO_IP, IP_IPSEC_POLICY },
	{ IPPROTO_IP, IP_XFRM_POLICY },  { IPPROTO_IP, IP_UNICAST_IF },
	{ IPPROTO_IP, IP_MULTICAST_IF }, { IPPROTO_IP, IP_TOS },
	{ IPPROTO_IPV6, IPV6_TRANSPARENT }, { IPPROTO_IPV6, IPV6_FREEBIND },
	{ IPPROTO_IPV6, IPV6_UNICAST_IF }, { IPPROTO_IPV6, IPV6_MULTICAST_IF },
	{ IPPROTO_IPV6, IPV6_PKTINFO },  { IPPROTO_IPV6, IPV6_2292PKTOPTIONS },
	{ IPPROTO_IPV6, IPV6_HOPOPTS },  { IPPROTO_IPV6, IPV6_DSTOPTS },
	{ IPPROTO_IPV6, IPV6_RTHDRDSTOPTS }, { IPPROTO_IPV6, IPV6_RTHDR },
	{ IPPROTO_IPV6, IPV6_JOIN_ANYCAST }, { IPPROTO_IPV6, IPV6_IPSEC_POLICY },
	{ IPPROTO_IPV6, IPV6_XFRM_POLICY }, { IPPROTO_IPV6, IPV6_V6ONLY },
	{ IPPROTO_TCP, TCP_REPAIR },     { IPPROTO_TCP, TCP_REPAIR_QUEUE },
	{ IPPROTO_TCP, TCP_QUEUE_SEQ },  { IPPROTO_TCP, TCP_REPAIR_OPTIONS },
	{ IPPROTO_TCP, TCP_REPAIR_WINDOW }, { IPPROTO_TCP, TCP_CONGESTION },
	{ IPPROTO_TCP, TCP_ULP },        { IPPROTO_TCP, TCP_NODELAY },
};

static const int sb__ints[] = { 0, 1, 6, 7, -1, INT_MIN, INT_MAX, 100 };

/* ---- the policy, the caller and the request from the input ----------- */

static void *sb__alloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	SB__ASSERT(p);
	return p;
}

static char *sb__strdup(const char *s)
{
	char *d = strdup(s);

	SB__ASSERT(d);
	return d;
}

static void sb__gen_alist(struct sb__in *in, struct sb__alist *l)
{
	size_t i;

	l->n_cidr = sb__pick(in, SB__MAX_ITEMS + 1);
	l->cidr = sb__alloc(l->n_cidr, sizeof(*l->cidr));
	for (i = 0; i < l->n_cidr; i++) {
		struct sb__cidr *c = &l->cidr[i];
		unsigned b;

		c->v6 = (int)sb__pick(in, 2);
		c->prefix = SB__PICK(in, sb__prefixes) % (c->v6 ? 129u : 33u);
		memcpy(c->ip, sb__ips[sb__pick(in, SB__N(sb__ips))], 16);
		for (b = c->prefix; b < (c->v6 ? 128u : 32u); b++)
			c->ip[b / 8] &= (uint8_t)~(0x80u >> (b % 8));
	}
	l->n_ux = sb__pick(in, SB__MAX_ITEMS + 1);
	l->ux = sb__alloc(l->n_ux, sizeof(*l->ux));
	for (i = 0; i < l->n_ux; i++) {
		struct sb__uxpfx *u = &l->ux[i];
		const char *s;

		u->abstract = (int)sb__pick(in, 2);
		do	/* the reader keeps clean prefixes without a trailing '/' */
			s = u->abstract ? SB__PICK(in, sb__abstract) : SB__PICK(in, sb__paths);
		while (!u->abstract && (!sb__path_clean((const uint8_t *)s, strlen(s)) ||
					(strlen(s) > 1 && s[strlen(s) - 1] == '/')) &&
		       in->left);
		if (!u->abstract && !sb__path_clean((const uint8_t *)s, strlen(s)))
			s = "/";
		u->len = strlen(s);
		memcpy(u->s, s, u->len);
	}
}

static void sb__gen_rule(struct sb__in *in, struct sb__rule *r, size_t k)
{
	unsigned keys = sb__byte(in), c = sb__byte(in);
	size_t i;

	snprintf(r->name, sizeof(r->name), "r%zu", k);
	r->allow = (int)(c & 1);
	if (keys & 1) {
		r->any = 1;
	} else {
		keys |= (keys & 0x7e) ? 0 : 2;	/* at least one key */
		if (keys & 2) {
			r->n_uids = 1 + sb__pick(in, SB__MAX_ITEMS);
			r->uids = sb__alloc(r->n_uids, sizeof(*r->uids));
			for (i = 0; i < r->n_uids; i++)
				r->uids[i] = SB__PICK(in, sb__uids);
		}
		if (keys & 4) {
			r->n_gids = 1 + sb__pick(in, SB__MAX_ITEMS);
			r->gids = sb__alloc(r->n_gids, sizeof(*r->gids));
			for (i = 0; i < r->n_gids; i++)
				r->gids[i] = SB__PICK(in, sb__uids);
		}
		if (keys & 8) {
			r->n_cgroups = 1 + sb__pick(in, SB__MAX_ITEMS);
			r->cgroups = sb__alloc(r->n_cgroups, sizeof(*r->cgroups));
			for (i = 0; i < r->n_cgroups; i++)	/* no "" prefix */
				r->cgroups[i] = sb__strdup(sb__cgroups[sb__pick(in, 4)]);
		}
		if (keys & 16) {
			r->n_subjects = 1 + sb__pick(in, SB__MAX_ITEMS);
			r->subjects = sb__alloc(r->n_subjects, sizeof(*r->subjects));
			for (i = 0; i < r->n_subjects; i++)
				r->subjects[i] = sb__strdup(sb__subjects[sb__pick(in, 2)]);
		}
		if (keys & 32) {
			r->n_sans = 1 + sb__pick(in, SB__MAX_ITEMS);
			r->sans = sb__alloc(r->n_sans, sizeof(*r->sans));
			for (i = 0; i < r->n_sans; i++)
				r->sans[i] = sb__strdup(sb__subjects[sb__pick(in, 2)]);
		}
		if (keys & 64) {
			r->n_listeners = 1 + sb__pick(in, SB__MAX_ITEMS);
			r->listeners = sb__alloc(r->n_listeners, sizeof(*r->listeners));
			for (i = 0; i < r->n_listeners; i++)	/* no "" identity */
				r->listeners[i] = sb__strdup(sb__listeners[sb__pick(in, 2)]);
		}
	}
	r->ops = (sb__byte(in) | sb__byte(in) << 8) & SB__OPS_ALL;
	if (c & 2) {
		r->n_families = 1 + sb__pick(in, SB__MAX_ITEMS);
		r->families = sb__alloc(r->n_families, sizeof(*r->families));
		for (i = 0; i < r->n_families; i++)
			r->families[i] = SB__PICK(in, sb__families);
	}
	if (c & 4) {
		r->n_types = 1 + sb__pick(in, SB__MAX_ITEMS);
		r->types = sb__alloc(r->n_types, sizeof(*r->types));
		for (i = 0; i < r->n_types; i++)	/* the reader keeps bare types */
			r->types[i] = sb__types[sb__pick(in, 5)];
	}
	if (c & 8)
		sb__gen_alist(in, &r->dest);
	if (c & 16)
		sb__gen_alist(in, &r->bind);
	if (c & 32) {
		r->n_ports = 1 + sb__pick(in, SB__MAX_ITEMS);
		r->ports = sb__alloc(r->n_ports, sizeof(*r->ports));
		for (i = 0; i < r->n_ports; i++) {
			r->ports[i].lo = SB__PICK(in, sb__ports);
			r->ports[i].hi = SB__PICK(in, sb__ports);
		}
	}
	if (c & 64) {
		r->n_opts = 1 + sb__pick(in, SB__MAX_ITEMS);
		r->opts = sb__alloc(r->n_opts, sizeof(*r->opts));
		for (i = 0; i < r->n_opts; i++) {
			struct sb__opt o = SB__PICK(in, sb__opts);

			r->opts[i].level = o.level;
			r->opts[i].name = o.name;
		}
	}
}

static void sb__gen_id(struct sb__in *in, struct sb__identity *id)
{
	int i;

	memset(id, 0, sizeof(*id));
	id->known = sb__pick(in, 8) != 0;
	snprintf(id->transport, sizeof(id->transport), "%s", sb__pick(in, 2) ? "unix" : "tcp");
	id->uid = SB__PICK(in, sb__uids);
	id->gid = SB__PICK(in, sb__uids);
	snprintf(id->cgroup, sizeof(id->cgroup), "%s", SB__PICK(in, sb__cgroups));
	snprintf(id->subject, sizeof(id->subject), "%s", SB__PICK(in, sb__subjects));
	id->n_san = (int)sb__pick(in, 3);
	for (i = 0; i < id->n_san; i++)
		snprintf(id->san[i], sizeof(id->san[i]), "%s", SB__PICK(in, sb__subjects));
	snprintf(id->listener, sizeof(id->listener), "%s", SB__PICK(in, sb__listeners));
}

static void sb__gen_addr(struct sb__in *in, struct sb__addr *a)
{
	const char *s;

	memset(a, 0, sizeof(*a));
	switch (sb__pick(in, 7)) {
	case 0:
		a->kind = SB__ADDR_INET;
		memcpy(a->ip, sb__ips[sb__pick(in, SB__N(sb__ips))], 4);
		break;
	case 1:
		a->kind = SB__ADDR_INET6;
		memcpy(a->ip, sb__ips[sb__pick(in, SB__N(sb__ips))], 16);
		break;
	case 2:
		a->kind = SB__ADDR_UNIX_PATH;
		s = SB__PICK(in, sb__paths);
		a->name_len = strlen(s);
		memcpy(a->name, s, a->name_len);
		break;
	case 3:
		a->kind = SB__ADDR_UNIX_ABSTRACT;
		s = SB__PICK(in, sb__abstract);
		a->name_len = strlen(s);
		memcpy(a->name, s, a->name_len);
		break;
	case 4:
		a->kind = SB__ADDR_UNIX_UNNAMED;
		break;
	case 5:
		a->kind = SB__ADDR_LINK;
		break;
	default:
		a->kind = SB__ADDR_NONE;
		break;
	}
	a->port = (uint16_t)SB__PICK(in, sb__ports);
}

static void sb__gen_req(struct sb__in *in, struct sb__pol_req *r, struct sb__addr *a,
			uint8_t val[8])
{
	struct sb__opt o = SB__PICK(in, sb__opts);
	int v = SB__PICK(in, sb__ints);
	unsigned c = sb__byte(in);

	memset(r, 0, sizeof(*r));
	r->op = (enum sb__pol_op)sb__pick(in, SB__POL_COUNT + 1);
	r->family = SB__PICK(in, sb__families);
	r->type = SB__PICK(in, sb__types);
	r->protocol = (int)sb__pick(in, 3);
	sb__gen_addr(in, a);
	r->addr = c & 1 ? NULL : a;
	r->opt_level = o.level;
	r->opt_name = o.name;
	memset(val, 0, 8);
	memcpy(val, &v, sizeof(v));
	r->opt_len = sb__pick(in, 9);
	r->opt_val = c & 2 ? NULL : val;
	r->opt_cur = SB__PICK(in, sb__ints);
	r->port_start = SB__PICK(in, sb__port_starts);
}

/* ---- the reference: policy.h's rules, one by one --------------------- */

static int sb__ref_in(const int *v, size_t n, int x)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

/* Rule 4: prefix @p covers cgroup @c on a '/' boundary. */
static int sb__ref_cgroup(const char *p, const char *c)
{
	size_t n = strlen(p);

	if (c[0] != '/')
		return 0;
	if (!strcmp(p, "/"))
		return 1;
	return !strncmp(c, p, n) && (c[n] == 0 || c[n] == '/');
}

/* Rule 4: the rule's match. */
static int sb__ref_id(const struct sb__rule *ru, const struct sb__identity *id)
{
	int local = !strcmp(id->transport, "unix"), ok;
	size_t i;
	int j;

	if (!id->known)
		return 0;
	if (ru->any)
		return 1;
	if (ru->n_uids) {
		for (ok = 0, i = 0; i < ru->n_uids; i++)
			ok |= ru->uids[i] == id->uid;
		if (!ok || !local)
			return 0;
	}
	if (ru->n_gids) {
		for (ok = 0, i = 0; i < ru->n_gids; i++)
			ok |= ru->gids[i] == id->gid;
		if (!ok || !local)
			return 0;
	}
	if (ru->n_cgroups) {
		for (ok = 0, i = 0; i < ru->n_cgroups; i++)
			ok |= sb__ref_cgroup(ru->cgroups[i], id->cgroup);
		if (!ok || !local)
			return 0;
	}
	if (ru->n_subjects) {
		for (ok = 0, i = 0; i < ru->n_subjects; i++)
			ok |= id->subject[0] && !strcmp(ru->subjects[i], id->subject);
		if (!ok)
			return 0;
	}
	if (ru->n_sans) {
		for (ok = 0, i = 0; i < ru->n_sans; i++)
			for (j = 0; j < id->n_san; j++)
				ok |= !strcmp(ru->sans[i], id->san[j]);
		if (!ok)
			return 0;
	}
	if (ru->n_listeners) {
		for (ok = 0, i = 0; i < ru->n_listeners; i++)
			ok |= id->listener[0] && !strcmp(ru->listeners[i], id->listener);
		if (!ok || !local)
			return 0;
	}
	return 1;
}

/* Rule 5: an address as the kernel uses it. */
struct sb__ref_addr {
	int ip;             /* 4, 6, or 0 (not an IP address) */
	uint8_t b[16];
	int has_port;
	unsigned port;
	const struct sb__addr *a;
};

static void sb__ref_norm(const struct sb__addr *a, int dest, struct sb__ref_addr *n)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t zero[16];

	memset(n, 0, sizeof(*n));
	n->a = a;
	if (a->kind == SB__ADDR_INET) {
		n->ip = 4;
		memcpy(n->b, a->ip, 4);
	} else if (a->kind == SB__ADDR_INET6 && !memcmp(a->ip, mapped, 12)) {
		n->ip = 4;
		memcpy(n->b, a->ip + 12, 4);
	} else if (a->kind == SB__ADDR_INET6) {
		n->ip = 6;
		memcpy(n->b, a->ip, 16);
	}
	if (!n->ip)
		return;
	n->has_port = 1;
	n->port = a->port;
	if (dest && !memcmp(n->b, zero, n->ip == 4 ? 4 : 16)) {
		if (n->ip == 4) {
			n->b[0] = 127;
			n->b[3] = 1;
		} else {
			n->b[15] = 1;
		}
	}
}

static int sb__ref_bit(const uint8_t *b, unsigned i)
{
	return (b[i / 8] >> (7 - i % 8)) & 1;
}

/* Rule 5: a path is clean when absolute without "//", "." or "..". */
static int sb__ref_clean(const char *p, size_t n)
{
	size_t i, s;

	if (!n || p[0] != '/' || memchr(p, 0, n))
		return 0;
	for (s = 1, i = 1; i <= n; i++) {
		if (i < n && p[i] != '/')
			continue;
		if (n > 1 && (i - s == 0 || (i - s == 1 && p[s] == '.') ||
			      (i - s == 2 && p[s] == '.' && p[s + 1] == '.')))
			return 0;
		s = i + 1;
	}
	return 1;
}

static int sb__ref_alist(const struct sb__alist *l, const struct sb__ref_addr *n)
{
	const struct sb__addr *a = n->a;
	size_t i;
	unsigned b;

	for (i = 0; n->ip && i < l->n_cidr; i++) {
		int ok = l->cidr[i].v6 == (n->ip == 6);

		for (b = 0; ok && b < l->cidr[i].prefix; b++)
			ok = sb__ref_bit(l->cidr[i].ip, b) == sb__ref_bit(n->b, b);
		if (ok)
			return 1;
	}
	for (i = 0; !n->ip && i < l->n_ux; i++) {
		const struct sb__uxpfx *u = &l->ux[i];

		/* An unnamed socket gets an abstract name the kernel picks:
		 * only the empty abstract prefix covers it. */
		if (a->kind == SB__ADDR_UNIX_UNNAMED && u->abstract && !u->len)
			return 1;
		if (a->kind == SB__ADDR_UNIX_ABSTRACT && u->abstract &&
		    a->name_len >= u->len && !memcmp(a->name, u->s, u->len))
			return 1;
		if (a->kind == SB__ADDR_UNIX_PATH && !u->abstract &&
		    sb__ref_clean((const char *)a->name, a->name_len) &&
		    (!strcmp(u->s, "/") ||
		     (a->name_len >= u->len && !memcmp(a->name, u->s, u->len) &&
		      (a->name_len == u->len || a->name[u->len] == '/'))))
			return 1;
	}
	return 0;
}

/* Rule 2(c) with the operations each constraint concerns. */
static int sb__ref_constraints(const struct sb__rule *ru, const struct sb__pol_req *r,
			       int type, const struct sb__ref_addr *n)
{
	int sock = r->op != SB__POL_RESOLVE && r->op != SB__POL_IFADDRS &&
		   r->op != SB__POL_WATCH;
	int dest = r->op == SB__POL_CONNECT || r->op == SB__POL_SENDTO;
	int bind = r->op == SB__POL_BIND;
	size_t i;
	int ok;

	if (sock && ru->n_families && !sb__ref_in(ru->families, ru->n_families, r->family))
		return 0;
	if (sock && ru->n_types && !sb__ref_in(ru->types, ru->n_types, type))
		return 0;
	if (dest && (ru->dest.n_cidr || ru->dest.n_ux) && !sb__ref_alist(&ru->dest, n))
		return 0;
	if (bind && (ru->bind.n_cidr || ru->bind.n_ux) && !sb__ref_alist(&ru->bind, n))
		return 0;
	if ((dest || bind) && ru->n_ports) {
		for (ok = 0, i = 0; n->has_port && i < ru->n_ports; i++)
			ok |= n->port >= ru->ports[i].lo && n->port <= ru->ports[i].hi;
		if (!ok)
			return 0;
	}
	if (r->op == SB__POL_SETSOCKOPT && ru->n_opts) {
		for (ok = 0, i = 0; i < ru->n_opts; i++)
			ok |= ru->opts[i].level == r->opt_level && ru->opts[i].name == r->opt_name;
		if (!ok)
			return 0;
	}
	return 1;
}

/* Rule 6(b): the options as policy.h lists them, and when they need naming. */
enum sb__ref_when { SB__R_ALWAYS, SB__R_ON, SB__R_PRIO, SB__R_RAISED, SB__R_NONZERO };

static int sb__ref_opt_when(int level, int name, enum sb__ref_when *w)
{
	static const struct { int level, name; enum sb__ref_when w; } t[] = {
		{ SOL_SOCKET, SO_RCVBUFFORCE, SB__R_ALWAYS },
		{ SOL_SOCKET, SO_SNDBUFFORCE, SB__R_ALWAYS },
		{ SOL_SOCKET, SO_PRIORITY, SB__R_PRIO },
		{ SOL_SOCKET, SO_MARK, SB__R_ALWAYS },
		{ SOL_SOCKET, SO_DEBUG, SB__R_ON },
		{ SOL_SOCKET, SO_BUSY_POLL, SB__R_RAISED },
		{ SOL_SOCKET, SO_BUSY_POLL_BUDGET, SB__R_RAISED },
		{ SOL_SOCKET, SO_PREFER_BUSY_POLL, SB__R_ON },
		{ SOL_SOCKET, SO_TXTIME, SB__R_ALWAYS },
		{ SOL_SOCKET, SO_BINDTODEVICE, SB__R_ALWAYS },
		{ SOL_SOCKET, SO_BINDTOIFINDEX, SB__R_ALWAYS },
		{ SOL_SOCKET, SO_REUSEPORT, SB__R_ON },
		{ IPPROTO_IP, IP_TRANSPARENT, SB__R_ALWAYS },
		{ IPPROTO_IP, IP_OPTIONS, SB__R_ALWAYS },
		{ IPPROTO_IP, IP_IPSEC_POLICY, SB__R_ALWAYS },
		{ IPPROTO_IP, IP_XFRM_POLICY, SB__R_ALWAYS },
		{ IPPROTO_IP, IP_UNICAST_IF, SB__R_NONZERO },
		{ IPPROTO_IP, IP_MULTICAST_IF, SB__R_NONZERO },
		{ IPPROTO_IP, IP_FREEBIND, SB__R_ALWAYS },
		{ IPPROTO_IPV6, IPV6_TRANSPARENT, SB__R_ALWAYS },
		{ IPPROTO_IPV6, IPV6_IPSEC_POLICY, SB__R_ALWAYS },
		{ IPPROTO_IPV6, IPV6_XFRM_POLICY, SB__R_ALWAYS },
		{ IPPROTO_IPV6, IPV6_JOIN_ANYCAST, SB__R_ALWAYS },
		{ IPPROTO_IPV6, IPV6_HOPOPTS, SB__R_ALWAYS },
		{ IPPROTO_IPV6, IPV6_DSTOPTS, SB__R_ALWAYS },
		{ IPPROTO_IPV6, IPV6_RTHDRDSTOPTS, SB__R_ALWAYS },
		{ IPPROTO_IPV6, IPV6_UNICAST_IF, SB__R_NONZERO },
		{ IPPROTO_IPV6, IPV6_MULTICAST_IF, SB__R_NONZERO },
		{ IPPROTO_IPV6, IPV6_PKTINFO, SB__R_NONZERO },
		{ IPPROTO_IPV6, IPV6_2292PKTOPTIONS, SB__R_ALWAYS },
		{ IPPROTO_IPV6, IPV6_RTHDR, SB__R_ALWAYS },
		{ IPPROTO_IPV6, IPV6_FREEBIND, SB__R_ALWAYS },
		{ IPPROTO_TCP, TCP_REPAIR, SB__R_ALWAYS },
		{ IPPROTO_TCP, TCP_REPAIR_QUEUE, SB__R_ALWAYS },
		{ IPPROTO_TCP, TCP_QUEUE_SEQ, SB__R_ALWAYS },
		{ IPPROTO_TCP, TCP_REPAIR_OPTIONS, SB__R_ALWAYS },
		{ IPPROTO_TCP, TCP_REPAIR_WINDOW, SB__R_ALWAYS },
		{ IPPROTO_TCP, TCP_CONGESTION, SB__R_ALWAYS },
		{ IPPROTO_TCP, TCP_ULP, SB__R_ALWAYS },
	};
	size_t i;

	for (i = 0; i < SB__N(t); i++)
		if (t[i].level == level && t[i].name == name) {
			*w = t[i].w;
			return 1;
		}
	return 0;
}

static int sb__ref_opt_privileged(const struct sb__pol_req *r)
{
	const uint8_t *b = r->opt_val;
	enum sb__ref_when w;
	size_t i;
	int v;

	if (!sb__ref_opt_when(r->opt_level, r->opt_name, &w))
		return 0;
	if (w == SB__R_ALWAYS || !b)	/* no value: counts as privileged */
		return 1;
	if (w == SB__R_NONZERO) {
		for (i = 0; i < r->opt_len; i++)
			if (b[i])
				return 1;
		return 0;
	}
	if (r->opt_len < sizeof(int))	/* not an int: cannot be judged */
		return 1;
	memcpy(&v, b, sizeof(v));
	if (w == SB__R_ON)
		return v != 0;
	if (w == SB__R_PRIO)
		return v < 0 || v > 6;
	return v > r->opt_cur;
}

/* Rule 6: may allow rule @ru allow @r? */
static int sb__ref_named(const struct sb__rule *ru, const struct sb__pol_req *r, int type,
			 const struct sb__ref_addr *n)
{
	int sock = r->op != SB__POL_RESOLVE && r->op != SB__POL_IFADDRS &&
		   r->op != SB__POL_WATCH;
	unsigned start = r->port_start > 0 ? (unsigned)r->port_start : 1024;
	size_t i;
	int named;

	if (sock && r->family != 0 && r->family != AF_UNIX && r->family != AF_INET &&
	    r->family != AF_INET6 && !sb__ref_in(ru->families, ru->n_families, r->family))
		return 0;
	if (sock && (type == SOCK_RAW || type == SOCK_PACKET) &&
	    !sb__ref_in(ru->types, ru->n_types, type))
		return 0;
	if (r->op == SB__POL_SETSOCKOPT && sb__ref_opt_privileged(r)) {
		for (named = 0, i = 0; i < ru->n_opts; i++)
			named |= ru->opts[i].level == r->opt_level &&
				 ru->opts[i].name == r->opt_name;
		if (!named)
			return 0;
	}
	if (r->op == SB__POL_BIND && n->has_port && n->port >= 1 && n->port < start &&
	    !ru->n_ports)
		return 0;
	return 1;
}

/* Rules 1, 2, 7. Return: allow; @rule set to the deciding rule's name. */
static int sb__ref_check(const struct sb__policy *p, const struct sb__identity *id,
			 const struct sb__pol_req *r, const char **rule)
{
	int type = r->type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct sb__ref_addr n;
	size_t i;

	*rule = "default";
	if ((unsigned)r->op >= SB__POL_COUNT)
		return 0;
	memset(&n, 0, sizeof(n));
	if (r->op == SB__POL_CONNECT || r->op == SB__POL_SENDTO || r->op == SB__POL_BIND) {
		if (!r->addr)
			return 0;
		sb__ref_norm(r->addr, r->op != SB__POL_BIND, &n);
		/* Rule 5: a raw socket's address has no port (IPv4 ignores
		 * it, IPv6 reads a protocol there): no ports list holds it. */
		if (type == SOCK_RAW)
			n.port = 0;
	}
	for (i = 0; i < p->n; i++) {
		const struct sb__rule *ru = &p->rules[i];

		if (!sb__ref_id(ru, id) || !(ru->ops & SB__OPBIT(r->op)) ||
		    !sb__ref_constraints(ru, r, type, &n))
			continue;
		if (ru->allow && !sb__ref_named(ru, r, type, &n))
			continue;
		*rule = ru->name;
		return ru->allow;
	}
	return 0;
}

/* What disagreed, for the reader of a failed run. */
static void sb__dump(const struct sb__policy *p, const struct sb__identity *id,
		     const struct sb__pol_req *r)
{
	size_t i, j;

	for (i = 0; i < p->n; i++) {
		const struct sb__rule *ru = &p->rules[i];

		fprintf(stderr, "rule %s: allow %d any %d ops 0x%x uids %zu gids %zu "
			"cgroups %zu subjects %zu sans %zu listeners %zu families %zu types %zu "
			"dest %zu/%zu bind %zu/%zu ports %zu opts %zu\n", ru->name,
			ru->allow, ru->any, ru->ops, ru->n_uids, ru->n_gids, ru->n_cgroups,
			ru->n_subjects, ru->n_sans, ru->n_listeners, ru->n_families, ru->n_types,
			ru->dest.n_cidr, ru->dest.n_ux, ru->bind.n_cidr, ru->bind.n_ux,
			ru->n_ports, ru->n_opts);
		for (j = 0; j < ru->n_families; j++)
			fprintf(stderr, "  family %d\n", ru->families[j]);
		for (j = 0; j < ru->n_types; j++)
			fprintf(stderr, "  type %d\n", ru->types[j]);
		for (j = 0; j < ru->n_ports; j++)
			fprintf(stderr, "  ports %u-%u\n", ru->ports[j].lo, ru->ports[j].hi);
		for (j = 0; j < ru->n_opts; j++)
			fprintf(stderr, "  opt %d/%d\n", ru->opts[j].level, ru->opts[j].name);
	}
	fprintf(stderr, "caller: known %d %s uid %u gid %u cgroup \"%s\" subject \"%s\" "
		"sans %d\n", id->known, id->transport, (unsigned)id->uid, (unsigned)id->gid,
		id->cgroup, id->subject, id->n_san);
	fprintf(stderr, "request: op %d family %d type %d addr kind %d port %u "
		"opt %d/%d val %s len %zu cur %d port_start %d\n", r->op, r->family,
		r->type, r->addr ? (int)r->addr->kind : -1, r->addr ? r->addr->port : 0,
		r->opt_level, r->opt_name, r->opt_val ? "set" : "NULL", r->opt_len,
		r->opt_cur, r->port_start);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sb__in in = { data, size };
	struct sb__pol_decision d;
	struct sb__identity id;
	struct sb__pol_req r;
	struct sb__policy *p;
	struct sb__addr a;
	const char *rule;
	uint8_t val[8];
	size_t i, n = sb__pick(&in, SB__MAX_RULES + 1);
	int ref;

	p = sb__policy_alloc(n);
	SB__ASSERT(p);
	p->n = n;
	for (i = 0; i < n; i++)
		sb__gen_rule(&in, &p->rules[i], i);
	sb__gen_id(&in, &id);
	/* Several requests against the same policy while input lasts. */
	do {
		sb__gen_req(&in, &r, &a, val);
		ref = sb__ref_check(p, &id, &r, &rule);
		if (sb__policy_check(p, &id, &r, &d) != ref || d.allow != ref ||
		    !d.why || strcmp(d.rule, rule)) {
			fprintf(stderr, "fuzz_policy: policy.c: %d by \"%s\" (%s); "
				"reference: %d by \"%s\"\n", d.allow, d.rule, d.why, ref, rule);
			sb__dump(p, &id, &r);
			abort();
		}
	} while (in.left);
	sb__policy_free(p);
	return 0;
}
