/* SPDX-License-Identifier: MIT
 * loops.c - server loops in the style of Ruby's Socket.tcp_server_loop,
 * unix_server_loop and udp_server_loop, over AcceptStream and RecvStream:
 * the listening/bound sockets, the loop over one shared completion queue,
 * and the UDP reply from the address a datagram came to.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <pb_decode.h>

#include "stream.h"

#define SB__BIND_TRIES 10       /* port 0: tries for one port free everywhere */
#define SB__MAX_SERVER_SOCKS 16
#define SB__UDP_BUF 65536
/* Connections per AcceptEvent of sb_accept_loop_fd (the broker's cap):
 * one gRPC message per connection held it at 0.55-0.91x a native accept4
 * loop. */
#define SB__ACCEPT_BATCH 32

/* ---- listening and bound sockets ---- */

static void sb__close_all(sb_client *c, const int *socks, size_t n)
{
	int saved = errno;
	size_t i;

	for (i = 0; i < n; i++)
		sb_close(c, socks[i]);
	errno = saved;
}

static void sb__set_port(struct sockaddr *sa, uint16_t port)
{
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)(void *)sa)->sin_port = htons(port);
	else if (sa->sa_family == AF_INET6)
		((struct sockaddr_in6 *)(void *)sa)->sin6_port = htons(port);
}

/* One socket of @ai, bound (port @port when not 0) and listening when
 * @type is SOCK_STREAM. Return: the socket or -1. */
