/* SPDX-License-Identifier: MIT
 * udp.c - datagrams of the sandboxed program, under the broker's policy
 * for every datagram (and the sends of its raw sockets, read here and
 * sent by raw.c).
 *
 * The broker never hands off a datagram socket (sockbroker.h H1): with the
 * fd, a program could send anywhere. So the program's UDP socket stays in
 * the sandbox, and the supervisor keeps, per program address P, a broker
 * socket (a "flow") and sends each datagram itself:
 *  - sendto/sendmsg/sendmmsg with an address are notified: the address and
 *    the data are read once from the program's memory, the broker sends
 *    them (policy "sendto", per datagram), and the call is answered with
 *    the count or the broker's errno (EACCES). The kernel never sends them.
 *  - connect(D) is notified: the broker's socket of the flow connects to D
 *    (policy "connect"), and the program's socket is connected to D in the
 *    sandbox by the supervisor. Its plain send()/write() (not notified: a
 *    filter cannot see where they go) stay in the sandbox: every address is
 *    local there (an "AnyIP" route, local 0.0.0.0/0 and ::/0 on lo), and a
 *    relay socket the supervisor bound to D in the sandbox receives them
 *    with the program's address; the supervisor sends them on through the
 *    broker to D (policy "sendto" again). The destination is the relay's
 *    own address, which the kernel holds: nothing of the program's memory
 *    is read twice.
 *  - bind(A) is notified: the broker binds the flow's socket to A (policy
 *    "bind"), so that a server in the sandbox is reached on the host at A.
 *  - sendmsg's ancillary data goes to the broker with the datagram
 *    (sb_sendmsg: a source address is judged as a bind).
 *  - Replies: each flow has a thread reading the broker socket (RecvStream);
 *    a datagram from S is sent into the sandbox from a relay bound to S, so
 *    the program sees its true source address (resolvers check it). Where
 *    a socket of the program holds S in the sandbox (it talks to its own
 *    server through the host), the datagram is injected with a header
 *    naming S, through a raw socket of the sandbox.
 * Relay sockets are made in the sandbox's namespace by the socket factory
 * (sandbox.c); they are bound with IP(V6)_FREEBIND.
 *
 * Locking: one mutex over relays and flows; broker calls are made outside
 * it, except a flow's creation. Every function of run.h here is called
 * under the supervisor's serial mutex (supervise.c), one at a time: only
 * those calls create or retire flows and use @buf and @ctl; a flow thread
 * only ends itself (done) and delivers.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

#define SBR_UDP_FLOWS 64
/* A flow no datagram used for this long is closed (its broker socket too). */
#define SBR_UDP_IDLE_MS 60000
/* How often a flow thread looks at its stop flag: bounds the runner's exit. */
#define SBR_UDP_TICK_MS 200
/* Tries of a refused receive stream, SBR_UDP_TICK_MS / 2 apart. */
#define SBR_UDP_OPEN_TRIES 20
#define SBR_UDP_MAXDATA 65535
/* sendmmsg(2) and sendmsg(2) take at most UIO_MAXIOV entries. */
#define SBR_UDP_MAXIOV 1024
/* Control data of one message, at most (net.core.optmem_max's default is
 * larger; no message the broker carries needs more). */
#define SBR_UDP_MAXCTL 1024
/* An injected datagram: IPv6 and UDP headers and the most data. */
#define SBR_UDP_INJECT (40 + 8 + SBR_UDP_MAXDATA)

struct sbr_relay {
	int fd; /* -1: free */
	struct sockaddr_storage addr;
	socklen_t len;
	int64_t last;
};

struct sbr_flow {
	struct sbr_udp *u;
	int used;
	struct sockaddr_storage peer; /* P: the program's address */
	socklen_t peerlen;
	int s;        /* the broker's socket */
	int started;  /* thread running or done, not joined */
	int bcast;    /* SO_BROADCAST set on @s */
	pthread_t thread;
	atomic_int stop;
	atomic_int done;
	int64_t last;
	/* The program's socket that used the flow last: @ino in process
	 * @tgid at @fdnum (@tgid 0: none known). A flow made by the program's
	 * bind (a server) is kept while it lives, idle or not; another goes
	 * once it is closed, when a new flow is made. */
	int bound;
	pid_t tgid;
	int fdnum;
	ino_t ino;
};

struct sbr_udp {
	sb_client *c;
	int helper_fd;
	struct sbr_raw *raw;
	int wake_fd; /* eventfd: written when a relay is made */
	int inject[2]; /* raw IPv4, IPv6 sockets of sbr_inject(), -1 until used */
	unsigned char *inject_buf; /* its packet (under the lock) */
	pthread_mutex_t lock;
	unsigned char *buf; /* the data buffer of the calls (serial) */
	unsigned char ctl[SBR_UDP_MAXCTL] __attribute__((aligned(8))); /* and control */
	struct sbr_relay relays[SBR_UDP_RELAYS];
	struct sbr_flow flows[SBR_UDP_FLOWS];
};

static int64_t sbr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int sbr_same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return a6->sin6_port == b6->sin6_port && a6->sin6_scope_id == b6->sin6_scope_id &&
	       !memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr));
}

static socklen_t sbr_addr_len(int family)
{
	return family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 one it is:
 * a dual-stack socket's view of an IPv4 peer. Others are left alone. */
static void sbr_unmap(struct sockaddr_storage *a)
{
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
	struct sockaddr_in a4 = { .sin_family = AF_INET };

	if (a->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr))
		return;
	a4.sin_port = a6->sin6_port;
	memcpy(&a4.sin_addr, &a6->sin6_addr.s6_addr[12], 4);
	memset(a, 0, sizeof(*a));
	memcpy(a, &a4, sizeof(a4));
}

