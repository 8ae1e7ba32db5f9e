/* SPDX-License-Identifier: MIT
 * ops_dial.c - Dial: a connected stream socket in one round trip. The
 * name is resolved on the resolver pool (skipped for numeric host and
 * port), then the addresses are tried in RFC 8305 order. An attempt that
 * connects at once (loopback) is answered from the handler; otherwise one
 * reactor waiter watches a private epoll set: the resolver's eventfd, a
 * timerfd for the attempt delay and timeouts, and every attempt in flight.
 * The first attempt to connect becomes a handle of the session; nothing
 * else outlives the call.
 *
 * Bound: a Dial counts as one socket of its session and identity from its
 * start (the one it will become), and every attempt in flight beside
 * the first as one more (sb__session_reserve); at a limit a further
 * attempt waits for an earlier one to end, and a Dial that cannot count
 * its first fails EMFILE. So an identity's Dials hold no more sockets
 * than max_sockets_per_uid allows, and at most three descriptors per
 * socket counted (the first attempt, the epoll set and the timerfd; the
 * eventfd instead of the attempt while the name resolves).
 */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "ascaller.h"
#include "clock.h"
#include "ops.h"
#include "optval.h"
#include "pool.h"
#include "reactor.h"
#include "sock.h"

#define SB__DIAL_MAX_ADDRS 16  /* addresses tried, as the contract says */
#define SB__DIAL_MAX_OPTS 16
#define SB__DIAL_DELAY_MS 250  /* RFC 8305 Connection Attempt Delay */
#define SB__DIAL_NAME_MAX 1024
#define SB__DIAL_SERV_MAX 255

/* The resolution, shared by the pool job and the waiter: whichever lets
 * go last frees it, so a resolve timeout never waits for getaddrinfo. */
struct sb__dial_gai {
	atomic_int refs;
	atomic_int done;         /* results below are written */
	int evfd;                /* written once when done */
	int hint;                /* native AF_UNSPEC, AF_INET, AF_INET6 */
	char host[SB__DIAL_NAME_MAX + 1], service[SB__DIAL_SERV_MAX + 1];
	int eai, err;            /* getaddrinfo's failure, errno of EAI_SYSTEM */
	struct sb__addr addrs[SB__DIAL_MAX_ADDRS];
	size_t n;
};

struct sb__dial_try {
	struct sb__addr addr;
	int fd;                  /* -1: not started or over */
	int64_t deadline;
};

struct sb__dial {
	struct sb__waiter w;
	struct sb__session *session; /* ref held while sockets are counted */
	uint32_t held;           /* sockets counted on the session */
	struct sb__io io;        /* the private epoll set */
	int tfd;                 /* timerfd */
	struct sb__dial_gai *gai;    /* NULL once the addresses are known */
	int64_t resolve_deadline;
	uint32_t connect_timeout_ms;
	int nonblock;
	int handoff;                 /* hand the winner's fd over */
	int stream;                  /* a DialStream request: reply with a
				      * message, then read the next one */
	struct sb__addr local[2];    /* [0] IPv4, [1] IPv6 local end */
	int have_local[2];
	int bind_local;              /* local_host or local_service given */
	struct sb__optset opts[SB__DIAL_MAX_OPTS];
	size_t n_opts;
	struct sb__dial_try tries[SB__DIAL_MAX_ADDRS];
	size_t n, next;          /* candidates, the next to start */
	int64_t last_start;
	uint32_t attempts;
	int last_err;            /* errno of the last failed attempt */
	int refused;             /* addresses the policy refused */
	char refused_what[200], refused_rule[256];
};

static void sb__dial_stream_sent(struct sb__call *c, int ok);

/* Answer the dial: finish a Dial call, or send a DialStream message. */
static void sb__dial_reply(const struct sb__dial *st, struct sb__call *c,
			   const ProtobufCMessage *msg)
{
	if (!st->stream)
		sb__call_reply(c, msg);
	else if (sb__call_send(c, msg, sb__dial_stream_sent) < 0)
		sb__call_fail(c, GRPC_STATUS_CANCELLED, ECANCELED,
			      "the caller cancelled the call");
}

