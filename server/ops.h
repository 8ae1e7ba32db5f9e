/* SPDX-License-Identifier: MIT
 * ops.h - the RPC handlers, one per method, and what they share.
 * Each handler owns its call until it finishes it (directly, or through
 * the reactor or the resolver pool).
 */
#ifndef SB_SERVER_OPS_H
#define SB_SERVER_OPS_H

#include <stdint.h>

#include "consts.h"
#include "convert.h"
#include "guard.h"
#include "rpc.h"
#include "session.h"

#define SB_ERRNO(e) ((SBPB(Errno))sb__errno_to_portable(e))

/**
 * sb__op_sock() - the socket named by @handle in the call's session
 * Return: a ref, or NULL after failing the call with NOT_FOUND/EBADF.
 */
struct sb__sock *sb__op_sock(struct sb__call *call, uint64_t handle);

/**
 * sb__op_sock_for() - sb__op_sock(), then the policy check of @op on that
 * socket (with @a, the address the kernel will use, or NULL): the lookup
 * every handler of an operation on a socket starts with.
 * Return: a reference (the caller drops it), or NULL after failing the
 *         call with NOT_FOUND or PERMISSION_DENIED.
 */
struct sb__sock *sb__op_sock_for(struct sb__call *call, uint64_t handle, enum sb__pol_op op,
				 const struct sb__addr *a);

/** sb__op_native() - translate a portable constant or fail the call with
 *  INVALID_ARGUMENT naming @what. Return: 0 or -EINVAL. */
int sb__op_native(struct sb__call *call, enum sb__cfam fam, uint32_t v,
		  const char *what, int *out);

/**
 * sb__op_check() - the policy decision on @r for the caller of @call
 * Return: 0 (allowed), or -EACCES after failing @call with
 *         PERMISSION_DENIED naming the rule (the guard logged and counted it).
 */
int sb__op_check(struct sb__call *call, const struct sb__pol_req *r);

/**
 * sb__op_allowed() - the policy check of one operation of the call
 * @k: the socket concerned (its family and type), or NULL
 * @a: the address the kernel will use (connect, bind, sendto), or NULL
 * Return: 0, or -EACCES after failing the call with PERMISSION_DENIED.
 */
int sb__op_allowed(struct sb__call *call, enum sb__pol_op op,
		   const struct sb__sock *k, const struct sb__addr *a);

/**
 * sb__op_source_allowed() - the policy check of a datagram's chosen source
 * (IP_PKTINFO): @src (or NULL) is checked as a bind of that address at the
 * socket's port, @ifindex (0: none) as SO_BINDTOIFINDEX (policy.h rule 6).
 * Return: 0, or -EACCES after failing the call with PERMISSION_DENIED.
 */
int sb__op_source_allowed(struct sb__call *call, const struct sb__sock *k,
			  const struct sb__addr *src, int ifindex);

/** sb__op_limit() - fail the call with RESOURCE_EXHAUSTED naming the
 *  limit @name, errno @err; counted. */
void sb__op_limit(struct sb__call *call, int err, const char *name);

/** sb__op_limit_sockets() - fail the call for the session socket limit. */
void sb__op_limit_sockets(struct sb__call *call);

/**
 * sb__op_session_gone() - a wait on a socket ended because the socket was
 * closed: when that was its session's end (the lease ended, the broker is
 * stopping), fail the call with UNAVAILABLE and ECONNRESET, as the client
 * library reports a broker that went away (sockbroker.h rule 8), rather
 * than as a close by the caller.
 * Return: 1 when the call was failed, 0 when the session lives.
 */
int sb__op_session_gone(struct sb__call *call);

/**
 * sb__op_out_of_fds() - when @err (a positive errno from a call that makes
 * a descriptor in the broker: socket, socketpair, accept, Dial's wait set)
 * is EMFILE or ENFILE, the broker's own descriptor table (RLIMIT_NOFILE)
 * or the host's is full: not the caller's doing, and not a lasting answer
 * about its request. Fail the call with RESOURCE_EXHAUSTED and that errno.
 * Return: 1 when the call was failed, 0 for any other @err (untouched).
 */
int sb__op_out_of_fds(struct sb__call *call, int err);

/**
 * sb__op_accept_wait() - count one more accept waiting in the call's
 * session (Accept parked, or an AcceptStream) against max_pending_accepts,
 * and take a session reference for the waiter.
 * Return: the session, or NULL after failing the call (RESOURCE_EXHAUSTED).
 */
struct sb__session *sb__op_accept_wait(struct sb__call *call);

/** sb__op_accept_done() - the waiter is gone: undo sb__op_accept_wait(). */
void sb__op_accept_done(struct sb__session *s);

/** sb__op_deadline() - the deadline of a wait: timeout_ms (when > 0), the
 *  socket's SO_RCVTIMEO/SO_SNDTIMEO (@optname, 0: none) and the call's
 *  deadline, whichever comes first. @by_opt set to 1 when the socket
 *  option decided. Return: CLOCK_MONOTONIC ms or INT64_MAX. */
int64_t sb__op_deadline(struct sb__call *call, const struct sb__sock *k,
			uint32_t timeout_ms, int optname, int *by_opt);

/** sb__op_max_bytes() - the message size limit (max_message_bytes). */
uint32_t sb__op_max_bytes(void);

/** sb__op_max_data() - the most data bytes one message may carry: the
 *  limit less SB__MSG_OVERHEAD (lib/wire.h), as the client computes it. */
