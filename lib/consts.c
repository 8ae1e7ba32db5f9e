/* SPDX-License-Identifier: MIT
 * consts.c - the native <-> portable constant tables of every family of the
 * contract, and the lookups built on them.
 *
 * Each row is { C name, this system's macro, number in sockbroker.proto }.
 * Aliases (AF_LOCAL, PF_*, EWOULDBLOCK, ...) follow the row they alias and
 * carry the same native and portable values, so the first row of a value
 * names it. Rows whose macro may be missing from older headers are guarded.
 * Zero rows exist only where zero means something (AF_UNSPEC, "any socket
 * type" in getaddrinfo hints, EAI success, ...).
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
/* <net/if.h> first: <linux/if.h> then adds only the flags glibc lacks
 * (IFF_LOWER_UP, IFF_DORMANT, IFF_ECHO). */
#include <net/if.h>
#include <linux/if.h>

#include "consts.h"

#define SB__ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Errno's EIO, the answer for an errno with no translation. */
#define SB__PORTABLE_EIO 5u

/* enum AddressFamily */
static const struct sb__const sb__c_af[] = {
	{ "AF_UNSPEC", AF_UNSPEC, 0 },
	{ "PF_UNSPEC", PF_UNSPEC, 0 },
	{ "AF_UNIX", AF_UNIX, 1 },
	{ "AF_LOCAL", AF_LOCAL, 1 },
	{ "PF_UNIX", PF_UNIX, 1 },
	{ "PF_LOCAL", PF_LOCAL, 1 },
	{ "AF_INET", AF_INET, 2 },
	{ "PF_INET", PF_INET, 2 },
#ifdef AF_AX25
	{ "AF_AX25", AF_AX25, 3 },
	{ "PF_AX25", PF_AX25, 3 },
#endif
#ifdef AF_IPX
	{ "AF_IPX", AF_IPX, 4 },
	{ "PF_IPX", PF_IPX, 4 },
#endif
#ifdef AF_APPLETALK
	{ "AF_APPLETALK", AF_APPLETALK, 5 },
	{ "PF_APPLETALK", PF_APPLETALK, 5 },
#endif
#ifdef AF_NETROM
	{ "AF_NETROM", AF_NETROM, 6 },
	{ "PF_NETROM", PF_NETROM, 6 },
#endif
#ifdef AF_BRIDGE
	{ "AF_BRIDGE", AF_BRIDGE, 7 },
	{ "PF_BRIDGE", PF_BRIDGE, 7 },
#endif
#ifdef AF_ATMPVC
	{ "AF_ATMPVC", AF_ATMPVC, 8 },
	{ "PF_ATMPVC", PF_ATMPVC, 8 },
#endif
#ifdef AF_X25
	{ "AF_X25", AF_X25, 9 },
	{ "PF_X25", PF_X25, 9 },
#endif
	{ "AF_INET6", AF_INET6, 10 },
	{ "PF_INET6", PF_INET6, 10 },
#ifdef AF_ROSE
	{ "AF_ROSE", AF_ROSE, 11 },
	{ "PF_ROSE", PF_ROSE, 11 },
#endif
#ifdef AF_DECnet
	{ "AF_DECnet", AF_DECnet, 12 },
	{ "PF_DECnet", PF_DECnet, 12 },
#endif
#ifdef AF_NETBEUI
	{ "AF_NETBEUI", AF_NETBEUI, 13 },
	{ "PF_NETBEUI", PF_NETBEUI, 13 },
#endif
#ifdef AF_SECURITY
	{ "AF_SECURITY", AF_SECURITY, 14 },
	{ "PF_SECURITY", PF_SECURITY, 14 },
#endif
#ifdef AF_KEY
	{ "AF_KEY", AF_KEY, 15 },
	{ "PF_KEY", PF_KEY, 15 },
#endif
#ifdef AF_NETLINK
	{ "AF_NETLINK", AF_NETLINK, 16 },
	{ "AF_ROUTE", AF_ROUTE, 16 },
	{ "PF_NETLINK", PF_NETLINK, 16 },
	{ "PF_ROUTE", PF_ROUTE, 16 },
#endif
#ifdef AF_PACKET
	{ "AF_PACKET", AF_PACKET, 17 },
	{ "PF_PACKET", PF_PACKET, 17 },
#endif
#ifdef AF_ASH
	{ "AF_ASH", AF_ASH, 18 },
	{ "PF_ASH", PF_ASH, 18 },
#endif
#ifdef AF_ECONET
	{ "AF_ECONET", AF_ECONET, 19 },
	{ "PF_ECONET", PF_ECONET, 19 },
#endif
#ifdef AF_ATMSVC
	{ "AF_ATMSVC", AF_ATMSVC, 20 },
	{ "PF_ATMSVC", PF_ATMSVC, 20 },
#endif
#ifdef AF_RDS
	{ "AF_RDS", AF_RDS, 21 },
	{ "PF_RDS", PF_RDS, 21 },
#endif
#ifdef AF_SNA
	{ "AF_SNA", AF_SNA, 22 },
	{ "PF_SNA", PF_SNA, 22 },
#endif
#ifdef AF_IRDA
	{ "AF_IRDA", AF_IRDA, 23 },
	{ "PF_IRDA", PF_IRDA, 23 },
#endif
#ifdef AF_PPPOX
	{ "AF_PPPOX", AF_PPPOX, 24 },
	{ "PF_PPPOX", PF_PPPOX, 24 },
#endif
#ifdef AF_WANPIPE
	{ "AF_WANPIPE", AF_WANPIPE, 25 },
	{ "PF_WANPIPE", PF_WANPIPE, 25 },
#endif
#ifdef AF_LLC
	{ "AF_LLC", AF_LLC, 26 },
	{ "PF_LLC", PF_LLC, 26 },
#endif
#ifdef AF_CAN
	{ "AF_CAN", AF_CAN, 29 },
	{ "PF_CAN", PF_CAN, 29 },
#endif
#ifdef AF_TIPC
	{ "AF_TIPC", AF_TIPC, 30 },
	{ "PF_TIPC", PF_TIPC, 30 },
#endif
#ifdef AF_BLUETOOTH
	{ "AF_BLUETOOTH", AF_BLUETOOTH, 31 },
	{ "PF_BLUETOOTH", PF_BLUETOOTH, 31 },
#endif
#ifdef AF_ISDN
	{ "AF_ISDN", AF_ISDN, 34 },
	{ "PF_ISDN", PF_ISDN, 34 },
#endif
#ifdef AF_ALG
	{ "AF_ALG", AF_ALG, 38 },
	{ "PF_ALG", PF_ALG, 38 },
#endif
#ifdef AF_VSOCK
	{ "AF_VSOCK", AF_VSOCK, 40 },
	{ "PF_VSOCK", PF_VSOCK, 40 },
#endif
#ifdef AF_QIPCRTR
	{ "AF_QIPCRTR", AF_QIPCRTR, 42 },
	{ "PF_QIPCRTR", PF_QIPCRTR, 42 },
#endif
};

/* enum SocketType: base types only, SOCK_NONBLOCK/SOCK_CLOEXEC are not types. */
static const struct sb__const sb__c_sock[] = {
	/* No C name: 0 is "any type" in getaddrinfo hints. */
	{ "SOCK_UNSPEC", 0, 0 },
	{ "SOCK_STREAM", SOCK_STREAM, 1 },
	{ "SOCK_DGRAM", SOCK_DGRAM, 2 },
	{ "SOCK_RAW", SOCK_RAW, 3 },
	{ "SOCK_RDM", SOCK_RDM, 4 },
	{ "SOCK_SEQPACKET", SOCK_SEQPACKET, 5 },
#ifdef SOCK_PACKET
	{ "SOCK_PACKET", SOCK_PACKET, 10 },
#endif
};

