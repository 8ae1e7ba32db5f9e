/* SPDX-License-Identifier: MIT
 * cmd_names.c - the commands about names and interfaces: ifaddrs, resolve,
 * nameinfo, hostname and service.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <pb_decode.h>

#include "rawcall.h"
#include "sbctl.h"
#include "sockbroker/v1/sockbroker.pb.h"

/* ---- interface flags ---- */

/* <net/if.h> stops at IFF_DYNAMIC; these three are <linux/if.h>'s. */
#define SBCTL_IFF_LOWER_UP 0x10000u
#define SBCTL_IFF_DORMANT 0x20000u
#define SBCTL_IFF_ECHO 0x40000u

static const struct {
	unsigned int bit;
	const char *name;
} sbctl_iff[] = {
	{ IFF_UP, "UP" },
	{ IFF_BROADCAST, "BROADCAST" },
	{ IFF_DEBUG, "DEBUG" },
	{ IFF_LOOPBACK, "LOOPBACK" },
	{ IFF_POINTOPOINT, "POINTOPOINT" },
	{ IFF_NOTRAILERS, "NOTRAILERS" },
	{ IFF_RUNNING, "RUNNING" },
	{ IFF_NOARP, "NOARP" },
	{ IFF_PROMISC, "PROMISC" },
	{ IFF_ALLMULTI, "ALLMULTI" },
	{ IFF_MASTER, "MASTER" },
	{ IFF_SLAVE, "SLAVE" },
	{ IFF_MULTICAST, "MULTICAST" },
	{ IFF_PORTSEL, "PORTSEL" },
	{ IFF_AUTOMEDIA, "AUTOMEDIA" },
	{ IFF_DYNAMIC, "DYNAMIC" },
	{ SBCTL_IFF_LOWER_UP, "LOWER_UP" },
	{ SBCTL_IFF_DORMANT, "DORMANT" },
	{ SBCTL_IFF_ECHO, "ECHO" },
};

void sbctl_if_flags(unsigned int flags, void (*fn)(const char *name, void *arg), void *arg)
{
	size_t i;

	for (i = 0; i < sizeof(sbctl_iff) / sizeof(*sbctl_iff); i++)
		if (flags & sbctl_iff[i].bit)
			fn(sbctl_iff[i].name, arg);
}

static void sbctl_json_flag(const char *name, void *arg)
{
	sbctl_json_str(arg, NULL, name);
}

/* The members of one row, as `ifaddrs --json` and `watch --json` give it. */
void sbctl_json_ifaddr(struct sbctl_json *j, const struct ifaddrs *ifa)
{
	const struct sockaddr *sa = ifa->ifa_addr;
	const char *fam = sa ? sbctl_family_name(sa->sa_family) : NULL;
	char buf[INET6_ADDRSTRLEN + 32];
	int plen;

	sbctl_json_str(j, "name", ifa->ifa_name);
	sbctl_json_unum(j, "ifindex", sb_getifaddr_index(ifa));
	if (fam || !sa)
		sbctl_json_str(j, "family", fam);
	else
		sbctl_json_num(j, "family", sa->sa_family);
	sbctl_json_str(j, "addr", sbctl_ntop(sa, buf, sizeof(buf)));
	if (sa && sa->sa_family == AF_INET6 &&
	    ((const struct sockaddr_in6 *)(const void *)sa)->sin6_scope_id)
		sbctl_json_unum(j, "scope_id",
				((const struct sockaddr_in6 *)(const void *)sa)->sin6_scope_id);
	if (ifa->ifa_netmask && (!sa || sa->sa_family != AF_PACKET)) {
		sbctl_json_str(j, "netmask", sbctl_ntop(ifa->ifa_netmask, buf, sizeof(buf)));
		plen = sbctl_prefixlen(ifa->ifa_netmask);
		if (plen >= 0)
			sbctl_json_num(j, "prefixlen", plen);
	}
	if ((ifa->ifa_flags & IFF_POINTOPOINT) && ifa->ifa_dstaddr)
		sbctl_json_str(j, "dstaddr", sbctl_ntop(ifa->ifa_dstaddr, buf, sizeof(buf)));
	else if ((ifa->ifa_flags & IFF_BROADCAST) && ifa->ifa_broadaddr)
		sbctl_json_str(j, "broadaddr", sbctl_ntop(ifa->ifa_broadaddr, buf, sizeof(buf)));
	sbctl_json_begin_arr(j, "flags");
	sbctl_if_flags(ifa->ifa_flags, sbctl_json_flag, j);
	sbctl_json_end_arr(j);
	sbctl_json_unum(j, "mtu", sb_getifaddr_mtu(ifa));
}

