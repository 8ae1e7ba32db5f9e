/* SPDX-License-Identifier: MIT
 * it_dial.c - Dial through sb_tcp_connect / sb_unix_connect and raw calls:
 * fall-through from a refusing address, Happy Eyeballs' 250 ms delay past
 * an address that never answers, connect and resolve timeouts, resolver
 * errors as sb_getaddrinfo gives them, local bind, options set before the
 * connect (sb_tcp_connect_opts: read back with sb_getsockopt; SO_MARK
 * refused by a rule that does not name it), policy per address, Unix
 * paths and abstract names, the errors a malformed or session-less Dial
 * gets, and threads dialling at once (the client's DialStream and Dial
 * calls side by side).
 *
 * The test moves into new network and mount namespaces (the brokers are
 * started after and share them): loopback up, 2001:db8:1::1 on it,
 * 2001:db8:2::/48 and 198.51.100.0/24 routed to it (SYNs there are dropped,
 * so connects to them never answer), a hosts file of its own and a
 * resolv.conf whose name server never answers. Skipped (77) when the
 * kernel refuses the namespaces or the mounts.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "it_client.h"

#define HOSTS \
	"::1 dual.test\n127.0.0.1 dual.test\n" \
	"2001:db8:2::2 he.test\n127.0.0.1 he.test\n" \
	"::1 denied.test\n127.0.0.5 denied.test\n"
#define RESOLV "nameserver 198.51.100.2\noptions timeout:3 attempts:1\n"

#define POLICY \
	"policy:\n" \
	"  - name: no-v6-loopback\n" \
	"    match: { uid: 0 }\n" \
	"    action: deny\n" \
	"    destinations: [\"::1/128\", 127.0.0.5/32]\n" \
	"  - name: no-local-3\n" \
	"    match: { uid: 0 }\n" \
	"    action: deny\n" \
	"    bind: [127.0.0.3/32]\n" \
	"  - name: root\n" \
	"    match: { uid: 0 }\n" \
	"    action: allow\n"

static char tmpdir[64];

static int run(const char *cmd)
{
	return system(cmd) == 0 ? 0 : -1;
}

static int put(const char *name, const char *text, char *path, size_t n)
{
	FILE *f;

	snprintf(path, n, "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static void setup_namespaces(void)
{
	char hosts[128], resolv[128];

	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
		it_skip("unshare(CLONE_NEWNET|CLONE_NEWNS): %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		it_skip("mount --make-rprivate /: %s", strerror(errno));
	if (run("ip link set lo up") < 0 ||
	    run("ip route add 198.51.100.0/24 dev lo") < 0 ||
	    run("ip -6 addr add 2001:db8:1::1/128 dev lo nodad") < 0 ||
	    run("ip -6 route add 2001:db8:2::/48 dev lo") < 0)
		it_skip("cannot set up loopback, addresses and routes in the namespace");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/it_dial.XXXXXX");
	if (!mkdtemp(tmpdir) || put("hosts", HOSTS, hosts, sizeof(hosts)) < 0 ||
	    put("resolv.conf", RESOLV, resolv, sizeof(resolv)) < 0)
		it_skip("cannot write the hosts file: %s", strerror(errno));
	if (mount(hosts, "/etc/hosts", NULL, MS_BIND, NULL) < 0 ||
	    mount(resolv, "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0)
		it_skip("bind-mounting /etc/hosts, /etc/resolv.conf: %s", strerror(errno));
}

static void cleanup_files(void)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/hosts", tmpdir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/resolv.conf", tmpdir);
	unlink(p);
	rmdir(tmpdir);
}

/* The peer of broker socket @s as text. */
static const char *peer_of(sb_client *c, int s, char *buf, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (sb_getpeername(c, s, (struct sockaddr *)&ss, &len) < 0)
		return "(none)";
	return it_addr_str((struct sockaddr *)&ss, len, buf, n);
}

/* One byte each way between broker socket @s and native listener @lfd,
 * then sb_close. Return: 1 when it all worked. */
