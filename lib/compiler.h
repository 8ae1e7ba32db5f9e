/* SPDX-License-Identifier: MIT
 * compiler.h - attributes the lib/ headers use.
 */
#ifndef SB_LIB_COMPILER_H
#define SB_LIB_COMPILER_H

/* The result says whether the call worked (0, a count or -errno): a caller
 * that drops it has dropped an error. As nanopb's checkreturn. */
#define SB__CHECK __attribute__((warn_unused_result))

/* A case that goes on into the next on purpose: gcc reads a comment, clang
 * (the fuzz build) only the attribute. */
#define SB__FALLTHROUGH __attribute__((fallthrough))

#endif /* SB_LIB_COMPILER_H */
