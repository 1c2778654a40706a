/* SPDX-License-Identifier: MIT */
/*
 * tickgate-replay: the trade history a venue serves over REST, answered from the recording's
 * own trade frames (issue 15: trade backfill after a reconnect).
 *
 * Binance combined-stream trade frames, {"stream":"<sym>@trade"|"<sym>@aggTrade","data":{..}},
 * are indexed at load (tool_replay_trades_index) with the venue's REST object for each,
 * written once from the frame's own field texts (same ids, prices, sizes, times):
 *   @trade    -> historicalTrades {"id":t,"price":p,"qty":q,"time":T,"isBuyerMaker":m
 *                                  [,"isBestMatch":M]}
 *   @aggTrade -> aggTrades        {"a":a,"p":p,"q":q,"f":f,"l":l,"T":T,"m":m[,"M":M]}
 * quoteQty (historicalTrades) is left out: the frames do not carry it and computing it would
 * invent a rounding. tool_replay_trades_body() answers a request as the venue does: ids from
 * fromId in ascending order, at most `limit` (default 500, capped at 1000); without fromId the
 * most recent `limit`. Only trades of frames already published (sent to a client, or skipped
 * by --resume while nobody was connected) are served.
 *
 * Coinbase Exchange recordings: the `match` frames (not `last_match`: it is a trade from before
 * the session) are indexed per product_id with Coinbase's REST trade object,
 *   {"time":t,"trade_id":N,"price":p,"size":s,"side":side} (side: the maker's, as in a match),
 * and tool_replay_trades_cb_body() answers GET /products/<P>/trades as Coinbase does
 * ("Pagination"): newest first; `after=X` (a trade_id cursor) the trades with ids below X,
 * `before=Y` those above Y (the page just above Y), at most `limit` (default and cap 1000).
 * tool_replay_trades_cb_last() gives a connection under --resume a `last_match` per product:
 * its newest published match, as Coinbase sends on subscribe.
 *
 * OKX recordings (venue okex): each trade of a `trades` push is indexed per instId with OKX's
 * REST trade object, {"instId","side","sz","px","tradeId","ts"} (the push's own texts), and
 * tool_replay_trades_okx_body() answers GET /api/v5/market/history-trades as OKX documents for
 * type=1 (by tradeId): {"code":"0","msg":"","data":[..]}, newest first; `after=X` the trades
 * with ids below X, `before=Y` those above Y (alone: the newest of them), at most `limit`
 * (default and cap 100). A push that aggregates trades (count > 1: none in the recordings) is
 * served as the one trade it shows. Under --resume tool_replay_trades_cb_last() gives a
 * connection the push of each instrument's newest published trade, as OKX sends on subscribe.
 *
 * BitMEX recordings (venue bitmex): each trade of a `trade` insert (not the `partial`: the
 * trades before the subscription, never emitted) is indexed per symbol, its id the trade's time
 * (ns; the trdMatchID is a GUID), its REST object the insert's object as it was (BitMEX's
 * GET /api/v1/trade answers the same objects). tool_replay_trades_bm_body() answers
 * GET /api/v1/trade as BitMEX does: the trades at startTime <= timestamp <= endTime, oldest
 * first (reverse=true: newest first), the first `start` left out, at most `count` (default 100,
 * cap 1000); trades of one time in recording order.
 *
 * Kraken Futures recordings (venue cryptofacilities): each trade of a trade_snapshot and each
 * live `trade` frame is indexed per product_id, its id the trade's seq (consecutive per
 * product), its text the trade object as it was (a snapshot's elements are the live objects).
 * No REST: under --resume tool_replay_trades_cb_last() gives a connection per product a
 * trade_snapshot of its newest 100 published trades, newest first, as the venue sends on a
 * trade subscribe.
 *
 * Bybit recordings (venues bybit, bybit-spot): each trade of a `publicTrade` push is indexed per
 * symbol, its id the trade's time (ns; the execId is text), with Bybit's REST object written
 * from the push's own texts, {"execId":i,"symbol":s,"price":p,"size":v,"side":S,"time":"T",
 * "isBlockTrade":BT}; tool_replay_trades_bybit_body() answers GET /v5/market/recent-trade as
 * Bybit does: the newest `limit` trades, newest first, in its envelope.
 *
 * Crypto.com recordings (venue crypto-com): each trade of a `trade` push (the first push after a
 * subscribe, the instrument's recent trades, and the live ones) is indexed per instrument_name
 * with its object as it was. Under --resume tool_replay_trades_cb_last() gives a connection,
 * per instrument, the push Crypto.com sends on subscribe: its rec->trade_snap (100) newest
 * trades published so far (those of frames no connection received too), newest first.
 * Thread: main.
 */
#include "tool_replay.h"

#include "feeds/venues/feed_venue_util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#define TR_TOK 64

static bool tok_is(const char *js, const jsmntok_t *t, const char *s)
{
    size_t n = strlen(s);
    return t->type == JSMN_STRING && (size_t)(t->end - t->start) == n &&
           memcmp(js + t->start, s, n) == 0;
}

