/* SPDX-License-Identifier: MIT
 * it_policy_tls.c - TCP listeners: mutual TLS with the certificate subject
 * as the caller's identity, and plaintext only on loopback when the config
 * says insecure (deploy/sockbrokerd.yaml "listen", server/config.c
 * sb__ylisten_one(), server/rpc.c sb__add_tcp(), server/identity.c
 * sb__identity_of_tcp(), client/client.c sb_open_tls()).
 *
 * At test time openssl makes CA1 (self-signed), a server certificate from
 * CA1 (subjectAltName DNS:localhost, IP:127.0.0.1), client certificates A
 * (/O=sbtest/CN=client-a), B (/O=sbtest/CN=client-b) and D (subjectAltName
 * DNS:client-d.sbtest, served by a `san` rule for names only) from CA1, and CA2
 * with client certificate C (/O=sbtest/CN=client-c) from CA2.
 *
 * Refused configurations (each broker exits non-zero during start-up and
 * its message names the field): tcp "0.0.0.0:P" and "[::]:P" with
 * insecure: true; tcp "127.0.0.1:P" with neither tls nor insecure.
 *
 * Broker 1: tcp "127.0.0.1:P1" with tls {cert, key, client_ca: CA1};
 * policy: root (uid 0) allow; "client-a" (subject "CN=client-a,O=sbtest",
 * RFC 2253 order, most significant last) allows socket, connect to
 * 127.0.0.1/32 and resolve; nothing for client-b (rule "default" denies).
 *  - A with sb_open_tls(): socket + connect to a native listener, data both
 *    ways; connect to 127.0.0.2 and bind are EACCES by rule "default";
 *    getaddrinfo works; root's GetStats lists "cert:CN=client-a,O=sbtest"
 *    with its session; A's own GetStats (raw, over mTLS) lists only itself;
 *    the broker's log shows the subject exactly as the policy writes it;
 *  - sb_open() with $SOCKBROKER_TLS_CA/CERT/KEY and "localhost:P1" works
 *    (DNS SAN), and the variables leave a unix: target alone;
 *  - no client certificate, certificate C (other CA), a client trusting
 *    only CA2 (server certificate not trusted), and plaintext to the TLS
 *    port: sb_open*() is NULL with ECONNREFUSED or EACCES, quickly;
 *  - B: sb_open_tls() is NULL with EACCES, sb_last_error() says B's
 *    subject is not served by the policy; root's GetStats counts the
 *    refusal on "cert:CN=client-b,O=sbtest".
 * Broker 2: tcp "127.0.0.1:P2" insecure: true; policy: root allow, and
 * "anyone-resolve" (any: true) allowing resolve only.
 *  - plain sb_open("127.0.0.1:P2") works; sb_socket is EACCES (rule
 *    "default": an insecure TCP caller matches no uid rule); getaddrinfo
 *    works; root's GetStats lists "tcp:insecure" with the session and the
 *    refusal; sb_open_tls() against the plaintext port fails.
 *
 * Every broker is started before the first gRPC call of the process; the
 * watchdog kills both brokers and removes every temporary directory.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <grpc/grpc_security.h>

#include "it_client.h"

#define SUBJ_A "CN=client-a,O=sbtest"
#define SUBJ_B "CN=client-b,O=sbtest"
#define SAN_D "client-d.sbtest"  /* D's subjectAltName, matched by `san` */
#define OPEN_BOUND_MS 11000	/* sb_open waits at most 10 s */
#define WATCHDOG_S 55

static char dir[64];			/* certificates, keys, scratch files */
static struct it_broker b1, b2;		/* TLS broker, insecure broker */

