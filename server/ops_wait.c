/* SPDX-License-Identifier: MIT
 * ops_wait.c - the socket calls that may wait: Connect, Accept, Send, Recv
 * and Poll. Each first tries at once on the CQ thread; when the socket is
 * not ready and the handle is blocking, the call is parked in the reactor
 * with its deadline and the same try function finishes it later.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ascaller.h"
#include "clock.h"
#include "dgram.h"
#include "handoff.h"
#include "log.h"
#include "ops.h"
#include "reactor.h"
#include "sock.h"
#include "stats.h"
#include "wire.h"

/* Common end of a parked wait for reasons other than readiness. */
static int sb__wait_abort(struct sb__waiter *w, enum sb__wake why)
{
	/* Closed or cancelled by the session's end (a Poll holds no socket:
	 * the reactor's stop cancels it): the broker went away. */
	if (sb__op_session_gone(w->call))
		return 1;
	if (why == SB__WAKE_CANCELLED)
		sb__call_fail(w->call, GRPC_STATUS_CANCELLED, ECANCELED,
			      "the caller cancelled the call");
	else
		sb__call_fail(w->call, GRPC_STATUS_NOT_FOUND, EBADF,
			      "the socket was closed while the call waited");
	return 1;
}

static void sb__wait_free(struct sb__waiter *w)
{
	free(w);
}

/* Park @w (already filled with its op state) on the call's socket. */
static void sb__park(struct sb__call *c, struct sb__sock *k,
		     struct sb__waiter *w, uint32_t events, int64_t deadline)
{
	w->call = c;
	sb__call_ref(c);
	w->sock = k; /* the caller's ref passes to the waiter */
	w->io = &k->io;
	w->events = events;
	w->deadline = deadline;
	sb__reactor_park(w);
}

/* ---- Connect -------------------------------------------------------- */

struct sb__wconnect {
	struct sb__waiter w;
	struct sb__addr addr;
	int retry;   /* AF_UNIX: connect again when writable (backlog full) */
	int by_opt;  /* SO_SNDTIMEO decided the deadline */
};

static void sb__connect_reply(struct sb__call *c, int err)
{
	SBPB(ConnectReply) rep = SOCKBROKER__V1__CONNECT_REPLY__INIT;

	rep.error = SB_ERRNO(err);
	sb__call_reply(c, &rep.base);
}

static int sb__connect_step(struct sb__waiter *w, enum sb__wake why)
{
	struct sb__wconnect *st = (struct sb__wconnect *)w;
	struct sb__addr none = { .kind = SB__ADDR_NONE };
	int ret;

	switch (why) {
	case SB__WAKE_READY:
		/* connect(2) again, as a blocking connect does inside the
		 * kernel: it reports the outcome and moves the socket to
		 * connected, so that a later connect is EISCONN. */
		ret = sb__ascaller_connect(&w->call->ident, w->sock->fd, &st->addr);
		if (ret == -EISCONN)
			ret = 0;
		if (ret == -EALREADY)
			ret = -EINPROGRESS;
		if (ret == -EAGAIN || ret == -EINPROGRESS) {
			st->retry = ret == -EAGAIN;
			return 0;
		}
		sb__connect_reply(w->call, -ret);
		return 1;
	case SB__WAKE_TIMEOUT:
		if (st->by_opt) {	/* Linux's answer when SO_SNDTIMEO expires */
			sb__connect_reply(w->call, st->retry ? EAGAIN : EINPROGRESS);
			return 1;
		}
		/* Give up the attempt so that the socket can connect again. */
		if (!st->retry) {
			int e = sb__sock_connect(w->sock->fd, &none);

			if (e < 0)
				sb__debug("connect timed out; dissolving the attempt: %s",
					  strerror(-e));
		}
		sb__connect_reply(w->call, ETIMEDOUT);
		return 1;
	default:
		return sb__wait_abort(w, why);
	}
}