static void sb__gai_unref(struct sb__dial_gai *g)
{
	if (atomic_fetch_sub(&g->refs, 1) != 1)
		return;
	if (g->evfd >= 0)
		close(g->evfd);
	free(g);
}

static int sb__af_index(int family)
{
	return family == AF_INET6 ? 1 : 0;
}

static int sb__addr_family(const struct sb__addr *a)
{
	switch (a->kind) {
	case SB__ADDR_INET:
		return AF_INET;
	case SB__ADDR_INET6:
		return AF_INET6;
	default:
		return AF_UNIX;
	}
}

static SBPB(EaiError) sb__dial_eai(int native)
{
	uint32_t p;

	if (sb__const_to_portable(SB__C_EAI, native, &p) < 0)
		p = (uint32_t)SOCKBROKER__V1__EAI_ERROR__EAI_FAIL;
	return (SBPB(EaiError))p;
}

/* RFC 8305 section 4: families interleaved, the resolver's first family
 * first; at most SB__DIAL_MAX_ADDRS. @res is in getaddrinfo's order. */
static size_t sb__dial_order(const struct addrinfo *res, struct sb__addr *out)
{
	const struct addrinfo *ai, *cur[2] = { NULL, NULL };
	size_t n = 0;
	int first = -1, k;

	for (ai = res; ai; ai = ai->ai_next)
		if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6) {
			if (first < 0)
				first = sb__af_index(ai->ai_family);
			if (!cur[sb__af_index(ai->ai_family)])
				cur[sb__af_index(ai->ai_family)] = ai;
		}
	if (first < 0)
		return 0;
	for (k = first; n < SB__DIAL_MAX_ADDRS && (cur[0] || cur[1]); k ^= 1) {
		int fam = k ? AF_INET6 : AF_INET;

		if (!cur[k])
			continue;
		if (sb__addr_from_sockaddr(&out[n], cur[k]->ai_addr, cur[k]->ai_addrlen) == 0)
			n++;
		for (ai = cur[k]->ai_next; ai && ai->ai_family != fam; ai = ai->ai_next)
			;
		cur[k] = ai;
	}
	return n;
}

/* getaddrinfo for SOCK_STREAM with @flags added. Return: 0 or an EAI code. */
static int sb__dial_resolve(const char *host, const char *service, int hint,
			    int flags, struct sb__addr *out, size_t *n)
{
	struct addrinfo hints, *res = NULL;
	int ret;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = hint;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = flags;
	ret = getaddrinfo(host, service, &hints, &res);
	if (ret)
		return ret;
	*n = sb__dial_order(res, out);
	freeaddrinfo(res);
	return *n ? 0 : EAI_NONAME;
}

/* The pool job: resolve, publish, wake the waiter. */
static void sb__dial_gai_job(void *arg)
{
	struct sb__dial_gai *g = arg;
	uint64_t one = 1;

	g->eai = sb__dial_resolve(g->host, g->service, g->hint, 0, g->addrs, &g->n);
	if (g->eai == EAI_SYSTEM)
		g->err = errno;
	atomic_store_explicit(&g->done, 1, memory_order_release);
	if (write(g->evfd, &one, sizeof(one)) < 0)
		g->err = g->err ? g->err : errno;
	sb__gai_unref(g);
}

/* Give back every socket counted for the dial. */
static void sb__dial_unhold(struct sb__dial *st)
{
	sb__session_unreserve(st->session, st->held);
	st->held = 0;
}

static void sb__dial_free(struct sb__waiter *w)
{
	struct sb__dial *st = (struct sb__dial *)w;
	size_t i;

	if (st->session) {
		sb__dial_unhold(st);
		sb__session_unref(st->session);
	}

	for (i = 0; i < st->n; i++)
		if (st->tries[i].fd >= 0)
			close(st->tries[i].fd);
	if (st->gai)
		sb__gai_unref(st->gai);
	if (st->tfd >= 0)
		close(st->tfd);
	if (st->io.fd >= 0)
		close(st->io.fd);
	free(st);
}

