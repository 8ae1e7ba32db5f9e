/* SPDX-License-Identifier: MIT
 * fetch.c - a minimal HTTP/1.0 client, linked statically with musl in the
 * tests: a program with its own resolver (musl's reads resolv.conf and
 * sends its own queries) and no libc in common with the host's tools.
 *   fetch HOST PORT PATH   the response body on stdout; exit 0 on 200
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct addrinfo hints, *res = NULL;
	static char buf[65536];
	char req[512];
	size_t have = 0, hdr = 0;
	ssize_t n;
	int s, rc;

	if (argc != 4) {
		fprintf(stderr, "usage: fetch HOST PORT PATH\n");
		return 2;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(argv[1], argv[2], &hints, &res);
	if (rc) {
		fprintf(stderr, "fetch: %s: %s\n", argv[1], gai_strerror(rc));
		return 1;
	}
	s = socket(res->ai_family, SOCK_STREAM, 0);
	if (s < 0 || connect(s, res->ai_addr, res->ai_addrlen) < 0) {
		perror("fetch: connect");
		return 1;
	}
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", argv[3], argv[1]);
	if (n < 0 || write(s, req, (size_t)n) != n) {
		perror("fetch: write");
		return 1;
	}
	/* Headers first (they fit in the buffer), then the body as it comes. */
	while (!hdr && have < sizeof(buf) - 1 && (n = read(s, buf + have, sizeof(buf) - 1 - have)) > 0) {
		char *end;

		have += (size_t)n;
		buf[have] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end)
			hdr = (size_t)(end - buf) + 4;
	}
	if (!hdr || strncmp(buf, "HTTP/1.", 7) || strncmp(buf + 8, " 200", 4)) {
		fprintf(stderr, "fetch: no 200 response\n");
		return 1;
	}
	if (fwrite(buf + hdr, 1, have - hdr, stdout) != have - hdr)
		return 1;
	while ((n = read(s, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return 1;
	return n < 0;
}
