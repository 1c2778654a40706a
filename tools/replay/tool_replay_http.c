/* SPDX-License-Identifier: MIT */
/*
 * tickgate-replay serve: the REST side. Answers the venue book-snapshot requests a feed makes
 * to seed its books, with exactly the body recorded in-band for that symbol. The recording's
 * venue maps a request to the in-band name (feed_venue_t.rest_key), e.g.
 *   Binance spot      GET [/rec/<name>]/api/v3/depth?symbol=BTCUSDT[&limit=N] -> btcusdt
 *   Bitstamp          GET [/rec/<name>]/api/v2/order_book/<pair>[/] -> diff_order_book_<pair>
 * Names match case-insensitively; `limit` is accepted and ignored (the recorded body is
 * served as it is). Unknown symbol or path: 404 with a small JSON body. The body is written in
 * chunks, one lws_write per HTTP_WRITEABLE callback.
 * KuCoin's connect step, POST [/rec/<name>]/api/v1/bullet-public (any body ignored), is
 * answered for a kucoin recording with a token and an instance server pointing back here:
 * ws(s)://<Host header>[/rec/<name>], so a client connects to the same recording. Other POSTs:
 * 404. POST answers are written at once (reply_now).
 * Thread: main.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feeds/feed.h"
#include "feeds/venues/feed_venue_util.h"
#include "tool_replay_live.h"
#include "tool_replay_serve.h"

#define g     tool_replay__srv
#define CHUNK 16384

static const char not_found_path[] = "{\"code\":404,\"msg\":\"unknown path\"}";
static const char not_found_sym[] = "{\"code\":404,\"msg\":\"unknown symbol\"}";
static const char bad_req[] = "{\"code\":400,\"msg\":\"missing symbol\"}";

static int reply(struct lws *wsi, sess_t *s, unsigned status, const char *body, size_t len)
{
    if (body != s->owned) {
        free(s->owned);
        s->owned = NULL;
    }
    unsigned char hdr[LWS_PRE + 1024];
    unsigned char *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof(hdr) - 1;
    if (lws_add_http_common_headers(wsi, status, "application/json", len, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return 1;
    s->kind = SESS_HTTP;
    s->body = body;
    s->body_len = len;
    s->body_off = 0;
    lws_callback_on_writable(wsi);
    return 0;
}

/* --rest-429: a venue's "too many requests", with the wait it asks for. */
static int too_many(struct lws *wsi, sess_t *s)
{
    static const char body[] = "{\"code\":-1003,\"msg\":\"Too many requests (tickgate-replay "
                               "--rest-429).\"}";
    unsigned char hdr[LWS_PRE + 1024];
    unsigned char *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof(hdr) - 1;
    char ra[16];
    int n = snprintf(ra, sizeof(ra), "%u", g.rest_429_after_s);
    g.rest_429_left--;
    if (lws_add_http_common_headers(wsi, 429, "application/json", sizeof(body) - 1, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_RETRY_AFTER, (const unsigned char *)ra, n,
                                     &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return 1;
    s->kind = SESS_HTTP;
    s->body = body;
    s->body_len = sizeof(body) - 1;
    s->body_off = 0;
    lws_callback_on_writable(wsi);
    return 0;
}

/* Answer a POST at once (headers and a small body): a POST with a Content-Length, even 0, puts
 * lws in its request-body state, where no HTTP_WRITEABLE comes for reply()'s chunked writes. */
static int reply_now(struct lws *wsi, unsigned status, const char *body, size_t len)
{
    unsigned char buf[LWS_PRE + 2048];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
    if (lws_add_http_common_headers(wsi, status, "application/json", (lws_filepos_t)len, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end) || len > (size_t)(end - start))
        return 1;
    memcpy(start, body, len);
    if (lws_write(wsi, start, len, LWS_WRITE_HTTP_FINAL) != (int)len)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* KuCoin POST /api/v1/bullet-public -> {"code":"200000","data":{"token":..,"instanceServers":
 * [{"endpoint":"ws(s)://<Host>[/rec/<name>]",...}]}}: the client comes back here. */
static int bullet_public(struct lws *wsi, const tool_replay_rec_t *rec, const char *uri,
                         const char *rest)
{
    const feed_venue_t *v = feed_venue_find(rec->r->venue);
    char host[256], a[1024];
    if (!v || strcmp(v->name, "kucoin") != 0)
        return reply_now(wsi, HTTP_STATUS_NOT_FOUND, not_found_path, sizeof(not_found_path) - 1);
    if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) <= 0 || !feed_json_safe(host))
        snprintf(host, sizeof(host), "127.0.0.1:%d", g.port);
    int n = snprintf(a, sizeof(a),
                     "{\"code\":\"200000\",\"data\":{\"token\":\"tickgate-replay\","
                     "\"instanceServers\":[{\"endpoint\":\"%s://%s%.*s\",\"encrypt\":%s,"
                     "\"protocol\":\"websocket\",\"pingInterval\":18000,\"pingTimeout\":10000}]}}",
                     g.tls ? "wss" : "ws", host, (int)(rest - uri), uri, g.tls ? "true" : "false");
    if (n < 0 || (size_t)n >= sizeof(a))
        return reply_now(wsi, HTTP_STATUS_BAD_REQUEST, bad_req, sizeof(bad_req) - 1);
    return reply_now(wsi, HTTP_STATUS_OK, a, (size_t)n);
}

/* Value of query argument `name` in args ("a=1&b=2") into v. @return true when present. */
static bool query_arg(const char *args, const char *name, char *v, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *p = args; p && *p; p = strchr(p, '&'), p = p ? p + 1 : NULL) {
        if (strncmp(p, name, nl) != 0 || p[nl] != '=')
            continue;
        const char *e = strchr(p + nl + 1, '&');
        size_t n = e ? (size_t)(e - p - nl - 1) : strlen(p + nl + 1);
        if (n >= cap)
            return false;
        memcpy(v, p + nl + 1, n);
        v[n] = 0;
        return true;
    }
    return false;
}

