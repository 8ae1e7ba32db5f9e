/* SPDX-License-Identifier: MIT
 * rpc.c - unary calls and the session lease over gRPC C core, with nanopb
 * messages, and the mapping of call failures to errno.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/support/time.h>
#include <pb_decode.h>
#include <pb_encode.h>

#include "consts.h"
#include "internal.h"

#define SB__ERRMSG_MAX 256
#define SB__OPEN_TIMEOUT_MS 10000
#define SB__LEASE_END_MS 2000

static _Thread_local char sb__errmsg[SB__ERRMSG_MAX];

const char *sb_last_error(void)
{
	return sb__errmsg[0] ? sb__errmsg : NULL;
}

void sb__set_error(const char *msg)
{
	snprintf(sb__errmsg, sizeof(sb__errmsg), "%s", msg);
}

void sb__fail_record(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sb__errmsg, sizeof(sb__errmsg), fmt, ap);
	va_end(ap);
	errno = err;
}

int sb__status_errno(grpc_status_code st)
{
	switch (st) {
	case GRPC_STATUS_OK:
		return 0;
	case GRPC_STATUS_CANCELLED:
		return EINTR;
	case GRPC_STATUS_INVALID_ARGUMENT:
	case GRPC_STATUS_OUT_OF_RANGE:
	case GRPC_STATUS_FAILED_PRECONDITION:
		return EINVAL;
	case GRPC_STATUS_DEADLINE_EXCEEDED:
		return ETIMEDOUT;
	case GRPC_STATUS_NOT_FOUND:
		return EBADF;
	case GRPC_STATUS_ALREADY_EXISTS:
		return EEXIST;
	case GRPC_STATUS_PERMISSION_DENIED:
	case GRPC_STATUS_UNAUTHENTICATED:
		return EACCES;
	case GRPC_STATUS_RESOURCE_EXHAUSTED:
		return ENOBUFS;
	case GRPC_STATUS_UNIMPLEMENTED:
		return ENOSYS;
	case GRPC_STATUS_UNAVAILABLE:
		return ECONNRESET;
	default:
		return EIO;
	}
}

static gpr_timespec sb__deadline(int64_t timeout_ms)
{
	if (timeout_ms < 0)
		return gpr_inf_future(GPR_CLOCK_REALTIME);
	return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
			    gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
}

grpc_byte_buffer *sb__encode(const pb_msgdesc_t *fields, const void *req)
{
	size_t size = 0;
	grpc_slice sl;
	grpc_byte_buffer *bb;
	pb_ostream_t os;

	if (!pb_get_encoded_size(&size, fields, req))
		return NULL;
	sl = grpc_slice_malloc(size);
	os = pb_ostream_from_buffer(GRPC_SLICE_START_PTR(sl), size);
	if (!pb_encode(&os, fields, req)) {
		grpc_slice_unref(sl);
		return NULL;
	}
	bb = grpc_raw_byte_buffer_create(&sl, 1);
	grpc_slice_unref(sl);
	return bb;
}

int sb__decode(grpc_byte_buffer *bb, const pb_msgdesc_t *fields, void *rep)
{
	grpc_byte_buffer_reader rd;
	grpc_slice sl;
	pb_istream_t is;
	int ok;

	if (!grpc_byte_buffer_reader_init(&rd, bb))
		return 0;
	sl = grpc_byte_buffer_reader_readall(&rd);
	grpc_byte_buffer_reader_destroy(&rd);
	is = pb_istream_from_buffer(GRPC_SLICE_START_PTR(sl), GRPC_SLICE_LENGTH(sl));
	ok = pb_decode(&is, fields, rep);
	grpc_slice_unref(sl);
	return ok;
}

/* The sb-errno trailer as a native errno, or 0. */
static int sb__trailer_errno(const grpc_metadata_array *md)
{
	size_t i;

	for (i = 0; i < md->count; i++) {
		char num[16];
		size_t n = GRPC_SLICE_LENGTH(md->metadata[i].value);

		if (!grpc_slice_str_cmp(md->metadata[i].key, "sb-errno") &&
		    n > 0 && n < sizeof(num)) {
			memcpy(num, GRPC_SLICE_START_PTR(md->metadata[i].value), n);
			num[n] = 0;
			return sb__errno_to_native((uint32_t)strtoul(num, NULL, 10));
		}
	}
	return 0;
}

int sb__call_errno(grpc_status_code st, const grpc_metadata_array *md,
		   const grpc_slice *details, const char *method)
{
	int err = sb__trailer_errno(md);

	if (!err)
		err = sb__status_errno(st);
	snprintf(sb__errmsg, sizeof(sb__errmsg), "%s: %.*s (gRPC status %d)",
		 strrchr(method, '/') ? strrchr(method, '/') + 1 : method,
		 (int)GRPC_SLICE_LENGTH(*details),
		 (const char *)GRPC_SLICE_START_PTR(*details), (int)st);
	return err;
}

