/* SPDX-License-Identifier: MIT
 * it_many_sessions.c - 1,000 sessions at once, each doing work.
 *
 * Twice: 1,000 threads each open their own sb_client (at most 64 opening
 * at a time), wait until all are open (GetStats: 1,000 sessions), then each
 * does ROUNDS rounds of work on its session: a datagram socketpair, a
 * 64-byte send and receive, getsockname, close both; every call is
 * timed. All 1,000 sessions must open and every call must work; then all
 * close, and the broker ends with no session, no socket and the fds it
 * had before; its RSS at rest after the second wave is no more than 8 MiB
 * above that after the first (the heap is kept and reused, not grown). Printed: call latency p50/p99/max, the broker's RSS and fd
 * count idle, with 1,000 sessions, and after. With 1,000 calls in flight
 * at once, latency is about 1,000 / throughput (Little's law): on 2 CPUs
 * shared with the client's 1,000 threads, p50 is some 100-200 ms.
 *
 * The test process needs ~2 descriptors per session: its RLIMIT_NOFILE
 * soft limit is raised to the hard one. The broker's limits are raised by
 * its config (max_sessions, connections per uid...).
 * A longer run: SB_SESSIONS_ROUNDS=N (default 5), e.g. tests/bench/
 * sessions.sh.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_client.h"

#define SESSIONS 1000
#define MAX_OPENING 64
#define CALLS_PER_ROUND 6

static const char cfg[] =
	"limits:\n"
	"  max_sessions: 2000\n"
	"  max_sessions_per_uid: 2000\n"
	"  max_connections: 4000\n"
	"  max_connections_per_uid: 4000\n"
	"  max_sockets_per_uid: 100000\n"
	"policy:\n"
	"  - name: everyone\n"
	"    match: { any: true }\n"
	"    action: allow\n";

static const char *target;
static int rounds = 5;
static sem_t opening;
static pthread_barrier_t all_open, all_done;

struct worker {
	pthread_t th;
	int opened;
	int failed;
	char why[160];
	int64_t *lat_us;	/* rounds * CALLS_PER_ROUND */
	int nlat;
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

#define TIMED(w, expr) __extension__ ({				\
	int64_t t0_ = now_us();						\
	long r_ = (long)(expr);						\
	(w)->lat_us[(w)->nlat++] = now_us() - t0_;			\
	r_; })

