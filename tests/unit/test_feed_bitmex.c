/* SPDX-License-Identifier: MIT */
/*
 * BitMEX handler (feeds/feed_bitmex.c) against the recorded session (orderBookL2 partial +
 * insert/update/delete by id, trade) and the tardis-dev oracle: books, trades, the id -> price
 * map, unknown ids, bad input, and mutated frames.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../fixtures/venue_run.h"
#include "book/tg_dec.h"

#define BM_FILE   "bitmex/cryptofeed_1312c062_BITMEX-d944be.tgrec.zst"
#define BM_ORACLE "cryptofeed_1312c062_BITMEX-d944be.tgrec.zst.result.json"

extern const feed_venue_t feed_venue_bitmex;

static char pbuf[1024];
static const char *rec(void)
{
    return vrun_path(pbuf, sizeof(pbuf), "TG_RECORDINGS", BM_FILE);
}

static void test_bitmex_is_found_by_name(void **state)
{
    assert_ptr_equal(feed_venue_find("bitmex"), &feed_venue_bitmex);
}

static void test_bitmex_books_and_trades_equal_the_oracle(void **state)
{
    char opath[1024];
    oracle_t orc;
    assert_int_equal(
        oracle_load(vrun_path(opath, sizeof(opath), "TG_PEER_EXPECTED", BM_ORACLE), &orc), 0);
    vrun_t *v = calloc(1, sizeof(*v));
    feed_offline_t *o = NULL;
    assert_int_equal(vrun_file(rec(), v, &o), 0);
    assert_int_equal(vrun_errors(&o->stats), 0);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 0);
    assert_int_equal(TG_STAT_GET(o->stats.snapshots), 10);
    assert_int_equal(TG_STAT_GET(o->stats.frames), o->rec->data_lines);
    assert_int_equal(vrun_accounted(&o->stats), o->rec->data_lines);
    assert_int_equal(orc.n_syms, (int)o->h.n_instr);
    int diffs = 0;
    long trades = 0;
    for (uint32_t i = 0; i < o->h.n_instr; i++) {
        const tg_instr_t *in = tg_instr_reg_get(o->reg, o->h.instr[i]);
        const oracle_sym_t *os = oracle_find(&orc, in->symbol);
        assert_non_null(os);
        char what[96];
        snprintf(what, sizeof(what), "%s bids", in->symbol);
        diffs += vrun_cmp_side(&v->book[in->id].bid, os->bids, os->n_bids, 10, in->px_scale,
                               in->sz_scale, what);
        snprintf(what, sizeof(what), "%s asks", in->symbol);
        diffs += vrun_cmp_side(&v->book[in->id].ask, os->asks, os->n_asks, 10, in->px_scale,
                               in->sz_scale, what);
        /* whole book: level counts per side equal tardis' */
        assert_int_equal((long)v->book[in->id].bid.n, os->levels_bids);
        assert_int_equal((long)v->book[in->id].ask.n, os->levels_asks);
        assert_int_equal(v->book_msgs[in->id], os->book_changes);
        assert_int_equal(v->trades[in->id], os->trades);
        assert_int_equal(v->buys[in->id], os->buy_trades);
        int64_t amount;
        assert_int_equal(oracle_dec(os->trade_amount, in->sz_scale, &amount, NULL), 0);
        assert_int_equal(v->trade_sz[in->id], amount);
        trades += v->trades[in->id];
    }
    assert_int_equal(trades, orc.trades);
    assert_int_equal(diffs, 0);
    feed_offline_close(&o);
    vrun_free(v);
    free(v);
    oracle_free(&orc);
}

static int feed1(feed_offline_t *o, const char *s)
{
    int rc = feed_frame(&o->h, s, strlen(s), 1000, 1000);
    feed_flush(&o->h);
    return rc;
}

