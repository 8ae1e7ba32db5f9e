/* SPDX-License-Identifier: MIT
 * socket.c - the socket calls of libsockbroker: each one translates its
 * arguments, makes one RPC (or a few, for large transfers) and reports the
 * result as POSIX does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <pb_decode.h>
#include <pb_encode.h>

#include "call.h"
#include "wire.h"

#define SB__DEFAULT_MSG (4u << 20)

static int sb__check(sb_client *c)
{
	return c ? 0 : sb__fail(EINVAL, "no client");
}

/* Largest data field one request or reply may carry. */
static size_t sb__chunk(const sb_client *c)
{
	uint32_t m = c->max_message_bytes ? c->max_message_bytes : SB__DEFAULT_MSG;

	return m > 2 * SB__MSG_OVERHEAD ? m - SB__MSG_OVERHEAD : SB__MSG_OVERHEAD;
}

/* Split SOCK_NONBLOCK/SOCK_CLOEXEC off a type and translate the rest. The
 * protocol of an AF_PACKET socket is an ethertype in network byte order
 * (htons(ETH_P_ALL)); it goes in @ppkt in host order, @pp then 0. The
 * kernel reads only its low 16 bits (a __be16), and so does this. */
/* Check and translate socket(2)'s arguments in the kernel's order:
 * family, type (a type past SOCK_PACKET, or an unknown flag, is EINVAL),
 * an IP protocol number out of range (EINVAL), a type the broker has no
 * socket for (ESOCKTNOSUPPORT), a protocol it has no number for. A Unix
 * SOCK_RAW is a datagram socket, as unix_create() makes it. @base: the
 * type the socket has. */
static int sb__socket_args(int domain, int type, int protocol, uint32_t *pd,
			   uint32_t *pt, uint32_t *pp, uint32_t *ppkt, int *nonblock,
			   int *base)
{
	*base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	*nonblock = (type & SOCK_NONBLOCK) != 0;
	*pp = 0;
	*ppkt = 0;
	if (sb__portable(SB__C_AF, domain, pd) < 0)
		return sb__fail(EAFNOSUPPORT, "address family %d not supported", domain);
	if (*base < 0 || *base > SOCK_PACKET)
		return sb__fail(EINVAL, "invalid socket type %d", type);
	if ((domain == AF_INET || domain == AF_INET6) && (protocol < 0 || protocol >= IPPROTO_MAX))
		return sb__fail(EINVAL, "invalid IP protocol %d", protocol);
	if (domain == AF_UNIX && *base == SOCK_RAW)
		*base = SOCK_DGRAM;
	if (sb__portable(SB__C_SOCK, *base, pt) < 0)
		return sb__fail(ESOCKTNOSUPPORT, "socket type %d not supported", *base);
	if (domain == AF_PACKET) {
		*ppkt = ntohs((uint16_t)protocol);
		return 0;
	}
	if (sb__portable(SB__C_IPPROTO, protocol, pp) < 0)
		return sb__fail(EPROTONOSUPPORT, "protocol %d not supported", protocol);
	return 0;
}

/* MSG_* bits in the contract's numbering. A bit Linux has no flag for is
 * ignored, as the kernel's send and receive paths ignore it. */
static uint32_t sb__msg_flags(int flags)
{
	uint32_t out = 0, p;
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		int f = (int)(1u << bit);

		if ((flags & f) && sb__flags_to_portable(SB__C_MSG, f, &p) == 0)
			out |= p;
	}
	return out;
}

int sb_socket(sb_client *c, int domain, int type, int protocol)
{
	sockbroker_v1_SocketRequest req = sockbroker_v1_SocketRequest_init_zero;
	sockbroker_v1_SocketReply rep = sockbroker_v1_SocketReply_init_zero;
	uint32_t pd, pt, pp, ppkt;
	int nb, rc, s, base;

	if (sb__check(c) < 0)
		return -1;
	if (sb__socket_args(domain, type, protocol, &pd, &pt, &pp, &ppkt, &nb, &base) < 0)
		return -1;
	req.family = (sockbroker_v1_AddressFamily)pd;
	req.type = (sockbroker_v1_SocketType)pt;
	req.protocol = (sockbroker_v1_Protocol)pp;
	req.packet_protocol = ppkt;
	req.nonblock = nb;
	rc = SB__CALL(c, Socket, req, rep, -1);
	if (rc < 0)
		return -1;
	if (sb__reply(rep.error) < 0)
		return -1;
	s = sb__slot_alloc(c, rep.handle, domain, base, nb);
	if (s < 0) {
		sb__handle_drop(c, rep.handle);
		return sb__err(s);
	}
	return s;
}

