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
#include "feeds/net/feed_tls.h"
#include "feeds/rec/feed_capture.h"

static void rest_start(rest_req_t *r);

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
    if (r->overflow)
        status = 0;
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
    char hp[FEED_HOST_MAX + 8];
    ci.host = feed_conn__host_header(hp, sizeof(hp), &c->rurl);
    ci.origin = c->rurl.host;
    ci.method = r->pre ? "POST" : "GET";
    ci.alpn = "http/1.1";
    ci.local_protocol_name = "tg-feed";
    ci.opaque_user_data = r;
    ci.pwsi = &r->wsi;
    /* A redirect would make lws resolve its host on this thread: hand the 3xx to the handler. */
    ci.ssl_connection = LCCSCF_HTTP_NO_FOLLOW_REDIRECT;
    if (c->rurl.tls) {
        ci.ssl_connection |= LCCSCF_USE_SSL;
        if (c->cfg.tls_insecure)
            ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED | LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
                                 LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
    }
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

/* The venue's connect step: POST connect_post on the REST host (its answer:
 * feed_conn__pre_answer). @return 0, or -EAGAIN when no slot is free. */
int feed_rest__pre_start(feed_conn_t *c)
{
    rest_req_t *r = NULL;
    for (int i = 0; i < REST_MAX && !r; i++)
        if (c->rest[i].state == REST_FREE)
            r = &c->rest[i];
    if (!r)
        return -EAGAIN;
    r->kind = KIND_REST;
    r->c = c;
    r->wsi = NULL;
    r->gen = c->gen;
    r->tag = 0;
    r->status = 0;
    r->done = r->overflow = false;
    r->pre = true;
    r->len = 0;
    snprintf(r->path, sizeof(r->path), "%s", c->venue->connect_post);
    rest_start(r);
    return 0;
}

int feed_conn__rest_get(void *tctx, const char *path, uint64_t tag)
{
    feed_conn_t *c = tctx;
    if (!path || strlen(path) >= FEED_PATH_MAX - 256)
        return -EINVAL;
    rest_req_t *r = NULL;
    for (int i = 0; i < REST_MAX && !r; i++)
        if (c->rest[i].state == REST_FREE)
            r = &c->rest[i];
    if (!r) {
        feed_conn__log(c, FEED_LOG_WARN, "too many REST requests in flight (%d)", REST_MAX);
        return -EAGAIN;
    }
    r->kind = KIND_REST;
    r->c = c;
    r->wsi = NULL;
    r->gen = c->gen;
    r->tag = tag;
    r->status = 0;
    r->done = r->overflow = false;
    r->pre = false;
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

/* The REST host's address is known (or failed): start or fail the requests waiting for it. */
void feed_rest__addr_ready(feed_conn_t *c)
{
    for (int i = 0; i < REST_MAX; i++)
        if (c->rest[i].state == REST_WAIT_ADDR) {
            if (c->rest_addr_ok)
                rest_start(&c->rest[i]);
            else
                c->rest[i].state = REST_FAIL_PENDING;
        }
}

/* Housekeeping tick: deliver the failures decided outside a callback (status 0). */
void feed_rest__housekeep(feed_conn_t *c)
{
    for (int i = 0; i < REST_MAX; i++)
        if (c->rest[i].state == REST_FAIL_PENDING)
            feed_rest__finish(&c->rest[i], 0);
}
