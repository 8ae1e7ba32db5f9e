/* SPDX-License-Identifier: MIT
 * listener.h - the broker's Unix-socket listeners: it accepts connections
 * itself, reads the peer's credentials, and hands each to gRPC.
 */
#ifndef SB_SERVER_LISTENER_H
#define SB_SERVER_LISTENER_H

#include "config.h"

/**
 * sb__listeners_open() - create, bind and listen on every configured socket
 * @err: a message on failure
 * Return: 0 or -errno (nothing left open, no file left behind).
 */
int sb__listeners_open(const struct sb__config *cfg, char *err, size_t errlen);

/** sb__listeners_set_limits() - max_connections, max_connections_per_uid and
 *  idle_connection_ms of @l for connections accepted from now on (start-up
 *  and reload). Thread-safe. */
void sb__listeners_set_limits(const struct sb__limits *l);

/** sb__listeners_start() - start the accept thread. Return: 0 or -errno. */
int sb__listeners_start(void);

/** sb__listeners_close() - stop accepting, close and remove the socket files. */
void sb__listeners_close(void);

#endif /* SB_SERVER_LISTENER_H */
