/* SPDX-License-Identifier: MIT
 * it_packet_socket.c - AF_PACKET sockets through the broker, with the
 * ethertype protocol socket(2) takes in network byte order, in a network
 * namespace the test makes (only its loopback carries frames).
 *
 *  - root, under a rule naming the packet family:
 *    sb_socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)) works and sees the
 *    same frames as a native socket made the same way: same bytes, length
 *    and sockaddr_ll (protocol, ifindex, hatype, pkttype, address);
 *    SOCK_DGRAM with htons(ETH_P_IP) bound to lo reports the same
 *    getsockname as the kernel does natively;
 *  - malformed requests (packet_protocol for AF_INET, above 65535, or with
 *    an IPPROTO protocol) are INVALID_ARGUMENT and open nothing;
 *  - uid 65534, whose rule does not name the packet family: EACCES from
 *    the library, PERMISSION_DENIED over raw gRPC.
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it_client.h"

#define MARKER "sb-packet-marker-7e1f"
#define UDP_PORT 45999

struct frame {
	uint8_t buf[2048];
	ssize_t len;
	struct sockaddr_ll sll;
	socklen_t slen;
};

/* The first frame holding MARKER from the native socket @fd, at most 50
 * frames or 3 s. Return: 0 or -1. */
static int native_frame(int fd, struct frame *f)
{
	int64_t until = it_now_ms() + 3000;
	int i;

	for (i = 0; i < 50 && it_now_ms() < until; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 500) != 1)
			continue;
		f->slen = sizeof(f->sll);
		f->len = recvfrom(fd, f->buf, sizeof(f->buf), MSG_DONTWAIT,
				  (struct sockaddr *)&f->sll, &f->slen);
		if (f->len > 0 && memmem(f->buf, (size_t)f->len, MARKER, strlen(MARKER)))
			return 0;
	}
	return -1;
}

static int broker_frame(sb_client *c, int s, struct frame *f)
{
	int64_t until = it_now_ms() + 3000;
	int i;

	for (i = 0; i < 50 && it_now_ms() < until; i++) {
		if (it_sb_wait(c, s, POLLIN, 500) <= 0)
			continue;
		f->slen = sizeof(f->sll);
		f->len = sb_recvfrom(c, s, f->buf, sizeof(f->buf), MSG_DONTWAIT,
				     (struct sockaddr *)&f->sll, &f->slen);
		if (f->len > 0 && memmem(f->buf, (size_t)f->len, MARKER, strlen(MARKER)))
			return 0;
	}
	return -1;
}

