/* SPDX-License-Identifier: MIT */
/*
 * HTX handlers (feeds/venues/feed_huobi.c: huobi, huobi-dm-swap, huobi-dm-linear-swap).
 * The spot recording against the tardis-dev oracle (books, trades, every frame accounted,
 * our subscribes and pongs equal to the recorded ones), and synthetic frames for what the
 * recording does not hold: full pushes arriving out of order, the swaps' incremental
 * high_freq book (version chain, gap -> GAP + resubscribe), the spot mbp book (updates kept
 * until the snapshot answer, seqNum chain, gap -> GAP + new request, a scale raise while the
 * kept updates are applied), venue errors and malformed frames, extreme scales (exact decimal
 * strings in and out) and mutated recorded frames.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "book/tg_dec.h"
#include "feeds/venues/venues.h"
#include "tests/fixtures/venue_harness.h"

#define HB_REC    "huobi/cryptofeed_ce58c2a0_HUOBI.ws.44.tgrec.zst"
#define HB_ORACLE "cryptofeed_ce58c2a0_HUOBI.ws.44.tgrec.zst.result.json"
#define NI        64

/* ---- sink: books at the scale of their last snapshot, trades summed at scale 18 ---------- */

typedef struct run {
    ref_book_t book[NI];
    int px_sc[NI], sz_sc[NI];
    long trades[NI], buys[NI], sells[NI], clears[NI], gaps[NI], faults[NI], stale[NI];
    __int128 amount[NI];
    long in_msg, msgs, mixed_scales;
    tg_event_t last_gap;
    tg_event_t *ev; /* every event */
    size_t n_ev, cap_ev;
} run_t;

static int sink(void *ctx, const tg_event_t *ev, uint32_t n)
{
    run_t *r = ctx;
    for (uint32_t i = 0; i < n; i++) {
        const tg_event_t *e = &ev[i];
        assert_true(e->instr < NI);
        assert_true(e->px_scale <= 18 && e->sz_scale <= 18);
        if (r->n_ev == r->cap_ev) {
            r->cap_ev = r->cap_ev ? r->cap_ev * 2 : 4096;
            r->ev = realloc(r->ev, r->cap_ev * sizeof(*r->ev));
        }
        r->ev[r->n_ev++] = *e;
        uint32_t id = e->instr;
        switch (e->kind) {
        case TG_EV_BOOK_CLEAR:
            r->clears[id]++;
            r->px_sc[id] = (int)e->px_scale;
            r->sz_sc[id] = (int)e->sz_scale;
            ref_book_apply(&r->book[id], e);
            break;
        case TG_EV_LEVEL:
            if ((int)e->px_scale != r->px_sc[id] || (int)e->sz_scale != r->sz_sc[id])
                r->mixed_scales++; /* a level at another scale than its book */
            ref_book_apply(&r->book[id], e);
            break;
        case TG_EV_TRADE:
            r->trades[id]++;
            r->amount[id] += (__int128)e->size * tg_dec_pow10[18 - e->sz_scale];
            vrun_count_side(e->side, &r->buys[id], &r->sells[id]);
            break;
        case TG_EV_GAP:
            r->gaps[id]++;
            if (e->flags & TG_EVF_FAULT)
                r->faults[id]++;
            r->last_gap = *e;
            break;
        case TG_EV_STALE:
            r->stale[id]++;
            break;
        default:
            break;
        }
        r->in_msg++;
        if (e->flags & TG_EVF_LAST) {
            r->msgs++;
            r->in_msg = 0;
        }
    }
    return 0;
}

static void run_free(run_t *r)
{
    for (int i = 0; i < NI; i++)
        ref_book_free(&r->book[i]);
    free(r->ev);
    free(r);
}

/* ---- sends captured --------------------------------------------------------------------- */

typedef struct sent {
    char *msg[256];
    int n;
    int reconnects;
} sent_t;

static int cap_send(void *tctx, const char *text, size_t len)
{
    sent_t *s = tctx;
    if (s->n < 256)
        s->msg[s->n++] = strndup(text, len);
    return 0;
}

static void cap_reconnect(void *tctx, const char *why)
{
    ((sent_t *)tctx)->reconnects++;
}

static void sent_free(sent_t *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->msg[i]);
    s->n = 0;
}

/* A synthetic session: venue, symbols, depth; sends captured into *sn, events into *r. */
static feed_offline_t *open_syn(const char *venue, const char *syms, uint32_t depth, run_t **r,
                                sent_t *sn)
{
    char hdr[512];
    int n = snprintf(hdr, sizeof(hdr), "# tgrec 1\n# venue: %s\n# symbols: %s\n", venue, syms);
    feed_offline_t *o = NULL;
    assert_int_equal(feed_offline_open_mem(&o, hdr, (size_t)n, NULL, NULL, depth), 0);
    *r = calloc(1, sizeof(run_t));
    o->h.out.flush = sink;
    o->h.out.ctx = *r;
    memset(sn, 0, sizeof(*sn));
    o->h.send = cap_send;
    o->h.reconnect = cap_reconnect;
    o->h.tctx = sn;
    assert_int_equal(o->venue->on_open(&o->h), 0);
    return o;
}

static uint32_t sym_id(feed_offline_t *o, const char *s)
{
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, s, strlen(s));
    assert_true(id >= 0);
    return (uint32_t)id;
}

