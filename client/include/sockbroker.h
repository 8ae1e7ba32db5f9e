/* SPDX-License-Identifier: MIT
 * sockbroker.h - libsockbroker: the BSD socket API, served by sockbrokerd.
 *
 * Every function here mirrors one POSIX call and behaves like it, except
 * that the socket lives in the broker: the broker makes it, enforces its
 * policy on it, and closes it when this client's session ends.
 *
 * Rules of this API
 *  1. Native types and constants: AF_INET, SOCK_STREAM, MSG_PEEK, struct
 *     sockaddr... are this system's own; the library translates them to the
 *     contract's portable numbers and back.
 *  2. Failure is -1 with errno set, as POSIX says for the same call, except
 *     sb_getaddrinfo() and sb_getnameinfo(), which return an EAI_* code
 *     (EAI_SYSTEM with errno set). What the broker itself refused maps to:
 *     EBADF (unknown socket, or one of another session), EACCES/EPERM
 *     (policy), EMFILE/ENOBUFS (a limit), EINVAL (malformed request),
 *     ENOSYS (not provided by this broker), ECONNRESET (the broker went
 *     away), ETIMEDOUT (a deadline passed). sb_last_error() then gives the
 *     broker's message.
 *  3. A failed call changes no state: no socket number is created or freed.
 *  4. Socket numbers are small ints (from 3, lowest free first) local to
 *     one sb_client; they are not file descriptors of this process.
 *  5. Thread safety: one sb_client may be used by any number of threads at
 *     once; blocking calls block only their own thread. Closing a socket
 *     while another thread waits on it makes that wait fail (EBADF).
 *  6. Blocking calls wait until the kernel answers, like POSIX. A socket
 *     made with SOCK_NONBLOCK (or sb_set_nonblock) never waits: EAGAIN /
 *     EINPROGRESS come back at once. The *_timeout variants bound a wait.
 *  7. sb_close_client() ends the session; the broker closes every socket of
 *     the session, also when the process exits or is killed without it.
 *  8. When the broker goes away (a crash, a stop, a restart), the session
 *     and all its sockets are gone: every call that needs the session,
 *     blocked or new, fails with ECONNRESET, also once a restarted broker
 *     answers again; sb_close_client() still frees the client. Open a new
 *     one with sb_open(). Calls that need no session (names, interfaces)
 *     work again once the broker is back.
 *  9. Signals do not interrupt calls: when a handler returns, a blocking
 *     call goes on waiting (with or without SA_RESTART) and never fails
 *     with EINTR for it; a timeout keeps its deadline. To end a wait early,
 *     close its socket from another thread (rule 5) or use a timeout.
 */
#ifndef SOCKBROKER_H
#define SOCKBROKER_H

#include <ifaddrs.h>
#include <netdb.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where a broker listens when neither an argument nor $SOCKBROKER_ADDR says. */
#define SB_DEFAULT_TARGET "unix:/run/sockbroker/sockbroker.sock"

/** An open session with a broker. Opaque; thread-safe (rule 5). */
typedef struct sb_client sb_client;

/**
 * sb_open() - connect to a broker and open a session
 * @target: a gRPC target ("unix:/path", "unix-abstract:name", "host:port"),
 *          a bare path ("/run/x.sock"), or NULL: $SOCKBROKER_ADDR when set,
 *          else SB_DEFAULT_TARGET. Copied; the caller keeps it.
 *
 * Waits up to 10 seconds for the broker to answer.
 * Return: the client (free with sb_close_client), or NULL with errno:
 *         ECONNREFUSED/ENOENT (no broker there), EACCES (the broker
 *         refused this caller), ETIMEDOUT, ENOMEM, EINVAL (bad target).
 */
sb_client *sb_open(const char *target);

/**
 * sb_open_tls() - sb_open() over mutual TLS, for a broker's TCP listener
 * @target:    "host:port" (the server certificate must name the host)
 * @ca_file:   PEM file of the CA that signed the broker's certificate
 * @cert_file: PEM client certificate (the broker's policy matches its
 *             subject), and @key_file its private key; both or neither.
 * sb_open() does the same for a TCP target when $SOCKBROKER_TLS_CA (and
 * $SOCKBROKER_TLS_CERT, $SOCKBROKER_TLS_KEY) are set.
 * Return: as sb_open(). A certificate the broker does not accept (none,
 *         or from another CA) fails the TLS handshake: ECONNREFUSED, with
 *         gRPC's reason in sb_last_error(); a certificate it accepts but
 *         whose subject its policy does not serve: EACCES.
 */
sb_client *sb_open_tls(const char *target, const char *ca_file,
		       const char *cert_file, const char *key_file);

/**
 * sb_close_client() - close the session (the broker closes all its
 * sockets) and free @c. @c may be NULL. No other thread may use @c during
 * or after this call; waits blocked in other threads are cancelled first.
 */
