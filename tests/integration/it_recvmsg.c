/* SPDX-License-Identifier: MIT
 * it_recvmsg.c - sb_recvmsg gives what recvmsg(2) gives on the same
 * machine: the same datagram over the same iovecs, source, msg_flags and
 * control messages (IP_PKTINFO, IP_TOS, IP_TTL, SO_TIMESTAMPNS,
 * IPV6_TCLASS, IP(V6)_ORIGDSTADDR: same order, levels, types, lengths and
 * bytes; timestamps within 2 s), msg_flags on Unix sockets, the
 * same MSG_CTRUNC cut with a short control buffer, MSG_TRUNC with short
 * iovecs, and the same IP_RECVERR error queue entry (MSG_ERRQUEUE) for
 * an ICMP port unreachable on loopback.
 * Descriptors sent to a broker Unix socket (a stream socket read with
 * sb_recvmsg, a datagram socket read through a raw RecvStream) are closed by
 * the broker: the data arrives, sb_recvmsg reports MSG_CTRUNC and no
 * control bytes, as the kernel does when it cannot install descriptors;
 * the passed pipe's last reader is gone (EPIPE) and the broker has no
 * more open fds than before.
 */
#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/un.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "it_client.h"

#define DATA "hello, ancillary world"

struct got {
	ssize_t n;
	char d1[4], d2[64];
	struct sockaddr_storage name;
	socklen_t namelen;
	union {
		struct cmsghdr align;
		uint8_t b[512];
	} ctl;
	size_t ctllen;
	int flags;
};

static ssize_t do_recv(sb_client *c, int s, int native, struct got *g, size_t ctlroom,
		       size_t d2len, int flags)
{
	struct iovec iov[2] = { { g->d1, sizeof(g->d1) }, { g->d2, d2len } };
	struct msghdr m = { .msg_name = &g->name, .msg_namelen = sizeof(g->name),
			    .msg_iov = iov, .msg_iovlen = 2,
			    .msg_control = g->ctl.b, .msg_controllen = ctlroom };

	memset(g, 0, sizeof(*g));
	memset(g->ctl.b, 0xee, sizeof(g->ctl.b));
	g->n = native ? recvmsg(s, &m, flags) : sb_recvmsg(c, s, &m, flags);
	g->namelen = m.msg_namelen;
	g->ctllen = m.msg_controllen;
	g->flags = m.msg_flags;
	return g->n;
}

