/* SPDX-License-Identifier: MIT
 * it_policy_limits.c - the broker-wide and per-identity limits, each hit
 * once, with the broker serving afterwards (deploy/sockbrokerd.yaml
 * `limits`, server/session.c, server/ops_session.c, server/ops_socket.c):
 *
 *   max_sessions: 3, max_sessions_per_uid: 2, max_sockets_per_uid: 4
 *   policy: one rule "everyone" (any: true, allow)
 *
 *  - max_sessions_per_uid: root's third sb_open() is NULL with errno EMFILE
 *    or ENOBUFS (contract rule 3: RESOURCE_EXHAUSTED is EMFILE/ENOBUFS) and
 *    sb_last_error() naming max_sessions_per_uid; it leaves no session; a
 *    client of another uid (65534, a re-executed child) still gets one;
 *  - max_sessions: with root's two and the child's one, the child's second
 *    sb_open() is refused naming max_sessions (not the per-uid limit); once
 *    the child closes its session it opens a new one;
 *  - max_sockets_per_uid: root holds 2 + 2 sockets in two sessions; a fifth
 *    sb_socket() in either session, an sb_socketpair() and an sb_accept()
 *    are -1 EMFILE naming max_sockets_per_uid and keep nothing (the pending
 *    connection stays queued); uid 65534 meanwhile opens its own 4 (and its
 *    fifth is refused); closing a socket, or a whole session, frees places
 *    for the uid's other sessions, and a session opened later shares the
 *    same count;
 *  - GetStats: limits_hit grew by every refusal, "uid:0" and "uid:65534"
 *    count theirs as limited; nothing is left open at the end.
 * Not tested: max_sockets_per_session (it_socket_limit), max_message_bytes
 * (it_oversized); max_pending_accepts and max_stream_bytes are read from the
 * file but enforced nowhere in server/ (see the report).
 */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it_client.h"

#define NOBODY IT_NOBODY
#define UID_SOCKS 4
#define ROOT_HITS 7	/* session, 2 sockets, socketpair, accept, 2 more sockets */
#define CHILD_HITS 2	/* a socket, a session */

static const char config[] =
	"limits:\n"
	"  max_sessions: 3\n"
	"  max_sessions_per_uid: 2\n"
	"  max_sockets_per_uid: 4\n"
	"policy:\n"
	"  - name: everyone\n"
	"    match: { any: true }\n"
	"    action: allow\n";

/* sb_open() refused by @limit (and not by a longer name starting with it). */
static void check_open_refused(sb_client *c, int e, const char *who, const char *limit,
			       const char *not_limit)
{
	const char *msg = it_sberr();

	CHECK(c == NULL, "%s: sb_open past %s returned a client", who, limit);
	CHECK(e == EMFILE || e == ENOBUFS, "%s: sb_open past %s: errno %d (%s), want EMFILE "
	      "or ENOBUFS (RESOURCE_EXHAUSTED, contract rule 3)", who, limit, e, strerror(e));
	CHECK(strstr(msg, limit) && (!not_limit || !strstr(msg, not_limit)),
	      "%s: sb_open past %s: sb_last_error \"%s\" does not name the limit", who, limit,
	      msg);
	if (c)
		sb_close_client(c);
}

static void check_sock_refused(int x, int e, const char *who, const char *what)
{
	const char *msg = it_sberr();

	CHECK(x == -1 && e == EMFILE, "%s: %s past max_sockets_per_uid: %d (%s), want -1 "
	      "EMFILE", who, what, x, strerror(e));
	CHECK(strstr(msg, "max_sockets_per_uid") != NULL, "%s: %s: sb_last_error \"%s\" does "
	      "not name max_sockets_per_uid", who, what, msg);
}

/* ---- the child: uid 65534 ---- */

static int child_main(const char *target)
{
	int s[UID_SOCKS], i, x, e;
	sb_client *n1, *n2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(30);
	if (it_drop_privileges(NOBODY, NOBODY) < 0)
		return 1;
	/* Root holds its two sessions: the per-uid limit is per uid. */
	n1 = sb_open(target);
	if (!CHECK(n1 != NULL, "uid %d: sb_open while root holds 2 sessions: %s %s", NOBODY,
		   strerror(errno), it_sberr()))
		return 1;
	/* Root holds its 4 sockets: this uid has its own 4. */
	for (i = 0; i < UID_SOCKS; i++) {
		s[i] = sb_socket(n1, AF_INET, SOCK_DGRAM, 0);
		CHECK(s[i] >= 0, "uid %d: socket %d of %d while root holds %d: %s %s", NOBODY,
		      i + 1, UID_SOCKS, UID_SOCKS, strerror(errno), it_sberr());
	}
	errno = 0;
	x = sb_socket(n1, AF_INET, SOCK_DGRAM, 0);
	e = errno;
	check_sock_refused(x, e, "uid 65534", "socket 5");
	if (x >= 0)
		sb_close(n1, x);

	/* Three sessions in the broker: the fourth is max_sessions. */
	errno = 0;
	n2 = sb_open(target);
	e = errno;
	check_open_refused(n2, e, "uid 65534", "max_sessions", "max_sessions_per_uid");

	/* Closing a session frees its place (and its sockets). */
	sb_close_client(n1);
	n1 = sb_open(target);
	if (CHECK(n1 != NULL, "uid %d: sb_open after closing the first session: %s %s",
		  NOBODY, strerror(errno), it_sberr())) {
		for (i = 0; i < UID_SOCKS; i++) {
			s[i] = sb_socket(n1, AF_INET, SOCK_DGRAM, 0);
			CHECK(s[i] >= 0, "uid %d: socket %d after the old session's sockets "
			      "were released: %s %s", NOBODY, i + 1, strerror(errno), it_sberr());
		}
		sb_close_client(n1);
	}
	return it_failures() ? 1 : 0;
}