static bool dec_u64(const char *t, uint64_t *out)
{
    char *e;
    if (!t[0] || t[0] < '0' || t[0] > '9')
        return false;
    errno = 0;
    unsigned long long v = strtoull(t, &e, 10);
    if (*e || errno)
        return false;
    *out = v;
    return true;
}

/* Reply with the trade-history body of rc (tool_replay_trades_body/_cb_body): -ENOENT: status
 * miss with miss_body; another error: -1. */
static int reply_trades(struct lws *wsi, sess_t *s, int rc, unsigned miss, const char *miss_body,
                        size_t miss_len, char *body, size_t len)
{
    if (rc == -ENOENT)
        return reply(wsi, s, miss, miss_body, miss_len);
    if (rc < 0)
        return -1;
    free(s->owned);
    s->owned = body;
    return reply(wsi, s, HTTP_STATUS_OK, body, len);
}

/*
 * Binance trade history (issue 15), GET [/rec/<name>]/{api/v3,fapi/v1,dapi/v1}/historicalTrades
 * or .../aggTrades ?symbol=S[&fromId=N][&limit=L]: the recording's own @trade / @aggTrade
 * frames as the venue's REST objects, only those already published (tool_replay_trades.c).
 * Binance's errors: -1121 invalid symbol, -1100 bad parameter. @return 1 when path is not a
 * trade-history route, else the reply's result.
 */
