/* SPDX-License-Identifier: MIT
 * it_tcp_echo.c - stream echo through the broker over IPv4, IPv6 and Unix
 * sockets, both ways:
 *  - the broker socket is the client of a server the test runs natively;
 *  - the broker socket listens and a native client connects to it.
 * Checks addresses (getsockname/getpeername against the native side),
 * payloads up to 70 000 bytes (above nanopb's 64 KiB field cap), half close,
 * end of stream, and SO_PEERCRED over Unix sockets.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "it_client.h"

static struct it_broker b;
static sb_client *c;

static const size_t sizes[] = { 1, 100, 1460, 16384, 70000 };

static int same_addr(const struct sockaddr_storage *a, socklen_t alen,
		     const struct sockaddr_storage *x, socklen_t xlen)
{
	if (a->ss_family != x->ss_family)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *p = (const void *)a, *q = (const void *)x;

		return alen == sizeof(*p) && xlen == sizeof(*q) && p->sin_port == q->sin_port &&
		       p->sin_addr.s_addr == q->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *p = (const void *)a, *q = (const void *)x;

		return alen == sizeof(*p) && xlen == sizeof(*q) && p->sin6_port == q->sin6_port &&
		       !memcmp(&p->sin6_addr, &q->sin6_addr, sizeof(p->sin6_addr)) &&
		       p->sin6_scope_id == q->sin6_scope_id;
	}
	return alen == xlen && !memcmp(a, x, alen);
}

/* Echo every size through: @bs (broker side) <-> @fd (native side). */
static void echo(const char *what, int bs, int fd)
{
	static unsigned char out[70000], in[70000];
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];

		it_fill(out, n, (unsigned)(i + 1));
		memset(in, 0, n);
		/* broker -> native */
		if (!CHECK(it_sb_send_all(c, bs, out, n, 5000) == 0, "%s: sb_send %zu bytes: %s %s",
			   what, n, strerror(errno), it_sberr()))
			return;
		if (!CHECK(it_read_full(fd, in, n, 5000) == 0, "%s: native side did not get %zu "
			   "bytes", what, n))
			return;
		CHECK(!memcmp(in, out, n), "%s: %zu bytes corrupted on the way out", what, n);
		/* native -> broker */
		memset(in, 0, n);
		if (!CHECK(it_write_full(fd, out, n) == 0, "%s: native write", what))
			return;
		if (!CHECK(it_sb_recv_all(c, bs, in, n, 5000) == 0, "%s: sb_recv %zu bytes: %s %s",
			   what, n, strerror(errno), it_sberr()))
			return;
		CHECK(!memcmp(in, out, n), "%s: %zu bytes corrupted on the way in", what, n);
	}
}

/* Half close from the broker side, then end of stream from the native side. */
static void closing(const char *what, int bs, int fd)
{
	char buf[16];
	ssize_t r;

	CHECK(sb_shutdown(c, bs, SHUT_WR) == 0, "%s: sb_shutdown(SHUT_WR): %s", what,
	      strerror(errno));
	r = it_read_some(fd, buf, 1, 3000);
	CHECK(r == 0, "%s: native side should read EOF after sb_shutdown(SHUT_WR), got %zd",
	      what, r);
	/* Still readable from the broker side after our half close. */
	CHECK(it_write_full(fd, "late", 4) == 0, "%s: native write after half close", what);
	CHECK(it_sb_recv_all(c, bs, buf, 4, 3000) == 0 && !memcmp(buf, "late", 4),
	      "%s: sb_recv after own SHUT_WR: %s", what, strerror(errno));
	close(fd);
	errno = 0;
	r = sb_recv(c, bs, buf, sizeof(buf), 0);
	CHECK(r == 0, "%s: sb_recv after the peer closed: want 0 (EOF), got %zd (%s)", what, r,
	      strerror(errno));
	CHECK(sb_close(c, bs) == 0, "%s: sb_close: %s", what, strerror(errno));
}

static int native_stream_listener(int family, const char *where, struct sockaddr_storage *ss,
				  socklen_t *len)
{
	if (family == AF_UNIX) {
		struct sockaddr_un *sun = (struct sockaddr_un *)ss;
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		memset(ss, 0, sizeof(*ss));
		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", where);
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(where) + 1);
		if (fd < 0 || bind(fd, (struct sockaddr *)ss, *len) < 0 || listen(fd, 4) < 0) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		return fd;
	}
	return it_native_listener(family, where, ss, len);
}

/* The broker socket connects to a native server. */
static void broker_as_client(int family, const char *where)
{
	struct sockaddr_storage srv, local, peer, nat_peer;
	socklen_t srvlen, llen = sizeof(local), plen = sizeof(peer), nlen = sizeof(nat_peer);
	char what[160], a[128], x[128];
	int lfd, fd, s;

	snprintf(what, sizeof(what), "broker->native %s", where);
	lfd = native_stream_listener(family, where, &srv, &srvlen);
	if (!CHECK(lfd >= 0, "%s: native listener: %s", what, strerror(errno)))
		return;
	s = sb_socket(c, family, SOCK_STREAM, 0);
	if (!CHECK(s >= 0, "%s: sb_socket: %s %s", what, strerror(errno), it_sberr()))
		goto out;
	if (!CHECK(sb_connect(c, s, (struct sockaddr *)&srv, srvlen) == 0, "%s: sb_connect: %s %s",
		   what, strerror(errno), it_sberr())) {
		sb_close(c, s);
		goto out;
	}
	fd = it_native_accept(lfd, &nat_peer, &nlen, 3000);
	if (!CHECK(fd >= 0, "%s: native accept: %s", what, strerror(errno))) {
		sb_close(c, s);
		goto out;
	}
	CHECK(sb_getpeername(c, s, (struct sockaddr *)&peer, &plen) == 0 &&
	      same_addr(&peer, plen, &srv, srvlen), "%s: sb_getpeername = %s, want %s", what,
	      it_addr_str((struct sockaddr *)&peer, plen, a, sizeof(a)),
	      it_addr_str((struct sockaddr *)&srv, srvlen, x, sizeof(x)));
	if (family != AF_UNIX)
		CHECK(sb_getsockname(c, s, (struct sockaddr *)&local, &llen) == 0 &&
		      same_addr(&local, llen, &nat_peer, nlen),
		      "%s: sb_getsockname = %s, the native server sees %s", what,
		      it_addr_str((struct sockaddr *)&local, llen, a, sizeof(a)),
		      it_addr_str((struct sockaddr *)&nat_peer, nlen, x, sizeof(x)));
	echo(what, s, fd);
	closing(what, s, fd);
out:
	close(lfd);
	if (family == AF_UNIX)
		unlink(where);
}

