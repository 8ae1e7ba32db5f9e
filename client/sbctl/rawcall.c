/* SPDX-License-Identifier: MIT
 * rawcall.c - unary gRPC calls without libsockbroker: GetStats, the
 * standard Health/Check and the GetServ* replies with aliases, made with
 * gRPC C core on a channel of their own, encoded with nanopb (the same way
 * client/rpc.c makes its unary calls). None of them needs a session.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <pb_decode.h>
#include <pb_encode.h>

#include "rawcall.h"
#include "sbctl.h"

#define SBCTL_TARGET_MAX 4096

static const char *const sbctl_status_names[] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
	"INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
};

const char *sbctl_grpc_status_name(int code)
{
	static _Thread_local char buf[24];

	if (code >= 0 && (size_t)code < sizeof(sbctl_status_names) / sizeof(*sbctl_status_names))
		return sbctl_status_names[code];
	snprintf(buf, sizeof(buf), "STATUS_%d", code);
	return buf;
}

/* A failure before or outside the call: "WHAT: WHY". */
static int sbctl_local_fail(struct sbctl_raw_status *st, const char *what, const char *why)
{
	st->code = GRPC_STATUS_INTERNAL;
	snprintf(st->details, sizeof(st->details), "%.200s: %.200s", what, why);
	return -1;
}

static grpc_byte_buffer *sbctl_encode(const pb_msgdesc_t *fields, const void *msg)
{
	size_t size = 0;
	grpc_slice sl;
	grpc_byte_buffer *bb;
	pb_ostream_t os;

	if (!pb_get_encoded_size(&size, fields, msg))
		return NULL;
	sl = grpc_slice_malloc(size);
	os = pb_ostream_from_buffer(GRPC_SLICE_START_PTR(sl), size);
	if (!pb_encode(&os, fields, msg)) {
		grpc_slice_unref(sl);
		return NULL;
	}
	bb = grpc_raw_byte_buffer_create(&sl, 1);
	grpc_slice_unref(sl);
	return bb;
}

static int sbctl_decode(grpc_byte_buffer *bb, const pb_msgdesc_t *fields, void *msg)
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
	ok = pb_decode(&is, fields, msg);
	grpc_slice_unref(sl);
	return ok;
}

/* The sb-errno trailer: the contract's portable errno, which is Linux's
 * own numbering (sockbroker.proto, rule 6). */
static int sbctl_trailer_errno(const grpc_metadata_array *md)
{
	size_t i;

	for (i = 0; i < md->count; i++) {
		char num[16];
		size_t n = GRPC_SLICE_LENGTH(md->metadata[i].value);

		if (!grpc_slice_str_cmp(md->metadata[i].key, "sb-errno") &&
		    n > 0 && n < sizeof(num)) {
			memcpy(num, GRPC_SLICE_START_PTR(md->metadata[i].value), n);
			num[n] = 0;
			return (int)strtol(num, NULL, 10);
		}
	}
	return 0;
}

/* As sb_open(): NULL/empty is $SOCKBROKER_ADDR, else the default; a bare
 * path becomes "unix:PATH". */