int sb_socketpair(sb_client *c, int domain, int type, int protocol, int sv[2])
{
	sockbroker_v1_SocketPairRequest req = sockbroker_v1_SocketPairRequest_init_zero;
	sockbroker_v1_SocketPairReply rep = sockbroker_v1_SocketPairReply_init_zero;
	uint32_t pd, pt, pp, ppkt;
	int nb, s0, s1, base;

	if (sb__check(c) < 0)
		return -1;
	if (!sv)
		return sb__fail(EFAULT, "sv is NULL");
	if (sb__socket_args(domain, type, protocol, &pd, &pt, &pp, &ppkt, &nb, &base) < 0)
		return -1;
	req.family = (sockbroker_v1_AddressFamily)pd;
	req.type = (sockbroker_v1_SocketType)pt;
	req.protocol = (sockbroker_v1_Protocol)pp;
	req.packet_protocol = ppkt;
	req.nonblock = nb;
	if (SB__CALL(c, SocketPair, req, rep, -1) < 0 || sb__reply(rep.error) < 0)
		return -1;
	s0 = sb__slot_alloc(c, rep.handle0, domain, base, nb);
	s1 = s0 < 0 ? s0 : sb__slot_alloc(c, rep.handle1, domain, base, nb);
	if (s1 < 0) {
		if (s0 >= 0)
			sb__slot_release(c, s0, rep.handle0);
		sb__handle_drop(c, rep.handle0);
		sb__handle_drop(c, rep.handle1);
		return sb__err(s1);
	}
	sv[0] = s0;
	sv[1] = s1;
	return 0;
}

int sb_bind(sb_client *c, int s, const struct sockaddr *addr, socklen_t len)
{
	sockbroker_v1_BindRequest req = sockbroker_v1_BindRequest_init_zero;
	sockbroker_v1_BindReply rep = sockbroker_v1_BindReply_init_zero;
	struct sb__slot sl;
	int rc;

	if (sb__lookup(c, s, &sl) < 0)
		return -1;
	rc = sb__pb_from_sock_addr(&req.address, sl.family, 1, addr, len);
	if (rc < 0)
		return sb__fail(-rc, "bad address");
	req.has_address = true;
	req.handle = sl.handle;
	if (SB__CALL(c, Bind, req, rep, -1) < 0)
		return -1;
	return sb__reply(rep.error);
}

int sb_connect_timeout(sb_client *c, int s, const struct sockaddr *addr,
		       socklen_t len, int timeout_ms)
{
	sockbroker_v1_ConnectRequest req = sockbroker_v1_ConnectRequest_init_zero;
	sockbroker_v1_ConnectReply rep = sockbroker_v1_ConnectReply_init_zero;
	struct sb__slot sl;
	int rc;

	if (sb__lookup(c, s, &sl) < 0)
		return -1;
	if (addr && len >= sizeof(sa_family_t) && addr->sa_family == AF_UNSPEC) {
		req.has_address = false; /* dissolve the association */
	} else {
		rc = sb__pb_from_sock_addr(&req.address, sl.family, 0, addr, len);
		if (rc < 0)
			return sb__fail(-rc, "bad address");
		req.has_address = true;
	}
	req.handle = sl.handle;
	req.timeout_ms = timeout_ms > 0 ? (uint32_t)timeout_ms : 0;
	if (SB__CALL(c, Connect, req, rep, -1) < 0)
		return -1;
	return sb__reply(rep.error);
}

