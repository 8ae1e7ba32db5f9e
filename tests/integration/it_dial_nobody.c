/* SPDX-License-Identifier: MIT
 * it_dial_nobody.c - Dial cannot be abused by an unprivileged caller.
 *
 * The broker (root, in new network and mount namespaces the test makes:
 * loopback up, 198.51.100.0/24 routed to it so that SYNs there are never
 * answered, a hosts file of its own) serves uid 65534 by three rules,
 * chosen by the caller's gid; the test re-executes itself as uid 65534:
 *   plain     gid 65534: socket, connect, bind, setsockopt, resolve;
 *             destinations 127.0.0.1 and 198.51.100.0/24; names nothing;
 *   named     gid 65533: the same to 127.0.0.1, and names port 700 and
 *             SO_PRIORITY, SO_MARK, SO_BINDTODEVICE;
 *   noresolve gid 65532: socket and connect to 127.0.0.1, no resolve.
 * With max_sockets_per_session 4 and max_sockets_per_uid 6 it asserts:
 *  - plain: "mixed.test" (::1 then 127.0.0.1, both listening) connects
 *    127.0.0.1 every time and ::1 never; a local end at port 700 is
 *    PERMISSION_DENIED/EACCES (port 1500 is not); Dial options SO_PRIORITY
 *    7, SO_MARK 1, SO_BINDTODEVICE "lo" are each PERMISSION_DENIED/EACCES
 *    (SO_PRIORITY 6 is not); no refused Dial reaches the listener;
 *  - named: the same local port and options are allowed, the peer sees
 *    port 700, and GetSockOpt reads 7, 1 and "lo" back;
 *  - noresolve: a name is PERMISSION_DENIED/EACCES naming resolve, with no
 *    resolver code and no connection; the numeric address connects;
 *  - bound attempts: 12 Dials from two sessions to a name with 4
 *    black-holed addresses: 6 fail EMFILE at once, 6 time out; while they
 *    run, the identity never counts more than 6 sockets and the broker
 *    never holds more than 3 descriptors per counted socket (plus the
 *    child's three connections); afterwards a Dial works again;
 *  - kill -9 of a client with 3 Dials in flight: the broker's descriptors
 *    and the identity's sockets come back to what they were.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it_client.h"

#define GID_PLAIN 65534
#define GID_NAMED 65533
#define GID_NORESOLVE 65532
#define LOW_PORT 700
#define PORTABLE_EACCES 13
#define PORTABLE_EMFILE 24
#define MAX_SESSION 4
#define MAX_UID 6
#define THREADS 6   /* per session, two sessions */
#define RESOLVERS 4 /* the broker's default resolver_threads */

#define HOSTS \
	"::1 mixed.test\n127.0.0.1 mixed.test\n127.0.0.1 allowed.test\n" \
	"198.51.100.1 black.test\n198.51.100.2 black.test\n" \
	"198.51.100.3 black.test\n198.51.100.4 black.test\n"

static const char config[] =
	"limits:\n"
	"  max_sockets_per_session: 4\n"
	"  max_sockets_per_uid: 6\n"
	"policy:\n"
	"  - name: root\n"
	"    match: { uid: 0 }\n"
	"    action: allow\n"
	"  - name: plain\n"
	"    match: { uid: 65534, gid: 65534 }\n"
	"    action: allow\n"
	"    ops: [socket, connect, bind, setsockopt, resolve]\n"
	"    destinations: [127.0.0.1/32, 198.51.100.0/24]\n"
	"  - name: named-port\n"
	"    match: { uid: 65534, gid: 65533 }\n"
	"    action: allow\n"
	"    ops: [bind]\n"
	"    ports: [\"700\"]\n"
	"  - name: named-opts\n"
	"    match: { uid: 65534, gid: 65533 }\n"
	"    action: allow\n"
	"    sockopts: [SO_PRIORITY, SO_MARK, SO_BINDTODEVICE]\n"
	"  - name: named\n"
	"    match: { uid: 65534, gid: 65533 }\n"
	"    action: allow\n"
	"    ops: [socket, connect, bind, setsockopt, resolve]\n"
	"    destinations: [127.0.0.1/32]\n"
	"  - name: noresolve\n"
	"    match: { uid: 65534, gid: 65532 }\n"
	"    action: allow\n"
	"    ops: [socket, connect]\n"
	"    destinations: [127.0.0.1/32]\n";

