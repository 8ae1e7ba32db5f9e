/* SPDX-License-Identifier: MIT
 * it_conn_limits.c - connections before any call are bounded: a caller no
 * rule serves is refused at accept, max_connections_per_uid holds, the
 * broker out of descriptors keeps serving the connections it has, and
 * idle_connection_ms closes a connection that makes no call.
 *
 * Idle connections are plain Unix-socket connects that never speak
 * HTTP/2, made by a forked child running as uid/gid 65534:
 *  1. default policy (uid 65534 not served): 300 connections; root's
 *     GetStats answer within 1 s each, the broker holds at most 16 more
 *     descriptors than before, connections_refused_policy counts them;
 *  2. policy serving everyone, broker's RLIMIT_NOFILE set to 64: 120
 *     connections; root's existing channel answers within 1 s each, the
 *     broker never holds more than 64 descriptors, drops are counted and
 *     logged at most twice, and a new root channel is served once the
 *     child is gone;
 *  3. max_connections_per_uid 8, idle_connection_ms 500: of 20
 *     connections at most 8 are open and 12 refused (GetStats, global and
 *     uid:65534); a root connection that makes no call is closed within
 *     3 s (by the broker's sweep or gRPC's own idle limit, whichever
 *     comes first), while a root session (a call in flight) stays open.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* The idle limit of the configurations below. Under ThreadSanitizer a new
 * channel's handshake and first call can take longer than 500 ms, and the
 * idle sweep would close the connection a test session is opening. */
#ifdef __SANITIZE_THREAD__
#define IDLE_MS "2000"
#else
#define IDLE_MS "500"
#endif

#define NOBODY IT_NOBODY

static const char cfg_fds[] =
	"limits:\n"
	"  max_connections: 100000\n"
	"  max_connections_per_uid: 100000\n"
	"policy:\n"
	"  - name: everyone\n"
	"    match: { any: true }\n"
	"    action: allow\n";

static const char cfg_per_uid[] =
	"limits:\n"
	"  max_connections_per_uid: 8\n"
	"  idle_connection_ms: " IDLE_MS "\n"
	"policy:\n"
	"  - name: everyone\n"
	"    match: { any: true }\n"
	"    action: allow\n";

struct holder {
	pid_t pid;
	int release;	/* write end: closing it ends the child */
	int made;	/* connections the child made */
};

static int unix_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A child as uid 65534 that opens @n idle connections and holds them
 * until h->release is closed (30 s at most). */
static int hold_connections(struct holder *h, const char *path, int n)
{
	int ready[2], rel[2], i, made = 0;
	char x;

	if (pipe(ready) < 0 || pipe(rel) < 0)
		return -1;
	fflush(NULL);
	h->pid = fork();
	if (h->pid < 0)
		return -1;
	if (h->pid == 0) {
		close(ready[0]);
		close(rel[1]);
		alarm(30);
		if (it_drop_privileges(NOBODY, NOBODY) < 0)
			_exit(1);
		for (i = 0; i < n; i++)
			if (unix_connect(path) >= 0)
				made++;
		if (write(ready[1], &made, sizeof(made)) != sizeof(made))
			_exit(1);
		while (read(rel[0], &x, 1) > 0)
			;
		_exit(0);
	}
	close(ready[1]);
	close(rel[0]);
	h->release = rel[1];
	h->made = -1;
	if (it_read_full(ready[0], &h->made, sizeof(h->made), 20000) < 0)
		h->made = -1;
	close(ready[0]);
	return h->made;
}

static void release(struct holder *h)
{
	int status;

	close(h->release);
	waitpid(h->pid, &status, 0);
}

/* @n GetStats on @ch; Return: the slowest in ms, or -1 when one failed. */
static int64_t stats_calls(grpc_channel *ch, int n)
{
	int64_t worst = 0;
	int i;

	for (i = 0; i < n; i++) {
		int64_t t0 = it_now_ms(), dt;
		Sockbroker__V1__GetStatsReply *st = it_stats(ch);

		if (!st)
			return -1;
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
		dt = it_now_ms() - t0;
		if (dt > worst)
			worst = dt;
	}
	return worst;
}

/* GetStats until @done says the broker took in what the child did, at
 * most 5 s. Return: the last reply (free it), or NULL. */
static Sockbroker__V1__GetStatsReply *
stats_until(grpc_channel *ch, int (*done)(const Sockbroker__V1__GetStatsReply *, int),
	    int made)
{
	int64_t until = it_now_ms() + 5000;
	Sockbroker__V1__GetStatsReply *st = it_stats(ch);

	while (st && !done(st, made) && it_now_ms() < until) {
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
		it_sleep_ms(50);
		st = it_stats(ch);
	}
	return st;
}

static int all_refused(const Sockbroker__V1__GetStatsReply *st, int made)
{
	return st->connections_refused_policy >= (uint64_t)made;
}

static int some_dropped(const Sockbroker__V1__GetStatsReply *st, int made)
{
	(void)made;
	return st->connections_dropped_emfile > 0;
}