/* Level i of a side as "price size" exact text. */
static const char *lvl(run_t *r, uint32_t id, int side, size_t i, char *buf)
{
    const ref_side_t *s = side == TG_SIDE_BID ? &r->book[id].bid : &r->book[id].ask;
    if (i >= s->n)
        return "none";
    char p[TG_DEC_STR_MAX], q[TG_DEC_STR_MAX];
    tg_dec_format(s->px[i], r->px_sc[id], p);
    tg_dec_format(s->sz[i], r->sz_sc[id], q);
    sprintf(buf, "%s %s", p, q);
    return buf;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_huobi_three_venue_ids_one_handler(void **state)
{
    const feed_venue_t *s = feed_venue_find("huobi"), *c = feed_venue_find("huobi-dm-swap"),
                       *l = feed_venue_find("huobi-dm-linear-swap");
    assert_ptr_equal(s, &feed_venue_huobi);
    assert_ptr_equal(feed_venue_find("htx"), &feed_venue_huobi); /* the brand since 2023 */
    assert_ptr_equal(c, &feed_venue_huobi_dm_swap);
    assert_ptr_equal(l, &feed_venue_huobi_dm_linear_swap);
    assert_true(s->variant != c->variant && c->variant != l->variant && s->variant != l->variant);
    assert_true(s->wire & FEED_WIRE_GZIP);
    assert_true(c->wire & FEED_WIRE_GZIP);
    assert_true(l->wire & FEED_WIRE_GZIP);
    assert_string_equal(s->default_url, "wss://api.huobi.pro/ws");
    assert_string_equal(c->default_url, "wss://api.hbdm.com/swap-ws");
    assert_string_equal(l->default_url, "wss://api.hbdm.com/linear-swap-ws");
    assert_true(s->max_sends_per_s > 0 && s->max_symbols_per_conn > 0);
}

/* The recording: 8 of 10 books equal tardis (top 10 exact, whole depth), trades of all 10;
 * xvgeth and fil3susdt hold sizes no int64 scale can hold next to their other sizes
 * (5993289.85 beside 3307.9982700421942: 13 places; 173416519.2452 beside
 * 436947.11845272494: 11 places) and must end in FAULT, loudly. */
static void test_huobi_recording_equals_the_oracle_where_representable(void **state)
{
    oracle_t orc;
    vh_oracle(HB_ORACLE, &orc);
    feed_offline_t *o = vh_rec_open(HB_REC);
    run_t *r = calloc(1, sizeof(*r));
    assert_int_equal(feed_offline_run(o, sink, r), 0);
    const feed_stats_t *st = &o->stats;
    assert_int_equal(TG_STAT_GET(st->frames), 362);
    assert_int_equal(vrun_accounted(st), 362);
    assert_int_equal(TG_STAT_GET(st->unhandled), 26); /* 20 subbed + 6 pings, as tardis */
    assert_int_equal(TG_STAT_GET(st->gaps), 0);
    assert_int_equal(TG_STAT_GET(st->stale_dropped), 0); /* version never goes back here */
    assert_int_equal(TG_STAT_GET(st->err_json) + TG_STAT_GET(st->err_field) +
                         TG_STAT_GET(st->err_symbol) + TG_STAT_GET(st->err_venue),
                     0);
    assert_true(TG_STAT_GET(st->unrepresentable) > 0);
    assert_true(TG_STAT_GET(st->rescales) > 0);
    assert_int_equal(r->in_msg, 0);
    assert_int_equal(r->mixed_scales, 0);
    int books = 0;
    long trades = 0;
    for (uint32_t i = 0; i < o->h.n_instr; i++) {
        const tg_instr_t *in = tg_instr_reg_get(o->reg, o->h.instr[i]);
        const oracle_sym_t *os = NULL;
        for (int k = 0; k < orc.n_syms; k++)
            if (strcasecmp(orc.syms[k].name, in->symbol) == 0)
                os = &orc.syms[k];
        assert_non_null(os);
        uint32_t id = in->id;
        /* trades: every one, for all 10 */
        assert_int_equal(r->trades[id], os->trades);
        assert_int_equal(r->buys[id], os->buy_trades);
        assert_int_equal(r->sells[id], os->sell_trades);
        int64_t want9;
        assert_int_equal(oracle_dec(os->trade_amount, 9, &want9, NULL), 0);
        __int128 got9 = r->amount[id] / 1000000000; /* scale 18 -> 9 */
        __int128 d = got9 - want9;
        assert_true(d >= -(want9 / 1000000000 + 2) && d <= want9 / 1000000000 + 2);
        trades += r->trades[id];
        bool fault = !strcmp(in->symbol, "xvgeth") || !strcmp(in->symbol, "fil3susdt");
        if (fault) {
            assert_true(r->faults[id] > 0);
            assert_true(r->clears[id] < os->snapshots); /* pushes it could not hold */
            continue;
        }
        assert_int_equal(r->faults[id], 0);
        assert_int_equal(r->gaps[id], 0);
        assert_int_equal(r->clears[id], os->snapshots);
        vh_assert_depth(&r->book[id], os);
        for (int side = TG_SIDE_BID; side <= TG_SIDE_ASK; side++) {
            const oracle_level_t *ol = side == TG_SIDE_BID ? os->bids : os->asks;
            const ref_side_t *rs = side == TG_SIDE_BID ? &r->book[id].bid : &r->book[id].ask;
            int no = side == TG_SIDE_BID ? os->n_bids : os->n_asks;
            assert_true(no == 10);
            for (int k = 0; k < no; k++) {
                int64_t px, sz;
                int r1, r2;
                assert_int_equal(oracle_dec(ol[k].px, r->px_sc[id], &px, &r1), 0);
                assert_int_equal(oracle_dec(ol[k].sz, r->sz_sc[id], &sz, &r2), 0);
                if (r1 || r2 || px != rs->px[k] || sz != rs->sz[k]) {
                    char b[64];
                    fail_msg("%s side %d level %d: ours %s, oracle %s %s", in->symbol, side, k,
                             lvl(r, id, side, (size_t)k, b), ol[k].px, ol[k].sz);
                }
            }
        }
        books++;
    }
    assert_int_equal(books, 8);
    assert_int_equal(trades, 73);
    feed_offline_close(&o);
    run_free(r);
    oracle_free(&orc);
}

/* on_open's subscribes and the pong to every ping are the texts the recorder sent. */
/* Trades come oldest first: a push lists its trades newest first, and the handler emits them
 * in ascending id, so a symbol's tradeIds follow on by exactly 1 (the venue's trade_ids_seq,
 * docs/RELIABILITY.md "Trade gaps by venue"): in the recording every successive pair, and in
 * a push listed oldest first or in no order, the order as listed. */
static void test_huobi_trades_come_oldest_first_with_consecutive_ids(void **state)
{
    (void)state;
    assert_true(feed_venue_huobi.trade_ids_seq);
    assert_false(feed_venue_huobi_dm_swap.trade_ids_seq); /* no evidence for the swaps' ids */
    feed_offline_t *o = vh_rec_open(HB_REC);
    run_t *r = calloc(1, sizeof(*r));
    assert_int_equal(feed_offline_run(o, sink, r), 0);
    uint64_t last[NI] = {0};
    long pairs = 0;
    for (size_t i = 0; i < r->n_ev; i++) {
        const tg_event_t *e = &r->ev[i];
        if (e->kind != TG_EV_TRADE)
            continue;
        assert_true(e->u.trade_id > 0);
        if (last[e->instr]) {
            assert_int_equal(e->u.trade_id, last[e->instr] + 1);
            pairs++;
        }
        last[e->instr] = e->u.trade_id;
    }
    assert_true(pairs >=
                50); /* 63 in the recording, 29 of them inside pushes listed newest first */
    feed_offline_close(&o);
    run_free(r);

    sent_t sn;
    o = open_syn("huobi", "aaausdt", 0, &r, &sn);
    static const struct {
        const char *ids;  /* as listed */
        uint64_t want[4]; /* as emitted */
    } cases[] = {
        {"9,8,7", {7, 8, 9}}, {"4,5,6", {4, 5, 6}}, {"12,10,11", {12, 10, 11}}, {"20", {20}}};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        char frame[1024], ids[16];
        size_t len = (size_t)snprintf(frame, sizeof(frame),
                                      "{\"ch\":\"market.aaausdt.trade.detail\",\"ts\":1,"
                                      "\"tick\":{\"data\":[");
        snprintf(ids, sizeof(ids), "%s", cases[c].ids);
        int k = 0;
        for (char *tok = strtok(ids, ","); tok; tok = strtok(NULL, ","), k++)
            len += (size_t)snprintf(frame + len, sizeof(frame) - len,
                                    "%s{\"tradeId\":%s,\"price\":1.5,\"amount\":%d,"
                                    "\"direction\":\"buy\",\"ts\":161867802794%d}",
                                    k ? "," : "", tok, k + 1, k);
        snprintf(frame + len, sizeof(frame) - len, "]}}");
        size_t e0 = r->n_ev;
        assert_int_equal(vh_feed1(o, frame), 0);
        size_t got = 0;
        for (size_t i = e0; i < r->n_ev; i++) {
            const tg_event_t *e = &r->ev[i];
            if (e->kind != TG_EV_TRADE)
                continue;
            assert_true(got < (size_t)k);
            assert_int_equal(e->u.trade_id, cases[c].want[got]);
            got++;
        }
        assert_int_equal(got, (size_t)k);
    }
    sent_free(&sn);
    feed_offline_close(&o);
    run_free(r);
}

