/* SPDX-License-Identifier: MIT
 * wire_compat.c - proves that nanopb (the client's runtime) and protobuf-c
 * (the server's runtime) agree on the wire for every message of
 * sockbroker.proto.
 *
 * For each message and each variant (variant k selects member k mod n of
 * every oneof, so every member of every oneof, nested ones included, is
 * covered), the test:
 *  1. fills a nanopb struct with non-default values - static fields
 *     directly, callback fields through encode callbacks (repeated items,
 *     strings, submessages, data fields of more than 64 KiB) - and encodes
 *     it: E1;
 *  2. fills a protobuf-c message with the same values, packs it (E2) and
 *     dumps it field by field: X, the expectation;
 *  3. checks E1 == E2 byte for byte;
 *  4. unpacks E1 with protobuf-c: its dump must be X  (nanopb -> protobuf-c);
 *  5. decodes E2 with nanopb: its dump must be X      (protobuf-c -> nanopb);
 *  6. re-encodes both decoded messages: they must give E1 and E2 again.
 * Values come from one generator keyed by the field's path, so the two
 * sides agree without sharing memory. Both runtimes are walked by
 * reflection (nanopb's field iterator, protobuf-c's descriptors), so the
 * test follows the .proto and the nanopb .options without edits.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pb.h>
#include <pb_common.h>
#include <pb_decode.h>
#include <pb_encode.h>
#include <protobuf-c/protobuf-c.h>

#include "grpc/health/v1/health.pb-c.h"
#include "grpc/health/v1/health.pb.h"
#include "sockbroker/v1/sockbroker.pb-c.h"
#include "sockbroker/v1/sockbroker.pb.h"
#include "wire_compat_list.h"

#define MAX_PATH 512
#define REPEAT 3		/* items in every repeated field */
#define BIG_DATA 70000		/* callback data fields: above 64 KiB */

static int failures;
static size_t biggest_data;	/* largest data field that went through */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("FAIL: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	failures++;
}

/* Write a field path; paths are far shorter than MAX_PATH in this proto. */
static void mkpath(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mkpath(char *out, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, MAX_PATH, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= MAX_PATH) {
		fprintf(stderr, "path too long: %s\n", out);
		exit(1);
	}
}

/* ---- per-case arena: everything a case allocates, freed at its end ---- */

struct blk {
	struct blk *next;
	max_align_t data[];
};

static struct blk *arena;

static void *amalloc(size_t n)
{
	struct blk *b = calloc(1, sizeof(*b) + n + 1);

	if (!b) {
		perror("calloc");
		exit(1);
	}
	b->next = arena;
	arena = b;
	return b->data;
}

static void arena_free(void)
{
	while (arena) {
		struct blk *b = arena;

		arena = b->next;
		free(b);
	}
}

/* ---- text buffer for field-by-field dumps ---- */

struct text {
	char *p;
	size_t len, cap;
};

static void text_add(struct text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			exit(1);
		if (t->p && t->len + (size_t)n < t->cap) {
			t->len += (size_t)n;
			return;
		}
		t->cap = t->cap * 2 + (size_t)n + 256;
		t->p = realloc(t->p, t->cap);
		if (!t->p)
			exit(1);
	}
}

static void text_free(struct text *t)
{
	free(t->p);
	memset(t, 0, sizeof(*t));
}

/* ---- the value generator, keyed by a field's path ---- */

static uint64_t mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

static uint64_t seed(const char *path, unsigned variant)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *path; path++)
		h = (h ^ (uint8_t)*path) * 1099511628211ULL;
	return mix(h ^ ((uint64_t)variant << 48));
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	while (n--)
		h = (h ^ *p++) * 1099511628211ULL;
	return h;
}

static void gen_bytes(uint8_t *out, size_t n, uint64_t h, int printable)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t x = mix(h + i / 8) >> (8 * (i % 8));

		out[i] = printable ? (uint8_t)('a' + (x & 0xff) % 26) : (uint8_t)x;
	}
}

/* A non-default value of a scalar field, as its 64-bit two's complement. */
static uint64_t gen_scalar(const ProtobufCFieldDescriptor *f, uint64_t h)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_BOOL:
		return 1;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumDescriptor *ed = f->descriptor;
		unsigned i, nz = 0, pick;

		for (i = 0; i < ed->n_values; i++)
			nz += ed->values[i].value != 0;
		if (!nz)
			return 0;
		pick = (unsigned)(h % nz);
		for (i = 0; i < ed->n_values; i++)
			if (ed->values[i].value != 0 && !pick--)
				return (uint64_t)(int64_t)ed->values[i].value;
		return 0;
	}
	case PROTOBUF_C_TYPE_INT32: {
		int32_t v = (int32_t)(h % 2000000000u) - 1000000000;

		return (uint64_t)(int64_t)(v ? v : -7);
	}
	case PROTOBUF_C_TYPE_UINT32:
		return (uint32_t)h | 0x80000001u;
	case PROTOBUF_C_TYPE_INT64:
		return h | 1;
	case PROTOBUF_C_TYPE_UINT64:
		return h | (1ULL << 40);
	default:
		return 0;
	}
}