static int exchange(sb_client *c, int s, int lfd, const char *what)
{
	char b = 0;
	int afd = it_native_accept(lfd, NULL, NULL, 2000), ok;

	ok = CHECK(afd >= 0, "%s: the listener saw no connection", what);
	ok = ok && CHECK(sb_send(c, s, "x", 1, 0) == 1, "%s: sb_send: %s", what, strerror(errno));
	ok = ok && CHECK(it_read_full(afd, &b, 1, 2000) == 0 && b == 'x', "%s: byte not received",
			 what);
	ok = ok && CHECK(write(afd, "y", 1) == 1, "%s: native write", what);
	ok = ok && CHECK(sb_recv(c, s, &b, 1, 0) == 1 && b == 'y', "%s: sb_recv", what);
	ok = CHECK(sb_close(c, s) == 0, "%s: sb_close: %s", what, strerror(errno)) && ok;
	if (afd >= 0)
		close(afd);
	return ok;
}

static int listener(int family, const char *ip, uint16_t port, struct sockaddr_storage *ss)
{
	socklen_t len = family == AF_INET ? it_addr4(ss, ip, port) : it_addr6(ss, ip, port);
	int one = 1, fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)ss, len) < 0 || listen(fd, 16) < 0) {
		close(fd);
		return -1;
	}
	len = sizeof(*ss);
	getsockname(fd, (struct sockaddr *)ss, &len);
	return fd;
}

static void test_fall_through(sb_client *c, int lfd, const char *port)
{
	char buf[96];
	int64_t t0 = it_now_ms(), el;
	int s = sb_tcp_connect(c, "dual.test", port, NULL, NULL, 2000);

	el = it_now_ms() - t0;
	if (!CHECK(s >= 0, "dual.test (::1 refuses, 127.0.0.1 listens): %s %s", strerror(errno),
		   it_sberr()))
		return;
	peer_of(c, s, buf, sizeof(buf));
	CHECK(strncmp(buf, "127.0.0.1:", 10) == 0, "dual.test: peer %s, want 127.0.0.1", buf);
	CHECK(el < 200, "dual.test: a refusal moves on at once, took %lld ms", (long long)el);
	exchange(c, s, lfd, "dual.test");
}

static void test_happy_eyeballs(sb_client *c, int lfd, const char *port)
{
	char buf[96];
	int64_t t0 = it_now_ms(), el;
	int s = sb_tcp_connect(c, "he.test", port, NULL, NULL, 5000);

	el = it_now_ms() - t0;
	if (!CHECK(s >= 0, "he.test (2001:db8:2::2 silent, then 127.0.0.1): %s %s",
		   strerror(errno), it_sberr()))
		return;
	peer_of(c, s, buf, sizeof(buf));
	CHECK(strncmp(buf, "127.0.0.1:", 10) == 0, "he.test: peer %s, want 127.0.0.1", buf);
	CHECK(el >= 200 && el < 1500, "he.test: second attempt after the 250 ms delay, "
	      "connected after %lld ms", (long long)el);
	exchange(c, s, lfd, "he.test");
}

/* A local port and no local host: the IPv6 attempt binds [::]:P, which
 * without IPV6_V6ONLY takes 0.0.0.0:P too, and the IPv4 attempt racing it
 * found its port in use (EADDRINUSE) and the dial waited for the silent
 * IPv6 address. As a getaddrinfo loop with bind(2) each: IPv4 wins. */
static void test_happy_eyeballs_local_port(sb_client *c, int lfd, const char *port)
{
	struct sockaddr_storage ss, peer;
	socklen_t len = sizeof(peer);
	char lport[8], want[32], buf[96];
	int64_t t0, el;
	int fd = listener(AF_INET, "127.0.0.1", 0, &ss), s, afd;

	if (!CHECK(fd >= 0, "a free port: %s", strerror(errno)))
		return;
	close(fd);
	snprintf(lport, sizeof(lport), "%u", it_port(&ss));
	t0 = it_now_ms();
	s = sb_tcp_connect(c, "he.test", port, NULL, lport, 3000);
	el = it_now_ms() - t0;
	if (!CHECK(s >= 0, "he.test from port %s: %s %s", lport, strerror(errno), it_sberr()))
		return;
	CHECK(el < 1500, "he.test from port %s: connected after %lld ms", lport, (long long)el);
	afd = it_native_accept(lfd, &peer, &len, 2000);
	it_addr_str((struct sockaddr *)&peer, len, buf, sizeof(buf));
	snprintf(want, sizeof(want), "127.0.0.1:%s", lport);
	CHECK(afd >= 0 && strcmp(buf, want) == 0, "he.test: the server saw %s, want %s", buf,
	      want);
	if (afd >= 0)
		close(afd);
	sb_close(c, s);
}