static int sb__epoll_add(int epfd, int fd, uint32_t events)
{
	struct epoll_event e = { .events = events };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) < 0 ? -errno : 0;
}

/* The private epoll set and its timerfd, made when the dial first has to
 * wait: a connection that completes at once (loopback, a local Unix
 * socket) is answered without them and without a trip to the reactor.
 * Return: 0 or -errno. */
static int sb__dial_waitset(struct sb__dial *st)
{
	int ret;

	if (st->io.fd >= 0)
		return 0;
	st->io.fd = epoll_create1(EPOLL_CLOEXEC);
	st->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (st->io.fd < 0 || st->tfd < 0)
		ret = -errno;
	else
		ret = sb__epoll_add(st->io.fd, st->tfd, EPOLLIN);
	if (ret < 0) {
		if (st->tfd >= 0)
			close(st->tfd);
		if (st->io.fd >= 0)
			close(st->io.fd);
		st->tfd = st->io.fd = -1;
	}
	return ret;
}

/* Arm the timer for @at (CLOCK_MONOTONIC ms), or disarm it (INT64_MAX). */
static void sb__dial_timer(struct sb__dial *st, int64_t at)
{
	struct itimerspec its;

	memset(&its, 0, sizeof(its));
	if (at != INT64_MAX) {
		int64_t d = at - sb__now_ms();

		if (d < 1)
			d = 1;
		its.it_value.tv_sec = d / 1000;
		its.it_value.tv_nsec = (d % 1000) * 1000000;
	}
	timerfd_settime(st->tfd, 0, &its, NULL);
}

/* Would the policy allow every step of a connection to @a? Refusals are
 * logged and counted by the guard; the last one is kept for the status. */
static int sb__dial_allowed(struct sb__dial *st, const struct sb__identity *id,
			    const struct sb__addr *a)
{
	int fam = sb__addr_family(a);
	struct sb__pol_req r = { .op = SB__POL_SOCKET, .family = fam,
				 .type = SOCK_STREAM };
	struct sb__verdict v;
	size_t i;

	if (!sb__guard_decide(id, &r, &v))
		goto refused;
	if (st->bind_local) {
		r.op = SB__POL_BIND;
		r.addr = &st->local[sb__af_index(fam)];
		if (!st->have_local[sb__af_index(fam)])
			return 0; /* no local address of this family: skipped */
		if (!sb__guard_decide(id, &r, &v))
			goto refused;
	}
	r.op = SB__POL_SETSOCKOPT;
	r.addr = NULL;
	for (i = 0; i < st->n_opts; i++) {
		/* The value decides for some options (policy.h rule 6); the
		 * socket does not exist yet, so a "raising" option is judged
		 * without a current value, as the strictest case. */
		r.opt_level = st->opts[i].level;
		r.opt_name = st->opts[i].name;
		r.opt_val = &st->opts[i].buf;
		r.opt_len = st->opts[i].len;
		r.opt_cur = INT_MIN;
		if (!sb__guard_decide(id, &r, &v))
			goto refused;
	}
	r = (struct sb__pol_req){ .op = SB__POL_HANDOFF, .family = fam,
				  .type = SOCK_STREAM };
	if (st->handoff && !sb__guard_decide(id, &r, &v))
		goto refused;
	r = (struct sb__pol_req){ .op = SB__POL_CONNECT, .family = fam,
				  .type = SOCK_STREAM, .addr = a };
	if (!sb__guard_decide(id, &r, &v))
		goto refused;
	return 1;
refused:
	st->refused++;
	snprintf(st->refused_what, sizeof(st->refused_what), "%s", v.what);
	snprintf(st->refused_rule, sizeof(st->refused_rule), "%s", v.rule);
	return 0;
}

/* Keep the addresses of @addrs the policy allows as the candidates. */
static void sb__dial_candidates(struct sb__dial *st, struct sb__call *c,
				const struct sb__addr *addrs, size_t n)
{
	size_t i;

	st->n = 0;
	for (i = 0; i < n; i++) {
		if (!sb__dial_allowed(st, &c->ident, &addrs[i]))
			continue;
		st->tries[st->n].addr = addrs[i];
		st->tries[st->n].fd = -1;
		st->n++;
	}
}

