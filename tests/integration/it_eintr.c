/* SPDX-License-Identifier: MIT
 * it_eintr.c - signal storms: calls in flight complete correctly, on both
 * sides.
 *
 * 1. The broker: SIGHUP (a reload of its config, the one signal it takes
 *    besides the stopping ones) sent as fast as the test can, at most
 *    5,000 times in at most 15 s, while four client threads keep blocking
 *    calls in flight: blocking Recvs of 300 paced datagrams (every one
 *    arrives, in order), 100 Accepts of native connections, 100 Dials
 *    with a timeout to a native listener, a RecvStream of 300 datagrams
 *    from a native sender, and 20 Recvs with a 100 ms timeout on an idle
 *    socket (each EAGAIN, after 90 ms or more). The broker is alive afterwards, its log shows
 *    the reloads, and a new session works.
 * 2. The client: a SIGUSR1 handler installed without SA_RESTART and a
 *    thread signalling the calling thread every 200 us while it blocks in
 *    sb_recv() (the datagram comes after 500 ms), sb_accept() (the
 *    connection after 500 ms), sb_recv_timeout() of 300 ms on an idle
 *    socket and sb_acceptor_next() of 300 ms. As sockbroker.h rule 9
 *    says, the library restarts its waits after a handler returns: no
 *    call fails with EINTR, each returns what it would have without the
 *    signals, and the timeouts are not cut short (>= 290 ms).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_client.h"

#define DGRAMS 300
#define ACCEPTS 100
#define DIALS 100
#define IDLE_RECVS 20
#define MAX_HUPS 5000

static const char cfg[] =
	"policy:\n"
	"  - name: everyone\n"
	"    match: { any: true }\n"
	"    action: allow\n";

struct work {
	sb_client *c;
	struct sockaddr_storage ss;	/* a broker socket's / native listener's address */
	socklen_t len;
	int s, s2;
	int ok;
	char what[64];
};

static atomic_int workers_done;

/* Blocking Recvs of DGRAMS paced datagrams from a native sender. */
static void *w_recv(void *arg)
{
	struct work *w = arg;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), i, got = 0;

	for (i = 0; i < DGRAMS && fd >= 0; i++) {
		uint32_t v = (uint32_t)i, in = 0;

		if (sendto(fd, &v, sizeof(v), 0, (struct sockaddr *)&w->ss, w->len) < 0)
			break;
		if (sb_recv(w->c, w->s, &in, sizeof(in), 0) != (ssize_t)sizeof(in) || in != v)
			break;
		got++;
	}
	if (fd >= 0)
		close(fd);
	w->ok = got == DGRAMS;
	snprintf(w->what, sizeof(w->what), "blocking Recv: %d of %d in order (%s)", got,
		 DGRAMS, it_sberr());
	atomic_fetch_add(&workers_done, 1);
	return NULL;
}

/* Accepts of native connections, then timed-out Recvs on an idle socket. */
static void *w_accept(void *arg)
{
	struct work *w = arg;
	int i, got = 0, idle = 0;

	for (i = 0; i < ACCEPTS; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), s;

		if (fd < 0 || connect(fd, (struct sockaddr *)&w->ss, w->len) < 0) {
			if (fd >= 0)
				close(fd);
			break;
		}
		s = sb_accept(w->c, w->s, NULL, NULL);
		close(fd);
		if (s < 0)
			break;
		sb_close(w->c, s);
		got++;
	}
	for (i = 0; i < IDLE_RECVS; i++) {
		char b;
		int64_t t0 = it_now_ms();
		ssize_t n = sb_recv_timeout(w->c, w->s2, &b, 1, 0, 100);

		if (n < 0 && errno == EAGAIN && it_now_ms() - t0 >= 90)
			idle++;
	}
	w->ok = got == ACCEPTS && idle == IDLE_RECVS;
	snprintf(w->what, sizeof(w->what), "Accept %d of %d, idle timeouts %d of %d", got,
		 ACCEPTS, idle, IDLE_RECVS);
	atomic_fetch_add(&workers_done, 1);
	return NULL;
}

/* Dials with a timeout to a native listener (w->s: its fd). */
static void *w_dial(void *arg)
{
	struct work *w = arg;
	char port[16];
	int i, got = 0;

	snprintf(port, sizeof(port), "%u", it_port(&w->ss));
	for (i = 0; i < DIALS; i++) {
		int s = sb_tcp_connect(w->c, "127.0.0.1", port, NULL, NULL, 3000), fd;

		if (s < 0)
			break;
		fd = it_native_accept(w->s, NULL, NULL, 3000);
		if (fd >= 0)
			close(fd);
		sb_close(w->c, s);
		if (fd < 0)
			break;
		got++;
	}
	w->ok = got == DIALS;
	snprintf(w->what, sizeof(w->what), "Dial %d of %d (%s)", got, DIALS, it_sberr());
	atomic_fetch_add(&workers_done, 1);
	return NULL;
}

