/* SPDX-License-Identifier: MIT
 * rpc.c - the gRPC server on the completion-queue API: method registration,
 * CQ threads, call life cycle, decoding requests and making every reply and
 * status the broker sends.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_posix.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>

#include "clock.h"
#include "config.h"
#include "consts.h"
#include "guard.h"
#include "log.h"
#include "methods.h"
#include "rpc.h"
#include "session.h"
#include "stats.h"
#include "tsan.h"

/* One completion-queue thread: handlers never block (waits go to the
 * reactor, name lookups to the pool), and a second thread only added
 * hand-offs between threads (tests/bench: GetSockName p50 1.1-1.4x a bare
 * gRPC echo with two, 1.0-1.1x with one; Pipe pull 610 -> 970 MB/s). */
#define SB__CQ_THREADS 1

static grpc_server *sb__srv;
static grpc_completion_queue *sb__cq;
static pthread_t sb__cq_threads[SB__CQ_THREADS];
static struct sb__method sb__unregistered = { .path = NULL };
static struct sb__tag sb__shutdown_tag = { SB__TAG_SHUTDOWN, NULL };

int64_t sb__call_deadline_ms(const struct sb__call *call)
{
	gpr_timespec d = gpr_convert_clock_type(call->deadline, GPR_CLOCK_MONOTONIC);
	gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);
	int64_t left;

	if (gpr_time_cmp(call->deadline, gpr_inf_future(call->deadline.clock_type)) == 0)
		return INT64_MAX;
	/* A client may send any far deadline: saturate, never wrap. */
	if (d.tv_sec - now.tv_sec >= INT64_MAX / 2000)
		return INT64_MAX;
	left = (int64_t)(d.tv_sec - now.tv_sec) * 1000 +
	       (d.tv_nsec - now.tv_nsec) / 1000000;
	return sb__ms_add(sb__now_ms(), left);
}

const char *sb__call_metadata(const struct sb__call *call, const char *key,
			      size_t *len)
{
	size_t i, klen = strlen(key);

	for (i = 0; i < call->md.count; i++) {
		const grpc_metadata *m = &call->md.metadata[i];

		if (GRPC_SLICE_LENGTH(m->key) == klen &&
		    !memcmp(GRPC_SLICE_START_PTR(m->key), key, klen)) {
			*len = GRPC_SLICE_LENGTH(m->value);
			return (const char *)GRPC_SLICE_START_PTR(m->value);
		}
	}
	return NULL;
}

static void sb__call_free(struct sb__call *c)
{
	if (c->ctx && c->ctx_free)
		c->ctx_free(c->ctx);
	if (c->request)
		protobuf_c_message_free_unpacked(c->request, NULL);
	if (c->payload)
		grpc_byte_buffer_destroy(c->payload);
	if (c->reply)
		grpc_byte_buffer_destroy(c->reply);
	if (c->stream_out)
		grpc_byte_buffer_destroy(c->stream_out);
	if (c->stream_in)
		grpc_byte_buffer_destroy(c->stream_in);
	grpc_slice_unref(c->status_details);
	grpc_metadata_array_destroy(&c->md);
	if (c->method == &sb__unregistered)
		grpc_call_details_destroy(&c->details);
	if (c->session)
		sb__session_unref(c->session);
	sb__conn_call_end(&c->conn);
	if (c->call)
		grpc_call_unref(c->call);
	pthread_mutex_destroy(&c->lock);
	pthread_mutex_destroy(&c->batch_lock);
	free(c);
}

void sb__call_ref(struct sb__call *c)
{
	atomic_fetch_add(&c->refs, 1);
}

void sb__call_unref(struct sb__call *c)
{
	if (atomic_fetch_sub(&c->refs, 1) == 1)
		sb__call_free(c);
}

static struct sb__call *sb__call_new(const struct sb__method *m)
{
	struct sb__call *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->method = m;
	c->tag_new = (struct sb__tag){ SB__TAG_NEW, c };
	c->tag_close = (struct sb__tag){ SB__TAG_CLOSE, c };
	c->tag_done = (struct sb__tag){ SB__TAG_DONE, c };
	c->tag_sent = (struct sb__tag){ SB__TAG_SENT, c };
	c->tag_recv = (struct sb__tag){ SB__TAG_RECV, c };
	c->status_details = grpc_empty_slice();
	grpc_metadata_array_init(&c->md);
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->batch_lock, NULL);
	atomic_init(&c->refs, 1);
	c->conn.fd = -1;
	return c;
}

