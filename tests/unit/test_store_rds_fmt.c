/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the Redis publisher's formatting (storage/store_rds_fmt.c): every document is
 * parsed back with jsmn in strict mode and each field compared with the record it came from;
 * decimals are parsed back with tg_dec_parse and must equal the fixed-point input exactly;
 * RESP commands are parsed back with hiredis' own reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

#include "book/tg_dec.h"
#include "book/tg_err.h"
#include "book/tg_instr.h"
#include "storage/redis/rds_cluster.h"
#include "storage/redis/store_rds_backlog.h"
#include "storage/redis/store_rds_fmt.h"
#include "tests/fixtures/test_rds_json.h"

typedef struct fx {
    tg_instr_reg_t *reg;
    const tg_instr_t *btc;   /* binance BTCUSDT, px 2, sz 8 */
    const tg_instr_t *weird; /* a symbol that needs JSON escapes */
    store_rds_names_t nb, nw;
    char buf[STORE_RDS_JSON_MAX];
    test_json_t j;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    tg_instr_cfg_t c;
    tg_instr_cfg_defaults(&c);
    uint32_t id;
    if (tg_instr_reg_create(&f->reg))
        return -1;
    c.px_scale = 2;
    c.sz_scale = 8;
    if (tg_instr_reg_add(f->reg, "binance", "BTCUSDT", &c, &id))
        return -1;
    f->btc = tg_instr_reg_get(f->reg, id);
    c.px_scale = 8;
    c.sz_scale = 0;
    if (tg_instr_reg_add(f->reg, "odd", "a\"b\\c\x01", &c, &id))
        return -1;
    f->weird = tg_instr_reg_get(f->reg, id);
    if (store_rds_fmt_names(&f->nb, "tg", f->btc) || store_rds_fmt_names(&f->nw, "tg", f->weird))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    tg_instr_reg_destroy(&f->reg);
    free(f);
    return 0;
}

/* The decimal string at token i must parse back (at scale) to exactly v. */
static void assert_dec_tok(const test_json_t *j, int i, int scale, int64_t v)
{
    char b[64];
    assert_true(i > 0);
    assert_int_equal(j->t[i].type, JSMN_STRING);
    test_json_text(j, i, b, sizeof(b));
    int64_t got = 0;
    assert_int_equal(tg_dec_parse(b, strlen(b), scale, &got), 0);
    assert_true(got == v);
}

static void assert_dec_field(const test_json_t *j, const char *key, int scale, int64_t v)
{
    assert_dec_tok(j, test_json_find(j, key), scale, v);
}

static void assert_str_field(const test_json_t *j, const char *key, const char *want)
{
    char b[256];
    int i = test_json_find(j, key);
    assert_true(i > 0);
    assert_int_equal(j->t[i].type, JSMN_STRING);
    assert_string_equal(test_json_text(j, i, b, sizeof(b)), want);
}

static size_t parse_ok(fx_t *f, size_t n)
{
    assert_true(n > 0);
    assert_true(test_json_parse(&f->j, f->buf, n) > 0);
    return n;
}

static book_out_book_t sample_book(void)
{
    book_out_book_t b;
    memset(&b, 0, sizeof(b));
    b.seq = 987654321;
    b.generation = 3;
    b.state = BOOK_STATE_VALID;
    b.reason = BOOK_OUT_R_CHANGE;
    b.n_bids = BOOK_OUT_DEPTH_MAX;
    b.n_asks = 2;
    b.depth_bids = 1234;
    b.depth_asks = 2;
    for (int i = 0; i < BOOK_OUT_DEPTH_MAX; i++) {
        b.bids[i].price = 6183763 - i * 7; /* 61837.63 - ... at px_scale 2 */
        b.bids[i].size = 1 + i * 123456789LL;
    }
    b.asks[0] = (tg_level_t){INT64_MAX, INT64_MAX}; /* extremes survive exactly */
    b.asks[1] = (tg_level_t){6183764, 0};
    return b;
}