/* enum Protocol */
static const struct sb__const sb__c_ipproto[] = {
	{ "IPPROTO_IP", IPPROTO_IP, 0 },
#ifdef IPPROTO_HOPOPTS
	{ "IPPROTO_HOPOPTS", IPPROTO_HOPOPTS, 0 },
#endif
	{ "IPPROTO_ICMP", IPPROTO_ICMP, 1 },
#ifdef IPPROTO_IGMP
	{ "IPPROTO_IGMP", IPPROTO_IGMP, 2 },
#endif
#ifdef IPPROTO_IPIP
	{ "IPPROTO_IPIP", IPPROTO_IPIP, 4 },
#endif
	{ "IPPROTO_TCP", IPPROTO_TCP, 6 },
#ifdef IPPROTO_EGP
	{ "IPPROTO_EGP", IPPROTO_EGP, 8 },
#endif
#ifdef IPPROTO_PUP
	{ "IPPROTO_PUP", IPPROTO_PUP, 12 },
#endif
	{ "IPPROTO_UDP", IPPROTO_UDP, 17 },
#ifdef IPPROTO_IDP
	{ "IPPROTO_IDP", IPPROTO_IDP, 22 },
#endif
#ifdef IPPROTO_TP
	{ "IPPROTO_TP", IPPROTO_TP, 29 },
#endif
	{ "IPPROTO_IPV6", IPPROTO_IPV6, 41 },
#ifdef IPPROTO_ROUTING
	{ "IPPROTO_ROUTING", IPPROTO_ROUTING, 43 },
#endif
#ifdef IPPROTO_FRAGMENT
	{ "IPPROTO_FRAGMENT", IPPROTO_FRAGMENT, 44 },
#endif
#ifdef IPPROTO_RSVP
	{ "IPPROTO_RSVP", IPPROTO_RSVP, 46 },
#endif
#ifdef IPPROTO_GRE
	{ "IPPROTO_GRE", IPPROTO_GRE, 47 },
#endif
#ifdef IPPROTO_ESP
	{ "IPPROTO_ESP", IPPROTO_ESP, 50 },
#endif
#ifdef IPPROTO_AH
	{ "IPPROTO_AH", IPPROTO_AH, 51 },
#endif
	{ "IPPROTO_ICMPV6", IPPROTO_ICMPV6, 58 },
#ifdef IPPROTO_NONE
	{ "IPPROTO_NONE", IPPROTO_NONE, 59 },
#endif
#ifdef IPPROTO_DSTOPTS
	{ "IPPROTO_DSTOPTS", IPPROTO_DSTOPTS, 60 },
#endif
#ifdef IPPROTO_MTP
	{ "IPPROTO_MTP", IPPROTO_MTP, 92 },
#endif
#ifdef IPPROTO_BEETPH
	{ "IPPROTO_BEETPH", IPPROTO_BEETPH, 94 },
#endif
#ifdef IPPROTO_ENCAP
	{ "IPPROTO_ENCAP", IPPROTO_ENCAP, 98 },
#endif
#ifdef IPPROTO_PIM
	{ "IPPROTO_PIM", IPPROTO_PIM, 103 },
#endif
#ifdef IPPROTO_COMP
	{ "IPPROTO_COMP", IPPROTO_COMP, 108 },
#endif
#ifdef IPPROTO_SCTP
	{ "IPPROTO_SCTP", IPPROTO_SCTP, 132 },
#endif
#ifdef IPPROTO_UDPLITE
	{ "IPPROTO_UDPLITE", IPPROTO_UDPLITE, 136 },
#endif
#ifdef IPPROTO_MPLS
	{ "IPPROTO_MPLS", IPPROTO_MPLS, 137 },
#endif
#ifdef IPPROTO_ETHERNET
	{ "IPPROTO_ETHERNET", IPPROTO_ETHERNET, 143 },
#endif
	{ "IPPROTO_RAW", IPPROTO_RAW, 255 },
#ifdef IPPROTO_MPTCP
	{ "IPPROTO_MPTCP", IPPROTO_MPTCP, 262 },
#endif
};

/* enum OptionLevel: the POSIX IPPROTO_* names first, Linux's SOL_* after. */
static const struct sb__const sb__c_sol[] = {
	{ "SOL_SOCKET", SOL_SOCKET, 1 },
	{ "IPPROTO_IP", IPPROTO_IP, 0 },
	{ "IPPROTO_TCP", IPPROTO_TCP, 6 },
	{ "IPPROTO_UDP", IPPROTO_UDP, 17 },
	{ "IPPROTO_IPV6", IPPROTO_IPV6, 41 },
#ifdef SOL_IP
	{ "SOL_IP", SOL_IP, 0 },
#endif
#ifdef SOL_TCP
	{ "SOL_TCP", SOL_TCP, 6 },
#endif
#ifdef SOL_UDP
	{ "SOL_UDP", SOL_UDP, 17 },
#endif
#ifdef SOL_IPV6
	{ "SOL_IPV6", SOL_IPV6, 41 },
#endif
};

/* enum SocketOption. */
static const struct sb__const sb__c_so[] = {
	{ "SO_DEBUG", SO_DEBUG, 1 },
	{ "SO_REUSEADDR", SO_REUSEADDR, 2 },
	{ "SO_TYPE", SO_TYPE, 3 },
	{ "SO_ERROR", SO_ERROR, 4 },
	{ "SO_DONTROUTE", SO_DONTROUTE, 5 },
	{ "SO_BROADCAST", SO_BROADCAST, 6 },
	{ "SO_SNDBUF", SO_SNDBUF, 7 },
	{ "SO_RCVBUF", SO_RCVBUF, 8 },
	{ "SO_KEEPALIVE", SO_KEEPALIVE, 9 },
	{ "SO_OOBINLINE", SO_OOBINLINE, 10 },
#ifdef SO_NO_CHECK
	{ "SO_NO_CHECK", SO_NO_CHECK, 11 },
#endif
#ifdef SO_PRIORITY
	{ "SO_PRIORITY", SO_PRIORITY, 12 },
#endif
	{ "SO_LINGER", SO_LINGER, 13 },
#ifdef SO_REUSEPORT
	{ "SO_REUSEPORT", SO_REUSEPORT, 15 },
#endif
#ifdef SO_PASSCRED
	{ "SO_PASSCRED", SO_PASSCRED, 16 },
#endif
#ifdef SO_PEERCRED
	{ "SO_PEERCRED", SO_PEERCRED, 17 },
#endif
	{ "SO_RCVLOWAT", SO_RCVLOWAT, 18 },
	{ "SO_SNDLOWAT", SO_SNDLOWAT, 19 },
	{ "SO_RCVTIMEO", SO_RCVTIMEO, 20 },
	{ "SO_SNDTIMEO", SO_SNDTIMEO, 21 },
#ifdef SO_BINDTODEVICE
	{ "SO_BINDTODEVICE", SO_BINDTODEVICE, 25 },
#endif
#ifdef SO_ATTACH_FILTER
	{ "SO_ATTACH_FILTER", SO_ATTACH_FILTER, 26 },
#endif
#ifdef SO_DETACH_FILTER
	{ "SO_DETACH_FILTER", SO_DETACH_FILTER, 27 },
#endif
#ifdef SO_PEERNAME
	{ "SO_PEERNAME", SO_PEERNAME, 28 },
#endif
#ifdef SO_TIMESTAMP
	{ "SO_TIMESTAMP", SO_TIMESTAMP, 29 },
#endif
	{ "SO_ACCEPTCONN", SO_ACCEPTCONN, 30 },
#ifdef SO_PEERSEC
	{ "SO_PEERSEC", SO_PEERSEC, 31 },
#endif
#ifdef SO_SNDBUFFORCE
	{ "SO_SNDBUFFORCE", SO_SNDBUFFORCE, 32 },
#endif
#ifdef SO_RCVBUFFORCE
	{ "SO_RCVBUFFORCE", SO_RCVBUFFORCE, 33 },
#endif
#ifdef SO_PASSSEC
	{ "SO_PASSSEC", SO_PASSSEC, 34 },
#endif
#ifdef SO_TIMESTAMPNS
	{ "SO_TIMESTAMPNS", SO_TIMESTAMPNS, 35 },
#endif
#ifdef SO_MARK
	{ "SO_MARK", SO_MARK, 36 },
#endif
#ifdef SO_TIMESTAMPING
	{ "SO_TIMESTAMPING", SO_TIMESTAMPING, 37 },
#endif
#ifdef SO_PROTOCOL
	{ "SO_PROTOCOL", SO_PROTOCOL, 38 },
#endif
#ifdef SO_DOMAIN
	{ "SO_DOMAIN", SO_DOMAIN, 39 },
#endif
#ifdef SO_RXQ_OVFL
	{ "SO_RXQ_OVFL", SO_RXQ_OVFL, 40 },
#endif
#ifdef SO_WIFI_STATUS
	{ "SO_WIFI_STATUS", SO_WIFI_STATUS, 41 },
#endif
#ifdef SO_PEEK_OFF
	{ "SO_PEEK_OFF", SO_PEEK_OFF, 42 },
#endif
#ifdef SO_NOFCS
	{ "SO_NOFCS", SO_NOFCS, 43 },
#endif
#ifdef SO_LOCK_FILTER
	{ "SO_LOCK_FILTER", SO_LOCK_FILTER, 44 },
#endif
#ifdef SO_SELECT_ERR_QUEUE
	{ "SO_SELECT_ERR_QUEUE", SO_SELECT_ERR_QUEUE, 45 },
#endif
#ifdef SO_BUSY_POLL
	{ "SO_BUSY_POLL", SO_BUSY_POLL, 46 },
#endif
#ifdef SO_MAX_PACING_RATE
	{ "SO_MAX_PACING_RATE", SO_MAX_PACING_RATE, 47 },
#endif
#ifdef SO_BPF_EXTENSIONS
	{ "SO_BPF_EXTENSIONS", SO_BPF_EXTENSIONS, 48 },
#endif
#ifdef SO_INCOMING_CPU
	{ "SO_INCOMING_CPU", SO_INCOMING_CPU, 49 },
#endif
#ifdef SO_ATTACH_BPF
	{ "SO_ATTACH_BPF", SO_ATTACH_BPF, 50 },
#endif
#ifdef SO_ATTACH_REUSEPORT_CBPF
	{ "SO_ATTACH_REUSEPORT_CBPF", SO_ATTACH_REUSEPORT_CBPF, 51 },
#endif
#ifdef SO_ATTACH_REUSEPORT_EBPF
	{ "SO_ATTACH_REUSEPORT_EBPF", SO_ATTACH_REUSEPORT_EBPF, 52 },
#endif
#ifdef SO_CNX_ADVICE
	{ "SO_CNX_ADVICE", SO_CNX_ADVICE, 53 },
#endif
#ifdef SO_MEMINFO
	{ "SO_MEMINFO", SO_MEMINFO, 55 },
#endif
#ifdef SO_INCOMING_NAPI_ID
	{ "SO_INCOMING_NAPI_ID", SO_INCOMING_NAPI_ID, 56 },
#endif
#ifdef SO_COOKIE
	{ "SO_COOKIE", SO_COOKIE, 57 },
#endif
#ifdef SO_PEERGROUPS
	{ "SO_PEERGROUPS", SO_PEERGROUPS, 59 },
#endif
#ifdef SO_ZEROCOPY
	{ "SO_ZEROCOPY", SO_ZEROCOPY, 60 },
#endif
#ifdef SO_TXTIME
	{ "SO_TXTIME", SO_TXTIME, 61 },
#endif
#ifdef SO_BINDTOIFINDEX
	{ "SO_BINDTOIFINDEX", SO_BINDTOIFINDEX, 62 },
#endif
};