/**
 * sbr_relay_get() - the relay bound to @mapped (unmapped) in the sandbox, made when
 * missing (the least recently used one goes when all are taken). Lock held.
 * Return: its fd, or -errno.
 */
static int sbr_relay_get(struct sbr_udp *u, const struct sockaddr_storage *mapped)
{
	struct sockaddr_storage a = *mapped, *addr = &a;
	struct sbr_relay *r = NULL;
	int i, fd, one = 1;

	/* A dual-stack socket's IPv4 peer travels as IPv4 in the sandbox. */
	sbr_unmap(addr);

	for (i = 0; i < SBR_UDP_RELAYS; i++) {
		if (u->relays[i].fd >= 0 && sbr_same_addr(&u->relays[i].addr, addr)) {
			u->relays[i].last = sbr_now_ms();
			return u->relays[i].fd;
		}
		if (u->relays[i].fd < 0 && !r)
			r = &u->relays[i];
	}
	if (!r) {
		r = &u->relays[0];
		for (i = 1; i < SBR_UDP_RELAYS; i++)
			if (u->relays[i].last < r->last)
				r = &u->relays[i];
		close(r->fd);
		r->fd = -1;
	}
	fd = sbr_factory_socket(u->helper_fd, addr->ss_family, SOCK_DGRAM);
	if (fd < 0)
		return fd;
	if (setsockopt(fd, addr->ss_family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP,
		       addr->ss_family == AF_INET6 ? IPV6_FREEBIND : IP_FREEBIND, &one,
		       sizeof(one)) < 0 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) < 0 ||
	    bind(fd, (const struct sockaddr *)addr, sbr_addr_len(addr->ss_family)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	r->fd = fd;
	r->addr = *addr;
	r->len = sbr_addr_len(addr->ss_family);
	r->last = sbr_now_ms();
	/* The supervisor's thread polls the relays: one more to look at. */
	if (write(u->wake_fd, &(uint64_t){ 1 }, sizeof(uint64_t)) < 0 && errno != EAGAIN)
		sbr_log("relay wake-up: %s", strerror(errno));
	return fd;
}

/* Does the program still hold the socket a flow was last used by (when
 * known: a flow made by a datagram from a relay has no socket to ask)? */
static int sbr_flow_live(const struct sbr_flow *f)
{
	return !f->tgid || sbr_holds_socket(f->tgid, f->fdnum, (unsigned long)f->ino);
}

static int sbr_is_wildcard(const struct sockaddr_storage *a)
{
	static const struct in6_addr any6 = IN6ADDR_ANY_INIT;

	if (a->ss_family == AF_INET)
		return ((const struct sockaddr_in *)a)->sin_addr.s_addr == htonl(INADDR_ANY);
	return !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, &any6, sizeof(any6));
}

/**
 * sbr_deliver_to() - where in the sandbox a datagram for flow @f from
 * @from (unmapped: IPv4 or IPv6) goes: the program's address, except that
 * a socket bound to the wildcard gets it at the address it was sent to on
 * the host (@src->local, when the broker said), so that IP_PKTINFO tells a
 * server the address a client used. An IPv4 datagram for a dual-stack
 * program socket (bound to :: or ::ffff:a.b.c.d) goes to it over IPv4,
 * from a relay of @from's family: the program sees the mapped source, as
 * on the host.
 * Return: 0 with @to set, or -EAFNOSUPPORT (it cannot reach @f's socket).
 */
static int sbr_deliver_to(const struct sbr_flow *f, const struct sb_udp_source *src,
			  const struct sockaddr_storage *from, struct sockaddr_storage *to)
{
	struct sockaddr_storage local = src->local;
	int wild = sbr_is_wildcard(&f->peer);

	*to = f->peer;
	if (from->ss_family == AF_INET && f->peer.ss_family == AF_INET6) {
		sbr_unmap(to);
		if (wild) {
			struct sockaddr_in *t4 = (struct sockaddr_in *)to;
			in_port_t port = ((const struct sockaddr_in6 *)&f->peer)->sin6_port;

			memset(to, 0, sizeof(*to));
			t4->sin_family = AF_INET;
			t4->sin_port = port;
			t4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		} else if (to->ss_family != AF_INET) {
			return -EAFNOSUPPORT;
		}
	}
	if (!wild || !src->locallen)
		return 0;
	sbr_unmap(&local);
	if (local.ss_family != to->ss_family)
		return 0;
	if (to->ss_family == AF_INET)
		((struct sockaddr_in *)to)->sin_addr =
			((const struct sockaddr_in *)&local)->sin_addr;
	else
		((struct sockaddr_in6 *)to)->sin6_addr =
			((const struct sockaddr_in6 *)&local)->sin6_addr;
	return 0;
}

/* The Internet checksum of @len bytes at @p, added to @sum. */
static uint32_t sbr_csum_add(uint32_t sum, const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (len & 1)
		sum += (uint32_t)(b[len - 1] << 8);
	return sum;
}

static uint16_t sbr_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/**
 * sbr_inject() - a UDP datagram from @from to @to into the sandbox, header
 * and all, through a raw socket of the sandbox (IPPROTO_RAW: the factory
 * has CAP_NET_RAW there). For a source no relay can be bound to. Called
 * with the lock held. Return: 0 or -1 with errno.
 */
