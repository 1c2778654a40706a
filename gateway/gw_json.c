/* SPDX-License-Identifier: MIT */
/* A growing text buffer with JSON escaping (see gw_json.h). */
#include "gw_json.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

void gw_json_init(gw_json_t *j, size_t cap)
{
    j->n = 0;
    j->cap = cap ? cap : 256;
    j->b = malloc(j->cap);
    j->oom = !j->b;
    if (j->b)
        j->b[0] = 0;
}

void gw_json_printf(gw_json_t *j, const char *fmt, ...)
{
    while (!j->oom) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(j->b + j->n, j->cap - j->n, fmt, ap);
        va_end(ap);
        if (k < 0) {
            j->oom = 1;
            return;
        }
        if ((size_t)k < j->cap - j->n) {
            j->n += (size_t)k;
            return;
        }
        size_t nc = (j->cap + (size_t)k + 1) * 2;
        char *nb = realloc(j->b, nc);
        if (!nb) {
            j->oom = 1;
            return;
        }
        j->b = nb;
        j->cap = nc;
    }
}

void gw_json_str(gw_json_t *j, const char *s)
{
    gw_json_printf(j, "\"");
    for (const unsigned char *q = (const unsigned char *)s; *q; q++) {
        if (*q == '"' || *q == '\\')
            gw_json_printf(j, "\\%c", *q);
        else if (*q < 0x20)
            gw_json_printf(j, "\\u%04x", *q);
        else
            gw_json_printf(j, "%c", *q);
    }
    gw_json_printf(j, "\"");
}

void gw_json_num(gw_json_t *j, double v)
{
    if (isfinite(v))
        gw_json_printf(j, "%.15g", v);
    else
        gw_json_printf(j, "null");
}

long gw_json_done(gw_json_t *j, char **out)
{
    if (j->oom) {
        free(j->b);
        j->b = NULL;
        return -ENOMEM;
    }
    *out = j->b;
    j->b = NULL;
    return (long)j->n;
}
