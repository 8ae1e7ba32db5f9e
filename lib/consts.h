/* SPDX-License-Identifier: MIT
 * consts.h - native <-> portable tables for every constant family of the
 * contract (AF, SOCK, IPPROTO, SOL, SO, TCP, IP, IPV6, UDP, MSG, AI, NI, EAI,
 * IFF, SHUT, POLL, errno), with their names.
 *
 * The portable numbers are the enums of sockbroker.proto (Linux's numbering,
 * EAI_* as absolute values). Every translation goes through these tables,
 * so an unknown value is refused here and never reaches the kernel.
 */
#ifndef SB_LIB_CONSTS_H
#define SB_LIB_CONSTS_H

#include <stdint.h>
#include <stddef.h>

#include "compiler.h"

enum sb__cfam {
	SB__C_AF,       /* address families (enum AddressFamily) */
	SB__C_SOCK,     /* socket types (SocketType) */
	SB__C_IPPROTO,  /* protocols (Protocol) */
	SB__C_SOL,      /* option levels (OptionLevel) */
	SB__C_SO,       /* SOL_SOCKET options (SocketOption) */
	SB__C_TCP,      /* IPPROTO_TCP options (TcpOption) */
	SB__C_IP,       /* IPPROTO_IP options (IpOption) */
	SB__C_IPV6,     /* IPPROTO_IPV6 options (Ipv6Option) */
	SB__C_UDP,      /* IPPROTO_UDP options (UdpOption) */
	SB__C_MSG,      /* MSG_* bits (MsgFlag) */
	SB__C_AI,       /* AI_* bits (AiFlag) */
	SB__C_NI,       /* NI_* bits (NiFlag) */
	SB__C_EAI,      /* EAI_* codes (EaiError; native values negative) */
	SB__C_IFF,      /* IFF_* bits (IfFlag) */
	SB__C_SHUT,     /* SHUT_* (ShutdownHow) */
	SB__C_POLL,     /* POLL* bits (PollEvent) */
	SB__C_ERRNO,    /* errno (Errno) */
	SB__C_COUNT
};

struct sb__const {
	const char *name;   /* "AF_INET", "EAGAIN", ... */
	int native;         /* this system's value */
	uint32_t portable;  /* the contract's value */
};

/**
 * sb__const_table() - the table of one family, for listing and tests
 * @n: set to the number of entries
 * Return: the entries, static storage; NULL for an unknown family.
 */
const struct sb__const *sb__const_table(enum sb__cfam fam, size_t *n);

/** sb__const_to_native() - Return: 0 and *@native set, or -EINVAL (unknown). */
SB__CHECK int sb__const_to_native(enum sb__cfam fam, uint32_t portable, int *native);

/** sb__const_to_portable() - Return: 0 and *@portable set, or -EINVAL. */
SB__CHECK int sb__const_to_portable(enum sb__cfam fam, int native, uint32_t *portable);

/** sb__const_name() - "AF_INET" for (SB__C_AF, AF_INET). Return: NULL if unknown. */
const char *sb__const_name(enum sb__cfam fam, int native);

/** sb__const_by_name() - native value of "AF_INET" or "INET" (prefix optional).
 *  Return: 0 and *@native set, or -EINVAL. */
SB__CHECK int sb__const_by_name(enum sb__cfam fam, const char *name, int *native);

/**
 * sb__flags_to_native() - translate a bit set from the caller (MSG, AI,
 * NI, IFF, POLL families only): every bit must be known.
 * Return: 0, or -EINVAL when a bit has no translation (nothing written).
 */
SB__CHECK int sb__flags_to_native(enum sb__cfam fam, uint32_t portable, int *native);

/**
 * sb__flags_to_portable() - translate a bit set the kernel gave: the known
 * bits are always written (a new kernel flag must not hide the others).
 * Return: 0, or -EINVAL when some bit had no translation and was dropped.
 */
int sb__flags_to_portable(enum sb__cfam fam, int native, uint32_t *portable);

/** sb__errno_to_portable() - Return: the Errno value; unknown -> EIO's. */
uint32_t sb__errno_to_portable(int native);
/** sb__errno_to_native() - Return: the native errno; unknown -> EIO. */
int sb__errno_to_native(uint32_t portable);

/** Value types of socket options, for SockOptValue. */
enum sb__optkind {
	SB__OPT_UNKNOWN = 0, /* not in the tables: carried as raw bytes */
	SB__OPT_INT,         /* int (booleans too) */
	SB__OPT_LINGER,      /* struct linger */
	SB__OPT_TIMEVAL,     /* struct timeval */
	SB__OPT_IP_MREQ,     /* struct ip_mreqn or ip_mreq */
	SB__OPT_IPV6_MREQ,   /* struct ipv6_mreq */
	SB__OPT_ERROR,       /* SO_ERROR: an errno */
	SB__OPT_TEXT,        /* a string: SO_BINDTODEVICE, TCP_CONGESTION */
	SB__OPT_IP_MCAST_IF, /* IP_MULTICAST_IF: in_addr or ip_mreqn */
};

/**
 * sb__sockopt_kind() - the value type of a native (level, name) option
 * Return: the kind; SB__OPT_UNKNOWN when the option has no typed form.
 */
enum sb__optkind sb__sockopt_kind(int level, int name);

/**
 * sb__sockopt_family() - the constant family of option names at a level
 * Return: SB__C_SO, SB__C_TCP, ... or SB__C_COUNT for an unknown level.
 */
enum sb__cfam sb__sockopt_family(int level);

#endif /* SB_LIB_CONSTS_H */