int sb__unary_on(grpc_channel *ch, const char *token, const char *method,
		 const pb_msgdesc_t *req_fields, const void *req,
		 const pb_msgdesc_t *rep_fields, void *rep, int64_t timeout_ms,
		 struct sb__status *out_st)
{
	grpc_completion_queue *cq;
	grpc_call *call;
	grpc_byte_buffer *out, *in = NULL;
	grpc_metadata_array init_md, trail_md;
	grpc_metadata md;
	grpc_status_code st = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	grpc_slice msl = grpc_slice_from_static_string(method);
	grpc_op ops[6];
	grpc_call_error ce;
	grpc_event ev;
	int rc = 0;

	memset(ops, 0, sizeof(ops));
	if (out_st)
		memset(out_st, 0, sizeof(*out_st));
	out = sb__encode(req_fields, req);
	if (!out)
		return sb__fail(EINVAL, "cannot encode the request"), -EINVAL;
	cq = grpc_completion_queue_create_for_pluck(NULL);
	call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS,
					cq, msl, NULL, sb__deadline(timeout_ms), NULL);
	grpc_metadata_array_init(&init_md);
	grpc_metadata_array_init(&trail_md);

	memset(&md, 0, sizeof(md));
	md.key = grpc_slice_from_static_string("sb-session");
	md.value = grpc_slice_from_static_string(token ? token : "");
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[0].data.send_initial_metadata.count = token ? 1 : 0;
	ops[0].data.send_initial_metadata.metadata = token ? &md : NULL;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = out;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &init_md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &in;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &trail_md;
	ops[5].data.recv_status_on_client.status = &st;
	ops[5].data.recv_status_on_client.status_details = &details;

	ce = grpc_call_start_batch(call, ops, 6, call, NULL);
	if (ce != GRPC_CALL_OK) {
		rc = -EIO;
		sb__fail(EIO, "grpc_call_start_batch: error %d", (int)ce);
		goto out;
	}
	ev = grpc_completion_queue_pluck(cq, call, gpr_inf_future(GPR_CLOCK_REALTIME),
					 NULL);
	if (ev.type != GRPC_OP_COMPLETE) {
		rc = -EIO;
		sb__fail(EIO, "completion queue failed");
		goto out;
	}
	if (out_st) {
		out_st->code = st;
		out_st->err = sb__trailer_errno(&trail_md);
		snprintf(out_st->details, sizeof(out_st->details), "%.*s",
			 (int)GRPC_SLICE_LENGTH(details),
			 (const char *)GRPC_SLICE_START_PTR(details));
	}
	if (st != GRPC_STATUS_OK) {
		rc = -sb__call_errno(st, &trail_md, &details, method);
		goto out;
	}
	if (!in || !sb__decode(in, rep_fields, rep)) {
		rc = -EPROTO;
		sb__fail(EPROTO, "%s: malformed reply from the broker", method);
		goto out;
	}
	sb__errmsg[0] = 0;
out:
	if (in)
		grpc_byte_buffer_destroy(in);
	grpc_byte_buffer_destroy(out);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&init_md);
	grpc_metadata_array_destroy(&trail_md);
	grpc_call_unref(call);
	grpc_completion_queue_shutdown(cq);
	grpc_completion_queue_destroy(cq);
	if (rc < 0)
		errno = -rc;
	return rc;
}

/* Whether the lease's status has come; takes it when it is there. */
static int sb__lease_ended(sb_client *c)
{
	int over;

	pthread_mutex_lock(&c->lease_lock);
	if (!c->lease_over && c->lease &&
	    grpc_completion_queue_pluck(c->lease_cq, &c->lease_status,
					gpr_now(GPR_CLOCK_REALTIME), NULL).type ==
	    GRPC_OP_COMPLETE)
		c->lease_over = 1;
	over = c->lease_over;
	pthread_mutex_unlock(&c->lease_lock);
	return over;
}

int sb__session_lost(sb_client *c, int err)
{
	/* Only the answers a dead session gets: the broker unreachable, or
	 * one that does not know the session (a restarted broker). */
	if ((err != EACCES && err != ECONNRESET) || !c->token[0] || !sb__lease_ended(c))
		return err;
	sb__fail(ECONNRESET, "the session ended: the broker went away or was restarted "
		 "(lease status %d: %.*s); its sockets are gone, sb_open() a new one",
		 (int)c->lease_status, (int)GRPC_SLICE_LENGTH(c->lease_details),
		 (const char *)GRPC_SLICE_START_PTR(c->lease_details));
	return ECONNRESET;
}

int sb__unary(sb_client *c, const char *method, enum sb__call_kind kind,
	      const pb_msgdesc_t *req_fields, const void *req,
	      const pb_msgdesc_t *rep_fields, void *rep, int64_t timeout_ms)
{
	int rc = sb__unary_on(c->channel, kind == SB__SESSION ? c->token : NULL, method,
			      req_fields, req, rep_fields, rep, timeout_ms, NULL);

	if (rc < 0 && kind == SB__SESSION) {
		rc = -sb__session_lost(c, -rc);
		errno = -rc;
	}
	return rc;
}

