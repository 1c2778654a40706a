/* SPDX-License-Identifier: MIT */
/*
 * The dashboard's recent history (see gw_history.h).
 *
 * DESIGN
 * Everything here runs on the metrics thread (the HTTP thread samples on a timer and answers
 * /api/history between samples), so there is no sharing: the values come from the registry's
 * single-writer counters (relaxed loads, as a scrape does). Memory: n samples x columns
 * doubles, plus two bucket snapshots per histogram (the last sample's, to take the interval's
 * observations as a difference).
 */
#include "gw_history.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_own.h"
#include "gw_json.h"

/* What the dashboard charts: counters and gauges by exact name, histograms by prefix. */
static const char *const charted[] = {
    "tickgate_feed_frames_total",    "tickgate_feed_events_total",
    "tickgate_feed_bytes_total",     "tickgate_feed_gaps_total",
    "tickgate_feed_resyncs_total",   "tickgate_feed_reconnects_total",
    "tickgate_feed_book_gaps_total", "tickgate_ring_depth",
    "tickgate_spill_pending_bytes",  "tickgate_books",
    "tickgate_books_valid",          "tickgate_books_fault",
    "tickgate_book_gaps_total",      "tickgate_pg_rows_committed_total",
    "tickgate_redis_messages_total", "tickgate_pg_connected",
    "tickgate_redis_connected",      "tickgate_feed_exchange_offset_seconds",
};
#define HIST_PREFIX "tickgate_latency_"

typedef struct hseries {
    size_t idx; /* in the registry */
    int kind;
    uint32_t col;
    uint64_t *prev; /* histograms: bucket counts at the last sample */
} hseries_t;

struct gw_history {
    const gw_metrics_t *m;
    hseries_t *s;
    uint32_t ns, ncols;
    uint32_t cap;      /* samples kept */
    uint64_t taken;    /* samples taken (free-running) */
    int64_t *t_ms;     /* [cap] */
    double *v;         /* [cap][ncols] */
    uint64_t *scratch; /* TG_HIST_BUCKETS */
};

static int is_charted(const gw_metric_view_t *v)
{
    if (v->kind == GW_METRIC_HIST)
        return v->hist && !strncmp(v->name, HIST_PREFIX, strlen(HIST_PREFIX));
    for (size_t i = 0; i < sizeof(charted) / sizeof(charted[0]); i++)
        if (!strcmp(v->name, charted[i]))
            return 1;
    return 0;
}

int gw_history_create(gw_history_t **out, const gw_metrics_t *m, uint32_t n)
{
    if (n < 2)
        return -EINVAL;
    gw_history_t *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->m = m;
    h->cap = n;
    size_t total = gw_metrics_count(m);
    h->s = calloc(total + 1, sizeof(hseries_t));
    h->scratch = calloc(TG_HIST_BUCKETS, sizeof(uint64_t));
    if (!h->s || !h->scratch)
        goto fail;
    for (size_t i = 0; i < total; i++) {
        gw_metric_view_t v;
        if (gw_metrics_view(m, i, &v) < 0 || !is_charted(&v))
            continue;
        hseries_t *x = &h->s[h->ns++];
        x->idx = i;
        x->kind = v.kind;
        x->col = h->ncols;
        h->ncols += v.kind == GW_METRIC_HIST ? 3 : 1;
        if (v.kind == GW_METRIC_HIST) {
            x->prev = calloc(TG_HIST_BUCKETS, sizeof(uint64_t));
            if (!x->prev)
                goto fail;
            for (int b = 0; b < TG_HIST_BUCKETS; b++)
                x->prev[b] = TG_STAT_GET(v.hist->bucket[b]);
        }
    }
    h->t_ms = calloc(n, sizeof(int64_t));
    h->v = calloc((size_t)n * (h->ncols ? h->ncols : 1), sizeof(double));
    if (!h->t_ms || !h->v)
        goto fail;
    *out = h;
    return 0;
fail:
    gw_history_destroy(&h);
    return -ENOMEM;
}

void gw_history_destroy(gw_history_t **ph)
{
    gw_history_t *h = tg_own_take(ph);
    if (!h)
        return;
    for (uint32_t i = 0; h->s && i < h->ns; i++)
        free(h->s[i].prev);
    free(h->s);
    free(h->scratch);
    free(h->t_ms);
    free(h->v);
    free(h);
}

