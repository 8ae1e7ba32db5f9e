/* SPDX-License-Identifier: MIT
 * it_malformed.c - requests the client library would never send (contract
 * rules 3 and 4):
 *  - bytes that are not a valid protobuf message (garbage, a truncated
 *    varint, a known field with the wrong wire type, a length running past
 *    the end, an invalid wire type, field number 0) sent to Socket, Bind,
 *    Connect and GetAddrInfo with a valid session: INVALID_ARGUMENT with
 *    sb-errno 22 (EINVAL);
 *  - valid messages with values out of range: an Inet4Address of 3 bytes,
 *    an Inet6Address of 4, port 70000, a Unix path of 200 bytes, an abstract
 *    name of 200, unknown enum values (family 9999, type 9999, protocol
 *    9999, shutdown direction 7), unknown MSG_ bits, Recv max_bytes above
 *    the message limit, 1025 Poll items, a 2000-byte GetAddrInfo node:
 *    INVALID_ARGUMENT / sb-errno 22 (the broker decides these before the
 *    kernel sees anything, server/convert.c and sb__op_native());
 *  - an unknown method: UNIMPLEMENTED with sb-errno 38 (ENOSYS);
 * and that none of these changed anything: sockets_open is unchanged, the
 * socket a bad Bind/Connect named is still unbound and unconnected, the
 * broker keeps serving (valid calls work afterwards, through raw gRPC and
 * through libsockbroker), calls_failed counted every refusal.
 * For contrast: a combination the kernel refuses (AF_INET, SOCK_STREAM,
 * IPPROTO_UDP) is a result, status OK with the kernel's errno in `error`,
 * and an unknown field in a valid message is ignored, as protobuf wants.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_client.h"

#define PORTABLE_EINVAL 22
#define PORTABLE_ENOSYS 38

static grpc_channel *ch;
static struct it_session sess;
static unsigned refused;	/* calls this test expects the broker to fail */

/* One raw call with @req bytes; check status and sb-errno. */
static void expect_raw(const char *what, const char *method, const void *req, size_t len,
		       const char *token, grpc_status_code want, int want_errno)
{
	struct it_reply r;

	if (!CHECK(it_unary(ch, method, req, len, token, 5000, &r) == 0, "%s: no answer", what))
		return;
	CHECK(r.status == want && r.sb_errno == want_errno,
	      "%s: status %s, sb-errno %d (\"%s\"); want %s with sb-errno %d", what,
	      it_status_name(r.status), r.sb_errno, r.details, it_status_name(want), want_errno);
	CHECK(r.len == 0, "%s: a refused call carried a reply message of %zu bytes", what, r.len);
	if (want != GRPC_STATUS_OK)
		refused++;
	it_reply_free(&r);
}

static void expect_msg(const char *what, const char *method, const ProtobufCMessage *m,
		       grpc_status_code want, int want_errno)
{
	size_t len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);

	if (!CHECK(buf != NULL, "malloc"))
		return;
	protobuf_c_message_pack(m, buf);
	expect_raw(what, method, buf, len, sess.token, want, want_errno);
	free(buf);
}

/* Raw Socket; Return: the handle or 0 (a failed check). */
static uint64_t raw_socket(Sockbroker__V1__AddressFamily fam, Sockbroker__V1__SocketType type)
{
	Sockbroker__V1__SocketRequest req = SOCKBROKER__V1__SOCKET_REQUEST__INIT;
	Sockbroker__V1__SocketReply *rep;
	struct it_reply r;
	uint64_t h = 0;

	req.family = fam;
	req.type = type;
	if (!CHECK(it_call(ch, IT_SVC "Socket", &req.base, sess.token, 5000, &r) == 0,
		   "raw Socket: no answer"))
		return 0;
	if (CHECK(r.status == GRPC_STATUS_OK, "raw Socket: %s %s", it_status_name(r.status),
		  r.details)) {
		rep = sockbroker__v1__socket_reply__unpack(NULL, r.len, r.data);
		if (CHECK(rep && rep->error == 0 && rep->handle != 0, "raw Socket reply"))
			h = rep->handle;
		if (rep)
			sockbroker__v1__socket_reply__free_unpacked(rep, NULL);
	}
	it_reply_free(&r);
	return h;
}

