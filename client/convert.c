/* SPDX-License-Identifier: MIT
 * convert.c - nanopb messages <-> native data: addresses, constants and the
 * bytes callbacks that encode from and decode into callers' buffers.
 */
#include <errno.h>
#include <string.h>
#include <sys/un.h>

#include <pb_decode.h>
#include <pb_encode.h>

#include "consts.h"
#include "internal.h"

void sb__pb_from_addr(sockbroker_v1_Address *pb, const struct sb__addr *a)
{
	memset(pb, 0, sizeof(*pb));
	switch (a->kind) {
	case SB__ADDR_INET:
		pb->which_kind = sockbroker_v1_Address_inet_tag;
		pb->kind.inet.addr.size = 4;
		memcpy(pb->kind.inet.addr.bytes, a->ip, 4);
		pb->kind.inet.port = a->port;
		break;
	case SB__ADDR_INET6:
		pb->which_kind = sockbroker_v1_Address_inet6_tag;
		pb->kind.inet6.addr.size = 16;
		memcpy(pb->kind.inet6.addr.bytes, a->ip, 16);
		pb->kind.inet6.port = a->port;
		pb->kind.inet6.flowinfo = a->flowinfo;
		pb->kind.inet6.scope_id = a->scope_id;
		break;
	case SB__ADDR_UNIX_UNNAMED:
		pb->which_kind = sockbroker_v1_Address_unix_addr_tag;
		break;
	case SB__ADDR_UNIX_PATH:
		pb->which_kind = sockbroker_v1_Address_unix_addr_tag;
		pb->kind.unix_addr.which_name = sockbroker_v1_UnixAddress_path_tag;
		memcpy(pb->kind.unix_addr.name.path, a->name, a->name_len);
		pb->kind.unix_addr.name.path[a->name_len] = 0;
		break;
	case SB__ADDR_UNIX_ABSTRACT:
		pb->which_kind = sockbroker_v1_Address_unix_addr_tag;
		pb->kind.unix_addr.which_name = sockbroker_v1_UnixAddress_abstract_tag;
		pb->kind.unix_addr.name.abstract.size = (pb_size_t)a->name_len;
		memcpy(pb->kind.unix_addr.name.abstract.bytes, a->name, a->name_len);
		break;
	case SB__ADDR_LINK:
		pb->which_kind = sockbroker_v1_Address_link_tag;
		pb->kind.link.protocol = a->link_protocol;
		pb->kind.link.ifindex = a->link_ifindex;
		pb->kind.link.hatype = a->link_hatype;
		pb->kind.link.pkttype = a->link_pkttype;
		pb->kind.link.addr.size = (pb_size_t)a->name_len;
		memcpy(pb->kind.link.addr.bytes, a->name, a->name_len);
		break;
	case SB__ADDR_NONE:
		break;
	}
}