static void test_huobi_subscribes_and_pongs_are_the_recorded_ones(void **state)
{
    feed_offline_t *o = vh_rec_open(HB_REC);
    sent_t sn = {0};
    o->h.send = cap_send;
    o->h.reconnect = cap_reconnect;
    o->h.tctx = &sn;
    assert_int_equal(o->venue->on_open(&o->h), 0);
    assert_int_equal(sn.n, 20);
    run_t *r = calloc(1, sizeof(*r));
    assert_int_equal(feed_offline_run(o, sink, r), 0);
    assert_int_equal((size_t)sn.n, o->rec->n_sent);
    for (int i = 0; i < sn.n; i++)
        assert_string_equal(sn.msg[i], o->rec->sent[i]);
    sent_free(&sn);
    feed_offline_close(&o);
    run_free(r);
}

static void test_huobi_subscribes_are_paced_by_the_published_limit(void **state)
{
    char syms[4096] = "";
    for (int i = 0; i < 30; i++)
        sprintf(syms + strlen(syms), "%ssym%dusdt", i ? "," : "", i);
    run_t *r;
    sent_t sn;
    feed_offline_t *o = open_syn("huobi", syms, 0, &r, &sn);
    uint32_t per = feed_venue_huobi.max_sends_per_s;
    assert_int_equal(sn.n, (int)per);
    int64_t t = 5000000000LL;
    o->venue->on_tick(&o->h, t); /* the open batch owns this second */
    assert_int_equal(sn.n, (int)per);
    o->venue->on_tick(&o->h, t + 500000000); /* still the same second */
    assert_int_equal(sn.n, (int)per);
    o->venue->on_tick(&o->h, t + 1000000000); /* a new second */
    assert_int_equal(sn.n, (int)(2 * per));
    o->venue->on_tick(&o->h, t + 2000000000);
    o->venue->on_tick(&o->h, t + 3000000000LL);
    assert_int_equal(sn.n, 60); /* 30 books + 30 trades, all out, no more */
    assert_string_equal(sn.msg[0], "{\"sub\":\"market.sym0usdt.depth.step0\",\"id\":1}");
    assert_string_equal(sn.msg[30], "{\"sub\":\"market.sym0usdt.trade.detail\",\"id\":31}");
    sent_free(&sn);
    feed_offline_close(&o);
    run_free(r);
}

#define STEP0(sym, ver, ts, bids, asks)                                                            \
    "{\"ch\":\"market." sym ".depth.step0\",\"ts\":" ts ",\"tick\":{\"bids\":" bids                \
    ",\"asks\":" asks ",\"version\":" ver ",\"ts\":" ts "}}"