struct sb__call *sb__call_carried(const char *path, const struct sb__carrier *k, void *arg,
				  struct sb__session *s, const struct sb__identity *id)
{
	const struct sb__method *m;
	struct sb__call *c;

	for (m = sb__methods; m->path; m++)
		if (!strcmp(m->path, path))
			break;
	if (!m->path)
		return NULL;
	c = sb__call_new(m);
	if (!c)
		return NULL;
	c->started_us = sb__now_us();
	c->deadline = gpr_inf_future(GPR_CLOCK_MONOTONIC);
	c->carrier = k;
	c->carrier_arg = arg;
	c->ident = *id;
	sb__session_ref(s);
	c->session = s;
	return c;
}

/* Ask gRPC for the next call of method @m (NULL: unregistered methods). */
static void sb__request(const struct sb__method *m)
{
	struct sb__call *c = sb__call_new(m ? m : &sb__unregistered);
	grpc_call_error e;

	if (!c)
		sb__die("out of memory posting a call");
	SB__HB_RELEASE(&c->tag_new); /* to the completion queue thread, through gRPC */
	if (m) {
		e = grpc_server_request_registered_call(
			sb__srv, m->registered, &c->call, &c->deadline, &c->md,
			m->kind == SB__BIDI_STREAM ? NULL : &c->payload,
			sb__cq, sb__cq, &c->tag_new);
	} else {
		grpc_call_details_init(&c->details);
		e = grpc_server_request_call(sb__srv, &c->call, &c->details,
					     &c->md, sb__cq, sb__cq, &c->tag_new);
	}
	if (e != GRPC_CALL_OK)
		sb__die("cannot post a call request: %d", e);
}

/* gRPC wants the batches of one call started one at a time. */
/* Batches may start only while the queue is open: at shutdown, calls that
 * end late (a stream's next send, a reactor wake-up) must not reach a
 * queue that is already shut down. */
static pthread_rwlock_t sb__cq_gate = PTHREAD_RWLOCK_INITIALIZER;
static int sb__cq_closed;

static grpc_call_error sb__batch(grpc_call *call, const grpc_op *ops, size_t n,
				 void *tag, void *reserved)
{
	struct sb__call *c = ((struct sb__tag *)tag)->call;
	grpc_call_error e = GRPC_CALL_ERROR_ALREADY_FINISHED;

	/* The batch may complete, and the completion queue thread drop the
	 * last reference, before grpc_call_start_batch() returns: hold one
	 * until batch_lock is unlocked. */
	sb__call_ref(c);
	pthread_rwlock_rdlock(&sb__cq_gate);
	if (!sb__cq_closed) {
		pthread_mutex_lock(&c->batch_lock);
		/* What this thread wrote is seen by the one that takes the
		 * tag off the queue (through gRPC). */
		SB__HB_RELEASE(tag);
		e = grpc_call_start_batch(call, ops, n, tag, reserved);
		pthread_mutex_unlock(&c->batch_lock);
	}
	pthread_rwlock_unlock(&sb__cq_gate);
	sb__call_unref(c);
	return e;
}

static grpc_byte_buffer *sb__pack(const ProtobufCMessage *msg)
{
	size_t n = protobuf_c_message_get_packed_size(msg);
	grpc_slice s = grpc_slice_malloc(n);
	grpc_byte_buffer *bb;

	protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
	bb = grpc_raw_byte_buffer_create(&s, 1);
	grpc_slice_unref(s);
	return bb;
}

