/* SPDX-License-Identifier: MIT
 * ops_socket.c - the socket calls that never wait: Socket, SocketPair,
 * Bind, Listen, Shutdown, Close, GetSockName, GetPeerName, GetPeerCred,
 * SetNonBlocking.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ascaller.h"
#include "log.h"
#include "ops.h"
#include "sock.h"
#include "stats.h"

/* Fail with the session's fate when adding a socket did not work. */
static void sb__add_failed(struct sb__call *c, int ret)
{
	if (ret == -EMFILE)
		sb__op_limit_sockets(c);
	else if (ret == -ESHUTDOWN)
		sb__call_fail(c, GRPC_STATUS_UNAUTHENTICATED, EACCES, "session ended");
	else
		sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM,
			      "out of memory");
}

/* socket(2)'s protocol argument: an IPPROTO number, or for AF_PACKET the
 * ethertype the contract carries in host order, in network order. */
static int sb__socket_proto(struct sb__call *c, int fam, uint32_t protocol,
			    uint32_t packet_protocol, int *proto)
{
	if (fam != AF_PACKET) {
		if (packet_protocol) {
			sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
				      "packet_protocol is for AF_PACKET sockets only");
			return -EINVAL;
		}
		return sb__op_native(c, SB__C_IPPROTO, protocol, "protocol", proto);
	}
	if (protocol || packet_protocol > 0xffff) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
			      "an AF_PACKET socket takes an ethertype of 0..65535 in "
			      "packet_protocol, and protocol 0");
		return -EINVAL;
	}
	*proto = htons((uint16_t)packet_protocol);
	return 0;
}

static int sb__socket_allowed(struct sb__call *c, int fam, int type, int proto)
{
	struct sb__pol_req r = { .op = SB__POL_SOCKET, .family = fam, .type = type,
				 .protocol = proto };
	struct sb__verdict v;
	int err;

	if (sb__guard_decide(&c->ident, &r, &v))
		return 0;
	err = strstr(v.rule, SB__POL_WHY_FAMILY) ? EAFNOSUPPORT : EACCES;
	sb__call_fail(c, GRPC_STATUS_PERMISSION_DENIED, err,
		      "%s: refused by policy rule \"%s\"", v.what, v.rule);
	return -err;
}

void sb__h_socket(struct sb__call *c, void *req)
{
	SBPB(SocketRequest) *r = req;
	SBPB(SocketReply) rep = SOCKBROKER__V1__SOCKET_REPLY__INIT;
	struct sb__sock *k;
	int fam, type, proto, fd, ret;

	if (sb__op_native(c, SB__C_AF, (uint32_t)r->family, "family", &fam) < 0 ||
	    sb__op_native(c, SB__C_SOCK, (uint32_t)r->type, "socket type", &type) < 0 ||
	    sb__socket_proto(c, fam, (uint32_t)r->protocol, r->packet_protocol, &proto) < 0)
		return;
	if (sb__socket_allowed(c, fam, type, proto) < 0)
		return;
	fd = sb__sock_open(fam, type, proto);
	if (fd < 0 && sb__op_out_of_fds(c, -fd))
		return;
	if (fd < 0) {
		rep.error = SB_ERRNO(-fd);
		sb__call_reply(c, &rep.base);
		return;
	}
	ret = sb__sock_add(c->session, fd, fam, type, r->nonblock, &k);
	if (ret < 0) {
		close(fd);
		sb__add_failed(c, ret);
		return;
	}
	rep.handle = k->handle;
	sb__sock_unref(k);
	sb__call_reply(c, &rep.base);
}

void sb__h_socketpair(struct sb__call *c, void *req)
{
	SBPB(SocketPairRequest) *r = req;
	SBPB(SocketPairReply) rep = SOCKBROKER__V1__SOCKET_PAIR_REPLY__INIT;
	struct sb__sock *k0, *k1;
	int fam, type, proto, sv[2], ret;

	if (sb__op_native(c, SB__C_AF, (uint32_t)r->family, "family", &fam) < 0 ||
	    sb__op_native(c, SB__C_SOCK, (uint32_t)r->type, "socket type", &type) < 0 ||
	    sb__socket_proto(c, fam, (uint32_t)r->protocol, r->packet_protocol, &proto) < 0)
		return;
	if (sb__socket_allowed(c, fam, type, proto) < 0)
		return;
	ret = sb__sock_pair(fam, type, proto, sv);
	if (ret < 0 && sb__op_out_of_fds(c, -ret))
		return;
	if (ret < 0) {
		rep.error = SB_ERRNO(-ret);
		sb__call_reply(c, &rep.base);
		return;
	}
	ret = sb__sock_add(c->session, sv[0], fam, type, r->nonblock, &k0);
	if (ret < 0) {
		close(sv[0]);
		close(sv[1]);
		goto fail;
	}
	ret = sb__sock_add(c->session, sv[1], fam, type, r->nonblock, &k1);
	if (ret < 0) {
		/* Undo the first: a failed call changes no state. */
		close(sv[1]);
		sb__handle_close(c->session, k0->handle);
		sb__sock_unref(k0);
		goto fail;
	}
	rep.handle0 = k0->handle;
	rep.handle1 = k1->handle;
	sb__sock_unref(k0);
	sb__sock_unref(k1);
	sb__call_reply(c, &rep.base);
	return;
fail:
	sb__add_failed(c, ret);
}