static void test_timeouts(sb_client *c, grpc_channel *ch)
{
	int64_t before = it_stats_sockets(ch), t0, el;
	int s, e;

	t0 = it_now_ms();
	s = sb_tcp_connect(c, "198.51.100.2", "80", NULL, NULL, 300);
	e = errno;
	el = it_now_ms() - t0;
	CHECK(s == -1 && e == ETIMEDOUT && sb_last_eai() == 0,
	      "connect timeout: %d %s eai %d, want -1 ETIMEDOUT", s, strerror(e), sb_last_eai());
	CHECK(el >= 250 && el < 2000, "connect timeout of 300 ms took %lld ms", (long long)el);

	/* The name server never answers: the resolve timeout bounds the wait. */
	t0 = it_now_ms();
	s = sb_tcp_connect(c, "nowhere.test", "80", NULL, NULL, 300);
	e = errno;
	el = it_now_ms() - t0;
	CHECK(s == -1 && e == ETIMEDOUT && sb_last_eai() == EAI_AGAIN,
	      "resolve timeout: %d %s eai %d, want -1 ETIMEDOUT EAI_AGAIN (%s)", s, strerror(e),
	      sb_last_eai(), it_sberr());
	CHECK(el >= 250 && el < 2000, "resolve timeout of 300 ms took %lld ms", (long long)el);
	CHECK(it_stats_sockets(ch) == before, "failed dials left sockets in the broker");
}

static void test_eai(sb_client *c, int lfd, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	int want = sb_getaddrinfo(c, "127.0.0.1", "no-such-service", &hints, &res);
	int s, e;

	sb_freeaddrinfo(res);
	s = sb_tcp_connect(c, "127.0.0.1", "no-such-service", NULL, NULL, 2000);
	e = errno;
	CHECK(want != 0 && s == -1 && sb_last_eai() == want && e == EADDRNOTAVAIL &&
	      strstr(it_sberr(), gai_strerror(want)),
	      "unknown service: %d %s eai %d (%s), want -1 EADDRNOTAVAIL eai %d as sb_getaddrinfo",
	      s, strerror(e), sb_last_eai(), it_sberr(), want);
	/* A success clears it. */
	s = sb_tcp_connect(c, "127.0.0.1", port, NULL, NULL, 2000);
	CHECK(s >= 0 && sb_last_eai() == 0, "numeric dial: %s, eai %d", strerror(errno),
	      sb_last_eai());
	if (s >= 0)
		exchange(c, s, lfd, "numeric");

	/* sb_tcp_connect_fd the same: set by a resolver failure, cleared by
	 * any other outcome (here a refused connect). */
	s = sb_tcp_connect_fd(c, "127.0.0.1", "no-such-service", 2000);
	e = errno;
	CHECK(s == -1 && sb_last_eai() == want && e == EADDRNOTAVAIL &&
	      strstr(it_sberr(), gai_strerror(want)),
	      "connect_fd, unknown service: %d %s eai %d (%s), want -1 EADDRNOTAVAIL eai %d",
	      s, strerror(e), sb_last_eai(), it_sberr(), want);
	s = sb_tcp_connect_fd(c, "127.0.0.1", "1", 2000);
	e = errno;
	CHECK(s == -1 && e == ECONNREFUSED && sb_last_eai() == 0,
	      "connect_fd to a closed port: %d %s eai %d, want -1 ECONNREFUSED eai 0", s,
	      strerror(e), sb_last_eai());
	if (s >= 0)
		close(s);
}

static void test_local_bind(sb_client *c, int lfd, const char *port)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	char buf[96];
	int s = sb_tcp_connect(c, "127.0.0.1", port, "127.0.0.2", NULL, 2000), afd;

	if (!CHECK(s >= 0, "local 127.0.0.2: %s %s", strerror(errno), it_sberr()))
		return;
	afd = it_native_accept(lfd, &peer, &len, 2000);
	it_addr_str((struct sockaddr *)&peer, len, buf, sizeof(buf));
	CHECK(afd >= 0 && strncmp(buf, "127.0.0.2:", 10) == 0,
	      "local bind: the server saw %s, want 127.0.0.2", buf);
	if (afd >= 0)
		close(afd);
	sb_close(c, s);
}

