/* SPDX-License-Identifier: MIT
 * test_handles.c - the handle table (server/handles.c) against a plain
 * array kept beside it: inserts, finds, removals in every order, chains
 * that wrap around the end of the table, growth, and take/free.
 *
 * Exit status 0 when every check holds; each failure is printed to stderr.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handles.h"

static int failures;

#define CHECK(c, ...) do { if (!(c)) { fprintf(stderr, "%s:%d: CHECK failed: %s: ", \
	__FILE__, __LINE__, #c); fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); \
	failures++; } } while (0)

#define MAXN 5000

/* The reference: handle i is in the table when present[i]; its item is
 * &items[i]. Handles are base + i * stride (sequential, as the broker's). */
static char items[MAXN];
static int present[MAXN];

static uint64_t handle_of(uint64_t base, uint64_t stride, size_t i)
{
	return base + i * stride;
}

/* Every handle is found exactly when the reference says so. */
static void check_all(const struct sb__htab *t, uint64_t base, uint64_t stride, size_t n,
		      const char *when)
{
	size_t i, count = 0;

	for (i = 0; i < n; i++) {
		void *got = sb__htab_find(t, handle_of(base, stride, i));

		CHECK(got == (present[i] ? &items[i] : NULL), "%s: handle #%zu: %p, want %p",
		      when, i, got, present[i] ? (void *)&items[i] : NULL);
		count += present[i] != 0;
	}
	CHECK(t->count == count, "%s: count %zu, want %zu", when, t->count, count);
	CHECK(!t->size || t->count * 4 <= t->size * 3, "%s: %zu items in %zu slots", when,
	      t->count, t->size);
	CHECK(sb__htab_find(t, handle_of(base, stride, n + 7)) == NULL,
	      "%s: a handle never inserted is found", when);
}

static void run(uint64_t base, uint64_t stride, size_t n, unsigned seed)
{
	struct sb__htab t = SB__HTAB_INIT;
	size_t i, k, sizes = 0, last = 0;
	char when[96];

	memset(present, 0, sizeof(present));
	srand(seed);
	/* Insert all; the table grows by doubling, never loses an item. */
	for (i = 0; i < n; i++) {
		CHECK(sb__htab_insert(&t, handle_of(base, stride, i), &items[i]) == 0,
		      "insert #%zu", i);
		present[i] = 1;
		if (t.size != last) {
			CHECK(last == 0 || t.size == last * 2, "grew from %zu to %zu", last,
			      t.size);
			last = t.size;
			sizes++;
		}
	}
	snprintf(when, sizeof(when), "after %zu inserts (base %#llx stride %llu)", n,
		 (unsigned long long)base, (unsigned long long)stride);
	check_all(&t, base, stride, n, when);
	CHECK(n < 100 || sizes > 3, "%zu items and only %zu sizes", n, sizes);
	CHECK(sb__htab_insert(&t, handle_of(base, stride, 0), &items[0]) == -EEXIST,
	      "a second insert of a handle is refused");
	CHECK(sb__htab_insert(&t, handle_of(base, stride, n + 1), NULL) == -EINVAL,
	      "a NULL item is refused");

	/* Remove half at random; every other one stays findable. */
	for (k = 0; k < n / 2; k++) {
		i = (size_t)rand() % n;
		CHECK(sb__htab_remove(&t, handle_of(base, stride, i)) ==
		      (present[i] ? &items[i] : NULL), "remove #%zu", i);
		present[i] = 0;
	}
	check_all(&t, base, stride, n, "after random removals");

	/* Put them back, then remove everything in reverse. */
	for (i = 0; i < n; i++)
		if (!present[i]) {
			CHECK(sb__htab_insert(&t, handle_of(base, stride, i), &items[i]) == 0,
			      "insert again #%zu", i);
			present[i] = 1;
		}
	check_all(&t, base, stride, n, "after inserting again");
	for (i = n; i-- > 0;) {
		CHECK(sb__htab_remove(&t, handle_of(base, stride, i)) == &items[i],
		      "remove #%zu", i);
		present[i] = 0;
		if (i % 97 == 0)
			check_all(&t, base, stride, n, "while removing all");
	}
	check_all(&t, base, stride, n, "after removing all");
	CHECK(sb__htab_remove(&t, handle_of(base, stride, 0)) == NULL,
	      "removing an absent handle");
	sb__htab_free(&t);
}

