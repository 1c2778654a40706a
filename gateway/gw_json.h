/* SPDX-License-Identifier: MIT */
/*
 * A growing text buffer for the HTTP thread's JSON answers (/api/...): printf-style appends and
 * JSON string escaping. A failed allocation sets oom and makes later appends no-ops, so a
 * caller checks once at the end.
 * Thread: the caller's (one buffer per answer; the metrics thread in the gateway).
 */
#ifndef GW_JSON_H
#define GW_JSON_H

#include <stddef.h>

typedef struct gw_json {
    char *b; /* malloc'd, NUL-terminated while !oom */
    size_t n, cap;
    int oom;
} gw_json_t;

/** Start an empty buffer (allocates cap bytes). */
void gw_json_init(gw_json_t *j, size_t cap);
/** Append formatted text. */
void gw_json_printf(gw_json_t *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Append s as a JSON string literal (quotes included, control characters escaped). */
void gw_json_str(gw_json_t *j, const char *s);
/** Append a number, or null when v is NaN or infinite (JSON has neither). */
void gw_json_num(gw_json_t *j, double v);
/** Hand over the text: *out gets the buffer (caller frees). @return its length, or -ENOMEM
 *  (the buffer is freed). */
long gw_json_done(gw_json_t *j, char **out);

#endif
