/* SPDX-License-Identifier: MIT
 * it_handoff.c - fd hand-off (server/handoff.c, server/ops_handoff.c,
 * client/handoff.c): real fds from a real broker over the side channel.
 *
 * One broker: its Unix listener (opened to every uid so that the policy
 * decides), an insecure loopback TCP listener; policy: root allow, uid
 * 65534 socket/connect/resolve to 127.0.0.1 but not handoff, anyone else
 * resolve only. Root checks:
 *  - sb_tcp_connect_fd, sb_handoff (of a Dial'd socket), sb_accept_fd and
 *    sb_accept_loop_fd give fds that are sockets (fstat), close-on-exec,
 *    peer = the server, with O_NONBLOCK as asked, and bytes move both ways
 *    with plain read/write; a handed socket's number is gone (EBADF) and the
 *    broker's socket count is back where it was;
 *  - accept batches: 40 queued connections reach sb_accept_loop_fd's
 *    callback in connect order with the right peers; the ones after the
 *    callback stopped end (closed by the loop or reset with the
 *    listener), and the broker has no more open fds than before;
 *  - an unconnected TCP socket and a UDP socket are EINVAL and stay usable;
 *  - tickets over the raw channel protocol: the first use binds (errno 0),
 *    a replay is refused, a second channel for a session is refused, a
 *    ticket of an ended session is refused;
 *  - a session over TCP gets EOPNOTSUPP, the message says why;
 *  - a client SIGKILLed while it hands fds off in a loop leaves nothing:
 *    sessions, sockets and the broker's open fds go back to where they were.
 * Uid 65534 (a child) checks: a ticket of root's session is refused, for
 * a hand-off and for a dial channel (EACCES);
 * sb_handoff and sb_tcp_connect_fd are EACCES by policy, the socket stays.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it_client.h"

#define HELLO_MAGIC "SBHOFF01"
#define DIAL_MAGIC "SBDIAL01"

static struct it_broker b;

/* A hand-off channel's hello with @ticket: it_side_present(). */
static int present(const char *sock, const uint8_t *ticket, int *keep)
{
	return it_side_present(sock, HELLO_MAGIC, ticket, keep);
}

/* @fd is a socket, close-on-exec, its O_NONBLOCK is @nonblock, its peer
 * is @peer, and one byte goes each way through @other (the far end). */
static void check_fd(int fd, int other, const struct sockaddr_storage *peer,
		     int nonblock, const char *what)
{
	struct sockaddr_storage got;
	socklen_t len = sizeof(got);
	struct stat st;
	char x = 'x', y = 0;

	if (!CHECK(fd >= 0, "%s: no fd: %s (%s)", what, strerror(errno), it_sberr()))
		return;
	CHECK(fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode), "%s: not a socket", what);
	CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC, "%s: not close-on-exec", what);
	CHECK(!!(fcntl(fd, F_GETFL) & O_NONBLOCK) == nonblock, "%s: O_NONBLOCK is not %d",
	      what, nonblock);
	if (peer) {
		CHECK(getpeername(fd, (struct sockaddr *)&got, &len) == 0 &&
		      it_port(&got) == it_port(peer), "%s: peer is not the server", what);
	}
	CHECK(write(fd, &x, 1) == 1 && it_read_full(other, &y, 1, 3000) == 0 && y == 'x',
	      "%s: the byte did not reach the far end", what);
	y = 0;
	CHECK(write(other, "z", 1) == 1 && it_read_full(fd, &y, 1, 3000) == 0 && y == 'z',
	      "%s: the far end's byte did not come back", what);
}

static uint64_t sockets_open(grpc_channel *ch)
{
	Sockbroker__V1__GetStatsReply *st = it_stats(ch);
	uint64_t n = st ? st->sockets_open + (st->sessions_open << 32) : UINT64_MAX;

	if (st)
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	return n;
}

