/* SPDX-License-Identifier: MIT
 * raw.c - raw ICMP sockets of the sandboxed program (ping, traceroute -I),
 * when the broker's policy names raw sockets for the caller; every echo
 * request or probe is still sent under the policy for its destination.
 *
 * The broker never hands off a raw socket (sockbroker.h H1): with the fd a
 * program could send anything anywhere. So, as with UDP (udp.c):
 *  - socket(AF_INET, SOCK_RAW, IPPROTO_ICMP) and (AF_INET6, SOCK_RAW,
 *    IPPROTO_ICMPV6) are notified. The broker makes a raw socket of the
 *    host for the caller (the policy's "socket" with type raw: a rule must
 *    name it, and the broker needs CAP_NET_RAW); refused, the program gets
 *    EPERM, as an unprivileged process does. Allowed, the program gets a
 *    raw socket of the sandbox's namespace (made by the socket factory),
 *    which reaches nothing outside. One broker socket per family serves
 *    every program socket of that family.
 *  - sendto/sendmsg/sendmmsg on it are notified (udp.c reads them once):
 *    the broker sends the ICMP message to the destination (policy "sendto"
 *    for that address, with port 0: a raw socket has no port, and a port
 *    the program wrote must not match a rule's port list), with the
 *    ancillary data the broker carries. A socket with IP_HDRINCL (or
 *    IPV6_HDRINCL) set is refused: its header would name another
 *    destination than the one the policy saw.
 *  - connect(2) is refused (EOPNOTSUPP): send(2) on a connected raw socket
 *    is not notified, and would stay inside. bind(2) is the sandbox's own,
 *    but the address a socket is bound to goes with each of its messages
 *    as their source (PKTINFO; the broker judges it as a bind), so that
 *    ping -I ADDR sends from ADDR on the host too.
 *  - Replies: a thread per family reads the broker's socket (RecvStream)
 *    and injects echo replies and ICMP errors into the sandbox from their
 *    true source: IPv4 as the whole packet received (its header, with the
 *    TTL, through an IPPROTO_RAW socket), IPv6 through an ICMPv6 socket
 *    with the source as IPV6_PKTINFO, to the address it was sent to on the
 *    host. Every raw socket of the sandbox then receives it, as raw sockets
 *    do. Echo requests, redirects, neighbour discovery and the like are not
 *    injected: the sandbox's own kernel would act on them.
 * What a raw socket of the host receives is every ICMP message the host
 * gets, which is what a rule naming raw sockets allows.
 *
 * Packet sockets (AF_PACKET) and raw sockets of other protocols stay
 * refused (EPERM): their frames carry the addresses and ports (or a whole
 * IP header) themselves, which no per-destination decision could judge.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "run.h"

#ifndef IPV6_HDRINCL
#define IPV6_HDRINCL 36
#endif

#define SBR_RAW_MAX 65535
/* How often a receive thread looks at its stop flag. */
#define SBR_RAW_TICK_MS 200

struct sbr_rawfam {
	int family;
	int s;          /* the broker's raw socket, -1 until the first socket() */
	int inject;     /* the sandbox's socket replies are injected with */
	int started;
	pthread_t thread;
	atomic_int stop;
	struct sbr_raw *r;
};

struct sbr_raw {
	sb_client *c;
	int helper_fd;
	int notify_fd;
	struct sbr_rawfam fam[2]; /* IPv4, IPv6 */
};

static struct sbr_rawfam *sbr_raw_fam(struct sbr_raw *r, int family)
{
	return &r->fam[family == AF_INET6];
}

/* Echo replies and errors: what a program's raw ICMP socket waits for. */
static int sbr_raw_wanted(int family, unsigned type)
{
	if (family == AF_INET)
		return type == 0 || type == 3 || type == 11 || type == 12 || type == 14;
	return (type >= 1 && type <= 4) || type == 129;
}