void sb__h_connect(struct sb__call *c, void *req)
{
	SBPB(ConnectRequest) *r = req;
	struct sb__wconnect *st;
	struct sb__sock *k;
	const char *why;
	struct sb__addr a;
	int ret;

	if (sb__addr_from_pb(r->address, &a, &why) < 0) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL, "address: %s", why);
		return;
	}
	/* AF_UNSPEC (no address) dissolves an association: nothing to judge. */
	k = a.kind == SB__ADDR_NONE ? sb__op_sock(c, r->handle)
				    : sb__op_sock_for(c, r->handle, SB__POL_CONNECT, &a);
	if (!k)
		return;
	ret = sb__ascaller_connect(&c->ident, k->fd, &a);
	if ((ret != -EINPROGRESS && ret != -EAGAIN) || atomic_load(&k->nonblock)) {
		sb__connect_reply(c, -ret);
		goto out;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM, "out of memory");
		goto out;
	}
	st->addr = a;
	st->retry = ret == -EAGAIN;
	st->w.step = sb__connect_step;
	st->w.destroy = sb__wait_free;
	sb__park(c, k, &st->w, EPOLLOUT,
		 sb__op_deadline(c, k, r->timeout_ms, SO_SNDTIMEO, &st->by_opt));
	k = NULL; /* the waiter has the reference */
out:
	if (k)
		sb__sock_unref(k);
}

/* ---- Accept --------------------------------------------------------- */

struct sb__waccept {
	struct sb__waiter w;
	struct sb__session *session; /* counts this wait (max_pending_accepts) */
	int nonblock;
	int handoff;                 /* hand the connection's fd over */
};

static void sb__accept_free(struct sb__waiter *w)
{
	struct sb__waccept *st = (struct sb__waccept *)w;

	sb__op_accept_done(st->session);
	free(st);
}

/* Return: 1 when the call is finished, 0 when nothing is pending. */
static int sb__accept_try(struct sb__call *c, struct sb__sock *k, int nonblock,
			  int handoff)
{
	SBPB(AcceptReply) rep = SOCKBROKER__V1__ACCEPT_REPLY__INIT;
	struct sb__pb_addr st;
	struct sb__addr peer;
	struct sb__sock *nk;
	int fd, ret;

	if (!handoff && sb__session_full(c->session)) {
		/* The connection stays queued, as accept(2) with EMFILE. */
		sb__op_limit_sockets(c);
		return 1;
	}
	fd = sb__sock_accept(k->fd, &peer);
	if (fd == -EAGAIN)
		return 0;
	/* The connection stays queued for an accept once fds are free. */
	if (fd < 0 && sb__op_out_of_fds(c, -fd))
		return 1;
	if (fd < 0) {
		rep.error = SB_ERRNO(-fd);
		sb__call_reply(c, &rep.base);
		return 1;
	}
	if (handoff) {
		ret = sb__op_handoff_send(c, fd, nonblock, &rep.fd_tag);
		close(fd);
		if (ret == 0) {
			rep.peer = sb__addr_to_pb(&peer, &st);
			sb__call_reply(c, &rep.base);
		}
		return 1;
	}
	ret = sb__sock_add(c->session, fd, k->family, k->type, nonblock, &nk);
	if (ret < 0) {
		close(fd);
		if (ret == -EMFILE)
			sb__op_limit_sockets(c);
		else
			sb__call_fail(c, GRPC_STATUS_UNAVAILABLE, -ret,
				      "cannot keep the accepted socket");
		return 1;
	}
	rep.handle = nk->handle;
	rep.peer = sb__addr_to_pb(&peer, &st);
	sb__sock_unref(nk);
	sb__call_reply(c, &rep.base);
	return 1;
}

static int sb__accept_step(struct sb__waiter *w, enum sb__wake why)
{
	struct sb__waccept *st = (struct sb__waccept *)w;
	SBPB(AcceptReply) rep = SOCKBROKER__V1__ACCEPT_REPLY__INIT;

	switch (why) {
	case SB__WAKE_READY:
		return sb__accept_try(w->call, w->sock, st->nonblock, st->handoff);
	case SB__WAKE_TIMEOUT:
		rep.error = SB_ERRNO(EAGAIN);
		sb__call_reply(w->call, &rep.base);
		return 1;
	default:
		return sb__wait_abort(w, why);
	}
}

