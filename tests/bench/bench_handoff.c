/* SPDX-License-Identifier: MIT
 * bench_handoff.c - the data path of a handed-off socket, and the latency
 * of Pipe (the path of remote callers, who cannot receive fds), each
 * against its baseline in the same run:
 *
 *  1. Bulk: 64 KiB writes one way to a native sink on 127.0.0.1 for a
 *     bounded time, then a half close and the sink's close, over a direct
 *     connect(2) and over a fd from sb_tcp_connect_fd(). Target: hand-off
 *     >= 0.95x direct (it is the kernel's own socket).
 *  2. 64-byte ping-pong p50 / p99 with a native echo server, over a direct
 *     connection and over a handed-off fd. Target: direct p50 / hand-off
 *     p50 >= 0.95.
 *  3. 64-byte ping-pong through Pipe (sb_tcp_connect + sb_pipe_open,
 *     sb_pipe_write / sb_pipe_read) and through socat as a TCP relay
 *     (Debian's, run as a child: the baseline of a relay in user space).
 *     Target: Pipe p50 <= 1.20x socat's. For reference, the p50 of a
 *     unary call of the broker (sb_getsockname on the Pipe's socket), and
 *     of a bare gRPC C core bidi-stream echo in a child process
 *     (grpc_stream.c: no broker code, no socket behind it): the gRPC leg
 *     of a Pipe round trip, so that Pipe minus it is what the broker and
 *     the TCP leg add.
 *
 * The ways take turns, round after round, so that a neighbour's load falls
 * on all of them; every figure and ratio is min / median / max over the
 * rounds, and the targets are judged on the median ratio (PASS/MISS). A
 * measurement, not a test: exits 0 when every measurement ran.
 * Knobs: BENCH_HANDOFF_SECS (default 2) seconds per way and round;
 *        BENCH_HANDOFF_ROUNDS (default 3, at most 9).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sockbroker.h>

#include "bench_util.h"
#include "grpc_stream.h"

#define BULK_WRITE (64u << 10)      /* every write of the bulk test */
#define BULK_MAX (8ull << 30)       /* bytes per bulk run, at most */
#define PP_LEN 64                   /* ping-pong message */
#define PP_MAX 200000               /* round trips per ping-pong run, at most */
#define PP_WARM 200                 /* round trips before the timed ones */

static char g_dir[64];
static char g_gpath[96];            /* the bare gRPC echo's socket */
static uint16_t g_echo_port, g_sink_port, g_socat_port;
static sb_client *g_c;
static double g_secs = 2.0;
static int64_t *g_lat;              /* PP_MAX round-trip times */

/* ---- the native servers: a thread per connection ---- */

static void *echo_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char b[4096];
	ssize_t n;

	while ((n = read(fd, b, sizeof(b))) > 0)
		if (bench_write_all(fd, b, (size_t)n) < 0)
			break;
	close(fd);
	return NULL;
}

/* Reads until the peer's half close, then closes: the writer's end. */
static void *sink_conn(void *arg)
{
	static __thread char b[256u << 10];
	int fd = (int)(intptr_t)arg;

	while (read(fd, b, sizeof(b)) > 0)
		;
	close(fd);
	return NULL;
}

struct server {
	int lfd;
	void *(*conn)(void *);
};

static void *server_main(void *arg)
{
	struct server *sv = arg;

	for (;;) {
		pthread_t th;
		int fd = accept4(sv->lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			bench_sleep_ms(1);
			continue;
		}
		if (pthread_create(&th, NULL, sv->conn, (void *)(intptr_t)fd)) {
			close(fd);
			continue;
		}
		pthread_detach(th);
	}
	return NULL;
}

static uint16_t server_start(struct server *sv, void *(*conn)(void *))
{
	pthread_t th;
	uint16_t port = bench_listen_lo(&sv->lfd);

	sv->conn = conn;
	if (!port || pthread_create(&th, NULL, server_main, sv))
		return 0;
	pthread_detach(th);
	return port;
}

/* ---- the connections measured ---- */

enum path { DIRECT, HANDOFF, SOCAT, PIPE, UNARY, GSTREAM };
#define PATHS 6

