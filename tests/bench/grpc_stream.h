/* SPDX-License-Identifier: MIT
 * grpc_stream.h - the floor under Pipe: a bare gRPC C core bidi-stream
 * echo over a Unix socket, in a child process with one CQ thread (shaped
 * like the broker's), and a client that makes one round trip per batch
 * (SEND_MESSAGE + RECV_MESSAGE, pluck CQ). No broker code on either side.
 */
#ifndef SB_BENCH_GRPC_STREAM_H
#define SB_BENCH_GRPC_STREAM_H

#include <stddef.h>
#include <sys/types.h>

struct bench_gstream;

/** bench_gstream_spawn() - fork the echo server on unix:@path. Call it
 *  before this process uses gRPC (no fork after grpc_init). Stop it with
 *  bench_stop_child(). Return: its pid, or -1. */
pid_t bench_gstream_spawn(const char *path);

/** bench_gstream_open() - a stream to the echo server on unix:@path.
 *  Return: the stream (free with bench_gstream_close), or NULL. */
struct bench_gstream *bench_gstream_open(const char *path);

/** bench_gstream_pingpong() - send @len bytes of @buf as one message and
 *  wait (at most 5 s) for its echo. Return: 0, or -1. */
int bench_gstream_pingpong(struct bench_gstream *g, const void *buf, size_t len);

/** bench_gstream_close() - half close, take the status, free @g. */
void bench_gstream_close(struct bench_gstream *g);

#endif /* SB_BENCH_GRPC_STREAM_H */
