/* SPDX-License-Identifier: MIT
 * client.c - sb_open() and sb_close_client(): the channel to the broker
 * and the session on it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

sb_client *sb_open(const char *target)
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
	creds = grpc_insecure_credentials_create();
	c->channel = grpc_channel_create(tgt, creds, &cargs);
	grpc_channel_credentials_release(creds);
	if (!c->channel) {
		rc = -EINVAL;
		sb__fail(EINVAL, "invalid broker target \"%s\"", tgt);
		goto fail;
	}
	rc = sb__session_open(c, program_invocation_short_name);
	if (rc < 0)
		goto fail;
	return c;
fail:
	if (c->channel)
		grpc_channel_destroy(c->channel);
	pthread_mutex_destroy(&c->lock);
	free(c);
	grpc_shutdown();
	errno = -rc;
	return NULL;
}

void sb_close_client(sb_client *c)
{
	int saved = errno;

	if (!c)
		return;
	sb__session_close(c);
	grpc_channel_destroy(c->channel);
	sb__slots_free(c);
	pthread_mutex_destroy(&c->lock);
	free(c);
	grpc_shutdown();
	errno = saved;
}
