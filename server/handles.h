/* SPDX-License-Identifier: MIT
 * handles.h - a table from 64-bit handles to items: open addressing with
 * linear probing, a power-of-two size kept at most 3/4 full, and
 * backward-shift deletion (no tombstones, so probe chains stay short
 * after any number of closes). Each session keeps its sockets in one.
 *
 * The table stores pointers it does not own. It has no lock: its owner
 * serialises every call (a session holds its lock). Plain C, no gRPC, so
 * that it is unit-tested alone (tests/unit/test_handles.c).
 */
#ifndef SB_SERVER_HANDLES_H
#define SB_SERVER_HANDLES_H

#include <stddef.h>
#include <stdint.h>

#include "compiler.h"

struct sb__hslot {
	uint64_t handle;
	void *item;        /* NULL: the slot is free */
};

struct sb__htab {
	struct sb__hslot *slots;
	size_t size;       /* 0 or a power of two */
	size_t count;      /* items in the table */
};

/* A zeroed struct sb__htab is an empty table. */
#define SB__HTAB_INIT { NULL, 0, 0 }

/**
 * sb__htab_insert() - add @item under @handle, growing the table first
 * when it would be more than 3/4 full. @item must not be NULL and
 * @handle must not be in the table already.
 * Return: 0, or -ENOMEM (the table is unchanged).
 */
SB__CHECK int sb__htab_insert(struct sb__htab *t, uint64_t handle, void *item);

/** sb__htab_find() - the item of @handle, or NULL. */
void *sb__htab_find(const struct sb__htab *t, uint64_t handle);

/** sb__htab_remove() - take @handle out. Return: its item, or NULL. */
void *sb__htab_remove(struct sb__htab *t, uint64_t handle);

/**
 * sb__htab_take() - empty the table and hand its storage to the caller:
 * the returned array has *@size slots, the items where item != NULL. The
 * caller frees it with free(); the table is empty (and usable) after.
 */
struct sb__hslot *sb__htab_take(struct sb__htab *t, size_t *size);

/** sb__htab_free() - free the storage (not the items); the table is empty. */
void sb__htab_free(struct sb__htab *t);

#endif /* SB_SERVER_HANDLES_H */
