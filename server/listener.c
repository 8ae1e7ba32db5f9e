/* SPDX-License-Identifier: MIT
 * listener.c - Unix-socket listeners: bind with the configured mode, clear
 * a stale socket file, accept with SO_PEERCRED, refuse callers no rule
 * serves and connections over the limits, close idle ones, tell fd
 * hand-off channels from gRPC connections by their first bytes, and hand
 * the rest to gRPC.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "clock.h"
#include "guard.h"
#include "handoff.h"
#include "identity.h"
#include "listener.h"
#include "log.h"
#include "rpc.h"

/* Connections waiting for their first bytes, at most; and how long one
 * waits before it goes to gRPC as every connection did before hand-off
 * channels existed. */
#define SB__MAX_PENDING 64
#define SB__PREFACE_MS 1000

static struct {
	int fd;
	int inherited;   /* from systemd: not ours to remove */
	struct sb__listen_cfg cfg;
} sb__ls[SB__MAX_LISTENERS];
static size_t sb__n_ls;
static int sb__stop_pipe[2] = { -1, -1 };
static pthread_t sb__accept_thread;
static int sb__accept_running;
/* Connection limits: set at start-up and by a reload, read by the accept
 * thread. */
static _Atomic uint32_t sb__max_conns = SB__DEF_MAX_CONNECTIONS,
	sb__max_conns_per_uid = SB__DEF_MAX_CONNECTIONS_PER_UID,
	sb__idle_ms = SB__DEF_IDLE_CONNECTION_MS;
/* Closed to accept and drop a connection when the broker is out of fds,
 * so that a full backlog neither spins poll() nor waits unanswered. */
static int sb__reserve_fd = -1;
static int64_t sb__emfile_logged_ms;
static uint64_t sb__emfile_since_log;

/* Admitted connections whose first bytes have not come yet: the accept
 * thread polls them with the listeners, never waiting on one. A gRPC
 * client writes its preface as soon as it connects, so few wait here. */
static struct {
	int fd;
	struct sb__identity id;
	int64_t deadline_ms;
} sb__pend[SB__MAX_PENDING];
static size_t sb__n_pend;

/* Sweep interval: idle connections close within idle_connection_ms plus
 * this, and closed ones leave the table as fast. */
#define SB__SWEEP_MS 200
/* At most one "out of descriptors" line per this interval. */
#define SB__EMFILE_LOG_MS 5000

