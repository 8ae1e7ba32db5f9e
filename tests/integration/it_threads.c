/* SPDX-License-Identifier: MIT
 * it_threads.c - one sb_client shared by four threads (libsockbroker rule
 * 5). Each thread runs 200 iterations of sb_socket, sb_bind to 127.0.0.1
 * port 0, sb_connect to its own native loopback listener, sb_send of 64
 * bytes that name the thread and the iteration, sb_recv of the native
 * peer's echo, sb_close; every fourth iteration it also holds a UDP socket
 * meanwhile. Checked:
 *  - every call succeeds and every echo is the thread's own bytes;
 *  - socket numbers stay distinct while open: a number is never handed to
 *    one thread while another still holds it (an ownership table, cleared
 *    just before sb_close);
 *  - the whole run is bounded (40 s, and each native wait 10 s);
 *  - afterwards GetStats sockets_open is back to the baseline and no call
 *    of the run failed in the broker (calls_failed unchanged).
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_client.h"

#define NTHREADS 4
#define ITERS 200
#define MSG 64
#define MAXNUM 4096
#define RUN_MS 40000

struct worker {
	int id;
	int lfd;
	struct sockaddr_storage to;
	socklen_t tolen;
	pthread_t t, echo;
	int done;		/* iterations completed */
	int echo_done;		/* connections the echo peer served */
};

static sb_client *c;
static int64_t deadline;
static pthread_mutex_t own_lock = PTHREAD_MUTEX_INITIALIZER;
static int owner[MAXNUM];	/* socket number -> thread id + 1, 0: free */

static int claim(int id, int s)
{
	int prev;

	if (!CHECK(s >= 0 && s < MAXNUM, "thread %d: socket number %d out of range", id, s))
		return 0;
	pthread_mutex_lock(&own_lock);
	prev = owner[s];
	if (!prev)
		owner[s] = id + 1;
	pthread_mutex_unlock(&own_lock);
	return CHECK(!prev, "thread %d got socket number %d while thread %d still holds it", id,
		     s, prev - 1);
}

static void release(int id, int s)
{
	pthread_mutex_lock(&own_lock);
	if (s >= 0 && s < MAXNUM && owner[s] == id + 1)
		owner[s] = 0;
	pthread_mutex_unlock(&own_lock);
}

/* The native peer: accept, echo MSG bytes, wait for the client's close. */
static void *echo_main(void *arg)
{
	struct worker *w = arg;
	unsigned char buf[MSG];
	int i;

	for (i = 0; i < ITERS && it_now_ms() < deadline; i++) {
		int fd = it_native_accept(w->lfd, NULL, NULL, 10000);
		ssize_t r;

		if (fd < 0)
			break;
		if (it_read_full(fd, buf, MSG, 10000) < 0 || it_write_full(fd, buf, MSG) < 0) {
			close(fd);
			break;
		}
		r = it_read_some(fd, buf, 1, 10000);
		close(fd);
		if (r != 0)
			break;
		w->echo_done++;
	}
	return NULL;
}

static int one_iteration(struct worker *w, int i)
{
	unsigned char out[MSG], in[MSG];
	struct sockaddr_storage ss;
	socklen_t len;
	int s, d = -1, ok = 0;

	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (!CHECK(s >= 0, "thread %d iteration %d: sb_socket: %s %s", w->id, i, strerror(errno),
		   it_sberr()))
		return 0;
	if (!claim(w->id, s))
		goto out;
	if (i % 4 == 0) {
		d = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
		if (!CHECK(d >= 0, "thread %d iteration %d: sb_socket UDP: %s", w->id, i,
			   strerror(errno)) || !claim(w->id, d))
			goto out;
	}
	len = it_addr4(&ss, "127.0.0.1", 0);
	if (!CHECK(sb_bind(c, s, (struct sockaddr *)&ss, len) == 0,
		   "thread %d iteration %d: sb_bind: %s %s", w->id, i, strerror(errno), it_sberr()))
		goto out;
	if (!CHECK(sb_connect(c, s, (struct sockaddr *)&w->to, w->tolen) == 0,
		   "thread %d iteration %d: sb_connect: %s %s", w->id, i, strerror(errno),
		   it_sberr()))
		goto out;
	it_fill(out, MSG, (unsigned)(w->id * 100000 + i));
	out[0] = (unsigned char)w->id;
	out[1] = (unsigned char)i;
	if (!CHECK(it_sb_send_all(c, s, out, MSG, 10000) == 0,
		   "thread %d iteration %d: sb_send: %s %s", w->id, i, strerror(errno), it_sberr()))
		goto out;
	memset(in, 0, sizeof(in));
	if (!CHECK(it_sb_recv_all(c, s, in, MSG, 10000) == 0,
		   "thread %d iteration %d: sb_recv: %s %s", w->id, i, strerror(errno), it_sberr()))
		goto out;
	ok = CHECK(!memcmp(in, out, MSG), "thread %d iteration %d: the echo is not this thread's "
		   "data (got thread %d iteration %d)", w->id, i, in[0], in[1]);
out:
	if (d >= 0) {
		release(w->id, d);
		if (!CHECK(sb_close(c, d) == 0, "thread %d: sb_close UDP %d: %s", w->id, d,
			   strerror(errno)))
			ok = 0;
	}
	release(w->id, s);
	if (!CHECK(sb_close(c, s) == 0, "thread %d iteration %d: sb_close %d: %s", w->id, i, s,
		   strerror(errno)))
		ok = 0;
	return ok;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < ITERS; i++) {
		if (!CHECK(it_now_ms() < deadline, "thread %d: out of time after %d iterations",
			   w->id, i))
			break;
		if (!one_iteration(w, i))
			break;
		w->done++;
	}
	return NULL;
}

