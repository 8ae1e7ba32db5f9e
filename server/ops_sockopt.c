/* SPDX-License-Identifier: MIT
 * ops_sockopt.c - SetSockOpt and GetSockOpt: the request's option is
 * converted by optval.c; here the policy check, the kernel's call, and the
 * native value read back into the typed reply.
 */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "ops.h"
#include "optval.h"

/* The policy check, with the value (some options are privileged only
 * for some values: policy.h rule 6). */
static int sb__sockopt_allowed(struct sb__call *c, const struct sb__sock *k,
				int level, int name, const void *val, socklen_t len)
{
	struct sb__pol_req r = { .op = SB__POL_SETSOCKOPT, .family = k->family,
				 .type = k->type, .opt_level = level, .opt_name = name,
				 .opt_val = val, .opt_len = len, .opt_cur = INT_MIN };
	socklen_t cl = sizeof(r.opt_cur);

	if (sb__policy_opt_raises(level, name) &&
	    (getsockopt(k->fd, level, name, &r.opt_cur, &cl) < 0 || cl != sizeof(int)))
		r.opt_cur = INT_MIN;
	return sb__op_check(c, &r);
}

void sb__h_setsockopt(struct sb__call *c, void *req)
{
	SBPB(SetSockOptRequest) *r = req;
	SBPB(SetSockOptReply) rep = SOCKBROKER__V1__SET_SOCK_OPT_REPLY__INIT;
	struct sb__optset o;
	struct sb__sock *k;
	char why[256];
	int ret;

	ret = sb__optval_setsockopt(r, &o, why, sizeof(why));
	if (ret == -ENOPROTOOPT) {
		rep.error = SB_ERRNO(ENOPROTOOPT);
		sb__call_reply(c, &rep.base);
		return;
	}
	if (ret < 0) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL, "%s", why);
		return;
	}
	k = sb__op_sock(c, r->handle);
	if (!k)
		return;
	if (sb__sockopt_allowed(c, k, o.level, o.name, &o.buf, o.len) < 0)
		goto out;
	if (setsockopt(k->fd, o.level, o.name, &o.buf, o.len) < 0)
		rep.error = SB_ERRNO(errno);
	sb__call_reply(c, &rep.base);
out:
	sb__sock_unref(k);
}

void sb__h_getsockopt(struct sb__call *c, void *req)
{
	SBPB(GetSockOptRequest) *r = req;
	SBPB(GetSockOptReply) rep = SOCKBROKER__V1__GET_SOCK_OPT_REPLY__INIT;
	SBPB(SockOptValue) val = SOCKBROKER__V1__SOCK_OPT_VALUE__INIT;
	SBPB(Linger) lg = SOCKBROKER__V1__LINGER__INIT;
	SBPB(Timeval) tvm = SOCKBROKER__V1__TIMEVAL__INIT;
	SBPB(IpMreq) mq = SOCKBROKER__V1__IP_MREQ__INIT;
	union sb__optbuf buf;
	enum sb__optkind kind;
	enum sb__cfam vf;
	struct sb__sock *k;
	socklen_t len;
	uint32_t pv;
	char why[128];
	int level, name, ret;

	ret = sb__optval_names((uint32_t)r->level, r->name, &level, &name, why, sizeof(why));
	if (ret < 0) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL, "%s", why);
		return;
	}
	if (ret) {
		name = r->name;
		kind = SB__OPT_UNKNOWN;
	} else {
		kind = sb__sockopt_kind(level, name);
	}
	/*
	 * An option of no table may be a privileged read (the netfilter
	 * tables at IPPROTO_IP 64...) and TCP_ZEROCOPY_RECEIVE maps pages at
	 * an address inside its value: the broker reads only what it knows,
	 * and has no such option for the others.
	 */
	if ((ret && !sb__optval_raw_known(level, name)) ||
	    (level == IPPROTO_TCP && name == TCP_ZEROCOPY_RECEIVE)) {
		rep.error = SB_ERRNO(ENOPROTOOPT);
		sb__call_reply(c, &rep.base);
		return;
	}
	if (r->max_bytes > sizeof(buf)) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
			      "max_bytes above %zu", sizeof(buf));
		return;
	}
	k = sb__op_sock(c, r->handle);
	if (!k)
		return;
	memset(&buf, 0, sizeof(buf));
	len = (kind == SB__OPT_TEXT || kind == SB__OPT_UNKNOWN)
		? (r->max_bytes ? r->max_bytes : 256) : sizeof(buf);
	if (getsockopt(k->fd, level, name, &buf, &len) < 0) {
		rep.error = SB_ERRNO(errno);
		goto out;
	}
	rep.value = &val;
	switch (kind) {
	case SB__OPT_INT:
		val.value_case = SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_INT_VALUE;
		val.int_value = len >= sizeof(int) ? buf.i : (unsigned char)buf.b[0];
		vf = sb__optval_family(level, name);
		if (vf != SB__C_COUNT && sb__const_to_portable(vf, buf.i, &pv) == 0)
			val.int_value = pv;
		break;
	case SB__OPT_ERROR:
		val.value_case = SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_ERROR;
		val.error = SB_ERRNO(buf.i);
		break;
	case SB__OPT_LINGER:
		val.value_case = SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_LINGER;
		lg.onoff = buf.l.l_onoff != 0;
		lg.linger_s = buf.l.l_linger;
		val.linger = &lg;
		break;
	case SB__OPT_TIMEVAL:
		val.value_case = SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_TIMEVAL;
		tvm.sec = buf.tv.tv_sec;
		tvm.usec = buf.tv.tv_usec;
		val.timeval = &tvm;
		break;
	case SB__OPT_IP_MCAST_IF:
	case SB__OPT_IP_MREQ:
		/* getsockopt(IP_MULTICAST_IF) gives the interface address. */
		val.value_case = SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_IP_MREQ;
		mq.interface.data = (uint8_t *)&buf.a;
		mq.interface.len = 4;
		val.ip_mreq = &mq;
		break;
	case SB__OPT_TEXT:
		val.value_case = SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_TEXT;
		buf.b[len < sizeof(buf.b) ? len : sizeof(buf.b) - 1] = 0;
		val.text = buf.b;
		break;
	case SB__OPT_IPV6_MREQ:
	case SB__OPT_UNKNOWN:
		val.value_case = SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_RAW;
		val.raw.data = (uint8_t *)buf.b;
		val.raw.len = len;
		break;
	}
out:
	sb__sock_unref(k);
	sb__call_reply(c, &rep.base);
}
