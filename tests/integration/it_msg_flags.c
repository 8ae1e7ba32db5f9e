/* SPDX-License-Identifier: MIT
 * it_msg_flags.c - receive flags through the broker, each compared with
 * what the kernel does on a native socket in the same situation:
 *  - MSG_PEEK on TCP and UDP (data stays queued);
 *  - MSG_WAITALL on TCP while the peer writes in delayed pieces;
 *  - MSG_DONTWAIT with nothing queued: EAGAIN at once;
 *  - UDP truncation: a short buffer drops the rest of the datagram, and
 *    MSG_TRUNC returns the datagram's real length (also with MSG_PEEK and
 *    a zero-length buffer, the "how big is the next datagram" idiom).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_client.h"

static struct it_broker b;
static sb_client *c;

struct writer {
	int fd;
	const unsigned char *data;
	size_t len, pieces;
	int delay_ms;
};

static void *write_slowly(void *arg)
{
	struct writer *w = arg;
	size_t i, step = w->len / w->pieces;

	for (i = 0; i < w->pieces; i++) {
		size_t n = i + 1 == w->pieces ? w->len - i * step : step;

		it_sleep_ms(w->delay_ms);
		if (it_write_full(w->fd, w->data + i * step, n) < 0)
			break;
	}
	return NULL;
}

static void tcp_flags(void)
{
	struct sockaddr_storage srv;
	socklen_t srvlen;
	unsigned char out[4000], in[4000];
	struct writer w;
	pthread_t th;
	int64_t t0;
	int lfd, fd = -1, s;
	ssize_t r;

	lfd = it_native_listener(AF_INET, "127.0.0.1", &srv, &srvlen);
	if (!CHECK(lfd >= 0, "native listener: %s", strerror(errno)))
		return;
	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (!CHECK(s >= 0 && sb_connect(c, s, (struct sockaddr *)&srv, srvlen) == 0,
		   "TCP: sb_socket/sb_connect: %s %s", strerror(errno), it_sberr()))
		goto out;
	fd = it_native_accept(lfd, NULL, NULL, 3000);
	if (!CHECK(fd >= 0, "TCP: native accept: %s", strerror(errno)))
		goto out;

	/* MSG_DONTWAIT, nothing queued: EAGAIN without waiting. */
	t0 = it_now_ms();
	errno = 0;
	r = sb_recv(c, s, in, sizeof(in), MSG_DONTWAIT);
	CHECK(r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK),
	      "TCP MSG_DONTWAIT with nothing queued: got %zd errno %s, want -1 EAGAIN", r,
	      strerror(errno));
	CHECK(it_now_ms() - t0 < 1000, "TCP MSG_DONTWAIT took %lld ms",
	      (long long)(it_now_ms() - t0));

	/* MSG_PEEK: the same bytes twice. */
	CHECK(it_write_full(fd, "abcdef", 6) == 0, "native write");
	CHECK(it_sb_wait(c, s, POLLIN, 3000) > 0, "TCP: sb_poll POLLIN after the peer wrote: %s",
	      strerror(errno));
	r = sb_recv(c, s, in, 3, MSG_PEEK);
	CHECK(r == 3 && !memcmp(in, "abc", 3), "TCP MSG_PEEK 3: got %zd '%.*s'", r,
	      (int)(r > 0 ? r : 0), (char *)in);
	r = sb_recv(c, s, in, 6, MSG_PEEK);
	CHECK(r == 6 && !memcmp(in, "abcdef", 6), "TCP MSG_PEEK 6: got %zd", r);
	r = sb_recv(c, s, in, 6, 0);
	CHECK(r == 6 && !memcmp(in, "abcdef", 6), "TCP recv after MSG_PEEK: got %zd '%.*s'", r,
	      (int)(r > 0 ? r : 0), (char *)in);
	r = sb_recv(c, s, in, 6, MSG_DONTWAIT);
	CHECK(r == -1 && errno == EAGAIN, "TCP: the peeked bytes were consumed once only: "
	      "got %zd (%s)", r, strerror(errno));

	/* MSG_WAITALL: 4000 bytes written in 4 pieces 100 ms apart. */
	it_fill(out, sizeof(out), 7);
	w = (struct writer){ fd, out, sizeof(out), 4, 100 };
	if (CHECK(pthread_create(&th, NULL, write_slowly, &w) == 0, "pthread_create")) {
		t0 = it_now_ms();
		memset(in, 0, sizeof(in));
		r = sb_recv(c, s, in, sizeof(in), MSG_WAITALL);
		CHECK(r == (ssize_t)sizeof(out) && !memcmp(in, out, sizeof(out)),
		      "TCP MSG_WAITALL: got %zd bytes (%s), want all %zu in one call", r,
		      strerror(errno), sizeof(out));
		CHECK(it_now_ms() - t0 >= 250, "TCP MSG_WAITALL returned after %lld ms, before "
		      "the last piece was written", (long long)(it_now_ms() - t0));
		pthread_join(th, NULL);
	}
