/* SPDX-License-Identifier: MIT
 * it_unix_ascaller.c - Unix-domain calls a caller makes through the broker
 * carry the caller's ids, not the broker's (server/ascaller.h).
 *
 * A root broker serves uid 65534 by a rule that lets it connect and send
 * to Unix names under DIR/pub and bind under DIR. The test re-executes
 * itself as uid 65534 (the client) while the parent runs native servers:
 *  - the peer credentials a Unix server sees (SO_PEERCRED) of a Dial
 *    (sb_unix_connect) and of a Connect are uid/gid 65534, not 0;
 *  - a socket file only root may write (0600) refuses the caller's
 *    connect with EACCES, by Dial and by Connect, and its server sees
 *    nothing; root through the broker is let in and seen as uid 0;
 *  - a datagram reaches a socket file the caller may write, with the
 *    caller's uid and gid as its SO_PASSCRED credentials, and a 0600 one
 *    refuses it (EACCES);
 *  - a bind makes a socket file owned by 65534; a bind in a directory only
 *    root may write is EACCES;
 *  - the confined broker keeps CAP_SETUID and CAP_SETGID for this (its
 *    CapEff), and a broker started without them refuses the caller's
 *    connect (EACCES) rather than make it as root.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include "it_client.h"

static char dir[64];

static void path_of(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", dir, name);
}

/* A native Unix socket of @type bound at DIR/@name with @mode. */
static int unix_server(int type, const char *name, mode_t mode)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0), one = 1;

	path_of(sun.sun_path, sizeof(sun.sun_path), name);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    chmod(sun.sun_path, mode) < 0 ||
	    (type == SOCK_STREAM && listen(fd, 8) < 0) ||
	    (type == SOCK_DGRAM && setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one,
					      sizeof(one)) < 0)) {
		CHECK(0, "server %s: %s", name, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static struct sockaddr_un sun_of(const char *name, socklen_t *len)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	path_of(sun.sun_path, sizeof(sun.sun_path), name);
	*len = (socklen_t)sizeof(sun);
	return sun;
}

/* ---- the child, as uid 65534 ---- */

static int child(const char *target)
{
	struct sockaddr_un sun;
	socklen_t len;
	char p[128];
	sb_client *c;
	int s;

	if (it_drop_privileges(IT_NOBODY, IT_NOBODY) < 0)
		return 1;
	c = sb_open(target);
	if (!CHECK(c, "nobody: sb_open: %s", strerror(errno)))
		return 1;
	/* Dial and Connect to a server the caller may reach. */
	path_of(p, sizeof(p), "pub/open");
	s = sb_unix_connect(c, p);
	if (CHECK(s >= 0, "nobody: sb_unix_connect(pub/open): %s %s", strerror(errno),
		  it_sberr()))
		CHECK(sb_send(c, s, "d", 1, 0) == 1, "nobody: send on the Dial socket");
	s = sb_socket(c, AF_UNIX, SOCK_STREAM, 0);
	sun = sun_of("pub/open", &len);
	if (CHECK(s >= 0 && sb_connect(c, s, (struct sockaddr *)&sun, len) == 0,
		  "nobody: sb_connect(pub/open): %s %s", strerror(errno), it_sberr()))
		CHECK(sb_send(c, s, "c", 1, 0) == 1, "nobody: send on the Connect socket");
	/* A socket file only root may write. */
	path_of(p, sizeof(p), "pub/rootonly");
	errno = 0;
	CHECK(sb_unix_connect(c, p) < 0 && errno == EACCES,
	      "nobody: sb_unix_connect(pub/rootonly): want EACCES, got %s", strerror(errno));
	s = sb_socket(c, AF_UNIX, SOCK_STREAM, 0);
	sun = sun_of("pub/rootonly", &len);
	errno = 0;
	CHECK(s >= 0 && sb_connect(c, s, (struct sockaddr *)&sun, len) < 0 && errno == EACCES,
	      "nobody: sb_connect(pub/rootonly): want EACCES, got %s", strerror(errno));
	/* A datagram with the caller's credentials. */
	s = sb_socket(c, AF_UNIX, SOCK_DGRAM, 0);
	sun = sun_of("pub/dgram", &len);
	CHECK(s >= 0 && sb_sendto(c, s, "g", 1, 0, (struct sockaddr *)&sun, len) == 1,
	      "nobody: sb_sendto(pub/dgram): %s %s", strerror(errno), it_sberr());
	sun = sun_of("pub/dgramroot", &len);
	errno = 0;
	CHECK(s >= 0 && sb_sendto(c, s, "h", 1, 0, (struct sockaddr *)&sun, len) < 0 &&
	      errno == EACCES, "nobody: sb_sendto(pub/dgramroot): want EACCES, got %s",
	      strerror(errno));
	/* Binds: the file is the caller's; a root-only directory refuses. */
	s = sb_socket(c, AF_UNIX, SOCK_STREAM, 0);
	sun = sun_of("pub/mine", &len);
	CHECK(s >= 0 && sb_bind(c, s, (struct sockaddr *)&sun, len) == 0,
	      "nobody: sb_bind(pub/mine): %s %s", strerror(errno), it_sberr());
	s = sb_socket(c, AF_UNIX, SOCK_STREAM, 0);
	sun = sun_of("priv/x", &len);
	errno = 0;
	CHECK(s >= 0 && sb_bind(c, s, (struct sockaddr *)&sun, len) < 0 && errno == EACCES,
	      "nobody: sb_bind(priv/x): want EACCES, got %s", strerror(errno));
	sb_close_client(c);
	return it_result();
}

/* The child of the broker without CAP_SETUID: its connect is refused. */
static int child_refused(const char *target)
{
	char p[128];
	sb_client *c;

	if (it_drop_privileges(IT_NOBODY, IT_NOBODY) < 0)
		return 1;
	c = sb_open(target);
	if (!CHECK(c, "nobody: sb_open: %s", strerror(errno)))
		return 1;
	path_of(p, sizeof(p), "pub/open");
	errno = 0;
	CHECK(sb_unix_connect(c, p) < 0 && errno == EACCES,
	      "nobody, broker without CAP_SETUID: want EACCES, got %s", strerror(errno));
	sb_close_client(c);
	return it_result();
}

/* ---- the parent, as root ---- */

#define POLICY_FMT \
	"policy:\n" \
	"  - name: nobody-unix\n" \
	"    match: { uid: 65534 }\n" \
	"    action: allow\n" \
	"    ops: [socket, connect, sendto, bind]\n" \
	"    families: [unix]\n" \
	"    destinations: [\"unix:%s/pub\"]\n" \
	"    bind: [\"unix:%s\"]\n" \
	"  - name: root\n" \
	"    match: { uid: 0 }\n" \
	"    action: allow\n"

/* Bits CAP_SETUID and CAP_SETGID of CapEff in /proc/PID/status. */
static int caps_ids(pid_t pid)
{
	char path[64], line[256];
	unsigned long long eff = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return ((eff >> CAP_SETUID) & 1) && ((eff >> CAP_SETGID) & 1);
}

static void expect_peer(int lfd, const char *what, uid_t uid, char byte)
{
	struct ucred cr = { 0, (uid_t)-1, (gid_t)-1 };
	socklen_t len = sizeof(cr);
	char b = 0;
	int afd = it_native_accept(lfd, NULL, NULL, 5000);

	if (!CHECK(afd >= 0, "%s: the server saw no connection", what))
		return;
	CHECK(getsockopt(afd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 && cr.uid == uid &&
	      cr.gid == uid, "%s: SO_PEERCRED uid %u gid %u, want %u", what,
	      (unsigned)cr.uid, (unsigned)cr.gid, (unsigned)uid);
	if (byte)
		CHECK(it_read_full(afd, &b, 1, 5000) == 0 && b == byte,
		      "%s: the byte sent", what);
	close(afd);
}

static void expect_nothing(int lfd, const char *what)
{
	int afd = it_native_accept(lfd, NULL, NULL, 200);

	CHECK(afd < 0, "%s: the server saw a connection it should not", what);
	if (afd >= 0)
		close(afd);
}

/* One datagram on @fd within @ms, with its sender's credentials in @cr
 * when the socket has SO_PASSCRED. Return: 1 got it, 0 none. */
static int dgram_got(int fd, int ms, struct ucred *cr)
{
	union {
		char b[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} u;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char byte;
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
			     .msg_controllen = sizeof(u.b) };
	struct cmsghdr *h;

	if (poll(&pfd, 1, ms) != 1 || recvmsg(fd, &mh, MSG_DONTWAIT) != 1)
		return 0;
	h = CMSG_FIRSTHDR(&mh);
	if (cr && h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_CREDENTIALS)
		memcpy(cr, CMSG_DATA(h), sizeof(*cr));
	return 1;
}

static int mkdirs(void)
{
	char p[128];

	if (!mkdtemp(strcpy(dir, "/tmp/sb-ascaller.XXXXXX")) || chmod(dir, 0755) < 0)
		return -1;
	path_of(p, sizeof(p), "pub");
	if (mkdir(p, 0755) < 0 || chmod(p, 01777) < 0)
		return -1;
	path_of(p, sizeof(p), "priv");
	return mkdir(p, 0755);
}

static void rmdirs(void)
{
	static const char *const names[] = { "pub/open", "pub/rootonly", "pub/dgram",
					     "pub/dgramroot", "pub/mine", "priv/x", "pub",
					     "priv" };
	char p[128];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		path_of(p, sizeof(p), names[i]);
		if (remove(p) < 0 && errno != ENOENT)
			it_note("remove %s: %s", p, strerror(errno));
	}
	rmdir(dir);
}

static int run_child(const char *self, const char *mode, const char *target)
{
	char *argv[] = { (char *)self, (char *)mode, (char *)target, dir, NULL };
	int st = it_run_self(argv, 30000);

	return st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char **argv)
{
	struct it_broker b, nb = { .pid = 0 };
	struct stat sb = { .st_uid = (uid_t)-1 };
	struct ucred cr = { 0, (uid_t)-1, (gid_t)-1 };
	char cfg[1024], p[128];
	int lopen = -1, lroot = -1, dg = -1, dgroot = -1, have_nb = 0;
	sb_client *rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && (!strcmp(argv[1], "--as-nobody") || !strcmp(argv[1], "--refused"))) {
		snprintf(dir, sizeof(dir), "%s", argv[3]);
		return !strcmp(argv[1], "--as-nobody") ? child(argv[2]) : child_refused(argv[2]);
	}
	if (geteuid() != 0)
		it_skip("needs root (to run the caller as uid 65534)");
	if (mkdirs() < 0) {
		CHECK(0, "directories under /tmp: %s", strerror(errno));
		return it_result();
	}
	snprintf(cfg, sizeof(cfg), POLICY_FMT, dir, dir);
	/* Both brokers before any gRPC call of this process; the second
	 * without CAP_SETUID. */
	if (it_broker_start(&b, cfg) < 0) {
		rmdirs();
		return 1;
	}
	it_broker_drop_caps = 1ull << CAP_SETUID;
	have_nb = it_broker_start(&nb, cfg) == 0;
	it_broker_drop_caps = 0;
	/* uid 65534 may reach the brokers' sockets; the policy decides. */
	if (!CHECK(chmod(b.dir, 0755) == 0 && chmod(b.sock, 0666) == 0 &&
		   (!have_nb || (chmod(nb.dir, 0755) == 0 && chmod(nb.sock, 0666) == 0)),
		   "chmod of the broker sockets: %s", strerror(errno)))
		goto out;
	lopen = unix_server(SOCK_STREAM, "pub/open", 0666);
	lroot = unix_server(SOCK_STREAM, "pub/rootonly", 0600);
	dg = unix_server(SOCK_DGRAM, "pub/dgram", 0666);
	dgroot = unix_server(SOCK_DGRAM, "pub/dgramroot", 0600);
	if (lopen < 0 || lroot < 0 || dg < 0 || dgroot < 0)
		goto out;
	CHECK(caps_ids(b.pid) == 1, "the confined broker keeps CAP_SETUID and CAP_SETGID "
	      "for a policy that lets uid 65534 reach Unix names");

	CHECK(run_child(argv[0], "--as-nobody", b.target), "the uid 65534 client's checks");
	expect_peer(lopen, "Dial as uid 65534", IT_NOBODY, 'd');
	expect_peer(lopen, "Connect as uid 65534", IT_NOBODY, 'c');
	expect_nothing(lroot, "a 0600 socket file, uid 65534");
	CHECK(dgram_got(dg, 5000, &cr), "the 0666 datagram socket got uid 65534's datagram");
	CHECK(cr.uid == IT_NOBODY && cr.gid == IT_NOBODY && cr.pid == b.pid,
	      "its SO_PASSCRED credentials: uid %u gid %u pid %d, want 65534, 65534, "
	      "the broker's", (unsigned)cr.uid, (unsigned)cr.gid, (int)cr.pid);
	CHECK(!dgram_got(dgroot, 200, NULL), "the 0600 datagram socket got nothing");
	path_of(p, sizeof(p), "pub/mine");
	CHECK(stat(p, &sb) == 0 && sb.st_uid == IT_NOBODY && S_ISSOCK(sb.st_mode),
	      "the socket file uid 65534 bound is its own (uid %u)", (unsigned)sb.st_uid);
	path_of(p, sizeof(p), "priv/x");
	CHECK(stat(p, &sb) < 0 && errno == ENOENT, "nothing was bound in priv/");

	if (have_nb) {
		CHECK(caps_ids(nb.pid) == 0, "the second broker has no CAP_SETUID");
		CHECK(run_child(argv[0], "--refused", nb.target),
		      "the uid 65534 client of the broker without CAP_SETUID");
		expect_nothing(lopen, "broker without CAP_SETUID");
	}

	/* Root through the broker: the broker's own ids, and let in. */
	rc = sb_open(b.target);
	if (CHECK(rc, "root: sb_open: %s", strerror(errno))) {
		int s;

		path_of(p, sizeof(p), "pub/rootonly");
		s = sb_unix_connect(rc, p);
		CHECK(s >= 0, "root: sb_unix_connect(pub/rootonly): %s", strerror(errno));
		expect_peer(lroot, "root", 0, 0);
		sb_close_client(rc);
	}
out:
	CHECK(it_broker_stop(&b) == 0, "broker did not stop cleanly");
	if (have_nb)
		CHECK(it_broker_stop(&nb) == 0, "second broker did not stop cleanly");
	if (lopen >= 0)
		close(lopen);
	if (lroot >= 0)
		close(lroot);
	if (dg >= 0)
		close(dg);
	if (dgroot >= 0)
		close(dgroot);
	rmdirs();
	return it_result();
}
