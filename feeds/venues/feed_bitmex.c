/* SPDX-License-Identifier: MIT */
/*
 * BitMEX realtime websocket (wss://ws.bitmex.com/realtime) venue handler: "orderBookL2"
 * (and orderBookL2_25) partial/insert/update/delete by level id, "trade" inserts, and the
 * info/success/error/pong frames.
 *
 * DESIGN
 * orderBookL2 levels are keyed by id; update and delete messages carry the id and side but not
 * the price, so the handler keeps an id -> price map for every symbol of the connection: one
 * open-addressing table (linear probing, backward-shift deletion) with a fixed capacity sized
 * at init (no allocation per message). A partial (snapshot) for a symbol first purges that
 * symbol's ids (one rebuild of the table into its twin). The whole frame is validated and every
 * price resolved before anything is emitted (all-or-nothing): an update/delete for an unknown
 * id, an insert that would overflow the table, or a level that does not parse makes that
 * symbol's book unusable: TG_EV_GAP + resubscribe, and its messages are dropped until the new
 * partial. BitMEX frames may mix symbols; every run of one symbol is one exchange message.
 * The trade "partial" (the last trades replayed on subscribe) is not a trade (as tardis).
 * There are no sequence numbers and no checksums on this feed.
 * Trade backfill (docs/feeds.md; time mode of feed_backfill.c): trades carry a trdMatchID (a
 * GUID, hashed to the event's trade id by feed_hash_id) but no consecutive ids, so a reconnect's
 * hole is fetched by time: GET /api/v1/trade?symbol=S&startTime=..&endTime=..&count=1000&
 * start=K&reverse=false, oldest first, `start` the offset past the trades already fetched at
 * startTime. The page's trades decode as the live ones (bm_trade_item: same scales, same id).
 * Scales: prices/sizes go through feed_dec at the symbol's current scales (raised when a value
 * needs more places, e.g. TRXU21 "0.0000016425": TG_ERESCALE, the frame is parsed again; pass
 * 1 changes no state, the resyncs it finds happen at the start of pass 2). The id -> price map
 * follows a raise exactly (bm_on_rescale); a price it can no longer hold resyncs the symbol.
 * Thread: feed:bitmex (everything here).
 */
#define JSMN_STATIC
#define JSMN_PARENT_LINKS    /* O(1) instead of a backwards scan per closing bracket: 1000-level   \
                                snapshots are quadratic without it */
#define JSMN_STRICT          /* keys must be strings, primitives must be JSON values */
#include <jsmn.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "book/tg_dec.h"
#include "book/tg_err.h"
#include "feeds/feed.h"
#include "feed_venue_util.h"
#include "venues.h"
#include "feeds/feed_jtok.h"
#include "feeds/venues/feed_backfill.h"

/* Initial scales of a symbol: prices 8 places (TRXM21 0.00000216), sizes 4 (contracts,
 * integers on the 2021 feed). Values are parsed with feed_dec at the symbol's current scales,
 * which rise when a value needs more places (TRXU21 "0.0000016425": 10); the id -> price map
 * follows (bm_on_rescale). */
#define BM_PX_SCALE     8
#define BM_SZ_SCALE     4
#define BM_TOK_INIT     8192
#define BM_TOK_MAX      (1 << 21)
#define BM_IDS_PER_SYM  16384
#define BM_MAP_MAX_BITS 22
#define BM_PING_NS      (20 * 1000000000LL)
#define BM_BF_PAGE      1000u /* GET /api/v1/trade: count <= 1000 */
#define BM_BF_PER_MIN   30u   /* BitMEX REST: 30 requests a minute unauthenticated */

typedef struct bm_ent {
    uint64_t key; /* 0 = empty; (slot + 1) << 48 | id */
    int64_t px;
} bm_ent_t;

typedef struct bm_item {
    int64_t px, sz, ts;
    uint64_t key;
    uint64_t tid;
    uint16_t slot;
    uint8_t side, op; /* op: 0 set (partial/insert/update), 1 delete */
} bm_item_t;

