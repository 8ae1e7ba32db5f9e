/* SPDX-License-Identifier: MIT
 * cmsg.c - control messages of recvmsg(2) <-> struct sb__cmsg.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <linux/errqueue.h> /* after <time.h>: it uses struct timespec */

#include "cmsg.h"

/* Read one extended error and its offender (SO_EE_OFFENDER follows it). */
static void sb__cmsg_err(struct sb__cmsg *c, const struct cmsghdr *cm, socklen_t alen)
{
	struct sock_extended_err ee;
	size_t n = cm->cmsg_len - CMSG_LEN(0);

	memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
	c->ee_errno = (int)ee.ee_errno;
	c->ee_origin = ee.ee_origin;
	c->ee_type = ee.ee_type;
	c->ee_code = ee.ee_code;
	c->ee_info = ee.ee_info;
	c->ee_data = ee.ee_data;
	if (n >= sizeof(ee) + alen &&
	    sb__addr_from_sockaddr(&c->offender,
				   (const struct sockaddr *)(CMSG_DATA(cm) + sizeof(ee)),
				   alen) < 0)
		c->offender.kind = SB__ADDR_NONE;
}

/* One kernel message into @c. Return: 1 when it is one of ours, else 0. */
static int sb__cmsg_one(struct sb__cmsg *c, const struct cmsghdr *cm)
{
	size_t n = cm->cmsg_len - CMSG_LEN(0);
	const uint8_t *d = CMSG_DATA(cm);

	memset(c, 0, sizeof(*c));
	if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO &&
	    n >= sizeof(struct in_pktinfo)) {
		struct in_pktinfo pi;

		memcpy(&pi, d, sizeof(pi));
		c->kind = SB__CM_IP_PKTINFO;
		c->ifindex = pi.ipi_ifindex;
		memcpy(c->spec_dst, &pi.ipi_spec_dst, 4);
		memcpy(c->addr, &pi.ipi_addr, 4);
	} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO &&
		   n >= sizeof(struct in6_pktinfo)) {
		struct in6_pktinfo pi;

		memcpy(&pi, d, sizeof(pi));
		c->kind = SB__CM_IPV6_PKTINFO;
		c->ifindex = (int)pi.ipi6_ifindex;
		memcpy(c->addr, &pi.ipi6_addr, 16);
	} else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_TIMESTAMP &&
		   n >= sizeof(struct timeval)) {
		struct timeval tv;

		memcpy(&tv, d, sizeof(tv));
		c->kind = SB__CM_TIMESTAMP;
		c->sec = tv.tv_sec;
		c->nsec = (int64_t)tv.tv_usec * 1000;
	} else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_TIMESTAMPNS &&
		   n >= sizeof(struct timespec)) {
		struct timespec ts;

		memcpy(&ts, d, sizeof(ts));
		c->kind = SB__CM_TIMESTAMPNS;
		c->sec = ts.tv_sec;
		c->nsec = ts.tv_nsec;
	} else if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TOS && n >= 1) {
		c->kind = SB__CM_IP_TOS;
		c->value = d[0];
	} else if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TTL &&
		   n >= sizeof(int)) {
		c->kind = SB__CM_IP_TTL;
		memcpy(&c->value, d, sizeof(int));
	} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_HOPLIMIT &&
		   n >= sizeof(int)) {
		c->kind = SB__CM_IPV6_HOPLIMIT;
		memcpy(&c->value, d, sizeof(int));
	} else if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_RECVERR &&
		   n >= sizeof(struct sock_extended_err)) {
		c->kind = SB__CM_IP_RECVERR;
		sb__cmsg_err(c, cm, sizeof(struct sockaddr_in));
	} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_RECVERR &&
		   n >= sizeof(struct sock_extended_err)) {
		c->kind = SB__CM_IPV6_RECVERR;
		sb__cmsg_err(c, cm, sizeof(struct sockaddr_in6));
	} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_TCLASS &&
		   n >= sizeof(int)) {
		c->kind = SB__CM_IPV6_TCLASS;
		memcpy(&c->value, d, sizeof(int));
	} else if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_ORIGDSTADDR &&
		   n >= sizeof(struct sockaddr_in)) {
		c->kind = SB__CM_IP_ORIGDSTADDR;
		if (sb__addr_from_sockaddr(&c->offender, (const struct sockaddr *)d,
					   sizeof(struct sockaddr_in)) < 0)
			c->kind = SB__CM_NONE;
	} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_ORIGDSTADDR &&
		   n >= sizeof(struct sockaddr_in6)) {
		c->kind = SB__CM_IPV6_ORIGDSTADDR;
		if (sb__addr_from_sockaddr(&c->offender, (const struct sockaddr *)d,
					   sizeof(struct sockaddr_in6)) < 0)
			c->kind = SB__CM_NONE;
	} else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL &&
		   n >= sizeof(uint32_t)) {
		uint32_t v;

		memcpy(&v, d, sizeof(v));
		c->kind = SB__CM_RXQ_OVFL;
		c->value = (int)v;
	} else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS &&
		   n >= sizeof(struct ucred)) {
		struct ucred uc;

		memcpy(&uc, d, sizeof(uc));
		c->kind = SB__CM_CREDENTIALS;
		c->pid = (uint32_t)uc.pid;
		c->uid = uc.uid;
		c->gid = uc.gid;
	}
	return c->kind != SB__CM_NONE;
}

