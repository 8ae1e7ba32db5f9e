/* SPDX-License-Identifier: MIT
 * log.c - the broker's log lines on stderr.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static enum sb__log_level sb__log_max = SB__LOG_INFO;

void sb__log_set_level(enum sb__log_level lvl)
{
	sb__log_max = lvl;
}

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

	if (lvl > sb__log_max)
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
