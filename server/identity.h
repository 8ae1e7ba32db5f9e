/* SPDX-License-Identifier: MIT
 * identity.h - who is calling: peer credentials of local connections,
 * recorded when the broker accepts them, looked up per call.
 */
#ifndef SB_SERVER_IDENTITY_H
#define SB_SERVER_IDENTITY_H

#include <stdint.h>
#include <sys/types.h>

#define SB__SAN_MAX 8    /* subjectAltName entries kept, at most */

struct sb__identity {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int known;            /* 0: no credentials (should not happen) */
	char transport[8];    /* "unix" or "tcp" */
	char cgroup[256];     /* cgroup v2 path of the peer, "" if unknown */
	char subject[256];    /* TLS client certificate subject, "" if none */
	int n_san;            /* subjectAltName entries of the certificate */
	char san[SB__SAN_MAX][256]; /* each "DNS"/"URI"/"email"/IP value */
};

/** sb__identity_record() - remember the credentials of connection @fd. */
void sb__identity_record(int fd, const struct sb__identity *id);

/** sb__identity_forget() - drop them (connection closed). */
void sb__identity_forget(int fd);

/**
 * sb__identity_of_peer() - credentials for a gRPC peer string "fd:N"
 * Return: 0 with @out filled, or -ENOENT.
 */
int sb__identity_of_peer(const char *peer, struct sb__identity *out);

/**
 * sb__identity_of_tcp() - the identity of a call over a TCP listener: the
 * verified client certificate's subject (mutual TLS), or an anonymous
 * loopback caller of an insecure listener. uid, gid and cgroup stay
 * unknown (policy matches them for Unix callers only).
 * Return: 0 with @out filled, or -ENOENT (not a TCP call).
 */
struct grpc_call;
int sb__identity_of_tcp(struct grpc_call *call, struct sb__identity *out);

/** sb__identity_from_fd() - read SO_PEERCRED and the cgroup of @fd's peer.
 *  Return: 0 or -errno. */
int sb__identity_from_fd(int fd, struct sb__identity *out);

#endif /* SB_SERVER_IDENTITY_H */