typedef struct bm_sym {
    uint32_t id;
    uint8_t synced;
    uint8_t map_lost; /* a price of the id map did not fit a raised scale: resync pending */
    feed_bf_sym_t bf; /* trade backfill by time: the last trade time across reconnects */
} bm_sym_t;

typedef struct bm_state {
    feed_jtok_t jt;
    bm_item_t *it;
    size_t it_cap;
    bm_ent_t *map, *map2;
    uint32_t bits, mask, used, limit;
    bm_sym_t *sym;
    uint16_t *slot;
    feed_ratelim_t rl;
    int64_t last_ping;
    feed_bf_t bf; /* trade backfill (feed_backfill.c, time mode) */
} bm_state_t;

enum { BM_OP_SET = 0, BM_OP_DEL = 1 };

/* ---- id -> price map ---------------------------------------------------------------------- */

static uint32_t bm_hash(const bm_state_t *st, uint64_t key)
{
    return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> (64 - st->bits));
}

static bm_ent_t *bm_find(bm_state_t *st, uint64_t key)
{
    for (uint32_t i = bm_hash(st, key);; i = (i + 1) & st->mask) {
        if (st->map[i].key == key)
            return &st->map[i];
        if (st->map[i].key == 0)
            return NULL;
    }
}

/* @return 0, or -ENOSPC when the table is at its load limit */
static int bm_put(bm_state_t *st, uint64_t key, int64_t px)
{
    uint32_t i = bm_hash(st, key);
    for (;; i = (i + 1) & st->mask) {
        if (st->map[i].key == key) {
            st->map[i].px = px;
            return 0;
        }
        if (st->map[i].key == 0)
            break;
    }
    if (st->used >= st->limit)
        return -ENOSPC;
    st->map[i].key = key;
    st->map[i].px = px;
    st->used++;
    return 0;
}

static void bm_del(bm_state_t *st, uint64_t key)
{
    bm_ent_t *e = bm_find(st, key);
    if (!e)
        return;
    uint32_t i = (uint32_t)(e - st->map), j = i;
    for (;;) {
        j = (j + 1) & st->mask;
        if (st->map[j].key == 0)
            break;
        uint32_t k = bm_hash(st, st->map[j].key);
        /* move j back to i unless its home k lies cyclically in (i, j] */
        int stay = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stay) {
            st->map[i] = st->map[j];
            i = j;
        }
    }
    st->map[i].key = 0;
    st->used--;
}

/* Remove every id of one symbol: rebuild into the twin table. */
static void bm_purge(bm_state_t *st, uint16_t slot)
{
    bm_ent_t *old = st->map;
    uint32_t n = st->mask + 1;
    st->map = st->map2;
    st->map2 = old;
    memset(st->map, 0, (size_t)n * sizeof(bm_ent_t));
    st->used = 0;
    for (uint32_t i = 0; i < n; i++)
        if (old[i].key && (old[i].key >> 48) != (uint64_t)slot + 1)
            bm_put(st, old[i].key, old[i].px);
    st->sym[slot].map_lost = 0;
}

/* ---- helpers ------------------------------------------------------------------------------ */

#define bm_log(h, ...) feed_jtok_log((h), &((bm_state_t *)(h)->vstate)->rl, __VA_ARGS__)

static int bm_slot(feed_handler_t *h, const char *s, size_t n)
{
    bm_state_t *st = h->vstate;
    return feed_slot_find(h, st->slot, s, n);
}

static void bm_resubscribe(feed_handler_t *h, uint16_t slot);

static void bm_resync(feed_handler_t *h, uint16_t slot, int64_t ts_recv, int64_t ts_mono)
{
    bm_state_t *st = h->vstate;
    bm_sym_t *s = &st->sym[slot];
    feed_emit_make(h, TG_EV_GAP, s->id, 0, 0, 0, 0, 0, 0, ts_recv, ts_mono, TG_EVF_LAST);
    TG_STAT_INC(h->stats->gaps);
    bm_resubscribe(h, slot);
}