static void test_book_document_round_trips_every_field_exactly(void **state)
{
    fx_t *f = *state;
    book_out_book_t b = sample_book();
    store_rds_meta_t m = {42, 1700000000123456789ULL, 1700000000000000001LL, -5, false, 0, 0};
    parse_ok(f, store_rds_fmt_book(f->buf, sizeof(f->buf), &f->nb, &m, &b));
    test_json_t *j = &f->j;
    assert_str_field(j, "type", "book");
    assert_str_field(j, "venue", "binance");
    assert_str_field(j, "symbol", "BTCUSDT");
    assert_str_field(j, "state", "VALID");
    assert_str_field(j, "reason", "change");
    assert_true(test_json_u64(j, "seq") == 42);
    assert_true(test_json_u64(j, "epoch") == 1700000000123456789ULL);
    assert_true(test_json_u64(j, "generation") == 3);
    assert_true(test_json_u64(j, "exch_seq") == 987654321);
    assert_true(test_json_i64(j, "ts_exch") == 1700000000000000001LL);
    assert_true(test_json_i64(j, "ts_recv") == -5);
    assert_true(test_json_u64(j, "depth_bids") == 1234);
    assert_true(test_json_u64(j, "depth_asks") == 2);
    int bids = test_json_find(j, "bids"), asks = test_json_find(j, "asks");
    assert_true(bids > 0 && asks > 0);
    assert_int_equal(j->t[bids].size, BOOK_OUT_DEPTH_MAX);
    assert_int_equal(j->t[asks].size, 2);
    for (int i = 0; i < BOOK_OUT_DEPTH_MAX; i++) {
        int lv = test_json_elem(j, bids, i);
        assert_true(lv > 0);
        assert_int_equal(j->t[lv].size, 2);
        assert_dec_tok(j, test_json_elem(j, lv, 0), 2, b.bids[i].price);
        assert_dec_tok(j, test_json_elem(j, lv, 1), 8, b.bids[i].size);
    }
    for (int i = 0; i < 2; i++) {
        int lv = test_json_elem(j, asks, i);
        assert_dec_tok(j, test_json_elem(j, lv, 0), 2, b.asks[i].price);
        assert_dec_tok(j, test_json_elem(j, lv, 1), 8, b.asks[i].size);
    }
}

static void test_book_with_no_levels_has_empty_arrays_and_null_bbo(void **state)
{
    fx_t *f = *state;
    book_out_book_t b;
    memset(&b, 0, sizeof(b));
    b.state = BOOK_STATE_RESYNCING;
    store_rds_meta_t m = {1, 2, 3, 4, false, 0, 0};
    parse_ok(f, store_rds_fmt_book(f->buf, sizeof(f->buf), &f->nb, &m, &b));
    int bids = test_json_find(&f->j, "bids");
    assert_true(bids > 0);
    assert_int_equal(f->j.t[bids].size, 0);
    assert_str_field(&f->j, "state", "RESYNCING");
    parse_ok(f, store_rds_fmt_bbo(f->buf, sizeof(f->buf), &f->nb, &m, &b));
    char t[16];
    assert_string_equal(test_json_str(&f->j, "bid", t, sizeof(t)), "null");
    assert_string_equal(test_json_str(&f->j, "ask", t, sizeof(t)), "null");
}

static void test_bbo_carries_the_best_levels_and_the_book_sequence(void **state)
{
    fx_t *f = *state;
    book_out_book_t b = sample_book();
    b.state = BOOK_STATE_STALE;
    store_rds_meta_t m = {77, 1, 2, 3, false, 0, 0};
    parse_ok(f, store_rds_fmt_bbo(f->buf, sizeof(f->buf), &f->nb, &m, &b));
    test_json_t *j = &f->j;
    assert_str_field(j, "type", "bbo");
    assert_str_field(j, "state", "STALE");
    assert_true(test_json_u64(j, "seq") == 77);
    int bid = test_json_find(j, "bid"), ask = test_json_find(j, "ask");
    assert_dec_tok(j, test_json_elem(j, bid, 0), 2, b.bids[0].price);
    assert_dec_tok(j, test_json_elem(j, bid, 1), 8, b.bids[0].size);
    assert_dec_tok(j, test_json_elem(j, ask, 0), 2, b.asks[0].price);
}

