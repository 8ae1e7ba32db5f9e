/* SPDX-License-Identifier: MIT
 * sbctl.h - what the files of sbctl share: the global options, the command
 * table, error reporting, a small JSON writer and address formatting.
 */
#ifndef SBCTL_H
#define SBCTL_H

#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "sockbroker.h"

/* Exit statuses (documented in sbctl.1). */
#define SBCTL_OK 0
#define SBCTL_FAIL 1       /* a call failed: errno, EAI_* or gRPC status */
#define SBCTL_NOTFOUND 2   /* a name, address or service is unknown (as getent) */
#define SBCTL_USAGE 64     /* bad command line (EX_USAGE) */

/* The global options; commands accept them too (after the command name). */
struct sbctl_opts {
	const char *broker;  /* --broker TARGET, or NULL: $SOCKBROKER_ADDR, default */
	int json;            /* --json */
	int verbose;         /* -v: diagnostics on stderr */
};
extern struct sbctl_opts sbctl;

/* One command: its name, handler, one-line summary and full help. */
struct sbctl_cmd {
	const char *name;
	int (*run)(const struct sbctl_cmd *cmd, int argc, char **argv);
	const char *usage;    /* "HOST [SERVICE] [-4|-6] [--type stream|dgram]" */
	const char *summary;  /* one line for the command list */
	const char *help;     /* the options and details, after the usage line */
};

/* Long-option values of the options every command takes. */
enum {
	SBCTL_OPT_FIRST_CMD = 0x1000,  /* commands' long-only options from here */
};

/* The common entries of every command's option table (end it after them). */
#define SBCTL_COMMON_OPTIONS                                          \
	{ "help", no_argument, NULL, 'h' },                           \
	{ "verbose", no_argument, NULL, 'v' },                        \
	{ "json", no_argument, NULL, 'j' },                           \
	{ "broker", required_argument, NULL, 'b' }
/* The common short options, first in every command's shortopts. Options
 * and arguments may mix (GNU getopt permutes); "--" ends the options. */
#define SBCTL_COMMON_SHORT "hvjb:"

/**
 * sbctl_common_opt() - handle an option getopt_long returned that the
 * command itself does not know: the common ones, or a usage error.
 * Return: -1 to go on parsing, or the exit status to return now (0 after
 *         --help, SBCTL_USAGE after a bad option).
 */
int sbctl_common_opt(const struct sbctl_cmd *cmd, int opt);

/** sbctl_usage_error() - "sbctl CMD: MSG" and a hint on stderr.
 *  Return: SBCTL_USAGE. */
