/* SPDX-License-Identifier: MIT */
/*
 * Bitstamp handler (feeds/feed_bitstamp.c) against the recorded session (in-band REST
 * snapshots + diff_order_book + live_trades) and the tardis-dev oracle: books, trades, the
 * microtimestamp sync rule, buffering before the snapshot, out-of-order diffs, bad input, and
 * mutated frames.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <ctype.h>

#include "../fixtures/venue_run.h"
#include "book/tg_dec.h"

#define BS_FILE   "bitstamp/cryptofeed_1312c062_BITSTAMP-b88f8b.tgrec"
#define BS_ORACLE "cryptofeed_1312c062_BITSTAMP-b88f8b.tgrec.result.json"

extern const feed_venue_t feed_venue_bitstamp;

static char pbuf[1024];
static const char *rec(void)
{
    return vrun_path(pbuf, sizeof(pbuf), "TG_RECORDINGS", BS_FILE);
}

static void test_bitstamp_is_found_by_name(void **state)
{
    assert_ptr_equal(feed_venue_find("bitstamp"), &feed_venue_bitstamp);
}

static void test_bitstamp_books_and_trades_equal_the_oracle(void **state)
{
    char opath[1024];
    oracle_t orc;
    assert_int_equal(
        oracle_load(vrun_path(opath, sizeof(opath), "TG_PEER_EXPECTED", BS_ORACLE), &orc), 0);
    vrun_t *v = calloc(1, sizeof(*v));
    feed_offline_t *o = NULL;
    assert_int_equal(vrun_file(rec(), v, &o), 0);
    assert_int_equal(vrun_errors(&o->stats), 0);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 0);
    assert_int_equal(TG_STAT_GET(o->stats.snapshots), 10);
    assert_int_equal(TG_STAT_GET(o->stats.frames), o->rec->data_lines);
    assert_int_equal(vrun_accounted(&o->stats), o->rec->data_lines);
    /* README: 3091 diffs newer than their snapshot, 111 older (to drop at sync) */
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 111);
    assert_int_equal(orc.n_syms, (int)o->h.n_instr);
    int diffs = 0;
    long book_msgs = 0;
    for (uint32_t i = 0; i < o->h.n_instr; i++) {
        const tg_instr_t *in = tg_instr_reg_get(o->reg, o->h.instr[i]);
        char up[TG_SYMBOL_MAX];
        size_t k = 0;
        for (; in->symbol[k]; k++)
            up[k] = (char)toupper((unsigned char)in->symbol[k]);
        up[k] = 0;
        const oracle_sym_t *os = oracle_find(&orc, up); /* tardis upper-cases symbols */
        assert_non_null(os);
        char what[96];
        snprintf(what, sizeof(what), "%s bids", up);
        diffs += vrun_cmp_side(&v->book[in->id].bid, os->bids, os->n_bids, 10, in->px_scale,
                               in->sz_scale, what);
        snprintf(what, sizeof(what), "%s asks", up);
        diffs += vrun_cmp_side(&v->book[in->id].ask, os->asks, os->n_asks, 10, in->px_scale,
                               in->sz_scale, what);
        /* whole book: level counts per side equal tardis' */
        assert_int_equal((long)v->book[in->id].bid.n, os->levels_bids);
        assert_int_equal((long)v->book[in->id].ask.n, os->levels_asks);
        assert_int_equal(v->trades[in->id], os->trades);
        assert_int_equal(v->buys[in->id], os->buy_trades);
        int64_t amount;
        assert_int_equal(oracle_dec(os->trade_amount, in->sz_scale, &amount, NULL), 0);
        assert_int_equal(v->trade_sz[in->id], amount);
        assert_int_equal(v->book_msgs[in->id], os->book_changes);
        book_msgs += v->book_msgs[in->id];
    }
    assert_int_equal(book_msgs, 3101);
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

