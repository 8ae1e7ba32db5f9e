/* SPDX-License-Identifier: MIT
 * internal.h - what the files of libsockbroker share: the client object,
 * unary calls, the socket-number table and message conversions.
 */
#ifndef SB_CLIENT_INTERNAL_H
#define SB_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdint.h>

#include <grpc/grpc.h>
#include <pb.h>

#include "sockbroker.h"
#include "sockbroker/v1/sockbroker.pb.h"
#include "addr.h"
#include "cmsg.h"

#define SB__TOKEN_MAX 64
#define SB__MAX_SOCKETS_LOCAL 65536 /* socket numbers per client */
#define SB__HO_STASH 16             /* handed fds kept for other threads */

/* One socket number's entry. */
struct sb__slot {
	uint64_t handle; /* 0: free */
	int family;      /* native AF_UNIX, AF_INET, ...; 0: not known */
	int type;        /* native SOCK_STREAM, SOCK_DGRAM, ... */
	int nonblock;    /* 1 when calls never wait */
};

struct sb_client {
	grpc_channel *channel;
	char token[SB__TOKEN_MAX + 1];
	uint64_t session_id;
	uint32_t max_message_bytes;   /* the broker's request size limit */

	grpc_completion_queue *lease_cq; /* the OpenSession stream */
	grpc_call *lease;
	grpc_metadata_array lease_trailing;
	grpc_status_code lease_status;
	grpc_slice lease_details;
	pthread_mutex_t lease_lock;   /* guards lease_over and its pluck */
	int lease_over;               /* the lease's status came: the broker
				       * ended the session or went away */

	pthread_mutex_t lock;         /* guards slots */
	struct sb__slot *slots;       /* index = socket number */
	int nslots;

	char *target;                 /* the gRPC target, for the side channel */
	pthread_mutex_t ho_send_lock; /* one sendmsg with descriptors at a
				       * time: its message, then its call */
	pthread_mutex_t ho_lock;      /* guards the hand-off fields below */
	int ho_fd;                    /* the side channel, or -1 */
	uint64_t ho_next_tag;         /* of the messages this client writes */
	struct {
		uint64_t tag;
		struct sb__fdset set;
	} ho_stash[SB__HO_STASH];     /* fds received for other threads */
	int ho_n;

	pthread_mutex_t dial_lock;    /* guards the four below */
	struct sb__stream *dial;      /* the DialStream, or NULL (dial.c) */
	int dial_unary;               /* the broker has no DialStream */
	int dc_fd;                    /* the dial channel, or -1 (dial.c) */
	int dc_off;                   /* none to be had: use gRPC */
};

/* ---- rpc.c ---- */

/* Calls that need the session send its token; the others do not. */
enum sb__call_kind { SB__NO_SESSION = 0, SB__SESSION = 1 };

/**
 * sb__unary() - one unary RPC, blocking the calling thread only
 * @method:     "/sockbroker.v1.SocketBroker/Bind"
 * @timeout_ms: deadline from now, or -1 for none
 * @rep:        decoded into on success (callbacks set by the caller)
 * Return: 0 (RPC status OK, reply decoded), or -errno from the status
 *         (sb-errno trailer, else the status code) with sb_last_error set.
 */
int sb__unary(sb_client *c, const char *method, enum sb__call_kind kind,
	      const pb_msgdesc_t *req_fields, const void *req,
	      const pb_msgdesc_t *rep_fields, void *rep, int64_t timeout_ms);

/** sb__encode() - @req as a byte buffer. Return: it, or NULL (EINVAL). */
grpc_byte_buffer *sb__encode(const pb_msgdesc_t *fields, const void *req);

/** sb__decode() - @bb into @rep. Return: 1, or 0 (malformed). */
int sb__decode(grpc_byte_buffer *bb, const pb_msgdesc_t *fields, void *rep);

/** sb__call_errno() - the errno of a failed call: the broker's sb-errno
 *  trailer, else by @st; sets sb_last_error from @details. */