void sb__h_accept(struct sb__call *c, void *req)
{
	SBPB(AcceptRequest) *r = req;
	SBPB(AcceptReply) rep = SOCKBROKER__V1__ACCEPT_REPLY__INIT;
	struct sb__waccept *st;
	struct sb__sock *k = sb__op_sock_for(c, r->handle, SB__POL_ACCEPT, NULL);
	int by_opt;

	if (!k)
		return;
	if (r->handoff && sb__op_handoff_allowed(c, k) < 0)
		goto out;
	if (sb__accept_try(c, k, r->nonblock, r->handoff))
		goto out;
	if (atomic_load(&k->nonblock)) {
		rep.error = SB_ERRNO(EAGAIN);
		sb__call_reply(c, &rep.base);
		goto out;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM, "out of memory");
		goto out;
	}
	st->session = sb__op_accept_wait(c);
	if (!st->session) {
		free(st);
		goto out;
	}
	st->nonblock = r->nonblock;
	st->handoff = r->handoff;
	st->w.step = sb__accept_step;
	st->w.destroy = sb__accept_free;
	sb__park(c, k, &st->w, EPOLLIN,
		 sb__op_deadline(c, k, r->timeout_ms, SO_RCVTIMEO, &by_opt));
	k = NULL; /* the waiter has the reference */
out:
	if (k)
		sb__sock_unref(k);
}

/* ---- Send ----------------------------------------------------------- */

