/* SPDX-License-Identifier: MIT
 * rpc.h - the gRPC boundary: the server, its completion-queue threads, the
 * life of one call, and the only place where replies and status codes are
 * made.
 *
 * Life of a call (struct sb__call):
 *  1. A CQ thread gets the new call with its request payload, re-posts the
 *     request for the method, starts RECV_CLOSE_ON_SERVER and runs the
 *     method's handler.
 *  2. The handler, or whoever it handed the call to (reactor, resolver
 *     pool), finishes it exactly once with sb__call_reply() or
 *     sb__call_fail(); streams send messages with sb__call_send() first.
 *  3. The call is freed when both the final batch and RECV_CLOSE_ON_SERVER
 *     have completed (two references), whatever order they come in.
 */
#ifndef SB_SERVER_RPC_H
#define SB_SERVER_RPC_H

#include <stdatomic.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "identity.h"

struct sb__call;
struct sb__session;
struct sb__config;

typedef void (*sb__handler_fn)(struct sb__call *call, void *request);

enum sb__method_kind {
	SB__UNARY,         /* one request, one reply */
	SB__SERVER_STREAM, /* one request, a stream of replies */
	SB__BIDI_STREAM,   /* no request payload read up front */
};

/* One entry of the method table (server/methods.c). */
struct sb__method {
	const char *path;                          /* "/pkg.Service/Method" */
	enum sb__method_kind kind;
	int needs_session;                         /* sb-session required */
	const ProtobufCMessageDescriptor *request; /* NULL for BIDI */
	sb__handler_fn handler;
	void *registered;                          /* grpc handle */
};

enum sb__tag_kind {
	SB__TAG_NEW, SB__TAG_CLOSE, SB__TAG_DONE, SB__TAG_SENT, SB__TAG_RECV,
	SB__TAG_SHUTDOWN
};

struct sb__tag {
	enum sb__tag_kind kind;
	struct sb__call *call;
};

/* Hook for streams: called on a CQ thread when a send or receive batch
 * completes (ok = batch success). */
typedef void (*sb__stream_fn)(struct sb__call *call, int ok);

struct sb__call {
	grpc_call *call;
	const struct sb__method *method;     /* NULL: unregistered method */
	gpr_timespec deadline;
	int64_t started_us;                  /* taken (sb__now_us()), for latency */
	grpc_call_details details;           /* unregistered calls only */
	grpc_metadata_array md;              /* request metadata */
	grpc_byte_buffer *payload;           /* request, owned */
	void *request;                       /* unpacked request, owned */
	struct sb__identity ident;
	struct sb__conn_ref conn;            /* the local connection it came on */
	struct sb__session *session;         /* ref held when set */
	atomic_int refs;
	atomic_int finished;                 /* final batch started */
	atomic_int cancelled;                /* client went away */
	int close_cancelled;                 /* RECV_CLOSE_ON_SERVER result */
	struct sb__tag tag_new, tag_close, tag_done, tag_sent, tag_recv;
	/* final batch storage */
	grpc_metadata trailing[1];
	char errno_text[16];
	grpc_slice status_details;
	grpc_byte_buffer *reply;
	/* stream storage */
	grpc_byte_buffer *stream_out;
	grpc_byte_buffer *stream_in;
	sb__stream_fn on_sent, on_recv;
	void *ctx;                           /* owned by the handler */
	void (*ctx_free)(void *ctx);
	/* what to do when the client goes away (cancel, crash, deadline) */
	pthread_mutex_t lock;
	pthread_mutex_t batch_lock;          /* serialises grpc_call_start_batch */
	struct sb__waiter *parked[2];        /* reactor thread only */
	int closed;                          /* RECV_CLOSE_ON_SERVER came */
	int md_sent;                         /* initial metadata sent */
	void (*on_close)(struct sb__call *call);
	/* a call that came on a dial channel, not gRPC (sb__call_carried) */
	const struct sb__carrier *carrier;
	void *carrier_arg;
};

/**
 * struct sb__carrier - how a call that did not come over gRPC is answered
 * @finish: send the outcome (what sb__call_reply/sb__call_fail were given:
 *          @msg NULL on failure) to the caller; runs once, on the thread
 *          that finishes the call. The call is unreferenced after it.
 */
