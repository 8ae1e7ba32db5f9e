/* SPDX-License-Identifier: MIT
 * it_recv_trunc.c - a Recv reply carries only bytes the kernel wrote for
 * that call.
 *
 * Root first pushes 200 Sends of 60,000 bytes full of a marker through the
 * broker (the broker's heap then holds freed copies of them). A client
 * running as uid 65534 then, over raw gRPC and through libsockbroker:
 *  - TCP with MSG_TRUNC (the kernel discards and only counts): the reply
 *    carries no data and length = the count; never a marker byte;
 *  - sb_recv(MSG_TRUNC) on TCP returns the count and leaves the buffer
 *    untouched, as recv(2) does;
 *  - TCP MSG_TRUNC|MSG_WAITALL discards exactly what was asked;
 *  - UDP with MSG_TRUNC: the data is the bytes copied (min of buffer and
 *    datagram), length the datagram's real size; a 60,000-byte buffer and
 *    a 100-byte datagram carry 100 bytes, not 60,000.
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it_client.h"

#define NOBODY IT_NOBODY
#define BIG 60000
#define MARKER "ROOT-SECRET-MARKER-0123456789"

static int has_marker(const uint8_t *p, size_t n)
{
	size_t m = strlen(MARKER), i;

	for (i = 0; i + m <= n; i++)
		if (!memcmp(p + i, MARKER, m))
			return 1;
	return 0;
}

/* ---- raw calls of the uid 65534 child ---- */

static grpc_channel *ch;
static struct it_session sess;

static uint64_t raw_socket(Sockbroker__V1__SocketType type)
{
	Sockbroker__V1__SocketRequest req = SOCKBROKER__V1__SOCKET_REQUEST__INIT;
	Sockbroker__V1__SocketReply *rep = NULL;
	struct it_reply r;
	uint64_t h = 0;

	req.family = SOCKBROKER__V1__ADDRESS_FAMILY__AF_INET;
	req.type = type;
	if (it_call(ch, IT_SVC "Socket", &req.base, sess.token, 5000, &r) == 0 &&
	    r.status == GRPC_STATUS_OK)
		rep = sockbroker__v1__socket_reply__unpack(NULL, r.len, r.data);
	if (CHECK(rep && !rep->error && rep->handle, "raw Socket: %s %s",
		  it_status_name(r.status), r.details))
		h = rep->handle;
	if (rep)
		sockbroker__v1__socket_reply__free_unpacked(rep, NULL);
	it_reply_free(&r);
	return h;
}

/* Bind (@bind) or connect @h to 127.0.0.1:@port. */
static int raw_addr_call(const char *method, uint64_t h, uint16_t port)
{
	Sockbroker__V1__ConnectRequest req = SOCKBROKER__V1__CONNECT_REQUEST__INIT;
	Sockbroker__V1__Address a = SOCKBROKER__V1__ADDRESS__INIT;
	Sockbroker__V1__Inet4Address in = SOCKBROKER__V1__INET4_ADDRESS__INIT;
	Sockbroker__V1__ConnectReply *rep = NULL;
	uint8_t ip[4] = { 127, 0, 0, 1 };
	struct it_reply r;
	int ok = 0;

	in.addr.data = ip;
	in.addr.len = 4;
	in.port = port;
	a.kind_case = SOCKBROKER__V1__ADDRESS__KIND_INET;
	a.inet = &in;
	req.handle = h;
	req.address = &a;
	/* BindRequest has the same first two fields as ConnectRequest. */
	if (it_call(ch, method, &req.base, sess.token, 5000, &r) == 0 &&
	    r.status == GRPC_STATUS_OK)
		rep = sockbroker__v1__connect_reply__unpack(NULL, r.len, r.data);
	ok = rep && !rep->error;
	CHECK(ok, "raw %s 127.0.0.1:%u: %s %s errno %d", method, port,
	      it_status_name(r.status), r.details, rep ? (int)rep->error : -1);
	if (rep)
		sockbroker__v1__connect_reply__free_unpacked(rep, NULL);
	it_reply_free(&r);
	return ok ? 0 : -1;
}

