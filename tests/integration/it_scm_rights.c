/* SPDX-License-Identifier: MIT
 * it_scm_rights.c - descriptors (SCM_RIGHTS) over broker Unix sockets
 * through the hand-off channel (Hand-off rule 6): sb_sendmsg and
 * sb_recvmsg against a real broker.
 *
 * Policy: root allow; uid 65534 gid 65534 socket and handoff; uid 65534
 * gid 65533 socket and connect to the test's directory, no handoff;
 * anyone (the TCP session) socket and connect to /tmp/.
 * Root checks:
 *  - a pipe and a socket pass both ways over a broker socketpair (stream
 *    and datagram), over a broker Unix stream socket to a native peer and
 *    back, and over Unix datagram sockets both ways; data is read through
 *    the fds received; the sender's fds keep their file status flags;
 *  - MSG_CMSG_CLOEXEC sets FD_CLOEXEC, its absence leaves it clear;
 *  - a control buffer with room for one of three: one installed,
 *    MSG_CTRUNC, the other two closed everywhere (their pipes' writers see
 *    EPIPE), and no fd left in the caller or the broker;
 *  - 253 (SCM_MAX_FD) pass; 254 are EINVAL, a closed fd EBADF, UDP EINVAL,
 *    nothing sent; the rates of 1-fd and 253-fd round trips are printed;
 *  - four threads of one client pass fds at once, each gets its own back;
 *  - a session over TCP: sb_sendmsg is EOPNOTSUPP at once, a raw Send
 *    naming descriptors FAILED_PRECONDITION (EOPNOTSUPP), and descriptors
 *    its Unix socket receives are closed with MSG_CTRUNC;
 *  - RecvStream (sb_receiver) on a Unix datagram socket works (no packet
 *    info asked) and closes the descriptors sent with a datagram.
 * Uid 65534 children (raw protocol, then the library):
 *  - gid 65534: a Send naming fds that were never written fails at once
 *    (FAILED_PRECONDITION, ECONNRESET) and the channel is closed; a wrong
 *    count likewise; another session cannot take a session's message
 *    (ENOTCONN without a channel, ECONNRESET with its own) and the owner
 *    still can; one more fd while a Send waits holding 253 is
 *    RESOURCE_EXHAUSTED (ETOOMANYREFS), and works again after it;
 *    a session that never reads its channel has at most a few
 *    messages of received fds waiting there, the rest are closed with
 *    MSG_CTRUNC; then it writes fds it never announces, leaves a blocking
 *    sb_sendmsg with fds waiting on a full socket, and dies (SIGKILL);
 *  - gid 65533: sb_sendmsg with fds is EACCES and nothing arrives; fds sent
 *    to its socket are closed with MSG_CTRUNC.
 * After the children the broker has no more open fds than before.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it_client.h"

#define HELLO_MAGIC "SBHOFF01"
#define MANY 253

static struct it_broker b;

/* Descriptors in a control buffer big enough for MANY. */
union ctlbuf {
	char b[CMSG_SPACE(sizeof(int) * (MANY + 1)) + 64];
	struct cmsghdr align;
};

/* Fill @mh to receive one byte into @y with @len bytes of @r for control
 * messages. */
static void msg_room(struct msghdr *mh, struct iovec *iov, char *y, union ctlbuf *r,
		     size_t len)
{
	memset(mh, 0, sizeof(*mh));
	iov->iov_base = y;
	iov->iov_len = 1;
	mh->msg_iov = iov;
	mh->msg_iovlen = 1;
	mh->msg_control = r->b;
	mh->msg_controllen = len;
}

/* Fill @mh to send one byte @x with the @n fds of @fds. */
static void msg_fds(struct msghdr *mh, struct iovec *iov, char *x, union ctlbuf *u,
		    const int *fds, size_t n)
{
	struct cmsghdr *cm;

	memset(u, 0, sizeof(*u));
	msg_room(mh, iov, x, u, CMSG_SPACE(n * sizeof(int)));
	cm = CMSG_FIRSTHDR(mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
}

/* The fds of the SCM_RIGHTS messages of @mh into @out (at most @max).
 * Return: how many. */
static size_t msg_got(struct msghdr *mh, int *out, size_t max)
{
	struct cmsghdr *cm;
	size_t n = 0, k, i;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k && n < max; i++)
			memcpy(&out[n++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
	}
	return n;
}

static int self_fds(void)
{
	return it_count_fds(getpid());
}

/* A pipe and a native socketpair; @send gets their read ends. */
struct pair_set {
	int p[2], q[2];
	int send[2];
};

static int pairs_open(struct pair_set *ps)
{
	if (pipe(ps->p) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ps->q) < 0) {
		close(ps->p[0]);
		close(ps->p[1]);
		return -1;
	}
	ps->send[0] = ps->p[0];
	ps->send[1] = ps->q[0];
	return 0;
}

static void pairs_close(struct pair_set *ps)
{
	close(ps->p[0]);
	close(ps->p[1]);
	close(ps->q[0]);
	close(ps->q[1]);
}

/* @got[0] reads the pipe, @got[1] is the socket: data through both, and
 * the close-on-exec flag as @cloexec says. Closes @got. */
static void check_got(struct pair_set *ps, int *got, size_t n, int cloexec, const char *what)
{
	struct stat st;
	char x = 0;
	size_t i;

	if (!CHECK(n == 2, "%s: %zu fds received, want 2", what, n)) {
		for (i = 0; i < n; i++)
			close(got[i]);
		return;
	}
	CHECK(fstat(got[0], &st) == 0 && S_ISFIFO(st.st_mode), "%s: fd 0 is not the pipe", what);
	CHECK(fstat(got[1], &st) == 0 && S_ISSOCK(st.st_mode), "%s: fd 1 is not a socket",
	      what);
	CHECK(write(ps->p[1], "P", 1) == 1 && it_read_some(got[0], &x, 1, 3000) == 1 &&
	      x == 'P', "%s: no data through the passed pipe", what);
	CHECK(write(ps->q[1], "Q", 1) == 1 && it_read_some(got[1], &x, 1, 3000) == 1 &&
	      x == 'Q', "%s: no data through the passed socket", what);
	CHECK(write(got[1], "R", 1) == 1 && it_read_some(ps->q[1], &x, 1, 3000) == 1 &&
	      x == 'R', "%s: no data back through the passed socket", what);
	for (i = 0; i < n; i++) {
		int fl = fcntl(got[i], F_GETFD);

		CHECK(fl >= 0 && !!(fl & FD_CLOEXEC) == !!cloexec,
		      "%s: fd %zu FD_CLOEXEC %d, want %d", what, i, fl & FD_CLOEXEC, cloexec);
		close(got[i]);
	}
}

/* One byte with the pair's two fds from broker socket @from (sb_sendmsg)
 * to broker socket @to (sb_recvmsg). */