static int is_signed(const ProtobufCFieldDescriptor *f)
{
	return f->type == PROTOBUF_C_TYPE_INT32 || f->type == PROTOBUF_C_TYPE_INT64 ||
	       f->type == PROTOBUF_C_TYPE_ENUM;
}

/* Length of a string or bytes value; bounded by nanopb's static size. */
static size_t gen_len(const ProtobufCFieldDescriptor *f, const pb_field_iter_t *it,
		      uint64_t h, unsigned variant)
{
	size_t cap = SIZE_MAX, n;

	if (PB_ATYPE(it->type) == PB_ATYPE_STATIC) {
		switch (PB_LTYPE(it->type)) {
		case PB_LTYPE_STRING:
			cap = (size_t)it->data_size - 1;
			break;
		case PB_LTYPE_BYTES:
			cap = (size_t)it->data_size - offsetof(pb_bytes_array_t, bytes);
			break;
		case PB_LTYPE_FIXED_LENGTH_BYTES:
			return it->data_size;
		default:
			break;
		}
	}
	if (cap == SIZE_MAX && f->type == PROTOBUF_C_TYPE_BYTES && !strcmp(f->name, "data"))
		return BIG_DATA + variant;
	if (cap <= 16)
		return cap;
	n = 3 + (size_t)(h % 30);
	return n < cap ? n : cap;
}

static size_t gen_count(const pb_field_iter_t *it)
{
	if (PB_ATYPE(it->type) == PB_ATYPE_STATIC && it->array_size < REPEAT)
		return it->array_size;
	return REPEAT;
}

/* 1 when @f is in no oneof, or is the member that @variant selects. */
static int oneof_selected(const ProtobufCMessageDescriptor *d,
			  const ProtobufCFieldDescriptor *f, unsigned variant)
{
	unsigned i, n = 0, rank = 0;

	if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
		return 1;
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *g = &d->fields[i];

		if ((g->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    g->quantifier_offset == f->quantifier_offset) {
			n++;
			rank += g->id < f->id;
		}
	}
	return rank == variant % n;
}

/* Members in the largest oneof of @d itself (1 without a oneof). Variant v
 * selects member v mod n of each oneof of @d, and v / own_base(d) is the
 * variant of its submessages, so nested oneofs vary independently. */
