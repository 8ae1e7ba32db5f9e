/* SPDX-License-Identifier: MIT
 * test_consts.c - the constant tables of lib/consts.c: round trips, names,
 * aliases, Linux's numbering, bit sets, errno fallbacks and option kinds.
 *
 * Exit status 0 when every check holds; each failure is printed to stderr
 * as file:line with the failed condition.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "consts.h"

static int failures;

static void check(int ok, const char *what, const char *about,
		  const char *file, int line)
{
	if (ok)
		return;
	fprintf(stderr, "%s:%d: CHECK failed: %s%s%s\n", file, line, what,
		about ? " for " : "", about ? about : "");
	failures++;
}

#define CHECK(c) check(!!(c), #c, NULL, __FILE__, __LINE__)
/* CHECK with the table row (or other name) the condition is about. */
#define CHECK_FOR(c, about) check(!!(c), #c, (about), __FILE__, __LINE__)

static const char *const fam_names[SB__C_COUNT] = {
	[SB__C_AF] = "AF", [SB__C_SOCK] = "SOCK", [SB__C_IPPROTO] = "IPPROTO",
	[SB__C_SOL] = "SOL", [SB__C_SO] = "SO", [SB__C_TCP] = "TCP",
	[SB__C_IP] = "IP", [SB__C_IPV6] = "IPV6", [SB__C_UDP] = "UDP",
	[SB__C_MSG] = "MSG", [SB__C_AI] = "AI", [SB__C_NI] = "NI",
	[SB__C_EAI] = "EAI", [SB__C_IFF] = "IFF", [SB__C_SHUT] = "SHUT",
	[SB__C_POLL] = "POLL", [SB__C_ERRNO] = "ERRNO",
};

static int is_flag_family(enum sb__cfam fam)
{
	return fam == SB__C_MSG || fam == SB__C_AI || fam == SB__C_NI ||
	       fam == SB__C_IFF || fam == SB__C_POLL;
}

static void test_family(enum sb__cfam fam)
{
	const struct sb__const *t;
	size_t n, i, j;

	t = sb__const_table(fam, &n);
	CHECK_FOR(t != NULL && n > 0, fam_names[fam]);
	if (!t)
		return;
	for (i = 0; i < n; i++) {
		const struct sb__const *e = &t[i];
		const char *bare = strchr(e->name, '_');
		const char *nm;
		uint32_t p = UINT32_MAX;
		int v = -12345;

		CHECK_FOR(e->name && e->name[0], fam_names[fam]);

		/* native -> portable -> native */
		CHECK_FOR(sb__const_to_portable(fam, e->native, &p) == 0, e->name);
		CHECK_FOR(p == e->portable, e->name);
		CHECK_FOR(sb__const_to_native(fam, p, &v) == 0, e->name);
		CHECK_FOR(v == e->native, e->name);

		/* portable -> native -> portable */
		v = -12345;
		p = UINT32_MAX;
		CHECK_FOR(sb__const_to_native(fam, e->portable, &v) == 0, e->name);
		CHECK_FOR(v == e->native, e->name);
		CHECK_FOR(sb__const_to_portable(fam, v, &p) == 0, e->name);
		CHECK_FOR(p == e->portable, e->name);

		/* The name of the value is this row's or an alias's. */
		nm = sb__const_name(fam, e->native);
		CHECK_FOR(nm != NULL, e->name);
		if (nm && strcmp(nm, e->name)) {
			CHECK_FOR(sb__const_by_name(fam, nm, &v) == 0 &&
				  v == e->native, e->name);
		}

		/* By full name, any case, and without the prefix. */
		v = -12345;
		CHECK_FOR(sb__const_by_name(fam, e->name, &v) == 0 &&
			  v == e->native, e->name);
		if (bare && bare[1]) {
			v = -12345;
			CHECK_FOR(sb__const_by_name(fam, bare + 1, &v) == 0 &&
				  v == e->native, e->name);
		}

		/* Linux's numbering is the contract's, EAI_* negated. */
#ifdef __linux__
		if (fam == SB__C_EAI)
			CHECK_FOR(-e->native == (int)e->portable, e->name);
		else
			CHECK_FOR(e->native == (int)e->portable, e->name);
#endif

		/* Bit-set families hold single bits on both sides. */
		if (is_flag_family(fam)) {
			CHECK_FOR(e->native > 0 &&
				  !(e->native & (e->native - 1)), e->name);
			CHECK_FOR(e->portable &&
				  !(e->portable & (e->portable - 1)), e->name);
		}

		for (j = i + 1; j < n; j++) {
			const struct sb__const *f = &t[j];

			CHECK_FOR(strcasecmp(e->name, f->name) != 0, f->name);
			/* A shared value is only allowed for a pure alias
			 * (AF_LOCAL, PF_*, EWOULDBLOCK, EOPNOTSUPP, ...). */
			if (e->native == f->native)
				CHECK_FOR(e->portable == f->portable, f->name);
			if (e->portable == f->portable)
				CHECK_FOR(e->native == f->native, f->name);
		}
	}
}