static void test_bitstamp_diffs_before_the_snapshot_are_buffered_then_filtered(void **state)
{
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    /* open on the recording only for its registry; frames below are synthetic */
    assert_int_equal(feed_offline_open(&o, rec(), NULL, NULL, 0), 0);
    vrun_init(v, o->reg);
    o->h.out.flush = vrun_sink;
    o->h.out.ctx = v;
    uint64_t gets = o->rest_gets;
    assert_int_equal(feed1(o, "{\"event\":\"bts:subscription_succeeded\",\"channel\":"
                              "\"diff_order_book_ethgbp\",\"data\":{}}"),
                     0);
    assert_int_equal(o->rest_gets, gets + 1); /* snapshot requested once subscribed */
    assert_int_equal(feed1(o, "{\"data\":{\"timestamp\":\"1\",\"microtimestamp\":\"100\",\"bids\":"
                              "[[\"1500.00\",\"1.0\"]],\"asks\":[]},\"channel\":"
                              "\"diff_order_book_ethgbp\",\"event\":\"data\"}"),
                     0);
    assert_int_equal(feed1(o, "{\"data\":{\"timestamp\":\"1\",\"microtimestamp\":\"300\",\"bids\":"
                              "[[\"1501.00\",\"2.0\"]],\"asks\":[]},\"channel\":"
                              "\"diff_order_book_ethgbp\",\"event\":\"data\"}"),
                     0);
    assert_int_equal(TG_STAT_GET(o->stats.buffered), 2);
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, "ethgbp", 6);
    assert_int_equal(v->book[id].bid.n, 0);
    assert_int_equal(
        feed1(o, "{\"stream\":\"diff_order_book_ethgbp@depthSnapshot\",\"generated\":true,"
                 "\"data\":{\"timestamp\": \"1\", \"microtimestamp\": \"200\", \"bids\": "
                 "[[\"1499.00\", \"3.0\"]], \"asks\": [[\"1510.00\", \"1.0\"]]}}"),
        0);
    /* diff 100 dropped (older than snapshot 200), diff 300 applied */
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 1);
    assert_int_equal(v->book[id].bid.n, 2);
    assert_int_equal(v->book[id].bid.px[0], 150100000000);
    /* out of order afterwards: gap and a new snapshot request */
    gets = o->rest_gets;
    assert_int_equal(feed1(o, "{\"data\":{\"timestamp\":\"1\",\"microtimestamp\":\"250\",\"bids\":"
                              "[],\"asks\":[]},\"channel\":\"diff_order_book_ethgbp\",\"event\":"
                              "\"data\"}"),
                     0);
    assert_int_equal(v->gaps[id], 1);
    assert_int_equal(o->rest_gets, gets + 1);
    feed_offline_close(&o);
    vrun_free(v);
    free(v);
}

static void test_bitstamp_rest_snapshot_answers_and_failures(void **state)
{
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(feed_offline_open(&o, rec(), NULL, NULL, 0), 0);
    vrun_init(v, o->reg);
    o->h.out.flush = vrun_sink;
    o->h.out.ctx = v;
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, "bcheur", 6);
    uint32_t tag = 0;
    while (o->h.instr[tag] != (uint32_t)id)
        tag++;
    assert_int_equal(feed1(o, "{\"event\":\"bts:subscription_succeeded\",\"channel\":"
                              "\"diff_order_book_bcheur\",\"data\":{}}"),
                     0);
    uint64_t gets = o->rest_gets;
    /* a failed request is counted and asked again on the tick (after the retry delay) */
    assert_int_equal(feed_rest(&o->h, tag, 503, "", 0, 1, 1), TG_EPROTO);
    assert_int_equal(TG_STAT_GET(o->stats.err_venue), 1);
    o->venue->on_tick(&o->h, 2);
    assert_int_equal(o->rest_gets, gets + 1);
    const char *body = "{\"timestamp\": \"1617654357\", \"microtimestamp\": \"1617654357670785\", "
                       "\"bids\": [[\"519.17\", \"18.00000000\"]], \"asks\": [[\"519.74\", "
                       "\"37.41504330\"]]}";
    assert_int_equal(feed_rest(&o->h, tag, 200, body, strlen(body), 3, 3), 0);
    feed_flush(&o->h);
    assert_int_equal(v->snapshots[id], 1);
    assert_int_equal(v->book[id].bid.px[0], 51917000000);
    assert_int_equal(v->book[id].ask.sz[0], 3741504330);
    o->venue->on_tick(&o->h, 4);
    assert_int_equal(o->rest_gets, gets + 1); /* synced: nothing more to ask */
    /* the stale microtimestamp rule applies to diffs after a REST snapshot too */
    assert_int_equal(feed1(o, "{\"data\":{\"timestamp\":\"1\",\"microtimestamp\":"
                              "\"1617654357670785\",\"bids\":[[\"519.18\",\"1.0\"]],\"asks\":[]},"
                              "\"channel\":\"diff_order_book_bcheur\",\"event\":\"data\"}"),
                     0);
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 1);
    feed_offline_close(&o);
    vrun_free(v);
    free(v);
}

