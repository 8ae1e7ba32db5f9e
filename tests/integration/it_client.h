/* SPDX-License-Identifier: MIT
 * it_client.h - small helpers over libsockbroker shared by the integration
 * tests: full sends and receives with bounded loops, and a common start-up
 * (broker + client) and tear-down.
 */
#ifndef SB_TESTS_IT_CLIENT_H
#define SB_TESTS_IT_CLIENT_H

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <sockbroker.h>

#include "harness.h"

/* Bounded: at most @n / 1 + 1000 calls and @timeout_ms. Return 0 or -1. */
static inline int it_sb_send_all(sb_client *c, int s, const void *buf, size_t n,
				 int timeout_ms)
{
	int64_t until = it_now_ms() + timeout_ms;
	size_t done = 0;
	int calls = 0;

	while (done < n) {
		ssize_t w;

		int64_t left = until - it_now_ms();
		struct pollfd p = { .fd = s, .events = POLLOUT };

		if (left <= 0 || ++calls > 1000)
			return -1;
		/* Never a blocking wait: a full socket whose reader went away
		 * must not hang the test past its bound. */
		w = sb_send(c, s, (const char *)buf + done, n - done, MSG_DONTWAIT);
		if (w < 0 && errno == EAGAIN) {
			if (sb_poll(c, &p, 1, (int)left) < 0 && errno != EINTR)
				return -1;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

static inline int it_sb_recv_all(sb_client *c, int s, void *buf, size_t n, int timeout_ms)
{
	int64_t until = it_now_ms() + timeout_ms;
	size_t got = 0;
	int calls = 0;

	while (got < n) {
		ssize_t r;

		int64_t left = until - it_now_ms();

		if (left <= 0 || ++calls > 100000)
			return -1;
		/* Never a blocking wait: a sender that gave up must not hang
		 * the test past its bound. */
		r = sb_recv_timeout(c, s, (char *)buf + got, n - got, 0, (int)left);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

/* Wait until broker socket @s has @events (bounded by @timeout_ms).
 * Return: revents, or 0 on timeout, -1 on error. */
static inline int it_sb_wait(sb_client *c, int s, short events, int timeout_ms)
{
	struct pollfd p = { .fd = s, .events = events };
	int r = sb_poll(c, &p, 1, timeout_ms);

	return r <= 0 ? r : p.revents;
}

/* Start a broker with @config (may be NULL) and open one client on it;
 * arms a watchdog of @seconds. Exits 1 when either fails. */
static inline sb_client *it_setup(struct it_broker *b, const char *config, unsigned seconds)
{
	sb_client *c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (it_broker_start(b, config) < 0)
		exit(1);
	it_watchdog(b, seconds);
	c = sb_open(b->target);
	if (!c) {
		printf("FAIL: sb_open(%s): %s (%s)\n", b->target, strerror(errno),
		       sb_last_error() ? sb_last_error() : "");
		it_broker_stop(b);
		exit(1);
	}
	return c;
}

/* Close the client, stop the broker (checking a clean exit and the socket
 * file removed) and return the exit code of the test. */
static inline int it_teardown(struct it_broker *b, sb_client *c)
{
	if (c)
		sb_close_client(c);
	CHECK(it_broker_stop(b) == 0, "broker did not stop cleanly on SIGTERM "
	      "(exit 0, socket file removed)");
	return it_result();
}

/* The last library error, for messages. */
static inline const char *it_sberr(void)
{
	const char *e = sb_last_error();

	return e ? e : "";
}

#endif /* SB_TESTS_IT_CLIENT_H */
