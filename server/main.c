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

#include "clock.h"
#include "config.h"
#include "dialchan.h"
#include "guard.h"
#include "identity.h"
#include "isolation.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
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
		"      --check-config FILE\n"
		"                        read and check FILE, print what would be\n"
		"                        served, exit 0 (valid) or 1; starts nothing\n"
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

/* The file's settings in force (start-up or the last reload), for the
 * reload log to say what changed; owns one policy reference. */
static struct sb__config sb__live;

/*
 * A configuration file must have a `policy:` section: an empty or
 * truncated file would otherwise put the embedded default (or, on
 * SIGHUP, nothing the operator wrote) in force without a word. @def is
 * the policy @cfg held before sb__config_load(), which replaces it only
 * when the file has one. Return: 0, or -EINVAL with @err set.
 */
static int sb__config_has_policy(const struct sb__config *cfg,
				 const struct sb__policy *def, char *err, size_t errlen)
{
	if (cfg->policy != def)
		return 0;
	snprintf(err, errlen, "no policy section (an empty or cut-short file?); a "
		 "configuration file must say who is served: the embedded default "
		 "applies only without --config");
	return -EINVAL;
}

static void sb__apply_limits(const struct sb__limits *l)
{
	sb__sessions_set_limits(l->max_sessions, l->max_sessions_per_uid,
				l->max_sockets_per_session, l->max_sockets_per_uid,
				l->max_pending_accepts, l->max_stream_bytes);
	sb__sessions_set_byte_limits(l->max_session_bytes, l->max_identity_bytes);
	sb__listeners_set_limits(l);
}

/* What the reload changes in the limits, as "name old -> new, ...". */
static void sb__limits_diff(const struct sb__limits *o, const struct sb__limits *l,
			    char *buf, size_t len)
{
	size_t n = 0, i;

	buf[0] = 0;
	for (i = 0; i < sb__limit_count() && n < len; i++) {
		uint32_t a = sb__limit_value(o, i), b = sb__limit_value(l, i);
		int r;

		if (a == b)
			continue;
		r = snprintf(buf + n, len - n, "%s%s %u -> %u%s", n ? ", " : "",
			     sb__limit_name(i), (unsigned)a, (unsigned)b,
			     sb__limit_at_restart(i) ? " (at restart)" : "");
		if (r > 0)
			n += (size_t)r;
	}
	if (!n)
		snprintf(buf, len, "none changed");
}

static int sb__listeners_differ(const struct sb__config *a, const struct sb__config *b)
{
	return a->n_listen != b->n_listen || a->n_tcp_listen != b->n_tcp_listen ||
	       memcmp(a->listen, b->listen, a->n_listen * sizeof(a->listen[0])) ||
	       memcmp(a->tcp_listen, b->tcp_listen,
		      a->n_tcp_listen * sizeof(a->tcp_listen[0]));
}

/*
 * Can a confined broker put @nc in force? Listeners stay as started (their
 * ports do not count), and a capability dropped at start-up cannot come
 * back (isolation.c). Return: 0, or -EPERM with @err set.
 */
static int sb__reload_confined(const struct sb__config *nc, char *err, size_t errlen)
{
	static struct sb__config c;	/* large: not on the main thread's stack */

	c = *nc;
	memcpy(c.tcp_listen, sb__live.tcp_listen, sizeof(c.tcp_listen));
	c.n_tcp_listen = sb__live.n_tcp_listen;
	c.confine = sb__live.confine;
	c.confine.credentials = nc->confine.credentials;
	return sb__isolation_reload_ok(&c, err, errlen);
}

/* What the reload leaves of the file's confine section: the user and
 * seccomp take a restart. */
static const char *sb__confine_differs(const struct sb__config *a, const struct sb__config *b)
{
	return a->confine.has_user != b->confine.has_user ||
	       (a->confine.has_user && a->confine.uid != b->confine.uid) ||
	       a->confine.seccomp != b->confine.seccomp ?
	       "changed in the file, apply at restart" : "unchanged";
}

/* Does the metrics listener of @b differ from @a's (a change applies at
 * restart)? */
static int sb__metrics_differ(const struct sb__metrics_cfg *a, const struct sb__metrics_cfg *b)
{
	return a->enabled != b->enabled || a->allow_remote != b->allow_remote ||
	       strcmp(a->text, b->text) != 0;
}