/* ip's operstate, guessed from the flags (the kernel's operstate is not
 * part of getifaddrs): loopbacks say UNKNOWN, as their driver does. */
static const char *sbctl_if_state(unsigned int flags)
{
	if (!(flags & IFF_UP))
		return "DOWN";
	if (flags & SBCTL_IFF_DORMANT)
		return "DORMANT";
	if (flags & IFF_LOOPBACK)
		return "UNKNOWN";
	if (flags & (SBCTL_IFF_LOWER_UP | IFF_RUNNING))
		return "UP";
	return "DOWN";
}

static int sbctl_seen(struct ifaddrs *head, struct ifaddrs *upto, const char *name)
{
	for (; head && head != upto; head = head->ifa_next)
		if (!strcmp(head->ifa_name, name))
			return 1;
	return 0;
}

/* One line per interface, in the order of their first rows, as
 * `ip -brief addr`: "%-16s %-14s " then "ADDR/PREFIX " per address. */
static void sbctl_ifaddrs_text(struct ifaddrs *list)
{
	struct ifaddrs *a, *b;
	char buf[INET6_ADDRSTRLEN];

	for (a = list; a; a = a->ifa_next) {
		unsigned int flags = a->ifa_flags;
		int fam;

		if (sbctl_seen(list, a, a->ifa_name))
			continue;
		/* The link row, when there is one, has the link's flags. */
		for (b = a; b; b = b->ifa_next)
			if (!strcmp(b->ifa_name, a->ifa_name) && b->ifa_addr &&
			    b->ifa_addr->sa_family == AF_PACKET) {
				flags = b->ifa_flags;
				break;
			}
		printf("%-16s %-14s ", a->ifa_name, sbctl_if_state(flags));
		for (fam = 0; fam < 2; fam++) {
			int want = fam ? AF_INET6 : AF_INET;

			for (b = a; b; b = b->ifa_next) {
				if (strcmp(b->ifa_name, a->ifa_name) || !b->ifa_addr ||
				    b->ifa_addr->sa_family != want)
					continue;
				printf("%s/%d ", sbctl_ntop(b->ifa_addr, buf, sizeof(buf)),
				       sbctl_prefixlen(b->ifa_netmask) < 0 ? (fam ? 128 : 32)
				       : sbctl_prefixlen(b->ifa_netmask));
			}
		}
		printf("\n");
	}
}

int sbctl_cmd_ifaddrs(const struct sbctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = { SBCTL_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	struct ifaddrs *list = NULL, *a;
	struct sbctl_json j;
	sb_client *c;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, SBCTL_COMMON_SHORT, opts, NULL)) != -1)
		if ((rc = sbctl_common_opt(cmd, opt)) >= 0)
			return rc;
	if (optind < argc)
		return sbctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	c = sbctl_open();
	if (!c)
		return SBCTL_FAIL;
	if (sb_getifaddrs(c, &list) < 0) {
		rc = sbctl_fail(errno, "getifaddrs");
		sb_close_client(c);
		return rc;
	}
	if (sbctl.json) {
		sbctl_json_init(&j, stdout, 1);
		sbctl_json_begin_arr(&j, NULL);
		for (a = list; a; a = a->ifa_next) {
			sbctl_json_begin_obj(&j, NULL);
			sbctl_json_ifaddr(&j, a);
			sbctl_json_end_obj(&j);
		}
		sbctl_json_end_arr(&j);
		sbctl_json_done(&j);
	} else {
		sbctl_ifaddrs_text(list);
	}
	sb_freeifaddrs(list);
	sb_close_client(c);
	return SBCTL_OK;
}

/* ---- resolve ---- */