/* enum TcpOption. */
static const struct sb__const sb__c_tcp[] = {
	{ "TCP_NODELAY", TCP_NODELAY, 1 },
	{ "TCP_MAXSEG", TCP_MAXSEG, 2 },
#ifdef TCP_CORK
	{ "TCP_CORK", TCP_CORK, 3 },
#endif
#ifdef TCP_KEEPIDLE
	{ "TCP_KEEPIDLE", TCP_KEEPIDLE, 4 },
	{ "TCP_KEEPINTVL", TCP_KEEPINTVL, 5 },
	{ "TCP_KEEPCNT", TCP_KEEPCNT, 6 },
#endif
#ifdef TCP_SYNCNT
	{ "TCP_SYNCNT", TCP_SYNCNT, 7 },
#endif
#ifdef TCP_LINGER2
	{ "TCP_LINGER2", TCP_LINGER2, 8 },
#endif
#ifdef TCP_DEFER_ACCEPT
	{ "TCP_DEFER_ACCEPT", TCP_DEFER_ACCEPT, 9 },
#endif
#ifdef TCP_WINDOW_CLAMP
	{ "TCP_WINDOW_CLAMP", TCP_WINDOW_CLAMP, 10 },
#endif
#ifdef TCP_INFO
	{ "TCP_INFO", TCP_INFO, 11 },
#endif
#ifdef TCP_QUICKACK
	{ "TCP_QUICKACK", TCP_QUICKACK, 12 },
#endif
#ifdef TCP_CONGESTION
	{ "TCP_CONGESTION", TCP_CONGESTION, 13 },
#endif
#ifdef TCP_MD5SIG
	{ "TCP_MD5SIG", TCP_MD5SIG, 14 },
#endif
#ifdef TCP_THIN_LINEAR_TIMEOUTS
	{ "TCP_THIN_LINEAR_TIMEOUTS", TCP_THIN_LINEAR_TIMEOUTS, 16 },
#endif
#ifdef TCP_THIN_DUPACK
	{ "TCP_THIN_DUPACK", TCP_THIN_DUPACK, 17 },
#endif
#ifdef TCP_USER_TIMEOUT
	{ "TCP_USER_TIMEOUT", TCP_USER_TIMEOUT, 18 },
#endif
#ifdef TCP_REPAIR
	{ "TCP_REPAIR", TCP_REPAIR, 19 },
#endif
#ifdef TCP_FASTOPEN
	{ "TCP_FASTOPEN", TCP_FASTOPEN, 23 },
#endif
#ifdef TCP_TIMESTAMP
	{ "TCP_TIMESTAMP", TCP_TIMESTAMP, 24 },
#endif
#ifdef TCP_NOTSENT_LOWAT
	{ "TCP_NOTSENT_LOWAT", TCP_NOTSENT_LOWAT, 25 },
#endif
#ifdef TCP_CC_INFO
	{ "TCP_CC_INFO", TCP_CC_INFO, 26 },
#endif
#ifdef TCP_SAVE_SYN
	{ "TCP_SAVE_SYN", TCP_SAVE_SYN, 27 },
#endif
#ifdef TCP_SAVED_SYN
	{ "TCP_SAVED_SYN", TCP_SAVED_SYN, 28 },
#endif
#ifdef TCP_FASTOPEN_CONNECT
	{ "TCP_FASTOPEN_CONNECT", TCP_FASTOPEN_CONNECT, 30 },
#endif
#ifdef TCP_ULP
	{ "TCP_ULP", TCP_ULP, 31 },
#endif
#ifdef TCP_FASTOPEN_NO_COOKIE
	{ "TCP_FASTOPEN_NO_COOKIE", TCP_FASTOPEN_NO_COOKIE, 34 },
#endif
#ifdef TCP_ZEROCOPY_RECEIVE
	{ "TCP_ZEROCOPY_RECEIVE", TCP_ZEROCOPY_RECEIVE, 35 },
#endif
#ifdef TCP_INQ
	{ "TCP_INQ", TCP_INQ, 36 },
#endif
#ifdef TCP_TX_DELAY
	{ "TCP_TX_DELAY", TCP_TX_DELAY, 37 },
#endif
};

