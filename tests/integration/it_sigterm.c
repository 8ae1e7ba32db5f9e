/* SPDX-License-Identifier: MIT
 * it_sigterm.c - SIGTERM stops the broker cleanly while a client is busy:
 *  - a client holds sockets (a TCP connection to a native peer, a TCP
 *    listener on a loopback port, a UDP socket) and three threads wait in
 *    blocking calls: sb_recv() on the connection, sb_accept() on the
 *    listener, sb_poll() (20 s) on the UDP socket (GetStats waits_parked
 *    shows all three parked first);
 *  - SIGTERM: the broker exits 0 within 5 s and its socket file is gone
 *    (it_broker_stop() checks both);
 *  - the waits return within 5 s instead of hanging: -1 with ECONNRESET
 *    (sockbroker.h rule 8: the session ended with the broker), or for
 *    sb_poll an error event;
 *  - the broker's sockets are really closed: the native peer reads end of
 *    stream, the listener's port can be bound natively again;
 *  - the library stays usable: a new call fails at once with -1
 *    ECONNRESET, and sb_close_client() returns within 5 s.
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

struct waiter {
	sb_client *c;
	int s;
	int kind;		/* 0: sb_recv, 1: sb_accept, 2: sb_poll */
	atomic_int done;
	short revents;		/* sb_poll */
	ssize_t ret;
	int err;
	int64_t at;		/* it_now_ms() when the call returned */
};

static void *wait_main(void *arg)
{
	struct waiter *w = arg;
	char buf[64];

	struct pollfd p = { .fd = w->s, .events = POLLIN };

	errno = 0;
	if (w->kind == 2) {
		w->ret = sb_poll(w->c, &p, 1, 20000);
		w->revents = p.revents;
	} else if (w->kind == 1) {
		w->ret = sb_accept(w->c, w->s, NULL, NULL);
	} else {
		w->ret = sb_recv(w->c, w->s, buf, sizeof(buf), 0);
	}
	w->err = errno;
	w->at = it_now_ms();
	atomic_store(&w->done, 1);
	return NULL;
}

static int errno_after_shutdown(int e)
{
	/* sockbroker.h rule 8: the session went with the broker. */
	return e == ECONNRESET;
}

static uint64_t parked(grpc_channel *ch)
{
	Sockbroker__V1__GetStatsReply *st = it_stats(ch);
	uint64_t n;

	if (!st)
		return 0;
	n = st->waits_parked;
	sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	return n;
}