void sb__fdset_close(struct sb__fdset *set)
{
	while (set->n)
		close(set->fd[--set->n]);
}

/* The descriptors of @cm when it is SCM_RIGHTS: into @keep while it has
 * room, else closed with MSG_CTRUNC in @mh->msg_flags, which is what the
 * kernel says when it could not install descriptors.
 * Return: 1 when @cm was SCM_RIGHTS, else 0. */
static int sb__cmsg_take_fds(struct msghdr *mh, const struct cmsghdr *cm,
			     struct sb__fdset *keep)
{
	size_t i, k;
	int fd;

	if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
		return 0;
	k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	for (i = 0; i < k; i++) {
		memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
		if (keep && keep->n < SB__SCM_MAX_FD) {
			keep->fd[keep->n++] = fd;
			continue;
		}
		close(fd);
		mh->msg_flags |= MSG_CTRUNC;
	}
	return 1;
}

int sb__cmsg_drop_fds(struct msghdr *mh, const struct cmsghdr *cm)
{
	int ret = sb__cmsg_take_fds(mh, cm, NULL);

	if (ret)
		mh->msg_flags |= MSG_CTRUNC;
	return ret;
}

size_t sb__cmsg_parse_fds(struct msghdr *mh, struct sb__cmsg *out, size_t max,
			  struct sb__fdset *keep)
{
	struct cmsghdr *cm;
	size_t n = 0;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (keep ? sb__cmsg_take_fds(mh, cm, keep) : sb__cmsg_drop_fds(mh, cm))
			continue;
		if (n < max && sb__cmsg_one(&out[n], cm))
			n++;
		else
			mh->msg_flags |= MSG_CTRUNC;
	}
	return n;
}

size_t sb__cmsg_parse(struct msghdr *mh, struct sb__cmsg *out, size_t max)
{
	return sb__cmsg_parse_fds(mh, out, max, NULL);
}

size_t sb__cmsg_put_rights(void *ctl, size_t len, size_t *used, int *flags,
			   struct sb__fdset *set)
{
	size_t room = ctl && *used < len ? len - *used : 0;
	size_t max = room > sizeof(struct cmsghdr)
		     ? (room - sizeof(struct cmsghdr)) / sizeof(int) : 0;
	size_t n = set->n < max ? set->n : max, space;
	struct cmsghdr hdr;

	if (n) {
		memset(&hdr, 0, sizeof(hdr));
		hdr.cmsg_level = SOL_SOCKET;
		hdr.cmsg_type = SCM_RIGHTS;
		hdr.cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy((uint8_t *)ctl + *used, &hdr, sizeof(hdr));
		memcpy((uint8_t *)ctl + *used + CMSG_LEN(0), set->fd, n * sizeof(int));
		space = CMSG_SPACE(n * sizeof(int));
		*used += space < room ? space : room;
	}
	/* scm_detach_fds(): what did not fit is dropped, and said so. */
	if (n < set->n)
		*flags |= MSG_CTRUNC;
	while (set->n > n)
		close(set->fd[--set->n]);
	set->n = 0;
	return n;
}

