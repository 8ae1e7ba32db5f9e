/* SPDX-License-Identifier: MIT
 * it_errno.c - errno fidelity: every failing call through the broker gives
 * the errno the kernel gives to the same call on a native socket in the
 * same state (ECONNREFUSED, EADDRINUSE, EAFNOSUPPORT, EPROTONOSUPPORT,
 * ENOTCONN, EPIPE, EAGAIN, EINPROGRESS then POLLOUT and SO_ERROR,
 * EISCONN, EINVAL, EOPNOTSUPP, ENOPROTOOPT, EMSGSIZE, EDESTADDRREQ), the
 * checks of socket(2)'s arguments and of address lengths in their order,
 * and EBADF for a closed and for an unknown socket number (first).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "it_client.h"

static struct it_broker b;
static sb_client *c;

/* rx/ex: broker call and errno; ry/ey: native call and errno. */
static void same(const char *what, long rx, int ex, long ry, int ey)
{
	int fx = rx < 0, fy = ry < 0;

	CHECK(fx == fy && (!fx || ex == ey), "%s: broker %s%s, kernel %s%s", what,
	      fx ? "failed with " : "succeeded", fx ? strerror(ex) : "",
	      fy ? "failed with " : "succeeds", fy ? strerror(ey) : "");
}

#define BOTH(what, sbcall, nativecall)                                                 \
	do {                                                                           \
		long rx_, ry_;                                                         \
		int ex_, ey_;                                                          \
		errno = 0;                                                             \
		rx_ = (long)(sbcall);                                                  \
		ex_ = errno;                                                           \
		errno = 0;                                                             \
		ry_ = (long)(nativecall);                                              \
		ey_ = errno;                                                           \
		same(what, rx_, ex_, ry_, ey_);                                        \
	} while (0)

/* A pair of sockets, broker and native, made the same way. */
struct pair {
	int s, fd;
};

static struct pair mk(int family, int type, int protocol)
{
	struct pair p;

	p.s = sb_socket(c, family, type, protocol);
	p.fd = socket(family, type | SOCK_CLOEXEC, protocol);
	CHECK(p.s >= 0 && p.fd >= 0, "socket(%d, %d, %d): broker %d (%s), native %d", family,
	      type, protocol, p.s, strerror(errno), p.fd);
	return p;
}

static void rm(struct pair *p)
{
	if (p->s >= 0)
		sb_close(c, p->s);
	if (p->fd >= 0)
		close(p->fd);
	p->s = p->fd = -1;
}

