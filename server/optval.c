/* SPDX-License-Identifier: MIT
 * optval.c - socket options of a request from the contract's form to the
 * native one, with every size checked (optval.h). No call, no socket.
 */
#include <errno.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "optval.h"

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

int sb__optval_raw_known(int level, int name)
{
	return sb__raw_find(level, name) != NULL;
}

/* May the value @v set the native option? An option without a typed form
 * takes only raw bytes, and only when it is plain data. Return: 0, or
 * -EINVAL with @why naming the option. */
static int sb__raw_allowed(enum sb__optkind kind, int level, int name,
			   const SBPB(SockOptValue) *v, char *why, size_t whylen)
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
	if (o && !raw)
		snprintf(why, whylen, "option %s takes a raw value",
			 sb__opt_label(level, name, lb, sizeof(lb)));
	else if (o)
		snprintf(why, whylen, "option %s: a raw value has %u to %u bytes, not %zu",
			 sb__opt_label(level, name, lb, sizeof(lb)), o->min, o->max, len);
	else
		snprintf(why, whylen,
			 "option %s cannot be set through the broker: it has no typed form "
			 "and is not known to be plain data (its value may hold a pointer "
			 "or an fd number)",
			 sb__opt_label(level, name, lb, sizeof(lb)));
	return -EINVAL;
}

int sb__optval_names(uint32_t plevel, int32_t pname, int *level, int *name,
		     char *why, size_t whylen)
{
	enum sb__cfam fam;

	if (sb__const_to_native(SB__C_SOL, plevel, level) < 0) {
		snprintf(why, whylen, "option level %u is not a known value", plevel);
		return -EINVAL;
	}
	fam = sb__sockopt_family(*level);
	if (fam == SB__C_COUNT || pname < 0 ||
	    sb__const_to_native(fam, (uint32_t)pname, name) < 0)
		return 1;
	return 0;
}

enum sb__cfam sb__optval_family(int level, int name)
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

static int sb__bad_value(char *why, size_t whylen, const char *what)
{
	snprintf(why, whylen, "option value: %s", what);
	return -EINVAL;
}

int sb__optval_encode(enum sb__optkind kind, const SBPB(SockOptValue) *v, void *buf,
		      socklen_t *len, char *why, size_t whylen)
{
	int vc = v ? (int)v->value_case : 0;

	if (vc == SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_RAW) {
		if (v->raw.len > SB__OPTVAL_MAX)
			return sb__bad_value(why, whylen, "raw value longer than 512 bytes");
		if (v->raw.len)	/* an empty bytes field has no data pointer */
			memcpy(buf, v->raw.data, v->raw.len);
		*len = (socklen_t)v->raw.len;
		return 0;
	}
	switch (kind) {
	case SB__OPT_INT:
		if (vc != SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_INT_VALUE)
			return sb__bad_value(why, whylen, "this option takes int_value");
		if (v->int_value < INT32_MIN || v->int_value > INT32_MAX)
			return sb__bad_value(why, whylen, "int_value out of range");
		*(int *)buf = (int)v->int_value;
		*len = sizeof(int);
		return 0;
	case SB__OPT_LINGER: {
		struct linger l;

		if (vc != SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_LINGER)
			return sb__bad_value(why, whylen, "this option takes linger");
		l.l_onoff = v->linger->onoff;
		l.l_linger = v->linger->linger_s;
		memcpy(buf, &l, sizeof(l));
		*len = sizeof(l);
		return 0;
	}
	case SB__OPT_TIMEVAL: {
		struct timeval tv;

		if (vc != SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_TIMEVAL)
			return sb__bad_value(why, whylen, "this option takes timeval");
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
			return sb__bad_value(why, whylen, "this option takes ip_mreq");
		q = v->ip_mreq;
		if ((q->multiaddr.len != 0 && q->multiaddr.len != 4) ||
		    (q->interface.len != 0 && q->interface.len != 4))
			return sb__bad_value(why, whylen, "ip_mreq addresses have 4 bytes");
		if (kind == SB__OPT_IP_MREQ && q->multiaddr.len != 4)
			return sb__bad_value(why, whylen, "ip_mreq needs multiaddr");
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
			return sb__bad_value(why, whylen, "this option takes ipv6_mreq");
		if (v->ipv6_mreq->multiaddr.len != 16 || v->ipv6_mreq->ifindex < 0)
			return sb__bad_value(why, whylen, "ipv6_mreq needs a 16-byte multiaddr");
		memcpy(&m.ipv6mr_multiaddr, v->ipv6_mreq->multiaddr.data, 16);
		m.ipv6mr_interface = (unsigned)v->ipv6_mreq->ifindex;
		memcpy(buf, &m, sizeof(m));
		*len = sizeof(m);
		return 0;
	}
	case SB__OPT_TEXT: {
		size_t n;

		if (vc != SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_TEXT)
			return sb__bad_value(why, whylen, "this option takes text");
		n = strlen(v->text);
		if (n > 255)
			return sb__bad_value(why, whylen, "text longer than 255 bytes");
		memcpy(buf, v->text, n + 1);
		*len = (socklen_t)n;
		return 0;
	}
	case SB__OPT_ERROR:
		return sb__bad_value(why, whylen, "SO_ERROR cannot be set");
	case SB__OPT_UNKNOWN:
		return sb__bad_value(why, whylen, "this option is carried as raw bytes");
	}
	return sb__bad_value(why, whylen, "unknown option type");
}

int sb__optval_setsockopt(const SBPB(SetSockOptRequest) *r, struct sb__optset *out,
			  char *why, size_t whylen)
{
	enum sb__optkind kind;
	enum sb__cfam vf;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = sb__optval_names((uint32_t)r->level, r->name, &out->level, &out->name,
			       why, whylen);
	if (ret < 0)
		return ret;
	kind = ret ? SB__OPT_UNKNOWN : sb__sockopt_kind(out->level, out->name);
	if (ret && (!r->value ||
		    r->value->value_case != SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_RAW))
		return -ENOPROTOOPT;
	if (ret)	/* not in our tables: the number goes to the kernel as is */
		out->name = r->name;
	if (sb__raw_allowed(kind, out->level, out->name, r->value, why, whylen) < 0 ||
	    sb__optval_encode(kind, r->value, &out->buf, &out->len, why, whylen) < 0)
		return -EINVAL;
	vf = sb__optval_family(out->level, out->name);
	if (vf != SB__C_COUNT && kind == SB__OPT_INT &&
	    sb__const_to_native(vf, (uint32_t)out->buf.i, &out->buf.i) < 0) {
		snprintf(why, whylen, "option value %u is not a known value",
			 (uint32_t)out->buf.i);
		return -EINVAL;
	}
	return 0;
}

int sb__optval_dial(const SBPB(DialOption) *o, struct sb__optset *out, char *why,
		    size_t whylen)
{
	int ret;

	memset(out, 0, sizeof(*out));
	if (!o->value || o->value->value_case == SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_RAW) {
		snprintf(why, whylen, "dial: options need a typed value (no raw bytes)");
		return -EINVAL;
	}
	ret = sb__optval_names((uint32_t)o->level, o->name, &out->level, &out->name,
			       why, whylen);
	if (ret < 0)
		return ret;
	if (ret) {
		snprintf(why, whylen, "dial: an option the contract has no type for");
		return -EINVAL;
	}
	return sb__optval_encode(sb__sockopt_kind(out->level, out->name), o->value,
				 &out->buf, &out->len, why, whylen);
}
