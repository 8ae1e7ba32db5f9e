/* SPDX-License-Identifier: MIT
 * bench_core.c - the core benchmark of sockbroker, in one run:
 *
 *  1. unary round trip of a cheap call: sb_getsockname() through
 *     libsockbroker against a real sockbrokerd (p50/p99/mean);
 *  2. the floor under it: a bare gRPC C core unary echo over a Unix socket,
 *     client calls made exactly as libsockbroker's sb__unary() makes them
 *     (pluck CQ per call, one batch of 6 ops, one metadata entry of the
 *     same size as sb-session); the echo server is a thread running a
 *     grpc_server with one CQ, shaped like the broker's (registered method,
 *     payload read up front, RECV_CLOSE_ON_SERVER + one final batch).
 *     It runs twice: in a forked child (same process topology as the
 *     broker: the ratio target uses this one) and inside this process;
 *  3. getsockname(2) on a native socket, for reference;
 *  4. the broker's RSS idle, and after a client session opened and closed;
 *  5. the broker's RSS with 10,000 open UDP sockets in one session, and
 *     how fast they are made.
 *
 * A measurement, not a test: prints a table with targets and PASS/MISS and
 * exits 0 (1 only when the measurement itself could not be made).
 *
 * Knobs for finding where broker latency goes (defaults: 1 and 0):
 *   BENCH_ECHO_CQ_THREADS=N  the echo server polls its CQ with N threads
 *                            (the broker uses 2: SB__CQ_THREADS);
 *   BENCH_ECHO_FROM_FD=1     the echo server accepts connections itself and
 *                            uses grpc_server_add_channel_from_fd(), as the
 *                            broker's listener does.
 * Every wait is bounded; a watchdog ends the run after WATCHDOG_S.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
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
#include <grpc/grpc_posix.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "bench_util.h"
#include "sockbroker.h"

#ifndef SB_BROKERD_PATH
#error "SB_BROKERD_PATH must name the sockbrokerd binary"
#endif

#define N_CALLS 20000         /* timed calls per latency series */
#define N_WARMUP 1000         /* untimed calls before each series */
#define N_ROUNDS 4            /* broker and echo alternate in this many blocks */
#define N_SOCKETS 10000       /* sockets of the RSS-per-socket measurement */
#define NOFILE_WANT 65536     /* RLIMIT_NOFILE given to the broker */
#define START_WAIT_MS 5000
#define STOP_WAIT_MS 5000
#define SETTLE_MS 200         /* let the broker finish its work before RSS */
#define WATCHDOG_S 150

#define ECHO_METHOD "/bench.Echo/Echo"
#define ECHO_MAX_THREADS 8    /* $BENCH_ECHO_CQ_THREADS: CQ threads (default 1) */
/* $BENCH_ECHO_FROM_FD=1: the echo server accepts connections itself and
 * hands them to gRPC with grpc_server_add_channel_from_fd(), as the broker
 * does, instead of grpc_server_add_http2_port(). */

/* Targets */
#define T_RATIO 1.5
#define T_IDLE_RSS_KB (15 * 1024)
#define T_SOCK_BYTES 2048

static volatile pid_t g_broker_pid, g_echo_pid;
static char g_dir[64];

/* ---- small helpers ---- */

static void on_alarm(int sig)
{
	static const char msg[] = "bench_core: watchdog: the run took too long; stopped\n";

	(void)sig;
	if (g_broker_pid > 0)
		kill(g_broker_pid, SIGKILL);
	if (g_echo_pid > 0)
		kill(g_echo_pid, SIGKILL);
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing left to report to */
	}
	_exit(1);
}

/* VmRSS of @pid in kB, or -1. */
static long rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6)) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/* Rss of @pid in kB from smaps_rollup (exact: walks the page tables,
 * whereas VmRSS comes from per-CPU counters that may lag), or -1. */
