/* SPDX-License-Identifier: MIT
 * addr.h - socket addresses as plain data, and conversion to/from sockaddr.
 *
 * struct sb__addr mirrors the contract's Address message field by field, so
 * that the server (protobuf-c) and the client (nanopb) each convert it to
 * their message type with a flat copy, and every sockaddr rule (lengths,
 * abstract names, scope ids) lives here once. libc only.
 */
#ifndef SB_LIB_ADDR_H
#define SB_LIB_ADDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "compiler.h"

enum sb__addr_kind {
	SB__ADDR_NONE = 0,      /* no address (AF_UNSPEC) */
	SB__ADDR_INET,          /* sockaddr_in */
	SB__ADDR_INET6,         /* sockaddr_in6 */
	SB__ADDR_UNIX_UNNAMED,  /* sockaddr_un with no name */
	SB__ADDR_UNIX_PATH,     /* sockaddr_un with a filesystem path */
	SB__ADDR_UNIX_ABSTRACT, /* sockaddr_un in the abstract namespace */
	SB__ADDR_LINK,          /* sockaddr_ll */
};

/* A path may fill sun_path without its NUL (the kernel accepts 108 bytes
 * with an address length of sizeof(struct sockaddr_un)); an abstract name
 * has one byte less, taken by its leading NUL. */
#define SB__UNIX_NAME_MAX 108     /* sizeof(sun_path): a path */
#define SB__UNIX_ABSTRACT_MAX 107 /* sizeof(sun_path) - 1: an abstract name */
#define SB__LINK_ADDR_MAX 8   /* sizeof(sll_addr) */

struct sb__addr {
	enum sb__addr_kind kind;
	uint16_t port;           /* INET, INET6: host order */
	uint32_t flowinfo;       /* INET6: host order */
	uint32_t scope_id;       /* INET6 */
	uint8_t ip[16];          /* INET: first 4 bytes; INET6: 16 bytes */
	/* UNIX_PATH: path bytes (no NUL counted in len, but NUL-terminated);
	 * UNIX_ABSTRACT: name without the leading NUL; LINK: hardware addr. */
	uint8_t name[SB__UNIX_NAME_MAX + 1];
	size_t name_len;
	uint16_t link_protocol;  /* LINK: sll_protocol, host order */
	int link_ifindex;        /* LINK */
	uint16_t link_hatype;    /* LINK */
	uint8_t link_pkttype;    /* LINK */
};

/**
 * sb__addr_from_sockaddr() - read a native socket address
 * @out:  filled on success, untouched on failure
 * @sa:   the address, may be NULL only when @len is 0 (gives SB__ADDR_NONE)
 * @len:  its length as the kernel or caller gave it
 *
 * Return: 0, -EINVAL (length wrong for the family, path too long),
 *         -EAFNOSUPPORT (family not one of the above).
 */
SB__CHECK int sb__addr_from_sockaddr(struct sb__addr *out, const struct sockaddr *sa,
			   socklen_t len);

/**
 * sb__addr_to_sockaddr() - write a native socket address
 * @a:    the address
 * @ss:   where to write it
 * @len:  set to the exact length to give the kernel (Unix paths:
 *        offsetof(sun_path) + strlen + 1, but never more than
 *        sizeof(struct sockaddr_un): a 108-byte path goes without its NUL;
 *        abstract: offsetof + 1 + n). @ss holds a NUL after a path always.
 *
 * Return: 0, -EINVAL (malformed @a, e.g. name too long or NUL in a path),
 *         -EAFNOSUPPORT (SB__ADDR_NONE is written as AF_UNSPEC and returns 0).
 */
SB__CHECK int sb__addr_to_sockaddr(const struct sb__addr *a, struct sockaddr_storage *ss,
			 socklen_t *len);

/**
 * sb__addr_copy_out() - POSIX copy-out of an address to a caller's buffer
 * @a:      the address
 * @dst:    caller's buffer, may be NULL when *@dstlen is 0
 * @dstlen: in: size of @dst; out: full length of the address
 *
 * Truncates silently when the buffer is short, as accept(2) and
 * getsockname(2) do. The length reported is the kernel's: a Unix path
 * counts its NUL even when it fills sun_path (111 for 108 bytes), so that
 * a caller compares it with sizeof(struct sockaddr_un) as with the
 * kernel's answer. This is the length of accept(2) and recvfrom(2).
 * Return: 0 or -EINVAL.
 */
SB__CHECK int sb__addr_copy_out(const struct sb__addr *a, struct sockaddr *dst,
		      socklen_t *dstlen);

/**
 * sb__addr_copy_name() - sb__addr_copy_out() with the length of
 * getsockname(2) and getpeername(2): a link address counts
 * offsetof(sll_addr) + sll_halen (recvfrom reports sizeof(sockaddr_ll)).
 * Return: 0 or -EINVAL.
 */
SB__CHECK int sb__addr_copy_name(const struct sb__addr *a, struct sockaddr *dst,
		       socklen_t *dstlen);

/**
 * sb__addr_format() - "1.2.3.4:80", "[::1%2]:80", "/path", "@name", "link:..."
 * Return: the length written (snprintf rules), never negative.
 */
int sb__addr_format(const struct sb__addr *a, char *buf, size_t len);

/** sb__addr_equal() - same kind and same bytes. Return: 1 or 0. */
int sb__addr_equal(const struct sb__addr *a, const struct sb__addr *b);

#endif /* SB_LIB_ADDR_H */