/* A RecvStream of DGRAMS datagrams from a native sender. */
static void *w_stream(void *arg)
{
	struct work *w = arg;
	sb_receiver *r = sb_receiver_open(w->c, w->s);
	int i, got = 0, err = 0, fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	for (i = 0; i < DGRAMS && r && fd >= 0; i++) {
		uint32_t v = (uint32_t)i, in = 0;

		if (sendto(fd, &v, sizeof(v), 0, (struct sockaddr *)&w->ss, w->len) < 0)
			break;
		if (sb_receiver_next(r, &in, sizeof(in), NULL, NULL, 5000) !=
		    (ssize_t)sizeof(in) || in != v)
			break;
		got++;
	}
	err = errno;
	if (fd >= 0)
		close(fd);
	sb_receiver_close(r);
	w->ok = got == DGRAMS;
	snprintf(w->what, sizeof(w->what), "RecvStream %d of %d (%s)", got, DGRAMS,
		 got == DGRAMS ? "" : strerror(err));
	atomic_fetch_add(&workers_done, 1);
	return NULL;
}

static int count_in_log(const char *log, const char *needle)
{
	char line[512];
	int n = 0;
	FILE *f = fopen(log, "re");

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	if (f)
		fclose(f);
	return n;
}

static void broker_storm(struct it_broker *b, sb_client *c)
{
	struct work w[4];
	pthread_t th[4];
	struct sockaddr_storage ss;
	socklen_t len = it_addr4(&ss, "127.0.0.1", 0);
	int i, hups = 0, nl, sv[2];
	int64_t t0, until;
	sb_client *n;

	memset(w, 0, sizeof(w));
	for (i = 0; i < 4; i++)
		w[i].c = c;
	/* Recv: a bound UDP socket. */
	w[0].s = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	w[0].len = sizeof(w[0].ss);
	CHECK(w[0].s >= 0 && sb_bind(c, w[0].s, (struct sockaddr *)&ss, len) == 0 &&
	      sb_getsockname(c, w[0].s, (struct sockaddr *)&w[0].ss, &w[0].len) == 0,
	      "UDP socket: %s", it_sberr());
	/* Accept: a listener; an idle datagram pair for the timeouts. */
	w[1].s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	w[1].len = sizeof(w[1].ss);
	CHECK(w[1].s >= 0 && sb_bind(c, w[1].s, (struct sockaddr *)&ss, len) == 0 &&
	      sb_listen(c, w[1].s, 16) == 0 &&
	      sb_getsockname(c, w[1].s, (struct sockaddr *)&w[1].ss, &w[1].len) == 0 &&
	      sb_socketpair(c, AF_UNIX, SOCK_DGRAM, 0, sv) == 0, "listener: %s", it_sberr());
	w[1].s2 = sv[0];
	/* Dial: a native listener. */
	nl = it_native_listener(AF_INET, "127.0.0.1", &w[2].ss, &w[2].len);
	w[2].s = nl;
	/* RecvStream: another bound UDP socket. */
	w[3].s = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	w[3].len = sizeof(w[3].ss);
	CHECK(w[3].s >= 0 && sb_bind(c, w[3].s, (struct sockaddr *)&ss, len) == 0 &&
	      sb_getsockname(c, w[3].s, (struct sockaddr *)&w[3].ss, &w[3].len) == 0,
	      "UDP socket: %s", it_sberr());

	pthread_create(&th[0], NULL, w_recv, &w[0]);
	pthread_create(&th[1], NULL, w_accept, &w[1]);
	pthread_create(&th[2], NULL, w_dial, &w[2]);
	pthread_create(&th[3], NULL, w_stream, &w[3]);
	t0 = it_now_ms();
	until = t0 + 15000;
	while (atomic_load(&workers_done) < 4 && it_now_ms() < until) {
		if (hups < MAX_HUPS) {
			if (kill(b->pid, SIGHUP) == 0)
				hups++;
			usleep(200);
		} else {
			it_sleep_ms(10);
		}
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		CHECK(w[i].ok, "under a SIGHUP storm: %s", w[i].what);
		it_note("%s", w[i].what);
	}
	it_note("%d SIGHUPs in %lld ms; the log shows %d reloads", hups,
		(long long)(it_now_ms() - t0), count_in_log(b->log, "reloaded"));
	CHECK(hups >= 500, "only %d SIGHUPs sent while the calls ran", hups);
	CHECK(kill(b->pid, 0) == 0, "the broker is gone after the storm");
	CHECK(count_in_log(b->log, "reloaded") > 0, "no reload in the broker's log");
	n = sb_open(b->target);
	CHECK(n != NULL && sb_socket(n, AF_INET, SOCK_DGRAM, 0) >= 0,
	      "a new session after the storm: %s", it_sberr());
	sb_close_client(n);
	close(nl);
}

