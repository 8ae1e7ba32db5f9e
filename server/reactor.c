/* SPDX-License-Identifier: MIT
 * reactor.c - the epoll thread that owns every parked call: readiness,
 * deadlines (a binary heap), handle closes and client cancellations, all
 * handled on this one thread so that waiter state needs no locks.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "reactor.h"
#include "rpc.h"
#include "session.h"

enum sb__msg_kind { SB__MSG_PARK, SB__MSG_CLOSED, SB__MSG_CANCEL, SB__MSG_STOP };

struct sb__msg {
	enum sb__msg_kind kind;
	union {
		struct sb__waiter *w;
		struct sb__sock *sock;
		struct sb__call *call;
	} u;
	struct sb__msg *next;
};

static int sb__epfd = -1, sb__evfd = -1;
static pthread_t sb__thread;
static pthread_mutex_t sb__qlock = PTHREAD_MUTEX_INITIALIZER;
static struct sb__msg *sb__qhead, **sb__qtail = &sb__qhead;
static atomic_uint_fast64_t sb__nparked;

/* Deadline heap (reactor thread only). */
static struct sb__waiter **sb__heap;
static size_t sb__heap_n, sb__heap_cap;

/*
 * What the reactor thread is walking while steps run, so that a waiter or
 * an io that goes away under the walk is stepped over instead of used:
 * sb__cursor is the next waiter sb__dispatch_io() visits (moved on when
 * that waiter is dropped); sb__batch[sb__batch_i + 1 .. sb__batch_n - 1]
 * are the events of this epoll_wait() not yet handled (an io whose
 * registration is removed has its entries cleared: the io may be freed).
 */
static struct sb__waiter *sb__cursor;
static struct epoll_event sb__batch[64];
static int sb__batch_i, sb__batch_n;

uint64_t sb__reactor_parked(void)
{
	return atomic_load(&sb__nparked);
}

static void sb__heap_swap(size_t a, size_t b)
{
	struct sb__waiter *t = sb__heap[a];

	sb__heap[a] = sb__heap[b];
	sb__heap[b] = t;
	sb__heap[a]->heap_idx = a;
	sb__heap[b]->heap_idx = b;
}

