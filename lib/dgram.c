/* SPDX-License-Identifier: MIT
 * dgram.c - batched datagram reception with recvmmsg(2).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cmsg.h"
#include "dgram.h"

#define SB__CMSG_SPACE 256

struct sb__dgram_batch {
	size_t n, bufsz;
	struct sb__dgram *d;
	struct mmsghdr *msgs;
	struct iovec *iov;
	struct sockaddr_storage *names;
	uint8_t (*cmsg)[SB__CMSG_SPACE];
	uint8_t *data;
};

struct sb__dgram_batch *sb__dgram_batch_new(size_t n, size_t bufsz)
{
	struct sb__dgram_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->n = n;
	b->bufsz = bufsz;
	b->d = calloc(n, sizeof(*b->d));
	b->msgs = calloc(n, sizeof(*b->msgs));
	b->iov = calloc(n, sizeof(*b->iov));
	b->names = calloc(n, sizeof(*b->names));
	b->cmsg = calloc(n, sizeof(*b->cmsg));
	b->data = malloc(n * bufsz);
	if (!b->d || !b->msgs || !b->iov || !b->names || !b->cmsg || !b->data) {
		sb__dgram_batch_free(b);
		return NULL;
	}
	return b;
}

void sb__dgram_batch_free(struct sb__dgram_batch *b)
{
	if (!b)
		return;
	free(b->d);
	free(b->msgs);
	free(b->iov);
	free(b->names);
	free(b->cmsg);
	free(b->data);
	free(b);
}

int sb__dgram_enable_drops(int fd)
{
	int on = 1;

	return setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on)) < 0 ? -errno : 0;
}

/* Read destination, interface and drop counter from the control data. */
static void sb__dgram_cmsgs(struct msghdr *mh, struct sb__dgram *d, uint32_t *drops)
{
	struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		if (sb__cmsg_drop_fds(mh, cm)) {
			/* A Unix datagram's descriptors: closed, never kept. */
			d->info.msg_flags = mh->msg_flags;
		} else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
			memcpy(drops, CMSG_DATA(cm), sizeof(*drops));
		} else if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
			struct in_pktinfo pi;
			struct sockaddr_in sin = { .sin_family = AF_INET };

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			sin.sin_addr = pi.ipi_addr;
			if (sb__addr_from_sockaddr(&d->info.destination,
						   (struct sockaddr *)&sin, sizeof(sin)) == 0) {
				d->info.have_pktinfo = 1;
				d->info.ifindex = pi.ipi_ifindex;
			}
		} else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
			struct in6_pktinfo pi;
			struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

			memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
			sin6.sin6_addr = pi.ipi6_addr;
			if (sb__addr_from_sockaddr(&d->info.destination,
						   (struct sockaddr *)&sin6, sizeof(sin6)) == 0) {
				d->info.have_pktinfo = 1;
				d->info.ifindex = (int)pi.ipi6_ifindex;
			}
		}
	}
}

int sb__dgram_recv(int fd, struct sb__dgram_batch *b, struct sb__dgram **out,
		   uint32_t *drops)
{
	size_t i;
	int n;

	for (i = 0; i < b->n; i++) {
		struct msghdr *mh = &b->msgs[i].msg_hdr;

		b->iov[i].iov_base = b->data + i * b->bufsz;
		b->iov[i].iov_len = b->bufsz;
		memset(mh, 0, sizeof(*mh));
		mh->msg_name = &b->names[i];
		mh->msg_namelen = sizeof(b->names[i]);
		mh->msg_iov = &b->iov[i];
		mh->msg_iovlen = 1;
		mh->msg_control = b->cmsg[i];
		mh->msg_controllen = SB__CMSG_SPACE;
	}
	n = recvmmsg(fd, b->msgs, (unsigned)b->n, MSG_DONTWAIT | MSG_TRUNC, NULL);
	if (n < 0)
		return -errno;
	for (i = 0; i < (size_t)n; i++) {
		struct msghdr *mh = &b->msgs[i].msg_hdr;
		struct sb__dgram *d = &b->d[i];

		memset(d, 0, sizeof(*d));
		d->buf = b->iov[i].iov_base;
		d->full_len = b->msgs[i].msg_len;
		d->len = d->full_len < b->bufsz ? d->full_len : b->bufsz;
		d->info.length = d->full_len;
		d->info.msg_flags = mh->msg_flags;
		if (sb__addr_from_sockaddr(&d->info.source, mh->msg_name,
					   mh->msg_namelen) < 0)
			d->info.source.kind = SB__ADDR_NONE;
		sb__dgram_cmsgs(mh, d, drops);
	}
	*out = b->d;
	return n;
}

ssize_t sb__dgram_send_from(int fd, const void *buf, size_t len, int flags,
			    const struct sb__addr *dst,
			    const struct sb__addr *src, int ifindex)
{
	union {
		struct cmsghdr align;
		uint8_t b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
	} ctl;
	struct sockaddr_storage ss;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh;
	struct cmsghdr *cm;
	socklen_t sl;
	ssize_t n;
	int ret;

	memset(&mh, 0, sizeof(mh));
	memset(&ctl, 0, sizeof(ctl));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (dst && dst->kind != SB__ADDR_NONE) {
		ret = sb__addr_to_sockaddr(dst, &ss, &sl);
		if (ret < 0)
			return ret;
		mh.msg_name = &ss;
		mh.msg_namelen = sl;
	}
	if (src && src->kind == SB__ADDR_INET) {
		struct in_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		memcpy(&pi.ipi_spec_dst, src->ip, 4);
		pi.ipi_ifindex = ifindex;
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = IPPROTO_IP;
		cm->cmsg_type = IP_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	} else if (src && src->kind == SB__ADDR_INET6) {
		struct in6_pktinfo pi;

		memset(&pi, 0, sizeof(pi));
		memcpy(&pi.ipi6_addr, src->ip, 16);
		pi.ipi6_ifindex = (unsigned)ifindex;
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(pi));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = IPPROTO_IPV6;
		cm->cmsg_type = IPV6_PKTINFO;
		cm->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
	} else if (src && src->kind != SB__ADDR_NONE) {
		return -EINVAL;
	}
	n = sendmsg(fd, &mh, flags | MSG_NOSIGNAL);
	return n < 0 ? -errno : n;
}
