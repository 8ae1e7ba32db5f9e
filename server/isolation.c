/* SPDX-License-Identifier: MIT
 * isolation.c - the broker confines itself once start-up is done.
 *
 * Stages, in order; each may do what it says and nothing later may undo
 * what an earlier one took away:
 *
 *  1. Start-up (main.c), as started: root, or the user and ambient
 *     capabilities systemd or a container runtime gave. Reads the
 *     configuration, binds the Unix listeners (creating the default socket
 *     directory, chmod and chown of the socket files), takes systemd's
 *     sockets, raises RLIMIT_NOFILE, reads the TLS files of TCP listeners.
 *     No thread exists yet: capabilities are per thread, and every thread
 *     made later inherits the main thread's.
 *
 *  2. Confining (sb__isolation_confine(), still one thread):
 *     a. compute what the configuration can need (sb__isolation_plan()):
 *        CAP_NET_BIND_SERVICE when an allow rule's ports list names a port
 *        below net.ipv4.ip_unprivileged_port_start for bind, or a TCP
 *        listener is on one; CAP_NET_RAW when a rule names raw or packet
 *        sockets or an option the kernel checks it for; CAP_NET_ADMIN when
 *        a rule names a netlink family or such an option (policy.c's one
 *        table); CAP_SETUID and CAP_SETGID when a rule lets local callers
 *        other than root reach Unix addresses (made with the caller's
 *        ids, ascaller.h; the allowlist then has setresuid/setresgid for
 *        the effective ids only, and setgroups); CAP_SYS_ADMIN, CAP_SETUID,
 *        CAP_SETGID with confine.credentials (SCM_CREDENTIALS with a
 *        caller's pid and ids);
 *     b. drop every other capability from the bounding set (needs
 *        CAP_SETPCAP: a broker started without it keeps the bounding set
 *        it was given, which systemd's CapabilityBoundingSet= sets);
 *     c. with confine.user: PR_SET_KEEPCAPS, no supplementary groups, the
 *        user's primary group, then the user (real, effective, saved);
 *     d. permitted = effective = the plan (what of it the process holds),
 *        inheritable and ambient empty, PR_SET_KEEPCAPS off again;
 *     e. PR_SET_NO_NEW_PRIVS: nothing executed could gain anything;
 *     f. with confine.seccomp (the default): the system call allowlist
 *        below, for the native architecture, default action: kill the
 *        process. A sanitizer build skips this step and says so (ASan and
 *        LSan need ptrace, fork-like clones and more at exit).
 *
 *  3. Confined: gRPC, the reactor, the resolver pool and the accept thread
 *     start and serve. They may: accept, make and use sockets of the
 *     policy's kinds (with the capabilities kept), resolve names (NSS
 *     files and dns), read /proc and the configuration file (SIGHUP),
 *     write the log, remove their socket files at shutdown. They may not:
 *     execute anything, fork, change ids or capabilities, mount, ptrace,
 *     load modules or BPF, or use any system call not in the table. A
 *     reload that needs a capability dropped in 2 is refused
 *     (sb__isolation_reload_ok()): it cannot come back.
 */
#include <errno.h>
#include <grp.h>
#include <linux/sockios.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <termios.h>
#include <unistd.h>

#include <seccomp.h>

#include "ascaller.h"
#include "isolation.h"
#include "log.h"

/* The capabilities confinement can keep, and in which order they are
 * reported. */
