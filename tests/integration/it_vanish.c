/* SPDX-License-Identifier: MIT
 * it_vanish.c - clients that vanish mid-call and mid-stream leave nothing
 * behind, and a consumer that stops reading a stream costs the broker a
 * bounded amount of memory.
 *
 * Each case is a child process (this test run as `--child CASE TARGET`)
 * that reaches the named point, says so over a pipe, and is SIGKILLed:
 *  recv:    a Recv parked on an idle UDP socket;
 *  accept:  an AcceptStream waiting on a listener;
 *  rstream: a RecvStream while a native sender floods it with datagrams;
 *  pipe:    a Pipe on a TCP connection to a native peer, with data in
 *           flight both ways (the child writes 1 MiB chunks, the peer
 *           writes all the time).
 * Each case runs once unchecked (warm-up), then again checked: after each
 * kill, within 5 s, no session, socket or parked call in GetStats,
 * bytes_held 0, the broker's fds no more than before the case.
 *
 * Then a consumer that stops reading (this process): a RecvStream on a
 * UDP socket flooded with 20,000 datagrams of 1 KiB, and a RecvStream on
 * a TCP connection whose native peer writes (non-blocking) as long as the
 * kernel takes it, for 3 s; the client never calls next. bytes_held never
 * passes what the streams were charged when they started (2 x 1 MiB
 * each), the broker's RSS grows by less than 16 MiB, and the native
 * writer is held back (it gets less than 64 MiB in: the broker stops
 * reading). Closing the iterators frees it all (bytes_held 0).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it_client.h"

#define CHUNK (1 << 20)

static int say_ready(int fd)
{
	return write(fd, "r", 1) == 1 ? 0 : -1;
}

/* The child's part: get to the point, tell fd 3, wait to be killed. */
static int child(const char *which, const char *target)
{
	struct sockaddr_storage ss;
	socklen_t len = it_addr4(&ss, "127.0.0.1", 0);
	sb_client *c = sb_open(target);
	char buf[4096];
	int s;

	if (!c)
		return 2;
	s = sb_socket(c, AF_INET, !strcmp(which, "recv") || !strcmp(which, "rstream")
				  ? SOCK_DGRAM : SOCK_STREAM, 0);
	if (s < 0)
		return 3;
	if (!strcmp(which, "recv")) {
		if (sb_bind(c, s, (struct sockaddr *)&ss, len) < 0 || say_ready(3) < 0)
			return 4;
		(void)sb_recv(c, s, buf, sizeof(buf), 0);
	} else if (!strcmp(which, "accept")) {
		sb_acceptor *a;

		if (sb_bind(c, s, (struct sockaddr *)&ss, len) < 0 || sb_listen(c, s, 4) < 0)
			return 4;
		a = sb_acceptor_open(c, s);
		if (!a || say_ready(3) < 0)
			return 5;
		(void)sb_acceptor_next(a, NULL, NULL, 30000);
	} else if (!strcmp(which, "rstream")) {
		sb_receiver *r;
		char msg[64];

		len = sizeof(ss);
		if (sb_bind(c, s, (struct sockaddr *)&ss, len) < 0 ||
		    sb_getsockname(c, s, (struct sockaddr *)&ss, &len) < 0)
			return 4;
		r = sb_receiver_open(c, s);
		/* The parent floods this port. */
		snprintf(msg, sizeof(msg), "%u", it_port(&ss));
		if (!r || write(3, msg, strlen(msg)) < 0)
			return 5;
		for (;;)
			if (sb_receiver_next(r, buf, sizeof(buf), NULL, NULL, 30000) < 0)
				return 6;
	} else if (!strcmp(which, "pipe")) {
		const char *port = getenv("IT_VANISH_PORT");
		static char big[CHUNK];
		sb_pipe *p;
		int k;

		if (!port || sb_close(c, s) < 0)
			return 4;
		s = sb_tcp_connect(c, "127.0.0.1", port, NULL, NULL, 3000);
		p = s >= 0 ? sb_pipe_open(c, s) : NULL;
		if (!p)
			return 5;
		it_fill(big, sizeof(big), 7);
		for (k = 0; k < 4; k++)
			if (sb_pipe_write(p, big, sizeof(big)) < 0)
				return 6;
		if (say_ready(3) < 0)
			return 7;
		for (;;)
			if (sb_pipe_write(p, big, sizeof(big)) < 0)
				return 8;
	}
	sleep(30);
	return 9;
}

