/* SPDX-License-Identifier: MIT
 * test_addr.c - struct sb__addr <-> sockaddr both ways for every kind, the
 * exact lengths checked against what the running kernel reports for real
 * sockets, the error cases, POSIX copy-out truncation and formatting.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "addr.h"

static int failures;

#define CHECK(c)                                                         \
	do {                                                             \
		if (!(c)) {                                              \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n",     \
				__FILE__, __LINE__, #c);                 \
			failures++;                                      \
		}                                                        \
	} while (0)

#define SUN_OFF offsetof(struct sockaddr_un, sun_path)
#define SLL_OFF offsetof(struct sockaddr_ll, sll_addr)

/* a -> sockaddr -> a' must give a' == a and the expected length. */
static void round_trip(const struct sb__addr *a, socklen_t want_len)
{
	struct sockaddr_storage ss;
	struct sb__addr b;
	socklen_t len = 0;

	CHECK(sb__addr_to_sockaddr(a, &ss, &len) == 0);
	CHECK(len == want_len);
	CHECK(sb__addr_from_sockaddr(&b, (struct sockaddr *)&ss, len) == 0);
	CHECK(sb__addr_equal(a, &b));
}

/* sockaddr -> a -> sockaddr' must give the same bytes and length. */
static void native_trip(const void *sa, socklen_t len, enum sb__addr_kind kind)
{
	struct sockaddr_storage ss;
	struct sb__addr a;
	socklen_t len2 = 0;

	CHECK(sb__addr_from_sockaddr(&a, sa, len) == 0);
	CHECK(a.kind == kind);
	CHECK(sb__addr_to_sockaddr(&a, &ss, &len2) == 0);
	CHECK(len2 == len);
	CHECK(memcmp(&ss, sa, len) == 0);
}

static void test_inet(void)
{
	struct sb__addr a = { .kind = SB__ADDR_INET, .port = 8080,
			      .ip = { 192, 0, 2, 1 } };
	struct sockaddr_storage ss;
	struct sockaddr_in sin;
	socklen_t len;

	round_trip(&a, sizeof(struct sockaddr_in));
	CHECK(sb__addr_to_sockaddr(&a, &ss, &len) == 0);
	memcpy(&sin, &ss, sizeof(sin));
	CHECK(sin.sin_family == AF_INET);
	CHECK(sin.sin_port == htons(8080));
	CHECK(sin.sin_addr.s_addr == htonl(0xc0000201));

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(53);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	native_trip(&sin, sizeof(sin), SB__ADDR_INET);
}

static void test_inet6(void)
{
	struct sb__addr a = { .kind = SB__ADDR_INET6, .port = 443,
			      .flowinfo = 0x12345, .scope_id = 7,
			      .ip = { 0xfe, 0x80, [15] = 1 } };
	struct sockaddr_storage ss;
	struct sockaddr_in6 sin6;
	socklen_t len;

	round_trip(&a, sizeof(struct sockaddr_in6));
	CHECK(sb__addr_to_sockaddr(&a, &ss, &len) == 0);
	memcpy(&sin6, &ss, sizeof(sin6));
	CHECK(sin6.sin6_family == AF_INET6);
	CHECK(sin6.sin6_port == htons(443));
	CHECK(sin6.sin6_flowinfo == htonl(0x12345));
	CHECK(sin6.sin6_scope_id == 7);
	CHECK(memcmp(&sin6.sin6_addr, a.ip, 16) == 0);
	native_trip(&sin6, sizeof(sin6), SB__ADDR_INET6);
}

