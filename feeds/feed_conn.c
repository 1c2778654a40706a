/* SPDX-License-Identifier: MIT */
/*
 * Websocket client transport: one lws context per feed loop thread, many connections.
 *
 * DESIGN
 * Threads: the loop thread ("feed:<name>") owns the lws context, every connection, its
 * handler and the producer side of its ring. main creates/adds/starts/destroys; any thread
 * may read the atomics (state, last frame time, counters) and call feed_loop_stop(), which
 * only sets `stop` and calls lws_cancel_service() (the one lws call allowed off-thread).
 * A resolver thread runs getaddrinfo() (lws 4.1 resolves synchronously) and wakes the
 * service with lws_cancel_service(); answers are taken in LWS_CALLBACK_EVENT_WAIT_CANCELLED
 * and in the housekeeping timer.
 *
 * Per connection: IDLE -> RESOLVING -> CONNECTING -> OPEN -> (close) -> BACKOFF -> RESOLVING
 * ... Each attempt bumps `gen`; DNS answers and REST answers of an older generation are
 * dropped. Every websocket gets its own vhost (CA file, permessage-deflate are per vhost in
 * lws 4.1); REST GETs are lws HTTP client connections on the same vhost.
 *
 * Data path (per received message): reassemble fragments into c->rx (bounded by max_msg;
 * over it: counted, logged, connection reset), NUL-terminate, stamp (realtime + monotonic),
 * optional raw hook / capture, venue->on_frame, then feed_flush() pushes the handler's
 * events into the ring with tg_ring_spsc_push_n(). No allocation or lock per message (c->rx
 * only grows, up to max_msg).
 *
 * Ring full: retry with doubling sleeps (20 us .. 2 ms) up to ring_wait_us in total (at most
 * 50 ms), then drop the rest of the batch, count ring_full (episodes) and ev_dropped
 * (events), and enter `gap_pending`: later flushes first push one TG_EV_GAP per instrument
 * of the connection (dropping everything else until all GAPs are in, without sleeping), and
 * the connection is reconnected so the handler resyncs from scratch. A book therefore never
 * silently diverges: it sees GAP (-> RESYNCING) and then a fresh snapshot.
 *
 * Timers: one lws sul per loop every tick_ms runs DNS answers, backoff expiry, connect
 * timeouts, the stale timer, pings, on_tick (every 1 s) and pending GAPs.
 *
 * Shutdown: the loop thread leaves lws_service() when `stop` is seen, calls on_close for open
 * connections (their books get STALE), flushes, and exits; feed_loop_stop() joins it, then
 * destroys the lws context (callbacks during destruction see `stopping` and do nothing).
 */
#include "feed_conn.h"

#include <errno.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "book/tg_clock.h"
#include "book/tg_err.h"
#include "feeds/feed_capture.h"
#include "feeds/feed_resolve.h"

#define KIND_WS   0x57534b31u
#define KIND_REST 0x52534b31u
#define TXQ_MAX   256
#define REST_MAX  32
#define STABLE_NS (10 * TG_NS_PER_SEC) /* open this long -> backoff exponent resets */
#define TICK_NS   TG_NS_PER_SEC

enum { REST_FREE = 0, REST_WAIT_ADDR, REST_INFLIGHT, REST_FAIL_PENDING };

typedef struct txmsg {
    unsigned char *buf; /* LWS_PRE bytes of headroom, then the payload */
    size_t len;
    bool ping;
} txmsg_t;

typedef struct rest_req {
    uint32_t kind; /* KIND_REST: first field, lws opaque user data */
    struct feed_conn *c;
    struct lws *wsi;
    int state;
    uint32_t gen;
    uint64_t tag;
    int status;
    bool done, overflow;
    char *body;
    size_t len, cap;
    char path[FEED_PATH_MAX];
} rest_req_t;

struct feed_conn {
    uint32_t kind; /* KIND_WS: first field, lws opaque user data */
    feed_loop_t *loop;
    size_t idx;
    char name[64];
    const feed_venue_t *venue;
    feed_conn_cfg_t cfg; /* string fields point into the copies below */
    char *url_s, *rest_s, *ca_s, *symbols_csv;
    feed_url_t url, rurl;
    bool has_rest;
    char ws_addr[FEED_ADDR_MAX], rest_addr[FEED_ADDR_MAX];
    int resolving; /* answers outstanding for this generation */
    bool rest_addr_ok;
    struct lws_vhost *vh;
    struct lws *wsi;
    feed_handler_t h;
    feed_stats_t stats;
    feed_conn_tstats_t ts;
    uint32_t *instr;
    tg_event_t *evbuf;
    /* receive */
    char *rx;
    size_t rx_len, rx_cap;
    bool rx_skip, in_rx;
    /* send */
    txmsg_t txq[TXQ_MAX];
    uint32_t tx_head, tx_n;
    /* state (loop thread) */
    uint32_t gen, attempt;
    bool opened, want_close, got_frame;
    int64_t deadline, open_mono, last_frame_mono, last_rx_mono, ping_mono, next_tick;
    bool ping_out;
    bool gap_pending;
    uint32_t gap_next;
    uint64_t rng;
    int64_t log_window;
    uint32_t log_count, log_suppressed;
    /* published for other threads */
    _Atomic int state;
    _Atomic int64_t since_ns, last_frame_ns;
    _Atomic uint32_t attempt_pub;
    rest_req_t rest[REST_MAX];
};