struct sb__wsend {
	struct sb__waiter w;
	const uint8_t *data;  /* in the request, which the call owns */
	size_t len, done;
	int flags;
	int stream;           /* SOCK_STREAM: send everything, in pieces */
	int unix_sock;        /* AF_UNIX: sent as the caller (ascaller.h) */
	struct sb__addr dst;
	int have_dst;
	struct sb__addr src;  /* IP_PKTINFO source, when have_src */
	int have_src;
	int ifindex;
	size_t ctllen;        /* control messages (sendmsg), for the first
			       * piece only: a stream's later pieces go bare */
	union {
		char b[(size_t)8 * 64 + CMSG_SPACE(SB__SCM_MAX_FD * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct sb__session *session; /* ref: the hold of @fds, the charge */
	struct sb__fdset fds; /* SCM_RIGHTS: the broker's copies, until sent */
	size_t fds_held;      /* how many count against the session's hold */
	size_t charged;       /* bytes of @data charged while parked */
};

static void sb__wsend_fds_done(struct sb__wsend *st)
{
	sb__handoff_release_fds(st->session, &st->fds, st->fds_held);
	st->fds_held = 0;
}

static void sb__wsend_free(struct sb__waiter *w)
{
	struct sb__wsend *st = (struct sb__wsend *)w;

	sb__wsend_fds_done(st);
	if (st->charged)
		sb__bytes_release(st->session, st->charged);
	sb__session_unref(st->session);
	free(st);
}

static void sb__send_reply(struct sb__call *c, int err, size_t sent)
{
	SBPB(SendReply) rep = SOCKBROKER__V1__SEND_REPLY__INIT;

	rep.error = SB_ERRNO(err);
	rep.sent = sent;
	sb__stats_bytes(sent, 0);
	sb__call_reply(c, &rep.base);
}

/* One send of what is left, to @dst or the peer; on a Unix socket, as
 * the caller where its ids need it (ascaller.h). */
static ssize_t sb__send_once(struct sb__wsend *st, struct sb__call *c, int fd,
			     const struct sb__addr *dst)
{
	struct sb__ascaller sv;
	ssize_t n;

	if (st->unix_sock)
		return sb__ascaller_unix_send(&c->ident, fd, st->data + st->done,
					      st->len - st->done, st->flags, dst,
					      st->ctl.b, st->ctllen);
	n = sb__ascaller_enter(&c->ident, dst, &sv);
	if (n < 0)
		return n;
	n = st->ctllen
		? sb__sock_sendmsg(fd, st->data + st->done, st->len - st->done,
				   st->flags, dst, st->ctl.b, st->ctllen)
		: st->have_src
		? sb__dgram_send_from(fd, st->data + st->done, st->len - st->done,
				      st->flags, dst, &st->src, st->ifindex)
		: sb__sock_send(fd, st->data + st->done, st->len - st->done,
				st->flags, dst);
	sb__ascaller_leave(&sv);
	return n;
}

/* Reply to a Send: its descriptors are closed and their hold given back
 * first, so that the caller's next Send finds the hold free (the reactor
 * destroys a waiter only after its step). */
static void sb__wsend_reply(struct sb__wsend *st, struct sb__call *c, int err, size_t sent)
{
	sb__wsend_fds_done(st);
	sb__send_reply(c, err, sent);
}

/* Return: 1 finished, 0 would block. */
static int sb__send_try(struct sb__wsend *st, struct sb__call *c, int fd)
{
	do {
		const struct sb__addr *dst = st->have_dst ? &st->dst : NULL;
		ssize_t n = sb__send_once(st, c, fd, dst);

		if (n == -EAGAIN)
			return 0;
		if (n < 0) {
			/* After a partial send, POSIX reports the count. */
			if (st->done)
				sb__wsend_reply(st, c, 0, st->done);
			else
				sb__wsend_reply(st, c, (int)-n, 0);
			return 1;
		}
		st->done += (size_t)n;
		/* The descriptors went with this piece: the broker's copies
		 * go now. */
		st->ctllen = 0;
		sb__wsend_fds_done(st);
	} while (st->stream && st->done < st->len);
	sb__wsend_reply(st, c, 0, st->done);
	return 1;
}

static int sb__send_step(struct sb__waiter *w, enum sb__wake why)
{
	struct sb__wsend *st = (struct sb__wsend *)w;

	switch (why) {
	case SB__WAKE_READY:
		return sb__send_try(st, w->call, w->sock->fd);
	case SB__WAKE_TIMEOUT:
		sb__wsend_reply(st, w->call, st->done ? 0 : EAGAIN, st->done);
		return 1;
	default:
		sb__wsend_fds_done(st);
		return sb__wait_abort(w, why);
	}
}

/*
 * sendmsg(2)'s control messages of @r, checked and built into @st->ctl: a
 * PKTINFO source and interface under the same policy as Send's `source`
 * and `ifindex`; credentials only the caller's own (the broker, as root,
 * could claim anybody's). Return: 0, or -1 after failing the call.
 */
static int sb__send_control(struct sb__wsend *st, struct sb__call *c,
			    const struct sb__sock *k, const SBPB(SendRequest) *r)
{
	struct sb__cmsg cm[8];
	const char *why = NULL;
	size_t i;
	int ret;

	if (r->n_control > 8) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
			      "%zu control messages: at most 8", r->n_control);
		return -1;
	}
	for (i = 0; i < r->n_control; i++) {
		struct sb__addr src = { .kind = SB__ADDR_NONE };

		if (sb__cmsg_from_pb(r->control[i], &cm[i], &why) < 0) {
			sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
				      "control message %zu: %s", i, why);
			return -1;
		}
		switch (cm[i].kind) {
		case SB__CM_IP_PKTINFO:
		case SB__CM_IPV6_PKTINFO:
			if (st->have_src) {
				sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
					      "a PKTINFO control message and source or "
					      "ifindex: one of them");
				return -1;
			}
			if (cm[i].kind == SB__CM_IP_PKTINFO) {
				src.kind = SB__ADDR_INET;
				memcpy(src.ip, cm[i].spec_dst, 4);
			} else {
				src.kind = SB__ADDR_INET6;
				memcpy(src.ip, cm[i].addr, 16);
			}
			if (sb__op_source_allowed(c, k, &src, cm[i].ifindex) < 0)
				return -1;
			break;
		case SB__CM_CREDENTIALS:
			if (!c->ident.known || strcmp(c->ident.transport, "unix") ||
			    cm[i].pid != (uint32_t)c->ident.pid || cm[i].uid != c->ident.uid ||
			    cm[i].gid != c->ident.gid) {
				sb__stats_denied(&c->ident);
				sb__call_fail(c, GRPC_STATUS_PERMISSION_DENIED, EPERM,
					      "SCM_CREDENTIALS may carry only the caller's own "
					      "pid, uid and gid");
				return -1;
			}
			break;
		default:
			break;
		}
	}
	ret = sb__cmsg_build(cm, r->n_control, st->ctl.b, sizeof(st->ctl.b), &st->ctllen);
	if (ret < 0) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
			      "control messages cannot be sent: %s", strerror(-ret));
		return -1;
	}
	return 0;
}

/* SCM_RIGHTS (Hand-off rule 6): only on a Unix socket, only under
 * `handoff`; appended to the control messages. Return: 0, or -1 after
 * failing the call. */
static int sb__send_rights(struct sb__wsend *st, struct sb__call *c,
			   const struct sb__sock *k)
{
	if (k->family != AF_UNIX) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
			      "descriptors (SCM_RIGHTS) go only over Unix sockets");
		return -1;
	}
	if (sb__op_handoff_allowed(c, k) < 0)
		return -1;
	if (sb__cmsg_add_rights(st->ctl.b, sizeof(st->ctl.b), &st->ctllen, &st->fds) < 0) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
			      "control messages and descriptors do not fit");
		return -1;
	}
	return 0;
}