int sb_connect(sb_client *c, int s, const struct sockaddr *addr, socklen_t len)
{
	return sb_connect_timeout(c, s, addr, len, 0);
}

int sb_listen(sb_client *c, int s, int backlog)
{
	sockbroker_v1_ListenRequest req = sockbroker_v1_ListenRequest_init_zero;
	sockbroker_v1_ListenReply rep = sockbroker_v1_ListenReply_init_zero;
	struct sb__slot sl;

	if (sb__lookup(c, s, &sl) < 0)
		return -1;
	req.handle = sl.handle;
	req.backlog = backlog;
	if (SB__CALL(c, Listen, req, rep, -1) < 0)
		return -1;
	return sb__reply(rep.error);
}

int sb_accept4(sb_client *c, int s, struct sockaddr *addr, socklen_t *len,
	       int flags)
{
	sockbroker_v1_AcceptRequest req = sockbroker_v1_AcceptRequest_init_zero;
	sockbroker_v1_AcceptReply rep = sockbroker_v1_AcceptReply_init_zero;
	struct sb__slot sl;
	int ns, rc;

	if (sb__lookup(c, s, &sl) < 0)
		return -1;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return sb__fail(EINVAL, "accept4: unknown flags 0x%x", (unsigned)flags);
	if (addr && !len)
		return sb__fail(EFAULT, "accept: address without a length");
	req.handle = sl.handle;
	req.nonblock = (flags & SOCK_NONBLOCK) != 0;
	if (SB__CALL(c, Accept, req, rep, -1) < 0 || sb__reply(rep.error) < 0)
		return -1;
	ns = sb__slot_alloc(c, rep.handle, sl.family, sl.type, req.nonblock);
	if (ns < 0) {
		sb__handle_drop(c, rep.handle);
		return sb__err(ns);
	}
	if (addr) {
		rc = sb__pb_copy_out(&rep.peer, rep.has_peer, addr, len);
		if (rc < 0)
			*len = 0;
	}
	return ns;
}

int sb_accept(sb_client *c, int s, struct sockaddr *addr, socklen_t *len)
{
	return sb_accept4(c, s, addr, len, 0);
}

/* One Send RPC of at most one chunk, with @ctl's control messages (may
 * be NULL). Return: bytes sent or -1. */
static ssize_t sb__send_once(sb_client *c, uint64_t handle, const void *buf,
			     size_t len, uint32_t pflags,
			     const sockbroker_v1_Address *dst,
			     const sockbroker_v1_SendRequest *ctl)
{
	sockbroker_v1_SendRequest req = sockbroker_v1_SendRequest_init_zero;
	sockbroker_v1_SendReply rep = sockbroker_v1_SendReply_init_zero;
	struct sb__buf b = { .src = buf, .len = len };

	if (ctl) {
		req.control_count = ctl->control_count;
		memcpy(req.control, ctl->control, sizeof(req.control));
		req.fd_tag = ctl->fd_tag;
		req.fd_count = ctl->fd_count;
	}
	req.handle = handle;
	req.flags = pflags;
	req.data.funcs.encode = sb__pb_encode_bytes;
	req.data.arg = &b;
	if (dst) {
		req.destination = *dst;
		req.has_destination = true;
	}
	if (SB__CALL(c, Send, req, rep, -1) < 0 || sb__reply(rep.error) < 0)
		return -1;
	if (rep.sent > len)
		return sb__fail(EPROTO, "broker reported more bytes sent than asked");
	return (ssize_t)rep.sent;
}

/* Write the descriptors of @fds on the hand-off channel for the Send that
 * follows, named in @ctl (Hand-off rule 6), with ho_send_lock taken: the
 * broker takes the channel's next message. Return: 0 (unlock after the
 * call), or -1 (unlocked). */
