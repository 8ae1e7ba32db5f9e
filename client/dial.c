/* SPDX-License-Identifier: MIT
 * dial.c - sb_tcp_connect(), sb_tcp_connect_opts() and sb_unix_connect():
 * a connected socket in one Dial, in the style of Ruby's Socket.tcp and
 * Socket.unix; and the client's DialStream, which carries the dials of
 * one thread at a time without a new call each.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <pb_decode.h>
#include <pb_encode.h>

#include "call.h"
#include "stream.h"

/* The dial channel's framing, as the broker's (server/dialchan.c). */
#define SB__DC_MAGIC "SBDIAL01"
#define SB__DC_MAX_REQ 8192
#define SB__DC_HDR 12
#define SB__DC_MAX_REPLY 4096

/* The resolver failure of this thread's last sb_tcp_connect(). */
static __thread int sb__dial_eai;

int sb_last_eai(void)
{
	return sb__dial_eai;
}

void sb__dial_eai_clear(void)
{
	sb__dial_eai = 0;
}

int sb__dial_eai_fail(const sockbroker_v1_DialReply *rep, const char *what)
{
	int eai;

	if (!rep->eai)
		return 0;
	if (sb__native(SB__C_EAI, rep->eai, &eai) < 0)
		eai = EAI_FAIL;
	sb__dial_eai = eai;
	/* errno: EAI_SYSTEM's errno, ETIMEDOUT for the resolve timeout,
	 * else EADDRNOTAVAIL as sb_tcp_server_sockets() reports it. */
	return sb__fail(rep->error ? sb__errno_to_native(rep->error) : EADDRNOTAVAIL,
			"getaddrinfo(%s): %s", what, gai_strerror(eai));
}

int sb__dial_init(sb_client *c)
{
	c->dial = NULL;
	c->dial_unary = 0;
	c->dc_fd = -1;
	c->dc_off = 0;
	return -pthread_mutex_init(&c->dial_lock, NULL);
}

/* Drop the stream (cancelled if still open). Caller holds dial_lock. */
static void sb__dial_drop(sb_client *c)
{
	if (!c->dial)
		return;
	sb__stream_free(c->dial);
	free(c->dial);
	c->dial = NULL;
}

void sb__dial_free(sb_client *c)
{
	sb__dial_drop(c);
	if (c->dc_fd >= 0)
		close(c->dc_fd);
	c->dc_fd = -1;
	pthread_mutex_destroy(&c->dial_lock);
}

/* The request on the stream, opening it first. Caller holds dial_lock.
 * Return: 0, or -errno when it cannot be sent (the stream is dropped). */
static int sb__dial_send(sb_client *c, const sockbroker_v1_DialRequest *req)
{
	int rc;

	if (c->dial) {
		rc = sb__stream_write(c->dial, sockbroker_v1_DialRequest_fields, req, 0);
		if (rc < 0)
			sb__dial_drop(c);
		return rc;
	}
	c->dial = calloc(1, sizeof(*c->dial));
	if (!c->dial)
		return -ENOMEM;
	rc = sb__stream_open(c->dial, c, SB__M(DialStream), 1,
			     sockbroker_v1_DialRequest_fields, req, NULL);
	if (rc < 0) {
		free(c->dial);
		c->dial = NULL;
	}
	return rc;
}

/* One dial over the stream. Caller holds dial_lock. Return: 1 answered,
 * 0 not sent (make a Dial call instead), or -1 with errno. */