static unsigned own_base(const ProtobufCMessageDescriptor *d)
{
	unsigned i, j, best = 1;

	for (i = 0; i < d->n_fields; i++) {
		unsigned n = 0;

		if (!(d->fields[i].flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
			continue;
		for (j = 0; j < d->n_fields; j++)
			n += (d->fields[j].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
			     d->fields[j].quantifier_offset == d->fields[i].quantifier_offset;
		best = n > best ? n : best;
	}
	return best;
}

/* Variants needed to cover every member of every oneof under @d. */
static unsigned variants(const ProtobufCMessageDescriptor *d)
{
	unsigned i, sub = 1;

	for (i = 0; i < d->n_fields; i++) {
		if (d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE) {
			unsigned s = variants(d->fields[i].descriptor);

			sub = s > sub ? s : sub;
		}
	}
	return own_base(d) * sub;
}

/* The variant a field's value is made with: submessages get theirs. */
static unsigned field_variant(const ProtobufCMessageDescriptor *d,
			      const ProtobufCFieldDescriptor *f, unsigned variant)
{
	return f->type == PROTOBUF_C_TYPE_MESSAGE ? variant / own_base(d) : variant;
}

/* A nanopb iterator over a scratch struct, for type and size facts only. */
static max_align_t probe[8192 / sizeof(max_align_t)];

static int np_find(pb_field_iter_t *it, const pb_msgdesc_t *nd, void *msg, uint32_t tag)
{
	return pb_field_iter_begin(it, nd, msg ? msg : probe) && pb_field_iter_find(it, tag);
}

static size_t np_struct_size(const pb_msgdesc_t *nd)
{
	pb_field_iter_t it;
	size_t end = 0;

	if (pb_field_iter_begin(&it, nd, probe)) {
		do {
			size_t n = it.array_size ? it.array_size : 1;
			size_t e = (size_t)((char *)it.pData - (char *)probe) + it.data_size * n;

			end = e > end ? e : end;
		} while (pb_field_iter_next(&it));
	}
	return (end + 15) / 16 * 16 + 16;
}

/* ---- nanopb side: fill and encode ---- */

struct cbval {
	size_t n;
	void *item[REPEAT];
	size_t len[REPEAT];
	const pb_msgdesc_t *sub;
};

static bool enc_cb(pb_ostream_t *st, const pb_field_t *field, void *const *arg)
{
	const struct cbval *v = *arg;
	size_t i;

	/* Callbacks of a oneof share one pb_callback_t: write the chosen one. */
	if (PB_HTYPE(field->type) == PB_HTYPE_ONEOF &&
	    *(const pb_size_t *)field->pSize != field->tag)
		return true;
	for (i = 0; i < v->n; i++) {
		if (!pb_encode_tag_for_field(st, field))
			return false;
		if (v->sub ? !pb_encode_submessage(st, v->sub, v->item[i])
			   : !pb_encode_string(st, v->item[i], v->len[i]))
			return false;
	}
	return true;
}

static void np_fill(const pb_msgdesc_t *nd, const ProtobufCMessageDescriptor *pd,
		    void *msg, const char *path, unsigned variant);

static void np_fill_one(const pb_field_iter_t *it, const ProtobufCFieldDescriptor *f,
			void *dst, const char *path, unsigned variant)
{
	uint64_t h = seed(path, variant), v;
	size_t n;

	switch (f->type) {
	case PROTOBUF_C_TYPE_MESSAGE:
		np_fill(it->submsg_desc, f->descriptor, dst, path, variant);
		return;
	case PROTOBUF_C_TYPE_STRING:
		n = gen_len(f, it, h, variant);
		gen_bytes(dst, n, h, 1);
		((char *)dst)[n] = 0;
		return;
	case PROTOBUF_C_TYPE_BYTES:
		n = gen_len(f, it, h, variant);
		if (PB_LTYPE(it->type) == PB_LTYPE_BYTES) {
			pb_bytes_array_t *b = dst;

			b->size = (pb_size_t)n;
			gen_bytes(b->bytes, n, h, 0);
		} else {
			gen_bytes(dst, n, h, 0);
		}
		return;
	default:
		break;
	}
	v = gen_scalar(f, h);
	switch (it->data_size) {
	case 1:
		*(uint8_t *)dst = (uint8_t)v;
		break;
	case 2:
		*(uint16_t *)dst = (uint16_t)v;
		break;
	case 4:
		*(uint32_t *)dst = (uint32_t)v;
		break;
	case 8:
		*(uint64_t *)dst = v;
		break;
	default:
		fail("%s: nanopb scalar of size %u", path, (unsigned)it->data_size);
	}
}

static void np_fill_callback(const pb_field_iter_t *it, const ProtobufCFieldDescriptor *f,
			     const char *path, unsigned variant)
{
	struct cbval *v = amalloc(sizeof(*v));
	pb_callback_t *cb = it->pData;
	char ipath[MAX_PATH];
	size_t i;

	v->n = f->label == PROTOBUF_C_LABEL_REPEATED ? REPEAT : 1;
	for (i = 0; i < v->n; i++) {
		uint64_t h;

		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			mkpath(ipath, "%s[%zu]", path, i);
		else
			mkpath(ipath, "%s", path);
		h = seed(ipath, variant);
		if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			v->sub = it->submsg_desc;
			v->item[i] = amalloc(np_struct_size(it->submsg_desc));
			np_fill(it->submsg_desc, f->descriptor, v->item[i], ipath, variant);
		} else if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_BYTES) {
			v->len[i] = gen_len(f, it, h, variant);
			v->item[i] = amalloc(v->len[i]);
			gen_bytes(v->item[i], v->len[i], h, f->type == PROTOBUF_C_TYPE_STRING);
			if (v->len[i] > biggest_data)
				biggest_data = v->len[i];
		} else {
			fail("%s: callback for a scalar field is not supported by this test", path);
			v->n = 0;
		}
	}
	cb->funcs.encode = enc_cb;
	cb->arg = v;
}

static void np_fill(const pb_msgdesc_t *nd, const ProtobufCMessageDescriptor *pd,
		    void *msg, const char *path, unsigned variant)
{
	pb_field_iter_t it;
	char sub[MAX_PATH], ipath[MAX_PATH];
	unsigned fv;
	size_t i, n;

	if (!pb_field_iter_begin(&it, nd, msg))
		return;		/* no fields */
	do {
		const ProtobufCFieldDescriptor *f =
			protobuf_c_message_descriptor_get_field(pd, it.tag);

		if (!f) {
			fail("%s: nanopb field %u unknown to protobuf-c", path, (unsigned)it.tag);
			continue;
		}
		if (!oneof_selected(pd, f, variant))
			continue;
		fv = field_variant(pd, f, variant);
		mkpath(sub, "%s.%s", path, f->name);
		if (PB_HTYPE(it.type) == PB_HTYPE_ONEOF)
			*(pb_size_t *)it.pSize = it.tag;
		if (PB_ATYPE(it.type) == PB_ATYPE_CALLBACK) {
			np_fill_callback(&it, f, sub, fv);
		} else if (PB_ATYPE(it.type) != PB_ATYPE_STATIC) {
			fail("%s: nanopb pointer fields are not supported by this test", sub);
		} else if (PB_HTYPE(it.type) == PB_HTYPE_REPEATED) {
			n = gen_count(&it);
			*(pb_size_t *)it.pSize = (pb_size_t)n;
			for (i = 0; i < n; i++) {
				mkpath(ipath, "%s[%zu]", sub, i);
				np_fill_one(&it, f, (char *)it.pData + i * it.data_size, ipath, fv);
			}
		} else {
			if (PB_HTYPE(it.type) == PB_HTYPE_OPTIONAL && it.pSize)
				*(bool *)it.pSize = true;
			np_fill_one(&it, f, it.pData, sub, fv);
		}
	} while (pb_field_iter_next(&it));
}

static uint8_t *np_encode(const pb_msgdesc_t *nd, const void *msg, size_t *len)
{
	pb_ostream_t os;
	uint8_t *buf;
	size_t n;

	if (!pb_get_encoded_size(&n, nd, msg))
		return NULL;
	buf = amalloc(n);
	os = pb_ostream_from_buffer(buf, n);
	if (!pb_encode(&os, nd, msg)) {
		fail("nanopb encode: %s", PB_GET_ERROR(&os));
		return NULL;
	}
	*len = os.bytes_written;
	return buf;
}

/* ---- nanopb side: decode with captures, dump, re-encode ---- */

/* What a decode callback saw: one record per occurrence of a field. */
struct cap {
	struct cap *next;
	const void *owner;		/* the struct the field belongs to */
	const pb_msgdesc_t *desc;	/* its descriptor (owners may share addresses) */
	pb_size_t tag;
	size_t len;
	uint8_t *data;
};

static struct cap *caps, **caps_tail = &caps;

static bool dec_cb(pb_istream_t *st, const pb_field_t *field, void **arg)
{
	struct cap *c = amalloc(sizeof(*c));

	(void)arg;
	c->owner = field->message;
	c->desc = field->descriptor;
	c->tag = field->tag;
	c->len = st->bytes_left;
	c->data = amalloc(c->len);
	if (!pb_read(st, c->data, c->len))
		return false;
	*caps_tail = c;
	caps_tail = &c->next;
	return true;
}

static void caps_reset(void)
{
	caps = NULL;
	caps_tail = &caps;
}

/* Point every callback under @msg at dec_cb. Static submessages inside a
 * oneof are zeroed by nanopb before decoding, so they are not prepared:
 * callbacks there cannot work (nanopb's documented limit). */
static void np_prep_decode(const pb_msgdesc_t *nd, void *msg)
{
	pb_field_iter_t it;
	size_t i;

	if (!pb_field_iter_begin(&it, nd, msg))
		return;
	do {
		if (PB_ATYPE(it.type) == PB_ATYPE_CALLBACK) {
			((pb_callback_t *)it.pData)->funcs.decode = dec_cb;
		} else if (PB_ATYPE(it.type) == PB_ATYPE_STATIC && PB_LTYPE_IS_SUBMSG(it.type) &&
			   PB_HTYPE(it.type) != PB_HTYPE_ONEOF) {
			size_t n = PB_HTYPE(it.type) == PB_HTYPE_REPEATED ? it.array_size : 1;

			for (i = 0; i < n; i++)
				np_prep_decode(it.submsg_desc, (char *)it.pData + i * it.data_size);
		}
	} while (pb_field_iter_next(&it));
}

static int has_cap(const void *owner, const pb_msgdesc_t *desc, pb_size_t tag)
{
	const struct cap *c;

	for (c = caps; c; c = c->next)
		if (c->owner == owner && c->desc == desc && c->tag == tag)
			return 1;
	return 0;
}

static bool reenc_cb(pb_ostream_t *st, const pb_field_t *field, void *const *arg)
{
	const struct cap *c;

	(void)arg;
	for (c = caps; c; c = c->next) {
		if (c->owner != field->message || c->desc != field->descriptor ||
		    c->tag != field->tag)
			continue;
		if (!pb_encode_tag_for_field(st, field) || !pb_encode_string(st, c->data, c->len))
			return false;
	}
	return true;
}

/* After decoding: callbacks write back what they captured, verbatim. */
static void np_prep_reencode(const pb_msgdesc_t *nd, void *msg)
{
	pb_field_iter_t it;
	size_t i, n;

	if (!pb_field_iter_begin(&it, nd, msg))
		return;
	do {
		if (PB_ATYPE(it.type) == PB_ATYPE_CALLBACK) {
			((pb_callback_t *)it.pData)->funcs.encode = reenc_cb;
			/* nanopb does not set which_ when it decodes a callback
			 * member of a oneof; the encoder needs it. */
			if (PB_HTYPE(it.type) == PB_HTYPE_ONEOF && has_cap(msg, nd, it.tag))
				*(pb_size_t *)it.pSize = it.tag;
		} else if (PB_ATYPE(it.type) == PB_ATYPE_STATIC && PB_LTYPE_IS_SUBMSG(it.type)) {
			if (PB_HTYPE(it.type) == PB_HTYPE_ONEOF &&
			    *(pb_size_t *)it.pSize != it.tag)
				continue;
			n = PB_HTYPE(it.type) == PB_HTYPE_REPEATED ? *(pb_size_t *)it.pSize : 1;
			for (i = 0; i < n; i++)
				np_prep_reencode(it.submsg_desc, (char *)it.pData + i * it.data_size);
		}
	} while (pb_field_iter_next(&it));
}

static void dump_blob(struct text *t, const char *path, char kind, const uint8_t *p, size_t n)
{
	size_t i, show = n < 12 ? n : 12;

	text_add(t, "%s=%c%zu:%016" PRIx64 ":", path, kind, n, fnv(p, n));
	for (i = 0; i < show; i++)
		text_add(t, "%02x", p[i]);
	text_add(t, "\n");
}

static void dump_scalar(struct text *t, const char *path, const ProtobufCFieldDescriptor *f,
			uint64_t v)
{
	if (is_signed(f))
		text_add(t, "%s=%" PRId64 "\n", path, (int64_t)v);
	else
		text_add(t, "%s=%" PRIu64 "\n", path, v);
}

static void np_dump(const pb_msgdesc_t *nd, const ProtobufCMessageDescriptor *pd,
		    void *msg, const char *path, struct text *t);

static uint64_t np_read_scalar(const ProtobufCFieldDescriptor *f, const void *p, size_t size)
{
	switch (size) {
	case 1:
		return *(const uint8_t *)p;
	case 2:
		return is_signed(f) ? (uint64_t)(int64_t)*(const int16_t *)p : *(const uint16_t *)p;
	case 4:
		return is_signed(f) ? (uint64_t)(int64_t)*(const int32_t *)p : *(const uint32_t *)p;
	default:
		return *(const uint64_t *)p;
	}
}

/* One static value; @force: dump even a default value (oneof member). */
static void np_dump_one(const pb_field_iter_t *it, const ProtobufCFieldDescriptor *f,
			void *p, const char *path, int force, struct text *t)
{
	uint64_t v;
	size_t n;

	switch (f->type) {
	case PROTOBUF_C_TYPE_MESSAGE:
		text_add(t, "%s{\n", path);
		np_dump(it->submsg_desc, f->descriptor, p, path, t);
		text_add(t, "%s}\n", path);
		return;
	case PROTOBUF_C_TYPE_STRING:
		n = strnlen(p, it->data_size);
		if (n || force)
			dump_blob(t, path, 's', p, n);
		return;
	case PROTOBUF_C_TYPE_BYTES:
		if (PB_LTYPE(it->type) == PB_LTYPE_BYTES) {
			const pb_bytes_array_t *b = p;

			if (b->size || force)
				dump_blob(t, path, 'b', b->bytes, b->size);
		} else {
			dump_blob(t, path, 'b', p, it->data_size);
		}
		return;
	default:
		v = np_read_scalar(f, p, it->data_size);
		if (v || force)
			dump_scalar(t, path, f, v);
	}
}

static void np_dump_callback(const pb_field_iter_t *it, const ProtobufCFieldDescriptor *f,
			     void *msg, const char *path, struct text *t)
{
	char ipath[MAX_PATH];
	const struct cap *c;
	size_t i = 0;

	for (c = caps; c; c = c->next) {
		if (c->owner != msg || c->desc != it->descriptor || c->tag != it->tag)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			mkpath(ipath, "%s[%zu]", path, i);
		else
			mkpath(ipath, "%s", path);
		i++;
		if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			void *sub = amalloc(np_struct_size(it->submsg_desc));
			pb_istream_t is = pb_istream_from_buffer(c->data, c->len);

			np_prep_decode(it->submsg_desc, sub);
			if (!pb_decode(&is, it->submsg_desc, sub)) {
				text_add(t, "%s=NANOPB-DECODE-FAILED(%s)\n", ipath, PB_GET_ERROR(&is));
				continue;
			}
			text_add(t, "%s{\n", ipath);
			np_dump(it->submsg_desc, f->descriptor, sub, ipath, t);
			text_add(t, "%s}\n", ipath);
		} else if (c->len || (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ||
			   f->label == PROTOBUF_C_LABEL_REPEATED) {
			dump_blob(t, ipath, f->type == PROTOBUF_C_TYPE_STRING ? 's' : 'b',
				  c->data, c->len);
		}
	}
}

static void np_dump(const pb_msgdesc_t *nd, const ProtobufCMessageDescriptor *pd,
		    void *msg, const char *path, struct text *t)
{
	char sub[MAX_PATH], ipath[MAX_PATH];
	pb_field_iter_t it;
	unsigned k;
	size_t i, n;

	for (k = 0; k < pd->n_fields; k++) {
		const ProtobufCFieldDescriptor *f = &pd->fields[k];

		mkpath(sub, "%s.%s", path, f->name);
		if (!np_find(&it, nd, msg, f->id)) {
			text_add(t, "%s=MISSING-IN-NANOPB\n", sub);
			continue;
		}
		if (PB_ATYPE(it.type) == PB_ATYPE_CALLBACK) {
			np_dump_callback(&it, f, msg, sub, t);
		} else if (PB_HTYPE(it.type) == PB_HTYPE_ONEOF) {
			if (*(pb_size_t *)it.pSize == it.tag)
				np_dump_one(&it, f, it.pData, sub, 1, t);
		} else if (PB_HTYPE(it.type) == PB_HTYPE_REPEATED) {
			n = *(pb_size_t *)it.pSize;
			for (i = 0; i < n; i++) {
				mkpath(ipath, "%s[%zu]", sub, i);
				np_dump_one(&it, f, (char *)it.pData + i * it.data_size, ipath, 1, t);
			}
		} else if (PB_HTYPE(it.type) == PB_HTYPE_OPTIONAL && it.pSize) {
			if (*(bool *)it.pSize)
				np_dump_one(&it, f, it.pData, sub, 0, t);
		} else {
			np_dump_one(&it, f, it.pData, sub, 0, t);
		}
	}
}

/* ---- protobuf-c side: fill, dump ---- */

static size_t pc_elem_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_UINT64:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default:
		return 4;
	}
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		perror("malloc");
		exit(1);
	}
	return p;
}