static const struct {
	cap_value_t cap;
	const char *name;
} sb__caps[] = {
	{ CAP_NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE" },
	{ CAP_NET_RAW, "CAP_NET_RAW" },
	{ CAP_NET_ADMIN, "CAP_NET_ADMIN" },
	{ CAP_SYS_ADMIN, "CAP_SYS_ADMIN" },
	{ CAP_SETUID, "CAP_SETUID" },
	{ CAP_SETGID, "CAP_SETGID" },
};

#define SB__NCAPS (sizeof(sb__caps) / sizeof(sb__caps[0]))

/* ASan and LSan need system calls the allowlist refuses (LSan stops the
 * world with ptrace and special clones at exit), and so does TSan (its
 * background thread, its report output): a sanitizer build (SB_SANITIZE,
 * SB_TSAN, SB_FUZZ) skips stage 2f. */
#ifdef SB_SANITIZED
static const int sb__sanitized = 1;
#else
static const int sb__sanitized = 0;
#endif

/* What stage 2 kept for the configuration of the start (a capability the
 * broker was started without counts as kept: that start was accepted);
 * all ones before it ran. */
static uint64_t sb__kept = ~(uint64_t)0;
/* The socket families of the filter loaded (sb__filtered), for reloads. */
static int sb__filtered;
static uint64_t sb__families;

/*
 * The system calls of stage 3, found by running the broker under
 * `strace -f -c` through the whole test suite (every RPC, streams,
 * hand-off, reloads, TLS, socket activation), one group per user.
 * Stage 1's calls (mkdir, chmod, chown, setres[ug]id, capset...) are not
 * here. clone (threads only) and ioctl are added with their arguments
 * checked, below the table.
 */
static const int sb__syscalls[] = {
	/* malloc and gRPC's arenas, thread stacks and their guard pages;
	 * malloc_trim() gives memory back with madvise */
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(mprotect), SCMP_SYS(madvise),
	/* threads: gRPC's executor and timers, the completion queue, the
	 * reactor, the resolver pool, the accept thread (pthread_create sets
	 * the robust list and rseq; gRPC names its threads with prctl and
	 * sizes itself by the CPUs it may use) */
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(set_tid_address), SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(sched_getscheduler), SCMP_SYS(sched_getparam), SCMP_SYS(gettid),
	SCMP_SYS(getpid), SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(prctl),
	SCMP_SYS(sysinfo), SCMP_SYS(uname),
	/* abort() on a failed assertion still ends in SIGABRT, not SIGSYS */
	SCMP_SYS(tgkill),
	/* time, sleeps and randomness (gRPC's timers, backoff, hash seeds) */
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(getrandom),
	SCMP_SYS(restart_syscall),
	/* signals: main.c's sigwait for SIGHUP and SIGTERM, masks of new threads */
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigtimedwait), SCMP_SYS(sigaltstack),
	/* waiting: the reactor's epoll and its wake eventfd, gRPC's pollers,
	 * wakeup fds and timers, the accept thread's poll and stop pipe */
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(eventfd2),
	SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime),
	SCMP_SYS(pipe2),
	/* files: the log, the configuration on SIGHUP, NSS (nsswitch.conf,
	 * passwd, group, hosts, services, resolv.conf and the modules it
	 * loads), /proc (callers' cgroups, ip_unprivileged_port_start),
	 * the socket files removed at shutdown */
	SCMP_SYS(openat), SCMP_SYS(close), SCMP_SYS(read), SCMP_SYS(pread64),
	SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(readv), SCMP_SYS(lseek),
	SCMP_SYS(newfstatat), SCMP_SYS(fstat), SCMP_SYS(statx), SCMP_SYS(access),
	SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(fcntl), SCMP_SYS(dup),
	SCMP_SYS(dup3), SCMP_SYS(unlink), SCMP_SYS(getdents64),
	/* sockets: what callers ask for, the listeners' accept4 and
	 * SO_PEERCRED, the hand-off's sendmsg with SCM_RIGHTS, sd_notify,
	 * getifaddrs' netlink, the dns resolver's sendmmsg */
	SCMP_SYS(bind), SCMP_SYS(listen),
	SCMP_SYS(accept4), SCMP_SYS(accept), SCMP_SYS(connect), SCMP_SYS(getsockname),
	SCMP_SYS(getpeername), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
	SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
	SCMP_SYS(sendmmsg), SCMP_SYS(recvmmsg), SCMP_SYS(shutdown),
	/* ids and limits, read only: the usage text, gRPC's fd limit */
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
	SCMP_SYS(prlimit64), SCMP_SYS(getrlimit),
};

/* ioctl requests: the interface list's MTU and index (lib/iflist.c),
 * if_indextoname (ops_watch.c), the resolver's and gRPC's FIONREAD, the
 * hand-off channel's unread bytes (SIOCOUTQ, the same number as
 * TIOCOUTQ), stdio's isatty. */
