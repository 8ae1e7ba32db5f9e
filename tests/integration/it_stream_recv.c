/* SPDX-License-Identifier: MIT
 * it_stream_recv.c - 1,000 UDP datagrams through RecvStream
 * (sb_udp_server_loop_on on one bound broker socket), sent by a native
 * socket at a modest rate: bursts of 50, then 20 ms of rest, and no new
 * burst while more than 25 are unseen (so that a loaded machine does not
 * overflow the socket's receive queue: that loss would be the kernel's).
 *
 * Checks: every sequence number 0..999 is seen exactly once, none is lost
 * (and the broker's datagrams_dropped did not grow), each payload and
 * length is what was sent, none is truncated, and each datagram's source
 * is the sender's address and port, its local address the one bound, its
 * socket the one served. The loop stops when the callback returns non-zero
 * after the last one; a sender that finds datagrams missing after 20 s
 * stops it with a STOP datagram (bounded). RecvStream over TCP is not
 * exposed by the C API's loops and is not tested here.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_client.h"

#define COUNT 1000
#define BURST 50
#define REST_MS 20
#define PROBE 0xfffffff0u
#define STOP 0xffffffffu
#define ALL_SEEN 5
#define STOPPED 6

struct state {
	int s;                          /* the broker socket */
	struct sockaddr_storage me;     /* the native sender */
	socklen_t melen;
	struct sockaddr_storage bound;  /* the broker socket's address */
	socklen_t boundlen;
	int fd;
	unsigned char seen[COUNT];
	atomic_int nseen, started, done;
	int dups, bad, out_of_order, last_seq, probes;
};

static size_t len_of(uint32_t seq)
{
	return 8 + (size_t)(seq * 37u % 600u);
}

static void fill(unsigned char *buf, uint32_t seq, size_t len)
{
	memcpy(buf, &seq, 4);
	memset(buf + 4, 0, 4);
	it_fill(buf + 8, len - 8, seq + 1);
}

static int same_inet(const struct sockaddr_storage *a, const struct sockaddr_storage *x,
		     int with_port)
{
	const struct sockaddr_in *p = (const void *)a, *q = (const void *)x;

	return a->ss_family == AF_INET && x->ss_family == AF_INET &&
	       p->sin_addr.s_addr == q->sin_addr.s_addr &&
	       (!with_port || p->sin_port == q->sin_port);
}

static int on_dgram(sb_client *c, const void *buf, size_t len, int truncated,
		    const struct sb_udp_source *src, void *arg)
{
	struct state *st = arg;
	unsigned char want[700];
	char a[128], x[128];
	uint32_t seq;

	(void)c;
	if (!CHECK(len >= 8 && !truncated, "a datagram of %zu bytes%s", len,
		   truncated ? ", truncated" : "")) {
		st->bad++;
		return 0;
	}
	memcpy(&seq, buf, 4);
	if (seq == PROBE) {
		st->probes++;
		atomic_store(&st->started, 1);
		return 0;
	}
	if (seq == STOP)
		return STOPPED;
	if (!CHECK(seq < COUNT, "unknown sequence number %u", seq)) {
		st->bad++;
		return 0;
	}
	fill(want, seq, len_of(seq));
	if (!CHECK(len == len_of(seq) && !memcmp(buf, want, len), "datagram %u: %zu bytes, "
		   "want %zu%s", seq, len, len_of(seq), len == len_of(seq) ?
		   ", content differs" : ""))
		st->bad++;
	if (!CHECK(src->s == st->s, "datagram %u: came on socket %d, want %d", seq, src->s,
		   st->s) ||
	    !CHECK(same_inet(&src->peer, &st->me, 1), "datagram %u: source %s, the sender "
		   "is %s", seq, it_addr_str((struct sockaddr *)&src->peer, src->peerlen, a,
		   sizeof(a)), it_addr_str((struct sockaddr *)&st->me, st->melen, x, sizeof(x))) ||
	    !CHECK(src->locallen && same_inet(&src->local, &st->bound, 0), "datagram %u: local "
		   "address %s, want %s", seq, it_addr_str((struct sockaddr *)&src->local,
		   src->locallen, a, sizeof(a)), it_addr_str((struct sockaddr *)&st->bound,
		   st->boundlen, x, sizeof(x))))
		st->bad++;
	if (st->seen[seq]) {
		CHECK(0, "datagram %u seen twice", seq);
		st->dups++;
		return 0;
	}
	if ((int)seq < st->last_seq)
		st->out_of_order++;
	st->last_seq = (int)seq;
	st->seen[seq] = 1;
	if (atomic_fetch_add(&st->nseen, 1) + 1 == COUNT)
		return ALL_SEEN;
	return 0;
}

static int send_seq(struct state *st, uint32_t seq, size_t len)
{
	unsigned char buf[700];

	fill(buf, seq, len);
	for (;;) {
		ssize_t w = sendto(st->fd, buf, len, 0, (struct sockaddr *)&st->bound,
				   st->boundlen);

		if (w == (ssize_t)len)
			return 0;
		if (w < 0 && (errno == EINTR || errno == ENOBUFS || errno == EAGAIN)) {
			it_sleep_ms(1);
			continue;
		}
		return -1;
	}
}

