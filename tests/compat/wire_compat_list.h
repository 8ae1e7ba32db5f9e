/* SPDX-License-Identifier: MIT
 * wire_compat_list.h - every message of the contract, as pairs of the
 * nanopb descriptor (client side) and the protobuf-c descriptor (server
 * side). X(NanopbName, protobuf_c_name). Kept in .proto order.
 */
#ifndef SB_TESTS_WIRE_COMPAT_LIST_H
#define SB_TESTS_WIRE_COMPAT_LIST_H

#define SB_COMPAT_MESSAGES(X) \
	X(Inet4Address, inet4_address) \
	X(Inet6Address, inet6_address) \
	X(UnixAddress, unix_address) \
	X(LinkAddress, link_address) \
	X(Address, address) \
	X(OpenSessionRequest, open_session_request) \
	X(Identity, identity) \
	X(SessionEvent, session_event) \
	X(CloseSessionRequest, close_session_request) \
	X(CloseSessionReply, close_session_reply) \
	X(SocketRequest, socket_request) \
	X(SocketReply, socket_reply) \
	X(SocketPairRequest, socket_pair_request) \
	X(SocketPairReply, socket_pair_reply) \
	X(BindRequest, bind_request) \
	X(BindReply, bind_reply) \
	X(ConnectRequest, connect_request) \
	X(ConnectReply, connect_reply) \
	X(ListenRequest, listen_request) \
	X(ListenReply, listen_reply) \
	X(AcceptRequest, accept_request) \
	X(AcceptReply, accept_reply) \
	X(SendRequest, send_request) \
	X(SendReply, send_reply) \
	X(InPktinfo, in_pktinfo) \
	X(In6Pktinfo, in6_pktinfo) \
	X(CmsgTime, cmsg_time) \
	X(ExtendedErr, extended_err) \
	X(Credentials, credentials) \
	X(ControlMessage, control_message) \
	X(RecvRequest, recv_request) \
	X(RecvReply, recv_reply) \
	X(ShutdownRequest, shutdown_request) \
	X(ShutdownReply, shutdown_reply) \
	X(CloseRequest, close_request) \
	X(CloseReply, close_reply) \
	X(Linger, linger) \
	X(Timeval, timeval) \
	X(IpMreq, ip_mreq) \
	X(Ipv6Mreq, ipv6_mreq) \
	X(SockOptValue, sock_opt_value) \
	X(SetSockOptRequest, set_sock_opt_request) \
	X(SetSockOptReply, set_sock_opt_reply) \
	X(GetSockOptRequest, get_sock_opt_request) \
	X(GetSockOptReply, get_sock_opt_reply) \
	X(GetSockNameRequest, get_sock_name_request) \
	X(GetSockNameReply, get_sock_name_reply) \
	X(GetPeerNameRequest, get_peer_name_request) \
	X(GetPeerNameReply, get_peer_name_reply) \
	X(GetPeerCredRequest, get_peer_cred_request) \
	X(GetPeerCredReply, get_peer_cred_reply) \
	X(SetNonBlockingRequest, set_non_blocking_request) \
	X(SetNonBlockingReply, set_non_blocking_reply) \
	X(PollItem, poll_item) \
	X(PollRequest, poll_request) \
	X(PollReply, poll_reply) \
	X(DialOption, dial_option) \
	X(DialRequest, dial_request) \
	X(DialReply, dial_reply) \
	X(HandoffTicketRequest, handoff_ticket_request) \
	X(HandoffTicketReply, handoff_ticket_reply) \
	X(HandoffRequest, handoff_request) \
	X(HandoffReply, handoff_reply) \
	X(AcceptStreamRequest, accept_stream_request) \
	X(HandedConn, handed_conn) \
	X(AcceptEvent, accept_event) \
	X(RecvStreamRequest, recv_stream_request) \
	X(Datagram, datagram) \
	X(RecvEvent, recv_event) \
	X(PipeFrame, pipe_frame) \
	X(GetAddrInfoRequest, get_addr_info_request) \
	X(AddrInfo, addr_info) \
	X(GetAddrInfoReply, get_addr_info_reply) \
	X(GetNameInfoRequest, get_name_info_request) \
	X(GetNameInfoReply, get_name_info_reply) \
	X(GetHostNameRequest, get_host_name_request) \
	X(GetHostNameReply, get_host_name_reply) \
	X(GetServByNameRequest, get_serv_by_name_request) \
	X(GetServByPortRequest, get_serv_by_port_request) \
	X(GetServReply, get_serv_reply) \
	X(IfAddr, if_addr) \
	X(GetIfAddrsRequest, get_if_addrs_request) \
	X(GetIfAddrsReply, get_if_addrs_reply) \
	X(WatchInterfacesRequest, watch_interfaces_request) \
	X(InterfaceEvent, interface_event) \
	X(GetStatsRequest, get_stats_request) \
	X(IdentityStats, identity_stats) \
	X(MethodStats, method_stats) \
	X(RuleStats, rule_stats) \
	X(GetStatsReply, get_stats_reply)

#endif /* SB_TESTS_WIRE_COMPAT_LIST_H */