uint32_t sb__op_max_data(void);
void sb__op_set_max_bytes(uint32_t n);

/* sessions and operations (ops_session.c) */
void sb__h_open_session(struct sb__call *c, void *req);
void sb__h_close_session(struct sb__call *c, void *req);
void sb__h_get_stats(struct sb__call *c, void *req);
void sb__h_health_check(struct sb__call *c, void *req);
void sb__h_health_watch(struct sb__call *c, void *req);

/* sockets (ops_socket.c) */
void sb__h_socket(struct sb__call *c, void *req);
void sb__h_socketpair(struct sb__call *c, void *req);
void sb__h_bind(struct sb__call *c, void *req);
void sb__h_listen(struct sb__call *c, void *req);
void sb__h_shutdown(struct sb__call *c, void *req);
void sb__h_close(struct sb__call *c, void *req);
void sb__h_getsockname(struct sb__call *c, void *req);
void sb__h_getpeername(struct sb__call *c, void *req);
void sb__h_getpeercred(struct sb__call *c, void *req);
void sb__h_set_nonblocking(struct sb__call *c, void *req);

/* calls that may wait (ops_wait.c) */
void sb__h_connect(struct sb__call *c, void *req);
void sb__h_accept(struct sb__call *c, void *req);
void sb__h_send(struct sb__call *c, void *req);
void sb__h_recv(struct sb__call *c, void *req);
void sb__h_poll(struct sb__call *c, void *req);

/* streams (ops_stream.c) */
void sb__h_accept_stream(struct sb__call *c, void *req);
void sb__h_recv_stream(struct sb__call *c, void *req);
void sb__h_pipe(struct sb__call *c, void *req);
void sb__h_watch_interfaces(struct sb__call *c, void *req);

/* socket options (ops_sockopt.c) */
void sb__h_setsockopt(struct sb__call *c, void *req);
void sb__h_getsockopt(struct sb__call *c, void *req);

/* one-round-trip connect (ops_dial.c) */
void sb__h_dial(struct sb__call *c, void *req);
void sb__h_dial_stream(struct sb__call *c, void *req);

/* fd hand-off (ops_handoff.c) */
struct sb__fdset;
void sb__h_handoff_ticket(struct sb__call *c, void *req);
void sb__h_handoff(struct sb__call *c, void *req);

/**
 * sb__op_handoff_ready() - may the call's session receive fds now: a
 * local session with a bound side channel?
 * Return: 0, or -errno after failing the call with FAILED_PRECONDITION
 *         (a session over TCP, or no channel).
 */
int sb__op_handoff_ready(struct sb__call *call);

/**
 * sb__op_handoff_allowed() - may the call hand fds of socket @k: policy
 * operation `handoff` for @k's family and type, then sb__op_handoff_ready()
 * (what Accept, AcceptStream and Send with descriptors check).
 * Return: 0, or -errno after failing the call (PERMISSION_DENIED,
 *         FAILED_PRECONDITION).
 */
int sb__op_handoff_allowed(struct sb__call *call, const struct sb__sock *k);

/**
 * sb__op_handoff_take() - take the caller's message tagged @tag with @n
 * descriptors off the session's channel into @set (Hand-off rule 6), for
 * a Send; release them with sb__handoff_release_fds(@n).
 * Return: 0, or -errno after failing the call (FAILED_PRECONDITION: over
 *         TCP, no channel, not the announced message; RESOURCE_EXHAUSTED:
 *         the session already holds descriptors of a waiting Send).
 */
int sb__op_handoff_take(struct sb__call *call, uint64_t tag, uint32_t n,
			struct sb__fdset *set);

/**
 * sb__op_handoff_fds() - hand the descriptors socket @k received (@set) to
 * the caller, when the policy allows `handoff` for @k and the session has
 * a bound channel (Hand-off rule 6); the call is never failed.
 * Return: 1 with *@tag set, or 0 (not allowed, no channel, or full: the
 * caller reports MSG_CTRUNC). @set is closed either way (the broker's
 * copies).
 */
int sb__op_handoff_fds(struct sb__call *call, const struct sb__sock *k,
		       struct sb__fdset *set, uint64_t *tag);

/**
 * sb__op_handoff_send() - send @fd (of a new connection: Dial, Accept)
 * over the session's channel with the caller's O_NONBLOCK mode @nonblock
 * @tag: the fd's tag, for the reply
 * Return: 0 (the caller replies, and closes its @fd either way), or
 *         -errno after failing the call (FAILED_PRECONDITION: the channel
 *         closed; RESOURCE_EXHAUSTED: full).
 */
int sb__op_handoff_send(struct sb__call *call, int fd, int nonblock, uint64_t *tag);

/* gRPC server reflection (ops_reflect.c) */
/** sb__reflect_init() - index the compiled-in descriptor files (start-up).
 *  Return: 0 or -errno. */
int sb__reflect_init(void);
/** sb__reflect_free() - at shutdown. */
void sb__reflect_free(void);
void sb__h_reflection(struct sb__call *c, void *req);

/* names and interfaces (ops_names.c) */
void sb__h_getaddrinfo(struct sb__call *c, void *req);
void sb__h_getnameinfo(struct sb__call *c, void *req);
void sb__h_gethostname(struct sb__call *c, void *req);
void sb__h_getservbyname(struct sb__call *c, void *req);
void sb__h_getservbyport(struct sb__call *c, void *req);
void sb__h_getifaddrs(struct sb__call *c, void *req);

#endif /* SB_SERVER_OPS_H */
