/* SPDX-License-Identifier: MIT
 * it_stream_udp_reply.c - a UDP server on the wildcard address
 * (sb_udp_server_loop(NULL, port)) answers with sb_udp_reply() from the
 * address each datagram was sent to, whichever address the peer used.
 *
 * The test moves itself into a new network namespace (as
 * it_connect_timeout does) before starting the broker, which then runs in
 * it too; it brings lo up and adds 10.11.12.1/24, 10.11.12.2/24 and, when
 * IPv6 is there, fd00:5b::1/64 and fd00:5b::2/64 (nodad) to lo. Native
 * senders bound to each local address send to each local address; the
 * reply's source (recvfrom) must be the address sent to - not the one a
 * route lookup towards the sender would pick - and the callback's
 * sb_udp_source must name the sender (peer) and the address sent to
 * (local) and the interface (ifindex). The sockets of
 * sb_udp_server_sockets() must have IP_PKTINFO / IPV6_RECVPKTINFO on from
 * the start, as documented. Everything it makes dies with the namespace
 * when the test ends.
 * Skipped (77) only when the kernel refuses the namespace or addresses.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_client.h"

#define STOP_VALUE 7

static const char *const v4[] = { "127.0.0.1", "10.11.12.1", "10.11.12.2" };
static const char *const v6[] = { "::1", "fd00:5b::1", "fd00:5b::2" };

/* What the callback saw last, for the main thread to check. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct sb_udp_source last;
static char last_msg[64];
static int seen, replied_bad;

static int run(const char *cmd)
{
	return system(cmd) == 0 ? 0 : -1;
}

static int on_dgram(sb_client *c, const void *buf, size_t len, int truncated,
		    const struct sb_udp_source *src, void *arg)
{
	ssize_t w;

	(void)arg;
	CHECK(!truncated, "datagram of %zu bytes reported truncated", len);
	if (len == 4 && !memcmp(buf, "STOP", 4))
		return STOP_VALUE;
	pthread_mutex_lock(&mu);
	last = *src;
	snprintf(last_msg, sizeof(last_msg), "%.*s", (int)(len < 63 ? len : 63),
		 (const char *)buf);
	seen++;
	pthread_mutex_unlock(&mu);
	w = sb_udp_reply(c, src, buf, len);
	if (!CHECK(w == (ssize_t)len, "sb_udp_reply: %zd (%s %s), want %zu", w, strerror(errno),
		   it_sberr(), len)) {
		pthread_mutex_lock(&mu);
		replied_bad++;
		pthread_mutex_unlock(&mu);
	}
	return 0;
}

struct loop_arg {
	sb_client *c;
	char port[8];
	int rc, err;
};

static void *loop_main(void *arg)
{
	struct loop_arg *la = arg;

	la->rc = sb_udp_server_loop(la->c, NULL, la->port, on_dgram, NULL);
	la->err = errno;
	return NULL;
}

static socklen_t mkaddr(int family, const char *ip, uint16_t port, struct sockaddr_storage *ss)
{
	return family == AF_INET ? it_addr4(ss, ip, port) : it_addr6(ss, ip, port);
}

static int same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *x)
{
	if (a->ss_family != x->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)x)->sin_addr.s_addr;
	if (a->ss_family == AF_INET6)
		return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			       &((const struct sockaddr_in6 *)x)->sin6_addr, 16);
	return 0;
}

/* A native UDP socket bound to @ip port 0; its address in @ss. */
static int native_udp(int family, const char *ip, struct sockaddr_storage *ss, socklen_t *len)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	*len = mkaddr(family, ip, 0, ss);
	if (fd < 0 || bind(fd, (struct sockaddr *)ss, *len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*len = sizeof(*ss);
	getsockname(fd, (struct sockaddr *)ss, len);
	return fd;
}

/* One exchange: from a socket bound to @from, to @to:@port. */
static void exchange(int family, const char *from, const char *to, uint16_t port, int n)
{
	struct sockaddr_storage me, dst, rsrc;
	socklen_t melen, dlen = mkaddr(family, to, port, &dst), rlen = sizeof(rsrc);
	char msg[64], in[128], a[128], x[128];
	struct pollfd p;
	ssize_t r;
	int fd, before;

	snprintf(msg, sizeof(msg), "datagram %d from %s to %s", n, from, to);
	fd = native_udp(family, from, &me, &melen);
	if (!CHECK(fd >= 0, "native UDP socket on %s: %s", from, strerror(errno)))
		return;
	pthread_mutex_lock(&mu);
	before = seen;
	pthread_mutex_unlock(&mu);
	if (!CHECK(sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&dst, dlen) ==
		   (ssize_t)strlen(msg), "sendto %s: %s", to, strerror(errno)))
		goto out;
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (!CHECK(poll(&p, 1, 3000) == 1, "%s -> %s: no reply within 3 s", from, to))
		goto out;
	r = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&rsrc, &rlen);
	CHECK(r == (ssize_t)strlen(msg) && !memcmp(in, msg, strlen(msg)),
	      "%s -> %s: reply of %zd bytes is not the echo", from, to, r);
	CHECK(same_ip(&rsrc, &dst) && it_port(&rsrc) == port,
	      "%s -> %s: the reply came from %s, want %s (the address the datagram was "
	      "sent to)", from, to, it_addr_str((struct sockaddr *)&rsrc, rlen, a, sizeof(a)),
	      it_addr_str((struct sockaddr *)&dst, dlen, x, sizeof(x)));
	/* What the callback was told. */
	pthread_mutex_lock(&mu);
	if (CHECK(seen == before + 1 && !strcmp(last_msg, msg), "%s -> %s: the callback saw "
		  "%d datagrams, the last \"%s\"", from, to, seen - before, last_msg)) {
		CHECK(same_ip(&last.peer, &me) && it_port(&last.peer) == it_port(&me),
		      "%s -> %s: sb_udp_source.peer %s, the sender is %s", from, to,
		      it_addr_str((struct sockaddr *)&last.peer, last.peerlen, a, sizeof(a)),
		      it_addr_str((struct sockaddr *)&me, melen, x, sizeof(x)));
		CHECK(last.locallen > 0 && same_ip(&last.local, &dst),
		      "%s -> %s: sb_udp_source.local %s (len %u), want %s", from, to,
		      it_addr_str((struct sockaddr *)&last.local, last.locallen, a, sizeof(a)),
		      (unsigned)last.locallen, to);
		CHECK(last.ifindex > 0, "%s -> %s: sb_udp_source.ifindex %d", from, to,
		      last.ifindex);
	}
	pthread_mutex_unlock(&mu);
