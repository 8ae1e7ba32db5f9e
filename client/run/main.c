/* SPDX-License-Identifier: MIT
 * main.c - sockbroker-run: run an unmodified program in a sandbox with no
 * network of its own, whose connect/bind/listen the broker serves under
 * its policy. Options, the broker session, and the order of start-up.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <mntent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

int sbr_verbose;
int sbr_remote;

void sbr_log(const char *fmt, ...)
{
	va_list ap;

	if (!sbr_verbose)
		return;
	va_start(ap, fmt);
	fputs("sockbroker-run: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void sbr_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("sockbroker-run: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void sbr_usage(FILE *f)
{
	fputs("usage: sockbroker-run [--broker TARGET] [--cgroup PATH] [-v] [--] CMD [ARGS...]\n"
	      "Run CMD in a sandbox with no network of its own (a new user and network\n"
	      "namespace with only loopback); its connect, bind and listen on IPv4/IPv6\n"
	      "are done by sockbrokerd under the broker's policy for the invoking user,\n"
	      "and the broker's sockets are put in CMD's place.\n"
	      "\n"
	      "  -b, --broker TARGET  the broker (default: $SOCKBROKER_ADDR, else\n"
	      "                       " SB_DEFAULT_TARGET "); over TCP (HOST:PORT,\n"
	      "                       TLS from $SOCKBROKER_TLS_CA/_CERT/_KEY) the\n"
	      "                       connections are relayed, slower\n"
	      "  -c, --cgroup PATH    move into cgroup v2 PATH (under the cgroup2 mount:\n"
	      "                       /sys/fs/cgroup, or /sys/fs/cgroup/unified)\n"
	      "                       first, so that the broker's cgroup rules match\n"
	      "  -v, --verbose        say what the broker did for each call\n"
	      "  -h, --help           this text\n"
	      "  -V, --version        the version\n"
	      "\n"
	      "Exit status: CMD's; 128+N when it was killed by signal N; 125 when\n"
	      "sockbroker-run failed, 126 when CMD could not run, 127 when not found.\n",
	      f);
}

/* A broker over TCP cannot pass fds (sockbroker.h H2): relay.c then. */
static int sbr_target_local(const char *t)
{
	return t[0] == '/' || !strncmp(t, "unix:", 5) || !strncmp(t, "unix-abstract:", 14);
}

/* Where the cgroup v2 hierarchy is mounted: /sys/fs/cgroup on a unified
 * host, /sys/fs/cgroup/unified on a hybrid one (cgroup v1 controllers
 * beside it). The first cgroup2 mount of /proc/self/mounts, into @dir. */
static int sbr_cgroup2_root(char *dir, size_t len)
{
	FILE *f = setmntent("/proc/self/mounts", "re");
	struct mntent *m;
	int rc = -1;

	if (!f)
		return -1;
	while ((m = getmntent(f)) != NULL) {
		if (strcmp(m->mnt_type, "cgroup2") != 0)
			continue;
		if (strlen(m->mnt_dir) < len) {
			strcpy(dir, m->mnt_dir);
			rc = 0;
		}
		break;
	}
	endmntent(f);
	return rc;
}

static int sbr_enter_cgroup(const char *path)
{
	const char *dots = strstr(path, "/..");
	char file[4096], root[1024];
	int fd, rc = 0;

	if (path[0] != '/' || (dots && (dots[3] == '/' || dots[3] == '\0'))) {
		sbr_err("--cgroup: '%s' is not an absolute cgroup path", path);
		return -1;
	}
	if (sbr_cgroup2_root(root, sizeof(root)) < 0) {
		sbr_err("--cgroup: no cgroup v2 hierarchy is mounted (mount -t cgroup2 "
			"none /sys/fs/cgroup/unified, or boot with the unified hierarchy)");
		return -1;
	}
	if (strcmp(path, "/") == 0)
		path = "";
	if (snprintf(file, sizeof(file), "%s%s/cgroup.procs", root, path) >=
	    (int)sizeof(file)) {
		sbr_err("--cgroup: path too long");
		return -1;
	}
	fd = open(file, O_WRONLY | O_CLOEXEC);
	/* "0" is the writing process itself. */
	if (fd < 0 || write(fd, "0\n", 2) != 2) {
		sbr_err("--cgroup: cannot move into %s: %s (it must exist, on cgroup "
			"v2, and be writable by this user)", path, strerror(errno));
		rc = -1;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "broker", required_argument, NULL, 'b' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct sbr_sandbox sb;
	const char *target = NULL, *cgroup = NULL;
	sb_client *c;
	sigset_t set;
	int o, rc, st, busy = 0;

	while ((o = getopt_long(argc, argv, "+b:c:vhV", opts, NULL)) != -1) {
		switch (o) {
		case 'b':
			target = optarg;
			break;
		case 'c':
			cgroup = optarg;
			break;
		case 'v':
			sbr_verbose = 1;
			break;
		case 'h':
			sbr_usage(stdout);
			return 0;
		case 'V':
			printf("sockbroker-run %s\n", SB_VERSION);
			return 0;
		default:
			sbr_usage(stderr);
			return SBR_EXIT_FAIL;
		}
	}
	if (optind >= argc) {
		sbr_err("no command given (see --help)");
		return SBR_EXIT_FAIL;
	}
	if (!target)
		target = getenv("SOCKBROKER_ADDR");
	if (!target || !*target)
		target = SB_DEFAULT_TARGET;
	sbr_remote = !sbr_target_local(target);
	if (cgroup && sbr_enter_cgroup(cgroup) < 0)
		return SBR_EXIT_FAIL;
	if (sbr_block_signals(&set) < 0) {
		sbr_err("sigprocmask: %s", strerror(errno));
		return SBR_EXIT_FAIL;
	}
	/* The sandbox is forked before gRPC starts its threads. */
	if (sbr_sandbox_start(argv + optind, &sb) < 0)
		return SBR_EXIT_FAIL;
	signal(SIGPIPE, SIG_IGN);
	c = sb_open(target);
	if (!c) {
		/* The library's message names the target and the reason. */
		if (sb_last_error())
			sbr_err("%s", sb_last_error());
		else
			sbr_err("cannot reach the broker at %s: %s", target, strerror(errno));
		kill(sb.pid, SIGKILL);
		while (waitpid(sb.pid, &st, 0) < 0 && errno == EINTR)
			;
		sbr_sandbox_close(&sb);
		return SBR_EXIT_FAIL;
	}
	rc = sbr_sandbox_go(&sb);
	if (rc) {
		while (waitpid(sb.pid, &st, 0) < 0 && errno == EINTR)
			;
	} else {
		rc = sbr_supervise(&sb, c, &busy);
		if (busy || atomic_load(&sbr_relays_active)) {
			fflush(NULL);
			_exit(rc);
		}
	}
	sb_close_client(c);
	sbr_sandbox_close(&sb);
	return rc;
}