static int sbr_inject(struct sbr_udp *u, const struct sockaddr_storage *from,
		      const struct sockaddr_storage *to, const void *data, size_t len)
{
	unsigned char *pkt = u->inject_buf;
	struct sockaddr_storage dst;
	int v6 = to->ss_family == AF_INET6, *fd = &u->inject[v6];
	size_t hl = v6 ? 40 : 20, ulen = 8 + len;
	uint32_t sum;
	uint16_t c;

	if (from->ss_family != to->ss_family || ulen > 0xffff || hl + ulen > SBR_UDP_INJECT) {
		errno = EMSGSIZE;
		return -1;
	}
	if (*fd < 0) {
		*fd = sbr_factory_socket(u->helper_fd, to->ss_family, SBR_FACTORY_HDRINCL);
		if (*fd < 0) {
			errno = -*fd;
			*fd = -1;
			return -1;
		}
	}
	memset(pkt, 0, hl + 8);
	if (v6) {
		const struct sockaddr_in6 *f6 = (const void *)from, *t6 = (const void *)to;

		pkt[0] = 0x60;
		pkt[4] = (unsigned char)(ulen >> 8);
		pkt[5] = (unsigned char)ulen;
		pkt[6] = IPPROTO_UDP;
		pkt[7] = 64;
		memcpy(pkt + 8, &f6->sin6_addr, 16);
		memcpy(pkt + 24, &t6->sin6_addr, 16);
		memcpy(pkt + hl, &f6->sin6_port, 2);
		memcpy(pkt + hl + 2, &t6->sin6_port, 2);
	} else {
		const struct sockaddr_in *f4 = (const void *)from, *t4 = (const void *)to;

		/* The kernel fills in the length, the id and the checksum. */
		pkt[0] = 0x45;
		pkt[8] = 64;
		pkt[9] = IPPROTO_UDP;
		memcpy(pkt + 12, &f4->sin_addr, 4);
		memcpy(pkt + 16, &t4->sin_addr, 4);
		memcpy(pkt + hl, &f4->sin_port, 2);
		memcpy(pkt + hl + 2, &t4->sin_port, 2);
	}
	pkt[hl + 4] = (unsigned char)(ulen >> 8);
	pkt[hl + 5] = (unsigned char)ulen;
	memcpy(pkt + hl + 8, data, len);
	/* The UDP checksum over the pseudo-header (source and destination
	 * addresses, protocol, length), the header and the data. */
	sum = sbr_csum_add(0, v6 ? pkt + 8 : pkt + 12, v6 ? 32 : 8);
	sum += IPPROTO_UDP + (uint32_t)ulen;
	sum = sbr_csum_add(sum, pkt + hl, ulen);
	c = sbr_csum_fold(sum);
	if (!c)
		c = 0xffff;
	pkt[hl + 6] = (unsigned char)(c >> 8);
	pkt[hl + 7] = (unsigned char)c;
	/* A raw IPv6 socket reads the port as a protocol: none. */
	dst = *to;
	if (v6)
		((struct sockaddr_in6 *)&dst)->sin6_port = 0;
	else
		((struct sockaddr_in *)&dst)->sin_port = 0;
	return sendto(*fd, pkt, hl + ulen, MSG_DONTWAIT, (const struct sockaddr *)&dst,
		      sbr_addr_len(to->ss_family)) < 0 ? -1 : 0;
}

static void *sbr_flow_main(void *arg)
{
	struct sbr_flow *f = arg;
	struct sbr_udp *u = f->u;
	struct sb_udp_source src;
	struct sockaddr_storage from, to;
	unsigned char *buf = malloc(SBR_UDP_MAXDATA);
	sb_receiver *r = NULL;
	int trunc, fd, idle, tries;
	ssize_t n;

	if (!buf)
		goto out;
	tries = 0;
	while (!atomic_load(&f->stop)) {
		/* The broker charges a receive stream to the session, and may
		 * refuse it (ENOBUFS, when it opens or at its first answer):
		 * flows of sockets the program closed give theirs back as they
		 * stop (each within SBR_UDP_TICK_MS), so it is tried again for
		 * a while. */
		if (!r)
			r = sb_receiver_open(u->c, f->s);
		n = r ? sb_receiver_next(r, buf, SBR_UDP_MAXDATA, &trunc, &src, SBR_UDP_TICK_MS)
		      : -1;
		if (n < 0 && errno == ENOBUFS && ++tries <= SBR_UDP_OPEN_TRIES) {
			sb_receiver_close(r);
			r = NULL;
			usleep(SBR_UDP_TICK_MS * 1000 / 2);
			continue;
		}
		if (n < 0 && errno == ENOBUFS) {
			static atomic_int said;

			if (!atomic_exchange(&said, 1))
				sbr_err("no receive stream for a datagram socket: its replies "
					"are lost (%s)",
					sb_last_error() ? sb_last_error() : strerror(errno));
			break;
		}
		if (n < 0) {
			if (errno != EAGAIN)
				break;
			pthread_mutex_lock(&u->lock);
			idle = sbr_now_ms() - f->last > SBR_UDP_IDLE_MS;
			if (idle && f->bound && sbr_flow_live(f)) {
				f->last = sbr_now_ms();
				idle = 0;
			}
			pthread_mutex_unlock(&u->lock);
			if (idle)
				break;
			continue;
		}
		tries = 0;
		if (src.peer.ss_family != AF_INET && src.peer.ss_family != AF_INET6)
			continue;
		from = src.peer;
		sbr_unmap(&from);
		if (sbr_deliver_to(f, &src, &from, &to) < 0)
			continue;
		pthread_mutex_lock(&u->lock);
		f->last = sbr_now_ms();
		fd = sbr_relay_get(u, &from);
		/* A full socket buffer drops the datagram, as the network may. */
		if (fd >= 0 && sendto(fd, buf, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&to,
				      sbr_addr_len(to.ss_family)) < 0)
			sbr_log("datagram into the sandbox dropped: %s", strerror(errno));
		/* The source is an address a socket of the program holds in the
		 * sandbox (it talks to itself through the host): no relay can
		 * be bound there, the datagram is injected with its header. */
		if (fd == -EADDRINUSE && sbr_inject(u, &from, &to, buf, (size_t)n) < 0)
			sbr_log("datagram into the sandbox dropped: %s", strerror(errno));
		else if (fd < 0 && fd != -EADDRINUSE)
			sbr_log("datagram into the sandbox dropped: no relay: %s", strerror(-fd));
		pthread_mutex_unlock(&u->lock);
	}
out:
	sb_receiver_close(r);
	free(buf);
	atomic_store(&f->done, 1);
	return NULL;
}

