/* SPDX-License-Identifier: MIT
 * session.c - sessions, their tokens and their handle tables.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "reactor.h"
#include "rpc.h"
#include "handoff.h"
#include "session.h"
#include "stats.h"

#define SB__BUCKETS 256

struct sb__entry {
	struct sb__session *s;
	struct sb__entry *next;
};

static pthread_mutex_t sb__slock = PTHREAD_MUTEX_INITIALIZER;
static struct sb__entry *sb__buckets[SB__BUCKETS];
static uint64_t sb__n_sessions, sb__next_session_id = 1;
static _Atomic uint32_t sb__max_sessions = SB__DEF_MAX_SESSIONS,
	sb__max_per_uid = SB__DEF_MAX_SESSIONS_PER_UID, sb__max_sockets = SB__DEF_MAX_SOCKETS,
	sb__max_id_socks = SB__DEF_MAX_SOCKETS_PER_UID,
	sb__max_accepts = SB__DEF_MAX_PENDING_ACCEPTS, sb__max_stream = SB__DEF_MAX_STREAM_BYTES;
static atomic_uint_fast64_t sb__next_handle;
static atomic_uint_fast64_t sb__n_socks;

static unsigned sb__token_hash(const char *tok, size_t len)
{
	unsigned h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)tok[i]) * 16777619u;
	return h % SB__BUCKETS;
}

void sb__sessions_set_limits(uint32_t max_sessions, uint32_t max_per_uid,
			     uint32_t max_sockets, uint32_t max_sockets_per_id,
			     uint32_t max_pending_accepts, uint32_t max_stream_bytes)
{
	atomic_store(&sb__max_accepts, max_pending_accepts);
	atomic_store(&sb__max_stream, max_stream_bytes);
	atomic_store(&sb__max_sessions, max_sessions);
	atomic_store(&sb__max_per_uid, max_per_uid);
	atomic_store(&sb__max_sockets, max_sockets);
	atomic_store(&sb__max_id_socks, max_sockets_per_id);
}

int sb__sessions_over_id_limit(const struct sb__session *s)
{
	uint32_t max = atomic_load(&sb__max_id_socks);

	return max && atomic_load(&s->idrec->sockets_open) >= max;
}

int sb__session_accept_begin(struct sb__session *s)
{
	if (atomic_fetch_add(&s->accepts, 1) >= atomic_load(&sb__max_accepts)) {
		atomic_fetch_sub(&s->accepts, 1);
		return -ENOSPC;
	}
	return 0;
}

void sb__session_accept_end(struct sb__session *s)
{
	atomic_fetch_sub(&s->accepts, 1);
}

/* Free heap pages go back to the kernel once this much was released
 * since the last trim and little is held: main.c keeps stream frames on
 * the heap and trims only above 32 MiB at its top, so without this a
 * broker stayed at its peak RSS after every caller left. */
#define SB__TRIM_AFTER (64u << 20)

static atomic_uint_fast64_t sb__max_s_bytes = SB__DEF_MAX_SESSION_BYTES,
	sb__max_id_bytes = SB__DEF_MAX_IDENTITY_BYTES;
static atomic_uint_fast64_t sb__held, sb__freed_since_trim;

void sb__sessions_set_byte_limits(uint64_t per_session, uint64_t per_identity)
{
	atomic_store(&sb__max_s_bytes, per_session);
	atomic_store(&sb__max_id_bytes, per_identity);
}

int sb__bytes_charge(struct sb__session *s, size_t n)
{
	uint64_t max = atomic_load(&sb__max_s_bytes);

	if (atomic_fetch_add(&s->bytes, n) + n > max) {
		atomic_fetch_sub(&s->bytes, n);
		return -ENOBUFS;
	}
	max = atomic_load(&sb__max_id_bytes);
	if (atomic_fetch_add(&s->idrec->bytes_held, n) + n > max) {
		atomic_fetch_sub(&s->idrec->bytes_held, n);
		atomic_fetch_sub(&s->bytes, n);
		return -EDQUOT;
	}
	atomic_fetch_add(&sb__held, n);
	return 0;
}

