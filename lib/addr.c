/* SPDX-License-Identifier: MIT
 * addr.c - struct sb__addr <-> native sockaddr, and printing addresses.
 *
 * Every length rule the kernel applies to socket addresses (Unix paths with
 * or without their NUL, abstract names that may hold NULs, link addresses of
 * variable size) is decided here, so that callers never size a sockaddr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"

#define SB__SUN_PATH_OFF offsetof(struct sockaddr_un, sun_path)
#define SB__SLL_ADDR_OFF offsetof(struct sockaddr_ll, sll_addr)

/* Unix address: unnamed, abstract (leading NUL) or a filesystem path. */
static int sb__from_un(struct sb__addr *a, const struct sockaddr *sa,
		       socklen_t len)
{
	const char *path = (const char *)sa + SB__SUN_PATH_OFF;
	size_t room, n;

	if (len <= SB__SUN_PATH_OFF) {
		a->kind = SB__ADDR_UNIX_UNNAMED;
		return 0;
	}
	room = len - SB__SUN_PATH_OFF;
	if (path[0] == '\0') {
		n = room - 1;
		if (n > SB__UNIX_ABSTRACT_MAX)
			return -EINVAL;
		a->kind = SB__ADDR_UNIX_ABSTRACT;
		memcpy(a->name, path + 1, n);
		a->name_len = n;
		return 0;
	}
	/* The length may or may not count the terminating NUL; a path of
	 * 108 bytes fills sun_path and has none. */
	n = strnlen(path, room);
	if (n > SB__UNIX_NAME_MAX)
		return -EINVAL;
	a->kind = SB__ADDR_UNIX_PATH;
	memcpy(a->name, path, n);
	a->name[n] = '\0';
	a->name_len = n;
	return 0;
}

/* Link-layer address; the kernel reports offsetof(sll_addr) + sll_halen. */
static int sb__from_ll(struct sb__addr *a, const struct sockaddr *sa,
		       socklen_t len)
{
	struct sockaddr_ll sll;

	if (len < SB__SLL_ADDR_OFF)
		return -EINVAL;
	memset(&sll, 0, sizeof(sll));
	memcpy(&sll, sa, SB__SLL_ADDR_OFF);
	/* Longer hardware addresses (InfiniBand) do not fit the contract. */
	if (sll.sll_halen > SB__LINK_ADDR_MAX ||
	    len < SB__SLL_ADDR_OFF + sll.sll_halen)
		return -EINVAL;
	a->kind = SB__ADDR_LINK;
	a->link_protocol = ntohs(sll.sll_protocol);
	a->link_ifindex = sll.sll_ifindex;
	a->link_hatype = sll.sll_hatype;
	a->link_pkttype = sll.sll_pkttype;
	memcpy(a->name, (const uint8_t *)sa + SB__SLL_ADDR_OFF, sll.sll_halen);
	a->name_len = sll.sll_halen;
	return 0;
}

int sb__addr_from_sockaddr(struct sb__addr *out, const struct sockaddr *sa,
			   socklen_t len)
{
	struct sb__addr a;
	sa_family_t family;
	int ret = 0;

	memset(&a, 0, sizeof(a));
	if (len == 0)
		goto out;
	if (!sa || len < sizeof(sa_family_t))
		return -EINVAL;
	memcpy(&family, (const char *)sa + offsetof(struct sockaddr, sa_family),
	       sizeof(family));

	switch (family) {
	case AF_UNSPEC:
		break;
	case AF_INET: {
		struct sockaddr_in sin;

		if (len < sizeof(sin))
			return -EINVAL;
		memcpy(&sin, sa, sizeof(sin));
		a.kind = SB__ADDR_INET;
		a.port = ntohs(sin.sin_port);
		memcpy(a.ip, &sin.sin_addr, 4);
		break;
	}
	case AF_INET6: {
		struct sockaddr_in6 sin6;

		if (len < sizeof(sin6))
			return -EINVAL;
		memcpy(&sin6, sa, sizeof(sin6));
		a.kind = SB__ADDR_INET6;
		a.port = ntohs(sin6.sin6_port);
		a.flowinfo = ntohl(sin6.sin6_flowinfo);
		a.scope_id = sin6.sin6_scope_id;
		memcpy(a.ip, &sin6.sin6_addr, 16);
		break;
	}
	case AF_UNIX:
		ret = sb__from_un(&a, sa, len);
		break;
	case AF_PACKET:
		ret = sb__from_ll(&a, sa, len);
		break;
	default:
		ret = -EAFNOSUPPORT;
		break;
	}
	if (ret < 0)
		return ret;
out:
	*out = a;
	return 0;
}