static int accept_one(sb_client *c, int s, const struct sockaddr *peer,
		      socklen_t len, void *arg)
{
	(void)c;
	(void)peer;
	(void)len;
	*(int *)arg = s;
	return 1;
}

#define BATCH_CONNS 40   /* queued at once: more than one broker batch (32) */
#define BATCH_TAKE 36    /* the callback stops at this one */

struct batch_seen {
	int fd[BATCH_CONNS];
	uint16_t peer_port[BATCH_CONNS];  /* as the callback was told */
	int n;
};

static int accept_batch(sb_client *c, int s, const struct sockaddr *peer,
			socklen_t len, void *arg)
{
	struct batch_seen *bs = arg;

	(void)c;
	bs->fd[bs->n] = s;
	bs->peer_port[bs->n] = len >= sizeof(struct sockaddr_in) &&
			       peer->sa_family == AF_INET ?
			       ntohs(((const struct sockaddr_in *)(const void *)peer)->sin_port) : 0;
	return ++bs->n == BATCH_TAKE;
}

/*
 * Accept batches: BATCH_CONNS connections queued before sb_accept_loop_fd
 * starts (so the broker takes them 32 and 8 at a time) reach the callback
 * one by one in connect order, each a real fd whose peer is the client
 * the callback was told of, with bytes moving; the ones after the
 * callback stopped are closed, not lost in the broker; the broker has no
 * more open fds than before.
 */
