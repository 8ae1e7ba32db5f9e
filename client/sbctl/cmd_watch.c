/* SPDX-License-Identifier: MIT
 * cmd_watch.c - watch: the broker host's interfaces, then their changes as
 * they happen (sb_watch_interfaces), one line or JSON object per event.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdlib.h>
#include <string.h>

#include "sbctl.h"

struct sbctl_watch {
	int once;          /* stop at SNAPSHOT_DONE */
	int no_snapshot;   /* print only changes */
	long count;        /* stop after this many changes; -1: never */
	long changes;
};

static const char *sbctl_event_name(enum sb_if_event ev)
{
	switch (ev) {
	case SB_IF_SNAPSHOT:
		return "snapshot";
	case SB_IF_SNAPSHOT_DONE:
		return "snapshot-done";
	case SB_IF_LINK_ADDED:
		return "link-added";
	case SB_IF_LINK_REMOVED:
		return "link-removed";
	case SB_IF_LINK_CHANGED:
		return "link-changed";
	case SB_IF_ADDRESS_ADDED:
		return "address-added";
	case SB_IF_ADDRESS_REMOVED:
		return "address-removed";
	default:
		return "unknown";
	}
}

struct sbctl_flagbuf {
	char s[256];
	size_t len;
};

static void sbctl_text_flag(const char *name, void *arg)
{
	struct sbctl_flagbuf *b = arg;
	int n = snprintf(b->s + b->len, sizeof(b->s) - b->len, "%s%s", b->len ? "," : "", name);

	if (n > 0 && b->len + (size_t)n < sizeof(b->s))
		b->len += (size_t)n;
}

static void sbctl_watch_text(enum sb_if_event ev, const struct ifaddrs *ifa)
{
	struct sbctl_flagbuf fl = { "", 0 };
	char addr[INET6_ADDRSTRLEN + 16] = "-";
	/* Link events come without the link's address (the MAC). */
	const char *fam = ev == SB_IF_LINK_ADDED || ev == SB_IF_LINK_REMOVED ||
			  ev == SB_IF_LINK_CHANGED ? "link" : "-";

	if (!ifa) {
		printf("%s\n", sbctl_event_name(ev));
		return;
	}
	if (ifa->ifa_addr) {
		char buf[INET6_ADDRSTRLEN];
		int plen = sbctl_prefixlen(ifa->ifa_netmask);

		fam = sbctl_family_name(ifa->ifa_addr->sa_family);
		if (!fam)
			fam = "?";
		if (sbctl_ntop(ifa->ifa_addr, buf, sizeof(buf))) {
			if (plen >= 0 && ifa->ifa_addr->sa_family != AF_PACKET)
				snprintf(addr, sizeof(addr), "%s/%d", buf, plen);
			else
				snprintf(addr, sizeof(addr), "%s", buf[0] ? buf : "-");
		}
	}
	sbctl_if_flags(ifa->ifa_flags, sbctl_text_flag, &fl);
	printf("%-15s %-16s %-6s %s <%s>\n", sbctl_event_name(ev), ifa->ifa_name, fam, addr,
	       fl.s);
}

static int sbctl_watch_cb(sb_client *c, enum sb_if_event ev, const struct ifaddrs *ifa,
			  void *arg)
{
	struct sbctl_watch *w = arg;
	int snapshot = ev == SB_IF_SNAPSHOT || ev == SB_IF_SNAPSHOT_DONE;

	(void)c;
	if (!(snapshot && w->no_snapshot)) {
		if (sbctl.json) {
			struct sbctl_json j;

			sbctl_json_init(&j, stdout, 0);
			sbctl_json_begin_obj(&j, NULL);
			sbctl_json_str(&j, "event", sbctl_event_name(ev));
			if (ifa)
				sbctl_json_ifaddr(&j, ifa);
			sbctl_json_end_obj(&j);
			sbctl_json_done(&j);
		} else {
			sbctl_watch_text(ev, ifa);
			fflush(stdout);
		}
		if (ferror(stdout))
			return 2;  /* nobody reads any more */
	}
	/* From here on every change reaches this watcher: a script can
	 * wait for this line instead of sleeping. */
	if (ev == SB_IF_SNAPSHOT_DONE)
		sbctl_note("watch: subscribed, changes follow");
	if (ev == SB_IF_SNAPSHOT_DONE && w->once)
		return 1;
	if (!snapshot && w->count >= 0 && ++w->changes >= w->count)
		return 1;
	return 0;
}

int sbctl_cmd_watch(const struct sbctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		SBCTL_COMMON_OPTIONS,
		{ "once", no_argument, NULL, '1' },
		{ "no-snapshot", no_argument, NULL, 'S' },
		{ "count", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct sbctl_watch w = { 0, 0, -1, 0 };
	sb_client *c;
	char *end;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, SBCTL_COMMON_SHORT "1Sc:", opts, NULL)) != -1) {
		switch (opt) {
		case '1':
			w.once = 1;
			break;
		case 'S':
			w.no_snapshot = 1;
			break;
		case 'c':
			errno = 0;
			w.count = strtol(optarg, &end, 10);
			if (errno || *end || !*optarg || w.count < 1)
				return sbctl_usage_error(cmd, "--count takes a number > 0, not '%s'",
							 optarg);
			break;
		default:
			if ((rc = sbctl_common_opt(cmd, opt)) >= 0)
				return rc;
		}
	}
	if (optind < argc)
		return sbctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (w.once && w.no_snapshot)
		return sbctl_usage_error(cmd, "--once and --no-snapshot print nothing together");
	c = sbctl_open();
	if (!c)
		return SBCTL_FAIL;
	rc = sb_watch_interfaces(c, sbctl_watch_cb, &w);
	if (rc < 0)
		rc = sbctl_fail(errno, "watch");
	else if (rc == 2)
		rc = sbctl_fail_plain(EPIPE, "write stdout");
	else
		rc = SBCTL_OK;
	sb_close_client(c);
	return rc;
}
