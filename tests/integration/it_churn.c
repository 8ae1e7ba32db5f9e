/* SPDX-License-Identifier: MIT
 * it_churn.c - a churn soak: sessions, sockets, connects and streams
 * opened and closed as fast as the machine allows, while the broker's
 * threads, descriptors and RSS are sampled every second and must stay
 * flat.
 *
 * WORKERS threads loop, each on a session it replaces every 25 rounds
 * (sb_close_client, sb_open). A round: a UDP socket bound and closed; a
 * TCP listener, a Dial to it, the accept, one byte each way, all closed;
 * a UDP socket with a RecvStream that gets one datagram from another,
 * both closed;
 * every fourth round a Pipe over a connected TCP pair that echoes 4 KiB.
 * Every call must work.
 *
 * The run lasts SB_CHURN_SECONDS (default 40: the ctest run; a day of a
 * busy host is `tests/bench/soak.sh 3600`). The first
 * quarter (at least 5 s) is warm-up: gRPC's pools and the allocator's
 * arenas settle. Each sample after it must stay within a small bound of
 * the warm-up's last one: threads +4 (gRPC may add a pool thread or two),
 * descriptors +64 (what is open in flight at the moment of a sample), RSS
 * +24 MiB. When the workers stop, within 10 s the broker has no session
 * or socket, its descriptors no more than at the end of the warm-up and
 * its own threads as many. Samples and rates are printed.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_client.h"

#define WORKERS 4
#define ROUNDS_PER_SESSION 25
#define MAX_SAMPLES 7200

static const char cfg[] =
	"policy:\n"
	"  - name: everyone\n"
	"    match: { any: true }\n"
	"    action: allow\n";

static const char *target;
static atomic_int stop;
static atomic_long n_sessions, n_sockets, n_dials, n_streams, n_pipes, n_failed;

struct worker {
	pthread_t th;
	char why[160];
};

static void bad(struct worker *w, const char *what)
{
	if (!atomic_fetch_add(&n_failed, 1) || !w->why[0])
		snprintf(w->why, sizeof(w->why), "%s: %s (%s)", what, strerror(errno),
			 it_sberr());
}

static void round_of(struct worker *w, sb_client *c, int k)
{
	struct sockaddr_storage ss;
	socklen_t len = it_addr4(&ss, "127.0.0.1", 0);
	char port[16], b1 = 'a', b2 = 0, buf[64];
	int u, l, d, a, tx;
	sb_receiver *r;

	u = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	if (u < 0 || sb_bind(c, u, (struct sockaddr *)&ss, len) < 0)
		bad(w, "UDP socket");
	if (u >= 0)
		sb_close(c, u);
	atomic_fetch_add(&n_sockets, 1);

	l = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (l < 0 || sb_bind(c, l, (struct sockaddr *)&ss, len) < 0 || sb_listen(c, l, 8) < 0 ||
	    sb_getsockname(c, l, (struct sockaddr *)&ss, &len) < 0) {
		bad(w, "listener");
		if (l >= 0)
			sb_close(c, l);
		return;
	}
	snprintf(port, sizeof(port), "%u", it_port(&ss));
	d = sb_tcp_connect(c, "127.0.0.1", port, NULL, NULL, 5000);
	a = d >= 0 ? sb_accept(c, l, NULL, NULL) : -1;
	if (d < 0 || a < 0 || sb_send(c, d, &b1, 1, 0) != 1 || sb_recv(c, a, &b2, 1, 0) != 1 ||
	    b2 != b1)
		bad(w, "dial/accept/echo");
	atomic_fetch_add(&n_dials, 1);
	if (k % 4 == 0 && d >= 0 && a >= 0) {
		static const char blk[4096];
		char back[4096];
		sb_pipe *p = sb_pipe_open(c, d);

		if (!p || sb_pipe_write(p, blk, sizeof(blk)) != (ssize_t)sizeof(blk) ||
		    it_sb_recv_all(c, a, back, sizeof(back), 5000) < 0)
			bad(w, "pipe");
		sb_pipe_close(p);
		atomic_fetch_add(&n_pipes, 1);
	}
	if (a >= 0)
		sb_close(c, a);
	if (d >= 0)
		sb_close(c, d);
	sb_close(c, l);

	len = it_addr4(&ss, "127.0.0.1", 0);
	u = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	if (u < 0 || sb_bind(c, u, (struct sockaddr *)&ss, len) < 0 ||
	    sb_getsockname(c, u, (struct sockaddr *)&ss, &len) < 0 ||
	    (tx = sb_socket(c, AF_INET, SOCK_DGRAM, 0)) < 0) {
		bad(w, "stream sockets");
		if (u >= 0)
			sb_close(c, u);
		return;
	}
	r = sb_receiver_open(c, u);
	if (!r || sb_sendto(c, tx, "d", 1, 0, (struct sockaddr *)&ss, len) != 1 ||
	    sb_receiver_next(r, buf, sizeof(buf), NULL, NULL, 5000) != 1)
		bad(w, "RecvStream");
	sb_receiver_close(r);
	atomic_fetch_add(&n_streams, 1);
	sb_close(c, u);
	sb_close(c, tx);
}

static void *work(void *arg)
{
	struct worker *w = arg;

	while (!atomic_load(&stop)) {
		sb_client *c = sb_open(target);
		int k;

		if (!c) {
			bad(w, "sb_open");
			it_sleep_ms(100);
			continue;
		}
		atomic_fetch_add(&n_sessions, 1);
		for (k = 0; k < ROUNDS_PER_SESSION && !atomic_load(&stop); k++)
			round_of(w, c, k);
		sb_close_client(c);
	}
	return NULL;
}

static long proc_field(pid_t pid, const char *key)
{
	return it_proc_status(pid, key);
}

/* Threads of @pid named "sockbrokerd" (the broker's own, not gRPC's). */
static int own_threads(pid_t pid)
{
	char path[96], comm[32];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		FILE *cf;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%.16s/comm", (int)pid, d->d_name);
		cf = fopen(path, "re");
		if (cf && fgets(comm, sizeof(comm), cf) && !strcmp(comm, "sockbrokerd\n"))
			n++;
		if (cf)
			fclose(cf);
	}
	closedir(dir);
	return n;
}

