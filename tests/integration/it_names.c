/* SPDX-License-Identifier: MIT
 * it_names.c - sb_gethostname, sb_getservbyname and sb_getservbyport
 * answer what libc answers on the same machine, including the failures
 * (a buffer too short for the host name, unknown services and ports).
 */
#include <arpa/inet.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "it_client.h"

static const struct {
	const char *name, *proto;
} by_name[] = {
	{ "http", "tcp" }, { "https", "tcp" }, { "domain", "udp" }, { "ssh", NULL },
	{ "ntp", "udp" }, { "www", "tcp" }, { "no-such-service-sb", "tcp" },
	{ "http", "udp" }, { "ssh", "sctp-not-a-proto" },
};

static const struct {
	int port;
	const char *proto;
} by_port[] = {
	{ 80, "tcp" }, { 443, "tcp" }, { 53, "udp" }, { 22, NULL }, { 123, "udp" },
	{ 64999, "tcp" }, { 80, "udp" },
};

int main(void)
{
	struct it_broker b;
	sb_client *c = it_setup(&b, NULL, 30);
	char x[HOST_NAME_MAX + 1], y[HOST_NAME_MAX + 1];
	size_t i;
	int rx, ry, ex, ey;

	/* gethostname, with a full and a short buffer. */
	memset(x, 0, sizeof(x));
	memset(y, 0, sizeof(y));
	ry = gethostname(y, sizeof(y));
	rx = sb_gethostname(c, x, sizeof(x));
	CHECK(rx == 0 && ry == 0 && !strcmp(x, y), "sb_gethostname: %d \"%s\", libc %d \"%s\"",
	      rx, x, ry, y);
	if (strlen(y) > 1) {
		memset(x, 0, sizeof(x));
		errno = 0;
		ry = gethostname(y, 2);
		ey = errno;
		errno = 0;
		rx = sb_gethostname(c, x, 2);
		ex = errno;
		CHECK(rx == ry && (ry == 0 || ex == ey), "sb_gethostname with a 2-byte buffer: "
		      "%d (%s), libc %d (%s)", rx, strerror(ex), ry, strerror(ey));
		CHECK(x[2] == 0, "sb_gethostname wrote past a 2-byte buffer");
	}
	/* No buffer at all (NULL, length 0): nothing to copy, ENAMETOOLONG as
	 * glibc (under UBSan, a memcpy from NULL would fail the test). */
	errno = 0;
	rx = sb_gethostname(c, NULL, 0);
	CHECK(rx == -1 && errno == ENAMETOOLONG, "sb_gethostname(NULL, 0): %d (%s), want -1 "
	      "ENAMETOOLONG", rx, strerror(errno));

	/* getservbyname: the port (host order), or -1 when libc has none. */
	for (i = 0; i < sizeof(by_name) / sizeof(by_name[0]); i++) {
		struct servent *se = getservbyname(by_name[i].name, by_name[i].proto);
		int want = se ? ntohs((uint16_t)se->s_port) : -1;

		errno = 0;
		rx = sb_getservbyname(c, by_name[i].name, by_name[i].proto);
		CHECK(rx == want, "sb_getservbyname(\"%s\", %s%s%s) = %d (%s), libc says %d",
		      by_name[i].name, by_name[i].proto ? "\"" : "",
		      by_name[i].proto ? by_name[i].proto : "NULL", by_name[i].proto ? "\"" : "",
		      rx, rx < 0 ? strerror(errno) : "ok", want);
	}

	/* getservbyport: the official name, or -1 when libc has none. */
	for (i = 0; i < sizeof(by_port) / sizeof(by_port[0]); i++) {
		struct servent *se = getservbyport(htons((uint16_t)by_port[i].port),
						   by_port[i].proto);
		char name[64] = "";

		errno = 0;
		rx = sb_getservbyport(c, by_port[i].port, by_port[i].proto, name, sizeof(name));
		if (se)
			CHECK(rx == 0 && !strcmp(name, se->s_name),
			      "sb_getservbyport(%d, %s) = %d \"%s\" (%s), libc \"%s\"",
			      by_port[i].port, by_port[i].proto ? by_port[i].proto : "NULL", rx,
			      name, rx < 0 ? strerror(errno) : "ok", se->s_name);
		else
			CHECK(rx == -1, "sb_getservbyport(%d, %s) = %d \"%s\", libc has no entry",
			      by_port[i].port, by_port[i].proto ? by_port[i].proto : "NULL", rx,
			      name);
	}
	/* A name buffer too short for "https" is an error, not a cut name. */
	{
		char small[3] = "";

		errno = 0;
		rx = sb_getservbyport(c, 443, "tcp", small, sizeof(small));
		CHECK(rx == -1, "sb_getservbyport(443) into a 3-byte buffer: %d \"%.3s\", want "
		      "-1 (ERANGE or similar)", rx, small);
	}
	return it_teardown(&b, c);
}
