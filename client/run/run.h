/* SPDX-License-Identifier: MIT
 * run.h - sockbroker-run: what its files share. sandbox.c makes the
 * sandbox (namespaces, seccomp filter, exec); supervise.c answers the
 * filter's notifications with the broker; main.c ties them together.
 *
 * Why the program cannot get around the broker: it runs in a network
 * namespace of its own that holds nothing but loopback, owned by a user
 * namespace of its own (so it has no capability in the host's namespaces:
 * no setns() back, no privileged option on a socket it is lent). The
 * namespace is the wall; the seccomp filter is the only door. Every socket
 * of the host's namespace that the program ever holds comes from the
 * supervisor, and is a TCP socket the broker connected or a listener the
 * broker bound, both decided under the broker's policy.
 */
#ifndef SBR_RUN_H
#define SBR_RUN_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "sockbroker.h"

/* Exit statuses of the runner itself, as env(1) and timeout(1) use them. */
#define SBR_EXIT_FAIL 125     /* the runner failed: no broker, no kernel support */
#define SBR_EXIT_NOEXEC 126   /* CMD was found but could not be run */
#define SBR_EXIT_NOTFOUND 127 /* CMD was not found */

/* Reference sockets made in the sandbox's namespace before the filter:
 * their option values are the defaults a program's socket starts with, so
 * that only the options the program changed are copied to the broker's
 * socket (copying a default SO_RCVBUF would turn off autotuning). */
enum sbr_ref { SBR_REF_TCP4, SBR_REF_TCP6, SBR_REF_N };

/**
 * struct sbr_sandbox - a started sandbox, owned by the supervisor
 * @pid:       the program's pid (the child of the runner)
 * @notify_fd: the seccomp listener of the program's filter
 * @ref:       reference sockets (enum sbr_ref), -1 where the family is off
 * @sync_fd:   the start-up channel; closed when the program runs
 */
struct sbr_sandbox {
	pid_t pid;
	int notify_fd;
	int ref[SBR_REF_N];
	int sync_fd;
};

/**
 * sbr_sandbox_start() - fork the sandbox: namespaces, loopback up, filter
 * loaded, then wait for sbr_sandbox_go() before exec of @argv.
 * @argv: CMD and its arguments (argv[0] is looked up in $PATH)
 * @sb:   filled in
 * Prints what the kernel lacks and what to do about it on failure.
 * Return: 0, or -1 (the child is gone).
 */
int sbr_sandbox_start(char *const argv[], struct sbr_sandbox *sb);

/**
 * sbr_sandbox_go() - let the child exec CMD.
 * Return: 0 when it runs, or the exit status the runner must exit with
 *         (SBR_EXIT_NOTFOUND, SBR_EXIT_NOEXEC; printed).
 */
int sbr_sandbox_go(struct sbr_sandbox *sb);

/** sbr_sandbox_close() - close the supervisor's fds of @sb. */
void sbr_sandbox_close(struct sbr_sandbox *sb);

/**
 * sbr_supervise() - answer the filter's notifications with the broker
 * until the program exits; forwards signals to it.
 * @sb: the running sandbox
 * @c:  the broker session (used from this thread only)
 * Return: the exit status for the runner: CMD's, or 128 + the signal
 *         that killed it.
 */
int sbr_supervise(struct sbr_sandbox *sb, sb_client *c);

/**
 * sbr_block_signals() - block the signals the supervisor forwards, and
 * SIGCHLD, before the sandbox is forked (it unblocks them for itself).
 * @set: set to what was blocked
 * Return: 0 or -1 with errno.
 */
int sbr_block_signals(sigset_t *set);

extern int sbr_verbose;

/** sbr_log() - a "sockbroker-run: " line on stderr when -v was given. */
void sbr_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** sbr_err() - a "sockbroker-run: " line on stderr, always. */
void sbr_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* SBR_RUN_H */
