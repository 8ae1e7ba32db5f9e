/* SPDX-License-Identifier: MIT
 * sock.c - POSIX socket wrappers: non-blocking, close-on-exec, -errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sock.h"

#define SB__FD_FLAGS (SOCK_NONBLOCK | SOCK_CLOEXEC)

int sb__sock_open(int family, int type, int protocol)
{
	int fd = socket(family, type | SB__FD_FLAGS, protocol);

	return fd < 0 ? -errno : fd;
}

int sb__sock_pair(int family, int type, int protocol, int sv[2])
{
	return socketpair(family, type | SB__FD_FLAGS, protocol, sv) < 0 ? -errno : 0;
}

int sb__sock_bind(int fd, const struct sb__addr *a)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int rc = sb__addr_to_sockaddr(a, &ss, &len);

	if (rc < 0)
		return rc;
	return bind(fd, (struct sockaddr *)&ss, len) < 0 ? -errno : 0;
}

int sb__sock_connect(int fd, const struct sb__addr *a)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int rc = sb__addr_to_sockaddr(a, &ss, &len);

	if (rc < 0)
		return rc;
	do
		rc = connect(fd, (struct sockaddr *)&ss, len);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? -errno : 0;
}

int sb__sock_listen(int fd, int backlog)
{
	return listen(fd, backlog) < 0 ? -errno : 0;
}

int sb__sock_accept(int fd, struct sb__addr *peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int nfd;

	do
		nfd = accept4(fd, (struct sockaddr *)&ss, &len, SB__FD_FLAGS);
	while (nfd < 0 && errno == EINTR);
	if (nfd < 0)
		return -errno;
	if (peer && sb__addr_from_sockaddr(peer, (struct sockaddr *)&ss, len) < 0)
		memset(peer, 0, sizeof(*peer));
	return nfd;
}

ssize_t sb__sock_send(int fd, const void *buf, size_t len, int flags,
		      const struct sb__addr *dst)
{
	struct sockaddr_storage ss;
	socklen_t sl = 0;
	ssize_t n;

	if (dst) {
		int rc = sb__addr_to_sockaddr(dst, &ss, &sl);

		if (rc < 0)
			return rc;
	}
	do
		n = sendto(fd, buf, len, flags | MSG_NOSIGNAL,
			   dst ? (struct sockaddr *)&ss : NULL, sl);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

ssize_t sb__sock_sendmsg(int fd, const void *buf, size_t len, int flags,
			 const struct sb__addr *dst, void *ctl, size_t ctllen)
{
	struct sockaddr_storage ss;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctllen ? ctl : NULL, .msg_controllen = ctllen };
	socklen_t sl = 0;
	ssize_t n;

	if (dst) {
		int rc = sb__addr_to_sockaddr(dst, &ss, &sl);

		if (rc < 0)
			return rc;
		mh.msg_name = &ss;
		mh.msg_namelen = sl;
	}
	do
		n = sendmsg(fd, &mh, flags | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* Destination address and interface from IP_PKTINFO / IPV6_PKTINFO. */
static void sb__sock_pktinfo(struct msghdr *mh, struct sb__recv_info *info)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			struct sockaddr_in sin = { .sin_family = AF_INET };

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			sin.sin_addr = pi.ipi_addr;
			if (sb__addr_from_sockaddr(&info->destination,
						   (struct sockaddr *)&sin,
						   sizeof(sin)) == 0) {
				info->ifindex = pi.ipi_ifindex;
				info->have_pktinfo = 1;
			}
		} else if (cm->cmsg_level == IPPROTO_IPV6 &&
			   cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			sin6.sin6_addr = pi.ipi6_addr;
			if (sb__addr_from_sockaddr(&info->destination,
						   (struct sockaddr *)&sin6,
						   sizeof(sin6)) == 0) {
				info->ifindex = (int)pi.ipi6_ifindex;
				info->have_pktinfo = 1;
			}
		}
	}
}

/* TCP and MPTCP take MSG_TRUNC as "discard": they drop the bytes and
 * return their count, writing nothing (verified on Linux 6.18; AF_UNIX
 * streams and every datagram socket copy what fits). */
static int sb__sock_trunc_discards(int fd)
{
	int type, proto;

	if (sb__sock_getopt_int(fd, SOL_SOCKET, SO_TYPE, &type) < 0 ||
	    sb__sock_getopt_int(fd, SOL_SOCKET, SO_PROTOCOL, &proto) < 0)
		return 1;	/* unknown: trust no byte of the buffer */
	return type == SOCK_STREAM &&
	       (proto == IPPROTO_TCP || proto == IPPROTO_MPTCP);
}