static const char *sbctl_socktype_name(int type, int upper)
{
	switch (type) {
	case SOCK_STREAM:
		return upper ? "STREAM" : "stream";
	case SOCK_DGRAM:
		return upper ? "DGRAM" : "dgram";
	case SOCK_RAW:
		return upper ? "RAW" : "raw";
	case SOCK_SEQPACKET:
		return upper ? "SEQPACKET" : "seqpacket";
	default:
		return NULL;
	}
}

static uint16_t sbctl_ai_port(const struct addrinfo *ai)
{
	if (ai->ai_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)(const void *)ai->ai_addr)->sin_port);
	if (ai->ai_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_port);
	return 0;
}

/* One row exactly as glibc's getent ahosts prints it (getent.c), with the
 * port after the address when a service was asked for. */
static void sbctl_ahosts_row(const struct addrinfo *ai, int with_port)
{
	char buf[INET6_ADDRSTRLEN], scope[16] = "", sock[20];
	const char *st = sbctl_socktype_name(ai->ai_socktype, 1);
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)ai->ai_addr;
	int pad;

	if (!st) {
		snprintf(sock, sizeof(sock), "%d", ai->ai_socktype);
		st = sock;
	}
	if (ai->ai_family == AF_INET6 && in6->sin6_scope_id)
		snprintf(scope, sizeof(scope), "%%%u", in6->sin6_scope_id);
	if (!sbctl_ntop(ai->ai_addr, buf, sizeof(buf)) ||
	    (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)) {
		strcpy(buf, "<invalid>");
		scope[0] = 0;
	}
	pad = 15 - (int)strlen(buf) - (int)strlen(scope);
	if (pad < 0)
		pad = 0;
	if (with_port)
		printf("%s%-*s %-5u %-6s %s\n", buf, pad, scope, sbctl_ai_port(ai), st,
		       ai->ai_canonname ? ai->ai_canonname : "");
	else
		printf("%s%-*s %-6s %s\n", buf, pad, scope, st,
		       ai->ai_canonname ? ai->ai_canonname : "");
}

