/* SPDX-License-Identifier: MIT
 * handoff.h - fd hand-off: one-time tickets, the per-session side channel
 * (a second connection of the caller to a Unix listener) and sending a
 * socket's fd over it with SCM_RIGHTS. The wire rules are the .proto's
 * "Hand-off rules".
 *
 * Locking: one mutex (handoff.c) guards the tickets and every session's
 * channel. It may be taken with a session's lock held, never the reverse.
 * All functions are thread-safe.
 */
#ifndef SB_SERVER_HANDOFF_H
#define SB_SERVER_HANDOFF_H

#include <stdint.h>

#include "cmsg.h"
#include "identity.h"

struct sb__session;
struct sb__dchan;

#define SB__HO_MAGIC "SBHOFF01"    /* a channel's first 8 bytes */
#define SB__HO_MAGIC_LEN 8
#define SB__DC_MAGIC "SBDIAL01"    /* a dial channel's (dialchan.h) */
#define SB__HO_TICKET_LEN 32
#define SB__HO_HELLO_LEN (SB__HO_MAGIC_LEN + SB__HO_TICKET_LEN)
#define SB__HO_TICKET_MS 5000      /* a ticket is good this long */

/* What a new connection's first bytes say it is (sb__handoff_preface). */
enum sb__preface {
	SB__PREFACE_WAIT,     /* too few bytes yet */
	SB__PREFACE_GRPC,     /* anything but the channel's magic */
	SB__PREFACE_CHANNEL,  /* the magic and a whole ticket */
	SB__PREFACE_DIAL,     /* a dial channel's magic and a whole ticket */
	SB__PREFACE_GONE,     /* closed or failed before a byte */
};

/**
 * sb__handoff_ticket() - a new ticket for @s, replacing its last one
 * @out: SB__HO_TICKET_LEN random bytes
 * Return: 0, -ENOMEM, or -EIO (no randomness).
 */
int sb__handoff_ticket(struct sb__session *s, unsigned char *out);

/** sb__handoff_preface() - peek at new connection @fd without waiting
 *  (accept thread). */
enum sb__preface sb__handoff_preface(int fd);

/**
 * sb__handoff_bind() - read the hello of channel @fd (whose peer is @id,
 * admitted like any connection), check its ticket and bind it to the
 * ticket's session; answer the errno (4 bytes). Takes @fd: it is kept as
 * the session's channel, or closed. Accept thread.
 */
void sb__handoff_bind(int fd, const struct sb__identity *id);

/**
 * sb__handoff_dial_bind() - as sb__handoff_bind(), for a dial channel
 * (dialchan.h): at most one per session, which must have its hand-off
 * channel already. Takes @fd: it is given to dialchan.c, or closed.
 */
void sb__handoff_dial_bind(int fd, const struct sb__identity *id);

/** sb__handoff_dial_unbind() - @dc, the dial channel of @s, is closing:
 *  forget it, so that the session may bind another. */
void sb__handoff_dial_unbind(struct sb__session *s, const struct sb__dchan *dc);

/** sb__handoff_ready() - Return: 0 when @s has a bound channel, else
 *  -ENOTCONN. */
int sb__handoff_ready(struct sb__session *s);

/**
 * sb__handoff_send() - send @fd over @s's channel, tagged, with O_NONBLOCK
 * set as @nonblock says (restored when the send fails)
 * @tag: set to the fd's tag on success
 * Return: 0 (the caller still closes its @fd), -ENOTCONN (no channel, or
 * it closed), -ENOBUFS (the caller does not read it: full), -errno.
 */
int sb__handoff_send(struct sb__session *s, int fd, int nonblock, uint64_t *tag);

/**
 * sb__handoff_send_fds() - send the descriptors of @set (1..SB__SCM_MAX_FD)
 * over @s's channel as one tagged message, leaving their file status
 * flags alone (they are a peer's open files: Hand-off rule 6)
 * @tag: set to the message's tag on success
 * Return: 0 (@set still holds the broker's copies: close them), or as
 * sb__handoff_send().
 */
int sb__handoff_send_fds(struct sb__session *s, const struct sb__fdset *set,
			 uint64_t *tag);

/**
 * sb__handoff_take_fds() - take the caller's message tagged @tag with @n
 * descriptors off @s's channel, without waiting (the caller wrote it
 * before its call), into @set, which must be empty. They count against
 * the session's hold (SB__SCM_MAX_FD at a time) until
 * sb__handoff_release_fds().
 * Return: 0; -ENOTCONN (no channel); -ECONNRESET (no such message: missing,
 * another tag or count, too many; the channel is closed: out of step);
 * -ETOOMANYREFS (the session would hold more than SB__SCM_MAX_FD: the
 * message is taken and its descriptors closed, the channel stays in step).
 */
int sb__handoff_take_fds(struct sb__session *s, uint64_t tag, uint32_t n,
			 struct sb__fdset *set);

/** sb__handoff_release_fds() - close what sb__handoff_take_fds() put in
 *  @set (any left) and give its hold back. Harmless on an empty set
 *  that took nothing: @took says how many were counted. */
void sb__handoff_release_fds(struct sb__session *s, struct sb__fdset *set, size_t took);

/** sb__handoff_eligible() - Return: 0 when a socket @fd of native @type
 *  may be handed off (connected stream or listening), else -EINVAL. */
int sb__handoff_eligible(int fd, int type);

/** sb__handoff_session_end() - drop @s's ticket and close its channel
 *  (fds the caller never received go with it). */
void sb__handoff_session_end(struct sb__session *s);

#endif /* SB_SERVER_HANDOFF_H */
