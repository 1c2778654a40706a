/* SPDX-License-Identifier: MIT */
/*
 * The Binance scanner's word-at-a-time paths (feed_binance_scan.c): integers read 8 digits at
 * a time where 16 bytes are left (and one at a time near the end of a frame), one-letter keys
 * matched 4 bytes at once, the symbol of "s" looked up only when needed, trade decimals by the
 * scanner's decimal, bookTicker objects in straight-line code. Each case checks the value against
 * the text's own digits (strtoull), and that the scanner and the generic parser give the same
 * events and counters, the scanner taking exactly the frames it should.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "feeds/venues/feed_binance.h"
#include "tests/fixtures/venue_harness.h"
#include "tests/fixtures/binance_frames.h"

/* every digit count around the 8- and 16-digit words, and what is not an integer */
static const char *const ints[] = {
    "0",
    "7",
    "1234567",
    "12345678",
    "123456789",
    "50093239",
    "3735683259",
    "1723161255208",
    "123456789012345",
    "1234567890123456",
    "12345678901234567",
    "1234567890123456789",
    "18446744073709551615", /* 20: too long */
    "",
    "12a",
    "0x12",
    "1234567890123456a",
    "12345678/",
};

/* 1..19 digits and nothing else: what the scanner must take */
static int is_int(const char *d)
{
    size_t n = strlen(d);
    return n >= 1 && n <= 19 && strspn(d, "0123456789") == n;
}

static vh_env_t *bn_env(int path)
{
    vh_env_t *e = vh_env_open("binance", "BTCUSDT,ETHUSDT", NULL, 0, 0);
    feed_binance_set_path(&e->o->h, path);
    return e;
}

static void test_integers_in_diffs_and_trades_read_as_their_digits(void **st)
{
    vh_env_t *e = bn_env(FEED_BN_PATH_AUTO);
    feed_bn_t *b = e->o->h.vstate;
    char f[512];
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        const char *d = ints[i];
        uint64_t want = is_int(d) ? strtoull(d, NULL, 10) : 0;
        bn_msg_t m;
        /* U and u with many bytes after them: the 16-byte word path */
        int n = snprintf(f, sizeof(f),
                         "{\"stream\":\"btcusdt@depth@100ms\",\"data\":{\"e\":\"depthUpdate\","
                         "\"E\":1723161255208,\"s\":\"BTCUSDT\",\"U\":%s,\"u\":%s,\"b\":[[\"1.5\","
                         "\"2\"]],\"a\":[]}}",
                         d, d);
        int rc = feed_binance__scan(b, f, (size_t)n, &m);
        assert_int_equal(rc, is_int(d) ? 0 : 1);
        if (rc == 0) {
            assert_int_equal(m.type, BN_MSG_DEPTH);
            assert_true(m.U == want && m.u == want);
            assert_int_equal(m.ts_ms, 1723161255208LL);
            assert_int_equal(m.n_bid, 1);
        }
        /* a trade id, then the time as the last field: fewer than 16 bytes left */
        n = snprintf(
            f, sizeof(f),
            "{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"E\":1,\"s\":"
            "\"BTCUSDT\",\"t\":%s,\"p\":\"61837.63000000\",\"q\":\"0.02000000\",\"m\":true,"
            "\"M\":true,\"T\":%s}}",
            d, strlen(d) <= 13 ? d : "1");
        rc = feed_binance__scan(b, f, (size_t)n, &m);
        assert_int_equal(rc, is_int(d) ? 0 : 1);
        if (rc == 0) {
            assert_int_equal(m.type, BN_MSG_TRADE);
            assert_true(m.trade_id == want);
            assert_true((uint64_t)m.ts_ms == (strlen(d) <= 13 ? want : 1));
            assert_int_equal(m.px, 6183763000000LL); /* 61837.63 at 8 places */
            assert_int_equal(m.qty, 2000000LL);
        }
    }
    vh_env_close(e);
}