static void test_unix(void)
{
	static const char path[] = "/tmp/sb-test.sock";
	static const char abs[] = "sb\0test";   /* 7 bytes, one NUL inside */
	struct sb__addr a = { .kind = SB__ADDR_UNIX_PATH }, b;
	struct sockaddr_un un;
	size_t n = sizeof(path) - 1;

	memcpy(a.name, path, n);
	a.name_len = n;
	round_trip(&a, (socklen_t)(SUN_OFF + n + 1));

	/* The length may count the NUL or not, or be the whole struct. */
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	memcpy(un.sun_path, path, n);
	CHECK(sb__addr_from_sockaddr(&b, (struct sockaddr *)&un,
				     (socklen_t)(SUN_OFF + n)) == 0);
	CHECK(sb__addr_equal(&a, &b) && b.name[n] == '\0');
	CHECK(sb__addr_from_sockaddr(&b, (struct sockaddr *)&un, sizeof(un)) == 0);
	CHECK(sb__addr_equal(&a, &b));
	native_trip(&un, (socklen_t)(SUN_OFF + n + 1), SB__ADDR_UNIX_PATH);

	/* 107 bytes and the NUL fill sun_path. */
	memset(a.name, 'p', SB__UNIX_NAME_MAX - 1);
	a.name_len = SB__UNIX_NAME_MAX - 1;
	round_trip(&a, sizeof(struct sockaddr_un));
	/* The longest path: 108 bytes without a NUL, as the kernel takes it. */
	memset(a.name, 'p', SB__UNIX_NAME_MAX);
	a.name_len = SB__UNIX_NAME_MAX;
	round_trip(&a, sizeof(struct sockaddr_un));
	memset(&un, 'p', sizeof(un));
	un.sun_family = AF_UNIX;
	native_trip(&un, sizeof(un), SB__ADDR_UNIX_PATH);

	memset(&a, 0, sizeof(a));
	a.kind = SB__ADDR_UNIX_ABSTRACT;
	memcpy(a.name, abs, sizeof(abs) - 1);
	a.name_len = sizeof(abs) - 1;
	round_trip(&a, (socklen_t)(SUN_OFF + 1 + sizeof(abs) - 1));
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	memcpy(un.sun_path + 1, abs, sizeof(abs) - 1);
	native_trip(&un, (socklen_t)(SUN_OFF + 1 + sizeof(abs) - 1),
		    SB__ADDR_UNIX_ABSTRACT);
	CHECK(sb__addr_from_sockaddr(&b, (struct sockaddr *)&un,
				     (socklen_t)(SUN_OFF + 1 + sizeof(abs) - 1)) == 0);
	CHECK(b.name_len == 7 && memcmp(b.name, abs, 7) == 0);

	/* An empty abstract name is a name, not "unnamed". */
	a.name_len = 0;
	round_trip(&a, (socklen_t)(SUN_OFF + 1));

	memset(&a, 0, sizeof(a));
	a.kind = SB__ADDR_UNIX_UNNAMED;
	round_trip(&a, sizeof(sa_family_t));
	native_trip(&un, sizeof(sa_family_t), SB__ADDR_UNIX_UNNAMED);
}

static void test_link(void)
{
	struct sb__addr a = { .kind = SB__ADDR_LINK, .link_protocol = ETH_P_IP,
			      .link_ifindex = 3, .link_hatype = 1,
			      .link_pkttype = PACKET_BROADCAST,
			      .name = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 },
			      .name_len = 6 }, b;
	struct sockaddr_storage ss;
	struct sockaddr_ll sll;
	socklen_t len;

	round_trip(&a, sizeof(struct sockaddr_ll));
	CHECK(sb__addr_to_sockaddr(&a, &ss, &len) == 0);
	memcpy(&sll, &ss, sizeof(sll));
	CHECK(sll.sll_family == AF_PACKET);
	CHECK(sll.sll_protocol == htons(ETH_P_IP));
	CHECK(sll.sll_ifindex == 3 && sll.sll_hatype == 1);
	CHECK(sll.sll_pkttype == PACKET_BROADCAST && sll.sll_halen == 6);
	CHECK(memcmp(sll.sll_addr, a.name, 6) == 0);
	native_trip(&sll, sizeof(sll), SB__ADDR_LINK);
	/* What recvfrom(2) reports on a packet socket: offsetof + halen. */
	CHECK(sb__addr_from_sockaddr(&b, (struct sockaddr *)&sll,
				     (socklen_t)(SLL_OFF + 6)) == 0);
	CHECK(sb__addr_equal(&a, &b));
	CHECK(sb__addr_from_sockaddr(&b, (struct sockaddr *)&sll,
				     (socklen_t)(SLL_OFF + 5)) == -EINVAL);

	a.name_len = 0;
	round_trip(&a, sizeof(struct sockaddr_ll));
	a.name_len = SB__LINK_ADDR_MAX;
	round_trip(&a, sizeof(struct sockaddr_ll));
}

