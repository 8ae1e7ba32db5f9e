/* SPDX-License-Identifier: MIT
 * it_policy_privileged.c - the broker lends neither its privileges nor
 * its memory (server/policy.h rule 6, the raw table of ops_sockopt.c).
 *
 * The broker (root, so with CAP_NET_ADMIN and CAP_NET_RAW) serves uid
 * 65534 by three rules, chosen by the caller's gid:
 *   named   gid 65533: allows everything and names every privileged
 *           option of the table below, raw/packet/netlink, all ports;
 *   plain   gid 65534: allows everything, names nothing;
 *   sender  gid 65532: socket, setsockopt, sendto 127.0.0.1, bind
 *           127.0.0.1 only.
 * The test re-executes itself once per gid, dropping to uid 65534 before
 * its first gRPC call, and talks raw gRPC to assert statuses exactly:
 *  - every entry of the privileged-option table (SO_RCVBUFFORCE 1 GiB,
 *    SO_PRIORITY 7, TCP_REPAIR, IP_UNICAST_IF...) is PERMISSION_DENIED
 *    (errno EACCES) under "plain" and not under "named"; under "plain"
 *    SO_RCVBUF reads back unchanged after SO_RCVBUFFORCE was refused, and
 *    SO_PRIORITY 6 (unprivileged) is allowed;
 *  - bind to 127.0.0.1 below ip_unprivileged_port_start, raw sockets,
 *    packet and netlink sockets, and a SocketPair of type raw, likewise;
 *  - SetSockOpt raw values that may hold a pointer or an fd number
 *    (SO_ATTACH_FILTER with a sock_fprog aimed at broker memory,
 *    SO_ATTACH_BPF, SO_ATTACH_REUSEPORT_*, an option of no table) are
 *    INVALID_ARGUMENT / EINVAL naming the option, under both rules; no
 *    filter is attached after (SO_GET_FILTER reads 0 instructions), and
 *    GetSockOpt of an option of no table (IPT_SO_GET_INFO) is ENOPROTOOPT;
 *  - under "sender", Send from source 127.0.0.2 and Send with an ifindex
 *    are PERMISSION_DENIED and the native receiver gets nothing from them;
 *    the same datagram from source 127.0.0.1 arrives, from 127.0.0.1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define NOBODY IT_NOBODY
#define GID_NAMED 65533
#define GID_PLAIN 65534
#define GID_SENDER 65532

#define PORTABLE_EACCES 13
#define PORTABLE_EINVAL 22
#define PORTABLE_ENOPROTOOPT 92

#define VALUE(x) SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_##x

static grpc_channel *ch;
static struct it_session sess;

/* One privileged option: what sets it, on what socket. */
struct priv {
	const char *what;
	int family, type, level, name;
	int vcase;            /* VALUE(INT_VALUE), VALUE(RAW), VALUE(TEXT)... */
	int64_t ival;
	const void *raw;
	size_t rawlen;
};

static const uint8_t ip_nops[4] = { 1, 1, 1, 1 };
static const uint8_t ext_hdr[8] = { 0, 0, 1, 4, 0, 0, 0, 0 };  /* PadN */
static const uint8_t rthdr[8] = { 0, 0, 2, 0, 0, 0, 0, 0 };
static struct in6_pktinfo pktinfo6;
static struct sock_txtime txtime = { .clockid = CLOCK_TAI };
static int one = 1, big = 1000;
static struct tcp_repair_window rwin;
static uint8_t repair_opts[8];

#define INT(w, f, t, l, n, v) { w, f, t, l, n, VALUE(INT_VALUE), v, NULL, 0 }
#define RAW(w, f, t, l, n, p) { w, f, t, l, n, VALUE(RAW), 0, p, sizeof(*(p)) }

