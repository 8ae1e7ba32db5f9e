/* SPDX-License-Identifier: MIT
 * harness.c - start and stop a real sockbrokerd, raw gRPC calls, GetStats,
 * checks and native socket helpers for the integration tests.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "harness.h"

#ifndef SB_BROKERD_PATH
#error "SB_BROKERD_PATH must name the sockbrokerd binary"
#endif

#define START_WAIT_MS 5000
#define STOP_WAIT_MS 5000

static pthread_mutex_t it_lock = PTHREAD_MUTEX_INITIALIZER;
static int it_fails;

/* ---- checks ---- */

int it_check(int ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return 1;
	pthread_mutex_lock(&it_lock);
	it_fails++;
	fprintf(stdout, "FAIL %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&it_lock);
	return 0;
}

int it_failures(void)
{
	int n;

	pthread_mutex_lock(&it_lock);
	n = it_fails;
	pthread_mutex_unlock(&it_lock);
	return n;
}

void it_note(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&it_lock);
	fputs("-- ", stdout);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&it_lock);
}

static struct it_broker *it_current;	/* for it_skip() and the watchdog */

void it_skip(const char *fmt, ...)
{
	va_list ap;

	fputs("SKIP: ", stdout);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
	if (it_current)
		it_broker_stop(it_current);
	exit(77);
}

int it_result(void)
{
	int n = it_failures();

	printf("%s: %d failed check%s\n", n ? "FAILED" : "PASSED", n, n == 1 ? "" : "s");
	return n ? 1 : 0;
}

int64_t it_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void it_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- the broker ---- */

static int it_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) < 0 ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void it_rmtree(const char *dir)
{
	if (dir[0] && nftw(dir, it_rm_entry, 8, FTW_DEPTH | FTW_PHYS) < 0)
		fprintf(stderr, "harness: cannot remove %s: %s\n", dir, strerror(errno));
}

static void it_print_log(const struct it_broker *b)
{
	char buf[4096];
	size_t n;
	FILE *f = fopen(b->log, "re");

	if (!f)
		return;
	printf("---- sockbrokerd log (%s) ----\n", b->log);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stdout);
	printf("---- end of log ----\n");
	fflush(stdout);
	fclose(f);
}

static int it_connectable(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, ok;

	if (strlen(path) >= sizeof(sun.sun_path))
		return 0;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return ok;
}

uint64_t it_broker_drop_caps;

/* Run the broker of @b (its paths and config already set) and wait until
 * its socket accepts connections. Return: 0, or -1 (printed, b->pid 0). */