static char tmpdir[64];

/* ---- the uid 65534 child: raw Dial ---- */

static grpc_channel *ch;
static struct it_session sess;

struct opt {
	int level, name;
	int64_t ival;
	const char *text;   /* a text value instead of ival */
};

/* One raw Dial to 127.0.0.1:@port. Return: the status; *@err the
 * sb-errno; *@rep the reply when OK (free it). */
static grpc_status_code raw_dial(const char *host, uint16_t port, const char *lport,
				 const struct opt *o, size_t n, int *err,
				 Sockbroker__V1__DialReply **rep)
{
	Sockbroker__V1__DialRequest req = SOCKBROKER__V1__DIAL_REQUEST__INIT;
	Sockbroker__V1__DialOption d[4], *dp[4];
	Sockbroker__V1__SockOptValue v[4];
	struct it_reply r;
	grpc_status_code st;
	char pbuf[8];
	size_t i;

	snprintf(pbuf, sizeof(pbuf), "%u", port);
	req.host = (char *)host;
	req.service = pbuf;
	req.connect_timeout_ms = 2000;
	if (lport) {
		req.local_host = (char *)"127.0.0.1";
		req.local_service = (char *)lport;
	}
	for (i = 0; i < n && i < 4; i++) {
		sockbroker__v1__dial_option__init(&d[i]);
		sockbroker__v1__sock_opt_value__init(&v[i]);
		d[i].level = (Sockbroker__V1__OptionLevel)o[i].level;
		d[i].name = o[i].name;
		if (o[i].text) {
			v[i].value_case = SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_TEXT;
			v[i].text = (char *)o[i].text;
		} else {
			v[i].value_case = SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_INT_VALUE;
			v[i].int_value = o[i].ival;
		}
		d[i].value = &v[i];
		dp[i] = &d[i];
	}
	req.n_options = i;
	req.options = dp;
	*rep = NULL;
	memset(&r, 0, sizeof(r));
	it_call(ch, IT_SVC "Dial", &req.base, sess.token, 8000, &r);
	st = r.status;
	*err = r.sb_errno;
	if (st == GRPC_STATUS_OK)
		*rep = sockbroker__v1__dial_reply__unpack(NULL, r.len, r.data);
	if (st != GRPC_STATUS_OK && st != GRPC_STATUS_PERMISSION_DENIED)
		it_note("Dial: %s %s", it_status_name(st), r.details);
	it_reply_free(&r);
	return st;
}

/* GetSockOpt on a handle as an int, or as text into @text. */
static int64_t raw_getopt(uint64_t h, int level, int name, char *text, size_t n)
{
	Sockbroker__V1__GetSockOptRequest g = SOCKBROKER__V1__GET_SOCK_OPT_REQUEST__INIT;
	Sockbroker__V1__GetSockOptReply *gr = NULL;
	struct it_reply r;
	int64_t v = -1;

	g.handle = h;
	g.level = (Sockbroker__V1__OptionLevel)level;
	g.name = name;
	g.max_bytes = 64;
	it_call(ch, IT_SVC "GetSockOpt", &g.base, sess.token, 5000, &r);
	if (r.status == GRPC_STATUS_OK)
		gr = sockbroker__v1__get_sock_opt_reply__unpack(NULL, r.len, r.data);
	if (gr && gr->value) {
		v = gr->value->int_value;
		if (text && gr->value->value_case == SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_TEXT)
			snprintf(text, n, "%s", gr->value->text);
		else if (text && gr->value->value_case == SOCKBROKER__V1__SOCK_OPT_VALUE__VALUE_RAW)
			snprintf(text, n, "%.*s", (int)gr->value->raw.len,
				 (const char *)gr->value->raw.data);
	}
	if (gr)
		sockbroker__v1__get_sock_opt_reply__free_unpacked(gr, NULL);
	it_reply_free(&r);
	return v;
}

