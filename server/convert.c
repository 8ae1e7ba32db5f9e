/* SPDX-License-Identifier: MIT
 * convert.c - Address messages <-> struct sb__addr.
 */
#include <errno.h>
#include <string.h>

#include "consts.h"
#include "convert.h"

int sb__addr_from_pb(const SBPB(Address) *m, struct sb__addr *out,
		     const char **why)
{
	struct sb__addr a;
	size_t n;

	memset(&a, 0, sizeof(a));
	if (!m || m->kind_case == SOCKBROKER__V1__ADDRESS__KIND__NOT_SET) {
		a.kind = SB__ADDR_NONE;
		goto ok;
	}
	switch (m->kind_case) {
	case SOCKBROKER__V1__ADDRESS__KIND_INET:
		if (m->inet->addr.len != 4) {
			*why = "an IPv4 address has 4 bytes";
			return -EINVAL;
		}
		if (m->inet->port > 65535) {
			*why = "port out of range 0..65535";
			return -EINVAL;
		}
		a.kind = SB__ADDR_INET;
		memcpy(a.ip, m->inet->addr.data, 4);
		a.port = (uint16_t)m->inet->port;
		break;
	case SOCKBROKER__V1__ADDRESS__KIND_INET6:
		if (m->inet6->addr.len != 16) {
			*why = "an IPv6 address has 16 bytes";
			return -EINVAL;
		}
		if (m->inet6->port > 65535) {
			*why = "port out of range 0..65535";
			return -EINVAL;
		}
		a.kind = SB__ADDR_INET6;
		memcpy(a.ip, m->inet6->addr.data, 16);
		a.port = (uint16_t)m->inet6->port;
		a.flowinfo = m->inet6->flowinfo;
		a.scope_id = m->inet6->scope_id;
		break;
	case SOCKBROKER__V1__ADDRESS__KIND_UNIX_ADDR:
		switch (m->unix_addr->name_case) {
		case SOCKBROKER__V1__UNIX_ADDRESS__NAME_PATH:
			n = strlen(m->unix_addr->path);
			if (n == 0 || n > SB__UNIX_NAME_MAX) {
				*why = "a Unix socket path has 1..108 bytes";
				return -EINVAL;
			}
			a.kind = SB__ADDR_UNIX_PATH;
			memcpy(a.name, m->unix_addr->path, n);
			a.name_len = n;
			break;
		case SOCKBROKER__V1__UNIX_ADDRESS__NAME_ABSTRACT:
			n = m->unix_addr->abstract.len;
			if (n > SB__UNIX_ABSTRACT_MAX) {
				*why = "an abstract name has 0..107 bytes";
				return -EINVAL;
			}
			a.kind = SB__ADDR_UNIX_ABSTRACT;
			if (n)
				memcpy(a.name, m->unix_addr->abstract.data, n);
			a.name_len = n;
			break;
		default:
			a.kind = SB__ADDR_UNIX_UNNAMED;
			break;
		}
		break;
	case SOCKBROKER__V1__ADDRESS__KIND_LINK:
		if (m->link->addr.len > SB__LINK_ADDR_MAX || m->link->protocol > 0xffff ||
		    m->link->hatype > 0xffff || m->link->pkttype > 0xff) {
			*why = "malformed link-layer address";
			return -EINVAL;
		}
		a.kind = SB__ADDR_LINK;
		a.link_protocol = (uint16_t)m->link->protocol;
		a.link_ifindex = m->link->ifindex;
		a.link_hatype = (uint16_t)m->link->hatype;
		a.link_pkttype = (uint8_t)m->link->pkttype;
		if (m->link->addr.len)
			memcpy(a.name, m->link->addr.data, m->link->addr.len);
		a.name_len = m->link->addr.len;
		break;
	default:
		*why = "unknown address kind";
		return -EINVAL;
	}
ok:
	*out = a;
	return 0;
}

