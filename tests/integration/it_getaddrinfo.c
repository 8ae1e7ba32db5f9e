/* SPDX-License-Identifier: MIT
 * it_getaddrinfo.c - sb_getaddrinfo answers exactly what libc's
 * getaddrinfo answers on the same machine: the same return code, and the
 * same rows in the same order (flags, family, socktype, protocol, address
 * bytes, canonical name). The cases cover "localhost", a NULL node with and
 * without AI_PASSIVE, numeric hosts of both families, AI_CANONNAME,
 * AI_NUMERICHOST / AI_NUMERICSERV, and the error codes EAI_NONAME,
 * EAI_SERVICE, EAI_SOCKTYPE, EAI_FAMILY, EAI_BADFLAGS.
 * Only names that /etc/hosts or the numeric parser answer are used, so no
 * case depends on DNS.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "it_client.h"

struct gai_case {
	const char *node, *service;
	int flags, family, socktype, protocol;
	int want;		/* what libc must answer, to prove the case covers it */
};

#define ANY_OK 1000	/* any success */

static const struct gai_case cases[] = {
	{ "localhost", NULL, 0, AF_UNSPEC, 0, 0, ANY_OK },
	{ "localhost", "80", 0, AF_UNSPEC, SOCK_STREAM, 0, ANY_OK },
	{ "localhost", "http", 0, AF_INET, 0, 0, ANY_OK },
	{ "localhost", "domain", 0, AF_UNSPEC, SOCK_DGRAM, IPPROTO_UDP, ANY_OK },
	{ "localhost", NULL, AI_CANONNAME, AF_UNSPEC, SOCK_STREAM, 0, ANY_OK },
	{ "localhost", "8080", AI_ADDRCONFIG, AF_UNSPEC, SOCK_STREAM, 0, ANY_OK },
	{ "127.0.0.1", "443", AI_NUMERICHOST | AI_NUMERICSERV, AF_UNSPEC, 0, 0, ANY_OK },
	{ "127.0.0.1", "ssh", AI_CANONNAME, AF_INET, SOCK_STREAM, 0, ANY_OK },
	{ "::1", "443", AI_NUMERICHOST, AF_INET6, SOCK_DGRAM, 0, ANY_OK },
	{ "::1", NULL, 0, AF_UNSPEC, 0, 0, ANY_OK },
	{ "fe80::1%lo", "22", AI_NUMERICHOST, AF_INET6, SOCK_STREAM, 0, ANY_OK },
	{ "127.0.0.1", "9", AI_V4MAPPED, AF_INET6, SOCK_DGRAM, 0, ANY_OK },
	{ NULL, "8080", AI_PASSIVE, AF_UNSPEC, SOCK_STREAM, 0, ANY_OK },
	{ NULL, "8080", AI_PASSIVE, AF_INET6, SOCK_DGRAM, 0, ANY_OK },
	{ NULL, "8080", 0, AF_UNSPEC, SOCK_STREAM, 0, ANY_OK },
	{ NULL, "http", 0, AF_INET, 0, 0, ANY_OK },
	{ "localhost", NULL, AI_NUMERICHOST, AF_UNSPEC, 0, 0, EAI_NONAME },
	{ "localhost", "http", AI_NUMERICSERV, AF_UNSPEC, 0, 0, EAI_NONAME },
	{ NULL, NULL, 0, AF_UNSPEC, 0, 0, EAI_NONAME },
	{ "", "80", 0, AF_UNSPEC, 0, 0, EAI_NONAME },
	{ "127.0.0.1", "no-such-service-sb", 0, AF_UNSPEC, 0, 0, EAI_SERVICE },
	{ "127.0.0.1", "80", 0, AF_INET, SOCK_RAW, 0, EAI_SERVICE },
	{ "127.0.0.1", "80", 0, AF_INET, 99, 0, EAI_SOCKTYPE },
	{ "127.0.0.1", "80", 0, AF_INET, SOCK_STREAM, IPPROTO_UDP, EAI_SOCKTYPE },
	{ "127.0.0.1", "80", 0, AF_APPLETALK, 0, 0, EAI_FAMILY },
	{ NULL, "80", AI_CANONNAME, AF_UNSPEC, 0, 0, EAI_BADFLAGS },
	{ "::1", "80", AI_NUMERICHOST, AF_INET, 0, 0, EAI_ADDRFAMILY },
};