static void sbr_flow_retire(struct sbr_udp *u, struct sbr_flow *f)
{
	if (f->started)
		pthread_join(f->thread, NULL);
	if (sb_close(u->c, f->s) < 0)
		sbr_log("close of broker socket %d: %s", f->s, strerror(errno));
	f->used = 0;
	f->started = 0;
}

/**
 * sbr_flow_add() - a new flow of program address @peer with broker socket
 * @s (taken over on success). Under the serial mutex only.
 * Return: the flow, or NULL with errno ENOBUFS (all in use).
 */
static struct sbr_flow *sbr_flow_add(struct sbr_udp *u, const struct sockaddr_storage *peer,
				     socklen_t peerlen, int s)
{
	struct sbr_flow *f = NULL;
	int i;

	pthread_mutex_lock(&u->lock);
	for (i = 0; i < SBR_UDP_FLOWS && !f; i++)
		if (!u->flows[i].used)
			f = &u->flows[i];
	if (f) {
		memset(f, 0, sizeof(*f));
		f->u = u;
		f->used = 1;
		f->peer = *peer;
		f->peerlen = peerlen;
		f->s = s;
		f->last = sbr_now_ms();
	}
	pthread_mutex_unlock(&u->lock);
	if (!f)
		errno = ENOBUFS;
	return f;
}

/* The program's socket of @call uses flow @f now (under u->lock). Every
 * datagram of the flow comes here: its process is looked up in /proc only
 * when the socket is another than last time. */
static void sbr_flow_own(struct sbr_flow *f, const struct sbr_call *call)
{
	if (f->tgid && f->ino == call->ino && f->fdnum == call->fdnum)
		return;
	f->tgid = sbr_tgid_of(call->req->pid);
	f->fdnum = call->fdnum;
	f->ino = call->ino;
}

/**
 * sbr_flow_get() - the flow of program address @peer, made when missing,
 * used by the socket of @call (NULL: a datagram from a relay).
 * Under the serial mutex only. Return: the flow, or NULL with errno (ENOBUFS:
 * all in use; the least recently used is told to stop, for the next try).
 */
static struct sbr_flow *sbr_flow_get(struct sbr_udp *u, const struct sockaddr_storage *peer,
				     socklen_t peerlen, const struct sbr_call *call)
{
	struct sbr_flow *f = NULL, *lru = NULL;
	int i, s;

	pthread_mutex_lock(&u->lock);
	for (i = 0; i < SBR_UDP_FLOWS; i++) {
		struct sbr_flow *x = &u->flows[i];

		/* Ended by itself, or told to stop before it ever started. */
		if (x->used && (x->started ? atomic_load(&x->done) : atomic_load(&x->stop))) {
			pthread_mutex_unlock(&u->lock);
			sbr_flow_retire(u, x);
			pthread_mutex_lock(&u->lock);
		}
		if (x->used && sbr_same_addr(&x->peer, peer)) {
			x->last = sbr_now_ms();
			if (call)
				sbr_flow_own(x, call);
			pthread_mutex_unlock(&u->lock);
			return x;
		}
		if (!x->used && !f)
			f = x;
		/* A server's flow is not taken from it while it lives. */
		if (x->used && !x->bound && (!lru || x->last < lru->last))
			lru = x;
	}
	/* A new flow: those of sockets the program closed stop (a resolver
	 * takes a new socket per query), and give their receive streams
	 * back to the session. */
	for (i = 0; i < SBR_UDP_FLOWS; i++)
		if (u->flows[i].used && !u->flows[i].bound && !sbr_flow_live(&u->flows[i]))
			atomic_store(&u->flows[i].stop, 1);
	pthread_mutex_unlock(&u->lock);
	if (!f) {
		if (lru)
			atomic_store(&lru->stop, 1);
		errno = ENOBUFS;
		return NULL;
	}
	s = sb_socket(u->c, peer->ss_family, SOCK_DGRAM, 0);
	if (s < 0)
		return NULL;
	f = sbr_flow_add(u, peer, peerlen, s);
	if (!f && sb_close(u->c, s) < 0)
		sbr_log("close: %s", strerror(errno));
	if (f && call) {
		pthread_mutex_lock(&u->lock);
		sbr_flow_own(f, call);
		pthread_mutex_unlock(&u->lock);
	}
	return f;
}