struct feed_loop {
    feed_loop_cfg_t cfg;
    char name[32];
    feed_conn_t **conns;
    size_t n, cap;
    struct lws_context *ctx;
    struct lws_protocols protocols[2];
    const struct lws_extension *exts_deflate;
    feed_resolver_t *res;
    lws_sorted_usec_list_t sul;
    pthread_t th;
    bool started, joined, stopping;
    _Atomic bool stop;
};

static const struct lws_extension exts_deflate[] = {
    {"permessage-deflate", lws_extension_callback_pm_deflate,
     "permessage-deflate; client_max_window_bits"},
    {NULL, NULL, NULL},
};

/* ---------- small helpers ---------- */

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

static void set_state(feed_conn_t *c, feed_conn_state_t s)
{
    atomic_store_explicit(&c->since_ns, tg_clock_realtime_ns(), memory_order_relaxed);
    atomic_store_explicit(&c->state, (int)s, memory_order_relaxed);
}

static feed_conn_state_t get_state(const feed_conn_t *c)
{
    return (feed_conn_state_t)atomic_load_explicit(&c->state, memory_order_relaxed);
}

/* Rate-limited log: at most 20 lines per connection per second; the rest are counted and
 * reported with the next line that gets through. */
static void conn_log(feed_conn_t *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void conn_log(feed_conn_t *c, int level, const char *fmt, ...)
{
    if (!c->cfg.log)
        return;
    int64_t now = tg_clock_mono_ns();
    if (now - c->log_window > TG_NS_PER_SEC) {
        c->log_window = now;
        c->log_count = 0;
    }
    if (++c->log_count > 20) {
        c->log_suppressed++;
        return;
    }
    char msg[720], body[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof(body), fmt, ap);
    va_end(ap);
    if (c->log_suppressed)
        snprintf(msg, sizeof(msg), "feed %s: %s (%u lines suppressed)", c->name, body,
                 c->log_suppressed);
    else
        snprintf(msg, sizeof(msg), "feed %s: %s", c->name, body);
    c->log_suppressed = 0;
    c->cfg.log(c->cfg.log_ctx, level, msg);
}

static void hlog(void *ctx, int level, const char *msg)
{
    conn_log(ctx, level, "%s", msg);
}

static uint64_t rng_next(feed_conn_t *c)
{
    uint64_t x = c->rng; /* xorshift64* */
    x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
    c->rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

/* ---------- ring output ---------- */

static tg_event_t gap_event(uint32_t instr)
{
    tg_event_t ev = {0};
    ev.kind = TG_EV_GAP;
    ev.instr = instr;
    ev.ts_recv = tg_clock_realtime_ns();
    ev.ts_mono = tg_clock_mono_ns();
    ev.flags = TG_EVF_LAST;
    return ev;
}

/* Push the pending GAP markers without waiting. true when all are in. */
static bool push_gaps(feed_conn_t *c)
{
    while (c->gap_next < c->h.n_instr) {
        tg_event_t ev = gap_event(c->h.instr[c->gap_next]);
        if (!tg_ring_spsc_push(c->cfg.ring, &ev))
            return false;
        TG_STAT_INC(c->ts.gap_marks);
        c->gap_next++;
    }
    c->gap_pending = false;
    return true;
}

static void request_close(feed_conn_t *c, const char *why);

static int conn_flush(void *ctx, const tg_event_t *ev, uint32_t n)
{
    feed_conn_t *c = ctx;
    if (c->gap_pending && !push_gaps(c)) {
        TG_STAT_ADD(c->ts.ev_dropped, n);
        return TG_EFULL;
    }
    uint32_t done = tg_ring_spsc_push_n(c->cfg.ring, ev, n);
    if (done == n)
        return 0;
    int64_t waited = 0, nap = 20 * TG_NS_PER_US;
    while (done < n && waited < (int64_t)c->cfg.ring_wait_us * TG_NS_PER_US) {
        struct timespec t = {0, (long)nap};
        nanosleep(&t, NULL);
        waited += nap;
        if (nap < 2 * TG_NS_PER_MS)
            nap *= 2;
        done += tg_ring_spsc_push_n(c->cfg.ring, ev + done, n - done);
    }
    if (done == n)
        return 0;
    TG_STAT_INC(c->stats.ring_full);
    TG_STAT_ADD(c->ts.ev_dropped, n - done);
    conn_log(c, FEED_LOG_ERROR,
             "ring full for %lld us: dropped %u events, marking %u books GAP "
             "and resyncing",
             (long long)(waited / TG_NS_PER_US), n - done, c->h.n_instr);
    c->gap_pending = true;
    c->gap_next = 0;
    push_gaps(c);
    request_close(c, "ring full");
    return TG_EFULL;
}

/* ---------- transport services for the handler ---------- */

static int tx_push(feed_conn_t *c, const char *text, size_t len, bool ping)
{
    if (!c->wsi || get_state(c) != FEED_CONN_OPEN || c->want_close) {
        TG_STAT_INC(c->ts.tx_dropped);
        return -ENOTCONN;
    }
    if (c->tx_n == TXQ_MAX) {
        TG_STAT_INC(c->ts.tx_dropped);
        conn_log(c, FEED_LOG_WARN, "send queue full (%d frames): frame dropped", TXQ_MAX);
        return -EAGAIN;
    }
    unsigned char *b = malloc(LWS_PRE + len + 1);
    if (!b)
        return -ENOMEM;
    if (len)
        memcpy(b + LWS_PRE, text, len);
    txmsg_t *m = &c->txq[(c->tx_head + c->tx_n) % TXQ_MAX];
    m->buf = b;
    m->len = len;
    m->ping = ping;
    c->tx_n++;
    lws_callback_on_writable(c->wsi);
    return 0;
}

static void tx_clear(feed_conn_t *c)
{
    while (c->tx_n) {
        free(c->txq[c->tx_head].buf);
        c->txq[c->tx_head].buf = NULL;
        c->tx_head = (c->tx_head + 1) % TXQ_MAX;
        c->tx_n--;
    }
    c->tx_head = 0;
}

static int svc_send(void *tctx, const char *text, size_t len)
{
    feed_conn_t *c = tctx;
    int rc = tx_push(c, text, len, false);
    if (rc == 0 && c->cfg.capture)
        feed_capture_sent(c->cfg.capture, text, len);
    return rc;
}

static void rest_start(rest_req_t *r);

static int svc_rest_get(void *tctx, const char *path, uint64_t tag)
{
    feed_conn_t *c = tctx;
    if (!path || strlen(path) >= FEED_PATH_MAX - 256)
        return -EINVAL;
    rest_req_t *r = NULL;
    for (int i = 0; i < REST_MAX && !r; i++)
        if (c->rest[i].state == REST_FREE)
            r = &c->rest[i];
    if (!r) {
        conn_log(c, FEED_LOG_WARN, "too many REST requests in flight (%d)", REST_MAX);
        return -EAGAIN;
    }
    r->kind = KIND_REST;
    r->c = c;
    r->wsi = NULL;
    r->gen = c->gen;
    r->tag = tag;
    r->status = 0;
    r->done = r->overflow = false;
    r->len = 0;
    const char *base = c->rurl.path;
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    snprintf(r->path, sizeof(r->path), "%.*s%s%s", (int)bl, base, path[0] == '/' ? "" : "/", path);
    if (!c->has_rest) {
        r->state = REST_FAIL_PENDING; /* delivered as status 0 by the next tick */
        return 0;
    }
    if (c->rest_addr_ok)
        rest_start(r);
    else
        r->state = c->resolving > 0 ? REST_WAIT_ADDR : REST_FAIL_PENDING;
    return 0;
}

static void svc_reconnect(void *tctx, const char *why)
{
    feed_conn_t *c = tctx;
    TG_STAT_INC(c->stats.resyncs);
    request_close(c, why ? why : "handler asked");
}

/* ---------- lifecycle ---------- */

static void conn_connect(feed_conn_t *c);

static void schedule_backoff(feed_conn_t *c)
{
    uint32_t sh = c->attempt < 20 ? c->attempt : 20;
    uint64_t d = (uint64_t)c->cfg.backoff_min_ms << sh;
    if (d > c->cfg.backoff_max_ms)
        d = c->cfg.backoff_max_ms;
    /* Full jitter in the upper half: [d/2, d]. */
    uint64_t j = d / 2 + (d ? rng_next(c) % (d / 2 + 1) : 0);
    c->attempt++;
    atomic_store_explicit(&c->attempt_pub, c->attempt, memory_order_relaxed);
    c->deadline = tg_clock_mono_ns() + (int64_t)j * TG_NS_PER_MS;
    set_state(c, FEED_CONN_BACKOFF);
}

/* The websocket ended (established or not). Notify the handler, plan the next attempt. */
static void conn_down(feed_conn_t *c, const char *why)
{
    if (c->wsi)
        lws_set_opaque_user_data(c->wsi, NULL); /* later callbacks of that socket: ignored */
    c->wsi = NULL;
    c->want_close = false;
    c->ping_out = false;
    tx_clear(c);
    if (c->opened) {
        int64_t now = tg_clock_mono_ns();
        c->opened = false;
        TG_STAT_INC(c->ts.closes);
        if (now - c->open_mono >= STABLE_NS)
            c->attempt = 0;
        c->venue->on_close(&c->h, tg_clock_realtime_ns(), now);
        feed_flush(&c->h);
        conn_log(c, FEED_LOG_WARN, "connection closed (%s)", why);
    } else {
        TG_STAT_INC(c->ts.connect_errors);
        conn_log(c, FEED_LOG_WARN, "connect failed (%s)", why);
    }
    c->gen++; /* orphan DNS and REST answers of this attempt */
    if (c->loop->stopping) {
        set_state(c, FEED_CONN_STOPPED);
        return;
    }
    schedule_backoff(c);
}

static void request_close(feed_conn_t *c, const char *why)
{
    feed_conn_state_t s = get_state(c);
    if (s != FEED_CONN_OPEN && s != FEED_CONN_CONNECTING)
        return;
    if (c->want_close || !c->wsi)
        return;
    c->want_close = true;
    conn_log(c, FEED_LOG_WARN, "closing connection: %s", why);
    if (!c->in_rx) /* inside the receive callback, returning -1 closes it */
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

static uint64_t rkey(const feed_conn_t *c, int which)
{
    return ((uint64_t)c->idx << 40) | ((uint64_t)c->gen << 8) | (uint64_t)which;
}

static void attempt_start(feed_conn_t *c)
{
    c->gen++;
    c->resolving = 0;
    c->rest_addr_ok = false;
    c->ws_addr[0] = 0;
    c->deadline = tg_clock_mono_ns() + (int64_t)c->cfg.connect_timeout_ms * TG_NS_PER_MS;
    set_state(c, FEED_CONN_RESOLVING);
    if (c->has_rest) {
        if (feed_host_is_numeric(c->rurl.host)) {
            snprintf(c->rest_addr, sizeof(c->rest_addr), "%.63s", c->rurl.host);
            c->rest_addr_ok = true;
        } else if (feed_resolve_submit(c->loop->res, rkey(c, 1), c->rurl.host) == 0) {
            c->resolving++;
        }
    }
    if (feed_host_is_numeric(c->url.host)) {
        snprintf(c->ws_addr, sizeof(c->ws_addr), "%.63s", c->url.host);
        conn_connect(c);
    } else if (feed_resolve_submit(c->loop->res, rkey(c, 0), c->url.host) == 0) {
        c->resolving++;
    } else {
        conn_down(c, "resolver queue full");
    }
}

static void conn_connect(feed_conn_t *c)
{
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.context = c->loop->ctx;
    ci.vhost = c->vh;
    ci.address = c->ws_addr;
    ci.port = c->url.port;
    ci.path = c->url.path;
    ci.host = c->url.host;
    ci.origin = c->url.host;
    ci.local_protocol_name = "tg-feed";
    ci.opaque_user_data = c;
    ci.pwsi = &c->wsi;
    if (c->url.tls) {
        ci.ssl_connection = LCCSCF_USE_SSL;
        if (c->cfg.tls_insecure)
            ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                                 LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
    }
    set_state(c, FEED_CONN_CONNECTING);
    uint32_t gen = c->gen;
    if (!lws_client_connect_via_info(&ci) && c->gen == gen &&
        get_state(c) == FEED_CONN_CONNECTING) {
        c->wsi = NULL;
        conn_down(c, "lws_client_connect_via_info failed");
    }
}

static void resolve_drain(feed_loop_t *l)
{
    uint64_t key;
    char addr[FEED_ADDR_MAX];
    int err;
    while (l->res && feed_resolve_poll(l->res, &key, addr, &err)) {
        size_t idx = (size_t)(key >> 40);
        uint32_t gen = (uint32_t)(key >> 8);
        int which = (int)(key & 0xff);
        if (idx >= l->n)
            continue;
        feed_conn_t *c = l->conns[idx];
        if (c->gen != gen || l->stopping)
            continue;
        c->resolving--;
        if (which == 1) {
            if (err == 0) {
                memcpy(c->rest_addr, addr, sizeof(addr));
                c->rest_addr_ok = true;
            } else {
                conn_log(c, FEED_LOG_WARN, "cannot resolve REST host %s", c->rurl.host);
            }
            for (int i = 0; i < REST_MAX; i++)
                if (c->rest[i].state == REST_WAIT_ADDR) {
                    if (c->rest_addr_ok)
                        rest_start(&c->rest[i]);
                    else
                        c->rest[i].state = REST_FAIL_PENDING;
                }
        } else if (get_state(c) == FEED_CONN_RESOLVING) {
            if (err) {
                conn_down(c, "DNS lookup failed");
                continue;
            }
            memcpy(c->ws_addr, addr, sizeof(addr));
            conn_connect(c);
        }
    }
}

/* ---------- REST ---------- */

static void rest_finish(rest_req_t *r, int status)
{
    feed_conn_t *c = r->c;
    if (r->done || r->state == REST_FREE)
        return;
    r->done = true;
    if (r->wsi)
        lws_set_opaque_user_data(r->wsi, NULL); /* later callbacks of that socket: ignored */
    r->wsi = NULL;
    if (c->loop->stopping) {
        r->state = REST_FREE;
        return;
    }
    if (r->overflow)
        status = 0;
    if (r->gen != c->gen || !c->opened) {
        TG_STAT_INC(c->ts.rest_dropped);
    } else {
        if (status == 200)
            TG_STAT_INC(c->ts.rest_ok);
        else {
            TG_STAT_INC(c->ts.rest_fail);
            conn_log(c, FEED_LOG_WARN, "REST GET %s -> status %d", r->path, status);
        }
        if (!r->body)
            r->body = malloc(1), r->cap = 1;
        if (r->body)
            r->body[r->len] = 0;
        int64_t tr = tg_clock_realtime_ns(), tm = tg_clock_mono_ns();
        if (c->cfg.capture)
            feed_capture_rest(c->cfg.capture, tr, r->path, r->tag, status, r->body, r->len);
        TG_STAT_INC(c->stats.frames);
        TG_STAT_ADD(c->stats.bytes, r->len);
        if (c->venue->on_rest &&
            c->venue->on_rest(&c->h, r->tag, status, r->body ? r->body : "", r->len, tr, tm) < 0)
            TG_STAT_INC(c->ts.handler_errors);
        feed_flush(&c->h);
    }
    free(r->body);
    r->body = NULL;
    r->len = r->cap = 0;
    r->state = REST_FREE;
}

static void rest_start(rest_req_t *r)
{
    feed_conn_t *c = r->c;
    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof(ci));
    ci.context = c->loop->ctx;
    ci.vhost = c->vh;
    ci.address = c->rest_addr;
    ci.port = c->rurl.port;
    ci.path = r->path;
    ci.host = c->rurl.host;
    ci.origin = c->rurl.host;
    ci.method = "GET";
    ci.alpn = "http/1.1";
    ci.local_protocol_name = "tg-feed";
    ci.opaque_user_data = r;
    ci.pwsi = &r->wsi;
    if (c->rurl.tls) {
        ci.ssl_connection = LCCSCF_USE_SSL;
        if (c->cfg.tls_insecure)
            ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                                 LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
    }
    r->state = REST_INFLIGHT;
    if (!lws_client_connect_via_info(&ci) && !r->done && r->state == REST_INFLIGHT)
        rest_finish(r, 0);
}

static int rest_callback(rest_req_t *r, struct lws *wsi, enum lws_callback_reasons reason, void *in,
                         size_t len)
{
    feed_conn_t *c = r->c;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
        if (!c->loop->stopping)
            conn_log(c, FEED_LOG_WARN, "REST connect error: %s", in ? (const char *)in : "?");
        rest_finish(r, 0);
        return 0;
    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
        r->status = (int)lws_http_client_http_response(wsi);
        return 0;
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP: {
        char buf[LWS_PRE + 16384];
        char *p = buf + LWS_PRE;
        int n = (int)sizeof(buf) - LWS_PRE;
        if (lws_http_client_read(wsi, &p, &n) < 0)
            return -1;
        return 0;
    }
    case LWS_CALLBACK_RECEIVE_CLIENT_HTTP_READ:
        if (r->done)
            return -1;
        if (r->len + len > c->cfg.max_rest) {
            r->overflow = true;
            conn_log(c, FEED_LOG_ERROR, "REST body over %u bytes: dropped", c->cfg.max_rest);
            rest_finish(r, 0);
            return -1;
        }
        if (r->len + len + 1 > r->cap) {
            size_t nc = r->cap ? r->cap : 65536;
            while (nc < r->len + len + 1)
                nc *= 2;
            char *nb = realloc(r->body, nc);
            if (!nb) {
                r->overflow = true;
                rest_finish(r, 0);
                return -1;
            }
            r->body = nb, r->cap = nc;
        }
        memcpy(r->body + r->len, in, len);
        r->len += len;
        return 0;
    case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
        rest_finish(r, r->status);
        return -1; /* one request per connection */
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
        rest_finish(r, 0);
        return 0;
    default:
        return 0;
    }
}

/* ---------- websocket ---------- */

static void deliver(feed_conn_t *c, char *buf, size_t len)
{
    int64_t tr = tg_clock_realtime_ns(), tm = tg_clock_mono_ns();
    TG_STAT_INC(c->stats.frames);
    TG_STAT_ADD(c->stats.bytes, len);
    c->last_frame_mono = c->last_rx_mono = tm;
    c->ping_out = false;
    atomic_store_explicit(&c->last_frame_ns, tr, memory_order_relaxed);
    c->got_frame = true;
    buf[len] = 0;
    if (c->cfg.on_raw)
        c->cfg.on_raw(c->cfg.raw_ctx, c, tr, buf, len);
    if (c->cfg.capture)
        feed_capture_frame(c->cfg.capture, tr, buf, len);
    if (c->venue->on_frame(&c->h, buf, len, tr, tm) < 0)
        TG_STAT_INC(c->ts.handler_errors);
    feed_flush(&c->h);
}

static int ws_receive(feed_conn_t *c, struct lws *wsi, const char *in, size_t len)
{
    bool first = lws_is_first_fragment(wsi) != 0;
    bool final = lws_is_final_fragment(wsi) != 0;
    bool whole = final && lws_remaining_packet_payload(wsi) == 0;
    if (first) {
        c->rx_len = 0;
        c->rx_skip = false;
    }
    if (c->rx_skip || c->want_close)
        return c->want_close ? -1 : 0;
    if (c->rx_len + len > c->cfg.max_msg) {
        TG_STAT_INC(c->ts.oversized);
        conn_log(c, FEED_LOG_ERROR, "message over %u bytes (max_msg): resetting connection",
                 c->cfg.max_msg);
        c->rx_skip = true;
        c->rx_len = 0;
        request_close(c, "oversized message");
        return -1;
    }
    if (c->rx_len + len + 1 > c->rx_cap) {
        size_t nc = c->rx_cap ? c->rx_cap : 4096;
        while (nc < c->rx_len + len + 1)
            nc *= 2;
        if (nc > (size_t)c->cfg.max_msg + 1)
            nc = (size_t)c->cfg.max_msg + 1;
        char *nb = realloc(c->rx, nc);
        if (!nb) {
            request_close(c, "out of memory for a message");
            return -1;
        }
        c->rx = nb, c->rx_cap = nc;
    }
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (!whole) {
        if (first)
            TG_STAT_INC(c->ts.frags);
        return 0;
    }
    c->in_rx = true;
    size_t n = c->rx_len;
    c->rx_len = 0;
    deliver(c, c->rx, n);
    c->in_rx = false;
    return c->want_close ? -1 : 0;
}

static int ws_writeable(feed_conn_t *c, struct lws *wsi)
{
    if (c->want_close) {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_GOINGAWAY, NULL, 0);
        return -1;
    }
    if (!c->tx_n)
        return 0;
    txmsg_t *m = &c->txq[c->tx_head];
    int w = lws_write(wsi, m->buf + LWS_PRE, m->len, m->ping ? LWS_WRITE_PING : LWS_WRITE_TEXT);
    if (w < (int)m->len) {
        conn_log(c, FEED_LOG_ERROR, "write failed");
        return -1;
    }
    if (!m->ping) {
        TG_STAT_INC(c->ts.tx_frames);
        TG_STAT_ADD(c->ts.tx_bytes, m->len);
    }
    free(m->buf);
    m->buf = NULL;
    c->tx_head = (c->tx_head + 1) % TXQ_MAX;
    c->tx_n--;
    if (c->tx_n)
        lws_callback_on_writable(wsi);
    return 0;
}

