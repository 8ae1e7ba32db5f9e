/* SPDX-License-Identifier: MIT
 * it_stream_pipe.c - the Pipe stream as a bulk data path: 64 MiB each way
 * at once between a pipe (sb_pipe_open on a broker socket connected to a
 * native listener) and the native end, then both half closes.
 *
 * Four threads run together: pipe writer, pipe reader, native writer,
 * native reader. Each direction carries a deterministic pattern; the
 * FNV-1a 64 of what was written must equal that of what was read, byte
 * counts included. Then sb_pipe_shutdown() must give the native side EOF,
 * and a native shutdown(SHUT_WR) must make sb_pipe_read() return 0.
 * Descriptors a Unix peer sends down a piped socket are closed in the
 * broker (test_unix_fds). The
 * throughput is printed as a note. Bounded by a 60 s watchdog and by poll
 * timeouts on the native side.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "it_client.h"

#define TOTAL ((size_t)64 << 20)
#define BLOCK ((size_t)1 << 20)
#define FNV_INIT 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

struct dir {
	const char *what;
	sb_pipe *p;
	int fd;
	unsigned seed;
	size_t bytes;
	uint64_t fnv;
	int64_t ms;
	int failed;
};

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= FNV_PRIME;
	}
	return h;
}

/* Block @i of the pattern with @seed: xorshift64, 8 bytes a step. */
static void pattern(unsigned char *buf, unsigned seed, size_t i)
{
	uint64_t x = ((uint64_t)seed << 32 | (uint64_t)i) * 0x9e3779b97f4a7c15ull + 1;
	size_t k;

	for (k = 0; k < BLOCK; k += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + k, &x, 8);
	}
}

static void *pipe_writer(void *arg)
{
	struct dir *d = arg;
	unsigned char *buf = malloc(BLOCK);
	int64_t t0 = it_now_ms();
	size_t i;

	d->fnv = FNV_INIT;
	for (i = 0; buf && i < TOTAL / BLOCK; i++) {
		ssize_t w;

		pattern(buf, d->seed, i);
		w = sb_pipe_write(d->p, buf, BLOCK);
		if (!CHECK(w == (ssize_t)BLOCK, "%s: sb_pipe_write at %zu: %zd (%s %s)", d->what,
			   d->bytes, w, strerror(errno), it_sberr())) {
			d->failed = 1;
			break;
		}
		d->fnv = fnv(d->fnv, buf, BLOCK);
		d->bytes += BLOCK;
	}
	d->ms = it_now_ms() - t0;
	free(buf);
	return NULL;
}

static void *pipe_reader(void *arg)
{
	struct dir *d = arg;
	unsigned char *buf = malloc(BLOCK);
	int64_t t0 = it_now_ms();

	d->fnv = FNV_INIT;
	while (buf && d->bytes < TOTAL) {
		size_t want = TOTAL - d->bytes < BLOCK ? TOTAL - d->bytes : BLOCK;
		ssize_t r = sb_pipe_read(d->p, buf, want);

		if (!CHECK(r > 0, "%s: sb_pipe_read at %zu: %zd (%s %s)", d->what, d->bytes, r,
			   strerror(errno), it_sberr())) {
			d->failed = 1;
			break;
		}
		d->fnv = fnv(d->fnv, buf, (size_t)r);
		d->bytes += (size_t)r;
	}
	d->ms = it_now_ms() - t0;
	free(buf);
	return NULL;
}

