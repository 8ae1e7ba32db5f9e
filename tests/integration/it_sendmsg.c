/* SPDX-License-Identifier: MIT
 * it_sendmsg.c - sb_sendmsg does what sendmsg(2) does on the same machine,
 * and no more than the caller may:
 *  - three iovecs arrive as one datagram, to msg_name;
 *  - IP_TTL and IP_TOS control messages reach the receiver (IP_RECVTTL,
 *    IP_RECVTOS) as they do natively, and IPV6_TCLASS over IPv6;
 *  - IP_PKTINFO with a source address the policy allows (a rule lets
 *    root bind 127.0.0.1 only): the datagram comes from it; 127.0.0.2 or
 *    an interface (SO_BINDTOIFINDEX, named by no rule): EACCES and
 *    nothing arrives;
 *  - SCM_CREDENTIALS over a broker Unix socketpair with the caller's own
 *    pid/uid/gid arrive (SO_PASSCRED on the other end) when the broker
 *    keeps the capabilities for it (confine.credentials: true); another
 *    uid: EPERM and nothing arrives (the broker could claim any);
 *  - a confined broker without confine.credentials: the kernel refuses
 *    the caller's own credentials (another pid than the broker's) with
 *    EPERM, and nothing arrives;
 *  - SCM_RIGHTS: EOPNOTSUPP; a timestamp (receive-only): EINVAL;
 *  - a stream socket's control message goes with its first piece only.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "it_client.h"

/* A native UDP receiver on 127.0.0.1 with TTL, TOS and PKTINFO reported. */
static int receiver(struct sockaddr_storage *bound, socklen_t *len)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), on = 1;

	*len = it_addr4(bound, "127.0.0.1", 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)bound, *len) < 0 ||
	    getsockname(fd, (struct sockaddr *)bound, len) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &on, sizeof(on)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &on, sizeof(on)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) < 0) {
		CHECK(0, "native receiver: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

struct rx {
	ssize_t n;
	char data[256];
	struct sockaddr_in from;
	int ttl, tos;
};

/* One datagram within @ms, with its TTL and TOS. Return: its length, -1. */
static ssize_t rx_one(int fd, struct rx *r, int ms)
{
	union {
		struct cmsghdr align;
		char b[256];
	} u;
	struct iovec iov = { r->data, sizeof(r->data) };
	struct msghdr m = { .msg_name = &r->from, .msg_namelen = sizeof(r->from),
			    .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct cmsghdr *cm;

	memset(r, 0, sizeof(*r));
	r->ttl = r->tos = -1;
	if (poll(&p, 1, ms) != 1)
		return r->n = -1;
	r->n = recvmsg(fd, &m, MSG_DONTWAIT);
	for (cm = CMSG_FIRSTHDR(&m); r->n >= 0 && cm; cm = CMSG_NXTHDR(&m, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TTL)
			memcpy(&r->ttl, CMSG_DATA(cm), sizeof(int));
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TOS)
			r->tos = *(unsigned char *)CMSG_DATA(cm);
	}
	return r->n;
}

/* Append an int control message to @u at *@len. */
static void put_int(char *u, size_t *len, int level, int type, int v)
{
	struct cmsghdr *cm = (struct cmsghdr *)(void *)(u + *len);

	cm->cmsg_level = level;
	cm->cmsg_type = type;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &v, sizeof(v));
	*len += CMSG_SPACE(sizeof(int));
}

/* sendmsg natively (@c NULL) or through the broker, with @ctl. */
static ssize_t send_ctl(sb_client *c, int s, const struct sockaddr_storage *to,
			socklen_t tolen, const char *ctl, size_t ctllen, const char *a,
			const char *b, const char *d)
{
	struct iovec iov[3] = { { (void *)a, strlen(a) }, { (void *)b, strlen(b) },
				{ (void *)d, strlen(d) } };
	struct msghdr m = { .msg_name = (void *)to, .msg_namelen = tolen,
			    .msg_iov = iov, .msg_iovlen = 3,
			    .msg_control = (void *)ctl, .msg_controllen = ctllen };

	return c ? sb_sendmsg(c, s, &m, 0) : sendmsg(s, &m, 0);
}

/* The traffic class of the next datagram on @fd (IPV6_RECVTCLASS on),
 * or -1. */
static int rx_tclass(int fd)
{
	union {
		struct cmsghdr align;
		char b[128];
	} u;
	char d[64];
	struct iovec iov = { d, sizeof(d) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			    .msg_controllen = sizeof(u.b) };
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct cmsghdr *cm;
	int v = -1;

	if (poll(&p, 1, 2000) != 1 || recvmsg(fd, &m, MSG_DONTWAIT) < 0)
		return -1;
	for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm))
		if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_TCLASS)
			memcpy(&v, CMSG_DATA(cm), sizeof(v));
	return v;
}

