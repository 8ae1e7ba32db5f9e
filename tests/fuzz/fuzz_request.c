/* SPDX-License-Identifier: MIT
 * fuzz_request.c - every request of the contract under libFuzzer, as the
 * broker receives it: the first byte picks the method, the rest is the
 * message. protobuf-c unpacks it (the descriptors the daemon registers),
 * then the checks and conversions the method's handler makes before any
 * socket call run on its fields: addresses (convert.c, then lib/addr.c's
 * sockaddr), constants and flags (lib/consts.c), option values
 * (optval.c, the code SetSockOpt and Dial call), sizes. Properties: no
 * crash, no leak, no read outside the message; what converts is within
 * its bounds; an unpacked message packs again (to its packed size).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "convert.h"
#include "optval.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SB__ASSERT(c) do { if (!(c)) abort(); } while (0)
#define SBD(x) (&sockbroker__v1__##x##__descriptor)

/* An address field as a handler reads it, then as the kernel gets it. */
static void sb__addr(const SBPB(Address) *m)
{
	struct sockaddr_storage ss;
	struct sb__addr a;
	const char *why = NULL;
	socklen_t len;

	if (sb__addr_from_pb(m, &a, &why) < 0) {
		SB__ASSERT(why);
		return;
	}
	SB__ASSERT(a.name_len <= SB__UNIX_NAME_MAX);
	if (a.kind != SB__ADDR_NONE && sb__addr_to_sockaddr(&a, &ss, &len) == 0)
		SB__ASSERT(len <= sizeof(ss));
}

static void sb__const(enum sb__cfam fam, uint32_t v)
{
	int n;

	(void)!sb__const_to_native(fam, v, &n);
}

static void sb__flags(enum sb__cfam fam, uint32_t v)
{
	int n;

	(void)!sb__flags_to_native(fam, v, &n);
}

static void sb__setsockopt(const SBPB(SetSockOptRequest) *r)
{
	struct sb__optset o;
	char why[256];
	int ret;

	why[0] = 0;
	ret = sb__optval_setsockopt(r, &o, why, sizeof(why));
	SB__ASSERT(ret == 0 || ret == -EINVAL || ret == -ENOPROTOOPT);
	if (ret == -EINVAL)
		SB__ASSERT(why[0]);
	if (ret == 0)
		SB__ASSERT(o.len <= sizeof(o.buf));
}

static void sb__getsockopt(const SBPB(GetSockOptRequest) *r)
{
	char why[128];
	int level, name, ret;

	ret = sb__optval_names((uint32_t)r->level, r->name, &level, &name, why, sizeof(why));
	if (ret == 0)
		(void)sb__sockopt_kind(level, name);
	else if (ret == 1)
		(void)sb__optval_raw_known(level, r->name);
}

static void sb__dial(const SBPB(DialRequest) *r)
{
	struct sb__optset o;
	char why[128];
	size_t i;

	sb__addr(r->address);
	sb__const(SB__C_AF, (uint32_t)r->family);
	for (i = 0; i < r->n_options && i < 16; i++)
		if (sb__optval_dial(r->options[i], &o, why, sizeof(why)) == 0)
			SB__ASSERT(o.len <= sizeof(o.buf));
}