static void broker_to_broker(sb_client *c, int from, int to, int cloexec, const char *what)
{
	struct pair_set ps;
	union ctlbuf u, r;
	struct iovec iov, riov;
	struct msghdr mh, rh;
	char x = 'x', y = 0;
	int got[4], fl0, fl1;
	ssize_t n;

	if (!CHECK(pairs_open(&ps) == 0, "pipe: %s", strerror(errno)))
		return;
	/* One blocking, one non-blocking: neither changes on the way. */
	fl0 = fcntl(ps.p[0], F_GETFL);
	fl1 = fcntl(ps.q[0], F_GETFL) | O_NONBLOCK;
	CHECK(fcntl(ps.q[0], F_SETFL, fl1) == 0, "O_NONBLOCK: %s", strerror(errno));
	msg_fds(&mh, &iov, &x, &u, ps.send, 2);
	n = sb_sendmsg(c, from, &mh, 0);
	CHECK(n == 1, "%s: sb_sendmsg %zd %s (%s)", what, n, strerror(errno), it_sberr());
	msg_room(&rh, &riov, &y, &r, sizeof(r.b));
	n = sb_recvmsg(c, to, &rh, cloexec ? MSG_CMSG_CLOEXEC : 0);
	CHECK(n == 1 && y == 'x', "%s: sb_recvmsg %zd %s (%s)", what, n, strerror(errno),
	      it_sberr());
	CHECK(!(rh.msg_flags & MSG_CTRUNC), "%s: MSG_CTRUNC", what);
	CHECK(fcntl(ps.p[0], F_GETFL) == fl0 && fcntl(ps.q[0], F_GETFL) == fl1,
	      "%s: file status flags changed on the way", what);
	n = (ssize_t)msg_got(&rh, got, 4);
	CHECK(n == 2 && fcntl(got[0], F_GETFL) == fl0 && fcntl(got[1], F_GETFL) == fl1,
	      "%s: the received fds' file status flags differ", what);
	check_got(&ps, got, (size_t)n, cloexec, what);
	pairs_close(&ps);
}

/* Native socket @nfd <-> broker socket @s, both ways; @to/@tolen address
 * datagrams to the native socket (NULL for a stream). */
static void native_both_ways(sb_client *c, int s, int nfd, const struct sockaddr_un *to,
			     const struct sockaddr_un *bto, const char *what)
{
	struct pair_set ps;
	union ctlbuf u, r;
	struct iovec iov, riov;
	struct msghdr mh, rh;
	char x = 'n', y = 0;
	int got[4];
	ssize_t n;

	if (!CHECK(pairs_open(&ps) == 0, "pipe: %s", strerror(errno)))
		return;
	/* broker -> native */
	msg_fds(&mh, &iov, &x, &u, ps.send, 2);
	if (to) {
		mh.msg_name = (void *)to;
		mh.msg_namelen = sizeof(*to);
	}
	n = sb_sendmsg(c, s, &mh, 0);
	CHECK(n == 1, "%s: sb_sendmsg %zd %s (%s)", what, n, strerror(errno), it_sberr());
	msg_room(&rh, &riov, &y, &r, sizeof(r.b));
	n = recvmsg(nfd, &rh, MSG_CMSG_CLOEXEC);
	CHECK(n == 1 && y == 'n', "%s: native recvmsg %zd %s", what, n, strerror(errno));
	check_got(&ps, got, msg_got(&rh, got, 4), 1, what);

	/* native -> broker */
	msg_fds(&mh, &iov, &x, &u, ps.send, 2);
	if (bto) {
		mh.msg_name = (void *)bto;
		mh.msg_namelen = sizeof(*bto);
	}
	CHECK(sendmsg(nfd, &mh, MSG_NOSIGNAL) == 1, "%s: native sendmsg: %s", what,
	      strerror(errno));
	memset(&rh, 0, sizeof(rh));
	y = 0;
	rh.msg_iov = &riov;
	rh.msg_iovlen = 1;
	rh.msg_control = r.b;
	rh.msg_controllen = sizeof(r.b);
	n = sb_recvmsg(c, s, &rh, MSG_CMSG_CLOEXEC);
	CHECK(n == 1 && y == 'n', "%s: sb_recvmsg %zd %s (%s)", what, n, strerror(errno),
	      it_sberr());
	check_got(&ps, got, msg_got(&rh, got, 4), 1, what);
	pairs_close(&ps);
}

/* Room for one of three: one installed, MSG_CTRUNC, the others closed. */
static void ctrunc(sb_client *c, int from, int to)
{
	int p[3][2], rd[3], got[4], i, mine, theirs, ok = 1;
	union ctlbuf u, r;
	struct iovec iov, riov;
	struct msghdr mh, rh;
	char x = 't', y = 0;
	size_t n;

	for (i = 0; i < 3; i++) {
		ok &= pipe(p[i]) == 0;
		rd[i] = p[i][0];
	}
	if (!CHECK(ok, "pipes: %s", strerror(errno)))
		return;
	msg_fds(&mh, &iov, &x, &u, rd, 3);
	CHECK(sb_sendmsg(c, from, &mh, 0) == 1, "ctrunc: sb_sendmsg %s (%s)", strerror(errno),
	      it_sberr());
	for (i = 0; i < 3; i++)
		close(p[i][0]);
	mine = self_fds();
	theirs = it_count_fds(b.pid);
	msg_room(&rh, &riov, &y, &r, CMSG_LEN(sizeof(int)));
	CHECK(sb_recvmsg(c, to, &rh, 0) == 1 && y == 't', "ctrunc: sb_recvmsg %s (%s)",
	      strerror(errno), it_sberr());
	CHECK(rh.msg_flags & MSG_CTRUNC, "ctrunc: no MSG_CTRUNC (0x%x)", (unsigned)rh.msg_flags);
	CHECK(rh.msg_controllen == CMSG_LEN(sizeof(int)), "ctrunc: msg_controllen %zu, want %zu",
	      (size_t)rh.msg_controllen, (size_t)CMSG_LEN(sizeof(int)));
	n = msg_got(&rh, got, 4);
	CHECK(n == 1, "ctrunc: %zu fds, want 1", n);
	CHECK(self_fds() == mine + (int)n, "ctrunc: caller fds %d, want %d", self_fds(),
	      mine + (int)n);
	CHECK(it_count_fds(b.pid) <= theirs, "ctrunc: broker fds %d, before %d",
	      it_count_fds(b.pid), theirs);
	/* The installed one is the first pipe; the others have no reader. */
	CHECK(n == 1 && write(p[0][1], "a", 1) == 1 && it_read_some(got[0], &y, 1, 3000) == 1 &&
	      y == 'a', "ctrunc: the installed fd is not the first pipe");
	signal(SIGPIPE, SIG_IGN);
	for (i = 1; i < 3; i++) {
		errno = 0;
		CHECK(write(p[i][1], "b", 1) < 0 && errno == EPIPE,
		      "ctrunc: pipe %d still has a reader: %s", i, strerror(errno));
	}
	if (n == 1)
		close(got[0]);
	for (i = 0; i < 3; i++)
		close(p[i][1]);
}