static void test_bitstamp_bad_input_is_counted(void **state)
{
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(feed_offline_open(&o, rec(), NULL, NULL, 0), 0);
    vrun_init(v, o->reg);
    o->h.out.flush = vrun_sink;
    o->h.out.ctx = v;
    assert_int_equal(feed1(o, "{\"data\":{"), TG_EJSON);
    assert_int_equal(feed1(o, "{\"data\":{\"microtimestamp\":\"1\",\"bids\":[]},\"channel\":"
                              "\"diff_order_book_dogeusd\",\"event\":\"data\"}"),
                     TG_ESYMBOL);
    assert_int_equal(feed1(o, "{\"event\":\"bts:error\",\"data\":{\"code\":null}}"), TG_EPROTO);
    assert_int_equal(
        feed1(o, "{\"channel\":\"live_trades_ethgbp\",\"data\":{\"amount_str\":\"x\","
                 "\"price_str\":\"1\",\"microtimestamp\":\"1\",\"type\":0,\"id\":1},\"event\":"
                 "\"trade\"}"),
        TG_EDEC_SYNTAX);
    assert_int_equal(TG_STAT_GET(o->stats.err_json), 1);
    assert_int_equal(TG_STAT_GET(o->stats.err_symbol), 1);
    assert_int_equal(TG_STAT_GET(o->stats.err_venue), 1);
    assert_int_equal(TG_STAT_GET(o->stats.err_decimal), 1);
    assert_int_equal(v->events, 0);
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

static void test_bitstamp_mutated_frames_never_crash_and_are_all_counted(void **state)
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

#define BSD(pair, micro, bids, asks)                                                               \
    "{\"data\":{\"timestamp\":\"1\",\"microtimestamp\":\"" micro "\",\"bids\":" bids               \
    ",\"asks\":" asks "},\"channel\":\"diff_order_book_" pair "\",\"event\":\"data\"}"

/* Diffs buffered before the snapshot are kept at the pair's scale: two raises while they wait
 * (a diff with 9 places, then a snapshot with 11) rescale them exactly (bs_on_rescale), and
 * the replay after the snapshot is exact. */
static void test_bitstamp_extreme_scales_buffered_diffs_follow_the_raised_scale(void **state)
{
    xs_run_t *x = calloc(1, sizeof(*x));
    feed_offline_t *o = xs_open("bitstamp", "shibusd,btcusd", x);
    uint32_t id = xs_id(o, "shibusd");
    assert_int_equal(xs_feed(o, BSD("shibusd", "100", "[[\"0.00001234\",\"1000000\"]]", "[]")), 0);
    assert_int_equal(xs_feed(o, BSD("shibusd", "300", "[[\"0.00001235\",\"2000000\"]]",
                                    "[[\"0.0000124\",\"92233720368\"]]")),
                     0);
    assert_int_equal(xs_feed(o, BSD("shibusd", "400", "[]", "[[\"0.0000124\",\"0\"]]")), 0);
    assert_int_equal(xs_feed(o, BSD("shibusd", "500", "[[\"0.000012355\",\"1\"]]", "[]")), 0);
    assert_int_equal(feed_px_scale(&o->h, id), 9);
    assert_int_equal(TG_STAT_GET(o->stats.buffered), 4);
    assert_int_equal(x->nev, 0);
    uint64_t frames = TG_STAT_GET(o->stats.frames);
    assert_int_equal(
        xs_feed(o, "{\"stream\":\"diff_order_book_shibusd@depthSnapshot\",\"generated\":true,"
                   "\"data\":{\"timestamp\":\"1\",\"microtimestamp\":\"200\",\"bids\":[["
                   "\"0.00001233\",\"5\"]],\"asks\":[[\"0.0000125\",\"1.5\"],[\"0.00001241234\","
                   "\"0.00000001\"]]}}"),
        0);
    assert_int_equal(TG_STAT_GET(o->stats.frames), frames + 1);
    assert_int_equal(feed_px_scale(&o->h, id), 11);
    size_t from = 0;
    static const char *const ev[][3] = {{"0.00001233", "5", "b"},
                                        {"0.0000125", "1.5", "a"},
                                        {"0.00001241234", "0.00000001", "a"},
                                        {"0.00001235", "2000000", "b"},
                                        {"0.0000124", "92233720368", "a"},
                                        {"0.0000124", "0", "a"},
                                        {"0.000012355", "1", "b"}};
    xs_expect(x, &from, TG_EV_LEVEL, ev, 7);
    assert_null(xs_next(x, &from, TG_EV_LEVEL));
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 1); /* diff 100 */
    static const char *const wb[][2] = {
        {"0.000012355", "1"}, {"0.00001235", "2000000"}, {"0.00001233", "5"}};
    static const char *const wa[][2] = {{"0.00001241234", "0.00000001"}, {"0.0000125", "1.5"}};
    xs_book_side(x, id, 1, wb, 3);
    xs_book_side(x, id, 0, wa, 2);
    /* synced: a diff with 12 places and one with 1e7 */
    assert_int_equal(xs_feed(o, BSD("shibusd", "600", "[[\"0.000012345678\",\"3\"]]", "[]")), 0);
    assert_int_equal(feed_px_scale(&o->h, id), 12);
    static const char *const ev2[][3] = {{"0.000012345678", "3", "b"}};
    xs_expect(x, &from, TG_EV_LEVEL, ev2, 1);
    assert_int_equal(x->gaps, 0);
    assert_int_equal(x->unstamped, 0);
    assert_int_equal(vrun_errors(&o->stats), 0);
    assert_int_equal(vrun_accounted(&o->stats), TG_STAT_GET(o->stats.frames));
    /* an amount no scale of this book holds (1e12 at 8 places): err_decimal (it was err_json
     * before feed_count_error), FAULT, and a new snapshot is asked for */
    uint64_t gets = o->rest_gets;
    assert_int_equal(xs_feed(o, BSD("shibusd", "700", "[[\"0.00001\",\"1000000000000\"]]", "[]")),
                     TG_EDEC_RANGE);
    assert_int_equal(TG_STAT_GET(o->stats.err_decimal), 1);
    assert_int_equal(TG_STAT_GET(o->stats.err_json), 0);
    assert_int_equal(TG_STAT_GET(o->stats.unrepresentable), 1);
    assert_int_equal(x->faults, 1);
    assert_int_equal(o->rest_gets, gets + 1);
    assert_int_equal(vrun_accounted(&o->stats), TG_STAT_GET(o->stats.frames));
    xs_close(&o, x);
    free(x);
}