int sb__pb_to_addr(struct sb__addr *a, const sockbroker_v1_Address *pb)
{
	struct sb__addr t;

	memset(&t, 0, sizeof(t));
	switch (pb->which_kind) {
	case 0:
		t.kind = SB__ADDR_NONE;
		break;
	case sockbroker_v1_Address_inet_tag:
		if (pb->kind.inet.addr.size != 4 || pb->kind.inet.port > 65535)
			return -EINVAL;
		t.kind = SB__ADDR_INET;
		memcpy(t.ip, pb->kind.inet.addr.bytes, 4);
		t.port = (uint16_t)pb->kind.inet.port;
		break;
	case sockbroker_v1_Address_inet6_tag:
		if (pb->kind.inet6.addr.size != 16 || pb->kind.inet6.port > 65535)
			return -EINVAL;
		t.kind = SB__ADDR_INET6;
		memcpy(t.ip, pb->kind.inet6.addr.bytes, 16);
		t.port = (uint16_t)pb->kind.inet6.port;
		t.flowinfo = pb->kind.inet6.flowinfo;
		t.scope_id = pb->kind.inet6.scope_id;
		break;
	case sockbroker_v1_Address_unix_addr_tag:
		if (pb->kind.unix_addr.which_name == sockbroker_v1_UnixAddress_path_tag) {
			t.kind = SB__ADDR_UNIX_PATH;
			t.name_len = strnlen(pb->kind.unix_addr.name.path,
					     sizeof(pb->kind.unix_addr.name.path));
			if (t.name_len == 0 || t.name_len > SB__UNIX_NAME_MAX)
				return -EINVAL;
			memcpy(t.name, pb->kind.unix_addr.name.path, t.name_len);
		} else if (pb->kind.unix_addr.which_name ==
			   sockbroker_v1_UnixAddress_abstract_tag) {
			t.kind = SB__ADDR_UNIX_ABSTRACT;
			t.name_len = pb->kind.unix_addr.name.abstract.size;
			if (t.name_len > SB__UNIX_ABSTRACT_MAX)
				return -EINVAL;
			memcpy(t.name, pb->kind.unix_addr.name.abstract.bytes, t.name_len);
		} else {
			t.kind = SB__ADDR_UNIX_UNNAMED;
		}
		break;
	case sockbroker_v1_Address_link_tag:
		if (pb->kind.link.addr.size > SB__LINK_ADDR_MAX)
			return -EINVAL;
		t.kind = SB__ADDR_LINK;
		t.link_protocol = (uint16_t)pb->kind.link.protocol;
		t.link_ifindex = pb->kind.link.ifindex;
		t.link_hatype = (uint16_t)pb->kind.link.hatype;
		t.link_pkttype = (uint8_t)pb->kind.link.pkttype;
		t.name_len = pb->kind.link.addr.size;
		memcpy(t.name, pb->kind.link.addr.bytes, t.name_len);
		break;
	default:
		return -EINVAL;
	}
	*a = t;
	return 0;
}

int sb__pb_from_sockaddr(sockbroker_v1_Address *pb, const struct sockaddr *sa,
			 socklen_t len)
{
	struct sb__addr a;
	int rc;

	if (!sa)
		return -EFAULT;
	rc = sb__addr_from_sockaddr(&a, sa, len);
	if (rc < 0)
		return rc;
	sb__pb_from_addr(pb, &a);
	return 0;
}

int sb__pb_from_sock_addr(sockbroker_v1_Address *pb, int family, int bind,
			  const struct sockaddr *sa, socklen_t len)
{
	struct sockaddr_in sin;

	if (!sa)
		return -EFAULT;
	if (len > sizeof(struct sockaddr_storage))
		return -EINVAL;
	if (len >= sizeof(sa_family_t) && sa->sa_family == AF_UNIX &&
	    len > sizeof(struct sockaddr_un))
		return -EINVAL;
	if (bind && family == AF_INET && len >= sizeof(sin) && sa->sa_family == AF_UNSPEC) {
		memcpy(&sin, sa, sizeof(sin));
		if (sin.sin_addr.s_addr != htonl(INADDR_ANY))
			return -EAFNOSUPPORT;
		sin.sin_family = AF_INET;
		return sb__pb_from_sockaddr(pb, (const struct sockaddr *)&sin, sizeof(sin));
	}
	return sb__pb_from_sockaddr(pb, sa, len);
}

static int sb__pb_copy(const sockbroker_v1_Address *pb, int has,
		       struct sockaddr *dst, socklen_t *dstlen, int name)
{
	struct sb__addr a;
	int rc;

	if (!dstlen)
		return 0;
	memset(&a, 0, sizeof(a));
	if (has) {
		rc = sb__pb_to_addr(&a, pb);
		if (rc < 0)
			return rc;
	}
	if (a.kind == SB__ADDR_NONE) {
		/* No address (e.g. a connected datagram socket): as the
		 * kernel, report a length of 0 and write nothing. */
		*dstlen = 0;
		return 0;
	}
	return name ? sb__addr_copy_name(&a, dst, dstlen)
		    : sb__addr_copy_out(&a, dst, dstlen);
}

int sb__pb_copy_out(const sockbroker_v1_Address *pb, int has,
		    struct sockaddr *dst, socklen_t *dstlen)
{
	return sb__pb_copy(pb, has, dst, dstlen, 0);
}

int sb__pb_copy_name(const sockbroker_v1_Address *pb, int has,
		     struct sockaddr *dst, socklen_t *dstlen)
{
	return sb__pb_copy(pb, has, dst, dstlen, 1);
}