/* The flow's thread starts once its broker socket has a local address. */
static void sbr_flow_start(struct sbr_flow *f)
{
	if (f->started)
		return;
	if (pthread_create(&f->thread, NULL, sbr_flow_main, f) == 0)
		f->started = 1;
	else
		sbr_log("no thread for a datagram flow: replies are lost");
}

/* The program socket's own address, binding it first as the kernel would
 * (port 0 of the wildcard) when it has none. */
static int sbr_local_addr(const struct sbr_call *call, struct sockaddr_storage *p,
			  socklen_t *plen)
{
	struct sockaddr_storage any;

	/* Zeroed first: the kernel writes only as many bytes as the family's
	 * address has. */
	memset(p, 0, sizeof(*p));
	*plen = sizeof(*p);
	if (getsockname(call->sock, (struct sockaddr *)p, plen) < 0)
		return -errno;
	if (((struct sockaddr_in *)p)->sin_port != 0)
		return 0;
	memset(&any, 0, sizeof(any));
	any.ss_family = (sa_family_t)call->domain;
	if (bind(call->sock, (struct sockaddr *)&any, sbr_addr_len(call->domain)) < 0)
		return -errno;
	*plen = sizeof(*p);
	return getsockname(call->sock, (struct sockaddr *)p, plen) < 0 ? -errno : 0;
}

/**
 * sbr_udp_send() - one datagram of the program's socket to @dst, by the
 * broker. Return: bytes sent, or -errno (EACCES: the policy).
 */
static ssize_t sbr_udp_send(struct sbr_udp *u, const struct sbr_call *call, const void *buf,
			    size_t len, const struct sockaddr_storage *dst, void *ctl,
			    size_t ctllen)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_name = (void *)dst, .msg_namelen = sbr_addr_len(dst->ss_family),
			     .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			     .msg_controllen = ctllen };
	struct sockaddr_storage p;
	struct sbr_flow *f;
	socklen_t plen;
	ssize_t n;
	int rc;

	if (call->type == SOCK_RAW) {
		p = *dst;
		return sbr_raw_send(u->raw, call, buf, len, &p, ctl, ctllen);
	}
	rc = sbr_local_addr(call, &p, &plen);
	if (rc < 0)
		return rc;
	f = sbr_flow_get(u, &p, plen, call);
	if (!f)
		return -errno;
	/* The relay first, so that no reply can come before it exists (none
	 * where a socket of the program holds @dst: replies are injected). */
	pthread_mutex_lock(&u->lock);
	rc = sbr_relay_get(u, dst);
	pthread_mutex_unlock(&u->lock);
	if (rc < 0 && rc != -EADDRINUSE)
		return rc;
	/* SO_BROADCAST, which the kernel asks of a socket sending to a
	 * broadcast address, is the program's: the broker's socket gets it
	 * (where the policy allows it) once the program has it. */
	if (!f->bcast) {
		int v = 0;
		socklen_t vl = sizeof(v);

		if (getsockopt(call->sock, SOL_SOCKET, SO_BROADCAST, &v, &vl) == 0 && v) {
			if (sb_setsockopt(u->c, f->s, SOL_SOCKET, SO_BROADCAST, &v, sizeof(v)) < 0)
				sbr_log("SO_BROADCAST: %s", sb_last_error());
			else
				f->bcast = 1;
		}
	}
	/* Ancillary data goes as the broker sends it (sb_sendmsg: a source
	 * address or interface is judged as a bind, TOS/TTL/hop limit pass,
	 * anything else is refused with its errno). */
	if (ctllen)
		n = sb_sendmsg(u->c, f->s, &mh, 0);
	else
		n = sb_sendto(u->c, f->s, buf, len, 0, (const struct sockaddr *)dst,
			      sbr_addr_len(dst->ss_family));
	if (n < 0) {
		rc = -errno;
		sbr_log("datagram refused: %s", sb_last_error() ? sb_last_error() : strerror(-rc));
		return rc;
	}
	sbr_flow_start(f);
	return n;
}

/* The destination of a call without one: the socket's connected peer. */
static int sbr_peer_of(const struct sbr_call *call, struct sockaddr_storage *dst)
{
	socklen_t l = sizeof(*dst);

	memset(dst, 0, sizeof(*dst));
	if (getpeername(call->sock, (struct sockaddr *)dst, &l) < 0)
		return errno == ENOTCONN ? -EDESTADDRREQ : -errno;
	return 0;
}

/**
 * sbr_udp_msg() - one struct msghdr of the program at @addr, read once,
 * its address and data read once each, and sent.
 * Return: bytes sent, or -errno.
 */
