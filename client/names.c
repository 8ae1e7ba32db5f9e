/* SPDX-License-Identifier: MIT
 * names.c - the resolver and interface calls: getaddrinfo, getnameinfo,
 * gethostname, service lookup and getifaddrs, answered by the broker host.
 */
#include <errno.h>
#include <net/if.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <pb_decode.h>

#include "call.h"

/* One sb_getaddrinfo() row and its storage, freed as one block. */
struct sb__ai {
	struct addrinfo ai;
	struct sockaddr_storage addr;
	char canon[];
};

bool sb__dec_ai(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	struct sb__ai_list *l = *arg;
	sockbroker_v1_AddrInfo in = sockbroker_v1_AddrInfo_init_zero;
	struct sb__addr a;
	struct sb__ai *row;
	size_t cn;
	socklen_t alen;
	int fam, type, proto, flags;

	(void)f;
	if (!pb_decode(s, sockbroker_v1_AddrInfo_fields, &in))
		return false;
	if (sb__native(SB__C_AF, in.family, &fam) < 0 ||
	    sb__native(SB__C_SOCK, in.socktype, &type) < 0 ||
	    sb__native(SB__C_IPPROTO, in.protocol, &proto) < 0 ||
	    sb__flags_to_native(SB__C_AI, in.flags, &flags) < 0 ||
	    !in.has_address || sb__pb_to_addr(&a, &in.address) < 0) {
		l->bad = 1;
		return true;
	}
	cn = strnlen(in.canonname, sizeof(in.canonname) - 1);
	row = calloc(1, sizeof(*row) + (cn ? cn + 1 : 0));
	if (!row)
		return false;
	if (sb__addr_to_sockaddr(&a, &row->addr, &alen) < 0) {
		free(row);
		l->bad = 1;
		return true;
	}
	row->ai.ai_flags = flags;
	row->ai.ai_family = fam;
	row->ai.ai_socktype = type;
	row->ai.ai_protocol = proto;
	row->ai.ai_addrlen = alen;
	row->ai.ai_addr = (struct sockaddr *)&row->addr;
	if (cn) {
		memcpy(row->canon, in.canonname, cn + 1);
		row->ai.ai_canonname = row->canon;
	}
	*l->tail = &row->ai;
	l->tail = &row->ai.ai_next;
	return true;
}

void sb_freeaddrinfo(struct addrinfo *res)
{
	while (res) {
		struct addrinfo *next = res->ai_next;

		/* ai is the first member of struct sb__ai: one block. */
		free(res);
		res = next;
	}
}

/* An EAI code with errno for EAI_SYSTEM. */
static int sb__eai_system(int err)
{
	errno = err;
	return EAI_SYSTEM;
}