void sb__h_send(struct sb__call *c, void *req)
{
	SBPB(SendRequest) *r = req;
	struct sb__wsend *st;
	struct sb__sock *k = NULL;
	const char *why;
	int flags, by_opt, charge;

	st = calloc(1, sizeof(*st));
	if (!st) {
		sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM, "out of memory");
		return;
	}
	st->session = c->session;
	sb__session_ref(st->session);
	/* Descriptors first, whatever comes next: their message leaves the
	 * channel with this call, so that the channel stays in step. */
	if (r->fd_count || r->fd_tag) {
		if (sb__op_handoff_take(c, r->fd_tag, r->fd_count, &st->fds) < 0)
			goto out;
		st->fds_held = st->fds.n;
	}
	if (sb__flags_to_native(SB__C_MSG, r->flags, &flags) < 0) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
			      "flags 0x%x hold an unknown MSG_ bit", r->flags);
		goto out;
	}
	if (r->destination) {
		if (sb__addr_from_pb(r->destination, &st->dst, &why) < 0) {
			sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
				      "destination: %s", why);
			goto out;
		}
		st->have_dst = st->dst.kind != SB__ADDR_NONE;
	}
	if (r->source || r->ifindex) {
		if (sb__addr_from_pb(r->source, &st->src, &why) < 0 ||
		    (st->src.kind != SB__ADDR_INET && st->src.kind != SB__ADDR_INET6 &&
		     st->src.kind != SB__ADDR_NONE) || r->ifindex < 0) {
			sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
				      "source must be an IPv4 or IPv6 address");
			goto out;
		}
		st->have_src = 1;
		st->ifindex = r->ifindex;
	}
	/* Every datagram to an unconnected destination is checked. */
	k = st->have_dst ? sb__op_sock_for(c, r->handle, SB__POL_SENDTO, &st->dst)
			 : sb__op_sock(c, r->handle);
	if (!k)
		goto out;
	/* A chosen source address is a bind, an interface a device binding. */
	if (st->have_src && sb__op_source_allowed(c, k, &st->src, st->ifindex) < 0)
		goto out;
	if (r->n_control && sb__send_control(st, c, k, r) < 0)
		goto out;
	if (st->fds.n && sb__send_rights(st, c, k) < 0)
		goto out;
	st->data = r->data.data;
	st->len = r->data.len;
	st->flags = flags & ~MSG_DONTWAIT;
	st->stream = k->type == SOCK_STREAM;
	st->unix_sock = k->family == AF_UNIX;
	if (sb__send_try(st, c, k->fd))
		goto out;
	if (atomic_load(&k->nonblock) || (flags & MSG_DONTWAIT)) {
		sb__wsend_reply(st, c, st->done ? 0 : EAGAIN, st->done);
		goto out;
	}
	/* A parked Send holds its data (the request) until the socket takes
	 * it: charged like a Recv's buffer, so that Sends parked on a full
	 * socket cannot make the broker hold unbounded memory. Refused, it
	 * says what it sent so far, as send(2) interrupted does, or ENOBUFS. */
	charge = sb__bytes_charge(st->session, st->len - st->done);
	if (charge < 0) {
		if (st->done)
			sb__wsend_reply(st, c, 0, st->done);
		else
			sb__op_limit(c, ENOBUFS, sb__bytes_limit_name(charge));
		goto out;
	}
	st->charged = st->len - st->done;
	st->w.step = sb__send_step;
	st->w.destroy = sb__wsend_free;
	sb__park(c, k, &st->w, EPOLLOUT,
		 sb__op_deadline(c, k, r->timeout_ms, SO_SNDTIMEO, &by_opt));
	return;	/* the waiter has @st and the reference */
out:
	if (k)
		sb__sock_unref(k);
	sb__wsend_free(&st->w);
}

/* ---- Recv ----------------------------------------------------------- */

struct sb__wrecv {
	struct sb__waiter w;
	struct sb__session *session; /* charged for buf while it exists */
	uint8_t *buf;                /* allocated when the socket is ready */
	size_t len;
	size_t done;          /* bytes the kernel wrote into buf: the data */
	size_t count;         /* the kernel's count: with MSG_TRUNC, the real
	                       * datagram length or the TCP bytes discarded */
	int flags;
	int ctrunc;           /* MSG_CTRUNC of any piece (descriptors closed) */
	int waitall;          /* stream socket with MSG_WAITALL */
	int want_pktinfo;
	int want_fds;         /* the caller may take descriptors (rule 6) */
	struct sb__recv_info info;
	struct sb__fdset fds; /* descriptors received, with want_fds */
};