static void test_unix(sb_client *c, grpc_channel *ch)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char path[128], buf[8];
	int lfd, s;

	snprintf(path, sizeof(path), "%s/u.sock", tmpdir);
	strcpy(sun.sun_path, path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == 0 &&
		   listen(lfd, 4) == 0, "unix listener: %s", strerror(errno)))
		return;
	s = sb_unix_connect(c, path);
	if (CHECK(s >= 0, "sb_unix_connect(%s): %s %s", path, strerror(errno), it_sberr()))
		exchange(c, s, lfd, "unix path");
	close(lfd);
	unlink(path);
	s = sb_unix_connect(c, path);
	CHECK(s == -1 && errno == ENOENT, "sb_unix_connect(absent): %d %s, want ENOENT", s,
	      strerror(errno));

	/* "@name": the abstract namespace. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(buf, sizeof(buf), "d%d", (int)getpid() % 100000);
	memcpy(sun.sun_path + 1, buf, strlen(buf));
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&sun,
				    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
						strlen(buf))) == 0 && listen(lfd, 4) == 0,
		   "abstract listener: %s", strerror(errno)))
		return;
	snprintf(path, sizeof(path), "@%s", buf);
	s = sb_unix_connect(c, path);
	if (CHECK(s >= 0, "sb_unix_connect(%s): %s %s", path, strerror(errno), it_sberr()))
		exchange(c, s, lfd, "unix abstract");
	close(lfd);

	/* As the kernel: a path filling sun_path (no NUL) and "@" with a
	 * 107-byte abstract name. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memset(path, 0, sizeof(path));
	snprintf(path, sizeof(path), "%s/", tmpdir);
	memset(path + strlen(path), 'L', sizeof(sun.sun_path) - strlen(path));
	memcpy(sun.sun_path, path, sizeof(sun.sun_path));
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == 0 &&
		  listen(lfd, 4) == 0, "108-byte path listener: %s", strerror(errno))) {
		s = sb_unix_connect(c, path);
		if (CHECK(s >= 0, "sb_unix_connect(108-byte path): %s %s", strerror(errno),
			  it_sberr()))
			exchange(c, s, lfd, "unix 108-byte path");
		unlink(path);
	}
	if (lfd >= 0)
		close(lfd);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memset(sun.sun_path + 1, 'a', sizeof(sun.sun_path) - 1);
	snprintf(buf, sizeof(buf), "%05d", (int)getpid() % 100000);
	memcpy(sun.sun_path + 1, buf, strlen(buf));
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (CHECK(lfd >= 0 && bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == 0 &&
		  listen(lfd, 4) == 0, "107-byte abstract listener: %s", strerror(errno))) {
		path[0] = '@';
		memcpy(path + 1, sun.sun_path + 1, sizeof(sun.sun_path) - 1);
		path[sizeof(sun.sun_path)] = '\0';
		s = sb_unix_connect(c, path);
		if (CHECK(s >= 0, "sb_unix_connect(@ + 107 bytes): %s %s", strerror(errno),
			  it_sberr()))
			exchange(c, s, lfd, "unix 107-byte abstract name");
	}
	if (lfd >= 0)
		close(lfd);
	memset(path, 'x', sizeof(sun.sun_path) + 1);
	path[sizeof(sun.sun_path) + 1] = '\0';
	s = sb_unix_connect(c, path);
	CHECK(s == -1 && errno == ENAMETOOLONG, "sb_unix_connect(109 bytes): %d %s, want "
	      "ENAMETOOLONG", s, strerror(errno));
	CHECK(it_wait_sockets(ch, 0, 2000) == 0, "sockets left after the unix dials");
}

/* Raw Dial calls: options applied, and what the broker refuses. */
static void test_raw(grpc_channel *ch, int lfd, uint16_t port)
{
	Sockbroker__V1__DialRequest req = SOCKBROKER__V1__DIAL_REQUEST__INIT;
	Sockbroker__V1__DialOption o1 = SOCKBROKER__V1__DIAL_OPTION__INIT;
	Sockbroker__V1__DialOption o2 = SOCKBROKER__V1__DIAL_OPTION__INIT;
	Sockbroker__V1__SockOptValue v1 = SOCKBROKER__V1__SOCK_OPT_VALUE__INIT;
	Sockbroker__V1__SockOptValue v2 = SOCKBROKER__V1__SOCK_OPT_VALUE__INIT;
	Sockbroker__V1__DialOption *opts[2] = { &o1, &o2 };
	Sockbroker__V1__GetSockOptRequest g = SOCKBROKER__V1__GET_SOCK_OPT_REQUEST__INIT;
	Sockbroker__V1__DialReply *rep = NULL;
	Sockbroker__V1__GetSockOptReply *gr;
	struct it_session s1, s2;
	struct it_reply r;
	uint8_t rawb[4] = { 1, 0, 0, 0 };
	char pbuf[8];

	if (!CHECK(it_session_open(ch, &s1, 5000) == 0 && it_session_open(ch, &s2, 5000) == 0,
		   "raw sessions"))
		return;
	snprintf(pbuf, sizeof(pbuf), "%u", port);
	req.host = "127.0.0.1";
	req.service = pbuf;
	o1.level = SOCKBROKER__V1__OPTION_LEVEL__SOL_TCP;
	o1.name = SOCKBROKER__V1__TCP_OPTION__TCP_NODELAY;
	v1.value_case = SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_INT_VALUE;
	v1.int_value = 1;
	o1.value = &v1;
	o2.level = SOCKBROKER__V1__OPTION_LEVEL__SOL_SOCKET;
	o2.name = SOCKBROKER__V1__SOCKET_OPTION__SO_KEEPALIVE;
	v2.value_case = SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_INT_VALUE;
	v2.int_value = 1;
	o2.value = &v2;
	req.n_options = 2;
	req.options = opts;
	it_call(ch, IT_SVC "Dial", &req.base, s1.token, 5000, &r);
	if (r.status == GRPC_STATUS_OK)
		rep = sockbroker__v1__dial_reply__unpack(NULL, r.len, r.data);
	CHECK(rep && rep->handle && !rep->error && rep->peer && rep->local,
	      "Dial with TCP_NODELAY, SO_KEEPALIVE: %s %s", it_status_name(r.status), r.details);
	it_reply_free(&r);
	if (rep) {
		int afd = it_native_accept(lfd, NULL, NULL, 2000);

		CHECK(afd >= 0, "raw Dial: the listener saw no connection");
		if (afd >= 0)
			close(afd);
		g.handle = rep->handle;
		g.level = SOCKBROKER__V1__OPTION_LEVEL__SOL_TCP;
		g.name = SOCKBROKER__V1__TCP_OPTION__TCP_NODELAY;
		it_call(ch, IT_SVC "GetSockOpt", &g.base, s1.token, 5000, &r);
		gr = r.status == GRPC_STATUS_OK
			? sockbroker__v1__get_sock_opt_reply__unpack(NULL, r.len, r.data) : NULL;
		CHECK(gr && gr->value && gr->value->int_value != 0, "TCP_NODELAY not set by Dial");
		if (gr)
			sockbroker__v1__get_sock_opt_reply__free_unpacked(gr, NULL);
		it_reply_free(&r);
		g.level = SOCKBROKER__V1__OPTION_LEVEL__SOL_SOCKET;
		g.name = SOCKBROKER__V1__SOCKET_OPTION__SO_KEEPALIVE;
		it_call(ch, IT_SVC "GetSockOpt", &g.base, s1.token, 5000, &r);
		gr = r.status == GRPC_STATUS_OK
			? sockbroker__v1__get_sock_opt_reply__unpack(NULL, r.len, r.data) : NULL;
		CHECK(gr && gr->value && gr->value->int_value != 0, "SO_KEEPALIVE not set by Dial");
		if (gr)
			sockbroker__v1__get_sock_opt_reply__free_unpacked(gr, NULL);
		it_reply_free(&r);
		/* The handle is this session's only. */
		it_call(ch, IT_SVC "GetSockOpt", &g.base, s2.token, 5000, &r);
		CHECK(r.status == GRPC_STATUS_NOT_FOUND, "another session's GetSockOpt on the "
		      "dialled handle: %s, want NOT_FOUND", it_status_name(r.status));
		it_reply_free(&r);
		sockbroker__v1__dial_reply__free_unpacked(rep, NULL);
	}

	/* A raw option value is refused, and so is an option without a type. */
	v2.value_case = SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_RAW;
	v2.raw.data = rawb;
	v2.raw.len = sizeof(rawb);
	it_call(ch, IT_SVC "Dial", &req.base, s1.token, 5000, &r);
	CHECK(r.status == GRPC_STATUS_INVALID_ARGUMENT && r.sb_errno == 22,
	      "Dial with a raw option: %s errno %d, want INVALID_ARGUMENT EINVAL",
	      it_status_name(r.status), r.sb_errno);
	it_reply_free(&r);
	req.n_options = 0;

	/* host and address together; neither. */
	{
		Sockbroker__V1__Address a = SOCKBROKER__V1__ADDRESS__INIT;
		Sockbroker__V1__UnixAddress u = SOCKBROKER__V1__UNIX_ADDRESS__INIT;

		u.name_case = SOCKBROKER__V1__UNIX_ADDRESS__NAME_PATH;
		u.path = "/nonexistent";
		a.kind_case = SOCKBROKER__V1__ADDRESS__KIND_UNIX_ADDR;
		a.unix_addr = &u;
		req.address = &a;
		it_call(ch, IT_SVC "Dial", &req.base, s1.token, 5000, &r);
		CHECK(r.status == GRPC_STATUS_INVALID_ARGUMENT,
		      "Dial with host and address: %s", it_status_name(r.status));
		it_reply_free(&r);
		req.address = NULL;
	}
	req.host = "";
	it_call(ch, IT_SVC "Dial", &req.base, s1.token, 5000, &r);
	CHECK(r.status == GRPC_STATUS_INVALID_ARGUMENT, "Dial without host: %s",
	      it_status_name(r.status));
	it_reply_free(&r);
	req.host = "127.0.0.1";
	req.family = SOCKBROKER__V1__ADDRESS_FAMILY__AF_UNIX;
	it_call(ch, IT_SVC "Dial", &req.base, s1.token, 5000, &r);
	CHECK(r.status == GRPC_STATUS_INVALID_ARGUMENT, "Dial with family AF_UNIX: %s",
	      it_status_name(r.status));
	it_reply_free(&r);
	req.family = 0;

	/* No session, or one that does not exist. */
	it_call(ch, IT_SVC "Dial", &req.base, NULL, 5000, &r);
	CHECK(r.status == GRPC_STATUS_UNAUTHENTICATED, "Dial without a session: %s",
	      it_status_name(r.status));
	it_reply_free(&r);
	it_call(ch, IT_SVC "Dial", &req.base, "0123456789abcdef0123456789abcdef", 5000, &r);
	CHECK(r.status == GRPC_STATUS_UNAUTHENTICATED, "Dial with a foreign token: %s",
	      it_status_name(r.status));
	it_reply_free(&r);
	it_session_close(&s1);
	it_session_close(&s2);
}

