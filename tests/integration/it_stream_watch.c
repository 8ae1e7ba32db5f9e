/* SPDX-License-Identifier: MIT
 * it_stream_watch.c - sb_watch_interfaces(): the snapshot, then live link
 * and address changes.
 *
 * In a new network namespace (the test moves itself there before starting
 * the broker, as it_connect_timeout does), sb_watch_interfaces() runs in a
 * thread. After SB_IF_SNAPSHOT_DONE the test runs
 *   ip link add sbtest0 type dummy      (bridge when dummy links are not
 *   ip link set sbtest0 up               built into this kernel)
 *   ip addr add 10.99.0.1/24 dev sbtest0
 *   ip link del sbtest0
 * and wants, within 5 s and in this order: LINK_ADDED for sbtest0,
 * ADDRESS_ADDED of 10.99.0.1/24 on it, LINK_REMOVED for it. The snapshot
 * must have listed lo and ended with exactly one SNAPSHOT_DONE before any
 * change. The address's ADDRESS_REMOVED, which the kernel sends as the
 * link goes, must come between the last two and name the link. The
 * callback stops the watch (returns non-zero) on the LINK_REMOVED; if that
 * never comes, the test makes more changes (bounded) to get the callback
 * called with a stop flag set. Everything it creates dies with the
 * namespace. Skipped (77) when the kernel refuses the namespace or
 * both link types.
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "it_client.h"

#define STOP_VALUE 11
#define MAX_EV 256
#define LINK "sbtest0"

struct ev {
	enum sb_if_event kind;
	char name[IFNAMSIZ];
	unsigned index;
	int family;
	struct in_addr a4, mask4;
	int64_t at;
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct ev evs[MAX_EV];
static int nev, dropped, snapshot_done, stop, removed_seen, watch_rc, watch_err;
static unsigned link_index;

static int run(const char *cmd)
{
	return system(cmd) == 0 ? 0 : -1;
}

static int on_event(sb_client *c, enum sb_if_event kind, const struct ifaddrs *ifa, void *arg)
{
	struct ev e;
	int rc = 0;

	(void)c;
	(void)arg;
	memset(&e, 0, sizeof(e));
	e.kind = kind;
	e.at = it_now_ms();
	if (ifa) {
		snprintf(e.name, sizeof(e.name), "%s", ifa->ifa_name ? ifa->ifa_name : "");
		e.index = sb_getifaddr_index(ifa);
		if (ifa->ifa_addr) {
			e.family = ifa->ifa_addr->sa_family;
			if (e.family == AF_INET)
				e.a4 = ((const struct sockaddr_in *)(const void *)ifa->ifa_addr)->sin_addr;
		}
		if (ifa->ifa_netmask && ifa->ifa_netmask->sa_family == AF_INET)
			e.mask4 = ((const struct sockaddr_in *)(const void *)ifa->ifa_netmask)->sin_addr;
	}
	pthread_mutex_lock(&mu);
	if (nev < MAX_EV)
		evs[nev++] = e;
	else
		dropped++;
	if (kind == SB_IF_SNAPSHOT_DONE)
		snapshot_done++;
	if (kind == SB_IF_LINK_ADDED && !strcmp(e.name, LINK) && !link_index)
		link_index = e.index;
	if (kind == SB_IF_LINK_REMOVED && link_index && e.index == link_index) {
		removed_seen = 1;
		rc = STOP_VALUE;
	}
	if (stop)
		rc = STOP_VALUE;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return rc;
}

static void *watch_main(void *arg)
{
	sb_client *c = arg;
	int rc = sb_watch_interfaces(c, on_event, NULL);

	pthread_mutex_lock(&mu);
	watch_rc = rc;
	watch_err = errno;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	return NULL;
}

/* Wait (bounded) until *@flag is set. Return: the flag. */
static int wait_flag(int *flag, int ms)
{
	int64_t until = it_now_ms() + ms;
	int v;

	pthread_mutex_lock(&mu);
	while (!*flag && it_now_ms() < until) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&cv, &mu, &ts);
	}
	v = *flag;
	pthread_mutex_unlock(&mu);
	return v;
}

