/* SPDX-License-Identifier: MIT
 * handoff.c - fd hand-off (handoff.h): tickets that bind a caller's side
 * channel to its session, the channels, and the SCM_RIGHTS messages that
 * carry handed fds.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/sockios.h>

#include "clock.h"
#include "dialchan.h"
#include "handoff.h"
#include "log.h"
#include "session.h"

/* One outstanding ticket: at most one per session (a new one replaces
 * it), so the table is bounded by the sessions. */
struct sb__ticket {
	struct sb__session *s;   /* ref held */
	unsigned char bytes[SB__HO_TICKET_LEN];
	int64_t expires_ms;
};

/* Unread fds a channel may hold: its send buffer bounds them (each
 * SCM_RIGHTS message takes a buffer of its own, about 1 KiB of it). */
#define SB__HO_SNDBUF 65536

static pthread_mutex_t sb__ho_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sb__ticket *sb__tickets;
static size_t sb__n_tickets, sb__cap_tickets;
static atomic_uint_fast64_t sb__ho_next_tag = 1;

/* Remove ticket @i; its session ref goes to *@drop (unref it unlocked).
 * Caller holds sb__ho_lock. */
static struct sb__session *sb__ticket_remove(size_t i)
{
	struct sb__session *s = sb__tickets[i].s;

	sb__tickets[i] = sb__tickets[--sb__n_tickets];
	return s;
}

/* Drop expired tickets, up to @max of them into @drop (refs to unref
 * unlocked). Return: how many. Caller holds sb__ho_lock. */
static size_t sb__tickets_expire(int64_t now, struct sb__session **drop, size_t max)
{
	size_t i = 0, n = 0;

	while (i < sb__n_tickets && n < max) {
		if (sb__tickets[i].expires_ms <= now)
			drop[n++] = sb__ticket_remove(i);
		else
			i++;
	}
	return n;
}

static void sb__unref_all(struct sb__session **drop, size_t n)
{
	while (n)
		sb__session_unref(drop[--n]);
}

int sb__handoff_ticket(struct sb__session *s, unsigned char *out)
{
	struct sb__session *drop[9];
	size_t n = 0, i;
	int ret = 0;

	if (getrandom(out, SB__HO_TICKET_LEN, 0) != SB__HO_TICKET_LEN)
		return -EIO;
	pthread_mutex_lock(&sb__ho_lock);
	n = sb__tickets_expire(sb__now_ms(), drop, 8);
	for (i = 0; i < sb__n_tickets; i++)
		if (sb__tickets[i].s == s) {
			drop[n++] = sb__ticket_remove(i);
			break;
		}
	if (sb__n_tickets == sb__cap_tickets) {
		size_t cap = sb__cap_tickets ? sb__cap_tickets * 2 : 16;
		struct sb__ticket *t = realloc(sb__tickets, cap * sizeof(*t));

		if (!t) {
			ret = -ENOMEM;
			goto out;
		}
		sb__tickets = t;
		sb__cap_tickets = cap;
	}
	sb__session_ref(s);
	sb__tickets[sb__n_tickets].s = s;
	memcpy(sb__tickets[sb__n_tickets].bytes, out, SB__HO_TICKET_LEN);
	sb__tickets[sb__n_tickets].expires_ms = sb__now_ms() + SB__HO_TICKET_MS;
	sb__n_tickets++;
out:
	pthread_mutex_unlock(&sb__ho_lock);
	sb__unref_all(drop, n);
	return ret;
}

