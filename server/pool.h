/* SPDX-License-Identifier: MIT
 * pool.h - the resolver pool: a few threads for calls that block in libc
 * (getaddrinfo, getnameinfo, getifaddrs), so CQ threads never do.
 */
#ifndef SB_SERVER_POOL_H
#define SB_SERVER_POOL_H

/** sb__pool_start() - Return: 0 or -errno. Start-up only. */
int sb__pool_start(unsigned threads);

/** sb__pool_submit() - run fn(arg) on a pool thread. Return: 0 or -ENOMEM
 *  (then fn is not run). Thread-safe. */
int sb__pool_submit(void (*fn)(void *), void *arg);

/** sb__pool_stop() - run what is queued, then join the threads. */
void sb__pool_stop(void);

#endif /* SB_SERVER_POOL_H */
