/* SPDX-License-Identifier: MIT
 * identity.c - peer credentials of local connections, keyed by the fd that
 * gRPC names in its peer string ("fd:N").
 *
 * The record is written when the broker accepts the connection and before
 * gRPC sees the fd, and overwritten when the kernel reuses the number for
 * the next accepted connection: a call can only come from a live
 * connection, so its fd's current record is its own.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>

#include "identity.h"
#include "log.h"

static pthread_rwlock_t sb__idlock = PTHREAD_RWLOCK_INITIALIZER;
static struct sb__identity *sb__ids;
static size_t sb__n_ids;

void sb__identity_record(int fd, const struct sb__identity *id)
{
	if (fd < 0)
		return;
	pthread_rwlock_wrlock(&sb__idlock);
	if ((size_t)fd >= sb__n_ids) {
		size_t n = (size_t)fd * 2 + 64;
		struct sb__identity *p = realloc(sb__ids, n * sizeof(*p));

		if (!p)
			goto out;
		memset(p + sb__n_ids, 0, (n - sb__n_ids) * sizeof(*p));
		sb__ids = p;
		sb__n_ids = n;
	}
	sb__ids[fd] = *id;
	sb__ids[fd].known = 1;
out:
	pthread_rwlock_unlock(&sb__idlock);
}

void sb__identity_forget(int fd)
{
	pthread_rwlock_wrlock(&sb__idlock);
	if (fd >= 0 && (size_t)fd < sb__n_ids)
		sb__ids[fd].known = 0;
	pthread_rwlock_unlock(&sb__idlock);
}

int sb__identity_of_peer(const char *peer, struct sb__identity *out)
{
	char *end;
	long fd;
	int ret = -ENOENT;

	if (!peer || strncmp(peer, "fd:", 3))
		return -ENOENT;
	fd = strtol(peer + 3, &end, 10);
	if (*end || fd < 0)
		return -ENOENT;
	pthread_rwlock_rdlock(&sb__idlock);
	if ((size_t)fd < sb__n_ids && sb__ids[fd].known) {
		*out = sb__ids[fd];
		ret = 0;
	}
	pthread_rwlock_unlock(&sb__idlock);
	return ret;
}

/* The cgroup v2 path of @pid ("0::/path"), or "" when unknown. */
static void sb__cgroup_of(pid_t pid, char *buf, size_t len)
{
	char path[64], line[512];
	FILE *f;

	buf[0] = 0;
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "0::", 3)) {
			size_t n = strcspn(line + 3, "\n");

			if (n >= len)
				n = len - 1;
			memcpy(buf, line + 3, n);
			buf[n] = 0;
			break;
		}
	}
	fclose(f);
}

int sb__identity_from_fd(int fd, struct sb__identity *out)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return -errno;
	memset(out, 0, sizeof(*out));
	out->uid = cr.uid;
	out->gid = cr.gid;
	out->pid = cr.pid;
	out->known = 1;
	snprintf(out->transport, sizeof(out->transport), "unix");
	sb__cgroup_of(cr.pid, out->cgroup, sizeof(out->cgroup));
	return 0;
}

int sb__identity_of_tcp(grpc_call *call, struct sb__identity *out)
{
	grpc_auth_context *ctx = grpc_call_auth_context(call);
	grpc_auth_property_iterator it;
	const grpc_auth_property *p;
	char *peer = grpc_call_get_peer(call);
	int tcp = peer && (!strncmp(peer, "ipv4:", 5) || !strncmp(peer, "ipv6:", 5));

	gpr_free(peer);
	if (!tcp) {
		if (ctx)
			grpc_auth_context_release(ctx);
		return -ENOENT;
	}
	memset(out, 0, sizeof(*out));
	out->uid = (uid_t)-1;
	out->gid = (gid_t)-1;
	out->pid = 0;
	out->known = 1;
	snprintf(out->transport, sizeof(out->transport), "tcp");
	if (ctx) {
		it = grpc_auth_context_find_properties_by_name(ctx,
							       GRPC_X509_SUBJECT_PROPERTY_NAME);
		p = grpc_auth_property_iterator_next(&it);
		if (p && p->value_length >= sizeof(out->subject)) {
			/* Never cut a subject: a longer one could then pass
			 * for another's. Such a caller has no identity. */
			grpc_auth_context_release(ctx);
			sb__info("tcp caller refused: certificate subject longer than "
				 "%zu bytes", sizeof(out->subject) - 1);
			return -ENOENT;
		}
		if (p && p->value_length > 0) {
			memcpy(out->subject, p->value, p->value_length);
			out->subject[p->value_length] = 0;
		}
		/* subjectAltName entries, for `san` rules; one too long to
		 * keep whole is left out (it can match no rule), never cut. */
		it = grpc_auth_context_find_properties_by_name(ctx,
							       GRPC_X509_SAN_PROPERTY_NAME);
		while ((p = grpc_auth_property_iterator_next(&it)) &&
		       out->n_san < SB__SAN_MAX) {
			if (!p->value_length || p->value_length >= sizeof(out->san[0]))
				continue;
			memcpy(out->san[out->n_san], p->value, p->value_length);
			out->san[out->n_san][p->value_length] = 0;
			out->n_san++;
		}
		grpc_auth_context_release(ctx);
	}
	sb__debug("tcp caller, certificate subject \"%s\"%s%s", out->subject,
		  out->n_san ? ", first subjectAltName " : "", out->n_san ? out->san[0] : "");
	return 0;
}