static void test_bitmex_update_and_delete_find_prices_by_id_and_unknown_ids_resync(void **state)
{
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(feed_offline_open(&o, rec(), NULL, NULL, 0), 0);
    vrun_init(v, o->reg);
    o->h.out.flush = vrun_sink;
    o->h.out.ctx = v;
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, "XBTM21", 6);
    assert_int_equal(
        feed1(o, "{\"table\":\"orderBookL2\",\"action\":\"partial\",\"filter\":{\"symbol\":"
                 "\"XBTM21\"},\"data\":[{\"symbol\":\"XBTM21\",\"id\":1,\"side\":\"Sell\","
                 "\"size\":5,\"price\":63700.5},{\"symbol\":\"XBTM21\",\"id\":2,\"side\":"
                 "\"Buy\",\"size\":7,\"price\":63690}]}"),
        0);
    assert_int_equal(feed1(o, "{\"table\":\"orderBookL2\",\"action\":\"update\",\"data\":[{"
                              "\"symbol\":\"XBTM21\",\"id\":1,\"side\":\"Sell\",\"size\":9}]}"),
                     0);
    assert_int_equal(v->book[id].ask.n, 1);
    assert_int_equal(v->book[id].ask.px[0], 6370050000000);
    assert_int_equal(v->book[id].ask.sz[0], 90000);
    assert_int_equal(feed1(o, "{\"table\":\"orderBookL2\",\"action\":\"delete\",\"data\":[{"
                              "\"symbol\":\"XBTM21\",\"id\":2,\"side\":\"Buy\"}]}"),
                     0);
    assert_int_equal(v->book[id].bid.n, 0);
    uint64_t sent = o->sent;
    assert_int_equal(feed1(o, "{\"table\":\"orderBookL2\",\"action\":\"delete\",\"data\":[{"
                              "\"symbol\":\"XBTM21\",\"id\":2,\"side\":\"Buy\"}]}"),
                     0);
    assert_int_equal(v->gaps[id], 1); /* id 2 is gone: the book is out of sync */
    assert_int_equal(o->sent, sent + 2);
    feed_offline_close(&o);
    vrun_free(v);
    free(v);
}

static void test_bitmex_bad_input_is_counted(void **state)
{
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(feed_offline_open(&o, rec(), NULL, NULL, 0), 0);
    vrun_init(v, o->reg);
    o->h.out.flush = vrun_sink;
    o->h.out.ctx = v;
    assert_int_equal(feed1(o, "{\"table\":"), TG_EJSON);
    assert_int_equal(feed1(o, "{\"status\":400,\"error\":\"Unknown table: foo\"}"), TG_EPROTO);
    assert_int_equal(feed1(o, "{\"table\":\"trade\",\"action\":\"insert\",\"data\":[{"
                              "\"timestamp\":\"2021-04-05T18:41:18.601Z\",\"symbol\":\"FOO\","
                              "\"side\":\"Buy\",\"size\":1,\"price\":1}]}"),
                     TG_ESYMBOL);
    assert_int_equal(feed1(o, "{\"table\":\"trade\",\"action\":\"insert\",\"data\":[{"
                              "\"timestamp\":\"2021-04-05T18:41:18.601Z\",\"symbol\":\"TRXM21\","
                              "\"side\":\"Buy\",\"size\":1,\"price\":1e999}]}"),
                     TG_EDEC_RANGE); /* feed_dec: no scale holds it (was TG_EDEC_SYNTAX) */
    int64_t trx = tg_instr_reg_find(o->reg, o->h.venue_id, "TRXM21", 6);
    assert_int_equal(v->gaps[trx], 1); /* feed_dec's FAULT gap: the book cannot hold it */
    assert_true(v->last_gap.flags & TG_EVF_FAULT);
    assert_int_equal(TG_STAT_GET(o->stats.unrepresentable), 1);
    assert_int_equal(feed1(o, "{\"table\":\"trade\",\"action\":\"insert\",\"data\":[{"
                              "\"timestamp\":\"2021-13-05T18:41:18.601Z\",\"symbol\":\"TRXM21\","
                              "\"side\":\"Buy\",\"size\":1,\"price\":1}]}"),
                     TG_EFIELD);
    assert_int_equal(TG_STAT_GET(o->stats.err_json), 1);
    assert_int_equal(TG_STAT_GET(o->stats.err_venue), 1);
    assert_int_equal(TG_STAT_GET(o->stats.err_symbol), 1);
    assert_int_equal(TG_STAT_GET(o->stats.err_decimal), 1);
    assert_int_equal(TG_STAT_GET(o->stats.err_field), 1);
    assert_int_equal(v->events, 1); /* only that FAULT gap */
    /* exact exchange time */
    assert_int_equal(feed1(o, "{\"table\":\"trade\",\"action\":\"insert\",\"data\":[{"
                              "\"timestamp\":\"2021-04-05T18:41:18.601Z\",\"symbol\":\"TRXM21\","
                              "\"side\":\"Sell\",\"size\":7415,\"price\":0.00000216}]}"),
                     0);
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, "TRXM21", 6);
    assert_int_equal(v->trades[id], 1);
    assert_int_equal(v->sells[id], 1);
    feed_offline_close(&o);
    vrun_free(v);
    free(v);
}

