/* SPDX-License-Identifier: MIT
 * dialchan.c - dial channels (dialchan.h): the reader thread, the framing
 * and the carrier that answers a Dial served from a channel.
 *
 * Framing (the .proto's "Dial channel" rules), little-endian:
 *   request: u32 length (1..SB__DC_MAX_REQ), then a DialRequest
 *   answer:  u32 length of what follows, i32 gRPC status, u32 portable
 *            errno (0: none), then the DialReply (status OK) or the
 *            status message (UTF-8, at most 511 bytes)
 * One request at a time: a second before the answer, a length out of
 * bounds or a short close is a broken channel, closed without an answer.
 *
 * Ownership: a channel is the reader's while armed in its epoll set
 * (EPOLLONESHOT) and its request's while a Dial is in flight; whoever
 * holds it answers, then arms it again or closes it. The list keeps every
 * channel for sb__dialchan_stop().
 */
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dialchan.h"
#include "guard.h"
#include "handoff.h"
#include "log.h"
#include "ops.h"
#include "rpc.h"
#include "session.h"

#define SB__DC_DIAL "/sockbroker.v1.SocketBroker/Dial"
#define SB__DC_HDR 12        /* an answer's length, status and errno */
#define SB__DC_DETAILS 511   /* the longest status message sent */

struct sb__dchan {
	int fd;
	struct sb__session *s;   /* ref held */
	struct sb__identity id;  /* the channel's peer, as admitted */
	struct sb__conn_ref conn; /* holds its connection busy (not idle) */
	struct sb__dchan *prev, *next; /* sb__dc_all, under sb__dc_lock */
	size_t have;
	unsigned char buf[4 + SB__DC_MAX_REQ];
};

static pthread_mutex_t sb__dc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sb__dchan *sb__dc_all;
static int sb__dc_ep = -1, sb__dc_evfd = -1;
static pthread_t sb__dc_thread;
static int sb__dc_started;

struct sb__dchan *sb__dialchan_new(int fd, struct sb__session *s,
				   const struct sb__identity *id)
{
	struct sb__dchan *dc = calloc(1, sizeof(*dc));

	if (!dc)
		return NULL;
	/* Without a record of the connection there is nothing to hold
	 * (dc->conn.fd is -1 then). */
	(void)sb__conn_hold(fd, NULL, &dc->conn);
	dc->fd = fd;
	dc->id = *id;
	sb__session_ref(s);
	dc->s = s;
	pthread_mutex_lock(&sb__dc_lock);
	dc->next = sb__dc_all;
	if (sb__dc_all)
		sb__dc_all->prev = dc;
	sb__dc_all = dc;
	pthread_mutex_unlock(&sb__dc_lock);
	return dc;
}

static void sb__dc_close(struct sb__dchan *dc)
{
	sb__handoff_dial_unbind(dc->s, dc);
	pthread_mutex_lock(&sb__dc_lock);
	if (dc->prev)
		dc->prev->next = dc->next;
	else
		sb__dc_all = dc->next;
	if (dc->next)
		dc->next->prev = dc->prev;
	pthread_mutex_unlock(&sb__dc_lock);
	if (sb__dc_ep >= 0)
		epoll_ctl(sb__dc_ep, EPOLL_CTL_DEL, dc->fd, NULL);
	sb__conn_call_end(&dc->conn);
	sb__conn_close(dc->fd);
	sb__session_unref(dc->s);
	free(dc);
}

/* Arm @dc for its next request (it is the reader's again). */
static void sb__dc_arm(struct sb__dchan *dc, int op)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
	ev.data.ptr = dc;
	if (epoll_ctl(sb__dc_ep, op, dc->fd, &ev) < 0) {
		sb__warn("dial channel: epoll_ctl: %s", strerror(errno));
		sb__dc_close(dc);
	}
}

void sb__dialchan_start_reading(struct sb__dchan *dc)
{
	sb__dc_arm(dc, EPOLL_CTL_ADD);
}

void sb__dialchan_hangup(struct sb__dchan *dc)
{
	shutdown(dc->fd, SHUT_RDWR);
}

/* Send one answer. Return: 0, or -1 when the channel is broken (the
 * caller gone, or not reading its answers: the buffer is full). */
static int sb__dc_send(struct sb__dchan *dc, grpc_status_code code, int err,
		       const char *details, const ProtobufCMessage *msg)
{
	unsigned char out[SB__DC_HDR + 2048], *p = out;
	size_t body = 0;
	uint32_t v;
	int ok;

	if (msg) {
		body = protobuf_c_message_get_packed_size(msg);
		if (body > sizeof(out) - SB__DC_HDR) {
			p = malloc(SB__DC_HDR + body);
			if (!p)
				return -1;
		}
		protobuf_c_message_pack(msg, p + SB__DC_HDR);
	} else if (details) {
		body = strnlen(details, SB__DC_DETAILS);
		memcpy(p + SB__DC_HDR, details, body);
	}
	v = htole32((uint32_t)(body + SB__DC_HDR - 4));
	memcpy(p, &v, 4);
	v = htole32((uint32_t)code);
	memcpy(p + 4, &v, 4);
	v = htole32(err ? sb__errno_to_portable(err) : 0);
	memcpy(p + 8, &v, 4);
	ok = send(dc->fd, p, SB__DC_HDR + body, MSG_DONTWAIT | MSG_NOSIGNAL) ==
	     (ssize_t)(SB__DC_HDR + body);
	if (p != out)
		free(p);
	return ok ? 0 : -1;
}