ssize_t sb__sock_read(int fd, void *buf, size_t len)
{
	ssize_t n;

	do
		n = recv(fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

ssize_t sb__sock_recv(int fd, void *buf, size_t len, int flags,
		      struct sb__recv_info *info)
{
	return sb__sock_recv_fds(fd, buf, len, flags, info, NULL);
}

ssize_t sb__sock_recv_fds(int fd, void *buf, size_t len, int flags,
			  struct sb__recv_info *info, struct sb__fdset *keep)
{
	struct sockaddr_storage ss;
	/* Room for every kind of sb__cmsg at once, SB__CMSG_MAX of them,
	 * and for the most descriptors one message carries. */
	union {
		struct cmsghdr align;
		uint8_t buf[SB__CMSG_MAX * CMSG_SPACE(64) +
			    CMSG_SPACE(SB__SCM_MAX_FD * sizeof(int))];
	} cbuf;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh = {
		.msg_name = &ss, .msg_namelen = sizeof(ss),
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf.buf, .msg_controllen = sizeof(cbuf.buf),
	};
	size_t ncm;
	ssize_t n;

	memset(&ss, 0, sizeof(ss));
	/* Only Unix sockets pass descriptors, and packet sockets refuse the
	 * flag (EINVAL): ask for close-on-exec where it means something. */
	if (sb__sock_family(fd) == AF_UNIX)
		flags |= MSG_CMSG_CLOEXEC;
	do
		n = recvmsg(fd, &mh, flags);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (info) {
		memset(info, 0, sizeof(*info));
		if (mh.msg_namelen > 0 &&
		    sb__addr_from_sockaddr(&info->source, (struct sockaddr *)&ss,
					   mh.msg_namelen) < 0)
			memset(&info->source, 0, sizeof(info->source));
		info->length = (size_t)n;
		sb__sock_pktinfo(&mh, info);
	}
	/* Also without @info: a descriptor received must not stay open
	 * unless @keep takes it. */
	ncm = sb__cmsg_parse_fds(&mh, info ? info->cmsgs : NULL, info ? SB__CMSG_MAX : 0,
				 keep);
	if (info) {
		info->n_cmsgs = ncm;
		/* The kernel echoes MSG_CMSG_CLOEXEC, which is ours (the
		 * client applies the caller's own). */
		info->msg_flags = mh.msg_flags & ~MSG_CMSG_CLOEXEC;
	}
	/* With MSG_TRUNC the kernel returns the real length: report it in
	 * info->length and what was copied as the result. */
	if ((size_t)n > len)
		n = (ssize_t)len;
	if ((flags & MSG_TRUNC) && n > 0 && sb__sock_trunc_discards(fd))
		n = 0;
	return n;
}

int sb__sock_enable_pktinfo(int fd)
{
	int on = 1;
	int fam = sb__sock_family(fd);

	if (fam < 0)
		return fam;
	if (fam == AF_INET)
		return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof(on)) < 0 ?
		       -errno : 0;
	if (fam == AF_INET6)
		return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on,
				  sizeof(on)) < 0 ? -errno : 0;
	return -EAFNOSUPPORT;
}

typedef int (*sb__name_fn)(int, struct sockaddr *, socklen_t *);

static int sb__sock_getname(sb__name_fn fn, int fd, struct sb__addr *out)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (fn(fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	return sb__addr_from_sockaddr(out, (struct sockaddr *)&ss, len);
}

int sb__sock_name(int fd, struct sb__addr *out)
{
	return sb__sock_getname(getsockname, fd, out);
}

int sb__sock_peer(int fd, struct sb__addr *out)
{
	return sb__sock_getname(getpeername, fd, out);
}

int sb__sock_shutdown(int fd, int how)
{
	return shutdown(fd, how) < 0 ? -errno : 0;
}

int sb__sock_getopt_int(int fd, int level, int name, int *val)
{
	socklen_t len = sizeof(*val);

	return getsockopt(fd, level, name, val, &len) < 0 ? -errno : 0;
}

int sb__sock_family(int fd)
{
	int v;
	int rc = sb__sock_getopt_int(fd, SOL_SOCKET, SO_DOMAIN, &v);

	return rc < 0 ? rc : v;
}
