/* SPDX-License-Identifier: MIT */
/*
 * OKX v5 handler (feeds/feed_okex.c) against the two recorded sessions in
 * ../shared/recordings/okex and the tardis-dev oracle: every checksum verified on our book,
 * final top-10 books, trade counts and amounts equal to the oracle, a corrupted level caught by
 * the checksum, a dropped update caught by seqId chaining (gap + resubscribe), bad input
 * counted, and thousands of mutated frames handled without a crash or leak.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/fixtures/venue_harness.h"
#include "tests/fixtures/xs_cases.h"
#include "book/tg_dec.h"
#include "feeds/feed_checksum.h"
#include "feeds/venues/venues.h"

#define OK_2021 "okex/cryptofeed_9a4a9b9d_OKEX.ws.1.tgrec"
#define OK_2022 "okex/cryptofeed_ce58c2a0_OKX.ws.1.tgrec"

static void test_okex_is_found_as_okex_and_okx(void **state)
{
    assert_ptr_equal(feed_venue_find("okex"), &feed_venue_okex);
    assert_ptr_equal(feed_venue_find("okx"), &feed_venue_okex);
}

static void check_all_checksums(const char *rel, long want)
{
    feed_offline_t *o = NULL;
    vrun_t *v = vh_run_checksums(vh_rec(rel), want, &o);
    vrun_close(&o, v);
}

/* README of the recordings: 1504/1504 and 290/290 messages verified */
static void test_okex_2021_every_recorded_checksum_matches_our_book(void **state)
{
    check_all_checksums(OK_2021, 1504);
}

static void test_okex_2022_every_recorded_checksum_matches_our_book(void **state)
{
    check_all_checksums(OK_2022, 290);
}

/* Book messages per instrument whose asks and bids are both empty (checksum-only updates). */
static long empty_updates(const char *text, const char *inst)
{
    long n = 0;
    char key[96];
    snprintf(key, sizeof(key), "\"instId\":\"%s\"},\"action\":\"update\"", inst);
    for (const char *p = text; (p = fv_find(p, key)) != NULL; p++)
        if (fv_in_line(p, "\"asks\":[],\"bids\":[]"))
            n++;
    return n;
}

static void check_oracle(const char *rel, const char *oracle_name)
{
    oracle_t orc;
    feed_offline_t *o = NULL;
    vrun_t *v = vh_oracle_run(oracle_name, rel, &orc, &o);
    size_t tlen = 0;
    char *text = vrun_slurp(vh_rec(rel), &tlen);
    assert_non_null(text);
    assert_int_equal(orc.n_syms, (int)o->h.n_instr);
    int diffs = 0;
    for (uint32_t i = 0; i < o->h.n_instr; i++) {
        const tg_instr_t *in;
        const oracle_sym_t *os = vrun_oracle_in(v, o, &orc, i, 10, &diffs, &in);
        vrun_assert_trades(v, in, os, 1);
        assert_int_equal(v->snapshots[in->id], os->snapshots);
        /* tardis emits no book change for an update with no levels; we emit its checksum */
        assert_int_equal(v->book_msgs[in->id], os->book_changes + empty_updates(text, in->symbol));
    }
    assert_int_equal(diffs, 0);
    free(text);
    vrun_close(&o, v);
    oracle_free(&orc);
}

static void test_okex_2021_books_and_trades_equal_the_oracle(void **state)
{
    check_oracle(OK_2021, "cryptofeed_9a4a9b9d_OKEX.ws.1.tgrec.result.json");
}

static void test_okex_2022_books_and_trades_equal_the_oracle(void **state)
{
    check_oracle(OK_2022, "cryptofeed_ce58c2a0_OKX.ws.1.tgrec.result.json");
}

