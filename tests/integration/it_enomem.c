/* SPDX-License-Identifier: MIT
 * it_enomem.c - the broker under a limited address space (RLIMIT_AS).
 *
 * After a warm-up at normal limits (so that the threads and arenas that
 * gRPC and the broker make once exist), the broker's RLIMIT_AS is lowered
 * (prlimit on its pid) to its current size plus @margin, for margins of
 * 32 and 16 MiB, and a client works against it: new sessions, sockets,
 * 1 MiB sends and receives over a TCP pair, a RecvStream, name calls, and
 * 48 RecvStreams open at once (their buffers are the broker's).
 * Every call either works or fails cleanly (-1 with an errno), within its
 * bound (no call here waits without one); the broker must not die. The
 * limit is then restored and a new session gets a socket and echoes 1 MiB.
 *
 * What each margin did is printed (calls done / failed, the errnos seen).
 *
 * Where it ends: the heap grows inside the arenas glibc has already
 * reserved, so a small margin usually works. But a margin below what one
 * more thread needs (8 MiB of stack) is not safe on a loaded machine:
 * gRPC core grows its thread pools under load, and when a thread or an
 * allocation of its own fails, gRPC does not survive it: operator new
 * throws std::bad_alloc in its executor thread (grpc_core::internal::
 * StatusAllocHeapPtr from ExecCtx::Run) and the process terminates; its
 * gpr_malloc() aborts likewise by design. Both were seen with a margin
 * of 0 with other tests running. The broker's own allocations fail calls
 * with RESOURCE_EXHAUSTED/ENOMEM, but they are not what runs out first.
 * So margins below 16 MiB are not run here; sockbrokerd(8) says to bound
 * the broker's memory with the service manager (MemoryMax=, restarts)
 * rather than RLIMIT_AS.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it_client.h"

#define BIG (1 << 20)

struct tally {
	int ok, failed;
	int errs[8];	/* first distinct errnos */
	int nerrs;
};

static void count(struct tally *t, int ok)
{
	int i;

	if (ok) {
		t->ok++;
		return;
	}
	t->failed++;
	for (i = 0; i < t->nerrs; i++)
		if (t->errs[i] == errno)
			return;
	if (t->nerrs < 8)
		t->errs[t->nerrs++] = errno;
}

static long vm_kib(pid_t pid, const char *key)
{
	return it_proc_status(pid, key);
}

static int alive(pid_t pid)
{
	int status;

	return waitpid(pid, &status, WNOHANG) == 0;
}

/* One round of work; every call's outcome tallied. */
static void work(const char *target, struct tally *t)
{
	static char out[BIG], in[BIG];
	struct sockaddr_storage ss;
	socklen_t len;
	sb_client *c[4] = { NULL };
	char host[256];
	int i, k;

	it_fill(out, sizeof(out), 3);
	for (i = 0; i < 4; i++) {
		c[i] = sb_open(target);
		count(t, c[i] != NULL);
	}
	for (i = 0; i < 4; i++) {
		int l, a, s;
		sb_receiver *r;

		if (!c[i])
			continue;
		for (k = 0; k < 20; k++) {
			s = sb_socket(c[i], AF_INET, SOCK_DGRAM, 0);
			count(t, s >= 0);
			if (s >= 0)
				sb_close(c[i], s);
		}
		count(t, sb_gethostname(c[i], host, sizeof(host)) == 0);
		/* A TCP pair through the broker, 1 MiB each way. */
		len = it_addr4(&ss, "127.0.0.1", 0);
		l = sb_socket(c[i], AF_INET, SOCK_STREAM, 0);
		if (l < 0 || sb_bind(c[i], l, (struct sockaddr *)&ss, len) < 0 ||
		    sb_listen(c[i], l, 4) < 0 ||
		    sb_getsockname(c[i], l, (struct sockaddr *)&ss, &len) < 0) {
			count(t, 0);
			continue;
		}
		{
			char port[16];

			snprintf(port, sizeof(port), "%u", it_port(&ss));
			s = sb_tcp_connect(c[i], "127.0.0.1", port, NULL, NULL, 2000);
		}
		count(t, s >= 0);
		a = s >= 0 ? sb_accept(c[i], l, NULL, NULL) : -1;
		count(t, a >= 0);
		if (a >= 0) {
			count(t, it_sb_send_all(c[i], s, out, BIG, 3000) == 0);
			count(t, it_sb_recv_all(c[i], a, in, BIG, 3000) == 0 &&
			      !memcmp(in, out, BIG));
		}
		/* A RecvStream on a UDP socket. */
		k = sb_socket(c[i], AF_INET, SOCK_DGRAM, 0);
		len = it_addr4(&ss, "127.0.0.1", 0);
		r = k >= 0 && sb_bind(c[i], k, (struct sockaddr *)&ss, len) == 0
			? sb_receiver_open(c[i], k) : NULL;
		count(t, r != NULL);
		if (r)
			count(t, sb_receiver_next(r, in, 64, NULL, NULL, 100) < 0 &&
			      errno == EAGAIN);
		sb_receiver_close(r);
	}
	/* Pressure: streams whose buffers the broker allocates (1 MiB each,
	 * charged twice), 12 per session, all open at once. */
	for (i = 0; i < 4; i++) {
		sb_receiver *rs[12] = { NULL };

		if (!c[i])
			continue;
		for (k = 0; k < 12; k++) {
			int u = sb_socket(c[i], AF_INET, SOCK_DGRAM, 0);

			len = it_addr4(&ss, "127.0.0.1", 0);
			rs[k] = u >= 0 && sb_bind(c[i], u, (struct sockaddr *)&ss, len) == 0
				? sb_receiver_open(c[i], u) : NULL;
			count(t, rs[k] != NULL && (sb_receiver_next(rs[k], in, 64, NULL, NULL,
								  20) < 0 && errno == EAGAIN));
		}
		for (k = 0; k < 12; k++)
			sb_receiver_close(rs[k]);
	}
	for (i = 0; i < 4; i++)
		sb_close_client(c[i]);
}

