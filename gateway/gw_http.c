/* SPDX-License-Identifier: MIT */
/*
 * HTTP endpoint (see gw_http.h).
 *
 * DESIGN: one libwebsockets context with one vhost bound to loopback, serviced by its own
 * thread ("metrics"), so a slow scraper never touches the feed threads. Each request renders
 * its whole body at once (metrics are a few tens of KB) into a per-session buffer that lives
 * LWS_PRE bytes after its start, writes headers, then the body on the next WRITEABLE.
 * A timer on the same thread samples the dashboard's history once a second (gw_history.h),
 * so history and its answers never race. The thread is a tg_worker named "metrics". Stop: the
 * worker's stop flag (WK_R1/WK_A1) plus lws_cancel_service() (the worker's wake hook) from the main
 * thread, then join.
 */
#include "gw_http.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_clock.h"
#include "book/tg_err.h"
#include "book/tg_own.h"
#include "book/tg_worker.h"
#include "gw_history.h"
#include "gw_log.h"

extern const char gw_dashboard_html[];

struct gw_http {
    gw_http_cfg_t cfg;
    struct lws_context *ctx;
    struct lws_vhost *vh;
    tg_worker_t wk; /* the "metrics" thread (tg_worker.h) */
    int port;
    gw_history_t *hist;         /* Thread: metrics (after start) */
    lws_sorted_usec_list_t sul; /* the history's 1 s timer */
};

typedef struct http_sess {
    char *body; /* malloc'd: LWS_PRE bytes, then the body */
    size_t len;
    int status;
    const char *ctype;
} http_sess_t;

static int respond(struct lws *wsi, http_sess_t *s)
{
    uint8_t hdr[LWS_PRE + 1024], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof(hdr) - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)s->status, s->ctype, s->len, &p, end))
        return 1;
    if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-store", 8, &p, end))
        return 1;
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return 1;
    lws_callback_on_writable(wsi);
    return 0;
}

static int set_body(http_sess_t *s, const char *text, size_t len);

/* GET /api/<path>: JSON from the history or the tap; errors as JSON with 400/404/500. */
static int api(gw_http_t *h, struct lws *wsi, http_sess_t *s, const char *path)
{
    char args[512] = "";
    size_t n = 0;
    for (int i = 0; n + 2 < sizeof(args); i++) { /* "a=1&b=2" */
        int k = lws_hdr_copy_fragment(wsi, args + n + (n ? 1 : 0),
                                      (int)(sizeof(args) - n - (n ? 1 : 0)),
                                      WSI_TOKEN_HTTP_URI_ARGS, i);
        if (k <= 0)
            break;
        if (n)
            args[n] = '&';
        n += (size_t)k + (n ? 1 : 0);
    }
    char *body = NULL;
    long len = -ENOENT;
    if (!strcmp(path, "history") && h->hist) {
        char since[32];
        long long ms = gw_tap_arg(args, "since", since, sizeof(since)) ? atoll(since) : 0;
        len = gw_history_json(h->hist, ms, &body);
    } else if (h->cfg.tap) {
        len = gw_tap_api(h->cfg.tap, path, args, &body);
    }
    s->ctype = "application/json";
    if (len < 0) {
        const char *e = len == -ENOENT   ? "{\"error\":\"not found\"}"
                        : len == -EINVAL ? "{\"error\":\"bad arguments\"}"
                                         : "{\"error\":\"out of memory\"}";
        s->status = len == -ENOENT ? 404 : len == -EINVAL ? 400 : 500;
        return set_body(s, e, strlen(e));
    }
    int rc = set_body(s, body, (size_t)len);
    free(body);
    return rc;
}

static int set_body(http_sess_t *s, const char *text, size_t len)
{
    s->body = malloc(LWS_PRE + len + 1);
    if (!s->body)
        return -1;
    memcpy(s->body + LWS_PRE, text, len);
    s->len = len;
    return 0;
}