static void test_huobi_full_pushes_replace_and_older_ones_are_dropped(void **state)
{
    run_t *r;
    sent_t sn;
    feed_offline_t *o = open_syn("huobi", "btcusdt,ethusdt", 0, &r, &sn);
    uint32_t id = sym_id(o, "btcusdt");
    assert_int_equal(
        vh_feed1(o, STEP0("btcusdt", "100", "1000", "[[10.5,1],[10.4,2]]", "[[10.6,3]]")), 0);
    assert_int_equal(vh_feed1(o, STEP0("btcusdt", "102", "1002", "[[10.1,1]]", "[[10.7,5]]")), 0);
    assert_int_equal(r->book[id].bid.n, 1); /* replaced, not merged */
    char b[64];                             /* a level as text */
    assert_string_equal(lvl(r, id, TG_SIDE_BID, 0, b), "10.1 1");
    /* an older push (version 101) after 102: dropped, counted, the book stays */
    uint64_t handled = TG_STAT_GET(o->stats.handled);
    assert_int_equal(vh_feed1(o, STEP0("btcusdt", "101", "1001", "[[9,1]]", "[[11,1]]")), 0);
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 1);
    assert_int_equal(TG_STAT_GET(o->stats.handled), handled + 1);
    assert_string_equal(lvl(r, id, TG_SIDE_BID, 0, b), "10.1 1");
    /* the same version again: applied (same book) */
    assert_int_equal(vh_feed1(o, STEP0("btcusdt", "102", "1002", "[[10.1,1]]", "[[10.7,5]]")), 0);
    assert_int_equal(r->clears[id], 3);
    /* no version: ts decides */
    assert_int_equal(vh_feed1(o, "{\"ch\":\"market.ethusdt.depth.step0\",\"ts\":5,\"tick\":{"
                                 "\"bids\":[[1,1]],\"asks\":[[2,1]],\"ts\":5000}}"),
                     0);
    assert_int_equal(vh_feed1(o, "{\"ch\":\"market.ethusdt.depth.step0\",\"ts\":4,\"tick\":{"
                                 "\"bids\":[[3,1]],\"asks\":[[4,1]],\"ts\":4000}}"),
                     0);
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 2);
    uint32_t eid = sym_id(o, "ethusdt");
    assert_string_equal(lvl(r, eid, TG_SIDE_BID, 0, b), "1 1");
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 0);
    /* the events carry the exchange ids and times */
    const tg_event_t *cl = NULL;
    for (size_t i = 0; i < r->n_ev; i++)
        if (r->ev[i].kind == TG_EV_BOOK_CLEAR && r->ev[i].instr == id)
            cl = &r->ev[i];
    assert_non_null(cl);
    assert_int_equal(cl->seq, 102);
    assert_int_equal(cl->ts_exch, 1002 * 1000000LL);
    assert_int_equal(r->in_msg, 0);
    sent_free(&sn);
    feed_offline_close(&o);
    run_free(r);
}

#define HF(sym, n, ev, ver, bids, asks)                                                            \
    "{\"ch\":\"market." sym ".depth.size_" n ".high_freq\",\"tick\":{\"asks\":" asks               \
    ",\"bids\":" bids ",\"ch\":\"market." sym ".depth.size_" n ".high_freq\",\"event\":\"" ev      \
    "\",\"id\":1,\"mrid\":1,\"ts\":1616000000000,\"version\":" ver "},\"ts\":1616000000001}"

static void check_dm_high_freq(const char *venue, const char *sym, const char *wsym)
{
    run_t *r;
    sent_t sn;
    feed_offline_t *o = open_syn(venue, sym, 0, &r, &sn);
    char want[256], f[1024], b[64];
    assert_int_equal(sn.n, 2);
    snprintf(want, sizeof(want),
             "{\"sub\":\"market.%s.depth.size_150.high_freq\",\"data_type\":\"incremental\","
             "\"id\":\"1\"}",
             wsym);
    assert_string_equal(sn.msg[0], want);
    snprintf(want, sizeof(want), "{\"sub\":\"market.%s.trade.detail\",\"id\":\"2\"}", wsym);
    assert_string_equal(sn.msg[1], want);
    uint32_t id = sym_id(o, sym);
    /* an update before any snapshot: dropped */
#define HFF(ev, ver, bids, asks)                                                                   \
    snprintf(f, sizeof(f),                                                                         \
             "{\"ch\":\"market.%s.depth.size_150.high_freq\",\"tick\":{\"asks\":%s,\"bids\":%s,"   \
             "\"event\":\"%s\",\"id\":1,\"mrid\":1,\"ts\":1616000000000,\"version\":%s},"          \
             "\"ts\":1616000000001}",                                                              \
             wsym, asks, bids, ev, ver)
    HFF("update", "9", "[[100,1]]", "[]");
    assert_int_equal(vh_feed1(o, f), 0);
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 1);
    HFF("snapshot", "10", "[[100,5],[99,7]]", "[[101,2],[102,4]]");
    assert_int_equal(vh_feed1(o, f), 0);
    HFF("update", "11", "[[100,0],[98.5,3]]", "[[101,6]]");
    assert_int_equal(vh_feed1(o, f), 0);
    assert_int_equal(r->book[id].bid.n, 2); /* 100 deleted, 98.5 added */
    assert_string_equal(lvl(r, id, TG_SIDE_BID, 0, b), "99 7");
    assert_string_equal(lvl(r, id, TG_SIDE_BID, 1, b), "98.5 3");
    assert_string_equal(lvl(r, id, TG_SIDE_ASK, 0, b), "101 6");
    /* a repeated version: dropped, no gap */
    assert_int_equal(vh_feed1(o, f), 0);
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 2);
    /* version 13 after 11: gap, GAP event, unsub + sub, updates dropped until a snapshot */
    sent_free(&sn);
    HFF("update", "13", "[[97,1]]", "[]");
    assert_int_equal(vh_feed1(o, f), 0);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 1);
    assert_int_equal(r->gaps[id], 1);
    assert_int_equal(r->last_gap.seq, 11);
    assert_int_equal(r->last_gap.u.aux, 13);
    assert_int_equal(sn.n, 2);
    snprintf(want, sizeof(want), "\"unsub\":\"market.%s.depth.size_150.high_freq\"", wsym);
    assert_non_null(strstr(sn.msg[0], want));
    snprintf(want, sizeof(want), "\"sub\":\"market.%s.depth.size_150.high_freq\"", wsym);
    assert_non_null(strstr(sn.msg[1], want));
    HFF("update", "14", "[[96,1]]", "[]");
    assert_int_equal(vh_feed1(o, f), 0);
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 3);
    assert_int_equal(r->book[id].bid.n, 2); /* nothing applied on a broken chain */
    HFF("snapshot", "20", "[[90,1]]", "[[91,1]]");
    assert_int_equal(vh_feed1(o, f), 0);
    HFF("update", "21", "[]", "[[91,0],[92,8]]");
    assert_int_equal(vh_feed1(o, f), 0);
    assert_string_equal(lvl(r, id, TG_SIDE_BID, 0, b), "90 1");
    assert_string_equal(lvl(r, id, TG_SIDE_ASK, 0, b), "92 8");
    assert_int_equal(r->book[id].ask.n, 1);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 1);
    assert_int_equal(r->clears[id], 2);
    /* a depth.step0 push (full book) on a swap replaces the book too */
    snprintf(f, sizeof(f),
             "{\"ch\":\"market.%s.depth.step0\",\"ts\":1616000000200,\"tick\":{\"mrid\":7,"
             "\"id\":1616000000,\"bids\":[[89,10]],\"asks\":[[93,1],[94,2]],\"ts\":"
             "1616000000199,\"version\":30,\"ch\":\"market.%s.depth.step0\"}}",
             wsym, wsym);
    assert_int_equal(vh_feed1(o, f), 0);
    assert_int_equal(r->clears[id], 3);
    assert_int_equal(r->book[id].ask.n, 2);
    assert_string_equal(lvl(r, id, TG_SIDE_BID, 0, b), "89 10");
    /* trades in contracts, direction = taker, numbers or strings */
    snprintf(f, sizeof(f),
             "{\"ch\":\"market.%s.trade.detail\",\"ts\":1616000000100,\"tick\":{\"id\":5,"
             "\"ts\":1616000000099,\"data\":[{\"amount\":\"12\",\"ts\":1616000000099,\"id\":"
             "50000000001,\"price\":\"55000.1\",\"direction\":\"sell\",\"quantity\":"
             "\"0.0218\"},{\"amount\":3,\"ts\":1616000000099,\"id\":50000000002,\"price\":"
             "55000.2,\"direction\":\"buy\"}]}}",
             wsym);
    assert_int_equal(vh_feed1(o, f), 0);
    assert_int_equal(r->trades[id], 2);
    assert_int_equal(r->sells[id], 1);
    const tg_event_t *t = &r->ev[r->n_ev - 2];
    assert_int_equal(t->kind, TG_EV_TRADE);
    assert_int_equal(t->u.trade_id, 50000000001ull);
    assert_int_equal(t->ts_exch, 1616000000099LL * 1000000);
    char px[TG_DEC_STR_MAX];
    tg_dec_format(t->price, (int)t->px_scale, px);
    assert_string_equal(px, "55000.1");
    tg_dec_format(t->size, (int)t->sz_scale, px);
    assert_string_equal(px, "12");
    assert_true(r->ev[r->n_ev - 1].flags & TG_EVF_LAST);
    assert_int_equal(r->in_msg, 0);
    assert_int_equal(vrun_accounted(&o->stats), TG_STAT_GET(o->stats.frames));
    sent_free(&sn);
    feed_offline_close(&o);
    run_free(r);