enum sb__preface sb__handoff_preface(int fd)
{
	unsigned char b[SB__HO_HELLO_LEN];
	ssize_t n = recv(fd, b, sizeof(b), MSG_PEEK | MSG_DONTWAIT);
	size_t m;
	int dial;

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? SB__PREFACE_WAIT : SB__PREFACE_GONE;
	if (n == 0)
		return SB__PREFACE_GONE;
	m = (size_t)n < SB__HO_MAGIC_LEN ? (size_t)n : SB__HO_MAGIC_LEN;
	dial = !memcmp(b, SB__DC_MAGIC, m);
	if (!dial && memcmp(b, SB__HO_MAGIC, m))
		return SB__PREFACE_GRPC;
	if (n < SB__HO_HELLO_LEN)
		return SB__PREFACE_WAIT;
	return dial ? SB__PREFACE_DIAL : SB__PREFACE_CHANNEL;
}

/* Compare without an early exit, so that timing tells nothing of a ticket. */
static int sb__ticket_eq(const unsigned char *a, const unsigned char *b)
{
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < SB__HO_TICKET_LEN; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

/* Take @ticket for a caller @id. Caller holds sb__ho_lock.
 * Return: 0, or the errno to answer; *@used gets the ticket's session
 * ref whenever there is one (unref it unlocked). */
static int sb__claim_locked(const struct sb__identity *id, const unsigned char *ticket,
			    struct sb__session **used)
{
	struct sb__session *s = NULL;
	size_t i;

	for (i = 0; i < sb__n_tickets; i++)
		if (sb__ticket_eq(sb__tickets[i].bytes, ticket)) {
			/* Single use: gone whatever comes next. */
			s = *used = sb__ticket_remove(i);
			break;
		}
	if (!s)
		return EACCES;
	if (atomic_load(&s->ended))
		return ESHUTDOWN;
	if (strcmp(s->ident.transport, "unix") || id->uid != s->ident.uid ||
	    id->gid != s->ident.gid)
		return EACCES;
	return 0;
}

/* Bind @fd to the session of @ticket. Caller holds sb__ho_lock.
 * Return: as sb__claim_locked(). */
static int sb__bind_locked(int fd, const struct sb__identity *id,
			   const unsigned char *ticket, struct sb__session **used)
{
	struct sb__session *s;
	int err = sb__claim_locked(id, ticket, used);

	if (err)
		return err;
	s = *used;
	if (s->ho_bound)
		return EBUSY;
	/* The channel counts as a call of its connection while bound, so
	 * that the idle sweep leaves it alone. */
	if (sb__conn_hold(fd, NULL, &s->ho_conn) < 0)
		return ENOTCONN;
	s->ho_fd = fd;
	s->ho_bound = 1;
	return 0;
}

/* Bind a dial channel @fd to the session of @ticket: the session must
 * have its hand-off channel, and no dial channel yet. Caller holds
 * sb__ho_lock. Return: as sb__claim_locked(); *@dc the new channel. */
static int sb__dial_bind_locked(int fd, const struct sb__identity *id,
				const unsigned char *ticket, struct sb__session **used,
				struct sb__dchan **dc)
{
	int err = sb__claim_locked(id, ticket, used);

	if (err)
		return err;
	if (!(*used)->ho_bound)
		return ENOTCONN;
	if ((*used)->dc)
		return EBUSY;
	*dc = sb__dialchan_new(fd, *used, id);
	if (!*dc)
		return ENOMEM;
	(*used)->dc = *dc;
	return 0;
}

/* Bind side connection @fd (whose peer is @id) by its hello: the hand-off
 * channel, or with @dial a dial channel. Takes @fd. */
static void sb__side_bind(int fd, const struct sb__identity *id, int dial)
{
	const char *what = dial ? "dial channel" : "hand-off channel";
	unsigned char hello[SB__HO_HELLO_LEN];
	struct sb__session *drop[9], *used = NULL;
	struct sb__dchan *dc = NULL;
	int sndbuf = SB__HO_SNDBUF;
	size_t n;
	int32_t err;

	if (recv(fd, hello, sizeof(hello), MSG_DONTWAIT) != (ssize_t)sizeof(hello) ||
	    memcmp(hello, dial ? SB__DC_MAGIC : SB__HO_MAGIC, SB__HO_MAGIC_LEN)) {
		sb__conn_close(fd);
		return;
	}
	if (!dial && setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)) < 0)
		sb__warn("hand-off channel: SO_SNDBUF: %s", strerror(errno));
	pthread_mutex_lock(&sb__ho_lock);
	n = sb__tickets_expire(sb__now_ms(), drop, 8);
	if (dial)
		err = sb__dial_bind_locked(fd, id, hello + SB__HO_MAGIC_LEN, &used, &dc);
	else
		err = sb__bind_locked(fd, id, hello + SB__HO_MAGIC_LEN, &used);
	/* A fresh connection's send buffer is empty: this never waits. The
	 * answer goes first, before anything the channel may carry. */
	if (send(fd, &err, sizeof(err), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		sb__debug("%s of uid %u: %s", what, (unsigned)id->uid, strerror(errno));
	pthread_mutex_unlock(&sb__ho_lock);
	if (err) {
		sb__info("%s of uid %u pid %d refused: %s", what, (unsigned)id->uid,
			 (int)id->pid, err == EACCES ? "unknown, used or expired ticket, "
			 "or another caller's" : strerror(err));
		sb__conn_close(fd);
	} else {
		sb__debug("%s of uid %u pid %d bound to session %llu", what,
			  (unsigned)id->uid, (int)id->pid, (unsigned long long)used->id);
		if (dc)
			sb__dialchan_start_reading(dc);
	}
	if (used)
		sb__session_unref(used);
	sb__unref_all(drop, n);
}

void sb__handoff_bind(int fd, const struct sb__identity *id)
{
	sb__side_bind(fd, id, 0);
}

void sb__handoff_dial_bind(int fd, const struct sb__identity *id)
{
	sb__side_bind(fd, id, 1);
}

void sb__handoff_dial_unbind(struct sb__session *s, const struct sb__dchan *dc)
{
	pthread_mutex_lock(&sb__ho_lock);
	if (s->dc == dc)
		s->dc = NULL;
	pthread_mutex_unlock(&sb__ho_lock);
}

/* Close @s's channel. Caller holds sb__ho_lock. */
static void sb__chan_close(struct sb__session *s)
{
	if (!s->ho_bound)
		return;
	sb__conn_call_end(&s->ho_conn);
	sb__conn_close(s->ho_fd);
	s->ho_bound = 0;
	s->ho_fd = -1;
}

int sb__handoff_ready(struct sb__session *s)
{
	int ret;

	pthread_mutex_lock(&sb__ho_lock);
	ret = s->ho_bound ? 0 : -ENOTCONN;
	pthread_mutex_unlock(&sb__ho_lock);
	return ret;
}

/* Set or clear O_NONBLOCK. Return: the flags before, or -errno. */
static int sb__set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	if (fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) < 0)
		return -errno;
	return fl;
}