static int sbctl_grpc_target(const char *in, char *out, size_t len)
{
	int n;

	if (in[0] == '/' || (in[0] == '.' && in[1] == '/'))
		n = snprintf(out, len, "unix:%s", in);
	else
		n = snprintf(out, len, "%s", in);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

static int sbctl_raw_on_channel(grpc_channel *ch, const char *method,
				grpc_byte_buffer *out, const pb_msgdesc_t *rep_fields,
				void *rep, int timeout_ms, struct sbctl_raw_status *st)
{
	grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
	grpc_metadata_array init_md, trail_md;
	grpc_status_code code = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();
	grpc_byte_buffer *in = NULL;
	grpc_op ops[6];
	grpc_call *call;
	grpc_event ev;
	gpr_timespec deadline;
	int rc = -1;

	deadline = gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
				gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
	call = grpc_channel_create_call(ch, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
					grpc_slice_from_static_string(method), NULL,
					deadline, NULL);
	grpc_metadata_array_init(&init_md);
	grpc_metadata_array_init(&trail_md);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = out;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &init_md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &in;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &trail_md;
	ops[5].data.recv_status_on_client.status = &code;
	ops[5].data.recv_status_on_client.status_details = &details;

	if (grpc_call_start_batch(call, ops, 6, call, NULL) != GRPC_CALL_OK) {
		sbctl_local_fail(st, method, "cannot start the call");
		goto out;
	}
	ev = grpc_completion_queue_pluck(cq, call, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	if (ev.type != GRPC_OP_COMPLETE) {
		sbctl_local_fail(st, method, "the completion queue failed");
		goto out;
	}
	st->code = (int)code;
	snprintf(st->details, sizeof(st->details), "%.*s",
		 (int)GRPC_SLICE_LENGTH(details), (const char *)GRPC_SLICE_START_PTR(details));
	st->sb_errno = sbctl_trailer_errno(&trail_md);
	if (code != GRPC_STATUS_OK)
		goto out;
	if (!in || !sbctl_decode(in, rep_fields, rep)) {
		sbctl_local_fail(st, method, "malformed reply from the broker");
		goto out;
	}
	rc = 0;
out:
	if (in)
		grpc_byte_buffer_destroy(in);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&init_md);
	grpc_metadata_array_destroy(&trail_md);
	grpc_call_unref(call);
	grpc_completion_queue_shutdown(cq);
	grpc_completion_queue_destroy(cq);
	return rc;
}

int sbctl_raw_call(const char *target, const char *method,
		   const pb_msgdesc_t *req_fields, const void *req,
		   const pb_msgdesc_t *rep_fields, void *rep, int timeout_ms,
		   struct sbctl_raw_status *st)
{
	char tgt[SBCTL_TARGET_MAX];
	grpc_channel_credentials *creds;
	grpc_arg arg;
	grpc_channel_args args;
	grpc_byte_buffer *out;
	grpc_channel *ch;
	int rc;

	memset(st, 0, sizeof(*st));
	if (sbctl_grpc_target(target, tgt, sizeof(tgt)) < 0)
		return sbctl_local_fail(st, "broker", "target too long");
	out = sbctl_encode(req_fields, req);
	if (!out)
		return sbctl_local_fail(st, method, "cannot encode the request");
	grpc_init();
	arg.type = GRPC_ARG_INTEGER;
	arg.key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	arg.value.integer = -1;
	args.num_args = 1;
	args.args = &arg;
	creds = grpc_insecure_credentials_create();
	ch = grpc_channel_create(tgt, creds, &args);
	grpc_channel_credentials_release(creds);
	if (!ch) {
		rc = sbctl_local_fail(st, tgt, "invalid broker target");
	} else {
		rc = sbctl_raw_on_channel(ch, method, out, rep_fields, rep, timeout_ms, st);
		grpc_channel_destroy(ch);
	}
	grpc_byte_buffer_destroy(out);
	grpc_shutdown();
	return rc;
}

int sbctl_raw_fail(const char *what, const char *target,
		   const struct sbctl_raw_status *st)
{
	int err = 0;

	if (st->code == GRPC_STATUS_UNAVAILABLE)
		err = sbctl_unix_probe(target);
	if (err > 0) {
		/* The channel says only "unavailable": name the real reason. */
		fprintf(stderr, "sbctl: %s: broker %s: %s (%s)\n", what, target,
			strerror(err), sbctl_errname(err));
	} else if (st->sb_errno > 0) {
		fprintf(stderr, "sbctl: %s: %s (%s, gRPC %s)\n", what, st->details,
			sbctl_errname(st->sb_errno), sbctl_grpc_status_name(st->code));
	} else {
		fprintf(stderr, "sbctl: %s: %s (gRPC %s)\n", what,
			st->details[0] ? st->details : "call failed",
			sbctl_grpc_status_name(st->code));
	}
	return SBCTL_FAIL;
}