/* Compare two receptions: everything, timestamps within 2 s. */
static void same(const char *what, struct got *n, struct got *b)
{
	struct msghdr mn = { .msg_control = n->ctl.b, .msg_controllen = n->ctllen };
	struct msghdr mb = { .msg_control = b->ctl.b, .msg_controllen = b->ctllen };
	struct cmsghdr *cn, *cb;
	int k = 0;

	CHECK(b->n == n->n, "%s: sb_recvmsg returned %zd, recvmsg %zd (%s)", what, b->n, n->n,
	      it_sberr());
	CHECK(!memcmp(b->d1, n->d1, sizeof(n->d1)) && !memcmp(b->d2, n->d2, sizeof(n->d2)),
	      "%s: the iovecs hold other bytes", what);
	CHECK(b->namelen == n->namelen && !memcmp(&b->name, &n->name, n->namelen),
	      "%s: msg_name %u bytes, native %u", what, (unsigned)b->namelen,
	      (unsigned)n->namelen);
	CHECK(b->flags == n->flags, "%s: msg_flags 0x%x, native 0x%x", what, b->flags,
	      n->flags);
	CHECK(b->ctllen == n->ctllen, "%s: msg_controllen %zu, native %zu", what, b->ctllen,
	      n->ctllen);
	if (b->ctllen != n->ctllen)
		return;
	for (cn = CMSG_FIRSTHDR(&mn), cb = CMSG_FIRSTHDR(&mb); cn && cb;
	     cn = CMSG_NXTHDR(&mn, cn), cb = CMSG_NXTHDR(&mb, cb), k++) {
		size_t dl = cn->cmsg_len - CMSG_LEN(0);

		CHECK(cb->cmsg_level == cn->cmsg_level && cb->cmsg_type == cn->cmsg_type &&
		      cb->cmsg_len == cn->cmsg_len, "%s: cmsg %d is (%d,%d,%zu), native "
		      "(%d,%d,%zu)", what, k, cb->cmsg_level, cb->cmsg_type,
		      (size_t)cb->cmsg_len, cn->cmsg_level, cn->cmsg_type, (size_t)cn->cmsg_len);
		if (cn->cmsg_level == SOL_SOCKET && cn->cmsg_type == SO_TIMESTAMPNS &&
		    dl >= sizeof(struct timespec) && cb->cmsg_len == cn->cmsg_len) {
			struct timespec tn, tb;

			memcpy(&tn, CMSG_DATA(cn), sizeof(tn));
			memcpy(&tb, CMSG_DATA(cb), sizeof(tb));
			CHECK(tb.tv_sec - tn.tv_sec <= 2 && tn.tv_sec - tb.tv_sec <= 2 &&
			      tb.tv_nsec >= 0 && tb.tv_nsec < 1000000000,
			      "%s: SO_TIMESTAMPNS %lld.%09ld, native %lld.%09ld", what,
			      (long long)tb.tv_sec, tb.tv_nsec, (long long)tn.tv_sec, tn.tv_nsec);
		} else if (cn->cmsg_level == SOL_SOCKET && cn->cmsg_type == SO_TIMESTAMPNS) {
			continue;	/* cut: its bytes are a clock's, not comparable */
		} else if (cb->cmsg_len == cn->cmsg_len) {
			CHECK(!memcmp(CMSG_DATA(cb), CMSG_DATA(cn), dl),
			      "%s: cmsg %d (%d,%d): other bytes", what, k, cn->cmsg_level,
			      cn->cmsg_type);
		}
	}
	CHECK(!cn && !cb, "%s: %s has more control messages", what, cn ? "recvmsg" : "sb_recvmsg");
	it_note("%s: %d control messages compared", what, k);
}

static int wait_native(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };

	return poll(&p, 1, 3000) == 1 ? 0 : -1;
}

static void set_opts(sb_client *c, int s, int native)
{
	static const int opts[][2] = { { IPPROTO_IP, IP_PKTINFO }, { IPPROTO_IP, IP_RECVTOS },
				       { IPPROTO_IP, IP_RECVTTL },
				       { SOL_SOCKET, SO_TIMESTAMPNS } };
	int one = 1;
	size_t i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		CHECK((native ? setsockopt(s, opts[i][0], opts[i][1], &one, sizeof(one))
			      : sb_setsockopt(c, s, opts[i][0], opts[i][1], &one,
					      sizeof(one))) == 0,
		      "%s setsockopt(%d, %d): %s %s", native ? "native" : "broker", opts[i][0],
		      opts[i][1], strerror(errno), it_sberr());
}

static void datagrams(sb_client *c)
{
	struct sockaddr_storage an, ab;
	socklen_t ln = it_addr4(&an, "127.0.0.1", 0), lb = it_addr4(&ab, "127.0.0.1", 0);
	struct got gn, gb;
	int rn, rb, tx, tos = 0x10, i;
	static const struct { const char *what; size_t ctl, d2; int flags; } cases[] = {
		{ "full", 512, 64, 0 },
		{ "short control buffer", CMSG_SPACE(sizeof(struct timespec)) + 20, 64, 0 },
		{ "no control buffer", 0, 64, 0 },
		{ "short iovecs", 512, 5, 0 },
		{ "short iovecs, MSG_TRUNC", 512, 5, MSG_TRUNC },
		{ "MSG_PEEK", 512, 64, MSG_PEEK },
	};

	rn = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	rb = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (!CHECK(rn >= 0 && rb >= 0 && tx >= 0, "sockets: %s", it_sberr()))
		return;
	CHECK(bind(rn, (struct sockaddr *)&an, ln) == 0 &&
	      getsockname(rn, (struct sockaddr *)&an, &ln) == 0, "native bind");
	CHECK(sb_bind(c, rb, (struct sockaddr *)&ab, lb) == 0 &&
	      sb_getsockname(c, rb, (struct sockaddr *)&ab, &lb) == 0, "sb_bind: %s",
	      it_sberr());
	CHECK(setsockopt(tx, IPPROTO_IP, IP_TOS, &tos, sizeof(tos)) == 0, "IP_TOS");
	set_opts(c, rn, 1);
	set_opts(c, rb, 0);
	for (i = 0; i < (int)(sizeof(cases) / sizeof(cases[0])); i++) {
		CHECK(sendto(tx, DATA, strlen(DATA), 0, (struct sockaddr *)&an, ln) > 0 &&
		      sendto(tx, DATA, strlen(DATA), 0, (struct sockaddr *)&ab, lb) > 0,
		      "native sendto: %s", strerror(errno));
		if (!CHECK(wait_native(rn, POLLIN) == 0 && it_sb_wait(c, rb, POLLIN, 3000) > 0,
			   "%s: no datagram", cases[i].what))
			break;
		do_recv(c, rn, 1, &gn, cases[i].ctl, cases[i].d2, cases[i].flags);
		do_recv(c, rb, 0, &gb, cases[i].ctl, cases[i].d2, cases[i].flags);
		/* The sources differ only in the receiver; the port is tx's. */
		same(cases[i].what, &gn, &gb);
		if (cases[i].flags & MSG_PEEK) {
			do_recv(c, rn, 1, &gn, 512, 64, 0);
			do_recv(c, rb, 0, &gb, 512, 64, 0);
		}
	}
	close(tx);
	close(rn);
	sb_close(c, rb);
}