int sb_getaddrinfo(sb_client *c, const char *node, const char *service,
		   const struct addrinfo *hints, struct addrinfo **res)
{
	sockbroker_v1_GetAddrInfoRequest req = sockbroker_v1_GetAddrInfoRequest_init_zero;
	sockbroker_v1_GetAddrInfoReply rep = sockbroker_v1_GetAddrInfoReply_init_zero;
	struct sb__ai_list l = { NULL, NULL, 0 };
	uint32_t v;
	int eai;

	if (!c || !res)
		return sb__eai_system(EINVAL);
	*res = NULL;
	if ((!node && !service) || (node && !*node))
		return EAI_NONAME;
	if ((node && strlen(node) >= sizeof(req.node)) ||
	    (service && strlen(service) >= sizeof(req.service)))
		return EAI_OVERFLOW;
	if (node)
		strcpy(req.node, node);
	if (service)
		strcpy(req.service, service);
	if (hints) {
		if (sb__flags_to_portable(SB__C_AI, hints->ai_flags, &req.flags) < 0)
			return EAI_BADFLAGS;
		if (sb__portable(SB__C_AF, hints->ai_family, &v) < 0)
			return EAI_FAMILY;
		req.family = (sockbroker_v1_AddressFamily)v;
		if (sb__portable(SB__C_SOCK, hints->ai_socktype, &v) < 0)
			return EAI_SOCKTYPE;
		req.socktype = (sockbroker_v1_SocketType)v;
		if (sb__portable(SB__C_IPPROTO, hints->ai_protocol, &v) < 0)
			return EAI_SERVICE;
		req.protocol = (sockbroker_v1_Protocol)v;
	} else {
		/* POSIX: no hints is AI_V4MAPPED|AI_ADDRCONFIG in glibc. */
		sb__flags_to_portable(SB__C_AI, AI_V4MAPPED | AI_ADDRCONFIG, &req.flags);
	}
	l.tail = &l.head;
	rep.results.funcs.decode = sb__dec_ai;
	rep.results.arg = &l;
	if (SB__CALL_NS(c, GetAddrInfo, GetAddrInfoReply, req, rep) < 0) {
		int e = errno;

		sb_freeaddrinfo(l.head);
		return e == ENOMEM ? EAI_MEMORY : sb__eai_system(e);
	}
	if (rep.eai) {
		sb_freeaddrinfo(l.head);
		if (sb__native(SB__C_EAI, rep.eai, &eai) < 0)
			return EAI_FAIL;
		if (eai == EAI_SYSTEM)
			return sb__eai_system(sb__errno_to_native(rep.error));
		return eai;
	}
	if (!l.head) {
		/* Every row was of a kind this system cannot represent. */
		return l.bad ? EAI_FAMILY : EAI_NONAME;
	}
	*res = l.head;
	return 0;
}

/* Copy @src into a caller's @dst of @len bytes. Return: 0 or EAI_OVERFLOW. */
static int sb__copy_name(char *dst, socklen_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)
		return EAI_OVERFLOW;
	memcpy(dst, src, n + 1);
	return 0;
}

int sb_getnameinfo(sb_client *c, const struct sockaddr *addr, socklen_t len,
		   char *host, socklen_t hostlen, char *serv, socklen_t servlen,
		   int flags)
{
	sockbroker_v1_GetNameInfoRequest req = sockbroker_v1_GetNameInfoRequest_init_zero;
	sockbroker_v1_GetNameInfoReply rep = sockbroker_v1_GetNameInfoReply_init_zero;
	bool want_host = host && hostlen, want_serv = serv && servlen;
	int eai;

	if (!c)
		return sb__eai_system(EINVAL);
	/* glibc's order of checks: flags, family, NI_NAMEREQD with nothing
	 * asked, the address length; then nothing asked is success. */
	if (sb__flags_to_portable(SB__C_NI, flags, &req.flags) < 0)
		return EAI_BADFLAGS;
	if (!addr || len < sizeof(sa_family_t))
		return EAI_FAMILY;
	if (addr->sa_family != AF_INET && addr->sa_family != AF_INET6 &&
	    addr->sa_family != AF_UNIX)
		return EAI_FAMILY;
	if ((flags & NI_NAMEREQD) && !host && !serv)
		return EAI_NONAME;
	if (sb__pb_from_sockaddr(&req.address, addr, len) < 0)
		return EAI_FAMILY;
	req.has_address = true;
	req.want_host = want_host;
	req.want_service = want_serv;
	if (!want_host && !want_serv)
		return 0;
	if (SB__CALL_NS(c, GetNameInfo, GetNameInfoReply, req, rep) < 0)
		return sb__eai_system(errno);
	if (rep.eai) {
		if (sb__native(SB__C_EAI, rep.eai, &eai) < 0)
			return EAI_FAIL;
		if (eai == EAI_SYSTEM)
			return sb__eai_system(sb__errno_to_native(rep.error));
		return eai;
	}
	if (want_host && (eai = sb__copy_name(host, hostlen, rep.host)) != 0)
		return eai;
	if (want_serv && (eai = sb__copy_name(serv, servlen, rep.service)) != 0)
		return eai;
	return 0;
}

