/* SPDX-License-Identifier: MIT
 * supervise.c - the supervisor of sockbroker-run: answers the sandbox's
 * seccomp notifications (connect, bind, listen, sends to an address) with
 * the broker, forwards signals to the program and reaps it.
 *
 * How a notification is answered:
 *  1. Arguments that are values come with the notification; what a pointer
 *     points to (a socket address) is read ONCE from the program's memory
 *     (process_vm_readv) into our own buffer, its length checked first.
 *  2. The program's socket is copied to us (pidfd_getfd) to learn its
 *     family, type, state, flags and options. Then SECCOMP_IOCTL_NOTIF_ID_
 *     VALID: the thread is still in that very call, so the pid and fd were
 *     its own, not a reused number.
 *  3. The broker does the operation under the caller's policy (the caller
 *     is this process: SO_PEERCRED of the invoking user) with our copy of
 *     the address, and hands its socket back as an fd; we install it at the
 *     program's fd number (SECCOMP_IOCTL_NOTIF_ADDFD with SETFD), with the
 *     program's O_NONBLOCK, close-on-exec and the options it had changed,
 *     and in the epoll sets its socket was in (sbr_epoll_follow()).
 *  4. What the broker refused is the program's errno (EACCES for policy).
 *
 * The kernel is never told to go on (SECCOMP_USER_NOTIF_FLAG_CONTINUE)
 * with a connect, bind or listen, of any family: it would look the fd
 * number up again, and another thread may have swapped a socket the broker
 * lent in meanwhile (dup2), which connect(AF_UNSPEC) disconnects and a
 * connect or bind then re-points from the host's namespace. Those of the
 * sandbox's own sockets (Unix, netlink, raw) are done on our copy of the
 * socket (local.c). Only sends go on: on stream sockets without
 * MSG_FASTOPEN (a connected TCP socket ignores a destination, an
 * unconnected one cannot send: EPIPE, even one the program inherited from
 * the host's namespace) and on Unix and netlink sockets. MSG_FASTOPEN,
 * which connects, is answered here (EOPNOTSUPP, EISCONN), whatever the
 * family. epoll_create is only told, to know that epoll sets exist.
 * Datagrams: udp.c.
 *
 * Notifications are answered by receiver threads (SBR_RECEIVERS), each
 * answering what it received itself: TCP connects at once, so that a slow
 * one holds up only the program's thread that called connect(2), and
 * everything else under one mutex, one at a time. The supervisor's own
 * thread forwards signals, reaps the program and polls the UDP relays.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/kcmp.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL /* Linux 6.9: a pidfd of a thread, not a process */
#endif

/* Sockets bound through the broker and not yet listening (a program may
 * bind and close to probe for a free port: stale entries are dropped when
 * the table is full). */
#define SBR_MAX_BOUND 128

/**
 * struct sbr_bound - a broker socket bound for a program's socket
 * @ino:   the program's socket (its inode: unique while it exists)
 * @tid:   the thread that bound it, @fdnum its fd number then
 * @s:     the broker's socket number (libsockbroker), -1 when free
 */
struct sbr_bound {
	ino_t ino;
	pid_t tid;
	int fdnum;
	int s;
};

/* Threads receiving notifications, at most: each answers what it received
 * itself, so that a connect is answered without a hand-over to another
 * thread (at 1,000s of connects a second, a thread made per connect or
 * woken for it costed as much as the broker's Dial). One is kept idle
 * while others wait for connects, so up to SBR_RECEIVERS - 1 slow connects
 * (SYNs unanswered: minutes) hold up only the program's threads that
 * called them. */
#define SBR_RECEIVERS 129
/* Started with the supervisor: the second receives while the first waits
 * for a connect, the common case of a program connecting one at a time. */
#define SBR_RECEIVERS_START 2

/* Non-blocking connects under way at once, at most; more are dialled as
 * blocking ones. */
#define SBR_MAX_PEND 64

/**
 * struct sbr_pend - a non-blocking connect under way (see sbr_pend_start())
 * @ino:   the stand-in's inode, at the program's fd number @fdnum in
 *         process @tgid
 * @stand: our copy of the stand-in; @peer: its peer, ours
 * @orig:  a fresh socket of the sandbox with the options of the program's
 *         own (for the broker's socket; given back when the dial fails)
 * @done:  the dial is over: @fd the broker's connected socket, or @err
 */
struct sbr_pend {
	struct sbr_sup *sup;
	ino_t ino;
	pid_t tgid;
	int fdnum, stand, peer, orig;
	int done, fd, err;
	int timeout_ms;
	char host[INET6_ADDRSTRLEN + 16], port[8];
};

struct sbr_sup {
	sb_client *c;
	struct sbr_sandbox *sb;
	struct sbr_udp *udp;
	struct sbr_raw *raw;
	/* Everything but a TCP connect is answered under @serial, one at a
	 * time, as one thread would (the bound table, udp.c's and raw.c's
	 * state); a connect takes it only to look at the bound table. */
	pthread_mutex_t serial;
	atomic_int busy;      /* notifications being answered */
	atomic_int idle;      /* receivers waiting for one */
	atomic_int receivers; /* receivers started */
	atomic_int epoll_seen; /* the program made an epoll set (sbr_epoll_follow()) */
	/* Non-blocking connects under way (sbr_pend_*), and the listeners of
	 * the sandbox their stand-ins connect to: [0] IPv4, [1] IPv6. */
	pthread_mutex_t pend_lock;
	struct sbr_pend *pend[SBR_MAX_PEND];
	int stand_l[2];
	/* Broker sockets put in by a getsockopt(SO_ERROR): the socket layer
	 * of the kernel would still say "connecting", and the next connect()
	 * answers 0 (then EISCONN). A ring of their inodes. */
	ino_t nb_conn[SBR_MAX_PEND];
	unsigned nb_next;
	const struct sbr_defaults *defaults; /* [enum sbr_ref] */
	struct sbr_bound bound[SBR_MAX_BOUND];
};

int sbr_answer(struct sbr_sup *sup, const struct seccomp_notif *req,
		      int64_t val, int err, uint32_t flags)
{
	struct seccomp_notif_resp resp = { .id = req->id, .val = val, .error = -err,
					   .flags = flags };

	/* ENOENT: the call is over (the thread was killed); nothing to undo. */
	return ioctl(sup->sb->notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

int sbr_still_valid(struct sbr_sup *sup, const struct seccomp_notif *req)
{
	uint64_t id = req->id;

	return ioctl(sup->sb->notify_fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

int sbr_read_mem(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };

	if (process_vm_readv(pid, &local, 1, &remote, 1, 0) != (ssize_t)len)
		return -EFAULT;
	return 0;
}

int sbr_write_mem(struct sbr_sup *sup, const struct sbr_call *call, uint64_t addr,
		  const void *buf, size_t len)
{
	struct iovec l = { .iov_base = (void *)buf, .iov_len = len };
	struct iovec r = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };

	if (!sbr_still_valid(sup, call->req))
		return -ENOENT;
	return process_vm_writev(call->req->pid, &l, 1, &r, 1, 0) == (ssize_t)len ? 0 : -EFAULT;
}

int sbr_proc_status(pid_t tid, const char *key, int base, long *v)
{
	char path[64], line[128];
	size_t kl = strlen(key);
	int rc = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl)) {
			char *end;

			errno = 0;
			*v = strtol(line + kl, &end, base);
			rc = end == line + kl || errno ? -1 : 0;
			break;
		}
	fclose(f);
	return rc;
}

int sbr_read_sockaddr(const struct sbr_call *call, uint64_t ptr, uint64_t len_arg,
			     struct sockaddr_storage *ss)
{
	uint32_t len = (uint32_t)len_arg;
	int rc;

	memset(ss, 0, sizeof(*ss));
	if ((int32_t)len < (int32_t)sizeof(sa_family_t) || len > sizeof(*ss))
		return -EINVAL;
	rc = sbr_read_mem(call->req->pid, ptr, ss, len);
	return rc < 0 ? rc : (int)len;
}

int sbr_check_inet(int domain, const struct sockaddr_storage *ss, int len)
{
	if (ss->ss_family != domain)
		return -EAFNOSUPPORT;
	if (domain == AF_INET && len < (int)sizeof(struct sockaddr_in))
		return -EINVAL;
	if (domain == AF_INET6 && len < 24) /* SIN6_LEN_RFC2133 */
		return -EINVAL;
	return 0;
}