static int sb__server_sock(sb_client *c, const struct addrinfo *ai, int type,
			   uint16_t port)
{
	struct sockaddr_storage ss;
	int one = 1, s;

	s = sb_socket(c, ai->ai_family, type, ai->ai_protocol);
	if (s < 0)
		return -1;
	memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
	if (port)
		sb__set_port((struct sockaddr *)&ss, port);
	/* Datagram sockets record where each datagram came to from the
	 * first one on, for sb_udp_reply(). */
	if ((ai->ai_family == AF_INET6 &&
	     sb_setsockopt(c, s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    (type == SOCK_STREAM &&
	     sb_setsockopt(c, s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) ||
	    (type == SOCK_DGRAM && ai->ai_family == AF_INET &&
	     sb_setsockopt(c, s, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0) ||
	    (type == SOCK_DGRAM && ai->ai_family == AF_INET6 &&
	     sb_setsockopt(c, s, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0) ||
	    sb_bind(c, s, (struct sockaddr *)&ss, ai->ai_addrlen) < 0 ||
	    (type == SOCK_STREAM && sb_listen(c, s, SOMAXCONN) < 0)) {
		sb__close_all(c, &s, 1);
		return -1;
	}
	return s;
}

/* The bound port of socket @s, or 0. */
static uint16_t sb__bound_port(sb_client *c, int s)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (sb_getsockname(c, s, (struct sockaddr *)&ss, &len) < 0)
		return 0;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return 0;
}

/* The port getaddrinfo put in the first row: 0 asks for an ephemeral one. */
static uint16_t sb__bound_port_of(const struct addrinfo *ai)
{
	if (ai->ai_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_port);
	if (ai->ai_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_port);
	return 0;
}

/* One pass over @res. Return: sockets made, or -1 (errno; none open). */
static int sb__server_pass(sb_client *c, const struct addrinfo *res, int type,
			   int ephemeral, int *socks, size_t max)
{
	const struct addrinfo *ai;
	uint16_t port = 0;
	size_t n = 0;
	int err = EADDRNOTAVAIL;

	for (ai = res; ai && n < max; ai = ai->ai_next) {
		int s = sb__server_sock(c, ai, type, port);

		if (s < 0) {
			err = errno;
			/* Port 0: the port chosen for the first family is
			 * taken in another: start again with a new one. */
			if (ephemeral && port && err == EADDRINUSE) {
				sb__close_all(c, socks, n);
				errno = EADDRINUSE;
				return -1;
			}
			continue;  /* as Ruby: a family this host lacks */
		}
		if (ephemeral && !port)
			port = sb__bound_port(c, s);
		socks[n++] = s;
	}
	if (!n) {
		errno = err;
		return -1;
	}
	return (int)n;
}

static int sb__server_sockets(sb_client *c, const char *host, const char *port,
			      int type, int *socks, size_t max)
{
	struct addrinfo hints, *res = NULL;
	int eai, n = -1, tries, ephemeral;

	if (!c || (!socks && max))
		return sb__fail(EINVAL, "bad arguments");
	if (!port)
		port = "0";
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_PASSIVE;
	hints.ai_socktype = type;
	eai = sb_getaddrinfo(c, host, port, &hints, &res);
	if (eai)
		return sb__fail(eai == EAI_SYSTEM ? errno : EADDRNOTAVAIL,
				"getaddrinfo(%s, %s): %s", host ? host : "(any)", port,
				gai_strerror(eai));
	ephemeral = res && sb__bound_port_of(res) == 0;
	for (tries = 0; tries < SB__BIND_TRIES; tries++) {
		n = sb__server_pass(c, res, type, ephemeral, socks, max);
		if (n >= 0 || errno != EADDRINUSE || !ephemeral)
			break;
	}
	sb_freeaddrinfo(res);
	return n;
}

int sb_tcp_server_sockets(sb_client *c, const char *host, const char *port,
			  int *socks, size_t max)
{
	return sb__server_sockets(c, host, port, SOCK_STREAM, socks, max);
}

int sb_udp_server_sockets(sb_client *c, const char *host, const char *port,
			  int *socks, size_t max)
{
	return sb__server_sockets(c, host, port, SOCK_DGRAM, socks, max);
}

int sb_unix_server_socket(sb_client *c, const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len;
	struct stat st;
	int s, probe;

	if (!c || !path || !*path)
		return sb__fail(EINVAL, "no path");
	if (strlen(path) >= sizeof(sun.sun_path))
		return sb__fail(ENAMETOOLONG, "path above %zu bytes",
				sizeof(sun.sun_path) - 1);
	memcpy(sun.sun_path, path, strlen(path) + 1);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return sb__fail(EADDRINUSE, "%s exists and is not a socket", path);
		if (st.st_uid != geteuid())
			return sb__fail(EADDRINUSE, "%s is a socket of uid %u, not ours",
					path, (unsigned)st.st_uid);
		/* A socket someone still listens on is not stale. */
		probe = sb_socket(c, AF_UNIX, SOCK_STREAM, 0);
		if (probe >= 0) {
			int r = sb_connect_timeout(c, probe, (struct sockaddr *)&sun, len, 1000);

			sb__close_all(c, &probe, 1);
			if (r == 0)
				return sb__fail(EADDRINUSE, "%s: a server listens there", path);
		}
		if (unlink(path) < 0 && errno != ENOENT)
			return sb__fail(errno, "cannot remove the stale socket %s", path);
	}
	s = sb_socket(c, AF_UNIX, SOCK_STREAM, 0);
	if (s < 0)
		return -1;
	if (sb_bind(c, s, (struct sockaddr *)&sun, len) < 0 ||
	    sb_listen(c, s, SOMAXCONN) < 0) {
		sb__close_all(c, &s, 1);
		return -1;
	}
	return s;
}

/* ---- the loop over many streams ---- */

/* What one loop runs: its streams on one queue, and what to do with a
 * message of one of them. */
struct sb__loop {
	sb_client *c;
	grpc_completion_queue *cq;
	struct sb__stream *st;
	const int *socks;
	size_t n;
	/* Handle the message @s just read (stream index @i). Return: 0 to go
	 * on, the callback's non-zero value to stop, or -1 (errno set). */
	int (*on_msg)(struct sb__loop *l, size_t i);
	/* Dispose of a message the loop will not deliver (it stopped). */
	void (*on_drop)(struct sb__loop *l, size_t i);
	void *ctx;
};

#define SB__DRAIN_MS 50    /* after a stop: how long events keep coming */
#define SB__DRAIN_MAX 4096 /* and how many are taken off at most */

/* Run until a callback stops it or a stream fails; then cancel and drain
 * every stream. Return: the callback's value, or -1 with errno. */
static int sb__loop_run(struct sb__loop *l)
{
	size_t live = 0, i;
	int rc = 0, err = 0;

	for (i = 0; i < l->n; i++) {
		if (l->st[i].call && sb__stream_read_start(&l->st[i]) == 0)
			live++;
	}
	while (!rc && live) {
		struct sb__stream *s;
		enum sb__sev ev = sb__stream_next(l->cq, &s, -1);

		i = (size_t)(s - l->st);
		if (ev == SB__SEV_READ) {
			if (!s->in)	/* the stream ended: its status follows */
				continue;
			rc = l->on_msg(l, i);
			if (rc == -1)
				err = errno;
			else if (!rc && sb__stream_read_start(s) < 0)
				rc = -1, err = EIO;
		} else if (ev == SB__SEV_STATUS) {
			live--;
			err = -sb__stream_error(s);
			/* A stream that ends without an error: its socket was
			 * closed under the loop. */
			rc = -1;
			if (!err) {
				err = EBADF;
				sb__set_error("the socket was closed");
			}
		}
	}
	/* What the broker already sent was never seen by the caller: take
	 * it off the wire until it goes quiet, so that nothing it carries
	 * (accepted connections) outlives the loop. */
	if (l->on_drop) {
		for (i = 0; i < l->n; i++)
			if (!l->st[i].ended)
				sb__stream_read_start(&l->st[i]);
		for (i = 0; i < SB__DRAIN_MAX; i++) {
			struct sb__stream *s;
			enum sb__sev ev = sb__stream_next(l->cq, &s, SB__DRAIN_MS);

			if (ev == SB__SEV_TIMEOUT)
				break;
			if (ev == SB__SEV_READ && s->in) {
				l->on_drop(l, (size_t)(s - l->st));
				sb__stream_read_start(s);
			}
		}
	}
	for (i = 0; i < l->n; i++)
		sb__stream_cancel(&l->st[i]);
	for (i = 0; i < l->n; i++) {
		while (l->st[i].call && sb__stream_pending(&l->st[i])) {
			struct sb__stream *s;

			if (sb__stream_next(l->cq, &s, -1) == SB__SEV_TIMEOUT)
				break;
			if (s->in && l->on_drop)
				l->on_drop(l, (size_t)(s - l->st));
			if (s->in) {
				grpc_byte_buffer_destroy(s->in);
				s->in = NULL;
			}
		}
	}
	if (rc == -1)
		errno = err;
	return rc;
}

/* Open one stream per socket of @l (request from @mk), run, tear down. */
static int sb__loop(struct sb__loop *l, const char *method, const pb_msgdesc_t *fields,
		    void (*mk)(void *req, uint64_t handle), size_t reqsize)
{
	uint8_t req[256];
	size_t i;
	int rc = -1;

	if (reqsize > sizeof(req))
		return sb__fail(EINVAL, "request too large");
	if (!l->c || !l->socks || !l->n)
		return sb__fail(EINVAL, "no sockets to serve");
	l->cq = grpc_completion_queue_create_for_next(NULL);
	l->st = calloc(l->n, sizeof(*l->st));
	if (!l->st) {
		sb__fail(ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < l->n; i++) {
		struct sb__slot sl;

		if (sb__lookup(l->c, l->socks[i], &sl) < 0)
			goto out;
		memset(req, 0, sizeof(req));
		mk(req, sl.handle);
		if (sb__stream_open(&l->st[i], l->c, method, 0, fields, req, l->cq) < 0)
			goto out;
	}
	rc = sb__loop_run(l);
out:
	if (l->st) {
		int saved = errno;

		/* Open streams that never ran still have their first batch
		 * and status pending: cancel and drain them. */
		for (i = 0; i < l->n; i++)
			sb__stream_cancel(&l->st[i]);
		for (i = 0; i < l->n; i++) {
			while (l->st[i].call && sb__stream_pending(&l->st[i])) {
				struct sb__stream *s;

				if (sb__stream_next(l->cq, &s, -1) == SB__SEV_TIMEOUT)
					break;
			}
			sb__stream_free(&l->st[i]);
		}
		free(l->st);
		errno = saved;
	}
	grpc_completion_queue_shutdown(l->cq);
	while (grpc_completion_queue_next(l->cq, gpr_inf_future(GPR_CLOCK_REALTIME),
					  NULL).type != GRPC_QUEUE_SHUTDOWN)
		;
	grpc_completion_queue_destroy(l->cq);
	return rc;
}

/* ---- accept loops ---- */

struct sb__accept_ctx {
	sb_accept_cb cb;
	void *arg;
	int handoff;   /* connections come as real fds */
};

static void sb__mk_accept(void *req, uint64_t handle)
{
	sockbroker_v1_AcceptStreamRequest *r = req;

	r->listener = handle;
}

static void sb__mk_accept_fd(void *req, uint64_t handle)
{
	sockbroker_v1_AcceptStreamRequest *r = req;

	r->listener = handle;
	r->handoff = true;
	r->max_batch = SB__ACCEPT_BATCH;
}

/* Deliver the fds of @ev's batch to @a's callback one by one, taking each
 * off the channel; once the callback stops the loop (or a fd does not
 * arrive) the rest are taken and closed, so that the channel stays in
 * step. Return: the callback's last value, or -1 with errno. */
static int sb__accept_batch(sb_client *c, const sockbroker_v1_AcceptEvent *ev,
			    struct sb__accept_ctx *a)
{
	struct sockaddr_storage peer;
	socklen_t plen;
	pb_size_t k;
	int rc = 0, err = 0, fd;

	for (k = 0; k < ev->batch_count; k++) {
		fd = sb__handoff_take(c, ev->batch[k].fd_tag);
		if (rc) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		if (fd < 0) {
			rc = -1;
			err = errno;
			continue;
		}
		plen = sizeof(peer);
		memset(&peer, 0, sizeof(peer));
		if (sb__pb_copy_out(&ev->batch[k].peer, ev->batch[k].has_peer,
				    (struct sockaddr *)&peer, &plen) < 0)
			plen = 0;
		rc = a->cb(c, fd, (struct sockaddr *)&peer, plen, a->arg);
		if (rc == -1)
			err = errno;
	}
	if (rc == -1)
		errno = err;
	return rc;
}

static int sb__on_accept(struct sb__loop *l, size_t i)
{
	struct sb__accept_ctx *a = l->ctx;
	sockbroker_v1_AcceptEvent ev = sockbroker_v1_AcceptEvent_init_zero;
	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	struct sb__slot sl;
	int s;

	if (sb__stream_decode(&l->st[i], sockbroker_v1_AcceptEvent_fields, &ev) < 0)
		return sb__fail(EPROTO, "malformed AcceptEvent");
	if (ev.error)
		return sb__reply(ev.error);
	if (sb__slot_get(l->c, l->socks[i], &sl) < 0)
		return sb__fail(EBADF, "the listener was closed");
	if (a->handoff && ev.batch_count)
		return sb__accept_batch(l->c, &ev, a);
	if (a->handoff)
		s = sb__handoff_take(l->c, ev.fd_tag);
	else if ((s = sb__slot_alloc(l->c, ev.handle, sl.family, sl.type, 0)) < 0)
		return sb__fail(-s, "no socket number free");
	if (s < 0)
		return -1;
	memset(&peer, 0, sizeof(peer));
	if (sb__pb_copy_out(&ev.peer, ev.has_peer, (struct sockaddr *)&peer, &plen) < 0)
		plen = 0;
	return a->cb(l->c, s, (struct sockaddr *)&peer, plen, a->arg);
}

/* An accepted connection the caller will never see: close it. */
static void sb__drop_accept(struct sb__loop *l, size_t i)
{
	sockbroker_v1_AcceptEvent ev = sockbroker_v1_AcceptEvent_init_zero;

	struct sb__accept_ctx *a = l->ctx;
	pb_size_t k;
	int fd;

	if (sb__stream_decode(&l->st[i], sockbroker_v1_AcceptEvent_fields, &ev) != 1 ||
	    ev.error)
		return;
	if (ev.handle)
		sb__handle_drop(l->c, ev.handle);
	if (a->handoff && ev.fd_tag && (fd = sb__handoff_take(l->c, ev.fd_tag)) >= 0)
		close(fd);
	for (k = 0; a->handoff && k < ev.batch_count; k++)
		if ((fd = sb__handoff_take(l->c, ev.batch[k].fd_tag)) >= 0)
			close(fd);
}

int sb_accept_loop_many(sb_client *c, const int *listeners, size_t n,
			sb_accept_cb cb, void *arg)
{
	struct sb__accept_ctx a = { cb, arg, 0 };
	struct sb__loop l = { .c = c, .socks = listeners, .n = n,
			      .on_msg = sb__on_accept, .on_drop = sb__drop_accept,
			      .ctx = &a };

	if (!cb)
		return sb__fail(EINVAL, "no callback");
	return sb__loop(&l, "/sockbroker.v1.SocketBroker/AcceptStream",
			sockbroker_v1_AcceptStreamRequest_fields, sb__mk_accept,
			sizeof(sockbroker_v1_AcceptStreamRequest));
}

int sb_accept_loop(sb_client *c, int listener, sb_accept_cb cb, void *arg)
{
	return sb_accept_loop_many(c, &listener, 1, cb, arg);
}

int sb_accept_loop_fd(sb_client *c, int listener, sb_accept_cb cb, void *arg)
{
	struct sb__accept_ctx a = { cb, arg, 1 };
	struct sb__loop l = { .c = c, .socks = &listener, .n = 1,
			      .on_msg = sb__on_accept, .on_drop = sb__drop_accept,
			      .ctx = &a };

	if (!cb)
		return sb__fail(EINVAL, "no callback");
	if (!c)
		return sb__fail(EINVAL, "no client");
	if (sb__handoff_channel(c) < 0)
		return -1;
	return sb__loop(&l, "/sockbroker.v1.SocketBroker/AcceptStream",
			sockbroker_v1_AcceptStreamRequest_fields, sb__mk_accept_fd,
			sizeof(sockbroker_v1_AcceptStreamRequest));
}

int sb_tcp_server_loop(sb_client *c, const char *host, const char *port,
		       sb_accept_cb cb, void *arg)
{
	int socks[SB__MAX_SERVER_SOCKS];
	int n = sb_tcp_server_sockets(c, host, port, socks, SB__MAX_SERVER_SOCKS);
	int rc;

	if (n < 0)
		return -1;
	rc = sb_accept_loop_many(c, socks, (size_t)n, cb, arg);
	sb__close_all(c, socks, (size_t)n);
	return rc;
}

int sb_unix_server_loop(sb_client *c, const char *path, sb_accept_cb cb, void *arg)
{
	int s = sb_unix_server_socket(c, path);
	int rc, saved;

	if (s < 0)
		return -1;
	rc = sb_accept_loop(c, s, cb, arg);
	saved = errno;
	sb__close_all(c, &s, 1);
	unlink(path);
	errno = saved;
	return rc;
}

/* ---- UDP loops ---- */

struct sb__udp_ctx {
	struct sb__loop *l;
	size_t i;
	sb_udp_cb cb;
	void *arg;
	uint8_t *buf;
	int rc;
};

static bool sb__dec_dgram(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	struct sb__udp_ctx *u = *arg;
	sockbroker_v1_Datagram d = sockbroker_v1_Datagram_init_zero;
	struct sb__buf b = { .dst = u->buf, .len = SB__UDP_BUF };
	struct sb_udp_source src;

	(void)f;
	d.data.funcs.decode = sb__pb_decode_bytes;
	d.data.arg = &b;
	if (!pb_decode(s, sockbroker_v1_Datagram_fields, &d))
		return false;
	if (u->rc)	/* the loop stops: the rest of the batch is dropped */
		return true;
	memset(&src, 0, sizeof(src));
	src.s = u->l->socks[u->i];
	src.peerlen = sizeof(src.peer);
	if (sb__pb_copy_out(&d.source, d.has_source, (struct sockaddr *)&src.peer,
			    &src.peerlen) < 0)
		src.peerlen = 0;
	src.locallen = sizeof(src.local);
	if (sb__pb_copy_out(&d.destination, d.has_destination,
			    (struct sockaddr *)&src.local, &src.locallen) < 0)
		src.locallen = 0;
	src.ifindex = d.ifindex;
	u->rc = u->cb(u->l->c, u->buf, b.got, d.truncated, &src, u->arg);
	return true;
}

static void sb__mk_recv(void *req, uint64_t handle)
{
	sockbroker_v1_RecvStreamRequest *r = req;

	r->handle = handle;
	r->max_bytes = SB__UDP_BUF;
	r->want_pktinfo = true;
}

static int sb__on_dgrams(struct sb__loop *l, size_t i)
{
	struct sb__udp_ctx *u = l->ctx;
	sockbroker_v1_RecvEvent ev = sockbroker_v1_RecvEvent_init_zero;

	u->l = l;
	u->i = i;
	u->rc = 0;
	ev.datagrams.funcs.decode = sb__dec_dgram;
	ev.datagrams.arg = u;
	if (sb__stream_decode(&l->st[i], sockbroker_v1_RecvEvent_fields, &ev) < 0)
		return sb__fail(EPROTO, "malformed RecvEvent");
	if (u->rc)
		return u->rc;
	if (ev.error)
		return sb__reply(ev.error);
	return 0;
}

int sb_udp_server_loop_on(sb_client *c, const int *socks, size_t n,
			  sb_udp_cb cb, void *arg)
{
	struct sb__udp_ctx u = { .cb = cb, .arg = arg };
	struct sb__loop l = { .c = c, .socks = socks, .n = n,
			      .on_msg = sb__on_dgrams, .ctx = &u };
	int rc;

	if (!cb)
		return sb__fail(EINVAL, "no callback");
	u.buf = malloc(SB__UDP_BUF);
	if (!u.buf)
		return sb__fail(ENOMEM, "out of memory");
	rc = sb__loop(&l, "/sockbroker.v1.SocketBroker/RecvStream",
		      sockbroker_v1_RecvStreamRequest_fields, sb__mk_recv,
		      sizeof(sockbroker_v1_RecvStreamRequest));
	free(u.buf);
	return rc;
}

int sb_udp_server_loop(sb_client *c, const char *host, const char *port,
		       sb_udp_cb cb, void *arg)
{
	int socks[SB__MAX_SERVER_SOCKS];
	int n = sb_udp_server_sockets(c, host, port, socks, SB__MAX_SERVER_SOCKS);
	int rc;

	if (n < 0)
		return -1;
	rc = sb_udp_server_loop_on(c, socks, (size_t)n, cb, arg);
	sb__close_all(c, socks, (size_t)n);
	return rc;
}

ssize_t sb_udp_reply(sb_client *c, const struct sb_udp_source *src,
		     const void *buf, size_t len)
{
	sockbroker_v1_SendRequest req = sockbroker_v1_SendRequest_init_zero;
	sockbroker_v1_SendReply rep = sockbroker_v1_SendReply_init_zero;
	struct sb__buf b = { .src = buf, .len = len };
	struct sb__slot sl;
	int rc;

	if (!src)
		return sb__fail(EINVAL, "no source");
	if (sb__lookup(c, src->s, &sl) < 0)
		return -1;
	rc = sb__pb_from_sockaddr(&req.destination, (const struct sockaddr *)&src->peer,
				  src->peerlen);
	if (rc < 0)
		return sb__fail(-rc, "bad peer address");
	req.has_destination = true;
	if (src->locallen) {
		rc = sb__pb_from_sockaddr(&req.source, (const struct sockaddr *)&src->local,
					  src->locallen);
		if (rc < 0)
			return sb__fail(-rc, "bad local address");
		req.has_source = true;
		/* The address picks the interface. Only a link-local one needs
		 * the index too; naming a device takes a policy rule that names
		 * SO_BINDTOIFINDEX. */
		if (src->local.ss_family == AF_INET6 &&
		    IN6_IS_ADDR_LINKLOCAL(&((const struct sockaddr_in6 *)&src->local)->sin6_addr))
			req.ifindex = src->ifindex;
	}
	req.handle = sl.handle;
	req.data.funcs.encode = sb__pb_encode_bytes;
	req.data.arg = &b;
	if (SB__CALL(c, Send, req, rep, -1) < 0 || sb__reply(rep.error) < 0)
		return -1;
	return (ssize_t)rep.sent;
}