double gw_history_quantile(const uint64_t *prev, const uint64_t *cur, double q)
{
    uint64_t total = 0;
    for (int b = 0; b < TG_HIST_BUCKETS; b++)
        total += cur[b] - prev[b];
    if (total == 0)
        return NAN;
    double rank = q * (double)total, acc = 0;
    for (int b = 0; b < TG_HIST_BUCKETS; b++) {
        double d = (double)(cur[b] - prev[b]);
        if (d > 0 && acc + d >= rank) {
            double lo = b ? (double)tg_hist_bound_ns(b - 1) / 1e9 : 0;
            if (b == TG_HIST_BUCKETS - 1) /* +Inf: the highest finite bound, as Prometheus */
                return lo;
            double hi = (double)tg_hist_bound_ns(b) / 1e9;
            return lo + (hi - lo) * (rank - acc) / d;
        }
        acc += d;
    }
    return NAN;
}

void gw_history_sample(gw_history_t *h, int64_t now_ms)
{
    uint32_t row = (uint32_t)(h->taken % h->cap);
    double *v = h->v + (size_t)row * h->ncols;
    h->t_ms[row] = now_ms;
    for (uint32_t i = 0; i < h->ns; i++) {
        hseries_t *x = &h->s[i];
        gw_metric_view_t mv;
        if (gw_metrics_view(h->m, x->idx, &mv) < 0)
            continue;
        v[x->col] = mv.value;
        if (x->kind != GW_METRIC_HIST)
            continue;
        for (int b = 0; b < TG_HIST_BUCKETS; b++)
            h->scratch[b] = TG_STAT_GET(mv.hist->bucket[b]);
        v[x->col + 1] = gw_history_quantile(x->prev, h->scratch, 0.5);
        v[x->col + 2] = gw_history_quantile(x->prev, h->scratch, 0.99);
        memcpy(x->prev, h->scratch, TG_HIST_BUCKETS * sizeof(uint64_t));
    }
    h->taken++;
}

long gw_history_json(const gw_history_t *h, int64_t since_ms, char **out)
{
    gw_json_t j;
    gw_json_init(&j, 16384);
    int64_t now = h->taken ? h->t_ms[(h->taken - 1) % h->cap] : 0;
    gw_json_printf(&j, "{\"now_ms\":%lld,\"series\":[", (long long)now);
    for (uint32_t i = 0; i < h->ns; i++) {
        gw_metric_view_t mv;
        gw_metrics_view(h->m, h->s[i].idx, &mv);
        gw_json_printf(&j, "%s{\"name\":", i ? "," : "");
        gw_json_str(&j, mv.name);
        gw_json_printf(&j, ",\"labels\":");
        gw_json_str(&j, mv.labels);
        gw_json_printf(&j, ",\"kind\":\"%s\",\"col\":%u}",
                       mv.kind == GW_METRIC_HIST      ? "hist"
                       : mv.kind == GW_METRIC_COUNTER ? "counter"
                                                      : "gauge",
                       h->s[i].col);
    }
    uint64_t first = h->taken > h->cap ? h->taken - h->cap : 0;
    gw_json_printf(&j, "],\"t\":[");
    int any = 0;
    for (uint64_t k = first; k < h->taken; k++) {
        int64_t t = h->t_ms[k % h->cap];
        if (t <= since_ms)
            continue;
        gw_json_printf(&j, "%s%lld", any ? "," : "", (long long)t);
        any = 1;
    }
    gw_json_printf(&j, "],\"v\":[");
    any = 0;
    for (uint64_t k = first; k < h->taken; k++) {
        if (h->t_ms[k % h->cap] <= since_ms)
            continue;
        const double *v = h->v + (size_t)(k % h->cap) * h->ncols;
        gw_json_printf(&j, "%s[", any ? "," : "");
        for (uint32_t c = 0; c < h->ncols; c++) {
            if (c)
                gw_json_printf(&j, ",");
            gw_json_num(&j, v[c]);
        }
        gw_json_printf(&j, "]");
        any = 1;
    }
    gw_json_printf(&j, "]}");
    return gw_json_done(&j, out);
}