/* An ICMP port unreachable in the error queue (IP_RECVERR). */
static void errqueue(sb_client *c)
{
	struct sockaddr_storage dead;
	socklen_t dl = it_addr4(&dead, "127.0.0.1", 0);
	struct got gn, gb;
	int tmp, sn, sb, one = 1;

	/* A port nobody listens on: bind, read it, close. */
	tmp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(tmp >= 0 && bind(tmp, (struct sockaddr *)&dead, dl) == 0 &&
	      getsockname(tmp, (struct sockaddr *)&dead, &dl) == 0, "free port");
	close(tmp);
	sn = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	sb = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	if (!CHECK(sn >= 0 && sb >= 0, "sockets"))
		return;
	CHECK(setsockopt(sn, IPPROTO_IP, IP_RECVERR, &one, sizeof(one)) == 0 &&
	      sb_setsockopt(c, sb, IPPROTO_IP, IP_RECVERR, &one, sizeof(one)) == 0,
	      "IP_RECVERR: %s", it_sberr());
	CHECK(sendto(sn, "x", 1, 0, (struct sockaddr *)&dead, dl) == 1 &&
	      sb_sendto(c, sb, "x", 1, 0, (struct sockaddr *)&dead, dl) == 1,
	      "sendto the dead port: %s", it_sberr());
	if (!CHECK(wait_native(sn, POLLERR) == 0 && it_sb_wait(c, sb, POLLERR, 3000) > 0,
		   "no error queued"))
		goto out;
	do_recv(c, sn, 1, &gn, 512, 64, MSG_ERRQUEUE);
	do_recv(c, sb, 0, &gb, 512, 64, MSG_ERRQUEUE);
	same("MSG_ERRQUEUE", &gn, &gb);
	CHECK(gb.ctllen > 0 && ((struct cmsghdr *)gb.ctl.b)->cmsg_type == IP_RECVERR,
	      "MSG_ERRQUEUE: no IP_RECVERR message");
	/* Empty now: EAGAIN at once, blocking socket or not. */
	CHECK(do_recv(c, sb, 0, &gb, 512, 64, MSG_ERRQUEUE) < 0 && errno == EAGAIN,
	      "an empty error queue: want EAGAIN at once (%s)", strerror(errno));
out:
	close(sn);
	sb_close(c, sb);
}

/* Send one byte with the read end @pfd of a pipe in SCM_RIGHTS on @fd, to
 * @to (a Unix address, or NULL when connected). Return: sendmsg's result. */
static ssize_t send_fd(int fd, int pfd, const struct sockaddr_un *to)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = "r", .iov_len = 1 };
	struct msghdr mh = { .msg_name = (void *)to, .msg_namelen = to ? sizeof(*to) : 0,
			     .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	struct cmsghdr *cm;

	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &pfd, sizeof(int));
	return sendmsg(fd, &mh, MSG_NOSIGNAL);
}

