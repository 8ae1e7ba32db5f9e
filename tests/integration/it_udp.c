/* SPDX-License-Identifier: MIT
 * it_udp.c - datagrams through the broker over IPv4 and IPv6 loopback:
 * sb_sendto / sb_recvfrom with the source addresses checked against what
 * the native peer sees, datagram boundaries, implicit bind on first
 * sendto, and a connected UDP socket (sb_connect, sb_send, sb_recv,
 * sb_getpeername).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_client.h"

static struct it_broker b;
static sb_client *c;

static socklen_t loop_addr(int family, struct sockaddr_storage *ss, uint16_t port)
{
	return family == AF_INET ? it_addr4(ss, "127.0.0.1", port) : it_addr6(ss, "::1", port);
}

static int same_ip_port(const struct sockaddr_storage *a, socklen_t alen,
			const struct sockaddr_storage *x, socklen_t xlen)
{
	if (a->ss_family != x->ss_family || alen != xlen || it_port(a) != it_port(x))
		return 0;
	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		       ((const struct sockaddr_in *)x)->sin_addr.s_addr;
	return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		       &((const struct sockaddr_in6 *)x)->sin6_addr, sizeof(struct in6_addr));
}

static int native_udp(int family, struct sockaddr_storage *ss, socklen_t *len)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	*len = loop_addr(family, ss, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)ss, *len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*len = sizeof(*ss);
	getsockname(fd, (struct sockaddr *)ss, len);
	return fd;
}

/* recvfrom(2) after at most 3 s of poll(2). */
static ssize_t native_recvfrom(int fd, void *buf, size_t n, struct sockaddr_storage *src,
			       socklen_t *srclen)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 3000) != 1)
		return -1;
	return recvfrom(fd, buf, n, 0, (struct sockaddr *)src, srclen);
}

