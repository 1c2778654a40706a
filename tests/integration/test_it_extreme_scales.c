/* SPDX-License-Identifier: MIT */
/*
 * Exact prices at every scale, end to end: synthetic Coinbase frames whose prices span 1e-12 to
 * 1e7 and sizes 1e-8 to 1e12 (many places, mixed places inside one message) go through the
 * venue handler (feed_offline), the builder, the PostgreSQL writer (binary COPY into numeric)
 * and the Redis publisher (JSON documents) into real servers (tests/fixtures/services.sh; exit
 * 77 without them). Every price and size must come back as the same decimal text it went in
 * as: from PostgreSQL (numeric::text, trailing zeros trimmed) and from the Redis book and
 * last-trade keys. Instruments whose values cannot share one int64 scale must end in FAULT,
 * loudly, and never as a silently wrong book.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "book/book_builder.h"
#include "book/tg_dec.h"
#include "feeds/rec/feed_offline.h"
#include "storage/pg/store_pg.h"
#include "storage/pg/store_pg_schema.h"
#include "storage/redis/store_rds.h"
#include "tests/fixtures/it_pipeline.h"

/* One instrument per magnitude; each gets a snapshot, an update and a trade. */
typedef struct xs_case {
    const char *sym;
    const char *bid_px, *bid_sz, *ask_px, *ask_sz; /* snapshot */
    const char *upd_px, *upd_sz;                   /* l2update on the bid side, more places */
    const char *trade_px, *trade_sz;
} xs_case_t;

static const xs_case_t cases[] = {
    /* memecoin: 12 places, huge sizes */
    {"MEME-USD", "0.000000000001", "1000000000000", "0.000000000002", "999999.5", "0.0000000000015",
     "12.25", "0.000000000002", "123456789012"},
    /* OKX ELON-USDT / BitMEX TRXU21 shapes: 11 and 10 places */
    {"ELON-USDT", "0.00000074408", "2", "0.0000007441", "1.5", "0.00000074407", "3", "0.0000007441",
     "10"},
    /* BTC in a weak currency: 1e7 with few places, tiny sizes */
    {"BTC-IRR", "9999999.5", "0.00000001", "10000000", "0.5", "9999999.25", "0.12345678",
     "10000000", "0.00000001"},
    /* mixed inside one message: 2 places then 9 places */
    {"MIX-EUR", "1.25", "100", "1.26", "3.000000001", "1.250000001", "7", "1.26", "0.5"},
};
#define N_CASES (sizeof(cases) / sizeof(cases[0]))

static char *make_recording(size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *t = malloc(cap);
#define ADD(...) n += (size_t)snprintf(t + n, cap - n, __VA_ARGS__)
    ADD("# tgrec 1\n# venue: coinbase\n# url: wss://ws-feed.pro.coinbase.com\n# symbols: ");
    for (size_t i = 0; i < N_CASES; i++)
        ADD("%s%s", i ? "," : "", cases[i].sym);
    ADD("\n# note: synthetic extreme-scale frames (tests/integration/test_it_extreme_scales.c)\n");
    int64_t ts = 1700000000000000000LL;
    for (size_t i = 0; i < N_CASES; i++) {
        const xs_case_t *c = &cases[i];
        ADD("%lld {\"type\":\"snapshot\",\"product_id\":\"%s\",\"bids\":[[\"%s\",\"%s\"]],"
            "\"asks\":[[\"%s\",\"%s\"]]}\n",
            (long long)(ts += 1000000), c->sym, c->bid_px, c->bid_sz, c->ask_px, c->ask_sz);
        ADD("%lld {\"type\":\"l2update\",\"product_id\":\"%s\",\"changes\":[[\"buy\",\"%s\","
            "\"%s\"]],\"time\":\"2023-11-14T22:13:20.%06dZ\"}\n",
            (long long)(ts += 1000000), c->sym, c->upd_px, c->upd_sz, (int)i);
        ADD("%lld {\"type\":\"match\",\"trade_id\":%zu,\"side\":\"sell\",\"size\":\"%s\","
            "\"price\":\"%s\",\"product_id\":\"%s\",\"sequence\":%zu,"
            "\"time\":\"2023-11-14T22:13:21.%06dZ\"}\n",
            (long long)(ts += 1000000), 100 + i, c->trade_sz, c->trade_px, c->sym, 1000 + i,
            (int)i);
    }
#undef ADD
    *len = n;
    return t;
}

/* PostgreSQL renders numeric with its stored scale: trim to our canonical text. */
static void trim(char *s)
{
    if (!strchr(s, '.'))
        return;
    size_t n = strlen(s);
    while (n && s[n - 1] == '0')
        s[--n] = 0;
    if (n && s[n - 1] == '.')
        s[--n] = 0;
}