/* Start one attempt. Return: 1 connected at once, 0 in flight, or -errno
 * (the attempt is over). */
static int sb__dial_has_opt(const struct sb__dial *st, int level, int name)
{
	size_t i;

	for (i = 0; i < st->n_opts; i++)
		if (st->opts[i].level == level && st->opts[i].name == name)
			return 1;
	return 0;
}

static int sb__dial_start(struct sb__dial *st, struct sb__call *c, struct sb__dial_try *t)
{
	int fam = sb__addr_family(&t->addr), fd, ret;
	size_t i;

	st->attempts++;
	st->last_start = sb__now_ms();
	fd = sb__sock_open(fam, SOCK_STREAM, 0);
	if (fd < 0)
		return fd;
	for (i = 0; i < st->n_opts; i++)
		if (setsockopt(fd, st->opts[i].level, st->opts[i].name,
			       &st->opts[i].buf, st->opts[i].len) < 0) {
			ret = -errno;
			goto fail;
		}
	if (st->bind_local) {
		static const uint8_t any6[16];
		const struct sb__addr *la = &st->local[sb__af_index(fam)];
		int one = 1;

		/* A wildcard IPv6 bind takes the IPv4 port too: the IPv4
		 * attempt racing it (RFC 8305) would find it in use. The
		 * caller's own IPV6_V6ONLY, set above, stands. */
		if (fam == AF_INET6 && !memcmp(la->ip, any6, sizeof(any6)) &&
		    !sb__dial_has_opt(st, IPPROTO_IPV6, IPV6_V6ONLY) &&
		    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) {
			ret = -errno;
			goto fail;
		}
		ret = sb__sock_bind(fd, la);
		if (ret < 0)
			goto fail;
	}
	ret = sb__ascaller_connect(&c->ident, fd, &t->addr);
	if (ret == -EINPROGRESS) {
		/* On loopback the handshake is usually over by now: look once
		 * before waiting; connect(2) again gives the outcome. */
		struct pollfd p = { .fd = fd, .events = POLLOUT };

		if (poll(&p, 1, 0) == 1) {
			ret = sb__ascaller_connect(&c->ident, fd, &t->addr);
			if (ret == -EISCONN)
				ret = 0;
			else if (ret == -EALREADY)
				ret = -EINPROGRESS;
		}
	}
	if (ret == 0) {
		t->fd = fd;
		return 1;
	}
	if (ret != -EINPROGRESS && ret != -EAGAIN)
		goto fail;
	ret = sb__dial_waitset(st);
	if (ret == 0)
		ret = sb__epoll_add(st->io.fd, fd, EPOLLOUT);
	if (ret < 0)
		goto fail;
	t->fd = fd;
	t->deadline = st->connect_timeout_ms
		? st->last_start + st->connect_timeout_ms : INT64_MAX;
	return 0;
fail:
	close(fd);
	return ret;
}

static void sb__dial_drop(struct sb__dial *st, struct sb__dial_try *t, int err)
{
	epoll_ctl(st->io.fd, EPOLL_CTL_DEL, t->fd, NULL);
	close(t->fd);
	t->fd = -1;
	st->last_err = err;
}

/* Reply with the failure of the whole dial (no attempt connected). */
static void sb__dial_fail(struct sb__dial *st, struct sb__call *c)
{
	SBPB(DialReply) rep = SOCKBROKER__V1__DIAL_REPLY__INIT;

	if (!st->attempts && st->refused) {
		sb__call_fail(c, GRPC_STATUS_PERMISSION_DENIED, EACCES,
			      "dial: every address refused by policy (last: %s, rule \"%s\")",
			      st->refused_what, st->refused_rule);
		return;
	}
	if (sb__op_out_of_fds(c, st->last_err))
		return;
	rep.error = SB_ERRNO(st->last_err ? st->last_err : EADDRNOTAVAIL);
	rep.attempts = st->attempts;
	sb__dial_reply(st, c, &rep.base);
}