static uint64_t rng = 0x1234567887654321ull;
/* TG_FUZZ_SEED=<n> picks another sequence of mutations; TG_FUZZ_ITERS=<n> runs longer. */
static int fuzz_iters(int dflt)
{
    const char *e = getenv("TG_FUZZ_SEED");
    if (e && strtoull(e, NULL, 0))
        rng = strtoull(e, NULL, 0);
    e = getenv("TG_FUZZ_ITERS");
    return e && atoi(e) > 0 ? atoi(e) : dflt;
}

static uint64_t xrand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_bitmex_mutated_frames_never_crash_and_are_all_counted(void **state)
{
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(feed_offline_open(&o, rec(), NULL, NULL, 0), 0);
    vrun_init(v, o->reg);
    o->h.out.flush = vrun_sink;
    o->h.out.ctx = v;
    size_t nf = o->rec->data_lines, k = 0;
    const char **fr = calloc(nf, sizeof(*fr));
    size_t *fl = calloc(nf, sizeof(*fl));
    int64_t ts;
    while (k < nf && feed_tgrec_next(o->rec, &ts, &fr[k], &fl[k]) == 1)
        k++;
    nf = k;
    int iters = fuzz_iters(10000);
    for (int it = 0; it < iters; it++) {
        size_t i = xrand() % nf, len = fl[i];
        char *b = malloc(len ? len : 1);
        memcpy(b, fr[i], len);
        switch (xrand() % 4) {
        case 0:
            for (int j = 0; j < 1 + (int)(xrand() % 4); j++)
                b[xrand() % len] = (char)(xrand() & 0xff);
            break;
        case 1:
            len = xrand() % len;
            break;
        case 2:
            for (size_t j = 0; j < len; j++)
                if (b[j] >= '0' && b[j] <= '9' && xrand() % 16 == 0)
                    b[j] = '9';
            break;
        default:
            break;
        }
        uint64_t frames = TG_STAT_GET(o->stats.frames), errs = vrun_errors(&o->stats);
        uint64_t acc = vrun_accounted(&o->stats);
        int rc = feed_frame(&o->h, b, len, 1, 1);
        feed_flush(&o->h);
        assert_int_equal(TG_STAT_GET(o->stats.frames), frames + 1);
        assert_int_equal(vrun_errors(&o->stats), errs + (rc < 0 ? 1 : 0));
        assert_int_equal(vrun_accounted(&o->stats), acc + 1);
        assert_int_equal(v->in_msg, 0);
        free(b);
    }
    free(fr);
    free(fl);
    feed_offline_close(&o);
    vrun_free(v);
    free(v);
}

/* ---- extreme scales ----------------------------------------------------------------------
 * A scale-aware exact book: every event carries its own scales (feed_stamp); the book keeps
 * the largest scales seen and rescales exactly (as the builder does), and verifies checksums
 * through the instrument's tg_checksum_fn with the book's current scales. */

#define XS_EV_MAX 4096

typedef struct xs_run {
    const tg_instr_reg_t *reg;
    tg_event_t ev[XS_EV_MAX];
    size_t nev;
    ref_book_t book[VR_MAX];
    int px[VR_MAX], sz[VR_MAX]; /* book scales: the largest seen */
    long ck_ok, ck_bad, gaps, faults, unstamped, trades;
} xs_run_t;

static void xs_side_rescale(ref_side_t *s, int px0, int px1, int sz0, int sz1)
{
    for (size_t i = 0; i < s->n; i++) {
        assert_int_equal(tg_dec_rescale(s->px[i], px0, px1, &s->px[i]), 0);
        assert_int_equal(tg_dec_rescale(s->sz[i], sz0, sz1, &s->sz[i]), 0);
    }
}

