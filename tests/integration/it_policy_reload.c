/* SPDX-License-Identifier: MIT
 * it_policy_reload.c - SIGHUP re-reads the configuration file
 * (server/main.c sb__reload(), server/guard.c):
 *  - start with policy v1: root may make inet stream sockets and connect to
 *    127.0.0.1:N1 only (rule "v1-allow-n1"), everything else is denied by
 *    "v1-deny". Checked: N1 connects (data flows), N2 is -1 EACCES naming
 *    v1-deny and the N2 listener sees nothing;
 *  - the file is overwritten with a YAML syntax error, SIGHUP: the broker
 *    logs the error with its line and that the running configuration stays
 *    in force, and v1 still decides (N1 yes, N2 no by v1-deny);
 *  - the same with a file that parses but has a bad CIDR on line 5: the log
 *    names "line 5: policy[0].destinations", v1 still decides;
 *  - an empty file, a file of comments only and a file cut short before
 *    its policy (limits only), SIGHUP each: the log says the reload was
 *    refused for want of a policy section and the running configuration
 *    stays in force; v1 still decides and its limit (max_sockets_per_session
 *    8) still holds: the 8th socket of the session is the last (not the
 *    default 4096, not the cut file's 100);
 *  - a good file v2 (N2 only, "v2-deny" for the rest, 9 sockets), SIGHUP:
 *    the log says reloaded, policy rules 2 -> 2, max_sockets_per_session
 *    8 -> 9, listeners unchanged; a new session holds 9 sockets; new calls follow v2, in the session opened under
 *    v1 as well as in a new one (N2 yes, N1 no by v2-deny); the connection
 *    made under v1 keeps working both ways (a reload drops nothing).
 * Before that, a start-up with a file that has no policy section (empty,
 * or limits only) fails: the embedded default applies only without a file.
 * Every wait for the broker's log is bounded (5 s).
 */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_client.h"

static struct it_broker b;
static int l1, l2;
static uint16_t n1, n2;

