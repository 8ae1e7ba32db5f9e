/* SPDX-License-Identifier: MIT
 * bench_streams.c - the streaming benchmark of sockbroker, in one run:
 *
 *  1. Pipe throughput: a TCP connection made by the broker (sb_socket +
 *     sb_connect) to a native sink/source server on 127.0.0.1, bytes pushed
 *     through sb_pipe_write and pulled through sb_pipe_read, against the
 *     same transfer over a direct loopback TCP connection and through a
 *     SOCKS5 relay (Debian's microsocks, run as a child). 256 KiB writes on
 *     every side; the broker transfer is time-bounded and the others move
 *     the same number of bytes.
 *  2. RecvStream: 64-byte UDP datagrams blasted with sendmmsg at a broker
 *     socket bound to 127.0.0.1, received with sb_udp_server_loop_on(),
 *     against a native recvmmsg (batch 64) receiver fed by the same sender.
 *  3. Accept rate: a native client opening and closing connections to a
 *     broker listener served by sb_accept_loop() (each accepted socket
 *     sb_closed in the callback, or handed to a closer thread), by
 *     sb_accept_loop_fd() and by sb_accept_fd() (each a real fd, close(2)d
 *     at once), against a native accept4 loop.
 *
 * A measurement, not a test: prints a table with targets and PASS/MISS and
 * exits 0 (1 only when the measurement itself could not be made).
 *
 * Knobs: BENCH_SECONDS=S   seconds per measurement (default 3, at most 10);
 *        BENCH_ONLY=LIST   a subset of pipe,udp,accept (default: all);
 *        BENCH_UDP_SENDERS=N  sender threads for the UDP test (default 1);
 *        BENCH_ACCEPT_WINDOW=N  connections not yet closed by the server,
 *                          at most (default and maximum 128);
 *        BENCH_CLOSERS=N   closer threads of the closer-thread variant (default 1).
 * The broker's pid is printed first, for perf -p while it runs.
 * Every wait is bounded; a watchdog ends the run after WATCHDOG_S.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "bench_util.h"
#include "sockbroker.h"

#ifndef SB_BROKERD_PATH
#error "SB_BROKERD_PATH must name the sockbrokerd binary"
#endif

#define IO_BUF (256u << 10)          /* every write and read of the pipe test */
#define PIPE_MAX_BYTES (1ull << 30)  /* the broker transfer stops here or at time */
#define UDP_LEN 64                   /* the measured datagrams */
#define UDP_BATCH 64                 /* sendmmsg / recvmmsg batch */
#define UDP_STOP_LEN 1               /* a datagram that only ends a receive loop */
#define RCVBUF_WANT (8 << 20)        /* SO_RCVBUF(FORCE) of both UDP receivers */
#define ACCEPT_WINDOW 128            /* connections not yet closed by the server */
#define CLOSE_RING 4096              /* accepted sockets queued for the closer */
#define ACCEPT_OPEN_CAP 12000        /* accepted sockets left open, at most */
#define CLOSE_BASE_N 2000            /* sb_close timed without a stream */
#define MAX_SENDERS 4
#define MAX_CLOSERS 8
#define NOFILE_WANT 65536
#define START_WAIT_MS 5000
#define STOP_WAIT_MS 5000
#define WATCHDOG_S 140

/* Targets */
#define T_PIPE_VS_SOCKS 1.0
#define T_UDP_RATE 200000.0
#define T_ACCEPT_FD_VS_DIRECT 0.9
#define T_UDP_VS_DIRECT 0.5

#define SVC "/sockbroker.v1.SocketBroker/"

static volatile pid_t g_broker_pid, g_socks_pid;
static char g_dir[64];
static double g_secs = 3.0;
static unsigned long g_window = ACCEPT_WINDOW;
static int g_closers = 1;

/* ---- small helpers (as bench_core.c) ---- */

static void sleep_us(long us)
{
	struct timespec ts = { 0, us * 1000L };

	nanosleep(&ts, NULL);
}

static int64_t secs_ns(double s)
{
	return (int64_t)(s * 1e9);
}

static void on_alarm(int sig)
{
	static const char msg[] = "bench_streams: watchdog: the run took too long; stopped\n";

	(void)sig;
	if (g_broker_pid > 0)
		kill(g_broker_pid, SIGKILL);
	if (g_socks_pid > 0)
		kill(g_socks_pid, SIGKILL);
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing left to report to */
	}
	_exit(1);
}

static struct sockaddr_in lo_addr(uint16_t port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	return sin;
}

static int tcp_connect(uint16_t port)
{
	struct sockaddr_in sin = lo_addr(port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Wait until @path (Unix) or 127.0.0.1:@port accepts connections. */
static int wait_up(const char *path, uint16_t port, pid_t pid, const char *what)
{
	int64_t until = bench_now_ns() + (int64_t)START_WAIT_MS * 1000000;
	int status, fd;

	while (bench_now_ns() < until) {
		if (pid > 0 && waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "bench_streams: %s exited during start-up (status 0x%x)\n",
				what, (unsigned)status);
			return -1;
		}
		if (path && bench_connectable(path))
			return 0;
		if (!path && (fd = tcp_connect(port)) >= 0) {
			close(fd);
			return 0;
		}
		bench_sleep_ms(5);
	}
	fprintf(stderr, "bench_streams: %s not connectable after %d ms\n", what, START_WAIT_MS);
	return -1;
}

static void rm_dir(void)
{
	static const char *const names[] = { "broker.sock", "config.yaml", "broker.log",
					     "microsocks.log" };
	char p[128];
	size_t i;

	if (!g_dir[0])
		return;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", g_dir, names[i]);
		unlink(p);
	}
	rmdir(g_dir);
}

/* A free TCP port on 127.0.0.1 right now (for microsocks), or 0. */
static uint16_t free_port(void)
{
	struct sockaddr_in sin = lo_addr(0);
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	uint16_t port = 0;

	if (fd < 0)
		return 0;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* A bound (and listening, for SOCK_STREAM) native socket on 127.0.0.1. */
static int native_server(int type, uint16_t *port)
{
	struct sockaddr_in sin = lo_addr(0);
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    (type == SOCK_STREAM && listen(fd, SOMAXCONN) < 0) ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
		close(fd);
		return -1;
	}
	*port = ntohs(sin.sin_port);
	return fd;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static double thread_cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double self_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* utime + stime of process @pid in seconds, or -1. */
static double proc_cpu_s(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
			 &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double mbps(uint64_t bytes, double s)
{
	return s > 0 ? (double)bytes / s / 1e6 : 0;
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

/* ---- GetStats over a raw gRPC call (no session needed) ---- */

/* One varint at *@p (< @end). Return: 0, or -1 when malformed. */
static int pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	int shift = 0;

	*v = 0;
	while (*p < end && shift < 64) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
		shift += 7;
	}
	return -1;
}

/* Field @want (a varint) of the message @buf/@len; 0 when absent, -1 on error. */
static int64_t pb_field_u64(const uint8_t *buf, size_t len, uint32_t want)
{
	const uint8_t *p = buf, *end = buf + len;
	uint64_t key, v;

	while (p < end) {
		if (pb_varint(&p, end, &key) < 0)
			return -1;
		switch (key & 7) {
		case 0:
			if (pb_varint(&p, end, &v) < 0)
				return -1;
			if ((key >> 3) == want)
				return (int64_t)v;
			break;
		case 1:
			p += 8;
			break;
		case 2:
			if (pb_varint(&p, end, &v) < 0 || v > (uint64_t)(end - p))
				return -1;
			p += v;
			break;
		case 5:
			p += 4;
			break;
		default:
			return -1;
		}
	}
	return p == end ? 0 : -1;
}

/* GetStats().datagrams_dropped (field 10), or -1. */
static int64_t broker_dropped(grpc_channel *ch)
{
	grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
	grpc_slice method = grpc_slice_from_static_string(SVC "GetStats");
	gpr_timespec dl = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
				       gpr_time_from_millis(5000, GPR_TIMESPAN));
	grpc_call *call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
						   method, NULL, dl, NULL);
	grpc_byte_buffer *out = grpc_raw_byte_buffer_create(NULL, 0), *in = NULL;
	grpc_metadata_array init_md, trail_md;
	grpc_status_code st = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	grpc_op ops[6];
	grpc_event ev;
	int64_t v = -1;

	grpc_metadata_array_init(&init_md);
	grpc_metadata_array_init(&trail_md);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = out;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &init_md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &in;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &trail_md;
	ops[5].data.recv_status_on_client.status = &st;
	ops[5].data.recv_status_on_client.status_details = &details;
	if (grpc_call_start_batch(call, ops, 6, call, NULL) == GRPC_CALL_OK) {
		ev = grpc_completion_queue_pluck(cq, call, gpr_inf_future(GPR_CLOCK_REALTIME),
						 NULL);
		if (ev.type == GRPC_OP_COMPLETE && st == GRPC_STATUS_OK && in) {
			grpc_byte_buffer_reader rd;

			if (grpc_byte_buffer_reader_init(&rd, in)) {
				grpc_slice all = grpc_byte_buffer_reader_readall(&rd);

				grpc_byte_buffer_reader_destroy(&rd);
				v = pb_field_u64(GRPC_SLICE_START_PTR(all), GRPC_SLICE_LENGTH(all),
						 10);
				grpc_slice_unref(all);
			}
		}
	}
	if (in)
		grpc_byte_buffer_destroy(in);
	grpc_byte_buffer_destroy(out);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&init_md);
	grpc_metadata_array_destroy(&trail_md);
	grpc_call_unref(call);
	grpc_completion_queue_shutdown(cq);
	grpc_completion_queue_destroy(cq);
	return v;
}

