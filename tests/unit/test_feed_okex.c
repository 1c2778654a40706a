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
    static const char *const books5[] = {
        "{\"arg\":{\"channel\":\"books5\",\"instId\":\"BTC-USDT\"},\"data\":[{"
        "\"asks\":[[\"30243.5\",\"1\",\"0\",\"1\"],[\"30244\",\"2\",\"0\",\"1\"]],"
        "\"bids\":[[\"30240\",\"3\",\"0\",\"1\"]],\"instId\":\"BTC-USDT\","
        "\"ts\":\"1652459225464\"}]}",
        "{\"arg\":{\"channel\":\"books5\",\"instId\":\"BTC-USDT\"},\"data\":[{"
        "\"asks\":[[\"30250\",\"1\",\"0\",\"1\"]],\"bids\":[[\"30241\",\"3\",\"0\","
        "\"1\"]],\"instId\":\"BTC-USDT\",\"ts\":\"1652459225564\"}]}",
    };
    vh_frames_ok(o, 1000, books5, 2);
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

/* The frame fmt makes with the arguments (a frame's checksum among them), fed to o and
 * asserted taken. */
static void ok_feed_fmt(feed_offline_t *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void ok_feed_fmt(feed_offline_t *o, const char *fmt, ...)
{
    char f[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(f, sizeof(f), fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof(f));
    assert_int_equal(xs_feed(o, f), 0);
}

/* The ELON-USDT snapshot (seqId 10) of the three asks a and three bids b (OKX's texts, the
 * third ask of two orders) with its checksum, fed to o and asserted taken. */
static void ok_feed_elon_snapshot(feed_offline_t *o, const char *const (*a)[2],
                                  const char *const (*b)[2])
{
    ok_feed_fmt(
        o,
        OKB("ELON-USDT") "\"snapshot\",\"data\":[{\"asks\":[[\"%s\",\"%s\",\"0\",\"1\"],"
                         "[\"%s\",\"%s\",\"0\",\"1\"],[\"%s\",\"%s\",\"0\",\"2\"]],"
                         "\"bids\":[[\"%s\",\"%s\",\"0\",\"1\"],[\"%s\",\"%s\",\"0\",\"1\"],"
                         "[\"%s\",\"%s\",\"0\",\"1\"]],\"ts\":\"1652459225464\","
                         "\"checksum\":%d,\"prevSeqId\":-1,\"seqId\":10}]}",
        a[0][0], a[0][1], a[1][0], a[1][1], a[2][0], a[2][1], b[0][0], b[0][1], b[1][0], b[1][1],
        b[2][0], b[2][1], xs_okx_ck(b, 3, a, 3));
}

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
    ok_feed_elon_snapshot(o, a1, b1);
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
    ok_feed_fmt(
        o,
        OKB("ELON-USDT") "\"update\",\"data\":[{\"asks\":[[\"0.000000744081\",\"5\",\"0\","
                         "\"1\"],[\"0.0000007445\",\"0\",\"0\",\"0\"]],\"bids\":[["
                         "\"0.0000007438\",\"92233720.12345678\",\"0\",\"3\"]],\"ts\":"
                         "\"1652459225564\",\"checksum\":%d,\"prevSeqId\":10,\"seqId\":11}]}",
        xs_okx_ck(b2, 3, a2, 3));
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
    ok_feed_fmt(o,
                OKB("ELON-USDT") "\"update\",\"data\":[{\"asks\":[],\"bids\":[[\"0.0000007\",\"2\","
                                 "\"0\",\"1\"]],\"ts\":\"1652459225600\",\"checksum\":0,"
                                 "\"prevSeqId\":11,\"seqId\":12},{\"asks\":[],\"bids\":[["
                                 "\"0.0000007437123\",\"3\",\"0\",\"1\"]],\"ts\":\"1652459225601\","
                                 "\"checksum\":%d,\"prevSeqId\":12,\"seqId\":13}]}",
                xs_okx_ck(b3, 4, a2, 3));
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

/* ---- trade backfill (feed_backfill.c with OKX's history-trades) ---- */

static fv_cap_t g_cap;
static char g_line[8][512];
static int g_lines;

static void okf_log(void *lctx, int level, const char *msg)
{
    if (level <= TG_LOG_INFO && g_lines < 8)
        snprintf(g_line[g_lines++], sizeof(g_line[0]), "%s", msg);
}

static bool okf_logged(const char *what)
{
    for (int i = 0; i < g_lines; i++)
        if (strstr(g_line[i], what))
            return true;
    return false;
}

/* A handler for BTC-USDT whose sends, REST requests and log lines are captured. */
static vh_env_t *okf_open(void)
{
    vh_env_t *e = vh_env_open("okex", "BTC-USDT", NULL, 0, 0);
    fv_capture(&e->o->h, &g_cap);
    e->o->h.log = okf_log;
    e->o->h.reconnect = NULL;
    g_lines = 0;
    return e;
}

/* A live `trades` push of BTC-USDT (at time 1000): tradeId id, count (0: no such member). */
static int okf_trade(vh_env_t *e, unsigned id, int count)
{
    char f[400], cnt[32] = "";
    if (count)
        snprintf(cnt, sizeof(cnt), ",\"count\":\"%d\"", count);
    snprintf(f, sizeof(f),
             "{\"arg\":{\"channel\":\"trades\",\"instId\":\"BTC-USDT\"},\"data\":[{\"instId\":"
             "\"BTC-USDT\",\"tradeId\":\"%u\",\"px\":\"30236.1\",\"sz\":\"0.0002\",\"side\":"
             "\"sell\",\"ts\":\"1652459224818\"%s}]}",
             id, cnt);
    return vh_env_frame(e, f);
}

/* The connection closes and opens again; then the first trade is `first` (count). */
static void okf_again(vh_env_t *e, unsigned first, int count)
{
    e->o->venue->on_close(&e->o->h, 1000, 1000);
    assert_int_equal(e->o->venue->on_open(&e->o->h), 0);
    assert_int_equal(okf_trade(e, first, count), 0);
}

/* Trade `last`, a reconnect, trade `first` (count): the hole between. @return the index of
 * the first request it makes in g_cap. */
static int okf_hole(vh_env_t *e, unsigned last, unsigned first, int count)
{
    assert_int_equal(okf_trade(e, last, 0), 0);
    int req0 = g_cap.n_rest;
    okf_again(e, first, count);
    return req0;
}

/* A history-trades page of ids hi, hi - 1, .., lo (newest first, as OKX answers): id k has
 * price 1000.<k> (k == 77: 0.00000074408, 11 places), size 0.00000<k % 10>1, side sell for
 * odd k, time 1652459224000 + k ms. */
static char *okf_page(unsigned hi, unsigned lo)
{
    char *b = NULL;
    size_t sz = 0;
    FILE *m = open_memstream(&b, &sz);
    fputs("{\"code\":\"0\",\"msg\":\"\",\"data\":[", m);
    for (unsigned k = hi; k >= lo && k; k--) {
        char px[32];
        snprintf(px, sizeof(px), k == 77 ? "0.00000074408" : "1000.%u", k);
        fprintf(m,
                "%s{\"instId\":\"BTC-USDT\",\"side\":\"%s\",\"sz\":\"0.00000%u1\",\"px\":\"%s\","
                "\"tradeId\":\"%u\",\"ts\":\"%llu\"}",
                k == hi ? "" : ",", k % 2 ? "sell" : "buy", k % 10, px, k, 1652459224000ULL + k);
    }
    fputs("]}", m);
    fclose(m);
    return b;
}

/* The REST trades among e's events from index i0 on are ids from, from + 1, .. with the values
 * of okf_page. @return how many. */
static unsigned okf_check_rest(const vh_env_t *e, size_t i0, unsigned from)
{
    unsigned id = from;
    for (size_t i = i0; i < e->n_ev; i++) {
        const tg_event_t *v = &e->ev[i];
        if (v->kind != TG_EV_TRADE || !(v->flags & TG_EVF_REST))
            continue;
        assert_int_equal(v->u.trade_id, id);
        assert_int_equal(v->seq, 0);
        assert_int_equal(v->side, id % 2 ? TG_SIDE_SELL : TG_SIDE_BUY); /* the taker's */
        char px[32], sz[32];
        snprintf(px, sizeof(px), id == 77 ? "0.00000074408" : "1000.%u", id);
        snprintf(sz, sizeof(sz), "0.00000%u1", id % 10);
        vh_assert_dec_eq(v->price, feed_px_scale(&e->o->h, v->instr), px);
        vh_assert_dec_eq(v->size, feed_sz_scale(&e->o->h, v->instr), sz);
        assert_int_equal(v->ts_exch, (1652459224000LL + id) * 1000000LL);
        id++;
    }
    return id - from;
}

#define S1 1000000000LL
#define T0 1000 /* the frames' time: the first request's */

/* After a reconnect the first trade (351) shows the hole [101, 350]: pages of at most 100
 * with the cursor after = from + n, one request a second; each page (newest first) emitted in
 * ascending id with TG_EVF_REST and exact values, the live trade 351 not among them; an answer
 * for the previous connection dropped; OKX's latest trade again on the next subscribe: no
 * request. */
static void test_okex_backfill_fetches_the_hole_in_pages_of_100(void **state)
{
    vh_env_t *e = okf_open();
    size_t i0 = e->n_ev;
    int q = okf_hole(e, 100, 351, 0);
    assert_int_equal(g_cap.n_rest, q + 1);
    assert_string_equal(g_cap.rest[q],
                        "/api/v5/market/history-trades?instId=BTC-USDT&type=1&after=201&limit=100");
    char *page = okf_page(200, 101);
    size_t n0 = e->n_ev;
    assert_int_equal(vh_rest1(e->o, g_cap.tag[q] - ((uint64_t)1 << 32), 200, page, T0 + 1), 0);
    assert_int_equal(e->n_ev, n0); /* the previous connection's tag */
    assert_int_equal(vh_rest1(e->o, g_cap.tag[q], 200, page, T0 + 1), 0);
    free(page);
    assert_int_equal(okf_check_rest(e, i0, 101), 100);
    e->o->venue->on_tick(&e->o->h, T0 + S1 - 1);
    assert_int_equal(g_cap.n_rest, q + 1); /* paced */
    e->o->venue->on_tick(&e->o->h, T0 + S1);
    assert_int_equal(g_cap.n_rest, q + 2);
    assert_string_equal(g_cap.rest[q + 1],
                        "/api/v5/market/history-trades?instId=BTC-USDT&type=1&after=301&limit=100");
    page = okf_page(300, 201);
    assert_int_equal(vh_rest1(e->o, g_cap.tag[q + 1], 200, page, T0 + S1), 0);
    free(page);
    e->o->venue->on_tick(&e->o->h, T0 + 2 * S1);
    assert_string_equal(g_cap.rest[q + 2],
                        "/api/v5/market/history-trades?instId=BTC-USDT&type=1&after=351&limit=50");
    page = okf_page(351, 301); /* 351 (received live) is outside the range */
    assert_int_equal(vh_rest1(e->o, g_cap.tag[q + 2], 200, page, T0 + 2 * S1), 0);
    free(page);
    assert_int_equal(okf_check_rest(e, i0, 101), 250);
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_trades), 250);
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_requests), 3);
    assert_true(okf_logged("okex BTC-USDT: trade backfill ids 101..350: 250 trades in 3 requests"));
    e->o->venue->on_tick(&e->o->h, T0 + 9 * S1);
    assert_int_equal(g_cap.n_rest, q + 3); /* done */
    okf_again(e, 351, 0);                  /* OKX's latest trade on subscribe: no hole */
    assert_int_equal(g_cap.n_rest, q + 3);
    vh_env_close(e);
}