static void test_trade_document_has_side_ids_and_exact_decimals(void **state)
{
    fx_t *f = *state;
    const uint8_t sides[] = {TG_SIDE_BUY, TG_SIDE_SELL, TG_SIDE_NONE};
    const char *names[] = {"buy", "sell", "null"};
    for (int s = 0; s < 3; s++) {
        book_out_trade_t t = {-123456789, 1, UINT64_MAX, 17, sides[s]};
        store_rds_meta_t m = {(uint64_t)s + 9, 5, INT64_MIN, INT64_MAX, false, 0, 0};
        parse_ok(f, store_rds_fmt_trade(f->buf, sizeof(f->buf), &f->nb, &m, &t));
        test_json_t *j = &f->j;
        char side[16];
        int i = test_json_find(j, "side");
        assert_true(i > 0);
        assert_int_equal(j->t[i].type, s < 2 ? JSMN_STRING : JSMN_PRIMITIVE);
        assert_string_equal(test_json_text(j, i, side, sizeof(side)), names[s]);
        assert_str_field(j, "type", "trade");
        assert_dec_field(j, "price", 2, -123456789);
        assert_dec_field(j, "size", 8, 1);
        assert_true(test_json_u64(j, "trade_id") == UINT64_MAX);
        assert_true(test_json_u64(j, "exch_seq") == 17);
        assert_true(test_json_u64(j, "seq") == (uint64_t)s + 9);
        assert_true(test_json_i64(j, "ts_exch") == INT64_MIN);
        assert_true(test_json_i64(j, "ts_recv") == INT64_MAX);
    }
}

static void test_candle_document_names_its_interval_and_keeps_ohlcv_exact(void **state)
{
    fx_t *f = *state;
    book_out_candle_t c;
    memset(&c, 0, sizeof(c));
    c.start_ns = 1700000040000000000LL;
    c.interval_ns = 60000000000LL;
    c.open = 100;
    c.high = 250;
    c.low = 1;
    c.close = 199;
    c.volume = 300000000;
    c.buy_volume = 100000000;
    c.sell_volume = 200000000;
    c.vwap = 150;
    c.trades = 4;
    c.first_ts = c.start_ns + 1;
    c.last_ts = c.start_ns + 59999999999LL;
    store_rds_meta_t m = {3, 4, 5, 6, false, 0, 0};
    parse_ok(f, store_rds_fmt_candle(f->buf, sizeof(f->buf), &f->nb, &m, &c));
    test_json_t *j = &f->j;
    char b[16];
    assert_str_field(j, "type", "candle");
    assert_str_field(j, "interval", "1m");
    assert_string_equal(test_json_str(j, "closed", b, sizeof(b)), "false");
    assert_true(test_json_i64(j, "interval_ns") == c.interval_ns);
    assert_true(test_json_i64(j, "start") == c.start_ns);
    assert_dec_field(j, "open", 2, c.open);
    assert_dec_field(j, "high", 2, c.high);
    assert_dec_field(j, "low", 2, c.low);
    assert_dec_field(j, "close", 2, c.close);
    assert_dec_field(j, "vwap", 2, c.vwap);
    assert_dec_field(j, "volume", 8, c.volume);
    assert_dec_field(j, "buy_volume", 8, c.buy_volume);
    assert_dec_field(j, "sell_volume", 8, c.sell_volume);
    assert_true(test_json_u64(j, "trades") == 4);
    assert_true(test_json_i64(j, "first_ts") == c.first_ts);
    assert_true(test_json_i64(j, "last_ts") == c.last_ts);
    c.closed = 1;
    parse_ok(f, store_rds_fmt_candle(f->buf, sizeof(f->buf), &f->nb, &m, &c));
    assert_string_equal(test_json_str(&f->j, "closed", b, sizeof(b)), "true");
}

