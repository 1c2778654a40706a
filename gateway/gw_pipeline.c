/* SPDX-License-Identifier: MIT */
/*
 * Gateway wiring (see gw_pipeline.h).
 *
 * DESIGN
 * Data path: feed:<n> threads (one lws context each) push tg_event_t into one SPSC ring per
 * connection; the book thread drains them all and pushes book_out_t into one ring per sink;
 * writer:pg and writer:redis drain their ring. Every ring has one producer and one consumer.
 * The registry is filled here, before any thread starts, and is immutable afterwards.
 * Start order: writers, builder, feeds, HTTP (consumers before producers). Stop order: feeds,
 * builder (drains all feed rings, final snapshots), writers (drain, flush/spill), HTTP last
 * so /health can be read until the end.
 * Metrics: every module keeps single-writer counters; they are registered here by pointer and
 * rendered by the metrics thread on each scrape (no copies on the hot path).
 */
#include "gw_pipeline.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "book/book_builder.h"
#include "book/tg_clock.h"
#include "book/tg_err.h"
#include "book/tg_instr.h"
#include "book/tg_own.h"
#include "book/tg_resync.h"
#include "book/tg_ring.h"
#include "feeds/feed.h"
#include "feeds/rec/feed_capture.h"
#include "feeds/net/feed_conn.h"
#include "gw_http.h"
#include "gw_log.h"
#include "gw_metrics.h"
#include "gw_tap.h"
#include "storage/sink.h"

#define GW_LOOPS_MAX 64

typedef struct gw_feed {
    const gw_feed_cfg_t *cfg;
    feed_conn_t *conn;
    tg_ring_t *ring;
    feed_capture_t *cap;
    char logctx[160]; /* logfmt fields naming the feed, for its log lines */
    char labels[160]; /* Prometheus labels */
} gw_feed_t;

/* One enabled sink (storage/sink.h).  Thread: main (lifecycle); obj runs its own thread. */
typedef struct gw_sink {
    const tg_sink_ops_t *ops;
    void *obj;
    tg_ring_t *ring; /* builder -> sink */
    char lctx[48];   /* "sink=postgres": log context */
    char label[48];  /* "ring=\"postgres\"": metrics label */
} gw_sink_t;

struct gw_pipeline {
    const gw_cfg_t *cfg;
    tg_instr_reg_t *reg;
    tg_resync_t *resync;
    feed_loop_t *loops[GW_LOOPS_MAX];
    uint32_t n_loops;
    gw_feed_t *feeds;
    uint32_t n_feeds;
    book_builder_t *builder;
    gw_sink_t sinks[TG_SINKS_MAX]; /* the enabled sinks, in tg_sink_at() order */
    uint32_t n_sinks;
    gw_metrics_t *metrics;
    gw_http_t *http;
    gw_tap_t *tap; /* the dashboard's builder sink (gw_tap.h); NULL without [metrics] */
    tg_stat_t one; /* 1: the value of tickgate_instance_info */
    int started;
};

/* --- log adapter: every layer logs TG_LOG_* levels (book/tg_log.h) --------------------- */

static void log_feed(void *ctx, int level, const char *msg)
{
    gw_log_cb(ctx, level, msg);
}

/* --- metrics ------------------------------------------------------------------------- */

static double ring_depth(void *ud)
{
    return (double)tg_ring_count((const tg_ring_t *)ud);
}

static double ring_capacity(void *ud)
{
    return (double)tg_ring_capacity((const tg_ring_t *)ud);
}

/* Depth and capacity of one ring (labels name it). */
static void ring_metrics(gw_metrics_t *m, const char *labels, tg_ring_t *r)
{
    gw_metrics_gauge_fn(m, "tickgate_ring_depth", labels, "Records waiting in a ring.", ring_depth,
                        r);
    gw_metrics_gauge_fn(m, "tickgate_ring_capacity", labels,
                        "Records a ring holds (feed_ring, sink_ring).", ring_capacity, r);
}

enum { GM_COUNTER = 0, GM_GAUGE = 1, GM_HIST = 2 }; /* what a table row registers */

/* Register one row of a metrics table: v points at a tg_stat_t (GM_COUNTER, GM_GAUGE) or a
 * tg_hist_t (GM_HIST). */
static void reg_one(gw_metrics_t *m, int kind, const char *name, const char *labels,
                    const char *help, const void *v)
{
    if (kind == GM_HIST)
        gw_metrics_hist(m, name, labels, help, v);
    else if (kind == GM_GAUGE)
        gw_metrics_gauge(m, name, labels, help, v);
    else
        gw_metrics_counter(m, name, labels, help, v);
}

/* A connection's counters (and one gauge) in /metrics: name, help, and the field in the feed's
 * stats (feed_stats_t, FS) or in the transport's (feed_conn_tstats_t, FT). The venue handlers
 * count REST snapshot answers as frames too. */
