/* SPDX-License-Identifier: MIT
 * policy.h - who may do what: an ordered list of rules that match a
 * caller's identity and allow or deny one request (an operation on a
 * socket of some family and type, to or from some address, or a socket
 * option). Built from the `policy:` section of the YAML file
 * (policy_read.h), or the embedded default.
 *
 * The contract, in order of evaluation:
 *
 *  1. Rules are tried in file order; the first rule that applies decides
 *     (allow or deny). When none applies the request is denied by the rule
 *     named "default".
 *  2. A rule applies to a request when (a) its `match` matches the caller,
 *     (b) the request's operation is in the rule's operation set, and
 *     (c) every constraint of the rule that concerns that operation matches
 *     the request. A constraint that does not concern the operation is
 *     ignored (a `destinations` list says nothing about a BIND).
 *  3. The operation set of a rule is its `ops` list. Without `ops`, it is
 *     the operations its constraints concern: destinations -> connect,
 *     sendto; bind -> bind; ports -> connect, sendto, bind, or only the
 *     operations of destinations/bind when one is given; sockopts ->
 *     setsockopt (the union when several are given); else, with only
 *     families/types, every operation on a socket (all but resolve,
 *     ifaddrs, watch); else every operation. So `deny destinations
 *     [10.0.0.0/8]` denies connect/sendto to that network and nothing else,
 *     and `allow destinations [X] ports [443]` allows no bind. With `ops`,
 *     a constraint concerning none of the listed operations is refused
 *     when the policy is read.
 *  4. Matching a caller: uid, gid (the peer's primary gid, SO_PEERCRED)
 *     and cgroup (path prefix on a '/' boundary) match local callers only
 *     (transport "unix"), never a TCP caller; subject matches the TLS
 *     client certificate subject (id->subject) exactly, as the TLS layer
 *     writes it, and never an empty one; san matches one of the
 *     certificate's subjectAltName entries exactly; listener matches the
 *     identity of the Unix listener the caller came through (listen:
 *     identity:), local callers only, never a listener without one;
 *     `any` matches every identified caller. All keys given must match; a
 *     list matches when one entry does. A caller without credentials
 *     (id->known == 0) matches no rule.
 *  5. Addresses are judged as the kernel will use them: an IPv4-mapped IPv6
 *     address (::ffff:a.b.c.d) is IPv4 and matches only IPv4 CIDRs; a
 *     connect/sendto to the unspecified address (0.0.0.0, ::) goes to
 *     loopback and is judged as 127.0.0.1 / ::1. A Unix path must be
 *     absolute and clean (no "//", ".", ".." components) to match a
 *     "unix:" prefix; symlinks are not resolved, so a prefix should name a
 *     directory callers cannot write to. An address of a kind that no
 *     entry of a list can name (a Unix address against a list of CIDRs, a
 *     link-layer address) does not match that list; an address without a
 *     port (Unix) does not match a `ports` list. A raw socket has no port:
 *     the number in its address is judged as port 0 (it would only match
 *     a list holding 0).
 *  6. Named-only: the broker never lends its privileges (it holds
 *     capabilities its callers lack, and the kernel checks the broker's).
 *     An allow rule that does not name what follows does not apply to a
 *     request for it (evaluation goes on; deny rules need not name it):
 *     (a) raw and packet sockets (type raw or packet) and every family
 *         but unix, inet and inet6 (packet, netlink, alg, vsock...), from
 *         Socket and SocketPair alike: the rule's types/families list must
 *         name them;
 *     (b) the options of the one table in policy.c (sb__named_opts): those
 *         the kernel refuses an unprivileged process (SO_RCVBUFFORCE,
 *         SO_SNDBUFFORCE, SO_PRIORITY outside 0..6, SO_MARK, SO_DEBUG on,
 *         SO_BUSY_POLL and SO_BUSY_POLL_BUDGET raised, SO_PREFER_BUSY_POLL
 *         on, SO_TXTIME, IP_TRANSPARENT, IPV6_TRANSPARENT, IP_OPTIONS, IPsec
 *         policies, IPV6_JOIN_ANYCAST, IPv6 hop-by-hop and destination
 *         options, TCP_REPAIR and its companions, TCP_CONGESTION and
 *         TCP_ULP, which load modules as root), and those that pick a
 *         device, a source address or a path the policy did not see
 *         (SO_BINDTODEVICE, SO_BINDTOIFINDEX, IP(V6)_UNICAST_IF and
 *         IP(V6)_MULTICAST_IF with a non-zero value, sticky IPV6_PKTINFO,
 *         IPV6_2292PKTOPTIONS, IPV6_RTHDR, IP_FREEBIND, IPV6_FREEBIND),
 *         and SO_REUSEPORT on
 *         (the kernel groups sockets by owner, and the broker owns them
 *         all): the rule's sockopts list must name the option. Send's
 *         `ifindex` is checked as SO_BINDTOIFINDEX;
 *     (c) a bind to a port from 1 to below the broker's network
 *         namespace's net.ipv4.ip_unprivileged_port_start (Bind, Dial's
 *         local end, Send's `source`): the rule must have a ports list
 *         (which then holds the port, rule 2).
 *  7. Fail closed: a NULL policy, identity or request, an operation out of
 *     range, or a connect/bind/sendto without an address is denied.
 *
 * Lifetime and threads: a policy is immutable once built and may be read
 * by any number of threads at once. It is reference-counted: the builder
 * holds one reference; sb__policy_ref() takes another, sb__policy_free()
 * drops one and frees the policy with the last. A reload swaps the
 * broker's current pointer under a lock; a call takes a reference under
 * the same lock, checks, and drops it, so the old policy goes away with
 * its last in-flight check.
 */
