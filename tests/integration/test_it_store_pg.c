/* SPDX-License-Identifier: MIT */
/*
 * Integration tests of the PostgreSQL writer against a real server (tests/fixtures/services.sh):
 * numeric encoder vs PostgreSQL's own text rendering; events in through the ring and the
 * writer:pg thread -> rows out with exact contents in every table (values read back as text
 * from SQL and compared with tg_dec_format of the input); partitions on demand for old days;
 * a batch committed twice / a journal replayed twice stores each row once; concurrent
 * migrations; bad configuration fails fast with libpq's message. Each test owns a schema and
 * drops it. Returns 77 (skip) without TG_TEST_PG_DSN.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#include "book/tg_err.h"
#include "book/tg_ring.h"
#include "it_pg_util.h"
#include "storage/pg/store_pg.h"
#include "storage/pg/store_pg_enc.h"
#include "storage/pg/store_pg_schema.h"
#include "book/tg_rng.h"

#define DAY0 1709251200000000000LL /* 2024-03-01 00:00:00 UTC */
#define HOUR 3600000000000LL

typedef it_pg_fx_t fx_t;

static int setup(void **state)
{
    return it_pg_fx_setup(state, "tg_it_pg", 1);
}

static int teardown(void **state)
{
    return it_pg_fx_teardown(state);
}

static store_pg_cfg_t base_cfg(fx_t *f)
{
    return it_pg_fx_cfg(f);
}

/* ---- numeric encoder vs PostgreSQL ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static void test_binary_numeric_reads_back_as_the_same_text_in_postgresql(void **state)
{
    fx_t *f = *state;
    int64_t edge[] = {0, 1, -1, 10000, 99999999, INT64_MAX, INT64_MIN, 6183763000000, 1000, -15};
    int checked = 0;
    for (int scale = 0; scale <= 18; scale++) {
        for (int i = 0; i < 60; i++) {
            int64_t v = i < 10 ? edge[i]
                               : (int64_t)tg_rng_xorshift64(&rng) >> (tg_rng_xorshift64(&rng) % 63);
            uint8_t b[STORE_PG_NUMERIC_MAX];
            size_t n = store_pg_enc_numeric(b, v, scale);
            char iv[32], sc[8], want[TG_DEC_STR_MAX];
            snprintf(iv, sizeof iv, "%lld", (long long)v);
            snprintf(sc, sizeof sc, "%d", scale);
            const char *pv[3] = {(const char *)b, iv, sc};
            int pl[3] = {(int)n, 0, 0}, pf[3] = {1, 0, 0};
            Oid pt[3] = {1700, 20, 23};
            PGresult *r = PQexecParams(
                f->admin, "SELECT $1::text, $1 = $2::numeric * ('1e-' || $3)::numeric, scale($1)",
                3, pt, pv, pl, pf, 0);
            if (PQresultStatus(r) != PGRES_TUPLES_OK)
                fail_msg("v=%s scale=%d: %s", iv, scale, PQresultErrorMessage(r));
            tg_dec_format(v, scale, want);
            if (strcmp(PQgetvalue(r, 0, 0), want) != 0 || strcmp(PQgetvalue(r, 0, 1), "t") != 0)
                fail_msg("v=%s scale=%d: PostgreSQL reads %s (equal: %s), tg_dec_format %s", iv,
                         scale, PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), want);
            PQclear(r);
            checked++;
        }
    }
    /* 128-bit notional: 10^30 + 1 at scale 16 */
    __int128 big = 1;
    for (int i = 0; i < 30; i++)
        big *= 10;
    uint8_t b[STORE_PG_NUMERIC_MAX];
    size_t n = store_pg_enc_numeric128(b, -(big + 1), 16);
    const char *pv[1] = {(const char *)b};
    int pl[1] = {(int)n}, pf[1] = {1};
    Oid pt[1] = {1700};
    PGresult *r = PQexecParams(f->admin, "SELECT $1::text", 1, pt, pv, pl, pf, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "-100000000000000.0000000000000001");
    PQclear(r);
    assert_int_equal(checked, 19 * 60);
}

/* ---- events in, rows out ---- */

typedef struct inputs {
    book_out_t recs[128];
    int n;
    char trades[16384], books[16384], candles[4096], gaps[2048];
} inputs_t;

static const char *sym(uint32_t instr)
{
    return instr == 0 ? "binance|BTCUSDT" : "okx|ETH-USDT";
}