#define FS(f) 0, offsetof(feed_stats_t, f)
#define FT(f) 1, offsetof(feed_conn_tstats_t, f)
static const struct {
    const char *name, *help;
    int kind, transport;
    size_t off;
} feed_metrics[] = {
    {"tickgate_feed_frames_total", "Websocket frames and REST snapshot answers received.",
     GM_COUNTER, FS(frames)},
    {"tickgate_feed_bytes_total", "Bytes of frames received.", GM_COUNTER, FS(bytes)},
    {"tickgate_feed_events_total", "Normalized events emitted.", GM_COUNTER, FS(events)},
    {"tickgate_feed_trades_total", "Trade events emitted.", GM_COUNTER, FS(trades)},
    {"tickgate_feed_levels_total", "Book level events emitted.", GM_COUNTER, FS(levels)},
    {"tickgate_feed_snapshots_total", "Book snapshots emitted.", GM_COUNTER, FS(snapshots)},
    {"tickgate_feed_rescales_total",
     "Instrument scales raised because a value needed more places (exact).", GM_COUNTER,
     FS(rescales)},
    {"tickgate_feed_unrepresentable_total",
     "Values no int64 scale holds exactly (their books go to FAULT).", GM_COUNTER,
     FS(unrepresentable)},
    {"tickgate_feed_backfill_trades_total",
     "Trades fetched over REST after a reconnect (trade backfill).", GM_COUNTER,
     FS(backfill_trades)},
    {"tickgate_feed_backfill_requests_total", "Trade-history REST requests sent.", GM_COUNTER,
     FS(backfill_requests)},
    {"tickgate_feed_backfill_failures_total", "Trade-history requests failed or ranges given up.",
     GM_COUNTER, FS(backfill_failures)},
    {"tickgate_feed_unhandled_total", "Frames ignored on purpose (acks, heartbeats, tickers).",
     GM_COUNTER, FS(unhandled)},
    {"tickgate_feed_gaps_total", "Sequence gaps detected by the feed.", GM_COUNTER, FS(gaps)},
    {"tickgate_feed_resyncs_total", "Resyncs requested by the feed.", GM_COUNTER, FS(resyncs)},
    {"tickgate_feed_reconnects_total", "Reconnects.", GM_COUNTER, FS(reconnects)},
    {"tickgate_feed_ring_full_total", "Flushes that found the feed ring full.", GM_COUNTER,
     FS(ring_full)},
    {"tickgate_feed_events_dropped_total", "Events lost to a full ring (books resynced).",
     GM_COUNTER, FT(ev_dropped)},
    {"tickgate_feed_connects_total", "Websocket connections made.", GM_COUNTER, FT(connects)},
    {"tickgate_feed_connect_errors_total", "Failed connection attempts.", GM_COUNTER,
     FT(connect_errors)},
    {"tickgate_feed_stale_total", "Stale-feed timer expiries.", GM_COUNTER, FT(stale)},
    {"tickgate_feed_ring_overflow_events",
     "Events held in the ring's overflow now (the ring was full; feed_ring).", GM_GAUGE,
     FT(ovf.events)},
    {"tickgate_feed_ring_overflow_bytes", "Bytes the ring's overflow has mapped now.", GM_GAUGE,
     FT(ovf.bytes)},
    {"tickgate_feed_ring_overflow_episodes_total",
     "Bursts the ring's overflow absorbed (one per mapping).", GM_COUNTER, FT(ovf.episodes)},
    {"tickgate_feed_rest_queued", "REST GETs waiting for the venue's pacing (feed_rest_pace.h).",
     GM_GAUGE, FT(rest_queued)},
    {"tickgate_feed_rest_sent_total", "REST GETs sent.", GM_COUNTER, FT(rest_sent)},
    {"tickgate_feed_rest_throttled_total",
     "REST answers 429/418 (the request waited and went again).", GM_COUNTER, FT(rest_throttled)},
    {"tickgate_feed_rest_retry_after_waits_total",
     "Retry-After waits that stopped the venue's REST requests.", GM_COUNTER, FT(rest_retry_waits)},
};
#undef FS
#undef FT

static void reg_feed_metrics(gw_pipeline_t *p, gw_feed_t *f)
{
    gw_metrics_t *m = p->metrics;
    const feed_stats_t *s = feed_conn_stats(f->conn);
    const feed_conn_tstats_t *t = feed_conn_tstats(f->conn);
    const char *L = f->labels;
    for (size_t i = 0; i < sizeof(feed_metrics) / sizeof(feed_metrics[0]); i++) {
        const char *base = feed_metrics[i].transport ? (const char *)t : (const char *)s;
        reg_one(m, feed_metrics[i].kind, feed_metrics[i].name, L, feed_metrics[i].help,
                base + feed_metrics[i].off);
    }
    struct {
        const char *kind;
        const tg_stat_t *v;
    } errs[] = {
        {"json", &s->err_json},          {"field", &s->err_field}, {"symbol", &s->err_symbol},
        {"decimal", &s->err_decimal},    {"venue", &s->err_venue}, {"oversized", &t->oversized},
        {"handler", &t->handler_errors},
    };
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        char lb[256];
        snprintf(lb, sizeof(lb), "%s,kind=\"%s\"", L, errs[i].kind);
        gw_metrics_counter(m, "tickgate_feed_errors_total", lb, "Bad input by kind.", errs[i].v);
    }
    ring_metrics(m, f->labels, f->ring);
}

