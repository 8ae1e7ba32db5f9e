/* SPDX-License-Identifier: MIT
 * it_unix_long_path.c - Unix socket paths of 108 bytes, which fill sun_path
 * and have no terminating NUL, through the broker exactly as the kernel
 * takes and reports them.
 *
 * The kernel binds and connects such a path with an address length of
 * sizeof(struct sockaddr_un) (110) and reports it with the NUL counted
 * (111). The same calls through libsockbroker must give the same results:
 * bind, connect and sendto accept it; getsockname, getpeername, accept and
 * recvfrom give the kernel's length and bytes, both into a
 * sockaddr_storage and into a sockaddr_un (110 bytes copied, 111 reported).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "it_client.h"

#define SUN_OFF offsetof(struct sockaddr_un, sun_path)
#define PATHLEN sizeof(((struct sockaddr_un *)0)->sun_path)

static char dir[] = "/tmp/sb-lp-XXXXXX";

/* A 108-byte path in the test's directory, ending in @tag's letter. */
static socklen_t long_path(struct sockaddr_un *un, char tag, char path[PATHLEN + 1])
{
	size_t n = strlen(dir);

	memset(un, 0, sizeof(*un));
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, dir, n);
	un->sun_path[n] = '/';
	memset(un->sun_path + n + 1, tag, PATHLEN - n - 1);
	memcpy(path, un->sun_path, PATHLEN);
	path[PATHLEN] = '\0';
	return sizeof(*un);
}

/* The broker's answer (@got, @glen) must equal the kernel's (@want, @wlen). */
static void same_addr(const char *what, const void *got, socklen_t glen,
		      const void *want, socklen_t wlen, size_t room)
{
	size_t n = glen < room ? glen : room;

	CHECK(glen == wlen, "%s: length %u, the kernel reports %u", what,
	      (unsigned)glen, (unsigned)wlen);
	CHECK(glen == SUN_OFF + PATHLEN + 1, "%s: length %u, want %zu", what,
	      (unsigned)glen, SUN_OFF + PATHLEN + 1);
	CHECK(memcmp(got, want, n) == 0, "%s: the address bytes differ from the kernel's",
	      what);
}

/* getsockname/getpeername of broker socket @s against a native socket's
 * getsockname (@fd), into both buffer sizes. */
static void name_vs(sb_client *c, int s, int peer, int fd, const char *what)
{
	struct sockaddr_storage got, want;
	struct sockaddr_un gun, wun;
	socklen_t glen = sizeof(got), wlen = sizeof(want);
	int r;

	memset(&got, 0xee, sizeof(got));
	memset(&want, 0xee, sizeof(want));
	r = peer ? sb_getpeername(c, s, (struct sockaddr *)&got, &glen)
		 : sb_getsockname(c, s, (struct sockaddr *)&got, &glen);
	CHECK(r == 0, "%s: %s %s", what, strerror(errno), it_sberr());
	CHECK(getsockname(fd, (struct sockaddr *)&want, &wlen) == 0, "native getsockname");
	same_addr(what, &got, glen, &want, wlen, sizeof(got));
	memset(&gun, 0xee, sizeof(gun));
	memset(&wun, 0xee, sizeof(wun));
	glen = wlen = sizeof(gun);
	r = peer ? sb_getpeername(c, s, (struct sockaddr *)&gun, &glen)
		 : sb_getsockname(c, s, (struct sockaddr *)&gun, &glen);
	CHECK(r == 0 && getsockname(fd, (struct sockaddr *)&wun, &wlen) == 0,
	      "%s into a sockaddr_un", what);
	same_addr(what, &gun, glen, &wun, wlen, sizeof(gun));
}

static void dgram(sb_client *c)
{
	struct sockaddr_un a1, a2, src;
	struct sockaddr_storage from;
	char p1[PATHLEN + 1], p2[PATHLEN + 1], buf[16];
	socklen_t l1 = long_path(&a1, 'a', p1), l2 = long_path(&a2, 'b', p2), fl, sl;
	int s, fd;
	ssize_t n;

	s = sb_socket(c, AF_UNIX, SOCK_DGRAM, 0);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (!CHECK(s >= 0 && fd >= 0, "sockets: %s", strerror(errno)))
		return;
	CHECK(bind(fd, (struct sockaddr *)&a2, l2) == 0, "native bind: %s", strerror(errno));
	if (!CHECK(sb_bind(c, s, (struct sockaddr *)&a1, l1) == 0,
		   "sb_bind of a 108-byte path: %s %s", strerror(errno), it_sberr()))
		goto out;
	CHECK(access(p1, F_OK) == 0, "the broker's socket file %s is missing", p1);

	/* The broker's socket name against the kernel's for a twin path. */
	{
		struct sockaddr_storage got;
		socklen_t glen = sizeof(got);

		memset(&got, 0xee, sizeof(got));
		CHECK(sb_getsockname(c, s, (struct sockaddr *)&got, &glen) == 0,
		      "sb_getsockname: %s", it_sberr());
		CHECK(glen == SUN_OFF + PATHLEN + 1, "sb_getsockname: length %u", (unsigned)glen);
		CHECK(!memcmp(((struct sockaddr_un *)&got)->sun_path, a1.sun_path, PATHLEN) &&
		      ((uint8_t *)&got)[SUN_OFF + PATHLEN] == 0,
		      "sb_getsockname: path bytes and NUL");
	}

	/* Native -> broker: recvfrom reports the sender as the kernel does. */
	CHECK(sendto(fd, "ping", 4, 0, (struct sockaddr *)&a1, l1) == 4,
	      "native sendto: %s", strerror(errno));
	fl = sizeof(from);
	memset(&from, 0xee, sizeof(from));
	n = sb_recvfrom(c, s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
	CHECK(n == 4, "sb_recvfrom: %zd %s", n, it_sberr());
	{
		struct sockaddr_storage want;
		socklen_t wlen = sizeof(want);

		memset(&want, 0xee, sizeof(want));
		CHECK(getsockname(fd, (struct sockaddr *)&want, &wlen) == 0, "getsockname");
		same_addr("sb_recvfrom source", &from, fl, &want, wlen, sizeof(from));
	}

	/* Broker -> native: sendto the 108-byte path; the native side sees
	 * the broker's 108-byte name. */
	CHECK(sb_sendto(c, s, "pong", 4, 0, (struct sockaddr *)&a2, l2) == 4,
	      "sb_sendto a 108-byte path: %s %s", strerror(errno), it_sberr());
	sl = sizeof(src);
	memset(&src, 0xee, sizeof(src));
	{
		struct pollfd p = { .fd = fd, .events = POLLIN };

		CHECK(poll(&p, 1, 3000) == 1, "native socket: no datagram in 3 s");
	}
	n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&src, &sl);
	CHECK(n == 4 && sl == SUN_OFF + PATHLEN + 1 && !memcmp(src.sun_path, a1.sun_path, PATHLEN),
	      "native recvfrom: %zd, length %u", n, (unsigned)sl);
out:
	close(fd);
	sb_close(c, s);
	unlink(p1);
	unlink(p2);
}