static int sb__dial_streamed(sb_client *c, const sockbroker_v1_DialRequest *req,
			     sockbroker_v1_DialReply *rep)
{
	int rc, err;

	/* A stream the broker ended since the last dial (a restart) fails
	 * here; nothing was asked of it yet. */
	if (sb__dial_send(c, req) < 0)
		return 0;
	rc = sb__stream_read(c->dial, sockbroker_v1_DialReply_fields, rep);
	if (rc == 1)
		return 1;
	if (rc == 0) {
		/* The broker ended the stream: the status is this dial's
		 * failure, as a Dial call would have ended with it (the
		 * status's errno and message are the last error). */
		rc = sb__stream_finish(c->dial);
		if (c->dial->status == GRPC_STATUS_UNIMPLEMENTED) {
			c->dial_unary = 1;
			sb__dial_drop(c);
			return 0;
		}
		err = rc < 0 ? -rc : EPROTO;
		if (rc == 0)
			sb__fail(EPROTO, "the broker ended DialStream without a reply");
	} else {
		err = -rc;
		sb__fail(err, "DialStream failed: %s", strerror(err));
	}
	sb__dial_drop(c);
	errno = err;
	return -1;
}

/* Read the dial channel into @buf from @got until it holds @n bytes; a
 * read takes what is there up to @cap (the broker writes an answer whole,
 * so one read usually takes all of it). Return: the bytes held, or -1. */