/* Drop the symbol's book and ids, subscribe to it again (a fresh partial follows). */
static void bm_resubscribe(feed_handler_t *h, uint16_t slot)
{
    bm_state_t *st = h->vstate;
    bm_sym_t *s = &st->sym[slot];
    TG_STAT_INC(h->stats->resyncs);
    s->synced = 0;
    bm_purge(st, slot);
    const tg_instr_t *in = tg_instr_reg_get(h->reg, s->id);
    if (!in || !feed_json_safe(in->symbol) || !h->send)
        return;
    char msg[160];
    int rc = 0;
    for (int k = 0; k < 2 && rc >= 0; k++) {
        int n = snprintf(msg, sizeof(msg), "{\"op\":\"%s\",\"args\":[\"orderBookL2:%s\"]}",
                         k == 0 ? "unsubscribe" : "subscribe", in->symbol);
        rc = h->send(h->tctx, msg, (size_t)n);
    }
    if (rc < 0 && h->reconnect)
        h->reconnect(h->tctx, "bitmex: resubscribe failed");
}

/* decimal text of a JSON number or string token, at the symbol's current price (how =
 * FEED_DEC_PX) or size (FEED_DEC_SZ) scale. @return 0, TG_ERESCALE or an error. */
static int bm_num(feed_handler_t *h, uint32_t id, unsigned how, const char *js, const jsmntok_t *t,
                  int64_t *out)
{
    if (t->type != JSMN_PRIMITIVE && t->type != JSMN_STRING)
        return TG_EFIELD;
    return feed_dec(h, id, how, js + t->start, feed_jtok_len(t), out);
}

/* Field tok of an item (-1: absent, TG_EFIELD) through bm_num into *out; *bad = tok when its
 * value fails. */
static int bm_field(feed_handler_t *h, uint32_t id, unsigned how, const char *js,
                    const jsmntok_t *t, int tok, int64_t *out, int *bad)
{
    if (tok < 0)
        return TG_EFIELD;
    int rc = bm_num(h, id, how, js, &t[tok], out);
    if (rc < 0)
        *bad = tok;
    return rc;
}

/* ---- orderBookL2 ------------------------------------------------------------------------ */