static void test_gap_document_reports_state_reason_and_sequences(void **state)
{
    fx_t *f = *state;
    book_out_gap_t g = {100, 105, 7, BOOK_STATE_RESYNCING, BOOK_GAP_SEQUENCE};
    store_rds_meta_t m = {11, 1, 2, 3, false, 0, 0};
    parse_ok(f, store_rds_fmt_gap(f->buf, sizeof(f->buf), &f->nb, &m, &g));
    assert_str_field(&f->j, "type", "gap");
    assert_str_field(&f->j, "state", "RESYNCING");
    assert_str_field(&f->j, "reason", "sequence");
    assert_true(test_json_u64(&f->j, "seq_last") == 100);
    assert_true(test_json_u64(&f->j, "seq_got") == 105);
    assert_true(test_json_u64(&f->j, "generation") == 7);
}

static void test_integers_of_every_length_round_trip(void **state)
{
    fx_t *f = *state;
    book_out_trade_t t = {1, 1, 0, 0, TG_SIDE_BUY};
    uint64_t v = 1;
    for (int digits = 1; digits <= 20; digits++, v = v * 10) {
        const uint64_t cases[] = {v, v - 1, v + 1, v * 9 + (v - 1), UINT64_MAX - v};
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
            t.trade_id = cases[c];
            int64_t neg = -(int64_t)(cases[c] >> 1);
            store_rds_meta_t m = {cases[c], 0, neg, (int64_t)(cases[c] >> 1), false, 0, 0};
            parse_ok(f, store_rds_fmt_trade(f->buf, sizeof(f->buf), &f->nb, &m, &t));
            assert_true(test_json_u64(&f->j, "trade_id") == cases[c]);
            assert_true(test_json_u64(&f->j, "seq") == cases[c]);
            assert_true(test_json_i64(&f->j, "ts_exch") == neg);
            assert_true(test_json_i64(&f->j, "ts_recv") == (int64_t)(cases[c] >> 1));
        }
        if (digits == 20)
            break;
    }
}

static void test_symbols_needing_escapes_give_valid_json(void **state)
{
    fx_t *f = *state;
    book_out_trade_t t = {1, 1, 1, 1, TG_SIDE_BUY};
    store_rds_meta_t m = {1, 1, 1, 1, false, 0, 0};
    parse_ok(f, store_rds_fmt_trade(f->buf, sizeof(f->buf), &f->nw, &m, &t));
    char b[64];
    assert_string_equal(test_json_str(&f->j, "symbol", b, sizeof(b)), "a\\\"b\\\\c\\u0001");
    assert_string_equal(f->nw.key_trade, "tg:trade:odd:a\"b\\c\x01"); /* keys are raw bytes */
}

static void test_too_small_buffers_yield_zero_never_a_truncated_document(void **state)
{
    fx_t *f = *state;
    book_out_book_t b = sample_book();
    store_rds_meta_t m = {1, 2, 3, 4, false, 0, 0};
    size_t full = store_rds_fmt_book(f->buf, sizeof(f->buf), &f->nb, &m, &b);
    assert_true(full > 0);
    for (size_t cap = 0; cap < full; cap++)
        assert_int_equal(store_rds_fmt_book(f->buf, cap, &f->nb, &m, &b), 0);
    assert_int_equal(store_rds_fmt_book(f->buf, full, &f->nb, &m, &b), full);
}

