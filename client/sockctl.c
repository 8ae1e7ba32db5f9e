/* SPDX-License-Identifier: MIT
 * sockctl.c - the control calls of a socket: shutdown, close, names, peer
 * credentials, blocking mode and poll.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pb_decode.h>
#include <pb_encode.h>

#include "call.h"
#include "wire.h"


int sb_shutdown(sb_client *c, int s, int how)
{
	sockbroker_v1_ShutdownRequest req = sockbroker_v1_ShutdownRequest_init_zero;
	sockbroker_v1_ShutdownReply rep = sockbroker_v1_ShutdownReply_init_zero;
	struct sb__slot sl;
	uint32_t ph;

	if (sb__lookup(c, s, &sl) < 0)
		return -1;
	if (sb__portable(SB__C_SHUT, how, &ph) < 0)
		return sb__fail(EINVAL, "shutdown: bad how %d", how);
	req.handle = sl.handle;
	req.how = (sockbroker_v1_ShutdownHow)ph;
	if (SB__CALL(c, Shutdown, req, rep, -1) < 0)
		return -1;
	return sb__reply(rep.error);
}

void sb__handle_drop(sb_client *c, uint64_t handle)
{
	sockbroker_v1_CloseRequest req = { .handle = handle };
	sockbroker_v1_CloseReply rep = sockbroker_v1_CloseReply_init_zero;
	int saved = errno;

	SB__CALL(c, Close, req, rep, -1);
	errno = saved;
}

int sb_close(sb_client *c, int s)
{
	sockbroker_v1_CloseRequest req = sockbroker_v1_CloseRequest_init_zero;
	sockbroker_v1_CloseReply rep = sockbroker_v1_CloseReply_init_zero;
	struct sb__slot sl;
	int rc;

	if (sb__lookup(c, s, &sl) < 0)
		return -1;
	req.handle = sl.handle;
	rc = SB__CALL(c, Close, req, rep, -1);
	/* As close(2): the number is gone unless the broker did not know the
	 * handle at all (then it was gone already). */
	sb__slot_release(c, s, sl.handle);
	if (rc < 0)
		return -1;
	return sb__reply(rep.error);
}

typedef int (*sb__name_call)(sb_client *, uint64_t, sockbroker_v1_Address *, bool *);

static int sb__sockname_call(sb_client *c, uint64_t h, sockbroker_v1_Address *a,
			     bool *has)
{
	sockbroker_v1_GetSockNameRequest req = { .handle = h };
	sockbroker_v1_GetSockNameReply rep = sockbroker_v1_GetSockNameReply_init_zero;

	if (SB__CALL(c, GetSockName, req, rep, -1) < 0 || sb__reply(rep.error) < 0)
		return -1;
	*a = rep.address;
	*has = rep.has_address;
	return 0;
}

static int sb__peername_call(sb_client *c, uint64_t h, sockbroker_v1_Address *a,
			     bool *has)
{
	sockbroker_v1_GetPeerNameRequest req = { .handle = h };
	sockbroker_v1_GetPeerNameReply rep = sockbroker_v1_GetPeerNameReply_init_zero;

	if (SB__CALL(c, GetPeerName, req, rep, -1) < 0 || sb__reply(rep.error) < 0)
		return -1;
	*a = rep.address;
	*has = rep.has_address;
	return 0;
}

static int sb__getname(sb_client *c, int s, struct sockaddr *addr,
		       socklen_t *len, sb__name_call fn)
{
	sockbroker_v1_Address a;
	struct sb__slot sl;
	bool has = false;
	int rc;

	if (sb__lookup(c, s, &sl) < 0)
		return -1;
	if (!len || (!addr && *len))
		return sb__fail(EFAULT, "address buffer is NULL");
	if (fn(c, sl.handle, &a, &has) < 0)
		return -1;
	rc = sb__pb_copy_name(&a, has, addr, len);
	if (rc < 0)
		return sb__fail(EPROTO, "malformed address from the broker");
	return 0;
}

int sb_getsockname(sb_client *c, int s, struct sockaddr *addr, socklen_t *len)
{
	return sb__getname(c, s, addr, len, sb__sockname_call);
}

int sb_getpeername(sb_client *c, int s, struct sockaddr *addr, socklen_t *len)
{
	return sb__getname(c, s, addr, len, sb__peername_call);
}

int sb_getpeercred(sb_client *c, int s, struct ucred *cred)
{
	sockbroker_v1_GetPeerCredRequest req = sockbroker_v1_GetPeerCredRequest_init_zero;
	sockbroker_v1_GetPeerCredReply rep = sockbroker_v1_GetPeerCredReply_init_zero;
	struct sb__slot sl;

	if (sb__lookup(c, s, &sl) < 0)
		return -1;
	if (!cred)
		return sb__fail(EFAULT, "cred is NULL");
	req.handle = sl.handle;
	if (SB__CALL(c, GetPeerCred, req, rep, -1) < 0 || sb__reply(rep.error) < 0)
		return -1;
	cred->pid = (pid_t)rep.pid;
	cred->uid = (uid_t)rep.uid;
	cred->gid = (gid_t)rep.gid;
	return 0;
}

