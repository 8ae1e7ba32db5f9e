/* SPDX-License-Identifier: MIT
 * iflist.c - getifaddrs(3) rows as struct sb__ifaddr, with each row's
 * interface index, hardware address and MTU filled in.
 */
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ifaddrs.h>

#include "iflist.h"

#define SB__SLL_ADDR_OFF offsetof(struct sockaddr_ll, sll_addr)

/* getifaddrs(3) gives no lengths: use the one the kernel would report. */
static socklen_t sb__sa_len(const struct sockaddr *sa)
{
	const struct sockaddr_ll *sll;

	switch (sa->sa_family) {
	case AF_INET:
		return sizeof(struct sockaddr_in);
	case AF_INET6:
		return sizeof(struct sockaddr_in6);
	case AF_PACKET:
		sll = (const struct sockaddr_ll *)sa;
		return (socklen_t)(SB__SLL_ADDR_OFF + sll->sll_halen);
	default:
		return sizeof(sa_family_t);
	}
}

/* An address of a family struct sb__addr cannot hold becomes NONE. */
static void sb__ifa_addr(struct sb__addr *out, const struct sockaddr *sa)
{
	if (!sa || sb__addr_from_sockaddr(out, sa, sb__sa_len(sa)) < 0)
		memset(out, 0, sizeof(*out));
}

/* The hardware address of @r's interface, from its AF_PACKET row if it has
 * one. glibc's sockaddr_ll there has room for sll_halen bytes (up to 24). */
static void sb__ifa_hwaddr(struct sb__ifaddr *r, const struct ifaddrs *all)
{
	const struct ifaddrs *ifa;
	const struct sockaddr_ll *sll;
	size_t n;

	for (ifa = all; ifa; ifa = ifa->ifa_next) {
		if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_PACKET ||
		    !ifa->ifa_name || strcmp(ifa->ifa_name, r->name))
			continue;
		sll = (const struct sockaddr_ll *)ifa->ifa_addr;
		n = sll->sll_halen;
		if (n > sizeof(r->hwaddr))
			n = sizeof(r->hwaddr);
		memcpy(r->hwaddr, (const uint8_t *)sll + SB__SLL_ADDR_OFF, n);
		r->hwaddr_len = n;
		return;
	}
}

/* Index and MTU of @r's interface; @fd is an AF_INET socket or -1. */
static void sb__ifa_link(struct sb__ifaddr *r, int fd)
{
	struct ifreq ifr;

	r->index = if_nametoindex(r->name);
	r->mtu = 0;
	if (fd < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, r->name, sizeof(ifr.ifr_name) < sizeof(r->name) ?
	       sizeof(ifr.ifr_name) : sizeof(r->name));
	ifr.ifr_name[sizeof(ifr.ifr_name) - 1] = '\0';
	if (ioctl(fd, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0)
		r->mtu = (unsigned int)ifr.ifr_mtu;
}

int sb__ifaddrs_get(struct sb__ifaddr **out, size_t *n)
{
	struct sb__ifaddr *rows = NULL, *r;
	struct ifaddrs *all = NULL, *ifa;
	size_t count = 0, i, j, len;
	int fd = -1, ret = 0;

	if (getifaddrs(&all) < 0)
		return -errno;
	for (ifa = all; ifa; ifa = ifa->ifa_next)
		count++;
	if (count == 0)
		goto out;
	rows = calloc(count, sizeof(*rows));
	if (!rows) {
		ret = -ENOMEM;
		goto out;
	}
	/* No socket only means no MTU; the rest of the listing stands. */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	for (ifa = all, i = 0; ifa; ifa = ifa->ifa_next, i++) {
		r = &rows[i];
		if (ifa->ifa_name) {
			len = strnlen(ifa->ifa_name, sizeof(r->name) - 1);
			memcpy(r->name, ifa->ifa_name, len);
		}
		r->flags = ifa->ifa_flags;
		sb__ifa_addr(&r->addr, ifa->ifa_addr);
		sb__ifa_addr(&r->netmask, ifa->ifa_netmask);
		/* ifa_broadaddr and ifa_dstaddr share one field in glibc,
		 * which fills it for links without IFF_BROADCAST too (lo):
		 * report it as libc does, by IFF_POINTOPOINT. */
		if (ifa->ifa_flags & IFF_POINTOPOINT)
			sb__ifa_addr(&r->destination, ifa->ifa_dstaddr);
		else
			sb__ifa_addr(&r->broadcast, ifa->ifa_broadaddr);
		sb__ifa_hwaddr(r, all);

		/* Rows of one interface share index and MTU: ask once. */
		for (j = 0; j < i; j++)
			if (!strcmp(rows[j].name, r->name))
				break;
		if (j < i) {
			r->index = rows[j].index;
			r->mtu = rows[j].mtu;
		} else {
			sb__ifa_link(r, fd);
		}
	}
out:
	if (fd >= 0)
		close(fd);
	freeifaddrs(all);
	if (ret < 0)
		return ret;
	*out = rows;
	*n = count;
	return 0;
}