static void test_names_follow_the_documented_layout(void **state)
{
    fx_t *f = *state;
    char b[STORE_RDS_NAME_MAX];
    assert_string_equal(f->nb.key_book, "tg:book:binance:BTCUSDT");
    assert_string_equal(f->nb.key_bbo, "tg:bbo:binance:BTCUSDT");
    assert_string_equal(f->nb.key_trade, "tg:trade:binance:BTCUSDT");
    assert_string_equal(f->nb.ch_book, "tg.book.binance.BTCUSDT");
    assert_string_equal(f->nb.ch_trades, "tg.trades.binance.BTCUSDT");
    size_t kl = store_rds_fmt_candle_key(&f->nb, 300000000000LL, b);
    assert_string_equal(b, "tg:candle:5m:binance:BTCUSDT");
    assert_int_equal(kl, strlen(b));
    store_rds_fmt_candle_channel(&f->nb, 3600000000000LL, b);
    assert_string_equal(b, "tg.candles.1h.binance.BTCUSDT");
    store_rds_names_t n;
    assert_int_equal(store_rds_fmt_names(&n, "bad prefix", f->btc), -EINVAL);
    assert_int_equal(store_rds_fmt_names(&n, "", f->btc), -EINVAL);
    assert_int_equal(store_rds_fmt_names(&n, "t9_x-1", f->btc), 0);
    assert_string_equal(n.ch_trades, "t9_x-1.trades.binance.BTCUSDT");
    assert_string_equal(f->nb.st_trades, "tg:stream:trades:binance:BTCUSDT");
    assert_int_equal(f->nb.st_trades_len, strlen(f->nb.st_trades));
    assert_string_equal(f->nb.st_book, "tg:stream:book:binance:BTCUSDT");
    kl = store_rds_fmt_candle_stream(&f->nb, 60000000000LL, b);
    assert_string_equal(b, "tg:stream:candles:1m:binance:BTCUSDT");
    assert_int_equal(kl, strlen(b));
}

static void test_interval_text_uses_the_largest_exact_unit(void **state)
{
    static const struct {
        int64_t ns;
        const char *txt;
    } cases[] = {
        {1000000000LL, "1s"},    {60000000000LL, "1m"},    {300000000000LL, "5m"},
        {3600000000000LL, "1h"}, {86400000000000LL, "1d"}, {90000000000LL, "90s"},
        {250000000LL, "250ms"},  {1500LL, "1500ns"},       {0, "0ns"},
    };
    char b[24];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = store_rds_fmt_interval(cases[i].ns, b);
        assert_string_equal(b, cases[i].txt);
        assert_int_equal(n, strlen(cases[i].txt));
    }
}

/* Parse a RESP command with hiredis' reader: it is a RESP array of bulk strings. */
static redisReply *resp_parse(const char *buf, size_t len)
{
    redisReader *r = redisReaderCreate();
    void *rep = NULL;
    redisReaderFeed(r, buf, len);
    if (redisReaderGetReply(r, &rep) != REDIS_OK)
        rep = NULL;
    /* nothing may follow the command */
    void *extra = NULL;
    if (rep && (redisReaderGetReply(r, &extra) != REDIS_OK || extra)) {
        freeReplyObject(extra);
        freeReplyObject(rep);
        rep = NULL;
    }
    redisReaderFree(r);
    return rep;
}

/* buf[0..n) parsed back: an array of `elements` elements (caller frees). */
static redisReply *parsed(const char *buf, size_t n, size_t elements)
{
    redisReply *r = resp_parse(buf, n);
    assert_non_null(r);
    assert_int_equal(r->elements, elements);
    return r;
}

static void test_resp_commands_parse_back_to_their_arguments(void **state)
{
    char buf[256];
    const char val[] = "{\"a\":\"b\r\nc\"}"; /* CRLF inside a bulk string is fine */
    size_t n = store_rds_fmt_resp_set(buf, sizeof(buf), "k:1", 3, val, sizeof(val) - 1, 10000);
    redisReply *r = resp_parse(buf, n);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 5);
    assert_string_equal(r->element[0]->str, "SET");
    assert_string_equal(r->element[1]->str, "k:1");
    assert_int_equal(r->element[2]->len, sizeof(val) - 1);
    assert_memory_equal(r->element[2]->str, val, sizeof(val) - 1);
    assert_string_equal(r->element[3]->str, "PX");
    assert_string_equal(r->element[4]->str, "10000");
    freeReplyObject(r);
    n = store_rds_fmt_resp_set(buf, sizeof(buf), "k", 1, "", 0, 0);
    r = parsed(buf, n, 3);
    assert_int_equal(r->element[2]->len, 0);
    freeReplyObject(r);
    n = store_rds_fmt_resp_publish(buf, sizeof(buf), "tg.x", 4, val, sizeof(val) - 1);
    r = parsed(buf, n, 3);
    assert_string_equal(r->element[0]->str, "PUBLISH");
    assert_string_equal(r->element[1]->str, "tg.x");
    freeReplyObject(r);
    assert_int_equal(store_rds_fmt_resp_publish(buf, 10, "tg.x", 4, val, sizeof(val) - 1), 0);
    /* sharded pub/sub (Redis Cluster) */
    n = store_rds_fmt_resp_publish_ex(buf, sizeof(buf), "tg.{a:b}", 8, val, sizeof(val) - 1, true);
    r = parsed(buf, n, 3);
    assert_string_equal(r->element[0]->str, "SPUBLISH");
    assert_string_equal(r->element[1]->str, "tg.{a:b}");
    assert_memory_equal(r->element[2]->str, val, sizeof(val) - 1);
    freeReplyObject(r);
    assert_int_equal(store_rds_fmt_resp_publish_ex(buf, 10, "tg.x", 4, val, 3, true), 0);
}