static socklen_t sb__sun(const struct sb__listen_cfg *l, struct sockaddr_un *sun)
{
	size_t n = strlen(l->path);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (l->abstract) {
		memcpy(sun->sun_path + 1, l->path, n);
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	}
	memcpy(sun->sun_path, l->path, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

/* A socket file already at the path: remove it only when it is a socket
 * nobody listens on. Return: 0 (path free) or -errno. */
static int sb__clear_stale(const struct sb__listen_cfg *l, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	socklen_t len;
	int fd, ret;

	if (lstat(l->path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", l->path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	len = sb__sun(l, &sun);
	ret = connect(fd, (struct sockaddr *)&sun, len);
	close(fd);
	if (ret == 0) {
		snprintf(err, errlen, "%s: another broker is already listening", l->path);
		return -EADDRINUSE;
	}
	if (unlink(l->path) < 0)
		return -errno;
	sb__info("removed stale socket %s", l->path);
	return 0;
}

/*
 * Create the parent directory of @path (the default /run/sockbroker). The
 * default socket's directory is the broker's own: with confine.user it
 * belongs to that user, who must remove the socket file at shutdown
 * (isolation.c, stage 3). An operator's directory is left as it is.
 */
static void sb__make_parent(const char *path, const struct sb__confine_cfg *c)
{
	char dir[108], def[108];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = 0;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		sb__warn("cannot create %s: %s", dir, strerror(errno));
	sb__default_socket_path(def, sizeof(def));
	if (c->has_user && !strcmp(path, def) && chown(dir, c->uid, c->gid) < 0)
		sb__warn("cannot give %s to confine.user %s: %s", dir, c->user,
			 strerror(errno));
}

static int sb__open_one(const struct sb__listen_cfg *l, const struct sb__confine_cfg *c,
		       char *err, size_t errlen)
{
	struct sockaddr_un sun;
	socklen_t len;
	mode_t old;
	int fd, ret;

	if (!l->abstract) {
		sb__make_parent(l->path, c);
		ret = sb__clear_stale(l, err, errlen);
		if (ret < 0)
			return ret;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	len = sb__sun(l, &sun);
	/* The umask makes the file private from its first moment. */
	old = umask(0777 & ~l->mode);
	ret = bind(fd, (struct sockaddr *)&sun, len);
	umask(old);
	if (ret < 0 || (!l->abstract && chmod(l->path, l->mode) < 0) ||
	    (!l->abstract && (l->has_owner || l->has_group) &&
	     chown(l->path, l->has_owner ? l->owner : (uid_t)-1,
		   l->has_group ? l->group : (gid_t)-1) < 0) ||
	    listen(fd, 512) < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s%s: %s", l->abstract ? "@" : "", l->path,
			 strerror(-ret));
		close(fd);
		return ret;
	}
	return fd;
}

/* Sockets passed by systemd socket activation (LISTEN_FDS), if any.
 * Return: how many were taken, or -errno. */
static int sb__listeners_inherit(char *err, size_t errlen)
{
	int n = sd_listen_fds(1), i;

	if (n <= 0)
		return n;
	for (i = 0; i < n && sb__n_ls < SB__MAX_LISTENERS; i++) {
		int fd = SD_LISTEN_FDS_START + i;

		if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
			snprintf(err, errlen, "inherited fd %d is not a listening "
				 "Unix stream socket", fd);
			return -EINVAL;
		}
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
		    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
			return -errno;
		sb__ls[sb__n_ls].fd = fd;
		sb__ls[sb__n_ls].inherited = 1;
		snprintf(sb__ls[sb__n_ls].cfg.path, sizeof(sb__ls[sb__n_ls].cfg.path),
			 "(systemd fd %d)", fd);
		sb__ls[sb__n_ls].cfg.identity[0] = '\0';
		sb__n_ls++;
	}
	sb__info("using %d socket(s) from systemd socket activation", n);
	return n;
}

int sb__listeners_open(const struct sb__config *cfg, char *err, size_t errlen)
{
	size_t i;
	int fd, inherited;

	/* Sockets from systemd replace the configured Unix listeners. */
	inherited = sb__listeners_inherit(err, errlen);
	if (inherited < 0)
		return inherited;
	for (i = 0; i < cfg->n_listen && inherited == 0; i++) {
		fd = sb__open_one(&cfg->listen[i], &cfg->confine, err, errlen);
		if (fd < 0) {
			if (!err[0])
				snprintf(err, errlen, "%s: %s", cfg->listen[i].path,
					 strerror(-fd));
			sb__listeners_close();
			return fd;
		}
		sb__ls[sb__n_ls].fd = fd;
		sb__ls[sb__n_ls].inherited = 0;
		sb__ls[sb__n_ls].cfg = cfg->listen[i];
		sb__n_ls++;
	}
	if (pipe2(sb__stop_pipe, O_CLOEXEC) < 0) {
		sb__listeners_close();
		return -errno;
	}
	sb__reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (sb__reserve_fd < 0) {
		fd = -errno;
		sb__listeners_close();
		return fd;
	}
	sb__listeners_set_limits(&cfg->limits);
	return 0;
}

/* Out of descriptors: free the reserve, accept the waiting connection
 * and close it at once (the caller sees it end instead of hanging in the
 * backlog), then take the reserve back. */
static void sb__accept_drop(int lfd)
{
	int64_t now = sb__now_ms();
	int fd;

	if (sb__reserve_fd >= 0) {
		close(sb__reserve_fd);
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			sb__conn_dropped();
			sb__emfile_since_log++;
		}
		sb__reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (now - sb__emfile_logged_ms >= SB__EMFILE_LOG_MS) {
		sb__warn("accept: out of file descriptors; %llu connection(s) dropped "
			 "since the last report", (unsigned long long)sb__emfile_since_log);
		sb__emfile_logged_ms = now;
		sb__emfile_since_log = 0;
	}
	/* Nothing to drop (no reserve either): let descriptors free up
	 * rather than spin on a listener that stays readable. */
	if (sb__reserve_fd < 0)
		usleep(10000);
}

/* Send admitted connection @fd where its first bytes say, or park it in
 * sb__pend (unless @parked: it is there already). Return: 1 when @fd
 * waits (still) for its bytes. */
static int sb__classify(int fd, const struct sb__identity *id, int parked)
{
	switch (sb__handoff_preface(fd)) {
	case SB__PREFACE_WAIT:
		if (parked)
			return 1;
		if (sb__n_pend < SB__MAX_PENDING) {
			sb__pend[sb__n_pend].fd = fd;
			sb__pend[sb__n_pend].id = *id;
			sb__pend[sb__n_pend].deadline_ms = sb__now_ms() + SB__PREFACE_MS;
			sb__n_pend++;
			return 1;
		}
		sb__rpc_add_fd(fd);
		return 0;
	case SB__PREFACE_CHANNEL:
		sb__handoff_bind(fd, id);
		return 0;
	case SB__PREFACE_DIAL:
		sb__handoff_dial_bind(fd, id);
		return 0;
	case SB__PREFACE_GONE:
		close(fd);
		return 0;
	default:
		sb__rpc_add_fd(fd);
		return 0;
	}
}

/* Connections in sb__pend whose bytes came (@ready[i]) or whose wait is
 * over (they go to gRPC). */
static void sb__pend_step(const struct pollfd *ready, int64_t now)
{
	size_t i = 0, j = 0;

	for (i = 0; i < sb__n_pend; i++) {
		int wait = 1;

		if (ready[i].revents)
			wait = sb__classify(sb__pend[i].fd, &sb__pend[i].id, 1);
		if (wait && now >= sb__pend[i].deadline_ms) {
			sb__rpc_add_fd(sb__pend[i].fd);
			wait = 0;
		}
		if (wait)
			sb__pend[j++] = sb__pend[i];
	}
	sb__n_pend = j;
}

static void sb__accept_one(size_t li)
{
	struct sb__identity id;
	int lfd = sb__ls[li].fd;
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	int ret;

	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE)
			sb__accept_drop(lfd);
		else if (errno != EAGAIN && errno != ECONNABORTED)
			sb__warn("accept: %s", strerror(errno));
		return;
	}
	if (sb__identity_from_fd(fd, &id) < 0) {
		sb__warn("no peer credentials on a new connection: %s", strerror(errno));
		close(fd);
		return;
	}
	/* The listener's identity is part of the caller's (match: listener). */
	memcpy(id.listener, sb__ls[li].cfg.identity, sizeof(id.listener));
	/* A caller no rule serves holds nothing beyond a refused
	 * connection: it never reaches gRPC. */
	if (!sb__guard_serves(&id)) {
		sb__conn_refused(&id, 1);
		sb__debug("connection from uid %u pid %d refused: not served by the "
			  "policy", (unsigned)id.uid, (int)id.pid);
		close(fd);
		return;
	}
	ret = sb__conn_admit(fd, &id, atomic_load(&sb__max_conns),
			     atomic_load(&sb__max_conns_per_uid));
	if (ret < 0) {
		sb__debug("connection from uid %u pid %d refused: %s", (unsigned)id.uid,
			  (int)id.pid, ret == -EMFILE ? "max_connections or "
			  "max_connections_per_uid reached" : strerror(-ret));
		close(fd);
		return;
	}
	sb__debug("connection from uid %u pid %d", (unsigned)id.uid, (int)id.pid);
	sb__classify(fd, &id, 0);
}

static void *sb__accept_main(void *arg)
{
	struct pollfd pfd[SB__MAX_LISTENERS + 1 + SB__MAX_PENDING];
	struct pollfd *pend = pfd + sb__n_ls + 1;
	size_t i;

	(void)arg;
	for (i = 0; i < sb__n_ls; i++) {
		pfd[i].fd = sb__ls[i].fd;
		pfd[i].events = POLLIN;
	}
	pfd[sb__n_ls].fd = sb__stop_pipe[0];
	pfd[sb__n_ls].events = POLLIN;
	for (;;) {
		int tmo = SB__SWEEP_MS, n;
		int64_t now = sb__now_ms();

		for (i = 0; i < sb__n_pend; i++) {
			pend[i].fd = sb__pend[i].fd;
			pend[i].events = POLLIN;
			pend[i].revents = 0;
			if (sb__pend[i].deadline_ms - now < tmo)
				tmo = sb__pend[i].deadline_ms > now
					? (int)(sb__pend[i].deadline_ms - now) : 0;
		}
		n = poll(pfd, (nfds_t)(sb__n_ls + 1 + sb__n_pend), tmo);
		if (n < 0 && errno != EINTR) {
			sb__err("poll on listeners: %s", strerror(errno));
			return NULL;
		}
		if (n > 0 && pfd[sb__n_ls].revents)
			return NULL;
		/* Waiting connections first: accepting may add to them. */
		sb__pend_step(pend, sb__now_ms());
		for (i = 0; n > 0 && i < sb__n_ls; i++)
			if (pfd[i].revents & POLLIN)
				sb__accept_one(i);
		sb__conn_sweep(sb__now_ms(), atomic_load(&sb__idle_ms));
	}
}

void sb__listeners_set_limits(const struct sb__limits *l)
{
	atomic_store(&sb__max_conns, l->max_connections);
	atomic_store(&sb__max_conns_per_uid, l->max_connections_per_uid);
	atomic_store(&sb__idle_ms, l->idle_connection_ms);
}

int sb__listeners_start(void)
{
	if (pthread_create(&sb__accept_thread, NULL, sb__accept_main, NULL))
		return -EAGAIN;
	sb__accept_running = 1;
	return 0;
}

void sb__listeners_close(void)
{
	size_t i;

	if (sb__accept_running) {
		if (write(sb__stop_pipe[1], "x", 1) < 0)
			sb__err("cannot stop the accept thread: %s", strerror(errno));
		pthread_join(sb__accept_thread, NULL);
		sb__accept_running = 0;
	}
	for (i = 0; i < sb__n_ls; i++) {
		close(sb__ls[i].fd);
		if (!sb__ls[i].inherited && !sb__ls[i].cfg.abstract &&
		    unlink(sb__ls[i].cfg.path) < 0)
			sb__warn("cannot remove %s: %s%s", sb__ls[i].cfg.path, strerror(errno),
				 errno == EACCES ? " (confine.user cannot write its directory; "
				 "the next start removes it)" : "");
	}
	sb__n_ls = 0;
	while (sb__n_pend)
		close(sb__pend[--sb__n_pend].fd);
	if (sb__stop_pipe[0] >= 0) {
		close(sb__stop_pipe[0]);
		close(sb__stop_pipe[1]);
		sb__stop_pipe[0] = sb__stop_pipe[1] = -1;
	}
	if (sb__reserve_fd >= 0) {
		close(sb__reserve_fd);
		sb__reserve_fd = -1;
	}
	sb__conn_free();
}
