/* SPDX-License-Identifier: MIT
 * ops_reflect.c - gRPC server reflection (grpc.reflection.v1 and v1alpha,
 * the same messages on the wire): generic tools list the broker's services
 * and fetch the descriptor files to call them. The files are the
 * FileDescriptorSet compiled into the daemon (proto/CMakeLists.txt): the
 * contract, health and reflection itself. Read-only data, built once at
 * start-up; no session, nothing a caller can change.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "log.h"
#include "ops.h"

extern const unsigned char sb__reflection_set[];
extern const unsigned long sb__reflection_set_len;

#define SB__REFL_MAX_SYMBOLS 4096

/* One file of the set, packed as a reply carries it. */
struct sb__rfile {
	const char *name;
	ProtobufCBinaryData packed;
};

/* A fully qualified symbol ("sockbroker.v1.SocketBroker.Dial") and the
 * file that defines it. */
struct sb__rsym {
	char *name;
	size_t file;
};

static Google__Protobuf__FileDescriptorSet *sb__rset;
static struct sb__rfile *sb__rfiles;
static struct sb__rsym *sb__rsyms;
static size_t sb__n_rsyms;
static char **sb__rservices;
static size_t sb__n_rservices;

static int sb__rsym_add(const char *pkg, const char *outer, const char *name, size_t file)
{
	size_t len;
	char *s;

	if (sb__n_rsyms == SB__REFL_MAX_SYMBOLS)
		return -ENOSPC;
	len = strlen(pkg) + (outer ? strlen(outer) : 0) + strlen(name) + 3;
	s = malloc(len);
	if (!s)
		return -ENOMEM;
	snprintf(s, len, "%s%s%s%s%s", pkg, pkg[0] ? "." : "", outer ? outer : "",
		 outer ? "." : "", name);
	sb__rsyms[sb__n_rsyms].name = s;
	sb__rsyms[sb__n_rsyms].file = file;
	sb__n_rsyms++;
	return 0;
}

/* A message, its nested messages and enums. */
static int sb__rsym_message(const char *pkg, const char *outer,
			    const Google__Protobuf__DescriptorProto *m, size_t file)
{
	char full[512];
	size_t i;
	int ret = sb__rsym_add(pkg, outer, m->name, file);

	if (ret < 0)
		return ret;
	snprintf(full, sizeof(full), "%s%s%s", outer ? outer : "", outer ? "." : "", m->name);
	for (i = 0; i < m->n_nested_type && ret == 0; i++)
		ret = sb__rsym_message(pkg, full, m->nested_type[i], file);
	for (i = 0; i < m->n_enum_type && ret == 0; i++)
		ret = sb__rsym_add(pkg, full, m->enum_type[i]->name, file);
	return ret;
}

int sb__reflect_init(void)
{
	size_t f, i, k;
	int ret = 0;

	sb__rset = google__protobuf__file_descriptor_set__unpack(NULL, sb__reflection_set_len,
								 sb__reflection_set);
	if (!sb__rset)
		return -EINVAL;
	sb__rfiles = calloc(sb__rset->n_file, sizeof(*sb__rfiles));
	sb__rsyms = calloc(SB__REFL_MAX_SYMBOLS, sizeof(*sb__rsyms));
	sb__rservices = calloc(SB__REFL_MAX_SYMBOLS, sizeof(*sb__rservices));
	if (!sb__rfiles || !sb__rsyms || !sb__rservices)
		return -ENOMEM;
	for (f = 0; f < sb__rset->n_file && ret == 0; f++) {
		Google__Protobuf__FileDescriptorProto *fd = sb__rset->file[f];
		const char *pkg = fd->package ? fd->package : "";

		sb__rfiles[f].name = fd->name;
		sb__rfiles[f].packed.len = protobuf_c_message_get_packed_size(&fd->base);
		sb__rfiles[f].packed.data = malloc(sb__rfiles[f].packed.len ?
						   sb__rfiles[f].packed.len : 1);
		if (!sb__rfiles[f].packed.data)
			return -ENOMEM;
		protobuf_c_message_pack(&fd->base, sb__rfiles[f].packed.data);
		for (i = 0; i < fd->n_message_type && ret == 0; i++)
			ret = sb__rsym_message(pkg, NULL, fd->message_type[i], f);
		for (i = 0; i < fd->n_enum_type && ret == 0; i++)
			ret = sb__rsym_add(pkg, NULL, fd->enum_type[i]->name, f);
		for (i = 0; i < fd->n_service && ret == 0; i++) {
			const Google__Protobuf__ServiceDescriptorProto *sv = fd->service[i];

			ret = sb__rsym_add(pkg, NULL, sv->name, f);
			if (ret == 0 && sb__n_rservices < SB__REFL_MAX_SYMBOLS)
				sb__rservices[sb__n_rservices++] = sb__rsyms[sb__n_rsyms - 1].name;
			for (k = 0; k < sv->n_method && ret == 0; k++)
				ret = sb__rsym_add(pkg, sv->name, sv->method[k]->name, f);
		}
	}
	return ret;
}