/* A first trade that aggregates (count 3, tradeId 80 the last of 78..80) after id 70: the
 * range is [71, 80] and the aggregate is not emitted (the page has its trades one by one, id
 * 77's price with 11 places: the scale is raised first); later aggregates are emitted with
 * their own id; one that was seen is no hole; a count that is not an integer >= 1 drops the
 * push as a bad message. */
static void test_okex_backfill_an_aggregated_first_trade_is_fetched_trade_by_trade(void **state)
{
    vh_env_t *e = okf_open();
    assert_int_equal(okf_trade(e, 70, 0), 0);
    size_t i0 = e->n_ev;
    int q = g_cap.n_rest;
    okf_again(e, 80, 3);
    for (size_t i = i0; i < e->n_ev; i++)
        assert_int_not_equal(e->ev[i].kind, TG_EV_TRADE);
    assert_string_equal(g_cap.rest[q],
                        "/api/v5/market/history-trades?instId=BTC-USDT&type=1&after=81&limit=10");
    char *page = okf_page(80, 71);
    assert_int_equal(vh_rest1(e->o, g_cap.tag[q], 200, page, T0), 0);
    free(page);
    assert_int_equal(okf_check_rest(e, i0, 71), 10);
    i0 = e->n_ev;
    assert_int_equal(okf_trade(e, 83, 3), 0); /* 81..83, live */
    assert_true(e->n_ev > i0);
    assert_int_equal(e->ev[i0].kind, TG_EV_TRADE);
    assert_int_equal(e->ev[i0].u.trade_id, 83);
    okf_again(e, 83, 3); /* nothing lost: the last one seen */
    assert_int_equal(g_cap.n_rest, q + 1);
    long bad = (long)TG_STAT_GET(e->o->stats.err_field);
    assert_true(okf_trade(e, 84, -1) < 0);
    assert_int_equal((long)TG_STAT_GET(e->o->stats.err_field), bad + 1);
    vh_env_close(e);
}

