/* SPDX-License-Identifier: MIT
 * ops_sockopt.c - SetSockOpt and GetSockOpt: typed option values <-> the
 * native structures, with every size checked.
 */
#include <errno.h>
#include <limits.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "ops.h"

/*
 * Options the broker has no typed form for, whose value is plain data (no
 * pointer, no fd number), with the sizes it may have: the only ones a raw
 * value may set. A raw value is handed to the kernel as is, so one that
 * held a pointer or an fd would name the broker's own memory or files
 * (SO_ATTACH_FILTER's struct sock_fprog, SO_ATTACH_BPF's program fd, the
 * netfilter tables' replace blobs). Options with a typed form take raw
 * bytes as their native structure, which is plain data too. Whether the
 * caller may set an option at all is the policy's business (policy.c).
 */
struct sb__rawopt {
	int level, name;
	unsigned min, max;  /* bytes */
};

static const struct sb__rawopt sb__raw_opts[] = {
	{ SOL_SOCKET, SO_TXTIME, sizeof(struct sock_txtime), sizeof(struct sock_txtime) },
#ifdef SO_PREFER_BUSY_POLL
	{ SOL_SOCKET, SO_PREFER_BUSY_POLL, sizeof(int), sizeof(int) },
	{ SOL_SOCKET, SO_BUSY_POLL_BUDGET, sizeof(int), sizeof(int) },
#endif
	{ IPPROTO_IP, IP_OPTIONS, 0, 40 },
	{ IPPROTO_IP, IP_BLOCK_SOURCE, sizeof(struct ip_mreq_source),
	  sizeof(struct ip_mreq_source) },
	{ IPPROTO_IP, IP_UNBLOCK_SOURCE, sizeof(struct ip_mreq_source),
	  sizeof(struct ip_mreq_source) },
	{ IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, sizeof(struct ip_mreq_source),
	  sizeof(struct ip_mreq_source) },
	{ IPPROTO_IP, IP_DROP_SOURCE_MEMBERSHIP, sizeof(struct ip_mreq_source),
	  sizeof(struct ip_mreq_source) },
	{ IPPROTO_IPV6, IPV6_PKTINFO, sizeof(struct in6_pktinfo), sizeof(struct in6_pktinfo) },
	{ IPPROTO_IPV6, IPV6_HOPOPTS, 0, 512 },
	{ IPPROTO_IPV6, IPV6_DSTOPTS, 0, 512 },
	{ IPPROTO_IPV6, IPV6_RTHDRDSTOPTS, 0, 512 },
	{ IPPROTO_IPV6, IPV6_RTHDR, 0, 512 },
	{ IPPROTO_TCP, TCP_MD5SIG, sizeof(struct tcp_md5sig), sizeof(struct tcp_md5sig) },
	{ IPPROTO_TCP, TCP_REPAIR_QUEUE, sizeof(int), sizeof(int) },
	{ IPPROTO_TCP, TCP_QUEUE_SEQ, sizeof(int), sizeof(int) },
	{ IPPROTO_TCP, TCP_REPAIR_OPTIONS, 0, 512 },
	{ IPPROTO_TCP, TCP_REPAIR_WINDOW, sizeof(struct tcp_repair_window),
	  sizeof(struct tcp_repair_window) },
};

/* "SO_ATTACH_FILTER", or "level L option N" for a number of no table. */
static const char *sb__opt_label(int level, int name, char *buf, size_t len)
{
	enum sb__cfam fam = sb__sockopt_family(level);
	const char *s = fam != SB__C_COUNT ? sb__const_name(fam, name) : NULL;

	if (s)
		return s;
	snprintf(buf, len, "level %d option %d", level, name);
	return buf;
}

static const struct sb__rawopt *sb__raw_find(int level, int name)
{
	size_t i;

	for (i = 0; i < sizeof(sb__raw_opts) / sizeof(sb__raw_opts[0]); i++)
		if (sb__raw_opts[i].level == level && sb__raw_opts[i].name == name)
			return &sb__raw_opts[i];
	return NULL;
}

/* May the value @v set the native option? An option without a typed form
 * takes only raw bytes, and only when it is plain data. Return: 0, or
 * -EINVAL after failing the call naming the option. */