static void pc_fill(const pb_msgdesc_t *nd, const ProtobufCMessageDescriptor *pd,
		    ProtobufCMessage *m, const char *path, unsigned variant);

static void pc_fill_one(const pb_field_iter_t *it, const ProtobufCFieldDescriptor *f,
			void *dst, const char *path, unsigned variant)
{
	uint64_t h = seed(path, variant), v;
	size_t n;

	switch (f->type) {
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessageDescriptor *sd = f->descriptor;
		ProtobufCMessage *sub = xmalloc(sd->sizeof_message);

		protobuf_c_message_init(sd, sub);
		pc_fill(it->submsg_desc, sd, sub, path, variant);
		*(ProtobufCMessage **)dst = sub;
		return;
	}
	case PROTOBUF_C_TYPE_STRING: {
		char *s;

		n = gen_len(f, it, h, variant);
		s = xmalloc(n + 1);
		gen_bytes((uint8_t *)s, n, h, 1);
		s[n] = 0;
		*(char **)dst = s;
		return;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *b = dst;

		n = gen_len(f, it, h, variant);
		b->len = n;
		b->data = xmalloc(n);
		gen_bytes(b->data, n, h, 0);
		return;
	}
	default:
		break;
	}
	v = gen_scalar(f, h);
	switch (pc_elem_size(f)) {
	case 8:
		*(uint64_t *)dst = v;
		break;
	default:
		*(uint32_t *)dst = (uint32_t)v;
	}
}

