/* SPDX-License-Identifier: MIT
 * isolation.h - the broker confines itself after start-up: no new
 * privileges, only the capabilities its configuration can need, the
 * configured user, and a system call allowlist. The stages and what each
 * may do are written at the top of isolation.c.
 */
#ifndef SB_SERVER_ISOLATION_H
#define SB_SERVER_ISOLATION_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"

/* What confinement keeps for one configuration. */
struct sb__isol_plan {
	uint64_t caps;                 /* capability numbers kept (1 << CAP_*) */
	char why[8][160];              /* per kept capability, in sb__isolation's
					* order: who needs it */
	uint64_t families;             /* 1 << AF_*: socket() families allowed
					* beyond unix, inet, inet6 and netlink */
};

/**
 * sb__isolation_plan() - the capabilities @cfg can need: its policy's
 * (sb__policy_needs()), CAP_NET_BIND_SERVICE for a TCP listener on a low
 * port, CAP_SYS_ADMIN/CAP_SETUID/CAP_SETGID for confine.credentials.
 * Reads net.ipv4.ip_unprivileged_port_start. Thread-safe.
 */
void sb__isolation_plan(const struct sb__config *cfg, struct sb__isol_plan *plan);

/**
 * sb__isolation_describe() - the confinement @cfg would apply, as lines
 * "confine ..." for --check-config, into @f.
 */
void sb__isolation_describe(const struct sb__config *cfg, FILE *f);

/**
 * sb__isolation_confine() - enter the confined stage (isolation.c, stage 3)
 * @cfg: the configuration in force (its confine section and policy)
 * @err: on failure, what failed
 *
 * Must run in the main thread before any other thread exists
 * (capabilities are per thread; threads made later inherit them): checked.
 * Once: what it drops does not come back. Logs what was kept.
 * Return: 0, or -errno (the caller dies: a half-confined broker does not
 * serve).
 */
int sb__isolation_confine(const struct sb__config *cfg, char *err, size_t errlen);

/**
 * sb__isolation_reload_ok() - can @nc be put in force by a reload? Not
 * when it needs a capability that confinement did not keep for the
 * configuration of the start, or a socket family the system call filter
 * does not allow (neither can come back).
 * Before sb__isolation_confine() everything is possible.
 * Return: 0, or -EPERM with @err naming the capability and the rule.
 */
int sb__isolation_reload_ok(const struct sb__config *nc, char *err, size_t errlen);

#endif /* SB_SERVER_ISOLATION_H */