static int it_broker_spawn(struct it_broker *b)
{
	char listen_arg[sizeof(b->sock) + 8];
	const char *argv[8];
	int64_t until;
	int argc = 0, logfd, status, i;
	pid_t parent = getpid();

	snprintf(listen_arg, sizeof(listen_arg), "unix:%s", b->sock);
	argv[argc++] = SB_BROKERD_PATH;
	argv[argc++] = "--verbose";
	argv[argc++] = "--listen";
	argv[argc++] = listen_arg;
	if (b->config[0]) {
		argv[argc++] = "--config";
		argv[argc++] = b->config;
	}
	argv[argc] = NULL;

	logfd = open(b->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0) {
		perror("harness: broker log");
		return -1;
	}
	fflush(NULL);
	b->pid = fork();
	if (b->pid < 0) {
		perror("harness: fork");
		close(logfd);
		b->pid = 0;
		return -1;
	}
	if (b->pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		/* The broker dies with the test, whatever kills the test. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		for (i = 0; i < 64; i++)
			if ((it_broker_drop_caps >> i) & 1)
				prctl(PR_CAPBSET_DROP, (unsigned long)i, 0, 0, 0);
		execv(argv[0], (char *const *)argv);
		dprintf(2, "harness: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(logfd);

	until = it_now_ms() + START_WAIT_MS;
	while (it_now_ms() < until) {
		if (waitpid(b->pid, &status, WNOHANG) == b->pid) {
			printf("harness: sockbrokerd exited during start-up (status 0x%x)\n",
			       (unsigned)status);
			b->pid = 0;
			it_print_log(b);
			return -1;
		}
		if (it_connectable(b->sock))
			return 0;
		it_sleep_ms(10);
	}
	printf("harness: %s not connectable after %d ms\n", b->sock, START_WAIT_MS);
	it_print_log(b);
	kill(b->pid, SIGKILL);
	waitpid(b->pid, &status, 0);
	b->pid = 0;
	return -1;
}

int it_broker_start(struct it_broker *b, const char *config_yaml)
{
	memset(b, 0, sizeof(*b));
	signal(SIGPIPE, SIG_IGN);
	snprintf(b->dir, sizeof(b->dir), "/tmp/sb-it-XXXXXX");
	if (!mkdtemp(b->dir)) {
		perror("harness: mkdtemp");
		b->dir[0] = 0;
		return -1;
	}
	snprintf(b->sock, sizeof(b->sock), "%s/broker.sock", b->dir);
	snprintf(b->target, sizeof(b->target), "unix:%s", b->sock);
	snprintf(b->log, sizeof(b->log), "%s/broker.log", b->dir);
	if (config_yaml) {
		FILE *f;

		snprintf(b->config, sizeof(b->config), "%s/config.yaml", b->dir);
		f = fopen(b->config, "we");
		if (!f || fputs(config_yaml, f) < 0 || fclose(f) != 0) {
			perror("harness: writing config");
			goto fail;
		}
	}
	it_current = b;
	if (it_broker_spawn(b) == 0)
		return 0;
fail:
	it_rmtree(b->dir);
	it_current = NULL;
	return -1;
}

int it_broker_restart(struct it_broker *b, int sig)
{
	int64_t until = it_now_ms() + STOP_WAIT_MS;
	int status;

	if (b->pid > 0) {
		kill(b->pid, sig);
		while (waitpid(b->pid, &status, WNOHANG) != b->pid) {
			if (it_now_ms() > until) {
				printf("harness: sockbrokerd did not end within %d ms of signal "
				       "%d; SIGKILL\n", STOP_WAIT_MS, sig);
				kill(b->pid, SIGKILL);
				waitpid(b->pid, &status, 0);
				break;
			}
			it_sleep_ms(5);
		}
		b->pid = 0;
	}
	return it_broker_spawn(b);
}

/* The port in the first "listening on tcp HOST:PORT (" line, or 0. */
static unsigned it_log_tcp_port(const char *log)
{
	static const char key[] = "listening on tcp ";
	char line[512];
	unsigned port = 0;
	FILE *f = fopen(log, "re");

	while (f && !port && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, key), *end;

		if (!p)
			continue;
		p += sizeof(key) - 1;
		end = strstr(p, " (");
		while (end && end > p && end[-1] != ':')
			end--;
		if (end && end > p)
			port = (unsigned)strtoul(end, NULL, 10);
	}
	if (f)
		fclose(f);
	return port;
}

unsigned it_broker_tcp_port(const struct it_broker *b)
{
	int64_t until = it_now_ms() + 5000;
	unsigned port;

	/* The Unix listener may accept before the TCP line is written. */
	while (!(port = it_log_tcp_port(b->log)) && it_now_ms() < until)
		it_sleep_ms(10);
	return port;
}

int it_broker_stop(struct it_broker *b)
{
	int status = 0, ret = 0, exited = 0;
	int64_t until;

	if (b->pid > 0) {
		kill(b->pid, SIGTERM);
		until = it_now_ms() + STOP_WAIT_MS;
		while (it_now_ms() < until) {
			if (waitpid(b->pid, &status, WNOHANG) == b->pid) {
				exited = 1;
				break;
			}
			it_sleep_ms(5);
		}
		if (!exited) {
			printf("harness: sockbrokerd did not stop within %d ms of SIGTERM; "
			       "SIGKILL\n", STOP_WAIT_MS);
			kill(b->pid, SIGKILL);
			waitpid(b->pid, &status, 0);
			ret = -1;
		} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			printf("harness: sockbrokerd ended with %s %d after SIGTERM "
			       "(expected exit 0)\n", WIFEXITED(status) ? "exit" : "signal",
			       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			ret = -1;
		}
		b->pid = 0;
		if (access(b->sock, F_OK) == 0) {
			printf("harness: %s still exists after the broker stopped\n", b->sock);
			ret = -1;
		}
	}
	if (ret < 0 || it_failures())
		it_print_log(b);
	it_rmtree(b->dir);
	b->dir[0] = 0;
	if (it_current == b)
		it_current = NULL;
	return ret;
}

/* SIGALRM: async-signal-safe calls only. */
static void it_on_alarm(int sig)
{
	static const char msg[] = "FAIL: watchdog: the test took too long; killed\n";
	struct it_broker *b = it_current;
	char buf[1024];
	long n;
	int dfd;

	(void)sig;
	if (write(1, msg, sizeof(msg) - 1) < 0) {
		/* nothing left to report to */
	}
	if (!b)
		_exit(1);
	if (b->pid > 0)
		kill(b->pid, SIGKILL);
	dfd = open(b->dir, O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
			long off = 0;

			while (off < n) {
				const char *name = buf + off + 19;	/* d_name */
				unsigned short reclen;

				memcpy(&reclen, buf + off + 16, sizeof(reclen));
				if (strcmp(name, ".") && strcmp(name, ".."))
					unlinkat(dfd, name, 0);
				off += reclen;
			}
		}
		close(dfd);
		rmdir(b->dir);
	}
	_exit(1);
}