/* Descriptors a socket received wait on the channel only while it holds
 * at most this many unread bytes: each message takes 768 of them (its
 * buffer), so about 5 messages, 1,265 descriptors at most. They count
 * against the broker's user until read (the kernel's in-flight limit is
 * RLIMIT_NOFILE), and the full 64 KiB buffer would hold about 170 messages:
 * 43,000 descriptors of one caller that never reads. A caller takes them
 * at once (the reply names them), so a short queue is enough. */
#define SB__HO_FDS_UNREAD 4096

/* Send the descriptors of @fds (@n) as one tagged message over @s's
 * channel; with @bounded, only while SB__HO_FDS_UNREAD holds.
 * Return: 0 with *@tag set, -ENOTCONN, -ENOBUFS. */
static int sb__chan_send(struct sb__session *s, const int *fds, size_t n, int bounded,
			 uint64_t *tag)
{
	uint64_t t = atomic_fetch_add(&sb__ho_next_tag, 1);
	int unread = 0, ret = 0;
	ssize_t sent;

	pthread_mutex_lock(&sb__ho_lock);
	if (!s->ho_bound) {
		ret = -ENOTCONN;
	} else if (bounded && ioctl(s->ho_fd, SIOCOUTQ, &unread) == 0 &&
		   unread > SB__HO_FDS_UNREAD) {
		ret = -ENOBUFS;
	} else {
		sent = sb__chan_msg_send(s->ho_fd, t, fds, n);
		if (sent != SB__CHAN_MSG_LEN)
			ret = sent == -EAGAIN ? -ENOBUFS : -ENOTCONN;
		/* The caller closed its end: a new channel may be bound. */
		if (ret == -ENOTCONN)
			sb__chan_close(s);
	}
	pthread_mutex_unlock(&sb__ho_lock);
	if (ret == 0)
		*tag = t;
	return ret;
}

