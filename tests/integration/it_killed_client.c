/* SPDX-License-Identifier: MIT
 * it_killed_client.c - a client process that is SIGKILLed leaves nothing
 * behind in the broker.
 *
 * The test runs itself again as a child (`it_killed_client --child
 * TARGET`, started with posix_spawn so that no gRPC state is forked). The
 * child opens a session and several sockets - a listening TCP port, a
 * connection to it and its accepted end, a UDP socket, a socketpair - and
 * reports the port on fd 3. The parent checks GetStats and that the port
 * is taken, SIGKILLs the child, and then wants within 1 s: sockets_open
 * and sessions_open back to the baseline, and the port free to bind again.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it_client.h"

extern char **environ;

static int child(const char *target)
{
	struct sockaddr_storage ss, peer;
	socklen_t len, plen = sizeof(peer);
	sb_client *c = sb_open(target);
	int l, s, a, u, sv[2], one = 1;
	FILE *report = fdopen(3, "w");

	if (!c || !report)
		return 2;
	l = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	len = it_addr4(&ss, "127.0.0.1", 0);
	/* SO_REUSEADDR (inherited by the accepted socket) lets the parent
	 * bind the port again while a closed connection is in TIME_WAIT. */
	if (l < 0 || sb_setsockopt(c, l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    sb_bind(c, l, (struct sockaddr *)&ss, len) < 0 || sb_listen(c, l, 4) < 0)
		return 3;
	len = sizeof(ss);
	sb_getsockname(c, l, (struct sockaddr *)&ss, &len);
	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (s < 0 || sb_connect(c, s, (struct sockaddr *)&ss, len) < 0)
		return 4;
	a = sb_accept(c, l, (struct sockaddr *)&peer, &plen);
	u = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	if (a < 0 || u < 0 || sb_socketpair(c, AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 5;
	fprintf(report, "PORT %u\n", it_port(&ss));
	fclose(report);
	/* Wait to be killed; never longer than 30 s. */
	sleep(30);
	return 6;
}

static int bind_port(uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = it_addr4(&ss, "127.0.0.1", port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, r, e;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* With SO_REUSEADDR, bind conflicts only with a listening socket:
	 * the closed connections' TIME_WAIT/FIN_WAIT ends do not count. */
	r = bind(fd, (struct sockaddr *)&ss, len);
	e = errno;
	close(fd);
	errno = e;
	return r;
}

int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	Sockbroker__V1__GetStatsReply *st;
	uint64_t base_sockets = 0, base_sessions = 0;
	struct it_broker b;
	grpc_channel *ch;
	int pipefd[2], status, rebound = 0;
	char *args[4], line[64] = "";
	unsigned port = 0;
	int64_t t0, el = -1;
	pid_t pid;

	if (argc == 3 && !strcmp(argv[1], "--child"))
		return child(argv[2]);

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (it_broker_start(&b, NULL) < 0)
		return 1;
	it_watchdog(&b, 30);
	ch = it_channel(&b);
	st = it_stats(ch);
	if (!CHECK(st != NULL, "GetStats before the child"))
		goto out;
	base_sockets = st->sockets_open;
	base_sessions = st->sessions_open;
	sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		goto out;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 3);
	args[0] = argv[0];
	args[1] = (char *)"--child";
	args[2] = b.target;
	args[3] = NULL;
	if (!CHECK(posix_spawn(&pid, "/proc/self/exe", &fa, NULL, args, environ) == 0,
		   "posix_spawn: %s", strerror(errno))) {
		posix_spawn_file_actions_destroy(&fa);
		goto out;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (it_read_some(pipefd[0], line, sizeof(line) - 1, 10000) <= 0 ||
	    sscanf(line, "PORT %u", &port) != 1) {
		CHECK(0, "the child did not report its sockets (got \"%s\")", line);
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		close(pipefd[0]);
		goto out;
	}
	close(pipefd[0]);

	st = it_stats(ch);
	if (CHECK(st != NULL, "GetStats with the child alive")) {
		CHECK(st->sockets_open >= base_sockets + 6 && st->sessions_open >= base_sessions + 1,
		      "with the child's 6 sockets: sockets_open %llu, sessions_open %llu "
		      "(baseline %llu, %llu)", (unsigned long long)st->sockets_open,
		      (unsigned long long)st->sessions_open, (unsigned long long)base_sockets,
		      (unsigned long long)base_sessions);
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	}
	CHECK(bind_port((uint16_t)port) < 0 && errno == EADDRINUSE,
	      "port %u should be taken by the child's broker listener", port);

	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	      "the child should have died of SIGKILL (status 0x%x)", (unsigned)status);

	/* Within 1 s: stats back to the baseline and the port free. */
	t0 = it_now_ms();
	for (;;) {
		st = it_stats(ch);
		if (st && st->sockets_open == base_sockets && st->sessions_open == base_sessions &&
		    (rebound || (rebound = bind_port((uint16_t)port) == 0))) {
			el = it_now_ms() - t0;
			sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
			break;
		}
		if (it_now_ms() - t0 > 1000) {
			CHECK(0, "1 s after SIGKILL: sockets_open %llu (baseline %llu), "
			      "sessions_open %llu (baseline %llu), port %u %s",
			      st ? (unsigned long long)st->sockets_open : 0ULL,
			      (unsigned long long)base_sockets,
			      st ? (unsigned long long)st->sessions_open : 0ULL,
			      (unsigned long long)base_sessions, port,
			      rebound ? "free" : "still bound");
			if (st)
				sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
			break;
		}
		if (st)
			sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
		it_sleep_ms(20);
	}
	if (el >= 0)
		it_note("broker cleaned up the killed client's session in %lld ms", (long long)el);
out:
	grpc_channel_destroy(ch);
	CHECK(it_broker_stop(&b) == 0, "broker did not stop cleanly");
	return it_result();
}