static void arr(char *out, const tg_level_t *lv, int n, int price, int scale)
{
    char d[TG_DEC_STR_MAX];
    out += sprintf(out, "{");
    for (int i = 0; i < n; i++)
        out +=
            sprintf(out, "%s%s", i ? "," : "", it_dec(price ? lv[i].price : lv[i].size, scale, d));
    sprintf(out, "}");
}

static long long us(int64_t ns)
{
    return (long long)(ns / 1000);
}

static void build_inputs(inputs_t *in)
{
    char a[TG_DEC_STR_MAX], b[TG_DEC_STR_MAX], c[TG_DEC_STR_MAX], d[TG_DEC_STR_MAX];
    memset(in, 0, sizeof *in);
    char *tp = in->trades;
    for (int i = 0; i < 60; i++) { /* 60 hours from DAY0: three partitions */
        uint32_t instr = (uint32_t)(i % 2);
        int64_t px = instr == 0 ? 6183763 + i * 17 : 345678901234 - i * 99999;
        int64_t sz = instr == 0 ? 1000 + i * 123456789LL : i * 1000001LL;
        int ps = instr == 0 ? 2 : 8, ss = instr == 0 ? 8 : 6;
        book_out_t r = it_trade(instr, DAY0 + i * HOUR + 123456789, 1000 + (uint64_t)i, px, sz,
                                (uint8_t)(1 + i % 2));
        in->recs[in->n++] = r;
        tp += sprintf(tp, "%s%s|%d|%d|%d|%s|%s|%lld|%lld", i ? "\n" : "", sym(instr), 1000 + i,
                      (1000 + i) * 10, 1 + i % 2, it_dec(px, ps, a), it_dec(sz, ss, b),
                      us(r.ts_exch), us(r.ts_recv));
    }
    char *bp = in->books;
    int depths[4] = {0, 1, 5, 20};
    for (int k = 0; k < 4; k++) {
        book_out_t r;
        memset(&r, 0, sizeof r);
        r.kind = BOOK_OUT_BOOK;
        r.instr = (uint32_t)(k % 2);
        r.ts_exch = DAY0 + k * 1000000;
        r.ts_recv = r.ts_exch + 777000;
        r.ts_mono = tg_clock_mono_ns();
        book_out_book_t *x = &r.u.book;
        x->seq = 500 + (uint64_t)k;
        x->generation = (uint64_t)k / 2;
        x->state = (uint8_t)(k % 3);
        x->reason = (uint8_t)(1 + k % 3);
        x->n_bids = x->n_asks = (uint8_t)depths[k];
        x->depth_bids = (uint32_t)depths[k] * 3;
        x->depth_asks = (uint32_t)depths[k] * 4;
        for (int l = 0; l < depths[k]; l++) {
            x->bids[l] = (tg_level_t){6183763 - l * 100, 12345678 + l};
            x->asks[l] = (tg_level_t){6183764 + l * 1000, 100000000LL * (l + 1)};
        }
        in->recs[in->n++] = r;
        int ps = k % 2 == 0 ? 2 : 8, ss = k % 2 == 0 ? 8 : 6;
        char ba[2048], bs[2048], aa[2048], as[2048];
        arr(ba, x->bids, depths[k], 1, ps);
        arr(bs, x->bids, depths[k], 0, ss);
        arr(aa, x->asks, depths[k], 1, ps);
        arr(as, x->asks, depths[k], 0, ss);
        bp += sprintf(bp, "%s%s|%d|%d|%d|%d|%d|%d|%s|%s|%s|%s|%lld|%lld", k ? "\n" : "",
                      sym(r.instr), 500 + k, k / 2, k % 3, 1 + k % 3, depths[k] * 3, depths[k] * 4,
                      ba, bs, aa, as, us(r.ts_exch), us(r.ts_recv));
    }
    char *cp = in->candles;
    for (int k = 0; k < 5; k++) {
        book_out_t r;
        memset(&r, 0, sizeof r);
        r.kind = BOOK_OUT_CANDLE;
        r.instr = (uint32_t)(k % 2);
        r.ts_exch = DAY0 + HOUR + k * 60000000000LL;
        r.ts_recv = r.ts_exch + 5000;
        book_out_candle_t *x = &r.u.candle;
        x->start_ns = DAY0 + k * 60000000000LL;
        x->interval_ns = k == 2 ? HOUR : 60000000000LL;
        x->open = 100 + k;
        x->high = 200 + k;
        x->low = 50 + k;
        x->close = 150 + k;
        x->volume = 30000000 + k;
        x->buy_volume = 10000000;
        x->sell_volume = 20000000 + k;
        x->notional = (__int128)x->volume * 12345;
        x->vwap = 123 + k;
        x->trades = k == 2 ? 0 : 7 + (uint32_t)k;
        x->first_ts = x->start_ns + 1000000;
        x->last_ts = x->start_ns + 59000000000LL;
        x->closed = k < 3; /* 3 closed, 2 forming (Redis only) */
        in->recs[in->n++] = r;
        if (!x->closed)
            continue;
        int ps = k % 2 == 0 ? 2 : 8, ss = k % 2 == 0 ? 8 : 6;
        char n1[64], n2[64];
        tg_dec_format((int64_t)x->notional, ps + ss, n1); /* fits int64 here */
        if (x->trades)
            snprintf(n2, sizeof n2, "%lld|%lld", us(x->first_ts), us(x->last_ts));
        else
            snprintf(n2, sizeof n2, "<null>|<null>");
        cp += sprintf(cp, "%s%s|%s|%lld|%s|%s|%s|%s|", k ? "\n" : "", sym(r.instr),
                      k == 2 ? "01:00:00" : "00:01:00", us(x->start_ns), it_dec(x->open, ps, a),
                      it_dec(x->high, ps, b), it_dec(x->low, ps, c), it_dec(x->close, ps, d));
        cp += sprintf(cp, "%s|%s|%s|%s|%s|%u|%s", it_dec(x->volume, ss, a),
                      it_dec(x->buy_volume, ss, b), it_dec(x->sell_volume, ss, c), n1,
                      it_dec(x->vwap, ps, d), x->trades, n2);
    }
    char *gp = in->gaps;
    for (int k = 0; k < 2; k++) {
        book_out_t r;
        memset(&r, 0, sizeof r);
        r.kind = BOOK_OUT_GAP;
        r.instr = (uint32_t)k;
        r.ts_exch = k ? 0 : DAY0 + 42; /* no exchange time: the receive time is the event time */
        r.ts_recv = DAY0 + 2 * HOUR + k;
        r.u.gap.seq_last = 77 + (uint64_t)k;
        r.u.gap.seq_got = k ? 0 : 90;
        r.u.gap.generation = 3;
        r.u.gap.state = 0;
        r.u.gap.reason = k ? BOOK_GAP_RECONNECT : BOOK_GAP_SEQUENCE;
        in->recs[in->n++] = r;
        gp += sprintf(gp, "%s%s|%d|%d|3|0|%d|%lld|%lld", k ? "\n" : "", sym((uint32_t)k), 77 + k,
                      k ? 0 : 90, k ? BOOK_GAP_RECONNECT : BOOK_GAP_SEQUENCE,
                      us(k ? r.ts_recv : r.ts_exch), us(r.ts_recv));
    }
}