/* The builder's metrics: kind, name, labels, help, and the field of book_builder_stats_t. */
#define BS(f) offsetof(book_builder_stats_t, f)
static const struct {
    int kind;
    const char *name, *labels, *help;
    size_t off;
} builder_metrics[] = {
    {GM_COUNTER, "tickgate_book_events_total", NULL, "Events applied by the builder.", BS(events)},
    {GM_COUNTER, "tickgate_book_messages_total", NULL, "Exchange messages completed.",
     BS(messages)},
    {GM_COUNTER, "tickgate_book_gaps_total", NULL, "Gap records (faults and resyncs).", BS(gaps)},
    {GM_COUNTER, "tickgate_book_trade_gaps_total", NULL,
     "Trade gap records (trades lost while a connection was closed, no trade history), among the "
     "gaps.",
     BS(trade_gaps)},
    {GM_COUNTER, "tickgate_book_checksum_total", "result=\"ok\"", "Venue checksums.",
     BS(checksum_ok)},
    {GM_COUNTER, "tickgate_book_checksum_total", "result=\"fail\"", "Venue checksums.",
     BS(checksum_fail)},
    {GM_COUNTER, "tickgate_book_checksum_total", "result=\"skipped\"", "Venue checksums.",
     BS(checksum_skipped)},
    {GM_COUNTER, "tickgate_book_crossed_total", NULL, "Crossed books detected.", BS(crossed)},
    {GM_COUNTER, "tickgate_book_resyncs_total", NULL, "Resync requests sent to feeds.",
     BS(resyncs)},
    {GM_COUNTER, "tickgate_book_snapshots_total", NULL, "Books made valid by a snapshot.",
     BS(snapshots)},
    {GM_COUNTER, "tickgate_book_late_trades_total", NULL, "Trades after their candle closed.",
     BS(late_trades)},
    {GM_COUNTER, "tickgate_book_dup_trades_total", NULL,
     "Re-delivered trades (key seen): stored once, not counted again in candles.", BS(dup_trades)},
    {GM_COUNTER, "tickgate_book_dedup_unknown_total", NULL,
     "Trades too old for the dedup window: left out of the candles.", BS(dedup_unknown)},
    {GM_COUNTER, "tickgate_book_candle_revisions_total", NULL,
     "Closed candles emitted again, revised by late trades.", BS(candle_revisions)},
    {GM_COUNTER, "tickgate_book_bad_events_total", NULL, "Events rejected.", BS(bad_events)},
    {GM_COUNTER, "tickgate_book_out_drops_total", NULL, "Records a lossy sink (Redis) did not get.",
     BS(out_drops)},
    {GM_COUNTER, "tickgate_book_out_stalls_total", NULL,
     "Waits on a full lossless sink (PostgreSQL).", BS(out_stalls)},
    {GM_GAUGE, "tickgate_books_valid", NULL, "Books in state VALID.", BS(books_valid)},
    {GM_GAUGE, "tickgate_books_fault", NULL,
     "Books in state FAULT (a value could not be held exactly).", BS(books_fault)},
    {GM_COUNTER, "tickgate_book_rescales_total", NULL, "Books moved to larger scales (exactly).",
     BS(rescales)},
    {GM_GAUGE, "tickgate_books", NULL, "Books seen.", BS(books_total)},
    {GM_GAUGE, "tickgate_book_levels", NULL, "Levels held by all books, both sides.",
     BS(book_levels)},
    {GM_GAUGE, "tickgate_book_memory_bytes", NULL,
     "Memory of all books' levels and indexes (16 B a level at best).", BS(book_bytes)},
    {GM_HIST, "tickgate_latency_receive_to_book_seconds", NULL,
     "Receive (monotonic) to applied by the builder.", BS(latency)},
    /* stage histograms (docs/latency.md): cumulative from the receive stamp; the sink_pushed
     * stages per record class follow in reg_metrics() */
    {GM_HIST, "tickgate_latency_stage_seconds", "stage=\"book_popped\"",
     "Receive (monotonic) to each hand-off, by stage and record class.", BS(lat_pop)},
    {GM_HIST, "tickgate_deliberate_delay_seconds", "what=\"book_min_gap\"",
     "Deliberate delays: first held-back change to its publication.", BS(book_defer)},
    {GM_HIST, "tickgate_deliberate_delay_seconds", "what=\"forming_min_gap\"",
     "Deliberate delays: first held-back change to its publication.", BS(forming_defer)},
};
#undef BS

/* The metrics registry, as sinks see it (storage/sink.h tg_sink_metrics_t). */
static void sm_counter(void *m, const char *name, const char *labels, const char *help,
                       const tg_stat_t *v)
{
    gw_metrics_counter(m, name, labels, help, v);
}

