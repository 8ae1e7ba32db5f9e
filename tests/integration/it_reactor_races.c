/* SPDX-License-Identifier: MIT
 * it_reactor_races.c - the reactor (server/reactor.c) when one wake
 * removes other waiters or the socket under them; meant for the ASan
 * build as much as the normal one:
 *  - closed under two waiters: two threads park a Recv each on one UDP
 *    socket, a third call closes it; both Recvs are -1 EBADF within 5 s,
 *    20 rounds;
 *  - one instant: 64 threads park a 200 ms Recv each, released together
 *    (a barrier), so many deadlines fall in the same millisecond; every
 *    one is -1 EAGAIN, none before 150 ms or after 5 s;
 *  - Close racing a wake: a Recv with MSG_WAITALL parked on a TCP socket
 *    while the native peer writes small pieces without pause (the socket
 *    turns ready again and again), and the handle is closed meanwhile;
 *    the Recv ends (-1 EBADF, or the bytes it had), 100 rounds.
 * After each part GetStats shows no parked call and no open socket, and
 * the broker stops cleanly at the end (an ASan report makes it exit != 0).
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_client.h"

#define N_SAME 64

static sb_client *c;
static grpc_channel *ch;

struct rcv {
	pthread_t t;
	int s, flags, timeout_ms;
	pthread_barrier_t *go;
	ssize_t ret;
	int err;
	int64_t took;
};

static void *rcv_main(void *p)
{
	struct rcv *r = p;
	char buf[65536];
	int64_t t0;

	if (r->go)
		pthread_barrier_wait(r->go);
	t0 = it_now_ms();
	if (r->timeout_ms)
		r->ret = sb_recv_timeout(c, r->s, buf, sizeof(buf), r->flags, r->timeout_ms);
	else
		r->ret = sb_recv(c, r->s, buf, sizeof(buf), r->flags);
	r->err = errno;
	r->took = it_now_ms() - t0;
	return NULL;
}

/* Wait (5 s at most) until the broker has @want calls parked. */
static uint64_t wait_parked(uint64_t want)
{
	int64_t until = it_now_ms() + 5000;
	uint64_t n = UINT64_MAX;

	while (it_now_ms() < until) {
		Sockbroker__V1__GetStatsReply *st = it_stats(ch);

		if (st) {
			n = st->waits_parked;
			sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
		}
		if (n == want)
			break;
		it_sleep_ms(5);
	}
	return n;
}

static int udp_socket(void)
{
	struct sockaddr_storage ss;
	socklen_t len = it_addr4(&ss, "127.0.0.1", 0);
	int s = sb_socket(c, AF_INET, SOCK_DGRAM, 0);

	if (s >= 0 && sb_bind(c, s, (struct sockaddr *)&ss, len) < 0) {
		sb_close(c, s);
		s = -1;
	}
	return s;
}

static void closed_under_two(void)
{
	int round;

	for (round = 0; round < 20; round++) {
		struct rcv r[2];
		int s = udp_socket(), i;

		if (!CHECK(s >= 0, "round %d: UDP socket: %s", round, it_sberr()))
			return;
		for (i = 0; i < 2; i++) {
			memset(&r[i], 0, sizeof(r[i]));
			r[i].s = s;
			pthread_create(&r[i].t, NULL, rcv_main, &r[i]);
		}
		CHECK(wait_parked(2) == 2, "round %d: the two Recvs are not parked", round);
		CHECK(sb_close(c, s) == 0, "round %d: close: %s", round, it_sberr());
		for (i = 0; i < 2; i++) {
			pthread_join(r[i].t, NULL);
			CHECK(r[i].ret == -1 && r[i].err == EBADF && r[i].took < 5000,
			      "round %d: Recv %d on a handle closed under it: %zd %s after "
			      "%lld ms, want -1 EBADF", round, i, r[i].ret, strerror(r[i].err),
			      (long long)r[i].took);
		}
	}
}

static void one_instant(void)
{
	static struct rcv r[N_SAME];
	pthread_barrier_t go;
	int s = udp_socket(), i;

	if (!CHECK(s >= 0, "UDP socket: %s", it_sberr()))
		return;
	pthread_barrier_init(&go, NULL, N_SAME);
	for (i = 0; i < N_SAME; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].s = s;
		r[i].timeout_ms = 200;
		r[i].go = &go;
		pthread_create(&r[i].t, NULL, rcv_main, &r[i]);
	}
	for (i = 0; i < N_SAME; i++) {
		pthread_join(r[i].t, NULL);
		CHECK(r[i].ret == -1 && r[i].err == EAGAIN && r[i].took >= 150 &&
		      r[i].took < 5000, "Recv %d with a 200 ms timeout: %zd %s after "
		      "%lld ms, want -1 EAGAIN after 200 ms", i, r[i].ret,
		      strerror(r[i].err), (long long)r[i].took);
	}
	pthread_barrier_destroy(&go);
	sb_close(c, s);
}

struct writer {
	pthread_t t;
	int fd;
	atomic_int stop;
};

static void *writer_main(void *p)
{
	struct writer *w = p;
	int64_t until = it_now_ms() + 5000;

	while (!atomic_load(&w->stop) && it_now_ms() < until)
		if (send(w->fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
		    errno != EAGAIN)
			break;
	return NULL;
}

static void close_racing_wake(void)
{
	struct sockaddr_storage ss, peer;
	socklen_t plen, slen;
	int lfd = it_native_listener(AF_INET, "127.0.0.1", &ss, &slen), round;

	if (!CHECK(lfd >= 0, "native listener: %s", strerror(errno)))
		return;
	for (round = 0; round < 100; round++) {
		struct writer w = { .fd = -1 };
		struct rcv r = { .flags = MSG_WAITALL };
		int s = sb_socket(c, AF_INET, SOCK_STREAM, 0);

		if (!CHECK(s >= 0 && sb_connect(c, s, (struct sockaddr *)&ss, slen) == 0,
			   "round %d: connect: %s", round, it_sberr()))
			break;
		plen = sizeof(peer);
		w.fd = it_native_accept(lfd, &peer, &plen, 5000);
		if (!CHECK(w.fd >= 0, "round %d: accept", round)) {
			sb_close(c, s);
			break;
		}
		r.s = s;
		pthread_create(&r.t, NULL, rcv_main, &r);
		pthread_create(&w.t, NULL, writer_main, &w);
		wait_parked(1);
		it_sleep_ms(round % 3);
		CHECK(sb_close(c, s) == 0, "round %d: close: %s", round, it_sberr());
		pthread_join(r.t, NULL);
		atomic_store(&w.stop, 1);
		pthread_join(w.t, NULL);
		close(w.fd);
		CHECK((r.ret == -1 && r.err == EBADF) || r.ret > 0,
		      "round %d: WAITALL Recv closed while the peer writes: %zd %s, "
		      "want -1 EBADF or the bytes read", round, r.ret, strerror(r.err));
	}
	close(lfd);
}

static void settled(const char *part)
{
	CHECK(wait_parked(0) == 0, "%s: calls still parked in the broker", part);
	CHECK(it_wait_sockets(ch, 0, 5000) == 0, "%s: sockets still open", part);
}

int main(void)
{
	struct it_broker b;

	c = it_setup(&b, NULL, 55);
	ch = it_channel(&b);
	closed_under_two();
	settled("closed under two waiters");
	one_instant();
	settled("one instant");
	close_racing_wake();
	settled("Close racing a wake");
	grpc_channel_destroy(ch);
	return it_teardown(&b, c);
}
