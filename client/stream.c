/* SPDX-License-Identifier: MIT
 * stream.c - streaming calls: open a server or bidirectional stream, read
 * its messages one at a time (several streams may share one completion
 * queue, for loops over many sockets), write to it, and end it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/support/time.h>
#include <pb_decode.h>
#include <pb_encode.h>

#include "stream.h"

/* Tags: the stream itself for a read, these bits for the other ops. */
#define SB__TAG_STATUS 1u
#define SB__TAG_WRITE 2u

static void *sb__tag(struct sb__stream *st, uintptr_t bits)
{
	return (void *)((uintptr_t)st | bits);
}

int sb__stream_open(struct sb__stream *st, sb_client *c, const char *method,
		    int bidi, const pb_msgdesc_t *fields, const void *req,
		    grpc_completion_queue *cq)
{
	grpc_metadata md;
	grpc_op ops[4];
	grpc_byte_buffer *out;
	size_t n = 0;

	memset(st, 0, sizeof(*st));
	st->c = c;
	st->own_cq = !cq;
	st->cq = cq ? cq : grpc_completion_queue_create_for_pluck(NULL);
	st->details = grpc_empty_slice();
	grpc_metadata_array_init(&st->init_md);
	grpc_metadata_array_init(&st->trailing);
	out = sb__encode(fields, req);
	if (!out) {
		sb__stream_free(st);
		return sb__fail(EINVAL, "cannot encode the request"), -EINVAL;
	}
	st->call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS,
					    st->cq, grpc_slice_from_static_string(method),
					    NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	memset(&md, 0, sizeof(md));
	md.key = grpc_slice_from_static_string("sb-session");
	md.value = grpc_slice_from_static_string(c->token);
	memset(ops, 0, sizeof(ops));
	ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[n].data.send_initial_metadata.count = 1;
	ops[n++].data.send_initial_metadata.metadata = &md;
	ops[n].op = GRPC_OP_SEND_MESSAGE;
	ops[n++].data.send_message.send_message = out;
	if (!bidi)
		ops[n++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	/* The first batch's completion is the write tag: a first write may
	 * not start before it is done. */
	if (grpc_call_start_batch(st->call, ops, n, sb__tag(st, SB__TAG_WRITE), NULL) !=
	    GRPC_CALL_OK) {
		grpc_byte_buffer_destroy(out);
		sb__stream_free(st);
		return sb__fail(EIO, "cannot start the stream"), -EIO;
	}
	st->writing = 1;
	st->first_out = out;
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[0].data.recv_status_on_client.trailing_metadata = &st->trailing;
	ops[0].data.recv_status_on_client.status = &st->status;
	ops[0].data.recv_status_on_client.status_details = &st->details;
	if (grpc_call_start_batch(st->call, ops, 1, sb__tag(st, SB__TAG_STATUS), NULL) !=
	    GRPC_CALL_OK) {
		grpc_call_cancel(st->call, NULL);
		sb__stream_free(st);
		return sb__fail(EIO, "cannot start the stream"), -EIO;
	}
	st->status_pending = 1;
	return 0;
}

int sb__stream_read_start(struct sb__stream *st)
{
	grpc_op ops[2];
	size_t n = 0;

	if (st->reading)
		return 0;
	memset(ops, 0, sizeof(ops));
	/* The broker's initial metadata comes with its first message: ask
	 * for it with the first read, so that writes never wait for it. */
	if (!st->md_asked) {
		ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
		ops[n++].data.recv_initial_metadata.recv_initial_metadata = &st->init_md;
	}
	ops[n].op = GRPC_OP_RECV_MESSAGE;
	ops[n++].data.recv_message.recv_message = &st->in;
	if (grpc_call_start_batch(st->call, ops, n, st, NULL) != GRPC_CALL_OK)
		return -EIO;
	st->md_asked = 1;
	st->reading = 1;
	return 0;
}

/* Handle one event of @st's queue. Return: the kind done. */
static enum sb__sev sb__stream_event(struct sb__stream **out, grpc_event ev)
{
	uintptr_t t = (uintptr_t)ev.tag;
	struct sb__stream *st = (struct sb__stream *)(t & ~(uintptr_t)3);

	*out = st;
	switch (t & 3) {
	case SB__TAG_STATUS:
		st->status_pending = 0;
		st->ended = 1;
		return SB__SEV_STATUS;
	case SB__TAG_WRITE:
		st->writing = 0;
		st->write_ok = ev.success;
		if (st->first_out) {
			grpc_byte_buffer_destroy(st->first_out);
			st->first_out = NULL;
		}
		return SB__SEV_WRITE;
	default:
		st->reading = 0;
		return SB__SEV_READ;
	}
}

enum sb__sev sb__stream_next(grpc_completion_queue *cq, struct sb__stream **st,
			     int64_t timeout_ms)
{
	gpr_timespec dl = timeout_ms < 0 ? gpr_inf_future(GPR_CLOCK_REALTIME) :
		gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
			     gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
	grpc_event ev = grpc_completion_queue_next(cq, dl, NULL);

	if (ev.type != GRPC_OP_COMPLETE)
		return SB__SEV_TIMEOUT;
	return sb__stream_event(st, ev);
}

/* Wait (pluck) for @tag on @st's own queue, until @dl. */
static enum sb__sev sb__stream_pluck_until(struct sb__stream *st, void *tag,
					   gpr_timespec dl)
{
	grpc_event ev = grpc_completion_queue_pluck(st->cq, tag, dl, NULL);
	struct sb__stream *dummy;

	if (ev.type != GRPC_OP_COMPLETE)
		return SB__SEV_TIMEOUT;
	return sb__stream_event(&dummy, ev);
}

static enum sb__sev sb__stream_pluck(struct sb__stream *st, void *tag)
{
	return sb__stream_pluck_until(st, tag, gpr_inf_future(GPR_CLOCK_REALTIME));
}

int sb__stream_read_until(struct sb__stream *st, const pb_msgdesc_t *fields,
			  void *msg, int64_t timeout_ms)
{
	gpr_timespec dl = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
				       gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));

	if (sb__stream_read_start(st) < 0)
		return -EIO;
	if (sb__stream_pluck_until(st, st, dl) != SB__SEV_READ)
		return -ETIMEDOUT;
	if (!st->in)
		return 0;
	return sb__stream_decode(st, fields, msg) < 0 ? -EPROTO : 1;
}