/* XADD key MAXLEN ~ N <epoch_ms>-<seq> seq <seq> doc <doc>: the entry ID carries the number. */
static void test_xadd_parses_back_with_the_number_in_its_entry_id(void **state)
{
    char buf[256];
    const char val[] = "{\"seq\":18446744073709551615}";
    size_t n =
        store_rds_fmt_resp_xadd(buf, sizeof(buf), "tg:stream:trades:v:S", 20, 100000,
                                1763880000123ULL, 18446744073709551615ULL, val, sizeof(val) - 1);
    redisReply *r = parsed(buf, n, 10);
    const char *want[] = {"XADD",   "tg:stream:trades:v:S",
                          "MAXLEN", "~",
                          "100000", "1763880000123-18446744073709551615",
                          "seq",    "18446744073709551615",
                          "doc",    val};
    for (size_t i = 0; i < 10; i++)
        assert_string_equal(r->element[i]->str, want[i]);
    freeReplyObject(r);
    n = store_rds_fmt_resp_xadd(buf, sizeof(buf), "s", 1, 0, 7, 1, "{}", 2); /* no MAXLEN */
    r = parsed(buf, n, 7);
    assert_string_equal(r->element[2]->str, "7-1");
    assert_string_equal(r->element[6]->str, "{}");
    freeReplyObject(r);
    for (size_t cap = 0; cap < n; cap++) /* never a truncated command */
        assert_int_equal(store_rds_fmt_resp_xadd(buf, cap, "s", 1, 0, 7, 1, "{}", 2), 0);
}

/* The backlog keeps the newest whole commands, oldest evicted first, across the wrap. */
static void test_stream_backlog_keeps_the_newest_commands_whole(void **state)
{
    store_rds_backlog_t b;
    assert_int_equal(store_rds_backlog_init(&b, 100), 0);
    char cmd[40], out[64];
    for (int i = 0; i < 50; i++) { /* 4 + 20..29 bytes each: 3 fit at most */
        size_t len = 20 + (size_t)(i % 10);
        memset(cmd, 'a' + i % 26, len);
        store_rds_backlog_put(&b, cmd, len);
        uint64_t pos = b.head, held = 0;
        size_t n, last = 0;
        while ((n = store_rds_backlog_next(&b, &pos, out, sizeof(out)))) {
            for (size_t k = 1; k < n; k++)
                assert_int_equal(out[k], out[0]); /* whole, not torn by the wrap */
            held++;
            last = n;
        }
        assert_int_equal(held, b.records);
        assert_int_equal(last, len); /* the newest is always there */
        assert_int_equal(out[0], 'a' + i % 26);
        assert_true(b.tail - b.head <= 100);
    }
    assert_int_equal(b.records + b.evicted, 50);
    store_rds_backlog_put(&b, cmd, 200); /* larger than the ring: not kept */
    assert_int_equal(b.records + b.evicted, 50);
    store_rds_backlog_deinit(&b);
    store_rds_backlog_t off;
    assert_int_equal(store_rds_backlog_init(&off, 0), 0); /* disabled: a no-op */
    store_rds_backlog_put(&off, cmd, 10);
    uint64_t pos = off.head;
    assert_int_equal(store_rds_backlog_next(&off, &pos, out, sizeof(out)), 0);
}