static const unsigned long sb__ioctls[] = {
	SIOCGIFMTU, SIOCGIFINDEX, SIOCGIFNAME, FIONREAD, TIOCOUTQ, FIONBIO, TCGETS,
};

/* socket(): the families any configuration uses (Unix, IPv4, IPv6; netlink
 * for getifaddrs and the interface watch) and those @families adds (an
 * allow rule names them, policy.h rule 6a); any other is EAFNOSUPPORT, so
 * that a policy mistake cannot reach the rarer families' kernel code.
 * socketpair(): Unix only, as Linux has it. */
static int sb__seccomp_families(scmp_filter_ctx ctx, uint64_t families)
{
	static const int base[] = { AF_UNIX, AF_INET, AF_INET6, AF_NETLINK };
	uint64_t all = families;
	size_t i;
	int ret;

	for (i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		all |= 1ull << base[i];
	/* One rule per family number, each with its argument, so that no
	 * rule overlaps another. */
	for (i = 0; i < 64; i++) {
		ret = seccomp_rule_add(ctx, ((all >> i) & 1) ? SCMP_ACT_ALLOW
				       : SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
				       SCMP_A0(SCMP_CMP_EQ, i));
		if (ret < 0)
			return ret;
		ret = seccomp_rule_add(ctx, i == AF_UNIX ? SCMP_ACT_ALLOW
				       : SCMP_ACT_ERRNO(EOPNOTSUPP), SCMP_SYS(socketpair), 1,
				       SCMP_A0(SCMP_CMP_EQ, i));
		if (ret < 0)
			return ret;
	}
	ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket), 1,
			       SCMP_A0(SCMP_CMP_GE, 64));
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EOPNOTSUPP), SCMP_SYS(socketpair), 1,
				       SCMP_A0(SCMP_CMP_GE, 64));
	return ret;
}

/* With CAP_SETUID kept (ascaller.c): the calling thread's effective uid
 * and gid and its groups, never the real or saved ids. */
static int sb__seccomp_ids(scmp_filter_ctx ctx)
{
	int ret;

	ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setresuid), 2,
			       SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, 0xffffffffu),
			       SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffu, 0xffffffffu));
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setresgid), 2,
				       SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffffu, 0xffffffffu),
				       SCMP_A2(SCMP_CMP_MASKED_EQ, 0xffffffffu, 0xffffffffu));
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setgroups), 0);
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(getgroups), 0);
	return ret;
}

static int sb__seccomp_load(const struct sb__isol_plan *plan, char *err, size_t errlen)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	size_t i;
	int ret = -ENOMEM;

	if (!ctx)
		goto out;
	for (i = 0; i < sizeof(sb__syscalls) / sizeof(sb__syscalls[0]); i++) {
		/* A name unknown to this architecture is a negative pseudo
		 * number: nothing to allow. */
		if (sb__syscalls[i] < 0)
			continue;
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, sb__syscalls[i], 0);
		if (ret < 0) {
			snprintf(err, errlen, "seccomp: allow system call %d: %s",
				 sb__syscalls[i], strerror(-ret));
			goto out;
		}
	}
	for (i = 0; i < sizeof(sb__ioctls) / sizeof(sb__ioctls[0]); i++) {
		ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_EQ, sb__ioctls[i]));
		if (ret < 0)
			goto fail;
	}
	/* Threads only: a fork could exec nothing, but it is not needed.
	 * clone3's flags are in memory a filter cannot read, so it says
	 * ENOSYS and glibc falls back to clone. */
	ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
			       SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	if (ret == 0)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	if (ret == 0)
		ret = sb__seccomp_families(ctx, plan->families);
	if (ret == 0 && (plan->caps & (1ull << CAP_SETUID)))
		ret = sb__seccomp_ids(ctx);
	if (ret == 0)
		ret = seccomp_load(ctx);
	if (ret < 0)
		goto fail;
	ret = 0;
	goto out;