struct conn {
	int fd;          /* DIRECT, HANDOFF, SOCAT */
	int s;           /* PIPE, UNARY: the broker's socket */
	sb_pipe *p;      /* PIPE */
	struct bench_gstream *g; /* GSTREAM */
};

static int conn_open(enum path path, uint16_t port, struct conn *x)
{
	char ps[8];

	memset(x, 0, sizeof(*x));
	x->fd = x->s = -1;
	snprintf(ps, sizeof(ps), "%u", port);
	switch (path) {
	case DIRECT:
		x->fd = bench_connect_lo(port);
		break;
	case HANDOFF:
		x->fd = sb_tcp_connect_fd(g_c, "127.0.0.1", ps, 2000);
		break;
	case SOCAT:
		x->fd = bench_connect_lo(g_socat_port);
		break;
	case PIPE:
	case UNARY:
		x->s = sb_tcp_connect(g_c, "127.0.0.1", ps, NULL, NULL, 2000);
		if (x->s < 0 || path == UNARY)
			return x->s < 0 ? -1 : 0;
		x->p = sb_pipe_open(g_c, x->s);
		if (!x->p) {
			sb_close(g_c, x->s);
			return -1;
		}
		return 0;
	case GSTREAM:
		x->g = bench_gstream_open(g_gpath);
		return x->g ? 0 : -1;
	}
	return x->fd < 0 ? -1 : 0;
}

static void conn_close(struct conn *x)
{
	if (x->g)
		bench_gstream_close(x->g);
	if (x->p)
		sb_pipe_close(x->p);
	if (x->s >= 0)
		sb_close(g_c, x->s);
	if (x->fd >= 0)
		close(x->fd);
}

