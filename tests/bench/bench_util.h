/* SPDX-License-Identifier: MIT
 * bench_util.h - what both benchmarks need around the broker: a clock,
 * sleeping, starting and stopping child processes, the file limit.
 */
#ifndef SB_BENCH_UTIL_H
#define SB_BENCH_UTIL_H

#include <stdint.h>
#include <sys/types.h>

/** bench_now_ns() - CLOCK_MONOTONIC in nanoseconds. */
int64_t bench_now_ns(void);

/** bench_sleep_ms() - sleep, restarting after signals. */
void bench_sleep_ms(int ms);

/** bench_connectable() - 1 when the Unix socket @path accepts a connect. */
int bench_connectable(const char *path);

/** bench_spawn() - fork + exec @argv (searched in PATH) with stdin from
 *  /dev/null and stdout/stderr to the file @log; the child dies with us.
 *  @prog names the benchmark in an exec failure. Return: pid or -1. */
pid_t bench_spawn(const char *const *argv, const char *log, const char *prog);

/** bench_stop_child() - SIGTERM, wait up to @wait_ms, then SIGKILL.
 *  Return: the exit status (128 + signal), or -1. */
int bench_stop_child(pid_t pid, int wait_ms);

/** bench_raise_nofile() - RLIMIT_NOFILE to @want (children inherit it),
 *  else the hard limit, saying so on stdout for @prog.
 *  Return: the soft limit now in force, or -1. */
long bench_raise_nofile(long want, const char *prog);

/** bench_print_file() - copy the file @path to stderr (a child's log). */
void bench_print_file(const char *path);

#endif /* SB_BENCH_UTIL_H */