static const char *table_text(fx_t *f, const char *fmt_sql)
{
    char sql[2048];
    snprintf(sql, sizeof sql, fmt_sql, f->schema, f->schema);
    return it_q(f->admin, sql);
}

#define EPOCH_US(col) "(extract(epoch from " col ") * 1000000)::bigint"

static void check_contents(fx_t *f, const inputs_t *in)
{
    const char *got;
    got =
        table_text(f, "SELECT string_agg(concat_ws('|', i.venue, i.symbol, t.trade_id, t.seq,"
                      " t.side, t.price, t.size, " EPOCH_US("t.ts") ", " EPOCH_US(
                          "t.recv_ts") "), E'\\n' ORDER BY t.trade_id)"
                                       " FROM %s.trades t JOIN %s.instruments i ON i.id = t.instr");
    assert_string_equal(got, in->trades);
    got = table_text(
        f, "SELECT string_agg(concat_ws('|', i.venue, i.symbol, b.seq, b.generation,"
           " b.state, b.reason, b.depth_bids, b.depth_asks, b.bid_px, b.bid_sz,"
           " b.ask_px, b.ask_sz, " EPOCH_US("b.ts") ", " EPOCH_US(
               "b.recv_ts") "), E'\\n' ORDER BY b.seq)"
                            " FROM %s.book_snapshots b JOIN %s.instruments i ON i.id = b.instr");
    assert_string_equal(got, in->books);
    got = table_text(
        f,
        "SELECT string_agg(concat_ws('|', i.venue, i.symbol, c.interval, " EPOCH_US(
            "c.start_ts") ", c.open, c.high, c.low, c.close, c.volume, c.buy_volume, "
                          "c.sell_volume, c.notional,"
                          " c.vwap, c.trades, coalesce(" EPOCH_US(
                              "c.first_ts") "::text, '<null>'), coalesce(" EPOCH_US("c.last_ts") ":"
                                                                                                 ":"
                                                                                                 "t"
                                                                                                 "e"
                                                                                                 "x"
                                                                                                 "t"
                                                                                                 ","
                                                                                                 " "
                                                                                                 "'"
                                                                                                 "<"
                                                                                                 "n"
                                                                                                 "u"
                                                                                                 "l"
                                                                                                 "l"
                                                                                                 ">"
                                                                                                 "'"
                                                                                                 ")"
                                                                                                 ")"
                                                                                                 ","
                                                                                                 " "
                                                                                                 "E"
                                                                                                 "'"
                                                                                                 "\\n' ORDER BY c.start_ts)"
                                                                                                 " "
                                                                                                 "F"
                                                                                                 "R"
                                                                                                 "O"
                                                                                                 "M"
                                                                                                 " "
                                                                                                 "%"
                                                                                                 "s"
                                                                                                 "."
                                                                                                 "c"
                                                                                                 "a"
                                                                                                 "n"
                                                                                                 "d"
                                                                                                 "l"
                                                                                                 "e"
                                                                                                 "s"
                                                                                                 " "
                                                                                                 "c"
                                                                                                 " "
                                                                                                 "J"
                                                                                                 "O"
                                                                                                 "I"
                                                                                                 "N"
                                                                                                 " "
                                                                                                 "%"
                                                                                                 "s"
                                                                                                 "."
                                                                                                 "i"
                                                                                                 "n"
                                                                                                 "s"
                                                                                                 "t"
                                                                                                 "r"
                                                                                                 "u"
                                                                                                 "m"
                                                                                                 "e"
                                                                                                 "n"
                                                                                                 "t"
                                                                                                 "s"
                                                                                                 " "
                                                                                                 "i"
                                                                                                 " "
                                                                                                 "O"
                                                                                                 "N"
                                                                                                 " "
                                                                                                 "i"
                                                                                                 "."
                                                                                                 "i"
                                                                                                 "d"
                                                                                                 " "
                                                                                                 "="
                                                                                                 " "
                                                                                                 "c"
                                                                                                 "."
                                                                                                 "i"
                                                                                                 "n"
                                                                                                 "s"
                                                                                                 "t"
                                                                                                 "r");
    assert_string_equal(got, in->candles);
    got = table_text(f, "SELECT string_agg(concat_ws('|', i.venue, i.symbol, g.seq_last, g.seq_got,"
                        " g.generation, g.state, g.reason, " EPOCH_US("g.ts") ", " EPOCH_US(
                            "g.recv_ts") "), E'\\n' ORDER BY g.seq_last)"
                                         " FROM %s.gaps g JOIN %s.instruments i ON i.id = g.instr");
    assert_string_equal(got, in->gaps);
}