/* A Unix datagram socket of a raw session @rs, bound to @path, reading
 * through a raw RecvStream (without want_pktinfo, which Unix sockets
 * lack): the first event's first datagram, or -1. */
static ssize_t raw_dgram_stream(const struct it_broker *b, const struct it_session *rs,
				const char *path, int sender, int pfd)
{
	Sockbroker__V1__SocketRequest sreq = SOCKBROKER__V1__SOCKET_REQUEST__INIT;
	Sockbroker__V1__BindRequest breq = SOCKBROKER__V1__BIND_REQUEST__INIT;
	Sockbroker__V1__RecvStreamRequest rreq = SOCKBROKER__V1__RECV_STREAM_REQUEST__INIT;
	Sockbroker__V1__Address a = SOCKBROKER__V1__ADDRESS__INIT;
	Sockbroker__V1__UnixAddress ua = SOCKBROKER__V1__UNIX_ADDRESS__INIT;
	Sockbroker__V1__SocketReply *srep = NULL;
	Sockbroker__V1__RecvEvent *ev = NULL;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	grpc_channel *ch = it_channel(b);
	struct it_reply r;
	ssize_t ret = -1;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	sreq.family = SOCKBROKER__V1__ADDRESS_FAMILY__AF_UNIX;
	sreq.type = SOCKBROKER__V1__SOCKET_TYPE__SOCK_DGRAM;
	if (it_call(ch, IT_SVC "Socket", &sreq.base, rs->token, 5000, &r) == 0)
		srep = sockbroker__v1__socket_reply__unpack(NULL, r.len, r.data);
	it_reply_free(&r);
	if (!CHECK(srep && srep->handle, "raw Socket(AF_UNIX, SOCK_DGRAM)"))
		goto out;
	ua.name_case = SOCKBROKER__V1__UNIX_ADDRESS__NAME_PATH;
	ua.path = (char *)path;
	a.kind_case = SOCKBROKER__V1__ADDRESS__KIND_UNIX_ADDR;
	a.unix_addr = &ua;
	breq.handle = srep->handle;
	breq.address = &a;
	if (!CHECK(it_call(ch, IT_SVC "Bind", &breq.base, rs->token, 5000, &r) == 0 &&
		   r.status == GRPC_STATUS_OK, "raw Bind %s", path)) {
		it_reply_free(&r);
		goto out;
	}
	it_reply_free(&r);
	CHECK(send_fd(sender, pfd, &sun) == 1, "sendto SCM_RIGHTS: %s", strerror(errno));
	/* The stream's deadline ends it after its first event. */
	rreq.handle = srep->handle;
	if (it_call(ch, IT_SVC "RecvStream", &rreq.base, rs->token, 1000, &r) == 0 && r.data)
		ev = sockbroker__v1__recv_event__unpack(NULL, r.len, r.data);
	it_reply_free(&r);
	if (CHECK(ev && ev->n_datagrams >= 1, "raw RecvStream: no datagram"))
		ret = (ssize_t)ev->datagrams[0]->data.len;
out:
	if (ev)
		sockbroker__v1__recv_event__free_unpacked(ev, NULL);
	if (srep)
		sockbroker__v1__socket_reply__free_unpacked(srep, NULL);
	grpc_channel_destroy(ch);
	return ret;
}

/* Descriptors a broker Unix socket receives are closed, MSG_CTRUNC, when
 * the caller gives no room for one (the broker hands them over otherwise:
 * it_scm_rights) and always in RecvStream. */