/* ---- the parent: root ---- */

static grpc_channel *ch;

static Sockbroker__V1__GetStatsReply *stats(void)
{
	return it_stats(ch);
}

static void check_open_counts(const char *when, uint64_t sessions, uint64_t sockets)
{
	Sockbroker__V1__GetStatsReply *st = stats();

	if (!CHECK(st != NULL, "%s: GetStats", when))
		return;
	CHECK(st->sessions_open == sessions && st->sockets_open == sockets,
	      "%s: sessions_open %llu sockets_open %llu, want %llu and %llu", when,
	      (unsigned long long)st->sessions_open, (unsigned long long)st->sockets_open,
	      (unsigned long long)sessions, (unsigned long long)sockets);
	sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	Sockbroker__V1__GetStatsReply *st;
	const Sockbroker__V1__IdentityStats *id;
	struct it_broker b;
	sb_client *c1, *c2, *c3;
	int a[3], bb[2], sv[2], l = -1, x, e, nfd = -1, status;
	uint64_t hits0 = 0;
	socklen_t len;
	char buf[4];

	if (argc == 3 && !strcmp(argv[1], "--as-nobody"))
		return child_main(argv[2]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getuid() != 0)
		it_skip("needs root to run a client as uid %d", NOBODY);
	if (it_broker_start(&b, config) < 0)
		return 1;
	it_watchdog(&b, 55);
	if (!CHECK(chmod(b.dir, 0755) == 0 && chmod(b.sock, 0666) == 0, "chmod %s: %s",
		   b.sock, strerror(errno)))
		return it_teardown(&b, NULL);
	ch = it_channel(&b);
	st = stats();
	if (CHECK(st != NULL, "GetStats before")) {
		hits0 = st->limits_hit;
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	}

	/* max_sessions_per_uid: 2. */
	c1 = sb_open(b.target);
	c2 = sb_open(b.target);
	if (!CHECK(c1 && c2, "root: two sessions: %s %s", strerror(errno), it_sberr()))
		goto out;
	errno = 0;
	c3 = sb_open(b.target);
	e = errno;
	check_open_refused(c3, e, "root", "max_sessions_per_uid", NULL);
	c3 = NULL;
	check_open_counts("after the refused session", 2, 0);

	/* max_sockets_per_uid: 4, two in each session. */
	a[0] = sb_socket(c1, AF_INET, SOCK_DGRAM, 0);
	l = sb_socket(c1, AF_INET, SOCK_STREAM, 0);
	bb[0] = sb_socket(c2, AF_INET, SOCK_DGRAM, 0);
	bb[1] = sb_socket(c2, AF_INET, SOCK_DGRAM, 0);
	if (!CHECK(a[0] >= 0 && l >= 0 && bb[0] >= 0 && bb[1] >= 0, "root: 4 sockets: %s %s",
		   strerror(errno), it_sberr()))
		goto out;
	len = it_addr4(&ss, "127.0.0.1", 0);
	CHECK(sb_bind(c1, l, (struct sockaddr *)&ss, len) == 0 && sb_listen(c1, l, 4) == 0,
	      "root: listener: %s %s", strerror(errno), it_sberr());
	len = sizeof(ss);
	sb_getsockname(c1, l, (struct sockaddr *)&ss, &len);
	errno = 0;
	x = sb_socket(c1, AF_INET, SOCK_DGRAM, 0);
	e = errno;
	check_sock_refused(x, e, "root session 1", "socket 5");
	errno = 0;
	x = sb_socket(c2, AF_INET, SOCK_DGRAM, 0);
	e = errno;
	check_sock_refused(x, e, "root session 2", "socket 5");
	errno = 0;
	x = sb_socketpair(c1, AF_UNIX, SOCK_STREAM, 0, sv);
	e = errno;
	check_sock_refused(x, e, "root session 1", "socketpair");
	/* accept: refused, and the connection stays queued. */
	nfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(nfd >= 0 && connect(nfd, (struct sockaddr *)&ss, len) == 0,
	      "native connect to the broker's listener: %s", strerror(errno));
	errno = 0;
	x = sb_accept(c1, l, NULL, NULL);
	e = errno;
	check_sock_refused(x, e, "root session 1", "accept");
	CHECK(it_read_some(nfd, buf, sizeof(buf), 200) < 0 && errno == ETIMEDOUT,
	      "the refused accept closed the pending connection");
	check_open_counts("at max_sockets_per_uid", 2, UID_SOCKS);

	/* Another uid: its own sessions and sockets, the global session limit. */
	status = it_run_self((char *[]){ argv[0], (char *)"--as-nobody", b.target, NULL },
			     40000);
	CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the uid %d client failed (status 0x%x)", NOBODY, (unsigned)status);
	check_open_counts("after the uid 65534 client", 2, UID_SOCKS);

	/* Closing a socket of session 2 frees a place for session 1: accept. */
	CHECK(sb_close(c2, bb[1]) == 0, "root: close: %s", strerror(errno));
	bb[1] = -1;
	x = sb_accept(c1, l, NULL, NULL);
	CHECK(x >= 0, "root: accept with a place free again: %s %s", strerror(errno),
	      it_sberr());
	if (x >= 0) {
		CHECK(it_write_full(nfd, "abc", 3) == 0 && it_sb_recv_all(c1, x, buf, 3, 5000) == 0 &&
		      !memcmp(buf, "abc", 3), "root: the connection that waited in the queue "
		      "carries data: %s %s", strerror(errno), it_sberr());
		a[1] = x;
	} else {
		a[1] = -1;
	}
	/* Ending session 2 (one socket) frees a place and a session. */
	sb_close_client(c2);
	c2 = NULL;
	a[2] = sb_socket(c1, AF_INET, SOCK_DGRAM, 0);
	CHECK(a[2] >= 0, "root: socket after session 2 ended: %s %s", strerror(errno),
	      it_sberr());
	/* A new session shares the uid's count: no place for it. */
	c3 = sb_open(b.target);
	if (CHECK(c3 != NULL, "root: sb_open after session 2 ended: %s %s", strerror(errno),
		  it_sberr())) {
		errno = 0;
		x = sb_socket(c3, AF_INET, SOCK_DGRAM, 0);
		e = errno;
		check_sock_refused(x, e, "root session 3", "its first socket");
		CHECK(sb_close(c1, a[0]) == 0, "root: close: %s", strerror(errno));
		a[0] = -1;
		x = sb_socket(c3, AF_INET, SOCK_DGRAM, 0);
		CHECK(x >= 0, "root session 3: socket once session 1 closed one: %s %s",
		      strerror(errno), it_sberr());
		errno = 0;
		x = sb_socket(c3, AF_INET, SOCK_DGRAM, 0);
		e = errno;
		check_sock_refused(x, e, "root session 3", "socket 5");
	}

	st = stats();
	if (CHECK(st != NULL, "GetStats after")) {
		CHECK(st->limits_hit >= hits0 + ROOT_HITS + CHILD_HITS,
		      "limits_hit %llu -> %llu, want at least %d more",
		      (unsigned long long)hits0, (unsigned long long)st->limits_hit,
		      ROOT_HITS + CHILD_HITS);
		id = it_find_identity(st, "uid:0");
		CHECK(id && id->limited >= ROOT_HITS, "GetStats uid:0: %s limited %llu, want "
		      ">= %d", id ? "found" : "missing",
		      id ? (unsigned long long)id->limited : 0ULL, ROOT_HITS);
		CHECK(id && id->sessions_open == 2 && id->sockets_open == UID_SOCKS,
		      "GetStats uid:0: sessions_open %llu sockets_open %llu, want 2 and %d",
		      id ? (unsigned long long)id->sessions_open : 0ULL,
		      id ? (unsigned long long)id->sockets_open : 0ULL, UID_SOCKS);
		id = it_find_identity(st, "uid:65534");
		CHECK(id && id->limited >= CHILD_HITS && id->sessions_open == 0 &&
		      id->sockets_open == 0, "GetStats uid:65534: %s limited %llu "
		      "sessions_open %llu sockets_open %llu, want limited >= %d and nothing open",
		      id ? "found" : "missing", id ? (unsigned long long)id->limited : 0ULL,
		      id ? (unsigned long long)id->sessions_open : 0ULL,
		      id ? (unsigned long long)id->sockets_open : 0ULL, CHILD_HITS);
		it_note("limits_hit %llu -> %llu", (unsigned long long)hits0,
			(unsigned long long)st->limits_hit);
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	}
	sb_close_client(c3);
	c3 = NULL;
	check_open_counts("after session 3 ended", 1, 3);

	/* Still serving: a full session and a socket as before. */
	c3 = sb_open(b.target);
	if (CHECK(c3 != NULL, "root: sb_open at the end: %s %s", strerror(errno), it_sberr())) {
		x = sb_socket(c3, AF_INET, SOCK_DGRAM, 0);
		CHECK(x >= 0, "root: socket at the end: %s %s", strerror(errno), it_sberr());
		sb_close_client(c3);
	}
out:
	if (nfd >= 0)
		close(nfd);
	sb_close_client(c2);
	sb_close_client(c1);
	check_open_counts("at the end", 0, 0);
	grpc_channel_destroy(ch);
	return it_teardown(&b, NULL);
}