void it_watchdog(struct it_broker *b, unsigned seconds)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = it_on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	it_current = b;
	alarm(seconds);
}

/* ---- raw gRPC ---- */

const char *it_status_name(grpc_status_code code)
{
	static const char *const names[] = {
		"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
		"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
		"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
		"INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
	};

	if ((unsigned)code < sizeof(names) / sizeof(names[0]))
		return names[code];
	return "?";
}

grpc_channel *it_channel(const struct it_broker *b)
{
	grpc_channel_credentials *creds;
	grpc_channel *ch;

	grpc_init();
	creds = grpc_insecure_credentials_create();
	ch = grpc_channel_create(b->target, creds, NULL);
	grpc_channel_credentials_release(creds);
	return ch;
}

static gpr_timespec it_deadline(int timeout_ms)
{
	return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
			    gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
}

/* Wait for @tag on @cq; bounded by @timeout_ms. */
static int it_wait_tag(grpc_completion_queue *cq, void *tag, int timeout_ms, int *success)
{
	grpc_event ev = grpc_completion_queue_next(cq, it_deadline(timeout_ms), NULL);

	if (ev.type != GRPC_OP_COMPLETE || ev.tag != tag)
		return -1;
	*success = ev.success;
	return 0;
}

static void it_cq_destroy(grpc_completion_queue *cq)
{
	grpc_event ev;
	int i;

	grpc_completion_queue_shutdown(cq);
	for (i = 0; i < 1000; i++) {
		ev = grpc_completion_queue_next(cq, it_deadline(5000), NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
	}
	grpc_completion_queue_destroy(cq);
}

static void it_bb_read(grpc_byte_buffer *bb, uint8_t **data, size_t *len)
{
	grpc_byte_buffer_reader rd;
	grpc_slice all;

	*data = NULL;
	*len = 0;
	if (!bb || !grpc_byte_buffer_reader_init(&rd, bb))
		return;
	all = grpc_byte_buffer_reader_readall(&rd);
	grpc_byte_buffer_reader_destroy(&rd);
	*len = GRPC_SLICE_LENGTH(all);
	*data = malloc(*len ? *len : 1);
	if (*data)
		memcpy(*data, GRPC_SLICE_START_PTR(all), *len);
	else
		*len = 0;
	grpc_slice_unref(all);
}

int it_unary(grpc_channel *ch, const char *method, const void *req, size_t len,
	     const char *session, int timeout_ms, struct it_reply *r)
{
	grpc_metadata_array initial, trailing;
	grpc_byte_buffer *out, *in = NULL;
	grpc_completion_queue *cq;
	grpc_slice mslice, payload, details = grpc_empty_slice();
	grpc_metadata md;
	grpc_call *call;
	grpc_op ops[6];
	int ok = 0, ret = -1;
	size_t i;

	memset(r, 0, sizeof(*r));
	r->sb_errno = -1;
	r->status = GRPC_STATUS_UNKNOWN;
	cq = grpc_completion_queue_create_for_next(NULL);
	mslice = grpc_slice_from_copied_string(method);
	call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq, mslice, NULL,
					it_deadline(timeout_ms), NULL);
	grpc_slice_unref(mslice);
	payload = grpc_slice_from_copied_buffer(req ? (const char *)req : "", len);
	out = grpc_raw_byte_buffer_create(&payload, 1);
	grpc_slice_unref(payload);
	grpc_metadata_array_init(&initial);
	grpc_metadata_array_init(&trailing);

	memset(ops, 0, sizeof(ops));
	memset(&md, 0, sizeof(md));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	if (session) {
		md.key = grpc_slice_from_static_string("sb-session");
		md.value = grpc_slice_from_copied_string(session);
		ops[0].data.send_initial_metadata.count = 1;
		ops[0].data.send_initial_metadata.metadata = &md;
	}
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = out;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &in;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &trailing;
	ops[5].data.recv_status_on_client.status = &r->status;
	ops[5].data.recv_status_on_client.status_details = &details;

	if (grpc_call_start_batch(call, ops, 6, call, NULL) != GRPC_CALL_OK) {
		snprintf(r->details, sizeof(r->details), "grpc_call_start_batch failed");
		goto out;
	}
	/* The deadline ends the call; give the queue a margin past it. */
	if (it_wait_tag(cq, call, timeout_ms + 5000, &ok) < 0) {
		snprintf(r->details, sizeof(r->details), "no completion within %d ms",
			 timeout_ms + 5000);
		grpc_call_cancel(call, NULL);
		it_wait_tag(cq, call, 5000, &ok);
		goto out;
	}
	snprintf(r->details, sizeof(r->details), "%.*s", (int)GRPC_SLICE_LENGTH(details),
		 (const char *)GRPC_SLICE_START_PTR(details));
	for (i = 0; i < trailing.count; i++) {
		if (grpc_slice_str_cmp(trailing.metadata[i].key, "sb-errno") == 0) {
			char num[16];

			snprintf(num, sizeof(num), "%.*s",
				 (int)GRPC_SLICE_LENGTH(trailing.metadata[i].value),
				 (const char *)GRPC_SLICE_START_PTR(trailing.metadata[i].value));
			r->sb_errno = atoi(num);
		}
	}
	it_bb_read(in, &r->data, &r->len);
	ret = 0;
out:
	if (session)
		grpc_slice_unref(md.value);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&initial);
	grpc_metadata_array_destroy(&trailing);
	grpc_byte_buffer_destroy(out);
	if (in)
		grpc_byte_buffer_destroy(in);
	grpc_call_unref(call);
	it_cq_destroy(cq);
	return ret;
}

