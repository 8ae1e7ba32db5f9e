/* SPDX-License-Identifier: MIT
 * ops_names.c - name service and interface calls: GetAddrInfo,
 * GetNameInfo, GetHostName, GetServByName, GetServByPort, GetIfAddrs. The
 * libc calls that may block run on the resolver pool.
 */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iflist.h"
#include "ops.h"
#include "pool.h"

/* Run @fn for @c on the pool, or fail the call. */
static void sb__defer(struct sb__call *c, void (*fn)(void *))
{
	if (sb__pool_submit(fn, c) < 0)
		sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM,
			      "resolver queue full");
}

static SBPB(EaiError) sb__eai(int native)
{
	uint32_t p;

	if (sb__const_to_portable(SB__C_EAI, native, &p) < 0)
		p = (uint32_t)SOCKBROKER__V1__EAI_ERROR__EAI_FAIL;
	return (SBPB(EaiError))p;
}

/* ---- GetAddrInfo ---------------------------------------------------- */

static void sb__gai_job(void *arg)
{
	struct sb__call *c = arg;
	SBPB(GetAddrInfoRequest) *r = c->request;
	SBPB(GetAddrInfoReply) rep = SOCKBROKER__V1__GET_ADDR_INFO_REPLY__INIT;
	SBPB(AddrInfo) *rows = NULL, **ptrs = NULL;
	struct sb__pb_addr *addrs = NULL;
	struct addrinfo hints, *res = NULL, *ai;
	size_t n = 0, i = 0;
	int ret;

	memset(&hints, 0, sizeof(hints));
	/* The handler checked every value; never resolve with one dropped. */
	if (sb__flags_to_native(SB__C_AI, r->flags, &hints.ai_flags) < 0 ||
	    sb__const_to_native(SB__C_AF, (uint32_t)r->family, &hints.ai_family) < 0 ||
	    sb__const_to_native(SB__C_SOCK, (uint32_t)r->socktype, &hints.ai_socktype) < 0 ||
	    sb__const_to_native(SB__C_IPPROTO, (uint32_t)r->protocol, &hints.ai_protocol) < 0) {
		rep.eai = SOCKBROKER__V1__EAI_ERROR__EAI_BADFLAGS;
		goto out;
	}
	ret = getaddrinfo(r->node[0] ? r->node : NULL,
			  r->service[0] ? r->service : NULL, &hints, &res);
	if (ret) {
		rep.eai = sb__eai(ret);
		if (ret == EAI_SYSTEM)
			rep.error = SB_ERRNO(errno);
		goto out;
	}
	for (ai = res; ai; ai = ai->ai_next)
		n++;
	/* getaddrinfo() succeeded: at least one row (never calloc(0), whose
	 * NULL would read as out of memory). */
	rows = calloc(n ? n : 1, sizeof(*rows));
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	ptrs = calloc(n ? n : 1, sizeof(*ptrs));
	addrs = calloc(n ? n : 1, sizeof(*addrs));
	if (!rows || !ptrs || !addrs) {
		rep.eai = SOCKBROKER__V1__EAI_ERROR__EAI_MEMORY;
		goto out;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct sb__addr a;
		uint32_t v;

		sockbroker__v1__addr_info__init(&rows[i]);
		if (sb__flags_to_portable(SB__C_AI, ai->ai_flags, &v) == 0)
			rows[i].flags = v;
		if (sb__const_to_portable(SB__C_AF, ai->ai_family, &v) == 0)
			rows[i].family = (SBPB(AddressFamily))v;
		if (sb__const_to_portable(SB__C_SOCK, ai->ai_socktype, &v) == 0)
			rows[i].socktype = (SBPB(SocketType))v;
		if (sb__const_to_portable(SB__C_IPPROTO, ai->ai_protocol, &v) == 0)
			rows[i].protocol = (SBPB(Protocol))v;
		if (sb__addr_from_sockaddr(&a, ai->ai_addr, ai->ai_addrlen) == 0)
			rows[i].address = sb__addr_to_pb(&a, &addrs[i]);
		if (ai->ai_canonname)
			rows[i].canonname = ai->ai_canonname;
		ptrs[i] = &rows[i];
		i++;
	}
	rep.n_results = n;
	rep.results = ptrs;
out:
	sb__call_reply(c, &rep.base);
	free(rows);
	free(ptrs);
	free(addrs);
	if (res)
		freeaddrinfo(res);
}

