/* SPDX-License-Identifier: MIT
 * ops_watch.c - WatchInterfaces: the current interface list, then link and
 * address changes as rtnetlink reports them (parsed with libmnl).
 *
 * Backpressure: the netlink socket is read only when the events of the
 * previous read have all been sent, one at a time; the kernel's queue holds
 * the rest (an overrun, ENOBUFS, is logged and the watch goes on).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "iflist.h"
#include "log.h"
#include "ops.h"
#include "reactor.h"

/* libmnl's attribute iterator does int arithmetic on lengths. */
#define SB__ATTR_FOR_EACH(at, nlh, off)                                   \
	_Pragma("GCC diagnostic push")                                    \
	_Pragma("GCC diagnostic ignored \"-Wconversion\"")                \
	mnl_attr_for_each(at, nlh, off)                                   \
	_Pragma("GCC diagnostic pop")

#define SB__WATCH_BUF 16384
#define SB__WATCH_MAX 512   /* events parsed from one read, at most */

struct sb__wev {
	SBPB(InterfaceEvent__Kind) kind;
	struct sb__ifaddr ifa;
};

/* A link the watch knows: address events name their link from here, as
 * the link may already be gone when the event is read. */
struct sb__wlink {
	unsigned idx;
	char name[IF_NAMESIZE];
	unsigned flags, mtu;   /* for the link's address events */
};

struct sb__watch {
	struct sb__call *c;
	struct mnl_socket *nl;
	struct sb__io io;            /* the netlink fd in the reactor */
	struct sb__wev *ev;          /* queue of events to send */
	size_t n_ev, next;
	struct sb__wlink *links;     /* links known to exist, with their names */
	size_t n_links;
	uint8_t buf[SB__WATCH_BUF];
};

static void sb__watch_free(void *p)
{
	struct sb__watch *st = p;

	if (st->nl)
		mnl_socket_close(st->nl);
	free(st->ev);
	free(st->links);
	free(st);
}

/* Look link @idx up; @add: record it (with @name when not NULL), @del:
 * forget it. Return: 1 when it was known. */
static int sb__watch_known(struct sb__watch *st, unsigned idx, const char *name,
			   int add, int del)
{
	struct sb__wlink *l;
	size_t i;

	for (i = 0; i < st->n_links; i++)
		if (st->links[i].idx == idx) {
			if (del)
				st->links[i] = st->links[--st->n_links];
			else if (name && name[0])
				snprintf(st->links[i].name, sizeof(st->links[i].name),
					 "%s", name);
			return 1;
		}
	if (add) {
		l = realloc(st->links, (st->n_links + 1) * sizeof(*l));
		if (l) {
			st->links = l;
			l[st->n_links].idx = idx;
			snprintf(l[st->n_links].name, sizeof(l[st->n_links].name), "%s",
				 name ? name : "");
			st->n_links++;
		}
	}
	return 0;
}

/* The name of link @idx as the watch knows it, else as the kernel does. */
static void sb__watch_name(struct sb__watch *st, unsigned idx, char *name)
{
	size_t i;

	for (i = 0; i < st->n_links; i++)
		if (st->links[i].idx == idx && st->links[i].name[0]) {
			memcpy(name, st->links[i].name, IF_NAMESIZE);
			return;
		}
	if (!if_indextoname(idx, name))
		name[0] = 0;
}

/* An address event carries its link's flags and MTU, as getifaddrs rows. */
static void sb__watch_link_info(struct sb__watch *st, struct sb__ifaddr *ifa)
{
	size_t i;

	for (i = 0; i < st->n_links; i++)
		if (st->links[i].idx == ifa->index) {
			ifa->flags = st->links[i].flags;
			ifa->mtu = st->links[i].mtu;
			return;
		}
}

static void sb__watch_link_set(struct sb__watch *st, const struct sb__ifaddr *ifa)
{
	size_t i;

	for (i = 0; i < st->n_links; i++)
		if (st->links[i].idx == ifa->index) {
			st->links[i].flags = ifa->flags;
			st->links[i].mtu = ifa->mtu;
			return;
		}
}