static void test_lookups(void)
{
	size_t n = 99;
	uint32_t p = 0;
	int v = 0;

	CHECK(sb__const_table(SB__C_COUNT, &n) == NULL && n == 0);
	CHECK(sb__const_to_native(SB__C_COUNT, 1, &v) == -EINVAL);
	CHECK(sb__const_to_portable(SB__C_COUNT, 1, &p) == -EINVAL);
	CHECK(sb__const_name(SB__C_COUNT, 1) == NULL);
	CHECK(sb__const_by_name(SB__C_COUNT, "AF_INET", &v) == -EINVAL);

	CHECK(sb__const_to_native(SB__C_AF, 10, &v) == 0 && v == AF_INET6);
	CHECK(sb__const_to_portable(SB__C_AF, AF_INET6, &p) == 0 && p == 10);
	CHECK(sb__const_to_portable(SB__C_AF, AF_UNSPEC, &p) == 0 && p == 0);
	CHECK(sb__const_to_native(SB__C_AF, 9999, &v) == -EINVAL);
	CHECK(sb__const_to_portable(SB__C_AF, -1, &p) == -EINVAL);
	CHECK(sb__const_to_native(SB__C_SOCK, 1, &v) == 0 && v == SOCK_STREAM);
	CHECK(sb__const_to_native(SB__C_SOCK, 0, &v) == 0 && v == 0);
	CHECK(sb__const_to_portable(SB__C_SOCK, SOCK_STREAM | SOCK_NONBLOCK, &p) == -EINVAL);
	CHECK(sb__const_to_native(SB__C_IPPROTO, 6, &v) == 0 && v == IPPROTO_TCP);
	CHECK(sb__const_to_native(SB__C_IPPROTO, 262, &v) == 0 && v == 262);
	CHECK(sb__const_to_native(SB__C_SOL, 1, &v) == 0 && v == SOL_SOCKET);
	CHECK(sb__const_to_native(SB__C_SOL, 41, &v) == 0 && v == IPPROTO_IPV6);
	CHECK(sb__const_to_native(SB__C_SO, 2, &v) == 0 && v == SO_REUSEADDR);
	CHECK(sb__const_to_portable(SB__C_SO, SO_REUSEADDR, &p) == 0 && p == 2);
	CHECK(sb__const_to_portable(SB__C_SO, SO_RCVTIMEO, &p) == 0 && p == 20);
	CHECK(sb__const_to_native(SB__C_SO, 0, &v) == -EINVAL);
	CHECK(sb__const_to_native(SB__C_TCP, 1, &v) == 0 && v == TCP_NODELAY);
	CHECK(sb__const_to_native(SB__C_IPV6, 26, &v) == 0 && v == IPV6_V6ONLY);
	CHECK(sb__const_to_native(SB__C_UDP, 103, &v) == 0 && v == 103);
	CHECK(sb__const_to_portable(SB__C_MSG, MSG_PEEK, &p) == 0 && p == 2);
	CHECK(sb__const_to_portable(SB__C_EAI, EAI_NONAME, &p) == 0 && p == 2);
	CHECK(sb__const_to_native(SB__C_EAI, 2, &v) == 0 && v == EAI_NONAME);
	CHECK(EAI_NONAME == -2);
	CHECK(sb__const_to_native(SB__C_EAI, 0, &v) == 0 && v == 0);
	CHECK(sb__const_to_portable(SB__C_EAI, 0, &p) == 0 && p == 0);
	CHECK(sb__const_to_native(SB__C_SHUT, 2, &v) == 0 && v == SHUT_RDWR);
	CHECK(sb__const_to_portable(SB__C_ERRNO, ECONNREFUSED, &p) == 0 && p == 111);

	/* Aliases resolve, and the value keeps its first name. */
	CHECK(!strcmp(sb__const_name(SB__C_AF, AF_INET), "AF_INET"));
	CHECK(!strcmp(sb__const_name(SB__C_AF, AF_LOCAL), "AF_UNIX"));
	CHECK(!strcmp(sb__const_name(SB__C_ERRNO, EWOULDBLOCK), "EAGAIN"));
	CHECK(!strcmp(sb__const_name(SB__C_EAI, EAI_NONAME), "EAI_NONAME"));
	CHECK(!strcmp(sb__const_name(SB__C_SO, SO_REUSEADDR), "SO_REUSEADDR"));
	CHECK(sb__const_name(SB__C_SO, 9999) == NULL);
	CHECK(sb__const_by_name(SB__C_AF, "PF_INET6", &v) == 0 && v == AF_INET6);
	CHECK(sb__const_by_name(SB__C_AF, "inet6", &v) == 0 && v == AF_INET6);
	CHECK(sb__const_by_name(SB__C_SO, "REUSEADDR", &v) == 0 && v == SO_REUSEADDR);
	CHECK(sb__const_by_name(SB__C_ERRNO, "EOPNOTSUPP", &v) == 0 && v == EOPNOTSUPP);
	CHECK(sb__const_by_name(SB__C_SOL, "SOL_TCP", &v) == 0 && v == IPPROTO_TCP);
	CHECK(sb__const_by_name(SB__C_SOL, "IPPROTO_IPV6", &v) == 0 && v == IPPROTO_IPV6);
	v = 77;
	CHECK(sb__const_by_name(SB__C_AF, "AF_NOPE", &v) == -EINVAL && v == 77);
	CHECK(sb__const_by_name(SB__C_AF, "", &v) == -EINVAL);
	CHECK(sb__const_by_name(SB__C_AF, NULL, &v) == -EINVAL);
	CHECK(sb__const_by_name(SB__C_AF, "AF_", &v) == -EINVAL);
}