static void ws_established(feed_conn_t *c)
{
    int64_t now = tg_clock_mono_ns();
    set_state(c, FEED_CONN_OPEN);
    TG_STAT_INC(c->ts.connects);
    if (TG_STAT_GET(c->ts.connects) > 1)
        TG_STAT_INC(c->stats.reconnects);
    c->opened = true;
    c->got_frame = false;
    c->open_mono = c->last_frame_mono = c->last_rx_mono = now;
    c->next_tick = now + TICK_NS;
    c->rx_len = 0;
    c->rx_skip = false;
    if (c->cfg.capture)
        feed_capture_begin(c->cfg.capture, c->venue->name, c->cfg.url, c->symbols_csv);
    conn_log(c, FEED_LOG_INFO, "connected to %s (%s)", c->cfg.url, c->ws_addr);
    c->in_rx = true; /* a reconnect asked from on_open closes via the return code */
    if (c->venue->on_open(&c->h) < 0)
        TG_STAT_INC(c->ts.handler_errors);
    c->in_rx = false;
    feed_flush(&c->h);
}

static int ws_callback(feed_conn_t *c, struct lws *wsi, enum lws_callback_reasons reason, void *in,
                       size_t len)
{
    if (c->loop->stopping) {
        if (reason == LWS_CALLBACK_CLIENT_CLOSED || reason == LWS_CALLBACK_CLIENT_CONNECTION_ERROR)
            c->wsi = NULL;
        return 0;
    }
    if (c->wsi && wsi != c->wsi)
        return 0; /* not the current socket */
    feed_conn_state_t st = get_state(c);
    if (st != FEED_CONN_CONNECTING && st != FEED_CONN_OPEN)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        char why[200];
        snprintf(why, sizeof(why), "%s", in ? (const char *)in : "connection error");
        conn_down(c, why);
        return 0;
    }
    case LWS_CALLBACK_CLIENT_ESTABLISHED:
        ws_established(c);
        return c->want_close ? -1 : 0;
    case LWS_CALLBACK_CLIENT_RECEIVE:
        return ws_receive(c, wsi, in, len);
    case LWS_CALLBACK_CLIENT_RECEIVE_PONG:
        TG_STAT_INC(c->ts.pongs);
        c->last_rx_mono = tg_clock_mono_ns();
        c->ping_out = false;
        return 0;
    case LWS_CALLBACK_CLIENT_WRITEABLE:
        return ws_writeable(c, wsi);
    case LWS_CALLBACK_CLIENT_CLOSED:
        conn_down(c, c->want_close ? "closed by us" : "closed by peer");
        return 0;
    case LWS_CALLBACK_WSI_DESTROY:
        if (wsi == c->wsi)
            conn_down(c, "socket destroyed");
        return 0;
    default:
        return 0;
    }
}

