/* SPDX-License-Identifier: MIT
 * handoff.c - real fds from the broker: the side channel (a second Unix
 * connection bound to the session with a one-time ticket), fds taken off
 * it by tag, and sb_handoff(), sb_tcp_connect_fd(), sb_accept_fd().
 * The wire rules are the .proto's "Hand-off rules".
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "call.h"

#define SB__HO_MAGIC "SBHOFF01"
#define SB__HO_MAGIC_LEN 8
#define SB__HO_TICKET_LEN 32
/* The broker answers a hello, and sends a fd before the reply that names
 * it, at once: these bound a broker that misbehaves, not normal waits. */
#define SB__HO_WAIT_MS 5000

int sb__handoff_init(sb_client *c, const char *target)
{
	int rc;

	c->ho_fd = -1;
	c->target = strdup(target);
	if (!c->target)
		return -ENOMEM;
	rc = pthread_mutex_init(&c->ho_lock, NULL);
	if (rc) {
		free(c->target);
		c->target = NULL;
		return -rc;
	}
	return 0;
}

void sb__handoff_free(sb_client *c)
{
	if (!c->target)
		return;
	if (c->ho_fd >= 0)
		close(c->ho_fd);
	while (c->ho_n)
		close(c->ho_stash[--c->ho_n].fd);
	pthread_mutex_destroy(&c->ho_lock);
	free(c->target);
	c->target = NULL;
}

/* The listener's address from the gRPC target. Return: its length, or
 * -EOPNOTSUPP (not a Unix target: TCP cannot carry fds). */
