/* SPDX-License-Identifier: MIT */
/*
 * Prometheus text exposition of the gateway's counters. Modules keep their own single-writer
 * counters (tg_stat_t) and histograms (tg_hist_t); the gateway registers pointers to them
 * here at start-up and renders them on each scrape: no copying on the hot path.
 * Thread: main (register, before the threads start); metrics (render, any time after).
 */
#ifndef GW_METRICS_H
#define GW_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "book/tg_hist.h"
#include "book/tg_stat.h"

typedef struct gw_metrics gw_metrics_t;

int gw_metrics_create(gw_metrics_t **out);
void gw_metrics_destroy(gw_metrics_t **m);

/** Register a counter. name: Prometheus name (tickgate_..._total); labels: `a="x",b="y"` or
 *  NULL; help: one line. Strings are copied.  @return 0 or -ENOMEM. */
int gw_metrics_counter(gw_metrics_t *m, const char *name, const char *labels, const char *help,
                       const tg_stat_t *v);
/** Register a gauge read from a single-writer cell. */
int gw_metrics_gauge(gw_metrics_t *m, const char *name, const char *labels, const char *help,
                     const tg_stat_t *v);
/** Register a gauge computed on scrape (e.g. ring depth). fn runs on the metrics thread and
 *  must be thread-safe. */
int gw_metrics_gauge_fn(gw_metrics_t *m, const char *name, const char *labels, const char *help,
                        double (*fn)(void *ud), void *ud);
/** Register a latency histogram (rendered in seconds). */
int gw_metrics_hist(gw_metrics_t *m, const char *name, const char *labels, const char *help,
                    const tg_hist_t *h);

/** Register a histogram kept in another layout: n buckets, bucket i counts values <=
 *  bounds_ns[i] (bounds_ns has n-1 entries: the last bucket is +Inf); sum_ns may be NULL.
 *  Bounds are copied. */
int gw_metrics_hist_raw(gw_metrics_t *m, const char *name, const char *labels, const char *help,
                        const tg_stat_t *buckets, const int64_t *bounds_ns, size_t n,
                        const tg_stat_t *sum_ns);

/** Render everything into *buf (malloc'd, caller frees). @return length or -ENOMEM. */
long gw_metrics_render(const gw_metrics_t *m, char **buf);

/* --- reading series one by one (the dashboard's history, gw_history.c) ------------------- */

#define GW_METRIC_COUNTER 0
#define GW_METRIC_GAUGE   1
#define GW_METRIC_HIST    2

/** One registered series as it reads now. Strings belong to the registry. */
typedef struct gw_metric_view {
    const char *name, *labels; /* labels: `a="x",b="y"` or "" */
    int kind;                  /* GW_METRIC_* */
    double value;              /* counter or gauge value; histograms: observations */
    const tg_hist_t *hist;     /* log-linear histograms (gw_metrics_hist); NULL otherwise */
} gw_metric_view_t;

/** Number of registered series.  Thread: any, once registration is over. */
size_t gw_metrics_count(const gw_metrics_t *m);
/** Read series i (0 <= i < gw_metrics_count()). Gauges computed on scrape run their function
 *  here. @return 0 or -EINVAL.  Thread: metrics (any, once registration is over). */
int gw_metrics_view(const gw_metrics_t *m, size_t i, gw_metric_view_t *out);

#endif
