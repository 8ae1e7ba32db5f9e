/* SPDX-License-Identifier: MIT
 * harness.h - what every integration test needs: a real sockbrokerd in a
 * fresh temporary directory, raw gRPC calls for what the client library
 * would never send (malformed, oversized, session-less, foreign handles),
 * GetStats decoding, checks and bounded waits.
 *
 * Rules the harness keeps for the tests:
 *  - Every wait is bounded (the broker must be connectable within 5 s,
 *    stop within 5 s, every raw call carries a deadline).
 *  - Everything is cleaned up: it_broker_stop() kills the broker if it
 *    does not stop, and removes the temporary directory; a SIGALRM
 *    watchdog (it_watchdog()) does the same if a test hangs.
 *  - The harness is not thread-safe except it_check() and the raw calls,
 *    which may be used from several threads.
 */
#ifndef SB_TESTS_HARNESS_H
#define SB_TESTS_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>

#include "sockbroker/v1/sockbroker.pb-c.h"

#define IT_SVC "/sockbroker.v1.SocketBroker/"

/* ---- checks ---- */

/**
 * it_check() - record one assertion; prints file:line and the message
 * when @ok is false. Thread-safe.
 * Return: @ok.
 */
int it_check(int ok, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define CHECK(cond, ...) it_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/** it_failures() - number of failed checks so far. */
int it_failures(void);

/** it_note() - a progress line on stdout (ctest shows it on failure). */
void it_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** it_skip() - print why and exit 77 (ctest: skipped). Only for kernel
 *  refusals (no netns, no dummy links...). Stops a started broker. */
void it_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/** it_result() - the exit code: 0 when every check passed, else 1. */
int it_result(void);

/** it_now_ms() - CLOCK_MONOTONIC in milliseconds. */
int64_t it_now_ms(void);

/** it_sleep_ms() - sleep, restarting after signals. */
void it_sleep_ms(int ms);

/* ---- another uid ---- */

/* The unprivileged caller of the policy tests. */
#define IT_NOBODY 65534

/**
 * it_drop_privileges() - become @uid/@gid with no supplementary groups,
 * for good (real, effective and saved ids), and die with the parent.
 * Return: 0, or -1 with "FAIL: ..." printed.
 */
int it_drop_privileges(uid_t uid, gid_t gid);

/**
 * it_run_self() - run this test's own executable with @argv (argv[0] is
 * passed on; the rest selects the child's part, e.g. "--as-nobody") and
 * wait for it, at most @timeout_ms, then SIGKILL it.
 * Return: its wait status, or -1 (spawn failed or timed out; printed).
 */
int it_run_self(char *const argv[], int timeout_ms);

/**
 * it_spawn_self() - the same without waiting. Return: the pid, or -1.
 */
pid_t it_spawn_self(char *const argv[]);

/* ---- the broker ---- */

struct it_broker {
	char dir[64];		/* mkdtemp directory, removed by it_broker_stop */
	char sock[128];		/* the broker's Unix socket: dir/broker.sock */
	char target[160];	/* gRPC target: unix:dir/broker.sock */
	char log[128];		/* the broker's stdout and stderr */
	char config[128];	/* dir/config.yaml, when a config was given */
	pid_t pid;		/* 0 when not running */
};

/* Capabilities (bit 1 << CAP_*) the brokers started from now on lack:
 * dropped from their bounding set before exec. 0 by default. */
extern uint64_t it_broker_drop_caps;

/**
 * it_broker_start() - start SB_BROKERD_PATH in a fresh temporary directory
 * @b:           filled in; pass to it_broker_stop()
 * @config_yaml: text of a config file (limits...), or NULL for none. The
 *               listener is always given with --listen unix:@b->sock.
 * Waits until the socket accepts connections, at most 5 s.
 * Start brokers before the first gRPC call of the process (fork+exec).
 * Return: 0, or -1 with a message printed and everything cleaned up.
 */
int it_broker_start(struct it_broker *b, const char *config_yaml);

/**
 * it_broker_stop() - SIGTERM, wait up to 5 s (then SIGKILL), check the exit
 * status is 0 and that the socket file is gone, print the broker's log when
 * a check of the test failed, remove the directory.
 * Return: 0 when the broker exited 0 and removed its socket file.
 */
int it_broker_stop(struct it_broker *b);

/**
 * it_broker_restart() - end the broker of @b with @sig (SIGKILL: a crash,
 * SIGTERM: a clean stop; SIGKILL after 5 s) and start it again on the same
 * socket path with the same config, waiting as it_broker_start() does.
 * Its log is appended to. Forks after gRPC may be in use: the child only
 * execs. Return: 0, or -1 (printed; b->pid is then 0).
 */
int it_broker_restart(struct it_broker *b, int sig);

/**
 * it_broker_tcp_port() - the port of the broker's first TCP listener, as
 * its log names it ("listening on tcp HOST:PORT"; waits up to 5 s for the
 * line), so that a config can ask
 * for port 0 and no test races another for a free port.
 * Return: the port, or 0 when the log names none.
 */
unsigned it_broker_tcp_port(const struct it_broker *b);

/** it_watchdog() - after @seconds, kill the broker, clean up, exit 1. */
void it_watchdog(struct it_broker *b, unsigned seconds);

/* ---- raw gRPC ---- */

struct it_reply {
	grpc_status_code status;
	char details[512];	/* status message */
	int sb_errno;		/* trailing metadata sb-errno, -1 when absent */
	uint8_t *data;		/* reply message, malloc'd (NULL: none) */
	size_t len;
};

/** it_channel() - an insecure channel to the broker (grpc_init done). */
grpc_channel *it_channel(const struct it_broker *b);

/**
 * it_unary() - one unary call with raw request bytes
 * @method:  full path, e.g. IT_SVC "GetStats"
 * @session: value of `sb-session` metadata, or NULL for none
 * @timeout_ms: the call's deadline
 * Return: 0 when the call completed (whatever its status), -1 when the
 * completion queue did not answer in time. Free @r with it_reply_free().
 */
int it_unary(grpc_channel *ch, const char *method, const void *req, size_t len,
	     const char *session, int timeout_ms, struct it_reply *r);

/** it_call() - it_unary() with a protobuf-c request message. */
int it_call(grpc_channel *ch, const char *method, const ProtobufCMessage *req,
	    const char *session, int timeout_ms, struct it_reply *r);

void it_reply_free(struct it_reply *r);

/** it_status_name() - "OK", "NOT_FOUND"... for messages. */
const char *it_status_name(grpc_status_code code);

/* A session opened with a raw OpenSession stream. */
struct it_session {
	grpc_completion_queue *cq;
	grpc_call *call;
	char token[128];
	uint64_t id;
};

/** it_session_open() - open a session; Return: 0 or -1. */
int it_session_open(grpc_channel *ch, struct it_session *s, int timeout_ms);

/** it_session_close() - cancel the stream (ends the session) and free. */
void it_session_close(struct it_session *s);

/** it_ticket() - a HandoffTicket of raw session @s into @out (32 bytes).
 *  Return: 0, or -1 (the call failed, or a reply without a ticket). */
int it_ticket(grpc_channel *ch, const struct it_session *s, uint8_t *out);

/**
 * it_side_present() - connect to the broker's Unix socket @sock and say a
 * side channel's hello: @magic (8 bytes: "SBHOFF01", "SBDIAL01") and
 * @ticket (32 bytes), then read the broker's 4-byte answer
 * @keep: when not NULL and the answer is 0, gets the bound channel's fd
 * Return: the broker's errno (0: bound), or -1 (no answer).
 */
int it_side_present(const char *sock, const char *magic, const uint8_t *ticket, int *keep);

/**
 * it_stats() - GetStats, decoded
 * Return: the reply (free with sockbroker__v1__get_stats_reply__free_unpacked)
 * or NULL when the call failed.
 */
Sockbroker__V1__GetStatsReply *it_stats(grpc_channel *ch);

/** it_find_identity() - the entry of @key ("uid:65534", a subject) in
 *  @st's identities, or NULL (also when @st is NULL). */
const Sockbroker__V1__IdentityStats *it_find_identity(const Sockbroker__V1__GetStatsReply *st,
						      const char *key);

/** it_stats_sockets() - GetStats().sockets_open, or -1 on failure. */
int64_t it_stats_sockets(grpc_channel *ch);

/** it_wait_sockets() - wait until sockets_open == @want, at most @ms.
 *  Return: the last value seen. */
int64_t it_wait_sockets(grpc_channel *ch, int64_t want, int ms);

/** it_wait_ends() - wait (one shared deadline of @ms) until each native fd
 *  of @fds (at most 64) sees EOF or a reset, skipping data; @how[i] says
 *  what each saw ("EOF", "ECONNRESET", another error), or NULL: nothing. */
void it_wait_ends(const int *fds, int n, int ms, const char **how);

/* ---- native helpers ---- */

/** it_addr4() / it_addr6() - loopback socket addresses with @port. */
socklen_t it_addr4(struct sockaddr_storage *ss, const char *ip, uint16_t port);
socklen_t it_addr6(struct sockaddr_storage *ss, const char *ip, uint16_t port);

/** it_port() - the port of an AF_INET/AF_INET6 address (host order). */
uint16_t it_port(const struct sockaddr_storage *ss);

/** it_addr_str() - "1.2.3.4:80", "[::1]:80", "unix:/path" for messages. */
const char *it_addr_str(const struct sockaddr *sa, socklen_t len, char *buf, size_t n);

/** it_native_listener() - a native listening TCP socket on @ip port 0. */
int it_native_listener(int family, const char *ip, struct sockaddr_storage *bound,
		       socklen_t *len);

/** it_read_full() / it_write_full() - native I/O with a poll bound. */
int it_read_full(int fd, void *buf, size_t n, int timeout_ms);
int it_write_full(int fd, const void *buf, size_t n);

/** it_read_some() - one read() after at most @timeout_ms of poll();
 *  Return: read()'s result, or -1 with errno ETIMEDOUT. */
ssize_t it_read_some(int fd, void *buf, size_t n, int timeout_ms);

/** it_native_accept() - accept4() after at most @timeout_ms of poll(). */
int it_native_accept(int lfd, struct sockaddr_storage *peer, socklen_t *len, int timeout_ms);

/** it_count_fds() - how many descriptors process @pid has open
 *  (/proc/PID/fd), or -1. */
int it_count_fds(pid_t pid);

/** it_count_fds_below() - as it_count_fds(), numbers below @lim only. */
int it_count_fds_below(pid_t pid, int lim);

/** it_broker_quiet() - 1 when GetStats shows no session, socket or parked
 *  call, else 0 (also when the call fails). */
int it_broker_quiet(grpc_channel *ch);

/** it_proc_status() - the decimal number after @key ("VmRSS:",
 *  "Threads:", "VmSize:") in /proc/@pid/status, or -1. */
long it_proc_status(pid_t pid, const char *key);

/** it_fill() - deterministic test bytes. */
void it_fill(void *buf, size_t n, unsigned seed);

#endif /* SB_TESTS_HARNESS_H */
