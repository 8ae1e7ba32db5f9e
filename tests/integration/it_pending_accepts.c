/* SPDX-License-Identifier: MIT
 * it_pending_accepts.c - limits.max_pending_accepts: 2. Two sb_accept()
 * calls wait in the broker; a third waiting accept (a unary Accept, or an
 * accept stream) is refused at once with EMFILE naming the limit and
 * changes nothing; once connections come, the waiting accepts return them
 * and accepting works again. GetStats counts the refusals.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_client.h"

static const char config[] =
	"limits:\n"
	"  max_pending_accepts: 2\n"
	"policy:\n  - name: owner\n    match: { uid: 0 }\n    action: allow\n";

struct waiter {
	sb_client *c;
	int listener;
	int result, err;
	pthread_t t;
};

static void *wait_accept(void *arg)
{
	struct waiter *w = arg;

	w->result = sb_accept(w->c, w->listener, NULL, NULL);
	w->err = errno;
	return NULL;
}

static int native_connect(const struct sockaddr_storage *ss, socklen_t len)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (const struct sockaddr *)ss, len) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static int64_t parked(grpc_channel *ch)
{
	Sockbroker__V1__GetStatsReply *st = it_stats(ch);
	int64_t n = -1;

	if (st) {
		n = (int64_t)st->waits_parked;
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	}
	return n;
}

int main(void)
{
	struct it_broker b;
	struct waiter w[2];
	struct sockaddr_storage ss;
	socklen_t len;
	grpc_channel *ch;
	sb_client *c = it_setup(&b, config, 40);
	sb_acceptor *a;
	int64_t t0;
	int l, x, fds[3] = { -1, -1, -1 }, i;

	ch = it_channel(&b);
	l = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	len = it_addr4(&ss, "127.0.0.1", 0);
	if (!CHECK(l >= 0 && sb_bind(c, l, (struct sockaddr *)&ss, len) == 0 &&
		   sb_listen(c, l, 8) == 0, "listener: %s %s", strerror(errno), it_sberr()))
		return it_teardown(&b, c);
	len = sizeof(ss);
	sb_getsockname(c, l, (struct sockaddr *)&ss, &len);

	for (i = 0; i < 2; i++) {
		w[i].c = c;
		w[i].listener = l;
		w[i].result = -2;
		pthread_create(&w[i].t, NULL, wait_accept, &w[i]);
	}
	/* Both accepts are parked in the broker (bounded wait). */
	t0 = it_now_ms();
	while (parked(ch) < 2 && it_now_ms() - t0 < 5000)
		it_sleep_ms(20);
	CHECK(parked(ch) == 2, "two accepts should be parked, GetStats says %lld",
	      (long long)parked(ch));

	errno = 0;
	x = sb_accept(c, l, NULL, NULL);
	CHECK(x == -1 && errno == EMFILE && strstr(it_sberr(), "max_pending_accepts"),
	      "a third waiting accept: %d errno %s \"%s\", want -1 EMFILE naming "
	      "max_pending_accepts", x, strerror(errno), it_sberr());
	a = sb_acceptor_open(c, l);
	if (CHECK(a != NULL, "sb_acceptor_open: %s", strerror(errno))) {
		errno = 0;
		x = sb_acceptor_next(a, NULL, NULL, 2000);
		CHECK(x == -1 && errno == EMFILE, "an accept stream over the limit: %d %s %s",
		      x, strerror(errno), it_sberr());
		sb_acceptor_close(a);
	}

	/* Connections arrive: the two waiting accepts get them. */
	for (i = 0; i < 2; i++)
		fds[i] = native_connect(&ss, len);
	for (i = 0; i < 2; i++) {
		pthread_join(w[i].t, NULL);
		CHECK(w[i].result >= 0, "waiting accept %d: %d %s", i, w[i].result,
		      strerror(w[i].err));
		if (w[i].result >= 0)
			sb_close(c, w[i].result);
	}
	/* Nothing is held any more: accepting works again. */
	fds[2] = native_connect(&ss, len);
	x = sb_accept(c, l, NULL, NULL);
	CHECK(x >= 0, "accept after the waits ended: %s %s", strerror(errno), it_sberr());
	if (x >= 0)
		sb_close(c, x);
	for (i = 0; i < 3; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	sb_close(c, l);
	grpc_channel_destroy(ch);
	return it_teardown(&b, c);
}
