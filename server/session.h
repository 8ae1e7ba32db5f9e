/* SPDX-License-Identifier: MIT
 * session.h - sessions (leases held by an OpenSession stream) and the
 * handle table of each: the broker's sockets and who owns them.
 *
 * Ownership: a session owns its sockets; a socket (struct sb__sock) is
 * reference counted because calls on it may be in flight on several
 * threads and parked in the reactor. Closing a handle removes it from the
 * table at once (later calls get NOT_FOUND) and fails its parked waits;
 * the fd is closed when the last reference goes.
 */
#ifndef SB_SERVER_SESSION_H
#define SB_SERVER_SESSION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "handles.h"
#include "identity.h"
#include "reactor.h"

struct sb__call;
struct sb__dchan;

struct sb__sock {
	uint64_t handle;
	int fd;
	int family;            /* native AF_* */
	int type;              /* native SOCK_* */
	atomic_int nonblock;   /* client-visible O_NONBLOCK */
	atomic_int refs;
	atomic_int closed;     /* handle closed: no new work */
	struct sb__session *session; /* weak: the session outlives it in the table */
	struct sb__io io;      /* reactor state: reactor thread only */
	atomic_int io_waiters; /* waiters linked on @io (reactor.c): read by
				* sb__reactor_sock_closed() on any thread */
	atomic_int pktinfo_on; /* IP_PKTINFO/IPV6_RECVPKTINFO enabled */
	atomic_uint drops_seen; /* SO_RXQ_OVFL total already counted */
};

struct sb__session {
	uint64_t id;
	char token[33];
	struct sb__identity ident;
	char client_name[65];
	atomic_int refs;
	atomic_int ended;
	struct sb__call *lease;  /* the OpenSession call, ref held */
	pthread_mutex_t lock;    /* guards the table below */
	struct sb__htab socks;   /* handle -> struct sb__sock (the table's ref) */
	uint32_t max_sockets;
	uint32_t reserved;       /* sockets counted before they exist (Dial) */
	struct sb__idrec *idrec; /* the identity's counters */
	atomic_uint accepts;     /* Accept calls and accept streams waiting */
	atomic_uint_fast64_t bytes; /* buffer bytes held for its calls now */
	/* The hand-off side channel: guarded by handoff.c's lock. */
	int ho_bound;            /* 1: ho_fd is the channel */
	int ho_fd;
	struct sb__conn_ref ho_conn; /* holds its connection busy (not idle) */
	int ho_held;             /* descriptors its Sends took off the channel
				  * and still hold (Hand-off rule 6) */
	struct sb__dchan *dc;    /* its dial channel (dialchan.h), or NULL */
};

/** sb__sessions_init() - Return: 0 or -errno. */
int sb__sessions_init(void);

/** sb__sessions_set_limits() - limits for sessions and sockets opened from
 *  now on (0 for @max_sockets_per_id: none). Start-up and reload. */
void sb__sessions_set_limits(uint32_t max_sessions, uint32_t max_per_uid,
			     uint32_t max_sockets, uint32_t max_sockets_per_id,
			     uint32_t max_pending_accepts, uint32_t max_stream_bytes);

/** sb__sessions_set_byte_limits() - max_session_bytes and
 *  max_identity_bytes for charges from now on. Start-up and reload. */
void sb__sessions_set_byte_limits(uint64_t per_session, uint64_t per_identity);

/**
 * sb__bytes_charge() - count @n bytes the broker holds for a call of @s (a
 * receive buffer, a stream's buffers and the message it has in flight)
 * against max_session_bytes and max_identity_bytes. Charge before
 * allocating, release after freeing. Thread-safe.
 * Return: 0, or -ENOBUFS (session bound) / -EDQUOT (identity bound) with
 * nothing counted.
 */
int sb__bytes_charge(struct sb__session *s, size_t n);

/** sb__bytes_release() - @n bytes charged to @s were freed. When the
 *  broker then holds nothing and much was freed since the last time, the
 *  heap's free pages go back to the kernel (malloc_trim). */
void sb__bytes_release(struct sb__session *s, size_t n);

/** sb__bytes_held() - buffer bytes the broker holds for all callers now. */
uint64_t sb__bytes_held(void);

