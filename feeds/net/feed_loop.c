/* SPDX-License-Identifier: MIT */
/*
 * Feed loop: configuration defaults, connection set-up (config validation, symbol lookup,
 * handler wiring), the lws context and per-connection vhosts, the loop thread, stop/destroy
 * and the thread-safe accessors. The data path and connection state machine are in
 * feed_conn.c (its DESIGN note covers both files).
 */
#include <errno.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_clock.h"
#include "book/tg_err.h"
#include "book/tg_own.h"
#include "feeds/rec/feed_capture.h"
#include "feeds/net/feed_conn_impl.h"

static const struct lws_extension exts_deflate[] = {
    {"permessage-deflate", lws_extension_callback_pm_deflate,
     "permessage-deflate; client_max_window_bits"},
    {NULL, NULL, NULL},
};

static char *dupstr(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ---------- public API ---------- */

void feed_conn_cfg_defaults(feed_conn_cfg_t *c)
{
    memset(c, 0, sizeof(*c));
    c->channels = FEED_CH_ALL;
    c->stale_ms = 30000;
    c->ping_ms = 10000;
    c->connect_timeout_ms = 10000;
    c->backoff_min_ms = 250;
    c->backoff_max_ms = 30000;
    c->max_msg = 8u << 20;
    c->max_rest = 32u << 20;
    c->out_cap = 1024;
    c->ring_wait_us = 50000;
    c->rx_buffer = 65536;
}

void feed_loop_cfg_defaults(feed_loop_cfg_t *c)
{
    memset(c, 0, sizeof(*c));
    c->name = "feed";
    c->tick_ms = 100;
}

const char *feed_conn_state_name(feed_conn_state_t s)
{
    static const char *const names[] = {"idle", "resolving", "connecting",
                                        "open", "backoff",   "stopped"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

static void loop_main(void *arg);
static void loop_wake(void *arg);

int feed_loop_create(feed_loop_t **out, const feed_loop_cfg_t *cfg)
{
    if (!out)
        return -EINVAL;
    feed_loop_t *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    if (cfg)
        l->cfg = *cfg;
    else
        feed_loop_cfg_defaults(&l->cfg);
    if (!l->cfg.tick_ms)
        l->cfg.tick_ms = 100;
    snprintf(l->name, sizeof(l->name), "%s", l->cfg.name ? l->cfg.name : "feed");
    l->cfg.name = l->name;
    char tn[TG_WORKER_NAME_MAX + 1];
    snprintf(tn, sizeof(tn), "feed:%.10s", l->name);
    tg_worker_cfg_t wc = {.name = tn, .main = loop_main, .arg = l, .wake = loop_wake};
    int rc = tg_worker_init(&l->wk, &wc);
    if (rc < 0) {
        free(l);
        return rc;
    }
    *out = l;
    return 0;
}

static void conn_free(feed_conn_t *c)
{
    if (!c)
        return;
    if (c->venue)
        feed_handler_teardown(&c->h);
    feed_conn__tx_clear(c);
    feed_rest__free(c);
    free(c->rx);
    free(c->evbuf);
    feed_ovf_free(&c->ovf);
    free(c->instr);
    free(c->resync_seen);
    free(c->url_s);
    free(c->rest_s);
    free(c->ca_s);
    free(c->symbols_csv);
    free(c);
}

int feed_loop_add(feed_loop_t *l, const feed_conn_cfg_t *cfg, feed_conn_t **out)
{
    if (!l || !cfg)
        return -EINVAL;
    if (l->started)
        return -EBUSY;
    const feed_venue_t *v = cfg->venue_impl ? cfg->venue_impl : feed_venue_find(cfg->venue);
    if (!v || !v->on_frame || !v->on_open || !v->on_close || !cfg->ring ||
        (cfg->n_symbols && (!cfg->reg || !cfg->symbols)) || !cfg->backoff_min_ms ||
        cfg->backoff_max_ms < cfg->backoff_min_ms || !cfg->max_msg || !cfg->out_cap)
        return TG_ECONFIG;
    feed_conn_t *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    int rc = -ENOMEM;
    c->kind = KIND_WS;
    c->loop = l;
    c->idx = l->n;
    c->venue = v;
    c->cfg = *cfg;
    if (c->cfg.ring_wait_us > 50000) /* the feed thread serves other connections too */
        c->cfg.ring_wait_us = 50000;
    if (c->cfg.ring_overflow > 1u << 24)
        c->cfg.ring_overflow = 1u << 24;
    feed_ovf_init(&c->ovf, c->cfg.ring_overflow, &c->ts.ovf);
    snprintf(c->name, sizeof(c->name), "%s", cfg->name ? cfg->name : v->name);
    c->url_s = dupstr(cfg->url ? cfg->url : v->default_url);
    if (!c->url_s) {
        rc = TG_ECONFIG;
        goto fail;
    }
    if (feed_url_parse(&c->url, c->url_s) < 0 || !c->url.ws) {
        rc = TG_ECONFIG;
        goto fail;
    }
    if (cfg->rest_url) {
        c->rest_s = dupstr(cfg->rest_url);
    } else if (v->rest_host) {
        size_t n = strlen(v->rest_host) + 16;
        c->rest_s = malloc(n);
        if (c->rest_s)
            snprintf(c->rest_s, n, "https://%s", v->rest_host);
    }
    if (c->rest_s) {
        if (feed_url_parse(&c->rurl, c->rest_s) < 0 || c->rurl.ws) {
            rc = TG_ECONFIG;
            goto fail;
        }
        c->has_rest = true;
    }
    if (cfg->ca_file && !(c->ca_s = dupstr(cfg->ca_file)))
        goto fail;
    c->cfg.url = c->url_s;
    c->cfg.rest_url = c->rest_s;
    c->cfg.ca_file = c->ca_s;
    c->cfg.symbols = NULL;
    c->cfg.name = c->name;
    c->cfg.venue = v->name;
    feed_rest__setup(c);
    /* symbols -> instrument ids, and a comma list for captures */
    size_t csv = 1;
    for (size_t i = 0; i < cfg->n_symbols; i++)
        csv += strlen(cfg->symbols[i]) + 1;
    c->symbols_csv = calloc(1, csv);
    c->instr = calloc(cfg->n_symbols ? cfg->n_symbols : 1, sizeof(*c->instr));
    c->resync_seen = calloc(cfg->n_symbols ? cfg->n_symbols : 1, sizeof(*c->resync_seen));
    c->evbuf = calloc(cfg->out_cap, sizeof(*c->evbuf));
    if (!c->symbols_csv || !c->instr || !c->resync_seen || !c->evbuf)
        goto fail;
    int vid = cfg->reg ? tg_instr_reg_venue_id(cfg->reg, v->name) : -1;
    for (size_t i = 0; i < cfg->n_symbols; i++) {
        const char *s = cfg->symbols[i];
        int64_t id = vid >= 0 ? tg_instr_reg_find(cfg->reg, vid, s, strlen(s)) : -1;
        if (id < 0) {
            rc = TG_ESYMBOL;
            goto fail;
        }
        c->instr[i] = (uint32_t)id;
        if (i)
            strcat(c->symbols_csv, ",");
        strcat(c->symbols_csv, s);
    }
    feed_handler_t *h = &c->h;
    h->venue = v;
    h->reg = cfg->reg;
    h->venue_id = vid;
    h->instr = c->instr;
    h->n_instr = (uint32_t)cfg->n_symbols;
    h->depth = cfg->depth;
    h->channels = cfg->channels;
    h->out.ev = c->evbuf;
    h->out.cap = cfg->out_cap;
    h->out.flush = feed_conn__flush;
    h->out.ctx = c;
    h->stats = &c->stats;
    h->send = feed_conn__send;
    h->rest_get = feed_conn__rest_get;
    h->rest_wpm_cfg = cfg->rest_weight_per_min;
    h->reconnect = feed_conn__reconnect;
    h->tctx = c;
    h->log = feed_conn__hlog;
    h->lctx = c;
    c->rng = 0x9E3779B97F4A7C15ull ^ ((uint64_t)tg_clock_mono_ns() + c->idx * 7919u);
    if ((rc = feed_handler_setup(h)) < 0)
        goto fail;
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 8;
        feed_conn_t **nv = realloc(l->conns, nc * sizeof(*nv));
        if (!nv) {
            rc = -ENOMEM;
            goto fail;
        }
        l->conns = nv, l->cap = nc;
    }
    l->conns[l->n++] = c;
    if (out)
        *out = c;
    return 0;
fail:
    conn_free(c);
    return rc;
}

/* lws logs globally: its error lines go, at debug level, to the log callback of the loop
 * started last (lower layers never print). */
static _Atomic(feed_loop_t *) g_log_loop;

static void lws_log_emit(int level, const char *line)
{
    /* FL_A1: pairs with FL_R1 in feed_loop_start(); l->cfg is fully written. */
    feed_loop_t *l = atomic_load_explicit(&g_log_loop, memory_order_acquire);
    if (!l || !l->cfg.log)
        return;
    char msg[512];
    snprintf(msg, sizeof(msg), "lws: %s", line);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = 0;
    l->cfg.log(l->cfg.log_ctx, level == LLL_ERR ? FEED_LOG_DEBUG : FEED_LOG_DEBUG, msg);
}

static void loop_main(void *arg)
{
    feed_loop_t *l = arg;
    lws_sul_schedule(l->ctx, 0, &l->sul, feed_conn__loop_tick, 1000);
    /* WK_A1 (tg_worker.h): pairs with WK_R1 in feed_loop_stop() -> tg_worker_stop(). */
    while (!tg_worker_stopping(&l->wk))
        lws_service(l->ctx, 0);
    /* Shutdown: books of open connections become STALE; flush everything. */
    l->stopping = true;
    lws_sul_cancel(&l->sul);
    lws_sul_cancel(&l->osul);
    l->ovf_armed = false;
    int64_t tr = tg_clock_realtime_ns(), tm = tg_clock_mono_ns();
    int64_t ovf_deadline = tm + OVF_FINAL_NS; /* shared by the loop's connections */
    for (size_t i = 0; i < l->n; i++) {
        feed_conn_t *c = l->conns[i];
        if (c->opened) {
            c->opened = false;
            TG_STAT_INC(c->ts.closes);
            feed_close(&c->h, tr, tm);
        }
        feed_flush(&c->h);
        feed_conn__ovf_final(c, ovf_deadline);
        if (c->gap_pending)
            feed_conn__push_gaps(c);
        if (c->cfg.capture)
            feed_capture_finish(c->cfg.capture);
        feed_conn__set_state(c, FEED_CONN_STOPPED);
    }
}

/* tg_worker wake hook: makes lws_service() return so the loop sees the stop flag. */
static void loop_wake(void *arg)
{
    feed_loop_t *l = arg;
    lws_cancel_service(l->ctx);
}

static void resolver_wake(void *ctx)
{
    feed_loop_t *l = ctx;
    lws_cancel_service(l->ctx);
}

int feed_loop_start(feed_loop_t *l)
{
    TG_CHECK_ARG(l, -EINVAL);
    if (l->started)
        return -EALREADY;
    /* FL_R1: publishes l->cfg; pairs with FL_A1 in lws_log_emit(). */
    atomic_store_explicit(&g_log_loop, l, memory_order_release);
    lws_set_log_level(LLL_ERR, lws_log_emit);
    l->protocols[0].name = "tg-feed";
    l->protocols[0].callback = feed_conn__proto_callback;
    l->protocols[0].rx_buffer_size = 65536;
    for (size_t i = 0; i < l->n; i++)
        if (l->conns[i]->cfg.rx_buffer > l->protocols[0].rx_buffer_size)
            l->protocols[0].rx_buffer_size = l->conns[i]->cfg.rx_buffer;
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS | LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
    info.user = l;
    info.fd_limit_per_thread = 1024;
    l->ctx = lws_create_context(&info);
    if (!l->ctx)
        return TG_ECONFIG;
    for (size_t i = 0; i < l->n; i++) {
        feed_conn_t *c = l->conns[i];
        struct lws_context_creation_info vi;
        char vname[96];
        memset(&vi, 0, sizeof(vi));
        snprintf(vname, sizeof(vname), "%.60s-%zu", c->name, i);
        vi.vhost_name = vname;
        vi.port = CONTEXT_PORT_NO_LISTEN;
        vi.protocols = l->protocols;
        vi.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        vi.client_ssl_ca_filepath = c->ca_s;
        vi.user = l;
        if (c->cfg.deflate)
            vi.extensions = exts_deflate;
        c->vh = lws_create_vhost(l->ctx, &vi);
        if (!c->vh) {
            feed_conn__log(c, FEED_LOG_ERROR, "cannot create lws vhost (CA file %s)",
                           c->ca_s ? c->ca_s : "(system)");
            goto fail;
        }
    }
    int rc = feed_resolver_create(&l->res, resolver_wake, l);
    if (rc < 0)
        goto fail_rc;
    rc = tg_worker_start(&l->wk);
    if (rc < 0)
        goto fail_rc;
    l->started = true;
    return 0;
fail:
    rc = TG_ECONFIG;
fail_rc:
    feed_resolver_destroy(&l->res);
    l->stopping = true;
    lws_context_destroy(l->ctx);
    l->ctx = NULL;
    l->stopping = false;
    return rc;
}

int feed_loop_stop(feed_loop_t *l)
{
    if (!l || !l->started || l->joined)
        return 0;
    /* WK_R1 in tg_worker_stop(): the stop request, then loop_wake(), then the join. */
    tg_worker_stop(&l->wk);
    l->joined = true;
    feed_resolver_destroy(&l->res);
    lws_context_destroy(l->ctx); /* callbacks see l->stopping */
    l->ctx = NULL;
    return 0;
}

void feed_loop_destroy(feed_loop_t **lp)
{
    feed_loop_t *l = tg_own_take(lp);
    if (!l)
        return;
    feed_loop_stop(l);
    feed_loop_t *expect = l;
    /* FL_R2: unpublishes this loop from the lws log hook (only if it is still the one); the
     * acquire side orders it after FL_R1 of a later feed_loop_start(). */
    atomic_compare_exchange_strong_explicit(&g_log_loop, &expect, NULL, memory_order_acq_rel,
                                            memory_order_relaxed);
    for (size_t i = 0; i < l->n; i++)
        conn_free(l->conns[i]);
    free(l->conns);
    free(l);
}

size_t feed_loop_count(const feed_loop_t *l)
{
    return l ? l->n : 0;
}

feed_conn_t *feed_loop_conn(const feed_loop_t *l, size_t i)
{
    return l && i < l->n ? l->conns[i] : NULL;
}

const feed_stats_t *feed_conn_stats(const feed_conn_t *c)
{
    return &c->stats;
}

const feed_conn_tstats_t *feed_conn_tstats(const feed_conn_t *c)
{
    return &c->ts;
}

void feed_conn_status(const feed_conn_t *c, feed_conn_status_t *st)
{
    st->state = feed_conn__get_state(c);
    st->last_frame_ns = atomic_load_explicit(&c->last_frame_ns, memory_order_relaxed);
    st->since_ns = atomic_load_explicit(&c->since_ns, memory_order_relaxed);
    st->attempt = atomic_load_explicit(&c->attempt_pub, memory_order_relaxed);
    st->venue_error_ns = feed_venue_error_get(&c->h, st->venue_error, sizeof(st->venue_error));
}

const char *feed_conn_name(const feed_conn_t *c)
{
    return c->name;
}

void feed_conn_reconnect(feed_conn_t *c, const char *why)
{
    feed_conn__reconnect(c, why);
}