int sbctl_cmd_resolve(const struct sbctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		SBCTL_COMMON_OPTIONS,
		{ "ipv4", no_argument, NULL, '4' },
		{ "ipv6", no_argument, NULL, '6' },
		{ "type", required_argument, NULL, 't' },
		{ "numeric", no_argument, NULL, 'n' },
		{ "passive", no_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	struct addrinfo hints, *res = NULL, *ai;
	const char *host, *service = NULL;
	struct sbctl_json j;
	sb_client *c;
	int opt, rc, eai;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	/* glibc getent ahosts: AI_V4MAPPED | AI_ADDRCONFIG | AI_CANONNAME and
	 * its IDN flags; ahostsv6 adds AI_V4MAPPED (already there). */
	hints.ai_flags = AI_V4MAPPED | AI_ADDRCONFIG | AI_CANONNAME;
#ifdef AI_IDN
	hints.ai_flags |= AI_IDN | AI_CANONIDN;
#endif
	while ((opt = getopt_long(argc, argv, SBCTL_COMMON_SHORT "46t:np", opts, NULL)) != -1) {
		switch (opt) {
		case '4':
			hints.ai_family = AF_INET;
			break;
		case '6':
			hints.ai_family = AF_INET6;
			break;
		case 't':
			if (!strcmp(optarg, "stream") || !strcmp(optarg, "tcp"))
				hints.ai_socktype = SOCK_STREAM;
			else if (!strcmp(optarg, "dgram") || !strcmp(optarg, "udp"))
				hints.ai_socktype = SOCK_DGRAM;
			else if (!strcmp(optarg, "raw"))
				hints.ai_socktype = SOCK_RAW;
			else
				return sbctl_usage_error(cmd, "--type is stream, dgram or raw, not '%s'",
							 optarg);
			break;
		case 'n':
			hints.ai_flags |= AI_NUMERICHOST;
			break;
		case 'p':
			hints.ai_flags |= AI_PASSIVE;
			break;
		default:
			if ((rc = sbctl_common_opt(cmd, opt)) >= 0)
				return rc;
		}
	}
	if (optind >= argc)
		return sbctl_usage_error(cmd, "HOST is missing");
	if (argc - optind > 2)
		return sbctl_usage_error(cmd, "unexpected argument '%s'", argv[optind + 2]);
	host = argv[optind];
	if (argc - optind > 1)
		service = argv[optind + 1];
	c = sbctl_open();
	if (!c)
		return SBCTL_FAIL;
	eai = sb_getaddrinfo(c, (hints.ai_flags & AI_PASSIVE) && !*host ? NULL : host,
			     service, &hints, &res);
	if (eai) {
		rc = service ? sbctl_fail_eai(eai, "resolve %s %s", host, service)
			     : sbctl_fail_eai(eai, "resolve %s", host);
		sb_close_client(c);
		return rc;
	}
	if (sbctl.json) {
		char buf[INET6_ADDRSTRLEN];
		const char *st;

		sbctl_json_init(&j, stdout, 1);
		sbctl_json_begin_arr(&j, NULL);
		for (ai = res; ai; ai = ai->ai_next) {
			sbctl_json_begin_obj(&j, NULL);
			sbctl_json_str(&j, "family", sbctl_family_name(ai->ai_family));
			st = sbctl_socktype_name(ai->ai_socktype, 0);
			if (st)
				sbctl_json_str(&j, "socktype", st);
			else
				sbctl_json_num(&j, "socktype", ai->ai_socktype);
			sbctl_json_num(&j, "protocol", ai->ai_protocol);
			sbctl_json_str(&j, "addr", sbctl_ntop(ai->ai_addr, buf, sizeof(buf)));
			if (ai->ai_family == AF_INET6 &&
			    ((const struct sockaddr_in6 *)(const void *)ai->ai_addr)->sin6_scope_id)
				sbctl_json_unum(&j, "scope_id",
						((const struct sockaddr_in6 *)(const void *)ai->ai_addr)
							->sin6_scope_id);
			sbctl_json_num(&j, "port", sbctl_ai_port(ai));
			sbctl_json_str(&j, "canonname", ai->ai_canonname);
			sbctl_json_end_obj(&j);
		}
		sbctl_json_end_arr(&j);
		sbctl_json_done(&j);
	} else {
		for (ai = res; ai; ai = ai->ai_next)
			sbctl_ahosts_row(ai, service != NULL);
	}
	sb_freeaddrinfo(res);
	sb_close_client(c);
	return SBCTL_OK;
}

/* ---- nameinfo ---- */

/* "1.2.3.4", "::1", "fe80::1%eth0" or "fe80::1%2" into @ss. Return: 0/-1. */
static int sbctl_parse_addr(const char *s, int port, struct sockaddr_storage *ss,
			    socklen_t *len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	char *pct;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		*len = sizeof(*in);
		return 0;
	}
	if (strlen(s) >= sizeof(host))
		return -1;
	strcpy(host, s);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	pct = strchr(host, '%');
	if (pct)
		*pct++ = 0;
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
		return -1;
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons((uint16_t)port);
	if (pct) {
		char *end;
		unsigned long idx = strtoul(pct, &end, 10);

		if (*pct && !*end)
			in6->sin6_scope_id = (uint32_t)idx;
		else if (!(in6->sin6_scope_id = if_nametoindex(pct)))
			return -1;
	}
	*len = sizeof(*in6);
	return 0;
}

