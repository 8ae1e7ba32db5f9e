/* SPDX-License-Identifier: MIT
 * it_oversized.c - the request size limit (contract rule 7) with a broker
 * configured for limits.max_message_bytes: 65536 (the smallest allowed):
 *  - raw Send requests on a connected TCP handle: a message of exactly
 *    65536 bytes is accepted and its data arrives; 65537 bytes and 1 MiB
 *    are RESOURCE_EXHAUSTED, and none of their bytes reach the peer;
 *  - the broker keeps serving: a small Send afterwards arrives alone,
 *    GetStats works and sockets_open did not change;
 *  - libsockbroker splits (it learns the limit from OpenSession): sb_send()
 *    of 1 MiB on a connected TCP socket returns 1 MiB and a native peer
 *    echoes it back complete, read with sb_recv() loops and with one
 *    MSG_WAITALL sb_recv() of 1 MiB;
 *  - a datagram is never split: sb_sendto() of a UDP datagram above the
 *    broker's message size is EMSGSIZE, one of 60000 bytes arrives whole,
 *    and sb_recv() with a 1 MiB buffer gets a 60000-byte datagram.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_client.h"

#define LIMIT 65536u
#define MIB (1u << 20)

static const char config[] =
	"limits:\n"
	"  max_message_bytes: 65536\n"
	"policy:\n  - name: owner\n    match: { uid: 0 }\n    action: allow\n";

static grpc_channel *ch;
static struct it_session sess;

/* ---- raw Send ------------------------------------------------------- */

static uint64_t raw_tcp_connected(const struct sockaddr_storage *to, int lfd, int *peer)
{
	Sockbroker__V1__SocketRequest sreq = SOCKBROKER__V1__SOCKET_REQUEST__INIT;
	Sockbroker__V1__ConnectRequest creq = SOCKBROKER__V1__CONNECT_REQUEST__INIT;
	Sockbroker__V1__Address a = SOCKBROKER__V1__ADDRESS__INIT;
	Sockbroker__V1__Inet4Address in4 = SOCKBROKER__V1__INET4_ADDRESS__INIT;
	Sockbroker__V1__SocketReply *srep;
	Sockbroker__V1__ConnectReply *crep;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)to;
	struct it_reply r;
	uint64_t h = 0;

	*peer = -1;
	sreq.family = SOCKBROKER__V1__ADDRESS_FAMILY__AF_INET;
	sreq.type = SOCKBROKER__V1__SOCKET_TYPE__SOCK_STREAM;
	if (it_call(ch, IT_SVC "Socket", &sreq.base, sess.token, 5000, &r) == 0 &&
	    r.status == GRPC_STATUS_OK) {
		srep = sockbroker__v1__socket_reply__unpack(NULL, r.len, r.data);
		if (srep) {
			h = srep->error ? 0 : srep->handle;
			sockbroker__v1__socket_reply__free_unpacked(srep, NULL);
		}
	}
	it_reply_free(&r);
	if (!CHECK(h != 0, "raw Socket"))
		return 0;
	in4.addr.data = (uint8_t *)&sin->sin_addr;
	in4.addr.len = 4;
	in4.port = ntohs(sin->sin_port);
	a.kind_case = SOCKBROKER__V1__ADDRESS__KIND_INET;
	a.inet = &in4;
	creq.handle = h;
	creq.address = &a;
	creq.timeout_ms = 5000;
	if (it_call(ch, IT_SVC "Connect", &creq.base, sess.token, 8000, &r) == 0 &&
	    r.status == GRPC_STATUS_OK) {
		crep = sockbroker__v1__connect_reply__unpack(NULL, r.len, r.data);
		CHECK(crep && crep->error == 0, "raw Connect: error %d",
		      crep ? (int)crep->error : -1);
		if (crep)
			sockbroker__v1__connect_reply__free_unpacked(crep, NULL);
	} else {
		CHECK(0, "raw Connect: %s %s", it_status_name(r.status), r.details);
	}
	it_reply_free(&r);
	*peer = it_native_accept(lfd, NULL, NULL, 5000);
	CHECK(*peer >= 0, "native accept of the raw connection: %s", strerror(errno));
	return h;
}