/* The TCP state of @sock, or -1. A socket that was connected stays so for
 * connect(2) after a reset or a close (EISCONN) though its state is
 * CLOSE again: it has a receive space and an RTT from its handshake,
 * which a fresh socket, or one whose connect failed, has not. That is
 * reported as TCP_ESTABLISHED. */
static int sbr_tcp_state(int sock)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(sock, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0)
		return -1;
	if (ti.tcpi_state == TCP_CLOSE && (ti.tcpi_rcv_space || ti.tcpi_rtt))
		return TCP_ESTABLISHED;
	return ti.tcpi_state;
}

int sbr_send_flags(const struct seccomp_notif *req)
{
	return (int)(req->data.nr == SYS_sendmsg ? req->data.args[2] : req->data.args[3]);
}

/* Close-on-exec of the program's fd: /proc's fdinfo "flags:" has it. */
static int sbr_fd_cloexec(pid_t tid, int fdnum)
{
	char path[64], buf[256];
	unsigned long flags = 0;
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)tid, fdnum);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "flags:");
	if (p)
		flags = strtoul(p + 6, NULL, 8);
	return (flags & O_CLOEXEC) != 0;
}

/* The options a program commonly sets before connect/listen, that the
 * kernel grants it without privileges (none that the broker's policy
 * keeps for privileged callers: those the program sets itself on the
 * installed fd, where the kernel judges them). */
static const struct {
	int level, name, family; /* family 0: both */
} sbr_int_opts[] = {
	{ SOL_SOCKET, SO_KEEPALIVE, 0 },      { SOL_SOCKET, SO_REUSEADDR, 0 },
	{ SOL_SOCKET, SO_OOBINLINE, 0 },      { SOL_SOCKET, SO_RCVLOWAT, 0 },
	{ SOL_SOCKET, SO_RCVBUF, 0 },         { SOL_SOCKET, SO_SNDBUF, 0 },
	{ IPPROTO_TCP, TCP_NODELAY, 0 },      { IPPROTO_TCP, TCP_KEEPIDLE, 0 },
	{ IPPROTO_TCP, TCP_KEEPINTVL, 0 },    { IPPROTO_TCP, TCP_KEEPCNT, 0 },
	{ IPPROTO_TCP, TCP_USER_TIMEOUT, 0 }, { IPPROTO_TCP, TCP_NOTSENT_LOWAT, 0 },
	{ IPPROTO_TCP, TCP_DEFER_ACCEPT, 0 }, { IPPROTO_TCP, TCP_WINDOW_CLAMP, 0 },
	{ SOL_SOCKET, SO_BROADCAST, 0 },      { IPPROTO_IP, IP_TTL, AF_INET },
	{ IPPROTO_IPV6, IPV6_UNICAST_HOPS, AF_INET6 },
	{ IPPROTO_IP, IP_TOS, AF_INET },      { IPPROTO_IPV6, IPV6_TCLASS, AF_INET6 },
	/* After IP_TOS, which sets the priority too. */
	{ SOL_SOCKET, SO_PRIORITY, 0 },
};

static const struct {
	int level, name;
	socklen_t len;
} sbr_blob_opts[] = {
	{ SOL_SOCKET, SO_LINGER, sizeof(struct linger) },
	{ SOL_SOCKET, SO_RCVTIMEO, sizeof(struct timeval) },
	{ SOL_SOCKET, SO_SNDTIMEO, sizeof(struct timeval) },
	{ IPPROTO_TCP, TCP_CONGESTION, 16 },  /* TCP_CA_NAME_MAX */
};

#define SBR_N_INT_OPTS (sizeof(sbr_int_opts) / sizeof(sbr_int_opts[0]))
#define SBR_N_BLOB_OPTS (sizeof(sbr_blob_opts) / sizeof(sbr_blob_opts[0]))

/**
 * struct sbr_defaults - the option values of a fresh socket of the sandbox
 * (a reference socket, enum sbr_ref), read once before any receiver runs
 * and only read afterwards: a connect then reads only the program's.
 * @known: 0 where the reference socket did not answer (nothing is copied)
 */
struct sbr_defaults {
	int known;
	int ints[SBR_N_INT_OPTS];
	int int_ok[SBR_N_INT_OPTS];
	unsigned char blobs[SBR_N_BLOB_OPTS][32];
	socklen_t blob_len[SBR_N_BLOB_OPTS];
};

static void sbr_defaults_read(int ref, struct sbr_defaults *d)
{
	socklen_t l;
	size_t i;

	memset(d, 0, sizeof(*d));
	if (ref < 0)
		return;
	for (i = 0; i < SBR_N_INT_OPTS; i++) {
		l = sizeof(int);
		d->int_ok[i] = getsockopt(ref, sbr_int_opts[i].level, sbr_int_opts[i].name,
					  &d->ints[i], &l) == 0;
	}
	for (i = 0; i < SBR_N_BLOB_OPTS; i++) {
		l = sbr_blob_opts[i].len;
		if (getsockopt(ref, sbr_blob_opts[i].level, sbr_blob_opts[i].name, d->blobs[i],
			       &l) == 0)
			d->blob_len[i] = l;
	}
	d->known = 1;
}

/**
 * sbr_copy_opts() - set on @fd the options of the program's socket @from
 * that differ from a fresh socket of the sandbox (@d). Best effort: an
 * option the kernel refuses here is one the program could not have either.
 */
static void sbr_copy_opts(int from, const struct sbr_defaults *d, int fd, int family)
{
	unsigned char a[32];
	socklen_t la;
	size_t i;
	int va;

	if (!d->known)
		return;
	for (i = 0; i < SBR_N_INT_OPTS; i++) {
		if ((sbr_int_opts[i].family && sbr_int_opts[i].family != family) || !d->int_ok[i])
			continue;
		la = sizeof(int);
		if (getsockopt(from, sbr_int_opts[i].level, sbr_int_opts[i].name, &va, &la) < 0 ||
		    va == d->ints[i])
			continue;
		/* The kernel reports twice the buffer size it was given. */
		if (sbr_int_opts[i].level == SOL_SOCKET &&
		    (sbr_int_opts[i].name == SO_RCVBUF || sbr_int_opts[i].name == SO_SNDBUF))
			va /= 2;
		if (setsockopt(fd, sbr_int_opts[i].level, sbr_int_opts[i].name, &va, sizeof(va)) < 0)
			sbr_log("option %d/%d not copied: %s", sbr_int_opts[i].level,
				sbr_int_opts[i].name, strerror(errno));
	}
	for (i = 0; i < SBR_N_BLOB_OPTS; i++) {
		la = sbr_blob_opts[i].len;
		memset(a, 0, sizeof(a));
		if (!d->blob_len[i] ||
		    getsockopt(from, sbr_blob_opts[i].level, sbr_blob_opts[i].name, a, &la) < 0 ||
		    la != d->blob_len[i] || !memcmp(a, d->blobs[i], la))
			continue;
		if (setsockopt(fd, sbr_blob_opts[i].level, sbr_blob_opts[i].name, a, la) < 0)
			sbr_log("option %d/%d not copied: %s", sbr_blob_opts[i].level,
				sbr_blob_opts[i].name, strerror(errno));
	}
}

/* The number after "@key" in an fdinfo line, in @base; Return: 0 or -1. */
static int sbr_fdinfo_field(const char *line, const char *key, int base,
			    unsigned long long *v)
{
	const char *p = strstr(line, key);
	char *end;

	if (!p)
		return -1;
	p += strlen(key);
	errno = 0;
	*v = strtoull(p, &end, base);
	return end == p || errno ? -1 : 0;
}

/* Bounds of sbr_epoll_follow()'s work for one call: a program could make
 * it read millions of lines (its own loss, but not without end). */
#define SBR_EPOLL_SETS 64            /* epoll sets looked into */
#define SBR_EPOLL_LINES (1L << 18)   /* fdinfo lines read in all */

/* Is the file at our fd @ours registered in the program's epoll set @ep
 * under the program's fd number @fdnum? 1, 0, or -1 when the kernel cannot
 * tell (no kcmp: then the set's fdinfo is read anyway). */
