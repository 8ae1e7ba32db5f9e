/* SPDX-License-Identifier: MIT
 * methods.h - the table of every method the broker serves.
 */
#ifndef SB_SERVER_METHODS_H
#define SB_SERVER_METHODS_H

#include "rpc.h"

/* Terminated by an entry with path NULL. */
extern struct sb__method sb__methods[];

#endif /* SB_SERVER_METHODS_H */