static ssize_t sbr_udp_msg(struct sbr_udp *u, struct sbr_sup *sup, const struct sbr_call *call,
			   uint64_t addr)
{
	struct iovec iov[SBR_UDP_MAXIOV];
	struct sockaddr_storage dst;
	struct msghdr mh;
	size_t i, total = 0;
	int rc;

	rc = sbr_read_mem(call->req->pid, addr, &mh, sizeof(mh));
	if (rc < 0)
		return rc;
	if (mh.msg_iovlen > SBR_UDP_MAXIOV)
		return -EMSGSIZE;
	/* The kernel's own bound on a message's control data. */
	if (mh.msg_controllen > SBR_UDP_MAXCTL)
		return -ENOBUFS;
	if (mh.msg_controllen && (!mh.msg_control || mh.msg_controllen < sizeof(struct cmsghdr)))
		return -EINVAL;
	if (mh.msg_controllen &&
	    (rc = sbr_read_mem(call->req->pid, (uint64_t)(uintptr_t)mh.msg_control, u->ctl,
			       mh.msg_controllen)) < 0)
		return rc;
	if (mh.msg_name && mh.msg_namelen) {
		rc = sbr_read_sockaddr(call, (uint64_t)(uintptr_t)mh.msg_name, mh.msg_namelen, &dst);
		if (rc >= 0)
			rc = sbr_check_inet(call->domain, &dst, rc);
	} else {
		rc = sbr_peer_of(call, &dst);
	}
	if (rc < 0)
		return rc;
	if (mh.msg_iovlen &&
	    (rc = sbr_read_mem(call->req->pid, (uint64_t)(uintptr_t)mh.msg_iov, iov,
			       mh.msg_iovlen * sizeof(struct iovec))) < 0)
		return rc;
	for (i = 0; i < mh.msg_iovlen; i++) {
		if (iov[i].iov_len > SBR_UDP_MAXDATA - total)
			return -EMSGSIZE;
		if (iov[i].iov_len &&
		    (rc = sbr_read_mem(call->req->pid, (uint64_t)(uintptr_t)iov[i].iov_base,
				       u->buf + total, iov[i].iov_len)) < 0)
			return rc;
		total += iov[i].iov_len;
	}
	/* Still in that call: what was read is the program's (its pid was
	 * not reused by another process meanwhile). */
	if (!sbr_still_valid(sup, call->req))
		return -ENOENT;
	return sbr_udp_send(u, call, u->buf, total, &dst, mh.msg_controllen ? u->ctl : NULL,
			    mh.msg_controllen);
}

/* sendmmsg(2): each message as sendmsg, its msg_len written back; the
 * count sent, or the first error when none was. */
static int64_t sbr_udp_mmsg(struct sbr_udp *u, struct sbr_sup *sup, const struct sbr_call *call)
{
	uint64_t vec = call->req->data.args[1];
	unsigned vlen = (unsigned)call->req->data.args[2], i;
	struct mmsghdr m;
	ssize_t n = 0;

	if (vlen > SBR_UDP_MAXIOV)
		vlen = SBR_UDP_MAXIOV;
	for (i = 0; i < vlen; i++) {
		uint64_t at = vec + (uint64_t)i * sizeof(m);
		unsigned int sent;
		int rc;

		n = sbr_udp_msg(u, sup, call, at);
		if (n < 0)
			break;
		sent = (unsigned int)n;
		/* The pid is the thread's while it is in this call: checked
		 * just before, it cannot be another process's by the write
		 * (that needs the thread killed and every pid used since). */
		rc = sbr_write_mem(sup, call, at + offsetof(struct mmsghdr, msg_len), &sent,
				   sizeof(sent));
		if (rc < 0) {
			n = rc;
			break;
		}
	}
	return i ? (int64_t)i : (int64_t)n;
}

/* connect(2) of a datagram socket: the broker's flow socket connects (the
 * policy decides now), then the program's socket in the sandbox. */
static int sbr_udp_connect(struct sbr_udp *u, struct sbr_sup *sup, const struct sbr_call *call)
{
	struct sockaddr_storage dst, p, old;
	struct sockaddr un = { .sa_family = AF_UNSPEC };
	struct sbr_flow *f;
	socklen_t plen = sizeof(p), oldlen = sizeof(old);
	int len, rc, had;

	len = sbr_read_sockaddr(call, call->req->data.args[1], call->req->data.args[2], &dst);
	if (len < 0)
		return len;
	if (!sbr_still_valid(sup, call->req))
		return -ENOENT;
	if (dst.ss_family == AF_UNSPEC) {
		/* Dissolving the association is the sandbox's own business. */
		if (connect(call->sock, &un, sizeof(un)) < 0)
			return -errno;
		sbr_answer(sup, call->req, 0, 0, 0);
		return 0;
	}
	rc = sbr_check_inet(call->domain, &dst, len);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&u->lock);
	rc = sbr_relay_get(u, &dst);
	pthread_mutex_unlock(&u->lock);
	if (rc < 0)
		return rc;
	/* A refused connect leaves the socket as it was, as in the kernel:
	 * connected to its old peer, if it had one. */
	had = getpeername(call->sock, (struct sockaddr *)&old, &oldlen) == 0;
	if (connect(call->sock, (struct sockaddr *)&dst, sbr_addr_len(dst.ss_family)) < 0 ||
	    getsockname(call->sock, (struct sockaddr *)&p, &plen) < 0)
		return -errno;
	f = sbr_flow_get(u, &p, plen, call);
	if (!f || sb_connect(u->c, f->s, (struct sockaddr *)&dst, sbr_addr_len(dst.ss_family)) < 0) {
		rc = -errno;
		sbr_log("datagram connect refused: %s",
			sb_last_error() ? sb_last_error() : strerror(-rc));
		if ((had ? connect(call->sock, (struct sockaddr *)&old, oldlen)
			 : connect(call->sock, &un, sizeof(un))) < 0)
			sbr_log("undoing the sandbox's connect: %s", strerror(errno));
		return rc;
	}
	sbr_flow_start(f);
	sbr_answer(sup, call->req, 0, 0, 0);
	return 0;
}

pid_t sbr_tgid_of(pid_t tid)
{
	long v;

	return sbr_proc_status(tid, "Tgid:", 10, &v) == 0 && v > 0 ? (pid_t)v : tid;
}