static void describe(const struct gai_case *k, char *buf, size_t n)
{
	snprintf(buf, n, "(node %s%s%s, service %s%s%s, flags 0x%x, family %d, socktype %d, "
		 "protocol %d)", k->node ? "\"" : "", k->node ? k->node : "NULL",
		 k->node ? "\"" : "", k->service ? "\"" : "",
		 k->service ? k->service : "NULL", k->service ? "\"" : "", (unsigned)k->flags,
		 k->family, k->socktype, k->protocol);
}

static void print_rows(const char *who, const struct addrinfo *ai)
{
	char a[128];

	for (; ai; ai = ai->ai_next)
		printf("     %s: flags 0x%x family %d socktype %d protocol %d addr %s canon %s\n",
		       who, (unsigned)ai->ai_flags, ai->ai_family, ai->ai_socktype,
		       ai->ai_protocol, it_addr_str(ai->ai_addr, ai->ai_addrlen, a, sizeof(a)),
		       ai->ai_canonname ? ai->ai_canonname : "(null)");
}

static int same_rows(const struct addrinfo *x, const struct addrinfo *y, char *why, size_t n)
{
	int row = 0;

	for (; x && y; x = x->ai_next, y = y->ai_next, row++) {
		if (x->ai_flags != y->ai_flags || x->ai_family != y->ai_family ||
		    x->ai_socktype != y->ai_socktype || x->ai_protocol != y->ai_protocol) {
			snprintf(why, n, "row %d: flags/family/socktype/protocol differ", row);
			return 0;
		}
		if (x->ai_addrlen != y->ai_addrlen || !x->ai_addr || !y->ai_addr ||
		    memcmp(x->ai_addr, y->ai_addr, x->ai_addrlen)) {
			snprintf(why, n, "row %d: address differs (len %u vs %u)", row,
				 (unsigned)x->ai_addrlen, (unsigned)y->ai_addrlen);
			return 0;
		}
		if (!x->ai_canonname != !y->ai_canonname ||
		    (x->ai_canonname && strcmp(x->ai_canonname, y->ai_canonname))) {
			snprintf(why, n, "row %d: canonical name differs", row);
			return 0;
		}
	}
	if (x || y) {
		snprintf(why, n, "row %d: %s has more rows", row, x ? "sb_getaddrinfo" : "libc");
		return 0;
	}
	return 1;
}

int main(void)
{
	struct it_broker b;
	sb_client *c = it_setup(&b, NULL, 50);
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct gai_case *k = &cases[i];
		struct addrinfo hints, *x = NULL, *y = NULL;
		char what[256], why[128];
		int rx, ry;

		describe(k, what, sizeof(what));
		memset(&hints, 0, sizeof(hints));
		hints.ai_flags = k->flags;
		hints.ai_family = k->family;
		hints.ai_socktype = k->socktype;
		hints.ai_protocol = k->protocol;
		ry = getaddrinfo(k->node, k->service, &hints, &y);
		rx = sb_getaddrinfo(c, k->node, k->service, &hints, &x);
		if (k->want == ANY_OK ? ry != 0 : ry != k->want)
			it_note("case %zu %s: libc answers %d (%s) on this machine, the case "
				"was meant for %d", i, what, ry, gai_strerror(ry), k->want);
		if (CHECK(rx == ry, "case %zu %s: sb_getaddrinfo returned %d (%s), libc %d (%s)",
			  i, what, rx, gai_strerror(rx), ry, gai_strerror(ry)) &&
		    rx == 0 && !CHECK(same_rows(x, y, why, sizeof(why)),
				      "case %zu %s: %s", i, what, why)) {
			print_rows("sb  ", x);
			print_rows("libc", y);
		}
		if (rx == 0 && x)
			sb_freeaddrinfo(x);
		if (ry == 0 && y)
			freeaddrinfo(y);
	}
	it_note("%zu getaddrinfo cases compared", sizeof(cases) / sizeof(cases[0]));
	return it_teardown(&b, c);
}
