/* SPDX-License-Identifier: MIT
 * ops.c - what the RPC handlers share (ops.h): looking a socket up in the
 * call's session, translating constants, the policy decision that fails
 * the call when it refuses, the limits' replies, the deadline of a wait
 * and the largest reply.
 */
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "clock.h"
#include "config.h"
#include "ops.h"
#include "sock.h"
#include "stats.h"
#include "wire.h"

static uint32_t sb__max_bytes = SB__DEF_MAX_MESSAGE_BYTES;

uint32_t sb__op_max_bytes(void)
{
	return sb__max_bytes;
}

uint32_t sb__op_max_data(void)
{
	return sb__max_bytes - SB__MSG_OVERHEAD;
}

void sb__op_set_max_bytes(uint32_t n)
{
	sb__max_bytes = n;
}

struct sb__sock *sb__op_sock(struct sb__call *c, uint64_t handle)
{
	struct sb__sock *k = sb__sock_get(c->session, handle);

	if (!k)
		sb__call_fail(c, GRPC_STATUS_NOT_FOUND, EBADF,
			      "no socket with handle %llu in this session",
			      (unsigned long long)handle);
	return k;
}

struct sb__sock *sb__op_sock_for(struct sb__call *c, uint64_t handle, enum sb__pol_op op,
				 const struct sb__addr *a)
{
	struct sb__sock *k = sb__op_sock(c, handle);

	if (k && sb__op_allowed(c, op, k, a) < 0) {
		sb__sock_unref(k);
		return NULL;
	}
	return k;
}

int sb__op_native(struct sb__call *c, enum sb__cfam fam, uint32_t v,
		  const char *what, int *out)
{
	if (sb__const_to_native(fam, v, out) == 0)
		return 0;
	sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
		      "%s %u is not a known value", what, v);
	return -EINVAL;
}

int sb__op_check(struct sb__call *c, const struct sb__pol_req *r)
{
	struct sb__verdict v;

	if (sb__guard_decide(&c->ident, r, &v))
		return 0;
	sb__call_fail(c, GRPC_STATUS_PERMISSION_DENIED, EACCES,
		      "%s: refused by policy rule \"%s\"", v.what, v.rule);
	return -EACCES;
}

int sb__op_allowed(struct sb__call *c, enum sb__pol_op op,
		   const struct sb__sock *k, const struct sb__addr *a)
{
	struct sb__pol_req r = { .op = op, .addr = a };

	if (k) {
		r.family = k->family;
		r.type = k->type;
	}
	return sb__op_check(c, &r);
}

int sb__op_source_allowed(struct sb__call *c, const struct sb__sock *k,
			  const struct sb__addr *src, int ifindex)
{
	struct sb__pol_req r = { .op = SB__POL_SETSOCKOPT, .family = k->family,
				 .type = k->type, .opt_level = SOL_SOCKET,
				 .opt_name = SO_BINDTOIFINDEX, .opt_val = &ifindex,
				 .opt_len = sizeof(ifindex) };
	struct sb__addr a, local;

	if (src && src->kind != SB__ADDR_NONE) {
		/* The datagram leaves from the socket's port (0: one the kernel
		 * picks), so the bind it amounts to is the source at that port. */
		a = *src;
		a.port = sb__sock_name(k->fd, &local) == 0 &&
			 (local.kind == SB__ADDR_INET || local.kind == SB__ADDR_INET6)
			 ? local.port : 0;
		if (sb__op_allowed(c, SB__POL_BIND, k, &a) < 0)
			return -EACCES;
	}
	if (ifindex && sb__op_check(c, &r) < 0)
		return -EACCES;
	return 0;
}

void sb__op_limit(struct sb__call *c, int err, const char *name)
{
	sb__stats_limit(&c->ident);
	sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, err, "limit %s reached", name);
}

void sb__op_limit_sockets(struct sb__call *c)
{
	sb__stats_limit(&c->ident);
	if (sb__sessions_over_id_limit(c->session))
		sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, EMFILE,
			      "limit max_sockets_per_uid reached for %s",
			      c->session->idrec->key);
	else
		sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, EMFILE,
			      "limit max_sockets_per_session (%u) reached",
			      c->session->max_sockets);
}

int sb__op_session_gone(struct sb__call *c)
{
	if (!c->session || !atomic_load(&c->session->ended))
		return 0;
	sb__call_fail(c, GRPC_STATUS_UNAVAILABLE, ECONNRESET,
		      "the session ended (the broker is stopping, or its lease ended): "
		      "its sockets are closed");
	return 1;
}

int sb__op_out_of_fds(struct sb__call *c, int err)
{
	if (err != EMFILE && err != ENFILE)
		return 0;
	sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, err,
		      "the broker is out of file descriptors (%s): retry when "
		      "other sockets are closed",
		      err == EMFILE ? "EMFILE, its RLIMIT_NOFILE" : "ENFILE, the host's fs.file-max");
	return 1;
}

int64_t sb__op_deadline(struct sb__call *c, const struct sb__sock *k,
			uint32_t timeout_ms, int optname, int *by_opt)
{
	int64_t d = sb__call_deadline_ms(c), now = sb__now_ms();
	struct timeval tv;
	socklen_t len = sizeof(tv);

	*by_opt = 0;
	if (timeout_ms && sb__ms_add(now, timeout_ms) < d)
		d = sb__ms_add(now, timeout_ms);
	if (optname && !timeout_ms &&
	    getsockopt(k->fd, SOL_SOCKET, optname, &tv, &len) == 0 &&
	    (tv.tv_sec || tv.tv_usec)) {
		int64_t o = sb__ms_add(now, sb__timeval_to_ms(&tv));

		if (o < d) {
			d = o;
			*by_opt = 1;
		}
	}
	return d;
}

struct sb__session *sb__op_accept_wait(struct sb__call *c)
{
	if (sb__session_accept_begin(c->session) < 0) {
		sb__op_limit(c, EMFILE, "max_pending_accepts");
		return NULL;
	}
	sb__session_ref(c->session);
	return c->session;
}

void sb__op_accept_done(struct sb__session *s)
{
	sb__session_accept_end(s);
	sb__session_unref(s);
}