int it_call(grpc_channel *ch, const char *method, const ProtobufCMessage *req,
	    const char *session, int timeout_ms, struct it_reply *r)
{
	size_t len = protobuf_c_message_get_packed_size(req);
	uint8_t *buf = malloc(len ? len : 1);
	int ret;

	if (!buf) {
		memset(r, 0, sizeof(*r));
		return -1;
	}
	protobuf_c_message_pack(req, buf);
	ret = it_unary(ch, method, buf, len, session, timeout_ms, r);
	free(buf);
	return ret;
}

void it_reply_free(struct it_reply *r)
{
	free(r->data);
	r->data = NULL;
	r->len = 0;
}

int it_session_open(grpc_channel *ch, struct it_session *s, int timeout_ms)
{
	Sockbroker__V1__OpenSessionRequest req = SOCKBROKER__V1__OPEN_SESSION_REQUEST__INIT;
	Sockbroker__V1__SessionEvent *ev;
	grpc_metadata_array initial;
	grpc_byte_buffer *out, *in = NULL;
	grpc_slice mslice, payload;
	uint8_t buf[128], *data;
	grpc_op ops[5];
	size_t len;
	int ok = 0;

	memset(s, 0, sizeof(*s));
	req.client_name = (char *)"it-harness";
	len = protobuf_c_message_pack(&req.base, buf);
	s->cq = grpc_completion_queue_create_for_next(NULL);
	mslice = grpc_slice_from_static_string(IT_SVC "OpenSession");
	s->call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, s->cq, mslice,
					   NULL, it_deadline(120000), NULL);
	payload = grpc_slice_from_copied_buffer((const char *)buf, len);
	out = grpc_raw_byte_buffer_create(&payload, 1);
	grpc_slice_unref(payload);
	grpc_metadata_array_init(&initial);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = out;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &in;
	if (grpc_call_start_batch(s->call, ops, 5, s, NULL) != GRPC_CALL_OK ||
	    it_wait_tag(s->cq, s, timeout_ms, &ok) < 0 || !ok || !in) {
		grpc_byte_buffer_destroy(out);
		grpc_metadata_array_destroy(&initial);
		if (in)
			grpc_byte_buffer_destroy(in);
		it_session_close(s);
		return -1;
	}
	grpc_byte_buffer_destroy(out);
	grpc_metadata_array_destroy(&initial);
	it_bb_read(in, &data, &len);
	grpc_byte_buffer_destroy(in);
	ev = sockbroker__v1__session_event__unpack(NULL, len, data);
	free(data);
	if (!ev || !ev->token || !ev->token[0]) {
		if (ev)
			sockbroker__v1__session_event__free_unpacked(ev, NULL);
		it_session_close(s);
		return -1;
	}
	snprintf(s->token, sizeof(s->token), "%s", ev->token);
	s->id = ev->session_id;
	sockbroker__v1__session_event__free_unpacked(ev, NULL);
	return 0;
}

