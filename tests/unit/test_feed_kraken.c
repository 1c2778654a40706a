/* SPDX-License-Identifier: MIT */
/*
 * Kraken websocket v1 handler (feeds/feed_kraken.c) against the recorded session in
 * ../shared/recordings/kraken and the tardis-dev oracle: every checksum "c" of the recording
 * verified on our book (truncated to the subscribed depth), final top-10 books equal to the
 * oracle, a corrupted level caught by the checksum, synthetic trades/two-object updates, bad
 * input counted, and thousands of mutated frames handled without a crash or leak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../fixtures/venue_run.h"
#include "book/tg_resync.h"
#include "feeds/feed_checksum.h"

#define KR_FILE   "kraken/cryptofeed_ce58c2a0_KRAKEN.ws.50.tgrec"
#define KR_ORACLE "cryptofeed_ce58c2a0_KRAKEN.ws.50.tgrec.result.json"

static char path[1024];

/* A strong reference: feed.c refers to the venues weakly, which does not pull a venue's object
 * out of the static library by itself. */
extern const feed_venue_t feed_venue_kraken;

static void test_kraken_is_found_by_name(void **state)
{
    assert_ptr_equal(feed_venue_find("kraken"), &feed_venue_kraken);
}

static const char *rec_path(void)
{
    return vrun_path(path, sizeof(path), "TG_RECORDINGS", KR_FILE);
}

static void test_kraken_every_recorded_checksum_matches_our_book(void **state)
{
    vrun_t *v = calloc(1, sizeof(*v));
    feed_offline_t *o = NULL;
    assert_int_equal(vrun_file(rec_path(), v, &o), 0);
    v->ck_verbose = 1;
    /* README of the recordings: CRC32 "c" verified 4269/4269 updates */
    assert_int_equal(v->ck_bad, 0);
    assert_int_equal(v->ck_ok, 4269);
    assert_int_equal(v->ck_not_last, 0);
    assert_int_equal(TG_STAT_GET(o->stats.checksum_msgs), 4269);
    assert_int_equal(TG_STAT_GET(o->stats.snapshots), 10);
    assert_int_equal(vrun_errors(&o->stats), 0);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 0);
    assert_int_equal(TG_STAT_GET(o->stats.frames), o->rec->data_lines);
    assert_int_equal(vrun_accounted(&o->stats), o->rec->data_lines);
    /* oracle: 4279 book changes, 31 heartbeats + 10 subscriptionStatus + 1 systemStatus */
    long book_msgs = 0;
    for (int i = 0; i < VR_MAX; i++)
        book_msgs += v->book_msgs[i];
    assert_int_equal(book_msgs, 4279);
    assert_int_equal(TG_STAT_GET(o->stats.unhandled), 42);
    /* the recording subscribed with depth 1000: that is the truncation depth */
    const tg_instr_t *in = tg_instr_reg_get(o->reg, o->h.instr[0]);
    assert_int_equal(in->depth_limit, 1000);
    assert_ptr_equal(in->checksum, feed_kraken_checksum);
    feed_offline_close(&o);
    vrun_free(v);
    free(v);
}

static void test_kraken_final_top10_books_equal_the_oracle(void **state)
{
    char opath[1024];
    oracle_t orc;
    assert_int_equal(
        oracle_load(vrun_path(opath, sizeof(opath), "TG_PEER_EXPECTED", KR_ORACLE), &orc), 0);
    vrun_t *v = calloc(1, sizeof(*v));
    feed_offline_t *o = NULL;
    assert_int_equal(vrun_file(rec_path(), v, &o), 0);
    assert_int_equal(orc.n_syms, (int)o->h.n_instr);
    int diffs = 0;
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
        assert_int_equal(v->trades[in->id], os->trades);
        assert_int_equal(v->snapshots[in->id], os->snapshots);
        assert_int_equal(v->book_msgs[in->id], os->book_changes);
    }
    assert_int_equal(diffs, 0);
    feed_offline_close(&o);
    vrun_free(v);
    free(v);
    oracle_free(&orc);
}

/* Run the recording's text (possibly mutated) through an opened driver's handler. */
static void run_text(feed_offline_t *o, const char *text, size_t len, vrun_t *v)
{
    feed_tgrec_t *r = NULL;
    assert_int_equal(feed_tgrec_open_mem(&r, text, len), 0);
    o->h.out.flush = vrun_sink;
    o->h.out.ctx = v;
    int64_t ts;
    const char *f;
    size_t n;
    int rc;
    while ((rc = feed_tgrec_next(r, &ts, &f, &n)) != 0) {
        if (rc < 0)
            continue;
        feed_frame(&o->h, f, n, ts, ts);
        feed_flush(&o->h);
    }
    feed_tgrec_close(&r);
}

