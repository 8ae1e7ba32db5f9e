/* SPDX-License-Identifier: MIT
 * dgram.h - receive many datagrams in one system call (recvmmsg), with
 * their source, destination (IP_PKTINFO) and the socket's drop counter
 * (SO_RXQ_OVFL): the UDP receive loop's fast path.
 */
#ifndef SB_LIB_DGRAM_H
#define SB_LIB_DGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"
#include "sock.h"

struct sb__dgram {
	uint8_t *buf;              /* caller's buffer of the batch's bufsz */
	size_t len;                /* bytes in buf */
	size_t full_len;           /* the datagram's real length */
	struct sb__recv_info info; /* source, pktinfo, msg_flags (MSG_TRUNC) */
};

struct sb__dgram_batch;

/**
 * sb__dgram_batch_new() - buffers for up to @n datagrams of @bufsz bytes
 * Return: the batch (free with sb__dgram_batch_free), or NULL (ENOMEM).
 */
SB__CHECK struct sb__dgram_batch *sb__dgram_batch_new(size_t n, size_t bufsz);
void sb__dgram_batch_free(struct sb__dgram_batch *b);

/**
 * sb__dgram_recv() - recvmmsg(2) without waiting
 * @out:   set to the batch's datagram array (valid until the next call)
 * @drops: in: the last drop counter seen; out: the socket's counter now
 *         (needs SO_RXQ_OVFL on, see sb__dgram_enable_drops)
 * Return: datagrams received (>= 1), or -errno (-EAGAIN: none waiting).
 */
SB__CHECK int sb__dgram_recv(int fd, struct sb__dgram_batch *b, struct sb__dgram **out,
		   uint32_t *drops);

/** sb__dgram_enable_drops() - turn SO_RXQ_OVFL on. Return: 0 or -errno. */
SB__CHECK int sb__dgram_enable_drops(int fd);

/**
 * sb__dgram_send_from() - sendmsg(2) from a chosen local address
 * @dst:     destination, or NULL for a connected socket
 * @src:     local address to send from (IP_PKTINFO / IPV6_PKTINFO), or NULL
 * @ifindex: interface to send on, or 0
 * Return: bytes sent, or -errno. MSG_NOSIGNAL is always added.
 */
SB__CHECK ssize_t sb__dgram_send_from(int fd, const void *buf, size_t len, int flags,
			    const struct sb__addr *dst,
			    const struct sb__addr *src, int ifindex);

#endif /* SB_LIB_DGRAM_H */