static void check_accept_batches(sb_client *c)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_storage la, ca;
	socklen_t ll = sizeof(la), cl;
	struct batch_seen seen = { .n = 0 };
	const char *how[BATCH_CONNS - BATCH_TAKE];
	int cfd[BATCH_CONNS], s, i, fds0, rc;
	int64_t end;

	fds0 = it_count_fds(b.pid);
	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (!CHECK(sb_bind(c, s, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
		   sb_listen(c, s, 64) == 0 &&
		   sb_getsockname(c, s, (struct sockaddr *)&la, &ll) == 0, "batch listener"))
		return;
	for (i = 0; i < BATCH_CONNS; i++) {
		cfd[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CHECK(connect(cfd[i], (struct sockaddr *)&la, ll) == 0, "connect %d", i);
	}
	rc = sb_accept_loop_fd(c, s, accept_batch, &seen);
	CHECK(rc == 1 && seen.n == BATCH_TAKE, "sb_accept_loop_fd: %d, %d delivered: %s %s",
	      rc, seen.n, strerror(errno), it_sberr());
	for (i = 0; i < seen.n; i++) {
		char what[48];

		/* The kernel's accept queue is FIFO: connection i is the i-th. */
		cl = sizeof(ca);
		CHECK(getsockname(cfd[i], (struct sockaddr *)&ca, &cl) == 0 &&
		      it_port(&ca) == seen.peer_port[i],
		      "batch: connection %d delivered out of order or with a wrong peer", i);
		snprintf(what, sizeof(what), "batch connection %d", i);
		check_fd(seen.fd[i], cfd[i], &ca, 0, what);
		close(seen.fd[i]);
	}
	/* The loop closed what it took but did not deliver; the broker's
	 * listener going resets whatever it never accepted. */
	CHECK(sb_close(c, s) == 0, "sb_close of the batch listener");
	it_wait_ends(cfd + BATCH_TAKE, BATCH_CONNS - BATCH_TAKE, 3000, how);
	for (i = 0; i < BATCH_CONNS - BATCH_TAKE; i++)
		CHECK(how[i] != NULL, "batch: undelivered connection %d never ended",
		      BATCH_TAKE + i);
	for (i = 0; i < BATCH_CONNS; i++)
		close(cfd[i]);
	end = it_now_ms() + 3000;
	while (it_count_fds(b.pid) > fds0 && it_now_ms() < end)
		it_sleep_ms(20);
	CHECK(it_count_fds(b.pid) <= fds0, "batch: broker fds %d, before %d",
	      it_count_fds(b.pid), fds0);
}

/* Child, root: hand fds off in a loop until killed (bounded: 20 s). */
static int child_loop(const char *target)
{
	struct sockaddr_storage a;
	socklen_t al;
	sb_client *c = sb_open(target);
	int lfd = it_native_listener(AF_INET, "127.0.0.1", &a, &al);
	char port[16];
	int64_t end = it_now_ms() + 20000;

	if (!c || lfd < 0)
		return 1;
	snprintf(port, sizeof(port), "%u", (unsigned)it_port(&a));
	while (it_now_ms() < end) {
		int fd = sb_tcp_connect_fd(c, "127.0.0.1", port, 2000);
		int pfd = it_native_accept(lfd, NULL, NULL, 2000);

		if (fd >= 0)
			close(fd);
		if (pfd >= 0)
			close(pfd);
	}
	return 0;
}

/* Child, uid 65534: a stolen ticket, and hand-off refused by policy. */
static int child_nobody(const char *target, const char *sock, const char *hex,
			const char *hex2, const char *port)
{
	uint8_t t[32], t2[32];
	sb_client *c;
	int i, s, fd;

	if (it_drop_privileges(IT_NOBODY, IT_NOBODY) < 0)
		return 1;
	for (i = 0; i < 32; i++) {
		sscanf(hex + 2 * i, "%2hhx", &t[i]);
		sscanf(hex2 + 2 * i, "%2hhx", &t2[i]);
	}
	CHECK(present(sock, t, NULL) == EACCES, "uid 65534 bound a channel with root's ticket");
	/* Root's session t2 has its hand-off channel: a dial channel would
	 * dial as root. */
	CHECK(it_side_present(sock, DIAL_MAGIC, t2, NULL) == EACCES,
	      "uid 65534 bound a dial channel with root's ticket");
	c = sb_open(target);
	if (!CHECK(c != NULL, "uid 65534: sb_open: %s", strerror(errno)))
		return it_result();
	s = sb_tcp_connect(c, "127.0.0.1", port, NULL, NULL, 3000);
	if (CHECK(s >= 0, "uid 65534: sb_tcp_connect: %s %s", strerror(errno), it_sberr())) {
		fd = sb_handoff(c, s);
		CHECK(fd < 0 && errno == EACCES, "uid 65534: sb_handoff: %d %s (want EACCES)",
		      fd, strerror(errno));
		CHECK(sb_close(c, s) == 0, "uid 65534: the refused socket is gone");
	}
	fd = sb_tcp_connect_fd(c, "127.0.0.1", port, 3000);
	CHECK(fd < 0 && errno == EACCES, "uid 65534: sb_tcp_connect_fd: %d %s (want EACCES)",
	      fd, strerror(errno));
	sb_close_client(c);
	return it_result();
}

int main(int argc, char **argv)
{
	struct sockaddr_storage a, peer;
	socklen_t al, pl = sizeof(peer);
	struct it_session rs, rs2;
	grpc_channel *ch;
	uint8_t t[32];
	char port[16], hex[65], hex2[65], cfg[1024], tcp[64];
	sb_client *c, *ct;
	uint64_t base;
	int lfd, s, fd, pfd, kept = -1, i, st, fds0;
	pid_t pid;

	if (argc == 3 && !strcmp(argv[1], "--loop"))
		return child_loop(argv[2]);
	if (argc == 7 && !strcmp(argv[1], "--as-nobody"))
		return child_nobody(argv[2], argv[3], argv[4], argv[5], argv[6]);

	snprintf(cfg, sizeof(cfg),
		 "listen:\n"
		 "  - tcp: \"127.0.0.1:0\"\n"
		 "    insecure: true\n"
		 "policy:\n"
		 "  - name: root\n"
		 "    match: { uid: 0 }\n"
		 "    action: allow\n"
		 "  - name: nobody-no-handoff\n"
		 "    match: { uid: %d }\n"
		 "    action: allow\n"
		 "    ops: [socket, connect, resolve]\n"
		 "    destinations: [127.0.0.1/32]\n"
		 "  - name: anyone\n"
		 "    match: { any: true }\n"
		 "    action: allow\n"
		 "    ops: [resolve]\n", IT_NOBODY);
	c = it_setup(&b, cfg, 90);
	if (chmod(b.dir, 0755) < 0 || chmod(b.sock, 0666) < 0)
		CHECK(0, "chmod %s: %s", b.sock, strerror(errno));
	ch = it_channel(&b);
	lfd = it_native_listener(AF_INET, "127.0.0.1", &a, &al);
	snprintf(port, sizeof(port), "%u", (unsigned)it_port(&a));
	base = sockets_open(ch);

	/* Dial with the hand-off flag: one round trip to a connected fd. */
	fd = sb_tcp_connect_fd(c, "127.0.0.1", port, 3000);
	pfd = it_native_accept(lfd, NULL, NULL, 3000);
	check_fd(fd, pfd, &a, 0, "sb_tcp_connect_fd");
	close(fd);
	close(pfd);

	/* sb_handoff of a connected socket; the number is gone after. */
	s = sb_tcp_connect(c, "127.0.0.1", port, NULL, NULL, 3000);
	pfd = it_native_accept(lfd, NULL, NULL, 3000);
	CHECK(sb_set_nonblock(c, s, 1) == 0, "sb_set_nonblock");
	fd = sb_handoff(c, s);
	check_fd(fd, pfd, &a, 1, "sb_handoff");
	CHECK(sb_close(c, s) < 0 && errno == EBADF, "the handed number is still open");
	close(fd);
	close(pfd);
	CHECK(sockets_open(ch) == base, "the broker still counts a handed socket");

	/* Unconnected and datagram sockets are refused and stay usable. */
	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	fd = sb_handoff(c, s);
	CHECK(fd < 0 && errno == EINVAL, "unconnected TCP: %d %s (want EINVAL)", fd,
	      strerror(errno));
	CHECK(strstr(it_sberr(), "connected"), "message: %s", it_sberr());
	CHECK(sb_close(c, s) == 0, "the refused TCP socket stays open");
	s = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	fd = sb_handoff(c, s);
	CHECK(fd < 0 && errno == EINVAL, "UDP: %d %s (want EINVAL)", fd, strerror(errno));
	CHECK(sb_close(c, s) == 0, "the refused UDP socket stays open");

	/* Accept with hand-off, unary (non-blocking as asked) and the loop. */
	{
		struct sockaddr_in sin = { .sin_family = AF_INET,
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		struct sockaddr_storage la;
		socklen_t ll = sizeof(la);
		int cfd;

		s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
		CHECK(sb_bind(c, s, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
		      sb_listen(c, s, 8) == 0 &&
		      sb_getsockname(c, s, (struct sockaddr *)&la, &ll) == 0, "listener");
		cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CHECK(connect(cfd, (struct sockaddr *)&la, ll) == 0, "connect");
		fd = sb_accept_fd(c, s, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK);
		check_fd(fd, cfd, NULL, 1, "sb_accept_fd");
		close(fd);
		close(cfd);
		cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CHECK(connect(cfd, (struct sockaddr *)&la, ll) == 0, "connect");
		fd = -1;
		CHECK(sb_accept_loop_fd(c, s, accept_one, &fd) == 1, "sb_accept_loop_fd: %s %s",
		      strerror(errno), it_sberr());
		check_fd(fd, cfd, NULL, 0, "sb_accept_loop_fd");
		close(fd);
		close(cfd);
		/* The listener itself: the loop's stream lets it go once the
		 * broker has seen the stream end (EBUSY until then). */
		{
			int64_t end = it_now_ms() + 3000;

			while ((fd = sb_handoff(c, s)) < 0 && errno == EBUSY &&
			       it_now_ms() < end)
				it_sleep_ms(20);
		}
		CHECK(fd >= 0, "listening socket: %s %s", strerror(errno), it_sberr());
		cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CHECK(connect(cfd, (struct sockaddr *)&la, ll) == 0, "connect");
		pfd = fd >= 0 ? it_native_accept(fd, NULL, NULL, 3000) : -1;
		CHECK(pfd >= 0, "native accept on the handed listener");
		close(pfd);
		close(cfd);
		close(fd);
	}
	CHECK(sockets_open(ch) == base, "the broker still counts handed sockets");
	check_accept_batches(c);
	CHECK(sockets_open(ch) == base, "the broker still counts batch sockets");

	/* Tickets over the raw protocol. */
	if (CHECK(it_session_open(ch, &rs, 3000) == 0 && it_session_open(ch, &rs2, 3000) == 0,
		  "raw sessions")) {
		CHECK(it_ticket(ch, &rs, t) == 0, "HandoffTicket");
		CHECK(present(b.sock, t, &kept) == 0, "a fresh ticket was refused");
		CHECK(present(b.sock, t, NULL) != 0, "a replayed ticket was accepted");
		CHECK(it_ticket(ch, &rs, t) == 0, "HandoffTicket");
		CHECK(present(b.sock, t, NULL) == EBUSY, "a second channel was accepted");
		CHECK(it_ticket(ch, &rs2, t) == 0, "HandoffTicket");
		for (i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", t[i]);
		CHECK(it_ticket(ch, &rs, t) == 0, "HandoffTicket");
		for (i = 0; i < 32; i++)
			snprintf(hex2 + 2 * i, 3, "%02x", t[i]);
		{
			char *args[] = { argv[0], "--as-nobody", b.target, b.sock, hex, hex2, port,
					 NULL };

			st = it_run_self(args, 30000);
			CHECK(st == 0, "the uid 65534 part failed (status 0x%x)", (unsigned)st);
		}
		CHECK(it_ticket(ch, &rs, t) == 0, "HandoffTicket");
		it_session_close(&rs2);
		it_session_close(&rs);
		it_sleep_ms(100);
		CHECK(present(b.sock, t, NULL) != 0, "a ticket of an ended session was accepted");
		if (kept >= 0) {
			char x;

			CHECK(it_read_some(kept, &x, 1, 3000) == 0,
			      "the channel did not close with its session");
			close(kept);
		}
	}

	/* A session over TCP cannot receive fds. */
	snprintf(tcp, sizeof(tcp), "127.0.0.1:%u", it_broker_tcp_port(&b));
	ct = sb_open(tcp);
	if (CHECK(ct != NULL, "sb_open(%s): %s", tcp, strerror(errno))) {
		fd = sb_tcp_connect_fd(ct, "127.0.0.1", port, 3000);
		CHECK(fd < 0 && errno == EOPNOTSUPP && strstr(it_sberr(), "file descriptors"),
		      "TCP session: %d %s (%s)", fd, strerror(errno), it_sberr());
		sb_close_client(ct);
	}

	/* SIGKILL mid-hand-off leaves nothing behind. */
	it_sleep_ms(300);
	base = sockets_open(ch);
	fds0 = it_count_fds(b.pid);
	{
		char *args[] = { argv[0], "--loop", b.target, NULL };

		pid = it_spawn_self(args);
	}
	if (CHECK(pid > 0, "spawn")) {
		int64_t end;

		it_sleep_ms(500);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		end = it_now_ms() + 5000;
		while (it_now_ms() < end &&
		       (sockets_open(ch) != base || it_count_fds(b.pid) != fds0))
			it_sleep_ms(50);
		CHECK(sockets_open(ch) == base, "sessions/sockets not back after SIGKILL");
		CHECK(it_count_fds(b.pid) == fds0, "broker fds %d, before %d", it_count_fds(b.pid),
		      fds0);
	}
	close(lfd);
	grpc_channel_destroy(ch);
	return it_teardown(&b, c);
}
