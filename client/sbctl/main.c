/* SPDX-License-Identifier: MIT
 * main.c - sbctl: the command-line client of sockbrokerd. Global options,
 * the command table with every command's help, and dispatch.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbctl.h"

struct sbctl_opts sbctl;

static int sbctl_cmd_help(const struct sbctl_cmd *cmd, int argc, char **argv);

static const struct sbctl_cmd sbctl_cmds[] = {
	{ "ifaddrs", sbctl_cmd_ifaddrs, "",
	  "the broker host's interfaces and addresses (like ip -brief addr)",
	  "One line per interface: its name, its state (UP, DOWN, UNKNOWN for a\n"
	  "loopback, DORMANT; derived from the interface flags) and its addresses\n"
	  "with their prefix length, IPv4 first, as `ip -brief addr` prints them.\n"
	  "\n"
	  "With --json: an array with one object per getifaddrs(3) row, in libc's\n"
	  "order (one \"packet\" row per link, then its IPv4 and IPv6 rows):\n"
	  "  name, ifindex, family (\"inet\", \"inet6\", \"packet\" or null), addr\n"
	  "  (for packet rows the MAC \"aa:bb:..\"), netmask and prefixlen (inet,\n"
	  "  inet6), scope_id (link-local inet6), broadaddr or dstaddr when present,\n"
	  "  flags (IFF_* names without the prefix, e.g. \"UP\", \"LOOPBACK\") and mtu.\n" },
	{ "resolve", sbctl_cmd_resolve, "HOST [SERVICE] [-4|-6] [--type stream|dgram|raw]",
	  "getaddrinfo(3) by the broker (like getent ahosts)",
	  "Resolves HOST with the broker's resolver and prints each result as\n"
	  "`getent ahosts` does: the address, its socket type (STREAM, DGRAM, RAW)\n"
	  "and the canonical name on the first line. With SERVICE, its port follows\n"
	  "the address. The hints are getent's: AI_V4MAPPED | AI_ADDRCONFIG |\n"
	  "AI_CANONNAME | AI_IDN | AI_CANONIDN.\n"
	  "\n"
	  "  -4, --ipv4            IPv4 only (as getent ahostsv4)\n"
	  "  -6, --ipv6            IPv6 only, IPv4 as mapped addresses (as getent\n"
	  "                        ahostsv6)\n"
	  "  -t, --type TYPE       stream, dgram or raw only\n"
	  "  -n, --numeric         HOST is a numeric address (AI_NUMERICHOST)\n"
	  "  -p, --passive         AI_PASSIVE: addresses to bind to (HOST may be \"\")\n"
	  "\n"
	  "With --json: an array of objects with family (\"inet\", \"inet6\"),\n"
	  "socktype (\"stream\", \"dgram\", \"raw\"), protocol (the IPPROTO_* number),\n"
	  "addr, port and canonname (null after the first row).\n"
	  "Exit status 2 when HOST or SERVICE is unknown (EAI_NONAME, EAI_SERVICE...).\n" },
	{ "nameinfo", sbctl_cmd_nameinfo, "ADDR [PORT] [-n] [-N] [-u] [--namereqd] [--nofqdn]",
	  "getnameinfo(3) by the broker: host and service of an address",
	  "Prints \"HOST SERVICE\" for the socket address ADDR (IPv4 or IPv6,\n"
	  "\"fe80::1%eth0\" for a scope) and PORT, or only HOST without PORT.\n"
	  "\n"
	  "  -n, --numeric-host    NI_NUMERICHOST\n"
	  "  -N, --numeric-service NI_NUMERICSERV\n"
	  "  -u, --dgram           NI_DGRAM: the service of PORT/udp\n"
	  "      --namereqd        NI_NAMEREQD: fail when the address has no name\n"
	  "      --nofqdn          NI_NOFQDN: only the host part of local names\n"
	  "\n"
	  "With --json: {\"host\": ..., \"service\": ...}.\n"
	  "Exit status 2 when the address has no name (EAI_NONAME).\n" },
	{ "hostname", sbctl_cmd_hostname, "",
	  "gethostname(2) of the broker host",
	  "Prints the broker host's name. With --json: {\"hostname\": ...}.\n" },
	{ "service", sbctl_cmd_service, "NAME|PORT[/PROTO] [tcp|udp]",
	  "a service's port, or a port's service (like getent services)",
	  "Looks a service up in the broker host's services database by name\n"
	  "(getservbyname) or by port number (getservbyport), for protocol\n"
	  "tcp, udp or any, and prints it as `getent services` does:\n"
	  "  http                  80/tcp www\n"
	  "\n"
	  "With --json: {\"name\", \"port\", \"proto\", \"aliases\": [...]}.\n"
	  "Exit status 2 when there is no such service.\n" },
	{ "connect", sbctl_cmd_connect,
	  "HOST PORT [-4|-6] [-u] [-s ADDR] [-p PORT] [-w SECS] [-q SECS]\n"
	  "       sbctl connect PATH|unix:PATH|@NAME [-w SECS] [-q SECS]",
	  "connect through the broker and relay stdin/stdout (like nc)",
	  "Connects in one Dial: the broker resolves HOST and PORT, tries the\n"
	  "addresses in Happy Eyeballs order under the policy, and the first to\n"
	  "connect wins. A Unix socket is an absolute PATH, unix:PATH, or @NAME\n"
	  "(abstract). Then relays bytes: stdin to the socket, the\n"
	  "socket to stdout (the Pipe stream). At the end of stdin the socket is\n"
	  "shut down for writing; sbctl exits when the socket's stream has ended\n"
	  "(and stdin was sent, see -q). Only data goes to stdout.\n"
	  "\n"
	  "  -4, -6                IPv4 or IPv6 addresses only\n"
	  "  -u, --udp             UDP: each line of stdin is sent as one datagram\n"
	  "                        (at most 65507 bytes); the datagrams that come\n"
	  "                        back are written to stdout. At the end of stdin,\n"
	  "                        sbctl waits until no datagram came for -w SECS.\n"
	  "  -s, --source ADDR     TCP: bind the local end to numeric ADDR first\n"
	  "  -p, --source-port PORT TCP: bind the local end to PORT first (below\n"
	  "                        1024 only with a rule naming the port)\n"
	  "  -w, --wait SECS       TCP: give up each attempt after SECS (ETIMEDOUT);\n"
	  "                        UDP: the wait after the end of stdin (default 1)\n"
	  "  -q, --quit-after SECS when the socket's stream ended before stdin did,\n"
	  "                        keep sending stdin at most SECS more, then exit\n"
	  "                        (default: until stdin ends; 0 when stdin is a\n"
	  "                        terminal)\n"
	  "  -v, --verbose         say on stderr what is happening\n"
	  "\n"
	  "Errors name the address and the errno, e.g.\n"
	  "  sbctl: connect 127.0.0.1:9: Connection refused (ECONNREFUSED)\n" },
	{ "listen", sbctl_cmd_listen, "[HOST] PORT [-4|-6] [-k]",
	  "accept a connection through the broker and relay it to stdin/stdout",
	  "Makes listening broker sockets on every address of HOST (default: all;\n"
	  "IPv6 sockets are IPV6_V6ONLY so both families coexist) at PORT (0: an\n"
	  "ephemeral port, the same for all), accepts one connection and relays it\n"
	  "as connect does. -v prints the bound addresses (\"sbctl: listening on\n"
	  "127.0.0.1:40123\") and each peer on stderr.\n"
	  "\n"
	  "  -4, -6                listen on 0.0.0.0 or :: only (without HOST)\n"
	  "  -k, --keep-open       after a connection ends, accept the next one\n"
	  "  -q, --quit-after SECS as for connect\n"
	  "  -v, --verbose         addresses and peers on stderr\n" },
	{ "stats", sbctl_cmd_stats, "[--prometheus]",
	  "the broker's counters (GetStats)",
	  "Prints the broker's counters as \"key: value\" lines, then one line per\n"
	  "identity (\"identity uid:0: sessions_open=1 ...\"). With --json: one\n"
	  "object with the same keys and an \"identities\" array.\n"
	  "\n"
	  "  -P, --prometheus      the Prometheus text format (sockbroker_* metrics,\n"
	  "                        per identity labelled identity=\"...\"), for a\n"
	  "                        node exporter's textfile collector or a scraper\n" },
	{ "health", sbctl_cmd_health, "[SERVICE]",
	  "the standard gRPC health check (grpc.health.v1.Health/Check)",
	  "Asks the broker's health service about SERVICE (default \"\": the\n"
	  "broker; \"sockbroker.v1.SocketBroker\" is known too) and prints its\n"
	  "status: SERVING, NOT_SERVING or UNKNOWN. Exit status 0 only when\n"
	  "SERVING. With --json: {\"service\": ..., \"status\": ...}.\n" },
	{ "watch", sbctl_cmd_watch, "[--once] [--no-snapshot] [-c COUNT]",
	  "the broker host's interfaces, then their changes as they happen",
	  "Prints the current interface rows (event \"snapshot\"), a line\n"
	  "\"snapshot-done\", then one line per change: link-added, link-removed,\n"
	  "link-changed, address-added, address-removed, each with the interface,\n"
	  "family, address/prefix and flags. Runs until interrupted.\n"
	  "\n"
	  "  -1, --once            stop after the snapshot\n"
	  "  -S, --no-snapshot     print only the changes\n"
	  "  -c, --count COUNT     stop after COUNT changes\n"
	  "\n"
	  "With --json: one object per line (\"event\" and the members of an\n"
	  "ifaddrs --json row); output is flushed after each event. With -v,\n"
	  "\"sbctl: watch: subscribed, changes follow\" on stderr once every\n"
	  "later change will be seen (also with --no-snapshot).\n" },
	{ "help", sbctl_cmd_help, "[COMMAND]",
	  "this help, or a command's",
	  "Prints sbctl's help, or the help of COMMAND (as `sbctl COMMAND --help`).\n" },
};

#define SBCTL_NCMDS (sizeof(sbctl_cmds) / sizeof(*sbctl_cmds))

static const struct sbctl_cmd *sbctl_find(const char *name)
{
	size_t i;

	for (i = 0; i < SBCTL_NCMDS; i++)
		if (!strcmp(sbctl_cmds[i].name, name))
			return &sbctl_cmds[i];
	return NULL;
}

static void sbctl_usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: sbctl [--broker TARGET] [--json] [-v] COMMAND [ARG]...\n"
		"The command-line client of sockbrokerd: names, interfaces and sockets\n"
		"of the broker host, through the broker.\n"
		"\n"
		"Options (also accepted after COMMAND):\n"
		"  -b, --broker TARGET   the broker: unix:PATH, unix-abstract:NAME,\n"
		"                        HOST:PORT or a path (default: $SOCKBROKER_ADDR,\n"
		"                        else %s)\n"
		"  -j, --json            machine-readable output (JSON)\n"
		"  -v, --verbose         diagnostics on stderr\n"
		"  -h, --help            this help; `sbctl COMMAND --help` for a command\n"
		"  -V, --version         the version\n"
		"\n"
		"Commands:\n",
		SB_DEFAULT_TARGET);
	for (i = 0; i < SBCTL_NCMDS; i++)
		fprintf(f, "  %-10s %s\n", sbctl_cmds[i].name, sbctl_cmds[i].summary);
	fprintf(f,
		"\n"
		"Exit status: 0 success; 1 a call failed (the error names the errno,\n"
		"EAI_* code or gRPC status); 2 not found (unknown host, address or\n"
		"service); 64 usage error. See sbctl(1).\n");
}

void sbctl_help(const struct sbctl_cmd *cmd, FILE *f)
{
	fprintf(f, "Usage: sbctl [OPTION]... %s%s%s\n", cmd->name,
		cmd->usage[0] ? " " : "", cmd->usage);
	fprintf(f, "%c%s.\n\n", cmd->summary[0] >= 'a' && cmd->summary[0] <= 'z' ?
		cmd->summary[0] - 'a' + 'A' : cmd->summary[0], cmd->summary + 1);
	fputs(cmd->help, f);
	fprintf(f,
		"\n"
		"Common options: --broker TARGET, --json, -v/--verbose, -h/--help\n"
		"(see `sbctl --help`).\n");
}

int sbctl_usage_error(const struct sbctl_cmd *cmd, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cmd) {
		fprintf(stderr, "sbctl %s: %s\n", cmd->name, msg);
		fprintf(stderr, "Usage: sbctl %s %s (see `sbctl %s --help`)\n", cmd->name,
			cmd->usage, cmd->name);
	} else {
		fprintf(stderr, "sbctl: %s\n", msg);
		fprintf(stderr, "Try `sbctl --help`.\n");
	}
	return SBCTL_USAGE;
}

int sbctl_common_opt(const struct sbctl_cmd *cmd, int opt)
{
	switch (opt) {
	case 'h':
		sbctl_help(cmd, stdout);
		return SBCTL_OK;
	case 'v':
		sbctl.verbose = 1;
		return -1;
	case 'j':
		sbctl.json = 1;
		return -1;
	case 'b':
		sbctl.broker = optarg;
		return -1;
	default:
		/* getopt printed what was wrong. */
		fprintf(stderr, "Usage: sbctl %s %s (see `sbctl %s --help`)\n", cmd->name,
			cmd->usage, cmd->name);
		return SBCTL_USAGE;
	}
}