static void test_events_through_the_ring_become_rows_with_exact_contents(void **state)
{
    fx_t *f = *state;
    static inputs_t in;
    build_inputs(&in);
    tg_ring_t *ring = NULL;
    assert_int_equal(tg_ring_create(&ring, 256, sizeof(book_out_t)), 0);
    store_pg_cfg_t c = base_cfg(f);
    c.ring = ring;
    c.batch_rows = 16; /* several batches */
    store_pg_t *w = NULL;
    assert_int_equal(store_pg_create(&w, &c), 0);
    assert_int_equal(store_pg_connect(w), 0);
    assert_int_equal(store_pg_start(w), 0);
    for (int i = 0; i < in.n; i++)
        while (!tg_ring_spsc_push(ring, &in.recs[i]))
            it_sleep_ms(1);
    assert_int_equal(store_pg_stop(w), 0);
    const store_pg_stats_t *st = store_pg_stats(w);
    assert_int_equal(TG_STAT_GET(st->recs_in), in.n);
    assert_int_equal(TG_STAT_GET(st->recs_skipped), 2);
    assert_int_equal(TG_STAT_GET(st->rows_committed), in.n - 2);
    assert_int_equal(TG_STAT_GET(st->rows_duplicate), 0);
    assert_int_equal(TG_STAT_GET(st->rows_table[0]), 60);
    assert_int_equal(TG_STAT_GET(st->rows_table[1]), 4);
    assert_int_equal(TG_STAT_GET(st->rows_table[2]), 3);
    assert_int_equal(TG_STAT_GET(st->rows_table[3]), 2);
    assert_int_equal(TG_STAT_GET(st->spill_batches), 0);
    assert_true(TG_STAT_GET(st->batches) >= 5);
    uint64_t e2e = 0;
    for (int i = 0; i < TG_HIST_BUCKETS; i++)
        e2e += TG_STAT_GET(st->e2e_lat.bucket[i]);
    assert_int_equal(e2e, TG_STAT_GET(st->e2e_lat.count));
    assert_int_equal(e2e, 60 + 4); /* candles and gaps built here carry no ts_mono */
    assert_true(TG_STAT_GET(st->e2e_lat.sum_ns) > 0);
    assert_int_equal(TG_STAT_GET(st->commit_lat.count), TG_STAT_GET(st->batches));
    check_contents(f, &in);
    /* partitions were made on demand for 2024-03-01..03 */
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM pg_inherits WHERE inhparent = '%s.trades'::regclass"
             " AND inhrelid::regclass::text LIKE '%%_p2024030%%'",
             f->schema);
    assert_int_equal(it_qi(f->admin, sql), 3);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s.trades_p20240302", f->schema);
    assert_int_equal(it_qi(f->admin, sql), 24);
    store_pg_destroy(&w);
    tg_ring_destroy(&ring);
}