static int proto_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                          size_t len)
{
    if (reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED) {
        feed_loop_t *l = lws_context_user(lws_get_context(wsi));
        if (l && !l->stopping)
            resolve_drain(l);
        return 0;
    }
    void *op = wsi ? lws_get_opaque_user_data(wsi) : NULL;
    if (!op)
        return 0;
    uint32_t kind = *(const uint32_t *)op;
    if (kind == KIND_WS)
        return ws_callback(op, wsi, reason, in, len);
    if (kind == KIND_REST)
        return rest_callback(op, wsi, reason, in, len);
    return 0;
}

/* ---------- housekeeping timer ---------- */

static void conn_housekeep(feed_conn_t *c, int64_t now)
{
    for (int i = 0; i < REST_MAX; i++)
        if (c->rest[i].state == REST_FAIL_PENDING)
            rest_finish(&c->rest[i], 0);
    if (c->gap_pending)
        push_gaps(c);
    switch (get_state(c)) {
    case FEED_CONN_IDLE:
        attempt_start(c);
        break;
    case FEED_CONN_BACKOFF:
        if (now >= c->deadline)
            attempt_start(c);
        break;
    case FEED_CONN_RESOLVING:
        if (now >= c->deadline)
            conn_down(c, "DNS timeout");
        break;
    case FEED_CONN_CONNECTING:
        if (now >= c->deadline && c->wsi && !c->want_close)
            request_close(c, "connect timeout");
        break;
    case FEED_CONN_OPEN:
        if (c->want_close)
            break;
        if (now >= c->next_tick) {
            c->next_tick = now + TICK_NS;
            if (c->venue->on_tick) {
                c->venue->on_tick(&c->h, now);
                feed_flush(&c->h);
            }
        }
        if (c->cfg.stale_ms && now - c->last_frame_mono > (int64_t)c->cfg.stale_ms * TG_NS_PER_MS) {
            TG_STAT_INC(c->ts.stale);
            request_close(c, "stale: no frame within stale_ms");
            break;
        }
        if (c->cfg.ping_ms) {
            int64_t pi = (int64_t)c->cfg.ping_ms * TG_NS_PER_MS;
            if (c->ping_out && now - c->ping_mono > pi) {
                request_close(c, "no pong");
            } else if (!c->ping_out && now - c->last_rx_mono > pi) {
                if (tx_push(c, "", 0, true) == 0) {
                    TG_STAT_INC(c->ts.pings);
                    c->ping_out = true;
                    c->ping_mono = now;
                }
            }
        }
        break;
    default:
        break;
    }
}

