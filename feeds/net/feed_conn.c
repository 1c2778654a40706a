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
 * lws 4.1); REST GETs are lws HTTP client connections on the same vhost (feed_rest_client.c:
 * queued per connection, paced per venue by feed_rest_pace.h).
 *
 * Data path (per received message): reassemble fragments into c->rx (bounded by max_msg;
 * over it: counted, logged, connection reset), NUL-terminate, stamp (realtime + monotonic),
 * optional raw hook / capture, venue->on_frame, then feed_flush() pushes the handler's
 * events into the ring with tg_ring_spsc_push_n(). No allocation or lock per message (c->rx
 * only grows, up to max_msg).
 * Venues with FEED_WIRE_GZIP (HTX) send each message as a binary frame holding one gzip
 * stream: it is inflated into c->rx right after the compressed bytes (so c->rx grows to hold
 * both, the text bounded by max_msg) and the text goes on as above; raw hook and capture see
 * the text, as recordings store it. A frame that does not inflate is counted as a frame the
 * handler rejected (frames, err_json: counted once) and dropped. zlib allocates its state
 * per message (inflateInit2/inflateEnd, ~10 KB); HTX rates make that negligible.
 *
 * Ring full: the events go, in order, into the connection's overflow (feed_ovf.h: mapped only
 * during a burst, growing up to cfg.ring_overflow events, unmapped OVF_LINGER_NS after it
 * drained); while it holds events every flush pushes them into the ring before any new one,
 * and a loop timer does so every OVF_RETRY_US (an idle feed's held events still arrive
 * within ms). Episodes are counted (ts.ovf) and logged. Ring and overflow full: retry with
 * doubling sleeps (20 us .. 2 ms) up to ring_wait_us in total (at most 50 ms), then drop
 * the rest of the batch and what the overflow holds, count ring_full (episodes) and
 * ev_dropped (events), and enter `gap_pending`: later flushes first push one TG_EV_GAP per
 * instrument of the connection (dropping everything else until all GAPs are in, without sleeping),
 * and the connection is reconnected so the handler resyncs from scratch. If events of that newer
 * connection are dropped too while the GAPs wait (its snapshots may be among them), it is
 * reconnected once more after the GAPs went in. A book therefore never silently diverges: it
 * sees GAP (-> RESYNCING) and then a fresh snapshot.
 *
 * Timers: one lws sul per loop every tick_ms runs DNS answers, backoff expiry, connect
 * timeouts, the stale timer, pings, on_tick (every 1 s), builder resync requests (cfg.resync)
 * and pending GAPs.
 *
 * Shutdown: the loop thread leaves lws_service() when `stop` is seen, calls on_close for open
 * connections (their books get STALE), flushes, and exits; feed_loop_stop() joins it, then
 * destroys the lws context (callbacks during destruction see `stopping` and do nothing).
 */
#include "feeds/net/feed_conn.h"

#include <errno.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "book/tg_resync.h"

#include "book/tg_clock.h"
#include "book/tg_err.h"
#include "feeds/rec/feed_capture.h"
#include "feeds/net/feed_conn_impl.h"
#include "feeds/net/feed_resolve.h"
#include "feeds/net/feed_tls.h"

/* ---------- small helpers ---------- */

void feed_conn__set_state(feed_conn_t *c, feed_conn_state_t s)
{
    atomic_store_explicit(&c->since_ns, tg_clock_realtime_ns(), memory_order_relaxed);
    atomic_store_explicit(&c->state, (int)s, memory_order_relaxed);
}

feed_conn_state_t feed_conn__get_state(const feed_conn_t *c)
{
    return (feed_conn_state_t)atomic_load_explicit(&c->state, memory_order_relaxed);
}

/* Rate-limited log: at most 20 lines per connection per second; the rest are counted and
 * reported with the next line that gets through. */
void feed_conn__log(feed_conn_t *c, int level, const char *fmt, ...)
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

