/* SPDX-License-Identifier: MIT
 * ops_stream.c - the streaming socket calls: AcceptStream (the accept loop),
 * RecvStream (the receive loop) and Pipe (bulk bytes both ways).
 *
 * Backpressure: a stream reads its socket again only when its previous
 * message has left (gRPC allows one send in flight), so a slow consumer
 * costs one message; the kernel's queues hold the rest, and UDP datagrams
 * the kernel drops meanwhile are counted (SO_RXQ_OVFL) in GetStats.
 *
 * Memory: a stream is charged to its session (max_session_bytes,
 * max_identity_bytes) for its worst case when it starts, its read buffer
 * and the packed message in flight (twice the buffer), and refused with
 * RESOURCE_EXHAUSTED/ENOBUFS when that would pass a bound; a Pipe also
 * for each frame of the client's that it is writing out.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ascaller.h"
#include "dgram.h"
#include "handoff.h"
#include "log.h"
#include "ops.h"
#include "reactor.h"
#include "sock.h"
#include "stats.h"

#define SB__CHUNK (128u << 10)   /* TCP chunk of RecvStream and Pipe */
#define SB__PIPE_CHARGE ((size_t)2 * SB__CHUNK) /* a Pipe's two buffers */
#define SB__BATCH 64             /* datagrams per RecvEvent, at most */
/* Handed connections per AcceptEvent, at most. One event per connection
 * held sb_accept_loop_fd at 0.55-0.91x a native accept4 loop: each one
 * costs a gRPC message and a round of the stream's send. Two batches can
 * be unread on the channel at once, 64 fds, well inside its buffer. */
#define SB__ACCEPT_BATCH 32

/* A one-slot waiter whose step calls back into the stream. */
struct sb__swait {
	struct sb__waiter w;
	void *st;
	int (*fn)(void *st, struct sb__waiter *w, enum sb__wake why);
};

static int sb__swait_step(struct sb__waiter *w, enum sb__wake why)
{
	struct sb__swait *sw = (struct sb__swait *)w;

	return sw->fn(sw->st, w, why);
}

static void sb__swait_free(struct sb__waiter *w)
{
	free(w);
}

/* Park stream @c on @k for @events; the waiter calls @fn(@st, ...).
 * Return: 0, or -ENOMEM (nothing parked). */
static int sb__stream_park(struct sb__call *c, struct sb__sock *k, void *st,
			   int (*fn)(void *, struct sb__waiter *, enum sb__wake),
			   uint32_t events, int slot)
{
	struct sb__swait *sw = calloc(1, sizeof(*sw));

	if (!sw)
		return -ENOMEM;
	sw->st = st;
	sw->fn = fn;
	sw->w.call = c;
	sb__call_ref(c);
	sw->w.sock = k;
	sb__sock_ref(k);
	sw->w.io = &k->io;
	sw->w.events = events;
	sw->w.deadline = sb__call_deadline_ms(c);
	sw->w.step = sb__swait_step;
	sw->w.destroy = sb__swait_free;
	sw->w.slot = slot;
	sb__reactor_park(&sw->w);
	return 0;
}

/* End a stream for a reason given by the reactor. */
static void sb__stream_woken_end(struct sb__call *c, enum sb__wake why)
{
	/* Closed or cancelled by the session's end: the broker went away. */
	if (why != SB__WAKE_TIMEOUT && sb__op_session_gone(c))
		return;
	switch (why) {
	case SB__WAKE_CANCELLED:
		sb__call_fail(c, GRPC_STATUS_CANCELLED, ECANCELED, "cancelled");
		break;
	case SB__WAKE_TIMEOUT:
		sb__call_fail(c, GRPC_STATUS_DEADLINE_EXCEEDED, ETIMEDOUT,
			      "the call's deadline passed");
		break;
	default:	/* the handle was closed: a clean end */
		sb__call_finish_ok(c);
		break;
	}
}

/* The last message of a stream has left: end it cleanly. */
static void sb__stream_last_sent(struct sb__call *c, int ok)
{
	if (ok)
		sb__call_finish_ok(c);
	else
		sb__call_fail(c, GRPC_STATUS_CANCELLED, ECANCELED, "cancelled");
}