static int sb__send_fds(sb_client *c, const struct sb__slot *sl,
			const struct sb__fdset *fds, sockbroker_v1_SendRequest *ctl)
{
	uint64_t tag = 0;
	int rc = -ENOTCONN, tries;

	if (sl->family && sl->family != AF_UNIX)
		return sb__fail(EINVAL, "descriptors (SCM_RIGHTS) go only over Unix sockets");
	pthread_mutex_lock(&c->ho_send_lock);
	/* A channel the broker closed (out of step) fails at once: bind a
	 * new one, once. */
	for (tries = 0; tries < 2 && rc < 0; tries++) {
		if (sb__handoff_channel(c) < 0) {
			pthread_mutex_unlock(&c->ho_send_lock);
			return -1;
		}
		rc = sb__handoff_give(c, fds, &tag);
	}
	if (rc < 0) {
		pthread_mutex_unlock(&c->ho_send_lock);
		return sb__fail(-rc, "cannot pass descriptors over the hand-off channel: %s",
				strerror(-rc));
	}
	ctl->fd_tag = tag;
	ctl->fd_count = (uint32_t)fds->n;
	return 0;
}

static ssize_t sb__send(sb_client *c, int s, const void *buf, size_t len,
			int flags, const struct sockaddr *dst, socklen_t dstlen,
			sockbroker_v1_SendRequest *ctl, const struct sb__fdset *fds)
{
	sockbroker_v1_Address pdst;
	struct sb__slot sl;
	uint32_t pflags;
	size_t chunk, done = 0;
	ssize_t w = 0;
	int rc;

	if (sb__lookup(c, s, &sl) < 0)
		return -1;
	if (!buf && len)
		return sb__fail(EFAULT, "buffer is NULL");
	pflags = sb__msg_flags(flags & ~MSG_NOSIGNAL);
	if (dst) {
		rc = sb__pb_from_sock_addr(&pdst, sl.family, 0, dst, dstlen);
		if (rc < 0)
			return sb__fail(-rc, "bad destination address");
	}
	chunk = sb__chunk(c);
	if (sl.type != SOCK_STREAM && len > chunk)
		return sb__fail(EMSGSIZE, "datagram of %zu bytes is above the broker's "
				"message size", len);
	/* Descriptors last: every check that needs no call is done. */
	if (fds && fds->n && sb__send_fds(c, &sl, fds, ctl) < 0)
		return -1;
	do {
		size_t n = len - done < chunk ? len - done : chunk;
		/* Control messages go with the first piece only. */
		w = sb__send_once(c, sl.handle, (const uint8_t *)buf + done, n, pflags,
				  dst ? &pdst : NULL, done ? NULL : ctl);

		if (w < 0)
			break;
		done += (size_t)w;
		/* Non-blocking sockets take what the kernel took at once. */
		if ((size_t)w < n && (sl.nonblock || (flags & MSG_DONTWAIT)))
			break;
	} while (done < len && sl.type == SOCK_STREAM);
	if (fds && fds->n)
		pthread_mutex_unlock(&c->ho_send_lock);
	return w < 0 && !done ? -1 : (ssize_t)done;
}

ssize_t sb_send(sb_client *c, int s, const void *buf, size_t len, int flags)
{
	return sb__send(c, s, buf, len, flags, NULL, 0, NULL, NULL);
}

ssize_t sb_sendto(sb_client *c, int s, const void *buf, size_t len, int flags,
		  const struct sockaddr *dst, socklen_t dstlen)
{
	return sb__send(c, s, buf, len, flags, dst, dstlen, NULL, NULL);
}

