/* SPDX-License-Identifier: MIT */
/*
 * REST client of the feed transport: the GETs a venue handler asks for with h->rest_get()
 * (snapshots) and the venue's connect step (POST connect_post), as lws HTTP client
 * connections on the connection's vhost, one request per HTTP connection. Answers of an
 * older connection generation are counted (rest_dropped) and dropped. The DESIGN note of
 * feed_conn.c covers the threads: everything here runs on the loop thread.
 */
#include <errno.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_clock.h"
#include "feeds/net/feed_conn_impl.h"
#include "feeds/net/feed_rest_pace.h"
#include "feeds/net/feed_tls.h"
#include "feeds/rec/feed_capture.h"

static void rest_start(rest_req_t *r);
static int pend_push(feed_conn_t *c, const char *path, uint64_t tag, uint32_t gen, bool front);

static void rest_release(rest_req_t *r)
{
    free(r->body);
    r->body = NULL;
    r->len = r->cap = 0;
    r->state = REST_FREE;
}

/* 429 (too many requests) or 418 (the IP is banned for a while): the whole venue waits what
 * Retry-After says, and this request goes back to the front of the queue. @return true when
 * the request was queued again (false: out of memory, delivered as the failure it is). */
static bool rest_throttled(rest_req_t *r, int status)
{
    feed_conn_t *c = r->c;
    uint32_t s = r->retry_s ? r->retry_s : FEED_REST_RETRY_DEFAULT_S;
    TG_STAT_INC(c->ts.rest_throttled);
    if (c->pace && feed_rest_pace_retry_after(c->pace, s, tg_clock_mono_ns()))
        TG_STAT_INC(c->ts.rest_retry_waits);
    if (pend_push(c, r->path, r->tag, r->gen, true) < 0)
        return false;
    feed_conn__log(c, FEED_LOG_WARN,
                   "REST GET %s -> %d: the venue asks to wait %u s (Retry-After); its requests "
                   "wait, %u queued here",
                   r->path, status, s, c->pend_n);
    rest_release(r);
    feed_rest__pump(c);
    return true;
}

void feed_rest__finish(rest_req_t *r, int status)
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
    if (r->paced) {
        feed_rest_pace_done(c->pace);
        r->paced = false;
    }
    if (r->overflow)
        status = 0;
    if (!r->pre && (status == 429 || status == 418) && r->gen == c->gen && c->opened &&
        rest_throttled(r, status))
        return;
    if (r->pre) {
        bool mine = r->gen == c->gen && feed_conn__get_state(c) == FEED_CONN_RESOLVING;
        if (r->body)
            r->body[r->len] = 0;
        r->pre = false;
        r->state = REST_FREE; /* before pre_answer: it may start requests */
        char *body = r->body;
        size_t blen = r->len;
        r->body = NULL;
        r->len = r->cap = 0;
        if (mine)
            feed_conn__pre_answer(c, status, body ? body : "", blen);
        free(body);
        return;
    }
    if (r->gen != c->gen || !c->opened) {
        TG_STAT_INC(c->ts.rest_dropped);
    } else {
        if (status == 200)
            TG_STAT_INC(c->ts.rest_ok);
        else {
            TG_STAT_INC(c->ts.rest_fail);
            feed_conn__log(c, FEED_LOG_WARN, "REST GET %s -> status %d", r->path, status);
        }
        if (!r->body)
            r->body = malloc(1), r->cap = 1;
        if (r->body)
            r->body[r->len] = 0;
        int64_t tr = tg_clock_realtime_ns(), tm = tg_clock_mono_ns();
        if (c->cfg.capture)
            feed_capture_rest(c->cfg.capture, tr, r->path, r->tag, status, r->body, r->len);
        TG_STAT_INC(c->ts.rx_rest);
        TG_STAT_ADD(c->ts.rx_bytes, r->len);
        if (c->venue->on_rest)
            feed_deliver_rest(&c->h, r->tag, status, r->body ? r->body : "", r->len, tr, tm,
                              &c->ts.handler_errors);
        feed_flush(&c->h);
    }
    rest_release(r);
    feed_rest__pump(c);
}

static void rest_start(rest_req_t *r)
{
    feed_conn_t *c = r->c;
    struct lws_client_connect_info ci;
    char hp[FEED_HOST_MAX + 8];
    feed_conn__client_info(c, &ci, &c->rurl, c->rest_addr, r->path, hp, sizeof(hp), r, &r->wsi);
    ci.method = r->pre ? "POST" : "GET";
    ci.alpn = "http/1.1";
    /* A redirect would make lws resolve its host on this thread: hand the 3xx to the handler. */
    ci.ssl_connection |= LCCSCF_HTTP_NO_FOLLOW_REDIRECT;
    r->state = REST_INFLIGHT;
    if (!lws_client_connect_via_info(&ci) && !r->done && r->state == REST_INFLIGHT)
        feed_rest__finish(r, 0);
}