out:
	close(fd);
}

/* 1 when a native bind of @ip:@port fails with EADDRINUSE. */
static int port_taken(int family, const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = mkaddr(family, ip, port, &ss);
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0), taken;

	if (fd < 0)
		return 0;
	taken = bind(fd, (struct sockaddr *)&ss, len) < 0 && errno == EADDRINUSE;
	close(fd);
	return taken;
}

/* A UDP port free on both wildcards of this (fresh) namespace. */
static uint16_t free_port(int v6ok)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int f4, f6 = -1, one = 1;
	uint16_t port;

	f4 = native_udp(AF_INET, "0.0.0.0", &ss, &len);
	if (f4 < 0)
		return 0;
	port = it_port(&ss);
	if (v6ok) {
		f6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		len = it_addr6(&ss, "::", port);
		setsockopt(f6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (f6 < 0 || bind(f6, (struct sockaddr *)&ss, len) < 0)
			port = 0;
		if (f6 >= 0)
			close(f6);
	}
	close(f4);
	return port;
}

/* sb_udp_server_sockets() says its sockets come "with IP_PKTINFO /
 * IPV6_RECVPKTINFO on": on from the start, so that a datagram that comes
 * before a loop runs is not left without its interface. */
static void pktinfo_on_at_creation(sb_client *c, int v6ok)
{
	int socks[4], n, i;

	n = sb_udp_server_sockets(c, v6ok ? NULL : "0.0.0.0", "0", socks, 4);
	if (!CHECK(n >= 1, "sb_udp_server_sockets: %d %s %s", n, strerror(errno), it_sberr()))
		return;
	for (i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss), vlen = sizeof(int);
		int v = -1, r;

		sb_getsockname(c, socks[i], (struct sockaddr *)&ss, &len);
		if (ss.ss_family == AF_INET6)
			r = sb_getsockopt(c, socks[i], IPPROTO_IPV6, IPV6_RECVPKTINFO, &v, &vlen);
		else
			r = sb_getsockopt(c, socks[i], IPPROTO_IP, IP_PKTINFO, &v, &vlen);
		CHECK(r == 0 && v == 1, "sb_udp_server_sockets: socket %d (family %d) has %s = %d "
		      "(%s), want 1 as documented", socks[i], ss.ss_family,
		      ss.ss_family == AF_INET6 ? "IPV6_RECVPKTINFO" : "IP_PKTINFO", v,
		      r == 0 ? "no error" : strerror(errno));
		sb_close(c, socks[i]);
	}
}

