/* SPDX-License-Identifier: MIT
 * it_socket_limit.c - limits.max_sockets_per_session: 8 (contract rules 3
 * and 4; server/ops_socket.c sb__op_limit_sockets()):
 *  - libsockbroker: eight sb_socket() calls work, the ninth is -1 with
 *    errno EMFILE (the broker's RESOURCE_EXHAUSTED + sb-errno EMFILE) and
 *    sb_last_error() names the limit; sb_socketpair() at the limit and
 *    with only one free place is EMFILE too and changes nothing (no broker
 *    socket, no socket number: the next sb_socket() gets the lowest free
 *    number); after sb_close() of one, sb_socket() works again;
 *  - sb_accept() on a listener when the session is full is EMFILE;
 *  - raw calls: the ninth Socket is RESOURCE_EXHAUSTED with sb-errno 24;
 *    SocketPair with one free place is RESOURCE_EXHAUSTED and leaves
 *    sockets_open as it was;
 *  - the limit is per session: the raw session and the library's session
 *    hold eight sockets each at the same time;
 *  - GetStats limits_hit grew by at least the refusals; sockets_open is
 *    back to the baseline once everything is closed;
 *  - a refused Accept leaves the connection queued, as accept(2) with
 *    EMFILE does (contract rule 4): the peer sees nothing, and an accept
 *    with room again gets it.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_client.h"

#define LIMIT 8
#define PORTABLE_EMFILE 24

static const char config[] =
	"limits:\n"
	"  max_sockets_per_session: 8\n"
	"policy:\n  - name: owner\n    match: { uid: 0 }\n    action: allow\n";

static grpc_channel *ch;

static uint64_t limits_hit(void)
{
	Sockbroker__V1__GetStatsReply *st = it_stats(ch);
	uint64_t n;

	if (!st)
		return 0;
	n = st->limits_hit;
	sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	return n;
}

/* Raw Socket or SocketPair as @s: the status; *@h the (first) handle. */
static grpc_status_code raw_new(const struct it_session *s, int pair, uint64_t *h, int *err)
{
	struct it_reply r;
	grpc_status_code st;
	int rc;

	*h = 0;
	if (pair) {
		Sockbroker__V1__SocketPairRequest req = SOCKBROKER__V1__SOCKET_PAIR_REQUEST__INIT;

		req.family = SOCKBROKER__V1__ADDRESS_FAMILY__AF_UNIX;
		req.type = SOCKBROKER__V1__SOCKET_TYPE__SOCK_STREAM;
		rc = it_call(ch, IT_SVC "SocketPair", &req.base, s->token, 5000, &r);
	} else {
		Sockbroker__V1__SocketRequest req = SOCKBROKER__V1__SOCKET_REQUEST__INIT;

		req.family = SOCKBROKER__V1__ADDRESS_FAMILY__AF_INET;
		req.type = SOCKBROKER__V1__SOCKET_TYPE__SOCK_DGRAM;
		rc = it_call(ch, IT_SVC "Socket", &req.base, s->token, 5000, &r);
	}
	if (rc < 0) {
		*err = -1;
		return GRPC_STATUS_UNKNOWN;
	}
	st = r.status;
	*err = r.sb_errno;
	if (st == GRPC_STATUS_OK && pair) {
		Sockbroker__V1__SocketPairReply *rep =
			sockbroker__v1__socket_pair_reply__unpack(NULL, r.len, r.data);

		if (rep) {
			*h = rep->error ? 0 : rep->handle0;
			sockbroker__v1__socket_pair_reply__free_unpacked(rep, NULL);
		}
	} else if (st == GRPC_STATUS_OK) {
		Sockbroker__V1__SocketReply *rep =
			sockbroker__v1__socket_reply__unpack(NULL, r.len, r.data);

		if (rep) {
			*h = rep->error ? 0 : rep->handle;
			sockbroker__v1__socket_reply__free_unpacked(rep, NULL);
		}
	}
	it_reply_free(&r);
	return st;
}

static void raw_close(const struct it_session *s, uint64_t h)
{
	Sockbroker__V1__CloseRequest req = SOCKBROKER__V1__CLOSE_REQUEST__INIT;
	struct it_reply r;

	req.handle = h;
	if (it_call(ch, IT_SVC "Close", &req.base, s->token, 5000, &r) == 0)
		CHECK(r.status == GRPC_STATUS_OK, "raw Close: %s", it_status_name(r.status));
	it_reply_free(&r);
}