/* ---- AcceptStream --------------------------------------------------- */

struct sb__astream {
	struct sb__call *c;
	struct sb__session *session; /* counts this stream (max_pending_accepts) */
	struct sb__sock *k;
	int nonblock;
	int handoff;         /* hand each connection's fd over */
	size_t max_batch;    /* > 1: connections per event (AcceptEvent.batch) */
	uint64_t inflight;   /* handle sent but not yet seen by the client */
};

static void sb__astream_free(void *p)
{
	struct sb__astream *st = p;

	sb__op_accept_done(st->session);
	sb__sock_unref(st->k);
	free(st);
}

static void sb__astream_next(struct sb__astream *st);

static void sb__astream_sent(struct sb__call *c, int ok)
{
	struct sb__astream *st = c->ctx;

	if (!ok) {
		/* Never seen by the client: not leaked. */
		sb__handle_close(c->session, st->inflight);
		st->inflight = 0;
		sb__call_fail(c, GRPC_STATUS_CANCELLED, ECANCELED, "cancelled");
		return;
	}
	st->inflight = 0;
	sb__astream_next(st);
}

static int sb__astream_woken(void *p, struct sb__waiter *w, enum sb__wake why)
{
	(void)w;
	if (why == SB__WAKE_READY)
		sb__astream_next(p);
	else
		sb__stream_woken_end(((struct sb__astream *)p)->c, why);
	return 1;
}

/*
 * Fill @ev's batch: the first connection (already handed over as @tag,
 * from @peer), then whatever else the listener has queued, each handed
 * over as it is accepted, up to st->max_batch (the .proto's "Accept
 * batches"). @hc, @hcp and @pa hold SB__ACCEPT_BATCH entries.
 */
static void sb__astream_batch(struct sb__astream *st, SBPB(AcceptEvent) *ev,
			      const struct sb__addr *peer, uint64_t tag,
			      SBPB(HandedConn) *hc, SBPB(HandedConn) **hcp,
			      struct sb__pb_addr *pa)
{
	struct sb__addr p = *peer;
	size_t n = 0;
	int fd, ret;

	for (;;) {
		sockbroker__v1__handed_conn__init(&hc[n]);
		hc[n].fd_tag = tag;
		hc[n].peer = sb__addr_to_pb(&p, &pa[n]);
		hcp[n] = &hc[n];
		/* The caller's close of the listener ends the batch too. */
		if (++n == st->max_batch || atomic_load(&st->k->closed))
			break;
		do
			fd = sb__sock_accept(st->k->fd, &p);
		while (fd == -ECONNABORTED);
		/* Nothing more queued, or an error the next accept meets. */
		if (fd < 0)
			break;
		/* A fd that cannot go over is its connection's end. */
		ret = sb__handoff_send(st->c->session, fd, st->nonblock, &tag);
		close(fd);
		if (ret < 0)
			break;
	}
	ev->n_batch = n;
	ev->batch = hcp;
}