static int sbr_epoll_has(const struct sbr_call *call, int ep, int ours)
{
	struct kcmp_epoll_slot slot = { .efd = (uint32_t)ep, .tfd = (uint32_t)call->fdnum };
	long r = syscall(SYS_kcmp, (long)getpid(), (long)call->req->pid, KCMP_EPOLL_TFD,
			 (long)ours, (long)(uintptr_t)&slot);

	if (r == 0)
		return 1;
	if (r > 0 || errno == ENOENT || errno == EBADF)
		return 0;
	return -1;
}

/* Register @fd in the program's epoll set @ep (its fd number) wherever
 * the socket @fd replaces was registered: the line of its number and inode
 * in the set's fdinfo ("tfd: N events: X data: X pos:N ino:X sdev:X") gives
 * the events and data. @lines: what is left of SBR_EPOLL_LINES. */
static void sbr_epoll_set_follow(struct sbr_sup *sup, const struct sbr_call *call, int fd,
				 int ep, long *lines)
{
	char path[64], line[192];
	int epfd = -1, rc;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)call->req->pid, ep);
	f = fopen(path, "re");
	if (!f)
		return;
	while (*lines > 0 && fgets(line, sizeof(line), f)) {
		unsigned long long tfd, ev, data, ino;

		--*lines;
		if (strncmp(line, "tfd:", 4) || sbr_fdinfo_field(line, "tfd:", 10, &tfd) < 0 ||
		    tfd != (unsigned long long)call->fdnum ||
		    sbr_fdinfo_field(line, "events:", 16, &ev) < 0 || ev > UINT32_MAX ||
		    sbr_fdinfo_field(line, "data:", 16, &data) < 0 ||
		    sbr_fdinfo_field(line, " ino:", 16, &ino) < 0 ||
		    ino != (unsigned long long)call->ino)
			continue;
		if (epfd < 0)
			epfd = (int)syscall(SYS_pidfd_getfd, call->pidfd, ep, 0);
		if (epfd < 0)
			break;
		rc = sbr_factory_epoll(sup->sb->helper_fd, epfd, fd, call->fdnum, (uint32_t)ev,
				       data);
		if (rc < 0)
			sbr_log("fd %d not registered again in epoll set %d: %s", call->fdnum, ep,
				strerror(-rc));
		break; /* one registration per set and (file, number) */
	}
	fclose(f);
	if (epfd >= 0)
		close(epfd);
}

/*
 * An epoll registration belongs to the open file: the socket put at the
 * program's fd number is in none of the epoll sets its socket was in, and
 * an event loop that registers a socket before connect(2) or listen(2)
 * (nginx, Netty, many C servers) would wait for it forever, and get ENOENT
 * from EPOLL_CTL_MOD. Register @fd in each of them as the program had,
 * before the call returns. Only once the program made an epoll set (the
 * filter tells of epoll_create): other programs pay nothing. kcmp(2) tells
 * which sets hold the old socket, and which hold @fd already (the same set
 * under another fd number), so that a set's fdinfo, a line per
 * registration, is read only when there is something to copy from it.
 */
static void sbr_epoll_follow(struct sbr_sup *sup, const struct sbr_call *call, int fd)
{
	char path[64], link[32];
	long lines = SBR_EPOLL_LINES;
	int sets = 0;
	struct dirent *e;
	DIR *d;

	if (!atomic_load(&sup->epoll_seen))
		return;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)call->req->pid);
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d)) != NULL && sets < SBR_EPOLL_SETS && lines > 0) {
		char *end;
		long ep = strtol(e->d_name, &end, 10);
		ssize_t n;

		if (end == e->d_name || *end || ep < 0 || ep > INT_MAX)
			continue;
		n = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, "anon_inode:[eventpoll]") ||
		    !sbr_epoll_has(call, (int)ep, call->sock) ||
		    sbr_epoll_has(call, (int)ep, fd) == 1)
			continue;
		sets++;
		sbr_epoll_set_follow(sup, call, fd, (int)ep, &lines);
	}
	closedir(d);
	if (sets == SBR_EPOLL_SETS || lines <= 0)
		sbr_log("fd %d: stopped looking for epoll sets to register it in after %d sets "
			"and %ld lines", call->fdnum, sets, SBR_EPOLL_LINES - lines);
}

/* The owner (F_SETOWN_EX) and signal (F_SETSIG) of signal-driven I/O on
 * the program's socket @from, onto @fd. Best effort, as sbr_copy_opts(). */
static void sbr_copy_owner(int from, int fd)
{
	struct f_owner_ex own;
	int sig;

	if (fcntl(from, F_GETOWN_EX, &own) == 0 && own.pid &&
	    fcntl(fd, F_SETOWN_EX, &own) < 0)
		sbr_log("F_SETOWN_EX not copied: %s", strerror(errno));
	sig = fcntl(from, F_GETSIG);
	if (sig > 0 && fcntl(fd, F_SETSIG, sig) < 0)
		sbr_log("F_SETSIG not copied: %s", strerror(errno));
}

/**
 * sbr_install() - put broker socket @fd in the program at its fd number,
 * as its own socket was: O_NONBLOCK, close-on-exec, changed options; then
 * answer the call with 0. @fd is closed here in every case.
 * Return: 0, or -errno for the program (the call is still unanswered).
 */
static int sbr_install_as(struct sbr_sup *sup, struct sbr_call *call, int fd, int opts,
			  int err);

static int sbr_install(struct sbr_sup *sup, struct sbr_call *call, int fd)
{
	return sbr_install_as(sup, call, fd, call->sock, 0);
}

/* sbr_install() with the options of @opts (-1: none copied), answering
 * -1 and @err (0: 0). */
static int sbr_install_as(struct sbr_sup *sup, struct sbr_call *call, int fd, int opts, int err)
{
	struct seccomp_notif_addfd a;
	int fl = fcntl(call->sock, F_GETFL);
	int rc = 0;

	if (opts >= 0)
		sbr_copy_opts(opts, &sup->defaults[call->domain == AF_INET6 ? SBR_REF_TCP6
									  : SBR_REF_TCP4],
			      fd, call->domain);
	/* File status flags belong to the open file, which goes with the fd;
	 * so do the owner and signal of signal-driven I/O (O_ASYNC). */
	if (fl >= 0 && (fl & O_ASYNC))
		sbr_copy_owner(call->sock, fd);
	if (fl >= 0 && (fl & (O_NONBLOCK | O_ASYNC))) {
		int ffl = fcntl(fd, F_GETFL);

		if (ffl < 0 || fcntl(fd, F_SETFL, ffl | (fl & (O_NONBLOCK | O_ASYNC))) < 0) {
			rc = -errno;
			goto out;
		}
	}
	memset(&a, 0, sizeof(a));
	a.id = call->req->id;
	a.flags = SECCOMP_ADDFD_FLAG_SETFD;
	a.srcfd = (uint32_t)fd;
	a.newfd = (uint32_t)call->fdnum;
	a.newfd_flags = sbr_fd_cloexec(call->req->pid, call->fdnum) ? O_CLOEXEC : 0;
	if (ioctl(sup->sb->notify_fd, SECCOMP_IOCTL_NOTIF_ADDFD, &a) < 0) {
		static atomic_int said;

		rc = -errno;
		/* ENOENT: the call is gone with its thread. The others: this
		 * kernel cannot put a socket at a chosen fd number. */
		if (rc != -ENOENT && !atomic_exchange(&said, 1))
			sbr_err("cannot put the broker's socket in the program: "
				"SECCOMP_IOCTL_NOTIF_ADDFD with SECCOMP_ADDFD_FLAG_SETFD: %s "
				"(it needs Linux 5.14 or later); the program's connects and "
				"listens fail with that error", strerror(-rc));
		goto out;
	}
	sbr_epoll_follow(sup, call, fd);
	/* The program's socket goes with our copy: its epoll registrations
	 * too, before the program could see an event of theirs. */
	close(call->sock);
	call->sock = -1;
	sbr_answer(sup, call->req, err ? -1 : 0, err, 0);
out:
	close(fd);
	return rc;
}

