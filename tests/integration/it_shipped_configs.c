/* SPDX-License-Identifier: MIT
 * it_shipped_configs.c - the policies we ship decide as their comments say
 * (deploy/kubernetes/daemonset.yaml, the README example, the example
 * policy in deploy/sockbrokerd.yaml). Each one is taken out of its file as
 * written (the listen section dropped: the test gives its own listener),
 * loaded into a real broker, and a root caller, which is what every pod
 * running as root is without user namespaces, asserts:
 *  - connect to the cloud metadata service 169.254.169.254:80 is -1 EACCES
 *    and the refusal names rule "no-metadata" (a deny placed after an allow
 *    for uid 0 would never be reached);
 *  - for the DaemonSet, whose rules match listener identities only, a
 *    root caller through a socket of no workload (the test's listener has
 *    no identity) is not served at all: no rule hands uid 0 the node's
 *    network. tests/k8s/manifests.sh runs its workloads' sockets.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "it_client.h"

enum { DAEMONSET, README, EXAMPLE, N_CONFIGS };

static const char *const names[N_CONFIGS] = {
	"deploy/kubernetes/daemonset.yaml", "README.md", "deploy/sockbrokerd.yaml",
};

/* The whole file @rel (under the source tree), malloc'd, or NULL. */
static char *slurp(const char *rel)
{
	char path[512];
	char *buf = NULL;
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", SB_SOURCE_DIR, rel);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	buf = malloc(1 << 20);
	if (buf) {
		n = fread(buf, 1, (1 << 20) - 1, f);
		buf[n] = 0;
	}
	fclose(f);
	return buf;
}

/* Append the lines of @text from the line starting with @from (inclusive)
 * to the first line starting with @to (exclusive; NULL: to the end), with
 * @strip leading characters removed, and without the top-level `listen:`
 * section. Return: the YAML (malloc'd) or NULL when @from is missing. */
static char *extract(const char *text, const char *from, const char *to, size_t strip)
{
	const char *p = strstr(text, from), *end;
	char *out;
	size_t o = 0;
	int in_listen = 0;

	if (!p)
		return NULL;
	end = to ? strstr(p + 1, to) : NULL;
	if (!end)
		end = p + strlen(p);
	out = malloc((size_t)(end - p) + 1);
	if (!out)
		return NULL;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		const char *l = p;
		size_t ll = len;

		p += len;
		if (ll > strip) {
			l += strip;
			ll -= strip;
		} else {
			ll = 1;
			l = "\n";
		}
		/* A top-level key ends the listen section. */
		if (l[0] != ' ' && l[0] != '#' && l[0] != '\n')
			in_listen = !strncmp(l, "listen:", 7);
		if (in_listen)
			continue;
		memcpy(out + o, l, ll);
		o += ll;
	}
	out[o] = 0;
	return out;
}

static char *config_of(int which)
{
	char *text = slurp(names[which]), *y = NULL;
	const char *p;

	if (!text)
		return NULL;
	switch (which) {
	case DAEMONSET:
		p = strstr(text, "sockbrokerd.yaml: |\n");
		if (p)
			y = extract(p, "    listen:", "---", 4);
		break;
	case README:
		p = strstr(text, "```yaml\nlisten:");
		if (p)
			y = extract(p + 8, "listen:", "```", 0);
		break;
	default:
		y = extract(text, "# policy:\n", "\npolicy:", 2);
		break;
	}
	free(text);
	return y;
}

static char why[512]; /* sb_last_error() of the last try_connect() */

/* connect to @ip:@port on a new socket: Return the errno (0: connected or
 * in progress), the library's message in why[]. */
static int try_connect(sb_client *c, const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	socklen_t len = it_addr4(&ss, ip, port);
	int s = sb_socket(c, AF_INET, SOCK_STREAM, 0), err = 0;

	if (s < 0) {
		snprintf(why, sizeof(why), "%s", it_sberr());
		return errno;
	}
	if (sb_set_nonblock(c, s, 1) == 0 &&
	    sb_connect(c, s, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS)
		err = errno;
	snprintf(why, sizeof(why), "%s", it_sberr());
	sb_close(c, s);
	return err;
}

int main(void)
{
	struct it_broker b[N_CONFIGS];
	int i, err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0)
		it_skip("needs root: the callers here are uid 0");
	for (i = 0; i < N_CONFIGS; i++) {
		char *y = config_of(i);

		if (!CHECK(y && strstr(y, "policy:") && strstr(y, "no-metadata"),
			   "%s: no policy with a rule no-metadata found", names[i]))
			return it_result();
		if (it_broker_start(&b[i], y) < 0) {
			CHECK(0, "%s: the broker refused the shipped policy:\n%s", names[i], y);
			free(y);
			while (i-- > 0)
				it_broker_stop(&b[i]);
			return it_result();
		}
		free(y);
	}
	it_watchdog(&b[0], 50);
	for (i = 0; i < N_CONFIGS; i++) {
		sb_client *c = sb_open(b[i].target);

		if (i == DAEMONSET) {
			CHECK(!c, "%s: root through a socket of no workload was served",
			      names[i]);
			if (c)
				sb_close_client(c);
			continue;
		}
		if (!CHECK(c, "%s: sb_open: %s %s", names[i], strerror(errno), it_sberr()))
			continue;
		err = try_connect(c, "169.254.169.254", 80);
		CHECK(err == EACCES && strstr(why, "no-metadata"),
		      "%s: root connect to 169.254.169.254:80: %s (%s), want EACCES by "
		      "rule no-metadata", names[i], strerror(err), why);
		sb_close_client(c);
	}
	for (i = 0; i < N_CONFIGS; i++)
		CHECK(it_broker_stop(&b[i]) == 0, "%s: broker did not stop cleanly",
		      names[i]);
	return it_result();
}