static int all_counted(const Sockbroker__V1__GetStatsReply *st, int made)
{
	return st->connections_refused_limit + st->connections_open >= (uint64_t)made;
}

static int log_lines(const char *path, const char *what)
{
	char line[1024];
	FILE *f = fopen(path, "re");
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, what))
			n++;
	fclose(f);
	return n;
}

static void open_up(struct it_broker *b)
{
	CHECK(chmod(b->dir, 0755) == 0 && chmod(b->sock, 0666) == 0, "chmod %s: %s",
	      b->sock, strerror(errno));
}

static void unserved(struct it_broker *b)
{
	Sockbroker__V1__GetStatsReply *st;
	grpc_channel *ch = it_channel(b);
	struct holder h;
	int fd0 = it_count_fds(b->pid), fd1, made;
	int64_t worst;

	open_up(b);
	made = hold_connections(&h, b->sock, 300);
	CHECK(made >= 100, "uid %d made %d of 300 connections", NOBODY, made);
	st = stats_until(ch, all_refused, made);
	worst = stats_calls(ch, 20);
	fd1 = it_count_fds(b->pid);
	CHECK(worst >= 0 && worst < 1000, "root's GetStats with %d connections of an "
	      "unserved uid: slowest %lld ms, want all under 1000", made, (long long)worst);
	CHECK(fd1 >= 0 && fd1 <= fd0 + 16, "broker descriptors %d -> %d with %d unserved "
	      "connections, want at most 16 more", fd0, fd1, made);
	if (CHECK(st != NULL, "GetStats")) {
		CHECK(st->connections_refused_policy >= (uint64_t)made &&
		      st->connections_open <= 2,
		      "connections_refused_policy %llu (want >= %d), connections_open %llu "
		      "(want root's only)", (unsigned long long)st->connections_refused_policy,
		      made, (unsigned long long)st->connections_open);
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	}
	release(&h);
	grpc_channel_destroy(ch);
}

static void out_of_fds(struct it_broker *b)
{
	struct rlimit rl = { 64, 64 };
	Sockbroker__V1__GetStatsReply *st;
	grpc_channel *ch = it_channel(b), *ch2;
	struct holder h;
	int64_t worst, until;
	int made, fds, lines;

	open_up(b);
	CHECK(stats_calls(ch, 1) >= 0, "root's first GetStats");
	if (!CHECK(prlimit(b->pid, RLIMIT_NOFILE, &rl, NULL) == 0, "prlimit: %s",
		   strerror(errno)))
		goto out;
	made = hold_connections(&h, b->sock, 120);
	CHECK(made > 0, "uid %d made no connection", NOBODY);
	st = stats_until(ch, some_dropped, made);
	worst = stats_calls(ch, 20);
	fds = it_count_fds(b->pid);
	CHECK(worst >= 0 && worst < 1000, "root's GetStats on its channel with the broker "
	      "out of descriptors: slowest %lld ms, want all under 1000", (long long)worst);
	/* 64, plus the odd descriptor numbered 64 or more that the broker
	 * held before its limit was lowered. */
	CHECK(fds >= 0 && fds <= 64 + 2, "broker holds %d descriptors, limit 64", fds);
	if (CHECK(st != NULL, "GetStats out of descriptors")) {
		CHECK(st->connections_dropped_emfile > 0, "connections_dropped_emfile 0 with "
		      "%d connections against 64 descriptors", made);
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	}
	lines = log_lines(b->log, "out of file descriptors");
	CHECK(lines >= 1 && lines <= 2, "%d log lines about descriptors, want 1..2", lines);
	release(&h);
	/* Once the child is gone, a new channel is served again. */
	ch2 = it_channel(b);
	until = it_now_ms() + 5000;
	while (stats_calls(ch2, 1) < 0 && it_now_ms() < until)
		it_sleep_ms(100);
	CHECK(it_now_ms() < until, "a new root channel was not served within 5 s");
	grpc_channel_destroy(ch2);
out:
	grpc_channel_destroy(ch);
}