/* ---- clean-up, also from the watchdog ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path);
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void rm_dir(void)
{
	if (dir[0] && nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS) < 0)
		printf("cannot remove %s: %s\n", dir, strerror(errno));
	dir[0] = 0;
}

/* Async-signal-safe: remove the files of a flat directory, then it. */
static void rm_flat(const char *d)
{
	char buf[1024];
	long n;
	int dfd;

	if (!d[0])
		return;
	dfd = open(d, O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
			long off = 0;

			while (off < n) {
				const char *name = buf + off + 19;	/* d_name */
				unsigned short reclen;

				memcpy(&reclen, buf + off + 16, sizeof(reclen));
				if (strcmp(name, ".") && strcmp(name, ".."))
					unlinkat(dfd, name, 0);
				off += reclen;
			}
		}
		close(dfd);
	}
	rmdir(d);
}

static void on_alarm(int sig)
{
	static const char msg[] = "FAIL: watchdog: the test took too long; killed\n";

	(void)sig;
	if (write(1, msg, sizeof(msg) - 1) < 0) {
		/* nothing left to report to */
	}
	if (b1.pid > 0)
		kill(b1.pid, SIGKILL);
	if (b2.pid > 0)
		kill(b2.pid, SIGKILL);
	rm_flat(b1.dir);
	rm_flat(b2.dir);
	rm_flat(dir);
	_exit(1);
}

/* ---- set-up, all before the first gRPC call ---- */

static const char *path_of(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", dir, name);
	return buf;
}

/* One shell command (fork + exec: no gRPC state yet), output to the log. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[1536];
	va_list ap;
	int n, st;

	va_start(ap, fmt);
	cmd[0] = '(';
	n = vsnprintf(cmd + 1, sizeof(cmd) - 96, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd) - 96)
		return -1;
	snprintf(cmd + 1 + n, sizeof(cmd) - 1 - (size_t)n, ") >>%s/openssl.log 2>&1 </dev/null",
		 dir);
	fflush(NULL);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("command failed (status 0x%x): %s\n", (unsigned)st, cmd);
		return -1;
	}
	return 0;
}

#define EC "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

static int make_ca(const char *name, const char *cn)
{
	return run("openssl req -x509 " EC " -keyout %s/%s.key -out %s/%s.pem -days 2 "
		   "-subj '/O=sbtest/CN=%s' -addext 'basicConstraints=critical,CA:TRUE' "
		   "-addext 'keyUsage=critical,keyCertSign,cRLSign'",
		   dir, name, dir, name, cn);
}

static int make_leaf(const char *name, const char *subj, const char *ca, const char *ext,
		     int serial)
{
	if (run("openssl req -new " EC " -keyout %s/%s.key -out %s/%s.csr -subj '%s'", dir,
		name, dir, name, subj) < 0)
		return -1;
	return run("openssl x509 -req -in %s/%s.csr -CA %s/%s.pem -CAkey %s/%s.key "
		   "-set_serial %d -days 2 -extfile %s/%s -out %s/%s.pem", dir, name, dir, ca,
		   dir, ca, serial, dir, ext, dir, name);
}

static int write_file(const char *name, const char *text)
{
	char p[128];
	FILE *f = fopen(path_of(p, sizeof(p), name), "we");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		printf("cannot write %s: %s\n", p, strerror(errno));
		return -1;
	}
	return 0;
}

static int make_certs(void)
{
	if (write_file("server.ext", "basicConstraints=CA:FALSE\n"
		       "extendedKeyUsage=serverAuth\n"
		       "subjectAltName=DNS:localhost,IP:127.0.0.1\n") < 0 ||
	    write_file("client.ext", "basicConstraints=CA:FALSE\n"
		       "extendedKeyUsage=clientAuth\n") < 0 ||
	    write_file("client-d.ext", "basicConstraints=CA:FALSE\n"
		       "extendedKeyUsage=clientAuth\n"
		       "subjectAltName=DNS:" SAN_D "\n") < 0)
		return -1;
	if (make_ca("ca1", "sbtest CA1") < 0 || make_ca("ca2", "sbtest CA2") < 0 ||
	    make_leaf("server", "/O=sbtest/CN=localhost", "ca1", "server.ext", 2) < 0 ||
	    make_leaf("a", "/O=sbtest/CN=client-a", "ca1", "client.ext", 3) < 0 ||
	    make_leaf("b", "/O=sbtest/CN=client-b", "ca1", "client.ext", 4) < 0 ||
	    make_leaf("c", "/O=sbtest/CN=client-c", "ca2", "client.ext", 5) < 0 ||
	    make_leaf("d", "/O=sbtest/CN=client-d", "ca1", "client-d.ext", 6) < 0)
		return -1;
	/* The chains must verify as meant, or the test would prove nothing. */
	return run("openssl verify -CAfile %s/ca1.pem %s/server.pem %s/a.pem %s/b.pem && "
		   "openssl verify -CAfile %s/ca2.pem %s/c.pem && "
		   "! openssl verify -CAfile %s/ca1.pem %s/c.pem", dir, dir, dir, dir, dir,
		   dir, dir, dir);
}

