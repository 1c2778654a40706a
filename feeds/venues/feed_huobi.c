/* SPDX-License-Identifier: MIT */
/*
 * HTX (formerly Huobi) market websocket handlers, one file for three venue ids told apart by
 * feed_venue_t.variant:
 *   huobi                 spot, wss://api.huobi.pro/ws
 *   huobi-dm-swap         coin-margined swaps, wss://api.hbdm.com/swap-ws
 *   huobi-dm-linear-swap  USDT-margined swaps, wss://api.hbdm.com/linear-swap-ws
 * Every server frame is a binary websocket frame holding one gzip stream of JSON text
 * (FEED_WIRE_GZIP: the transport inflates it, this file sees the text, as recordings store it).
 *
 * DESIGN
 * Frames: {"ping":T} (answered {"pong":T} at once; HTX closes after two unanswered pings),
 * subscription acks {"id","status":"ok","subbed"|"unsubbed"}, errors {"status":"error",
 * "err-code","err-msg"} (logged with the venue's text, err_venue), pushes {"ch":"market.<sym>.
 * <topic>","ts","tick":{...}} and request answers {"rep":"market.<sym>.mbp.<n>","status",
 * "data":{...}}. The topic decides what a push is, whatever was subscribed:
 *  - depth.step<k> (spot and swaps): a full book every push (150 levels spot, 150/20 swaps):
 *    TG_EV_BOOK_CLEAR + levels (TG_EVF_SNAPSHOT). tick.version (tick.ts when there is none)
 *    must never go backwards: an older push is dropped (stale_dropped), an equal one applied.
 *  - depth.size_<n>.high_freq (swaps, data_type incremental): tick.event "snapshot" replaces
 *    the book, "update" carries changed levels (vol 0 deletes) and must have version ==
 *    previous version + 1. A break: TG_EV_GAP (seq = last version, aux = received), updates
 *    dropped until the next snapshot, and the topic is unsubscribed and subscribed again.
 *  - mbp.<n> (spot incremental, "market by price"): tick.prevSeqNum must equal the previous
 *    tick.seqNum. Updates are kept (as received text, at most HB_MBP_BUF per symbol) until the
 *    answer to {"req":"market.<sym>.mbp.<n>"} arrives: that answer's data.seqNum S is the
 *    snapshot; kept updates with seqNum <= S are stale, the first applied one must have
 *    prevSeqNum <= S < seqNum. A break emits TG_EV_GAP and requests a new snapshot.
 *  - trade.detail: tick.data[] trades: tradeId (spot) or id, direction = taker side, ts ms.
 * Numbers are parsed with feed_dec (exact, scientific notation included: HTX prints
 * "9.121E-7"): every number of a message is parsed before any state changes, and the mbp
 * snapshot answer first parses the kept updates it will apply, so a scale raise
 * (TG_ERESCALE) always restarts a message that changed nothing.
 * Subscribes go out at most max_sends_per_s per second (on_open, then on_tick).
 * Thread: feed:<venue> (everything here).
 */
#define JSMN_STATIC
#define JSMN_PARENT_LINKS
#define JSMN_STRICT
#include <jsmn.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "book/tg_dec.h"
#include "book/tg_err.h"
#include "feeds/feed.h"
#include "feeds/feed_jtok.h"
#include "feed_venue_util.h"
#include "venues.h"

#define HB_TOK_INIT 4096
#define HB_TOK_MAX  (1 << 20)
#define HB_MBP_BUF  512 /* updates kept per symbol while its mbp snapshot is outstanding */
#define HB_SENDS    20  /* subscribe messages per second (our pace; see docs/venues/huobi.md) */
#define HB_SYMS     50  /* symbols per connection (two topics each) */

enum { HB_SPOT = 0, HB_SWAP = 1, HB_LINEAR = 2 };

/* book topic kinds */
enum { HB_BK_NONE = 0, HB_BK_FULL, HB_BK_HF, HB_BK_MBP };

typedef struct hb_lvl {
    int64_t px, sz;
    int64_t ts;   /* trades: exchange time (ns) */
    uint64_t tid; /* trades: the trade id (hashed when not a number), 0 none */
    uint8_t side;
} hb_lvl_t;

typedef struct hb_kept {
    char *txt;
    size_t len;
    int64_t tr, tm;
} hb_kept_t;

typedef struct hb_sym {
    uint32_t id;
    uint8_t synced;       /* a snapshot was applied and the chain holds */
    uint8_t mbp_asked;    /* mbp: snapshot request outstanding */
    int64_t asked_mono;   /* mbp: when on_tick first saw the request outstanding (0: not yet) */
    int64_t last_ver;     /* version / seqNum of the last applied book message; -1 none */
    int64_t last_ts;      /* tick ts (ms) of the last applied full push; -1 none */
    uint32_t resync_seen; /* builder resync requests already acted on */
    hb_kept_t *kept;      /* mbp updates received before the snapshot */
    uint32_t n_kept, cap_kept;
} hb_sym_t;

typedef struct hb_state {
    feed_jtok_t jt;
    hb_lvl_t *lv;
    size_t lv_cap;
    hb_sym_t *sym;
    uint16_t *slot;
    feed_ratelim_t rl;
    int book_kind;             /* what on_open subscribes: HB_BK_* */
    char book_topic[32];       /* "depth.step0", "mbp.150", "depth.size_150.high_freq" */
    uint32_t next_msg, n_msgs; /* subscribe pacing: next message index, total */
    int64_t pace_mono;         /* start of the current pacing second */
    uint32_t sent_in_sec;
    bool pace_fresh; /* on_open sent the first batch: the first tick starts its second */
    bool rescaled;   /* a scale was raised while parsing this frame (hb_dec) */
    uint64_t req_id;
} hb_state_t;