void sb__h_getaddrinfo(struct sb__call *c, void *req)
{
	SBPB(GetAddrInfoRequest) *r = req;
	int v;

	if (sb__op_allowed(c, SB__POL_RESOLVE, NULL, NULL) < 0)
		return;
	if (strlen(r->node) > 1024 || strlen(r->service) > 255) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
			      "node above 1024 or service above 255 bytes");
		return;
	}
	if (sb__flags_to_native(SB__C_AI, r->flags, &v) < 0) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
			      "flags 0x%x hold an unknown AI_ bit", r->flags);
		return;
	}
	if (sb__op_native(c, SB__C_AF, (uint32_t)r->family, "family", &v) < 0 ||
	    sb__op_native(c, SB__C_SOCK, (uint32_t)r->socktype, "socktype", &v) < 0 ||
	    sb__op_native(c, SB__C_IPPROTO, (uint32_t)r->protocol, "protocol", &v) < 0)
		return;
	sb__defer(c, sb__gai_job);
}

/* ---- GetNameInfo ---------------------------------------------------- */

static void sb__gni_job(void *arg)
{
	struct sb__call *c = arg;
	SBPB(GetNameInfoRequest) *r = c->request;
	SBPB(GetNameInfoReply) rep = SOCKBROKER__V1__GET_NAME_INFO_REPLY__INIT;
	char host[NI_MAXHOST] = "", serv[NI_MAXSERV] = "";
	struct sockaddr_storage ss;
	struct sb__addr a;
	socklen_t len;
	const char *why;
	int flags = 0, ret;

	if (sb__flags_to_native(SB__C_NI, r->flags, &flags) < 0) {
		rep.eai = SOCKBROKER__V1__EAI_ERROR__EAI_BADFLAGS;	/* checked already */
		goto out;
	}
	if (sb__addr_from_pb(r->address, &a, &why) < 0 ||
	    sb__addr_to_sockaddr(&a, &ss, &len) < 0) {
		rep.eai = SOCKBROKER__V1__EAI_ERROR__EAI_FAMILY;
		goto out;
	}
	ret = getnameinfo((struct sockaddr *)&ss, len,
			  r->want_host ? host : NULL, r->want_host ? sizeof(host) : 0,
			  r->want_service ? serv : NULL,
			  r->want_service ? sizeof(serv) : 0, flags);
	if (ret) {
		rep.eai = sb__eai(ret);
		if (ret == EAI_SYSTEM)
			rep.error = SB_ERRNO(errno);
		goto out;
	}
	rep.host = host;
	rep.service = serv;
out:
	sb__call_reply(c, &rep.base);
}

void sb__h_getnameinfo(struct sb__call *c, void *req)
{
	SBPB(GetNameInfoRequest) *r = req;
	struct sb__addr a;
	const char *why;
	int v;

	if (sb__op_allowed(c, SB__POL_RESOLVE, NULL, NULL) < 0)
		return;
	if (sb__flags_to_native(SB__C_NI, r->flags, &v) < 0) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
			      "flags 0x%x hold an unknown NI_ bit", r->flags);
		return;
	}
	if (sb__addr_from_pb(r->address, &a, &why) < 0) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL, "address: %s", why);
		return;
	}
	sb__defer(c, sb__gni_job);
}

/* ---- GetHostName, GetServByName, GetServByPort ------------------------ */

void sb__h_gethostname(struct sb__call *c, void *req)
{
	SBPB(GetHostNameReply) rep = SOCKBROKER__V1__GET_HOST_NAME_REPLY__INIT;
	char name[256];

	(void)req;
	if (gethostname(name, sizeof(name)) < 0)
		rep.error = SB_ERRNO(errno);
	else
		rep.name = name;
	sb__call_reply(c, &rep.base);
}