static void raw_close(uint64_t h)
{
	Sockbroker__V1__CloseRequest req = SOCKBROKER__V1__CLOSE_REQUEST__INIT;
	struct it_reply r;

	req.handle = h;
	if (it_call(ch, IT_SVC "Close", &req.base, sess.token, 5000, &r) == 0)
		CHECK(r.status == GRPC_STATUS_OK, "raw Close: %s %s", it_status_name(r.status),
		      r.details);
	it_reply_free(&r);
}

/* GetSockName / GetPeerName of @h: the port (sockname) or the reply's
 * error (peername); -1 when the call failed. */
static long raw_name(uint64_t h, int peer)
{
	struct it_reply r;
	long v = -1;

	if (peer) {
		Sockbroker__V1__GetPeerNameRequest req = SOCKBROKER__V1__GET_PEER_NAME_REQUEST__INIT;
		Sockbroker__V1__GetPeerNameReply *rep;

		req.handle = h;
		if (it_call(ch, IT_SVC "GetPeerName", &req.base, sess.token, 5000, &r) == 0 &&
		    r.status == GRPC_STATUS_OK) {
			rep = sockbroker__v1__get_peer_name_reply__unpack(NULL, r.len, r.data);
			if (rep) {
				v = (long)rep->error;
				sockbroker__v1__get_peer_name_reply__free_unpacked(rep, NULL);
			}
		}
	} else {
		Sockbroker__V1__GetSockNameRequest req = SOCKBROKER__V1__GET_SOCK_NAME_REQUEST__INIT;
		Sockbroker__V1__GetSockNameReply *rep;

		req.handle = h;
		if (it_call(ch, IT_SVC "GetSockName", &req.base, sess.token, 5000, &r) == 0 &&
		    r.status == GRPC_STATUS_OK) {
			rep = sockbroker__v1__get_sock_name_reply__unpack(NULL, r.len, r.data);
			if (rep) {
				if (rep->error == 0 && rep->address &&
				    rep->address->kind_case == SOCKBROKER__V1__ADDRESS__KIND_INET)
					v = (long)rep->address->inet->port;
				else if (rep->error == 0 && rep->address &&
					 rep->address->kind_case ==
						 SOCKBROKER__V1__ADDRESS__KIND_UNIX_ADDR)
					v = rep->address->unix_addr->name_case ==
						    SOCKBROKER__V1__UNIX_ADDRESS__NAME__NOT_SET
						    ? 0 : 1;
				sockbroker__v1__get_sock_name_reply__free_unpacked(rep, NULL);
			}
		}
	}
	it_reply_free(&r);
	return v;
}

/* ---- bytes that are not a message ---------------------------------- */

struct garbage {
	const char *name;
	const uint8_t *bytes;
	size_t len;
};

static const uint8_t g_ff[] = { 0xff, 0xff, 0xff };
static const uint8_t g_trunc_varint[] = { 0x08, 0x80 };		/* field 1 varint, cut */
static const uint8_t g_len_past_end[] = { 0x12, 0x10, 0x00 };	/* field 2, 16 bytes of 1 */
static const uint8_t g_bad_wiretype[] = { 0x0f, 0x00 };		/* wire type 7 */
static const uint8_t g_field0[] = { 0x00, 0x01 };		/* field number 0 */
static const uint8_t g_trunc_tag[] = { 0x80 };			/* a tag varint, cut */

