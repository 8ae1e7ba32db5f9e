/* SPDX-License-Identifier: MIT
 * evloop.c - an event loop in the sandbox that registers its sockets in
 * epoll before connect(2) and listen(2), as nginx and Netty do. The socket
 * sockbroker-run puts at the program's fd number must be in those epoll
 * sets, with the program's events and data, and answer EPOLL_CTL_MOD.
 *   sbr_evloop connect PORT   GET /hello.txt from 127.0.0.1:PORT with a
 *                             non-blocking connect: one set (ET, data
 *                             tagged), a second set, and an EPOLLONESHOT
 *                             set; SO_ERROR once writable; prints the body
 *   sbr_evloop listen PORT    listen on 127.0.0.1:PORT registered before
 *                             listen(), print "listening", accept one
 *                             connection through epoll, write "hi"
 * Every wait is bounded (5 s; 20 s for the connection to come). Exit 0 when
 * everything held, 1 with the reason on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define TAG 0x5eedf00d00000000ull

static int fail(const char *what)
{
	fprintf(stderr, "evloop: %s: %s\n", what, errno ? strerror(errno) : "no");
	return 1;
}

/* Wait on @ep for an event of @want; Return: its events, or 0 (timeout). */
static uint32_t wait_for(int ep, uint32_t want, uint64_t tag, int ms)
{
	struct epoll_event e[4];
	int n, i;

	while ((n = epoll_wait(ep, e, 4, ms)) > 0)
		for (i = 0; i < n; i++) {
			if (e[i].data.u64 != tag) {
				fprintf(stderr, "evloop: an event with data %#llx, want %#llx\n",
					(unsigned long long)e[i].data.u64,
					(unsigned long long)tag);
				return 0;
			}
			if (e[i].events & want)
				return e[i].events;
		}
	return 0;
}

static struct sockaddr_in lo_port(const char *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };

	a.sin_port = htons((uint16_t)atoi(port));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static int do_connect(const char *port)
{
	static const char req[] = "GET /hello.txt HTTP/1.0\r\n\r\n";
	struct sockaddr_in a = lo_port(port);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int ep = epoll_create1(EPOLL_CLOEXEC), ep2 = epoll_create1(0), ep3 = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET | EPOLLRDHUP };
	char buf[4096];
	size_t got = 0;
	socklen_t elen = sizeof(int);
	ssize_t n;
	uint32_t r;
	int err = 0;

	if (s < 0 || ep < 0 || ep2 < 0 || ep3 < 0)
		return fail("socket or epoll_create1");
	ev.data.u64 = TAG | (unsigned)s;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) < 0)
		return fail("EPOLL_CTL_ADD");
	ev.events = EPOLLOUT;
	ev.data.u64 = TAG + 2;
	if (epoll_ctl(ep2, EPOLL_CTL_ADD, s, &ev) < 0)
		return fail("EPOLL_CTL_ADD, second set");
	ev.events = EPOLLOUT | EPOLLONESHOT;
	ev.data.u64 = TAG + 3;
	if (epoll_ctl(ep3, EPOLL_CTL_ADD, s, &ev) < 0)
		return fail("EPOLL_CTL_ADD, one-shot set");
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS)
		return fail("connect");
	errno = 0;
	if (!(wait_for(ep, EPOLLOUT, TAG | (unsigned)s, 5000) & EPOLLOUT))
		return fail("EPOLLOUT after connect, in the set it was registered in");
	/* How the connect ended, as every event loop asks. */
	if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err) {
		errno = err;
		return fail("SO_ERROR after connect");
	}
	if (!(wait_for(ep2, EPOLLOUT, TAG + 2, 5000) & EPOLLOUT))
		return fail("EPOLLOUT in the second set");
	if (!(wait_for(ep3, EPOLLOUT, TAG + 3, 5000) & EPOLLOUT))
		return fail("EPOLLOUT in the one-shot set");
	if (wait_for(ep3, EPOLLOUT, TAG + 3, 100))
		return fail("a second event of a one-shot registration");
	ev.events = EPOLLOUT | EPOLLONESHOT;
	if (epoll_ctl(ep3, EPOLL_CTL_MOD, s, &ev) < 0)
		return fail("EPOLL_CTL_MOD re-arming the one-shot set");
	if (!(wait_for(ep3, EPOLLOUT, TAG + 3, 5000) & EPOLLOUT))
		return fail("EPOLLOUT after re-arming");
	if (epoll_ctl(ep2, EPOLL_CTL_DEL, s, NULL) < 0)
		return fail("EPOLL_CTL_DEL from the second set");
	ev.events = EPOLLIN | EPOLLET | EPOLLRDHUP;
	ev.data.u64 = TAG | (unsigned)s;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, s, &ev) < 0)
		return fail("EPOLL_CTL_MOD after connect");
	if (write(s, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1)
		return fail("write");
	for (;;) {
		n = read(s, buf + got, sizeof(buf) - 1 - got);
		if (n > 0) {
			got += (size_t)n;
			if (got == sizeof(buf) - 1)
				break;
			continue;
		}
		if (n == 0)
			break;
		if (errno != EAGAIN)
			return fail("read");
		errno = 0;
		r = wait_for(ep, EPOLLIN | EPOLLRDHUP | EPOLLHUP, TAG | (unsigned)s, 5000);
		if (!r)
			return fail("EPOLLIN for the answer");
	}
	buf[got] = '\0';
	fputs(strstr(buf, "\r\n\r\n") ? strstr(buf, "\r\n\r\n") + 4 : buf, stdout);
	return 0;
}

static int do_listen(const char *port)
{
	struct sockaddr_in a = lo_port(port);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1, c;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLEXCLUSIVE, .data.u64 = TAG + 7 };

	if (l < 0 || ep < 0)
		return fail("socket or epoll_create1");
	if (setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) < 0)
		return fail("bind");
	if (epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev) < 0)
		return fail("EPOLL_CTL_ADD");
	if (listen(l, 8) < 0)
		return fail("listen");
	printf("listening\n");
	fflush(stdout);
	errno = 0;
	if (!(wait_for(ep, EPOLLIN, TAG + 7, 20000) & EPOLLIN))
		return fail("EPOLLIN on the listener");
	c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0)
		return fail("accept4");
	if (write(c, "hi", 2) != 2)
		return fail("write");
	close(c);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "connect"))
		return do_connect(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "listen"))
		return do_listen(argv[2]);
	fprintf(stderr, "usage: sbr_evloop connect|listen PORT\n");
	return 2;
}