/* 253 pass, 254 are EINVAL, a closed fd EBADF; nothing sent on refusal. */
static void limits(sb_client *c, int from, int to)
{
	static int many[MANY + 1], got[MANY + 1];
	union ctlbuf u, r;
	struct iovec iov, riov;
	struct msghdr mh, rh;
	char x = 'm', y = 0;
	int p[2], i, ok = 1, udp;
	size_t n;
	ssize_t k;

	if (!CHECK(pipe(p) == 0, "pipe: %s", strerror(errno)))
		return;
	for (i = 0; i <= MANY; i++) {
		many[i] = fcntl(p[0], F_DUPFD_CLOEXEC, 0);
		ok &= many[i] >= 0;
	}
	if (!CHECK(ok, "dup: %s", strerror(errno)))
		goto out;
	msg_fds(&mh, &iov, &x, &u, many, MANY + 1);
	errno = 0;
	k = sb_sendmsg(c, from, &mh, 0);
	CHECK(k < 0 && errno == EINVAL, "254 fds: %zd %s, want EINVAL", k, strerror(errno));
	close(many[0]);
	many[0] = 100000;
	msg_fds(&mh, &iov, &x, &u, many, 1);
	errno = 0;
	k = sb_sendmsg(c, from, &mh, 0);
	CHECK(k < 0 && errno == EBADF, "a closed fd: %zd %s, want EBADF", k, strerror(errno));
	udp = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	msg_fds(&mh, &iov, &x, &u, many + 1, 1);
	errno = 0;
	k = sb_sendmsg(c, udp, &mh, 0);
	CHECK(k < 0 && errno == EINVAL, "UDP: %zd %s, want EINVAL", k, strerror(errno));
	sb_close(c, udp);
	k = sb_recv(c, to, &y, 1, MSG_DONTWAIT);
	CHECK(k < 0 && errno == EAGAIN, "a refused sendmsg sent something (%zd)", k);

	msg_fds(&mh, &iov, &x, &u, many + 1, MANY);
	k = sb_sendmsg(c, from, &mh, 0);
	CHECK(k == 1, "253 fds: %zd %s (%s)", k, strerror(errno), it_sberr());
	msg_room(&rh, &riov, &y, &r, sizeof(r.b));
	k = sb_recvmsg(c, to, &rh, MSG_CMSG_CLOEXEC);
	n = msg_got(&rh, got, MANY + 1);
	CHECK(k == 1 && n == MANY && !(rh.msg_flags & MSG_CTRUNC),
	      "253 fds: received %zd bytes, %zu fds, flags 0x%x", k, n, (unsigned)rh.msg_flags);
	for (i = 0; i < (int)n; i++)
		close(got[i]);
out:
	for (i = 1; i <= MANY; i++)
		if (many[i] >= 0)
			close(many[i]);
	close(p[0]);
	close(p[1]);
}

/* One-fd round trips per second over a broker socketpair. */
static void rate(sb_client *c, int from, int to)
{
	union ctlbuf u, r;
	struct iovec iov, riov;
	struct msghdr mh, rh;
	char x = 'r', y;
	int p[2], got[2], i, done = 0;
	int64_t t0 = it_now_ms(), end = t0 + 3000;

	if (!CHECK(pipe(p) == 0, "pipe: %s", strerror(errno)))
		return;
	for (i = 0; i < 2000 && it_now_ms() < end; i++) {
		msg_fds(&mh, &iov, &x, &u, p, 1);
		if (sb_sendmsg(c, from, &mh, 0) != 1)
			break;
		msg_room(&rh, &riov, &y, &r, sizeof(r.b));
		if (sb_recvmsg(c, to, &rh, MSG_CMSG_CLOEXEC) != 1 || msg_got(&rh, got, 2) != 1)
			break;
		close(got[0]);
		done++;
	}
	CHECK(done == i && done > 0, "rate: round trip %d failed: %s (%s)", done,
	      strerror(errno), it_sberr());
	it_note("%d one-fd sendmsg+recvmsg round trips in %lld ms: %.0f fds/s", done,
		(long long)(it_now_ms() - t0),
		done * 1000.0 / (double)(it_now_ms() - t0 ? it_now_ms() - t0 : 1));
	/* The same calls without descriptors, for the ratio in this run. */
	t0 = it_now_ms();
	end = t0 + 3000;
	for (i = 0; i < 2000 && it_now_ms() < end; i++)
		if (sb_send(c, from, &x, 1, 0) != 1 || sb_recv(c, to, &y, 1, 0) != 1)
			break;
	it_note("%d one-byte send+recv round trips without fds in %lld ms: %.0f/s", i,
		(long long)(it_now_ms() - t0),
		i * 1000.0 / (double)(it_now_ms() - t0 ? it_now_ms() - t0 : 1));
	close(p[0]);
	close(p[1]);
}

/* Threads of one client, each on its own socketpair: every fd comes back
 * to the thread that sent it (tags; sends serialized on the channel). */
struct thr {
	sb_client *c;
	int sv[2];
	int rounds, bad;
	char id;
};

static void *thr_main(void *arg)
{
	struct thr *t = arg;
	union ctlbuf u, r;
	struct iovec iov, riov;
	struct msghdr mh, rh;
	int p[2], got[4], i;
	char x, y;
	int64_t end = it_now_ms() + 10000;

	if (pipe(p) < 0) {
		t->bad++;
		return NULL;
	}
	for (i = 0; i < 200 && it_now_ms() < end; i++) {
		x = t->id;
		msg_fds(&mh, &iov, &x, &u, p, 1);
		msg_room(&rh, &riov, &y, &r, sizeof(r.b));
		if (sb_sendmsg(t->c, t->sv[0], &mh, 0) != 1 ||
		    sb_recvmsg(t->c, t->sv[1], &rh, MSG_CMSG_CLOEXEC) != 1 ||
		    msg_got(&rh, got, 4) != 1) {
			t->bad++;
			break;
		}
		/* The fd must be this thread's pipe: a byte written on our
		 * pipe comes out of it. */
		if (write(p[1], &x, 1) != 1 || it_read_some(got[0], &y, 1, 3000) != 1 ||
		    y != t->id)
			t->bad++;
		close(got[0]);
		t->rounds++;
	}
	close(p[0]);
	close(p[1]);
	return NULL;
}

static void threads(sb_client *c)
{
	struct thr t[4];
	pthread_t th[4];
	int i, n = 0;

	for (i = 0; i < 4; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].c = c;
		t[i].id = (char)('A' + i);
		if (!CHECK(sb_socketpair(c, AF_UNIX, i % 2 ? SOCK_DGRAM : SOCK_STREAM, 0,
					 t[i].sv) == 0, "threads: socketpair: %s", strerror(errno)))
			return;
	}
	for (i = 0; i < 4; i++)
		if (pthread_create(&th[i], NULL, thr_main, &t[i]) == 0)
			n++;
		else
			break;
	while (n)
		pthread_join(th[--n], NULL);
	for (i = 0; i < 4; i++) {
		CHECK(t[i].rounds > 0 && !t[i].bad, "thread %c: %d rounds, %d wrong", t[i].id,
		      t[i].rounds, t[i].bad);
		sb_close(c, t[i].sv[0]);
		sb_close(c, t[i].sv[1]);
	}
	it_note("4 threads: %d, %d, %d, %d fd round trips, each fd its own", t[0].rounds,
		t[1].rounds, t[2].rounds, t[3].rounds);
}