static struct sb__wev *sb__watch_push(struct sb__watch *st, SBPB(InterfaceEvent__Kind) k)
{
	struct sb__wev *e;

	if (st->n_ev == SB__WATCH_MAX)
		return NULL;
	e = &st->ev[st->n_ev++];
	memset(e, 0, sizeof(*e));
	e->kind = k;
	return e;
}

static void sb__set_ip(struct sb__addr *a, int family, const void *data,
		       unsigned ifindex)
{
	memset(a, 0, sizeof(*a));
	if (family == AF_INET) {
		a->kind = SB__ADDR_INET;
		memcpy(a->ip, data, 4);
	} else {
		a->kind = SB__ADDR_INET6;
		memcpy(a->ip, data, 16);
		if (IN6_IS_ADDR_LINKLOCAL((const struct in6_addr *)data) ||
		    IN6_IS_ADDR_MC_LINKLOCAL((const struct in6_addr *)data))
			a->scope_id = ifindex;
	}
}

static void sb__set_link(struct sb__addr *a, const struct ifinfomsg *ifi,
			 const void *hw, size_t len)
{
	memset(a, 0, sizeof(*a));
	a->kind = SB__ADDR_LINK;
	a->link_ifindex = ifi->ifi_index;
	a->link_hatype = ifi->ifi_type;
	a->name_len = len < SB__LINK_ADDR_MAX ? len : SB__LINK_ADDR_MAX;
	memcpy(a->name, hw, a->name_len);
}

static void sb__set_mask(struct sb__addr *a, int family, unsigned prefix)
{
	size_t i, n = family == AF_INET ? 4 : 16;

	memset(a, 0, sizeof(*a));
	a->kind = family == AF_INET ? SB__ADDR_INET : SB__ADDR_INET6;
	for (i = 0; i < n; i++) {
		unsigned bits = prefix > 8 ? 8 : prefix;

		a->ip[i] = (uint8_t)(0xff00u >> bits);
		prefix -= bits;
	}
}

static int sb__watch_link(const struct nlmsghdr *nlh, struct sb__watch *st)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *at;
	struct sb__wev *e;
	unsigned idx = (unsigned)ifi->ifi_index;
	int known;

	if (nlh->nlmsg_type == RTM_DELLINK) {
		e = sb__watch_push(st, SOCKBROKER__V1__INTERFACE_EVENT__KIND__LINK_REMOVED);
	} else {
		known = sb__watch_known(st, idx, NULL, 0, 0);
		e = sb__watch_push(st, known ? SOCKBROKER__V1__INTERFACE_EVENT__KIND__LINK_CHANGED
					     : SOCKBROKER__V1__INTERFACE_EVENT__KIND__LINK_ADDED);
	}
	if (!e) {
		sb__watch_known(st, idx, NULL, nlh->nlmsg_type != RTM_DELLINK,
				nlh->nlmsg_type == RTM_DELLINK);
		return MNL_CB_OK;
	}
	e->ifa.index = idx;
	e->ifa.flags = ifi->ifi_flags;
	SB__ATTR_FOR_EACH(at, nlh, sizeof(*ifi)) {
		size_t len = mnl_attr_get_payload_len(at);

		switch (mnl_attr_get_type(at)) {
		case IFLA_IFNAME:
			snprintf(e->ifa.name, sizeof(e->ifa.name), "%s",
				 mnl_attr_get_str(at));
			break;
		case IFLA_ADDRESS:
			if (len <= sizeof(e->ifa.hwaddr)) {
				memcpy(e->ifa.hwaddr, mnl_attr_get_payload(at), len);
				e->ifa.hwaddr_len = len;
			}
			/* As getifaddrs' AF_PACKET row of the link. */
			sb__set_link(&e->ifa.addr, ifi, mnl_attr_get_payload(at), len);
			break;
		case IFLA_BROADCAST:
			sb__set_link(&e->ifa.broadcast, ifi, mnl_attr_get_payload(at), len);
			break;
		case IFLA_MTU:
			if (len == 4)
				e->ifa.mtu = mnl_attr_get_u32(at);
			break;
		}
	}
	if (!e->ifa.name[0])
		sb__watch_name(st, idx, e->ifa.name);
	sb__watch_known(st, idx, e->ifa.name, nlh->nlmsg_type != RTM_DELLINK,
			nlh->nlmsg_type == RTM_DELLINK);
	sb__watch_link_set(st, &e->ifa);
	return MNL_CB_OK;
}