void sb__bytes_release(struct sb__session *s, size_t n)
{
	uint64_t freed, held;

	atomic_fetch_sub(&s->bytes, n);
	atomic_fetch_sub(&s->idrec->bytes_held, n);
	freed = atomic_fetch_add(&sb__freed_since_trim, n) + n;
	held = atomic_fetch_sub(&sb__held, n) - n;
	/* Load went (what is held is small next to what was freed): one
	 * thread trims, the others see the counter reset. */
	if (freed >= SB__TRIM_AFTER && held <= freed / 4 &&
	    atomic_compare_exchange_strong(&sb__freed_since_trim, &freed, 0))
		malloc_trim(0);
}

uint64_t sb__bytes_held(void)
{
	return atomic_load(&sb__held);
}

void sb__bytes_limits(uint64_t *per_session, uint64_t *per_identity)
{
	*per_session = atomic_load(&sb__max_s_bytes);
	*per_identity = atomic_load(&sb__max_id_bytes);
}

const char *sb__bytes_limit_name(int err)
{
	return err == -EDQUOT ? "max_identity_bytes" : "max_session_bytes";
}

uint32_t sb__stream_max_bytes(void)
{
	return atomic_load(&sb__max_stream);
}

int sb__session_full(struct sb__session *s)
{
	int full;

	pthread_mutex_lock(&s->lock);
	full = s->socks.count + s->reserved >= s->max_sockets;
	pthread_mutex_unlock(&s->lock);
	return full || sb__sessions_over_id_limit(s);
}

/* Count one socket of @s on its identity. Return: 0 or -EMFILE. */
static int sb__id_sock_take(struct sb__session *s)
{
	uint32_t max = atomic_load(&sb__max_id_socks);

	if (atomic_fetch_add(&s->idrec->sockets_open, 1) >= max && max) {
		atomic_fetch_sub(&s->idrec->sockets_open, 1);
		return -EMFILE;
	}
	return 0;
}

int sb__session_reserve(struct sb__session *s)
{
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (atomic_load(&s->ended))
		ret = -ESHUTDOWN;
	else if (s->socks.count + s->reserved >= s->max_sockets)
		ret = -EMFILE;
	else
		ret = sb__id_sock_take(s);
	if (!ret)
		s->reserved++;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

void sb__session_unreserve(struct sb__session *s, uint32_t n)
{
	if (!n)
		return;
	pthread_mutex_lock(&s->lock);
	s->reserved -= n;
	atomic_fetch_sub(&s->idrec->sockets_open, n);
	pthread_mutex_unlock(&s->lock);
}

int sb__sessions_init(void)
{
	uint64_t start;

	/* Handles are unique in the whole broker and not guessable from a
	 * fresh start: they begin at a random point of a 48-bit range. */
	if (getrandom(&start, sizeof(start), 0) != sizeof(start))
		return -EIO;
	atomic_store(&sb__next_handle, (start & 0xffffffffffULL) + 1);
	return 0;
}

void sb__sessions_count(uint64_t *sessions, uint64_t *sockets)
{
	pthread_mutex_lock(&sb__slock);
	*sessions = sb__n_sessions;
	pthread_mutex_unlock(&sb__slock);
	*sockets = atomic_load(&sb__n_socks);
}

int sb__session_open(const struct sb__identity *ident, const char *name,
		     struct sb__call *lease, struct sb__session **out)
{
	struct sb__session *s;
	struct sb__entry *e;
	unsigned char rnd[16];
	unsigned b, i;
	int ret;

	s = calloc(1, sizeof(*s));
	e = calloc(1, sizeof(*e));
	if (!s || !e) {
		ret = -ENOMEM;
		goto fail;
	}
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
		ret = -EIO;
		goto fail;
	}
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(s->token + 2 * (size_t)i, 3, "%02x", rnd[i]);
	s->ident = *ident;
	s->idrec = sb__idrec_of(ident);
	snprintf(s->client_name, sizeof(s->client_name), "%s", name ? name : "");
	pthread_mutex_init(&s->lock, NULL);
	s->max_sockets = sb__max_sockets;
	atomic_init(&s->refs, 2); /* the table's and the caller's */
	s->lease = lease;
	sb__call_ref(lease);

	pthread_mutex_lock(&sb__slock);
	if (sb__n_sessions >= sb__max_sessions) {
		pthread_mutex_unlock(&sb__slock);
		ret = -EMFILE;
		goto fail_lease;
	}
	if (atomic_load(&s->idrec->sessions_open) >= sb__max_per_uid) {
		pthread_mutex_unlock(&sb__slock);
		ret = -EUSERS;
		goto fail_lease;
	}
	s->id = sb__next_session_id++;
	b = sb__token_hash(s->token, strlen(s->token));
	e->s = s;
	e->next = sb__buckets[b];
	sb__buckets[b] = e;
	sb__n_sessions++;
	atomic_fetch_add(&s->idrec->sessions_open, 1);
	pthread_mutex_unlock(&sb__slock);
	sb__stats_session_opened();
	*out = s;
	return 0;

fail_lease:
	sb__call_unref(lease);
	pthread_mutex_destroy(&s->lock);
fail:
	free(e);
	free(s);
	return ret;
}

