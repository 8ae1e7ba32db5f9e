/* SPDX-License-Identifier: MIT
 * test_config_fuzz.c - the configuration reader against bad files: a table
 * of hand-written mistakes (each must be refused with -EINVAL and a message
 * that names the line and, where there is one, the field), generated
 * monsters (deep nesting, too many rules, binary garbage), and a
 * fixed-seed mutation loop over a valid file (no crash, no leak under
 * ASan; a refusal always names a line; a refused file changes nothing).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "policy.h"

#ifndef MUTATIONS
#define MUTATIONS 2000 /* bounded: a unit test, not a fuzzing campaign */
#endif

static int failures;
static char path[256];

#define CHECK(c)                                                         \
	do {                                                             \
		if (!(c)) {                                              \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n",     \
				__FILE__, __LINE__, #c);                 \
			failures++;                                      \
		}                                                        \
	} while (0)

static int put(const char *data, size_t len)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -1;
	if (len && fwrite(data, 1, len, f) != len) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

/* "line N: ..." with N >= 1. Return: N, or 0 when the form is wrong. */
static unsigned long line_of(const char *err)
{
	char *end;
	unsigned long n;

	if (strncmp(err, "line ", 5))
		return 0;
	n = strtoul(err + 5, &end, 10);
	return end != err + 5 && end[0] == ':' && end[1] == ' ' && end[2] ? n : 0;
}

/*
 * Load @len bytes over a fresh default config. Return: the load's return;
 * on -EINVAL, checks that the message names a line and that the config is
 * unchanged. @err receives the message.
 */
static int load(const char *data, size_t len, char *err, size_t errlen)
{
	struct sb__config cfg;
	struct sb__policy *before;
	int ret;

	if (put(data, len) < 0) {
		perror("test_config_fuzz: write");
		exit(1);
	}
	sb__config_default(&cfg);
	before = cfg.policy;
	memset(err, 0, errlen);
	ret = sb__config_load(&cfg, path, err, errlen);
	if (ret == -EINVAL) {
		CHECK(line_of(err) >= 1);
		CHECK(cfg.policy == before && cfg.limits.max_sessions == 1024 &&
		      cfg.n_listen == 0 && cfg.n_tcp_listen == 0 && cfg.log_level == 2);
	}
	CHECK(ret == 0 || ret == -EINVAL);
	CHECK(strlen(err) < errlen);
	sb__config_free(&cfg);
	return ret;
}

/* ---- hand-written mistakes ------------------------------------------------- */

struct bad {
	const char *text;
	const char *want;   /* a substring of the message */
};

#define RULE "policy:\n  - name: r\n    match: { any: true }\n    action: allow\n"

static const struct bad bad[] = {
	/* truncated YAML */
	{ "listen: [\n", "line " },
	{ "policy:\n  - name: a\n    match: { any: tru", "line " },
	{ "policy:\n  - name: \"unterminated\n", "line " },
	{ "limits:\n  max_sessions: 10\n bad_indent: 1\n", "line 3" },
	/* wrong types */
	{ "limits: 5\n", "line 1: limits: expected a mapping" },
	{ "listen: { unix: /x }\n", "line 1: listen: expected a list" },
	{ "policy: { name: a }\n", "line 1: policy: expected a list of rules" },
	{ "policy: 7\n", "policy: expected a list of rules" },
	{ "- a\n- b\n", "top level: the file is a mapping" },
	{ "just a string\n", "top level" },
	{ "---\n", "top level" },
	{ "[a, b]: 1\n", "keys are names" },
	{ "policy:\n  - [name, a]\n", "line 2: policy[0]: each rule is a mapping" },
	{ "policy:\n  - name: [a]\n    match: { any: true }\n    action: allow\n",
	  "line 2: policy[0].name: 1..63 letters" },
	{ "policy:\n  - name: r\n    match: [uid, 1]\n    action: allow\n",
	  "line 3: policy[0].match: expected a mapping" },
	{ "policy:\n  - name: r\n    match: { uid: { a: 1 } }\n    action: allow\n",
	  "policy[0].match.uid: expected a value or a list" },
	{ "policy:\n  - name: r\n    match: { uid: [[1]] }\n    action: allow\n",
	  "policy[0].match.uid: entries are single values" },
	{ RULE "    ports: { a: 1 }\n", "line 5: policy[0].ports: expected a value" },
	{ "listen:\n  - unix: [a]\n", "line 2: listen[0].unix: a name of 1..107 bytes" },
	{ "log_level: [info]\n", "log_level: one of error" },
	{ "log_level: verbose\n", "line 1: log_level: one of error" },
	/* unknown keys */
	{ "bogus: 1\n", "line 1: bogus: unknown field" },
	{ "limits:\n  max_socket: 5\n", "line 2: limits.max_socket: unknown field" },
	{ RULE "    colour: red\n", "line 5: policy[0].colour: unknown field" },
	{ "policy:\n  - name: r\n    match: { user: 1 }\n    action: allow\n",
	  "line 3: policy[0].match.user: unknown field" },
	{ "listen:\n  - unix: /x\n    path: /y\n", "line 3: listen[0].path: unknown field" },
	{ "listen:\n  - tcp: \"127.0.0.1:1\"\n    tls: { cert: /dev/null, crt: x }\n",
	  "listen[0].tls.crt: unknown field" },
	/* repeated keys */
	{ "limits:\n  max_sessions: 1\n  max_sessions: 2\n",
	  "line 3: limits.max_sessions: given twice" },
	{ RULE "    action: deny\n", "line 5: policy[0].action: given twice" },
	{ "policy: []\npolicy: []\n", "line 2: policy: given twice" },
	/* numbers */
	{ "limits:\n  max_sessions: 99999999999999999999999\n",
	  "line 2: limits.max_sessions: out of range" },
	{ "limits:\n  max_sessions: 0\n", "limits.max_sessions: out of range" },
	{ "limits:\n  max_sessions: -1\n", "limits.max_sessions: not a decimal number" },
	{ "limits:\n  max_sessions: 0x10\n", "limits.max_sessions: not a decimal number" },
	{ "limits:\n  max_sessions: \"\"\n", "limits.max_sessions: expected a number" },
	{ "limits:\n  max_message_bytes: 1024\n", "limits.max_message_bytes: out of range" },
	{ "limits:\n  max_stream_bytes: 100\n", "limits.max_stream_bytes: out of range" },
	{ "limits:\n  max_pending_accepts: 1000000\n", "limits.max_pending_accepts: out of range" },
	{ "limits:\n  max_sockets_per_uid: []\n", "limits.max_sockets_per_uid: expected a number" },
	{ "listen:\n  - unix: /x\n    mode: 0800\n", "listen[0].mode: not an octal number" },
	{ "listen:\n  - unix: /x\n    mode: 01777\n", "listen[0].mode: out of range" },
	{ "policy:\n  - name: r\n    match: { uid: 4294967295 }\n    action: allow\n",
	  "line 3: policy[0].match.uid: bad uid \"4294967295\"" },
	{ "policy:\n  - name: r\n    match: { gid: 99999999999999 }\n    action: allow\n",
	  "policy[0].match.gid: bad gid" },
	{ "policy:\n  - name: r\n    match: { uid: no-such-user-sb-test }\n    action: allow\n",
	  "policy[0].match.uid: no such user" },
	/* bad CIDRs */
	{ RULE "    destinations: [10.0.0.0/33]\n",
	  "line 5: policy[0].destinations: bad CIDR \"10.0.0.0/33\": prefix length is not 0..32" },
	{ RULE "    destinations: [\"::/129\"]\n", "bad CIDR \"::/129\": prefix length is not 0..128" },
	{ RULE "    destinations: [10.0.0.1/8]\n", "bits set beyond the prefix length" },
	{ RULE "    destinations: [1.2.3]\n", "bad CIDR \"1.2.3\"" },
	{ RULE "    destinations: [10.0.0.0/]\n", "bad CIDR \"10.0.0.0/\"" },
	{ RULE "    destinations: [10.0.0.0/-1]\n", "bad CIDR" },
	{ RULE "    destinations: [10.0.0.0/+8]\n", "bad CIDR" },
	{ RULE "    destinations: [\"fe80::1%eth0\"]\n", "bad CIDR" },
	{ RULE "    destinations: [example.com]\n", "bad CIDR \"example.com\"" },
	{ RULE "    bind: [\"010.0.0.0/8\"]\n", "line 5: policy[0].bind: bad CIDR" },
	{ RULE "    destinations: [\"unix:relative/path\"]\n", "bad Unix address" },
	{ RULE "    destinations: [\"unix:/run/../etc\"]\n", "bad Unix address" },
	{ RULE "    destinations: []\n", "policy[0].destinations: empty list" },
	/* bad ports */
	{ RULE "    ports: [\"70000\"]\n", "line 5: policy[0].ports: bad port range \"70000\"" },
	{ RULE "    ports: [90-80]\n", "bad port range \"90-80\"" },
	{ RULE "    ports: [1-2-3]\n", "bad port range \"1-2-3\"" },
	{ RULE "    ports: [http]\n", "bad port range \"http\"" },
	{ RULE "    ports: [\"\"]\n", "bad port range \"\"" },
	{ RULE "    ports: [\" 80\"]\n", "bad port range" },
	{ RULE "    ports: [-5]\n", "bad port range" },
	{ RULE "    ports: [\"65535-65536\"]\n", "bad port range" },
	{ RULE "    ports: [99999999999999999999]\n", "bad port range" },
	/* names, actions, matches */
	{ RULE "  - name: r\n    match: { any: true }\n    action: deny\n",
	  "line 5: policy[1].name: \"r\" is also the name of policy[0]" },
	{ "policy:\n  - name: default\n    match: { any: true }\n    action: allow\n",
	  "reserved" },
	{ "policy:\n  - name: has space\n    match: { any: true }\n    action: allow\n",
	  "policy[0].name" },
	{ "policy:\n  - name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"
	  "    match: { any: true }\n    action: allow\n", "policy[0].name" },
	{ "policy:\n  - name: r\n    match: { any: true }\n    action: permit\n",
	  "line 4: policy[0].action: allow or deny" },
	{ "policy:\n  - match: { any: true }\n    action: allow\n",
	  "line 2: policy[0]: missing field \"name\"" },
	{ "policy:\n  - name: r\n    action: allow\n", "policy[0]: missing field \"match\"" },
	{ "policy:\n  - name: r\n    match: { any: true }\n", "missing field \"action\"" },
	{ "policy:\n  - name: r\n    match: {}\n    action: allow\n", "policy[0].match: empty" },
	{ "policy:\n  - name: r\n    match: { any: false }\n    action: allow\n",
	  "policy[0].match.any: only `any: true`" },
	{ "policy:\n  - name: r\n    match: { any: true, uid: 1 }\n    action: allow\n",
	  "cannot be combined" },
	{ "policy:\n  - name: r\n    match: { cgroup: system.slice }\n    action: allow\n",
	  "policy[0].match.cgroup: a cgroup prefix is an absolute path" },
	{ "policy:\n  - name: r\n    match: { subject: \"\" }\n    action: allow\n",
	  "policy[0].match.subject" },
	/* constraints */
	{ RULE "    ops: [conect]\n", "policy[0].ops: unknown operation \"conect\"" },
	{ RULE "    families: [inet7]\n", "policy[0].families: unknown address family" },
	{ RULE "    families: [unspec]\n", "policy[0].families: unknown address family" },
	{ RULE "    types: [streams]\n", "policy[0].types: unknown socket type" },
	{ RULE "    sockopts: [SO_FOO]\n", "policy[0].sockopts: unknown socket option \"SO_FOO\"" },
	{ RULE "    sockopts: [NODELAY]\n", "unknown socket option" },
	{ RULE "    ops: [resolve]\n    destinations: [10.0.0.0/8]\n",
	  "line 6: policy[0].destinations: concerns none of the operations" },
	{ RULE "    ops: [connect]\n    sockopts: [SO_MARK]\n", "policy[0].sockopts: concerns none" },
	{ RULE "    ops: [ifaddrs]\n    families: [inet]\n", "policy[0].families: concerns none" },
	/* listeners */
	{ "listen:\n  - tcp: \"127.0.0.1:7000\"\n", "line 2: listen[0]: a TCP listener needs tls" },
	{ "listen:\n  - tcp: \"0.0.0.0:7000\"\n    insecure: true\n",
	  "line 2: listen[0].tcp: insecure: true is allowed only on a loopback address" },
	{ "listen:\n  - tcp: \"[::]:7000\"\n    insecure: true\n", "only on a loopback" },
	{ "listen:\n  - tcp: \"localhost:7000\"\n    insecure: true\n", "listen[0].tcp: expected" },
	{ "listen:\n  - tcp: \"127.0.0.1\"\n    insecure: true\n", "listen[0].tcp: expected" },
	{ "listen:\n  - tcp: \"127.0.0.1:-1\"\n    insecure: true\n", "listen[0].tcp: expected" },
	{ "listen:\n  - tcp: \"[::1]:70000\"\n    insecure: true\n", "listen[0].tcp: expected" },
	{ "listen:\n  - tcp: \"::1:7000\"\n    insecure: true\n", "listen[0].tcp: expected" },
	{ "listen:\n  - tcp: \"127.0.0.1:7000\"\n    insecure: yes\n", "listen[0].insecure: true or false" },
	{ "listen:\n  - tcp: \"127.0.0.1:7000\"\n    tls: { cert: /nonexistent/c, key: /k, "
	  "client_ca: /ca }\n", "listen[0].tls.cert: cannot read \"/nonexistent/c\"" },
	{ "listen:\n  - tcp: \"127.0.0.1:7000\"\n    tls: { cert: /dev/null, key: "
	  "/dev/null }\n", "listen[0].tls: missing client_ca" },
	{ "listen:\n  - tcp: \"127.0.0.1:7000\"\n    tls: [a]\n", "listen[0].tls: expected a mapping" },
	{ "listen:\n  - tcp: \"127.0.0.1:7000\"\n    mode: 0600\n    insecure: true\n",
	  "line 3: listen[0].mode: only for unix listeners" },
	{ "listen:\n  - abstract: x\n    owner: root\n", "listen[0].owner: an abstract socket" },
	{ "listen:\n  - unix: /x\n    insecure: true\n", "listen[0].insecure: only for tcp" },
	{ "listen:\n  - unix: /x\n    owner: no-such-user-sb-test\n", "listen[0].owner: no such user" },
	{ "listen:\n  - unix: /x\n    group: no-such-group-sb-test\n", "listen[0].group: no such group" },
	{ "listen:\n  - unix: /x\n    tcp: \"127.0.0.1:1\"\n", "listen[0]: needs exactly one of" },
	{ "listen:\n  - mode: 0600\n", "listen[0]: needs exactly one of" },
	{ "listen:\n  - 5\n", "listen[0]: each entry is a mapping" },
	/* NUL bytes, documents, aliases */
	{ "policy:\n  - name: \"a\\0b\"\n", "line 2: a value contains a NUL byte" },
	{ RULE "    destinations: [\"unix-abstract:a\\0\"]\n", "NUL byte" },
	{ "limits: {}\n---\nlimits: {}\n", "line 3: top level: a second YAML document" },
	{ "policy: &a [*a]\n", "policy[0]: each rule is a mapping" },
	{ "policy:\n  - &r { name: r, match: { any: true }, action: allow }\n  - *r\n",
	  "policy[1].name: \"r\" is also the name" },
	{ "x: *nowhere\n", "line 1" },
};

static void test_table(void)
{
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = load(bad[i].text, strlen(bad[i].text), err, sizeof(err));

		if (ret != -EINVAL || !strstr(err, bad[i].want)) {
			fprintf(stderr, "case %zu: got %d \"%s\", wanted -EINVAL with \"%s\"\n"
				"---\n%s---\n", i, ret, err, bad[i].want, bad[i].text);
			failures++;
		}
	}
}

/* ---- generated monsters ------------------------------------------------------ */

static void test_generated(void)
{
	size_t n = 100000, i, len;
	char err[512], *buf = malloc(2 * n + 64);
	uint32_t x = 12345;
	int ret;

	if (!buf)
		exit(1);
	/* nesting within the limit reaches the policy reader ... */
	len = (size_t)sprintf(buf, "policy: ");
	for (i = 0; i < 30; i++)
		buf[len++] = '[';
	for (i = 0; i < 30; i++)
		buf[len++] = ']';
	buf[len++] = '\n';
	ret = load(buf, len, err, sizeof(err));
	CHECK(ret == -EINVAL && strstr(err, "line 1: policy[0]: each rule is a mapping"));
	/* ... deeper is refused before libyaml's scanner slows down on it */
	len = (size_t)sprintf(buf, "policy: ");
	for (i = 0; i < 5000; i++)
		buf[len++] = '[';
	for (i = 0; i < 5000; i++)
		buf[len++] = ']';
	buf[len++] = '\n';
	ret = load(buf, len, err, sizeof(err));
	CHECK(ret == -EINVAL && strstr(err, "line 1: nesting deeper than 32 levels"));
	/* unbalanced, 100000 deep (libyaml alone takes ~20 s on it) */
	len = (size_t)sprintf(buf, "policy: ");
	for (i = 0; i < n; i++)
		buf[len++] = '[';
	ret = load(buf, len, err, sizeof(err));
	CHECK(ret == -EINVAL && strstr(err, "nesting deeper"));
	/* nested mappings, block lists */
	len = 0;
	for (i = 0; i < 3000; i++)
		len += (size_t)sprintf(buf + len, "{a: ");
	CHECK(load(buf, len, err, sizeof(err)) == -EINVAL);
	len = (size_t)sprintf(buf, "policy:\n");
	for (i = 0; i < 40; i++)
		len += (size_t)sprintf(buf + len, "%*s-\n", (int)(2 * i + 2), "");
	ret = load(buf, len, err, sizeof(err));
	CHECK(ret == -EINVAL && strstr(err, "nesting deeper"));
	/* a thousand and twenty-five rules */
	free(buf);
	buf = malloc(1025 * 64 + 16);
	if (!buf)
		exit(1);
	len = (size_t)sprintf(buf, "policy:\n");
	for (i = 0; i < 1025; i++)
		len += (size_t)sprintf(buf + len, "  - { name: r%zu, match: { any: true }, "
				       "action: deny }\n", i);
	ret = load(buf, len, err, sizeof(err));
	CHECK(ret == -EINVAL && strstr(err, "line 2: policy: more than 1024 rules"));
	/* ... while 1024 are fine */
	len = (size_t)(strstr(buf, "  - { name: r1024,") - buf);
	CHECK(load(buf, len, err, sizeof(err)) == 0);
	/* binary garbage, with and without a NUL */
	for (i = 0; i < 200; i++) {
		size_t j, glen = 8 + i % 300;

		for (j = 0; j < glen; j++) {
			x = x * 1103515245u + 12345u;
			buf[j] = (char)(x >> 16);
		}
		CHECK(load(buf, glen, err, sizeof(err)) == -EINVAL);
	}
	free(buf);

	/* What is not a mistake: an empty file or one of comments (defaults). */
	CHECK(load("", 0, err, sizeof(err)) == 0);
	CHECK(load("# nothing here\n\n", 16, err, sizeof(err)) == 0);
	/* and a missing file is not -EINVAL */
	{
		struct sb__config cfg;

		sb__config_default(&cfg);
		CHECK(sb__config_load(&cfg, "/nonexistent/sb.yaml", err, sizeof(err)) == -ENOENT);
		CHECK(err[0] != 0);
		sb__config_free(&cfg);
	}
}

/* ---- mutations of a valid file --------------------------------------------- */

static const char valid[] =
	"# a valid file: each mutation of it is loaded\n"
	"listen:\n"
	"  - unix: /tmp/sb-fuzz.sock\n"
	"    mode: 0660\n"
	"    owner: 0\n"
	"  - tcp: \"127.0.0.1:7000\"\n"
	"    insecure: true\n"
	"limits:\n"
	"  max_sessions: 100\n"
	"  max_sockets_per_uid: 1000\n"
	"  max_pending_accepts: 16\n"
	"  max_stream_bytes: 1048576\n"
	"log_level: info\n"
	"policy:\n"
	"  - name: no-lan\n"
	"    match: { any: true }\n"
	"    action: deny\n"
	"    destinations: [10.0.0.0/8, \"fd00::/8\", \"unix:/run/secret\"]\n"
	"  - name: web\n"
	"    match: { uid: [0, 1000], gid: 100 }\n"
	"    action: allow\n"
	"    ops: [connect, sendto, bind, socket, setsockopt]\n"
	"    families: [inet, inet6]\n"
	"    types: [stream, dgram]\n"
	"    bind: [127.0.0.0/8, \"::1\"]\n"
	"    ports: [\"80\", 443, \"1024-65535\"]\n"
	"    sockopts: [SO_REUSEADDR, TCP_NODELAY]\n"
	"  - name: app\n"
	"    match: { cgroup: /system.slice/app.service }\n"
	"    action: allow\n";

static const char spice[] = ":-[]{}#&*!|>'\",?%@`\n\t 0123456789abcxyz/.\\\x00\xff\xc3";

static void test_mutations(void)
{
	char buf[sizeof(valid) + 256], err[512];
	uint64_t s = 0x9e3779b97f4a7c15ull;
	size_t len, i, pos;
	int ok = 0, refused = 0, ret;

	ret = load(valid, sizeof(valid) - 1, err, sizeof(err));
	if (ret)
		fprintf(stderr, "the valid file is refused: %s\n", err);
	CHECK(ret == 0);
	for (i = 0; i < MUTATIONS; i++) {
		int k, edits;

		memcpy(buf, valid, sizeof(valid) - 1);
		len = sizeof(valid) - 1;
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		edits = 1 + (int)(s % 4);
		for (k = 0; k < edits && len > 1; k++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			pos = (size_t)(s >> 8) % len;
			switch ((s >> 40) % 5) {
			case 0:	/* replace a byte */
				buf[pos] = spice[(s >> 20) % (sizeof(spice) - 1)];
				break;
			case 1:	/* delete a byte */
				memmove(buf + pos, buf + pos + 1, len - pos - 1);
				len--;
				break;
			case 2:	/* insert a byte */
				if (len + 1 < sizeof(buf)) {
					memmove(buf + pos + 1, buf + pos, len - pos);
					buf[pos] = spice[(s >> 20) % (sizeof(spice) - 1)];
					len++;
				}
				break;
			case 3:	/* truncate */
				len = pos + 1;
				break;
			default:	/* copy a run of bytes from elsewhere */
			{
				size_t from = (size_t)(s >> 24) % len, n = 1 + (s >> 50) % 24;

				if (from + n > len)
					n = len - from;
				if (pos + n > len)
					n = len - pos;
				memmove(buf + pos, buf + from, n);
				break;
			}
			}
		}
		ret = load(buf, len, err, sizeof(err));
		if (ret == 0)
			ok++;
		else
			refused++;
	}
	printf("test_config_fuzz: %d mutations: %d loaded, %d refused\n", MUTATIONS, ok,
	       refused);
	CHECK(refused > MUTATIONS / 2);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	snprintf(path, sizeof(path), "%s/sb-config-fuzz-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	fd = mkstemp(path);
	if (fd < 0) {
		perror("test_config_fuzz: mkstemp");
		return 1;
	}
	close(fd);
	test_table();
	test_generated();
	test_mutations();
	unlink(path);
	if (failures) {
		fprintf(stderr, "test_config_fuzz: %d failure(s)\n", failures);
		return 1;
	}
	printf("test_config_fuzz: all passed\n");
	return 0;
}
