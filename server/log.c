/* SPDX-License-Identifier: MIT
 * log.c - the broker's log lines on stderr.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Written by the SIGHUP reload while every thread reads it. */
static atomic_int sb__log_max = SB__LOG_INFO;

void sb__log_set_level(enum sb__log_level lvl)
{
	atomic_store_explicit(&sb__log_max, (int)lvl, memory_order_relaxed);
}

__attribute__((format(printf, 2, 0)))
static void sb__log_v(enum sb__log_level lvl, const char *fmt, va_list ap)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char line[1024];
	struct timespec ts;
	struct tm tm;
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ sockbrokerd %s: ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, names[lvl]);
	if (n < 0)
		return;
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	/* One write per line so that lines of several threads never mix. */
	n = (int)strnlen(line, sizeof(line) - 2);
	line[n++] = '\n';
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

void sb__log(enum sb__log_level lvl, const char *fmt, ...)
{
	va_list ap;

	if ((int)lvl > atomic_load_explicit(&sb__log_max, memory_order_relaxed))
		return;
	va_start(ap, fmt);
	sb__log_v(lvl, fmt, ap);
	va_end(ap);
}

void sb__die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb__log_v(SB__LOG_ERR, fmt, ap);
	va_end(ap);
	exit(1);
}
