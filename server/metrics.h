/* SPDX-License-Identifier: MIT
 * metrics.h - the optional HTTP listener that serves GetStats as
 * Prometheus text at /metrics (config `metrics:`).
 *
 * Rules of the listener:
 *  1. It is bound at start-up, before confinement, and never changes
 *     while the broker runs: a reload that changes `metrics:` is logged,
 *     not applied.
 *  2. It serves GET and HEAD of /metrics only: other paths are 404, other
 *     methods 405 (Allow: GET, HEAD).
 *  3. Its work is bounded: SB__METRICS_CONNS connections at once (more are
 *     closed at accept), SB__METRICS_REQ_BYTES of request line and
 *     headers (more is 431, or 414 for the line), SB__METRICS_TIMEOUT_S
 *     without a byte closes a connection.
 *  4. It runs in a thread of its own (libmicrohttpd's, with epoll): a
 *     client of it never holds up a call of the broker; a scrape reads
 *     the same lock-free counters GetStats reads.
 */
#ifndef SB_SERVER_METRICS_H
#define SB_SERVER_METRICS_H

#include <stddef.h>

#include "config.h"

#define SB__METRICS_CONNS     16
#define SB__METRICS_REQ_BYTES 8192
#define SB__METRICS_TIMEOUT_S 5

/**
 * sb__metrics_open() - bind and listen on @m's address (nothing when
 * @m is not enabled). Start-up only, before confinement.
 * Return: 0, or -errno with @err set.
 */
int sb__metrics_open(const struct sb__metrics_cfg *m, char *err, size_t errlen);

/**
 * sb__metrics_start() - start serving on the socket sb__metrics_open()
 * bound (nothing when none), after confinement. Return: 0, or -EIO.
 */
int sb__metrics_start(void);

/** sb__metrics_stop() - stop serving and close the socket. Idempotent. */
void sb__metrics_stop(void);

#endif /* SB_SERVER_METRICS_H */