/* ---- non-blocking connects ----
 *
 * connect(2) of a non-blocking socket answers EINPROGRESS at once, as the
 * kernel does, so that the program's own timeout (poll, epoll, curl
 * --connect-timeout, Python's socket timeouts) runs while the broker dials
 * in a thread. The broker's socket can only be put in the program while a
 * call of it is notified: its getsockopt(SO_ERROR), which event loops ask
 * once the socket is writable, or a connect again. Till then the program
 * holds a stand-in: a TCP connection of the sandbox whose send buffer we
 * filled and whose peer (ours) reads nothing, so that it is not writable;
 * when the dial is over the peer reads it empty, the stand-in becomes
 * writable (no error: a loop that looks at POLLERR sees none), and the
 * program's question gets the outcome: the broker's socket in its place,
 * or the dial's errno and the program's own socket back, unconnected, as
 * after a failed connect.
 */

/*
 * A stand-in of @family (under pend_lock): a connected TCP socket of the
 * sandbox in *@stand, its peer in *@peer, the stand-in's send buffer full.
 * Return: 0 or -errno.
 */
static int sbr_stand_in(struct sbr_sup *sup, int family, int *stand, int *peer)
{
	static const char junk[16384];
	int i = family == AF_INET6, one = 1, c = -1, rc;
	struct sockaddr_storage a;
	socklen_t l = sizeof(a);
	ssize_t n;

	*peer = -1;
	if (sup->stand_l[i] < 0) {
		int lfd = sbr_factory_socket(sup->sb->helper_fd, family, SOCK_STREAM);

		memset(&a, 0, sizeof(a));
		a.ss_family = (sa_family_t)family;
		if (family == AF_INET)
			((struct sockaddr_in *)&a)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		else
			((struct sockaddr_in6 *)&a)->sin6_addr = in6addr_loopback;
		if (lfd < 0)
			return lfd;
		/* Accepted sockets keep the smallest receive buffer. */
		if (setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one)) < 0 ||
		    bind(lfd, (struct sockaddr *)&a,
			 family == AF_INET6 ? sizeof(struct sockaddr_in6)
					    : sizeof(struct sockaddr_in)) < 0 ||
		    listen(lfd, 64) < 0) {
			rc = -errno;
			close(lfd);
			return rc;
		}
		sup->stand_l[i] = lfd;
	}
	if (getsockname(sup->stand_l[i], (struct sockaddr *)&a, &l) < 0)
		return -errno;
	c = sbr_factory_socket(sup->sb->helper_fd, family, SOCK_STREAM);
	if (c < 0)
		return c;
	if (setsockopt(c, SOL_SOCKET, SO_SNDBUF, &one, sizeof(one)) < 0 ||
	    connect(c, (struct sockaddr *)&a, l) < 0)
		goto fail;
	*peer = accept4(sup->stand_l[i], NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (*peer < 0 || fcntl(c, F_SETFL, O_NONBLOCK) < 0)
		goto fail;
	for (i = 0; i < 1024; i++) {
		n = send(c, junk, sizeof(junk), MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			goto fail;
	}
	if (i == 1024) {
		errno = ENOBUFS;
		goto fail;
	}
	*stand = c;
	return 0;
fail:
	rc = -errno;
	close(c);
	if (*peer >= 0)
		close(*peer);
	*peer = -1;
	return rc;
}

static void sbr_pend_free(struct sbr_pend *p)
{
	if (p->fd >= 0)
		close(p->fd);
	if (p->stand >= 0)
		close(p->stand);
	if (p->peer >= 0)
		close(p->peer);
	if (p->orig >= 0)
		close(p->orig);
	free(p);
}

/* Read the stand-in's peer until the stand-in sent everything: it is
 * writable then. */
static void sbr_stand_wake(struct sbr_pend *p)
{
	char sink[16384];
	int i, q = 1;

	for (i = 0; i < 256 && q > 0; i++) {
		while (recv(p->peer, sink, sizeof(sink), MSG_DONTWAIT) > 0)
			;
		if (ioctl(p->stand, SIOCOUTQ, &q) < 0)
			break;
		if (q > 0)
			usleep(200);
	}
}

static void *sbr_pend_main(void *arg)
{
	struct sbr_pend *p = arg;
	struct sbr_sup *sup = p->sup;
	int fd = sb_tcp_connect_fd(sup->c, p->host, p->port, p->timeout_ms);
	int err = fd < 0 ? errno : 0, i;

	if (fd < 0)
		sbr_log("connect to %s port %s: %s", p->host, p->port,
			sb_last_error() ? sb_last_error() : strerror(err));
	else
		sbr_log("connect to %s port %s: fd %d, in the background", p->host, p->port,
			p->fdnum);
	pthread_mutex_lock(&sup->pend_lock);
	p->fd = fd;
	p->err = err;
	p->done = 1;
	/* Under the lock: a question of the program once it is writable
	 * finds the outcome. */
	sbr_stand_wake(p);
	/* A program that closed its socket asks nothing more. */
	if (!sbr_holds_socket(p->tgid, p->fdnum, (unsigned long)p->ino))
		for (i = 0; i < SBR_MAX_PEND; i++)
			if (sup->pend[i] == p) {
				sup->pend[i] = NULL;
				sbr_pend_free(p);
				break;
			}
	pthread_mutex_unlock(&sup->pend_lock);
	return NULL;
}

/*
 * Start a non-blocking connect of @call to @host, @port: the stand-in put
 * in the program, answered EINPROGRESS, the dial in a thread.
 * Return: 0 (answered), -errno, or 1 when it cannot be done so (no free
 * entry, no stand-in, no thread): the caller dials as for a blocking one.
 */
static int sbr_pend_start(struct sbr_sup *sup, struct sbr_call *call, const char *host,
			  const char *port, int timeout_ms)
{
	struct sbr_pend *p = NULL;
	pthread_attr_t at;
	struct stat st;
	pthread_t t;
	int i, slot = -1, rc = 1, give;

	p = calloc(1, sizeof(*p));
	if (!p)
		return 1;
	p->stand = p->peer = p->orig = p->fd = -1;
	pthread_mutex_lock(&sup->pend_lock);
	for (i = 0; i < SBR_MAX_PEND; i++) {
		struct sbr_pend *x = sup->pend[i];

		/* Over, and the program closed its socket without asking. */
		if (x && x->done &&
		    !sbr_holds_socket(x->tgid, x->fdnum, (unsigned long)x->ino)) {
			sup->pend[i] = NULL;
			sbr_pend_free(x);
		}
		if (!sup->pend[i] && slot < 0)
			slot = i;
	}
	if (slot < 0 || sbr_stand_in(sup, call->domain, &p->stand, &p->peer) < 0 ||
	    fstat(p->stand, &st) < 0)
		goto out;
	/* The program's socket goes (its epoll registrations with it, as
	 * the kernel keeps none of a closed file): its options stay here. */
	p->orig = sbr_factory_socket(sup->sb->helper_fd, call->domain, SOCK_STREAM);
	if (p->orig >= 0) {
		int v6 = 0;
		socklen_t l = sizeof(v6);

		sbr_copy_opts(call->sock, &sup->defaults[call->domain == AF_INET6 ? SBR_REF_TCP6
										 : SBR_REF_TCP4],
			      p->orig, call->domain);
		/* (The factory makes IPv6 sockets IPv6-only.) */
		if (call->domain == AF_INET6 &&
		    (getsockopt(call->sock, IPPROTO_IPV6, IPV6_V6ONLY, &v6, &l) < 0 ||
		     setsockopt(p->orig, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof(v6)) < 0))
			sbr_log("IPV6_V6ONLY of fd %d: %s", call->fdnum, strerror(errno));
	}
	give = fcntl(p->stand, F_DUPFD_CLOEXEC, 3);
	if (p->orig < 0 || give < 0) {
		if (give >= 0)
			close(give);
		goto out;
	}
	p->sup = sup;
	p->ino = st.st_ino;
	p->tgid = sbr_tgid_of(call->req->pid);
	p->fdnum = call->fdnum;
	p->timeout_ms = timeout_ms;
	snprintf(p->host, sizeof(p->host), "%s", host);
	snprintf(p->port, sizeof(p->port), "%s", port);
	if (pthread_attr_init(&at))
		goto out_give;
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	/* In the table before the program can ask; the thread waits for the
	 * lock before it marks the dial over. */
	sup->pend[slot] = p;
	i = pthread_create(&t, &at, sbr_pend_main, p);
	pthread_attr_destroy(&at);
	if (i) {
		sup->pend[slot] = NULL;
		goto out_give;
	}
	p = NULL;
	/* The stand-in goes in with the program's flags; its options wait
	 * in @orig for the broker's socket. */
	rc = sbr_install_as(sup, call, give, -1, EINPROGRESS);
	if (rc < 0)
		sbr_log("stand-in for fd %d: %s", call->fdnum, strerror(-rc));
	pthread_mutex_unlock(&sup->pend_lock);
	return rc;
out_give:
	close(give);
out:
	pthread_mutex_unlock(&sup->pend_lock);
	if (p)
		sbr_pend_free(p);
	return rc;
}

/* The entry of the stand-in @ino, taken out of the table when its dial is
 * over (under pend_lock). */
static struct sbr_pend *sbr_pend_find(struct sbr_sup *sup, ino_t ino)
{
	int i;

	for (i = 0; i < SBR_MAX_PEND; i++)
		if (sup->pend[i] && sup->pend[i]->ino == ino) {
			struct sbr_pend *p = sup->pend[i];

			if (p->done)
				sup->pend[i] = NULL;
			return p;
		}
	return NULL;
}

/* The outcome of a dial that is over, for the program's call @call on the
 * stand-in: the broker's socket in its place (0), or the program's own
 * socket back, answered -1 and the dial's errno when @err_answer (a
 * connect), else 0 (getsockopt: the errno is in its optval). Frees @p. */
static int sbr_pend_finish(struct sbr_sup *sup, struct sbr_call *call, struct sbr_pend *p,
			   int err_answer)
{
	int rc;

	/* Our copies of the stand-in go first, so that its epoll
	 * registrations do before the program is answered. */
	close(p->stand);
	close(p->peer);
	p->stand = p->peer = -1;
	if (p->fd >= 0) {
		struct stat st;
		unsigned slot = 0;
		int known = !err_answer && fstat(p->fd, &st) == 0;

		/* Before the answer: the program's next call may come at once,
		 * to another receiver. */
		if (known) {
			pthread_mutex_lock(&sup->pend_lock);
			slot = sup->nb_next++ % SBR_MAX_PEND;
			sup->nb_conn[slot] = st.st_ino;
			pthread_mutex_unlock(&sup->pend_lock);
		}
		rc = sbr_install_as(sup, call, p->fd, p->orig, 0);
		p->fd = -1; /* closed by sbr_install_as() */
		if (rc < 0 && known) {
			pthread_mutex_lock(&sup->pend_lock);
			if (sup->nb_conn[slot] == st.st_ino)
				sup->nb_conn[slot] = 0;
			pthread_mutex_unlock(&sup->pend_lock);
		}
	} else {
		rc = sbr_install_as(sup, call, p->orig, -1, err_answer ? p->err : 0);
		p->orig = -1; /* closed by sbr_install_as() */
	}
	sbr_pend_free(p);
	return rc;
}

/* connect(2) again of a socket whose connect is under way: EALREADY, then
 * the outcome, as the kernel says. Return: as sbr_dispatch(); 1: not ours. */
static int sbr_pend_connect(struct sbr_sup *sup, struct sbr_call *call)
{
	struct sbr_pend *p;
	int i, first = 0, dialling;

	pthread_mutex_lock(&sup->pend_lock);
	p = sbr_pend_find(sup, call->ino);
	for (i = 0; !p && i < SBR_MAX_PEND; i++)
		if (sup->nb_conn[i] && sup->nb_conn[i] == call->ino) {
			sup->nb_conn[i] = 0;
			first = 1;
		}
	/* Not over: still the dial thread's (and the table's). */
	dialling = p && !p->done;
	pthread_mutex_unlock(&sup->pend_lock);
	if (first) {
		sbr_answer(sup, call->req, 0, 0, 0);
		return 0;
	}
	if (!p)
		return 1;
	if (dialling)
		return -EALREADY;
	return sbr_pend_finish(sup, call, p, 1);
}

/* getsockopt(SOL_SOCKET, SO_ERROR) (the filter notifies only that): of a
 * stand-in, 0 till the dial is over, then its outcome. Return: as
 * sbr_dispatch(); 1: not ours, the kernel answers. */
static int sbr_pend_sockopt(struct sbr_sup *sup, struct sbr_call *call)
{
	const struct seccomp_data *d = &call->req->data;
	struct sbr_pend *p;
	int len, v = 0, rc, i, done;

	pthread_mutex_lock(&sup->pend_lock);
	p = sbr_pend_find(sup, call->ino);
	done = p && p->done;
	if (done)
		v = p->fd >= 0 ? 0 : p->err;
	pthread_mutex_unlock(&sup->pend_lock);
	if (!p)
		return 1;
	rc = sbr_read_mem(call->req->pid, d->args[4], &len, sizeof(len));
	if (rc == 0 && len < 0)
		rc = -EINVAL;
	if (rc == 0) {
		if (len > (int)sizeof(v))
			len = (int)sizeof(v);
		rc = sbr_write_mem(sup, call, d->args[3], &v, (size_t)len);
	}
	if (rc == 0)
		rc = sbr_write_mem(sup, call, d->args[4], &len, sizeof(len));
	if (rc < 0 || !done) {
		if (done) { /* not answered after all: back in the table */
			pthread_mutex_lock(&sup->pend_lock);
			for (i = 0; i < SBR_MAX_PEND && sup->pend[i]; i++)
				;
			if (i < SBR_MAX_PEND)
				sup->pend[i] = p;
			else
				sbr_pend_free(p);
			pthread_mutex_unlock(&sup->pend_lock);
		}
		if (rc < 0)
			return rc;
		sbr_answer(sup, call->req, 0, 0, 0);
		return 0;
	}
	return sbr_pend_finish(sup, call, p, 0);
}

/* "host", "port" strings of an IPv4/IPv6 address for Dial. */
static int sbr_numeric(const struct sockaddr_storage *ss, char *host, size_t hostlen,
		       char *port, size_t portlen)
{
	const void *a;
	size_t n;
	unsigned p;

	if (ss->ss_family == AF_INET) {
		a = &((const struct sockaddr_in *)ss)->sin_addr;
		p = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	} else {
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		p = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	}
	if (!inet_ntop(ss->ss_family, a, host, (socklen_t)hostlen))
		return -EINVAL;
	n = strlen(host);
	if (ss->ss_family == AF_INET6 && ((const struct sockaddr_in6 *)ss)->sin6_scope_id)
		snprintf(host + n, hostlen - n, "%%%u",
			 ((const struct sockaddr_in6 *)ss)->sin6_scope_id);
	snprintf(port, portlen, "%u", p);
	return 0;
}

static struct sbr_bound *sbr_bound_find(struct sbr_sup *sup, ino_t ino)
{
	int i;

	for (i = 0; i < SBR_MAX_BOUND; i++)
		if (sup->bound[i].s >= 0 && sup->bound[i].ino == ino)
			return &sup->bound[i];
	return NULL;
}

static void sbr_bound_drop(struct sbr_sup *sup, struct sbr_bound *b)
{
	if (sb_close(sup->c, b->s) < 0)
		sbr_log("close of broker socket %d: %s", b->s, strerror(errno));
	b->s = -1;
}

int sbr_holds_socket(pid_t pid, int fdnum, unsigned long ino)
{
	char path[64], link[64], want[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fdnum);
	snprintf(want, sizeof(want), "socket:[%lu]", ino);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return 0;
	link[n] = '\0';
	return strcmp(link, want) == 0;
}

/* Does thread @tid still hold socket @ino at @fdnum? */
static int sbr_bound_live(const struct sbr_bound *b)
{
	return sbr_holds_socket(b->tid, b->fdnum, (unsigned long)b->ino);
}

static struct sbr_bound *sbr_bound_slot(struct sbr_sup *sup)
{
	int i;

	for (i = 0; i < SBR_MAX_BOUND; i++)
		if (sup->bound[i].s < 0)
			return &sup->bound[i];
	for (i = 0; i < SBR_MAX_BOUND; i++)
		if (!sbr_bound_live(&sup->bound[i]))
			sbr_bound_drop(sup, &sup->bound[i]);
	for (i = 0; i < SBR_MAX_BOUND; i++)
		if (sup->bound[i].s < 0)
			return &sup->bound[i];
	return NULL;
}

int sbr_broker_socket(sb_client *c, const struct sbr_call *call, int type)
{
	int s, v;
	socklen_t l = sizeof(v);

	s = sb_socket(c, call->domain, type, 0);
	if (s < 0)
		return -errno;
	if (getsockopt(call->sock, SOL_SOCKET, SO_REUSEADDR, &v, &l) == 0 && v &&
	    sb_setsockopt(c, s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)) < 0)
		sbr_log("SO_REUSEADDR: %s", sb_last_error());
	l = sizeof(v);
	if (getsockopt(call->sock, SOL_SOCKET, SO_REUSEPORT, &v, &l) == 0 && v &&
	    sb_setsockopt(c, s, SOL_SOCKET, SO_REUSEPORT, &v, sizeof(v)) < 0)
		sbr_log("SO_REUSEPORT: %s", sb_last_error());
	l = sizeof(v);
	if (call->domain == AF_INET6 &&
	    getsockopt(call->sock, IPPROTO_IPV6, IPV6_V6ONLY, &v, &l) == 0 &&
	    sb_setsockopt(c, s, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v)) < 0)
		sbr_log("IPV6_V6ONLY: %s", sb_last_error());
	return s;
}