static void raw_close(uint64_t h)
{
	Sockbroker__V1__CloseRequest req = SOCKBROKER__V1__CLOSE_REQUEST__INIT;
	struct it_reply r;

	req.handle = h;
	it_call(ch, IT_SVC "Close", &req.base, sess.token, 5000, &r);
	it_reply_free(&r);
}

/* Nothing reached @lfd (what a refused Dial must leave it). */
static void no_connection(int lfd, const char *what)
{
	int afd = it_native_accept(lfd, NULL, NULL, 200);

	CHECK(afd < 0, "%s: the listener got a connection", what);
	if (afd >= 0)
		close(afd);
}

static const struct opt prio7 = { SOL_SOCKET, SO_PRIORITY, 7, NULL };
static const struct opt prio6 = { SOL_SOCKET, SO_PRIORITY, 6, NULL };
static const struct opt mark1 = { SOL_SOCKET, SO_MARK, 1, NULL };
static const struct opt devlo = { SOL_SOCKET, SO_BINDTODEVICE, 0, "lo" };

/* gid 65534: a mixed name connects only the allowed address; the low
 * port and the privileged options are refused. */
static void child_plain(const char *target, int lfd, uint16_t port)
{
	struct sockaddr_storage a6;
	Sockbroker__V1__DialReply *rep;
	const struct opt *refused[] = { &prio7, &mark1, &devlo };
	const char *names[] = { "SO_PRIORITY 7", "SO_MARK 1", "SO_BINDTODEVICE lo" };
	grpc_status_code st;
	char pbuf[8], buf[96];
	int lfd6, s, i, err, afd;
	sb_client *c = sb_open(target);

	if (!CHECK(c != NULL, "plain: sb_open: %s", strerror(errno)))
		return;
	/* [::1] listens on the port of 127.0.0.1 and would win but for the
	 * policy: the resolver lists it first. */
	lfd6 = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (!CHECK(lfd6 >= 0 && bind(lfd6, (struct sockaddr *)&a6, it_addr6(&a6, "::1", port)) == 0 &&
		   listen(lfd6, 8) == 0, "plain: listener on [::1]:%u: %s", port, strerror(errno)))
		goto out;
	snprintf(pbuf, sizeof(pbuf), "%u", port);
	for (i = 0; i < 5; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		s = sb_tcp_connect(c, "mixed.test", pbuf, NULL, NULL, 2000);
		if (!CHECK(s >= 0, "plain: mixed.test: %s %s", strerror(errno), it_sberr()))
			continue;
		if (sb_getpeername(c, s, (struct sockaddr *)&ss, &len) < 0)
			len = 0;
		it_addr_str((struct sockaddr *)&ss, len, buf, sizeof(buf));
		CHECK(ss.ss_family == AF_INET && len && strncmp(buf, "127.0.0.1:", 10) == 0,
		      "plain: mixed.test connected %s, want 127.0.0.1", buf);
		afd = it_native_accept(lfd, NULL, NULL, 2000);
		CHECK(afd >= 0, "plain: 127.0.0.1 saw no connection");
		if (afd >= 0)
			close(afd);
		sb_close(c, s);
	}
	no_connection(lfd6, "plain: ::1 (refused by policy)");

	st = raw_dial("127.0.0.1", port, "700", NULL, 0, &err, &rep);
	CHECK(st == GRPC_STATUS_PERMISSION_DENIED && err == PORTABLE_EACCES,
	      "plain: local port 700: %s errno %d, want PERMISSION_DENIED EACCES",
	      it_status_name(st), err);
	if (rep)
		sockbroker__v1__dial_reply__free_unpacked(rep, NULL);
	no_connection(lfd, "plain: refused local port 700");
	st = raw_dial("127.0.0.1", port, "1500", NULL, 0, &err, &rep);
	if (CHECK(st == GRPC_STATUS_OK && rep && rep->handle, "plain: local port 1500: %s",
		  it_status_name(st))) {
		raw_close(rep->handle);
		afd = it_native_accept(lfd, NULL, NULL, 2000);
		if (afd >= 0)
			close(afd);
	}
	if (rep)
		sockbroker__v1__dial_reply__free_unpacked(rep, NULL);

	for (i = 0; i < 3; i++) {
		st = raw_dial("127.0.0.1", port, NULL, refused[i], 1, &err, &rep);
		CHECK(st == GRPC_STATUS_PERMISSION_DENIED && err == PORTABLE_EACCES,
		      "plain: Dial option %s: %s errno %d, want PERMISSION_DENIED EACCES",
		      names[i], it_status_name(st), err);
		if (rep)
			sockbroker__v1__dial_reply__free_unpacked(rep, NULL);
		no_connection(lfd, names[i]);
	}
	st = raw_dial("127.0.0.1", port, NULL, &prio6, 1, &err, &rep);
	if (CHECK(st == GRPC_STATUS_OK && rep && rep->handle, "plain: SO_PRIORITY 6: %s",
		  it_status_name(st))) {
		CHECK(raw_getopt(rep->handle, SOL_SOCKET, SO_PRIORITY, NULL, 0) == 6,
		      "plain: SO_PRIORITY 6 not set");
		raw_close(rep->handle);
		afd = it_native_accept(lfd, NULL, NULL, 2000);
		if (afd >= 0)
			close(afd);
	}
	if (rep)
		sockbroker__v1__dial_reply__free_unpacked(rep, NULL);
out:
	if (lfd6 >= 0)
		close(lfd6);
	sb_close_client(c);
}