void sb_close_client(sb_client *c);

/**
 * sb_last_error() - the message of the last failure in this thread, e.g.
 * "handle 12 is not a socket of this session". Return: a thread-local
 * string valid until this thread's next libsockbroker call, or NULL.
 */
const char *sb_last_error(void);

/* ---- sockets (each as POSIX, rule 2) ---- */

/** sb_socket() - socket(2). @type may carry SOCK_NONBLOCK (SOCK_CLOEXEC is
 *  accepted and ignored). @protocol is an IPPROTO_* number, or for
 *  AF_PACKET an ethertype in network byte order (htons(ETH_P_ALL)), of
 *  which only the low 16 bits count, as in the kernel. Packet sockets need
 *  a policy rule naming the family. Return: a socket number, or -1
 *  (EAFNOSUPPORT, EPROTONOSUPPORT, EINVAL, EMFILE, EACCES, EPERM). */
int sb_socket(sb_client *c, int domain, int type, int protocol);

/** sb_socketpair() - socketpair(2): both ends live in the broker.
 *  Return: 0 with @sv set, or -1. */
int sb_socketpair(sb_client *c, int domain, int type, int protocol, int sv[2]);

/** sb_bind() - bind(2). @addr is read only during the call. */
int sb_bind(sb_client *c, int s, const struct sockaddr *addr, socklen_t len);

/** sb_connect() - connect(2): ECONNREFUSED, ETIMEDOUT, EINPROGRESS (non-
 *  blocking; the result comes later from sb_poll + SO_ERROR), EISCONN... */
int sb_connect(sb_client *c, int s, const struct sockaddr *addr, socklen_t len);

/** sb_connect_timeout() - sb_connect() waiting at most @timeout_ms
 *  (> 0); ETIMEDOUT when it passes, and the socket stays unconnected. */
int sb_connect_timeout(sb_client *c, int s, const struct sockaddr *addr,
		       socklen_t len, int timeout_ms);

/** sb_listen() - listen(2). */
int sb_listen(sb_client *c, int s, int backlog);

/** sb_accept() - accept(2): the peer address is copied to @addr/@len as
 *  accept(2) does (truncated when short; both may be NULL).
 *  Return: the new socket number, or -1 (EAGAIN, EINVAL, EMFILE...). */
int sb_accept(sb_client *c, int s, struct sockaddr *addr, socklen_t *len);

/** sb_accept4() - accept4(2); @flags: SOCK_NONBLOCK, SOCK_CLOEXEC. */
int sb_accept4(sb_client *c, int s, struct sockaddr *addr, socklen_t *len,
	       int flags);

/** sb_send() / sb_sendto() - send(2)/sendto(2). MSG_NOSIGNAL is implied:
 *  a broken connection is EPIPE, never a signal. A blocking stream socket
 *  sends everything (in several messages for large buffers) unless an error
 *  comes first, then the count sent so far is returned.
 *  Return: bytes sent, or -1. */
ssize_t sb_send(sb_client *c, int s, const void *buf, size_t len, int flags);
ssize_t sb_sendto(sb_client *c, int s, const void *buf, size_t len, int flags,
		  const struct sockaddr *dst, socklen_t dstlen);

/** sb_recv() / sb_recvfrom() - recv(2)/recvfrom(2) with MSG_PEEK,
 *  MSG_WAITALL, MSG_DONTWAIT, MSG_TRUNC as POSIX; @src/@srclen as accept.
 *  Return: bytes received (0: end of stream), or -1 (EAGAIN, ENOTCONN...). */
ssize_t sb_recv(sb_client *c, int s, void *buf, size_t len, int flags);
ssize_t sb_recvfrom(sb_client *c, int s, void *buf, size_t len, int flags,
		    struct sockaddr *src, socklen_t *srclen);