static void test_kraken_corrupted_snapshot_level_fails_the_next_checksum(void **state)
{
    size_t len = 0;
    char *text = vrun_slurp(rec_path(), &len);
    assert_non_null(text);
    /* XMR/USD snapshot: best ask 354.80000000 x 1.40000000 -> size 1.50000000 */
    char *p = strstr(text, "[992,{\"as\":[[\"354.80000000\",\"1.40000000\"");
    assert_non_null(p);
    p = strstr(p, "\"1.40000000\"");
    p[3] = '5';
    feed_offline_t *o = NULL;
    assert_int_equal(feed_offline_open(&o, rec_path(), NULL, NULL, 0), 0);
    vrun_t *v = calloc(1, sizeof(*v));
    vrun_init(v, o->reg);
    run_text(o, text, len, v);
    int64_t xmr = tg_instr_reg_find(o->reg, o->h.venue_id, "XMR/USD", 7);
    assert_true(xmr >= 0);
    assert_true(v->ck_bad_instr[xmr] > 0);
    assert_int_equal(v->ck_bad, v->ck_bad_instr[xmr]); /* other pairs unaffected */
    /* the very first XMR/USD update after the snapshot already fails */
    assert_true(v->first_bad > 0);
    assert_true(v->ck_ok + v->ck_bad == 4269);
    free(text);
    feed_offline_close(&o);
    vrun_free(v);
    free(v);
}

typedef struct frame_case {
    const char *text;
    int rc_negative;
} frame_case_t;

static int open_kraken(feed_offline_t **o, vrun_t *v)
{
    int rc = feed_offline_open(o, rec_path(), NULL, NULL, 10);
    if (rc == 0) {
        vrun_init(v, (*o)->reg);
        (*o)->h.out.flush = vrun_sink;
        (*o)->h.out.ctx = v;
    }
    return rc;
}

static int feed1(feed_offline_t *o, const char *s)
{
    int rc = feed_frame(&o->h, s, strlen(s), 1000, 1000);
    feed_flush(&o->h);
    return rc;
}

static void test_kraken_two_object_update_and_republish_flag_apply_in_one_message(void **state)
{
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(open_kraken(&o, v), 0);
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, "XBT/CHF", 7);
    assert_int_equal(feed1(o,
                           "[464,{\"as\":[[\"56218.30000\",\"0.15000000\",\"1618678117.243818\"]],"
                           "\"bs\":[[\"56200.00000\",\"1.00000000\",\"1618678117.000001\"]]},"
                           "\"book-10\",\"XBT/CHF\"]"),
                     0);
    assert_int_equal(v->book[id].ask.n, 1);
    long msgs = v->msgs;
    /* ask republished ("r"), bid added; checksum over the resulting book */
    /* fiat-quoted pair: prices at scale 8 */
    assert_int_equal(tg_instr_reg_get(o->reg, (uint32_t)id)->px_scale, 8);
    tg_level_t bids[2] = {{5620100000000, 200000000}, {5620000000000, 100000000}};
    tg_level_t asks[1] = {{5621830000000, 25000000}};
    char c[80], frame[512];
    uint32_t want = feed_kraken_checksum_levels(bids, 2, asks, 1, 8, 8, 5, 8);
    snprintf(c, sizeof(c), "%u", want);
    snprintf(frame, sizeof(frame),
             "[464,{\"a\":[[\"56218.30000\",\"0.25000000\",\"1618678118.5\",\"r\"]]},"
             "{\"b\":[[\"56201.00000\",\"2.00000000\",\"1618678118.123456\"]],\"c\":\"%s\"},"
             "\"book-10\",\"XBT/CHF\"]",
             c);
    assert_int_equal(feed1(o, frame), 0);
    assert_int_equal(v->msgs, msgs + 1); /* one exchange message */
    assert_int_equal(v->ck_ok, 1);
    assert_int_equal(v->ck_bad, 0);
    assert_int_equal(v->book[id].bid.n, 2);
    assert_int_equal(v->book[id].ask.sz[0], 25000000);
    feed_offline_close(&o);
    vrun_free(v);
    free(v);
}

static tg_event_t trade_ev[8];
static int trade_n;
static int trade_sink(void *ctx, const tg_event_t *ev, uint32_t n)
{
    for (uint32_t i = 0; i < n && trade_n < 8; i++)
        trade_ev[trade_n++] = ev[i];
    return 0;
}