static const char *kind_name(enum sb_if_event k)
{
	static const char *const n[] = { "SNAPSHOT", "SNAPSHOT_DONE", "LINK_ADDED",
					 "LINK_REMOVED", "LINK_CHANGED", "ADDRESS_ADDED",
					 "ADDRESS_REMOVED" };

	return (unsigned)k < sizeof(n) / sizeof(n[0]) ? n[k] : "?";
}

int main(void)
{
	const char *kind = "dummy";
	char cmd[160], a[INET_ADDRSTRLEN], m[INET_ADDRSTRLEN];
	struct in_addr want, want_mask;
	struct it_broker b;
	pthread_t th;
	int64_t t0 = 0;
	int i, snap_lo = 0, done_at = -1, added = -1, addr = -1, removed = -1, dones = 0;
	int gone = -1;
	int early = 0, running = 0;
	sb_client *c;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (unshare(CLONE_NEWNET) < 0) {
		printf("SKIP: unshare(CLONE_NEWNET): %s\n", strerror(errno));
		return 77;
	}
	if (run("ip link set lo up") < 0) {
		printf("SKIP: cannot bring lo up in a new namespace\n");
		return 77;
	}
	/* Which link type this kernel can make (probed before the broker). */
	if (run("ip link add sbprobe0 type dummy 2>/dev/null") == 0) {
		run("ip link del sbprobe0");
	} else if (run("ip link add sbprobe0 type bridge 2>/dev/null") == 0) {
		run("ip link del sbprobe0");
		kind = "bridge";
	} else {
		printf("SKIP: this kernel makes neither dummy nor bridge links\n");
		return 77;
	}
	inet_pton(AF_INET, "10.99.0.1", &want);
	inet_pton(AF_INET, "255.255.255.0", &want_mask);

	c = it_setup(&b, NULL, 30);
	if (!CHECK(pthread_create(&th, NULL, watch_main, c) == 0, "pthread_create"))
		goto out;
	running = 1;
	if (!CHECK(wait_flag(&snapshot_done, 5000), "no SNAPSHOT_DONE within 5 s"))
		goto stop;

	t0 = it_now_ms();
	snprintf(cmd, sizeof(cmd), "ip link add " LINK " type %s", kind);
	if (!CHECK(run(cmd) == 0, "%s failed", cmd) ||
	    !CHECK(run("ip link set " LINK " up") == 0, "ip link set up failed") ||
	    !CHECK(run("ip addr add 10.99.0.1/24 dev " LINK) == 0, "ip addr add failed") ||
	    !CHECK(run("ip link del " LINK) == 0, "ip link del failed"))
		goto stop;
	CHECK(wait_flag(&removed_seen, 5000), "LINK_REMOVED of " LINK " not seen within 5 s "
	      "of the changes");
stop:
	if (running) {
		int k;

		/* Unless the callback stopped the watch itself, get it called
		 * once more, now with stop set (bounded: 50 changes). */
		pthread_mutex_lock(&mu);
		stop = 1;
		pthread_mutex_unlock(&mu);
		for (k = 0; k < 50; k++) {
			int ended;

			pthread_mutex_lock(&mu);
			ended = watch_rc != 0;
			pthread_mutex_unlock(&mu);
			if (ended)
				break;
			snprintf(cmd, sizeof(cmd), "ip addr add 127.0.%d.2/8 dev lo 2>/dev/null",
				 k + 1);
			run(cmd);
			it_sleep_ms(100);
		}
		pthread_join(th, NULL);
		CHECK(watch_rc == STOP_VALUE, "sb_watch_interfaces returned %d (%s %s), want %d",
		      watch_rc, strerror(watch_err), it_sberr(), STOP_VALUE);
	}

	/* The events, in order. */
	for (i = 0; i < nev; i++) {
		struct ev *e = &evs[i];

		if (e->kind == SB_IF_SNAPSHOT) {
			if (done_at >= 0)
				early++;
			if (!strcmp(e->name, "lo"))
				snap_lo = 1;
			continue;
		}
		if (e->kind == SB_IF_SNAPSHOT_DONE) {
			dones++;
			if (done_at < 0)
				done_at = i;
			continue;
		}
		if (done_at < 0)
			early++;
		if (e->kind == SB_IF_LINK_ADDED && !strcmp(e->name, LINK) && added < 0)
			added = i;
		if (e->kind == SB_IF_ADDRESS_ADDED && e->family == AF_INET &&
		    e->a4.s_addr == want.s_addr && addr < 0) {
			addr = i;
			inet_ntop(AF_INET, &e->mask4, m, sizeof(m));
			CHECK(e->mask4.s_addr == want_mask.s_addr, "ADDRESS_ADDED 10.99.0.1: "
			      "netmask %s, want 255.255.255.0", m);
			CHECK(e->index == link_index && link_index != 0, "ADDRESS_ADDED 10.99.0.1: "
			      "interface index %u, " LINK " has %u", e->index, link_index);
			CHECK(!strcmp(e->name, LINK), "ADDRESS_ADDED 10.99.0.1: interface name "
			      "\"%s\", want \"" LINK "\"", e->name);
		}
		if (e->kind == SB_IF_ADDRESS_REMOVED && e->family == AF_INET &&
		    e->a4.s_addr == want.s_addr && gone < 0) {
			gone = i;
			CHECK(e->index == link_index && link_index != 0, "ADDRESS_REMOVED 10.99.0.1: "
			      "interface index %u, " LINK " had %u", e->index, link_index);
			CHECK(!strcmp(e->name, LINK), "ADDRESS_REMOVED 10.99.0.1 (the kernel removes "
			      "it with the link): interface name \"%s\", want \"" LINK "\"",
			      e->name);
		}
		if (e->kind == SB_IF_LINK_REMOVED && link_index && e->index == link_index &&
		    removed < 0) {
			removed = i;
			CHECK(!strcmp(e->name, LINK), "LINK_REMOVED of index %u: name \"%s\", want "
			      "\"" LINK "\"", e->index, e->name);
		}
	}
	CHECK(snap_lo, "the snapshot did not list lo");
	CHECK(dones == 1 && early == 0, "%d SNAPSHOT_DONE events, %d events on the wrong side "
	      "of it", dones, early);
	CHECK(dropped == 0, "more than %d events", MAX_EV);
	CHECK(added >= 0, "no LINK_ADDED for " LINK);
	CHECK(addr >= 0, "no ADDRESS_ADDED for 10.99.0.1");
	CHECK(removed >= 0, "no LINK_REMOVED for " LINK);
	if (added >= 0 && addr >= 0 && removed >= 0) {
		CHECK(added < addr && addr < removed, "order: LINK_ADDED #%d, ADDRESS_ADDED #%d, "
		      "LINK_REMOVED #%d", added, addr, removed);
		/* Deleting the link removes its address: rtnetlink says so
		 * before the link's own RTM_DELLINK. */
		CHECK(gone > addr && gone < removed, "ADDRESS_REMOVED of 10.99.0.1 at #%d, want "
		      "between ADDRESS_ADDED #%d and LINK_REMOVED #%d", gone, addr, removed);
		CHECK(evs[removed].at - t0 <= 5000, "LINK_REMOVED came %lld ms after the first "
		      "change", (long long)(evs[removed].at - t0));
		it_note("%s link: LINK_ADDED after %lld ms, ADDRESS_ADDED after %lld ms, "
			"LINK_REMOVED after %lld ms (%d events in all)", kind,
			(long long)(evs[added].at - t0), (long long)(evs[addr].at - t0),
			(long long)(evs[removed].at - t0), nev);
	}
	if (it_failures() || getenv("IT_VERBOSE"))
		for (i = 0; i < nev; i++) {
			inet_ntop(AF_INET, &evs[i].a4, a, sizeof(a));
			it_note("event %d: %s %s index %u family %d %s", i, kind_name(evs[i].kind),
				evs[i].name, evs[i].index, evs[i].family,
				evs[i].family == AF_INET ? a : "");
		}
out:
	return it_teardown(&b, c);
}
