/* SPDX-License-Identifier: MIT
 * call.h - shorthands for the client's call sites: one session RPC by name,
 * and the POSIX result of a reply's error field.
 */
#ifndef SB_CLIENT_CALL_H
#define SB_CLIENT_CALL_H

#include <errno.h>

#include "consts.h"
#include "internal.h"

#define SB__M(name) "/sockbroker.v1.SocketBroker/" #name
/* One call with a session: Name's request and reply types by convention. */
#define SB__CALL(c, Name, req, rep, tmo)                                      \
	sb__unary((c), SB__M(Name), SB__SESSION, &sockbroker_v1_##Name##Request_msg, \
		  &(req), &sockbroker_v1_##Name##Reply_msg, &(rep), (tmo))
/* One call without a session (names, interfaces). */
#define SB__CALL_NS(c, Name, Reply, req, rep)                                  \
	sb__unary((c), SB__M(Name), SB__NO_SESSION, &sockbroker_v1_##Name##Request_msg, \
		  &(req), &sockbroker_v1_##Reply##_msg, &(rep), -1)

/* A reply's `error` field: 0, or -1 with errno set. */
static inline int sb__reply(uint32_t portable)
{
	if (!portable)
		return 0;
	sb__set_error("");
	errno = sb__errno_to_native(portable);
	return -1;
}

/* -1 with errno from a negative errno. */
static inline int sb__err(int rc)
{
	errno = -rc;
	return -1;
}

/* The slot of socket number @s, or -1 with EBADF (or EINVAL: no client). */
static inline int sb__lookup(sb_client *c, int s, struct sb__slot *slot)
{
	if (!c)
		return sb__fail(EINVAL, "no client");
	if (sb__slot_get(c, s, slot) < 0)
		return sb__fail(EBADF, "%d is not an open socket of this client", s);
	return 0;
}

#endif /* SB_CLIENT_CALL_H */