static void *sender_main(void *arg)
{
	struct state *st = arg;
	int64_t until = it_now_ms() + 20000;
	uint32_t seq;
	int i;

	/* Wait until the stream runs: probes until one comes through. */
	for (i = 0; i < 100 && !atomic_load(&st->started); i++) {
		send_seq(st, PROBE, 8);
		it_sleep_ms(50);
	}
	if (!CHECK(atomic_load(&st->started), "no probe came through RecvStream in 5 s"))
		goto stop;
	for (seq = 0; seq < COUNT; seq++) {
		if (!CHECK(send_seq(st, seq, len_of(seq)) == 0, "sendto %u: %s", seq,
			   strerror(errno)))
			break;
		if ((seq + 1) % BURST)
			continue;
		it_sleep_ms(REST_MS);
		/* Under load, do not outrun the socket's receive queue (the
		 * kernel would drop): at most BURST / 2 still unseen before the
		 * next burst (bounded wait). */
		for (i = 0; i < 500 && it_now_ms() < until &&
			    (int)(seq + 1) - atomic_load(&st->nseen) > BURST / 2; i++)
			it_sleep_ms(10);
	}
	while (atomic_load(&st->nseen) < COUNT && it_now_ms() < until)
		it_sleep_ms(10);
stop:
	/* Missing ones: stop the loop anyway (it ignores STOP otherwise). */
	while (!atomic_load(&st->done) && atomic_load(&st->nseen) < COUNT &&
	       it_now_ms() < until + 5000) {
		send_seq(st, STOP, 8);
		it_sleep_ms(100);
	}
	return NULL;
}

int main(void)
{
	static struct state st;
	Sockbroker__V1__GetStatsReply *s0, *s1;
	struct it_broker b;
	grpc_channel *ch;
	pthread_t th;
	int64_t t0, el;
	int rc, missing = 0, first_missing = -1;
	uint32_t i;
	sb_client *c;

	c = it_setup(&b, NULL, 40);
	ch = it_channel(&b);
	s0 = it_stats(ch);
	st.last_seq = -1;
	st.fd = -1;
	st.s = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	st.boundlen = it_addr4(&st.bound, "127.0.0.1", 0);
	if (!CHECK(s0 != NULL, "GetStats") ||
	    !CHECK(st.s >= 0, "sb_socket: %s %s", strerror(errno), it_sberr()) ||
	    !CHECK(sb_bind(c, st.s, (struct sockaddr *)&st.bound, st.boundlen) == 0,
		   "sb_bind: %s %s", strerror(errno), it_sberr()))
		goto out;
	st.boundlen = sizeof(st.bound);
	sb_getsockname(c, st.s, (struct sockaddr *)&st.bound, &st.boundlen);
	st.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	st.melen = it_addr4(&st.me, "127.0.0.1", 0);
	if (!CHECK(st.fd >= 0 && bind(st.fd, (struct sockaddr *)&st.me, st.melen) == 0,
		   "native socket: %s", strerror(errno)))
		goto out;
	st.melen = sizeof(st.me);
	getsockname(st.fd, (struct sockaddr *)&st.me, &st.melen);

	if (!CHECK(pthread_create(&th, NULL, sender_main, &st) == 0, "pthread_create"))
		goto out;
	t0 = it_now_ms();
	rc = sb_udp_server_loop_on(c, &st.s, 1, on_dgram, &st);
	el = it_now_ms() - t0;
	atomic_store(&st.done, 1);
	pthread_join(th, NULL);
	CHECK(rc == ALL_SEEN, "sb_udp_server_loop_on returned %d (%s %s), want %d (all seen)",
	      rc, strerror(errno), it_sberr(), ALL_SEEN);
	for (i = COUNT; i-- > 0;)
		if (!st.seen[i]) {
			missing++;
			first_missing = (int)i;
		}
	s1 = it_stats(ch);
	CHECK(missing == 0, "%d of %d datagrams never came (first missing: %d); the broker "
	      "counted %llu kernel drops", missing, COUNT, first_missing,
	      s1 && s0 ? (unsigned long long)(s1->datagrams_dropped - s0->datagrams_dropped)
		       : 0ull);
	CHECK(st.dups == 0 && st.bad == 0, "%d duplicates, %d bad datagrams", st.dups, st.bad);
	it_note("%d datagrams in %lld ms (%d probes, %d out of order)", atomic_load(&st.nseen),
		(long long)el, st.probes, st.out_of_order);
	if (CHECK(s1 != NULL, "GetStats after")) {
		CHECK(s1->datagrams_dropped == s0->datagrams_dropped, "the broker counted %llu "
		      "dropped datagrams", (unsigned long long)(s1->datagrams_dropped -
							       s0->datagrams_dropped));
		/* The socket is still ours after the loop. */
		CHECK(s1->sockets_open == s0->sockets_open + 1, "sockets_open %llu, want %llu",
		      (unsigned long long)s1->sockets_open,
		      (unsigned long long)s0->sockets_open + 1);
		sockbroker__v1__get_stats_reply__free_unpacked(s1, NULL);
	}
	CHECK(sb_close(c, st.s) == 0, "sb_close after the loop: %s", strerror(errno));
	st.s = -1;
	CHECK(it_stats_sockets(ch) == (int64_t)s0->sockets_open, "sockets_open after sb_close");
out:
	if (st.s >= 0)
		sb_close(c, st.s);
	if (st.fd >= 0)
		close(st.fd);
	if (s0)
		sockbroker__v1__get_stats_reply__free_unpacked(s0, NULL);
	grpc_channel_destroy(ch);
	return it_teardown(&b, c);
}
