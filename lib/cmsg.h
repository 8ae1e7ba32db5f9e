/* SPDX-License-Identifier: MIT
 * cmsg.h - recvmsg(2) ancillary data as plain typed data, and back.
 *
 * The broker reads the kernel's control messages into struct sb__cmsg
 * (never passing their bytes on), and the client library writes them into
 * a caller's msg_control exactly as the kernel's put_cmsg() would, so that
 * MSG_CTRUNC and msg_controllen come out the same. libc only.
 */
#ifndef SB_LIB_CMSG_H
#define SB_LIB_CMSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "compiler.h"

#define SB__CMSG_MAX 8 /* control messages carried per reception */
#define SB__SCM_MAX_FD 253 /* the kernel's SCM_MAX_FD: descriptors per message */

/* Descriptors of one SCM_RIGHTS reception or sending, owned by whoever
 * holds the set (sb__fdset_close() closes them). */
struct sb__fdset {
	size_t n;
	int fd[SB__SCM_MAX_FD];
};

/** sb__fdset_close() - close every descriptor of @set; it is empty after. */
void sb__fdset_close(struct sb__fdset *set);

/* A message of the hand-off channel (the .proto's Hand-off rules): 16
 * bytes, the 64-bit tag then the 64-bit count of descriptors (both
 * native-endian), carrying 1..SB__SCM_MAX_FD descriptors in one
 * SCM_RIGHTS. The broker and the library both send and receive them. */
#define SB__CHAN_MSG_LEN 16

/**
 * sb__chan_msg_send() - send @n (1..SB__SCM_MAX_FD) descriptors @fds
 * tagged @tag on channel @fd, never waiting (MSG_DONTWAIT, MSG_NOSIGNAL).
 * The descriptors stay the caller's.
 * Return: SB__CHAN_MSG_LEN, a shorter count (the stream cut it), or -errno.
 */
ssize_t sb__chan_msg_send(int fd, uint64_t tag, const int *fds, size_t n);

/**
 * sb__chan_msg_recv() - one message off channel @fd, recvmsg(2) @flags
 * (MSG_CMSG_CLOEXEC added), its descriptors into @set (empty before).
 * Return: 1 (a whole message: *@tag set, @set holding as many descriptors
 * as its count says), 0 (the channel ended), -EPROTO (cut, truncated or
 * a count that does not match: @set is closed), or -errno.
 */
int sb__chan_msg_recv(int fd, int flags, uint64_t *tag, struct sb__fdset *set);

enum sb__cmsg_kind {
	SB__CM_NONE = 0,
	SB__CM_IP_PKTINFO,     /* IPPROTO_IP, IP_PKTINFO */
	SB__CM_IPV6_PKTINFO,   /* IPPROTO_IPV6, IPV6_PKTINFO */
	SB__CM_TIMESTAMP,      /* SOL_SOCKET, SO_TIMESTAMP (timeval) */
	SB__CM_TIMESTAMPNS,    /* SOL_SOCKET, SO_TIMESTAMPNS (timespec) */
	SB__CM_IP_TOS,         /* IPPROTO_IP, IP_TOS (one byte) */
	SB__CM_IP_TTL,         /* IPPROTO_IP, IP_TTL (int) */
	SB__CM_IPV6_HOPLIMIT,  /* IPPROTO_IPV6, IPV6_HOPLIMIT (int) */
	SB__CM_IP_RECVERR,     /* IPPROTO_IP, IP_RECVERR */
	SB__CM_IPV6_RECVERR,   /* IPPROTO_IPV6, IPV6_RECVERR */
	SB__CM_CREDENTIALS,    /* SOL_SOCKET, SCM_CREDENTIALS */
	SB__CM_IPV6_TCLASS,    /* IPPROTO_IPV6, IPV6_TCLASS (int) */
	SB__CM_IP_ORIGDSTADDR, /* IPPROTO_IP, IP_ORIGDSTADDR (sockaddr_in) */
	SB__CM_IPV6_ORIGDSTADDR, /* IPPROTO_IPV6, IPV6_ORIGDSTADDR */
	SB__CM_RXQ_OVFL,       /* SOL_SOCKET, SO_RXQ_OVFL (uint32) */
};

struct sb__cmsg {
	enum sb__cmsg_kind kind;
	int ifindex;            /* PKTINFO */
	uint8_t spec_dst[4];    /* IP_PKTINFO */
	uint8_t addr[16];       /* PKTINFO: 4 or 16 bytes */
	int64_t sec, nsec;      /* TIMESTAMP(NS); TIMESTAMP: usec * 1000 */
	int value;              /* TOS, TTL, HOPLIMIT, TCLASS, RXQ_OVFL */
	int ee_errno;           /* RECVERR: native errno */
	uint8_t ee_origin, ee_type, ee_code;
	uint32_t ee_info, ee_data;
	struct sb__addr offender; /* RECVERR: SB__ADDR_NONE when unknown;
				   * ORIGDSTADDR: the address */
	uint32_t pid, uid, gid; /* CREDENTIALS */
};

