/* SPDX-License-Identifier: MIT
 * guard.h - the policy in force, and the one place where calls are
 * checked against it. The policy is swapped whole on a reload (SIGHUP);
 * calls already checked keep what they were granted.
 */
#ifndef SB_SERVER_GUARD_H
#define SB_SERVER_GUARD_H

#include "policy.h"
#include "rpc.h"

/** sb__guard_set() - put @p in force (the guard owns it from now on) and
 *  free the previous policy once no check uses it. */
void sb__guard_set(struct sb__policy *p);

/** sb__guard_serves() - 1 when the policy in force could allow @id
 *  anything (sessions of others are refused at once). */
int sb__guard_serves(const struct sb__identity *id);

/**
 * sb__guard_check() - may the caller of @c do @r?
 * Return: 0 (allowed), or -EACCES after failing @c with PERMISSION_DENIED
 *         naming the rule; the refusal is logged and counted.
 */
int sb__guard_check(struct sb__call *c, const struct sb__pol_req *r);

/** sb__guard_allows() - the same decision without failing a call (for a
 *  stream's later datagrams); @rule gets the deciding rule's name.
 *  Return: 1 allowed, 0 refused (logged and counted). */
int sb__guard_allows(const struct sb__identity *id, const struct sb__pol_req *r,
		     char *rule, size_t rulelen);

/** sb__guard_free() - at shutdown. */
void sb__guard_free(void);

#endif /* SB_SERVER_GUARD_H */