/* Attempt @t connected: make it a handle of the session and reply. */
static void sb__dial_win(struct sb__dial *st, struct sb__call *c,
			 struct sb__dial_try *t)
{
	SBPB(DialReply) rep = SOCKBROKER__V1__DIAL_REPLY__INIT;
	struct sb__pb_addr pst, lst;
	struct sb__addr peer, local;
	struct sb__sock *k;
	int fd = t->fd, ret;

	if (st->io.fd >= 0)
		epoll_ctl(st->io.fd, EPOLL_CTL_DEL, fd, NULL);
	t->fd = -1;
	sb__dial_unhold(st);
	if (st->handoff) {
		rep.attempts = st->attempts;
		if (sb__sock_peer(fd, &peer) == 0)
			rep.peer = sb__addr_to_pb(&peer, &pst);
		if (sb__sock_name(fd, &local) == 0)
			rep.local = sb__addr_to_pb(&local, &lst);
		ret = sb__op_handoff_send(c, fd, st->nonblock, &rep.fd_tag);
		close(fd);
		if (ret == 0)
			sb__dial_reply(st, c, &rep.base);
		return;
	}
	ret = sb__sock_add(c->session, fd, sb__addr_family(&t->addr), SOCK_STREAM,
			   st->nonblock, &k);
	if (ret < 0) {
		close(fd);
		if (ret == -EMFILE)
			sb__op_limit_sockets(c);
		else if (ret == -ESHUTDOWN)
			sb__call_fail(c, GRPC_STATUS_UNAUTHENTICATED, EACCES, "session ended");
		else
			sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM, "out of memory");
		return;
	}
	rep.handle = k->handle;
	rep.attempts = st->attempts;
	if (sb__sock_peer(fd, &peer) == 0)
		rep.peer = sb__addr_to_pb(&peer, &pst);
	if (sb__sock_name(fd, &local) == 0)
		rep.local = sb__addr_to_pb(&local, &lst);
	sb__sock_unref(k);
	sb__dial_reply(st, c, &rep.base);
}

/* Move the attempts on: outcomes, timeouts, new attempts.
 * Return: 1 when the call is finished, 0 when it waits. */
static int sb__dial_progress(struct sb__dial *st, struct sb__call *c)
{
	int64_t now = sb__now_ms(), wake = INT64_MAX;
	int active = 0, blocked = 0, ret;
	size_t i;

	for (i = 0; i < st->next; i++) {
		struct sb__dial_try *t = &st->tries[i];
		struct pollfd p = { .fd = t->fd, .events = POLLOUT };

		if (t->fd < 0)
			continue;
		if (poll(&p, 1, 0) == 1) {
			/* connect(2) again reports the outcome (see Connect). */
			ret = sb__ascaller_connect(&c->ident, t->fd, &t->addr);
			if (ret == 0 || ret == -EISCONN) {
				sb__dial_win(st, c, t);
				return 1;
			}
			if (ret != -EALREADY && ret != -EINPROGRESS) {
				sb__dial_drop(st, t, -ret);
				continue;
			}
		}
		if (t->deadline <= now) {
			sb__dial_drop(st, t, ETIMEDOUT);
			continue;
		}
		active++;
		if (t->deadline < wake)
			wake = t->deadline;
	}
	/* A new attempt when none is in flight or the last one had its
	 * 250 ms; a failure at once moves straight on to the next. Attempts
	 * beside the first count as sockets: at a limit, the next waits. */
	while (st->held > 1 && st->held > (uint32_t)active) {
		sb__session_unreserve(st->session, 1);
		st->held--;
	}
	while (st->next < st->n &&
	       (!active || now >= st->last_start + SB__DIAL_DELAY_MS)) {
		struct sb__dial_try *t;

		if ((uint32_t)active >= st->held) {
			if (sb__session_reserve(st->session) < 0) {
				blocked = 1;
				break;
			}
			st->held++;
		}
		t = &st->tries[st->next++];

		ret = sb__dial_start(st, c, t);
		if (ret == 1) {
			sb__dial_win(st, c, t);
			return 1;
		}
		if (ret < 0) {
			st->last_err = -ret;
			continue;
		}
		active++;
		if (t->deadline < wake)
			wake = t->deadline;
		now = sb__now_ms();
	}
	if (!active) {
		sb__dial_fail(st, c);
		return 1;
	}
	if (st->next < st->n && !blocked && st->last_start + SB__DIAL_DELAY_MS < wake)
		wake = st->last_start + SB__DIAL_DELAY_MS;
	sb__dial_timer(st, wake);
	return 0;
}

