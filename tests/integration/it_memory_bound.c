/* SPDX-License-Identifier: MIT
 * it_memory_bound.c - the bytes one caller makes the broker hold are
 * bounded per session and per identity, and shown in GetStats.
 *
 * Limits: max_session_bytes 10 MiB, max_identity_bytes 14 MiB. A client
 * running as uid 65534:
 *  - parks 64 blocking Recvs of almost 4 MiB on empty UDP sockets: the
 *    broker's virtual size grows by less than 128 MiB (buffers are taken
 *    only when a socket is ready; taken up front they were 256 MiB here;
 *    the margin is for a malloc arena, 64 MiB of address space, that a
 *    broker thread may make meanwhile) and its bytes_held stays 0; each
 *    Recv then gets its datagram;
 *  - opens datagram receivers (RecvStream, 4 MiB each: a batch buffer and
 *    the message in flight) until one is refused: RESOURCE_EXHAUSTED /
 *    ENOBUFS, bytes_held of the identity never above 10 MiB;
 *  - a ready Recv of 3 MiB on top of that is ENOBUFS and leaves the
 *    datagram queued: a 1 MiB Recv gets it next;
 *  - a second session of the same identity is refused by the identity
 *    bound (bytes_held <= 14 MiB over both sessions);
 *  - blocking Sends of 3 MiB parked on a full TCP socket are charged while
 *    they wait: three wait, the fourth and fifth are ENOBUFS at once; all
 *    three complete when the peer reads;
 *  - when everything is closed, bytes_held is 0 again.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "it_client.h"

#define NOBODY IT_NOBODY
#define MIB (1u << 20)
#define PARKED 64
#define PARKED_LEN (4 * MIB - 4096)  /* the largest Recv the default limits take */
#define MAXR 8

static struct it_broker b;
static grpc_channel *ch;

static uint64_t held(const char *key)
{
	Sockbroker__V1__GetStatsReply *st = it_stats(ch);
	uint64_t v = UINT64_MAX;
	size_t i;

	if (!st)
		return v;
	if (!key)
		v = st->bytes_held;
	for (i = 0; key && i < st->n_identities; i++)
		if (!strcmp(st->identities[i]->identity, key))
			v = st->identities[i]->bytes_held;
	sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
	return v;
}

static long vm_size_kb(pid_t pid)
{
	return it_proc_status(pid, "VmSize:");
}

/* A UDP socket of the broker bound to 127.0.0.1; its address in @a. */
static int udp_socket(sb_client *c, struct sockaddr_storage *a, socklen_t *alen)
{
	int s = sb_socket(c, AF_INET, SOCK_DGRAM, 0);

	*alen = it_addr4(a, "127.0.0.1", 0);
	if (s < 0 || sb_bind(c, s, (struct sockaddr *)a, *alen) < 0)
		return -1;
	*alen = sizeof(*a);
	return sb_getsockname(c, s, (struct sockaddr *)a, alen) < 0 ? -1 : s;
}

struct parked {
	sb_client *c;
	int s;
	size_t len;
	ssize_t r;
};

static void *park_recv(void *arg)
{
	struct parked *p = arg;
	char *buf = malloc(p->len);

	p->r = buf ? sb_recv(p->c, p->s, buf, p->len, 0) : -1;
	free(buf);
	return NULL;
}

/* @n blocking Recvs of @len bytes, parked until a datagram comes to each;
 * @vm_growth set to the broker's VmSize growth (KiB) while they wait. */