/* A buffered size that a raised size scale cannot hold (92233720368 at 9 places): the pair's
 * buffer is dropped and remembered as lost, a snapshot older than it is refused, a newer one
 * is used. REST answers that raise a scale are counted once. Trades at 1e7 x 1e-8. */
static void test_bitstamp_extreme_scales_unholdable_buffer_and_rest_snapshot(void **state)
{
    xs_run_t *x = calloc(1, sizeof(*x));
    feed_offline_t *o = xs_open("bitstamp", "shibusd,btcusd", x);
    uint32_t id = xs_id(o, "btcusd");
    uint32_t tag = 0;
    while (o->h.instr[tag] != id)
        tag++;
    assert_int_equal(xs_feed(o, BSD("btcusd", "300", "[[\"10000000\",\"92233720368\"]]", "[]")), 0);
    assert_int_equal(xs_feed(o, BSD("btcusd", "400", "[[\"9999999\",\"0.000000001\"]]", "[]")), 0);
    assert_int_equal(feed_sz_scale(&o->h, id), 9);
    uint64_t gets = o->rest_gets, frames = TG_STAT_GET(o->stats.frames);
    const char *old = "{\"timestamp\":\"1\",\"microtimestamp\":\"250\",\"bids\":[[\"9999998\","
                      "\"1\"]],\"asks\":[[\"10000001.5\",\"0.00000001\"]]}";
    assert_int_equal(feed_rest(&o->h, tag, 200, old, strlen(old), 1, 1), 0);
    feed_flush(&o->h);
    assert_int_equal(x->nev, 0); /* older than the lost diff 300: not used */
    assert_int_equal(o->rest_gets, gets + 1);
    const char *body = "{\"timestamp\":\"1\",\"microtimestamp\":\"350\",\"bids\":[[\"9999998\","
                       "\"1\"]],\"asks\":[[\"10000001.5\",\"0.00000001\"],[\"10000002\","
                       "\"0.0000000001\"]]}";
    assert_int_equal(feed_rest(&o->h, tag, 200, body, strlen(body), 2, 2), 0);
    feed_flush(&o->h);
    assert_int_equal(TG_STAT_GET(o->stats.frames), frames + 2); /* once each */
    assert_int_equal(feed_sz_scale(&o->h, id), 10);
    static const char *const wb[][2] = {{"9999999", "0.000000001"}, {"9999998", "1"}};
    static const char *const wa[][2] = {{"10000001.5", "0.00000001"}, {"10000002", "0.0000000001"}};
    xs_book_side(x, id, 1, wb, 2);
    xs_book_side(x, id, 0, wa, 2);
    assert_int_equal(
        xs_feed(o, "{\"channel\":\"live_trades_btcusd\",\"data\":{\"amount_str\":\"0.00000001\","
                   "\"price_str\":\"10000000\",\"microtimestamp\":\"1\",\"type\":1,\"id\":1},"
                   "\"event\":\"trade\"}"),
        0);
    size_t from = 0;
    static const char *const tr[][3] = {{"10000000", "0.00000001", "a"}};
    xs_expect(x, &from, TG_EV_TRADE, tr, 1);
    assert_int_equal(x->gaps, 0);
    assert_int_equal(x->unstamped, 0);
    assert_int_equal(vrun_errors(&o->stats), 0);
    assert_int_equal(vrun_accounted(&o->stats), TG_STAT_GET(o->stats.frames));
    xs_close(&o, x);
    free(x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bitstamp_is_found_by_name),
        cmocka_unit_test(test_bitstamp_books_and_trades_equal_the_oracle),
        cmocka_unit_test(test_bitstamp_diffs_before_the_snapshot_are_buffered_then_filtered),
        cmocka_unit_test(test_bitstamp_rest_snapshot_answers_and_failures),
        cmocka_unit_test(test_bitstamp_bad_input_is_counted),
        cmocka_unit_test(test_bitstamp_mutated_frames_never_crash_and_are_all_counted),
        cmocka_unit_test(test_bitstamp_extreme_scales_buffered_diffs_follow_the_raised_scale),
        cmocka_unit_test(test_bitstamp_extreme_scales_unholdable_buffer_and_rest_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