struct sample {
	long t_s, threads, rss;
	int fds, own;
	long ops;
};

int main(void)
{
	static struct sample sm[MAX_SAMPLES];
	struct worker w[WORKERS];
	struct it_broker b;
	grpc_channel *ch;
	const char *e = getenv("SB_CHURN_SECONDS");
	long seconds = e && atol(e) > 0 ? atol(e) : 40, warm, t;
	int i, ns = 0, wi = -1, fds_end, own_end;
	int64_t t0, until;
	long ops;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (seconds > MAX_SAMPLES)
		seconds = MAX_SAMPLES;
	warm = seconds / 4 > 5 ? seconds / 4 : 5;
	if (it_broker_start(&b, cfg) < 0)
		return 1;
	it_watchdog(&b, (unsigned)(seconds + 40));
	target = b.target;
	ch = it_channel(&b);
	it_broker_quiet(ch);
	memset(w, 0, sizeof(w));
	for (i = 0; i < WORKERS; i++)
		pthread_create(&w[i].th, NULL, work, &w[i]);
	t0 = it_now_ms();
	it_note("%8s %8s %6s %7s %6s %10s %9s", "t(s)", "threads", "own", "fds", "RSS(MiB)",
		"rounds", "rounds/s");
	for (t = 1; t <= seconds; t++) {
		struct sample *s = &sm[ns];

		it_sleep_ms((int)(t0 + t * 1000 - it_now_ms()));
		s->t_s = t;
		s->threads = proc_field(b.pid, "Threads:");
		s->rss = proc_field(b.pid, "VmRSS:");
		s->fds = it_count_fds(b.pid);
		s->own = own_threads(b.pid);
		s->ops = atomic_load(&n_dials);
		it_note("%8ld %8ld %6d %7d %8.1f %10ld %9ld", s->t_s, s->threads, s->own, s->fds,
			(double)s->rss / 1024.0, s->ops, ns ? s->ops - sm[ns - 1].ops : s->ops);
		if (t == warm)
			wi = ns;
		ns++;
	}
	atomic_store(&stop, 1);
	for (i = 0; i < WORKERS; i++) {
		pthread_join(w[i].th, NULL);
		if (w[i].why[0])
			it_note("worker %d, first failure: %s", i, w[i].why);
	}
	ops = atomic_load(&n_dials);
	it_note("%ld s: %ld sessions, %ld UDP sockets, %ld dial+accept+echo, %ld RecvStreams, "
		"%ld Pipes; %.0f rounds/s (each ~%d calls)", seconds, atomic_load(&n_sessions),
		atomic_load(&n_sockets), ops, atomic_load(&n_streams), atomic_load(&n_pipes),
		(double)ops / (double)seconds, 22);
	CHECK(atomic_load(&n_failed) == 0, "%ld calls failed", atomic_load(&n_failed));
	CHECK(ops > 0, "no round completed");
	if (wi >= 0) {
		const struct sample *base = &sm[wi];

		for (i = wi + 1; i < ns; i++) {
			CHECK(sm[i].threads <= base->threads + 4, "t=%lds: %ld threads, %ld after "
			      "the warm-up", sm[i].t_s, sm[i].threads, base->threads);
			CHECK(sm[i].fds <= base->fds + 64, "t=%lds: %d fds, %d after the warm-up",
			      sm[i].t_s, sm[i].fds, base->fds);
#ifndef __SANITIZE_ADDRESS__
			CHECK(sm[i].rss <= base->rss + 24 * 1024, "t=%lds: RSS %ld KiB, %ld KiB "
			      "after the warm-up", sm[i].t_s, sm[i].rss, base->rss);
#endif
		}
		until = it_now_ms() + 10000;
		while (!it_broker_quiet(ch) && it_now_ms() < until)
			it_sleep_ms(50);
		CHECK(it_broker_quiet(ch), "sessions or sockets left 10 s after the churn stopped");
		until = it_now_ms() + 5000;
		do {
			it_sleep_ms(100);
			fds_end = it_count_fds(b.pid);
			own_end = own_threads(b.pid);
		} while ((fds_end > base->fds || own_end > base->own) && it_now_ms() < until);
		CHECK(fds_end <= base->fds, "broker fds %d at rest, %d after the warm-up "
		      "(under load)", fds_end, base->fds);
		CHECK(own_end == base->own, "the broker's own threads: %d at rest, %d after the "
		      "warm-up", own_end, base->own);
		it_note("after the warm-up -> at rest: fds %d -> %d, own threads %d -> %d, all "
			"threads %ld -> %ld, RSS %ld -> %ld KiB", base->fds, fds_end, base->own,
			own_end, base->threads, proc_field(b.pid, "Threads:"), base->rss,
			proc_field(b.pid, "VmRSS:"));
	}
	grpc_channel_destroy(ch);
	CHECK(it_broker_stop(&b) == 0, "the broker did not stop cleanly");
	return it_result();
}