void feed_conn__hlog(void *ctx, int level, const char *msg)
{
    feed_conn__log(ctx, level, "%s", msg);
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
static void request_close(feed_conn_t *c, const char *why);

bool feed_conn__push_gaps(feed_conn_t *c)
{
    while (c->gap_next < c->h.n_instr) {
        tg_event_t ev = gap_event(c->h.instr[c->gap_next]);
        if (!tg_ring_spsc_push(c->cfg.ring, &ev))
            return false;
        TG_STAT_INC(c->ts.gap_marks);
        c->gap_next++;
    }
    c->gap_pending = false;
    if (c->gap_resync) {
        /* the newer connection's snapshot may have been among the dropped events */
        c->gap_resync = false;
        request_close(c, "resync after ring overflow");
    }
    return true;
}

static void request_close(feed_conn_t *c, const char *why);

/* Overflow held somewhere on the loop: push it into the rings every OVF_RETRY_US, so an idle
 * feed's held events reach the builder within a few ms (the housekeeping tick is 100 ms). */
static void ovf_tick(lws_sorted_usec_list_t *sul)
{
    feed_loop_t *l = lws_container_of(sul, feed_loop_t, osul);
    l->ovf_armed = false;
    if (l->stopping)
        return;
    bool held = false;
    for (size_t i = 0; i < l->n; i++) {
        feed_conn_t *c = l->conns[i];
        if (feed_ovf_held(&c->ovf) && feed_ovf_drain(&c->ovf, c->cfg.ring))
            held = true;
    }
    if (held) {
        l->ovf_armed = true;
        lws_sul_schedule(l->ctx, 0, &l->osul, ovf_tick, OVF_RETRY_US);
    }
}

static void ovf_arm(feed_conn_t *c)
{
    feed_loop_t *l = c->loop;
    if (l->ovf_armed || l->stopping || !l->ctx)
        return;
    l->ovf_armed = true;
    lws_sul_schedule(l->ctx, 0, &l->osul, ovf_tick, OVF_RETRY_US);
}

/* Ring, then overflow (in order); a new episode is logged once. */
static uint32_t push_events(feed_conn_t *c, const tg_event_t *ev, uint32_t n)
{
    uint64_t ep = TG_STAT_GET(c->ts.ovf.episodes);
    uint32_t done = feed_ovf_push(&c->ovf, c->cfg.ring, ev, n);
    if (feed_ovf_held(&c->ovf)) {
        ovf_arm(c);
        if (TG_STAT_GET(c->ts.ovf.episodes) != ep)
            feed_conn__log(c, FEED_LOG_WARN,
                           "ring full (%u events): holding events in an overflow of up to %u "
                           "more until the builder catches up",
                           tg_ring_capacity(c->cfg.ring), c->ovf.max);
    }
    return done;
}

void feed_conn__ovf_final(feed_conn_t *c, int64_t deadline)
{
    int64_t nap = 20 * TG_NS_PER_US;
    /* the builder still runs while the feeds stop: held events are worth waiting for, up to
       the loop's shared deadline (a stuck builder costs the stop OVF_FINAL_NS at most) */
    while (feed_ovf_drain(&c->ovf, c->cfg.ring) && tg_clock_mono_ns() < deadline) {
        struct timespec t = {0, (long)nap};
        nanosleep(&t, NULL);
        if (nap < 2 * TG_NS_PER_MS)
            nap *= 2;
    }
    uint32_t lost = feed_ovf_discard(&c->ovf);
    if (lost) {
        TG_STAT_ADD(c->ts.ev_dropped, lost);
        feed_conn__log(c, FEED_LOG_ERROR,
                       "stop: %u events still held in the ring overflow after %lld ms: dropped",
                       lost, (long long)(OVF_FINAL_NS / TG_NS_PER_MS));
    }
    feed_ovf_free(&c->ovf);
}

int feed_conn__flush(void *ctx, const tg_event_t *ev, uint32_t n)
{
    feed_conn_t *c = ctx;
    if (c->gap_pending && !feed_conn__push_gaps(c)) {
        TG_STAT_ADD(c->ts.ev_dropped, n);
        if (c->gen != c->gap_gen)
            c->gap_resync = true;
        return TG_EFULL;
    }
    uint32_t done = push_events(c, ev, n);
    if (done == n)
        return 0;
    int64_t waited = 0, nap = 20 * TG_NS_PER_US;
    while (done < n && waited < (int64_t)c->cfg.ring_wait_us * TG_NS_PER_US) {
        struct timespec t = {0, (long)nap};
        nanosleep(&t, NULL);
        waited += nap;
        if (nap < 2 * TG_NS_PER_MS)
            nap *= 2;
        done += push_events(c, ev + done, n - done);
    }
    if (done == n)
        return 0;
    /* The books resync: what the overflow holds is useless now, and the GAPs go in sooner. */
    uint32_t held = feed_ovf_discard(&c->ovf);
    TG_STAT_INC(c->stats.ring_full);
    TG_STAT_ADD(c->ts.ev_dropped, n - done + held);
    feed_conn__log(c, FEED_LOG_ERROR,
                   "ring full for %lld us (overflow full too): dropped %u events (%u of them "
                   "held in the overflow), marking %u books GAP and resyncing",
                   (long long)(waited / TG_NS_PER_US), n - done + held, held, c->h.n_instr);
    c->gap_pending = true;
    c->gap_next = 0;
    c->gap_gen = c->gen;
    feed_conn__push_gaps(c);
    request_close(c, "ring full");
    return TG_EFULL;
}

/* ---------- transport services for the handler ---------- */

static int tx_push(feed_conn_t *c, const char *text, size_t len, bool ping)
{
    if (!c->wsi || feed_conn__get_state(c) != FEED_CONN_OPEN || c->want_close) {
        TG_STAT_INC(c->ts.tx_dropped);
        return -ENOTCONN;
    }
    if (c->tx_n == TXQ_MAX) {
        TG_STAT_INC(c->ts.tx_dropped);
        feed_conn__log(c, FEED_LOG_WARN, "send queue full (%d frames): frame dropped", TXQ_MAX);
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

void feed_conn__tx_clear(feed_conn_t *c)
{
    while (c->tx_n) {
        free(c->txq[c->tx_head].buf);
        c->txq[c->tx_head].buf = NULL;
        c->tx_head = (c->tx_head + 1) % TXQ_MAX;
        c->tx_n--;
    }
    c->tx_head = 0;
}

int feed_conn__send(void *tctx, const char *text, size_t len)
{
    feed_conn_t *c = tctx;
    int rc = tx_push(c, text, len, false);
    if (rc == 0 && c->cfg.capture)
        feed_capture_sent(c->cfg.capture, text, len);
    return rc;
}

/* Did the builder ask for a resync of one of our instruments since we last (re)opened? */
static bool resync_wanted(feed_conn_t *c)
{
    for (uint32_t i = 0; i < c->h.n_instr; i++)
        if (tg_resync_get(c->cfg.resync, c->instr[i]) != c->resync_seen[i])
            return true;
    return false;
}

void feed_conn__reconnect(void *tctx, const char *why)
{
    feed_conn_t *c = tctx;
    TG_STAT_INC(c->stats.resyncs);
    request_close(c, why ? why : "handler asked");
}

/* ---------- lifecycle ---------- */

static void conn_connect(feed_conn_t *c);
static void ws_resolve(feed_conn_t *c);
static void pre_start(feed_conn_t *c);

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
    feed_conn__set_state(c, FEED_CONN_BACKOFF);
}

/* The websocket ended (established or not). Notify the handler, plan the next attempt. */
static void conn_down(feed_conn_t *c, const char *why)
{
    if (c->wsi)
        lws_set_opaque_user_data(c->wsi, NULL); /* later callbacks of that socket: ignored */
    c->wsi = NULL;
    c->want_close = false;
    c->ping_out = false;
    feed_conn__tx_clear(c);
    if (c->opened) {
        int64_t now = tg_clock_mono_ns();
        c->opened = false;
        TG_STAT_INC(c->ts.closes);
        if (now - c->open_mono >= STABLE_NS)
            c->attempt = 0;
        feed_close(&c->h, tg_clock_realtime_ns(), now);
        feed_flush(&c->h);
        feed_conn__log(c, FEED_LOG_WARN, "connection closed (%s)", why);
    } else {
        TG_STAT_INC(c->ts.connect_errors);
        feed_conn__log(c, FEED_LOG_WARN, "connect failed (%s)", why);
    }
    c->gen++; /* orphan DNS and REST answers of this attempt */
    if (c->loop->stopping) {
        feed_conn__set_state(c, FEED_CONN_STOPPED);
        return;
    }
    schedule_backoff(c);
}

static void request_close(feed_conn_t *c, const char *why)
{
    feed_conn_state_t s = feed_conn__get_state(c);
    if (s != FEED_CONN_OPEN && s != FEED_CONN_CONNECTING)
        return;
    if (c->want_close || !c->wsi)
        return;
    c->want_close = true;
    feed_conn__log(c, FEED_LOG_WARN, "closing connection: %s", why);
    if (!c->in_rx) /* inside the receive callback, returning -1 closes it */
        lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

/* Host header: "host" or "host:port" for a non-default port (RFC 7230 5.4). lws strips the
 * ":port" for SNI and the certificate name check. IPv6 literals go bare. */
const char *feed_conn__host_header(char *buf, size_t cap, const feed_url_t *u)
{
    bool dflt = u->port == (u->tls ? 443 : 80);
    if (dflt || strchr(u->host, ':'))
        return u->host;
    snprintf(buf, cap, "%s:%d", u->host, u->port);
    return buf;
}

void feed_conn__client_info(const feed_conn_t *c, struct lws_client_connect_info *ci,
                            const feed_url_t *u, const char *addr, const char *path, char *hp,
                            size_t cap, void *user, struct lws **pwsi)
{
    memset(ci, 0, sizeof(*ci));
    ci->context = c->loop->ctx;
    ci->vhost = c->vh;
    ci->address = addr;
    ci->port = u->port;
    ci->path = path;
    ci->host = feed_conn__host_header(hp, cap, u);
    ci->origin = u->host;
    ci->local_protocol_name = "tg-feed";
    ci->opaque_user_data = user;
    ci->pwsi = pwsi;
    if (u->tls) {
        ci->ssl_connection |= LCCSCF_USE_SSL;
        if (c->cfg.tls_insecure)
            ci->ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                                  LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
    }
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
    feed_conn__set_state(c, FEED_CONN_RESOLVING);
    if (c->has_rest) {
        if (feed_host_is_numeric(c->rurl.host)) {
            snprintf(c->rest_addr, sizeof(c->rest_addr), "%.63s", c->rurl.host);
            c->rest_addr_ok = true;
        } else if (feed_resolve_submit(c->loop->res, rkey(c, 1), c->rurl.host) == 0) {
            c->resolving++;
        }
    }
    if (c->venue->connect_post) { /* the websocket URL comes from the connect step */
        if (!c->has_rest)
            conn_down(c, "the venue's connect step needs a REST host");
        else if (c->rest_addr_ok)
            pre_start(c);
        else if (!c->resolving)
            conn_down(c, "resolver queue full");
        return;
    }
    ws_resolve(c);
}

/* Resolve (or take) the websocket host of c->url, then connect. */
static void ws_resolve(feed_conn_t *c)
{
    if (feed_host_is_numeric(c->url.host)) {
        snprintf(c->ws_addr, sizeof(c->ws_addr), "%.63s", c->url.host);
        conn_connect(c);
    } else if (feed_resolve_submit(c->loop->res, rkey(c, 0), c->url.host) == 0) {
        c->resolving++;
    } else {
        conn_down(c, "resolver queue full");
    }
}

/* The venue's connect step (feed_rest_client.c); no slot ends the attempt. */
static void pre_start(feed_conn_t *c)
{
    if (feed_rest__pre_start(c) < 0)
        conn_down(c, "no REST slot for the connect step");
}

/* The connect step's answer: the venue gives this attempt's websocket URL. */
void feed_conn__pre_answer(feed_conn_t *c, int status, const char *body, size_t len)
{
    char url[FEED_HOST_MAX + FEED_PATH_MAX + 16];
    int rc = c->venue->on_connect_answer
                 ? c->venue->on_connect_answer(&c->h, status, body, len, url, sizeof(url))
                 : TG_EPROTO;
    if (rc < 0 || feed_url_parse(&c->url, url) < 0) {
        feed_conn__log(c, FEED_LOG_WARN, "connect step POST %s: status %d, no usable URL",
                       c->venue->connect_post, status);
        conn_down(c, "connect step failed");
        return;
    }
    ws_resolve(c);
}

static void conn_connect(feed_conn_t *c)
{
    if (feed_conn__get_state(c) != FEED_CONN_RESOLVING)
        return;
    struct lws_client_connect_info ci;
    char hp[FEED_HOST_MAX + 8];
    feed_conn__client_info(c, &ci, &c->url, c->ws_addr, c->url.path, hp, sizeof(hp), c, &c->wsi);
    feed_conn__set_state(c, FEED_CONN_CONNECTING);
    uint32_t gen = c->gen;
    if (!lws_client_connect_via_info(&ci) && c->gen == gen &&
        feed_conn__get_state(c) == FEED_CONN_CONNECTING) {
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
                feed_conn__log(c, FEED_LOG_WARN, "cannot resolve REST host %s", c->rurl.host);
            }
            feed_rest__pump(c);
            if (c->venue->connect_post && feed_conn__get_state(c) == FEED_CONN_RESOLVING) {
                if (c->rest_addr_ok)
                    pre_start(c);
                else
                    conn_down(c, "cannot resolve the REST host for the connect step");
            }
        } else if (feed_conn__get_state(c) == FEED_CONN_RESOLVING) {
            if (err) {
                conn_down(c, "DNS lookup failed");
                continue;
            }
            memcpy(c->ws_addr, addr, sizeof(addr));
            conn_connect(c);
        }
    }
}

/* ---------- websocket ---------- */

static void deliver(feed_conn_t *c, char *buf, size_t len)
{
    int64_t tr = tg_clock_realtime_ns(), tm = tg_clock_mono_ns();
    TG_STAT_INC(c->ts.rx_frames);
    TG_STAT_ADD(c->ts.rx_bytes, len);
    c->last_frame_mono = c->last_rx_mono = tm;
    c->ping_out = false;
    atomic_store_explicit(&c->last_frame_ns, tr, memory_order_relaxed);
    c->got_frame = true;
    buf[len] = 0;
    if (c->cfg.on_raw)
        c->cfg.on_raw(c->cfg.raw_ctx, c, tr, buf, len);
    if (c->cfg.capture)
        feed_capture_frame(c->cfg.capture, tr, buf, len);
    feed_deliver(&c->h, buf, len, tr, tm, &c->ts.handler_errors); /* bad input: err_* only */
    feed_flush(&c->h);
}

/* Inflate the gzip message c->rx[0..n) into c->rx[n..n + *out) (growing c->rx, the text at
 * most max_msg bytes). @return 0, -ENOMEM, -EMSGSIZE (over max_msg) or TG_EJSON (not gzip,
 * corrupt or truncated). */
static int rx_gunzip(feed_conn_t *c, size_t n, size_t *out)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 15 + 32) != Z_OK) /* 15 + 32: gzip or zlib header, detected */
        return -ENOMEM;
    size_t limit = n + (size_t)c->cfg.max_msg + 1, done = 0;
    int rc = 0;
    for (;;) {
        if (c->rx_cap <= n + done + 1) {
            if (c->rx_cap >= limit) {
                rc = -EMSGSIZE;
                break;
            }
            size_t nc = c->rx_cap * 2 > n + 4096 ? c->rx_cap * 2 : n * 4 + 4096;
            if (nc > limit)
                nc = limit;
            char *nb = realloc(c->rx, nc);
            if (!nb) {
                rc = -ENOMEM;
                break;
            }
            c->rx = nb, c->rx_cap = nc;
        }
        size_t room = c->rx_cap - n - done - 1;
        z.next_in = (Bytef *)c->rx + z.total_in;
        z.avail_in = (uInt)(n - z.total_in);
        z.next_out = (Bytef *)c->rx + n + done;
        z.avail_out = room > UINT32_MAX ? UINT32_MAX : (uInt)room;
        int zr = inflate(&z, Z_NO_FLUSH);
        done = z.total_out;
        if (zr == Z_STREAM_END)
            break;
        if ((zr != Z_OK && zr != Z_BUF_ERROR) || (z.avail_in == 0 && z.avail_out > 0)) {
            rc = TG_EJSON; /* corrupt, or the input ended before the stream did */
            break;
        }
    }
    inflateEnd(&z);
    *out = done;
    return rc;
}

