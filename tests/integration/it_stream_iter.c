/* SPDX-License-Identifier: MIT
 * it_stream_iter.c - the pull-style iterators: sb_acceptor_* over
 * AcceptStream and sb_receiver_* over RecvStream, one item per call.
 *
 * Acceptor, on a broker listener on 127.0.0.1 (sb_tcp_server_sockets):
 *  - with no client, timeout 0 is -1/EAGAIN at once (< 500 ms) and
 *    timeout 100 is -1/EAGAIN after about 100 ms (80..2000 ms);
 *  - 20 native clients, 20 calls with timeout 2000: each a socket number
 *    whose peer is the address of exactly one native client; a few bytes
 *    echo through each (sb_recv/sb_send), then sb_close; the broker keeps
 *    only the listener;
 *  - a waiting connection comes out of timeout-0 calls made every 10 ms
 *    (an event loop polling the iterator);
 *  - 3 more native clients, one taken (timeout -1), sb_acceptor_close:
 *    within 3 s sockets_open is the listener + the taken one (the broker
 *    keeps no connection the caller never took), the taken one still
 *    works, and the 2 untaken native clients see EOF or a reset;
 *  - after sb_close of the listener, sb_acceptor_open on its number fails
 *    with EBADF; a listener closed under an open acceptor makes its
 *    next() fail with EBADF; an acceptor on a socket that does not listen
 *    opens, and its next() fails with EINVAL.
 * Receiver, on a UDP socket from sb_udp_server_sockets("127.0.0.1", "0"):
 *  - timeout 0 with nothing sent: -1/EAGAIN at once;
 *  - 300 datagrams with sequence numbers from a native sender thread, in
 *    bursts of 30 with short rests (and no new burst while more than 60
 *    are unread, so the kernel's queue cannot overflow): every one read
 *    with timeout 2000 exactly once, length and payload right, not
 *    truncated, src.s the socket, src.peer the sender's address and port,
 *    src.local 127.0.0.1;
 *  - a 1000-byte datagram into a 100-byte buffer: 100, *truncated 1, the
 *    first 100 bytes; an empty datagram: 0, not truncated;
 *  - a waiting datagram comes out of timeout-0 calls made every 10 ms;
 *  - timeout -1 waits for a datagram sent 300 ms later; sb_udp_reply() to
 *    its source reaches the native sender, from the socket's address;
 *  - after sb_receiver_close the socket is still open and usable:
 *    sb_sendto reaches the sender and sb_recv_timeout gets a datagram.
 * At the end sockets_open is back at the baseline.
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

#define NCONN 20
#define NEXTRA 3
#define NDGRAM 300
#define BURST 30
#define REST_MS 10
#define MAXLEN 700

/* ---- helpers ---- */

/* Echo @msg from native @fd through broker socket @s and back. Return 1. */
static int echo_one(sb_client *c, int s, int fd, const char *msg)
{
	size_t n = strlen(msg);
	char got[64], back[64];

	if (!CHECK(it_write_full(fd, msg, n) == 0, "native write: %s", strerror(errno)) ||
	    !CHECK(it_sb_recv_all(c, s, got, n, 3000) == 0, "sb_recv on socket %d: %s %s", s,
		   strerror(errno), it_sberr()) ||
	    !CHECK(!memcmp(got, msg, n), "socket %d received \"%.*s\", want \"%s\"", s,
		   (int)n, got, msg) ||
	    !CHECK(it_sb_send_all(c, s, got, n, 3000) == 0, "sb_send on socket %d: %s %s", s,
		   strerror(errno), it_sberr()) ||
	    !CHECK(it_read_full(fd, back, n, 3000) == 0 && !memcmp(back, msg, n),
		   "the native client did not get \"%s\" back: %s", msg, strerror(errno)))
		return 0;
	return 1;
}

/* Index of the native client whose local address is @peer, or -1. */
static int find_peer(const struct sockaddr_storage *local, const socklen_t *loclen, int n,
		     const struct sockaddr_storage *peer, socklen_t plen)
{
	int i;

	for (i = 0; i < n; i++)
		if (loclen[i] == plen && !memcmp(&local[i], peer, plen))
			return i;
	return -1;
}