/*
 * SIGHUP: read the file again and put its policy and limits in force for
 * new calls. A bad file, or one without a policy, changes nothing.
 * Listeners, the message size and the resolver pool are fixed at start-up:
 * a change there is logged, not applied (and stays reported until a
 * restart). The log line says what changed.
 */
static void sb__reload(const char *path)
{
	struct sb__policy *def;
	struct sb__config nc;
	char err[512] = "", lim[512];

	if (!path) {
		sb__info("SIGHUP: no configuration file (embedded default): nothing "
			 "to reload");
		return;
	}
	sb__config_default(&nc);
	def = nc.policy;
	if (sb__config_load(&nc, path, err, sizeof(err)) < 0 ||
	    sb__config_has_policy(&nc, def, err, sizeof(err)) < 0 ||
	    sb__reload_confined(&nc, err, sizeof(err)) < 0) {
		sb__err("SIGHUP: %s: reload refused: %s; the running configuration "
			"stays in force (%zu policy rules)", path, err,
			sb__policy_rule_count(sb__live.policy));
		sb__config_free(&nc);
		return;
	}
	sb__guard_set(sb__policy_ref(nc.policy));
	sb__apply_limits(&nc.limits);
	sb__log_set_level(sb__verbose ? SB__LOG_DEBUG : (enum sb__log_level)nc.log_level);
	sb__limits_diff(&sb__live.limits, &nc.limits, lim, sizeof(lim));
	sb__info("SIGHUP: %s reloaded: policy rules %zu -> %zu in force for new "
		 "calls; limits: %s; listeners: %s; confine: %s; metrics: %s", path,
		 sb__policy_rule_count(sb__live.policy), sb__policy_rule_count(nc.policy),
		 lim, sb__listeners_differ(&sb__live, &nc) ?
		 "changed in the file, apply at restart" : "unchanged",
		 sb__confine_differs(&sb__live, &nc),
		 sb__metrics_differ(&sb__live.metrics, &nc.metrics) ?
		 "changed in the file, apply at restart" : "unchanged");
	/* What stays fixed until a restart stays as it was started. */
	nc.limits.max_message_bytes = sb__live.limits.max_message_bytes;
	nc.limits.resolver_threads = sb__live.limits.resolver_threads;
	memcpy(nc.listen, sb__live.listen, sizeof(nc.listen));
	nc.n_listen = sb__live.n_listen;
	memcpy(nc.tcp_listen, sb__live.tcp_listen, sizeof(nc.tcp_listen));
	nc.n_tcp_listen = sb__live.n_tcp_listen;
	nc.confine = sb__live.confine;
	nc.metrics = sb__live.metrics;
	sb__config_free(&sb__live);
	sb__live = nc;
}

/* The Unix listeners in force: --listen's replace the file's; with none,
 * the default socket. */
static void sb__final_listeners(struct sb__config *cfg, const struct sb__config *cli)
{
	if (cli->n_listen) {
		memcpy(cfg->listen, cli->listen, sizeof(cfg->listen));
		cfg->n_listen = cli->n_listen;
	}
	if (!cfg->n_listen) {
		char def[108];

		sb__default_socket_path(def, sizeof(def));
		cfg->listen[0].mode = 0600;
		snprintf(cfg->listen[0].path, sizeof(cfg->listen[0].path), "%s", def);
		cfg->n_listen = 1;
	}
}

/*
 * --check-config FILE: read and validate the file as a start would, print
 * what would be served (listeners, limits, the rules in order), exit 0;
 * or print the error and exit 1. Nothing is bound or started.
 */