struct sb__carrier {
	void (*finish)(struct sb__call *call, grpc_status_code code, int err,
		       const char *details, const ProtobufCMessage *msg);
};

/**
 * sb__rpc_read_tls() - read the PEM files of @cfg's TLS listeners, while
 * the broker still may (before isolation.c confines it); a file that
 * cannot be read is logged and makes sb__rpc_start() fail. Start-up only.
 */
void sb__rpc_read_tls(const struct sb__config *cfg);

/**
 * sb__rpc_start() - create the server, register methods, start CQ threads
 * @cfg: configuration (max message size); read only during the call
 * Return: 0 or -errno. Start-up only.
 */
int sb__rpc_start(const struct sb__config *cfg);

/** sb__rpc_add_fd() - hand an accepted connection (O_NONBLOCK), already
 *  recorded with sb__conn_admit(), to gRPC. Ownership of @fd passes to
 *  gRPC. */
void sb__rpc_add_fd(int fd);

/** sb__rpc_stop() - shut the server down, cancel all calls, join threads. */
void sb__rpc_stop(void);

/**
 * sb__call_reply() - finish the call with OK and a reply message
 * @msg: packed here; still owned by the caller afterwards
 * Thread-safe; exactly one of sb__call_reply/sb__call_fail per call.
 */
void sb__call_reply(struct sb__call *call, const ProtobufCMessage *msg);

/**
 * sb__call_fail() - finish the call with a non-OK status
 * @code:  the gRPC status
 * @err:   native errno the client should report (0: by status code)
 * @fmt:   the status message: what and why
 */
void sb__call_fail(struct sb__call *call, grpc_status_code code, int err,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/** sb__call_finish_ok() - end a stream with OK and no message. */
void sb__call_finish_ok(struct sb__call *call);

/**
 * sb__call_send() - send one stream message; @on_sent runs when it left
 * Return: 0, or -EPIPE when the call is finished or cancelled.
 * At most one send may be outstanding (gRPC's rule, our backpressure).
 */
int sb__call_send(struct sb__call *call, const ProtobufCMessage *msg,
		  sb__stream_fn on_sent);

/** sb__call_recv() - receive one stream message into call->stream_in. */
int sb__call_recv(struct sb__call *call, sb__stream_fn on_recv);

/**
 * sb__call_on_close() - run @fn (on a CQ thread) when the client goes away
 * before the call is finished. Replaces an earlier hook; NULL removes it.
 * Return: 0, or -ECANCELED when the client is already gone (@fn not set).
 */
int sb__call_on_close(struct sb__call *call, void (*fn)(struct sb__call *));

/** sb__call_unpack_in() - unpack the stream message last received
 *  (call->stream_in) as @desc. Return: the message (free it with
 *  protobuf_c_message_free_unpacked), or NULL when there is none or it is
 *  malformed (*@malformed set to 1 then). */
void *sb__call_unpack_in(struct sb__call *call,
			 const ProtobufCMessageDescriptor *desc, int *malformed);

/**
 * sb__call_carried() - a call of method @path that came on carrier @k
 * (@arg its own), for @s (ref taken) by @id: it has no deadline, no
 * metadata and no stream, is counted and timed as a call of @path, and
 * is finished by the handler like any other, through @k->finish.
 * Return: the call (one ref, the final one), or NULL (no memory, unknown
 * method).
 */
struct sb__call *sb__call_carried(const char *path, const struct sb__carrier *k, void *arg,
				  struct sb__session *s, const struct sb__identity *id);

/** sb__call_ref() / sb__call_unref() - keep a call alive across threads. */
void sb__call_ref(struct sb__call *call);
void sb__call_unref(struct sb__call *call);

/** sb__call_deadline_ms() - monotonic ms of the call's deadline, or
 *  INT64_MAX when it has none. */
int64_t sb__call_deadline_ms(const struct sb__call *call);


/** sb__call_metadata() - value of request metadata @key, or NULL.
 *  @len set to its length. Valid for the life of the call. */
const char *sb__call_metadata(const struct sb__call *call, const char *key,
			      size_t *len);

#endif /* SB_SERVER_RPC_H */