/* gid 65533: the rule names the port and the options. */
static void child_named(int lfd, uint16_t port)
{
	const struct opt all[] = { prio7, mark1, devlo };
	Sockbroker__V1__DialReply *rep;
	struct sockaddr_storage peer;
	socklen_t len = sizeof(peer);
	grpc_status_code st;
	char dev[32] = "";
	int err, afd;

	st = raw_dial("127.0.0.1", port, "700", NULL, 0, &err, &rep);
	if (CHECK(st == GRPC_STATUS_OK && rep && rep->handle && rep->local,
		  "named: local port 700: %s errno %d", it_status_name(st), err)) {
		afd = it_native_accept(lfd, &peer, &len, 2000);
		CHECK(afd >= 0 && it_port(&peer) == LOW_PORT,
		      "named: the peer did not see port 700 (%u)", afd >= 0 ? it_port(&peer) : 0);
		if (afd >= 0)
			close(afd);
		raw_close(rep->handle);
	}
	if (rep)
		sockbroker__v1__dial_reply__free_unpacked(rep, NULL);

	st = raw_dial("127.0.0.1", port, NULL, all, 3, &err, &rep);
	if (CHECK(st == GRPC_STATUS_OK && rep && rep->handle,
		  "named: SO_PRIORITY 7, SO_MARK 1, SO_BINDTODEVICE lo: %s errno %d",
		  it_status_name(st), err)) {
		CHECK(raw_getopt(rep->handle, SOL_SOCKET, SO_PRIORITY, NULL, 0) == 7,
		      "named: SO_PRIORITY reads back other than 7");
		CHECK(raw_getopt(rep->handle, SOL_SOCKET, SO_MARK, NULL, 0) == 1,
		      "named: SO_MARK reads back other than 1");
		raw_getopt(rep->handle, SOL_SOCKET, SO_BINDTODEVICE, dev, sizeof(dev));
		CHECK(strcmp(dev, "lo") == 0, "named: SO_BINDTODEVICE reads \"%s\", want lo", dev);
		afd = it_native_accept(lfd, NULL, NULL, 2000);
		CHECK(afd >= 0, "named: the listener saw no connection");
		if (afd >= 0)
			close(afd);
		raw_close(rep->handle);
	}
	if (rep)
		sockbroker__v1__dial_reply__free_unpacked(rep, NULL);
}