static void rights_closed(sb_client *c, const struct it_broker *b)
{
	struct sockaddr_un sl = { .sun_family = AF_UNIX }, sd = { .sun_family = AF_UNIX };
	grpc_channel *ch = it_channel(b);
	struct it_session rs;
	union {
		char b[64];
		struct cmsghdr align;
	} ctl;
	char x = 0;
	struct iovec iov = { .iov_base = &x, .iov_len = 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
			     .msg_controllen = sizeof(struct cmsghdr) };
	int p[2] = { -1, -1 }, lfd = -1, nfd = -1, ndg = -1, s = -1, fds0;
	int64_t end;
	ssize_t n;

	snprintf(sl.sun_path, sizeof(sl.sun_path), "%s/rights.sock", b->dir);
	snprintf(sd.sun_path, sizeof(sd.sun_path), "%s/rights.dgram", b->dir);
	fds0 = it_count_fds(b->pid);
	if (!CHECK(pipe(p) == 0, "pipe: %s", strerror(errno)))
		return;
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&sl, sizeof(sl)) == 0 &&
		   listen(lfd, 1) == 0, "native Unix listener: %s", strerror(errno)))
		goto out;
	s = sb_socket(c, AF_UNIX, SOCK_STREAM, 0);
	if (!CHECK(s >= 0 && sb_connect(c, s, (struct sockaddr *)&sl, sizeof(sl)) == 0,
		   "sb_connect to %s: %s %s", sl.sun_path, strerror(errno), it_sberr()))
		goto out;
	nfd = it_native_accept(lfd, NULL, NULL, 3000);
	CHECK(nfd >= 0 && send_fd(nfd, p[0], NULL) == 1, "sendmsg SCM_RIGHTS: %s",
	      strerror(errno));
	n = sb_recvmsg(c, s, &mh, 0);
	CHECK(n == 1 && x == 'r', "stream: sb_recvmsg %zd %s (%s)", n, strerror(errno),
	      it_sberr());
	CHECK(mh.msg_flags & MSG_CTRUNC, "stream: no MSG_CTRUNC (flags 0x%x)",
	      (unsigned)mh.msg_flags);
	CHECK(mh.msg_controllen == 0, "stream: %zu control bytes", (size_t)mh.msg_controllen);

	/* A datagram socket read through RecvStream (recvmmsg). */
	ndg = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (CHECK(ndg >= 0 && it_session_open(ch, &rs, 3000) == 0, "raw session")) {
		CHECK(raw_dgram_stream(b, &rs, sd.sun_path, ndg, p[0]) == 1,
		      "RecvStream: the datagram did not arrive");
		it_session_close(&rs);
	}

	/* No copy of the read end is left anywhere: the writer sees EPIPE. */
	close(p[0]);
	p[0] = -1;
	errno = 0;
	CHECK(write(p[1], "w", 1) < 0 && errno == EPIPE,
	      "the passed pipe still has a reader (the broker kept it): %s", strerror(errno));
out:
	if (s >= 0)
		sb_close(c, s);
	if (ndg >= 0)
		close(ndg);
	if (nfd >= 0)
		close(nfd);
	if (lfd >= 0)
		close(lfd);
	if (p[0] >= 0)
		close(p[0]);
	close(p[1]);
	grpc_channel_destroy(ch);
	end = it_now_ms() + 3000;
	/* Fewer is fine: a connection of earlier checks may have ended since. */
	while (it_count_fds(b->pid) > fds0 && it_now_ms() < end)
		it_sleep_ms(20);
	CHECK(it_count_fds(b->pid) <= fds0, "broker fds %d, before %d", it_count_fds(b->pid),
	      fds0);
}

/* IPV6_RECVTCLASS, IP(V6)_RECVORIGDSTADDR and SO_RXQ_OVFL: the same
 * messages as the kernel's, in its order; an IP(V6)_ORIGDSTADDR is each
 * receiver's own address. */