static long rss_exact_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "Rss:", 4)) {
			kb = strtol(line + 4, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/* Number of open fds of @pid, or -1. */
static long count_fds(pid_t pid)
{
	char path[64];
	struct dirent *d;
	long n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir)) != NULL)
		if (d->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/* Wait until @path accepts connections (bounded); 0 or -1. */
static int wait_connectable(const char *path, pid_t pid, const char *what)
{
	int64_t until = bench_now_ns() + (int64_t)START_WAIT_MS * 1000000;
	int status;

	while (bench_now_ns() < until) {
		if (pid > 0 && waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "bench_core: %s exited during start-up (status 0x%x)\n",
				what, (unsigned)status);
			return -1;
		}
		if (bench_connectable(path))
			return 0;
		bench_sleep_ms(5);
	}
	fprintf(stderr, "bench_core: %s: %s not connectable after %d ms\n", what, path,
		START_WAIT_MS);
	return -1;
}

/* ---- latency statistics ---- */

struct series {
	const char *name;
	uint32_t *ns;		/* one sample per call */
	size_t n, cap;
	double p50, p99, mean;	/* µs */
};

static int series_init(struct series *s, const char *name, size_t cap)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->cap = cap;
	s->ns = calloc(cap, sizeof(*s->ns));
	return s->ns ? 0 : -1;
}