int sb__addr_to_sockaddr(const struct sb__addr *a, struct sockaddr_storage *ss,
			 socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	switch (a->kind) {
	case SB__ADDR_NONE:
		ss->ss_family = AF_UNSPEC;
		*len = sizeof(sa_family_t);
		return 0;
	case SB__ADDR_INET: {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(a->port);
		memcpy(&sin->sin_addr, a->ip, 4);
		*len = sizeof(*sin);
		return 0;
	}
	case SB__ADDR_INET6: {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(a->port);
		sin6->sin6_flowinfo = htonl(a->flowinfo);
		sin6->sin6_scope_id = a->scope_id;
		memcpy(&sin6->sin6_addr, a->ip, 16);
		*len = sizeof(*sin6);
		return 0;
	}
	case SB__ADDR_UNIX_UNNAMED:
		ss->ss_family = AF_UNIX;
		*len = SB__SUN_PATH_OFF;
		return 0;
	case SB__ADDR_UNIX_PATH: {
		struct sockaddr_un *un = (struct sockaddr_un *)ss;

		if (a->name_len == 0 || a->name_len > SB__UNIX_NAME_MAX ||
		    memchr(a->name, '\0', a->name_len))
			return -EINVAL;
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, a->name, a->name_len);
		/* Within @ss even for 108 bytes, but not counted then: the
		 * kernel refuses a length above sizeof(struct sockaddr_un). */
		((char *)ss)[SB__SUN_PATH_OFF + a->name_len] = '\0';
		*len = (socklen_t)(SB__SUN_PATH_OFF + a->name_len + 1);
		if (*len > sizeof(*un))
			*len = sizeof(*un);
		return 0;
	}
	case SB__ADDR_UNIX_ABSTRACT: {
		struct sockaddr_un *un = (struct sockaddr_un *)ss;

		if (a->name_len > SB__UNIX_ABSTRACT_MAX)
			return -EINVAL;
		un->sun_family = AF_UNIX;
		un->sun_path[0] = '\0';
		memcpy(un->sun_path + 1, a->name, a->name_len);
		*len = (socklen_t)(SB__SUN_PATH_OFF + 1 + a->name_len);
		return 0;
	}
	case SB__ADDR_LINK: {
		struct sockaddr_ll *sll = (struct sockaddr_ll *)ss;

		if (a->name_len > SB__LINK_ADDR_MAX)
			return -EINVAL;
		sll->sll_family = AF_PACKET;
		sll->sll_protocol = htons(a->link_protocol);
		sll->sll_ifindex = a->link_ifindex;
		sll->sll_hatype = a->link_hatype;
		sll->sll_pkttype = a->link_pkttype;
		sll->sll_halen = (unsigned char)a->name_len;
		memcpy(sll->sll_addr, a->name, a->name_len);
		*len = sizeof(*sll);
		return 0;
	}
	}
	return -EAFNOSUPPORT;
}

/* Copy-out with the length the kernel reports: @name for getsockname and
 * getpeername, which count a link address's sll_halen bytes only
 * (packet_getname); recvmsg reports the whole struct sockaddr_ll. */
static int sb__copy_out(const struct sb__addr *a, struct sockaddr *dst,
			socklen_t *dstlen, int name)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (!dstlen || (!dst && *dstlen > 0))
		return -EINVAL;
	if (sb__addr_to_sockaddr(a, &ss, &len) < 0)
		return -EINVAL;
	/* The kernel's length of a path counts the NUL that @ss holds. */
	if (a->kind == SB__ADDR_UNIX_PATH)
		len = (socklen_t)(SB__SUN_PATH_OFF + a->name_len + 1);
	else if (a->kind == SB__ADDR_LINK && name)
		len = (socklen_t)(SB__SLL_ADDR_OFF + a->name_len);
	if (dst)
		memcpy(dst, &ss, *dstlen < len ? *dstlen : len);
	*dstlen = len;
	return 0;
}

int sb__addr_copy_out(const struct sb__addr *a, struct sockaddr *dst,
		      socklen_t *dstlen)
{
	return sb__copy_out(a, dst, dstlen, 0);
}

int sb__addr_copy_name(const struct sb__addr *a, struct sockaddr *dst,
		       socklen_t *dstlen)
{
	return sb__copy_out(a, dst, dstlen, 1);
}

