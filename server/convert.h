/* SPDX-License-Identifier: MIT
 * convert.h - protobuf-c messages <-> the plain data of lib/: addresses.
 * Every field that came over the wire is checked here before use.
 */
#ifndef SB_SERVER_CONVERT_H
#define SB_SERVER_CONVERT_H

#include "addr.h"
#include "cmsg.h"
#include "iflist.h"
#include "sockbroker/v1/sockbroker.pb-c.h"

/* Short names for the generated types. */
#define SBPB(x) Sockbroker__V1__##x

/* Storage for one Address message and its parts, so that replies need no
 * allocation: sb__addr_to_pb() points the message into it. */
struct sb__pb_addr {
	SBPB(Address) a;
	SBPB(Inet4Address) in4;
	SBPB(Inet6Address) in6;
	SBPB(UnixAddress) un;
	SBPB(LinkAddress) ll;
	struct sb__addr copy;	/* the bytes the message points at */
};

/**
 * sb__addr_from_pb() - check and read an Address message
 * @m: may be NULL (gives SB__ADDR_NONE)
 * Return: 0, or -EINVAL with @why set to a static explanation.
 */
int sb__addr_from_pb(const SBPB(Address) *m, struct sb__addr *out,
		     const char **why);

/**
 * sb__addr_to_pb() - make an Address message in @st from @a
 * Return: &st->a, or NULL for SB__ADDR_NONE (leave the field unset).
 */
SBPB(Address) *sb__addr_to_pb(const struct sb__addr *a, struct sb__pb_addr *st);

/* Storage for one ControlMessage and its parts (see sb__pb_addr). */
struct sb__pb_cmsg {
	SBPB(ControlMessage) m;
	SBPB(InPktinfo) in4;
	SBPB(In6Pktinfo) in6;
	SBPB(CmsgTime) t;
	SBPB(ExtendedErr) ee;
	SBPB(Credentials) cr;
	struct sb__pb_addr off;
	struct sb__cmsg copy;	/* the bytes the message points at */
};

/**
 * sb__cmsg_to_pb() - make a ControlMessage in @st from @cm
 * Return: &st->m.
 */
SBPB(ControlMessage) *sb__cmsg_to_pb(const struct sb__cmsg *cm, struct sb__pb_cmsg *st);

/**
 * sb__cmsg_from_pb() - a ControlMessage to send as typed data, its sizes
 * checked; @why says what is wrong. Return: 0 or -EINVAL (also for the
 * kinds that only come with a reception).
 */
int sb__cmsg_from_pb(const SBPB(ControlMessage) *pb, struct sb__cmsg *cm, const char **why);

/**
 * sb__ifaddr_to_pb() - make an IfAddr message in @m from @ifa
 * @st: storage for its four addresses; @m points into @ifa and @st
 */
void sb__ifaddr_to_pb(const struct sb__ifaddr *ifa, SBPB(IfAddr) *m,
		      struct sb__pb_addr st[4]);

#endif /* SB_SERVER_CONVERT_H */
