/* SPDX-License-Identifier: MIT
 * it_getnameinfo.c - sb_getnameinfo answers what libc's getnameinfo
 * answers on the same machine: the same return code and the same host and
 * service strings, numeric and by name, for IPv4, IPv6 (with a scope id),
 * host only and service only, NI_DGRAM, NI_NOFQDN, the NI_NAMEREQD failure
 * for an address without a name, EAI_OVERFLOW for short buffers, and
 * EAI_FAMILY for a foreign family or a short address length, and neither
 * host nor service asked for (success, or EAI_NONAME with NI_NAMEREQD), in
 * glibc's order of checks.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "it_client.h"

struct gni_case {
	const char *ip;		/* NULL: an AF_APPLETALK address */
	uint16_t port;
	int flags;
	socklen_t hostlen, servlen;	/* 0: pass NULL */
	int short_len;		/* pass a salen too short for the family */
	int want;		/* libc's answer this case is meant for */
};

static const struct gni_case cases[] = {
	{ "127.0.0.1", 80, NI_NUMERICHOST | NI_NUMERICSERV, NI_MAXHOST, NI_MAXSERV, 0, 0 },
	{ "127.0.0.1", 22, 0, NI_MAXHOST, NI_MAXSERV, 0, 0 },
	{ "127.0.0.1", 53, NI_DGRAM, NI_MAXHOST, NI_MAXSERV, 0, 0 },
	{ "127.0.0.1", 80, NI_NOFQDN, NI_MAXHOST, 0, 0, 0 },
	{ "127.0.0.1", 443, NI_NAMEREQD, NI_MAXHOST, NI_MAXSERV, 0, 0 },
	{ "127.0.0.1", 64999, 0, 0, NI_MAXSERV, 0, 0 },
	{ "::1", 443, NI_NUMERICHOST | NI_NUMERICSERV, NI_MAXHOST, NI_MAXSERV, 0, 0 },
	{ "::1", 25, NI_NUMERICHOST, NI_MAXHOST, NI_MAXSERV, 0, 0 },
	{ "fe80::1", 22, NI_NUMERICHOST | NI_NUMERICSERV, NI_MAXHOST, NI_MAXSERV, 0, 0 },
	{ "127.0.0.2", 0, NI_NAMEREQD, NI_MAXHOST, 0, 0, EAI_NONAME },
	{ "127.0.0.1", 80, 0, 4, NI_MAXSERV, 0, EAI_OVERFLOW },
	{ "127.0.0.1", 80, 0, NI_MAXHOST, 2, 0, EAI_OVERFLOW },
	{ "127.0.0.1", 80, NI_NUMERICHOST, 5, NI_MAXSERV, 0, EAI_OVERFLOW },
	{ NULL, 80, 0, NI_MAXHOST, NI_MAXSERV, 0, EAI_FAMILY },
	{ "127.0.0.1", 80, 0, NI_MAXHOST, NI_MAXSERV, 1, EAI_FAMILY },
	/* Neither host nor service asked: success, unless NI_NAMEREQD. */
	{ "127.0.0.1", 80, 0, 0, 0, 0, 0 },
	{ "::1", 80, NI_NUMERICHOST | NI_NUMERICSERV, 0, 0, 0, 0 },
	{ "127.0.0.2", 0, NI_NAMEREQD, 0, 0, 0, EAI_NONAME },
	{ NULL, 80, 0, 0, 0, 0, EAI_FAMILY },
	{ "127.0.0.1", 80, 0, 0, 0, 1, EAI_FAMILY },
	{ "127.0.0.1", 80, NI_NAMEREQD, 0, 0, 1, EAI_NONAME },
	/* An unknown flag is found before a foreign family. */
	{ NULL, 80, 0x10000, NI_MAXHOST, NI_MAXSERV, 0, EAI_BADFLAGS },
};

static socklen_t make_addr(const struct gni_case *k, struct sockaddr_storage *ss)
{
	socklen_t len;

	memset(ss, 0, sizeof(*ss));
	if (!k->ip) {
		ss->ss_family = AF_APPLETALK;
		return sizeof(struct sockaddr_in);
	}
	if (strchr(k->ip, ':')) {
		len = it_addr6(ss, k->ip, k->port);
		if (!strncmp(k->ip, "fe80", 4))
			((struct sockaddr_in6 *)ss)->sin6_scope_id = if_nametoindex("lo");
	} else {
		len = it_addr4(ss, k->ip, k->port);
	}
	return k->short_len ? len / 2 : len;
}

int main(void)
{
	struct it_broker b;
	sb_client *c = it_setup(&b, NULL, 50);
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct gni_case *k = &cases[i];
		char hx[NI_MAXHOST] = "", sx[NI_MAXSERV] = "", hy[NI_MAXHOST] = "",
		     sy[NI_MAXSERV] = "";
		struct sockaddr_storage ss;
		socklen_t len = make_addr(k, &ss);
		char what[160];
		int rx, ry;

		snprintf(what, sizeof(what), "case %zu (%s port %u flags 0x%x hostlen %u "
			 "servlen %u%s)", i, k->ip ? k->ip : "AF_APPLETALK", k->port,
			 (unsigned)k->flags, (unsigned)k->hostlen, (unsigned)k->servlen,
			 k->short_len ? ", short salen" : "");
		ry = getnameinfo((struct sockaddr *)&ss, len, k->hostlen ? hy : NULL, k->hostlen,
				 k->servlen ? sy : NULL, k->servlen, k->flags);
		rx = sb_getnameinfo(c, (struct sockaddr *)&ss, len, k->hostlen ? hx : NULL,
				    k->hostlen, k->servlen ? sx : NULL, k->servlen, k->flags);
		if (ry != k->want)
			it_note("%s: libc answers %d (%s) on this machine, the case was meant "
				"for %d", what, ry, gai_strerror(ry), k->want);
		if (!CHECK(rx == ry, "%s: sb_getnameinfo returned %d (%s), libc %d (%s)", what,
			   rx, gai_strerror(rx), ry, gai_strerror(ry)) || rx != 0)
			continue;
		CHECK(!strcmp(hx, hy), "%s: host \"%s\", libc \"%s\"", what, hx, hy);
		CHECK(!strcmp(sx, sy), "%s: service \"%s\", libc \"%s\"", what, sx, sy);
	}
	it_note("%zu getnameinfo cases compared", sizeof(cases) / sizeof(cases[0]));
	return it_teardown(&b, c);
}
