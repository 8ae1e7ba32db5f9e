/* SPDX-License-Identifier: MIT
 * listener.c - Unix-socket listeners: bind with the configured mode, clear
 * a stale socket file, accept with SO_PEERCRED, hand the fd to gRPC.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "identity.h"
#include "listener.h"
#include "log.h"
#include "rpc.h"

static struct {
	int fd;
	int inherited;   /* from systemd: not ours to remove */
	struct sb__listen_cfg cfg;
} sb__ls[SB__MAX_LISTENERS];
static size_t sb__n_ls;
static int sb__stop_pipe[2] = { -1, -1 };
static pthread_t sb__accept_thread;
static int sb__accept_running;

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

/* Create the parent directory of the default path (/run/sockbroker). */
static void sb__make_parent(const char *path)
{
	char dir[108];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = 0;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		sb__warn("cannot create %s: %s", dir, strerror(errno));
}

static int sb__open_one(const struct sb__listen_cfg *l, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	socklen_t len;
	mode_t old;
	int fd, ret;

	if (!l->abstract) {
		sb__make_parent(l->path);
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
		sb__n_ls++;
	}
	sb__info("using %d socket(s) from systemd socket activation", n);
	return n;
}

int sb__listeners_open(const struct sb__config *cfg, char *err, size_t errlen)
{
	size_t i;
	int fd;

	fd = sb__listeners_inherit(err, errlen);
	if (fd < 0)
		return fd;
	for (i = 0; i < cfg->n_listen && fd == 0; i++) {
		fd = sb__open_one(&cfg->listen[i], err, errlen);
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
	return 0;
}

static void sb__accept_one(int lfd)
{
	struct sb__identity id;
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		if (errno != EAGAIN && errno != ECONNABORTED)
			sb__warn("accept: %s", strerror(errno));
		if (errno == EMFILE || errno == ENFILE)
			usleep(100000);	/* let sockets close before retrying */
		return;
	}
	if (sb__identity_from_fd(fd, &id) < 0) {
		sb__warn("no peer credentials on a new connection: %s", strerror(errno));
		close(fd);
		return;
	}
	sb__debug("connection from uid %u pid %d", (unsigned)id.uid, (int)id.pid);
	sb__rpc_add_fd(fd, &id);
}

static void *sb__accept_main(void *arg)
{
	struct pollfd pfd[SB__MAX_LISTENERS + 1];
	size_t i;

	(void)arg;
	for (i = 0; i < sb__n_ls; i++) {
		pfd[i].fd = sb__ls[i].fd;
		pfd[i].events = POLLIN;
	}
	pfd[sb__n_ls].fd = sb__stop_pipe[0];
	pfd[sb__n_ls].events = POLLIN;
	for (;;) {
		if (poll(pfd, (nfds_t)sb__n_ls + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			sb__err("poll on listeners: %s", strerror(errno));
			return NULL;
		}
		if (pfd[sb__n_ls].revents)
			return NULL;
		for (i = 0; i < sb__n_ls; i++)
			if (pfd[i].revents & POLLIN)
				sb__accept_one(pfd[i].fd);
	}
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
			sb__warn("cannot remove %s: %s", sb__ls[i].cfg.path, strerror(errno));
	}
	sb__n_ls = 0;
	if (sb__stop_pipe[0] >= 0) {
		close(sb__stop_pipe[0]);
		close(sb__stop_pipe[1]);
		sb__stop_pipe[0] = sb__stop_pipe[1] = -1;
	}
}
