/* SPDX-License-Identifier: MIT
 * it_confine_caps.c - a confined broker keeps exactly the capability each
 * named option needs, and the kernel then lets the option through:
 *  - a policy naming SO_MARK and TCP_REPAIR: CapEff is CAP_NET_ADMIN alone,
 *    and both options succeed through the broker;
 *  - a policy naming SO_BINDTODEVICE and IPV6_HOPOPTS: CapEff is
 *    CAP_NET_RAW alone; rebinding a device and a hop-by-hop option succeed;
 *  - a policy naming SO_REUSEPORT only: no capability, and the option
 *    still succeeds (the kernel checks none); SO_MARK, named by no rule
 *    there, is refused by the policy.
 * The table of policy.c was checked against this kernel the same way with
 * each capability alone (setpriv --bounding-set).
 */
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "it_client.h"

#define CAP_ADMIN (1ull << 12)
#define CAP_RAW   (1ull << 13)

/* CapEff of @pid, or ~0 when unreadable. */
static uint64_t cap_eff(pid_t pid)
{
	char path[64], line[128];
	uint64_t v = ~0ull;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %" SCNx64, &v) == 1)
			break;
	fclose(f);
	return v;
}

/* setsockopt through the broker on a new socket; Return: 0 or errno. */
static int opt(sb_client *c, int fam, int type, int level, int name, const void *v,
	       socklen_t len)
{
	int s = sb_socket(c, fam, type, 0), e = 0;

	if (s < 0)
		return errno;
	if (sb_setsockopt(c, s, level, name, v, len) < 0)
		e = errno;
	sb_close(c, s);
	return e;
}

/* SO_BINDTODEVICE to "lo", then to another name: the second needs
 * CAP_NET_RAW. Return: the rebind's errno, or 0. */
static int rebind(sb_client *c)
{
	int s = sb_socket(c, AF_INET, SOCK_DGRAM, 0), e = 0;

	if (s < 0)
		return errno;
	if (sb_setsockopt(c, s, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3) < 0 ||
	    sb_setsockopt(c, s, SOL_SOCKET, SO_BINDTODEVICE, "", 1) < 0)
		e = errno;
	sb_close(c, s);
	return e;
}

#define POLICY(opts) \
	"policy:\n" \
	"  - name: named\n" \
	"    match: { uid: 0 }\n" \
	"    action: allow\n" \
	"    sockopts: [" opts "]\n" \
	"  - name: root\n" \
	"    match: { uid: 0 }\n" \
	"    action: allow\n"

int main(void)
{
	static const uint8_t hop[8] = { 0, 0, 1, 4, 0, 0, 0, 0 };  /* PadN */
	struct it_broker ba, br, bn;
	sb_client *a = NULL, *r = NULL, *n = NULL;
	int one = 1, e;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0)
		it_skip("needs root: the broker must start with capabilities to keep");
	if (it_broker_start(&ba, POLICY("SO_MARK, TCP_REPAIR")) < 0)
		return 1;
	if (it_broker_start(&br, POLICY("SO_BINDTODEVICE, IPV6_HOPOPTS")) < 0) {
		it_broker_stop(&ba);
		return 1;
	}
	if (it_broker_start(&bn, POLICY("SO_REUSEPORT")) < 0) {
		it_broker_stop(&ba);
		it_broker_stop(&br);
		return 1;
	}
	it_watchdog(&ba, 40);
	a = sb_open(ba.target);
	r = sb_open(br.target);
	n = sb_open(bn.target);
	if (!CHECK(a && r && n, "sb_open: %s", it_sberr()))
		goto out;

	/* SO_MARK, TCP_REPAIR: CAP_NET_ADMIN alone. */
	CHECK(cap_eff(ba.pid) == CAP_ADMIN, "SO_MARK, TCP_REPAIR: CapEff %" PRIx64
	      ", want %llx", cap_eff(ba.pid), CAP_ADMIN);
	e = opt(a, AF_INET, SOCK_STREAM, SOL_SOCKET, SO_MARK, &one, sizeof(one));
	CHECK(e == 0, "SO_MARK with CAP_NET_ADMIN kept: %s", strerror(e));
	e = opt(a, AF_INET, SOCK_STREAM, IPPROTO_TCP, TCP_REPAIR, &one, sizeof(one));
	CHECK(e == 0, "TCP_REPAIR with CAP_NET_ADMIN kept: %s", strerror(e));

	/* SO_BINDTODEVICE, IPV6_HOPOPTS: CAP_NET_RAW alone. */
	CHECK(cap_eff(br.pid) == CAP_RAW, "SO_BINDTODEVICE, IPV6_HOPOPTS: CapEff %"
	      PRIx64 ", want %llx", cap_eff(br.pid), CAP_RAW);
	e = rebind(r);
	CHECK(e == 0, "SO_BINDTODEVICE rebind with CAP_NET_RAW kept: %s", strerror(e));
	e = opt(r, AF_INET6, SOCK_DGRAM, IPPROTO_IPV6, IPV6_HOPOPTS, hop, sizeof(hop));
	CHECK(e == 0, "IPV6_HOPOPTS with CAP_NET_RAW kept: %s", strerror(e));

	/* SO_REUSEPORT: named for the policy's sake, no capability. */
	CHECK(cap_eff(bn.pid) == 0, "SO_REUSEPORT: CapEff %" PRIx64 ", want 0",
	      cap_eff(bn.pid));
	e = opt(n, AF_INET, SOCK_STREAM, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	CHECK(e == 0, "SO_REUSEPORT without capabilities: %s", strerror(e));
	/* An option no rule of @bn names: the policy refuses, the kernel is
	 * never asked. */
	e = opt(n, AF_INET, SOCK_STREAM, SOL_SOCKET, SO_MARK, &one, sizeof(one));
	CHECK(e == EACCES || e == EPERM, "SO_MARK not named: %s, want a refusal",
	      strerror(e));
out:
	if (a)
		sb_close_client(a);
	if (r)
		sb_close_client(r);
	if (n)
		sb_close_client(n);
	CHECK(it_broker_stop(&bn) == 0, "broker SO_REUSEPORT did not stop cleanly");
	CHECK(it_broker_stop(&br) == 0, "broker SO_BINDTODEVICE did not stop cleanly");
	CHECK(it_broker_stop(&ba) == 0, "broker SO_MARK did not stop cleanly");
	return it_result();
}