static void sm_gauge(void *m, const char *name, const char *labels, const char *help,
                     const tg_stat_t *v)
{
    gw_metrics_gauge(m, name, labels, help, v);
}

static void sm_hist(void *m, const char *name, const char *labels, const char *help,
                    const tg_hist_t *h)
{
    gw_metrics_hist(m, name, labels, help, h);
}

static void reg_metrics(gw_pipeline_t *p)
{
    gw_metrics_t *m = p->metrics;
    for (uint32_t i = 0; i < p->n_feeds; i++)
        reg_feed_metrics(p, &p->feeds[i]);
    char info[160];
    snprintf(info, sizeof(info), "instance=\"%s\",version=\"%s\"", p->cfg->name, TICKGATE_VERSION);
    TG_STAT_SET(p->one, 1);
    gw_metrics_gauge(m, "tickgate_instance_info", info,
                     "This gateway: [gateway] name and version (always 1).", &p->one);
    const book_builder_stats_t *b = book_builder_stats(p->builder);
    for (size_t i = 0; i < sizeof(builder_metrics) / sizeof(builder_metrics[0]); i++)
        reg_one(m, builder_metrics[i].kind, builder_metrics[i].name, builder_metrics[i].labels,
                builder_metrics[i].help, (const char *)b + builder_metrics[i].off);
    static const char *const lk[BOOK_LAT_KINDS] = {"trade", "book", "candle", "timer"};
    for (int k = 0; k < BOOK_LAT_KINDS; k++) {
        char lb[96];
        snprintf(lb, sizeof(lb), "stage=\"sink_pushed\",kind=\"%s\"", lk[k]);
        gw_metrics_hist(m, "tickgate_latency_stage_seconds", lb,
                        "Receive (monotonic) to each hand-off, by stage and record class.",
                        &b->lat_out[k]);
    }
    for (uint32_t v = 0; v < TG_VENUE_MAX; v++) {
        const char *name = NULL;
        for (uint32_t i = 0; i < tg_instr_reg_count(p->reg); i++) {
            const tg_instr_t *in = tg_instr_reg_get(p->reg, i);
            if (in->venue_id == v) {
                name = in->venue;
                break;
            }
        }
        if (!name)
            continue;
        char lb[96];
        snprintf(lb, sizeof(lb), "venue=\"%s\"", name);
        gw_metrics_hist(m, "tickgate_latency_exchange_to_receive_seconds", lb,
                        "Exchange event time to local receive time (clock offsets included).",
                        &b->exch_lat[v]);
    }
    tg_sink_metrics_t reg = {.m = m, .counter = sm_counter, .gauge = sm_gauge, .hist = sm_hist};
    for (uint32_t i = 0; i < p->n_sinks; i++) {
        gw_sink_t *k = &p->sinks[i];
        ring_metrics(m, k->label, k->ring);
        k->ops->metrics(k->obj, &reg);
    }
    if (p->tap)
        gw_tap_metrics(p->tap, m);
}

/* --- health -------------------------------------------------------------------------- */

static int health(void *ud, char *buf, size_t cap)
{
    gw_pipeline_t *p = ud;
    int ok = 1;
    size_t n = 0;
    int64_t now = tg_clock_realtime_ns();
#define PUT(...)                                                                                   \
    do {                                                                                           \
        int k_ = snprintf(buf + n, n < cap ? cap - n : 0, __VA_ARGS__);                            \
        if (k_ > 0)                                                                                \
            n += (size_t)k_;                                                                       \
    } while (0)
    PUT("{\"instance\":\"%s\",\"feeds\":[", p->cfg->name); /* [A-Za-z0-9_.-] only */
    for (uint32_t i = 0; i < p->n_feeds; i++) {
        feed_conn_status_t st;
        feed_conn_status(p->feeds[i].conn, &st);
        int up = st.state == FEED_CONN_OPEN;
        ok &= up;
        PUT("%s{\"name\":\"%s\",\"venue\":\"%s\",\"state\":\"%s\",\"last_frame_age_ms\":%lld",
            i ? "," : "", p->feeds[i].cfg->name, p->feeds[i].cfg->venue,
            up ? "connected" : feed_conn_state_name(st.state),
            st.last_frame_ns ? (long long)((now - st.last_frame_ns) / 1000000) : -1LL);
        if (st.venue_error_ns) { /* the venue's own words, JSON-escaped */
            PUT(",\"venue_error\":\"");
            for (const char *q = st.venue_error; *q; q++) {
                unsigned char ch = (unsigned char)*q;
                if (ch == '"' || ch == '\\')
                    PUT("\\%c", ch);
                else if (ch < 0x20)
                    PUT("\\u%04x", ch);
                else
                    PUT("%c", ch);
            }
            PUT("\",\"venue_error_age_ms\":%lld", (long long)((now - st.venue_error_ns) / 1000000));
        }
        PUT("}");
    }
    PUT("],\"sinks\":{");
    for (uint32_t i = 0; i < p->n_sinks; i++) {
        char body[512];
        ok &= p->sinks[i].ops->health(p->sinks[i].obj, body, sizeof(body)) != 0;
        PUT("%s\"%s\":{%s}", i ? "," : "", p->sinks[i].ops->name, body);
    }
    const book_builder_stats_t *b = book_builder_stats(p->builder);
    uint64_t faults = TG_STAT_GET(b->books_fault);
    ok &= faults == 0; /* a book that cannot hold its values exactly is never "ok" */
    PUT("},\"books\":{\"valid\":%llu,\"total\":%llu,\"fault\":%llu},\"status\":\"%s\"}",
        (unsigned long long)TG_STAT_GET(b->books_valid),
        (unsigned long long)TG_STAT_GET(b->books_total), (unsigned long long)faults,
        ok ? "ok" : "degraded");
#undef PUT
    return ok;
}