/** sb__bytes_limits() - max_session_bytes and max_identity_bytes now. */
void sb__bytes_limits(uint64_t *per_session, uint64_t *per_identity);

/** sb__bytes_limit_name() - the limit a charge error names. */
const char *sb__bytes_limit_name(int err);

/** sb__session_accept_begin() / _end() - count one waiting Accept or
 *  accept stream of @s. Return: 0, or -ENOSPC (max_pending_accepts). */
int sb__session_accept_begin(struct sb__session *s);
void sb__session_accept_end(struct sb__session *s);

/** sb__stream_max_bytes() - max_stream_bytes: the most one stream holds
 *  in flight (one message of at most this many data bytes). */
uint32_t sb__stream_max_bytes(void);

/** sb__session_full() - 1 when @s may not hold one more socket (its own
 *  limit or its identity's): checked before accept(2), so that a refused
 *  accept leaves the connection queued, as the kernel does with EMFILE. */
int sb__session_full(struct sb__session *s);

/**
 * sb__session_reserve() - count one socket that is not in @s's table yet
 * (a Dial in flight, or one more of its connection attempts) against
 * max_sockets_per_session and max_sockets_per_uid, as sb__sock_add()
 * would count it; the identity's sockets_open includes it. Thread-safe.
 * Return: 0, -EMFILE (a limit; nothing counted) or -ESHUTDOWN (ended).
 */
int sb__session_reserve(struct sb__session *s);

/** sb__session_unreserve() - give back @n sockets of sb__session_reserve(). */
void sb__session_unreserve(struct sb__session *s, uint32_t n);

/** sb__sessions_over_id_limit() - 1 when @s's identity holds its limit of
 *  sockets (tells which limit an -EMFILE of sb__sock_add hit). */
int sb__sessions_over_id_limit(const struct sb__session *s);

/**
 * sb__session_open() - create a session for @ident, bound to @lease
 * Return: 0 with *@out (one ref for the caller), -EMFILE (broker limit),
 *         -EUSERS (per-uid limit), -ENOMEM.
 */
int sb__session_open(const struct sb__identity *ident, const char *name,
		     struct sb__call *lease, struct sb__session **out);

/** sb__session_find() - by token; Return: a ref, or NULL. */
struct sb__session *sb__session_find(const char *token, size_t len);

/** sb__session_end() - close every socket, end the lease; idempotent. */
void sb__session_end(struct sb__session *s);

void sb__session_ref(struct sb__session *s);
void sb__session_unref(struct sb__session *s);

/** sb__sessions_end_all() - at shutdown. */
void sb__sessions_end_all(void);

/**
 * sb__sock_add() - put a new fd in the session's table
 * Return: 0 with *@out (one ref for the caller), -EMFILE (session or
 *         identity limit; @fd not taken), -ENOMEM, -ESHUTDOWN (ended).
 * On success the table owns @fd.
 */
int sb__sock_add(struct sb__session *s, int fd, int family, int type,
		 int nonblock, struct sb__sock **out);

/** sb__sock_get() - by handle; Return: a ref, or NULL (unknown/closed). */
struct sb__sock *sb__sock_get(struct sb__session *s, uint64_t handle);

/** sb__handle_close() - remove @handle; Return: 0 or -EBADF. */
int sb__handle_close(struct sb__session *s, uint64_t handle);

/**
 * sb__sock_pass() - hand socket @k (a ref the caller holds) out of @s:
 * when the table and the caller hold the only references (no call in
 * progress, nothing parked), run @fn(@k, @arg) with the table locked, and
 * when it succeeds remove the handle as sb__handle_close() does (the fd
 * closes with the caller's last reference).
 * Return: 0, -EBADF (not in the table any more), -EBUSY (calls in
 * progress), or @fn's negative result (nothing changed).
 */
int sb__sock_pass(struct sb__session *s, struct sb__sock *k,
		  int (*fn)(struct sb__sock *k, void *arg), void *arg);

void sb__sock_ref(struct sb__sock *k);
void sb__sock_unref(struct sb__sock *k);

/** sb__sessions_count() - open sessions, open sockets (for stats). */
void sb__sessions_count(uint64_t *sessions, uint64_t *sockets);

#endif /* SB_SERVER_SESSION_H */