static int bm_book(feed_handler_t *h, const char *js, const jsmntok_t *t, int n, int act, int data,
                   int64_t ts_recv, int64_t ts_mono)
{
    bm_state_t *st = h->vstate;
    int partial = feed_jtok_eq(js, &t[act], "partial");
    int del = feed_jtok_eq(js, &t[act], "delete");
    int upd = feed_jtok_eq(js, &t[act], "update");
    if (!partial && !del && !upd && !feed_jtok_eq(js, &t[act], "insert")) {
        feed_count_error(h->stats, TG_EFIELD);
        bm_log(h, ts_mono, FEED_LOG_WARN, "unknown action", js, &t[act]);
        return TG_EFIELD;
    }
    int psym = -1; /* symbol of a partial: from "filter" (the data may be empty) */
    if (partial) {
        int f = feed_jtok_get(js, t, n, 0, "filter");
        int fs = feed_jtok_get(js, t, n, f, "symbol");
        if (fs < 0 || t[fs].type != JSMN_STRING) {
            feed_count_error(h->stats, TG_EFIELD);
            bm_log(h, ts_mono, FEED_LOG_WARN, "partial without filter.symbol", js, &t[0]);
            return TG_EFIELD;
        }
        if ((psym = bm_slot(h, js + t[fs].start, feed_jtok_len(&t[fs]))) < 0) {
            feed_count_error(h->stats, TG_ESYMBOL);
            bm_log(h, ts_mono, FEED_LOG_WARN, "unknown symbol", js, &t[fs]);
            return TG_ESYMBOL;
        }
    }
    /* pass 1: validate and resolve (no state change: a raised scale parses the frame again) */
    size_t ni = 0;
    int k = data + 1, rc = 0, bad = data, bad_slot = -1;
    for (int m = 0; m < t[data].size; m++) {
        bad = k;
        if (k >= n || t[k].type != JSMN_OBJECT || ni >= st->it_cap) {
            rc = TG_EFIELD;
            break;
        }
        int sy = feed_jtok_get(js, t, n, k, "symbol"), id = feed_jtok_get(js, t, n, k, "id");
        int sd = feed_jtok_get(js, t, n, k, "side"), sz = feed_jtok_get(js, t, n, k, "size");
        int px = feed_jtok_get(js, t, n, k, "price");
        if (sy < 0 || t[sy].type != JSMN_STRING) {
            rc = TG_EFIELD;
            break;
        }
        int slot = bm_slot(h, js + t[sy].start, feed_jtok_len(&t[sy]));
        if (slot < 0 || (partial && slot != psym)) {
            rc = TG_ESYMBOL;
            bad = sy;
            break;
        }
        bm_item_t *it = &st->it[ni];
        it->slot = (uint16_t)slot;
        bad_slot = slot;
        int64_t idv;
        if (id < 0 || feed_jtok_i64(js, &t[id], &idv) < 0 || idv < 0 || idv >= (1LL << 48) ||
            sd < 0) {
            rc = TG_EFIELD;
            break;
        }
        it->key = ((uint64_t)(slot + 1) << 48) | (uint64_t)idv;
        if (feed_jtok_eq(js, &t[sd], "Buy"))
            it->side = TG_SIDE_BID;
        else if (feed_jtok_eq(js, &t[sd], "Sell"))
            it->side = TG_SIDE_ASK;
        else {
            rc = TG_EFIELD;
            break;
        }
        it->op = del ? BM_OP_DEL : BM_OP_SET;
        it->sz = 0;
        if (!del && (rc = bm_field(h, st->sym[slot].id, FEED_DEC_SZ, js, t, sz, &it->sz, &bad)) < 0)
            break;
        if (partial || (!del && !upd) || (upd && px >= 0)) {
            if ((rc = bm_field(h, st->sym[slot].id, FEED_DEC_PX, js, t, px, &it->px, &bad)) < 0)
                break;
            if (it->px == 0) {
                rc = TG_EDEC_SYNTAX;
                bad = px;
                break;
            }
        } else if (st->sym[slot].synced) {
            const bm_ent_t *e = bm_find(st, it->key);
            if (!e) {
                it->op = 0xff; /* resynced in pass 2 */
                it->tid = (uint64_t)id;
            } else {
                it->px = e->px;
            }
        }
        ni++;
        k = feed_jtok_next(t, n, k);
    }
    if (rc == TG_ERESCALE)
        return rc;
    /* the book of a symbol with an unknown level id (or an id map that a raised scale could
     * not hold) is inconsistent: resync it, keep the others */
    for (size_t i = 0; i < ni; i++) {
        bm_item_t *it = &st->it[i];
        bm_sym_t *s = &st->sym[it->slot];
        if (it->op == 0xff && s->synced) {
            bm_log(h, ts_mono, FEED_LOG_WARN, "unknown level id, resyncing", js, &t[(int)it->tid]);
            bm_resync(h, it->slot, ts_recv, ts_mono);
        } else if (s->map_lost && s->synced && !(partial && it->slot == psym)) {
            bm_log(h, ts_mono, FEED_LOG_WARN, "level prices lost on a rescale, resyncing", js,
                   &t[0]);
            bm_resync(h, it->slot, ts_recv, ts_mono);
        }
    }
    if (rc < 0) {
        feed_count_error(h->stats, rc);
        bm_log(h, ts_mono, FEED_LOG_WARN, "bad orderBookL2 message", js, &t[bad]);
        if (rc != TG_ESYMBOL && bad_slot >= 0 && (st->sym[bad_slot].synced || partial))
            bm_resync(h, (uint16_t)bad_slot, ts_recv, ts_mono);
        return rc;
    }
    /* pass 2: apply */
    if (partial) {
        bm_purge(st, (uint16_t)psym);
        feed_emit_make(h, TG_EV_BOOK_CLEAR, st->sym[psym].id, 0, 0, 0, 0, 0, 0, ts_recv, ts_mono,
                       TG_EVF_SNAPSHOT);
        st->sym[psym].synced = 1;
        TG_STAT_INC(h->stats->snapshots);
    }
    int cur = partial ? psym : -1;
    for (size_t i = 0; i < ni; i++) {
        bm_item_t *it = &st->it[i];
        bm_sym_t *s = &st->sym[it->slot];
        if (!s->synced || it->op == 0xff) {
            if (it->op != 0xff)
                TG_STAT_INC(h->stats->stale_dropped);
            continue;
        }
        if (cur >= 0 && cur != it->slot)
            feed_end_message(h, st->sym[cur].id, 0, ts_recv, ts_mono);
        cur = it->slot;
        if (it->op == BM_OP_DEL) {
            bm_del(st, it->key);
        } else if (bm_put(st, it->key, it->px) < 0) {
            bm_log(h, ts_mono, FEED_LOG_ERROR, "level id table full, resyncing", js, &t[0]);
            bm_resync(h, it->slot, ts_recv, ts_mono);
            cur = -1;
            continue;
        }
        feed_emit_make(h, TG_EV_LEVEL, s->id, it->side, it->px, it->sz, 0, 0, 0, ts_recv, ts_mono,
                       partial ? TG_EVF_SNAPSHOT : 0);
    }
    if (cur >= 0)
        feed_end_message(h, st->sym[cur].id, 0, ts_recv, ts_mono);
    return 0;
}