#define hb_log(h, ...) feed_jtok_log((h), &((hb_state_t *)(h)->vstate)->rl, __VA_ARGS__)

/* ---- helpers ---------------------------------------------------------------------------- */

static bool hb_dm(const feed_handler_t *h)
{
    return h->venue->variant != HB_SPOT;
}

/* ms (integer token) -> ns */
/* A number token (HTX sends JSON numbers; some DM fields are strings) at instr's scale.
 * A scale raise (TG_ERESCALE) is noted in st->rescaled and parsing goes on (the value is
 * void), so one pass raises the scale as far as the whole message needs; the caller returns
 * TG_ERESCALE before it changes any state, and the message is parsed once more. */
static int hb_dec(feed_handler_t *h, uint32_t instr, unsigned how, const char *js,
                  const jsmntok_t *t, int64_t *v)
{
    if (t->type != JSMN_PRIMITIVE && t->type != JSMN_STRING)
        return TG_EFIELD;
    int rc = feed_dec(h, instr, how, js + t->start, feed_jtok_len(t), v);
    if (rc == TG_ERESCALE) {
        ((hb_state_t *)h->vstate)->rescaled = true;
        *v = 0;
        return 0;
    }
    return rc;
}

/* "market.<sym>.<topic>": the symbol and the topic after it. */
static int hb_split_ch(const char *s, size_t n, const char **sym, size_t *sl, const char **topic,
                       size_t *tl)
{
    static const char pre[] = "market.";
    if (n <= sizeof(pre) - 1 || memcmp(s, pre, sizeof(pre) - 1) != 0)
        return TG_EFIELD;
    const char *p = s + sizeof(pre) - 1, *e = s + n;
    const char *dot = memchr(p, '.', (size_t)(e - p));
    if (!dot || dot == p || dot + 1 >= e)
        return TG_EFIELD;
    *sym = p;
    *sl = (size_t)(dot - p);
    *topic = dot + 1;
    *tl = (size_t)(e - dot - 1);
    return 0;
}

static bool hb_prefix(const char *s, size_t n, const char *lit)
{
    size_t k = strlen(lit);
    return n >= k && memcmp(s, lit, k) == 0;
}

static int hb_topic_kind(const char *t, size_t n)
{
    if (hb_prefix(t, n, "depth.step"))
        return HB_BK_FULL;
    if (hb_prefix(t, n, "depth.size_") && n > 10 && memcmp(t + n - 10, ".high_freq", 10) == 0)
        return HB_BK_HF;
    if (hb_prefix(t, n, "mbp."))
        return HB_BK_MBP;
    return HB_BK_NONE;
}

static hb_sym_t *hb_lookup(feed_handler_t *h, const char *s, size_t n)
{
    hb_state_t *st = h->vstate;
    int i = feed_slot_find(h, st->slot, s, n);
    if (i < 0) {
        /* spot topics are lower case; a symbol configured as "BTCUSDT" still matches */
        int64_t id = tg_instr_reg_find_nocase(h->reg, h->venue_id, s, n);
        if (id >= 0 && id < TG_INSTR_MAX && st->slot[id])
            i = st->slot[id] - 1;
    }
    return i < 0 ? NULL : &st->sym[i];
}

