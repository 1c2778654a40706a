/* SPDX-License-Identifier: MIT */
/*
 * Trade backfill after reconnects (issue 15), end to end: tickgate with PostgreSQL against
 * tickgate-replay serving the real Binance spot BTCUSDT recording (9757 trades) with one
 * timeline (--resume): 20 connections are dropped after DROP frames each and the next one
 * starts AWAY frames later, so the trades of those 20 x AWAY frames never come over the
 * websocket; the replay serves them over /api/v3/historicalTrades. The trade ids in
 * PostgreSQL must be exactly the recording's, each once. The ids of the skipped frames (what
 * a gateway without backfill loses) are counted here from the recording, printed, and must
 * be > 0 and all fetched (tickgate_feed_backfill_trades_total). The same run with the REST
 * base on a closed port (no history): exactly those trades are missing, the failures are
 * counted and the lost ranges logged. A gateway stopped and started again while the venue goes
 * on (Binance, Coinbase Exchange, OKX; the replay stalls where the first is stopped): the second
 * resumes after the last trade PostgreSQL holds ([gateway] backfill_resume_s), and without that
 * exactly the trades of the downtime are missing. Coinbase Exchange too
 * (a recording with few matches, so 5 drops): the replay serves /products/<P>/trades and a
 * last_match per product at each reconnect; every published match stored once, and without
 * the history exactly the matches of the frames nobody received are missing. OKX likewise (5
 * drops): /api/v5/market/history-trades and, at each reconnect, the push of each instrument's
 * newest published trade (as OKX sends on subscribe); the endpoint's answers checked against the
 * recording. BitMEX (4 drops; trades by time, their ids hashed trdMatchIDs): /api/v1/trade by
 * startTime/endTime/start, every trade of the recording's inserts stored once; without the
 * history exactly the trades nobody received are missing, each inside a trade gap row's time
 * bounds. BitMEX and Bybit linear restarts: the second gateway resumes from the newest trade
 * time PostgreSQL holds per symbol (the recording served with its trade times moved to 10
 * minutes ago: retime(); a time resume point counts the trades of the last backfill_resume_s
 * seconds by exchange time), every trade stored once; without it exactly the downtime's
 * trades are missing. Kraken Futures (test_it_backfill_cf.h: its history is the trade_snapshot
 * the venue sends on a trade subscribe, the replay's at each reconnect).
 * Run: tests/fixtures/services.sh run meson test -C build test_it_backfill
 * (TG_TEST_FILTER='*restart*' runs the cases whose name matches).
 * Env: TG_TEST_PG_DSN, TG_GATEWAY_BIN, TG_REPLAY_BIN, TG_RECORDINGS (else skip, 77).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>

#include "it_gw_util.h"
#include "it_pg_util.h"
#include "tests/fixtures/tu_main.h"
#include "tests/fixtures/test_rds_json.h"
#include "feeds/venues/feed_venue_util.h"

#define REC   "binance/hftbacktest_spot_btcusdt_20240808.tgrec.zst"
#define DROPS 20
#define DROP  1500 /* frames per dropped connection */
#define AWAY  300  /* frames published while away, after each drop */
#define RATE  "4000"

/* A recording served with drops: DROPS connections dropped after DROP frames each, the next
 * one AWAY frames later; its trades are the frames with trade_pre in their first 64 bytes,
 * their ids after id_key. */
typedef struct bf_case {
    const char *rec, *venue, *symbols;
    int drops, drop, away;
    const char *trade_pre, *id_key;
    const char *stream; /* the Redis trades stream checked without history (NULL: none) */
    /* the key of a trade's instrument (before its text) where the replay sends each
       instrument's newest published trade again at a reconnect and the gateway stores it
       (OKX's push on subscribe; NULL: none, Coinbase's last_match is not stored) */
    const char *lead_key;
    /* the restart (run_restart): the first gateway receives frames 1..restart_at (the replay
       stalls there until the gateway has them all and is stopped), the next restart_away
       frames are published while no gateway runs */
    int restart_at, restart_away;
    /* trades by time (BitMEX): several a frame, each id the hash of the text after id_key (up
       to its quote), its time the ISO text after "timestamp":" before it; trade gap rows carry
       time bounds (seq_last..seq_got, ns, inclusive); polls of wait_steady (0: 8 of 250 ms) */
    bool by_time;
    const char *ts_key, *sym_key; /* by_time: keys of a trade's time and symbol (before their
                                     values, quote included for text) */
    bool ts_ms;                   /* the time is ms digits (else ISO text) */
    int steady;
    /* by_time with history: the closed 1m candles before this time (ISO) count no more trades
       than the recording has there (the builder's dedup drops the boundary trades fetched
       again); NULL: not checked */
    const char *candle_cut;
    /* the history comes over the websocket (Kraken Futures' trade_snapshot): without it the
       replay runs --no-lead (the REST port closed changes nothing); the gateway's log lines of
       a range fetched and of one given up (NULL: feed_backfill.c's) */
    bool ws_history;
    const char *done_log, *lost_log;
} bf_case_t;

/* A case: recording r of venue v, symbols s; n drops after d frames, a away each. */
#define BF_DROPS(r, v, s, n, d, a)                                                                 \
    .rec = (r), .venue = (v), .symbols = (s), .drops = (n), .drop = (d), .away = (a)
/* Its trades: the frames with pre in their first 64 bytes, their ids after key. */
#define BF_TRADES(pre, key) .trade_pre = (pre), .id_key = (key)
/* The restart (run_restart): frames 1..at to the first gateway, the next away while none runs. */
#define BF_RESTART(at, away) .restart_at = (at), .restart_away = (away)

/* restart: 3167 of its 9757 trades before frame 18000, 423 in the 2000 after */
static const bf_case_t k_binance = {
    BF_DROPS(REC, "binance", "BTCUSDT", DROPS, DROP, AWAY), BF_TRADES("@trade\"", "\"t\":"),
    .stream = "tg:stream:trades:binance:BTCUSDT", BF_RESTART(18000, 2000)};
/* 97 matches over 8 of its 10 products in 9946 frames; restart: 30 before frame 4300, 6 of
 * SKL-USD and DASH-BTC in the 2000 after (both with matches before, so a resume point) */