/* --- create ---------------------------------------------------------------------------- */

static int register_instruments(gw_pipeline_t *p)
{
    const gw_cfg_t *c = p->cfg;
    for (uint32_t i = 0; i < c->n_feeds; i++) {
        const gw_feed_cfg_t *f = &c->feeds[i];
        const feed_venue_t *v = feed_venue_find(f->venue);
        for (uint32_t j = 0; j < f->n_symbols; j++) {
            tg_instr_cfg_t ic;
            feed_venue_instr_cfg(v, f->symbols[j], f->depth, &ic);
            if (f->px_scale >= 0)
                ic.px_scale = f->px_scale;
            if (f->sz_scale >= 0)
                ic.sz_scale = f->sz_scale;
            uint32_t id;
            int rc = tg_instr_reg_add(p->reg, v->name, f->symbols[j], &ic, &id);
            if (rc < 0) {
                gw_log(GW_LOG_ERROR, NULL, "feed %s: cannot register %s: %s", f->name,
                       f->symbols[j], tg_strerror(rc));
                return rc;
            }
        }
    }
    return 0;
}

static int create_feeds(gw_pipeline_t *p)
{
    const gw_cfg_t *c = p->cfg;
    p->n_loops = c->feed_threads < GW_LOOPS_MAX ? c->feed_threads : GW_LOOPS_MAX;
    for (uint32_t i = 0; i < p->n_loops; i++) {
        feed_loop_cfg_t lc;
        feed_loop_cfg_defaults(&lc);
        char name[16];
        snprintf(name, sizeof(name), "%u", i);
        lc.name = name;
        lc.log = log_feed;
        lc.log_ctx = NULL;
        int rc = feed_loop_create(&p->loops[i], &lc);
        if (rc < 0)
            return rc;
    }
    /* like spill_dir: a missing capture dir failed every file at run time (logged, nothing
     * recorded, exit 0); create it, or fail at start-up (found by the end-to-end test) */
    if (c->rec_enabled && tg_sink_mkdir_p(c->rec_dir) < 0) {
        int e = errno;
        gw_log(GW_LOG_ERROR, NULL, "cannot create [record] dir %s: %s", c->rec_dir, strerror(e));
        return -e;
    }
    p->feeds = calloc(c->n_feeds, sizeof(gw_feed_t));
    if (!p->feeds)
        return -ENOMEM;
    p->n_feeds = c->n_feeds;
    uint32_t ring_cap = gw_cfg_feed_ring(c), ovf_cap = gw_cfg_feed_overflow(c);
    gw_log(GW_LOG_INFO, NULL,
           "feed rings: %u events (%u KiB) for each of %u connection(s), plus up to %u events "
           "(%u KiB) of overflow during a burst%s",
           ring_cap, (unsigned)(ring_cap * sizeof(tg_event_t) >> 10), c->n_feeds, ovf_cap,
           (unsigned)(ovf_cap * sizeof(tg_event_t) >> 10),
           c->feed_ring ? "" : " (feed_ring = auto)");
    for (uint32_t i = 0; i < c->n_feeds; i++) {
        gw_feed_t *f = &p->feeds[i];
        f->cfg = &c->feeds[i];
        snprintf(f->logctx, sizeof(f->logctx), "feed=%s venue=%s", f->cfg->name, f->cfg->venue);
        snprintf(f->labels, sizeof(f->labels), "feed=\"%s\",venue=\"%s\"", f->cfg->name,
                 f->cfg->venue);
        int rc = tg_ring_create(&f->ring, ring_cap, sizeof(tg_event_t));
        if (rc < 0)
            return rc;
        if (c->rec_enabled) {
            feed_capture_cfg_t cc;
            feed_capture_cfg_defaults(&cc);
            cc.dir = c->rec_dir;
            cc.prefix = f->cfg->name;
            cc.max_bytes = c->rec_rotate_bytes;
            cc.max_secs = c->rec_rotate_s;
            cc.log = log_feed;
            cc.log_ctx = f->logctx;
            if ((rc = feed_capture_create(&f->cap, &cc)) < 0) {
                gw_log(GW_LOG_ERROR, f->logctx, "cannot start capture in %s: %s", c->rec_dir,
                       tg_strerror(rc));
                return rc;
            }
        }
        feed_conn_cfg_t cc;
        feed_conn_cfg_defaults(&cc);
        cc.name = f->cfg->name;
        cc.venue = f->cfg->venue;
        cc.url = f->cfg->url[0] ? f->cfg->url : NULL;
        cc.rest_url = f->cfg->rest_url[0] ? f->cfg->rest_url : NULL;
        cc.symbols = (const char *const *)f->cfg->symbols;
        cc.n_symbols = f->cfg->n_symbols;
        cc.reg = p->reg;
        cc.depth = f->cfg->depth;
        cc.channels = f->cfg->channels;
        cc.ca_file = f->cfg->ca_file[0] ? f->cfg->ca_file : NULL;
        cc.deflate = f->cfg->deflate;
        cc.stale_ms = f->cfg->stale_ms;
        cc.rest_weight_per_min = f->cfg->rest_weight_per_min;
        if (f->cfg->reconnect_max_ms) /* 0: a config not made by the parser */
            cc.backoff_max_ms = f->cfg->reconnect_max_ms;
        cc.ring = f->ring;
        cc.ring_overflow = ovf_cap;
        cc.resync = p->resync;
        cc.log = log_feed;
        cc.log_ctx = f->logctx;
        cc.capture = f->cap;
        rc = feed_loop_add(p->loops[f->cfg->thread % p->n_loops], &cc, &f->conn);
        if (rc < 0) {
            gw_log(GW_LOG_ERROR, f->logctx, "cannot set up the connection: %s", tg_strerror(rc));
            return rc;
        }
    }
    return 0;
}