int sb__cmsg_rights_read(const struct cmsghdr *cm, struct sb__fdset *set)
{
	size_t i, k;
	int fd;

	if (cm->cmsg_len <= CMSG_LEN(0))
		return 0;
	k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	if (k > SB__SCM_MAX_FD - set->n)
		return -EINVAL;
	for (i = 0; i < k; i++) {
		memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
		if (fd < 0 || fcntl(fd, F_GETFD) < 0)
			return -EBADF;
		set->fd[set->n++] = fd;
	}
	return 0;
}

int sb__cmsg_add_rights(void *buf, size_t len, size_t *used, const struct sb__fdset *set)
{
	size_t need = CMSG_SPACE(set->n * sizeof(int));
	struct cmsghdr hdr;

	if (*used > len || len - *used < need)
		return -ENOBUFS;
	memset((uint8_t *)buf + *used, 0, need);
	memset(&hdr, 0, sizeof(hdr));
	hdr.cmsg_level = SOL_SOCKET;
	hdr.cmsg_type = SCM_RIGHTS;
	hdr.cmsg_len = CMSG_LEN(set->n * sizeof(int));
	memcpy((uint8_t *)buf + *used, &hdr, sizeof(hdr));
	memcpy((uint8_t *)buf + *used + CMSG_LEN(0), set->fd, set->n * sizeof(int));
	*used += need;
	return 0;
}

/* The native level, type and data of @cm. Return: the data's length, or
 * -EINVAL for an unknown kind. */