/* enum IpOption */
static const struct sb__const sb__c_ip[] = {
	{ "IP_TOS", IP_TOS, 1 },
	{ "IP_TTL", IP_TTL, 2 },
	{ "IP_HDRINCL", IP_HDRINCL, 3 },
	{ "IP_OPTIONS", IP_OPTIONS, 4 },
	{ "IP_RECVOPTS", IP_RECVOPTS, 6 },
	{ "IP_RECVRETOPTS", IP_RECVRETOPTS, 7 },
	{ "IP_RETOPTS", IP_RETOPTS, 7 },
#ifdef IP_PKTINFO
	{ "IP_PKTINFO", IP_PKTINFO, 8 },
#endif
#ifdef IP_PKTOPTIONS
	{ "IP_PKTOPTIONS", IP_PKTOPTIONS, 9 },
#endif
#ifdef IP_MTU_DISCOVER
	{ "IP_MTU_DISCOVER", IP_MTU_DISCOVER, 10 },
#endif
#ifdef IP_RECVERR
	{ "IP_RECVERR", IP_RECVERR, 11 },
#endif
#ifdef IP_RECVTTL
	{ "IP_RECVTTL", IP_RECVTTL, 12 },
#endif
#ifdef IP_RECVTOS
	{ "IP_RECVTOS", IP_RECVTOS, 13 },
#endif
#ifdef IP_MTU
	{ "IP_MTU", IP_MTU, 14 },
#endif
#ifdef IP_FREEBIND
	{ "IP_FREEBIND", IP_FREEBIND, 15 },
#endif
#ifdef IP_IPSEC_POLICY
	{ "IP_IPSEC_POLICY", IP_IPSEC_POLICY, 16 },
#endif
#ifdef IP_XFRM_POLICY
	{ "IP_XFRM_POLICY", IP_XFRM_POLICY, 17 },
#endif
#ifdef IP_PASSSEC
	{ "IP_PASSSEC", IP_PASSSEC, 18 },
#endif
#ifdef IP_TRANSPARENT
	{ "IP_TRANSPARENT", IP_TRANSPARENT, 19 },
#endif
	/* The option is IP_RECVORIGDSTADDR; IP_ORIGDSTADDR is its cmsg. */
#ifdef IP_RECVORIGDSTADDR
	{ "IP_RECVORIGDSTADDR", IP_RECVORIGDSTADDR, 20 },
	{ "IP_ORIGDSTADDR", IP_ORIGDSTADDR, 20 },
#endif
#ifdef IP_MINTTL
	{ "IP_MINTTL", IP_MINTTL, 21 },
#endif
#ifdef IP_NODEFRAG
	{ "IP_NODEFRAG", IP_NODEFRAG, 22 },
#endif
#ifdef IP_CHECKSUM
	{ "IP_CHECKSUM", IP_CHECKSUM, 23 },
#endif
#ifdef IP_BIND_ADDRESS_NO_PORT
	{ "IP_BIND_ADDRESS_NO_PORT", IP_BIND_ADDRESS_NO_PORT, 24 },
#endif
#ifdef IP_RECVFRAGSIZE
	{ "IP_RECVFRAGSIZE", IP_RECVFRAGSIZE, 25 },
#endif
#ifdef IP_RECVERR_RFC4884
	{ "IP_RECVERR_RFC4884", IP_RECVERR_RFC4884, 26 },
#endif
	{ "IP_MULTICAST_IF", IP_MULTICAST_IF, 32 },
	{ "IP_MULTICAST_TTL", IP_MULTICAST_TTL, 33 },
	{ "IP_MULTICAST_LOOP", IP_MULTICAST_LOOP, 34 },
	{ "IP_ADD_MEMBERSHIP", IP_ADD_MEMBERSHIP, 35 },
	{ "IP_DROP_MEMBERSHIP", IP_DROP_MEMBERSHIP, 36 },
#ifdef IP_UNBLOCK_SOURCE
	{ "IP_UNBLOCK_SOURCE", IP_UNBLOCK_SOURCE, 37 },
	{ "IP_BLOCK_SOURCE", IP_BLOCK_SOURCE, 38 },
	{ "IP_ADD_SOURCE_MEMBERSHIP", IP_ADD_SOURCE_MEMBERSHIP, 39 },
	{ "IP_DROP_SOURCE_MEMBERSHIP", IP_DROP_SOURCE_MEMBERSHIP, 40 },
#endif
#ifdef IP_MSFILTER
	{ "IP_MSFILTER", IP_MSFILTER, 41 },
#endif
#ifdef IP_MULTICAST_ALL
	{ "IP_MULTICAST_ALL", IP_MULTICAST_ALL, 49 },
#endif
#ifdef IP_UNICAST_IF
	{ "IP_UNICAST_IF", IP_UNICAST_IF, 50 },
#endif
};

/* enum Ipv6Option */
static const struct sb__const sb__c_ipv6[] = {
#ifdef IPV6_ADDRFORM
	{ "IPV6_ADDRFORM", IPV6_ADDRFORM, 1 },
#endif
#ifdef IPV6_2292PKTINFO
	{ "IPV6_2292PKTINFO", IPV6_2292PKTINFO, 2 },
	{ "IPV6_2292HOPOPTS", IPV6_2292HOPOPTS, 3 },
	{ "IPV6_2292DSTOPTS", IPV6_2292DSTOPTS, 4 },
	{ "IPV6_2292RTHDR", IPV6_2292RTHDR, 5 },
	{ "IPV6_2292PKTOPTIONS", IPV6_2292PKTOPTIONS, 6 },
#endif
#ifdef IPV6_CHECKSUM
	{ "IPV6_CHECKSUM", IPV6_CHECKSUM, 7 },
#endif
#ifdef IPV6_2292HOPLIMIT
	{ "IPV6_2292HOPLIMIT", IPV6_2292HOPLIMIT, 8 },
#endif
#ifdef IPV6_NEXTHOP
	{ "IPV6_NEXTHOP", IPV6_NEXTHOP, 9 },
#endif
#ifdef IPV6_AUTHHDR
	{ "IPV6_AUTHHDR", IPV6_AUTHHDR, 10 },
#endif
	{ "IPV6_UNICAST_HOPS", IPV6_UNICAST_HOPS, 16 },
	{ "IPV6_MULTICAST_IF", IPV6_MULTICAST_IF, 17 },
	{ "IPV6_MULTICAST_HOPS", IPV6_MULTICAST_HOPS, 18 },
	{ "IPV6_MULTICAST_LOOP", IPV6_MULTICAST_LOOP, 19 },
#ifdef IPV6_ADD_MEMBERSHIP
	{ "IPV6_ADD_MEMBERSHIP", IPV6_ADD_MEMBERSHIP, 20 },
#endif
	{ "IPV6_JOIN_GROUP", IPV6_JOIN_GROUP, 20 },
#ifdef IPV6_DROP_MEMBERSHIP
	{ "IPV6_DROP_MEMBERSHIP", IPV6_DROP_MEMBERSHIP, 21 },
#endif
	{ "IPV6_LEAVE_GROUP", IPV6_LEAVE_GROUP, 21 },
#ifdef IPV6_ROUTER_ALERT
	{ "IPV6_ROUTER_ALERT", IPV6_ROUTER_ALERT, 22 },
#endif
#ifdef IPV6_MTU_DISCOVER
	{ "IPV6_MTU_DISCOVER", IPV6_MTU_DISCOVER, 23 },
#endif
#ifdef IPV6_MTU
	{ "IPV6_MTU", IPV6_MTU, 24 },
#endif
#ifdef IPV6_RECVERR
	{ "IPV6_RECVERR", IPV6_RECVERR, 25 },
#endif
	{ "IPV6_V6ONLY", IPV6_V6ONLY, 26 },
#ifdef IPV6_JOIN_ANYCAST
	{ "IPV6_JOIN_ANYCAST", IPV6_JOIN_ANYCAST, 27 },
	{ "IPV6_LEAVE_ANYCAST", IPV6_LEAVE_ANYCAST, 28 },
#endif
#ifdef IPV6_MULTICAST_ALL
	{ "IPV6_MULTICAST_ALL", IPV6_MULTICAST_ALL, 29 },
#endif
#ifdef IPV6_ROUTER_ALERT_ISOLATE
	{ "IPV6_ROUTER_ALERT_ISOLATE", IPV6_ROUTER_ALERT_ISOLATE, 30 },
#endif
#ifdef IPV6_RECVERR_RFC4884
	{ "IPV6_RECVERR_RFC4884", IPV6_RECVERR_RFC4884, 31 },
#endif
#ifdef IPV6_RECVPKTINFO
	{ "IPV6_RECVPKTINFO", IPV6_RECVPKTINFO, 49 },
	{ "IPV6_PKTINFO", IPV6_PKTINFO, 50 },
	{ "IPV6_RECVHOPLIMIT", IPV6_RECVHOPLIMIT, 51 },
	{ "IPV6_HOPLIMIT", IPV6_HOPLIMIT, 52 },
	{ "IPV6_RECVHOPOPTS", IPV6_RECVHOPOPTS, 53 },
	{ "IPV6_HOPOPTS", IPV6_HOPOPTS, 54 },
	{ "IPV6_RTHDRDSTOPTS", IPV6_RTHDRDSTOPTS, 55 },
	{ "IPV6_RECVRTHDR", IPV6_RECVRTHDR, 56 },
	{ "IPV6_RTHDR", IPV6_RTHDR, 57 },
	{ "IPV6_RECVDSTOPTS", IPV6_RECVDSTOPTS, 58 },
	{ "IPV6_DSTOPTS", IPV6_DSTOPTS, 59 },
#endif
#ifdef IPV6_RECVPATHMTU
	{ "IPV6_RECVPATHMTU", IPV6_RECVPATHMTU, 60 },
	{ "IPV6_PATHMTU", IPV6_PATHMTU, 61 },
	{ "IPV6_DONTFRAG", IPV6_DONTFRAG, 62 },
#endif
#ifdef IPV6_RECVTCLASS
	{ "IPV6_RECVTCLASS", IPV6_RECVTCLASS, 66 },
	{ "IPV6_TCLASS", IPV6_TCLASS, 67 },
#endif
	/* The option is IPV6_RECVORIGDSTADDR; IPV6_ORIGDSTADDR is its cmsg. */
#ifdef IPV6_RECVORIGDSTADDR
	{ "IPV6_RECVORIGDSTADDR", IPV6_RECVORIGDSTADDR, 74 },
	{ "IPV6_ORIGDSTADDR", IPV6_ORIGDSTADDR, 74 },
#endif
#ifdef IPV6_TRANSPARENT
	{ "IPV6_TRANSPARENT", IPV6_TRANSPARENT, 75 },
#endif
#ifdef IPV6_UNICAST_IF
	{ "IPV6_UNICAST_IF", IPV6_UNICAST_IF, 76 },
#endif
#ifdef IPV6_RECVFRAGSIZE
	{ "IPV6_RECVFRAGSIZE", IPV6_RECVFRAGSIZE, 77 },
#endif
#ifdef IPV6_FREEBIND
	{ "IPV6_FREEBIND", IPV6_FREEBIND, 78 },
#endif
};

