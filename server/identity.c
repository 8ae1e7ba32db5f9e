/* SPDX-License-Identifier: MIT
 * identity.c - who is calling: one record per accepted local connection
 * (peer credentials, calls in flight, idleness), the connection counters
 * and limits, and the identity of TCP callers.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>

#include "clock.h"
#include "identity.h"
#include "log.h"
#include "stats.h"

/* One accepted local connection (see identity.h for the life cycle). */
struct sb__conn {
	struct sb__identity id;
	struct sb__idrec *rec;  /* the identity's counters */
	dev_t dev;              /* the socket behind the fd number */
	ino_t ino;
	uint64_t gen;
	unsigned calls;         /* calls begun and not ended */
	int64_t idle_since_ms;  /* when calls last fell to 0 */
	int shut;               /* shut down for idleness already */
};

static pthread_mutex_t sb__conn_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sb__conn **sb__conns;     /* indexed by fd number */
static size_t sb__n_conns;              /* table size */
static uint64_t sb__conn_gen;
static atomic_uint_fast64_t sb__c_open, sb__c_ref_policy, sb__c_ref_limit,
	sb__c_idle, sb__c_emfile;

/* Drop the record at @fd. Caller holds sb__conn_lock. */
static void sb__conn_release(size_t fd)
{
	struct sb__conn *k = sb__conns[fd];

	if (!k)
		return;
	atomic_fetch_sub(&k->rec->connections_open, 1);
	atomic_fetch_sub(&sb__c_open, 1);
	sb__conns[fd] = NULL;
	free(k);
}

/* 1 when fd number @fd still names the socket of record @k. */
static int sb__conn_same(const struct sb__conn *k, int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && st.st_dev == k->dev && st.st_ino == k->ino;
}

int sb__conn_admit(int fd, const struct sb__identity *id, uint32_t max_total,
		   uint32_t max_per_id)
{
	struct sb__idrec *rec = sb__idrec_of(id);
	struct sb__conn *k = NULL;
	struct stat st;
	int ret = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		return -EBADF;
	pthread_mutex_lock(&sb__conn_lock);
	/* accept() returned this number: whatever it named before is gone. */
	if ((size_t)fd < sb__n_conns)
		sb__conn_release((size_t)fd);
	if ((max_total && atomic_load(&sb__c_open) >= max_total) ||
	    (max_per_id && atomic_load(&rec->connections_open) >= max_per_id)) {
		ret = -EMFILE;
		goto out;
	}
	if ((size_t)fd >= sb__n_conns) {
		size_t n = (size_t)fd * 2 + 64;
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		struct sb__conn **p = realloc(sb__conns, n * sizeof(*p));

		if (!p) {
			ret = -ENOMEM;
			goto out;
		}
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		memset(p + sb__n_conns, 0, (n - sb__n_conns) * sizeof(*p));
		sb__conns = p;
		sb__n_conns = n;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		ret = -ENOMEM;
		goto out;
	}
	k->id = *id;
	k->id.known = 1;
	k->rec = rec;
	k->dev = st.st_dev;
	k->ino = st.st_ino;
	k->gen = ++sb__conn_gen;
	k->idle_since_ms = sb__now_ms();
	sb__conns[fd] = k;
	atomic_fetch_add(&rec->connections_open, 1);
	atomic_fetch_add(&sb__c_open, 1);
out:
	pthread_mutex_unlock(&sb__conn_lock);
	if (ret == -EMFILE)
		sb__conn_refused(id, 0);
	return ret;
}

void sb__conn_refused(const struct sb__identity *id, int by_policy)
{
	atomic_fetch_add(&sb__idrec_of(id)->connections_refused, 1);
	if (by_policy) {
		atomic_fetch_add(&sb__c_ref_policy, 1);
		sb__stats_denied(id);
	} else {
		atomic_fetch_add(&sb__c_ref_limit, 1);
		sb__stats_limit(id);
	}
}

void sb__conn_dropped(void)
{
	atomic_fetch_add(&sb__c_emfile, 1);
}

int sb__conn_hold(int fd, struct sb__identity *out, struct sb__conn_ref *ref)
{
	struct sb__conn *k;
	int ret = -ENOENT;

	ref->fd = -1;
	ref->gen = 0;
	if (fd < 0)
		return -ENOENT;
	pthread_mutex_lock(&sb__conn_lock);
	k = (size_t)fd < sb__n_conns ? sb__conns[fd] : NULL;
	/* The holder keeps the connection's fd open (identity.h, rule 2),
	 * so the number names it; the inode check keeps it so should a
	 * record ever outlive its socket. */
	if (k && sb__conn_same(k, fd)) {
		if (out)
			*out = k->id;
		k->calls++;
		ref->fd = fd;
		ref->gen = k->gen;
		ret = 0;
	}
	pthread_mutex_unlock(&sb__conn_lock);
	return ret;
}