static void parked_recvs(sb_client *c, pid_t broker, int tx, int n_want, size_t len,
			 long *vm_growth)
{
	struct parked p[PARKED];
	pthread_t th[PARKED];
	struct sockaddr_storage a[PARKED];
	socklen_t alen[PARKED];
	long before;
	int i, n = 0, ok = 0;
	int64_t until;

	before = vm_size_kb(broker);
	CHECK(before > 0, "cannot read the broker's VmSize");
	for (i = 0; i < n_want; i++) {
		p[i] = (struct parked){ .c = c, .s = udp_socket(c, &a[i], &alen[i]), .len = len,
					.r = -2 };
		if (!CHECK(p[i].s >= 0, "UDP socket %d: %s %s", i, strerror(errno), it_sberr()))
			break;
		if (pthread_create(&th[i], NULL, park_recv, &p[i]) != 0)
			break;
		n++;
	}
	for (until = it_now_ms() + 5000; it_now_ms() < until; it_sleep_ms(20)) {
		Sockbroker__V1__GetStatsReply *st = it_stats(ch);
		uint64_t w = st ? st->waits_parked : 0;

		if (st)
			sockbroker__v1__get_stats_reply__free_unpacked(st, NULL);
		if (w >= (uint64_t)n)
			break;
	}
	*vm_growth = vm_size_kb(broker) - before;
	CHECK(held("uid:65534") == 0, "bytes_held of uid:65534 is %llu with only parked "
	      "Recvs", (unsigned long long)held("uid:65534"));
	for (i = 0; i < n; i++)
		sendto(tx, "ping", 4, 0, (struct sockaddr *)&a[i], alen[i]);
	for (i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		ok += p[i].r == 4;
	}
	CHECK(ok == n, "%d of %d parked Recvs got their datagram", ok, n);
	for (i = 0; i < n; i++)
		sb_close(c, p[i].s);
}

/* Open receivers on @c until one is refused; Return: how many are held. */
static int open_receivers(sb_client *c, sb_receiver **r, int *s, int *refused)
{
	struct sockaddr_storage a;
	socklen_t alen;
	char buf[16];
	int i, n = 0;

	*refused = 0;
	for (i = 0; i < MAXR && !*refused; i++) {
		ssize_t x;

		s[n] = udp_socket(c, &a, &alen);
		r[n] = s[n] >= 0 ? sb_receiver_open(c, s[n]) : NULL;
		if (!CHECK(r[n] != NULL, "receiver %d: %s %s", i, strerror(errno), it_sberr()))
			break;
		errno = 0;
		x = sb_receiver_next(r[n], buf, sizeof(buf), NULL, NULL, 300);
		if (x < 0 && errno == EAGAIN) {
			n++;
			continue;
		}
		CHECK(x < 0 && errno == ENOBUFS, "receiver %d: %zd %s \"%s\", want EAGAIN "
		      "(held) or ENOBUFS", i, x, strerror(errno), it_sberr());
		*refused = 1;
		sb_receiver_close(r[n]);
		sb_close(c, s[n]);
	}
	return n;
}

struct psend {
	sb_client *c;
	int s;
	const char *buf;
	size_t len;
	ssize_t r;
	int err;
	int done;
};