/* gid 65532: no resolve. */
static void child_noresolve(const char *target, int lfd, uint16_t port)
{
	Sockbroker__V1__DialReply *rep;
	grpc_status_code st;
	sb_client *c = sb_open(target);
	char pbuf[8];
	int s, err;

	if (!CHECK(c != NULL, "noresolve: sb_open: %s", strerror(errno)))
		return;
	snprintf(pbuf, sizeof(pbuf), "%u", port);
	s = sb_tcp_connect(c, "allowed.test", pbuf, NULL, NULL, 2000);
	CHECK(s == -1 && errno == EACCES && sb_last_eai() == 0 && strstr(it_sberr(), "resolve"),
	      "noresolve: allowed.test: %d %s eai %d (%s), want EACCES naming resolve", s,
	      strerror(errno), sb_last_eai(), it_sberr());
	st = raw_dial("allowed.test", port, NULL, NULL, 0, &err, &rep);
	CHECK(st == GRPC_STATUS_PERMISSION_DENIED && err == PORTABLE_EACCES,
	      "noresolve: raw Dial allowed.test: %s errno %d", it_status_name(st), err);
	if (rep)
		sockbroker__v1__dial_reply__free_unpacked(rep, NULL);
	no_connection(lfd, "noresolve: a refused name");
	s = sb_tcp_connect(c, "127.0.0.1", pbuf, NULL, NULL, 2000);
	if (CHECK(s >= 0, "noresolve: numeric 127.0.0.1: %s %s", strerror(errno), it_sberr())) {
		int afd = it_native_accept(lfd, NULL, NULL, 2000);

		CHECK(afd >= 0, "noresolve: the listener saw no connection");
		if (afd >= 0)
			close(afd);
		sb_close(c, s);
	}
	sb_close_client(c);
}

struct dialer {
	pthread_t t;
	sb_client *c;
	int timeout_ms;
	int ret, err;
	int64_t ms;
};

static void *dialer_run(void *arg)
{
	struct dialer *d = arg;
	int64_t t0 = it_now_ms();

	d->ret = sb_tcp_connect(d->c, "black.test", "80", NULL, NULL, d->timeout_ms);
	d->err = errno;
	d->ms = it_now_ms() - t0;
	if (d->ret >= 0)
		sb_close(d->c, d->ret);
	return NULL;
}

/* gid 65534: 12 parallel Dials to black-holed addresses from two
 * sessions; the parent watches the broker meanwhile. */