void it_session_close(struct it_session *s)
{
	grpc_metadata_array trailing;
	grpc_status_code status;
	grpc_slice details = grpc_empty_slice();
	grpc_op op;
	int ok;

	if (s->call) {
		grpc_call_cancel(s->call, NULL);
		grpc_metadata_array_init(&trailing);
		memset(&op, 0, sizeof(op));
		op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
		op.data.recv_status_on_client.trailing_metadata = &trailing;
		op.data.recv_status_on_client.status = &status;
		op.data.recv_status_on_client.status_details = &details;
		if (grpc_call_start_batch(s->call, &op, 1, s, NULL) == GRPC_CALL_OK)
			it_wait_tag(s->cq, s, 5000, &ok);
		grpc_metadata_array_destroy(&trailing);
		grpc_slice_unref(details);
		grpc_call_unref(s->call);
		s->call = NULL;
	}
	if (s->cq) {
		it_cq_destroy(s->cq);
		s->cq = NULL;
	}
}

int it_ticket(grpc_channel *ch, const struct it_session *s, uint8_t *out)
{
	Sockbroker__V1__HandoffTicketRequest req = SOCKBROKER__V1__HANDOFF_TICKET_REQUEST__INIT;
	Sockbroker__V1__HandoffTicketReply *rep;
	struct it_reply r;
	int ret = -1;

	if (it_call(ch, IT_SVC "HandoffTicket", &req.base, s->token, 3000, &r) < 0)
		return -1;
	if (r.status == GRPC_STATUS_OK) {
		rep = sockbroker__v1__handoff_ticket_reply__unpack(NULL, r.len, r.data);
		if (rep && rep->ticket.len == 32 && rep->expires_ms > 0) {
			memcpy(out, rep->ticket.data, 32);
			ret = 0;
		}
		if (rep)
			sockbroker__v1__handoff_ticket_reply__free_unpacked(rep, NULL);
	}
	it_reply_free(&r);
	return ret;
}