/* Every entry of policy.c's sb__named_opts the contract can carry. */
static const struct priv privs[] = {
	INT("SO_DEBUG 1", AF_INET, SOCK_STREAM, SOL_SOCKET, SO_DEBUG, 1),
	INT("SO_SNDBUFFORCE 1 GiB", AF_INET, SOCK_STREAM, SOL_SOCKET, SO_SNDBUFFORCE, 1 << 30),
	INT("SO_RCVBUFFORCE 1 GiB", AF_INET, SOCK_STREAM, SOL_SOCKET, SO_RCVBUFFORCE, 1 << 30),
	INT("SO_PRIORITY 7", AF_INET, SOCK_STREAM, SOL_SOCKET, SO_PRIORITY, 7),
	INT("SO_MARK 1", AF_INET, SOCK_STREAM, SOL_SOCKET, SO_MARK, 1),
	{ "SO_BINDTODEVICE lo", AF_INET, SOCK_STREAM, SOL_SOCKET, SO_BINDTODEVICE,
	  VALUE(TEXT), 0, "lo", 2 },
	INT("SO_BINDTOIFINDEX 1", AF_INET, SOCK_STREAM, SOL_SOCKET, SO_BINDTOIFINDEX, 1),
	INT("SO_BUSY_POLL 100", AF_INET, SOCK_STREAM, SOL_SOCKET, SO_BUSY_POLL, 100),
	RAW("SO_PREFER_BUSY_POLL 1", AF_INET, SOCK_STREAM, SOL_SOCKET, SO_PREFER_BUSY_POLL,
	    &one),
	RAW("SO_BUSY_POLL_BUDGET 1000", AF_INET, SOCK_STREAM, SOL_SOCKET, SO_BUSY_POLL_BUDGET,
	    &big),
	RAW("SO_TXTIME CLOCK_TAI", AF_INET, SOCK_DGRAM, SOL_SOCKET, SO_TXTIME, &txtime),
	INT("SO_REUSEPORT 1", AF_INET, SOCK_STREAM, SOL_SOCKET, SO_REUSEPORT, 1),
	INT("IP_TRANSPARENT 1", AF_INET, SOCK_STREAM, IPPROTO_IP, IP_TRANSPARENT, 1),
	INT("IP_FREEBIND 1", AF_INET, SOCK_STREAM, IPPROTO_IP, IP_FREEBIND, 1),
	RAW("IP_OPTIONS NOPs", AF_INET, SOCK_STREAM, IPPROTO_IP, IP_OPTIONS, &ip_nops),
	INT("IP_UNICAST_IF 1", AF_INET, SOCK_DGRAM, IPPROTO_IP, IP_UNICAST_IF, 0x01000000),
	{ "IP_MULTICAST_IF ifindex 1", AF_INET, SOCK_DGRAM, IPPROTO_IP, IP_MULTICAST_IF,
	  VALUE(IP_MREQ), 1, NULL, 0 },
	INT("IPV6_TRANSPARENT 1", AF_INET6, SOCK_STREAM, IPPROTO_IPV6, IPV6_TRANSPARENT, 1),
	INT("IPV6_FREEBIND 1", AF_INET6, SOCK_STREAM, IPPROTO_IPV6, IPV6_FREEBIND, 1),
	INT("IPV6_UNICAST_IF 1", AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_UNICAST_IF, 1),
	INT("IPV6_MULTICAST_IF 1", AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_MULTICAST_IF, 1),
	RAW("IPV6_PKTINFO ::1 on 1", AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_PKTINFO,
	    &pktinfo6),
	RAW("IPV6_HOPOPTS", AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_HOPOPTS, &ext_hdr),
	RAW("IPV6_DSTOPTS", AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_DSTOPTS, &ext_hdr),
	RAW("IPV6_RTHDRDSTOPTS", AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_RTHDRDSTOPTS,
	    &ext_hdr),
	RAW("IPV6_RTHDR", AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_RTHDR, &rthdr),
	{ "IPV6_JOIN_ANYCAST", AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_JOIN_ANYCAST,
	  VALUE(IPV6_MREQ), 1, NULL, 0 },
	INT("TCP_REPAIR 1", AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_REPAIR, 1),
	RAW("TCP_REPAIR_QUEUE", AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_REPAIR_QUEUE, &one),
	RAW("TCP_QUEUE_SEQ", AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_QUEUE_SEQ, &one),
	RAW("TCP_REPAIR_OPTIONS", AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_REPAIR_OPTIONS,
	    &repair_opts),
	RAW("TCP_REPAIR_WINDOW", AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_REPAIR_WINDOW, &rwin),
	{ "TCP_CONGESTION reno", AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_CONGESTION,
	  VALUE(TEXT), 0, "reno", 4 },
	{ "TCP_ULP tls", AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_ULP, VALUE(TEXT), 0, "tls", 3 },
};