static void sb__dc_finish(struct sb__call *c, grpc_status_code code, int err,
			  const char *details, const ProtobufCMessage *msg)
{
	struct sb__dchan *dc = c->carrier_arg;

	if (sb__dc_send(dc, code, err, details, msg) < 0)
		sb__dc_close(dc);
	else
		sb__dc_arm(dc, EPOLL_CTL_MOD);
}

static const struct sb__carrier sb__dc_carrier = { .finish = sb__dc_finish };

/* Answer without a call, then arm @dc again. */
static void sb__dc_refuse(struct sb__dchan *dc, grpc_status_code code, int err,
			  const char *details)
{
	sb__debug("dial channel of uid %u: %s", (unsigned)dc->id.uid, details);
	if (sb__dc_send(dc, code, err, details, NULL) < 0)
		sb__dc_close(dc);
	else
		sb__dc_arm(dc, EPOLL_CTL_MOD);
}

/* Serve the request of @len bytes at @data: the channel is the call's
 * (or is answered here) from now on. */
static void sb__dc_serve(struct sb__dchan *dc, const unsigned char *data, size_t len)
{
	SBPB(DialRequest) *r;
	struct sb__call *c;

	if (atomic_load(&dc->s->ended)) {
		/* Nothing more will be served on it. */
		sb__dc_send(dc, GRPC_STATUS_UNAUTHENTICATED, EACCES, "session ended", NULL);
		sb__dc_close(dc);
		return;
	}
	if (!sb__guard_serves(&dc->id)) {
		sb__dc_refuse(dc, GRPC_STATUS_PERMISSION_DENIED, EACCES,
			      "this caller is not served by this broker's policy");
		return;
	}
	r = sockbroker__v1__dial_request__unpack(NULL, len, data);
	if (!r) {
		sb__dc_refuse(dc, GRPC_STATUS_INVALID_ARGUMENT, EINVAL, "malformed DialRequest");
		return;
	}
	c = sb__call_carried(SB__DC_DIAL, &sb__dc_carrier, dc, dc->s, &dc->id);
	if (!c)
		sb__dc_refuse(dc, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM, "out of memory");
	else
		sb__h_dial(c, r);
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

/* @dc is readable (or closed). Reader thread. */
static void sb__dc_ready(struct sb__dchan *dc)
{
	uint32_t len;
	ssize_t n;

	n = recv(dc->fd, dc->buf + dc->have, sizeof(dc->buf) - dc->have, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		sb__dc_arm(dc, EPOLL_CTL_MOD);
		return;
	}
	if (n <= 0)
		goto broken;
	dc->have += (size_t)n;
	if (dc->have < 4) {
		sb__dc_arm(dc, EPOLL_CTL_MOD);
		return;
	}
	memcpy(&len, dc->buf, 4);
	len = le32toh(len);
	if (!len || len > SB__DC_MAX_REQ)
		goto broken;
	if (dc->have < 4 + (size_t)len) {
		sb__dc_arm(dc, EPOLL_CTL_MOD);
		return;
	}
	if (dc->have > 4 + (size_t)len)
		goto broken;	/* a second request before the answer */
	dc->have = 0;
	sb__dc_serve(dc, dc->buf + 4, len);
	return;
broken:
	if (n != 0 || dc->have)
		sb__info("dial channel of uid %u pid %d: out of step; closed",
			 (unsigned)dc->id.uid, (int)dc->id.pid);
	sb__dc_close(dc);
}

static void *sb__dc_main(void *arg)
{
	struct epoll_event ev[32];
	int i, n;

	(void)arg;
	for (;;) {
		n = epoll_wait(sb__dc_ep, ev, 32, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sb__err("dial channels: epoll_wait: %s", strerror(errno));
			return NULL;
		}
		for (i = 0; i < n; i++) {
			if (!ev[i].data.ptr)
				return NULL;	/* sb__dialchan_stop() */
			sb__dc_ready(ev[i].data.ptr);
		}
	}
}

int sb__dialchan_start(void)
{
	struct epoll_event ev;

	sb__dc_ep = epoll_create1(EPOLL_CLOEXEC);
	if (sb__dc_ep < 0)
		return -errno;
	sb__dc_evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sb__dc_evfd < 0)
		return -errno;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(sb__dc_ep, EPOLL_CTL_ADD, sb__dc_evfd, &ev) < 0)
		return -errno;
	if (pthread_create(&sb__dc_thread, NULL, sb__dc_main, NULL))
		return -EAGAIN;
	sb__dc_started = 1;
	return 0;
}

void sb__dialchan_stop(void)
{
	uint64_t one = 1;

	if (sb__dc_started) {
		if (write(sb__dc_evfd, &one, sizeof(one)) < 0)
			sb__warn("dial channels: cannot stop the reader: %s", strerror(errno));
		pthread_join(sb__dc_thread, NULL);
		sb__dc_started = 0;
	}
	/* What is left is idle (armed) or answers nobody now. */
	while (sb__dc_all)
		sb__dc_close(sb__dc_all);
	if (sb__dc_evfd >= 0)
		close(sb__dc_evfd);
	if (sb__dc_ep >= 0)
		close(sb__dc_ep);
	sb__dc_evfd = sb__dc_ep = -1;
}
