/* SPDX-License-Identifier: MIT
 * client.c - sb_open() and sb_close_client(): the channel to the broker
 * and the session on it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <grpc/grpc_security.h>

#include "internal.h"

#define SB__TARGET_MAX 4096

/* "unix:..." and friends pass as they are; a bare path becomes "unix:". */
static int sb__target(const char *in, char *out, size_t len)
{
	int n;

	if (!in || !*in)
		in = getenv("SOCKBROKER_ADDR");
	if (!in || !*in)
		in = SB_DEFAULT_TARGET;
	if (in[0] == '/' || (in[0] == '.' && in[1] == '/'))
		n = snprintf(out, len, "unix:%s", in);
	else
		n = snprintf(out, len, "%s", in);
	return n < 0 || (size_t)n >= len ? -EINVAL : 0;
}

/* A whole PEM file, or NULL. Free with free(). */
static char *sb__read_file(const char *path)
{
	char *buf = NULL;
	long n;
	FILE *f = fopen(path, "re");

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && n < (1L << 20) &&
	    fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf) {
			size_t got = fread(buf, 1, (size_t)n, f);

			buf[got] = 0;
		}
	}
	fclose(f);
	return buf;
}

/* TLS credentials from three PEM files. Return: them, or NULL (errno). */
static grpc_channel_credentials *sb__tls_creds(const char *ca, const char *cert,
					       const char *key)
{
	grpc_ssl_pem_key_cert_pair pair = { NULL, NULL };
	grpc_channel_credentials *cr = NULL;
	char *ca_pem = sb__read_file(ca);
	char *cert_pem = cert ? sb__read_file(cert) : NULL;
	char *key_pem = key ? sb__read_file(key) : NULL;

	if (!ca_pem || (cert && !cert_pem) || (key && !key_pem)) {
		sb__fail(ENOENT, "cannot read the TLS files (%s, %s, %s)", ca,
			 cert ? cert : "-", key ? key : "-");
		goto out;
	}
	pair.private_key = key_pem;
	pair.cert_chain = cert_pem;
	cr = grpc_ssl_credentials_create(ca_pem, cert_pem ? &pair : NULL, NULL, NULL);
	if (!cr)
		sb__fail(EINVAL, "bad TLS files");
out:
	free(ca_pem);
	free(cert_pem);
	free(key_pem);
	return cr;
}

/* gRPC says only "unavailable": for a Unix socket path, ask the kernel
 * why (ENOENT: no such socket, EACCES: not ours, ECONNREFUSED: nobody
 * listens). Return: -errno. */
static int sb__unix_errno(const char *tgt, int rc)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = tgt + 5;
	int fd, err;

	if (strncmp(tgt, "unix:", 5) || strlen(path) >= sizeof(sun.sun_path))
		return rc;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return rc;
	err = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ? errno : 0;
	close(fd);
	if (err == ENOENT || err == EACCES || err == ENOTDIR || err == ECONNREFUSED) {
		sb__fail(err, "cannot reach the broker at %s: %s", tgt, strerror(err));
		return -err;
	}
	return rc;
}

static sb_client *sb__open(const char *target, const char *ca, const char *cert,
			   const char *key)
{
	char tgt[SB__TARGET_MAX];
	grpc_channel_credentials *creds;
	grpc_arg args[2];
	grpc_channel_args cargs = { .num_args = 2, .args = args };
	sb_client *c;
	int rc;

	rc = sb__target(target, tgt, sizeof(tgt));
	if (rc < 0) {
		sb__fail(EINVAL, "broker target too long");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	rc = pthread_mutex_init(&c->lock, NULL);
	if (rc) {
		free(c);
		errno = rc;
		return NULL;
	}
	rc = pthread_mutex_init(&c->lease_lock, NULL);
	if (rc) {
		pthread_mutex_destroy(&c->lock);
		free(c);
		errno = rc;
		return NULL;
	}
	rc = sb__dial_init(c);
	if (rc < 0) {
		pthread_mutex_destroy(&c->lease_lock);
		pthread_mutex_destroy(&c->lock);
		free(c);
		errno = -rc;
		return NULL;
	}
	grpc_init();
	/* Replies may be as large as the caller's buffers. */
	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[0].value.integer = -1;
	/* Every client gets its own connection, so that a session's lease
	 * ends with the process that holds it. */
	args[1].type = GRPC_ARG_INTEGER;
	args[1].key = (char *)GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL;
	args[1].value.integer = 1;
	creds = ca ? sb__tls_creds(ca, cert, key) : grpc_insecure_credentials_create();
	if (!creds) {
		rc = -errno;
		goto fail;
	}
	c->channel = grpc_channel_create(tgt, creds, &cargs);
	grpc_channel_credentials_release(creds);
	if (!c->channel) {
		rc = -EINVAL;
		sb__fail(EINVAL, "invalid broker target \"%s\"", tgt);
		goto fail;
	}
	rc = sb__handoff_init(c, tgt);
	if (rc < 0)
		goto fail;
	rc = sb__session_open(c, program_invocation_short_name);
	if (rc == -ECONNREFUSED)
		rc = sb__unix_errno(tgt, rc);
	if (rc < 0)
		goto fail;
	return c;
fail:
	if (c->channel)
		grpc_channel_destroy(c->channel);
	sb__handoff_free(c);
	sb__dial_free(c);
	pthread_mutex_destroy(&c->lease_lock);
	pthread_mutex_destroy(&c->lock);
	free(c);
	grpc_shutdown();
	errno = -rc;
	return NULL;
}

/* $NAME, or NULL when unset or empty (an empty one reads as unset). */
static const char *sb__env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

grpc_channel_credentials *sb__env_creds(const char *tgt)
{
	const char *ca = sb__env("SOCKBROKER_TLS_CA");

	if (ca && strncmp(tgt, "unix:", 5) && strncmp(tgt, "unix-abstract:", 14))
		return sb__tls_creds(ca, sb__env("SOCKBROKER_TLS_CERT"),
				     sb__env("SOCKBROKER_TLS_KEY"));
	return grpc_insecure_credentials_create();
}

sb_client *sb_open(const char *target)
{
	const char *ca = getenv("SOCKBROKER_TLS_CA");
	char tgt[SB__TARGET_MAX];

	/* $SOCKBROKER_TLS_* apply to TCP targets only. */
	if (ca && *ca && sb__target(target, tgt, sizeof(tgt)) == 0 &&
	    strncmp(tgt, "unix:", 5) && strncmp(tgt, "unix-abstract:", 14))
		return sb__open(target, ca, sb__env("SOCKBROKER_TLS_CERT"),
				sb__env("SOCKBROKER_TLS_KEY"));
	return sb__open(target, NULL, NULL, NULL);
}

sb_client *sb_open_tls(const char *target, const char *ca_file,
		       const char *cert_file, const char *key_file)
{
	if (!target || !ca_file || !!cert_file != !!key_file) {
		sb__fail(EINVAL, "sb_open_tls needs a target, a CA file, and a "
			 "certificate with its key (or neither)");
		return NULL;
	}
	return sb__open(target, ca_file, cert_file, key_file);
}

void sb_close_client(sb_client *c)
{
	int saved = errno;

	if (!c)
		return;
	sb__dial_free(c);
	sb__session_close(c);
	grpc_channel_destroy(c->channel);
	sb__slots_free(c);
	sb__handoff_free(c);
	pthread_mutex_destroy(&c->lease_lock);
	pthread_mutex_destroy(&c->lock);
	free(c);
	grpc_shutdown();
	errno = saved;
}