/* it_broker_start() with its stdout (where the harness prints the log of
 * a broker that failed to start) captured into @out. */
static int start_captured(struct it_broker *b, const char *yaml, char *out, size_t n)
{
	char p[128];
	int fd, saved, rc;
	ssize_t r;

	out[0] = 0;
	fflush(stdout);
	fd = open(path_of(p, sizeof(p), "start.out"), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
		  0600);
	saved = dup(1);
	if (fd < 0 || saved < 0 || dup2(fd, 1) < 0) {
		printf("cannot capture stdout: %s\n", strerror(errno));
		if (fd >= 0)
			close(fd);
		if (saved >= 0)
			close(saved);
		return it_broker_start(b, yaml);
	}
	rc = it_broker_start(b, yaml);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	r = pread(fd, out, n - 1, 0);
	out[r > 0 ? r : 0] = 0;
	close(fd);
	return rc;
}

/* A configuration the broker must refuse: it does not start, exits with a
 * non-zero code, and says which field. */
static void check_refused(const char *what, const char *yaml, const char *const *needles)
{
	struct it_broker b;
	char out[8192];
	const char *st;
	unsigned status = 0;
	int rc;

	rc = start_captured(&b, yaml, out, sizeof(out));
	it_note("%s: it_broker_start %d; captured:\n%s", what, rc, out);
	if (!CHECK(rc == -1, "%s: the broker started; it must refuse the configuration", what)) {
		it_broker_stop(&b);
		return;
	}
	st = strstr(out, "exited during start-up (status 0x");
	CHECK(st && sscanf(st, "exited during start-up (status 0x%x)", &status) == 1 &&
	      WIFEXITED(status) && WEXITSTATUS(status) != 0,
	      "%s: the broker did not exit with a non-zero code (status 0x%x)", what, status);
	for (; *needles; needles++)
		CHECK(strstr(out, *needles) != NULL, "%s: the broker's message does not say "
		      "\"%s\"", what, *needles);
}

/* ---- checks over gRPC ---- */

static void print_ids(const char *what, const Sockbroker__V1__GetStatsReply *st)
{
	size_t i;

	for (i = 0; st && i < st->n_identities; i++)
		it_note("%s: identity \"%s\" sessions_open %llu calls %llu denied %llu", what,
			st->identities[i]->identity,
			(unsigned long long)st->identities[i]->sessions_open,
			(unsigned long long)st->identities[i]->calls,
			(unsigned long long)st->identities[i]->denied);
}

/* sb_open_tls() (or sb_open() when @ca is NULL) that must fail: NULL,
 * ECONNREFUSED or EACCES, within the open bound. */
static void check_open_fails(const char *what, const char *target, const char *ca,
			     const char *cert, const char *key)
{
	int64_t t0 = it_now_ms(), dt;
	sb_client *c;
	int e;

	errno = 0;
	c = ca ? sb_open_tls(target, ca, cert, key) : sb_open(target);
	e = errno;
	dt = it_now_ms() - t0;
	it_note("%s: %s, errno %d (%s), %lld ms, \"%s\"", what, c ? "OPENED" : "refused", e,
		strerror(e), (long long)dt, it_sberr());
	CHECK(c == NULL, "%s: the session was opened; it must be refused", what);
	CHECK(c != NULL || e == ECONNREFUSED || e == EACCES,
	      "%s: errno %d (%s), want ECONNREFUSED or EACCES", what, e, strerror(e));
	CHECK(dt < OPEN_BOUND_MS, "%s: took %lld ms", what, (long long)dt);
	sb_close_client(c);
}