#undef HFF
}

static void test_huobi_dm_swap_high_freq_chain_gap_and_resubscribe(void **state)
{
    check_dm_high_freq("huobi-dm-swap", "BTC-USD", "BTC-USD");
}

static void test_huobi_dm_linear_swap_high_freq_chain_gap_and_resubscribe(void **state)
{
    /* a contract configured in lower case is still subscribed as HTX spells it */
    check_dm_high_freq("huobi-dm-linear-swap", "eth-usdt", "ETH-USDT");
}

#define MBP(seq, prev, bids, asks)                                                                 \
    "{\"ch\":\"market.btcusdt.mbp.150\",\"ts\":1630000000000,\"tick\":{\"seqNum\":" seq            \
    ",\"prevSeqNum\":" prev ",\"bids\":" bids ",\"asks\":" asks "}}"
#define REP(seq, bids, asks)                                                                       \
    "{\"id\":\"3\",\"rep\":\"market.btcusdt.mbp.150\",\"status\":\"ok\",\"data\":{\"seqNum\":" seq \
    ",\"bids\":" bids ",\"asks\":" asks "}}"

static void test_huobi_mbp_keeps_updates_until_the_snapshot_then_chains(void **state)
{
    run_t *r;
    sent_t sn;
    feed_offline_t *o = open_syn("huobi", "btcusdt", 150, &r, &sn);
    uint32_t id = sym_id(o, "btcusdt");
    char b[64];
    assert_int_equal(sn.n, 3);
    assert_string_equal(sn.msg[0], "{\"sub\":\"market.btcusdt.mbp.150\",\"id\":1}");
    assert_string_equal(sn.msg[1], "{\"sub\":\"market.btcusdt.trade.detail\",\"id\":2}");
    assert_string_equal(sn.msg[2], "{\"req\":\"market.btcusdt.mbp.150\",\"id\":3}");
    assert_int_equal(tg_instr_reg_get(o->reg, id)->depth_limit, 150);
    /* kept before the answer: 100 (older than the snapshot), 102 (overlaps it), 103 */
    assert_int_equal(vh_feed1(o, MBP("100", "99", "[[50,1]]", "[]")), 0);
    assert_int_equal(vh_feed1(o, MBP("102", "100", "[[49,2]]", "[]")), 0);
    /* 103 carries a size with 12 places: the scale rises while the snapshot applies it */
    assert_int_equal(vh_feed1(o, MBP("103", "102", "[]", "[[52,0.000000000001]]")), 0);
    assert_int_equal(TG_STAT_GET(o->stats.buffered), 3);
    assert_int_equal(r->clears[id], 0);
    assert_int_equal(vh_feed1(o, REP("101", "[[50,1],[48,1]]", "[[51,1],[52,4]]")), 0);
    assert_int_equal(r->clears[id], 1);
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 1); /* 100 */
    assert_string_equal(lvl(r, id, TG_SIDE_BID, 0, b), "50 1");
    assert_string_equal(lvl(r, id, TG_SIDE_BID, 1, b), "49 2");
    assert_string_equal(lvl(r, id, TG_SIDE_ASK, 1, b), "52 0.000000000001");
    assert_int_equal(r->mixed_scales, 0); /* snapshot re-done at the raised scale */
    /* live chain */
    assert_int_equal(vh_feed1(o, MBP("104", "103", "[[49,0]]", "[]")), 0);
    assert_int_equal(r->book[id].bid.n, 2);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 0);
    /* 106 after 104 (105 lost): GAP, a new request, updates kept again */
    sent_free(&sn);
    assert_int_equal(vh_feed1(o, MBP("106", "105", "[[47,1]]", "[]")), 0);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 1);
    assert_int_equal(r->last_gap.seq, 104);
    assert_int_equal(r->last_gap.u.aux, 105);
    assert_int_equal(sn.n, 1);
    assert_non_null(strstr(sn.msg[0], "\"req\":\"market.btcusdt.mbp.150\""));
    assert_int_equal(vh_feed1(o, MBP("107", "106", "[[46,1]]", "[]")), 0);
    assert_int_equal(r->clears[id], 1);
    /* a snapshot newer than the first kept update's prevSeqNum chain: 107 prev 106 <= 106 */
    assert_int_equal(vh_feed1(o, REP("106", "[[47,1]]", "[[53,1]]")), 0);
    assert_int_equal(r->clears[id], 2);
    assert_string_equal(lvl(r, id, TG_SIDE_BID, 0, b), "47 1");
    assert_string_equal(lvl(r, id, TG_SIDE_BID, 1, b), "46 1");
    /* a snapshot too old for the kept updates: GAP and ask again */
    sent_free(&sn);
    assert_int_equal(vh_feed1(o, MBP("120", "119", "[[40,1]]", "[]")), 0); /* gap: 119 != 107 */
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 2);
    assert_int_equal(vh_feed1(o, MBP("122", "121", "[[39,1]]", "[]")), 0); /* kept */
    assert_int_equal(vh_feed1(o, REP("118", "[[41,1]]", "[[53,1]]")), 0);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 3); /* 122 prev 121 > 118 */
    assert_true(sn.n >= 2);
    /* once chained, prevSeqNum must be exactly the last seqNum: not older either */
    assert_int_equal(vh_feed1(o, REP("130", "[[41,1]]", "[[53,1]]")), 0);
    assert_int_equal(vh_feed1(o, MBP("131", "130", "[[42,1]]", "[]")), 0);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 3);
    assert_int_equal(vh_feed1(o, MBP("132", "129", "[[43,1]]", "[]")), 0);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 4);
    assert_int_equal(r->last_gap.seq, 131);
    assert_int_equal(r->last_gap.u.aux, 129);
    assert_string_equal(lvl(r, id, TG_SIDE_BID, 0, b), "42 1"); /* 43 not applied */
    /* an answer nobody waits for (e.g. after the one that counted): unhandled */
    uint64_t un = TG_STAT_GET(o->stats.unhandled);
    assert_int_equal(vh_feed1(o, "{\"id\":\"9\",\"rep\":\"market.ethusdt.mbp.150\",\"status\":"
                                 "\"ok\",\"data\":{\"seqNum\":1,\"bids\":[],\"asks\":[]}}"),
                     0);
    assert_int_equal(TG_STAT_GET(o->stats.unhandled), un + 1);
    assert_int_equal(vrun_accounted(&o->stats), TG_STAT_GET(o->stats.frames));
    assert_int_equal(r->in_msg, 0);
    sent_free(&sn);
    feed_offline_close(&o);
    run_free(r);
}