int sbctl_cmd_nameinfo(const struct sbctl_cmd *cmd, int argc, char **argv)
{
	enum { OPT_NAMEREQD = SBCTL_OPT_FIRST_CMD, OPT_NOFQDN };
	static const struct option opts[] = {
		SBCTL_COMMON_OPTIONS,
		{ "numeric-host", no_argument, NULL, 'n' },
		{ "numeric-service", no_argument, NULL, 'N' },
		{ "dgram", no_argument, NULL, 'u' },
		{ "namereqd", no_argument, NULL, OPT_NAMEREQD },
		{ "nofqdn", no_argument, NULL, OPT_NOFQDN },
		{ NULL, 0, NULL, 0 },
	};
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	struct sockaddr_storage ss;
	struct sbctl_json j;
	socklen_t len;
	sb_client *c;
	int opt, rc, eai, flags = 0, port = 0, want_serv;

	while ((opt = getopt_long(argc, argv, SBCTL_COMMON_SHORT "nNu", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			flags |= NI_NUMERICHOST;
			break;
		case 'N':
			flags |= NI_NUMERICSERV;
			break;
		case 'u':
			flags |= NI_DGRAM;
			break;
		case OPT_NAMEREQD:
			flags |= NI_NAMEREQD;
			break;
		case OPT_NOFQDN:
			flags |= NI_NOFQDN;
			break;
		default:
			if ((rc = sbctl_common_opt(cmd, opt)) >= 0)
				return rc;
		}
	}
	if (optind >= argc)
		return sbctl_usage_error(cmd, "ADDR is missing");
	if (argc - optind > 2)
		return sbctl_usage_error(cmd, "unexpected argument '%s'", argv[optind + 2]);
	want_serv = argc - optind > 1;
	if (want_serv && (port = sbctl_parse_port(argv[optind + 1])) < 0)
		return sbctl_usage_error(cmd, "PORT must be 0..65535, not '%s'", argv[optind + 1]);
	if (sbctl_parse_addr(argv[optind], port, &ss, &len) < 0)
		return sbctl_usage_error(cmd, "'%s' is not an IPv4 or IPv6 address", argv[optind]);
	c = sbctl_open();
	if (!c)
		return SBCTL_FAIL;
	eai = sb_getnameinfo(c, (struct sockaddr *)&ss, len, host, sizeof(host),
			     want_serv ? serv : NULL, want_serv ? sizeof(serv) : 0, flags);
	if (eai) {
		rc = sbctl_fail_eai(eai, "nameinfo %s", argv[optind]);
		sb_close_client(c);
		return rc;
	}
	if (sbctl.json) {
		sbctl_json_init(&j, stdout, 1);
		sbctl_json_begin_obj(&j, NULL);
		sbctl_json_str(&j, "host", host);
		sbctl_json_str(&j, "service", want_serv ? serv : NULL);
		sbctl_json_end_obj(&j);
		sbctl_json_done(&j);
	} else if (want_serv) {
		printf("%s %s\n", host, serv);
	} else {
		printf("%s\n", host);
	}
	sb_close_client(c);
	return SBCTL_OK;
}

/* ---- hostname ---- */

int sbctl_cmd_hostname(const struct sbctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = { SBCTL_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	char name[256];
	struct sbctl_json j;
	sb_client *c;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, SBCTL_COMMON_SHORT, opts, NULL)) != -1)
		if ((rc = sbctl_common_opt(cmd, opt)) >= 0)
			return rc;
	if (optind < argc)
		return sbctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	c = sbctl_open();
	if (!c)
		return SBCTL_FAIL;
	if (sb_gethostname(c, name, sizeof(name)) < 0) {
		rc = sbctl_fail(errno, "gethostname");
		sb_close_client(c);
		return rc;
	}
	if (sbctl.json) {
		sbctl_json_init(&j, stdout, 1);
		sbctl_json_begin_obj(&j, NULL);
		sbctl_json_str(&j, "hostname", name);
		sbctl_json_end_obj(&j);
		sbctl_json_done(&j);
	} else {
		printf("%s\n", name);
	}
	sb_close_client(c);
	return SBCTL_OK;
}

/* ---- service ---- */

/* The aliases of a GetServReply, decoded into a list of strings. */
struct sbctl_aliases {
	char **v;
	size_t n;
	int oom;
};

static bool sbctl_dec_alias(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	struct sbctl_aliases *a = *arg;
	size_t n = s->bytes_left;
	char **v, *str;

	(void)f;
	str = malloc(n + 1);
	v = str ? realloc(a->v, (a->n + 1) * sizeof(*a->v)) : NULL;
	if (!v) {
		free(str);
		a->oom = 1;
		return false;
	}
	a->v = v;
	if (!pb_read(s, (pb_byte_t *)str, n)) {
		free(str);
		return false;
	}
	str[n] = 0;
	a->v[a->n++] = str;
	return true;
}

/*
 * libsockbroker's sb_getservbyname()/sb_getservbyport() give the port or
 * the name only; getent's line also has the protocol and the aliases, so
 * the GetServ* reply is read whole here (a raw call, like GetStats).
 */