fail:
	snprintf(err, errlen, "seccomp: %s", strerror(-ret));
out:
	seccomp_release(ctx);
	return ret;
}

/* net.ipv4.ip_unprivileged_port_start of the broker's namespace, or
 * 1024 when it cannot be read. */
static int sb__port_start(void)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "re");
	int v = 1024;

	if (f) {
		/* The kernel writes the number; its range is checked here. */
		if (fscanf(f, "%d", &v) != 1 || v < 0 || v > 65536) /* NOLINT(cert-err34-c) */
			v = 1024;
		fclose(f);
	}
	return v;
}

static size_t sb__cap_index(cap_value_t cap)
{
	size_t i;

	for (i = 0; i < SB__NCAPS && sb__caps[i].cap != cap; i++)
		;
	return i;
}

static void sb__plan_add(struct sb__isol_plan *plan, cap_value_t cap, const char *why)
{
	size_t i = sb__cap_index(cap);

	if (plan->caps & (1ull << cap))
		return;
	plan->caps |= 1ull << cap;
	snprintf(plan->why[i], sizeof(plan->why[i]), "%s", why);
}

void sb__isolation_plan(const struct sb__config *cfg, struct sb__isol_plan *plan)
{
	static const cap_value_t need_cap[SB__NEED_COUNT] = {
		[SB__NEED_BIT_BIND_SERVICE] = CAP_NET_BIND_SERVICE,
		[SB__NEED_BIT_NET_RAW] = CAP_NET_RAW,
		[SB__NEED_BIT_NET_ADMIN] = CAP_NET_ADMIN,
	};
	struct sb__pol_needs n;
	int start = sb__port_start();
	size_t i;

	memset(plan, 0, sizeof(*plan));
	sb__policy_needs(cfg->policy, start, &n);
	plan->families = n.families;
	for (i = 0; i < SB__NEED_COUNT; i++)
		if ((n.caps & (1u << i)) && need_cap[i])
			sb__plan_add(plan, need_cap[i], n.why[i]);
	if (n.caps & SB__NEED_AS_CALLER) {
		sb__plan_add(plan, CAP_SETUID, n.why[SB__NEED_BIT_AS_CALLER]);
		sb__plan_add(plan, CAP_SETGID, n.why[SB__NEED_BIT_AS_CALLER]);
	}
	for (i = 0; i < cfg->n_tcp_listen; i++) {
		char why[160];
		unsigned port = cfg->tcp_listen[i].addr.port;

		if (port == 0 || port >= (unsigned)(start > 0 ? start : 1024))
			continue;
		snprintf(why, sizeof(why), "tcp listener %s", cfg->tcp_listen[i].text);
		sb__plan_add(plan, CAP_NET_BIND_SERVICE, why);
	}
	if (cfg->confine.credentials) {
		sb__plan_add(plan, CAP_SYS_ADMIN, "confine.credentials (a caller's pid)");
		sb__plan_add(plan, CAP_SETUID, "confine.credentials (a caller's uid)");
		sb__plan_add(plan, CAP_SETGID, "confine.credentials (a caller's gid)");
	}
}

/* "CAP_NET_RAW,CAP_NET_ADMIN" or "none". */
static void sb__caps_text(uint64_t caps, char *buf, size_t len)
{
	size_t i, n = 0;

	buf[0] = 0;
	for (i = 0; i < SB__NCAPS; i++) {
		int r;

		if (!(caps & (1ull << sb__caps[i].cap)) || n >= len)
			continue;
		r = snprintf(buf + n, len - n, "%s%s", n ? "," : "", sb__caps[i].name);
		if (r > 0)
			n += (size_t)r;
	}
	if (!n)
		snprintf(buf, len, "none");
}

static const char *sb__seccomp_text(const struct sb__config *cfg)
{
	if (!cfg->confine.seccomp)
		return "off (confine.seccomp: false)";
	if (sb__sanitized)
		return "skipped (sanitizer build)";
	return "on (allowlist, kill the process otherwise)";
}