static void child_limits(const char *target, int lfd, uint16_t port)
{
	struct dialer d[2 * THREADS];
	sb_client *c[2] = { sb_open(target), sb_open(target) };
	int i, started = 0, emfile = 0, timedout = 0, s;
	char pbuf[8];

	if (!CHECK(c[0] && c[1], "limits: sb_open: %s", strerror(errno)))
		goto out;
	for (i = 0; i < 2 * THREADS; i++) {
		memset(&d[i], 0, sizeof(d[i]));
		d[i].c = c[i / THREADS];
		d[i].timeout_ms = 1000;
		if (pthread_create(&d[i].t, NULL, dialer_run, &d[i]) != 0)
			break;
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(d[i].t, NULL);
	for (i = 0; i < started; i++) {
		if (d[i].ret == -1 && d[i].err == EMFILE && d[i].ms < 1000)
			emfile++;
		else if (d[i].ret == -1 && d[i].err == ETIMEDOUT)
			timedout++;
		else
			it_note("limits: dial %d: %d %s after %lld ms", i, d[i].ret,
				strerror(d[i].err), (long long)d[i].ms);
	}
	CHECK(started == 2 * THREADS && emfile == 2 * THREADS - MAX_UID && timedout == MAX_UID,
	      "limits: %d EMFILE at once and %d ETIMEDOUT of %d Dials, want %d and %d",
	      emfile, timedout, started, 2 * THREADS - MAX_UID, MAX_UID);
	snprintf(pbuf, sizeof(pbuf), "%u", port);
	s = sb_tcp_connect(c[0], "127.0.0.1", pbuf, NULL, NULL, 2000);
	if (CHECK(s >= 0, "limits: a Dial after the others ended: %s %s", strerror(errno),
		  it_sberr())) {
		int afd = it_native_accept(lfd, NULL, NULL, 2000);

		if (afd >= 0)
			close(afd);
		sb_close(c[0], s);
	}
out:
	for (i = 0; i < 2; i++)
		if (c[i])
			sb_close_client(c[i]);
}

/* gid 65534: three Dials that wait for a long time; killed by the parent. */
static void child_kill(const char *target)
{
	struct dialer d[3];
	sb_client *c = sb_open(target);
	int i;

	if (!CHECK(c != NULL, "kill: sb_open: %s", strerror(errno)))
		return;
	for (i = 0; i < 3; i++) {
		memset(&d[i], 0, sizeof(d[i]));
		d[i].c = c;
		d[i].timeout_ms = 30000;
		if (pthread_create(&d[i].t, NULL, dialer_run, &d[i]) != 0)
			return;
	}
	pause();
}

static int child_main(const char *mode, const char *target)
{
	gid_t gid = !strcmp(mode, "named") ? GID_NAMED
		  : !strcmp(mode, "noresolve") ? GID_NORESOLVE : GID_PLAIN;
	struct sockaddr_storage a;
	struct it_broker b;
	socklen_t alen;
	int lfd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(50);
	if (it_drop_privileges(IT_NOBODY, gid) < 0)
		return 1;
	if (!strcmp(mode, "kill")) {
		child_kill(target);
		return 1;
	}
	lfd = it_native_listener(AF_INET, "127.0.0.1", &a, &alen);
	if (!CHECK(lfd >= 0, "%s: native listener: %s", mode, strerror(errno)))
		return 1;
	memset(&b, 0, sizeof(b));
	snprintf(b.target, sizeof(b.target), "%s", target);
	ch = it_channel(&b);
	if (!CHECK(it_session_open(ch, &sess, 5000) == 0, "%s: raw OpenSession", mode))
		return 1;
	if (!strcmp(mode, "plain"))
		child_plain(target, lfd, it_port(&a));
	else if (!strcmp(mode, "named"))
		child_named(lfd, it_port(&a));
	else if (!strcmp(mode, "noresolve"))
		child_noresolve(target, lfd, it_port(&a));
	else
		child_limits(target, lfd, it_port(&a));
	it_session_close(&sess);
	grpc_channel_destroy(ch);
	close(lfd);
	return it_failures() ? 1 : 0;
}

/* ---- root ---- */

static void setup_namespaces(void)
{
	char hosts[128];
	FILE *f;

	if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
		it_skip("unshare(CLONE_NEWNET|CLONE_NEWNS): %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		it_skip("mount --make-rprivate /: %s", strerror(errno));
	if (system("ip link set lo up && ip route add 198.51.100.0/24 dev lo") != 0)
		it_skip("cannot set up loopback and the black-holed route");
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/it_dial_nobody.XXXXXX");
	if (!mkdtemp(tmpdir))
		it_skip("mkdtemp: %s", strerror(errno));
	snprintf(hosts, sizeof(hosts), "%s/hosts", tmpdir);
	f = fopen(hosts, "w");
	if (!f || fputs(HOSTS, f) < 0 || fclose(f) != 0 || chmod(hosts, 0644) < 0 ||
	    mount(hosts, "/etc/hosts", NULL, MS_BIND, NULL) < 0)
		it_skip("bind-mounting a hosts file: %s", strerror(errno));
}

static void cleanup_files(void)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/hosts", tmpdir);
	umount("/etc/hosts");
	unlink(p);
	rmdir(tmpdir);
}

/* The sockets uid 65534 holds now (0 when it has no record). */
static int64_t nobody_sockets(grpc_channel *gch)
{
	Sockbroker__V1__GetStatsReply *st = it_stats(gch);
	const Sockbroker__V1__IdentityStats *id = it_find_identity(st, "uid:65534");
	int64_t n = id ? (int64_t)id->sockets_open : 0;

	if (!st)
		return -1;
	sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	return n;
}

static int run_child(char *self, const char *mode, const char *target)
{
	char *argv[] = { self, (char *)"--child", (char *)mode, (char *)target, NULL };
	int status = it_run_self(argv, 40000);

	return CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
		     "the %s child failed (status %d)", mode, status);
}

