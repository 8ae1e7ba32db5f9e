/* SPDX-License-Identifier: MIT
 * udp.c - datagrams of the sandboxed program, under the broker's policy
 * for every datagram.
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
 *  - Replies: each flow has a thread reading the broker socket (RecvStream);
 *    a datagram from S is sent into the sandbox from a relay bound to S, so
 *    the program sees its true source address (resolvers check it).
 * Relay sockets are made in the sandbox's namespace by the socket factory
 * (sandbox.c); they are bound with IP(V6)_FREEBIND.
 *
 * Locking: one mutex over relays and flows; broker calls are made outside
 * it, except a flow's creation. Only the supervisor's thread creates or
 * retires flows; a flow thread only ends itself (done) and delivers.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
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
#define SBR_UDP_MAXDATA 65535
/* sendmmsg(2) and sendmsg(2) take at most UIO_MAXIOV entries. */
#define SBR_UDP_MAXIOV 1024

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
	pthread_t thread;
	atomic_int stop;
	atomic_int done;
	int64_t last;
};

struct sbr_udp {
	sb_client *c;
	int helper_fd;
	pthread_mutex_t lock;
	unsigned char *buf; /* the supervisor's thread's data buffer */
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

/**
 * sbr_relay_get() - the relay bound to @addr in the sandbox, made when
 * missing (the least recently used one goes when all are taken). Lock held.
 * Return: its fd, or -errno.
 */
static int sbr_relay_get(struct sbr_udp *u, const struct sockaddr_storage *addr)
{
	struct sbr_relay *r = NULL;
	int i, fd, one = 1;

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
	return fd;
}

static void *sbr_flow_main(void *arg)
{
	struct sbr_flow *f = arg;
	struct sbr_udp *u = f->u;
	struct sb_udp_source src;
	unsigned char *buf = malloc(SBR_UDP_MAXDATA);
	sb_receiver *r = NULL;
	int trunc, fd, idle;
	ssize_t n;

	if (!buf)
		goto out;
	r = sb_receiver_open(u->c, f->s);
	if (!r)
		goto out;
	while (!atomic_load(&f->stop)) {
		n = sb_receiver_next(r, buf, SBR_UDP_MAXDATA, &trunc, &src, SBR_UDP_TICK_MS);
		if (n < 0) {
			if (errno != EAGAIN)
				break;
			pthread_mutex_lock(&u->lock);
			idle = sbr_now_ms() - f->last > SBR_UDP_IDLE_MS;
			pthread_mutex_unlock(&u->lock);
			if (idle)
				break;
			continue;
		}
		if (src.peer.ss_family != AF_INET && src.peer.ss_family != AF_INET6)
			continue;
		pthread_mutex_lock(&u->lock);
		f->last = sbr_now_ms();
		fd = sbr_relay_get(u, &src.peer);
		/* A full socket buffer drops the datagram, as the network may. */
		if (fd >= 0 && sendto(fd, buf, (size_t)n, MSG_DONTWAIT,
				      (struct sockaddr *)&f->peer, f->peerlen) < 0)
			sbr_log("datagram into the sandbox dropped: %s", strerror(errno));
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
 * sbr_flow_get() - the flow of program address @peer, made when missing.
 * Supervisor's thread only. Return: the flow, or NULL with errno (ENOBUFS:
 * all in use; the least recently used is told to stop, for the next try).
 */
static struct sbr_flow *sbr_flow_get(struct sbr_udp *u, const struct sockaddr_storage *peer,
				     socklen_t peerlen)
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
			pthread_mutex_unlock(&u->lock);
			return x;
		}
		if (!x->used && !f)
			f = x;
		if (x->used && (!lru || x->last < lru->last))
			lru = x;
	}
	pthread_mutex_unlock(&u->lock);
	if (!f) {
		atomic_store(&lru->stop, 1);
		errno = ENOBUFS;
		return NULL;
	}
	s = sb_socket(u->c, peer->ss_family, SOCK_DGRAM, 0);
	if (s < 0)
		return NULL;
	pthread_mutex_lock(&u->lock);
	memset(f, 0, sizeof(*f));
	f->u = u;
	f->used = 1;
	f->peer = *peer;
	f->peerlen = peerlen;
	f->s = s;
	f->last = sbr_now_ms();
	pthread_mutex_unlock(&u->lock);
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
			    size_t len, const struct sockaddr_storage *dst)
{
	struct sockaddr_storage p;
	struct sbr_flow *f;
	socklen_t plen;
	ssize_t n;
	int rc;

	rc = sbr_local_addr(call, &p, &plen);
	if (rc < 0)
		return rc;
	f = sbr_flow_get(u, &p, plen);
	if (!f)
		return -errno;
	/* The relay first, so that no reply can come before it exists. */
	pthread_mutex_lock(&u->lock);
	rc = sbr_relay_get(u, dst);
	pthread_mutex_unlock(&u->lock);
	if (rc < 0)
		return rc;
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
static ssize_t sbr_udp_msg(struct sbr_udp *u, const struct sbr_call *call, uint64_t addr)
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
	return sbr_udp_send(u, call, u->buf, total, &dst);
}