int feed_rest__callback(rest_req_t *r, struct lws *wsi, enum lws_callback_reasons reason, void *in,
                        size_t len)
{
    feed_conn_t *c = r->c;
    switch (reason) {
    case LWS_CALLBACK_CLIENT_CONNECTION_ERROR: {
        char tls[320];
        bool refused = feed_tls_verify_failure(wsi, tls, sizeof(tls));
        if (!c->loop->stopping)
            feed_conn__log(c, FEED_LOG_WARN, "REST connect error: %s%s%s", refused ? tls : "",
                           refused ? "; lws: " : "", in ? (const char *)in : "?");
        feed_rest__finish(r, 0);
        return 0;
    }
    case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER:
        if (r->pre) { /* an empty POST body, said explicitly */
            unsigned char **p = (unsigned char **)in, *end = (*p) + len;
            if (lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH,
                                             (const unsigned char *)"0", 1, p, end))
                return -1;
        }
        return 0;
    case LWS_CALLBACK_ESTABLISHED_CLIENT_HTTP:
        r->status = (int)lws_http_client_http_response(wsi);
        if (r->status == 429 || r->status == 418) {
            char v[64];
            int n = lws_hdr_copy(wsi, v, (int)sizeof(v), WSI_TOKEN_HTTP_RETRY_AFTER);
            r->retry_s = feed_rest_pace_parse_retry_after(n > 0 ? v : NULL);
        }
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
            feed_conn__log(c, FEED_LOG_ERROR, "REST body over %u bytes: dropped", c->cfg.max_rest);
            feed_rest__finish(r, 0);
            return -1;
        }
        if (r->len + len + 1 > r->cap) {
            size_t nc = r->cap ? r->cap : 65536;
            while (nc < r->len + len + 1)
                nc *= 2;
            char *nb = realloc(r->body, nc);
            if (!nb) {
                r->overflow = true;
                feed_rest__finish(r, 0);
                return -1;
            }
            r->body = nb, r->cap = nc;
        }
        memcpy(r->body + r->len, in, len);
        r->len += len;
        return 0;
    case LWS_CALLBACK_COMPLETED_CLIENT_HTTP:
        feed_rest__finish(r, r->status);
        return -1; /* one request per connection */
    case LWS_CALLBACK_CLOSED_CLIENT_HTTP:
        feed_rest__finish(r, 0);
        return 0;
    default:
        return 0;
    }
}

/* A free slot set up for a request of this connection's current generation, or NULL. */
static rest_req_t *slot_take(feed_conn_t *c, uint64_t tag, bool pre)
{
    rest_req_t *r = NULL;
    for (int i = 0; i < REST_MAX && !r; i++)
        if (c->rest[i].state == REST_FREE)
            r = &c->rest[i];
    if (!r)
        return NULL;
    r->kind = KIND_REST;
    r->c = c;
    r->wsi = NULL;
    r->gen = c->gen;
    r->tag = tag;
    r->status = 0;
    r->done = r->overflow = false;
    r->pre = pre;
    r->paced = false;
    r->retry_s = 0;
    r->len = 0;
    return r;
}

/* The venue's connect step: POST connect_post on the REST host (its answer:
 * feed_conn__pre_answer), not paced. @return 0, or -EAGAIN when no slot is free. */
int feed_rest__pre_start(feed_conn_t *c)
{
    rest_req_t *r = slot_take(c, 0, true);
    if (!r)
        return -EAGAIN;
    snprintf(r->path, sizeof(r->path), "%s", c->venue->connect_post);
    rest_start(r);
    return 0;
}

/* Queue a GET (at the back, or at the front for a retry after 429/418). */
static int pend_push(feed_conn_t *c, const char *path, uint64_t tag, uint32_t gen, bool front)
{
    if (c->pend_n == c->pend_cap) {
        uint32_t nc = c->pend_cap ? c->pend_cap * 2 : 16;
        rest_pend_t *nb = malloc(nc * sizeof(*nb));
        if (!nb)
            return -ENOMEM;
        for (uint32_t i = 0; i < c->pend_n; i++)
            nb[i] = c->pend[(c->pend_head + i) % c->pend_cap];
        free(c->pend);
        c->pend = nb, c->pend_cap = nc, c->pend_head = 0;
    }
    size_t n = strlen(path) + 1;
    char *cp = malloc(n);
    if (!cp)
        return -ENOMEM;
    memcpy(cp, path, n);
    uint32_t at = front ? (c->pend_head + c->pend_cap - 1) % c->pend_cap
                        : (c->pend_head + c->pend_n) % c->pend_cap;
    c->pend[at] = (rest_pend_t){.path = cp, .tag = tag, .gen = gen};
    if (front)
        c->pend_head = at;
    c->pend_n++;
    TG_STAT_SET(c->ts.rest_queued, c->pend_n);
    return 0;
}

