/* SPDX-License-Identifier: MIT
 * sockopt.c - sb_setsockopt() and sb_getsockopt(): native option values
 * <-> the contract's typed SockOptValue, with every length checked as the
 * kernel checks it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/time.h>

#include "call.h"

/* Native (level, name) -> portable, and the value's type. */
static int sb__opt_ids(int level, int name, uint32_t *plevel, int32_t *pname,
		       enum sb__optkind *kind)
{
	enum sb__cfam fam = sb__sockopt_family(level);
	uint32_t pn;

	if (sb__portable(SB__C_SOL, level, plevel) < 0 || fam == SB__C_COUNT)
		return sb__fail(ENOPROTOOPT, "option level %d not supported", level);
	if (sb__const_to_portable(fam, name, &pn) < 0) {
		/* Not in the tables: the number travels as is, as raw bytes
		 * (the contract's numbers are Linux's). */
		*pname = name;
		*kind = SB__OPT_UNKNOWN;
		return 0;
	}
	*pname = (int32_t)pn;
	*kind = sb__sockopt_kind(level, name);
	return 0;
}

/* The native value of @kind at @val/@len into @v. Return: 0 or -1. */
static int sb__opt_to_pb(enum sb__optkind kind, const void *val, socklen_t len,
			 sockbroker_v1_SockOptValue *v)
{
	if (!val && len)
		return sb__fail(EFAULT, "option value is NULL");
	switch (kind) {
	case SB__OPT_INT:
	case SB__OPT_ERROR: {
		int i;

		if (len >= sizeof(int))
			memcpy(&i, val, sizeof(i));
		else if (len >= 1)	/* the IP level takes a char too */
			i = *(const unsigned char *)val;
		else
			return sb__fail(EINVAL, "option value too short");
		v->which_value = sockbroker_v1_SockOptValue_int_value_tag;
		v->value.int_value = i;
		return 0;
	}
	case SB__OPT_LINGER: {
		struct linger l;

		if (len < sizeof(l))
			return sb__fail(EINVAL, "SO_LINGER needs a struct linger");
		memcpy(&l, val, sizeof(l));
		v->which_value = sockbroker_v1_SockOptValue_linger_tag;
		v->value.linger.onoff = l.l_onoff != 0;
		v->value.linger.linger_s = l.l_linger;
		return 0;
	}
	case SB__OPT_TIMEVAL: {
		struct timeval tv;

		if (len < sizeof(tv))
			return sb__fail(EINVAL, "option needs a struct timeval");
		memcpy(&tv, val, sizeof(tv));
		v->which_value = sockbroker_v1_SockOptValue_timeval_tag;
		v->value.timeval.sec = tv.tv_sec;
		v->value.timeval.usec = tv.tv_usec;
		return 0;
	}
	case SB__OPT_IP_MREQ:
	case SB__OPT_IP_MCAST_IF: {
		sockbroker_v1_IpMreq *q = &v->value.ip_mreq;
		const uint8_t *b = val;

		v->which_value = sockbroker_v1_SockOptValue_ip_mreq_tag;
		if (kind == SB__OPT_IP_MCAST_IF && len >= sizeof(struct in_addr) &&
		    len < sizeof(struct ip_mreq)) {
			q->interface.size = 4;
			memcpy(q->interface.bytes, b, 4);
			return 0;
		}
		if (len < sizeof(struct ip_mreq))
			return sb__fail(EINVAL, "option needs a struct ip_mreq");
		q->multiaddr.size = 4;
		memcpy(q->multiaddr.bytes, b, 4);
		q->interface.size = 4;
		memcpy(q->interface.bytes, b + 4, 4);
		if (len >= sizeof(struct ip_mreqn)) {
			struct ip_mreqn m;

			memcpy(&m, val, sizeof(m));
			q->ifindex = m.imr_ifindex;
		}
		if (kind == SB__OPT_IP_MCAST_IF && len < sizeof(struct ip_mreqn)) {
			/* ip_mreq for IP_MULTICAST_IF: imr_interface is the
			 * second field, as in_addr. */
			q->multiaddr.size = 0;
		}
		return 0;
	}
	case SB__OPT_IPV6_MREQ: {
		struct ipv6_mreq m;

		if (len < sizeof(m))
			return sb__fail(EINVAL, "option needs a struct ipv6_mreq");
		memcpy(&m, val, sizeof(m));
		v->which_value = sockbroker_v1_SockOptValue_ipv6_mreq_tag;
		v->value.ipv6_mreq.multiaddr.size = 16;
		memcpy(v->value.ipv6_mreq.multiaddr.bytes, &m.ipv6mr_multiaddr, 16);
		v->value.ipv6_mreq.ifindex = (int32_t)m.ipv6mr_interface;
		return 0;
	}
	case SB__OPT_TEXT: {
		/* @val may be NULL when @len is 0 */
		size_t n = len ? strnlen(val, len) : 0;

		if (n >= sizeof(v->value.text))
			return sb__fail(EINVAL, "option text too long");
		v->which_value = sockbroker_v1_SockOptValue_text_tag;
		if (n)
			memcpy(v->value.text, val, n);
		v->value.text[n] = 0;
		return 0;
	}
	case SB__OPT_UNKNOWN:
		if (len > sizeof(v->value.raw.bytes))
			return sb__fail(EINVAL, "option value above %zu bytes",
					sizeof(v->value.raw.bytes));
		v->which_value = sockbroker_v1_SockOptValue_raw_tag;
		v->value.raw.size = (pb_size_t)len;
		if (len) /* @val may be NULL when @len is 0 */
			memcpy(v->value.raw.bytes, val, len);
		return 0;
	}
	return sb__fail(ENOPROTOOPT, "unknown option type");
}