/* The same with 253 fds a message. */
static void rate_many(sb_client *c, int from, int to)
{
	static int many[MANY], got[MANY + 1];
	union ctlbuf u, r;
	struct iovec iov, riov;
	struct msghdr mh, rh;
	char x = 'r', y;
	int p[2], i, k, done = 0, ok = 1;
	size_t n = 0;
	int64_t t0, end, ms;

	if (!CHECK(pipe(p) == 0, "pipe: %s", strerror(errno)))
		return;
	for (i = 0; i < MANY; i++)
		ok &= (many[i] = fcntl(p[0], F_DUPFD_CLOEXEC, 0)) >= 0;
	if (!CHECK(ok, "dup: %s", strerror(errno)))
		goto out;
	t0 = it_now_ms();
	end = t0 + 3000;
	for (i = 0; i < 300 && it_now_ms() < end; i++) {
		msg_fds(&mh, &iov, &x, &u, many, MANY);
		if (sb_sendmsg(c, from, &mh, 0) != 1)
			break;
		msg_room(&rh, &riov, &y, &r, sizeof(r.b));
		if (sb_recvmsg(c, to, &rh, MSG_CMSG_CLOEXEC) != 1)
			break;
		n = msg_got(&rh, got, MANY + 1);
		for (k = 0; k < (int)n; k++)
			close(got[k]);
		if (n != MANY)
			break;
		done++;
	}
	ms = it_now_ms() - t0;
	CHECK(done == i && done > 0, "rate: 253-fd round trip %d failed (%zu fds): %s (%s)",
	      done, n, strerror(errno), it_sberr());
	it_note("%d 253-fd sendmsg+recvmsg round trips in %lld ms: %.0f fds/s", done,
		(long long)ms, done * (double)MANY * 1000.0 / (double)(ms ? ms : 1));
out:
	for (i = 0; i < MANY; i++)
		if (many[i] >= 0)
			close(many[i]);
	close(p[0]);
	close(p[1]);
}

/* Over TCP, descriptors a broker socket receives are closed, MSG_CTRUNC. */
static void tcp_receives(sb_client *ct)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	union ctlbuf u, r;
	struct iovec iov, riov;
	struct msghdr mh, rh;
	int lfd, nfd = -1, s, p[2] = { -1, -1 }, got[4];
	char y = 0;
	ssize_t n;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s/tcp.sock", b.dir);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	s = sb_socket(ct, AF_UNIX, SOCK_STREAM, 0);
	if (!CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		   listen(lfd, 1) == 0 && s >= 0 &&
		   sb_connect(ct, s, (struct sockaddr *)&a, sizeof(a)) == 0,
		   "TCP session: Unix connect: %s (%s)", strerror(errno), it_sberr()))
		goto out;
	nfd = it_native_accept(lfd, NULL, NULL, 3000);
	if (!CHECK(nfd >= 0 && pipe(p) == 0, "accept: %s", strerror(errno)))
		goto out;
	msg_fds(&mh, &iov, "v", &u, p, 1);
	CHECK(sendmsg(nfd, &mh, MSG_NOSIGNAL) == 1, "sendmsg: %s", strerror(errno));
	close(p[0]);
	p[0] = -1;
	msg_room(&rh, &riov, &y, &r, sizeof(r.b));
	n = sb_recvmsg(ct, s, &rh, 0);
	CHECK(n == 1 && y == 'v' && (rh.msg_flags & MSG_CTRUNC) && msg_got(&rh, got, 4) == 0,
	      "TCP session: sb_recvmsg %zd, flags 0x%x, %zu fds (want MSG_CTRUNC, none)", n,
	      (unsigned)rh.msg_flags, msg_got(&rh, got, 4));
	signal(SIGPIPE, SIG_IGN);
	errno = 0;
	CHECK(write(p[1], "w", 1) < 0 && errno == EPIPE,
	      "TCP session: the descriptor was kept somewhere: %s", strerror(errno));
out:
	if (s >= 0)
		sb_close(ct, s);
	if (nfd >= 0)
		close(nfd);
	if (lfd >= 0)
		close(lfd);
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

static int raw_pair(grpc_channel *ch, const struct it_session *s, uint64_t *h);
static grpc_status_code raw_send(grpc_channel *ch, const struct it_session *s, uint64_t h,
				 uint64_t tag, uint32_t n, int *err, int64_t *ms);

/* A session over TCP: no sending fds, from the library (at once) or
 * asked for raw (the broker's FAILED_PRECONDITION). */