/* The limits child, with the broker watched every 20 ms while it runs. */
static void watch_limits(struct it_broker *b, grpc_channel *gch, char *self)
{
	char *argv[] = { self, (char *)"--child", (char *)"limits", b->target, NULL };
	int64_t socks = nobody_sockets(gch), peak_socks = 0, until = it_now_ms() + 40000;
	int base = it_count_fds(b->pid), peak = base, status = -1, n;
	pid_t pid = it_spawn_self(argv);

	if (!CHECK(pid > 0, "spawning the limits child"))
		return;
	while (it_now_ms() < until) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			break;
		n = it_count_fds(b->pid);
		socks = nobody_sockets(gch);
		if (n > peak)
			peak = n;
		if (socks > peak_socks)
			peak_socks = socks;
		it_sleep_ms(20);
	}
	if (it_now_ms() >= until) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	it_note("limits: broker descriptors %d at rest, %d at peak; uid 65534 held %lld sockets "
		"at peak", base, peak, (long long)peak_socks);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the limits child failed (%d)",
	      status);
	CHECK(peak_socks <= MAX_UID, "uid 65534 held %lld sockets, above max_sockets_per_uid %d",
	      (long long)peak_socks, MAX_UID);
	/* Bounded by the limits, not by what the child asks: three per Dial
	 * in flight (its epoll set, its timer, the resolver's eventfd; the
	 * 2 * THREADS Dials all resolve before the socket limit refuses
	 * some), one per socket counted for the uid, one file per resolver
	 * thread (the hosts file it reads) and the child's three connections
	 * (two clients and the raw channel). */
	CHECK(peak - base <= 3 * 2 * THREADS + MAX_UID + RESOLVERS + 3,
	      "the broker held %d more descriptors, want at most %d", peak - base,
	      3 * 2 * THREADS + MAX_UID + RESOLVERS + 3);
}

/* kill -9 of a client with Dials in flight leaves nothing. */
static void kill_mid_dial(struct it_broker *b, grpc_channel *gch, char *self)
{
	char *argv[] = { self, (char *)"--child", (char *)"kill", b->target, NULL };
	int base = it_count_fds(b->pid), n = -1, i;
	int64_t socks = -1;
	pid_t pid;

	pid = it_spawn_self(argv);
	if (!CHECK(pid > 0, "spawning the kill child"))
		return;
	for (i = 0; i < 250 && socks != 3; i++) {
		it_sleep_ms(20);
		socks = nobody_sockets(gch);
	}
	n = it_count_fds(b->pid);
	CHECK(socks == 3 && n > base, "kill: 3 Dials never ran (%lld sockets, %d descriptors)",
	      (long long)socks, n);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (i = 0; i < 250; i++) {
		n = it_count_fds(b->pid);
		socks = nobody_sockets(gch);
		if (n == base && socks == 0)
			break;
		it_sleep_ms(20);
	}
	CHECK(n == base && socks == 0, "kill -9 mid-Dial: the broker holds %d descriptors (%d "
	      "before) and %lld sockets of uid 65534", n, base, (long long)socks);
}

int main(int argc, char **argv)
{
	struct it_broker b;
	grpc_channel *gch;

	if (argc == 4 && !strcmp(argv[1], "--child"))
		return child_main(argv[2], argv[3]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	setup_namespaces();
	if (it_broker_start(&b, config) < 0) {
		cleanup_files();
		return 1;
	}
	it_watchdog(&b, 150);
	if (!CHECK(chmod(b.dir, 0755) == 0 && chmod(b.sock, 0666) == 0, "chmod %s: %s", b.sock,
		   strerror(errno)))
		goto out;
	run_child(argv[0], "plain", b.target);
	run_child(argv[0], "named", b.target);
	run_child(argv[0], "noresolve", b.target);
	gch = it_channel(&b);
	watch_limits(&b, gch, argv[0]);
	kill_mid_dial(&b, gch, argv[0]);
	grpc_channel_destroy(gch);
out:
	CHECK(it_broker_stop(&b) == 0, "broker did not stop cleanly");
	cleanup_files();
	return it_result();
}