static void test_okex_corrupted_snapshot_level_fails_the_next_checksum(void **state)
{
    size_t len = 0;
    char *text = vrun_slurp(vh_rec(OK_2022), &len);
    assert_non_null(text);
    /* BTC-USDT snapshot: best ask 30243.5 x 1.44679 -> 1.44678 */
    char *p = strstr(text, "\"instId\":\"BTC-USDT\"},\"action\":\"snapshot\"");
    assert_non_null(p);
    p = strstr(p, "[\"30243.5\",\"1.44679\"");
    assert_non_null(p);
    p[18] = '8';
    feed_offline_t *o = vh_rec_open(OK_2022);
    vrun_t *v = calloc(1, sizeof(*v));
    vrun_init(v, o->reg);
    vrun_run_text(o, text, len, v);
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, "BTC-USDT", 8);
    assert_true(v->ck_bad_instr[id] > 0);
    assert_int_equal(v->ck_bad, v->ck_bad_instr[id]);
    assert_int_equal(v->ck_ok + v->ck_bad, 290);
    free(text);
    vrun_close(&o, v);
}

/* The 2022 recording predates seqId: give every books message a chained seqId/prevSeqId per
 * instrument (as OKX sends today), drop update number `drop_nth` of drop_inst. */
static char *with_seq_ids(const char *text, size_t len, const char *drop_inst, int drop_nth,
                          size_t *out_len, long *dropped_prev)
{
    char *out = malloc(len * 2 + 4096);
    size_t n = 0;
    const char *insts[3] = {"BTC-USD-220527", "UNI-USD-SWAP", "BTC-USDT"};
    long seq[3] = {0, 0, 0};
    int upd[3] = {0, 0, 0};
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t ll = eol ? (size_t)(eol - p) + 1 : (size_t)(end - p);
        const char *d = NULL;
        int which = -1;
        if (p[0] != '#' && fv_in_line(p, "\"channel\":\"books\"") &&
            (d = fv_in_line(p, "\"data\":[{")) != NULL) {
            for (int i = 0; i < 3; i++) {
                char key[64];
                snprintf(key, sizeof(key), "\"instId\":\"%s\"}", insts[i]);
                const char *k = fv_in_line(p, key);
                if (k && k < d)
                    which = i;
            }
        }
        if (which < 0) {
            memcpy(out + n, p, ll);
            n += ll;
            p += ll;
            continue;
        }
        const char *a = fv_in_line(p, "\"action\":\"snapshot\"");
        int snap = a != NULL && a < d;
        long prev = snap ? -1 : seq[which];
        long s = seq[which] + 7; /* OKX ids are not contiguous */
        seq[which] = s;
        if (!snap && strcmp(insts[which], drop_inst) == 0 && ++upd[which] == drop_nth) {
            *dropped_prev = prev;
            p += ll; /* the lost message */
            continue;
        }
        size_t head = (size_t)(d - p) + 9;
        memcpy(out + n, p, head);
        n += head;
        n += (size_t)sprintf(out + n, "\"prevSeqId\":%ld,\"seqId\":%ld,", prev, s);
        memcpy(out + n, p + head, ll - head);
        n += ll - head;
        p += ll;
    }
    *out_len = n;
    return out;
}

