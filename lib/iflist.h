/* SPDX-License-Identifier: MIT
 * iflist.h - the host's interfaces as plain data: getifaddrs(3) rows with
 * index, flags, netmask, broadcast/destination, hardware address and MTU.
 */
#ifndef SB_LIB_IFLIST_H
#define SB_LIB_IFLIST_H

#include <stddef.h>
#include <stdint.h>
#include <net/if.h>

#include "addr.h"
#include "compiler.h"

struct sb__ifaddr {
	char name[IF_NAMESIZE];
	unsigned int index;          /* if_nametoindex */
	unsigned int flags;          /* native IFF_* (ifa_flags) */
	struct sb__addr addr;        /* SB__ADDR_NONE when the row has none */
	struct sb__addr netmask;
	struct sb__addr broadcast;   /* ifa_broadaddr when not point-to-point */
	struct sb__addr destination; /* ifa_dstaddr with IFF_POINTOPOINT */
	uint8_t hwaddr[32];          /* link's hardware address */
	size_t hwaddr_len;
	unsigned int mtu;            /* 0 when unknown */
};

/**
 * sb__ifaddrs_get() - list the rows of getifaddrs(3), in libc's order
 * @out: set to a malloc'ed array the caller frees with free()
 * @n:   set to its length
 *
 * Return: 0, or -errno (nothing allocated).
 */
SB__CHECK int sb__ifaddrs_get(struct sb__ifaddr **out, size_t *n);

#endif /* SB_LIB_IFLIST_H */