static void sb__astream_next(struct sb__astream *st)
{
	SBPB(AcceptEvent) ev = SOCKBROKER__V1__ACCEPT_EVENT__INIT;
	SBPB(HandedConn) hc[SB__ACCEPT_BATCH], *hcp[SB__ACCEPT_BATCH];
	struct sb__pb_addr hpa[SB__ACCEPT_BATCH];
	uint64_t tag;
	struct sb__pb_addr pa;
	struct sb__addr peer;
	struct sb__sock *nk;
	struct sb__call *c = st->c;
	int fd, ret;

	for (;;) {
		if (atomic_load(&st->k->closed)) {
			sb__call_finish_ok(c);	/* the listener was closed */
			return;
		}
		if (!st->handoff && sb__session_full(c->session)) {
			/* The connection stays queued for a later accept. */
			sb__op_limit_sockets(c);
			return;
		}
		fd = sb__sock_accept(st->k->fd, &peer);
		if (fd != -ECONNABORTED)
			break;
	}
	if (fd == -EAGAIN) {
		if (sb__stream_park(c, st->k, st, sb__astream_woken, EPOLLIN, 0) < 0)
			sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM,
				      "out of memory");
		return;
	}
	/* The connection stays queued; the stream ends, as the listener
	 * would stay readable and wake it again and again. */
	if (fd < 0 && sb__op_out_of_fds(c, -fd))
		return;
	if (fd < 0) {
		/* A fatal error: its event is the last one. */
		ev.error = SB_ERRNO(-fd);
		if (sb__call_send(c, &ev.base, sb__stream_last_sent) < 0)
			sb__call_fail(c, GRPC_STATUS_CANCELLED, ECANCELED, "cancelled");
		return;
	}
	if (st->handoff) {
		/* A fd the client never takes goes with its channel. */
		ret = sb__op_handoff_send(c, fd, st->nonblock, &tag);
		close(fd);
		if (ret < 0)
			return;
		if (st->max_batch > 1) {
			sb__astream_batch(st, &ev, &peer, tag, hc, hcp, hpa);
		} else {
			ev.fd_tag = tag;
			ev.peer = sb__addr_to_pb(&peer, &pa);
		}
		if (sb__call_send(c, &ev.base, sb__astream_sent) < 0)
			sb__astream_sent(c, 0);
		return;
	}
	ev.peer = sb__addr_to_pb(&peer, &pa);
	ret = sb__sock_add(c->session, fd, st->k->family, st->k->type,
			   st->nonblock, &nk);
	if (ret < 0) {
		close(fd);
		if (ret == -EMFILE)
			sb__op_limit_sockets(c);
		else
			sb__call_fail(c, GRPC_STATUS_UNAVAILABLE, -ret,
				      "cannot keep the accepted socket: %s", strerror(-ret));
		return;
	}
	st->inflight = nk->handle;
	ev.handle = nk->handle;
	sb__sock_unref(nk);
	if (sb__call_send(c, &ev.base, sb__astream_sent) < 0)
		sb__astream_sent(c, 0);
}

void sb__h_accept_stream(struct sb__call *c, void *req)
{
	SBPB(AcceptStreamRequest) *r = req;
	struct sb__astream *st;
	struct sb__sock *k = sb__op_sock_for(c, r->listener, SB__POL_ACCEPT, NULL);
	int v = 0;

	if (!k)
		return;
	if (sb__sock_getopt_int(k->fd, SOL_SOCKET, SO_ACCEPTCONN, &v) < 0 || !v) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
			      "handle %llu is not a listening socket",
			      (unsigned long long)r->listener);
		goto out;
	}
	if (r->handoff && sb__op_handoff_allowed(c, k) < 0)
		goto out;
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
	st->c = c;
	st->k = k;
	st->nonblock = r->nonblock;
	st->handoff = r->handoff;
	st->max_batch = r->handoff ? (r->max_batch < SB__ACCEPT_BATCH ? r->max_batch :
				      SB__ACCEPT_BATCH) : 1;
	c->ctx = st;
	c->ctx_free = sb__astream_free;
	sb__astream_next(st);
	return;	/* the stream has the reference */
out:
	sb__sock_unref(k);
}

/* ---- RecvStream ----------------------------------------------------- */

struct sb__rstream {
	struct sb__call *c;
	struct sb__sock *k;
	size_t charged;               /* to c->session */
	int stream;                   /* SOCK_STREAM: chunks until EOF */
	size_t max_bytes;
	uint8_t *buf;                 /* stream sockets */
	struct sb__dgram_batch *batch; /* datagram sockets */
	/* the message in flight */
	SBPB(Datagram) *dg, **dgp;
	struct sb__pb_addr (*pa)[2];
};

static void sb__rstream_free(void *p)
{
	struct sb__rstream *st = p;

	if (st->charged)
		sb__bytes_release(st->c->session, st->charged);
	sb__sock_unref(st->k);
	free(st->buf);
	sb__dgram_batch_free(st->batch);
	free(st->dg);
	free(st->dgp);
	free(st->pa);
	free(st);
}

static void sb__rstream_next(struct sb__rstream *st);

static void sb__rstream_sent(struct sb__call *c, int ok)
{
	if (!ok) {
		sb__call_fail(c, GRPC_STATUS_CANCELLED, ECANCELED, "cancelled");
		return;
	}
	sb__rstream_next(c->ctx);
}

