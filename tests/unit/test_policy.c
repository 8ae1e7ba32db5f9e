/* SPDX-License-Identifier: MIT
 * test_policy.c - the policy engine's decisions: policies written as YAML
 * (as an operator writes them), requests as the RPC handlers build them,
 * and the decision and rule name a refused caller would see. Also the
 * embedded default policy and the policy/limits/listeners of a whole file
 * read with sb__config_load().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "policy.h"
#include "policy_read.h"

static int failures;

#define CHECK(c)                                                         \
	do {                                                             \
		if (!(c)) {                                              \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n",     \
				__FILE__, __LINE__, #c);                 \
			failures++;                                      \
		}                                                        \
	} while (0)

/* ---- helpers ------------------------------------------------------------ */

static struct sb__policy *pol(const char *yaml)
{
	struct sb__policy *p = NULL;
	char err[512] = "";

	if (sb__policy_parse(yaml, strlen(yaml), &p, err, sizeof(err)) < 0) {
		fprintf(stderr, "policy did not parse: %s\n---\n%s---\n", err, yaml);
		exit(1);
	}
	return p;
}

static struct sb__identity local(uid_t uid, gid_t gid, const char *cgroup)
{
	struct sb__identity id;

	memset(&id, 0, sizeof(id));
	id.uid = uid;
	id.gid = gid;
	id.pid = 4242;
	id.known = 1;
	snprintf(id.transport, sizeof(id.transport), "unix");
	snprintf(id.cgroup, sizeof(id.cgroup), "%s", cgroup);
	return id;
}

static struct sb__addr ip(const char *text, uint16_t port)
{
	struct sb__addr a;

	memset(&a, 0, sizeof(a));
	a.port = port;
	if (inet_pton(AF_INET, text, a.ip) == 1) {
		a.kind = SB__ADDR_INET;
	} else if (inet_pton(AF_INET6, text, a.ip) == 1) {
		a.kind = SB__ADDR_INET6;
	} else {
		fprintf(stderr, "bad test address %s\n", text);
		exit(1);
	}
	return a;
}

static struct sb__addr unix_addr(const char *name, int abstract)
{
	struct sb__addr a;

	memset(&a, 0, sizeof(a));
	a.kind = abstract ? SB__ADDR_UNIX_ABSTRACT : SB__ADDR_UNIX_PATH;
	a.name_len = strlen(name);
	memcpy(a.name, name, a.name_len);
	return a;
}

static struct sb__pol_req req(enum sb__pol_op op, int family, int type)
{
	struct sb__pol_req r;

	memset(&r, 0, sizeof(r));
	r.op = op;
	r.family = family;
	r.type = type;
	return r;
}

/* A request with an address: family and type from the address. */
static struct sb__pol_req areq(enum sb__pol_op op, const struct sb__addr *a, int type)
{
	int fam = a->kind == SB__ADDR_INET ? AF_INET : a->kind == SB__ADDR_INET6 ? AF_INET6
										 : AF_UNIX;
	struct sb__pol_req r = req(op, fam, type);

	r.addr = a;
	return r;
}

static struct sb__pol_req optreq(int family, int level, int name)
{
	struct sb__pol_req r = req(SB__POL_SETSOCKOPT, family, SOCK_STREAM);

	r.opt_level = level;
	r.opt_name = name;
	return r;
}

/* The decision must be @allow by rule @rule. */
static int expect_at(int line, const struct sb__policy *p, const struct sb__identity *id,
		     const struct sb__pol_req *r, int allow, const char *rule)
{
	struct sb__pol_decision d;
	int ret;

	memset(&d, 0x5a, sizeof(d));
	ret = sb__policy_check(p, id, r, &d);
	if (ret != allow || d.allow != allow || strcmp(d.rule, rule) || !d.why) {
		fprintf(stderr, "%s:%d: op %s: got %s by \"%.64s\" (%s), expected %s by "
			"\"%s\"\n", __FILE__, line, sb__pol_op_name(r->op),
			d.allow ? "allow" : "deny", d.rule, d.why ? d.why : "(null)",
			allow ? "allow" : "deny", rule);
		failures++;
		return 0;
	}
	return 1;
}

#define EXPECT(p, id, r, allow, rule) expect_at(__LINE__, p, id, r, allow, rule)

/* ---- identities ------------------------------------------------------- */

