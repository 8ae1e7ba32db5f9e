/* SPDX-License-Identifier: MIT
 * it_stream_cancel.c - an AcceptStream cancelled midway frees what the
 * caller never saw.
 *
 * Five native clients connect to a broker listener; then sb_accept_loop()
 * runs and its callback stops it (returns non-zero) on the first
 * connection. The broker may have accepted more of the five meanwhile and
 * sent their handles down the stream, but the caller never got them: once
 * the loop has returned, sockets_open must be the baseline + 2 (the
 * listener and the one socket the callback got) within 3 s. That socket
 * works (data reaches its native client). After sb_close of both,
 * sockets_open is back at the baseline and every native client sees EOF or
 * a reset within 3 s. The same again over two listeners with
 * sb_accept_loop_many() (baseline + 3). Each case runs on a client of its
 * own; at the end both sessions are gone and so is everything they held.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_client.h"

#define NCLI 5
#define STOP_VALUE 9

struct state {
	int calls;
	int s;
	struct sockaddr_storage peer;
	socklen_t peerlen;
};

static int on_accept(sb_client *c, int s, const struct sockaddr *peer, socklen_t peerlen,
		     void *arg)
{
	struct state *st = arg;

	st->calls++;
	if (!CHECK(st->calls == 1, "callback called %d times after asking to stop",
		   st->calls)) {
		sb_close(c, s);
		return STOP_VALUE;
	}
	st->s = s;
	st->peerlen = peerlen <= sizeof(st->peer) ? peerlen : 0;
	memcpy(&st->peer, peer, st->peerlen);
	return STOP_VALUE;
}

/* One case: @nl listeners (1: sb_accept_loop, 2: sb_accept_loop_many),
 * NCLI native clients queued on them round-robin, a callback that stops
 * at the first connection; on a client of its own. */
static void run_case(const struct it_broker *b, grpc_channel *ch, int nl)
{
	struct sockaddr_storage ss[2], local[NCLI];
	socklen_t len[2], llen[NCLI];
	struct state st = { 0, -1, { 0 }, 0 };
	int64_t open0, n;
	int fds[NCLI], l[2] = { -1, -1 }, i, rc, mine = -1, ended = 0;
	char what[32], a[128], buf[8];
	const char *how[NCLI];
	sb_client *c;

	snprintf(what, sizeof(what), "%s", nl == 1 ? "accept_loop" : "accept_loop_many");
	for (i = 0; i < NCLI; i++)
		fds[i] = -1;
	c = sb_open(b->target);
	if (!CHECK(c != NULL, "%s: sb_open: %s", what, strerror(errno)))
		return;
	open0 = it_stats_sockets(ch);
	if (!CHECK(open0 >= 0, "%s: GetStats", what))
		goto out;
	for (i = 0; i < nl; i++) {
		l[i] = sb_socket(c, AF_INET, SOCK_STREAM, 0);
		len[i] = it_addr4(&ss[i], "127.0.0.1", 0);
		if (!CHECK(l[i] >= 0, "%s: sb_socket: %s %s", what, strerror(errno), it_sberr()) ||
		    !CHECK(sb_bind(c, l[i], (struct sockaddr *)&ss[i], len[i]) == 0 &&
			   sb_listen(c, l[i], 16) == 0, "%s: sb_bind/sb_listen: %s %s", what,
			   strerror(errno), it_sberr()))
			goto out;
		len[i] = sizeof(ss[i]);
		sb_getsockname(c, l[i], (struct sockaddr *)&ss[i], &len[i]);
	}

	/* The connections wait in the listeners' queues. */
	for (i = 0; i < NCLI; i++) {
		int k = i % nl;

		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (!CHECK(fds[i] >= 0 && connect(fds[i], (struct sockaddr *)&ss[k], len[k]) == 0,
			   "%s: native connect %d: %s", what, i, strerror(errno)))
			goto out;
		llen[i] = sizeof(local[i]);
		getsockname(fds[i], (struct sockaddr *)&local[i], &llen[i]);
	}

	rc = nl == 1 ? sb_accept_loop(c, l[0], on_accept, &st)
		     : sb_accept_loop_many(c, l, (size_t)nl, on_accept, &st);
	CHECK(rc == STOP_VALUE, "%s returned %d (%s %s), want %d", what, rc, strerror(errno),
	      it_sberr(), STOP_VALUE);
	if (!CHECK(st.calls == 1 && st.s >= 0, "%s: the callback got %d connections", what,
		   st.calls))
		goto out;
	for (i = 0; i < NCLI; i++)
		if (st.peerlen == llen[i] && !memcmp(&st.peer, &local[i], llen[i]))
			mine = i;
	CHECK(mine >= 0, "%s: the callback's peer %s is none of the native clients", what,
	      it_addr_str((struct sockaddr *)&st.peer, st.peerlen, a, sizeof(a)));

	/* Only the listeners and the socket the callback got are left. */
	n = it_wait_sockets(ch, open0 + nl + 1, 3000);
	CHECK(n == open0 + nl + 1, "%s: after the cancelled loop: sockets_open %lld, want "
	      "%lld (%d listener(s) + the one accepted socket the callback got): the broker "
	      "keeps %lld accepted socket(s) the caller never saw", what, (long long)n,
	      (long long)(open0 + nl + 1), nl, (long long)(n - open0 - nl - 1));

	/* The socket the callback got is live. */
	if (mine >= 0)
		CHECK(it_sb_send_all(c, st.s, "live", 4, 3000) == 0 &&
		      it_read_full(fds[mine], buf, 4, 3000) == 0 && !memcmp(buf, "live", 4),
		      "%s: the accepted socket does not reach its native client: %s", what,
		      strerror(errno));

	/* Closing them: the baseline, and every client sees its end. */
	CHECK(sb_close(c, st.s) == 0, "%s: sb_close(accepted): %s", what, strerror(errno));
	for (i = 0; i < nl; i++) {
		CHECK(sb_close(c, l[i]) == 0, "%s: sb_close(listener): %s", what, strerror(errno));
		l[i] = -1;
	}
	n = it_wait_sockets(ch, open0, 3000);
	CHECK(n == open0, "%s: after sb_close of the listener(s) and the accepted socket: "
	      "sockets_open %lld, want the baseline %lld", what, (long long)n, (long long)open0);
	it_wait_ends(fds, NCLI, 3000, how);
	for (i = 0; i < NCLI; i++) {
		int ok = how[i] && (!strcmp(how[i], "EOF") || !strcmp(how[i], "ECONNRESET"));

		ended += ok;
		CHECK(ok, "%s: native client %d%s: %s within 3 s, want EOF or a reset", what, i,
		      i == mine ? " (the accepted one)" : "", how[i] ? how[i] : "nothing");
	}
	it_note("%s: %d of %d native clients saw their connection end", what, ended, NCLI);
out:
	for (i = 0; i < NCLI; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	for (i = 0; i < nl; i++)
		if (l[i] >= 0)
			sb_close(c, l[i]);
	sb_close_client(c);
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
	run_case(&b, ch, 1);
	run_case(&b, ch, 2);
	/* Whatever a case left, its session's end closed it. */
	n = it_wait_sockets(ch, open0, 3000);
	CHECK(n == open0, "after both sessions ended: sockets_open %lld, want %lld",
	      (long long)n, (long long)open0);
	grpc_channel_destroy(ch);
	return it_teardown(&b, c);
}