/**
 * sb_recvmsg() - recvmsg(2): @msg's iovecs receive the data, msg_name the
 * source, msg_control the ancillary data as real struct cmsghdr (walk them
 * with CMSG_FIRSTHDR/CMSG_NXTHDR), msg_flags the kernel's flags.
 * Control messages carried: IP_PKTINFO, IPV6_PKTINFO, SO_TIMESTAMP,
 * SO_TIMESTAMPNS, IP_TOS, IP_TTL, IPV6_HOPLIMIT, IPV6_TCLASS,
 * IP_ORIGDSTADDR/IPV6_ORIGDSTADDR, SO_RXQ_OVFL, IP_RECVERR/IPV6_RECVERR
 * (with MSG_ERRQUEUE, which never waits), SCM_CREDENTIALS; enable them
 * with sb_setsockopt as natively. They are written as the kernel writes
 * them: a message that does not fit is cut, MSG_CTRUNC set, and
 * msg_controllen gives the bytes used. A message of another kind (e.g.
 * SO_TIMESTAMPING's) is not carried: msg_flags has MSG_CTRUNC, as the
 * kernel says when control data was lost. MSG_CMSG_CLOEXEC is in
 * msg_flags when, and only when, the caller passed it. Descriptors (SCM_RIGHTS) that a
 * Unix socket of the broker receives come as the kernel gives them (H6):
 * one SCM_RIGHTS message after the other control messages, as many as fit
 * in the room left (the others are closed and MSG_CTRUNC is set),
 * close-on-exec only with MSG_CMSG_CLOEXEC. They are real descriptors of
 * this process and the CALLER OWNS THEM: close(2) each one, also the ones
 * of a message it did not expect. They come only when the policy allows
 * `handoff` for the socket, the session is local (not over TCP) and
 * msg_control has room for at least one; the library then opens the
 * hand-off channel (H4) if it is not open. Otherwise the broker closes
 * them and msg_flags has MSG_CTRUNC, as the kernel sets it when it cannot
 * install descriptors. Descriptors end a MSG_WAITALL reception, as in the
 * kernel. One call receives at most the
 * broker's message size. @msg and its buffers are the caller's and are
 * only written during the call. Thread-safe (rule 5).
 * Return: bytes received (the real length with MSG_TRUNC), or -1 (as
 * sb_recvfrom; EFAULT for a NULL @msg or iovec, EMSGSIZE above IOV_MAX).
 */
ssize_t sb_recvmsg(sb_client *c, int s, struct msghdr *msg, int flags);

/**
 * sb_sendmsg() - sendmsg(2): the data of @msg's iovecs (gathered into one
 * buffer; a datagram above the broker's message size is EMSGSIZE),
 * msg_name the destination, msg_control the ancillary data the broker can
 * send: IP_PKTINFO / IPV6_PKTINFO (source address and interface: the
 * policy judges them as a bind and SO_BINDTOIFINDEX, EACCES unless a rule
 * allows them), IP_TOS, IP_TTL, IPV6_HOPLIMIT, IPV6_TCLASS, and
 * SCM_CREDENTIALS with
 * only the caller's own pid, uid and gid (EPERM otherwise: the broker
 * could claim anybody's), and SCM_RIGHTS on a Unix socket (H6): the
 * descriptors are copied to the broker over the hand-off channel, sent
 * with the data, and the broker's copies closed; the caller's stay the
 * caller's, open and with their flags untouched. Any other message is
 * EINVAL. A stream socket's control messages go with its first piece.
 * @msg and its buffers are only read during the call. Thread-safe (rule 5).
 * Return: bytes sent, or -1 (as sb_sendto; EFAULT for a NULL @msg, iovec
 * or control buffer, EMSGSIZE above IOV_MAX iovecs; with SCM_RIGHTS:
 * EINVAL on a socket that is not AF_UNIX or above 253 (SCM_MAX_FD)
 * descriptors, EBADF for one that is not open, and H2's errors: EACCES,
 * EOPNOTSUPP, ECONNRESET, ETOOMANYREFS).
 */
ssize_t sb_sendmsg(sb_client *c, int s, const struct msghdr *msg, int flags);

/** sb_recv_timeout() - sb_recv() waiting at most @timeout_ms (> 0), then
 *  EAGAIN. */
ssize_t sb_recv_timeout(sb_client *c, int s, void *buf, size_t len, int flags,
			int timeout_ms);

/** sb_shutdown() - shutdown(2): SHUT_RD, SHUT_WR, SHUT_RDWR. */
int sb_shutdown(sb_client *c, int s, int how);

/** sb_close() - close(2): the number is free again even when -1 is
 *  returned with an errno other than EBADF. */
int sb_close(sb_client *c, int s);

/** sb_setsockopt() / sb_getsockopt() - as POSIX, for the options the
 *  contract types (int options, SO_LINGER, SO_RCVTIMEO/SNDTIMEO, SO_ERROR,
 *  SO_BINDTODEVICE, TCP_CONGESTION, IP/IPv6 multicast membership and
 *  interface, ...); others pass as raw bytes, which the broker accepts
 *  only for options it knows to be plain data: EINVAL for a value that may
 *  hold a pointer or an fd (SO_ATTACH_FILTER, SO_ATTACH_BPF, unknown
 *  numbers). EACCES when the policy refuses: options the kernel keeps for
 *  privileged processes (SO_RCVBUFFORCE, SO_PRIORITY above 6, SO_MARK,
 *  TCP_REPAIR, IP_TRANSPARENT...) or that pick a device or source address
 *  (SO_BINDTODEVICE, IP_UNICAST_IF...) need a rule naming them.
 *  ENOPROTOOPT for an option this library cannot translate, or that the
 *  broker does not read. */