static ssize_t sb__dc_read(int fd, unsigned char *buf, size_t got, size_t n, size_t cap)
{
	while (got < n) {
		ssize_t r = recv(fd, buf + got, cap - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static void sb__dc_close(sb_client *c)
{
	close(c->dc_fd);
	c->dc_fd = -1;
}

/* One dial over the dial channel (the .proto's "Dial channel" rules),
 * opened first. Caller holds dial_lock. Return: 1 answered, 0 not sent
 * (use gRPC instead), or -1 with errno. */
static int sb__dial_chan(sb_client *c, const sockbroker_v1_DialRequest *req,
			 sockbroker_v1_DialReply *rep)
{
	unsigned char out[4 + SB__DC_MAX_REQ], in[SB__DC_HDR + SB__DC_MAX_REPLY];
	uint32_t v, len, status, perr;
	ssize_t got;
	pb_ostream_t os;
	pb_istream_t is;
	size_t n;
	int err;

	if (c->dc_fd < 0) {
		/* A broker without dial channels closes the hello, a policy
		 * without hand-off refuses the ticket: ask once per client. */
		c->dc_fd = sb__side_open(c, SB__DC_MAGIC, "dial channel");
		if (c->dc_fd < 0) {
			c->dc_off = 1;
			return 0;
		}
	}
	if (!pb_get_encoded_size(&n, sockbroker_v1_DialRequest_fields, req) || !n ||
	    n > SB__DC_MAX_REQ)
		return 0;
	os = pb_ostream_from_buffer(out + 4, n);
	if (!pb_encode(&os, sockbroker_v1_DialRequest_fields, req))
		return 0;
	v = htole32((uint32_t)n);
	memcpy(out, &v, 4);
	/* A channel the broker closed since (a restart, the session's end)
	 * fails here: nothing was asked of it yet. */
	if (send(c->dc_fd, out, 4 + n, MSG_NOSIGNAL) != (ssize_t)(4 + n)) {
		sb__dc_close(c);
		return 0;
	}
	got = sb__dc_read(c->dc_fd, in, 0, SB__DC_HDR, sizeof(in));
	if (got < 0)
		goto broken;
	memcpy(&len, in, 4);
	memcpy(&status, in + 4, 4);
	memcpy(&perr, in + 8, 4);
	len = le32toh(len);
	status = le32toh(status);
	perr = le32toh(perr);
	if (len < SB__DC_HDR - 4 || len - (SB__DC_HDR - 4) > SB__DC_MAX_REPLY)
		goto broken;
	n = len - (SB__DC_HDR - 4);
	/* One request at a time: nothing follows the answer. */
	if (sb__dc_read(c->dc_fd, in, (size_t)got, SB__DC_HDR + n, SB__DC_HDR + n) < 0 ||
	    (size_t)got > SB__DC_HDR + n)
		goto broken;
	if (status != GRPC_STATUS_OK) {
		err = perr ? sb__errno_to_native(perr) : sb__status_errno((grpc_status_code)status);
		sb__fail(err, "Dial: %.*s (gRPC status %u)", (int)n,
			 (const char *)in + SB__DC_HDR, (unsigned)status);
		return -1;
	}
	is = pb_istream_from_buffer(in + SB__DC_HDR, n);
	if (!pb_decode(&is, sockbroker_v1_DialReply_fields, rep)) {
		sb__fail(EPROTO, "Dial: a malformed DialReply on the dial channel");
		return -1;
	}
	return 1;
broken:
	/* Asked, and no answer: the dial may have happened; say so rather
	 * than dial twice. */
	sb__dc_close(c);
	sb__fail(ECONNRESET, "Dial: the broker closed the dial channel before answering");
	return -1;
}

int sb__dial_call(sb_client *c, const sockbroker_v1_DialRequest *req,
		  sockbroker_v1_DialReply *rep)
{
	int rc = 0;

	if ((req->handoff || !c->dial_unary) && pthread_mutex_trylock(&c->dial_lock) == 0) {
		/* A hand-off dial has a side channel already: the dial
		 * channel, a second one, saves the gRPC round trip. */
		if (req->handoff && !c->dc_off)
			rc = sb__dial_chan(c, req, rep);
		if (!rc && !c->dial_unary)
			rc = sb__dial_streamed(c, req, rep);
		pthread_mutex_unlock(&c->dial_lock);
	}
	if (rc)
		return rc > 0 ? 0 : -1;
	return SB__CALL(c, Dial, *req, *rep, -1) < 0 ? -1 : 0;
}

/* One Dial; @req is filled but for what every dial shares.
 * Return: the new socket number, or -1. */
static int sb__dial(sb_client *c, sockbroker_v1_DialRequest *req, int family,
		    const char *what)
{
	sockbroker_v1_DialReply rep = sockbroker_v1_DialReply_init_zero;
	int s;

	if (sb__dial_call(c, req, &rep) < 0 || sb__dial_eai_fail(&rep, what) < 0)
		return -1;
	if (sb__reply(rep.error) < 0)
		return -1;
	s = sb__slot_alloc(c, rep.handle, family, SOCK_STREAM, 0);
	if (s < 0) {
		sb__handle_drop(c, rep.handle);
		return sb__err(s);
	}
	return s;
}

/* Copy @src into a request string field of @size bytes. */
static int sb__dial_str(char *dst, size_t size, const char *src, const char *name)
{
	if (!src)
		return 0;
	if (strlen(src) >= size)
		return sb__fail(EINVAL, "%s longer than %zu bytes", name, size - 1);
	strcpy(dst, src);
	return 0;
}

/* The request's options, translated before the call. */
struct sb__dial_opts {
	sockbroker_v1_DialOption *o;
	size_t n;
};

static bool sb__enc_opts(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
	const struct sb__dial_opts *d = *arg;
	size_t i;

	for (i = 0; i < d->n; i++)
		if (!pb_encode_tag_for_field(s, f) ||
		    !pb_encode_submessage(s, sockbroker_v1_DialOption_fields, &d->o[i]))
			return false;
	return true;
}

/* Translate @opts into @d (allocated; the caller frees d->o). Return: 0/-1. */
static int sb__dial_opts(const struct sb_sockopt *opts, size_t n, struct sb__dial_opts *d)
{
	size_t i;

	d->n = 0;
	d->o = NULL;
	if (!n)
		return 0;
	if (!opts)
		return sb__fail(EFAULT, "options are NULL");
	if (n > SB_DIAL_MAX_OPTS)
		return sb__fail(EINVAL, "more than %d options", SB_DIAL_MAX_OPTS);
	d->o = calloc(n, sizeof(*d->o));
	if (!d->o)
		return sb__fail(ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		uint32_t plevel;

		if (sb__sockopt_to_pb(opts[i].level, opts[i].name, opts[i].value, opts[i].len,
				      &plevel, &d->o[i].name, &d->o[i].value) < 0)
			return -1;
		if (d->o[i].value.which_value == sockbroker_v1_SockOptValue_raw_tag)
			return sb__fail(EINVAL, "option %d/%d: Dial takes typed values only "
					"(an int option needs sizeof(int) bytes)",
					opts[i].level, opts[i].name);
		d->o[i].level = (sockbroker_v1_OptionLevel)plevel;
		d->o[i].has_value = true;
	}
	d->n = n;
	return 0;
}

int sb_tcp_connect_opts(sb_client *c, const char *host, const char *port, int family,
			const char *local_host, const char *local_port, int timeout_ms,
			const struct sb_sockopt *opts, size_t n_opts)
{
	sockbroker_v1_DialRequest req = sockbroker_v1_DialRequest_init_zero;
	struct sb__dial_opts d = { NULL, 0 };
	uint32_t pfam;
	char what[1300];
	int ret = -1;

	sb__dial_eai = 0;
	if (!c)
		return sb__fail(EINVAL, "no client");
	if (!host || !*host || !port || !*port)
		return sb__fail(EINVAL, "sb_tcp_connect needs a host and a port");
	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return sb__fail(EAFNOSUPPORT, "family must be AF_UNSPEC, AF_INET or AF_INET6");
	if (sb__dial_str(req.host, sizeof(req.host), host, "host") < 0 ||
	    sb__dial_str(req.service, sizeof(req.service), port, "port") < 0 ||
	    sb__dial_str(req.local_host, sizeof(req.local_host), local_host, "local_host") < 0 ||
	    sb__dial_str(req.local_service, sizeof(req.local_service), local_port,
			 "local_port") < 0 ||
	    sb__portable(SB__C_AF, family, &pfam) < 0)
		return -1;
	req.family = (sockbroker_v1_AddressFamily)pfam;
	if (timeout_ms > 0) {
		req.connect_timeout_ms = (uint32_t)timeout_ms;
		req.resolve_timeout_ms = (uint32_t)timeout_ms;
	}
	if (sb__dial_opts(opts, n_opts, &d) < 0)
		goto out;
	req.options.funcs.encode = sb__enc_opts;
	req.options.arg = &d;
	snprintf(what, sizeof(what), "%s, %s", host, port);
	ret = sb__dial(c, &req, 0, what);
out:
	free(d.o);
	return ret;
}

int sb_tcp_connect(sb_client *c, const char *host, const char *port,
		   const char *local_host, const char *local_port, int timeout_ms)
{
	return sb_tcp_connect_opts(c, host, port, AF_UNSPEC, local_host, local_port,
				   timeout_ms, NULL, 0);
}

int sb_unix_connect(sb_client *c, const char *path)
{
	sockbroker_v1_DialRequest req = sockbroker_v1_DialRequest_init_zero;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t n;
	int rc;

	sb__dial_eai = 0;
	if (!c)
		return sb__fail(EINVAL, "no client");
	if (!path || !*path)
		return sb__fail(EINVAL, "sb_unix_connect needs a path");
	n = strlen(path);
	/* As the kernel: a path may fill sun_path (no NUL), and so may
	 * "@" and an abstract name of 107 bytes. */
	if (n > sizeof(sun.sun_path))
		return sb__fail(ENAMETOOLONG, "Unix path longer than %zu bytes",
				sizeof(sun.sun_path));
	/* "@name": the abstract namespace, as ss(8) and systemd write it. */
	memcpy(sun.sun_path, path, n);
	if (path[0] == '@')
		sun.sun_path[0] = 0;
	rc = sb__pb_from_sockaddr(&req.address, (struct sockaddr *)&sun,
				  (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
					      (path[0] != '@' && n < sizeof(sun.sun_path))));
	if (rc < 0)
		return sb__fail(-rc, "bad Unix address %s", path);
	req.has_address = true;
	return sb__dial(c, &req, AF_UNIX, path);
}
