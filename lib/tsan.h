/* SPDX-License-Identifier: MIT
 * tsan.h - hand-overs through libraries ThreadSanitizer cannot see.
 *
 * Debian's gRPC and abseil are not built with TSan: when one of our threads
 * starts a gRPC batch and another takes its tag off the completion queue,
 * gRPC orders the two with its own locks, which TSan does not see, and
 * everything the first thread wrote before the batch reads as a race in the
 * second. SB__HB_RELEASE(p) before the hand-over and SB__HB_ACQUIRE(p)
 * after it tell TSan what gRPC guarantees. Outside a TSan build (-DSB_TSAN)
 * they are nothing.
 */
#ifndef SB_LIB_TSAN_H
#define SB_LIB_TSAN_H

#if defined(__SANITIZE_THREAD__)
#define SB__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SB__TSAN 1
#endif
#endif

#ifdef SB__TSAN
#include <sanitizer/tsan_interface.h>
#define SB__HB_RELEASE(p) __tsan_release((void *)(p))
#define SB__HB_ACQUIRE(p) __tsan_acquire((void *)(p))
#else
#define SB__HB_RELEASE(p) ((void)(p))
#define SB__HB_ACQUIRE(p) ((void)(p))
#endif

#endif /* SB_LIB_TSAN_H */