static void sb__finish(struct sb__call *c, grpc_status_code code, int err,
		       const char *details, const ProtobufCMessage *msg)
{
	grpc_op ops[3];
	size_t n = 0;
	grpc_call_error e;

	if (atomic_exchange(&c->finished, 1)) {
		sb__err("call %s finished twice", c->method->path ? c->method->path : "?");
		return;
	}
	sb__stats_call(code == GRPC_STATUS_OK);
	if (c->method != &sb__unregistered)
		sb__stats_method_call((size_t)(c->method - sb__methods), code == GRPC_STATUS_OK,
				      (uint64_t)(sb__now_us() - c->started_us));
	/* A session call counts on its session's record: no lookup on the
	 * hot path. */
	if (c->session)
		sb__stats_id_call(c->session->idrec);
	else if (c->ident.known)
		sb__stats_id_call(sb__idrec_of(&c->ident));
	if (c->carrier) {
		c->carrier->finish(c, code, err, details, msg);
		sb__call_unref(c);
		return;
	}
	memset(ops, 0, sizeof(ops));
	pthread_mutex_lock(&c->lock);
	c->on_close = NULL;
	if (!c->md_sent) {
		ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
		n++;
		c->md_sent = 1;
	}
	pthread_mutex_unlock(&c->lock);
	if (msg) {
		c->reply = sb__pack(msg);
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n].data.send_message.send_message = c->reply;
		n++;
	}
	ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[n].data.send_status_from_server.status = code;
	if (details) {
		grpc_slice_unref(c->status_details);
		c->status_details = grpc_slice_from_copied_string(details);
		ops[n].data.send_status_from_server.status_details = &c->status_details;
	}
	if (err) {
		snprintf(c->errno_text, sizeof(c->errno_text), "%" PRIu32,
			 sb__errno_to_portable(err));
		c->trailing[0].key = grpc_slice_from_static_string("sb-errno");
		c->trailing[0].value = grpc_slice_from_static_string(c->errno_text);
		ops[n].data.send_status_from_server.trailing_metadata = c->trailing;
		ops[n].data.send_status_from_server.trailing_metadata_count = 1;
	}
	n++;
	e = sb__batch(c->call, ops, n, &c->tag_done, NULL);
	if (e != GRPC_CALL_OK) {
		sb__err("final batch refused (%d) on %s", e, c->method->path);
		sb__call_unref(c);
	}
}

void sb__call_reply(struct sb__call *c, const ProtobufCMessage *msg)
{
	sb__finish(c, GRPC_STATUS_OK, 0, NULL, msg);
}

void sb__call_finish_ok(struct sb__call *c)
{
	sb__finish(c, GRPC_STATUS_OK, 0, NULL, NULL);
}

void sb__call_fail(struct sb__call *c, grpc_status_code code, int err,
		   const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (code != GRPC_STATUS_CANCELLED)
		sb__debug("%s: %s", c->method->path ? c->method->path : "?", msg);
	sb__finish(c, code, err, msg, NULL);
}

int sb__call_on_close(struct sb__call *c, void (*fn)(struct sb__call *))
{
	int ret = 0;

	pthread_mutex_lock(&c->lock);
	if (c->closed && c->close_cancelled)
		ret = -ECANCELED;
	else
		c->on_close = fn;
	pthread_mutex_unlock(&c->lock);
	return ret;
}

int sb__call_send(struct sb__call *c, const ProtobufCMessage *msg,
		  sb__stream_fn on_sent)
{
	grpc_op ops[2];
	size_t n = 0;

	if (c->carrier || atomic_load(&c->finished) || atomic_load(&c->cancelled))
		return -EPIPE;
	memset(ops, 0, sizeof(ops));
	pthread_mutex_lock(&c->lock);
	if (!c->md_sent) {
		ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
		c->md_sent = 1;
	}
	pthread_mutex_unlock(&c->lock);
	if (c->stream_out)
		grpc_byte_buffer_destroy(c->stream_out);
	c->stream_out = sb__pack(msg);
	ops[n].op = GRPC_OP_SEND_MESSAGE;
	ops[n].data.send_message.send_message = c->stream_out;
	n++;
	c->on_sent = on_sent;
	sb__call_ref(c);
	if (sb__batch(c->call, ops, n, &c->tag_sent, NULL) != GRPC_CALL_OK) {
		sb__call_unref(c);
		return -EPIPE;
	}
	return 0;
}