/* A native TCP client connected to @ss; its local address in @local. */
static int native_connect(const struct sockaddr_storage *ss, socklen_t len,
			  struct sockaddr_storage *local, socklen_t *loclen)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)ss, len) < 0) {
		close(fd);
		return -1;
	}
	*loclen = sizeof(*local);
	getsockname(fd, (struct sockaddr *)local, loclen);
	return fd;
}

/* ---- acceptor ---- */

static void test_acceptor(sb_client *c, grpc_channel *ch, int64_t open0)
{
	struct sockaddr_storage lss, peer, local[NCONN], xlocal[NEXTRA];
	socklen_t llen, plen, loclen[NCONN], xloclen[NEXTRA];
	int fds[NCONN], xfds[NEXTRA], matched[NCONN] = { 0 };
	int socks[4], l = -1, l2 = -1, ns = -1, taken = -1, mine = -1, i, n, s, took = 0;
	const char *how[NEXTRA];
	char a_[128], msg[32];
	sb_acceptor *a = NULL;
	int64_t t0, el, open;

	for (i = 0; i < NCONN; i++)
		fds[i] = -1;
	for (i = 0; i < NEXTRA; i++)
		xfds[i] = -1;

	n = sb_tcp_server_sockets(c, "127.0.0.1", "0", socks, 4);
	if (!CHECK(n == 1, "sb_tcp_server_sockets(127.0.0.1, 0) gave %d sockets (%s %s), "
		   "want 1", n, strerror(errno), it_sberr()))
		goto out;
	l = socks[0];
	llen = sizeof(lss);
	if (!CHECK(sb_getsockname(c, l, (struct sockaddr *)&lss, &llen) == 0 &&
		   lss.ss_family == AF_INET && it_port(&lss) != 0, "sb_getsockname(listener): %s",
		   strerror(errno)))
		goto out;
	a = sb_acceptor_open(c, l);
	if (!CHECK(a != NULL, "sb_acceptor_open(listener %d): %s %s", l, strerror(errno),
		   it_sberr()))
		goto out;

	/* Nothing waiting: timeout 0 returns at once, 100 after ~100 ms. */
	plen = sizeof(peer);
	errno = 0;
	t0 = it_now_ms();
	s = sb_acceptor_next(a, (struct sockaddr *)&peer, &plen, 0);
	el = it_now_ms() - t0;
	CHECK(s == -1 && errno == EAGAIN, "acceptor next(timeout 0) with no client: %d (%s), "
	      "want -1 EAGAIN", s, strerror(errno));
	CHECK(el < 500, "acceptor next(timeout 0) took %lld ms, want < 500", (long long)el);
	if (s >= 0)
		sb_close(c, s);
	plen = sizeof(peer);
	errno = 0;
	t0 = it_now_ms();
	s = sb_acceptor_next(a, (struct sockaddr *)&peer, &plen, 100);
	el = it_now_ms() - t0;
	CHECK(s == -1 && errno == EAGAIN, "acceptor next(timeout 100) with no client: %d (%s), "
	      "want -1 EAGAIN", s, strerror(errno));
	CHECK(el >= 80 && el <= 2000, "acceptor next(timeout 100) took %lld ms, want 80..2000",
	      (long long)el);
	it_note("acceptor: EAGAIN after %lld ms for timeout 100", (long long)el);
	if (s >= 0)
		sb_close(c, s);

	/* 20 native clients, 20 connections taken, each echoes and is closed. */
	for (i = 0; i < NCONN; i++) {
		fds[i] = native_connect(&lss, llen, &local[i], &loclen[i]);
		if (!CHECK(fds[i] >= 0, "native connect %d: %s", i, strerror(errno)))
			goto out;
	}
	for (i = 0; i < NCONN; i++) {
		int j;

		plen = sizeof(peer);
		errno = 0;
		s = sb_acceptor_next(a, (struct sockaddr *)&peer, &plen, 2000);
		if (!CHECK(s >= 0, "acceptor next(timeout 2000) for connection %d of %d: %d (%s %s)",
			   i + 1, NCONN, s, strerror(errno), it_sberr()))
			break;
		j = find_peer(local, loclen, NCONN, &peer, plen);
		if (CHECK(j >= 0 && !matched[j], "connection %d: peer %s is %s", i + 1,
			  it_addr_str((struct sockaddr *)&peer, plen, a_, sizeof(a_)),
			  j < 0 ? "none of the native clients" : "a native client seen before")) {
			matched[j] = 1;
			snprintf(msg, sizeof(msg), "echo %02d of %02d", j, NCONN);
			if (echo_one(c, s, fds[j], msg))
				took++;
		}
		CHECK(sb_close(c, s) == 0, "sb_close(accepted %d): %s", s, strerror(errno));
	}
	CHECK(took == NCONN, "%d of %d connections taken, matched and echoed", took, NCONN);
	for (i = 0; i < NCONN; i++) {
		close(fds[i]);
		fds[i] = -1;
	}
	open = it_wait_sockets(ch, open0 + 1, 3000);
	CHECK(open == open0 + 1, "after 20 connections closed: sockets_open %lld, want %lld "
	      "(the listener)", (long long)open, (long long)(open0 + 1));

	/* A caller's own event loop: a waiting connection comes out of
	 * timeout-0 calls (one every 10 ms, at most 3 s). */
	{
		struct sockaddr_storage pl;
		socklen_t pll;
		int pfd = native_connect(&lss, llen, &pl, &pll), calls = 0;

		if (CHECK(pfd >= 0, "native connect (poll): %s", strerror(errno))) {
			t0 = it_now_ms();
			do {
				if (calls++)
					it_sleep_ms(10);
				plen = sizeof(peer);
				errno = 0;
				s = sb_acceptor_next(a, (struct sockaddr *)&peer, &plen, 0);
			} while (s < 0 && errno == EAGAIN && it_now_ms() - t0 < 3000);
			el = it_now_ms() - t0;
			if (CHECK(s >= 0, "acceptor next(timeout 0) every 10 ms for %lld ms with a "
				  "client waiting: %d (%s %s)", (long long)el, s, strerror(errno),
				  it_sberr())) {
				CHECK(find_peer(&pl, &pll, 1, &peer, plen) == 0, "polled connection: "
				      "peer %s is not the native client", it_addr_str(
				      (struct sockaddr *)&peer, plen, a_, sizeof(a_)));
				echo_one(c, s, pfd, "polled");
				CHECK(sb_close(c, s) == 0, "sb_close(polled): %s", strerror(errno));
				it_note("acceptor: a waiting connection came out of timeout-0 call "
					"%d (%lld ms)", calls, (long long)el);
			}
			close(pfd);
		}
	}

	/* 3 more, only one taken, then the acceptor is closed. */
	for (i = 0; i < NEXTRA; i++) {
		xfds[i] = native_connect(&lss, llen, &xlocal[i], &xloclen[i]);
		if (!CHECK(xfds[i] >= 0, "native connect extra %d: %s", i, strerror(errno)))
			goto out;
	}
	plen = sizeof(peer);
	errno = 0;
	taken = sb_acceptor_next(a, (struct sockaddr *)&peer, &plen, -1);
	if (!CHECK(taken >= 0, "acceptor next(timeout -1) with 3 clients waiting: %d (%s %s)",
		   taken, strerror(errno), it_sberr()))
		goto out;
	mine = find_peer(xlocal, xloclen, NEXTRA, &peer, plen);
	CHECK(mine >= 0, "the taken connection's peer %s is none of the 3 native clients",
	      it_addr_str((struct sockaddr *)&peer, plen, a_, sizeof(a_)));
	sb_acceptor_close(a);
	a = NULL;
	open = it_wait_sockets(ch, open0 + 2, 3000);
	CHECK(open == open0 + 2, "after sb_acceptor_close with 1 of 3 connections taken: "
	      "sockets_open %lld, want %lld (the listener + the taken one): %lld connection(s) "
	      "the caller never took are left in the broker", (long long)open,
	      (long long)(open0 + 2), (long long)(open - open0 - 2));
	if (mine >= 0)
		echo_one(c, taken, xfds[mine], "taken after close");
	CHECK(sb_close(c, taken) == 0, "sb_close(taken): %s", strerror(errno));
	taken = -1;
	{
		int rest[NEXTRA], nrest = 0;

		for (i = 0; i < NEXTRA; i++)
			if (i != mine)
				rest[nrest++] = xfds[i];
		it_wait_ends(rest, nrest, 3000, how);
		for (i = 0; i < nrest; i++)
			CHECK(how[i] && (!strcmp(how[i], "EOF") || !strcmp(how[i], "ECONNRESET")),
			      "untaken native client %d after sb_acceptor_close: %s within 3 s, "
			      "want EOF or a reset", i, how[i] ? how[i] : "nothing");
	}
	for (i = 0; i < NEXTRA; i++) {
		close(xfds[i]);
		xfds[i] = -1;
	}

	/* A closed listener's number: EBADF at open. */
	CHECK(sb_close(c, l) == 0, "sb_close(listener): %s", strerror(errno));
	errno = 0;
	a = sb_acceptor_open(c, l);
	CHECK(a == NULL && errno == EBADF, "sb_acceptor_open on closed number %d: %s (%s), "
	      "want NULL EBADF", l, a ? "an iterator" : "NULL", strerror(errno));
	l = -1;
	sb_acceptor_close(a);
	a = NULL;

	/* A listener closed under an open acceptor: next() fails with EBADF. */
	n = sb_tcp_server_sockets(c, "127.0.0.1", "0", socks, 4);
	if (CHECK(n == 1, "second sb_tcp_server_sockets: %d (%s)", n, strerror(errno))) {
		l2 = socks[0];
		a = sb_acceptor_open(c, l2);
		if (CHECK(a != NULL, "sb_acceptor_open(second listener): %s", strerror(errno))) {
			CHECK(sb_close(c, l2) == 0, "sb_close(second listener): %s", strerror(errno));
			l2 = -1;
			errno = 0;
			t0 = it_now_ms();
			s = sb_acceptor_next(a, NULL, NULL, 3000);
			el = it_now_ms() - t0;
			CHECK(s == -1 && errno == EBADF, "acceptor next after its listener was "
			      "closed: %d (%s %s) after %lld ms, want -1 EBADF", s, strerror(errno),
			      it_sberr(), (long long)el);
			if (s >= 0)
				sb_close(c, s);
			sb_acceptor_close(a);
			a = NULL;
		}
	}

	/* A socket that does not listen: open succeeds, next() is EINVAL. */
	ns = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (CHECK(ns >= 0, "sb_socket: %s %s", strerror(errno), it_sberr())) {
		struct sockaddr_storage ss;
		socklen_t sl = it_addr4(&ss, "127.0.0.1", 0);

		CHECK(sb_bind(c, ns, (struct sockaddr *)&ss, sl) == 0, "sb_bind: %s",
		      strerror(errno));
		errno = 0;
		a = sb_acceptor_open(c, ns);
		if (CHECK(a != NULL, "sb_acceptor_open on a socket that does not listen: %s "
			  "(%s), want an iterator (the broker's refusal comes from next)",
			  strerror(errno), it_sberr())) {
			plen = sizeof(peer);
			errno = 0;
			s = sb_acceptor_next(a, (struct sockaddr *)&peer, &plen, 2000);
			CHECK(s == -1 && errno == EINVAL, "acceptor next on a socket that does not "
			      "listen: %d (%s %s), want -1 EINVAL", s, strerror(errno), it_sberr());
			if (s >= 0)
				sb_close(c, s);
			errno = 0;
			s = sb_acceptor_next(a, (struct sockaddr *)&peer, &plen, 0);
			CHECK(s == -1 && errno != EAGAIN, "acceptor next again after the stream "
			      "failed: %d (%s), want -1 (the stream is over)", s, strerror(errno));
			if (s >= 0)
				sb_close(c, s);
			sb_acceptor_close(a);
			a = NULL;
		}
		CHECK(sb_close(c, ns) == 0, "sb_close(not listening): %s", strerror(errno));
		ns = -1;
	}
	open = it_wait_sockets(ch, open0, 3000);
	CHECK(open == open0, "after the acceptor part: sockets_open %lld, want the baseline "
	      "%lld", (long long)open, (long long)open0);
out:
	sb_acceptor_close(a);
	for (i = 0; i < NCONN; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	for (i = 0; i < NEXTRA; i++)
		if (xfds[i] >= 0)
			close(xfds[i]);
	if (taken >= 0)
		sb_close(c, taken);
	if (l >= 0)
		sb_close(c, l);
	if (l2 >= 0)
		sb_close(c, l2);
	if (ns >= 0)
		sb_close(c, ns);
}

/* ---- receiver ---- */

struct sender {
	int fd;                         /* native, bound to 127.0.0.1:0 */
	struct sockaddr_storage dst;    /* the broker socket */
	socklen_t dstlen;
	atomic_int nread;               /* datagrams the main thread read */
	atomic_int stop;
	atomic_int sent;                /* read by the main thread meanwhile */
	int err;
};

static size_t len_of(uint32_t seq)
{
	return 8 + (size_t)(seq * 37u % 600u);
}

static void fill(unsigned char *buf, uint32_t seq, size_t len)
{
	memcpy(buf, &seq, 4);
	memcpy(buf + 4, "SEQ!", 4);
	it_fill(buf + 8, len - 8, seq + 7);
}

static int send_dgram(int fd, const void *buf, size_t len, const struct sockaddr_storage *to,
		      socklen_t tolen)
{
	int tries;

	for (tries = 0; tries < 1000; tries++) {
		ssize_t w = sendto(fd, buf, len, 0, (const struct sockaddr *)to, tolen);

		if (w == (ssize_t)len)
			return 0;
		if (w < 0 && (errno == EINTR || errno == ENOBUFS || errno == EAGAIN)) {
			it_sleep_ms(1);
			continue;
		}
		return -1;
	}
	return -1;
}

static void *sender_main(void *arg)
{
	struct sender *sd = arg;
	unsigned char buf[MAXLEN];
	int64_t until = it_now_ms() + 20000;
	uint32_t seq;
	int i;

	for (seq = 0; seq < NDGRAM && !atomic_load(&sd->stop); seq++) {
		fill(buf, seq, len_of(seq));
		if (send_dgram(sd->fd, buf, len_of(seq), &sd->dst, sd->dstlen) < 0) {
			sd->err = errno;
			break;
		}
		atomic_fetch_add(&sd->sent, 1);
		if ((seq + 1) % BURST)
			continue;
		it_sleep_ms(REST_MS);
		/* No new burst while more than 2 bursts are unread (bounded). */
		for (i = 0; i < 1000 && it_now_ms() < until && !atomic_load(&sd->stop) &&
			    (int)(seq + 1) - atomic_load(&sd->nread) > 2 * BURST; i++)
			it_sleep_ms(5);
	}
	return NULL;
}

/* One "ping" to @dst after @ms. */
struct delayed {
	int fd;
	struct sockaddr_storage dst;
	socklen_t dstlen;
	int ms;
	int rc;
};

static void *delayed_main(void *arg)
{
	struct delayed *dl = arg;

	it_sleep_ms(dl->ms);
	dl->rc = send_dgram(dl->fd, "ping", 4, &dl->dst, dl->dstlen) < 0 ? errno : 0;
	return NULL;
}

static int same_inet(const struct sockaddr_storage *a, const struct sockaddr_storage *x,
		     int with_port)
{
	const struct sockaddr_in *p = (const void *)a, *q = (const void *)x;

	return a->ss_family == AF_INET && x->ss_family == AF_INET &&
	       p->sin_addr.s_addr == q->sin_addr.s_addr &&
	       (!with_port || p->sin_port == q->sin_port);
}

/* One native datagram within @ms: its length, and where from, or -1. */
static ssize_t native_recv(int fd, void *buf, size_t n, struct sockaddr_storage *from,
			   socklen_t *fromlen, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, ms) <= 0) {
		errno = ETIMEDOUT;
		return -1;
	}
	*fromlen = sizeof(*from);
	return recvfrom(fd, buf, n, MSG_DONTWAIT, (struct sockaddr *)from, fromlen);
}

