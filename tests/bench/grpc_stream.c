/* SPDX-License-Identifier: MIT
 * grpc_stream.c - a bare gRPC bidi-stream echo and its client (see
 * grpc_stream.h): what a 64-byte Pipe round trip would cost if the broker
 * added nothing to gRPC.
 */
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grpc_stream.h"

#define GS_METHOD "/bench.Echo/Stream"
#define GS_WAIT_MS 5000

/* ---- the server: one call at a time is enough for a ping-pong ---- */

enum gs_tag { GS_NEW, GS_RECV, GS_SENT, GS_DONE };

struct gs_call {
	grpc_call *call;
	grpc_call_details det;
	grpc_metadata_array md;
	grpc_byte_buffer *in, *out;
	int cancelled;
	char tags[4];
};

static int gs_request(grpc_server *s, grpc_completion_queue *cq, struct gs_call *c)
{
	memset(c, 0, sizeof(*c));
	grpc_call_details_init(&c->det);
	grpc_metadata_array_init(&c->md);
	return grpc_server_request_call(s, &c->call, &c->det, &c->md, cq, cq,
					&c->tags[GS_NEW]) == GRPC_CALL_OK ? 0 : -1;
}

static void gs_recv(struct gs_call *c)
{
	grpc_op op;

	memset(&op, 0, sizeof(op));
	op.op = GRPC_OP_RECV_MESSAGE;
	op.data.recv_message.recv_message = &c->in;
	grpc_call_start_batch(c->call, &op, 1, &c->tags[GS_RECV], NULL);
}

/* The client half closed: end the call with OK. */
static void gs_finish(struct gs_call *c)
{
	grpc_op ops[2];

	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
	ops[0].data.send_status_from_server.status = GRPC_STATUS_OK;
	ops[1].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	ops[1].data.recv_close_on_server.cancelled = &c->cancelled;
	grpc_call_start_batch(c->call, ops, 2, &c->tags[GS_DONE], NULL);
}

static void gs_serve(const char *path)
{
	char target[160];
	grpc_completion_queue *cq;
	grpc_server_credentials *cr;
	grpc_server *s;
	struct gs_call c;

	grpc_init();
	snprintf(target, sizeof(target), "unix:%s", path);
	cq = grpc_completion_queue_create_for_next(NULL);
	s = grpc_server_create(NULL, NULL);
	grpc_server_register_completion_queue(s, cq, NULL);
	cr = grpc_insecure_server_credentials_create();
	if (!grpc_server_add_http2_port(s, target, cr))
		_exit(1);
	grpc_server_credentials_release(cr);
	grpc_server_start(s);
	if (gs_request(s, cq, &c) < 0)
		_exit(1);
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_MONOTONIC),
							   NULL);
		grpc_op ops[2];
		int tag;

		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		tag = (int)((char *)ev.tag - c.tags);
		memset(ops, 0, sizeof(ops));
		switch (tag) {
		case GS_NEW:
			ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
			grpc_call_start_batch(c.call, ops, 1, &c.tags[GS_SENT], NULL);
			gs_recv(&c);
			break;
		case GS_RECV:
			if (!ev.success || !c.in) {
				gs_finish(&c);
				break;
			}
			if (c.out)
				grpc_byte_buffer_destroy(c.out);
			c.out = c.in;
			c.in = NULL;
			ops[0].op = GRPC_OP_SEND_MESSAGE;
			ops[0].data.send_message.send_message = c.out;
			grpc_call_start_batch(c.call, ops, 1, &c.tags[GS_SENT], NULL);
			gs_recv(&c);
			break;
		case GS_SENT:
			break;
		case GS_DONE:
			/* Every batch of the call has completed: the last to
			 * finish is this one (the recv saw the half close). */
			if (c.out)
				grpc_byte_buffer_destroy(c.out);
			grpc_call_unref(c.call);
			grpc_call_details_destroy(&c.det);
			grpc_metadata_array_destroy(&c.md);
			if (gs_request(s, cq, &c) < 0)
				_exit(1);
			break;
		}
	}
}

pid_t bench_gstream_spawn(const char *path)
{
	pid_t pid = fork();

	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		gs_serve(path);
		_exit(0);
	}
	return pid;
}

