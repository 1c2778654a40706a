/* SPDX-License-Identifier: MIT */
/* logfmt lines on stderr (see gw_log.h). */
#include "gw_log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic int log_level = GW_LOG_INFO;
static _Thread_local char thread_name[32] = "main";
/* Written once by main before any other thread exists (gw_log_set_instance), then read only. */
static char instance[64];

void gw_log_set_level(int level)
{
    atomic_store_explicit(&log_level, level, memory_order_relaxed);
}

int gw_log_get_level(void)
{
    return atomic_load_explicit(&log_level, memory_order_relaxed);
}

void gw_log_set_instance(const char *name)
{
    snprintf(instance, sizeof(instance), "%s", name ? name : "");
}

void gw_log_set_thread(const char *name)
{
    snprintf(thread_name, sizeof(thread_name), "%s", name);
}

static void put_line(int level, const char *kv, const char *msg)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    char line[2048];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof(line),
                     "ts=%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ level=%s thread=%s msg=\"",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000,
                     names[level < 0   ? 0
                           : level > 3 ? 3
                                       : level],
                     thread_name);
    /* quote the message: escape " and \ and control characters */
    for (const char *p = msg; *p && n < (int)sizeof(line) - 8; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\') {
            line[n++] = '\\';
            line[n++] = (char)ch;
        } else if (ch < 0x20) {
            line[n++] = ' ';
        } else {
            line[n++] = (char)ch;
        }
    }
    line[n++] = '"';
    if (kv && *kv) {
        int m = snprintf(line + n, sizeof(line) - (size_t)n - 2, " %s", kv);
        if (m > 0)
            n += m < (int)(sizeof(line) - (size_t)n - 2) ? m : (int)(sizeof(line) - (size_t)n - 2);
    }
    if (instance[0] && n < (int)sizeof(line) - 2) {
        size_t cap = sizeof(line) - (size_t)n - 1; /* one byte kept for the '\n' */
        int m = snprintf(line + n, cap, " instance=%s", instance);
        if (m > 0)
            n += (size_t)m < cap ? m : (int)cap - 1;
    }
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}

void gw_log(int level, const char *kv, const char *fmt, ...)
{
    if (level > gw_log_get_level())
        return;
    va_list ap;
    va_start(ap, fmt);
    tg_logv(gw_log_cb, (void *)kv, level, fmt, ap); /* the same line as a lower layer's */
    va_end(ap);
}

void gw_log_cb(void *ctx, int level, const char *msg)
{
    if (level > gw_log_get_level())
        return;
    put_line(level, (const char *)ctx, msg);
}