static void sbr_raw_inject4(const struct sbr_rawfam *f, const unsigned char *p, size_t n)
{
	struct sockaddr_in to = { .sin_family = AF_INET };
	size_t ihl;

	if (n < 20 || (p[0] >> 4) != 4)
		return;
	ihl = (size_t)(p[0] & 0xf) * 4;
	if (ihl < 20 || n <= ihl || p[9] != IPPROTO_ICMP || !sbr_raw_wanted(AF_INET, p[ihl]))
		return;
	/* Every address is local in the sandbox: the packet loops back to it,
	 * as it came to the host (the kernel sets the length and checksum). */
	memcpy(&to.sin_addr, p + 16, 4);
	if (sendto(f->inject, p, n, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to)) < 0)
		sbr_log("ICMP into the sandbox dropped: %s", strerror(errno));
}

static void sbr_raw_inject6(const struct sbr_rawfam *f, const unsigned char *p, size_t n,
			    const struct sb_udp_source *src)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cm;
	struct sockaddr_in6 to = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct iovec iov = { .iov_base = (void *)p, .iov_len = n };
	struct msghdr mh = { .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov,
			     .msg_iovlen = 1, .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf) };
	struct in6_pktinfo pi;
	struct cmsghdr *h;

	if (n < 4 || src->peer.ss_family != AF_INET6 || !sbr_raw_wanted(AF_INET6, p[0]))
		return;
	if (src->locallen && src->local.ss_family == AF_INET6)
		to.sin6_addr = ((const struct sockaddr_in6 *)&src->local)->sin6_addr;
	memset(&pi, 0, sizeof(pi));
	pi.ipi6_addr = ((const struct sockaddr_in6 *)&src->peer)->sin6_addr;
	memset(cm.buf, 0, sizeof(cm.buf));
	h = CMSG_FIRSTHDR(&mh);
	h->cmsg_level = IPPROTO_IPV6;
	h->cmsg_type = IPV6_PKTINFO;
	h->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(h), &pi, sizeof(pi));
	/* The kernel computes the ICMPv6 checksum for these two addresses. */
	if (sendmsg(f->inject, &mh, MSG_DONTWAIT) < 0)
		sbr_log("ICMPv6 into the sandbox dropped: %s", strerror(errno));
}

static void *sbr_raw_main(void *arg)
{
	struct sbr_rawfam *f = arg;
	struct sb_udp_source src;
	unsigned char *buf = malloc(SBR_RAW_MAX);
	sb_receiver *rcv = NULL;
	int trunc;
	ssize_t n;

	if (!buf)
		goto out;
	rcv = sb_receiver_open(f->r->c, f->s);
	if (!rcv)
		goto out;
	while (!atomic_load(&f->stop)) {
		n = sb_receiver_next(rcv, buf, SBR_RAW_MAX, &trunc, &src, SBR_RAW_TICK_MS);
		if (n < 0) {
			if (errno == EAGAIN)
				continue;
			sbr_log("raw socket: the receive stream ended: %s", strerror(errno));
			break;
		}
		if (trunc)
			continue;
		if (f->family == AF_INET)
			sbr_raw_inject4(f, buf, (size_t)n);
		else
			sbr_raw_inject6(f, buf, (size_t)n, &src);
	}
out:
	sb_receiver_close(rcv);
	free(buf);
	return NULL;
}

/* The injecting socket of @f in the sandbox. Return: 0 or -errno. */
static int sbr_raw_inject_socket(struct sbr_raw *r, struct sbr_rawfam *f)
{
	struct icmp6_filter none;
	int one = 1, fd;

	fd = sbr_factory_socket(r->helper_fd, f->family,
				f->family == AF_INET ? SBR_FACTORY_HDRINCL : SOCK_RAW);
	if (fd < 0)
		return fd;
	/* It receives nothing: the program's own sockets do. */
	ICMP6_FILTER_SETBLOCKALL(&none);
	if (f->family == AF_INET6 &&
	    (setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one)) < 0 ||
	     setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &none, sizeof(none)) < 0)) {
		int err = -errno;

		close(fd);
		return err;
	}
	f->inject = fd;
	return 0;
}

