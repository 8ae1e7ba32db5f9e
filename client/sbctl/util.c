/* SPDX-License-Identifier: MIT
 * util.c - sbctl's shared pieces: one-line errors naming the errno, EAI_*
 * code or gRPC status; opening the broker; a small JSON writer; address
 * formatting and argument parsing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "sbctl.h"

/* ---- errors ---- */

const char *sbctl_errname(int err)
{
	static _Thread_local char buf[24];
	const char *name = NULL;

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
	name = strerrorname_np(err);
#endif
	if (name)
		return name;
	snprintf(buf, sizeof(buf), "errno %d", err);
	return buf;
}

/* The broker's message when it said more than the errno does. */
static const char *sbctl_broker_msg(void)
{
	const char *m = sb_last_error();

	return m && *m ? m : NULL;
}

static int sbctl_vfail(int err, const char *extra, const char *fmt, va_list ap)
{
	char what[1024];

	vsnprintf(what, sizeof(what), fmt, ap);
	if (extra)
		fprintf(stderr, "sbctl: %s: %s (%s): %s\n", what, strerror(err),
			sbctl_errname(err), extra);
	else
		fprintf(stderr, "sbctl: %s: %s (%s)\n", what, strerror(err),
			sbctl_errname(err));
	return SBCTL_FAIL;
}

int sbctl_fail(int err, const char *fmt, ...)
{
	/* Copied first: nothing below may touch the thread's last error. */
	const char *m = sbctl_broker_msg();
	char extra[512];
	va_list ap;
	int rc;

	if (m)
		snprintf(extra, sizeof(extra), "%s", m);
	va_start(ap, fmt);
	rc = sbctl_vfail(err, m ? extra : NULL, fmt, ap);
	va_end(ap);
	return rc;
}

int sbctl_fail_plain(int err, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = sbctl_vfail(err, NULL, fmt, ap);
	va_end(ap);
	return rc;
}

static const struct {
	int code;
	const char *name;
} sbctl_eai_names[] = {
	{ EAI_BADFLAGS, "EAI_BADFLAGS" },
	{ EAI_NONAME, "EAI_NONAME" },
	{ EAI_AGAIN, "EAI_AGAIN" },
	{ EAI_FAIL, "EAI_FAIL" },
	{ EAI_FAMILY, "EAI_FAMILY" },
	{ EAI_SOCKTYPE, "EAI_SOCKTYPE" },
	{ EAI_SERVICE, "EAI_SERVICE" },
	{ EAI_MEMORY, "EAI_MEMORY" },
	{ EAI_SYSTEM, "EAI_SYSTEM" },
	{ EAI_OVERFLOW, "EAI_OVERFLOW" },
#ifdef EAI_NODATA
	{ EAI_NODATA, "EAI_NODATA" },
#endif
#ifdef EAI_ADDRFAMILY
	{ EAI_ADDRFAMILY, "EAI_ADDRFAMILY" },
#endif
#ifdef EAI_INPROGRESS
	{ EAI_INPROGRESS, "EAI_INPROGRESS" },
	{ EAI_CANCELED, "EAI_CANCELED" },
	{ EAI_NOTCANCELED, "EAI_NOTCANCELED" },
	{ EAI_ALLDONE, "EAI_ALLDONE" },
	{ EAI_INTR, "EAI_INTR" },
#endif
#ifdef EAI_IDN_ENCODE
	{ EAI_IDN_ENCODE, "EAI_IDN_ENCODE" },
#endif
};

const char *sbctl_eai_name(int eai)
{
	size_t i;

	for (i = 0; i < sizeof(sbctl_eai_names) / sizeof(*sbctl_eai_names); i++)
		if (sbctl_eai_names[i].code == eai)
			return sbctl_eai_names[i].name;
	return "EAI_?";
}

