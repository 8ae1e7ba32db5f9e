/* SPDX-License-Identifier: MIT
 * bench_dial.c - connections opened per second, each with a one-byte
 * exchange and a close, four ways in one run: (a) a direct connect(2),
 * (b) a SOCKS5 CONNECT through microsocks (Debian's, run as a child),
 * (c) the broker one call at a time (sb_socket, sb_connect, sb_send,
 * sb_recv, sb_close), (d) the broker with Dial (sb_tcp_connect,
 * sb_send, sb_recv, sb_close) and (e) Dial with hand-off
 * (sb_tcp_connect_fd, then write, read, close on the real fd). Prints the
 * rates and the ratios of (c)-(e) to (a) and (b). A measurement, not a
 * test.
 * Knob: BENCH_DIAL_SECS (default 2) seconds per way.
 */
#include <arpa/inet.h>
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

static struct sockaddr_in lo(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sin;
}

static int native_connect(uint16_t port)
{
	struct sockaddr_in sin = lo(port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int read_n(int fd, void *buf, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);

		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static int ping_native(int fd)
{
	char b = 'x';

	return write(fd, &b, 1) == 1 && read_n(fd, &b, 1) == 0 ? 0 : -1;
}

/* One connection each way. Return: 0 or -1. */
static int one_direct(void)
{
	int fd = native_connect(g_echo_port), r;

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
	int fd = native_connect(g_socks_port), r = -1;

	if (fd < 0)
		return -1;
	req[8] = (uint8_t)(g_echo_port >> 8);
	req[9] = (uint8_t)(g_echo_port & 0xff);
	if (write(fd, hello, 3) == 3 && read_n(fd, rep, 2) == 0 && rep[1] == 0 &&
	    write(fd, req, 10) == 10 && read_n(fd, rep, 10) == 0 && rep[1] == 0)
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
	struct sockaddr_in sin = lo(g_echo_port);
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

static uint16_t listen_lo(int *lfd)
{
	struct sockaddr_in sin = lo(0);
	socklen_t len = sizeof(sin);

	*lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*lfd < 0 || bind(*lfd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(*lfd, 512) < 0 || getsockname(*lfd, (struct sockaddr *)&sin, &len) < 0)
		return 0;
	return ntohs(sin.sin_port);
}

int main(void)
{
	const char *e = getenv("BENCH_DIAL_SECS");
	double secs = e ? atof(e) : 2.0, r[5];
	char sock[128], log[128], slog[128], listen_arg[160], pbuf[8];
	const char *bargv[] = { SB_BROKERD_PATH, "--listen", listen_arg, NULL };
	const char *sargv[] = { "microsocks", "-i", "127.0.0.1", "-p", pbuf, NULL };
	pthread_t th;
	pid_t broker, socks;
	int lfd, sfd, i, rc = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (secs <= 0 || secs > 30)
		secs = 2.0;
	snprintf(g_dir, sizeof(g_dir), "/tmp/bench_dial.XXXXXX");
	if (!mkdtemp(g_dir))
		return 1;
	snprintf(sock, sizeof(sock), "%s/broker.sock", g_dir);
	snprintf(log, sizeof(log), "%s/broker.log", g_dir);
	snprintf(slog, sizeof(slog), "%s/microsocks.log", g_dir);
	snprintf(listen_arg, sizeof(listen_arg), "unix:%s", sock);
	g_echo_port = listen_lo(&lfd);
	if (!g_echo_port || pthread_create(&th, NULL, echo_main, &lfd))
		goto out_dir;
	/* A free port for microsocks: bind one, let it go, hand it over. */
	g_socks_port = listen_lo(&sfd);
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
	r[0] = rate(one_direct, secs, "direct");
	r[1] = rate(one_socks, secs, "microsocks");
	r[2] = rate(one_calls, secs, "broker calls");
	r[3] = rate(one_dial, secs, "broker Dial");
	r[4] = rate(one_dial_fd, secs, "broker Dial + hand-off");
	printf("bench_dial: TCP connections/s over loopback, each 1 byte each way + close "
	       "(%.1f s per way)\n", secs);
	printf("  %-34s %10.0f /s\n", "(a) direct connect", r[0]);
	printf("  %-34s %10.0f /s\n", "(b) microsocks SOCKS5 CONNECT", r[1]);
	printf("  %-34s %10.0f /s  %.2fx direct  %.2fx microsocks\n",
	       "(c) broker socket+connect+...+close", r[2], r[2] / r[0], r[1] > 0 ? r[2] / r[1] : 0);
	printf("  %-34s %10.0f /s  %.2fx direct  %.2fx microsocks\n",
	       "(d) broker sb_tcp_connect (Dial)", r[3], r[3] / r[0], r[1] > 0 ? r[3] / r[1] : 0);
	printf("  %-34s %10.0f /s  %.2fx direct  %.2fx microsocks\n",
	       "(e) sb_tcp_connect_fd (hand-off)", r[4], r[4] / r[0], r[1] > 0 ? r[4] / r[1] : 0);
	printf("  Dial vs one call at a time: %.2fx\n", r[2] > 0 ? r[3] / r[2] : 0);
	rc = r[0] > 0 && r[1] > 0 && r[2] > 0 && r[3] > 0 && r[4] > 0 ? 0 : 1;
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