static const char *const named_opts =
	"SO_DEBUG, SO_SNDBUFFORCE, SO_RCVBUFFORCE, SO_PRIORITY, SO_MARK, SO_BINDTODEVICE, "
	"SO_BINDTOIFINDEX, SO_BUSY_POLL, SO_TXTIME, SO_REUSEPORT, IP_TRANSPARENT, "
	"IP_FREEBIND, IP_OPTIONS, IP_UNICAST_IF, IP_MULTICAST_IF, IPV6_TRANSPARENT, "
	"IPV6_FREEBIND, IPV6_UNICAST_IF, IPV6_MULTICAST_IF, IPV6_PKTINFO, IPV6_HOPOPTS, "
	"IPV6_DSTOPTS, IPV6_RTHDRDSTOPTS, IPV6_RTHDR, IPV6_JOIN_ANYCAST, TCP_REPAIR, "
	"TCP_CONGESTION, TCP_ULP";

/* ---- raw calls (the child) ---- */

static int call(const char *method, const ProtobufCMessage *m, struct it_reply *r)
{
	memset(r, 0, sizeof(*r));
	return it_call(ch, method, m, sess.token, 5000, r);
}

static uint64_t new_socket(int family, int type)
{
	Sockbroker__V1__SocketRequest req = SOCKBROKER__V1__SOCKET_REQUEST__INIT;
	Sockbroker__V1__SocketReply *rep = NULL;
	struct it_reply r;
	uint64_t h = 0;

	req.family = (Sockbroker__V1__AddressFamily)family;
	req.type = (Sockbroker__V1__SocketType)type;
	if (call(IT_SVC "Socket", &req.base, &r) == 0 && r.status == GRPC_STATUS_OK)
		rep = sockbroker__v1__socket_reply__unpack(NULL, r.len, r.data);
	if (rep && !rep->error)
		h = rep->handle;
	if (rep)
		sockbroker__v1__socket_reply__free_unpacked(rep, NULL);
	it_reply_free(&r);
	return h;
}

/* SetSockOpt: the status; *@err gets the reply's errno when OK. */
static grpc_status_code setopt(uint64_t h, const struct priv *p, int *err, char *msg,
			       size_t msglen)
{
	Sockbroker__V1__SetSockOptRequest req = SOCKBROKER__V1__SET_SOCK_OPT_REQUEST__INIT;
	Sockbroker__V1__SockOptValue v = SOCKBROKER__V1__SOCK_OPT_VALUE__INIT;
	Sockbroker__V1__IpMreq m4 = SOCKBROKER__V1__IP_MREQ__INIT;
	Sockbroker__V1__Ipv6Mreq m6 = SOCKBROKER__V1__IPV6_MREQ__INIT;
	Sockbroker__V1__SetSockOptReply *rep;
	static uint8_t any6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	char text[32];
	struct it_reply r;
	grpc_status_code st;

	req.handle = h;
	req.level = (Sockbroker__V1__OptionLevel)p->level;
	req.name = p->name;
	req.value = &v;
	v.value_case = (Sockbroker__V1__SockOptValue__ValueCase)p->vcase;
	switch (p->vcase) {
	case VALUE(INT_VALUE):
		v.int_value = p->ival;
		break;
	case VALUE(TEXT):
		snprintf(text, sizeof(text), "%.*s", (int)p->rawlen, (const char *)p->raw);
		v.text = text;
		break;
	case VALUE(IP_MREQ):
		m4.ifindex = (int32_t)p->ival;
		v.ip_mreq = &m4;
		break;
	case VALUE(IPV6_MREQ):
		m6.multiaddr.data = any6;
		m6.multiaddr.len = 16;
		m6.ifindex = (int32_t)p->ival;
		v.ipv6_mreq = &m6;
		break;
	default:
		v.raw.data = (uint8_t *)p->raw;
		v.raw.len = p->rawlen;
		break;
	}
	*err = -1;
	if (call(IT_SVC "SetSockOpt", &req.base, &r) < 0) {
		it_reply_free(&r);
		return GRPC_STATUS_DEADLINE_EXCEEDED;
	}
	st = r.status;
	if (msg)
		snprintf(msg, msglen, "%s", r.details);
	if (st == GRPC_STATUS_OK) {
		rep = sockbroker__v1__set_sock_opt_reply__unpack(NULL, r.len, r.data);
		*err = rep ? (int)rep->error : -1;
		if (rep)
			sockbroker__v1__set_sock_opt_reply__free_unpacked(rep, NULL);
	} else {
		*err = r.sb_errno;
	}
	it_reply_free(&r);
	return st;
}