/**
 * sbr_broker_bind() - a broker TCP socket bound to @ss under the bind
 * policy, with the program's SO_REUSEADDR and IPV6_V6ONLY.
 * Return: its socket number, or -errno.
 */
static int sbr_broker_bind(struct sbr_sup *sup, const struct sbr_call *call,
			   const struct sockaddr_storage *ss, socklen_t len)
{
	int s, rc;

	s = sbr_broker_socket(sup->c, call, SOCK_STREAM);
	if (s < 0)
		return s;
	if (sb_bind(sup->c, s, (const struct sockaddr *)ss, len) < 0) {
		rc = -errno;
		sbr_log("bind refused: %s", sb_last_error() ? sb_last_error() : strerror(-rc));
		if (sb_close(sup->c, s) < 0)
			sbr_log("close: %s", strerror(errno));
		return rc;
	}
	return s;
}

/*
 * connect() of a socket the program bound first (curl --local-port, nc -p,
 * a client picking its source address): the broker's socket bound then
 * (under the bind policy) connects (under the connect policy), so that the
 * connection has the local end the program chose. @call->bound is taken
 * over. A failed connect closes it: a retry is dialled without that end.
 */
static int sbr_tcp_connect_bound(struct sbr_sup *sup, struct sbr_call *call,
				 const struct sockaddr_storage *ss, socklen_t len, int timeout_ms)
{
	int s = call->bound, fd, rc;

	call->bound = -1;
	rc = timeout_ms > 0 ? sb_connect_timeout(sup->c, s, (const struct sockaddr *)ss, len,
						 timeout_ms)
			    : sb_connect(sup->c, s, (const struct sockaddr *)ss, len);
	if (rc < 0) {
		rc = -errno;
		sbr_log("connect from the bound end: %s",
			sb_last_error() ? sb_last_error() : strerror(-rc));
		goto fail;
	}
	if (sbr_remote)
		return (fd = sbr_relay_socket(sup->c, sup->sb->helper_fd, s)) < 0
			       ? fd : sbr_install(sup, call, fd);
	fd = sb_handoff(sup->c, s);
	if (fd < 0) {
		rc = -errno;
		sbr_log("hand-off: %s", sb_last_error() ? sb_last_error() : strerror(-rc));
		goto fail;
	}
	sbr_log("connect from the bound end: fd %d", call->fdnum);
	return sbr_install(sup, call, fd);
fail:
	if (sb_close(sup->c, s) < 0)
		sbr_log("close: %s", strerror(errno));
	return rc;
}