int sb__call_recv(struct sb__call *c, sb__stream_fn on_recv)
{
	grpc_op op;

	if (c->carrier)
		return -EPIPE;
	memset(&op, 0, sizeof(op));
	if (c->stream_in) {
		grpc_byte_buffer_destroy(c->stream_in);
		c->stream_in = NULL;
	}
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &c->stream_in;
	c->on_recv = on_recv;
	sb__call_ref(c);
	if (sb__batch(c->call, &op, 1, &c->tag_recv, NULL) != GRPC_CALL_OK) {
		sb__call_unref(c);
		return -EPIPE;
	}
	return 0;
}

/* Unpack @bb as @desc. Return: the message, or NULL when malformed. */
static void *sb__unpack(const ProtobufCMessageDescriptor *desc,
			grpc_byte_buffer *bb)
{
	grpc_byte_buffer_reader r;
	grpc_slice s;
	void *msg;

	if (!grpc_byte_buffer_reader_init(&r, bb))
		return NULL;
	s = grpc_byte_buffer_reader_readall(&r);
	grpc_byte_buffer_reader_destroy(&r);
	msg = protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(s),
					GRPC_SLICE_START_PTR(s));
	grpc_slice_unref(s);
	return msg;
}

void *sb__call_unpack_in(struct sb__call *c,
			 const ProtobufCMessageDescriptor *desc, int *malformed)
{
	void *msg;

	*malformed = 0;
	if (!c->stream_in)
		return NULL;
	msg = sb__unpack(desc, c->stream_in);
	*malformed = msg == NULL;
	return msg;
}

static void sb__dispatch(struct sb__call *c)
{
	const struct sb__method *m = c->method;
	char *peer;
	const char *tok;
	size_t toklen;

	if (m == &sb__unregistered) {
		char path[256];
		size_t n = GRPC_SLICE_LENGTH(c->details.method);

		if (n >= sizeof(path))
			n = sizeof(path) - 1;
		memcpy(path, GRPC_SLICE_START_PTR(c->details.method), n);
		path[n] = 0;
		sb__call_fail(c, GRPC_STATUS_UNIMPLEMENTED, ENOSYS,
			      "method %s is not provided by sockbrokerd", path);
		return;
	}
	peer = grpc_call_get_peer(c->call);
	if (sb__conn_call_begin(peer, &c->ident, &c->conn) < 0 &&
	    sb__identity_of_tcp(c->call, &c->ident) < 0) {
		gpr_free(peer);
		sb__call_fail(c, GRPC_STATUS_UNAUTHENTICATED, EACCES,
			      "caller has no known identity");
		return;
	}
	gpr_free(peer);
	if (!sb__guard_serves(&c->ident)) {
		sb__stats_denied(&c->ident);
		if (!strcmp(c->ident.transport, "tcp"))
			sb__call_fail(c, GRPC_STATUS_PERMISSION_DENIED, EACCES,
				      "TCP caller with certificate subject \"%s\" is not "
				      "served by this broker's policy", c->ident.subject);
		else
			sb__call_fail(c, GRPC_STATUS_PERMISSION_DENIED, EACCES,
				      "uid %u is not served by this broker's policy",
				      (unsigned)c->ident.uid);
		return;
	}
	if (m->needs_session) {
		tok = sb__call_metadata(c, "sb-session", &toklen);
		if (!tok) {
			sb__call_fail(c, GRPC_STATUS_UNAUTHENTICATED, EACCES,
				      "no session: open one with OpenSession and send its "
				      "token as metadata sb-session");
			return;
		}
		c->session = sb__session_find(tok, toklen);
		/* A token is good only for the identity that opened the
		 * session: same uid for local callers, same certificate
		 * subject over TCP. */
		if (!c->session || c->session->ident.uid != c->ident.uid ||
		    strcmp(c->session->ident.transport, c->ident.transport) ||
		    strcmp(c->session->ident.subject, c->ident.subject)) {
			sb__call_fail(c, GRPC_STATUS_UNAUTHENTICATED, EACCES,
				      "unknown or ended session");
			return;
		}
	}
	if (m->request) {
		if (!c->payload) {
			sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
				      "missing request message");
			return;
		}
		c->request = sb__unpack(m->request, c->payload);
		if (!c->request) {
			sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
				      "malformed %s message", m->request->name);
			return;
		}
	}
	m->handler(c, c->request);
}