static void udp_marker(void)
{
	struct sockaddr_storage ss;
	socklen_t len = it_addr4(&ss, "127.0.0.1", UDP_PORT);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0 && sendto(fd, MARKER, strlen(MARKER), 0, (struct sockaddr *)&ss,
				len) == (ssize_t)strlen(MARKER), "native UDP send: %s",
	      strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void raw_all(sb_client *c)
{
	struct frame nf, bf;
	int fd, s;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0)
		it_skip("native AF_PACKET socket: %s", strerror(errno));
	s = sb_socket(c, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (!CHECK(s >= 0, "sb_socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)): %s %s",
		   strerror(errno), it_sberr()))
		goto out;
	udp_marker();
	if (!CHECK(native_frame(fd, &nf) == 0, "native packet socket: no frame with the marker") ||
	    !CHECK(broker_frame(c, s, &bf) == 0, "broker packet socket: no frame with the "
		   "marker: %s", it_sberr()))
		goto out;
	CHECK(bf.len == nf.len && !memcmp(bf.buf, nf.buf, (size_t)nf.len),
	      "frame: %zd bytes through the broker, %zd natively, or other bytes",
	      bf.len, nf.len);
	CHECK(bf.slen == nf.slen && bf.sll.sll_family == AF_PACKET &&
	      bf.sll.sll_protocol == nf.sll.sll_protocol &&
	      bf.sll.sll_protocol == htons(ETH_P_IP) &&
	      bf.sll.sll_ifindex == nf.sll.sll_ifindex &&
	      bf.sll.sll_hatype == nf.sll.sll_hatype &&
	      bf.sll.sll_pkttype == nf.sll.sll_pkttype &&
	      bf.sll.sll_halen == nf.sll.sll_halen &&
	      !memcmp(bf.sll.sll_addr, nf.sll.sll_addr, nf.sll.sll_halen),
	      "source sockaddr_ll: length %u (native %u), protocol 0x%04x (native 0x%04x), "
	      "ifindex %d (%d), pkttype %u (%u)", (unsigned)bf.slen, (unsigned)nf.slen,
	      ntohs(bf.sll.sll_protocol), ntohs(nf.sll.sll_protocol), bf.sll.sll_ifindex,
	      nf.sll.sll_ifindex, bf.sll.sll_pkttype, nf.sll.sll_pkttype);
out:
	close(fd);
	if (s >= 0)
		sb_close(c, s);
}

static void dgram_ip(sb_client *c)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				   .sll_ifindex = (int)if_nametoindex("lo") };
	struct sockaddr_storage got, want;
	socklen_t glen = sizeof(got), wlen = sizeof(want);
	int fd, s;

	fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP));
	s = sb_socket(c, AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
	if (!CHECK(fd >= 0 && s >= 0, "AF_PACKET SOCK_DGRAM htons(ETH_P_IP): native %d, "
		   "broker %d: %s", fd, s, it_sberr()))
		goto out;
	CHECK(bind(fd, (struct sockaddr *)&sll, sizeof(sll)) == 0, "native bind to lo");
	CHECK(sb_bind(c, s, (struct sockaddr *)&sll, sizeof(sll)) == 0, "sb_bind to lo: %s",
	      it_sberr());
	memset(&got, 0xee, sizeof(got));
	memset(&want, 0xee, sizeof(want));
	CHECK(getsockname(fd, (struct sockaddr *)&want, &wlen) == 0, "native getsockname");
	CHECK(sb_getsockname(c, s, (struct sockaddr *)&got, &glen) == 0, "sb_getsockname: %s",
	      it_sberr());
	CHECK(glen == wlen && !memcmp(&got, &want, wlen),
	      "getsockname: %u bytes through the broker, %u natively, or other bytes",
	      (unsigned)glen, (unsigned)wlen);
	CHECK(((struct sockaddr_ll *)&got)->sll_protocol == htons(ETH_P_IP),
	      "getsockname: protocol 0x%04x, want ETH_P_IP",
	      ntohs(((struct sockaddr_ll *)&got)->sll_protocol));
out:
	if (fd >= 0)
		close(fd);
	if (s >= 0)
		sb_close(c, s);
}

/* A raw Socket request; Return: its status (the reply is dropped). */
static grpc_status_code raw_socket(grpc_channel *ch, const struct it_session *sess,
				   Sockbroker__V1__AddressFamily fam, uint32_t protocol,
				   uint32_t packet_protocol, int *sb_errno)
{
	Sockbroker__V1__SocketRequest req = SOCKBROKER__V1__SOCKET_REQUEST__INIT;
	struct it_reply r;
	grpc_status_code st = GRPC_STATUS_UNKNOWN;

	req.family = fam;
	req.type = SOCKBROKER__V1__SOCKET_TYPE__SOCK_RAW;
	req.protocol = (Sockbroker__V1__Protocol)protocol;
	req.packet_protocol = packet_protocol;
	*sb_errno = -1;
	if (it_call(ch, IT_SVC "Socket", &req.base, sess->token, 5000, &r) == 0) {
		st = r.status;
		*sb_errno = r.sb_errno;
	}
	it_reply_free(&r);
	return st;
}