SBPB(Address) *sb__addr_to_pb(const struct sb__addr *src, struct sb__pb_addr *st)
{
	const struct sb__addr *a = &st->copy;

	/* The message must not point into the caller's (often reused) copy. */
	st->copy = *src;
	if (st->copy.name_len > SB__UNIX_NAME_MAX)
		st->copy.name_len = SB__UNIX_NAME_MAX;
	st->copy.name[st->copy.name_len] = 0;
	sockbroker__v1__address__init(&st->a);
	switch (a->kind) {
	case SB__ADDR_NONE:
		return NULL;
	case SB__ADDR_INET:
		sockbroker__v1__inet4_address__init(&st->in4);
		st->in4.addr.data = (uint8_t *)a->ip;
		st->in4.addr.len = 4;
		st->in4.port = a->port;
		st->a.kind_case = SOCKBROKER__V1__ADDRESS__KIND_INET;
		st->a.inet = &st->in4;
		break;
	case SB__ADDR_INET6:
		sockbroker__v1__inet6_address__init(&st->in6);
		st->in6.addr.data = (uint8_t *)a->ip;
		st->in6.addr.len = 16;
		st->in6.port = a->port;
		st->in6.flowinfo = a->flowinfo;
		st->in6.scope_id = a->scope_id;
		st->a.kind_case = SOCKBROKER__V1__ADDRESS__KIND_INET6;
		st->a.inet6 = &st->in6;
		break;
	case SB__ADDR_UNIX_UNNAMED:
	case SB__ADDR_UNIX_PATH:
	case SB__ADDR_UNIX_ABSTRACT:
		sockbroker__v1__unix_address__init(&st->un);
		if (a->kind == SB__ADDR_UNIX_PATH) {
			st->un.name_case = SOCKBROKER__V1__UNIX_ADDRESS__NAME_PATH;
			st->un.path = (char *)st->copy.name;
		} else if (a->kind == SB__ADDR_UNIX_ABSTRACT) {
			st->un.name_case = SOCKBROKER__V1__UNIX_ADDRESS__NAME_ABSTRACT;
			st->un.abstract.data = (uint8_t *)a->name;
			st->un.abstract.len = a->name_len;
		}
		st->a.kind_case = SOCKBROKER__V1__ADDRESS__KIND_UNIX_ADDR;
		st->a.unix_addr = &st->un;
		break;
	case SB__ADDR_LINK:
		sockbroker__v1__link_address__init(&st->ll);
		st->ll.protocol = a->link_protocol;
		st->ll.ifindex = a->link_ifindex;
		st->ll.hatype = a->link_hatype;
		st->ll.pkttype = a->link_pkttype;
		st->ll.addr.data = (uint8_t *)a->name;
		st->ll.addr.len = a->name_len;
		st->a.kind_case = SOCKBROKER__V1__ADDRESS__KIND_LINK;
		st->a.link = &st->ll;
		break;
	}
	return &st->a;
}

void sb__ifaddr_to_pb(const struct sb__ifaddr *ifa, SBPB(IfAddr) *m,
		      struct sb__pb_addr st[4])
{
	uint32_t fl = 0;

	sockbroker__v1__if_addr__init(m);
	m->name = (char *)ifa->name;
	m->index = ifa->index;
	sb__flags_to_portable(SB__C_IFF, (int)ifa->flags, &fl);
	m->flags = fl;
	m->address = sb__addr_to_pb(&ifa->addr, &st[0]);
	m->netmask = sb__addr_to_pb(&ifa->netmask, &st[1]);
	m->broadcast = sb__addr_to_pb(&ifa->broadcast, &st[2]);
	m->destination = sb__addr_to_pb(&ifa->destination, &st[3]);
	m->hwaddr.data = (uint8_t *)ifa->hwaddr;
	m->hwaddr.len = ifa->hwaddr_len;
	m->mtu = ifa->mtu;
}