/* A TLS channel of our own, for raw calls as client A. */
static grpc_channel *tls_channel(const char *target, const char *ca, const char *cert,
				 const char *key)
{
	static char pem[3][8192];
	const char *files[3] = { ca, cert, key };
	grpc_ssl_pem_key_cert_pair pair;
	grpc_channel_credentials *cr;
	grpc_channel *ch;
	int i;

	for (i = 0; i < 3; i++) {
		FILE *f = fopen(files[i], "re");
		size_t n = f ? fread(pem[i], 1, sizeof(pem[i]) - 1, f) : 0;

		if (f)
			fclose(f);
		if (!n)
			return NULL;
		pem[i][n] = 0;
	}
	pair.cert_chain = pem[1];
	pair.private_key = pem[2];
	cr = grpc_ssl_credentials_create(pem[0], &pair, NULL, NULL);
	if (!cr)
		return NULL;
	ch = grpc_channel_create(target, cr, NULL);
	grpc_channel_credentials_release(cr);
	return ch;
}

/* Client A: a socket, a connection to a native listener, data both ways;
 * what its rule does not allow is refused by "default". */
static void client_a_works(sb_client *c)
{
	static const char out[] = "hello over mutual TLS";
	static const char back[] = "and back again";
	struct sockaddr_storage ss, peer;
	struct addrinfo hints, *ai = NULL;
	socklen_t len, plen = sizeof(peer);
	char in[64], nin[64];
	int lfd, fd = -1, s, s2, x, e;
	uint16_t port;

	lfd = it_native_listener(AF_INET, "127.0.0.1", &ss, &len);
	if (!CHECK(lfd >= 0, "native listener: %s", strerror(errno)))
		return;
	port = it_port(&ss);
	s = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (!CHECK(s >= 0, "A: sb_socket: %s %s", strerror(errno), it_sberr()))
		goto out;
	if (!CHECK(sb_connect(c, s, (struct sockaddr *)&ss, len) == 0,
		   "A: connect 127.0.0.1:%u (allowed by client-a): %s %s", port,
		   strerror(errno), it_sberr()))
		goto out;
	fd = it_native_accept(lfd, &peer, &plen, 5000);
	if (!CHECK(fd >= 0, "native accept of A's connection: %s", strerror(errno)))
		goto out;
	memset(nin, 0, sizeof(nin));
	CHECK(it_sb_send_all(c, s, out, sizeof(out), 5000) == 0 &&
	      it_read_full(fd, nin, sizeof(out), 5000) == 0 && !memcmp(nin, out, sizeof(out)),
	      "A -> native: %s %s (got \"%.*s\")", strerror(errno), it_sberr(),
	      (int)sizeof(out), nin);
	memset(in, 0, sizeof(in));
	CHECK(it_write_full(fd, back, sizeof(back)) == 0 &&
	      it_sb_recv_all(c, s, in, sizeof(back), 5000) == 0 &&
	      !memcmp(in, back, sizeof(back)),
	      "native -> A: %s %s (got \"%.*s\")", strerror(errno), it_sberr(),
	      (int)sizeof(back), in);
	CHECK(sb_close(c, s) == 0, "A: sb_close: %s", strerror(errno));
	s = -1;

	/* Not in client-a's rule: the implicit "default" decides. */
	s2 = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (CHECK(s2 >= 0, "A: second sb_socket: %s %s", strerror(errno), it_sberr())) {
		len = it_addr4(&ss, "127.0.0.2", port);
		errno = 0;
		x = sb_connect(c, s2, (struct sockaddr *)&ss, len);
		e = errno;
		CHECK(x == -1 && e == EACCES, "A: connect 127.0.0.2:%u: %d (%s), want -1 "
		      "EACCES", port, x, strerror(e));
		CHECK(strstr(it_sberr(), "\"default") != NULL, "A: connect 127.0.0.2: "
		      "sb_last_error \"%s\" does not name the rule default", it_sberr());
		len = it_addr4(&ss, "127.0.0.1", 0);
		errno = 0;
		x = sb_bind(c, s2, (struct sockaddr *)&ss, len);
		e = errno;
		CHECK(x == -1 && e == EACCES, "A: bind 127.0.0.1:0: %d (%s), want -1 EACCES",
		      x, strerror(e));
		CHECK(sb_close(c, s2) == 0, "A: sb_close: %s", strerror(errno));
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	x = sb_getaddrinfo(c, "localhost", NULL, &hints, &ai);
	CHECK(x == 0 && ai, "A: sb_getaddrinfo(localhost) (resolve is allowed): %d %s", x,
	      it_sberr());
	sb_freeaddrinfo(ai);
out:
	if (s >= 0)
		sb_close(c, s);
	if (fd >= 0)
		close(fd);
	close(lfd);
}

/* The broker's log (still running): does it contain @needle? */
static int log_has(const struct it_broker *b, const char *needle)
{
	static char text[1 << 18];
	FILE *f = fopen(b->log, "re");
	size_t n;

	if (!f)
		return 0;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = 0;
	return strstr(text, needle) != NULL;
}

static void tls_broker(const char *tgt, const char *tgt_name)
{
	char ca1[128], ca2[128], a[128], ak[128], bc[128], bk[128], cc[128], ck[128];
	const Sockbroker__V1__IdentityStats *id;
	Sockbroker__V1__GetStatsReply *st;
	grpc_channel *root, *ach;
	sb_client *c, *c2;
	int e;

	path_of(ca1, sizeof(ca1), "ca1.pem");
	path_of(ca2, sizeof(ca2), "ca2.pem");
	path_of(a, sizeof(a), "a.pem");
	path_of(ak, sizeof(ak), "a.key");
	path_of(bc, sizeof(bc), "b.pem");
	path_of(bk, sizeof(bk), "b.key");
	path_of(cc, sizeof(cc), "c.pem");
	path_of(ck, sizeof(ck), "c.key");
	root = it_channel(&b1);

	/* A: served, within its rule. */
	c = sb_open_tls(tgt, ca1, a, ak);
	if (CHECK(c != NULL, "A: sb_open_tls(%s, CA1, A): %s (%s)", tgt, strerror(errno),
		  it_sberr())) {
		client_a_works(c);

		st = it_stats(root);
		CHECK(st != NULL, "GetStats as root");
		print_ids("root's GetStats", st);
		id = it_find_identity(st, "cert:" SUBJ_A);
		CHECK(id && id->sessions_open == 1 && id->calls > 0 && id->denied >= 2,
		      "root's GetStats: \"cert:" SUBJ_A "\" %s (sessions_open %llu, calls "
		      "%llu, denied %llu), want 1 session, calls, 2+ denials",
		      id ? "found" : "missing",
		      id ? (unsigned long long)id->sessions_open : 0ULL,
		      id ? (unsigned long long)id->calls : 0ULL,
		      id ? (unsigned long long)id->denied : 0ULL);
		if (st)
			sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);

		/* A's own GetStats over its own mTLS channel: itself only. */
		ach = tls_channel(tgt, ca1, a, ak);
		if (CHECK(ach != NULL, "a TLS channel as A")) {
			st = it_stats(ach);
			CHECK(st != NULL, "GetStats as A over mTLS");
			print_ids("A's GetStats", st);
			CHECK(st && st->n_identities == 1 && it_find_identity(st, "cert:" SUBJ_A),
			      "A's GetStats: %zu identities, want exactly \"cert:" SUBJ_A "\"",
			      st ? st->n_identities : 0);
			if (st)
				sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
			grpc_channel_destroy(ach);
		}
		sb_close_client(c);
	}
	CHECK(log_has(&b1, "tcp caller, certificate subject \"" SUBJ_A "\""),
	      "the broker's log does not show A's subject as \"%s\"", SUBJ_A);

	/* $SOCKBROKER_TLS_*: TCP targets only; DNS name in the certificate. */
	setenv("SOCKBROKER_TLS_CA", ca1, 1);
	setenv("SOCKBROKER_TLS_CERT", a, 1);
	setenv("SOCKBROKER_TLS_KEY", ak, 1);
	c = sb_open(tgt_name);
	CHECK(c != NULL, "A: sb_open(%s) with $SOCKBROKER_TLS_*: %s (%s)", tgt_name,
	      strerror(errno), it_sberr());
	if (c)
		CHECK(sb_socket(c, AF_INET, SOCK_STREAM, 0) >= 0,
		      "A (env): sb_socket: %s %s", strerror(errno), it_sberr());
	c2 = sb_open(b1.target);
	CHECK(c2 != NULL, "root: sb_open(%s) with $SOCKBROKER_TLS_* set (unix targets "
	      "ignore them): %s (%s)", b1.target, strerror(errno), it_sberr());
	sb_close_client(c2);
	sb_close_client(c);
	unsetenv("SOCKBROKER_TLS_CA");
	unsetenv("SOCKBROKER_TLS_CERT");
	unsetenv("SOCKBROKER_TLS_KEY");

	/* Refused by TLS. */
	check_open_fails("no client certificate", tgt, ca1, NULL, NULL);
	check_open_fails("client C from CA2", tgt, ca1, cc, ck);
	check_open_fails("client trusting only CA2 (server not trusted)", tgt, ca2, a, ak);
	check_open_fails("plaintext to the TLS port", tgt, NULL, NULL, NULL);

	/* D: served by its subjectAltName, for names only. */
	{
		char dc[128], dk[128];
		struct addrinfo hints, *res = NULL;

		path_of(dc, sizeof(dc), "d.pem");
		path_of(dk, sizeof(dk), "d.key");
		c = sb_open_tls(tgt, ca1, dc, dk);
		if (CHECK(c != NULL, "D (san " SAN_D "): sb_open_tls: %s %s", strerror(errno),
			  it_sberr())) {
			memset(&hints, 0, sizeof(hints));
			hints.ai_socktype = SOCK_STREAM;
			e = sb_getaddrinfo(c, "localhost", "80", &hints, &res);
			CHECK(e == 0 && res, "D: getaddrinfo allowed by rule client-d: %d", e);
			sb_freeaddrinfo(res);
			errno = 0;
			CHECK(sb_socket(c, AF_INET, SOCK_STREAM, 0) == -1 && errno == EACCES,
			      "D: sb_socket should be refused (rule client-d allows resolve "
			      "only): %s", strerror(errno));
			sb_close_client(c);
		}
	}

	/* B: a good certificate, but no rule serves it. */
	errno = 0;
	c = sb_open_tls(tgt, ca1, bc, bk);
	e = errno;
	it_note("B: %s, errno %d (%s), \"%s\"", c ? "OPENED" : "refused", e, strerror(e),
		it_sberr());
	CHECK(c == NULL && e == EACCES, "B: sb_open_tls: %s errno %d (%s), want NULL EACCES",
	      c ? "opened," : "NULL,", e, strerror(e));
	CHECK(c != NULL || (strstr(it_sberr(), "not served") && strstr(it_sberr(), "policy") &&
			    strstr(it_sberr(), SUBJ_B)),
	      "B: sb_last_error \"%s\" does not say that \"%s\" is not served by the policy",
	      it_sberr(), SUBJ_B);
	if (c) {
		errno = 0;
		CHECK(sb_socket(c, AF_INET, SOCK_STREAM, 0) == -1 && errno == EACCES,
		      "B: sb_socket after an open that should have failed: %s",
		      strerror(errno));
		sb_close_client(c);
	}
	CHECK(log_has(&b1, "tcp caller, certificate subject \"" SUBJ_B "\""),
	      "the broker's log does not show B's subject as \"%s\"", SUBJ_B);

	st = it_stats(root);
	CHECK(st != NULL, "GetStats as root (end)");
	print_ids("root's GetStats (end)", st);
	id = it_find_identity(st, "cert:" SUBJ_B);
	CHECK(id && id->denied >= 1 && id->sessions_open == 0,
	      "root's GetStats: \"cert:" SUBJ_B "\" %s (denied %llu, sessions_open %llu), "
	      "want 1+ denials and no session", id ? "found" : "missing",
	      id ? (unsigned long long)id->denied : 0ULL,
	      id ? (unsigned long long)id->sessions_open : 0ULL);
	CHECK(!it_find_identity(st, "cert:CN=client-c,O=sbtest") && !it_find_identity(st, "tcp:insecure"),
	      "root's GetStats lists a caller the TLS layer refused");
	if (st)
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	grpc_channel_destroy(root);
}