static grpc_channel *stats_channel(const char *path)
{
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	char tgt[160];
	grpc_channel *ch;

	snprintf(tgt, sizeof(tgt), "unix:%s", path);
	ch = grpc_channel_create(tgt, creds, NULL);
	grpc_channel_credentials_release(creds);
	return ch;
}

/* Udp RcvbufErrors of /proc/net/snmp (this network namespace), or -1. */
static int64_t udp_rcvbuf_errors(void)
{
	char head[1024], vals[1024];
	char *hs, *vs, *h, *v;
	int64_t r = -1;
	FILE *f = fopen("/proc/net/snmp", "re");

	if (!f)
		return -1;
	while (fgets(head, sizeof(head), f) && fgets(vals, sizeof(vals), f)) {
		if (strncmp(head, "Udp:", 4) || strncmp(vals, "Udp:", 4))
			continue;
		h = strtok_r(head, " \n", &hs);
		v = strtok_r(vals, " \n", &vs);
		while (h && v) {
			if (!strcmp(h, "RcvbufErrors")) {
				r = strtoll(v, NULL, 10);
				break;
			}
			h = strtok_r(NULL, " \n", &hs);
			v = strtok_r(NULL, " \n", &vs);
		}
		break;
	}
	fclose(f);
	return r;
}

/* Ends a broker loop that is still running at its deadline (no traffic
 * came to stop it): closing its socket makes the loop fail with EBADF. */
struct guard {
	sb_client *c;
	int s;
	int64_t deadline;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done, fired;
	pthread_t th;
};

static void *guard_main(void *arg)
{
	struct guard *g = arg;
	struct timespec ts;

	ts.tv_sec = (time_t)(g->deadline / 1000000000);
	ts.tv_nsec = (long)(g->deadline % 1000000000);
	pthread_mutex_lock(&g->lock);
	while (!g->done)
		if (pthread_cond_timedwait(&g->cond, &g->lock, &ts) == ETIMEDOUT)
			break;
	if (!g->done) {
		g->fired = 1;
		sb_close(g->c, g->s);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

/* Watch socket @s of @c until @deadline (CLOCK_MONOTONIC ns). */
static int guard_start(struct guard *g, sb_client *c, int s, int64_t deadline)
{
	pthread_condattr_t ca;

	memset(g, 0, sizeof(*g));
	g->c = c;
	g->s = s;
	g->deadline = deadline;
	pthread_mutex_init(&g->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->cond, &ca);
	pthread_condattr_destroy(&ca);
	return pthread_create(&g->th, NULL, guard_main, g) ? -1 : 0;
}

/* Return: 1 when the guard had to close the socket (it is gone). */
static int guard_stop(struct guard *g)
{
	pthread_mutex_lock(&g->lock);
	g->done = 1;
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->th, NULL);
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->cond);
	return g->fired;
}

/* ======================================================================
 * 1. Pipe throughput
 * ====================================================================== */

/* The native TCP server: a sink (reads an 8-byte count, then that many
 * bytes or to EOF when the count is UINT64_MAX, answers the byte count it
 * got in 8 bytes, closes) or a source (reads an 8-byte count, writes that
 * many bytes, closes). One connection at a time. The count lets the sink
 * answer without a half-close, which microsocks does not pass on (it
 * closes both connections at the first EOF). */
struct tsrv {
	int lfd;
	uint16_t port;
	int source;
	pthread_t th;
	atomic_int stop;
};

