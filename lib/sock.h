/* SPDX-License-Identifier: MIT
 * sock.h - POSIX socket wrappers for the broker: every fd is created
 * O_NONBLOCK|O_CLOEXEC, every function returns a count, 0, or -errno, and
 * nothing here prints, exits or waits.
 */
#ifndef SB_LIB_SOCK_H
#define SB_LIB_SOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>

#include "addr.h"
#include "cmsg.h"
#include "compiler.h"

/** sb__sock_open() - socket(2) with SOCK_NONBLOCK|SOCK_CLOEXEC.
 *  Return: the fd, or -errno. */
SB__CHECK int sb__sock_open(int family, int type, int protocol);

/** sb__sock_pair() - socketpair(2), both ends non-blocking, close-on-exec.
 *  Return: 0 with @sv filled, or -errno. */
SB__CHECK int sb__sock_pair(int family, int type, int protocol, int sv[2]);

/** sb__sock_bind() - bind(2) to @a. Return: 0 or -errno. */
SB__CHECK int sb__sock_bind(int fd, const struct sb__addr *a);

/** sb__sock_connect() - connect(2) to @a (SB__ADDR_NONE: AF_UNSPEC).
 *  Return: 0, -EINPROGRESS (in progress: wait for POLLOUT, then connect
 *  again: -EALREADY while pending, 0 or -EISCONN once connected, or the
 *  failure), or another -errno. */
SB__CHECK int sb__sock_connect(int fd, const struct sb__addr *a);

/** sb__sock_listen() - listen(2). Return: 0 or -errno. */
SB__CHECK int sb__sock_listen(int fd, int backlog);

/** sb__sock_accept() - accept4(2) non-blocking, close-on-exec.
 *  @peer: filled with the peer address when not NULL.
 *  Return: the new fd, or -errno (-EAGAIN when none is pending). */
SB__CHECK int sb__sock_accept(int fd, struct sb__addr *peer);

/** sb__sock_send() - sendto(2) with MSG_NOSIGNAL always added.
 *  @dst: NULL for send(2). Return: bytes sent or -errno. */
SB__CHECK ssize_t sb__sock_send(int fd, const void *buf, size_t len, int flags,
		      const struct sb__addr *dst);

/* What sb__sock_recv() reports besides the data. */
struct sb__recv_info {
	struct sb__addr source;      /* SB__ADDR_NONE when the kernel gave none */
	size_t length;               /* real datagram length (MSG_TRUNC) */
	int msg_flags;               /* native msg_flags */
	int have_pktinfo;            /* 1 when destination/ifindex are set */
	struct sb__addr destination; /* IP_PKTINFO / IPV6_PKTINFO address */
	int ifindex;
	size_t n_cmsgs;              /* control messages, typed (cmsg.h) */
	struct sb__cmsg cmsgs[SB__CMSG_MAX];
};

/** sb__sock_read() - recv(2) of a stream socket's bytes: no address, no
 *  control messages (descriptors a Unix peer sent are closed by the
 *  kernel, which reports MSG_CTRUNC to nobody). For relays, where
 *  sb__sock_recv()'s extras cost a system call each time.
 *  Return: bytes (0: end of stream) or -errno. */
SB__CHECK ssize_t sb__sock_read(int fd, void *buf, size_t len);

/** sb__sock_sendmsg() - sendmsg(2) of one buffer with control messages
 *  (@ctl of @ctllen bytes, built by sb__cmsg_build; 0: none), MSG_NOSIGNAL.
 *  Return: bytes sent or -errno. */
SB__CHECK ssize_t sb__sock_sendmsg(int fd, const void *buf, size_t len, int flags,
				   const struct sb__addr *dst, void *ctl, size_t ctllen);

/** sb__sock_recv() - recvmsg(2), with the source address, the control
 *  messages the socket's options asked for (typed; descriptors closed)
 *  and, when the socket has IP_PKTINFO/IPV6_RECVPKTINFO on, the
 *  destination.
 *  @info: may be NULL; info->length is the kernel's count: the datagram's
 *  real length with MSG_TRUNC, the bytes a TCP MSG_TRUNC discarded.
 *  Return: bytes the kernel wrote into @buf (<= @len; 0 for TCP with
 *  MSG_TRUNC, which writes none) or -errno. Only these bytes are data. */
SB__CHECK ssize_t sb__sock_recv(int fd, void *buf, size_t len, int flags,
		      struct sb__recv_info *info);

/** sb__sock_recv_fds() - sb__sock_recv() keeping the descriptors an
 *  AF_UNIX socket received (SCM_RIGHTS) in @keep (NULL: closed), which
 *  must be empty; those beyond its room are closed with MSG_CTRUNC.
 *  They are close-on-exec and belong to @keep's holder. */
SB__CHECK ssize_t sb__sock_recv_fds(int fd, void *buf, size_t len, int flags,
				    struct sb__recv_info *info, struct sb__fdset *keep);

/** sb__sock_enable_pktinfo() - turn on IP_PKTINFO or IPV6_RECVPKTINFO for
 *  the socket's family. Return: 0 or -errno. */
SB__CHECK int sb__sock_enable_pktinfo(int fd);

/** sb__sock_name() / sb__sock_peer() - getsockname/getpeername.
 *  Return: 0 or -errno. */
SB__CHECK int sb__sock_name(int fd, struct sb__addr *out);
SB__CHECK int sb__sock_peer(int fd, struct sb__addr *out);

/** sb__sock_shutdown() - shutdown(2). Return: 0 or -errno. */
SB__CHECK int sb__sock_shutdown(int fd, int how);

/** sb__sock_family() - SO_DOMAIN. Return: the value or -errno. */
SB__CHECK int sb__sock_family(int fd);

/** sb__sock_getopt_int() - an int option. Return: 0 or -errno. */
SB__CHECK int sb__sock_getopt_int(int fd, int level, int name, int *val);

#endif /* SB_LIB_SOCK_H */