int main(void)
{
	static const char *const kinds[] = { "sb_recv", "sb_accept", "sb_poll" };
	struct waiter w[3];
	struct sockaddr_storage to, lsa;
	socklen_t tolen, llen;
	struct it_broker b;
	grpc_channel *ch;
	pthread_t t[3];
	int started[3] = { 0, 0, 0 };
	int lfd, peer = -1, s, l, u, fd, rc, i, all;
	int64_t t0, elapsed, until;
	uint16_t lport = 0;
	sb_client *c;
	char buf[16];
	ssize_t r;

	c = it_setup(&b, NULL, 45);
	ch = it_channel(&b);
	lfd = it_native_listener(AF_INET, "127.0.0.1", &to, &tolen);
	if (!CHECK(lfd >= 0, "native listener"))
		goto out;

	/* Sockets: a connection, a listener, a UDP socket. */
	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (!CHECK(s >= 0 && sb_connect(c, s, (struct sockaddr *)&to, tolen) == 0,
		   "sb_socket + sb_connect: %s %s", strerror(errno), it_sberr()))
		goto out;
	peer = it_native_accept(lfd, NULL, NULL, 5000);
	CHECK(peer >= 0, "native accept");
	l = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	llen = it_addr4(&lsa, "127.0.0.1", 0);
	if (!CHECK(l >= 0 && sb_bind(c, l, (struct sockaddr *)&lsa, llen) == 0 &&
		   sb_listen(c, l, 4) == 0, "broker listener: %s %s", strerror(errno), it_sberr()))
		goto out;
	llen = sizeof(lsa);
	sb_getsockname(c, l, (struct sockaddr *)&lsa, &llen);
	lport = it_port(&lsa);
	u = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	CHECK(u >= 0, "sb_socket UDP: %s", strerror(errno));
	CHECK(it_stats_sockets(ch) == 3, "sockets_open before SIGTERM: %lld, want 3",
	      (long long)it_stats_sockets(ch));

	/* Three blocking waits, parked in the broker. */
	memset(w, 0, sizeof(w));
	for (i = 0; i < 3; i++) {
		w[i].c = c;
		w[i].kind = i;
		w[i].s = i == 0 ? s : i == 1 ? l : u;
		atomic_init(&w[i].done, 0);
		started[i] = pthread_create(&t[i], NULL, wait_main, &w[i]) == 0;
		CHECK(started[i], "pthread_create");
	}
	until = it_now_ms() + 3000;
	while (parked(ch) < 3 && it_now_ms() < until)
		it_sleep_ms(10);
	CHECK(parked(ch) == 3, "waits_parked %llu before SIGTERM, want 3 (sb_recv, sb_accept, "
	      "sb_poll)", (unsigned long long)parked(ch));
	for (i = 0; i < 3; i++)
		CHECK(!atomic_load(&w[i].done), "blocking %s returned before SIGTERM", kinds[i]);
	grpc_channel_destroy(ch);
	ch = NULL;

	/* SIGTERM: exit 0 within 5 s, socket file removed. */
	t0 = it_now_ms();
	rc = it_broker_stop(&b);
	elapsed = it_now_ms() - t0;
	CHECK(rc == 0, "the broker did not exit 0 within 5 s of SIGTERM with its socket file "
	      "removed (%lld ms)", (long long)elapsed);
	it_note("broker stopped %lld ms after SIGTERM", (long long)elapsed);

	/* The waits end, bounded. */
	until = it_now_ms() + 5000;
	do {
		for (all = 1, i = 0; i < 3; i++)
			all &= atomic_load(&w[i].done);
		if (!all)
			it_sleep_ms(10);
	} while (!all && it_now_ms() < until);
	for (i = 0; i < 3; i++) {
		const char *what = kinds[i];

		if (!CHECK(atomic_load(&w[i].done), "blocking %s still waits 5 s after the broker "
			   "stopped", what))
			continue;
		if (w[i].kind == 2 && w[i].ret > 0)
			CHECK(w[i].revents & (POLLNVAL | POLLHUP | POLLERR),
			      "sb_poll across SIGTERM: %zd ready with revents 0x%x, want an error "
			      "event or -1", w[i].ret, (unsigned)w[i].revents);
		else
			CHECK(w[i].ret == -1 && errno_after_shutdown(w[i].err),
			      "blocking %s across SIGTERM: %zd (%s), want -1 with a connection "
			      "errno", what, w[i].ret, strerror(w[i].err));
		it_note("blocking %s returned %zd (%s) %lld ms after SIGTERM", what, w[i].ret,
			strerror(w[i].err), (long long)(w[i].at - t0));
	}

	/* The broker's sockets are closed: EOF at the peer, the port is free. */
	if (peer >= 0) {
		r = it_read_some(peer, buf, sizeof(buf), 2000);
		CHECK(r == 0 || (r < 0 && errno == ECONNRESET),
		      "native peer after the broker stopped: read %zd (%s), want end of stream", r,
		      strerror(errno));
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	llen = it_addr4(&lsa, "127.0.0.1", lport);
	CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&lsa, llen) == 0,
	      "port %u of the broker's listener not free after the broker stopped: %s", lport,
	      strerror(errno));
	if (fd >= 0)
		close(fd);

	/* The library fails fast now, and closes in bounded time. */
	t0 = it_now_ms();
	errno = 0;
	rc = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	elapsed = it_now_ms() - t0;
	CHECK(rc == -1 && errno == ECONNRESET,
	      "sb_socket with the broker gone: %d (%s), want -1 ECONNRESET", rc, strerror(errno));
	CHECK(elapsed < 5000, "sb_socket with the broker gone took %lld ms", (long long)elapsed);
	it_note("sb_socket with the broker gone: %s (%s) in %lld ms", strerror(errno), it_sberr(),
		(long long)elapsed);
	for (all = 1, i = 0; i < 3; i++) {
		if (started[i] && atomic_load(&w[i].done))
			pthread_join(t[i], NULL);
		all &= atomic_load(&w[i].done);
	}
	if (!all) {
		/* A thread still blocked in the library: leave it, do not free. */
		if (peer >= 0)
			close(peer);
		close(lfd);
		return it_result();
	}
	t0 = it_now_ms();
	sb_close_client(c);
	c = NULL;
	elapsed = it_now_ms() - t0;
	CHECK(elapsed < 5000, "sb_close_client with the broker gone took %lld ms",
	      (long long)elapsed);
out:
	if (ch)
		grpc_channel_destroy(ch);
	if (peer >= 0)
		close(peer);
	if (lfd >= 0)
		close(lfd);
	/* it_teardown: the broker is stopped already (pid 0): no second stop. */
	return it_teardown(&b, c);
}
