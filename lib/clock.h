/* SPDX-License-Identifier: MIT
 * clock.h - the monotonic clock in milliseconds that deadlines, timeouts
 * and uptime are counted on, in the broker and in the client library.
 */
#ifndef SB_LIB_CLOCK_H
#define SB_LIB_CLOCK_H

#include <stdint.h>

/** sb__now_ms() - CLOCK_MONOTONIC in ms. Thread-safe; never fails. */
int64_t sb__now_ms(void);

#endif /* SB_LIB_CLOCK_H */
