/* SPDX-License-Identifier: MIT
 * rawcall.h - unary gRPC calls that libsockbroker has no wrapper for
 * (GetStats, Health/Check, the full GetServ* replies), with the nanopb
 * messages of sb_proto_nanopb. No session.
 */
#ifndef SBCTL_RAWCALL_H
#define SBCTL_RAWCALL_H

#include <pb.h>

/* The outcome of one raw call. */
struct sbctl_raw_status {
	int code;             /* grpc_status_code; 0 (OK) on success */
	char details[512];    /* the status message, or what went wrong locally */
	int sb_errno;         /* native errno from the sb-errno trailer, or 0 */
};

/**
 * sbctl_raw_call() - one unary call to the broker at @target
 * @target:  a gRPC target as sb_open() takes it (bare paths become unix:)
 * @method:  "/grpc.health.v1.Health/Check"
 * @timeout_ms: the call's deadline from now
 * Return: 0 when the status is OK and @rep decoded; -1 otherwise, with
 *         @st filled (a local failure is GRPC_STATUS_INTERNAL).
 */
int sbctl_raw_call(const char *target, const char *method,
		   const pb_msgdesc_t *req_fields, const void *req,
		   const pb_msgdesc_t *rep_fields, void *rep, int timeout_ms,
		   struct sbctl_raw_status *st);

/** sbctl_grpc_status_name() - "UNAVAILABLE" for 14, or "STATUS_n". */
const char *sbctl_grpc_status_name(int code);

/**
 * sbctl_raw_fail() - the one-line error of a failed raw call:
 * "sbctl: WHAT: DETAILS (gRPC UNAVAILABLE)", refined for an unreachable
 * Unix socket with the errno of a local connect(2) ("... (ENOENT)").
 * Return: SBCTL_FAIL.
 */
int sbctl_raw_fail(const char *what, const char *target,
		   const struct sbctl_raw_status *st);

#endif /* SBCTL_RAWCALL_H */