static void pc_fill(const pb_msgdesc_t *nd, const ProtobufCMessageDescriptor *pd,
		    ProtobufCMessage *m, const char *path, unsigned variant)
{
	char sub[MAX_PATH], ipath[MAX_PATH];
	char *base = (char *)m;
	pb_field_iter_t it;
	unsigned k, fv;
	size_t i, n;

	for (k = 0; k < pd->n_fields; k++) {
		const ProtobufCFieldDescriptor *f = &pd->fields[k];

		if (!np_find(&it, nd, NULL, f->id)) {
			fail("%s: protobuf-c field %s (%u) unknown to nanopb", path, f->name, f->id);
			continue;
		}
		if (!oneof_selected(pd, f, variant))
			continue;
		fv = field_variant(pd, f, variant);
		mkpath(sub, "%s.%s", path, f->name);
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
			*(uint32_t *)(base + f->quantifier_offset) = f->id;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t esz = pc_elem_size(f);
			char *arr;

			n = gen_count(&it);
			arr = xmalloc(n * esz);
			*(size_t *)(base + f->quantifier_offset) = n;
			*(void **)(base + f->offset) = arr;
			for (i = 0; i < n; i++) {
				mkpath(ipath, "%s[%zu]", sub, i);
				pc_fill_one(&it, f, arr + i * esz, ipath, fv);
			}
		} else {
			pc_fill_one(&it, f, base + f->offset, sub, fv);
		}
	}
}

