/* SPDX-License-Identifier: MIT
 * watch.c - sb_watch_interfaces(): the broker host's interfaces, then
 * their changes, over the WatchInterfaces stream.
 */
#include <errno.h>
#include <stdlib.h>

#include "stream.h"

int sb_watch_interfaces(sb_client *c, sb_watch_cb cb, void *arg)
{
	sockbroker_v1_WatchInterfacesRequest req = sockbroker_v1_WatchInterfacesRequest_init_zero;
	struct sb__stream st;
	int rc;

	if (!c || !cb)
		return sb__fail(EINVAL, "bad arguments");
	rc = sb__stream_open(&st, c, "/sockbroker.v1.SocketBroker/WatchInterfaces", 0,
			     sockbroker_v1_WatchInterfacesRequest_fields, &req, NULL);
	if (rc < 0)
		return sb__err(rc);
	for (;;) {
		sockbroker_v1_InterfaceEvent ev = sockbroker_v1_InterfaceEvent_init_zero;
		struct ifaddrs *ifa = NULL;

		rc = sb__stream_read(&st, sockbroker_v1_InterfaceEvent_fields, &ev);
		if (rc <= 0) {
			int err = rc < 0 ? -rc : -sb__stream_finish(&st);

			rc = sb__fail(err ? err : ECONNRESET, "the interface watch ended");
			break;
		}
		if (ev.has_interface && ev.kind != sockbroker_v1_InterfaceEvent_Kind_SNAPSHOT_DONE) {
			ifa = sb__ifa_from_pb(&ev.interface);
			if (!ifa) {
				rc = sb__fail(ENOMEM, "out of memory");
				break;
			}
		}
		rc = cb(c, (enum sb_if_event)ev.kind, ifa, arg);
		sb_freeifaddrs(ifa);
		if (rc)
			break;
	}
	sb__stream_free(&st);
	return rc;
}