#ifndef SB_SERVER_POLICY_H
#define SB_SERVER_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "identity.h"

enum sb__pol_op {
	SB__POL_SOCKET,     /* socket(), socketpair() */
	SB__POL_CONNECT,
	SB__POL_BIND,
	SB__POL_LISTEN,
	SB__POL_ACCEPT,
	SB__POL_SENDTO,     /* a datagram to an explicit destination */
	SB__POL_RESOLVE,    /* getaddrinfo, getnameinfo, getserv* */
	SB__POL_IFADDRS,    /* getifaddrs */
	SB__POL_WATCH,      /* interface change stream */
	SB__POL_SETSOCKOPT,
	SB__POL_HANDOFF,    /* hand the real fd to the caller ("fdpass": alias) */
	SB__POL_COUNT
};

struct sb__pol_req {
	enum sb__pol_op op;
	int family, type, protocol;  /* native, of the socket concerned; 0 when
				      * none. SOCK_NONBLOCK/SOCK_CLOEXEC in
				      * type are ignored. */
	const struct sb__addr *addr; /* CONNECT/SENDTO: the destination, after
				      * name resolution, one check per
				      * datagram; BIND: the local address.
				      * Else NULL (ignored). */
	int opt_level, opt_name;     /* SETSOCKOPT: native */
	const void *opt_val;         /* SETSOCKOPT: the native value, or NULL
				      * (then a value-dependent option of
				      * rule 6 counts as privileged) */
	size_t opt_len;
	int opt_cur;                 /* SETSOCKOPT of an option for which
				      * sb__policy_opt_raises(): its current
				      * value (INT_MIN when unknown) */
	int port_start;              /* BIND: the broker netns'
				      * net.ipv4.ip_unprivileged_port_start;
				      * 0 or less reads as 1024 */
};

/* The why of a refusal for an unnamed family (rule 6a) other than packet
 * and netlink (those are EACCES, as every refusal): Socket and SocketPair
 * report it as EAFNOSUPPORT, as the kernel reports a family it lacks,
 * since to the caller the family is not there. */
#define SB__POL_WHY_FAMILY "sockets of families other than unix, inet, inet6, " \
	"packet and netlink are allowed only by a rule naming the family"

struct sb__pol_decision {
	int allow;
	char rule[64];     /* the deciding rule's name, or "default" */
	long index;        /* the deciding rule's index, -1 for "default" */
	const char *why;   /* static text for the log and the status message,
			    * e.g. "no rule allows it"; never NULL */
};

struct sb__policy;

/**
 * sb__policy_check() - decide one request
 * @p:  the policy; NULL denies everything
 * @id: the caller
 * @r:  the request
 * @d:  filled always (also on deny)
 *
 * Pure: no logging, no counting (the caller does both, naming d->rule).
 * Thread-safe. Return: d->allow (1 allow, 0 deny).
 */
int sb__policy_check(const struct sb__policy *p, const struct sb__identity *id,
		     const struct sb__pol_req *r, struct sb__pol_decision *d);

/**
 * sb__policy_opt_raises() - is only raising the native option @level/@name
 * privileged (SO_BUSY_POLL)? Then the caller fills sb__pol_req.opt_cur.
 * Return: 1 or 0.
 */