/* Raw Send of @n bytes of @data. Return: the status; *@sent when OK. */
static grpc_status_code raw_send(uint64_t h, const uint8_t *data, size_t n, size_t *packed,
				 uint64_t *sent, int *sb_errno, char *details, size_t dlen)
{
	Sockbroker__V1__SendRequest req = SOCKBROKER__V1__SEND_REQUEST__INIT;
	Sockbroker__V1__SendReply *rep;
	struct it_reply r;
	grpc_status_code st;

	req.handle = h;
	req.data.data = (uint8_t *)data;
	req.data.len = n;
	req.timeout_ms = 5000;
	*packed = protobuf_c_message_get_packed_size(&req.base);
	*sent = 0;
	if (it_call(ch, IT_SVC "Send", &req.base, sess.token, 10000, &r) < 0) {
		snprintf(details, dlen, "no answer");
		return GRPC_STATUS_UNKNOWN;
	}
	st = r.status;
	*sb_errno = r.sb_errno;
	snprintf(details, dlen, "%s", r.details);
	if (st == GRPC_STATUS_OK) {
		rep = sockbroker__v1__send_reply__unpack(NULL, r.len, r.data);
		if (rep) {
			*sent = rep->error ? 0 : rep->sent;
			sockbroker__v1__send_reply__free_unpacked(rep, NULL);
		}
	}
	it_reply_free(&r);
	return st;
}

/* Data length whose SendRequest on @h packs to exactly @target bytes. */
static size_t data_len_for(uint64_t h, size_t target)
{
	Sockbroker__V1__SendRequest req = SOCKBROKER__V1__SEND_REQUEST__INIT;
	size_t n = target;

	req.handle = h;
	req.timeout_ms = 5000;
	while (n > 0) {
		req.data.len = n;
		if (protobuf_c_message_get_packed_size(&req.base) <= target)
			break;
		n--;
	}
	return n;
}

static void raw_limits(int lfd, const struct sockaddr_storage *to, uint8_t *big, uint8_t *in)
{
	Sockbroker__V1__GetStatsReply *st;
	char details[512];
	grpc_status_code code;
	uint64_t h, sent;
	size_t n, packed;
	int64_t open0;
	int peer, err = -1;
	ssize_t rd;

	h = raw_tcp_connected(to, lfd, &peer);
	if (!h || peer < 0)
		goto out;
	open0 = it_stats_sockets(ch);

	/* Exactly the limit: accepted, and every byte arrives. */
	n = data_len_for(h, LIMIT);
	code = raw_send(h, big, n, &packed, &sent, &err, details, sizeof(details));
	CHECK(packed == LIMIT, "could not make a request of exactly %u bytes (%zu)", LIMIT,
	      packed);
	if (CHECK(code == GRPC_STATUS_OK && sent == n,
		  "Send of a %zu-byte request (the limit): status %s sent %llu \"%s\", want OK "
		  "and %zu sent", packed, it_status_name(code), (unsigned long long)sent, details,
		  n))
		CHECK(it_read_full(peer, in, n, 5000) == 0 && !memcmp(in, big, n),
		      "the peer did not get the %zu bytes of the request at the limit", n);

	/* One byte above the limit, and 1 MiB: RESOURCE_EXHAUSTED. */
	code = raw_send(h, big, n + 1, &packed, &sent, &err, details, sizeof(details));
	CHECK(packed == LIMIT + 1, "request size %zu, want %u", packed, LIMIT + 1);
	CHECK(code == GRPC_STATUS_RESOURCE_EXHAUSTED,
	      "Send of a %zu-byte request (limit + 1): status %s \"%s\", want RESOURCE_EXHAUSTED",
	      packed, it_status_name(code), details);
	it_note("limit + 1: status %s, sb-errno %d, \"%s\"", it_status_name(code), err, details);
	code = raw_send(h, big, MIB, &packed, &sent, &err, details, sizeof(details));
	CHECK(code == GRPC_STATUS_RESOURCE_EXHAUSTED,
	      "Send of a %zu-byte request: status %s \"%s\", want RESOURCE_EXHAUSTED", packed,
	      it_status_name(code), details);
	/* The sb-errno trailer, when there is one, names a limit (rule 3). */
	CHECK(err == -1 || err == ENOBUFS || err == EMSGSIZE,
	      "oversized Send: sb-errno %d, want none or ENOBUFS/EMSGSIZE", err);

	/* Still serving; nothing of the refused requests reached the peer. */
	code = raw_send(h, (const uint8_t *)"after", 5, &packed, &sent, &err, details,
			sizeof(details));
	CHECK(code == GRPC_STATUS_OK && sent == 5, "small Send after the oversized ones: %s %s",
	      it_status_name(code), details);
	memset(in, 0, 16);
	rd = it_read_some(peer, in, 16, 3000);
	CHECK(rd == 5 && !memcmp(in, "after", 5),
	      "the peer got %zd bytes after the refused Sends, want exactly \"after\"", rd);
	rd = it_read_some(peer, in, 16, 100);
	CHECK(rd < 0 && errno == ETIMEDOUT, "the peer got %zd more bytes", rd);
	st = it_stats(ch);
	if (CHECK(st != NULL, "GetStats after the oversized Sends")) {
		CHECK((int64_t)st->sockets_open == open0, "sockets_open %llu, want %lld",
		      (unsigned long long)st->sockets_open, (long long)open0);
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	}
	{
		Sockbroker__V1__CloseRequest creq = SOCKBROKER__V1__CLOSE_REQUEST__INIT;
		struct it_reply r;

		creq.handle = h;
		if (it_call(ch, IT_SVC "Close", &creq.base, sess.token, 5000, &r) == 0)
			CHECK(r.status == GRPC_STATUS_OK, "raw Close: %s", it_status_name(r.status));
		it_reply_free(&r);
	}
out:
	if (peer >= 0)
		close(peer);
}