/* sb_tcp_connect_opts: options set before the connect read back with
 * sb_getsockopt; the family hint; values Dial cannot carry. */
static void test_opts(sb_client *c, grpc_channel *ch, int lfd, const char *port)
{
	int one = 1, idle = 42, rcv = 48000, got, s, afd;
	struct linger lg = { 1, 7 }, lgot;
	const struct sb_sockopt opts[] = {
		{ IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one) },
		{ SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one) },
		{ IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle) },
		{ SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv) },
		{ SOL_SOCKET, SO_LINGER, &lg, sizeof(lg) },
	};
	const struct { int level, name, want; const char *what; } ints[] = {
		{ IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY" },
		{ SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE" },
		{ IPPROTO_TCP, TCP_KEEPIDLE, 42, "TCP_KEEPIDLE" },
	};
	const struct sb_sockopt shortint = { IPPROTO_TCP, TCP_NODELAY, &one, 2 };
	socklen_t len;
	char buf[96];
	size_t i;

	/* dual.test lists ::1 first; AF_INET tries 127.0.0.1 only. */
	s = sb_tcp_connect_opts(c, "dual.test", port, AF_INET, NULL, NULL, 2000, opts, 5);
	if (!CHECK(s >= 0, "opts: sb_tcp_connect_opts: %s %s", strerror(errno), it_sberr()))
		return;
	peer_of(c, s, buf, sizeof(buf));
	CHECK(strncmp(buf, "127.0.0.1:", 10) == 0, "opts: AF_INET dial reached %s", buf);
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		got = -1;
		len = sizeof(got);
		CHECK(sb_getsockopt(c, s, ints[i].level, ints[i].name, &got, &len) == 0 &&
		      got == ints[i].want, "opts: %s reads %d, want %d (%s)", ints[i].what, got,
		      ints[i].want, strerror(errno));
	}
	/* Linux doubles SO_RCVBUF and keeps it at least as asked. */
	got = 0;
	len = sizeof(got);
	CHECK(sb_getsockopt(c, s, SOL_SOCKET, SO_RCVBUF, &got, &len) == 0 && got == 2 * rcv,
	      "opts: SO_RCVBUF reads %d, want %d", got, 2 * rcv);
	memset(&lgot, 0, sizeof(lgot));
	len = sizeof(lgot);
	CHECK(sb_getsockopt(c, s, SOL_SOCKET, SO_LINGER, &lgot, &len) == 0 && lgot.l_onoff &&
	      lgot.l_linger == 7, "opts: SO_LINGER reads %d/%d", lgot.l_onoff, lgot.l_linger);
	afd = it_native_accept(lfd, NULL, NULL, 2000);
	CHECK(afd >= 0, "opts: the listener saw no connection");
	if (afd >= 0)
		close(afd);
	sb_close(c, s);

	s = sb_tcp_connect_opts(c, "127.0.0.1", port, AF_UNSPEC, NULL, NULL, 2000, &shortint, 1);
	CHECK(s == -1 && errno == EINVAL, "opts: a 2-byte int option: %d %s, want EINVAL", s,
	      strerror(errno));
	s = sb_tcp_connect_opts(c, "127.0.0.1", port, AF_UNSPEC, NULL, NULL, 2000, NULL, 1);
	CHECK(s == -1 && errno == EFAULT, "opts: NULL options: %d %s, want EFAULT", s,
	      strerror(errno));
	s = sb_tcp_connect_opts(c, "127.0.0.1", port, AF_UNSPEC, NULL, NULL, 2000, opts, 17);
	CHECK(s == -1 && errno == EINVAL, "opts: 17 options: %d %s, want EINVAL", s,
	      strerror(errno));
	s = sb_tcp_connect_opts(c, "127.0.0.1", port, AF_UNIX, NULL, NULL, 2000, NULL, 0);
	CHECK(s == -1 && errno == EAFNOSUPPORT, "opts: AF_UNIX: %d %s, want EAFNOSUPPORT", s,
	      strerror(errno));
	CHECK(it_wait_sockets(ch, 0, 2000) == 0, "opts: failed dials left sockets");
}