/* An snprintf that appends: @pos counts every byte, written or not. */
struct sb__fmt {
	char *buf;
	size_t len;
	size_t pos;
};

__attribute__((format(printf, 2, 3)))
static void sb__fmt_add(struct sb__fmt *f, const char *fmt, ...)
{
	char *dst = NULL;
	size_t room = 0;
	va_list ap;
	int n;

	if (f->pos < f->len) {
		dst = f->buf + f->pos;
		room = f->len - f->pos;
	}
	va_start(ap, fmt);
	n = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		f->pos += (size_t)n;
}

/* Bytes of a name, with anything unprintable (and '\') as \xNN. */
static void sb__fmt_bytes(struct sb__fmt *f, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] >= 0x7f || p[i] == '\\')
			sb__fmt_add(f, "\\x%02x", p[i]);
		else
			sb__fmt_add(f, "%c", p[i]);
	}
}

int sb__addr_format(const struct sb__addr *a, char *buf, size_t len)
{
	struct sb__fmt f = { .buf = buf, .len = len, .pos = 0 };
	char ip[INET6_ADDRSTRLEN];
	size_t i, n;

	if (buf && len)
		buf[0] = '\0';
	switch (a->kind) {
	case SB__ADDR_NONE:
		sb__fmt_add(&f, "(none)");
		break;
	case SB__ADDR_INET:
		if (!inet_ntop(AF_INET, a->ip, ip, sizeof(ip)))
			ip[0] = '\0';
		sb__fmt_add(&f, "%s:%u", ip, (unsigned int)a->port);
		break;
	case SB__ADDR_INET6:
		if (!inet_ntop(AF_INET6, a->ip, ip, sizeof(ip)))
			ip[0] = '\0';
		sb__fmt_add(&f, "[%s", ip);
		/* Numeric scope: the interface may be gone or renamed. */
		if (a->scope_id)
			sb__fmt_add(&f, "%%%u", (unsigned int)a->scope_id);
		sb__fmt_add(&f, "]:%u", (unsigned int)a->port);
		break;
	case SB__ADDR_UNIX_UNNAMED:
		sb__fmt_add(&f, "(unnamed)");
		break;
	case SB__ADDR_UNIX_PATH:
		n = a->name_len < sizeof(a->name) ? a->name_len : sizeof(a->name);
		sb__fmt_bytes(&f, a->name, n);
		break;
	case SB__ADDR_UNIX_ABSTRACT:
		n = a->name_len < sizeof(a->name) ? a->name_len : sizeof(a->name);
		sb__fmt_add(&f, "@");
		sb__fmt_bytes(&f, a->name, n);
		break;
	case SB__ADDR_LINK:
		n = a->name_len < SB__LINK_ADDR_MAX ? a->name_len : SB__LINK_ADDR_MAX;
		sb__fmt_add(&f, "link:%d/", a->link_ifindex);
		for (i = 0; i < n; i++)
			sb__fmt_add(&f, "%s%02x", i ? ":" : "", a->name[i]);
		break;
	default:
		sb__fmt_add(&f, "(invalid)");
		break;
	}
	return f.pos > INT_MAX ? INT_MAX : (int)f.pos;
}

int sb__addr_equal(const struct sb__addr *a, const struct sb__addr *b)
{
	if (a->kind != b->kind)
		return 0;
	switch (a->kind) {
	case SB__ADDR_NONE:
	case SB__ADDR_UNIX_UNNAMED:
		return 1;
	case SB__ADDR_INET:
		return a->port == b->port && !memcmp(a->ip, b->ip, 4);
	case SB__ADDR_INET6:
		return a->port == b->port && a->flowinfo == b->flowinfo &&
		       a->scope_id == b->scope_id && !memcmp(a->ip, b->ip, 16);
	case SB__ADDR_LINK:
		if (a->link_protocol != b->link_protocol ||
		    a->link_ifindex != b->link_ifindex ||
		    a->link_hatype != b->link_hatype ||
		    a->link_pkttype != b->link_pkttype)
			return 0;
		SB__FALLTHROUGH;
	case SB__ADDR_UNIX_PATH:
	case SB__ADDR_UNIX_ABSTRACT:
		return a->name_len == b->name_len &&
		       a->name_len <= sizeof(a->name) &&
		       !memcmp(a->name, b->name, a->name_len);
	}
	return 0;
}
