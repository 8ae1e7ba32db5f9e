/* SPDX-License-Identifier: MIT
 * it_getifaddrs.c - sb_getifaddrs lists exactly what libc's getifaddrs
 * lists on the same machine, row by row and in the same order: name,
 * flags, address family and bytes, netmask, broadcast or point-to-point
 * destination, and for AF_PACKET rows the link's index, type and hardware
 * address. The comparison is retried once when the host's interfaces
 * changed between the two calls.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "it_client.h"

static size_t sa_len(const struct sockaddr *sa)
{
	switch (sa->sa_family) {
	case AF_INET:
		return sizeof(struct sockaddr_in);
	case AF_INET6:
		return sizeof(struct sockaddr_in6);
	case AF_PACKET:
		return sizeof(struct sockaddr_ll);
	default:
		return sizeof(sa_family_t);
	}
}

/* Compare two socket addresses by what the family defines. */
static int same_sa(const struct sockaddr *x, const struct sockaddr *y, char *why, size_t n,
		   const char *field)
{
	if (!x || !y) {
		if (!x != !y)
			snprintf(why, n, "%s: %s", field, x ? "libc has none" : "sb has none");
		return !x == !y;
	}
	if (x->sa_family != y->sa_family) {
		snprintf(why, n, "%s: family %d vs %d", field, x->sa_family, y->sa_family);
		return 0;
	}
	switch (x->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *a = (const void *)x, *b = (const void *)y;

		if (a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port)
			return 1;
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *a = (const void *)x, *b = (const void *)y;

		if (!memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) &&
		    a->sin6_scope_id == b->sin6_scope_id && a->sin6_port == b->sin6_port)
			return 1;
		break;
	}
	case AF_PACKET: {
		const struct sockaddr_ll *a = (const void *)x, *b = (const void *)y;

		if (a->sll_ifindex == b->sll_ifindex && a->sll_hatype == b->sll_hatype &&
		    a->sll_halen == b->sll_halen && a->sll_halen <= sizeof(a->sll_addr) &&
		    !memcmp(a->sll_addr, b->sll_addr, a->sll_halen))
			return 1;
		break;
	}
	default:
		return 1;
	}
	snprintf(why, n, "%s differs", field);
	return 0;
}

static void print_sa(const char *tag, const struct sockaddr *sa)
{
	char buf[128] = "-";

	if (sa && sa->sa_family == AF_PACKET) {
		const struct sockaddr_ll *l = (const void *)sa;
		size_t i, off = 0;

		off += (size_t)snprintf(buf, sizeof(buf), "ll if%d type%u ", l->sll_ifindex,
					l->sll_hatype);
		for (i = 0; i < l->sll_halen && i < 8 && off + 4 < sizeof(buf); i++)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%02x%s",
						l->sll_addr[i], i + 1 < l->sll_halen ? ":" : "");
	} else if (sa) {
		it_addr_str(sa, (socklen_t)sa_len(sa), buf, sizeof(buf));
	}
	printf(" %s %s", tag, buf);
}

static void print_list(const char *who, const struct ifaddrs *i)
{
	for (; i; i = i->ifa_next) {
		printf("     %s: %-8s flags 0x%05x", who, i->ifa_name, i->ifa_flags);
		print_sa("addr", i->ifa_addr);
		print_sa("mask", i->ifa_netmask);
		print_sa(i->ifa_flags & IFF_POINTOPOINT ? "dst" : "brd", i->ifa_broadaddr);
		printf("\n");
	}
}

/* Return: 1 when both lists are the same, row by row. */
static int compare(const struct ifaddrs *x, const struct ifaddrs *y, char *why, size_t n)
{
	int row = 0;

	for (; x && y; x = x->ifa_next, y = y->ifa_next, row++) {
		char w[96] = "";

		if (strcmp(x->ifa_name, y->ifa_name)) {
			snprintf(why, n, "row %d: name %s vs %s", row, x->ifa_name, y->ifa_name);
			return 0;
		}
		if (x->ifa_flags != y->ifa_flags) {
			snprintf(why, n, "row %d (%s): flags 0x%x vs libc 0x%x", row, x->ifa_name,
				 x->ifa_flags, y->ifa_flags);
			return 0;
		}
		if (!same_sa(x->ifa_addr, y->ifa_addr, w, sizeof(w), "address") ||
		    !same_sa(x->ifa_netmask, y->ifa_netmask, w, sizeof(w), "netmask") ||
		    !same_sa(x->ifa_broadaddr, y->ifa_broadaddr, w, sizeof(w),
			     y->ifa_flags & IFF_POINTOPOINT ? "destination" : "broadcast")) {
			snprintf(why, n, "row %d (%s, family %d): %s", row, x->ifa_name,
				 y->ifa_addr ? y->ifa_addr->sa_family : -1, w);
			return 0;
		}
	}
	if (x || y) {
		snprintf(why, n, "row %d: %s has more rows", row, x ? "sb_getifaddrs" : "libc");
		return 0;
	}
	return 1;
}

int main(void)
{
	struct it_broker b;
	sb_client *c = it_setup(&b, NULL, 30);
	struct ifaddrs *x = NULL, *y = NULL;
	char why[256] = "";
	int attempt, same = 0, rows = 0;

	for (attempt = 0; attempt < 2 && !same; attempt++) {
		if (x)
			sb_freeifaddrs(x);
		if (y)
			freeifaddrs(y);
		x = y = NULL;
		if (!CHECK(getifaddrs(&y) == 0, "libc getifaddrs: %s", strerror(errno)))
			break;
		if (!CHECK(sb_getifaddrs(c, &x) == 0, "sb_getifaddrs: %s %s", strerror(errno),
			   it_sberr()))
			break;
		same = compare(x, y, why, sizeof(why));
	}
	if (x && y && !CHECK(same, "sb_getifaddrs differs from getifaddrs: %s", why)) {
		print_list("sb  ", x);
		print_list("libc", y);
	}
	for (const struct ifaddrs *i = y; i; i = i->ifa_next)
		rows++;
	it_note("%d getifaddrs rows compared", rows);
	if (x)
		sb_freeifaddrs(x);
	if (y)
		freeifaddrs(y);
	return it_teardown(&b, c);
}