/* The receive buffer: allocated only when the socket is ready, so that a
 * parked Recv holds no memory (3,000 parked 4 MiB Recvs used to reserve
 * 13.6 GB), and charged to the session while it exists. */
static int sb__wrecv_buf(struct sb__wrecv *st, struct sb__call *c)
{
	size_t n = st->len ? st->len : 1;
	int ret = sb__bytes_charge(st->session, n);

	if (ret < 0) {
		sb__op_limit(c, ENOBUFS, sb__bytes_limit_name(ret));
		return ret;
	}
	st->buf = malloc(n);
	if (!st->buf) {
		sb__bytes_release(st->session, n);
		sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

static void sb__wrecv_drop_buf(struct sb__wrecv *st)
{
	if (!st->buf)
		return;
	free(st->buf);
	st->buf = NULL;
	sb__bytes_release(st->session, st->len ? st->len : 1);
}

static void sb__wrecv_free(struct sb__waiter *w)
{
	struct sb__wrecv *st = (struct sb__wrecv *)w;

	sb__wrecv_drop_buf(st);
	sb__fdset_close(&st->fds);
	sb__session_unref(st->session);
	free(st);
}

static void sb__recv_reply(struct sb__wrecv *st, struct sb__call *c,
			   const struct sb__sock *k, int err)
{
	SBPB(RecvReply) rep = SOCKBROKER__V1__RECV_REPLY__INIT;
	struct sb__pb_cmsg cst[SB__CMSG_MAX];
	SBPB(ControlMessage) *cms[SB__CMSG_MAX];
	struct sb__pb_addr src, dst;
	uint32_t pf = 0;
	size_t i;

	rep.error = SB_ERRNO(err);
	if (!err) {
		rep.data.data = st->buf;
		rep.data.len = st->done;
		rep.source = sb__addr_to_pb(&st->info.source, &src);
		rep.truncated = (st->info.msg_flags & MSG_TRUNC) != 0;
		rep.length = st->count;
		if (st->info.have_pktinfo) {
			rep.destination = sb__addr_to_pb(&st->info.destination, &dst);
			rep.ifindex = st->info.ifindex;
		}
		if (st->fds.n) {
			uint32_t n = (uint32_t)st->fds.n;

			if (sb__op_handoff_fds(c, k, &st->fds, &rep.fd_tag))
				rep.fd_count = n;
			else	/* as the kernel when it cannot install them */
				st->ctrunc |= MSG_CTRUNC;
		}
		sb__flags_to_portable(SB__C_MSG, st->info.msg_flags | st->ctrunc, &pf);
		rep.flags = pf;
		for (i = 0; i < st->info.n_cmsgs && i < SB__CMSG_MAX; i++)
			cms[i] = sb__cmsg_to_pb(&st->info.cmsgs[i], &cst[i]);
		rep.n_control = i;
		rep.control = cms;
		sb__stats_bytes(0, st->count);
	}
	sb__call_reply(c, &rep.base);
}

/* Return: 1 finished, 0 would block. */
static int sb__recv_try(struct sb__wrecv *st, struct sb__call *c, const struct sb__sock *k)
{
	int fd = k->fd;

	if (!st->buf) {
		struct pollfd p = { .fd = fd, .events = POLLIN | POLLPRI };

		if (poll(&p, 1, 0) == 0)
			return 0;
		if (sb__wrecv_buf(st, c) < 0)
			return 1;
	}
	for (;;) {
		/* A stream's count never passes what was asked, so
		 * st->count is also how far the buffer is filled, unless
		 * TCP discards (MSG_TRUNC) and writes nothing at all. */
		ssize_t n = sb__sock_recv_fds(fd, st->buf + st->done, st->len - st->count,
					      st->flags, &st->info,
					      st->want_fds && !st->fds.n ? &st->fds : NULL);

		if (n == -EAGAIN) {
			if (!st->count)	/* nothing to keep while waiting */
				sb__wrecv_drop_buf(st);
			return 0;
		}
		if (n < 0) {
			if (st->count)	/* partial MSG_WAITALL: report what came */
				sb__recv_reply(st, c, k, 0);
			else
				sb__recv_reply(st, c, k, (int)-n);
			return 1;
		}
		st->done += (size_t)n;
		st->count += st->info.length;
		st->ctrunc |= st->info.msg_flags & MSG_CTRUNC;
		/* Descriptors end a MSG_WAITALL reception, as in the kernel. */
		if (!st->waitall || !st->info.length || st->count >= st->len ||
		    st->fds.n) {
			sb__recv_reply(st, c, k, 0);
			return 1;
		}
	}
}

static int sb__recv_step(struct sb__waiter *w, enum sb__wake why)
{
	struct sb__wrecv *st = (struct sb__wrecv *)w;

	switch (why) {
	case SB__WAKE_READY:
		return sb__recv_try(st, w->call, w->sock);
	case SB__WAKE_TIMEOUT:
		sb__recv_reply(st, w->call, w->sock, st->count ? 0 : EAGAIN);
		return 1;
	default:
		return sb__wait_abort(w, why);
	}
}

void sb__h_recv(struct sb__call *c, void *req)
{
	SBPB(RecvRequest) *r = req;
	struct sb__wrecv *st = NULL;
	struct sb__sock *k;
	int flags, by_opt, ret;

	if (sb__flags_to_native(SB__C_MSG, r->flags, &flags) < 0) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
			      "flags 0x%x hold an unknown MSG_ bit", r->flags);
		return;
	}
	if (r->max_bytes > sb__op_max_data()) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
			      "max_bytes %u exceeds the broker's message size (%u)",
			      r->max_bytes, sb__op_max_data());
		return;
	}
	k = sb__op_sock(c, r->handle);
	if (!k)
		return;
	st = calloc(1, sizeof(*st));
	if (!st) {
		sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM, "out of memory");
		goto out;
	}
	st->session = c->session;
	sb__session_ref(st->session);
	if (r->want_pktinfo && !atomic_load(&k->pktinfo_on)) {
		ret = sb__sock_enable_pktinfo(k->fd);
		if (ret < 0) {
			sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, -ret,
				      "want_pktinfo needs an IPv4 or IPv6 datagram socket");
			goto out;
		}
		atomic_store(&k->pktinfo_on, 1);
	}
	st->len = r->max_bytes;
	st->want_fds = r->want_fds && k->family == AF_UNIX;
	st->waitall = (flags & MSG_WAITALL) && k->type == SOCK_STREAM &&
		      !(flags & MSG_PEEK);
	st->flags = flags & ~(MSG_DONTWAIT | MSG_WAITALL);
	if (sb__recv_try(st, c, k))
		goto out;
	/* The error queue never waits, as recvmsg(MSG_ERRQUEUE) does not. */
	if (atomic_load(&k->nonblock) || (flags & (MSG_DONTWAIT | MSG_ERRQUEUE))) {
		sb__recv_reply(st, c, k, st->count ? 0 : EAGAIN);
		goto out;
	}
	st->w.step = sb__recv_step;
	st->w.destroy = sb__wrecv_free;
	sb__park(c, k, &st->w, EPOLLIN,
		 sb__op_deadline(c, k, r->timeout_ms, SO_RCVTIMEO, &by_opt));
	return;	/* the waiter has @st and the reference */