/* Topic symbol as HTX spells it: lower case (spot), upper case (contracts). */
static int hb_sym_text(feed_handler_t *h, const hb_sym_t *s, char *out, size_t cap)
{
    const tg_instr_t *in = tg_instr_reg_get(h->reg, s->id);
    if (!in || !feed_json_safe(in->symbol) || strlen(in->symbol) >= cap)
        return -EINVAL;
    size_t i = 0;
    for (; in->symbol[i]; i++) {
        char c = in->symbol[i];
        if (!hb_dm(h) && c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        else if (hb_dm(h) && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        out[i] = c;
    }
    out[i] = 0;
    return 0;
}

static void hb_kept_clear(hb_sym_t *s)
{
    for (uint32_t i = 0; i < s->n_kept; i++)
        free(s->kept[i].txt);
    s->n_kept = 0;
}

/* ---- sending ---------------------------------------------------------------------------- */

/* op: "sub", "unsub" or "req" of market.<sym>.<topic>. */
static int hb_send_topic(feed_handler_t *h, hb_sym_t *s, const char *op, const char *topic)
{
    hb_state_t *st = h->vstate;
    char sym[TG_SYMBOL_MAX], msg[256];
    if (hb_sym_text(h, s, sym, sizeof(sym)) < 0) {
        feed_logf(h, FEED_LOG_ERROR, "%s: instrument %u skipped (unusable name)", h->venue->name,
                  s->id);
        return 0;
    }
    int n;
    st->req_id++;
    if (!hb_dm(h))
        n = snprintf(msg, sizeof(msg), "{\"%s\":\"market.%s.%s\",\"id\":%llu}", op, sym, topic,
                     (unsigned long long)st->req_id);
    else if (strstr(topic, "high_freq") && strcmp(op, "sub") == 0)
        n = snprintf(msg, sizeof(msg),
                     "{\"sub\":\"market.%s.%s\",\"data_type\":\"incremental\",\"id\":\"%llu\"}",
                     sym, topic, (unsigned long long)st->req_id);
    else
        n = snprintf(msg, sizeof(msg), "{\"%s\":\"market.%s.%s\",\"id\":\"%llu\"}", op, sym, topic,
                     (unsigned long long)st->req_id);
    if (n < 0 || (size_t)n >= sizeof(msg))
        return -ENOSPC;
    return feed_send(h, msg, (size_t)n);
}

/* Subscribe message k of the open sequence: books of every symbol, then trades, then (mbp)
 * the snapshot requests. @return 1 when nothing was to be sent for k. */
static int hb_open_msg(feed_handler_t *h, uint32_t k)
{
    hb_state_t *st = h->vstate;
    uint32_t n = h->n_instr;
    if (k < n)
        return (h->channels & FEED_CH_BOOK) ? hb_send_topic(h, &st->sym[k], "sub", st->book_topic)
                                            : 1;
    if (k < 2 * n)
        return (h->channels & FEED_CH_TRADES)
                   ? hb_send_topic(h, &st->sym[k - n], "sub", "trade.detail")
                   : 1;
    hb_sym_t *s = &st->sym[k - 2 * n];
    if (!(h->channels & FEED_CH_BOOK))
        return 1;
    s->mbp_asked = 1;
    s->asked_mono = 0;
    return hb_send_topic(h, s, "req", st->book_topic);
}

/* Send what the pace allows now. */
static int hb_pace(feed_handler_t *h, int64_t now_mono)
{
    hb_state_t *st = h->vstate;
    uint32_t per_s = h->venue->max_sends_per_s ? h->venue->max_sends_per_s : UINT32_MAX;
    if (now_mono - st->pace_mono >= 1000000000LL || now_mono < st->pace_mono) {
        st->pace_mono = now_mono;
        st->sent_in_sec = 0;
    }
    while (st->next_msg < st->n_msgs && st->sent_in_sec < per_s) {
        int rc = hb_open_msg(h, st->next_msg);
        if (rc < 0)
            return rc;
        st->next_msg++;
        if (rc == 0)
            st->sent_in_sec++;
    }
    return 0;
}

/* ---- resync ----------------------------------------------------------------------------- */

/* Mark the book out of sync and get a fresh snapshot: a new mbp request (updates are kept
 * until it answers) or, for swaps, unsubscribe + subscribe (the first push is a snapshot). */
static void hb_resync(feed_handler_t *h, hb_sym_t *s, int kind)
{
    TG_STAT_INC(h->stats->resyncs);
    s->synced = 0;
    s->last_ver = -1;
    s->last_ts = -1;
    hb_kept_clear(s);
    hb_state_t *st = h->vstate;
    int rc = 0;
    if (kind == HB_BK_MBP) {
        s->mbp_asked = 1;
        s->asked_mono = 0;
        rc = hb_send_topic(h, s, "req", st->book_topic);
    } else if (kind == HB_BK_HF) {
        rc = hb_send_topic(h, s, "unsub", st->book_topic);
        if (rc >= 0)
            rc = hb_send_topic(h, s, "sub", st->book_topic);
    }
    if (rc < 0 && h->reconnect)
        h->reconnect(h->tctx, "huobi: resync request failed");
}

static void hb_gap(feed_handler_t *h, hb_sym_t *s, int kind, uint64_t got, int64_t tr, int64_t tm)
{
    feed_emit_make(h, TG_EV_GAP, s->id, 0, 0, 0, s->last_ver > 0 ? (uint64_t)s->last_ver : 0, got,
                   0, tr, tm, TG_EVF_LAST);
    TG_STAT_INC(h->stats->gaps);
    hb_resync(h, s, kind);
}

/* ---- book ------------------------------------------------------------------------------- */

/* Level i of st->lv: [price, size] (numbers or strings, hb_dec). */
static int hb_level(feed_handler_t *h, const feed_lvls_t *a, int k, size_t i, int *bad)
{
    hb_lvl_t *l = &((hb_state_t *)h->vstate)->lv[i];
    int rc;
    *bad = k + 1;
    if ((rc = hb_dec(h, a->instr, FEED_DEC_PX, a->js, &a->t[k + 1], &l->px)) < 0)
        return rc;
    *bad = k + 2;
    if ((rc = hb_dec(h, a->instr, FEED_DEC_SZ, a->js, &a->t[k + 2], &l->sz)) < 0)
        return rc;
    l->side = a->side;
    return 0;
}

typedef struct hb_book {
    size_t nl;
    int64_t ts;        /* ns, 0 if none */
    int64_t ts_ms;     /* -1 if none */
    int64_t ver, prev; /* -1 if none */
    int snap;          /* tick.event == "snapshot" */
    int upd;           /* tick.event == "update" */
} hb_book_t;

/* Parse a book object (tick or data) completely: levels into st->lv, ids. */
static int hb_book_parse(feed_handler_t *h, hb_sym_t *s, const char *js, const jsmntok_t *t, int n,
                         int o, int64_t top_ts, hb_book_t *b, int *bad)
{
    memset(b, 0, sizeof(*b));
    b->ts_ms = b->ver = b->prev = -1;
    b->ts = top_ts;
    *bad = o;
    if (o < 0 || t[o].type != JSMN_OBJECT)
        return TG_EFIELD;
    int asks = feed_jtok_get(js, t, n, o, "asks"), bids = feed_jtok_get(js, t, n, o, "bids");
    if (asks < 0 && bids < 0)
        return TG_EFIELD;
    const feed_lvls_t la = {js, t, n, s->id, 0, NULL};
    int rc = feed_book_levels(h, &la, bids, asks, 2, ((hb_state_t *)h->vstate)->lv_cap, &b->nl, bad,
                              hb_level);
    if (rc < 0)
        return rc;
    int tsi = feed_jtok_get(js, t, n, o, "ts");
    if (tsi >= 0) {
        *bad = tsi;
        if (feed_jtok_ms(js, &t[tsi], &b->ts) < 0)
            return TG_EFIELD;
        b->ts_ms = b->ts / 1000000;
    }
    int vi = feed_jtok_get(js, t, n, o, "version");
    if (vi < 0)
        vi = feed_jtok_get(js, t, n, o, "seqNum");
    if (vi >= 0) {
        *bad = vi;
        if (feed_jtok_i64(js, &t[vi], &b->ver) < 0 || b->ver < 0)
            return TG_EFIELD;
    }
    int pi = feed_jtok_get(js, t, n, o, "prevSeqNum");
    if (pi >= 0) {
        *bad = pi;
        if (feed_jtok_i64(js, &t[pi], &b->prev) < 0)
            return TG_EFIELD;
    }
    int ei = feed_jtok_get(js, t, n, o, "event");
    if (ei >= 0) {
        *bad = ei;
        if (feed_jtok_str_is(js, &t[ei], "snapshot"))
            b->snap = 1;
        else if (feed_jtok_str_is(js, &t[ei], "update"))
            b->upd = 1;
        else
            return TG_EFIELD;
    }
    return 0;
}

/* Emit st->lv[0..nl) as a snapshot (clear first) or as changes. */
static void hb_book_emit(feed_handler_t *h, hb_sym_t *s, const hb_book_t *b, int snap, int64_t tr,
                         int64_t tm)
{
    hb_state_t *st = h->vstate;
    uint16_t fl = snap ? TG_EVF_SNAPSHOT : 0;
    uint64_t seq = b->ver > 0 ? (uint64_t)b->ver : 0;
    if (snap) {
        feed_emit_make(h, TG_EV_BOOK_CLEAR, s->id, 0, 0, 0, seq, 0, b->ts, tr, tm, fl);
        TG_STAT_INC(h->stats->snapshots);
    }
    tg_event_t ev = feed_event(TG_EV_LEVEL, s->id, 0, 0, 0, seq, 0, b->ts, tr, tm, fl);
    for (size_t i = 0; i < b->nl; i++) {
        ev.side = st->lv[i].side;
        ev.price = st->lv[i].px;
        ev.size = st->lv[i].sz;
        feed_emit_counted(h, &ev);
    }
    feed_end_message(h, s->id, b->ts, tr, tm);
}

/* depth.step<k>: a full book in every push. */
static int hb_full(feed_handler_t *h, hb_sym_t *s, const hb_book_t *b, int64_t tr, int64_t tm)
{
    if ((b->ver >= 0 && s->last_ver >= 0 && b->ver < s->last_ver) ||
        (b->ver < 0 && b->ts_ms >= 0 && s->last_ts >= 0 && b->ts_ms < s->last_ts)) {
        TG_STAT_INC(h->stats->stale_dropped); /* older than the book we show */
        return 0;
    }
    s->last_ver = b->ver;
    if (b->ts_ms >= 0)
        s->last_ts = b->ts_ms;
    s->synced = 1;
    hb_book_emit(h, s, b, 1, tr, tm);
    return 0;
}

/* depth.size_<n>.high_freq: snapshot, then updates with version + 1 each. */
static int hb_hf(feed_handler_t *h, hb_sym_t *s, const hb_book_t *b, int64_t tr, int64_t tm)
{
    if (!b->upd) { /* a snapshot (data_type snapshot pushes have no "update") */
        s->last_ver = b->ver;
        s->synced = 1;
        hb_book_emit(h, s, b, 1, tr, tm);
        return 0;
    }
    if (!s->synced) {
        TG_STAT_INC(h->stats->stale_dropped);
        return 0;
    }
    if (b->ver < 0 || s->last_ver < 0 || b->ver != s->last_ver + 1) {
        if (b->ver >= 0 && s->last_ver >= 0 && b->ver <= s->last_ver) {
            TG_STAT_INC(h->stats->stale_dropped); /* repeated or older: already applied */
            return 0;
        }
        hb_log(h, tm, FEED_LOG_WARN, "version gap, resubscribing", NULL, NULL);
        hb_gap(h, s, HB_BK_HF, b->ver > 0 ? (uint64_t)b->ver : 0, tr, tm);
        return 0;
    }
    s->last_ver = b->ver;
    hb_book_emit(h, s, b, 0, tr, tm);
    return 0;
}

/* mbp.<n> update after the snapshot: prevSeqNum chain. `first`: the first after the snapshot
 * (prevSeqNum <= S < seqNum is enough). */
static int hb_mbp_apply(feed_handler_t *h, hb_sym_t *s, const hb_book_t *b, int64_t tr, int64_t tm)
{
    if (b->ver < 0 || b->prev < 0) {
        hb_log(h, tm, FEED_LOG_WARN, "mbp update without seqNum/prevSeqNum", NULL, NULL);
        hb_gap(h, s, HB_BK_MBP, 0, tr, tm);
        return 0;
    }
    if (b->ver <= s->last_ver) {
        TG_STAT_INC(h->stats->stale_dropped);
        return 0;
    }
    if (b->prev != s->last_ver && !(s->synced == 2 && b->prev < s->last_ver)) {
        hb_log(h, tm, FEED_LOG_WARN, "seqNum gap, requesting a snapshot", NULL, NULL);
        hb_gap(h, s, HB_BK_MBP, (uint64_t)b->prev, tr, tm);
        return 0;
    }
    s->synced = 1;
    s->last_ver = b->ver;
    hb_book_emit(h, s, b, 0, tr, tm);
    return 0;
}

static int hb_keep(feed_handler_t *h, hb_sym_t *s, const char *buf, size_t len, int64_t tr,
                   int64_t tm)
{
    if (s->n_kept == HB_MBP_BUF) {
        /* snapshot late: keep the newest updates; the chain check after it tells */
        free(s->kept[0].txt);
        memmove(s->kept, s->kept + 1, (s->n_kept - 1) * sizeof(*s->kept));
        s->n_kept--;
        TG_STAT_INC(h->stats->stale_dropped);
    }
    if (s->n_kept == s->cap_kept) {
        uint32_t cap = s->cap_kept ? s->cap_kept * 2 : 16;
        hb_kept_t *nk = realloc(s->kept, cap * sizeof(*nk));
        if (!nk)
            return -ENOMEM;
        s->kept = nk;
        s->cap_kept = cap;
    }
    char *c = malloc(len + 1);
    if (!c)
        return -ENOMEM;
    memcpy(c, buf, len);
    c[len] = 0;
    s->kept[s->n_kept++] = (hb_kept_t){c, len, tr, tm};
    TG_STAT_INC(h->stats->buffered);
    return 0;
}

/* Tokenize a kept mbp push and parse its tick (st->lv). */
static int hb_kept_parse(feed_handler_t *h, hb_sym_t *s, const hb_kept_t *k, hb_book_t *b)
{
    hb_state_t *st = h->vstate;
    int n = feed_vparse(h, k->txt, k->len, JSMN_UNDEFINED);
    if (n < 0)
        return n;
    int bad, tick = feed_jtok_get(k->txt, st->jt.t, n, 0, "tick");
    return hb_book_parse(h, s, k->txt, st->jt.t, n, tick, 0, b, &bad);
}

/* {"rep":"market.<sym>.mbp.<n>","status":"ok","data":{seqNum, bids, asks}}: the snapshot. */
static int hb_mbp_rep(feed_handler_t *h, hb_sym_t *s, const char *buf, size_t len, int64_t tr,
                      int64_t tm)
{
    hb_state_t *st = h->vstate;
    hb_book_t b;
    int rc;
    /* 1. every number of the kept updates (a scale raise restarts with nothing changed;
     *    other faults show when they are applied below) */
    for (uint32_t i = 0; i < s->n_kept; i++)
        hb_kept_parse(h, s, &s->kept[i], &b);
    /* 2. the snapshot itself (tokenized again: step 1 reused the tokens) */
    int n = feed_vparse(h, buf, len, JSMN_UNDEFINED);
    if (n < 0)
        return n;
    const jsmntok_t *t = st->jt.t;
    int bad, data = feed_jtok_get(buf, t, n, 0, "data");
    if ((rc = hb_book_parse(h, s, buf, t, n, data, 0, &b, &bad)) < 0) {
        if (rc != TG_ERESCALE)
            hb_log(h, tm, FEED_LOG_WARN, "bad mbp snapshot", buf, bad >= 0 ? &t[bad] : NULL);
        return rc;
    }
    if (st->rescaled)
        return TG_ERESCALE;
    if (b.ver < 0) {
        hb_log(h, tm, FEED_LOG_WARN, "mbp snapshot without seqNum", buf, &t[0]);
        return TG_EFIELD;
    }
    /* 3. commit: the snapshot, then the kept updates newer than it */
    s->mbp_asked = 0;
    s->last_ver = b.ver;
    s->synced = 2; /* snapshot applied, first update may overlap it */
    hb_book_emit(h, s, &b, 1, tr, tm);
    for (uint32_t i = 0; i < s->n_kept && s->synced; i++) {
        hb_kept_t *k = &s->kept[i];
        if (hb_kept_parse(h, s, k, &b) < 0) { /* checked when kept: cannot happen */
            hb_gap(h, s, HB_BK_MBP, 0, k->tr, k->tm);
            break;
        }
        hb_mbp_apply(h, s, &b, k->tr, k->tm);
    }
    hb_kept_clear(s);
    return 0;
}

/* ---- trades ----------------------------------------------------------------------------- */

/* Trade i of st->lv: {"price","amount","direction","ts"} (values at f[]), its id from "tradeId"
 * or "id" (a hash of one that is no number; 0 without). */
static int hb_trade(feed_handler_t *h, const feed_lvls_t *a, int k, size_t i, const int *f,
                    int *bad)
{
    const char *js = a->js;
    const jsmntok_t *t = a->t;
    hb_lvl_t *l = &((hb_state_t *)h->vstate)->lv[i];
    int rc;
    *bad = f[0];
    if ((rc = hb_dec(h, a->instr, FEED_DEC_PX, js, &t[f[0]], &l->px)) < 0)
        return rc;
    *bad = f[1];
    if ((rc = hb_dec(h, a->instr, FEED_DEC_SZ, js, &t[f[1]], &l->sz)) < 0)
        return rc;
    *bad = f[2];
    if (feed_jtok_side(js, &t[f[2]], "buy", TG_SIDE_BUY, "sell", TG_SIDE_SELL, &l->side) < 0)
        return TG_EFIELD;
    *bad = f[3];
    if (feed_jtok_ms(js, &t[f[3]], &l->ts) < 0)
        return TG_EFIELD;
    int id = feed_jtok_get(js, t, a->n, k, "tradeId");
    if (id < 0)
        id = feed_jtok_get(js, t, a->n, k, "id");
    l->tid = 0;
    if (id >= 0 && feed_jtok_u64(js, &t[id], &l->tid) != 0)
        l->tid = feed_hash_id(js + t[id].start, feed_jtok_len(&t[id]));
    return 0;
}

static int hb_trades(feed_handler_t *h, hb_sym_t *s, const char *js, const jsmntok_t *t, int n,
                     int tick, int64_t tr, int64_t tm)
{
    hb_state_t *st = h->vstate;
    int data = feed_jtok_get(js, t, n, tick, "data"), bad = tick, rc = TG_EFIELD;
    size_t nl = 0;
    if (data < 0 || t[data].type != JSMN_ARRAY)
        goto fail;
    /* pass 1: every number */
    static const char *const keys[] = {"price", "amount", "direction", "ts"};
    const feed_lvls_t la = {js, t, n, s->id, 0, NULL};
    if ((rc = feed_trades(h, &la, data, keys, 4, st->lv_cap, &nl, &bad, hb_trade)) < 0)
        goto fail;
    if (st->rescaled)
        return TG_ERESCALE;
    /* pass 2: emit, oldest first. A push lists its trades newest first (ids descending, one
     * timestamp): emitted as listed, a symbol's ids would step back inside every push of more
     * than one trade, and the first trade after a reconnect would show a hole that the rest of
     * its push fills (docs/RELIABILITY.md "Trade gaps by venue"). */
    bool desc = nl > 1;
    for (size_t i = 1; desc && i < nl; i++)
        desc = st->lv[i].tid < st->lv[i - 1].tid;
    tg_event_t ev = feed_event(TG_EV_TRADE, s->id, 0, 0, 0, 0, 0, 0, tr, tm, 0);
    for (size_t j = 0; j < nl; j++) {
        const hb_lvl_t *l = &st->lv[desc ? nl - 1 - j : j];
        ev.ts_exch = l->ts;
        ev.u.trade_id = l->tid;
        ev.price = l->px;
        ev.size = l->sz;
        ev.side = l->side;
        feed_emit_counted(h, &ev);
    }
    int64_t ts_last = nl ? st->lv[desc ? 0 : nl - 1].ts : 0;
    if (nl)
        feed_end_message(h, s->id, ts_last, tr, tm);
    else
        TG_STAT_INC(h->stats->unhandled); /* an empty trade list: nothing to act on */
    return 0;
fail:
    return feed_jtok_drop(h, tm, rc, "bad trade message dropped", js, &t[bad]);
}

/* ---- frames ----------------------------------------------------------------------------- */

/* A "ch" push. */
static int hb_push(feed_handler_t *h, const char *buf, size_t len, const jsmntok_t *t, int n,
                   int ch, int64_t tr, int64_t tm)
{
    hb_state_t *st = h->vstate;
    const char *sym, *topic;
    size_t sl, tl;
    if (t[ch].type != JSMN_STRING ||
        hb_split_ch(buf + t[ch].start, feed_jtok_len(&t[ch]), &sym, &sl, &topic, &tl) < 0) {
        feed_count_error(h->stats, TG_EFIELD);
        hb_log(h, tm, FEED_LOG_WARN, "unknown channel", buf, &t[ch]);
        return TG_EFIELD;
    }
    int kind = hb_topic_kind(topic, tl);
    bool trade = tl == 12 && memcmp(topic, "trade.detail", 12) == 0;
    if (kind == HB_BK_NONE && !trade) {
        TG_STAT_INC(h->stats->unhandled); /* kline, bbo, detail, ... */
        return 0;
    }
    hb_sym_t *s = hb_lookup(h, sym, sl);
    if (!s) {
        feed_count_error(h->stats, TG_ESYMBOL);
        hb_log(h, tm, FEED_LOG_WARN, "unknown symbol", buf, &t[ch]);
        return TG_ESYMBOL;
    }
    int tick = feed_jtok_get(buf, t, n, 0, "tick");
    if (tick < 0 || t[tick].type != JSMN_OBJECT) {
        feed_count_error(h->stats, TG_EFIELD);
        hb_log(h, tm, FEED_LOG_WARN, "push without tick", buf, &t[0]);
        return TG_EFIELD;
    }
    if (trade)
        return hb_trades(h, s, buf, t, n, tick, tr, tm);
    if (kind == HB_BK_MBP && s->synced == 0) {
        /* before the snapshot: keep the update (checked JSON; numbers are parsed later) */
        if (!s->mbp_asked) { /* nobody asked yet (subscribed elsewhere, or lost): ask now */
            s->mbp_asked = 1;
            if (hb_send_topic(h, s, "req", st->book_topic) < 0 && h->reconnect)
                h->reconnect(h->tctx, "huobi: mbp request failed");
        }
        int rc = hb_keep(h, s, buf, len, tr, tm);
        if (rc < 0)
            feed_count_error(h->stats, rc);
        return rc;
    }
    int64_t top_ts = 0;
    int bad, tsi = feed_jtok_get(buf, t, n, 0, "ts");
    if (tsi >= 0)
        feed_jtok_ms(buf, &t[tsi], &top_ts);
    hb_book_t b;
    int rc = hb_book_parse(h, s, buf, t, n, tick, top_ts, &b, &bad);
    if (rc < 0) {
        if (rc == TG_ERESCALE)
            return rc;
        feed_count_error(h->stats, rc);
        hb_log(h, tm, FEED_LOG_WARN, "bad book message", buf, &t[bad]);
        if (kind != HB_BK_FULL && s->synced)
            hb_gap(h, s, kind, 0, tr, tm);
        return rc;
    }
    if (st->rescaled)
        return TG_ERESCALE; /* nothing changed: parsed again at the new scales */
    if (kind == HB_BK_FULL)
        return hb_full(h, s, &b, tr, tm);
    if (kind == HB_BK_HF)
        return hb_hf(h, s, &b, tr, tm);
    return hb_mbp_apply(h, s, &b, tr, tm);
}

static int hb_frame(feed_handler_t *h, const char *buf, size_t len, const jsmntok_t *t, int n,
                    int64_t tr, int64_t tm)
{
    hb_state_t *st = h->vstate;
    st->rescaled = false;
    int ch = feed_jtok_get(buf, t, n, 0, "ch");
    if (ch > 0)
        return hb_push(h, buf, len, t, n, ch, tr, tm);
    int ping = feed_jtok_get(buf, t, n, 0, "ping");
    if (ping > 0) {
        char msg[64];
        size_t pl = feed_jtok_len(&t[ping]);
        if (t[ping].type != JSMN_PRIMITIVE || pl > 24) {
            feed_count_error(h->stats, TG_EFIELD);
            hb_log(h, tm, FEED_LOG_WARN, "bad ping", buf, &t[ping]);
            return TG_EFIELD;
        }
        int k = snprintf(msg, sizeof(msg), "{\"pong\":%.*s}", (int)pl, buf + t[ping].start);
        feed_send(h, msg, (size_t)k);
        TG_STAT_INC(h->stats->unhandled); /* heartbeat */
        return 0;
    }
    int status = feed_jtok_get(buf, t, n, 0, "status");
    if (status > 0 && feed_jtok_str_is(buf, &t[status], "error")) {
        int em = feed_jtok_get(buf, t, n, 0, "err-msg");
        feed_count_error(h->stats, TG_EPROTO);
        hb_log(h, tm, FEED_LOG_ERROR, "venue error", buf, em > 0 ? &t[em] : &t[0]);
        return TG_EPROTO;
    }
    int rep = feed_jtok_get(buf, t, n, 0, "rep");
    if (rep > 0) {
        const char *sym, *topic;
        size_t sl, tl;
        hb_sym_t *s = NULL;
        if (t[rep].type == JSMN_STRING &&
            hb_split_ch(buf + t[rep].start, feed_jtok_len(&t[rep]), &sym, &sl, &topic, &tl) == 0 &&
            hb_topic_kind(topic, tl) == HB_BK_MBP)
            s = hb_lookup(h, sym, sl);
        if (!s || !s->mbp_asked) {
            TG_STAT_INC(h->stats->unhandled); /* an answer nobody waits for */
            return 0;
        }
        int rc = hb_mbp_rep(h, s, buf, len, tr, tm);
        if (rc < 0 && rc != TG_ERESCALE)
            feed_count_error(h->stats, rc);
        return rc;
    }
    int op = feed_jtok_get(buf, t, n, 0, "op");
    if (op > 0 && feed_jtok_str_is(buf, &t[op], "ping")) {
        int ts = feed_jtok_get(buf, t, n, 0, "ts");
        char msg[96];
        int k = ts > 0 && feed_jtok_len(&t[ts]) < 32
                    ? snprintf(msg, sizeof(msg), "{\"op\":\"pong\",\"ts\":%s%.*s%s}",
                               t[ts].type == JSMN_STRING ? "\"" : "", (int)feed_jtok_len(&t[ts]),
                               buf + t[ts].start, t[ts].type == JSMN_STRING ? "\"" : "")
                    : snprintf(msg, sizeof(msg), "{\"op\":\"pong\"}");
        feed_send(h, msg, (size_t)k);
    }
    TG_STAT_INC(h->stats->unhandled); /* subbed / unsubbed acks, notices */
    return 0;
}

static const feed_vparser_t hb_parser = {hb_frame, JSMN_OBJECT, FEED_VP_COUNT | FEED_VP_SLOW};

/* ---- lifecycle -------------------------------------------------------------------------- */

static void hb_instr_defaults_spot(tg_instr_cfg_t *cfg, const char *symbol, uint32_t depth)
{
    (void)symbol;
    /* no in-band metadata: feed_dec raises the scales as values need. Sizes start at 0
     * places: HTX spot sizes run from 1e-15 to 1e12 and every place taken before it is needed
     * costs range (an int64 holds 18-19 digits in all) */
    cfg->px_scale = 8;
    cfg->sz_scale = 0;
    /* step0 pushes the whole book; mbp.<n> keeps n levels and deletes what leaves them */
    cfg->depth_limit = depth == 5 || depth == 20 || depth == 150 || depth == 400 ? depth : 0;
    cfg->checksum = NULL;
}

static void hb_instr_defaults_dm(tg_instr_cfg_t *cfg, const char *symbol, uint32_t depth)
{
    (void)symbol;
    cfg->px_scale = 8;
    cfg->sz_scale = 0; /* contracts: whole numbers (raised if a size ever has places) */
    cfg->depth_limit = depth == 20 ? 20 : 150;
    cfg->checksum = NULL;
}

/* The state, allocated and freed by the venue base (the level scratch grows with the
 * tokens); deinit frees what each symbol keeps. */
static const feed_vspec_t hb_spec = {
    FEED_VSPEC(hb_state_t, HB_TOK_INIT, HB_TOK_MAX),
    .blocks = {FEED_VSCRATCH(hb_state_t, lv, 3)},
};

static void hb_deinit(feed_handler_t *h)
{
    hb_state_t *st = h->vstate;
    for (uint32_t i = 0; st->sym && i < h->n_instr; i++) {
        hb_kept_clear(&st->sym[i]);
        free(st->sym[i].kept);
    }
}

static int hb_init(feed_handler_t *h)
{
    hb_state_t *st = h->vstate;
    if (!hb_dm(h)) {
        /* depth 0: depth.step0 (full 150-level pushes); 5/20/150/400: mbp.<n> incremental */
        if (h->depth == 5 || h->depth == 20 || h->depth == 150 || h->depth == 400) {
            st->book_kind = HB_BK_MBP;
            snprintf(st->book_topic, sizeof(st->book_topic), "mbp.%u", h->depth);
        } else {
            st->book_kind = HB_BK_FULL;
            snprintf(st->book_topic, sizeof(st->book_topic), "depth.step0");
        }
    } else {
        st->book_kind = HB_BK_HF;
        snprintf(st->book_topic, sizeof(st->book_topic), "depth.size_%u.high_freq",
                 h->depth == 20 ? 20u : 150u);
    }
    for (uint32_t i = 0; i < h->n_instr; i++)
        st->sym[i].last_ver = st->sym[i].last_ts = -1;
    return 0;
}

static void hb_reset(feed_handler_t *h)
{
    hb_state_t *st = h->vstate;
    for (uint32_t i = 0; i < h->n_instr; i++) {
        hb_sym_t *s = &st->sym[i];
        s->synced = s->mbp_asked = 0;
        s->asked_mono = 0;
        s->last_ver = s->last_ts = -1;
        hb_kept_clear(s);
    }
}

static int hb_on_open(feed_handler_t *h)
{
    hb_state_t *st = h->vstate;
    hb_reset(h);
    for (uint32_t i = 0; i < h->n_instr; i++)
        st->sym[i].resync_seen = feed_resync_count(h, st->sym[i].id);
    st->req_id = 0; /* ids count from 1 on every connection */
    st->next_msg = 0;
    st->n_msgs = h->n_instr * (st->book_kind == HB_BK_MBP ? 3u : 2u);
    st->sent_in_sec = 0;
    st->pace_mono = 0;
    int rc = hb_pace(h, 0); /* the first second's worth now; on_tick sends the rest */
    st->pace_fresh = true;
    return rc;
}

static void hb_on_close(feed_handler_t *h, int64_t ts_recv, int64_t ts_mono)
{
    feed_emit_stale_all(h, 0, ts_recv, ts_mono);
    hb_reset(h);
}

static void hb_on_tick(feed_handler_t *h, int64_t now_mono)
{
    hb_state_t *st = h->vstate;
    if (st->pace_fresh) { /* the batch on_open sent counts in the second starting now */
        st->pace_fresh = false;
        st->pace_mono = now_mono;
    }
    if (st->next_msg < st->n_msgs && hb_pace(h, now_mono) < 0 && h->reconnect)
        h->reconnect(h->tctx, "huobi: subscribe failed");
    for (uint32_t i = 0; i < h->n_instr; i++) {
        hb_sym_t *s = &st->sym[i];
        if (s->mbp_asked && st->book_kind == HB_BK_MBP && !s->synced) {
            /* an mbp request unanswered for 5 s (lost, or refused with an error): again */
            if (s->asked_mono == 0) {
                s->asked_mono = now_mono;
            } else if (now_mono - s->asked_mono > 5000000000LL) {
                s->asked_mono = now_mono;
                hb_log(h, now_mono, FEED_LOG_WARN, "mbp snapshot unanswered, asking again", NULL,
                       NULL);
                if (hb_send_topic(h, s, "req", st->book_topic) < 0 && h->reconnect)
                    h->reconnect(h->tctx, "huobi: mbp request failed");
            }
        }
        if (!feed_resync_asked(h, s->id, &s->resync_seen))
            continue;
        hb_log(h, now_mono, FEED_LOG_WARN, "builder asked for a resync (crossed book)", NULL, NULL);
        if (st->book_kind == HB_BK_FULL) {
            /* the next full push replaces the book; drop nothing, ask nothing */
            s->last_ver = s->last_ts = -1;
            continue;
        }
        hb_resync(h, s, st->book_kind);
    }
}

/* The fields the three ids share. */
#define HB_VENUE_COMMON                                                                            \
    .wire = FEED_WIRE_GZIP, .max_symbols_per_conn = HB_SYMS, .max_sends_per_s = HB_SENDS,          \
    .state = &hb_spec, .init = hb_init, .deinit = hb_deinit, FEED_VENUE_PARSE(hb)

const feed_venue_t feed_venue_huobi = {.name = "huobi",
                                       .default_url = "wss://api.huobi.pro/ws",
                                       .variant = HB_SPOT,
                                       .instr_defaults = hb_instr_defaults_spot,
                                       .trade_ids_seq = true, /* tradeId, per symbol */
                                       HB_VENUE_COMMON};

const feed_venue_t feed_venue_huobi_dm_swap = {.name = "huobi-dm-swap",
                                               .default_url = "wss://api.hbdm.com/swap-ws",
                                               .variant = HB_SWAP,
                                               .instr_defaults = hb_instr_defaults_dm,
                                               HB_VENUE_COMMON};

const feed_venue_t feed_venue_huobi_dm_linear_swap = {.name = "huobi-dm-linear-swap",
                                                      .default_url =
                                                          "wss://api.hbdm.com/linear-swap-ws",
                                                      .variant = HB_LINEAR,
                                                      .instr_defaults = hb_instr_defaults_dm,
                                                      HB_VENUE_COMMON};
