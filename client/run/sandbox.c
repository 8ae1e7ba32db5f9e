/* SPDX-License-Identifier: MIT
 * sandbox.c - the sandbox of sockbroker-run: a child in its own user and
 * network namespaces (loopback only), under a seccomp filter that turns
 * the calls reaching the network into notifications for the supervisor,
 * then exec of CMD.
 *
 * Start-up, over a SOCK_SEQPACKET pair (struct sbr_msg):
 *   child: unshare(USER|NET); supervisor: id maps; child: lo up, reference sockets (sent with
 *          SCM_RIGHTS), filter loaded, its listener's fd number sent
 *   supervisor: pidfd_getfd() of that fd (the child can no longer use
 *          sendmsg: it is filtered, and nobody answers yet), then "go"
 *   child: closes every fd but 0-2, execs; an exec failure is reported on
 *          the same channel (close-on-exec: EOF means CMD runs).
 * Every failure of the child is sent as (stage, errno) and printed by the
 * supervisor, which says what the kernel lacks and what to do.
 *
 * The filter is built with libseccomp: it has SCMP_ACT_NOTIFY and checks
 * the architecture itself. Only x86_64 system calls pass: an i386 call
 * (int 0x80) and an x32 call (nr | __X32_SYSCALL_BIT) are bad-architecture
 * calls and kill the process (SCMP_FLTATR_ACT_BADARCH), so a program
 * cannot reach connect(2) through another system-call table.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/nsfs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/seccomp.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stddef.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

/* The sandbox's own IPv6 address (a unique local address, RFC 4193). */
#define SBR_SELF6 { 0xfd, 0x5b, 0x7c, 0x6f, 0x2d, 0x73, 0x62, 0x72, 0, 0, 0, 0, 0, 0, 0, 2 }

enum sbr_stage {
	SBR_ST_USERNS = 1, /* unshare(CLONE_NEWUSER | CLONE_NEWNET) */
	SBR_ST_MAPS,       /* writing uid_map / gid_map */
	SBR_ST_LO,         /* bringing lo up */
	SBR_ST_ROUTES,     /* the AnyIP routes (udp.c) */
	SBR_ST_FILTER,     /* building the filter */
	SBR_ST_LOAD,       /* loading the filter (seccomp user notification) */
	SBR_ST_REFS,       /* reference sockets follow (SCM_RIGHTS) */
	SBR_ST_READY,      /* @fd: the listener's fd number in the child */
	SBR_ST_EXEC,       /* execvp() failed */
};

struct sbr_msg {
	int32_t stage;
	int32_t err;
	int32_t fd;
};

static void sbr_child_send(int sync, enum sbr_stage st, int err, int fd)
{
	struct sbr_msg m = { .stage = st, .err = err, .fd = fd };

	/* Nothing to do when the supervisor is gone: the child dies with it. */
	if (write(sync, &m, sizeof(m)) != (ssize_t)sizeof(m))
		_exit(SBR_EXIT_FAIL);
}

static __attribute__((noreturn)) void sbr_child_fail(int sync, enum sbr_stage st)
{
	sbr_child_send(sync, st, errno, -1);
	_exit(SBR_EXIT_FAIL);
}

static int sbr_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	size_t len = strlen(text);

	if (fd < 0)
		return -1;
	n = write(fd, text, len);
	close(fd);
	if (n != (ssize_t)len) {
		if (n >= 0)
			errno = EIO;
		return -1;
	}
	return 0;
}

/*
 * Map the invoking user to itself, so that files keep their owners. Root
 * gets the whole identity map (it reads and writes what it did outside),
 * but its capabilities hold only in the sandbox's own namespaces: no
 * setns() back to the host's network, no privileged socket option on a
 * socket it is lent. Written by the supervisor: a map of more than one's
 * own id needs CAP_SETUID in the parent namespace, which the child lacks.
 */
static int sbr_write_maps(pid_t pid, uid_t uid, gid_t gid)
{
	char path[64], line[64];

	if (uid == 0) {
		snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
		if (sbr_write_file(path, "0 0 4294967295\n") < 0)
			return -1;
		snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
		return sbr_write_file(path, "0 0 4294967295\n");
	}
	/* An unprivileged map of one's own gid needs setgroups denied. */
	snprintf(path, sizeof(path), "/proc/%d/setgroups", (int)pid);
	if (sbr_write_file(path, "deny\n") < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (sbr_write_file(path, line) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)pid);
	snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	return sbr_write_file(path, line);
}

