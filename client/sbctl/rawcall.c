/* SPDX-License-Identifier: MIT
 * rawcall.c - unary calls libsockbroker has no public wrapper for:
 * GetStats, the standard Health/Check and the GetServ* replies with
 * aliases, on a channel of their own and without a session, made with the
 * library's internal unary call (client/rpc.c sb__unary_on).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "internal.h"
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

int sbctl_raw_call(const char *target, const char *method,
		   const pb_msgdesc_t *req_fields, const void *req,
		   const pb_msgdesc_t *rep_fields, void *rep, int timeout_ms,
		   struct sbctl_raw_status *st)
{
	char tgt[SBCTL_TARGET_MAX];
	grpc_channel_credentials *creds;
	struct sb__status cs;
	grpc_arg arg;
	grpc_channel_args args;
	grpc_channel *ch;
	int rc;

	memset(st, 0, sizeof(*st));
	if (sbctl_grpc_target(target, tgt, sizeof(tgt)) < 0)
		return sbctl_local_fail(st, "broker", "target too long");
	grpc_init();
	arg.type = GRPC_ARG_INTEGER;
	arg.key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	arg.value.integer = -1;
	args.num_args = 1;
	args.args = &arg;
	/* TLS as sb_open() has it ($SOCKBROKER_TLS_*): stats and health of
	 * a remote broker over mutual TLS too. */
	creds = sb__env_creds(tgt);
	ch = creds ? grpc_channel_create(tgt, creds, &args) : NULL;
	if (creds)
		grpc_channel_credentials_release(creds);
	if (!creds) {
		rc = sbctl_local_fail(st, "broker", sb_last_error() ? sb_last_error()
						   : "cannot read the TLS files");
	} else if (!ch) {
		rc = sbctl_local_fail(st, tgt, "invalid broker target");
	} else {
		/* libsockbroker's own unary call, without a session. */
		rc = sb__unary_on(ch, NULL, method, req_fields, req, rep_fields, rep,
				  timeout_ms, &cs);
		if (rc < 0 && cs.code == GRPC_STATUS_OK) {
			rc = sbctl_local_fail(st, method, sb_last_error() ? sb_last_error()
							: "the call failed");
		} else if (rc < 0) {
			st->code = (int)cs.code;
			st->sb_errno = cs.err;
			snprintf(st->details, sizeof(st->details), "%s", cs.details);
			rc = -1;
		}
		grpc_channel_destroy(ch);
	}
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