/* The policy broker: ::1 and 127.0.0.5 refused as destinations,
 * 127.0.0.3 as a local address. */
static void test_policy(struct it_broker *pb, int lfd, const char *port)
{
	sb_client *c = sb_open(pb->target);
	int markv = 1;
	const struct sb_sockopt mark = { SOL_SOCKET, SO_MARK, &markv, sizeof(markv) };
	grpc_channel *ch;
	char buf[96];
	int s, afd;

	if (!CHECK(c != NULL, "sb_open(policy broker): %s", strerror(errno)))
		return;
	ch = it_channel(pb);
	s = sb_tcp_connect(c, "dual.test", port, NULL, NULL, 2000);
	if (CHECK(s >= 0, "policy: dual.test with ::1 refused: %s %s", strerror(errno), it_sberr())) {
		peer_of(c, s, buf, sizeof(buf));
		CHECK(strncmp(buf, "127.0.0.1:", 10) == 0, "policy: peer %s, want 127.0.0.1", buf);
		exchange(c, s, lfd, "policy fall-through");
	}
	s = sb_tcp_connect(c, "denied.test", port, NULL, NULL, 2000);
	CHECK(s == -1 && errno == EACCES && strstr(it_sberr(), "no-v6-loopback"),
	      "policy: every address refused: %d %s (%s), want EACCES naming the rule", s,
	      strerror(errno), it_sberr());
	s = sb_tcp_connect(c, "127.0.0.1", port, "127.0.0.3", NULL, 2000);
	CHECK(s == -1 && errno == EACCES && strstr(it_sberr(), "no-local-3"),
	      "policy: local 127.0.0.3 refused as a bind: %d %s (%s)", s, strerror(errno),
	      it_sberr());
	/* SO_MARK needs a rule naming it (the broker has CAP_NET_ADMIN). */
	s = sb_tcp_connect_opts(c, "127.0.0.1", port, AF_UNSPEC, NULL, NULL, 2000, &mark, 1);
	CHECK(s == -1 && errno == EACCES && strstr(it_sberr(), "in sockopts"),
	      "policy: SO_MARK as a Dial option: %d %s (%s), want EACCES for sockopts", s,
	      strerror(errno), it_sberr());
	afd = it_native_accept(lfd, NULL, NULL, 200);
	CHECK(afd < 0, "policy: a Dial with a refused option connected");
	if (afd >= 0)
		close(afd);
	CHECK(it_wait_sockets(ch, 0, 2000) == 0, "policy: refused dials left sockets");
	grpc_channel_destroy(ch);
	sb_close_client(c);
}