static int trade_history(struct lws *wsi, sess_t *s, const tool_replay_rec_t *rec, const char *path,
                         const char *args)
{
    static const char *const routes[] = {"/api/v3/historicalTrades",  "/fapi/v1/historicalTrades",
                                         "/dapi/v1/historicalTrades", "/api/v3/aggTrades",
                                         "/fapi/v1/aggTrades",        "/dapi/v1/aggTrades"};
    static const char bad_sym[] = "{\"code\":-1121,\"msg\":\"Invalid symbol.\"}";
    static const char bad_arg[] = "{\"code\":-1100,\"msg\":\"Illegal characters found in a "
                                  "parameter.\"}";
    int r = -1;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (strcmp(path, routes[i]) == 0)
            r = (int)i;
    const feed_venue_t *v = feed_venue_find(rec->r->venue);
    if (r < 0 || !v || strncmp(v->name, "binance", 7) != 0)
        return 1;
    char sym[64], t[32];
    uint64_t from = 0, limit = 0;
    if (!query_arg(args, "symbol", sym, sizeof(sym)) || !sym[0])
        return reply(wsi, s, HTTP_STATUS_BAD_REQUEST, bad_req, sizeof(bad_req) - 1);
    bool has_from = query_arg(args, "fromId", t, sizeof(t));
    if ((has_from && !dec_u64(t, &from)) ||
        (query_arg(args, "limit", t, sizeof(t)) && (!dec_u64(t, &limit) || limit == 0)))
        return reply(wsi, s, HTTP_STATUS_BAD_REQUEST, bad_arg, sizeof(bad_arg) - 1);
    char *body;
    size_t len;
    int rc = tool_replay_trades_body(rec, r >= 3, sym, has_from, from,
                                     limit > TOOL_REPLAY_TRADES_MAX ? TOOL_REPLAY_TRADES_MAX
                                                                    : (unsigned)limit,
                                     rec->published, &body, &len);
    return reply_trades(wsi, s, rc, HTTP_STATUS_BAD_REQUEST, bad_sym, sizeof(bad_sym) - 1, body,
                        len);
}

/*
 * Coinbase Exchange trade history (issue 15), GET [/rec/<name>]/products/<P>/trades
 * [?after=X][&before=Y][&limit=L]: the recording's published `match` frames, newest first
 * (tool_replay_trades.c). Coinbase's errors: 404 {"message":"NotFound"}, 400 for a bad value.
 * @return 1 when path is not that route, else the reply's result.
 */
static int coinbase_trades(struct lws *wsi, sess_t *s, const tool_replay_rec_t *rec,
                           const char *path, const char *args)
{
    static const char pre[] = "/products/", suf[] = "/trades";
    static const char not_found[] = "{\"message\":\"NotFound\"}";
    static const char bad_arg[] = "{\"message\":\"Invalid pagination or limit value\"}";
    size_t pl = strlen(path);
    if (strcmp(rec->r->venue, "coinbase") != 0 || strncmp(path, pre, sizeof(pre) - 1) != 0 ||
        pl <= sizeof(pre) - 1 + sizeof(suf) - 1 || strcmp(path + pl - (sizeof(suf) - 1), suf) != 0)
        return 1;
    char prod[64], t[32];
    size_t n = pl - (sizeof(pre) - 1) - (sizeof(suf) - 1);
    if (n >= sizeof(prod) || memchr(path + sizeof(pre) - 1, '/', n))
        return reply(wsi, s, HTTP_STATUS_NOT_FOUND, not_found, sizeof(not_found) - 1);
    memcpy(prod, path + sizeof(pre) - 1, n);
    prod[n] = 0;
    uint64_t after = 0, before = 0, limit = 0;
    bool has_after = query_arg(args, "after", t, sizeof(t)) && dec_u64(t, &after);
    bool has_before = query_arg(args, "before", t, sizeof(t)) && dec_u64(t, &before);
    if ((query_arg(args, "after", t, sizeof(t)) && !has_after) ||
        (query_arg(args, "before", t, sizeof(t)) && !has_before) ||
        (query_arg(args, "limit", t, sizeof(t)) && (!dec_u64(t, &limit) || limit == 0)))
        return reply(wsi, s, HTTP_STATUS_BAD_REQUEST, bad_arg, sizeof(bad_arg) - 1);
    char *body;
    size_t len;
    unsigned lim = limit > TOOL_REPLAY_TRADES_MAX ? TOOL_REPLAY_TRADES_MAX : (unsigned)limit;
    int rc = tool_replay_trades_cb_body(rec, prod, has_after, after, has_before, before, lim,
                                        rec->published, &body, &len);
    return reply_trades(wsi, s, rc, HTTP_STATUS_NOT_FOUND, not_found, sizeof(not_found) - 1, body,
                        len);
}