int sb_setsockopt(sb_client *c, int s, int level, int name, const void *val,
		  socklen_t len);
int sb_getsockopt(sb_client *c, int s, int level, int name, void *val,
		  socklen_t *len);

/** sb_getsockname() / sb_getpeername() - as POSIX (ENOTCONN...). */
int sb_getsockname(sb_client *c, int s, struct sockaddr *addr, socklen_t *len);
int sb_getpeername(sb_client *c, int s, struct sockaddr *addr, socklen_t *len);

struct ucred; /* <sys/socket.h> defines it with _GNU_SOURCE */

/** sb_getpeercred() - SO_PEERCRED of a connected Unix socket, as the
 *  broker's kernel saw the peer. Return: 0 or -1 (ENOTCONN, EOPNOTSUPP). */
int sb_getpeercred(sb_client *c, int s, struct ucred *cred);

/** sb_set_nonblock() - switch O_NONBLOCK of a socket on (1) or off (0). */
int sb_set_nonblock(sb_client *c, int s, int on);

/** sb_poll() - poll(2) over socket numbers of @c: @fds[i].fd is a socket
 *  number (negative: ignored); POLLNVAL for a number that is not open.
 *  @timeout_ms: -1 waits forever, 0 not at all. At most 1024 entries.
 *  Return: entries with revents != 0, 0 on timeout, or -1. */
int sb_poll(sb_client *c, struct pollfd *fds, nfds_t nfds, int timeout_ms);

/* ---- connecting in one call (Dial) ---- */

/**
 * sb_tcp_connect() - a connected TCP socket in one round trip, as Ruby's
 * Socket.tcp: the broker resolves @host/@port (a name needs the RESOLVE
 * permission; numeric ones do not), optionally binds @local_host/
 * @local_port first, and tries the addresses in RFC 8305 (Happy Eyeballs
 * v2) order, IPv6 and IPv4 interleaved, a new attempt every 250 ms or as
 * soon as the previous one fails, each under policy (SOCKET, BIND,
 * CONNECT); the first to connect wins.
 * @host, @port: name or numeric address, service name or port; required.
 *          Read only during the call, as are the others.
 * @local_host, @local_port: numeric address and port of the local end, or
 *          NULL for none (NULL host with a port: the wildcard address).
 * @timeout_ms: > 0 bounds the resolution and each connection attempt;
 *          0 or negative: only the kernel's own timeouts.
 * Return: a blocking stream socket number (the caller sb_close()s it), or
 *         -1 with errno: the last attempt's error (ECONNREFUSED,
 *         ETIMEDOUT, ENETUNREACH...); EACCES when the policy refused every
 *         address (or the resolution); EMFILE at a socket limit (a dial
 *         in flight counts as a socket, its parallel attempts too); EINVAL for
 *         bad arguments. When the resolver failed, sb_last_eai() gives the
 *         EAI_* code sb_getaddrinfo() would have returned, errno is
 *         EADDRNOTAVAIL (as sb_tcp_server_sockets() reports it), or the
 *         errno of EAI_SYSTEM, or ETIMEDOUT when @timeout_ms passed during
 *         the resolution (EAI_AGAIN), and sb_last_error() says which.
 * A failed call leaves no socket behind, here or in the broker.
 * Thread-safe (rule 5). The dials of a client (this, sb_tcp_connect_opts,
 * sb_unix_connect and sb_tcp_connect_fd) travel over one DialStream call
 * that the client keeps open, one thread at a time; a thread that finds it
 * busy makes a Dial call of its own. Either way it is one round trip, and
 * the errors are the same; a broker without DialStream gets Dial calls.
 * sb_tcp_connect_fd's dials go, one thread at a time, over the session's
 * dial channel instead (a second side connection beside the hand-off
 * channel: the same request and outcome without gRPC, .proto Hand-off
 * rule 7), when the broker has one; else as above.
 */
int sb_tcp_connect(sb_client *c, const char *host, const char *port,
		   const char *local_host, const char *local_port, int timeout_ms);

/** The most options sb_tcp_connect_opts() takes (the contract's limit). */
#define SB_DIAL_MAX_OPTS 16

/** One socket option for sb_tcp_connect_opts(): as the arguments of
 *  setsockopt(2), native constants; @value points to @len bytes. */
struct sb_sockopt {
	int level, name;
	const void *value;
	socklen_t len;
};

