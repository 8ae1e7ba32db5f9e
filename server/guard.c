/* SPDX-License-Identifier: MIT
 * guard.c - decisions on requests against the policy in force, which a
 * reload swaps atomically (a read-write lock: checks are short).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard.h"
#include "log.h"
#include "stats.h"

static pthread_rwlock_t sb__glock = PTHREAD_RWLOCK_INITIALIZER;
static struct sb__policy *sb__gpol;
/* The counters of each rule of sb__gpol, by index, and of "default";
 * looked up when the policy is put in force, so that a decision only adds. */
static struct sb__rulerec **sb__grecs;
static struct sb__rulerec *sb__gdefault;

void sb__guard_set(struct sb__policy *p)
{
	struct sb__rulerec **recs = NULL, **old_recs;
	struct sb__policy *old;
	size_t i, n = sb__policy_rule_count(p);

	if (!sb__gdefault)
		sb__gdefault = sb__rulerec_of("default");
	/* Out of memory, the rules' decisions go uncounted (never refused). */
	if (n)
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		recs = calloc(n, sizeof(*recs));
	for (i = 0; recs && i < n; i++)
		recs[i] = sb__rulerec_of(sb__policy_rule_name(p, i));
	pthread_rwlock_wrlock(&sb__glock);
	old = sb__gpol;
	old_recs = sb__grecs;
	sb__gpol = p;
	sb__grecs = recs;
	pthread_rwlock_unlock(&sb__glock);
	free(old_recs);
	if (old)
		sb__policy_free(old);
}

void sb__guard_free(void)
{
	sb__guard_set(NULL);
}

int sb__guard_serves(const struct sb__identity *id)
{
	int ok;

	pthread_rwlock_rdlock(&sb__glock);
	ok = sb__gpol && sb__policy_serves(sb__gpol, id);
	pthread_rwlock_unlock(&sb__glock);
	return ok;
}

/* What the request was about, for the log and the message. */
static void sb__guard_what(const struct sb__pol_req *r, char *buf, size_t len)
{
	const char *op = sb__pol_op_name(r->op);
	char a[160] = "";

	if (r->addr)
		sb__addr_format(r->addr, a, sizeof(a));
	if (r->op == SB__POL_SETSOCKOPT)
		snprintf(buf, len, "%s level %d option %d", op, r->opt_level, r->opt_name);
	else if (r->op == SB__POL_SOCKET)
		snprintf(buf, len, "%s family %d type %d protocol %d", op, r->family,
			 r->type, r->protocol);
	else if (a[0])
		snprintf(buf, len, "%s %s", op, a);
	else
		snprintf(buf, len, "%s", op);
}

/*
 * The first port an unprivileged process may bind in the broker's network
 * namespace, read at each bind check: an administrator may change it at
 * any time. Unreadable: 1024, the kernel's default. A sysctl of 0 gives 1:
 * only port 0 (any port) is below it, and that is never privileged.
 */
static int sb__guard_port_start(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "re");
	int v = 1024;

	if (!f)
		return v;
	/* The kernel writes the number; its range is checked here. */
	if (fscanf(f, "%d", &v) != 1 || v < 0 || v > 65536) /* NOLINT(cert-err34-c) */
		v = 1024;
	fclose(f);
	return v > 0 ? v : 1;
}

int sb__guard_decide(const struct sb__identity *id, const struct sb__pol_req *req,
		     struct sb__verdict *v)
{
	struct sb__pol_req rq = *req, *r = &rq;
	struct sb__pol_decision d;
	struct sb__rulerec *rec;

	if (r->op == SB__POL_BIND)
		r->port_start = sb__guard_port_start();
	memset(&d, 0, sizeof(d));
	pthread_rwlock_rdlock(&sb__glock);
	if (sb__gpol)
		sb__policy_check(sb__gpol, id, r, &d);
	else
		snprintf(d.rule, sizeof(d.rule), "default");
	rec = !sb__gpol || d.index < 0 ? sb__gdefault : sb__grecs ? sb__grecs[d.index] : NULL;
	if (rec)
		sb__stats_rule(rec, d.allow);
	pthread_rwlock_unlock(&sb__glock);
	v->allow = d.allow;
	/* The words are for refusals (the log, the status message): an
	 * allowed request, the common case, formats nothing. */
	v->rule[0] = v->what[0] = 0;
	if (d.allow)
		return 1;
	snprintf(v->rule, sizeof(v->rule), "%s%s%s", d.rule, d.why ? ": " : "",
		 d.why ? d.why : "");
	sb__guard_what(r, v->what, sizeof(v->what));
	sb__stats_denied(id);
	sb__info("policy: uid %u pid %d: %s refused by rule \"%s\"%s%s",
		 (unsigned)id->uid, (int)id->pid, v->what, d.rule, d.why ? ": " : "",
		 d.why ? d.why : "");
	return 0;
}