/*
 * BitMEX trade history (issue 15), GET [/rec/<name>]/api/v1/trade?symbol=S[&startTime=ISO]
 * [&endTime=ISO][&count=N][&start=K][&reverse=false|true]: the recording's published trade
 * inserts, oldest first (tool_replay_trades.c). BitMEX's error (HTTP 400):
 * {"error":{"message":..,"name":"HTTPError"}} for a bad value; an unknown symbol answers [].
 * @return 1 when path is not that route, else the reply's result.
 */
static int bitmex_trades(struct lws *wsi, sess_t *s, const tool_replay_rec_t *rec, const char *path,
                         const char *args)
{
    static const char bad_arg[] =
        "{\"error\":{\"message\":\"Invalid parameter\",\"name\":\"HTTPError\"}}";
    if (strcmp(rec->r->venue, "bitmex") != 0 || strcmp(path, "/api/v1/trade") != 0)
        return 1;
    char sym[64], t[48];
    uint64_t count = 0, start = 0;
    int64_t from = 0, to = INT64_MAX;
    bool reverse = false;
    if (!query_arg(args, "symbol", sym, sizeof(sym)) || !sym[0] ||
        (query_arg(args, "startTime", t, sizeof(t)) &&
         feed_iso_ns(t, strlen(t), true, &from) < 0) ||
        (query_arg(args, "endTime", t, sizeof(t)) && feed_iso_ns(t, strlen(t), true, &to) < 0) ||
        (query_arg(args, "count", t, sizeof(t)) && (!dec_u64(t, &count) || count > 1000)) ||
        (query_arg(args, "start", t, sizeof(t)) && (!dec_u64(t, &start) || start > UINT32_MAX)))
        return reply(wsi, s, HTTP_STATUS_BAD_REQUEST, bad_arg, sizeof(bad_arg) - 1);
    if (query_arg(args, "reverse", t, sizeof(t))) {
        if (strcmp(t, "true") && strcmp(t, "false"))
            return reply(wsi, s, HTTP_STATUS_BAD_REQUEST, bad_arg, sizeof(bad_arg) - 1);
        reverse = t[0] == 't';
    }
    char *body;
    size_t len;
    int rc = tool_replay_trades_bm_body(rec, sym, from, to, (unsigned)start, (unsigned)count,
                                        reverse, rec->published, &body, &len);
    return reply_trades(wsi, s, rc, HTTP_STATUS_BAD_REQUEST, bad_arg, sizeof(bad_arg) - 1, body,
                        len);
}

/*
 * Bybit recent trades (issue 15), GET [/rec/<name>]/v5/market/recent-trade?category=spot|linear
 * &symbol=S[&limit=N]: the recording's newest published publicTrade trades, newest first
 * (tool_replay_trades.c). Bybit answers errors with HTTP 200 and a retCode: 10001 for a bad
 * parameter or a symbol without recorded trades. @return 1 when path is not that route, else
 * the reply's result.
 */