static int xs_sink(void *ctx, const tg_event_t *ev, uint32_t n)
{
    xs_run_t *x = ctx;
    for (uint32_t i = 0; i < n; i++) {
        const tg_event_t *e = &ev[i];
        if (x->nev < XS_EV_MAX)
            x->ev[x->nev++] = *e;
        if (!(e->flags & TG_EVF_SCALED))
            x->unstamped++;
        uint32_t id = e->instr;
        if (id >= VR_MAX)
            continue;
        ref_book_t *b = &x->book[id];
        if (e->kind == TG_EV_GAP) {
            x->gaps++;
            if (e->flags & TG_EVF_FAULT)
                x->faults++;
        } else if (e->kind == TG_EV_TRADE) {
            x->trades++;
        } else if (e->kind == TG_EV_BOOK_CLEAR || e->kind == TG_EV_LEVEL) {
            int px = (int)e->px_scale, sz = (int)e->sz_scale;
            if (px > x->px[id] || sz > x->sz[id]) {
                int np = px > x->px[id] ? px : x->px[id], ns = sz > x->sz[id] ? sz : x->sz[id];
                xs_side_rescale(&b->bid, x->px[id], np, x->sz[id], ns);
                xs_side_rescale(&b->ask, x->px[id], np, x->sz[id], ns);
                x->px[id] = np;
                x->sz[id] = ns;
            }
            tg_event_t c = *e;
            assert_int_equal(tg_dec_rescale(e->price, px, x->px[id], &c.price), 0);
            assert_int_equal(tg_dec_rescale(e->size, sz, x->sz[id], &c.size), 0);
            ref_book_apply(b, &c);
        } else if (e->kind == TG_EV_CHECKSUM) {
            tg_instr_t in = *tg_instr_reg_get(x->reg, id);
            in.px_scale = (int8_t)x->px[id];
            in.sz_scale = (int8_t)x->sz[id];
            struct book_l2 bl = {b};
            if (in.checksum && in.checksum(&bl, &in, e) == (uint32_t)e->u.checksum)
                x->ck_ok++;
            else
                x->ck_bad++;
        }
    }
    return 0;
}

/* A handler over a synthetic recording with these symbols (no frames: tests feed them). */
static feed_offline_t *xs_open(const char *venue, const char *symbols, xs_run_t *x)
{
    char text[512];
    int n = snprintf(text, sizeof(text), "# tgrec 1\n# venue: %s\n# symbols: %s\n", venue, symbols);
    feed_offline_t *o = NULL;
    assert_int_equal(feed_offline_open_mem(&o, text, (size_t)n, NULL, NULL, 0), 0);
    memset(x, 0, sizeof(*x));
    x->reg = o->reg;
    for (int i = 0; i < VR_MAX; i++) {
        const tg_instr_t *in = tg_instr_reg_get(o->reg, (uint32_t)i);
        if (in) {
            x->px[i] = in->px_scale;
            x->sz[i] = in->sz_scale;
        }
    }
    o->h.out.flush = xs_sink;
    o->h.out.ctx = x;
    return o;
}

static void xs_close(feed_offline_t **o, xs_run_t *x)
{
    feed_offline_close(o);
    for (int i = 0; i < VR_MAX; i++)
        ref_book_free(&x->book[i]);
}

static uint32_t xs_id(feed_offline_t *o, const char *sym)
{
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, sym, strlen(sym));
    assert_true(id >= 0 && id < VR_MAX);
    return (uint32_t)id;
}

static int xs_feed(feed_offline_t *o, const char *f)
{
    int rc = feed_frame(&o->h, f, strlen(f), 1000, 1000);
    feed_flush(&o->h);
    return rc;
}

/* Exact text of an emitted price/size (tg_dec_format at the event's own scale). */
static const char *xs_px(const tg_event_t *e, char *buf)
{
    tg_dec_format(e->price, (int)e->px_scale, buf);
    return buf;
}

static const char *xs_sz(const tg_event_t *e, char *buf)
{
    tg_dec_format(e->size, (int)e->sz_scale, buf);
    return buf;
}

/* The events of kind k from index *from on, in order: the next one. */
static const tg_event_t *xs_next(const xs_run_t *x, size_t *from, unsigned k)
{
    for (; *from < x->nev; (*from)++)
        if (x->ev[*from].kind == k)
            return &x->ev[(*from)++];
    return NULL;
}

/* Assert the next `n` events of kind k carry exactly these price/size texts (and sides). */
static void xs_expect(const xs_run_t *x, size_t *from, unsigned k, const char *const (*want)[3],
                      size_t n)
{
    char a[TG_DEC_STR_MAX], b[TG_DEC_STR_MAX];
    for (size_t i = 0; i < n; i++) {
        const tg_event_t *e = xs_next(x, from, k);
        assert_non_null(e);
        assert_string_equal(xs_px(e, a), want[i][0]);
        assert_string_equal(xs_sz(e, b), want[i][1]);
        if (want[i][2])
            assert_int_equal(e->side, want[i][2][0] == 'b' ? TG_SIDE_BID : TG_SIDE_ASK);
    }
}

