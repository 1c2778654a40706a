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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bitstamp_is_found_by_name),
        cmocka_unit_test(test_bitstamp_books_and_trades_equal_the_oracle),
        cmocka_unit_test(test_bitstamp_diffs_before_the_snapshot_are_buffered_then_filtered),
        cmocka_unit_test(test_bitstamp_rest_snapshot_answers_and_failures),
        cmocka_unit_test(test_bitstamp_bad_input_is_counted),
        cmocka_unit_test(test_bitstamp_mutated_frames_never_crash_and_are_all_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
