/* SPDX-License-Identifier: MIT
 * iter.c - pull-style iterators over AcceptStream and RecvStream, one item
 * per call with a timeout, for callers that run their own event loop.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <pb_decode.h>

#include "stream.h"

#define SB__ITER_DRAIN_MS 50     /* at close: how long sent items keep coming */
#define SB__ITER_DRAIN_MAX 4096
#define SB__ITER_DGRAM 65536     /* largest datagram a receiver takes */

/* Read one message with the iterators' timeout rule (-1: no limit).
 * Return: 1, 0 (the stream ended), -EAGAIN (nothing in time), -errno. */
static int sb__iter_read(struct sb__stream *st, const pb_msgdesc_t *fields,
			 void *msg, int timeout_ms)
{
	int rc;

	if (timeout_ms < 0)
		return sb__stream_read(st, fields, msg);
	rc = sb__stream_read_until(st, fields, msg, timeout_ms);
	return rc == -ETIMEDOUT ? -EAGAIN : rc;
}

/* The stream is over: the errno to report from now on. */
static int sb__iter_ended(struct sb__stream *st)
{
	int rc = sb__stream_finish(st);

	if (rc < 0)
		return -rc;
	sb__set_error("the socket was closed");
	return EBADF;
}

/* ---- sb_acceptor ---- */

struct sb_acceptor {
	struct sb__stream st;
	sb_client *c;
	int family; /* of the listener, for the accepted sockets */
	int type;
	int err;    /* the stream is over: this errno */
};

sb_acceptor *sb_acceptor_open(sb_client *c, int listener)
{
	sockbroker_v1_AcceptStreamRequest req = sockbroker_v1_AcceptStreamRequest_init_zero;
	struct sb__slot sl;
	sb_acceptor *a;
	int rc;

	if (sb__lookup(c, listener, &sl) < 0)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a) {
		sb__fail(ENOMEM, "out of memory");
		return NULL;
	}
	a->c = c;
	a->family = sl.family;
	a->type = sl.type;
	req.listener = sl.handle;
	rc = sb__stream_open(&a->st, c, "/sockbroker.v1.SocketBroker/AcceptStream", 0,
			     sockbroker_v1_AcceptStreamRequest_fields, &req, NULL);
	if (rc < 0) {
		free(a);
		errno = -rc;
		return NULL;
	}
	return a;
}

int sb_acceptor_next(sb_acceptor *a, struct sockaddr *peer, socklen_t *peerlen,
		     int timeout_ms)
{
	sockbroker_v1_AcceptEvent ev = sockbroker_v1_AcceptEvent_init_zero;
	int rc, s;

	if (!a || (peer && !peerlen))
		return sb__fail(EINVAL, "bad arguments");
	if (a->err)
		return sb__fail(a->err, "the accept stream is over");
	rc = sb__iter_read(&a->st, sockbroker_v1_AcceptEvent_fields, &ev, timeout_ms);
	if (rc == -EAGAIN)
		return sb__fail(EAGAIN, "no connection within %d ms", timeout_ms);
	if (rc == 0)
		a->err = sb__iter_ended(&a->st);
	else if (rc < 0)
		a->err = -rc;
	else if (ev.error)
		a->err = sb__errno_to_native(ev.error);
	if (a->err) {
		errno = a->err;
		return -1;
	}
	s = sb__slot_alloc(a->c, ev.handle, a->family, a->type, 0);
	if (s < 0) {
		sb__handle_drop(a->c, ev.handle);
		return sb__fail(-s, "no socket number free");
	}
	if (peer && sb__pb_copy_out(&ev.peer, ev.has_peer, peer, peerlen) < 0)
		*peerlen = 0;
	return s;
}

void sb_acceptor_close(sb_acceptor *a)
{
	int saved = errno, i;

	if (!a)
		return;
	/* Connections the broker already sent were never taken: close them. */
	for (i = 0; !a->err && i < SB__ITER_DRAIN_MAX; i++) {
		sockbroker_v1_AcceptEvent ev = sockbroker_v1_AcceptEvent_init_zero;

		if (sb__stream_read_until(&a->st, sockbroker_v1_AcceptEvent_fields, &ev,
					  SB__ITER_DRAIN_MS) != 1 || ev.error || !ev.handle)
			break;
		sb__handle_drop(a->c, ev.handle);
	}
	/* The last read is still pending: cancel, and close what it may
	 * still bring. */
	sb__stream_cancel(&a->st);
	if (a->st.reading) {
		sockbroker_v1_AcceptEvent ev = sockbroker_v1_AcceptEvent_init_zero;

		if (sb__stream_read(&a->st, sockbroker_v1_AcceptEvent_fields, &ev) == 1 &&
		    !ev.error && ev.handle)
			sb__handle_drop(a->c, ev.handle);
	}
	sb__stream_free(&a->st);
	free(a);
	errno = saved;
}

/* ---- sb_receiver ---- */

