/* SPDX-License-Identifier: MIT
 * it_dial_channel.c - the library's use of the dial channel (.proto
 * Hand-off rule 7), and its way back to gRPC:
 *  1. a client dialling with hand-off binds one dial channel (the broker
 *     logs it) and its dials work; the Dial counters of GetStats count
 *     them (they are calls of the session); from 4 threads at once, every
 *     dial works (one thread uses the channel, the others gRPC);
 *  2. with max_connections_per_uid 2 there is no room for the channel (the
 *     gRPC connection and the hand-off channel take both): the broker
 *     refuses it at accept and every sb_tcp_connect_fd still works, over
 *     gRPC, as fast as before the channel existed;
 *  3. after the broker closed a session's channel (the session ended and a
 *     new one began), the next dial is not lost.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "it_client.h"

#define DIALS 40
#define ROOT_POLICY "policy:\n  - name: root\n    match: { uid: 0 }\n    action: allow\n"
#define THREADS 4

struct worker {
	sb_client *c;
	const char *port;
	int ok;
};

/* One hand-off dial to 127.0.0.1:@port, its peer accepted on @lfd, a byte
 * each way. Return: 1 when all of it worked. */
static int dial_once(sb_client *c, const char *port, int lfd)
{
	int fd = sb_tcp_connect_fd(c, "127.0.0.1", port, 3000);
	int pfd = fd >= 0 && lfd >= 0 ? it_native_accept(lfd, NULL, NULL, 3000) : -1;
	char x = 'x';
	int ok = fd >= 0 && (lfd < 0 || pfd >= 0);

	if (ok && pfd >= 0)
		ok = write(fd, &x, 1) == 1 && it_read_full(pfd, &x, 1, 3000) == 0;
	if (fd < 0)
		it_note("sb_tcp_connect_fd: %s %s", strerror(errno), it_sberr());
	if (fd >= 0)
		close(fd);
	if (pfd >= 0)
		close(pfd);
	return ok;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < DIALS / THREADS; i++)
		w->ok += dial_once(w->c, w->port, -1);
	return NULL;
}

struct acceptor {
	int lfd;
	int stop;
};

/* Accept and close the threads' peers until told to stop and none is
 * left queued (a later dial must accept its own). Bounded: 2,000 rounds. */
static void *acceptor_main(void *arg)
{
	struct acceptor *a = arg;
	int i;

	for (i = 0; i < 2000; i++) {
		int pfd = it_native_accept(a->lfd, NULL, NULL, 100);

		if (pfd >= 0)
			close(pfd);
		else if (__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE))
			break;
	}
	return NULL;
}

static uint64_t dial_calls(grpc_channel *ch)
{
	Sockbroker__V1__GetStatsReply *st = it_stats(ch);
	uint64_t n = 0;
	size_t i;

	for (i = 0; st && i < st->n_methods; i++)
		if (strstr(st->methods[i]->method, "/Dial") &&
		    !strstr(st->methods[i]->method, "DialStream"))
			n = st->methods[i]->calls;
	if (st)
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	return n;
}

static int count_in_log(const struct it_broker *b, const char *what)
{
	char path[600], line[1024];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "%s/broker.log", b->dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

int main(void)
{
	struct sockaddr_storage a;
	socklen_t al;
	struct it_broker b, b2;
	struct worker w[THREADS];
	pthread_t th[THREADS], ath;
	struct acceptor acc = { .lfd = -1 };
	grpc_channel *ch;
	char port[16];
	sb_client *c;
	uint64_t before;
	int lfd, i, ok = 0;

	lfd = it_native_listener(AF_INET, "127.0.0.1", &a, &al);
	snprintf(port, sizeof(port), "%u", (unsigned)it_port(&a));

	/* 1. The channel, and the dials it carries counted as Dial calls. */
	c = it_setup(&b, "log_level: debug\n" ROOT_POLICY, 60);
	ch = it_channel(&b);
	before = dial_calls(ch);
	for (i = 0; i < DIALS; i++)
		ok += dial_once(c, port, lfd);
	CHECK(ok == DIALS, "%d of %d hand-off dials worked", ok, DIALS);
	CHECK(count_in_log(&b, "dial channel of uid 0") == 1 &&
	      count_in_log(&b, "bound to session") >= 2,
	      "the client bound one dial channel (log: %d)", count_in_log(&b, "dial channel"));
	CHECK(dial_calls(ch) - before == DIALS, "GetStats counts %llu Dial calls for %d dials",
	      (unsigned long long)(dial_calls(ch) - before), DIALS);
	acc.lfd = lfd;
	CHECK(pthread_create(&ath, NULL, acceptor_main, &acc) == 0, "pthread_create");
	for (i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .c = c, .port = port };
		CHECK(pthread_create(&th[i], NULL, worker_main, &w[i]) == 0, "pthread_create");
	}
	ok = 0;
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		ok += w[i].ok;
	}
	__atomic_store_n(&acc.stop, 1, __ATOMIC_RELEASE);
	pthread_join(ath, NULL);
	CHECK(ok == DIALS, "%d of %d dials from %d threads at once worked", ok, DIALS, THREADS);

	/* 3. The session ends under the client (CloseSession by the library on
	 * sb_close_client, then a new client): nothing is lost. */
	sb_close_client(c);
	c = sb_open(b.target);
	ok = 0;
	for (i = 0; c && i < 4; i++)
		ok += dial_once(c, port, lfd);
	CHECK(ok == 4, "a new client after the last one closed: %d of 4 dials", ok);
	sb_close_client(c);
	grpc_channel_destroy(ch);
	it_teardown(&b, NULL);

	/* 2. No room for the channel: gRPC. */
	c = it_setup(&b2, "log_level: debug\nlimits:\n  max_connections_per_uid: 2\n" ROOT_POLICY,
		     60);
	ok = 0;
	for (i = 0; c && i < DIALS; i++)
		ok += dial_once(c, port, lfd);
	CHECK(ok == DIALS, "max_connections_per_uid 2: %d of %d hand-off dials worked", ok,
	      DIALS);
	CHECK(count_in_log(&b2, "max_connections_per_uid reached") >= 1 &&
	      count_in_log(&b2, "dial channel of uid 0") == 0,
	      "the dial channel was refused at accept, and no other was tried (log: %d "
	      "refusals, %d channels)", count_in_log(&b2, "max_connections_per_uid reached"),
	      count_in_log(&b2, "dial channel of uid 0"));
	close(lfd);
	return it_teardown(&b2, c);
}