struct sb__session *sb__session_find(const char *token, size_t len)
{
	struct sb__entry *e;
	struct sb__session *s = NULL;

	if (len != 32)
		return NULL;
	pthread_mutex_lock(&sb__slock);
	for (e = sb__buckets[sb__token_hash(token, len)]; e; e = e->next)
		if (!memcmp(e->s->token, token, len)) {
			s = e->s;
			sb__session_ref(s);
			break;
		}
	pthread_mutex_unlock(&sb__slock);
	return s;
}

void sb__session_ref(struct sb__session *s)
{
	atomic_fetch_add(&s->refs, 1);
}

void sb__session_unref(struct sb__session *s)
{
	if (atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	sb__htab_free(&s->socks);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Mark @k closed and give up the table's reference. */
static void sb__sock_retire(struct sb__sock *k)
{
	atomic_store(&k->closed, 1);
	atomic_fetch_sub(&sb__n_socks, 1);
	atomic_fetch_sub(&k->session->idrec->sockets_open, 1);
	sb__reactor_sock_closed(k);
	sb__sock_unref(k);
}

/* Take @s out of the table. Return: its entry, whose reference (the
 * table's) is now the caller's, or NULL when it is not there. Caller holds
 * sb__slock. */
static struct sb__entry *sb__session_unlink(struct sb__session *s)
{
	struct sb__entry **pp, *e;

	for (pp = &sb__buckets[sb__token_hash(s->token, strlen(s->token))]; *pp;
	     pp = &(*pp)->next)
		if ((*pp)->s == s) {
			e = *pp;
			*pp = e->next;
			sb__n_sessions--;
			atomic_fetch_sub(&s->idrec->sessions_open, 1);
			return e;
		}
	return NULL;
}

/* Close every socket of @s and end its lease. Once per session: the
 * caller set s->ended. */
static void sb__session_close(struct sb__session *s)
{
	struct sb__hslot *slots;
	struct sb__call *lease;
	size_t i, n;

	pthread_mutex_lock(&s->lock);
	slots = sb__htab_take(&s->socks, &n);
	lease = s->lease;
	s->lease = NULL;
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < n; i++)
		if (slots[i].item)
			sb__sock_retire(slots[i].item);
	free(slots);
	sb__handoff_session_end(s);
	sb__info("session %" PRIu64 " (uid %u, %s) ended, %zu slots released",
		 s->id, (unsigned)s->ident.uid, s->client_name, n);
	if (lease) {
		sb__call_on_close(lease, NULL);
		if (!atomic_load(&lease->finished))
			sb__call_finish_ok(lease);
		sb__call_unref(lease);
	}
}

void sb__session_end(struct sb__session *s)
{
	struct sb__entry *e;

	if (atomic_exchange(&s->ended, 1))
		return;
	pthread_mutex_lock(&sb__slock);
	e = sb__session_unlink(s);
	pthread_mutex_unlock(&sb__slock);
	sb__session_close(s);
	if (e) {
		free(e);
		sb__session_unref(s); /* the table's */
	}
}

void sb__sessions_end_all(void)
{
	for (;;) {
		struct sb__entry *e = NULL;
		struct sb__session *s;
		unsigned b;

		pthread_mutex_lock(&sb__slock);
		for (b = 0; b < SB__BUCKETS && !e; b++)
			if (sb__buckets[b])
				e = sb__session_unlink(sb__buckets[b]->s);
		pthread_mutex_unlock(&sb__slock);
		if (!e)
			return;
		/* The table's reference is ours now. A thread in
		 * sb__session_end() at the same time holds its own. */
		s = e->s;
		free(e);
		if (!atomic_exchange(&s->ended, 1))
			sb__session_close(s);
		sb__session_unref(s);
	}
}

/* ---- sockets ------------------------------------------------------------ */

int sb__sock_add(struct sb__session *s, int fd, int family, int type,
		 int nonblock, struct sb__sock **out)
{
	struct sb__sock *k;
	int ret = 0;

	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->fd = fd;
	k->family = family;
	k->type = type;
	atomic_init(&k->nonblock, nonblock);
	atomic_init(&k->refs, 2); /* the table's and the caller's */
	atomic_init(&k->io_waiters, 0);
	k->session = s;
	k->io.fd = fd;
	k->io.sock = k;
	k->handle = atomic_fetch_add(&sb__next_handle, 1);

	pthread_mutex_lock(&s->lock);
	if (atomic_load(&s->ended)) {
		ret = -ESHUTDOWN;
		goto out;
	}
	if (s->socks.count + s->reserved >= s->max_sockets) {
		ret = -EMFILE;
		goto out;
	}
	ret = sb__id_sock_take(s);
	if (ret < 0)
		goto out;
	ret = sb__htab_insert(&s->socks, k->handle, k);
	if (ret < 0) {
		/* The socket was counted on its identity above. */
		atomic_fetch_sub(&s->idrec->sockets_open, 1);
		goto out;
	}
	atomic_fetch_add(&sb__n_socks, 1);
out:
	pthread_mutex_unlock(&s->lock);
	if (ret < 0) {
		free(k);
		return ret;
	}
	sb__stats_socket_opened();
	*out = k;
	return 0;
}

struct sb__sock *sb__sock_get(struct sb__session *s, uint64_t handle)
{
	struct sb__sock *k;

	pthread_mutex_lock(&s->lock);
	k = sb__htab_find(&s->socks, handle);
	if (k)
		sb__sock_ref(k);
	pthread_mutex_unlock(&s->lock);
	return k;
}

int sb__handle_close(struct sb__session *s, uint64_t handle)
{
	struct sb__sock *k;

	pthread_mutex_lock(&s->lock);
	k = sb__htab_remove(&s->socks, handle);
	pthread_mutex_unlock(&s->lock);
	if (!k)
		return -EBADF;
	sb__sock_retire(k);
	return 0;
}

int sb__sock_pass(struct sb__session *s, struct sb__sock *k,
		  int (*fn)(struct sb__sock *k, void *arg), void *arg)
{
	int ret;

	pthread_mutex_lock(&s->lock);
	if (sb__htab_find(&s->socks, k->handle) != k)
		ret = -EBADF;
	else if (atomic_load(&k->refs) > 2) /* the table's and the caller's */
		ret = -EBUSY;
	else
		ret = fn(k, arg);
	if (!ret)
		sb__htab_remove(&s->socks, k->handle);
	pthread_mutex_unlock(&s->lock);
	if (!ret)
		sb__sock_retire(k);
	return ret;
}

void sb__sock_ref(struct sb__sock *k)
{
	atomic_fetch_add(&k->refs, 1);
}

void sb__sock_unref(struct sb__sock *k)
{
	if (atomic_fetch_sub(&k->refs, 1) != 1)
		return;
	close(k->fd);
	free(k);
}