static int quiet(grpc_channel *ch, long long *held)
{
	Sockbroker__V1__GetStatsReply *st = it_stats(ch);
	int ok = st && st->sessions_open == 0 && st->sockets_open == 0 &&
		 st->waits_parked == 0 && st->bytes_held == 0;

	*held = st ? (long long)st->bytes_held : -1;
	if (st)
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	return ok;
}

static long rss_kib(pid_t pid)
{
	return it_proc_status(pid, "VmRSS:");
}

/* Run case @which in a child, kill it at its point, check the broker. */
static void one_case(struct it_broker *b, grpc_channel *ch, const char *self,
		     const char *which, int check)
{
	int rp[2], fds0, fds1, nl = -1, peer = -1, ufd = -1, k;
	struct sockaddr_storage nat;
	socklen_t nlen;
	char msg[32] = "", port[16];
	ssize_t n;
	long long held = -1;
	pid_t pid;
	int64_t until;

	fds0 = it_count_fds(b->pid);
	if (pipe2(rp, O_CLOEXEC) < 0)
		return;
	if (!strcmp(which, "pipe")) {
		nl = it_native_listener(AF_INET, "127.0.0.1", &nat, &nlen);
		snprintf(port, sizeof(port), "%u", it_port(&nat));
		setenv("IT_VANISH_PORT", port, 1);
	}
	pid = fork();
	if (pid == 0) {
		dup2(rp[1], 3);
		execl(self, self, "--child", which, b->target, (char *)NULL);
		_exit(127);
	}
	close(rp[1]);
	if (nl >= 0) {
		peer = it_native_accept(nl, NULL, NULL, 5000);
		if (peer >= 0)
			fcntl(peer, F_SETFL, O_NONBLOCK);
	}
	/* Wait for the point; the pipe peer writes (and drops what it reads)
	 * meanwhile, so data flows both ways when the kill comes. */
	until = it_now_ms() + 10000;
	n = 0;
	while (it_now_ms() < until) {
		static char junk[65536];
		struct pollfd p = { .fd = rp[0], .events = POLLIN };

		if (peer >= 0) {
			while (read(peer, junk, sizeof(junk)) > 0) {
			}
			(void)!write(peer, junk, sizeof(junk));
		}
		if (poll(&p, 1, 10) == 1) {
			n = read(rp[0], msg, sizeof(msg) - 1);
			break;
		}
	}
	if (!CHECK(n > 0, "case %s: the child did not reach its point", which)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		goto out;
	}
	msg[n] = 0;
	if (!strcmp(which, "rstream")) {
		struct sockaddr_storage to;
		socklen_t tl = it_addr4(&to, "127.0.0.1", (uint16_t)atoi(msg));
		char d[512] = { 0 };

		ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		for (k = 0; k < 2000 && ufd >= 0; k++)
			sendto(ufd, d, sizeof(d), 0, (struct sockaddr *)&to, tl);
	} else {
		it_sleep_ms(100);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	until = it_now_ms() + 5000;
	while (!quiet(ch, &held) && it_now_ms() < until)
		it_sleep_ms(50);
	until = it_now_ms() + 3000;
	while ((fds1 = it_count_fds(b->pid)) > fds0 && it_now_ms() < until)
		it_sleep_ms(50);
	if (!check)
		goto out;
	CHECK(quiet(ch, &held), "case %s: sessions, sockets, parked calls or bytes held "
	      "(%lld) left 5 s after the kill", which, held);
	CHECK(fds1 <= fds0, "case %s: broker fds %d after, %d before", which, fds1, fds0);
	it_note("case %s: killed at its point; fds %d -> %d, bytes_held %lld", which, fds0,
		fds1, held);
out:
	close(rp[0]);
	if (ufd >= 0)
		close(ufd);
	if (peer >= 0)
		close(peer);
	if (nl >= 0)
		close(nl);
}

static long long held_now(grpc_channel *ch)
{
	Sockbroker__V1__GetStatsReply *st = it_stats(ch);
	long long v = st ? (long long)st->bytes_held : -1;

	if (st)
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	return v;
}

/* A consumer that never reads its streams. */
static void stalled(struct it_broker *b, grpc_channel *ch)
{
	struct sockaddr_storage ss, nat;
	socklen_t len = it_addr4(&ss, "127.0.0.1", 0), nlen;
	sb_client *c = sb_open(b->target);
	sb_receiver *ru = NULL, *rt = NULL;
	static char d[65536];
	long rss0, rss1;
	long long held, held0, maxheld = 0, written = 0;
	int u, t, nl, peer = -1, ufd, k;
	int64_t until;

	if (!CHECK(c != NULL, "sb_open: %s", it_sberr()))
		return;
	rss0 = rss_kib(b->pid);
	u = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	CHECK(u >= 0 && sb_bind(c, u, (struct sockaddr *)&ss, len) == 0 &&
	      sb_getsockname(c, u, (struct sockaddr *)&ss, &len) == 0, "UDP: %s", it_sberr());
	nl = it_native_listener(AF_INET, "127.0.0.1", &nat, &nlen);
	t = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	CHECK(t >= 0 && sb_connect(c, t, (struct sockaddr *)&nat, nlen) == 0,
	      "TCP connect: %s", it_sberr());
	peer = it_native_accept(nl, NULL, NULL, 3000);
	CHECK(peer >= 0, "native accept");
	if (peer >= 0)
		fcntl(peer, F_SETFL, O_NONBLOCK);
	ru = sb_receiver_open(c, u);
	rt = sb_receiver_open(c, t);
	CHECK(ru && rt, "RecvStreams: %s", it_sberr());
	it_sleep_ms(200);
	held0 = held_now(ch);

	ufd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	until = it_now_ms() + 3000;
	for (k = 0; it_now_ms() < until; k++) {
		if (k < 20000)
			sendto(ufd, d, 1024, 0, (struct sockaddr *)&ss, len);
		if (peer >= 0 && written < (64LL << 20)) {
			ssize_t w = write(peer, d, sizeof(d));

			if (w > 0)
				written += w;
		}
		if (k % 500 == 0) {
			held = held_now(ch);
			if (held > maxheld)
				maxheld = held;
		}
		if (k >= 20000)
			it_sleep_ms(5);
	}
	held = held_now(ch);
	if (held > maxheld)
		maxheld = held;
	rss1 = rss_kib(b->pid);
	it_note("stalled consumer: bytes_held %lld when the streams started, max %lld while "
		"stalled; native writer got %lld bytes in, broker RSS %ld -> %ld KiB", held0,
		maxheld, written, rss0, rss1);
	/* Each stream is charged its worst case when it starts: its buffer
	 * and one message in flight, 2 x max_stream_bytes (1 MiB). */
	CHECK(held0 > 0 && held0 <= (4LL << 20) + (256 << 10) && maxheld <= held0,
	      "bytes_held %lld when the streams started, %lld with a stalled consumer; "
	      "want at most 2 x 2 x 1 MiB (+ headers), never more than at the start",
	      held0, maxheld);
	CHECK(written < (64LL << 20), "the broker kept reading for a consumer that does not "
	      "(%lld bytes taken)", written);
#ifndef __SANITIZE_ADDRESS__
	CHECK(rss1 - rss0 < 16 * 1024, "broker RSS grew %ld KiB with a stalled consumer",
	      rss1 - rss0);
#endif
	sb_receiver_close(ru);
	sb_receiver_close(rt);
	sb_close_client(c);
	until = it_now_ms() + 5000;
	while (held_now(ch) != 0 && it_now_ms() < until)
		it_sleep_ms(50);
	CHECK(held_now(ch) == 0, "bytes_held %lld after the streams closed", held_now(ch));
	close(ufd);
	if (peer >= 0)
		close(peer);
	close(nl);
}

int main(int argc, char **argv)
{
	static const char *const cases[] = { "recv", "accept", "rstream", "pipe" };
	struct it_broker b;
	grpc_channel *ch;
	size_t i;

	if (argc == 4 && !strcmp(argv[1], "--child"))
		return child(argv[2], argv[3]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (it_broker_start(&b, NULL) < 0)
		return 1;
	it_watchdog(&b, 55);
	ch = it_channel(&b);
	/* Each case once unchecked first: what gRPC makes once under such
	 * load (and keeps: a descriptor of its pollers, seen once) is there
	 * before counting. */
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		one_case(&b, ch, argv[0], cases[i], 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		one_case(&b, ch, argv[0], cases[i], 1);
	stalled(&b, ch);
	grpc_channel_destroy(ch);
	CHECK(it_broker_stop(&b) == 0, "the broker did not stop cleanly");
	return it_result();
}