static int create_sinks(gw_pipeline_t *p)
{
    const gw_cfg_t *c = p->cfg;
    for (size_t i = 0; tg_sink_at(i) && i < TG_SINKS_MAX; i++) {
        const tg_sink_ops_t *o = tg_sink_at(i);
        if (!tg_sink_enabled(o, c->sink_cfg[i]))
            continue;
        gw_sink_t *k = &p->sinks[p->n_sinks];
        k->ops = o;
        snprintf(k->lctx, sizeof(k->lctx), "sink=%s", o->name);
        snprintf(k->label, sizeof(k->label), "ring=\"%s\"", o->name);
        int rc = tg_ring_create(&k->ring, c->sink_ring, sizeof(book_out_t));
        if (rc < 0)
            return rc;
        p->n_sinks++;
        tg_sink_env_t env = {.reg = p->reg,
                             .ring = k->ring,
                             .stop_timeout_ms = c->stop_timeout_ms,
                             .instance = c->name,
                             .version = TICKGATE_VERSION,
                             .log = log_feed,
                             .lctx = k->lctx};
        char err[512];
        if ((rc = o->create(&k->obj, c->sink_cfg[i], &env, err, sizeof(err))) < 0) {
            gw_log(GW_LOG_ERROR, k->lctx, "%s", err);
            return rc;
        }
    }
    return 0;
}

static int create_builder(gw_pipeline_t *p)
{
    const gw_cfg_t *c = p->cfg;
    book_builder_cfg_t bc;
    book_builder_cfg_defaults(&bc);
    bc.reg = p->reg;
    bc.resync = p->resync;
    if (p->n_feeds > BOOK_BUILDER_IN_MAX) {
        gw_log(GW_LOG_ERROR, NULL, "at most %d feeds per gateway", BOOK_BUILDER_IN_MAX);
        return TG_ECONFIG;
    }
    for (uint32_t i = 0; i < p->n_feeds; i++)
        bc.in[bc.n_in++] = p->feeds[i].ring;
    for (uint32_t i = 0; i < p->n_sinks && bc.n_sinks < BOOK_BUILDER_SINKS_MAX; i++)
        bc.sinks[bc.n_sinks++] = (book_sink_cfg_t){.name = p->sinks[i].ops->name,
                                                   .ring = p->sinks[i].ring,
                                                   .kinds = p->sinks[i].ops->takes,
                                                   .lossless = p->sinks[i].ops->lossless};
    if (p->tap && bc.n_sinks < BOOK_BUILDER_SINKS_MAX)
        bc.sinks[bc.n_sinks++] = gw_tap_sink(p->tap);
    for (uint32_t i = 0; i < c->n_intervals && i < BOOK_CANDLE_IV_MAX; i++)
        bc.candles.interval_ns[i] = c->intervals_ns[i];
    bc.candles.n_intervals =
        c->n_intervals < BOOK_CANDLE_IV_MAX ? c->n_intervals : BOOK_CANDLE_IV_MAX;
    bc.top_n = c->book_depth;
    bc.book_min_gap_ns = (int64_t)c->snapshot_min_ms * 1000000;
    bc.forming_min_gap_ns = (int64_t)c->forming_min_ms * 1000000;
    bc.spin_ns = (int64_t)c->spin_us * 1000;
    bc.candle_dedup_window = c->candle_dedup_window;
    bc.book_interval_ns = (int64_t)c->snapshot_interval_ms * 1000000;
    bc.log = log_feed;
    bc.lctx = "stage=book";
    int rc = book_builder_create(&p->builder, &bc);
    if (rc < 0)
        gw_log(GW_LOG_ERROR, NULL, "cannot create the builder: %s", tg_strerror(rc));
    return rc;
}