static void test_huobi_errors_acks_pings_and_bad_frames_are_counted(void **state)
{
    run_t *r;
    sent_t sn;
    feed_offline_t *o = open_syn("huobi", "btcusdt", 0, &r, &sn);
    const feed_stats_t *st = &o->stats;
    sent_free(&sn);
    assert_int_equal(vh_feed1(o, "{\"ping\":1618678073643}"), 0);
    assert_int_equal(sn.n, 1);
    assert_string_equal(sn.msg[0], "{\"pong\":1618678073643}");
    assert_int_equal(
        vh_feed1(o,
                 "{\"id\":1,\"status\":\"ok\",\"subbed\":\"market.btcusdt.depth.step0\",\"ts\":1}"),
        0);
    assert_int_equal(TG_STAT_GET(st->unhandled), 2);
    assert_int_equal(
        vh_feed1(o, "{\"status\":\"error\",\"ts\":1,\"id\":3,\"err-code\":\"bad-request\","
                    "\"err-msg\":\"invalid topic market.nosuch.depth.step0\"}"),
        TG_EPROTO);
    assert_int_equal(TG_STAT_GET(st->err_venue), 1);
    assert_int_equal(vh_feed1(o, "{\"ch\":\"market.btcusdt.depth.step0\",\"tick\":{"), TG_EJSON);
    assert_int_equal(TG_STAT_GET(st->err_json), 1);
    assert_int_equal(vh_feed1(o, STEP0("ethusdt", "1", "1", "[[1,1]]", "[[2,1]]")), TG_ESYMBOL);
    assert_int_equal(TG_STAT_GET(st->err_symbol), 1);
    assert_int_equal(vh_feed1(o, STEP0("btcusdt", "1", "1", "[[1,\"x\"]]", "[]")), TG_EDEC_SYNTAX);
    assert_int_equal(TG_STAT_GET(st->err_decimal), 1);
    assert_int_equal(vh_feed1(o, STEP0("btcusdt", "1", "1", "[[1,-1]]", "[]")), TG_EDEC_NEGATIVE);
    assert_int_equal(TG_STAT_GET(st->err_decimal), 2);
    assert_int_equal(vh_feed1(o, STEP0("btcusdt", "1", "1", "[[1]]", "[]")), TG_EFIELD);
    assert_int_equal(TG_STAT_GET(st->err_field), 1);
    assert_int_equal(vh_feed1(o, "{\"ch\":\"market.btcusdt.trade.detail\",\"tick\":{\"data\":[{"
                                 "\"price\":1,\"amount\":1,\"direction\":\"up\",\"ts\":1}]}}"),
                     TG_EFIELD);
    assert_int_equal(TG_STAT_GET(st->err_field), 2);
    assert_int_equal(vh_feed1(o, "{\"ch\":\"nonsense\",\"tick\":{}}"), TG_EFIELD);
    assert_int_equal(vh_feed1(o, "{\"ch\":\"market.btcusdt.kline.1min\",\"tick\":{}}"), 0);
    assert_int_equal(TG_STAT_GET(st->unhandled), 3);
    assert_int_equal(vh_feed1(o, "[1,2]"), TG_EJSON);
    assert_int_equal(r->clears[sym_id(o, "btcusdt")], 0); /* nothing half-applied */
    assert_int_equal(r->trades[sym_id(o, "btcusdt")], 0);
    assert_int_equal(TG_STAT_GET(st->handled), 0);
    assert_int_equal(vrun_accounted(st), TG_STAT_GET(st->frames));
    /* close: STALE for every book */
    o->venue->on_close(&o->h, 1, 1);
    feed_flush(&o->h);
    assert_int_equal(r->stale[sym_id(o, "btcusdt")], 1);
    sent_free(&sn);
    feed_offline_close(&o);
    run_free(r);
}