static Sockbroker__V1__RecvReply *raw_recv(uint64_t h, uint32_t max, uint32_t flags)
{
	Sockbroker__V1__RecvRequest req = SOCKBROKER__V1__RECV_REQUEST__INIT;
	Sockbroker__V1__RecvReply *rep = NULL;
	struct it_reply r;

	req.handle = h;
	req.max_bytes = max;
	req.flags = flags;
	req.timeout_ms = 3000;
	if (it_call(ch, IT_SVC "Recv", &req.base, sess.token, 5000, &r) == 0 &&
	    r.status == GRPC_STATUS_OK)
		rep = sockbroker__v1__recv_reply__unpack(NULL, r.len, r.data);
	CHECK(rep != NULL, "raw Recv: %s %s", it_status_name(r.status), r.details);
	it_reply_free(&r);
	return rep;
}

static void tcp_trunc(int lfd, uint16_t port, const uint8_t *pat)
{
	Sockbroker__V1__RecvReply *rep;
	uint64_t h = raw_socket(SOCKBROKER__V1__SOCKET_TYPE__SOCK_STREAM);
	int fd = -1, i, leaks = 0;
	uint64_t total;

	if (!h || raw_addr_call(IT_SVC "Connect", h, port) < 0)
		return;
	fd = it_native_accept(lfd, NULL, NULL, 3000);
	if (!CHECK(fd >= 0, "native accept: %s", strerror(errno)))
		return;
	for (i = 0; i < 20; i++) {
		if (!CHECK(it_write_full(fd, pat, BIG) == 0, "native write"))
			break;
		for (total = 0; total < BIG;) {
			rep = raw_recv(h, BIG, SOCKBROKER__V1__MSG_FLAG__MSG_TRUNC);
			if (!rep)
				goto out;
			if (rep->error || !rep->length) {
				CHECK(0, "TCP MSG_TRUNC: error %d length %llu", (int)rep->error,
				      (unsigned long long)rep->length);
				sockbroker__v1__recv_reply__free_unpacked(rep, NULL);
				goto out;
			}
			if (has_marker(rep->data.data, rep->data.len))
				leaks++;
			CHECK(rep->data.len == 0, "TCP MSG_TRUNC: the reply carries %zu bytes "
			      "the kernel never wrote (count %llu)", rep->data.len,
			      (unsigned long long)rep->length);
			total += rep->length;
			sockbroker__v1__recv_reply__free_unpacked(rep, NULL);
		}
		CHECK(total == BIG, "TCP MSG_TRUNC: counts add up to %llu, want %d",
		      (unsigned long long)total, BIG);
	}
	CHECK(leaks == 0, "%d TCP MSG_TRUNC replies held root's marker", leaks);
out:
	close(fd);
}

