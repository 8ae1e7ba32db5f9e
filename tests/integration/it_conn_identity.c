/* SPDX-License-Identifier: MIT
 * it_conn_identity.c - a call gets the identity of its own connection,
 * even when the broker reuses fd numbers for connections of other uids.
 *
 * Root and a child re-executed as uid/gid 65534 each make 150 short-lived
 * channels at the same time (one GetStats each, then the channel is
 * destroyed), so the broker accepts and closes about 300 connections and
 * hands their fd numbers from one uid to the other. GetStats shows a
 * caller other than root and the broker's owner only its own identity and
 * no rule counters:
 *  - every reply the child gets lists exactly "uid:65534", and no rules;
 *  - every reply root gets lists "uid:0" and the rules (a call of root's
 *    served as uid 65534 would list "uid:65534" alone).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define NOBODY IT_NOBODY
#define ROUNDS 150

static const char config[] =
	"policy:\n"
	"  - name: everyone\n"
	"    match: { any: true }\n"
	"    action: allow\n";

/* One fresh channel, one GetStats. Return: 1 when the reply is right for
 * the caller (@root or uid 65534), 0 when not, -1 when the call failed. */
static int one_round(const struct it_broker *b, int root, char *seen, size_t len)
{
	grpc_channel *ch = it_channel(b);
	Sockbroker__V1__GetStatsReply *st = it_stats(ch);
	int ret = -1;

	if (st) {
		size_t i;

		/* The rules' counters are root's too: the child sees none. */
		if (root)
			for (ret = 0, i = 0; i < st->n_identities; i++)
				ret |= !strcmp(st->identities[i]->identity, "uid:0") &&
				       st->n_rules >= 1;
		else
			ret = st->n_identities == 1 &&
			      !strcmp(st->identities[0]->identity, "uid:65534") &&
			      st->n_rules == 0;
		snprintf(seen, len, "%zu identities, first %s, %zu rules", st->n_identities,
			 st->n_identities ? st->identities[0]->identity : "-", st->n_rules);
		sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	}
	grpc_channel_destroy(ch);
	return ret;
}

static int churn(const struct it_broker *b, int root)
{
	int64_t until = it_now_ms() + 40000;
	int i, wrong = 0, failed = 0;
	char seen[128] = "";

	for (i = 0; i < ROUNDS && it_now_ms() < until; i++) {
		int r = one_round(b, root, seen, sizeof(seen));

		if (r == 0 && !wrong++)
			CHECK(0, "%s: round %d served with another identity: %s",
			      root ? "root" : "uid 65534", i, seen);
		failed += r < 0;
	}
	CHECK(i == ROUNDS && failed <= ROUNDS / 10, "%s: %d of %d rounds, %d failed calls",
	      root ? "root" : "uid 65534", i, ROUNDS, failed);
	CHECK(!wrong, "%s: %d calls served with another identity", root ? "root" :
	      "uid 65534", wrong);
	return it_failures() ? 1 : 0;
}

static int child_main(const char *target)
{
	struct it_broker tb;

	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(50);
	if (it_drop_privileges(NOBODY, NOBODY) < 0)
		return 1;
	memset(&tb, 0, sizeof(tb));
	snprintf(tb.target, sizeof(tb.target), "%s", target);
	return churn(&tb, 0);
}

int main(int argc, char **argv)
{
	char *cargv[] = { argv[0], (char *)"--as-nobody", NULL, NULL };
	struct it_broker b;
	int64_t until;
	int status = -1;
	pid_t pid;

	if (argc == 3 && !strcmp(argv[1], "--as-nobody"))
		return child_main(argv[2]);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getuid() != 0)
		it_skip("needs root to run a client as uid %d", NOBODY);
	if (it_broker_start(&b, config) < 0)
		return 1;
	it_watchdog(&b, 55);
	if (!CHECK(chmod(b.dir, 0755) == 0 && chmod(b.sock, 0666) == 0, "chmod: %s",
		   strerror(errno)))
		goto out;
	cargv[2] = b.target;
	pid = it_spawn_self(cargv);
	if (!CHECK(pid > 0, "cannot start the uid %d client", NOBODY))
		goto out;
	churn(&b, 1);
	until = it_now_ms() + 45000;
	while (waitpid(pid, &status, WNOHANG) != pid && it_now_ms() < until)
		it_sleep_ms(20);
	if (it_now_ms() >= until) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the uid %d client failed "
	      "(status 0x%x)", NOBODY, (unsigned)status);
out:
	CHECK(it_broker_stop(&b) == 0, "broker did not stop cleanly");
	return it_result();
}