static int http_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                   size_t len)
{
    http_sess_t *s = user;
    gw_http_t *h = lws_context_user(lws_get_context(wsi));
    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        const char *uri = in;
        memset(s, 0, sizeof(*s));
        s->status = 200;
        if (!strcmp(uri, "/metrics")) {
            char *text;
            long n = gw_metrics_render(h->cfg.metrics, &text);
            if (n < 0)
                return 1;
            s->ctype = "text/plain; version=0.0.4; charset=utf-8";
            int rc = set_body(s, text, (size_t)n);
            free(text);
            if (rc)
                return 1;
        } else if (!strcmp(uri, "/health")) {
            char buf[16384];
            int ok = h->cfg.health ? h->cfg.health(h->cfg.health_ud, buf, sizeof(buf)) : 1;
            if (!h->cfg.health)
                snprintf(buf, sizeof(buf), "{\"status\":\"ok\"}");
            s->status = ok ? 200 : 503;
            s->ctype = "application/json";
            if (set_body(s, buf, strlen(buf)))
                return 1;
        } else if (!strncmp(uri, "/api/", 5)) {
            if (api(h, wsi, s, uri + 5))
                return 1;
        } else if (!strcmp(uri, "/") || !strcmp(uri, "/index.html")) {
            s->ctype = "text/html; charset=utf-8";
            if (set_body(s, gw_dashboard_html, strlen(gw_dashboard_html)))
                return 1;
        } else {
            s->status = 404;
            s->ctype = "text/plain";
            if (set_body(s, "not found\n", 10))
                return 1;
        }
        return respond(wsi, s);
    }
    case LWS_CALLBACK_HTTP_WRITEABLE: {
        if (!s->body)
            return -1;
        int n = lws_write(wsi, (unsigned char *)s->body + LWS_PRE, s->len, LWS_WRITE_HTTP_FINAL);
        free(s->body);
        s->body = NULL;
        if (n < 0)
            return -1;
        if (lws_http_transaction_completed(wsi))
            return -1;
        return 0;
    }
    case LWS_CALLBACK_CLOSED_HTTP:
        if (s) {
            free(s->body);
            s->body = NULL;
        }
        break;
    default:
        break;
    }
    return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
    {"http", http_cb, sizeof(http_sess_t), 0, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void http_thread_first(gw_http_t *h);

static void http_thread(void *arg)
{
    gw_http_t *h = arg;
    gw_log_set_thread("metrics");
    http_thread_first(h);
    /* WK_A1 (tg_worker.h): pairs with WK_R1 in gw_http_stop() -> tg_worker_stop(). */
    while (!tg_worker_stopping(&h->wk))
        lws_service(h->ctx, 0);
}

/* The history's timer: one sample a second, on the metrics thread. */
static void history_tick(lws_sorted_usec_list_t *sul)
{
    gw_http_t *h = lws_container_of(sul, gw_http_t, sul);
    gw_history_sample(h->hist, tg_clock_realtime_ns() / 1000000);
    lws_sul_schedule(h->ctx, 0, &h->sul, history_tick, LWS_US_PER_SEC);
}

static void http_thread_first(gw_http_t *h)
{
    if (h->hist)
        history_tick(&h->sul);
}

/* tg_worker wake hook: makes lws_service() return so the thread sees the stop flag. */
static void http_wake(void *arg)
{
    gw_http_t *h = arg;
    lws_cancel_service(h->ctx);
}

int gw_http_start(gw_http_t **out, const gw_http_cfg_t *cfg)
{
    gw_http_t *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->cfg = *cfg;
    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = cfg->port;
    info.iface = cfg->host ? cfg->host : "127.0.0.1";
    info.protocols = protocols;
    info.user = h;
    /* lws 4.1 ignores iface for IPv4 unless IPv6 is disabled */
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6 | LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
    h->ctx = lws_create_context(&info);
    if (!h->ctx) {
        free(h);
        return TG_ECONFIG;
    }
    h->vh = lws_create_vhost(h->ctx, &info);
    if (!h->vh) {
        lws_context_destroy(h->ctx);
        free(h);
        return -EADDRINUSE;
    }
    h->port = lws_get_vhost_listen_port(h->vh);
    int rc;
    if (cfg->metrics &&
        (rc = gw_history_create(&h->hist, cfg->metrics,
                                cfg->history_samples ? cfg->history_samples : 600)) < 0) {
        lws_context_destroy(h->ctx);
        free(h);
        return rc;
    }
    tg_worker_cfg_t wc = {.name = "metrics", .main = http_thread, .arg = h, .wake = http_wake};
    rc = tg_worker_init(&h->wk, &wc);
    if (rc == 0)
        rc = tg_worker_start(&h->wk);
    if (rc < 0) {
        lws_context_destroy(h->ctx);
        gw_history_destroy(&h->hist);
        free(h);
        return rc;
    }
    *out = h;
    return 0;
}

int gw_http_port(const gw_http_t *h)
{
    return h->port;
}

int gw_http_stop(gw_http_t **ph)
{
    gw_http_t *h = tg_own_take(ph);
    if (!h)
        return 0;
    tg_worker_stop(&h->wk);  /* WK_R1, http_wake(), join */
    lws_sul_cancel(&h->sul); /* the thread has stopped: safe from here */
    lws_context_destroy(h->ctx);
    gw_history_destroy(&h->hist);
    free(h);
    return 0;
}
