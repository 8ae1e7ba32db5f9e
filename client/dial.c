/* SPDX-License-Identifier: MIT
 * dial.c - sb_tcp_connect() and sb_unix_connect(): a connected socket in
 * one Dial call, in the style of Ruby's Socket.tcp and Socket.unix.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include "call.h"

/* The resolver failure of this thread's last sb_tcp_connect(). */
static __thread int sb__dial_eai;

int sb_last_eai(void)
{
	return sb__dial_eai;
}

/* One Dial; @req is filled but for what every dial shares.
 * Return: the new socket number, or -1. */
static int sb__dial(sb_client *c, sockbroker_v1_DialRequest *req, const char *what)
{
	sockbroker_v1_DialReply rep = sockbroker_v1_DialReply_init_zero;
	int s, eai;

	if (SB__CALL(c, Dial, *req, rep, -1) < 0)
		return -1;
	if (rep.eai) {
		if (sb__native(SB__C_EAI, rep.eai, &eai) < 0)
			eai = EAI_FAIL;
		sb__dial_eai = eai;
		/* errno: EAI_SYSTEM's errno, ETIMEDOUT for the resolve timeout,
		 * else EADDRNOTAVAIL as sb_tcp_server_sockets() reports it. */
		return sb__fail(rep.error ? sb__errno_to_native(rep.error) : EADDRNOTAVAIL,
				"getaddrinfo(%s): %s", what, gai_strerror(eai));
	}
	if (sb__reply(rep.error) < 0)
		return -1;
	s = sb__slot_alloc(c, rep.handle, SOCK_STREAM, 0);
	if (s < 0) {
		sb__handle_drop(c, rep.handle);
		return sb__err(s);
	}
	return s;
}

/* Copy @src into a request string field of @size bytes. */
static int sb__dial_str(char *dst, size_t size, const char *src, const char *name)
{
	if (!src)
		return 0;
	if (strlen(src) >= size)
		return sb__fail(EINVAL, "%s longer than %zu bytes", name, size - 1);
	strcpy(dst, src);
	return 0;
}

int sb_tcp_connect(sb_client *c, const char *host, const char *port,
		   const char *local_host, const char *local_port, int timeout_ms)
{
	sockbroker_v1_DialRequest req = sockbroker_v1_DialRequest_init_zero;
	char what[1300];

	sb__dial_eai = 0;
	if (!c)
		return sb__fail(EINVAL, "no client");
	if (!host || !*host || !port || !*port)
		return sb__fail(EINVAL, "sb_tcp_connect needs a host and a port");
	if (sb__dial_str(req.host, sizeof(req.host), host, "host") < 0 ||
	    sb__dial_str(req.service, sizeof(req.service), port, "port") < 0 ||
	    sb__dial_str(req.local_host, sizeof(req.local_host), local_host, "local_host") < 0 ||
	    sb__dial_str(req.local_service, sizeof(req.local_service), local_port,
			 "local_port") < 0)
		return -1;
	if (timeout_ms > 0) {
		req.connect_timeout_ms = (uint32_t)timeout_ms;
		req.resolve_timeout_ms = (uint32_t)timeout_ms;
	}
	snprintf(what, sizeof(what), "%s, %s", host, port);
	return sb__dial(c, &req, what);
}

int sb_unix_connect(sb_client *c, const char *path)
{
	sockbroker_v1_DialRequest req = sockbroker_v1_DialRequest_init_zero;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t n;
	int rc;

	sb__dial_eai = 0;
	if (!c)
		return sb__fail(EINVAL, "no client");
	if (!path || !*path)
		return sb__fail(EINVAL, "sb_unix_connect needs a path");
	n = strlen(path);
	if (n >= sizeof(sun.sun_path))
		return sb__fail(ENAMETOOLONG, "Unix path longer than %zu bytes",
				sizeof(sun.sun_path) - 1);
	/* "@name": the abstract namespace, as ss(8) and systemd write it. */
	memcpy(sun.sun_path, path, n);
	if (path[0] == '@')
		sun.sun_path[0] = 0;
	rc = sb__pb_from_sockaddr(&req.address, (struct sockaddr *)&sun,
				  (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
					      n + (path[0] != '@')));
	if (rc < 0)
		return sb__fail(-rc, "bad Unix address %s", path);
	req.has_address = true;
	return sb__dial(c, &req, path);
}
