/* SPDX-License-Identifier: MIT
 * bench_dial.c - connections opened per second, each with a one-byte
 * exchange and a close, four ways in one run: (a) a direct connect(2),
 * (b) a SOCKS5 CONNECT through microsocks (Debian's, run as a child),
 * (c) the broker one call at a time (sb_socket, sb_connect, sb_send,
 * sb_recv, sb_close), (d) the broker with Dial (sb_tcp_connect,
 * sb_send, sb_recv, sb_close) and (e) Dial with hand-off
 * (sb_tcp_connect_fd, then write, read, close on the real fd). Prints the
 * rates and the ratios of (c)-(e) to (a) and (b). The ways take turns,
 * round after round, so that a neighbour's load falls on all of them;
 * each rate and ratio is given as min / median / max over the rounds,
 * and the target (Dial + hand-off at least as fast as microsocks, by its
 * median ratio) as PASS/MISS. A measurement, not a test.
 * Knobs: BENCH_DIAL_SECS (default 3) seconds per way and round,
 *        BENCH_DIAL_ROUNDS (default 3, at most 9).
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sockbroker.h>

#include "bench_util.h"

static char g_dir[64];
static uint16_t g_echo_port;

/* The server: accept, answer one byte per byte, until the peer closes. */
static void *echo_main(void *arg)
{
	int lfd = *(int *)arg;

	for (;;) {
		char b;
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			continue;
		while (read(fd, &b, 1) == 1)
			if (write(fd, &b, 1) != 1)
				break;
		close(fd);
	}
	return NULL;
}

static int ping_native(int fd)
{
	char b = 'x';

	return write(fd, &b, 1) == 1 && bench_read_full(fd, &b, 1) == 0 ? 0 : -1;
}

/* One connection each way. Return: 0 or -1. */
static int one_direct(void)
{
	int fd = bench_connect_lo(g_echo_port), r;

	if (fd < 0)
		return -1;
	r = ping_native(fd);
	close(fd);
	return r;
}

static uint16_t g_socks_port;

static int one_socks(void)
{
	uint8_t hello[3] = { 5, 1, 0 }, req[10] = { 5, 1, 0, 1, 127, 0, 0, 1, 0, 0 }, rep[10];
	int fd = bench_connect_lo(g_socks_port), r = -1;

	if (fd < 0)
		return -1;
	req[8] = (uint8_t)(g_echo_port >> 8);
	req[9] = (uint8_t)(g_echo_port & 0xff);
	if (write(fd, hello, 3) == 3 && bench_read_full(fd, rep, 2) == 0 && rep[1] == 0 &&
	    write(fd, req, 10) == 10 && bench_read_full(fd, rep, 10) == 0 && rep[1] == 0)
		r = ping_native(fd);
	close(fd);
	return r;
}

static sb_client *g_c;

static int ping_broker(int s)
{
	char b = 'x';

	return sb_send(g_c, s, &b, 1, 0) == 1 && sb_recv(g_c, s, &b, 1, 0) == 1 ? 0 : -1;
}

