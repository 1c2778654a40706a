/* SPDX-License-Identifier: MIT */
/* Prometheus text rendering over registered counters (see gw_metrics.h). */
#include "gw_metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_grow.h"
#include "book/tg_own.h"
#include "gw_json.h"

enum { M_COUNTER, M_GAUGE, M_GAUGE_FN, M_HIST, M_HIST_RAW };

typedef struct metric {
    int type;
    char *name, *labels, *help;
    const tg_stat_t *v;
    const tg_hist_t *h;
    const tg_stat_t *buckets, *sum; /* raw histograms */
    int64_t *bounds;
    size_t nb;
    double (*fn)(void *ud);
    void *ud;
} metric_t;

struct gw_metrics {
    metric_t *m;
    size_t n, cap;
};

int gw_metrics_create(gw_metrics_t **out)
{
    gw_metrics_t *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    *out = m;
    return 0;
}

void gw_metrics_destroy(gw_metrics_t **pm)
{
    gw_metrics_t *m = tg_own_take(pm);
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->m[i].name);
        free(m->m[i].labels);
        free(m->m[i].help);
        free(m->m[i].bounds);
    }
    free(m->m);
    free(m);
}

/* Register x (its type and what it reads) under name, labels and help (copied).
 * @return 0 or -ENOMEM (nothing registered). */
static int add(gw_metrics_t *m, metric_t x, const char *name, const char *labels, const char *help)
{
    if (tg_grow(&m->m, &m->cap, m->n + 1, sizeof(*m->m), 64) < 0)
        return -ENOMEM;
    x.name = strdup(name);
    x.labels = strdup(labels ? labels : "");
    x.help = strdup(help ? help : "");
    if (!x.name || !x.labels || !x.help) {
        free(x.name);
        free(x.labels);
        free(x.help);
        return -ENOMEM;
    }
    m->m[m->n++] = x;
    return 0;
}

int gw_metrics_counter(gw_metrics_t *m, const char *name, const char *labels, const char *help,
                       const tg_stat_t *v)
{
    return add(m, (metric_t){.type = M_COUNTER, .v = v}, name, labels, help);
}

int gw_metrics_gauge(gw_metrics_t *m, const char *name, const char *labels, const char *help,
                     const tg_stat_t *v)
{
    return add(m, (metric_t){.type = M_GAUGE, .v = v}, name, labels, help);
}

int gw_metrics_gauge_fn(gw_metrics_t *m, const char *name, const char *labels, const char *help,
                        double (*fn)(void *ud), void *ud)
{
    return add(m, (metric_t){.type = M_GAUGE_FN, .fn = fn, .ud = ud}, name, labels, help);
}

int gw_metrics_hist(gw_metrics_t *m, const char *name, const char *labels, const char *help,
                    const tg_hist_t *h)
{
    return add(m, (metric_t){.type = M_HIST, .h = h}, name, labels, help);
}

int gw_metrics_hist_raw(gw_metrics_t *m, const char *name, const char *labels, const char *help,
                        const tg_stat_t *buckets, const int64_t *bounds_ns, size_t n,
                        const tg_stat_t *sum_ns)
{
    if (n < 1)
        return -EINVAL;
    int64_t *b = malloc(n * sizeof(int64_t));
    if (!b)
        return -ENOMEM;
    memcpy(b, bounds_ns, (n - 1) * sizeof(int64_t));
    b[n - 1] = INT64_MAX;
    metric_t x = {.type = M_HIST_RAW, .buckets = buckets, .bounds = b, .nb = n, .sum = sum_ns};
    int rc = add(m, x, name, labels, help);
    if (rc < 0)
        free(b);
    return rc;
}

static const char *type_name(int t)
{
    return t == M_COUNTER ? "counter" : (t == M_HIST || t == M_HIST_RAW) ? "histogram" : "gauge";
}

static void labels_join(char *dst, size_t cap, const char *a, const char *b)
{
    if (*a && *b)
        snprintf(dst, cap, "{%s,%s}", a, b);
    else if (*a || *b)
        snprintf(dst, cap, "{%s%s}", a, b);
    else
        dst[0] = 0;
}