static int sb__raw_allowed(struct sb__call *c, enum sb__optkind kind, int level,
			   int name, const SBPB(SockOptValue) *v)
{
	int raw = v && v->value_case == SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_RAW;
	size_t len = raw ? v->raw.len : 0;
	const struct sb__rawopt *o;
	char lb[48];

	if (kind != SB__OPT_UNKNOWN)
		return 0;
	o = sb__raw_find(level, name);
	if (o && raw && len >= o->min && len <= o->max)
		return 0;
	if (o && !raw) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
			      "option %s takes a raw value",
			      sb__opt_label(level, name, lb, sizeof(lb)));
		return -EINVAL;
	}
	if (o) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
			      "option %s: a raw value has %u to %u bytes, not %zu",
			      sb__opt_label(level, name, lb, sizeof(lb)), o->min, o->max, len);
		return -EINVAL;
	}
	sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
		      "option %s cannot be set through the broker: it has no typed form "
		      "and is not known to be plain data (its value may hold a pointer "
		      "or an fd number)",
		      sb__opt_label(level, name, lb, sizeof(lb)));
	return -EINVAL;
}

/* Translate level and name, or fail the call. Return: 0, 1 (not in our
 * tables), or -EINVAL (failed). */
int sb__opt_names(struct sb__call *c, uint32_t plevel, int32_t pname,
			 int *level, int *name)
{
	enum sb__cfam fam;

	if (sb__op_native(c, SB__C_SOL, plevel, "option level", level) < 0)
		return -EINVAL;
	fam = sb__sockopt_family(*level);
	if (fam == SB__C_COUNT || pname < 0 ||
	    sb__const_to_native(fam, (uint32_t)pname, name) < 0)
		return 1;
	return 0;
}

/* Portable <-> native for options whose int value is itself a constant. */
static enum sb__cfam sb__opt_value_family(int level, int name)
{
	if (level != SOL_SOCKET)
		return SB__C_COUNT;
	switch (name) {
	case SO_TYPE:
		return SB__C_SOCK;
	case SO_DOMAIN:
		return SB__C_AF;
	case SO_PROTOCOL:
		return SB__C_IPPROTO;
	default:
		return SB__C_COUNT;
	}
}

static int sb__bad_value(struct sb__call *c, const char *what)
{
	sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
		      "option value: %s", what);
	return -EINVAL;
}

/* Fill @buf/@len with the native form of @v for an option of @kind.
 * Return: 0, or -EINVAL after failing the call. */
