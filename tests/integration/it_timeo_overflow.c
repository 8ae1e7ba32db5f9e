/* SPDX-License-Identifier: MIT
 * it_timeo_overflow.c - socket timeouts too large for milliseconds wait as
 * long as the kernel would (in effect forever), never expire at once:
 *  - SO_RCVTIMEO of 3e16 s and of the largest tv_sec: a blocking sb_recv
 *    waits for the peer's bytes written 400 ms later and returns them;
 *  - the same on a listener: sb_accept waits for a connection made later;
 *  - SO_RCVTIMEO of 500 us still waits (about a millisecond), then EAGAIN
 *    as recv(2) does, instead of being rounded down to "no wait".
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/time.h>
#include <unistd.h>

#include "it_client.h"

static struct it_broker b;
static sb_client *c;

struct later {
	int fd;                      /* write a byte to it, or */
	struct sockaddr_storage to;  /* connect a new socket here */
	socklen_t tolen;
};

static void *act_later(void *arg)
{
	struct later *l = arg;

	it_sleep_ms(400);
	if (l->tolen) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (connect(fd, (struct sockaddr *)&l->to, l->tolen) < 0)
			printf("native connect: %s\n", strerror(errno));
		it_sleep_ms(2000);	/* until accepted */
		close(fd);
	} else {
		it_write_full(l->fd, "x", 1);
	}
	return NULL;
}

static void recv_waits(int64_t sec)
{
	struct timeval tv = { .tv_sec = (time_t)sec, .tv_usec = 0 };
	struct sockaddr_storage srv;
	socklen_t len;
	struct later l = { .fd = -1 };
	pthread_t th;
	char ch = 0;
	int lfd, s, fd = -1;
	int64_t t0;
	ssize_t r;

	lfd = it_native_listener(AF_INET, "127.0.0.1", &srv, &len);
	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (!CHECK(lfd >= 0 && s >= 0 && sb_connect(c, s, (struct sockaddr *)&srv, len) == 0,
		   "socket/connect: %s %s", strerror(errno), it_sberr()))
		goto out;
	fd = it_native_accept(lfd, NULL, NULL, 3000);
	if (!CHECK(fd >= 0, "native accept"))
		goto out;
	if (!CHECK(sb_setsockopt(c, s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0,
		   "SO_RCVTIMEO %lld s: %s %s", (long long)sec, strerror(errno), it_sberr()))
		goto out;
	l.fd = fd;
	if (!CHECK(pthread_create(&th, NULL, act_later, &l) == 0, "pthread_create"))
		goto out;
	t0 = it_now_ms();
	r = sb_recv(c, s, &ch, 1, 0);
	CHECK(r == 1 && ch == 'x', "SO_RCVTIMEO %lld s: sb_recv returned %zd (%s) after %lld ms; "
	      "want the byte written after 400 ms", (long long)sec, r,
	      r < 0 ? strerror(errno) : "ok", (long long)(it_now_ms() - t0));
	CHECK(it_now_ms() - t0 >= 300, "SO_RCVTIMEO %lld s: sb_recv returned after %lld ms",
	      (long long)sec, (long long)(it_now_ms() - t0));
	pthread_join(th, NULL);

	/* 500 us: a short wait, then EAGAIN, as the kernel does. */
	tv.tv_sec = 0;
	tv.tv_usec = 500;
	CHECK(sb_setsockopt(c, s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0,
	      "SO_RCVTIMEO 500 us");
	errno = 0;
	r = sb_recv(c, s, &ch, 1, 0);
	CHECK(r == -1 && errno == EAGAIN, "SO_RCVTIMEO 500 us with nothing queued: %zd (%s), "
	      "want -1 EAGAIN", r, strerror(errno));
out:
	if (s >= 0)
		sb_close(c, s);
	if (fd >= 0)
		close(fd);
	if (lfd >= 0)
		close(lfd);
}

static void accept_waits(void)
{
	struct timeval tv = { .tv_sec = (time_t)30000000000000000LL, .tv_usec = 0 };
	struct later l = { .fd = -1 };
	pthread_t th;
	int s, a = -1;
	int64_t t0;

	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	l.tolen = it_addr4(&l.to, "127.0.0.1", 0);
	if (!CHECK(s >= 0 && sb_bind(c, s, (struct sockaddr *)&l.to, l.tolen) == 0 &&
		   sb_listen(c, s, 4) == 0 &&
		   sb_getsockname(c, s, (struct sockaddr *)&l.to, &l.tolen) == 0 &&
		   sb_setsockopt(c, s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0,
		   "listener with SO_RCVTIMEO 3e16 s: %s %s", strerror(errno), it_sberr()))
		goto out;
	if (!CHECK(pthread_create(&th, NULL, act_later, &l) == 0, "pthread_create"))
		goto out;
	t0 = it_now_ms();
	a = sb_accept(c, s, NULL, NULL);
	CHECK(a >= 0 && it_now_ms() - t0 >= 300, "SO_RCVTIMEO 3e16 s: sb_accept returned %d (%s) "
	      "after %lld ms; want the connection made after 400 ms", a,
	      a < 0 ? strerror(errno) : "ok", (long long)(it_now_ms() - t0));
	pthread_join(th, NULL);
out:
	if (a >= 0)
		sb_close(c, a);
	if (s >= 0)
		sb_close(c, s);
}

int main(void)
{
	c = it_setup(&b, NULL, 50);
	recv_waits(30000000000000000LL);
	recv_waits(INT64_MAX);
	recv_waits(INT64_MAX / 1000);
	accept_waits();
	return it_teardown(&b, c);
}
