/* SPDX-License-Identifier: MIT */
/*
 * The gateway's HTTP endpoint on loopback (libwebsockets server, its own thread and context):
 *   GET /metrics  Prometheus text (gw_metrics_render)
 *   GET /health   JSON per feed and per sink; 200 when everything is up, 503 otherwise
 *   GET /         the live dashboard (docs/dashboard.md; built in, no internet needed)
 *   GET /api/history?since=MS  the dashboard's recent history (gw_history.h)
 *   GET /api/books, /api/book?venue=V&symbol=S, /api/gaps  books and gap events (gw_tap.h)
 * Thread: main (start/stop); metrics (serving).
 */
#ifndef GW_HTTP_H
#define GW_HTTP_H

#include "gw_metrics.h"
#include "gw_tap.h"

typedef struct gw_http gw_http_t;

/** Health callback: write a JSON object into buf (cap bytes); return 1 if healthy, 0 if not.
 *  Runs on the metrics thread: read only thread-safe state (atomics). */
typedef int (*gw_health_fn)(void *ud, char *buf, size_t cap);

typedef struct gw_http_cfg {
    const char *host; /* listen address, default 127.0.0.1 */
    int port;         /* 0: pick a free port (gw_http_port tells which) */
    const gw_metrics_t *metrics;
    gw_health_fn health;
    void *health_ud;
    const gw_tap_t *tap;      /* /api/books, /api/book, /api/gaps; NULL: 404 */
    uint32_t history_samples; /* /api/history keeps this many 1 s samples (0: 600) */
} gw_http_cfg_t;

/** Start listening and serving on a new thread (a tg_worker named "metrics").
 *  @return 0, -errno (-EADDRINUSE, -ENOMEM, or pthread_create's) or TG_ECONFIG.
 *  (Start creates the object, so "already started" cannot happen here.) */
int gw_http_start(gw_http_t **out, const gw_http_cfg_t *cfg);
/** The bound port. */
int gw_http_port(const gw_http_t *h);
/** Stop the thread and free; sets *h to NULL. @return 0, also for NULL or *h == NULL (the
 *  tg_worker.h codes: stop when not running is 0). */
int gw_http_stop(gw_http_t **h);

#endif
