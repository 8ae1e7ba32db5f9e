/* SPDX-License-Identifier: MIT
 * handles.c - the handle table: open addressing, linear probing,
 * backward-shift deletion. See handles.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "handles.h"

/* Handles are sequential: mix them so that neighbours spread out. */
static size_t sb__home(uint64_t h, size_t size)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)h & (size - 1);
}

/* The slot holding @handle, or the free slot where it would go. */
static size_t sb__probe(const struct sb__hslot *slots, size_t size, uint64_t handle)
{
	size_t j;

	for (j = sb__home(handle, size); slots[j].item && slots[j].handle != handle;
	     j = (j + 1) & (size - 1))
		;
	return j;
}

static int sb__grow(struct sb__htab *t)
{
	size_t size = t->size ? t->size * 2 : 16, i;
	struct sb__hslot *slots;

	if (size < t->size)
		return -ENOMEM;
	slots = calloc(size, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (i = 0; i < t->size; i++)
		if (t->slots[i].item)
			slots[sb__probe(slots, size, t->slots[i].handle)] = t->slots[i];
	free(t->slots);
	t->slots = slots;
	t->size = size;
	return 0;
}

int sb__htab_insert(struct sb__htab *t, uint64_t handle, void *item)
{
	size_t j;
	int ret;

	if (!item)
		return -EINVAL;
	if ((t->count + 1) * 4 > t->size * 3) {
		ret = sb__grow(t);
		if (ret < 0)
			return ret;
	}
	j = sb__probe(t->slots, t->size, handle);
	if (t->slots[j].item)
		return -EEXIST;
	t->slots[j].handle = handle;
	t->slots[j].item = item;
	t->count++;
	return 0;
}

void *sb__htab_find(const struct sb__htab *t, uint64_t handle)
{
	return t->size ? t->slots[sb__probe(t->slots, t->size, handle)].item : NULL;
}

void *sb__htab_remove(struct sb__htab *t, uint64_t handle)
{
	size_t j, i, n = t->size;
	void *item;

	if (!n)
		return NULL;
	j = sb__probe(t->slots, n, handle);
	item = t->slots[j].item;
	if (!item)
		return NULL;
	t->slots[j].item = NULL;
	t->count--;
	/* Backward shift: pull back every later entry of the chain whose home
	 * is not between the hole and itself (cyclically), so that lookups
	 * never stop early at the hole. */
	for (i = (j + 1) & (n - 1); t->slots[i].item; i = (i + 1) & (n - 1)) {
		size_t home = sb__home(t->slots[i].handle, n);

		if ((i > j && (home <= j || home > i)) ||
		    (i < j && (home <= j && home > i))) {
			t->slots[j] = t->slots[i];
			t->slots[i].item = NULL;
			j = i;
		}
	}
	return item;
}

struct sb__hslot *sb__htab_take(struct sb__htab *t, size_t *size)
{
	struct sb__hslot *slots = t->slots;

	*size = t->size;
	t->slots = NULL;
	t->size = t->count = 0;
	return slots;
}

void sb__htab_free(struct sb__htab *t)
{
	free(t->slots);
	t->slots = NULL;
	t->size = t->count = 0;
}
