/* SPDX-License-Identifier: MIT
 * config.h - the broker's configuration: listeners, policy and limits, from
 * the embedded default or a YAML file (parsed with libyaml).
 */
#ifndef SB_SERVER_CONFIG_H
#define SB_SERVER_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "policy.h"

#define SB__MAX_LISTENERS 16

#define SB__TLS_PATH_MAX 256

/* A Unix listener. owner/group apply only when has_owner/has_group are
 * set, so a zeroed entry never hands the socket to root. */
struct sb__listen_cfg {
	char path[108];   /* Unix socket path */
	int abstract;     /* 1: abstract namespace name */
	mode_t mode;      /* file mode of the socket (default 0600) */
	int has_owner;    /* 1: chown the socket file to @owner */
	uid_t owner;
	int has_group;    /* 1: chgrp the socket file to @group */
	gid_t group;
	char identity[64];  /* the identity its callers have (match: listener),
			     * "" for none; a rule-name-like word */
};

/* A TCP listener. Either TLS (all three files, mutual TLS: the client
 * certificate names the caller) or insecure on a loopback address. */
struct sb__tcp_listen_cfg {
	char text[64];                     /* as written: "127.0.0.1:7000" */
	struct sb__addr addr;              /* SB__ADDR_INET or _INET6, port set */
	int insecure;                      /* 1: plaintext (loopback only) */
	char cert[SB__TLS_PATH_MAX];       /* PEM server certificate chain */
	char key[SB__TLS_PATH_MAX];        /* PEM private key */
	char client_ca[SB__TLS_PATH_MAX];  /* PEM CAs that sign client certs */
};

/* The limits' defaults: the embedded configuration's, and what the
 * broker's counters start from before the configuration is applied. */
#define SB__DEF_MAX_SESSIONS          1024
#define SB__DEF_MAX_SESSIONS_PER_UID  256
#define SB__DEF_MAX_SOCKETS           4096
#define SB__DEF_MAX_SOCKETS_PER_UID   16384
#define SB__DEF_MAX_PENDING_ACCEPTS   128
#define SB__DEF_MAX_STREAM_BYTES      (1u << 20)
#define SB__DEF_MAX_SESSION_BYTES     (64u << 20)
#define SB__DEF_MAX_IDENTITY_BYTES    (256u << 20)
#define SB__DEF_MAX_MESSAGE_BYTES     (4u << 20)
#define SB__DEF_RESOLVER_THREADS      4
#define SB__DEF_MAX_CONNECTIONS       1024
#define SB__DEF_MAX_CONNECTIONS_PER_UID 64
#define SB__DEF_IDLE_CONNECTION_MS    30000

struct sb__limits {
	uint32_t max_sessions;            /* whole broker */
	uint32_t max_sessions_per_uid;    /* sessions of one identity */
	uint32_t max_sockets_per_session;
	uint32_t max_sockets_per_uid;     /* open sockets of one identity */
	uint32_t max_pending_accepts;     /* parked accepts of one session */
	uint32_t max_stream_bytes;        /* bytes in flight on one stream */
	uint32_t max_session_bytes;       /* buffer bytes held for one session */
	uint32_t max_identity_bytes;      /* ... for all sessions of one identity */
	uint32_t max_message_bytes;       /* largest request accepted */
	uint32_t resolver_threads;
	uint32_t max_connections;         /* local connections, whole broker */
	uint32_t max_connections_per_uid; /* local connections of one uid */
	uint32_t idle_connection_ms;      /* close a connection with no call */
};

/**
 * sb__limit_count(), sb__limit_name(), sb__limit_value(),
 * sb__limit_at_restart() - the limits as a table, in the order of the
 * file's documentation: how many, the i-th's name ("max_sessions"), its
 * value in @l, and 1 when only a restart changes it. For the reload's log
 * and --check-config. Out of range: NULL, 0, 0.
 */
size_t sb__limit_count(void);
const char *sb__limit_name(size_t i);
uint32_t sb__limit_value(const struct sb__limits *l, size_t i);
int sb__limit_at_restart(size_t i);

/* The `confine:` section: what the broker becomes after start-up
 * (isolation.c). */
struct sb__confine_cfg {
	int has_user;       /* 1: switch to @uid/@gid (the user's primary group) */
	uid_t uid;
	gid_t gid;
	char user[64];      /* as written, for the log */
	int seccomp;        /* 1 (default): the system call allowlist */
	int credentials;    /* 1: keep CAP_SYS_ADMIN, CAP_SETUID, CAP_SETGID so
			     * that sb_sendmsg can pass a caller's own
			     * SCM_CREDENTIALS (default 0: the kernel's EPERM) */
};

/* The `metrics:` section: an HTTP listener serving /metrics (metrics.c).
 * Loopback only unless allow_remote: the page is plaintext without
 * authentication and names every identity and rule. */
struct sb__metrics_cfg {
	int enabled;         /* 1: a listen address was given */
	char text[64];       /* as written: "127.0.0.1:9464" */
	struct sb__addr addr;
	int allow_remote;    /* 1: a non-loopback address is accepted */
};

/*
 * The whole configuration. Plain data apart from @policy, which is owned
 * (one reference) by the struct: copying the struct shares it, so a copy
 * that outlives the original takes its own reference (sb__policy_ref()),
 * and exactly one of them is given to sb__config_free().
 */
struct sb__config {
	struct sb__listen_cfg listen[SB__MAX_LISTENERS];
	size_t n_listen;
	struct sb__tcp_listen_cfg tcp_listen[SB__MAX_LISTENERS];
	size_t n_tcp_listen;
	struct sb__limits limits;
	int log_level;                    /* enum sb__log_level */
	struct sb__confine_cfg confine;
	struct sb__metrics_cfg metrics;
	struct sb__policy *policy;        /* owned; NULL denies everything */
};

/** sb__config_default() - the embedded default: one Unix listener at the
 *  default path, mode 0600, serving the broker's own uid and root
 *  (sb__policy_default(geteuid())). Release with sb__config_free(). */
void sb__config_default(struct sb__config *cfg);

/**
 * sb__config_load() - read a YAML file over the defaults
 * @cfg:  filled on success; untouched on failure
 * @path: the file
 * @err:  on failure, a message naming the line and the field
 *
 * Sections absent from the file keep @cfg's values (a file without
 * `listen` keeps @cfg's listeners; without `policy`, @cfg's policy). When
 * the file has a policy, @cfg's previous policy reference is dropped on
 * success. For a reload, load into a fresh struct (sb__config_default()
 * then sb__config_load()) and swap it in only when this returns 0: a bad
 * file changes nothing. Not thread-safe on one @cfg; resolves user and
 * group names through NSS.
 * Return: 0 or -errno (-EINVAL for a bad file, -ENOMEM).
 */
int sb__config_load(struct sb__config *cfg, const char *path, char *err,
		    size_t errlen);

/** sb__config_free() - drop @cfg's policy reference; @cfg stays valid
 *  plain data with policy NULL. */
void sb__config_free(struct sb__config *cfg);

/**
 * sb__config_add_listen() - add a listener from a `--listen` TARGET
 * ("unix:PATH" or "unix-abstract:NAME").
 * Return: 0, -EINVAL (bad target), -ENOSPC (too many).
 */
int sb__config_add_listen(struct sb__config *cfg, const char *target);

/** sb__default_socket_path() - DESIGN.md's default for this uid. */
void sb__default_socket_path(char *buf, size_t len);

#endif /* SB_SERVER_CONFIG_H */