/* The resolution is over or timed out. Return: 1 finished, 0 waits. */
static int sb__dial_resolved(struct sb__dial *st, struct sb__call *c)
{
	SBPB(DialReply) rep = SOCKBROKER__V1__DIAL_REPLY__INIT;
	struct sb__dial_gai *g = st->gai;

	if (!atomic_load_explicit(&g->done, memory_order_acquire)) {
		if (sb__now_ms() < st->resolve_deadline)
			return 0;
		rep.eai = SOCKBROKER__V1__EAI_ERROR__EAI_AGAIN;
		rep.error = SB_ERRNO(ETIMEDOUT);
		sb__dial_reply(st, c, &rep.base);
		return 1;
	}
	if (g->eai) {
		rep.eai = sb__dial_eai(g->eai);
		if (g->eai == EAI_SYSTEM)
			rep.error = SB_ERRNO(g->err);
		sb__dial_reply(st, c, &rep.base);
		return 1;
	}
	epoll_ctl(st->io.fd, EPOLL_CTL_DEL, g->evfd, NULL);
	sb__dial_candidates(st, c, g->addrs, g->n);
	st->gai = NULL;
	sb__gai_unref(g);
	return sb__dial_progress(st, c);
}

static int sb__dial_step(struct sb__waiter *w, enum sb__wake why)
{
	struct sb__dial *st = (struct sb__dial *)w;
	SBPB(DialReply) rep = SOCKBROKER__V1__DIAL_REPLY__INIT;
	uint64_t v;

	switch (why) {
	case SB__WAKE_READY:
		if (read(st->tfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
			st->last_err = errno;
		if (st->gai) {
			if (read(st->gai->evfd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				st->last_err = errno;
			return sb__dial_resolved(st, w->call);
		}
		return sb__dial_progress(st, w->call);
	case SB__WAKE_TIMEOUT:
		/* The call's deadline: the client has stopped waiting. */
		if (st->gai)
			rep.eai = SOCKBROKER__V1__EAI_ERROR__EAI_AGAIN;
		rep.error = SB_ERRNO(ETIMEDOUT);
		rep.attempts = st->attempts;
		sb__dial_reply(st, w->call, &rep.base);
		return 1;
	case SB__WAKE_CANCELLED:
		sb__call_fail(w->call, GRPC_STATUS_CANCELLED, ECANCELED,
			      "the caller cancelled the call");
		return 1;
	default:
		sb__call_fail(w->call, GRPC_STATUS_INTERNAL, EBADF, "dial: unexpected wake");
		return 1;
	}
}

static int sb__bad(struct sb__call *c, const char *what)
{
	sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL, "dial: %s", what);
	return -EINVAL;
}

/* Options: typed values only, translated now. Return: 0 or -EINVAL. */
static int sb__dial_opts(struct sb__dial *st, struct sb__call *c,
			 const SBPB(DialRequest) *r)
{
	char why[128];
	size_t i;

	if (r->n_options > SB__DIAL_MAX_OPTS)
		return sb__bad(c, "more than 16 options");
	for (i = 0; i < r->n_options; i++)
		if (sb__optval_dial(r->options[i], &st->opts[i], why, sizeof(why)) < 0) {
			sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL, "%s", why);
			return -EINVAL;
		}
	st->n_opts = r->n_options;
	return 0;
}

/* The local end: numeric host and port, one address per family. */
static int sb__dial_local(struct sb__dial *st, struct sb__call *c,
			  const SBPB(DialRequest) *r)
{
	struct addrinfo hints, *res = NULL, *ai;
	int ret;

	if (!r->local_host[0] && !r->local_service[0])
		return 0;
	if (strlen(r->local_host) > SB__DIAL_NAME_MAX ||
	    strlen(r->local_service) > SB__DIAL_SERV_MAX)
		return sb__bad(c, "local_host above 1024 or local_service above 255 bytes");
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	ret = getaddrinfo(r->local_host[0] ? r->local_host : NULL,
			  r->local_service[0] ? r->local_service : "0", &hints, &res);
	if (ret)
		return sb__bad(c, "local_host and local_service must be a numeric address and port");
	for (ai = res; ai; ai = ai->ai_next) {
		int k = sb__af_index(ai->ai_family);

		if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
		    !st->have_local[k] &&
		    sb__addr_from_sockaddr(&st->local[k], ai->ai_addr, ai->ai_addrlen) == 0)
			st->have_local[k] = 1;
	}
	freeaddrinfo(res);
	st->bind_local = 1;
	return 0;
}

/* Check the request; fill @st's options and local end. Return: 0 or
 * -EINVAL after failing the call. */
static int sb__dial_args(struct sb__dial *st, struct sb__call *c,
			 const SBPB(DialRequest) *r, struct sb__addr *addr, int *hint)
{
	const char *why;

	if (sb__addr_from_pb(r->address, addr, &why) < 0) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL, "dial: address: %s", why);
		return -EINVAL;
	}
	if (addr->kind != SB__ADDR_NONE) {
		if (r->host[0] || r->service[0])
			return sb__bad(c, "address and host/service are exclusive");
		if (addr->kind != SB__ADDR_INET && addr->kind != SB__ADDR_INET6 &&
		    addr->kind != SB__ADDR_UNIX_PATH && addr->kind != SB__ADDR_UNIX_ABSTRACT)
			return sb__bad(c, "address must be IPv4, IPv6 or a named Unix address");
	} else if (!r->host[0] || !r->service[0]) {
		return sb__bad(c, "host and service (or address) are needed");
	}
	if (strlen(r->host) > SB__DIAL_NAME_MAX || strlen(r->service) > SB__DIAL_SERV_MAX)
		return sb__bad(c, "host above 1024 or service above 255 bytes");
	if (sb__op_native(c, SB__C_AF, (uint32_t)r->family, "family", hint) < 0)
		return -EINVAL;
	if (*hint != AF_UNSPEC && *hint != AF_INET && *hint != AF_INET6)
		return sb__bad(c, "family must be AF_UNSPEC, AF_INET or AF_INET6");
	if (sb__dial_opts(st, c, r) < 0)
		return -EINVAL;
	if ((r->local_host[0] || r->local_service[0]) &&
	    addr->kind != SB__ADDR_NONE && addr->kind != SB__ADDR_INET &&
	    addr->kind != SB__ADDR_INET6)
		return sb__bad(c, "a Unix address takes no local end");
	return sb__dial_local(st, c, r);
}

