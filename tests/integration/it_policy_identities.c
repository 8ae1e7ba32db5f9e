/* SPDX-License-Identifier: MIT
 * it_policy_identities.c - two identities, each served exactly what its
 * rules say (server/policy.h rules 1-6, server/guard.c):
 *
 *   root-all      uid 0: allow everything (but what must be named)
 *   root-devices  uid 0: allow SO_BINDTODEVICE (named only, rule 6)
 *   nobody-web    uid 65534: socket/connect/setsockopt/resolve, inet stream
 *                 only, connect to 127.0.0.1/32 port N1 only, TCP_NODELAY
 *   nobody-rest   uid 65534: deny everything else
 *
 * The test (root) runs native TCP listeners on 127.0.0.1:N1 and :N2 and a
 * native UDP socket, then re-executes itself as uid/gid 65534 (no gRPC
 * state crosses a fork: it_spawn_self (posix_spawn + exec), the child drops privileges
 * before its first libsockbroker call). The child asserts:
 *  - sb_open works (nobody-web serves it);
 *  - connect to N1 works and data flows both ways; TCP_NODELAY is allowed;
 *  - connect to N2 and to 127.0.0.2:N1 are -1 EACCES, sb_last_error()
 *    names "nobody-rest"; the refused socket still connects to N1 after;
 *  - SOCK_DGRAM, AF_INET6 and AF_UNIX sockets are EACCES;
 *  - SO_KEEPALIVE, SO_BINDTODEVICE and SO_MARK are EACCES; an IPv6
 *    destination ([::1]:N1) is EACCES (no IPv4 CIDR matches it);
 *  - bind and listen are EACCES; getaddrinfo works; getifaddrs is EACCES;
 *  - its GetStats shows only its own identity, with the denials counted.
 * The parent asserts the N2 listener and the UDP socket never saw anything
 * from the child, then, as root: connect to N1 and N2, UDP sendto, AF_INET6,
 * bind/listen, getifaddrs and SO_BINDTODEVICE work; SO_MARK and SOCK_RAW are
 * EACCES (named only, the deciding rule is "default"). GetStats:
 * policy_denied grew by at least every refusal, "uid:65534" and "uid:0"
 * have their denials counted.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it_client.h"

#define NOBODY IT_NOBODY
#define CHILD_DENIALS 12	/* refusals the child provokes (see child_main) */
#define ROOT_DENIALS 2		/* SO_MARK, SOCK_RAW */


/* ---- the child: uid 65534 ---- */

/* -1 with EACCES and the rule named: a policy refusal. */
static void check_denied(int ret, const char *what, const char *rule)
{
	int e = errno;
	const char *msg = it_sberr();

	CHECK(ret == -1 && e == EACCES, "nobody: %s: %d (%s), want -1 EACCES", what, ret,
	      strerror(e));
	CHECK(strstr(msg, rule) != NULL, "nobody: %s: sb_last_error \"%s\" does not name "
	      "the rule %s", what, msg, rule);
}

