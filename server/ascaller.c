/* SPDX-License-Identifier: MIT
 * ascaller.c - Unix-domain operations made with the caller's ids (see
 * ascaller.h for why and when).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ascaller.h"
#include "log.h"
#include "sock.h"

/* The thread's own ids: raw system calls (glibc's wrappers would change
 * the ids of every thread of the process). */
static long sb__setgroups(int n, const gid_t *g)
{
	return syscall(SYS_setgroups, (size_t)n, g);
}

static long sb__setegid(gid_t g)
{
	return syscall(SYS_setresgid, (gid_t)-1, g, (gid_t)-1);
}

static long sb__seteuid(uid_t u)
{
	return syscall(SYS_setresuid, (uid_t)-1, u, (uid_t)-1);
}

/* 0 once the seccomp allowlist lacks the id calls: never try them then
 * (the filter would kill the broker). */
static int sb__ascaller_on = 1;

void sb__ascaller_disable(void)
{
	sb__ascaller_on = 0;
}

/* A local caller whose ids are not the broker's. */
static int sb__other_ids(const struct sb__identity *id)
{
	if (!id->known || strcmp(id->transport, "unix"))
		return 0;
	return id->uid != geteuid() || id->gid != getegid();
}

static int sb__needs_caller(const struct sb__identity *id, const struct sb__addr *a)
{
	if (!a || (a->kind != SB__ADDR_UNIX_PATH && a->kind != SB__ADDR_UNIX_ABSTRACT))
		return 0;
	return sb__other_ids(id);
}

/* Take @id's ids on this thread. Return: 0 or -EACCES (logged). */
static int sb__take_ids(const struct sb__identity *id, struct sb__ascaller *sv)
{
	int err;

	if (!sb__ascaller_on) {
		err = EPERM;
		goto fail;
	}
	sv->euid = geteuid();
	sv->egid = getegid();
	sv->ngroups = getgroups(SB__ID_GROUPS_MAX, sv->groups);
	if (sv->ngroups < 0) {
		err = errno;
		goto fail;
	}
	/* Groups and gid first, while the thread still has CAP_SETGID. */
	if (sb__setgroups(id->n_groups, id->groups) < 0) {
		err = errno;
		goto fail;
	}
	if (sb__setegid(id->gid) < 0) {
		err = errno;
		goto fail_groups;
	}
	if (sb__seteuid(id->uid) < 0) {
		err = errno;
		goto fail_gid;
	}
	sv->on = 1;
	return 0;
fail_gid:
	if (sb__setegid(sv->egid) < 0)
		abort();
fail_groups:
	if (sb__setgroups(sv->ngroups, sv->groups) < 0)
		abort();
fail:
	sb__info("a Unix call of uid %u refused: the broker cannot take the caller's ids "
		 "(%s; it needs CAP_SETUID and CAP_SETGID, see ascaller.h)",
		 (unsigned)id->uid, strerror(err));
	return -EACCES;
}

int sb__ascaller_enter(const struct sb__identity *id, const struct sb__addr *a,
		       struct sb__ascaller *sv)
{
	sv->on = 0;
	if (!sb__needs_caller(id, a))
		return 0;
	return sb__take_ids(id, sv);
}

void sb__ascaller_leave(struct sb__ascaller *sv)
{
	if (!sv->on)
		return;
	/* The uid first: back to the broker's, the thread's capabilities
	 * come back with it, and with them the right to set the groups. */
	if (sb__seteuid(sv->euid) < 0 || sb__setegid(sv->egid) < 0 ||
	    sb__setgroups(sv->ngroups, sv->groups) < 0)
		abort();
	sv->on = 0;
}

int sb__ascaller_connect(const struct sb__identity *id, int fd, const struct sb__addr *a)
{
	struct sb__ascaller sv;
	int ret = sb__ascaller_enter(id, a, &sv);

	if (ret < 0)
		return ret;
	ret = sb__sock_connect(fd, a);
	sb__ascaller_leave(&sv);
	return ret;
}

int sb__ascaller_bind(const struct sb__identity *id, int fd, const struct sb__addr *a)
{
	struct sb__ascaller sv;
	int ret = sb__ascaller_enter(id, a, &sv);

	if (ret < 0)
		return ret;
	ret = sb__sock_bind(fd, a);
	sb__ascaller_leave(&sv);
	return ret;
}

/* Does control buffer @ctl hold SCM_CREDENTIALS? */
static int sb__has_creds(const void *ctl, size_t len)
{
	struct msghdr mh = { .msg_control = (void *)ctl, .msg_controllen = len };
	struct cmsghdr *h;

	for (h = len ? CMSG_FIRSTHDR(&mh) : NULL; h; h = CMSG_NXTHDR(&mh, h))
		if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_CREDENTIALS)
			return 1;
	return 0;
}

ssize_t sb__ascaller_unix_send(const struct sb__identity *id, int fd, const void *buf,
			       size_t len, int flags, const struct sb__addr *dst,
			       const void *ctl, size_t ctllen)
{
	union {
		char b[SB__ASCALLER_CTL_MAX + CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} u;
	struct ucred cr = { .pid = getpid(), .uid = id->uid, .gid = id->gid };
	struct sb__ascaller sv = { .on = 0 };
	struct cmsghdr *h;
	size_t n = ctllen;
	ssize_t ret;

	if (!sb__other_ids(id) || ctllen > SB__ASCALLER_CTL_MAX)
		return sb__sock_sendmsg(fd, buf, len, flags, dst, (void *)ctl, ctllen);
	memset(u.b, 0, sizeof(u.b));
	if (ctllen)
		memcpy(u.b, ctl, ctllen);
	if (!sb__has_creds(ctl, ctllen)) {
		/* ctllen is a sum of CMSG_SPACE()s: aligned for a header. */
		h = (struct cmsghdr *)(void *)(u.b + n);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_CREDENTIALS;
		h->cmsg_len = CMSG_LEN(sizeof(cr));
		memcpy(CMSG_DATA(h), &cr, sizeof(cr));
		n += CMSG_SPACE(sizeof(cr));
	}
	ret = sb__take_ids(id, &sv);
	if (ret < 0)
		return ret;
	ret = sb__sock_sendmsg(fd, buf, len, flags, dst, u.b, n);
	sb__ascaller_leave(&sv);
	return ret;
}
