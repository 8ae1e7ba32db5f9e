/* SPDX-License-Identifier: MIT
 * it_no_session.c - socket calls need a live session (contract rule 1):
 *  - Socket, Bind, Close, GetSockName, Poll and CloseSession without
 *    `sb-session` metadata: UNAUTHENTICATED with sb-errno 13 (EACCES);
 *  - with bogus tokens (empty, short, 32 made-up hex digits, a real token
 *    with one digit changed, a real token plus a byte): UNAUTHENTICATED;
 *  - with the token of a session that ended by CloseSession (at once) or
 *    by cancelling its OpenSession stream (within 2 s): UNAUTHENTICATED,
 *    and the ended sessions' sockets are closed;
 *  - refused calls create nothing (sockets_open unchanged) and do not
 *    disturb the session whose token was altered;
 *  - name calls need no session: GetHostName (equal to gethostname()),
 *    GetServByName, GetAddrInfo, GetStats work without metadata.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_client.h"

#define PORTABLE_EACCES 13

static grpc_channel *ch;

static grpc_status_code raw_status(const char *method, const ProtobufCMessage *m,
				   const char *token, int *err, char *details, size_t dlen)
{
	struct it_reply r;
	grpc_status_code st;

	if (it_call(ch, method, m, token, 5000, &r) < 0) {
		snprintf(details, dlen, "no answer");
		*err = -1;
		return GRPC_STATUS_UNKNOWN;
	}
	st = r.status;
	*err = r.sb_errno;
	snprintf(details, dlen, "%s", r.details);
	it_reply_free(&r);
	return st;
}

static void expect_unauth(const char *what, const char *method, const ProtobufCMessage *m,
			  const char *token)
{
	char details[512];
	int err;
	grpc_status_code st = raw_status(method, m, token, &err, details, sizeof(details));

	CHECK(st == GRPC_STATUS_UNAUTHENTICATED && err == PORTABLE_EACCES,
	      "%s: status %s sb-errno %d \"%s\"; want UNAUTHENTICATED with sb-errno %d", what,
	      it_status_name(st), err, details, PORTABLE_EACCES);
}

static uint64_t raw_socket(const char *token)
{
	Sockbroker__V1__SocketRequest req = SOCKBROKER__V1__SOCKET_REQUEST__INIT;
	Sockbroker__V1__SocketReply *rep;
	struct it_reply r;
	uint64_t h = 0;

	req.family = SOCKBROKER__V1__ADDRESS_FAMILY__AF_INET;
	req.type = SOCKBROKER__V1__SOCKET_TYPE__SOCK_DGRAM;
	if (it_call(ch, IT_SVC "Socket", &req.base, token, 5000, &r) == 0 &&
	    CHECK(r.status == GRPC_STATUS_OK, "raw Socket with a valid token: %s %s",
		  it_status_name(r.status), r.details)) {
		rep = sockbroker__v1__socket_reply__unpack(NULL, r.len, r.data);
		if (CHECK(rep && rep->error == 0 && rep->handle, "raw Socket reply"))
			h = rep->handle;
		if (rep)
			sockbroker__v1__socket_reply__free_unpacked(rep, NULL);
	}
	it_reply_free(&r);
	return h;
}

/* Every socket call kind without / with @token. */
static void all_refused(const char *label, const char *token, uint64_t handle)
{
	Sockbroker__V1__SocketRequest sreq = SOCKBROKER__V1__SOCKET_REQUEST__INIT;
	Sockbroker__V1__BindRequest breq = SOCKBROKER__V1__BIND_REQUEST__INIT;
	Sockbroker__V1__CloseRequest creq = SOCKBROKER__V1__CLOSE_REQUEST__INIT;
	Sockbroker__V1__GetSockNameRequest gsn = SOCKBROKER__V1__GET_SOCK_NAME_REQUEST__INIT;
	Sockbroker__V1__PollRequest preq = SOCKBROKER__V1__POLL_REQUEST__INIT;
	Sockbroker__V1__CloseSessionRequest csr = SOCKBROKER__V1__CLOSE_SESSION_REQUEST__INIT;
	char what[200];

	sreq.family = SOCKBROKER__V1__ADDRESS_FAMILY__AF_INET;
	sreq.type = SOCKBROKER__V1__SOCKET_TYPE__SOCK_STREAM;
	snprintf(what, sizeof(what), "Socket %s", label);
	expect_unauth(what, IT_SVC "Socket", &sreq.base, token);
	breq.handle = handle;
	snprintf(what, sizeof(what), "Bind %s", label);
	expect_unauth(what, IT_SVC "Bind", &breq.base, token);
	creq.handle = handle;
	snprintf(what, sizeof(what), "Close %s", label);
	expect_unauth(what, IT_SVC "Close", &creq.base, token);
	gsn.handle = handle;
	snprintf(what, sizeof(what), "GetSockName %s", label);
	expect_unauth(what, IT_SVC "GetSockName", &gsn.base, token);
	snprintf(what, sizeof(what), "Poll %s", label);
	expect_unauth(what, IT_SVC "Poll", &preq.base, token);
	snprintf(what, sizeof(what), "CloseSession %s", label);
	expect_unauth(what, IT_SVC "CloseSession", &csr.base, token);
}