static void tcp_session(void)
{
	struct it_broker tb;
	struct it_session rs;
	grpc_channel *ch;
	grpc_status_code st;
	uint64_t h[2];
	int64_t ms = 0;
	int err = 0;

	char tcp[64], y = 0;
	union ctlbuf u;
	struct iovec iov;
	struct msghdr mh;
	int sv[2], p[2];
	sb_client *ct;
	ssize_t n;

	snprintf(tcp, sizeof(tcp), "127.0.0.1:%u", it_broker_tcp_port(&b));
	ct = sb_open(tcp);
	if (!CHECK(ct != NULL, "sb_open(%s): %s", tcp, strerror(errno)))
		return;
	if (!CHECK(pipe(p) == 0 && sb_socketpair(ct, AF_UNIX, SOCK_STREAM, 0, sv) == 0,
		   "TCP: socketpair: %s (%s)", strerror(errno), it_sberr()))
		goto out;
	msg_fds(&mh, &iov, "t", &u, p, 1);
	errno = 0;
	n = sb_sendmsg(ct, sv[0], &mh, 0);
	CHECK(n < 0 && errno == EOPNOTSUPP && strstr(it_sberr(), "file descriptors"),
	      "TCP session: sb_sendmsg %zd %s (%s), want EOPNOTSUPP", n, strerror(errno),
	      it_sberr());
	CHECK(sb_recv(ct, sv[1], &y, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN,
	      "TCP session: the refused sendmsg sent something");
	sb_close(ct, sv[0]);
	sb_close(ct, sv[1]);
	tcp_receives(ct);
	close(p[0]);
	close(p[1]);
out:
	sb_close_client(ct);

	memset(&tb, 0, sizeof(tb));
	snprintf(tb.target, sizeof(tb.target), "%s", tcp);
	ch = it_channel(&tb);
	if (CHECK(it_session_open(ch, &rs, 3000) == 0 && raw_pair(ch, &rs, h) == 0,
		  "raw session over TCP")) {
		st = raw_send(ch, &rs, h[0], 1, 1, &err, &ms);
		CHECK(st == GRPC_STATUS_FAILED_PRECONDITION && err == EOPNOTSUPP,
		      "raw Send with descriptors over TCP: %s errno %d, want "
		      "FAILED_PRECONDITION EOPNOTSUPP", it_status_name(st), err);
		it_session_close(&rs);
	}
	grpc_channel_destroy(ch);
}

/* RecvStream on a Unix datagram socket: no pktinfo asked, fds closed. */
static void receiver_unix(sb_client *c)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct sb_udp_source src;
	union ctlbuf u;
	struct iovec iov;
	struct msghdr mh;
	sb_receiver *rv = NULL;
	int s, nfd = -1, p[2] = { -1, -1 }, trunc = 0;
	char buf[16];
	ssize_t n;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s/recv.dgram", b.dir);
	s = sb_socket(c, AF_UNIX, SOCK_DGRAM, 0);
	if (!CHECK(s >= 0 && sb_bind(c, s, (struct sockaddr *)&a, sizeof(a)) == 0,
		   "receiver: bind %s: %s (%s)", a.sun_path, strerror(errno), it_sberr()))
		goto out;
	rv = sb_receiver_open(c, s);
	if (!CHECK(rv != NULL, "sb_receiver_open on a Unix datagram socket: %s (%s)",
		   strerror(errno), it_sberr()))
		goto out;
	nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (!CHECK(nfd >= 0 && pipe(p) == 0, "socket: %s", strerror(errno)))
		goto out;
	msg_fds(&mh, &iov, "d", &u, p, 1);
	mh.msg_name = &a;
	mh.msg_namelen = sizeof(a);
	CHECK(sendmsg(nfd, &mh, 0) == 1, "receiver: sendmsg: %s", strerror(errno));
	close(p[0]);
	p[0] = -1;
	n = sb_receiver_next(rv, buf, sizeof(buf), &trunc, &src, 3000);
	CHECK(n == 1 && buf[0] == 'd', "sb_receiver_next: %zd %s (%s)", n, strerror(errno),
	      it_sberr());
	errno = 0;
	signal(SIGPIPE, SIG_IGN);
	CHECK(write(p[1], "w", 1) < 0 && errno == EPIPE,
	      "RecvStream kept the descriptor: %s", strerror(errno));
out:
	sb_receiver_close(rv);
	if (s >= 0)
		sb_close(c, s);
	if (nfd >= 0)
		close(nfd);
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
}

/* ---- uid 65534, raw protocol ---- */

/* A bound channel for raw session @s. Return: its fd, or -1. */
static int raw_channel(grpc_channel *ch, const struct it_session *s, const char *sock)
{
	uint8_t t[32];
	int fd = -1;

	if (it_ticket(ch, s, t) < 0 || it_side_present(sock, HELLO_MAGIC, t, &fd) != 0)
		return -1;
	return fd;
}

/* Write a message of rule 4's form: @tag, @n fds of @fds. */
static int raw_put(int chfd, uint64_t tag, const int *fds, size_t n)
{
	uint64_t payload[2] = { tag, n };
	union ctlbuf u;
	struct iovec iov = { .iov_base = payload, .iov_len = sizeof(payload) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			     .msg_controllen = CMSG_SPACE(n * sizeof(int)) };
	struct cmsghdr *cm;

	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	return sendmsg(chfd, &mh, MSG_NOSIGNAL) == (ssize_t)sizeof(payload) ? 0 : -1;
}

/* A raw AF_UNIX stream socketpair of @s. Return: 0 or -1. */
static int raw_pair(grpc_channel *ch, const struct it_session *s, uint64_t *h)
{
	Sockbroker__V1__SocketPairRequest req = SOCKBROKER__V1__SOCKET_PAIR_REQUEST__INIT;
	Sockbroker__V1__SocketPairReply *rep;
	struct it_reply r;
	int ret = -1;

	req.family = SOCKBROKER__V1__ADDRESS_FAMILY__AF_UNIX;
	req.type = SOCKBROKER__V1__SOCKET_TYPE__SOCK_STREAM;
	if (it_call(ch, IT_SVC "SocketPair", &req.base, s->token, 3000, &r) < 0)
		return -1;
	if (r.status == GRPC_STATUS_OK) {
		rep = sockbroker__v1__socket_pair_reply__unpack(NULL, r.len, r.data);
		if (rep && !rep->error) {
			h[0] = rep->handle0;
			h[1] = rep->handle1;
			ret = 0;
		}
		if (rep)
			sockbroker__v1__socket_pair_reply__free_unpacked(rep, NULL);
	}
	it_reply_free(&r);
	return ret;
}

/* A raw Send of one byte naming @tag/@n. Return: the status; *@err the
 * errno of the status (or of the reply), *@ms how long it took. */
/* A raw Send of @len bytes of @data naming @tag/@n, answered within
 * @wait_ms. Return: the status; *@err the errno of the status, or of the
 * reply (-1 for any errno there); *@ms how long it took. */
static grpc_status_code raw_send_data(grpc_channel *ch, const struct it_session *s,
				      uint64_t h, const void *data, size_t len, uint64_t tag,
				      uint32_t n, int wait_ms, int *err, int64_t *ms)
{
	Sockbroker__V1__SendRequest req = SOCKBROKER__V1__SEND_REQUEST__INIT;
	Sockbroker__V1__SendReply *rep;
	struct it_reply r;
	grpc_status_code st;
	int64_t t0 = it_now_ms();

	req.handle = h;
	req.data.data = (uint8_t *)data;
	req.data.len = len;
	req.fd_tag = tag;
	req.fd_count = n;
	req.timeout_ms = (uint32_t)wait_ms;
	if (it_call(ch, IT_SVC "Send", &req.base, s->token, wait_ms + 3000, &r) < 0)
		return GRPC_STATUS_DEADLINE_EXCEEDED;
	*ms = it_now_ms() - t0;
	st = r.status;
	*err = r.sb_errno;
	if (st == GRPC_STATUS_OK) {
		rep = sockbroker__v1__send_reply__unpack(NULL, r.len, r.data);
		*err = rep && rep->error ? -1 : 0;
		if (rep)
			sockbroker__v1__send_reply__free_unpacked(rep, NULL);
	}
	it_reply_free(&r);
	return st;
}

/* A raw Recv of one byte with want_fds. Return: the fd count of the
 * reply, or -1; *@ctrunc: MSG_CTRUNC in its flags. */
static int raw_recv(grpc_channel *ch, const struct it_session *s, uint64_t h, int *ctrunc)
{
	Sockbroker__V1__RecvRequest req = SOCKBROKER__V1__RECV_REQUEST__INIT;
	Sockbroker__V1__RecvReply *rep;
	struct it_reply r;
	int ret = -1;

	req.handle = h;
	req.max_bytes = 1;
	req.want_fds = 1;
	if (it_call(ch, IT_SVC "Recv", &req.base, s->token, 3000, &r) < 0)
		return -1;
	if (r.status == GRPC_STATUS_OK) {
		rep = sockbroker__v1__recv_reply__unpack(NULL, r.len, r.data);
		if (rep && !rep->error && rep->data.len == 1) {
			ret = (int)rep->fd_count;
			*ctrunc = (rep->flags & SOCKBROKER__V1__MSG_FLAG__MSG_CTRUNC) != 0;
		}
		if (rep)
			sockbroker__v1__recv_reply__free_unpacked(rep, NULL);
	}
	it_reply_free(&r);
	return ret;
}