static void malformed(grpc_channel *ch)
{
	struct it_session sess;
	int64_t open0 = it_stats_sockets(ch);
	int e;

	if (!CHECK(it_session_open(ch, &sess, 5000) == 0, "raw OpenSession"))
		return;
	CHECK(raw_socket(ch, &sess, SOCKBROKER__V1__ADDRESS_FAMILY__AF_INET, 0, 3, &e) ==
	      GRPC_STATUS_INVALID_ARGUMENT && e == EINVAL,
	      "AF_INET with a packet_protocol: want INVALID_ARGUMENT/EINVAL (errno %d)", e);
	CHECK(raw_socket(ch, &sess, SOCKBROKER__V1__ADDRESS_FAMILY__AF_PACKET, 0, 0x10003,
			 &e) == GRPC_STATUS_INVALID_ARGUMENT && e == EINVAL,
	      "AF_PACKET with packet_protocol 0x10003: want INVALID_ARGUMENT (errno %d)", e);
	CHECK(raw_socket(ch, &sess, SOCKBROKER__V1__ADDRESS_FAMILY__AF_PACKET, 17, 3, &e) ==
	      GRPC_STATUS_INVALID_ARGUMENT && e == EINVAL,
	      "AF_PACKET with an IPPROTO protocol: want INVALID_ARGUMENT (errno %d)", e);
	CHECK(it_stats_sockets(ch) == open0, "refused Socket calls left sockets open");
	it_session_close(&sess);
}

static int nobody_main(const char *target)
{
	struct it_broker b;
	struct it_session sess;
	grpc_channel *ch;
	sb_client *c;
	int s, e;

	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(30);
	if (it_drop_privileges(IT_NOBODY, IT_NOBODY) < 0)
		return 1;
	c = sb_open(target);
	if (!CHECK(c != NULL, "nobody: sb_open: %s", strerror(errno)))
		return 1;
	errno = 0;
	s = sb_socket(c, AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	CHECK(s < 0 && errno == EACCES, "nobody: sb_socket(AF_PACKET) = %d errno %s, "
	      "want EACCES", s, strerror(errno));
	sb_close_client(c);
	memset(&b, 0, sizeof(b));
	snprintf(b.target, sizeof(b.target), "%s", target);
	ch = it_channel(&b);
	if (CHECK(it_session_open(ch, &sess, 5000) == 0, "nobody: raw OpenSession")) {
		CHECK(raw_socket(ch, &sess, SOCKBROKER__V1__ADDRESS_FAMILY__AF_PACKET, 0,
				 ETH_P_ALL, &e) == GRPC_STATUS_PERMISSION_DENIED && e == EACCES,
		      "nobody: raw Socket(AF_PACKET, ETH_P_ALL): want PERMISSION_DENIED/EACCES "
		      "(errno %d)", e);
		it_session_close(&sess);
	}
	grpc_channel_destroy(ch);
	return it_failures() ? 1 : 0;
}

int main(int argc, char **argv)
{
	char *cargv[] = { argv[0], (char *)"--as-nobody", NULL, NULL };
	struct it_broker b;
	grpc_channel *ch;
	sb_client *c;
	int status;

	if (argc == 3 && !strcmp(argv[1], "--as-nobody"))
		return nobody_main(argv[2]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getuid() != 0)
		it_skip("needs root for a network namespace and uid %d", IT_NOBODY);
	if (unshare(CLONE_NEWNET) < 0)
		it_skip("unshare(CLONE_NEWNET): %s", strerror(errno));
	if (system("ip link set lo up") != 0)
		it_skip("cannot bring lo up in a new network namespace");
	c = it_setup(&b,
		     "policy:\n"
		     "  - name: root-packet\n"
		     "    match: { uid: 0 }\n"
		     "    families: [inet, inet6, unix, packet]\n"
		     "    types: [stream, dgram, raw]\n"
		     "    action: allow\n"
		     "  - name: nobody-plain\n"
		     "    match: { uid: 65534 }\n"
		     "    action: allow\n", 55);
	if (chmod(b.dir, 0755) < 0 || chmod(b.sock, 0666) < 0) {
		CHECK(0, "chmod %s: %s", b.sock, strerror(errno));
		return it_teardown(&b, c);
	}
	raw_all(c);
	dgram_ip(c);
	ch = it_channel(&b);
	malformed(ch);
	grpc_channel_destroy(ch);
	cargv[2] = b.target;
	status = it_run_self(cargv, 40000);
	CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the uid %d client failed (status 0x%x)", IT_NOBODY, (unsigned)status);
	return it_teardown(&b, c);
}