/* GetSockOpt of an int (or raw) option: the reply, or NULL. */
static Sockbroker__V1__GetSockOptReply *getopt_reply(uint64_t h, int level, int name)
{
	Sockbroker__V1__GetSockOptRequest req = SOCKBROKER__V1__GET_SOCK_OPT_REQUEST__INIT;
	Sockbroker__V1__GetSockOptReply *rep = NULL;
	struct it_reply r;

	req.handle = h;
	req.level = (Sockbroker__V1__OptionLevel)level;
	req.name = name;
	req.max_bytes = 64;
	if (call(IT_SVC "GetSockOpt", &req.base, &r) == 0 && r.status == GRPC_STATUS_OK)
		rep = sockbroker__v1__get_sock_opt_reply__unpack(NULL, r.len, r.data);
	it_reply_free(&r);
	return rep;
}

static int64_t getopt_int(uint64_t h, int level, int name)
{
	Sockbroker__V1__GetSockOptReply *rep = getopt_reply(h, level, name);
	int64_t v = -1;

	if (rep && !rep->error && rep->value &&
	    rep->value->value_case == VALUE(INT_VALUE))
		v = rep->value->int_value;
	if (rep)
		sockbroker__v1__get_sock_opt_reply__free_unpacked(rep, NULL);
	return v;
}

static void set_addr4(Sockbroker__V1__Address *a, Sockbroker__V1__Inet4Address *in,
		      uint8_t ip[4], const char *s, uint32_t port)
{
	inet_pton(AF_INET, s, ip);
	in->addr.data = ip;
	in->addr.len = 4;
	in->port = port;
	a->kind_case = SOCKBROKER__V1__ADDRESS__KIND_INET;
	a->inet = in;
}

static grpc_status_code bind4(uint64_t h, const char *ip, uint32_t port)
{
	Sockbroker__V1__BindRequest req = SOCKBROKER__V1__BIND_REQUEST__INIT;
	Sockbroker__V1__Address a = SOCKBROKER__V1__ADDRESS__INIT;
	Sockbroker__V1__Inet4Address in = SOCKBROKER__V1__INET4_ADDRESS__INIT;
	struct it_reply r;
	grpc_status_code st;
	uint8_t b[4];

	set_addr4(&a, &in, b, ip, port);
	req.handle = h;
	req.address = &a;
	st = call(IT_SVC "Bind", &req.base, &r) == 0 ? r.status : GRPC_STATUS_DEADLINE_EXCEEDED;
	it_reply_free(&r);
	return st;
}