struct sb__rdgram {
	uint8_t *data;
	size_t len;
	int truncated;
	struct sb_udp_source src;
};

struct sb_receiver {
	struct sb__stream st;
	sb_client *c;
	int s;
	int err;
	struct sb__rdgram *q;   /* datagrams of the last event not yet taken */
	size_t n, next, cap;
	uint8_t *tmp;           /* one datagram while decoding */
};

sb_receiver *sb_receiver_open(sb_client *c, int s)
{
	sockbroker_v1_RecvStreamRequest req = sockbroker_v1_RecvStreamRequest_init_zero;
	struct sb__slot sl;
	sb_receiver *r;
	int rc;

	if (sb__lookup(c, s, &sl) < 0)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (r)
		r->tmp = malloc(SB__ITER_DGRAM);
	if (!r || !r->tmp) {
		free(r);
		sb__fail(ENOMEM, "out of memory");
		return NULL;
	}
	r->c = c;
	r->s = s;
	req.handle = sl.handle;
	req.max_bytes = SB__ITER_DGRAM;
	/* Only IP has packet info: a Unix datagram socket would be refused. */
	req.want_pktinfo = sl.family == AF_INET || sl.family == AF_INET6;
	rc = sb__stream_open(&r->st, c, "/sockbroker.v1.SocketBroker/RecvStream", 0,
			     sockbroker_v1_RecvStreamRequest_fields, &req, NULL);
	if (rc < 0) {
		free(r->tmp);
		free(r);
		errno = -rc;
		return NULL;
	}
	return r;
}

static void sb__receiver_clear(sb_receiver *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->q[i].data);
	r->n = r->next = 0;
}

/* Queue one datagram of the event being decoded. */
static bool sb__dec_rdgram(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	sb_receiver *r = *arg;
	sockbroker_v1_Datagram d = sockbroker_v1_Datagram_init_zero;
	struct sb__buf b = { .dst = r->tmp, .len = SB__ITER_DGRAM };
	struct sb__rdgram *g;

	(void)f;
	d.data.funcs.decode = sb__pb_decode_bytes;
	d.data.arg = &b;
	if (!pb_decode(s, sockbroker_v1_Datagram_fields, &d))
		return false;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		struct sb__rdgram *q = realloc(r->q, cap * sizeof(*q));

		if (!q)
			return false;
		r->q = q;
		r->cap = cap;
	}
	g = &r->q[r->n];
	memset(g, 0, sizeof(*g));
	g->data = malloc(b.got ? b.got : 1);
	if (!g->data)
		return false;
	memcpy(g->data, r->tmp, b.got);
	g->len = b.got;
	g->truncated = d.truncated;
	g->src.s = r->s;
	g->src.peerlen = sizeof(g->src.peer);
	if (sb__pb_copy_out(&d.source, d.has_source, (struct sockaddr *)&g->src.peer,
			    &g->src.peerlen) < 0)
		g->src.peerlen = 0;
	g->src.locallen = sizeof(g->src.local);
	if (sb__pb_copy_out(&d.destination, d.has_destination,
			    (struct sockaddr *)&g->src.local, &g->src.locallen) < 0)
		g->src.locallen = 0;
	g->src.ifindex = d.ifindex;
	r->n++;
	return true;
}

ssize_t sb_receiver_next(sb_receiver *r, void *buf, size_t len, int *truncated,
			 struct sb_udp_source *src, int timeout_ms)
{
	struct sb__rdgram *g;
	size_t n;

	if (!r || (!buf && len))
		return sb__fail(EINVAL, "bad arguments");
	while (r->next == r->n) {
		sockbroker_v1_RecvEvent ev = sockbroker_v1_RecvEvent_init_zero;
		int rc;

		if (r->err)
			return sb__fail(r->err, "the receive stream is over");
		sb__receiver_clear(r);
		ev.datagrams.funcs.decode = sb__dec_rdgram;
		ev.datagrams.arg = r;
		rc = sb__iter_read(&r->st, sockbroker_v1_RecvEvent_fields, &ev, timeout_ms);
		if (rc == -EAGAIN)
			return sb__fail(EAGAIN, "no datagram within %d ms", timeout_ms);
		if (rc == 0)
			r->err = sb__iter_ended(&r->st);
		else if (rc < 0)
			r->err = -rc;
		else if (ev.error)
			r->err = sb__errno_to_native(ev.error);
	}
	g = &r->q[r->next++];
	n = g->len < len ? g->len : len;
	if (n) /* @buf may be NULL when @len is 0 */
		memcpy(buf, g->data, n);
	if (truncated)
		*truncated = g->truncated || n < g->len;
	if (src)
		*src = g->src;
	return (ssize_t)n;
}

void sb_receiver_close(sb_receiver *r)
{
	int saved = errno;

	if (!r)
		return;
	sb__stream_free(&r->st);
	sb__receiver_clear(r);
	free(r->q);
	free(r->tmp);
	free(r);
	errno = saved;
}
