/* SPDX-License-Identifier: MIT
 * fuzz_addr.c - lib/'s converters under libFuzzer: socket addresses of any
 * bytes and length (addr.c), and every constant family both ways
 * (consts.c). Properties: a native address that reads is written back to
 * the same address; a native constant, bit set or errno that translates
 * translates back to itself; nothing reads outside the bytes given.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "consts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A failed property: libFuzzer keeps the input. */
#define SB__ASSERT(c) do { if (!(c)) abort(); } while (0)

/* The input's next @n bytes (zeros past its end). */
static void sb__take(const uint8_t **p, size_t *left, void *out, size_t n)
{
	size_t k = n < *left ? n : *left;

	memset(out, 0, n);
	memcpy(out, *p, k);
	*p += k;
	*left -= k;
}

/* Print @a into buffers of every small size: always terminated. */
static void sb__format_all(const struct sb__addr *a)
{
	char buf[256];
	size_t n;
	int full;

	full = sb__addr_format(a, buf, sizeof(buf));
	SB__ASSERT(full >= 0 && memchr(buf, 0, sizeof(buf)));
	for (n = 1; n < 8; n++) {
		char *small = malloc(n);

		SB__ASSERT(small);
		SB__ASSERT(sb__addr_format(a, small, n) == full);
		SB__ASSERT(memchr(small, 0, n));
		free(small);
	}
}

/* The native address: read, write back, read again, copy out short. */
static void sb__fuzz_sockaddr(const uint8_t *p, size_t left)
{
	struct sockaddr_storage ss;
	struct sb__addr a, b;
	socklen_t len, out;
	uint8_t *sa, *dst;
	uint8_t sel;

	sb__take(&p, &left, &sel, 1);
	len = (socklen_t)(left < sizeof(ss) ? left : sizeof(ss));
	if (sel & 1)	/* a length shorter than the bytes, as callers give */
		len = (socklen_t)(len * sel / 255);
	/* Exactly @len bytes on the heap: a read past them is reported. */
	sa = malloc(len ? len : 1);
	SB__ASSERT(sa);
	memcpy(sa, p, len);
	if (sb__addr_from_sockaddr(&a, len ? (struct sockaddr *)sa : NULL, len) == 0) {
		sb__format_all(&a);
		SB__ASSERT(sb__addr_to_sockaddr(&a, &ss, &out) == 0);
		if (a.kind != SB__ADDR_NONE) {
			SB__ASSERT(sb__addr_from_sockaddr(&b, (struct sockaddr *)&ss, out) == 0);
			SB__ASSERT(sb__addr_equal(&a, &b));
		}
		out = sel >> 1;
		dst = malloc(out ? out : 1);
		SB__ASSERT(dst);
		SB__ASSERT(sb__addr_copy_out(&a, out ? (struct sockaddr *)dst : NULL, &out) == 0);
		free(dst);
	}
	free(sa);
}

/* One constant family, from four values of the input. */
static void sb__fuzz_family(enum sb__cfam fam, uint32_t portable, int native)
{
	uint32_t p;
	int n;

	if (sb__const_to_portable(fam, native, &p) == 0) {
		SB__ASSERT(sb__const_to_native(fam, p, &n) == 0 && n == native);
		SB__ASSERT(sb__const_name(fam, native));
	}
	if (sb__const_to_native(fam, portable, &n) == 0)
		SB__ASSERT(sb__const_to_portable(fam, n, &p) == 0);
	if (sb__flags_to_portable(fam, native, &p) == 0)
		SB__ASSERT(sb__flags_to_native(fam, p, &n) == 0 && n == native);
	if (sb__flags_to_native(fam, portable, &n) == 0)
		SB__ASSERT(sb__flags_to_portable(fam, n, &p) == 0 && p == portable);
}

static void sb__fuzz_consts(const uint8_t *p, size_t left)
{
	char name[40];
	uint32_t portable;
	int native, n, level;
	unsigned f;

	sb__take(&p, &left, &portable, sizeof(portable));
	sb__take(&p, &left, &native, sizeof(native));
	sb__take(&p, &left, &level, sizeof(level));
	for (f = 0; f < SB__C_COUNT; f++)
		sb__fuzz_family((enum sb__cfam)f, portable, native);
	n = sb__errno_to_native(portable);
	SB__ASSERT(n >= 0);
	if (sb__errno_to_portable(native) != sb__errno_to_portable(EIO))
		SB__ASSERT(sb__errno_to_native(sb__errno_to_portable(native)) == native);
	f = sb__sockopt_family(level);
	SB__ASSERT(f <= SB__C_COUNT);
	SB__ASSERT((unsigned)sb__sockopt_kind(level, native) <= SB__OPT_IP_MCAST_IF);
	/* Names: the rest of the input, as a caller's string. */
	sb__take(&p, &left, name, sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	for (f = 0; f < SB__C_COUNT; f++)
		if (sb__const_by_name((enum sb__cfam)f, name, &n) == 0)
			SB__ASSERT(sb__const_name((enum sb__cfam)f, n));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sb__fuzz_sockaddr(data, size);
	sb__fuzz_consts(data, size);
	return 0;
}