/* Three failed requests in a row (a 429 with OKX's rate-limit code, a 200 whose code is not
 * "0", an unreadable page): the range is given up, an ERROR line names the lost ids and one
 * TG_EV_TRADE_GAP carries their exclusive bounds. */
static void test_okex_backfill_gives_up_after_three_failures(void **state)
{
    vh_env_t *e = okf_open();
    int q = okf_hole(e, 10, 21, 0); /* [11, 20] */
    assert_true(vh_rest1(e->o, g_cap.tag[q], 429,
                         "{\"code\":\"50011\",\"msg\":\"Rate limit reached\",\"data\":[]}",
                         T0) < 0);
    e->o->venue->on_tick(&e->o->h, T0 + S1);
    assert_string_equal(g_cap.rest[q + 1], g_cap.rest[q]); /* the same page again */
    assert_int_equal(vh_rest1(e->o, g_cap.tag[q + 1], 200,
                              "{\"code\":\"51001\",\"msg\":\"Instrument ID does not exist\","
                              "\"data\":[]}",
                              T0 + S1),
                     TG_EPROTO);
    e->o->venue->on_tick(&e->o->h, T0 + 2 * S1);
    for (size_t i = 0; i < e->n_ev; i++)
        assert_int_not_equal(e->ev[i].kind, TG_EV_TRADE_GAP);
    assert_true(vh_rest1(e->o, g_cap.tag[q + 2], 200,
                         "{\"code\":\"0\",\"data\":[{\"tradeId\":\"11\"}]}", T0 + 2 * S1) < 0);
    const tg_event_t *gap = NULL; /* one, with the exclusive bounds (10, 21) */
    for (size_t i = 0; i < e->n_ev; i++)
        if (e->ev[i].kind == TG_EV_TRADE_GAP) {
            assert_null(gap);
            gap = &e->ev[i];
        }
    assert_true(gap && gap->seq == 10 && gap->u.trade_id == 21);
    assert_true(TG_STAT_GET(e->o->stats.backfill_failures) == 3 &&
                TG_STAT_GET(e->o->stats.backfill_trades) == 0);
    assert_true(okf_logged("okex BTC-USDT: trade backfill given up: ids 11..20 lost (0 trades "
                           "fetched in 3 requests)"));
    vh_env_close(e);
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
        cmocka_unit_test(test_okex_backfill_fetches_the_hole_in_pages_of_100),
        cmocka_unit_test(test_okex_backfill_an_aggregated_first_trade_is_fetched_trade_by_trade),
        cmocka_unit_test(test_okex_backfill_gives_up_after_three_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
