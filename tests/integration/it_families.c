/* SPDX-License-Identifier: MIT
 * it_families.c - socket families beyond unix, inet and inet6 are named
 * only (policy.h rule 6a), and the confined broker's system call filter
 * allows socket() for no other family than those its policy names
 * (server/isolation.c):
 *  - a broker whose rule allows root everything, naming no family: AF_ALG
 *    and AF_VSOCK sockets are EAFNOSUPPORT (the family is not offered, as
 *    the kernel says for one it lacks), a TCP socket is made;
 *  - a broker whose rule names alg: an AF_ALG socket is made (unless the
 *    kernel has no AF_ALG: then EAFNOSUPPORT, from the kernel), AF_VSOCK
 *    is still EAFNOSUPPORT;
 *  - SIGHUP with a file that names vsock too is refused (the filter
 *    cannot take the family back; the log says so) and AF_VSOCK stays
 *    EAFNOSUPPORT; the broker keeps serving.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_client.h"

#define ALL_ROOT \
	"policy:\n" \
	"  - name: root\n" \
	"    match: { uid: 0 }\n" \
	"    action: allow\n"

#define ALG_ROOT(extra) \
	"policy:\n" \
	"  - name: crypto\n" \
	"    match: { uid: 0 }\n" \
	"    action: allow\n" \
	"    families: [alg" extra "]\n" \
	"  - name: root\n" \
	"    match: { uid: 0 }\n" \
	"    action: allow\n"

/* A family no rule names is not there for the caller: EAFNOSUPPORT, as
 * the kernel says for a family it lacks. */
static int refused(sb_client *c, int family, int type)
{
	int s;

	errno = 0;
	s = sb_socket(c, family, type, 0);
	if (s >= 0)
		sb_close(c, s);
	return s < 0 && errno == EAFNOSUPPORT;
}

/* The whole log of @b (malloc'd), or NULL. */
static char *read_log(const struct it_broker *b)
{
	FILE *f = fopen(b->log, "re");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = calloc(1, 1 << 20);
	n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
	fclose(f);
	if (buf)
		buf[n] = 0;
	return buf;
}

/* Wait (5 s at most) for @what in @b's log. */
static int log_says(const struct it_broker *b, const char *what)
{
	int64_t until = it_now_ms() + 5000;

	while (it_now_ms() < until) {
		char *log = read_log(b);
		int found = log && strstr(log, what);

		free(log);
		if (found)
			return 1;
		it_sleep_ms(20);
	}
	return 0;
}

int main(void)
{
	struct it_broker a, b;
	sb_client *ca = NULL, *cb = NULL;
	char *log;
	FILE *f;
	int s, skipped;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (it_broker_start(&a, ALL_ROOT) < 0)
		return 1;
	if (it_broker_start(&b, ALG_ROOT("")) < 0) {
		it_broker_stop(&a);
		return 1;
	}
	ca = sb_open(a.target);
	cb = sb_open(b.target);
	if (!CHECK(ca && cb, "sb_open: %s", strerror(errno)))
		goto out;

	CHECK(refused(ca, AF_ALG, SOCK_SEQPACKET), "no family named: AF_ALG is EAFNOSUPPORT (%s)",
	      strerror(errno));
	CHECK(refused(ca, AF_VSOCK, SOCK_STREAM), "no family named: AF_VSOCK is EAFNOSUPPORT (%s)",
	      strerror(errno));
	s = sb_socket(ca, AF_INET, SOCK_STREAM, 0);
	CHECK(s >= 0, "no family named: AF_INET is made: %s", strerror(errno));
	if (s >= 0)
		sb_close(ca, s);

	errno = 0;
	s = sb_socket(cb, AF_ALG, SOCK_SEQPACKET, 0);
	if (s < 0 && errno == EAFNOSUPPORT)
		it_note("this kernel has no AF_ALG: the broker said EAFNOSUPPORT");
	else
		CHECK(s >= 0, "alg named: AF_ALG is made: %s %s", strerror(errno), it_sberr());
	if (s >= 0)
		sb_close(cb, s);
	CHECK(refused(cb, AF_VSOCK, SOCK_STREAM), "alg named: AF_VSOCK is EAFNOSUPPORT (%s)",
	      strerror(errno));

	/* A reload naming another family: refused, nothing changes. A
	 * sanitizer build loads no filter (isolation.c), so there is nothing
	 * to refuse. */
	log = read_log(&b);
	skipped = log && strstr(log, "seccomp skipped");
	free(log);
	if (skipped) {
		it_note("sanitizer build: no system call filter, the reload part is left out");
		goto out;
	}
	f = fopen(b.config, "we");
	if (CHECK(f && fputs(ALG_ROOT(", vsock"), f) >= 0 && fclose(f) == 0,
		  "writing %s: %s", b.config, strerror(errno))) {
		CHECK(kill(b.pid, SIGHUP) == 0, "SIGHUP");
		CHECK(log_says(&b, "socket family 40"),
		      "the reload naming vsock is refused, naming the family");
		CHECK(refused(cb, AF_VSOCK, SOCK_STREAM),
		      "after the refused reload: AF_VSOCK is still EAFNOSUPPORT (%s)", strerror(errno));
		s = sb_socket(cb, AF_INET, SOCK_STREAM, 0);
		CHECK(s >= 0, "the broker serves on: %s", strerror(errno));
		if (s >= 0)
			sb_close(cb, s);
	}
out:
	if (ca)
		sb_close_client(ca);
	if (cb)
		sb_close_client(cb);
	CHECK(it_broker_stop(&a) == 0, "broker a did not stop cleanly");
	CHECK(it_broker_stop(&b) == 0, "broker b did not stop cleanly");
	return it_result();
}