static void test_kraken_trades_become_exact_trade_events(void **state)
{
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(open_kraken(&o, v), 0);
    o->h.out.flush = trade_sink;
    trade_n = 0;
    assert_int_equal(
        feed1(o, "[337,[[\"354.80000000\",\"0.01000000\",\"1618678134.123456\",\"b\",\"l\",\"\"],"
                 "[\"354.70000000\",\"2.50000000\",\"1618678134.999999\",\"s\",\"m\",\"\"]],"
                 "\"trade\",\"XMR/USD\"]"),
        0);
    assert_int_equal(trade_n, 2);
    assert_int_equal(trade_ev[0].kind, TG_EV_TRADE);
    assert_int_equal(trade_ev[0].side, TG_SIDE_BUY);
    assert_int_equal(trade_ev[0].price, 35480000000);
    assert_int_equal(trade_ev[0].size, 1000000);
    assert_int_equal(trade_ev[0].ts_exch, 1618678134123456000LL);
    assert_int_equal(trade_ev[0].flags & TG_EVF_LAST, 0);
    assert_int_equal(trade_ev[1].side, TG_SIDE_SELL);
    assert_int_equal(trade_ev[1].ts_exch, 1618678134999999000LL);
    assert_int_equal(trade_ev[1].flags & TG_EVF_LAST, TG_EVF_LAST);
    assert_int_equal(TG_STAT_GET(o->stats.trades), 2);
    feed_offline_close(&o);
    vrun_free(v);
    free(v);
}

static void test_kraken_bad_input_is_counted_and_a_bad_level_resyncs(void **state)
{
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(open_kraken(&o, v), 0);
    const char *snap = "[992,{\"as\":[[\"354.8\",\"1.4\",\"1618678133.020508\"]],"
                       "\"bs\":[[\"354.1\",\"1.0\",\"1618678133.020508\"]]},\"book-10\","
                       "\"XMR/USD\"]";
    assert_int_equal(feed1(o, snap), 0);
    assert_int_equal(feed1(o, "[992,{\"a\":[[\"354.8\",\"1.4\""), TG_EJSON);
    assert_int_equal(TG_STAT_GET(o->stats.err_json), 1);
    assert_int_equal(feed1(o, "[992,{\"a\":[[354.8,\"1.4\",\"1.0\"]]},\"book-10\",\"XMR/USD\"]"),
                     TG_EFIELD);
    assert_int_equal(TG_STAT_GET(o->stats.err_field), 1);
    int64_t xmr = tg_instr_reg_find(o->reg, o->h.venue_id, "XMR/USD", 7);
    assert_int_equal(v->gaps[xmr], 1); /* wrong type in a level: book invalid */
    assert_int_equal(feed1(o, snap), 0);
    uint64_t sent = o->sent;
    assert_int_equal(feed1(o, "[992,{\"b\":[[\"99999999999999999999\",\"1\",\"1.0\"]],"
                              "\"c\":\"1\"},\"book-10\",\"XMR/USD\"]"),
                     TG_EDEC_SYNTAX);
    assert_int_equal(TG_STAT_GET(o->stats.err_decimal), 1);
    assert_int_equal(v->gaps[xmr], 2);
    assert_int_equal(o->sent, sent + 2); /* unsubscribe + subscribe */
    /* updates before the new snapshot are dropped */
    assert_int_equal(feed1(o, "[992,{\"b\":[[\"354.2\",\"1\",\"1.0\"]]},\"book-10\",\"XMR/USD\"]"),
                     0);
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 1);
    assert_int_equal(feed1(o, "[1,{\"b\":[[\"1\",\"1\",\"1.0\"]]},\"book-10\",\"DOGE/USD\"]"),
                     TG_ESYMBOL);
    assert_int_equal(TG_STAT_GET(o->stats.err_symbol), 1);
    assert_int_equal(feed1(o, "{\"errorMessage\":\"Currency pair not supported\",\"event\":"
                              "\"subscriptionStatus\",\"pair\":\"XX/YY\",\"status\":\"error\"}"),
                     TG_EPROTO);
    assert_int_equal(TG_STAT_GET(o->stats.err_venue), 1);
    assert_int_equal(feed1(o, "{\"event\":\"heartbeat\"}"), 0);
    assert_int_equal(feed1(o, "[1,{},\"spread\",\"XMR/USD\"]"), 0);
    assert_int_equal(TG_STAT_GET(o->stats.unhandled), 2);
    assert_int_equal(feed1(o, ""), TG_EJSON);
    assert_int_equal(feed1(o, "42"), TG_EJSON);
    feed_offline_close(&o);
    vrun_free(v);
    free(v);
}

static tg_resync_t resync_req;