static void names_without_session(void)
{
	Sockbroker__V1__GetHostNameRequest hreq = SOCKBROKER__V1__GET_HOST_NAME_REQUEST__INIT;
	Sockbroker__V1__GetServByNameRequest sreq = SOCKBROKER__V1__GET_SERV_BY_NAME_REQUEST__INIT;
	Sockbroker__V1__GetAddrInfoRequest greq = SOCKBROKER__V1__GET_ADDR_INFO_REQUEST__INIT;
	Sockbroker__V1__GetHostNameReply *hrep;
	Sockbroker__V1__GetServReply *srep;
	Sockbroker__V1__GetAddrInfoReply *grep;
	struct servent *se;
	struct it_reply r;
	char host[256] = "";

	gethostname(host, sizeof(host));
	if (CHECK(it_call(ch, IT_SVC "GetHostName", &hreq.base, NULL, 5000, &r) == 0,
		  "GetHostName without a session: no answer")) {
		hrep = r.status == GRPC_STATUS_OK
			? sockbroker__v1__get_host_name_reply__unpack(NULL, r.len, r.data) : NULL;
		CHECK(hrep && hrep->error == 0 && !strcmp(hrep->name, host),
		      "GetHostName without a session: %s \"%s\" name \"%s\", want OK \"%s\"",
		      it_status_name(r.status), r.details, hrep ? hrep->name : "", host);
		if (hrep)
			sockbroker__v1__get_host_name_reply__free_unpacked(hrep, NULL);
		it_reply_free(&r);
	}

	se = getservbyname("http", "tcp");
	sreq.name = (char *)"http";
	sreq.proto = (char *)"tcp";
	if (CHECK(it_call(ch, IT_SVC "GetServByName", &sreq.base, NULL, 5000, &r) == 0,
		  "GetServByName without a session: no answer")) {
		srep = r.status == GRPC_STATUS_OK
			? sockbroker__v1__get_serv_reply__unpack(NULL, r.len, r.data) : NULL;
		CHECK(srep != NULL, "GetServByName without a session: %s \"%s\"",
		      it_status_name(r.status), r.details);
		if (srep && se)
			CHECK(srep->found && srep->port == 80, "GetServByName(http/tcp): found %d "
			      "port %u", (int)srep->found, srep->port);
		if (srep)
			sockbroker__v1__get_serv_reply__free_unpacked(srep, NULL);
		it_reply_free(&r);
	}

	greq.node = (char *)"127.0.0.1";
	greq.flags = 4;	/* AI_NUMERICHOST */
	if (CHECK(it_call(ch, IT_SVC "GetAddrInfo", &greq.base, NULL, 5000, &r) == 0,
		  "GetAddrInfo without a session: no answer")) {
		grep = r.status == GRPC_STATUS_OK
			? sockbroker__v1__get_addr_info_reply__unpack(NULL, r.len, r.data) : NULL;
		CHECK(grep && grep->eai == 0 && grep->n_results > 0,
		      "GetAddrInfo(127.0.0.1) without a session: %s \"%s\"",
		      it_status_name(r.status), r.details);
		if (grep)
			sockbroker__v1__get_addr_info_reply__free_unpacked(grep, NULL);
		it_reply_free(&r);
	}
	CHECK(it_stats_sockets(ch) >= 0, "GetStats without a session");
}