/**
 * sb_tcp_connect_opts() - sb_tcp_connect() with an address family and
 * socket options set on each attempt's socket before it binds and
 * connects (TCP_NODELAY, SO_KEEPALIVE, TCP_KEEPIDLE, SO_RCVBUF...).
 * @family: AF_UNSPEC (any), AF_INET or AF_INET6: the addresses tried.
 * @opts, @n_opts: at most SB_DIAL_MAX_OPTS options (NULL and 0: none),
 *          translated as sb_setsockopt() translates them, in this order;
 *          read only during the call. Only options the contract types can
 *          go (int options, SO_LINGER, timevals, text such as
 *          SO_BINDTODEVICE): a value sb_setsockopt() would send as raw
 *          bytes (an int option of another length, an unknown option) is
 *          EINVAL.
 * The policy judges each option on each address as SETSOCKOPT (the
 * privileged ones need a rule naming them, see sb_setsockopt()); an
 * address whose option is refused is skipped, so a refused option fails
 * the call with EACCES when no address is left. A failed option on the
 * kernel's side fails that attempt with its errno. A dial in flight
 * counts against the socket limits as sb_tcp_connect() says.
 * Return: as sb_tcp_connect(); also ENOPROTOOPT for an option this
 *         library cannot translate, EAFNOSUPPORT for another @family,
 *         EFAULT for NULL @opts with @n_opts > 0. No socket is left on
 *         failure. Thread-safe (rule 5).
 */
int sb_tcp_connect_opts(sb_client *c, const char *host, const char *port, int family,
			const char *local_host, const char *local_port, int timeout_ms,
			const struct sb_sockopt *opts, size_t n_opts);

/**
 * sb_unix_connect() - a stream socket connected to Unix socket @path in
 * one round trip (Socket.unix); "@name" names the abstract socket "name".
 * The path is the broker's view of the filesystem; policy CONNECT applies.
 * As the kernel takes them, a path may fill sun_path (108 bytes, no NUL)
 * and "@name" may have 107 bytes of name.
 * Return: a blocking socket number, or -1 (ENOENT: nothing at @path,
 *         ECONNREFUSED: nobody listens, EACCES, EINVAL, ENAMETOOLONG:
 *         longer than that).
 */
int sb_unix_connect(sb_client *c, const char *path);

/** sb_last_eai() - the EAI_* code of this thread's last dial
 *  (sb_tcp_connect, sb_tcp_connect_opts, sb_tcp_connect_fd,
 *  sb_unix_connect) that failed in name resolution; 0 when that call
 *  succeeded or failed for another reason. */
int sb_last_eai(void);

/*
 * ---- fd hand-off: real file descriptors ----
 *
 * For a local session (a Unix socket, not TCP) whose policy allows the
 * operation `handoff`, the broker hands a socket to this process as a real
 * file descriptor: data then moves with plain read/write at native speed,
 * and the broker keeps nothing of it. Rules:
 *  H1. Only sockets whose use the broker already decided: connected stream
 *      sockets (TCP connected by the broker or accepted from a broker
 *      listener, Unix stream) and listening sockets. An unconnected or a
 *      datagram socket could be pointed anywhere with the fd, past the
 *      policy: it is refused with EINVAL. A socket with another call in
 *      progress on it (a waiting recv, a loop) is refused with EBUSY; the
 *      broker lets a loop's listener go a moment after the loop returns.
 *  H2. Errors: EACCES (policy), EOPNOTSUPP (a session over TCP: TCP cannot
 *      carry fds), EINVAL (H1), ENOBUFS (the broker's channel is full),
 *      ECONNRESET (the channel broke; the next call makes a new one), and
 *      the errors of the call itself (ECONNREFUSED...). A refused call
 *      changes nothing: the socket stays in the broker.
 *  H3. The fd is the caller's: close(2) it. It is close-on-exec, has
 *      O_NONBLOCK as the socket's mode in the library said (SOCK_NONBLOCK,
 *      sb_set_nonblock), and keeps every option set on it. The kernel
 *      still applies its own rules to it: options that need privileges
 *      need them in this process.
 *  H4. How: the first hand-off opens a second connection to the broker's
 *      Unix socket, bound to this session with a one-time ticket; fds come
 *      over it with SCM_RIGHTS. It closes with sb_close_client().
 *  H5. Thread-safe (rule 5): fds are matched to their call by a tag.
 *  H6. Descriptors over broker Unix sockets (sb_sendmsg, sb_recvmsg with
 *      SCM_RIGHTS) use the same channel and permission (`handoff` for the
 *      socket's family and type), both ways. A refusal sends nothing
 *      (sb_sendmsg: EACCES; sb_recvmsg: the descriptors are closed and
 *      MSG_CTRUNC set). sb_sendmsg calls with descriptors of one client
 *      are serialized (each writes its message on the channel, then makes
 *      its call), a blocking one until it sends; the broker holds at most
 *      253 descriptors of a session's waiting sendmsg calls in all (more
 *      is ETOOMANYREFS). RecvStream (sb_receiver, sb_udp_server_loop) and Pipe
 *      never carry descriptors: the broker closes them.
 */

/** sb_handoff() - the real fd of socket @s; @s is closed in this library
 *  (its number is free) and the broker's copy leaves the session.
 *  Return: the fd, or -1 with errno (H2); @s stays open on failure. */