ssize_t sb_sendmsg(sb_client *c, int s, const struct msghdr *msg, int flags)
{
	sockbroker_v1_SendRequest *ctl = NULL;
	struct sb__fdset *fds = NULL;
	struct cmsghdr *cm;
	struct msghdr mh;
	struct sb__cmsg one;
	uint8_t *gather = NULL;
	const void *data = NULL;
	size_t i, total = 0, off = 0;
	struct sb__slot sl;
	ssize_t ret = -1;
	int rc;

	/* The kernel looks at the descriptor first. */
	if (sb__lookup(c, s, &sl) < 0)
		return -1;
	if (!msg || (!msg->msg_iov && msg->msg_iovlen) ||
	    (!msg->msg_control && msg->msg_controllen))
		return sb__fail(EFAULT, "msghdr, its iovecs or its control buffer is NULL");
	if (msg->msg_iovlen > IOV_MAX)
		return sb__fail(EMSGSIZE, "more than IOV_MAX iovecs");
	for (i = 0; i < msg->msg_iovlen; i++) {
		if (!msg->msg_iov[i].iov_base && msg->msg_iov[i].iov_len)
			return sb__fail(EFAULT, "iovec %zu is NULL", i);
		if (msg->msg_iov[i].iov_len > SSIZE_MAX - total)
			return sb__fail(EINVAL, "the iovecs add up past SSIZE_MAX");
		total += msg->msg_iov[i].iov_len;
	}
	if (msg->msg_controllen) {
		ctl = calloc(1, sizeof(*ctl));
		fds = calloc(1, sizeof(*fds));
		if (!ctl || !fds) {
			sb__fail(ENOMEM, "out of memory");
			goto out;
		}
		mh = *msg;	/* CMSG_NXTHDR takes a non-const header */
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			rc = sb__cmsg_read_send(cm, &one);
			if (rc == -EOPNOTSUPP) {
				/* Descriptors: over the hand-off channel. */
				rc = sb__cmsg_rights_read(cm, fds);
				if (rc < 0) {
					sb__fail(-rc, rc == -EBADF ? "SCM_RIGHTS: a descriptor "
						 "is not open" : "SCM_RIGHTS: more than %d "
						 "descriptors (SCM_MAX_FD)", SB__SCM_MAX_FD);
					goto out;
				}
				continue;
			}
			if (rc < 0 || ctl->control_count == 8 ||
			    sb__cmsg_to_pbmsg(&one, &ctl->control[ctl->control_count]) < 0) {
				sb__fail(EINVAL, "control message level %d type %d: not one the "
					 "broker can send (PKTINFO, TOS, TTL, HOPLIMIT, "
					 "credentials; at most 8)", cm->cmsg_level, cm->cmsg_type);
				goto out;
			}
			ctl->control_count++;
		}
	}
	/* One buffer for the broker: the iovecs gathered. */
	if (msg->msg_iovlen == 1) {
		data = msg->msg_iov[0].iov_base;
	} else if (total) {
		gather = malloc(total);
		if (!gather) {
			sb__fail(ENOMEM, "out of memory");
			goto out;
		}
		for (i = 0; i < msg->msg_iovlen; i++) {
			if (msg->msg_iov[i].iov_len)
				memcpy(gather + off, msg->msg_iov[i].iov_base,
				       msg->msg_iov[i].iov_len);
			off += msg->msg_iov[i].iov_len;
		}
		data = gather;
	}
	ret = sb__send(c, s, data, total, flags, msg->msg_name, msg->msg_namelen, ctl, fds);
out:
	free(gather);
	free(fds);
	free(ctl);
	return ret;
}

/* One Recv RPC of at most one chunk. Return: bytes copied or -1. */
static ssize_t sb__recv_once(sb_client *c, const struct sb__slot *sl, void *buf,
			     size_t len, uint32_t pflags, int native_flags,
			     struct sockaddr *src, socklen_t *srclen, int timeout_ms)
{
	sockbroker_v1_RecvRequest req = sockbroker_v1_RecvRequest_init_zero;
	sockbroker_v1_RecvReply rep = sockbroker_v1_RecvReply_init_zero;
	struct sb__buf b = { .dst = buf, .len = len };

	req.handle = sl->handle;
	req.max_bytes = (uint32_t)len;
	req.flags = pflags;
	req.timeout_ms = timeout_ms > 0 ? (uint32_t)timeout_ms : 0;
	rep.data.funcs.decode = sb__pb_decode_bytes;
	rep.data.arg = &b;
	if (SB__CALL(c, Recv, req, rep, -1) < 0 || sb__reply(rep.error) < 0)
		return -1;
	if (src && sb__pb_copy_out(&rep.source, rep.has_source, src, srclen) < 0)
		*srclen = 0;
	/* recv(2) with MSG_TRUNC returns the kernel's count: the real length
	 * of a datagram, or the bytes a TCP socket discarded without writing
	 * any (the reply then carries none and @buf stays untouched). */
	if (native_flags & MSG_TRUNC) {
		if (sl->type == SOCK_STREAM && rep.length > len)
			return (ssize_t)len;
		return (ssize_t)(rep.length > b.got ? rep.length : b.got);
	}
	return (ssize_t)b.got;
}

