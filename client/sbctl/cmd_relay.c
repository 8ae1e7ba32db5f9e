/* SPDX-License-Identifier: MIT
 * cmd_relay.c - connect and listen: a broker socket relayed to stdin and
 * stdout, like nc. TCP goes over the Pipe stream (sb_pipe_*) with two
 * threads: stdin -> sb_pipe_write in one, sb_pipe_read -> stdout in the
 * other; UDP uses sb_send/sb_recv.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sbctl.h"

#define SBCTL_IOBUF (256u << 10)
#define SBCTL_UDP_MAX 65507      /* the largest IPv4 UDP payload */
#define SBCTL_STOP_GRACE_MS 2000 /* a stopped writer's time to notice */
#define SBCTL_MAX_LISTEN 16

static int64_t sbctl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the TCP relay ---- */

struct sbctl_relay {
	sb_client *c;
	int s;
	sb_pipe *p;
	int wake[2];            /* written to stop the stdin thread */
	long quit_after_ms;     /* -q: after the socket's end; -1: wait for stdin */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int in_done;            /* the stdin thread ended */
	int in_shut;            /* ... after sb_pipe_shutdown() succeeded */
	int in_err;             /* errno of the stdin side (0: EOF sent) */
	const char *in_what;    /* which call failed */
	char in_msg[512];       /* sb_last_error() of that call */
	unsigned long long sent, received;
};

static void sbctl_relay_in_end(struct sbctl_relay *r, int err, const char *what)
{
	const char *m = err ? sb_last_error() : NULL;

	pthread_mutex_lock(&r->lock);
	r->in_err = err;
	r->in_what = what;
	snprintf(r->in_msg, sizeof(r->in_msg), "%s", m ? m : "");
	r->in_done = 1;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
}

/* stdin -> the socket, then the half-close. */
static void *sbctl_relay_stdin(void *arg)
{
	struct sbctl_relay *r = arg;
	char *buf = malloc(SBCTL_IOBUF);

	if (!buf) {
		sbctl_relay_in_end(r, ENOMEM, "stdin");
		return NULL;
	}
	for (;;) {
		struct pollfd pf[2] = { { 0, POLLIN, 0 }, { r->wake[0], POLLIN, 0 } };
		ssize_t n;

		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			sbctl_relay_in_end(r, errno, "poll stdin");
			break;
		}
		if (pf[1].revents) {
			sbctl_relay_in_end(r, 0, NULL);  /* told to stop */
			break;
		}
		if (pf[0].revents & POLLNVAL) {
			n = 0;  /* no stdin at all: as /dev/null */
		} else {
			n = read(0, buf, SBCTL_IOBUF);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
		}
		if (n < 0) {
			sbctl_relay_in_end(r, errno, "read stdin");
			break;
		}
		if (n == 0) {
			sbctl_note("end of stdin after %llu bytes: shutting the socket down "
				   "for writing", r->sent);
			if (sb_pipe_shutdown(r->p) < 0) {
				sbctl_relay_in_end(r, errno, "shutdown");
			} else {
				r->in_shut = 1;
				sbctl_relay_in_end(r, 0, NULL);
			}
			break;
		}
		if (sb_pipe_write(r->p, buf, (size_t)n) < 0) {
			sbctl_relay_in_end(r, errno, "send");
			break;
		}
		r->sent += (unsigned long long)n;
	}
	free(buf);
	return NULL;
}