int sb__call_errno(grpc_status_code st, const grpc_metadata_array *md,
		   const grpc_slice *details, const char *method);

/* The outcome of a call, for callers that report it themselves (sbctl). */
struct sb__status {
	grpc_status_code code;
	int err;              /* native errno from the sb-errno trailer, or 0 */
	char details[512];    /* the status message */
};

/**
 * sb__env_creds() - the credentials sb_open() uses for gRPC target @tgt:
 * TLS from $SOCKBROKER_TLS_CA (and _CERT, _KEY for mutual TLS) for a TCP
 * target when the CA is set, insecure otherwise. For callers that make
 * their own channel (sbctl's raw calls). Return: them (the caller
 * releases them), or NULL with the error set when a file is unreadable.
 */
grpc_channel_credentials *sb__env_creds(const char *tgt);

/**
 * sb__unary_on() - one unary RPC on @ch, with @token as sb-session (NULL:
 * none); otherwise as sb__unary(). @st, when not NULL, gets the status.
 */
int sb__unary_on(grpc_channel *ch, const char *token, const char *method,
		 const pb_msgdesc_t *req_fields, const void *req,
		 const pb_msgdesc_t *rep_fields, void *rep, int64_t timeout_ms,
		 struct sb__status *st);

/* ---- dial.c ---- */

/** sb__dial_eai_clear() - sb_last_eai() is 0 again (a dial starts). */
void sb__dial_eai_clear(void);

/** sb__dial_eai_fail() - a Dial reply that is a resolver failure sets
 *  sb_last_eai() and fails with its errno (@what names the lookup).
 *  Return: 0 when @rep is not one, else -1. */
int sb__dial_eai_fail(const sockbroker_v1_DialReply *rep, const char *what);

/** sb__dial_call() - one Dial: a hand-off dial over the session's dial
 *  channel, any other over the client's DialStream, when no other thread
 *  is using them; else (or when the broker has neither) as a Dial call.
 *  Return: 0 (@rep filled), or -1 with errno, as SB__CALL. */
int sb__dial_call(sb_client *c, const sockbroker_v1_DialRequest *req,
		  sockbroker_v1_DialReply *rep);
/** sb__dial_init() / sb__dial_free() - the DialStream state. */
int sb__dial_init(sb_client *c);
void sb__dial_free(sb_client *c);