int main(void)
{
	char token[160], details[512];
	struct it_session a, ended, cancelled;
	struct it_broker b;
	int64_t open0, until;
	uint64_t ha, he, hc;
	grpc_status_code st;
	sb_client *c;
	char host[256];
	int err, i;

	c = it_setup(&b, NULL, 40);
	ch = it_channel(&b);
	if (!CHECK(it_session_open(ch, &a, 5000) == 0, "raw OpenSession A"))
		goto out;
	ha = raw_socket(a.token);
	if (!ha)
		goto out_a;
	open0 = it_stats_sockets(ch);

	it_note("no sb-session metadata");
	all_refused("without sb-session", NULL, ha);

	it_note("bogus tokens");
	all_refused("with an empty token", "", ha);
	all_refused("with token \"bogus\"", "bogus", ha);
	all_refused("with 32 made-up hex digits", "0123456789abcdef0123456789abcdef", ha);
	snprintf(token, sizeof(token), "%s", a.token);
	token[5] = token[5] == '0' ? '1' : '0';
	all_refused("with A's token, one digit changed", token, ha);
	snprintf(token, sizeof(token), "%sx", a.token);
	all_refused("with A's token plus a byte", token, ha);
	snprintf(token, sizeof(token), "%.*s", (int)strlen(a.token) - 1, a.token);
	all_refused("with A's token minus a byte", token, ha);

	CHECK(it_stats_sockets(ch) == open0, "sockets_open changed by refused calls: %lld -> %lld",
	      (long long)open0, (long long)it_stats_sockets(ch));
	{
		/* A is intact: its handle still works. */
		Sockbroker__V1__GetSockNameRequest gsn = SOCKBROKER__V1__GET_SOCK_NAME_REQUEST__INIT;

		gsn.handle = ha;
		st = raw_status(IT_SVC "GetSockName", &gsn.base, a.token, &err, details,
				sizeof(details));
		CHECK(st == GRPC_STATUS_OK, "A's handle after the refused calls: %s \"%s\"",
		      it_status_name(st), details);
	}

	it_note("tokens of ended sessions");
	if (CHECK(it_session_open(ch, &ended, 5000) == 0, "raw OpenSession (to end)")) {
		Sockbroker__V1__CloseSessionRequest csr = SOCKBROKER__V1__CLOSE_SESSION_REQUEST__INIT;

		he = raw_socket(ended.token);
		CHECK(it_stats_sockets(ch) == open0 + 1, "sockets_open with the second session");
		st = raw_status(IT_SVC "CloseSession", &csr.base, ended.token, &err, details,
				sizeof(details));
		CHECK(st == GRPC_STATUS_OK, "CloseSession: %s \"%s\"", it_status_name(st), details);
		all_refused("with the token of a closed session", ended.token, he);
		CHECK(it_stats_sockets(ch) == open0,
		      "sockets_open after CloseSession: %lld, want %lld (its socket closed)",
		      (long long)it_stats_sockets(ch), (long long)open0);
		it_session_close(&ended);
	}
	if (CHECK(it_session_open(ch, &cancelled, 5000) == 0, "raw OpenSession (to cancel)")) {
		Sockbroker__V1__GetSockNameRequest gsn = SOCKBROKER__V1__GET_SOCK_NAME_REQUEST__INIT;

		hc = raw_socket(cancelled.token);
		snprintf(token, sizeof(token), "%s", cancelled.token);
		it_session_close(&cancelled);	/* cancels the OpenSession stream */
		/* The broker ends the session when it sees the cancel: bounded wait. */
		gsn.handle = hc;
		until = it_now_ms() + 2000;
		for (i = 0; i < 200; i++) {
			st = raw_status(IT_SVC "GetSockName", &gsn.base, token, &err, details,
					sizeof(details));
			if (st != GRPC_STATUS_OK || it_now_ms() > until)
				break;
			it_sleep_ms(10);
		}
		CHECK(st == GRPC_STATUS_UNAUTHENTICATED && err == PORTABLE_EACCES,
		      "token of a cancelled session: %s sb-errno %d \"%s\" after %d tries, want "
		      "UNAUTHENTICATED", it_status_name(st), err, details, i + 1);
		all_refused("with the token of a cancelled session", token, hc);
		CHECK(it_stats_sockets(ch) == open0, "sockets_open after the cancelled session: "
		      "%lld, want %lld", (long long)it_stats_sockets(ch), (long long)open0);
	}

	it_note("name calls without a session");
	names_without_session();
	/* And through the library, which sends no token for them. */
	CHECK(sb_gethostname(c, host, sizeof(host)) == 0, "sb_gethostname: %s", strerror(errno));

out_a:
	it_session_close(&a);
out:
	grpc_channel_destroy(ch);
	return it_teardown(&b, c);
}