/* Hand the name to the pool. Return: 0, or -errno after failing the call. */
static int sb__dial_defer(struct sb__dial *st, struct sb__call *c,
			  const SBPB(DialRequest) *r, int hint)
{
	struct sb__dial_gai *g;
	int ret;

	if (sb__op_allowed(c, SB__POL_RESOLVE, NULL, NULL) < 0)
		return -EACCES;
	g = calloc(1, sizeof(*g));
	if (!g)
		goto nomem;
	atomic_init(&g->refs, 1);
	g->hint = hint;
	strcpy(g->host, r->host);
	strcpy(g->service, r->service);
	g->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	st->gai = g;
	if (g->evfd < 0) {
		ret = -errno;
		goto fail;
	}
	ret = sb__dial_waitset(st);
	if (ret == 0)
		ret = sb__epoll_add(st->io.fd, g->evfd, EPOLLIN);
	if (ret < 0)
		goto fail;
	atomic_fetch_add(&g->refs, 1);
	if (sb__pool_submit(sb__dial_gai_job, g) < 0) {
		atomic_fetch_sub(&g->refs, 1);
		goto nomem;
	}
	st->resolve_deadline = r->resolve_timeout_ms
		? sb__now_ms() + r->resolve_timeout_ms : INT64_MAX;
	if (st->resolve_deadline != INT64_MAX)
		sb__dial_timer(st, st->resolve_deadline);
	return 0;
nomem:
	ret = -ENOMEM;
fail:
	if (!sb__op_out_of_fds(c, -ret))
		sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM,
			      "dial: cannot start the resolution");
	return ret;
}

