/* SPDX-License-Identifier: MIT
 * dialchan.h - dial channels: a second Unix connection of a session,
 * bound like its hand-off channel (a one-time ticket, the same peer
 * credentials: handoff.c), that carries DialRequests and their outcomes
 * without gRPC. A connection is the hot path of a sandbox (sockbroker-run
 * connects every socket of the program through Dial); a gRPC round trip
 * costs about 200 us of CPU here, most of a connection's time.
 *
 * What travels is the contract's own: the request is a DialRequest, the
 * answer the Dial call's outcome (status, errno, DialReply), and the
 * request is served by the Dial handler itself (ops_dial.c), as a call
 * of the session (rpc.h, sb__call_carried): the same policy, limits,
 * accounting and log. The .proto's "Dial channel" rules give the framing.
 *
 * Threads: one thread reads every channel (epoll, one request at a time
 * per channel); a request is answered on whichever thread finishes its
 * Dial, which then arms the channel for the next.
 */
#ifndef SB_SERVER_DIALCHAN_H
#define SB_SERVER_DIALCHAN_H

#include "identity.h"

struct sb__session;
struct sb__dchan;

/* A request is at most this long (a DialRequest at its limits is about
 * 3 KiB: host 1024, service 255, local end, 16 options). */
#define SB__DC_MAX_REQ 8192

/** sb__dialchan_start() - create the reader thread. Return: 0 or -errno.
 *  Start-up only. */
int sb__dialchan_start(void);

/** sb__dialchan_stop() - close every channel (their dials in flight
 *  answer nobody). After sb__rpc_stop(). */
void sb__dialchan_stop(void);

/**
 * sb__dialchan_new() - a channel on connection @fd (admitted by the
 * listener) for session @s (ref taken), whose peer is @id. Not read until
 * sb__dialchan_start_reading(). Called with handoff.c's lock held.
 * Return: the channel, or NULL (no memory; @fd is the caller's still).
 */
struct sb__dchan *sb__dialchan_new(int fd, struct sb__session *s,
				   const struct sb__identity *id);

/** sb__dialchan_start_reading() - serve @dc from now on (it owns its fd). */
void sb__dialchan_start_reading(struct sb__dchan *dc);

/** sb__dialchan_hangup() - the session of @dc ended: shut its connection
 *  down (the reader then closes it). Called with handoff.c's lock held. */
void sb__dialchan_hangup(struct sb__dchan *dc);

#endif /* SB_SERVER_DIALCHAN_H */