static void more_cmsgs(sb_client *c, int family)
{
	static const int opts4[][2] = { { IPPROTO_IP, IP_RECVORIGDSTADDR },
					{ SOL_SOCKET, SO_RXQ_OVFL } };
	static const int opts6[][2] = { { IPPROTO_IPV6, IPV6_RECVTCLASS },
					{ IPPROTO_IPV6, IPV6_RECVORIGDSTADDR },
					{ SOL_SOCKET, SO_RXQ_OVFL } };
	const int(*opts)[2] = family == AF_INET ? opts4 : opts6;
	size_t nopts = family == AF_INET ? 2 : 3, i;
	const char *ip = family == AF_INET ? "127.0.0.1" : "::1";
	struct sockaddr_storage an, ab;
	socklen_t ln, lb;
	struct got gn, gb;
	int rn, rb, tx, one = 1, tclass = 0x28;

	ln = family == AF_INET ? it_addr4(&an, ip, 0) : it_addr6(&an, ip, 0);
	lb = ln;
	memcpy(&ab, &an, sizeof(an));
	rn = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	rb = sb_socket(c, family, SOCK_DGRAM, 0);
	tx = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (!CHECK(rn >= 0 && rb >= 0 && tx >= 0, "sockets: %s", it_sberr()))
		goto out;
	CHECK(bind(rn, (struct sockaddr *)&an, ln) == 0 &&
	      getsockname(rn, (struct sockaddr *)&an, &ln) == 0, "native bind");
	CHECK(sb_bind(c, rb, (struct sockaddr *)&ab, lb) == 0 &&
	      sb_getsockname(c, rb, (struct sockaddr *)&ab, &lb) == 0, "sb_bind: %s", it_sberr());
	if (family == AF_INET6)
		CHECK(setsockopt(tx, IPPROTO_IPV6, IPV6_TCLASS, &tclass, sizeof(tclass)) == 0,
		      "IPV6_TCLASS");
	for (i = 0; i < nopts; i++)
		CHECK(setsockopt(rn, opts[i][0], opts[i][1], &one, sizeof(one)) == 0 &&
		      sb_setsockopt(c, rb, opts[i][0], opts[i][1], &one, sizeof(one)) == 0,
		      "setsockopt(%d, %d): %s %s", opts[i][0], opts[i][1], strerror(errno),
		      it_sberr());
	if (!CHECK(sendto(tx, DATA, strlen(DATA), 0, (struct sockaddr *)&an, ln) > 0 &&
		   sendto(tx, DATA, strlen(DATA), 0, (struct sockaddr *)&ab, lb) > 0 &&
		   wait_native(rn, POLLIN) == 0 && it_sb_wait(c, rb, POLLIN, 3000) > 0,
		   "family %d: no datagram: %s", family, strerror(errno)))
		goto out;
	do_recv(c, rn, 1, &gn, 512, 64, 0);
	do_recv(c, rb, 0, &gb, 512, 64, 0);
	CHECK(gb.n == gn.n && gb.flags == gn.flags && gb.ctllen == gn.ctllen,
	      "family %d: sb_recvmsg %zd flags 0x%x control %zu, native %zd 0x%x %zu (%s)",
	      family, gb.n, gb.flags, gb.ctllen, gn.n, gn.flags, gn.ctllen, it_sberr());
	if (gb.ctllen == gn.ctllen) {
		struct msghdr mn = { .msg_control = gn.ctl.b, .msg_controllen = gn.ctllen };
		struct msghdr mb = { .msg_control = gb.ctl.b, .msg_controllen = gb.ctllen };
		struct cmsghdr *cn, *cb;
		int k = 0;

		for (cn = CMSG_FIRSTHDR(&mn), cb = CMSG_FIRSTHDR(&mb); cn && cb;
		     cn = CMSG_NXTHDR(&mn, cn), cb = CMSG_NXTHDR(&mb, cb), k++) {
			int orig = (cn->cmsg_level == IPPROTO_IP && cn->cmsg_type == IP_ORIGDSTADDR) ||
				   (cn->cmsg_level == IPPROTO_IPV6 &&
				    cn->cmsg_type == IPV6_ORIGDSTADDR);

			if (!CHECK(cb->cmsg_level == cn->cmsg_level &&
				   cb->cmsg_type == cn->cmsg_type && cb->cmsg_len == cn->cmsg_len,
				   "family %d: cmsg %d is (%d,%d,%zu), native (%d,%d,%zu)", family,
				   k, cb->cmsg_level, cb->cmsg_type, (size_t)cb->cmsg_len,
				   cn->cmsg_level, cn->cmsg_type, (size_t)cn->cmsg_len))
				break;
			if (orig) {
				CHECK(!memcmp(CMSG_DATA(cn), &an, ln) && !memcmp(CMSG_DATA(cb), &ab, lb),
				      "family %d: ORIGDSTADDR is not the receiver's address", family);
			} else {
				CHECK(!memcmp(CMSG_DATA(cb), CMSG_DATA(cn),
					      cn->cmsg_len - CMSG_LEN(0)),
				      "family %d: cmsg (%d,%d): other bytes", family,
				      cn->cmsg_level, cn->cmsg_type);
			}
		}
		CHECK(!cn && !cb, "family %d: %s has more control messages", family,
		      cn ? "recvmsg" : "sb_recvmsg");
		/* SO_RXQ_OVFL says something only after a drop: none here. */
		CHECK(k == (int)nopts - 1, "family %d: %d control messages, want %zu", family,
		      k, nopts - 1);
	}
out:
	if (tx >= 0)
		close(tx);
	if (rn >= 0)
		close(rn);
	if (rb >= 0)
		sb_close(c, rb);
}