/* store_rds_fmt_cmd: one call gives exactly the bytes of the JSON call + the framing call,
 * reports where the document lies, and never a truncated command. */
static void test_one_call_command_equals_json_plus_framing(void **state)
{
    fx_t *f = *state;
    book_out_book_t b = sample_book();
    store_rds_meta_t m = {7, 1700000000123456789ULL, 1700000000000000001LL, -5, false, 0, 0};
    static char one[STORE_RDS_JSON_MAX + 512], two[STORE_RDS_JSON_MAX + 512];
    const store_rds_cmd_t cmds[] = {
        {f->nb.key_book, f->nb.key_book_len, false, 60000},
        {f->nb.key_book, f->nb.key_book_len, false, 0},
        {f->nb.ch_book, f->nb.ch_book_len, true, 0},
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        const store_rds_cmd_t *c = &cmds[i];
        store_rds_span_t doc = {0, 0};
        size_t n1 =
            store_rds_fmt_cmd(one, sizeof(one), c, STORE_RDS_DOC_BOOK, &f->nb, &m, &b, &doc);
        size_t j = store_rds_fmt_book(f->buf, sizeof(f->buf), &f->nb, &m, &b);
        assert_true(j > 0);
        size_t n2 = c->publish ? store_rds_fmt_resp_publish(two, sizeof(two), c->name, c->name_len,
                                                            f->buf, j)
                               : store_rds_fmt_resp_set(two, sizeof(two), c->name, c->name_len,
                                                        f->buf, j, c->ttl_ms);
        assert_true(n1 > 0);
        assert_int_equal(n1, n2);
        assert_memory_equal(one, two, n1);
        assert_int_equal(doc.len, j);
        assert_memory_equal(one + doc.off, f->buf, j);
        redisReply *r = resp_parse(one, n1);
        assert_non_null(r);
        assert_int_equal(r->elements, c->publish || !c->ttl_ms ? 3 : 5);
        freeReplyObject(r);
        /* every cap short of the command: 0; the exact length: the same bytes */
        for (size_t cap = 0; cap < n1; cap += cap < 64 ? 1 : 97)
            assert_int_equal(
                store_rds_fmt_cmd(two, cap, c, STORE_RDS_DOC_BOOK, &f->nb, &m, &b, NULL), 0);
        assert_int_equal(store_rds_fmt_cmd(two, n1, c, STORE_RDS_DOC_BOOK, &f->nb, &m, &b, NULL),
                         n1);
        assert_memory_equal(one, two, n1);
    }
}

/* Cluster names: every key, channel and stream of one instrument carries the hash tag
 * {venue:symbol}, so all hash to the slot of "venue:symbol"; a publish becomes SPUBLISH. */