/* Several threads dialling at once on one client: one at a time goes
 * over the client's DialStream, the others make Dial calls; every dial
 * gets its own connection. */
#define THR_N 4
#define THR_DIALS 25

struct thr {
	sb_client *c;
	const char *port;
	int ok;
};

static void *thr_dial(void *arg)
{
	struct thr *t = arg;
	int i, s;

	for (i = 0; i < THR_DIALS; i++) {
		s = sb_tcp_connect(t->c, "127.0.0.1", t->port, NULL, NULL, 2000);
		if (s < 0)
			continue;
		t->ok += sb_close(t->c, s) == 0;
	}
	return NULL;
}

static void test_threads(sb_client *c, int lfd, const char *port)
{
	struct thr t[THR_N];
	pthread_t th[THR_N];
	int i, n = 0, ok = 0, afd, started = 0;

	for (i = 0; i < THR_N; i++) {
		t[i] = (struct thr){ c, port, 0 };
		if (pthread_create(&th[i], NULL, thr_dial, &t[i]) == 0)
			started++;
		else
			break;
	}
	/* The listener's backlog is 16: accept while they dial. */
	while (n < started * THR_DIALS &&
	       (afd = it_native_accept(lfd, NULL, NULL, 3000)) >= 0) {
		close(afd);
		n++;
	}
	for (i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		ok += t[i].ok;
	}
	CHECK(started == THR_N, "threads: %d of %d started", started, THR_N);
	CHECK(ok == THR_N * THR_DIALS, "threads: %d of %d dials connected and closed",
	      ok, THR_N * THR_DIALS);
	CHECK(n == ok, "threads: the listener saw %d connections for %d dials", n, ok);
}