int sb__sockopt_to_pb(int level, int name, const void *val, socklen_t len,
		      uint32_t *plevel, int32_t *pname, sockbroker_v1_SockOptValue *v)
{
	enum sb__optkind kind;

	if (sb__opt_ids(level, name, plevel, pname, &kind) < 0)
		return -1;
	if (kind == SB__OPT_ERROR)
		return sb__fail(ENOPROTOOPT, "SO_ERROR cannot be set");
	/* An int option of another length goes as raw bytes, so that the
	 * kernel judges the length as it would for the caller. */
	if (kind == SB__OPT_INT && len != sizeof(int))
		kind = SB__OPT_UNKNOWN;
	return sb__opt_to_pb(kind, val, len, v);
}

int sb_setsockopt(sb_client *c, int s, int level, int name, const void *val,
		  socklen_t len)
{
	sockbroker_v1_SetSockOptRequest req = sockbroker_v1_SetSockOptRequest_init_zero;
	sockbroker_v1_SetSockOptReply rep = sockbroker_v1_SetSockOptReply_init_zero;
	struct sb__slot sl;
	uint32_t plevel;

	if (sb__lookup(c, s, &sl) < 0)
		return -1;
	if (sb__sockopt_to_pb(level, name, val, len, &plevel, &req.name, &req.value) < 0)
		return -1;
	req.handle = sl.handle;
	req.level = (sockbroker_v1_OptionLevel)plevel;
	req.has_value = true;
	if (SB__CALL(c, SetSockOpt, req, rep, -1) < 0)
		return -1;
	return sb__reply(rep.error);
}

/* Copy @n bytes of @src to the caller as getsockopt(2): truncate to *@len
 * and report what was written. */
static void sb__opt_out(void *val, socklen_t *len, const void *src, size_t n)
{
	if (n > *len)
		n = *len;
	if (n) /* @val may be NULL when *@len is 0 */
		memcpy(val, src, n);
	*len = (socklen_t)n;
}

int sb_getsockopt(sb_client *c, int s, int level, int name, void *val,
		  socklen_t *len)
{
	sockbroker_v1_GetSockOptRequest req = sockbroker_v1_GetSockOptRequest_init_zero;
	sockbroker_v1_GetSockOptReply rep = sockbroker_v1_GetSockOptReply_init_zero;
	const sockbroker_v1_SockOptValue *v = &rep.value;
	enum sb__optkind kind;
	struct sb__slot sl;
	uint32_t plevel;

	if (sb__lookup(c, s, &sl) < 0)
		return -1;
	if (!len || (!val && *len))
		return sb__fail(EFAULT, "option buffer is NULL");
	if (sb__opt_ids(level, name, &plevel, &req.name, &kind) < 0)
		return -1;
	req.handle = sl.handle;
	req.level = (sockbroker_v1_OptionLevel)plevel;
	req.max_bytes = *len > sizeof(v->value.raw.bytes) ?
			(uint32_t)sizeof(v->value.raw.bytes) : (uint32_t)*len;
	if (SB__CALL(c, GetSockOpt, req, rep, -1) < 0 || sb__reply(rep.error) < 0)
		return -1;
	switch (v->which_value) {
	case sockbroker_v1_SockOptValue_int_value_tag: {
		int i = (int)v->value.int_value;

		if (*len >= sizeof(int)) {
			sb__opt_out(val, len, &i, sizeof(i));
		} else if (*len >= 1) {
			unsigned char ch = (unsigned char)i;

			sb__opt_out(val, len, &ch, 1);
		} else {
			return sb__fail(EINVAL, "option buffer too short");
		}
		return 0;
	}
	case sockbroker_v1_SockOptValue_error_tag: {
		int e = v->value.error ? sb__errno_to_native(v->value.error) : 0;

		sb__opt_out(val, len, &e, sizeof(e));
		return 0;
	}
	case sockbroker_v1_SockOptValue_linger_tag: {
		struct linger l = { .l_onoff = v->value.linger.onoff,
				    .l_linger = v->value.linger.linger_s };

		sb__opt_out(val, len, &l, sizeof(l));
		return 0;
	}
	case sockbroker_v1_SockOptValue_timeval_tag: {
		struct timeval tv = { .tv_sec = (time_t)v->value.timeval.sec,
				      .tv_usec = (suseconds_t)v->value.timeval.usec };

		sb__opt_out(val, len, &tv, sizeof(tv));
		return 0;
	}
	case sockbroker_v1_SockOptValue_ip_mreq_tag: {
		struct in_addr a = { 0 };

		if (v->value.ip_mreq.interface.size == 4)
			memcpy(&a, v->value.ip_mreq.interface.bytes, 4);
		sb__opt_out(val, len, &a, sizeof(a));
		return 0;
	}
	case sockbroker_v1_SockOptValue_text_tag:
		sb__opt_out(val, len, v->value.text, strlen(v->value.text) + 1);
		return 0;
	case sockbroker_v1_SockOptValue_raw_tag:
		sb__opt_out(val, len, v->value.raw.bytes, v->value.raw.size);
		return 0;
	default:
		*len = 0;
		return 0;
	}
}