int sb_gethostname(sb_client *c, char *name, size_t len)
{
	sockbroker_v1_GetHostNameRequest req = sockbroker_v1_GetHostNameRequest_init_zero;
	sockbroker_v1_GetHostNameReply rep = sockbroker_v1_GetHostNameReply_init_zero;
	size_t n;

	if (!c)
		return sb__fail(EINVAL, "no client");
	if (!name && len)
		return sb__fail(EFAULT, "name is NULL");
	if (SB__CALL_NS(c, GetHostName, GetHostNameReply, req, rep) < 0 ||
	    sb__reply(rep.error) < 0)
		return -1;
	n = strnlen(rep.name, sizeof(rep.name) - 1) + 1;
	if (n > len) {
		/* As glibc: as much as fits, then ENAMETOOLONG. */
		if (len) /* @name may be NULL when @len is 0 */
			memcpy(name, rep.name, len);
		return sb__fail(ENAMETOOLONG, "host name needs %zu bytes", n);
	}
	memcpy(name, rep.name, n);
	return 0;
}

static int sb__proto_arg(char *dst, size_t size, const char *proto)
{
	if (!proto)
		return 0;
	if (strlen(proto) >= size)
		return sb__fail(EINVAL, "protocol name too long");
	strcpy(dst, proto);
	return 0;
}

int sb_getservbyname(sb_client *c, const char *name, const char *proto)
{
	sockbroker_v1_GetServByNameRequest req = sockbroker_v1_GetServByNameRequest_init_zero;
	sockbroker_v1_GetServReply rep = sockbroker_v1_GetServReply_init_zero;

	if (!c)
		return sb__fail(EINVAL, "no client");
	if (!name || strlen(name) >= sizeof(req.name))
		return sb__fail(EINVAL, "bad service name");
	strcpy(req.name, name);
	if (sb__proto_arg(req.proto, sizeof(req.proto), proto) < 0)
		return -1;
	if (SB__CALL_NS(c, GetServByName, GetServReply, req, rep) < 0)
		return -1;
	if (!rep.found)
		return sb__fail(ENOENT, "no service \"%s\"", name);
	return (int)rep.port;
}

int sb_getservbyport(sb_client *c, int port, const char *proto, char *name,
		     size_t namelen)
{
	sockbroker_v1_GetServByPortRequest req = sockbroker_v1_GetServByPortRequest_init_zero;
	sockbroker_v1_GetServReply rep = sockbroker_v1_GetServReply_init_zero;
	size_t n;

	if (!c)
		return sb__fail(EINVAL, "no client");
	if (port < 0 || port > 65535)
		return sb__fail(EINVAL, "port %d out of range", port);
	if (!name && namelen)
		return sb__fail(EFAULT, "name is NULL");
	req.port = (uint32_t)port;
	if (sb__proto_arg(req.proto, sizeof(req.proto), proto) < 0)
		return -1;
	if (SB__CALL_NS(c, GetServByPort, GetServReply, req, rep) < 0)
		return -1;
	if (!rep.found)
		return sb__fail(ENOENT, "no service on port %d", port);
	n = strlen(rep.name) + 1;
	if (n > namelen)
		return sb__fail(ERANGE, "service name needs %zu bytes", n);
	memcpy(name, rep.name, n);
	return 0;
}

/* One sb_getifaddrs() row and its storage, freed as one block. */
struct sb__ifa {
	struct ifaddrs ifa;
	unsigned int magic;
	unsigned int index;
	unsigned int mtu;
	char name[IF_NAMESIZE];
	struct sockaddr_storage addr, netmask, ifu;
};

#define SB__IFA_MAGIC 0x5b1fa0dd

/* Write a message address into @ss. Return: the sockaddr, or NULL. */
static struct sockaddr *sb__ifa_addr(const sockbroker_v1_Address *pb, bool has,
				     struct sockaddr_storage *ss)
{
	struct sb__addr a;
	socklen_t len;