void sb__isolation_describe(const struct sb__config *cfg, FILE *f)
{
	struct sb__isol_plan plan;
	char caps[256];
	size_t i;

	sb__isolation_plan(cfg, &plan);
	sb__caps_text(plan.caps, caps, sizeof(caps));
	fprintf(f, "confine: no new privileges; capabilities kept: %s\n", caps);
	for (i = 0; i < SB__NCAPS; i++)
		if (plan.caps & (1ull << sb__caps[i].cap))
			fprintf(f, "confine: %s for %s\n", sb__caps[i].name, plan.why[i]);
	if (cfg->confine.has_user)
		fprintf(f, "confine: user %s (uid %u, gid %u)\n", cfg->confine.user,
			(unsigned)cfg->confine.uid, (unsigned)cfg->confine.gid);
	else
		fprintf(f, "confine: user unchanged (no confine.user)\n");
	fprintf(f, "confine: seccomp %s\n", sb__seccomp_text(cfg));
}

/* How many threads the process has (capabilities are per thread: only
 * the main thread may exist), or -errno when /proc cannot tell. */
static int sb__threads(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[128];
	int n = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		/* The kernel's count of our threads, well inside an int. */
		if (sscanf(line, "Threads: %d", &n) == 1) /* NOLINT(cert-err34-c) */
			break;
	fclose(f);
	return n;
}

/* Stage 2b: needs CAP_SETPCAP in the effective set; without it the
 * bounding set stays as given (*@dropped 0). */
static int sb__drop_bounding(uint64_t keep, int *dropped)
{
	cap_flag_value_t setpcap = CAP_CLEAR;
	cap_t cur = cap_get_proc();
	cap_value_t c, max = (cap_value_t)cap_max_bits();
	int ret = 0;

	*dropped = 0;
	if (!cur)
		return -errno;
	if (cap_get_flag(cur, CAP_SETPCAP, CAP_EFFECTIVE, &setpcap) < 0 ||
	    setpcap != CAP_SET)
		goto out;
	for (c = 0; c < max && c < 64; c++) {
		if ((keep & (1ull << c)) || !CAP_IS_SUPPORTED(c))
			continue;
		if (cap_drop_bound(c) < 0) {
			ret = -errno;
			goto out;
		}
	}
	*dropped = 1;
out:
	cap_free(cur);
	return ret;
}

