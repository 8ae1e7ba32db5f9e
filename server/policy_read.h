/* SPDX-License-Identifier: MIT
 * policy_read.h - building a policy from YAML: the `policy:` section of the
 * config file, or a rule list given alone (tests, tools). The rules' syntax
 * is documented in deploy/sockbrokerd.yaml; their meaning in policy.h.
 */
#ifndef SB_SERVER_POLICY_READ_H
#define SB_SERVER_POLICY_READ_H

#include <stddef.h>
#include <sys/types.h>
#include <yaml.h>

#include "policy.h"

/**
 * sb__policy_from_yaml() - build a policy from a YAML sequence of rules
 * @doc:   the loaded document
 * @seq:   the `policy:` node
 * @field: the field name for messages ("policy")
 * @out:   set to the new policy (one reference) on success, else untouched
 * @err:   on failure: "line N: policy[i].key: what is wrong"
 *
 * Return: 0, -EINVAL (bad rules), -ENOMEM.
 */
int sb__policy_from_yaml(yaml_document_t *doc, yaml_node_t *seq, const char *field,
			 struct sb__policy **out, char *err, size_t errlen);

/**
 * sb__policy_parse() - the same from YAML text whose root is the rule list
 * (for tests and tools). Return: 0, -EINVAL, -ENOMEM.
 */
int sb__policy_parse(const char *text, size_t len, struct sb__policy **out,
		     char *err, size_t errlen);

/**
 * sb__parse_uid() / sb__parse_gid() - a decimal id (0..4294967294) or a
 * user/group name, resolved now (NSS). Not for hot paths.
 * Return: 0, -EINVAL (malformed or out of range), -ENOENT (no such name).
 */
int sb__parse_uid(const char *s, uid_t *out);
int sb__parse_gid(const char *s, gid_t *out);

#endif /* SB_SERVER_POLICY_READ_H */