/* connect() of an IPv4/IPv6 stream socket: Dial with hand-off. Runs in a
 * receiver without @sup->serial: touches nothing of @sup's but the session
 * and the fds. */
static int sbr_tcp_connect(struct sbr_sup *sup, struct sbr_call *call)
{
	struct sockaddr_storage ss;
	char host[INET6_ADDRSTRLEN + 16], port[8];
	struct timeval tv;
	socklen_t l = sizeof(tv);
	int len, rc, fd, timeout_ms = 0;

	len = sbr_read_sockaddr(call, call->req->data.args[1], call->req->data.args[2], &ss);
	if (len < 0)
		return len;
	if (!sbr_still_valid(sup, call->req))
		return -ENOENT;
	/* A connect under way in the background: its state, or outcome. */
	rc = sbr_pend_connect(sup, call);
	if (rc != 1)
		return rc;
	/* connect(AF_UNSPEC) would disconnect a socket we lent, which could
	 * then be pointed anywhere from the host's namespace. */
	if (ss.ss_family == AF_UNSPEC)
		return -EOPNOTSUPP;
	rc = sbr_check_inet(call->domain, &ss, len);
	if (rc < 0)
		return rc;
	if (sbr_tcp_state(call->sock) != TCP_CLOSE)
		return -EISCONN;
	if (sbr_numeric(&ss, host, sizeof(host), port, sizeof(port)) < 0)
		return -EINVAL;
	/* connect(2) waits as long as SO_SNDTIMEO says, or the kernel's own. */
	if (getsockopt(call->sock, SOL_SOCKET, SO_SNDTIMEO, &tv, &l) == 0 &&
	    (tv.tv_sec || tv.tv_usec))
		timeout_ms = tv.tv_sec > 86400 ? 86400000
					      : (int)(tv.tv_sec * 1000 + tv.tv_usec / 1000) + 1;
	if (call->bound >= 0)
		return sbr_tcp_connect_bound(sup, call, &ss, (socklen_t)len, timeout_ms);
	/* A non-blocking socket: EINPROGRESS, the dial in the background. */
	if (!sbr_remote && (fcntl(call->sock, F_GETFL) & O_NONBLOCK)) {
		rc = sbr_pend_start(sup, call, host, port, timeout_ms);
		if (rc != 1)
			return rc;
	}
	/* A remote broker cannot hand fds over: the connection is relayed. */
	if (sbr_remote) {
		fd = sbr_relay_connect(sup->c, sup->sb->helper_fd, host, port, timeout_ms);
		if (fd < 0)
			errno = -fd;
	} else {
		fd = sb_tcp_connect_fd(sup->c, host, port, timeout_ms);
	}
	if (fd < 0) {
		int err = errno;

		sbr_log("connect to %s port %s: %s", host, port,
			sb_last_error() ? sb_last_error() : strerror(err));
		return -err;
	}
	sbr_log("connect to %s port %s: fd %d", host, port, call->fdnum);
	return sbr_install(sup, call, fd);
}

/* bind() of an IPv4/IPv6 stream socket: the broker binds (the bind policy
 * decides now, and the program sees EACCES or EADDRINUSE from bind(2) as
 * it would); the program's own socket is bound to the same address in the
 * sandbox, so that getsockname() tells the port before listen(). */
static int sbr_tcp_bind(struct sbr_sup *sup, const struct sbr_call *call)
{
	struct sockaddr_storage ss, got;
	socklen_t gl = sizeof(got);
	struct sbr_bound *b;
	int len, rc, s, i, one = 1;

	len = sbr_read_sockaddr(call, call->req->data.args[1], call->req->data.args[2], &ss);
	if (len < 0)
		return len;
	if (!sbr_still_valid(sup, call->req))
		return -ENOENT;
	rc = sbr_check_inet(call->domain, &ss, len);
	if (rc < 0)
		return rc;
	memset(&got, 0, sizeof(got));
	if (sbr_bound_find(sup, call->ino) || sbr_tcp_state(call->sock) != TCP_CLOSE ||
	    (getsockname(call->sock, (struct sockaddr *)&got, &gl) == 0 &&
	     ((struct sockaddr_in *)&got)->sin_port != 0))
		return -EINVAL;
	/* Broker sockets bound for sockets the program closed go first: they
	 * may hold the port asked for (a bind, close, bind again). */
	for (i = 0; i < SBR_MAX_BOUND; i++)
		if (sup->bound[i].s >= 0 && !sbr_bound_live(&sup->bound[i]))
			sbr_bound_drop(sup, &sup->bound[i]);
	b = sbr_bound_slot(sup);
	if (!b)
		return -ENOBUFS;
	s = sbr_broker_bind(sup, call, &ss, (socklen_t)len);
	if (s < 0)
		return s;
	gl = sizeof(got);
	if (sb_getsockname(sup->c, s, (struct sockaddr *)&got, &gl) < 0) {
		int err = errno;

		if (sb_close(sup->c, s) < 0)
			sbr_log("close: %s", strerror(errno));
		return -err;
	}
	/* A host address is not on the sandbox's loopback: bind it anyway. */
	if (setsockopt(call->sock, call->domain == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP,
		       call->domain == AF_INET6 ? IPV6_FREEBIND : IP_FREEBIND, &one,
		       sizeof(one)) < 0 ||
	    bind(call->sock, (struct sockaddr *)&got, gl) < 0)
		sbr_log("the sandbox's copy of the bind failed: %s", strerror(errno));
	b->ino = call->ino;
	b->tid = call->req->pid;
	b->fdnum = call->fdnum;
	b->s = s;
	sbr_answer(sup, call->req, 0, 0, 0);
	return 0;
}