static void test_okex_dropped_update_breaks_seqid_chain_and_resubscribes(void **state)
{
    size_t len = 0, n2 = 0;
    char *text = vrun_slurp(vh_rec(OK_2022), &len);
    assert_non_null(text);
    long dropped_prev = 0;
    /* first: all messages chained -> no gap, every checksum still verifies */
    char *chained = with_seq_ids(text, len, "", 0, &n2, &dropped_prev);
    feed_offline_t *o = NULL;
    vrun_t *v = calloc(1, sizeof(*v));
    assert_int_equal(feed_offline_open(&o, vh_rec(OK_2022), NULL, NULL, 0), 0);
    vrun_init(v, o->reg);
    vrun_run_text(o, chained, n2, v);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 0);
    assert_int_equal(v->ck_ok, 290);
    feed_offline_close(&o);
    vrun_free(v);
    free(chained);
    /* then: update 10 of BTC-USDT lost */
    char *lossy = with_seq_ids(text, len, "BTC-USDT", 10, &n2, &dropped_prev);
    assert_int_equal(feed_offline_open(&o, vh_rec(OK_2022), NULL, NULL, 0), 0);
    vrun_init(v, o->reg);
    uint64_t sent = o->sent;
    vrun_run_text(o, lossy, n2, v);
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, "BTC-USDT", 8);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 1);
    assert_int_equal(v->gaps[id], 1);
    assert_int_equal(v->last_gap.kind, TG_EV_GAP);
    assert_int_equal(v->last_gap.seq, (uint64_t)dropped_prev);       /* last good seqId */
    assert_int_equal(v->last_gap.u.aux, (uint64_t)dropped_prev + 7); /* prevSeqId received */
    assert_int_equal(o->sent, sent + 2);                             /* unsubscribe + subscribe */
    assert_int_equal(v->ck_bad, 0); /* nothing applied on a broken chain */
    assert_true(TG_STAT_GET(o->stats.stale_dropped) > 0);
    vrun_close(&o, v);
    free(lossy);
    free(text);
}

static void test_okex_seqid_rules_allow_no_change_and_reset_messages(void **state)
{
    vrun_t *v;
    feed_offline_t *o = vrun_open(vh_rec(OK_2022), &v);
#define PRE "{\"arg\":{\"channel\":\"books\",\"instId\":\"BTC-USDT\"},\"action\":"
    static const char *const chain[] = {
        PRE "\"snapshot\",\"data\":[{\"asks\":[[\"2\",\"1\",\"0\",\"1\"]],\"bids\":[[\"1\","
            "\"1\",\"0\",\"1\"]],\"ts\":\"1\",\"checksum\":0,\"prevSeqId\":-1,\"seqId\":100}]}",
        /* no-change message: seqId == prevSeqId */
        PRE "\"update\",\"data\":[{\"asks\":[],\"bids\":[],\"ts\":\"2\",\"checksum\":0,"
            "\"prevSeqId\":100,\"seqId\":100}]}",
        /* sequence reset after maintenance: seqId < prevSeqId, still chained by prevSeqId */
        PRE "\"update\",\"data\":[{\"asks\":[[\"3\",\"1\",\"0\",\"1\"]],\"bids\":[],\"ts\":"
            "\"3\",\"checksum\":0,\"prevSeqId\":100,\"seqId\":5}]}",
        PRE "\"update\",\"data\":[{\"asks\":[[\"3\",\"0\",\"0\",\"0\"]],\"bids\":[],\"ts\":"
            "\"4\",\"checksum\":0,\"prevSeqId\":5,\"seqId\":9}]}",
    };
#undef PRE
    for (size_t i = 0; i < sizeof(chain) / sizeof(chain[0]); i++)
        assert_int_equal(vh_feed1(o, chain[i]), 0);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 0);
    assert_int_equal(TG_STAT_GET(o->stats.checksum_msgs), 0); /* checksum 0 = none (2026) */
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, "BTC-USDT", 8);
    assert_int_equal(v->book[id].ask.n, 1);
    assert_int_equal(v->book[id].ask.px[0], 20000000000);
    vrun_close(&o, v);
}

