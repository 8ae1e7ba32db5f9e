/* SPDX-License-Identifier: MIT
 * policy_rules.h - the built policy's data (rules, their match keys and
 * constraint lists, the operation sets), shared by the decision
 * (policy.c) and the YAML reader (policy_read.c) and by nothing else.
 */
#ifndef SB_SERVER_POLICY_RULES_H
#define SB_SERVER_POLICY_RULES_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "policy.h"

#define SB__N(a) (sizeof(a) / sizeof((a)[0]))

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

struct sb__optid {
	int level, name;
};

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
	char **listeners;  /* identities of Unix listeners (listen: identity:) */
	size_t n_listeners;
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

/** sb__policy_alloc() - an empty policy with room for @n rules and one
 *  reference. Return: the policy, or NULL when out of memory. */
struct sb__policy *sb__policy_alloc(size_t n);

/** sb__path_clean() - 1 when the @n bytes at @p are an absolute path with
 *  no "//", "." or ".." component (policy.h rule 5). */
int sb__path_clean(const uint8_t *p, size_t n);

/** sb__rule_release() - free what a rule holds (not the rule itself). */
void sb__rule_release(struct sb__rule *r);

#endif /* SB_SERVER_POLICY_RULES_H */
