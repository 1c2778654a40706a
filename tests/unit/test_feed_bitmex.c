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
                     TG_EDEC_SYNTAX);
    assert_int_equal(feed1(o, "{\"table\":\"trade\",\"action\":\"insert\",\"data\":[{"
                              "\"timestamp\":\"2021-13-05T18:41:18.601Z\",\"symbol\":\"TRXM21\","
                              "\"side\":\"Buy\",\"size\":1,\"price\":1}]}"),
                     TG_EFIELD);
    assert_int_equal(TG_STAT_GET(o->stats.err_json), 1);
    assert_int_equal(TG_STAT_GET(o->stats.err_venue), 1);
    assert_int_equal(TG_STAT_GET(o->stats.err_symbol), 1);
    assert_int_equal(TG_STAT_GET(o->stats.err_decimal), 1);
    assert_int_equal(TG_STAT_GET(o->stats.err_field), 1);
    assert_int_equal(v->events, 0);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bitmex_is_found_by_name),
        cmocka_unit_test(test_bitmex_books_and_trades_equal_the_oracle),
        cmocka_unit_test(test_bitmex_update_and_delete_find_prices_by_id_and_unknown_ids_resync),
        cmocka_unit_test(test_bitmex_bad_input_is_counted),
        cmocka_unit_test(test_bitmex_mutated_frames_never_crash_and_are_all_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