/* ---- duplicates ---- */

static void push_trades(store_pg_t *w, uint64_t first, int n)
{
    for (int i = 0; i < n; i++) {
        book_out_t r = it_trade(0, DAY0 + (int64_t)(first + (uint64_t)i) * 1000,
                                first + (uint64_t)i, 6000000 + i, 100000000, 1);
        assert_true(store_pg_push(w, &r) >= 0);
    }
}

static long long count_trades(fx_t *f)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) * 1000000 + count(DISTINCT trade_id) FROM %s.trades",
             f->schema);
    return it_qi(f->admin, sql);
}

static void dup_case(void **state, store_pg_dedup_t mode)
{
    fx_t *f = *state;
    store_pg_cfg_t c = base_cfg(f);
    c.dedup = mode;
    store_pg_t *w = NULL;
    assert_int_equal(store_pg_create(&w, &c), 0);
    push_trades(w, 1, 100);
    assert_int_equal(store_pg_flush(w), 0);
    push_trades(w, 1, 150); /* the same 100 again (a replayed batch) + 50 new */
    push_trades(w, 140, 5); /* and 5 seen twice inside one batch */
    assert_int_equal(store_pg_flush(w), 0);
    assert_int_equal(count_trades(f), 150 * 1000000LL + 150);
    const store_pg_stats_t *st = store_pg_stats(w);
    assert_int_equal(TG_STAT_GET(st->rows_committed), 150);
    assert_int_equal(TG_STAT_GET(st->rows_duplicate), 105);
    assert_int_equal(TG_STAT_GET(st->dedup_fallbacks), mode == STORE_PG_DEDUP_OPTIMISTIC);
    assert_int_equal(TG_STAT_GET(st->spill_batches), 0);
    store_pg_destroy(&w);
}

static void test_a_batch_committed_twice_stores_each_row_once_optimistic(void **state)
{
    dup_case(state, STORE_PG_DEDUP_OPTIMISTIC);
}

static void test_a_batch_committed_twice_stores_each_row_once_staged(void **state)
{
    dup_case(state, STORE_PG_DEDUP_STAGED);
}

static int closed_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof a;
    bind(s, (struct sockaddr *)&a, sizeof a);
    getsockname(s, (struct sockaddr *)&a, &l);
    close(s); /* nobody listens there now */
    return ntohs(a.sin_port);
}