/* ---- 2: the client under signals ---- */

static atomic_int handled;
static atomic_int storm_on;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add(&handled, 1);
}

struct target {
	pthread_t th;
};

static void *signaller(void *arg)
{
	struct target *t = arg;
	int i;

	for (i = 0; i < 200000 && atomic_load(&storm_on); i++) {
		pthread_kill(t->th, SIGUSR1);
		usleep(200);
	}
	return NULL;
}

struct later {
	struct sockaddr_storage ss;
	socklen_t len;
	int stream;	/* 1: connect, 0: send a datagram */
};

static void *do_later(void *arg)
{
	struct later *l = arg;
	int fd = socket(AF_INET, (l->stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);

	it_sleep_ms(500);
	if (fd < 0)
		return NULL;
	if (l->stream) {
		if (connect(fd, (struct sockaddr *)&l->ss, l->len) == 0)
			it_sleep_ms(1000);
	} else {
		sendto(fd, "late", 4, 0, (struct sockaddr *)&l->ss, l->len);
	}
	close(fd);
	return NULL;
}

static void client_storm(sb_client *c)
{
	struct sockaddr_storage ss;
	socklen_t len = it_addr4(&ss, "127.0.0.1", 0);
	struct sigaction sa;
	struct target t = { .th = pthread_self() };
	struct later lu = { .stream = 0 }, lt = { .stream = 1 };
	pthread_t sig_th, later_th;
	sb_acceptor *acc;
	char buf[16];
	int u, l, idle[2], h0, s;
	ssize_t n;
	int64_t t0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = 0;	/* no SA_RESTART: the kernel fails slow calls with EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	u = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	l = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	lu.len = lt.len = sizeof(ss);
	CHECK(u >= 0 && l >= 0 && sb_bind(c, u, (struct sockaddr *)&ss, len) == 0 &&
	      sb_bind(c, l, (struct sockaddr *)&ss, len) == 0 && sb_listen(c, l, 4) == 0 &&
	      sb_getsockname(c, u, (struct sockaddr *)&lu.ss, &lu.len) == 0 &&
	      sb_getsockname(c, l, (struct sockaddr *)&lt.ss, &lt.len) == 0 &&
	      sb_socketpair(c, AF_UNIX, SOCK_DGRAM, 0, idle) == 0, "sockets: %s", it_sberr());

	atomic_store(&storm_on, 1);
	pthread_create(&sig_th, NULL, signaller, &t);

	h0 = atomic_load(&handled);
	pthread_create(&later_th, NULL, do_later, &lu);
	n = sb_recv(c, u, buf, sizeof(buf), 0);
	CHECK(n == 4 && !memcmp(buf, "late", 4), "sb_recv under signals: %zd (%s, %s)", n,
	      n < 0 ? strerror(errno) : "", it_sberr());
	pthread_join(later_th, NULL);
	it_note("sb_recv: %d signals handled while it waited", atomic_load(&handled) - h0);

	h0 = atomic_load(&handled);
	pthread_create(&later_th, NULL, do_later, &lt);
	s = sb_accept(c, l, NULL, NULL);
	CHECK(s >= 0, "sb_accept under signals: %s (%s)", strerror(errno), it_sberr());
	if (s >= 0)
		sb_close(c, s);
	pthread_join(later_th, NULL);
	it_note("sb_accept: %d signals handled while it waited", atomic_load(&handled) - h0);

	t0 = it_now_ms();
	n = sb_recv_timeout(c, idle[0], buf, sizeof(buf), 0, 300);
	CHECK(n < 0 && errno == EAGAIN && it_now_ms() - t0 >= 290,
	      "sb_recv_timeout(300 ms) under signals: %zd %s after %lld ms; want EAGAIN "
	      "after >= 290 ms", n, strerror(errno), (long long)(it_now_ms() - t0));

	acc = sb_acceptor_open(c, l);
	t0 = it_now_ms();
	s = acc ? sb_acceptor_next(acc, NULL, NULL, 300) : -1;
	CHECK(s < 0 && errno == EAGAIN && it_now_ms() - t0 >= 290,
	      "sb_acceptor_next(300 ms) under signals: %d %s after %lld ms; want EAGAIN "
	      "after >= 290 ms", s, strerror(errno), (long long)(it_now_ms() - t0));
	sb_acceptor_close(acc);

	atomic_store(&storm_on, 0);
	pthread_join(sig_th, NULL);
	it_note("client: %d SIGUSR1 handled in all", atomic_load(&handled));
	CHECK(atomic_load(&handled) >= 100, "only %d signals reached the calling thread",
	      atomic_load(&handled));
	signal(SIGUSR1, SIG_IGN);
}

int main(void)
{
	struct it_broker b;
	sb_client *c = it_setup(&b, cfg, 120);

	broker_storm(&b, c);
	client_storm(c);
	return it_teardown(&b, c);
}