static ssize_t sb__recvfrom(sb_client *c, int s, void *buf, size_t len,
			    int flags, struct sockaddr *src, socklen_t *srclen,
			    int timeout_ms)
{
	struct sb__slot sl;
	uint32_t pflags;
	size_t chunk, got = 0;

	if (sb__lookup(c, s, &sl) < 0)
		return -1;
	if (!buf && len)
		return sb__fail(EFAULT, "buffer is NULL");
	if (src && !srclen)
		return sb__fail(EFAULT, "address without a length");
	pflags = sb__msg_flags(flags);
	chunk = sb__chunk(c);
	if (len <= chunk || sl.type != SOCK_STREAM)
		return sb__recv_once(c, &sl, buf, len < chunk ? len : chunk, pflags,
				     flags, src, srclen, timeout_ms);
	/* A large stream read: one chunk, or all of them for MSG_WAITALL. */
	do {
		size_t n = len - got < chunk ? len - got : chunk;
		ssize_t r = sb__recv_once(c, &sl, (uint8_t *)buf + got, n, pflags,
					  flags, got ? NULL : src, srclen, timeout_ms);

		if (r < 0)
			return got ? (ssize_t)got : -1;
		got += (size_t)r;
		if (r == 0 || !(flags & MSG_WAITALL))
			break;
	} while (got < len);
	return (ssize_t)got;
}

ssize_t sb_recv_timeout(sb_client *c, int s, void *buf, size_t len, int flags,
			int timeout_ms)
{
	if (timeout_ms <= 0)
		return sb__fail(EINVAL, "timeout must be positive");
	return sb__recvfrom(c, s, buf, len, flags, NULL, NULL, timeout_ms);
}

ssize_t sb_recvfrom(sb_client *c, int s, void *buf, size_t len, int flags,
		    struct sockaddr *src, socklen_t *srclen)
{
	return sb__recvfrom(c, s, buf, len, flags, src, srclen, 0);
}

ssize_t sb_recv(sb_client *c, int s, void *buf, size_t len, int flags)
{
	return sb_recvfrom(c, s, buf, len, flags, NULL, NULL);
}

/* Received bytes scattered over a caller's iovecs. */
struct sb__iov_sink {
	const struct iovec *iov;
	size_t n, got;
};

static bool sb__pb_decode_iov(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	struct sb__iov_sink *k = *arg;
	size_t left = s->bytes_left, i, off = k->got;

	(void)f;
	for (i = 0; i < k->n && left; i++) {
		size_t take;

		if (off >= k->iov[i].iov_len) {
			off -= k->iov[i].iov_len;
			continue;
		}
		take = k->iov[i].iov_len - off < left ? k->iov[i].iov_len - off : left;
		if (!pb_read(s, (uint8_t *)k->iov[i].iov_base + off, take))
			return false;
		k->got += take;
		left -= take;
		off = 0;
	}
	/* Bytes beyond the buffers are skipped, as recvmsg(2) drops them. */
	return pb_read(s, NULL, left);
}

