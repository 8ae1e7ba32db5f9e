/* SPDX-License-Identifier: MIT
 * clock.h - the monotonic clock in milliseconds that deadlines, timeouts
 * and uptime are counted on, in the broker and in the client library, and
 * the conversions onto it, which saturate: no input wraps a deadline into
 * the past.
 */
#ifndef SB_LIB_CLOCK_H
#define SB_LIB_CLOCK_H

#include <stdint.h>

struct timeval;

/** sb__now_ms() - CLOCK_MONOTONIC in ms. Thread-safe; never fails. */
int64_t sb__now_ms(void);

/** sb__now_us() - CLOCK_MONOTONIC in us, for durations. Thread-safe; never
 *  fails. */
int64_t sb__now_us(void);

/** sb__ms_add() - @now + @ms (ms >= 0), or INT64_MAX ("no deadline") when
 *  the sum does not fit. */
int64_t sb__ms_add(int64_t now, int64_t ms);

/** sb__timeval_to_ms() - a socket timeout in ms, rounded up as the kernel
 *  rounds to its ticks; negative is 0, and a tv_sec too large for ms (the
 *  kernel keeps 3e16 s as given) is INT64_MAX. */
int64_t sb__timeval_to_ms(const struct timeval *tv);

#endif /* SB_LIB_CLOCK_H */
