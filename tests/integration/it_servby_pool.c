/* SPDX-License-Identifier: MIT
 * it_servby_pool.c - GetServByName and GetServByPort run on the resolver
 * pool: while one of them is stuck in NSS, the broker answers other calls.
 *
 * In a private mount namespace, /etc/services is replaced by a FIFO that
 * nobody writes, so the broker's getservbyname_r() blocks opening it. A
 * thread calls sb_getservbyname(); meanwhile sb_gethostname() from another
 * client must answer within 1 s (on a completion-queue thread it would
 * wait for the stuck lookup). Then the FIFO gets a writer that closes at
 * once, NSS reads an empty file, and the stuck call ends ("not found").
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "it_client.h"

struct lookup {
	const char *target;
	int port;
	int done;
	pthread_mutex_t lock;
};

static void *lookup_main(void *arg)
{
	struct lookup *l = arg;
	sb_client *c = sb_open(l->target);
	int port = -2;

	if (c) {
		port = sb_getservbyname(c, "sbtest", "tcp");
		sb_close_client(c);
	}
	pthread_mutex_lock(&l->lock);
	l->port = port;
	l->done = 1;
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

static int lookup_done(struct lookup *l)
{
	int d;

	pthread_mutex_lock(&l->lock);
	d = l->done;
	pthread_mutex_unlock(&l->lock);
	return d;
}

int main(void)
{
	struct lookup l = { .port = -1, .lock = PTHREAD_MUTEX_INITIALIZER };
	char fifo[96], name[256];
	struct it_broker b;
	pthread_t t;
	sb_client *c;
	int64_t t0, dt;
	int fd, i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getuid() != 0)
		it_skip("needs root for a private mount namespace");
	if (unshare(CLONE_NEWNS) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		it_skip("no private mount namespace: %s", strerror(errno));
	snprintf(fifo, sizeof(fifo), "/tmp/it_servby_pool.%d", (int)getpid());
	if (mkfifo(fifo, 0644) < 0 || mount(fifo, "/etc/services", NULL, MS_BIND, NULL) < 0) {
		printf("FAIL: FIFO over /etc/services: %s\n", strerror(errno));
		unlink(fifo);
		return 1;
	}
	c = it_setup(&b, NULL, 30);
	if (!c) {
		unlink(fifo);
		return 1;
	}
	l.target = b.target;
	if (!CHECK(pthread_create(&t, NULL, lookup_main, &l) == 0, "pthread_create")) {
		unlink(fifo);
		return it_teardown(&b, c);
	}
	it_sleep_ms(300);	/* let the lookup reach the FIFO */
	CHECK(!lookup_done(&l), "getservbyname answered (%d) with nobody writing "
	      "/etc/services", l.port);
	t0 = it_now_ms();
	i = sb_gethostname(c, name, sizeof(name));
	dt = it_now_ms() - t0;
	CHECK(i == 0 && dt < 1000, "gethostname while a getservbyname is stuck in NSS: "
	      "%d in %lld ms (%s), want 0 within 1000 ms", i, (long long)dt, it_sberr());

	/* A writer that comes and goes: the stuck open returns, NSS reads
	 * end of file. */
	fd = open(fifo, O_WRONLY | O_NONBLOCK);
	CHECK(fd >= 0, "open %s for writing: %s", fifo, strerror(errno));
	if (fd >= 0)
		close(fd);
	for (i = 0; i < 250 && !lookup_done(&l); i++)
		it_sleep_ms(20);
	CHECK(lookup_done(&l) && l.port >= -1, "the stuck getservbyname: %s %d, want an "
	      "answer once NSS returned", lookup_done(&l) ? "answered" : "no answer in 5 s",
	      l.port);
	if (lookup_done(&l))
		pthread_join(t, NULL);
	else
		pthread_detach(t);
	unlink(fifo);
	return it_teardown(&b, c);
}