/* listen() of an IPv4/IPv6 stream socket: the broker's bound socket
 * listens and is handed off into the program's fd. */
static int sbr_tcp_listen(struct sbr_sup *sup, struct sbr_call *call)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct sbr_bound *b, tmp;
	int st = sbr_tcp_state(call->sock), backlog = (int)call->req->data.args[1];
	int fd, s;

	if (!sbr_still_valid(sup, call->req))
		return -ENOENT;
	/* Our listener already: listen() again only sets the backlog, on
	 * our copy (local.c: never the kernel on the fd number). */
	if (st == TCP_LISTEN)
		return sbr_local_call(sup, call);
	if (st != TCP_CLOSE)
		return -EINVAL;
	b = sbr_bound_find(sup, call->ino);
	if (!b) {
		/* Not bound through us (the table dropped it, or listen without
		 * bind, which the kernel answers with an ephemeral port): bind
		 * where the sandbox's socket is bound, else the wildcard. */
		memset(&ss, 0, sizeof(ss));
		if (getsockname(call->sock, (struct sockaddr *)&ss, &len) < 0)
			return -errno;
		s = sbr_broker_bind(sup, call, &ss, len);
		if (s < 0)
			return s;
		tmp.s = s;
		b = &tmp;
	}
	if (sb_listen(sup->c, b->s, backlog) < 0)
		goto fail;
	fd = sb_handoff(sup->c, b->s);
	if (fd < 0)
		goto fail;
	b->s = -1;
	sbr_log("listen on fd %d", call->fdnum);
	return sbr_install(sup, call, fd);
fail:
	s = -errno;
	sbr_log("listen: %s", sb_last_error() ? sb_last_error() : strerror(-s));
	if (b == &tmp)
		sbr_bound_drop(sup, b);
	return s;
}

/* A bound broker socket a call took over and did not use (a refused or
 * malformed connect) goes. */
static void sbr_drop_bound(struct sbr_sup *sup, struct sbr_call *call)
{
	if (call->bound >= 0 && sb_close(sup->c, call->bound) < 0)
		sbr_log("close of broker socket %d: %s", call->bound, strerror(errno));
	call->bound = -1;
}

static int sbr_dispatch_serial(struct sbr_sup *sup, struct sbr_call *call);

/**
 * sbr_dispatch() - answer one call on an IPv4/IPv6 socket; a TCP connect
 * without @sup->serial, anything else under it.
 * Return: 0 (answered), 1 (let the kernel go on), or -errno for the
 * program.
 */
static int sbr_dispatch(struct sbr_sup *sup, struct sbr_call *call)
{
	struct sbr_bound *b;
	int nr = call->req->data.nr, rc;

	if (call->type == SOCK_STREAM && nr == SYS_connect) {
		/* A bind before connect got a broker socket: it connects. */
		pthread_mutex_lock(&sup->serial);
		b = sbr_bound_find(sup, call->ino);
		if (b) {
			call->bound = b->s;
			b->s = -1;
		}
		pthread_mutex_unlock(&sup->serial);
		return sbr_tcp_connect(sup, call);
	}
	pthread_mutex_lock(&sup->serial);
	rc = sbr_dispatch_serial(sup, call);
	pthread_mutex_unlock(&sup->serial);
	return rc;
}
/* sbr_dispatch()'s calls under @sup->serial. */
static int sbr_dispatch_serial(struct sbr_sup *sup, struct sbr_call *call)
{
	int nr = call->req->data.nr;

	if (call->type == SOCK_STREAM) {
		if (nr == SYS_bind)
			return sbr_tcp_bind(sup, call);
		if (nr == SYS_listen)
			return sbr_tcp_listen(sup, call);
		/* MSG_FASTOPEN connects to the send's destination: never let
		 * the kernel act on it (the fd may be swapped for a socket
		 * the program inherited from the host's namespace). A fresh
		 * socket gets what a kernel without client TCP Fast Open
		 * says, and the program falls back to connect(2); one that
		 * is or was connected gets EISCONN, as from the kernel. */
		if (sbr_send_flags(call->req) & MSG_FASTOPEN)
			return sbr_tcp_state(call->sock) == TCP_CLOSE ? -EOPNOTSUPP : -EISCONN;
		return 1; /* a send (see the file's comment) */
	}
	/* Datagrams: UDP (udp.c) and raw ICMP (raw.c). A ping socket's echo
	 * requests would be sent as UDP by the broker's socket: refused. */
	if ((call->type != SOCK_DGRAM || call->protocol != IPPROTO_UDP) &&
	    call->type != SOCK_RAW)
		return -EACCES;
	if (!sup->udp)
		return -ENETUNREACH;
	return sbr_udp_call(sup->udp, sup, call);
}

/* Say once, whatever -v says, that the broker went away: from then on
 * every network call of the program fails (ECONNRESET). The library's
 * message on this thread tells a lost session from a reset connection. */
static void sbr_broker_gone(int rc)
{
	static atomic_int said;
	const char *e = sb_last_error();

	if (rc == -ECONNRESET && e && strstr(e, "the session ended") &&
	    !atomic_exchange(&said, 1))
		sbr_err("%s; the program's connects, binds and datagrams fail from now on", e);
}