static void sb__heap_up(size_t i)
{
	while (i > 0 && sb__heap[(i - 1) / 2]->deadline > sb__heap[i]->deadline) {
		sb__heap_swap(i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void sb__heap_down(size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < sb__heap_n && sb__heap[l]->deadline < sb__heap[m]->deadline)
			m = l;
		if (r < sb__heap_n && sb__heap[r]->deadline < sb__heap[m]->deadline)
			m = r;
		if (m == i)
			return;
		sb__heap_swap(i, m);
		i = m;
	}
}

static int sb__heap_push(struct sb__waiter *w)
{
	if (sb__heap_n == sb__heap_cap) {
		size_t cap = sb__heap_cap ? sb__heap_cap * 2 : 64;
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		struct sb__waiter **h = realloc(sb__heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		sb__heap = h;
		sb__heap_cap = cap;
	}
	w->heap_idx = sb__heap_n;
	sb__heap[sb__heap_n++] = w;
	sb__heap_up(w->heap_idx);
	return 0;
}

static void sb__heap_remove(struct sb__waiter *w)
{
	size_t i = w->heap_idx;

	if (i == SIZE_MAX)
		return;
	w->heap_idx = SIZE_MAX;
	if (i == --sb__heap_n)
		return;
	sb__heap[i] = sb__heap[sb__heap_n];
	sb__heap[i]->heap_idx = i;
	sb__heap_up(i);
	sb__heap_down(sb__heap[i]->heap_idx);
}

static void sb__post(struct sb__msg *m)
{
	uint64_t one = 1;

	m->next = NULL;
	pthread_mutex_lock(&sb__qlock);
	*sb__qtail = m;
	sb__qtail = &m->next;
	/* After sb__reactor_stop() nobody drains the queue: late messages
	 * stay there (reachable) until exit, and the eventfd is gone. */
	if (sb__evfd >= 0 && write(sb__evfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		sb__err("reactor wake-up failed: %s", strerror(errno));
	pthread_mutex_unlock(&sb__qlock);
}

static void sb__post_new(enum sb__msg_kind kind, void *p)
{
	struct sb__msg *m = calloc(1, sizeof(*m));

	if (!m)
		sb__die("out of memory in the reactor queue");
	m->kind = kind;
	m->u.w = p;
	sb__post(m);
}

/* Make the epoll registration of @io match the union of its waiters. */
static void sb__io_update(struct sb__io *io)
{
	struct epoll_event ev;
	struct sb__waiter *w;
	uint32_t want = 0;
	int op;

	for (w = io->waiters; w; w = w->next)
		want |= w->events;
	if (want == io->registered)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = io;
	if (!want)
		op = EPOLL_CTL_DEL;
	else if (!io->registered)
		op = EPOLL_CTL_ADD;
	else
		op = EPOLL_CTL_MOD;
	if (epoll_ctl(sb__epfd, op, io->fd, &ev) < 0)
		sb__err("epoll_ctl(%d) on fd %d: %s", op, io->fd, strerror(errno));
	if (op == EPOLL_CTL_DEL) {
		int i;

		/* epoll never reports no event: 0 marks an entry to skip. */
		for (i = sb__batch_i + 1; i < sb__batch_n; i++)
			if (sb__batch[i].data.ptr == io)
				sb__batch[i].events = 0;
	}
	/* The registration holds a ref on the socket, so the fd stays open. */
	if (io->sock && !io->registered && want)
		sb__sock_ref(io->sock);
	io->registered = want;
	if (io->sock && !want)
		sb__sock_unref(io->sock);
}

/* Unlink @w from everything and release it; its call is finished. */
static void sb__waiter_drop(struct sb__waiter *w)
{
	struct sb__waiter **pp;

	if (sb__cursor == w)
		sb__cursor = w->next;
	for (pp = &w->io->waiters; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	if (w->io->sock)
		atomic_fetch_sub(&w->io->sock->io_waiters, 1);
	sb__heap_remove(w);
	sb__io_update(w->io);
	w->call->parked[w->slot] = NULL;
	sb__call_unref(w->call);
	if (w->sock)
		sb__sock_unref(w->sock);
	atomic_fetch_sub(&sb__nparked, 1);
	w->destroy(w);
}

/* Run @w's step. Only readiness may leave it parked: every other wake
 * ends the wait, so that the loops that wake the head of a list or of the
 * heap until it is empty always end. */
static void sb__wake(struct sb__waiter *w, enum sb__wake why)
{
	if (w->step(w, why) || why != SB__WAKE_READY)
		sb__waiter_drop(w);
}

/* Client went away: runs on a CQ thread, forwards to the reactor. */
static void sb__on_cancel(struct sb__call *call)
{
	sb__call_ref(call);
	sb__post_new(SB__MSG_CANCEL, call);
}

void sb__reactor_park(struct sb__waiter *w)
{
	w->heap_idx = SIZE_MAX;
	w->next = NULL;
	atomic_fetch_add(&sb__nparked, 1);
	sb__post_new(SB__MSG_PARK, w);
}

void sb__reactor_unpark(struct sb__call *call)
{
	sb__on_cancel(call);
}

void sb__reactor_sock_closed(struct sb__sock *k)
{
	/* No waiter on @k: nothing to wake, and no reference taken, so that
	 * the caller's last one closes the fd at once (a close(2) frees its
	 * number before it returns). A park still on its way sees @k closed
	 * itself: sb__do_park() counts its waiter before it looks, and the
	 * caller set closed before this looks. */
	if (!atomic_load(&k->io_waiters))
		return;
	sb__sock_ref(k);
	sb__post_new(SB__MSG_CLOSED, k);
}

static void sb__do_park(struct sb__waiter *w)
{
	/* call->parked points at the waiter while parked, for cancellation. */
	w->call->parked[w->slot] = w;
	w->next = w->io->waiters;
	w->io->waiters = w;
	if (w->io->sock)
		atomic_fetch_add(&w->io->sock->io_waiters, 1);
	if (w->deadline != INT64_MAX && sb__heap_push(w) < 0) {
		sb__wake(w, SB__WAKE_TIMEOUT);
		return;
	}
	if (sb__call_on_close(w->call, sb__on_cancel) < 0) {
		sb__wake(w, SB__WAKE_CANCELLED);
		return;
	}
	if (w->sock && atomic_load(&w->sock->closed)) {
		sb__wake(w, SB__WAKE_CLOSED);
		return;
	}
	sb__io_update(w->io);
}

static void sb__do_closed(struct sb__sock *k)
{
	while (k->io.waiters)
		sb__wake(k->io.waiters, SB__WAKE_CLOSED);
	sb__sock_unref(k);
}

static void sb__do_cancel(struct sb__call *call)
{
	int i;

	/* parked[] is cleared when a waiter is dropped, so a stale message
	 * finds nothing; it is only touched on the reactor thread. */
	for (i = 0; i < 2; i++)
		if (call->parked[i])
			sb__wake(call->parked[i], SB__WAKE_CANCELLED);
	sb__call_unref(call);
}

/* Return: 1 when asked to stop. */
static int sb__drain(void)
{
	struct sb__msg *m, *next;
	uint64_t v;
	int stop = 0;

	if (read(sb__evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		sb__err("reactor eventfd: %s", strerror(errno));
	pthread_mutex_lock(&sb__qlock);
	m = sb__qhead;
	sb__qhead = NULL;
	sb__qtail = &sb__qhead;
	pthread_mutex_unlock(&sb__qlock);
	for (; m; m = next) {
		next = m->next;
		switch (m->kind) {
		case SB__MSG_PARK:
			sb__do_park(m->u.w);
			break;
		case SB__MSG_CLOSED:
			sb__do_closed(m->u.sock);
			break;
		case SB__MSG_CANCEL:
			sb__do_cancel(m->u.call);
			break;
		case SB__MSG_STOP:
			stop = 1;
			break;
		}
		free(m);
	}
	return stop;
}

/* Wake the waiters of @io that asked for @events. A step may drop other
 * waiters, the last one freeing @io with its socket: the walk goes on
 * through sb__cursor, which a drop moves past the dropped waiter, and does
 * not look at @io again. */
static void sb__dispatch_io(struct sb__io *io, uint32_t events)
{
	struct sb__waiter *w;

	if (events & (EPOLLERR | EPOLLHUP))
		events |= EPOLLIN | EPOLLOUT;
	sb__cursor = io->waiters;
	while ((w = sb__cursor) != NULL) {
		sb__cursor = w->next;
		if (w->events & events)
			sb__wake(w, SB__WAKE_READY);
	}
}

static void *sb__reactor_main(void *arg)
{
	int stop = 0;

	(void)arg;
	while (!stop) {
		int64_t now = sb__now_ms(), timeout = -1;
		int i, n;

		/* Each wake drops heap[0] (sb__wake()), and a step may drop
		 * others: always take the current head, never an index. */
		while (sb__heap_n && sb__heap[0]->deadline <= now)
			sb__wake(sb__heap[0], SB__WAKE_TIMEOUT);
		if (sb__heap_n)
			timeout = sb__heap[0]->deadline - now;
		if (timeout > 60000)
			timeout = 60000;
		n = epoll_wait(sb__epfd, sb__batch, 64, (int)timeout);
		if (n < 0 && errno != EINTR)
			sb__die("epoll_wait: %s", strerror(errno));
		sb__batch_n = n;
		for (i = 0; i < n; i++) {
			sb__batch_i = i;
			if (!sb__batch[i].events)
				continue;
			if (sb__batch[i].data.ptr == NULL)
				stop |= sb__drain();
			else
				sb__dispatch_io(sb__batch[i].data.ptr, sb__batch[i].events);
		}
		sb__batch_n = 0;
	}
	return NULL;
}

int sb__reactor_start(void)
{
	struct epoll_event ev;

	sb__epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sb__epfd < 0)
		return -errno;
	sb__evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sb__evfd < 0)
		return -errno;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(sb__epfd, EPOLL_CTL_ADD, sb__evfd, &ev) < 0)
		return -errno;
	if (pthread_create(&sb__thread, NULL, sb__reactor_main, NULL))
		return -EAGAIN;
	return 0;
}

void sb__reactor_stop(void)
{
	sb__post_new(SB__MSG_STOP, NULL);
	pthread_join(sb__thread, NULL);
	/* Finish what is still parked, then drain late messages. */
	while (sb__heap_n)
		sb__wake(sb__heap[0], SB__WAKE_CANCELLED);
	sb__drain();
	while (sb__heap_n)
		sb__wake(sb__heap[0], SB__WAKE_CANCELLED);
	free(sb__heap);
	pthread_mutex_lock(&sb__qlock);
	close(sb__evfd);
	sb__evfd = -1;
	pthread_mutex_unlock(&sb__qlock);
	close(sb__epfd);
}
