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
#include <stdio.h>
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
	if (rc)
		goto fail;
	rc = pthread_mutex_init(&c->ho_send_lock, NULL);
	if (rc) {
		pthread_mutex_destroy(&c->ho_lock);
		goto fail;
	}
	return 0;
fail:
	free(c->target);
	c->target = NULL;
	return -rc;
}

void sb__handoff_free(sb_client *c)
{
	if (!c->target)
		return;
	if (c->ho_fd >= 0)
		close(c->ho_fd);
	while (c->ho_n)
		sb__fdset_close(&c->ho_stash[--c->ho_n].set);
	pthread_mutex_destroy(&c->ho_send_lock);
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

/* Wait for @fd to be ready for @events. Return: 0, or -ETIMEDOUT /
 * -errno. */
static int sb__ho_poll(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do
		n = poll(&p, 1, SB__HO_WAIT_MS);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

int sb__side_open(sb_client *c, const char *magic, const char *what)
{
	sockbroker_v1_HandoffTicketRequest req = sockbroker_v1_HandoffTicketRequest_init_zero;
	sockbroker_v1_HandoffTicketReply rep = sockbroker_v1_HandoffTicketReply_init_zero;
	unsigned char hello[SB__HO_MAGIC_LEN + SB__HO_TICKET_LEN];
	struct sockaddr_un sun;
	int32_t err = 0;
	int fd = -1, len;

	/* A TCP target is refused here, without a call. */
	len = sb__ho_addr(c->target, &sun);
	if (len < 0)
		return sb__fail(-len, "the broker target %s is not a Unix socket: file "
				"descriptors cannot travel over it", c->target);
	if (SB__CALL(c, HandoffTicket, req, rep, SB__HO_WAIT_MS) < 0)
		return -1;
	if (rep.ticket.size != SB__HO_TICKET_LEN)
		return sb__fail(EPROTO, "the broker sent a ticket of %u bytes",
				(unsigned)rep.ticket.size);
	/* The hello is bytes, not a string: the magic goes without its NUL. */
	/* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
	memcpy(hello, magic, SB__HO_MAGIC_LEN);
	memcpy(hello + SB__HO_MAGIC_LEN, rep.ticket.bytes, SB__HO_TICKET_LEN);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sb__fail(errno, "%s: socket: %s", what, strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, (socklen_t)len) < 0 ||
	    send(fd, hello, sizeof(hello), MSG_NOSIGNAL) != (ssize_t)sizeof(hello)) {
		/* H2: the channel broke, whatever the broker's end did to it
		 * (closed it at once when out of descriptors: EPIPE). */
		sb__fail(ECONNRESET, "%s: cannot reach the broker: %s", what, strerror(errno));
		goto fail;
	}
	err = sb__ho_poll(fd, POLLIN);
	if (err == 0 && recv(fd, &err, sizeof(err), MSG_WAITALL) != (ssize_t)sizeof(err))
		err = ECONNRESET;
	if (err) {
		sb__fail(err < 0 ? -err : err, "the broker refused the %s: %s", what,
			 strerror(err < 0 ? -err : err));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/* Open and bind the channel. Caller holds ho_lock. Return: 0 or -1. */
static int sb__ho_open(sb_client *c)
{
	int fd = sb__side_open(c, SB__HO_MAGIC, "hand-off channel");

	if (fd < 0)
		return -1;
	c->ho_fd = fd;
	return 0;
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

/* Close the channel. Caller holds ho_lock. */
static void sb__ho_close(sb_client *c)
{
	if (c->ho_fd >= 0)
		close(c->ho_fd);
	c->ho_fd = -1;
}

void sb__handoff_reset(sb_client *c)
{
	pthread_mutex_lock(&c->ho_lock);
	sb__ho_close(c);
	pthread_mutex_unlock(&c->ho_lock);
}

/* One message off the channel into @set (empty). Caller holds ho_lock.
 * Return: 0 with *@tag, or -errno (the channel is then closed). */
static int sb__ho_recv(sb_client *c, uint64_t *tag, struct sb__fdset *set)
{
	int rc;

	/* The fds are usually there already (they are sent before the reply
	 * that names them): try first, poll only when they are not. */
	rc = sb__chan_msg_recv(c->ho_fd, MSG_DONTWAIT, tag, set);
	if (rc == -EAGAIN) {
		rc = sb__ho_poll(c->ho_fd, POLLIN);
		if (rc < 0)
			return rc;
		rc = sb__chan_msg_recv(c->ho_fd, MSG_WAITALL, tag, set);
	}
	if (rc == 1)
		return 0;
	/* Out of step or closed: the broker binds a new channel later. */
	sb__ho_close(c);
	return rc < 0 && rc != -EPROTO ? rc : -ECONNRESET;
}

int sb__handoff_take_set(sb_client *c, uint64_t tag, uint32_t n, struct sb__fdset *set)
{
	uint64_t got = 0;
	int i, rc = -ECONNRESET;

	pthread_mutex_lock(&c->ho_lock);
	for (i = 0; i < c->ho_n; i++)
		if (c->ho_stash[i].tag == tag) {
			*set = c->ho_stash[i].set;
			c->ho_stash[i] = c->ho_stash[--c->ho_n];
			rc = 0;
			goto out;
		}
	while (c->ho_fd >= 0) {
		rc = sb__ho_recv(c, &got, set);
		if (rc < 0 || got == tag)
			break;
		/* Another thread's: keep it for that thread, dropping the
		 * oldest when full (its call was cancelled long ago). */
		if (c->ho_n == SB__HO_STASH) {
			sb__fdset_close(&c->ho_stash[0].set);
			memmove(c->ho_stash, c->ho_stash + 1,
				(SB__HO_STASH - 1) * sizeof(c->ho_stash[0]));
			c->ho_n--;
		}
		c->ho_stash[c->ho_n].tag = got;
		c->ho_stash[c->ho_n].set = *set;
		c->ho_n++;
		set->n = 0;
		rc = -ECONNRESET;
	}
out:
	pthread_mutex_unlock(&c->ho_lock);
	if (rc == 0 && set->n != n) {
		sb__fdset_close(set);
		rc = -EPROTO;
	}
	return rc;
}

int sb__handoff_take(sb_client *c, uint64_t tag)
{
	struct sb__fdset set = { .n = 0 };
	int rc = sb__handoff_take_set(c, tag, 1, &set);

	if (rc < 0)
		return sb__fail(-rc, "the handed fd did not arrive on the hand-off channel");
	return set.fd[0];
}

int sb__handoff_give(sb_client *c, const struct sb__fdset *set, uint64_t *tag)
{
	uint64_t t;
	ssize_t n;
	int rc = 0;

	pthread_mutex_lock(&c->ho_lock);
	if (c->ho_fd < 0) {
		rc = -ENOTCONN;
		goto out;
	}
	t = ++c->ho_next_tag;
	/* The channel's own fd never waits: the caller's descriptors keep
	 * their flags (they are only copied), and a full channel is a
	 * bounded wait. */
	for (;;) {
		n = sb__chan_msg_send(c->ho_fd, t, set->fd, set->n);
		if (n == SB__CHAN_MSG_LEN)
			break;
		if (n >= 0) {	/* a stream cut a 16-byte message: out of step */
			rc = -ECONNRESET;
		} else if (n == -EAGAIN) {
			rc = sb__ho_poll(c->ho_fd, POLLOUT);
			if (rc == 0)
				continue;
		} else {
			rc = (int)n;
		}
		sb__ho_close(c);
		goto out;
	}
	*tag = t;
out:
	pthread_mutex_unlock(&c->ho_lock);
	return rc;
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
	char what[2 * sizeof(req.host)];

	sb__dial_eai_clear();
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
	if (sb__handoff_channel(c) < 0 || sb__dial_call(c, &req, &rep) < 0)
		return -1;
	snprintf(what, sizeof(what), "%s, %s", host, port);
	if (sb__dial_eai_fail(&rep, what) < 0 || sb__reply(rep.error) < 0)
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
