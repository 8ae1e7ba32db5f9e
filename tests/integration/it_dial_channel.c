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
 *     new one began), the next dial is not lost;
 *  4. a client running as uid 65534 gets a channel of its own, its dials
 *     over it are judged by its own rules: allowed ones connect, a refused
 *     one is EACCES (its server sees nothing) and the channel serves on.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* Child, uid 65534, on @target: the channel carries its dials under its
 * own rules (127.0.0.1 allowed, 127.0.0.2 not): an allowed one is
 * connected, a refused one is EACCES and its server sees no connection. */
static int child_nobody(const char *target)
{
	struct sockaddr_storage a1, a2;
	socklen_t l1, l2;
	char p1[16], p2[16];
	sb_client *c;
	int lfd1, lfd2, fd, pfd, i, ok = 0;

	if (it_drop_privileges(IT_NOBODY, IT_NOBODY) < 0)
		return 1;
	lfd1 = it_native_listener(AF_INET, "127.0.0.1", &a1, &l1);
	lfd2 = it_native_listener(AF_INET, "127.0.0.2", &a2, &l2);
	c = sb_open(target);
	if (!CHECK(c && lfd1 >= 0 && lfd2 >= 0, "uid 65534: sb_open or listeners: %s %s",
		   strerror(errno), it_sberr()))
		return it_result();
	snprintf(p1, sizeof(p1), "%u", (unsigned)it_port(&a1));
	snprintf(p2, sizeof(p2), "%u", (unsigned)it_port(&a2));
	for (i = 0; i < 8; i++)
		ok += dial_once(c, p1, lfd1);
	CHECK(ok == 8, "uid 65534: %d of 8 allowed dials worked", ok);
	for (i = 0; i < 4; i++) {
		fd = sb_tcp_connect_fd(c, "127.0.0.2", p2, 3000);
		CHECK(fd < 0 && errno == EACCES, "uid 65534: a dial the policy refuses: %d %s "
		      "(want EACCES)", fd, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	pfd = it_native_accept(lfd2, NULL, NULL, 300);
	CHECK(pfd < 0, "uid 65534: the refused server saw a connection");
	if (pfd >= 0)
		close(pfd);
	for (i = 0; i < 4; i++)
		ok += dial_once(c, p1, lfd1);
	CHECK(ok == 12, "uid 65534: the channel serves on after refusals (%d of 12)", ok);
	sb_close_client(c);
	close(lfd1);
	close(lfd2);
	return it_result();
}

int main(int argc, char **argv)
{
	struct sockaddr_storage a;
	socklen_t al;
	struct it_broker b, b2, b3;
	struct worker w[THREADS];
	pthread_t th[THREADS], ath;
	struct acceptor acc = { .lfd = -1 };
	grpc_channel *ch;
	char port[16];
	sb_client *c;
	uint64_t before;
	int lfd, i, ok = 0;

	if (argc == 3 && !strcmp(argv[1], "--as-nobody"))
		return child_nobody(argv[2]);
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
	sb_close_client(c);
	c = NULL;
	it_teardown(&b2, NULL);

	/* 4. Uid 65534: its dials over the channel are judged by its rules. */
	c = it_setup(&b3, "log_level: debug\n" ROOT_POLICY
		     "  - name: nobody-loopback-1\n"
		     "    match: { uid: 65534 }\n"
		     "    action: allow\n"
		     "    ops: [socket, connect, handoff]\n"
		     "    destinations: [127.0.0.1/32]\n", 60);
	if (CHECK(chmod(b3.dir, 0755) == 0 && chmod(b3.sock, 0666) == 0, "chmod: %s",
		  strerror(errno))) {
		char *args[] = { argv[0], (char *)"--as-nobody", b3.target, NULL };
		int st = it_run_self(args, 30000);

		CHECK(st == 0, "the uid 65534 part failed (status 0x%x)", (unsigned)st);
		CHECK(count_in_log(&b3, "dial channel of uid 65534") == 1,
		      "uid 65534's dials went over a dial channel (log: %d)",
		      count_in_log(&b3, "dial channel of uid 65534"));
		CHECK(count_in_log(&b3, "127.0.0.2") >= 1,
		      "the broker logged the refusal of 127.0.0.2");
	}
	close(lfd);
	return it_teardown(&b3, c);
}