static int sb__rstream_woken(void *p, struct sb__waiter *w, enum sb__wake why)
{
	(void)w;
	if (why == SB__WAKE_READY)
		sb__rstream_next(p);
	else
		sb__stream_woken_end(((struct sb__rstream *)p)->c, why);
	return 1;
}

/* Send @ev; when @last, the stream ends after it. */
static void sb__rstream_send(struct sb__rstream *st, SBPB(RecvEvent) *ev, int last)
{
	if (sb__call_send(st->c, &ev->base,
			  last ? sb__stream_last_sent : sb__rstream_sent) < 0)
		sb__call_fail(st->c, GRPC_STATUS_CANCELLED, ECANCELED, "cancelled");
}

static void sb__rstream_next(struct sb__rstream *st)
{
	SBPB(RecvEvent) ev = SOCKBROKER__V1__RECV_EVENT__INIT;
	struct sb__dgram *d;
	uint32_t drops;
	ssize_t n;
	int i, got;

	if (atomic_load(&st->k->closed)) {
		sb__call_finish_ok(st->c);
		return;
	}
	if (st->stream) {
		n = sb__sock_recv(st->k->fd, st->buf, st->max_bytes, 0, NULL);
		if (n == -EAGAIN)
			goto park;
		if (n < 0) {
			ev.error = SB_ERRNO((int)-n);
			sb__rstream_send(st, &ev, 1);
		} else if (n == 0) {
			ev.eof = 1;
			sb__rstream_send(st, &ev, 1);
		} else {
			ev.data.data = st->buf;
			ev.data.len = (size_t)n;
			sb__stats_bytes(0, (uint64_t)n);
			sb__rstream_send(st, &ev, 0);
		}
		return;
	}
	drops = atomic_load(&st->k->drops_seen);
	got = sb__dgram_recv(st->k->fd, st->batch, &d, &drops);
	if (got == -EAGAIN)
		goto park;
	if (got < 0) {
		ev.error = SB_ERRNO(-got);
		sb__rstream_send(st, &ev, 1);
		return;
	}
	/* The kernel's count is the socket's total since it was made: count
	 * what is new since anyone (this stream or an earlier one) saw it. */
	{
		uint32_t before = atomic_exchange(&st->k->drops_seen, drops);

		if (drops != before)
			sb__stats_dropped((uint32_t)(drops - before));
	}
	for (i = 0; i < got; i++) {
		SBPB(Datagram) *g = &st->dg[i];

		sockbroker__v1__datagram__init(g);
		g->data.data = d[i].buf;
		g->data.len = d[i].len;
		g->source = sb__addr_to_pb(&d[i].info.source, &st->pa[i][0]);
		g->truncated = d[i].full_len > d[i].len;
		g->length = d[i].full_len;
		if (d[i].info.have_pktinfo) {
			g->destination = sb__addr_to_pb(&d[i].info.destination, &st->pa[i][1]);
			g->ifindex = d[i].info.ifindex;
		}
		st->dgp[i] = g;
		sb__stats_bytes(0, d[i].len);
	}
	ev.n_datagrams = (size_t)got;
	ev.datagrams = st->dgp;
	sb__rstream_send(st, &ev, 0);
	return;
park:
	if (sb__stream_park(st->c, st->k, st, sb__rstream_woken, EPOLLIN, 0) < 0)
		sb__call_fail(st->c, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM, "out of memory");
}