int sb__conn_call_begin(const char *peer, struct sb__identity *out,
			struct sb__conn_ref *ref)
{
	char *end;
	long fd;

	ref->fd = -1;
	ref->gen = 0;
	if (!peer || strncmp(peer, "fd:", 3))
		return -ENOENT;
	fd = strtol(peer + 3, &end, 10);
	if (*end || fd < 0 || fd > INT_MAX)
		return -ENOENT;
	return sb__conn_hold((int)fd, out, ref);
}

void sb__conn_call_end(const struct sb__conn_ref *ref)
{
	struct sb__conn *k;

	if (ref->fd < 0)
		return;
	pthread_mutex_lock(&sb__conn_lock);
	k = (size_t)ref->fd < sb__n_conns ? sb__conns[ref->fd] : NULL;
	if (k && k->gen == ref->gen && k->calls && --k->calls == 0)
		k->idle_since_ms = sb__now_ms();
	pthread_mutex_unlock(&sb__conn_lock);
}

/* Shut connection @fd down through a duplicate: the duplicate is checked
 * to be the record's socket, so a number gRPC just closed and something
 * else reused is never touched. */
static int sb__conn_shut(const struct sb__conn *k, int fd)
{
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 0), ret = -1;

	if (d < 0)
		return -1;
	if (sb__conn_same(k, d))
		ret = shutdown(d, SHUT_RDWR);
	close(d);
	return ret;
}

void sb__conn_close(int fd)
{
	if (fd < 0)
		return;
	pthread_mutex_lock(&sb__conn_lock);
	/* @fd is open and ours: the record at its number is its own. */
	if ((size_t)fd < sb__n_conns)
		sb__conn_release((size_t)fd);
	close(fd);
	pthread_mutex_unlock(&sb__conn_lock);
}

unsigned sb__conn_sweep(int64_t now_ms, uint32_t idle_ms)
{
	unsigned n = 0;
	size_t fd;

	pthread_mutex_lock(&sb__conn_lock);
	for (fd = 0; fd < sb__n_conns; fd++) {
		struct sb__conn *k = sb__conns[fd];

		if (!k)
			continue;
		if (!sb__conn_same(k, (int)fd)) {
			sb__conn_release(fd);
			continue;
		}
		if (idle_ms && !k->shut && !k->calls &&
		    now_ms - k->idle_since_ms >= (int64_t)idle_ms &&
		    sb__conn_shut(k, (int)fd) == 0) {
			k->shut = 1;
			n++;
			atomic_fetch_add(&sb__c_idle, 1);
			sb__debug("connection of uid %u pid %d closed: no call for %u ms",
				  (unsigned)k->id.uid, (int)k->id.pid, idle_ms);
		}
	}
	pthread_mutex_unlock(&sb__conn_lock);
	return n;
}

void sb__conn_stats(struct sb__conn_stats *out)
{
	out->open = atomic_load(&sb__c_open);
	out->refused_policy = atomic_load(&sb__c_ref_policy);
	out->refused_limit = atomic_load(&sb__c_ref_limit);
	out->idle_closed = atomic_load(&sb__c_idle);
	out->dropped_emfile = atomic_load(&sb__c_emfile);
}

void sb__conn_free(void)
{
	size_t fd;

	pthread_mutex_lock(&sb__conn_lock);
	for (fd = 0; fd < sb__n_conns; fd++)
		sb__conn_release(fd);
	free(sb__conns);
	sb__conns = NULL;
	sb__n_conns = 0;
	pthread_mutex_unlock(&sb__conn_lock);
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

/* The peer's supplementary groups, at most SB__ID_GROUPS_MAX (a peer
 * with more gets the first ones; none when the kernel cannot say). */
static int sb__peer_groups(int fd, gid_t *out)
{
	gid_t *all;
	socklen_t len = SB__ID_GROUPS_MAX * sizeof(gid_t);
	int n;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, out, &len) == 0)
		return (int)(len / sizeof(gid_t));
	if (errno != ERANGE)
		return 0;
	/* len now says how many there are. */
	all = malloc(len);
	if (!all)
		return 0;
	n = 0;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, all, &len) == 0) {
		n = (int)(len / sizeof(gid_t));
		if (n > SB__ID_GROUPS_MAX)
			n = SB__ID_GROUPS_MAX;
		memcpy(out, all, (size_t)n * sizeof(gid_t));
	}
	free(all);
	return n;
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
	out->n_groups = sb__peer_groups(fd, out->groups);
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
