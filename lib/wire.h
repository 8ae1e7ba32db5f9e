/* SPDX-License-Identifier: MIT
 * wire.h - numbers of the contract that the broker and the client library
 * must agree on beyond the .proto: how much of a message is not data, and
 * how many handles one Poll takes.
 */
#ifndef SB_LIB_WIRE_H
#define SB_LIB_WIRE_H

/* Room for everything in a message but its data bytes (field tags,
 * addresses, flags): the largest data a call carries is the message size
 * limit minus this. */
#define SB__MSG_OVERHEAD 1024u

/* Most items of one PollRequest. */
#define SB__POLL_MAX 1024

#endif /* SB_LIB_WIRE_H */