static void test_flags(void)
{
	enum sb__cfam fam;
	uint32_t p;
	int v;

	for (fam = 0; fam < SB__C_COUNT; fam++) {
		const struct sb__const *t;
		uint32_t all_p = 0, back = 0;
		int all_n = 0, nat = 0;
		size_t n, i;

		if (!is_flag_family(fam)) {
			v = 5;
			p = 5;
			CHECK_FOR(sb__flags_to_native(fam, 1, &v) == -EINVAL && v == 5,
				  fam_names[fam]);
			CHECK_FOR(sb__flags_to_portable(fam, 1, &p) == -EINVAL && p == 5,
				  fam_names[fam]);
			continue;
		}
		t = sb__const_table(fam, &n);
		for (i = 0; i < n; i++) {
			all_p |= t[i].portable;
			all_n |= t[i].native;
		}
		/* Every bit at once, both ways. */
		CHECK_FOR(sb__flags_to_native(fam, all_p, &nat) == 0 && nat == all_n,
			  fam_names[fam]);
		CHECK_FOR(sb__flags_to_portable(fam, all_n, &back) == 0 && back == all_p,
			  fam_names[fam]);
		v = 5;
		p = 5;
		CHECK_FOR(sb__flags_to_native(fam, 0, &v) == 0 && v == 0, fam_names[fam]);
		CHECK_FOR(sb__flags_to_portable(fam, 0, &p) == 0 && p == 0, fam_names[fam]);
	}

	CHECK(sb__flags_to_native(SB__C_MSG, 2 | 64 | 256, &v) == 0 &&
	      v == (MSG_PEEK | MSG_DONTWAIT | MSG_WAITALL));
	CHECK(sb__flags_to_portable(SB__C_MSG, MSG_PEEK | MSG_DONTWAIT | MSG_WAITALL, &p) == 0 &&
	      p == (2 | 64 | 256));
	CHECK(sb__flags_to_native(SB__C_POLL, 1 | 4, &v) == 0 && v == (POLLIN | POLLOUT));
	CHECK(sb__flags_to_portable(SB__C_AI, AI_PASSIVE | AI_NUMERICSERV, &p) == 0 &&
	      p == (1 | 1024));

	/* From the caller, an unknown bit fails the whole set and writes
	 * nothing; from the kernel, it is dropped and the known bits stay. */
	v = 77;
	CHECK(sb__flags_to_native(SB__C_AI, 1u | (1u << 31), &v) == -EINVAL && v == 77);
	p = 77;
	CHECK(sb__flags_to_portable(SB__C_AI, AI_PASSIVE | (1 << 30), &p) == -EINVAL && p == 1);
	p = 77;
	CHECK(sb__flags_to_portable(SB__C_MSG, (int)(1u << 31), &p) == -EINVAL && p == 0);
	v = 77;
	CHECK(sb__flags_to_native(SB__C_NI, 1u << 6, &v) == -EINVAL && v == 77);
	v = 77;
	CHECK(sb__flags_to_native(SB__C_MSG, 1u << 24, &v) == -EINVAL && v == 77);
}