void sb__h_recv_stream(struct sb__call *c, void *req)
{
	SBPB(RecvStreamRequest) *r = req;
	struct sb__rstream *st;
	struct sb__sock *k;
	size_t batch;
	int ret;

	if (r->max_bytes > SB__CHUNK * 4) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
			      "max_bytes above %u", SB__CHUNK * 4);
		return;
	}
	k = sb__op_sock(c, r->handle);
	if (!k)
		return;
	st = calloc(1, sizeof(*st));
	if (!st) {
		sb__sock_unref(k);
		goto nomem;
	}
	st->c = c;
	st->k = k;
	c->ctx = st;
	c->ctx_free = sb__rstream_free;
	st->stream = k->type == SOCK_STREAM;
	st->max_bytes = r->max_bytes ? r->max_bytes : 65536;
	if (st->stream && st->max_bytes > sb__stream_max_bytes())
		st->max_bytes = sb__stream_max_bytes();
	batch = r->max_batch && r->max_batch < SB__BATCH ? r->max_batch : SB__BATCH;
	/* Keep one message under the reply size. */
	while (batch > 1 && batch * st->max_bytes > sb__op_max_bytes() / 2)
		batch /= 2;
	ret = sb__bytes_charge(c->session, 2 * (st->stream ? 1 : batch) * st->max_bytes);
	if (ret < 0) {
		sb__op_limit(c, ENOBUFS, sb__bytes_limit_name(ret));
		return;
	}
	st->charged = 2 * (st->stream ? 1 : batch) * st->max_bytes;
	if (st->stream) {
		st->buf = malloc(st->max_bytes);
		if (!st->buf)
			goto nomem;
	} else {
		st->batch = sb__dgram_batch_new(batch, st->max_bytes);
		st->dg = calloc(batch, sizeof(*st->dg));
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		st->dgp = calloc(batch, sizeof(*st->dgp));
		st->pa = calloc(batch, sizeof(*st->pa));
		if (!st->batch || !st->dg || !st->dgp || !st->pa)
			goto nomem;
		if (r->want_pktinfo && !atomic_load(&k->pktinfo_on)) {
			ret = sb__sock_enable_pktinfo(k->fd);
			if (ret < 0) {
				sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, -ret,
					      "want_pktinfo needs an IPv4 or IPv6 datagram socket");
				return;
			}
			atomic_store(&k->pktinfo_on, 1);
		}
		/* Without SO_RXQ_OVFL the stream works; only its drop count
		 * stays 0. */
		ret = sb__dgram_enable_drops(k->fd);
		if (ret < 0)
			sb__debug("RecvStream: no drop counts on handle %llu: %s",
				  (unsigned long long)k->handle, strerror(-ret));
	}
	sb__rstream_next(st);
	return;
nomem:
	sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM, "out of memory");
}

/* ---- Pipe ----------------------------------------------------------- */

struct sb__pipe {
	struct sb__call *c;
	struct sb__sock *k;          /* NULL until the first frame named it */
	pthread_mutex_t lock;        /* guards the three flags below */
	int rd_done, wr_done, ended;
	uint8_t *rbuf;               /* socket -> client chunk */
	SBPB(PipeFrame) *in;         /* client -> socket frame being written */
	size_t off;
	size_t charged;              /* to c->session: rbuf, its message, in */
};