static void socket_errors(void)
{
	int rx, ry;

	BOTH("socket(AF_APPLETALK, SOCK_DGRAM)", rx = sb_socket(c, AF_APPLETALK, SOCK_DGRAM, 0),
	     ry = socket(AF_APPLETALK, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	if (rx >= 0)
		sb_close(c, rx);
	if (ry >= 0)
		close(ry);
	BOTH("socket(AF_INET, SOCK_STREAM, IPPROTO_UDP)",
	     rx = sb_socket(c, AF_INET, SOCK_STREAM, IPPROTO_UDP),
	     ry = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_UDP));
	if (rx >= 0)
		sb_close(c, rx);
	if (ry >= 0)
		close(ry);
	BOTH("socket(AF_INET, type 77)", rx = sb_socket(c, AF_INET, 77, 0),
	     ry = socket(AF_INET, 77 | SOCK_CLOEXEC, 0));
	if (rx >= 0)
		sb_close(c, rx);
	if (ry >= 0)
		close(ry);
}

/* socket(2)'s own checks, in the kernel's order: the type's range and
 * flags (EINVAL), an IP protocol out of range (EINVAL), a type the family
 * has no socket for (ESOCKTNOSUPPORT); a Unix SOCK_RAW is a datagram
 * socket. */
static void socket_args(void)
{
	static const struct {
		const char *what;
		int family, type, protocol;
	} cases[] = {
		{ "socket(AF_INET, SOCK_STREAM, -1)", AF_INET, SOCK_STREAM, -1 },
		{ "socket(AF_INET6, SOCK_DGRAM, IPPROTO_MAX)", AF_INET6, SOCK_DGRAM, IPPROTO_MAX },
		{ "socket(AF_INET, SOCK_DCCP)", AF_INET, SOCK_DCCP, 0 },
		{ "socket(AF_INET, SOCK_STREAM | 0x100)", AF_INET, SOCK_STREAM | 0x100, 0 },
		{ "socket(AF_INET, type -1)", AF_INET, -1, 0 },
		{ "socket(AF_UNIX, SOCK_RAW)", AF_UNIX, SOCK_RAW, 0 },
	};
	size_t i;
	int rx, ry, t = -1;
	socklen_t len = sizeof(t);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		BOTH(cases[i].what, rx = sb_socket(c, cases[i].family, cases[i].type,
						   cases[i].protocol),
		     ry = socket(cases[i].family, cases[i].type | SOCK_CLOEXEC,
				 cases[i].protocol));
		if (rx >= 0 && cases[i].family == AF_UNIX)
			CHECK(sb_getsockopt(c, rx, SOL_SOCKET, SO_TYPE, &t, &len) == 0 &&
			      t == SOCK_DGRAM, "Unix SOCK_RAW: SO_TYPE %d, want SOCK_DGRAM", t);
		if (rx >= 0)
			sb_close(c, rx);
		if (ry >= 0)
			close(ry);
	}
}

/* Address lengths and families as bind/connect/sendto check them. */
static void addr_args(void)
{
	struct sockaddr_storage ss[2];
	struct sockaddr_in sin;
	struct sockaddr_un sun;
	struct pair u = mk(AF_UNIX, SOCK_DGRAM, 0), in = mk(AF_INET, SOCK_DGRAM, 0);
	char path[64];

	snprintf(path, sizeof(path), "/tmp/sb-errno-%d.sock", (int)getpid());
	memset(ss, 0, sizeof(ss));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	memcpy(&ss[0], &sun, sizeof(sun));
	if (u.s >= 0 && u.fd >= 0) {
		BOTH("unix bind, length sizeof(sockaddr_storage)",
		     sb_bind(c, u.s, (struct sockaddr *)ss, sizeof(ss[0])),
		     bind(u.fd, (struct sockaddr *)ss, sizeof(ss[0])));
		BOTH("unix connect, length 111",
		     sb_connect(c, u.s, (struct sockaddr *)ss, sizeof(sun) + 1),
		     connect(u.fd, (struct sockaddr *)ss, sizeof(sun) + 1));
		BOTH("unix sendto, length sizeof(sockaddr_storage)",
		     sb_sendto(c, u.s, "x", 1, 0, (struct sockaddr *)ss, sizeof(ss[0])),
		     sendto(u.fd, "x", 1, 0, (struct sockaddr *)ss, sizeof(ss[0])));
	}
	unlink(path);
	rm(&u);
	if (in.s >= 0 && in.fd >= 0) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		memcpy(&ss[0], &sin, sizeof(sin));
		BOTH("inet bind, length above sockaddr_storage",
		     sb_bind(c, in.s, (struct sockaddr *)ss, sizeof(ss[0]) + 1),
		     bind(in.fd, (struct sockaddr *)ss, sizeof(ss[0]) + 1));
		/* inet_bind(): AF_UNSPEC is AF_INET for INADDR_ANY only. */
		sin.sin_family = AF_UNSPEC;
		BOTH("inet bind AF_UNSPEC 127.0.0.1",
		     sb_bind(c, in.s, (struct sockaddr *)&sin, sizeof(sin)),
		     bind(in.fd, (struct sockaddr *)&sin, sizeof(sin)));
		sin.sin_addr.s_addr = htonl(INADDR_ANY);
		BOTH("inet bind AF_UNSPEC INADDR_ANY",
		     sb_bind(c, in.s, (struct sockaddr *)&sin, sizeof(sin)),
		     bind(in.fd, (struct sockaddr *)&sin, sizeof(sin)));
	}
	rm(&in);
}

