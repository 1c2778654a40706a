/* SPDX-License-Identifier: MIT */
/*
 * The dashboard's recent history, kept by the gateway so that a page opened now shows the last
 * minutes at once (rates are never 0 on first load): every interval the metrics thread samples
 * the series the dashboard charts (feed frames/events/bytes, gaps, resyncs, reconnects, ring
 * depth, spill, books, sinks; latency histograms as p50/p99 of the observations made during
 * the interval) into a ring of samples. GET /api/history?since=MS answers the samples newer
 * than MS.
 * Thread: main (create before the HTTP thread starts, destroy after it stopped); metrics
 * (sample, json).
 */
#ifndef GW_HISTORY_H
#define GW_HISTORY_H

#include <stdint.h>

#include "gw_metrics.h"

typedef struct gw_history gw_history_t;

/** Pick the charted series of m (registration must be over) and keep n samples.
 *  @param out Written only on success. @return 0, -EINVAL (n < 2), -ENOMEM.  Thread: main. */
int gw_history_create(gw_history_t **out, const gw_metrics_t *m, uint32_t n);
/** Free; sets *h to NULL; NULL is a no-op.  Thread: main. */
void gw_history_destroy(gw_history_t **h);

/** Take one sample at wall-clock time now_ms.  Thread: metrics. */
void gw_history_sample(gw_history_t *h, int64_t now_ms);

/** The samples taken after since_ms (0: all kept) as JSON:
 *  {"now_ms":..,"series":[{"name","labels","kind","col"}..],"t":[ms..],"v":[[..]..]}; a
 *  histogram takes three columns from col: observations (cumulative), p50 and p99 in seconds
 *  of the interval's observations (null when none).
 *  @return the length, *out malloc'd (caller frees); or -ENOMEM.  Thread: metrics. */
long gw_history_json(const gw_history_t *h, int64_t since_ms, char **out);

/** Quantile q of a histogram's observations between two bucket snapshots (cumulative
 *  tg_hist_t counts, TG_HIST_BUCKETS each), interpolated linearly inside its bucket like
 *  Prometheus' histogram_quantile(). @return seconds, or NaN without observations.
 *  Thread: any. */
double gw_history_quantile(const uint64_t *prev, const uint64_t *cur, double q);

#endif