int it_side_present(const char *sock, const char *magic, const uint8_t *ticket, int *keep)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	uint8_t hello[40];
	int32_t err = -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	memcpy(hello, magic, 8);
	memcpy(hello + 8, ticket, 32);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    write(fd, hello, sizeof(hello)) != (ssize_t)sizeof(hello) ||
	    it_read_full(fd, &err, sizeof(err), 3000) < 0)
		err = -1;
	if (keep && err == 0)
		*keep = fd;
	else if (fd >= 0)
		close(fd);
	return err;
}

Sockbroker__V1__GetStatsReply *it_stats(grpc_channel *ch)
{
	Sockbroker__V1__GetStatsRequest req = SOCKBROKER__V1__GET_STATS_REQUEST__INIT;
	Sockbroker__V1__GetStatsReply *rep = NULL;
	struct it_reply r;

	if (it_call(ch, IT_SVC "GetStats", &req.base, NULL, 5000, &r) == 0 &&
	    r.status == GRPC_STATUS_OK)
		rep = sockbroker__v1__get_stats_reply__unpack(NULL, r.len, r.data);
	else
		printf("harness: GetStats: %s %s\n", it_status_name(r.status), r.details);
	it_reply_free(&r);
	return rep;
}

int64_t it_stats_sockets(grpc_channel *ch)
{
	Sockbroker__V1__GetStatsReply *rep = it_stats(ch);
	int64_t n;

	if (!rep)
		return -1;
	n = (int64_t)rep->sockets_open;
	sockbroker__v1__get_stats_reply__free_unpacked(rep, NULL);
	return n;
}

int64_t it_wait_sockets(grpc_channel *ch, int64_t want, int ms)
{
	int64_t until = it_now_ms() + ms, n;

	for (;;) {
		n = it_stats_sockets(ch);
		if (n == want || it_now_ms() > until)
			return n;
		it_sleep_ms(20);
	}
}

#define IT_ENDS_MAX 64

void it_wait_ends(const int *fds, int n, int ms, const char **how)
{
	int64_t until = it_now_ms() + ms;
	int i, left;

	if (n > IT_ENDS_MAX)
		n = IT_ENDS_MAX;
	left = n;
	for (i = 0; i < n; i++)
		how[i] = NULL;
	while (left > 0) {
		struct pollfd p[IT_ENDS_MAX];
		int64_t t = until - it_now_ms();

		if (t <= 0)
			break;
		for (i = 0; i < n; i++)
			p[i] = (struct pollfd){ .fd = how[i] ? -1 : fds[i], .events = POLLIN };
		if (poll(p, (nfds_t)n, (int)t) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			char buf[256];
			ssize_t r;

			if (how[i] || !p[i].revents)
				continue;
			r = read(fds[i], buf, sizeof(buf));
			if (r == 0)
				how[i] = "EOF";
			else if (r < 0 && errno == ECONNRESET)
				how[i] = "ECONNRESET";
			else if (r < 0 && errno != EINTR && errno != EAGAIN)
				how[i] = strerror(errno);
			if (how[i])
				left--;
		}
	}
}

/* ---- native helpers ---- */

socklen_t it_addr4(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	inet_pton(AF_INET, ip, &sin->sin_addr);
	return sizeof(*sin);
}

socklen_t it_addr6(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &sin6->sin6_addr);
	return sizeof(*sin6);
}

uint16_t it_port(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)ss)->sin_port);
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return 0;
}

const char *it_addr_str(const struct sockaddr *sa, socklen_t len, char *buf, size_t n)
{
	char ip[INET6_ADDRSTRLEN];

	if (!sa || len < sizeof(sa_family_t)) {
		snprintf(buf, n, "(none, len %u)", (unsigned)len);
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
		snprintf(buf, n, "%s:%u", ip, ntohs(s->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
		snprintf(buf, n, "[%s]:%u", ip, ntohs(s->sin6_port));
	} else if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *s = (const struct sockaddr_un *)sa;
		size_t plen = len > offsetof(struct sockaddr_un, sun_path)
				      ? len - offsetof(struct sockaddr_un, sun_path) : 0;

		if (plen && s->sun_path[0] == 0)
			snprintf(buf, n, "unix-abstract:%.*s", (int)(plen - 1), s->sun_path + 1);
		else
			snprintf(buf, n, "unix:%.*s", (int)strnlen(s->sun_path, plen), s->sun_path);
	} else {
		snprintf(buf, n, "(family %d)", sa->sa_family);
	}
	return buf;
}

int it_native_listener(int family, const char *ip, struct sockaddr_storage *bound,
		       socklen_t *len)
{
	struct sockaddr_storage ss;
	socklen_t sl = family == AF_INET ? it_addr4(&ss, ip, 0) : it_addr6(&ss, ip, 0);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 16) < 0) {
		close(fd);
		return -1;
	}
	*len = sizeof(*bound);
	getsockname(fd, (struct sockaddr *)bound, len);
	return fd;
}