	if (!has || sb__pb_to_addr(&a, pb) < 0 || a.kind == SB__ADDR_NONE ||
	    sb__addr_to_sockaddr(&a, ss, &len) < 0)
		return NULL;
	return (struct sockaddr *)ss;
}

struct ifaddrs *sb__ifa_from_pb(const sockbroker_v1_IfAddr *in)
{
	struct sb__ifa *row = calloc(1, sizeof(*row));
	int flags = 0;

	if (!row)
		return NULL;
	row->magic = SB__IFA_MAGIC;
	row->index = in->index;
	row->mtu = in->mtu;
	memcpy(row->name, in->name, strnlen(in->name, sizeof(row->name) - 1));
	if (sb__flags_to_native(SB__C_IFF, in->flags, &flags) < 0)
		flags = 0;
	row->ifa.ifa_name = row->name;
	row->ifa.ifa_flags = (unsigned int)flags;
	row->ifa.ifa_addr = sb__ifa_addr(&in->address, in->has_address, &row->addr);
	row->ifa.ifa_netmask = sb__ifa_addr(&in->netmask, in->has_netmask, &row->netmask);
	if (in->has_destination)
		row->ifa.ifa_dstaddr = sb__ifa_addr(&in->destination, true, &row->ifu);
	else if (in->has_broadcast)
		row->ifa.ifa_broadaddr = sb__ifa_addr(&in->broadcast, true, &row->ifu);
	return &row->ifa;
}

bool sb__dec_ifa(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	struct sb__ifa_list *l = *arg;
	sockbroker_v1_IfAddr in = sockbroker_v1_IfAddr_init_zero;
	struct ifaddrs *row;

	(void)f;
	if (!pb_decode(s, sockbroker_v1_IfAddr_fields, &in))
		return false;
	row = sb__ifa_from_pb(&in);
	if (!row)
		return false;
	*l->tail = row;
	l->tail = &row->ifa_next;
	return true;
}

int sb_getifaddrs(sb_client *c, struct ifaddrs **ifap)
{
	sockbroker_v1_GetIfAddrsRequest req = sockbroker_v1_GetIfAddrsRequest_init_zero;
	sockbroker_v1_GetIfAddrsReply rep = sockbroker_v1_GetIfAddrsReply_init_zero;
	struct sb__ifa_list l = { NULL, NULL };

	if (!c)
		return sb__fail(EINVAL, "no client");
	if (!ifap)
		return sb__fail(EFAULT, "ifap is NULL");
	l.tail = &l.head;
	rep.interfaces.funcs.decode = sb__dec_ifa;
	rep.interfaces.arg = &l;
	if (SB__CALL_NS(c, GetIfAddrs, GetIfAddrsReply, req, rep) < 0 ||
	    sb__reply(rep.error) < 0) {
		int e = errno;

		sb_freeifaddrs(l.head);
		errno = e;
		return -1;
	}
	*ifap = l.head;
	return 0;
}

void sb_freeifaddrs(struct ifaddrs *ifa)
{
	while (ifa) {
		struct ifaddrs *next = ifa->ifa_next;

		free(ifa);  /* ifa is the first member of struct sb__ifa */
		ifa = next;
	}
}

static const struct sb__ifa *sb__ifa_row(const struct ifaddrs *ifa)
{
	const struct sb__ifa *row = (const struct sb__ifa *)(const void *)ifa;

	return row && row->magic == SB__IFA_MAGIC ? row : NULL;
}

unsigned int sb_getifaddr_index(const struct ifaddrs *ifa)
{
	const struct sb__ifa *row = sb__ifa_row(ifa);

	return row ? row->index : 0;
}

unsigned int sb_getifaddr_mtu(const struct ifaddrs *ifa)
{
	const struct sb__ifa *row = sb__ifa_row(ifa);

	return row ? row->mtu : 0;
}