static void connect_bind_errors(void)
{
	struct sockaddr_storage res, lis, a6;
	socklen_t reslen, lislen, a6len;
	struct pair p;
	int hold, lfd;

	/* ECONNREFUSED: a port bound but not listening. */
	hold = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	reslen = it_addr4(&res, "127.0.0.1", 0);
	bind(hold, (struct sockaddr *)&res, reslen);
	reslen = sizeof(res);
	getsockname(hold, (struct sockaddr *)&res, &reslen);
	p = mk(AF_INET, SOCK_STREAM, 0);
	BOTH("connect to a closed port (ECONNREFUSED)",
	     sb_connect(c, p.s, (struct sockaddr *)&res, reslen),
	     connect(p.fd, (struct sockaddr *)&res, reslen));
	rm(&p);

	/* EADDRINUSE: bind to a port a native listener holds. */
	lfd = it_native_listener(AF_INET, "127.0.0.1", &lis, &lislen);
	p = mk(AF_INET, SOCK_STREAM, 0);
	BOTH("bind to a port in use (EADDRINUSE)", sb_bind(c, p.s, (struct sockaddr *)&lis, lislen),
	     bind(p.fd, (struct sockaddr *)&lis, lislen));
	rm(&p);

	/* EAFNOSUPPORT: an AF_INET6 address on an AF_INET socket. */
	a6len = it_addr6(&a6, "::1", 0);
	p = mk(AF_INET, SOCK_STREAM, 0);
	BOTH("bind an AF_INET6 address to an AF_INET socket",
	     sb_bind(c, p.s, (struct sockaddr *)&a6, a6len), bind(p.fd, (struct sockaddr *)&a6, a6len));
	BOTH("connect an AF_INET socket to an AF_INET6 address",
	     sb_connect(c, p.s, (struct sockaddr *)&a6, a6len),
	     connect(p.fd, (struct sockaddr *)&a6, a6len));
	rm(&p);

	/* EINVAL: address lengths that are too short. */
	p = mk(AF_INET, SOCK_STREAM, 0);
	BOTH("bind with addrlen 3", sb_bind(c, p.s, (struct sockaddr *)&lis, 3),
	     bind(p.fd, (struct sockaddr *)&lis, 3));
	BOTH("bind with addrlen sizeof(sockaddr_in) - 1",
	     sb_bind(c, p.s, (struct sockaddr *)&lis, sizeof(struct sockaddr_in) - 1),
	     bind(p.fd, (struct sockaddr *)&lis, sizeof(struct sockaddr_in) - 1));
	BOTH("connect with addrlen 1", sb_connect(c, p.s, (struct sockaddr *)&lis, 1),
	     connect(p.fd, (struct sockaddr *)&lis, 1));
	/* EINVAL: bind twice. */
	reslen = it_addr4(&res, "127.0.0.1", 0);
	BOTH("first bind", sb_bind(c, p.s, (struct sockaddr *)&res, reslen),
	     bind(p.fd, (struct sockaddr *)&res, reslen));
	BOTH("second bind (EINVAL)", sb_bind(c, p.s, (struct sockaddr *)&res, reslen),
	     bind(p.fd, (struct sockaddr *)&res, reslen));
	/* EINVAL: accept on a socket that is not listening. */
	BOTH("accept on a non-listening socket", sb_accept(c, p.s, NULL, NULL),
	     accept(p.fd, NULL, NULL));
	rm(&p);

	/* EISCONN, then ENOTCONN cases on a fresh socket. */
	p = mk(AF_INET, SOCK_STREAM, 0);
	BOTH("connect to a listener", sb_connect(c, p.s, (struct sockaddr *)&lis, lislen),
	     connect(p.fd, (struct sockaddr *)&lis, lislen));
	BOTH("connect again (EISCONN)", sb_connect(c, p.s, (struct sockaddr *)&lis, lislen),
	     connect(p.fd, (struct sockaddr *)&lis, lislen));
	/* EPIPE: send after our own SHUT_WR. */
	BOTH("shutdown(SHUT_WR)", sb_shutdown(c, p.s, SHUT_WR), shutdown(p.fd, SHUT_WR));
	BOTH("send after SHUT_WR (EPIPE)", sb_send(c, p.s, "x", 1, MSG_NOSIGNAL),
	     send(p.fd, "x", 1, MSG_NOSIGNAL));
	rm(&p);
	close(lfd);
	close(hold);
}

