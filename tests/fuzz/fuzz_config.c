/* SPDX-License-Identifier: MIT
 * fuzz_config.c - the configuration reader under libFuzzer: the input is
 * a config file (config.c, yamlread.c, policy_read.c, through
 * sb__config_load() on a memory file) and, alone, a policy rule list
 * (sb__policy_parse()). Properties: the answer is 0, -EINVAL or -ENOMEM;
 * a refusal leaves the config as it was and says why on a line; a policy
 * that reads answers a request.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "policy_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SB__ASSERT(c) do { if (!(c)) abort(); } while (0)

static int sb__memfd = -1;
static char sb__path[64];

/* The file the reader opens: a memory file rewritten for each input. */
static void sb__put(const uint8_t *data, size_t size)
{
	if (sb__memfd < 0) {
		sb__memfd = memfd_create("fuzz_config", MFD_CLOEXEC);
		SB__ASSERT(sb__memfd >= 0);
		snprintf(sb__path, sizeof(sb__path), "/proc/self/fd/%d", sb__memfd);
	}
	SB__ASSERT(ftruncate(sb__memfd, 0) == 0);
	SB__ASSERT(pwrite(sb__memfd, data, size, 0) == (ssize_t)size);
}

/* A refusal's message: "line N: ..." with N >= 1. */
static int sb__names_line(const char *err)
{
	char *end;
	unsigned long n;

	if (strncmp(err, "line ", 5))
		return 0;
	n = strtoul(err + 5, &end, 10);
	return n >= 1 && end[0] == ':' && end[1] == ' ' && end[2];
}

static void sb__fuzz_config(const uint8_t *data, size_t size)
{
	struct sb__config cfg, before;
	char err[512];
	int ret;

	sb__put(data, size);
	sb__config_default(&cfg);
	before = cfg;
	err[0] = 0;
	ret = sb__config_load(&cfg, sb__path, err, sizeof(err));
	SB__ASSERT(ret == 0 || ret == -EINVAL || ret == -ENOMEM);
	if (ret == -EINVAL) {
		SB__ASSERT(sb__names_line(err));
		SB__ASSERT(!memcmp(&cfg, &before, sizeof(cfg)));
	}
	sb__config_free(&cfg);
}

/* The rule list alone, then one decision of every operation. */
static void sb__fuzz_policy(const uint8_t *data, size_t size)
{
	struct sb__identity id;
	struct sb__addr a;
	struct sb__pol_decision d;
	struct sb__pol_req r;
	struct sb__policy *p = NULL;
	char err[512];
	int op;

	if (sb__policy_parse((const char *)data, size, &p, err, sizeof(err)) != 0) {
		SB__ASSERT(p == NULL);
		return;
	}
	memset(&id, 0, sizeof(id));
	id.known = 1;
	snprintf(id.transport, sizeof(id.transport), "unix");
	memset(&a, 0, sizeof(a));
	a.kind = SB__ADDR_INET;
	a.ip[0] = 127;
	a.ip[3] = 1;
	a.port = 80;
	for (op = 0; op < SB__POL_COUNT; op++) {
		memset(&r, 0, sizeof(r));
		r.op = (enum sb__pol_op)op;
		r.family = AF_INET;
		r.type = SOCK_STREAM;
		r.addr = &a;
		SB__ASSERT(sb__policy_check(p, &id, &r, &d) == d.allow && d.why);
	}
	sb__policy_serves(p, &id);
	sb__policy_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sb__fuzz_config(data, size);
	sb__fuzz_policy(data, size);
	return 0;
}
