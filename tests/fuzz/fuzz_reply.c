/* SPDX-License-Identifier: MIT
 * fuzz_reply.c - the client library against a hostile broker: the first
 * byte picks a reply or stream message of the contract, the rest is what
 * the broker sent. nanopb decodes it with the field descriptions and the
 * decode callbacks libsockbroker uses (Recv's data into the caller's
 * buffer, getaddrinfo's and getifaddrs's rows into native lists), then
 * every address in it goes through the client's copy-out to a caller's
 * buffer of any size, and the errno, EAI and flag fields through its
 * translations. Properties: no crash, no leak, no write past a caller's
 * buffer; rows built are well formed.
 */
#include <errno.h>
#include <netdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <net/if.h>
#include <pb_common.h>
#include <pb_decode.h>

#include "consts.h"
#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SB__ASSERT(c) do { if (!(c)) abort(); } while (0)

/* Every message a broker sends, with room for the largest. */
#define SB__REPLIES(X)                                                        \
	X(SessionEvent) X(CloseSessionReply) X(SocketReply) X(SocketPairReply)  \
	X(BindReply) X(ConnectReply) X(ListenReply) X(AcceptReply) X(SendReply) \
	X(RecvReply) X(ShutdownReply) X(CloseReply) X(SetSockOptReply)          \
	X(GetSockOptReply) X(GetSockNameReply) X(GetPeerNameReply)              \
	X(GetPeerCredReply) X(SetNonBlockingReply) X(PollReply) X(DialReply)    \
	X(AcceptEvent) X(RecvEvent) X(PipeFrame) X(GetAddrInfoReply)            \
	X(GetNameInfoReply) X(GetHostNameReply) X(GetServReply)                 \
	X(GetIfAddrsReply) X(InterfaceEvent) X(GetStatsReply)

#define SB__MEMBER(m) sockbroker_v1_##m m;
#define SB__DESC(m) &sockbroker_v1_##m##_msg,

union sb__reply {
	SB__REPLIES(SB__MEMBER)
};

static const pb_msgdesc_t *const sb__replies[] = { SB__REPLIES(SB__DESC) };

/* An address of the message to a caller's buffer of @room bytes. */
static void sb__copy_out(const sockbroker_v1_Address *pb, int has, socklen_t room)
{
	socklen_t len = room;
	uint8_t *dst = malloc(room ? room : 1);

	SB__ASSERT(dst);
	if (sb__pb_copy_out(pb, has, room ? (struct sockaddr *)dst : NULL, &len) == 0)
		SB__ASSERT(len <= sizeof(struct sockaddr_storage));
	free(dst);
}

/* Every Address inside the message, however deep. */
static void sb__walk(const pb_msgdesc_t *d, void *msg, socklen_t room)
{
	pb_field_iter_t it;
	pb_size_t i, count;
	int present;

	if (!pb_field_iter_begin(&it, d, msg))
		return;
	do {
		if (PB_LTYPE(it.type) != PB_LTYPE_SUBMESSAGE ||
		    PB_ATYPE(it.type) != PB_ATYPE_STATIC)
			continue;
		count = 1;
		present = 1;
		if (PB_HTYPE(it.type) == PB_HTYPE_OPTIONAL)
			present = *(const bool *)it.pSize;
		else if (PB_HTYPE(it.type) == PB_HTYPE_ONEOF)
			present = *(const pb_size_t *)it.pSize == it.tag;
		else if (PB_HTYPE(it.type) == PB_HTYPE_REPEATED)
			count = *(const pb_size_t *)it.pSize;
		for (i = 0; present && i < count; i++) {
			void *el = (char *)it.pData + (size_t)i * it.data_size;

			if (it.submsg_desc == &sockbroker_v1_Address_msg)
				sb__copy_out(el, present, room);
			else
				sb__walk(it.submsg_desc, el, room);
		}
	} while (pb_field_iter_next(&it));
}

/* The rows a hostile getaddrinfo reply made: each well formed. */
static void sb__check_ai(const struct addrinfo *ai)
{
	for (; ai; ai = ai->ai_next) {
		SB__ASSERT(ai->ai_addr && ai->ai_addrlen <= sizeof(struct sockaddr_storage));
		if (ai->ai_canonname)
			(void)strlen(ai->ai_canonname);
	}
}

static void sb__check_ifa(const struct ifaddrs *ifa)
{
	for (; ifa; ifa = ifa->ifa_next) {
		SB__ASSERT(ifa->ifa_name && strlen(ifa->ifa_name) < IF_NAMESIZE);
		(void)sb_getifaddr_index(ifa);
		(void)sb_getifaddr_mtu(ifa);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static union sb__reply u;
	const pb_msgdesc_t *d;
	struct sb__ai_list ai = { NULL, NULL, 0 };
	struct sb__ifa_list ifa = { NULL, NULL };
	struct sb__buf buf;
	uint8_t sel, *dst;
	pb_istream_t is;
	int native;

	if (size < 2)
		return 0;
	d = sb__replies[data[0] % (sizeof(sb__replies) / sizeof(sb__replies[0]))];
	sel = data[1];
	memset(&u, 0, sizeof(u));
	/* The callbacks the client sets before decoding these. */
	dst = malloc(sel ? sel : 1);
	SB__ASSERT(dst);
	memset(&buf, 0, sizeof(buf));
	buf.dst = dst;
	buf.len = sel;
	ai.tail = &ai.head;
	ifa.tail = &ifa.head;
	if (d == &sockbroker_v1_RecvReply_msg) {
		u.RecvReply.data.funcs.decode = sb__pb_decode_bytes;
		u.RecvReply.data.arg = &buf;
	} else if (d == &sockbroker_v1_PipeFrame_msg) {
		u.PipeFrame.data.funcs.decode = sb__pb_decode_bytes;
		u.PipeFrame.data.arg = &buf;
	} else if (d == &sockbroker_v1_GetAddrInfoReply_msg) {
		u.GetAddrInfoReply.results.funcs.decode = sb__dec_ai;
		u.GetAddrInfoReply.results.arg = &ai;
	} else if (d == &sockbroker_v1_GetIfAddrsReply_msg) {
		u.GetIfAddrsReply.interfaces.funcs.decode = sb__dec_ifa;
		u.GetIfAddrsReply.interfaces.arg = &ifa;
	}
	is = pb_istream_from_buffer(data + 2, size - 2);
	if (pb_decode(&is, d, &u)) {
		SB__ASSERT(buf.got <= buf.len && buf.got <= buf.total);
		sb__walk(d, &u, sel);
		sb__check_ai(ai.head);
		sb__check_ifa(ifa.head);
		if (d == &sockbroker_v1_GetAddrInfoReply_msg &&
		    sb__native(SB__C_EAI, u.GetAddrInfoReply.eai, &native) == 0)
			SB__ASSERT(sb__errno_to_native(u.GetAddrInfoReply.error) >= 0);
		pb_release(d, &u);
	}
	sb_freeaddrinfo(ai.head);
	sb_freeifaddrs(ifa.head);
	free(dst);
	return 0;
}