/* ---- libsockbroker: 1 MiB through a 64 KiB broker ------------------- */

struct echo {
	int fd;
	uint8_t *buf;
	size_t n;
	int rounds;
	int ok;
};

/* Native peer: read @n bytes, write them back; @rounds times. */
static void *echo_main(void *arg)
{
	struct echo *e = arg;
	int i;

	e->ok = 1;
	for (i = 0; i < e->rounds && e->ok; i++) {
		if (it_read_full(e->fd, e->buf, e->n, 15000) < 0 ||
		    it_write_full(e->fd, e->buf, e->n) < 0)
			e->ok = 0;
	}
	return NULL;
}

static void lib_stream(sb_client *c, int lfd, const struct sockaddr_storage *to,
		       socklen_t tolen, const uint8_t *big, uint8_t *in)
{
	struct echo e = { .fd = -1, .n = MIB, .rounds = 2 };
	pthread_t t;
	ssize_t w, r;
	int s, started = 0;

	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (!CHECK(s >= 0, "sb_socket: %s %s", strerror(errno), it_sberr()))
		return;
	if (!CHECK(sb_connect(c, s, (const struct sockaddr *)to, tolen) == 0,
		   "sb_connect: %s %s", strerror(errno), it_sberr()))
		goto out;
	e.fd = it_native_accept(lfd, NULL, NULL, 5000);
	e.buf = malloc(MIB);
	if (!CHECK(e.fd >= 0 && e.buf, "native accept: %s", strerror(errno)))
		goto out;
	if (!CHECK(pthread_create(&t, NULL, echo_main, &e) == 0, "pthread_create"))
		goto out;
	started = 1;

	/* Round 1: one sb_send, sb_recv loops. */
	w = sb_send(c, s, big, MIB, 0);
	CHECK(w == (ssize_t)MIB, "sb_send of 1 MiB with a 64 KiB broker: %zd (%s %s), want %u",
	      w, strerror(errno), it_sberr(), MIB);
	memset(in, 0, MIB);
	CHECK(it_sb_recv_all(c, s, in, MIB, 15000) == 0, "sb_recv of the 1 MiB echo: %s %s",
	      strerror(errno), it_sberr());
	CHECK(!memcmp(in, big, MIB), "the 1 MiB echo came back corrupted");

	/* Round 2: one sb_send, one MSG_WAITALL sb_recv. */
	w = sb_send(c, s, big, MIB, 0);
	CHECK(w == (ssize_t)MIB, "second sb_send of 1 MiB: %zd (%s)", w, strerror(errno));
	memset(in, 0, MIB);
	r = sb_recv(c, s, in, MIB, MSG_WAITALL);
	CHECK(r == (ssize_t)MIB, "sb_recv(MSG_WAITALL) of 1 MiB: %zd (%s %s)", r,
	      strerror(errno), it_sberr());
	CHECK(!memcmp(in, big, MIB), "the MSG_WAITALL echo came back corrupted");
out:
	if (started) {
		pthread_join(t, NULL);
		CHECK(e.ok, "the native echo peer failed");
	}
	if (e.fd >= 0)
		close(e.fd);
	free(e.buf);
	CHECK(sb_close(c, s) == 0, "sb_close: %s", strerror(errno));
}

