/* SPDX-License-Identifier: MIT
 * local.c - connect, bind and listen of the sandbox's own sockets (Unix,
 * netlink, raw) and a listen again of a broker listener, done by the
 * supervisor on its copy of the program's socket (pidfd_getfd: the same
 * open file), never by telling the kernel to go on.
 *
 * Why: SECCOMP_USER_NOTIF_FLAG_CONTINUE makes the kernel look the fd
 * number up again. Another thread of the program may have put a socket
 * the broker lent it there meanwhile (dup2): a connect(AF_UNSPEC) would
 * disconnect that host socket, and a connect or bind would then point it
 * anywhere from the host's network namespace, past the policy. Our copy is
 * the socket we looked at, whatever the program does with its fd numbers,
 * and the address is ours, read once.
 *
 * What differs from the kernel doing it in the program: a Unix socket
 * path is resolved from the program's working directory and created under
 * its umask (each receiver has its own fs context for that: unshare
 * CLONE_FS), but the credentials a Unix listener or connection records for
 * its peer (SO_PEERCRED) carry the supervisor's pid; uid and gid are the
 * same, as the supervisor runs as the invoking user. Netlink autobind
 * picks a port id from the supervisor's pid instead of the program's
 * (getsockname() tells it, as programs ask).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "run.h"

/* Does this thread have an fs context (cwd, umask) of its own? */
static __thread int sbr_own_fs;

void sbr_local_thread_init(void)
{
	if (unshare(CLONE_FS) == 0)
		sbr_own_fs = 1;
	else
		sbr_log("a receiver without an fs context of its own (unshare CLONE_FS: %s): "
			"relative Unix socket paths are refused", strerror(errno));
}

/* The program's umask (/proc/TID/status), or -1. */
static int sbr_prog_umask(pid_t tid)
{
	long v;

	return sbr_proc_status(tid, "Umask:", 8, &v) == 0 && v >= 0 && v <= 0777 ? (int)v : -1;
}

/*
 * connect or bind of our copy @call->sock to @ss: a relative Unix path from
 * the program's working directory, a bind under the program's umask.
 * Return: 0 or -errno.
 */
static int sbr_local_addr_op(const struct sbr_call *call, int nr,
			     const struct sockaddr_storage *ss, socklen_t len)
{
	const struct sockaddr_un *un = (const struct sockaddr_un *)ss;
	int path = ss->ss_family == AF_UNIX && len > offsetof(struct sockaddr_un, sun_path) &&
		   un->sun_path[0] != '\0';
	int rel = path && un->sun_path[0] != '/';
	int dirfd = -1, mask = -1, old = 0, rc;
	char cwd[64];

	if (rel) {
		if (!sbr_own_fs)
			return -EACCES;
		snprintf(cwd, sizeof(cwd), "/proc/%d/cwd", (int)call->req->pid);
		dirfd = open(cwd, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0 || fchdir(dirfd) < 0) {
			rc = -EACCES;
			goto out;
		}
	}
	if (path && nr == SYS_bind && sbr_own_fs) {
		mask = sbr_prog_umask(call->req->pid);
		if (mask >= 0)
			old = (int)umask((mode_t)mask);
	}
	rc = nr == SYS_bind ? bind(call->sock, (const struct sockaddr *)ss, len)
			    : connect(call->sock, (const struct sockaddr *)ss, len);
	rc = rc < 0 ? -errno : 0;
	if (mask >= 0)
		umask((mode_t)old);
out:
	if (rel && chdir("/") < 0)
		sbr_log("chdir /: %s", strerror(errno));
	if (dirfd >= 0)
		close(dirfd);
	return rc;
}

int sbr_local_call(struct sbr_sup *sup, const struct sbr_call *call)
{
	const struct seccomp_data *d = &call->req->data;
	struct sockaddr_storage ss;
	int len, rc;

	switch (d->nr) {
	case SYS_connect:
	case SYS_bind:
		len = sbr_read_sockaddr(call, d->args[1], d->args[2], &ss);
		if (len < 0)
			return len;
		if (!sbr_still_valid(sup, call->req))
			return -ENOENT;
		rc = sbr_local_addr_op(call, d->nr, &ss, (socklen_t)len);
		break;
	case SYS_listen:
		if (!sbr_still_valid(sup, call->req))
			return -ENOENT;
		rc = listen(call->sock, (int)d->args[1]) < 0 ? -errno : 0;
		break;
	default:
		/* A send cannot re-point a socket, but for MSG_FASTOPEN, which
		 * connects a TCP socket: a Unix or netlink socket ignores the
		 * flag, a lent TCP socket swapped in would not. */
		if (sbr_send_flags(call->req) & MSG_FASTOPEN)
			return -EOPNOTSUPP;
		return 1;
	}
	/* Answered here, errors too: the kernel's ENOENT (no such socket
	 * file) is not the caller's "the call is gone". */
	sbr_answer(sup, call->req, rc < 0 ? -1 : 0, rc < 0 ? -rc : 0, 0);
	return 0;
}