void sb__reflect_free(void)
{
	size_t i;

	for (i = 0; sb__rfiles && sb__rset && i < sb__rset->n_file; i++)
		free(sb__rfiles[i].packed.data);
	for (i = 0; i < sb__n_rsyms; i++)
		free(sb__rsyms[i].name);
	free(sb__rfiles);
	free(sb__rsyms);
	free(sb__rservices);
	if (sb__rset)
		google__protobuf__file_descriptor_set__free_unpacked(sb__rset, NULL);
	sb__rset = NULL;
	sb__rfiles = NULL;
	sb__rsyms = NULL;
	sb__rservices = NULL;
	sb__n_rsyms = sb__n_rservices = 0;
}

/* The file named @name, or SIZE_MAX. */
static size_t sb__rfile_named(const char *name)
{
	size_t f;

	for (f = 0; sb__rset && f < sb__rset->n_file; f++)
		if (!strcmp(sb__rfiles[f].name, name))
			return f;
	return SIZE_MAX;
}

/* The file that defines @sym (a method may be given as Service.Method or
 * Service/Method), or SIZE_MAX. */
static size_t sb__rfile_of(const char *sym)
{
	char s[512];
	char *slash;
	size_t i;

	snprintf(s, sizeof(s), "%s", sym);
	slash = strrchr(s, '/');
	if (slash)
		*slash = '.';
	for (i = 0; i < sb__n_rsyms; i++)
		if (!strcmp(sb__rsyms[i].name, s))
			return sb__rsyms[i].file;
	return SIZE_MAX;
}

static void sb__reflect_recv(struct sb__call *c, int ok);

static void sb__reflect_sent(struct sb__call *c, int ok)
{
	if (!ok) {
		sb__call_fail(c, GRPC_STATUS_CANCELLED, ECANCELED, "cancelled");
		return;
	}
	if (sb__call_recv(c, sb__reflect_recv) < 0)
		sb__call_fail(c, GRPC_STATUS_CANCELLED, ECANCELED, "cancelled");
}

/* Answer one request: the message it asks for, or an ErrorResponse with a
 * gRPC code, as the reflection protocol wants (the stream goes on). */
