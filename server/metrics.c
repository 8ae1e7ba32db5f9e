/* SPDX-License-Identifier: MIT
 * metrics.c - /metrics over HTTP/1.x with libmicrohttpd: a parser that
 * has met hostile clients for years rather than one written here, with
 * the bounds metrics.h states set through its options.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "addr.h"
#include "log.h"
#include "metrics.h"
#include "promtext.h"
#include "stats_reply.h"

static int sb__mfd = -1;
static struct MHD_Daemon *sb__mhd;

int sb__metrics_open(const struct sb__metrics_cfg *m, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, fd, ret;

	if (!m->enabled)
		return 0;
	if (sb__addr_to_sockaddr(&m->addr, &ss, &len) < 0) {
		snprintf(err, errlen, "metrics.listen %s: not an IP address", m->text);
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 64) < 0)
		goto fail;
	sb__mfd = fd;
	return 0;
fail:
	ret = -errno;
	snprintf(err, errlen, "metrics.listen %s: %s", m->text, strerror(errno));
	if (fd >= 0)
		close(fd);
	return ret;
}

static enum MHD_Result sb__mreply(struct MHD_Connection *conn, unsigned code,
				  const char *text, int allow)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(strlen(text), (void *)text,
					    MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

/* promtext.c's accessors over protobuf-c messages: fields by name. */
static uint64_t sb__mget(const void *obj, enum sb__prom_kind kind, const char *key)
{
	const ProtobufCMessage *m = obj;
	const ProtobufCFieldDescriptor *f;
	uint64_t v;

	(void)kind;
	f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, key);
	if (!f || f->type != PROTOBUF_C_TYPE_UINT64 || f->label == PROTOBUF_C_LABEL_REPEATED)
		return 0;
	memcpy(&v, (const char *)m + f->offset, sizeof(v));
	return v;
}

static const char *sb__mname(const void *obj, enum sb__prom_kind kind)
{
	if (kind == SB__PROM_IDENTITY)
		return ((const Sockbroker__V1__IdentityStats *)obj)->identity;
	if (kind == SB__PROM_METHOD)
		return ((const Sockbroker__V1__MethodStats *)obj)->method;
	if (kind == SB__PROM_RULE)
		return ((const Sockbroker__V1__RuleStats *)obj)->rule;
	return "";
}

static const uint64_t *sb__mbuckets(const void *m, size_t *n)
{
	const Sockbroker__V1__MethodStats *ms = m;

	*n = ms->n_buckets;
	return ms->buckets;
}

/* The page: everything GetStats shows root. Whoever reaches the port sees
 * every identity and rule, hence loopback unless allow_remote. */
static enum MHD_Result sb__mpage(struct MHD_Connection *conn)
{
	struct sb__stats_snap s;
	struct sb__prom_in in;
	struct MHD_Response *r;
	enum MHD_Result ret = MHD_NO;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = NULL;
	int ok = 0;

	if (sb__stats_snap_take(&s, NULL, 1) == 0 && (f = open_memstream(&buf, &len))) {
		memset(&in, 0, sizeof(in));
		in.reply = &s.rep;
		in.ids = (const void *const *)s.rep.identities;
		in.n_ids = s.rep.n_identities;
		in.methods = (const void *const *)s.rep.methods;
		in.n_methods = s.rep.n_methods;
		in.rules = (const void *const *)s.rep.rules;
		in.n_rules = s.rep.n_rules;
		in.bounds_us = s.rep.latency_bounds_us;
		in.n_bounds = s.rep.n_latency_bounds_us;
		in.get = sb__mget;
		in.name = sb__mname;
		in.buckets = sb__mbuckets;
		ok = sb__prom_write(f, &in) == 0;
	}
	if (f && fclose(f) != 0)
		ok = 0;
	sb__stats_snap_free(&s);
	if (!ok) {
		free(buf);
		return sb__mreply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
				  "out of memory for the statistics\n", 0);
	}
	r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; version=0.0.4; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result sb__mrequest(void *cls, struct MHD_Connection *conn, const char *url,
				    const char *method, const char *version,
				    const char *upload, size_t *upload_len, void **req_cls)
{
	(void)cls;
	(void)version;
	(void)upload;
	/* A body (GET with one, or any other method's) is not read: the
	 * answer goes at once and the connection closes after it. */
	*upload_len = 0;
	*req_cls = NULL;
	if (strcmp(url, "/metrics"))
		return sb__mreply(conn, MHD_HTTP_NOT_FOUND, "not found: this listener "
				  "serves /metrics only\n", 0);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return sb__mreply(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "method not allowed: GET or HEAD\n", 1);
	return sb__mpage(conn);
}

int sb__metrics_start(void)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct sb__addr a;
	char where[80] = "?";

	if (sb__mfd < 0)
		return 0;
	/* No MHD_USE_ERROR_LOG: hostile clients must not fill the log. */
	sb__mhd = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, 0, NULL, NULL,
		sb__mrequest, NULL,
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)sb__mfd,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned int)SB__METRICS_CONNS,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)SB__METRICS_TIMEOUT_S,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SB__METRICS_REQ_BYTES,
		MHD_OPTION_END);
	if (!sb__mhd) {
		sb__err("metrics: cannot start the HTTP listener");
		return -EIO;
	}
	/* Port 0 asks for any free port: the log names the one that came. */
	if (getsockname(sb__mfd, (struct sockaddr *)&ss, &len) == 0 &&
	    sb__addr_from_sockaddr(&a, (struct sockaddr *)&ss, len) == 0)
		sb__addr_format(&a, where, sizeof(where));
	sb__info("metrics: serving http://%s/metrics", where);
	return 0;
}

void sb__metrics_stop(void)
{
	/* The daemon closes the listening socket it was given. */
	if (sb__mhd) {
		MHD_stop_daemon(sb__mhd);
		sb__mhd = NULL;
		sb__mfd = -1;
	}
	if (sb__mfd >= 0) {
		close(sb__mfd);
		sb__mfd = -1;
	}
}