static int sbr_child_lo_up(void)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc = -1;

	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		goto out;
	ifr.ifr_flags = (short)(ifr.ifr_flags | IFF_UP);
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		goto out;
	rc = 0;
out:
	close(s);
	return rc;
}

/* One rtnetlink request of the sandbox, answered by an ack. */
static int sbr_nl_request(const void *req, size_t len)
{
	struct {
		struct nlmsghdr nh;
		struct nlmsgerr err;
	} ack;
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int rc = -1;

	if (s < 0)
		return -1;
	if (sendto(s, req, len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0 ||
	    recv(s, &ack, sizeof(ack), 0) < (ssize_t)sizeof(ack))
		goto out;
	if (ack.nh.nlmsg_type != NLMSG_ERROR || ack.err.error) {
		errno = ack.nh.nlmsg_type == NLMSG_ERROR ? -ack.err.error : EPROTO;
		goto out;
	}
	rc = 0;
out:
	close(s);
	return rc;
}

/*
 * "AnyIP": every address is local in the sandbox (local 0.0.0.0/0 and
 * ::/0 on lo, in the local table), so that a datagram the program sends on
 * a connected socket lands on a relay socket of the supervisor bound to its
 * destination, with the program's own address as the source (udp.c).
 */
static int sbr_child_anyip(int family)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		struct rtattr oif;
		uint32_t ifindex;
	} req;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = sizeof(req);
	req.nh.nlmsg_type = RTM_NEWROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
	req.rt.rtm_family = (unsigned char)family;
	req.rt.rtm_table = RT_TABLE_LOCAL;
	req.rt.rtm_protocol = RTPROT_BOOT;
	req.rt.rtm_scope = RT_SCOPE_HOST;
	req.rt.rtm_type = RTN_LOCAL;
	req.oif.rta_len = RTA_LENGTH(sizeof(uint32_t));
	req.oif.rta_type = RTA_OIF;
	req.ifindex = if_nametoindex("lo");
	if (!req.ifindex)
		return -1;
	return sbr_nl_request(&req, sizeof(req));
}

/*
 * An address on lo besides 127.0.0.1 and ::1: getaddrinfo() with
 * AI_ADDRCONFIG (glibc's default without hints, and getent ahostsv4) asks
 * for the families "configured" on a non-loopback address, and would find
 * none. 127.0.0.2 for IPv4 always; SBR_SELF6 for IPv6 when the host has
 * an IPv6 address outside loopback and link-local, so that programs
 * prefer IPv6 here as they would outside. Both are the sandbox's own.
 */
static int sbr_child_self_addr(int family)
{
	static const unsigned char self4[4] = { 127, 0, 0, 2 };
	static const unsigned char self6[16] = SBR_SELF6;
	struct {
		struct nlmsghdr nh;
		struct ifaddrmsg ifa;
		struct rtattr local;
		unsigned char addr[16];
	} req;
	size_t alen = family == AF_INET6 ? 16 : 4;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = (uint32_t)(offsetof(__typeof__(req), addr) + alen);
	req.nh.nlmsg_type = RTM_NEWADDR;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
	req.ifa.ifa_family = (unsigned char)family;
	req.ifa.ifa_prefixlen = (unsigned char)(alen * 8);
	req.ifa.ifa_flags = IFA_F_NODAD;
	req.ifa.ifa_scope = RT_SCOPE_HOST;
	req.ifa.ifa_index = if_nametoindex("lo");
	req.local.rta_len = (unsigned short)RTA_LENGTH(alen);
	req.local.rta_type = IFA_LOCAL;
	memcpy(req.addr, family == AF_INET6 ? self6 : self4, alen);
	if (!req.ifa.ifa_index)
		return -1;
	return sbr_nl_request(&req, req.nh.nlmsg_len);
}