/*
 * Wrap-around: find handles whose home is the last slot of a 16-slot
 * table, so that their chain continues at slot 0, then remove from the
 * middle of that chain and check the rest is still found.
 */
static void wrap_around(void)
{
	struct sb__htab t = SB__HTAB_INIT;
	uint64_t h[4], probe = 0;
	size_t n = 0, i;
	void *it[4] = { &items[0], &items[1], &items[2], &items[3] };

	CHECK(sb__htab_insert(&t, 1, &items[100]) == 0, "first insert");
	CHECK(t.size == 16, "a new table has 16 slots, not %zu", t.size);
	CHECK(sb__htab_remove(&t, 1) == &items[100], "remove the first");
	/* Collect handles whose home is slot 15 by where they land alone. */
	while (n < 4 && probe < 1000000) {
		probe++;
		CHECK(sb__htab_insert(&t, probe, &items[101]) == 0, "probe insert");
		if (t.slots[15].item && t.slots[15].handle == probe)
			h[n++] = probe;
		sb__htab_remove(&t, probe);
	}
	CHECK(n == 4, "found %zu handles whose home is slot 15", n);
	if (n < 4)
		goto out;
	for (i = 0; i < 4; i++)
		CHECK(sb__htab_insert(&t, h[i], it[i]) == 0, "insert wrapping #%zu", i);
	CHECK(t.slots[15].handle == h[0] && t.slots[0].handle == h[1] &&
	      t.slots[1].handle == h[2] && t.slots[2].handle == h[3],
	      "the chain wraps from slot 15 to slots 0..2");
	CHECK(sb__htab_remove(&t, h[1]) == it[1], "remove from the middle of the chain");
	CHECK(sb__htab_find(&t, h[0]) == it[0] && sb__htab_find(&t, h[2]) == it[2] &&
	      sb__htab_find(&t, h[3]) == it[3] && !sb__htab_find(&t, h[1]),
	      "after removing the second: the others found, it not");
	CHECK(t.slots[0].handle == h[2] && t.slots[1].handle == h[3] && !t.slots[2].item,
	      "the entries behind the hole moved back across the wrap");
	CHECK(sb__htab_remove(&t, h[0]) == it[0], "remove the head at slot 15");
	CHECK(sb__htab_find(&t, h[2]) == it[2] && sb__htab_find(&t, h[3]) == it[3],
	      "after removing the head: the rest found");
out:
	sb__htab_free(&t);
}

static void take(void)
{
	struct sb__htab t = SB__HTAB_INIT;
	struct sb__hslot *s;
	size_t i, n, seen = 0;

	for (i = 0; i < 40; i++)
		CHECK(sb__htab_insert(&t, 1000 + i, &items[i]) == 0, "insert #%zu", i);
	s = sb__htab_take(&t, &n);
	CHECK(t.count == 0 && t.size == 0 && t.slots == NULL, "take leaves an empty table");
	for (i = 0; i < n; i++)
		if (s[i].item) {
			CHECK(s[i].item == &items[s[i].handle - 1000], "slot %zu", i);
			seen++;
		}
	CHECK(seen == 40, "take handed over %zu items, want 40", seen);
	free(s);
	CHECK(sb__htab_find(&t, 1000) == NULL, "an empty table finds nothing");
	CHECK(sb__htab_insert(&t, 5, &items[5]) == 0 && sb__htab_find(&t, 5) == &items[5],
	      "the table is usable after take");
	sb__htab_free(&t);
}

int main(void)
{
	run(1, 1, 10, 1);
	run(0x123456789aULL, 1, MAXN, 2);            /* sequential, as the broker's */
	run(0xffffffffffff0000ULL, 1, MAXN, 3);      /* near the top of the range */
	run(7, 1ULL << 32, 3000, 4);                 /* only high bits differ */
	run(3, 16, 3000, 5);                         /* only low bits repeat */
	wrap_around();
	take();
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	else
		printf("handle table: inserts, removals, wrap-around, growth and take hold\n");
	return failures ? 1 : 0;
}