/* ---- trades ------------------------------------------------------------------------------- */

/* Trade object k (symbol, side, size, price, timestamp, trdMatchID) into *it at its symbol's
 * scales; the slot found by symbol. *bad: the token at fault. @return 0, TG_ERESCALE or an
 * error. */
static int bm_trade_item(feed_handler_t *h, const char *js, const jsmntok_t *t, int n, int k,
                         bm_item_t *it, int *bad)
{
    bm_state_t *st = h->vstate;
    *bad = k;
    if (k >= n || t[k].type != JSMN_OBJECT)
        return TG_EFIELD;
    int sy = feed_jtok_get(js, t, n, k, "symbol"), sd = feed_jtok_get(js, t, n, k, "side");
    int sz = feed_jtok_get(js, t, n, k, "size"), px = feed_jtok_get(js, t, n, k, "price");
    int ts = feed_jtok_get(js, t, n, k, "timestamp");
    int id = feed_jtok_get(js, t, n, k, "trdMatchID");
    if (sy < 0 || sd < 0 || sz < 0 || px < 0 || ts < 0 || t[sy].type != JSMN_STRING ||
        t[ts].type != JSMN_STRING)
        return TG_EFIELD;
    int slot = bm_slot(h, js + t[sy].start, feed_jtok_len(&t[sy]));
    if (slot < 0)
        return TG_ESYMBOL;
    it->slot = (uint16_t)slot;
    if (feed_jtok_eq(js, &t[sd], "Buy"))
        it->side = TG_SIDE_BUY;
    else if (feed_jtok_eq(js, &t[sd], "Sell"))
        it->side = TG_SIDE_SELL;
    else
        return TG_EFIELD;
    if (feed_iso_ns(js + t[ts].start, feed_jtok_len(&t[ts]), true, &it->ts) < 0)
        return TG_EFIELD;
    uint32_t iid = st->sym[slot].id;
    int rc;
    if ((rc = bm_num(h, iid, FEED_DEC_PX, js, &t[px], &it->px)) < 0 ||
        (rc = bm_num(h, iid, FEED_DEC_SZ, js, &t[sz], &it->sz)) < 0)
        return rc;
    it->tid = id >= 0 ? feed_hash_id(js + t[id].start, feed_jtok_len(&t[id])) : 0;
    return 0;
}