SBPB(ControlMessage) *sb__cmsg_to_pb(const struct sb__cmsg *cm, struct sb__pb_cmsg *st)
{
	const struct sb__cmsg *c = &st->copy;

	st->copy = *cm;
	sockbroker__v1__control_message__init(&st->m);
	switch (c->kind) {
	case SB__CM_IP_PKTINFO:
		sockbroker__v1__in_pktinfo__init(&st->in4);
		st->in4.ifindex = c->ifindex;
		st->in4.spec_dst.data = (uint8_t *)c->spec_dst;
		st->in4.spec_dst.len = 4;
		st->in4.addr.data = (uint8_t *)c->addr;
		st->in4.addr.len = 4;
		st->m.kind_case = SOCKBROKER__V1__CONTROL_MESSAGE__KIND_IP_PKTINFO;
		st->m.ip_pktinfo = &st->in4;
		break;
	case SB__CM_IPV6_PKTINFO:
		sockbroker__v1__in6_pktinfo__init(&st->in6);
		st->in6.ifindex = (uint32_t)c->ifindex;
		st->in6.addr.data = (uint8_t *)c->addr;
		st->in6.addr.len = 16;
		st->m.kind_case = SOCKBROKER__V1__CONTROL_MESSAGE__KIND_IPV6_PKTINFO;
		st->m.ipv6_pktinfo = &st->in6;
		break;
	case SB__CM_TIMESTAMP:
	case SB__CM_TIMESTAMPNS:
		sockbroker__v1__cmsg_time__init(&st->t);
		st->t.sec = c->sec;
		st->t.nsec = c->nsec;
		if (c->kind == SB__CM_TIMESTAMP) {
			st->m.kind_case = SOCKBROKER__V1__CONTROL_MESSAGE__KIND_TIMESTAMP;
			st->m.timestamp = &st->t;
		} else {
			st->m.kind_case = SOCKBROKER__V1__CONTROL_MESSAGE__KIND_TIMESTAMP_NS;
			st->m.timestamp_ns = &st->t;
		}
		break;
	case SB__CM_IP_TOS:
		st->m.kind_case = SOCKBROKER__V1__CONTROL_MESSAGE__KIND_IP_TOS;
		st->m.ip_tos = (uint32_t)c->value;
		break;
	case SB__CM_IP_TTL:
		st->m.kind_case = SOCKBROKER__V1__CONTROL_MESSAGE__KIND_IP_TTL;
		st->m.ip_ttl = c->value;
		break;
	case SB__CM_IPV6_HOPLIMIT:
		st->m.kind_case = SOCKBROKER__V1__CONTROL_MESSAGE__KIND_IPV6_HOPLIMIT;
		st->m.ipv6_hoplimit = c->value;
		break;
	case SB__CM_IPV6_TCLASS:
		st->m.kind_case = SOCKBROKER__V1__CONTROL_MESSAGE__KIND_IPV6_TCLASS;
		st->m.ipv6_tclass = c->value;
		break;
	case SB__CM_RXQ_OVFL:
		st->m.kind_case = SOCKBROKER__V1__CONTROL_MESSAGE__KIND_RXQ_OVFL;
		st->m.rxq_ovfl = (uint32_t)c->value;
		break;
	case SB__CM_IP_ORIGDSTADDR:
		st->m.kind_case = SOCKBROKER__V1__CONTROL_MESSAGE__KIND_IP_ORIGDSTADDR;
		st->m.ip_origdstaddr = sb__addr_to_pb(&c->offender, &st->off);
		break;
	case SB__CM_IPV6_ORIGDSTADDR:
		st->m.kind_case = SOCKBROKER__V1__CONTROL_MESSAGE__KIND_IPV6_ORIGDSTADDR;
		st->m.ipv6_origdstaddr = sb__addr_to_pb(&c->offender, &st->off);
		break;
	case SB__CM_IP_RECVERR:
	case SB__CM_IPV6_RECVERR:
		sockbroker__v1__extended_err__init(&st->ee);
		st->ee.error = (Sockbroker__V1__Errno)sb__errno_to_portable(c->ee_errno);
		st->ee.origin = c->ee_origin;
		st->ee.type = c->ee_type;
		st->ee.code = c->ee_code;
		st->ee.info = c->ee_info;
		st->ee.data = c->ee_data;
		st->ee.offender = sb__addr_to_pb(&c->offender, &st->off);
		if (c->kind == SB__CM_IP_RECVERR) {
			st->m.kind_case = SOCKBROKER__V1__CONTROL_MESSAGE__KIND_IP_RECVERR;
			st->m.ip_recverr = &st->ee;
		} else {
			st->m.kind_case = SOCKBROKER__V1__CONTROL_MESSAGE__KIND_IPV6_RECVERR;
			st->m.ipv6_recverr = &st->ee;
		}
		break;
	case SB__CM_CREDENTIALS:
		sockbroker__v1__credentials__init(&st->cr);
		st->cr.pid = c->pid;
		st->cr.uid = c->uid;
		st->cr.gid = c->gid;
		st->m.kind_case = SOCKBROKER__V1__CONTROL_MESSAGE__KIND_CREDENTIALS;
		st->m.credentials = &st->cr;
		break;
	case SB__CM_NONE:
		break;
	}
	return &st->m;
}