static void *park_send(void *arg)
{
	struct psend *p = arg;

	p->r = sb_send(p->c, p->s, p->buf, p->len, 0);
	p->err = errno;
	__atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Blocking Sends of 3 MiB parked on a full TCP socket: their data is
 * charged while they wait, so that the fourth passes max_session_bytes
 * (10 MiB) and is ENOBUFS at once; the three parked complete once the
 * peer reads, and bytes_held is 0 again. */
static void parked_sends(sb_client *c)
{
	static char big[3 * MIB], sink[MIB];
	struct psend p[5];
	pthread_t th[5];
	struct sockaddr_storage a;
	socklen_t alen;
	int l, sc, acc, i, n = 0, nobufs = 0, sent3 = 0, waiting;
	size_t filled = 0, want, got = 0;
	char port[16];
	int64_t until;
	uint64_t h;

	alen = it_addr4(&a, "127.0.0.1", 0);
	l = sb_socket(c, AF_INET, SOCK_STREAM, 0);
	if (!CHECK(l >= 0 && sb_bind(c, l, (struct sockaddr *)&a, alen) == 0 &&
		   sb_listen(c, l, 4) == 0 &&
		   sb_getsockname(c, l, (struct sockaddr *)&a, &alen) == 0,
		   "listener: %s %s", strerror(errno), it_sberr()))
		return;
	snprintf(port, sizeof(port), "%u", (unsigned)it_port(&a));
	sc = sb_tcp_connect(c, "127.0.0.1", port, NULL, NULL, 3000);
	acc = sc >= 0 ? sb_accept(c, l, NULL, NULL) : -1;
	if (!CHECK(sc >= 0 && acc >= 0, "TCP pair: %s %s", strerror(errno), it_sberr()))
		return;
	/* Fill the socket: the peer does not read yet. */
	for (i = 0; i < 400; i++) {
		ssize_t w = sb_send(c, sc, big, MIB, MSG_DONTWAIT);

		if (w <= 0)
			break;
		filled += (size_t)w;
	}
	CHECK(i < 400 && errno == EAGAIN, "the socket did not fill: %zu bytes, %s", filled,
	      strerror(errno));
	for (i = 0; i < 5; i++) {
		p[i] = (struct psend){ .c = c, .s = sc, .buf = big, .len = sizeof(big), .r = -2 };
		if (pthread_create(&th[i], NULL, park_send, &p[i]) != 0)
			break;
		n++;
		it_sleep_ms(100); /* one after the other: which are refused is known */
	}
	for (i = 0; i < n; i++)
		if (__atomic_load_n(&p[i].done, __ATOMIC_ACQUIRE) && p[i].r == -1 &&
		    p[i].err == ENOBUFS)
			nobufs++;
	waiting = n - nobufs;
	CHECK(nobufs == 2 && waiting == 3, "5 blocking Sends of 3 MiB on a full socket: %d "
	      "refused ENOBUFS, %d waiting; want 2 and 3 (max_session_bytes 10 MiB)",
	      nobufs, waiting);
	/* What they hold: their data but what the socket took before they
	 * parked (its buffer may have grown since it filled). */
	h = held("uid:65534");
	CHECK(h > (uint64_t)(waiting - 1) * sizeof(big) && h <= (uint64_t)waiting * sizeof(big),
	      "bytes_held of uid:65534 with %d parked Sends: %llu, want their data", waiting,
	      (unsigned long long)h);
	/* The peer reads: the parked Sends complete. */
	want = filled + (size_t)waiting * sizeof(big);
	for (until = it_now_ms() + 20000; got < want && it_now_ms() < until;) {
		ssize_t r = sb_recv_timeout(c, acc, sink, sizeof(sink), 0, 1000);

		if (r > 0)
			got += (size_t)r;
		else if (!(r < 0 && errno == EAGAIN))
			break;
	}
	for (i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		sent3 += p[i].r == (ssize_t)sizeof(big);
	}
	CHECK(got == want && sent3 == waiting, "after reading %zu of %zu bytes: %d parked "
	      "Sends completed, want %d", got, want, sent3, waiting);
	CHECK(held("uid:65534") == 0, "bytes_held after the Sends: %llu",
	      (unsigned long long)held("uid:65534"));
	sb_close(c, acc);
	sb_close(c, sc);
	sb_close(c, l);
}

static int child_main(const char *target, pid_t broker)
{
	static char big[3 * MIB];
	sb_receiver *r1[MAXR], *r2[MAXR];
	int s1[MAXR], s2[MAXR], n1, n2, ref1, ref2, i, tx, s;
	struct sockaddr_storage a;
	socklen_t alen;
	sb_client *c, *c2;
	uint64_t h;
	ssize_t x;
	int64_t until;
	long vm;

	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(50);
	if (it_drop_privileges(NOBODY, NOBODY) < 0)
		return 1;
	snprintf(b.target, sizeof(b.target), "%s", target);
	ch = it_channel(&b);
	tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	c = sb_open(target);
	c2 = sb_open(target);
	if (!CHECK(c && c2 && tx >= 0, "sb_open: %s %s", strerror(errno), it_sberr()))
		return 1;

	/* The first round makes the broker's threads' malloc arenas (64 MiB
	 * of address space each); the second one is measured. */
	parked_recvs(c, broker, tx, 8, 64 << 10, &vm);
	parked_recvs(c, broker, tx, PARKED, PARKED_LEN, &vm);
	CHECK(vm < 128 * 1024, "%d parked Recvs of %u bytes grew the broker by %ld KiB of "
	      "virtual memory (want < 128 MiB: nothing is taken before data comes)",
	      PARKED, PARKED_LEN, vm);

	n1 = open_receivers(c, r1, s1, &ref1);
	h = held("uid:65534");
	CHECK(ref1 && n1 >= 1, "session 1: %d receivers held, %s; want some held and a "
	      "refusal by max_session_bytes", n1, ref1 ? "one refused" : "none refused");
	CHECK(h > 0 && h <= 10 * MIB, "bytes_held of uid:65534 with %d receivers: %llu, want "
	      "1..10 MiB", n1, (unsigned long long)h);

	/* A ready Recv that would pass the session bound: ENOBUFS, data kept. */
	s = udp_socket(c, &a, &alen);
	if (CHECK(s >= 0, "UDP socket: %s", strerror(errno))) {
		sendto(tx, "kept", 4, 0, (struct sockaddr *)&a, alen);
		it_sleep_ms(50);
		errno = 0;
		x = sb_recv(c, s, big, sizeof(big), 0);
		CHECK(x == -1 && errno == ENOBUFS && strstr(it_sberr(), "max_session_bytes"),
		      "a 3 MiB Recv over max_session_bytes: %zd %s \"%s\", want -1 ENOBUFS",
		      x, strerror(errno), it_sberr());
		x = sb_recv(c, s, big, MIB, MSG_DONTWAIT);
		CHECK(x == 4 && !memcmp(big, "kept", 4), "the datagram after the refused "
		      "Recv: %zd %s, want it still queued", x, strerror(errno));
		sb_close(c, s);
	}

	n2 = open_receivers(c2, r2, s2, &ref2);
	h = held("uid:65534");
	CHECK(ref2 && n2 < n1, "session 2: %d receivers held (session 1: %d), want fewer: "
	      "max_identity_bytes", n2, n1);
	CHECK(h <= 14 * MIB, "bytes_held of uid:65534 over two sessions: %llu > 14 MiB",
	      (unsigned long long)h);

	for (i = 0; i < n1; i++) {
		sb_receiver_close(r1[i]);
		sb_close(c, s1[i]);
	}
	for (i = 0; i < n2; i++) {
		sb_receiver_close(r2[i]);
		sb_close(c2, s2[i]);
	}
	for (until = it_now_ms() + 3000; it_now_ms() < until && held("uid:65534");
	     it_sleep_ms(20))
		;
	parked_sends(c);
	sb_close_client(c);
	sb_close_client(c2);
	for (until = it_now_ms() + 3000; it_now_ms() < until && held(NULL); it_sleep_ms(20))
		;
	CHECK(held(NULL) == 0 && held("uid:65534") == 0, "bytes_held after every stream "
	      "ended: broker %llu, uid:65534 %llu", (unsigned long long)held(NULL),
	      (unsigned long long)held("uid:65534"));
	close(tx);
	return it_failures() ? 1 : 0;
}

int main(int argc, char **argv)
{
	char pidarg[16];
	char *cargv[] = { argv[0], (char *)"--as-nobody", NULL, pidarg, NULL };
	int status;

	if (argc == 4 && !strcmp(argv[1], "--as-nobody"))
		return child_main(argv[2], (pid_t)atoi(argv[3]));
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (getuid() != 0)
		it_skip("needs root to run a client as uid %d", NOBODY);
	if (it_broker_start(&b,
			    "limits:\n"
			    "  max_session_bytes: 10485760\n"
			    "  max_identity_bytes: 14680064\n"
			    "policy:\n"
			    "  - name: nobody-all\n"
			    "    match: { uid: 65534 }\n"
			    "    action: allow\n") < 0)
		return 1;
	it_watchdog(&b, 58);
	if (!CHECK(chmod(b.dir, 0755) == 0 && chmod(b.sock, 0666) == 0, "chmod: %s",
		   strerror(errno)))
		goto out;
	snprintf(pidarg, sizeof(pidarg), "%d", (int)b.pid);
	cargv[2] = b.target;
	status = it_run_self(cargv, 55000);
	CHECK(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the uid %d client failed (status 0x%x)", NOBODY, (unsigned)status);
out:
	CHECK(it_broker_stop(&b) == 0, "broker did not stop cleanly");
	return it_result();
}