static void udp_case(int family)
{
	const char *fam = family == AF_INET ? "IPv4" : "IPv6";
	struct sockaddr_storage nat, bro, src, got;
	socklen_t natlen, brolen, srclen, gotlen;
	static const size_t dsizes[] = { 1, 7, 512, 1472, 8000 };
	unsigned char out[8000], in[8200];
	char a[128], x[128];
	int fd, s, u;
	ssize_t r;
	size_t i;

	fd = native_udp(family, &nat, &natlen);
	if (!CHECK(fd >= 0, "%s: native UDP socket: %s", fam, strerror(errno)))
		return;

	/* A bound broker socket. */
	s = sb_socket(c, family, SOCK_DGRAM, 0);
	if (!CHECK(s >= 0, "%s: sb_socket(SOCK_DGRAM): %s %s", fam, strerror(errno), it_sberr()))
		goto out_fd;
	brolen = loop_addr(family, &bro, 0);
	if (!CHECK(sb_bind(c, s, (struct sockaddr *)&bro, brolen) == 0, "%s: sb_bind: %s", fam,
		   strerror(errno)))
		goto out_s;
	brolen = sizeof(bro);
	if (!CHECK(sb_getsockname(c, s, (struct sockaddr *)&bro, &brolen) == 0 && it_port(&bro),
		   "%s: sb_getsockname: %s", fam, strerror(errno)))
		goto out_s;

	/* broker -> native: the native side sees the broker socket's address. */
	for (i = 0; i < sizeof(dsizes) / sizeof(dsizes[0]); i++) {
		it_fill(out, dsizes[i], (unsigned)i);
		r = sb_sendto(c, s, out, dsizes[i], 0, (struct sockaddr *)&nat, natlen);
		CHECK(r == (ssize_t)dsizes[i], "%s: sb_sendto %zu bytes returned %zd (%s)", fam,
		      dsizes[i], r, strerror(errno));
	}
	for (i = 0; i < sizeof(dsizes) / sizeof(dsizes[0]); i++) {
		it_fill(out, dsizes[i], (unsigned)i);
		srclen = sizeof(src);
		r = native_recvfrom(fd, in, sizeof(in), &src, &srclen);
		CHECK(r == (ssize_t)dsizes[i] && !memcmp(in, out, dsizes[i]),
		      "%s: datagram %zu: native got %zd bytes, want %zu intact", fam, i, r,
		      dsizes[i]);
		CHECK(same_ip_port(&src, srclen, &bro, brolen), "%s: native sees source %s, "
		      "broker socket is %s", fam,
		      it_addr_str((struct sockaddr *)&src, srclen, a, sizeof(a)),
		      it_addr_str((struct sockaddr *)&bro, brolen, x, sizeof(x)));
	}

	/* native -> broker: sb_recvfrom reports the native socket's address. */
	for (i = 0; i < sizeof(dsizes) / sizeof(dsizes[0]); i++) {
		it_fill(out, dsizes[i], (unsigned)(100 + i));
		CHECK(sendto(fd, out, dsizes[i], 0, (struct sockaddr *)&bro, brolen) ==
		      (ssize_t)dsizes[i], "%s: native sendto: %s", fam, strerror(errno));
	}
	for (i = 0; i < sizeof(dsizes) / sizeof(dsizes[0]); i++) {
		it_fill(out, dsizes[i], (unsigned)(100 + i));
		memset(&got, 0xa5, sizeof(got));
		gotlen = sizeof(got);
		r = sb_recvfrom(c, s, in, sizeof(in), 0, (struct sockaddr *)&got, &gotlen);
		CHECK(r == (ssize_t)dsizes[i] && !memcmp(in, out, dsizes[i]),
		      "%s: sb_recvfrom datagram %zu: got %zd bytes (%s), want %zu intact "
		      "(datagram boundaries kept)", fam, i, r, strerror(errno), dsizes[i]);
		CHECK(same_ip_port(&got, gotlen, &nat, natlen), "%s: sb_recvfrom source %s "
		      "(len %u), native sender is %s (len %u)", fam,
		      it_addr_str((struct sockaddr *)&got, gotlen, a, sizeof(a)), (unsigned)gotlen,
		      it_addr_str((struct sockaddr *)&nat, natlen, x, sizeof(x)), (unsigned)natlen);
	}

	/* A source address buffer that is too short is truncated, and the
	 * length says the real size (recvfrom(2)). */
	CHECK(sendto(fd, "x", 1, 0, (struct sockaddr *)&bro, brolen) == 1, "%s: native sendto",
	      fam);
	gotlen = 4;
	memset(&got, 0, sizeof(got));
	r = sb_recvfrom(c, s, in, sizeof(in), 0, (struct sockaddr *)&got, &gotlen);
	CHECK(r == 1 && gotlen == natlen, "%s: sb_recvfrom with a 4-byte address buffer: "
	      "returned %zd, address length %u, want 1 and %u", fam, r, (unsigned)gotlen,
	      (unsigned)natlen);

	/* An unbound socket is bound implicitly by its first sb_sendto. */
	u = sb_socket(c, family, SOCK_DGRAM, 0);
	if (CHECK(u >= 0, "%s: second sb_socket: %s", fam, strerror(errno))) {
		struct sockaddr_storage ub;
		socklen_t ublen = sizeof(ub);

		CHECK(sb_sendto(c, u, "auto", 4, 0, (struct sockaddr *)&nat, natlen) == 4,
		      "%s: sb_sendto from an unbound socket: %s", fam, strerror(errno));
		srclen = sizeof(src);
		r = native_recvfrom(fd, in, sizeof(in), &src, &srclen);
		CHECK(r == 4 && sb_getsockname(c, u, (struct sockaddr *)&ub, &ublen) == 0 &&
		      it_port(&ub) == it_port(&src), "%s: implicit bind: native saw port %u, "
		      "sb_getsockname says %u", fam, it_port(&src), it_port(&ub));

		/* Connected UDP: send/recv without addresses, getpeername. */
		CHECK(sb_connect(c, u, (struct sockaddr *)&nat, natlen) == 0,
		      "%s: sb_connect(UDP): %s", fam, strerror(errno));
		CHECK(sb_send(c, u, "conn", 4, 0) == 4, "%s: sb_send on connected UDP: %s", fam,
		      strerror(errno));
		srclen = sizeof(src);
		r = native_recvfrom(fd, in, sizeof(in), &src, &srclen);
		CHECK(r == 4 && !memcmp(in, "conn", 4), "%s: native got %zd bytes from the "
		      "connected broker socket", fam, r);
		CHECK(sendto(fd, "back", 4, 0, (struct sockaddr *)&ub, ublen) == 4,
		      "%s: native sendto", fam);
		r = sb_recv(c, u, in, sizeof(in), 0);
		CHECK(r == 4 && !memcmp(in, "back", 4), "%s: sb_recv on connected UDP: %zd (%s)",
		      fam, r, strerror(errno));
		gotlen = sizeof(got);
		CHECK(sb_getpeername(c, u, (struct sockaddr *)&got, &gotlen) == 0 &&
		      same_ip_port(&got, gotlen, &nat, natlen),
		      "%s: sb_getpeername of connected UDP = %s", fam,
		      it_addr_str((struct sockaddr *)&got, gotlen, a, sizeof(a)));
		CHECK(sb_close(c, u) == 0, "%s: sb_close: %s", fam, strerror(errno));
	}
out_s:
	CHECK(sb_close(c, s) == 0, "%s: sb_close: %s", fam, strerror(errno));
out_fd:
	close(fd);
}

int main(void)
{
	int fd;

	c = it_setup(&b, NULL, 40);
	udp_case(AF_INET);
	fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		close(fd);
		udp_case(AF_INET6);
	} else {
		it_note("no IPv6 in this kernel: IPv6 case not run");
	}
	return it_teardown(&b, c);
}