static void sb__on_new(struct sb__call *c, int ok)
{
	grpc_op op;

	if (!ok) {	/* server shutting down */
		sb__call_unref(c);
		return;
	}
	c->started_us = sb__now_us();
	sb__request(c->method == &sb__unregistered ? NULL : c->method);
	/* One ref for RECV_CLOSE_ON_SERVER, one for the final batch. */
	atomic_store(&c->refs, 2);
	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &c->close_cancelled;
	if (sb__batch(c->call, &op, 1, &c->tag_close, NULL) != GRPC_CALL_OK)
		sb__die("cannot watch a call for cancellation");
	sb__dispatch(c);
}

static void sb__on_close(struct sb__call *c)
{
	void (*fn)(struct sb__call *) = NULL;

	pthread_mutex_lock(&c->lock);
	c->closed = 1;
	if (c->close_cancelled) {
		atomic_store(&c->cancelled, 1);
		fn = c->on_close;
		c->on_close = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	if (fn)
		fn(c);
	sb__call_unref(c);
}

static void *sb__cq_thread(void *arg)
{
	(void)arg;
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(
			sb__cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
		struct sb__tag *t;
		struct sb__call *c;

		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		t = ev.tag;
		c = t->call;
		SB__HB_ACQUIRE(t);
		switch (t->kind) {
		case SB__TAG_SHUTDOWN:
			pthread_rwlock_wrlock(&sb__cq_gate);
			sb__cq_closed = 1;
			pthread_rwlock_unlock(&sb__cq_gate);
			grpc_completion_queue_shutdown(sb__cq);
			break;
		case SB__TAG_NEW:
			sb__on_new(c, ev.success);
			break;
		case SB__TAG_CLOSE:
			sb__on_close(c);
			break;
		case SB__TAG_DONE:
			sb__call_unref(c);
			break;
		case SB__TAG_SENT:
			if (c->on_sent)
				c->on_sent(c, ev.success);
			sb__call_unref(c);
			break;
		case SB__TAG_RECV:
			if (c->on_recv)
				c->on_recv(c, ev.success);
			sb__call_unref(c);
			break;
		}
	}
	return NULL;
}

/* A whole PEM file, or NULL (logged). Free with gpr_free. */
static char *sb__read_pem(const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		sb__err("%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0) {
		long n = ftell(f);

		if (n > 0 && n < (1L << 20) && fseek(f, 0, SEEK_SET) == 0) {
			buf = gpr_malloc((size_t)n + 1);
			len = fread(buf, 1, (size_t)n, f);
			buf[len] = 0;
		}
	}
	fclose(f);
	if (!buf || !len) {
		sb__err("%s: cannot read it", path);
		gpr_free(buf);
		return NULL;
	}
	return buf;
}

/* The PEM files of the TLS listeners, read before confinement (a
 * confine.user may not read the key), freed once gRPC has them. */
static struct {
	char *ca, *key, *cert;
} sb__pem[SB__MAX_LISTENERS];

void sb__rpc_read_tls(const struct sb__config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->n_tcp_listen; i++) {
		const struct sb__tcp_listen_cfg *t = &cfg->tcp_listen[i];

		if (t->insecure)
			continue;
		sb__pem[i].ca = sb__read_pem(t->client_ca);
		sb__pem[i].key = sb__read_pem(t->key);
		sb__pem[i].cert = sb__read_pem(t->cert);
	}
}

/* TCP listener @i: mutual TLS (the client certificate names the caller),
 * or plaintext on loopback when the config says insecure. */
