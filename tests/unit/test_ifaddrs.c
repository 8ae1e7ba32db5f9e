/* SPDX-License-Identifier: MIT
 * test_ifaddrs.c - sb__ifaddrs_get lists what libc's getifaddrs(3) lists on
 * this host, row by row in the same order, and fills in index, MTU and the
 * hardware address as the kernel reports them for lo.
 */
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ifaddrs.h>

#include "iflist.h"

static int failures;

#define CHECK(c)                                                         \
	do {                                                             \
		if (!(c)) {                                              \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n",     \
				__FILE__, __LINE__, #c);                 \
			failures++;                                      \
		}                                                        \
	} while (0)

/* libc's address as struct sb__addr; NONE when absent or unsupported. */
static struct sb__addr expect(const struct sockaddr *sa)
{
	struct sb__addr a;
	socklen_t len;

	memset(&a, 0, sizeof(a));
	if (!sa)
		return a;
	switch (sa->sa_family) {
	case AF_INET:
		len = sizeof(struct sockaddr_in);
		break;
	case AF_INET6:
		len = sizeof(struct sockaddr_in6);
		break;
	case AF_PACKET:
		len = sizeof(struct sockaddr_ll);
		break;
	default:
		return a;
	}
	if (sb__addr_from_sockaddr(&a, sa, len) < 0)
		memset(&a, 0, sizeof(a));
	return a;
}

/* Compare one listing with libc's; count mismatches, print when @say. */
static int compare(const struct sb__ifaddr *rows, size_t n,
		   const struct ifaddrs *all, int say)
{
	const struct ifaddrs *ifa;
	struct sb__addr want;
	int bad = 0;
	size_t i;

#define MISMATCH(what)                                                   \
	do {                                                             \
		bad++;                                                   \
		if (say)                                                 \
			fprintf(stderr, "%s:%d: row %zu (%s): %s differs\n", \
				__FILE__, __LINE__, i, ifa->ifa_name, what); \
	} while (0)

	for (ifa = all, i = 0; ifa && i < n; ifa = ifa->ifa_next, i++) {
		const struct sb__ifaddr *r = &rows[i];

		if (strcmp(r->name, ifa->ifa_name))
			MISMATCH("name");
		if (r->flags != ifa->ifa_flags)
			MISMATCH("flags");
		if (r->index != if_nametoindex(ifa->ifa_name))
			MISMATCH("index");
		want = expect(ifa->ifa_addr);
		if (!sb__addr_equal(&r->addr, &want))
			MISMATCH("address");
		want = expect(ifa->ifa_netmask);
		if (!sb__addr_equal(&r->netmask, &want))
			MISMATCH("netmask");
		want = expect(ifa->ifa_flags & IFF_POINTOPOINT ? NULL : ifa->ifa_broadaddr);
		if (!sb__addr_equal(&r->broadcast, &want))
			MISMATCH("broadcast");
		want = expect(ifa->ifa_flags & IFF_POINTOPOINT ? ifa->ifa_dstaddr : NULL);
		if (!sb__addr_equal(&r->destination, &want))
			MISMATCH("destination");
	}
	if (i != n || ifa) {
		bad++;
		if (say)
			fprintf(stderr, "row count differs: %zu vs libc's\n", n);
	}
#undef MISMATCH
	return bad;
}

/* Every row of an interface with an AF_PACKET row carries its address. */
static void check_hwaddr(const struct sb__ifaddr *rows, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (rows[i].addr.kind != SB__ADDR_LINK)
			continue;
		CHECK(rows[i].hwaddr_len == rows[i].addr.name_len);
		CHECK(!memcmp(rows[i].hwaddr, rows[i].addr.name,
			      rows[i].addr.name_len));
		for (j = 0; j < n; j++) {
			if (strcmp(rows[j].name, rows[i].name))
				continue;
			CHECK(rows[j].hwaddr_len == rows[i].hwaddr_len);
			CHECK(!memcmp(rows[j].hwaddr, rows[i].hwaddr,
				      rows[i].hwaddr_len));
			CHECK(rows[j].mtu == rows[i].mtu);
		}
	}
}

static void check_lo(const struct sb__ifaddr *rows, size_t n)
{
	static const uint8_t zero[6];
	struct ifreq ifr;
	int fd, mtu = -1, seen = 0, packet = 0;
	size_t i;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (fd >= 0 && ioctl(fd, SIOCGIFMTU, &ifr) == 0)
		mtu = ifr.ifr_mtu;
	CHECK(mtu > 0);
	if (fd >= 0)
		close(fd);

	for (i = 0; i < n; i++) {
		if (strcmp(rows[i].name, "lo"))
			continue;
		seen++;
		CHECK(rows[i].index == if_nametoindex("lo"));
		CHECK(rows[i].index > 0);
		CHECK((int)rows[i].mtu == mtu);
		CHECK(rows[i].flags & IFF_LOOPBACK);
		if (rows[i].addr.kind == SB__ADDR_LINK) {
			packet++;
			CHECK(rows[i].hwaddr_len == 6);
			CHECK(!memcmp(rows[i].hwaddr, zero, 6));
			CHECK(rows[i].addr.link_ifindex == (int)rows[i].index);
		}
	}
	CHECK(seen > 0);
	CHECK(packet == 1);
}

int main(void)
{
	struct sb__ifaddr *rows = NULL;
	struct ifaddrs *all = NULL;
	size_t n = 0;
	int attempt, ret;

	/* Interfaces may change between the two calls: retry once. */
	for (attempt = 0; attempt < 2; attempt++) {
		free(rows);
		rows = NULL;
		if (all)
			freeifaddrs(all);
		all = NULL;
		ret = sb__ifaddrs_get(&rows, &n);
		CHECK(ret == 0);
		if (ret < 0) {
			fprintf(stderr, "sb__ifaddrs_get: %s\n", strerror(-ret));
			return 1;
		}
		if (getifaddrs(&all) < 0) {
			fprintf(stderr, "getifaddrs: %s\n", strerror(errno));
			free(rows);
			return 1;
		}
		if (compare(rows, n, all, 0) == 0)
			break;
	}
	if (attempt == 2)
		failures += compare(rows, n, all, 1);

	check_hwaddr(rows, n);
	check_lo(rows, n);

	free(rows);
	freeifaddrs(all);
	if (failures) {
		fprintf(stderr, "test_ifaddrs: %d check(s) failed\n", failures);
		return 1;
	}
	return 0;
}