int sb__portable(int fam, int native, uint32_t *out)
{
	return sb__const_to_portable((enum sb__cfam)fam, native, out);
}

int sb__native(int fam, uint32_t portable, int *out)
{
	return sb__const_to_native((enum sb__cfam)fam, portable, out);
}

bool sb__pb_encode_bytes(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
	const struct sb__buf *b = *arg;

	return pb_encode_tag_for_field(s, f) && pb_encode_string(s, b->src, b->len);
}

bool sb__pb_decode_bytes(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	struct sb__buf *b = *arg;
	size_t n = s->bytes_left;
	size_t take = n < b->len - b->got ? n : b->len - b->got;

	(void)f;
	if (take && !pb_read(s, b->dst + b->got, take))
		return false;
	b->got += take;
	b->total += n;
	/* Bytes beyond the buffer are skipped, as recv(2) drops them. */
	return pb_read(s, NULL, n - take);
}

int sb__pb_to_cmsg(struct sb__cmsg *cm, const sockbroker_v1_ControlMessage *pb)
{
	memset(cm, 0, sizeof(*cm));
	switch (pb->which_kind) {
	case sockbroker_v1_ControlMessage_ip_pktinfo_tag:
		if (pb->kind.ip_pktinfo.addr.size != 4 || pb->kind.ip_pktinfo.spec_dst.size != 4)
			return -EINVAL;
		cm->kind = SB__CM_IP_PKTINFO;
		cm->ifindex = pb->kind.ip_pktinfo.ifindex;
		memcpy(cm->spec_dst, pb->kind.ip_pktinfo.spec_dst.bytes, 4);
		memcpy(cm->addr, pb->kind.ip_pktinfo.addr.bytes, 4);
		return 0;
	case sockbroker_v1_ControlMessage_ipv6_pktinfo_tag:
		if (pb->kind.ipv6_pktinfo.addr.size != 16)
			return -EINVAL;
		cm->kind = SB__CM_IPV6_PKTINFO;
		cm->ifindex = (int)pb->kind.ipv6_pktinfo.ifindex;
		memcpy(cm->addr, pb->kind.ipv6_pktinfo.addr.bytes, 16);
		return 0;
	case sockbroker_v1_ControlMessage_timestamp_tag:
		cm->kind = SB__CM_TIMESTAMP;
		cm->sec = pb->kind.timestamp.sec;
		cm->nsec = pb->kind.timestamp.nsec;
		return 0;
	case sockbroker_v1_ControlMessage_timestamp_ns_tag:
		cm->kind = SB__CM_TIMESTAMPNS;
		cm->sec = pb->kind.timestamp_ns.sec;
		cm->nsec = pb->kind.timestamp_ns.nsec;
		return 0;
	case sockbroker_v1_ControlMessage_ip_tos_tag:
		cm->kind = SB__CM_IP_TOS;
		cm->value = (int)(pb->kind.ip_tos & 0xff);
		return 0;
	case sockbroker_v1_ControlMessage_ip_ttl_tag:
		cm->kind = SB__CM_IP_TTL;
		cm->value = pb->kind.ip_ttl;
		return 0;
	case sockbroker_v1_ControlMessage_ipv6_hoplimit_tag:
		cm->kind = SB__CM_IPV6_HOPLIMIT;
		cm->value = pb->kind.ipv6_hoplimit;
		return 0;
	case sockbroker_v1_ControlMessage_ipv6_tclass_tag:
		cm->kind = SB__CM_IPV6_TCLASS;
		cm->value = pb->kind.ipv6_tclass;
		return 0;
	case sockbroker_v1_ControlMessage_rxq_ovfl_tag:
		cm->kind = SB__CM_RXQ_OVFL;
		cm->value = (int)pb->kind.rxq_ovfl;
		return 0;
	case sockbroker_v1_ControlMessage_ip_origdstaddr_tag:
		cm->kind = SB__CM_IP_ORIGDSTADDR;
		return sb__pb_to_addr(&cm->offender, &pb->kind.ip_origdstaddr) < 0 ||
		       cm->offender.kind != SB__ADDR_INET ? -EINVAL : 0;
	case sockbroker_v1_ControlMessage_ipv6_origdstaddr_tag:
		cm->kind = SB__CM_IPV6_ORIGDSTADDR;
		return sb__pb_to_addr(&cm->offender, &pb->kind.ipv6_origdstaddr) < 0 ||
		       cm->offender.kind != SB__ADDR_INET6 ? -EINVAL : 0;
	case sockbroker_v1_ControlMessage_ip_recverr_tag:
	case sockbroker_v1_ControlMessage_ipv6_recverr_tag: {
		const sockbroker_v1_ExtendedErr *e =
			pb->which_kind == sockbroker_v1_ControlMessage_ip_recverr_tag
			? &pb->kind.ip_recverr : &pb->kind.ipv6_recverr;

		cm->kind = pb->which_kind == sockbroker_v1_ControlMessage_ip_recverr_tag
			   ? SB__CM_IP_RECVERR : SB__CM_IPV6_RECVERR;
		cm->ee_errno = sb__errno_to_native((uint32_t)e->error);
		cm->ee_origin = (uint8_t)e->origin;
		cm->ee_type = (uint8_t)e->type;
		cm->ee_code = (uint8_t)e->code;
		cm->ee_info = e->info;
		cm->ee_data = e->data;
		if (e->has_offender && sb__pb_to_addr(&cm->offender, &e->offender) < 0)
			return -EINVAL;
		return 0;
	}
	case sockbroker_v1_ControlMessage_credentials_tag:
		cm->kind = SB__CM_CREDENTIALS;
		cm->pid = pb->kind.credentials.pid;
		cm->uid = pb->kind.credentials.uid;
		cm->gid = pb->kind.credentials.gid;
		return 0;
	default:
		return -EINVAL;
	}
}

