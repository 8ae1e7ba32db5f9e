/* SPDX-License-Identifier: MIT
 * it_broker_restart.c - the broker restarts while a client is connected:
 * every call of the old session fails with ECONNRESET (sockbroker.h rule
 * 2), before and after the new broker is up, nothing hangs, and a new
 * sb_open() to the restarted broker works.
 *
 * Twice, once for a crash (SIGKILL) and once for a clean stop (SIGTERM):
 * a client with a UDP socket, a TCP listener, a Recv and an Accept parked
 * (no timeout) in two threads, and a RecvStream open. The broker is ended:
 * both parked calls return -1 ECONNRESET within 3 s, and so does a new
 * sb_socket() on the old client. The broker is started again on the same
 * path: sb_socket(), sb_send() on the old socket and the RecvStream's next
 * datagram all fail with ECONNRESET (not the EACCES a broker that does not
 * know the session answers) and say the session ended; calls that need no
 * session (gethostname) work on the old client once its channel has
 * reconnected (within 5 s); sb_close_client() of the
 * old client returns within 5 s; a new client gets a socket and echoes a
 * datagram.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_client.h"

struct parked {
	sb_client *c;
	int s;
	int accept;
	int rc;
	int err;
	int64_t done_ms;
	pthread_t th;
};

static void *park(void *arg)
{
	struct parked *p = arg;
	char buf[64];

	if (p->accept)
		p->rc = sb_accept(p->c, p->s, NULL, NULL);
	else
		p->rc = (int)sb_recv(p->c, p->s, buf, sizeof(buf), 0);
	p->err = errno;
	p->done_ms = it_now_ms();
	return NULL;
}

static int reset(const char *what, long rc, int err)
{
	return CHECK(rc < 0 && err == ECONNRESET, "%s on the old session: rc %ld errno %s "
		     "(%s); want -1 ECONNRESET", what, rc, strerror(err), it_sberr());
}

static void round_of(struct it_broker *b, int sig, const char *name)
{
	struct sockaddr_storage ss;
	struct parked pr = { .accept = 0 }, pa = { .accept = 1 };
	socklen_t len = it_addr4(&ss, "127.0.0.1", 0);
	char host[256], buf[64];
	sb_receiver *rx;
	sb_client *c, *n;
	int u, l, sv[2], s, r;
	int64_t t0;

	it_note("round: %s", name);
	c = sb_open(b->target);
	if (!CHECK(c != NULL, "sb_open: %s", it_sberr()))
		return;
	u = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	l = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	CHECK(u >= 0 && l >= 0 && sb_bind(c, u, (struct sockaddr *)&ss, len) == 0 &&
	      sb_bind(c, l, (struct sockaddr *)&ss, len) == 0 && sb_listen(c, l, 4) == 0 &&
	      sb_socketpair(c, AF_UNIX, SOCK_DGRAM, 0, sv) == 0, "sockets: %s", it_sberr());
	pr.c = pa.c = c;
	pr.s = u;
	pa.s = l;
	pthread_create(&pr.th, NULL, park, &pr);
	pthread_create(&pa.th, NULL, park, &pa);
	rx = sb_receiver_open(c, sv[0]);
	CHECK(rx != NULL, "RecvStream: %s", it_sberr());
	it_sleep_ms(300);	/* the calls are parked in the broker */

	/* The broker goes away. */
	kill(b->pid, sig);
	t0 = it_now_ms();
	pthread_join(pr.th, NULL);
	pthread_join(pa.th, NULL);
	reset("parked Recv", pr.rc, pr.err);
	reset("parked Accept", pa.rc, pa.err);
	CHECK(pr.done_ms - t0 < 3000 && pa.done_ms - t0 < 3000,
	      "parked calls returned after %lld / %lld ms; want < 3000",
	      (long long)(pr.done_ms - t0), (long long)(pa.done_ms - t0));
	r = it_broker_restart(b, sig);
	s = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	/* Until the new broker answers this is the lost connection; after,
	 * the broker that does not know the session: ECONNRESET both. */
	reset("Socket right after the broker ended", s, errno);
	if (!CHECK(r == 0, "the broker did not start again"))
		return;

	t0 = it_now_ms();
	s = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	reset("Socket on the restarted broker", s, errno);
	CHECK(strstr(it_sberr(), "session ended") != NULL, "the message says the session "
	      "ended: \"%s\"", it_sberr());
	reset("Send on an old socket", sb_send(c, u, "x", 1, 0), errno);
	reset("RecvStream's next", rx ? sb_receiver_next(rx, buf, sizeof(buf), NULL, NULL, 2000)
	      : -1, errno);
	CHECK(it_now_ms() - t0 < 5000, "the old session's calls took %lld ms",
	      (long long)(it_now_ms() - t0));
	/* The channel reconnects by itself (after gRPC's backoff, ~1 s). */
	t0 = it_now_ms();
	while ((r = sb_gethostname(c, host, sizeof(host))) < 0 && errno == ECONNRESET &&
	       it_now_ms() - t0 < 5000)
		it_sleep_ms(100);
	CHECK(r == 0, "gethostname (no session) on the old client: %s", it_sberr());
	sb_receiver_close(rx);
	t0 = it_now_ms();
	sb_close_client(c);
	CHECK(it_now_ms() - t0 < 5000, "sb_close_client of the old client took %lld ms",
	      (long long)(it_now_ms() - t0));

	n = sb_open(b->target);
	if (!CHECK(n != NULL, "sb_open to the restarted broker: %s", it_sberr()))
		return;
	CHECK(sb_socketpair(n, AF_UNIX, SOCK_DGRAM, 0, sv) == 0 &&
	      sb_send(n, sv[0], "ping", 4, 0) == 4 &&
	      sb_recv_timeout(n, sv[1], buf, sizeof(buf), 0, 2000) == 4,
	      "a new session on the restarted broker: %s", it_sberr());
	sb_close_client(n);
}

int main(void)
{
	struct it_broker b;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (it_broker_start(&b, NULL) < 0)
		return 1;
	it_watchdog(&b, 50);
	round_of(&b, SIGKILL, "crash (SIGKILL)");
	round_of(&b, SIGTERM, "clean stop (SIGTERM)");
	CHECK(it_broker_stop(&b) == 0, "the broker did not stop cleanly");
	return it_result();
}