static int sb__watch_addr(const struct nlmsghdr *nlh, struct sb__watch *st)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *at;
	const void *local = NULL, *address = NULL, *brd = NULL;
	size_t alen = ifa->ifa_family == AF_INET ? 4 : 16;
	struct sb__wev *e;

	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return MNL_CB_OK;
	e = sb__watch_push(st, nlh->nlmsg_type == RTM_NEWADDR
			       ? SOCKBROKER__V1__INTERFACE_EVENT__KIND__ADDRESS_ADDED
			       : SOCKBROKER__V1__INTERFACE_EVENT__KIND__ADDRESS_REMOVED);
	if (!e)
		return MNL_CB_OK;
	e->ifa.index = ifa->ifa_index;
	sb__watch_name(st, ifa->ifa_index, e->ifa.name);
	sb__watch_link_info(st, &e->ifa);
	SB__ATTR_FOR_EACH(at, nlh, sizeof(*ifa)) {
		/* IPv4 addresses carry their label ("eth0:1"), which is
		 * what getifaddrs(3) names them by. */
		if (mnl_attr_get_type(at) == IFA_LABEL &&
		    mnl_attr_validate(at, MNL_TYPE_STRING) >= 0) {
			snprintf(e->ifa.name, sizeof(e->ifa.name), "%s",
				 mnl_attr_get_str(at));
			continue;
		}
		if (mnl_attr_get_payload_len(at) != alen)
			continue;
		switch (mnl_attr_get_type(at)) {
		case IFA_LOCAL:
			local = mnl_attr_get_payload(at);
			break;
		case IFA_ADDRESS:
			address = mnl_attr_get_payload(at);
			break;
		case IFA_BROADCAST:
			brd = mnl_attr_get_payload(at);
			break;
		}
	}
	/* IFA_LOCAL is the interface's own address; a different IFA_ADDRESS
	 * is the peer of a point-to-point link (rtnetlink(7)). */
	if (!local)
		local = address;
	if (local)
		sb__set_ip(&e->ifa.addr, ifa->ifa_family, local, ifa->ifa_index);
	if (address && local && memcmp(address, local, alen))
		sb__set_ip(&e->ifa.destination, ifa->ifa_family, address, ifa->ifa_index);
	if (brd)
		sb__set_ip(&e->ifa.broadcast, ifa->ifa_family, brd, ifa->ifa_index);
	sb__set_mask(&e->ifa.netmask, ifa->ifa_family, ifa->ifa_prefixlen);
	return MNL_CB_OK;
}

static int sb__watch_cb(const struct nlmsghdr *nlh, void *data)
{
	switch (nlh->nlmsg_type) {
	case RTM_NEWLINK:
	case RTM_DELLINK:
		return sb__watch_link(nlh, data);
	case RTM_NEWADDR:
	case RTM_DELADDR:
		return sb__watch_addr(nlh, data);
	default:
		return MNL_CB_OK;
	}
}

static void sb__watch_next(struct sb__watch *st);

static void sb__watch_sent(struct sb__call *c, int ok)
{
	if (!ok) {
		sb__call_fail(c, GRPC_STATUS_CANCELLED, ECANCELED, "cancelled");
		return;
	}
	sb__watch_next(c->ctx);
}

static int sb__watch_step(struct sb__waiter *w, enum sb__wake why)
{
	struct sb__watch *st = w->call->ctx;

	if (why == SB__WAKE_READY)
		sb__watch_next(st);
	else if (why == SB__WAKE_TIMEOUT)
		sb__call_fail(w->call, GRPC_STATUS_DEADLINE_EXCEEDED, ETIMEDOUT,
			      "the call's deadline passed");
	else
		sb__call_fail(w->call, GRPC_STATUS_CANCELLED, ECANCELED, "cancelled");
	return 1;
}