static int sb__check_config(const char *path, const struct sb__config *cli)
{
	struct sb__config cfg;
	struct sb__policy *def;
	char err[512] = "", line[512];
	size_t i, n;
	int ret = 1;

	sb__config_default(&cfg);
	def = cfg.policy;
	if (sb__config_load(&cfg, path, err, sizeof(err)) < 0 ||
	    sb__config_has_policy(&cfg, def, err, sizeof(err)) < 0) {
		fprintf(stderr, "sockbrokerd: %s: %s\n", path, err);
		goto out;
	}
	sb__final_listeners(&cfg, cli);
	printf("%s: valid\n", path);
	for (i = 0; i < cfg.n_listen; i++) {
		const struct sb__listen_cfg *l = &cfg.listen[i];

		if (l->abstract)
			printf("listen unix-abstract:%s\n", l->path);
		else
			printf("listen unix:%s mode %04o%s%s%s%s\n", l->path, (unsigned)l->mode,
			       l->has_owner ? " (owner set)" : "",
			       l->has_group ? " (group set)" : "",
			       l->identity[0] ? " identity " : "", l->identity);
	}
	for (i = 0; i < cfg.n_tcp_listen; i++)
		printf("listen tcp %s (%s)\n", cfg.tcp_listen[i].text,
		       cfg.tcp_listen[i].insecure ? "plaintext, loopback only" : "mutual TLS");
	if (cfg.metrics.enabled)
		printf("metrics http://%s/metrics (%s; %d connections, %d-byte requests, %d s "
		       "idle)\n", cfg.metrics.text, cfg.metrics.allow_remote ?
		       "allow_remote: reachable beyond loopback" : "loopback only",
		       SB__METRICS_CONNS, SB__METRICS_REQ_BYTES, SB__METRICS_TIMEOUT_S);
	else
		printf("metrics off (no metrics section)\n");
	for (i = 0; i < sb__limit_count(); i++)
		printf("limit %s %u\n", sb__limit_name(i),
		       (unsigned)sb__limit_value(&cfg.limits, i));
	n = sb__policy_rule_count(cfg.policy);
	printf("policy: %zu rule%s, the first that applies decides; none: refused\n", n,
	       n == 1 ? "" : "s");
	for (i = 0; i < n; i++)
		if (sb__policy_describe(cfg.policy, i, line, sizeof(line)) == 0)
			printf("  %zu. %s\n", i + 1, line);
	sb__isolation_describe(&cfg, stdout);
	ret = 0;
out:
	sb__config_free(&cfg);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "listen", required_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "check-config", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	struct sb__config cfg, cli;
	const char *config_path = NULL, *check_path = NULL;
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
		case 'C':
			check_path = optarg;
			break;
		default:
			sb__usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "sockbrokerd: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (check_path) {
		sb__config_free(&cfg);
		return sb__check_config(check_path, &cli);
	}
	if (config_path) {
		struct sb__policy *def = cfg.policy;

		if (sb__config_load(&cfg, config_path, err, sizeof(err)) < 0 ||
		    sb__config_has_policy(&cfg, def, err, sizeof(err)) < 0) {
			fprintf(stderr, "sockbrokerd: %s: %s\n", config_path, err);
			sb__config_free(&cfg);
			return 1;
		}
	}
	sb__live = cfg;
	sb__policy_ref(sb__live.policy);
	sb__final_listeners(&cfg, &cli);
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
	if (sb__reflect_init() < 0)
		sb__die("cannot index the descriptor files for reflection");
	if (sb__listeners_open(&cfg, err, sizeof(err)) < 0)
		sb__die("cannot listen: %s", err);
	if (sb__metrics_open(&cfg.metrics, err, sizeof(err)) < 0) {
		sb__listeners_close();
		sb__die("cannot listen: %s", err);
	}
	/* Start-up is done with what needs privileges; no thread exists yet
	 * (isolation.c's stages). */
	sb__rpc_read_tls(&cfg);
	if (sb__isolation_confine(&cfg, err, sizeof(err)) < 0) {
		sb__listeners_close();
		sb__die("cannot confine the broker: %s", err);
	}
	if (sb__reactor_start() < 0 || sb__pool_start(cfg.limits.resolver_threads) < 0 ||
	    sb__dialchan_start() < 0 || sb__rpc_start(&cfg) < 0 || sb__listeners_start() < 0 ||
	    sb__metrics_start() < 0) {
		sb__metrics_stop();
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
			/* systemd shows the unit "reloading" until READY=1
			 * (MONOTONIC_USEC is what Type=notify-reload checks). */
			sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%lld",
				   (long long)sb__now_ms() * 1000);
			sb__reload(config_path);
			sd_notify(0, "READY=1");
			continue;
		}
		break;
	}
	sb__info("signal %d: shutting down", sig);
	sd_notify(0, "STOPPING=1");
	/* Sessions end first (their parked calls fail with EBADF), then the
	 * reactor and the resolver pool finish what they hold while the
	 * completion queue still runs; gRPC stops last. */
	sb__metrics_stop();
	sb__listeners_close();
	sb__sessions_end_all();
	sb__reactor_stop();
	sb__pool_stop();
	sb__dialchan_stop();
	sb__rpc_stop();
	sb__reflect_free();
	sb__guard_free();
	sb__config_free(&cfg);
	sb__config_free(&sb__live);
	sb__info("stopped");
	return 0;
}