static void test_none(void)
{
	struct sb__addr a = { .kind = SB__ADDR_NONE }, b;
	struct sockaddr_storage ss;
	sa_family_t fam = AF_UNSPEC;
	socklen_t len;

	round_trip(&a, sizeof(sa_family_t));
	CHECK(sb__addr_to_sockaddr(&a, &ss, &len) == 0);
	CHECK(ss.ss_family == AF_UNSPEC);
	memset(&b, 0xa5, sizeof(b));
	CHECK(sb__addr_from_sockaddr(&b, NULL, 0) == 0 && b.kind == SB__ADDR_NONE);
	memset(&b, 0xa5, sizeof(b));
	CHECK(sb__addr_from_sockaddr(&b, (struct sockaddr *)&fam, sizeof(fam)) == 0);
	CHECK(b.kind == SB__ADDR_NONE);
}

/* from_sockaddr must fail with @err and leave its output alone. */
static void from_fails(const void *sa, socklen_t len, int err)
{
	struct sb__addr out, pattern;

	memset(&out, 0x5a, sizeof(out));
	memset(&pattern, 0x5a, sizeof(pattern));
	CHECK(sb__addr_from_sockaddr(&out, sa, len) == err);
	CHECK(memcmp(&out, &pattern, sizeof(out)) == 0);
}

static void test_errors(void)
{
	struct sockaddr_storage ss;
	struct sockaddr_un *un = (struct sockaddr_un *)&ss;
	struct sb__addr a;
	socklen_t len;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_INET;
	from_fails(&ss, sizeof(struct sockaddr_in) - 1, -EINVAL);
	from_fails(&ss, 1, -EINVAL);
	from_fails(NULL, sizeof(struct sockaddr_in), -EINVAL);
	ss.ss_family = AF_INET6;
	from_fails(&ss, sizeof(struct sockaddr_in6) - 1, -EINVAL);
	ss.ss_family = AF_PACKET;
	from_fails(&ss, SLL_OFF - 1, -EINVAL);
	((struct sockaddr_ll *)&ss)->sll_halen = SB__LINK_ADDR_MAX + 1;
	from_fails(&ss, sizeof(ss), -EINVAL);
	memset(&ss, 0, sizeof(ss));
	ss.ss_family = AF_APPLETALK;
	from_fails(&ss, sizeof(ss), -EAFNOSUPPORT);
	ss.ss_family = 12345;
	from_fails(&ss, sizeof(ss), -EAFNOSUPPORT);

	/* A path of 109 bytes, in a larger buffer. */
	un->sun_family = AF_UNIX;
	memset(un->sun_path, 'p', sizeof(ss) - SUN_OFF);
	from_fails(&ss, (socklen_t)(SUN_OFF + SB__UNIX_NAME_MAX + 1), -EINVAL);
	/* An abstract name of 108 bytes, in a larger buffer. */
	un->sun_path[0] = '\0';
	from_fails(&ss, (socklen_t)(SUN_OFF + 1 + SB__UNIX_ABSTRACT_MAX + 1), -EINVAL);

	memset(&a, 0, sizeof(a));
	a.kind = SB__ADDR_UNIX_PATH;
	CHECK(sb__addr_to_sockaddr(&a, &ss, &len) == -EINVAL);      /* empty */
	memset(a.name, 'p', sizeof(a.name));
	a.name_len = SB__UNIX_NAME_MAX + 1;
	CHECK(sb__addr_to_sockaddr(&a, &ss, &len) == -EINVAL);      /* 109 */
	memcpy(a.name, "a\0b", 3);
	a.name_len = 3;
	CHECK(sb__addr_to_sockaddr(&a, &ss, &len) == -EINVAL);      /* NUL */
	a.kind = SB__ADDR_UNIX_ABSTRACT;
	CHECK(sb__addr_to_sockaddr(&a, &ss, &len) == 0);            /* NUL ok */
	a.name_len = SB__UNIX_ABSTRACT_MAX + 1;
	CHECK(sb__addr_to_sockaddr(&a, &ss, &len) == -EINVAL);
	a.kind = SB__ADDR_LINK;
	a.name_len = SB__LINK_ADDR_MAX + 1;
	CHECK(sb__addr_to_sockaddr(&a, &ss, &len) == -EINVAL);
	a.kind = (enum sb__addr_kind)99;
	CHECK(sb__addr_to_sockaddr(&a, &ss, &len) == -EAFNOSUPPORT);
}