static void series_add(struct series *s, int64_t ns)
{
	if (s->n < s->cap)
		s->ns[s->n++] = ns > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static void series_done(struct series *s)
{
	double sum = 0;
	size_t i;

	if (!s->n)
		return;
	qsort(s->ns, s->n, sizeof(*s->ns), cmp_u32);
	for (i = 0; i < s->n; i++)
		sum += s->ns[i];
	s->mean = sum / (double)s->n / 1000.0;
	s->p50 = s->ns[s->n * 50 / 100] / 1000.0;
	s->p99 = s->ns[s->n * 99 / 100] / 1000.0;
}

/* ---- the echo server: one CQ, one thread ---- */

enum echo_tag_kind { ECHO_NEW, ECHO_CLOSE, ECHO_DONE, ECHO_SHUTDOWN };

struct echo_call;

struct echo_tag {
	enum echo_tag_kind kind;
	struct echo_call *call;
};

struct echo_call {
	grpc_call *call;
	gpr_timespec deadline;
	grpc_metadata_array md;
	grpc_byte_buffer *payload;
	int cancelled;
	atomic_int refs;	/* RECV_CLOSE_ON_SERVER and the final batch */
	struct echo_tag t_new, t_close, t_done;
};

struct echo_opts {
	int threads;		/* CQ threads */
	int from_fd;		/* accept ourselves, grpc_server_add_channel_from_fd */
};

struct echo_server {
	grpc_server *srv;
	grpc_completion_queue *cq;
	void *method;
	pthread_t thread[ECHO_MAX_THREADS];
	int n_threads;
	int lfd;		/* from_fd: our listening socket, else -1 */
	pthread_t acceptor;
	atomic_int stopping;
	struct echo_tag t_shutdown;
	atomic_int failed;
};

static void echo_call_free(struct echo_call *c)
{
	if (c->payload)
		grpc_byte_buffer_destroy(c->payload);
	grpc_metadata_array_destroy(&c->md);
	if (c->call)
		grpc_call_unref(c->call);
	free(c);
}

static int echo_request(struct echo_server *e)
{
	struct echo_call *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	grpc_metadata_array_init(&c->md);
	c->t_new = (struct echo_tag){ ECHO_NEW, c };
	c->t_close = (struct echo_tag){ ECHO_CLOSE, c };
	c->t_done = (struct echo_tag){ ECHO_DONE, c };
	if (grpc_server_request_registered_call(e->srv, e->method, &c->call, &c->deadline,
						&c->md, &c->payload, e->cq, e->cq,
						&c->t_new) != GRPC_CALL_OK) {
		echo_call_free(c);
		return -1;
	}
	return 0;
}

static void echo_unref(struct echo_call *c)
{
	if (atomic_fetch_sub(&c->refs, 1) == 1)
		echo_call_free(c);
}

/* A new call: post the next request, watch for the close, echo the payload
 * back with OK in one final batch (as the broker's sb__finish() does). */
static void echo_on_new(struct echo_server *e, struct echo_call *c, int ok)
{
	grpc_op close_op, ops[3];

	if (!ok) {	/* shutting down */
		echo_call_free(c);
		return;
	}
	if (echo_request(e) < 0)
		e->failed = 1;
	atomic_store(&c->refs, 2);
	memset(&close_op, 0, sizeof(close_op));
	close_op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	close_op.data.recv_close_on_server.cancelled = &c->cancelled;
	if (grpc_call_start_batch(c->call, &close_op, 1, &c->t_close, NULL) != GRPC_CALL_OK) {
		e->failed = 1;
		atomic_fetch_sub(&c->refs, 1);
	}
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = c->payload;	/* NULL: none */
	ops[2].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[2].data.send_status_from_server.status = GRPC_STATUS_OK;
	if (grpc_call_start_batch(c->call, c->payload ? ops : ops + 1,
				  c->payload ? 3 : 2, &c->t_done, NULL) != GRPC_CALL_OK) {
		e->failed = 1;
		echo_unref(c);
	}
}

static void *echo_thread(void *arg)
{
	struct echo_server *e = arg;
	int i;

	/* Bounded: the loop ends at GRPC_QUEUE_SHUTDOWN; the cap only guards
	 * against a run far longer than any benchmark. */
	for (i = 0; i < 100000000; i++) {
		grpc_event ev = grpc_completion_queue_next(
			e->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
		struct echo_tag *t;

		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		t = ev.tag;
		switch (t->kind) {
		case ECHO_SHUTDOWN:
			grpc_completion_queue_shutdown(e->cq);
			break;
		case ECHO_NEW:
			echo_on_new(e, t->call, ev.success);
			break;
		case ECHO_CLOSE:
		case ECHO_DONE:
			echo_unref(t->call);
			break;
		}
	}
	return NULL;
}

/* from_fd mode: accept, make the fd non-blocking, hand it to gRPC (the
 * broker's listener.c does the same, plus SO_PEERCRED). */
static void *echo_acceptor(void *arg)
{
	struct echo_server *e = arg;

	while (!atomic_load(&e->stopping)) {
		struct pollfd p = { .fd = e->lfd, .events = POLLIN };
		grpc_server_credentials *cr;
		int fd;

		if (poll(&p, 1, 100) <= 0)
			continue;
		fd = accept4(e->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		cr = grpc_insecure_server_credentials_create();
		grpc_server_add_channel_from_fd(e->srv, fd, cr);
		grpc_server_credentials_release(cr);
	}
	return NULL;
}

static int echo_listen(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || listen(fd, 64) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Start an echo server listening on unix:@path (grpc_init done). */
static int echo_start(struct echo_server *e, const char *path, const struct echo_opts *o)
{
	grpc_server_credentials *cr;
	char addr[160];
	grpc_arg args[1];
	grpc_channel_args ch = { .num_args = 1, .args = args };
	int port = 1, i;

	memset(e, 0, sizeof(*e));
	e->lfd = -1;
	e->t_shutdown.kind = ECHO_SHUTDOWN;
	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = (char *)GRPC_ARG_MAX_CONCURRENT_STREAMS;
	args[0].value.integer = 4096;
	e->cq = grpc_completion_queue_create_for_next(NULL);
	e->srv = grpc_server_create(&ch, NULL);
	grpc_server_register_completion_queue(e->srv, e->cq, NULL);
	e->method = grpc_server_register_method(e->srv, ECHO_METHOD, NULL,
						GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
	snprintf(addr, sizeof(addr), "unix:%s", path);
	if (o->from_fd) {
		e->lfd = echo_listen(path);
	} else {
		cr = grpc_insecure_server_credentials_create();
		port = grpc_server_add_http2_port(e->srv, addr, cr);
		grpc_server_credentials_release(cr);
	}
	if (!e->method || !port || (o->from_fd && e->lfd < 0)) {
		fprintf(stderr, "bench_core: echo server cannot listen on %s\n", addr);
		if (e->lfd >= 0)
			close(e->lfd);
		grpc_server_destroy(e->srv);
		grpc_completion_queue_destroy(e->cq);
		return -1;
	}
	grpc_server_start(e->srv);
	if (echo_request(e) < 0) {
		fprintf(stderr, "bench_core: echo server cannot start\n");
		return -1;
	}
	for (i = 0; i < o->threads && i < ECHO_MAX_THREADS; i++) {
		if (pthread_create(&e->thread[i], NULL, echo_thread, e)) {
			fprintf(stderr, "bench_core: echo server cannot start a thread\n");
			return -1;
		}
		e->n_threads++;
	}
	if (e->lfd >= 0 && pthread_create(&e->acceptor, NULL, echo_acceptor, e)) {
		fprintf(stderr, "bench_core: echo server cannot start its acceptor\n");
		return -1;
	}
	return 0;
}

static void echo_stop(struct echo_server *e)
{
	int i;

	if (e->lfd >= 0) {
		atomic_store(&e->stopping, 1);
		pthread_join(e->acceptor, NULL);
		close(e->lfd);
	}
	grpc_server_shutdown_and_notify(e->srv, e->cq, &e->t_shutdown);
	grpc_server_cancel_all_calls(e->srv);
	for (i = 0; i < e->n_threads; i++)
		pthread_join(e->thread[i], NULL);
	grpc_server_destroy(e->srv);
	grpc_completion_queue_destroy(e->cq);
}

/* The echo server in its own process: started before this process calls
 * grpc_init(), stopped by SIGTERM, dies with us. */
static pid_t echo_spawn(const char *path, const struct echo_opts *o)
{
	pid_t parent = getpid(), pid;
	struct echo_server e;
	sigset_t sigs;
	int sig = 0;

	fflush(NULL);
	pid = fork();
	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	alarm(0);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	grpc_init();
	if (echo_start(&e, path, o) < 0)
		_exit(1);
	sigwait(&sigs, &sig);
	echo_stop(&e);
	grpc_shutdown();
	_exit(e.failed ? 1 : 0);
}

/* ---- the echo client: exactly the shape of libsockbroker's sb__unary() ---- */

static grpc_channel *echo_channel(const char *path)
{
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	char tgt[160];
	grpc_arg args[2];
	grpc_channel_args cargs = { .num_args = 2, .args = args };
	grpc_channel *ch;

	/* The channel arguments sb_open() uses. */
	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[0].value.integer = -1;
	args[1].type = GRPC_ARG_INTEGER;
	args[1].key = (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
	args[1].value.integer = 1;
	snprintf(tgt, sizeof(tgt), "unix:%s", path);
	ch = grpc_channel_create(tgt, creds, &cargs);
	grpc_channel_credentials_release(creds);
	return ch;
}

/* A token the size of a broker session token (32 hex digits). */
static const char echo_token[] = "0123456789abcdef0123456789abcdef";

/* One blocking unary echo of @len bytes. Return: 0 when the echo came back
 * intact with OK, else -1. */
static int echo_call(grpc_channel *ch, const uint8_t *msg, size_t len)
{
	grpc_completion_queue *cq;
	grpc_call *call;
	grpc_byte_buffer *out, *in = NULL;
	grpc_metadata_array init_md, trail_md;
	grpc_metadata md;
	grpc_status_code st = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	grpc_slice msl = grpc_slice_from_static_string(ECHO_METHOD);
	grpc_slice sl;
	grpc_op ops[6];
	grpc_event ev;
	int rc = -1;

	memset(ops, 0, sizeof(ops));
	sl = grpc_slice_malloc(len);
	memcpy(GRPC_SLICE_START_PTR(sl), msg, len);
	out = grpc_raw_byte_buffer_create(&sl, 1);
	grpc_slice_unref(sl);
	cq = grpc_completion_queue_create_for_pluck(NULL);
	call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, msl, NULL,
					gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	grpc_metadata_array_init(&init_md);
	grpc_metadata_array_init(&trail_md);
	memset(&md, 0, sizeof(md));
	md.key = grpc_slice_from_static_string("sb-session");
	md.value = grpc_slice_from_static_string(echo_token);
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[0].data.send_initial_metadata.count = 1;
	ops[0].data.send_initial_metadata.metadata = &md;
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

	if (grpc_call_start_batch(call, ops, 6, call, NULL) != GRPC_CALL_OK)
		goto out;
	ev = grpc_completion_queue_pluck(cq, call, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	if (ev.type != GRPC_OP_COMPLETE || st != GRPC_STATUS_OK || !in)
		goto out;
	{
		grpc_byte_buffer_reader rd;
		grpc_slice all;

		if (grpc_byte_buffer_reader_init(&rd, in)) {
			all = grpc_byte_buffer_reader_readall(&rd);
			grpc_byte_buffer_reader_destroy(&rd);
			if (GRPC_SLICE_LENGTH(all) == len &&
			    !memcmp(GRPC_SLICE_START_PTR(all), msg, len))
				rc = 0;
			grpc_slice_unref(all);
		}
	}
out:
	if (in)
		grpc_byte_buffer_destroy(in);
	grpc_byte_buffer_destroy(out);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&init_md);
	grpc_metadata_array_destroy(&trail_md);
	grpc_call_unref(call);
	grpc_completion_queue_shutdown(cq);
	grpc_completion_queue_destroy(cq);
	return rc;
}

/* ---- the measured loops ---- */

/* The echo payload: about the size of a GetSockName request/reply. */
static const uint8_t echo_msg[10] = { 0x08, 0x03, 0x12, 0x06, 0x08, 0x02, 0x10, 0x7f, 0x18, 0x01 };

/* @n echo calls, timed into @s when not NULL. Return: failures. */
static long run_echo(grpc_channel *ch, struct series *s, int n)
{
	long fails = 0;
	int i;

	for (i = 0; i < n; i++) {
		int64_t t0 = bench_now_ns();

		if (echo_call(ch, echo_msg, sizeof(echo_msg)) < 0)
			fails++;
		if (s)
			series_add(s, bench_now_ns() - t0);
	}
	return fails;
}

static long run_broker(sb_client *c, int sock, struct series *s, int n)
{
	struct sockaddr_storage ss;
	long fails = 0;
	int i;

	for (i = 0; i < n; i++) {
		socklen_t len = sizeof(ss);
		int64_t t0 = bench_now_ns();

		if (sb_getsockname(c, sock, (struct sockaddr *)&ss, &len) < 0)
			fails++;
		if (s)
			series_add(s, bench_now_ns() - t0);
	}
	return fails;
}

static long run_native(int fd, struct series *s, int n)
{
	struct sockaddr_storage ss;
	long fails = 0;
	int i;

	for (i = 0; i < n; i++) {
		socklen_t len = sizeof(ss);
		int64_t t0 = bench_now_ns();

		if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
			fails++;
		if (s)
			series_add(s, bench_now_ns() - t0);
	}
	return fails;
}

/* ---- the broker ---- */

static pid_t broker_spawn(const char *sock, const char *config, const char *log)
{
	char listen_arg[160];
	const char *argv[] = { SB_BROKERD_PATH, "--listen", listen_arg, "--config",
			       config, NULL };

	snprintf(listen_arg, sizeof(listen_arg), "unix:%s", sock);
	return bench_spawn(argv, log, "bench_core");
}

static void rm_dir(void)
{
	static const char *const names[] = { "broker.sock", "echo.sock", "echo-in.sock",
					     "config.yaml", "broker.log" };
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

/* ---- the report ---- */

static const char *verdict(int ok)
{
	return ok ? "PASS" : "MISS";
}

static void print_series(const struct series *s, const char *note)
{
	printf("  %-34s %9.2f %9.2f %9.2f   %s\n", s->name, s->p50, s->p99, s->mean, note);
}

static double mib(long kb)
{
	return (double)kb / 1024.0;
}

int main(void)
{
	char sock[128], echo_sock[128], echo_in_sock[128], config[128], log[128];
	struct series s_broker, s_echo, s_echo_in, s_native;
	long rss_idle, rss_one, rss_lat, rss_before, rss_10k, rss_after, fds_10k;
	long rssx_idle, rssx_before, rssx_10k;
	long fails_broker = 0, fails_echo = 0, fails_echo_in = 0, made = 0;
	double create_s, close_s, per_sock, per_sock_x, ratio, ratio_in;
	struct echo_server in_srv;
	grpc_channel *ech;
	sb_client *c;
	int sbs, nfd, r, i, ret = 1, echo_rc, broker_rc;
	struct sockaddr_in lo = { .sin_family = AF_INET };
	int64_t t0;
	long nofile;
	struct echo_opts eo = { 1, 0 };
	const char *env = getenv("BENCH_ECHO_CQ_THREADS");
	FILE *f;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGALRM, on_alarm);
	alarm(WATCHDOG_S);
	setvbuf(stdout, NULL, _IOLBF, 0);
	lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (env && atoi(env) >= 1 && atoi(env) <= ECHO_MAX_THREADS)
		eo.threads = atoi(env);
	env = getenv("BENCH_ECHO_FROM_FD");
	eo.from_fd = env && atoi(env) == 1;

	if (series_init(&s_broker, "sb_getsockname via broker", N_CALLS) < 0 ||
	    series_init(&s_echo, "gRPC echo, server process", N_CALLS) < 0 ||
	    series_init(&s_echo_in, "gRPC echo, server in-process", N_CALLS) < 0 ||
	    series_init(&s_native, "getsockname(2) native", N_CALLS) < 0) {
		fprintf(stderr, "bench_core: out of memory\n");
		return 1;
	}

	snprintf(g_dir, sizeof(g_dir), "/tmp/sb-bench-XXXXXX");
	if (!mkdtemp(g_dir)) {
		perror("bench_core: mkdtemp");
		g_dir[0] = 0;
		return 1;
	}
	snprintf(sock, sizeof(sock), "%s/broker.sock", g_dir);
	snprintf(echo_sock, sizeof(echo_sock), "%s/echo.sock", g_dir);
	snprintf(echo_in_sock, sizeof(echo_in_sock), "%s/echo-in.sock", g_dir);
	snprintf(config, sizeof(config), "%s/config.yaml", g_dir);
	snprintf(log, sizeof(log), "%s/broker.log", g_dir);

	/* The default limit (4096 sockets per session) is below N_SOCKETS. */
	f = fopen(config, "we");
	if (!f || fprintf(f, "limits:\n  max_sockets_per_session: %d\n"
			    "policy:\n  - name: owner\n    match: { uid: 0 }\n"
			    "    action: allow\n", 2 * N_SOCKETS) < 0 ||
	    fclose(f) != 0) {
		perror("bench_core: writing the config");
		goto out;
	}
	nofile = bench_raise_nofile(NOFILE_WANT, "bench_core");

	/* Both children before this process's first gRPC call (fork). */
	g_broker_pid = broker_spawn(sock, config, log);
	if (g_broker_pid < 0) {
		perror("bench_core: starting sockbrokerd");
		goto out;
	}
	g_echo_pid = echo_spawn(echo_sock, &eo);
	if (g_echo_pid < 0) {
		perror("bench_core: fork");
		goto out;
	}
	if (wait_connectable(sock, g_broker_pid, "sockbrokerd") < 0) {
		bench_print_file(log);
		goto out;
	}
	if (wait_connectable(echo_sock, g_echo_pid, "echo server") < 0)
		goto out;

	/* 4. idle RSS: connectable, no session yet */
	bench_sleep_ms(SETTLE_MS);
	rss_idle = rss_kb(g_broker_pid);
	rssx_idle = rss_exact_kb(g_broker_pid);

	/* ... and after one short session */
	c = sb_open(sock);
	if (!c) {
		fprintf(stderr, "bench_core: sb_open: %s (%s)\n", strerror(errno),
			sb_last_error() ? sb_last_error() : "");
		bench_print_file(log);
		goto out;
	}
	sbs = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	if (sbs >= 0)
		sb_close(c, sbs);
	sb_close_client(c);
	bench_sleep_ms(SETTLE_MS);
	rss_one = rss_kb(g_broker_pid);

	/* 3. native reference */
	nfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (nfd < 0 || bind(nfd, (struct sockaddr *)&lo, sizeof(lo)) < 0) {
		perror("bench_core: native socket");
		goto out;
	}
	run_native(nfd, NULL, N_WARMUP);
	run_native(nfd, &s_native, N_CALLS);
	close(nfd);

	/* 1 + 2. broker and echo (server process), alternating blocks so that
	 * drift on a noisy machine hits both alike. */
	c = sb_open(sock);
	if (!c) {
		fprintf(stderr, "bench_core: sb_open: %s\n", strerror(errno));
		goto out;
	}
	sbs = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	if (sbs < 0 || sb_bind(c, sbs, (struct sockaddr *)&lo, sizeof(lo)) < 0) {
		fprintf(stderr, "bench_core: broker socket: %s (%s)\n", strerror(errno),
			sb_last_error() ? sb_last_error() : "");
		sb_close_client(c);
		goto out;
	}
	ech = echo_channel(echo_sock);
	fails_broker += run_broker(c, sbs, NULL, N_WARMUP);
	fails_echo += run_echo(ech, NULL, N_WARMUP);
	for (r = 0; r < N_ROUNDS; r++) {
		fails_broker += run_broker(c, sbs, &s_broker, N_CALLS / N_ROUNDS);
		fails_echo += run_echo(ech, &s_echo, N_CALLS / N_ROUNDS);
	}
	grpc_channel_destroy(ech);
	sb_close_client(c);
	bench_sleep_ms(SETTLE_MS);
	rss_lat = rss_kb(g_broker_pid);

	/* 2b. echo with the server in this process (alone: its CQ thread would
	 * otherwise take part in polling for the broker calls too). */
	if (echo_start(&in_srv, echo_in_sock, &eo) == 0) {
		ech = echo_channel(echo_in_sock);
		fails_echo_in += run_echo(ech, NULL, N_WARMUP);
		fails_echo_in += run_echo(ech, &s_echo_in, N_CALLS);
		grpc_channel_destroy(ech);
		echo_stop(&in_srv);
	} else {
		fails_echo_in = -1;
	}

	/* 5. 10,000 sockets in one session */
	c = sb_open(sock);
	if (!c) {
		fprintf(stderr, "bench_core: sb_open: %s\n", strerror(errno));
		goto out;
	}
	bench_sleep_ms(SETTLE_MS);
	rss_before = rss_kb(g_broker_pid);
	rssx_before = rss_exact_kb(g_broker_pid);
	t0 = bench_now_ns();
	for (i = 0; i < N_SOCKETS; i++) {
		if (sb_socket(c, AF_INET, SOCK_DGRAM, 0) < 0) {
			fprintf(stderr, "bench_core: socket %d: %s (%s)\n", i, strerror(errno),
				sb_last_error() ? sb_last_error() : "");
			break;
		}
		made++;
	}
	create_s = (double)(bench_now_ns() - t0) / 1e9;
	bench_sleep_ms(SETTLE_MS);
	rss_10k = rss_kb(g_broker_pid);
	rssx_10k = rss_exact_kb(g_broker_pid);
	fds_10k = count_fds(g_broker_pid);
	t0 = bench_now_ns();
	sb_close_client(c);
	close_s = (double)(bench_now_ns() - t0) / 1e9;
	bench_sleep_ms(SETTLE_MS);
	rss_after = rss_kb(g_broker_pid);

	/* stop everything before printing (bounded) */
	broker_rc = bench_stop_child(g_broker_pid, STOP_WAIT_MS);
	g_broker_pid = 0;
	echo_rc = bench_stop_child(g_echo_pid, STOP_WAIT_MS);
	g_echo_pid = 0;

	series_done(&s_broker);
	series_done(&s_echo);
	series_done(&s_echo_in);
	series_done(&s_native);
	ratio = s_echo.p50 > 0 ? s_broker.p50 / s_echo.p50 : 0;
	ratio_in = s_echo_in.p50 > 0 ? s_broker.p50 / s_echo_in.p50 : 0;
	per_sock = made ? (double)(rss_10k - rss_before) * 1024.0 / (double)made : 0;
	per_sock_x = made ? (double)(rssx_10k - rssx_before) * 1024.0 / (double)made : 0;

	printf("\nsockbroker core benchmark (%d calls per series after %d warm-up, "
	       "%d alternating blocks)\n(echo server: %d CQ thread%s, %s)\n\n", N_CALLS,
	       N_WARMUP, N_ROUNDS, eo.threads, eo.threads == 1 ? "" : "s",
	       eo.from_fd ? "own accept + grpc_server_add_channel_from_fd"
			  : "grpc_server_add_http2_port");
	printf("  %-34s %9s %9s %9s\n", "latency (µs)", "p50", "p99", "mean");
	print_series(&s_broker, fails_broker ? "(FAILED CALLS)" : "");
	print_series(&s_echo, fails_echo ? "(FAILED CALLS)" : "");
	print_series(&s_echo_in, fails_echo_in ? "(FAILED CALLS / not run)" : "");
	print_series(&s_native, "");
	printf("\n  %-44s %12s %12s  %s\n", "figure", "value", "target", "");
	printf("  %-44s %12.2f %12s  %s\n", "broker p50 / echo p50 (server process)", ratio,
	       "<= 1.50", verdict(ratio > 0 && ratio <= T_RATIO && !fails_broker && !fails_echo));
	printf("  %-44s %12.2f %12s\n", "broker p50 / echo p50 (in-process, info)", ratio_in,
	       "");
	printf("  %-44s %12.2f %12s\n", "broker p50 - echo p50 (µs)", s_broker.p50 - s_echo.p50,
	       "");
	printf("  %-44s %9.2f MiB %8s MiB  %s\n", "broker RSS idle", mib(rss_idle), "<= 15",
	       verdict(rss_idle > 0 && rss_idle <= T_IDLE_RSS_KB));
	printf("  %-44s %9.2f MiB %12s\n", "  (exact, smaps_rollup Rss)", mib(rssx_idle), "");
	printf("  %-44s %9.2f MiB %8s MiB  %s\n", "broker RSS after one session closed",
	       mib(rss_one), "<= 15", verdict(rss_one > 0 && rss_one <= T_IDLE_RSS_KB));
	printf("  %-44s %9.2f MiB %12s\n", "broker RSS after the latency session", mib(rss_lat),
	       "");
	printf("  %-44s %9.2f MiB %12s\n", "broker RSS, session open, 0 sockets",
	       mib(rss_before), "");
	printf("  %-44s %9.2f MiB %12s\n", "broker RSS with sockets open", mib(rss_10k), "");
	printf("  %-44s %12ld %12d\n", "sockets made in one session", made, N_SOCKETS);
	printf("  %-44s %12ld %12s\n", "broker open fds then", fds_10k, "");
	printf("  %-44s %12.0f %12s  %s\n", "RSS per socket (bytes)", per_sock, "<= 2048",
	       verdict(made == N_SOCKETS && per_sock <= T_SOCK_BYTES));
	printf("  %-44s %12.0f %12s\n", "  (exact, smaps_rollup Rss delta)", per_sock_x, "");
	printf("  %-44s %12.0f %12s\n", "socket creation rate (sockets/s)",
	       create_s > 0 ? (double)made / create_s : 0, "");
	printf("  %-44s %12.3f %12s\n", "session close with the sockets (s)", close_s, "");
	printf("  %-44s %9.2f MiB %12s\n", "broker RSS after that session closed",
	       mib(rss_after), "");
	printf("\n  (broker exit %d after SIGTERM, echo server exit %d; RLIMIT_NOFILE "
	       "given to the broker %ld)\n", broker_rc, echo_rc, nofile);
	ret = 0;
out:
	if (g_broker_pid > 0)
		bench_stop_child(g_broker_pid, STOP_WAIT_MS);
	if (g_echo_pid > 0)
		bench_stop_child(g_echo_pid, STOP_WAIT_MS);
	g_broker_pid = g_echo_pid = 0;
	rm_dir();
	free(s_broker.ns);
	free(s_echo.ns);
	free(s_echo_in.ns);
	free(s_native.ns);
	return ret;
}