/* A blocking sb_sendmsg with descriptors that waits in the broker. */
struct parked {
	sb_client *c;
	int s, fd;
	atomic_int done;
};

static void *parked_main(void *arg)
{
	struct parked *pk = arg;
	union ctlbuf u;
	struct iovec iov;
	struct msghdr mh;

	msg_fds(&mh, &iov, "q", &u, &pk->fd, 1);
	(void)sb_sendmsg(pk->c, pk->s, &mh, 0);
	atomic_store(&pk->done, 1);
	return NULL;
}

/* Park a blocking sb_sendmsg with descriptors on a full socket of a new
 * client of uid 65534. Return: 0 when it is waiting. */
static int park_sendmsg(const char *target, int fd)
{
	static struct parked pk;
	static char big[65536];
	pthread_t th;
	int sv[2], i;

	pk.c = sb_open(target);
	if (!pk.c || sb_socketpair(pk.c, AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
	    sb_set_nonblock(pk.c, sv[0], 1) < 0)
		return -1;
	for (i = 0; i < 256; i++)
		if (sb_send(pk.c, sv[0], big, sizeof(big), 0) < 0)
			break;
	if (i == 256 || errno != EAGAIN || sb_set_nonblock(pk.c, sv[0], 0) < 0)
		return -1;
	pk.s = sv[0];
	pk.fd = fd;
	if (pthread_create(&th, NULL, parked_main, &pk) != 0)
		return -1;
	it_sleep_ms(500);
	return atomic_load(&pk.done) ? -1 : 0;
}

static grpc_status_code raw_send(grpc_channel *ch, const struct it_session *s, uint64_t h,
				 uint64_t tag, uint32_t n, int *err, int64_t *ms)
{
	return raw_send_data(ch, s, h, "z", 1, tag, n, 2000, err, ms);
}

/* A raw Send that waits in the broker holding its descriptors. */
struct raw_wait {
	grpc_channel *ch;
	const struct it_session *s;
	uint64_t h;
	int err;
	grpc_status_code st;
};

static void *raw_wait_main(void *arg)
{
	struct raw_wait *rw = arg;
	int64_t ms;

	rw->st = raw_send_data(rw->ch, rw->s, rw->h, "w", 1, 21, MANY, 1500, &rw->err, &ms);
	return NULL;
}

/* A session's waiting Sends hold at most 253 descriptors in all. */
static void raw_hold(grpc_channel *ch, const struct it_session *sa, int cha, uint64_t other,
		     int fd)
{
	static int many[MANY];
	Sockbroker__V1__SocketPairRequest req = SOCKBROKER__V1__SOCKET_PAIR_REQUEST__INIT;
	Sockbroker__V1__SetNonBlockingRequest nb = SOCKBROKER__V1__SET_NON_BLOCKING_REQUEST__INIT;
	Sockbroker__V1__SocketPairReply *rep = NULL;
	static char big[32768];
	struct raw_wait rw;
	struct it_reply r;
	grpc_status_code st;
	pthread_t th;
	int i, err = 0;
	int64_t ms;

	req.family = SOCKBROKER__V1__ADDRESS_FAMILY__AF_UNIX;
	req.type = SOCKBROKER__V1__SOCKET_TYPE__SOCK_STREAM;
	req.nonblock = 1;
	if (it_call(ch, IT_SVC "SocketPair", &req.base, sa->token, 3000, &r) == 0 &&
	    r.status == GRPC_STATUS_OK)
		rep = sockbroker__v1__socket_pair_reply__unpack(NULL, r.len, r.data);
	it_reply_free(&r);
	if (!CHECK(rep && !rep->error, "raw non-blocking socketpair"))
		goto out;
	/* Fill it, then make it blocking. */
	for (i = 0; i < 256; i++)
		if (raw_send_data(ch, sa, rep->handle0, big, sizeof(big), 0, 0, 1000, &err,
				  &ms) != GRPC_STATUS_OK || err)
			break;
	nb.handle = rep->handle0;
	CHECK(i < 256 && it_call(ch, IT_SVC "SetNonBlocking", &nb.base, sa->token, 3000,
				 &r) == 0 && r.status == GRPC_STATUS_OK,
	      "raw: fill and make blocking (%d sends)", i);
	it_reply_free(&r);
	rw.ch = ch;
	rw.s = sa;
	rw.h = rep->handle0;
	for (i = 0; i < MANY; i++)
		many[i] = fd;
	if (!CHECK(raw_put(cha, 21, many, MANY) == 0 &&
		   pthread_create(&th, NULL, raw_wait_main, &rw) == 0, "raw: waiting Send"))
		goto out;
	it_sleep_ms(400);
	CHECK(raw_put(cha, 22, &fd, 1) == 0, "raw: second message");
	st = raw_send(ch, sa, other, 22, 1, &err, &ms);
	CHECK(st == GRPC_STATUS_RESOURCE_EXHAUSTED && err == ETOOMANYREFS,
	      "one more descriptor while a Send waits with 253: %s errno %d, want "
	      "RESOURCE_EXHAUSTED ETOOMANYREFS", it_status_name(st), err);
	pthread_join(th, NULL);
	CHECK(rw.st == GRPC_STATUS_OK && rw.err == -1, "the waiting Send: %s errno %d, want "
	      "EAGAIN in its reply", it_status_name(rw.st), rw.err);
	/* Its hold is back, and the channel stayed in step. */
	CHECK(raw_put(cha, 23, &fd, 1) == 0, "raw: third message");
	st = raw_send(ch, sa, other, 23, 1, &err, &ms);
	CHECK(st == GRPC_STATUS_OK && err == 0, "a Send with descriptors after the wait: %s "
	      "errno %d", it_status_name(st), err);
out:
	if (rep)
		sockbroker__v1__socket_pair_reply__free_unpacked(rep, NULL);
}

static int child_raw(const char *target, const char *sock)
{
	struct it_session sa, sb;
	grpc_channel *ch;
	uint64_t ha[2], hb[2];
	int cha = -1, chb = -1, p[2], err = 0, st;
	int64_t ms = 0;
	char x;
	struct it_broker tb;

	if (it_drop_privileges(IT_NOBODY, IT_NOBODY) < 0)
		return 1;
	memset(&tb, 0, sizeof(tb));
	snprintf(tb.target, sizeof(tb.target), "%s", target);
	ch = it_channel(&tb);
	if (!CHECK(pipe(p) == 0 && it_session_open(ch, &sa, 3000) == 0 &&
		   it_session_open(ch, &sb, 3000) == 0, "raw sessions"))
		return it_result();
	if (!CHECK(raw_pair(ch, &sa, ha) == 0 && raw_pair(ch, &sb, hb) == 0, "raw socketpairs"))
		return it_result();

	/* Announced, never written: at once, and the channel is closed. */
	cha = raw_channel(ch, &sa, sock);
	CHECK(cha >= 0, "uid 65534: channel not bound");
	st = raw_send(ch, &sa, ha[0], 5, 1, &err, &ms);
	CHECK(st == GRPC_STATUS_FAILED_PRECONDITION && err == ECONNRESET && ms < 3000,
	      "announced, not written: %s errno %d in %lld ms", it_status_name(st), err,
	      (long long)ms);
	CHECK(it_read_some(cha, &x, 1, 3000) == 0, "the channel out of step was not closed");
	close(cha);

	/* A wrong count. */
	cha = raw_channel(ch, &sa, sock);
	CHECK(cha >= 0 && raw_put(cha, 9, p, 2) == 0, "uid 65534: a message written");
	st = raw_send(ch, &sa, ha[0], 9, 3, &err, &ms);
	CHECK(st == GRPC_STATUS_FAILED_PRECONDITION && err == ECONNRESET,
	      "a wrong count: %s errno %d", it_status_name(st), err);
	close(cha);

	/* Another session cannot take session A's message. */
	cha = raw_channel(ch, &sa, sock);
	CHECK(cha >= 0 && raw_put(cha, 7, p, 1) == 0, "uid 65534: A's message written");
	st = raw_send(ch, &sb, hb[0], 7, 1, &err, &ms);
	CHECK(st == GRPC_STATUS_FAILED_PRECONDITION && err == ENOTCONN,
	      "B without a channel took A's tag: %s errno %d", it_status_name(st), err);
	chb = raw_channel(ch, &sb, sock);
	st = raw_send(ch, &sb, hb[0], 7, 1, &err, &ms);
	CHECK(chb >= 0 && st == GRPC_STATUS_FAILED_PRECONDITION && err == ECONNRESET,
	      "B with its own channel took A's message: %s errno %d", it_status_name(st), err);
	st = raw_send(ch, &sa, ha[0], 7, 1, &err, &ms);
	CHECK(st == GRPC_STATUS_OK && err == 0, "A's own Send with its message: %s errno %d",
	      it_status_name(st), err);

	raw_hold(ch, &sa, cha, ha[0], p[0]);

	/* A caller that never reads its channel: a few messages of received
	 * descriptors wait there, then they are closed with MSG_CTRUNC. */
	{
		int i, n, ct = 0, passed = 0, cut = 0;

		for (i = 0; i < 20; i++) {
			if (i && (raw_put(cha, 100 + (uint64_t)i, p, 2) < 0 ||
				  raw_send(ch, &sa, ha[0], 100 + (uint64_t)i, 2, &err, &ms) !=
				  GRPC_STATUS_OK))
				break;
			n = raw_recv(ch, &sa, ha[1], &ct);
			if (n < 0)
				break;
			passed += n > 0; /* the first: A's message above, 1 fd */
			cut += n == 0 && ct;
		}
		CHECK(i == 20 && passed >= 1 && passed <= 8 && passed + cut == 20,
		      "an unread channel: %d receptions, %d passed, %d closed (want 1..8 "
		      "passed, the rest closed)", i, passed, cut);
	}

	/* Written, never announced, a sendmsg waiting with its descriptors
	 * in the broker, then killed. */
	CHECK(raw_put(cha, 11, p, 2) == 0 && raw_put(cha, 12, p, 1) == 0,
	      "uid 65534: unannounced messages written");
	CHECK(park_sendmsg(target, p[1]) == 0, "uid 65534: sb_sendmsg with descriptors did "
	      "not wait on a full socket: %s (%s)", strerror(errno), it_sberr());
	fflush(stdout);
	if (it_failures())
		return it_result();
	raise(SIGKILL);
	return 1;
}

/* ---- uid 65534 without handoff ---- */

static int child_denied(const char *target, const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	union ctlbuf u, r;
	struct iovec iov, riov;
	struct msghdr mh, rh;
	int s, p[2], got[4];
	char y = 0;
	sb_client *c;
	ssize_t n;

	if (it_drop_privileges(IT_NOBODY, IT_NOBODY - 1) < 0)
		return 1;
	c = sb_open(target);
	if (!CHECK(c != NULL, "uid 65534: sb_open: %s", strerror(errno)))
		return it_result();
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	s = sb_socket(c, AF_UNIX, SOCK_STREAM, 0);
	if (!CHECK(s >= 0 && sb_connect(c, s, (struct sockaddr *)&a, sizeof(a)) == 0,
		   "uid 65534: connect %s: %s (%s)", path, strerror(errno), it_sberr()))
		goto out;
	/* The parent sends a pipe's read end: closed, MSG_CTRUNC. */
	msg_room(&rh, &riov, &y, &r, sizeof(r.b));
	n = sb_recvmsg(c, s, &rh, 0);
	CHECK(n == 1 && (rh.msg_flags & MSG_CTRUNC) && msg_got(&rh, got, 4) == 0,
	      "uid 65534 without handoff: %zd bytes, flags 0x%x, %zu fds", n,
	      (unsigned)rh.msg_flags, msg_got(&rh, got, 4));
	if (!CHECK(pipe(p) == 0, "pipe"))
		goto out;
	msg_fds(&mh, &iov, "k", &u, p, 1);
	errno = 0;
	n = sb_sendmsg(c, s, &mh, 0);
	CHECK(n < 0 && errno == EACCES, "uid 65534 without handoff: sb_sendmsg %zd %s, "
	      "want EACCES", n, strerror(errno));
	/* Then a plain byte: the parent must see it, not the refused one. */
	CHECK(sb_send(c, s, "p", 1, 0) == 1, "plain send: %s", strerror(errno));
out:
	sb_close_client(c);
	return it_result();
}

static void run_denied(char *self)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char *args[] = { self, "--denied", b.target, a.sun_path, NULL };
	int lfd, nfd = -1, p[2] = { -1, -1 }, st = -1;
	char x = 0;
	pid_t pid;
	int64_t end;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s/denied.sock", b.dir);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
		   listen(lfd, 1) == 0 && chmod(a.sun_path, 0666) == 0,
		   "listener %s: %s", a.sun_path, strerror(errno)))
		return;
	pid = it_spawn_self(args);
	if (!CHECK(pid > 0, "spawn"))
		goto out;
	nfd = it_native_accept(lfd, NULL, NULL, 5000);
	if (CHECK(nfd >= 0 && pipe(p) == 0, "accept from the uid 65534 child: %s",
		  strerror(errno))) {
		union ctlbuf u;
		struct iovec iov;
		struct msghdr mh;

		msg_fds(&mh, &iov, "d", &u, p, 1);
		CHECK(sendmsg(nfd, &mh, MSG_NOSIGNAL) == 1, "sendmsg: %s", strerror(errno));
		CHECK(it_read_some(nfd, &x, 1, 5000) == 1 && x == 'p',
		      "the child's plain byte (got '%c'): the refused one arrived?", x);
	}
	end = it_now_ms() + 10000;
	while (waitpid(pid, &st, WNOHANG) == 0 && it_now_ms() < end)
		it_sleep_ms(20);
	if (!CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the denied child failed (0x%x)",
		   (unsigned)st)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (p[0] >= 0) {
		close(p[0]);
		p[0] = -1;
		signal(SIGPIPE, SIG_IGN);
		errno = 0;
		CHECK(write(p[1], "w", 1) < 0 && errno == EPIPE,
		      "a refused caller's broker kept the descriptor: %s", strerror(errno));
	}