static int conn_pingpong(struct conn *x, char *b)
{
	size_t got = 0;

	if (x->g)
		return bench_gstream_pingpong(x->g, b, PP_LEN);
	if (x->s >= 0 && !x->p) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		return sb_getsockname(g_c, x->s, (struct sockaddr *)&ss, &len);
	}
	if (!x->p)
		return bench_write_all(x->fd, b, PP_LEN) == 0 &&
		       bench_read_full(x->fd, b, PP_LEN) == 0 ? 0 : -1;
	if (sb_pipe_write(x->p, b, PP_LEN) != PP_LEN)
		return -1;
	while (got < PP_LEN) {
		ssize_t n = sb_pipe_read(x->p, b + got, PP_LEN - got);

		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* Ping-pong over @path: p50 and p99 in µs. Return: 0 or -1. */
static int run_pingpong(enum path path, double *p50, double *p99)
{
	char b[PP_LEN];
	struct conn x;
	int64_t t0, until;
	size_t n = 0;
	int i, rc = -1;

	memset(b, 'p', sizeof(b));
	if (conn_open(path, g_echo_port, &x) < 0)
		return -1;
	for (i = 0; i < PP_WARM; i++)
		if (conn_pingpong(&x, b) < 0)
			goto out;
	until = bench_now_ns() + (int64_t)(g_secs * 1e9);
	do {
		t0 = bench_now_ns();
		if (conn_pingpong(&x, b) < 0)
			goto out;
		g_lat[n++] = bench_now_ns() - t0;
	} while (n < PP_MAX && t0 < until);
	*p99 = (double)bench_pct_ns(g_lat, n, 99) / 1e3;
	*p50 = (double)bench_pct_ns(g_lat, n, 50) / 1e3;
	rc = 0;
out:
	conn_close(&x);
	return rc;
}

/* Bulk one way over @path: MB/s, up to the sink's close. Return: 0 or -1. */
static int run_bulk(enum path path, double *mbs)
{
	static char b[BULK_WRITE];
	struct conn x;
	uint64_t sent = 0;
	int64_t t0, until;
	int rc = -1;

	memset(b, 'b', sizeof(b));
	if (conn_open(path, g_sink_port, &x) < 0)
		return -1;
	t0 = bench_now_ns();
	until = t0 + (int64_t)(g_secs * 1e9);
	while (sent < BULK_MAX && bench_now_ns() < until) {
		if (bench_write_all(x.fd, b, sizeof(b)) < 0)
			goto out;
		sent += sizeof(b);
	}
	if (shutdown(x.fd, SHUT_WR) < 0 || read(x.fd, b, 1) != 0)
		goto out;
	*mbs = (double)sent / ((double)(bench_now_ns() - t0) / 1e9) / 1e6;
	rc = 0;
out:
	conn_close(&x);
	return rc;
}

/* ---- the report ---- */

static void row(const char *label, const double *v, int n, const char *unit)
{
	double m[3];

	bench_spread(v, n, m);
	printf("  %-40s %9.1f %9.1f %9.1f %s\n", label, m[0], m[1], m[2], unit);
}

/* Ratio @a / @b per round; prints it and, with @target, judges the median
 * against it (@at_least: the ratio must be >= @target, else <=). */
static int ratio_row(const char *label, const double *a, const double *b, int n,
		     double target, int at_least)
{
	double q[BENCH_MAX_ROUNDS], m[3];
	int i, ok;

	for (i = 0; i < n; i++)
		q[i] = b[i] > 0 ? a[i] / b[i] : 0;
	bench_spread(q, n, m);
	if (target <= 0) {
		printf("  %-40s %9.2f %9.2f %9.2f\n", label, m[0], m[1], m[2]);
		return 1;
	}
	ok = at_least ? m[1] >= target : m[1] <= target;
	printf("  %-40s %9.2f %9.2f %9.2f %s %.2f  %s\n", label, m[0], m[1], m[2],
	       at_least ? ">=" : "<=", target, ok ? "PASS" : "MISS");
	return ok;
}

static const char *g_pp_names[PATHS] = { "direct", "hand-off (sb_tcp_connect_fd)",
					 "socat relay", "Pipe",
					 "broker unary call",
					 "bare gRPC stream echo" };

int main(void)
{
	const char *e = getenv("BENCH_HANDOFF_SECS"), *er = getenv("BENCH_HANDOFF_ROUNDS");
	char sock[128], log[128], slog[128], listen_arg[160], lsock[96], csock[64];
	const char *bargv[] = { SB_BROKERD_PATH, "--listen", listen_arg, NULL };
	const char *sargv[] = { "socat", lsock, csock, NULL };
	double p50[PATHS][BENCH_MAX_ROUNDS], p99[PATHS][BENCH_MAX_ROUNDS], bulk[2][BENCH_MAX_ROUNDS];
	static struct server echo, sink;
	pid_t broker = -1, socat = -1, gecho = -1;
	int i, k, fd, rounds = er ? atoi(er) : 3, rc = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (e)
		g_secs = atof(e);
	if (g_secs <= 0 || g_secs > 30)
		g_secs = 2.0;
	if (rounds < 1 || rounds > BENCH_MAX_ROUNDS)
		rounds = 3;
	g_lat = malloc(PP_MAX * sizeof(*g_lat));
	snprintf(g_dir, sizeof(g_dir), "/tmp/bench_handoff.XXXXXX");
	if (!g_lat || !mkdtemp(g_dir))
		return 1;
	snprintf(sock, sizeof(sock), "%s/broker.sock", g_dir);
	snprintf(log, sizeof(log), "%s/broker.log", g_dir);
	snprintf(slog, sizeof(slog), "%s/socat.log", g_dir);
	snprintf(listen_arg, sizeof(listen_arg), "unix:%s", sock);
	snprintf(g_gpath, sizeof(g_gpath), "%s/grpc-echo.sock", g_dir);
	/* Forked before this process starts gRPC (sb_open below). */
	gecho = bench_gstream_spawn(g_gpath);
	g_echo_port = server_start(&echo, echo_conn);
	g_sink_port = server_start(&sink, sink_conn);
	if (!g_echo_port || !g_sink_port)
		goto out_dir;
	/* A free port for socat: bind one, let it go, hand it over. */
	g_socat_port = bench_listen_lo(&fd);
	close(fd);
	snprintf(lsock, sizeof(lsock), "TCP-LISTEN:%u,bind=127.0.0.1,reuseaddr,fork",
		 g_socat_port);
	snprintf(csock, sizeof(csock), "TCP:127.0.0.1:%u", g_echo_port);
	broker = bench_spawn(bargv, log, "bench_handoff");
	socat = bench_spawn(sargv, slog, "bench_handoff");
	for (i = 0; i < 100 && !bench_connectable(sock); i++)
		bench_sleep_ms(50);
	for (i = 0; i < 100 && gecho > 0 && !bench_connectable(g_gpath); i++)
		bench_sleep_ms(50);
	for (i = 0; i < 100 && (fd = bench_connect_lo(g_socat_port)) < 0; i++)
		bench_sleep_ms(50);
	if (fd >= 0)
		close(fd);
	g_c = broker > 0 ? sb_open(listen_arg) : NULL;
	if (!g_c || socat < 0 || fd < 0 || gecho < 0) {
		fprintf(stderr, "bench_handoff: broker, socat or the gRPC echo did not start\n");
		bench_print_file(log);
		bench_print_file(slog);
		goto out;
	}
	for (i = 0; i < rounds; i++) {
		for (k = 0; k < PATHS; k++)
			if (run_pingpong((enum path)k, &p50[k][i], &p99[k][i]) < 0) {
				fprintf(stderr, "bench_handoff: ping-pong %s failed: %s (%s)\n",
					g_pp_names[k], strerror(errno),
					sb_last_error() ? sb_last_error() : "");
				goto out;
			}
		for (k = 0; k < 2; k++)
			if (run_bulk((enum path)k, &bulk[k][i]) < 0) {
				fprintf(stderr, "bench_handoff: bulk %s failed: %s\n",
					g_pp_names[k], strerror(errno));
				goto out;
			}
	}
	rc = 0;
	printf("bench_handoff: TCP over loopback, %.1f s per way, %d rounds taking turns\n",
	       g_secs, rounds);
	printf("  %-40s %9s %9s %9s\n", "", "min", "median", "max");
	printf("  bulk, 64 KiB writes one way:\n");
	row("direct", bulk[DIRECT], rounds, "MB/s");
	row("hand-off (sb_tcp_connect_fd)", bulk[HANDOFF], rounds, "MB/s");
	printf("  64-byte ping-pong round trip, p50 and p99:\n");
	for (k = 0; k < PATHS; k++) {
		char l[64];

		row(g_pp_names[k], p50[k], rounds, "µs");
		snprintf(l, sizeof(l), "  p99 %s", g_pp_names[k]);
		row(l, p99[k], rounds, "µs");
	}
	printf("  ratios, per round (target on the median):\n");
	ratio_row("bulk: hand-off / direct", bulk[HANDOFF], bulk[DIRECT], rounds, 0.95, 1);
	ratio_row("ping-pong: direct p50 / hand-off p50", p50[DIRECT], p50[HANDOFF], rounds,
		  0.95, 1);
	ratio_row("ping-pong: Pipe p50 / socat p50", p50[PIPE], p50[SOCAT], rounds, 1.2, 0);
	ratio_row("ping-pong: Pipe p50 / direct p50", p50[PIPE], p50[DIRECT], rounds, 0, 0);
	ratio_row("ping-pong: socat p50 / direct p50", p50[SOCAT], p50[DIRECT], rounds, 0, 0);
	ratio_row("ping-pong: Pipe p50 / unary call p50", p50[PIPE], p50[UNARY], rounds, 0, 0);
	ratio_row("ping-pong: unary call p50 / socat p50", p50[UNARY], p50[SOCAT], rounds, 0, 0);
	ratio_row("ping-pong: gRPC stream p50 / socat p50", p50[GSTREAM], p50[SOCAT],
		  rounds, 0, 0);
	ratio_row("ping-pong: Pipe p50 / gRPC stream p50", p50[PIPE], p50[GSTREAM],
		  rounds, 0, 0);
out:
	sb_close_client(g_c);
	if (socat > 0)
		bench_stop_child(socat, 2000);
	if (gecho > 0)
		bench_stop_child(gecho, 2000);
	unlink(g_gpath);
	if (broker > 0)
		bench_stop_child(broker, 5000);
	unlink(log);
	unlink(slog);
out_dir:
	rmdir(g_dir);
	free(g_lat);
	return rc;
}