/* enum UdpOption */
static const struct sb__const sb__c_udp[] = {
#ifdef UDP_CORK
	{ "UDP_CORK", UDP_CORK, 1 },
#endif
#ifdef UDP_ENCAP
	{ "UDP_ENCAP", UDP_ENCAP, 100 },
#endif
#ifdef UDP_NO_CHECK6_TX
	{ "UDP_NO_CHECK6_TX", UDP_NO_CHECK6_TX, 101 },
	{ "UDP_NO_CHECK6_RX", UDP_NO_CHECK6_RX, 102 },
#endif
#ifdef UDP_SEGMENT
	{ "UDP_SEGMENT", UDP_SEGMENT, 103 },
#endif
#ifdef UDP_GRO
	{ "UDP_GRO", UDP_GRO, 104 },
#endif
};

/* enum MsgFlag: single bits only, MSG_NONE is the empty set. */
static const struct sb__const sb__c_msg[] = {
	{ "MSG_OOB", MSG_OOB, 1 },
	{ "MSG_PEEK", MSG_PEEK, 2 },
	{ "MSG_DONTROUTE", MSG_DONTROUTE, 4 },
	{ "MSG_CTRUNC", MSG_CTRUNC, 8 },
#ifdef MSG_PROXY
	{ "MSG_PROXY", MSG_PROXY, 16 },
#endif
	{ "MSG_TRUNC", MSG_TRUNC, 32 },
	{ "MSG_DONTWAIT", MSG_DONTWAIT, 64 },
	{ "MSG_EOR", MSG_EOR, 128 },
	{ "MSG_WAITALL", MSG_WAITALL, 256 },
#ifdef MSG_FIN
	{ "MSG_FIN", MSG_FIN, 512 },
	{ "MSG_SYN", MSG_SYN, 1024 },
#endif
#ifdef MSG_CONFIRM
	{ "MSG_CONFIRM", MSG_CONFIRM, 2048 },
#endif
#ifdef MSG_RST
	{ "MSG_RST", MSG_RST, 4096 },
#endif
#ifdef MSG_ERRQUEUE
	{ "MSG_ERRQUEUE", MSG_ERRQUEUE, 8192 },
#endif
	{ "MSG_NOSIGNAL", MSG_NOSIGNAL, 16384 },
#ifdef MSG_MORE
	{ "MSG_MORE", MSG_MORE, 32768 },
#endif
#ifdef MSG_WAITFORONE
	{ "MSG_WAITFORONE", MSG_WAITFORONE, 65536 },
#endif
#ifdef MSG_BATCH
	{ "MSG_BATCH", MSG_BATCH, 262144 },
#endif
#ifdef MSG_ZEROCOPY
	{ "MSG_ZEROCOPY", MSG_ZEROCOPY, 67108864 },
#endif
#ifdef MSG_FASTOPEN
	{ "MSG_FASTOPEN", MSG_FASTOPEN, 536870912 },
#endif
#ifdef MSG_CMSG_CLOEXEC
	{ "MSG_CMSG_CLOEXEC", MSG_CMSG_CLOEXEC, 1073741824 },
#endif
};

/* enum AiFlag */
static const struct sb__const sb__c_ai[] = {
	{ "AI_PASSIVE", AI_PASSIVE, 1 },
	{ "AI_CANONNAME", AI_CANONNAME, 2 },
	{ "AI_NUMERICHOST", AI_NUMERICHOST, 4 },
	{ "AI_V4MAPPED", AI_V4MAPPED, 8 },
	{ "AI_ALL", AI_ALL, 16 },
	{ "AI_ADDRCONFIG", AI_ADDRCONFIG, 32 },
#ifdef AI_IDN
	{ "AI_IDN", AI_IDN, 64 },
#endif
#ifdef AI_CANONIDN
	{ "AI_CANONIDN", AI_CANONIDN, 128 },
#endif
	{ "AI_NUMERICSERV", AI_NUMERICSERV, 1024 },
};

/* enum NiFlag */
static const struct sb__const sb__c_ni[] = {
	{ "NI_NUMERICHOST", NI_NUMERICHOST, 1 },
	{ "NI_NUMERICSERV", NI_NUMERICSERV, 2 },
	{ "NI_NOFQDN", NI_NOFQDN, 4 },
	{ "NI_NAMEREQD", NI_NAMEREQD, 8 },
	{ "NI_DGRAM", NI_DGRAM, 16 },
#ifdef NI_IDN
	{ "NI_IDN", NI_IDN, 32 },
#endif
};

/* enum EaiError: glibc's codes are negative, the contract's are not. */
static const struct sb__const sb__c_eai[] = {
	/* No C name: getaddrinfo() and getnameinfo() return 0 on success. */
	{ "EAI_OK", 0, 0 },
	{ "EAI_BADFLAGS", EAI_BADFLAGS, 1 },
	{ "EAI_NONAME", EAI_NONAME, 2 },
	{ "EAI_AGAIN", EAI_AGAIN, 3 },
	{ "EAI_FAIL", EAI_FAIL, 4 },
#ifdef EAI_NODATA
	{ "EAI_NODATA", EAI_NODATA, 5 },
#endif
	{ "EAI_FAMILY", EAI_FAMILY, 6 },
	{ "EAI_SOCKTYPE", EAI_SOCKTYPE, 7 },
	{ "EAI_SERVICE", EAI_SERVICE, 8 },
#ifdef EAI_ADDRFAMILY
	{ "EAI_ADDRFAMILY", EAI_ADDRFAMILY, 9 },
#endif
	{ "EAI_MEMORY", EAI_MEMORY, 10 },
	{ "EAI_SYSTEM", EAI_SYSTEM, 11 },
	{ "EAI_OVERFLOW", EAI_OVERFLOW, 12 },
#ifdef EAI_INPROGRESS
	{ "EAI_INPROGRESS", EAI_INPROGRESS, 100 },
	{ "EAI_CANCELED", EAI_CANCELED, 101 },
	{ "EAI_NOTCANCELED", EAI_NOTCANCELED, 102 },
	{ "EAI_ALLDONE", EAI_ALLDONE, 103 },
	{ "EAI_INTR", EAI_INTR, 104 },
#endif
#ifdef EAI_IDN_ENCODE
	{ "EAI_IDN_ENCODE", EAI_IDN_ENCODE, 105 },
#endif
};

