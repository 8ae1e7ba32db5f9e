/* SPDX-License-Identifier: MIT
 * reactor.h - the I/O reactor: one epoll thread where calls that must wait
 * (connect in progress, accept/recv with nothing ready, send with a full
 * buffer, poll) are parked with their deadline, and finished when the
 * socket is ready, the deadline passes, the handle is closed or the client
 * cancels. CQ threads never wait.
 *
 * A waiter is owned by the reactor from sb__reactor_park() until its step
 * function returns 1; its step function runs on the reactor thread only.
 * For a unary call, the step finishes the call before returning 1; a
 * stream's step may instead hand the call on (start a send) and park
 * again later with a new waiter.
 */
#ifndef SB_SERVER_REACTOR_H
#define SB_SERVER_REACTOR_H

#include <stddef.h>
#include <stdint.h>

struct sb__call;
struct sb__sock;

enum sb__wake {
	SB__WAKE_READY,     /* the fd is ready for the events asked */
	SB__WAKE_TIMEOUT,   /* the deadline passed */
	SB__WAKE_CLOSED,    /* the handle was closed: finish with EBADF */
	SB__WAKE_CANCELLED, /* the client went away */
};

/* An epoll registration: a broker socket, or a private fd of a waiter. */
struct sb__io {
	int fd;
	uint32_t registered;        /* epoll events registered, 0: none */
	struct sb__waiter *waiters; /* parked on this fd */
	struct sb__sock *sock;      /* NULL for private fds */
};

struct sb__waiter {
	struct sb__call *call;      /* ref held by the waiter */
	struct sb__sock *sock;      /* ref held, or NULL */
	struct sb__io *io;          /* where it waits */
	uint32_t events;            /* EPOLLIN and/or EPOLLOUT */
	int64_t deadline;           /* CLOCK_MONOTONIC ms, INT64_MAX: none */
	/* Return 1 when the call is finished, 0 to keep waiting. Only a
	 * READY wake may keep waiting: after any other the reactor drops
	 * the waiter whatever the step returns, so the step must finish
	 * (or hand on) the call. A step may drop other waiters. */
	int (*step)(struct sb__waiter *w, enum sb__wake why);
	void (*destroy)(struct sb__waiter *w); /* frees the op's state */
	struct sb__waiter *next;    /* in io->waiters */
	size_t heap_idx;            /* in the deadline heap, SIZE_MAX: none */
	int slot;                   /* call->parked[slot]: 0, or 1 for a second
	                             * wait of the same call (Pipe's writer) */
};

/** sb__reactor_start() - create the epoll set and thread. Return: 0/-errno. */
int sb__reactor_start(void);

/** sb__reactor_stop() - finish every parked call (cancelled), join. */
void sb__reactor_stop(void);

/**
 * sb__reactor_park() - hand a waiter to the reactor (any thread)
 * @w: filled by the caller, with refs on w->call and w->sock taken;
 *     w->io is &w->sock->io for socket waits.
 */
void sb__reactor_park(struct sb__waiter *w);

/** sb__reactor_sock_closed() - the handle of @k was closed (@k->closed
 *  set first): fail its waiters with EBADF and drop its registration (any
 *  thread). Without waiters it does nothing and holds no reference, so
 *  the fd closes with the caller's last one. */
void sb__reactor_sock_closed(struct sb__sock *k);

/** sb__reactor_unpark() - wake every waiter of @call with
 *  SB__WAKE_CANCELLED (any thread); for streams ending on their own. */
void sb__reactor_unpark(struct sb__call *call);

/** sb__reactor_parked() - number of calls parked now (stats). */
uint64_t sb__reactor_parked(void);

#endif /* SB_SERVER_REACTOR_H */
