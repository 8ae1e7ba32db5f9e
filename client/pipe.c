/* SPDX-License-Identifier: MIT
 * pipe.c - sb_pipe: bytes both ways between the caller and a connected
 * socket over one Pipe stream, the bulk data path.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pb_decode.h>

#include "clock.h"
#include "stream.h"

#define SB__PIPE_FRAME (256u << 10) /* bytes per frame the client sends */
#define SB__PIPE_RBUF (1u << 20)    /* largest frame the broker sends */
#define SB__PIPE_LINGER_MS 10000    /* sb_pipe_close after a shutdown */
#define SB__PIPE_STATUS_MS 200      /* a failed write waits for the status */

struct sb_pipe {
	struct sb__stream st;
	uint8_t *rbuf;    /* the frame being read out */
	size_t rlen, roff;
	int eof;          /* the broker said the socket's stream ended */
	int err;          /* errno that ended the pipe, or 0 */
	int wclosed;      /* sb_pipe_shutdown was called */
	int werr;         /* errno writes fail with once the pipe ended */
};

sb_pipe *sb_pipe_open(sb_client *c, int s)
{
	sockbroker_v1_PipeFrame first = sockbroker_v1_PipeFrame_init_zero;
	struct sb__slot sl;
	sb_pipe *p;
	int rc;

	if (sb__lookup(c, s, &sl) < 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p)
		p->rbuf = malloc(SB__PIPE_RBUF);
	if (!p || !p->rbuf) {
		free(p);
		sb__fail(ENOMEM, "out of memory");
		return NULL;
	}
	first.handle = sl.handle;
	rc = sb__stream_open(&p->st, c, "/sockbroker.v1.SocketBroker/Pipe", 1,
			     sockbroker_v1_PipeFrame_fields, &first, NULL);
	if (rc < 0) {
		free(p->rbuf);
		free(p);
		errno = -rc;
		return NULL;
	}
	return p;
}

ssize_t sb_pipe_write(sb_pipe *p, const void *buf, size_t len)
{
	size_t done = 0;

	if (!p || (!buf && len))
		return sb__fail(EINVAL, "bad arguments");
	if (p->wclosed)
		return sb__fail(EPIPE, "the pipe was shut down for writing");
	while (done < len) {
		sockbroker_v1_PipeFrame f = sockbroker_v1_PipeFrame_init_zero;
		size_t n = len - done < SB__PIPE_FRAME ? len - done : SB__PIPE_FRAME;
		struct sb__buf b = { .src = (const uint8_t *)buf + done, .len = n };
		int rc;

		f.data.funcs.encode = sb__pb_encode_bytes;
		f.data.arg = &b;
		rc = sb__stream_write(&p->st, sockbroker_v1_PipeFrame_fields, &f, 0);
		if (rc < 0) {
			if (done)
				return (ssize_t)done;
			if (rc != -EPIPE)
				return sb__fail(-rc, "pipe write failed");
			/* The broker ended the pipe: its status says why (the
			 * socket's write error, sb_last_error set). It comes
			 * after the frames not read yet; with some waiting, or
			 * after an OK end, writing is EPIPE. */
			if (!p->werr) {
				rc = sb__stream_finish_within(&p->st, SB__PIPE_STATUS_MS);
				if (rc < 0 && rc != -ETIMEDOUT) {
					p->werr = -rc;
					errno = p->werr;
					return -1;
				}
				p->werr = EPIPE;
			}
			return sb__fail(p->werr, "the pipe has ended");
		}
		done += n;
	}
	return (ssize_t)done;
}

static bool sb__dec_frame_data(pb_istream_t *s, const pb_field_t *f, void **arg)
{
	sb_pipe *p = *arg;
	size_t n = s->bytes_left;

	(void)f;
	if (n > SB__PIPE_RBUF)
		return false;
	if (!pb_read(s, p->rbuf, n))
		return false;
	p->rlen = n;
	p->roff = 0;
	return true;
}

ssize_t sb_pipe_read(sb_pipe *p, void *buf, size_t len)
{
	size_t n;

	if (!p || (!buf && len))
		return sb__fail(EINVAL, "bad arguments");
	while (p->roff == p->rlen) {
		sockbroker_v1_PipeFrame f = sockbroker_v1_PipeFrame_init_zero;
		int rc;

		if (p->eof)
			return 0;
		if (p->err)
			return sb__fail(p->err, "the pipe ended");
		f.data.funcs.decode = sb__dec_frame_data;
		f.data.arg = p;
		p->rlen = p->roff = 0;
		rc = sb__stream_read(&p->st, sockbroker_v1_PipeFrame_fields, &f);
		if (rc < 0) {
			p->err = -rc;
		} else if (rc == 0) {
			/* The broker ended the stream: an error, or the end. */
			rc = sb__stream_finish(&p->st);
			if (rc < 0)
				p->err = -rc;
			else
				p->eof = 1;
		} else if (f.error) {
			p->err = sb__errno_to_native(f.error);
		} else if (f.half_close) {
			p->eof = 1;
		}
	}
	n = p->rlen - p->roff < len ? p->rlen - p->roff : len;
	if (n) /* @buf may be NULL when @len is 0 */
		memcpy(buf, p->rbuf + p->roff, n);
	p->roff += n;
	return (ssize_t)n;
}

int sb_pipe_shutdown(sb_pipe *p)
{
	sockbroker_v1_PipeFrame f = sockbroker_v1_PipeFrame_init_zero;
	int rc;

	if (!p)
		return sb__fail(EINVAL, "no pipe");
	if (p->wclosed)
		return 0;
	f.half_close = true;
	rc = sb__stream_write(&p->st, sockbroker_v1_PipeFrame_fields, &f, 1);
	if (rc < 0)
		return sb__fail(-rc, "pipe shutdown failed");
	p->wclosed = 1;
	return 0;
}

/* After sb_pipe_shutdown(), the broker may still be writing what it was
 * sent: let it finish (it ends the stream when the socket's both ways
 * are done), reading out and dropping what the socket still yields, for
 * at most SB__PIPE_LINGER_MS. */
static void sb__pipe_linger(sb_pipe *p)
{
	int64_t until = sb__now_ms() + SB__PIPE_LINGER_MS;

	while (!p->err && sb__now_ms() < until) {
		sockbroker_v1_PipeFrame f = sockbroker_v1_PipeFrame_init_zero;

		f.data.funcs.decode = sb__dec_frame_data;
		f.data.arg = p;
		if (sb__stream_read_until(&p->st, sockbroker_v1_PipeFrame_fields, &f,
					  until - sb__now_ms()) <= 0 || f.error)
			break;
	}
}

void sb_pipe_close(sb_pipe *p)
{
	int saved = errno;

	if (!p)
		return;
	if (p->wclosed)
		sb__pipe_linger(p);
	sb__stream_free(&p->st);
	free(p->rbuf);
	free(p);
	errno = saved;
}