int sb__stream_decode(struct sb__stream *st, const pb_msgdesc_t *fields, void *msg)
{
	int ok;

	if (!st->in)
		return 0;
	ok = sb__decode(st->in, fields, msg);
	grpc_byte_buffer_destroy(st->in);
	st->in = NULL;
	return ok ? 1 : -1;
}

int sb__stream_read(struct sb__stream *st, const pb_msgdesc_t *fields, void *msg)
{
	if (sb__stream_read_start(st) < 0)
		return sb__stream_error(st);
	if (sb__stream_pluck(st, st) != SB__SEV_READ)
		return -EIO;
	if (!st->in)
		return 0;
	return sb__stream_decode(st, fields, msg) < 0 ? -EPROTO : 1;
}

int sb__stream_write(struct sb__stream *st, const pb_msgdesc_t *fields,
		     const void *msg, int last)
{
	grpc_op ops[2];
	grpc_byte_buffer *out;
	size_t n = 0;

	/* One write in flight: wait for the previous one (backpressure). */
	if (st->writing && sb__stream_pluck(st, sb__tag(st, SB__TAG_WRITE)) != SB__SEV_WRITE)
		return -EIO;
	if (!st->write_ok)
		return -EPIPE;
	out = fields ? sb__encode(fields, msg) : NULL;
	if (fields && !out)
		return -EINVAL;
	memset(ops, 0, sizeof(ops));
	if (out) {
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n++].data.send_message.send_message = out;
	}
	if (last)
		ops[n++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	if (grpc_call_start_batch(st->call, ops, n, sb__tag(st, SB__TAG_WRITE), NULL) !=
	    GRPC_CALL_OK) {
		if (out)
			grpc_byte_buffer_destroy(out);
		return -EIO;
	}
	st->writing = 1;
	st->first_out = out; /* freed when the write completes */
	return 0;
}

int sb__stream_error(struct sb__stream *st)
{
	if (st->status_pending)
		return -EIO;
	if (st->status == GRPC_STATUS_OK)
		return 0;
	return -sb__session_lost(st->c, sb__call_errno(st->status, &st->trailing,
						      &st->details, "stream"));
}

int sb__stream_finish(struct sb__stream *st)
{
	if (st->status_pending && st->own_cq)
		sb__stream_pluck(st, sb__tag(st, SB__TAG_STATUS));
	return sb__stream_error(st);
}

int sb__stream_finish_within(struct sb__stream *st, int64_t timeout_ms)
{
	gpr_timespec dl = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
				       gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));

	if (st->status_pending && st->own_cq)
		sb__stream_pluck_until(st, sb__tag(st, SB__TAG_STATUS), dl);
	return st->status_pending ? -ETIMEDOUT : sb__stream_error(st);
}

void sb__stream_cancel(struct sb__stream *st)
{
	if (st->call && !st->ended)
		grpc_call_cancel(st->call, NULL);
}

void sb__stream_free(struct sb__stream *st)
{
	if (st->call) {
		grpc_call_cancel(st->call, NULL);
		/* Drain what is pending on a private queue; a shared queue is
		 * drained by its owner (sb__stream_drain). */
		if (st->own_cq) {
			while (st->reading || st->writing || st->status_pending) {
				void *tag = st->reading ? (void *)st :
					    st->writing ? sb__tag(st, SB__TAG_WRITE) :
							  sb__tag(st, SB__TAG_STATUS);

				if (sb__stream_pluck(st, tag) == SB__SEV_TIMEOUT)
					break;
			}
		}
		grpc_call_unref(st->call);
		st->call = NULL;
	}
	if (st->in)
		grpc_byte_buffer_destroy(st->in);
	if (st->first_out)
		grpc_byte_buffer_destroy(st->first_out);
	st->in = st->first_out = NULL;
	grpc_metadata_array_destroy(&st->init_md);
	grpc_metadata_array_destroy(&st->trailing);
	grpc_slice_unref(st->details);
	st->details = grpc_empty_slice();
	if (st->own_cq && st->cq) {
		grpc_completion_queue_shutdown(st->cq);
		grpc_completion_queue_destroy(st->cq);
	}
	st->cq = NULL;
}

int sb__stream_pending(const struct sb__stream *st)
{
	return st->reading || st->writing || st->status_pending;
}