static int child_main(const char *target, unsigned n1, unsigned n2)
{
	struct sockaddr_storage ss;
	struct addrinfo hints, *ai = NULL;
	struct ifaddrs *ifa = NULL;
	Sockbroker__V1__GetStatsReply *st;
	grpc_channel *ch;
	char out[64], in[64];
	socklen_t len;
	sb_client *c;
	int s, s2, x, one = 1;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(30);
	if (it_drop_privileges(NOBODY, NOBODY) < 0)
		return 1;
	c = sb_open(target);
	if (!CHECK(c != NULL, "nobody: sb_open: %s (%s): nobody-web should serve uid %d",
		   strerror(errno), it_sberr(), NOBODY))
		return 1;

	/* Allowed: inet stream socket, TCP_NODELAY, connect to N1, data. */
	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	CHECK(s >= 0, "nobody: AF_INET SOCK_STREAM socket: %s %s", strerror(errno), it_sberr());
	CHECK(sb_setsockopt(c, s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0,
	      "nobody: TCP_NODELAY (named in nobody-web): %s %s", strerror(errno), it_sberr());
	len = it_addr4(&ss, "127.0.0.1", (uint16_t)n1);
	if (CHECK(sb_connect(c, s, (struct sockaddr *)&ss, len) == 0,
		  "nobody: connect 127.0.0.1:%u (allowed): %s %s", n1, strerror(errno),
		  it_sberr())) {
		snprintf(out, sizeof(out), "hello from uid %d", NOBODY);
		memset(in, 0, sizeof(in));
		CHECK(it_sb_send_all(c, s, out, strlen(out), 5000) == 0 &&
		      it_sb_recv_all(c, s, in, strlen(out), 5000) == 0 &&
		      !memcmp(in, out, strlen(out)),
		      "nobody: echo through N1: %s %s (got \"%s\")", strerror(errno), it_sberr(),
		      in);
	}

	/* Options: only TCP_NODELAY is named. */
	errno = 0;
	x = sb_setsockopt(c, s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	check_denied(x, "setsockopt SO_KEEPALIVE", "\"nobody-rest");
	errno = 0;
	x = sb_setsockopt(c, s, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3);
	check_denied(x, "setsockopt SO_BINDTODEVICE", "\"nobody-rest");

	/* Destinations: N2 and 127.0.0.2:N1 are not allowed. */
	s2 = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	CHECK(s2 >= 0, "nobody: second socket: %s %s", strerror(errno), it_sberr());
	len = it_addr4(&ss, "127.0.0.1", (uint16_t)n2);
	errno = 0;
	x = sb_connect(c, s2, (struct sockaddr *)&ss, len);
	check_denied(x, "connect to port N2", "\"nobody-rest");
	len = it_addr4(&ss, "127.0.0.2", (uint16_t)n1);
	errno = 0;
	x = sb_connect(c, s2, (struct sockaddr *)&ss, len);
	check_denied(x, "connect to 127.0.0.2:N1", "\"nobody-rest");
	/* A refused call changed nothing: the same socket may still connect. */
	len = it_addr4(&ss, "127.0.0.1", (uint16_t)n1);
	CHECK(sb_connect(c, s2, (struct sockaddr *)&ss, len) == 0,
	      "nobody: connect to N1 after the refusals on the same socket: %s %s",
	      strerror(errno), it_sberr());

	/* Families and types. */
	errno = 0;
	x = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	check_denied(x, "AF_INET SOCK_DGRAM socket", "\"nobody-rest");
	errno = 0;
	x = sb_socket(c, AF_INET6, SOCK_STREAM, 0);
	check_denied(x, "AF_INET6 SOCK_STREAM socket", "\"nobody-rest");
	errno = 0;
	x = sb_socket(c, AF_UNIX, SOCK_STREAM, 0);
	check_denied(x, "AF_UNIX SOCK_STREAM socket", "\"nobody-rest");

	/* Bind and listen are not in nobody-web's operations. */
	x = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (CHECK(x >= 0, "nobody: third socket: %s %s", strerror(errno), it_sberr())) {
		int r;

		len = it_addr4(&ss, "127.0.0.1", 0);
		errno = 0;
		r = sb_bind(c, x, (struct sockaddr *)&ss, len);
		check_denied(r, "bind 127.0.0.1:0", "\"nobody-rest");
		errno = 0;
		r = sb_listen(c, x, 4);
		check_denied(r, "listen", "\"nobody-rest");
		sb_close(c, x);
	}

	/* Names: resolve yes, interfaces no. */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	x = sb_getaddrinfo(c, "127.0.0.1", "80", &hints, &ai);
	CHECK(x == 0 && ai, "nobody: getaddrinfo (resolve is allowed): %d %s", x, it_sberr());
	sb_freeaddrinfo(ai);
	errno = 0;
	x = sb_getifaddrs(c, &ifa);
	check_denied(x, "getifaddrs", "\"nobody-rest");
	if (x == 0)
		sb_freeifaddrs(ifa);
	/* A session-less name call is checked as well: getnameinfo (resolve) ok. */
	{
		char host[64];

		len = it_addr4(&ss, "127.0.0.1", 80);
		x = sb_getnameinfo(c, (struct sockaddr *)&ss, len, host, sizeof(host), NULL, 0,
				   NI_NUMERICHOST);
		CHECK(x == 0 && !strcmp(host, "127.0.0.1"), "nobody: getnameinfo: %d %s", x,
		      it_sberr());
	}
	/* Two more: SO_MARK (named only, and not named), and an IPv6
	 * destination, which no IPv4 CIDR matches (policy.h rule 5). */
	errno = 0;
	x = sb_setsockopt(c, s, SOL_SOCKET, SO_MARK, &one, sizeof(one));
	check_denied(x, "setsockopt SO_MARK", "\"nobody-rest");
	len = it_addr6(&ss, "::1", (uint16_t)n1);
	errno = 0;
	x = sb_connect(c, s, (struct sockaddr *)&ss, len);
	/* s is already connected: the policy decides before the kernel. */
	check_denied(x, "connect to [::1]:N1 on an AF_INET socket", "\"nobody-rest");

	/* The child's own stats: only its identity, denials counted. */
	{
		struct it_broker tb;

		memset(&tb, 0, sizeof(tb));
		snprintf(tb.target, sizeof(tb.target), "%s", target);
		ch = it_channel(&tb);
	}
	st = it_stats(ch);
	if (CHECK(st != NULL, "nobody: GetStats")) {
		int found = 0;

		for (i = 0; i < st->n_identities; i++) {
			if (!strcmp(st->identities[i]->identity, "uid:65534")) {
				found = 1;
				CHECK(st->identities[i]->denied >= CHILD_DENIALS,
				      "nobody: GetStats uid:65534 denied %llu, want >= %d",
				      (unsigned long long)st->identities[i]->denied,
				      CHILD_DENIALS);
				CHECK(st->identities[i]->sessions_open == 1,
				      "nobody: GetStats uid:65534 sessions_open %llu, want 1",
				      (unsigned long long)st->identities[i]->sessions_open);
			}
		}
		CHECK(found && st->n_identities == 1, "nobody: GetStats shows %zu identities "
		      "(own found: %d): a caller other than root/owner sees only its own",
		      st->n_identities, found);
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	}
	grpc_channel_destroy(ch);
	sb_close(c, s);
	sb_close(c, s2);
	sb_close_client(c);
	return it_failures() ? 1 : 0;
}

/* ---- the parent: root ---- */

static pid_t spawn_child(const char *self, const char *target, unsigned n1, unsigned n2)
{
	char a1[16], a2[16];
	char *argv[] = { (char *)self, (char *)"--as-nobody", (char *)target, a1, a2, NULL };

	snprintf(a1, sizeof(a1), "%u", n1);
	snprintf(a2, sizeof(a2), "%u", n2);
	return it_spawn_self(argv);
}

#define MAXC 8

struct watch {
	int l1, l2, udp;
	int conns[MAXC];
	int n_conns, n1_accepted, n2_accepted, udp_seen;
};

/* Serve N1 (echo), watch N2 and the UDP socket, until @pid exits or 40 s. */
static int serve_until_exit(struct watch *w, pid_t pid)
{
	int64_t until = it_now_ms() + 40000;
	int status = -1;

	while (it_now_ms() < until) {
		struct pollfd p[3 + MAXC];
		int i, n = 3;

		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		p[0] = (struct pollfd){ .fd = w->l1, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = w->l2, .events = POLLIN };
		p[2] = (struct pollfd){ .fd = w->udp, .events = POLLIN };
		for (i = 0; i < w->n_conns; i++)
			p[n++] = (struct pollfd){ .fd = w->conns[i], .events = POLLIN };
		if (poll(p, (nfds_t)n, 50) <= 0)
			continue;
		if (p[0].revents & POLLIN) {
			int fd = accept4(w->l1, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0 && w->n_conns < MAXC) {
				w->conns[w->n_conns++] = fd;
				w->n1_accepted++;
			} else if (fd >= 0) {
				close(fd);
			}
		}
		if (p[1].revents & POLLIN) {
			int fd = accept4(w->l2, NULL, NULL, SOCK_CLOEXEC);

			if (fd >= 0) {
				w->n2_accepted++;
				close(fd);
			}
		}
		if (p[2].revents & POLLIN) {
			char buf[256];

			if (recv(w->udp, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
				w->udp_seen++;
		}
		for (i = 3; i < n; i++) {
			char buf[4096];
			ssize_t r;

			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(p[i].fd, buf, sizeof(buf));
			if (r > 0 && it_write_full(p[i].fd, buf, (size_t)r) == 0)
				continue;
			/* closed: drop it */
			close(p[i].fd);
			w->conns[i - 3] = -1;
		}
		for (i = 0; i < w->n_conns;) {
			if (w->conns[i] < 0) {
				w->conns[i] = w->conns[--w->n_conns];
				continue;
			}
			i++;
		}
	}
	printf("FAIL: the nobody child did not finish within 40 s; killed\n");
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

/* Connect as root to @ip:@port, accept natively on @l, echo a few bytes. */
static void root_connect_echo(sb_client *c, int l, const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = it_addr4(&ss, ip, port);
	char buf[16] = "";
	int s = sb_socket(c, AF_INET, SOCK_STREAM, 0), fd;

	if (!CHECK(s >= 0, "root: socket: %s %s", strerror(errno), it_sberr()))
		return;
	if (CHECK(sb_connect(c, s, (struct sockaddr *)&ss, len) == 0,
		  "root: connect %s:%u (root-all allows it): %s %s", ip, port, strerror(errno),
		  it_sberr())) {
		fd = it_native_accept(l, NULL, NULL, 5000);
		if (CHECK(fd >= 0, "root: native accept on port %u: %s", port, strerror(errno))) {
			CHECK(it_sb_send_all(c, s, "root", 4, 5000) == 0 &&
			      it_read_full(fd, buf, 4, 5000) == 0 && !memcmp(buf, "root", 4),
			      "root: data to port %u", port);
			close(fd);
		}
	}
	sb_close(c, s);
}

static void root_phase(struct it_broker *b, struct watch *w, uint16_t n1, uint16_t n2,
		       uint16_t up)
{
	struct sockaddr_storage ss;
	struct ifaddrs *ifa = NULL;
	socklen_t len;
	sb_client *c;
	char buf[16] = "";
	int s, x, one = 1;

	c = sb_open(b->target);
	if (!CHECK(c != NULL, "root: sb_open: %s %s", strerror(errno), it_sberr()))
		return;
	root_connect_echo(c, w->l1, "127.0.0.1", n1);
	root_connect_echo(c, w->l2, "127.0.0.1", n2);

	/* UDP to the native socket. */
	s = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	if (CHECK(s >= 0, "root: UDP socket: %s %s", strerror(errno), it_sberr())) {
		len = it_addr4(&ss, "127.0.0.1", up);
		CHECK(sb_sendto(c, s, "udp", 3, 0, (struct sockaddr *)&ss, len) == 3,
		      "root: sendto the native UDP socket: %s %s", strerror(errno), it_sberr());
		CHECK(it_read_some(w->udp, buf, sizeof(buf), 5000) == 3 && !memcmp(buf, "udp", 3),
		      "root: the native UDP socket did not get the datagram");
		sb_close(c, s);
	}
	/* IPv6, bind, listen. */
	s = sb_socket(c, AF_INET6, SOCK_STREAM, 0);
	CHECK(s >= 0, "root: AF_INET6 socket: %s %s", strerror(errno), it_sberr());
	if (s >= 0)
		sb_close(c, s);
	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (CHECK(s >= 0, "root: socket: %s", strerror(errno))) {
		len = it_addr4(&ss, "127.0.0.1", 0);
		CHECK(sb_bind(c, s, (struct sockaddr *)&ss, len) == 0, "root: bind: %s %s",
		      strerror(errno), it_sberr());
		CHECK(sb_listen(c, s, 4) == 0, "root: listen: %s %s", strerror(errno), it_sberr());
		/* Named only: SO_BINDTODEVICE is named by root-devices... */
		CHECK(sb_setsockopt(c, s, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3) == 0,
		      "root: SO_BINDTODEVICE (named by root-devices): %s %s", strerror(errno),
		      it_sberr());
		/* ...SO_MARK by no rule: root-all does not apply (policy.h rule 6). */
		errno = 0;
		x = sb_setsockopt(c, s, SOL_SOCKET, SO_MARK, &one, sizeof(one));
		CHECK(x == -1 && errno == EACCES && strstr(it_sberr(), "\"default"),
		      "root: SO_MARK (named by no rule): %d %s \"%s\", want -1 EACCES by rule "
		      "default", x, strerror(errno), it_sberr());
		sb_close(c, s);
	}
	errno = 0;
	x = sb_socket(c, AF_INET, SOCK_RAW, IPPROTO_ICMP);
	CHECK(x == -1 && errno == EACCES && strstr(it_sberr(), "\"default"),
	      "root: SOCK_RAW (named by no rule): %d %s \"%s\", want -1 EACCES by rule default",
	      x, strerror(errno), it_sberr());
	if (x >= 0)
		sb_close(c, x);
	x = sb_getifaddrs(c, &ifa);
	CHECK(x == 0, "root: getifaddrs: %s %s", strerror(errno), it_sberr());
	if (x == 0)
		sb_freeifaddrs(ifa);
	sb_close_client(c);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage a1, a2, au;
	struct watch w;
	struct it_broker b;
	Sockbroker__V1__GetStatsReply *st;
	const Sockbroker__V1__IdentityStats *id;
	uint64_t denied0 = 0;
	grpc_channel *ch;
	socklen_t l1len, l2len, ulen;
	uint16_t n1, n2, up;
	char config[2048];
	pid_t pid;
	int status, i;

	if (argc == 5 && !strcmp(argv[1], "--as-nobody"))
		return child_main(argv[2], (unsigned)atoi(argv[3]), (unsigned)atoi(argv[4]));
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getuid() != 0)
		it_skip("needs root to run a client as uid %d", NOBODY);

	memset(&w, 0, sizeof(w));
	w.l1 = it_native_listener(AF_INET, "127.0.0.1", &a1, &l1len);
	w.l2 = it_native_listener(AF_INET, "127.0.0.1", &a2, &l2len);
	w.udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ulen = it_addr4(&au, "127.0.0.1", 0);
	if (w.l1 < 0 || w.l2 < 0 || w.udp < 0 || bind(w.udp, (struct sockaddr *)&au, ulen) < 0) {
		printf("FAIL: native sockets: %s\n", strerror(errno));
		return 1;
	}
	ulen = sizeof(au);
	getsockname(w.udp, (struct sockaddr *)&au, &ulen);
	n1 = it_port(&a1);
	n2 = it_port(&a2);
	up = it_port(&au);
	snprintf(config, sizeof(config),
		 "policy:\n"
		 "  - name: root-all\n"
		 "    match: { uid: 0 }\n"
		 "    action: allow\n"
		 "  - name: root-devices\n"
		 "    match: { uid: root }\n"
		 "    action: allow\n"
		 "    sockopts: [SO_BINDTODEVICE]\n"
		 "  - name: nobody-web\n"
		 "    match: { uid: %d }\n"
		 "    action: allow\n"
		 "    ops: [socket, connect, setsockopt, resolve]\n"
		 "    families: [inet]\n"
		 "    types: [stream]\n"
		 "    destinations: [127.0.0.1/32]\n"
		 "    ports: [%u]\n"
		 "    sockopts: [TCP_NODELAY]\n"
		 "  - name: nobody-rest\n"
		 "    match: { uid: [%d] }\n"
		 "    action: deny\n",
		 NOBODY, (unsigned)n1, NOBODY);

	if (it_broker_start(&b, config) < 0)
		return 1;
	it_watchdog(&b, 55);
	/* --listen makes the socket 0600 in a 0700 directory: open both up so
	 * that the policy, not the file mode, decides about uid 65534. */
	if (chmod(b.dir, 0755) < 0 || chmod(b.sock, 0666) < 0) {
		CHECK(0, "chmod %s: %s", b.sock, strerror(errno));
		goto out;
	}
	ch = it_channel(&b);
	st = it_stats(ch);
	if (CHECK(st != NULL, "GetStats before")) {
		denied0 = st->policy_denied;
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	}

	pid = spawn_child(argv[0], b.target, n1, n2);
	if (pid > 0) {
		status = serve_until_exit(&w, pid);
		CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "the uid %d client failed (status 0x%x)", NOBODY, (unsigned)status);
	} else {
		CHECK(0, "cannot start the uid %d client", NOBODY);
	}
	CHECK(w.n1_accepted >= 2, "N1 saw %d connections from uid %d, want 2",
	      w.n1_accepted, NOBODY);
	/* The refused caller never reached its destinations. */
	{
		int fd = it_native_accept(w.l2, NULL, NULL, 200);

		if (fd >= 0) {
			w.n2_accepted++;
			close(fd);
		}
	}
	CHECK(w.n2_accepted == 0, "the N2 listener saw %d connection(s) although uid %d's "
	      "connect was refused", w.n2_accepted, NOBODY);
	CHECK(w.udp_seen == 0, "the UDP socket saw %d datagram(s) from uid %d", w.udp_seen,
	      NOBODY);
	for (i = 0; i < w.n_conns; i++)
		close(w.conns[i]);

	root_phase(&b, &w, n1, n2, up);

	st = it_stats(ch);
	if (CHECK(st != NULL, "GetStats after")) {
		CHECK(st->policy_denied >= denied0 + CHILD_DENIALS + ROOT_DENIALS,
		      "policy_denied %llu -> %llu, want at least %d more",
		      (unsigned long long)denied0, (unsigned long long)st->policy_denied,
		      CHILD_DENIALS + ROOT_DENIALS);
		id = it_find_identity(st, "uid:65534");
		CHECK(id && id->denied >= CHILD_DENIALS && id->calls > 0,
		      "GetStats identity uid:65534: %s denied %llu calls %llu, want denied >= %d",
		      id ? "found" : "missing", id ? (unsigned long long)id->denied : 0ULL,
		      id ? (unsigned long long)id->calls : 0ULL, CHILD_DENIALS);
		CHECK(id && id->sessions_open == 0 && id->sockets_open == 0,
		      "uid:65534 still holds sessions/sockets after its client exited");
		id = it_find_identity(st, "uid:0");
		CHECK(id && id->denied >= ROOT_DENIALS,
		      "GetStats identity uid:0: %s denied %llu, want >= %d",
		      id ? "found" : "missing", id ? (unsigned long long)id->denied : 0ULL,
		      ROOT_DENIALS);
		it_note("policy_denied %llu -> %llu", (unsigned long long)denied0,
			(unsigned long long)st->policy_denied);
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	}
	grpc_channel_destroy(ch);
out:
	close(w.l1);
	close(w.l2);
	close(w.udp);
	return it_teardown(&b, NULL);
}