int sb__handoff_send(struct sb__session *s, int fd, int nonblock, uint64_t *tag)
{
	int fl, ret;

	/* O_NONBLOCK belongs to the open file, which the caller shares from
	 * now on: the caller's mode, not the broker's. */
	fl = sb__set_nonblock(fd, nonblock);
	if (fl < 0)
		return fl;
	ret = sb__chan_send(s, &fd, 1, 0, tag);
	if (ret < 0)
		(void)fcntl(fd, F_SETFL, fl);
	return ret;
}

int sb__handoff_send_fds(struct sb__session *s, const struct sb__fdset *set,
			 uint64_t *tag)
{
	if (!set->n || set->n > SB__SCM_MAX_FD)
		return -EINVAL;
	return sb__chan_send(s, set->fd, set->n, 1, tag);
}

int sb__handoff_take_fds(struct sb__session *s, uint64_t tag, uint32_t n,
			 struct sb__fdset *set)
{
	uint64_t got = 0;
	int ret = 0;

	pthread_mutex_lock(&sb__ho_lock);
	if (!s->ho_bound) {
		ret = -ENOTCONN;
		goto out;
	}
	/* Never a wait: the library writes the message before its call, so
	 * a message that is not there yet was never sent. */
	if (sb__chan_msg_recv(s->ho_fd, MSG_DONTWAIT, &got, set) != 1 || got != tag ||
	    set->n != n) {
		sb__fdset_close(set);
		sb__chan_close(s);
		ret = -ECONNRESET;
		goto out;
	}
	if (s->ho_held + (int)n > SB__SCM_MAX_FD) {
		sb__fdset_close(set);
		ret = -ETOOMANYREFS;
		goto out;
	}
	s->ho_held += (int)n;
out:
	pthread_mutex_unlock(&sb__ho_lock);
	return ret;
}

void sb__handoff_release_fds(struct sb__session *s, struct sb__fdset *set, size_t took)
{
	sb__fdset_close(set);
	if (!took)
		return;
	pthread_mutex_lock(&sb__ho_lock);
	s->ho_held -= (int)took;
	pthread_mutex_unlock(&sb__ho_lock);
}

int sb__handoff_eligible(int fd, int type)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int on = 0;
	socklen_t olen = sizeof(on);

	if (type != SOCK_STREAM)
		return -EINVAL;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &olen) == 0 && on)
		return 0;
	return getpeername(fd, (struct sockaddr *)&ss, &len) == 0 ? 0 : -EINVAL;
}

void sb__handoff_session_end(struct sb__session *s)
{
	struct sb__session *drop = NULL;
	size_t i;

	pthread_mutex_lock(&sb__ho_lock);
	for (i = 0; i < sb__n_tickets; i++)
		if (sb__tickets[i].s == s) {
			drop = sb__ticket_remove(i);
			break;
		}
	sb__chan_close(s);
	if (s->dc)
		sb__dialchan_hangup(s->dc);
	pthread_mutex_unlock(&sb__ho_lock);
	if (drop)
		sb__session_unref(drop);
}
