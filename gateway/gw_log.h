/* SPDX-License-Identifier: MIT */
/*
 * Logging: one line per event in logfmt on stderr:
 *   ts=2026-11-23T06:40:01.123456Z level=warn thread=feed:0 msg="..." key=value ...
 * Lower layers never print; they report through callbacks that end here (gw_log_cb).
 * Thread: any (one write(2) per line, so lines never interleave).
 */
#ifndef GW_LOG_H
#define GW_LOG_H

#include "book/tg_log.h"

/* The gateway names book/tg_log.h levels so: */
enum {
    GW_LOG_ERROR = TG_LOG_ERROR,
    GW_LOG_WARN = TG_LOG_WARN,
    GW_LOG_INFO = TG_LOG_INFO,
    GW_LOG_DEBUG = TG_LOG_DEBUG
};

/** Set the maximum level written (default info).  Thread: main, before the threads start. */
void gw_log_set_level(int level);
int gw_log_get_level(void);

/** Name of the calling thread in log lines ("main", "feed:0", "book", "writer:pg", ...). */
/** This gateway's [gateway] name, appended to every line as instance=NAME (a fleet's logs
 *  merged stay attributable). Thread: main, before any other thread starts. */
void gw_log_set_instance(const char *name);

void gw_log_set_thread(const char *name);

/** Write one line: msg is quoted; kv is appended as is (already logfmt: "a=1 b=x"), may be
 *  NULL. */
void gw_log(int level, const char *kv, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/** Adapter for the lower layers' report callbacks: ctx is a const char * of logfmt fields
 *  naming the source (e.g. "feed=binance"), or NULL. */
void gw_log_cb(void *ctx, int level, const char *msg);

#endif