static void sbr_child_send_refs(int sync)
{
	static const int fam[SBR_REF_N] = { AF_INET, AF_INET6 };
	struct sbr_msg m = { .stage = SBR_ST_REFS };
	union {
		char buf[CMSG_SPACE(sizeof(int) * SBR_REF_N)];
		struct cmsghdr align;
	} cm;
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
	int fds[SBR_REF_N] = { -1, -1 };
	int i, n = 0;

	/* A family the kernel lacks is sent as a missing fd (m.fd bit unset). */
	for (i = 0; i < SBR_REF_N; i++) {
		int s = socket(fam[i], SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (s >= 0) {
			fds[n++] = s;
			m.fd |= 1 << i;
		}
	}
	memset(cm.buf, 0, sizeof(cm.buf));
	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
	memcpy(CMSG_DATA(h), fds, sizeof(int) * (size_t)n);
	mh.msg_controllen = n ? CMSG_SPACE(sizeof(int) * (size_t)n) : 0;
	if (!n)
		mh.msg_control = NULL;
	if (sendmsg(sync, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		_exit(SBR_EXIT_FAIL);
	for (i = 0; i < n; i++)
		close(fds[i]);
}

/* socket() families the program may use: the sandbox's own Unix sockets
 * and netlink (its own loopback-only namespace), and IPv4/IPv6, whose
 * connect/bind/listen/sends go through the supervisor. Other families are
 * refused outright: some (vsock, Bluetooth...) are not confined by a
 * network namespace at all. */
static int sbr_family_allowed(int fam)
{
	return fam == AF_UNIX || fam == AF_NETLINK || fam == AF_INET || fam == AF_INET6;
}

static int sbr_rule(scmp_filter_ctx ctx, uint32_t act, int nr, unsigned n,
		    const struct scmp_arg_cmp *cmp)
{
	int rc = seccomp_rule_add_array(ctx, act, nr, n, cmp);

	if (rc < 0)
		errno = -rc;
	return rc;
}

/**
 * sbr_filter_build() - the sandbox's filter (see the file's comment).
 * Return: the context, or NULL with errno.
 */
static scmp_filter_ctx sbr_filter_build(void)
{
	/* epoll_create*: only told, for sbr_epoll_follow() (supervise.c). */
	static const int notify[] = { SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(listen),
				      SCMP_SYS(sendmsg), SCMP_SYS(sendmmsg),
				      SCMP_SYS(epoll_create), SCMP_SYS(epoll_create1) };
	static const int nosys[] = { SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter),
				     SCMP_SYS(io_uring_register) };
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	struct scmp_arg_cmp c[2];
	size_t i;
	int fam, t;

	if (!ctx) {
		errno = ENOMEM;
		return NULL;
	}
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0)
		goto fail;
	for (i = 0; i < sizeof(notify) / sizeof(notify[0]); i++)
		if (sbr_rule(ctx, SCMP_ACT_NOTIFY, notify[i], 0, NULL) < 0)
			goto fail;
	/* sendto() without a destination is send(): the data path of a
	 * connected socket stays native. */
	c[0] = SCMP_A4(SCMP_CMP_NE, 0);
	if (sbr_rule(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(sendto), 1, c) < 0)
		goto fail;
	/* getsockopt(SO_ERROR): how a non-blocking connect ends (supervise.c:
	 * the broker's socket is put in then). Other options stay native. */
	c[0] = SCMP_A1(SCMP_CMP_EQ, SOL_SOCKET);
	c[1] = SCMP_A2(SCMP_CMP_EQ, SO_ERROR);
	if (sbr_rule(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(getsockopt), 2, c) < 0)
		goto fail;
	/* io_uring does connect/bind/send without a system call per operation,
	 * out of the filter's sight. */
	for (i = 0; i < sizeof(nosys) / sizeof(nosys[0]); i++)
		if (sbr_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), nosys[i], 0, NULL) < 0)
			goto fail;
	/* Families 0..AF_MAX-1 one by one (a filter has no "not in"). */
	for (fam = 0; fam < AF_MAX; fam++) {
		if (sbr_family_allowed(fam))
			continue;
		c[0] = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)fam);
		if (sbr_rule(ctx, SCMP_ACT_ERRNO(fam == AF_PACKET ? EPERM : EAFNOSUPPORT),
			     SCMP_SYS(socket), 1, c) < 0)
			goto fail;
	}
	c[0] = SCMP_A0(SCMP_CMP_GE, AF_MAX);
	if (sbr_rule(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1, c) < 0)
		goto fail;
	/* IPv4/IPv6: stream, datagram, and raw sockets, which the supervisor
	 * makes when the broker's policy names them (raw.c; EPERM otherwise,
	 * what an unprivileged process gets). The old SOCK_PACKET is EPERM. */
	for (t = 0; t < 16; t++) {
		uint32_t act = t == SOCK_RAW ? SCMP_ACT_NOTIFY
			       : SCMP_ACT_ERRNO(t == SOCK_PACKET ? EPERM : ESOCKTNOSUPPORT);

		if (t == SOCK_STREAM || t == SOCK_DGRAM)
			continue;
		c[1] = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, (scmp_datum_t)t);
		c[0] = SCMP_A0(SCMP_CMP_EQ, AF_INET);
		if (sbr_rule(ctx, act, SCMP_SYS(socket), 2, c) < 0)
			goto fail;
		c[0] = SCMP_A0(SCMP_CMP_EQ, AF_INET6);
		if (sbr_rule(ctx, act, SCMP_SYS(socket), 2, c) < 0)
			goto fail;
	}
	return ctx;