/**
 * sbr_raw_broker() - a broker raw socket of @family under the policy; the
 * first one is kept for the family, with its receive thread.
 * Return: 0, or -errno (EPERM: the policy does not name raw sockets).
 */
static int sbr_raw_broker(struct sbr_raw *r, int family, int protocol)
{
	struct sbr_rawfam *f = sbr_raw_fam(r, family);
	int s, rc;

	s = sb_socket(r->c, family, SOCK_RAW, protocol);
	if (s < 0) {
		rc = errno == EACCES || errno == EPERM ? -EPERM : -errno;
		sbr_log("raw socket refused: %s",
			sb_last_error() ? sb_last_error() : strerror(-rc));
		return rc;
	}
	/* Decided for this socket too; one broker socket serves them all. */
	if (f->s >= 0) {
		if (sb_close(r->c, s) < 0)
			sbr_log("close: %s", strerror(errno));
		return 0;
	}
	rc = sbr_raw_inject_socket(r, f);
	if (rc < 0) {
		if (sb_close(r->c, s) < 0)
			sbr_log("close: %s", strerror(errno));
		return rc;
	}
	f->s = s;
	if (pthread_create(&f->thread, NULL, sbr_raw_main, f) == 0)
		f->started = 1;
	else
		sbr_log("no thread for raw replies: they are lost");
	return 0;
}

int sbr_raw_socket(struct sbr_raw *r, const struct seccomp_notif *req)
{
	struct seccomp_notif_addfd a;
	int family = (int)req->data.args[0];
	int type = (int)req->data.args[1];
	int protocol = (int)req->data.args[2];
	int flags = type & ~0xf, fd, rc;

	if ((type & 0xf) != SOCK_RAW || (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)))
		return -EINVAL;
	if ((family == AF_INET && protocol != IPPROTO_ICMP) ||
	    (family == AF_INET6 && protocol != IPPROTO_ICMPV6) ||
	    (family != AF_INET && family != AF_INET6))
		return -EPERM;
	if (!r)
		return -EPERM;
	rc = sbr_raw_broker(r, family, protocol);
	if (rc < 0)
		return rc;
	fd = sbr_factory_socket(r->helper_fd, family, SOCK_RAW);
	if (fd < 0)
		return fd;
	if ((flags & SOCK_NONBLOCK) && fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		rc = -errno;
		goto out;
	}
	/* Installed at the lowest free fd number and answered in one step:
	 * the number is socket()'s result. */
	memset(&a, 0, sizeof(a));
	a.id = req->id;
	a.flags = SECCOMP_ADDFD_FLAG_SEND;
	a.srcfd = (uint32_t)fd;
	a.newfd_flags = (flags & SOCK_CLOEXEC) ? O_CLOEXEC : 0;
	if (ioctl(r->notify_fd, SECCOMP_IOCTL_NOTIF_ADDFD, &a) < 0)
		rc = errno == ENOENT ? -ENOENT : -errno;
	else
		sbr_log("raw socket %s", family == AF_INET ? "ICMP" : "ICMPv6");
out:
	close(fd);
	return rc;
}

/* The control message naming the address the program's raw socket is
 * bound to as the source, in @ctl (@size bytes, zeroed here).
 * Return: 1 when it is bound to an address, 0 when not (or unknown). */
static int sbr_raw_source(const struct sbr_call *call, unsigned char *ctl, size_t size)
{
	struct sockaddr_storage a;
	socklen_t al = sizeof(a);
	struct msghdr mh = { .msg_control = ctl, .msg_controllen = size };
	struct cmsghdr *cm;

	memset(ctl, 0, size);
	memset(&a, 0, sizeof(a));
	if (getsockname(call->sock, (struct sockaddr *)&a, &al) < 0 ||
	    a.ss_family != call->domain)
		return 0;
	cm = CMSG_FIRSTHDR(&mh);
	if (a.ss_family == AF_INET) {
		struct in_pktinfo pi = { .ipi_spec_dst = ((struct sockaddr_in *)&a)->sin_addr };

		if (pi.ipi_spec_dst.s_addr == htonl(INADDR_ANY))
			return 0;
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi = { .ipi6_addr = ((struct sockaddr_in6 *)&a)->sin6_addr };

		if (IN6_IS_ADDR_UNSPECIFIED(&pi.ipi6_addr))
			return 0;
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	}
	return 1;
}