static int sbctl_cmd_help(const struct sbctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = { SBCTL_COMMON_OPTIONS, { NULL, 0, NULL, 0 } };
	const struct sbctl_cmd *which;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, SBCTL_COMMON_SHORT, opts, NULL)) != -1)
		if ((rc = sbctl_common_opt(cmd, opt)) >= 0)
			return rc;
	if (optind >= argc) {
		sbctl_usage(stdout);
		return SBCTL_OK;
	}
	if (argc - optind > 1)
		return sbctl_usage_error(cmd, "too many arguments");
	which = sbctl_find(argv[optind]);
	if (!which)
		return sbctl_usage_error(cmd, "unknown command '%s'", argv[optind]);
	sbctl_help(which, stdout);
	return SBCTL_OK;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "broker", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static char progname[64];
	const struct sbctl_cmd *cmd;
	int opt;

	/* A closed stdout or socket is an error to report, never a signal. */
	signal(SIGPIPE, SIG_IGN);
	argv[0] = (char *)"sbctl";  /* getopt's messages: "sbctl: ..." */
	while ((opt = getopt_long(argc, argv, "+b:jvhV", opts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			sbctl.broker = optarg;
			break;
		case 'j':
			sbctl.json = 1;
			break;
		case 'v':
			sbctl.verbose = 1;
			break;
		case 'h':
			sbctl_usage(stdout);
			return SBCTL_OK;
		case 'V':
			printf("sbctl %s\n", SB_VERSION);
			return SBCTL_OK;
		default:
			fprintf(stderr, "Try `sbctl --help`.\n");
			return SBCTL_USAGE;
		}
	}
	if (optind >= argc) {
		sbctl_usage(stderr);
		return SBCTL_USAGE;
	}
	cmd = sbctl_find(argv[optind]);
	if (!cmd)
		return sbctl_usage_error(NULL, "unknown command '%s'", argv[optind]);
	argc -= optind;
	argv += optind;
	/* getopt's own messages then say "sbctl CMD: unrecognized option". */
	snprintf(progname, sizeof(progname), "sbctl %s", cmd->name);
	argv[0] = progname;
	optind = 0;  /* glibc: start getopt afresh for the command's options */
	return cmd->run(cmd, argc, argv);
}