out:
	sb__sock_unref(k);
	if (st)
		sb__wrecv_free(&st->w);
}

/* ---- Poll ----------------------------------------------------------- */


struct sb__wpoll {
	struct sb__waiter w;
	struct sb__io io;         /* a private epoll set of the sockets */
	size_t n;
	struct pollfd *fds;
	struct sb__sock **socks;  /* refs, NULL for unknown handles */
	SBPB(PollRequest) *req;
};

static void sb__wpoll_free(struct sb__waiter *w)
{
	struct sb__wpoll *st = (struct sb__wpoll *)w;
	size_t i;

	/* Also after a failed allocation of the arrays (socks may be NULL). */
	for (i = 0; st->socks && i < st->n; i++)
		if (st->socks[i])
			sb__sock_unref(st->socks[i]);
	if (st->io.fd >= 0)
		close(st->io.fd);
	free(st->fds);
	free(st->socks);
	free(st);
}

/* Return: 1 finished, 0 nothing ready and @force not set. */
static int sb__poll_try(struct sb__wpoll *st, struct sb__call *c, int force)
{
	SBPB(PollReply) rep = SOCKBROKER__V1__POLL_REPLY__INIT;
	SBPB(PollItem) *items, **ptrs;
	size_t i;
	int ready = poll(st->fds, (nfds_t)st->n, 0);

	if (ready < 0) {
		sb__call_fail(c, GRPC_STATUS_INTERNAL, errno, "poll failed");
		return 1;
	}
	for (i = 0; i < st->n; i++)
		if (!st->socks[i])
			ready++;
	if (!ready && !force)
		return 0;
	/* Never calloc(0): NULL would read as out of memory. */
	items = calloc(st->n ? st->n : 1, sizeof(*items));
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	ptrs = calloc(st->n ? st->n : 1, sizeof(*ptrs));
	if (!items || !ptrs) {
		free(items);
		free(ptrs);
		sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM, "out of memory");
		return 1;
	}
	for (i = 0; i < st->n; i++) {
		uint32_t pe = 0;
		int re = st->socks[i] ? st->fds[i].revents : POLLNVAL;

		sockbroker__v1__poll_item__init(&items[i]);
		items[i].handle = st->req->items[i]->handle;
		items[i].events = st->req->items[i]->events;
		sb__flags_to_portable(SB__C_POLL, re, &pe);
		items[i].revents = pe;
		ptrs[i] = &items[i];
	}
	rep.n_items = st->n;
	rep.items = ptrs;
	rep.ready = (uint32_t)ready;
	sb__call_reply(c, &rep.base);
	free(items);
	free(ptrs);
	return 1;
}

