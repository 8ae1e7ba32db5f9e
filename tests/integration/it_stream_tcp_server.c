/* SPDX-License-Identifier: MIT
 * it_stream_tcp_server.c - an echo server over AcceptStream, the way an
 * application writes one with libsockbroker, against 50 concurrent native
 * clients over IPv4 (127.0.0.1) and 50 over IPv6 (::1) at once.
 *
 * Round 1: sb_tcp_server_sockets(NULL, "0") (one ephemeral port shared by
 *   the IPv4 and IPv6 wildcard listeners) + sb_accept_loop_many() in the
 *   main thread; the listeners stay open after the loop (they are ours).
 * Round 2: sb_tcp_server_loop(NULL, port) in a thread with a client of
 *   its own; the listeners are closed when the loop returns.
 * In both, the callback hands every accepted socket to a worker thread
 * that echoes with sb_recv/sb_send until EOF and sb_closes it, and stops
 * the loop after 100 connections by returning 42. Checks: every client
 * gets its own distinct message back, each callback's peer address is the
 * address of exactly one native client, the loop returns 42, and the
 * broker's sockets_open is back at the baseline at the end.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_client.h"

#define PER_FAMILY 50
#define MAX_CONN (2 * PER_FAMILY)
#define STOP_VALUE 42
#define MAX_MSG 4096

static struct it_broker b;
static int have_v6;

/* One native client. */
struct cli {
	int family;
	int idx;
	uint16_t port;                  /* the server's */
	struct sockaddr_storage local;  /* its own address, after connect */
	socklen_t locallen;
	int ok;                         /* got its message back */
	int matched;                    /* seen as a peer by a callback */
	pthread_t th;
};

/* One accepted connection, echoed by a worker. */
struct conn {
	sb_client *c;
	int s;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	pthread_t th;
	int started;
};

struct server {
	const char *what;
	int limit;
	int n;                          /* accepted so far */
	struct conn conns[MAX_CONN];
};

static void msg_of(const struct cli *k, char *buf, size_t *len)
{
	size_t n = (size_t)snprintf(buf, MAX_MSG, "client %d of family %d says hello;",
				    k->idx, k->family);
	size_t want = 20 + (size_t)k->idx * 61 % 3000;

	while (n < want) {
		buf[n] = (char)('a' + (n + (size_t)k->idx) % 26);
		n++;
	}
	*len = n;
}