static void test_identities(void)
{
	struct sb__policy *p = pol(
		"- name: by-uid\n"
		"  match: { uid: [1000, 1001] }\n"
		"  action: allow\n"
		"  ops: [resolve]\n"
		"- name: by-gid\n"
		"  match: { gid: 50 }\n"
		"  action: allow\n"
		"  ops: [ifaddrs]\n"
		"- name: by-cgroup\n"
		"  match: { cgroup: /system.slice/app.service/ }\n"
		"  action: allow\n"
		"  ops: [watch]\n"
		"- name: root-by-name\n"
		"  match: { uid: root }\n"
		"  action: allow\n"
		"  ops: [fdpass]\n"
		"- name: uid-and-gid\n"
		"  match: { uid: 2000, gid: 2000 }\n"
		"  action: allow\n"
		"  ops: [listen]\n"
		"- name: everyone\n"
		"  match: { any: true }\n"
		"  action: allow\n"
		"  ops: [accept]\n");
	struct sb__identity u1000 = local(1000, 1000, ""), u1001 = local(1001, 7, "");
	struct sb__identity u1002 = local(1002, 50, "/user.slice");
	struct sb__identity app = local(3000, 3000, "/system.slice/app.service");
	struct sb__identity app_sub = local(3000, 3000, "/system.slice/app.service/worker");
	struct sb__identity app2 = local(3000, 3000, "/system.slice/app.service2");
	struct sb__identity root = local(0, 0, "");
	struct sb__identity both = local(2000, 2000, ""), half = local(2000, 1, "");
	struct sb__identity tcp = local(1000, 1000, "/system.slice/app.service");
	struct sb__identity unknown = local(1000, 1000, "");
	struct sb__pol_req resolve = req(SB__POL_RESOLVE, 0, 0);
	struct sb__pol_req ifaddrs = req(SB__POL_IFADDRS, 0, 0);
	struct sb__pol_req watch = req(SB__POL_WATCH, 0, 0);
	struct sb__pol_req fdpass = req(SB__POL_HANDOFF, AF_INET, SOCK_STREAM);
	struct sb__pol_req listen = req(SB__POL_LISTEN, AF_INET, SOCK_STREAM);
	struct sb__pol_req accept = req(SB__POL_ACCEPT, AF_INET, SOCK_STREAM);

	snprintf(tcp.transport, sizeof(tcp.transport), "tcp");
	unknown.known = 0;

	/* uid lists */
	EXPECT(p, &u1000, &resolve, 1, "by-uid");
	EXPECT(p, &u1001, &resolve, 1, "by-uid");
	EXPECT(p, &u1002, &resolve, 0, "default");
	/* gid (the primary gid of the peer) */
	EXPECT(p, &u1002, &ifaddrs, 1, "by-gid");
	EXPECT(p, &u1001, &ifaddrs, 0, "default");
	/* cgroup prefix on a '/' boundary; the trailing '/' of the rule is dropped */
	EXPECT(p, &app, &watch, 1, "by-cgroup");
	EXPECT(p, &app_sub, &watch, 1, "by-cgroup");
	EXPECT(p, &app2, &watch, 0, "default");
	EXPECT(p, &u1000, &watch, 0, "default");	/* cgroup unknown */
	/* a user name resolves to its uid */
	EXPECT(p, &root, &fdpass, 1, "root-by-name");
	EXPECT(p, &u1000, &fdpass, 0, "default");
	/* several keys: all must match */
	EXPECT(p, &both, &listen, 1, "uid-and-gid");
	EXPECT(p, &half, &listen, 0, "default");
	/* any */
	EXPECT(p, &u1002, &accept, 1, "everyone");
	EXPECT(p, &tcp, &accept, 1, "everyone");
	/* uid/gid/cgroup never match a TCP caller (it has no SO_PEERCRED) */
	EXPECT(p, &tcp, &resolve, 0, "default");
	EXPECT(p, &tcp, &watch, 0, "default");
	/* a caller without credentials matches nothing, not even any */
	EXPECT(p, &unknown, &accept, 0, "default");
	EXPECT(p, &unknown, &resolve, 0, "default");

	CHECK(sb__policy_serves(p, &u1000));
	CHECK(sb__policy_serves(p, &tcp));	/* "everyone" */
	CHECK(!sb__policy_serves(p, &unknown));
	sb__policy_free(p);

	/* subject: the client certificate's subject, exactly */
	p = pol("- name: cert\n"
		"  match: { subject: [\"CN=client,O=Example\", \"CN=other\"] }\n"
		"  action: allow\n");
	EXPECT(p, &tcp, &resolve, 0, "default");	/* no certificate */
	CHECK(!sb__policy_serves(p, &tcp));
	snprintf(tcp.subject, sizeof(tcp.subject), "CN=client,O=Example");
	EXPECT(p, &tcp, &resolve, 1, "cert");
	CHECK(sb__policy_serves(p, &tcp));
	snprintf(tcp.subject, sizeof(tcp.subject), "CN=client,O=Example,OU=x");
	EXPECT(p, &tcp, &resolve, 0, "default");
	snprintf(tcp.subject, sizeof(tcp.subject), "CN=client");
	EXPECT(p, &tcp, &resolve, 0, "default");
	sb__policy_free(p);

	/* san: one of the certificate's subjectAltName entries, exactly */
	p = pol("- name: by-san\n"
		"  match: { san: [runner.example.org, \"spiffe://example.org/ci\"] }\n"
		"  action: allow\n");
	tcp.n_san = 0;
	EXPECT(p, &tcp, &resolve, 0, "default");	/* no SAN */
	snprintf(tcp.san[0], sizeof(tcp.san[0]), "other.example.org");
	snprintf(tcp.san[1], sizeof(tcp.san[1]), "spiffe://example.org/ci");
	tcp.n_san = 2;
	EXPECT(p, &tcp, &resolve, 1, "by-san");
	tcp.n_san = 1;
	EXPECT(p, &tcp, &resolve, 0, "default");
	snprintf(tcp.san[0], sizeof(tcp.san[0]), "runner.example.org.evil");
	EXPECT(p, &tcp, &resolve, 0, "default");
	tcp.n_san = 0;
	sb__policy_free(p);
}

/* ---- first match wins, default deny, serves --------------------------- */

static void test_order(void)
{
	struct sb__policy *p = pol(
		"- name: no-1001\n"
		"  match: { uid: 1001 }\n"
		"  action: deny\n"
		"- name: staff\n"
		"  match: { gid: 100 }\n"
		"  action: allow\n"
		"- name: never-reached\n"
		"  match: { uid: 1001 }\n"
		"  action: allow\n");
	struct sb__identity a = local(1000, 100, ""), b = local(1001, 100, "");
	struct sb__identity c = local(1002, 5, "");
	struct sb__pol_req sock = req(SB__POL_SOCKET, AF_INET, SOCK_STREAM);

	EXPECT(p, &a, &sock, 1, "staff");
	EXPECT(p, &b, &sock, 0, "no-1001");	/* deny before allow */
	EXPECT(p, &c, &sock, 0, "default");
	CHECK(sb__policy_serves(p, &a));
	CHECK(!sb__policy_serves(p, &b));	/* an unconstrained deny comes first */
	CHECK(!sb__policy_serves(p, &c));
	sb__policy_free(p);

	/* allow before deny: the allow wins */
	p = pol("- name: first\n"
		"  match: { any: true }\n"
		"  action: allow\n"
		"  ops: [socket]\n"
		"- name: second\n"
		"  match: { any: true }\n"
		"  action: deny\n");
	EXPECT(p, &a, &sock, 1, "first");
	sb__policy_free(p);

	/* an empty policy denies everything, naming "default" */
	p = pol("[]\n");
	EXPECT(p, &a, &sock, 0, "default");
	CHECK(!sb__policy_serves(p, &a));
	CHECK(sb__policy_rule_count(p) == 0);
	sb__policy_free(p);

	/* a constrained deny does not stop serves() */
	p = pol("- name: no-lan\n"
		"  match: { any: true }\n"
		"  action: deny\n"
		"  destinations: [10.0.0.0/8]\n"
		"- name: rest\n"
		"  match: { any: true }\n"
		"  action: allow\n");
	CHECK(sb__policy_serves(p, &a));
	CHECK(sb__policy_rule_count(p) == 2);
	sb__policy_free(p);
}

/* ---- operations, families, types ---------------------------------------- */