/* ---- the client ---- */

struct bench_gstream {
	grpc_channel *ch;
	grpc_completion_queue *cq;
	grpc_call *call;
	grpc_metadata_array rmd, tmd;
	grpc_status_code status;
	grpc_slice details;
	char tags[3];
};

static gpr_timespec gs_deadline(void)
{
	return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
			    gpr_time_from_millis(GS_WAIT_MS, GPR_TIMESPAN));
}

static int gs_pluck(struct bench_gstream *g, int tag)
{
	grpc_event ev = grpc_completion_queue_pluck(g->cq, &g->tags[tag], gs_deadline(), NULL);

	return ev.type == GRPC_OP_COMPLETE && ev.success ? 0 : -1;
}

struct bench_gstream *bench_gstream_open(const char *path)
{
	char target[160];
	struct bench_gstream *g = calloc(1, sizeof(*g));
	grpc_channel_credentials *cr;
	grpc_slice method;
	grpc_op ops[2];

	if (!g)
		return NULL;
	grpc_init();
	snprintf(target, sizeof(target), "unix:%s", path);
	cr = grpc_insecure_credentials_create();
	g->ch = grpc_channel_create(target, cr, NULL);
	grpc_channel_credentials_release(cr);
	g->cq = grpc_completion_queue_create_for_pluck(NULL);
	method = grpc_slice_from_static_string(GS_METHOD);
	g->call = grpc_channel_create_call(g->ch, NULL, 0, g->cq, method, NULL,
					   gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	grpc_metadata_array_init(&g->rmd);
	grpc_metadata_array_init(&g->tmd);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[1].data.recv_initial_metadata.recv_initial_metadata = &g->rmd;
	if (!g->call || grpc_call_start_batch(g->call, ops, 2, &g->tags[0], NULL) != GRPC_CALL_OK ||
	    gs_pluck(g, 0) < 0) {
		bench_gstream_close(g);
		return NULL;
	}
	return g;
}

int bench_gstream_pingpong(struct bench_gstream *g, const void *buf, size_t len)
{
	grpc_slice s = grpc_slice_from_copied_buffer(buf, len);
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1), *rb = NULL;
	grpc_op ops[2];
	int rc = -1;

	grpc_slice_unref(s);
	memset(ops, 0, sizeof(ops));
	ops[0].op = GRPC_OP_SEND_MESSAGE;
	ops[0].data.send_message.send_message = bb;
	ops[1].op = GRPC_OP_RECV_MESSAGE;
	ops[1].data.recv_message.recv_message = &rb;
	if (grpc_call_start_batch(g->call, ops, 2, &g->tags[1], NULL) == GRPC_CALL_OK &&
	    gs_pluck(g, 1) == 0 && rb && grpc_byte_buffer_length(rb) == len)
		rc = 0;
	grpc_byte_buffer_destroy(bb);
	if (rb)
		grpc_byte_buffer_destroy(rb);
	return rc;
}

void bench_gstream_close(struct bench_gstream *g)
{
	grpc_op ops[2];

	if (!g)
		return;
	if (g->call) {
		memset(ops, 0, sizeof(ops));
		ops[0].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
		ops[1].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
		ops[1].data.recv_status_on_client.trailing_metadata = &g->tmd;
		ops[1].data.recv_status_on_client.status = &g->status;
		ops[1].data.recv_status_on_client.status_details = &g->details;
		if (grpc_call_start_batch(g->call, ops, 2, &g->tags[2], NULL) == GRPC_CALL_OK &&
		    gs_pluck(g, 2) == 0)
			grpc_slice_unref(g->details);
		grpc_call_unref(g->call);
	}
	grpc_metadata_array_destroy(&g->rmd);
	grpc_metadata_array_destroy(&g->tmd);
	if (g->ch)
		grpc_channel_destroy(g->ch);
	if (g->cq) {
		int i;

		grpc_completion_queue_shutdown(g->cq);
		for (i = 0; i < 4; i++)
			if (grpc_completion_queue_pluck(g->cq, NULL, gs_deadline(), NULL).type ==
			    GRPC_QUEUE_SHUTDOWN)
				break;
		grpc_completion_queue_destroy(g->cq);
	}
	free(g);
	grpc_shutdown();
}