long gw_metrics_render(const gw_metrics_t *m, char **buf)
{
    gw_json_t s; /* a text buffer (gw_json.h), here for the Prometheus text */
    gw_json_init(&s, 16384);
    if (s.oom)
        return -ENOMEM;
    char *done = calloc(m->n + 1, 1);
    if (!done) {
        free(s.b);
        return -ENOMEM;
    }
    /* group series of one name under one HELP/TYPE, in registration order */
    for (size_t i = 0; i < m->n; i++) {
        if (done[i])
            continue;
        const metric_t *x = &m->m[i];
        gw_json_printf(&s, "# HELP %s %s\n# TYPE %s %s\n", x->name, x->help, x->name,
                       type_name(x->type));
        for (size_t j = i; j < m->n; j++) {
            const metric_t *y = &m->m[j];
            if (done[j] || strcmp(y->name, x->name) != 0)
                continue;
            done[j] = 1;
            char lb[512];
            switch (y->type) {
            case M_COUNTER:
            case M_GAUGE:
                labels_join(lb, sizeof(lb), y->labels, "");
                gw_json_printf(&s, "%s%s %llu\n", y->name, lb,
                               (unsigned long long)TG_STAT_GET(*y->v));
                break;
            case M_GAUGE_FN:
                labels_join(lb, sizeof(lb), y->labels, "");
                gw_json_printf(&s, "%s%s %.17g\n", y->name, lb, y->fn(y->ud));
                break;
            case M_HIST_RAW: {
                uint64_t acc = 0;
                for (size_t b = 0; b < y->nb; b++) {
                    acc += TG_STAT_GET(y->buckets[b]);
                    char le[48];
                    if (b == y->nb - 1)
                        snprintf(le, sizeof(le), "le=\"+Inf\"");
                    else
                        snprintf(le, sizeof(le), "le=\"%.6g\"", (double)y->bounds[b] / 1e9);
                    labels_join(lb, sizeof(lb), y->labels, le);
                    gw_json_printf(&s, "%s_bucket%s %llu\n", y->name, lb, (unsigned long long)acc);
                }
                labels_join(lb, sizeof(lb), y->labels, "");
                gw_json_printf(&s, "%s_sum%s %.9f\n", y->name, lb,
                               y->sum ? (double)TG_STAT_GET(*y->sum) / 1e9 : 0.0);
                gw_json_printf(&s, "%s_count%s %llu\n", y->name, lb, (unsigned long long)acc);
                break;
            }
            case M_HIST: {
                /* Log-linear buckets (tg_hist.h): ~450 per histogram, most of them empty.
                   Only a non-empty bucket and the one below it (its lower edge, so
                   histogram_quantile() interpolates inside the right bucket) are emitted, plus
                   +Inf; counts stay cumulative, so the exposition is valid with any subset. */
                uint64_t acc = 0, nxt = TG_STAT_GET(y->h->bucket[0]);
                for (int b = 0; b < TG_HIST_BUCKETS; b++) {
                    uint64_t cur = nxt;
                    nxt = b + 1 < TG_HIST_BUCKETS ? TG_STAT_GET(y->h->bucket[b + 1]) : 0;
                    acc += cur;
                    if (b < TG_HIST_BUCKETS - 1 && !cur && !nxt)
                        continue;
                    char le[48];
                    if (b == TG_HIST_BUCKETS - 1)
                        snprintf(le, sizeof(le), "le=\"+Inf\"");
                    else
                        snprintf(le, sizeof(le), "le=\"%.10g\"", (double)tg_hist_bound_ns(b) / 1e9);
                    labels_join(lb, sizeof(lb), y->labels, le);
                    gw_json_printf(&s, "%s_bucket%s %llu\n", y->name, lb, (unsigned long long)acc);
                }
                labels_join(lb, sizeof(lb), y->labels, "");
                gw_json_printf(&s, "%s_sum%s %.9f\n", y->name, lb,
                               (double)TG_STAT_GET(y->h->sum_ns) / 1e9);
                /* the +Inf bucket, so count and buckets agree within one scrape */
                gw_json_printf(&s, "%s_count%s %llu\n", y->name, lb, (unsigned long long)acc);
                break;
            }
            }
        }
    }
    free(done);
    return gw_json_done(&s, buf);
}

size_t gw_metrics_count(const gw_metrics_t *m)
{
    return m->n;
}

int gw_metrics_view(const gw_metrics_t *m, size_t i, gw_metric_view_t *out)
{
    if (i >= m->n)
        return -EINVAL;
    const metric_t *x = &m->m[i];
    out->name = x->name;
    out->labels = x->labels;
    out->hist = NULL;
    switch (x->type) {
    case M_COUNTER:
    case M_GAUGE:
        out->kind = x->type == M_COUNTER ? GW_METRIC_COUNTER : GW_METRIC_GAUGE;
        out->value = (double)TG_STAT_GET(*x->v);
        break;
    case M_GAUGE_FN:
        out->kind = GW_METRIC_GAUGE;
        out->value = x->fn(x->ud);
        break;
    case M_HIST: {
        uint64_t n = 0;
        for (int b = 0; b < TG_HIST_BUCKETS; b++)
            n += TG_STAT_GET(x->h->bucket[b]);
        out->kind = GW_METRIC_HIST;
        out->value = (double)n;
        out->hist = x->h;
        break;
    }
    default: { /* M_HIST_RAW */
        uint64_t n = 0;
        for (size_t b = 0; b < x->nb; b++)
            n += TG_STAT_GET(x->buckets[b]);
        out->kind = GW_METRIC_HIST;
        out->value = (double)n;
        break;
    }
    }
    return 0;
}