static void udp_trunc(void)
{
	Sockbroker__V1__RecvReply *rep;
	struct sockaddr_storage ss;
	socklen_t len;
	uint8_t dg[100];
	uint64_t h = raw_socket(SOCKBROKER__V1__SOCKET_TYPE__SOCK_DGRAM);
	int tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	unsigned i;

	if (!h || !CHECK(tx >= 0, "native UDP socket") ||
	    raw_addr_call(IT_SVC "Bind", h, 0) < 0)
		goto out;
	{
		Sockbroker__V1__GetSockNameRequest req = SOCKBROKER__V1__GET_SOCK_NAME_REQUEST__INIT;
		Sockbroker__V1__GetSockNameReply *gr = NULL;
		struct it_reply r;

		req.handle = h;
		if (it_call(ch, IT_SVC "GetSockName", &req.base, sess.token, 5000, &r) == 0 &&
		    r.status == GRPC_STATUS_OK)
			gr = sockbroker__v1__get_sock_name_reply__unpack(NULL, r.len, r.data);
		it_reply_free(&r);
		if (!CHECK(gr && gr->address && gr->address->inet, "raw GetSockName"))
			goto out;
		len = it_addr4(&ss, "127.0.0.1", (uint16_t)gr->address->inet->port);
		sockbroker__v1__get_sock_name_reply__free_unpacked(gr, NULL);
	}
	it_fill(dg, sizeof(dg), 11);
	for (i = 0; i < 2; i++) {
		uint32_t max = i ? BIG : 10;

		sendto(tx, dg, sizeof(dg), 0, (struct sockaddr *)&ss, len);
		rep = raw_recv(h, max, SOCKBROKER__V1__MSG_FLAG__MSG_TRUNC);
		if (!rep)
			break;
		CHECK(!rep->error && rep->length == sizeof(dg) &&
		      rep->data.len == (max < sizeof(dg) ? max : sizeof(dg)) &&
		      !memcmp(rep->data.data, dg, rep->data.len),
		      "UDP MSG_TRUNC max_bytes %u: error %d, %zu bytes of data, length %llu; "
		      "want the %u bytes copied, length %zu", max, (int)rep->error,
		      rep->data.len, (unsigned long long)rep->length,
		      max < sizeof(dg) ? max : (unsigned)sizeof(dg), sizeof(dg));
		sockbroker__v1__recv_reply__free_unpacked(rep, NULL);
	}
out:
	if (tx >= 0)
		close(tx);
}

/* The library: sb_recv(MSG_TRUNC) on TCP leaves the buffer as recv(2) does. */
static void lib_trunc(const char *target, int lfd, uint16_t port, const uint8_t *pat)
{
	static uint8_t buf[BIG];
	struct sockaddr_storage ss;
	socklen_t len = it_addr4(&ss, "127.0.0.1", port);
	sb_client *c = sb_open(target);
	int s = -1, fd = -1, untouched = 1;
	ssize_t r;
	size_t i, total = 0;

	if (!CHECK(c != NULL, "nobody: sb_open: %s %s", strerror(errno), it_sberr()))
		return;
	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (!CHECK(s >= 0 && sb_connect(c, s, (struct sockaddr *)&ss, len) == 0,
		   "nobody: socket/connect: %s %s", strerror(errno), it_sberr()))
		goto out;
	fd = it_native_accept(lfd, NULL, NULL, 3000);
	if (!CHECK(fd >= 0, "native accept"))
		goto out;
	CHECK(it_write_full(fd, pat, BIG) == 0, "native write");
	memset(buf, 0xa5, sizeof(buf));
	for (i = 0; i < 100 && total < BIG; i++) {
		r = sb_recv(c, s, buf, sizeof(buf), MSG_TRUNC);
		if (!CHECK(r > 0, "sb_recv MSG_TRUNC on TCP: %zd %s", r, strerror(errno)))
			break;
		total += (size_t)r;
	}
	CHECK(total == BIG, "sb_recv MSG_TRUNC: counts add up to %zu, want %d", total, BIG);
	for (i = 0; i < sizeof(buf); i++)
		if (buf[i] != 0xa5)
			untouched = 0;
	CHECK(untouched, "sb_recv MSG_TRUNC on TCP wrote into the caller's buffer "
	      "(recv(2) leaves it untouched)%s", has_marker(buf, sizeof(buf)) ?
	      ", with another uid's data" : "");

	/* MSG_WAITALL|MSG_TRUNC: exactly the bytes asked, discarded. */
	CHECK(it_write_full(fd, pat, BIG) == 0, "native write");
	r = sb_recv(c, s, buf, 50000, MSG_TRUNC | MSG_WAITALL);
	CHECK(r == 50000, "sb_recv MSG_TRUNC|MSG_WAITALL 50000: %zd %s", r, strerror(errno));
	r = sb_recv(c, s, buf, BIG - 50000, MSG_WAITALL);
	CHECK(r == BIG - 50000 && !memcmp(buf, pat + 50000, BIG - 50000),
	      "the bytes after a discarding MSG_WAITALL: %zd, want %d of the stream", r,
	      BIG - 50000);
out:
	if (fd >= 0)
		close(fd);
	if (s >= 0)
		sb_close(c, s);
	sb_close_client(c);
}