/* Exact decimals at every scale: each emitted value, formatted back, equals the input's. */
typedef struct xcase {
    const char *sym, *frame;
    const char *want[16]; /* "side price size" in emission order (bids, then asks) */
} xcase_t;

static void test_huobi_extreme_scales_are_exact(void **state)
{
    static const xcase_t cases[] = {
        {"aaausdt",
         STEP0("aaausdt", "1", "1", "[[1.0E-12,1.0E-8],[9.99999999E-10,2.5],[1.2E-11,3]]",
               "[[0.000000000013,12345678.12345678]]"),
         {"1 0.000000000001 0.00000001", "1 0.000000000999999999 2.5", "1 0.000000000012 3",
          "2 0.000000000013 12345678.12345678"}},
        {"bbbusdt",
         /* first level 2 places, a later one 11: one scale for the whole message */
         STEP0("bbbusdt", "1", "1", "[[10000000,1.0E12],[9999999.99,1000000000000]]",
               "[[10000000.01,5E+2],[10000001.12345678901,0.5]]"),
         {"1 10000000 1000000000000", "1 9999999.99 1000000000000", "2 10000000.01 500",
          "2 10000001.12345678901 0.5"}},
        {"cccusdt",
         STEP0("cccusdt", "1", "1", "[[0.05164,0.3596],[1.58E-4,855.3964]]",
               "[[2.5E+3,4.0E7],[7.0E-5,1.01748847777E7]]"),
         {"1 0.05164 0.3596", "1 0.000158 855.3964", "2 2500 40000000", "2 0.00007 10174884.7777"}},
    };
    run_t *r;
    sent_t sn;
    feed_offline_t *o = open_syn("huobi", "aaausdt,bbbusdt,cccusdt", 0, &r, &sn);
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        size_t e0 = r->n_ev;
        assert_int_equal(vh_feed1(o, cases[c].frame), 0);
        uint32_t id = sym_id(o, cases[c].sym);
        int k = 0;
        unsigned psc = 99, ssc = 99;
        for (size_t i = e0; i < r->n_ev; i++) {
            const tg_event_t *e = &r->ev[i];
            if (e->kind != TG_EV_LEVEL)
                continue;
            assert_int_equal(e->instr, id);
            if (psc == 99)
                psc = e->px_scale, ssc = e->sz_scale;
            assert_int_equal(e->px_scale, psc); /* one scale per message */
            assert_int_equal(e->sz_scale, ssc);
            char p[TG_DEC_STR_MAX], s[TG_DEC_STR_MAX], line[80];
            tg_dec_format(e->price, (int)e->px_scale, p);
            tg_dec_format(e->size, (int)e->sz_scale, s);
            snprintf(line, sizeof(line), "%u %s %s", e->side, p, s);
            assert_non_null(cases[c].want[k]);
            assert_string_equal(line, cases[c].want[k]);
            k++;
        }
        assert_null(cases[c].want[k]);
    }
    /* trades too: a price of 1e-12 and an amount of 1e12 on two instruments */
    assert_int_equal(
        vh_feed1(o, "{\"ch\":\"market.aaausdt.trade.detail\",\"ts\":1,\"tick\":{\"data\":[{"
                    "\"tradeId\":7,\"id\":100182534526255757567432481,\"price\":1.0E-12,"
                    "\"amount\":0.00000001,\"direction\":\"buy\",\"ts\":1618678027940}]}}"),
        0);
    assert_int_equal(
        vh_feed1(o, "{\"ch\":\"market.bbbusdt.trade.detail\",\"ts\":1,\"tick\":{\"data\":[{"
                    "\"id\":100182534526255757567432481,\"price\":9999999.5,"
                    "\"amount\":1.0E12,\"direction\":\"sell\",\"ts\":1618678027940}]}}"),
        0);
    const tg_event_t *t1 = &r->ev[r->n_ev - 2], *t2 = &r->ev[r->n_ev - 1];
    char p[TG_DEC_STR_MAX], s[TG_DEC_STR_MAX];
    assert_int_equal(t1->kind, TG_EV_TRADE);
    tg_dec_format(t1->price, (int)t1->px_scale, p);
    tg_dec_format(t1->size, (int)t1->sz_scale, s);
    assert_string_equal(p, "0.000000000001");
    assert_string_equal(s, "0.00000001");
    assert_int_equal(t1->u.trade_id, 7);
    assert_int_equal(t1->side, TG_SIDE_BUY);
    tg_dec_format(t2->price, (int)t2->px_scale, p);
    tg_dec_format(t2->size, (int)t2->sz_scale, s);
    assert_string_equal(p, "9999999.5");
    assert_string_equal(s, "1000000000000");
    /* a 27-digit id that no integer holds: hashed */
    assert_int_equal(t2->u.trade_id, feed_hash_id("100182534526255757567432481", 27));
    /* a value no int64 holds at the scale its instrument needs: FAULT, loudly, not rounded */
    uint64_t unrep = TG_STAT_GET(o->stats.unrepresentable);
    assert_int_not_equal(
        vh_feed1(o, STEP0("cccusdt", "2", "2", "[[1,99999999999.123456789]]", "[]")), 0);
    assert_int_equal(TG_STAT_GET(o->stats.unrepresentable), unrep + 1);
    assert_true(r->faults[sym_id(o, "cccusdt")] >= 1);
    assert_true(TG_STAT_GET(o->stats.rescales) > 0);
    assert_int_equal(vrun_accounted(&o->stats), TG_STAT_GET(o->stats.frames));
    sent_free(&sn);
    feed_offline_close(&o);
    run_free(r);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static void fuzz(feed_offline_t *o, const char **fr, const size_t *fl, size_t nf, int iters)
{
    run_t *r = calloc(1, sizeof(*r));
    o->h.out.flush = sink;
    o->h.out.ctx = r;
    for (int it = 0; it < iters; it++) {
        size_t i = fv_rand(&rng) % nf, len = fl[i];
        char *b = malloc(len + 1);
        memcpy(b, fr[i], len);
        switch (vh_mutate_common(&rng, (unsigned)(fv_rand(&rng) % 5), b, &len)) {
        case 3:
            for (size_t j = 0; j < len; j++)
                if (b[j] >= '0' && b[j] <= '9' && fv_rand(&rng) % 16 == 0)
                    b[j] = "9E-.0"[fv_rand(&rng) % 5];
            break;
        default:
            break;
        }
        char *exact = malloc(len ? len : 1); /* ASan sees a read past the frame */
        memcpy(exact, b, len);
        uint64_t frames = TG_STAT_GET(o->stats.frames), acc = vrun_accounted(&o->stats);
        uint64_t errs = vrun_errors(&o->stats);
        int rc = feed_frame(&o->h, exact, len, 1, 1);
        feed_flush(&o->h);
        assert_int_equal(TG_STAT_GET(o->stats.frames), frames + 1);
        assert_int_equal(vrun_accounted(&o->stats), acc + 1);
        if (rc < 0 && rc != -ENOMEM)
            assert_int_equal(vrun_errors(&o->stats), errs + 1);
        assert_int_equal(r->in_msg, 0);
        free(exact);
        free(b);
        if (it % 3000 == 2999) /* reconnects too */
            o->venue->on_open(&o->h);
    }
    assert_true(vrun_errors(&o->stats) > 0);
    run_free(r);
}