static void test_kraken_builder_resync_request_resubscribes_the_pair_on_tick(void **state)
{
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(open_kraken(&o, v), 0);
    o->h.resync = &resync_req;
    assert_int_equal(o->venue->on_open(&o->h), 0);
    const char *snap = "[992,{\"as\":[[\"354.8\",\"1.4\",\"1618678133.020508\"]],"
                       "\"bs\":[[\"354.1\",\"1.0\",\"1618678133.020508\"]]},\"book-10\","
                       "\"XMR/USD\"]";
    assert_int_equal(feed1(o, snap), 0);
    int64_t xmr = tg_instr_reg_find(o->reg, o->h.venue_id, "XMR/USD", 7);
    uint64_t sent = o->sent;
    o->venue->on_tick(&o->h, 1);
    assert_int_equal(o->sent, sent);               /* nothing asked yet */
    tg_resync_request(&resync_req, (uint32_t)xmr); /* the builder saw a checksum mismatch */
    o->venue->on_tick(&o->h, 2);
    assert_int_equal(o->sent, sent + 2); /* unsubscribe + subscribe */
    o->venue->on_tick(&o->h, 3);
    assert_int_equal(o->sent, sent + 2); /* acted on once */
    /* updates are dropped until the new snapshot */
    assert_int_equal(feed1(o, "[992,{\"b\":[[\"354.2\",\"1\",\"1.0\"]]},\"book-10\",\"XMR/USD\"]"),
                     0);
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 1);
    assert_int_equal(feed1(o, snap), 0);
    assert_int_equal(v->snapshots[xmr], 2);
    feed_offline_close(&o);
    vrun_free(v);
    free(v);
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
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

static void test_kraken_mutated_frames_never_crash_and_are_all_counted(void **state)
{
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(feed_offline_open(&o, rec_path(), NULL, NULL, 0), 0);
    vrun_init(v, o->reg);
    o->h.out.flush = vrun_sink;
    o->h.out.ctx = v;
    /* collect frames */
    size_t nf = o->rec->data_lines, k = 0;
    const char **fr = calloc(nf, sizeof(*fr));
    size_t *fl = calloc(nf, sizeof(*fl));
    int64_t ts;
    while (k < nf && feed_tgrec_next(o->rec, &ts, &fr[k], &fl[k]) == 1)
        k++;
    nf = k;
    const int iters = fuzz_iters(20000);
    for (int it = 0; it < iters; it++) {
        size_t i = xrand() % nf;
        size_t len = fl[i];
        char *b = malloc(len + 16);
        memcpy(b, fr[i], len);
        switch (xrand() % 5) {
        case 0: /* byte flips */
            for (int j = 0; j < 1 + (int)(xrand() % 4); j++)
                b[xrand() % len] = (char)(xrand() & 0xff);
            break;
        case 1: /* truncation */
            len = xrand() % len;
            break;
        case 2: /* a structural character replaced */
            for (size_t j = 0; j < len; j++)
                if (strchr("[]{}\",:", b[j]) && xrand() % 8 == 0) {
                    b[j] = "[]{}\",:x"[xrand() % 8];
                    break;
                }
            break;
        case 3: /* digits inflated */
            for (size_t j = 0; j < len; j++)
                if (b[j] >= '0' && b[j] <= '9' && xrand() % 16 == 0)
                    b[j] = '9';
            break;
        default: /* original frame */
            break;
        }
        char *exact = malloc(len ? len : 1); /* exact size: ASan sees any over-read */
        memcpy(exact, b, len);
        uint64_t frames = TG_STAT_GET(o->stats.frames), errs = vrun_errors(&o->stats);
        uint64_t acc = vrun_accounted(&o->stats);
        int rc = feed_frame(&o->h, exact, len, 1, 1);
        feed_flush(&o->h);
        assert_int_equal(TG_STAT_GET(o->stats.frames), frames + 1);
        assert_int_equal(vrun_errors(&o->stats), errs + (rc < 0 ? 1 : 0));
        assert_int_equal(vrun_accounted(&o->stats), acc + 1);
        assert_int_equal(v->in_msg, 0); /* every message ended with TG_EVF_LAST */
        free(exact);
        free(b);
    }
    assert_true(vrun_errors(&o->stats) > 0);
    free(fr);
    free(fl);
    feed_offline_close(&o);
    vrun_free(v);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kraken_is_found_by_name),
        cmocka_unit_test(test_kraken_every_recorded_checksum_matches_our_book),
        cmocka_unit_test(test_kraken_final_top10_books_equal_the_oracle),
        cmocka_unit_test(test_kraken_corrupted_snapshot_level_fails_the_next_checksum),
        cmocka_unit_test(test_kraken_two_object_update_and_republish_flag_apply_in_one_message),
        cmocka_unit_test(test_kraken_trades_become_exact_trade_events),
        cmocka_unit_test(test_kraken_bad_input_is_counted_and_a_bad_level_resyncs),
        cmocka_unit_test(test_kraken_builder_resync_request_resubscribes_the_pair_on_tick),
        cmocka_unit_test(test_kraken_mutated_frames_never_crash_and_are_all_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
