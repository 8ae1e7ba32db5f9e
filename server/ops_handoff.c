/* SPDX-License-Identifier: MIT
 * ops_handoff.c - the hand-off calls: HandoffTicket (binds the caller's
 * side channel), Handoff (a socket of the session leaves it as a real fd),
 * and what Dial, Accept and AcceptStream share when they hand a new
 * connection off. The rules are the .proto's "Hand-off rules".
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "guard.h"
#include "handoff.h"
#include "log.h"
#include "ops.h"

/* A session over TCP has no Unix connection that could carry an fd. */
static int sb__handoff_local(struct sb__call *c)
{
	if (!strcmp(c->session->ident.transport, "unix"))
		return 0;
	sb__call_fail(c, GRPC_STATUS_FAILED_PRECONDITION, EOPNOTSUPP,
		      "fd hand-off needs a session over a local Unix socket; this "
		      "session is over %s, which cannot carry file descriptors",
		      c->session->ident.transport[0] ? c->session->ident.transport : "TCP");
	return -EOPNOTSUPP;
}

int sb__op_handoff_ready(struct sb__call *c)
{
	if (sb__handoff_local(c) < 0)
		return -EOPNOTSUPP;
	if (sb__handoff_ready(c->session) == 0)
		return 0;
	sb__call_fail(c, GRPC_STATUS_FAILED_PRECONDITION, ENOTCONN,
		      "no hand-off channel is bound to this session (HandoffTicket, "
		      "then connect it with the ticket)");
	return -ENOTCONN;
}

int sb__op_handoff_allowed(struct sb__call *c, const struct sb__sock *k)
{
	if (sb__op_allowed(c, SB__POL_HANDOFF, k, NULL) < 0)
		return -EACCES;
	return sb__op_handoff_ready(c);
}

int sb__op_handoff_take(struct sb__call *c, uint64_t tag, uint32_t n,
			struct sb__fdset *set)
{
	int ret;

	if (sb__handoff_local(c) < 0)
		return -EOPNOTSUPP;
	ret = sb__handoff_take_fds(c->session, tag, n, set);
	if (ret == -ENOTCONN)
		sb__call_fail(c, GRPC_STATUS_FAILED_PRECONDITION, ENOTCONN,
			      "no hand-off channel is bound to this session: descriptors "
			      "travel over it (HandoffTicket, then connect it)");
	else if (ret == -ECONNRESET)
		sb__call_fail(c, GRPC_STATUS_FAILED_PRECONDITION, ECONNRESET,
			      "the hand-off channel did not hold the announced message "
			      "(tag %llu, %u descriptors, at most %d): the channel is "
			      "closed, bind a new one", (unsigned long long)tag, n,
			      SB__SCM_MAX_FD);
	else if (ret == -ETOOMANYREFS)
		sb__op_limit(c, ETOOMANYREFS, "descriptors held for one session's "
			     "waiting sends (253 in all)");
	else if (ret < 0)
		sb__call_fail(c, GRPC_STATUS_INTERNAL, -ret, "hand-off: %s", strerror(-ret));
	return ret;
}

int sb__op_handoff_fds(struct sb__call *c, const struct sb__sock *k,
		       struct sb__fdset *set, uint64_t *tag)
{
	struct sb__pol_req r = { .op = SB__POL_HANDOFF, .family = k->family,
				 .type = k->type };
	struct sb__verdict v;
	int ret = 0;

	if (!strcmp(c->session->ident.transport, "unix") &&
	    sb__handoff_ready(c->session) == 0 && sb__guard_decide(&c->ident, &r, &v)) {
		ret = sb__handoff_send_fds(c->session, set, tag);
		if (ret < 0)
			sb__debug("descriptors a socket received not handed over: %s",
				  strerror(-ret));
		ret = ret == 0;
	}
	sb__fdset_close(set);
	return ret;
}

/* Fail @c for sb__handoff_send()'s error @err. Return: @err. */
static int sb__handoff_failed(struct sb__call *c, int err)
{
	if (err == -ENOBUFS)
		sb__op_limit(c, ENOBUFS, "hand-off channel (fds the caller has not "
			     "received)");
	else if (err == -ENOTCONN)
		sb__call_fail(c, GRPC_STATUS_FAILED_PRECONDITION, ENOTCONN,
			      "the hand-off channel of this session is closed");
	else
		sb__call_fail(c, GRPC_STATUS_INTERNAL, -err, "hand-off: %s",
			      strerror(-err));
	return err;
}

int sb__op_handoff_send(struct sb__call *c, int fd, int nonblock, uint64_t *tag)
{
	int ret = sb__handoff_send(c->session, fd, nonblock, tag);

	return ret < 0 ? sb__handoff_failed(c, ret) : 0;
}

void sb__h_handoff_ticket(struct sb__call *c, void *req)
{
	SBPB(HandoffTicketReply) rep = SOCKBROKER__V1__HANDOFF_TICKET_REPLY__INIT;
	unsigned char ticket[SB__HO_TICKET_LEN];
	int ret;

	(void)req;
	if (sb__handoff_local(c) < 0)
		return;
	ret = sb__handoff_ticket(c->session, ticket);
	if (ret < 0) {
		sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, -ret,
			      "cannot make a hand-off ticket: %s", strerror(-ret));
		return;
	}
	rep.ticket.data = ticket;
	rep.ticket.len = sizeof(ticket);
	rep.expires_ms = SB__HO_TICKET_MS;
	sb__call_reply(c, &rep.base);
}

/* What sb__sock_pass() runs with the session's table locked. */
struct sb__pass {
	uint64_t tag;
};

static int sb__pass_fd(struct sb__sock *k, void *arg)
{
	struct sb__pass *p = arg;

	return sb__handoff_send(k->session, k->fd, atomic_load(&k->nonblock), &p->tag);
}

void sb__h_handoff(struct sb__call *c, void *req)
{
	SBPB(HandoffRequest) *r = req;
	SBPB(HandoffReply) rep = SOCKBROKER__V1__HANDOFF_REPLY__INIT;
	struct sb__pass p = { 0 };
	struct sb__sock *k = sb__op_sock_for(c, r->handle, SB__POL_HANDOFF, NULL);
	int ret;

	if (!k)
		return;
	if (sb__handoff_local(c) < 0)
		goto out;
	if (sb__handoff_eligible(k->fd, k->type) < 0) {
		sb__call_fail(c, GRPC_STATUS_FAILED_PRECONDITION, EINVAL,
			      "handle %llu is not a connected stream socket or a listening "
			      "one: only sockets whose use the broker decided are handed off",
			      (unsigned long long)r->handle);
		goto out;
	}
	if (sb__op_handoff_ready(c) < 0)
		goto out;
	ret = sb__sock_pass(c->session, k, sb__pass_fd, &p);
	if (ret == -EBADF) {
		sb__call_fail(c, GRPC_STATUS_NOT_FOUND, EBADF,
			      "no socket with handle %llu in this session",
			      (unsigned long long)r->handle);
		goto out;
	}
	if (ret == -EBUSY) {
		sb__call_fail(c, GRPC_STATUS_FAILED_PRECONDITION, EBUSY,
			      "handle %llu has calls in progress (a waiting call or a "
			      "stream): end them first", (unsigned long long)r->handle);
		goto out;
	}
	if (ret < 0) {
		sb__handoff_failed(c, ret);
		goto out;
	}
	rep.fd_tag = p.tag;
	sb__call_reply(c, &rep.base);
out:
	sb__sock_unref(k);
}