fail:
	seccomp_release(ctx);
	return NULL;
}

static __attribute__((noreturn)) void sbr_child(int sync, pid_t parent, int ipv6,
						 char *const argv[])
{
	scmp_filter_ctx ctx;
	sigset_t none;
	struct sbr_msg go;
	int nfd, i;

	/* The sandbox dies with its supervisor: nothing it does afterwards
	 * would be answered. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
		_exit(SBR_EXIT_FAIL);
	/* The supervisor blocks the signals it forwards; the program starts
	 * with none blocked. Ignored signals stay ignored (nohup). */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
		sbr_child_fail(sync, SBR_ST_USERNS);
	/* The supervisor writes the id maps and answers. */
	sbr_child_send(sync, SBR_ST_MAPS, 0, -1);
	if (read(sync, &go, sizeof(go)) != (ssize_t)sizeof(go))
		_exit(SBR_EXIT_FAIL);
	if (go.err) {
		errno = go.err;
		sbr_child_fail(sync, SBR_ST_MAPS);
	}
	if (sbr_child_lo_up() < 0)
		sbr_child_fail(sync, SBR_ST_LO);
	/* Without IPv6 in the kernel only the IPv4 route is needed. */
	if (sbr_child_anyip(AF_INET) < 0 ||
	    (sbr_child_anyip(AF_INET6) < 0 && errno != EAFNOSUPPORT) ||
	    sbr_child_self_addr(AF_INET) < 0 || (ipv6 && sbr_child_self_addr(AF_INET6) < 0))
		sbr_child_fail(sync, SBR_ST_ROUTES);
	sbr_child_send_refs(sync);

	ctx = sbr_filter_build();
	if (!ctx)
		sbr_child_fail(sync, SBR_ST_FILTER);
	/* libseccomp sets no_new_privs and asks for a listener itself. */
	i = seccomp_load(ctx);
	if (i < 0) {
		errno = -i;
		sbr_child_fail(sync, SBR_ST_LOAD);
	}
	nfd = seccomp_notify_fd(ctx);
	if (nfd < 0) {
		errno = -nfd;
		sbr_child_fail(sync, SBR_ST_LOAD);
	}
	sbr_child_send(sync, SBR_ST_READY, 0, nfd);
	if (read(sync, &go, sizeof(go)) != (ssize_t)sizeof(go))
		_exit(SBR_EXIT_FAIL);
	/* The program gets stdin, stdout and stderr, and nothing of the
	 * runner's: its listener, its sockets, fds it inherited. */
	close(nfd);
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		sbr_child_fail(sync, SBR_ST_EXEC);
	execvp(argv[0], argv);
	sbr_child_fail(sync, SBR_ST_EXEC);
}

/* 1 when @fd (a user namespace) is @self or below it (NS_GET_PARENT). */
static int sbr_userns_within(int fd, const struct stat *self)
{
	struct stat st;
	int i, up;

	for (i = 0; i < 32 && fd >= 0; i++) {
		if (fstat(fd, &st) < 0)
			break;
		if (st.st_dev == self->st_dev && st.st_ino == self->st_ino) {
			close(fd);
			return 1;
		}
		up = ioctl(fd, NS_GET_PARENT);
		close(fd);
		fd = up;
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

/*
 * Kill every process of the sandbox but this one: those in its user
 * namespace, or in one made below it, wherever they moved otherwise
 * (setsid, a network namespace of their own, reparented to init). A
 * process is named by a pidfd before it is judged and signalled, so a
 * reused pid is never hit. Rounds until none is left (a forking program
 * is outrun), at most about a second.
 */
static void sbr_factory_reap(void)
{
	struct stat self;
	int round;

	if (stat("/proc/self/ns/user", &self) < 0)
		return;
	for (round = 0; round < 100; round++) {
		DIR *d = opendir("/proc");
		struct dirent *e;
		int found = 0;

		if (!d)
			return;
		while ((e = readdir(d)) != NULL) {
			char path[64];
			pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);
			int pfd, ns;

			if (pid <= 1 || pid == getpid())
				continue;
			pfd = (int)syscall(SYS_pidfd_open, pid, 0);
			if (pfd < 0)
				continue;
			snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
			ns = open(path, O_RDONLY | O_CLOEXEC);
			if (ns >= 0 && sbr_userns_within(ns, &self) &&
			    syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0) == 0)
				found++;
			close(pfd);
		}
		closedir(d);
		if (!found)
			return;
		usleep(10 * 1000);
	}
}