int sb__policy_opt_raises(int level, int name);

/**
 * sb__policy_serves() - could the policy allow @id anything at all?
 *
 * 1 when the first rule matching @id that is either an allow rule or an
 * unconstrained deny rule is an allow rule. Used to refuse a session (or a
 * connection) of a caller nobody serves; every call is still checked.
 * Thread-safe. Return: 1 or 0.
 */
int sb__policy_serves(const struct sb__policy *p, const struct sb__identity *id);

/**
 * sb__policy_default() - the embedded policy: one rule "owner" allowing
 * local callers with uid @owner or 0 everything that needs no naming
 * (rule 6 above still holds: no raw/packet sockets, no SO_BINDTODEVICE...).
 * Built once per owner and shared (a cache keeps one reference for the
 * life of the process). Thread-safe.
 * Return: a reference to the policy, or NULL when out of memory.
 */
struct sb__policy *sb__policy_default(uid_t owner);

/** sb__policy_ref() - take a reference. Thread-safe. Return: @p. */
struct sb__policy *sb__policy_ref(struct sb__policy *p);

/** sb__policy_free() - drop a reference; the last frees. NULL is a no-op.
 *  Thread-safe; the caller must not use @p afterwards. */
void sb__policy_free(struct sb__policy *p);

/**
 * sb__policy_describe() - rule @i of @p in one line for people ("allow
 * \"owner\": uid 0; every operation"), cut to @len. Not for parsing.
 * Return: 0, or -EINVAL when there is no such rule.
 */
int sb__policy_describe(const struct sb__policy *p, size_t i, char *buf, size_t len);

/** sb__policy_rule_count() - number of rules, for the log. */
size_t sb__policy_rule_count(const struct sb__policy *p);

/** sb__policy_rule_name() - the name of rule @i of @p, for its counters;
 *  NULL when out of range. Lives as long as @p. */
const char *sb__policy_rule_name(const struct sb__policy *p, size_t i);

/* What a policy can make the broker ask of the kernel (a bit each). */
enum sb__pol_need_bit {
	SB__NEED_BIT_BIND_SERVICE,  /* CAP_NET_BIND_SERVICE: a low port (6c) */
	SB__NEED_BIT_NET_RAW,       /* CAP_NET_RAW: raw, packet sockets, some options */
	SB__NEED_BIT_NET_ADMIN,     /* CAP_NET_ADMIN: the options that need it, netlink */
	SB__NEED_BIT_AS_CALLER,     /* CAP_SETUID, CAP_SETGID: Unix addresses
				     * reached as a caller (ascaller.h) */
	SB__NEED_COUNT
};
#define SB__NEED_NET_BIND_SERVICE (1u << SB__NEED_BIT_BIND_SERVICE)
#define SB__NEED_NET_RAW          (1u << SB__NEED_BIT_NET_RAW)
#define SB__NEED_NET_ADMIN        (1u << SB__NEED_BIT_NET_ADMIN)
#define SB__NEED_AS_CALLER        (1u << SB__NEED_BIT_AS_CALLER)

struct sb__pol_needs {
	unsigned caps;                    /* SB__NEED_* */
	uint64_t families;                /* 1 << AF_*: families other than
					   * unix, inet and inet6 that an
					   * allow rule names (rule 6a) */
	char why[SB__NEED_COUNT][128];    /* per bit set: the first rule that
					   * needs it and what it names */
};

/**
 * sb__policy_needs() - the capabilities the kernel can check when @p's
 * allow rules are used to the full (rule 6: only a rule naming a low
 * port, a raw or packet socket type or family, a netlink family or a
 * privileged option lends a privilege); and SB__NEED_AS_CALLER when an
 * allow rule can let a local caller other than root reach a Unix address
 * (connect, sendto or bind), which the broker does with the caller's ids
 * @p:          the policy; NULL needs nothing
 * @port_start: net.ipv4.ip_unprivileged_port_start (0 or less: 1024)
 * @n:          filled always
 *
 * Pure and thread-safe. isolation.c keeps exactly these after start-up.
 */
void sb__policy_needs(const struct sb__policy *p, int port_start, struct sb__pol_needs *n);

/** sb__pol_op_name() - "connect" for SB__POL_CONNECT; "?" if out of range. */
const char *sb__pol_op_name(enum sb__pol_op op);

#endif /* SB_SERVER_POLICY_H */