void sb__h_bind(struct sb__call *c, void *req)
{
	SBPB(BindRequest) *r = req;
	SBPB(BindReply) rep = SOCKBROKER__V1__BIND_REPLY__INIT;
	struct sb__addr a;
	struct sb__sock *k;
	const char *why;
	int ret;

	if (sb__addr_from_pb(r->address, &a, &why) < 0) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL, "address: %s", why);
		return;
	}
	k = sb__op_sock_for(c, r->handle, SB__POL_BIND, &a);
	if (!k)
		return;
	ret = sb__ascaller_bind(&c->ident, k->fd, &a);
	rep.error = SB_ERRNO(-ret);
	sb__sock_unref(k);
	sb__call_reply(c, &rep.base);
}

void sb__h_listen(struct sb__call *c, void *req)
{
	SBPB(ListenRequest) *r = req;
	SBPB(ListenReply) rep = SOCKBROKER__V1__LISTEN_REPLY__INIT;
	struct sb__sock *k = sb__op_sock_for(c, r->handle, SB__POL_LISTEN, NULL);

	if (!k)
		return;
	rep.error = SB_ERRNO(-sb__sock_listen(k->fd, r->backlog));
	sb__sock_unref(k);
	sb__call_reply(c, &rep.base);
}

void sb__h_shutdown(struct sb__call *c, void *req)
{
	SBPB(ShutdownRequest) *r = req;
	SBPB(ShutdownReply) rep = SOCKBROKER__V1__SHUTDOWN_REPLY__INIT;
	struct sb__sock *k;
	int how;

	if (sb__op_native(c, SB__C_SHUT, (uint32_t)r->how, "shutdown direction", &how) < 0)
		return;
	k = sb__op_sock(c, r->handle);
	if (!k)
		return;
	rep.error = SB_ERRNO(-sb__sock_shutdown(k->fd, how));
	sb__sock_unref(k);
	sb__call_reply(c, &rep.base);
}

void sb__h_close(struct sb__call *c, void *req)
{
	SBPB(CloseRequest) *r = req;
	SBPB(CloseReply) rep = SOCKBROKER__V1__CLOSE_REPLY__INIT;

	if (sb__handle_close(c->session, r->handle) < 0) {
		sb__call_fail(c, GRPC_STATUS_NOT_FOUND, EBADF,
			      "no socket with handle %llu in this session",
			      (unsigned long long)r->handle);
		return;
	}
	sb__call_reply(c, &rep.base);
}

static void sb__name_reply(struct sb__call *c, uint64_t handle, int peer)
{
	struct sb__pb_addr st;
	struct sb__addr a;
	struct sb__sock *k = sb__op_sock(c, handle);
	int ret;

	if (!k)
		return;
	ret = peer ? sb__sock_peer(k->fd, &a) : sb__sock_name(k->fd, &a);
	sb__sock_unref(k);
	if (peer) {
		SBPB(GetPeerNameReply) rep = SOCKBROKER__V1__GET_PEER_NAME_REPLY__INIT;

		rep.error = SB_ERRNO(-ret);
		if (!ret)
			rep.address = sb__addr_to_pb(&a, &st);
		sb__call_reply(c, &rep.base);
	} else {
		SBPB(GetSockNameReply) rep = SOCKBROKER__V1__GET_SOCK_NAME_REPLY__INIT;

		rep.error = SB_ERRNO(-ret);
		if (!ret)
			rep.address = sb__addr_to_pb(&a, &st);
		sb__call_reply(c, &rep.base);
	}
}

void sb__h_getsockname(struct sb__call *c, void *req)
{
	sb__name_reply(c, ((SBPB(GetSockNameRequest) *)req)->handle, 0);
}

void sb__h_getpeername(struct sb__call *c, void *req)
{
	sb__name_reply(c, ((SBPB(GetPeerNameRequest) *)req)->handle, 1);
}

void sb__h_getpeercred(struct sb__call *c, void *req)
{
	SBPB(GetPeerCredRequest) *r = req;
	SBPB(GetPeerCredReply) rep = SOCKBROKER__V1__GET_PEER_CRED_REPLY__INIT;
	struct sb__sock *k = sb__op_sock(c, r->handle);
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (!k)
		return;
	if (k->family != AF_UNIX)
		rep.error = SB_ERRNO(EOPNOTSUPP);
	else if (getsockopt(k->fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		rep.error = SB_ERRNO(errno);
	else if (cr.pid == 0 && cr.uid == (uid_t)-1)
		rep.error = SB_ERRNO(ENOTCONN);
	else {
		rep.pid = (uint32_t)cr.pid;
		rep.uid = cr.uid;
		rep.gid = cr.gid;
	}
	sb__sock_unref(k);
	sb__call_reply(c, &rep.base);
}

void sb__h_set_nonblocking(struct sb__call *c, void *req)
{
	SBPB(SetNonBlockingRequest) *r = req;
	SBPB(SetNonBlockingReply) rep = SOCKBROKER__V1__SET_NON_BLOCKING_REPLY__INIT;
	struct sb__sock *k = sb__op_sock(c, r->handle);

	if (!k)
		return;
	atomic_store(&k->nonblock, r->nonblock ? 1 : 0);
	sb__sock_unref(k);
	sb__call_reply(c, &rep.base);
}
