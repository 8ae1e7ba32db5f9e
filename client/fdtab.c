/* SPDX-License-Identifier: MIT
 * fdtab.c - the client's socket numbers: small ints, lowest free first,
 * each naming one broker handle of the session.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define SB__FIRST_SOCKET 3

int sb__slot_alloc(sb_client *c, uint64_t handle, int family, int type, int nonblock)
{
	int s, rc;

	pthread_mutex_lock(&c->lock);
	for (s = SB__FIRST_SOCKET; s < c->nslots && c->slots[s].handle; s++)
		;
	if (s >= c->nslots) {
		int n = c->nslots ? c->nslots * 2 : 64;
		struct sb__slot *ns;

		if (n > SB__MAX_SOCKETS_LOCAL)
			n = SB__MAX_SOCKETS_LOCAL;
		if (s >= n) {
			rc = -EMFILE;
			goto out;
		}
		ns = realloc(c->slots, (size_t)n * sizeof(*ns));
		if (!ns) {
			rc = -ENOMEM;
			goto out;
		}
		memset(ns + c->nslots, 0, (size_t)(n - c->nslots) * sizeof(*ns));
		c->slots = ns;
		c->nslots = n;
	}
	c->slots[s].handle = handle;
	c->slots[s].family = family;
	c->slots[s].type = type;
	c->slots[s].nonblock = nonblock;
	rc = s;
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int sb__slot_get(sb_client *c, int s, struct sb__slot *out)
{
	int rc = -EBADF;

	pthread_mutex_lock(&c->lock);
	if (s >= 0 && s < c->nslots && c->slots[s].handle) {
		*out = c->slots[s];
		rc = 0;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int sb__slot_set_nonblock(sb_client *c, int s, int on)
{
	int rc = -EBADF;

	pthread_mutex_lock(&c->lock);
	if (s >= 0 && s < c->nslots && c->slots[s].handle) {
		c->slots[s].nonblock = on;
		rc = 0;
	}
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void sb__slot_release(sb_client *c, int s, uint64_t handle)
{
	pthread_mutex_lock(&c->lock);
	if (s >= 0 && s < c->nslots && c->slots[s].handle == handle)
		memset(&c->slots[s], 0, sizeof(c->slots[s]));
	pthread_mutex_unlock(&c->lock);
}

void sb__slots_free(sb_client *c)
{
	free(c->slots);
	c->slots = NULL;
	c->nslots = 0;
}
