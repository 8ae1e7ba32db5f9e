/* SPDX-License-Identifier: MIT
 * log.h - the broker's log: one line per event on stderr (journald adds
 * the timestamp when run as a service; we add one otherwise).
 */
#ifndef SB_SERVER_LOG_H
#define SB_SERVER_LOG_H

enum sb__log_level { SB__LOG_ERR, SB__LOG_WARN, SB__LOG_INFO, SB__LOG_DEBUG };

/** sb__log_set_level() - lines above @lvl are dropped from now on.
 *  Thread-safe (a reload sets it while other threads log). */
void sb__log_set_level(enum sb__log_level lvl);

/** sb__log() - write one line. Thread-safe. */
void sb__log(enum sb__log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/** sb__die() - log and exit(1). Start-up only. */
void sb__die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

#define sb__err(...)   sb__log(SB__LOG_ERR, __VA_ARGS__)
#define sb__warn(...)  sb__log(SB__LOG_WARN, __VA_ARGS__)
#define sb__info(...)  sb__log(SB__LOG_INFO, __VA_ARGS__)
#define sb__debug(...) sb__log(SB__LOG_DEBUG, __VA_ARGS__)

#endif /* SB_SERVER_LOG_H */