static void test_huobi_mutated_frames_never_crash_and_are_all_counted(void **state)
{
    /* TG_FUZZ_SEED=<n> picks another sequence of mutations; TG_FUZZ_ITERS=<n> runs longer */
    int iters = getenv("TG_FUZZ_ITERS") ? atoi(getenv("TG_FUZZ_ITERS")) : 24000;
    if (getenv("TG_FUZZ_SEED") && strtoull(getenv("TG_FUZZ_SEED"), NULL, 0))
        rng = strtoull(getenv("TG_FUZZ_SEED"), NULL, 0);
    feed_offline_t *o = vh_rec_open(HB_REC);
    size_t nf = o->rec->data_lines, k = 0;
    const char **fr = calloc(nf, sizeof(*fr));
    size_t *fl = calloc(nf, sizeof(*fl));
    int64_t ts;
    while (k < nf && feed_tgrec_next(o->rec, &ts, &fr[k], &fl[k]) == 1)
        k++;
    fuzz(o, fr, fl, k, iters);
    free(fr);
    free(fl);
    feed_offline_close(&o);
    /* the incremental books: swaps (high_freq) and spot mbp, from synthetic frames */
    static const char *dm[] = {
        HF("BTC-USD", "150", "snapshot", "10", "[[100,5],[99,7]]", "[[101,2],[102,4]]"),
        HF("BTC-USD", "150", "update", "11", "[[100,0],[98.5,3]]", "[[101,6]]"),
        HF("BTC-USD", "150", "update", "12", "[]", "[[101.5,1]]"),
        "{\"ch\":\"market.BTC-USD.trade.detail\",\"ts\":1,\"tick\":{\"data\":[{\"amount\":\"1\","
        "\"ts\":1,\"id\":5,\"price\":\"55000.1\",\"direction\":\"sell\"}]}}",
        "{\"ping\":1618678073643}",
    };
    static const char *mbp[] = {
        MBP("102", "100", "[[49,2]]", "[]"),
        REP("101", "[[50,1],[48,1]]", "[[51,1],[52,4]]"),
        MBP("103", "102", "[]", "[[52,0.000000000001]]"),
        MBP("104", "103", "[[49,0]]", "[]"),
    };
    for (int v = 0; v < 2; v++) {
        run_t *r;
        sent_t sn;
        o = open_syn(v ? "huobi" : "huobi-dm-swap", v ? "btcusdt" : "BTC-USD", v ? 150 : 0, &r,
                     &sn);
        const char **src = v ? mbp : dm;
        size_t n = v ? 4 : 5;
        size_t lens[8];
        for (size_t i = 0; i < n; i++)
            lens[i] = strlen(src[i]);
        fuzz(o, src, lens, n, iters / 4);
        sent_free(&sn);
        feed_offline_close(&o);
        run_free(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_huobi_three_venue_ids_one_handler),
        cmocka_unit_test(test_huobi_recording_equals_the_oracle_where_representable),
        cmocka_unit_test(test_huobi_trades_come_oldest_first_with_consecutive_ids),
        cmocka_unit_test(test_huobi_subscribes_and_pongs_are_the_recorded_ones),
        cmocka_unit_test(test_huobi_subscribes_are_paced_by_the_published_limit),
        cmocka_unit_test(test_huobi_full_pushes_replace_and_older_ones_are_dropped),
        cmocka_unit_test(test_huobi_dm_swap_high_freq_chain_gap_and_resubscribe),
        cmocka_unit_test(test_huobi_dm_linear_swap_high_freq_chain_gap_and_resubscribe),
        cmocka_unit_test(test_huobi_mbp_keeps_updates_until_the_snapshot_then_chains),
        cmocka_unit_test(test_huobi_errors_acks_pings_and_bad_frames_are_counted),
        cmocka_unit_test(test_huobi_extreme_scales_are_exact),
        cmocka_unit_test(test_huobi_mutated_frames_never_crash_and_are_all_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
