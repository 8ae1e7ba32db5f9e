/* SPDX-License-Identifier: MIT
 * stream.h - streaming calls of the client (stream.c): server streams for
 * the loops and the interface watch, the bidirectional Pipe.
 *
 * Rules: one read and one write may be pending on a stream at once. A
 * stream with its own queue (cq NULL at open) waits with pluck; streams
 * sharing a caller's queue are driven by sb__stream_next() on that queue,
 * and the caller must drain them (sb__stream_pending() false) before
 * sb__stream_free().
 */
#ifndef SB_CLIENT_STREAM_H
#define SB_CLIENT_STREAM_H

#include "call.h"

struct sb__stream {
	sb_client *c;
	grpc_call *call;
	grpc_completion_queue *cq;
	int own_cq;
	grpc_metadata_array init_md, trailing;
	grpc_status_code status;
	grpc_slice details;
	grpc_byte_buffer *in;          /* the message just read, or NULL: end */
	grpc_byte_buffer *first_out;   /* the message being sent, until sent */
	int reading, writing, status_pending;
	int md_asked;                  /* initial metadata asked for */
	int write_ok;                  /* the last write went out */
	int ended;                     /* the status came */
	void *user;                    /* for the caller (a loop's socket) */
};

/** The kind of event sb__stream_next() handled. */
enum sb__sev { SB__SEV_TIMEOUT, SB__SEV_READ, SB__SEV_WRITE, SB__SEV_STATUS };

/** sb__stream_open() - start @method with @req (a server stream, or a
 *  bidirectional one when @bidi), on @cq or a queue of its own (NULL).
 *  Return: 0 or -errno (@st then needs no free). */
int sb__stream_open(struct sb__stream *st, sb_client *c, const char *method,
		    int bidi, const pb_msgdesc_t *fields, const void *req,
		    grpc_completion_queue *cq);

/** sb__stream_read() - the next message, on a stream with its own queue.
 *  Return: 1 (decoded into @msg), 0 (the stream ended: see
 *  sb__stream_finish), or -errno. */
int sb__stream_read(struct sb__stream *st, const pb_msgdesc_t *fields, void *msg);

/** sb__stream_read_until() - sb__stream_read() waiting at most
 *  @timeout_ms. Return: as sb__stream_read(), -ETIMEDOUT (the read stays
 *  pending). */
int sb__stream_read_until(struct sb__stream *st, const pb_msgdesc_t *fields,
			  void *msg, int64_t timeout_ms);

/** sb__stream_read_start() - post a read (shared queues). Return: 0/-EIO. */
int sb__stream_read_start(struct sb__stream *st);
/** sb__stream_decode() - decode the message a read got. Return: 1, 0 (the
 *  stream ended), -1 (malformed). */
int sb__stream_decode(struct sb__stream *st, const pb_msgdesc_t *fields, void *msg);
/** sb__stream_next() - one event of shared queue @cq; *@st says whose. */
enum sb__sev sb__stream_next(grpc_completion_queue *cq, struct sb__stream **st,
			     int64_t timeout_ms);

/** sb__stream_write() - send @msg (NULL @fields: none), with the end of
 *  the client's side when @last; waits for the previous write first.
 *  Return: 0 or -errno (-EPIPE: the stream is gone). */
int sb__stream_write(struct sb__stream *st, const pb_msgdesc_t *fields,
		     const void *msg, int last);

/** sb__stream_finish() - wait for the status (own queue). Return: 0 (OK)
 *  or -errno from sb-errno / the status, with sb_last_error set. */
int sb__stream_finish(struct sb__stream *st);
/** sb__stream_finish_within() - sb__stream_finish() waiting at most
 *  @timeout_ms: gRPC gives the status only after every message before it
 *  was read. Return: as sb__stream_finish, or -ETIMEDOUT. */
int sb__stream_finish_within(struct sb__stream *st, int64_t timeout_ms);
/** sb__stream_error() - the same, without waiting. */
int sb__stream_error(struct sb__stream *st);
/** sb__stream_cancel() - cancel the call; its events still come. */
void sb__stream_cancel(struct sb__stream *st);
/** sb__stream_pending() - 1 while an operation is pending. */
int sb__stream_pending(const struct sb__stream *st);
/** sb__stream_free() - cancel, drain (own queue) and release. */
void sb__stream_free(struct sb__stream *st);

#endif /* SB_CLIENT_STREAM_H */