static void pc_dump(const ProtobufCMessageDescriptor *pd, const ProtobufCMessage *m,
		    const char *path, struct text *t);

static void pc_dump_one(const ProtobufCFieldDescriptor *f, const void *p, const char *path,
			int force, struct text *t)
{
	uint64_t v;

	switch (f->type) {
	case PROTOBUF_C_TYPE_MESSAGE: {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)p;

		if (!sub)
			return;
		text_add(t, "%s{\n", path);
		pc_dump(f->descriptor, sub, path, t);
		text_add(t, "%s}\n", path);
		return;
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		size_t n = s ? strlen(s) : 0;

		if (n || force)
			dump_blob(t, path, 's', (const uint8_t *)(s ? s : ""), n);
		return;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		const ProtobufCBinaryData *b = p;

		if (b->len || force)
			dump_blob(t, path, 'b', b->data, b->len);
		return;
	}
	default:
		break;
	}
	if (pc_elem_size(f) == 8)
		v = *(const uint64_t *)p;
	else if (is_signed(f))
		v = (uint64_t)(int64_t)*(const int32_t *)p;
	else
		v = *(const uint32_t *)p;
	if (v || force)
		dump_scalar(t, path, f, v);
}

static void pc_dump(const ProtobufCMessageDescriptor *pd, const ProtobufCMessage *m,
		    const char *path, struct text *t)
{
	char sub[MAX_PATH], ipath[MAX_PATH];
	const char *base = (const char *)m;
	unsigned k;
	size_t i, n;

	for (k = 0; k < pd->n_fields; k++) {
		const ProtobufCFieldDescriptor *f = &pd->fields[k];

		mkpath(sub, "%s.%s", path, f->name);
		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (*(const uint32_t *)(base + f->quantifier_offset) == f->id)
				pc_dump_one(f, base + f->offset, sub, 1, t);
		} else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			const char *arr = *(char *const *)(base + f->offset);

			n = *(const size_t *)(base + f->quantifier_offset);
			for (i = 0; i < n; i++) {
				mkpath(ipath, "%s[%zu]", sub, i);
				pc_dump_one(f, arr + i * pc_elem_size(f), ipath, 1, t);
			}
		} else {
			pc_dump_one(f, base + f->offset, sub, 0, t);
		}
	}
}

/* ---- the cases ---- */

struct pair {
	const char *name;
	const pb_msgdesc_t *np;
	const ProtobufCMessageDescriptor *pc;
};