static void test_okex_books5_messages_are_full_snapshots(void **state)
{
    vrun_t *v;
    feed_offline_t *o = vrun_open(vh_rec(OK_2022), &v);
    const char *f1 = "{\"arg\":{\"channel\":\"books5\",\"instId\":\"BTC-USDT\"},\"data\":[{"
                     "\"asks\":[[\"30243.5\",\"1\",\"0\",\"1\"],[\"30244\",\"2\",\"0\",\"1\"]],"
                     "\"bids\":[[\"30240\",\"3\",\"0\",\"1\"]],\"instId\":\"BTC-USDT\","
                     "\"ts\":\"1652459225464\"}]}";
    const char *f2 = "{\"arg\":{\"channel\":\"books5\",\"instId\":\"BTC-USDT\"},\"data\":[{"
                     "\"asks\":[[\"30250\",\"1\",\"0\",\"1\"]],\"bids\":[[\"30241\",\"3\",\"0\","
                     "\"1\"]],\"instId\":\"BTC-USDT\",\"ts\":\"1652459225564\"}]}";
    assert_int_equal(vh_feed1(o, f1), 0);
    assert_int_equal(vh_feed1(o, f2), 0);
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, "BTC-USDT", 8);
    assert_int_equal(v->snapshots[id], 2);
    assert_int_equal(v->book[id].ask.n, 1); /* replaced, not merged */
    assert_int_equal(v->book[id].ask.px[0], 302500000000000);
    assert_int_equal(v->book[id].bid.px[0], 302410000000000);
    vrun_close(&o, v);
}

static void test_okex_bad_input_is_counted_and_a_bad_level_resyncs(void **state)
{
    vrun_t *v;
    feed_offline_t *o = vrun_open(vh_rec(OK_2022), &v);
    const char *snap = "{\"arg\":{\"channel\":\"books\",\"instId\":\"UNI-USD-SWAP\"},\"action\":"
                       "\"snapshot\",\"data\":[{\"asks\":[[\"5.148\",\"60\",\"0\",\"1\"]],"
                       "\"bids\":[[\"5.14\",\"3\",\"0\",\"1\"]],\"ts\":\"1652459225464\"}]}";
    assert_int_equal(vh_feed1(o, snap), 0);
    assert_int_equal(vh_feed1(o, "pong"), 0);
    assert_int_equal(vh_feed1(o, "{\"event\":\"subscribe\",\"arg\":{\"channel\":\"books\"}}"), 0);
    assert_int_equal(TG_STAT_GET(o->stats.unhandled), 2);
    assert_int_equal(
        vh_feed1(o, "{\"event\":\"error\",\"code\":\"60018\",\"msg\":\"Wrong URL or channel\"}"),
        TG_EPROTO);
    assert_int_equal(TG_STAT_GET(o->stats.err_venue), 1);
    assert_int_equal(vh_feed1(o, "{\"arg\":{\"channel\":\"books\",\"instId\":\"UNI-USD-SWAP\"},"),
                     TG_EJSON);
    assert_int_equal(TG_STAT_GET(o->stats.err_json), 1);
    assert_int_equal(
        vh_feed1(o,
                 "{\"arg\":{\"channel\":\"books\",\"instId\":\"ETH-USDT\"},\"action\":\"update\","
                 "\"data\":[{\"asks\":[],\"bids\":[]}]}"),
        TG_ESYMBOL);
    assert_int_equal(TG_STAT_GET(o->stats.err_symbol), 1);
    uint64_t sent = o->sent;
    assert_int_equal(
        vh_feed1(o,
                 "{\"arg\":{\"channel\":\"books\",\"instId\":\"UNI-USD-SWAP\"},\"action\":"
                 "\"update\",\"data\":[{\"asks\":[[\"1e400\",\"1\",\"0\",\"1\"]],\"bids\":[]}]}"),
        TG_EDEC_RANGE); /* feed_dec: no scale holds it (was TG_EDEC_SYNTAX) */
    assert_int_equal(TG_STAT_GET(o->stats.err_decimal), 1);
    assert_int_equal(TG_STAT_GET(o->stats.unrepresentable), 1);
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, "UNI-USD-SWAP", 12);
    assert_int_equal(v->gaps[id], 2); /* the FAULT gap from feed_dec + the resync gap */
    assert_int_equal(o->sent, sent + 2);
    assert_int_equal(vh_feed1(o, snap), 0);
    assert_int_equal(
        vh_feed1(o, "{\"arg\":{\"channel\":\"books\",\"instId\":\"UNI-USD-SWAP\"},\"action\":"
                    "\"update\",\"data\":[{\"asks\":[[\"5.1\",{},\"0\",\"1\"]],\"bids\":[]}]}"),
        TG_EFIELD);
    assert_int_equal(TG_STAT_GET(o->stats.err_field), 1);
    assert_int_equal(v->gaps[id], 3);
    /* trades: a bad side drops the frame, nothing emitted */
    long tr = v->trades[id];
    assert_int_equal(
        vh_feed1(o, "{\"arg\":{\"channel\":\"trades\",\"instId\":\"UNI-USD-SWAP\"},\"data\":[{"
                    "\"instId\":\"UNI-USD-SWAP\",\"tradeId\":\"1\",\"px\":\"5.1\",\"sz\":\"1\","
                    "\"side\":\"up\",\"ts\":\"1652459215150\"}]}"),
        TG_EFIELD);
    assert_int_equal(v->trades[id], tr);
    vrun_close(&o, v);
}

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static void test_okex_mutated_frames_never_crash_and_are_all_counted(void **state)
{
    assert_true(vh_fuzz_file(vh_rec(OK_2021), vh_fuzz_iters(&rng, 10000), &rng, vh_mutate_json) >
                0);
    assert_true(vh_fuzz_file(vh_rec(OK_2022), vh_fuzz_iters(&rng, 10000), &rng, vh_mutate_json) >
                0);
}