static void sbr_handle(struct sbr_sup *sup, const struct seccomp_notif *req)
{
	struct sbr_call call = { .req = req, .pidfd = -1, .sock = -1, .bound = -1 };
	struct stat st;
	socklen_t l;
	int rc;

	/* The filter lets nothing else through; never act on another ABI. */
	if (req->data.arch != AUDIT_ARCH_X86_64) {
		rc = -ENOSYS;
		goto out;
	}
	/* The program makes an epoll set: sbr_epoll_follow() has work. */
	if (req->data.nr == SYS_epoll_create || req->data.nr == SYS_epoll_create1) {
		atomic_store(&sup->epoll_seen, 1);
		rc = 1;
		goto out;
	}
	/* socket(2) is notified for raw sockets only (the filter). */
	if (req->data.nr == SYS_socket) {
		pthread_mutex_lock(&sup->serial);
		rc = sbr_raw_socket(sup->raw, req);
		pthread_mutex_unlock(&sup->serial);
		goto out;
	}
	call.fdnum = (int)(uint32_t)req->data.args[0];
	if (call.fdnum < 0) {
		rc = -EBADF;
		goto out;
	}
	call.pidfd = (int)syscall(SYS_pidfd_open, req->pid, PIDFD_THREAD);
	if (call.pidfd < 0 && errno == EINVAL)
		call.pidfd = (int)syscall(SYS_pidfd_open, req->pid, 0);
	if (call.pidfd < 0) {
		rc = -ESRCH; /* the thread is gone, and its call with it */
		goto out;
	}
	call.sock = (int)syscall(SYS_pidfd_getfd, call.pidfd, call.fdnum, 0);
	if (call.sock < 0) {
		rc = errno == EBADF ? -EBADF : -ESRCH;
		goto out;
	}
	if (fstat(call.sock, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		rc = -ENOTSOCK;
		goto out;
	}
	call.ino = st.st_ino;
	l = sizeof(call.domain);
	if (getsockopt(call.sock, SOL_SOCKET, SO_DOMAIN, &call.domain, &l) < 0) {
		rc = -ENOTSOCK;
		goto out;
	}
	l = sizeof(call.type);
	if (getsockopt(call.sock, SOL_SOCKET, SO_TYPE, &call.type, &l) < 0) {
		rc = -ENOTSOCK;
		goto out;
	}
	l = sizeof(call.protocol);
	if (getsockopt(call.sock, SOL_SOCKET, SO_PROTOCOL, &call.protocol, &l) < 0) {
		rc = -ENOTSOCK;
		goto out;
	}
	if (req->data.nr == SYS_getsockopt)
		rc = sbr_pend_sockopt(sup, &call);
	else if (call.domain == AF_INET || call.domain == AF_INET6)
		rc = sbr_dispatch(sup, &call);
	else
		rc = sbr_local_call(sup, &call); /* Unix, netlink (local.c) */
out:
	sbr_broker_gone(rc);
	if (rc == 1)
		sbr_answer(sup, req, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
	else if (rc < 0 && rc != -ENOENT && rc != -ESRCH)
		sbr_answer(sup, req, -1, -rc, 0);
	sbr_drop_bound(sup, &call);
	if (call.sock >= 0)
		close(call.sock);
	if (call.pidfd >= 0)
		close(call.pidfd);
}

static int sbr_receiver_start(struct sbr_sup *sup);

/* Is the listener's filter used by no process any more (the program and
 * all it started are gone)? Then NOTIF_RECV fails at once (ENOENT), and
 * poll(2) says POLLHUP. */
static int sbr_listener_dead(int notify_fd)
{
	struct pollfd p = { .fd = notify_fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLHUP);
}

/* A receiver: takes notifications and answers them (see SBR_RECEIVERS).
 * Ends when no process is left under the filter: no notification can come
 * then, and NOTIF_RECV would fail at once, again and again. */
static void *sbr_receiver_main(void *arg)
{
	struct sbr_sup *sup = arg;
	struct seccomp_notif req;

	sbr_local_thread_init();
	for (;;) {
		memset(&req, 0, sizeof(req));
		if (ioctl(sup->sb->notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
			/* ENOENT: the caller was killed before we got it, or
			 * every caller is gone. */
			if (errno == ENOENT && sbr_listener_dead(sup->sb->notify_fd))
				break;
			if (errno == EINTR || errno == ENOENT)
				continue;
			break;
		}
		atomic_fetch_add(&sup->busy, 1);
		if (atomic_fetch_sub(&sup->idle, 1) == 1 &&
		    atomic_load(&sup->receivers) < SBR_RECEIVERS && sbr_receiver_start(sup) < 0)
			sbr_log("no thread for another receiver: a slow connect holds the "
				"next calls");
		sbr_handle(sup, &req);
		atomic_fetch_add(&sup->idle, 1);
		atomic_fetch_sub(&sup->busy, 1);
	}
	atomic_fetch_sub(&sup->idle, 1);
	return NULL;
}

/* One more receiver (detached). Return: 0 or -1. */
static int sbr_receiver_start(struct sbr_sup *sup)
{
	pthread_attr_t at;
	pthread_t t;
	int rc;

	if (pthread_attr_init(&at))
		return -1;
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	atomic_fetch_add(&sup->receivers, 1);
	atomic_fetch_add(&sup->idle, 1);
	rc = pthread_create(&t, &at, sbr_receiver_main, sup);
	pthread_attr_destroy(&at);
	if (rc) {
		atomic_fetch_sub(&sup->idle, 1);
		atomic_fetch_sub(&sup->receivers, 1);
		return -1;
	}
	return 0;
}

/* Signals forwarded to the program. Those the terminal sends reach it
 * directly (it is in our process group): only those sent to us by a
 * process are forwarded, so that none arrives twice. */
static const int sbr_fwd_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH,
				       SIGUSR1, SIGUSR2, SIGALRM };

int sbr_block_signals(sigset_t *set)
{
	size_t i;

	sigemptyset(set);
	for (i = 0; i < sizeof(sbr_fwd_signals) / sizeof(sbr_fwd_signals[0]); i++)
		sigaddset(set, sbr_fwd_signals[i]);
	sigaddset(set, SIGCHLD);
	return sigprocmask(SIG_BLOCK, set, NULL);
}

static int sbr_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return SBR_EXIT_FAIL;
}

int sbr_supervise(struct sbr_sandbox *sb, sb_client *c, int *busy)
{
	static struct sbr_sup sup; /* big, and receivers outlive this frame */
	static struct sbr_defaults defaults[SBR_REF_N];
	struct signalfd_siginfo si;
	struct pollfd pf[2 + SBR_UDP_RELAYS]; /* signals, the relays' wake-up, relays */
	sigset_t set;
	int i, st, sfd, status = -1;
	size_t nrelay, k;
	pid_t w;

	sup.c = c;
	sup.sb = sb;
	sup.stand_l[0] = sup.stand_l[1] = -1;
	pthread_mutex_init(&sup.pend_lock, NULL);
	for (i = 0; i < SBR_MAX_BOUND; i++)
		sup.bound[i].s = -1;
	for (i = 0; i < SBR_REF_N; i++)
		sbr_defaults_read(sb->ref[i], &defaults[i]);
	sup.defaults = defaults;
	*busy = 0;
	sigemptyset(&set);
	sigprocmask(SIG_BLOCK, NULL, &set);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0 || pthread_mutex_init(&sup.serial, NULL)) {
		sbr_err("signalfd: %s", strerror(errno));
		kill(sb->pid, SIGKILL);
		while (waitpid(sb->pid, &st, 0) < 0 && errno == EINTR)
			;
		return SBR_EXIT_FAIL;
	}
	sup.raw = sbr_raw_new(c, sb->helper_fd, sb->notify_fd);
	sup.udp = sbr_udp_new(c, sb->helper_fd, sup.raw);
	if (!sup.udp)
		sbr_err("no datagram relay (out of memory): datagrams fail with ENETUNREACH");
	/* Receivers answer the notifications; this thread forwards signals,
	 * reaps the program and moves the datagrams of udp.c's relays. */
	for (i = 0; i < SBR_RECEIVERS_START; i++) {
		if (sbr_receiver_start(&sup) == 0)
			continue;
		if (i > 0)
			break;
		sbr_err("cannot start a thread: %s", strerror(errno));
		kill(sb->pid, SIGKILL);
	}
	while (status < 0) {
		pf[0].fd = sfd;
		pf[0].events = POLLIN;
		pf[0].revents = 0;
		pthread_mutex_lock(&sup.serial);
		nrelay = sup.udp ? sbr_udp_pollfds(sup.udp, pf + 1, sizeof(pf) / sizeof(pf[0]) - 1)
				 : 0;
		pthread_mutex_unlock(&sup.serial);
		if (poll(pf, 1 + nrelay, -1) < 0) {
			if (errno == EINTR)
				continue;
			sbr_err("poll: %s", strerror(errno));
			kill(sb->pid, SIGKILL);
			pf[0].revents = POLLIN;
		}
		pthread_mutex_lock(&sup.serial);
		for (k = 0; k < nrelay; k++)
			if (pf[1 + k].revents & POLLIN)
				sbr_udp_relay_ready(sup.udp, pf[1 + k].fd);
		pthread_mutex_unlock(&sup.serial);
		if (!(pf[0].revents & POLLIN))
			continue;
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo != SIGCHLD && si.ssi_code != SI_KERNEL)
				kill(sb->pid, (int)si.ssi_signo);
		}
		w = waitpid(sb->pid, &st, WNOHANG);
		if (w == sb->pid)
			status = sbr_status(st);
		else if (w < 0 && errno != EINTR)
			status = SBR_EXIT_FAIL;
	}
	/* The broker sockets still bound and never listened on go with the
	 * session; closing them here keeps the count right for a long-lived
	 * caller of this function. Under @serial, and gone for a receiver
	 * still answering a call of a thread that was killed. */
	pthread_mutex_lock(&sup.serial);
	for (i = 0; i < SBR_MAX_BOUND; i++)
		if (sup.bound[i].s >= 0)
			sbr_bound_drop(&sup, &sup.bound[i]);
	sbr_udp_free(sup.udp);
	sbr_raw_free(sup.raw);
	sup.udp = NULL;
	sup.raw = NULL;
	pthread_mutex_unlock(&sup.serial);
	close(sfd);
	/* A connect still being answered holds the session: the caller must
	 * not close it under the receiver, and exits instead (the broker ends
	 * the session when this process is gone). */
	*busy = atomic_load(&sup.busy) != 0;
	return status;
}