static void test_copy_out(void)
{
	struct sb__addr a = { .kind = SB__ADDR_INET6, .port = 80,
			      .ip = { [15] = 1 } };
	struct sockaddr_storage full, dst;
	socklen_t flen, dlen;
	size_t i;

	CHECK(sb__addr_to_sockaddr(&a, &full, &flen) == 0);

	memset(&dst, 0xee, sizeof(dst));
	dlen = sizeof(dst);
	CHECK(sb__addr_copy_out(&a, (struct sockaddr *)&dst, &dlen) == 0);
	CHECK(dlen == sizeof(struct sockaddr_in6));
	CHECK(memcmp(&dst, &full, flen) == 0);
	CHECK(((unsigned char *)&dst)[flen] == 0xee);

	/* Short buffer: a prefix is copied, the full length reported. */
	memset(&dst, 0xee, sizeof(dst));
	dlen = 8;
	CHECK(sb__addr_copy_out(&a, (struct sockaddr *)&dst, &dlen) == 0);
	CHECK(dlen == sizeof(struct sockaddr_in6));
	CHECK(memcmp(&dst, &full, 8) == 0);
	for (i = 8; i < sizeof(dst); i++)
		CHECK(((unsigned char *)&dst)[i] == 0xee);

	dlen = 0;
	CHECK(sb__addr_copy_out(&a, NULL, &dlen) == 0);
	CHECK(dlen == sizeof(struct sockaddr_in6));
	dlen = 4;
	CHECK(sb__addr_copy_out(&a, NULL, &dlen) == -EINVAL);
	CHECK(dlen == 4);
	CHECK(sb__addr_copy_out(&a, (struct sockaddr *)&dst, NULL) == -EINVAL);
	a.kind = SB__ADDR_UNIX_PATH;    /* name_len 0: malformed */
	dlen = sizeof(dst);
	CHECK(sb__addr_copy_out(&a, (struct sockaddr *)&dst, &dlen) == -EINVAL);
	CHECK(dlen == sizeof(dst));
}

static void fmt_is(const struct sb__addr *a, const char *want)
{
	char buf[256];
	int n = sb__addr_format(a, buf, sizeof(buf));

	if (n < 0 || strcmp(buf, want) != 0 || (size_t)n != strlen(want)) {
		fprintf(stderr, "format: got \"%s\" (%d), want \"%s\"\n",
			buf, n, want);
		failures++;
	}
}

static void test_format(void)
{
	struct sb__addr a = { .kind = SB__ADDR_INET, .port = 8080,
			      .ip = { 192, 0, 2, 1 } };
	char buf[5];

	fmt_is(&a, "192.0.2.1:8080");
	CHECK(sb__addr_format(&a, buf, sizeof(buf)) == 14);
	CHECK(strcmp(buf, "192.") == 0);
	CHECK(sb__addr_format(&a, NULL, 0) == 14);

	memset(&a, 0, sizeof(a));
	a.kind = SB__ADDR_INET6;
	a.port = 80;
	a.ip[15] = 1;
	fmt_is(&a, "[::1]:80");
	a.ip[0] = 0xfe;
	a.ip[1] = 0x80;
	a.scope_id = 2;
	fmt_is(&a, "[fe80::1%2]:80");

	memset(&a, 0, sizeof(a));
	a.kind = SB__ADDR_UNIX_PATH;
	memcpy(a.name, "/run/x.sock", 11);
	a.name_len = 11;
	fmt_is(&a, "/run/x.sock");
	a.kind = SB__ADDR_UNIX_ABSTRACT;
	memcpy(a.name, "ab\0c\n", 5);
	a.name_len = 5;
	fmt_is(&a, "@ab\\x00c\\x0a");
	a.name_len = 0;
	fmt_is(&a, "@");
	a.kind = SB__ADDR_UNIX_UNNAMED;
	fmt_is(&a, "(unnamed)");

	memset(&a, 0, sizeof(a));
	a.kind = SB__ADDR_LINK;
	a.link_ifindex = 2;
	memcpy(a.name, "\x00\x11\x22\xaa\xbb\xcc", 6);
	a.name_len = 6;
	fmt_is(&a, "link:2/00:11:22:aa:bb:cc");

	memset(&a, 0, sizeof(a));
	fmt_is(&a, "(none)");
}

