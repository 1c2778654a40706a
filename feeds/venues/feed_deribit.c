/* SPDX-License-Identifier: MIT */
/*
 * Deribit API v2 (JSON-RPC 2.0 over wss://www.deribit.com/ws/api/v2) venue handler:
 * book.<instrument>.<interval> (snapshot, then changes chained by prev_change_id),
 * trades.<instrument>.<interval>, the heartbeat protocol (public/set_heartbeat, answering
 * "test_request" with public/test), RPC results and errors. Instruments are Deribit's names as
 * they are: options (BTC-24SEP21-8000-P), futures (BTC-24SEP21), perpetuals (BTC-PERPETUAL),
 * linear ones (BTC_USDC-PERPETUAL); nothing in here depends on their shape.
 *
 * DESIGN
 * Frames are tokenized with jsmn (feed_jtok.h). Notifications are
 *   {"jsonrpc":"2.0","method":"subscription","params":{"channel":C,"data":D}}
 * and C's prefix picks the parser ("book." / "trades."; anything else, e.g. "ticker.", is
 * counted unhandled). Every number of a message is decoded (feed_dec_px / feed_dec_sz, exact,
 * scales raised on demand: TG_ERESCALE goes straight back to feed_frame(), which parses the
 * frame again) into a scratch array before any state changes or any event is emitted, so a
 * message is applied completely or not at all.
 * Book: "snapshot" = TG_EV_BOOK_CLEAR + levels flagged TG_EVF_SNAPSHOT (seq = change_id);
 * "change" must carry prev_change_id == the change_id last applied, else TG_EV_GAP (seq = last
 * change_id, aux = the prev_change_id received), gaps++, and the book channel is unsubscribed and
 * subscribed again (Deribit answers with a new snapshot; changes until then are dropped,
 * stale_dropped). Changes before the first snapshot are dropped the same way. Levels are
 * ["new"|"change"|"delete", price, amount]; delete sets size 0. A message without "type" with
 * [price, amount] levels (the grouped book.<instr>.<group>.<depth>.<interval> channel) is a full
 * snapshot. A book message that cannot be read resyncs the same way (GAP + resubscribe).
 * Trades: "direction" is the taker's side (the aggressor); trade_id is text ("ETH-1234" or
 * digits): digits are kept as the number, anything else is hashed (feed_hash_id); trade_seq goes
 * in seq.
 * Heartbeats: on_open sends public/set_heartbeat (30 s); Deribit then sends
 * {"method":"heartbeat","params":{"type":"test_request"}} and closes the connection unless
 * public/test is answered, which on_frame does at once.
 * Subscriptions go out in batches of DB_SUB_BATCH channels, at most DB_SENDS_PER_S messages per
 * second (on_open sends the first second's worth, on_tick the rest).
 * Thread: feed:deribit (everything here).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_dec.h"
#include "book/tg_err.h"
#include "feeds/feed.h"
#include "feeds/feed_jtok.h"
#include "feed_venue_util.h"
#include "venues.h"

#define DB_TOK_INIT    4096
#define DB_TOK_MAX     (1 << 20)
#define DB_SUB_BATCH   64 /* channels per public/subscribe message */
#define DB_SENDS_PER_S 20 /* Deribit: non-matching-engine requests, 20/s sustained */
#define DB_HEARTBEAT_S 30 /* public/set_heartbeat interval (Deribit minimum: 10) */
#define DB_INTERVAL    "raw"
#define DB_NS_PER_S    1000000000LL

typedef struct db_item {
    int64_t px, sz, ts;
    uint64_t tid, seq;
    uint32_t sym; /* index in st->sym (trades) */
    uint8_t side;
} db_item_t;

typedef struct db_sym {
    uint32_t id;
    uint8_t synced;     /* snapshot applied since (re)subscribe */
    uint64_t change_id; /* change_id last applied */
} db_sym_t;

typedef struct db_state {
    feed_jtok_t jt;
    feed_level_t *lv; /* a book message's levels */
    size_t lv_cap;
    db_item_t *it; /* a message's trades */
    size_t it_cap;
    db_sym_t *sym;
    uint16_t *slot; /* instrument id -> index + 1 */
    feed_ratelim_t rl;
    uint64_t rpc_id;     /* next JSON-RPC request id */
    uint32_t sub_next;   /* next channel (index into the 2 * n_instr list) to subscribe */
    uint32_t sends_left; /* messages still allowed in this second */
    char sbuf[256 + DB_SUB_BATCH * (TG_SYMBOL_MAX + 16) + 64]; /* one request */
} db_state_t;