static int sb__cmsg_native(const struct sb__cmsg *cm, int *level, int *type,
			   uint8_t *d)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	switch (cm->kind) {
	case SB__CM_IP_PKTINFO: {
		struct in_pktinfo pi = { .ipi_ifindex = cm->ifindex };

		memcpy(&pi.ipi_spec_dst, cm->spec_dst, 4);
		memcpy(&pi.ipi_addr, cm->addr, 4);
		*level = IPPROTO_IP;
		*type = IP_PKTINFO;
		memcpy(d, &pi, sizeof(pi));
		return sizeof(pi);
	}
	case SB__CM_IPV6_PKTINFO: {
		struct in6_pktinfo pi = { .ipi6_ifindex = (unsigned)cm->ifindex };

		memcpy(&pi.ipi6_addr, cm->addr, 16);
		*level = IPPROTO_IPV6;
		*type = IPV6_PKTINFO;
		memcpy(d, &pi, sizeof(pi));
		return sizeof(pi);
	}
	case SB__CM_TIMESTAMP: {
		struct timeval tv = { .tv_sec = (time_t)cm->sec,
				      .tv_usec = (suseconds_t)(cm->nsec / 1000) };

		*level = SOL_SOCKET;
		*type = SO_TIMESTAMP;
		memcpy(d, &tv, sizeof(tv));
		return sizeof(tv);
	}
	case SB__CM_TIMESTAMPNS: {
		struct timespec ts = { .tv_sec = (time_t)cm->sec, .tv_nsec = (long)cm->nsec };

		*level = SOL_SOCKET;
		*type = SO_TIMESTAMPNS;
		memcpy(d, &ts, sizeof(ts));
		return sizeof(ts);
	}
	case SB__CM_IP_TOS:
		*level = IPPROTO_IP;
		*type = IP_TOS;
		d[0] = (uint8_t)cm->value;
		return 1;
	case SB__CM_IP_TTL:
	case SB__CM_IPV6_HOPLIMIT:
		*level = cm->kind == SB__CM_IP_TTL ? IPPROTO_IP : IPPROTO_IPV6;
		*type = cm->kind == SB__CM_IP_TTL ? IP_TTL : IPV6_HOPLIMIT;
		memcpy(d, &cm->value, sizeof(int));
		return sizeof(int);
	case SB__CM_IPV6_TCLASS:
		*level = IPPROTO_IPV6;
		*type = IPV6_TCLASS;
		memcpy(d, &cm->value, sizeof(int));
		return sizeof(int);
	case SB__CM_RXQ_OVFL: {
		uint32_t v = (uint32_t)cm->value;

		*level = SOL_SOCKET;
		*type = SO_RXQ_OVFL;
		memcpy(d, &v, sizeof(v));
		return sizeof(v);
	}
	case SB__CM_IP_ORIGDSTADDR:
	case SB__CM_IPV6_ORIGDSTADDR:
		/* The address of the family the message says, nothing else. */
		if (cm->offender.kind != (cm->kind == SB__CM_IP_ORIGDSTADDR ? SB__ADDR_INET
									    : SB__ADDR_INET6))
			return -EINVAL;
		*level = cm->kind == SB__CM_IP_ORIGDSTADDR ? IPPROTO_IP : IPPROTO_IPV6;
		*type = cm->kind == SB__CM_IP_ORIGDSTADDR ? IP_ORIGDSTADDR : IPV6_ORIGDSTADDR;
		memset(&ss, 0, sizeof(ss));
		if (sb__addr_to_sockaddr(&cm->offender, &ss, &sl) < 0)
			return -EINVAL;
		memcpy(d, &ss, sl);
		return (int)sl;
	case SB__CM_IP_RECVERR:
	case SB__CM_IPV6_RECVERR: {
		struct sock_extended_err ee = {
			.ee_errno = (uint32_t)cm->ee_errno, .ee_origin = cm->ee_origin,
			.ee_type = cm->ee_type, .ee_code = cm->ee_code,
			.ee_info = cm->ee_info, .ee_data = cm->ee_data };
		size_t alen = cm->kind == SB__CM_IP_RECVERR ? sizeof(struct sockaddr_in)
							    : sizeof(struct sockaddr_in6);

		*level = cm->kind == SB__CM_IP_RECVERR ? IPPROTO_IP : IPPROTO_IPV6;
		*type = cm->kind == SB__CM_IP_RECVERR ? IP_RECVERR : IPV6_RECVERR;
		memcpy(d, &ee, sizeof(ee));
		/* The kernel always appends the offender's room, zeroed
		 * (AF_UNSPEC) when nobody is known. */
		memset(d + sizeof(ee), 0, alen);
		if (cm->offender.kind != SB__ADDR_NONE &&
		    sb__addr_to_sockaddr(&cm->offender, &ss, &sl) == 0 && sl <= alen)
			memcpy(d + sizeof(ee), &ss, sl);
		return (int)(sizeof(ee) + alen);
	}
	case SB__CM_CREDENTIALS: {
		struct ucred uc = { .pid = (pid_t)cm->pid, .uid = cm->uid, .gid = cm->gid };

		*level = SOL_SOCKET;
		*type = SCM_CREDENTIALS;
		memcpy(d, &uc, sizeof(uc));
		return sizeof(uc);
	}
	case SB__CM_NONE:
		break;
	}
	return -EINVAL;
}

int sb__cmsg_put(void *ctl, size_t len, size_t *used, int *flags,
		 const struct sb__cmsg *cm)
{
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(struct sock_extended_err) +
				     sizeof(struct sockaddr_in6))];
	} tmp;
	struct cmsghdr hdr;
	size_t room, cmlen, space;
	int level, type, n;

	n = sb__cmsg_native(cm, &level, &type, tmp.b);
	if (n < 0)
		return n;
	room = *used < len ? len - *used : 0;
	/* Linux's put_cmsg(): no room for a header is MSG_CTRUNC and
	 * nothing; a message that does not fit is cut to the room left. */
	if (!ctl || room < sizeof(struct cmsghdr)) {
		*flags |= MSG_CTRUNC;
		return 0;
	}
	cmlen = CMSG_LEN((size_t)n);
	if (room < cmlen) {
		*flags |= MSG_CTRUNC;
		cmlen = room;
	}
	memset(&hdr, 0, sizeof(hdr));
	hdr.cmsg_level = level;
	hdr.cmsg_type = type;
	hdr.cmsg_len = cmlen;
	memcpy((uint8_t *)ctl + *used, &hdr, sizeof(hdr));
	memcpy((uint8_t *)ctl + *used + CMSG_LEN(0), tmp.b, cmlen - CMSG_LEN(0));
	space = CMSG_SPACE((size_t)n);
	*used += space < room ? space : room;
	return 0;
}