/* sendmmsg(2): each message as sendmsg, its msg_len written back; the
 * count sent, or the first error when none was. */
static int64_t sbr_udp_mmsg(struct sbr_udp *u, const struct sbr_call *call)
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
		struct iovec l, r;

		n = sbr_udp_msg(u, call, at);
		if (n < 0)
			break;
		sent = (unsigned int)n;
		l.iov_base = &sent;
		l.iov_len = sizeof(sent);
		r.iov_base = (void *)(uintptr_t)(at + offsetof(struct mmsghdr, msg_len));
		r.iov_len = sizeof(sent);
		if (process_vm_writev(call->req->pid, &l, 1, &r, 1, 0) != (ssize_t)sizeof(sent)) {
			n = -EFAULT;
			break;
		}
	}
	return i ? (int64_t)i : (int64_t)n;
}

/* connect(2) of a datagram socket: the broker's flow socket connects (the
 * policy decides now), then the program's socket in the sandbox. */
static int sbr_udp_connect(struct sbr_udp *u, struct sbr_sup *sup, const struct sbr_call *call)
{
	struct sockaddr_storage dst, p;
	struct sockaddr un = { .sa_family = AF_UNSPEC };
	struct sbr_flow *f;
	socklen_t plen = sizeof(p);
	int len, rc;

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
	if (connect(call->sock, (struct sockaddr *)&dst, sbr_addr_len(dst.ss_family)) < 0 ||
	    getsockname(call->sock, (struct sockaddr *)&p, &plen) < 0)
		return -errno;
	f = sbr_flow_get(u, &p, plen);
	if (!f || sb_connect(u->c, f->s, (struct sockaddr *)&dst, sbr_addr_len(dst.ss_family)) < 0) {
		rc = -errno;
		sbr_log("datagram connect refused: %s",
			sb_last_error() ? sb_last_error() : strerror(-rc));
		if (connect(call->sock, &un, sizeof(un)) < 0)
			sbr_log("undoing the sandbox's connect: %s", strerror(errno));
		return rc;
	}
	sbr_flow_start(f);
	sbr_answer(sup, call->req, 0, 0, 0);
	return 0;
}

int sbr_udp_call(struct sbr_udp *u, struct sbr_sup *sup, const struct sbr_call *call)
{
	const struct seccomp_data *d = &call->req->data;
	struct sockaddr_storage dst;
	int64_t n;
	int rc;

	switch (d->nr) {
	case SYS_connect:
		return sbr_udp_connect(u, sup, call);
	case SYS_bind:
		return 1; /* an address of the sandbox: reaches nothing outside */
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
		n = sbr_udp_send(u, call, u->buf, (size_t)d->args[2], &dst);
		break;
	case SYS_sendmsg:
		n = sbr_udp_msg(u, call, d->args[1]);
		break;
	case SYS_sendmmsg:
		n = sbr_udp_mmsg(u, call);
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
	size_t n = 0;
	int i;

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
		f = sbr_flow_get(u, &p, plen);
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

struct sbr_udp *sbr_udp_new(sb_client *c, int helper_fd)
{
	struct sbr_udp *u = calloc(1, sizeof(*u));
	int i;

	if (!u)
		return NULL;
	u->buf = malloc(SBR_UDP_MAXDATA);
	if (!u->buf || pthread_mutex_init(&u->lock, NULL)) {
		free(u->buf);
		free(u);
		return NULL;
	}
	u->c = c;
	u->helper_fd = helper_fd;
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
	free(u->buf);
	free(u);
}