#define X(N, p) { #N, &sockbroker_v1_##N##_msg, &sockbroker__v1__##p##__descriptor },
static const struct pair pairs[] = {
	SB_COMPAT_MESSAGES(X)
	{ "HealthCheckRequest", &grpc_health_v1_HealthCheckRequest_msg,
	  &grpc__health__v1__health_check_request__descriptor },
	{ "HealthCheckResponse", &grpc_health_v1_HealthCheckResponse_msg,
	  &grpc__health__v1__health_check_response__descriptor },
};
#undef X

#define N_PAIRS (sizeof(pairs) / sizeof(pairs[0]))

/* Report the first line where two dumps differ. */
static int same_dump(const char *what, const char *name, unsigned variant,
		     const struct text *want, const struct text *got)
{
	const char *a = want->p ? want->p : "", *b = got->p ? got->p : "";
	size_t line = 1;

	if (!strcmp(a, b))
		return 1;
	while (*a && *a == *b) {
		line += *a == '\n';
		a++;
		b++;
	}
	while (a > (want->p ? want->p : "") && a[-1] != '\n') {
		a--;
		b--;
	}
	fail("%s variant %u: %s differs at line %zu:\n  want: %.*s\n  got:  %.*s", name,
	     variant, what, line, (int)strcspn(a, "\n"), a, (int)strcspn(b, "\n"), b);
	return 0;
}

static int same_bytes(const char *what, const char *name, unsigned variant,
		      const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	size_t i;

	if (alen == blen && (!alen || !memcmp(a, b, alen)))
		return 1;
	for (i = 0; i < alen && i < blen && a[i] == b[i]; i++)
		;
	fail("%s variant %u: %s: %zu vs %zu bytes, first difference at byte %zu", name,
	     variant, what, alen, blen, i);
	return 0;
}

static void run_case(const struct pair *p, unsigned variant, struct text *expect)
{
	struct text got = { 0 };
	ProtobufCMessage *pc_src, *m1;
	void *np_src, *n2;
	uint8_t *e1, *e2, *e3, *e4;
	size_t l1 = 0, l2, l3, l4 = 0;
	pb_istream_t is;

	caps_reset();
	text_free(expect);

	/* 1. nanopb fills and encodes. */
	np_src = amalloc(np_struct_size(p->np));
	np_fill(p->np, p->pc, np_src, p->name, variant);
	e1 = np_encode(p->np, np_src, &l1);
	if (!e1) {
		fail("%s variant %u: nanopb cannot encode", p->name, variant);
		return;
	}

	/* 2. protobuf-c fills, packs and dumps the expectation. */
	pc_src = xmalloc(p->pc->sizeof_message);
	protobuf_c_message_init(p->pc, pc_src);
	pc_fill(p->np, p->pc, pc_src, p->name, variant);
	l2 = protobuf_c_message_get_packed_size(pc_src);
	e2 = amalloc(l2);
	protobuf_c_message_pack(pc_src, e2);
	pc_dump(p->pc, pc_src, p->name, expect);
	protobuf_c_message_free_unpacked(pc_src, NULL);

	/* 3. Both encoders wrote the same bytes. */
	same_bytes("nanopb encoding vs protobuf-c packing", p->name, variant, e1, l1, e2, l2);

	/* 4. nanopb -> protobuf-c, and protobuf-c re-packs the same bytes. */
	m1 = protobuf_c_message_unpack(p->pc, NULL, l1, e1);
	if (!m1) {
		fail("%s variant %u: protobuf-c cannot unpack nanopb's %zu bytes", p->name,
		     variant, l1);
	} else {
		pc_dump(p->pc, m1, p->name, &got);
		same_dump("protobuf-c's view of nanopb's encoding", p->name, variant, expect, &got);
		l3 = protobuf_c_message_get_packed_size(m1);
		e3 = amalloc(l3);
		protobuf_c_message_pack(m1, e3);
		same_bytes("protobuf-c re-encoding of nanopb's bytes", p->name, variant,
			   e1, l1, e3, l3);
		protobuf_c_message_free_unpacked(m1, NULL);
	}
	text_free(&got);

	/* 5. protobuf-c -> nanopb, and nanopb re-encodes the same bytes. */
	n2 = amalloc(np_struct_size(p->np));
	np_prep_decode(p->np, n2);
	is = pb_istream_from_buffer(e2, l2);
	if (!pb_decode(&is, p->np, n2)) {
		fail("%s variant %u: nanopb cannot decode protobuf-c's %zu bytes: %s", p->name,
		     variant, l2, PB_GET_ERROR(&is));
		return;
	}
	np_dump(p->np, p->pc, n2, p->name, &got);
	same_dump("nanopb's view of protobuf-c's packing", p->name, variant, expect, &got);
	text_free(&got);
	np_prep_reencode(p->np, n2);
	e4 = np_encode(p->np, n2, &l4);
	if (!e4)
		fail("%s variant %u: nanopb cannot re-encode what it decoded", p->name, variant);
	else
		same_bytes("nanopb re-encoding of protobuf-c's bytes", p->name, variant,
			   e2, l2, e4, l4);
}