static void pend_pop(feed_conn_t *c)
{
    free(c->pend[c->pend_head].path);
    c->pend[c->pend_head].path = NULL;
    c->pend_head = (c->pend_head + 1) % c->pend_cap;
    c->pend_n--;
}

int feed_conn__rest_get(void *tctx, const char *path, uint64_t tag)
{
    feed_conn_t *c = tctx;
    if (!path || strlen(path) >= FEED_PATH_MAX - 256)
        return -EINVAL;
    char full[FEED_PATH_MAX];
    const char *base = c->rurl.path;
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    snprintf(full, sizeof(full), "%.*s%s%s", (int)bl, base, path[0] == '/' ? "" : "/", path);
    int rc = pend_push(c, full, tag, c->gen, false);
    if (rc < 0)
        return rc;
    feed_rest__pump(c);
    return 0;
}

/* Start queued GETs while the venue's pacer, a free slot and the REST host's address allow.
 * Called on a new request, when one ends, when the address is known, and every loop tick. */
void feed_rest__pump(feed_conn_t *c)
{
    if (c->rest_pumping || c->loop->stopping)
        return;
    c->rest_pumping = true; /* rest_start may end a request at once, which pumps again */
    int64_t now = tg_clock_mono_ns();
    while (c->pend_n) {
        rest_pend_t *e = &c->pend[c->pend_head];
        if (e->gen != c->gen) { /* asked by an older connection */
            TG_STAT_INC(c->ts.rest_dropped);
            pend_pop(c);
            continue;
        }
        if (c->has_rest && !c->rest_addr_ok && c->resolving > 0)
            break; /* the address comes (resolve_drain pumps) */
        bool fail = !c->has_rest || !c->rest_addr_ok;
        if (!fail && c->pace && !feed_rest_pace_take(c->pace, c->rest_weight, now, NULL))
            break; /* the venue's budget: the next tick tries again */
        rest_req_t *r = slot_take(c, e->tag, false);
        if (!r) {
            if (!fail && c->pace)
                feed_rest_pace_done(c->pace);
            break;
        }
        snprintf(r->path, sizeof(r->path), "%s", e->path);
        pend_pop(c);
        if (fail) {
            r->state = REST_FAIL_PENDING; /* delivered as status 0 by the next tick */
            continue;
        }
        r->paced = c->pace != NULL;
        TG_STAT_INC(c->ts.rest_sent);
        rest_start(r);
    }
    TG_STAT_SET(c->ts.rest_queued, c->pend_n);
    c->rest_pumping = false;
}

/* Housekeeping tick: deliver the failures decided outside a callback (status 0), then start
 * what the venue's budget allows now. */
void feed_rest__housekeep(feed_conn_t *c)
{
    for (int i = 0; i < REST_MAX; i++)
        if (c->rest[i].state == REST_FAIL_PENDING)
            feed_rest__finish(&c->rest[i], 0);
    feed_rest__pump(c);
}

/* feed_loop_add: the venue's pacer (shared by every connection to the same REST host). */
void feed_rest__setup(feed_conn_t *c)
{
    const feed_venue_t *v = c->venue;
    c->rest_weight = v->rest_weight ? v->rest_weight : 1;
    if (!c->has_rest)
        return;
    uint32_t wpm = c->cfg.rest_weight_per_min ? c->cfg.rest_weight_per_min : v->rest_weight_per_min;
    uint32_t infl = c->cfg.rest_max_inflight ? c->cfg.rest_max_inflight : v->rest_max_inflight;
    if (wpm == UINT32_MAX)
        wpm = 0; /* explicitly unpaced (a test server) */
    char hp[FEED_HOST_MAX + 16];
    snprintf(hp, sizeof(hp), "%s:%d", c->rurl.host, c->rurl.port);
    c->pace = feed_rest_pace_get(v->name, hp, wpm, infl);
}

void feed_rest__free(feed_conn_t *c)
{
    for (int i = 0; i < REST_MAX; i++)
        free(c->rest[i].body);
    while (c->pend_n)
        pend_pop(c);
    free(c->pend);
    c->pend = NULL;
}