static void sb__reflect_answer(struct sb__call *c, const Grpc__Reflection__V1__ServerReflectionRequest *rq)
{
	Grpc__Reflection__V1__ServerReflectionResponse rep =
		GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__INIT;
	Grpc__Reflection__V1__FileDescriptorResponse fdr =
		GRPC__REFLECTION__V1__FILE_DESCRIPTOR_RESPONSE__INIT;
	Grpc__Reflection__V1__ListServiceResponse lsr =
		GRPC__REFLECTION__V1__LIST_SERVICE_RESPONSE__INIT;
	Grpc__Reflection__V1__ExtensionNumberResponse enr =
		GRPC__REFLECTION__V1__EXTENSION_NUMBER_RESPONSE__INIT;
	Grpc__Reflection__V1__ErrorResponse err = GRPC__REFLECTION__V1__ERROR_RESPONSE__INIT;
	Grpc__Reflection__V1__ServiceResponse *svc = NULL, **svcp = NULL;
	ProtobufCBinaryData one;
	size_t f = SIZE_MAX, i;
	const char *what = NULL;

	rep.valid_host = rq->host;
	rep.original_request = (Grpc__Reflection__V1__ServerReflectionRequest *)rq;
	switch (rq->message_request_case) {
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES:
		svc = calloc(sb__n_rservices ? sb__n_rservices : 1, sizeof(*svc));
		/* NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers */
		svcp = calloc(sb__n_rservices ? sb__n_rservices : 1, sizeof(*svcp));
		if (!svc || !svcp) {
			sb__call_fail(c, GRPC_STATUS_RESOURCE_EXHAUSTED, ENOMEM, "out of memory");
			goto out;
		}
		for (i = 0; i < sb__n_rservices; i++) {
			grpc__reflection__v1__service_response__init(&svc[i]);
			svc[i].name = sb__rservices[i];
			svcp[i] = &svc[i];
		}
		lsr.n_service = sb__n_rservices;
		lsr.service = svcp;
		rep.message_response_case =
			GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
		rep.list_services_response = &lsr;
		break;
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME:
		f = sb__rfile_named(rq->file_by_filename);
		what = "no such file";
		break;
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL:
		f = sb__rfile_of(rq->file_containing_symbol);
		what = "no such symbol";
		break;
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE:
		/* The files define no extensions: a known type has none. */
		if (sb__rfile_of(rq->all_extension_numbers_of_type) == SIZE_MAX) {
			what = "no such type";
			break;
		}
		enr.base_type_name = rq->all_extension_numbers_of_type;
		rep.message_response_case =
			GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE;
		rep.all_extension_numbers_response = &enr;
		break;
	case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION:
		what = "no extensions are defined";
		break;
	default:
		what = "an empty or unknown request";
		break;
	}
	if (f != SIZE_MAX) {
		/* None of the files imports another: a file is its own closure. */
		one = sb__rfiles[f].packed;
		fdr.n_file_descriptor_proto = 1;
		fdr.file_descriptor_proto = &one;
		rep.message_response_case =
			GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
		rep.file_descriptor_response = &fdr;
	} else if (rep.message_response_case ==
		   GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE__NOT_SET) {
		err.error_code = GRPC_STATUS_NOT_FOUND;
		err.error_message = (char *)what;
		rep.message_response_case =
			GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
		rep.error_response = &err;
	}
	if (sb__call_send(c, &rep.base, sb__reflect_sent) < 0)
		sb__call_fail(c, GRPC_STATUS_CANCELLED, ECANCELED, "cancelled");
out:
	free(svc);
	free(svcp);
}

static void sb__reflect_recv(struct sb__call *c, int ok)
{
	Grpc__Reflection__V1__ServerReflectionRequest *rq;
	int malformed = 0;

	if (!ok) {
		sb__call_fail(c, GRPC_STATUS_CANCELLED, ECANCELED, "cancelled");
		return;
	}
	rq = sb__call_unpack_in(c, &grpc__reflection__v1__server_reflection_request__descriptor,
				&malformed);
	if (malformed) {
		sb__call_fail(c, GRPC_STATUS_INVALID_ARGUMENT, EINVAL,
			      "malformed ServerReflectionRequest");
		return;
	}
	if (!rq) {	/* the client is done asking */
		sb__call_finish_ok(c);
		return;
	}
	sb__reflect_answer(c, rq);
	protobuf_c_message_free_unpacked(&rq->base, NULL);
}

void sb__h_reflection(struct sb__call *c, void *req)
{
	(void)req;
	if (!sb__rset) {
		sb__call_fail(c, GRPC_STATUS_UNAVAILABLE, EAGAIN, "reflection is not ready");
		return;
	}
	if (sb__call_recv(c, sb__reflect_recv) < 0)
		sb__call_fail(c, GRPC_STATUS_CANCELLED, ECANCELED, "cancelled");
}