ssize_t sbr_raw_send(struct sbr_raw *r, const struct sbr_call *call, const void *buf,
		     size_t len, struct sockaddr_storage *dst, void *ctl, size_t ctllen)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_name = dst, .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl, .msg_controllen = ctllen };
	struct sbr_rawfam *f;
	socklen_t l = sizeof(int);
	unsigned char src[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	ssize_t n;
	int v = 0;

	if (!r)
		return -EPERM;
	f = sbr_raw_fam(r, call->domain);
	if (f->s < 0)
		return -EPERM;
	/* A header of the program's own would carry its own destination. */
	if ((call->domain == AF_INET &&
	     getsockopt(call->sock, IPPROTO_IP, IP_HDRINCL, &v, &l) == 0 && v) ||
	    (call->domain == AF_INET6 &&
	     getsockopt(call->sock, IPPROTO_IPV6, IPV6_HDRINCL, &v, &l) == 0 && v))
		return -EPERM;
	if (dst->ss_family == AF_INET) {
		((struct sockaddr_in *)dst)->sin_port = 0;
		mh.msg_namelen = sizeof(struct sockaddr_in);
	} else {
		((struct sockaddr_in6 *)dst)->sin6_port = 0;
		mh.msg_namelen = sizeof(struct sockaddr_in6);
	}
	/* A program's bind(2) of its raw socket (ping -I ADDR) picks the
	 * source: the broker's one socket is bound to nothing, so the
	 * address goes with each message as the source (PKTINFO), which the
	 * broker judges as a bind. */
	if (!ctllen && sbr_raw_source(call, src, sizeof(src)) > 0) {
		mh.msg_control = src;
		mh.msg_controllen = call->domain == AF_INET ? CMSG_SPACE(sizeof(struct in_pktinfo))
							    : CMSG_SPACE(sizeof(struct in6_pktinfo));
		ctllen = mh.msg_controllen;
	}
	if (ctllen)
		n = sb_sendmsg(r->c, f->s, &mh, 0);
	else
		n = sb_sendto(r->c, f->s, buf, len, 0, (struct sockaddr *)dst, mh.msg_namelen);
	if (n < 0) {
		n = -errno;
		sbr_log("ICMP refused: %s", sb_last_error() ? sb_last_error() : strerror(errno));
	}
	return n;
}

struct sbr_raw *sbr_raw_new(sb_client *c, int helper_fd, int notify_fd)
{
	struct sbr_raw *r = calloc(1, sizeof(*r));
	int i;

	if (!r)
		return NULL;
	r->c = c;
	r->helper_fd = helper_fd;
	r->notify_fd = notify_fd;
	for (i = 0; i < 2; i++) {
		r->fam[i].family = i ? AF_INET6 : AF_INET;
		r->fam[i].s = r->fam[i].inject = -1;
		r->fam[i].r = r;
	}
	return r;
}

void sbr_raw_free(struct sbr_raw *r)
{
	int i;

	if (!r)
		return;
	for (i = 0; i < 2; i++)
		atomic_store(&r->fam[i].stop, 1);
	for (i = 0; i < 2; i++) {
		struct sbr_rawfam *f = &r->fam[i];

		if (f->started)
			pthread_join(f->thread, NULL);
		if (f->s >= 0 && sb_close(r->c, f->s) < 0)
			sbr_log("close of broker socket %d: %s", f->s, strerror(errno));
		if (f->inject >= 0)
			close(f->inject);
	}
	free(r);
}
