/* SPDX-License-Identifier: MIT
 * config.h - the broker's configuration: listeners and limits, from the
 * embedded default or a YAML file (parsed with libyaml).
 */
#ifndef SB_SERVER_CONFIG_H
#define SB_SERVER_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SB__MAX_LISTENERS 16

struct sb__listen_cfg {
	char path[108];   /* Unix socket path */
	int abstract;     /* 1: abstract namespace name */
	mode_t mode;      /* file mode of the socket (default 0600) */
};

struct sb__limits {
	uint32_t max_sessions;            /* whole broker */
	uint32_t max_sessions_per_uid;
	uint32_t max_sockets_per_session;
	uint32_t max_message_bytes;       /* largest request accepted */
	uint32_t max_wait_ms;             /* longest a call may be parked */
	uint32_t resolver_threads;
};

struct sb__config {
	struct sb__listen_cfg listen[SB__MAX_LISTENERS];
	size_t n_listen;
	struct sb__limits limits;
	uid_t allow_uids[2];              /* default policy: owner and root */
	int log_level;                    /* enum sb__log_level */
};

/** sb__config_default() - the embedded default: one Unix listener at the
 *  default path, mode 0600, serving the broker's own uid and root. */
void sb__config_default(struct sb__config *cfg);

/**
 * sb__config_load() - read a YAML file over the defaults
 * @cfg:  filled on success; untouched on failure
 * @path: the file
 * @err:  on failure, a message naming the line and the field
 * Return: 0 or -errno (-EINVAL for a bad file).
 */
int sb__config_load(struct sb__config *cfg, const char *path, char *err,
		    size_t errlen);

/**
 * sb__config_add_listen() - add a listener from a `--listen` TARGET
 * ("unix:PATH" or "unix-abstract:NAME").
 * Return: 0, -EINVAL (bad target), -ENOSPC (too many).
 */
int sb__config_add_listen(struct sb__config *cfg, const char *target);

/** sb__default_socket_path() - DESIGN.md's default for this uid. */
void sb__default_socket_path(char *buf, size_t len);

#endif /* SB_SERVER_CONFIG_H */