/* A request to the factory: one SOCK_SEQPACKET message. */
struct sbr_freq {
	unsigned char ask;  /* SBR_ASK_EPOLL, or what sbr_factory_socket() asks */
	int fdnum;          /* SBR_ASK_EPOLL: the program's fd number */
	uint32_t events;    /* ... and its registration */
	uint64_t data;
};
#define SBR_ASK_EPOLL 0x80 /* with SCM_RIGHTS: the epoll set, the socket */

/* Move our *@fd off number @num. Return: 0, or -1 with *@fd as it was. */
static int sbr_fd_off(int *fd, int num)
{
	int n;

	if (*fd != num)
		return 0;
	n = fcntl(*fd, F_DUPFD_CLOEXEC, num + 1);
	if (n < 0)
		return -1;
	close(*fd);
	*fd = n;
	return 0;
}

/*
 * Register socket @s in the program's epoll set @ep under the program's fd
 * number, as the program had registered the socket it replaces: epoll finds
 * a registration by the file and the number given to epoll_ctl(2), in the
 * table of whoever calls it, and only here (a table of three fds) can @s be
 * put at any number. @ch may move. Return: 0 or an errno. Closes @ep, @s.
 */
static int sbr_factory_do_epoll(int *ch, int ep, int s, const struct sbr_freq *q)
{
	struct epoll_event ev = { .events = q->events, .data.u64 = q->data };
	int err = 0;

	if (q->fdnum < 0 || ep < 0 || s < 0) {
		err = EBADF;
		goto out;
	}
	if (sbr_fd_off(ch, q->fdnum) < 0 || sbr_fd_off(&ep, q->fdnum) < 0) {
		err = errno;
		goto out;
	}
	if (s != q->fdnum) {
		if (dup2(s, q->fdnum) < 0) {
			err = errno;
			goto out;
		}
		close(s);
		s = q->fdnum;
	}
	if (epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev) < 0)
		err = errno;
out:
	if (s >= 0)
		close(s);
	if (ep >= 0)
		close(ep);
	return err;
}

/* The socket factory: a process of the supervisor's (not under the filter,
 * not the program's child) in the sandbox's user and network namespaces,
 * making sockets there on request (udp.c's relays, relay.c's TCP pairs,
 * raw.c's sockets: it has CAP_NET_RAW in the sandbox's namespace), and
 * registering sockets in the program's epoll sets (sbr_factory_do_epoll()).
 * It can make nothing but sockets of the sandbox's empty namespace. When
 * the supervisor is done or gone it kills what is left of the sandbox. */
static __attribute__((noreturn)) void sbr_factory(int ch)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct sbr_freq q;
	struct rlimit rl;
	ssize_t n;
	int s, err, fam, one = 1;

	/* A program may have raised its limit: reach its fd numbers. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	for (;;) {
		struct iovec iov = { .iov_base = &q, .iov_len = sizeof(q) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
		struct cmsghdr *h;
		int fds[2] = { -1, -1 };

		memset(&q, 0, sizeof(q));
		n = recvmsg(ch, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		/* The supervisor is done or gone: so is the sandbox. */
		if (n < 1) {
			sbr_factory_reap();
			_exit(0);
		}
		h = CMSG_FIRSTHDR(&mh);
		if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS)
			memcpy(fds, CMSG_DATA(h), h->cmsg_len - CMSG_LEN(0) < sizeof(fds)
						  ? h->cmsg_len - CMSG_LEN(0) : sizeof(fds));
		iov.iov_base = &err;
		iov.iov_len = sizeof(err);
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		s = -1;
		if ((q.ask & SBR_ASK_EPOLL) && n == (ssize_t)sizeof(q)) {
			err = sbr_factory_do_epoll(&ch, fds[0], fds[1], &q);
			goto answer;
		}
		if (fds[0] >= 0)
			close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		if (q.ask & SBR_ASK_EPOLL) {
			err = EINVAL;
			goto answer;
		}
		fam = (q.ask & 0xf) == 6 ? AF_INET6 : AF_INET;
		if (q.ask & 0x20) /* raw: ICMP, ICMPv6, or IPv4 with its header */
			s = socket(fam, SOCK_RAW | SOCK_CLOEXEC,
				   (q.ask & 0x40) ? IPPROTO_RAW
				   : fam == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP);
		else
			s = socket(fam, ((q.ask & 0x10) ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC,
				   0);
		err = s < 0 ? errno : 0;
		/* (IPV6_V6ONLY is for sockets with ports.) */
		if (s >= 0 && fam == AF_INET6 && !(q.ask & 0x20) &&
		    setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
			err = errno;
		if (s >= 0 && !err) {
			memset(cm.buf, 0, sizeof(cm.buf));
			mh.msg_control = cm.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int));
			h = CMSG_FIRSTHDR(&mh);
			h->cmsg_level = SOL_SOCKET;
			h->cmsg_type = SCM_RIGHTS;
			h->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(h), &s, sizeof(int));
		}
