/* SPDX-License-Identifier: MIT
 * run.h - sockbroker-run: what its files share. sandbox.c makes the
 * sandbox (namespaces, seccomp filter, exec); supervise.c answers the
 * filter's notifications with the broker; main.c ties them together.
 *
 * Why the program cannot get around the broker: it runs in a network
 * namespace of its own that holds nothing but loopback, owned by a user
 * namespace of its own (so it has no capability in the host's namespaces:
 * no setns() back, no privileged option on a socket it is lent). The
 * namespace is the wall; the seccomp filter is the only door. Every socket
 * of the host's namespace that the program ever holds comes from the
 * supervisor, and is a TCP socket the broker connected or a listener the
 * broker bound, both decided under the broker's policy. Datagrams never
 * get a socket of the host: the supervisor sends each one (udp.c), also
 * those of raw ICMP sockets (raw.c).
 */
#ifndef SBR_RUN_H
#define SBR_RUN_H

#include <linux/seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "sockbroker.h"

/* Exit statuses of the runner itself, as env(1) and timeout(1) use them. */
#define SBR_EXIT_FAIL 125     /* the runner failed: no broker, no kernel support */
#define SBR_EXIT_NOEXEC 126   /* CMD was found but could not be run */
#define SBR_EXIT_NOTFOUND 127 /* CMD was not found */

/* Reference sockets made in the sandbox's namespace before the filter:
 * their option values are the defaults a program's socket starts with, so
 * that only the options the program changed are copied to the broker's
 * socket (copying a default SO_RCVBUF would turn off autotuning). */
enum sbr_ref { SBR_REF_TCP4, SBR_REF_TCP6, SBR_REF_N };

/**
 * struct sbr_sandbox - a started sandbox, owned by the supervisor
 * @pid:       the program's pid (the child of the runner)
 * @notify_fd: the seccomp listener of the program's filter
 * @ref:       reference sockets (enum sbr_ref), -1 where the family is off
 * @sync_fd:   the start-up channel; closed when the program runs
 * @helper:    the socket factory in the sandbox's namespaces (udp.c)
 * @helper_fd: its channel: one byte (4 or 6) asks, an fd (SCM_RIGHTS) or
 *             an errno (int) answers
 */
struct sbr_sandbox {
	pid_t pid;
	int notify_fd;
	int ref[SBR_REF_N];
	int sync_fd;
	pid_t helper;
	int helper_fd;
};

/**
 * sbr_sandbox_start() - fork the sandbox: namespaces, loopback up, filter
 * loaded, then wait for sbr_sandbox_go() before exec of @argv.
 * @argv: CMD and its arguments (argv[0] is looked up in $PATH)
 * @sb:   filled in
 * Prints what the kernel lacks and what to do about it on failure.
 * Return: 0, or -1 (the child is gone).
 */
int sbr_sandbox_start(char *const argv[], struct sbr_sandbox *sb);

/* sbr_factory_socket()'s @type for a raw IPv4 socket of IPPROTO_RAW (the
 * program's packets carry their own header: IP_HDRINCL). */
#define SBR_FACTORY_HDRINCL 0x100

/**
 * sbr_factory_socket() - a new socket of the sandbox's network namespace,
 * made by its socket factory (@helper_fd, struct sbr_sandbox).
 * @family: AF_INET or AF_INET6; @type: SOCK_DGRAM, SOCK_STREAM, SOCK_RAW
 *          (of IPPROTO_ICMP, IPPROTO_ICMPV6) or SBR_FACTORY_HDRINCL
 * Thread-safe. Return: the fd (close-on-exec), or -errno.
 */
int sbr_factory_socket(int helper_fd, int family, int type);

/**
 * sbr_factory_epoll() - register socket @fd in the program's epoll set
 * @epfd (ours: pidfd_getfd) under the program's fd number @fdnum, with
 * @events and @data, as epoll_ctl(EPOLL_CTL_ADD) by the program would.
 * Both fds stay ours. Thread-safe. Return: 0 or -errno.
 */
int sbr_factory_epoll(int helper_fd, int epfd, int fd, int fdnum, uint32_t events,
		      uint64_t data);

/**
 * sbr_sandbox_go() - let the child exec CMD.
 * Return: 0 when it runs, or the exit status the runner must exit with
 *         (SBR_EXIT_NOTFOUND, SBR_EXIT_NOEXEC; printed).
 */
int sbr_sandbox_go(struct sbr_sandbox *sb);