static void unconnected_errors(void)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss), len2 = sizeof(ss);
	struct pair p = mk(AF_INET, SOCK_STREAM, 0);
	unsigned char big[70000];
	char buf[8];
	int one = 1, v = 0;
	socklen_t vl = sizeof(v), vl2 = sizeof(v);

	BOTH("recv on an unconnected TCP socket (ENOTCONN)", sb_recv(c, p.s, buf, 1, 0),
	     recv(p.fd, buf, 1, 0));
	BOTH("send on an unconnected TCP socket", sb_send(c, p.s, "x", 1, MSG_NOSIGNAL),
	     send(p.fd, "x", 1, MSG_NOSIGNAL));
	BOTH("getpeername on an unconnected TCP socket (ENOTCONN)",
	     sb_getpeername(c, p.s, (struct sockaddr *)&ss, &len),
	     getpeername(p.fd, (struct sockaddr *)&ss, &len2));
	BOTH("shutdown of an unconnected TCP socket (ENOTCONN)", sb_shutdown(c, p.s, SHUT_RDWR),
	     shutdown(p.fd, SHUT_RDWR));
	BOTH("setsockopt with optlen 2", sb_setsockopt(c, p.s, SOL_SOCKET, SO_RCVBUF, &one, 2),
	     setsockopt(p.fd, SOL_SOCKET, SO_RCVBUF, &one, 2));
	BOTH("getsockopt of an unknown SOL_SOCKET option (ENOPROTOOPT)",
	     sb_getsockopt(c, p.s, SOL_SOCKET, 9999, &v, &vl),
	     getsockopt(p.fd, SOL_SOCKET, 9999, &v, &vl2));
	BOTH("setsockopt TCP_NODELAY", sb_setsockopt(c, p.s, IPPROTO_TCP, TCP_NODELAY, &one,
						     sizeof(one)),
	     setsockopt(p.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)));
	v = 0;
	vl = sizeof(v);
	CHECK(sb_getsockopt(c, p.s, IPPROTO_TCP, TCP_NODELAY, &v, &vl) == 0 && v != 0 &&
	      vl == sizeof(int), "getsockopt TCP_NODELAY after setting it: %d (len %u): %s", v,
	      (unsigned)vl, strerror(errno));
	rm(&p);

	/* UDP: listen is EOPNOTSUPP, send without a destination EDESTADDRREQ,
	 * a datagram above 64 KiB EMSGSIZE. */
	p = mk(AF_INET, SOCK_DGRAM, 0);
	BOTH("listen on a UDP socket", sb_listen(c, p.s, 4), listen(p.fd, 4));
	BOTH("send on an unconnected UDP socket (EDESTADDRREQ)",
	     sb_send(c, p.s, "x", 1, 0), send(p.fd, "x", 1, 0));
	len = it_addr4(&ss, "127.0.0.1", 9);
	memset(big, 0, sizeof(big));
	BOTH("sendto of a 70000-byte UDP datagram (EMSGSIZE)",
	     sb_sendto(c, p.s, big, sizeof(big), 0, (struct sockaddr *)&ss, len),
	     sendto(p.fd, big, sizeof(big), 0, (struct sockaddr *)&ss, len));
	/* A flag bit Linux does not define is ignored on both paths. */
	BOTH("recv with flag 0x10000000 on an empty UDP socket (EAGAIN)",
	     sb_recv(c, p.s, big, 8, MSG_DONTWAIT | 0x10000000),
	     recv(p.fd, big, 8, MSG_DONTWAIT | 0x10000000));
	BOTH("sendto with flag 0x10000000",
	     sb_sendto(c, p.s, "x", 1, 0x10000000, (struct sockaddr *)&ss, len),
	     sendto(p.fd, "x", 1, 0x10000000, (struct sockaddr *)&ss, len));
	rm(&p);
}