answer:
		if (sendmsg(ch, &mh, MSG_NOSIGNAL) < 0) {
			sbr_factory_reap();
			_exit(0);
		}
		if (s >= 0)
			close(s);
	}
}

/* Start the socket factory in the namespaces of the sandbox @sb->pid. */
static int sbr_factory_start(struct sbr_sandbox *sb, pid_t parent)
{
	char path[64];
	int sv[2], userns, netns;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		/* Not dumpable: a program without capabilities cannot ptrace it
		 * (it could only make sockets of the sandbox anyway). No
		 * parent-death signal: when the supervisor dies, even by
		 * SIGKILL, its end of the channel closes and the factory
		 * kills what is left of the sandbox before it exits. */
		if (getppid() != parent || prctl(PR_SET_DUMPABLE, 0) < 0)
			_exit(SBR_EXIT_FAIL);
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)sb->pid);
		userns = open(path, O_RDONLY | O_CLOEXEC);
		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)sb->pid);
		netns = open(path, O_RDONLY | O_CLOEXEC);
		if (userns < 0 || netns < 0 || dup2(sv[1], 3) < 0 ||
		    setns(userns, CLONE_NEWUSER) < 0 || setns(netns, CLONE_NEWNET) < 0) {
			/* The supervisor sees EOF at its first request. */
			_exit(SBR_EXIT_FAIL);
		}
		/* Nothing of the supervisor's but the channel. */
		if (syscall(SYS_close_range, 4U, ~0U, 0U) < 0)
			_exit(SBR_EXIT_FAIL);
		sbr_factory(3);
	}
	close(sv[1]);
	sb->helper = pid;
	sb->helper_fd = sv[0];
	return 0;
}

/* One question to the factory and its answer, from any thread: @q with
 * @nsend fds; the answer's errno, and the fd it carries in *@got when
 * @got is not NULL. Return: the errno, or -EIO when the factory is gone. */
static int sbr_factory_ask(int helper_fd, const struct sbr_freq *q, const int *send_fds,
			   int nsend, int *got)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} cm;
	int err = 0, fd = -1;
	struct iovec iov = { .iov_base = (void *)q, .iov_len = sizeof(*q) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *h;
	ssize_t n = -1;

	if (helper_fd < 0)
		return -EIO;
	memset(cm.buf, 0, sizeof(cm.buf));
	if (nsend) {
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)nsend * sizeof(int));
		h = CMSG_FIRSTHDR(&mh);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN((size_t)nsend * sizeof(int));
		memcpy(CMSG_DATA(h), send_fds, (size_t)nsend * sizeof(int));
	}
	pthread_mutex_lock(&lock);
	if (sendmsg(helper_fd, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(*q)) {
		iov.iov_base = &err;
		iov.iov_len = sizeof(err);
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		n = recvmsg(helper_fd, &mh, MSG_CMSG_CLOEXEC);
	}
	pthread_mutex_unlock(&lock);
	if (n != (ssize_t)sizeof(err))
		return -EIO;
	h = CMSG_FIRSTHDR(&mh);
	if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
	    h->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(h), sizeof(int));
	if (got)
		*got = fd;
	else if (fd >= 0)
		close(fd);
	return err;
}

int sbr_factory_socket(int helper_fd, int family, int type)
{
	struct sbr_freq q = {
		.ask = (unsigned char)((family == AF_INET6 ? 6 : 4) |
				       (type == SOCK_STREAM ? 0x10 : 0) |
				       (type == SOCK_RAW ? 0x20 : 0) |
				       (type == SBR_FACTORY_HDRINCL ? 0x60 : 0)),
	};
	int fd = -1, err = sbr_factory_ask(helper_fd, &q, NULL, 0, &fd);

	if (err < 0)
		return err;
	if (fd < 0)
		return err > 0 ? -err : -EIO;
	return fd;
}

