/* SPDX-License-Identifier: MIT
 * it_policy_default.c - the embedded default policy (no config file): one
 * rule "owner" serving the broker's uid and root, nobody else
 * (server/policy.c sb__policy_build_default(), deploy/sockbrokerd.yaml).
 *
 * The broker's socket file and directory are opened up (0666 / 0755) so
 * that only the policy stands between uid 65534 and the broker. A client
 * re-executed as uid/gid 65534 asserts:
 *  - sb_open() is NULL with errno EACCES and sb_last_error() says the uid
 *    is not served (the refusal comes at OpenSession, before any session);
 *  - a raw GetStats and a raw Socket without a session are refused as well:
 *    PERMISSION_DENIED with sb-errno EACCES (13), "not served".
 * Then root (the owner) is served everything that needs no naming: a
 * session, an AF_INET TCP connection with data both ways, bind + listen,
 * getifaddrs; SO_BINDTODEVICE (named only, rule 6) is EACCES by rule
 * "default" even for root. GetStats: policy_denied and
 * connections_refused_policy count the refused connections, "uid:65534"
 * has them as denied and connections_refused, and holds no session and no
 * connection.
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
#define CHILD_DENIALS 2	/* a connection of each channel, at least */

static int child_main(const char *target)
{
	Sockbroker__V1__SocketRequest sreq = SOCKBROKER__V1__SOCKET_REQUEST__INIT;
	Sockbroker__V1__GetStatsRequest greq = SOCKBROKER__V1__GET_STATS_REQUEST__INIT;
	struct it_broker tb;
	struct it_reply r;
	grpc_channel *ch;
	sb_client *c;
	int e;

	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(30);
	if (it_drop_privileges(NOBODY, NOBODY) < 0)
		return 1;

	errno = 0;
	c = sb_open(target);
	e = errno;
	CHECK(c == NULL && e == ECONNREFUSED, "uid %d: sb_open with the default policy: "
	      "%s (errno %s), want NULL with ECONNREFUSED", NOBODY, c ? "a session" : "NULL",
	      strerror(e));
	if (c)
		sb_close_client(c);

	memset(&tb, 0, sizeof(tb));
	snprintf(tb.target, sizeof(tb.target), "%s", target);
	ch = it_channel(&tb);
	if (CHECK(it_call(ch, IT_SVC "GetStats", &greq.base, NULL, 5000, &r) == 0,
		  "uid %d: raw GetStats did not complete", NOBODY)) {
		CHECK(r.status == GRPC_STATUS_UNAVAILABLE && r.sb_errno == -1,
		      "uid %d: raw GetStats: %s sb-errno %d \"%s\", want UNAVAILABLE and "
		      "no sb-errno", NOBODY, it_status_name(r.status), r.sb_errno, r.details);
		it_reply_free(&r);
	}
	sreq.family = SOCKBROKER__V1__ADDRESS_FAMILY__AF_INET;
	sreq.type = SOCKBROKER__V1__SOCKET_TYPE__SOCK_STREAM;
	if (CHECK(it_call(ch, IT_SVC "Socket", &sreq.base, "0123456789abcdef0123456789abcdef",
			  5000, &r) == 0, "uid %d: raw Socket did not complete", NOBODY)) {
		CHECK(r.status == GRPC_STATUS_UNAVAILABLE && r.sb_errno == -1,
		      "uid %d: raw Socket: %s sb-errno %d \"%s\", want UNAVAILABLE and no "
		      "sb-errno", NOBODY, it_status_name(r.status), r.sb_errno, r.details);
		it_reply_free(&r);
	}
	grpc_channel_destroy(ch);
	return it_failures() ? 1 : 0;
}

