/* SPDX-License-Identifier: MIT
 * bench_util.h - what the benchmarks need around the broker: a clock,
 * sleeping, starting and stopping child processes, the file limit,
 * loopback sockets and summary statistics.
 */
#ifndef SB_BENCH_UTIL_H
#define SB_BENCH_UTIL_H

#include <netinet/in.h>
#include <stddef.h>
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

/** bench_lo() - 127.0.0.1:@port (host order). */
struct sockaddr_in bench_lo(uint16_t port);

/** bench_listen_lo() - a TCP listener on 127.0.0.1, an ephemeral port,
 *  backlog 512, into *@lfd. Return: its port, or 0 (*@lfd may be -1). */
uint16_t bench_listen_lo(int *lfd);

/** bench_connect_lo() - a blocking TCP connection to 127.0.0.1:@port.
 *  Return: the fd, or -1. */
int bench_connect_lo(uint16_t port);

/** bench_read_full() / bench_write_all() - exactly @n bytes, blocking.
 *  Return: 0, or -1 on an error or an early end. */
int bench_read_full(int fd, void *buf, size_t n);
int bench_write_all(int fd, const void *buf, size_t n);

/** bench_median() - sorts @v (@n > 0 values) and returns the median. */
double bench_median(double *v, size_t n);

/* Rounds a benchmark repeats its measurements, at most. */
#define BENCH_MAX_ROUNDS 9

/** bench_spread() - min, median and max of @v[0..@n) into @out[0..2];
 *  @v is left as it is. @n: 1..BENCH_MAX_ROUNDS. */
void bench_spread(const double *v, int n, double out[3]);

/** bench_pct_ns() - sorts @v (@n > 0 values) and returns percentile
 *  @p (0..100) of it. */
int64_t bench_pct_ns(int64_t *v, size_t n, double p);

#endif /* SB_BENCH_UTIL_H */