int sbctl_cmd_service(const struct sbctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = { SBCTL_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	sockbroker_v1_GetServReply rep = sockbroker_v1_GetServReply_init_zero;
	struct sbctl_aliases al = { NULL, 0, 0 };
	struct sbctl_raw_status st;
	char key[256], *slash;
	const char *proto = NULL;
	struct sbctl_json j;
	size_t i;
	int opt, rc, port;

	while ((opt = getopt_long(argc, argv, SBCTL_COMMON_SHORT, opts, NULL)) != -1)
		if ((rc = sbctl_common_opt(cmd, opt)) >= 0)
			return rc;
	if (optind >= argc)
		return sbctl_usage_error(cmd, "NAME or PORT is missing");
	if (argc - optind > 2)
		return sbctl_usage_error(cmd, "unexpected argument '%s'", argv[optind + 2]);
	if (strlen(argv[optind]) >= sizeof(key))
		return sbctl_usage_error(cmd, "name too long");
	strcpy(key, argv[optind]);
	slash = strchr(key, '/');
	if (slash) {
		*slash = 0;
		proto = slash + 1;
	}
	if (argc - optind > 1) {
		if (proto)
			return sbctl_usage_error(cmd, "the protocol is given twice");
		proto = argv[optind + 1];
	}
	if (proto && strlen(proto) >= sizeof(((sockbroker_v1_GetServByPortRequest *)0)->proto))
		return sbctl_usage_error(cmd, "protocol name too long");
	if (!*key)
		return sbctl_usage_error(cmd, "NAME or PORT is empty");

	rep.aliases.funcs.decode = sbctl_dec_alias;
	rep.aliases.arg = &al;
	/* As getent: a key of digits is a port. */
	port = key[0] >= '0' && key[0] <= '9' ? sbctl_parse_port(key) : -1;
	if (port >= 0) {
		sockbroker_v1_GetServByPortRequest req = sockbroker_v1_GetServByPortRequest_init_zero;

		req.port = (uint32_t)port;
		if (proto)
			strcpy(req.proto, proto);
		rc = sbctl_raw_call(sbctl_target(), "/sockbroker.v1.SocketBroker/GetServByPort",
				    &sockbroker_v1_GetServByPortRequest_msg, &req,
				    &sockbroker_v1_GetServReply_msg, &rep, 10000, &st);
	} else {
		sockbroker_v1_GetServByNameRequest req = sockbroker_v1_GetServByNameRequest_init_zero;

		strcpy(req.name, key);
		if (proto)
			strcpy(req.proto, proto);
		rc = sbctl_raw_call(sbctl_target(), "/sockbroker.v1.SocketBroker/GetServByName",
				    &sockbroker_v1_GetServByNameRequest_msg, &req,
				    &sockbroker_v1_GetServReply_msg, &rep, 10000, &st);
	}
	if (rc < 0) {
		rc = sbctl_raw_fail("service", sbctl_target(), &st);
	} else if (!rep.found) {
		fprintf(stderr, "sbctl: service %s%s%s: no such service (ENOENT)\n", key,
			proto ? "/" : "", proto ? proto : "");
		rc = SBCTL_NOTFOUND;
	} else if (sbctl.json) {
		sbctl_json_init(&j, stdout, 1);
		sbctl_json_begin_obj(&j, NULL);
		sbctl_json_str(&j, "name", rep.name);
		sbctl_json_unum(&j, "port", rep.port);
		sbctl_json_str(&j, "proto", rep.proto);
		sbctl_json_begin_arr(&j, "aliases");
		for (i = 0; i < al.n; i++)
			sbctl_json_str(&j, NULL, al.v[i]);
		sbctl_json_end_arr(&j);
		sbctl_json_end_obj(&j);
		sbctl_json_done(&j);
		rc = SBCTL_OK;
	} else {
		/* getent.c print_services(). */
		printf("%-21s %u/%s", rep.name, rep.port, rep.proto);
		for (i = 0; i < al.n; i++)
			printf(" %s", al.v[i]);
		printf("\n");
		rc = SBCTL_OK;
	}
	for (i = 0; i < al.n; i++)
		free(al.v[i]);
	free(al.v);
	return rc;
}