int main(void)
{
	struct sockaddr_storage l4, l6;
	struct it_broker b, pb;
	grpc_channel *ch;
	char port[8];
	sb_client *c;
	int lfd4, lfd6;

	setvbuf(stdout, NULL, _IOLBF, 0);
	setup_namespaces();
	if (it_broker_start(&pb, POLICY) < 0) {
		cleanup_files();
		return 1;
	}
	c = it_setup(&b, NULL, 60);
	ch = it_channel(&b);
	lfd4 = listener(AF_INET, "127.0.0.1", 0, &l4);
	snprintf(port, sizeof(port), "%u", it_port(&l4));
	/* Same port on ::1 stays closed for the first broker's tests. */
	if (!CHECK(lfd4 >= 0, "native listener: %s", strerror(errno)))
		goto out;

	test_fall_through(c, lfd4, port);
	test_happy_eyeballs(c, lfd4, port);
	test_happy_eyeballs_local_port(c, lfd4, port);
	test_timeouts(c, ch);
	test_eai(c, lfd4, port);
	test_local_bind(c, lfd4, port);
	test_unix(c, ch);
	test_opts(c, ch, lfd4, port);
	test_raw(ch, lfd4, it_port(&l4));
	test_threads(c, lfd4, port);

	/* With a listener on ::1 too, only the policy makes 127.0.0.1 win. */
	lfd6 = listener(AF_INET6, "::1", it_port(&l4), &l6);
	if (CHECK(lfd6 >= 0, "native ::1 listener: %s", strerror(errno))) {
		test_policy(&pb, lfd4, port);
		close(lfd6);
	}
	close(lfd4);
out:
	grpc_channel_destroy(ch);
	CHECK(it_broker_stop(&pb) == 0, "policy broker did not stop cleanly");
	cleanup_files();
	return it_teardown(&b, c);
}
