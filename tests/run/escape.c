/* SPDX-License-Identifier: MIT
 * escape.c - what a hostile program in sockbroker-run's sandbox tries, to
 * reach the network past the broker; each mode prints what happened and
 * exits 0 when the attempt failed as it must, 1 when it got through.
 *   escape int80 PORT      socket+connect through the i386 table (int 0x80)
 *   escape x32 PORT        socket+connect through the x32 table
 *   escape io_uring        io_uring_setup
 *   escape raw             raw, packet and vsock sockets
 *   escape repoint OK DENY connect to port OK, then re-point the socket to
 *                          DENY (second connect, AF_UNSPEC, MSG_FASTOPEN,
 *                          connect after shutdown)
 *   escape inherited FD DENY  an unconnected TCP socket of the host, fd FD,
 *                          sent to DENY with MSG_FASTOPEN
 *   escape swap OK DENY    connect to port OK, then a thread swaps fd 100
 *                          between that socket and a Unix socket (dup2)
 *                          while connect(AF_UNSPEC), connect and bind to
 *                          DENY and sendto DENY with MSG_FASTOPEN go to fd
 *                          100: a call let through for the Unix socket
 *                          would act on the broker's socket
 * All ports are on 127.0.0.1.
 */
#include <errno.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

static struct sockaddr_in lo_port(const char *port)
{
	struct sockaddr_in a;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)atoi(port));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* i386 socketcall(2) by int 0x80: arguments must be in the low 4 GiB. */
static long int80(long nr, long a, long b)
{
	long ret;

	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b) : "memory");
	return ret;
}

static int try_int80(const char *port)
{
	uint32_t *args = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	struct sockaddr_in a = lo_port(port);
	long fd, rc;

	if (args == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	memcpy(args + 8, &a, sizeof(a));
	args[0] = AF_INET;
	args[1] = SOCK_STREAM;
	args[2] = 0;
	fd = int80(102, 1, (long)(uintptr_t)args); /* socketcall(SYS_SOCKET) */
	printf("int80 socket: %ld\n", fd);
	if (fd < 0)
		return 0;
	args[0] = (uint32_t)fd;
	args[1] = (uint32_t)(uintptr_t)(args + 8);
	args[2] = sizeof(a);
	rc = int80(102, 3, (long)(uintptr_t)args); /* socketcall(SYS_CONNECT) */
	printf("int80 connect: %ld\n", rc);
	return rc == 0;
}

static int try_x32(const char *port)
{
	struct sockaddr_in a = lo_port(port);
	long fd, rc;

	fd = syscall(0x40000000L | SYS_socket, AF_INET, SOCK_STREAM, 0);
	printf("x32 socket: %ld (%s)\n", fd, fd < 0 ? strerror(errno) : "ok");
	if (fd < 0)
		return 0;
	rc = syscall(0x40000000L | SYS_connect, fd, &a, sizeof(a));
	printf("x32 connect: %ld\n", rc);
	return rc == 0;
}

static int try_io_uring(void)
{
	struct io_uring_params p;
	long rc;

	memset(&p, 0, sizeof(p));
	rc = syscall(SYS_io_uring_setup, 4, &p);
	printf("io_uring_setup: %ld (%s)\n", rc, rc < 0 ? strerror(errno) : "ok");
	return !(rc < 0 && errno == ENOSYS);
}

static int expect_fail(const char *what, int fd, int want)
{
	printf("%s: %d (%s)\n", what, fd, fd < 0 ? strerror(errno) : "ok");
	return !(fd < 0 && errno == want);
}

static int try_raw(void)
{
	int bad = 0;

	bad |= expect_fail("raw icmp", socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), EPERM);
	bad |= expect_fail("raw6 icmp", socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, 58), EPERM);
	bad |= expect_fail("packet", socket(AF_PACKET, SOCK_RAW, htons(3)), EPERM);
	bad |= expect_fail("inet SOCK_PACKET", socket(AF_INET, SOCK_PACKET, htons(3)), EPERM);
	bad |= expect_fail("vsock", socket(AF_VSOCK, SOCK_STREAM, 0), EAFNOSUPPORT);
	return bad;
}