/* enum IfFlag */
static const struct sb__const sb__c_iff[] = {
	{ "IFF_UP", IFF_UP, 1 },
	{ "IFF_BROADCAST", IFF_BROADCAST, 2 },
	{ "IFF_DEBUG", IFF_DEBUG, 4 },
	{ "IFF_LOOPBACK", IFF_LOOPBACK, 8 },
	{ "IFF_POINTOPOINT", IFF_POINTOPOINT, 16 },
	{ "IFF_NOTRAILERS", IFF_NOTRAILERS, 32 },
	{ "IFF_RUNNING", IFF_RUNNING, 64 },
	{ "IFF_NOARP", IFF_NOARP, 128 },
	{ "IFF_PROMISC", IFF_PROMISC, 256 },
	{ "IFF_ALLMULTI", IFF_ALLMULTI, 512 },
	{ "IFF_MASTER", IFF_MASTER, 1024 },
	{ "IFF_SLAVE", IFF_SLAVE, 2048 },
	{ "IFF_MULTICAST", IFF_MULTICAST, 4096 },
	{ "IFF_PORTSEL", IFF_PORTSEL, 8192 },
	{ "IFF_AUTOMEDIA", IFF_AUTOMEDIA, 16384 },
	{ "IFF_DYNAMIC", IFF_DYNAMIC, 32768 },
#ifdef IFF_LOWER_UP
	{ "IFF_LOWER_UP", IFF_LOWER_UP, 65536 },
#endif
#ifdef IFF_DORMANT
	{ "IFF_DORMANT", IFF_DORMANT, 131072 },
#endif
#ifdef IFF_ECHO
	{ "IFF_ECHO", IFF_ECHO, 262144 },
#endif
};

/* enum ShutdownHow */
static const struct sb__const sb__c_shut[] = {
	{ "SHUT_RD", SHUT_RD, 0 },
	{ "SHUT_WR", SHUT_WR, 1 },
	{ "SHUT_RDWR", SHUT_RDWR, 2 },
};

/* enum PollEvent */
static const struct sb__const sb__c_poll[] = {
	{ "POLLIN", POLLIN, 1 },
	{ "POLLPRI", POLLPRI, 2 },
	{ "POLLOUT", POLLOUT, 4 },
	{ "POLLERR", POLLERR, 8 },
	{ "POLLHUP", POLLHUP, 16 },
	{ "POLLNVAL", POLLNVAL, 32 },
	{ "POLLRDNORM", POLLRDNORM, 64 },
	{ "POLLRDBAND", POLLRDBAND, 128 },
	{ "POLLWRNORM", POLLWRNORM, 256 },
	{ "POLLWRBAND", POLLWRBAND, 512 },
#ifdef POLLRDHUP
	{ "POLLRDHUP", POLLRDHUP, 8192 },
#endif
};

/* enum Errno. E_OK (0) is handled by sb__errno_to_*(), it has no C name. */
static const struct sb__const sb__c_errno[] = {
	{ "EPERM", EPERM, 1 },
	{ "ENOENT", ENOENT, 2 },
	{ "ESRCH", ESRCH, 3 },
	{ "EINTR", EINTR, 4 },
	{ "EIO", EIO, 5 },
	{ "ENXIO", ENXIO, 6 },
	{ "E2BIG", E2BIG, 7 },
	{ "ENOEXEC", ENOEXEC, 8 },
	{ "EBADF", EBADF, 9 },
	{ "ECHILD", ECHILD, 10 },
	{ "EAGAIN", EAGAIN, 11 },
	{ "EWOULDBLOCK", EWOULDBLOCK, 11 },
	{ "ENOMEM", ENOMEM, 12 },
	{ "EACCES", EACCES, 13 },
	{ "EFAULT", EFAULT, 14 },
#ifdef ENOTBLK
	{ "ENOTBLK", ENOTBLK, 15 },
#endif
	{ "EBUSY", EBUSY, 16 },
	{ "EEXIST", EEXIST, 17 },
	{ "EXDEV", EXDEV, 18 },
	{ "ENODEV", ENODEV, 19 },
	{ "ENOTDIR", ENOTDIR, 20 },
	{ "EISDIR", EISDIR, 21 },
	{ "EINVAL", EINVAL, 22 },
	{ "ENFILE", ENFILE, 23 },
	{ "EMFILE", EMFILE, 24 },
	{ "ENOTTY", ENOTTY, 25 },
	{ "ETXTBSY", ETXTBSY, 26 },
	{ "EFBIG", EFBIG, 27 },
	{ "ENOSPC", ENOSPC, 28 },
	{ "ESPIPE", ESPIPE, 29 },
	{ "EROFS", EROFS, 30 },
	{ "EMLINK", EMLINK, 31 },
	{ "EPIPE", EPIPE, 32 },
	{ "EDOM", EDOM, 33 },
	{ "ERANGE", ERANGE, 34 },
	{ "EDEADLK", EDEADLK, 35 },
#ifdef EDEADLOCK
	{ "EDEADLOCK", EDEADLOCK, 35 },
#endif
	{ "ENAMETOOLONG", ENAMETOOLONG, 36 },
	{ "ENOLCK", ENOLCK, 37 },
	{ "ENOSYS", ENOSYS, 38 },
	{ "ENOTEMPTY", ENOTEMPTY, 39 },
	{ "ELOOP", ELOOP, 40 },
	{ "ENOMSG", ENOMSG, 42 },
	{ "EIDRM", EIDRM, 43 },
#ifdef ECHRNG
	{ "ECHRNG", ECHRNG, 44 },
	{ "EL2NSYNC", EL2NSYNC, 45 },
	{ "EL3HLT", EL3HLT, 46 },
	{ "EL3RST", EL3RST, 47 },
	{ "ELNRNG", ELNRNG, 48 },
	{ "EUNATCH", EUNATCH, 49 },
	{ "ENOCSI", ENOCSI, 50 },
	{ "EL2HLT", EL2HLT, 51 },
	{ "EBADE", EBADE, 52 },
	{ "EBADR", EBADR, 53 },
	{ "EXFULL", EXFULL, 54 },
	{ "ENOANO", ENOANO, 55 },
	{ "EBADRQC", EBADRQC, 56 },
	{ "EBADSLT", EBADSLT, 57 },
	{ "EBFONT", EBFONT, 59 },
#endif
	{ "ENOSTR", ENOSTR, 60 },
	{ "ENODATA", ENODATA, 61 },
	{ "ETIME", ETIME, 62 },
	{ "ENOSR", ENOSR, 63 },
#ifdef ENONET
	{ "ENONET", ENONET, 64 },
	{ "ENOPKG", ENOPKG, 65 },
	{ "EREMOTE", EREMOTE, 66 },
#endif
	{ "ENOLINK", ENOLINK, 67 },
#ifdef EADV
	{ "EADV", EADV, 68 },
	{ "ESRMNT", ESRMNT, 69 },
	{ "ECOMM", ECOMM, 70 },
#endif
	{ "EPROTO", EPROTO, 71 },
	{ "EMULTIHOP", EMULTIHOP, 72 },
#ifdef EDOTDOT
	{ "EDOTDOT", EDOTDOT, 73 },
#endif
	{ "EBADMSG", EBADMSG, 74 },
	{ "EOVERFLOW", EOVERFLOW, 75 },
#ifdef ENOTUNIQ
	{ "ENOTUNIQ", ENOTUNIQ, 76 },
	{ "EBADFD", EBADFD, 77 },
	{ "EREMCHG", EREMCHG, 78 },
	{ "ELIBACC", ELIBACC, 79 },
	{ "ELIBBAD", ELIBBAD, 80 },
	{ "ELIBSCN", ELIBSCN, 81 },
	{ "ELIBMAX", ELIBMAX, 82 },
	{ "ELIBEXEC", ELIBEXEC, 83 },
#endif
	{ "EILSEQ", EILSEQ, 84 },
#ifdef ERESTART
	{ "ERESTART", ERESTART, 85 },
#endif
#ifdef ESTRPIPE
	{ "ESTRPIPE", ESTRPIPE, 86 },
#endif
#ifdef EUSERS
	{ "EUSERS", EUSERS, 87 },
#endif
	{ "ENOTSOCK", ENOTSOCK, 88 },
	{ "EDESTADDRREQ", EDESTADDRREQ, 89 },
	{ "EMSGSIZE", EMSGSIZE, 90 },
	{ "EPROTOTYPE", EPROTOTYPE, 91 },
	{ "ENOPROTOOPT", ENOPROTOOPT, 92 },
	{ "EPROTONOSUPPORT", EPROTONOSUPPORT, 93 },
#ifdef ESOCKTNOSUPPORT
	{ "ESOCKTNOSUPPORT", ESOCKTNOSUPPORT, 94 },
#endif
	{ "ENOTSUP", ENOTSUP, 95 },
	{ "EOPNOTSUPP", EOPNOTSUPP, 95 },
#ifdef EPFNOSUPPORT
	{ "EPFNOSUPPORT", EPFNOSUPPORT, 96 },
#endif
	{ "EAFNOSUPPORT", EAFNOSUPPORT, 97 },
	{ "EADDRINUSE", EADDRINUSE, 98 },
	{ "EADDRNOTAVAIL", EADDRNOTAVAIL, 99 },
	{ "ENETDOWN", ENETDOWN, 100 },
	{ "ENETUNREACH", ENETUNREACH, 101 },
	{ "ENETRESET", ENETRESET, 102 },
	{ "ECONNABORTED", ECONNABORTED, 103 },
	{ "ECONNRESET", ECONNRESET, 104 },
	{ "ENOBUFS", ENOBUFS, 105 },
	{ "EISCONN", EISCONN, 106 },
	{ "ENOTCONN", ENOTCONN, 107 },
#ifdef ESHUTDOWN
	{ "ESHUTDOWN", ESHUTDOWN, 108 },
#endif
#ifdef ETOOMANYREFS
	{ "ETOOMANYREFS", ETOOMANYREFS, 109 },
#endif
	{ "ETIMEDOUT", ETIMEDOUT, 110 },
	{ "ECONNREFUSED", ECONNREFUSED, 111 },
#ifdef EHOSTDOWN
	{ "EHOSTDOWN", EHOSTDOWN, 112 },
#endif
	{ "EHOSTUNREACH", EHOSTUNREACH, 113 },
	{ "EALREADY", EALREADY, 114 },
	{ "EINPROGRESS", EINPROGRESS, 115 },
	{ "ESTALE", ESTALE, 116 },
#ifdef EUCLEAN
	{ "EUCLEAN", EUCLEAN, 117 },
	{ "ENOTNAM", ENOTNAM, 118 },
	{ "ENAVAIL", ENAVAIL, 119 },
	{ "EISNAM", EISNAM, 120 },
	{ "EREMOTEIO", EREMOTEIO, 121 },
#endif
	{ "EDQUOT", EDQUOT, 122 },
#ifdef ENOMEDIUM
	{ "ENOMEDIUM", ENOMEDIUM, 123 },
	{ "EMEDIUMTYPE", EMEDIUMTYPE, 124 },
#endif
	{ "ECANCELED", ECANCELED, 125 },
#ifdef ENOKEY
	{ "ENOKEY", ENOKEY, 126 },
	{ "EKEYEXPIRED", EKEYEXPIRED, 127 },
	{ "EKEYREVOKED", EKEYREVOKED, 128 },
	{ "EKEYREJECTED", EKEYREJECTED, 129 },
#endif
	{ "EOWNERDEAD", EOWNERDEAD, 130 },
	{ "ENOTRECOVERABLE", ENOTRECOVERABLE, 131 },
#ifdef ERFKILL
	{ "ERFKILL", ERFKILL, 132 },
#endif
#ifdef EHWPOISON
	{ "EHWPOISON", EHWPOISON, 133 },
#endif
};