/* A gzip message that did not inflate: counted like a frame the handler rejected. */
static void rx_gunzip_failed(feed_conn_t *c, size_t n, int rc)
{
    TG_STAT_INC(c->ts.rx_frames);
    TG_STAT_ADD(c->ts.rx_bytes, n);
    TG_STAT_INC(c->h.stats->frames);
    TG_STAT_ADD(c->h.stats->bytes, n);
    uint64_t k = TG_STAT_GET(c->h.stats->err_json); /* counted once: err_json */
    TG_STAT_INC(c->h.stats->err_json);
    if (k < 10 || k % 1000 == 0)
        feed_conn__log(c, FEED_LOG_WARN, "%zu-byte binary frame does not inflate (%s, %llu so far)",
                       n, tg_strerror(rc), (unsigned long long)k + 1);
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
        feed_conn__log(c, FEED_LOG_ERROR, "message over %u bytes (max_msg): resetting connection",
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
    if ((c->venue->wire & FEED_WIRE_GZIP) && lws_frame_is_binary(wsi)) {
        size_t text = 0;
        int rc = rx_gunzip(c, n, &text);
        if (rc < 0)
            rx_gunzip_failed(c, n, rc);
        else
            deliver(c, c->rx + n, text);
    } else {
        deliver(c, c->rx, n);
    }
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
        feed_conn__log(c, FEED_LOG_ERROR, "write failed");
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
    feed_conn__set_state(c, FEED_CONN_OPEN);
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
    feed_conn__log(c, FEED_LOG_INFO, "connected to %s (%s)", c->cfg.url, c->ws_addr);
    /* Everything the builder asked for so far is answered by this fresh connection. */
    if (c->cfg.resync)
        for (uint32_t i = 0; i < c->h.n_instr; i++)
            c->resync_seen[i] = tg_resync_get(c->cfg.resync, c->instr[i]);
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
    feed_conn_state_t st = feed_conn__get_state(c);
    if (st != FEED_CONN_CONNECTING && st != FEED_CONN_OPEN)
        return 0;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        char why[512], tls[320]; /* a refused certificate says which check failed */
        if (feed_tls_verify_failure(wsi, tls, sizeof(tls)))
            snprintf(why, sizeof(why), "%s; lws: %s", tls, in ? (const char *)in : "?");
        else
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

int feed_conn__proto_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
                              void *in, size_t len)
{
    if (reason == LWS_CALLBACK_EVENT_WAIT_CANCELLED) {
        feed_loop_t *l = lws_context_user(lws_get_context(wsi));
        if (l && !l->stopping)
            resolve_drain(l);
        return 0;
    }
    if (reason == LWS_CALLBACK_OPENSSL_PERFORM_SERVER_CERT_VERIFICATION) {
        feed_tls_verify_seen(wsi, user, len); /* sent to protocol 0: OpenSSL decides */
        return 0;
    }
    if (reason == LWS_CALLBACK_WSI_DESTROY)
        feed_tls_forget(wsi); /* after any CONNECTION_ERROR of this socket */
    void *op = wsi ? lws_get_opaque_user_data(wsi) : NULL;
    if (!op)
        return 0;
    uint32_t kind = *(const uint32_t *)op;
    if (kind == KIND_WS)
        return ws_callback(op, wsi, reason, in, len);
    if (kind == KIND_REST)
        return feed_rest__callback(op, wsi, reason, in, len);
    return 0;
}

/* ---------- housekeeping timer ---------- */

static void conn_housekeep(feed_conn_t *c, int64_t now)
{
    feed_rest__housekeep(c);
    uint32_t peak = 0;
    if (feed_ovf_idle(&c->ovf, now, OVF_LINGER_NS, &peak))
        feed_conn__log(c, FEED_LOG_INFO,
                       "ring overflow drained and released (held at most %u events, %u KiB)", peak,
                       (unsigned)(((uint64_t)peak * sizeof(tg_event_t)) >> 10));
    if (c->gap_pending)
        feed_conn__push_gaps(c);
    switch (feed_conn__get_state(c)) {
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
        if (c->cfg.resync && resync_wanted(c)) {
            TG_STAT_INC(c->ts.resync_requests);
            TG_STAT_INC(c->stats.resyncs);
            request_close(c, "resync requested by the builder (checksum mismatch or crossed book)");
            break;
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

void feed_conn__loop_tick(lws_sorted_usec_list_t *sul)
{
    feed_loop_t *l = lws_container_of(sul, feed_loop_t, sul);
    if (l->stopping)
        return;
    resolve_drain(l);
    int64_t now = tg_clock_mono_ns();
    for (size_t i = 0; i < l->n; i++)
        conn_housekeep(l->conns[i], now);
    lws_sul_schedule(l->ctx, 0, &l->sul, feed_conn__loop_tick, (lws_usec_t)l->cfg.tick_ms * 1000);
}