static int child_main(const char *target)
{
	static uint8_t pat[BIG];
	struct sockaddr_storage a;
	struct it_broker b;
	socklen_t alen;
	int lfd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(50);
	if (it_drop_privileges(NOBODY, NOBODY) < 0)
		return 1;
	it_fill(pat, sizeof(pat), 5);
	lfd = it_native_listener(AF_INET, "127.0.0.1", &a, &alen);
	if (!CHECK(lfd >= 0, "nobody: native listener: %s", strerror(errno)))
		return 1;
	memset(&b, 0, sizeof(b));
	snprintf(b.target, sizeof(b.target), "%s", target);
	ch = it_channel(&b);
	if (CHECK(it_session_open(ch, &sess, 5000) == 0, "nobody: raw OpenSession")) {
		tcp_trunc(lfd, it_port(&a), pat);
		udp_trunc();
		it_session_close(&sess);
	}
	lib_trunc(target, lfd, it_port(&a), pat);
	close(lfd);
	return it_failures() ? 1 : 0;
}

/* ---- root ---- */

static void root_sends(sb_client *c)
{
	static uint8_t payload[BIG];
	struct sockaddr_storage a;
	socklen_t alen;
	size_t i, m = strlen(MARKER);
	int lfd, s, fd = -1, sent = 0, k;
	char sink[65536];

	for (i = 0; i + m <= sizeof(payload); i += m)
		memcpy(payload + i, MARKER, m);
	lfd = it_native_listener(AF_INET, "127.0.0.1", &a, &alen);
	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (!CHECK(lfd >= 0 && s >= 0 && sb_connect(c, s, (struct sockaddr *)&a, alen) == 0,
		   "root: connect: %s %s", strerror(errno), it_sberr()))
		goto out;
	fd = it_native_accept(lfd, NULL, NULL, 3000);
	if (!CHECK(fd >= 0, "root: native accept"))
		goto out;
	for (i = 0; i < 200; i++) {
		if (it_sb_send_all(c, s, payload, sizeof(payload), 5000) < 0)
			break;
		sent++;
		for (k = 0; k < 64 && it_read_some(fd, sink, sizeof(sink), 0) > 0; k++)
			;
	}
	CHECK(sent == 200, "root: %d of 200 sends went through", sent);
out:
	if (fd >= 0)
		close(fd);
	if (s >= 0)
		sb_close(c, s);
	if (lfd >= 0)
		close(lfd);
}

int main(int argc, char **argv)
{
	char *cargv[] = { argv[0], (char *)"--as-nobody", NULL, NULL };
	struct it_broker b;
	sb_client *c;
	int status;

	if (argc == 3 && !strcmp(argv[1], "--as-nobody"))
		return child_main(argv[2]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getuid() != 0)
		it_skip("needs root to run a client as uid %d", NOBODY);
	c = it_setup(&b,
		     "policy:\n"
		     "  - name: root-all\n"
		     "    match: { uid: 0 }\n"
		     "    action: allow\n"
		     "  - name: nobody-all\n"
		     "    match: { uid: 65534 }\n"
		     "    action: allow\n", 58);
	if (chmod(b.dir, 0755) < 0 || chmod(b.sock, 0666) < 0) {
		CHECK(0, "chmod %s: %s", b.sock, strerror(errno));
		return it_teardown(&b, c);
	}
	root_sends(c);
	cargv[2] = b.target;
	status = it_run_self(cargv, 50000);
	CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the uid %d client failed (status 0x%x)", NOBODY, (unsigned)status);
	return it_teardown(&b, c);
}
