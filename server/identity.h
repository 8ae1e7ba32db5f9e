/* SPDX-License-Identifier: MIT
 * identity.h - who is calling: peer credentials of local connections,
 * recorded when the broker accepts them, looked up per call.
 */
#ifndef SB_SERVER_IDENTITY_H
#define SB_SERVER_IDENTITY_H

#include <stdint.h>
#include <sys/types.h>

#define SB__SAN_MAX 8    /* subjectAltName entries kept, at most */
#define SB__ID_GROUPS_MAX 64 /* supplementary groups of a local peer, kept */

struct sb__identity {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int n_groups;         /* supplementary groups (SO_PEERGROUPS), at
			       * most SB__ID_GROUPS_MAX: a peer with more is
			       * given only these when the broker acts as it */
	gid_t groups[SB__ID_GROUPS_MAX];
	int known;            /* 0: no credentials (should not happen) */
	char transport[8];    /* "unix" or "tcp" */
	char cgroup[256];     /* cgroup v2 path of the peer, "" if unknown */
	char listener[64];    /* identity of the Unix listener it came through
			       * (listen: identity:), "" if that has none */
	char subject[256];    /* TLS client certificate subject, "" if none */
	int n_san;            /* subjectAltName entries of the certificate */
	char san[SB__SAN_MAX][256]; /* each "DNS"/"URI"/"email"/IP value */
};

/*
 * Local connections. gRPC names an fd channel's calls by the fd number
 * ("fd:N") and tells nobody when it closes the fd, so the broker keeps one
 * record per connection in a table indexed by that number, holding the
 * socket's inode as well:
 *  1. A record is made when the broker accepts the connection, before gRPC
 *     sees the fd (sb__conn_admit()).
 *  2. While a grpc_call of the connection exists, gRPC holds its transport
 *     and so the fd: the number cannot name another connection then, and
 *     the fd's inode is checked against the record when a call begins.
 *  3. The record goes when the number is seen closed or naming another
 *     socket (sb__conn_sweep(), or an accept that returns the number).
 * Calls take their identity from the record when they begin
 * (sb__conn_call_begin()) and keep it; a call holds nothing of the record
 * but its number and generation, so a late end cannot touch a successor.
 * All functions are thread-safe.
 */

/* What a call keeps of its connection's record. */
struct sb__conn_ref {
	int fd;          /* -1: not a local connection (TCP) */
	uint64_t gen;    /* the record's generation when the call began */
};

/* Counters of sb__conn_*, for GetStats. */
struct sb__conn_stats {
	uint64_t open, refused_policy, refused_limit, idle_closed, dropped_emfile;
};

/**
 * sb__conn_admit() - record accepted connection @fd of @id, if the limits
 * allow it
 * @max_total:  connections of the whole broker (0: no limit)
 * @max_per_id: connections of @id's identity (0: no limit)
 * Return: 0, or -EMFILE (a limit; nothing recorded, counted as refused) or
 * -ENOMEM. The caller closes @fd on failure.
 */
int sb__conn_admit(int fd, const struct sb__identity *id, uint32_t max_total,
		   uint32_t max_per_id);

/** sb__conn_refused() - count a connection of @id refused before it was
 *  recorded: @by_policy 1 (no rule serves @id) or 0 (a limit). */
void sb__conn_refused(const struct sb__identity *id, int by_policy);

/** sb__conn_dropped() - count a connection accepted and dropped at once
 *  because the broker had no descriptor left for it. */
void sb__conn_dropped(void);

/**
 * sb__conn_call_begin() - the identity of a call from gRPC peer @peer
 * ("fd:N"), and a reference to its connection's record (the call is
 * counted on the record until sb__conn_call_end()).
 * Return: 0 with @out and @ref filled, or -ENOENT (not a local connection
 * the broker recorded; @ref->fd is -1 then).
 */
int sb__conn_call_begin(const char *peer, struct sb__identity *out,
			struct sb__conn_ref *ref);

/**
 * sb__conn_hold() - count a call on the record of accepted connection @fd,
 * as sb__conn_call_begin() does for a gRPC peer: for a side channel the
 * broker holds itself, so that the idle sweep leaves its connection alone.
 * @out (may be NULL) gets the connection's identity.
 * Return: 0, or -ENOENT (no record of @fd; @ref->fd is -1 then).
 */
int sb__conn_hold(int fd, struct sb__identity *out, struct sb__conn_ref *ref);

/** sb__conn_call_end() - the call of @ref ended. No-op for fd -1 or a
 *  record that is gone. */
void sb__conn_call_end(const struct sb__conn_ref *ref);

/**
 * sb__conn_close() - close accepted connection @fd, which the broker holds
 * itself (a hand-off channel), not gRPC: its record is forgotten at once
 * rather than at the next sweep, and the close is ordered (by the table's
 * lock) with the sweep's look at the number.
 */
void sb__conn_close(int fd);

/**
 * sb__conn_sweep() - forget records whose fd was closed, and shut down
 * connections that had no call for @idle_ms (0: never). Accept thread.
 * Return: how many connections were shut down for idleness.
 */
unsigned sb__conn_sweep(int64_t now_ms, uint32_t idle_ms);

/** sb__conn_stats() - the counters. */
void sb__conn_stats(struct sb__conn_stats *out);

/** sb__conn_free() - drop every record (shutdown). */
void sb__conn_free(void);

/**
 * sb__identity_of_tcp() - the identity of a call over a TCP listener: the
 * verified client certificate's subject (mutual TLS), or an anonymous
 * loopback caller of an insecure listener. uid, gid and cgroup stay
 * unknown (policy matches them for Unix callers only).
 * Return: 0 with @out filled, or -ENOENT (not a TCP call).
 */
struct grpc_call;
int sb__identity_of_tcp(struct grpc_call *call, struct sb__identity *out);

/** sb__identity_from_fd() - read SO_PEERCRED and the cgroup of @fd's peer.
 *  Return: 0 or -errno. */
int sb__identity_from_fd(int fd, struct sb__identity *out);

#endif /* SB_SERVER_IDENTITY_H */