struct sb__ctab {
	const struct sb__const *c;
	size_t n;
};

#define SB__CTAB(t) { t, SB__ARRAY_SIZE(t) }

static const struct sb__ctab sb__ctabs[SB__C_COUNT] = {
	[SB__C_AF] = SB__CTAB(sb__c_af),
	[SB__C_SOCK] = SB__CTAB(sb__c_sock),
	[SB__C_IPPROTO] = SB__CTAB(sb__c_ipproto),
	[SB__C_SOL] = SB__CTAB(sb__c_sol),
	[SB__C_SO] = SB__CTAB(sb__c_so),
	[SB__C_TCP] = SB__CTAB(sb__c_tcp),
	[SB__C_IP] = SB__CTAB(sb__c_ip),
	[SB__C_IPV6] = SB__CTAB(sb__c_ipv6),
	[SB__C_UDP] = SB__CTAB(sb__c_udp),
	[SB__C_MSG] = SB__CTAB(sb__c_msg),
	[SB__C_AI] = SB__CTAB(sb__c_ai),
	[SB__C_NI] = SB__CTAB(sb__c_ni),
	[SB__C_EAI] = SB__CTAB(sb__c_eai),
	[SB__C_IFF] = SB__CTAB(sb__c_iff),
	[SB__C_SHUT] = SB__CTAB(sb__c_shut),
	[SB__C_POLL] = SB__CTAB(sb__c_poll),
	[SB__C_ERRNO] = SB__CTAB(sb__c_errno),
};

const struct sb__const *sb__const_table(enum sb__cfam fam, size_t *n)
{
	if ((unsigned int)fam >= SB__C_COUNT) {
		if (n)
			*n = 0;
		return NULL;
	}
	if (n)
		*n = sb__ctabs[fam].n;
	return sb__ctabs[fam].c;
}

/* The first row of @fam whose native value is @native, or NULL. */
static const struct sb__const *sb__find_native(enum sb__cfam fam, int native)
{
	const struct sb__const *t;
	size_t i, n;

	t = sb__const_table(fam, &n);
	for (i = 0; i < n; i++)
		if (t[i].native == native)
			return &t[i];
	return NULL;
}

/* The first row of @fam whose portable value is @portable, or NULL. */
static const struct sb__const *sb__find_portable(enum sb__cfam fam,
						 uint32_t portable)
{
	const struct sb__const *t;
	size_t i, n;

	t = sb__const_table(fam, &n);
	for (i = 0; i < n; i++)
		if (t[i].portable == portable)
			return &t[i];
	return NULL;
}

int sb__const_to_native(enum sb__cfam fam, uint32_t portable, int *native)
{
	const struct sb__const *e = sb__find_portable(fam, portable);

	if (!e)
		return -EINVAL;
	*native = e->native;
	return 0;
}

int sb__const_to_portable(enum sb__cfam fam, int native, uint32_t *portable)
{
	const struct sb__const *e = sb__find_native(fam, native);

	if (!e)
		return -EINVAL;
	*portable = e->portable;
	return 0;
}

const char *sb__const_name(enum sb__cfam fam, int native)
{
	const struct sb__const *e = sb__find_native(fam, native);

	return e ? e->name : NULL;
}

/* @name against @entry, or against @entry past its first '_' if @bare. */
static int sb__name_matches(const char *entry, const char *name, int bare)
{
	if (bare) {
		entry = strchr(entry, '_');
		if (!entry)
			return 0;
		entry++;
	}
	return strcasecmp(entry, name) == 0;
}

int sb__const_by_name(enum sb__cfam fam, const char *name, int *native)
{
	const struct sb__const *t;
	size_t i, n;
	int bare;

	t = sb__const_table(fam, &n);
	if (!t || !name || !*name)
		return -EINVAL;
	/* Full names first, so a bare name never shadows a full one. */
	for (bare = 0; bare <= 1; bare++) {
		for (i = 0; i < n; i++) {
			if (sb__name_matches(t[i].name, name, bare)) {
				*native = t[i].native;
				return 0;
			}
		}
	}
	return -EINVAL;
}

static int sb__is_flag_family(enum sb__cfam fam)
{
	switch (fam) {
	case SB__C_MSG:
	case SB__C_AI:
	case SB__C_NI:
	case SB__C_IFF:
	case SB__C_POLL:
		return 1;
	default:
		return 0;
	}
}

static int sb__one_bit(uint32_t v)
{
	return v && !(v & (v - 1));
}