static int sb__ho_addr(const char *tgt, struct sockaddr_un *sun)
{
	const char *p = NULL;
	size_t n, off = 0;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (!strncmp(tgt, "unix-abstract:", 14)) {
		p = tgt + 14;
		off = 1;
	} else if (!strncmp(tgt, "unix://", 7)) {
		p = tgt + 7;
	} else if (!strncmp(tgt, "unix:", 5)) {
		p = tgt + 5;
	}
	if (!p)
		return -EOPNOTSUPP;
	n = strlen(p);
	if (n + off >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	memcpy(sun->sun_path + off, p, n);
	return (int)(offsetof(struct sockaddr_un, sun_path) + off + n + !off);
}

/* Wait for @fd to be readable. Return: 0, or -ETIMEDOUT / -errno. */
static int sb__ho_wait(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int n;

	do
		n = poll(&p, 1, SB__HO_WAIT_MS);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

/* Open and bind the channel. Caller holds ho_lock. Return: 0 or -1. */
static int sb__ho_open(sb_client *c)
{
	sockbroker_v1_HandoffTicketRequest req = sockbroker_v1_HandoffTicketRequest_init_zero;
	sockbroker_v1_HandoffTicketReply rep = sockbroker_v1_HandoffTicketReply_init_zero;
	unsigned char hello[SB__HO_MAGIC_LEN + SB__HO_TICKET_LEN];
	struct sockaddr_un sun;
	int32_t err = 0;
	int fd = -1, len, rc = -1;

	if (SB__CALL(c, HandoffTicket, req, rep, SB__HO_WAIT_MS) < 0)
		return -1;
	if (rep.ticket.size != SB__HO_TICKET_LEN)
		return sb__fail(EPROTO, "the broker sent a ticket of %u bytes",
				(unsigned)rep.ticket.size);
	len = sb__ho_addr(c->target, &sun);
	if (len < 0)
		return sb__fail(-len, "the broker target %s is not a Unix socket: fds "
				"cannot travel over it", c->target);
	/* The hello is bytes, not a string: the magic goes without its NUL. */
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
	memcpy(hello, SB__HO_MAGIC, SB__HO_MAGIC_LEN);
	memcpy(hello + SB__HO_MAGIC_LEN, rep.ticket.bytes, SB__HO_TICKET_LEN);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		sb__fail(errno, "hand-off channel: socket: %s", strerror(errno));
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sun, (socklen_t)len) < 0 ||
	    send(fd, hello, sizeof(hello), MSG_NOSIGNAL) != (ssize_t)sizeof(hello)) {
		sb__fail(errno, "hand-off channel: cannot reach the broker: %s",
			 strerror(errno));
		goto out;
	}
	err = sb__ho_wait(fd);
	if (err == 0 && recv(fd, &err, sizeof(err), MSG_WAITALL) != (ssize_t)sizeof(err))
		err = ECONNRESET;
	if (err) {
		sb__fail(err < 0 ? -err : err, "the broker refused the hand-off channel: %s",
			 strerror(err < 0 ? -err : err));
		goto out;
	}
	c->ho_fd = fd;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int sb__handoff_channel(sb_client *c)
{
	int rc = 0;

	pthread_mutex_lock(&c->ho_lock);
	if (c->ho_fd < 0)
		rc = sb__ho_open(c);
	pthread_mutex_unlock(&c->ho_lock);
	return rc;
}

/* One message off the channel. Caller holds ho_lock. Return: the fd with
 * *@tag, or -errno (the channel is then closed). */
static int sb__ho_recv(sb_client *c, uint64_t *tag)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	uint64_t payload[2] = { 0, 0 };
	struct iovec iov = { .iov_base = payload, .iov_len = sizeof(payload) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	ssize_t n;
	int fd = -1, rc;

	/* The fd is usually there already (it is sent before the reply that
	 * names it): try first, poll only when it is not. */
	n = recvmsg(c->ho_fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN) {
		rc = sb__ho_wait(c->ho_fd);
		if (rc < 0)
			return rc;
		n = recvmsg(c->ho_fd, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	}
	cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
	    cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	if (n == (ssize_t)sizeof(payload) && fd >= 0 && !(mh.msg_flags & MSG_CTRUNC)) {
		*tag = payload[0];
		return fd;
	}
	if (fd >= 0)
		close(fd);
	/* Out of step or closed: the broker binds a new channel later. */
	close(c->ho_fd);
	c->ho_fd = -1;
	return n < 0 ? -errno : -ECONNRESET;
}

int sb__handoff_take(sb_client *c, uint64_t tag)
{
	uint64_t got = 0;
	int i, fd = -1;

	pthread_mutex_lock(&c->ho_lock);
	for (i = 0; i < c->ho_n; i++)
		if (c->ho_stash[i].tag == tag) {
			fd = c->ho_stash[i].fd;
			c->ho_stash[i] = c->ho_stash[--c->ho_n];
			goto out;
		}
	while (c->ho_fd >= 0) {
		fd = sb__ho_recv(c, &got);
		if (fd < 0 || got == tag)
			break;
		/* Another thread's: keep it for that thread, dropping the
		 * oldest when full (its call was cancelled long ago). */
		if (c->ho_n == SB__HO_STASH) {
			close(c->ho_stash[0].fd);
			memmove(c->ho_stash, c->ho_stash + 1,
				(SB__HO_STASH - 1) * sizeof(c->ho_stash[0]));
			c->ho_n--;
		}
		c->ho_stash[c->ho_n].tag = got;
		c->ho_stash[c->ho_n].fd = fd;
		c->ho_n++;
		fd = -1;
	}
out:
	pthread_mutex_unlock(&c->ho_lock);
	if (fd < 0)
		return sb__fail(fd == -1 ? ECONNRESET : -fd,
				"the handed fd did not arrive on the hand-off channel");
	return fd;
}

int sb_handoff(sb_client *c, int s)
{
	sockbroker_v1_HandoffRequest req = sockbroker_v1_HandoffRequest_init_zero;
	sockbroker_v1_HandoffReply rep = sockbroker_v1_HandoffReply_init_zero;
	struct sb__slot sl;
	int fd;

	if (sb__lookup(c, s, &sl) < 0)
		return -1;
	if (sl.type != SOCK_STREAM)
		return sb__fail(EINVAL, "%d is not a stream socket: only connected "
				"stream and listening sockets are handed off", s);
	if (sb__handoff_channel(c) < 0)
		return -1;
	req.handle = sl.handle;
	if (SB__CALL(c, Handoff, req, rep, -1) < 0)
		return -1;
	/* The handle left the broker's session: the number goes too. */
	sb__slot_release(c, s, sl.handle);
	fd = sb__handoff_take(c, rep.fd_tag);
	return fd;
}

int sb_tcp_connect_fd(sb_client *c, const char *host, const char *port,
		      int timeout_ms)
{
	sockbroker_v1_DialRequest req = sockbroker_v1_DialRequest_init_zero;
	sockbroker_v1_DialReply rep = sockbroker_v1_DialReply_init_zero;

	if (!c)
		return sb__fail(EINVAL, "no client");
	if (!host || !*host || !port || !*port)
		return sb__fail(EINVAL, "sb_tcp_connect_fd needs a host and a port");
	if (strlen(host) >= sizeof(req.host) || strlen(port) >= sizeof(req.service))
		return sb__fail(EINVAL, "host or port too long");
	strcpy(req.host, host);
	strcpy(req.service, port);
	if (timeout_ms > 0) {
		req.connect_timeout_ms = (uint32_t)timeout_ms;
		req.resolve_timeout_ms = (uint32_t)timeout_ms;
	}
	req.handoff = true;
	if (sb__handoff_channel(c) < 0 || SB__CALL(c, Dial, req, rep, -1) < 0)
		return -1;
	if (rep.eai)
		return sb__fail(rep.error ? sb__errno_to_native(rep.error) : EADDRNOTAVAIL,
				"getaddrinfo(%s, %s) failed", host, port);
	if (sb__reply(rep.error) < 0)
		return -1;
	return sb__handoff_take(c, rep.fd_tag);
}

int sb_accept_fd(sb_client *c, int s, struct sockaddr *addr, socklen_t *len,
		 int flags)
{
	sockbroker_v1_AcceptRequest req = sockbroker_v1_AcceptRequest_init_zero;
	sockbroker_v1_AcceptReply rep = sockbroker_v1_AcceptReply_init_zero;
	struct sb__slot sl;
	int fd;

	if (sb__lookup(c, s, &sl) < 0)
		return -1;
	if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC))
		return sb__fail(EINVAL, "accept4: unknown flags 0x%x", (unsigned)flags);
	if (addr && !len)
		return sb__fail(EFAULT, "accept: address without a length");
	if (sb__handoff_channel(c) < 0)
		return -1;
	req.handle = sl.handle;
	req.nonblock = (flags & SOCK_NONBLOCK) != 0;
	req.handoff = true;
	if (SB__CALL(c, Accept, req, rep, -1) < 0 || sb__reply(rep.error) < 0)
		return -1;
	fd = sb__handoff_take(c, rep.fd_tag);
	if (fd >= 0 && addr && sb__pb_copy_out(&rep.peer, rep.has_peer, addr, len) < 0)
		*len = 0;
	return fd;
}