/* The broker socket listens; a native client connects. */
static void broker_as_server(int family, const char *where)
{
	struct sockaddr_storage addr, peer, nat_local;
	socklen_t alen, plen = sizeof(peer), nlen = sizeof(nat_local);
	char what[160], a[128], x[128];
	int s, as = -1, fd = -1, one = 1;

	snprintf(what, sizeof(what), "native->broker %s", where);
	s = sb_socket(c, family, SOCK_STREAM, 0);
	if (!CHECK(s >= 0, "%s: sb_socket: %s %s", what, strerror(errno), it_sberr()))
		return;
	if (family == AF_UNIX) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&addr;

		memset(&addr, 0, sizeof(addr));
		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", where);
		alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(where) + 1);
	} else {
		alen = family == AF_INET ? it_addr4(&addr, where, 0) : it_addr6(&addr, where, 0);
		CHECK(sb_setsockopt(c, s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0,
		      "%s: sb_setsockopt(SO_REUSEADDR): %s", what, strerror(errno));
	}
	if (!CHECK(sb_bind(c, s, (struct sockaddr *)&addr, alen) == 0, "%s: sb_bind: %s %s",
		   what, strerror(errno), it_sberr()) ||
	    !CHECK(sb_listen(c, s, 8) == 0, "%s: sb_listen: %s", what, strerror(errno)))
		goto out;
	if (family != AF_UNIX) {
		alen = sizeof(addr);
		if (!CHECK(sb_getsockname(c, s, (struct sockaddr *)&addr, &alen) == 0 &&
			   it_port(&addr) != 0, "%s: sb_getsockname of the listener: %s", what,
			   strerror(errno)))
			goto out;
	}
	fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&addr, alen) == 0,
		   "%s: native connect to %s: %s", what,
		   it_addr_str((struct sockaddr *)&addr, alen, a, sizeof(a)), strerror(errno)))
		goto out;
	as = sb_accept(c, s, (struct sockaddr *)&peer, &plen);
	if (!CHECK(as >= 0, "%s: sb_accept: %s %s", what, strerror(errno), it_sberr()))
		goto out;
	getsockname(fd, (struct sockaddr *)&nat_local, &nlen);
	if (family != AF_UNIX)
		CHECK(same_addr(&peer, plen, &nat_local, nlen), "%s: sb_accept peer %s, native "
		      "client is %s", what, it_addr_str((struct sockaddr *)&peer, plen, a, sizeof(a)),
		      it_addr_str((struct sockaddr *)&nat_local, nlen, x, sizeof(x)));
	else
		CHECK(peer.ss_family == AF_UNIX, "%s: sb_accept peer family %d", what,
		      peer.ss_family);
	if (family == AF_UNIX) {
		struct ucred cr = { 0 };

		CHECK(sb_getpeercred(c, as, &cr) == 0 && cr.pid == getpid() &&
		      cr.uid == getuid() && cr.gid == getgid(),
		      "%s: sb_getpeercred = pid %d uid %u gid %u, want %d %u %u (%s)", what,
		      (int)cr.pid, (unsigned)cr.uid, (unsigned)cr.gid, (int)getpid(),
		      (unsigned)getuid(), (unsigned)getgid(), strerror(errno));
	}
	echo(what, as, fd);
	closing(what, as, fd);
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	CHECK(sb_close(c, s) == 0, "%s: sb_close(listener): %s", what, strerror(errno));
	if (family == AF_UNIX)
		unlink(where);
}

static int have_ipv6(void)
{
	struct sockaddr_storage ss;
	socklen_t len = it_addr6(&ss, "::1", 0);
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	ok = fd >= 0 && bind(fd, (struct sockaddr *)&ss, len) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

int main(void)
{
	char upath[2][200];

	c = it_setup(&b, NULL, 50);
	snprintf(upath[0], sizeof(upath[0]), "%s/native.sock", b.dir);
	snprintf(upath[1], sizeof(upath[1]), "%s/brokerside.sock", b.dir);

	broker_as_client(AF_INET, "127.0.0.1");
	broker_as_server(AF_INET, "127.0.0.1");
	if (have_ipv6()) {
		broker_as_client(AF_INET6, "::1");
		broker_as_server(AF_INET6, "::1");
	} else {
		it_note("IPv6 loopback unavailable in this kernel: IPv6 cases not run");
	}
	broker_as_client(AF_UNIX, upath[0]);
	broker_as_server(AF_UNIX, upath[1]);
	return it_teardown(&b, c);
}