static int bybit_trades(struct lws *wsi, sess_t *s, const tool_replay_rec_t *rec, const char *path,
                        const char *args)
{
    static const char bad[] = "{\"retCode\":10001,\"retMsg\":\"params error\",\"result\":{},"
                              "\"retExtInfo\":{},\"time\":0}";
    if (strncmp(rec->r->venue, "bybit", 5) != 0 || strcmp(path, "/v5/market/recent-trade") != 0)
        return 1;
    bool spot = strcmp(rec->r->venue, "bybit-spot") == 0;
    char sym[64], t[32];
    uint64_t limit = 0;
    if (!query_arg(args, "symbol", sym, sizeof(sym)) || !sym[0] ||
        !query_arg(args, "category", t, sizeof(t)) || strcmp(t, spot ? "spot" : "linear") != 0 ||
        (query_arg(args, "limit", t, sizeof(t)) &&
         (!dec_u64(t, &limit) || limit == 0 || limit > (spot ? 60 : 1000))))
        return reply(wsi, s, HTTP_STATUS_OK, bad, sizeof(bad) - 1);
    char *body;
    size_t len;
    int rc =
        tool_replay_trades_bybit_body(rec, sym, spot, (unsigned)limit, rec->published, &body, &len);
    return reply_trades(wsi, s, rc, HTTP_STATUS_OK, bad, sizeof(bad) - 1, body, len);
}

/*
 * OKX trade history (issue 15), GET [/rec/<name>]/api/v5/market/history-trades?instId=I
 * [&type=1][&after=X][&before=Y][&limit=L]: the recording's published `trades` pushes, newest
 * first, in OKX's envelope (tool_replay_trades.c). OKX's errors (HTTP 400): 51001 for an
 * instId without recorded trades, 51000 for a bad parameter (type 2, by time, is not served).
 * @return 1 when path is not that route, else the reply's result.
 */
static int okx_trades(struct lws *wsi, sess_t *s, const tool_replay_rec_t *rec, const char *path,
                      const char *args)
{
    static const char no_inst[] =
        "{\"code\":\"51001\",\"data\":[],\"msg\":\"Instrument ID does not exist\"}";
    static const char bad_arg[] = "{\"code\":\"51000\",\"data\":[],\"msg\":\"Parameter error\"}";
    if (strcmp(rec->r->venue, "okex") != 0 || strcmp(path, "/api/v5/market/history-trades") != 0)
        return 1;
    char inst[64], t[32];
    uint64_t after = 0, before = 0, limit = 0;
    if (!query_arg(args, "instId", inst, sizeof(inst)) || !inst[0])
        return reply(wsi, s, HTTP_STATUS_BAD_REQUEST, bad_arg, sizeof(bad_arg) - 1);
    bool has_after = query_arg(args, "after", t, sizeof(t)) && dec_u64(t, &after);
    bool has_before = query_arg(args, "before", t, sizeof(t)) && dec_u64(t, &before);
    if ((query_arg(args, "type", t, sizeof(t)) && strcmp(t, "1") != 0) ||
        (query_arg(args, "after", t, sizeof(t)) && !has_after) ||
        (query_arg(args, "before", t, sizeof(t)) && !has_before) ||
        (query_arg(args, "limit", t, sizeof(t)) && (!dec_u64(t, &limit) || limit == 0)))
        return reply(wsi, s, HTTP_STATUS_BAD_REQUEST, bad_arg, sizeof(bad_arg) - 1);
    char *body;
    size_t len;
    unsigned lim =
        limit > TOOL_REPLAY_TRADES_OKX_MAX ? TOOL_REPLAY_TRADES_OKX_MAX : (unsigned)limit;
    int rc = tool_replay_trades_okx_body(rec, inst, has_after, after, has_before, before, lim,
                                         rec->published, &body, &len);
    return reply_trades(wsi, s, rc, HTTP_STATUS_BAD_REQUEST, no_inst, sizeof(no_inst) - 1, body,
                        len);
}