static const bf_case_t k_coinbase = {
    BF_DROPS("coinbase/cryptofeed_ce58c2a0_COINBASE.ws.28.tgrec.zst", "coinbase",
             "SKL-USD,SKL-BTC,BAND-GBP,NMR-EUR,BAND-BTC,YFI-BTC,DASH-BTC,NU-GBP,CRV-EUR,SKL-GBP", 5,
             1500, 300),
    BF_TRADES("{\"type\":\"match\"", "\"trade_id\":"), BF_RESTART(4300, 2000)};

/* OKX: 74 trades of 3 instruments in 410 frames (BTC-USDT's 69 consecutive ids); 30 of them
 * in the frames no connection receives, some of those sent again at the next subscribe;
 * restart: 24 before frame 144, 15 of BTC-USDT in the 100 after (its newest pushed again) */
static const bf_case_t k_okx = {BF_DROPS("okex/cryptofeed_ce58c2a0_OKX.ws.1.tgrec", "okex",
                                         "BTC-USD-220527,UNI-USD-SWAP,BTC-USDT", 5, 40, 30),
                                BF_TRADES("{\"arg\":{\"channel\":\"trades\"", "\"tradeId\":\""),
                                .lead_key = "\"instId\":\"", BF_RESTART(144, 100)};

/* BitMEX: 112 trades of 7 symbols in the 99 trade inserts of 7043 frames; 4 drops of 1300
 * frames then 300 away: 20 trades nobody receives, each of a symbol that trades again on a
 * later connection (so its range opens) */
static const bf_case_t k_bitmex = {
    BF_DROPS("bitmex/cryptofeed_1312c062_BITMEX-d944be.tgrec.zst", "bitmex",
             "DOGEUSDT,XLMUSDT,ADAM21,ETHUSDM21,TRXM21,LINKUSDT,EOSUSDT,BCHM21,XBTM21,XBTU21", 4,
             1300, 300),
    BF_TRADES("{\"table\":\"trade\",\"action\":\"insert\"", "\"trdMatchID\":\""), .by_time = true,
    .ts_key = "\"timestamp\":\"", .sym_key = "\"symbol\":\"", .steady = 24,
    .candle_cut = "2021-04-05T18:43:00Z",
    /* restart: 50 trades before frame 2800, 24 in the 1000 after, each of a symbol with a
       trade before (a resume time) and after (its range opens) */
    BF_RESTART(2800, 1000)};

/* A Bybit v5 recording's trades: publicTrade pushes, execId `i`, ms times `T`, symbol `s`. */
#define BYBIT_TRADES                                                                               \
    BF_TRADES("{\"topic\":\"publicTrade.", "\"i\":\""),                                            \
        .by_time = true, .ts_key = "\"T\":", .sym_key = "\"s\":\"", .ts_ms = true, .steady = 16
/* A Bybit case: recording r of venue v, symbols s; n drops after d frames, a away each. */
#define BYBIT_CASE(r, v, s, n, d, a) BF_DROPS(r, v, s, n, d, a), BYBIT_TRADES

/* Bybit linear: 327 trades of 4 symbols in the 102 publicTrade pushes of 2 547 frames; 5 drops
 * of 200 frames then 50 away: 99 trades nobody receives, each of a symbol that trades again on
 * a later connection. recent-trade serves the newest 1000: the whole recording. Restart: 34
 * trades before frame 1200, 134 in the 500 after (symbols traded before and after) */
static const bf_case_t k_bybit = {BYBIT_CASE("bybit/cryptofeed_57d5f18d_BYBIT.ws.2.tgrec.zst",
                                             "bybit", "BTCUSDT,DOGEUSDT,ETHUSDT,SOLUSDT", 5, 200,
                                             50),
                                  BF_RESTART(1200, 500)};

/* Bybit spot: 20 trades of 2 symbols in 682 frames, 10 of them in the frames of 3 drops of 140
 * frames then 60 away, each of a symbol that trades again later. recent-trade serves the
 * newest 60 (spot): more than the whole recording, so no drop leaves a trade out of reach
 * here (that branch: test_feed_bybit_backfill) */
static const bf_case_t k_bybit_spot = {BYBIT_CASE("bybit-spot/cryptofeed_57d5f18d_BYBIT.ws.3.tgrec",
                                                  "bybit-spot", "BTCUSDT,ETHUSDT", 3, 140, 60)};

#include "test_it_backfill_cf.h"

static struct {
    const char *gw_bin, *replay_bin, *recs;
    char tmp[256];
} G;

/* Is frame i in the frames no connection of c receives? */
static bool away(const bf_case_t *c, size_t i)
{
    size_t k = i / (size_t)(c->drop + c->away);
    return k < (size_t)c->drops && i % (size_t)(c->drop + c->away) >= (size_t)c->drop;
}

/* Of the trades in away frames (trade j: frame fr[j], instrument inst[j]), those a reconnect
 * receives anyway: at the start of connection k its instrument's newest published trade. */
static size_t leads_received(const bf_case_t *c, size_t n, const size_t *fr, char (*inst)[32],
                             const uint64_t *ids)
{
    bool *got = calloc(n + 1, 1);
    size_t m = 0;
    for (int k = 1; k <= c->drops; k++)
        for (size_t j = 0; j < n && fr[j] < (size_t)k * (size_t)(c->drop + c->away); j++) {
            bool newest = true;
            for (size_t x = 0; x < n && fr[x] < (size_t)k * (size_t)(c->drop + c->away); x++)
                newest &= strcmp(inst[x], inst[j]) != 0 || ids[x] <= ids[j];
            if (newest && away(c, fr[j]) && !got[j]) {
                got[j] = true;
                m++;
            }
        }
    free(got);
    return m;
}

/* Trade ids of the recording's trade frames; *skipped: how many no connection receives: in
 * frames [k * (drop + away) + drop, (k + 1) * (drop + away)), k < drops, and not sent again
 * at a reconnect (c->lead_key); *first (NULL: not wanted): how many the first connection
 * receives (frames [0, drop)). */
/* by_time: the trades of frame f (several an insert) into ids/tss from *n on (cap). */
/* The text after key inside [p, e) (up to a quote, comma or brace), or NULL; *len its length. */
static const char *obj_val(const char *p, const char *e, const char *key, size_t *len)
{
    const char *v = memmem(p, (size_t)(e - p), key, strlen(key));
    if (!v)
        return NULL;
    v += strlen(key);
    *len = strcspn(v, "\",}");
    return v;
}