int sb_handoff(sb_client *c, int s);

/** sb_tcp_connect_fd() - sb_tcp_connect() (without a local end) handing
 *  the winner off in the same round trip: a blocking connected fd.
 *  Return: the fd, or -1 with errno (sb_tcp_connect()'s and H2's). */
int sb_tcp_connect_fd(sb_client *c, const char *host, const char *port,
		      int timeout_ms);

/** sb_accept_fd() - accept4(2) on listening socket @s, the connection
 *  handed off in the same round trip (@flags: SOCK_NONBLOCK sets the
 *  fd's O_NONBLOCK; SOCK_CLOEXEC is always on). @addr/@len as accept(2).
 *  Return: the fd, or -1 with errno (sb_accept()'s and H2's). */
int sb_accept_fd(sb_client *c, int s, struct sockaddr *addr, socklen_t *len,
		 int flags);

/* ---- names and interfaces (no socket needed) ---- */

/** sb_getaddrinfo() - getaddrinfo(3) run by the broker's resolver.
 *  @res: set to a list freed with sb_freeaddrinfo() (never freeaddrinfo).
 *  Return: 0 or an EAI_* code (EAI_SYSTEM: see errno). */
int sb_getaddrinfo(sb_client *c, const char *node, const char *service,
		   const struct addrinfo *hints, struct addrinfo **res);
/** sb_freeaddrinfo() - free a list from sb_getaddrinfo(). NULL is fine. */
void sb_freeaddrinfo(struct addrinfo *res);

/** sb_getnameinfo() - getnameinfo(3) by the broker; EAI_OVERFLOW when a
 *  buffer is too small. As glibc, a NULL (or zero-length) @host and @serv
 *  ask for nothing and succeed without a call to the broker, except with
 *  NI_NAMEREQD and both NULL (EAI_NONAME); checks run in glibc's order
 *  (EAI_BADFLAGS, then EAI_FAMILY). Return: 0 or an EAI_* code. */
int sb_getnameinfo(sb_client *c, const struct sockaddr *addr, socklen_t len,
		   char *host, socklen_t hostlen, char *serv, socklen_t servlen,
		   int flags);

/** sb_gethostname() - the broker host's name; ENAMETOOLONG when @len is
 *  too small (the name is then cut, as glibc does). */
int sb_gethostname(sb_client *c, char *name, size_t len);

/** sb_getservbyname() - port (host order) of service @name for @proto
 *  ("tcp", "udp" or NULL). Return: the port, or -1 (ENOENT: unknown). */
int sb_getservbyname(sb_client *c, const char *name, const char *proto);

/** sb_getservbyport() - official name of @port (host order) into @name.
 *  Return: 0, or -1 (ENOENT: unknown, ERANGE: @namelen too small). */
int sb_getservbyport(sb_client *c, int port, const char *proto, char *name,
		     size_t namelen);

/** sb_getifaddrs() - getifaddrs(3) of the broker host, rows in libc's
 *  order; ifa_data is NULL. Free with sb_freeifaddrs() (never freeifaddrs).
 *  Return: 0 or -1. */
int sb_getifaddrs(sb_client *c, struct ifaddrs **ifap);
/** sb_freeifaddrs() - free a list from sb_getifaddrs(). NULL is fine. */
void sb_freeifaddrs(struct ifaddrs *ifa);

/** sb_getifaddr_index() / sb_getifaddr_mtu() - the interface index and
 *  MTU of one row of sb_getifaddrs() (not in struct ifaddrs).
 *  Return: the value, 0 when unknown. */
unsigned int sb_getifaddr_index(const struct ifaddrs *ifa);
unsigned int sb_getifaddr_mtu(const struct ifaddrs *ifa);

/* ---- streams: server loops, pipes, interface watch ----
 *
 * The loops run in the calling thread and call back from it, one call at a
 * time; a callback returns 0 to go on, anything else to stop the loop,
 * which then returns that value. Sockets handed to a callback belong to
 * the caller (sb_close them). A loop returns -1 with errno when it cannot
 * start or its stream fails (the listener was closed: EBADF).
 */

/** sb_accept_cb - one accepted connection: socket number @s, peer address
 *  @peer/@peerlen (valid during the call), @arg as given to the loop. */
typedef int (*sb_accept_cb)(sb_client *c, int s, const struct sockaddr *peer,
			    socklen_t peerlen, void *arg);

/** sb_accept_loop() - accept on listening socket @listener through an
 *  AcceptStream until @cb returns non-zero (that value is returned). */
int sb_accept_loop(sb_client *c, int listener, sb_accept_cb cb, void *arg);

/** sb_accept_loop_many() - the same over @n listening sockets at once. */
int sb_accept_loop_many(sb_client *c, const int *listeners, size_t n,
			sb_accept_cb cb, void *arg);