/* Wait until the stdin thread ended or @ms passed (-1: forever). */
static int sbctl_relay_wait_in(struct sbctl_relay *r, long ms)
{
	struct timespec ts;
	int done;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (ms >= 0) {
		ts.tv_sec += ms / 1000;
		ts.tv_nsec += (ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&r->lock);
	while (!r->in_done) {
		if (ms < 0)
			pthread_cond_wait(&r->cond, &r->lock);
		else if (pthread_cond_timedwait(&r->cond, &r->lock, &ts) == ETIMEDOUT)
			break;
	}
	done = r->in_done;
	pthread_mutex_unlock(&r->lock);
	return done;
}

/*
 * Wait until the broker wrote everything the pipe took. sb_pipe_write()
 * returning means only that gRPC took the bytes, and sb_pipe_close()
 * cancels the Pipe stream with whatever the broker has not written to the
 * socket yet (see the report on libsockbroker). The broker shuts the
 * socket down for writing after the last byte; with the peer's FIN
 * already in, the kernel then says POLLHUP (both directions shut).
 */
static void sbctl_relay_drain(sb_client *c, int s)
{
	int64_t start = sbctl_now_ms(), noted = 0;

	for (;;) {
		/* No events asked: POLLHUP and POLLERR come anyway. */
		struct pollfd pf = { s, 0, 0 };
		int n = sb_poll(c, &pf, 1, 1000);

		if (n < 0) {
			sbctl_note("poll while flushing: %s", strerror(errno));
			return;
		}
		if (n > 0 && (pf.revents & (POLLHUP | POLLERR | POLLNVAL)))
			return;
		if (sbctl_now_ms() - start >= 5000 && !noted) {
			noted = 1;
			sbctl_note("waiting for the broker to write the rest to the peer");
		}
		if (n == 0)
			continue;
		/* Something else: do not spin on it. */
		{
			struct timespec ts = { 0, 20 * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
}

/*
 * Relay connected socket @s and stdio until the socket's stream ended and
 * stdin was sent (or -q passed), then close @s. @peer names the socket in
 * errors. Return: an exit status (errors printed).
 */
static int sbctl_relay_tcp(sb_client *c, int s, const char *peer, long quit_after_ms)
{
	struct sbctl_relay r;
	pthread_t th;
	char *buf;
	int rc = SBCTL_OK, out_err = 0, read_err = 0, started, stopped = 0;
	char read_msg[512] = "";

	memset(&r, 0, sizeof(r));
	r.c = c;
	r.s = s;
	r.quit_after_ms = quit_after_ms;
	buf = malloc(SBCTL_IOBUF);
	if (!buf)
		return sbctl_fail_plain(ENOMEM, "relay");
	r.p = sb_pipe_open(c, s);
	if (!r.p) {
		rc = sbctl_fail(errno, "pipe %s", peer);
		sb_close(c, s);
		free(buf);
		return rc;
	}
	if (pipe2(r.wake, O_CLOEXEC) < 0) {
		rc = sbctl_fail_plain(errno, "pipe");
		sb_pipe_close(r.p);
		sb_close(c, s);
		free(buf);
		return rc;
	}
	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	started = pthread_create(&th, NULL, sbctl_relay_stdin, &r) == 0;
	if (!started)
		sbctl_relay_in_end(&r, EAGAIN, "thread");

	/* The socket -> stdout, until its stream ends. */
	for (;;) {
		ssize_t n = sb_pipe_read(r.p, buf, SBCTL_IOBUF);

		if (n < 0) {
			const char *m = sb_last_error();

			read_err = errno;
			snprintf(read_msg, sizeof(read_msg), "%s", m ? m : "");
			break;
		}
		if (n == 0)
			break;
		if (sbctl_write_all(1, buf, (size_t)n) < 0) {
			out_err = errno;
			break;
		}
		r.received += (unsigned long long)n;
	}
	if (!read_err && !out_err)
		sbctl_note("end of the socket's stream after %llu bytes", r.received);

	/* The rest of stdin, unless -q says otherwise or the output failed. */
	if (!out_err && !read_err) {
		long ms = r.quit_after_ms;

		if (ms < 0 && isatty(0))
			ms = 0;
		sbctl_relay_wait_in(&r, ms);
	}
	if (!sbctl_relay_wait_in(&r, 0)) {
		/* Stop the stdin thread: in poll it sees the wake pipe; in a
		 * blocked sb_pipe_write, the socket's close ends the stream. */
		stopped = 1;
		if (write(r.wake[1], "x", 1) < 0)
			sbctl_note("cannot wake the stdin thread: %s", strerror(errno));
		if (!sbctl_relay_wait_in(&r, SBCTL_STOP_GRACE_MS)) {
			sbctl_note("stdin side still busy: closing the socket");
			sb_close(c, s);
			r.s = -1;
		}
	}
	if (started)
		pthread_join(th, NULL);
	if (!out_err && !read_err && !stopped && r.in_shut)
		sbctl_relay_drain(c, s);

	if (out_err) {
		rc = sbctl_fail_plain(out_err, "write stdout");
	} else if (read_err) {
		fprintf(stderr, "sbctl: recv %s: %s (%s)%s%s\n", peer, strerror(read_err),
			sbctl_errname(read_err), read_msg[0] ? ": " : "", read_msg);
		rc = SBCTL_FAIL;
	} else if (r.in_err && r.in_what && !stopped) {
		fprintf(stderr, "sbctl: %s %s: %s (%s)%s%s\n", r.in_what, peer,
			strerror(r.in_err), sbctl_errname(r.in_err), r.in_msg[0] ? ": " : "",
			r.in_msg);
		rc = SBCTL_FAIL;
	}
	sb_pipe_close(r.p);
	if (r.s >= 0)
		sb_close(c, s);
	close(r.wake[0]);
	close(r.wake[1]);
	pthread_mutex_destroy(&r.lock);
	pthread_cond_destroy(&r.cond);
	free(buf);
	return rc;
}

/* ---- the UDP relay ---- */

struct sbctl_udp {
	sb_client *c;
	int s;
	atomic_int stop;
	atomic_llong last_ms;   /* when the last datagram came */
	int err;                /* errno that ended the receiver */
	char msg[512];
};

static void *sbctl_udp_recv(void *arg)
{
	struct sbctl_udp *u = arg;
	char *buf = malloc(SBCTL_UDP_MAX + 1);

	if (!buf) {
		u->err = ENOMEM;
		return NULL;
	}
	while (!atomic_load(&u->stop)) {
		ssize_t n = sb_recv_timeout(u->c, u->s, buf, SBCTL_UDP_MAX + 1, 0, 200);

		if (n < 0) {
			const char *m;

			if (errno == EAGAIN || errno == EINTR)
				continue;
			m = sb_last_error();
			u->err = errno;
			snprintf(u->msg, sizeof(u->msg), "%s", m ? m : "");
			break;
		}
		atomic_store(&u->last_ms, (long long)sbctl_now_ms());
		if (sbctl_write_all(1, buf, (size_t)n) < 0) {
			u->err = errno;
			snprintf(u->msg, sizeof(u->msg), "writing stdout");
			break;
		}
	}
	atomic_store(&u->stop, 1);
	free(buf);
	return NULL;
}

/* Each line of stdin is a datagram; replies go to stdout; after stdin's
 * end, wait until none came for @wait_ms. */
/* Send @len bytes of @buf as one datagram. Return: 0 or an errno. */
static int sbctl_udp_send(sb_client *c, int s, const char *buf, size_t len,
			  char *msg, size_t msglen)
{
	if (sb_send(c, s, buf, len, 0) < 0) {
		const char *m = sb_last_error();
		int err = errno;

		snprintf(msg, msglen, "%s", m ? m : "");
		return err;
	}
	return 0;
}

static int sbctl_relay_udp(sb_client *c, int s, const char *peer, long wait_ms)
{
	struct sbctl_udp u;
	pthread_t th;
	char *buf;
	size_t have = 0;
	int rc = SBCTL_OK, serr = 0, eof = 0;
	char smsg[512] = "";

	buf = malloc(SBCTL_UDP_MAX);
	if (!buf)
		return sbctl_fail_plain(ENOMEM, "relay");
	memset(&u, 0, sizeof(u));
	u.c = c;
	u.s = s;
	atomic_init(&u.stop, 0);
	atomic_init(&u.last_ms, (long long)sbctl_now_ms());
	if (pthread_create(&th, NULL, sbctl_udp_recv, &u) != 0) {
		free(buf);
		return sbctl_fail_plain(EAGAIN, "thread");
	}
	/* Lines of stdin, each a datagram (a line longer than the largest
	 * datagram goes in pieces); stdin is polled so that a failed
	 * receiver ends the relay even while nobody types. */
	while (!eof && !serr && !atomic_load(&u.stop)) {
		struct pollfd pf = { 0, POLLIN, 0 };
		char *nl;
		ssize_t n;
		int pr = poll(&pf, 1, 200);

		if (pr < 0 && errno != EINTR) {
			serr = errno;
			break;
		}
		if (pr <= 0)
			continue;
		if (pf.revents & POLLNVAL)
			break;
		n = read(0, buf + have, SBCTL_UDP_MAX - have);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			serr = errno;
			snprintf(smsg, sizeof(smsg), "reading stdin");
			break;
		}
		if (n == 0)
			eof = 1;
		have += (size_t)n;
		while (!serr && (nl = memchr(buf, '\n', have)) != NULL) {
			size_t len = (size_t)(nl - buf) + 1;

			serr = sbctl_udp_send(c, s, buf, len, smsg, sizeof(smsg));
			memmove(buf, buf + len, have - len);
			have -= len;
		}
		if (!serr && have && (have == SBCTL_UDP_MAX || eof)) {
			serr = sbctl_udp_send(c, s, buf, have, smsg, sizeof(smsg));
			have = 0;
		}
	}
	free(buf);
	if (!serr && !atomic_load(&u.stop)) {
		sbctl_note("end of stdin: waiting for replies (%ld ms)", wait_ms);
		atomic_store(&u.last_ms, (long long)sbctl_now_ms());
		while (!atomic_load(&u.stop) &&
		       sbctl_now_ms() - atomic_load(&u.last_ms) < wait_ms) {
			struct timespec ts = { 0, 20 * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
	atomic_store(&u.stop, 1);
	pthread_join(th, NULL);
	if (serr) {
		fprintf(stderr, "sbctl: send %s: %s (%s)%s%s\n", peer, strerror(serr),
			sbctl_errname(serr), smsg[0] ? ": " : "", smsg);
		rc = SBCTL_FAIL;
	} else if (u.err) {
		fprintf(stderr, "sbctl: recv %s: %s (%s)%s%s\n", peer, strerror(u.err),
			sbctl_errname(u.err), u.msg[0] ? ": " : "", u.msg);
		rc = SBCTL_FAIL;
	}
	return rc;
}

/* ---- connect ---- */

/* The Unix path of a connect target: "unix:PATH", an absolute path, or
 * "@name" (abstract, as sb_unix_connect takes it); NULL when not one. */
static const char *sbctl_unix_target(const char *t)
{
	if (!strncmp(t, "unix:", 5))
		return t + 5;
	return t[0] == '/' || t[0] == '@' ? t : NULL;
}

/* Print the one-line error of a failed Dial to @what. Return: SBCTL_FAIL. */
static int sbctl_dial_error(const char *what, int err)
{
	const char *m = sb_last_error();

	if (m && *m && err != ECONNREFUSED && err != ETIMEDOUT && err != ENOENT)
		fprintf(stderr, "sbctl: connect %s: %s (%s): %s\n", what, strerror(err),
			sbctl_errname(err), m);
	else
		fprintf(stderr, "sbctl: connect %s: %s (%s)\n", what, strerror(err),
			sbctl_errname(err));
	return SBCTL_FAIL;
}

/* TCP and Unix: one Dial, then the relay. */
static int sbctl_connect_dial(const char *host, const char *port, int family,
			      const char *laddr, const char *lport, long wait_ms, long quit_ms)
{
	const char *path = port ? NULL : sbctl_unix_target(host);
	char what[1100], peer[INET6_ADDRSTRLEN + 16] = "";
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int s, eai, rc, err;
	sb_client *c = sbctl_open();

	if (!c)
		return SBCTL_FAIL;
	if (path) {
		snprintf(what, sizeof(what), "%s", path);
		s = sb_unix_connect(c, path);
	} else {
		snprintf(what, sizeof(what), strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
		s = sb_tcp_connect_opts(c, host, port, family, laddr, lport,
					wait_ms > 0 ? (int)wait_ms : 0, NULL, 0);
	}
	if (s < 0) {
		err = errno;
		eai = path ? 0 : sb_last_eai();
		rc = eai ? sbctl_fail_eai(eai, "connect %s %s", host, port)
			 : sbctl_dial_error(what, err);
		sb_close_client(c);
		return rc;
	}
	if (path)
		snprintf(peer, sizeof(peer), "%.*s", (int)(sizeof(peer) - 1), path);
	else if (sb_getpeername(c, s, (struct sockaddr *)&ss, &len) == 0)
		sbctl_sockaddr_str((struct sockaddr *)&ss, peer, sizeof(peer));
	len = sizeof(ss);
	if (!path && sb_getsockname(c, s, (struct sockaddr *)&ss, &len) == 0) {
		char local[INET6_ADDRSTRLEN + 16] = "";

		sbctl_sockaddr_str((struct sockaddr *)&ss, local, sizeof(local));
		sbctl_note("connected to %s (tcp) from %s", peer, local);
	} else {
		sbctl_note("connected to %s (%s)", peer, path ? "unix" : "tcp");
	}
	rc = sbctl_relay_tcp(c, s, peer, quit_ms);
	sb_close_client(c);
	return rc;
}

int sbctl_cmd_connect(const struct sbctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		SBCTL_COMMON_OPTIONS,
		{ "udp", no_argument, NULL, 'u' },
		{ "wait", required_argument, NULL, 'w' },
		{ "quit-after", required_argument, NULL, 'q' },
		{ "source", required_argument, NULL, 's' },
		{ "source-port", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct addrinfo hints, *res = NULL, *ai;
	const char *host, *port, *laddr = NULL, *lport = NULL;
	long wait_ms = -1, quit_ms = -1;
	char peer[INET6_ADDRSTRLEN + 16] = "";
	int opt, rc, eai, s = -1, err = 0, udp = 0;
	char errmsg[512] = "";
	sb_client *c;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;  /* every address, tried in order */
	while ((opt = getopt_long(argc, argv, SBCTL_COMMON_SHORT "46uw:q:s:p:", opts, NULL)) != -1) {
		switch (opt) {
		case '4':
			hints.ai_family = AF_INET;
			break;
		case '6':
			hints.ai_family = AF_INET6;
			break;
		case 'u':
			udp = 1;
			break;
		case 's':
			laddr = optarg;
			break;
		case 'p':
			lport = optarg;
			break;
		case 'w':
			wait_ms = sbctl_parse_secs(optarg);
			if (wait_ms < 0)
				return sbctl_usage_error(cmd, "-w takes seconds, not '%s'", optarg);
			break;
		case 'q':
			quit_ms = sbctl_parse_secs(optarg);
			if (quit_ms < 0)
				return sbctl_usage_error(cmd, "-q takes seconds, not '%s'", optarg);
			break;
		default:
			if ((rc = sbctl_common_opt(cmd, opt)) >= 0)
				return rc;
		}
	}
	if (argc - optind == 1 && sbctl_unix_target(argv[optind])) {
		if (udp || laddr || lport || hints.ai_family != AF_UNSPEC)
			return sbctl_usage_error(cmd, "a Unix path takes none of -4, -6, -u, -s, -p");
		if (!sbctl_unix_target(argv[optind])[0])
			return sbctl_usage_error(cmd, "an empty Unix path");
		return sbctl_connect_dial(argv[optind], NULL, AF_UNSPEC, NULL, NULL, wait_ms,
					  quit_ms);
	}
	if (argc - optind != 2)
		return argc - optind < 2 ? sbctl_usage_error(cmd, "HOST and PORT are needed")
					 : sbctl_usage_error(cmd, "unexpected argument '%s'",
							     argv[optind + 2]);
	host = argv[optind];
	port = argv[optind + 1];
	if (!udp)
		return sbctl_connect_dial(host, port, hints.ai_family, laddr, lport, wait_ms,
					  quit_ms);
	if (laddr || lport)
		return sbctl_usage_error(cmd, "-s and -p are for TCP");
	hints.ai_socktype = SOCK_DGRAM;
	c = sbctl_open();
	if (!c)
		return SBCTL_FAIL;
	eai = sb_getaddrinfo(c, host, port, &hints, &res);
	if (eai) {
		rc = sbctl_fail_eai(eai, "connect %s %s", host, port);
		sb_close_client(c);
		return rc;
	}
	/* The first address that answers, as nc. */
	for (ai = res; ai; ai = ai->ai_next) {
		const char *m;
		int ok;

		sbctl_sockaddr_str(ai->ai_addr, peer, sizeof(peer));
		s = sb_socket(c, ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (s < 0) {
			err = errno;
			m = sb_last_error();
			snprintf(errmsg, sizeof(errmsg), "%s", m ? m : "");
			sbctl_note("socket for %s: %s", peer, strerror(err));
			continue;
		}
		ok = sb_connect(c, s, ai->ai_addr, ai->ai_addrlen) == 0;
		if (ok) {
			sbctl_note("connected to %s (udp)", peer);
			break;
		}
		err = errno;
		m = sb_last_error();
		snprintf(errmsg, sizeof(errmsg), "%s", m ? m : "");
		sbctl_note("connect %s: %s", peer, strerror(err));
		sb_close(c, s);
		s = -1;
	}
	sb_freeaddrinfo(res);
	if (s < 0) {
		if (errmsg[0])
			fprintf(stderr, "sbctl: connect %s: %s (%s): %s\n", peer, strerror(err),
				sbctl_errname(err), errmsg);
		else
			fprintf(stderr, "sbctl: connect %s: %s (%s)\n", peer, strerror(err),
				sbctl_errname(err));
		sb_close_client(c);
		return SBCTL_FAIL;
	}
	rc = sbctl_relay_udp(c, s, peer, wait_ms < 0 ? 1000 : wait_ms);
	sb_close(c, s);
	sb_close_client(c);
	return rc;
}

/* ---- listen ---- */

struct sbctl_listen {
	int keep;
	long quit_ms;
	int rc;
};

static int sbctl_accepted(sb_client *c, int s, const struct sockaddr *peer,
			  socklen_t peerlen, void *arg)
{
	struct sbctl_listen *l = arg;
	char name[INET6_ADDRSTRLEN + 16] = "the peer";
	int rc;

	if (peer && peerlen >= sizeof(sa_family_t))
		sbctl_sockaddr_str(peer, name, sizeof(name));
	sbctl_note("connection from %s", name);
	rc = sbctl_relay_tcp(c, s, name, l->quit_ms);
	if (rc)
		l->rc = rc;
	/* Non-zero ends the loop; -k goes on after a failed relay too. */
	return l->keep ? 0 : 1;
}

int sbctl_cmd_listen(const struct sbctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		SBCTL_COMMON_OPTIONS,
		{ "keep-open", no_argument, NULL, 'k' },
		{ "quit-after", required_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 },
	};
	struct sbctl_listen l = { 0, -1, SBCTL_OK };
	const char *host = NULL, *port;
	int socks[SBCTL_MAX_LISTEN];
	int opt, rc, n, i, family = AF_UNSPEC;
	sb_client *c;

	while ((opt = getopt_long(argc, argv, SBCTL_COMMON_SHORT "46kq:", opts, NULL)) != -1) {
		switch (opt) {
		case '4':
			family = AF_INET;
			break;
		case '6':
			family = AF_INET6;
			break;
		case 'k':
			l.keep = 1;
			break;
		case 'q':
			l.quit_ms = sbctl_parse_secs(optarg);
			if (l.quit_ms < 0)
				return sbctl_usage_error(cmd, "-q takes seconds, not '%s'", optarg);
			break;
		default:
			if ((rc = sbctl_common_opt(cmd, opt)) >= 0)
				return rc;
		}
	}
	if (argc - optind < 1)
		return sbctl_usage_error(cmd, "PORT is missing");
	if (argc - optind > 2)
		return sbctl_usage_error(cmd, "unexpected argument '%s'", argv[optind + 2]);
	if (argc - optind == 2)
		host = argv[optind++];
	port = argv[optind];
	if (sbctl_parse_port(port) < 0)
		return sbctl_usage_error(cmd, "PORT must be 0..65535, not '%s'", port);
	if (host && family != AF_UNSPEC)
		return sbctl_usage_error(cmd, "-4/-6 are for listening without HOST");
	if (!host && family == AF_INET)
		host = "0.0.0.0";
	else if (!host && family == AF_INET6)
		host = "::";
	c = sbctl_open();
	if (!c)
		return SBCTL_FAIL;
	n = sb_tcp_server_sockets(c, host, port, socks, SBCTL_MAX_LISTEN);
	if (n < 0) {
		rc = sbctl_fail(errno, "listen %s%s%s", host ? host : "", host ? " " : "", port);
		sb_close_client(c);
		return rc;
	}
	for (i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		char name[INET6_ADDRSTRLEN + 16];

		if (sb_getsockname(c, socks[i], (struct sockaddr *)&ss, &len) == 0)
			sbctl_note("listening on %s",
				   sbctl_sockaddr_str((struct sockaddr *)&ss, name, sizeof(name)));
	}
	rc = sb_accept_loop_many(c, socks, (size_t)n, sbctl_accepted, &l);
	if (rc < 0)
		l.rc = sbctl_fail(errno, "accept");
	for (i = 0; i < n; i++)
		sb_close(c, socks[i]);
	sb_close_client(c);
	return l.rc;
}