/* by_time: the trades of frame f (several a push: each object {..} holding ts_key) into
 * ids/tss/sym from *n on (cap). */
static void rec_time_trades(const bf_case_t *c, const char *f, uint64_t *ids, int64_t *tss,
                            char (*sym)[32], size_t *n, size_t cap)
{
    for (const char *p = f; (p = strstr(p, c->ts_key)) != NULL;) {
        const char *b = p, *e = strchr(p, '}');
        while (b > f && *b != '{')
            b--;
        assert_non_null(e);
        size_t tl = 0, il = 0, sl = 0;
        const char *ts = obj_val(b, e, c->ts_key, &tl), *id = obj_val(b, e, c->id_key, &il);
        const char *sy = obj_val(b, e, c->sym_key, &sl);
        assert_true(ts && id && sy && sl < 32 && *n < cap);
        memcpy(sym[*n], sy, sl);
        sym[*n][sl] = 0;
        if (c->ts_ms)
            tss[*n] = strtoll(ts, NULL, 10) * 1000000;
        else
            assert_int_equal(feed_iso_ns(ts, tl, true, &tss[*n]), 0);
        ids[(*n)++] = feed_hash_id(id, il); /* as the handler hashes it */
        p = e;
    }
}

static int64_t *g_ts;     /* by_time: the time of trade i of the last rec_ids */
static char (*g_sym)[32]; /* and its symbol */

static uint64_t *rec_ids(const bf_case_t *c, size_t *n, size_t *skipped, size_t *first)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", G.recs, c->rec);
    feed_tgrec_t *r;
    assert_int_equal(feed_tgrec_open(&r, path), 0);
    size_t cap = r->data_lines * 4;
    uint64_t *ids = malloc(cap * sizeof(*ids));
    size_t *fr = malloc(cap * sizeof(*fr));
    free(g_ts);
    free(g_sym);
    g_ts = calloc(cap, sizeof(*g_ts));
    g_sym = calloc(cap, sizeof(*g_sym));
    char(*inst)[32] = calloc(r->data_lines, sizeof(*inst));
    assert_true(ids && fr && inst);
    *n = *skipped = 0;
    size_t fi = 0, n_first = 0;
    int64_t ts;
    const char *f;
    size_t len;
    while (feed_tgrec_next(r, &ts, &f, &len) == 1) {
        if (feed_tgrec_is_generated(f, len))
            continue;
        size_t i = fi++;
        if (!memmem(f, len < 64 ? len : 64, c->trade_pre, strlen(c->trade_pre)))
            continue;
        if (c->by_time) {
            size_t n0 = *n;
            rec_time_trades(c, f, ids, g_ts, g_sym, n, cap);
            for (size_t j = n0; j < *n; j++) {
                fr[j] = i;
                *skipped += away(c, i);
                n_first += i < (size_t)c->drop;
            }
            continue;
        }
        const char *t = strstr(f, c->id_key), *in = c->lead_key ? strstr(f, c->lead_key) : NULL;
        assert_non_null(t);
        if (in)
            assert_int_equal(sscanf(in + strlen(c->lead_key), "%31[^\"]", inst[*n]), 1);
        fr[*n] = i;
        ids[(*n)++] = strtoull(t + strlen(c->id_key), NULL, 10);
        *skipped += away(c, i);
        n_first += i < (size_t)c->drop;
    }
    if (first)
        *first = n_first;
    feed_tgrec_close(&r);
    if (c->lead_key)
        *skipped -= leads_received(c, *n, fr, inst, ids);
    free(fr);
    free(inst);
    return ids;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* A by_time trade: id, time, symbol (sorted by id: the first member). */
typedef struct bf_tt {
    uint64_t id;
    int64_t ts;
    char sym[32];
} bf_tt_t;

/* ids[n] sorted, with g_ts/g_sym along. @return the trades in the ids' new order. */
static bf_tt_t *sort_by_id(uint64_t *ids, size_t n)
{
    bf_tt_t *p = calloc(n + 1, sizeof(*p));
    assert_non_null(p);
    for (size_t i = 0; i < n; i++) {
        p[i].id = ids[i];
        p[i].ts = g_ts[i];
        memcpy(p[i].sym, g_sym[i], sizeof(p[i].sym));
    }
    qsort(p, n, sizeof(*p), cmp_u64);
    for (size_t i = 0; i < n; i++)
        ids[i] = p[i].id;
    return p;
}

static long long metric(int port, const char *name)
{
    char *m = itg_http_get(port, "/metrics");
    long long v = m ? itg_metric(m, name, NULL) : -1;
    free(m);
    return v;
}

static void stop(pid_t *p)
{
    itg_stop(p, SIGTERM, 15000);
}

/* The gateway's config: PostgreSQL into schema, trades of c's venue and symbols from the replay
 * at rport, the trade history at rest_port; resume_s: [gateway] backfill_resume_s; redis: the
 * [redis] section (NULL: disabled). */
static void write_cfg(const bf_case_t *c, const char *cfg, const char *schema, int rport,
                      int rest_port, int resume_s, const char *redis)
{
    FILE *f = fopen(cfg, "w");
    assert_non_null(f);
    fprintf(f,
            "[gateway]\nlog_level = info\nbackfill_resume_s = %d\n"
            "[postgres]\nconninfo = %s\nschema = %s\nspill_dir = %s/spill\n"
            "[metrics]\nlisten = 127.0.0.1:0\n"
            "[feed bf]\nvenue = %s\nurl = ws://127.0.0.1:%d/stream\n"
            "rest_url = http://127.0.0.1:%d\nsymbols = %s\nchannels = trades\n"
            "stale_ms = 600000\nreconnect_max_ms = 400\n"
            "rest_weight_per_min = 4294967295\n" /* a local replay: backfill unpaced */
            "%s",
            resume_s, getenv("TG_TEST_PG_DSN"), schema, G.tmp, c->venue, rport, rest_port,
            c->symbols, redis ? redis : "[redis]\nenabled = false\n");
    fclose(f);
}

/* Start the gateway; *mport: its metrics port. */
static pid_t start_gw(const char *cfg, const char *glog, int *mport)
{
    char *gargv[] = {(char *)G.gw_bin, "--config", (char *)cfg, NULL};
    pid_t gw = itg_spawn(gargv, -1, NULL, glog);
    assert_true(gw > 0);
    *mport = 0;
    for (int i = 0; i < 3000 && !*mport && itg_wait(gw, 10) < 0; i++)
        *mport = itg_log_port(glog);
    assert_true(*mport > 0);
    return gw;
}