int sb__opt_encode(struct sb__call *c, enum sb__optkind kind,
			  const SBPB(SockOptValue) *v, void *buf, socklen_t *len)
{
	int vc = v ? (int)v->value_case : 0;

	if (vc == SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_RAW) {
		if (v->raw.len > 512)
			return sb__bad_value(c, "raw value longer than 512 bytes");
		memcpy(buf, v->raw.data, v->raw.len);
		*len = (socklen_t)v->raw.len;
		return 0;
	}
	switch (kind) {
	case SB__OPT_INT:
		if (vc != SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_INT_VALUE)
			return sb__bad_value(c, "this option takes int_value");
		if (v->int_value < INT32_MIN || v->int_value > INT32_MAX)
			return sb__bad_value(c, "int_value out of range");
		*(int *)buf = (int)v->int_value;
		*len = sizeof(int);
		return 0;
	case SB__OPT_LINGER: {
		struct linger l;

		if (vc != SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_LINGER)
			return sb__bad_value(c, "this option takes linger");
		l.l_onoff = v->linger->onoff;
		l.l_linger = v->linger->linger_s;
		memcpy(buf, &l, sizeof(l));
		*len = sizeof(l);
		return 0;
	}
	case SB__OPT_TIMEVAL: {
		struct timeval tv;

		if (vc != SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_TIMEVAL)
			return sb__bad_value(c, "this option takes timeval");
		tv.tv_sec = v->timeval->sec;
		tv.tv_usec = v->timeval->usec;
		memcpy(buf, &tv, sizeof(tv));
		*len = sizeof(tv);
		return 0;
	}
	case SB__OPT_IP_MREQ:
	case SB__OPT_IP_MCAST_IF: {
		struct ip_mreqn m;
		const SBPB(IpMreq) *q;

		if (vc != SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_IP_MREQ)
			return sb__bad_value(c, "this option takes ip_mreq");
		q = v->ip_mreq;
		if ((q->multiaddr.len != 0 && q->multiaddr.len != 4) ||
		    (q->interface.len != 0 && q->interface.len != 4))
			return sb__bad_value(c, "ip_mreq addresses have 4 bytes");
		if (kind == SB__OPT_IP_MREQ && q->multiaddr.len != 4)
			return sb__bad_value(c, "ip_mreq needs multiaddr");
		memset(&m, 0, sizeof(m));
		if (q->multiaddr.len)
			memcpy(&m.imr_multiaddr, q->multiaddr.data, 4);
		if (q->interface.len)
			memcpy(&m.imr_address, q->interface.data, 4);
		m.imr_ifindex = q->ifindex;
		memcpy(buf, &m, sizeof(m));
		*len = sizeof(m);
		return 0;
	}
	case SB__OPT_IPV6_MREQ: {
		struct ipv6_mreq m;

		if (vc != SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_IPV6_MREQ)
			return sb__bad_value(c, "this option takes ipv6_mreq");
		if (v->ipv6_mreq->multiaddr.len != 16 || v->ipv6_mreq->ifindex < 0)
			return sb__bad_value(c, "ipv6_mreq needs a 16-byte multiaddr");
		memcpy(&m.ipv6mr_multiaddr, v->ipv6_mreq->multiaddr.data, 16);
		m.ipv6mr_interface = (unsigned)v->ipv6_mreq->ifindex;
		memcpy(buf, &m, sizeof(m));
		*len = sizeof(m);
		return 0;
	}
	case SB__OPT_TEXT: {
		size_t n;

		if (vc != SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_TEXT)
			return sb__bad_value(c, "this option takes text");
		n = strlen(v->text);
		if (n > 255)
			return sb__bad_value(c, "text longer than 255 bytes");
		memcpy(buf, v->text, n + 1);
		*len = (socklen_t)n;
		return 0;
	}
	case SB__OPT_ERROR:
		return sb__bad_value(c, "SO_ERROR cannot be set");
	case SB__OPT_UNKNOWN:
		return sb__bad_value(c, "this option is carried as raw bytes");
	}
	return sb__bad_value(c, "unknown option type");
}

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
	union { int i; char b[512]; struct ip_mreqn m; struct timeval tv; } buf;
	enum sb__optkind kind;
	enum sb__cfam vf;
	struct sb__sock *k;
	socklen_t len = 0;
	int level, name, ret;

	ret = sb__opt_names(c, (uint32_t)r->level, r->name, &level, &name);
	if (ret < 0)
		return;
	kind = ret ? SB__OPT_UNKNOWN : sb__sockopt_kind(level, name);
	if (ret && (!r->value ||
		    r->value->value_case != SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_RAW)) {
		rep.error = SB_ERRNO(ENOPROTOOPT);
		sb__call_reply(c, &rep.base);
		return;
	}
	if (ret)	/* not in our tables: the number goes to the kernel as is */
		name = r->name;
	if (sb__raw_allowed(c, kind, level, name, r->value) < 0)
		return;
	if (sb__opt_encode(c, kind, r->value, &buf, &len) < 0)
		return;
	vf = sb__opt_value_family(level, name);
	if (vf != SB__C_COUNT && kind == SB__OPT_INT &&
	    sb__op_native(c, vf, (uint32_t)buf.i, "option value", &buf.i) < 0)
		return;
	k = sb__op_sock(c, r->handle);
	if (!k)
		return;
	if (sb__sockopt_allowed(c, k, level, name, &buf, len) < 0)
		goto out;
	if (setsockopt(k->fd, level, name, &buf, len) < 0)
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
	union { int i; char b[512]; struct linger l; struct timeval tv; struct in_addr a; } buf;
	enum sb__optkind kind;
	enum sb__cfam vf;
	struct sb__sock *k;
	socklen_t len;
	uint32_t pv;
	int level, name, ret;

	ret = sb__opt_names(c, (uint32_t)r->level, r->name, &level, &name);
	if (ret < 0)
		return;
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
	if ((ret && !sb__raw_find(level, name)) ||
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
		vf = sb__opt_value_family(level, name);
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