static int try_repoint(const char *ok, const char *deny)
{
	struct sockaddr_in a = lo_port(ok), d = lo_port(deny);
	struct sockaddr un = { .sa_family = AF_UNSPEC };
	int s = socket(AF_INET, SOCK_STREAM, 0), bad = 0;
	ssize_t n;

	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("connect to the allowed port");
		return 1;
	}
	printf("connected to %s\n", ok);
	bad |= expect_fail("second connect", connect(s, (struct sockaddr *)&d, sizeof(d)), EISCONN);
	bad |= expect_fail("connect AF_UNSPEC", connect(s, &un, sizeof(un)), EOPNOTSUPP);
	bad |= expect_fail("connect again", connect(s, (struct sockaddr *)&d, sizeof(d)), EISCONN);
	n = sendto(s, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&d, sizeof(d));
	bad |= expect_fail("sendto MSG_FASTOPEN", (int)n, EISCONN);
	/* Still connected for connect(2) once the connection is over, as
	 * the kernel keeps it (EISCONN), not a fresh socket to point. */
	shutdown(s, SHUT_RDWR);
	usleep(300 * 1000);
	bad |= expect_fail("connect after shutdown", connect(s, (struct sockaddr *)&d, sizeof(d)),
			   EISCONN);
	bad |= expect_fail("connect to the allowed port after shutdown",
			   connect(s, (struct sockaddr *)&a, sizeof(a)), EISCONN);
	close(s);
	return bad;
}

/* An unconnected TCP socket of the host's namespace, inherited as fd
 * @fdarg: MSG_FASTOPEN would connect it past the broker. */
static int try_inherited(const char *fdarg, const char *deny)
{
	struct sockaddr_in d = lo_port(deny);
	int s = atoi(fdarg), bad = 0;
	ssize_t n;

	n = sendto(s, "GET / HTTP/1.0\r\n\r\n", 18, MSG_FASTOPEN, (struct sockaddr *)&d,
		   sizeof(d));
	bad |= expect_fail("sendto MSG_FASTOPEN on an inherited socket", (int)n, EOPNOTSUPP);
	n = sendto(s, "x", 1, 0, (struct sockaddr *)&d, sizeof(d));
	bad |= expect_fail("sendto on an inherited unconnected socket", (int)n, EPIPE);
	bad |= expect_fail("connect of an inherited socket",
			   connect(s, (struct sockaddr *)&d, sizeof(d)), EACCES);
	return bad;
}

/* ---- swap: the fd number changes under a notification ---- */

#define SWAP_FD 100
static int swap_a, swap_b;
static atomic_int swap_stop;

static void *swapper(void *arg)
{
	(void)arg;
	while (!atomic_load(&swap_stop)) {
		dup2(swap_a, SWAP_FD);
		dup2(swap_b, SWAP_FD);
	}
	return NULL;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Is @s still connected to port @ok? */
static int still_ok(int s, const struct sockaddr_in *ok)
{
	struct sockaddr_in p;
	socklen_t l = sizeof(p);

	return getpeername(s, (struct sockaddr *)&p, &l) == 0 && p.sin_port == ok->sin_port;
}

static int try_swap(const char *okp, const char *deny)
{
	struct sockaddr_in ok = lo_port(okp), d = lo_port(deny);
	struct sockaddr un = { .sa_family = AF_UNSPEC };
	int s = socket(AF_INET, SOCK_STREAM, 0), u = socket(AF_UNIX, SOCK_STREAM, 0);
	double end;
	pthread_t t;
	long i, bad = 0;

	if (s < 0 || u < 0 || connect(s, (struct sockaddr *)&ok, sizeof(ok)) < 0) {
		perror("connect to the allowed port");
		return 1;
	}
	swap_a = u;
	swap_b = s;
	if (pthread_create(&t, NULL, swapper, NULL)) {
		perror("pthread_create");
		return 1;
	}
	/* At most 3 s or 20000 rounds: the hole took 11-202 rounds. */
	end = now_s() + 3;
	for (i = 0; i < 20000 && now_s() < end && !bad; i++) {
		connect(SWAP_FD, &un, sizeof(un));
		connect(SWAP_FD, (struct sockaddr *)&d, sizeof(d));
		bind(SWAP_FD, (struct sockaddr *)&d, sizeof(d));
		sendto(SWAP_FD, "x", 1, MSG_FASTOPEN | MSG_DONTWAIT, (struct sockaddr *)&d,
		       sizeof(d));
		bad = !still_ok(s, &ok);
	}
	atomic_store(&swap_stop, 1);
	pthread_join(t, NULL);
	printf("swap: %ld rounds, the broker's socket %s\n", i,
	       bad ? "was re-pointed" : "stayed connected to the allowed port");
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc == 3 && !strcmp(argv[1], "int80"))
		return try_int80(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "x32"))
		return try_x32(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "io_uring"))
		return try_io_uring();
	if (argc == 2 && !strcmp(argv[1], "raw"))
		return try_raw();
	if (argc == 4 && !strcmp(argv[1], "repoint"))
		return try_repoint(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "inherited"))
		return try_inherited(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "swap"))
		return try_swap(argv[2], argv[3]);
	fprintf(stderr, "usage: escape int80|x32 PORT | io_uring | raw | repoint OK DENY | "
		"inherited FD DENY | swap OK DENY\n");
	return 2;
}