/* IPV6_TCLASS as a control message, as IP_TOS is for IPv4. */
static void tclass6(sb_client *c)
{
	union {
		struct cmsghdr align;
		char b[64];
	} u;
	struct sockaddr_storage to;
	socklen_t tolen = it_addr6(&to, "::1", 0);
	int rfd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), on = 1, s, got;
	size_t len = 0;
	ssize_t n;

	s = sb_socket(c, AF_INET6, SOCK_DGRAM, 0);
	if (!CHECK(rfd >= 0 && s >= 0 && bind(rfd, (struct sockaddr *)&to, tolen) == 0 &&
		   getsockname(rfd, (struct sockaddr *)&to, &tolen) == 0 &&
		   setsockopt(rfd, IPPROTO_IPV6, IPV6_RECVTCLASS, &on, sizeof(on)) == 0,
		   "IPv6 receiver: %s %s", strerror(errno), it_sberr()))
		goto out;
	memset(&u, 0, sizeof(u));
	put_int(u.b, &len, IPPROTO_IPV6, IPV6_TCLASS, 0x30);
	n = send_ctl(c, s, &to, tolen, u.b, len, "t", "c", "6");
	got = n == 3 ? rx_tclass(rfd) : -1;
	CHECK(n == 3 && got == 0x30, "sb_sendmsg with IPV6_TCLASS 0x30: %zd (%s), received "
	      "traffic class %d", n, it_sberr(), got);
out:
	if (rfd >= 0)
		close(rfd);
	if (s >= 0)
		sb_close(c, s);
}

static void udp(sb_client *c)
{
	union {
		struct cmsghdr align;
		char b[256];
	} u;
	struct sockaddr_storage to, src;
	struct in_pktinfo pi;
	struct cmsghdr *cm;
	struct rx nat, brk;
	socklen_t tolen, srclen;
	size_t len = 0;
	int rfd = receiver(&to, &tolen), nfd, s, e;
	ssize_t n;

	if (rfd < 0)
		return;
	nfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	s = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	if (!CHECK(nfd >= 0 && s >= 0, "sockets: %s %s", strerror(errno), it_sberr()))
		goto out;

	/* iovecs, TTL and TOS: the same as natively. */
	memset(&u, 0, sizeof(u));
	put_int(u.b, &len, IPPROTO_IP, IP_TTL, 7);
	put_int(u.b, &len, IPPROTO_IP, IP_TOS, 0x10);
	n = send_ctl(NULL, nfd, &to, tolen, u.b, len, "one,", "two,", "three");
	CHECK(n == 13 && rx_one(rfd, &nat, 2000) == 13, "native sendmsg: %zd", n);
	n = send_ctl(c, s, &to, tolen, u.b, len, "one,", "two,", "three");
	CHECK(n == 13, "sb_sendmsg with TTL and TOS: %zd %s %s", n, strerror(errno),
	      it_sberr());
	CHECK(rx_one(rfd, &brk, 2000) == 13 && !memcmp(brk.data, "one,two,three", 13),
	      "the broker's datagram: %zd bytes \"%.*s\"", brk.n, (int)(brk.n > 0 ? brk.n : 0),
	      brk.data);
	CHECK(brk.ttl == 7 && nat.ttl == 7 && brk.tos == 0x10 && nat.tos == 0x10,
	      "TTL %d (native %d), TOS 0x%x (native 0x%x), want 7 and 0x10", brk.ttl,
	      nat.ttl, (unsigned)brk.tos, (unsigned)nat.tos);

	/* IP_PKTINFO with source 127.0.0.1: allowed, and the source it is. */
	memset(&u, 0, sizeof(u));
	memset(&pi, 0, sizeof(pi));
	inet_pton(AF_INET, "127.0.0.1", &pi.ipi_spec_dst);
	cm = (struct cmsghdr *)(void *)u.b;
	cm->cmsg_level = IPPROTO_IP;
	cm->cmsg_type = IP_PKTINFO;
	cm->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	n = send_ctl(c, s, &to, tolen, u.b, CMSG_SPACE(sizeof(pi)), "pk", "t", "1");
	CHECK(n == 4 && rx_one(rfd, &brk, 2000) == 4 &&
	      brk.from.sin_addr.s_addr == htonl(INADDR_LOOPBACK),
	      "PKTINFO from 127.0.0.1: %zd %s", n, it_sberr());

	/* A source the policy does not allow; an interface (needs naming). */
	inet_pton(AF_INET, "127.0.0.2", &pi.ipi_spec_dst);
	memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	errno = 0;
	n = send_ctl(c, s, &to, tolen, u.b, CMSG_SPACE(sizeof(pi)), "pk", "t", "2");
	e = errno;
	CHECK(n == -1 && e == EACCES, "PKTINFO from 127.0.0.2: %zd %s, want EACCES", n,
	      strerror(e));
	inet_pton(AF_INET, "127.0.0.1", &pi.ipi_spec_dst);
	pi.ipi_ifindex = 1;
	memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	errno = 0;
	n = send_ctl(c, s, &to, tolen, u.b, CMSG_SPACE(sizeof(pi)), "pk", "t", "3");
	e = errno;
	CHECK(n == -1 && e == EACCES && strstr(it_sberr(), "refused"),
	      "PKTINFO on ifindex 1: %zd %s (%s), want EACCES from the policy", n,
	      strerror(e), it_sberr());
	CHECK(rx_one(rfd, &brk, 300) < 0, "a refused datagram arrived (%zd bytes)", brk.n);

	/* Receive-only and descriptor messages. */
	memset(&u, 0, sizeof(u));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &rfd, sizeof(int));
	errno = 0;
	n = send_ctl(c, s, &to, tolen, u.b, CMSG_SPACE(sizeof(int)), "a", "b", "c");
	e = errno;
	/* As the kernel: descriptors belong to Unix sockets (it_scm_rights). */
	CHECK(n == -1 && e == EINVAL, "SCM_RIGHTS on UDP: %zd %s, want EINVAL", n,
	      strerror(e));
	cm->cmsg_type = SO_TIMESTAMP;
	cm->cmsg_len = CMSG_LEN(sizeof(struct timeval));
	errno = 0;
	n = send_ctl(c, s, &to, tolen, u.b, CMSG_SPACE(sizeof(struct timeval)), "a", "b", "c");
	e = errno;
	CHECK(n == -1 && e == EINVAL, "SO_TIMESTAMP to send: %zd %s, want EINVAL", n,
	      strerror(e));
	CHECK(rx_one(rfd, &brk, 300) < 0, "a refused datagram arrived (%zd bytes)", brk.n);
	srclen = sizeof(src);
	CHECK(sb_getsockname(c, s, (struct sockaddr *)&src, &srclen) == 0,
	      "the socket is still usable: %s", it_sberr());