static void test_receiver(sb_client *c, grpc_channel *ch, int64_t open0)
{
	static struct sender sd;
	static unsigned char seen[NDGRAM];
	struct sockaddr_storage bound, me, from;
	struct sb_udp_source src;
	struct delayed dl = { 0 };
	pthread_t dth;
	socklen_t boundlen, melen, fromlen;
	unsigned char buf[2048], want[1000];
	char a1[128], a2[128];
	int socks[4], u = -1, n, trunc, got = 0, dups = 0, bad = 0, ooo = 0, last = -1, i;
	int missing = 0, first_missing = -1, started = 0, tries;
	sb_receiver *r = NULL;
	pthread_t th;
	int64_t t0, el, open;
	ssize_t len;

	sd.fd = -1;
	n = sb_udp_server_sockets(c, "127.0.0.1", "0", socks, 4);
	if (!CHECK(n == 1, "sb_udp_server_sockets(127.0.0.1, 0) gave %d sockets (%s %s), "
		   "want 1", n, strerror(errno), it_sberr()))
		goto out;
	u = socks[0];
	boundlen = sizeof(bound);
	if (!CHECK(sb_getsockname(c, u, (struct sockaddr *)&bound, &boundlen) == 0 &&
		   bound.ss_family == AF_INET && it_port(&bound) != 0,
		   "sb_getsockname(udp): %s", strerror(errno)))
		goto out;
	sd.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	melen = it_addr4(&me, "127.0.0.1", 0);
	if (!CHECK(sd.fd >= 0 && bind(sd.fd, (struct sockaddr *)&me, melen) == 0,
		   "native UDP socket: %s", strerror(errno)))
		goto out;
	melen = sizeof(me);
	getsockname(sd.fd, (struct sockaddr *)&me, &melen);
	sd.dst = bound;
	sd.dstlen = boundlen;

	errno = 0;
	r = sb_receiver_open(c, 999);
	CHECK(r == NULL && errno == EBADF, "sb_receiver_open on number 999 (never opened): %s "
	      "(%s), want NULL EBADF", r ? "an iterator" : "NULL", strerror(errno));
	sb_receiver_close(r);
	r = sb_receiver_open(c, u);
	if (!CHECK(r != NULL, "sb_receiver_open(%d): %s %s", u, strerror(errno), it_sberr()))
		goto out;

	/* Nothing sent yet: timeout 0 returns at once. */
	errno = 0;
	trunc = -1;
	t0 = it_now_ms();
	len = sb_receiver_next(r, buf, sizeof(buf), &trunc, &src, 0);
	el = it_now_ms() - t0;
	CHECK(len == -1 && errno == EAGAIN, "receiver next(timeout 0) with nothing sent: %zd "
	      "(%s), want -1 EAGAIN", len, strerror(errno));
	CHECK(el < 500, "receiver next(timeout 0) took %lld ms, want < 500", (long long)el);

	/* 300 datagrams from a sender thread, read one at a time. */
	if (!CHECK(pthread_create(&th, NULL, sender_main, &sd) == 0, "pthread_create"))
		goto out;
	started = 1;
	t0 = it_now_ms();
	while (got < NDGRAM) {
		uint32_t seq;

		trunc = -1;
		memset(&src, 0xa5, sizeof(src));
		errno = 0;
		len = sb_receiver_next(r, buf, sizeof(buf), &trunc, &src, 2000);
		if (!CHECK(len >= 0, "receiver next(timeout 2000) after %d of %d datagrams: %zd "
			   "(%s %s); the sender sent %d", got, NDGRAM, len, strerror(errno),
			   it_sberr(), atomic_load(&sd.sent)))
			break;
		got++;
		atomic_store(&sd.nread, got);
		if (!CHECK(len >= 8 && trunc == 0, "a datagram of %zd bytes, truncated %d", len,
			   trunc)) {
			bad++;
			continue;
		}
		memcpy(&seq, buf, 4);
		if (!CHECK(seq < NDGRAM, "unknown sequence number %u", seq)) {
			bad++;
			continue;
		}
		fill(want, seq, len_of(seq));
		if (!CHECK((size_t)len == len_of(seq) && !memcmp(buf, want, (size_t)len),
			   "datagram %u: %zd bytes, want %zu%s", seq, len, len_of(seq),
			   (size_t)len == len_of(seq) ? ", content differs" : ""))
			bad++;
		if (!CHECK(src.s == u, "datagram %u: src.s %d, want %d", seq, src.s, u) ||
		    !CHECK(src.peerlen == sizeof(struct sockaddr_in) && same_inet(&src.peer, &me, 1),
			   "datagram %u: src.peer %s (len %u), the sender is %s", seq,
			   it_addr_str((struct sockaddr *)&src.peer, src.peerlen, a1, sizeof(a1)),
			   (unsigned)src.peerlen,
			   it_addr_str((struct sockaddr *)&me, melen, a2, sizeof(a2))) ||
		    !CHECK(src.locallen && same_inet(&src.local, &bound, 0), "datagram %u: "
			   "src.local %s (len %u), want 127.0.0.1", seq,
			   src.locallen ? it_addr_str((struct sockaddr *)&src.local, src.locallen,
						      a1, sizeof(a1)) : "unknown",
			   (unsigned)src.locallen))
			bad++;
		if (seen[seq]) {
			CHECK(0, "datagram %u seen twice", seq);
			dups++;
			continue;
		}
		if ((int)seq < last)
			ooo++;
		last = (int)seq;
		seen[seq] = 1;
	}
	el = it_now_ms() - t0;
	atomic_store(&sd.stop, 1);
	pthread_join(th, NULL);
	started = 0;
	CHECK(sd.err == 0 && atomic_load(&sd.sent) == NDGRAM, "the sender sent %d of %d (%s)",
	      atomic_load(&sd.sent), NDGRAM,
	      strerror(sd.err));
	for (i = NDGRAM; i-- > 0;)
		if (!seen[i]) {
			missing++;
			first_missing = i;
		}
	CHECK(missing == 0, "%d of %d datagrams never came (first missing: %d)", missing,
	      NDGRAM, first_missing);
	CHECK(got == NDGRAM && dups == 0 && bad == 0, "%d read, %d duplicates, %d bad", got,
	      dups, bad);
	it_note("receiver: %d datagrams in %lld ms, %d out of order", got, (long long)el, ooo);

	/* Nothing more: EAGAIN again (after a timed-out wait). */
	errno = 0;
	len = sb_receiver_next(r, buf, sizeof(buf), &trunc, &src, 0);
	CHECK(len == -1 && errno == EAGAIN, "receiver next(timeout 0) after all were read: %zd "
	      "(%s), want -1 EAGAIN", len, strerror(errno));

	/* 1000 bytes into a 100-byte buffer: 100, truncated. */
	it_fill(want, sizeof(want), 4242);
	if (CHECK(send_dgram(sd.fd, want, 1000, &bound, boundlen) == 0, "sendto 1000: %s",
		  strerror(errno))) {
		memset(buf, 0, sizeof(buf));
		trunc = -1;
		errno = 0;
		len = sb_receiver_next(r, buf, 100, &trunc, &src, 2000);
		CHECK(len == 100 && trunc == 1, "1000 bytes into 100: %zd, truncated %d (%s), "
		      "want 100, 1", len, trunc, strerror(errno));
		CHECK(len != 100 || !memcmp(buf, want, 100), "the 100 bytes of the truncated "
		      "datagram differ");
		CHECK(buf[100] == 0, "the receiver wrote past the 100-byte buffer");
	}

	/* An empty datagram: 0 bytes, not truncated. */
	if (CHECK(send_dgram(sd.fd, "", 0, &bound, boundlen) == 0, "sendto 0 bytes: %s",
		  strerror(errno))) {
		trunc = -1;
		errno = 0;
		len = sb_receiver_next(r, buf, sizeof(buf), &trunc, &src, 2000);
		CHECK(len == 0 && trunc == 0 && same_inet(&src.peer, &me, 1), "an empty datagram: "
		      "%zd, truncated %d (%s %s), want 0, 0 from the sender", len, trunc,
		      strerror(errno), it_sberr());
	}

	/* A caller's own event loop: a waiting datagram comes out of timeout-0
	 * calls (one every 10 ms, at most 3 s). */
	if (CHECK(send_dgram(sd.fd, "polled", 6, &bound, boundlen) == 0, "sendto polled: %s",
		  strerror(errno))) {
		int calls = 0;

		t0 = it_now_ms();
		do {
			if (calls++)
				it_sleep_ms(10);
			trunc = -1;
			errno = 0;
			len = sb_receiver_next(r, buf, sizeof(buf), &trunc, &src, 0);
		} while (len < 0 && errno == EAGAIN && it_now_ms() - t0 < 3000);
		el = it_now_ms() - t0;
		CHECK(len == 6 && trunc == 0 && !memcmp(buf, "polled", 6), "receiver next(timeout "
		      "0) every 10 ms for %lld ms with a datagram waiting: %zd (%s %s)",
		      (long long)el, len, strerror(errno), it_sberr());
		it_note("receiver: a waiting datagram came out of timeout-0 call %d (%lld ms)",
			calls, (long long)el);
	}

	/* sb_udp_reply to a received source reaches the sender; the ping is
	 * sent 300 ms late, so timeout -1 has to wait for it. */
	dl.fd = sd.fd;
	dl.dst = bound;
	dl.dstlen = boundlen;
	dl.ms = 300;
	if (CHECK(pthread_create(&dth, NULL, delayed_main, &dl) == 0, "pthread_create")) {
		trunc = -1;
		errno = 0;
		t0 = it_now_ms();
		len = sb_receiver_next(r, buf, sizeof(buf), &trunc, &src, -1);
		el = it_now_ms() - t0;
		pthread_join(dth, NULL);
		CHECK(dl.rc == 0, "the delayed ping was not sent: %s", strerror(dl.rc));
		CHECK(len < 0 || el >= 250, "receiver next(timeout -1) returned after %lld ms, "
		      "before the ping was sent (300 ms)", (long long)el);
		if (CHECK(len == 4 && trunc == 0 && !memcmp(buf, "ping", 4), "receiver next"
			  "(timeout -1) for ping: %zd, truncated %d (%s)", len, trunc,
			  strerror(errno))) {
			errno = 0;
			len = sb_udp_reply(c, &src, "pong", 4);
			CHECK(len == 4, "sb_udp_reply: %zd (%s %s)", len, strerror(errno),
			      it_sberr());
			len = native_recv(sd.fd, buf, sizeof(buf), &from, &fromlen, 3000);
			CHECK(len == 4 && !memcmp(buf, "pong", 4) && same_inet(&from, &bound, 1),
			      "the sender got %zd bytes (%s) from %s after sb_udp_reply, want "
			      "\"pong\" from %s", len, len < 0 ? strerror(errno) : "",
			      it_addr_str((struct sockaddr *)&from, fromlen, a1, sizeof(a1)),
			      it_addr_str((struct sockaddr *)&bound, boundlen, a2, sizeof(a2)));
		}
	}

	/* Closing the receiver keeps the socket. */
	sb_receiver_close(r);
	r = NULL;
	open = it_wait_sockets(ch, open0 + 1, 3000);
	CHECK(open == open0 + 1, "after sb_receiver_close: sockets_open %lld, want %lld (the "
	      "UDP socket stays)", (long long)open, (long long)(open0 + 1));
	errno = 0;
	len = sb_sendto(c, u, "after", 5, 0, (struct sockaddr *)&me, melen);
	CHECK(len == 5, "sb_sendto after sb_receiver_close: %zd (%s %s)", len, strerror(errno),
	      it_sberr());
	len = native_recv(sd.fd, buf, sizeof(buf), &from, &fromlen, 3000);
	CHECK(len == 5 && !memcmp(buf, "after", 5) && same_inet(&from, &bound, 1),
	      "the sender got %zd bytes (%s) after sb_sendto, want \"after\"", len,
	      len < 0 ? strerror(errno) : "");
	/* And it still receives (a few tries: the cancelled stream may still
	 * be taking one as it ends). */
	for (tries = 1; tries <= 5; tries++) {
		if (send_dgram(sd.fd, "again", 5, &bound, boundlen) < 0)
			break;
		len = sb_recv_timeout(c, u, buf, sizeof(buf), 0, 500);
		if (len == 5 && !memcmp(buf, "again", 5))
			break;
	}
	CHECK(tries <= 5, "sb_recv_timeout after sb_receiver_close got nothing in 5 tries "
	      "(%s %s)", strerror(errno), it_sberr());
	if (tries > 1 && tries <= 5)
		it_note("receiver: the socket received after close on try %d", tries);

	CHECK(sb_close(c, u) == 0, "sb_close(udp): %s", strerror(errno));
	u = -1;
	open = it_wait_sockets(ch, open0, 3000);
	CHECK(open == open0, "after the receiver part: sockets_open %lld, want the baseline "
	      "%lld", (long long)open, (long long)open0);
out:
	if (started) {
		atomic_store(&sd.stop, 1);
		pthread_join(th, NULL);
	}
	sb_receiver_close(r);
	if (u >= 0)
		sb_close(c, u);
	if (sd.fd >= 0)
		close(sd.fd);
}

int main(void)
{
	struct it_broker b;
	grpc_channel *ch;
	int64_t open0, n;
	sb_client *c;

	c = it_setup(&b, NULL, 50);
	ch = it_channel(&b);
	open0 = it_stats_sockets(ch);
	if (CHECK(open0 >= 0, "GetStats")) {
		test_acceptor(c, ch, open0);
		test_receiver(c, ch, open0);
		n = it_wait_sockets(ch, open0, 3000);
		CHECK(n == open0, "at the end: sockets_open %lld, want %lld", (long long)n,
		      (long long)open0);
	}
	grpc_channel_destroy(ch);
	return it_teardown(&b, c);
}