static void test_journal_written_while_down_is_replayed_once_even_if_spilled_twice(void **state)
{
    fx_t *f = *state;
    char bad[128];
    snprintf(bad, sizeof bad, "host=127.0.0.1 port=%d user=postgres connect_timeout=2",
             closed_port());
    store_pg_cfg_t c = base_cfg(f);
    c.conninfo = bad;
    store_pg_t *w = NULL;
    assert_int_equal(store_pg_create(&w, &c), 0);
    push_trades(w, 1, 300);
    assert_int_equal(store_pg_flush(w), 0); /* spilled */
    push_trades(w, 1, 300);                 /* the same batch again */
    assert_int_equal(store_pg_flush(w), 0);
    push_trades(w, 301, 10);
    assert_int_equal(store_pg_flush(w), 0);
    const store_pg_stats_t *st = store_pg_stats(w);
    assert_int_equal(TG_STAT_GET(st->spill_batches), 3);
    assert_int_equal(TG_STAT_GET(st->spill_rows), 610);
    assert_int_equal(TG_STAT_GET(st->spill_pending_records), 3);
    assert_true(TG_STAT_GET(st->connect_failures) >= 1);
    store_pg_destroy(&w);

    /* a later writer (the same gateway restarted) with a reachable server replays it */
    c = base_cfg(f);
    assert_int_equal(store_pg_create(&w, &c), 0);
    st = store_pg_stats(w);
    assert_int_equal(TG_STAT_GET(st->spill_pending_records), 3);
    assert_int_equal(store_pg_flush(w), 0);
    assert_int_equal(TG_STAT_GET(st->replay_batches), 3);
    assert_int_equal(TG_STAT_GET(st->rows_committed), 310);
    assert_int_equal(TG_STAT_GET(st->rows_duplicate), 300);
    assert_int_equal(TG_STAT_GET(st->spill_pending_records), 0);
    assert_int_equal(count_trades(f), 310 * 1000000LL + 310);
    assert_int_equal(store_pg_flush(w), 0); /* nothing left: replays nothing */
    assert_int_equal(TG_STAT_GET(st->replay_batches), 3);
    store_pg_destroy(&w);
}

/* ---- schema ---- */

typedef struct mig_arg {
    const char *schema;
    int rc;
    char err[256];
} mig_arg_t;

static void *migrate_thread(void *p)
{
    mig_arg_t *a = p;
    PGconn *c = it_admin();
    a->rc = c ? store_pg_schema_migrate(c, a->schema, NULL, a->err, sizeof a->err) : -1;
    PQfinish(c);
    return NULL;
}

static void test_concurrent_start_ups_migrate_once(void **state)
{
    fx_t *f = *state;
    pthread_t t[4];
    mig_arg_t a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (mig_arg_t){.schema = f->schema};
        pthread_create(&t[i], NULL, migrate_thread, &a[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        if (a[i].rc != 0)
            fail_msg("migration %d: %s", i, a[i].err);
    }
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT count(*) * 100 + max(version) FROM %s.schema_version",
             f->schema);
    /* every migration 1..N applied exactly once, whatever the number of racing writers */
    assert_int_equal(it_qi(f->admin, sql), STORE_PG_SCHEMA_VERSION * 100 + STORE_PG_SCHEMA_VERSION);
    int v = -1;
    char e[256];
    assert_int_equal(store_pg_schema_migrate(f->admin, f->schema, &v, e, sizeof e), 0);
    assert_int_equal(v, STORE_PG_SCHEMA_VERSION);
    /* a schema from the future is refused */
    snprintf(sql, sizeof sql, "INSERT INTO %s.schema_version VALUES (999, now(), 'future')",
             f->schema);
    it_exec(f->admin, sql);
    assert_int_equal(store_pg_schema_migrate(f->admin, f->schema, &v, e, sizeof e), TG_ECONFIG);
    assert_non_null(strstr(e, "newer"));
    /* names are never injected */
    assert_int_equal(store_pg_schema_check_name("x; DROP TABLE y"), TG_ECONFIG);
    assert_int_equal(store_pg_schema_check_name("Upper"), TG_ECONFIG);
    assert_int_equal(store_pg_schema_check_name("tg_ok_1"), 0);
}

/* ---- bad configuration ---- */

/* want: TG_EPG for an unreachable server (an outage the writer can wait out), -EACCES when
 * the server answered and refused (settings: the gateway fails fast whatever `required`). */
static void expect_connect_error(fx_t *f, const char *conninfo, const char *needle, int want)
{
    store_pg_cfg_t c = base_cfg(f);
    c.conninfo = conninfo;
    c.spill_dir = NULL;
    store_pg_t *w = NULL;
    assert_int_equal(store_pg_create(&w, &c), 0);
    int64_t t0 = tg_clock_mono_ns();
    int rc = store_pg_connect(w);
    int64_t dt = tg_clock_mono_ns() - t0;
    assert_int_equal(rc, want);
    assert_int_equal(store_pg_err(w), TG_EPG);
    if (!strstr(store_pg_errstr(w), needle))
        fail_msg("error text \"%s\" lacks \"%s\"", store_pg_errstr(w), needle);
    assert_true(dt < 6 * TG_NS_PER_SEC); /* io_timeout_ms (5000) at worst */
    assert_int_equal(TG_STAT_GET(store_pg_stats(w)->connect_failures), 1);
    store_pg_destroy(&w);
}