int sbctl_fail_eai(int eai, const char *fmt, ...)
{
	char what[1024];
	va_list ap;

	if (eai == EAI_SYSTEM) {
		int err = errno;

		va_start(ap, fmt);
		vsnprintf(what, sizeof(what), fmt, ap);
		va_end(ap);
		return sbctl_fail(err, "%s", what);
	}
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fprintf(stderr, "sbctl: %s: %s (%s)\n", what, gai_strerror(eai), sbctl_eai_name(eai));
	switch (eai) {
	case EAI_NONAME:
	case EAI_SERVICE:
#ifdef EAI_NODATA
	case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
	case EAI_ADDRFAMILY:
#endif
		return SBCTL_NOTFOUND;
	default:
		return SBCTL_FAIL;
	}
}

void sbctl_note(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (!sbctl.verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "sbctl: %s\n", line);
}

/* ---- the broker ---- */

const char *sbctl_target(void)
{
	const char *t = sbctl.broker;

	if (!t || !*t)
		t = getenv("SOCKBROKER_ADDR");
	if (!t || !*t)
		t = SB_DEFAULT_TARGET;
	return t;
}

int sbctl_unix_probe(const char *target)
{
	struct sockaddr_un sun;
	const char *path;
	int fd, err = 0;

	if (!strncmp(target, "unix:", 5))
		path = target + 5;
	else if (target[0] == '/' || (target[0] == '.' && target[1] == '/'))
		path = target;
	else
		return -1;
	/* gRPC also accepts unix:///abs/path. */
	if (!strncmp(path, "//", 2))
		path += 2;
	if (strlen(path) >= sizeof(sun.sun_path))
		return ENAMETOOLONG;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		err = errno;
	close(fd);
	return err;
}

sb_client *sbctl_open(void)
{
	const char *target = sbctl_target();
	sb_client *c;
	int err;

	sbctl_note("broker %s", target);
	c = sb_open(sbctl.broker);
	if (c)
		return c;
	err = errno;
	/* For a Unix socket the errno says it all (ENOENT, EACCES,
	 * ECONNREFUSED); the library's message goes to -v. */
	if (err == ENOENT || err == EACCES || err == ECONNREFUSED || err == ENOTDIR) {
		sbctl_note("%s", sb_last_error() ? sb_last_error() : "sb_open failed");
		sbctl_fail_plain(err, "broker %s", target);
	} else {
		sbctl_fail(err, "broker %s", target);
	}
	return NULL;
}

/* ---- JSON ---- */

void sbctl_json_init(struct sbctl_json *j, FILE *f, int pretty)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->pretty = pretty;
}