static void insecure_broker(const char *tgt)
{
	char ca1[128], a[128], ak[128];
	const Sockbroker__V1__IdentityStats *id;
	Sockbroker__V1__GetStatsReply *st;
	struct addrinfo hints, *ai = NULL;
	grpc_channel *root;
	sb_client *c;
	int x, e;

	path_of(ca1, sizeof(ca1), "ca1.pem");
	path_of(a, sizeof(a), "a.pem");
	path_of(ak, sizeof(ak), "a.key");
	c = sb_open(tgt);
	if (!CHECK(c != NULL, "insecure: sb_open(%s): %s (%s)", tgt, strerror(errno),
		   it_sberr()))
		return;
	errno = 0;
	x = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	e = errno;
	CHECK(x == -1 && e == EACCES, "insecure: sb_socket: %d (%s), want -1 EACCES (only "
	      "the any rule, resolve, serves it)", x, strerror(e));
	CHECK(strstr(it_sberr(), "\"default") != NULL, "insecure: sb_socket: sb_last_error "
	      "\"%s\" does not name the rule default", it_sberr());
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	x = sb_getaddrinfo(c, "localhost", NULL, &hints, &ai);
	CHECK(x == 0 && ai, "insecure: sb_getaddrinfo(localhost): %d %s", x, it_sberr());
	sb_freeaddrinfo(ai);

	root = it_channel(&b2);
	st = it_stats(root);
	CHECK(st != NULL, "GetStats as root (insecure broker)");
	print_ids("insecure broker, root's GetStats", st);
	id = it_find_identity(st, "tcp:insecure");
	CHECK(id && id->sessions_open == 1 && id->denied >= 1,
	      "insecure broker: \"tcp:insecure\" %s (sessions_open %llu, denied %llu), want "
	      "1 session and 1+ denials", id ? "found" : "missing",
	      id ? (unsigned long long)id->sessions_open : 0ULL,
	      id ? (unsigned long long)id->denied : 0ULL);
	if (st)
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	grpc_channel_destroy(root);
	sb_close_client(c);

	check_open_fails("TLS to the plaintext port", tgt, ca1, a, ak);
}

