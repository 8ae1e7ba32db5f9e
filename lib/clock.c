/* SPDX-License-Identifier: MIT
 * clock.c - the monotonic clock in milliseconds (and microseconds), and time arithmetic that
 * saturates instead of wrapping.
 */
#include <stdint.h>
#include <sys/time.h>
#include <time.h>

#include "clock.h"

int64_t sb__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sb__now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t sb__ms_add(int64_t now, int64_t ms)
{
	return ms > INT64_MAX - now ? INT64_MAX : now + ms;
}

int64_t sb__timeval_to_ms(const struct timeval *tv)
{
	int64_t usec = tv->tv_usec > 0 ? tv->tv_usec : 0;

	if (tv->tv_sec < 0)
		return 0;
	if (tv->tv_sec >= INT64_MAX / 1000 - 1)
		return INT64_MAX;
	return (int64_t)tv->tv_sec * 1000 + (usec + 999) / 1000;
}