static void sbctl_json_indent(struct sbctl_json *j)
{
	int i;

	if (!j->pretty)
		return;
	fputc('\n', j->f);
	for (i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

static void sbctl_json_string(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* The separator and key before a value. */
static void sbctl_json_key(struct sbctl_json *j, const char *key)
{
	if (j->depth > 0) {
		if (j->count[j->depth]++)
			fputc(',', j->f);
		sbctl_json_indent(j);
	}
	if (key) {
		sbctl_json_string(j->f, key);
		fputs(j->pretty ? ": " : ":", j->f);
	}
}

static void sbctl_json_open(struct sbctl_json *j, const char *key, char c)
{
	sbctl_json_key(j, key);
	fputc(c, j->f);
	if (j->depth < (int)(sizeof(j->count) / sizeof(*j->count)) - 1)
		j->depth++;
	j->count[j->depth] = 0;
}

static void sbctl_json_close(struct sbctl_json *j, char c)
{
	int empty = j->count[j->depth] == 0;

	if (j->depth > 0)
		j->depth--;
	if (!empty)
		sbctl_json_indent(j);
	fputc(c, j->f);
}

void sbctl_json_begin_obj(struct sbctl_json *j, const char *key)
{
	sbctl_json_open(j, key, '{');
}

void sbctl_json_begin_arr(struct sbctl_json *j, const char *key)
{
	sbctl_json_open(j, key, '[');
}

void sbctl_json_end_obj(struct sbctl_json *j)
{
	sbctl_json_close(j, '}');
}

void sbctl_json_end_arr(struct sbctl_json *j)
{
	sbctl_json_close(j, ']');
}

void sbctl_json_str(struct sbctl_json *j, const char *key, const char *val)
{
	sbctl_json_key(j, key);
	if (val)
		sbctl_json_string(j->f, val);
	else
		fputs("null", j->f);
}

void sbctl_json_num(struct sbctl_json *j, const char *key, long long val)
{
	sbctl_json_key(j, key);
	fprintf(j->f, "%lld", val);
}

void sbctl_json_unum(struct sbctl_json *j, const char *key, unsigned long long val)
{
	sbctl_json_key(j, key);
	fprintf(j->f, "%llu", val);
}

void sbctl_json_bool(struct sbctl_json *j, const char *key, int val)
{
	sbctl_json_key(j, key);
	fputs(val ? "true" : "false", j->f);
}

void sbctl_json_null(struct sbctl_json *j, const char *key)
{
	sbctl_json_key(j, key);
	fputs("null", j->f);
}

void sbctl_json_done(struct sbctl_json *j)
{
	fputc('\n', j->f);
	fflush(j->f);
}

/* ---- addresses ---- */

const char *sbctl_ntop(const struct sockaddr *sa, char *buf, size_t len)
{
	if (!sa || !len)
		return NULL;
	if (sa->sa_family == AF_INET)
		return inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
				 buf, (socklen_t)len);
	if (sa->sa_family == AF_INET6)
		return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
				 buf, (socklen_t)len);
	if (sa->sa_family == AF_PACKET) {
		const struct sockaddr_ll *ll = (const struct sockaddr_ll *)(const void *)sa;
		size_t i, off = 0;
		size_t n = ll->sll_halen <= sizeof(ll->sll_addr) ? ll->sll_halen : sizeof(ll->sll_addr);

		buf[0] = 0;
		for (i = 0; i < n && off + 3 < len; i++)
			off += (size_t)snprintf(buf + off, len - off, "%s%02x", i ? ":" : "",
						ll->sll_addr[i]);
		return buf;
	}
	return NULL;
}

const char *sbctl_sockaddr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		if (in6->sin6_scope_id)
			snprintf(buf, len, "[%s%%%u]:%u", host, in6->sin6_scope_id,
				 ntohs(in6->sin6_port));
		else
			snprintf(buf, len, "[%s]:%u", host, ntohs(in6->sin6_port));
	} else if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *un = (const struct sockaddr_un *)(const void *)sa;

		snprintf(buf, len, "%s", un->sun_path[0] ? un->sun_path : "@");
	} else {
		snprintf(buf, len, "(family %d)", sa->sa_family);
	}
	return buf;
}

int sbctl_prefixlen(const struct sockaddr *sa)
{
	const unsigned char *b;
	size_t n, i;
	int bits = 0;

	if (!sa)
		return -1;
	if (sa->sa_family == AF_INET) {
		b = (const unsigned char *)&((const struct sockaddr_in *)(const void *)sa)->sin_addr;
		n = 4;
	} else if (sa->sa_family == AF_INET6) {
		b = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
		n = 16;
	} else {
		return -1;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = b[i];

		while (c & 0x80) {
			bits++;
			c = (unsigned char)(c << 1);
		}
		if (b[i] != 0xff)
			break;
	}
	return bits;
}

const char *sbctl_family_name(int family)
{
	switch (family) {
	case AF_INET:
		return "inet";
	case AF_INET6:
		return "inet6";
	case AF_PACKET:
		return "packet";
	case AF_UNIX:
		return "unix";
	default:
		return NULL;
	}
}

int sbctl_parse_port(const char *s)
{
	char *end;
	long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > 65535)
		return -1;
	return (int)v;
}

long sbctl_parse_secs(const char *s)
{
	char *end;
	double v;

	if (!s || !*s)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !(v >= 0) || v > 86400.0 * 365)
		return -1;
	return (long)(v * 1000.0 + 0.5);
}

int sbctl_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