/**
 * sb__cmsg_drop_fds() - close the descriptors of @cm when it is an
 * SCM_RIGHTS message of @mh, and set MSG_CTRUNC in @mh->msg_flags, as the
 * kernel does when it cannot install descriptors: the broker never keeps
 * a descriptor a socket received (a peer could fill its table with them).
 * Return: 1 when @cm was SCM_RIGHTS, else 0.
 */
int sb__cmsg_drop_fds(struct msghdr *mh, const struct cmsghdr *cm);

/**
 * sb__cmsg_parse() - read the control messages of a recvmsg(2)
 * @mh:  the message header the kernel filled
 * @out: up to @max typed messages, in the kernel's order
 * Descriptors of SCM_RIGHTS are closed and MSG_CTRUNC set in
 * @mh->msg_flags (sb__cmsg_drop_fds); a message of a kind not typed here,
 * or past @max, is dropped with MSG_CTRUNC set too: the caller learns, as
 * from the kernel, that control data was lost.
 * Return: the number of messages written (0..@max).
 */
size_t sb__cmsg_parse(struct msghdr *mh, struct sb__cmsg *out, size_t max);

/**
 * sb__cmsg_parse_fds() - sb__cmsg_parse(), keeping the descriptors of
 * SCM_RIGHTS in @keep (may be NULL: closed, as sb__cmsg_parse). Those
 * beyond its room are closed and MSG_CTRUNC set.
 * Return: the number of typed messages written (0..@max).
 */
size_t sb__cmsg_parse_fds(struct msghdr *mh, struct sb__cmsg *out, size_t max,
			  struct sb__fdset *keep);

/**
 * sb__cmsg_put_rights() - append the descriptors of @set to a caller's
 * control buffer as the kernel's scm_detach_fds() does: as many as the
 * room left after *@used holds, in one SCM_RIGHTS message; MSG_CTRUNC in
 * *@flags when not all fit. The descriptors written pass to the caller,
 * the others are closed: @set is empty after.
 * Return: how many were written.
 */
size_t sb__cmsg_put_rights(void *ctl, size_t len, size_t *used, int *flags,
			   struct sb__fdset *set);

/**
 * sb__cmsg_rights_read() - append the descriptors of SCM_RIGHTS message
 * @cm (of a program's sendmsg(2)) to @set, as the kernel's scm_fp_copy()
 * takes them: a message without a whole descriptor adds none. The
 * descriptors stay the program's (no copy is made).
 * Return: 0, -EINVAL (more than SB__SCM_MAX_FD in all), -EBADF (one is
 * not open).
 */
SB__CHECK int sb__cmsg_rights_read(const struct cmsghdr *cm, struct sb__fdset *set);

/**
 * sb__cmsg_add_rights() - append one SCM_RIGHTS message with the
 * descriptors of @set to sendmsg(2) control data built in @buf (of @len
 * bytes, *@used of them in use, updated).
 * Return: 0, or -ENOBUFS.
 */
SB__CHECK int sb__cmsg_add_rights(void *buf, size_t len, size_t *used,
				  const struct sb__fdset *set);

/**
 * sb__cmsg_put() - append @cm to a caller's control buffer as put_cmsg()
 * @ctl:    the caller's msg_control (may be NULL)
 * @len:    its msg_controllen
 * @used:   in/out: bytes already used (start at 0)
 * @flags:  in/out: msg_flags; MSG_CTRUNC is added when @cm did not fit
 * A message that fits only in part is cut as the kernel cuts it.
 * Return: 0, or -EINVAL for an unknown kind.
 */
SB__CHECK int sb__cmsg_put(void *ctl, size_t len, size_t *used, int *flags,
			   const struct sb__cmsg *cm);

/**
 * sb__cmsg_build() - native control messages for sendmsg(2) from @n typed
 * ones, into @buf of @len bytes; *@used gets the msg_controllen to pass.
 * Sendable kinds: IP_PKTINFO, IPV6_PKTINFO, IP_TOS, IP_TTL, IPV6_HOPLIMIT,
 * IPV6_TCLASS, SCM_CREDENTIALS (checking what they say is the caller's business).
 * Return: 0, -EINVAL (a kind that only comes with a reception), -ENOBUFS.
 */
SB__CHECK int sb__cmsg_build(const struct sb__cmsg *cms, size_t n, void *buf, size_t len,
			     size_t *used);

/**
 * sb__cmsg_read_send() - one control message a program passes to
 * sendmsg(2), as typed data (the kinds of sb__cmsg_build(), with the sizes
 * the kernel takes).
 * Return: 0, -EOPNOTSUPP (SCM_RIGHTS: those travel over the hand-off
 *         channel, see sb__cmsg_rights_read), -EINVAL (another kind, or a
 *         wrong size).
 */
SB__CHECK int sb__cmsg_read_send(const struct cmsghdr *cm, struct sb__cmsg *c);

#endif /* SB_LIB_CMSG_H */