/* Assert one side of the exact book, best first, as texts at the book's scales. */
static void xs_book_side(const xs_run_t *x, uint32_t id, int bid, const char *const (*want)[2],
                         size_t n)
{
    const ref_side_t *s = bid ? &x->book[id].bid : &x->book[id].ask;
    assert_int_equal(s->n, n);
    char a[TG_DEC_STR_MAX], b[TG_DEC_STR_MAX];
    for (size_t i = 0; i < n; i++) {
        tg_dec_format(s->px[i], x->px[id], a);
        tg_dec_format(s->sz[i], x->sz[id], b);
        assert_string_equal(a, want[i][0]);
        assert_string_equal(b, want[i][1]);
    }
}

#define BMB(act) "{\"table\":\"orderBookL2\",\"action\":\"" act "\",\"data\":["

/* TRXU21 quotes 10 places (0.0000016425) and JSON exponents (1.65e-06): the partial raises
 * the price scale; updates and deletes by id take their price from the id map, which follows
 * every later raise (12, then 13 places in a frame that also resolves ids) exactly. */
static void test_bitmex_extreme_scales_trxu21_book_and_id_map_are_exact(void **state)
{
    xs_run_t *x = calloc(1, sizeof(*x));
    feed_offline_t *o = xs_open("bitmex", "TRXU21,XBTUSD", x);
    uint32_t id = xs_id(o, "TRXU21");
    assert_int_equal(
        xs_feed(o, "{\"table\":\"orderBookL2\",\"action\":\"partial\",\"keys\":[\"symbol\","
                   "\"id\",\"side\"],\"filter\":{\"symbol\":\"TRXU21\"},\"data\":["
                   "{\"symbol\":\"TRXU21\",\"id\":8799999100,\"side\":\"Sell\",\"size\":1000,"
                   "\"price\":0.0000016425},{\"symbol\":\"TRXU21\",\"id\":8799999200,\"side\":"
                   "\"Sell\",\"size\":5,\"price\":1.65e-06},{\"symbol\":\"TRXU21\",\"id\":"
                   "8799999300,\"side\":\"Buy\",\"size\":0.00000001,\"price\":0.00000164},"
                   "{\"symbol\":\"TRXU21\",\"id\":8799999400,\"side\":\"Buy\",\"size\":7415,"
                   "\"price\":1.6E-6}]}"),
        0);
    assert_int_equal(feed_px_scale(&o->h, id), 10);
    assert_int_equal(feed_sz_scale(&o->h, id), 8);
    size_t from = 0;
    static const char *const ev1[][3] = {{"0.0000016425", "1000", "a"},
                                         {"0.00000165", "5", "a"},
                                         {"0.00000164", "0.00000001", "b"},
                                         {"0.0000016", "7415", "b"}};
    xs_expect(x, &from, TG_EV_LEVEL, ev1, 4);
    /* update by id: the price comes from the map */
    assert_int_equal(xs_feed(o, BMB("update") "{\"symbol\":\"TRXU21\",\"id\":8799999100,\"side\":"
                                              "\"Sell\",\"size\":2000}]}"),
                     0);
    /* 12 places: the map is rescaled */
    assert_int_equal(xs_feed(o, BMB("insert") "{\"symbol\":\"TRXU21\",\"id\":8799999150,\"side\":"
                                              "\"Sell\",\"size\":3,\"price\":0.000001642512}]}"),
                     0);
    assert_int_equal(feed_px_scale(&o->h, id), 12);
    assert_int_equal(xs_feed(o, BMB("update") "{\"symbol\":\"TRXU21\",\"id\":8799999200,\"side\":"
                                              "\"Sell\",\"size\":6}]}"),
                     0);
    /* one frame: an id resolved from the map, then a value needing 13 places */
    assert_int_equal(
        xs_feed(o, BMB("update") "{\"symbol\":\"TRXU21\",\"id\":8799999300,\"side\":\"Buy\","
                                 "\"size\":2},{\"symbol\":\"TRXU21\",\"id\":8799999350,\"side\":"
                                 "\"Buy\",\"size\":1,\"price\":0.0000016399999}]}"),
        0);
    assert_int_equal(feed_px_scale(&o->h, id), 13);
    assert_int_equal(xs_feed(o, BMB("delete") "{\"symbol\":\"TRXU21\",\"id\":8799999100,\"side\":"
                                              "\"Sell\"}]}"),
                     0);
    static const char *const ev2[][3] = {
        {"0.0000016425", "2000", "a"}, {"0.000001642512", "3", "a"},  {"0.00000165", "6", "a"},
        {"0.00000164", "2", "b"},      {"0.0000016399999", "1", "b"}, {"0.0000016425", "0", "a"}};
    xs_expect(x, &from, TG_EV_LEVEL, ev2, 6);
    assert_null(xs_next(x, &from, TG_EV_LEVEL));
    static const char *const wa[][2] = {{"0.000001642512", "3"}, {"0.00000165", "6"}};
    static const char *const wb[][2] = {
        {"0.00000164", "2"}, {"0.0000016399999", "1"}, {"0.0000016", "7415"}};
    xs_book_side(x, id, 0, wa, 2);
    xs_book_side(x, id, 1, wb, 3);
    assert_int_equal(x->gaps, 0);
    assert_int_equal(x->unstamped, 0);
    assert_int_equal(vrun_errors(&o->stats), 0);
    assert_int_equal(TG_STAT_GET(o->stats.handled), 6);
    xs_close(&o, x);
    free(x);
}