static void test_ops(void)
{
	struct sb__policy *p = pol(
		"- name: names-only\n"
		"  match: { uid: 1000 }\n"
		"  action: allow\n"
		"  ops: [resolve, ifaddrs]\n"
		"- name: unix-only\n"
		"  match: { uid: 1001 }\n"
		"  action: allow\n"
		"  families: [unix]\n"
		"- name: udp-v6\n"
		"  match: { uid: 1002 }\n"
		"  action: allow\n"
		"  families: [AF_INET6]\n"
		"  types: [DGRAM]\n"
		"- name: no-sendto\n"
		"  match: { uid: 1003 }\n"
		"  action: deny\n"
		"  ops: [sendto]\n"
		"- name: rest-1003\n"
		"  match: { uid: 1003 }\n"
		"  action: allow\n");
	struct sb__identity u0 = local(1000, 1, ""), u1 = local(1001, 1, "");
	struct sb__identity u2 = local(1002, 1, ""), u3 = local(1003, 1, "");
	struct sb__addr dst = ip("192.0.2.1", 53);
	struct sb__pol_req resolve = req(SB__POL_RESOLVE, 0, 0);
	struct sb__pol_req ifaddrs = req(SB__POL_IFADDRS, 0, 0);
	struct sb__pol_req watch = req(SB__POL_WATCH, 0, 0);
	struct sb__pol_req sock_in = req(SB__POL_SOCKET, AF_INET, SOCK_STREAM);
	struct sb__pol_req sock_un = req(SB__POL_SOCKET, AF_UNIX, SOCK_STREAM);
	struct sb__pol_req sock_un_nb = req(SB__POL_SOCKET, AF_UNIX,
					    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct sb__pol_req udp6 = req(SB__POL_SOCKET, AF_INET6, SOCK_DGRAM);
	struct sb__pol_req tcp6 = req(SB__POL_SOCKET, AF_INET6, SOCK_STREAM);
	struct sb__pol_req sendto = areq(SB__POL_SENDTO, &dst, SOCK_DGRAM);
	struct sb__pol_req connect = areq(SB__POL_CONNECT, &dst, SOCK_DGRAM);

	EXPECT(p, &u0, &resolve, 1, "names-only");
	EXPECT(p, &u0, &ifaddrs, 1, "names-only");
	EXPECT(p, &u0, &watch, 0, "default");
	EXPECT(p, &u0, &sock_in, 0, "default");
	/* families only: every socket operation on those families, nothing else */
	EXPECT(p, &u1, &sock_un, 1, "unix-only");
	EXPECT(p, &u1, &sock_un_nb, 1, "unix-only");	/* type flags ignored */
	EXPECT(p, &u1, &sock_in, 0, "default");
	EXPECT(p, &u1, &resolve, 0, "default");
	/* family and type names with or without prefix, any case */
	EXPECT(p, &u2, &udp6, 1, "udp-v6");
	EXPECT(p, &u2, &tcp6, 0, "default");
	/* an explicit op list */
	EXPECT(p, &u3, &sendto, 0, "no-sendto");
	EXPECT(p, &u3, &connect, 1, "rest-1003");
	CHECK(!strcmp(sb__pol_op_name(SB__POL_SENDTO), "sendto"));
	CHECK(!strcmp(sb__pol_op_name(SB__POL_COUNT), "?"));
	sb__policy_free(p);
}

/* ---- ports ---------------------------------------------------------------- */

static void test_ports(void)
{
	struct sb__policy *p = pol(
		"- name: web\n"
		"  match: { uid: 1000 }\n"
		"  action: allow\n"
		"  ports: [\"80\", 443, \"8000-8099\"]\n"
		"- name: high-binds\n"
		"  match: { uid: 1001 }\n"
		"  action: allow\n"
		"  ops: [bind]\n"
		"  ports: [1024-65535]\n"
		"- name: any-bind\n"
		"  match: { uid: 1002 }\n"
		"  action: allow\n"
		"  ops: [bind]\n"
		"- name: ephemeral-ok\n"
		"  match: { uid: 1003 }\n"
		"  action: allow\n"
		"  ops: [bind]\n"
		"  ports: [0, 1024-65535]\n");
	struct sb__identity u0 = local(1000, 1, ""), u1 = local(1001, 1, "");
	struct sb__identity u2 = local(1002, 1, ""), u3 = local(1003, 1, "");
	struct sb__addr a80 = ip("192.0.2.1", 80), a81 = ip("192.0.2.1", 81);
	struct sb__addr a443 = ip("2001:db8::1", 443), a8050 = ip("192.0.2.1", 8050);
	struct sb__addr a8100 = ip("192.0.2.1", 8100), b0 = ip("0.0.0.0", 0);
	struct sb__addr b80 = ip("0.0.0.0", 80), b5000 = ip("::", 5000);
	struct sb__addr ux = unix_addr("/run/x.sock", 0);
	struct sb__pol_req r;

	r = areq(SB__POL_CONNECT, &a80, SOCK_STREAM);
	EXPECT(p, &u0, &r, 1, "web");
	r = areq(SB__POL_CONNECT, &a81, SOCK_STREAM);
	EXPECT(p, &u0, &r, 0, "default");
	r = areq(SB__POL_SENDTO, &a443, SOCK_DGRAM);
	EXPECT(p, &u0, &r, 1, "web");
	r = areq(SB__POL_CONNECT, &a8050, SOCK_STREAM);
	EXPECT(p, &u0, &r, 1, "web");
	r = areq(SB__POL_CONNECT, &a8100, SOCK_STREAM);
	EXPECT(p, &u0, &r, 0, "default");
	/* ports alone imply connect, sendto, bind ... */
	r = areq(SB__POL_BIND, &a443, SOCK_STREAM);
	EXPECT(p, &u0, &r, 1, "web");
	/* ... no socket() from this rule */
	r = req(SB__POL_SOCKET, AF_INET, SOCK_STREAM);
	EXPECT(p, &u0, &r, 0, "default");
	/* a Unix address has no port: it never matches a ports list */
	r = areq(SB__POL_CONNECT, &ux, SOCK_STREAM);
	EXPECT(p, &u0, &r, 0, "default");
	/* bind ports; port 0 only when 0 is in a range or ports are absent */
	r = areq(SB__POL_BIND, &b5000, SOCK_STREAM);
	EXPECT(p, &u1, &r, 1, "high-binds");
	r = areq(SB__POL_BIND, &b80, SOCK_STREAM);
	EXPECT(p, &u1, &r, 0, "default");
	r = areq(SB__POL_BIND, &b0, SOCK_STREAM);
	EXPECT(p, &u1, &r, 0, "default");
	EXPECT(p, &u2, &r, 1, "any-bind");
	EXPECT(p, &u3, &r, 1, "ephemeral-ok");
	sb__policy_free(p);

	/* with destinations, ports narrow to connect/sendto: no bind */
	p = pol("- name: https-out\n"
		"  match: { uid: 1000 }\n"
		"  action: allow\n"
		"  destinations: [192.0.2.0/24]\n"
		"  ports: [443]\n");
	r = areq(SB__POL_CONNECT, &a80, SOCK_STREAM);
	EXPECT(p, &u0, &r, 0, "default");
	b80 = ip("192.0.2.1", 443);
	r = areq(SB__POL_CONNECT, &b80, SOCK_STREAM);
	EXPECT(p, &u0, &r, 1, "https-out");
	r = areq(SB__POL_BIND, &b80, SOCK_STREAM);
	EXPECT(p, &u0, &r, 0, "default");
	sb__policy_free(p);

	/* a raw socket has no port: one in its address matches no ports list */
	p = pol("- name: raw-to-443\n"
		"  match: { uid: 1000 }\n"
		"  action: allow\n"
		"  types: [raw]\n"
		"  destinations: [192.0.2.0/24]\n"
		"  ports: [443]\n"
		"- name: raw-to-0\n"
		"  match: { uid: 1001 }\n"
		"  action: allow\n"
		"  types: [raw]\n"
		"  destinations: [192.0.2.0/24]\n"
		"  ports: [0]\n");
	r = areq(SB__POL_SENDTO, &b80, SOCK_RAW);
	EXPECT(p, &u0, &r, 0, "default");
	r = areq(SB__POL_CONNECT, &b80, SOCK_RAW);
	EXPECT(p, &u0, &r, 0, "default");
	r = areq(SB__POL_SENDTO, &b80, SOCK_RAW);
	EXPECT(p, &u1, &r, 1, "raw-to-0");
	sb__policy_free(p);
}

/* ---- addresses ----------------------------------------------------------- */

static void test_cidr(void)
{
	struct sb__policy *p = pol(
		"- name: no-lan\n"
		"  match: { any: true }\n"
		"  action: deny\n"
		"  destinations: [10.0.0.0/8, \"fd00::/8\"]\n"
		"- name: loopback-only-binds\n"
		"  match: { any: true }\n"
		"  action: allow\n"
		"  bind: [127.0.0.0/8, \"::1\"]\n"
		"- name: v6-out\n"
		"  match: { uid: 1000 }\n"
		"  action: allow\n"
		"  destinations: [\"::/0\"]\n"
		"- name: doc-net\n"
		"  match: { uid: 1000 }\n"
		"  action: allow\n"
		"  destinations: [192.0.2.0/24, 198.51.100.7]\n"
		"- name: mapped-written-v6\n"
		"  match: { uid: 1001 }\n"
		"  action: allow\n"
		"  destinations: [\"::ffff:203.0.113.0/120\"]\n");
	struct sb__identity u = local(1000, 1, ""), u1 = local(1001, 1, "");
	struct sb__addr lan = ip("10.1.2.3", 80), lan6 = ip("fd12::1", 80);
	struct sb__addr lan_mapped = ip("::ffff:10.1.2.3", 80);
	struct sb__addr doc = ip("192.0.2.200", 80), doc_mapped = ip("::ffff:192.0.2.5", 80);
	struct sb__addr host = ip("198.51.100.7", 80), host2 = ip("198.51.100.8", 80);
	struct sb__addr other4 = ip("203.0.113.9", 80), other_mapped = ip("::ffff:203.0.113.9", 80);
	struct sb__addr v6 = ip("2001:db8::1", 80), lo = ip("127.0.0.1", 0);
	struct sb__addr lo_mapped = ip("::ffff:127.0.0.1", 0), lo6 = ip("::1", 0);
	struct sb__addr any4 = ip("0.0.0.0", 0), any6 = ip("::", 0);
	struct sb__pol_req r;

	/* v4 and v6 CIDRs */
	r = areq(SB__POL_CONNECT, &lan, SOCK_STREAM);
	EXPECT(p, &u, &r, 0, "no-lan");
	r = areq(SB__POL_CONNECT, &lan6, SOCK_STREAM);
	EXPECT(p, &u, &r, 0, "no-lan");
	r = areq(SB__POL_SENDTO, &doc, SOCK_DGRAM);
	EXPECT(p, &u, &r, 1, "doc-net");
	r = areq(SB__POL_CONNECT, &host, SOCK_STREAM);
	EXPECT(p, &u, &r, 1, "doc-net");	/* a plain address is a /32 */
	r = areq(SB__POL_CONNECT, &host2, SOCK_STREAM);
	EXPECT(p, &u, &r, 0, "default");
	r = areq(SB__POL_CONNECT, &other4, SOCK_STREAM);
	EXPECT(p, &u, &r, 0, "default");
	r = areq(SB__POL_CONNECT, &v6, SOCK_STREAM);
	EXPECT(p, &u, &r, 1, "v6-out");
	/* IPv4-mapped addresses are IPv4: the v4 deny applies ... */
	r = areq(SB__POL_CONNECT, &lan_mapped, SOCK_STREAM);
	EXPECT(p, &u, &r, 0, "no-lan");
	/* ... and ::/0 does not let them through to IPv4 ... */
	r = areq(SB__POL_CONNECT, &other_mapped, SOCK_STREAM);
	EXPECT(p, &u, &r, 0, "default");
	/* ... but a v4 CIDR allows them */
	r = areq(SB__POL_SENDTO, &doc_mapped, SOCK_DGRAM);
	EXPECT(p, &u, &r, 1, "doc-net");
	/* a mapped range written as IPv6 is the IPv4 range */
	r = areq(SB__POL_CONNECT, &other4, SOCK_STREAM);
	EXPECT(p, &u1, &r, 1, "mapped-written-v6");
	r = areq(SB__POL_CONNECT, &other_mapped, SOCK_STREAM);
	EXPECT(p, &u1, &r, 1, "mapped-written-v6");
	/* bind lists; destinations do not concern a bind (no-lan is skipped) */
	r = areq(SB__POL_BIND, &lo, SOCK_STREAM);
	EXPECT(p, &u, &r, 1, "loopback-only-binds");
	r = areq(SB__POL_BIND, &lo_mapped, SOCK_STREAM);
	EXPECT(p, &u, &r, 1, "loopback-only-binds");
	r = areq(SB__POL_BIND, &lo6, SOCK_STREAM);
	EXPECT(p, &u, &r, 1, "loopback-only-binds");
	r = areq(SB__POL_BIND, &lan, SOCK_STREAM);
	EXPECT(p, &u, &r, 0, "default");
	/* the wildcard bind is not loopback */
	r = areq(SB__POL_BIND, &any4, SOCK_STREAM);
	EXPECT(p, &u, &r, 0, "default");
	r = areq(SB__POL_BIND, &any6, SOCK_STREAM);
	EXPECT(p, &u, &r, 0, "default");
	/* a deny on destinations does not touch socket() */
	r = req(SB__POL_SOCKET, AF_INET, SOCK_STREAM);
	EXPECT(p, &u, &r, 0, "default");
	/* no address: refused whatever the rules */
	r = req(SB__POL_CONNECT, AF_INET, SOCK_STREAM);
	EXPECT(p, &u, &r, 0, "default");
	sb__policy_free(p);
}

/* connect/sendto to 0.0.0.0 or :: goes to loopback and is judged so. */
static void test_unspecified(void)
{
	struct sb__policy *p = pol(
		"- name: no-loopback\n"
		"  match: { any: true }\n"
		"  action: deny\n"
		"  destinations: [127.0.0.0/8, \"::1/128\"]\n"
		"- name: out\n"
		"  match: { any: true }\n"
		"  action: allow\n");
	struct sb__identity u = local(1000, 1, "");
	struct sb__addr any4 = ip("0.0.0.0", 22), any6 = ip("::", 22);
	struct sb__addr any_mapped = ip("::ffff:0.0.0.0", 22);
	struct sb__pol_req r;

	r = areq(SB__POL_CONNECT, &any4, SOCK_STREAM);
	EXPECT(p, &u, &r, 0, "no-loopback");
	r = areq(SB__POL_SENDTO, &any6, SOCK_DGRAM);
	EXPECT(p, &u, &r, 0, "no-loopback");
	r = areq(SB__POL_CONNECT, &any_mapped, SOCK_STREAM);
	EXPECT(p, &u, &r, 0, "no-loopback");
	/* binding the wildcard is not a loopback destination */
	any4.port = 2222;
	r = areq(SB__POL_BIND, &any4, SOCK_STREAM);
	EXPECT(p, &u, &r, 1, "out");
	sb__policy_free(p);
}

static void test_unix_addresses(void)
{
	struct sb__policy *p = pol(
		"- name: app-sockets\n"
		"  match: { any: true }\n"
		"  action: allow\n"
		"  destinations: [\"unix:/run/app/\", \"unix-abstract:app.\"]\n"
		"  bind: [\"unix:/tmp/mine\"]\n"
		"- name: ip-only\n"
		"  match: { uid: 1000 }\n"
		"  action: allow\n"
		"  destinations: [0.0.0.0/0]\n");
	struct sb__identity u = local(1000, 1, "");
	struct sb__addr in_dir = unix_addr("/run/app/x.sock", 0);
	struct sb__addr dir = unix_addr("/run/app", 0);
	struct sb__addr apple = unix_addr("/run/apple.sock", 0);
	struct sb__addr dotdot = unix_addr("/run/app/../../etc/x", 0);
	struct sb__addr dslash = unix_addr("/run/app//x", 0);
	struct sb__addr relative = unix_addr("run/app/x", 0);
	struct sb__addr abs_ok = unix_addr("app.bus", 1), abs_no = unix_addr("other", 1);
	struct sb__addr mine = unix_addr("/tmp/mine/s", 0), other = unix_addr("/tmp/s", 0);
	struct sb__pol_req r;

	r = areq(SB__POL_CONNECT, &in_dir, SOCK_STREAM);
	EXPECT(p, &u, &r, 1, "app-sockets");
	r = areq(SB__POL_CONNECT, &dir, SOCK_STREAM);
	EXPECT(p, &u, &r, 1, "app-sockets");
	r = areq(SB__POL_CONNECT, &apple, SOCK_STREAM);
	EXPECT(p, &u, &r, 0, "default");	/* and a CIDR list never matches Unix */
	r = areq(SB__POL_CONNECT, &dotdot, SOCK_STREAM);
	EXPECT(p, &u, &r, 0, "default");
	r = areq(SB__POL_CONNECT, &dslash, SOCK_STREAM);
	EXPECT(p, &u, &r, 0, "default");
	r = areq(SB__POL_SENDTO, &relative, SOCK_DGRAM);
	EXPECT(p, &u, &r, 0, "default");
	r = areq(SB__POL_SENDTO, &abs_ok, SOCK_DGRAM);
	EXPECT(p, &u, &r, 1, "app-sockets");
	r = areq(SB__POL_CONNECT, &abs_no, SOCK_STREAM);
	EXPECT(p, &u, &r, 0, "default");
	r = areq(SB__POL_BIND, &mine, SOCK_STREAM);
	EXPECT(p, &u, &r, 1, "app-sockets");
	r = areq(SB__POL_BIND, &other, SOCK_STREAM);
	EXPECT(p, &u, &r, 0, "default");
	sb__policy_free(p);
}

/* ---- named-only sockets and options ------------------------------------- */

static void test_named_only(void)
{
	struct sb__policy *p = pol(
		"- name: pinger\n"
		"  match: { uid: 1001 }\n"
		"  action: allow\n"
		"  families: [inet]\n"
		"  types: [raw]\n"
		"- name: sniffer\n"
		"  match: { uid: 1002 }\n"
		"  action: allow\n"
		"  families: [packet]\n"
		"  types: [raw, dgram]\n"
		"- name: vrf\n"
		"  match: { uid: 1003 }\n"
		"  action: allow\n"
		"  sockopts: [SO_BINDTODEVICE, ip_transparent]\n"
		"- name: nodelay-only\n"
		"  match: { uid: 1004 }\n"
		"  action: allow\n"
		"  sockopts: [TCP_NODELAY]\n"
		"- name: no-raw\n"
		"  match: { uid: 1005 }\n"
		"  action: deny\n"
		"  types: [raw]\n"
		"- name: crypto\n"
		"  match: { uid: 1006 }\n"
		"  action: allow\n"
		"  families: [alg, unix]\n"
		"- name: everything\n"
		"  match: { any: true }\n"
		"  action: allow\n");
	struct sb__identity u0 = local(1000, 1, ""), u1 = local(1001, 1, "");
	struct sb__identity u2 = local(1002, 1, ""), u3 = local(1003, 1, "");
	struct sb__identity u4 = local(1004, 1, ""), u5 = local(1005, 1, "");
	struct sb__identity u6 = local(1006, 1, "");
	struct sb__pol_req alg = req(SB__POL_SOCKET, AF_ALG, SOCK_SEQPACKET);
	struct sb__pol_req vsock = req(SB__POL_SOCKET, AF_VSOCK, SOCK_STREAM);
	struct sb__pol_req ux = req(SB__POL_SOCKET, AF_UNIX, SOCK_STREAM);
	struct sb__pol_req raw = req(SB__POL_SOCKET, AF_INET, SOCK_RAW);
	struct sb__pol_req raw6 = req(SB__POL_SOCKET, AF_INET6, SOCK_RAW);
	struct sb__pol_req pkt = req(SB__POL_SOCKET, AF_PACKET, SOCK_DGRAM);
	struct sb__pol_req nl = req(SB__POL_SOCKET, AF_NETLINK, SOCK_RAW);
	struct sb__pol_req tcp = req(SB__POL_SOCKET, AF_INET, SOCK_STREAM);
	struct sb__pol_req bindtodev = optreq(AF_INET, SOL_SOCKET, SO_BINDTODEVICE);
	struct sb__pol_req transparent = optreq(AF_INET, IPPROTO_IP, IP_TRANSPARENT);
	struct sb__pol_req freebind = optreq(AF_INET, IPPROTO_IP, IP_FREEBIND);
	struct sb__pol_req mark = optreq(AF_INET, SOL_SOCKET, SO_MARK);
	struct sb__pol_req nodelay = optreq(AF_INET, IPPROTO_TCP, TCP_NODELAY);
	struct sb__pol_req reuse = optreq(AF_INET, SOL_SOCKET, SO_REUSEADDR);
	struct sb__pol_decision d;

	/* raw: only a rule naming the type; "everything" does not count */
	EXPECT(p, &u0, &raw, 0, "default");
	sb__policy_check(p, &u0, &raw, &d);
	CHECK(strstr(d.why, "raw") != NULL);
	EXPECT(p, &u1, &raw, 1, "pinger");
	EXPECT(p, &u1, &raw6, 0, "default");	/* pinger names inet only */
	EXPECT(p, &u1, &tcp, 1, "everything");	/* pinger's types do not match */
	/* packet: the family must be named too */
	EXPECT(p, &u0, &pkt, 0, "default");
	EXPECT(p, &u2, &pkt, 1, "sniffer");
	EXPECT(p, &u1, &nl, 0, "default");	/* netlink: named by nobody */
	/* every family but unix, inet and inet6 must be named */
	EXPECT(p, &u0, &alg, 0, "default");
	sb__policy_check(p, &u0, &alg, &d);
	CHECK(strstr(d.why, "families other than unix, inet, inet6") != NULL);
	EXPECT(p, &u0, &vsock, 0, "default");
	EXPECT(p, &u0, &ux, 1, "everything");
	EXPECT(p, &u6, &alg, 1, "crypto");
	EXPECT(p, &u6, &vsock, 0, "default");
	EXPECT(p, &u6, &ux, 1, "crypto");
	/* a deny rule needs no naming */
	EXPECT(p, &u5, &raw, 0, "no-raw");
	EXPECT(p, &u5, &tcp, 1, "everything");
	/* sensitive options: only a rule naming them */
	EXPECT(p, &u0, &bindtodev, 0, "default");
	sb__policy_check(p, &u0, &bindtodev, &d);
	CHECK(strstr(d.why, "sockopts") != NULL);
	EXPECT(p, &u0, &transparent, 0, "default");
	EXPECT(p, &u0, &freebind, 0, "default");
	EXPECT(p, &u0, &mark, 0, "default");
	EXPECT(p, &u0, &nodelay, 1, "everything");
	EXPECT(p, &u3, &bindtodev, 1, "vrf");
	EXPECT(p, &u3, &transparent, 1, "vrf");	/* names are case-insensitive */
	EXPECT(p, &u3, &freebind, 0, "default");
	EXPECT(p, &u3, &nodelay, 1, "everything");	/* vrf's list does not match */
	/* a sockopts list: the rule applies only to options in it */
	EXPECT(p, &u4, &nodelay, 1, "nodelay-only");
	EXPECT(p, &u4, &reuse, 1, "everything");
	EXPECT(p, &u4, &tcp, 1, "everything");	/* sockopts implies setsockopt only */
	sb__policy_free(p);
}

/* Value-dependent options and low ports (policy.h rule 6 b, c). */
static void test_named_values(void)
{
	struct sb__policy *p = pol(
		"- name: prio\n"
		"  match: { uid: 1001 }\n"
		"  action: allow\n"
		"  sockopts: [SO_PRIORITY, SO_BUSY_POLL]\n"
		"- name: web\n"
		"  match: { uid: 1002 }\n"
		"  action: allow\n"
		"  bind: [0.0.0.0/0]\n"
		"  ports: [80, 8080]\n"
		"- name: everything\n"
		"  match: { any: true }\n"
		"  action: allow\n");
	struct sb__identity u0 = local(1000, 1, ""), u1 = local(1001, 1, "");
	struct sb__identity u2 = local(1002, 1, "");
	struct sb__pol_req r = optreq(AF_INET, SOL_SOCKET, SO_PRIORITY);
	struct sb__addr a80 = ip("0.0.0.0", 80), a8080 = ip("0.0.0.0", 8080);
	struct sb__addr a0 = ip("0.0.0.0", 0), a1023 = ip("127.0.0.1", 1023);
	int v = 6, mc = 0;
	uint8_t mreqn[12] = { 0 };

	r.opt_val = &v;
	r.opt_len = sizeof(v);
	EXPECT(p, &u0, &r, 1, "everything");	/* 0..6: unprivileged */
	v = 7;
	EXPECT(p, &u0, &r, 0, "default");
	v = -1;
	EXPECT(p, &u0, &r, 0, "default");
	EXPECT(p, &u1, &r, 1, "prio");
	r.opt_val = NULL;			/* no value: fail closed */
	EXPECT(p, &u0, &r, 0, "default");
	/* raising SO_BUSY_POLL above the current value */
	r = optreq(AF_INET, SOL_SOCKET, SO_BUSY_POLL);
	r.opt_val = &v;
	r.opt_len = sizeof(v);
	r.opt_cur = 50;
	v = 50;
	EXPECT(p, &u0, &r, 1, "everything");
	v = 51;
	EXPECT(p, &u0, &r, 0, "default");
	EXPECT(p, &u1, &r, 1, "prio");
	/* a multicast interface: zero resets, anything else picks a device */
	r = optreq(AF_INET, IPPROTO_IPV6, IPV6_MULTICAST_IF);
	r.opt_val = &mc;
	r.opt_len = sizeof(mc);
	EXPECT(p, &u0, &r, 1, "everything");
	mc = 1;
	EXPECT(p, &u0, &r, 0, "default");
	r = optreq(AF_INET, IPPROTO_IP, IP_MULTICAST_IF);
	r.opt_val = mreqn;
	r.opt_len = sizeof(mreqn);
	EXPECT(p, &u0, &r, 1, "everything");
	mreqn[8] = 1;				/* imr_ifindex */
	EXPECT(p, &u0, &r, 0, "default");
	/* no value at all (found by fuzz_policy): fail closed here too */
	r = optreq(AF_INET, IPPROTO_IP, IP_UNICAST_IF);
	EXPECT(p, &u0, &r, 0, "default");
	/* ports below ip_unprivileged_port_start: a ports list must name them */
	r = areq(SB__POL_BIND, &a80, SOCK_STREAM);
	EXPECT(p, &u0, &r, 0, "default");
	EXPECT(p, &u2, &r, 1, "web");
	r.port_start = 80;			/* the sysctl lowered: 80 is free */
	EXPECT(p, &u0, &r, 1, "everything");
	r = areq(SB__POL_BIND, &a1023, SOCK_DGRAM);
	EXPECT(p, &u2, &r, 0, "default");	/* web's list lacks 1023 */
	r = areq(SB__POL_BIND, &a8080, SOCK_STREAM);
	EXPECT(p, &u0, &r, 1, "everything");
	r = areq(SB__POL_BIND, &a0, SOCK_STREAM);
	EXPECT(p, &u0, &r, 1, "everything");	/* port 0: the kernel picks */
	sb__policy_free(p);
}

/* ---- the embedded default ------------------------------------------------ */

static void test_default(void)
{
	struct sb__policy *p = sb__policy_default(1000);
	struct sb__identity owner = local(1000, 1000, ""), root = local(0, 0, "");
	struct sb__identity other = local(1001, 1000, ""), tcp = local(1000, 1000, "");
	struct sb__addr anywhere = ip("203.0.113.1", 443), b = ip("0.0.0.0", 0);
	struct sb__pol_req conn = areq(SB__POL_CONNECT, &anywhere, SOCK_STREAM);
	struct sb__pol_req bind = areq(SB__POL_BIND, &b, SOCK_DGRAM);
	struct sb__pol_req raw = req(SB__POL_SOCKET, AF_INET, SOCK_RAW);
	struct sb__pol_req dev = optreq(AF_INET, SOL_SOCKET, SO_BINDTODEVICE);
	struct sb__pol_req nodelay = optreq(AF_INET, IPPROTO_TCP, TCP_NODELAY);
	struct sb__pol_req resolve = req(SB__POL_RESOLVE, 0, 0);
	struct sb__pol_req fdpass = req(SB__POL_HANDOFF, AF_INET, SOCK_STREAM);
	struct sb__pol_decision d;

	CHECK(p != NULL);
	if (!p)
		return;
	snprintf(tcp.transport, sizeof(tcp.transport), "tcp");
	EXPECT(p, &owner, &conn, 1, "owner");
	EXPECT(p, &owner, &bind, 1, "owner");
	EXPECT(p, &owner, &resolve, 1, "owner");
	EXPECT(p, &owner, &fdpass, 1, "owner");
	EXPECT(p, &owner, &nodelay, 1, "owner");
	EXPECT(p, &root, &conn, 1, "owner");
	EXPECT(p, &other, &conn, 0, "default");
	EXPECT(p, &tcp, &conn, 0, "default");
	EXPECT(p, &owner, &raw, 0, "default");
	EXPECT(p, &owner, &dev, 0, "default");
	CHECK(sb__policy_serves(p, &owner));
	CHECK(sb__policy_serves(p, &root));
	CHECK(!sb__policy_serves(p, &other));

	/* references */
	CHECK(sb__policy_ref(p) == p);
	sb__policy_free(p);
	EXPECT(p, &owner, &conn, 1, "owner");	/* still held once */
	sb__policy_free(p);

	/* fail closed */
	CHECK(sb__policy_check(NULL, &owner, &conn, &d) == 0);
	CHECK(!strcmp(d.rule, "default"));
	CHECK(!sb__policy_serves(NULL, &owner));
	sb__policy_free(NULL);

	/* root's own default has one uid */
	p = sb__policy_default(0);
	EXPECT(p, &root, &conn, 1, "owner");
	EXPECT(p, &owner, &conn, 0, "default");
	sb__policy_free(p);
}

/* ---- a whole file through sb__config_load() ------------------------------ */

static int write_file(char *path, size_t len, const char *text)
{
	const char *tmp = getenv("TMPDIR");
	FILE *f;
	int fd;

	snprintf(path, len, "%s/sb-test-policy-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -1;
	}
	fputs(text, f);
	return fclose(f);
}

static void test_config_file(void)
{
	char path[256], cert[256], err[512] = "", text[2048];
	struct sb__config cfg;
	struct sb__policy *before;
	struct sb__identity u = local(1000, 1, ""), owner = local(geteuid(), 1, "");
	struct sb__pol_req resolve = req(SB__POL_RESOLVE, 0, 0);
	int ret;

	/* the defaults */
	sb__config_default(&cfg);
	CHECK(cfg.policy != NULL);
	CHECK(cfg.limits.max_sockets_per_uid > 0 && cfg.limits.max_pending_accepts > 0 &&
	      cfg.limits.max_stream_bytes > 0);
	EXPECT(cfg.policy, &owner, &resolve, 1, "owner");

	CHECK(write_file(cert, sizeof(cert), "not really a certificate\n") == 0);
	snprintf(text, sizeof(text),
		 "listen:\n"
		 "  - unix: /tmp/sb-test.sock\n"
		 "    mode: 0660\n"
		 "    owner: root\n"
		 "    group: 0\n"
		 "  - abstract: sb-test\n"
		 "  - tcp: \"127.0.0.1:7000\"\n"
		 "    insecure: true\n"
		 "  - tcp: \"[::]:7443\"\n"
		 "    tls: { cert: %s, key: %s, client_ca: %s }\n"
		 "limits:\n"
		 "  max_sockets_per_uid: 100\n"
		 "  max_pending_accepts: 7\n"
		 "  max_stream_bytes: 65536\n"
		 "log_level: debug\n"
		 "policy:\n"
		 "  - name: users\n"
		 "    match: { uid: 1000 }\n"
		 "    action: allow\n"
		 "    ops: [resolve]\n",
		 cert, cert, cert);
	CHECK(write_file(path, sizeof(path), text) == 0);
	before = cfg.policy;
	ret = sb__config_load(&cfg, path, err, sizeof(err));
	if (ret < 0)
		fprintf(stderr, "config_load: %s\n", err);
	CHECK(ret == 0);
	CHECK(cfg.policy != NULL && cfg.policy != before);
	CHECK(cfg.n_listen == 2 && cfg.n_tcp_listen == 2);
	CHECK(!strcmp(cfg.listen[0].path, "/tmp/sb-test.sock") && cfg.listen[0].mode == 0660);
	CHECK(cfg.listen[0].has_owner && cfg.listen[0].owner == 0);
	CHECK(cfg.listen[0].has_group && cfg.listen[0].group == 0);
	CHECK(cfg.listen[1].abstract && !cfg.listen[1].has_owner);
	CHECK(cfg.tcp_listen[0].insecure && cfg.tcp_listen[0].addr.kind == SB__ADDR_INET &&
	      cfg.tcp_listen[0].addr.port == 7000);
	CHECK(!cfg.tcp_listen[1].insecure && cfg.tcp_listen[1].addr.kind == SB__ADDR_INET6 &&
	      cfg.tcp_listen[1].addr.port == 7443 && !strcmp(cfg.tcp_listen[1].cert, cert));
	CHECK(cfg.limits.max_sockets_per_uid == 100 && cfg.limits.max_pending_accepts == 7 &&
	      cfg.limits.max_stream_bytes == 65536);
	CHECK(cfg.limits.max_sessions == 1024);	/* untouched default */
	CHECK(cfg.log_level == 3);
	EXPECT(cfg.policy, &u, &resolve, 1, "users");
	unlink(path);

	/* a bad file changes nothing: same policy, same listeners */
	CHECK(write_file(path, sizeof(path),
			 "limits:\n"
			 "  max_sessions: 5\n"
			 "policy:\n"
			 "  - name: a\n"
			 "    match: { any: true }\n"
			 "    action: allow\n"
			 "    ports: [\"70000\"]\n") == 0);
	before = cfg.policy;
	err[0] = 0;
	CHECK(sb__config_load(&cfg, path, err, sizeof(err)) == -EINVAL);
	CHECK(!strcmp(err, "line 7: policy[0].ports: bad port range \"70000\" "
		      "(expected a port 0-65535 or LOW-HIGH)"));
	CHECK(cfg.policy == before && cfg.limits.max_sessions == 1024 && cfg.n_listen == 2);
	unlink(path);

	/* a file without policy or listen keeps the loaded ones */
	CHECK(write_file(path, sizeof(path), "limits: { max_sessions: 9 }\n") == 0);
	CHECK(sb__config_load(&cfg, path, err, sizeof(err)) == 0);
	CHECK(cfg.policy == before && cfg.limits.max_sessions == 9 && cfg.n_listen == 2 &&
	      cfg.n_tcp_listen == 2);
	unlink(path);
	unlink(cert);
	sb__config_free(&cfg);
	CHECK(cfg.policy == NULL);
	sb__config_free(&cfg);	/* twice is harmless */
}

/* The shipped example file loads, and so does its commented-out policy. */
static void test_deploy_example(void)
{
	char path[256], err[512] = "", line[256], *text;
	size_t len = 0, cap = 1 << 16;
	struct sb__config cfg;
	struct sb__identity any = local(4242, 4242, "/user.slice");
	struct sb__identity fetcher = local(998, 998, "/system.slice/fetcher.service");
	struct sb__identity ci = local(0, 0, "");
	struct sb__addr meta = ip("169.254.169.254", 80), web = ip("192.0.2.1", 443);
	struct sb__addr ssh = ip("192.0.2.1", 22);
	struct sb__pol_req r;
	int in_policy = 0;
	FILE *f;

	sb__config_default(&cfg);
	CHECK(sb__config_load(&cfg, SB_SOURCE_DIR "/deploy/sockbrokerd.yaml", err,
			      sizeof(err)) == 0);
	sb__config_free(&cfg);

	f = fopen(SB_SOURCE_DIR "/deploy/sockbrokerd.yaml", "re");
	text = malloc(cap);
	CHECK(f && text);
	if (!f || !text) {
		free(text);
		if (f)
			fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		if (!strcmp(line, "# policy:\n"))
			in_policy = 1;
		if (in_policy && line[0] == '#')
			len += (size_t)snprintf(text + len, cap - len, "%s",
						line + (line[1] == ' ' ? 2 : 1));
	}
	fclose(f);
	CHECK(in_policy && len > 100 && len < cap);
	CHECK(write_file(path, sizeof(path), text) == 0);
	free(text);
	sb__config_default(&cfg);
	if (sb__config_load(&cfg, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "the example policy is refused: %s\n", err);
		failures++;
	}
	unlink(path);
	snprintf(ci.transport, sizeof(ci.transport), "tcp");
	snprintf(ci.subject, sizeof(ci.subject), "CN=ci-runner,O=Example");
	r = areq(SB__POL_CONNECT, &meta, SOCK_STREAM);
	EXPECT(cfg.policy, &fetcher, &r, 0, "no-metadata");
	r = areq(SB__POL_CONNECT, &web, SOCK_STREAM);
	EXPECT(cfg.policy, &fetcher, &r, 1, "web-client");
	EXPECT(cfg.policy, &any, &r, 0, "default");
	r = areq(SB__POL_CONNECT, &ssh, SOCK_STREAM);
	EXPECT(cfg.policy, &fetcher, &r, 0, "default");
	r = req(SB__POL_RESOLVE, 0, 0);
	EXPECT(cfg.policy, &ci, &r, 1, "remote-ci");
	sb__config_free(&cfg);
}

/* sb__policy_needs(): the capabilities an allow rule can make the broker
 * use, and none for deny rules or what the kernel checks nothing for. */
static unsigned needs(const char *yaml, int port_start)
{
	struct sb__policy *p = pol(yaml);
	struct sb__pol_needs n;

	sb__policy_needs(p, port_start, &n);
	sb__policy_free(p);
	return n.caps;
}

static void test_needs(void)
{
	struct sb__pol_needs n;
	struct sb__policy *p;

	/* Everything for everyone: Unix addresses too, made with the
	 * caller's ids (ascaller.h). */
	CHECK(needs("- name: all\n  match: { any: true }\n  action: allow\n", 1024) ==
	      SB__NEED_AS_CALLER);
	CHECK(needs("- name: root\n  match: { uid: 0 }\n  action: allow\n", 1024) == 0);
	CHECK(needs("- name: u\n  match: { uid: [0, 1000] }\n  action: allow\n"
		    "  destinations: [\"unix:/run/app\"]\n", 1024) == SB__NEED_AS_CALLER);
	CHECK(needs("- name: u\n  match: { gid: 100 }\n  action: allow\n"
		    "  ops: [bind]\n  bind: [\"unix:/run/app\"]\n", 1024) == SB__NEED_AS_CALLER);
	CHECK(needs("- name: u\n  match: { uid: 1000 }\n  action: allow\n"
		    "  destinations: [10.0.0.0/8]\n  bind: [10.0.0.0/8]\n", 1024) == 0);
	CHECK(needs("- name: u\n  match: { uid: 1000 }\n  action: allow\n"
		    "  families: [inet, inet6]\n", 1024) == 0);
	CHECK(needs("- name: u\n  match: { uid: 1000 }\n  action: allow\n"
		    "  ports: [8080]\n", 1024) == 0);
	CHECK(needs("- name: u\n  match: { uid: 1000 }\n  action: allow\n"
		    "  ops: [socket, resolve, listen]\n", 1024) == 0);
	CHECK(needs("- name: tls\n  match: { subject: \"CN=x\" }\n  action: allow\n", 1024) == 0);
	/* Low ports: for bind only, below the start the kernel uses. */
	CHECK(needs("- name: web\n  match: { uid: 0 }\n  action: allow\n"
		    "  ops: [bind]\n  ports: [80]\n", 1024) == SB__NEED_NET_BIND_SERVICE);
	CHECK(needs("- name: web\n  match: { uid: 0 }\n  action: allow\n"
		    "  ports: [1000-2000]\n", 1024) == SB__NEED_NET_BIND_SERVICE);
	CHECK(needs("- name: web\n  match: { uid: 0 }\n  action: allow\n"
		    "  ops: [bind]\n  ports: [1024-2000]\n", 1024) == 0);
	CHECK(needs("- name: web\n  match: { uid: 0 }\n  action: allow\n"
		    "  ops: [bind]\n  ports: [80]\n", 80) == 0);
	CHECK(needs("- name: web\n  match: { uid: 0 }\n  action: allow\n"
		    "  ops: [bind]\n  ports: [0]\n", 1024) == 0);
	CHECK(needs("- name: out\n  match: { uid: 0 }\n  action: allow\n"
		    "  destinations: [0.0.0.0/0]\n  ports: [22]\n", 1024) == 0);
	/* Raw and packet sockets; netlink. */
	CHECK(needs("- name: ping\n  match: { uid: 0 }\n  action: allow\n"
		    "  types: [raw]\n", 1024) == SB__NEED_NET_RAW);
	CHECK(needs("- name: sniff\n  match: { uid: 0 }\n  action: allow\n"
		    "  families: [packet]\n", 1024) == SB__NEED_NET_RAW);
	CHECK(needs("- name: nl\n  match: { uid: 0 }\n  action: allow\n"
		    "  families: [netlink]\n", 1024) == SB__NEED_NET_ADMIN);
	/* Options: the kernel's capability, or none. */
	CHECK(needs("- name: m\n  match: { uid: 0 }\n  action: allow\n"
		    "  sockopts: [SO_MARK]\n", 1024) == SB__NEED_NET_ADMIN);
	CHECK(needs("- name: d\n  match: { uid: 0 }\n  action: allow\n"
		    "  sockopts: [SO_BINDTODEVICE]\n", 1024) == SB__NEED_NET_RAW);
	CHECK(needs("- name: r\n  match: { uid: 0 }\n  action: allow\n"
		    "  sockopts: [SO_REUSEPORT, IP_FREEBIND, TCP_NODELAY]\n", 1024) == 0);
	/* Deny rules lend nothing. */
	CHECK(needs("- name: no\n  match: { any: true }\n  action: deny\n"
		    "  types: [raw]\n  sockopts: [SO_MARK]\n", 1024) == 0);
	/* The first rule that needs a capability is the one named. */
	p = pol("- name: a\n  match: { uid: 0 }\n  action: allow\n  types: [raw]\n"
		"- name: b\n  match: { uid: 1 }\n  action: allow\n  types: [raw]\n");
	sb__policy_needs(p, 1024, &n);
	CHECK(n.caps == (SB__NEED_NET_RAW | SB__NEED_AS_CALLER) &&
	      !strcmp(n.why[SB__NEED_BIT_NET_RAW], "rule \"a\" names raw sockets") &&
	      !strncmp(n.why[SB__NEED_BIT_AS_CALLER], "rule \"b\" names Unix", 19));
	sb__policy_free(p);
	sb__policy_needs(NULL, 1024, &n);
	CHECK(n.caps == 0 && n.families == 0);
	/* The families beyond unix, inet and inet6 that allow rules name,
	 * for the broker's system call filter. */
	p = pol("- name: a\n  match: { uid: 0 }\n  action: allow\n"
		"  families: [alg, vsock, inet, unix]\n"
		"- name: d\n  match: { uid: 0 }\n  action: deny\n  families: [bluetooth]\n");
	sb__policy_needs(p, 1024, &n);
	CHECK(n.families == ((1ull << AF_ALG) | (1ull << AF_VSOCK)));
	sb__policy_free(p);
}

int main(void)
{
	test_identities();
	test_order();
	test_ops();
	test_ports();
	test_cidr();
	test_unspecified();
	test_unix_addresses();
	test_named_only();
	test_named_values();
	test_default();
	test_config_file();
	test_deploy_example();
	test_needs();
	if (failures) {
		fprintf(stderr, "test_policy: %d failure(s)\n", failures);
		return 1;
	}
	printf("test_policy: all passed\n");
	return 0;
}