static int in_pairs(const ProtobufCMessageDescriptor *d)
{
	size_t i;

	for (i = 0; i < N_PAIRS; i++)
		if (pairs[i].pc == d)
			return 1;
	return 0;
}

/*
 * Every message declared in the .proto is in SB_COMPAT_MESSAGES: a message
 * added to the contract without a line in the list fails here, not in a
 * client. Nested messages are named Outer_Inner, as nanopb names them.
 * A small scanner: comments dropped, `message NAME {` and braces counted.
 */
static void check_proto_listed(const char *path)
{
	char line[512], stack[8][64];
	int depth = 0, msg_at[8] = { 0 }, listed = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		fail("cannot read %s: %s", path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "//"), name[64], full[8 * 64 + 8];
		size_t i, k;

		if (p)
			*p = '\0';
		for (p = line; *p; p++) {
			if (*p == '{') {
				depth++;
			} else if (*p == '}') {
				if (depth > 0 && depth < 8)
					msg_at[depth] = 0;
				depth--;
			} else if (!strncmp(p, "message", 7) && (p == line || p[-1] == ' ') &&
				   sscanf(p + 7, " %63[A-Za-z0-9_]", name) == 1 &&
				   depth >= 0 && depth < 7) {
				snprintf(stack[depth], sizeof(stack[depth]), "%s", name);
				msg_at[depth + 1] = 1;
				full[0] = '\0';
				for (k = 0; k <= (size_t)depth; k++) {
					if (k && !msg_at[k])
						break;
					snprintf(full + strlen(full), sizeof(full) - strlen(full),
						 "%s%s", k ? "_" : "", stack[k]);
				}
				for (i = 0; i < N_PAIRS; i++)
					if (!strcmp(pairs[i].name, full))
						break;
				if (i == N_PAIRS)
					fail("message %s of %s is missing from "
					     "wire_compat_list.h", full, path);
				listed++;
				p += 7;
			}
		}
	}
	fclose(f);
	if (!listed)
		fail("no message found in %s", path);
}

/* The nanopb .options must have been applied: without them every string
 * and bytes field is a callback, and callbacks inside a oneof submessage
 * (Address.inet.addr...) cannot be decoded by nanopb at all. */
static void check_options_applied(void)
{
	pb_field_iter_t it;

	if (!np_find(&it, &sockbroker_v1_Inet4Address_msg, NULL, 1))
		return;
	if (PB_ATYPE(it.type) != PB_ATYPE_STATIC)
		fail("nanopb code was generated WITHOUT sockbroker.options "
		     "(Inet4Address.addr is a callback, the options say max_size:4): "
		     "protoc-gen-nanopb looks for <-I dir>/sockbroker/v1/sockbroker.options, "
		     "so its -I must be the proto root, not proto/sockbroker/v1. "
		     "Consequence: the client cannot decode addresses inside Address's oneof");
}

int main(void)
{
	const ProtobufCServiceDescriptor *svc = &sockbroker__v1__socket_broker__descriptor;
	struct text expect = { 0 }, address_all = { 0 };
	static const char *const address_members[] = {
		"Address.inet{", "Address.inet6{", "Address.unix_addr{", "Address.link{",
		"Address.unix_addr.path=", "Address.unix_addr.abstract=",
	};
	unsigned i, v, nv, cases = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	check_options_applied();
	check_proto_listed(SB_PROTO_FILE);

	/* Every request and reply type of every RPC is in the table. */
	for (i = 0; i < svc->n_methods; i++) {
		if (!in_pairs(svc->methods[i].input))
			fail("%s: request type %s not covered", svc->methods[i].name,
			     svc->methods[i].input->name);
		if (!in_pairs(svc->methods[i].output))
			fail("%s: reply type %s not covered", svc->methods[i].name,
			     svc->methods[i].output->name);
	}

	for (i = 0; i < N_PAIRS; i++) {
		int before = failures;
		unsigned k;

		for (k = 1; k < pairs[i].pc->n_fields; k++)
			if (pairs[i].pc->fields[k].id <= pairs[i].pc->fields[k - 1].id)
				fail("%s: protobuf-c fields not in tag order", pairs[i].name);
		nv = variants(pairs[i].pc);
		for (v = 0; v < nv; v++) {
			run_case(&pairs[i], v, &expect);
			if (pairs[i].pc == &sockbroker__v1__address__descriptor)
				text_add(&address_all, "%s", expect.p ? expect.p : "");
			arena_free();
			cases++;
		}
		printf("%s %s (%u variant%s)\n", failures == before ? "ok  " : "FAIL",
		       pairs[i].name, nv, nv == 1 ? "" : "s");
	}

	for (i = 0; i < sizeof(address_members) / sizeof(address_members[0]); i++)
		if (!address_all.p || !strstr(address_all.p, address_members[i]))
			fail("Address oneof member %s never exercised", address_members[i]);
	if (biggest_data <= 65535)
		fail("no data field above 64 KiB went through a nanopb callback "
		     "(largest %zu bytes)", biggest_data);

	text_free(&expect);
	text_free(&address_all);
	printf("%u cases over %zu message types, %zu RPCs; largest data field %zu bytes; "
	       "%d failure%s\n", cases, N_PAIRS, (size_t)svc->n_methods, biggest_data,
	       failures, failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}
