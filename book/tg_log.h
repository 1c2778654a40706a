/* SPDX-License-Identifier: MIT */
/*
 * One log callback type and one level numbering for every module. Lower layers never print:
 * they call the callback their owner gave them (may be NULL: nothing is logged), on cold paths
 * only. The gateway maps levels to its logfmt `level=` names.
 * Thread: the callback is called on the module's own thread; it must be thread-safe.
 */
#ifndef TG_LOG_H
#define TG_LOG_H

enum {
    TG_LOG_ERROR = 0, /* data lost or a component down */
    TG_LOG_WARN = 1,  /* degraded, recovering by itself */
    TG_LOG_INFO = 2,  /* lifecycle, resyncs, scale changes */
    TG_LOG_DEBUG = 3,
};

/** Log sink: level is a TG_LOG_* value, msg one line without a newline. */
typedef void (*tg_log_fn)(void *lctx, int level, const char *msg);

#endif