/* A control message the contract has no type for (SO_TIMESTAMPING's
 * SCM_TIMESTAMPING): dropped, and MSG_CTRUNC says control data was lost,
 * where the kernel delivers it. */
static void untyped_cmsg(sb_client *c)
{
	struct sockaddr_storage ab;
	socklen_t lb = it_addr4(&ab, "127.0.0.1", 0);
	int v = SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE;
	int rb = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	int tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct got gb;

	if (!CHECK(rb >= 0 && tx >= 0 &&
		   sb_setsockopt(c, rb, SOL_SOCKET, SO_TIMESTAMPING, &v, sizeof(v)) == 0 &&
		   sb_bind(c, rb, (struct sockaddr *)&ab, lb) == 0 &&
		   sb_getsockname(c, rb, (struct sockaddr *)&ab, &lb) == 0,
		   "SO_TIMESTAMPING socket: %s %s", strerror(errno), it_sberr()))
		goto out;
	if (!CHECK(sendto(tx, DATA, strlen(DATA), 0, (struct sockaddr *)&ab, lb) > 0 &&
		   it_sb_wait(c, rb, POLLIN, 3000) > 0, "no datagram"))
		goto out;
	do_recv(c, rb, 0, &gb, 512, 64, 0);
	CHECK(gb.n == (ssize_t)strlen(DATA) && gb.flags == MSG_CTRUNC && gb.ctllen == 0,
	      "SCM_TIMESTAMPING: sb_recvmsg %zd, flags 0x%x, %zu control bytes; want "
	      "MSG_CTRUNC and none", gb.n, gb.flags, gb.ctllen);
out:
	if (tx >= 0)
		close(tx);
	if (rb >= 0)
		sb_close(c, rb);
}

/* msg_flags on Unix sockets: the broker receives them with
 * MSG_CMSG_CLOEXEC for the descriptors it takes, which the kernel echoes;
 * the caller sees it only when it asked, as from the kernel. */
static void unix_flags(sb_client *c)
{
	static const int flags[] = { 0, MSG_CMSG_CLOEXEC };
	static const int types[] = { SOCK_DGRAM, SOCK_STREAM };
	struct got gn, gb;
	size_t i, t;

	for (t = 0; t < 2; t++)
		for (i = 0; i < 2; i++) {
			int sv[2], nv[2];
			char what[96];

			if (!CHECK(sb_socketpair(c, AF_UNIX, types[t], 0, sv) == 0 &&
				   socketpair(AF_UNIX, types[t] | SOCK_CLOEXEC, 0, nv) == 0,
				   "socketpair: %s %s", strerror(errno), it_sberr()))
				return;
			snprintf(what, sizeof(what), "unix %s, flags 0x%x",
				 types[t] == SOCK_DGRAM ? "dgram" : "stream", flags[i]);
			if (CHECK(sb_send(c, sv[0], DATA, sizeof(DATA), 0) == (ssize_t)sizeof(DATA) &&
				  send(nv[0], DATA, sizeof(DATA), 0) == (ssize_t)sizeof(DATA),
				  "%s: send: %s", what, strerror(errno))) {
				do_recv(c, nv[1], 1, &gn, 64, sizeof(gn.d2), flags[i]);
				do_recv(c, sv[1], 0, &gb, 64, sizeof(gb.d2), flags[i]);
				same(what, &gn, &gb);
			}
			sb_close(c, sv[0]);
			sb_close(c, sv[1]);
			close(nv[0]);
			close(nv[1]);
		}
}

int main(void)
{
	struct it_broker b;
	sb_client *c = it_setup(&b, NULL, 40);

	unix_flags(c);
	more_cmsgs(c, AF_INET);
	more_cmsgs(c, AF_INET6);
	untyped_cmsg(c);
	datagrams(c);
	errqueue(c);
	rights_closed(c, &b);
	return it_teardown(&b, c);
}
