/* SPDX-License-Identifier: MIT
 * guard.h - the policy in force, and the one place where requests are
 * decided against it. The policy is swapped whole on a reload (SIGHUP);
 * calls already checked keep what they were granted. The guard decides,
 * logs and counts; failing a call is the caller's (ops.h: sb__op_check()).
 */
#ifndef SB_SERVER_GUARD_H
#define SB_SERVER_GUARD_H

#include <stddef.h>

#include "identity.h"
#include "policy.h"

/** sb__guard_set() - put @p in force (the guard owns it from now on) and
 *  free the previous policy once no check uses it. */
void sb__guard_set(struct sb__policy *p);

/** sb__guard_serves() - 1 when the policy in force could allow @id
 *  anything (sessions of others are refused at once). */
int sb__guard_serves(const struct sb__identity *id);

/* A decision, with what a refusal's message needs. */
struct sb__verdict {
	int allow;
	char rule[256];   /* the deciding rule's name, and why; "" if allowed */
	char what[200];   /* the request in words ("connect 10.0.0.1:80");
			   * "" if allowed */
};

/**
 * sb__guard_decide() - may @id do @r under the policy in force?
 * @v: filled always
 *
 * A refusal is logged and counted against @id. Thread-safe.
 * Return: @v->allow (1 allowed, 0 refused).
 */
int sb__guard_decide(const struct sb__identity *id, const struct sb__pol_req *r,
		     struct sb__verdict *v);

/** sb__guard_free() - at shutdown. */
void sb__guard_free(void);

#endif /* SB_SERVER_GUARD_H */