static void sb__pipe_free(void *p)
{
	struct sb__pipe *st = p;

	if (st->k)
		sb__sock_unref(st->k);
	if (st->in)
		protobuf_c_message_free_unpacked(&st->in->base, NULL);
	free(st->rbuf);
	if (st->charged)
		sb__bytes_release(st->c->session, st->charged);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* End the pipe once: finish the call and wake any parked direction. */
static void sb__pipe_end(struct sb__pipe *st, grpc_status_code code, int err,
			 const char *why)
{
	pthread_mutex_lock(&st->lock);
	if (st->ended) {
		pthread_mutex_unlock(&st->lock);
		return;
	}
	st->ended = 1;
	pthread_mutex_unlock(&st->lock);
	if (code == GRPC_STATUS_OK)
		sb__call_finish_ok(st->c);
	else
		sb__call_fail(st->c, code, err, "%s", why);
	sb__reactor_unpark(st->c);
}

/* One direction is over; the pipe ends when both are. */
static void sb__pipe_half_done(struct sb__pipe *st, int reader)
{
	int both;

	pthread_mutex_lock(&st->lock);
	if (reader)
		st->rd_done = 1;
	else
		st->wr_done = 1;
	both = st->rd_done && st->wr_done;
	pthread_mutex_unlock(&st->lock);
	if (both)
		sb__pipe_end(st, GRPC_STATUS_OK, 0, NULL);
}

/* The client's bytes are over: shut the socket's writing side. A failure
 * (ENOTCONN after the peer reset) changes nothing for the client: its
 * writes are done, and the reader reports how the socket ended. */
static void sb__pipe_shut_wr(struct sb__pipe *st)
{
	int e = sb__sock_shutdown(st->k->fd, SHUT_WR);

	if (e < 0)
		sb__debug("Pipe: shutdown of handle %llu: %s",
			  (unsigned long long)st->k->handle, strerror(-e));
	sb__pipe_half_done(st, 0);
}

static int sb__pipe_ended(struct sb__pipe *st)
{
	int e;

	pthread_mutex_lock(&st->lock);
	e = st->ended;
	pthread_mutex_unlock(&st->lock);
	return e;
}

static int sb__pipe_woken_end(struct sb__pipe *st, enum sb__wake why)
{
	if (why == SB__WAKE_CLOSED)
		sb__pipe_end(st, GRPC_STATUS_OK, 0, NULL);
	else if (why == SB__WAKE_TIMEOUT)
		sb__pipe_end(st, GRPC_STATUS_DEADLINE_EXCEEDED, ETIMEDOUT,
			     "the call's deadline passed");
	else
		sb__pipe_end(st, GRPC_STATUS_CANCELLED, ECANCELED, "cancelled");
	return 1;
}

/* socket -> client */
static void sb__pipe_read(struct sb__pipe *st);

static void sb__pipe_sent(struct sb__call *c, int ok)
{
	if (!ok)
		sb__pipe_end(c->ctx, GRPC_STATUS_CANCELLED, ECANCELED, "cancelled");
	else
		sb__pipe_read(c->ctx);
}

static void sb__pipe_last_sent(struct sb__call *c, int ok)
{
	if (!ok)
		sb__pipe_end(c->ctx, GRPC_STATUS_CANCELLED, ECANCELED, "cancelled");
	else
		sb__pipe_half_done(c->ctx, 1);
}

static int sb__pipe_read_woken(void *p, struct sb__waiter *w, enum sb__wake why)
{
	(void)w;
	if (why == SB__WAKE_READY)
		sb__pipe_read(p);
	else
		sb__pipe_woken_end(p, why);
	return 1;
}

static void sb__pipe_read(struct sb__pipe *st)
{
	SBPB(PipeFrame) f = SOCKBROKER__V1__PIPE_FRAME__INIT;
	ssize_t n;

	if (sb__pipe_ended(st))
		return;
	n = sb__sock_read(st->k->fd, st->rbuf,
			  SB__CHUNK < sb__stream_max_bytes() ? SB__CHUNK : sb__stream_max_bytes());
	if (n == -EAGAIN) {
		if (sb__stream_park(st->c, st->k, st, sb__pipe_read_woken, EPOLLIN, 0) < 0)
			sb__pipe_end(st, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM,
				     "out of memory");
		return;
	}
	if (n <= 0) {
		if (n < 0)
			f.error = SB_ERRNO((int)-n);
		f.half_close = 1;
		if (sb__call_send(st->c, &f.base, sb__pipe_last_sent) < 0)
			sb__pipe_end(st, GRPC_STATUS_CANCELLED, ECANCELED, "cancelled");
		return;
	}
	f.data.data = st->rbuf;
	f.data.len = (size_t)n;
	sb__stats_bytes(0, (uint64_t)n);
	if (sb__call_send(st->c, &f.base, sb__pipe_sent) < 0)
		sb__pipe_end(st, GRPC_STATUS_CANCELLED, ECANCELED, "cancelled");
}

/* client -> socket */
static void sb__pipe_recv(struct sb__call *c, int ok);

static void sb__pipe_write(struct sb__pipe *st);

static int sb__pipe_write_woken(void *p, struct sb__waiter *w, enum sb__wake why)
{
	(void)w;
	if (why == SB__WAKE_READY)
		sb__pipe_write(p);
	else
		sb__pipe_woken_end(p, why);
	return 1;
}

static void sb__pipe_write(struct sb__pipe *st)
{
	SBPB(PipeFrame) *f = st->in;

	while (st->off < f->data.len) {
		ssize_t n = st->k->family == AF_UNIX
			? sb__ascaller_unix_send(&st->c->ident, st->k->fd,
						 f->data.data + st->off,
						 f->data.len - st->off, 0, NULL, NULL, 0)
			: sb__sock_send(st->k->fd, f->data.data + st->off,
					f->data.len - st->off, 0, NULL);

		if (n == -EAGAIN) {
			if (sb__stream_park(st->c, st->k, st, sb__pipe_write_woken,
					    EPOLLOUT, 1) < 0)
				sb__pipe_end(st, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM,
					     "out of memory");
			return;
		}
		if (n < 0) {
			/* The bytes the client sent cannot be written: end the
			 * pipe with the kernel's errno, so that its writes fail
			 * with it, even when the reader already saw the end of
			 * the socket's bytes and sent its half close. */
			char why[96];

			snprintf(why, sizeof(why), "writing to the socket failed: %s",
				 strerror((int)-n));
			sb__pipe_end(st, GRPC_STATUS_ABORTED, (int)-n, why);
			return;
		}
		st->off += (size_t)n;
		sb__stats_bytes((uint64_t)n, 0);
	}
	if (f->half_close) {
		sb__pipe_shut_wr(st);
		return;
	}
	if (sb__call_recv(st->c, sb__pipe_recv) < 0)
		sb__pipe_end(st, GRPC_STATUS_CANCELLED, ECANCELED, "cancelled");
}

static void sb__pipe_recv(struct sb__call *c, int ok)
{
	struct sb__pipe *st = c->ctx;
	SBPB(PipeFrame) *f;
	int malformed, ret;

	if (!ok) {
		sb__pipe_end(st, GRPC_STATUS_CANCELLED, ECANCELED, "cancelled");
		return;
	}
	if (sb__pipe_ended(st))
		return;
	f = sb__call_unpack_in(c, &sockbroker__v1__pipe_frame__descriptor, &malformed);
	if (malformed) {
		sb__pipe_end(st, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
			     "malformed PipeFrame");
		return;
	}
	if (!f) {	/* the client closed its side: end of the outgoing bytes */
		if (!st->k) {
			sb__pipe_end(st, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
				     "the first frame must name a handle");
			return;
		}
		sb__pipe_shut_wr(st);
		return;
	}
	if (!st->k) {
		st->k = sb__sock_get(c->session, f->handle);
		if (!st->k) {
			protobuf_c_message_free_unpacked(&f->base, NULL);
			sb__pipe_end(st, GRPC_STATUS_NOT_FOUND, EBADF,
				     "no socket with that handle in this session");
			return;
		}
		sb__pipe_read(st);
	}
	if (st->in) {
		sb__bytes_release(c->session, st->in->data.len);
		st->charged -= st->in->data.len;
		protobuf_c_message_free_unpacked(&st->in->base, NULL);
		st->in = NULL;
	}
	ret = sb__bytes_charge(c->session, f->data.len);
	if (ret < 0) {
		protobuf_c_message_free_unpacked(&f->base, NULL);
		sb__stats_limit(&c->ident);
		sb__pipe_end(st, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOBUFS,
			     ret == -EDQUOT ? "limit max_identity_bytes reached"
					    : "limit max_session_bytes reached");
		return;
	}
	st->charged += f->data.len;
	st->in = f;
	st->off = 0;
	sb__pipe_write(st);
}

void sb__h_pipe(struct sb__call *c, void *req)
{
	struct sb__pipe *st;
	int ret = sb__bytes_charge(c->session, SB__PIPE_CHARGE);

	(void)req;
	if (ret < 0) {
		sb__op_limit(c, ENOBUFS, sb__bytes_limit_name(ret));
		return;
	}
	st = calloc(1, sizeof(*st));
	if (st)
		st->rbuf = malloc(SB__CHUNK);
	if (!st || !st->rbuf) {
		free(st);
		sb__bytes_release(c->session, SB__PIPE_CHARGE);
		sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM, "out of memory");
		return;
	}
	st->charged = SB__PIPE_CHARGE;
	st->c = c;
	pthread_mutex_init(&st->lock, NULL);
	c->ctx = st;
	c->ctx_free = sb__pipe_free;
	if (sb__call_recv(c, sb__pipe_recv) < 0)
		sb__pipe_end(st, GRPC_STATUS_CANCELLED, ECANCELED, "cancelled");
}