static int sb__poll_step(struct sb__waiter *w, enum sb__wake why)
{
	struct sb__wpoll *st = (struct sb__wpoll *)w;

	switch (why) {
	case SB__WAKE_READY:
		return sb__poll_try(st, w->call, 0);
	case SB__WAKE_TIMEOUT:
		return sb__poll_try(st, w->call, 1);
	default:
		return sb__wait_abort(w, why);
	}
}

void sb__h_poll(struct sb__call *c, void *req)
{
	SBPB(PollRequest) *r = req;
	struct sb__wpoll *st;
	size_t i;
	int ev;

	if (r->n_items > SB__POLL_MAX) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
			      "%zu items: at most %d", r->n_items, SB__POLL_MAX);
		return;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		goto nomem;
	st->io.fd = -1;
	st->n = r->n_items;
	st->req = r;
	st->fds = calloc(st->n + 1, sizeof(*st->fds));
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	st->socks = calloc(st->n + 1, sizeof(*st->socks));
	if (!st->fds || !st->socks)
		goto nomem_st;
	for (i = 0; i < st->n; i++) {
		if (sb__flags_to_native(SB__C_POLL, r->items[i]->events, &ev) < 0) {
			sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
				      "events 0x%x hold an unknown POLL bit",
				      r->items[i]->events);
			sb__wpoll_free(&st->w);
			return;
		}
		st->socks[i] = sb__sock_get(c->session, r->items[i]->handle);
		st->fds[i].fd = st->socks[i] ? st->socks[i]->fd : -1;
		st->fds[i].events = (short)ev;
	}
	if (sb__poll_try(st, c, r->timeout_ms == 0)) {
		sb__wpoll_free(&st->w);
		return;
	}
	/* Wait on a private epoll set holding every socket of the request. */
	st->io.fd = epoll_create1(EPOLL_CLOEXEC);
	if (st->io.fd < 0)
		goto nomem_st;
	for (i = 0; i < st->n; i++) {
		struct epoll_event e = { .events = 0 };

		if (!st->socks[i])
			continue;
		e.events = (uint32_t)st->fds[i].events | EPOLLERR | EPOLLHUP;
		if (epoll_ctl(st->io.fd, EPOLL_CTL_ADD, st->fds[i].fd, &e) < 0 &&
		    errno != EEXIST)
			goto nomem_st;
	}
	st->w.step = sb__poll_step;
	st->w.destroy = sb__wpoll_free;
	st->w.call = c;
	sb__call_ref(c);
	st->w.io = &st->io;
	st->w.events = EPOLLIN;
	st->w.deadline = r->timeout_ms > 0
		? sb__now_ms() + r->timeout_ms : sb__call_deadline_ms(c);
	if (r->timeout_ms > 0 && sb__call_deadline_ms(c) < st->w.deadline)
		st->w.deadline = sb__call_deadline_ms(c);
	sb__reactor_park(&st->w);
	return;
nomem_st:
	sb__wpoll_free(&st->w);
nomem:
	sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM,
		      "cannot wait on these handles");
}