int main(void)
{
	struct sockaddr_storage ss;
	struct it_broker b;
	struct loop_arg la;
	grpc_channel *ch;
	pthread_t lt;
	int64_t open0, open1 = -1;
	int v6ok, i, j, n = 0, fd, k;
	uint16_t port;
	sb_client *c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (unshare(CLONE_NEWNET) < 0) {
		printf("SKIP: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 77;
	}
	if (run("ip link set lo up") < 0 || run("ip addr add 10.11.12.1/24 dev lo") < 0 ||
	    run("ip addr add 10.11.12.2/24 dev lo") < 0) {
		printf("SKIP: cannot bring lo up with 10.11.12.1-2/24 in a new namespace\n");
		return 77;
	}
	v6ok = run("ip -6 addr add fd00:5b::1/64 dev lo nodad 2>/dev/null") == 0 &&
	       run("ip -6 addr add fd00:5b::2/64 dev lo nodad") == 0;
	if (v6ok) {
		fd = native_udp(AF_INET6, "fd00:5b::2", &ss, (socklen_t[]){ 0 });
		v6ok = fd >= 0;
		if (fd >= 0)
			close(fd);
	}
	if (!v6ok)
		printf("-- IPv6 addresses unavailable in this namespace: IPv4 only\n");

	c = it_setup(&b, NULL, 40);
	ch = it_channel(&b);
	open0 = it_stats_sockets(ch);
	pktinfo_on_at_creation(c, v6ok);
	port = free_port(v6ok);
	if (!CHECK(port != 0, "no free UDP port") || !CHECK(open0 >= 0, "GetStats"))
		goto out;
	memset(&la, 0, sizeof(la));
	la.c = c;
	snprintf(la.port, sizeof(la.port), "%u", port);
	if (!CHECK(pthread_create(&lt, NULL, loop_main, &la) == 0, "pthread_create"))
		goto out;
	/* The loop's sockets are bound when the port is taken (bounded);
	 * datagrams wait in their queues until the streams read them. */
	for (k = 0; k < 250; k++) {
		if (port_taken(AF_INET, "127.0.0.1", port) &&
		    (!v6ok || port_taken(AF_INET6, "::1", port)))
			break;
		it_sleep_ms(20);
	}
	CHECK(k < 250, "the loop's sockets were not bound to port %u within 5 s", port);

	for (i = 0; i < 3; i++)
		for (j = 0; j < 3; j++)
			exchange(AF_INET, v4[i], v4[j], port, n++);
	if (v6ok)
		for (i = 0; i < 3; i++)
			for (j = 0; j < 3; j++)
				exchange(AF_INET6, v6[i], v6[j], port, n++);

	/* Stop the loop: the callback returns STOP_VALUE. */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	{
		socklen_t len = it_addr4(&ss, "127.0.0.1", port);

		CHECK(fd >= 0 && sendto(fd, "STOP", 4, 0, (struct sockaddr *)&ss, len) == 4,
		      "sendto STOP: %s", strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	pthread_join(lt, NULL);
	CHECK(la.rc == STOP_VALUE, "sb_udp_server_loop returned %d (%s), want %d", la.rc,
	      strerror(la.err), STOP_VALUE);
	CHECK(replied_bad == 0, "%d replies failed", replied_bad);
	/* sb_udp_server_loop closed its sockets. */
	for (k = 0; k < 100; k++) {
		open1 = it_stats_sockets(ch);
		if (open1 == open0)
			break;
		it_sleep_ms(20);
	}
	CHECK(open1 == open0, "sockets_open %lld after the loop, want %lld", (long long)open1,
	      (long long)open0);
	it_note("%d exchanges checked", n);
out:
	grpc_channel_destroy(ch);
	return it_teardown(&b, c);
}