static void print_tally(const char *what, const struct tally *t)
{
	char errs[256] = "";
	size_t n = 0;
	int i;

	for (i = 0; i < t->nerrs; i++)
		n += (size_t)snprintf(errs + n, sizeof(errs) - n, "%s%s", i ? ", " : "",
				      strerror(t->errs[i]));
	it_note("%s: %d calls worked, %d failed (%s)", what, t->ok, t->failed, errs);
}

int main(void)
{
	static const long margins_mib[] = { 32, 16 };
	struct it_broker b;
	struct rlimit saved, rl;
	struct tally t;
	char what[96];
	sb_client *c;
	size_t i;

	c = it_setup(&b, NULL, 100);
	sb_close_client(c);
	memset(&t, 0, sizeof(t));
	work(b.target, &t);
	print_tally("warm-up, no limit", &t);
	CHECK(t.failed == 0, "calls failed with no limit");
#ifdef __SANITIZE_ADDRESS__
	/* AddressSanitizer's shadow is terabytes of address space and its
	 * allocator maps more as it likes: an address-space limit tests it,
	 * not the broker. */
	it_note("AddressSanitizer build: the RLIMIT_AS rounds are not run");
	return it_teardown(&b, NULL);
#endif
	if (!CHECK(prlimit(b.pid, RLIMIT_AS, NULL, &saved) == 0, "prlimit: %s", strerror(errno)))
		return it_teardown(&b, NULL);
	for (i = 0; i < sizeof(margins_mib) / sizeof(margins_mib[0]); i++) {
		long vm = vm_kib(b.pid, "VmSize:");

		rl = saved;
		rl.rlim_cur = (rlim_t)(vm + margins_mib[i] * 1024) * 1024;
		CHECK(prlimit(b.pid, RLIMIT_AS, &rl, NULL) == 0, "prlimit: %s", strerror(errno));
		memset(&t, 0, sizeof(t));
		work(b.target, &t);
		snprintf(what, sizeof(what), "RLIMIT_AS = VmSize %ld MiB + %ld MiB", vm / 1024,
			 margins_mib[i]);
		print_tally(what, &t);
		if (!CHECK(alive(b.pid), "the broker died under %s", what)) {
			b.pid = 0;
			return it_teardown(&b, NULL);
		}
	}
	CHECK(prlimit(b.pid, RLIMIT_AS, &saved, NULL) == 0, "restore RLIMIT_AS");
	memset(&t, 0, sizeof(t));
	work(b.target, &t);
	print_tally("after the limit was lifted", &t);
	CHECK(t.failed == 0, "calls failed after the limit was lifted");
	return it_teardown(&b, NULL);
}