static grpc_status_code socket_status(const char *method, int family, int type)
{
	Sockbroker__V1__SocketRequest req = SOCKBROKER__V1__SOCKET_REQUEST__INIT;
	Sockbroker__V1__SocketPairRequest preq = SOCKBROKER__V1__SOCKET_PAIR_REQUEST__INIT;
	struct it_reply r;
	grpc_status_code st;
	int pair = !strcmp(method, "SocketPair");

	req.family = preq.family = (Sockbroker__V1__AddressFamily)family;
	req.type = preq.type = (Sockbroker__V1__SocketType)type;
	st = call(pair ? IT_SVC "SocketPair" : IT_SVC "Socket",
		  pair ? &preq.base : &req.base, &r) == 0
		? r.status : GRPC_STATUS_DEADLINE_EXCEEDED;
	it_reply_free(&r);
	return st;
}

/* ---- the "plain" and "named" children ---- */

/* Is the option one a policy can name (its name is in the option enum)? */
static int nameable(const struct priv *p)
{
	char opt[32];

	snprintf(opt, sizeof(opt), "%.*s", (int)strcspn(p->what, " "), p->what);
	return strstr(named_opts, opt) != NULL;
}

static void walk_privileged(int named)
{
	const char *rule = named ? "named" : "plain";
	char msg[512];
	size_t i;
	int err;

	for (i = 0; i < sizeof(privs) / sizeof(privs[0]); i++) {
		const struct priv *p = &privs[i];
		uint64_t h = new_socket(p->family, p->type);
		grpc_status_code st;

		if (!CHECK(h != 0, "%s: socket for %s", rule, p->what))
			continue;
		st = setopt(h, p, &err, msg, sizeof(msg));
		if (named && !nameable(p))	/* no enum name: no rule can name it */
			CHECK(st == GRPC_STATUS_PERMISSION_DENIED, "named: %s: %s (%s), want "
			      "PERMISSION_DENIED", p->what, it_status_name(st), msg);
		else if (named)
			CHECK(st == GRPC_STATUS_OK, "named: %s: %s (%s), want OK (the kernel "
			      "answers, errno %d)", p->what, it_status_name(st), msg, err);
		else
			CHECK(st == GRPC_STATUS_PERMISSION_DENIED && err == PORTABLE_EACCES &&
			      strstr(msg, "plain") == NULL,
			      "plain: %s: %s errno %d (%s), want PERMISSION_DENIED EACCES",
			      p->what, it_status_name(st), err, msg);
		if (p->level == SOL_SOCKET && p->name == SO_RCVBUFFORCE) {
			int64_t v = getopt_int(h, SOL_SOCKET, SO_RCVBUF);

			CHECK(named ? v == 2147483646 : (v > 0 && v < (1 << 30)),
			      "%s: SO_RCVBUF after SO_RCVBUFFORCE 1 GiB reads %lld", rule,
			      (long long)v);
		}
	}
}

/* Sockets, ports and SocketPair the kernel keeps for the privileged. */
static void walk_sockets(int named)
{
	grpc_status_code want = named ? GRPC_STATUS_OK : GRPC_STATUS_PERMISSION_DENIED;
	const char *rule = named ? "named" : "plain";
	static const struct { const char *m; int f, t; } s[] = {
		{ "Socket", AF_INET, SOCK_RAW },  { "Socket", AF_INET6, SOCK_RAW },
		{ "Socket", AF_PACKET, SOCK_DGRAM }, { "Socket", AF_NETLINK, SOCK_DGRAM },
		{ "SocketPair", AF_UNIX, SOCK_RAW },
	};
	uint64_t h;
	size_t i;

	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++) {
		grpc_status_code st = socket_status(s[i].m, s[i].f, s[i].t);

		CHECK(st == want, "%s: %s family %d type %d: %s, want %s", rule, s[i].m,
		      s[i].f, s[i].t, it_status_name(st), it_status_name(want));
	}
	h = new_socket(AF_INET, SOCK_STREAM);
	if (CHECK(h != 0, "%s: TCP socket", rule)) {
		grpc_status_code st = bind4(h, "127.0.0.1", 80);

		CHECK(st == want, "%s: bind 127.0.0.1:80: %s, want %s", rule,
		      it_status_name(st), it_status_name(want));
	}
	h = new_socket(AF_INET, SOCK_STREAM);
	if (CHECK(h != 0, "%s: TCP socket", rule)) {
		grpc_status_code st = bind4(h, "127.0.0.1", 0);

		CHECK(st == GRPC_STATUS_OK, "%s: bind 127.0.0.1:0: %s", rule, it_status_name(st));
	}
}

