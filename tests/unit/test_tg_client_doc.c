/* SPDX-License-Identifier: MIT */
/*
 * libtickgate-client documents and decimals: every document the publisher's formatter
 * (storage/redis/store_rds_fmt.c) writes is read back by the client's parser with every field
 * exact (decimals compared as int64 + scale through tg_dec_parse at the instrument scale);
 * decimal text/compare/double helpers at the extremes; RESP frames split at every byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "book/tg_dec.h"
#include "client/tg_client_int.h"
#include "storage/redis/store_rds_fmt.h"

static int64_t at_scale(tg_client_dec_t d, int scale)
{
    char t[TG_CLIENT_DEC_TEXT_MAX];
    int64_t v = INT64_MIN;
    size_t n = tg_client_dec_text(d, t, sizeof(t));
    assert_true(n > 0);
    assert_int_equal(tg_dec_parse(t, n, scale, &v), 0);
    return v;
}

static void test_decimals_round_trip_exactly_at_the_extremes(void **state)
{
    static const char *in[] = {"0",
                               "-0.5",
                               "61837.63",
                               "0.000000000000000001",
                               "9223372036854775807",
                               "-9223372036854775808",
                               "-0.000000001",
                               "100.000000001"};
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        tg_client_dec_t d;
        char t[TG_CLIENT_DEC_TEXT_MAX];
        assert_int_equal(tg_client_dec_parse(in[i], strlen(in[i]), &d), 0);
        assert_true(tg_client_dec_text(d, t, sizeof(t)) > 0);
        assert_string_equal(t, in[i]);
    }
    tg_client_dec_t d;
    assert_int_equal(tg_client_dec_parse("9223372036854775808", 19, &d), -ERANGE);
    assert_int_equal(tg_client_dec_parse("1.2.3", 5, &d), -EINVAL);
    assert_int_equal(tg_client_dec_parse("", 0, &d), -EINVAL);
    assert_int_equal(tg_client_dec_parse("0.0000000000000000001", 21, &d), -EINVAL);
    assert_int_equal(tg_client_dec_parse("1e5", 3, &d), -EINVAL);
    tg_client_dec_t a = {150, 2}, b = {15, 1}, c = {1500001, 6};
    assert_int_equal(tg_client_dec_cmp(a, b), 0);
    assert_true(tg_client_dec_cmp(a, c) < 0 && tg_client_dec_cmp(c, b) > 0);
    assert_true(tg_client_dec_to_double(c) == 1.500001);
    char small[4];
    assert_int_equal(tg_client_dec_text(c, small, sizeof(small)), 0);
}

static void test_every_publisher_document_reads_back_exactly(void **state)
{
    tg_instr_reg_t *reg = NULL;
    assert_int_equal(tg_instr_reg_create(&reg), 0);
    tg_instr_cfg_t ic = {.px_scale = 9, .sz_scale = 8};
    uint32_t id = 0;
    assert_int_equal(tg_instr_reg_add(reg, "testv", "AAA-USD", &ic, &id), 0);
    const tg_instr_t *in = tg_instr_reg_get(reg, id);
    store_rds_names_t nm;
    assert_int_equal(store_rds_fmt_names(&nm, "tg", in), 0);
    store_rds_meta_t m = {.seq = 42,
                          .epoch = 1764000000123456789ULL,
                          .ts_exch = -5,
                          .ts_recv = INT64_MAX,
                          .scaled = true,
                          .px_scale = 9,
                          .sz_scale = 8};
    char buf[STORE_RDS_JSON_MAX];
    tgc_doc_t d;
    const char *why;

    book_out_book_t b = {.seq = 7,
                         .generation = 3,
                         .state = BOOK_STATE_RESYNCING,
                         .reason = BOOK_OUT_R_STATE,
                         .n_bids = 20,
                         .n_asks = 1,
                         .depth_bids = 1000,
                         .depth_asks = 1};
    for (int i = 0; i < 20; i++)
        b.bids[i] = (tg_level_t){.price = INT64_MAX - i, .size = i + 1};
    b.asks[0] = (tg_level_t){.price = -1, .size = 1};
    size_t n = store_rds_fmt_book(buf, sizeof(buf), &nm, &m, &b);
    assert_true(n > 0);
    assert_int_equal(tgc_doc_parse(buf, n, &d, &why), 0);
    assert_int_equal(d.type, TGC_DOC_BOOK);
    assert_true(d.seq == 42 && d.epoch == m.epoch && d.book.generation == 3);
    assert_true(d.book.exch_seq == 7 && d.book.ts_exch == -5 && d.book.ts_recv == INT64_MAX);
    assert_int_equal(d.book.state, TG_CLIENT_STATE_RESYNCING);
    assert_string_equal(d.book.reason, "state");
    assert_int_equal(d.book.n_bids, 20);
    assert_int_equal(d.book.n_asks, 1);
    assert_true(d.book.depth_bids == 1000);
    for (int i = 0; i < 20; i++) {
        assert_true(at_scale(d.book.bids[i].px, 9) == INT64_MAX - i);
        assert_true(at_scale(d.book.bids[i].sz, 8) == i + 1);
    }
    assert_true(at_scale(d.book.asks[0].px, 9) == -1);

    book_out_trade_t t = {
        .price = 123456789012, .size = 1, .trade_id = 99, .seq = 5, .side = TG_SIDE_SELL};
    n = store_rds_fmt_trade(buf, sizeof(buf), &nm, &m, &t);
    assert_int_equal(tgc_doc_parse(buf, n, &d, &why), 0);
    assert_int_equal(d.type, TGC_DOC_TRADE);
    assert_true(at_scale(d.trade.price, 9) == 123456789012 && at_scale(d.trade.size, 8) == 1);
    assert_true(d.trade.side == TG_CLIENT_SIDE_SELL && d.trade.trade_id == 99 &&
                d.trade.exch_seq == 5);

    book_out_candle_t c = {.start_ns = 60000000000,
                           .interval_ns = 60000000000,
                           .open = 1,
                           .high = 5,
                           .low = -3,
                           .close = 2,
                           .volume = 10,
                           .buy_volume = 4,
                           .sell_volume = 6,
                           .vwap = 3,
                           .first_ts = 11,
                           .last_ts = 12,
                           .trades = 4,
                           .closed = 1};
    n = store_rds_fmt_candle(buf, sizeof(buf), &nm, &m, &c);
    assert_int_equal(tgc_doc_parse(buf, n, &d, &why), 0);
    assert_int_equal(d.type, TGC_DOC_CANDLE);
    assert_string_equal(d.candle.interval, "1m");
    assert_true(d.candle.closed == 1 && d.candle.trades == 4 && d.candle.last_ts == 12);
    assert_true(at_scale(d.candle.low, 9) == -3 && at_scale(d.candle.sell_volume, 8) == 6);

    book_out_gap_t g = {.seq_last = 10,
                        .seq_got = 13,
                        .generation = 4,
                        .state = BOOK_STATE_STALE,
                        .reason = BOOK_GAP_STALE};
    n = store_rds_fmt_gap(buf, sizeof(buf), &nm, &m, &g);
    assert_int_equal(tgc_doc_parse(buf, n, &d, &why), 0);
    assert_int_equal(d.type, TGC_DOC_GAP);
    assert_true(d.status.state == TG_CLIENT_STATE_STALE && d.status.seq_got == 13);
    assert_string_equal(d.status.reason, "stale");

    /* trades lost at the venue: a trade_gap on the trades channel, the ids around the hole */
    g = (book_out_gap_t){.seq_last = 5001, .seq_got = 5042, .reason = BOOK_GAP_TRADES};
    n = store_rds_fmt_gap(buf, sizeof(buf), &nm, &m, &g);
    assert_int_equal(tgc_doc_parse(buf, n, &d, &why), 0);
    assert_int_equal(d.type, TGC_DOC_TRADE_GAP);
    assert_true(d.seq == 42 && d.status.seq_last == 5001 && d.status.seq_got == 5042);
    assert_true(d.status.ts_exch == -5 && d.status.ts_recv == INT64_MAX);
    assert_string_equal(d.status.reason, "trades");
    assert_non_null(strstr(buf, "\"type\":\"trade_gap\""));
    /* by time (ids not consecutive): ids 0, the hole's exchange times in their own fields */
    g = (book_out_gap_t){.seq_last = 1617648100000000000ull,
                         .seq_got = 1617648160000000000ull,
                         .reason = BOOK_GAP_TRADES_TIME};
    n = store_rds_fmt_gap(buf, sizeof(buf), &nm, &m, &g);
    assert_int_equal(tgc_doc_parse(buf, n, &d, &why), 0);
    assert_int_equal(d.type, TGC_DOC_TRADE_GAP);
    assert_true(d.status.seq_last == 0 && d.status.seq_got == 0);
    assert_string_equal(d.status.reason, "trades");
    assert_non_null(strstr(buf, "\"lost_from_ts\":1617648100000000000,"
                                "\"lost_to_ts\":1617648160000000000"));

    /* a document without its numbers or with a float price is rejected with a reason */
    static const char *badv[] = {"{\"type\":\"trade\",\"price\":\"1\",\"size\":\"1\"}",
                                 "{\"type\":\"trade\",\"seq\":1,\"epoch\":1,\"price\":1.5,"
                                 "\"size\":\"1\"}",
                                 "[1,2]", "{\"type\":\"book\",\"seq\":1"};
    for (size_t i = 0; i < sizeof(badv) / sizeof(badv[0]); i++) {
        assert_int_equal(tgc_doc_parse(badv[i], strlen(badv[i]), &d, &why), -EINVAL);
        assert_true(why[0] != '\0');
    }
    tg_instr_reg_destroy(&reg);
}