/* Stage 2c. */
static int sb__become_user(const struct sb__confine_cfg *c, char *err, size_t errlen)
{
	if (getuid() == c->uid && geteuid() == c->uid)
		return 0;
	if (geteuid() != 0) {
		snprintf(err, errlen, "confine.user %s: running as uid %u, which cannot "
			 "become uid %u", c->user, (unsigned)geteuid(), (unsigned)c->uid);
		return -EPERM;
	}
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 ||
	    setresgid(c->gid, c->gid, c->gid) < 0 || setresuid(c->uid, c->uid, c->uid) < 0) {
		snprintf(err, errlen, "confine.user %s: %s", c->user, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Stage 2d: @keep, as far as the process holds it. Return: what it got. */
static int sb__set_caps(uint64_t keep, uint64_t *got, char *err, size_t errlen)
{
	cap_t caps = cap_get_proc();
	cap_value_t c, max = (cap_value_t)cap_max_bits();
	int ret = 0;

	*got = 0;
	if (!caps) {
		ret = -errno;
		goto out;
	}
	for (c = 0; c < max && c < 64; c++) {
		cap_flag_value_t perm = CAP_CLEAR;

		if (cap_get_flag(caps, c, CAP_PERMITTED, &perm) < 0)
			continue;
		if ((keep & (1ull << c)) && perm == CAP_SET)
			*got |= 1ull << c;
	}
	if (cap_clear(caps) < 0) {
		ret = -errno;
		goto out;
	}
	for (c = 0; c < max && c < 64; c++) {
		if (!(*got & (1ull << c)))
			continue;
		if (cap_set_flag(caps, CAP_PERMITTED, 1, &c, CAP_SET) < 0 ||
		    cap_set_flag(caps, CAP_EFFECTIVE, 1, &c, CAP_SET) < 0) {
			ret = -errno;
			goto out;
		}
	}
	if (cap_set_proc(caps) < 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 ||
	    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		ret = -errno;
out:
	if (ret < 0)
		snprintf(err, errlen, "capabilities: %s", strerror(-ret));
	if (caps)
		cap_free(caps);
	return ret;
}

int sb__isolation_confine(const struct sb__config *cfg, char *err, size_t errlen)
{
	struct sb__isol_plan plan;
	uint64_t got = 0;
	char kept[256];
	int ret, bounded = 0;
	size_t i;

	ret = sb__threads();
	if (ret < 0) {
		snprintf(err, errlen, "cannot count threads in /proc/self/status: %s",
			 strerror(-ret));
		return ret;
	}
	if (ret != 1) {
		snprintf(err, errlen, "%d threads: confinement must run before any "
			 "thread starts", ret);
		return -EBUSY;
	}
	sb__isolation_plan(cfg, &plan);
	ret = sb__drop_bounding(plan.caps, &bounded);
	if (ret < 0) {
		snprintf(err, errlen, "bounding set: %s", strerror(-ret));
		return ret;
	}
	if (cfg->confine.has_user) {
		ret = sb__become_user(&cfg->confine, err, errlen);
		if (ret < 0)
			return ret;
	}
	ret = sb__set_caps(plan.caps, &got, err, errlen);
	if (ret < 0)
		return ret;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		ret = -errno;
		snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
		return ret;
	}
	sb__kept = plan.caps;
	for (i = 0; i < SB__NCAPS; i++)
		if ((plan.caps & ~got) & (1ull << sb__caps[i].cap))
			sb__warn("confine: %s is needed (%s) but the broker was started "
				 "without it: such calls fail with EPERM", sb__caps[i].name,
				 plan.why[i]);
	if (cfg->confine.seccomp && sb__sanitized) {
		sb__warn("confine: seccomp skipped in this sanitizer build (ASan and "
			 "LSan need system calls the allowlist refuses)");
	} else if (cfg->confine.seccomp) {
		ret = sb__seccomp_load(&plan, err, errlen);
		if (ret < 0)
			return ret;
		sb__filtered = 1;
		sb__families = plan.families;
		if (!(plan.caps & (1ull << CAP_SETUID)))
			sb__ascaller_disable();
	}
	sb__caps_text(got, kept, sizeof(kept));
	sb__info("confined: uid %u gid %u, no new privileges, capabilities %s%s, "
		 "seccomp %s", (unsigned)geteuid(), (unsigned)getegid(), kept,
		 bounded ? " (bounding set too)" : " (bounding set as given)",
		 sb__seccomp_text(cfg));
#ifdef SB_TEST_HOOKS
	/* tests/confine.sh: a system call outside the allowlist must kill
	 * the broker. Only whoever starts the broker sets its environment. */
	if (getenv("SOCKBROKERD_TEST_EXECVE")) {
		static char *const argv[] = { "true", NULL };

		sb__warn("test hook: execve /bin/true after confinement");
		execve("/bin/true", argv, environ);
		sb__warn("test hook: execve: %s", strerror(errno));
	}
#endif
	return 0;
}

int sb__isolation_reload_ok(const struct sb__config *nc, char *err, size_t errlen)
{
	struct sb__isol_plan plan;
	size_t i;

	sb__isolation_plan(nc, &plan);
	if (sb__filtered && (plan.families & ~sb__families)) {
		for (i = 0; i < 64 && !(((plan.families & ~sb__families) >> i) & 1); i++)
			;
		snprintf(err, errlen, "it names socket family %zu, which the confined "
			 "broker's system call filter does not allow: restart the broker "
			 "to apply it", i);
		return -EPERM;
	}
	for (i = 0; i < SB__NCAPS; i++) {
		if (!((plan.caps & ~sb__kept) & (1ull << sb__caps[i].cap)))
			continue;
		snprintf(err, errlen, "it needs %s (%s), which the confined broker dropped "
			 "at start-up and cannot take back: restart the broker to apply it",
			 sb__caps[i].name, plan.why[i]);
		return -EPERM;
	}
	return 0;
}