/* Prices up to 1e7 and sizes up to 1e12 (contracts, 4 places) with trades; then a price of
 * 1e-12 raises the scale so far that the map's 1e7 no longer fits int64: that book resyncs. */
static void test_bitmex_extreme_scales_large_values_and_a_map_that_cannot_follow(void **state)
{
    xs_run_t *x = calloc(1, sizeof(*x));
    feed_offline_t *o = xs_open("bitmex", "TRXU21,XBTUSD", x);
    uint32_t id = xs_id(o, "XBTUSD");
    assert_int_equal(
        xs_feed(o, "{\"table\":\"orderBookL2\",\"action\":\"partial\",\"filter\":{\"symbol\":"
                   "\"XBTUSD\"},\"data\":[{\"symbol\":\"XBTUSD\",\"id\":1,\"side\":\"Sell\","
                   "\"size\":1000000000000,\"price\":10000000},{\"symbol\":\"XBTUSD\",\"id\":2,"
                   "\"side\":\"Buy\",\"size\":0.5,\"price\":9999999.5}]}"),
        0);
    static const char *const wa[][2] = {{"10000000", "1000000000000"}};
    static const char *const wb[][2] = {{"9999999.5", "0.5"}};
    xs_book_side(x, id, 0, wa, 1);
    xs_book_side(x, id, 1, wb, 1);
    assert_int_equal(
        xs_feed(o, "{\"table\":\"trade\",\"action\":\"insert\",\"data\":[{\"timestamp\":"
                   "\"2021-04-05T18:41:18.601Z\",\"symbol\":\"XBTUSD\",\"side\":\"Buy\",\"size\":"
                   "1000000000000,\"price\":10000000,\"trdMatchID\":\"a\"},{\"timestamp\":"
                   "\"2021-04-05T18:41:18.602Z\",\"symbol\":\"XBTUSD\",\"side\":\"Sell\",\"size\":"
                   "0.0001,\"price\":9999999.5,\"trdMatchID\":\"b\"}]}"),
        0);
    size_t from = 0;
    static const char *const tr[][3] = {{"10000000", "1000000000000", "b"},
                                        {"9999999.5", "0.0001", "a"}};
    xs_expect(x, &from, TG_EV_TRADE, tr, 2);
    assert_int_equal(x->gaps, 0);
    uint64_t sent = o->sent;
    assert_int_equal(xs_feed(o, BMB("insert") "{\"symbol\":\"XBTUSD\",\"id\":3,\"side\":\"Buy\","
                                              "\"size\":1,\"price\":0.000000000001}]}"),
                     0);
    assert_int_equal(feed_px_scale(&o->h, id), 12);
    assert_int_equal(x->gaps, 1); /* resynced: the map could not follow the new scale */
    assert_int_equal(o->sent, sent + 2);
    assert_int_equal(x->book[id].bid.n, 1); /* the insert was not applied */
    assert_int_equal(vrun_errors(&o->stats), 0);
    xs_close(&o, x);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bitmex_is_found_by_name),
        cmocka_unit_test(test_bitmex_books_and_trades_equal_the_oracle),
        cmocka_unit_test(test_bitmex_update_and_delete_find_prices_by_id_and_unknown_ids_resync),
        cmocka_unit_test(test_bitmex_bad_input_is_counted),
        cmocka_unit_test(test_bitmex_mutated_frames_never_crash_and_are_all_counted),
        cmocka_unit_test(test_bitmex_extreme_scales_trxu21_book_and_id_map_are_exact),
        cmocka_unit_test(test_bitmex_extreme_scales_large_values_and_a_map_that_cannot_follow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