/* The whole log, malloc'd (NULL when unreadable). */
static char *read_log(void)
{
	FILE *f = fopen(b.log, "re");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t r;

		if (cap - n < 4096) {
			char *p = realloc(buf, cap + 65536);

			if (!p)
				break;
			buf = p;
			cap += 65536;
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	if (buf)
		buf[n] = 0;
	return buf;
}

static int count_sighup(void)
{
	char *log = read_log(), *p;
	int n = 0;

	for (p = log; p && (p = strstr(p, "SIGHUP: ")) != NULL; p++)
		n++;
	free(log);
	return n;
}

/* SIGHUP the broker and wait (5 s at most) for its answer line; Return: the
 * line (malloc'd) or NULL. */
static char *sighup(void)
{
	int before = count_sighup();
	int64_t until = it_now_ms() + 5000;

	if (kill(b.pid, SIGHUP) < 0)
		return NULL;
	while (it_now_ms() < until) {
		if (count_sighup() > before) {
			char *log = read_log(), *p, *last = NULL, *line;
			size_t n;

			for (p = log; p && (p = strstr(p, "SIGHUP: ")) != NULL; p++)
				last = p;
			if (!last) {
				free(log);
				return NULL;
			}
			while (last > log && last[-1] != '\n')
				last--;
			n = strcspn(last, "\n");
			line = strndup(last, n);
			free(log);
			return line;
		}
		it_sleep_ms(10);
	}
	return NULL;
}

static int write_config(const char *text)
{
	FILE *f = fopen(b.config, "we");

	if (!f)
		return -1;
	if (fputs(text, f) < 0) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

static void policy_text(char *buf, size_t len, const char *v, uint16_t port,
			unsigned max_sockets)
{
	snprintf(buf, len,
		 "limits:\n"
		 "  max_sockets_per_session: %u\n"
		 "policy:\n"
		 "  - name: %s-allow\n"
		 "    match: { uid: 0 }\n"
		 "    action: allow\n"
		 "    ops: [socket, connect]\n"
		 "    families: [inet]\n"
		 "    types: [stream]\n"
		 "    destinations: [127.0.0.1/32]\n"
		 "    ports: [%u]\n"
		 "  - name: %s-deny\n"
		 "    match: { uid: 0 }\n"
		 "    action: deny\n",
		 max_sockets, v, (unsigned)port, v);
}

/* connect to @port on a new socket of @c: allowed (and then data flows, the
 * socket number is returned, the native end in *@nfd) or refused by @rule. */
static int try_connect(sb_client *c, const char *tag, uint16_t port, int allowed,
		       const char *rule, int *nfd)
{
	struct sockaddr_storage ss;
	socklen_t len = it_addr4(&ss, "127.0.0.1", port);
	int s = sb_socket(c, AF_INET, SOCK_STREAM, 0), x, fd;
	char buf[8] = "";

	if (nfd)
		*nfd = -1;
	if (!CHECK(s >= 0, "%s: socket: %s %s", tag, strerror(errno), it_sberr()))
		return -1;
	errno = 0;
	x = sb_connect(c, s, (struct sockaddr *)&ss, len);
	if (!allowed) {
		CHECK(x == -1 && errno == EACCES && strstr(it_sberr(), rule),
		      "%s: connect to port %u: %d %s \"%s\", want -1 EACCES naming %s", tag,
		      port, x, strerror(errno), it_sberr(), rule);
		fd = it_native_accept(port == n1 ? l1 : l2, NULL, NULL, 100);
		CHECK(fd < 0, "%s: the refused connect reached port %u", tag, port);
		if (fd >= 0)
			close(fd);
		sb_close(c, s);
		return -1;
	}
	if (!CHECK(x == 0, "%s: connect to port %u: %s \"%s\", want it allowed", tag, port,
		   strerror(errno), it_sberr())) {
		sb_close(c, s);
		return -1;
	}
	fd = it_native_accept(port == n1 ? l1 : l2, NULL, NULL, 5000);
	if (!CHECK(fd >= 0, "%s: native accept on %u: %s", tag, port, strerror(errno))) {
		sb_close(c, s);
		return -1;
	}
	CHECK(it_sb_send_all(c, s, "abcd", 4, 5000) == 0 && it_read_full(fd, buf, 4, 5000) == 0 &&
	      !memcmp(buf, "abcd", 4), "%s: data on port %u", tag, port);
	if (nfd) {
		*nfd = fd;
		return s;
	}
	close(fd);
	sb_close(c, s);
	return -1;
}

/* The connection @s/@fd still carries data both ways. */
static void still_works(sb_client *c, const char *tag, int s, int fd)
{
	char buf[8] = "";

	if (s < 0 || fd < 0)
		return;
	CHECK(it_sb_send_all(c, s, "old1", 4, 5000) == 0 && it_read_full(fd, buf, 4, 5000) == 0 &&
	      !memcmp(buf, "old1", 4), "%s: the connection made under v1: broker -> native "
	      "%s %s", tag, strerror(errno), it_sberr());
	memset(buf, 0, sizeof(buf));
	CHECK(it_write_full(fd, "old2", 4) == 0 && it_sb_recv_all(c, s, buf, 4, 5000) == 0 &&
	      !memcmp(buf, "old2", 4), "%s: the connection made under v1: native -> broker "
	      "%s %s", tag, strerror(errno), it_sberr());
}

static void broken_reload(sb_client *c, const char *tag, const char *text, const char *want)
{
	char *line;

	if (!CHECK(write_config(text) == 0, "%s: writing %s: %s", tag, b.config, strerror(errno)))
		return;
	line = sighup();
	if (CHECK(line != NULL, "%s: no SIGHUP line in the broker log within 5 s", tag)) {
		it_note("%s: %s", tag, line);
		CHECK(strstr(line, want) && strstr(line, "stays in force") &&
		      strstr(line, "reload refused") &&
		      !strstr(line, "reloaded"), "%s: log line \"%s\", want it to name \"%s\" "
		      "and say the running configuration stays in force", tag, line, want);
		free(line);
	}
	/* v1 still decides. */
	try_connect(c, tag, n1, 1, NULL, NULL);
	try_connect(c, tag, n2, 0, "\"v1-deny", NULL);
	CHECK(kill(b.pid, 0) == 0, "%s: the broker is gone", tag);
}

/* Open sockets in @c until refused (at most 20): Return how many the
 * session holds then (@held already open) and close the new ones. */
static int session_capacity(sb_client *c, const char *tag, int held)
{
	int s[20], n = 0, i;

	while (n < 20) {
		s[n] = sb_socket(c, AF_INET, SOCK_STREAM, 0);
		if (s[n] < 0)
			break;
		n++;
	}
	CHECK(n < 20 && errno == EMFILE, "%s: socket %d: %s, want EMFILE at the "
	      "session's limit", tag, n + held, strerror(errno));
	for (i = 0; i < n; i++)
		sb_close(c, s[i]);
	return n + held;
}

int main(void)
{
	static const char syntax_error[] =
		"policy:\n"
		"  - name: broken\n"
		"    match: { uid: 0\n"
		"    action: allow\n";
	static const char bad_cidr[] =
		"policy:\n"
		"  - name: v3-allow-all\n"
		"    match: { uid: 0 }\n"
		"    action: allow\n"
		"    destinations: [127.0.0.300/32]\n";
	static const char cut_short[] =
		"limits:\n"
		"  max_sockets_per_session: 100\n";
	struct it_broker nb;
	struct sockaddr_storage a1, a2;
	socklen_t len1, len2;
	char config[1024], *line;
	sb_client *c, *c2;
	int s_old, fd_old, n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	l1 = it_native_listener(AF_INET, "127.0.0.1", &a1, &len1);
	l2 = it_native_listener(AF_INET, "127.0.0.1", &a2, &len2);
	if (l1 < 0 || l2 < 0) {
		printf("FAIL: native listeners: %s\n", strerror(errno));
		return 1;
	}
	n1 = it_port(&a1);
	n2 = it_port(&a2);
	/* No policy in the file: the broker does not start. */
	CHECK(it_broker_start(&nb, "") < 0, "an empty config file was accepted at start-up");
	CHECK(it_broker_start(&nb, cut_short) < 0,
	      "a config file without a policy section was accepted at start-up");
	policy_text(config, sizeof(config), "v1", n1, 8);
	c = it_setup(&b, config, 50);

	/* v1. */
	s_old = try_connect(c, "v1", n1, 1, NULL, &fd_old);
	try_connect(c, "v1", n2, 0, "\"v1-deny", NULL);

	/* Broken files: the old policy stays. */
	broken_reload(c, "syntax error", syntax_error, "line ");
	broken_reload(c, "bad CIDR", bad_cidr, "line 5: policy[0].destinations");
	broken_reload(c, "empty file", "", "reload refused: no policy section");
	broken_reload(c, "comments only", "# policy:\n#   - name: x\n",
		      "reload refused: no policy section");
	broken_reload(c, "cut short", cut_short, "reload refused: no policy section");
	still_works(c, "after the refused reloads", s_old, fd_old);
	n = session_capacity(c, "after the refused reloads", s_old >= 0);
	CHECK(n == 8, "after the refused reloads: the session holds %d sockets at "
	      "most, want v1's max_sockets_per_session 8", n);

	/* A good file: new calls follow it. */
	policy_text(config, sizeof(config), "v2", n2, 9);
	if (CHECK(write_config(config) == 0, "writing v2: %s", strerror(errno))) {
		line = sighup();
		if (CHECK(line != NULL, "v2: no SIGHUP line in the broker log within 5 s")) {
			it_note("v2: %s", line);
			CHECK(strstr(line, "reloaded") && strstr(line, "policy rules 2 -> 2") &&
			      strstr(line, "max_sockets_per_session 8 -> 9") &&
			      strstr(line, "listeners: unchanged"),
			      "v2: log line \"%s\", want reloaded, policy rules 2 -> 2, "
			      "max_sockets_per_session 8 -> 9, listeners unchanged", line);
			free(line);
		}
	}
	try_connect(c, "v2, session opened under v1", n2, 1, NULL, NULL);
	try_connect(c, "v2, session opened under v1", n1, 0, "\"v2-deny", NULL);
	still_works(c, "v2", s_old, fd_old);
	c2 = sb_open(b.target);
	if (CHECK(c2 != NULL, "v2: a new session: %s %s", strerror(errno), it_sberr())) {
		try_connect(c2, "v2, new session", n2, 1, NULL, NULL);
		try_connect(c2, "v2, new session", n1, 0, "\"v2-deny", NULL);
		n = session_capacity(c2, "v2, new session", 0);
		CHECK(n == 9, "v2: a new session holds %d sockets at most, want 9", n);
		sb_close_client(c2);
	}

	if (s_old >= 0)
		sb_close(c, s_old);
	if (fd_old >= 0)
		close(fd_old);
	close(l1);
	close(l2);
	return it_teardown(&b, c);
}