int it_read_full(int fd, void *buf, size_t n, int timeout_ms)
{
	int64_t until = it_now_ms() + timeout_ms;
	size_t got = 0;

	while (got < n) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = until - it_now_ms();
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

int it_write_full(int fd, const void *buf, size_t n)
{
	size_t done = 0;

	while (done < n) {
		ssize_t w = write(fd, (const char *)buf + done, n - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

ssize_t it_read_some(int fd, void *buf, size_t n, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, timeout_ms) <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	return read(fd, buf, n);
}

int it_native_accept(int lfd, struct sockaddr_storage *peer, socklen_t *len, int timeout_ms)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	socklen_t dummy = sizeof(struct sockaddr_storage);

	if (poll(&p, 1, timeout_ms) <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	if (!len)
		len = &dummy;
	return accept4(lfd, (struct sockaddr *)peer, len, SOCK_CLOEXEC);
}

void it_fill(void *buf, size_t n, unsigned seed)
{
	unsigned char *p = buf;
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

/* ---- another uid ---- */

extern char **environ;

int it_drop_privileges(uid_t uid, gid_t gid)
{
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		printf("FAIL: cannot become uid %u: %s\n", (unsigned)uid, strerror(errno));
		return -1;
	}
	/* The parent-death signal is cleared by a credential change: set it now. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		return -1;
	return getuid() == uid && geteuid() == uid && getgid() == gid ? 0 : -1;
}

pid_t it_spawn_self(char *const argv[])
{
	pid_t pid;
	int rc;

	fflush(NULL);
	rc = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, argv, environ);
	if (rc) {
		printf("FAIL: posix_spawn: %s\n", strerror(rc));
		return -1;
	}
	return pid;
}

int it_run_self(char *const argv[], int timeout_ms)
{
	int64_t until = it_now_ms() + timeout_ms;
	pid_t pid = it_spawn_self(argv);
	int status = -1;

	if (pid < 0)
		return -1;
	while (it_now_ms() < until) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		it_sleep_ms(20);
	}
	printf("FAIL: the child %s did not finish within %d ms; killed\n",
	       argv[1] ? argv[1] : argv[0], timeout_ms);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

const Sockbroker__V1__IdentityStats *it_find_identity(const Sockbroker__V1__GetStatsReply *st,
						      const char *key)
{
	size_t i;

	for (i = 0; st && i < st->n_identities; i++)
		if (st->identities[i] && st->identities[i]->identity &&
		    !strcmp(st->identities[i]->identity, key))
			return st->identities[i];
	return NULL;
}

int it_count_fds_below(pid_t pid, int lim)
{
	char path[64];
	struct dirent *d;
	int n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		n += d->d_name[0] != '.' && atoi(d->d_name) < lim;
	closedir(dir);
	return n;
}

int it_count_fds(pid_t pid)
{
	return it_count_fds_below(pid, INT_MAX);
}

int it_broker_quiet(grpc_channel *ch)
{
	Sockbroker__V1__GetStatsReply *st = it_stats(ch);
	int ok = st && st->sessions_open == 0 && st->sockets_open == 0 && st->waits_parked == 0;

	if (st)
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	return ok;
}

long it_proc_status(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t n = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n)) {
			v = strtol(line + n, NULL, 10);
			break;
		}
	if (f)
		fclose(f);
	return v;
}