static int bm_trades(feed_handler_t *h, const char *js, const jsmntok_t *t, int n, int data,
                     int64_t ts_recv, int64_t ts_mono)
{
    bm_state_t *st = h->vstate;
    size_t ni = 0;
    int k = data + 1, rc = 0, bad = data;
    for (int m = 0; m < t[data].size; m++) {
        if (ni >= st->it_cap) {
            rc = TG_EFIELD;
            bad = k;
            break;
        }
        if ((rc = bm_trade_item(h, js, t, n, k, &st->it[ni], &bad)) < 0)
            break;
        ni++;
        k = feed_jtok_next(t, n, k);
    }
    if (rc == TG_ERESCALE)
        return rc;
    if (rc < 0) {
        feed_count_error(h->stats, rc);
        bm_log(h, ts_mono, FEED_LOG_WARN, "bad trade message dropped", js, &t[bad]);
        return rc;
    }
    int cur = -1;
    for (size_t i = 0; i < ni; i++) {
        const bm_item_t *it = &st->it[i];
        if (cur >= 0 && cur != it->slot)
            feed_end_message(h, st->sym[cur].id, 0, ts_recv, ts_mono);
        cur = it->slot;
        feed_emit_make(h, TG_EV_TRADE, st->sym[it->slot].id, it->side, it->px, it->sz, 0, it->tid,
                       it->ts, ts_recv, ts_mono, 0);
        feed_bf_trade_ts(&st->bf, it->slot, it->ts, ts_mono);
    }
    if (cur >= 0)
        feed_end_message(h, st->sym[cur].id, 0, ts_recv, ts_mono);
    return 0;
}

/* ---- trade backfill --------------------------------------------------------------------- */

/* ns since the epoch as BitMEX's ISO time, milliseconds (its trades' resolution): start rounded
 * down, end up, so that the range is covered. */