/* The raw session fills up while the library's session is full too. */
static void raw_limit(int64_t open_before)
{
	struct it_session s;
	uint64_t h[LIMIT], x;
	grpc_status_code st;
	int i, err, n = 0;

	if (!CHECK(it_session_open(ch, &s, 5000) == 0, "raw OpenSession"))
		return;
	for (i = 0; i < LIMIT; i++) {
		st = raw_new(&s, 0, &h[i], &err);
		if (!CHECK(st == GRPC_STATUS_OK && h[i], "raw Socket %d of %d: %s", i + 1, LIMIT,
			   it_status_name(st)))
			goto out;
		n++;
	}
	CHECK(it_stats_sockets(ch) == open_before + LIMIT,
	      "the raw session's 8 sockets are not all open (sockets_open %lld, want %lld): "
	      "is the limit per session?", (long long)it_stats_sockets(ch),
	      (long long)(open_before + LIMIT));
	st = raw_new(&s, 0, &x, &err);
	CHECK(st == GRPC_STATUS_RESOURCE_EXHAUSTED && err == PORTABLE_EMFILE && !x,
	      "raw Socket %d: %s sb-errno %d, want RESOURCE_EXHAUSTED with sb-errno %d",
	      LIMIT + 1, it_status_name(st), err, PORTABLE_EMFILE);

	/* One free place; a pair needs two: refused, and nothing kept. */
	raw_close(&s, h[--n]);
	st = raw_new(&s, 1, &x, &err);
	CHECK(st == GRPC_STATUS_RESOURCE_EXHAUSTED && err == PORTABLE_EMFILE,
	      "raw SocketPair with one free place: %s sb-errno %d, want RESOURCE_EXHAUSTED "
	      "with sb-errno %d", it_status_name(st), err, PORTABLE_EMFILE);
	CHECK(it_stats_sockets(ch) == open_before + LIMIT - 1,
	      "the refused SocketPair changed sockets_open: %lld, want %lld",
	      (long long)it_stats_sockets(ch), (long long)(open_before + LIMIT - 1));
	/* The free place is still there. */
	st = raw_new(&s, 0, &h[n], &err);
	if (CHECK(st == GRPC_STATUS_OK && h[n], "raw Socket after the refused SocketPair: %s",
		  it_status_name(st)))
		n++;
out:
	for (i = 0; i < n; i++)
		raw_close(&s, h[i]);
	it_session_close(&s);
}