/* frames, and whether the scanner takes them (else the generic parser decides) */
static const struct {
    const char *frame;
    int fast;
} frames[] = {
    /* a diff as Binance sends it */
    {BN_DIFF(101, 102, "[[\"1.4\",\"5\"]]", "[[\"1.7\",\"0.00000001\"]]"), 1},
    /* levels before "s": whose levels they are is not known when they are read */
    {"{\"stream\":\"btcusdt@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":1,\"b\":[[\"1.4\","
     "\"5\"]],\"s\":\"BTCUSDT\",\"U\":101,\"u\":102,\"a\":[]}}",
     0},
    /* "pu" (two letters) in a spot diff, levels of the other symbol */
    {"{\"stream\":\"ethusdt@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":1,\"s\":"
     "\"ETHUSDT\","
     "\"U\":5,\"u\":6,\"pu\":4,\"b\":[[\"2.5\",\"1\"]],\"a\":[]}}",
     1},
    /* a symbol we do not have: the scanner gives up, the parser counts it */
    {"{\"stream\":\"xyzusdt@depth@100ms\",\"data\":{\"e\":\"depthUpdate\",\"E\":1,\"s\":"
     "\"XYZUSDT\","
     "\"U\":5,\"u\":6,\"b\":[[\"2.5\",\"1\"]],\"a\":[]}}",
     0},
    /* bookTicker: no symbol look-up needed, of a symbol we have or not */
    {"{\"stream\":\"btcusdt@bookTicker\",\"data\":{\"u\":50093239212,\"s\":\"BTCUSDT\",\"b\":"
     "\"61837.63000000\",\"B\":\"3.78826000\",\"a\":\"61837.64000000\",\"A\":\"1.54698000\"}}",
     1},
    {"{\"stream\":\"xyzusdt@bookTicker\",\"data\":{\"u\":50093239212,\"s\":\"XYZUSDT\",\"b\":"
     "\"1\",\"B\":\"3\",\"a\":\"1\",\"A\":\"1\"}}",
     1},
    /* bookTicker as USD-M sends it (read by the straight-line path), with a time too large
       (the parser's error), keys in another order (the general reader), an unknown key after
       the usual ones, the outer brace missing */
    {"{\"stream\":\"btcusdt@bookTicker\",\"data\":{\"e\":\"bookTicker\",\"u\":5123107839020,\"s\":"
     "\"BTCUSDT\",\"b\":\"61800.20\",\"B\":\"2.507\",\"a\":\"61800.30\",\"A\":\"2.510\",\"T\":"
     "1723161256313,\"E\":1723161256313}}",
     1},
    {"{\"stream\":\"btcusdt@bookTicker\",\"data\":{\"e\":\"bookTicker\",\"u\":5123107839020,\"s\":"
     "\"BTCUSDT\",\"b\":\"61800.20\",\"B\":\"2.507\",\"a\":\"61800.30\",\"A\":\"2.510\",\"T\":"
     "1723161256313,\"E\":99999999999999}}",
     0},
    {"{\"stream\":\"btcusdt@bookTicker\",\"data\":{\"s\":\"BTCUSDT\",\"u\":1,\"b\":\"1\",\"B\":"
     "\"1\","
     "\"a\":\"1\",\"A\":\"1\"}}",
     1},
    {"{\"stream\":\"btcusdt@bookTicker\",\"data\":{\"u\":1,\"s\":\"BTCUSDT\",\"b\":\"1\",\"B\":"
     "\"1\","
     "\"a\":\"1\",\"A\":\"1\",\"Z\":1}}",
     0},
    {"{\"stream\":\"btcusdt@bookTicker\",\"data\":{\"u\":1,\"s\":\"BTCUSDT\",\"b\":\"1\",\"B\":"
     "\"1\","
     "\"a\":\"1\",\"A\":\"1\"}",
     0},
    /* trades: plain decimals, an exponent (tg_dec's general form), more places than the scale
       (the parser raises the scale), an empty size, a symbol we do not have */
    {"{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"E\":2,\"s\":\"BTCUSDT\",\"t\":5,"
     "\"p\":\"61837.63000000\",\"q\":\"0.02000000\",\"T\":2,\"m\":true,\"M\":true}}",
     1},
    {"{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"E\":2,\"s\":\"BTCUSDT\",\"t\":6,"
     "\"p\":\"1e3\",\"q\":\"2.\",\"T\":2,\"m\":false,\"M\":true}}",
     1},
    {"{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"E\":2,\"s\":\"BTCUSDT\",\"t\":7,"
     "\"p\":\"0.000000001\",\"q\":\"1\",\"T\":2,\"m\":true,\"M\":true}}",
     1}, /* the parser raised the scale, then the frame is read again: by the scanner */
    {"{\"stream\":\"btcusdt@trade\",\"data\":{\"e\":\"trade\",\"E\":2,\"s\":\"BTCUSDT\",\"t\":8,"
     "\"p\":\"1\",\"q\":\"\",\"T\":2,\"m\":true,\"M\":true}}",
     0},
    {"{\"stream\":\"xyzusdt@trade\",\"data\":{\"e\":\"trade\",\"E\":2,\"s\":\"XYZUSDT\",\"t\":9,"
     "\"p\":\"1\",\"q\":\"1\",\"T\":2,\"m\":true,\"M\":true}}",
     0},
    /* keys: empty, unknown one-letter, a quote as the letter, a long unknown one */
    {"{\"stream\":\"btcusdt@trade\",\"data\":{\"\":1}}", 0},
    {"{\"stream\":\"btcusdt@trade\",\"data\":{\"Z\":1}}", 0},
    {"{\"stream\":\"btcusdt@trade\",\"data\":{\"\"\":1}}", 0},
    {"{\"stream\":\"btcusdt@trade\",\"data\":{\"somethingElse\":1}}", 0},
    /* a snapshot's long key */
    {BN_SNAP(200, "[[\"1.5\",\"2\"]]", "[[\"1.6\",\"3\"]]"), 1},
};