/** sbr_sandbox_close() - close the supervisor's fds of @sb. */
void sbr_sandbox_close(struct sbr_sandbox *sb);

/**
 * sbr_supervise() - answer the filter's notifications with the broker
 * until the program exits; forwards signals to it. Once only.
 * @sb:   the running sandbox
 * @c:    the broker session (used from this thread and the receivers)
 * @busy: set to 1 when a receiver still uses @c: do not close @c or @sb
 *        then, exit the process (_exit) instead
 * Return: the exit status for the runner: CMD's, or 128 + the signal
 *         that killed it.
 */
int sbr_supervise(struct sbr_sandbox *sb, sb_client *c, int *busy);

/**
 * sbr_block_signals() - block the signals the supervisor forwards, and
 * SIGCHLD, before the sandbox is forked (it unblocks them for itself).
 * @set: set to what was blocked
 * Return: 0 or -1 with errno.
 */
int sbr_block_signals(sigset_t *set);

/**
 * struct sbr_call - one notification being answered
 * @req:    the notification (kernel-copied values)
 * @pidfd:  of the calling thread
 * @fdnum:  the fd number the program passed
 * @sock:   our copy of the program's socket
 * @domain, @type, @protocol: of @sock (SO_DOMAIN, SO_TYPE, SO_PROTOCOL)
 * @ino:    @sock's inode
 * @bound:  a broker socket bound for @sock (a bind before connect), owned
 *          by whoever answers the call; -1 when none
 */
struct sbr_call {
	const struct seccomp_notif *req;
	int pidfd;
	int fdnum;
	int sock;
	int domain;
	int type;
	int protocol;
	ino_t ino;
	int bound;
};

struct sbr_sup;
struct sockaddr_storage;

/* local.c */

/** sbr_local_thread_init() - give the calling receiver an fs context (cwd,
 *  umask) of its own, for sbr_local_call(). */
void sbr_local_thread_init(void);
/**
 * sbr_local_call() - connect, bind or listen of a socket of the sandbox's
 * own (Unix, netlink, raw) or a listen again, on our copy @call->sock;
 * sends go on but for MSG_FASTOPEN. Never lets the kernel act on the fd
 * number for connect, bind or listen (see local.c).
 * Return: 0 (answered), 1 (let the kernel go on), or -errno.
 */
int sbr_local_call(struct sbr_sup *sup, const struct sbr_call *call);

/* supervise.c: what the datagram path (udp.c) shares with it. */

/** sbr_answer() - answer the call with @val, or -1 and errno @err; @flags:
 *  0 or SECCOMP_USER_NOTIF_FLAG_CONTINUE. Return: 0, or -1 (gone). */
int sbr_answer(struct sbr_sup *sup, const struct seccomp_notif *req, int64_t val,
	       int err, uint32_t flags);
/** sbr_send_flags() - the flags argument of a send (sendto, sendmsg,
 *  sendmmsg): a value of the notification, not read from memory. */
int sbr_send_flags(const struct seccomp_notif *req);
/** sbr_still_valid() - is the notification still pending (the thread still
 *  in that call, so its pid and fd numbers are its own)? */
int sbr_still_valid(struct sbr_sup *sup, const struct seccomp_notif *req);
/** sbr_write_mem() - write @len bytes at the program's address @addr, right
 *  after checking that its thread is still in @call (so that the pid is
 *  still its own). Return: 0, -ENOENT (the call is gone) or -EFAULT. */
int sbr_write_mem(struct sbr_sup *sup, const struct sbr_call *call, uint64_t addr,
		  const void *buf, size_t len);
/** sbr_proc_status() - the number after @key ("Tgid:") in
 *  /proc/@tid/status, in @base. Return: 0 with *@v set, or -1. */
int sbr_proc_status(pid_t tid, const char *key, int base, long *v);
/** sbr_read_mem() - read @len bytes at the program's address @addr, once.
 *  Return: 0 or -EFAULT. */
int sbr_read_mem(pid_t pid, uint64_t addr, void *buf, size_t len);
/** sbr_read_sockaddr() - a socket address argument read once; @len_arg is
 *  the program's length, checked before anything is read (EINVAL beyond a
 *  sockaddr_storage, as the kernel says). Return: the length or -errno. */
int sbr_read_sockaddr(const struct sbr_call *call, uint64_t ptr, uint64_t len_arg,
		      struct sockaddr_storage *ss);