/* Values that are allowed to anyone stay allowed. */
static void walk_unprivileged(void)
{
	struct priv p6 = INT("SO_PRIORITY 6", AF_INET, SOCK_STREAM, SOL_SOCKET, SO_PRIORITY, 6);
	struct priv off = INT("IP_MULTICAST_IF 0", AF_INET6, SOCK_DGRAM, IPPROTO_IPV6,
			      IPV6_MULTICAST_IF, 0);
	uint64_t h = new_socket(AF_INET, SOCK_STREAM), h6 = new_socket(AF_INET6, SOCK_DGRAM);
	grpc_status_code st;
	int err;

	st = setopt(h, &p6, &err, NULL, 0);
	CHECK(st == GRPC_STATUS_OK && err == 0, "plain: SO_PRIORITY 6: %s errno %d",
	      it_status_name(st), err);
	CHECK(getopt_int(h, SOL_SOCKET, SO_PRIORITY) == 6, "plain: SO_PRIORITY reads back 6");
	st = setopt(h6, &off, &err, NULL, 0);
	CHECK(st == GRPC_STATUS_OK && err == 0, "plain: IPV6_MULTICAST_IF 0: %s errno %d",
	      it_status_name(st), err);
}

/* Raw values that would make the broker read its own memory or fds. */
static void walk_pointers(const char *rule)
{
	/* Aimed at the broker's memory: the address is this process's, which
	 * a non-PIE-randomised broker would share. */
	static struct sock_filter insn = BPF_STMT(BPF_RET | BPF_K, 0xffff);
	struct sock_fprog prog = { .len = 1, .filter = &insn };
	int fd = 3;
	struct priv bad[] = {
		RAW("SO_ATTACH_FILTER", AF_INET, SOCK_DGRAM, SOL_SOCKET, SO_ATTACH_FILTER, &prog),
		RAW("SO_ATTACH_REUSEPORT_CBPF", AF_INET, SOCK_DGRAM, SOL_SOCKET,
		    SO_ATTACH_REUSEPORT_CBPF, &prog),
		RAW("SO_ATTACH_BPF", AF_INET, SOCK_DGRAM, SOL_SOCKET, SO_ATTACH_BPF, &fd),
		INT("SO_ATTACH_BPF", AF_INET, SOCK_DGRAM, SOL_SOCKET, SO_ATTACH_BPF, 3),
		RAW("SO_ATTACH_REUSEPORT_EBPF", AF_INET, SOCK_DGRAM, SOL_SOCKET,
		    SO_ATTACH_REUSEPORT_EBPF, &fd),
		RAW("level 0 option 64", AF_INET, SOCK_DGRAM, IPPROTO_IP, 64, &prog),
	};
	Sockbroker__V1__GetSockOptReply *rep;
	uint64_t h = new_socket(AF_INET, SOCK_DGRAM);
	char msg[512];
	size_t i;
	int err;

	if (!CHECK(h != 0, "%s: UDP socket", rule))
		return;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		grpc_status_code st = setopt(h, &bad[i], &err, msg, sizeof(msg));

		CHECK(st == GRPC_STATUS_INVALID_ARGUMENT && err == PORTABLE_EINVAL &&
		      strstr(msg, bad[i].what) != NULL,
		      "%s: raw %s: %s errno %d (%s), want INVALID_ARGUMENT EINVAL naming it",
		      rule, bad[i].what, it_status_name(st), err, msg);
	}
	/* SO_GET_FILTER: nothing was attached. */
	rep = getopt_reply(h, SOL_SOCKET, SO_GET_FILTER);
	CHECK(rep && (rep->error || !rep->value ||
		      (rep->value->value_case == VALUE(RAW) && rep->value->raw.len == 0) ||
		      (rep->value->value_case == VALUE(INT_VALUE) && rep->value->int_value == 0)),
	      "%s: SO_GET_FILTER shows a filter after refused attaches", rule);
	if (rep)
		sockbroker__v1__get_sock_opt_reply__free_unpacked(rep, NULL);
	/* IPT_SO_GET_INFO (CAP_NET_ADMIN): not read through the broker. */
	rep = getopt_reply(h, IPPROTO_IP, 64);
	CHECK(rep && rep->error == PORTABLE_ENOPROTOOPT && !rep->value,
	      "%s: GetSockOpt IPPROTO_IP 64 (IPT_SO_GET_INFO): errno %d, want ENOPROTOOPT",
	      rule, rep ? (int)rep->error : -1);
	if (rep)
		sockbroker__v1__get_sock_opt_reply__free_unpacked(rep, NULL);
}