/* OKX checksum of a book given as OKX's own strings (best first): "bid:sz:ask:sz:..." over 25
 * levels, CRC-32 as a signed int32 (independent of the handler's formatting). */
static int32_t xs_okx_ck(const char *const (*bids)[2], size_t nb, const char *const (*asks)[2],
                         size_t na)
{
    char text[4096];
    return (int32_t)feed_crc32(0, text, vh_ck_text(bids, nb, asks, na, text, sizeof(text)));
}

#define OKB(s) "{\"arg\":{\"channel\":\"books\",\"instId\":\"" s "\"},\"action\":"

/* ELON-USDT quotes 11 places ("0.00000074408"), then 12 and 13 in updates: every level exact,
 * the seqId chain intact across the re-parses, every checksum verified at the raised scale. */
static void test_okex_extreme_scales_elon_usdt_book_is_exact_and_checksums_verify(void **state)
{
    xs_run_t *x;
    feed_offline_t *o = xs_open("okex", "ELON-USDT,BTC-USDT", &x);
    uint32_t id = xs_id(o, "ELON-USDT");
    static const char *const a1[][2] = {
        {"0.00000074408", "3417800000"}, {"0.0000007445", "1250000000.5"}, {"0.00000075", "12"}};
    static const char *const b1[][2] = {
        {"0.0000007438", "92233720"}, {"0.00000074", "0.00000001"}, {"0.0000007", "1"}};
    char f[2048];
    snprintf(f, sizeof(f),
             OKB("ELON-USDT") "\"snapshot\",\"data\":[{\"asks\":[[\"%s\",\"%s\",\"0\",\"1\"],"
                              "[\"%s\",\"%s\",\"0\",\"1\"],[\"%s\",\"%s\",\"0\",\"2\"]],"
                              "\"bids\":[[\"%s\",\"%s\",\"0\",\"1\"],[\"%s\",\"%s\",\"0\",\"1\"],"
                              "[\"%s\",\"%s\",\"0\",\"1\"]],\"ts\":\"1652459225464\","
                              "\"checksum\":%d,\"prevSeqId\":-1,\"seqId\":10}]}",
             a1[0][0], a1[0][1], a1[1][0], a1[1][1], a1[2][0], a1[2][1], b1[0][0], b1[0][1],
             b1[1][0], b1[1][1], b1[2][0], b1[2][1], xs_okx_ck(b1, 3, a1, 3));
    assert_int_equal(xs_feed(o, f), 0);
    assert_int_equal(feed_px_scale(&o->h, id), 11); /* raised from 10 */
    assert_int_equal(TG_STAT_GET(o->stats.rescales), 1);
    size_t from = 0;
    xs_expect_snapshot(x, &from, a1, 3, b1, 3);
    xs_book_side(x, id, 0, a1, 3);
    xs_book_side(x, id, 1, b1, 3);
    assert_int_equal(x->ck_ok, 1);

    /* update: a 12-place price, a delete, a size with 8 places */
    static const char *const a2[][2] = {
        {"0.00000074408", "3417800000"}, {"0.000000744081", "5"}, {"0.00000075", "12"}};
    static const char *const b2[][2] = {
        {"0.0000007438", "92233720.12345678"}, {"0.00000074", "0.00000001"}, {"0.0000007", "1"}};
    snprintf(f, sizeof(f),
             OKB("ELON-USDT") "\"update\",\"data\":[{\"asks\":[[\"0.000000744081\",\"5\",\"0\","
                              "\"1\"],[\"0.0000007445\",\"0\",\"0\",\"0\"]],\"bids\":[["
                              "\"0.0000007438\",\"92233720.12345678\",\"0\",\"3\"]],\"ts\":"
                              "\"1652459225564\",\"checksum\":%d,\"prevSeqId\":10,\"seqId\":11}]}",
             xs_okx_ck(b2, 3, a2, 3));
    assert_int_equal(xs_feed(o, f), 0);
    assert_int_equal(feed_px_scale(&o->h, id), 12);
    static const char *const ev2[][3] = {{"0.000000744081", "5", "a"},
                                         {"0.0000007445", "0", "a"},
                                         {"0.0000007438", "92233720.12345678", "b"}};
    xs_expect(x, &from, TG_EV_LEVEL, ev2, 3);
    xs_book_side(x, id, 0, a2, 3);
    xs_book_side(x, id, 1, b2, 3);

    /* two messages in one frame; the second needs 13 places: both parsed again, applied once */
    static const char *const b3[][2] = {{"0.0000007438", "92233720.12345678"},
                                        {"0.0000007437123", "3"},
                                        {"0.00000074", "0.00000001"},
                                        {"0.0000007", "2"}};
    snprintf(f, sizeof(f),
             OKB("ELON-USDT") "\"update\",\"data\":[{\"asks\":[],\"bids\":[[\"0.0000007\",\"2\","
                              "\"0\",\"1\"]],\"ts\":\"1652459225600\",\"checksum\":0,"
                              "\"prevSeqId\":11,\"seqId\":12},{\"asks\":[],\"bids\":[["
                              "\"0.0000007437123\",\"3\",\"0\",\"1\"]],\"ts\":\"1652459225601\","
                              "\"checksum\":%d,\"prevSeqId\":12,\"seqId\":13}]}",
             xs_okx_ck(b3, 4, a2, 3));
    assert_int_equal(xs_feed(o, f), 0);
    assert_int_equal(feed_px_scale(&o->h, id), 13);
    static const char *const ev3[][3] = {{"0.0000007", "2", "b"}, {"0.0000007437123", "3", "b"}};
    xs_expect(x, &from, TG_EV_LEVEL, ev3, 2);
    assert_null(xs_next(x, &from, TG_EV_LEVEL)); /* nothing applied twice */
    xs_book_side(x, id, 0, a2, 3);
    xs_book_side(x, id, 1, b3, 4);
    assert_int_equal(x->ck_ok, 3);
    assert_int_equal(x->ck_bad, 0);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 0);
    xs_assert_clean_close(&o, x, 3);
}