/*
 * bind(2) of a datagram socket: a server (or a client choosing its port or
 * source address; the wildcard at port 0 stays in the sandbox).
 * The broker binds a UDP socket of the host at that address under its bind
 * policy (EACCES, EADDRINUSE as bind(2) says them), and the program's
 * socket is bound in the sandbox to the address the broker got (the port
 * it picked for port 0). That broker socket is the flow of the program's
 * address from then on: datagrams to it on the host come into the sandbox
 * from their true source (a relay bound to it), and the program's replies
 * leave from it.
 */
static int sbr_udp_bind(struct sbr_udp *u, struct sbr_sup *sup, const struct sbr_call *call)
{
	struct sockaddr_storage ss, got;
	socklen_t gl = sizeof(got);
	struct sbr_flow *f = NULL;
	int len, rc, s, i, one = 1;

	len = sbr_read_sockaddr(call, call->req->data.args[1], call->req->data.args[2], &ss);
	if (len < 0)
		return len;
	if (!sbr_still_valid(sup, call->req))
		return -ENOENT;
	rc = sbr_check_inet(call->domain, &ss, len);
	if (rc < 0)
		return rc;
	/* The wildcard at port 0 is what a first send binds implicitly (musl's
	 * resolver asks for it): no server, nothing to decide. Bound here with
	 * our copy of the address, in the sandbox only. */
	if (sbr_is_wildcard(&ss) && ((struct sockaddr_in *)&ss)->sin_port == 0) {
		if (bind(call->sock, (struct sockaddr *)&ss, (socklen_t)len) < 0)
			return -errno;
		sbr_answer(sup, call->req, 0, 0, 0);
		return 0;
	}
	memset(&got, 0, sizeof(got));
	if (getsockname(call->sock, (struct sockaddr *)&got, &gl) == 0 &&
	    ((struct sockaddr_in *)&got)->sin_port != 0)
		return -EINVAL; /* bound already, as the kernel says */
	/* Flows of sockets the program closed go first: their broker
	 * sockets may hold the port asked for (a bind, close, bind again). */
	for (i = 0; i < SBR_UDP_FLOWS; i++) {
		pthread_mutex_lock(&u->lock);
		f = u->flows[i].used && !sbr_flow_live(&u->flows[i]) ? &u->flows[i] : NULL;
		pthread_mutex_unlock(&u->lock);
		if (f) {
			atomic_store(&f->stop, 1);
			sbr_flow_retire(u, f);
		}
	}
	f = NULL;
	s = sbr_broker_socket(u->c, call, SOCK_DGRAM);
	if (s < 0)
		return s;
	gl = sizeof(got);
	if (sb_bind(u->c, s, (struct sockaddr *)&ss, (socklen_t)len) < 0 ||
	    sb_getsockname(u->c, s, (struct sockaddr *)&got, &gl) < 0) {
		rc = -errno;
		sbr_log("datagram bind refused: %s",
			sb_last_error() ? sb_last_error() : strerror(-rc));
		goto fail;
	}
	/* A host address is not on the sandbox's loopback: bind it anyway. */
	if (setsockopt(call->sock, call->domain == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP,
		       call->domain == AF_INET6 ? IPV6_FREEBIND : IP_FREEBIND, &one,
		       sizeof(one)) < 0 ||
	    bind(call->sock, (struct sockaddr *)&got, gl) < 0) {
		rc = -errno;
		goto fail;
	}
	/* A flow left by an earlier socket of that address goes first. */
	pthread_mutex_lock(&u->lock);
	for (i = 0; i < SBR_UDP_FLOWS && !f; i++)
		if (u->flows[i].used && sbr_same_addr(&u->flows[i].peer, &got))
			f = &u->flows[i];
	pthread_mutex_unlock(&u->lock);
	if (f) {
		atomic_store(&f->stop, 1);
		sbr_flow_retire(u, f);
	}
	f = sbr_flow_add(u, &got, gl, s); /* s is the flow's from here */
	if (!f) {
		rc = -errno;
		goto fail;
	}
	pthread_mutex_lock(&u->lock);
	f->bound = 1;
	sbr_flow_own(f, call);
	pthread_mutex_unlock(&u->lock);
	sbr_flow_start(f);
	sbr_log("datagram bind on fd %d", call->fdnum);
	sbr_answer(sup, call->req, 0, 0, 0);
	return 0;
fail:
	if (s >= 0 && sb_close(u->c, s) < 0)
		sbr_log("close: %s", strerror(errno));
	return rc;
}

