/* SPDX-License-Identifier: MIT
 * it_fd_exhaust.c - the broker out of file descriptors (EMFILE): every call
 * that would make a descriptor fails at once with RESOURCE_EXHAUSTED and
 * errno EMFILE, the sessions it already serves go on working, and the
 * same calls work again once descriptors are free.
 *
 * Two sessions (A, B) are opened and given sockets first; then the
 * broker's RLIMIT_NOFILE is lowered (prlimit on its pid) so that 6
 * descriptor numbers are free below it. Session A fills them with
 * sockets; then each of Socket, SocketPair, Accept (a connection queued
 * on A's listener), AcceptStream and Dial (to a native listener) fails
 * with EMFILE and a message that names the broker's descriptors (gRPC
 * status 8), within 2 s each; a first hand-off (its side connection
 * cannot be accepted, the broker drops it) fails with ECONNRESET (H2)
 * within 5 s. Session B meanwhile echoes over its UDP pair and GetStats
 * answers. A's sockets are closed: the queued connection is accepted,
 * Dial connects, the hand-off gives a working fd, and Socket works
 * again. The limit is restored and the broker's fd count ends where it
 * started.
 *
 * ENFILE (the host's fs.file-max) is not provoked: that table is the whole
 * machine's, shared with every other process on it, and cannot be lowered
 * for one process or namespace. The broker treats ENFILE exactly as
 * EMFILE (sb__op_out_of_fds()), so this case covers its code path.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_client.h"

#define SPARE 6
#define MAX_FILL 64

static int out_of_fds(const char *what, int rc, int64_t t0)
{
	const char *e = it_sberr();
	int64_t ms = it_now_ms() - t0;

	return CHECK(rc < 0 && errno == EMFILE && strstr(e, "file descriptors") &&
		     strstr(e, "gRPC status 8") && ms < 2000,
		     "%s with the broker out of fds: rc %d errno %s (%s) after %lld ms; want "
		     "-1 EMFILE, RESOURCE_EXHAUSTED naming the broker's descriptors, at once",
		     what, rc, strerror(errno), e, (long long)ms);
}

static int udp_echo(sb_client *c, const int sv[2], const char *what)
{
	char out[32], in[32];
	ssize_t n;

	snprintf(out, sizeof(out), "hello %s", what);
	if (sb_send(c, sv[0], out, strlen(out), 0) != (ssize_t)strlen(out))
		return 0;
	n = sb_recv_timeout(c, sv[1], in, sizeof(in), 0, 2000);
	return n == (ssize_t)strlen(out) && !memcmp(in, out, (size_t)n);
}

int main(void)
{
	struct it_broker b;
	struct sockaddr_storage ss, nat;
	socklen_t len, nlen;
	struct rlimit rl, saved;
	int fill[MAX_FILL], nfill = 0, i, fds0, high0, lim, l, pb[2], nl, cfd, s, rc, ho, hopeer,
	    herr;
	char port[16], host[] = "127.0.0.1";
	sb_client *a, *bc;
	grpc_channel *ch;
	sb_acceptor *acc;
	Sockbroker__V1__GetStatsReply *st;
	int64_t t0;

	a = it_setup(&b, NULL, 50);
	bc = sb_open(b.target);
	ch = it_channel(&b);
	if (!CHECK(bc != NULL, "second session: %s", it_sberr()))
		goto out;
	/* A: a listener; B: a datagram pair it keeps using. */
	len = it_addr4(&ss, host, 0);
	l = sb_socket(a, AF_INET, SOCK_STREAM, 0);
	CHECK(l >= 0 && sb_bind(a, l, (struct sockaddr *)&ss, len) == 0 &&
	      sb_listen(a, l, 8) == 0 && sb_getsockname(a, l, (struct sockaddr *)&ss, &len) == 0,
	      "A's listener: %s", it_sberr());
	CHECK(sb_socketpair(bc, AF_UNIX, SOCK_DGRAM, 0, pb) == 0, "B's pair: %s", it_sberr());
	nl = it_native_listener(AF_INET, host, &nat, &nlen);
	snprintf(port, sizeof(port), "%u", it_port(&nat));
	CHECK(udp_echo(bc, pb, "before"), "B's echo before the limit");
	/* A connected socket for a hand-off under exhaustion. */
	ho = sb_tcp_connect(a, host, port, NULL, NULL, 2000);
	hopeer = it_native_accept(nl, NULL, NULL, 2000);
	CHECK(ho >= 0 && hopeer >= 0, "a connected socket for the hand-off: %s", it_sberr());
	st = it_stats(ch);
	if (st)
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);

	fds0 = it_count_fds(b.pid);
	/* The limit that leaves SPARE numbers free below it (the broker may
	 * hold a few descriptors above it from before: they stay valid). */
	for (lim = SPARE; lim < 4096 && lim - it_count_fds_below(b.pid, lim) < SPARE; lim++) {
	}
	high0 = fds0 - it_count_fds_below(b.pid, lim);
	if (!CHECK(prlimit(b.pid, RLIMIT_NOFILE, NULL, &saved) == 0, "prlimit: %s",
		   strerror(errno)))
		goto out;
	rl = saved;
	rl.rlim_cur = (rlim_t)lim;
	if (!CHECK(prlimit(b.pid, RLIMIT_NOFILE, &rl, NULL) == 0, "prlimit: %s", strerror(errno)))
		goto out;
	it_note("broker holds %d fds (%d numbered %d or more); RLIMIT_NOFILE now %d", fds0,
		high0, lim, lim);

	/* Fill the table. */
	for (;;) {
		if (nfill == MAX_FILL)
			break;
		s = sb_socket(a, AF_INET, SOCK_DGRAM, 0);
		if (s < 0)
			break;
		fill[nfill++] = s;
	}
	CHECK(nfill <= SPARE, "made %d sockets with %d descriptor numbers free", nfill, SPARE);
	t0 = it_now_ms();
	out_of_fds("Socket", sb_socket(a, AF_INET, SOCK_STREAM, 0), t0);
	t0 = it_now_ms();
	{
		int sv[2];

		out_of_fds("SocketPair", sb_socketpair(a, AF_UNIX, SOCK_STREAM, 0, sv), t0);
	}
	/* A connection queued on A's listener cannot be accepted yet. */
	{
		struct sockaddr_storage ign;

		cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CHECK(cfd >= 0 && connect(cfd, (struct sockaddr *)&ss, len) == 0,
		      "native connect to A's listener: %s", strerror(errno));
		(void)ign;
	}
	t0 = it_now_ms();
	out_of_fds("Accept", sb_accept(a, l, NULL, NULL), t0);
	acc = sb_acceptor_open(a, l);
	t0 = it_now_ms();
	out_of_fds("AcceptStream", acc ? sb_acceptor_next(acc, NULL, NULL, 2000) : -1, t0);
	sb_acceptor_close(acc);
	t0 = it_now_ms();
	out_of_fds("Dial", sb_tcp_connect(a, host, port, NULL, NULL, 2000), t0);

	/* Hand-off: its first use opens a side connection, which the broker
	 * cannot accept now: a clear error, the socket stays in the broker. */
	t0 = it_now_ms();
	rc = sb_handoff(a, ho);
	herr = errno;
	CHECK(rc < 0 && it_now_ms() - t0 < 5000 && herr == ECONNRESET,
	      "hand-off with the broker out of fds: rc %d errno %s (%s) after %lld ms; want "
	      "-1 ECONNRESET (sockbroker.h H2: the channel broke) within 5 s", rc, strerror(herr), it_sberr(),
	      (long long)(it_now_ms() - t0));
	if (rc >= 0)
		close(rc);
	it_note("hand-off out of fds: %s (%s)", strerror(herr), it_sberr());

	/* B is served meanwhile. */
	CHECK(udp_echo(bc, pb, "during"), "B's echo with the broker out of fds: %s", it_sberr());
	st = it_stats(ch);
	CHECK(st != NULL, "GetStats with the broker out of fds");
	if (st) {
		it_note("out of fds: sockets_open %lld", (long long)st->sockets_open);
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	}
	CHECK(it_count_fds(b.pid) - it_count_fds_below(b.pid, lim) <= high0,
	      "the broker holds new fds numbered over its limit %d", lim);

	/* Free them: everything works again, under the same limit. */
	for (i = 0; i < nfill; i++)
		CHECK(sb_close(a, fill[i]) == 0, "close: %s", it_sberr());
	s = sb_accept(a, l, NULL, NULL);
	CHECK(s >= 0, "Accept of the queued connection after fds were freed: %s (%s)",
	      strerror(errno), it_sberr());
	if (s >= 0) {
		CHECK(sb_send(a, s, "x", 1, 0) == 1, "send on the accepted socket");
		{
			char c1;

			CHECK(it_read_full(cfd, &c1, 1, 2000) == 0 && c1 == 'x',
			      "native peer got the byte");
		}
		sb_close(a, s);
	}
	rc = sb_tcp_connect(a, host, port, NULL, NULL, 2000);
	CHECK(rc >= 0, "Dial after fds were freed: %s (%s)", strerror(errno), it_sberr());
	if (rc >= 0) {
		int nfd = it_native_accept(nl, NULL, NULL, 2000);

		CHECK(nfd >= 0, "the native listener saw the Dial");
		if (nfd >= 0)
			close(nfd);
		sb_close(a, rc);
	}
	rc = sb_handoff(a, ho);
	CHECK(rc >= 0, "hand-off after fds were freed: %s (%s)", strerror(errno), it_sberr());
	if (rc >= 0) {
		char c1 = 0;

		CHECK(write(rc, "h", 1) == 1 && it_read_full(hopeer, &c1, 1, 2000) == 0 &&
		      c1 == 'h', "the handed-off fd carries data");
		close(rc);
	}
	rc = sb_socket(a, AF_INET, SOCK_STREAM, 0);
	CHECK(rc >= 0, "Socket after fds were freed: %s", it_sberr());
	if (rc >= 0)
		sb_close(a, rc);
	CHECK(udp_echo(bc, pb, "after"), "B's echo after");

	CHECK(prlimit(b.pid, RLIMIT_NOFILE, &saved, NULL) == 0, "restore the limit");
	if (cfd >= 0)
		close(cfd);
	if (hopeer >= 0)
		close(hopeer);
	close(nl);
	{
		int64_t until = it_now_ms() + 3000;
		int n;

		while ((n = it_count_fds(b.pid)) > fds0 && it_now_ms() < until)
			it_sleep_ms(50);
		CHECK(n <= fds0, "broker fds %d at the end, %d before", n, fds0);
	}
out:
	grpc_channel_destroy(ch);
	if (bc)
		sb_close_client(bc);
	return it_teardown(&b, a);
}