static void *client_main(void *arg)
{
	struct cli *k = arg;
	struct sockaddr_storage ss;
	char out[MAX_MSG], in[MAX_MSG + 16];
	size_t len, got = 0;
	socklen_t sl = k->family == AF_INET ? it_addr4(&ss, "127.0.0.1", k->port)
					    : it_addr6(&ss, "::1", k->port);
	int64_t until = it_now_ms() + 5000;
	int fd = -1, tries = 0;

	msg_of(k, out, &len);
	/* Round 2 starts its listeners in another thread: retry a refusal
	 * for up to 5 s. */
	for (;;) {
		fd = socket(k->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			break;
		if (connect(fd, (struct sockaddr *)&ss, sl) == 0)
			break;
		close(fd);
		fd = -1;
		if (errno != ECONNREFUSED || it_now_ms() > until || ++tries > 1000)
			break;
		it_sleep_ms(5);
	}
	if (!CHECK(fd >= 0, "client %d/%d: connect to port %u: %s", k->family, k->idx,
		   k->port, strerror(errno)))
		return NULL;
	k->locallen = sizeof(k->local);
	getsockname(fd, (struct sockaddr *)&k->local, &k->locallen);
	if (!CHECK(it_write_full(fd, out, len) == 0 && shutdown(fd, SHUT_WR) == 0,
		   "client %d/%d: write: %s", k->family, k->idx, strerror(errno)))
		goto out;
	/* Read the echo up to EOF (the worker closes after echoing). */
	while (got <= MAX_MSG) {
		ssize_t r = it_read_some(fd, in + got, sizeof(in) - got, 10000);

		if (r <= 0) {
			CHECK(r == 0, "client %d/%d: read after %zu bytes: %s", k->family, k->idx,
			      got, strerror(errno));
			break;
		}
		got += (size_t)r;
	}
	k->ok = CHECK(got == len && !memcmp(in, out, len), "client %d/%d: echo of %zu bytes "
		      "came back as %zu bytes%s", k->family, k->idx, len, got,
		      got == len ? " with other content" : "");
out:
	close(fd);
	return NULL;
}

static void *worker_main(void *arg)
{
	struct conn *w = arg;
	char buf[1024];
	int calls = 0;

	for (;;) {
		ssize_t r = sb_recv_timeout(w->c, w->s, buf, sizeof(buf), 0, 10000);

		if (r == 0)
			break;
		if (!CHECK(r > 0, "worker of socket %d: sb_recv: %s %s", w->s, strerror(errno),
			   it_sberr()))
			break;
		if (!CHECK(it_sb_send_all(w->c, w->s, buf, (size_t)r, 10000) == 0,
			   "worker of socket %d: sb_send: %s %s", w->s, strerror(errno),
			   it_sberr()))
			break;
		if (!CHECK(++calls < 100, "worker of socket %d: more than 100 reads", w->s))
			break;
	}
	CHECK(sb_close(w->c, w->s) == 0, "worker: sb_close(%d): %s", w->s, strerror(errno));
	return NULL;
}

static int on_accept(sb_client *c, int s, const struct sockaddr *peer, socklen_t peerlen,
		     void *arg)
{
	struct server *sv = arg;
	struct conn *w;

	if (!CHECK(sv->n < MAX_CONN, "%s: callback called after it asked to stop", sv->what)) {
		sb_close(c, s);
		return -2;
	}
	w = &sv->conns[sv->n++];
	w->c = c;
	w->s = s;
	w->peerlen = peerlen <= sizeof(w->peer) ? peerlen : 0;
	if (w->peerlen)
		memcpy(&w->peer, peer, w->peerlen);
	if (CHECK(pthread_create(&w->th, NULL, worker_main, w) == 0, "%s: pthread_create",
		  sv->what))
		w->started = 1;
	else
		sb_close(c, s);
	return sv->n >= sv->limit ? STOP_VALUE : 0;
}

static int same_inet(const struct sockaddr_storage *a, socklen_t alen,
		     const struct sockaddr_storage *x, socklen_t xlen)
{
	if (a->ss_family != x->ss_family || alen != xlen)
		return 0;
	if (a->ss_family == AF_INET) {
		const struct sockaddr_in *p = (const void *)a, *q = (const void *)x;

		return p->sin_port == q->sin_port && p->sin_addr.s_addr == q->sin_addr.s_addr;
	}
	if (a->ss_family == AF_INET6) {
		const struct sockaddr_in6 *p = (const void *)a, *q = (const void *)x;

		return p->sin6_port == q->sin6_port &&
		       !memcmp(&p->sin6_addr, &q->sin6_addr, sizeof(p->sin6_addr));
	}
	return 0;
}

static int start_clients(struct cli *cl, uint16_t port)
{
	int i, n = 0;

	for (i = 0; i < MAX_CONN; i++) {
		int fam = i % 2 ? AF_INET6 : AF_INET;

		if (fam == AF_INET6 && !have_v6)
			continue;
		memset(&cl[n], 0, sizeof(cl[n]));
		cl[n].family = fam;
		cl[n].idx = i;
		cl[n].port = port;
		if (!CHECK(pthread_create(&cl[n].th, NULL, client_main, &cl[n]) == 0,
			   "pthread_create(client)"))
			break;
		n++;
	}
	return n;
}

/* Join everything of a round and check the peers and echoes. */
static void finish_round(struct server *sv, struct cli *cl, int ncli)
{
	int i, j, ok = 0;
	char a[128];

	for (i = 0; i < ncli; i++)
		pthread_join(cl[i].th, NULL);
	for (i = 0; i < sv->n; i++)
		if (sv->conns[i].started)
			pthread_join(sv->conns[i].th, NULL);
	CHECK(sv->n == ncli, "%s: %d connections accepted, want %d", sv->what, sv->n, ncli);
	for (i = 0; i < sv->n; i++) {
		struct conn *w = &sv->conns[i];
		int hits = 0;

		for (j = 0; j < ncli; j++)
			if (same_inet(&w->peer, w->peerlen, &cl[j].local, cl[j].locallen)) {
				hits++;
				cl[j].matched++;
			}
		CHECK(hits == 1, "%s: callback peer %s matches %d native clients, want 1",
		      sv->what, it_addr_str((struct sockaddr *)&w->peer, w->peerlen, a, sizeof(a)),
		      hits);
	}
	for (j = 0; j < ncli; j++) {
		CHECK(cl[j].matched == 1, "%s: native client %d (%s) seen %d times as a peer",
		      sv->what, cl[j].idx,
		      it_addr_str((struct sockaddr *)&cl[j].local, cl[j].locallen, a, sizeof(a)),
		      cl[j].matched);
		ok += cl[j].ok;
	}
	it_note("%s: %d/%d clients got their echo", sv->what, ok, ncli);
}

/* ---- round 2: sb_tcp_server_loop in a thread with its own client ---- */

struct loop_arg {
	sb_client *c;
	char port[8];
	struct server *sv;
	int rc, err;
};

static void *loop_main(void *arg)
{
	struct loop_arg *la = arg;

	la->rc = sb_tcp_server_loop(la->c, NULL, la->port, on_accept, la->sv);
	la->err = errno;
	return NULL;
}

/* A port free on 0.0.0.0 and [::] right now. */
static uint16_t free_port(void)
{
	int tries;

	for (tries = 0; tries < 20; tries++) {
		struct sockaddr_storage ss;
		socklen_t len = it_addr4(&ss, "0.0.0.0", 0);
		int f4 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), f6 = -1, one = 1;
		uint16_t port = 0;

		if (f4 >= 0 && bind(f4, (struct sockaddr *)&ss, len) == 0) {
			len = sizeof(ss);
			getsockname(f4, (struct sockaddr *)&ss, &len);
			port = it_port(&ss);
			if (have_v6) {
				f6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
				len = it_addr6(&ss, "::", port);
				setsockopt(f6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
				if (f6 < 0 || bind(f6, (struct sockaddr *)&ss, len) < 0)
					port = 0;
			}
		}
		if (f4 >= 0)
			close(f4);
		if (f6 >= 0)
			close(f6);
		if (port)
			return port;
	}
	return 0;
}

static int have_ipv6(void)
{
	struct sockaddr_storage ss;
	socklen_t len = it_addr6(&ss, "::1", 0);
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), ok;

	ok = fd >= 0 && bind(fd, (struct sockaddr *)&ss, len) == 0;
	if (fd >= 0)
		close(fd);
	return ok;
}