int main(void)
{
	struct sockaddr_storage ss;
	struct it_broker b;
	int s[LIMIT], sv[2], i, j, x, fd = -1, l, cl;
	int64_t open0;
	uint64_t hit0, hit1;
	const char *msg;
	socklen_t len;
	sb_client *c;
	char buf[4];
	ssize_t r;

	c = it_setup(&b, config, 40);
	ch = it_channel(&b);
	open0 = it_stats_sockets(ch);
	hit0 = limits_hit();
	if (!CHECK(open0 >= 0, "GetStats"))
		goto out;

	/* Eight sockets, distinct numbers. */
	for (i = 0; i < LIMIT; i++) {
		s[i] = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
		if (!CHECK(s[i] >= 0, "sb_socket %d of %d: %s %s", i + 1, LIMIT, strerror(errno),
			   it_sberr()))
			goto out;
		for (j = 0; j < i; j++)
			CHECK(s[j] != s[i], "sb_socket gave number %d twice", s[i]);
	}
	CHECK(it_stats_sockets(ch) == open0 + LIMIT, "sockets_open with 8 sockets: %lld",
	      (long long)it_stats_sockets(ch));

	/* The ninth: EMFILE, with the broker's message. */
	errno = 0;
	x = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	msg = it_sberr();
	CHECK(x == -1 && errno == EMFILE, "sb_socket %d: %d (%s), want -1 EMFILE", LIMIT + 1, x,
	      strerror(errno));
	CHECK(strstr(msg, "max_sockets_per_session") != NULL,
	      "sb_last_error() after the limit: \"%s\", want the limit's name", msg);
	errno = 0;
	CHECK(sb_socketpair(c, AF_UNIX, SOCK_STREAM, 0, sv) == -1 && errno == EMFILE,
	      "sb_socketpair at the limit: want -1 EMFILE, got %s", strerror(errno));
	CHECK(it_stats_sockets(ch) == open0 + LIMIT, "refused calls changed sockets_open: %lld",
	      (long long)it_stats_sockets(ch));

	/* The limit is per session: a raw session fills up alongside. */
	raw_limit(open0 + LIMIT);

	/* Close one: a pair (needs two) is still refused and keeps nothing. */
	CHECK(sb_close(c, s[3]) == 0, "sb_close: %s", strerror(errno));
	errno = 0;
	CHECK(sb_socketpair(c, AF_UNIX, SOCK_STREAM, 0, sv) == -1 && errno == EMFILE,
	      "sb_socketpair with one free place: want -1 EMFILE, got %s", strerror(errno));
	CHECK(it_stats_sockets(ch) == open0 + LIMIT - 1,
	      "the refused socketpair changed sockets_open: %lld, want %lld",
	      (long long)it_stats_sockets(ch), (long long)(open0 + LIMIT - 1));
	/* sb_socket works again, on the number just freed (lowest free). */
	x = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	CHECK(x == s[3], "sb_socket after sb_close: %d (%s), want number %d again", x,
	      strerror(errno), s[3]);
	if (x >= 0)
		s[3] = x;
	hit1 = limits_hit();
	CHECK(hit1 >= hit0 + 5, "limits_hit grew from %llu to %llu, want at least 5 more",
	      (unsigned long long)hit0, (unsigned long long)hit1);
	it_note("limits_hit %llu -> %llu", (unsigned long long)hit0, (unsigned long long)hit1);

	/* Accept when the session is full: EMFILE. Two places for a listener
	 * and a client socket, the session full again with them. */
	sb_close(c, s[0]);
	sb_close(c, s[1]);
	s[0] = s[1] = -1;
	l = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	len = it_addr4(&ss, "127.0.0.1", 0);
	if (CHECK(l >= 0 && sb_bind(c, l, (struct sockaddr *)&ss, len) == 0 &&
		  sb_listen(c, l, 4) == 0, "listener: %s %s", strerror(errno), it_sberr())) {
		len = sizeof(ss);
		sb_getsockname(c, l, (struct sockaddr *)&ss, &len);
		cl = sb_socket(c, AF_INET, SOCK_STREAM, 0);
		CHECK(cl >= 0, "the eighth socket: %s", strerror(errno));
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&ss, len) == 0,
		      "native connect to the broker's listener: %s", strerror(errno));
		errno = 0;
		x = sb_accept(c, l, NULL, NULL);
		CHECK(x == -1 && errno == EMFILE, "sb_accept with the session full: %d (%s), "
		      "want -1 EMFILE", x, strerror(errno));
		CHECK(it_stats_sockets(ch) == open0 + LIMIT, "the refused accept changed "
		      "sockets_open: %lld", (long long)it_stats_sockets(ch));
		/* As accept(2) with EMFILE, the connection stays queued: the
		 * peer sees nothing, and a later accept with room gets it. */
		r = it_read_some(fd, buf, sizeof(buf), 200);
		CHECK(r < 0, "the refused accept closed the pending connection "
		      "(native peer read %zd)", r);
		if (cl >= 0)
			sb_close(c, cl);
		x = sb_accept(c, l, NULL, NULL);
		CHECK(x >= 0, "sb_accept with room again: %s %s", strerror(errno), it_sberr());
		if (x >= 0)
			sb_close(c, x);
		sb_close(c, l);
	}
	if (fd >= 0)
		close(fd);
	for (i = 0; i < LIMIT; i++)
		if (s[i] >= 0)
			CHECK(sb_close(c, s[i]) == 0, "sb_close %d: %s", s[i], strerror(errno));
	CHECK(it_stats_sockets(ch) == open0, "sockets_open at the end: %lld, want %lld",
	      (long long)it_stats_sockets(ch), (long long)open0);
out:
	grpc_channel_destroy(ch);
	return it_teardown(&b, c);
}