static void *tsrv_main(void *arg)
{
	struct tsrv *t = arg;
	uint8_t *buf = malloc(IO_BUF);

	if (!buf)
		return NULL;
	memset(buf, 0x5a, IO_BUF);
	while (!atomic_load(&t->stop)) {
		struct pollfd p = { .fd = t->lfd, .events = POLLIN };
		uint64_t total = 0, want;
		ssize_t n;
		int fd;

		if (poll(&p, 1, 100) <= 0)
			continue;
		fd = accept4(t->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		if (!t->source) {
			if (read_full(fd, &want, sizeof(want)) < 0) {
				close(fd);
				continue;
			}
			n = 1;
			while (total < want &&
			       (n = read(fd, buf, want - total < IO_BUF ? (size_t)(want - total)
									: IO_BUF)) > 0)
				total += (uint64_t)n;
			if (n >= 0)
				write_all(fd, &total, sizeof(total));
		} else if (read_full(fd, &want, sizeof(want)) == 0) {
			while (total < want) {
				size_t k = want - total < IO_BUF ? (size_t)(want - total) : IO_BUF;

				n = write(fd, buf, k);
				if (n <= 0)
					break;	/* the reader stopped early */
				total += (uint64_t)n;
			}
		}
		close(fd);
	}
	free(buf);
	return NULL;
}

static int tsrv_start(struct tsrv *t, int source)
{
	memset(t, 0, sizeof(*t));
	t->source = source;
	t->lfd = native_server(SOCK_STREAM, &t->port);
	if (t->lfd < 0)
		return -1;
	if (pthread_create(&t->th, NULL, tsrv_main, t)) {
		close(t->lfd);
		return -1;
	}
	return 0;
}

static void tsrv_stop(struct tsrv *t)
{
	atomic_store(&t->stop, 1);
	pthread_join(t->th, NULL);
	close(t->lfd);
}

/* One end of a transfer: a native fd or a broker pipe. */
struct conn {
	int fd;
	sb_pipe *p;
};

static int conn_write(struct conn *x, const void *buf, size_t len)
{
	if (x->p)
		return sb_pipe_write(x->p, buf, len) == (ssize_t)len ? 0 : -1;
	return write_all(x->fd, buf, len);
}

static ssize_t conn_read(struct conn *x, void *buf, size_t len)
{
	ssize_t n;

	if (x->p)
		return sb_pipe_read(x->p, buf, len);
	do
		n = read(x->fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

static int conn_shutdown(struct conn *x)
{
	return x->p ? sb_pipe_shutdown(x->p) : shutdown(x->fd, SHUT_WR);
}

struct xfer {
	uint64_t bytes;   /* moved */
	double secs;
	int ok;           /* the peer confirmed / sent what it should */
	int timed_out;    /* stopped by the time bound before the byte count */
};

/* Push up to @max bytes (stop after @limit_ns) and wait for the sink's
 * count: the time is until the sink has every byte. @counted: announce
 * @max up front (the sink answers after that many bytes), else announce
 * "to EOF" and half-close after the last byte. */
static struct xfer do_push(struct conn *x, const uint8_t *buf, uint64_t max, int64_t limit_ns,
			   int counted)
{
	struct xfer r = { 0 };
	uint64_t ack = 0, head = counted ? max : UINT64_MAX;
	size_t got = 0;
	int64_t t0 = bench_now_ns();

	if (conn_write(x, &head, sizeof(head)) < 0)
		return r;
	while (r.bytes < max) {
		size_t n = max - r.bytes < IO_BUF ? (size_t)(max - r.bytes) : IO_BUF;

		if (bench_now_ns() - t0 >= limit_ns) {
			r.timed_out = 1;
			break;
		}
		if (conn_write(x, buf, n) < 0) {
			fprintf(stderr, "bench_streams: push: write: %s (%s)\n", strerror(errno),
				x->p && sb_last_error() ? sb_last_error() : "");
			return r;
		}
		r.bytes += n;
	}
	if (counted && r.timed_out) {
		/* The sink waits for bytes that will not come: no count to wait
		 * for. The rate is then bytes written / time, a little high. */
		conn_shutdown(x);
		r.secs = (double)(bench_now_ns() - t0) / 1e9;
		r.ok = 1;
		return r;
	}
	if (!counted && conn_shutdown(x) < 0)
		return r;
	while (got < sizeof(ack)) {
		ssize_t n = conn_read(x, (uint8_t *)&ack + got, sizeof(ack) - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	r.secs = (double)(bench_now_ns() - t0) / 1e9;
	r.ok = got == sizeof(ack) && ack == r.bytes;
	if (!r.ok)
		fprintf(stderr, "bench_streams: push: the sink got %llu of %llu bytes\n",
			(unsigned long long)ack, (unsigned long long)r.bytes);
	return r;
}

/* Ask the source for @max bytes and read them (stop after @limit_ns). */
static struct xfer do_pull(struct conn *x, uint8_t *buf, uint64_t max, int64_t limit_ns)
{
	struct xfer r = { 0 };
	int64_t t0 = bench_now_ns();

	if (conn_write(x, &max, sizeof(max)) < 0)
		return r;
	while (r.bytes < max) {
		ssize_t n;

		if (bench_now_ns() - t0 >= limit_ns) {
			r.timed_out = 1;
			break;
		}
		n = conn_read(x, buf, IO_BUF);
		if (n <= 0)
			break;
		r.bytes += (uint64_t)n;
	}
	r.secs = (double)(bench_now_ns() - t0) / 1e9;
	r.ok = r.bytes == max || r.timed_out;
	if (!r.ok)
		fprintf(stderr, "bench_streams: pull: got %llu of %llu bytes\n",
			(unsigned long long)r.bytes, (unsigned long long)max);
	return r;
}

/* A TCP connection to 127.0.0.1:@dst made by the broker, with a pipe. */
static int broker_conn(sb_client *c, uint16_t dst, int *s, struct conn *x)
{
	struct sockaddr_in sin = lo_addr(dst);

	*s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (*s < 0 || sb_connect(c, *s, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		fprintf(stderr, "bench_streams: broker connect: %s (%s)\n", strerror(errno),
			sb_last_error() ? sb_last_error() : "");
		if (*s >= 0)
			sb_close(c, *s);
		return -1;
	}
	x->fd = -1;
	x->p = sb_pipe_open(c, *s);
	if (!x->p) {
		fprintf(stderr, "bench_streams: sb_pipe_open: %s\n", strerror(errno));
		sb_close(c, *s);
		return -1;
	}
	return 0;
}

static void broker_conn_close(sb_client *c, int s, struct conn *x)
{
	sb_pipe_close(x->p);
	sb_close(c, s);
}

/* A SOCKS5 CONNECT to 127.0.0.1:@dst through microsocks at @socks. */
static int socks_connect(uint16_t socks, uint16_t dst)
{
	uint8_t hello[3] = { 5, 1, 0 }, req[10] = { 5, 1, 0, 1, 127, 0, 0, 1, 0, 0 };
	uint8_t rep[10];
	int fd = tcp_connect(socks);

	if (fd < 0)
		return -1;
	req[8] = (uint8_t)(dst >> 8);
	req[9] = (uint8_t)(dst & 0xff);
	if (write_all(fd, hello, sizeof(hello)) < 0 || read_full(fd, rep, 2) < 0 ||
	    rep[0] != 5 || rep[1] != 0 || write_all(fd, req, sizeof(req)) < 0 ||
	    read_full(fd, rep, 10) < 0 || rep[0] != 5 || rep[1] != 0) {
		fprintf(stderr, "bench_streams: SOCKS5 handshake with microsocks failed\n");
		close(fd);
		return -1;
	}
	return fd;
}

struct pipe_res {
	struct xfer push[3], pull[3];  /* [0] broker pipe, [1] direct, [2] microsocks */
	int ran;
};

enum { P_BROKER, P_DIRECT, P_SOCKS };

static int run_pipe(sb_client *c, uint16_t socks_port, struct pipe_res *pr)
{
	struct tsrv sink, source;
	struct conn x;
	uint8_t *buf = malloc(IO_BUF);
	int64_t limit = secs_ns(g_secs), follow = secs_ns(g_secs * 3);
	int s, i, ret = -1;

	memset(pr, 0, sizeof(*pr));
	if (!buf)
		return -1;
	memset(buf, 0xa5, IO_BUF);
	if (tsrv_start(&sink, 0) < 0) {
		free(buf);
		return -1;
	}
	if (tsrv_start(&source, 1) < 0) {
		tsrv_stop(&sink);
		free(buf);
		return -1;
	}

	/* push: the broker first (time-bounded), then the same byte count */
	if (broker_conn(c, sink.port, &s, &x) < 0)
		goto out;
	pr->push[P_BROKER] = do_push(&x, buf, PIPE_MAX_BYTES, limit, 0);
	broker_conn_close(c, s, &x);
	for (i = P_DIRECT; i <= P_SOCKS; i++) {
		x.p = NULL;
		x.fd = i == P_DIRECT ? tcp_connect(sink.port) : socks_connect(socks_port, sink.port);
		if (x.fd < 0)
			continue;
		pr->push[i] = do_push(&x, buf, pr->push[P_BROKER].bytes, follow, 1);
		close(x.fd);
	}

	/* pull */
	if (broker_conn(c, source.port, &s, &x) < 0)
		goto out;
	pr->pull[P_BROKER] = do_pull(&x, buf, PIPE_MAX_BYTES, limit);
	broker_conn_close(c, s, &x);
	for (i = P_DIRECT; i <= P_SOCKS; i++) {
		x.p = NULL;
		x.fd = i == P_DIRECT ? tcp_connect(source.port)
				     : socks_connect(socks_port, source.port);
		if (x.fd < 0)
			continue;
		pr->pull[i] = do_pull(&x, buf, pr->pull[P_BROKER].bytes, follow);
		close(x.fd);
	}
	pr->ran = 1;
	ret = 0;
out:
	tsrv_stop(&sink);
	tsrv_stop(&source);
	free(buf);
	return ret;
}

/* ======================================================================
 * 2. RecvStream datagrams
 * ====================================================================== */

struct usender {
	uint16_t port;
	int64_t end;          /* blast until then */
	atomic_int *stop;     /* then send stop datagrams until set */
	uint64_t sent;
	double cpu_s;         /* this thread's CPU time in the blast */
	pthread_t th;
};

static void *usender_main(void *arg)
{
	struct usender *u = arg;
	struct sockaddr_in dst = lo_addr(u->port);
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iov = { 0 };
	uint8_t data[UDP_LEN];
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), i;

	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	memset(data, 0x42, sizeof(data));
	iov.iov_base = data;
	iov.iov_len = sizeof(data);
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < UDP_BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (bench_now_ns() < u->end) {
		int n = sendmmsg(fd, msgs, UDP_BATCH, 0);

		if (n > 0)
			u->sent += (uint64_t)n;
	}
	u->cpu_s = thread_cpu_s();
	while (!atomic_load(u->stop)) {
		if (send(fd, data, UDP_STOP_LEN, 0) < 0) {
			/* the receiver is gone or full: try again */
		}
		bench_sleep_ms(10);
	}
	close(fd);
	return NULL;
}

static int usenders_start(struct usender *u, int n, uint16_t port, int64_t end,
			  atomic_int *stop)
{
	int i;

	for (i = 0; i < n; i++) {
		memset(&u[i], 0, sizeof(u[i]));
		u[i].port = port;
		u[i].end = end;
		u[i].stop = stop;
		if (pthread_create(&u[i].th, NULL, usender_main, &u[i]))
			return i;
	}
	return n;
}

static uint64_t usenders_join(struct usender *u, int n, double *cpu_s)
{
	uint64_t sent = 0;
	int i;

	*cpu_s = 0;
	for (i = 0; i < n; i++) {
		pthread_join(u[i].th, NULL);
		sent += u[i].sent;
		*cpu_s += u[i].cpu_s;
	}
	return sent;
}

struct udp_count {
	int64_t end;
	uint64_t n;
};

static int udp_cb(sb_client *c, const void *buf, size_t len, int truncated,
		  const struct sb_udp_source *src, void *arg)
{
	struct udp_count *u = arg;

	(void)c, (void)buf, (void)truncated, (void)src;
	if (len == UDP_LEN) {
		/* the clock every 64 datagrams: cheap next to the counting */
		if ((++u->n & 63) || bench_now_ns() < u->end)
			return 0;
		return 1;
	}
	return bench_now_ns() >= u->end;
}

struct udp_side {
	uint64_t sent, received;
	double secs;
	int64_t drops_snmp;   /* Udp RcvbufErrors delta, -1 unknown */
	int64_t drops_broker; /* GetStats datagrams_dropped delta, -1 unknown */
	int rcvbuf;           /* SO_RCVBUF after setting it */
	double cpu_s;         /* CPU time of the receiving side (not the senders) */
	int ok;
};

struct udp_res {
	struct udp_side broker, direct;
	int senders, force;
	int ran;
};

struct direct_udp {
	int fd;
	int64_t end;
	uint64_t n;
	double cpu_s;
};

static void *direct_udp_main(void *arg)
{
	struct direct_udp *d = arg;
	struct mmsghdr msgs[UDP_BATCH];
	struct iovec iov[UDP_BATCH];
	static uint8_t bufs[UDP_BATCH][2048];
	int i;

	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < UDP_BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = sizeof(bufs[i]);
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	for (;;) {
		int n = recvmmsg(d->fd, msgs, UDP_BATCH, MSG_WAITFORONE, NULL);
		int64_t t;

		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break;
		t = bench_now_ns();
		if (t >= d->end)
			break;
		for (i = 0; i < n; i++)
			if (msgs[i].msg_len == UDP_LEN)
				d->n++;
	}
	d->cpu_s = thread_cpu_s();
	return NULL;
}

/* SO_RCVBUFFORCE (root with CAP_NET_ADMIN) else SO_RCVBUF; the value read
 * back. @force: set to 1 when FORCE worked. */
static int set_rcvbuf_native(int fd, int *force)
{
	int v = RCVBUF_WANT;
	socklen_t len = sizeof(v);

	*force = setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) == 0;
	if (!*force)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	v = 0;
	getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len);
	return v;
}

static int set_rcvbuf_broker(sb_client *c, int s, int *force)
{
	int v = RCVBUF_WANT;
	socklen_t len = sizeof(v);

	*force = sb_setsockopt(c, s, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v)) == 0;
	if (!*force)
		sb_setsockopt(c, s, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	v = 0;
	sb_getsockopt(c, s, SOL_SOCKET, SO_RCVBUF, &v, &len);
	return v;
}

static int run_udp(sb_client *c, grpc_channel *stats, int senders, struct udp_res *ur)
{
	struct usender u[MAX_SENDERS];
	struct sockaddr_in sin = lo_addr(0);
	socklen_t len = sizeof(sin);
	struct udp_count cnt = { 0 };
	struct direct_udp d = { 0 };
	struct timeval tv = { 0, 50000 };
	struct guard g;
	pthread_t th;
	atomic_int stop;
	int64_t t0, snmp0, drop0, drop1;
	double bcpu0, bcpu1, scpu0, scpu1, ucpu;
	int s, n, rc, force, fired;
	uint16_t port;

	memset(ur, 0, sizeof(*ur));
	ur->senders = senders;

	/* the broker side */
	s = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || sb_bind(c, s, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    sb_getsockname(c, s, (struct sockaddr *)&sin, &len) < 0) {
		fprintf(stderr, "bench_streams: broker UDP socket: %s (%s)\n", strerror(errno),
			sb_last_error() ? sb_last_error() : "");
		if (s >= 0)
			sb_close(c, s);
		return -1;
	}
	ur->broker.rcvbuf = set_rcvbuf_broker(c, s, &force);
	ur->force = force;
	drop0 = broker_dropped(stats);
	snmp0 = udp_rcvbuf_errors();
	bcpu0 = proc_cpu_s(g_broker_pid);
	scpu0 = self_cpu_s();
	atomic_init(&stop, 0);
	cnt.end = (t0 = bench_now_ns()) + secs_ns(g_secs);
	n = usenders_start(u, senders, ntohs(sin.sin_port), cnt.end, &stop);
	if (guard_start(&g, c, s, cnt.end + secs_ns(5)) < 0) {
		atomic_store(&stop, 1);
		usenders_join(u, n, &ucpu);
		sb_close(c, s);
		return -1;
	}
	rc = sb_udp_server_loop_on(c, &s, 1, udp_cb, &cnt);
	fired = guard_stop(&g);
	ur->broker.secs = (double)(cnt.end - t0) / 1e9;
	bcpu1 = proc_cpu_s(g_broker_pid);
	scpu1 = self_cpu_s();
	atomic_store(&stop, 1);
	ur->broker.sent = usenders_join(u, n, &ucpu);
	ur->broker.cpu_s = bcpu0 < 0 || bcpu1 < 0 ? 0 : bcpu1 - bcpu0 + scpu1 - scpu0 - ucpu;
	ur->broker.received = cnt.n;
	ur->broker.ok = rc == 1;
	if (rc != 1)
		fprintf(stderr, "bench_streams: sb_udp_server_loop_on: %d, %s (%s)\n", rc,
			strerror(errno), sb_last_error() ? sb_last_error() : "");
	ur->broker.drops_snmp = snmp0 < 0 ? -1 : udp_rcvbuf_errors() - snmp0;
	drop1 = broker_dropped(stats);
	ur->broker.drops_broker = drop0 < 0 || drop1 < 0 ? -1 : drop1 - drop0;
	if (!fired)
		sb_close(c, s);

	/* the direct receiver */
	d.fd = native_server(SOCK_DGRAM, &port);
	if (d.fd < 0)
		return -1;
	ur->direct.rcvbuf = set_rcvbuf_native(d.fd, &force);
	setsockopt(d.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snmp0 = udp_rcvbuf_errors();
	atomic_store(&stop, 0);
	d.end = (t0 = bench_now_ns()) + secs_ns(g_secs);
	if (pthread_create(&th, NULL, direct_udp_main, &d)) {
		close(d.fd);
		return -1;
	}
	n = usenders_start(u, senders, port, d.end, &stop);
	pthread_join(th, NULL);
	ur->direct.secs = (double)(d.end - t0) / 1e9;
	atomic_store(&stop, 1);
	ur->direct.sent = usenders_join(u, n, &ucpu);
	ur->direct.cpu_s = d.cpu_s;
	ur->direct.received = d.n;
	ur->direct.ok = 1;
	ur->direct.drops_snmp = snmp0 < 0 ? -1 : udp_rcvbuf_errors() - snmp0;
	ur->direct.drops_broker = -1;
	close(d.fd);
	ur->ran = 1;
	return 0;
}

/* ======================================================================
 * 3. Accept rate
 * ====================================================================== */

/* The connecting client: connects as fast as the server keeps up: at most
 * ACCEPT_WINDOW connections not yet closed by the server, so the backlog
 * never overflows (no SYN waits a second for its retransmission). It closes
 * a connection only after the server closed its end (accept queues are
 * FIFO): the server closes first and holds the TIME_WAIT, on its
 * listener's port, so no ephemeral ports are used up for the minute after
 * the run. Source addresses rotate over 127.1.x.y all the same. */
struct aclient {
	uint16_t port;
	atomic_ulong opened;   /* connections made */
	atomic_ulong served;   /* closed by the server side, in order */
	atomic_int waiting;    /* the client sleeps on @cond for a close */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_int stop;
	unsigned long failed;
	int ring[ACCEPT_WINDOW];
	pthread_t th;
};

/* The server side closed one more connection. */
static void aclient_served(struct aclient *a)
{
	atomic_fetch_add(&a->served, 1);
	if (atomic_load(&a->waiting)) {
		pthread_mutex_lock(&a->lock);
		pthread_cond_signal(&a->cond);
		pthread_mutex_unlock(&a->lock);
	}
}

static void *aclient_main(void *arg)
{
	struct aclient *a = arg;
	struct sockaddr_in dst = lo_addr(a->port);
	unsigned long i = 0, closed = 0;
	int one = 1;

	while (!atomic_load(&a->stop)) {
		struct sockaddr_in src = { .sin_family = AF_INET };
		unsigned long served = atomic_load(&a->served);
		int fd;

		while (closed < served)
			close(a->ring[closed++ % ACCEPT_WINDOW]);
		if (atomic_load(&a->opened) - closed >= g_window) {
			/* Sleep until the server closes one (no polling: on 2 CPUs
			 * a spinning client would take CPU from the server). */
			struct timespec ts;

			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_nsec += 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_mutex_lock(&a->lock);
			atomic_store(&a->waiting, 1);
			if (atomic_load(&a->served) == served && !atomic_load(&a->stop))
				pthread_cond_timedwait(&a->cond, &a->lock, &ts);
			atomic_store(&a->waiting, 0);
			pthread_mutex_unlock(&a->lock);
			continue;
		}
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			a->failed++;
			sleep_us(100);
			continue;
		}
		src.sin_addr.s_addr = htonl(0x7f010000u | (uint32_t)((i++ % 4000) + 1));
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0 ||
		    connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
			a->failed++;
			close(fd);
			sleep_us(100);
			continue;
		}
		a->ring[atomic_load(&a->opened) % ACCEPT_WINDOW] = fd;
		atomic_fetch_add(&a->opened, 1);
	}
	while (closed < atomic_load(&a->opened))
		close(a->ring[closed++ % ACCEPT_WINDOW]);
	return NULL;
}

/* Accepted sockets handed to a closer thread. */
struct closer {
	sb_client *c;
	struct aclient *a;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int ring[CLOSE_RING];
	size_t head, tail;   /* tail - head sockets queued */
	int done;
	unsigned long closed, failed;
	int64_t close_ns;    /* time in sb_close */
	pthread_t th[MAX_CLOSERS];
	int n_th;
};

static void *closer_main(void *arg)
{
	struct closer *k = arg;
	int64_t t0;
	int rc;

	pthread_mutex_lock(&k->lock);
	for (;;) {
		int s;

		while (k->head == k->tail && !k->done)
			pthread_cond_wait(&k->cond, &k->lock);
		if (k->head == k->tail)
			break;
		s = k->ring[k->head++ % CLOSE_RING];
		pthread_cond_broadcast(&k->cond);	/* room for the producer */
		pthread_mutex_unlock(&k->lock);
		t0 = bench_now_ns();
		rc = sb_close(k->c, s);
		t0 = bench_now_ns() - t0;
		aclient_served(k->a);
		pthread_mutex_lock(&k->lock);
		if (rc < 0)
			k->failed++;
		else
			k->closed++;
		k->close_ns += t0;
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

static void closer_put(struct closer *k, int s)
{
	pthread_mutex_lock(&k->lock);
	while (k->tail - k->head == CLOSE_RING)
		pthread_cond_wait(&k->cond, &k->lock);
	k->ring[k->tail++ % CLOSE_RING] = s;
	pthread_cond_signal(&k->cond);
	pthread_mutex_unlock(&k->lock);
}

enum acc_mode {
	ACC_SYNC,     /* sb_close in the callback */
	ACC_CLOSER,  /* sb_close in a closer thread */
	ACC_OPEN,     /* no close: the session's end closes them (AcceptStream alone) */
	ACC_FD_LOOP,  /* sb_accept_loop_fd: the real fd, close(2) in the callback */
	ACC_FD_ONE,   /* sb_accept_fd, then close(2), one call per connection */
};

struct acc_loop {
	struct aclient *a;
	enum acc_mode mode;
	struct closer *k;   /* ACC_CLOSER */
	int64_t end;
	uint64_t n;
	unsigned long close_failed;
	int64_t close_ns;   /* ACC_SYNC: time in sb_close */
};

static int accept_cb(sb_client *c, int s, const struct sockaddr *peer, socklen_t peerlen,
		     void *arg)
{
	struct acc_loop *l = arg;

	(void)peer, (void)peerlen;
	if (l->mode == ACC_CLOSER) {
		closer_put(l->k, s);
	} else if (l->mode == ACC_FD_LOOP) {
		if (close(s) < 0)
			l->close_failed++;
		aclient_served(l->a);
	} else {
		if (l->mode == ACC_SYNC) {
			int64_t t0 = bench_now_ns();

			if (sb_close(c, s) < 0)
				l->close_failed++;
			l->close_ns += bench_now_ns() - t0;
		}
		aclient_served(l->a);
	}
	if (bench_now_ns() >= l->end || (l->mode == ACC_OPEN && l->n >= ACCEPT_OPEN_CAP))
		return 1;
	l->n++;
	return 0;
}

struct acc_side {
	uint64_t accepted;
	double secs;
	unsigned long connect_failed, close_failed;
	double close_us;   /* mean sb_close time, 0 when none */
	int ok;
};

struct acc_res {
	struct acc_side sync, closer, fd_loop, fd_one, open, direct;
	double close_idle_us;   /* sb_close of a fresh UDP socket, no stream open */
	int ran;
};

/* The reference for the sb_close times of the accept loops: sb_close of
 * fresh sockets, no stream open. Return: mean µs, or 0. */
static double close_idle(sb_client *c)
{
	static int socks[CLOSE_BASE_N];
	int64_t ns = 0;
	int i, n = 0;

	for (i = 0; i < CLOSE_BASE_N; i++) {
		socks[i] = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
		if (socks[i] < 0)
			break;
	}
	while (n < i) {
		int64_t t0 = bench_now_ns();

		sb_close(c, socks[n++]);
		ns += bench_now_ns() - t0;
	}
	return n ? (double)ns / 1e3 / n : 0;
}

static int aclient_start(struct aclient *a, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->port = port;
	atomic_init(&a->opened, 0);
	atomic_init(&a->served, 0);
	atomic_init(&a->waiting, 0);
	atomic_init(&a->stop, 0);
	pthread_mutex_init(&a->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&a->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	if (pthread_create(&a->th, NULL, aclient_main, a)) {
		pthread_mutex_destroy(&a->lock);
		pthread_cond_destroy(&a->cond);
		return -1;
	}
	return 0;
}

static void aclient_stop(struct aclient *a)
{
	atomic_store(&a->stop, 1);
	pthread_mutex_lock(&a->lock);
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->th, NULL);
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
}

/* ACC_OPEN runs in a session of its own (@target), closed at the end. */
static int broker_accept_run(sb_client *c0, const char *target, enum acc_mode mode,
			     struct acc_side *r)
{
	sb_client *c = mode == ACC_OPEN ? sb_open(target) : c0;
	struct sockaddr_in sin = lo_addr(0);
	socklen_t len = sizeof(sin);
	struct aclient a;
	struct closer k;
	int i;
	struct acc_loop l = { 0 };
	struct guard g;
	int s, one = 1, rc, fired;
	int64_t t0;

	memset(r, 0, sizeof(*r));
	if (!c)
		return -1;
	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (s < 0 || sb_setsockopt(c, s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    sb_bind(c, s, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    sb_listen(c, s, SOMAXCONN) < 0 ||
	    sb_getsockname(c, s, (struct sockaddr *)&sin, &len) < 0) {
		fprintf(stderr, "bench_streams: broker listener: %s (%s)\n", strerror(errno),
			sb_last_error() ? sb_last_error() : "");
		if (s >= 0)
			sb_close(c, s);
		if (c != c0)
			sb_close_client(c);
		return -1;
	}
	l.mode = mode;
	if (mode == ACC_CLOSER) {
		memset(&k, 0, sizeof(k));
		k.c = c;
		k.a = &a;
		pthread_mutex_init(&k.lock, NULL);
		pthread_cond_init(&k.cond, NULL);
		for (k.n_th = 0; k.n_th < g_closers; k.n_th++)
			if (pthread_create(&k.th[k.n_th], NULL, closer_main, &k))
				break;
		if (!k.n_th) {
			sb_close(c, s);
			return -1;
		}
		l.k = &k;
	}
	if (aclient_start(&a, ntohs(sin.sin_port)) < 0) {
		sb_close(c, s);
		return -1;
	}
	l.a = &a;
	l.end = (t0 = bench_now_ns()) + secs_ns(g_secs);
	if (guard_start(&g, c, s, l.end + secs_ns(5)) < 0) {
		aclient_stop(&a);
		sb_close(c, s);
		return -1;
	}
	if (mode == ACC_FD_ONE) {
		/* The client connects until it is stopped, after the end. */
		for (rc = 1; rc == 1 && bench_now_ns() < l.end; l.n++) {
			int fd = sb_accept_fd(c, s, NULL, NULL, 0);

			if (fd < 0)
				rc = -1;
			else if (close(fd) < 0)
				l.close_failed++;
			aclient_served(&a);
		}
	} else if (mode == ACC_FD_LOOP) {
		rc = sb_accept_loop_fd(c, s, accept_cb, &l);
	} else {
		rc = sb_accept_loop(c, s, accept_cb, &l);
	}
	r->secs = (double)(bench_now_ns() - t0) / 1e9;
	fired = guard_stop(&g);
	aclient_stop(&a);
	if (rc != 1)
		fprintf(stderr, "bench_streams: sb_accept_loop: %d, %s (%s)\n", rc,
			strerror(errno), sb_last_error() ? sb_last_error() : "");
	if (mode == ACC_CLOSER) {
		pthread_mutex_lock(&k.lock);
		k.done = 1;
		pthread_cond_broadcast(&k.cond);
		pthread_mutex_unlock(&k.lock);
		for (i = 0; i < k.n_th; i++)
			pthread_join(k.th[i], NULL);
		r->close_failed = k.failed;
		r->close_us = k.closed ? (double)k.close_ns / 1e3 / (double)k.closed : 0;
		pthread_mutex_destroy(&k.lock);
		pthread_cond_destroy(&k.cond);
	} else {
		r->close_failed = l.close_failed;
		if (mode == ACC_SYNC && l.n)
			r->close_us = (double)l.close_ns / 1e3 / (double)(l.n + 1);
	}
	if (!fired)
		sb_close(c, s);
	if (c != c0)
		sb_close_client(c);
	r->accepted = l.n;
	r->connect_failed = a.failed;
	r->ok = rc == 1;
	return 0;
}

static int direct_accept_run(struct acc_side *r)
{
	struct aclient a;
	uint16_t port;
	int lfd = native_server(SOCK_STREAM, &port);
	int64_t t0, end;

	memset(r, 0, sizeof(*r));
	if (lfd >= 0)
		fcntl(lfd, F_SETFL, O_NONBLOCK);
	if (lfd < 0 || aclient_start(&a, port) < 0) {
		if (lfd >= 0)
			close(lfd);
		return -1;
	}
	end = (t0 = bench_now_ns()) + secs_ns(g_secs);
	for (;;) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EAGAIN) {
				/* bounded: nobody connects after the deadline */
				if (poll(&p, 1, 100) == 0 && bench_now_ns() >= end + secs_ns(5))
					break;
			} else if (errno != EINTR && errno != ECONNABORTED) {
				break;
			}
			continue;
		}
		close(fd);
		aclient_served(&a);
		if (bench_now_ns() >= end)
			break;
		r->accepted++;
	}
	r->secs = (double)(bench_now_ns() - t0) / 1e9;
	aclient_stop(&a);
	close(lfd);
	r->connect_failed = a.failed;
	r->ok = 1;
	return 0;
}

static int run_accept(sb_client *c, const char *target, struct acc_res *ar)
{
	memset(ar, 0, sizeof(*ar));
	ar->close_idle_us = close_idle(c);
	if (broker_accept_run(c, target, ACC_SYNC, &ar->sync) < 0)
		return -1;
	if (broker_accept_run(c, target, ACC_CLOSER, &ar->closer) < 0)
		return -1;
	if (broker_accept_run(c, target, ACC_FD_LOOP, &ar->fd_loop) < 0)
		return -1;
	if (broker_accept_run(c, target, ACC_FD_ONE, &ar->fd_one) < 0)
		return -1;
	if (broker_accept_run(c, target, ACC_OPEN, &ar->open) < 0)
		return -1;
	if (direct_accept_run(&ar->direct) < 0)
		return -1;
	ar->ran = 1;
	return 0;
}

/* ======================================================================
 * the report
 * ====================================================================== */

static const char *verdict(int ok)
{
	return ok ? "PASS" : "MISS";
}

static int wanted(const char *only, const char *what)
{
	const char *p;
	size_t n = strlen(what);

	if (!only || !*only)
		return 1;
	for (p = only; (p = strstr(p, what)) != NULL; p += n)
		if ((p == only || p[-1] == ',') && (p[n] == 0 || p[n] == ','))
			return 1;
	return 0;
}

static void print_xfer(const char *dir, const char *path, const struct xfer *x,
		       const struct xfer *ref)
{
	printf("  %-5s %-26s %10.1f %9.3f %10.1f %8.2f  %s\n", dir, path,
	       (double)x->bytes / 1048576.0, x->secs, mbps(x->bytes, x->secs),
	       ratio(mbps(ref->bytes, ref->secs), mbps(x->bytes, x->secs)),
	       !x->ok ? "(FAILED)" : x->timed_out ? "(time bound)" : "");
}

static void print_udp(const char *name, const struct udp_side *u)
{
	char d1[24], d2[24];

	snprintf(d1, sizeof(d1), "%lld", (long long)u->drops_snmp);
	snprintf(d2, sizeof(d2), "%lld", (long long)u->drops_broker);
	printf("  %-24s %10.0f %11.0f %11s %9s %9d %7.2f  %s\n", name,
	       (double)u->sent / u->secs, (double)u->received / u->secs,
	       u->drops_snmp < 0 ? "?" : d1, u->drops_broker < 0 ? "-" : d2, u->rcvbuf,
	       u->received ? u->cpu_s * 1e6 / (double)u->received : 0,
	       u->ok ? "" : "(FAILED)");
}

static void print_acc(const char *name, const struct acc_side *a, const struct acc_side *d)
{
	double r = a->secs > 0 ? (double)a->accepted / a->secs : 0;
	double rd = d->secs > 0 ? (double)d->accepted / d->secs : 0;

	char cl[16] = "";

	if (a->close_us > 0)
		snprintf(cl, sizeof(cl), "%.0f", a->close_us);
	printf("  %-44s %10llu %12.0f %8.2f %10s  %s\n", name, (unsigned long long)a->accepted,
	       r, ratio(r, rd), cl, !a->ok || a->close_failed ? "(FAILED CALLS)" : "");
}

int main(void)
{
	char sock[128], config[128], log[128], slog[128], port_arg[16], listen_arg[160];
	char name[64];
	const char *bargv[6], *sargv[6];
	const char *only = getenv("BENCH_ONLY"), *env;
	struct pipe_res pr = { 0 };
	struct udp_res ur = { 0 };
	struct acc_res ar = { 0 };
	grpc_channel *stats = NULL;
	sb_client *c = NULL;
	uint16_t socks_port;
	int senders = 1, broker_rc, socks_rc, ret = 1;
	long nofile;
	FILE *f;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(WATCHDOG_S);
	setvbuf(stdout, NULL, _IOLBF, 0);
	env = getenv("BENCH_SECONDS");
	if (env && atof(env) > 0 && atof(env) <= 10)
		g_secs = atof(env);
	env = getenv("BENCH_ACCEPT_WINDOW");
	if (env && atoi(env) >= 1 && atoi(env) <= ACCEPT_WINDOW)
		g_window = (unsigned long)atoi(env);
	env = getenv("BENCH_CLOSERS");
	if (env && atoi(env) >= 1 && atoi(env) <= MAX_CLOSERS)
		g_closers = atoi(env);
	env = getenv("BENCH_UDP_SENDERS");
	if (env && atoi(env) >= 1 && atoi(env) <= MAX_SENDERS)
		senders = atoi(env);

	snprintf(g_dir, sizeof(g_dir), "/tmp/sb-bench-XXXXXX");
	if (!mkdtemp(g_dir)) {
		perror("bench_streams: mkdtemp");
		g_dir[0] = 0;
		return 1;
	}
	snprintf(sock, sizeof(sock), "%s/broker.sock", g_dir);
	snprintf(config, sizeof(config), "%s/config.yaml", g_dir);
	snprintf(log, sizeof(log), "%s/broker.log", g_dir);
	snprintf(slog, sizeof(slog), "%s/microsocks.log", g_dir);

	/* Accepted sockets waiting for the closer thread count too. */
	f = fopen(config, "we");
	if (!f || fprintf(f, "limits:\n  max_sockets_per_session: %d\n"
			    "policy:\n  - name: owner\n    match: { uid: 0 }\n"
			    "    action: allow\n", NOFILE_WANT) < 0 ||
	    fclose(f) != 0) {
		perror("bench_streams: writing the config");
		goto out;
	}
	nofile = bench_raise_nofile(NOFILE_WANT, "bench_streams");

	/* Both children before this process's first gRPC call (fork). */
	bargv[0] = SB_BROKERD_PATH;
	bargv[1] = "--listen";
	snprintf(listen_arg, sizeof(listen_arg), "unix:%s", sock);
	bargv[2] = listen_arg;
	bargv[3] = "--config";
	bargv[4] = config;
	bargv[5] = NULL;
	g_broker_pid = bench_spawn(bargv, log, "bench_streams");
	if (g_broker_pid < 0) {
		perror("bench_streams: starting sockbrokerd");
		goto out;
	}
	socks_port = wanted(only, "pipe") ? free_port() : 0;
	if (socks_port) {
		snprintf(port_arg, sizeof(port_arg), "%u", (unsigned)socks_port);
		sargv[0] = "microsocks";
		sargv[1] = "-i";
		sargv[2] = "127.0.0.1";
		sargv[3] = "-p";
		sargv[4] = port_arg;
		sargv[5] = NULL;
		g_socks_pid = bench_spawn(sargv, slog, "bench_streams");
	}
	if (wait_up(sock, 0, g_broker_pid, "sockbrokerd") < 0) {
		bench_print_file(log);
		goto out;
	}
	if (socks_port && (g_socks_pid <= 0 ||
			   wait_up(NULL, socks_port, g_socks_pid, "microsocks") < 0)) {
		bench_print_file(slog);
		fprintf(stderr, "bench_streams: microsocks is needed (apt-get install microsocks)\n");
		goto out;
	}
	printf("bench_streams: sockbrokerd pid %d, microsocks pid %d, %.1f s per measurement\n",
	       (int)g_broker_pid, (int)g_socks_pid, g_secs);

	grpc_init();
	c = sb_open(sock);
	if (!c) {
		fprintf(stderr, "bench_streams: sb_open: %s (%s)\n", strerror(errno),
			sb_last_error() ? sb_last_error() : "");
		bench_print_file(log);
		goto out;
	}
	stats = stats_channel(sock);

	if (wanted(only, "pipe") && run_pipe(c, socks_port, &pr) < 0)
		fprintf(stderr, "bench_streams: the pipe measurement failed\n");
	if (wanted(only, "udp") && run_udp(c, stats, senders, &ur) < 0)
		fprintf(stderr, "bench_streams: the RecvStream measurement failed\n");
	if (wanted(only, "accept") && run_accept(c, sock, &ar) < 0)
		fprintf(stderr, "bench_streams: the accept measurement failed\n");

	grpc_channel_destroy(stats);
	stats = NULL;
	sb_close_client(c);
	c = NULL;
	broker_rc = bench_stop_child(g_broker_pid, STOP_WAIT_MS);
	g_broker_pid = 0;
	socks_rc = g_socks_pid > 0 ? bench_stop_child(g_socks_pid, STOP_WAIT_MS) : -1;
	g_socks_pid = 0;

	printf("\nsockbroker streaming benchmark (%.1f s per measurement, %ld CPUs online; "
	       "MB = 10^6 bytes)\n", g_secs, sysconf(_SC_NPROCESSORS_ONLN));
	if (pr.ran) {
		printf("\n  Pipe: TCP to a native server on 127.0.0.1, %u KiB writes and reads\n",
		       IO_BUF >> 10);
		printf("  %-5s %-26s %10s %9s %10s %8s\n", "dir", "path", "MiB", "s", "MB/s",
		       "pipe/x");
		print_xfer("push", "broker Pipe (sb_pipe_write)", &pr.push[P_BROKER],
			   &pr.push[P_BROKER]);
		print_xfer("push", "direct TCP", &pr.push[P_DIRECT], &pr.push[P_BROKER]);
		print_xfer("push", "microsocks SOCKS5", &pr.push[P_SOCKS], &pr.push[P_BROKER]);
		print_xfer("pull", "broker Pipe (sb_pipe_read)", &pr.pull[P_BROKER],
			   &pr.pull[P_BROKER]);
		print_xfer("pull", "direct TCP", &pr.pull[P_DIRECT], &pr.pull[P_BROKER]);
		print_xfer("pull", "microsocks SOCKS5", &pr.pull[P_SOCKS], &pr.pull[P_BROKER]);
	}
	if (ur.ran) {
		printf("\n  RecvStream: %d-byte datagrams, %d sendmmsg sender%s (batch %d), "
		       "SO_RCVBUF%s %d MiB asked\n", UDP_LEN, ur.senders,
		       ur.senders == 1 ? "" : "s", UDP_BATCH, ur.force ? "FORCE" : "",
		       RCVBUF_WANT >> 20);
		printf("  %-24s %10s %11s %11s %9s %9s %7s\n", "receiver", "sent/s", "received/s",
		       "drops(snmp)", "drops(sb)", "rcvbuf", "CPU µs");
		print_udp("broker RecvStream loop", &ur.broker);
		print_udp("direct recvmmsg (64)", &ur.direct);
		printf("  (CPU µs: receiving-side CPU time per datagram received: broker process\n"
		       "   + loop thread and gRPC threads here; the direct receiver's thread)\n");
		if (ur.direct.drops_snmp == 0)
			printf("  (the direct receiver kept up with the sender(s): its rate is the "
			       "senders',\n   so the ratio below overstates the broker; compare CPU µs)\n");
	}
	if (ar.ran) {
		printf("\n  Accept: connections from one native thread, at most %lu not yet "
		       "closed by the server\n", g_window);
		printf("  %-44s %10s %12s %8s %10s\n", "acceptor", "accepted", "accepts/s", "/direct",
		       "sb_close µs");
		print_acc("AcceptStream, sb_close in the callback", &ar.sync, &ar.direct);
		snprintf(name, sizeof(name), "AcceptStream, sb_close in %d other thread%s",
			 g_closers, g_closers == 1 ? "" : "s");
		print_acc(name, &ar.closer, &ar.direct);
		print_acc("sb_accept_loop_fd, close(2) in the callback", &ar.fd_loop, &ar.direct);
		print_acc("sb_accept_fd + close(2), one call each", &ar.fd_one, &ar.direct);
		print_acc("AcceptStream, no close (AcceptStream alone)", &ar.open, &ar.direct);
		print_acc("direct accept4 + close", &ar.direct, &ar.direct);
		printf("  (sb_close µs: mean time of sb_close in the loop; the same call on fresh UDP\n"
		       "   sockets, no stream open, just before: %.0f µs)\n", ar.close_idle_us);
	}

	printf("\n  %-44s %12s %12s  %s\n", "figure", "value", "target", "");
	if (pr.ran) {
		double push_r = ratio(mbps(pr.push[0].bytes, pr.push[0].secs),
				      mbps(pr.push[2].bytes, pr.push[2].secs));
		double pull_r = ratio(mbps(pr.pull[0].bytes, pr.pull[0].secs),
				      mbps(pr.pull[2].bytes, pr.pull[2].secs));

		printf("  %-44s %12.1f %12s\n", "Pipe push MB/s", mbps(pr.push[0].bytes,
										pr.push[0].secs), "");
		printf("  %-44s %12.1f %12s\n", "Pipe pull MB/s", mbps(pr.pull[0].bytes,
										pr.pull[0].secs), "");
		printf("  %-44s %12.2f %12s  %s\n", "Pipe push / microsocks", push_r, ">= 1.00",
		       verdict(push_r >= T_PIPE_VS_SOCKS && pr.push[0].ok && pr.push[2].ok));
		printf("  %-44s %12.2f %12s  %s\n", "Pipe pull / microsocks", pull_r, ">= 1.00",
		       verdict(pull_r >= T_PIPE_VS_SOCKS && pr.pull[0].ok && pr.pull[2].ok));
		printf("  %-44s %12.2f %12s\n", "Pipe push / direct TCP (info)",
		       ratio(mbps(pr.push[0].bytes, pr.push[0].secs),
			     mbps(pr.push[1].bytes, pr.push[1].secs)), "");
		printf("  %-44s %12.2f %12s\n", "Pipe pull / direct TCP (info)",
		       ratio(mbps(pr.pull[0].bytes, pr.pull[0].secs),
			     mbps(pr.pull[1].bytes, pr.pull[1].secs)), "");
	}
	if (ur.ran) {
		double rb = (double)ur.broker.received / ur.broker.secs;
		double rd = (double)ur.direct.received / ur.direct.secs;

		printf("  %-44s %12.0f %12s  %s\n", "RecvStream datagrams/s", rb, ">= 200000",
		       verdict(rb >= T_UDP_RATE && ur.broker.ok));
		printf("  %-44s %12.2f %12s  %s\n", "RecvStream / direct recvmmsg", ratio(rb, rd),
		       ">= 0.50", verdict(ratio(rb, rd) >= T_UDP_VS_DIRECT && ur.broker.ok));
		printf("  %-44s %12.2f %12s\n", "direct / RecvStream CPU per datagram",
		       ur.broker.received && ur.direct.received ?
		       ratio(ur.direct.cpu_s / (double)ur.direct.received,
			     ur.broker.cpu_s / (double)ur.broker.received) : 0, "(info)");
	}
	if (ar.ran) {
		double rd = ar.direct.secs > 0 ? (double)ar.direct.accepted / ar.direct.secs : 0;

		printf("  %-44s %12.2f %12s\n", "AcceptStream (sb_close inline) / direct",
		       ratio((double)ar.sync.accepted / ar.sync.secs, rd), "(info)");
		printf("  %-44s %12.2f %12s\n", "AcceptStream (closer thread) / direct",
		       ratio((double)ar.closer.accepted / ar.closer.secs, rd), "(info)");
		printf("  %-44s %12.2f %12s  %s\n", "sb_accept_loop_fd + close(2) / direct",
		       ratio((double)ar.fd_loop.accepted / ar.fd_loop.secs, rd), ">= 0.90",
		       verdict(ratio((double)ar.fd_loop.accepted / ar.fd_loop.secs, rd) >=
			       T_ACCEPT_FD_VS_DIRECT && ar.fd_loop.ok && !ar.fd_loop.close_failed));
		printf("  %-44s %12.2f %12s\n", "sb_accept_fd + close(2) / direct",
		       ratio((double)ar.fd_one.accepted / ar.fd_one.secs, rd), "(info)");
		printf("  %-44s %12.2f %12s\n", "AcceptStream (no close) / direct",
		       ratio((double)ar.open.accepted / ar.open.secs, rd), "(info)");
	}
	printf("\n  (broker exit %d after SIGTERM, microsocks %s %d; RLIMIT_NOFILE %ld)\n",
	       broker_rc, socks_rc == 128 + SIGTERM ? "ended by signal" : "exit",
	       socks_rc == 128 + SIGTERM ? SIGTERM : socks_rc, nofile);
	ret = 0;
out:
	if (stats)
		grpc_channel_destroy(stats);
	if (c)
		sb_close_client(c);
	if (g_broker_pid > 0)
		bench_stop_child(g_broker_pid, STOP_WAIT_MS);
	if (g_socks_pid > 0)
		bench_stop_child(g_socks_pid, STOP_WAIT_MS);
	g_broker_pid = g_socks_pid = 0;
	rm_dir();
	return ret;
}