int sb__cmsg_to_pbmsg(const struct sb__cmsg *cm, sockbroker_v1_ControlMessage *pb)
{
	memset(pb, 0, sizeof(*pb));
	switch (cm->kind) {
	case SB__CM_IP_PKTINFO:
		pb->which_kind = sockbroker_v1_ControlMessage_ip_pktinfo_tag;
		pb->kind.ip_pktinfo.ifindex = cm->ifindex;
		pb->kind.ip_pktinfo.spec_dst.size = 4;
		memcpy(pb->kind.ip_pktinfo.spec_dst.bytes, cm->spec_dst, 4);
		pb->kind.ip_pktinfo.addr.size = 4;
		memcpy(pb->kind.ip_pktinfo.addr.bytes, cm->addr, 4);
		return 0;
	case SB__CM_IPV6_PKTINFO:
		pb->which_kind = sockbroker_v1_ControlMessage_ipv6_pktinfo_tag;
		pb->kind.ipv6_pktinfo.ifindex = (uint32_t)cm->ifindex;
		pb->kind.ipv6_pktinfo.addr.size = 16;
		memcpy(pb->kind.ipv6_pktinfo.addr.bytes, cm->addr, 16);
		return 0;
	case SB__CM_IP_TOS:
		pb->which_kind = sockbroker_v1_ControlMessage_ip_tos_tag;
		pb->kind.ip_tos = (uint32_t)cm->value;
		return 0;
	case SB__CM_IP_TTL:
		pb->which_kind = sockbroker_v1_ControlMessage_ip_ttl_tag;
		pb->kind.ip_ttl = cm->value;
		return 0;
	case SB__CM_IPV6_HOPLIMIT:
		pb->which_kind = sockbroker_v1_ControlMessage_ipv6_hoplimit_tag;
		pb->kind.ipv6_hoplimit = cm->value;
		return 0;
	case SB__CM_IPV6_TCLASS:
		pb->which_kind = sockbroker_v1_ControlMessage_ipv6_tclass_tag;
		pb->kind.ipv6_tclass = cm->value;
		return 0;
	case SB__CM_CREDENTIALS:
		pb->which_kind = sockbroker_v1_ControlMessage_credentials_tag;
		pb->kind.credentials.pid = cm->pid;
		pb->kind.credentials.uid = cm->uid;
		pb->kind.credentials.gid = cm->gid;
		return 0;
	default:
		return -EINVAL;
	}
}