out:
	if (nfd >= 0)
		close(nfd);
	if (p[1] >= 0)
		close(p[1]);
	close(lfd);
}

int main(int argc, char **argv)
{
	struct sockaddr_un la = { .sun_family = AF_UNIX }, da = { .sun_family = AF_UNIX },
			   ba = { .sun_family = AF_UNIX };
	char cfg[1024];
	sb_client *c, *c2;
	int sv[2], dv[2], s2[2], lfd, nfd, s, nd = -1, bd = -1, fds0, st;
	int64_t end;

	if (argc == 4 && !strcmp(argv[1], "--raw"))
		return child_raw(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "--denied"))
		return child_denied(argv[2], argv[3]);

	snprintf(cfg, sizeof(cfg),
		 "listen:\n"
		 "  - tcp: \"127.0.0.1:0\"\n"
		 "    insecure: true\n"
		 "policy:\n"
		 "  - name: root\n"
		 "    match: { uid: 0 }\n"
		 "    action: allow\n"
		 "  - name: nobody-handoff\n"
		 "    match: { uid: %d, gid: %d }\n"
		 "    action: allow\n"
		 "    ops: [socket, handoff]\n"
		 "  - name: nobody-plain\n"
		 "    match: { uid: %d, gid: %d }\n"
		 "    action: allow\n"
		 "    ops: [socket, connect]\n"
		 "    destinations: [\"unix:/tmp/\"]\n"
		 "  - name: anyone\n"
		 "    match: { any: true }\n"
		 "    action: allow\n"
		 "    ops: [socket, connect]\n"
		 "    destinations: [\"unix:/tmp/\"]\n",
		 IT_NOBODY, IT_NOBODY, IT_NOBODY, IT_NOBODY - 1);
	c = it_setup(&b, cfg, 120);
	if (chmod(b.dir, 0755) < 0 || chmod(b.sock, 0666) < 0)
		CHECK(0, "chmod %s: %s", b.sock, strerror(errno));
	fds0 = it_count_fds(b.pid);

	/* Broker socketpairs: stream with MSG_CMSG_CLOEXEC, datagram without. */
	if (CHECK(sb_socketpair(c, AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair: %s (%s)",
		  strerror(errno), it_sberr())) {
		broker_to_broker(c, sv[0], sv[1], 1, "stream pair");
		broker_to_broker(c, sv[1], sv[0], 0, "stream pair back");
	}
	if (CHECK(sb_socketpair(c, AF_UNIX, SOCK_DGRAM, 0, dv) == 0, "dgram socketpair: %s",
		  strerror(errno))) {
		broker_to_broker(c, dv[0], dv[1], 0, "dgram pair");
		broker_to_broker(c, dv[1], dv[0], 1, "dgram pair back");
		ctrunc(c, dv[0], dv[1]);
	}

	/* A broker Unix stream socket and a native peer. */
	snprintf(la.sun_path, sizeof(la.sun_path), "%s/native.sock", b.dir);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	s = sb_socket(c, AF_UNIX, SOCK_STREAM, 0);
	if (CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&la, sizeof(la)) == 0 &&
		  listen(lfd, 1) == 0 && s >= 0 &&
		  sb_connect(c, s, (struct sockaddr *)&la, sizeof(la)) == 0,
		  "Unix stream: %s (%s)", strerror(errno), it_sberr())) {
		nfd = it_native_accept(lfd, NULL, NULL, 3000);
		native_both_ways(c, s, nfd, NULL, NULL, "Unix stream");
		ctrunc(c, sv[0], sv[1]);
		close(nfd);
	}
	sb_close(c, s);
	close(lfd);

	/* Unix datagram sockets, both bound. */
	snprintf(da.sun_path, sizeof(da.sun_path), "%s/native.dgram", b.dir);
	snprintf(ba.sun_path, sizeof(ba.sun_path), "%s/broker.dgram", b.dir);
	nd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bd = sb_socket(c, AF_UNIX, SOCK_DGRAM, 0);
	if (CHECK(nd >= 0 && bind(nd, (struct sockaddr *)&da, sizeof(da)) == 0 && bd >= 0 &&
		  sb_bind(c, bd, (struct sockaddr *)&ba, sizeof(ba)) == 0,
		  "Unix datagram: %s (%s)", strerror(errno), it_sberr()))
		native_both_ways(c, bd, nd, &da, &ba, "Unix datagram");
	sb_close(c, bd);
	close(nd);

	if (sv[0] >= 0) {
		limits(c, sv[0], sv[1]);
		rate(c, sv[0], sv[1]);
		rate_many(c, sv[0], sv[1]);
		threads(c);
	}

	/* A second client: its fds go to its own sockets only. */
	c2 = sb_open(b.target);
	if (CHECK(c2 && sb_socketpair(c2, AF_UNIX, SOCK_STREAM, 0, s2) == 0,
		  "second client: %s", strerror(errno))) {
		broker_to_broker(c2, s2[0], s2[1], 1, "second client");
		broker_to_broker(c, sv[0], sv[1], 1, "first client after the second");
		CHECK(sb_recv(c2, s2[1], &st, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN,
		      "the second client's socket got a byte of the first");
	}
	sb_close_client(c2);

	tcp_session();
	receiver_unix(c);

	/* Uid 65534: raw misuse, then killed; without handoff. */
	{
		char *args[] = { argv[0], "--raw", b.target, b.sock, NULL };

		st = it_run_self(args, 30000);
		CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
		      "the raw uid 65534 part failed (status 0x%x)", (unsigned)st);
	}
	run_denied(argv[0]);

	sb_close(c, sv[0]);
	sb_close(c, sv[1]);
	sb_close(c, dv[0]);
	sb_close(c, dv[1]);
	/* The killed child's session ends with its connection. */
	end = it_now_ms() + 10000;
	while (it_count_fds(b.pid) > fds0 + 1 && it_now_ms() < end)
		it_sleep_ms(20);
	/* + 1: this client's hand-off channel stays. */
	CHECK(it_count_fds(b.pid) <= fds0 + 1, "broker fds %d, before %d (+1 for the channel)",
	      it_count_fds(b.pid), fds0);
	return it_teardown(&b, c);
}