static void test_scanner_and_parser_agree_and_the_scanner_takes_its_frames(void **st)
{
    for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
        vh_env_t *e[2];
        feed_stats_t s[2];
        int rc[2];
        size_t from[2];
        char f[1024];
        snprintf(f, sizeof(f), "%s", frames[i].frame);
        f[strcspn(f, "\n")] = 0; /* the fixture macros end in a line feed */
        for (int p = 0; p < 2; p++) {
            e[p] = bn_env(p ? FEED_BN_PATH_SLOW : FEED_BN_PATH_AUTO);
            /* a book to apply diffs to */
            vh_env_frame(e[p],
                         "{\"stream\":\"btcusdt@depthSnapshot\",\"generated\":true,\"data\":"
                         "{\"lastUpdateId\":100,\"bids\":[[\"1.5\",\"2\"]],\"asks\":[[\"1.6\","
                         "\"3\"]]}}");
            from[p] = e[p]->n_ev;
            uint64_t fast0 = TG_STAT_GET(e[p]->o->stats.fast_path);
            rc[p] = vh_env_frame(e[p], f);
            s[p] = e[p]->o->stats;
            if (p == 0 && (TG_STAT_GET(s[0].fast_path) - fast0 != (uint64_t)frames[i].fast)) {
                print_message("case %zu: the scanner %s it: %s\n", i,
                              frames[i].fast ? "did not take" : "took", f);
                fail();
            }
        }
        assert_int_equal(rc[0], rc[1]);
        assert_int_equal(e[0]->n_ev - from[0], e[1]->n_ev - from[1]);
        assert_memory_equal(e[0]->ev + from[0], e[1]->ev + from[1],
                            (e[0]->n_ev - from[0]) * sizeof(tg_event_t));
        assert_int_equal(TG_STAT_GET(s[0].handled), TG_STAT_GET(s[1].handled));
        assert_int_equal(TG_STAT_GET(s[0].unhandled), TG_STAT_GET(s[1].unhandled));
        assert_int_equal(feed_stats_settled(&s[0]), feed_stats_settled(&s[1]));
        assert_int_equal(TG_STAT_GET(s[0].err_symbol), TG_STAT_GET(s[1].err_symbol));
        assert_int_equal(TG_STAT_GET(s[0].err_decimal), TG_STAT_GET(s[1].err_decimal));
        assert_int_equal(TG_STAT_GET(s[0].levels), TG_STAT_GET(s[1].levels));
        assert_int_equal(TG_STAT_GET(s[0].trades), TG_STAT_GET(s[1].trades));
        assert_int_equal(feed_px_scale(&e[0]->o->h, e[0]->o->h.instr[0]),
                         feed_px_scale(&e[1]->o->h, e[1]->o->h.instr[0]));
        vh_env_close(e[0]);
        vh_env_close(e[1]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integers_in_diffs_and_trades_read_as_their_digits),
        cmocka_unit_test(test_scanner_and_parser_agree_and_the_scanner_takes_its_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