static void test_cluster_names_share_one_slot_and_publish_is_sharded(void **state)
{
    fx_t *f = *state;
    store_rds_names_t c;
    assert_int_equal(store_rds_fmt_names_ex(&c, "tg", f->btc, true), 0);
    assert_true(c.cluster);
    assert_false(f->nb.cluster);
    assert_string_equal(c.key_book, "tg:book:{binance:BTCUSDT}");
    assert_string_equal(c.ch_book, "tg.book.{binance:BTCUSDT}");
    assert_string_equal(c.ch_trades, "tg.trades.{binance:BTCUSDT}");
    assert_string_equal(c.st_trades, "tg:stream:trades:{binance:BTCUSDT}");
    char cand[3][STORE_RDS_NAME_MAX];
    size_t cl[3] = {store_rds_fmt_candle_key(&c, 60000000000LL, cand[0]),
                    store_rds_fmt_candle_channel(&c, 60000000000LL, cand[1]),
                    store_rds_fmt_candle_stream(&c, 60000000000LL, cand[2])};
    assert_string_equal(cand[0], "tg:candle:1m:{binance:BTCUSDT}");
    assert_string_equal(cand[1], "tg.candles.1m.{binance:BTCUSDT}");
    const char *names[] = {c.key_book, c.key_bbo,   c.key_trade, c.ch_book, c.ch_trades,
                           c.st_book,  c.st_trades, cand[0],     cand[1],   cand[2]};
    const size_t lens[] = {c.key_book_len,  c.key_bbo_len, c.key_trade_len, c.ch_book_len,
                           c.ch_trades_len, c.st_book_len, c.st_trades_len, cl[0],
                           cl[1],           cl[2]};
    uint16_t want = rds_cluster_keyslot("binance:BTCUSDT", 15);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        assert_int_equal(lens[i], strlen(names[i]));
        assert_int_equal(rds_cluster_keyslot(names[i], lens[i]), want);
    }
    /* the plain names of the same instrument spread over other slots */
    assert_int_not_equal(rds_cluster_keyslot(f->nb.key_book, f->nb.key_book_len),
                         rds_cluster_keyslot(f->nb.ch_book, f->nb.ch_book_len));

    book_out_book_t b = sample_book();
    store_rds_meta_t m = {7, 1700000000123456789ULL, 1700000000000000001LL, -5, false, 0, 0};
    static char cmd[STORE_RDS_JSON_MAX + 512];
    size_t j = store_rds_fmt_book(f->buf, sizeof(f->buf), &c, &m, &b);
    assert_true(j > 0);
    const store_rds_cmd_t pub = {c.ch_book, c.ch_book_len, true, 0};
    size_t n = store_rds_fmt_cmd(cmd, sizeof(cmd), &pub, STORE_RDS_DOC_BOOK, &c, &m, &b, NULL);
    redisReply *r = resp_parse(cmd, n);
    assert_non_null(r);
    assert_int_equal(r->elements, 3);
    assert_string_equal(r->element[0]->str, "SPUBLISH");
    assert_string_equal(r->element[1]->str, "tg.book.{binance:BTCUSDT}");
    assert_int_equal(r->element[2]->len, j);
    assert_memory_equal(r->element[2]->str, f->buf, j);
    freeReplyObject(r);
    const store_rds_cmd_t set = {c.key_book, c.key_book_len, false, 0};
    n = store_rds_fmt_cmd(cmd, sizeof(cmd), &set, STORE_RDS_DOC_BOOK, &c, &m, &b, NULL);
    r = resp_parse(cmd, n);
    assert_non_null(r);
    assert_string_equal(r->element[0]->str, "SET");
    assert_string_equal(r->element[1]->str, "tg:book:{binance:BTCUSDT}");
    freeReplyObject(r);

    /* a brace in the venue or symbol would cut the tag: refused in cluster mode only */
    tg_instr_cfg_t ic;
    tg_instr_cfg_defaults(&ic);
    uint32_t id;
    assert_int_equal(tg_instr_reg_add(f->reg, "ven", "a}b", &ic, &id), 0);
    const tg_instr_t *brace = tg_instr_reg_get(f->reg, id);
    assert_int_equal(store_rds_fmt_names_ex(&c, "tg", brace, true), -EINVAL);
    assert_int_equal(store_rds_fmt_names_ex(&c, "tg", brace, false), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_book_document_round_trips_every_field_exactly, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_book_with_no_levels_has_empty_arrays_and_null_bbo,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_bbo_carries_the_best_levels_and_the_book_sequence,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_trade_document_has_side_ids_and_exact_decimals, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_candle_document_names_its_interval_and_keeps_ohlcv_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gap_document_reports_state_reason_and_sequences, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_integers_of_every_length_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symbols_needing_escapes_give_valid_json, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            test_too_small_buffers_yield_zero_never_a_truncated_document, setup, teardown),
        cmocka_unit_test_setup_teardown(test_names_follow_the_documented_layout, setup, teardown),
        cmocka_unit_test(test_interval_text_uses_the_largest_exact_unit),
        cmocka_unit_test(test_resp_commands_parse_back_to_their_arguments),
        cmocka_unit_test(test_xadd_parses_back_with_the_number_in_its_entry_id),
        cmocka_unit_test(test_stream_backlog_keeps_the_newest_commands_whole),
        cmocka_unit_test_setup_teardown(test_cluster_names_share_one_slot_and_publish_is_sharded,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_call_command_equals_json_plus_framing, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