static void garbage_to(const char *method, const uint8_t *wrong_type, size_t wlen)
{
	const struct garbage g[] = {
		{ "ff ff ff", g_ff, sizeof(g_ff) },
		{ "truncated varint", g_trunc_varint, sizeof(g_trunc_varint) },
		{ "length past the end", g_len_past_end, sizeof(g_len_past_end) },
		{ "wire type 7", g_bad_wiretype, sizeof(g_bad_wiretype) },
		{ "field number 0", g_field0, sizeof(g_field0) },
		{ "truncated tag", g_trunc_tag, sizeof(g_trunc_tag) },
		{ "known field with the wrong wire type", wrong_type, wlen },
	};
	char what[160];
	size_t i;

	for (i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
		snprintf(what, sizeof(what), "%s with %s", method, g[i].name);
		expect_raw(what, method, g[i].bytes, g[i].len, sess.token,
			   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
	}
}

static void not_messages(void)
{
	/* SocketRequest.family (enum, varint) as a length-delimited field. */
	static const uint8_t socket_wt[] = { 0x0a, 0x01, 0x00 };
	/* BindRequest.address (message) as a varint. */
	static const uint8_t bind_wt[] = { 0x10, 0x01 };
	/* ConnectRequest.handle (uint64) as a length-delimited field. */
	static const uint8_t connect_wt[] = { 0x0a, 0x00 };
	/* GetAddrInfoRequest.node (string) as a varint. */
	static const uint8_t gai_wt[] = { 0x08, 0x01 };
	/* BindRequest whose address holds garbage: field 2, 2 bytes ff ff. */
	static const uint8_t bind_nested[] = { 0x12, 0x02, 0xff, 0xff };

	garbage_to(IT_SVC "Socket", socket_wt, sizeof(socket_wt));
	garbage_to(IT_SVC "Bind", bind_wt, sizeof(bind_wt));
	garbage_to(IT_SVC "Connect", connect_wt, sizeof(connect_wt));
	garbage_to(IT_SVC "GetAddrInfo", gai_wt, sizeof(gai_wt));
	expect_raw("Bind with a malformed nested Address", IT_SVC "Bind", bind_nested,
		   sizeof(bind_nested), sess.token, GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
	/* A name call needs no session; malformed is malformed without one too. */
	expect_raw("GetAddrInfo with ff ff ff, no session", IT_SVC "GetAddrInfo", g_ff,
		   sizeof(g_ff), NULL, GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
}

/* ---- valid messages, bad values ------------------------------------ */

static void bad_addresses(uint64_t h4, uint64_t hu)
{
	Sockbroker__V1__BindRequest bind = SOCKBROKER__V1__BIND_REQUEST__INIT;
	Sockbroker__V1__ConnectRequest conn = SOCKBROKER__V1__CONNECT_REQUEST__INIT;
	Sockbroker__V1__Address a = SOCKBROKER__V1__ADDRESS__INIT;
	Sockbroker__V1__Inet4Address in4 = SOCKBROKER__V1__INET4_ADDRESS__INIT;
	Sockbroker__V1__Inet6Address in6 = SOCKBROKER__V1__INET6_ADDRESS__INIT;
	Sockbroker__V1__UnixAddress un = SOCKBROKER__V1__UNIX_ADDRESS__INIT;
	uint8_t lo[8] = { 127, 0, 0, 1 }, six[16] = { 0 };	/* lo: room for 5 */
	char path[201], abstract[200];

	bind.address = &a;
	conn.address = &a;

	/* Inet4Address of 3 bytes. */
	a.kind_case = SOCKBROKER__V1__ADDRESS__KIND_INET;
	a.inet = &in4;
	in4.addr.data = lo;
	in4.addr.len = 3;
	bind.handle = h4;
	expect_msg("Bind with a 3-byte Inet4Address", IT_SVC "Bind", &bind.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
	/* ... even when the handle does not exist: the address is checked first. */
	bind.handle = h4 + 0x100000;
	expect_msg("Bind with a 3-byte Inet4Address on an unknown handle", IT_SVC "Bind",
		   &bind.base, GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
	bind.handle = h4;
	in4.addr.len = 5;
	expect_msg("Bind with a 5-byte Inet4Address", IT_SVC "Bind", &bind.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);

	/* Port 70000. */
	in4.addr.len = 4;
	in4.port = 70000;
	expect_msg("Bind to 127.0.0.1:70000", IT_SVC "Bind", &bind.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
	conn.handle = h4;
	conn.timeout_ms = 1000;
	expect_msg("Connect to 127.0.0.1:70000", IT_SVC "Connect", &conn.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
	in4.port = 65536;
	expect_msg("Connect to 127.0.0.1:65536", IT_SVC "Connect", &conn.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);

	/* Inet6Address of 4 bytes, and port 70000 in IPv6. */
	a.kind_case = SOCKBROKER__V1__ADDRESS__KIND_INET6;
	a.inet6 = &in6;
	in6.addr.data = six;
	in6.addr.len = 4;
	expect_msg("Bind with a 4-byte Inet6Address", IT_SVC "Bind", &bind.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
	in6.addr.len = 16;
	in6.port = 70000;
	expect_msg("Connect to [::]:70000", IT_SVC "Connect", &conn.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);

	/* Nothing changed: still unbound, still unconnected. */
	CHECK(raw_name(h4, 0) == 0, "the IPv4 socket got a port from refused Binds (port %ld)",
	      raw_name(h4, 0));
	CHECK(raw_name(h4, 1) == ENOTCONN, "the IPv4 socket after refused Connects: "
	      "GetPeerName error %ld, want ENOTCONN", raw_name(h4, 1));

	/* A Unix path of 200 bytes, an empty one, an abstract name of 200. */
	memset(path, 'p', 200);
	path[0] = '/';
	path[200] = 0;
	a.kind_case = SOCKBROKER__V1__ADDRESS__KIND_UNIX_ADDR;
	a.unix_addr = &un;
	un.name_case = SOCKBROKER__V1__UNIX_ADDRESS__NAME_PATH;
	un.path = path;
	bind.handle = hu;
	expect_msg("Bind to a Unix path of 200 bytes", IT_SVC "Bind", &bind.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
	/* 108 bytes fill sun_path without a NUL, as the kernel allows;
	 * one more does not fit. */
	path[109] = 0;
	expect_msg("Bind to a Unix path of 109 bytes", IT_SVC "Bind", &bind.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
	un.path = (char *)"";
	expect_msg("Bind to an empty Unix path", IT_SVC "Bind", &bind.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
	memset(abstract, 'a', sizeof(abstract));
	un.name_case = SOCKBROKER__V1__UNIX_ADDRESS__NAME_ABSTRACT;
	un.abstract.data = (uint8_t *)abstract;
	un.abstract.len = sizeof(abstract);
	expect_msg("Bind to an abstract name of 200 bytes", IT_SVC "Bind", &bind.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
	conn.handle = hu;
	expect_msg("Connect to an abstract name of 200 bytes", IT_SVC "Connect", &conn.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
	CHECK(raw_name(hu, 0) == 0, "the Unix socket got a name from refused Binds");
}

static void bad_enums(uint64_t h4)
{
	Sockbroker__V1__SocketRequest sreq = SOCKBROKER__V1__SOCKET_REQUEST__INIT;
	Sockbroker__V1__SocketPairRequest preq = SOCKBROKER__V1__SOCKET_PAIR_REQUEST__INIT;
	Sockbroker__V1__ShutdownRequest shut = SOCKBROKER__V1__SHUTDOWN_REQUEST__INIT;
	Sockbroker__V1__SendRequest send = SOCKBROKER__V1__SEND_REQUEST__INIT;
	Sockbroker__V1__RecvRequest recv = SOCKBROKER__V1__RECV_REQUEST__INIT;
	Sockbroker__V1__GetAddrInfoRequest gai = SOCKBROKER__V1__GET_ADDR_INFO_REQUEST__INIT;
	Sockbroker__V1__PollRequest poll = SOCKBROKER__V1__POLL_REQUEST__INIT;
	Sockbroker__V1__PollItem item = SOCKBROKER__V1__POLL_ITEM__INIT;
	Sockbroker__V1__PollItem **items;
	char node[2001];
	size_t i;

	sreq.family = (Sockbroker__V1__AddressFamily)9999;
	sreq.type = SOCKBROKER__V1__SOCKET_TYPE__SOCK_STREAM;
	expect_msg("Socket with family 9999", IT_SVC "Socket", &sreq.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
	sreq.family = (Sockbroker__V1__AddressFamily)-1;
	expect_msg("Socket with family -1", IT_SVC "Socket", &sreq.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
	sreq.family = SOCKBROKER__V1__ADDRESS_FAMILY__AF_INET;
	sreq.type = (Sockbroker__V1__SocketType)9999;
	expect_msg("Socket with type 9999", IT_SVC "Socket", &sreq.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
	sreq.type = SOCKBROKER__V1__SOCKET_TYPE__SOCK_STREAM;
	sreq.protocol = (Sockbroker__V1__Protocol)9999;
	expect_msg("Socket with protocol 9999", IT_SVC "Socket", &sreq.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
	preq.family = (Sockbroker__V1__AddressFamily)9999;
	preq.type = SOCKBROKER__V1__SOCKET_TYPE__SOCK_STREAM;
	expect_msg("SocketPair with family 9999", IT_SVC "SocketPair", &preq.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);

	shut.handle = h4;
	shut.how = (Sockbroker__V1__ShutdownHow)7;
	expect_msg("Shutdown with how 7", IT_SVC "Shutdown", &shut.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);

	send.handle = h4;
	send.data.data = (uint8_t *)"x";
	send.data.len = 1;
	send.flags = 0x80000000u;	/* no MSG_ flag has this bit */
	expect_msg("Send with an unknown MSG_ bit", IT_SVC "Send", &send.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
	recv.handle = h4;
	recv.flags = 0x80000000u;
	expect_msg("Recv with an unknown MSG_ bit", IT_SVC "Recv", &recv.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
	recv.flags = 0;
	recv.max_bytes = 64u << 20;	/* above the default 4 MiB message limit */
	expect_msg("Recv with max_bytes of 64 MiB", IT_SVC "Recv", &recv.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);

	items = calloc(1025, sizeof(*items));
	if (CHECK(items != NULL, "calloc")) {
		item.handle = h4;
		item.events = 1;	/* POLLIN */
		for (i = 0; i < 1025; i++)
			items[i] = &item;
		poll.n_items = 1025;
		poll.items = items;
		poll.timeout_ms = 0;
		expect_msg("Poll with 1025 items", IT_SVC "Poll", &poll.base,
			   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
		free(items);
	}

	gai.node = (char *)"localhost";
	gai.family = (Sockbroker__V1__AddressFamily)9999;
	expect_msg("GetAddrInfo with family 9999", IT_SVC "GetAddrInfo", &gai.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
	gai.family = SOCKBROKER__V1__ADDRESS_FAMILY__AF_UNSPEC;
	gai.flags = 0x80000000u;
	expect_msg("GetAddrInfo with an unknown AI_ bit", IT_SVC "GetAddrInfo", &gai.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
	gai.flags = 0;
	memset(node, 'n', sizeof(node) - 1);
	node[sizeof(node) - 1] = 0;
	gai.node = node;
	expect_msg("GetAddrInfo with a node of 2000 bytes", IT_SVC "GetAddrInfo", &gai.base,
		   GRPC_STATUS_INVALID_ARGUMENT, PORTABLE_EINVAL);
}

/* What is not the broker's to refuse. */
static void results_not_failures(void)
{
	Sockbroker__V1__SocketRequest sreq = SOCKBROKER__V1__SOCKET_REQUEST__INIT;
	Sockbroker__V1__SocketReply *rep;
	struct it_reply r;
	uint8_t *buf;
	size_t len;
	int fd, native_errno = 0;

	/* socket(AF_INET, SOCK_STREAM, IPPROTO_UDP): the kernel says no. */
	fd = socket(AF_INET, SOCK_STREAM, IPPROTO_UDP);
	if (fd >= 0)
		close(fd);
	else
		native_errno = errno;
	sreq.family = SOCKBROKER__V1__ADDRESS_FAMILY__AF_INET;
	sreq.type = SOCKBROKER__V1__SOCKET_TYPE__SOCK_STREAM;
	sreq.protocol = SOCKBROKER__V1__PROTOCOL__IPPROTO_UDP;
	if (CHECK(it_call(ch, IT_SVC "Socket", &sreq.base, sess.token, 5000, &r) == 0,
		  "Socket(AF_INET, SOCK_STREAM, IPPROTO_UDP): no answer")) {
		CHECK(r.status == GRPC_STATUS_OK && r.sb_errno == -1,
		      "Socket(AF_INET, SOCK_STREAM, IPPROTO_UDP): status %s sb-errno %d, want OK "
		      "(a kernel refusal is a result)", it_status_name(r.status), r.sb_errno);
		rep = sockbroker__v1__socket_reply__unpack(NULL, r.len, r.data);
		CHECK(rep && (int)rep->error == native_errno && rep->handle == 0,
		      "Socket(AF_INET, SOCK_STREAM, IPPROTO_UDP): error %d handle %llu, want "
		      "the kernel's %d and no handle", rep ? (int)rep->error : -1,
		      rep ? (unsigned long long)rep->handle : 0ULL, native_errno);
		if (rep)
			sockbroker__v1__socket_reply__free_unpacked(rep, NULL);
		it_reply_free(&r);
	}

	/* A valid SocketRequest plus an unknown field 99 (varint 1): accepted. */
	sreq.protocol = SOCKBROKER__V1__PROTOCOL__IPPROTO_IP;
	sreq.type = SOCKBROKER__V1__SOCKET_TYPE__SOCK_DGRAM;
	len = protobuf_c_message_get_packed_size(&sreq.base);
	buf = malloc(len + 3);
	if (!CHECK(buf != NULL, "malloc"))
		return;
	protobuf_c_message_pack(&sreq.base, buf);
	buf[len] = 0x98;	/* field 99, wire type 0: (99 << 3) = 792 = 0x98 0x06 */
	buf[len + 1] = 0x06;
	buf[len + 2] = 0x01;
	if (CHECK(it_unary(ch, IT_SVC "Socket", buf, len + 3, sess.token, 5000, &r) == 0,
		  "Socket with an unknown field: no answer")) {
		rep = r.status == GRPC_STATUS_OK
			? sockbroker__v1__socket_reply__unpack(NULL, r.len, r.data) : NULL;
		if (CHECK(rep && rep->error == 0 && rep->handle,
			  "Socket with an unknown field 99: status %s \"%s\", want OK with a "
			  "handle (unknown fields are ignored)", it_status_name(r.status),
			  r.details))
			raw_close(rep->handle);
		if (rep)
			sockbroker__v1__socket_reply__free_unpacked(rep, NULL);
		it_reply_free(&r);
	}
	free(buf);
}

int main(void)
{
	Sockbroker__V1__GetStatsReply *st0, *st1;
	struct sockaddr_storage ss;
	struct it_broker b;
	struct it_reply r;
	socklen_t len;
	uint64_t h4, hu, h;
	int64_t open0, open1;
	sb_client *c;
	int s;

	c = it_setup(&b, NULL, 40);
	ch = it_channel(&b);
	if (!CHECK(it_session_open(ch, &sess, 5000) == 0, "raw OpenSession"))
		goto out;
	h4 = raw_socket(SOCKBROKER__V1__ADDRESS_FAMILY__AF_INET,
			SOCKBROKER__V1__SOCKET_TYPE__SOCK_STREAM);
	hu = raw_socket(SOCKBROKER__V1__ADDRESS_FAMILY__AF_UNIX,
			SOCKBROKER__V1__SOCKET_TYPE__SOCK_STREAM);
	if (!h4 || !hu)
		goto out_session;
	st0 = it_stats(ch);
	if (!CHECK(st0 != NULL, "GetStats before"))
		goto out_session;
	open0 = (int64_t)st0->sockets_open;

	it_note("malformed bytes to Socket, Bind, Connect, GetAddrInfo");
	not_messages();
	it_note("valid messages with bad addresses");
	bad_addresses(h4, hu);
	it_note("valid messages with unknown enum values and out-of-range fields");
	bad_enums(h4);

	/* An unknown method: UNIMPLEMENTED, ENOSYS. */
	expect_raw("unknown method NoSuchCall", IT_SVC "NoSuchCall", g_ff, sizeof(g_ff),
		   sess.token, GRPC_STATUS_UNIMPLEMENTED, PORTABLE_ENOSYS);
	expect_raw("unknown service", "/sockbroker.v9.Nothing/Socket", NULL, 0, NULL,
		   GRPC_STATUS_UNIMPLEMENTED, PORTABLE_ENOSYS);

	/* Nothing changed, and every refusal was counted. */
	st1 = it_stats(ch);
	if (CHECK(st1 != NULL, "GetStats after the refused calls")) {
		CHECK((int64_t)st1->sockets_open == open0,
		      "sockets_open changed from %lld to %llu by refused calls",
		      (long long)open0, (unsigned long long)st1->sockets_open);
		CHECK(st1->calls_failed - st0->calls_failed >= refused,
		      "calls_failed grew by %llu, want at least the %u refused calls",
		      (unsigned long long)(st1->calls_failed - st0->calls_failed), refused);
		sockbroker__v1__get_stats_reply__free_unpacked(st1, NULL);
	}
	sockbroker__v1__get_stats_reply__free_unpacked(st0, NULL);

	it_note("results, not failures");
	results_not_failures();

	/* The broker keeps serving: raw calls ... */
	h = raw_socket(SOCKBROKER__V1__ADDRESS_FAMILY__AF_INET,
		       SOCKBROKER__V1__SOCKET_TYPE__SOCK_DGRAM);
	if (h)
		raw_close(h);
	{
		Sockbroker__V1__GetHostNameRequest req = SOCKBROKER__V1__GET_HOST_NAME_REQUEST__INIT;

		if (CHECK(it_call(ch, IT_SVC "GetHostName", &req.base, NULL, 5000, &r) == 0,
			  "GetHostName after the refused calls: no answer"))
			CHECK(r.status == GRPC_STATUS_OK, "GetHostName after the refused calls: %s",
			      it_status_name(r.status));
		it_reply_free(&r);
	}
	/* ... and the library: a UDP socket bound to loopback. */
	s = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
	len = it_addr4(&ss, "127.0.0.1", 0);
	if (CHECK(s >= 0, "sb_socket after the refused calls: %s %s", strerror(errno), it_sberr())) {
		CHECK(sb_bind(c, s, (struct sockaddr *)&ss, len) == 0,
		      "sb_bind after the refused calls: %s %s", strerror(errno), it_sberr());
		len = sizeof(ss);
		CHECK(sb_getsockname(c, s, (struct sockaddr *)&ss, &len) == 0 && it_port(&ss) != 0,
		      "sb_getsockname after bind");
		CHECK(sb_close(c, s) == 0, "sb_close: %s", strerror(errno));
	}
	raw_close(h4);
	raw_close(hu);
	open1 = it_stats_sockets(ch);
	CHECK(open1 == open0 - 2, "sockets_open at the end: %lld, want %lld",
	      (long long)open1, (long long)(open0 - 2));
out_session:
	it_session_close(&sess);
out:
	grpc_channel_destroy(ch);
	return it_teardown(&b, c);
}