static void test_resp_frames_are_read_whole_or_not_at_all(void **state)
{
    const char msg[] = "*4\r\n$8\r\npmessage\r\n$4\r\ntg.*\r\n$9\r\ntg.book.x\r\n$5\r\n{\"a\"}\r\n";
    size_t n = sizeof(msg) - 1;
    tgc_frame_t f;
    for (size_t k = 0; k < n; k++)
        assert_int_equal(tgc_resp_frame(msg, k, &f), 0); /* every prefix: incomplete */
    assert_int_equal(tgc_resp_frame(msg, n, &f), (long)n);
    assert_true(tgc_frame_is(&f, 0, "pmessage") && tgc_frame_is(&f, 2, "tg.book.x"));
    assert_int_equal(f.len[3], 5);
    const char conf[] = "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n";
    assert_int_equal(tgc_resp_frame(conf, sizeof(conf) - 1, &f), (long)sizeof(conf) - 1);
    assert_true(tgc_frame_is(&f, 0, "subscribe"));
    assert_int_equal(tgc_resp_frame("-ERR x\r\n", 8, &f), 8);
    assert_int_equal(f.n, -1);
    assert_int_equal(tgc_resp_frame("?junk\r\n", 7, &f), -1);
}

/* The URL forms: a single Redis, a unix socket, a Redis Cluster's seed list (db 0 only). */
static void test_urls_single_unix_and_cluster(void **state)
{
    (void)state;
    tgc_url_t u;
    assert_int_equal(tgc_url_parse("redis://:pw@10.0.0.1:7000/2", &u), 0);
    assert_string_equal(u.host, "10.0.0.1");
    assert_int_equal(u.port, 7000);
    assert_int_equal(u.db, 2);
    assert_string_equal(u.password, "pw");
    assert_int_equal(u.cluster, 0);
    assert_int_equal(tgc_url_parse("unix:///run/r.sock?db=1", &u), 0);
    assert_string_equal(u.path, "/run/r.sock");
    assert_int_equal(tgc_url_parse("redis-cluster://u:pw@127.0.0.1:7001,127.0.0.1:7002/0", &u), 0);
    assert_int_equal(u.cluster, 1);
    assert_string_equal(u.seeds, "127.0.0.1:7001,127.0.0.1:7002");
    assert_string_equal(u.user, "u");
    assert_string_equal(u.password, "pw");
    assert_int_equal(tgc_url_parse("redis-cluster://", &u), -EINVAL);      /* no seed */
    assert_int_equal(tgc_url_parse("redis-cluster://h:1/3", &u), -EINVAL); /* a cluster has db 0 */
    tg_client_cfg_t cfg;
    tg_client_cfg_defaults(&cfg);
    tg_client_t *c = NULL;
    cfg.url = "redis-cluster://127.0.0.1:notaport";
    assert_int_equal(tg_client_create(&c, &cfg), -EINVAL);
    cfg.url = "redis-cluster://127.0.0.1:7001, 127.0.0.1:7002";
    assert_int_equal(tg_client_create(&c, &cfg), 0);
    /* the hash tag {venue:symbol} would be cut by a brace */
    assert_int_equal(tg_client_subscribe(c, "binance", "A{B}", TG_CLIENT_SUB_BOOK, NULL), -EINVAL);
    assert_int_equal(tg_client_subscribe(c, "binance", "BTCUSDT", TG_CLIENT_SUB_BOOK, NULL), 0);
    tg_client_destroy(&c);
}