/* Start the dial of @r on @c; @r need not outlive the call. */
static void sb__dial_begin(struct sb__call *c, const SBPB(DialRequest) *r, int stream)
{
	struct sb__addr addr, addrs[SB__DIAL_MAX_ADDRS];
	struct sb__dial *st;
	size_t n = 0;
	int hint, ret;

	st = calloc(1, sizeof(*st));
	if (!st) {
		sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM, "out of memory");
		return;
	}
	st->io.fd = -1;
	st->tfd = -1;
	st->stream = stream;
	if (sb__dial_args(st, c, r, &addr, &hint) < 0)
		goto out;
	if (r->handoff && sb__op_handoff_ready(c) < 0)
		goto out;
	st->handoff = r->handoff;
	/* Also with hand-off: the attempts in flight are the broker's to
	 * bound until one is handed over. */
	ret = sb__session_reserve(c->session);
	if (ret == -ESHUTDOWN) {
		sb__call_fail(c, GRPC_STATUS_UNAUTHENTICATED, EACCES, "session ended");
		goto out;
	}
	if (ret < 0) {
		sb__op_limit_sockets(c);
		goto out;
	}
	sb__session_ref(c->session);
	st->session = c->session;
	st->held = 1;
	st->connect_timeout_ms = r->connect_timeout_ms;
	st->nonblock = r->nonblock;
	if (addr.kind != SB__ADDR_NONE) {
		addrs[0] = addr;
		n = 1;
	} else {
		/* Numeric host and port need no resolver (and no RESOLVE). */
		ret = sb__dial_resolve(r->host, r->service, hint,
				       AI_NUMERICHOST | AI_NUMERICSERV, addrs, &n);
		if (ret && sb__dial_defer(st, c, r, hint) < 0)
			goto out;
	}
	if (!st->gai) {
		sb__dial_candidates(st, c, addrs, n);
		if (sb__dial_progress(st, c))
			goto out;
	}
	st->w.step = sb__dial_step;
	st->w.destroy = sb__dial_free;
	st->w.call = c;
	sb__call_ref(c);
	st->w.io = &st->io;
	st->w.events = EPOLLIN;
	st->w.deadline = sb__call_deadline_ms(c);
	sb__reactor_park(&st->w);
	return;
out:
	sb__dial_free(&st->w);
}

void sb__h_dial(struct sb__call *c, void *req)
{
	sb__dial_begin(c, req, 0);
}

/* DialStream: one request at a time; the next is read once the reply to
 * the last has gone out. */
static void sb__dial_stream_recv(struct sb__call *c, int ok)
{
	SBPB(DialRequest) *r;
	int malformed;

	if (!ok) {
		sb__call_fail(c, GRPC_STATUS_CANCELLED, ECANCELED,
			      "the caller cancelled the call");
		return;
	}
	r = sb__call_unpack_in(c, &sockbroker__v1__dial_request__descriptor, &malformed);
	if (malformed) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL, "malformed DialRequest");
		return;
	}
	if (!r) {	/* the client's half close: the end */
		sb__call_finish_ok(c);
		return;
	}
	sb__dial_begin(c, r, 1);
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void sb__dial_stream_sent(struct sb__call *c, int ok)
{
	if (!ok || sb__call_recv(c, sb__dial_stream_recv) < 0)
		sb__call_fail(c, GRPC_STATUS_CANCELLED, ECANCELED,
			      "the caller cancelled the call");
}

void sb__h_dial_stream(struct sb__call *c, void *req)
{
	(void)req;
	if (sb__call_recv(c, sb__dial_stream_recv) < 0)
		sb__call_fail(c, GRPC_STATUS_CANCELLED, ECANCELED,
			      "the caller cancelled the call");
}