static void nonblocking(void)
{
	struct sockaddr_storage lis, res, peer;
	socklen_t lislen, reslen, plen = sizeof(peer);
	int lfd, hold, s, fd, a, err, rx, ry;
	socklen_t el = sizeof(err);
	struct pollfd pn;
	char buf[8];

	lfd = it_native_listener(AF_INET, "127.0.0.1", &lis, &lislen);

	/* EINPROGRESS, then POLLOUT and SO_ERROR 0. */
	s = sb_socket(c, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	BOTH("non-blocking connect to a listener", sb_connect(c, s, (struct sockaddr *)&lis, lislen),
	     connect(fd, (struct sockaddr *)&lis, lislen));
	rx = it_sb_wait(c, s, POLLOUT, 3000);
	CHECK(rx > 0 && (rx & POLLOUT) && !(rx & (POLLERR | POLLHUP)),
	      "sb_poll after a non-blocking connect: revents 0x%x, want POLLOUT", (unsigned)rx);
	err = -1;
	CHECK(sb_getsockopt(c, s, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0 &&
	      el == sizeof(int), "SO_ERROR after a successful non-blocking connect: %d (%s)",
	      err, strerror(err > 0 ? err : 0));
	/* EAGAIN: nothing to read, in non-blocking mode and with MSG_DONTWAIT. */
	BOTH("recv on a non-blocking socket with nothing queued (EAGAIN)",
	     sb_recv(c, s, buf, sizeof(buf), 0), (poll(&(struct pollfd){ fd, POLLOUT, 0 }, 1, 3000),
						  recv(fd, buf, sizeof(buf), 0)));
	CHECK(sb_set_nonblock(c, s, 0) == 0, "sb_set_nonblock(off): %s", strerror(errno));
	BOTH("recv MSG_DONTWAIT on a blocking socket (EAGAIN)",
	     sb_recv(c, s, buf, sizeof(buf), MSG_DONTWAIT), recv(fd, buf, sizeof(buf), MSG_DONTWAIT));
	sb_close(c, s);
	close(fd);

	/* A refused non-blocking connect: EINPROGRESS (or ECONNREFUSED at
	 * once, as the kernel says), then POLLERR and SO_ERROR ECONNREFUSED. */
	hold = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	reslen = it_addr4(&res, "127.0.0.1", 0);
	bind(hold, (struct sockaddr *)&res, reslen);
	reslen = sizeof(res);
	getsockname(hold, (struct sockaddr *)&res, &reslen);
	s = sb_socket(c, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	BOTH("non-blocking connect to a closed port", sb_connect(c, s, (struct sockaddr *)&res, reslen),
	     connect(fd, (struct sockaddr *)&res, reslen));
	rx = it_sb_wait(c, s, POLLOUT, 3000);
	pn = (struct pollfd){ .fd = fd, .events = POLLOUT };
	ry = poll(&pn, 1, 3000) > 0 ? pn.revents : 0;
	CHECK(rx == ry, "sb_poll after a refused non-blocking connect: revents 0x%x, kernel 0x%x",
	      (unsigned)rx, (unsigned)ry);
	err = 0;
	el = sizeof(err);
	CHECK(sb_getsockopt(c, s, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == ECONNREFUSED,
	      "SO_ERROR after a refused non-blocking connect: %d (%s), want ECONNREFUSED", err,
	      strerror(err));
	sb_close(c, s);
	close(fd);
	close(hold);

	/* accept: EAGAIN on a non-blocking listener, and accept4(SOCK_NONBLOCK)
	 * gives a socket that answers EAGAIN. */
	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	reslen = it_addr4(&res, "127.0.0.1", 0);
	if (!CHECK(s >= 0 && sb_bind(c, s, (struct sockaddr *)&res, reslen) == 0 &&
		   sb_listen(c, s, 4) == 0, "broker listener: %s", strerror(errno)))
		goto out;
	reslen = sizeof(res);
	sb_getsockname(c, s, (struct sockaddr *)&res, &reslen);
	CHECK(sb_set_nonblock(c, s, 1) == 0, "sb_set_nonblock(listener): %s", strerror(errno));
	errno = 0;
	a = sb_accept(c, s, NULL, NULL);
	CHECK(a == -1 && errno == EAGAIN, "accept on a non-blocking listener with nothing "
	      "pending: %d (%s), want EAGAIN", a, strerror(errno));
	CHECK(sb_set_nonblock(c, s, 0) == 0, "sb_set_nonblock(listener, off)");
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(connect(fd, (struct sockaddr *)&res, reslen) == 0, "native connect: %s",
	      strerror(errno));
	a = sb_accept4(c, s, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK);
	if (CHECK(a >= 0, "sb_accept4(SOCK_NONBLOCK): %s", strerror(errno))) {
		errno = 0;
		rx = (int)sb_recv(c, a, buf, sizeof(buf), 0);
		CHECK(rx == -1 && errno == EAGAIN, "recv on a socket from accept4(SOCK_NONBLOCK): "
		      "%d (%s), want EAGAIN", rx, strerror(errno));
		sb_close(c, a);
	}
	close(fd);
out:
	sb_close(c, s);
	close(lfd);
}

static void bad_handles(void)
{
	char buf[4];
	int s = sb_socket(c, AF_INET, SOCK_DGRAM, 0), r;

	if (!CHECK(s >= 0, "sb_socket: %s", strerror(errno)))
		return;
	CHECK(sb_close(c, s) == 0, "sb_close: %s", strerror(errno));
	errno = 0;
	r = (int)sb_send(c, s, "x", 1, 0);
	CHECK(r == -1 && errno == EBADF, "send on a closed socket: %d (%s), want EBADF", r,
	      strerror(errno));
	errno = 0;
	r = sb_close(c, s);
	CHECK(r == -1 && errno == EBADF, "close twice: %d (%s), want EBADF", r, strerror(errno));
	errno = 0;
	r = (int)sb_recv(c, 4242, buf, sizeof(buf), MSG_DONTWAIT);
	CHECK(r == -1 && errno == EBADF, "recv on socket number 4242 (never opened): %d (%s), "
	      "want EBADF", r, strerror(errno));
	/* The socket is looked at before the message, as the kernel does. */
	errno = 0;
	r = (int)sb_sendmsg(c, 4242, NULL, 0);
	CHECK(r == -1 && errno == EBADF, "sendmsg(4242, NULL): %d (%s), want EBADF", r,
	      strerror(errno));
	errno = 0;
	r = sb_listen(c, -1, 1);
	CHECK(r == -1 && errno == EBADF, "listen on socket number -1: %d (%s), want EBADF", r,
	      strerror(errno));
}

int main(void)
{
	c = it_setup(&b, NULL, 50);
	socket_errors();
	socket_args();
	addr_args();
	connect_bind_errors();
	unconnected_errors();
	nonblocking();
	bad_handles();
	return it_teardown(&b, c);
}