/* Trade backfill at start (docs/feeds.md, "Trade backfill"): where a sink knows the last trade
 * it stored per instrument (PostgreSQL), every instrument starts with that id as its resume
 * point (venues with consecutive trade ids) or with that trade's exchange time (the others:
 * tg_instr_t.trade_ids_seq 0), and feeds whose venue serves trade history fetch what was
 * published while no gateway ran. A sink that cannot answer (away at start) leaves no resume
 * point: logged. */
static void set_resume_points(gw_pipeline_t *p)
{
    uint32_t n = tg_instr_reg_count(p->reg), age = p->cfg->backfill_resume_s;
    if (!age || !n)
        return;
    uint64_t *last = calloc(n, sizeof(*last));
    int64_t *last_ts = calloc(n, sizeof(*last_ts));
    uint8_t *by_ts = calloc(n, sizeof(*by_ts));
    if (!last || !last_ts || !by_ts) {
        gw_log(GW_LOG_WARN, NULL, "trade backfill: out of memory: no resume at start");
        goto out;
    }
    for (uint32_t i = 0; i < n; i++)
        by_ts[i] = !tg_instr_reg_get(p->reg, i)->trade_ids_seq;
    for (uint32_t s = 0; s < p->n_sinks; s++) {
        gw_sink_t *k = &p->sinks[s];
        if (!k->ops->last_trades)
            continue;
        char err[512];
        long rc = k->ops->last_trades(k->obj, by_ts, last, last_ts, age, err, sizeof(err));
        if (rc < 0) {
            gw_log(GW_LOG_WARN, k->lctx,
                   "trade backfill: the last stored trades are unknown (%s): no resume at start",
                   err);
            continue;
        }
        uint32_t n_id = 0, n_ts = 0;
        for (uint32_t i = 0; i < n; i++) {
            const tg_instr_t *in = tg_instr_reg_get(p->reg, i);
            if (last[i] > in->resume_trade_id)
                tg_instr_reg_set_resume(p->reg, i, last[i]);
            if (last_ts[i] > in->resume_ts)
                tg_instr_reg_set_resume_ts(p->reg, i, last_ts[i]);
            n_id += last[i] != 0;
            n_ts += last_ts[i] != 0;
        }
        gw_log(GW_LOG_INFO, k->lctx,
               "trade backfill: %ld of %u instruments resume after their last stored trade "
               "(received within %u s): %u by trade id, %u by time",
               rc, n, age, n_id, n_ts);
    }
out:
    free(last);
    free(last_ts);
    free(by_ts);
}

int gw_pipeline_create(gw_pipeline_t **out, const gw_cfg_t *cfg)
{
    gw_pipeline_t *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->cfg = cfg;
    int rc;
    p->resync = calloc(1, sizeof(*p->resync));
    if (!p->resync) {
        rc = -ENOMEM;
        goto fail;
    }
    if ((rc = tg_instr_reg_create(&p->reg)) < 0)
        goto fail;
    if ((rc = register_instruments(p)) < 0)
        goto fail;
    if ((rc = create_sinks(p)) < 0)
        goto fail;
    set_resume_points(p);
    if ((rc = create_feeds(p)) < 0)
        goto fail;
    if (cfg->metrics_enabled && (rc = gw_tap_create_cfg(&p->tap, p->reg, cfg)) < 0)
        goto fail;
    if ((rc = create_builder(p)) < 0)
        goto fail;
    if ((rc = gw_metrics_create(&p->metrics)) < 0)
        goto fail;
    reg_metrics(p);
    *out = p;
    return 0;
fail:
    gw_pipeline_destroy(&p);
    return rc;
}

int gw_pipeline_start(gw_pipeline_t *p)
{
    int rc;
    for (uint32_t i = 0; i < p->n_sinks; i++)
        if ((rc = p->sinks[i].ops->start(p->sinks[i].obj)) < 0) {
            gw_log(GW_LOG_ERROR, p->sinks[i].lctx, "cannot start: %s", tg_strerror(rc));
            return rc;
        }
    if ((rc = book_builder_start(p->builder)) < 0)
        return rc;
    for (uint32_t i = 0; i < p->n_loops; i++)
        if (feed_loop_count(p->loops[i]) && (rc = feed_loop_start(p->loops[i])) < 0)
            return rc;
    p->started = 1;
    if (p->cfg->metrics_enabled) {
        gw_http_cfg_t hc = {.host = p->cfg->metrics_host,
                            .port = p->cfg->metrics_port,
                            .metrics = p->metrics,
                            .health = health,
                            .health_ud = p,
                            .tap = p->tap};
        if ((rc = gw_http_start(&p->http, &hc)) < 0) {
            gw_log(GW_LOG_ERROR, NULL, "cannot listen on %s:%d for /metrics: %s",
                   p->cfg->metrics_host, p->cfg->metrics_port, tg_strerror(rc));
            return rc;
        }
        gw_log(GW_LOG_INFO, NULL, "metrics, health and dashboard on http://%s:%d/",
               p->cfg->metrics_host, gw_http_port(p->http));
        if (!gw_cfg_host_is_loopback(p->cfg->metrics_host)) /* issue 15: hardening */
            gw_log(GW_LOG_WARN, NULL,
                   "/metrics, /health and the dashboard listen on %s, not a loopback address: "
                   "anyone who can reach it reads them (no authentication); "
                   "[metrics] listen = 127.0.0.1:%d keeps them local",
                   p->cfg->metrics_host, p->cfg->metrics_port);
    }
    return 0;
}