/* Append printf output to the text arena. @return 0 or -ENOMEM. */
static int arena_printf(tool_replay_rec_t *rec, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int arena_printf(tool_replay_rec_t *rec, size_t *cap, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = *cap - rec->trade_text_len;
        int n = vsnprintf(rec->trade_text + rec->trade_text_len, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            return -ENOMEM;
        if ((size_t)n < room) {
            rec->trade_text_len += (size_t)n;
            return 0;
        }
        size_t nc = *cap * 2 + (size_t)n + 1;
        char *p = realloc(rec->trade_text, nc);
        if (!p)
            return -ENOMEM;
        rec->trade_text = p;
        *cap = nc;
    }
}

/* Value token of key k in the object at tokens [o, o + 1 + 2 * size), or -1. */
static int obj_get(const char *js, const jsmntok_t *t, int n, int o, const char *k)
{
    if (o < 0 || o >= n || t[o].type != JSMN_OBJECT)
        return -1;
    int i = o + 1;
    for (int j = 0; j < t[o].size && i + 1 < n; j++, i += 2) {
        if (tok_is(js, &t[i], k))
            return i + 1;
        if (t[i + 1].type == JSMN_OBJECT || t[i + 1].type == JSMN_ARRAY)
            return -1; /* flat members only: "data" is the frame's last member */
    }
    return -1;
}

#define TV(i) (int)(t[i].end - t[i].start), js + t[i].start

/* Room for one more index entry. @return 0 or -ENOMEM. */
static int trades_grow(tool_replay_rec_t *rec, size_t *tcap)
{
    if (rec->n_trades < *tcap)
        return 0;
    size_t nc = *tcap ? *tcap * 2 : 1024;
    tool_replay_trade_t *nt = realloc(rec->trades, nc * sizeof(*nt));
    if (!nt)
        return -ENOMEM;
    rec->trades = nt;
    *tcap = nc;
    return 0;
}

/* A new index entry for frame fi, its trade id the digits of token id, its symbol the text of
 * token sym (-1: set by the caller), its REST object next in the arena. @return the entry;
 * NULL with *rc = 0 (not a number, a symbol too long) or -ENOMEM. */
/* A new entry of trade id (its text written next by commit_trade) from frame fi, symbol token
 * sym (-1: none). NULL with *rc 0: a symbol too long to index; with *rc < 0: no memory. */
static tool_replay_trade_t *add_trade(tool_replay_rec_t *rec, size_t *tcap, size_t fi, uint64_t id,
                                      const char *js, const jsmntok_t *t, int sym, int *rc)
{
    *rc = 0;
    size_t sl = sym >= 0 ? (size_t)(t[sym].end - t[sym].start) : 0;
    if (sl >= sizeof(rec->trades[0].sym))
        return NULL;
    if ((*rc = trades_grow(rec, tcap)) < 0)
        return NULL;
    tool_replay_trade_t *tr = &rec->trades[rec->n_trades];
    memset(tr, 0, sizeof(*tr));
    tr->frame = fi;
    tr->id = id;
    tr->off = rec->trade_text_len;
    if (sl)
        memcpy(tr->sym, js + t[sym].start, sl);
    return tr;
}

static tool_replay_trade_t *new_trade(tool_replay_rec_t *rec, size_t *tcap, size_t fi,
                                      const char *js, const jsmntok_t *t, int id, int sym, int *rc)
{
    char idtxt[32], *e;
    snprintf(idtxt, sizeof(idtxt), "%.*s", TV(id));
    unsigned long long idv = strtoull(idtxt, &e, 10);
    *rc = 0;
    if (*e || !isdigit((unsigned char)idtxt[0]))
        return NULL;
    return add_trade(rec, tcap, fi, idv, js, t, sym, rc);
}

/* The entry tr complete once its REST object is written (rc: arena_printf's). @return 1
 * (indexed) or rc < 0. */
static int commit_trade(tool_replay_rec_t *rec, tool_replay_trade_t *tr, int rc)
{
    if (rc < 0)
        return rc;
    tr->len = rec->trade_text_len - tr->off;
    rec->n_trades++;
    return 1;
}

/* One trade frame -> an index entry and its REST object in the arena. @return 1 indexed,
 * 0 not a trade frame, -ENOMEM. */
static int index_frame(tool_replay_rec_t *rec, size_t fi, size_t *cap, size_t *tcap)
{
    const tool_replay_frame_t *fr = &rec->frames[fi];
    static const char pre[] = "{\"stream\":\"";
    if (fr->len < sizeof(pre) || memcmp(fr->data, pre, sizeof(pre) - 1) != 0)
        return 0;
    const char *name = fr->data + sizeof(pre) - 1;
    const char *q = memchr(name, '"', fr->len - (sizeof(pre) - 1));
    if (!q)
        return 0;
    size_t nl = (size_t)(q - name);
    bool agg;
    size_t sl;
    if (nl > 6 && memcmp(q - 6, "@trade", 6) == 0) {
        agg = false;
        sl = nl - 6;
    } else if (nl > 9 && memcmp(q - 9, "@aggTrade", 9) == 0) {
        agg = true;
        sl = nl - 9;
    } else {
        return 0;
    }
    if (sl == 0 || sl >= sizeof(rec->trades[0].sym))
        return 0;
    jsmn_parser p;
    jsmntok_t t[TR_TOK];
    jsmn_init(&p);
    int n = jsmn_parse(&p, fr->data, fr->len, t, TR_TOK);
    if (n < 1)
        return 0;
    const char *js = fr->data;
    int d = obj_get(js, t, n, 0, "data");
    if (d < 0 || t[d].type != JSMN_OBJECT)
        return 0;
    int id = obj_get(js, t, n, d, agg ? "a" : "t");
    int px = obj_get(js, t, n, d, "p"), qty = obj_get(js, t, n, d, "q");
    int ts = obj_get(js, t, n, d, "T"), m = obj_get(js, t, n, d, "m");
    int bm = obj_get(js, t, n, d, "M");
    int f = agg ? obj_get(js, t, n, d, "f") : 0, l = agg ? obj_get(js, t, n, d, "l") : 0;
    if (id < 0 || px < 0 || qty < 0 || ts < 0 || m < 0 || f < 0 || l < 0 ||
        t[id].type != JSMN_PRIMITIVE)
        return 0;
    int rc;
    tool_replay_trade_t *tr = new_trade(rec, tcap, fi, js, t, id, -1, &rc);
    if (!tr)
        return rc;
    tr->agg = agg;
    for (size_t i = 0; i < sl; i++)
        tr->sym[i] = (char)tolower((unsigned char)name[i]);
    if (agg)
        rc = arena_printf(rec, cap,
                          "{\"a\":%.*s,\"p\":\"%.*s\",\"q\":\"%.*s\",\"f\":%.*s,"
                          "\"l\":%.*s,\"T\":%.*s,\"m\":%.*s",
                          TV(id), TV(px), TV(qty), TV(f), TV(l), TV(ts), TV(m));
    else
        rc = arena_printf(rec, cap,
                          "{\"id\":%.*s,\"price\":\"%.*s\",\"qty\":\"%.*s\",\"time\":%.*s,"
                          "\"isBuyerMaker\":%.*s",
                          TV(id), TV(px), TV(qty), TV(ts), TV(m));
    if (rc == 0 && bm >= 0)
        rc = arena_printf(rec, cap, agg ? ",\"M\":%.*s" : ",\"isBestMatch\":%.*s", TV(bm));
    if (rc == 0)
        rc = arena_printf(rec, cap, "}");
    return commit_trade(rec, tr, rc);
}

/* The tokens of frame fr into t[cap] if it starts with pre. @return their number, or 0 (another
 * frame) or a jsmn error (< 0). */
static int frame_tokens(const tool_replay_frame_t *fr, const char *pre, jsmntok_t *t, unsigned cap)
{
    size_t pl = strlen(pre);
    if (fr->len <= pl || memcmp(fr->data, pre, pl) != 0)
        return 0;
    jsmn_parser p;
    jsmn_init(&p);
    return jsmn_parse(&p, fr->data, fr->len, t, cap);
}

static const char cb_match_pre[] = "{\"type\":\"match\"";

/* One Coinbase `match` frame -> an index entry and its REST object. @return 1 indexed, 0 not a
 * match frame, -ENOMEM. */
static int index_cb_frame(tool_replay_rec_t *rec, size_t fi, size_t *cap, size_t *tcap)
{
    jsmntok_t t[TR_TOK];
    const char *js = rec->frames[fi].data;
    int n = frame_tokens(&rec->frames[fi], cb_match_pre, t, TR_TOK);
    int id = obj_get(js, t, n, 0, "trade_id"), prod = obj_get(js, t, n, 0, "product_id");
    int px = obj_get(js, t, n, 0, "price"), sz = obj_get(js, t, n, 0, "size");
    int ts = obj_get(js, t, n, 0, "time"), side = obj_get(js, t, n, 0, "side");
    if (n < 1 || id < 0 || prod < 0 || px < 0 || sz < 0 || ts < 0 || side < 0 ||
        t[id].type != JSMN_PRIMITIVE || t[prod].type != JSMN_STRING)
        return 0;
    int rc;
    tool_replay_trade_t *tr = new_trade(rec, tcap, fi, js, t, id, prod, &rc);
    if (!tr)
        return rc;
    return commit_trade(rec, tr,
                        arena_printf(rec, cap,
                                     "{\"time\":\"%.*s\",\"trade_id\":%.*s,\"price\":\"%.*s\","
                                     "\"size\":\"%.*s\",\"side\":\"%.*s\"}",
                                     TV(ts), TV(id), TV(px), TV(sz), TV(side)));
}

/* First token after the subtree rooted at i (no parent links: by text offsets). */
static int tok_next(const jsmntok_t *t, int n, int i)
{
    int j = i + 1;
    while (j < n && t[j].start < t[i].end)
        j++;
    return j;
}

/* Value token of key k among the members of the object at o (any member types), or -1. */
static int okx_get(const char *js, const jsmntok_t *t, int n, int o, const char *k)
{
    if (o < 0 || o >= n || t[o].type != JSMN_OBJECT)
        return -1;
    for (int i = o + 1, j = 0; j < t[o].size && i + 1 < n; j++, i = tok_next(t, n, i + 1))
        if (tok_is(js, &t[i], k))
            return i + 1;
    return -1;
}

/* One array element k of a frame: an index entry or none. @return 1, 0, -ENOMEM. */
typedef int (*elem_fn)(tool_replay_rec_t *rec, size_t fi, const char *js, const jsmntok_t *t, int n,
                       int k, size_t *cap, size_t *tcap);

/* Each element of the `key` array of frame fi when the frame starts with pre, through fn.
 * @return the number indexed (0: not such a frame), -ENOMEM. */
static int index_array(tool_replay_rec_t *rec, size_t fi, const char *pre, const char *key,
                       elem_fn fn, size_t *cap, size_t *tcap)
{
    static jsmntok_t t[TR_TOK * 64]; /* a Kraken Futures trade_snapshot: 100 x 19 */
    const char *js = rec->frames[fi].data;
    int n = frame_tokens(&rec->frames[fi], pre, t, TR_TOK * 64), got = 0;
    int d = okx_get(js, t, n, 0, key);
    if (n < 1 || d < 0 || t[d].type != JSMN_ARRAY)
        return 0;
    for (int k = d + 1, m = 0; m < t[d].size && k < n; m++, k = tok_next(t, n, k)) {
        int rc = fn(rec, fi, js, t, n, k, cap, tcap);
        if (rc < 0)
            return rc;
        got += rc;
    }
    return got;
}

static int index_data(tool_replay_rec_t *rec, size_t fi, const char *pre, elem_fn fn, size_t *cap,
                      size_t *tcap)
{
    return index_array(rec, fi, pre, "data", fn, cap, tcap);
}

static const char okx_trades_pre[] = "{\"arg\":{\"channel\":\"trades\"";

/* One trade of an OKX `trades` push, {"arg":{"channel":"trades","instId":I},"data":[{..},..]}
 * -> an index entry with OKX's REST trade object, written from the push's own texts:
 *   {"instId":I,"side":s,"sz":z,"px":p,"tradeId":N,"ts":T} */
static int index_okx_trade(tool_replay_rec_t *rec, size_t fi, const char *js, const jsmntok_t *t,
                           int n, int k, size_t *cap, size_t *tcap)
{
    int id = okx_get(js, t, n, k, "tradeId"), inst = okx_get(js, t, n, k, "instId");
    int px = okx_get(js, t, n, k, "px"), sz = okx_get(js, t, n, k, "sz");
    int ts = okx_get(js, t, n, k, "ts"), side = okx_get(js, t, n, k, "side");
    if (id < 0 || inst < 0 || px < 0 || sz < 0 || ts < 0 || side < 0)
        return 0;
    int rc;
    tool_replay_trade_t *tr = new_trade(rec, tcap, fi, js, t, id, inst, &rc);
    return !tr ? rc
               : commit_trade(rec, tr,
                              arena_printf(rec, cap,
                                           "{\"instId\":\"%.*s\",\"side\":\"%.*s\",\"sz\":\"%.*s\","
                                           "\"px\":\"%.*s\",\"tradeId\":\"%.*s\",\"ts\":\"%.*s\"}",
                                           TV(inst), TV(side), TV(sz), TV(px), TV(id), TV(ts)));
}

static const char bm_trade_pre[] = "{\"table\":\"trade\",\"action\":\"insert\"";

/* One trade of a BitMEX trade insert -> an index entry, id = its time in ns, its REST object
 * the frame's own object text. */
static int index_bm_trade(tool_replay_rec_t *rec, size_t fi, const char *js, const jsmntok_t *t,
                          int n, int k, size_t *cap, size_t *tcap)
{
    int ts = okx_get(js, t, n, k, "timestamp"), sym = okx_get(js, t, n, k, "symbol");
    int64_t ns;
    if (ts < 0 || sym < 0 || t[sym].type != JSMN_STRING ||
        (size_t)(t[sym].end - t[sym].start) >= sizeof(rec->trades[0].sym) ||
        feed_iso_ns(js + t[ts].start, (size_t)(t[ts].end - t[ts].start), true, &ns) < 0)
        return 0;
    int rc;
    tool_replay_trade_t *tr = add_trade(rec, tcap, fi, (uint64_t)ns, js, t, sym, &rc);
    return !tr ? rc : commit_trade(rec, tr, arena_printf(rec, cap, "%.*s", TV(k)));
}

static const char bb_trade_pre[] = "{\"topic\":\"publicTrade.";

/* One trade of a Bybit publicTrade push -> an index entry, id = its time in ns. */
static int index_bb_trade(tool_replay_rec_t *rec, size_t fi, const char *js, const jsmntok_t *t,
                          int n, int k, size_t *cap, size_t *tcap)
{
    int ts = okx_get(js, t, n, k, "T"), sym = okx_get(js, t, n, k, "s");
    int px = okx_get(js, t, n, k, "p"), sz = okx_get(js, t, n, k, "v");
    int side = okx_get(js, t, n, k, "S"), id = okx_get(js, t, n, k, "i");
    int bt = okx_get(js, t, n, k, "BT");
    char ms[24], *e;
    if (ts < 0 || sym < 0 || px < 0 || sz < 0 || side < 0 || id < 0 ||
        (size_t)(t[sym].end - t[sym].start) >= sizeof(rec->trades[0].sym))
        return 0;
    snprintf(ms, sizeof(ms), "%.*s", TV(ts));
    unsigned long long v = strtoull(ms, &e, 10);
    if (*e || !isdigit((unsigned char)ms[0]) || v > 9223372036854ULL)
        return 0;
    int rc;
    tool_replay_trade_t *tr = add_trade(rec, tcap, fi, (uint64_t)v * 1000000u, js, t, sym, &rc);
    if (!tr)
        return rc;
    return commit_trade(rec, tr,
                        arena_printf(rec, cap,
                                     "{\"execId\":\"%.*s\",\"symbol\":\"%.*s\",\"price\":\"%.*s\","
                                     "\"size\":\"%.*s\",\"side\":\"%.*s\",\"time\":\"%.*s\","
                                     "\"isBlockTrade\":%.*s}",
                                     TV(id), TV(sym), TV(px), TV(sz), TV(side), TV(ts),
                                     bt >= 0 ? t[bt].end - t[bt].start : 5,
                                     bt >= 0 ? js + t[bt].start : "false"));
}

static const char cf_snap_pre[] = "{\"feed\":\"trade_snapshot\",";
static const char cf_trade_pre[] = "{\"feed\":\"trade\",";

/* One Kraken Futures trade object (a live `trade` frame, or an element of a trade_snapshot's
 * trades: the same object) -> an index entry, id = its seq (consecutive per product), its text
 * the object as it was. */
static int index_cf_trade(tool_replay_rec_t *rec, size_t fi, const char *js, const jsmntok_t *t,
                          int n, int k, size_t *cap, size_t *tcap)
{
    int seq = okx_get(js, t, n, k, "seq"), pid = okx_get(js, t, n, k, "product_id");
    if (seq < 0 || pid < 0 || t[pid].type != JSMN_STRING)
        return 0;
    int rc;
    tool_replay_trade_t *tr = new_trade(rec, tcap, fi, js, t, seq, pid, &rc);
    return !tr ? rc : commit_trade(rec, tr, arena_printf(rec, cap, "%.*s", TV(k)));
}

/* Kraken Futures: the trades of a trade_snapshot frame, or of a live trade frame. */
static int index_cf_frame(tool_replay_rec_t *rec, size_t fi, size_t *cap, size_t *tcap)
{
    jsmntok_t t[TR_TOK];
    int n = frame_tokens(&rec->frames[fi], cf_trade_pre, t, TR_TOK);
    if (n > 0)
        return index_cf_trade(rec, fi, rec->frames[fi].data, t, n, 0, cap, tcap);
    return index_array(rec, fi, cf_snap_pre, "trades", index_cf_trade, cap, tcap);
}

static const char cc_pre[] = "{\"code\":0,\"method\":\"subscribe\",\"result\":{";

/* One Crypto.com trade push, {"code":0,"method":"subscribe","result":{"instrument_name":I,..,
 * "channel":"trade","data":[{"d":id,..},..]}} -> an entry per trade (newest first, as pushed),
 * its object as it was. @return the number indexed (0: not a trade push), -ENOMEM. */
static int index_cc_frame(tool_replay_rec_t *rec, size_t fi, size_t *cap, size_t *tcap)
{
    const tool_replay_frame_t *fr = &rec->frames[fi];
    if (!memmem(fr->data, fr->len, "\"channel\":\"trade\"", 17))
        return 0;
    jsmntok_t t[TR_TOK * 32];
    const char *js = fr->data;
    int n = frame_tokens(fr, cc_pre, t, TR_TOK * 32), got = 0;
    int res = okx_get(js, t, n, 0, "result");
    int in = okx_get(js, t, n, res, "instrument_name"), d = okx_get(js, t, n, res, "data");
    if (n < 1 || in < 0 || d < 0 || t[in].type != JSMN_STRING || t[d].type != JSMN_ARRAY)
        return 0;
    for (int k = d + 1, m = 0; m < t[d].size && k < n; m++, k = tok_next(t, n, k)) {
        int id = okx_get(js, t, n, k, "d"), rc;
        if (id < 0)
            continue;
        tool_replay_trade_t *tr = new_trade(rec, tcap, fi, js, t, id, in, &rc);
        if (!tr && rc < 0)
            return rc;
        if (tr && (rc = commit_trade(rec, tr, arena_printf(rec, cap, "%.*s", TV(k)))) < 0)
            return rc;
        got += tr != NULL;
    }
    return got;
}

int tool_replay_trades_index(tool_replay_rec_t *rec)
{
    size_t cap = 0, tcap = 0;
    bool cb = rec->r && strcmp(rec->r->venue, "coinbase") == 0;
    bool okx = rec->r && strcmp(rec->r->venue, "okex") == 0;
    bool bm = rec->r && strcmp(rec->r->venue, "bitmex") == 0;
    bool bb = rec->r && strncmp(rec->r->venue, "bybit", 5) == 0;
    bool cf = rec->r && strcmp(rec->r->venue, "cryptofacilities") == 0;
    bool cc = rec->r && strcmp(rec->r->venue, "crypto-com") == 0;
    rec->trade_snap = TOOL_REPLAY_TRADE_SNAP;
    for (size_t i = 0; i < rec->n_frames; i++) {
        if (!cap) {
            cap = 1 << 16;
            rec->trade_text = malloc(cap);
            if (!rec->trade_text)
                return -ENOMEM;
        }
        int rc = cb    ? index_cb_frame(rec, i, &cap, &tcap)
                 : okx ? index_data(rec, i, okx_trades_pre, index_okx_trade, &cap, &tcap)
                 : bm  ? index_data(rec, i, bm_trade_pre, index_bm_trade, &cap, &tcap)
                 : bb  ? index_data(rec, i, bb_trade_pre, index_bb_trade, &cap, &tcap)
                 : cf  ? index_cf_frame(rec, i, &cap, &tcap)
                 : cc  ? index_cc_frame(rec, i, &cap, &tcap)
                       : index_frame(rec, i, &cap, &tcap);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int tool_replay_trades_body(const tool_replay_rec_t *rec, bool agg, const char *sym, bool has_from,
                            uint64_t from, unsigned limit, size_t upto, char **body, size_t *len)
{
    *body = NULL;
    *len = 0;
    if (limit == 0)
        limit = TOOL_REPLAY_TRADES_DEFAULT;
    if (limit > TOOL_REPLAY_TRADES_MAX)
        limit = TOOL_REPLAY_TRADES_MAX;
    /* the published trades of this symbol and kind: [first, last) in index order */
    size_t known = 0, first = SIZE_MAX, last = 0, total = 0;
    for (size_t i = 0; i < rec->n_trades; i++) {
        const tool_replay_trade_t *tr = &rec->trades[i];
        if (tr->agg != agg || strcasecmp(tr->sym, sym) != 0)
            continue;
        known++;
        if (tr->frame >= upto || (has_from && tr->id < from))
            continue;
        if (first == SIZE_MAX)
            first = i;
        last = i + 1;
        total++;
    }
    if (known == 0)
        return -ENOENT;
    size_t skip = !has_from && total > limit ? total - limit : 0;
    size_t cap = 2 + (size_t)limit * 8, n = 0, out = 0;
    char *b = malloc(cap);
    if (!b)
        return -ENOMEM;
    b[n++] = '[';
    for (size_t i = first; first != SIZE_MAX && i < last && out < limit; i++) {
        const tool_replay_trade_t *tr = &rec->trades[i];
        if (tr->agg != agg || strcasecmp(tr->sym, sym) != 0 || tr->frame >= upto ||
            (has_from && tr->id < from))
            continue;
        if (skip) {
            skip--;
            continue;
        }
        if (n + tr->len + 3 > cap) {
            cap = (n + tr->len + 3) * 2;
            char *nb = realloc(b, cap);
            if (!nb) {
                free(b);
                return -ENOMEM;
            }
            b = nb;
        }
        if (out++)
            b[n++] = ',';
        memcpy(b + n, rec->trade_text + tr->off, tr->len);
        n += tr->len;
    }
    b[n++] = ']';
    b[n] = 0;
    *body = b;
    *len = n;
    return 0;
}

/* Index entries by trade id, newest first. */
static const tool_replay_rec_t *g_sort_rec;
static int cmp_id_desc(const void *a, const void *b)
{
    uint64_t x = g_sort_rec->trades[*(const size_t *)a].id;
    uint64_t y = g_sort_rec->trades[*(const size_t *)b].id;
    return (x < y) - (x > y);
}

/* The published trades of sym (frames [0, upto)) newest first: ids below after (has_after),
 * above before (has_before); at most limit; with before alone the page just above it
 * (before_oldest: Coinbase) or the newest (OKX). The objects joined by ',' between pre and
 * suf. @return 0, -ENOENT (no trade of sym recorded), -ENOMEM. */
static int trades_desc(const tool_replay_rec_t *rec, const char *sym, bool has_after,
                       uint64_t after, bool has_before, uint64_t before, unsigned limit,
                       size_t upto, bool before_oldest, const char *pre, const char *suf,
                       char **body, size_t *len)
{
    *body = NULL;
    *len = 0;
    size_t *sel = malloc((rec->n_trades + 1) * sizeof(*sel)), known = 0, n = 0;
    if (!sel)
        return -ENOMEM;
    for (size_t i = 0; i < rec->n_trades; i++) {
        const tool_replay_trade_t *tr = &rec->trades[i];
        if (strcasecmp(tr->sym, sym) != 0)
            continue;
        known++;
        if (tr->frame < upto && (!has_after || tr->id < after) && (!has_before || tr->id > before))
            sel[n++] = i;
    }
    if (known == 0) {
        free(sel);
        return -ENOENT;
    }
    g_sort_rec = rec;
    qsort(sel, n, sizeof(*sel), cmp_id_desc);
    size_t from = before_oldest && !has_after && has_before && n > limit ? n - limit : 0;
    size_t to = from + limit < n ? from + limit : n, cap = strlen(pre) + strlen(suf) + 1;
    for (size_t i = from; i < to; i++)
        cap += rec->trades[sel[i]].len + 1;
    char *b = malloc(cap);
    if (!b) {
        free(sel);
        return -ENOMEM;
    }
    size_t k = (size_t)sprintf(b, "%s", pre);
    for (size_t i = from; i < to; i++) {
        const tool_replay_trade_t *tr = &rec->trades[sel[i]];
        if (i > from)
            b[k++] = ',';
        memcpy(b + k, rec->trade_text + tr->off, tr->len);
        k += tr->len;
    }
    k += (size_t)sprintf(b + k, "%s", suf);
    free(sel);
    *body = b;
    *len = k;
    return 0;
}

int tool_replay_trades_cb_body(const tool_replay_rec_t *rec, const char *product, bool has_after,
                               uint64_t after, bool has_before, uint64_t before, unsigned limit,
                               size_t upto, char **body, size_t *len)
{
    if (limit == 0 || limit > TOOL_REPLAY_TRADES_MAX)
        limit = TOOL_REPLAY_TRADES_MAX;
    return trades_desc(rec, product, has_after, after, has_before, before, limit, upto, true, "[",
                       "]", body, len);
}

int tool_replay_trades_okx_body(const tool_replay_rec_t *rec, const char *inst, bool has_after,
                                uint64_t after, bool has_before, uint64_t before, unsigned limit,
                                size_t upto, char **body, size_t *len)
{
    if (limit == 0 || limit > TOOL_REPLAY_TRADES_OKX_MAX)
        limit = TOOL_REPLAY_TRADES_OKX_MAX;
    return trades_desc(rec, inst, has_after, after, has_before, before, limit, upto, false,
                       "{\"code\":\"0\",\"msg\":\"\",\"data\":[", "]}", body, len);
}

/* Index entries by time (id), then recording order. */
static int cmp_time_asc(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    uint64_t x = g_sort_rec->trades[i].id, y = g_sort_rec->trades[j].id;
    return x != y ? (x > y) - (x < y) : (i > j) - (i < j);
}

int tool_replay_trades_bm_body(const tool_replay_rec_t *rec, const char *sym, int64_t from_ns,
                               int64_t to_ns, unsigned start, unsigned count, bool reverse,
                               size_t upto, char **body, size_t *len)
{
    *body = NULL;
    *len = 0;
    if (count == 0)
        count = TOOL_REPLAY_TRADES_BM_DEFAULT;
    if (count > TOOL_REPLAY_TRADES_MAX)
        count = TOOL_REPLAY_TRADES_MAX;
    size_t *sel = malloc((rec->n_trades + 1) * sizeof(*sel)), n = 0, cap = 3;
    if (!sel)
        return -ENOMEM;
    for (size_t i = 0; i < rec->n_trades; i++) {
        const tool_replay_trade_t *tr = &rec->trades[i];
        if (tr->frame < upto && strcmp(tr->sym, sym) == 0 && (int64_t)tr->id >= from_ns &&
            (int64_t)tr->id <= to_ns)
            sel[n++] = i;
    }
    g_sort_rec = rec;
    qsort(sel, n, sizeof(*sel), cmp_time_asc);
    size_t from = start < n ? start : n, to = from + count < n ? from + count : n;
    for (size_t i = from; i < to; i++)
        cap += rec->trades[sel[reverse ? n - 1 - i : i]].len + 1;
    char *b = malloc(cap);
    if (!b) {
        free(sel);
        return -ENOMEM;
    }
    size_t k = 0;
    b[k++] = '[';
    for (size_t i = from; i < to; i++) {
        const tool_replay_trade_t *tr = &rec->trades[sel[reverse ? n - 1 - i : i]];
        if (i > from)
            b[k++] = ',';
        memcpy(b + k, rec->trade_text + tr->off, tr->len);
        k += tr->len;
    }
    b[k++] = ']';
    b[k] = 0;
    free(sel);
    *body = b;
    *len = k;
    return 0;
}

int tool_replay_trades_bybit_body(const tool_replay_rec_t *rec, const char *sym, bool spot,
                                  unsigned limit, size_t upto, char **body, size_t *len)
{
    unsigned cap = spot ? TOOL_REPLAY_TRADES_BYBIT_SPOT : TOOL_REPLAY_TRADES_MAX;
    if (limit == 0)
        limit = spot ? TOOL_REPLAY_TRADES_BYBIT_SPOT : 500;
    if (limit > cap)
        limit = cap;
    char pre[128];
    snprintf(pre, sizeof(pre),
             "{\"retCode\":0,\"retMsg\":\"OK\",\"result\":{\"category\":\"%s\",\"list\":[",
             spot ? "spot" : "linear");
    return trades_desc(rec, sym, false, 0, false, 0, limit, upto, false, pre,
                       "]},\"retExtInfo\":{},\"time\":0}", body, len);
}

/* Kraken Futures: per product (in the order they first trade) a trade_snapshot of its newest
 * TOOL_REPLAY_TRADES_CF_SNAP trades of frames [0, upto), newest first, a seq once (the
 * recording's trade_snapshot and its live trades), as the venue sends on a trade subscribe. */
static int cf_snapshots(const tool_replay_rec_t *rec, size_t upto, char **out, size_t *len)
{
    size_t *ix = malloc((rec->n_trades + 1) * sizeof(*ix)), bl = 0;
    char *b = NULL;
    FILE *m = ix ? open_memstream(&b, &bl) : NULL;
    if (!m) {
        free(ix);
        return -ENOMEM;
    }
    for (size_t i = 0; i < rec->n_trades; i++) {
        const char *p = rec->trades[i].sym;
        bool first = true; /* the product's first entry: its snapshot now */
        for (size_t j = 0; j < i && first; j++)
            first = strcmp(rec->trades[j].sym, p) != 0;
        if (!first)
            continue;
        size_t n = 0;
        for (size_t j = i; j < rec->n_trades; j++)
            if (rec->trades[j].frame < upto && strcmp(rec->trades[j].sym, p) == 0)
                ix[n++] = j;
        if (!n)
            continue;
        g_sort_rec = rec;
        qsort(ix, n, sizeof(*ix), cmp_id_desc);
        fprintf(m, "{\"feed\":\"trade_snapshot\",\"product_id\":\"%s\",\"trades\":[", p);
        for (size_t k = 0, w = 0; k < n && w < TOOL_REPLAY_TRADES_CF_SNAP; k++) {
            const tool_replay_trade_t *tr = &rec->trades[ix[k]];
            if (k && tr->id == rec->trades[ix[k - 1]].id)
                continue;
            fprintf(m, "%s%.*s", w++ ? "," : "", (int)tr->len, rec->trade_text + tr->off);
        }
        fputs("]}\n", m);
    }
    free(ix);
    if (fclose(m) != 0) {
        free(b);
        return -ENOMEM;
    }
    if (bl) {
        *out = b;
        *len = bl;
    } else {
        free(b);
    }
    return 0;
}

/* Crypto.com: per instrument (in the order they first trade) with a trade in frames [0, upto),
 * the push of its rec->trade_snap newest there, newest first: the frames from the last back,
 * each frame's trades in their order (newest first), an id once. */
static int cc_snapshots(const tool_replay_rec_t *rec, size_t upto, char **out, size_t *len)
{
    size_t *pick = malloc((rec->n_trades + 1) * sizeof(*pick)), cap = 1, k = 0;
    char *b = NULL;
    if (!pick)
        return -ENOMEM;
    for (size_t i = 0; i < rec->n_trades && rec->trade_snap; i++) {
        const tool_replay_trade_t *first = &rec->trades[i];
        size_t j = 0, np = 0;
        while (j < i && strcmp(rec->trades[j].sym, first->sym) != 0)
            j++;
        if (j < i || first->frame >= upto)
            continue; /* an instrument met before, or none published */
        for (size_t e = rec->n_trades; e-- > 0 && np < rec->trade_snap;) {
            const tool_replay_trade_t *tr = &rec->trades[e];
            if (tr->frame >= upto || strcmp(tr->sym, first->sym) != 0)
                continue;
            size_t g = e; /* the first trade of its frame: the frame's order */
            while (g > 0 && rec->trades[g - 1].frame == tr->frame)
                g--;
            for (size_t x = g; x <= e && np < rec->trade_snap; x++) {
                bool dup = strcmp(rec->trades[x].sym, first->sym) != 0;
                for (size_t y = 0; y < np && !dup; y++)
                    dup = rec->trades[pick[y]].id == rec->trades[x].id;
                if (!dup)
                    pick[np++] = x;
            }
            e = g;
        }
        size_t need = 256 + 2 * strlen(first->sym);
        for (size_t y = 0; y < np; y++)
            need += rec->trades[pick[y]].len + 1;
        char *nb = realloc(b, cap + need);
        if (!nb) {
            free(b);
            free(pick);
            return -ENOMEM;
        }
        b = nb;
        cap += need;
        k += (size_t)sprintf(b + k,
                             "{\"code\":0,\"method\":\"subscribe\",\"result\":{\"instrument_name\":"
                             "\"%s\",\"subscription\":\"trade.%s\",\"channel\":\"trade\","
                             "\"data\":[",
                             first->sym, first->sym);
        for (size_t y = 0; y < np; y++) {
            const tool_replay_trade_t *tr = &rec->trades[pick[y]];
            if (y)
                b[k++] = ',';
            memcpy(b + k, rec->trade_text + tr->off, tr->len);
            k += tr->len;
        }
        k += (size_t)sprintf(b + k, "]}}\n");
    }
    free(pick);
    *out = b;
    *len = k;
    return 0;
}

int tool_replay_trades_cb_last(const tool_replay_rec_t *rec, size_t upto, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (rec->r && strcmp(rec->r->venue, "cryptofacilities") == 0)
        return cf_snapshots(rec, upto, out, len);
    if (rec->r && strcmp(rec->r->venue, "crypto-com") == 0)
        return cc_snapshots(rec, upto, out, len);
    bool okx = rec->r && strcmp(rec->r->venue, "okex") == 0;
    if (!rec->r || (!okx && strcmp(rec->r->venue, "coinbase") != 0))
        return 0;
    /* one pass: per product (in the order they first trade) the entry of its newest match;
       products are few, so a linear look-up */
    size_t *best = malloc((rec->n_trades + 1) * sizeof(*best)), n_prod = 0;
    if (!best)
        return -ENOMEM;
    for (size_t i = 0; i < rec->n_trades; i++) {
        const tool_replay_trade_t *tr = &rec->trades[i];
        if (tr->frame >= upto)
            continue;
        size_t p = 0;
        while (p < n_prod && strcmp(rec->trades[best[p]].sym, tr->sym) != 0)
            p++;
        if (p == n_prod)
            best[n_prod++] = i;
        else if (tr->id > rec->trades[best[p]].id)
            best[p] = i;
    }
    size_t cap = 1, k = 0;
    for (size_t p = 0; p < n_prod; p++)
        cap += rec->frames[rec->trades[best[p]].frame].len + 6; /* "last_" and the newline */
    char *b = n_prod ? malloc(cap) : NULL;
    if (n_prod && !b) {
        free(best);
        return -ENOMEM;
    }
    for (size_t p = 0; p < n_prod; p++) { /* the match frame, "match" made "last_match" */
        const tool_replay_frame_t *fr = &rec->frames[rec->trades[best[p]].frame];
        if (okx) { /* OKX: the push of the newest trade as it was */
            memcpy(b + k, fr->data, fr->len);
            k += fr->len;
            b[k++] = '\n';
            continue;
        }
        size_t tail = fr->len - (sizeof(cb_match_pre) - 1);
        k += (size_t)sprintf(b + k, "{\"type\":\"last_match\"");
        memcpy(b + k, fr->data + sizeof(cb_match_pre) - 1, tail);
        k += tail;
        b[k++] = '\n';
    }
    if (b)
        b[k] = 0;
    free(best);
    *out = b;
    *len = k;
    return 0;
}