int sb__cmsg_from_pb(const SBPB(ControlMessage) *pb, struct sb__cmsg *cm, const char **why)
{
	memset(cm, 0, sizeof(*cm));
	cm->offender.kind = SB__ADDR_NONE;
	switch (pb->kind_case) {
	case SOCKBROKER__V1__CONTROL_MESSAGE__KIND_IP_PKTINFO:
		if (pb->ip_pktinfo->spec_dst.len != 4 ||
		    (pb->ip_pktinfo->addr.len != 4 && pb->ip_pktinfo->addr.len != 0)) {
			*why = "ip_pktinfo addresses have 4 bytes";
			return -EINVAL;
		}
		cm->kind = SB__CM_IP_PKTINFO;
		cm->ifindex = pb->ip_pktinfo->ifindex;
		memcpy(cm->spec_dst, pb->ip_pktinfo->spec_dst.data, 4);
		if (pb->ip_pktinfo->addr.len)
			memcpy(cm->addr, pb->ip_pktinfo->addr.data, 4);
		return 0;
	case SOCKBROKER__V1__CONTROL_MESSAGE__KIND_IPV6_PKTINFO:
		if (pb->ipv6_pktinfo->addr.len != 16) {
			*why = "ipv6_pktinfo.addr has 16 bytes";
			return -EINVAL;
		}
		cm->kind = SB__CM_IPV6_PKTINFO;
		cm->ifindex = (int)pb->ipv6_pktinfo->ifindex;
		memcpy(cm->addr, pb->ipv6_pktinfo->addr.data, 16);
		return 0;
	case SOCKBROKER__V1__CONTROL_MESSAGE__KIND_IP_TOS:
		cm->kind = SB__CM_IP_TOS;
		cm->value = (int)pb->ip_tos;
		return 0;
	case SOCKBROKER__V1__CONTROL_MESSAGE__KIND_IP_TTL:
		cm->kind = SB__CM_IP_TTL;
		cm->value = pb->ip_ttl;
		return 0;
	case SOCKBROKER__V1__CONTROL_MESSAGE__KIND_IPV6_HOPLIMIT:
		cm->kind = SB__CM_IPV6_HOPLIMIT;
		cm->value = pb->ipv6_hoplimit;
		return 0;
	case SOCKBROKER__V1__CONTROL_MESSAGE__KIND_IPV6_TCLASS:
		cm->kind = SB__CM_IPV6_TCLASS;
		cm->value = pb->ipv6_tclass;
		return 0;
	case SOCKBROKER__V1__CONTROL_MESSAGE__KIND_CREDENTIALS:
		cm->kind = SB__CM_CREDENTIALS;
		cm->pid = pb->credentials->pid;
		cm->uid = pb->credentials->uid;
		cm->gid = pb->credentials->gid;
		return 0;
	default:
		*why = "only pktinfo, tos, ttl, hop limit, traffic class and credentials "
		       "can be sent";
		return -EINVAL;
	}
}