/* ---- the "sender" child: a chosen source is a bind ---- */

static grpc_status_code send_from(uint64_t h, uint32_t port, const char *src, int ifindex)
{
	Sockbroker__V1__SendRequest req = SOCKBROKER__V1__SEND_REQUEST__INIT;
	Sockbroker__V1__Address d = SOCKBROKER__V1__ADDRESS__INIT;
	Sockbroker__V1__Address s = SOCKBROKER__V1__ADDRESS__INIT;
	Sockbroker__V1__Inet4Address din = SOCKBROKER__V1__INET4_ADDRESS__INIT;
	Sockbroker__V1__Inet4Address sin = SOCKBROKER__V1__INET4_ADDRESS__INIT;
	struct it_reply r;
	grpc_status_code st;
	uint8_t db[4], sb[4];

	set_addr4(&d, &din, db, "127.0.0.1", port);
	req.handle = h;
	req.destination = &d;
	req.data.data = (uint8_t *)src;
	req.data.len = strlen(src);
	if (src[0] != '-') {
		set_addr4(&s, &sin, sb, src, 0);
		req.source = &s;
	}
	req.ifindex = ifindex;
	st = call(IT_SVC "Send", &req.base, &r) == 0 ? r.status : GRPC_STATUS_DEADLINE_EXCEEDED;
	it_reply_free(&r);
	return st;
}

static void sender(uint32_t port)
{
	uint64_t h = new_socket(AF_INET, SOCK_DGRAM);
	grpc_status_code st;

	if (!CHECK(h != 0, "sender: UDP socket"))
		return;
	st = send_from(h, port, "127.0.0.2", 0);
	CHECK(st == GRPC_STATUS_PERMISSION_DENIED, "sender: Send from source 127.0.0.2: %s, "
	      "want PERMISSION_DENIED (bind allows 127.0.0.1 only)", it_status_name(st));
	st = send_from(h, port, "-ifindex", 1);
	CHECK(st == GRPC_STATUS_PERMISSION_DENIED, "sender: Send with ifindex 1: %s, want "
	      "PERMISSION_DENIED (no rule names SO_BINDTOIFINDEX)", it_status_name(st));
	st = send_from(h, port, "127.0.0.1", 0);
	CHECK(st == GRPC_STATUS_OK, "sender: Send from source 127.0.0.1: %s",
	      it_status_name(st));
}

static int child_main(const char *target, gid_t gid, uint32_t port)
{
	struct it_broker b;

	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(40);
	if (it_drop_privileges(NOBODY, gid) < 0)
		return 1;
	memset(&b, 0, sizeof(b));
	snprintf(b.target, sizeof(b.target), "%s", target);
	ch = it_channel(&b);
	if (!CHECK(it_session_open(ch, &sess, 5000) == 0, "gid %u: OpenSession", (unsigned)gid))
		return 1;
	inet_pton(AF_INET6, "::1", &pktinfo6.ipi6_addr);
	pktinfo6.ipi6_ifindex = 1;
	if (gid == GID_SENDER) {
		sender(port);
	} else {
		walk_privileged(gid == GID_NAMED);
		walk_sockets(gid == GID_NAMED);
		walk_pointers(gid == GID_NAMED ? "named" : "plain");
		if (gid == GID_PLAIN)
			walk_unprivileged();
	}
	it_session_close(&sess);
	grpc_channel_destroy(ch);
	return it_failures() ? 1 : 0;
}