int sb__session_open(sb_client *c, const char *name)
{
	sockbroker_v1_OpenSessionRequest req = sockbroker_v1_OpenSessionRequest_init_zero;
	sockbroker_v1_SessionEvent first = sockbroker_v1_SessionEvent_init_zero;
	grpc_byte_buffer *out, *in = NULL;
	grpc_metadata_array init_md;
	grpc_op ops[5];
	grpc_event ev;
	int rc = 0;

	snprintf(req.client_name, sizeof(req.client_name), "%s", name ? name : "");
	out = sb__encode(&sockbroker_v1_OpenSessionRequest_msg, &req);
	if (!out)
		return -EINVAL;
	c->lease_cq = grpc_completion_queue_create_for_pluck(NULL);
	c->lease = grpc_channel_create_call(
		c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, c->lease_cq,
		grpc_slice_from_static_string("/sockbroker.v1.SocketBroker/OpenSession"),
		NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	grpc_metadata_array_init(&init_md);
	grpc_metadata_array_init(&c->lease_trailing);
	c->lease_details = grpc_empty_slice();

	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	/* Fail at once when nothing listens, rather than wait for it. */
	ops[0].flags = 0;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = out;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &init_md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &in;
	if (grpc_call_start_batch(c->lease, ops, 5, &c->lease, NULL) != GRPC_CALL_OK) {
		rc = -EIO;
		goto out;
	}
	ev = grpc_completion_queue_pluck(c->lease_cq, &c->lease,
					 sb__deadline(SB__OPEN_TIMEOUT_MS), NULL);
	if (ev.type == GRPC_QUEUE_TIMEOUT) {
		grpc_call_cancel(c->lease, NULL);
		grpc_completion_queue_pluck(c->lease_cq, &c->lease,
					    gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	}

	/* The status is wanted in every case: it ends the lease. */
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[0].data.recv_status_on_client.trailing_metadata = &c->lease_trailing;
	ops[0].data.recv_status_on_client.status = &c->lease_status;
	ops[0].data.recv_status_on_client.status_details = &c->lease_details;
	if (grpc_call_start_batch(c->lease, ops, 1, &c->lease_status, NULL) !=
	    GRPC_CALL_OK) {
		rc = -EIO;
		goto out;
	}
	if (in && sb__decode(in, &sockbroker_v1_SessionEvent_msg, &first))
		snprintf(c->token, sizeof(c->token), "%s", first.token);
	if (!c->token[0]) {
		/* No first event: the broker refused or is not there. */
		grpc_completion_queue_pluck(c->lease_cq, &c->lease_status,
					    gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.type == GRPC_QUEUE_TIMEOUT) {
			rc = -ETIMEDOUT;
			sb__fail(ETIMEDOUT, "OpenSession: the broker did not answer "
				 "within %d ms", SB__OPEN_TIMEOUT_MS);
		} else if (c->lease_status == GRPC_STATUS_UNAVAILABLE) {
			rc = -ECONNREFUSED;
			sb__fail(ECONNREFUSED, "OpenSession: broker unavailable: %.*s",
				 (int)GRPC_SLICE_LENGTH(c->lease_details),
				 (const char *)GRPC_SLICE_START_PTR(c->lease_details));
		} else {
			rc = -sb__call_errno(c->lease_status, &c->lease_trailing,
					     &c->lease_details, "OpenSession");
			if (rc == 0)
				rc = -EPROTO;
		}
		goto out;
	}
	c->session_id = first.session_id;
	c->max_message_bytes = first.max_message_bytes;
out:
	if (in)
		grpc_byte_buffer_destroy(in);
	grpc_byte_buffer_destroy(out);
	grpc_metadata_array_destroy(&init_md);
	if (rc < 0) {
		sb__session_close(c);
		errno = -rc;
	}
	return rc;
}

void sb__session_close(sb_client *c)
{
	grpc_event ev;

	if (!c->lease)
		return;
	if (c->token[0]) {
		sockbroker_v1_CloseSessionRequest req = sockbroker_v1_CloseSessionRequest_init_zero;
		sockbroker_v1_CloseSessionReply rep = sockbroker_v1_CloseSessionReply_init_zero;

		/* The broker ends the lease; cancelling it does the same. */
		sb__unary(c, "/sockbroker.v1.SocketBroker/CloseSession", SB__SESSION,
			  &sockbroker_v1_CloseSessionRequest_msg, &req,
			  &sockbroker_v1_CloseSessionReply_msg, &rep, SB__LEASE_END_MS);
		ev.type = GRPC_OP_COMPLETE;
		if (!c->lease_over)
			ev = grpc_completion_queue_pluck(c->lease_cq, &c->lease_status,
							 sb__deadline(SB__LEASE_END_MS), NULL);
		if (ev.type == GRPC_QUEUE_TIMEOUT) {
			grpc_call_cancel(c->lease, NULL);
			grpc_completion_queue_pluck(c->lease_cq, &c->lease_status,
						    gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		}
		c->token[0] = 0;
	}
	grpc_call_unref(c->lease);
	c->lease = NULL;
	grpc_metadata_array_destroy(&c->lease_trailing);
	grpc_slice_unref(c->lease_details);
	grpc_completion_queue_shutdown(c->lease_cq);
	grpc_completion_queue_destroy(c->lease_cq);
	c->lease_cq = NULL;
}
