/* SPDX-License-Identifier: MIT */
/*
 * The formatting half of tg_log.h: every module's "printf into a line, then call the owner's
 * callback" helper is this one.
 */
#include "book/tg_log.h"

#include <stdio.h>

void tg_logv(tg_log_fn fn, void *lctx, int level, const char *fmt, va_list ap)
{
    if (!fn)
        return;
    char msg[TG_LOG_LINE_MAX];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    fn(lctx, level, msg);
}

void tg_logf(tg_log_fn fn, void *lctx, int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tg_logv(fn, lctx, level, fmt, ap);
    va_end(ap);
}