/** sb__fail_record() - record @fmt as the last error, errno = @err. */
void sb__fail_record(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/** sb__fail() - record @fmt as the last error. Return: -1 with errno = @err.
 * A macro, so that the -1 is in the caller's own code: clang-tidy's
 * analyzer follows an error path to the caller's return only when it sees
 * the value returned. */
static inline int sb__failed(void)
{
	return -1;
}
#define sb__fail(err, ...) (sb__fail_record((err), __VA_ARGS__), sb__failed())
/** sb__set_error() - record @msg as this thread's last error. */
void sb__set_error(const char *msg);
/** sb__status_errno() - errno for a gRPC status without sb-errno. */
int sb__status_errno(grpc_status_code st);

/**
 * sb__session_lost() - after a session call failed with @err: when the
 * lease of @c has ended (the broker went away, was restarted, or ended the
 * session), the session and its sockets are gone whatever the call was
 * told: ECONNRESET (sockbroker.h rules 2 and 8), with sb_last_error saying so.
 * Thread-safe. Return: the errno to report (@err when the lease is live).
 */
int sb__session_lost(sb_client *c, int err);

/** sb__session_open() / sb__session_close() - the lease (rpc.c). */
int sb__session_open(sb_client *c, const char *name);
void sb__session_close(sb_client *c);

/** sb__handle_drop() - close broker handle @handle that no socket number
 *  names (a new socket the caller will never get); errno is kept. */
void sb__handle_drop(sb_client *c, uint64_t handle);

/* ---- handoff.c ---- */

/** sb__handoff_init() / sb__handoff_free() - the hand-off fields of @c;
 *  free closes the channel and every fd no thread took. */
int sb__handoff_init(sb_client *c, const char *target);
void sb__handoff_free(sb_client *c);

/**
 * sb__side_open() - a new side channel of @c's session: a ticket (a
 * HandoffTicket call), then a Unix connection to the broker's socket that
 * says @magic (8 bytes) and the ticket; @what names it in errors.
 * Return: the connected fd (the caller's), or -1 with errno.
 */
int sb__side_open(sb_client *c, const char *magic, const char *what);

/** sb__handoff_channel() - bind the side channel to the session unless it
 *  is. Return: 0 or -1 with errno. */
int sb__handoff_channel(sb_client *c);

/** sb__handoff_take() - the fd the broker sent with @tag (before its
 *  reply, so it is there). Return: it (close-on-exec), or -1 with errno. */
int sb__handoff_take(sb_client *c, uint64_t tag);

/** sb__handoff_take_set() - the @n descriptors the broker sent with @tag
 *  (Hand-off rule 6: a socket received them) into @set, which must be
 *  empty. They are close-on-exec and the caller's.
 *  Return: 0 or -errno (the channel broke; the next call binds another). */
int sb__handoff_take_set(sb_client *c, uint64_t tag, uint32_t n, struct sb__fdset *set);

/** sb__handoff_give() - write the descriptors of @set (the program's: the
 *  kernel copies them) on the channel as one message, its tag in *@tag,
 *  for the next Send to name (hold ho_send_lock until that call is
 *  answered). Return: 0 or -errno (the channel is then closed). */
int sb__handoff_give(sb_client *c, const struct sb__fdset *set, uint64_t *tag);

/** sb__handoff_reset() - close the channel (the broker closed its end or
 *  it is out of step); the next hand-off binds a new one. */
void sb__handoff_reset(sb_client *c);

/* ---- fdtab.c ---- */

/** sb__slot_alloc() - lowest free number for @handle. Return: it, or
 *  -EMFILE / -ENOMEM. */
int sb__slot_alloc(sb_client *c, uint64_t handle, int family, int type, int nonblock);
/** sb__slot_get() - copy of the entry of @s. Return: 0 or -EBADF. */
int sb__slot_get(sb_client *c, int s, struct sb__slot *out);
/** sb__slot_set_nonblock() - Return: 0 or -EBADF. */
int sb__slot_set_nonblock(sb_client *c, int s, int on);
/** sb__slot_release() - free @s if it still holds @handle. */
void sb__slot_release(sb_client *c, int s, uint64_t handle);
/** sb__slots_free() - free the table. */
void sb__slots_free(sb_client *c);

/* ---- convert.c ---- */

/** sb__pb_from_addr() / sb__pb_to_addr() - nanopb Address <-> sb__addr.
 *  Return: 0 or -EINVAL (malformed message). */
void sb__pb_from_addr(sockbroker_v1_Address *pb, const struct sb__addr *a);
int sb__pb_to_addr(struct sb__addr *a, const sockbroker_v1_Address *pb);

/** sb__pb_from_sockaddr() - a caller's sockaddr into a message field.
 *  Return: 0, -EINVAL, -EAFNOSUPPORT (as sb__addr_from_sockaddr). */
int sb__pb_from_sockaddr(sockbroker_v1_Address *pb, const struct sockaddr *sa,
			 socklen_t len);

/** sb__pb_from_sock_addr() - the address of a socket call (bind, connect,
 *  sendto, sendmsg) on socket family @family, with the kernel's checks
 *  first: a length above sockaddr_storage, or above sockaddr_un for a Unix
 *  address, is -EINVAL; an AF_INET socket takes AF_UNSPEC with
 *  INADDR_ANY as AF_INET (inet_bind's compatibility rule) when @bind.
 *  Return: as sb__pb_from_sockaddr. */
int sb__pb_from_sock_addr(sockbroker_v1_Address *pb, int family, int bind,
			  const struct sockaddr *sa, socklen_t len);

/** sb__pb_copy_out() - a message address to a caller's buffer (POSIX
 *  truncation rules; both may be NULL). Return: 0 or -EINVAL. */
int sb__pb_copy_out(const sockbroker_v1_Address *pb, int has,
		    struct sockaddr *dst, socklen_t *dstlen);

/** sb__pb_to_cmsg() - a ControlMessage from the broker, checked.
 *  Return: 0 or -EINVAL. */
int sb__pb_to_cmsg(struct sb__cmsg *cm, const sockbroker_v1_ControlMessage *pb);

/** sb__cmsg_to_pbmsg() - a control message to send (the kinds of
 *  sb__cmsg_read_send()) as a ControlMessage. Return: 0 or -EINVAL. */
int sb__cmsg_to_pbmsg(const struct sb__cmsg *cm, sockbroker_v1_ControlMessage *pb);

/** sb__pb_copy_name() - the same with getsockname(2)'s length (a link
 *  address counts only its sll_halen bytes). Return: 0 or -EINVAL. */
int sb__pb_copy_name(const sockbroker_v1_Address *pb, int has,
		     struct sockaddr *dst, socklen_t *dstlen);

/* ---- sockopt.c ---- */

/** sb__sockopt_to_pb() - a native option to set (@level, @name, the value
 *  at @val of @len bytes) as the contract's level, name and value, as
 *  sb_setsockopt() sends it. Return: 0, or -1 with errno (ENOPROTOOPT,
 *  EINVAL, EFAULT) and the last error set. */
int sb__sockopt_to_pb(int level, int name, const void *val, socklen_t len,
		      uint32_t *plevel, int32_t *pname, sockbroker_v1_SockOptValue *v);

/** sb__portable() / sb__native() - constant translation with the errno
 *  the call should fail with when there is none. */
int sb__portable(int fam, int native, uint32_t *out);
int sb__native(int fam, uint32_t portable, int *out);

/* Bytes to encode from, or to decode into (a pb_callback_t's arg). */
struct sb__buf {
	const uint8_t *src; /* encode: the data */
	uint8_t *dst;       /* decode: the caller's buffer */
	size_t len;         /* encode: bytes of src; decode: size of dst */
	size_t got;         /* decode: bytes written (<= len) */
	size_t total;       /* decode: bytes the field held */
};

bool sb__pb_encode_bytes(pb_ostream_t *s, const pb_field_t *f, void *const *arg);
bool sb__pb_decode_bytes(pb_istream_t *s, const pb_field_t *f, void **arg);

/* ---- names.c ---- */

/* getaddrinfo rows being built while the reply decodes. */
struct sb__ai_list {
	struct addrinfo *head, **tail;
	int bad;   /* a row could not be translated */
};

/* getifaddrs rows being built while the reply decodes. */
struct sb__ifa_list {
	struct ifaddrs *head, **tail;
};

/**
 * sb__dec_ai() / sb__dec_ifa() - decode callbacks of GetAddrInfoReply's
 * results and GetIfAddrsReply's interfaces (@arg: a struct sb__ai_list or
 * sb__ifa_list whose tail points at its head): each decodes one row from
 * the broker's bytes and appends its native form. A row the client cannot
 * represent is skipped (sb__ai_list.bad set). On failure the rows built so
 * far stay on the list, for sb_freeaddrinfo() / sb_freeifaddrs().
 * Return: true, or false (malformed message, out of memory).
 */
bool sb__dec_ai(pb_istream_t *s, const pb_field_t *f, void **arg);
bool sb__dec_ifa(pb_istream_t *s, const pb_field_t *f, void **arg);

/** sb__ifa_from_pb() - one getifaddrs row (free with sb_freeifaddrs).
 *  Return: the row, or NULL (ENOMEM). */
struct ifaddrs *sb__ifa_from_pb(const sockbroker_v1_IfAddr *in);

#endif /* SB_CLIENT_INTERNAL_H */