static void lib_dgram(sb_client *c, const uint8_t *big, uint8_t *in)
{
	struct sockaddr_storage ss, peer_addr;
	socklen_t len, plen;
	ssize_t w, r;
	int s, fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	plen = it_addr4(&peer_addr, "127.0.0.1", 0);
	if (!CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&peer_addr, plen) == 0,
		   "native UDP socket"))
		return;
	plen = sizeof(peer_addr);
	getsockname(fd, (struct sockaddr *)&peer_addr, &plen);
	s = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	if (!CHECK(s >= 0, "sb_socket UDP: %s", strerror(errno)))
		goto out;
	len = it_addr4(&ss, "127.0.0.1", 0);
	CHECK(sb_bind(c, s, (struct sockaddr *)&ss, len) == 0, "sb_bind UDP: %s", strerror(errno));
	len = sizeof(ss);
	sb_getsockname(c, s, (struct sockaddr *)&ss, &len);

	/* A datagram is not split: above the broker's message size, EMSGSIZE. */
	errno = 0;
	w = sb_sendto(c, s, big, 65000, 0, (struct sockaddr *)&peer_addr, plen);
	CHECK(w == -1 && errno == EMSGSIZE,
	      "sb_sendto of a 65000-byte datagram with a 64 KiB broker: %zd (%s), want -1 "
	      "EMSGSIZE", w, strerror(errno));
	r = it_read_some(fd, in, 70000, 200);
	CHECK(r < 0 && errno == ETIMEDOUT, "the refused datagram arrived anyway (%zd bytes)", r);

	/* Below it: one datagram, whole. */
	w = sb_sendto(c, s, big, 60000, 0, (struct sockaddr *)&peer_addr, plen);
	CHECK(w == 60000, "sb_sendto of 60000 bytes: %zd (%s %s)", w, strerror(errno),
	      it_sberr());
	r = it_read_some(fd, in, 70000, 3000);
	CHECK(r == 60000 && !memcmp(in, big, 60000), "native side got %zd bytes, want 60000", r);

	/* Receiving into a buffer far above the limit works. */
	CHECK(sendto(fd, big, 60000, 0, (struct sockaddr *)&ss, len) == 60000, "native sendto");
	memset(in, 0, 60000);
	r = sb_recv_timeout(c, s, in, MIB, 0, 3000);
	CHECK(r == 60000 && !memcmp(in, big, 60000),
	      "sb_recv of a 60000-byte datagram into 1 MiB: %zd (%s %s)", r, strerror(errno),
	      it_sberr());
	CHECK(sb_close(c, s) == 0, "sb_close UDP: %s", strerror(errno));
out:
	close(fd);
}

int main(void)
{
	struct sockaddr_storage to;
	struct it_broker b;
	socklen_t tolen;
	uint8_t *big, *in;
	int64_t open0;
	sb_client *c;
	int lfd;

	c = it_setup(&b, config, 50);
	ch = it_channel(&b);
	big = malloc(MIB);
	in = malloc(MIB + 1);
	lfd = it_native_listener(AF_INET, "127.0.0.1", &to, &tolen);
	if (!CHECK(big && in && lfd >= 0, "set-up (memory, native listener)"))
		goto out;
	it_fill(big, MIB, 7);
	if (!CHECK(it_session_open(ch, &sess, 5000) == 0, "raw OpenSession"))
		goto out;
	open0 = it_stats_sockets(ch);

	it_note("raw Send requests around the 64 KiB limit");
	raw_limits(lfd, &to, big, in);
	it_note("sb_send / sb_recv of 1 MiB on TCP");
	lib_stream(c, lfd, &to, tolen, big, in);
	it_note("datagrams around the limit");
	lib_dgram(c, big, in);

	CHECK(it_stats_sockets(ch) == open0, "sockets_open at the end: %lld, want %lld",
	      (long long)it_stats_sockets(ch), (long long)open0);
	it_session_close(&sess);
out:
	if (lfd >= 0)
		close(lfd);
	free(big);
	free(in);
	grpc_channel_destroy(ch);
	return it_teardown(&b, c);
}