int sbr_factory_epoll(int helper_fd, int epfd, int fd, int fdnum, uint32_t events,
		      uint64_t data)
{
	struct sbr_freq q = { .ask = SBR_ASK_EPOLL, .fdnum = fdnum, .events = events,
			      .data = data };
	int fds[2] = { epfd, fd };
	int err = sbr_factory_ask(helper_fd, &q, fds, 2, NULL);

	return err > 0 ? -err : err;
}

static void sbr_explain(const struct sbr_msg *m, const char *cmd)
{
	const char *e = strerror(m->err);

	switch (m->stage) {
	case SBR_ST_USERNS:
		sbr_err("cannot make the sandbox's user and network namespaces: %s; "
			"the kernel must allow user namespaces (CONFIG_USER_NS; "
			"sysctl user.max_user_namespaces > 0, "
			"kernel.unprivileged_userns_clone=1, and no AppArmor "
			"restriction on unprivileged user namespaces)", e);
		break;
	case SBR_ST_MAPS:
		sbr_err("cannot write the sandbox's uid/gid map: %s", e);
		break;
	case SBR_ST_LO:
		sbr_err("cannot bring up the sandbox's loopback: %s", e);
		break;
	case SBR_ST_ROUTES:
		sbr_err("cannot add the sandbox's local routes and addresses: %s", e);
		break;
	case SBR_ST_FILTER:
		sbr_err("cannot build the seccomp filter: %s "
			"(libseccomp %s or newer with SCMP_ACT_NOTIFY is needed)", e, "2.5");
		break;
	case SBR_ST_LOAD:
		sbr_err("cannot load the seccomp filter with a user-notification "
			"listener: %s; the kernel needs CONFIG_SECCOMP_FILTER and "
			"seccomp user notification with fd injection (Linux 5.9 "
			"or newer)", e);
		break;
	case SBR_ST_EXEC:
		sbr_err("%s: %s", cmd, e);
		break;
	default:
		sbr_err("the sandbox failed to start (stage %d): %s", m->stage, e);
	}
}

/* Take the reference sockets that came with an SBR_ST_REFS message. */
static void sbr_take_refs(struct sbr_sandbox *sb, const struct sbr_msg *m,
			  struct msghdr *mh)
{
	struct cmsghdr *h = CMSG_FIRSTHDR(mh);
	int fds[SBR_REF_N];
	size_t n = 0, k = 0;
	int i;

	if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
		n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > SBR_REF_N)
			n = SBR_REF_N;
		memcpy(fds, CMSG_DATA(h), n * sizeof(int));
	}
	for (i = 0; i < SBR_REF_N; i++)
		if ((m->fd & (1 << i)) && k < n)
			sb->ref[i] = fds[k++];
	for (; k < n; k++)
		close(fds[k]);
}

/* Has the host an IPv6 address a program could reach the world from? */
static int sbr_host_has_ipv6(void)
{
	struct ifaddrs *ifa, *i;
	int yes = 0;

	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i; i = i->ifa_next) {
		const struct sockaddr_in6 *a = (const void *)i->ifa_addr;

		if (a && a->sin6_family == AF_INET6 && !IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) &&
		    !IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr))
			yes = 1;
	}
	freeifaddrs(ifa);
	return yes;
}

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS /* Linux 6.6; the headers may be older */
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

/*
 * Ask for synchronous wake-ups on the listener (Linux 6.6): the program's
 * thread that notifies wakes a receiver on its own CPU and sleeps, and our
 * answer wakes it on ours, as a call into another process would. A connect
 * hands over six times between the program, a receiver and the broker;
 * without this each hand-over may wake an idle CPU. Older kernels refuse
 * it (EINVAL) and keep the ordinary wake-ups: nothing else changes.
 */
static void sbr_sync_wakeups(int notify_fd)
{
	if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
		  (unsigned long)SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) < 0)
		sbr_log("no synchronous wake-ups of the seccomp listener (Linux 6.6): %s",
			strerror(errno));
}