int sb_set_nonblock(sb_client *c, int s, int on)
{
	sockbroker_v1_SetNonBlockingRequest req = sockbroker_v1_SetNonBlockingRequest_init_zero;
	sockbroker_v1_SetNonBlockingReply rep = sockbroker_v1_SetNonBlockingReply_init_zero;
	struct sb__slot sl;

	if (sb__lookup(c, s, &sl) < 0)
		return -1;
	req.handle = sl.handle;
	req.nonblock = on != 0;
	if (SB__CALL(c, SetNonBlocking, req, rep, -1) < 0 || sb__reply(rep.error) < 0)
		return -1;
	sb__slot_set_nonblock(c, s, on != 0);
	return 0;
}

/* The items of one poll: what is sent, and where each answer goes. */
struct sb__poll_items {
	sockbroker_v1_PollItem *items;
	size_t n;      /* items sent */
	size_t got;    /* items decoded */
};

static bool sb__enc_items(pb_ostream_t *s, const pb_field_t *f, void *const *arg)
{
	const struct sb__poll_items *p = *arg;
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!pb_encode_tag_for_field(s, f) ||
		    !pb_encode_submessage(s, sockbroker_v1_PollItem_fields, &p->items[i]))
			return false;
	return true;
}

static bool sb__dec_item(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	struct sb__poll_items *p = *arg;
	sockbroker_v1_PollItem it = sockbroker_v1_PollItem_init_zero;

	(void)f;
	if (!pb_decode(s, sockbroker_v1_PollItem_fields, &it))
		return false;
	if (p->got >= p->n)
		return false;
	p->items[p->got++].revents = it.revents;
	return true;
}

/* poll with nothing to watch: sleep, as poll(2) does. */
static int sb__poll_sleep(int timeout_ms)
{
	struct timespec ts = { timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L };

	if (timeout_ms < 0)
		return sb__fail(EINVAL, "poll: nothing to wait for, and no timeout");
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
	return 0;
}

int sb_poll(sb_client *c, struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
	sockbroker_v1_PollRequest req = sockbroker_v1_PollRequest_init_zero;
	sockbroker_v1_PollReply rep = sockbroker_v1_PollReply_init_zero;
	struct sb__poll_items p = { 0 };
	size_t *which = NULL;
	nfds_t i;
	int ready = 0, rc = -1;

	if (!c)
		return sb__fail(EINVAL, "no client");
	if (nfds > SB__POLL_MAX)
		return sb__fail(EINVAL, "poll: %lu entries, at most %d",
				(unsigned long)nfds, SB__POLL_MAX);
	if (nfds && !fds)
		return sb__fail(EFAULT, "fds is NULL");
	p.items = calloc(nfds ? nfds : 1, sizeof(*p.items));
	which = calloc(nfds ? nfds : 1, sizeof(*which));
	if (!p.items || !which) {
		sb__fail(ENOMEM, "poll: out of memory");
		goto out;
	}
	for (i = 0; i < nfds; i++) {
		struct sb__slot sl;
		uint32_t ev;

		fds[i].revents = 0;
		if (fds[i].fd < 0)
			continue;
		if (sb__slot_get(c, fds[i].fd, &sl) < 0) {
			fds[i].revents = POLLNVAL;
			ready++;
			continue;
		}
		if (sb__flags_to_portable(SB__C_POLL, fds[i].events, &ev) < 0) {
			sb__fail(EINVAL, "poll: unsupported events 0x%x",
				 (unsigned)fds[i].events);
			goto out;
		}
		p.items[p.n].handle = sl.handle;
		p.items[p.n].events = ev;
		which[p.n++] = i;
	}
	if (!p.n) {
		rc = ready ? ready : sb__poll_sleep(timeout_ms);
		goto out;
	}
	req.items.funcs.encode = sb__enc_items;
	req.items.arg = &p;
	req.timeout_ms = ready ? 0 : (timeout_ms < 0 ? -1 : timeout_ms);
	rep.items.funcs.decode = sb__dec_item;
	rep.items.arg = &p;
	if (SB__CALL(c, Poll, req, rep, -1) < 0 || sb__reply(rep.error) < 0)
		goto out;
	for (i = 0; i < p.got; i++) {
		int native = 0;

		if (sb__flags_to_native(SB__C_POLL, p.items[i].revents, &native) < 0)
			native = POLLERR;
		fds[which[i]].revents = (short)native;
		if (native)
			ready++;
	}
	rc = ready;
out:
	free(p.items);
	free(which);
	return rc;
}