static int one_calls(void)
{
	struct sockaddr_in sin = bench_lo(g_echo_port);
	int s = sb_socket(g_c, AF_INET, SOCK_STREAM, 0), r = -1;

	if (s < 0)
		return -1;
	if (sb_connect(g_c, s, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		r = ping_broker(s);
	return sb_close(g_c, s) < 0 ? -1 : r;
}

static int one_dial(void)
{
	char port[8];
	int s, r;

	snprintf(port, sizeof(port), "%u", g_echo_port);
	s = sb_tcp_connect(g_c, "127.0.0.1", port, NULL, NULL, 2000);
	if (s < 0)
		return -1;
	r = ping_broker(s);
	return sb_close(g_c, s) < 0 ? -1 : r;
}

static int one_dial_fd(void)
{
	char port[8];
	int fd, r;

	snprintf(port, sizeof(port), "%u", g_echo_port);
	fd = sb_tcp_connect_fd(g_c, "127.0.0.1", port, 2000);
	if (fd < 0)
		return -1;
	r = ping_native(fd);
	close(fd);
	return r;
}

/* Connections per second of @one over @secs seconds (at most 1e6). */
static double rate(int (*one)(void), double secs, const char *name)
{
	int64_t t0 = bench_now_ns(), until = t0 + (int64_t)(secs * 1e9), now = t0;
	long n = 0;

	while (now < until && n < 1000000) {
		if (one() < 0) {
			fprintf(stderr, "bench_dial: %s failed: %s\n", name, strerror(errno));
			return 0;
		}
		n++;
		now = bench_now_ns();
	}
	return (double)n / ((double)(now - t0) / 1e9);
}

#define WAYS 5

static const struct way {
	int (*one)(void);
	const char *name;   /* in failure messages */
	const char *label;  /* in the table */
} g_ways[WAYS] = {
	{ one_direct, "direct", "(a) direct connect" },
	{ one_socks, "microsocks", "(b) microsocks SOCKS5 CONNECT" },
	{ one_calls, "broker calls", "(c) broker socket+connect+...+close" },
	{ one_dial, "broker Dial", "(d) broker sb_tcp_connect (Dial)" },
	{ one_dial_fd, "broker Dial + hand-off", "(e) sb_tcp_connect_fd (hand-off)" },
};

static void print_row(const char *label, const double *v, int n, const char *unit)
{
	double m[3];

	bench_spread(v, n, m);
	printf("  %-38s %9.0f %9.0f %9.0f %s\n", label, m[0], m[1], m[2], unit);
}

static void print_ratio(const char *label, const double *a, const double *b, int n,
			const char *target)
{
	double q[BENCH_MAX_ROUNDS], m[3];
	int i;

	for (i = 0; i < n; i++)
		q[i] = b[i] > 0 ? a[i] / b[i] : 0;
	bench_spread(q, n, m);
	printf("  %-38s %9.2f %9.2f %9.2f%s%s\n", label, m[0], m[1], m[2],
	       target ? " " : "", target ? target : "");
}

int main(void)
{
	const char *e = getenv("BENCH_DIAL_SECS"), *er = getenv("BENCH_DIAL_ROUNDS");
	double secs = e ? atof(e) : 3.0, r[WAYS][BENCH_MAX_ROUNDS], m[3];
	char sock[128], log[128], slog[128], listen_arg[160], pbuf[8];
	const char *bargv[] = { SB_BROKERD_PATH, "--listen", listen_arg, NULL };
	const char *sargv[] = { "microsocks", "-i", "127.0.0.1", "-p", pbuf, NULL };
	pthread_t th;
	pid_t broker, socks;
	int lfd, sfd, i, w, rounds = er ? atoi(er) : 3, rc = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (secs <= 0 || secs > 30)
		secs = 3.0;
	if (rounds < 1 || rounds > BENCH_MAX_ROUNDS)
		rounds = 3;
	snprintf(g_dir, sizeof(g_dir), "/tmp/bench_dial.XXXXXX");
	if (!mkdtemp(g_dir))
		return 1;
	snprintf(sock, sizeof(sock), "%s/broker.sock", g_dir);
	snprintf(log, sizeof(log), "%s/broker.log", g_dir);
	snprintf(slog, sizeof(slog), "%s/microsocks.log", g_dir);
	snprintf(listen_arg, sizeof(listen_arg), "unix:%s", sock);
	g_echo_port = bench_listen_lo(&lfd);
	if (!g_echo_port || pthread_create(&th, NULL, echo_main, &lfd))
		goto out_dir;
	/* A free port for microsocks: bind one, let it go, hand it over. */
	g_socks_port = bench_listen_lo(&sfd);
	close(sfd);
	snprintf(pbuf, sizeof(pbuf), "%u", g_socks_port);
	broker = bench_spawn(bargv, log, "bench_dial");
	socks = bench_spawn(sargv, slog, "bench_dial");
	for (i = 0; i < 100 && !bench_connectable(sock); i++)
		bench_sleep_ms(50);
	bench_sleep_ms(200); /* microsocks has no readiness signal */
	g_c = broker > 0 ? sb_open(listen_arg) : NULL;
	if (!g_c || socks < 0) {
		fprintf(stderr, "bench_dial: broker or microsocks did not start\n");
		bench_print_file(log);
		goto out;
	}
	rc = 0;
	for (i = 0; i < rounds; i++)
		for (w = 0; w < WAYS; w++) {
			r[w][i] = rate(g_ways[w].one, secs, g_ways[w].name);
			if (r[w][i] <= 0)
				rc = 1;
		}
	printf("bench_dial: TCP connections/s over loopback, each 1 byte each way + close "
	       "(%.1f s per way, %d rounds taking turns)\n", secs, rounds);
	printf("  %-38s %9s %9s %9s\n", "way", "min", "median", "max");
	for (w = 0; w < WAYS; w++)
		print_row(g_ways[w].label, r[w], rounds, "/s");
	printf("  ratios, per round:\n");
	print_ratio("(c) / direct", r[2], r[0], rounds, NULL);
	print_ratio("(d) Dial / direct", r[3], r[0], rounds, NULL);
	print_ratio("(e) Dial + hand-off / direct", r[4], r[0], rounds, NULL);
	print_ratio("(c) / microsocks", r[2], r[1], rounds, NULL);
	print_ratio("(d) Dial / microsocks", r[3], r[1], rounds, NULL);
	print_ratio("(e) Dial + hand-off / microsocks", r[4], r[1], rounds, ">= 1.00");
	print_ratio("(d) Dial / (c) one call at a time", r[3], r[2], rounds, NULL);
	{
		double q[BENCH_MAX_ROUNDS];

		for (i = 0; i < rounds; i++)
			q[i] = r[1][i] > 0 ? r[4][i] / r[1][i] : 0;
		bench_spread(q, rounds, m);
		printf("  target: Dial + hand-off >= 1.00x microsocks (median %.2f): %s\n",
		       m[1], m[1] >= 1.0 ? "PASS" : "MISS");
	}
out:
	sb_close_client(g_c);
	if (socks > 0)
		bench_stop_child(socks, 2000);
	if (broker > 0)
		bench_stop_child(broker, 5000);
	unlink(log);
	unlink(slog);
out_dir:
	rmdir(g_dir);
	return rc;
}