static void sb__serv_reply(struct sb__call *c, struct servent *se)
{
	SBPB(GetServReply) rep = SOCKBROKER__V1__GET_SERV_REPLY__INIT;
	size_t n = 0;

	if (se) {
		rep.found = 1;
		rep.name = se->s_name;
		rep.port = ntohs((uint16_t)se->s_port);
		rep.proto = se->s_proto;
		while (se->s_aliases[n])
			n++;
		rep.n_aliases = n;
		rep.aliases = se->s_aliases;
	}
	sb__call_reply(c, &rep.base);
}

static int sb__serv_args(struct sb__call *c, const char *proto)
{
	if (strlen(proto) > 31) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
			      "proto longer than 31 bytes");
		return -EINVAL;
	}
	return 0;
}

/* getservbyname_r/getservbyport_r go through NSS (files, but also
 * sss, ldap...), which may block: they run on the pool like the
 * resolver calls, never on a CQ thread. */
static void sb__servbyname_job(void *arg)
{
	struct sb__call *c = arg;
	SBPB(GetServByNameRequest) *r = c->request;
	struct servent se, *res = NULL;
	char buf[4096];

	getservbyname_r(r->name, r->proto[0] ? r->proto : NULL, &se, buf,
			sizeof(buf), &res);
	sb__serv_reply(c, res);
}

void sb__h_getservbyname(struct sb__call *c, void *req)
{
	SBPB(GetServByNameRequest) *r = req;

	if (sb__op_allowed(c, SB__POL_RESOLVE, NULL, NULL) < 0)
		return;
	if (sb__serv_args(c, r->proto) < 0)
		return;
	sb__defer(c, sb__servbyname_job);
}

static void sb__servbyport_job(void *arg)
{
	struct sb__call *c = arg;
	SBPB(GetServByPortRequest) *r = c->request;
	struct servent se, *res = NULL;
	char buf[4096];

	getservbyport_r(htons((uint16_t)r->port), r->proto[0] ? r->proto : NULL,
			&se, buf, sizeof(buf), &res);
	sb__serv_reply(c, res);
}

void sb__h_getservbyport(struct sb__call *c, void *req)
{
	SBPB(GetServByPortRequest) *r = req;

	if (sb__op_allowed(c, SB__POL_RESOLVE, NULL, NULL) < 0)
		return;
	if (sb__serv_args(c, r->proto) < 0)
		return;
	if (r->port > 65535) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
			      "port %u out of range 0..65535", r->port);
		return;
	}
	sb__defer(c, sb__servbyport_job);
}

/* ---- GetIfAddrs ----------------------------------------------------- */

static void sb__ifaddrs_job(void *arg)
{
	struct sb__call *c = arg;
	SBPB(GetIfAddrsReply) rep = SOCKBROKER__V1__GET_IF_ADDRS_REPLY__INIT;
	SBPB(IfAddr) *rows = NULL, **ptrs = NULL;
	struct sb__pb_addr (*st)[4] = NULL;
	struct sb__ifaddr *ifs = NULL;
	size_t n = 0, i;
	int ret;

	ret = sb__ifaddrs_get(&ifs, &n);
	if (ret < 0) {
		rep.error = SB_ERRNO(-ret);
		goto out;
	}
	rows = calloc(n + 1, sizeof(*rows));
	/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
	ptrs = calloc(n + 1, sizeof(*ptrs));
	st = calloc(n + 1, sizeof(*st));
	if (!rows || !ptrs || !st) {
		rep.error = SB_ERRNO(ENOMEM);
		goto out;
	}
	for (i = 0; i < n; i++) {
		sb__ifaddr_to_pb(&ifs[i], &rows[i], st[i]);
		ptrs[i] = &rows[i];
	}
	rep.n_interfaces = n;
	rep.interfaces = ptrs;
out:
	sb__call_reply(c, &rep.base);
	free(rows);
	free(ptrs);
	free(st);
	free(ifs);
}

void sb__h_getifaddrs(struct sb__call *c, void *req)
{
	(void)req;
	if (sb__op_allowed(c, SB__POL_IFADDRS, NULL, NULL) < 0)
		return;
	sb__defer(c, sb__ifaddrs_job);
}