static void test_bad_configuration_fails_fast_with_libpq_text(void **state)
{
    fx_t *f = *state;
    char ci[256];
    expect_connect_error(f, "host=no-such-host.invalid port=5432 connect_timeout=3",
                         "could not translate host name", TG_EPG);
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%d connect_timeout=3", closed_port());
    expect_connect_error(f, ci, "refused", TG_EPG);
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%s user=postgres dbname=no_such_db",
             getenv("TG_TEST_PG_PORT"));
    expect_connect_error(f, ci, "does not exist", -EACCES);

    /* wrong password: a role that needs scram, through a pg_hba line put first, then reload */
    char hba[512], cmd[4096];
    snprintf(hba, sizeof hba, "%s/pg_hba.conf", getenv("TG_TEST_PG_DATA"));
    snprintf(cmd, sizeof cmd,
             "cp '%s' '%s.orig' && (echo 'host all tg_pw_user 127.0.0.1/32 scram-sha-256'; "
             "cat '%s.orig') > '%s' && %s/pg_ctl -D '%s' reload",
             hba, hba, hba, hba, getenv("TG_TEST_PG_BIN"), getenv("TG_TEST_PG_DATA"));
    assert_int_equal(it_as_postgres(cmd), 0);
    it_exec(f->admin, "DROP ROLE IF EXISTS tg_pw_user");
    it_exec(f->admin, "SET password_encryption = 'scram-sha-256'");
    it_exec(f->admin, "CREATE ROLE tg_pw_user LOGIN PASSWORD 'right-one'");
    it_sleep_ms(300); /* reload is asynchronous */
    setenv("PGPASSWORD", "wrong-one", 1);
    snprintf(ci, sizeof ci, "host=127.0.0.1 port=%s user=tg_pw_user dbname=postgres",
             getenv("TG_TEST_PG_PORT"));
    expect_connect_error(f, ci, "password authentication failed", -EACCES);
    unsetenv("PGPASSWORD");
    snprintf(cmd, sizeof cmd, "mv '%s.orig' '%s' && %s/pg_ctl -D '%s' reload", hba, hba,
             getenv("TG_TEST_PG_BIN"), getenv("TG_TEST_PG_DATA"));
    assert_int_equal(it_as_postgres(cmd), 0);
    it_exec(f->admin, "DROP ROLE IF EXISTS tg_pw_user");

    /* config errors the writer refuses before any connection */
    store_pg_cfg_t c = base_cfg(f);
    store_pg_t *w = NULL;
    c.schema = "Bad-Name";
    assert_int_equal(store_pg_create(&w, &c), TG_ECONFIG);
    c = base_cfg(f);
    c.conninfo = NULL;
    assert_int_equal(store_pg_create(&w, &c), TG_ECONFIG);
    assert_null(w);
}

/* ---- resume points at start-up (store_pg_schema_last_trades) ---- */

/* A trade row of instrument instr at exchange time ts_us and receive time recv_us (us since
 * the epoch: integer arithmetic, no float rounding) with trade id tid. */
static void put_trade_us(fx_t *f, int64_t instr, long long ts_us, long long recv_us, long long tid)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO %s.trades VALUES (%lld, timestamptz 'epoch' + %lld * interval '1 us',"
             " timestamptz 'epoch' + %lld * interval '1 us', %lld, 0, 1, 1, 1)",
             f->schema, (long long)instr, ts_us, recv_us, tid);
    it_exec(f->admin, sql);
}

/* One query gives both kinds of resume point, each within max_age_s: A (ids consecutive) the
 * highest positive id received within the age (a newer id received 2 h ago does not count);
 * B (by time) the newest exchange time among trades with ts and recv_ts within the age, as
 * the stored microsecond in ns (never after it); C (by time) only a trade whose exchange time
 * is 2 h old (received now): none (the ts bound, which prunes the partitions); D (by time) a
 * trade received 2 h ago: none; E (ids) its trades asked by time: no id. */