static void sb__watch_free_waiter(struct sb__waiter *w)
{
	free(w);
}

/* Send the next queued event, or read netlink, or wait for it. */
static void sb__watch_next(struct sb__watch *st)
{
	SBPB(InterfaceEvent) ev = SOCKBROKER__V1__INTERFACE_EVENT__INIT;
	SBPB(IfAddr) ifm;
	struct sb__pb_addr pa[4];
	struct sb__waiter *w;
	ssize_t n;

	while (st->next == st->n_ev) {
		st->n_ev = st->next = 0;
		n = mnl_socket_recvfrom(st->nl, st->buf, sizeof(st->buf));
		if (n < 0 && errno == EAGAIN)
			goto park;
		if (n < 0) {
			/* ENOBUFS: the kernel dropped events while we were slow. */
			sb__warn("WatchInterfaces: netlink: %s", strerror(errno));
			continue;
		}
		mnl_cb_run(st->buf, (size_t)n, 0, 0, sb__watch_cb, st);
	}
	ev.kind = st->ev[st->next].kind;
	sb__ifaddr_to_pb(&st->ev[st->next].ifa, &ifm, pa);
	ev.interface = &ifm;
	st->next++;
	if (sb__call_send(st->c, &ev.base, sb__watch_sent) < 0)
		sb__call_fail(st->c, GRPC_STATUS_CANCELLED, ECANCELED, "cancelled");
	return;
park:
	w = calloc(1, sizeof(*w));
	if (!w) {
		sb__call_fail(st->c, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM, "out of memory");
		return;
	}
	w->call = st->c;
	sb__call_ref(st->c);
	w->io = &st->io;
	w->events = EPOLLIN;
	w->deadline = sb__call_deadline_ms(st->c);
	w->step = sb__watch_step;
	w->destroy = sb__watch_free_waiter;
	sb__reactor_park(w);
}

void sb__h_watch_interfaces(struct sb__call *c, void *req)
{
	struct sb__watch *st = calloc(1, sizeof(*st));
	struct sb__ifaddr *ifs = NULL;
	size_t n = 0, i;
	int ret;

	(void)req;
	if (sb__op_allowed(c, SB__POL_WATCH, NULL, NULL) < 0) {
		free(st);
		return;
	}
	if (!st)
		goto nomem;
	st->c = c;
	c->ctx = st;
	c->ctx_free = sb__watch_free;
	st->ev = calloc(SB__WATCH_MAX, sizeof(*st->ev));
	if (!st->ev)
		goto nomem;
	/* Subscribe before the snapshot, so no change falls between them. */
	st->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!st->nl || mnl_socket_bind(st->nl, RTMGRP_LINK | RTMGRP_IPV4_IFADDR |
				       RTMGRP_IPV6_IFADDR, MNL_SOCKET_AUTOPID) < 0) {
		sb__call_fail(c, GRPC_STATUS_UNAVAILABLE, errno,
			      "cannot open a netlink socket: %s", strerror(errno));
		return;
	}
	st->io.fd = mnl_socket_get_fd(st->nl);
	ret = sb__ifaddrs_get(&ifs, &n);
	if (ret < 0) {
		sb__call_fail(c, GRPC_STATUS_UNAVAILABLE, -ret, "getifaddrs failed");
		return;
	}
	/* The snapshot: every row, then SNAPSHOT_DONE, through the queue. */
	for (i = 0; i < n && i + 1 < SB__WATCH_MAX; i++) {
		st->ev[i].kind = SOCKBROKER__V1__INTERFACE_EVENT__KIND__SNAPSHOT;
		st->ev[i].ifa = ifs[i];
		sb__watch_known(st, ifs[i].index, ifs[i].name, 1, 0);
		sb__watch_link_set(st, &ifs[i]);
	}
	st->ev[i].kind = SOCKBROKER__V1__INTERFACE_EVENT__KIND__SNAPSHOT_DONE;
	st->n_ev = i + 1;
	free(ifs);
	sb__watch_next(st);
	return;
nomem:
	sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM, "out of memory");
}