/* The size of the data of a message @c sends, or 0 for a kind that only
 * comes with a reception. */
static size_t sb__cmsg_send_size(const struct sb__cmsg *c, int *level, int *type)
{
	switch (c->kind) {
	case SB__CM_IP_PKTINFO:
		*level = IPPROTO_IP;
		*type = IP_PKTINFO;
		return sizeof(struct in_pktinfo);
	case SB__CM_IPV6_PKTINFO:
		*level = IPPROTO_IPV6;
		*type = IPV6_PKTINFO;
		return sizeof(struct in6_pktinfo);
	case SB__CM_IP_TOS:
		*level = IPPROTO_IP;
		*type = IP_TOS;
		return sizeof(int);
	case SB__CM_IP_TTL:
		*level = IPPROTO_IP;
		*type = IP_TTL;
		return sizeof(int);
	case SB__CM_IPV6_HOPLIMIT:
		*level = IPPROTO_IPV6;
		*type = IPV6_HOPLIMIT;
		return sizeof(int);
	case SB__CM_IPV6_TCLASS:
		*level = IPPROTO_IPV6;
		*type = IPV6_TCLASS;
		return sizeof(int);
	case SB__CM_CREDENTIALS:
		*level = SOL_SOCKET;
		*type = SCM_CREDENTIALS;
		return sizeof(struct ucred);
	default:
		return 0;
	}
}

int sb__cmsg_build(const struct sb__cmsg *cms, size_t n, void *buf, size_t len,
		   size_t *used)
{
	struct msghdr mh = { .msg_control = buf, .msg_controllen = len };
	struct cmsghdr *cm = NULL;
	size_t i, need = 0;

	for (i = 0; i < n; i++) {
		int level, type;
		size_t sz = sb__cmsg_send_size(&cms[i], &level, &type);

		if (!sz)
			return -EINVAL;
		need += CMSG_SPACE(sz);
	}
	if (need > len)
		return -ENOBUFS;
	memset(buf, 0, need);
	mh.msg_controllen = need;
	for (i = 0; i < n; i++) {
		const struct sb__cmsg *c = &cms[i];
		int level = 0, type = 0, v = c->value;
		size_t sz = sb__cmsg_send_size(c, &level, &type);
		uint8_t *d;

		cm = cm ? CMSG_NXTHDR(&mh, cm) : CMSG_FIRSTHDR(&mh);
		if (!cm)
			return -ENOBUFS;
		cm->cmsg_level = level;
		cm->cmsg_type = type;
		cm->cmsg_len = CMSG_LEN(sz);
		d = CMSG_DATA(cm);
		switch (c->kind) {
		case SB__CM_IP_PKTINFO: {
			struct in_pktinfo p;

			memset(&p, 0, sizeof(p));
			p.ipi_ifindex = c->ifindex;
			memcpy(&p.ipi_spec_dst, c->spec_dst, 4);
			memcpy(&p.ipi_addr, c->addr, 4);
			memcpy(d, &p, sizeof(p));
			break;
		}
		case SB__CM_IPV6_PKTINFO: {
			struct in6_pktinfo p;

			memset(&p, 0, sizeof(p));
			p.ipi6_ifindex = (unsigned)c->ifindex;
			memcpy(&p.ipi6_addr, c->addr, 16);
			memcpy(d, &p, sizeof(p));
			break;
		}
		case SB__CM_CREDENTIALS: {
			struct ucred u = { .pid = (pid_t)c->pid, .uid = c->uid, .gid = c->gid };

			memcpy(d, &u, sizeof(u));
			break;
		}
		default:
			memcpy(d, &v, sizeof(v));
			break;
		}
	}
	*used = need;
	return 0;
}