ssize_t sb_recvmsg(sb_client *c, int s, struct msghdr *msg, int flags)
{
	sockbroker_v1_RecvRequest req = sockbroker_v1_RecvRequest_init_zero;
	sockbroker_v1_RecvReply rep = sockbroker_v1_RecvReply_init_zero;
	struct sb__iov_sink sink;
	struct sb__slot sl;
	struct sb__cmsg cm;
	struct sb__fdset *fds = NULL;
	size_t i, total = 0, used = 0;
	uint32_t pflags;
	int mflags = 0, nflags = 0;
	ssize_t ret = -1;

	if (sb__lookup(c, s, &sl) < 0)
		return -1;
	if (!msg || (!msg->msg_iov && msg->msg_iovlen))
		return sb__fail(EFAULT, "msghdr or its iovecs are NULL");
	if (msg->msg_iovlen > IOV_MAX)
		return sb__fail(EMSGSIZE, "more than IOV_MAX iovecs");
	for (i = 0; i < msg->msg_iovlen; i++) {
		if (!msg->msg_iov[i].iov_base && msg->msg_iov[i].iov_len)
			return sb__fail(EFAULT, "iovec %zu is NULL", i);
		total += msg->msg_iov[i].iov_len;
	}
	/* MSG_CMSG_CLOEXEC is applied here, to the descriptors taken off the
	 * channel. */
	pflags = sb__msg_flags(flags & ~MSG_CMSG_CLOEXEC);
	/* Descriptors can come only to a Unix socket, and only when room for
	 * one is given; without a channel (a session over TCP) they are
	 * closed by the broker and MSG_CTRUNC says so. */
	if (sl.family == AF_UNIX && msg->msg_control &&
	    msg->msg_controllen >= CMSG_LEN(sizeof(int)))
		req.want_fds = sb__handoff_channel(c) == 0;
	req.handle = sl.handle;
	req.max_bytes = (uint32_t)(total < sb__chunk(c) ? total : sb__chunk(c));
	req.flags = pflags;
	sink.iov = msg->msg_iov;
	sink.n = msg->msg_iovlen;
	sink.got = 0;
	rep.data.funcs.decode = sb__pb_decode_iov;
	rep.data.arg = &sink;
	if (SB__CALL(c, Recv, req, rep, -1) < 0 || sb__reply(rep.error) < 0)
		return -1;
	if (msg->msg_name &&
	    sb__pb_copy_out(&rep.source, rep.has_source, msg->msg_name, &msg->msg_namelen) < 0)
		msg->msg_namelen = 0;
	/* The descriptors first: whatever comes next, they leave the channel. */
	if (rep.fd_count) {
		fds = calloc(1, sizeof(*fds));
		if (!fds || rep.fd_count > SB__SCM_MAX_FD ||
		    sb__handoff_take_set(c, rep.fd_tag, rep.fd_count, fds) < 0)
			mflags |= MSG_CTRUNC;	/* lost, as the kernel says it */
	}
	for (i = 0; i < rep.control_count; i++) {
		if (sb__pb_to_cmsg(&cm, &rep.control[i]) < 0 ||
		    sb__cmsg_put(msg->msg_control, msg->msg_controllen, &used, &mflags, &cm) < 0) {
			sb__fail(EPROTO, "malformed control message from the broker");
			goto out;
		}
	}
	/* After the credentials, as the kernel's scm_recv() puts them. */
	if (fds && fds->n) {
		if (!(flags & MSG_CMSG_CLOEXEC))
			for (i = 0; i < fds->n; i++)
				(void)fcntl(fds->fd[i], F_SETFD, 0);
		sb__cmsg_put_rights(msg->msg_control, msg->msg_controllen, &used, &mflags, fds);
	}
	msg->msg_controllen = used;
	/* The kernel's flags (MSG_TRUNC, MSG_CTRUNC...) and the cut here. */
	if (sb__flags_to_native(SB__C_MSG, rep.flags, &nflags) < 0) {
		sb__fail(EPROTO, "unknown msg_flags 0x%x from the broker", rep.flags);
		goto out;
	}
	/* As the kernel: MSG_CMSG_CLOEXEC comes back when it was asked. */
	msg->msg_flags = ((nflags | mflags) & ~MSG_CMSG_CLOEXEC) | (flags & MSG_CMSG_CLOEXEC);
	if (flags & MSG_TRUNC) {
		if (sl.type == SOCK_STREAM && rep.length > total)
			ret = (ssize_t)total;
		else
			ret = (ssize_t)(rep.length > sink.got ? rep.length : sink.got);
	} else {
		ret = (ssize_t)sink.got;
	}
out:
	if (fds)
		sb__fdset_close(fds);	/* none left unless an error came first */
	free(fds);
	return ret;
}