/* Bind @s to @a, and check what getsockname(2) reports against it. */
static void kernel_name(int s, const struct sb__addr *a, int do_bind)
{
	struct sockaddr_storage want, got;
	socklen_t wlen = 0, glen = sizeof(got);
	struct sb__addr back;

	CHECK(sb__addr_to_sockaddr(a, &want, &wlen) == 0);
	if (do_bind && bind(s, (struct sockaddr *)&want, wlen) < 0) {
		fprintf(stderr, "bind: %s\n", strerror(errno));
		failures++;
		return;
	}
	memset(&got, 0, sizeof(got));
	CHECK(getsockname(s, (struct sockaddr *)&got, &glen) == 0);
	CHECK(glen == wlen);
	CHECK(memcmp(&got, &want, wlen) == 0);
	CHECK(sb__addr_from_sockaddr(&back, (struct sockaddr *)&got, glen) == 0);
	CHECK(sb__addr_equal(&back, a));
}

static void test_kernel(void)
{
	char dir[] = "/tmp/sb-test-addr-XXXXXX";
	struct sb__addr a;
	int s, n;

	CHECK(mkdtemp(dir) != NULL);

	memset(&a, 0, sizeof(a));
	a.kind = SB__ADDR_UNIX_PATH;
	n = snprintf((char *)a.name, sizeof(a.name), "%s/s", dir);
	a.name_len = (size_t)n;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	kernel_name(s, &a, 1);
	close(s);
	unlink((char *)a.name);
	rmdir(dir);

	memset(&a, 0, sizeof(a));
	a.kind = SB__ADDR_UNIX_ABSTRACT;
	n = snprintf((char *)a.name, sizeof(a.name), "sb-test%c%ld", 0,
		     (long)getpid());
	a.name_len = (size_t)n;
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	kernel_name(s, &a, 1);
	close(s);

	/* Never bound: the kernel reports the family alone. */
	memset(&a, 0, sizeof(a));
	a.kind = SB__ADDR_UNIX_UNNAMED;
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	kernel_name(s, &a, 0);
	close(s);

	/* Unbound: 0.0.0.0:0. Bound: what the kernel chose, unchanged. */
	memset(&a, 0, sizeof(a));
	a.kind = SB__ADDR_INET;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	kernel_name(s, &a, 0);
	{
		struct sockaddr_in sin = { .sin_family = AF_INET,
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		struct sockaddr_storage got;
		socklen_t glen = sizeof(got);

		CHECK(bind(s, (struct sockaddr *)&sin, sizeof(sin)) == 0);
		CHECK(getsockname(s, (struct sockaddr *)&got, &glen) == 0);
		native_trip(&got, glen, SB__ADDR_INET);
	}
	close(s);

	/* IPv6 may be disabled where the tests run; then skip it. */
	s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s >= 0) {
		struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6,
					     .sin6_addr = IN6ADDR_LOOPBACK_INIT };
		struct sockaddr_storage got;
		socklen_t glen = sizeof(got);

		if (bind(s, (struct sockaddr *)&sin6, sizeof(sin6)) == 0) {
			CHECK(getsockname(s, (struct sockaddr *)&got, &glen) == 0);
			native_trip(&got, glen, SB__ADDR_INET6);
		}
		close(s);
	}

	/* A packet socket needs CAP_NET_RAW; skip it without. */
	s = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s >= 0) {
		struct sockaddr_ll sll = { .sll_family = AF_PACKET,
					   .sll_protocol = htons(ETH_P_ALL),
					   .sll_ifindex = (int)if_nametoindex("lo") };
		struct sockaddr_storage got;
		socklen_t glen = sizeof(got);

		if (bind(s, (struct sockaddr *)&sll, sizeof(sll)) == 0 &&
		    getsockname(s, (struct sockaddr *)&got, &glen) == 0) {
			CHECK(glen == SLL_OFF + 6);  /* lo: 6-byte address */
			CHECK(sb__addr_from_sockaddr(&a, (struct sockaddr *)&got,
						     glen) == 0);
			CHECK(a.kind == SB__ADDR_LINK && a.name_len == 6);
			CHECK(a.link_ifindex == sll.sll_ifindex);
			CHECK(a.link_protocol == ETH_P_ALL);
			{
				struct sockaddr_storage mine;
				socklen_t mlen = sizeof(mine);

				/* getsockname's length, not recvfrom's. */
				CHECK(sb__addr_copy_name(&a, (struct sockaddr *)&mine,
							 &mlen) == 0);
				CHECK(mlen == glen && !memcmp(&mine, &got, glen));
				mlen = sizeof(mine);
				CHECK(sb__addr_copy_out(&a, (struct sockaddr *)&mine,
							&mlen) == 0);
				CHECK(mlen == sizeof(struct sockaddr_ll));
			}
		}
		close(s);
	}
}