out:
	if (s >= 0)
		sb_close(c, s);
	if (nfd >= 0)
		close(nfd);
	close(rfd);
}

/* SCM_CREDENTIALS through a broker Unix socketpair; @kept: the broker
 * kept CAP_SYS_ADMIN/CAP_SETUID/CAP_SETGID (confine.credentials). */
static void creds(sb_client *c, int kept)
{
	union {
		struct cmsghdr align;
		char b[128];
	} u, v;
	struct ucred mine = { .pid = getpid(), .uid = getuid(), .gid = getgid() }, got;
	struct iovec iov = { (void *)"cred", 4 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = u.b, .msg_controllen = CMSG_SPACE(sizeof(mine)) };
	char buf[16];
	struct iovec riov = { buf, sizeof(buf) };
	struct msghdr rm = { .msg_iov = &riov, .msg_iovlen = 1,
			     .msg_control = v.b, .msg_controllen = sizeof(v.b) };
	struct cmsghdr *cm;
	int sv[2], on = 1, e, found = 0;
	ssize_t n;

	if (!CHECK(sb_socketpair(c, AF_UNIX, SOCK_DGRAM, 0, sv) == 0, "socketpair: %s",
		   it_sberr()))
		return;
	CHECK(sb_setsockopt(c, sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) == 0,
	      "SO_PASSCRED: %s", it_sberr());
	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_CREDENTIALS;
	cm->cmsg_len = CMSG_LEN(sizeof(mine));
	memcpy(CMSG_DATA(cm), &mine, sizeof(mine));
	errno = 0;
	n = sb_sendmsg(c, sv[0], &m, 0);
	e = errno;
	if (!kept) {
		CHECK(n == -1 && e == EPERM, "confined without confine.credentials: "
		      "SCM_CREDENTIALS with my own ids: %zd %s, want EPERM", n, strerror(e));
		n = sb_recvmsg(c, sv[1], &rm, MSG_DONTWAIT);
		CHECK(n == -1, "after the refused send the receiver got %zd", n);
		sb_close(c, sv[0]);
		sb_close(c, sv[1]);
		return;
	}
	CHECK(n == 4, "SCM_CREDENTIALS with my own ids: %zd %s", n, it_sberr());
	n = sb_recvmsg(c, sv[1], &rm, MSG_DONTWAIT);
	for (cm = CMSG_FIRSTHDR(&rm); n == 4 && cm; cm = CMSG_NXTHDR(&rm, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS) {
			memcpy(&got, CMSG_DATA(cm), sizeof(got));
			found = 1;
		}
	CHECK(found && got.pid == mine.pid && got.uid == mine.uid && got.gid == mine.gid,
	      "the receiver saw %s pid %d uid %u gid %u, want mine (%d %u %u)",
	      found ? "credentials" : "no credentials", found ? got.pid : 0,
	      found ? got.uid : 0, found ? got.gid : 0, mine.pid, mine.uid, mine.gid);

	/* Somebody else's uid: the broker could send it; it must not. */
	mine.uid = 12345;
	cm = CMSG_FIRSTHDR(&m);
	memcpy(CMSG_DATA(cm), &mine, sizeof(mine));
	errno = 0;
	n = sb_sendmsg(c, sv[0], &m, 0);
	e = errno;
	CHECK(n == -1 && e == EPERM, "SCM_CREDENTIALS claiming uid 12345: %zd %s, want EPERM",
	      n, strerror(e));
	rm.msg_controllen = sizeof(v.b);
	errno = 0;
	n = sb_recvmsg(c, sv[1], &rm, MSG_DONTWAIT);
	e = errno;
	CHECK(n == -1 && e == EAGAIN, "after the refused send the receiver got %zd (%s)", n,
	      strerror(e));
	sb_close(c, sv[0]);
	sb_close(c, sv[1]);
}

/* A stream socket: the control message goes once, the data whole. */
static void stream(sb_client *c)
{
	union {
		struct cmsghdr align;
		char b[64];
	} u;
	struct sockaddr_storage ss;
	char big[3000], back[3000];
	struct iovec iov[2] = { { big, 1000 }, { big + 1000, 2000 } };
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = u.b };
	size_t len = 0;
	socklen_t sslen;
	int l = it_native_listener(AF_INET, "127.0.0.1", &ss, &sslen), s, a = -1;
	ssize_t n;

	if (!CHECK(l >= 0, "native listener"))
		return;
	memset(&u, 0, sizeof(u));
	put_int(u.b, &len, IPPROTO_IP, IP_TOS, 0x08);
	m.msg_controllen = len;
	it_fill(big, sizeof(big), 3);
	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (CHECK(s >= 0 && sb_connect(c, s, (struct sockaddr *)&ss, sslen) == 0,
		  "connect: %s", it_sberr()) &&
	    CHECK((a = it_native_accept(l, NULL, NULL, 2000)) >= 0, "accept")) {
		n = sb_sendmsg(c, s, &m, 0);
		CHECK(n == 3000, "TCP sendmsg of two iovecs with IP_TOS: %zd %s", n, it_sberr());
		CHECK(it_read_full(a, back, sizeof(back), 2000) == 0 &&
		      !memcmp(back, big, sizeof(big)), "the peer got other bytes");
	}
	if (a >= 0)
		close(a);
	if (s >= 0)
		sb_close(c, s);
	close(l);
}

/* Root may bind (choose a source address) on 127.0.0.1 only. */
#define POLICY \
	"policy:\n" \
	"  - name: source-127-0-0-1\n" \
	"    match: { uid: 0 }\n" \
	"    action: allow\n" \
	"    ops: [bind]\n" \
	"    bind: [127.0.0.1/32]\n" \
	"  - name: the-rest\n" \
	"    match: { uid: 0 }\n" \
	"    action: allow\n" \
	"    ops: [socket, connect, sendto, setsockopt, listen, accept, resolve]\n"

int main(void)
{
	struct it_broker b, nb;
	sb_client *c, *nc;

	/* Both brokers start before the first gRPC call (fork+exec). */
	if (it_broker_start(&nb, POLICY) < 0)
		return 1;
	c = it_setup(&b, "confine:\n  credentials: true\n" POLICY, 40);
	nc = sb_open(nb.target);
	if (CHECK(nc != NULL, "sb_open(%s)", nb.target))
		creds(nc, 0);
	udp(c);
	tclass6(c);
	creds(c, 1);
	stream(c);
	if (nc)
		sb_close_client(nc);
	CHECK(it_broker_stop(&nb) == 0, "the second broker did not stop cleanly");
	return it_teardown(&b, c);
}
