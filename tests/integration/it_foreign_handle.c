/* SPDX-License-Identifier: MIT
 * it_foreign_handle.c - a handle is scoped to its session (contract
 * rule 2): another session's handle is NOT_FOUND with sb-errno EBADF,
 * exactly like a handle that never existed, and the refused call changes
 * nothing for the owner. Uses raw gRPC calls, since libsockbroker never
 * shows handle values. Also: the library reports EBADF for socket numbers
 * it never gave out, while a second sb_client on the same broker works.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "it_client.h"

static grpc_channel *ch;

static uint64_t raw_socket(const struct it_session *s)
{
	Sockbroker__V1__SocketRequest req = SOCKBROKER__V1__SOCKET_REQUEST__INIT;
	Sockbroker__V1__SocketReply *rep;
	struct it_reply r;
	uint64_t h = 0;

	req.family = SOCKBROKER__V1__ADDRESS_FAMILY__AF_INET;
	req.type = SOCKBROKER__V1__SOCKET_TYPE__SOCK_DGRAM;
	if (it_call(ch, IT_SVC "Socket", &req.base, s->token, 5000, &r) == 0 &&
	    CHECK(r.status == GRPC_STATUS_OK, "raw Socket: %s %s", it_status_name(r.status),
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

/* GetSockName on @handle as @s: the status. */
static grpc_status_code getsockname_as(const struct it_session *s, uint64_t handle, int *err)
{
	Sockbroker__V1__GetSockNameRequest req = SOCKBROKER__V1__GET_SOCK_NAME_REQUEST__INIT;
	struct it_reply r;
	grpc_status_code st;

	req.handle = handle;
	if (it_call(ch, IT_SVC "GetSockName", &req.base, s->token, 5000, &r) < 0)
		return GRPC_STATUS_UNKNOWN;
	st = r.status;
	*err = r.sb_errno;
	it_reply_free(&r);
	return st;
}

static void expect_not_found(const char *what, const char *method, const ProtobufCMessage *req,
			     const struct it_session *s)
{
	struct it_reply r;

	if (it_call(ch, method, req, s->token, 5000, &r) < 0) {
		CHECK(0, "%s: no answer", what);
		return;
	}
	CHECK(r.status == GRPC_STATUS_NOT_FOUND && r.sb_errno == EBADF,
	      "%s: status %s (sb-errno %d) \"%s\", want NOT_FOUND with sb-errno %d (EBADF)", what,
	      it_status_name(r.status), r.sb_errno, r.details, EBADF);
	it_reply_free(&r);
}

int main(void)
{
	Sockbroker__V1__CloseRequest close_req = SOCKBROKER__V1__CLOSE_REQUEST__INIT;
	Sockbroker__V1__SendRequest send_req = SOCKBROKER__V1__SEND_REQUEST__INIT;
	Sockbroker__V1__GetSockNameRequest gsn = SOCKBROKER__V1__GET_SOCK_NAME_REQUEST__INIT;
	Sockbroker__V1__ListenRequest lreq = SOCKBROKER__V1__LISTEN_REQUEST__INIT;
	struct it_session a, bs;
	struct it_broker b;
	sb_client *c, *c2;
	uint64_t ha;
	int err = 0, s, s2;
	char buf[4];

	c = it_setup(&b, NULL, 30);
	ch = it_channel(&b);
	if (!CHECK(it_session_open(ch, &a, 5000) == 0, "raw OpenSession A") ||
	    !CHECK(it_session_open(ch, &bs, 5000) == 0, "raw OpenSession B"))
		goto out;
	CHECK(strcmp(a.token, bs.token) != 0, "two sessions got the same token");
	ha = raw_socket(&a);
	if (!ha)
		goto out_sessions;

	/* A's handle under B's token: NOT_FOUND, for every kind of call. */
	gsn.handle = ha;
	expect_not_found("GetSockName of A's handle with B's session", IT_SVC "GetSockName",
			 &gsn.base, &bs);
	send_req.handle = ha;
	send_req.data.data = (uint8_t *)"x";
	send_req.data.len = 1;
	expect_not_found("Send on A's handle with B's session", IT_SVC "Send", &send_req.base, &bs);
	lreq.handle = ha;
	expect_not_found("Listen on A's handle with B's session", IT_SVC "Listen", &lreq.base, &bs);
	close_req.handle = ha;
	expect_not_found("Close of A's handle with B's session", IT_SVC "Close", &close_req.base,
			 &bs);

	/* Exactly like handles that never existed. */
	gsn.handle = ha + 0x10000;
	expect_not_found("GetSockName of a handle that never existed", IT_SVC "GetSockName",
			 &gsn.base, &a);
	gsn.handle = 0;
	expect_not_found("GetSockName of handle 0", IT_SVC "GetSockName", &gsn.base, &a);

	/* Nothing changed for A: the handle still works, B's Close did not close it. */
	CHECK(getsockname_as(&a, ha, &err) == GRPC_STATUS_OK,
	      "A's handle after B's refused calls: GetSockName not OK (sb-errno %d)", err);
	close_req.handle = ha;
	{
		struct it_reply r;

		if (it_call(ch, IT_SVC "Close", &close_req.base, a.token, 5000, &r) == 0)
			CHECK(r.status == GRPC_STATUS_OK, "A closes its own handle: %s %s",
			      it_status_name(r.status), r.details);
		it_reply_free(&r);
	}
	CHECK(getsockname_as(&a, ha, &err) == GRPC_STATUS_NOT_FOUND,
	      "A's handle after A closed it: should be NOT_FOUND");

	/* Through the library: socket numbers are per client. */
	c2 = sb_open(b.target);
	if (CHECK(c2 != NULL, "second sb_open: %s", strerror(errno))) {
		s = sb_socket(c, AF_INET, SOCK_DGRAM, 0);
		s2 = sb_socket(c2, AF_INET, SOCK_DGRAM, 0);
		CHECK(s >= 0 && s2 >= 0, "sb_socket on two clients: %s", strerror(errno));
		errno = 0;
		CHECK(sb_recv(c2, s2 + 100, buf, sizeof(buf), MSG_DONTWAIT) == -1 && errno == EBADF,
		      "sb_recv on a number client 2 never gave out: want EBADF, got %s",
		      strerror(errno));
		CHECK(sb_close(c2, s2) == 0, "client 2 closes its socket: %s", strerror(errno));
		CHECK(sb_send(c, s, "x", 1, 0) == -1 && errno == EDESTADDRREQ,
		      "client 1's socket unaffected by client 2 (want EDESTADDRREQ on an "
		      "unconnected UDP send, got %s)", strerror(errno));
		sb_close(c, s);
		sb_close_client(c2);
	}
out_sessions:
	it_session_close(&a);
	it_session_close(&bs);
out:
	grpc_channel_destroy(ch);
	return it_teardown(&b, c);
}