static void test_last_trades_gives_ids_and_times_within_the_age(void **state)
{
    fx_t *f = *state;
    char e[256];
    assert_int_equal(store_pg_schema_migrate(f->admin, f->schema, NULL, e, sizeof e), 0);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long n_us = (long long)now.tv_sec * 1000000 + now.tv_nsec / 1000, h_us = 3600000000LL;
    int64_t today = (int64_t)now.tv_sec / 86400;
    assert_int_equal(store_pg_schema_ensure_days(f->admin, f->schema, today - 2, 4, e, sizeof e),
                     0);
    const int64_t ids[5] = {101, 102, 103, 104, 105};
    put_trade_us(f, 101, n_us - 60000000, n_us - 60000000, 5);
    put_trade_us(f, 101, n_us - 50000000, n_us - 50000000, 9);
    put_trade_us(f, 101, n_us - 40000000, n_us - 2 * h_us, 20);  /* received 2 h ago */
    long long b_us = n_us - 600000000 + 123457;                  /* 10 min ago, odd us */
    put_trade_us(f, 102, b_us - 1000000, b_us - 900000, -77);    /* hashed ids: negative */
    put_trade_us(f, 102, b_us, b_us + 100000, -78);              /* the newest */
    put_trade_us(f, 102, b_us - 1, b_us + 200000, -79);          /* 1 us older, received later */
    put_trade_us(f, 102, b_us + 60000000, n_us - 2 * h_us, -80); /* newer, received 2 h ago */
    put_trade_us(f, 103, n_us - 2 * h_us, n_us - 1000000, -81);  /* exchange time 2 h old */
    put_trade_us(f, 104, n_us - 60000000, n_us - 2 * h_us, -82); /* received 2 h ago */
    put_trade_us(f, 105, n_us - 30000000, n_us - 30000000, 44);
    const uint8_t by_ts[5] = {0, 1, 1, 1, 0};
    uint64_t out[5];
    int64_t out_ts[5];
    long rc = store_pg_schema_last_trades(f->admin, f->schema, ids, by_ts, 5, 3600, out, out_ts, e,
                                          sizeof e);
    assert_int_equal(rc, 3);
    assert_int_equal(out[0], 9);
    assert_int_equal(out_ts[0], 0);
    assert_int_equal(out[1], 0);
    assert_int_equal(out_ts[1], (int64_t)b_us * 1000);
    assert_int_equal(out[2], 0);
    assert_int_equal(out_ts[2], 0);
    assert_int_equal(out_ts[3], 0);
    assert_int_equal(out[4], 44);
    assert_int_equal(out_ts[4], 0);
    /* NULL by_ts: ids alone (B's negative ids never count) */
    rc = store_pg_schema_last_trades(f->admin, f->schema, ids, NULL, 5, 3600, out, out_ts, e,
                                     sizeof e);
    assert_int_equal(rc, 2);
    assert_int_equal(out_ts[1], 0);
    /* the cost on many rows (TG_TEST_LAST_TRADES_ROWS, e.g. 1000000 of B within the last hour,
       received then): printed, not asserted (a figure for docs/RELIABILITY.md) */
    const char *big = getenv("TG_TEST_LAST_TRADES_ROWS");
    if (big && atol(big) > 0) {
        char sql[768];
        snprintf(sql, sizeof sql,
                 "INSERT INTO %s.trades SELECT 102, now() - (g %% 3500000) * interval '1 ms',"
                 " now() - (g %% 3500000) * interval '1 ms', -1000 - g, g, 1, 1, 1"
                 " FROM generate_series(1, %ld) g; ANALYZE %s.trades",
                 f->schema, atol(big), f->schema);
        it_exec(f->admin, sql);
        for (int k = 0; k < 3; k++) {
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            rc = store_pg_schema_last_trades(f->admin, f->schema, ids, by_ts, 5, 3600, out, out_ts,
                                             e, sizeof e);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            fprintf(stderr, "last_trades with %s more rows of one instrument: %.1f ms (rc %ld)\n",
                    big, (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6, rc);
        }
        snprintf(sql, sizeof sql,
                 "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY ON) SELECT max(ts) FROM "
                 "%s.trades WHERE instr = 102 AND ts > now() - make_interval(secs => 3600) AND "
                 "recv_ts > now() - make_interval(secs => 3600)",
                 f->schema);
        PGresult *r = PQexec(f->admin, sql);
        for (int j = 0; j < PQntuples(r); j++)
            fprintf(stderr, "  %s\n", PQgetvalue(r, j, 0));
        PQclear(r);
    }
}

int main(void)
{
    if (!getenv("TG_TEST_PG_DSN"))
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_binary_numeric_reads_back_as_the_same_text_in_postgresql, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_events_through_the_ring_become_rows_with_exact_contents, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_batch_committed_twice_stores_each_row_once_optimistic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_batch_committed_twice_stores_each_row_once_staged,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_journal_written_while_down_is_replayed_once_even_if_spilled_twice, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_start_ups_migrate_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_configuration_fails_fast_with_libpq_text, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_last_trades_gives_ids_and_times_within_the_age, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
