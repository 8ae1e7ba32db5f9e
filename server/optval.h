/* SPDX-License-Identifier: MIT
 * optval.h - socket options of a request (SetSockOpt, Dial's options) from
 * the contract's form to the native one: level and name, which options a
 * raw value may set, and the typed values' native structures. Pure (no
 * call, no socket): the handlers fail or answer the call with the result,
 * and the request fuzzer runs this same code.
 */
#ifndef SB_SERVER_OPTVAL_H
#define SB_SERVER_OPTVAL_H

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "consts.h"
#include "convert.h"

#define SB__OPTVAL_MAX 512 /* bytes of a native option value */

/* A native option value, aligned for every structure an option takes. */
union sb__optbuf {
	int i;
	char b[SB__OPTVAL_MAX];
	struct linger l;
	struct timeval tv;
	struct ip_mreqn m;
	struct in_addr a;
};

/* One option ready for setsockopt(). */
struct sb__optset {
	int level, name;          /* native */
	union sb__optbuf buf;
	socklen_t len;
};

/**
 * sb__optval_names() - native level and name of a portable option
 * Return: 0; 1 when the name is in no table (only a raw value can carry
 * it; @name untouched); -EINVAL for an unknown level, with @why set.
 */
int sb__optval_names(uint32_t plevel, int32_t pname, int *level, int *name,
		     char *why, size_t whylen);

/** sb__optval_raw_known() - may a raw value set the native option (the
 *  table of options without a typed form whose value is plain data)?
 *  Return: 1 or 0. */
int sb__optval_raw_known(int level, int name);

/** sb__optval_family() - the constant family of the int value of a native
 *  option whose value is itself a constant (SO_TYPE, SO_DOMAIN,
 *  SO_PROTOCOL). Return: the family, or SB__C_COUNT. */
enum sb__cfam sb__optval_family(int level, int name);

/**
 * sb__optval_encode() - the native value of @v for an option of @kind
 * @v:   may be NULL (no value)
 * @buf: at least SB__OPTVAL_MAX bytes, aligned as union sb__optbuf
 * @len: set to the value's length
 * Return: 0, or -EINVAL with @why set ("this option takes int_value").
 */
int sb__optval_encode(enum sb__optkind kind, const SBPB(SockOptValue) *v, void *buf,
		      socklen_t *len, char *why, size_t whylen);

/**
 * sb__optval_setsockopt() - SetSockOpt's arguments, checked and converted
 * @r:   the request (its handle is not looked at)
 * @out: filled on success
 * Return: 0; -ENOPROTOOPT for an option in no table that comes without a
 * raw value (the kernel's answer for an unknown option, a result); or
 * -EINVAL with @why set (the request is malformed).
 */
int sb__optval_setsockopt(const SBPB(SetSockOptRequest) *r, struct sb__optset *out,
			  char *why, size_t whylen);

/**
 * sb__optval_dial() - one of Dial's options (typed values only)
 * Return: 0, or -EINVAL with @why set.
 */
int sb__optval_dial(const SBPB(DialOption) *o, struct sb__optset *out, char *why,
		    size_t whylen);

#endif /* SB_SERVER_OPTVAL_H */