#define db_log(h, ...) feed_jtok_log((h), &((db_state_t *)(h)->vstate)->rl, __VA_ARGS__)

/* ms integer token -> ns */
/* ---- sending ---------------------------------------------------------------------------- */

/* A JSON-RPC request (the next id) of method with params into buf. @return its length
 * (snprintf's). */
static int db_rpc_fmt(feed_handler_t *h, char *buf, size_t cap, const char *method,
                      const char *params)
{
    db_state_t *st = h->vstate;
    return snprintf(buf, cap,
                    "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"%s\","
                    "\"params\":%s}",
                    (unsigned long long)st->rpc_id++, method, params);
}

static int db_rpc(feed_handler_t *h, const char *method, const char *params)
{
    db_state_t *st = h->vstate;
    int n = db_rpc_fmt(h, st->sbuf, sizeof(st->sbuf), method, params);
    if (n < 0 || (size_t)n >= sizeof(st->sbuf))
        return -ENOSPC;
    return feed_send(h, st->sbuf, (size_t)n);
}

/* Channel k of the subscription list (book and trades of every instrument), or 0 when the
 * channel is not wanted (channel mask, unusable name). */
static size_t db_channel(feed_handler_t *h, uint32_t k, char *out, size_t cap)
{
    uint32_t i = k / 2;
    bool book = (k & 1) == 0;
    if (!(h->channels & (book ? FEED_CH_BOOK : FEED_CH_TRADES)))
        return 0;
    const tg_instr_t *in = tg_instr_reg_get(h->reg, h->instr[i]);
    if (!in || !feed_json_safe(in->symbol))
        return 0;
    int n = snprintf(out, cap, "\"%s.%s.%s\"", book ? "book" : "trades", in->symbol, DB_INTERVAL);
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

/* Send subscribe batches while this second's budget lasts. */
static int db_subscribe_more(feed_handler_t *h)
{
    db_state_t *st = h->vstate;
    uint32_t total = 2 * h->n_instr;
    char params[DB_SUB_BATCH * (TG_SYMBOL_MAX + 16) + 64];
    while (st->sub_next < total && st->sends_left > 0) {
        size_t n = (size_t)snprintf(params, sizeof(params), "{\"channels\":[");
        uint32_t in_batch = 0;
        while (st->sub_next < total && in_batch < DB_SUB_BATCH) {
            char ch[TG_SYMBOL_MAX + 32];
            size_t cl = db_channel(h, st->sub_next, ch, sizeof(ch));
            if (cl && n + cl + 4 < sizeof(params)) {
                if (in_batch)
                    params[n++] = ',';
                memcpy(params + n, ch, cl);
                n += cl;
                in_batch++;
            } else if (cl) {
                break; /* full: next message */
            }
            st->sub_next++;
        }
        if (!in_batch)
            continue;
        memcpy(params + n, "]}", 3);
        st->sends_left--;
        int rc = db_rpc(h, "public/subscribe", params);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* feed_resub_fmt_fn: public/unsubscribe or public/subscribe of in's book channel. */
static int db_resub_msg(feed_handler_t *h, const void *sym, const tg_instr_t *in, const char *op,
                        char *msg, size_t cap)
{
    char method[32], params[TG_SYMBOL_MAX + 64];
    snprintf(method, sizeof(method), "public/%s", op);
    snprintf(params, sizeof(params), "{\"channels\":[\"book.%s.%s\"]}", in->symbol, DB_INTERVAL);
    return db_rpc_fmt(h, msg, cap, method, params);
}

/* feed_resub_sym_fn: drop the instrument's book and subscribe to it again (Deribit sends a new
 * snapshot). */
static void db_resubscribe(feed_handler_t *h, void *sym)
{
    db_sym_t *s = sym;
    s->synced = 0;
    s->change_id = 0;
    feed_resync_resubscribe(h, s, db_resub_msg, "deribit: resubscribe failed");
}

static void db_gap(feed_handler_t *h, db_sym_t *s, uint64_t got, int64_t ts_recv, int64_t ts_mono)
{
    feed_emit_make(h, TG_EV_GAP, s->id, 0, 0, 0, s->change_id, got, 0, ts_recv, ts_mono,
                   TG_EVF_LAST);
    TG_STAT_INC(h->stats->gaps);
    db_resubscribe(h, s);
}

/* ---- book ------------------------------------------------------------------------------- */

/* Level i of st->lv: [price, amount], or [action, price, amount] when a->ctx (a change: the
 * action "new", "change" or "delete", which makes the amount 0). Numbers; a price of 0 is no
 * level. */
static int db_level(feed_handler_t *h, const feed_lvls_t *a, int k, size_t i, int *bad)
{
    bool typed = a->ctx != NULL;
    int want = typed ? 3 : 2;
    if (a->t[k].size != want)
        return TG_EFIELD;
    bool del = false;
    if (typed) {
        const jsmntok_t *act = &a->t[k + 1];
        if (feed_jtok_str_is(a->js, act, "delete"))
            del = true;
        else if (!feed_jtok_str_is(a->js, act, "new") && !feed_jtok_str_is(a->js, act, "change"))
            return TG_EFIELD;
    }
    feed_level_t *l = &((db_state_t *)h->vstate)->lv[i];
    int rc = feed_level_at(h, a, k, want - 1, JSMN_PRIMITIVE, true, &l->px, &l->sz, bad);
    if (rc < 0)
        return rc;
    if (del)
        l->sz = 0;
    l->side = a->side;
    return 0;
}

static int db_book(feed_handler_t *h, const char *js, const jsmntok_t *t, int n, int d,
                   int64_t ts_recv, int64_t ts_mono)
{
    db_state_t *st = h->vstate;
    int ins = feed_jtok_get(js, t, n, d, "instrument_name");
    if (ins < 0 || t[ins].type != JSMN_STRING)
        return feed_jtok_drop(h, ts_mono, TG_EFIELD, "book without instrument_name", js, &t[d]);
    int rc;
    db_sym_t *s = feed_vsym_tok(h, ts_mono, js, &t[ins], "unknown instrument", &rc);
    if (!s)
        return rc;
    static const char *const keys[] = {"type",      "bids",      "asks",
                                       "timestamp", "change_id", "prev_change_id"};
    int f[6];
    feed_jtok_getv(js, t, n, d, keys, f, 6);
    int typ = f[0], bids = f[1], asks = f[2], tsi = f[3], cid = f[4], pid = f[5];
    int snap = 1, bad = d;
    rc = TG_EFIELD;
    size_t ni = 0;
    int64_t ts = 0, chg = 0, prev = 0;
    if (typ >= 0) {
        bad = typ;
        if (feed_jtok_str_is(js, &t[typ], "change"))
            snap = 0;
        else if (!feed_jtok_str_is(js, &t[typ], "snapshot"))
            goto fail;
    }
    bad = d;
    if (bids < 0 || asks < 0 || tsi < 0 || cid < 0 || (!snap && pid < 0))
        goto fail;
    bad = tsi;
    if (feed_jtok_ms_num(js, &t[tsi], &ts) < 0)
        goto fail;
    bad = cid;
    if (t[cid].type != JSMN_PRIMITIVE || feed_jtok_i64(js, &t[cid], &chg) < 0 || chg < 0)
        goto fail;
    if (pid >= 0) {
        bad = pid;
        if (t[pid].type != JSMN_PRIMITIVE || feed_jtok_i64(js, &t[pid], &prev) < 0 || prev < 0)
            goto fail;
    }
    const feed_lvls_t la = {js, t, n, s->id, 0, typ >= 0 ? (void *)&typ : NULL};
    if ((rc = feed_book_levels(h, &la, bids, asks, typ >= 0 ? 3 : 2, st->lv_cap, &ni, &bad,
                               db_level)) < 0) {
        if (rc == TG_ERESCALE)
            return rc;
        goto fail;
    }
    /* everything parsed: apply */
    if (!snap) {
        if (!s->synced) {
            TG_STAT_INC(h->stats->stale_dropped);
            return 0;
        }
        if ((uint64_t)prev != s->change_id) {
            db_log(h, ts_mono, FEED_LOG_WARN, "prev_change_id gap, resubscribing", js, &t[pid]);
            db_gap(h, s, (uint64_t)prev, ts_recv, ts_mono);
            return 0;
        }
    }
    s->change_id = (uint64_t)chg;
    if (snap)
        s->synced = 1;
    feed_emit_book(h, s->id, snap, (uint64_t)chg, st->lv, ni, ts, ts_recv, ts_mono);
    return 0;
fail:
    feed_count_error(h->stats, rc);
    db_log(h, ts_mono, FEED_LOG_WARN, "bad book message, resyncing", js, &t[bad]);
    if (feed_dec_is_fault(rc)) {
        /* feed_dec already put the book in FAULT: a new snapshot that fits clears it */
        db_resubscribe(h, s);
    } else if (s->synced || snap) {
        db_gap(h, s, 0, ts_recv, ts_mono);
    }
    return rc;
}

/* ---- trades ----------------------------------------------------------------------------- */

static int db_trade_id(const char *js, const jsmntok_t *t, uint64_t *id)
{
    if (t->type != JSMN_STRING && t->type != JSMN_PRIMITIVE)
        return TG_EFIELD;
    int64_t v;
    if (feed_jtok_i64(js, t, &v) == 0 && v >= 0)
        *id = (uint64_t)v;
    else
        *id = feed_hash_id(js + t->start, feed_jtok_len(t));
    return 0;
}

static int db_trades(feed_handler_t *h, const char *js, const jsmntok_t *t, int n, int d,
                     int64_t ts_recv, int64_t ts_mono)
{
    db_state_t *st = h->vstate;
    int bad = d, rc = TG_EFIELD;
    size_t ni = 0;
    if (t[d].type != JSMN_ARRAY)
        goto fail;
    int k = d + 1;
    for (int m = 0; m < t[d].size; m++) {
        bad = k;
        rc = TG_EFIELD;
        if (k >= n || t[k].type != JSMN_OBJECT || ni >= st->it_cap)
            goto fail;
        static const char *const keys[] = {"instrument_name", "price",    "amount",   "direction",
                                           "timestamp",       "trade_id", "trade_seq"};
        int f[7];
        feed_jtok_getv(js, t, n, k, keys, f, 7);
        int ins = f[0], px = f[1], am = f[2], dir = f[3], tsi = f[4], tid = f[5], seq = f[6];
        if (ins < 0 || px < 0 || am < 0 || dir < 0 || tsi < 0 || tid < 0 ||
            t[ins].type != JSMN_STRING || t[px].type != JSMN_PRIMITIVE ||
            t[am].type != JSMN_PRIMITIVE)
            goto fail;
        bad = ins;
        int i = feed_slot_find(h, st->slot, js + t[ins].start, feed_jtok_len(&t[ins]));
        if (i < 0) {
            rc = TG_ESYMBOL;
            goto fail;
        }
        db_item_t *x = &st->it[ni];
        x->sym = (uint32_t)i;
        uint32_t id = st->sym[i].id;
        bad = px;
        if ((rc = feed_dec_px(h, id, js + t[px].start, feed_jtok_len(&t[px]), &x->px)) < 0)
            goto dec_fail;
        bad = am;
        if ((rc = feed_dec_sz(h, id, js + t[am].start, feed_jtok_len(&t[am]), &x->sz)) < 0)
            goto dec_fail;
        rc = TG_EFIELD;
        bad = dir;
        if (feed_jtok_side(js, &t[dir], "buy", TG_SIDE_BUY, "sell", TG_SIDE_SELL, &x->side) < 0)
            goto fail;
        bad = tsi;
        if (feed_jtok_ms_num(js, &t[tsi], &x->ts) < 0)
            goto fail;
        bad = tid;
        if (db_trade_id(js, &t[tid], &x->tid) < 0)
            goto fail;
        int64_t sq = 0;
        if (seq >= 0) {
            bad = seq;
            if (t[seq].type != JSMN_PRIMITIVE || feed_jtok_i64(js, &t[seq], &sq) < 0 || sq < 0)
                goto fail;
        }
        x->seq = (uint64_t)sq;
        ni++;
        k = feed_jtok_next(t, n, k);
    }
    /* all parsed: emit, one exchange message per run of trades of one instrument */
    for (size_t i = 0; i < ni; i++) {
        const db_item_t *x = &st->it[i];
        tg_event_t ev = feed_event(TG_EV_TRADE, st->sym[x->sym].id, x->side, x->px, x->sz, x->seq,
                                   0, x->ts, ts_recv, ts_mono, 0);
        ev.u.trade_id = x->tid;
        feed_emit_counted(h, &ev);
        if (i + 1 == ni || st->it[i + 1].sym != x->sym)
            feed_end_message(h, ev.instr, x->ts, ts_recv, ts_mono);
    }
    if (ni == 0)
        TG_STAT_INC(h->stats->unhandled);
    return 0;
dec_fail:
    if (rc == TG_ERESCALE)
        return rc;
    if (feed_dec_is_fault(rc)) /* feed_dec put the book in FAULT: a fresh snapshot clears it */
        db_resubscribe(h, &st->sym[st->it[ni].sym]);
fail:
    feed_count_error(h->stats, rc);
    db_log(h, ts_mono, FEED_LOG_WARN, "bad trade message dropped", js, &t[bad]);
    return rc;
}

/* ---- frames ----------------------------------------------------------------------------- */

static int db_frame(feed_handler_t *h, const char *buf, size_t len, const jsmntok_t *t, int n,
                    int64_t ts_recv, int64_t ts_mono)
{
    int m = feed_jtok_get(buf, t, n, 0, "method");
    if (m >= 0) {
        int par = feed_jtok_get(buf, t, n, 0, "params");
        if (feed_jtok_str_is(buf, &t[m], "heartbeat")) {
            int ty = feed_jtok_get(buf, t, n, par, "type");
            if (ty >= 0 && feed_jtok_str_is(buf, &t[ty], "test_request"))
                db_rpc(h, "public/test", "{}");
            TG_STAT_INC(h->stats->unhandled);
            return 0;
        }
        if (!feed_jtok_str_is(buf, &t[m], "subscription")) {
            TG_STAT_INC(h->stats->unhandled);
            return 0;
        }
        int ch = feed_jtok_get(buf, t, n, par, "channel");
        int data = feed_jtok_get(buf, t, n, par, "data");
        int rc = TG_EFIELD;
        if (ch < 0 || data < 0 || t[ch].type != JSMN_STRING) {
            db_log(h, ts_mono, FEED_LOG_WARN, "subscription without channel/data", buf, &t[0]);
        } else if (feed_jtok_len(&t[ch]) > 5 && memcmp(buf + t[ch].start, "book.", 5) == 0) {
            rc = db_book(h, buf, t, n, data, ts_recv, ts_mono);
            return rc;
        } else if (feed_jtok_len(&t[ch]) > 7 && memcmp(buf + t[ch].start, "trades.", 7) == 0) {
            return db_trades(h, buf, t, n, data, ts_recv, ts_mono);
        } else {
            TG_STAT_INC(h->stats->unhandled); /* ticker, quote, ... */
            return 0;
        }
        feed_count_error(h->stats, rc);
        return rc;
    }
    if (feed_jtok_get(buf, t, n, 0, "error") >= 0) {
        db_log(h, ts_mono, FEED_LOG_ERROR, "venue error", buf, &t[0]);
        feed_count_error(h->stats, TG_EPROTO);
        return TG_EPROTO;
    }
    if (feed_jtok_get(buf, t, n, 0, "result") >= 0) {
        TG_STAT_INC(h->stats->unhandled); /* subscribe / set_heartbeat / test answers */
        return 0;
    }
    db_log(h, ts_mono, FEED_LOG_WARN, "not a JSON-RPC message", buf, &t[0]);
    feed_count_error(h->stats, TG_EFIELD);
    return TG_EFIELD;
}

static const feed_vparser_t db_parser = {db_frame, JSMN_OBJECT, FEED_VP_COUNT | FEED_VP_SLOW};

/* Every frame counts exactly once: in handled, unhandled or one err_* counter (a frame parsed
 * again after a scale change is counted by its last attempt only). */
/* ---- lifecycle -------------------------------------------------------------------------- */

/* The state, allocated and freed by the venue base (the level and trade scratch grow with the
 * tokens).
 * Instruments: feed_instr_defaults_plain (raw books are full depth: Deribit deletes what
 * leaves; no checksum). */
static const feed_vspec_t db_spec = {
    FEED_VSPEC(db_state_t, DB_TOK_INIT, DB_TOK_MAX),
    .blocks = {FEED_VSCRATCH(db_state_t, lv, 4), FEED_VSCRATCH(db_state_t, it, 4)},
    .reset = {FEED_VRESET(db_sym_t, synced, 0), FEED_VRESET(db_sym_t, change_id, 0)},
};

static int db_on_open(feed_handler_t *h)
{
    db_state_t *st = h->vstate;
    feed_resync_rebase(h);
    feed_vreset(h);
    st->sub_next = 0;
    st->sends_left = DB_SENDS_PER_S - 1;
    char hb[64];
    snprintf(hb, sizeof(hb), "{\"interval\":%d}", DB_HEARTBEAT_S);
    int rc = db_rpc(h, "public/set_heartbeat", hb);
    if (rc >= 0)
        rc = db_subscribe_more(h);
    return rc < 0 ? rc : 0;
}

static void db_on_tick(feed_handler_t *h, int64_t now_mono)
{
    db_state_t *st = h->vstate;
    feed_resub_tick(h, &st->sends_left, DB_SENDS_PER_S, db_resubscribe, db_subscribe_more,
                    "deribit: subscribe failed", now_mono);
}

const feed_venue_t feed_venue_deribit = {
    .name = "deribit",
    .default_url = "wss://www.deribit.com/ws/api/v2",
    .max_symbols_per_conn = 0, /* no published channel limit per connection */
    .max_sends_per_s = DB_SENDS_PER_S,
    .instr_defaults = feed_instr_defaults_plain,
    .state = &db_spec,
    FEED_VENUE_PARSE_VCLOSE(db),
};