static void *native_writer(void *arg)
{
	struct dir *d = arg;
	unsigned char *buf = malloc(BLOCK);
	int64_t t0 = it_now_ms();
	size_t i;

	d->fnv = FNV_INIT;
	for (i = 0; buf && i < TOTAL / BLOCK; i++) {
		size_t off = 0;

		pattern(buf, d->seed, i);
		while (off < BLOCK) {
			struct pollfd p = { .fd = d->fd, .events = POLLOUT };
			ssize_t w;

			if (!CHECK(poll(&p, 1, 20000) == 1, "%s: blocked for 20 s at %zu", d->what,
				   d->bytes + off)) {
				d->failed = 1;
				goto out;
			}
			w = write(d->fd, buf + off, BLOCK - off);
			if (w < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (!CHECK(w > 0, "%s: write: %s", d->what, strerror(errno))) {
				d->failed = 1;
				goto out;
			}
			off += (size_t)w;
		}
		d->fnv = fnv(d->fnv, buf, BLOCK);
		d->bytes += BLOCK;
	}
out:
	d->ms = it_now_ms() - t0;
	free(buf);
	return NULL;
}

static void *native_reader(void *arg)
{
	struct dir *d = arg;
	unsigned char *buf = malloc(BLOCK);
	int64_t t0 = it_now_ms();

	d->fnv = FNV_INIT;
	while (buf && d->bytes < TOTAL) {
		size_t want = TOTAL - d->bytes < BLOCK ? TOTAL - d->bytes : BLOCK;
		ssize_t r = it_read_some(d->fd, buf, want, 20000);

		if (!CHECK(r > 0, "%s: read at %zu: %zd (%s)", d->what, d->bytes, r,
			   r < 0 ? strerror(errno) : "EOF")) {
			d->failed = 1;
			break;
		}
		d->fnv = fnv(d->fnv, buf, (size_t)r);
		d->bytes += (size_t)r;
	}
	d->ms = it_now_ms() - t0;
	free(buf);
	return NULL;
}

/* Descriptors a Unix peer sends down a piped socket are closed in the
 * broker (RecvStream and Pipe carry bytes only): the bytes come through,
 * the only other end of the pipe sent sees its reader gone (EPIPE), and
 * the broker's descriptors come back to where they were. */
static void test_unix_fds(sb_client *c, pid_t broker)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct iovec iov = { .iov_base = "hello", .iov_len = 5 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			     .msg_controllen = sizeof(u.b) };
	struct cmsghdr *h;
	int lfd, afd = -1, pp[2] = { -1, -1 }, s = -1, fds0 = it_count_fds(broker), i;
	char got[8] = "";
	size_t n = 0;
	sb_pipe *p = NULL;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "/tmp/sb-pipefd.%d", (int)getpid());
	unlink(sun.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == 0 &&
		   listen(lfd, 1) == 0, "Unix listener: %s", strerror(errno)))
		goto out;
	s = sb_unix_connect(c, sun.sun_path);
	afd = it_native_accept(lfd, NULL, NULL, 5000);
	p = s >= 0 ? sb_pipe_open(c, s) : NULL;
	if (!CHECK(afd >= 0 && p && pipe(pp) == 0, "Unix pipe set-up: %s %s", strerror(errno),
		   it_sberr()))
		goto out;
	memset(u.b, 0, sizeof(u.b));
	h = CMSG_FIRSTHDR(&mh);
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &pp[0], sizeof(int));
	CHECK(sendmsg(afd, &mh, 0) == 5, "sendmsg with SCM_RIGHTS: %s", strerror(errno));
	close(pp[0]);
	pp[0] = -1;
	for (i = 0; i < 10 && n < 5; i++) {
		ssize_t r = sb_pipe_read(p, got + n, 5 - n);

		if (r <= 0)
			break;
		n += (size_t)r;
	}
	CHECK(n == 5 && !memcmp(got, "hello", 5), "the bytes sent with a descriptor came "
	      "through the pipe (%zu)", n);
	errno = 0;
	CHECK(write(pp[1], "x", 1) < 0 && errno == EPIPE, "the descriptor the broker got was "
	      "closed there (write to its pipe: %s, want EPIPE)", strerror(errno));
out:
	sb_pipe_close(p);
	if (s >= 0)
		sb_close(c, s);
	for (i = 0; fds0 >= 0 && i < 100 && it_count_fds(broker) > fds0; i++)
		it_sleep_ms(20);
	CHECK(fds0 < 0 || it_count_fds(broker) <= fds0, "broker fds %d, were %d",
	      it_count_fds(broker), fds0);
	if (pp[1] >= 0)
		close(pp[1]);
	if (afd >= 0)
		close(afd);
	if (lfd >= 0)
		close(lfd);
	unlink(sun.sun_path);
}