int main(void)
{
	Sockbroker__V1__GetStatsReply *st0, *st1;
	struct worker w[NTHREADS];
	struct it_broker b;
	grpc_channel *ch;
	int started[NTHREADS] = { 0 }, echo_started[NTHREADS] = { 0 };
	int64_t t0;
	int i;

	c = it_setup(&b, NULL, 55);
	ch = it_channel(&b);
	st0 = it_stats(ch);
	if (!CHECK(st0 != NULL, "GetStats before"))
		goto out;
	memset(w, 0, sizeof(w));
	t0 = it_now_ms();
	deadline = t0 + RUN_MS;
	for (i = 0; i < NTHREADS; i++) {
		w[i].id = i;
		w[i].lfd = it_native_listener(AF_INET, "127.0.0.1", &w[i].to, &w[i].tolen);
		if (!CHECK(w[i].lfd >= 0, "native listener %d", i))
			continue;
		echo_started[i] = pthread_create(&w[i].echo, NULL, echo_main, &w[i]) == 0;
		if (CHECK(echo_started[i], "pthread_create echo"))
			started[i] = pthread_create(&w[i].t, NULL, worker_main, &w[i]) == 0;
		CHECK(started[i], "pthread_create worker %d", i);
	}
	for (i = 0; i < NTHREADS; i++) {
		if (started[i])
			pthread_join(w[i].t, NULL);
		if (echo_started[i])
			pthread_join(w[i].echo, NULL);
		if (w[i].lfd >= 0)
			close(w[i].lfd);
		CHECK(w[i].done == ITERS, "thread %d completed %d of %d iterations", i, w[i].done,
		      ITERS);
		CHECK(w[i].echo_done == w[i].done, "native peer %d served %d connections, want %d",
		      i, w[i].echo_done, w[i].done);
	}
	it_note("%d threads x %d iterations in %lld ms", NTHREADS, ITERS,
		(long long)(it_now_ms() - t0));
	for (i = 0; i < MAXNUM; i++)
		CHECK(owner[i] == 0, "socket number %d still marked held", i);

	st1 = it_stats(ch);
	if (CHECK(st1 != NULL, "GetStats after")) {
		CHECK(st1->sockets_open == st0->sockets_open,
		      "sockets_open after the run: %llu, want the baseline %llu",
		      (unsigned long long)st1->sockets_open,
		      (unsigned long long)st0->sockets_open);
		CHECK(st1->sockets_total - st0->sockets_total ==
			      (uint64_t)(NTHREADS * (ITERS + ITERS / 4)),
		      "sockets_total grew by %llu, want %d",
		      (unsigned long long)(st1->sockets_total - st0->sockets_total),
		      NTHREADS * (ITERS + ITERS / 4));
		CHECK(st1->calls_failed == st0->calls_failed,
		      "%llu calls failed in the broker during the run",
		      (unsigned long long)(st1->calls_failed - st0->calls_failed));
		sockbroker__v1__get_stats_reply__free_unpacked(st1, NULL);
	}
	sockbroker__v1__get_stats_reply__free_unpacked(st0, NULL);
	/* The client is still fine for a single thread. */
	i = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	CHECK(i == 3, "sb_socket after the run: %d (%s), want 3 (lowest free)", i,
	      strerror(errno));
	if (i >= 0)
		sb_close(c, i);
out:
	grpc_channel_destroy(ch);
	return it_teardown(&b, c);
}