static void loop_tick(lws_sorted_usec_list_t *sul)
{
    feed_loop_t *l = lws_container_of(sul, feed_loop_t, sul);
    if (l->stopping)
        return;
    resolve_drain(l);
    int64_t now = tg_clock_mono_ns();
    for (size_t i = 0; i < l->n; i++)
        conn_housekeep(l->conns[i], now);
    lws_sul_schedule(l->ctx, 0, &l->sul, loop_tick, (lws_usec_t)l->cfg.tick_ms * 1000);
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
    *out = l;
    return 0;
}

static void conn_free(feed_conn_t *c)
{
    if (!c)
        return;
    if (c->h.vstate && c->venue && c->venue->deinit)
        c->venue->deinit(&c->h);
    tx_clear(c);
    for (int i = 0; i < REST_MAX; i++)
        free(c->rest[i].body);
    free(c->rx);
    free(c->evbuf);
    free(c->instr);
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
    /* symbols -> instrument ids, and a comma list for captures */
    size_t csv = 1;
    for (size_t i = 0; i < cfg->n_symbols; i++)
        csv += strlen(cfg->symbols[i]) + 1;
    c->symbols_csv = calloc(1, csv);
    c->instr = calloc(cfg->n_symbols ? cfg->n_symbols : 1, sizeof(*c->instr));
    c->evbuf = calloc(cfg->out_cap, sizeof(*c->evbuf));
    if (!c->symbols_csv || !c->instr || !c->evbuf)
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
    h->out.flush = conn_flush;
    h->out.ctx = c;
    h->stats = &c->stats;
    h->send = svc_send;
    h->rest_get = svc_rest_get;
    h->reconnect = svc_reconnect;
    h->tctx = c;
    h->log = hlog;
    h->lctx = c;
    c->rng = 0x9E3779B97F4A7C15ull ^ ((uint64_t)tg_clock_mono_ns() + c->idx * 7919u);
    if (v->init && (rc = v->init(h)) < 0) {
        h->vstate = NULL;
        goto fail;
    }
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

static void *loop_main(void *arg)
{
    feed_loop_t *l = arg;
    char tn[16];
    snprintf(tn, sizeof(tn), "feed:%.10s", l->name);
    pthread_setname_np(pthread_self(), tn);
    lws_sul_schedule(l->ctx, 0, &l->sul, loop_tick, 1000);
    while (!atomic_load_explicit(&l->stop, memory_order_acquire))
        lws_service(l->ctx, 0);
    /* Shutdown: books of open connections become STALE; flush everything. */
    l->stopping = true;
    lws_sul_cancel(&l->sul);
    int64_t tr = tg_clock_realtime_ns(), tm = tg_clock_mono_ns();
    for (size_t i = 0; i < l->n; i++) {
        feed_conn_t *c = l->conns[i];
        if (c->opened) {
            c->opened = false;
            c->venue->on_close(&c->h, tr, tm);
        }
        feed_flush(&c->h);
        if (c->gap_pending)
            push_gaps(c);
        if (c->cfg.capture)
            feed_capture_finish(c->cfg.capture);
        set_state(c, FEED_CONN_STOPPED);
    }
    return NULL;
}

static void resolver_wake(void *ctx)
{
    feed_loop_t *l = ctx;
    lws_cancel_service(l->ctx);
}

int feed_loop_start(feed_loop_t *l)
{
    if (!l)
        return -EINVAL;
    if (l->started)
        return -EBUSY;
    /* R2: publishes l->cfg; pairs with the acquire in lws_log_emit(). */
    atomic_store_explicit(&g_log_loop, l, memory_order_release);
    lws_set_log_level(LLL_ERR, lws_log_emit);
    l->protocols[0].name = "tg-feed";
    l->protocols[0].callback = proto_callback;
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
            conn_log(c, FEED_LOG_ERROR, "cannot create lws vhost (CA file %s)",
                     c->ca_s ? c->ca_s : "(system)");
            goto fail;
        }
    }
    int rc = feed_resolver_create(&l->res, resolver_wake, l);
    if (rc < 0)
        goto fail_rc;
    atomic_store_explicit(&l->stop, false, memory_order_relaxed);
    rc = pthread_create(&l->th, NULL, loop_main, l);
    if (rc != 0) {
        rc = -rc;
        goto fail_rc;
    }
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