/** sb_accept_loop_fd() - sb_accept_loop() with fd hand-off (H1-H5 above): @cb gets each connection
 *  as a real fd (blocking) in place of a socket number: the caller
 *  close(2)s it. Connections already queued on the listener come from the
 *  broker up to 32 at a time (the .proto's "Accept batches") and reach
 *  @cb one by one, in accept order. Fds the loop took but never gave @cb
 *  (the rest of a batch after @cb returned non-zero, events still on the
 *  wire) are closed. */
int sb_accept_loop_fd(sb_client *c, int listener, sb_accept_cb cb, void *arg);

/**
 * sb_tcp_server_sockets() - listening sockets on every address
 * getaddrinfo(@host, @port, AI_PASSIVE, SOCK_STREAM) returns, as Ruby's
 * Socket.tcp_server_sockets: IPv6 ones with IPV6_V6ONLY so both families
 * coexist, SO_REUSEADDR on, and with @port "0" (or NULL) one ephemeral
 * port shared by all. @host NULL: every local address.
 * @socks: filled with up to @max socket numbers.
 * Return: how many, or -1 (errno; EAI failures give EADDRNOTAVAIL with
 *         sb_last_error() naming the resolver error). Nothing is left open
 *         on failure.
 */
int sb_tcp_server_sockets(sb_client *c, const char *host, const char *port,
			  int *socks, size_t max);

/** sb_tcp_server_loop() - sb_tcp_server_sockets() + sb_accept_loop_many();
 *  the listeners are closed when the loop ends. */
int sb_tcp_server_loop(sb_client *c, const char *host, const char *port,
		       sb_accept_cb cb, void *arg);

/**
 * sb_unix_server_socket() - a listening Unix socket at @path. A stale
 * socket file there is removed first, but only when it is a socket owned
 * by this process's effective uid and nobody listens on it (as Ruby's
 * unix_server_socket). Anything else there (a live socket, a file that is
 * not a socket, another user's socket) fails with EADDRINUSE, as bind(2)
 * would, and sb_last_error() says which. The path is checked in this
 * process's filesystem view, which must be the broker's (same host).
 * Return: the socket number or -1.
 */
int sb_unix_server_socket(sb_client *c, const char *path);

/** sb_unix_server_loop() - sb_unix_server_socket() + sb_accept_loop();
 *  the listener is closed and @path removed when the loop ends. */
int sb_unix_server_loop(sb_client *c, const char *path, sb_accept_cb cb,
			void *arg);

/** A received datagram's origin, for sb_udp_reply(). Plain data: copy it
 *  freely; valid as long as socket @s is open. */
struct sb_udp_source {
	int s;                          /* the socket it came in on */
	struct sockaddr_storage peer;   /* who sent it */
	socklen_t peerlen;
	struct sockaddr_storage local;  /* the address it was sent to */
	socklen_t locallen;             /* 0 when unknown */
	int ifindex;                    /* interface it came in on, or 0 */
};

/** sb_udp_cb - one datagram: @buf/@len (valid during the call; @truncated
 *  when it was longer than the loop's buffer) and its source @src. */
typedef int (*sb_udp_cb)(sb_client *c, const void *buf, size_t len,
			 int truncated, const struct sb_udp_source *src, void *arg);

/** sb_udp_server_sockets() - bound UDP sockets as sb_tcp_server_sockets
 *  (same host/port rules), with IP_PKTINFO/IPV6_RECVPKTINFO on. */
int sb_udp_server_sockets(sb_client *c, const char *host, const char *port,
			  int *socks, size_t max);

/** sb_udp_server_loop_on() - receive on @n bound datagram sockets through
 *  RecvStream (batched) until @cb returns non-zero. */
int sb_udp_server_loop_on(sb_client *c, const int *socks, size_t n,
			  sb_udp_cb cb, void *arg);

/** sb_udp_server_loop() - sb_udp_server_sockets() + sb_udp_server_loop_on();
 *  the sockets are closed when the loop ends. */
int sb_udp_server_loop(sb_client *c, const char *host, const char *port,
		       sb_udp_cb cb, void *arg);

/** sb_udp_reply() - send @buf/@len back to @src's peer, from the local
 *  address the datagram arrived on (so a server bound to a wildcard
 *  address answers from the right address), and for an IPv6 link-local
 *  address on the interface it arrived on. The broker checks the source
 *  as a bind of that address at the socket's port, the interface as
 *  SO_BINDTOIFINDEX (a rule must name it).
 *  Return: bytes sent or -1 (EACCES: the policy refused the source). */
ssize_t sb_udp_reply(sb_client *c, const struct sb_udp_source *src,
		     const void *buf, size_t len);