int main(void)
{
	struct sockaddr_storage lis;
	struct dir out_w = { "pipe writer", NULL, -1, 1, 0, 0, 0, 0 };
	struct dir out_r = { "native reader", NULL, -1, 1, 0, 0, 0, 0 };
	struct dir in_w = { "native writer", NULL, -1, 2, 0, 0, 0, 0 };
	struct dir in_r = { "pipe reader", NULL, -1, 2, 0, 0, 0, 0 };
	pthread_t th[4];
	struct it_broker b;
	grpc_channel *ch;
	socklen_t lislen;
	int64_t open0, t0, el;
	int lfd, fd = -1, s = -1, started = 0, i;
	char one;
	ssize_t r;
	sb_pipe *p = NULL;
	sb_client *c;

	c = it_setup(&b, NULL, 60);
	ch = it_channel(&b);
	open0 = it_stats_sockets(ch);
	lfd = it_native_listener(AF_INET, "127.0.0.1", &lis, &lislen);
	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (!CHECK(lfd >= 0 && s >= 0, "listener / sb_socket: %s %s", strerror(errno),
		   it_sberr()) ||
	    !CHECK(sb_connect(c, s, (struct sockaddr *)&lis, lislen) == 0, "sb_connect: %s %s",
		   strerror(errno), it_sberr()))
		goto out;
	fd = it_native_accept(lfd, NULL, NULL, 5000);
	if (!CHECK(fd >= 0, "native accept: %s", strerror(errno)))
		goto out;
	p = sb_pipe_open(c, s);
	if (!CHECK(p != NULL, "sb_pipe_open: %s %s", strerror(errno), it_sberr()))
		goto out;
	out_w.p = in_r.p = p;
	out_r.fd = in_w.fd = fd;

	t0 = it_now_ms();
	started += pthread_create(&th[started], NULL, native_reader, &out_r) == 0;
	started += pthread_create(&th[started], NULL, native_writer, &in_w) == 0;
	started += pthread_create(&th[started], NULL, pipe_reader, &in_r) == 0;
	started += pthread_create(&th[started], NULL, pipe_writer, &out_w) == 0;
	if (!CHECK(started == 4, "pthread_create: %d of 4 started", started)) {
		/* The ones started end on their own once the socket closes. */
		shutdown(fd, SHUT_RDWR);
	}
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	el = it_now_ms() - t0;
	CHECK(out_w.bytes == TOTAL && out_r.bytes == TOTAL, "pipe -> native: %zu written, %zu "
	      "read, want %zu", out_w.bytes, out_r.bytes, TOTAL);
	CHECK(in_w.bytes == TOTAL && in_r.bytes == TOTAL, "native -> pipe: %zu written, %zu "
	      "read, want %zu", in_w.bytes, in_r.bytes, TOTAL);
	CHECK(out_w.fnv == out_r.fnv, "pipe -> native: FNV-1a %016llx written, %016llx read",
	      (unsigned long long)out_w.fnv, (unsigned long long)out_r.fnv);
	CHECK(in_w.fnv == in_r.fnv, "native -> pipe: FNV-1a %016llx written, %016llx read",
	      (unsigned long long)in_w.fnv, (unsigned long long)in_r.fnv);
	if (el > 0)
		it_note("64 MiB each way in %lld ms: %.1f MB/s both ways together "
			"(pipe->native %.1f MB/s over %lld ms, native->pipe %.1f MB/s over "
			"%lld ms)", (long long)el, 2.0 * (double)TOTAL / 1e3 / (double)el,
			(double)TOTAL / 1e3 / (double)(out_r.ms ? out_r.ms : 1),
			(long long)out_r.ms,
			(double)TOTAL / 1e3 / (double)(in_r.ms ? in_r.ms : 1), (long long)in_r.ms);
	if (out_w.failed || out_r.failed || in_w.failed || in_r.failed)
		goto out;

	/* sb_pipe_shutdown: the native side reads EOF. */
	CHECK(sb_pipe_shutdown(p) == 0, "sb_pipe_shutdown: %s %s", strerror(errno), it_sberr());
	r = it_read_some(fd, &one, 1, 5000);
	CHECK(r == 0, "native read after sb_pipe_shutdown: %zd (%s), want 0 (EOF)", r,
	      r < 0 ? strerror(errno) : "data");
	CHECK(sb_pipe_write(p, "x", 1) == -1 && errno == EPIPE, "sb_pipe_write after "
	      "sb_pipe_shutdown: want -1 EPIPE, got %s", strerror(errno));
	/* The native half close: sb_pipe_read returns 0. */
	CHECK(shutdown(fd, SHUT_WR) == 0, "native shutdown(SHUT_WR): %s", strerror(errno));
	r = sb_pipe_read(p, &one, 1);
	CHECK(r == 0, "sb_pipe_read after the peer's SHUT_WR: %zd (%s %s), want 0", r,
	      r < 0 ? strerror(errno) : "data", it_sberr());
	r = sb_pipe_read(p, &one, 1);
	CHECK(r == 0, "sb_pipe_read again at the end: %zd, want 0", r);
out:
	sb_pipe_close(p);
	if (s >= 0)
		CHECK(sb_close(c, s) == 0, "sb_close after sb_pipe_close: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	if (lfd >= 0)
		close(lfd);
	test_unix_fds(c, b.pid);
	CHECK(it_stats_sockets(ch) == open0, "sockets_open not back at the baseline %lld",
	      (long long)open0);
	grpc_channel_destroy(ch);
	return it_teardown(&b, c);
}