int sb__flags_to_native(enum sb__cfam fam, uint32_t portable, int *native)
{
	const struct sb__const *e;
	uint32_t bit, out = 0;
	unsigned int i;

	if (!sb__is_flag_family(fam))
		return -EINVAL;
	for (i = 0; i < 32; i++) {
		bit = UINT32_C(1) << i;
		if (!(portable & bit))
			continue;
		e = sb__find_portable(fam, bit);
		if (!e || !sb__one_bit((uint32_t)e->native))
			return -EINVAL;
		out |= (uint32_t)e->native;
	}
	*native = (int)out;
	return 0;
}

int sb__flags_to_portable(enum sb__cfam fam, int native, uint32_t *portable)
{
	const struct sb__const *e;
	uint32_t bits = (uint32_t)native, bit, out = 0;
	unsigned int i;
	int ret = 0;

	if (!sb__is_flag_family(fam))
		return -EINVAL;
	for (i = 0; i < 32; i++) {
		bit = UINT32_C(1) << i;
		if (!(bits & bit))
			continue;
		e = sb__find_native(fam, (int)bit);
		if (!e || !sb__one_bit(e->portable)) {
			ret = -EINVAL;	/* dropped; the known bits still go */
			continue;
		}
		out |= e->portable;
	}
	*portable = out;
	return ret;
}

uint32_t sb__errno_to_portable(int native)
{
	uint32_t p;

	if (native == 0)
		return 0;
	if (sb__const_to_portable(SB__C_ERRNO, native, &p) < 0)
		return SB__PORTABLE_EIO;
	return p;
}

int sb__errno_to_native(uint32_t portable)
{
	int e;

	if (portable == 0)
		return 0;
	if (sb__const_to_native(SB__C_ERRNO, portable, &e) < 0)
		return EIO;
	return e;
}

/* Value types of SOL_SOCKET options that are not plain ints. */
static enum sb__optkind sb__so_kind(int name)
{
	switch (name) {
	case SO_LINGER:
		return SB__OPT_LINGER;
	case SO_RCVTIMEO:
	case SO_SNDTIMEO:
		return SB__OPT_TIMEVAL;
	case SO_ERROR:
		return SB__OPT_ERROR;
#ifdef SO_BINDTODEVICE
	case SO_BINDTODEVICE:
		return SB__OPT_TEXT;
#endif
#ifdef SO_PEERCRED
	case SO_PEERCRED:	/* struct ucred */
#endif
#ifdef SO_ATTACH_FILTER
	case SO_ATTACH_FILTER:	/* struct sock_fprog */
#endif
#ifdef SO_PEERNAME
	case SO_PEERNAME:	/* struct sockaddr */
#endif
#ifdef SO_PEERSEC
	case SO_PEERSEC:	/* security label, not NUL-terminated */
#endif
#ifdef SO_ATTACH_REUSEPORT_CBPF
	case SO_ATTACH_REUSEPORT_CBPF:	/* struct sock_fprog */
#endif
#ifdef SO_MEMINFO
	case SO_MEMINFO:	/* u32 array */
#endif
#ifdef SO_COOKIE
	case SO_COOKIE:		/* u64 */
#endif
#ifdef SO_PEERGROUPS
	case SO_PEERGROUPS:	/* gid_t array */
#endif
#ifdef SO_TXTIME
	case SO_TXTIME:		/* struct sock_txtime */
#endif
#ifdef SO_ATTACH_BPF
	case SO_ATTACH_BPF:	/* an fd number, not an int */
#endif
#ifdef SO_ATTACH_REUSEPORT_EBPF
	case SO_ATTACH_REUSEPORT_EBPF:	/* an fd number */
#endif
		return SB__OPT_UNKNOWN;
	default:
		return SB__OPT_INT;
	}
}

/* Value types of IPPROTO_TCP options that are not plain ints. */
static enum sb__optkind sb__tcp_kind(int name)
{
	switch (name) {
#ifdef TCP_CONGESTION
	case TCP_CONGESTION:
#endif
#ifdef TCP_ULP
	case TCP_ULP:
#endif
		return SB__OPT_TEXT;
#ifdef TCP_INFO
	case TCP_INFO:		/* struct tcp_info */
#endif
#ifdef TCP_MD5SIG
	case TCP_MD5SIG:	/* struct tcp_md5sig */
#endif
#ifdef TCP_CC_INFO
	case TCP_CC_INFO:	/* union tcp_cc_info */
#endif
#ifdef TCP_SAVED_SYN
	case TCP_SAVED_SYN:	/* headers */
#endif
#ifdef TCP_ZEROCOPY_RECEIVE
	case TCP_ZEROCOPY_RECEIVE:	/* struct tcp_zerocopy_receive */
#endif
		return SB__OPT_UNKNOWN;
	default:
		return SB__OPT_INT;
	}
}

/* Value types of IPPROTO_IP options that are not plain ints. */
static enum sb__optkind sb__ip_kind(int name)
{
	switch (name) {
	case IP_ADD_MEMBERSHIP:
	case IP_DROP_MEMBERSHIP:
		return SB__OPT_IP_MREQ;
	case IP_MULTICAST_IF:
		return SB__OPT_IP_MCAST_IF;
	case IP_OPTIONS:	/* IP header options */
#ifdef IP_PKTOPTIONS
	case IP_PKTOPTIONS:	/* cmsgs */
#endif
#ifdef IP_IPSEC_POLICY
	case IP_IPSEC_POLICY:	/* policy blob */
#endif
#ifdef IP_XFRM_POLICY
	case IP_XFRM_POLICY:	/* policy blob */
#endif
#ifdef IP_UNBLOCK_SOURCE
	case IP_UNBLOCK_SOURCE:	/* struct ip_mreq_source */
	case IP_BLOCK_SOURCE:
	case IP_ADD_SOURCE_MEMBERSHIP:
	case IP_DROP_SOURCE_MEMBERSHIP:
#endif
#ifdef IP_MSFILTER
	case IP_MSFILTER:	/* struct ip_msfilter */
#endif
		return SB__OPT_UNKNOWN;
	default:
		return SB__OPT_INT;
	}
}

/* Value types of IPPROTO_IPV6 options that are not plain ints. */
static enum sb__optkind sb__ipv6_kind(int name)
{
	switch (name) {
	case IPV6_JOIN_GROUP:
	case IPV6_LEAVE_GROUP:
#ifdef IPV6_JOIN_ANYCAST
	case IPV6_JOIN_ANYCAST:
	case IPV6_LEAVE_ANYCAST:
#endif
		return SB__OPT_IPV6_MREQ;
#ifdef IPV6_2292PKTOPTIONS
	case IPV6_2292PKTOPTIONS:	/* cmsgs */
#endif
#ifdef IPV6_NEXTHOP
	case IPV6_NEXTHOP:	/* struct sockaddr_in6 */
#endif
#ifdef IPV6_RECVPKTINFO
	case IPV6_PKTINFO:	/* struct in6_pktinfo */
	case IPV6_HOPOPTS:	/* extension headers */
	case IPV6_RTHDRDSTOPTS:
	case IPV6_RTHDR:
	case IPV6_DSTOPTS:
#endif
#ifdef IPV6_RECVPATHMTU
	case IPV6_PATHMTU:	/* struct ip6_mtuinfo */
#endif
		return SB__OPT_UNKNOWN;
	default:
		return SB__OPT_INT;
	}
}

enum sb__optkind sb__sockopt_kind(int level, int name)
{
	enum sb__cfam fam = sb__sockopt_family(level);

	if (fam == SB__C_COUNT || !sb__find_native(fam, name))
		return SB__OPT_UNKNOWN;
	switch (fam) {
	case SB__C_SO:
		return sb__so_kind(name);
	case SB__C_TCP:
		return sb__tcp_kind(name);
	case SB__C_IP:
		return sb__ip_kind(name);
	case SB__C_IPV6:
		return sb__ipv6_kind(name);
	default:	/* every UDP option is an int */
		return SB__OPT_INT;
	}
}

enum sb__cfam sb__sockopt_family(int level)
{
	switch (level) {
	case SOL_SOCKET:
		return SB__C_SO;
	case IPPROTO_TCP:
		return SB__C_TCP;
	case IPPROTO_IP:
		return SB__C_IP;
	case IPPROTO_IPV6:
		return SB__C_IPV6;
	case IPPROTO_UDP:
		return SB__C_UDP;
	default:
		return SB__C_COUNT;
	}
}