static void stream(sb_client *c)
{
	struct sockaddr_un a3, a4, a5, a6;
	struct sockaddr_storage peer, want;
	char p3[PATHLEN + 1], p4[PATHLEN + 1], p5[PATHLEN + 1], p6[PATHLEN + 1];
	socklen_t l3 = long_path(&a3, 'c', p3), l4 = long_path(&a4, 'd', p4);
	socklen_t l5 = long_path(&a5, 'e', p5), l6 = long_path(&a6, 'f', p6), pl, wl;
	int lfd = -1, afd = -1, cfd = -1, s = -1, ls = -1, as = -1;

	/* Broker client (bound to p4) -> native listener at p3. */
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&a3, l3) == 0 &&
		   listen(lfd, 4) == 0, "native listener: %s", strerror(errno)))
		goto out;
	s = sb_socket(c, AF_UNIX, SOCK_STREAM, 0);
	CHECK(s >= 0 && sb_bind(c, s, (struct sockaddr *)&a4, l4) == 0,
	      "sb_bind: %s", it_sberr());
	if (!CHECK(sb_connect(c, s, (struct sockaddr *)&a3, l3) == 0,
		   "sb_connect to a 108-byte path: %s %s", strerror(errno), it_sberr()))
		goto out;
	pl = sizeof(peer);
	afd = it_native_accept(lfd, &peer, &pl, 3000);
	CHECK(afd >= 0 && pl == SUN_OFF + PATHLEN + 1 &&
	      !memcmp(((struct sockaddr_un *)&peer)->sun_path, a4.sun_path, PATHLEN),
	      "native accept: the peer is the broker socket's 108-byte path");
	name_vs(c, s, 1, lfd, "sb_getpeername");

	/* Native client (bound to p6) -> broker listener at p5. */
	ls = sb_socket(c, AF_UNIX, SOCK_STREAM, 0);
	if (!CHECK(ls >= 0 && sb_bind(c, ls, (struct sockaddr *)&a5, l5) == 0 &&
		   sb_listen(c, ls, 4) == 0, "broker listener: %s", it_sberr()))
		goto out;
	cfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(cfd >= 0 && bind(cfd, (struct sockaddr *)&a6, l6) == 0 &&
	      connect(cfd, (struct sockaddr *)&a5, l5) == 0, "native connect: %s",
	      strerror(errno));
	pl = sizeof(peer);
	memset(&peer, 0xee, sizeof(peer));
	as = sb_accept(c, ls, (struct sockaddr *)&peer, &pl);
	CHECK(as >= 0, "sb_accept: %s", it_sberr());
	wl = sizeof(want);
	memset(&want, 0xee, sizeof(want));
	CHECK(getsockname(cfd, (struct sockaddr *)&want, &wl) == 0, "getsockname");
	same_addr("sb_accept peer", &peer, pl, &want, wl, sizeof(peer));
	if (as >= 0)
		name_vs(c, as, 1, cfd, "sb_getpeername of the accepted socket");
out:
	if (afd >= 0)
		close(afd);
	if (cfd >= 0)
		close(cfd);
	if (lfd >= 0)
		close(lfd);
	if (as >= 0)
		sb_close(c, as);
	if (ls >= 0)
		sb_close(c, ls);
	if (s >= 0)
		sb_close(c, s);
	unlink(p3);
	unlink(p4);
	unlink(p5);
	unlink(p6);
}

int main(void)
{
	struct it_broker b;
	sb_client *c;

	if (!mkdtemp(dir)) {
		printf("FAIL: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	c = it_setup(&b, NULL, 30);
	dgram(c);
	stream(c);
	rmdir(dir);
	return it_teardown(&b, c);
}