/* The handler's conversions of message @m of type @d. */
static void sb__convert(const ProtobufCMessageDescriptor *d, const ProtobufCMessage *m)
{
	size_t i;

	if (d == SBD(socket_request)) {
		const SBPB(SocketRequest) *r = (const void *)m;

		sb__const(SB__C_AF, (uint32_t)r->family);
		sb__const(SB__C_SOCK, (uint32_t)r->type);
		sb__const(SB__C_IPPROTO, (uint32_t)r->protocol);
	} else if (d == SBD(socket_pair_request)) {
		const SBPB(SocketPairRequest) *r = (const void *)m;

		sb__const(SB__C_AF, (uint32_t)r->family);
		sb__const(SB__C_SOCK, (uint32_t)r->type);
		sb__const(SB__C_IPPROTO, (uint32_t)r->protocol);
	} else if (d == SBD(bind_request)) {
		sb__addr(((const SBPB(BindRequest) *)(const void *)m)->address);
	} else if (d == SBD(connect_request)) {
		sb__addr(((const SBPB(ConnectRequest) *)(const void *)m)->address);
	} else if (d == SBD(shutdown_request)) {
		sb__const(SB__C_SHUT, (uint32_t)((const SBPB(ShutdownRequest) *)(const void *)m)->how);
	} else if (d == SBD(send_request)) {
		const SBPB(SendRequest) *r = (const void *)m;

		sb__flags(SB__C_MSG, r->flags);
		if (r->destination)
			sb__addr(r->destination);
		if (r->source || r->ifindex)
			sb__addr(r->source);
	} else if (d == SBD(recv_request)) {
		sb__flags(SB__C_MSG, ((const SBPB(RecvRequest) *)(const void *)m)->flags);
	} else if (d == SBD(poll_request)) {
		const SBPB(PollRequest) *r = (const void *)m;

		for (i = 0; i < r->n_items && i <= SB__POLL_MAX; i++)
			sb__flags(SB__C_POLL, r->items[i]->events);
	} else if (d == SBD(set_sock_opt_request)) {
		sb__setsockopt((const void *)m);
	} else if (d == SBD(get_sock_opt_request)) {
		sb__getsockopt((const void *)m);
	} else if (d == SBD(dial_request)) {
		sb__dial((const void *)m);
	} else if (d == SBD(get_addr_info_request)) {
		const SBPB(GetAddrInfoRequest) *r = (const void *)m;

		(void)strlen(r->node);
		(void)strlen(r->service);
		sb__flags(SB__C_AI, r->flags);
		sb__const(SB__C_AF, (uint32_t)r->family);
		sb__const(SB__C_SOCK, (uint32_t)r->socktype);
		sb__const(SB__C_IPPROTO, (uint32_t)r->protocol);
	} else if (d == SBD(get_name_info_request)) {
		const SBPB(GetNameInfoRequest) *r = (const void *)m;

		sb__flags(SB__C_NI, r->flags);
		sb__addr(r->address);
	} else if (d == SBD(get_serv_by_name_request)) {
		const SBPB(GetServByNameRequest) *r = (const void *)m;

		(void)strlen(r->name);
		(void)strlen(r->proto);
	} else if (d == SBD(get_serv_by_port_request)) {
		(void)strlen(((const SBPB(GetServByPortRequest) *)(const void *)m)->proto);
	} else if (d == SBD(open_session_request)) {
		(void)strlen(((const SBPB(OpenSessionRequest) *)(const void *)m)->client_name);
	}
}

/* Every request the broker reads (in the order of the service). */
static const ProtobufCMessageDescriptor *const sb__requests[] = {
	SBD(open_session_request), SBD(close_session_request), SBD(socket_request),
	SBD(socket_pair_request), SBD(bind_request), SBD(connect_request),
	SBD(listen_request), SBD(accept_request), SBD(send_request), SBD(recv_request),
	SBD(shutdown_request), SBD(close_request), SBD(set_sock_opt_request),
	SBD(get_sock_opt_request), SBD(get_sock_name_request), SBD(get_peer_name_request),
	SBD(get_peer_cred_request), SBD(set_non_blocking_request), SBD(poll_request),
	SBD(dial_request), SBD(accept_stream_request), SBD(recv_stream_request),
	SBD(pipe_frame), SBD(get_addr_info_request), SBD(get_name_info_request),
	SBD(get_host_name_request), SBD(get_serv_by_name_request),
	SBD(get_serv_by_port_request), SBD(get_if_addrs_request),
	SBD(watch_interfaces_request), SBD(get_stats_request),
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const ProtobufCMessageDescriptor *d;
	ProtobufCMessage *m;
	uint8_t *packed;
	size_t n;

	if (!size)
		return 0;
	d = sb__requests[data[0] % (sizeof(sb__requests) / sizeof(sb__requests[0]))];
	m = protobuf_c_message_unpack(d, NULL, size - 1, data + 1);
	if (!m)
		return 0;
	sb__convert(d, m);
	n = protobuf_c_message_get_packed_size(m);
	packed = malloc(n ? n : 1);
	SB__ASSERT(packed);
	SB__ASSERT(protobuf_c_message_pack(m, packed) == n);
	free(packed);
	protobuf_c_message_free_unpacked(m, NULL);
	return 0;
}