static void root_phase(struct it_broker *b)
{
	struct sockaddr_storage ss;
	struct ifaddrs *ifa = NULL;
	socklen_t len;
	sb_client *c;
	char buf[8] = "";
	int l, s, fd, x;

	c = sb_open(b->target);
	if (!CHECK(c != NULL, "root: sb_open with the default policy: %s %s", strerror(errno),
		   it_sberr()))
		return;
	l = it_native_listener(AF_INET, "127.0.0.1", &ss, &len);
	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (CHECK(l >= 0 && s >= 0, "root: sockets: %s %s", strerror(errno), it_sberr()) &&
	    CHECK(sb_connect(c, s, (struct sockaddr *)&ss, len) == 0, "root: connect: %s %s",
		  strerror(errno), it_sberr())) {
		fd = it_native_accept(l, NULL, NULL, 5000);
		if (CHECK(fd >= 0, "root: native accept: %s", strerror(errno))) {
			CHECK(it_sb_send_all(c, s, "ping", 4, 5000) == 0 &&
			      it_read_full(fd, buf, 4, 5000) == 0 && !memcmp(buf, "ping", 4) &&
			      it_write_full(fd, "pong", 4) == 0 &&
			      it_sb_recv_all(c, s, buf, 4, 5000) == 0 && !memcmp(buf, "pong", 4),
			      "root: data both ways: %s %s", strerror(errno), it_sberr());
			close(fd);
		}
	}
	if (s >= 0)
		sb_close(c, s);
	if (l >= 0)
		close(l);

	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (CHECK(s >= 0, "root: socket: %s", strerror(errno))) {
		len = it_addr4(&ss, "127.0.0.1", 0);
		CHECK(sb_bind(c, s, (struct sockaddr *)&ss, len) == 0 && sb_listen(c, s, 4) == 0,
		      "root: bind + listen: %s %s", strerror(errno), it_sberr());
		errno = 0;
		x = sb_setsockopt(c, s, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3);
		CHECK(x == -1 && errno == EACCES && strstr(it_sberr(), "\"default"),
		      "root: SO_BINDTODEVICE under the default policy: %d %s \"%s\", want -1 "
		      "EACCES by rule default (named only)", x, strerror(errno), it_sberr());
		sb_close(c, s);
	}
	x = sb_getifaddrs(c, &ifa);
	CHECK(x == 0, "root: getifaddrs: %s %s", strerror(errno), it_sberr());
	if (x == 0)
		sb_freeifaddrs(ifa);
	sb_close_client(c);
}

int main(int argc, char **argv)
{
	Sockbroker__V1__GetStatsReply *st;
	const Sockbroker__V1__IdentityStats *id;
	struct it_broker b;
	grpc_channel *ch;
	uint64_t denied0 = 0;
	int status;

	if (argc == 3 && !strcmp(argv[1], "--as-nobody"))
		return child_main(argv[2]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getuid() != 0)
		it_skip("needs root to run a client as uid %d", NOBODY);
	if (it_broker_start(&b, NULL) < 0)
		return 1;
	it_watchdog(&b, 55);
	if (!CHECK(chmod(b.dir, 0755) == 0 && chmod(b.sock, 0666) == 0, "chmod %s: %s",
		   b.sock, strerror(errno)))
		return it_teardown(&b, NULL);
	ch = it_channel(&b);
	st = it_stats(ch);
	if (CHECK(st != NULL, "root: GetStats before")) {
		denied0 = st->policy_denied;
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	}

	status = it_run_self((char *[]){ argv[0], (char *)"--as-nobody", b.target, NULL },
			     40000);
	CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the uid %d client failed (status 0x%x)", NOBODY, (unsigned)status);

	root_phase(&b);

	st = it_stats(ch);
	if (CHECK(st != NULL, "root: GetStats after")) {
		CHECK(st->policy_denied >= denied0 + CHILD_DENIALS + 1,
		      "policy_denied %llu -> %llu, want at least %d more",
		      (unsigned long long)denied0, (unsigned long long)st->policy_denied,
		      CHILD_DENIALS + 1);
		id = it_find_identity(st, "uid:65534");
		CHECK(st->connections_refused_policy >= CHILD_DENIALS,
		      "connections_refused_policy %llu, want at least %d",
		      (unsigned long long)st->connections_refused_policy, CHILD_DENIALS);
		CHECK(id && id->denied >= CHILD_DENIALS && id->sessions_open == 0 &&
		      id->connections_refused >= CHILD_DENIALS && id->connections_open == 0,
		      "GetStats identity uid:65534: %s denied %llu connections_refused %llu "
		      "sessions_open %llu connections_open %llu, want denied and "
		      "connections_refused >= %d, no session, no connection",
		      id ? "found" : "missing", id ? (unsigned long long)id->denied : 0ULL,
		      id ? (unsigned long long)id->connections_refused : 0ULL,
		      id ? (unsigned long long)id->sessions_open : 0ULL,
		      id ? (unsigned long long)id->connections_open : 0ULL, CHILD_DENIALS);
		CHECK(st->sessions_open == 0, "sessions_open %llu at the end, want 0",
		      (unsigned long long)st->sessions_open);
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	}
	grpc_channel_destroy(ch);
	return it_teardown(&b, NULL);
}