int sb__cmsg_read_send(const struct cmsghdr *cm, struct sb__cmsg *c)
{
	size_t n = cm->cmsg_len >= CMSG_LEN(0) ? cm->cmsg_len - CMSG_LEN(0) : 0;
	const uint8_t *d = CMSG_DATA(cm);
	int v;

	memset(c, 0, sizeof(*c));
	c->offender.kind = SB__ADDR_NONE;
	if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
		return -EOPNOTSUPP;
	if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO &&
	    n == sizeof(struct in_pktinfo)) {
		struct in_pktinfo p;

		memcpy(&p, d, sizeof(p));
		c->kind = SB__CM_IP_PKTINFO;
		c->ifindex = p.ipi_ifindex;
		memcpy(c->spec_dst, &p.ipi_spec_dst, 4);
		memcpy(c->addr, &p.ipi_addr, 4);
		return 0;
	}
	if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO &&
	    n == sizeof(struct in6_pktinfo)) {
		struct in6_pktinfo p;

		memcpy(&p, d, sizeof(p));
		c->kind = SB__CM_IPV6_PKTINFO;
		c->ifindex = (int)p.ipi6_ifindex;
		memcpy(c->addr, &p.ipi6_addr, 16);
		return 0;
	}
	if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS &&
	    n == sizeof(struct ucred)) {
		struct ucred u;

		memcpy(&u, d, sizeof(u));
		c->kind = SB__CM_CREDENTIALS;
		c->pid = (uint32_t)u.pid;
		c->uid = u.uid;
		c->gid = u.gid;
		return 0;
	}
	/* IP_TOS as the kernel takes it: an int, or one byte. */
	if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TOS &&
	    (n == sizeof(int) || n == 1)) {
		c->kind = SB__CM_IP_TOS;
		if (n == 1) {
			c->value = d[0];
		} else {
			memcpy(&v, d, sizeof(v));
			c->value = v;
		}
		return 0;
	}
	if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_TCLASS &&
	    n == sizeof(int)) {
		c->kind = SB__CM_IPV6_TCLASS;
		memcpy(&v, d, sizeof(v));
		c->value = v;
		return 0;
	}
	if (n == sizeof(int) &&
	    ((cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TTL) ||
	     (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_HOPLIMIT))) {
		c->kind = cm->cmsg_level == IPPROTO_IP ? SB__CM_IP_TTL : SB__CM_IPV6_HOPLIMIT;
		memcpy(&v, d, sizeof(v));
		c->value = v;
		return 0;
	}
	return -EINVAL;
}

ssize_t sb__chan_msg_send(int fd, uint64_t tag, const int *fds, size_t n)
{
	union {
		char buf[CMSG_SPACE(SB__SCM_MAX_FD * sizeof(int))];
		struct cmsghdr align;
	} u;
	uint64_t payload[2] = { tag, n };
	struct iovec iov = { .iov_base = payload, .iov_len = sizeof(payload) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = CMSG_SPACE(n * sizeof(int)) };
	struct cmsghdr *cm;
	ssize_t r;

	if (!n || n > SB__SCM_MAX_FD)
		return -EINVAL;
	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(n * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, n * sizeof(int));
	r = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	return r < 0 ? -errno : r;
}

int sb__chan_msg_recv(int fd, int flags, uint64_t *tag, struct sb__fdset *set)
{
	union {
		char buf[CMSG_SPACE(SB__SCM_MAX_FD * sizeof(int))];
		struct cmsghdr align;
	} u;
	uint64_t payload[2] = { 0, 0 };
	struct iovec iov = { .iov_base = payload, .iov_len = sizeof(payload) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	ssize_t n = recvmsg(fd, &mh, flags | MSG_CMSG_CLOEXEC);

	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	sb__cmsg_parse_fds(&mh, NULL, 0, set);
	if (n != (ssize_t)sizeof(payload) || (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) ||
	    !set->n || payload[1] != set->n) {
		sb__fdset_close(set);
		return -EPROTO;
	}
	*tag = payload[0];
	return 1;
}