/* The names tg_client_name() gives are those the gateway publishes (docs/redis.md): one
 * instance with prefix "tg", and a cluster with the instrument as the hash tag. */
static void test_names_match_the_gateway_on_one_instance_and_a_cluster(void **state)
{
    (void)state;
    static const struct {
        int cluster;
        unsigned kind;
        const char *ivl, *venue, *sym;
        int key;
        size_t cap;
        int rc;
        const char *want;
    } cases[] = {
        {0, TG_CLIENT_SUB_BOOK, NULL, "binance", "BTCUSDT", 0, 64, 0, "tg.book.binance.BTCUSDT"},
        {0, TG_CLIENT_SUB_TRADES, NULL, "okex", "BTC-USDT", 1, 64, 0, "tg:trade:okex:BTC-USDT"},
        {0, TG_CLIENT_SUB_CANDLES, "1m", "kraken", "XBT/USD", 0, 64, 0,
         "tg.candles.1m.kraken.XBT/USD"},
        /* one kind at a time, candles need their interval, a name that does not fit */
        {0, TG_CLIENT_SUB_ALL, NULL, "binance", "BTCUSDT", 0, 64, -EINVAL, NULL},
        {0, TG_CLIENT_SUB_CANDLES, NULL, "binance", "X", 0, 64, -EINVAL, NULL},
        {0, TG_CLIENT_SUB_BOOK, NULL, "binance", "BTCUSDT", 0, 23, -ENOSPC, NULL},
        {0, TG_CLIENT_SUB_BOOK, NULL, "binance", "BTCUSDT", 0, 24, 0, "tg.book.binance.BTCUSDT"},
        {1, TG_CLIENT_SUB_BOOK, NULL, "binance", "BTCUSDT", 0, 64, 0, "tg.book.{binance:BTCUSDT}"},
        {1, TG_CLIENT_SUB_CANDLES, "5m", "binance", "BTCUSDT", 1, 64, 0,
         "tg:candle:5m:{binance:BTCUSDT}"},
    };
    tg_client_t *c[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        tg_client_cfg_t cfg;
        tg_client_cfg_defaults(&cfg);
        cfg.url = i ? "redis-cluster://127.0.0.1:7001" : "redis://127.0.0.1:6379";
        assert_int_equal(tg_client_create(&c[i], &cfg), 0);
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char b[64];
        int rc = tg_client_name(c[cases[i].cluster], cases[i].kind, cases[i].ivl, cases[i].venue,
                                cases[i].sym, cases[i].key, b, cases[i].cap);
        assert_int_equal(rc, cases[i].rc);
        if (cases[i].want)
            assert_string_equal(b, cases[i].want);
    }
    tg_client_destroy(&c[0]);
    tg_client_destroy(&c[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decimals_round_trip_exactly_at_the_extremes),
        cmocka_unit_test(test_every_publisher_document_reads_back_exactly),
        cmocka_unit_test(test_resp_frames_are_read_whole_or_not_at_all),
        cmocka_unit_test(test_urls_single_unix_and_cluster),
        cmocka_unit_test(test_names_match_the_gateway_on_one_instance_and_a_cluster),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
