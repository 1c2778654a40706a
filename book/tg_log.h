/* SPDX-License-Identifier: MIT */
/*
 * One log callback type and one level numbering for every module. Lower layers never print:
 * they call the callback their owner gave them (may be NULL: nothing is logged), on cold paths
 * only. The gateway maps levels to its logfmt `level=` names.
 * Thread: the callback is called on the module's own thread; it must be thread-safe.
 */
#ifndef TG_LOG_H
#define TG_LOG_H

#include <stdarg.h>

enum {
    TG_LOG_ERROR = 0, /* data lost or a component down */
    TG_LOG_WARN = 1,  /* degraded, recovering by itself */
    TG_LOG_INFO = 2,  /* lifecycle, resyncs, scale changes */
    TG_LOG_DEBUG = 3,
};

/** Log sink: level is a TG_LOG_* value, msg one line without a newline. */
typedef void (*tg_log_fn)(void *lctx, int level, const char *msg);

/** Size of the line tg_logf() formats (longer text is cut). */
#define TG_LOG_LINE_MAX 1024

/** Format one line (printf rules, cut at TG_LOG_LINE_MAX - 1 bytes) and hand it to fn.
 *  @param fn the module's log callback; NULL: nothing is formatted or logged.
 *  Thread: the caller's (fn's rule applies). */
void tg_logf(tg_log_fn fn, void *lctx, int level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/** tg_logf() with a va_list.  Thread: the caller's. */
void tg_logv(tg_log_fn fn, void *lctx, int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

#endif
