/* SPDX-License-Identifier: MIT
 * main.c - sockbrokerd: arguments, configuration, start-up in order,
 * signals, and a clean shutdown that removes the socket files.
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "config.h"
#include "guard.h"
#include "identity.h"
#include "listener.h"
#include "log.h"
#include "ops.h"
#include "pool.h"
#include "reactor.h"
#include "rpc.h"
#include "session.h"
#include "stats.h"

static void sb__usage(FILE *f)
{
	char def[108];

	sb__default_socket_path(def, sizeof(def));
	fprintf(f,
		"Usage: sockbrokerd [OPTION]...\n"
		"Own real sockets and lend them out over gRPC (sockbroker.v1).\n"
		"\n"
		"  -c, --config FILE     read the YAML configuration FILE\n"
		"                        (see deploy/sockbrokerd.yaml); without it the\n"
		"                        embedded default applies\n"
		"  -l, --listen TARGET   listen on TARGET: unix:PATH or\n"
		"                        unix-abstract:NAME; repeatable; replaces the\n"
		"                        listeners of the configuration\n"
		"  -v, --verbose         log every refused call (log level debug)\n"
		"  -h, --help            show this help and exit\n"
		"  -V, --version         show the version and exit\n"
		"\n"
		"Default: listen on unix:%s (mode 0600), serve\n"
		"uid %u and root only. Clients find the broker through\n"
		"SOCKBROKER_ADDR (e.g. unix:%s).\n"
		"Signals: SIGTERM, SIGINT stop cleanly and remove the socket file.\n",
		def, (unsigned)geteuid(), def);
}

static void sb__raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int sb__verbose; /* --verbose: debug logging, also after a reload */

static void sb__apply_limits(const struct sb__limits *l)
{
	sb__sessions_set_limits(l->max_sessions, l->max_sessions_per_uid,
				l->max_sockets_per_session, l->max_sockets_per_uid,
				l->max_pending_accepts, l->max_stream_bytes);
	sb__sessions_set_byte_limits(l->max_session_bytes, l->max_identity_bytes);
}

/*
 * SIGHUP: read the file again and put its policy and limits in force for
 * new calls. A bad file changes nothing. Listeners and the message size
 * are fixed at start-up: a change there is logged, not applied.
 */
static void sb__reload(const char *path)
{
	struct sb__config nc;
	char err[512] = "";

	if (!path) {
		sb__info("SIGHUP: no configuration file (embedded default): nothing "
			 "to reload");
		return;
	}
	sb__config_default(&nc);
	if (sb__config_load(&nc, path, err, sizeof(err)) < 0) {
		sb__err("SIGHUP: %s: %s; the running configuration stays in force",
			path, err);
		sb__config_free(&nc);
		return;
	}
	sb__guard_set(sb__policy_ref(nc.policy));
	sb__apply_limits(&nc.limits);
	sb__log_set_level(sb__verbose ? SB__LOG_DEBUG : (enum sb__log_level)nc.log_level);
	sb__info("SIGHUP: %s reloaded: %zu policy rules in force for new calls "
		 "(listeners, max_message_bytes and resolver_threads apply at restart)", path,
		 sb__policy_rule_count(nc.policy));
	sb__config_free(&nc);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct sb__config cfg, cli;
	const char *config_path = NULL;
	char err[512] = "";
	sigset_t sigs;
	int opt, sig, verbose = 0;
	size_t i;

	sb__config_default(&cfg);
	memset(&cli, 0, sizeof(cli));
	while ((opt = getopt_long(argc, argv, "c:l:vhV", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'l':
			if (sb__config_add_listen(&cli, optarg) < 0) {
				fprintf(stderr, "sockbrokerd: bad --listen target '%s' "
					"(expected unix:PATH or unix-abstract:NAME)\n", optarg);
				return 2;
			}
			break;
		case 'v':
			verbose = 1;
			sb__verbose = 1;
			break;
		case 'h':
			sb__usage(stdout);
			return 0;
		case 'V':
			printf("sockbrokerd %s\n", SB_VERSION);
			return 0;
		default:
			sb__usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sockbrokerd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (config_path && sb__config_load(&cfg, config_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "sockbrokerd: %s: %s\n", config_path, err);
		return 1;
	}
	if (cli.n_listen) {
		memcpy(cfg.listen, cli.listen, sizeof(cfg.listen));
		cfg.n_listen = cli.n_listen;
	}
	if (!cfg.n_listen) {
		char def[108];

		sb__default_socket_path(def, sizeof(def));
		cfg.listen[0].mode = 0600;
		snprintf(cfg.listen[0].path, sizeof(cfg.listen[0].path), "%s", def);
		cfg.n_listen = 1;
	}
	sb__log_set_level(verbose ? SB__LOG_DEBUG : (enum sb__log_level)cfg.log_level);

	/* Signals are taken by sigwait() below; every thread inherits the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	sb__raise_nofile();

	/* Stream frames (up to a few hundred KiB) come and go all the time:
	 * keep them on the heap instead of fresh mmaps, and do not hand
	 * every free back to the kernel, which made each frame fault its
	 * pages in again (Pipe push throughput tripled in tests/bench). */
	mallopt(M_MMAP_THRESHOLD, 8 << 20);
	mallopt(M_TRIM_THRESHOLD, 32 << 20);
	sb__stats_init();
	sb__guard_set(sb__policy_ref(cfg.policy));
	sb__op_set_max_bytes(cfg.limits.max_message_bytes);
	sb__apply_limits(&cfg.limits);
	if (sb__sessions_init() < 0)
		sb__die("cannot initialise sessions");
	if (sb__listeners_open(&cfg, err, sizeof(err)) < 0)
		sb__die("cannot listen: %s", err);
	if (sb__reactor_start() < 0 || sb__pool_start(cfg.limits.resolver_threads) < 0 ||
	    sb__rpc_start(&cfg) < 0 || sb__listeners_start() < 0) {
		sb__listeners_close();
		sb__die("start-up failed: %s", strerror(errno));
	}
	sd_notify(0, "READY=1");
	for (i = 0; i < cfg.n_listen; i++)
		sb__info("listening on %s%s (mode %04o); clients: export SOCKBROKER_ADDR=%s%s",
			 cfg.listen[i].abstract ? "unix-abstract:" : "unix:",
			 cfg.listen[i].path, (unsigned)cfg.listen[i].mode,
			 cfg.listen[i].abstract ? "unix-abstract:" : "unix:",
			 cfg.listen[i].path);

	for (;;) {
		if (sigwait(&sigs, &sig))
			continue;
		if (sig == SIGHUP) {
			sb__reload(config_path);
			continue;
		}
		break;
	}
	sb__info("signal %d: shutting down", sig);
	sd_notify(0, "STOPPING=1");
	/* Sessions end first (their parked calls fail with EBADF), then the
	 * reactor and the resolver pool finish what they hold while the
	 * completion queue still runs; gRPC stops last. */
	sb__listeners_close();
	sb__sessions_end_all();
	sb__reactor_stop();
	sb__pool_stop();
	sb__rpc_stop();
	sb__guard_free();
	sb__config_free(&cfg);
	sb__info("stopped");
	return 0;
}