/*
 * Pull-style iterators, for callers with their own event loop: the same
 * streams as the loops above, one item per call. @timeout_ms: 0 returns at
 * once (EAGAIN when nothing is waiting), -1 waits as long as it takes.
 * One thread at a time per iterator; close it to end the stream (items the
 * broker already sent but the caller never took are closed).
 */

/** An AcceptStream on one listening socket. */
typedef struct sb_acceptor sb_acceptor;

/** sb_acceptor_open() - Return: the iterator, or NULL with errno (EBADF:
 *  not a socket of @c). What the broker refuses (EINVAL: not listening,
 *  EACCES: policy) comes from the first sb_acceptor_next(). */
sb_acceptor *sb_acceptor_open(sb_client *c, int listener);
/** sb_acceptor_next() - the next connection: its socket number, with the
 *  peer copied to @peer/@peerlen as accept(2) does (both may be NULL).
 *  Return: the socket, or -1 (EAGAIN: none within @timeout_ms; EBADF: the
 *  listener was closed; others: the stream failed and is over). */
int sb_acceptor_next(sb_acceptor *a, struct sockaddr *peer, socklen_t *peerlen,
		     int timeout_ms);
/** sb_acceptor_close() - end the stream and free @a (NULL is fine). */
void sb_acceptor_close(sb_acceptor *a);

/** A RecvStream on one datagram socket: IPv4, IPv6 (with packet info:
 *  the destination address and interface in sb_udp_source) or Unix (no
 *  packet info; descriptors sent with a datagram are closed by the broker:
 *  take them with sb_recvmsg instead). */
typedef struct sb_receiver sb_receiver;

/** sb_receiver_open() - Return: the iterator, or NULL with errno. */
sb_receiver *sb_receiver_open(sb_client *c, int s);
/** sb_receiver_next() - the next datagram into @buf (@len bytes; longer
 *  ones are cut and *@truncated set), its source in @src (may be NULL).
 *  Return: its length as received (<= @len), or -1 (EAGAIN: none within
 *  @timeout_ms; others: the stream failed and is over). */
ssize_t sb_receiver_next(sb_receiver *r, void *buf, size_t len, int *truncated,
			 struct sb_udp_source *src, int timeout_ms);
/** sb_receiver_close() - end the stream and free @r (NULL is fine). */
void sb_receiver_close(sb_receiver *r);

/** A byte pipe to a connected socket (the Pipe RPC): the bulk data path.
 *  One thread may read while another writes; not more. */
typedef struct sb_pipe sb_pipe;

/** sb_pipe_open() - open a pipe on connected socket @s. The socket stays
 *  the caller's; do not use it otherwise while the pipe is open.
 *  Return: the pipe, or NULL with errno. */
sb_pipe *sb_pipe_open(sb_client *c, int s);
/** sb_pipe_write() - write all of @buf (blocks on backpressure).
 *  Return: @len, or -1 (EPIPE after sb_pipe_shutdown, ECONNRESET...). */
ssize_t sb_pipe_write(sb_pipe *p, const void *buf, size_t len);
/** sb_pipe_read() - read up to @len bytes. Return: bytes, 0 at the end of
 *  the socket's stream, or -1 with errno (the socket's error). */
ssize_t sb_pipe_read(sb_pipe *p, void *buf, size_t len);
/** sb_pipe_shutdown() - half-close: the broker shuts the socket down for
 *  writing after what was written. Return: 0 or -1. */
int sb_pipe_shutdown(sb_pipe *p);
/** sb_pipe_close() - end the pipe (the socket stays open) and free @p.
 *  After sb_pipe_shutdown() it first lets the broker write out what it
 *  was sent (up to 10 s, dropping what the socket still yields), so that
 *  nothing written is lost; without a shutdown, unsent data is dropped. */
void sb_pipe_close(sb_pipe *p);

/** What an interface event says. */
enum sb_if_event {
	SB_IF_SNAPSHOT = 0,       /* part of the current list */
	SB_IF_SNAPSHOT_DONE = 1,  /* the current list is complete (@ifa NULL) */
	SB_IF_LINK_ADDED = 2,
	SB_IF_LINK_REMOVED = 3,
	SB_IF_LINK_CHANGED = 4,
	SB_IF_ADDRESS_ADDED = 5,
	SB_IF_ADDRESS_REMOVED = 6,
};

/** sb_watch_cb - one event; @ifa (one row as sb_getifaddrs gives, valid
 *  during the call) or NULL for SB_IF_SNAPSHOT_DONE. */
typedef int (*sb_watch_cb)(sb_client *c, enum sb_if_event ev,
			   const struct ifaddrs *ifa, void *arg);

/** sb_watch_interfaces() - the current interfaces, then their changes as
 *  they happen (WatchInterfaces), until @cb returns non-zero. */
int sb_watch_interfaces(sb_client *c, sb_watch_cb cb, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* SOCKBROKER_H */
