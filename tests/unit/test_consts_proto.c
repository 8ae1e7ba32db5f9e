/* SPDX-License-Identifier: MIT
 * test_consts_proto.c - lib/consts.c's tables against the enums of
 * sockbroker.proto, read from the protobuf-c enum descriptors: every row's
 * name is a value of its enum with the row's portable number, and every
 * value of the enum translates, so the hand-kept tables cannot drift from
 * the contract.
 *
 * Exit status 0 when every check holds; each failure is printed to stderr.
 */
#include <stdio.h>
#include <string.h>

#include "consts.h"
#include "sockbroker/v1/sockbroker.pb-c.h"

static int failures;

#define FAIL(...) do { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); \
		       failures++; } while (0)

static const ProtobufCEnumDescriptor *const enum_of[SB__C_COUNT] = {
	[SB__C_AF] = &sockbroker__v1__address_family__descriptor,
	[SB__C_SOCK] = &sockbroker__v1__socket_type__descriptor,
	[SB__C_IPPROTO] = &sockbroker__v1__protocol__descriptor,
	[SB__C_SOL] = &sockbroker__v1__option_level__descriptor,
	[SB__C_SO] = &sockbroker__v1__socket_option__descriptor,
	[SB__C_TCP] = &sockbroker__v1__tcp_option__descriptor,
	[SB__C_IP] = &sockbroker__v1__ip_option__descriptor,
	[SB__C_IPV6] = &sockbroker__v1__ipv6_option__descriptor,
	[SB__C_UDP] = &sockbroker__v1__udp_option__descriptor,
	[SB__C_MSG] = &sockbroker__v1__msg_flag__descriptor,
	[SB__C_AI] = &sockbroker__v1__ai_flag__descriptor,
	[SB__C_NI] = &sockbroker__v1__ni_flag__descriptor,
	[SB__C_EAI] = &sockbroker__v1__eai_error__descriptor,
	[SB__C_IFF] = &sockbroker__v1__if_flag__descriptor,
	[SB__C_SHUT] = &sockbroker__v1__shutdown_how__descriptor,
	[SB__C_POLL] = &sockbroker__v1__poll_event__descriptor,
	[SB__C_ERRNO] = &sockbroker__v1__errno__descriptor,
};

/* Rows of the table -> the enum: same name, same number. */
static void table_in_enum(enum sb__cfam fam, const ProtobufCEnumDescriptor *d)
{
	const struct sb__const *t;
	size_t n, i;

	t = sb__const_table(fam, &n);
	if (!t || !n) {
		FAIL("%s: no table", d->name);
		return;
	}
	for (i = 0; i < n; i++) {
		const ProtobufCEnumValue *v =
			protobuf_c_enum_descriptor_get_value_by_name(d, t[i].name);

		/* IPPROTO_TCP names the level SOL_TCP too; the .proto
		 * cannot give one name to two enums of a package. */
		if (!v && fam == SB__C_SOL)
			v = protobuf_c_enum_descriptor_get_value_by_name(
				&sockbroker__v1__protocol__descriptor, t[i].name);
		if (!v)
			FAIL("%s: row %s is not a value of the enum", d->name, t[i].name);
		else if ((uint32_t)v->value != t[i].portable)
			FAIL("%s: %s is %d in the .proto, %u in lib/consts.c",
			     d->name, t[i].name, v->value, t[i].portable);
	}
}

/*
 * The enum -> the table: every value translates, but a zero that means
 * "none" (SO_UNSPEC, MSG_NONE, E_OK...), which no native constant carries.
 * protobuf-c lists each number once in values[], under its first name.
 */
static void enum_in_table(enum sb__cfam fam, const ProtobufCEnumDescriptor *d)
{
	unsigned i;

	for (i = 0; i < d->n_values; i++) {
		const ProtobufCEnumValue *v = &d->values[i];
		int native = 0;

		if (v->value == 0 && (strstr(v->name, "UNSPEC") ||
				      strstr(v->name, "_NONE") || !strcmp(v->name, "E_OK")))
			continue;
		if (sb__const_to_native(fam, (uint32_t)v->value, &native) < 0)
			FAIL("%s: %s (%d) has no row in lib/consts.c",
			     d->name, v->name, v->value);
	}
}

int main(void)
{
	int fam;

	for (fam = 0; fam < SB__C_COUNT; fam++) {
		if (!enum_of[fam]) {
			FAIL("constant family %d has no enum", fam);
			continue;
		}
		table_in_enum((enum sb__cfam)fam, enum_of[fam]);
		enum_in_table((enum sb__cfam)fam, enum_of[fam]);
	}
	if (failures)
		fprintf(stderr, "%d failures\n", failures);
	else
		printf("every constant table agrees with sockbroker.proto\n");
	return failures ? 1 : 0;
}