static int bm_iso_ms(int64_t ns, bool up, char *buf, size_t cap)
{
    int64_t ms = ns / 1000000 + (up && ns % 1000000 ? 1 : 0);
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    if (ms < 0 || !gmtime_r(&sec, &tm))
        return -1;
    return snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* GET /api/v1/trade?symbol=S&startTime=A&endTime=B&count=N&start=K&reverse=false: the trades
 * of S at times [A, B] oldest first, the first K left out, at most N (<= 1000). */
static int bm_bf_path(void *v, uint32_t s, int64_t from_ts, int64_t to_ts, uint32_t skip,
                      uint32_t n, char *buf, size_t cap)
{
    const bm_state_t *st = v;
    char a[32], b[32];
    if (bm_iso_ms(from_ts, false, a, sizeof(a)) < 0 || bm_iso_ms(to_ts, true, b, sizeof(b)) < 0)
        return -1;
    return snprintf(buf, cap,
                    "/api/v1/trade?symbol=%s&startTime=%s&endTime=%s&count=%u&start=%u"
                    "&reverse=false",
                    st->sym[s].bf.name, a, b, n < BM_BF_PAGE ? n : BM_BF_PAGE, skip);
}

/* A page: a JSON array of trade objects (as the ws trade inserts); an object (BitMEX's
 * {"error":..}) is the venue's error. Every number decoded before anything is emitted
 * (TG_ERESCALE first); a trade of another symbol is an error. */
static int bm_bf_parse(void *v, uint32_t s, const char *js, size_t len, feed_bf_trade_t *out,
                       uint32_t cap, uint32_t *n_out)
{
    bm_state_t *st = v;
    feed_handler_t *h = st->bf.h;
    int n = feed_vparse(h, js, len, JSMN_ARRAY);
    if (n < 0)
        return n;
    const jsmntok_t *t = st->jt.t;
    if ((uint32_t)t[0].size > cap)
        return TG_EFIELD;
    uint32_t m = 0;
    for (int k = 1; m < (uint32_t)t[0].size; k = feed_jtok_next(t, n, k)) {
        bm_item_t it;
        int bad, rc = bm_trade_item(h, js, t, n, k, &it, &bad);
        if (rc < 0)
            return rc;
        if (it.slot != s)
            return TG_ESYMBOL;
        feed_bf_trade_t *o = &out[m++];
        o->id = it.tid;
        o->seq = 0; /* as live trades: no feed sequence */
        o->px = it.px;
        o->qty = it.sz;
        o->ts_ns = it.ts;
        o->side = it.side;
    }
    *n_out = m;
    return 0;
}

static const feed_bf_ops_t bm_bf_ops = {.path_ts = bm_bf_path,
                                        .parse = bm_bf_parse,
                                        .page = BM_BF_PAGE,
                                        .skip_ok = true,
                                        .gap_ns = 60000000000LL / BM_BF_PER_MIN};

/* Only trade-history pages; a previous connection's are dropped. */
static int bm_on_rest(feed_handler_t *h, uint64_t tag, int status, const char *body, size_t len,
                      int64_t ts_recv, int64_t ts_mono)
{
    return feed_bf_on_rest(&((bm_state_t *)h->vstate)->bf, tag, status, body, len, ts_recv,
                           ts_mono);
}

/* ---- frames ------------------------------------------------------------------------------- */

static int bm_frame(feed_handler_t *h, const char *buf, size_t len, const jsmntok_t *t, int n,
                    int64_t ts_recv, int64_t ts_mono)
{
    int tab = feed_jtok_get(buf, t, n, 0, "table");
    if (tab < 0) {
        int err = feed_jtok_get(buf, t, n, 0, "error");
        if (err > 0) {
            feed_count_error(h->stats, TG_EPROTO);
            bm_log(h, ts_mono, FEED_LOG_ERROR, "venue error", buf, &t[0]);
            return TG_EPROTO;
        }
        TG_STAT_INC(h->stats->unhandled); /* info, success, ... */
        return 0;
    }
    int is_book =
        feed_jtok_eq(buf, &t[tab], "orderBookL2") || feed_jtok_eq(buf, &t[tab], "orderBookL2_25");
    int is_trade = feed_jtok_eq(buf, &t[tab], "trade");
    if (!is_book && !is_trade) {
        TG_STAT_INC(h->stats->unhandled);
        return 0;
    }
    int act = feed_jtok_get(buf, t, n, 0, "action"), data = feed_jtok_get(buf, t, n, 0, "data");
    if (act < 0 || t[act].type != JSMN_STRING || data < 0 || t[data].type != JSMN_ARRAY) {
        feed_count_error(h->stats, TG_EFIELD);
        bm_log(h, ts_mono, FEED_LOG_WARN, "table frame without action/data", buf, &t[0]);
        return TG_EFIELD;
    }
    if (is_book)
        return bm_book(h, buf, t, n, act, data, ts_recv, ts_mono);
    if (!feed_jtok_eq(buf, &t[act], "insert")) {
        TG_STAT_INC(h->stats->unhandled); /* the partial replays old trades */
        return 0;
    }
    return bm_trades(h, buf, t, n, data, ts_recv, ts_mono);
}

static const feed_vparser_t bm_parser = {bm_frame, JSMN_OBJECT, FEED_VP_PONG | FEED_VP_SLOW};

/* ---- lifecycle ---------------------------------------------------------------------------- */

/* feed_dec raised a symbol's price scale: bring its prices in the id map to the new scale,
 * exactly. A price the new scale cannot hold marks the symbol's map lost: its book is resynced
 * when the frame is parsed again (no event can be emitted from here). */
static void bm_on_rescale(feed_handler_t *h, uint32_t instr, int old_px, int old_sz)
{
    bm_state_t *st = h->vstate;
    int px = feed_px_scale(h, instr);
    if (!st || px == old_px || instr >= TG_INSTR_MAX || st->slot[instr] == 0)
        return;
    uint64_t tag = (uint64_t)st->slot[instr]; /* slot + 1, as in the keys */
    bm_sym_t *s = &st->sym[st->slot[instr] - 1];
    for (uint32_t i = 0; i <= st->mask; i++) {
        bm_ent_t *e = &st->map[i];
        if (e->key == 0 || (e->key >> 48) != tag)
            continue;
        int64_t v;
        if (tg_dec_rescale(e->px, old_px, px, &v) < 0)
            s->map_lost = 1;
        else
            e->px = v;
    }
}

static void bm_instr_defaults(tg_instr_cfg_t *cfg, const char *symbol, uint32_t depth)
{
    cfg->px_scale = BM_PX_SCALE;
    cfg->sz_scale = BM_SZ_SCALE;
    cfg->depth_limit = 0;
    cfg->checksum = NULL;
}

/* The state, allocated and freed by the venue base (the item scratch grows with the tokens;
 * init sizes the id maps to the symbols). */
static const feed_vspec_t bm_spec = {
    FEED_VSPEC(bm_state_t, BM_TOK_INIT, BM_TOK_MAX),
    .blocks = {FEED_VSCRATCH(bm_state_t, it, 4), FEED_VBLOCK(bm_state_t, map, 0),
               FEED_VBLOCK(bm_state_t, map2, 0)},
    .reset = {FEED_VRESET(bm_sym_t, synced, 0)},
};

static int bm_init(feed_handler_t *h)
{
    bm_state_t *st = h->vstate;
    uint64_t want = (uint64_t)(h->n_instr ? h->n_instr : 1) * BM_IDS_PER_SYM * 4 / 3;
    st->bits = 10;
    while ((1ull << st->bits) < want && st->bits < BM_MAP_MAX_BITS)
        st->bits++;
    st->mask = (1u << st->bits) - 1;
    st->limit = (st->mask + 1) / 4 * 3;
    st->map = calloc((size_t)st->mask + 1, sizeof(bm_ent_t));
    st->map2 = calloc((size_t)st->mask + 1, sizeof(bm_ent_t));
    feed_bf_init(&st->bf, h, st, &bm_bf_ops, h->n_instr ? &st->sym[0].bf : NULL, sizeof(st->sym[0]),
                 h->n_instr, &st->rl);
    for (uint32_t i = 0; i < h->n_instr; i++) {
        const tg_instr_t *in = tg_instr_reg_get(h->reg, st->sym[i].id);
        st->sym[i].bf.instr = st->sym[i].id;
        st->sym[i].bf.name = in ? in->symbol : "?";
    }
    return st->map && st->map2 ? 0 : -ENOMEM;
}

static int bm_on_open(feed_handler_t *h)
{
    bm_state_t *st = h->vstate;
    feed_resync_rebase(h);
    feed_vreset(h);
    memset(st->map, 0, ((size_t)st->mask + 1) * sizeof(bm_ent_t));
    st->used = 0;
    feed_bf_open(&st->bf, st->bf.gen + 1, 0); /* answers to the previous connection are dropped */
    int rc = 0;
    for (int k = 0; k < 2 && rc >= 0; k++) {
        if (!(h->channels & (k == 0 ? FEED_CH_BOOK : FEED_CH_TRADES)) || !h->send)
            continue;
        for (uint32_t i = 0; i < h->n_instr && rc >= 0; i++) {
            const tg_instr_t *in = tg_instr_reg_get(h->reg, st->sym[i].id);
            if (!in || !feed_json_safe(in->symbol))
                continue;
            char msg[160];
            int m = snprintf(msg, sizeof(msg), "{\"op\":\"subscribe\",\"args\":[\"%s:%s\"]}",
                             k == 0 ? "orderBookL2" : "trade", in->symbol);
            rc = h->send(h->tctx, msg, (size_t)m);
        }
    }
    return rc < 0 ? rc : 0;
}

static void bm_on_tick(feed_handler_t *h, int64_t now_mono)
{
    bm_state_t *st = h->vstate;
    for (uint32_t i = 0; feed_resync_next(h, &i, now_mono); i++)
        bm_resubscribe(h, (uint16_t)i);
    if (now_mono - st->last_ping >= BM_PING_NS && h->send) {
        st->last_ping = now_mono;
        h->send(h->tctx, "ping", 4);
    }
    feed_bf_tick(&st->bf, now_mono);
}

const feed_venue_t feed_venue_bitmex = {
    .name = "bitmex",
    .default_url = "wss://ws.bitmex.com/realtime",
    .on_rescale = bm_on_rescale,
    FEED_VENUE_STATE(bm, bm_instr_defaults),
    FEED_VENUE_PARSE_VCLOSE(bm),
    /* trdMatchID: a GUID per trade (hashed), no consecutive ids: the trade backfill goes by
       time (GET /api/v1/trade), at BitMEX's unauthenticated REST limit, 30 requests a minute */
    FEED_BF_VENUE_TS(bm, "www.bitmex.com", BM_BF_PER_MIN),
};