int sbr_sandbox_start(char *const argv[], struct sbr_sandbox *sb)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * SBR_REF_N)];
		struct cmsghdr align;
	} cm;
	struct sbr_msg m;
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	struct msghdr mh;
	int sv[2], pidfd = -1, i, st;
	pid_t parent = getpid();
	ssize_t n;

	sb->pid = -1;
	sb->notify_fd = -1;
	sb->sync_fd = -1;
	sb->helper = -1;
	sb->helper_fd = -1;
	for (i = 0; i < SBR_REF_N; i++)
		sb->ref[i] = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		sbr_err("socketpair: %s", strerror(errno));
		return -1;
	}
	sb->pid = fork();
	if (sb->pid < 0) {
		sbr_err("fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (sb->pid == 0) {
		close(sv[0]);
		sbr_child(sv[1], parent, sbr_host_has_ipv6(), argv);
	}
	close(sv[1]);
	sb->sync_fd = sv[0];
	/* A few messages before READY; each is bounded by the child's
	 * own progress, which has no wait of its own. */
	for (;;) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		n = recvmsg(sb->sync_fd, &mh, MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(m)) {
			sbr_err("the sandbox exited during start-up");
			goto fail;
		}
		if (m.stage == SBR_ST_MAPS && m.err == 0) {
			m.err = sbr_write_maps(sb->pid, getuid(), getgid()) < 0 ? errno : 0;
			if (write(sb->sync_fd, &m, sizeof(m)) != (ssize_t)sizeof(m))
				m.err = errno;
			if (!m.err)
				continue;
		}
		if (m.stage == SBR_ST_REFS) {
			sbr_take_refs(sb, &m, &mh);
			continue;
		}
		if (m.stage != SBR_ST_READY) {
			sbr_explain(&m, argv[0]);
			goto fail;
		}
		break;
	}
	pidfd = (int)syscall(SYS_pidfd_open, sb->pid, 0);
	if (pidfd >= 0)
		sb->notify_fd = (int)syscall(SYS_pidfd_getfd, pidfd, m.fd, 0);
	if (pidfd < 0 || sb->notify_fd < 0) {
		sbr_err("cannot take the sandbox's seccomp listener (pidfd_open/"
			"pidfd_getfd, Linux 5.6 or newer, and ptrace access to the "
			"child): %s", strerror(errno));
		goto fail;
	}
	close(pidfd);
	pidfd = -1;
	sbr_sync_wakeups(sb->notify_fd);
	if (sbr_factory_start(sb, parent) < 0) {
		sbr_err("cannot start the sandbox's socket factory: %s", strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (pidfd >= 0)
		close(pidfd);
	kill(sb->pid, SIGKILL);
	while (waitpid(sb->pid, &st, 0) < 0 && errno == EINTR)
		;
	sbr_sandbox_close(sb);
	return -1;
}

int sbr_sandbox_go(struct sbr_sandbox *sb)
{
	struct sbr_msg m = { .stage = SBR_ST_READY };
	ssize_t n;

	if (write(sb->sync_fd, &m, sizeof(m)) != (ssize_t)sizeof(m)) {
		sbr_err("the sandbox exited during start-up");
		return SBR_EXIT_FAIL;
	}
	do
		n = read(sb->sync_fd, &m, sizeof(m));
	while (n < 0 && errno == EINTR);
	close(sb->sync_fd);
	sb->sync_fd = -1;
	if (n == 0)
		return 0; /* closed by exec */
	if (n == (ssize_t)sizeof(m) && m.stage == SBR_ST_EXEC) {
		sbr_err("cannot run the command: %s", strerror(m.err));
		return m.err == ENOENT ? SBR_EXIT_NOTFOUND : SBR_EXIT_NOEXEC;
	}
	sbr_err("the sandbox exited during start-up");
	return SBR_EXIT_FAIL;
}

void sbr_sandbox_close(struct sbr_sandbox *sb)
{
	int i;

	int st;

	if (sb->notify_fd >= 0)
		close(sb->notify_fd);
	if (sb->sync_fd >= 0)
		close(sb->sync_fd);
	/* The factory ends when its channel closes. */
	if (sb->helper_fd >= 0)
		close(sb->helper_fd);
	if (sb->helper > 0)
		while (waitpid(sb->helper, &st, 0) < 0 && errno == EINTR)
			;
	sb->helper = sb->helper_fd = -1;
	for (i = 0; i < SBR_REF_N; i++)
		if (sb->ref[i] >= 0)
			close(sb->ref[i]);
	sb->notify_fd = sb->sync_fd = -1;
	for (i = 0; i < SBR_REF_N; i++)
		sb->ref[i] = -1;
}