int main(void)
{
	static struct server sv1, sv2;
	static struct cli cl[MAX_CONN];
	struct sockaddr_storage ss;
	socklen_t len;
	grpc_channel *ch;
	struct loop_arg la;
	pthread_t lt;
	int64_t open0, open_now, t0;
	int socks[16], n, i, rc, ncli, fams = 0;
	uint16_t port = 0;
	sb_client *c, *c2;

	c = it_setup(&b, NULL, 50);
	ch = it_channel(&b);
	have_v6 = have_ipv6();
	if (!have_v6)
		it_note("IPv6 loopback unavailable in this kernel: IPv4 clients only");
	open0 = it_stats_sockets(ch);
	CHECK(open0 >= 0, "GetStats at the start");

	/* ---- round 1 ---- */
	sv1.what = "accept_loop_many";
	n = sb_tcp_server_sockets(c, NULL, "0", socks, 16);
	if (!CHECK(n >= 1, "sb_tcp_server_sockets(NULL, \"0\"): %d %s %s", n, strerror(errno),
		   it_sberr()))
		goto out;
	for (i = 0; i < n; i++) {
		uint16_t p;

		len = sizeof(ss);
		if (!CHECK(sb_getsockname(c, socks[i], (struct sockaddr *)&ss, &len) == 0,
			   "sb_getsockname(listener %d): %s", socks[i], strerror(errno)))
			continue;
		p = it_port(&ss);
		fams |= ss.ss_family == AF_INET ? 1 : ss.ss_family == AF_INET6 ? 2 : 4;
		CHECK(p != 0 && (!port || p == port), "listener %d on port %u, others on %u",
		      socks[i], p, port);
		if (!port)
			port = p;
	}
	CHECK((fams & 1) && (!have_v6 || (fams & 2)), "sb_tcp_server_sockets(NULL) made "
	      "listeners of families mask %d, want IPv4%s", fams, have_v6 ? " and IPv6" : "");
	ncli = start_clients(cl, port);
	sv1.limit = ncli;
	t0 = it_now_ms();
	rc = sb_accept_loop_many(c, socks, (size_t)n, on_accept, &sv1);
	CHECK(rc == STOP_VALUE, "sb_accept_loop_many returned %d (%s %s), want the callback's "
	      "%d", rc, strerror(errno), it_sberr(), STOP_VALUE);
	finish_round(&sv1, cl, ncli);
	it_note("round 1: %d connections in %lld ms", ncli, (long long)(it_now_ms() - t0));
	/* The listeners are still ours after the loop. */
	open_now = it_stats_sockets(ch);
	CHECK(open_now == open0 + n, "after round 1: sockets_open %lld, want %lld (the %d "
	      "listeners)", (long long)open_now, (long long)(open0 + n), n);
	for (i = 0; i < n; i++)
		CHECK(sb_close(c, socks[i]) == 0, "sb_close(listener %d) after the loop: %s",
		      socks[i], strerror(errno));

	/* ---- round 2 ---- */
	sv2.what = "tcp_server_loop";
	c2 = sb_open(b.target);
	if (!CHECK(c2 != NULL, "second sb_open: %s", strerror(errno)))
		goto out;
	port = free_port();
	if (!CHECK(port != 0, "no free port for round 2")) {
		sb_close_client(c2);
		goto out;
	}
	memset(&la, 0, sizeof(la));
	la.c = c2;
	la.sv = &sv2;
	snprintf(la.port, sizeof(la.port), "%u", port);
	sv2.limit = have_v6 ? MAX_CONN : PER_FAMILY;
	t0 = it_now_ms();
	if (!CHECK(pthread_create(&lt, NULL, loop_main, &la) == 0, "pthread_create(loop)")) {
		sb_close_client(c2);
		goto out;
	}
	ncli = start_clients(cl, port);
	pthread_join(lt, NULL);
	CHECK(la.rc == STOP_VALUE, "sb_tcp_server_loop returned %d (%s), want %d", la.rc,
	      strerror(la.err), STOP_VALUE);
	finish_round(&sv2, cl, ncli);
	it_note("round 2: %d connections in %lld ms", ncli, (long long)(it_now_ms() - t0));
	/* sb_tcp_server_loop closed its listeners: the port refuses. */
	{
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		len = it_addr4(&ss, "127.0.0.1", port);
		errno = 0;
		CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&ss, len) < 0 &&
		      errno == ECONNREFUSED, "connect to port %u after sb_tcp_server_loop "
		      "returned: %s, want ECONNREFUSED", port, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	sb_close_client(c2);
out:
	/* Everything closed: back at the baseline (bounded wait for the
	 * second session's end). */
	for (i = 0; i < 100; i++) {
		open_now = it_stats_sockets(ch);
		if (open_now == open0)
			break;
		it_sleep_ms(20);
	}
	CHECK(open_now == open0, "at the end: sockets_open %lld, want the baseline %lld",
	      (long long)open_now, (long long)open0);
	grpc_channel_destroy(ch);
	return it_teardown(&b, c);
}