static void fail(struct worker *w, const char *what)
{
	if (!w->failed)
		snprintf(w->why, sizeof(w->why), "%s: %s (%s)", what, strerror(errno),
			 it_sberr());
	w->failed++;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct sockaddr_storage ss;
	char out[64], in[64];
	sb_client *c;
	int r;

	sem_wait(&opening);
	c = sb_open(target);
	sem_post(&opening);
	w->opened = c != NULL;
	if (!c)
		fail(w, "sb_open");
	pthread_barrier_wait(&all_open);
	memset(out, 'x', sizeof(out));
	for (r = 0; c && r < rounds; r++) {
		int sv[2] = { -1, -1 };
		socklen_t len = sizeof(ss);

		if (TIMED(w, sb_socketpair(c, AF_UNIX, SOCK_DGRAM, 0, sv)) < 0) {
			fail(w, "socketpair");
			w->nlat += CALLS_PER_ROUND - 1;
			continue;
		}
		if (TIMED(w, sb_send(c, sv[0], out, sizeof(out), 0)) != (long)sizeof(out))
			fail(w, "send");
		if (TIMED(w, sb_recv(c, sv[1], in, sizeof(in), 0)) != (long)sizeof(in))
			fail(w, "recv");
		if (TIMED(w, sb_getsockname(c, sv[0], (struct sockaddr *)&ss, &len)) < 0)
			fail(w, "getsockname");
		if (TIMED(w, sb_close(c, sv[0])) < 0)
			fail(w, "close");
		if (TIMED(w, sb_close(c, sv[1])) < 0)
			fail(w, "close");
	}
	pthread_barrier_wait(&all_done);
	sb_close_client(c);
	return NULL;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static long rss_kib(pid_t pid)
{
	return it_proc_status(pid, "VmRSS:");
}

static uint64_t sessions_open(grpc_channel *ch)
{
	Sockbroker__V1__GetStatsReply *st = it_stats(ch);
	uint64_t n = st ? st->sessions_open : (uint64_t)-1;

	if (st)
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	return n;
}

/* One wave: SESSIONS threads, each its own session, all open at once.
 * Return: the broker's RSS at rest after it, in KiB. */
static long wave(struct it_broker *b, grpc_channel *ch, int num, long rss0, int fds0)
{
	static struct worker w[SESSIONS];
	pthread_attr_t attr;
	int64_t *all, t0, t_open, t_work;
	long rss_open, rss1;
	int i, n = 0, opened = 0, failed = 0, fds_open, fds1;
	uint64_t at_peak;

	memset(w, 0, sizeof(w));
	pthread_barrier_init(&all_open, NULL, SESSIONS + 1);
	pthread_barrier_init(&all_done, NULL, SESSIONS + 1);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	all = calloc((size_t)SESSIONS * (size_t)rounds * CALLS_PER_ROUND, sizeof(*all));
	if (!all)
		return -1;
	t0 = it_now_ms();
	for (i = 0; i < SESSIONS; i++) {
		w[i].lat_us = all + (size_t)i * (size_t)rounds * CALLS_PER_ROUND;
		if (pthread_create(&w[i].th, &attr, run, &w[i]) != 0) {
			printf("FAIL: pthread_create %d\n", i);
			exit(1);
		}
	}
	pthread_barrier_wait(&all_open);
	t_open = it_now_ms() - t0;
	at_peak = sessions_open(ch);
	rss_open = rss_kib(b->pid);
	fds_open = it_count_fds(b->pid);
	t0 = it_now_ms();
	pthread_barrier_wait(&all_done);
	t_work = it_now_ms() - t0;
	for (i = 0; i < SESSIONS; i++) {
		pthread_join(w[i].th, NULL);
		opened += w[i].opened;
		failed += w[i].failed;
		if (w[i].failed && failed == w[i].failed)
			it_note("first failure (session %d): %s", i, w[i].why);
		n += w[i].nlat;
	}
	pthread_attr_destroy(&attr);
	pthread_barrier_destroy(&all_open);
	pthread_barrier_destroy(&all_done);
	CHECK(opened == SESSIONS, "wave %d: %d of %d sessions opened", num, opened, SESSIONS);
	CHECK(at_peak == SESSIONS, "wave %d: GetStats saw %llu sessions open at once, want %d",
	      num, (unsigned long long)at_peak, SESSIONS);
	CHECK(failed == 0, "wave %d: %d calls failed", num, failed);
	/* Latencies of the calls made (a failed socketpair left gaps of 0). */
	qsort(all, (size_t)n, sizeof(*all), cmp64);
	{
		int64_t until = it_now_ms() + 10000;

		while (sessions_open(ch) != 0 && it_now_ms() < until)
			it_sleep_ms(50);
		CHECK(sessions_open(ch) == 0, "wave %d: sessions left after all closed", num);
		until = it_now_ms() + 5000;
		while ((fds1 = it_count_fds(b->pid)) > fds0 && it_now_ms() < until)
			it_sleep_ms(50);
	}
	rss1 = rss_kib(b->pid);
	CHECK(fds1 <= fds0, "wave %d: broker fds %d after, %d before", num, fds1, fds0);
	it_note("wave %d: %d sessions opened in %lld ms (%d at a time); %d rounds x %d calls "
		"each in %lld ms: %.0f calls/s", num, opened, (long long)t_open, MAX_OPENING,
		rounds, CALLS_PER_ROUND, (long long)t_work,
		t_work > 0 ? (double)n * 1000.0 / (double)t_work : 0.0);
	if (n > 0)
		it_note("wave %d: call latency p50 %lld us, p99 %lld us, max %lld us (%d calls, "
			"1,000 threads on %ld CPUs)", num, (long long)all[n / 2],
			(long long)all[(size_t)n * 99 / 100], (long long)all[n - 1], n,
			sysconf(_SC_NPROCESSORS_ONLN));
	it_note("wave %d: broker RSS idle %ld KiB, 1,000 sessions %ld KiB (%.1f KiB each), "
		"after %ld KiB; fds %d, %d (a connection each, and their sockets), %d", num,
		rss0, rss_open, (double)(rss_open - rss0) / SESSIONS, rss1, fds0, fds_open,
		fds1);
	free(all);
	return rss1;
}

int main(void)
{
	struct it_broker b;
	struct rlimit rl;
	grpc_channel *ch;
	long rss0, after1, after2;
	int fds0;
	const char *e = getenv("SB_SESSIONS_ROUNDS");

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (e && atoi(e) > 0)
		rounds = atoi(e);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < 3 * SESSIONS)
		it_skip("RLIMIT_NOFILE hard limit %lu: %d sessions need about %d",
			(unsigned long)rl.rlim_cur, SESSIONS, 3 * SESSIONS);
	if (it_broker_start(&b, cfg) < 0)
		return 1;
	it_watchdog(&b, 100 + 10 * (unsigned)rounds);
	target = b.target;
	ch = it_channel(&b);
	{
		sb_client *c = sb_open(target);

		sb_close_client(c);
	}
	sessions_open(ch);	/* its connection is there before the count */
	it_sleep_ms(200);
	rss0 = rss_kib(b.pid);
	fds0 = it_count_fds(b.pid);
	sem_init(&opening, 0, MAX_OPENING);
	after1 = wave(&b, ch, 1, rss0, fds0);
	after2 = wave(&b, ch, 2, rss0, fds0);
#ifndef __SANITIZE_ADDRESS__
	/* The first wave's heap stays with the broker (M_TRIM_THRESHOLD) and
	 * is what the second one uses: no growth from wave to wave. */
	CHECK(after2 <= after1 + 8 * 1024, "broker RSS at rest %ld KiB after the second wave, "
	      "%ld KiB after the first", after2, after1);
#endif
	(void)after1;
	(void)after2;
	grpc_channel_destroy(ch);
	CHECK(it_broker_stop(&b) == 0, "the broker did not stop cleanly");
	return it_result();
}
