/* SPDX-License-Identifier: MIT
 * relay.c - TCP connections for a remote broker (TCP with mutual TLS),
 * which cannot hand fds over (sockbroker.h H2): the program gets one end
 * of a TCP connection over the sandbox's own loopback at its fd number
 * (a real TCP socket, so that its options work; getpeername() tells the
 * loopback end), and two threads relay the other end through the broker's
 * Pipe stream, one per direction. Slower than a handed-off socket, but the
 * program reads and writes the same bytes.
 *
 * Lifetime: the connection ends when both directions have: the program's
 * EOF is passed on with sb_pipe_shutdown(), the broker's with shutdown(2);
 * an error in either direction ends both. sbr_relays_active counts the
 * connections still using the session, so that the runner does not close
 * it under them (it exits instead).
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "run.h"

/* A Pipe message; the broker's streams move 64 KiB chunks. */
#define SBR_RELAY_CHUNK 65536

atomic_int sbr_relays_active;

struct sbr_conn {
	sb_client *c;
	int s;         /* the broker's socket */
	sb_pipe *p;
	int local;     /* our end of the socketpair */
	pthread_t up;  /* program -> broker */
};

static void *sbr_conn_up(void *arg)
{
	struct sbr_conn *k = arg;
	char *buf = malloc(SBR_RELAY_CHUNK);
	ssize_t n = -1;

	while (buf && (n = read(k->local, buf, SBR_RELAY_CHUNK)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || sb_pipe_write(k->p, buf, (size_t)n) < 0)
			break;
	}
	if (n == 0 && sb_pipe_shutdown(k->p) < 0)
		sbr_log("relay: shutdown: %s", strerror(errno));
	else if (n != 0)
		shutdown(k->local, SHUT_RDWR); /* ends the other direction too */
	free(buf);
	return NULL;
}

static void *sbr_conn_down(void *arg)
{
	struct sbr_conn *k = arg;
	char *buf = malloc(SBR_RELAY_CHUNK);
	ssize_t n = -1, w;
	size_t off;

	while (buf && (n = sb_pipe_read(k->p, buf, SBR_RELAY_CHUNK)) > 0) {
		for (off = 0; off < (size_t)n; off += (size_t)w) {
			w = write(k->local, buf + off, (size_t)n - off);
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w < 0)
				goto out;
		}
	}
out:
	/* EOF from the broker is the program's EOF; an error ends both ways. */
	shutdown(k->local, n == 0 ? SHUT_WR : SHUT_RDWR);
	pthread_join(k->up, NULL);
	sb_pipe_close(k->p);
	if (sb_close(k->c, k->s) < 0)
		sbr_log("relay: close: %s", strerror(errno));
	close(k->local);
	free(buf);
	free(k);
	atomic_fetch_sub(&sbr_relays_active, 1);
	return NULL;
}

/* A connected TCP pair over the sandbox's loopback: @sv[0] ours, @sv[1]
 * the program's. Return: 0 or -errno. */
static int sbr_loop_pair(int helper_fd, int sv[2])
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int l, rc = 0;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sv[0] = sv[1] = -1;
	l = sbr_factory_socket(helper_fd, AF_INET, SOCK_STREAM);
	if (l < 0)
		return l;
	sv[1] = sbr_factory_socket(helper_fd, AF_INET, SOCK_STREAM);
	if (sv[1] < 0) {
		rc = sv[1];
		goto out;
	}
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &al) < 0 ||
	    connect(sv[1], (struct sockaddr *)&a, sizeof(a)) < 0) {
		rc = -errno;
		goto out;
	}
	sv[0] = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	if (sv[0] < 0)
		rc = -errno;
out:
	close(l);
	if (rc < 0 && sv[1] >= 0) {
		close(sv[1]);
		sv[1] = -1;
	}
	return rc;
}

int sbr_relay_connect(sb_client *c, int helper_fd, const char *host, const char *port,
		      int timeout_ms)
{
	int s = sb_tcp_connect(c, host, port, NULL, NULL, timeout_ms);

	if (s < 0)
		return -errno;
	return sbr_relay_socket(c, helper_fd, s);
}

int sbr_relay_socket(sb_client *c, int helper_fd, int s)
{
	struct sbr_conn *k = calloc(1, sizeof(*k));
	pthread_attr_t at;
	pthread_t down;
	int sv[2] = { -1, -1 }, rc;

	if (!k) {
		if (sb_close(c, s) < 0)
			sbr_log("relay: close: %s", strerror(errno));
		return -ENOMEM;
	}
	k->s = s;
	k->c = c;
	k->p = sb_pipe_open(c, k->s);
	if (!k->p) {
		rc = -errno;
		goto fail;
	}
	rc = sbr_loop_pair(helper_fd, sv);
	if (rc < 0)
		goto fail;
	k->local = sv[0];
	atomic_fetch_add(&sbr_relays_active, 1);
	if (pthread_create(&k->up, NULL, sbr_conn_up, k)) {
		rc = -EAGAIN;
		atomic_fetch_sub(&sbr_relays_active, 1);
		goto fail;
	}
	if (pthread_attr_init(&at) == 0) {
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&down, &at, sbr_conn_down, k);
		pthread_attr_destroy(&at);
	} else {
		rc = -1;
	}
	if (rc) {
		/* The up thread ends on this shutdown (EOF on its read). */
		shutdown(sv[0], SHUT_RDWR);
		pthread_join(k->up, NULL);
		atomic_fetch_sub(&sbr_relays_active, 1);
		rc = -EAGAIN;
		goto fail;
	}
	return sv[1];
fail:
	if (sv[0] >= 0) {
		close(sv[0]);
		close(sv[1]);
	}
	if (k->p)
		sb_pipe_close(k->p);
	if (sb_close(c, k->s) < 0)
		sbr_log("relay: close: %s", strerror(errno));
	free(k);
	return rc;
}