/* Prices 1e-12 .. 1e7 and sizes 1e-8 .. 9.2e10 with mixed places in one message; trades at
 * both ends; a size no scale of the book can hold (1e12 at 8 places) faults loudly. */
static void test_okex_extreme_scales_mixed_places_and_ranges_are_exact(void **state)
{
    xs_run_t *x;
    feed_offline_t *o = xs_open("okex", "TINY-USDT,HUGE-USDT", &x);
    uint32_t tiny = xs_id(o, "TINY-USDT"), huge = xs_id(o, "HUGE-USDT");
    assert_int_equal(
        xs_feed(o,
                OKB("TINY-USDT") "\"snapshot\",\"data\":[{\"asks\":[[\"0.12\",\"1\",\"0\",\"1\"],"
                                 "[\"0.123456789012\",\"0.00000001\",\"0\",\"1\"],"
                                 "[\"9000000.5\",\"92233720368\",\"0\",\"1\"]],"
                                 "\"bids\":[[\"0.1\",\"5\",\"0\",\"1\"],"
                                 "[\"0.000000000001\",\"1.5\",\"0\",\"1\"]],\"ts\":\"1\"}]}"),
        0);
    assert_int_equal(feed_px_scale(&o->h, tiny), 12);
    xs_assert_tiny_book(x, tiny);
    assert_int_equal(
        xs_feed(o,
                OKB("HUGE-USDT") "\"snapshot\",\"data\":[{\"asks\":[[\"10000000\",\"0.00000001\","
                                 "\"0\",\"1\"],[\"9999999.99\",\"1000\",\"0\",\"1\"]],"
                                 "\"bids\":[[\"1\",\"1\",\"0\",\"1\"]],\"ts\":\"1\"}]}"),
        0);
    xs_assert_big_asks(x, huge);
    assert_int_equal(
        xs_feed(o, "{\"arg\":{\"channel\":\"trades\",\"instId\":\"HUGE-USDT\"},\"data\":[{"
                   "\"instId\":\"HUGE-USDT\",\"tradeId\":\"7\",\"px\":\"10000000\",\"sz\":"
                   "\"0.00000001\",\"side\":\"buy\",\"ts\":\"1652459215150\"},{\"instId\":"
                   "\"HUGE-USDT\",\"tradeId\":\"8\",\"px\":\"9999999.99999999999\",\"sz\":"
                   "\"92233720368\",\"side\":\"sell\",\"ts\":\"1652459215151\"}]}"),
        0);
    xs_expect_range_trades(x, "9999999.99999999999");
    assert_int_equal(x->trades, 2);
    assert_int_equal(feed_px_scale(&o->h, huge), 11); /* raised by the trade frame */
    /* 1e12 at the book's 8 size places does not fit int64: FAULT, counted, nothing applied */
    xs_assert_range_fault_close(&o, x, huge,
                                OKB("HUGE-USDT") "\"update\",\"data\":[{\"asks\":[],\"bids\":[["
                                                 "\"2\",\"1000000000000\",\"0\",\"1\"]]}]}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_okex_is_found_as_okex_and_okx),
        cmocka_unit_test(test_okex_2021_every_recorded_checksum_matches_our_book),
        cmocka_unit_test(test_okex_2022_every_recorded_checksum_matches_our_book),
        cmocka_unit_test(test_okex_2021_books_and_trades_equal_the_oracle),
        cmocka_unit_test(test_okex_2022_books_and_trades_equal_the_oracle),
        cmocka_unit_test(test_okex_corrupted_snapshot_level_fails_the_next_checksum),
        cmocka_unit_test(test_okex_dropped_update_breaks_seqid_chain_and_resubscribes),
        cmocka_unit_test(test_okex_seqid_rules_allow_no_change_and_reset_messages),
        cmocka_unit_test(test_okex_books5_messages_are_full_snapshots),
        cmocka_unit_test(test_okex_bad_input_is_counted_and_a_bad_level_resyncs),
        cmocka_unit_test(test_okex_mutated_frames_never_crash_and_are_all_counted),
        cmocka_unit_test(test_okex_extreme_scales_elon_usdt_book_is_exact_and_checksums_verify),
        cmocka_unit_test(test_okex_extreme_scales_mixed_places_and_ranges_are_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
