/* SPDX-License-Identifier: MIT
 * ascaller.h - Unix-domain operations made with the caller's ids.
 *
 * The kernel checks a Unix connect, bind or datagram send to a name
 * against the ids of the thread that makes it (the permissions of the
 * socket file and its directories), and records them as the socket's peer
 * credentials (SO_PEERCRED of the other end, the SCM_CREDENTIALS a
 * receiver with SO_PASSCRED gets). Made by the broker as itself, such a
 * call would lend the broker's uid to its caller: a server that trusts
 * root peers would trust any caller the policy lets reach it, and file
 * permissions would not apply. Sends on a Unix socket carry credentials
 * too, from the real ids, which are never lent: there the broker attaches
 * the caller's uid and gid explicitly (sb__ascaller_unix_send()). So for
 * a local caller whose uid or gid is not the broker's, the calling thread
 * takes the caller's effective uid,
 * gid and supplementary groups for the one system call and its own back
 * after (Linux keeps ids per thread; the raw system calls change only the
 * calling thread, glibc's wrappers would change every thread).
 *
 * That needs CAP_SETUID and CAP_SETGID, which isolation.c keeps when an
 * allow rule can reach Unix addresses for callers other than root
 * (policy.c, SB__NEED_AS_CALLER). A broker without them refuses such a
 * call with EACCES rather than make it as itself. Callers over TCP have no
 * ids: their Unix calls are the broker's own, and a policy names Unix
 * destinations for them knowing it.
 */
#ifndef SB_SERVER_ASCALLER_H
#define SB_SERVER_ASCALLER_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "addr.h"
#include "cmsg.h"
#include "identity.h"

/* The control messages sb__ascaller_unix_send() takes from a caller: a
 * Send's (up to 8 of 64 bytes, and SCM_RIGHTS with the kernel's most). */
#define SB__ASCALLER_CTL_MAX ((size_t)8 * 64 + CMSG_SPACE(SB__SCM_MAX_FD * sizeof(int)))

struct sb__ascaller {
	int on;                              /* ids switched */
	uid_t euid;
	gid_t egid;
	int ngroups;
	gid_t groups[SB__ID_GROUPS_MAX];
};

/** sb__ascaller_disable() - from now on refuse (EACCES) instead of
 *  taking ids: isolation.c's allowlist has no id calls. Start-up only. */
void sb__ascaller_disable(void);

/**
 * sb__ascaller_enter() - take @id's ids on this thread when a call with
 * address @a must be made as the caller (a Unix name, a local caller
 * whose uid or gid is not the broker's)
 * Return: 0 (@sv says whether ids changed), or -EACCES when they cannot
 * be taken (logged; nothing changed).
 */
int sb__ascaller_enter(const struct sb__identity *id, const struct sb__addr *a,
		       struct sb__ascaller *sv);

/** sb__ascaller_leave() - the broker's own ids again. A failure here
 *  would leave the thread with a caller's ids: the broker aborts. */
void sb__ascaller_leave(struct sb__ascaller *sv);

/**
 * sb__ascaller_unix_send() - sendmsg(2) of @len bytes with control
 * messages @ctl/@ctllen (may be 0) on Unix socket @fd, to @dst or the
 * peer, for @id. For a local caller whose ids are not the broker's it is
 * made with the caller's ids and carries the caller's credentials
 * (SCM_CREDENTIALS: pid the broker's, uid and gid the caller's) unless
 * @ctl has its own: a receiver with SO_PASSCRED would otherwise get the
 * broker's uid, which the kernel takes from the real ids the broker does
 * not lend. Otherwise a plain sendmsg.
 * Return: as sb__sock_sendmsg(), or -EACCES (ids cannot be taken).
 */
ssize_t sb__ascaller_unix_send(const struct sb__identity *id, int fd, const void *buf,
			       size_t len, int flags, const struct sb__addr *dst,
			       const void *ctl, size_t ctllen);

/** sb__ascaller_connect() / sb__ascaller_bind() - sb__sock_connect() and
 *  sb__sock_bind() made as @id where that is needed. Return: as they do,
 *  or -EACCES. */
int sb__ascaller_connect(const struct sb__identity *id, int fd, const struct sb__addr *a);
int sb__ascaller_bind(const struct sb__identity *id, int fd, const struct sb__addr *a);

#endif /* SB_SERVER_ASCALLER_H */