void feed_loop_stop(feed_loop_t *l)
{
    if (!l || !l->started || l->joined)
        return;
    /* R1: pairs with the acquire load in loop_main(). */
    atomic_store_explicit(&l->stop, true, memory_order_release);
    lws_cancel_service(l->ctx);
    pthread_join(l->th, NULL);
    l->joined = true;
    feed_resolver_destroy(&l->res);
    lws_context_destroy(l->ctx); /* callbacks see l->stopping */
    l->ctx = NULL;
}

void feed_loop_destroy(feed_loop_t **lp)
{
    if (!lp || !*lp)
        return;
    feed_loop_t *l = *lp;
    feed_loop_stop(l);
    for (size_t i = 0; i < l->n; i++)
        conn_free(l->conns[i]);
    free(l->conns);
    free(l);
    *lp = NULL;
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
    st->state = get_state(c);
    st->last_frame_ns = atomic_load_explicit(&c->last_frame_ns, memory_order_relaxed);
    st->since_ns = atomic_load_explicit(&c->since_ns, memory_order_relaxed);
    st->attempt = atomic_load_explicit(&c->attempt_pub, memory_order_relaxed);
}

const char *feed_conn_name(const feed_conn_t *c)
{
    return c->name;
}

void feed_conn_reconnect(feed_conn_t *c, const char *why)
{
    svc_reconnect(c, why);
}