int tool_replay__http_request(struct lws *wsi, sess_t *s, const char *uri)
{
    const char *rest;
    g.http_requests++;
    tool_replay_rec_t *rec = tool_replay__route(uri, &rest);
    bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
    if (g.verbose)
        fprintf(stderr, "tickgate-replay: http %s %s\n", post ? "POST" : "GET", uri);
    if (post) {
        if (rec && strcmp(rest, "/api/v1/bullet-public") == 0)
            return bullet_public(wsi, rec, uri, rest);
        return reply_now(wsi, HTTP_STATUS_NOT_FOUND, not_found_path, sizeof(not_found_path) - 1);
    }
    if (g.rest_429_left)
        return too_many(wsi, s);
    if (!rec)
        return reply(wsi, s, HTTP_STATUS_NOT_FOUND, not_found_path, sizeof(not_found_path) - 1);
    /* The recording's venue maps the request (path and query, as its handler sends it) to the
     * name its answer is recorded under (feed_venue_t.rest_key). */
    const feed_venue_t *v = feed_venue_find(rec->r->venue);
    char req[1024], args[512], sym[128];
    size_t an = 0;
    args[0] = 0;
    for (int i = 0; i < 32 && an < sizeof(args) - 2; i++) { /* fragments, joined with '&' */
        char frag[256];
        int n = lws_hdr_copy_fragment(wsi, frag, (int)sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n <= 0)
            break;
        int k = snprintf(args + an, sizeof(args) - an, "%s%s", an ? "&" : "", frag);
        if (k < 0 || (size_t)k >= sizeof(args) - an)
            break;
        an += (size_t)k;
    }
    snprintf(req, sizeof(req), "%s%s%s", rest, args[0] ? "?" : "", args);
    int th = trade_history(wsi, s, rec, rest, args);
    if (th == 1)
        th = bitmex_trades(wsi, s, rec, rest, args);
    if (th == 1)
        th = bybit_trades(wsi, s, rec, rest, args);
    if (th == 1)
        th = coinbase_trades(wsi, s, rec, rest, args);
    if (th == 1)
        th = okx_trades(wsi, s, rec, rest, args);
    if (th != 1)
        return th;
    if (!v || !v->rest_key || v->rest_key(req, sym, sizeof(sym)) < 0)
        return reply(wsi, s, HTTP_STATUS_NOT_FOUND, not_found_path, sizeof(not_found_path) - 1);
    if (!sym[0])
        return reply(wsi, s, HTTP_STATUS_BAD_REQUEST, bad_req, sizeof(bad_req) - 1);
    char asked[sizeof(sym)];
    memcpy(asked, sym, sizeof(sym));
    tool_replay__clone_base(sym); /* --clone: <sym>_<i> is <sym>'s snapshot */
    const tool_replay_snap_t *snap = tool_replay_rec_snapshot(rec, sym);
    if (!snap) {
        fprintf(stderr, "tickgate-replay: http GET %s: no recorded snapshot for '%s' in %s\n", uri,
                sym, rec->name);
        return reply(wsi, s, HTTP_STATUS_NOT_FOUND, not_found_sym, sizeof(not_found_sym) - 1);
    }
    char *live;
    size_t live_len;
    int lr =
        g.live_snapshots ? tool_replay__live_body(rec, snap, asked, args, &live, &live_len) : 1;
    if (lr < 0)
        return -1;
    if (lr == 0) {
        free(s->owned);
        s->owned = live;
        return reply(wsi, s, HTTP_STATUS_OK, live, live_len);
    }
    return reply(wsi, s, HTTP_STATUS_OK, snap->body, snap->len);
}

int tool_replay__http_writeable(struct lws *wsi, sess_t *s)
{
    if (s->kind != SESS_HTTP || !s->body)
        return 0;
    unsigned char buf[LWS_PRE + CHUNK];
    size_t left = s->body_len - s->body_off;
    size_t n = left < CHUNK ? left : CHUNK;
    bool last = n == left;
    memcpy(buf + LWS_PRE, s->body + s->body_off, n);
    if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < 0)
        return -1;
    s->body_off += n;
    if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    s->body = NULL;
    free(s->owned);
    s->owned = NULL;
    s->kind = SESS_NONE;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}
