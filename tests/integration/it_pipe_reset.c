/* SPDX-License-Identifier: MIT
 * it_pipe_reset.c - a Pipe whose peer resets while the client writes
 * reports the write error; the bytes are never dropped without a word:
 *  - the peer half-closes (the pipe reads EOF), then resets: the client's
 *    next writes fail with the kernel's error (EPIPE: Linux's answer to a
 *    reset after a FIN), and sb_last_error() says a write of the socket
 *    failed, where the pipe used to end OK;
 *  - the peer resets at once, unread bytes queued: sb_pipe_write fails
 *    with ECONNRESET or EPIPE before 8 MiB have been accepted.
 */
#include <netinet/in.h>
#include <unistd.h>

#include "it_client.h"

#define CHUNK (64u << 10)
#define TOTAL (8u << 20)

static struct it_broker b;
static sb_client *c;

static void reset(int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* Write up to TOTAL bytes; Return: bytes accepted before the first
 * failure (*@err its errno), or TOTAL (*@err 0). */
static size_t write_until_error(sb_pipe *p, int *err)
{
	static uint8_t buf[CHUNK];
	int64_t until = it_now_ms() + 10000;
	size_t done = 0;

	*err = 0;
	it_fill(buf, sizeof(buf), 1);
	while (done < TOTAL && it_now_ms() < until) {
		ssize_t w = sb_pipe_write(p, buf, sizeof(buf));

		if (w < 0) {
			*err = errno;
			break;
		}
		done += (size_t)w;
	}
	return done;
}

static void run(int half_close_first)
{
	struct sockaddr_storage srv;
	socklen_t len;
	sb_pipe *p = NULL;
	char tmp[16];
	int lfd, s, fd = -1, err;
	size_t done;

	lfd = it_native_listener(AF_INET, "127.0.0.1", &srv, &len);
	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (!CHECK(lfd >= 0 && s >= 0 && sb_connect(c, s, (struct sockaddr *)&srv, len) == 0,
		   "socket/connect: %s %s", strerror(errno), it_sberr()))
		goto out;
	fd = it_native_accept(lfd, NULL, NULL, 3000);
	p = sb_pipe_open(c, s);
	if (!CHECK(fd >= 0 && p, "accept / sb_pipe_open: %s %s", strerror(errno), it_sberr()))
		goto out;
	if (half_close_first) {
		shutdown(fd, SHUT_WR);
		CHECK(sb_pipe_read(p, tmp, sizeof(tmp)) == 0, "the peer's half close: "
		      "sb_pipe_read wants 0 (EOF): %s", strerror(errno));
		reset(fd);
		fd = -1;
		it_sleep_ms(100);
	} else {
		CHECK(it_write_full(fd, "unread", 6) == 0, "native write");
		it_sleep_ms(50);
		reset(fd);
		fd = -1;
	}
	done = write_until_error(p, &err);
	if (half_close_first) {
		/* Linux reports a reset after the peer's FIN as EPIPE. */
		CHECK(err == ECONNRESET || err == EPIPE, "after the peer's half close and reset: "
		      "sb_pipe_write failed with %s after %zu bytes, want ECONNRESET or EPIPE",
		      err ? strerror(err) : "nothing", done);
		CHECK(strstr(it_sberr(), "writing to the socket failed") != NULL,
		      "sb_last_error \"%s\" does not say the socket's write failed", it_sberr());
	} else {
		CHECK(err == ECONNRESET || err == EPIPE, "after the peer's reset: sb_pipe_write "
		      "failed with %s after %zu bytes, want ECONNRESET or EPIPE",
		      err ? strerror(err) : "nothing", done);
	}
	CHECK(done < TOTAL, "%zu bytes written into a reset connection without an error", done);
out:
	if (p)
		sb_pipe_close(p);
	if (s >= 0)
		sb_close(c, s);
	if (fd >= 0)
		close(fd);
	if (lfd >= 0)
		close(lfd);
}

int main(void)
{
	c = it_setup(&b, NULL, 50);
	run(1);
	run(0);
	return it_teardown(&b, c);
}