/* Done when at least min_conns connections were made and rows and backfill counters are steady
 * for 2 s (a request goes out every second while a range is pending). */
static void wait_steady(int mport, long long min_conns, int polls)
{
    long long last = -2;
    int steady = 0;
    for (int64_t end = itg_now_ms() + 150000; itg_now_ms() < end && steady < (polls ? polls : 8);
         itg_sleep_ms(250)) {
        long long conns = metric(mport, "tickgate_feed_connects_total");
        long long rows = metric(mport, "tickgate_pg_rows_committed_total");
        long long sig = rows * 1000003 +
                        metric(mport, "tickgate_feed_backfill_requests_total") * 101 +
                        metric(mport, "tickgate_feed_backfill_failures_total");
        steady = conns >= min_conns && sig == last && rows > 0 ? steady + 1 : 0;
        last = sig;
    }
}

typedef struct pg_check {
    long long rows, distinct;
    size_t missing, extra;
    long long tgaps;         /* trade gap rows (gaps.reason 9 BOOK_GAP_TRADES, 10 _TIME) */
    long long tgaps_time;    /* of them reason 10: bounded by time (BitMEX, Bybit) */
    size_t uncovered;        /* missing ids inside no trade gap row's (seq_last, seq_got) */
    size_t covered;          /* stored ids inside one (a gap row claiming a trade that is there) */
    long long candle_trades; /* trades of the closed 1m candles before the case's candle_cut */
} pg_check_t;

/* Is trade id inside a trade gap row: ids (seq_last, seq_got), exclusive; or, by time (tt:
 * the trade's time and symbol), a row of its symbol with its time in [seq_last, seq_got]
 * (strict: (seq_last, seq_got), for a stored trade: the bounds are the trades around the hole,
 * received). */
static bool in_tgap(PGresult *g, uint64_t id, const bf_tt_t *tt, bool strict)
{
    for (int i = 0; i < PQntuples(g); i++) {
        if (tt) {
            if (strcmp(PQgetvalue(g, i, 2), tt->sym) != 0)
                continue;
            int64_t ts = tt->ts;
            long long lo = strtoll(PQgetvalue(g, i, 0), NULL, 10);
            long long hi = strtoll(PQgetvalue(g, i, 1), NULL, 10);
            if (strict ? ts > lo && ts < hi : ts >= lo && ts <= hi)
                return true;
            continue;
        }
        if (id > strtoull(PQgetvalue(g, i, 0), NULL, 10) &&
            id < strtoull(PQgetvalue(g, i, 1), NULL, 10))
            return true;
    }
    return false;
}

/* The trade ids in schema against the recording's (sorted want; want_ts: their times, by_time
 * venues, else NULL); drops the schema. */