/* ---- the parent: root ---- */

static int run_child(const char *target, gid_t gid, uint32_t port)
{
	char g[16], p[16];
	char *argv[] = { (char *)"it_policy_privileged", (char *)"--child", (char *)target,
			 g, p, NULL };
	int status;

	snprintf(g, sizeof(g), "%u", (unsigned)gid);
	snprintf(p, sizeof(p), "%u", (unsigned)port);
	status = it_run_self(argv, 50000);
	return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct it_broker b;
	char config[2048], buf[64];
	socklen_t len;
	ssize_t n;
	int udp, rc;

	if (argc == 5 && !strcmp(argv[1], "--child"))
		return child_main(argv[2], (gid_t)atoi(argv[3]), (uint32_t)atoi(argv[4]));
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0)
		it_skip("needs root: the broker must hold the privileges it must not lend");
	snprintf(config, sizeof(config),
		 "policy:\n"
		 "  - name: named\n"
		 "    match: { uid: %d, gid: %d }\n"
		 "    action: allow\n"
		 "    ops: [socket, connect, bind, listen, accept, sendto, setsockopt]\n"
		 "    families: [inet, inet6, unix, packet, netlink]\n"
		 "    types: [stream, dgram, raw]\n"
		 "    ports: [\"0-65535\"]\n"
		 "    sockopts: [%s]\n"
		 "  - name: sender\n"
		 "    match: { uid: %d, gid: %d }\n"
		 "    action: allow\n"
		 "    ops: [socket, setsockopt, sendto, bind]\n"
		 "    destinations: [127.0.0.1/32]\n"
		 "    bind: [127.0.0.1/32]\n"
		 "  - name: plain\n"
		 "    match: { uid: %d, gid: %d }\n"
		 "    action: allow\n",
		 NOBODY, GID_NAMED, named_opts, NOBODY, GID_SENDER, NOBODY, GID_PLAIN);
	if (it_broker_start(&b, config) < 0)
		return 1;
	it_watchdog(&b, 120);
	/* Open the socket to uid 65534 (the file decides before the policy). */
	if (!CHECK(chmod(b.dir, 0755) == 0 && chmod(b.sock, 0666) == 0, "chmod %s: %s",
		   b.sock, strerror(errno)))
		goto out;
	len = it_addr4(&ss, "127.0.0.1", 0);
	udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (!CHECK(udp >= 0 && bind(udp, (struct sockaddr *)&ss, len) == 0 &&
		   getsockname(udp, (struct sockaddr *)&ss, &len) == 0, "native UDP receiver"))
		goto out;

	rc = run_child(b.target, GID_PLAIN, 0);
	CHECK(rc == 0, "the uid 65534 child under rule \"plain\" failed (%d)", rc);
	rc = run_child(b.target, GID_NAMED, 0);
	CHECK(rc == 0, "the uid 65534 child under rule \"named\" failed (%d)", rc);
	rc = run_child(b.target, GID_SENDER, it_port(&ss));
	CHECK(rc == 0, "the uid 65534 child under rule \"sender\" failed (%d)", rc);

	/* Only the datagram from 127.0.0.1 arrived, and from there. */
	len = sizeof(ss);
	n = it_read_some(udp, buf, sizeof(buf), 2000);
	if (CHECK(n > 0, "the allowed datagram did not arrive")) {
		buf[n] = 0;
		CHECK(!strcmp(buf, "127.0.0.1"), "first datagram \"%s\", want the one from "
		      "127.0.0.1", buf);
	}
	n = recvfrom(udp, buf, sizeof(buf) - 1, MSG_DONTWAIT, (struct sockaddr *)&ss, &len);
	CHECK(n < 0, "a refused datagram arrived: \"%.*s\"", (int)(n > 0 ? n : 0), buf);
	close(udp);
out:
	it_broker_stop(&b);
	return it_result();
}