int main(void)
{
	static const char *const n_any[] = { "line 2: listen[0].tcp:", "insecure", "loopback",
					     NULL };
	static const char *const n_none[] = { "listen[0]", "needs tls", "insecure: true",
					      NULL };
	char yaml[2048], tgt1[64], tgt1_name[64], tgt2[64], p[3][128];
	struct sigaction sa;
	unsigned p1, p2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	unsetenv("SOCKBROKER_TLS_CA");
	unsetenv("SOCKBROKER_TLS_CERT");
	unsetenv("SOCKBROKER_TLS_KEY");
	snprintf(dir, sizeof(dir), "/tmp/sb-it-tls-XXXXXX");
	if (!mkdtemp(dir)) {
		printf("FAIL: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	alarm(WATCHDOG_S);

	if (make_certs() < 0) {
		char log[128];
		FILE *f = fopen(path_of(log, sizeof(log), "openssl.log"), "re");

		if (f) {
			char buf[4096];
			size_t n;

			while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
				fwrite(buf, 1, n, stdout);
			fclose(f);
		}
		CHECK(0, "openssl could not make the certificates");
		rm_dir();
		return it_result();
	}

	/* Refused configurations. */
	check_refused("insecure on 0.0.0.0",
		      "listen:\n  - tcp: \"0.0.0.0:0\"\n    insecure: true\n", n_any);
	check_refused("insecure on [::]",
		      "listen:\n  - tcp: \"[::]:0\"\n    insecure: true\n", n_any);
	check_refused("tcp on loopback without tls or insecure",
		      "listen:\n  - tcp: \"127.0.0.1:0\"\n", n_none);

	/* Broker 1: mutual TLS. */
	snprintf(yaml, sizeof(yaml),
		 "listen:\n"
		 "  - tcp: \"127.0.0.1:0\"\n"
		 "    tls:\n"
		 "      cert: %s\n"
		 "      key: %s\n"
		 "      client_ca: %s\n"
		 "policy:\n"
		 "  - name: root\n"
		 "    match: { uid: 0 }\n"
		 "    action: allow\n"
		 "  - name: client-a\n"
		 "    match: { subject: \"" SUBJ_A "\" }\n"
		 "    action: allow\n"
		 "    ops: [socket, connect, resolve]\n"
		 "    destinations: [127.0.0.1/32]\n"
		 "  - name: client-d\n"
		 "    match: { san: " SAN_D " }\n"
		 "    action: allow\n"
		 "    ops: [resolve]\n",
		 path_of(p[0], sizeof(p[0]), "server.pem"),
		 path_of(p[1], sizeof(p[1]), "server.key"), path_of(p[2], sizeof(p[2]), "ca1.pem"));
	if (it_broker_start(&b1, yaml) < 0 || !(p1 = it_broker_tcp_port(&b1))) {
		CHECK(0, "the TLS broker did not start, or its log names no port");
		if (b1.pid)
			it_broker_stop(&b1);
		rm_dir();
		return it_result();
	}

	/* Broker 2: plaintext on loopback, explicitly insecure. */
	snprintf(yaml, sizeof(yaml),
		 "listen:\n"
		 "  - tcp: \"127.0.0.1:0\"\n"
		 "    insecure: true\n"
		 "policy:\n"
		 "  - name: root\n"
		 "    match: { uid: 0 }\n"
		 "    action: allow\n"
		 "  - name: anyone-resolve\n"
		 "    match: { any: true }\n"
		 "    action: allow\n"
		 "    ops: [resolve]\n");
	if (it_broker_start(&b2, yaml) < 0 || !(p2 = it_broker_tcp_port(&b2)) || p2 == p1) {
		CHECK(0, "the insecure loopback broker did not start, or its log names no port");
		if (b2.pid)
			it_broker_stop(&b2);
		it_broker_stop(&b1);
		rm_dir();
		return it_result();
	}
	it_note("TLS broker on 127.0.0.1:%u, insecure broker on 127.0.0.1:%u", p1, p2);

	/* From here on gRPC: no more fork. */
	snprintf(tgt1, sizeof(tgt1), "127.0.0.1:%u", p1);
	snprintf(tgt1_name, sizeof(tgt1_name), "localhost:%u", p1);
	snprintf(tgt2, sizeof(tgt2), "127.0.0.1:%u", p2);
	tls_broker(tgt1, tgt1_name);
	insecure_broker(tgt2);

	CHECK(log_has(&b2, "tcp caller, certificate subject \"\""),
	      "the insecure broker's log does not show a TCP caller without subject");
	CHECK(it_broker_stop(&b2) == 0, "the insecure broker did not stop cleanly");
	CHECK(it_broker_stop(&b1) == 0, "the TLS broker did not stop cleanly");
	alarm(0);
	rm_dir();
	return it_result();
}