static pg_check_t check_pg(const char *schema, const uint64_t *want, const bf_tt_t *want_tt,
                           size_t n_rec, const char *candle_cut)
{
    pg_check_t k = {0};
    PGconn *a = it_admin();
    assert_non_null(a);
    char sql[512];
    if (candle_cut) {
        snprintf(sql, sizeof(sql),
                 "SELECT coalesce(sum(trades), 0) FROM %s.candles WHERE interval = '1 minute' AND "
                 "start_ts + interval '1 minute' <= '%s'",
                 schema, candle_cut);
        k.candle_trades = it_qi(a, sql);
    }
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.trades", schema);
    k.rows = it_qi(a, sql);
    snprintf(sql, sizeof(sql), "SELECT count(DISTINCT trade_id) FROM %s.trades", schema);
    k.distinct = it_qi(a, sql);
    snprintf(sql, sizeof(sql), "SELECT trade_id FROM %s.trades ORDER BY trade_id", schema);
    PGresult *r = PQexec(a, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    snprintf(sql, sizeof(sql),
             "SELECT g.seq_last, g.seq_got, i.symbol FROM %s.gaps g JOIN %s.instruments i ON "
             "i.id = g.instr WHERE g.reason IN (9, 10)",
             schema, schema);
    PGresult *tg = PQexec(a, sql);
    assert_int_equal(PQresultStatus(tg), PGRES_TUPLES_OK);
    k.tgaps = PQntuples(tg);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.gaps WHERE reason = 10", schema);
    k.tgaps_time = it_qi(a, sql);
    size_t n_got = (size_t)PQntuples(r);
    uint64_t *got = malloc((n_got + 1) * sizeof(*got)); /* as unsigned (hashed ids: any bit) */
    for (size_t j = 0; j < n_got; j++)
        got[j] = strtoull(PQgetvalue(r, (int)j, 0), NULL, 10);
    qsort(got, n_got, sizeof(*got), cmp_u64);
    for (size_t i = 0, j = 0; i < n_rec || j < n_got;) {
        uint64_t g = j < n_got ? got[j] : UINT64_MAX;
        const bf_tt_t *tt = want_tt && i < n_rec ? &want_tt[i] : NULL;
        if (i < n_rec && want[i] < g) {
            k.missing++;
            k.uncovered += !in_tgap(tg, want[i], tt, false);
            i++;
        } else if (i < n_rec && want[i] == g) {
            k.covered += in_tgap(tg, g, tt, true);
            i++;
            j++;
        } else {
            k.extra++;
            j++;
        }
    }
    free(got);
    PQclear(tg);
    PQclear(r);
    snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", schema);
    it_exec(a, sql);
    PQfinish(a);
    return k;
}

/* What a Redis subscriber gets on the trades channel (read back from its stream, which holds
 * every message): one numbering 1..N without a hole over trades and trade_gap documents, the
 * gaps with the ids around each hole; every recorded id is a trade there or inside one gap,
 * none inside both. */
typedef struct rds_check {
    long long trades, tgaps, uncovered, covered, misnumbered;
} rds_check_t;

static rds_check_t check_rds_stream(const char *stream, const uint64_t *want, size_t n_rec)
{
    rds_check_t k = {0};
    redisContext *c = redisConnect("127.0.0.1", atoi(getenv("TG_TEST_REDIS_PORT")));
    assert_true(c && !c->err);
    redisReply *r = redisCommand(c, "XRANGE %s - +", stream);
    assert_true(r && r->type == REDIS_REPLY_ARRAY);
    uint64_t(*gap)[2] = calloc(r->elements + 1, sizeof(*gap));
    uint64_t *ids = calloc(r->elements + 1, sizeof(*ids));
    size_t n_ids = 0, n_gap = 0;
    static test_json_t j;
    for (size_t e = 0; e < r->elements; e++) {
        const redisReply *f = r->element[e]->element[1]; /* [field, value, ...] */
        const redisReply *doc = NULL;
        for (size_t i = 0; i + 1 < f->elements; i += 2)
            if (!strcmp(f->element[i]->str, "doc"))
                doc = f->element[i + 1];
        assert_non_null(doc);
        assert_true(test_json_parse(&j, doc->str, doc->len) > 0);
        char type[16];
        test_json_str(&j, "type", type, sizeof(type));
        k.misnumbered += test_json_u64(&j, "seq") != e + 1;
        if (!strcmp(type, "trade_gap")) {
            gap[n_gap][0] = test_json_u64(&j, "trade_id_last");
            gap[n_gap++][1] = test_json_u64(&j, "trade_id_next");
        } else {
            ids[n_ids++] = test_json_u64(&j, "trade_id");
        }
    }
    k.trades = (long long)n_ids;
    k.tgaps = (long long)n_gap;
    qsort(ids, n_ids, sizeof(*ids), cmp_u64);
    for (size_t i = 0, x = 0; i < n_rec; i++) {
        while (x < n_ids && ids[x] < want[i])
            x++;
        bool stored = x < n_ids && ids[x] == want[i], inside = false;
        for (size_t g = 0; g < n_gap; g++)
            inside |= want[i] > gap[g][0] && want[i] < gap[g][1];
        k.uncovered += !stored && !inside;
        k.covered += stored && inside;
    }
    free(gap);
    free(ids);
    freeReplyObject(r);
    redisFree(c);
    return k;
}

#include "test_it_backfill_okx.h"
#include "test_it_backfill_cc.h"

/* history: the feed's rest_url is the replay (which serves the trade history); else a closed
 * port, so every backfill request fails and is given up. */
static void run(const bf_case_t *c, bool history)
{
    size_t n_rec, skipped;
    uint64_t *want = rec_ids(c, &n_rec, &skipped, NULL);
    bf_tt_t *want_tt = c->by_time ? sort_by_id(want, n_rec) : NULL;
    if (!c->by_time)
        qsort(want, n_rec, sizeof(*want), cmp_u64);
    for (size_t i = 1; i < n_rec; i++) /* the checks compare ids alone */
        assert_true(want[i] > want[i - 1]);
    fprintf(stderr,
            "%s recording: %zu trades; %zu of them are in the %d x %d frames no connection "
            "receives (lost without backfill)\n",
            c->venue, n_rec, skipped, c->drops, c->away);
    assert_true(skipped > 0);

    char path[1024], drop[64], away[16], rlog[400], cfg[400], glog[400], schema[64];
    snprintf(path, sizeof(path), "%s/%s", G.recs, c->rec);
    snprintf(drop, sizeof(drop), "drop-after=%d,times=%d", c->drop, c->drops);
    snprintf(away, sizeof(away), "%d", c->away);
    snprintf(rlog, sizeof(rlog), "%s/replay.log", G.tmp);
    char *rargv[] = {
        (char *)G.replay_bin, "serve", "--port",  "0",  "--quiet", "--hold", "--rate", RATE,
        "--resume",           away,    "--fault", drop, path,      NULL,     NULL};
    if (c->ws_history && !history) { /* no trade_snapshot at a reconnect */
        rargv[12] = "--no-lead";
        rargv[13] = path;
    }
    pid_t replay = 0, gw = 0;
    int rport = itg_replay_start(rargv, rlog, &replay);
    assert_true(rport > 0);

    snprintf(schema, sizeof(schema), "tg_backfill_%s_%d_%d", c->venue, history, (int)getpid());
    for (char *d = strchr(schema, '-'); d; d = strchr(d, '-'))
        *d = '_'; /* bybit-spot: an identifier */
    snprintf(cfg, sizeof(cfg), "%s/gw.ini", G.tmp);
    snprintf(glog, sizeof(glog), "%s/gw.log", G.tmp);
    /* without history, Redis too: the trades channel carries the trade gaps (its stream, read
     * at the end, emptied first: the prefix is the default one) */
    char rds[256];
    const char *stream = c->stream;
    bool redis = !history && stream && getenv("TG_TEST_REDIS_PORT");
    snprintf(rds, sizeof(rds), "[redis]\nport = %s\nstream_trades = 1000000\n",
             redis ? getenv("TG_TEST_REDIS_PORT") : "0");
    if (redis) {
        redisContext *rc = redisConnect("127.0.0.1", atoi(getenv("TG_TEST_REDIS_PORT")));
        assert_true(rc && !rc->err);
        freeReplyObject(redisCommand(rc, "DEL %s", stream));
        redisFree(rc);
    }
    write_cfg(c, cfg, schema, rport, history ? rport : itg_free_port(), 3600, redis ? rds : NULL);
    int mport;
    gw = start_gw(cfg, glog, &mport);
    wait_steady(mport, c->drops + 1, c->steady);
    long long bf_trades = metric(mport, "tickgate_feed_backfill_trades_total");
    long long bf_reqs = metric(mport, "tickgate_feed_backfill_requests_total");
    long long bf_fail = metric(mport, "tickgate_feed_backfill_failures_total");
    long long conns = metric(mport, "tickgate_feed_connects_total");
    long long dups = metric(mport, "tickgate_book_dup_trades_total");
    int64_t t_stop = itg_now_ms();
    stop(&gw);
    t_stop = itg_now_ms() - t_stop;
    if (history && c == &k_okx) {
        char okx_rec[1024];
        snprintf(okx_rec, sizeof(okx_rec), "%s/%s", G.recs, k_okx.rec);
        check_okx_history(rport, okx_rec);
    }
    stop(&replay);

    pg_check_t k = check_pg(schema, want, want_tt, n_rec, history ? c->candle_cut : NULL);
    long long cut_trades = 0;
    int64_t cut = 0;
    if (c->candle_cut) {
        assert_int_equal(feed_iso_ns(c->candle_cut, strlen(c->candle_cut), true, &cut), 0);
        for (size_t i = 0; i < n_rec; i++)
            cut_trades += want_tt[i].ts < cut;
    }
    free(want_tt);
    long long n_pg = k.rows;
    size_t missing = k.missing, extra = k.extra;
    fprintf(stderr,
            "connections %lld; backfill: %lld trades in %lld requests, %lld failures; "
            "PostgreSQL: %lld rows, %lld distinct ids; missing %zu, not in the recording %zu; "
            "%lld trade gap rows, %zu missing ids outside them, %zu stored ids inside; "
            "SIGTERM to exit %lld ms\n",
            conns, bf_trades, bf_reqs, bf_fail, n_pg, k.distinct, missing, extra, k.tgaps,
            k.uncovered, k.covered, (long long)t_stop);
    long long n_distinct = k.distinct;
    char *log = itg_slurp(glog);
    assert_non_null(log);
    assert_true(conns >= c->drops + 1);
    assert_true(t_stop < 10000); /* stop(): killed after 15 s */
    assert_int_equal(extra, 0);
    if (!history) { /* what a gateway without trade history loses: exactly the skipped trades */
        assert_int_equal(missing, skipped);
        assert_int_equal(n_pg, (long long)(n_rec - skipped));
        assert_int_equal(bf_trades, 0);
        assert_true(bf_fail >= 3);
        assert_non_null(strstr(log, c->lost_log ? c->lost_log : "trade backfill given up"));
        /* and PostgreSQL says where: each lost range is a trade gap row */
        assert_true(k.tgaps > 0);
        /* by time: every row says its bounds are times (reason 10), never ids (9) */
        assert_int_equal(k.tgaps_time, c->by_time ? k.tgaps : 0);
        assert_int_equal(k.uncovered, 0);
        assert_int_equal(k.covered, 0);
        if (redis) { /* and a Redis subscriber is told the same, in the channel's numbering */
            rds_check_t q = check_rds_stream(stream, want, n_rec);
            fprintf(stderr,
                    "Redis trades channel (its stream): %lld trades, %lld trade_gap documents, "
                    "%lld numbered out of order, %lld lost ids outside a gap, %lld inside one\n",
                    q.trades, q.tgaps, q.misnumbered, q.uncovered, q.covered);
            assert_int_equal(q.trades, n_pg);
            assert_int_equal(q.tgaps, k.tgaps);
            assert_int_equal(q.misnumbered, 0);
            assert_int_equal(q.uncovered, 0);
            assert_int_equal(q.covered, 0);
        }
        free(log);
        free(want);
        return;
    }
    if (missing || n_pg != (long long)n_rec)
        fprintf(stderr, "tickgate log:\n%s\n", log);
    else
        assert_non_null(strstr(log, c->done_log  ? c->done_log
                                    : c->by_time ? "trade backfill times"
                                                 : "trade backfill ids"));
    free(log);
    assert_int_equal(missing, 0);
    assert_int_equal(extra, 0);
    assert_int_equal(n_pg, (long long)n_rec);
    assert_int_equal(n_distinct, (long long)n_rec);
    assert_true(bf_trades >= (long long)skipped);
    assert_int_equal(bf_fail, 0);
    assert_int_equal(k.tgaps, 0);   /* every range fetched: no trade gap */
    if (history && c->candle_cut) { /* the boundary trades fetched again: dropped by the dedup */
        fprintf(stderr,
                "builder: %lld re-delivered trades dropped; closed 1m candles before %s: %lld "
                "trades, the recording has %lld there\n",
                dups, c->candle_cut, k.candle_trades, cut_trades);
        assert_true(dups > 0);
        /* a trade after its candle closed (a backfilled one) goes to the current candle
           (book_candle.h): not each in its own minute, so a bound, not an equality */
        assert_true(k.candle_trades > 0 && k.candle_trades <= cut_trades);
    }
    free(want);
}

/* A gateway stopped and started again while the venue goes on (one timeline: the second
 * connection starts restart_away frames after the first stopped). resume_s > 0: the second
 * gateway starts its trade backfill after the last trade PostgreSQL holds, so every trade of
 * the recording is stored once; resume_s = 0: exactly the trades published while no gateway
 * ran are missing (what the resume point is for).
 * The stop point is fixed: the replay stalls after frame restart_at on the first connection
 * (--fault stall, longer than the wait here) and the first gateway is stopped once it has
 * received (tickgate_feed_trades_total, not the rows committed: PostgreSQL lags under load)
 * every trade of those frames. With a stop on committed rows a commit lag of ~6 s let the replay
 * publish the whole recording before the SIGTERM: nothing was left to skip, no trade missing.
 * So the precondition, checked and named when it fails: the first gateway got exactly those
 * trades on one connection and the replay skipped exactly frames restart_at + 1 ..
 * restart_at + restart_away (its --verbose line). The stop point being fixed, the pace is
 * free: RESTART_RATE keeps the six cases short. */
/* by_time: a copy of c's recording at out whose trade times (every value after ts_key) are
 * moved by one shift so that its last one is 10 minutes ago: a resume point by time counts only
 * trades of the last backfill_resume_s seconds (their exchange time bounds the partitions
 * read), and the recordings are older. The frames are otherwise the same (ids, order). */
static void retime(const bf_case_t *c, char *out, size_t cap)
{
    char in[1024], cmd[1200];
    snprintf(in, sizeof(in), "%s/%s", G.recs, c->rec);
    snprintf(out, cap, "%s/retimed-%s.tgrec", G.tmp, c->venue);
    int64_t last = 0, shift = 0;
    for (int pass = 0; pass < 2; pass++) {
        snprintf(cmd, sizeof(cmd), "zstd -dcf '%s'", in);
        FILE *f = popen(cmd, "r"), *o = pass ? fopen(out, "w") : NULL;
        assert_true(f && (!pass || o));
        char *line = NULL;
        size_t lcap = 0;
        ssize_t n;
        while ((n = getline(&line, &lcap, f)) > 0) {
            char *p = line;
            for (char *k; line[0] != '#' && (k = strstr(p, c->ts_key)) != NULL;) {
                char *v = k + strlen(c->ts_key);
                size_t len = c->ts_ms ? strspn(v, "0123456789") : strcspn(v, "\"");
                int64_t ns = 0;
                if (c->ts_ms && len == 13)
                    ns = strtoll(v, NULL, 10) * 1000000;
                else if (!c->ts_ms && len == 24 && feed_iso_ns(v, len, true, &ns) < 0)
                    ns = 0;
                p = v + len;
                if (!ns)
                    continue;
                if (!pass) {
                    last = ns > last ? ns : last;
                    continue;
                }
                int64_t ms = (ns + shift) / 1000000;
                char t[64];
                if (c->ts_ms) {
                    snprintf(t, sizeof(t), "%013lld", (long long)ms);
                } else {
                    time_t sec = (time_t)(ms / 1000);
                    struct tm tm;
                    gmtime_r(&sec, &tm);
                    snprintf(t, sizeof(t), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                             (int)(ms % 1000));
                }
                assert_int_equal(strlen(t), len);
                memcpy(v, t, len);
            }
            if (pass)
                fwrite(line, 1, (size_t)n, o);
        }
        free(line);
        assert_int_equal(pclose(f), 0);
        if (o)
            assert_int_equal(fclose(o), 0);
        assert_true(last > 0);
        /* whole ms: the texts keep their digits */
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        shift = ((int64_t)now.tv_sec * 1000 - 600000) * 1000000 - last;
        shift -= shift % 1000000;
    }
}

#define RESTART_STALL_MS 120000
#define RESTART_RATE     "20000"
static void run_restart(const bf_case_t *venue, int resume_s)
{
    bf_case_t c = *venue; /* the timeline as one drop: what rec_ids counts */
    c.drops = 1;
    c.drop = venue->restart_at;
    c.away = venue->restart_away;
    size_t n_rec, skipped, first;
    uint64_t *want = rec_ids(&c, &n_rec, &skipped, &first);
    qsort(want, n_rec, sizeof(*want), cmp_u64);
    fprintf(stderr,
            "%s restart: %zu trades; the first gateway receives the %zu of frames 1..%d, %zu are "
            "in the %d frames published while no gateway runs (lost without a resume point)\n",
            c.venue, n_rec, first, c.drop, skipped, c.away);
    assert_true(first > 0);
    assert_true(skipped > 0);
    char path[1024], away[16], stall[64], rlog[400], cfg[400], glog[2][400], schema[64];
    snprintf(path, sizeof(path), "%s/%s", G.recs, c.rec);
    if (c.by_time)
        retime(&c, path, sizeof(path));
    snprintf(away, sizeof(away), "%d", c.away);
    snprintf(stall, sizeof(stall), "stall=%d@%d,times=1", RESTART_STALL_MS, c.drop);
    snprintf(rlog, sizeof(rlog), "%s/replay-restart-%s-%d.log", G.tmp, c.venue, resume_s);
    char *rargv[] = {(char *)G.replay_bin,
                     "serve",
                     "--port",
                     "0",
                     "--quiet",
                     "--verbose", /* the frames published while away */
                     "--hold",
                     "--rate",
                     RESTART_RATE,
                     "--resume",
                     away,
                     "--fault",
                     stall,
                     path,
                     NULL};
    pid_t replay = 0, gw = 0;
    int rport = itg_replay_start(rargv, rlog, &replay);
    assert_true(rport > 0);
    snprintf(schema, sizeof(schema), "tg_backfill_restart_%s_%d_%d", c.venue, resume_s,
             (int)getpid());
    snprintf(cfg, sizeof(cfg), "%s/gw-restart.ini", G.tmp);
    write_cfg(&c, cfg, schema, rport, rport, resume_s, NULL);
    long long got = 0, conns = 0, bf_trades = 0;
    for (int run = 0; run < 2; run++) {
        snprintf(glog[run], sizeof(glog[run]), "%s/gw-restart-%s-%d-%d.log", G.tmp, c.venue,
                 resume_s, run);
        int mport;
        gw = start_gw(cfg, glog[run], &mport);
        if (run == 0) { /* every trade before the stall, then SIGTERM */
            for (int64_t end = itg_now_ms() + 60000; itg_now_ms() < end && got < (long long)first;
                 itg_sleep_ms(50))
                got = metric(mport, "tickgate_feed_trades_total");
            conns = metric(mport, "tickgate_feed_connects_total");
        } else {
            wait_steady(mport, 1, c.steady);
            bf_trades = metric(mport, "tickgate_feed_backfill_trades_total");
        }
        stop(&gw);
    }
    stop(&replay);
    pg_check_t k = check_pg(schema, want, NULL, n_rec, NULL);
    fprintf(stderr,
            "restart (%s, backfill_resume_s = %d): first gateway received %lld trades, %lld "
            "connects, before SIGTERM; second: %lld trades backfilled; PostgreSQL: %lld rows, "
            "%lld distinct, missing %zu, not in the recording %zu\n",
            c.venue, resume_s, got, conns, bf_trades, k.rows, k.distinct, k.missing, k.extra);
    char *rl = itg_slurp(rlog), line[128];
    assert_non_null(rl);
    snprintf(line, sizeof(line), "frames %d..%d published while away (not sent)", c.drop + 1,
             c.drop + c.away);
    const char *seen = strstr(rl, "published while away"), *bol = seen;
    while (bol && bol > rl && bol[-1] != '\n')
        bol--;
    if (got != (long long)first || conns != 1 || !strstr(rl, line))
        fail_msg("precondition: the first gateway was to receive the %zu trades of frames 1..%d "
                 "on one connection (it got %lld on %lld) and the replay to log \"%s\" at the "
                 "restart; it logged: %.*s",
                 first, c.drop, got, conns, line, bol ? (int)strcspn(bol, "\n") : 20,
                 bol ? bol : "no frame skipped");
    free(rl);
    char *log = itg_slurp(glog[1]);
    assert_non_null(log);
    assert_int_equal(k.extra, 0);
    assert_int_equal(k.rows, k.distinct);
    /* by time: from the newest stored trade's time on, inclusive (the trades at a boundary
       time come again: fetched, then dropped by their ids) */
    const char *resumed = c.by_time ? "resuming trades from the last stored time"
                                    : "resuming trades after the last stored id";
    if (resume_s) {
        if (k.missing)
            fprintf(stderr, "second gateway's log:\n%s\n", log);
        assert_non_null(strstr(log, resumed));
        if (c.by_time) { /* the start-up line counts the kind the venue has, and only it */
            assert_non_null(strstr(log, "resume after their last stored trade (received within "
                                        "3600 s): 0 by trade id, "));
            assert_null(strstr(log, "3600 s): 0 by trade id, 0 by time"));
        }
        assert_int_equal(k.missing, 0);
        assert_int_equal(k.rows, (long long)n_rec);
        if (c.by_time) /* the downtime's and the boundary ones */
            assert_true(bf_trades >= (long long)skipped);
        else
            assert_int_equal(bf_trades, (long long)skipped); /* exactly the downtime's */
        assert_int_equal(k.tgaps, 0);
    } else { /* the trades of the restart_away frames are gone, exactly those */
        assert_null(strstr(log, resumed));
        assert_int_equal(k.missing, skipped);
        assert_int_equal(k.rows, (long long)(n_rec - skipped));
        assert_int_equal(bf_trades, 0);
    }
    free(log);
    free(want);
}

/* One row of the table below: a venue, and either a run with forced disconnects (history:
 * the handler may fetch trade history) or a restart (restart, resume_s). */
typedef struct bf_row {
    const bf_case_t *venue;
    bool restart, history;
    int resume_s;
} bf_row_t;

static void run_row(void **st)
{
    const bf_row_t *r = *st;
    if (r->restart)
        run_restart(r->venue, r->resume_s);
    else
        run(r->venue, r->history);
}

#define DISCONNECTS(v, h) (&(bf_row_t){.venue = &(v), .history = (h)})
#define RESTART(v, s)     (&(bf_row_t){.venue = &(v), .restart = true, .resume_s = (s)})

int main(void)
{
    G.gw_bin = getenv("TG_GATEWAY_BIN");
    G.replay_bin = getenv("TG_REPLAY_BIN");
    G.recs = getenv("TG_RECORDINGS");
    if (!getenv("TG_TEST_PG_DSN") || !G.gw_bin || !G.replay_bin || !G.recs) {
        fprintf(stderr, "TG_TEST_PG_DSN, TG_GATEWAY_BIN, TG_REPLAY_BIN, TG_RECORDINGS: skipped\n");
        return 77;
    }
    snprintf(G.tmp, sizeof(G.tmp), "/tmp/tg-backfill-XXXXXX");
    assert_non_null(mkdtemp(G.tmp));
    if (getenv("TG_TEST_FILTER")) /* e.g. '*restart*' */
        cmocka_set_test_filter(getenv("TG_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        TU_CASE(test_twenty_disconnects_every_trade_stored_exactly_once, run_row,
                DISCONNECTS(k_binance, true)),
        TU_CASE(test_without_trade_history_exactly_the_trades_published_while_away_are_lost,
                run_row, DISCONNECTS(k_binance, false)),
        TU_CASE(test_a_restart_resumes_after_the_last_stored_trade, run_row,
                RESTART(k_binance, 3600)),
        TU_CASE(test_without_a_resume_point_a_restart_loses_the_trades_of_the_downtime, run_row,
                RESTART(k_binance, 0)),
        TU_CASE(test_coinbase_five_disconnects_every_match_stored_exactly_once, run_row,
                DISCONNECTS(k_coinbase, true)),
        TU_CASE(test_coinbase_without_trade_history_the_matches_published_while_away_are_lost,
                run_row, DISCONNECTS(k_coinbase, false)),
        TU_CASE(test_okx_five_disconnects_every_trade_stored_exactly_once, run_row,
                DISCONNECTS(k_okx, true)),
        TU_CASE(test_okx_without_trade_history_the_trades_published_while_away_are_lost, run_row,
                DISCONNECTS(k_okx, false)),
        TU_CASE(test_coinbase_a_restart_resumes_after_the_last_stored_match, run_row,
                RESTART(k_coinbase, 3600)),
        TU_CASE(test_coinbase_without_a_resume_point_a_restart_loses_the_matches_of_the_downtime,
                run_row, RESTART(k_coinbase, 0)),
        TU_CASE(test_bitmex_four_disconnects_every_trade_stored_exactly_once, run_row,
                DISCONNECTS(k_bitmex, true)),
        TU_CASE(test_bitmex_without_trade_history_the_lost_trades_are_inside_time_bounded_gaps,
                run_row, DISCONNECTS(k_bitmex, false)),
        TU_CASE(test_bybit_five_disconnects_every_trade_stored_exactly_once, run_row,
                DISCONNECTS(k_bybit, true)),
        TU_CASE(test_bybit_without_trade_history_the_lost_trades_are_inside_time_bounded_gaps,
                run_row, DISCONNECTS(k_bybit, false)),
        TU_CASE(test_bybit_spot_three_disconnects_every_trade_stored_exactly_once, run_row,
                DISCONNECTS(k_bybit_spot, true)),
        TU_CASE(test_bybit_spot_without_trade_history_the_lost_trades_are_inside_time_bounded_gaps,
                run_row, DISCONNECTS(k_bybit_spot, false)),
        TU_CASE(test_cryptofacilities_three_disconnects_every_trade_stored_exactly_once, run_row,
                DISCONNECTS(k_cryptofacilities, true)),
        TU_CASE(test_cryptofacilities_without_trade_snapshot_the_lost_trades_are_inside_time_gaps,
                run_row, DISCONNECTS(k_cryptofacilities, false)),
        TU_CASE(test_okx_a_restart_resumes_after_the_last_stored_trade, run_row,
                RESTART(k_okx, 3600)),
        TU_CASE(test_okx_without_a_resume_point_a_restart_loses_the_trades_of_the_downtime, run_row,
                RESTART(k_okx, 0)),
        TU_CASE(test_bitmex_a_restart_resumes_from_the_last_stored_trade_time, run_row,
                RESTART(k_bitmex, 3600)),
        TU_CASE(test_bitmex_without_a_resume_point_a_restart_loses_the_trades_of_the_downtime,
                run_row, RESTART(k_bitmex, 0)),
        TU_CASE(test_bybit_a_restart_resumes_from_the_last_stored_trade_time, run_row,
                RESTART(k_bybit, 3600)),
        TU_CASE(test_bybit_without_a_resume_point_a_restart_loses_the_trades_of_the_downtime,
                run_row, RESTART(k_bybit, 0)),
        TU_CASE(test_crypto_com_subscribe_pushes, test_crypto_com_subscribe_pushes, (void *)&k_cc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