int gw_pipeline_stop(gw_pipeline_t *p)
{
    if (!p->started)
        return 0;
    p->started = 0;
    int64_t t0 = tg_clock_mono_ns();
    for (uint32_t i = 0; i < p->n_loops; i++)
        feed_loop_stop(p->loops[i]);
    for (uint32_t i = 0; i < p->n_feeds; i++)
        if (p->feeds[i].cap)
            feed_capture_finish(p->feeds[i].cap);
    int64_t t1 = tg_clock_mono_ns();
    book_builder_stop(p->builder);
    int64_t t2 = tg_clock_mono_ns();
    int lost = 0;
    for (uint32_t i = 0; i < p->n_sinks; i++) {
        long n = p->sinks[i].ops->stop(p->sinks[i].obj);
        if (n > 0) {
            gw_log(GW_LOG_ERROR, p->sinks[i].lctx,
                   "%ld records could be neither delivered nor kept", n);
            lost = 1;
        }
    }
    int64_t t3 = tg_clock_mono_ns();
    gw_log(GW_LOG_INFO, NULL,
           "stopped: feeds %.1f ms, builder drain %.1f ms, writers flush %.1f ms",
           (double)(t1 - t0) / 1e6, (double)(t2 - t1) / 1e6, (double)(t3 - t2) / 1e6);
    return lost;
}

void gw_pipeline_destroy(gw_pipeline_t **pp)
{
    gw_pipeline_t *p = tg_own_take(pp);
    if (!p)
        return;
    gw_pipeline_stop(p);
    gw_http_stop(&p->http);
    for (uint32_t i = 0; i < p->n_loops; i++)
        feed_loop_destroy(&p->loops[i]);
    book_builder_destroy(&p->builder);
    gw_tap_destroy(&p->tap);
    for (uint32_t i = 0; i < p->n_sinks; i++)
        if (p->sinks[i].obj)
            p->sinks[i].ops->destroy(&p->sinks[i].obj);
    for (uint32_t i = 0; i < p->n_feeds; i++) {
        tg_ring_destroy(&p->feeds[i].ring);
        feed_capture_destroy(&p->feeds[i].cap);
    }
    free(p->feeds);
    for (uint32_t i = 0; i < p->n_sinks; i++)
        tg_ring_destroy(&p->sinks[i].ring);
    gw_metrics_destroy(&p->metrics);
    tg_instr_reg_destroy(&p->reg);
    free(p->resync);
    free(p);
}

void gw_pipeline_progress(gw_pipeline_t *p, char *buf, size_t cap)
{
    uint64_t frames = 0, events = 0, trades = 0;
    for (uint32_t i = 0; i < p->n_feeds; i++) {
        const feed_stats_t *s = feed_conn_stats(p->feeds[i].conn);
        frames += TG_STAT_GET(s->frames);
        events += TG_STAT_GET(s->events);
        trades += TG_STAT_GET(s->trades);
    }
    /* trades: trade events the feeds emitted, i.e. the rows PostgreSQL must hold after a
     * clean stop; redis_coalesced/redis_dropped explain the holes subscribers see in seq
     * (the end-to-end test checks both). */
    const book_builder_stats_t *b = book_builder_stats(p->builder);
    int k = snprintf(buf, cap, "frames=%llu events=%llu trades=%llu books_valid=%llu/%llu",
                     (unsigned long long)frames, (unsigned long long)events,
                     (unsigned long long)trades, (unsigned long long)TG_STAT_GET(b->books_valid),
                     (unsigned long long)TG_STAT_GET(b->books_total));
    size_t n = k > 0 ? (size_t)k : 0;
    for (uint32_t i = 0; i < p->n_sinks && n < cap; i++) {
        char f[256];
        p->sinks[i].ops->progress(p->sinks[i].obj, f, sizeof(f));
        k = snprintf(buf + n, cap - n, " %s", f);
        n += k > 0 ? (size_t)k : 0;
    }
}

int gw_pipeline_http_port(const gw_pipeline_t *p)
{
    return p->http ? gw_http_port(p->http) : 0;
}
