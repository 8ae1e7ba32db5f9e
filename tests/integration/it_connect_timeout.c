/* SPDX-License-Identifier: MIT
 * it_connect_timeout.c - sb_connect_timeout to an address that never
 * answers fails with ETIMEDOUT after about the time asked for, and the
 * broker goes on serving.
 *
 * "Never answers" is made reliable without touching the host: the test
 * moves itself into a new network namespace (unshare(CLONE_NEWNET)),
 * brings loopback up and routes 198.51.100.0/24 (TEST-NET-2) to it; SYNs
 * to 198.51.100.2 are then dropped as martians, so a connect waits
 * forever. The broker is started after the move and so runs in the same
 * namespace. Skipped (77) when the kernel refuses the namespace or route.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it_client.h"

#define BLACKHOLE "198.51.100.2"

static int run(const char *cmd)
{
	int st = system(cmd);

	return st == 0 ? 0 : -1;
}

/* Prove the namespace drops SYNs: a native connect is still pending. */
static int native_never_answers(void)
{
	struct sockaddr_storage ss;
	socklen_t len = it_addr4(&ss, BLACKHOLE, 80);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), ok;
	struct pollfd p;

	if (fd < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&ss, len) < 0 && errno == EINPROGRESS;
	p = (struct pollfd){ .fd = fd, .events = POLLOUT };
	ok = ok && poll(&p, 1, 300) == 0;
	close(fd);
	return ok;
}

int main(void)
{
	struct sockaddr_storage ss, lis;
	socklen_t len, lislen;
	struct it_broker b;
	sb_client *c;
	int64_t t0, el;
	int s, r, lfd, e;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (unshare(CLONE_NEWNET) < 0) {
		printf("SKIP: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 77;
	}
	if (run("ip link set lo up") < 0 || run("ip route add 198.51.100.0/24 dev lo") < 0) {
		printf("SKIP: cannot set up loopback and a route in the new namespace\n");
		return 77;
	}
	if (!native_never_answers()) {
		printf("SKIP: a native connect to %s does not stay pending here\n", BLACKHOLE);
		return 77;
	}

	c = it_setup(&b, NULL, 30);
	len = it_addr4(&ss, BLACKHOLE, 80);

	/* 300 ms asked: ETIMEDOUT after 300 ms, well before a TCP give-up. */
	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (CHECK(s >= 0, "sb_socket: %s %s", strerror(errno), it_sberr())) {
		t0 = it_now_ms();
		errno = 0;
		r = sb_connect_timeout(c, s, (struct sockaddr *)&ss, len, 300);
		e = errno;
		el = it_now_ms() - t0;
		CHECK(r == -1 && e == ETIMEDOUT, "sb_connect_timeout(%s, 300 ms): %d (%s), want "
		      "-1 ETIMEDOUT (%s)", BLACKHOLE, r, strerror(e), it_sberr());
		CHECK(el >= 250 && el < 3000, "sb_connect_timeout(300 ms) returned after %lld ms",
		      (long long)el);
		CHECK(sb_close(c, s) == 0, "sb_close after ETIMEDOUT: %s", strerror(errno));
	}

	/* A second one on a fresh socket, shorter: the first left no state. */
	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (CHECK(s >= 0, "sb_socket: %s", strerror(errno))) {
		t0 = it_now_ms();
		errno = 0;
		r = sb_connect_timeout(c, s, (struct sockaddr *)&ss, len, 100);
		e = errno;
		el = it_now_ms() - t0;
		CHECK(r == -1 && e == ETIMEDOUT && el >= 80 && el < 3000,
		      "sb_connect_timeout(100 ms): %d (%s) after %lld ms", r, strerror(e),
		      (long long)el);
		sb_close(c, s);
	}

	/* The broker still serves: a connect that can succeed, with a timeout. */
	lfd = it_native_listener(AF_INET, "127.0.0.1", &lis, &lislen);
	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (CHECK(lfd >= 0 && s >= 0, "listener/socket: %s", strerror(errno))) {
		r = sb_connect_timeout(c, s, (struct sockaddr *)&lis, lislen, 2000);
		CHECK(r == 0, "sb_connect_timeout to a listener: %d (%s)", r, strerror(errno));
	}
	if (s >= 0)
		sb_close(c, s);
	if (lfd >= 0)
		close(lfd);
	return it_teardown(&b, c);
}