static void per_uid_and_idle(struct it_broker *b)
{
	Sockbroker__V1__GetStatsReply *st;
	const Sockbroker__V1__IdentityStats *id;
	grpc_channel *ch = it_channel(b);
	struct it_session s;
	struct holder h;
	const char *how = NULL;
	int made, fd, sess;

	open_up(b);
	sess = it_session_open(ch, &s, 5000);
	CHECK(sess == 0, "root: OpenSession");
	made = hold_connections(&h, b->sock, 20);
	CHECK(made == 20, "uid %d made %d of 20 connections", NOBODY, made);
	st = stats_until(ch, all_counted, made + 1);
	if (CHECK(st != NULL, "GetStats per uid")) {
		id = it_find_identity(st, "uid:65534");
		CHECK(id && id->connections_open <= 8 && id->connections_refused >= 12 &&
		      st->connections_refused_limit >= 12,
		      "uid:65534 %s: connections_open %llu (want <= 8), connections_refused "
		      "%llu, connections_refused_limit %llu (want >= 12)",
		      id ? "found" : "missing", id ? (unsigned long long)id->connections_open : 0ULL,
		      id ? (unsigned long long)id->connections_refused : 0ULL,
		      (unsigned long long)st->connections_refused_limit);
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	}
	release(&h);

	fd = unix_connect(b->sock);
	if (CHECK(fd >= 0, "root: raw connect: %s", strerror(errno))) {
		int64_t t0 = it_now_ms();

		it_wait_ends(&fd, 1, 6 * atoi(IDLE_MS), &how);
		CHECK(how != NULL, "a connection with no call still open after %lld ms, "
		      "idle_connection_ms " IDLE_MS, (long long)(it_now_ms() - t0));
		close(fd);
	}
	st = it_stats(ch);
	if (CHECK(st != NULL, "GetStats after idle")) {
		CHECK(st->sessions_open == (sess == 0), "sessions_open %llu, want the "
		      "session (a call in flight) still open", (unsigned long long)st->sessions_open);
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	}
	if (sess == 0)
		it_session_close(&s);
	grpc_channel_destroy(ch);
}

/* uid:65534's counters in @ch's GetStats: Return: 0, or -1 (not listed). */
static int nobody_counts(grpc_channel *ch, uint64_t *open, uint64_t *refused)
{
	Sockbroker__V1__GetStatsReply *st = it_stats(ch);
	const Sockbroker__V1__IdentityStats *id = it_find_identity(st, "uid:65534");
	int ret = id ? 0 : -1;

	if (id) {
		*open = id->connections_open;
		*refused = id->connections_refused;
	}
	if (st)
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	return ret;
}

/* SIGHUP with max_connections_per_uid 8 -> 3: connections accepted from
 * then on are held to the new limit. */
static void reload_per_uid(struct it_broker *b)
{
	static const char cfg[] =
		"limits:\n"
		"  max_connections_per_uid: 3\n"
		"  idle_connection_ms: " IDLE_MS "\n"
		"policy:\n"
		"  - name: everyone\n"
		"    match: { any: true }\n"
		"    action: allow\n";
	grpc_channel *ch = it_channel(b);
	uint64_t open = 0, refused0 = 0, refused = 0;
	int64_t until = it_now_ms() + 5000;
	struct holder h;
	FILE *f = fopen(b->config, "we");
	int made;

	if (!CHECK(f && fputs(cfg, f) >= 0 && fclose(f) == 0, "rewrite %s", b->config))
		goto out;
	CHECK(kill(b->pid, SIGHUP) == 0, "SIGHUP: %s", strerror(errno));
	while (log_lines(b->log, "max_connections_per_uid 8 -> 3") < 1 && it_now_ms() < until)
		it_sleep_ms(20);
	CHECK(log_lines(b->log, "max_connections_per_uid 8 -> 3") == 1,
	      "the reload log does not say max_connections_per_uid 8 -> 3");
	/* uid 65534's earlier connections are gone first. */
	while ((nobody_counts(ch, &open, &refused0) < 0 || open) && it_now_ms() < until)
		it_sleep_ms(50);
	made = hold_connections(&h, b->sock, 10);
	CHECK(made == 10, "uid %d made %d of 10 connections", NOBODY, made);
	until = it_now_ms() + 5000;
	while ((nobody_counts(ch, &open, &refused) < 0 || open + refused - refused0 < 10) &&
	       it_now_ms() < until)
		it_sleep_ms(50);
	CHECK(open <= 3 && refused - refused0 >= 7,
	      "after the reload uid:65534 holds %llu connections (want <= 3) and %llu more "
	      "were refused (want >= 7)", (unsigned long long)open,
	      (unsigned long long)(refused - refused0));
	release(&h);
out:
	grpc_channel_destroy(ch);
}

int main(void)
{
	struct it_broker b1, b2, b3;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getuid() != 0)
		it_skip("needs root to run clients as uid %d", NOBODY);
	if (it_broker_start(&b1, NULL) < 0)
		return 1;
	if (it_broker_start(&b2, cfg_fds) < 0) {
		it_broker_stop(&b1);
		return 1;
	}
	if (it_broker_start(&b3, cfg_per_uid) < 0) {
		it_broker_stop(&b1);
		it_broker_stop(&b2);
		return 1;
	}
	it_watchdog(&b2, 55);
	it_note("default policy, unserved uid");
	unserved(&b1);
	it_note("broker out of descriptors");
	out_of_fds(&b2);
	it_note("max_connections_per_uid, idle_connection_ms");
	per_uid_and_idle(&b3);
	it_note("reload: max_connections_per_uid 8 -> 3");
	reload_per_uid(&b3);
	CHECK(it_broker_stop(&b1) == 0, "broker 1 did not stop cleanly");
	CHECK(it_broker_stop(&b3) == 0, "broker 3 did not stop cleanly");
	CHECK(it_broker_stop(&b2) == 0, "broker 2 did not stop cleanly");
	return it_result();
}