/* A 108-byte path without its NUL: the kernel binds it and reports 111
 * (the NUL counted); the library must read it and copy it out the same. */
static void test_kernel_long_path(void)
{
	char dir[] = "/tmp/sb-addr-XXXXXX";
	char path[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	struct sockaddr_un un, got_un, our_un;
	struct sockaddr_storage got, ours;
	socklen_t glen, olen, ulen;
	struct sb__addr a;
	size_t n;
	int s;

	if (!mkdtemp(dir)) {
		CHECK(0);
		return;
	}
	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	n = strlen(dir);
	memcpy(un.sun_path, dir, n);
	un.sun_path[n] = '/';
	memset(un.sun_path + n + 1, 'p', sizeof(un.sun_path) - n - 1);
	CHECK(sb__addr_from_sockaddr(&a, (struct sockaddr *)&un, sizeof(un)) == 0);
	CHECK(a.kind == SB__ADDR_UNIX_PATH && a.name_len == sizeof(un.sun_path));
	CHECK(sb__addr_to_sockaddr(&a, &ours, &olen) == 0 && olen == sizeof(un));
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(s >= 0);
	CHECK(bind(s, (struct sockaddr *)&ours, olen) == 0);
	memset(&got, 0xee, sizeof(got));
	memset(&ours, 0xee, sizeof(ours));
	glen = olen = sizeof(got);
	CHECK(getsockname(s, (struct sockaddr *)&got, &glen) == 0);
	CHECK(glen == SUN_OFF + sizeof(un.sun_path) + 1);
	CHECK(sb__addr_from_sockaddr(&a, (struct sockaddr *)&got, glen) == 0);
	CHECK(sb__addr_copy_out(&a, (struct sockaddr *)&ours, &olen) == 0);
	CHECK(olen == glen && memcmp(&ours, &got, sizeof(got)) == 0);
	/* Into a struct sockaddr_un: 110 bytes copied, 111 reported. */
	memset(&got_un, 0xee, sizeof(got_un));
	memset(&our_un, 0xee, sizeof(our_un));
	ulen = olen = sizeof(got_un);
	CHECK(getsockname(s, (struct sockaddr *)&got_un, &ulen) == 0);
	CHECK(sb__addr_copy_out(&a, (struct sockaddr *)&our_un, &olen) == 0);
	CHECK(olen == ulen && memcmp(&our_un, &got_un, sizeof(got_un)) == 0);
	close(s);
	memcpy(path, un.sun_path, sizeof(un.sun_path));
	path[sizeof(un.sun_path)] = '\0';
	CHECK(unlink(path) == 0);
	CHECK(rmdir(dir) == 0);
}

int main(void)
{
	test_inet();
	test_inet6();
	test_unix();
	test_link();
	test_none();
	test_errors();
	test_copy_out();
	test_format();
	test_kernel();
	test_kernel_long_path();
	if (failures) {
		fprintf(stderr, "test_addr: %d check(s) failed\n", failures);
		return 1;
	}
	return 0;
}