static int sb__add_tcp(const struct sb__tcp_listen_cfg *t, size_t i)
{
	grpc_server_credentials *cr = NULL;
	grpc_ssl_pem_key_cert_pair pair = { sb__pem[i].key, sb__pem[i].cert };
	int port = 0, host_len;

	if (t->insecure) {
		cr = grpc_insecure_server_credentials_create();
	} else if (sb__pem[i].ca && pair.private_key && pair.cert_chain) {
		cr = grpc_ssl_server_credentials_create_ex(
			sb__pem[i].ca, &pair, 1,
			GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY, NULL);
	}
	if (cr) {
		port = grpc_server_add_http2_port(sb__srv, t->text, cr);
		grpc_server_credentials_release(cr);
	}
	gpr_free(sb__pem[i].ca);
	gpr_free(sb__pem[i].key);
	gpr_free(sb__pem[i].cert);
	memset(&sb__pem[i], 0, sizeof(sb__pem[i]));
	if (port <= 0) {
		sb__err("cannot listen on tcp %s%s", t->text,
			cr ? "" : " (TLS files unusable)");
		return -EADDRNOTAVAIL;
	}
	/* Port 0 in the config asks for any free port: say which one came,
	 * so that a supervisor (or a test) can read it from the log. */
	host_len = (int)(strrchr(t->text, ':') - t->text);
	sb__info("listening on tcp %.*s:%d (%s); clients: SOCKBROKER_ADDR=%.*s:%d",
		 host_len, t->text, port,
		 t->insecure ? "plaintext, loopback only" : "mutual TLS",
		 host_len, t->text, port);
	return 0;
}

int sb__rpc_start(const struct sb__config *cfg)
{
	grpc_arg args[4];
	grpc_channel_args ch;
	struct sb__method *m;
	int i;

	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[0].value.integer = (int)cfg->limits.max_message_bytes;
	args[1].type = GRPC_ARG_INTEGER;
	args[1].key = (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
	args[1].value.integer = -1;
	args[2].type = GRPC_ARG_INTEGER;
	args[2].key = (char *)GRPC_ARG_MAX_CONCURRENT_STREAMS;
	args[2].value.integer = 4096;
	/* TCP connections are gRPC's to accept: its idle limit is the one
	 * that applies to them (local ones are swept by listener.c too, also
	 * before they speak HTTP/2). */
	args[3].type = GRPC_ARG_INTEGER;
	args[3].key = (char *)GRPC_ARG_MAX_CONNECTION_IDLE_MS;
	args[3].value.integer = (int)cfg->limits.idle_connection_ms;
	ch.num_args = 4;
	ch.args = args;

	grpc_init();
	sb__cq = grpc_completion_queue_create_for_next(NULL);
	sb__srv = grpc_server_create(&ch, NULL);
	grpc_server_register_completion_queue(sb__srv, sb__cq, NULL);
	for (m = sb__methods; m->path; m++) {
		/* Every method has its latency histogram (stats.h). */
		if (m - sb__methods >= SB__STATS_METHODS)
			return -E2BIG;
		m->registered = grpc_server_register_method(
			sb__srv, m->path, NULL,
			m->kind == SB__BIDI_STREAM ? GRPC_SRM_PAYLOAD_NONE
						   : GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER,
			0);
		if (!m->registered)
			return -EINVAL;
	}
	for (i = 0; i < (int)cfg->n_tcp_listen; i++)
		if (sb__add_tcp(&cfg->tcp_listen[i], (size_t)i) < 0)
			return -EADDRNOTAVAIL;
	grpc_server_start(sb__srv);
	for (m = sb__methods; m->path; m++)
		sb__request(m);
	sb__request(NULL);
	for (i = 0; i < SB__CQ_THREADS; i++)
		if (pthread_create(&sb__cq_threads[i], NULL, sb__cq_thread, NULL))
			return -EAGAIN;
	return 0;
}

void sb__rpc_add_fd(int fd)
{
	grpc_server_credentials *cr = grpc_insecure_server_credentials_create();

	grpc_server_add_channel_from_fd(sb__srv, fd, cr);
	grpc_server_credentials_release(cr);
}

void sb__rpc_stop(void)
{
	int i;

	grpc_server_shutdown_and_notify(sb__srv, sb__cq, &sb__shutdown_tag);
	grpc_server_cancel_all_calls(sb__srv);
	for (i = 0; i < SB__CQ_THREADS; i++)
		pthread_join(sb__cq_threads[i], NULL);
	grpc_server_destroy(sb__srv);
	grpc_completion_queue_destroy(sb__cq);
	/* No grpc_shutdown(): it joins gRPC's executor threads, which can
	 * sit in a 10 s poll after a client stopped reading; the process
	 * is about to exit anyway. */
}