int sbr_udp_call(struct sbr_udp *u, struct sbr_sup *sup, const struct sbr_call *call)
{
	const struct seccomp_data *d = &call->req->data;
	struct sockaddr_storage dst;
	int64_t n;
	int rc;

	/* A raw socket is never connected (send(2) would not be notified);
	 * its bind and listen are the sandbox's own, done on our copy
	 * (local.c). */
	if (call->type == SOCK_RAW && (d->nr == SYS_connect || d->nr == SYS_bind ||
				       d->nr == SYS_listen))
		return d->nr == SYS_connect ? -EOPNOTSUPP : sbr_local_call(sup, call);
	switch (d->nr) {
	case SYS_connect:
		return sbr_udp_connect(u, sup, call);
	case SYS_bind:
		return sbr_udp_bind(u, sup, call);
	case SYS_listen:
		return -EOPNOTSUPP;
	case SYS_sendto:
		if (d->args[2] > SBR_UDP_MAXDATA)
			return -EMSGSIZE;
		if ((uint32_t)d->args[5] == 0) {
			rc = sbr_peer_of(call, &dst);
		} else {
			rc = sbr_read_sockaddr(call, d->args[4], d->args[5], &dst);
			if (rc >= 0)
				rc = sbr_check_inet(call->domain, &dst, rc);
		}
		if (rc < 0)
			return rc;
		if (d->args[2] && (rc = sbr_read_mem(call->req->pid, d->args[1], u->buf,
						     (size_t)d->args[2])) < 0)
			return rc;
		if (!sbr_still_valid(sup, call->req))
			return -ENOENT;
		n = sbr_udp_send(u, call, u->buf, (size_t)d->args[2], &dst, NULL, 0);
		break;
	case SYS_sendmsg:
		n = sbr_udp_msg(u, sup, call, d->args[1]);
		break;
	case SYS_sendmmsg:
		n = sbr_udp_mmsg(u, sup, call);
		break;
	default:
		return -ENOSYS;
	}
	if (n < 0)
		return (int)n;
	sbr_answer(sup, call->req, n, 0, 0);
	return 0;
}

size_t sbr_udp_pollfds(struct sbr_udp *u, struct pollfd *pf, size_t max)
{
	uint64_t v;
	size_t n = 0;
	int i;

	if (!max)
		return 0;
	/* First the wake-up of relays made from now on. */
	if (read(u->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		sbr_log("relay wake-up: %s", strerror(errno));
	pf[n].fd = u->wake_fd;
	pf[n].events = POLLIN;
	pf[n].revents = 0;
	n++;
	pthread_mutex_lock(&u->lock);
	for (i = 0; i < SBR_UDP_RELAYS && n < max; i++) {
		if (u->relays[i].fd < 0)
			continue;
		pf[n].fd = u->relays[i].fd;
		pf[n].events = POLLIN;
		pf[n].revents = 0;
		n++;
	}
	pthread_mutex_unlock(&u->lock);
	return n;
}

void sbr_udp_relay_ready(struct sbr_udp *u, int fd)
{
	struct sockaddr_storage p, dst;
	struct sbr_flow *f;
	socklen_t plen;
	ssize_t n;
	int i, k, found;

	if (fd == u->wake_fd)
		return; /* polled again with the new relay */
	/* A bounded batch per wake-up, so that notifications are not starved. */
	for (k = 0; k < 64; k++) {
		/* Under the lock, and only when @fd is still a relay: a flow
		 * thread may have closed it since the poll, and the number may be
		 * another fd of ours by now. */
		found = 0;
		n = -1;
		pthread_mutex_lock(&u->lock);
		for (i = 0; i < SBR_UDP_RELAYS; i++) {
			if (u->relays[i].fd == fd) {
				dst = u->relays[i].addr;
				u->relays[i].last = sbr_now_ms();
				/* An unbound sender leaves the address unwritten. */
				memset(&p, 0, sizeof(p));
				plen = sizeof(p);
				n = recvfrom(fd, u->buf, SBR_UDP_MAXDATA, MSG_DONTWAIT,
					     (struct sockaddr *)&p, &plen);
				found = 1;
				break;
			}
		}
		pthread_mutex_unlock(&u->lock);
		if (!found || n < 0)
			return;
		f = sbr_flow_get(u, &p, plen, NULL);
		if (!f)
			continue;
		if (sb_sendto(u->c, f->s, u->buf, (size_t)n, 0, (struct sockaddr *)&dst,
			      sbr_addr_len(dst.ss_family)) < 0) {
			sbr_log("datagram refused: %s", sb_last_error() ? sb_last_error()
									: strerror(errno));
			continue;
		}
		sbr_flow_start(f);
	}
}

struct sbr_udp *sbr_udp_new(sb_client *c, int helper_fd, struct sbr_raw *raw)
{
	struct sbr_udp *u = calloc(1, sizeof(*u));
	int i;

	if (!u)
		return NULL;
	u->buf = malloc(SBR_UDP_MAXDATA);
	u->inject_buf = malloc(SBR_UDP_INJECT);
	u->inject[0] = u->inject[1] = -1;
	u->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!u->buf || !u->inject_buf || u->wake_fd < 0 || pthread_mutex_init(&u->lock, NULL)) {
		if (u->wake_fd >= 0)
			close(u->wake_fd);
		free(u->inject_buf);
		free(u->buf);
		free(u);
		return NULL;
	}
	u->c = c;
	u->helper_fd = helper_fd;
	u->raw = raw;
	for (i = 0; i < SBR_UDP_RELAYS; i++)
		u->relays[i].fd = -1;
	return u;
}

void sbr_udp_free(struct sbr_udp *u)
{
	int i;

	if (!u)
		return;
	for (i = 0; i < SBR_UDP_FLOWS; i++)
		if (u->flows[i].used)
			atomic_store(&u->flows[i].stop, 1);
	for (i = 0; i < SBR_UDP_FLOWS; i++)
		if (u->flows[i].used)
			sbr_flow_retire(u, &u->flows[i]);
	for (i = 0; i < SBR_UDP_RELAYS; i++)
		if (u->relays[i].fd >= 0)
			close(u->relays[i].fd);
	pthread_mutex_destroy(&u->lock);
	close(u->wake_fd);
	for (i = 0; i < 2; i++)
		if (u->inject[i] >= 0)
			close(u->inject[i]);
	free(u->inject_buf);
	free(u->buf);
	free(u);
}