/* Canonical text of decimal input ("3.000000001", "10000000"): parse at its own places. */
static void canon(const char *in, char *out)
{
    int places = tg_dec_places(in, strlen(in));
    int64_t v;
    assert_int_equal(tg_dec_parse(in, strlen(in), places, &v), 0);
    tg_dec_format(v, places, out);
}

/* a > b for decimal texts, exactly (both at the larger of their places). */
static bool dec_gt(const char *a, const char *b)
{
    int pa = tg_dec_places(a, strlen(a)), pb = tg_dec_places(b, strlen(b));
    int p = pa > pb ? pa : pb;
    int64_t x, y;
    assert_int_equal(tg_dec_parse(a, strlen(a), p, &x), 0);
    assert_int_equal(tg_dec_parse(b, strlen(b), p, &y), 0);
    return x > y;
}

static int to_builder(void *ctx, const tg_event_t *ev, uint32_t n)
{
    book_builder_apply(ctx, ev, n);
    return 0;
}

static void test_extreme_values_come_back_exactly_from_postgresql_and_redis(void **state)
{
    const char *dsn = getenv("TG_TEST_PG_DSN"), *url = getenv("TG_TEST_REDIS_URL");
    const char *rport = getenv("TG_TEST_REDIS_PORT");
    size_t len;
    char *text = make_recording(&len);
    tg_instr_reg_t *reg = NULL;
    feed_offline_t *off = NULL;
    assert_int_equal(tg_instr_reg_create(&reg), 0);
    /* Start every instrument at 0 places (what `px_scale = 0` / `sz_scale = 0` in a [feed]
     * section does): scales only grow, so a 1e12 size fits only if the instrument did not
     * start at 8 size places (docs/design.md, "Exact prices at every scale"). */
    for (size_t i = 0; i < N_CASES; i++) {
        tg_instr_cfg_t ic;
        tg_instr_cfg_defaults(&ic);
        ic.px_scale = 0;
        ic.sz_scale = 0;
        uint32_t id;
        assert_int_equal(tg_instr_reg_add(reg, "coinbase", cases[i].sym, &ic, &id), 0);
    }
    assert_int_equal(feed_offline_open_mem(&off, text, len, NULL, reg, 0), 0);

    tg_ring_t *pg_ring = NULL, *rds_ring = NULL;
    assert_int_equal(tg_ring_create(&pg_ring, 4096, sizeof(book_out_t)), 0);
    assert_int_equal(tg_ring_create(&rds_ring, 4096, sizeof(book_out_t)), 0);
    book_builder_cfg_t bc;
    it_builder_cfg(&bc, reg);
    bc.n_sinks = 2;
    bc.sinks[0] = (book_sink_cfg_t){.name = "pg",
                                    .ring = pg_ring,
                                    .kinds = BOOK_SINK_TRADE | BOOK_SINK_BOOK_STATE |
                                             BOOK_SINK_BOOK_CHANGE | BOOK_SINK_GAP,
                                    .lossless = true};
    bc.sinks[1] = (book_sink_cfg_t){
        .name = "rds", .ring = rds_ring, .kinds = BOOK_SINK_ALL, .lossless = true};
    bc.book_min_gap_ns = 0;
    bc.book_interval_ns = 0;
    book_builder_t *bld = NULL;
    assert_int_equal(book_builder_create(&bld, &bc), 0);

    char schema[64], spill[] = "/tmp/tg-it-xs-XXXXXX", err[256];
    snprintf(schema, sizeof(schema), "tg_it_xs_%d", (int)getpid());
    assert_non_null(mkdtemp(spill));
    store_pg_cfg_t pc;
    it_pg_cfg(&pc, dsn, schema, reg, pg_ring);
    pc.spill_dir = spill;
    store_pg_t *pg = NULL;
    assert_int_equal(store_pg_create(&pg, &pc), 0);
    assert_int_equal(store_pg_connect(pg), 0);
    store_rds_cfg_t rc;
    it_rds_cfg(&rc, url, reg, rds_ring);
    rc.prefix = "xs";
    store_rds_t *rds = NULL;
    assert_int_equal(store_rds_create(&rds, &rc), 0);
    assert_int_equal(store_pg_start(pg), 0);
    it_rds_start_connected(rds);

    assert_int_equal(feed_offline_run(off, to_builder, bld), 0);
    book_builder_flush(bld);
    assert_int_equal(store_pg_stop(pg), 0);
    assert_int_equal(store_rds_stop(rds), 0);
    assert_int_equal(TG_STAT_GET(off->stats.err_decimal), 0);
    assert_int_equal(TG_STAT_GET(off->stats.unrepresentable), 0);
    assert_true(TG_STAT_GET(off->stats.rescales) >= N_CASES);

    PGconn *db = PQconnectdb(dsn);
    assert_int_equal(PQstatus(db), CONNECTION_OK);
    redisContext *rd = redisConnect("127.0.0.1", atoi(rport));
    assert_true(rd && !rd->err);
    for (size_t i = 0; i < N_CASES; i++) {
        const xs_case_t *c = &cases[i];
        char q[512], want[64], got[128];
        /* the book: VALID, exact best bid (the update) and ask */
        int64_t id =
            tg_instr_reg_find(reg, tg_instr_reg_venue_id(reg, "coinbase"), c->sym, strlen(c->sym));
        assert_true(id >= 0);
        assert_int_equal(book_l2_state(book_builder_book(bld, (uint32_t)id)), BOOK_STATE_VALID);
        /* PostgreSQL: the trade row and the last book snapshot row */
        snprintf(q, sizeof(q),
                 "SELECT t.price::text, t.size::text FROM %s.trades t JOIN %s.instruments i "
                 "ON i.id = t.instr WHERE i.symbol = '%s'",
                 schema, schema, c->sym);
        PGresult *r = PQexec(db, q);
        assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
        assert_int_equal(PQntuples(r), 1);
        snprintf(got, sizeof(got), "%s", PQgetvalue(r, 0, 0));
        trim(got);
        canon(c->trade_px, want);
        assert_string_equal(got, want);
        snprintf(got, sizeof(got), "%s", PQgetvalue(r, 0, 1));
        trim(got);
        canon(c->trade_sz, want);
        assert_string_equal(got, want);
        PQclear(r);
        snprintf(q, sizeof(q),
                 "SELECT b.bid_px[1]::text, b.bid_sz[1]::text, b.ask_px[1]::text, "
                 "b.ask_sz[1]::text FROM %s.book_snapshots b JOIN "
                 "%s.instruments i ON i.id = b.instr WHERE i.symbol = '%s' "
                 "ORDER BY b.recv_ts DESC, b.seq DESC LIMIT 1",
                 schema, schema, c->sym);
        r = PQexec(db, q);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
            /* best levels of the last row: the higher of the snapshot's and the update's
               bid, and the snapshot's ask */
            bool upd_best = dec_gt(c->upd_px, c->bid_px);
            const char *in[4] = {upd_best ? c->upd_px : c->bid_px, upd_best ? c->upd_sz : c->bid_sz,
                                 c->ask_px, c->ask_sz};
            for (int k = 0; k < 4; k++) {
                snprintf(got, sizeof(got), "%s", PQgetvalue(r, 0, k));
                trim(got);
                canon(in[k], want);
                assert_string_equal(got, want);
            }
        } else {
            fail_msg("%s: no book_snapshots row (%s)", c->sym, PQerrorMessage(db));
        }
        PQclear(r);
        /* Redis: book key JSON carries the exact strings */
        snprintf(q, sizeof(q), "xs:book:coinbase:%s", c->sym);
        redisReply *rr = redisCommand(rd, "GET %s", q);
        assert_true(rr && rr->type == REDIS_REPLY_STRING);
        char a[300];
        canon(c->upd_px, want);
        canon(c->upd_sz, got);
        snprintf(a, sizeof(a), "[\"%s\",\"%s\"]", want, got);
        if (!strstr(rr->str, a))
            fail_msg("%s: %s not in %s", c->sym, a, rr->str);
        canon(c->ask_px, want);
        canon(c->ask_sz, got);
        snprintf(a, sizeof(a), "[\"%s\",\"%s\"]", want, got);
        if (!strstr(rr->str, a))
            fail_msg("%s: %s not in %s", c->sym, a, rr->str);
        assert_non_null(strstr(rr->str, "\"VALID\""));
        freeReplyObject(rr);
        snprintf(q, sizeof(q), "xs:trade:coinbase:%s", c->sym);
        rr = redisCommand(rd, "GET %s", q);
        assert_true(rr && rr->type == REDIS_REPLY_STRING);
        canon(c->trade_px, want);
        snprintf(a, sizeof(a), "\"price\":\"%s\"", want);
        if (!strstr(rr->str, a))
            fail_msg("%s: %s not in %s", c->sym, a, rr->str);
        freeReplyObject(rr);
    }
    redisFree(rd);
    store_pg_schema_drop(db, schema, err, sizeof(err));
    PQfinish(db);
    store_pg_destroy(&pg);
    store_rds_destroy(&rds);
    book_builder_destroy(&bld);
    feed_offline_close(&off);
    tg_ring_destroy(&pg_ring);
    tg_ring_destroy(&rds_ring);
    tg_instr_reg_destroy(&reg);
    free(text);
}

int main(void)
{
    if (!getenv("TG_TEST_PG_DSN") || !getenv("TG_TEST_REDIS_URL") || !getenv("TG_TEST_REDIS_PORT"))
        return 77;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_extreme_values_come_back_exactly_from_postgresql_and_redis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