/** sbr_broker_socket() - a broker socket of @call's domain and @type
 *  with the program's SO_REUSEADDR and (IPv6) IPV6_V6ONLY, for a bind
 *  the broker makes. Return: its socket number, or -errno. */
int sbr_broker_socket(sb_client *c, const struct sbr_call *call, int type);
/** sbr_holds_socket() - does process or thread @pid still hold socket
 *  inode @ino at descriptor @fdnum? */
int sbr_holds_socket(pid_t pid, int fdnum, unsigned long ino);
/** sbr_tgid_of() - the process (thread group) of thread @tid, or @tid
 *  when unknown (udp.c). */
pid_t sbr_tgid_of(pid_t tid);
/** sbr_check_inet() - an IPv4/IPv6 address for a socket of @domain, checked
 *  as the kernel does. Return: 0, -EAFNOSUPPORT or -EINVAL. */
int sbr_check_inet(int domain, const struct sockaddr_storage *ss, int len);

/* raw.c: raw ICMP sockets (see there). */
struct sbr_raw;

/** sbr_raw_new() - the raw sockets of a sandbox. Return: it, or NULL. */
struct sbr_raw *sbr_raw_new(sb_client *c, int helper_fd, int notify_fd);
/** sbr_raw_socket() - answer socket(2) of a raw socket (@r may be NULL).
 *  Return: 0 (answered with the new fd), or -errno for the program. */
int sbr_raw_socket(struct sbr_raw *r, const struct seccomp_notif *req);
/** sbr_raw_send() - one ICMP message of the program's raw socket to @dst
 *  (its port is cleared), by the broker. Return: bytes sent or -errno. */
ssize_t sbr_raw_send(struct sbr_raw *r, const struct sbr_call *call, const void *buf,
		     size_t len, struct sockaddr_storage *dst, void *ctl, size_t ctllen);
/** sbr_raw_free() - stop the receive threads, close everything (NULL ok). */
void sbr_raw_free(struct sbr_raw *r);

/* udp.c: datagrams (see there). At most this many relay sockets. */
#define SBR_UDP_RELAYS 128
struct sbr_udp;
struct pollfd;

/** sbr_udp_new() - the datagram relay of a sandbox; sends of raw sockets
 *  go to @raw (may be NULL). Return: it, or NULL. */
struct sbr_udp *sbr_udp_new(sb_client *c, int helper_fd, struct sbr_raw *raw);
/** sbr_udp_call() - answer a call on an IPv4/IPv6 datagram or raw socket.
 *  Return: 0 (answered), 1 (let the kernel go on), or -errno. */
int sbr_udp_call(struct sbr_udp *u, struct sbr_sup *sup, const struct sbr_call *call);
/** sbr_udp_pollfds() - what to poll for POLLIN into @pf (at most @max):
 *  the relay sockets, and a wake-up that is readable when a relay is made
 *  after this call. Return: how many. */
size_t sbr_udp_pollfds(struct sbr_udp *u, struct pollfd *pf, size_t max);
/** sbr_udp_relay_ready() - datagrams the program sent to relay @fd (or
 *  the wake-up: nothing to do). */
void sbr_udp_relay_ready(struct sbr_udp *u, int fd);
/** sbr_udp_free() - stop every flow, close every socket, free @u (NULL ok). */
void sbr_udp_free(struct sbr_udp *u);

/* relay.c: TCP through a remote broker's Pipe (see there). */

/** sbr_relay_connect() - connect to @host/@port through the broker (Dial)
 *  and relay it. Return: the fd to install in the program (a TCP socket of
 *  the sandbox's loopback, from the factory @helper_fd), or -errno
 *  (EACCES: the policy). */
int sbr_relay_connect(sb_client *c, int helper_fd, const char *host, const char *port,
		      int timeout_ms);
/** sbr_relay_socket() - relay the broker's connected TCP socket @s (taken
 *  over: closed here on failure too), as sbr_relay_connect() does. */
int sbr_relay_socket(sb_client *c, int helper_fd, int s);
/* Relayed connections still using the session. */
extern atomic_int sbr_relays_active;

extern int sbr_verbose;
extern int sbr_remote; /* the broker is remote: relay, no hand-off */

/** sbr_log() - a "sockbroker-run: " line on stderr when -v was given. */
void sbr_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** sbr_err() - a "sockbroker-run: " line on stderr, always. */
void sbr_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* SBR_RUN_H */
