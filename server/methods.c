/* SPDX-License-Identifier: MIT
 * methods.c - method paths, kinds, request types and handlers: the one
 * registry of what sockbrokerd serves.
 */
#include "methods.h"
#include "ops.h"
#include "grpc/health/v1/health.pb-c.h"

#define SVC "/sockbroker.v1.SocketBroker/"
#define REQ(x) &sockbroker__v1__##x##__descriptor
#define U(name, sess, req, fn) { SVC name, SB__UNARY, sess, REQ(req), fn, NULL }
#define S(name, sess, req, fn) { SVC name, SB__SERVER_STREAM, sess, REQ(req), fn, NULL }

struct sb__method sb__methods[] = {
	S("OpenSession", 0, open_session_request, sb__h_open_session),
	U("CloseSession", 1, close_session_request, sb__h_close_session),
	U("Socket", 1, socket_request, sb__h_socket),
	U("SocketPair", 1, socket_pair_request, sb__h_socketpair),
	U("Bind", 1, bind_request, sb__h_bind),
	U("Connect", 1, connect_request, sb__h_connect),
	U("Listen", 1, listen_request, sb__h_listen),
	U("Accept", 1, accept_request, sb__h_accept),
	U("Send", 1, send_request, sb__h_send),
	U("Recv", 1, recv_request, sb__h_recv),
	U("Shutdown", 1, shutdown_request, sb__h_shutdown),
	U("Close", 1, close_request, sb__h_close),
	U("SetSockOpt", 1, set_sock_opt_request, sb__h_setsockopt),
	U("GetSockOpt", 1, get_sock_opt_request, sb__h_getsockopt),
	U("GetSockName", 1, get_sock_name_request, sb__h_getsockname),
	U("GetPeerName", 1, get_peer_name_request, sb__h_getpeername),
	U("GetPeerCred", 1, get_peer_cred_request, sb__h_getpeercred),
	U("SetNonBlocking", 1, set_non_blocking_request, sb__h_set_nonblocking),
	U("Poll", 1, poll_request, sb__h_poll),
	U("Dial", 1, dial_request, sb__h_dial),
	U("HandoffTicket", 1, handoff_ticket_request, sb__h_handoff_ticket),
	U("Handoff", 1, handoff_request, sb__h_handoff),
	S("AcceptStream", 1, accept_stream_request, sb__h_accept_stream),
	S("RecvStream", 1, recv_stream_request, sb__h_recv_stream),
	{ SVC "Pipe", SB__BIDI_STREAM, 1, NULL, sb__h_pipe, NULL },
	{ SVC "DialStream", SB__BIDI_STREAM, 1, NULL, sb__h_dial_stream, NULL },
	U("GetAddrInfo", 0, get_addr_info_request, sb__h_getaddrinfo),
	U("GetNameInfo", 0, get_name_info_request, sb__h_getnameinfo),
	U("GetHostName", 0, get_host_name_request, sb__h_gethostname),
	U("GetServByName", 0, get_serv_by_name_request, sb__h_getservbyname),
	U("GetServByPort", 0, get_serv_by_port_request, sb__h_getservbyport),
	U("GetIfAddrs", 0, get_if_addrs_request, sb__h_getifaddrs),
	S("WatchInterfaces", 0, watch_interfaces_request, sb__h_watch_interfaces),
	U("GetStats", 0, get_stats_request, sb__h_get_stats),
	{ "/grpc.health.v1.Health/Check", SB__UNARY, 0,
	  &grpc__health__v1__health_check_request__descriptor, sb__h_health_check, NULL },
	{ "/grpc.health.v1.Health/Watch", SB__SERVER_STREAM, 0,
	  &grpc__health__v1__health_check_request__descriptor, sb__h_health_watch, NULL },
	/* Server reflection: v1alpha is v1 under another name, same messages. */
	{ "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", SB__BIDI_STREAM, 0,
	  NULL, sb__h_reflection, NULL },
	{ "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", SB__BIDI_STREAM, 0,
	  NULL, sb__h_reflection, NULL },
	{ NULL, SB__UNARY, 0, NULL, NULL, NULL },
};