static void test_errno(void)
{
	CHECK(sb__errno_to_portable(0) == 0);
	CHECK(sb__errno_to_native(0) == 0);
	CHECK(sb__errno_to_portable(ECONNREFUSED) == 111);
	CHECK(sb__errno_to_native(111) == ECONNREFUSED);
	CHECK(sb__errno_to_portable(EWOULDBLOCK) == 11);
	CHECK(sb__errno_to_portable(EOPNOTSUPP) == 95);
	CHECK(sb__errno_to_native(11) == EAGAIN);
	CHECK(sb__errno_to_portable(9999) == 5);
	CHECK(sb__errno_to_portable(-EAGAIN) == 5);
	CHECK(sb__errno_to_native(9999) == EIO);
	CHECK(sb__errno_to_native(41) == EIO);
}

static void test_sockopts(void)
{
	const struct sb__const *t;
	size_t n, i;

	CHECK(sb__sockopt_family(SOL_SOCKET) == SB__C_SO);
	CHECK(sb__sockopt_family(IPPROTO_TCP) == SB__C_TCP);
	CHECK(sb__sockopt_family(IPPROTO_IP) == SB__C_IP);
	CHECK(sb__sockopt_family(IPPROTO_IPV6) == SB__C_IPV6);
	CHECK(sb__sockopt_family(IPPROTO_UDP) == SB__C_UDP);
	CHECK(sb__sockopt_family(IPPROTO_ICMPV6) == SB__C_COUNT);
	CHECK(sb__sockopt_family(-1) == SB__C_COUNT);
	/* Every level of the contract has an option family. */
	t = sb__const_table(SB__C_SOL, &n);
	for (i = 0; i < n; i++)
		CHECK_FOR(sb__sockopt_family(t[i].native) != SB__C_COUNT, t[i].name);

	CHECK(sb__sockopt_kind(SOL_SOCKET, SO_LINGER) == SB__OPT_LINGER);
	CHECK(sb__sockopt_kind(SOL_SOCKET, SO_RCVTIMEO) == SB__OPT_TIMEVAL);
	CHECK(sb__sockopt_kind(SOL_SOCKET, SO_SNDTIMEO) == SB__OPT_TIMEVAL);
	CHECK(sb__sockopt_kind(SOL_SOCKET, SO_ERROR) == SB__OPT_ERROR);
	CHECK(sb__sockopt_kind(SOL_SOCKET, SO_BINDTODEVICE) == SB__OPT_TEXT);
	CHECK(sb__sockopt_kind(IPPROTO_TCP, TCP_CONGESTION) == SB__OPT_TEXT);
	CHECK(sb__sockopt_kind(IPPROTO_IP, IP_ADD_MEMBERSHIP) == SB__OPT_IP_MREQ);
	CHECK(sb__sockopt_kind(IPPROTO_IP, IP_DROP_MEMBERSHIP) == SB__OPT_IP_MREQ);
	CHECK(sb__sockopt_kind(IPPROTO_IP, IP_MULTICAST_IF) == SB__OPT_IP_MCAST_IF);
	CHECK(sb__sockopt_kind(IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP) == SB__OPT_IPV6_MREQ);
	CHECK(sb__sockopt_kind(IPPROTO_IPV6, IPV6_DROP_MEMBERSHIP) == SB__OPT_IPV6_MREQ);
	CHECK(sb__sockopt_kind(IPPROTO_IPV6, IPV6_JOIN_GROUP) == SB__OPT_IPV6_MREQ);

	CHECK(sb__sockopt_kind(SOL_SOCKET, SO_REUSEADDR) == SB__OPT_INT);
	CHECK(sb__sockopt_kind(SOL_SOCKET, SO_KEEPALIVE) == SB__OPT_INT);
	CHECK(sb__sockopt_kind(SOL_SOCKET, SO_RCVBUF) == SB__OPT_INT);
	CHECK(sb__sockopt_kind(SOL_SOCKET, SO_TYPE) == SB__OPT_INT);
	CHECK(sb__sockopt_kind(IPPROTO_IP, IP_TTL) == SB__OPT_INT);
	CHECK(sb__sockopt_kind(IPPROTO_IP, IP_PKTINFO) == SB__OPT_INT);
	CHECK(sb__sockopt_kind(IPPROTO_IPV6, IPV6_V6ONLY) == SB__OPT_INT);
	CHECK(sb__sockopt_kind(IPPROTO_IPV6, IPV6_MULTICAST_IF) == SB__OPT_INT);
	CHECK(sb__sockopt_kind(IPPROTO_IPV6, IPV6_RECVPKTINFO) == SB__OPT_INT);
	CHECK(sb__sockopt_kind(IPPROTO_TCP, TCP_NODELAY) == SB__OPT_INT);
	CHECK(sb__sockopt_kind(IPPROTO_TCP, TCP_KEEPIDLE) == SB__OPT_INT);
	CHECK(sb__sockopt_kind(IPPROTO_UDP, UDP_CORK) == SB__OPT_INT);

	CHECK(sb__sockopt_kind(SOL_SOCKET, SO_PEERCRED) == SB__OPT_UNKNOWN);
	CHECK(sb__sockopt_kind(SOL_SOCKET, SO_ATTACH_FILTER) == SB__OPT_UNKNOWN);
	CHECK(sb__sockopt_kind(IPPROTO_TCP, TCP_INFO) == SB__OPT_UNKNOWN);
	CHECK(sb__sockopt_kind(IPPROTO_IP, IP_OPTIONS) == SB__OPT_UNKNOWN);
	CHECK(sb__sockopt_kind(IPPROTO_IPV6, IPV6_PKTINFO) == SB__OPT_UNKNOWN);
	CHECK(sb__sockopt_kind(SOL_SOCKET, 9999) == SB__OPT_UNKNOWN);
	CHECK(sb__sockopt_kind(IPPROTO_TCP, 9999) == SB__OPT_UNKNOWN);
	CHECK(sb__sockopt_kind(IPPROTO_ICMPV6, 1) == SB__OPT_UNKNOWN);
	CHECK(sb__sockopt_kind(-1, SO_REUSEADDR) == SB__OPT_UNKNOWN);
}

int main(void)
{
	enum sb__cfam fam;

	for (fam = 0; fam < SB__C_COUNT; fam++)
		test_family(fam);
	test_lookups();
	test_flags();
	test_errno();
	test_sockopts();
	if (failures) {
		fprintf(stderr, "test_consts: %d check(s) failed\n", failures);
		return 1;
	}
	return 0;
}