int sbctl_usage_error(const struct sbctl_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** sbctl_help() - the full help of @cmd on @f. */
void sbctl_help(const struct sbctl_cmd *cmd, FILE *f);

/* ---- errors (util.c) ---- */

/** sbctl_errname() - "ECONNREFUSED" for ECONNREFUSED, or "errno 123". */
const char *sbctl_errname(int err);

/**
 * sbctl_fail() - the one-line error of a failed libsockbroker call:
 * "sbctl: WHAT: strerror (ENAME)" and, when the broker said why
 * (sb_last_error()), ": its message". Call it right after the failing
 * call (sb_last_error() is the thread's last one).
 * Return: SBCTL_FAIL.
 */
int sbctl_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** sbctl_fail_plain() - the same without the broker's message. */
int sbctl_fail_plain(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** sbctl_eai_name() - "EAI_NONAME" for EAI_NONAME, or "EAI_?". */
const char *sbctl_eai_name(int eai);

/**
 * sbctl_fail_eai() - "sbctl: WHAT: gai_strerror (EAI_NAME)" (EAI_SYSTEM: the
 * errno as sbctl_fail). Return: SBCTL_NOTFOUND for EAI_NONAME, EAI_NODATA,
 * EAI_SERVICE, EAI_ADDRFAMILY, else SBCTL_FAIL.
 */
int sbctl_fail_eai(int eai, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** sbctl_note() - "sbctl: ..." on stderr when -v was given. */
void sbctl_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- the broker (util.c) ---- */

/** sbctl_target() - the target sbctl talks to, as sb_open() picks it:
 *  --broker, else $SOCKBROKER_ADDR, else SB_DEFAULT_TARGET. */
const char *sbctl_target(void);

/**
 * sbctl_open() - sb_open() the broker; on failure print the error (the
 * errno refined by a local connect(2) probe of a unix: path, since the
 * library reports every unreachable broker as ECONNREFUSED).
 * Return: the client, or NULL after printing.
 */
sb_client *sbctl_open(void);

/**
 * sbctl_unix_probe() - connect(2) to the Unix socket of @target (unix:PATH
 * or a bare path) and return the errno it fails with, 0 when it connects,
 * or -1 when @target is not a filesystem Unix socket.
 */
int sbctl_unix_probe(const char *target);

/* ---- JSON (util.c) ---- */

/* A streaming JSON writer on stdout: objects and arrays nest; keys are
 * given for members of objects and NULL inside arrays. */
struct sbctl_json {
	FILE *f;
	int pretty;        /* indent with two spaces, one member a line */
	int depth;
	int count[32];     /* members written at each depth */
};

void sbctl_json_init(struct sbctl_json *j, FILE *f, int pretty);
void sbctl_json_begin_obj(struct sbctl_json *j, const char *key);
void sbctl_json_begin_arr(struct sbctl_json *j, const char *key);
void sbctl_json_end_obj(struct sbctl_json *j);
void sbctl_json_end_arr(struct sbctl_json *j);
/** sbctl_json_str() - a string member (NULL @val: null). */
void sbctl_json_str(struct sbctl_json *j, const char *key, const char *val);
void sbctl_json_num(struct sbctl_json *j, const char *key, long long val);
void sbctl_json_unum(struct sbctl_json *j, const char *key, unsigned long long val);
void sbctl_json_bool(struct sbctl_json *j, const char *key, int val);
void sbctl_json_null(struct sbctl_json *j, const char *key);
/** sbctl_json_done() - the newline after the top-level value. */
void sbctl_json_done(struct sbctl_json *j);

/* ---- addresses (util.c) ---- */

/** sbctl_ntop() - the numeric host of an AF_INET/AF_INET6 address (no
 *  scope, no port), or the MAC of an AF_PACKET one, "aa:bb:..".
 *  Return: @buf, or NULL for other families. */
const char *sbctl_ntop(const struct sockaddr *sa, char *buf, size_t len);

/** sbctl_sockaddr_str() - "1.2.3.4:80", "[::1]:80", "[fe80::1%2]:80". */
const char *sbctl_sockaddr_str(const struct sockaddr *sa, char *buf, size_t len);

/** sbctl_prefixlen() - the number of leading one bits of netmask @sa, or
 *  -1 (no netmask, or another family). */
int sbctl_prefixlen(const struct sockaddr *sa);

/** sbctl_family_name() - "inet", "inet6", "packet", "unix", or NULL. */
const char *sbctl_family_name(int family);

/** sbctl_parse_port() - "0".."65535" to a number. Return: it or -1. */
int sbctl_parse_port(const char *s);

/** sbctl_parse_secs() - a non-negative number of seconds (decimals allowed)
 *  to milliseconds. Return: them, or -1. */
long sbctl_parse_secs(const char *s);

/** sbctl_write_all() - write(2) all of @buf to @fd. Return: 0 or -1 (errno). */
int sbctl_write_all(int fd, const void *buf, size_t len);

/* ---- commands ---- */

int sbctl_cmd_ifaddrs(const struct sbctl_cmd *cmd, int argc, char **argv);
int sbctl_cmd_resolve(const struct sbctl_cmd *cmd, int argc, char **argv);
int sbctl_cmd_nameinfo(const struct sbctl_cmd *cmd, int argc, char **argv);
int sbctl_cmd_hostname(const struct sbctl_cmd *cmd, int argc, char **argv);
int sbctl_cmd_service(const struct sbctl_cmd *cmd, int argc, char **argv);
int sbctl_cmd_connect(const struct sbctl_cmd *cmd, int argc, char **argv);
int sbctl_cmd_listen(const struct sbctl_cmd *cmd, int argc, char **argv);
int sbctl_cmd_stats(const struct sbctl_cmd *cmd, int argc, char **argv);
int sbctl_cmd_health(const struct sbctl_cmd *cmd, int argc, char **argv);
int sbctl_cmd_watch(const struct sbctl_cmd *cmd, int argc, char **argv);

/* The interface flags as names without IFF_ (cmd_names.c, for watch too):
 * calls @fn for each set flag. */
void sbctl_if_flags(unsigned int flags, void (*fn)(const char *name, void *arg),
		    void *arg);
/** sbctl_json_ifaddr() - the members of one getifaddrs row (cmd_names.c). */
void sbctl_json_ifaddr(struct sbctl_json *j, const struct ifaddrs *ifa);

#endif /* SBCTL_H */
