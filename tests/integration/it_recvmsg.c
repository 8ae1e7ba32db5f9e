/* SPDX-License-Identifier: MIT
 * it_recvmsg.c - sb_recvmsg gives what recvmsg(2) gives on the same
 * machine: the same datagram over the same iovecs, source, msg_flags and
 * control messages (IP_PKTINFO, IP_TOS, IP_TTL, SO_TIMESTAMPNS: same
 * order, levels, types, lengths and bytes; timestamps within 2 s), the
 * same MSG_CTRUNC cut with a short control buffer, MSG_TRUNC with short
 * iovecs, and the same IP_RECVERR error queue entry (MSG_ERRQUEUE) for
 * an ICMP port unreachable on loopback.
 */
#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <stdio.h>
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

int main(void)
{
	struct it_broker b;
	sb_client *c = it_setup(&b, NULL, 40);

	datagrams(c);
	errqueue(c);
	return it_teardown(&b, c);
}