out:
	if (s >= 0)
		sb_close(c, s);
	if (fd >= 0)
		close(fd);
	close(lfd);
}

/* One receive, on the broker socket and on a native one in the same state. */
struct rcv {
	ssize_t r;
	int err;
	unsigned char data[256];
};

static void udp_flags(void)
{
	struct sockaddr_storage bro, nat, snd;
	socklen_t brolen, natlen, sndlen;
	unsigned char dgram[100], big[300];
	struct rcv x, y;
	int s, fd = -1, tx = -1;
	int64_t t0;

	it_fill(dgram, sizeof(dgram), 3);
	s = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	brolen = it_addr4(&bro, "127.0.0.1", 0);
	if (!CHECK(s >= 0 && sb_bind(c, s, (struct sockaddr *)&bro, brolen) == 0,
		   "UDP: sb_socket/sb_bind: %s %s", strerror(errno), it_sberr()))
		return;
	brolen = sizeof(bro);
	sb_getsockname(c, s, (struct sockaddr *)&bro, &brolen);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	natlen = it_addr4(&nat, "127.0.0.1", 0);
	tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	sndlen = it_addr4(&snd, "127.0.0.1", 0);
	if (!CHECK(fd >= 0 && tx >= 0 && bind(fd, (struct sockaddr *)&nat, natlen) == 0 &&
		   bind(tx, (struct sockaddr *)&snd, sndlen) == 0, "native UDP sockets"))
		goto out;
	natlen = sizeof(nat);
	getsockname(fd, (struct sockaddr *)&nat, &natlen);

#define BOTH_SEND(buf, n)                                                              \
	do {                                                                           \
		sendto(tx, buf, n, 0, (struct sockaddr *)&bro, brolen);                \
		sendto(tx, buf, n, 0, (struct sockaddr *)&nat, natlen);                \
	} while (0)
#define BOTH_RECV(len, flags)                                                          \
	do {                                                                           \
		struct pollfd p_ = { .fd = fd, .events = POLLIN };                     \
		memset(&x, 0, sizeof(x));                                              \
		memset(&y, 0, sizeof(y));                                              \
		errno = 0;                                                             \
		x.r = sb_recv(c, s, x.data, len, flags);                               \
		x.err = errno;                                                         \
		poll(&p_, 1, (flags) & MSG_DONTWAIT ? 0 : 3000);                       \
		errno = 0;                                                             \
		y.r = recv(fd, y.data, len, (flags) | MSG_DONTWAIT);                   \
		y.err = errno;                                                         \
	} while (0)
#define SAME(what)                                                                     \
	CHECK(x.r == y.r && (x.r >= 0 || x.err == y.err) &&                            \
	      (x.r <= 0 || !memcmp(x.data, y.data, (size_t)x.r < sizeof(x.data)          \
						       ? (size_t)x.r : sizeof(x.data))),   \
	      "UDP %s: broker returned %zd (%s), kernel returns %zd (%s)", what, x.r,   \
	      x.r < 0 ? strerror(x.err) : "ok", y.r, y.r < 0 ? strerror(y.err) : "ok")

	/* MSG_DONTWAIT with nothing queued. */
	t0 = it_now_ms();
	BOTH_RECV(10, MSG_DONTWAIT);
	SAME("MSG_DONTWAIT on an empty socket");
	CHECK(x.r == -1 && x.err == EAGAIN, "UDP MSG_DONTWAIT on an empty socket: want EAGAIN");
	CHECK(it_now_ms() - t0 < 1000, "UDP MSG_DONTWAIT waited %lld ms",
	      (long long)(it_now_ms() - t0));

	/* MSG_PEEK keeps the datagram; the next recv gets it again. */
	BOTH_SEND(dgram, sizeof(dgram));
	BOTH_RECV(sizeof(dgram), MSG_PEEK);
	SAME("MSG_PEEK");
	BOTH_RECV(sizeof(dgram), 0);
	SAME("recv after MSG_PEEK");
	CHECK(x.r == (ssize_t)sizeof(dgram) && !memcmp(x.data, dgram, sizeof(dgram)),
	      "UDP recv after MSG_PEEK: %zd bytes", x.r);

	/* Zero-length peek with MSG_TRUNC: the size of the next datagram. */
	BOTH_SEND(dgram, sizeof(dgram));
	BOTH_RECV(0, MSG_PEEK | MSG_TRUNC);
	SAME("MSG_PEEK|MSG_TRUNC with a 0-byte buffer");
	CHECK(x.r == (ssize_t)sizeof(dgram), "UDP MSG_PEEK|MSG_TRUNC len 0: got %zd, want %zu",
	      x.r, sizeof(dgram));

	/* MSG_TRUNC with a short buffer: the real length, the first bytes. */
	BOTH_RECV(10, MSG_TRUNC);
	SAME("MSG_TRUNC with a 10-byte buffer");
	CHECK(x.r == (ssize_t)sizeof(dgram) && !memcmp(x.data, dgram, 10),
	      "UDP MSG_TRUNC: got %zd, want %zu (the datagram's length)", x.r, sizeof(dgram));
	CHECK(x.data[10] == 0, "UDP MSG_TRUNC: the broker wrote past the 10-byte buffer");

	/* Without MSG_TRUNC: 10 bytes, and the rest of the datagram is gone. */
	it_fill(big, sizeof(big), 9);
	BOTH_SEND(big, sizeof(big));
	BOTH_SEND(dgram, sizeof(dgram));
	BOTH_RECV(10, 0);
	SAME("short buffer without MSG_TRUNC");
	CHECK(x.r == 10 && !memcmp(x.data, big, 10), "UDP short buffer: got %zd, want 10", x.r);
	BOTH_RECV(sizeof(dgram), 0);
	SAME("the datagram after a truncated one");
	CHECK(x.r == (ssize_t)sizeof(dgram) && !memcmp(x.data, dgram, sizeof(dgram)),
	      "UDP: after truncation the next recv must return the next datagram "
	      "(%zd bytes), got %zd", sizeof(dgram), x.r);

	/* Non-blocking mode: same as MSG_DONTWAIT. */
	CHECK(sb_set_nonblock(c, s, 1) == 0, "sb_set_nonblock: %s", strerror(errno));
	t0 = it_now_ms();
	errno = 0;
	x.r = sb_recv(c, s, x.data, 10, 0);
	CHECK(x.r == -1 && errno == EAGAIN && it_now_ms() - t0 < 1000,
	      "UDP non-blocking recv on an empty socket: got %zd (%s) after %lld ms, want EAGAIN "
	      "at once", x.r, strerror(errno), (long long)(it_now_ms() - t0));
#undef BOTH_SEND
#undef BOTH_RECV
#undef SAME
out:
	sb_close(c, s);
	if (fd >= 0)
		close(fd);
	if (tx >= 0)
		close(tx);
}

int main(void)
{
	c = it_setup(&b, NULL, 40);
	tcp_flags();
	udp_flags();
	return it_teardown(&b, c);
}
