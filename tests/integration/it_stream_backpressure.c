/* SPDX-License-Identifier: MIT
 * it_stream_backpressure.c - a Pipe consumer that stops reading does not
 * make the broker buffer: the socket's native peer writes as fast as it
 * can (up to 256 MiB) while the test does not call sb_pipe_read for 2 s.
 *
 * Checks: the broker's VmRSS (/proc/PID/status) grows by less than
 * 16 MiB over those 2 s (sampled every 50 ms, the peak counts); the native
 * writer is held back (it could not write all 256 MiB while nobody read);
 * then everything is read, byte count and FNV-1a 64 equal to what was
 * written, and the peer's half close gives sb_pipe_read() 0.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_client.h"

#define TOTAL ((size_t)256 << 20)
#define BLOCK ((size_t)1 << 20)
#define PAUSE_MS 2000
#define MAX_GROWTH_KB (16 * 1024)
#define FNV_INIT 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

struct writer {
	int fd;
	atomic_size_t written;
	atomic_int done;
	uint64_t fnv;
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

static void pattern(unsigned char *buf, size_t i)
{
	uint64_t x = (uint64_t)(i + 1) * 0x9e3779b97f4a7c15ull;
	size_t k;

	for (k = 0; k < BLOCK; k += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + k, &x, 8);
	}
}

/* The broker's VmRSS in KiB, or -1. */
static long rss_kb(pid_t pid)
{
	return it_proc_status(pid, "VmRSS:");
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	unsigned char *buf = malloc(BLOCK);
	int64_t until = it_now_ms() + 40000;
	size_t i;

	w->fnv = FNV_INIT;
	for (i = 0; buf && i < TOTAL / BLOCK; i++) {
		size_t off = 0;

		pattern(buf, i);
		while (off < BLOCK) {
			struct pollfd p = { .fd = w->fd, .events = POLLOUT };
			ssize_t n;

			if (it_now_ms() > until) {
				CHECK(0, "native writer: not done in 40 s (%zu bytes written)",
				      atomic_load(&w->written));
				w->failed = 1;
				goto out;
			}
			if (poll(&p, 1, 100) <= 0)
				continue;
			n = write(w->fd, buf + off, BLOCK - off);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (!CHECK(n > 0, "native writer: %s", strerror(errno))) {
				w->failed = 1;
				goto out;
			}
			off += (size_t)n;
			atomic_fetch_add(&w->written, (size_t)n);
		}
		w->fnv = fnv(w->fnv, buf, BLOCK);
	}
	CHECK(shutdown(w->fd, SHUT_WR) == 0, "native shutdown(SHUT_WR): %s", strerror(errno));
out:
	atomic_store(&w->done, 1);
	free(buf);
	return NULL;
}

int main(void)
{
	struct sockaddr_storage lis;
	static struct writer w;
	struct it_broker b;
	grpc_channel *ch;
	socklen_t lislen;
	pthread_t th;
	long rss0, rss_max, rss_end, kb;
	size_t at_pause, got = 0;
	uint64_t h = FNV_INIT;
	int64_t open0, t0, until;
	int lfd, fd = -1, s = -1, started = 0;
	unsigned char *buf = malloc(BLOCK);
	ssize_t r;
	sb_pipe *p = NULL;
	sb_client *c;

	c = it_setup(&b, NULL, 60);
	ch = it_channel(&b);
	open0 = it_stats_sockets(ch);
	lfd = it_native_listener(AF_INET, "127.0.0.1", &lis, &lislen);
	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (!CHECK(buf != NULL, "malloc") ||
	    !CHECK(lfd >= 0 && s >= 0, "listener / sb_socket: %s %s", strerror(errno),
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
	/* The pipe runs: one byte through it both ways first. */
	if (!CHECK(sb_pipe_write(p, "a", 1) == 1 && it_read_full(fd, buf, 1, 5000) == 0 &&
		   it_write_full(fd, "b", 1) == 0 && sb_pipe_read(p, buf, 1) == 1 &&
		   buf[0] == 'b', "one byte through the pipe each way: %s %s", strerror(errno),
		   it_sberr()))
		goto out;
	rss0 = rss_kb(b.pid);
	if (!CHECK(rss0 > 0, "cannot read VmRSS of the broker (pid %d)", (int)b.pid))
		goto out;

	/* The peer writes; nobody reads the pipe for PAUSE_MS. */
	w.fd = fd;
	if (!CHECK(pthread_create(&th, NULL, writer_main, &w) == 0, "pthread_create"))
		goto out;
	started = 1;
	rss_max = rss0;
	t0 = it_now_ms();
	until = t0 + PAUSE_MS;
	while (it_now_ms() < until) {
		it_sleep_ms(50);
		kb = rss_kb(b.pid);
		if (kb > rss_max)
			rss_max = kb;
	}
	at_pause = atomic_load(&w.written);
	it_note("broker VmRSS %ld kB before, peak %ld kB during %d ms without reading "
		"(growth %ld kB); the peer got %zu bytes (%.1f MiB) in", rss0, rss_max, PAUSE_MS,
		rss_max - rss0, at_pause, (double)at_pause / 1048576.0);
	CHECK(rss_max - rss0 < MAX_GROWTH_KB, "the broker's RSS grew by %ld kB while the pipe "
	      "was not read, want < %d kB", rss_max - rss0, MAX_GROWTH_KB);
	CHECK(at_pause < TOTAL, "the native peer wrote all %zu bytes while the pipe was not "
	      "read: no backpressure reached it", at_pause);

	/* Now read everything, to the peer's EOF. */
	t0 = it_now_ms();
	for (;;) {
		r = sb_pipe_read(p, buf, BLOCK);
		if (r <= 0)
			break;
		h = fnv(h, buf, (size_t)r);
		got += (size_t)r;
		if (!CHECK(got <= TOTAL, "read %zu bytes, more than the %zu written", got, TOTAL))
			break;
	}
	CHECK(r == 0, "sb_pipe_read at %zu: %zd (%s %s), want 0 at the peer's EOF", got, r,
	      strerror(errno), it_sberr());
	pthread_join(th, NULL);
	started = 0;
	rss_end = rss_kb(b.pid);
	CHECK(!w.failed && got == TOTAL, "read %zu bytes, want %zu", got, TOTAL);
	CHECK(h == w.fnv, "FNV-1a %016llx read, %016llx written", (unsigned long long)h,
	      (unsigned long long)w.fnv);
	it_note("then read %zu bytes in %lld ms; broker VmRSS at the end %ld kB", got,
		(long long)(it_now_ms() - t0), rss_end);
out:
	if (started) {
		/* A failure above: make the writer stop (bounded by its poll). */
		if (fd >= 0)
			shutdown(fd, SHUT_RDWR);
		pthread_join(th, NULL);
	}
	sb_pipe_close(p);
	if (s >= 0)
		CHECK(sb_close(c, s) == 0, "sb_close: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	if (lfd >= 0)
		close(lfd);
	free(buf);
	CHECK(it_stats_sockets(ch) == open0, "sockets_open not back at the baseline %lld",
	      (long long)open0);
	grpc_channel_destroy(ch);
	return it_teardown(&b, c);
}
