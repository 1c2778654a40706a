/* SPDX-License-Identifier: MIT */
/*
 * Bitget handler (feeds/venues/feed_bitget.c), venues `bitget` and `bitget-futures`, API v1 and
 * v2: the recorded v1 spot session (../shared/recordings/bitget) against the recordings' own
 * checker (expected-ref: exact final books, level counts, trade counts) and against a naive
 * text scan of its trade frames; every recorded checksum verified on our book; a corrupted
 * level caught by the next checksum; synthetic v1/v2 spot and futures frames for the sync rules
 * (updates before the snapshot and replayed seq dropped, a bad level -> GAP + resubscribe in
 * the connection's API version, a builder resync request -> resubscribe, checksums computed
 * here from the strings as sent), subscribes, pings, the API fallback after an error, bad input
 * counted, exact values from 1e-12 to 1e12 at any number of places, and 25k+ mutated frames.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/fixtures/venue_harness.h"
#include "book/tg_dec.h"
#include "book/tg_resync.h"
#include "feeds/feed_checksum.h"
#include "feeds/venues/venues.h"

#define BG_REC "bitget/cryptofeed_ce58c2a0_BITGET.ws.1.tgrec.zst"
#define BG_REF "../expected-ref/cryptofeed_ce58c2a0_BITGET.ws.1.tgrec.zst.result.json"

static uint32_t id_of(feed_offline_t *o, const char *sym)
{
    int64_t id = tg_instr_reg_find(o->reg, o->h.venue_id, sym, strlen(sym));
    assert_true(id >= 0);
    return (uint32_t)id;
}

/* The recording of an opened driver as text again (the reader put NULs at the line ends). */
static char *text_of(const feed_offline_t *o, size_t *len)
{
    char *t = malloc(o->rec->len + 1);
    assert_non_null(t);
    for (size_t i = 0; i < o->rec->len; i++)
        t[i] = o->rec->buf[i] ? o->rec->buf[i] : '\n';
    t[o->rec->len] = 0;
    *len = o->rec->len;
    return t;
}

/* Feed a frame whose "checksum":%ld is Bitget's checksum (signed int32) of ck_text, a text built
 * here from the strings as sent; returns the handler's rc. */
static int feed_ck(feed_offline_t *o, const char *fmt, const char *ck_text)
{
    char f[1024];
    snprintf(f, sizeof(f), fmt, (long)(int32_t)feed_crc32(0, ck_text, strlen(ck_text)));
    return vh_feed1(o, f);
}

/* ---- venue table --------------------------------------------------------------------------- */

static void test_bitget_both_ids_are_found_with_limits_and_variants(void **state)
{
    const feed_venue_t *s = feed_venue_find("bitget"), *f = feed_venue_find("bitget-futures");
    assert_ptr_equal(s, &feed_venue_bitget);
    assert_ptr_equal(f, &feed_venue_bitget_futures);
    assert_non_null(s->on_frame);
    assert_ptr_equal(s->on_frame, f->on_frame);
    assert_int_not_equal(s->variant, f->variant);
    assert_true(s->max_symbols_per_conn > 0 && s->max_symbols_per_conn <= 50);
    assert_int_equal(s->max_sends_per_s, 10);
    assert_int_equal(f->max_sends_per_s, 10);
}

/* ---- the recording ------------------------------------------------------------------------- */

/* README: CRC32 checksum verified 443/443 messages (8 snapshots + 435 updates) */
static void test_bitget_v1_every_recorded_checksum_matches_our_book(void **state)
{
    feed_offline_t *o = NULL;
    vrun_t *v = vh_run_checksums(vh_rec(BG_REC), 443, &o);
    assert_int_equal(TG_STAT_GET(o->stats.checksum_msgs), 443);
    assert_int_equal(TG_STAT_GET(o->stats.snapshots), 8);
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 0);
    /* 443 book + 30 trade frames handled; 32 acks, 128 tickers, 43 candles, 8 trade
     * snapshots (history) unhandled */
    assert_int_equal(TG_STAT_GET(o->stats.handled), 473);
    assert_int_equal(TG_STAT_GET(o->stats.unhandled), 32 + 128 + 43 + 8);
    for (uint32_t i = 0; i < o->h.n_instr; i++)
        assert_int_equal(v->snapshots[o->h.instr[i]], 1);
    vrun_close(&o, v);
}

static void test_bitget_v1_books_and_trades_equal_the_reference(void **state)
{
    oracle_t orc;
    feed_offline_t *o = NULL;
    vrun_t *v = vh_oracle_run(BG_REF, BG_REC, &orc, &o);
    assert_int_equal(vh_oracle_books(v, o, &orc, 10, VH_OC_TRADES), 30);
    vrun_close(&o, v);
    oracle_free(&orc);
}

/* Every recorded trade update, read with a plain text scan (no JSON parser), equals the
 * emitted trade in order: symbol, exact price and size, taker side, time. */
static void test_bitget_v1_trade_arrays_are_emitted_exactly_with_taker_side(void **state)
{
    size_t len = 0;
    vh_ev_t b = {0};
    assert_int_equal(feed_offline_open(&b.o, vh_rec(BG_REC), NULL, NULL, 0), 0);
    vh_ev_attach(&b);
    feed_offline_t *o = b.o;
    assert_int_equal(feed_offline_run(o, vh_ev_sink, &b), 0);
    char *text = text_of(o, &len);
    size_t te = 0;
    long seen = 0;
    const char *key = "\"channel\":\"trade\",\"instId\":\"";
    for (const char *p = text; (p = fv_find(p, "\"action\":\"update\",\"arg\":{\"instType\":\"sp\","
                                               "\"channel\":\"trade\"")) != NULL;
         p++) {
        const char *q = fv_in_line(p, key) + strlen(key);
        char sym[32];
        size_t sl = (size_t)(strchr(q, '"') - q);
        memcpy(sym, q, sl);
        sym[sl] = 0;
        const char *d = fv_in_line(q, "\"data\":[[\"") + 10;
        char f[4][64];
        for (int i = 0; i < 4; i++) {
            const char *e = strchr(d, '"');
            memcpy(f[i], d, (size_t)(e - d));
            f[i][e - d] = 0;
            d = e + 3; /* "," */
        }
        while (te < b.n_ev && b.ev[te].kind != TG_EV_TRADE)
            te++;
        assert_true(te < b.n_ev);
        const tg_event_t *ev = &b.ev[te++];
        const tg_instr_t *in = tg_instr_reg_get(o->reg, ev->instr);
        assert_string_equal(in->symbol, sym);
        char want[128], got[TG_DEC_STR_MAX];
        vh_dec_norm(f[1], want);
        tg_dec_format(ev->price, ev->px_scale, got);
        assert_string_equal(got, want);
        vh_dec_norm(f[2], want);
        tg_dec_format(ev->size, ev->sz_scale, got);
        assert_string_equal(got, want);
        assert_int_equal(ev->side, strcmp(f[3], "buy") == 0 ? TG_SIDE_BUY : TG_SIDE_SELL);
        assert_int_equal(ev->ts_exch, strtoll(f[0], NULL, 10) * 1000000);
        assert_true(ev->flags & TG_EVF_LAST);
        seen++;
    }
    assert_int_equal(seen, 30);
    while (te < b.n_ev && b.ev[te].kind != TG_EV_TRADE)
        te++;
    assert_int_equal(te, b.n_ev); /* no other trade (the 8 history snapshots are not trades) */
    free(text);
    vh_ev_close(&b);
}

static void test_bitget_v1_corrupted_snapshot_level_fails_the_next_checksum(void **state)
{
    feed_offline_t *o = vh_rec_open(BG_REC);
    size_t len = 0;
    char *text = text_of(o, &len);
    /* EOSUSDT snapshot: best ask 2.4400 x 195.6669 -> 195.6668 */
    char *p = strstr(text, "\"action\":\"snapshot\",\"arg\":{\"instType\":\"sp\",\"channel\":"
                           "\"books\",\"instId\":\"EOSUSDT\"}");
    assert_non_null(p);
    p = strstr(p, "[\"2.4400\",\"195.6669\"]");
    assert_non_null(p);
    p[18] = '8';
    vrun_t *v = calloc(1, sizeof(*v));
    vrun_init(v, o->reg);
    vrun_run_text(o, text, len, v);
    uint32_t id = id_of(o, "EOSUSDT");
    assert_true(v->ck_bad_instr[id] > 0);
    assert_int_equal(v->ck_bad, v->ck_bad_instr[id]); /* no other instrument */
    assert_int_equal(v->ck_ok + v->ck_bad, 443);
    free(text);
    vrun_close(&o, v);
}

/* ---- synthetic frames ---------------------------------------------------------------------- */

#define V2S(act, chan, inst)                                                                       \
    "{\"action\":\"" act "\",\"arg\":{\"instType\":\"SPOT\",\"channel\":\"" chan                   \
    "\",\"instId\":\"" inst "\"},\"data\":["
#define V2F(act, chan, inst)                                                                       \
    "{\"action\":\"" act "\",\"arg\":{\"instType\":\"USDT-FUTURES\","                              \
    "\"channel\":\"" chan "\",\"instId\":\"" inst "\"},\"data\":["
#define V1F(act, chan, inst)                                                                       \
    "{\"action\":\"" act "\",\"arg\":{\"instType\":\"mc\",\"channel\":\"" chan                     \
    "\",\"instId\":\"" inst "\"},\"data\":["

static void test_bitget_v2_checksum_of_padded_strings_and_seq_replays(void **state)
{
    vh_ev_t b;
    vh_ev_open(&b, "bitget", "BTCUSDT", NULL);
    feed_offline_t *o = b.o;
    uint32_t id = id_of(o, "BTCUSDT");
    /* an update before any snapshot: dropped */
    assert_int_equal(vh_feed1(o, V2S("update", "books",
                                     "BTCUSDT") "{\"asks\":[[\"27000.50\",\"9.000\"]],\"bids\":[],"
                                                "\"checksum\":5,\"seq\":99,\"ts\":\"1\"}]}"),
                     0);
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 1);
    assert_int_equal(b.v->book[id].ask.n, 0);
    /* snapshot: checksum over the strings as sent, padded */
    const char *t1 = "26999.00:0.300:27000.50:1.000:26998.10:12.000:27001.00:2.500";
    assert_int_equal(feed_ck(o,
                             V2S("snapshot", "books",
                                 "BTCUSDT") "{\"asks\":[[\"27000.50\",\"1.000\"],[\"27001.00\","
                                            "\"2.500\"]],\"bids\":[[\"26999.00\",\"0.300\"],"
                                            "[\"26998.10\",\"12.000\"]],\"checksum\":%ld,"
                                            "\"seq\":100,\"ts\":\"1695716059516\"}],\"ts\":"
                                            "1695716059516}",
                             t1),
                     0);
    assert_int_equal(b.v->ck_ok, 1);
    assert_int_equal(b.v->ck_bad, 0);
    assert_int_equal(b.v->book[id].bid.n, 2);
    /* update seq 101: best ask deleted, a bid changed */
    const char *t2 = "26999.00:0.350:27001.00:2.500:26998.10:12.000";
    assert_int_equal(
        feed_ck(o,
                V2S("update", "books", "BTCUSDT") "{\"asks\":[[\"27000.50\",\"0\"]],\"bids\":[["
                                                  "\"26999.00\",\"0.350\"]],\"checksum\":%ld,"
                                                  "\"seq\":101,\"ts\":\"1695716059616\"}]}",
                t2),
        0);
    assert_int_equal(b.v->ck_ok, 2);
    assert_int_equal(b.v->book[id].ask.n, 1);
    assert_int_equal(b.v->book[id].bid.sz[0], 35000000); /* 0.35 at scale 8 */
    /* the same seq again, and an older one: replays, dropped, book unchanged */
    assert_int_equal(vh_feed1(o, V2S("update", "books",
                                     "BTCUSDT") "{\"asks\":[[\"27001.00\",\"0\"]],\"bids\":[],"
                                                "\"checksum\":1,\"seq\":101,\"ts\":\"2\"}]}"),
                     0);
    assert_int_equal(vh_feed1(o, V2S("update", "books",
                                     "BTCUSDT") "{\"asks\":[[\"27001.00\",\"0\"]],\"bids\":[],"
                                                "\"checksum\":1,\"seq\":60,\"ts\":\"2\"}]}"),
                     0);
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 3);
    assert_int_equal(b.v->book[id].ask.n, 1);
    assert_int_equal(b.v->ck_ok + b.v->ck_bad, 2);
    /* a wrong checksum reaches the builder (it fails there and asks for a resync) */
    assert_int_equal(feed_ck(o,
                             V2S("update", "books",
                                 "BTCUSDT") "{\"asks\":[],\"bids\":[[\"26999.00\",\"0.400\"]],"
                                            "\"checksum\":%ld,\"seq\":102,\"ts\":\"3\"}]}",
                             t2),
                     0);
    assert_int_equal(b.v->ck_bad, 1);
    /* the events of a message carry seq and the exchange time; CHECKSUM ends the message */
    const tg_event_t *last = &b.ev[b.n_ev - 1];
    assert_int_equal(last->kind, TG_EV_CHECKSUM);
    assert_true(last->flags & TG_EVF_LAST);
    assert_int_equal(last->seq, 102);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 0);
    assert_int_equal(vrun_accounted(&o->stats), TG_STAT_GET(o->stats.frames));
    vh_ev_close(&b);
}

static void test_bitget_builder_resync_request_resubscribes_in_the_connection_version(void **state)
{
    vh_ev_t b;
    vh_ev_open(&b, "bitget-futures", "BTCUSDT,ETHUSDT", NULL);
    feed_offline_t *o = b.o;
    tg_resync_t *rs = calloc(1, sizeof(*rs));
    o->h.resync = rs;
    assert_int_equal(o->venue->on_open(&o->h), 0);
    /* v2 subscribes by default: futures instType, books + trade for both symbols, one frame */
    assert_int_equal(vh_n_sent, 1);
    assert_non_null(strstr(vh_sent[0], "\"op\":\"subscribe\""));
    assert_non_null(strstr(vh_sent[0], "{\"instType\":\"USDT-FUTURES\",\"channel\":\"books\","
                                       "\"instId\":\"BTCUSDT\"}"));
    assert_non_null(strstr(vh_sent[0], "{\"instType\":\"USDT-FUTURES\",\"channel\":\"trade\","
                                       "\"instId\":\"ETHUSDT\"}"));
    /* a v1 (mix) frame tells the version: the resubscribe then speaks v1 */
    const char *snap = V1F("snapshot", "books", "ETHUSDT") "{\"asks\":[[\"1850.25\",\"3.1\"]],"
                                                           "\"bids\":[[\"1850.00\",\"2.0\"]],"
                                                           "\"checksum\":0,\"ts\":\"5\"}]}";
    assert_int_equal(vh_feed1(o, snap), 0);
    uint32_t eth = id_of(o, "ETHUSDT");
    tg_resync_request(rs, eth);
    vh_n_sent = 0;
    o->venue->on_tick(&o->h, 5 * 1000000000LL);
    assert_int_equal(vh_n_sent, 2);
    assert_string_equal(vh_sent[0], "{\"op\":\"unsubscribe\",\"args\":[{\"instType\":\"MC\","
                                    "\"channel\":\"books\",\"instId\":\"ETHUSDT\"}]}");
    assert_string_equal(vh_sent[1], "{\"op\":\"subscribe\",\"args\":[{\"instType\":\"MC\","
                                    "\"channel\":\"books\",\"instId\":\"ETHUSDT\"}]}");
    assert_int_equal(TG_STAT_GET(o->stats.resyncs), 1);
    /* updates until the new snapshot are dropped */
    assert_int_equal(vh_feed1(o,
                              V1F("update", "books", "ETHUSDT") "{\"asks\":[[\"1850.25\",\"0\"]],"
                                                                "\"bids\":[],\"ts\":\"6\"}]}"),
                     0);
    assert_int_equal(TG_STAT_GET(o->stats.stale_dropped), 1);
    assert_int_equal(b.v->book[eth].ask.n, 1);
    /* no second request: nothing sent */
    vh_n_sent = 0;
    o->venue->on_tick(&o->h, 7 * 1000000000LL);
    assert_int_equal(vh_n_sent, 0);
    free(rs);
    o->h.resync = NULL;
    vh_ev_close(&b);
}

static void test_bitget_bad_level_emits_gap_and_resubscribes(void **state)
{
    vh_ev_t b;
    vh_ev_open(&b, "bitget", "EOSUSDT", NULL);
    feed_offline_t *o = b.o;
    uint32_t id = id_of(o, "EOSUSDT");
    const char *snap =
        "{\"action\":\"snapshot\",\"arg\":{\"instType\":\"sp\",\"channel\":\"books\","
        "\"instId\":\"EOSUSDT\"},\"data\":[{\"asks\":[[\"2.4400\",\"195.6669\"]],"
        "\"bids\":[[\"2.4367\",\"10.0000\"]],\"checksum\":0,\"ts\":\"1\"}]}";
    assert_int_equal(vh_feed1(o, snap), 0);
    assert_int_equal(b.v->snapshots[id], 1);
    vh_n_sent = 0;
    /* second level unreadable: nothing of the message applied, GAP, v1 resubscribe */
    const char *bad = "{\"action\":\"update\",\"arg\":{\"instType\":\"sp\",\"channel\":\"books\","
                      "\"instId\":\"EOSUSDT\"},\"data\":[{\"asks\":[[\"2.4401\",\"1.0000\"],"
                      "[\"2.44x\",\"1\"]],\"bids\":[],\"checksum\":1,\"ts\":\"2\"}]}";
    assert_int_equal(vh_feed1(o, bad), TG_EDEC_SYNTAX);
    assert_int_equal(TG_STAT_GET(o->stats.err_decimal), 1);
    assert_int_equal(b.v->gaps[id], 1);
    assert_int_equal(b.v->last_gap.kind, TG_EV_GAP);
    assert_true(b.v->last_gap.flags & TG_EVF_LAST);
    assert_int_equal(b.v->book[id].ask.n, 1); /* 2.4401 not applied */
    assert_int_equal(vh_n_sent, 2);
    assert_non_null(strstr(vh_sent[0], "\"op\":\"unsubscribe\""));
    assert_non_null(strstr(vh_sent[1], "{\"instType\":\"SP\",\"channel\":\"books\",\"instId\":"
                                       "\"EOSUSDT\"}"));
    /* a price of zero and a field of the wrong type are errors too */
    assert_int_equal(vh_feed1(o, snap), 0);
    assert_int_equal(vh_feed1(o, "{\"action\":\"update\",\"arg\":{\"instType\":\"sp\",\"channel\":"
                                 "\"books\",\"instId\":\"EOSUSDT\"},\"data\":[{\"asks\":[[\"0\","
                                 "\"1\"]],\"bids\":[]}]}"),
                     TG_EDEC_SYNTAX);
    assert_int_equal(vh_feed1(o, snap), 0);
    assert_int_equal(vh_feed1(o, "{\"action\":\"update\",\"arg\":{\"instType\":\"sp\",\"channel\":"
                                 "\"books\",\"instId\":\"EOSUSDT\"},\"data\":[{\"asks\":[[\"2.5\","
                                 "{}]],\"bids\":[]}]}"),
                     TG_EFIELD);
    assert_int_equal(b.v->gaps[id], 3);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 3);
    assert_int_equal(vrun_accounted(&o->stats), TG_STAT_GET(o->stats.frames));
    vh_ev_close(&b);
}

/* Resubscribes beyond 10 frames per second wait for on_tick. */
static void test_bitget_resubscribes_are_paced_to_ten_frames_per_second(void **state)
{
    vh_ev_t b;
    vh_ev_open(&b, "bitget", "A1,A2,A3,A4,A5,A6,A7,A8", NULL);
    feed_offline_t *o = b.o;
    char f[512];
    const char *syms[8] = {"A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8"};
    for (int i = 0; i < 8; i++) {
        snprintf(f, sizeof(f),
                 "{\"action\":\"snapshot\",\"arg\":{\"instType\":\"SPOT\",\"channel\":\"books\","
                 "\"instId\":\"%s\"},\"data\":[{\"asks\":[[\"2\",\"1\"]],\"bids\":[],\"ts\":\"1\"}"
                 "]}",
                 syms[i]);
        assert_int_equal(feed_frame(&o->h, f, strlen(f), 5000000000LL, 5000000000LL), 0);
    }
    vh_n_sent = 0;
    for (int i = 0; i < 8; i++) {
        snprintf(f, sizeof(f),
                 "{\"action\":\"update\",\"arg\":{\"instType\":\"SPOT\",\"channel\":\"books\","
                 "\"instId\":\"%s\"},\"data\":[{\"asks\":[[\"-2\",\"1\"]],\"bids\":[]}]}",
                 syms[i]);
        assert_true(feed_frame(&o->h, f, strlen(f), 5000000000LL, 5000000000LL) < 0);
    }
    feed_flush(&o->h);
    assert_int_equal(TG_STAT_GET(o->stats.gaps), 8);
    /* the subscribe sent at open counts in the first second: 4 resubscribes fit */
    assert_int_equal(vh_n_sent, 8);
    o->venue->on_tick(&o->h, 5500000000LL);
    assert_int_equal(vh_n_sent, 8);
    o->venue->on_tick(&o->h, 6000000000LL);
    assert_int_equal(vh_n_sent, 16); /* the other 4 one second later */
    o->venue->on_tick(&o->h, 7000000000LL);
    assert_int_equal(vh_n_sent, 16);
    vh_ev_close(&b);
}

static void test_bitget_v2_futures_books15_trades_objects_and_ids(void **state)
{
    vh_ev_t b;
    vh_ev_open(&b, "bitget-futures", "BTCUSDT", NULL);
    feed_offline_t *o = b.o;
    uint32_t id = id_of(o, "BTCUSDT");
    /* books15: every push replaces the book; its checksum is not verified */
    assert_int_equal(vh_feed1(o, V2F("snapshot", "books15", "BTCUSDT") "{\"asks\":[[\"27000.5\","
                                                                       "\"8.760\"],[\"27001\","
                                                                       "\"0.4\"]],\"bids\":[["
                                                                       "\"27000\",\"2.710\"]],"
                                                                       "\"checksum\":12345,\"seq\":"
                                                                       "7,\"ts\":\"10\"}]}"),
                     0);
    assert_int_equal(vh_feed1(o,
                              V2F("snapshot", "books15", "BTCUSDT") "{\"asks\":[[\"27002\","
                                                                    "\"1\"]],\"bids\":[["
                                                                    "\"27000\",\"2.710\"]],"
                                                                    "\"checksum\":6789,\"seq\":8,"
                                                                    "\"ts\":\"11\"}]}"),
                     0);
    assert_int_equal(b.v->snapshots[id], 2);
    assert_int_equal(b.v->book[id].ask.n, 1);
    assert_int_equal(b.v->book[id].ask.px[0], 2700200000000);
    assert_int_equal(b.v->ck_ok + b.v->ck_bad, 0);
    /* trade objects, newest first: emitted oldest first, ids numeric, side = taker */
    assert_int_equal(vh_feed1(o, V2F("update", "trade", "BTCUSDT") "{\"ts\":\"1695716760565\","
                                                                   "\"price\":\"27000.5\",\"size\":"
                                                                   "\"0.001\",\"side\":\"sell\","
                                                                   "\"tradeId\":\"1111111111\"},{"
                                                                   "\"ts\":\"1695716760500\","
                                                                   "\"price\":\"27001\",\"size\":"
                                                                   "\"0.25\",\"side\":\"buy\","
                                                                   "\"tradeId\":\"1111111110\"}]}"),
                     0);
    assert_int_equal(b.v->trades[id], 2);
    const tg_event_t *a = &b.ev[b.n_ev - 2], *z = &b.ev[b.n_ev - 1];
    assert_int_equal(a->kind, TG_EV_TRADE);
    assert_int_equal(a->u.trade_id, 1111111110);
    assert_int_equal(a->side, TG_SIDE_BUY);
    assert_int_equal(a->ts_exch, 1695716760500LL * 1000000);
    assert_false(a->flags & TG_EVF_LAST);
    assert_int_equal(z->u.trade_id, 1111111111);
    assert_int_equal(z->side, TG_SIDE_SELL);
    assert_true(z->flags & TG_EVF_LAST);
    /* the trade snapshot (history on subscribe) is not a trade */
    assert_int_equal(vh_feed1(o,
                              V2F("snapshot", "trade", "BTCUSDT") "{\"ts\":\"1\",\"price\":\"1\","
                                                                  "\"size\":\"1\",\"side\":"
                                                                  "\"buy\",\"tradeId\":\"1\"}]}"),
                     0);
    assert_int_equal(b.v->trades[id], 2);
    vh_ev_close(&b);
}

static void test_bitget_v1_futures_books_checksum_and_trade_arrays(void **state)
{
    vh_ev_t b;
    vh_ev_open(&b, "bitget-futures", "BTCUSDT", NULL);
    feed_offline_t *o = b.o;
    uint32_t id = id_of(o, "BTCUSDT");
    const char *t1 = "19999.5:120:20000.0:3:19999.0:7";
    assert_int_equal(
        feed_ck(o,
                V1F("snapshot", "books", "BTCUSDT") "{\"asks\":[[\"20000.0\",\"3\"]],\"bids\":[["
                                                    "\"19999.5\",\"120\"],[\"19999.0\",\"7\"]],"
                                                    "\"checksum\":%ld,\"ts\":\"1\"}]}",
                t1),
        0);
    assert_int_equal(b.v->ck_ok, 1);
    assert_int_equal(vh_feed1(o, V1F("update", "trade", "BTCUSDT") "[\"1665000000000\",\"20000.0\","
                                                                   "\"3\",\"buy\"]]}"),
                     0);
    assert_int_equal(b.v->trades[id], 1);
    assert_int_equal(b.v->buys[id], 1);
    assert_int_equal(b.ev[b.n_ev - 1].u.trade_id, 0); /* v1 trades have no id */
    vh_ev_close(&b);
}

/* ---- subscribes, pings, API fallback, bad input -------------------------------------------- */

static void test_bitget_subscribes_pings_and_falls_back_to_v1_after_an_error(void **state)
{
    vh_ev_t b;
    vh_ev_open(&b, "bitget", "EOSUSDT", NULL);
    feed_offline_t *o = b.o;
    o->h.depth = 15;
    assert_int_equal(o->venue->on_open(&o->h), 0);
    assert_int_equal(vh_n_sent, 1);
    assert_string_equal(vh_sent[0], "{\"op\":\"subscribe\",\"args\":[{\"instType\":\"SPOT\","
                                    "\"channel\":\"books15\",\"instId\":\"EOSUSDT\"},{"
                                    "\"instType\":\"SPOT\",\"channel\":\"trade\",\"instId\":"
                                    "\"EOSUSDT\"}]}");
    /* the endpoint refuses: subscribe again once in v1 */
    const char *err = "{\"event\":\"error\",\"code\":30001,\"msg\":\"instType:SPOT,channel:"
                      "books15,instId:EOSUSDT doesn't exist\"}";
    assert_int_equal(vh_feed1(o, err), TG_EPROTO);
    assert_int_equal(vh_n_sent, 2);
    assert_non_null(strstr(vh_sent[1], "{\"instType\":\"SP\",\"channel\":\"books15\""));
    assert_int_equal(vh_feed1(o, err), TG_EPROTO);
    assert_int_equal(vh_n_sent, 2); /* once */
    assert_int_equal(TG_STAT_GET(o->stats.err_venue), 2);
    /* pings every 30 s; pong counts once, unhandled */
    vh_n_sent = 0;
    o->venue->on_tick(&o->h, 100 * 1000000000LL);
    o->venue->on_tick(&o->h, 129 * 1000000000LL);
    assert_int_equal(vh_n_sent, 0);
    o->venue->on_tick(&o->h, 130 * 1000000000LL);
    assert_int_equal(vh_n_sent, 1);
    assert_string_equal(vh_sent[0], "ping");
    o->venue->on_tick(&o->h, 160 * 1000000000LL);
    assert_int_equal(vh_n_sent, 2);
    uint64_t un = TG_STAT_GET(o->stats.unhandled), fr = TG_STAT_GET(o->stats.frames);
    assert_int_equal(vh_feed1(o, "pong"), 0);
    assert_int_equal(TG_STAT_GET(o->stats.unhandled), un + 1);
    assert_int_equal(TG_STAT_GET(o->stats.frames), fr + 1);
    assert_int_equal(vrun_accounted(&o->stats), TG_STAT_GET(o->stats.frames));
    /* on_close: STALE for the book */
    o->venue->on_close(&o->h, 1, 1);
    feed_flush(&o->h);
    assert_int_equal(b.v->stale[id_of(o, "EOSUSDT")], 1);
    vh_ev_close(&b);
}

static void test_bitget_bad_input_is_counted_once_each(void **state)
{
    vh_ev_t b;
    vh_ev_open(&b, "bitget", "EOSUSDT", NULL);
    feed_offline_t *o = b.o;
    struct {
        const char *f;
        int rc;
    } cases[] = {
        {"{\"event\":\"subscribe\",\"arg\":{\"instType\":\"sp\",\"channel\":\"books\",\"instId\":"
         "\"EOSUSDT\"}}",
         0},
        {"{\"action\":\"snapshot\",\"arg\":{\"instType\":\"sp\",\"channel\":\"ticker\",\"instId\":"
         "\"EOSUSDT\"},\"data\":[{\"last\":\"2.4\"}]}",
         0},
        {"{\"action\":\"update\",\"arg\":{\"instType\":\"sp\",\"channel\":\"books\",", TG_EJSON},
        {"[1,2,3]", TG_EJSON},
        {"{\"action\":\"update\",\"arg\":{\"instType\":\"sp\"},\"data\":[]}", TG_EFIELD},
        {"{\"action\":\"update\",\"arg\":{\"instType\":\"sp\",\"channel\":\"books\",\"instId\":"
         "\"XRPUSDT\"},\"data\":[{\"asks\":[],\"bids\":[]}]}",
         TG_ESYMBOL},
        {"{\"action\":\"update\",\"arg\":{\"instType\":\"sp\",\"channel\":\"books\",\"instId\":"
         "\"EOSUSDT\"},\"data\":{}}",
         TG_EFIELD},
        {"{\"action\":\"delta\",\"arg\":{\"instType\":\"sp\",\"channel\":\"books\",\"instId\":"
         "\"EOSUSDT\"},\"data\":[]}",
         TG_EFIELD},
        {"{\"action\":\"update\",\"arg\":{\"instType\":\"sp\",\"channel\":\"trade\",\"instId\":"
         "\"EOSUSDT\"},\"data\":[[\"1\",\"2.4\",\"1\",\"up\"]]}",
         TG_EFIELD},
        {"{\"action\":\"update\",\"arg\":{\"instType\":\"sp\",\"channel\":\"trade\",\"instId\":"
         "\"EOSUSDT\"},\"data\":[[\"1\",\"2.4\",\"1\"]]}",
         TG_EFIELD},
        {"{\"action\":\"update\",\"arg\":{\"instType\":\"sp\",\"channel\":\"trade\",\"instId\":"
         "\"EOSUSDT\"},\"data\":[[\"1\",\"2.4\",\"abc\",\"buy\"]]}",
         TG_EDEC_SYNTAX},
        {"{\"action\":\"update\",\"arg\":{\"instType\":\"sp\",\"channel\":\"trade\",\"instId\":"
         "\"EOSUSDT\"},\"data\":[[\"-5\",\"2.4\",\"1\",\"buy\"]]}",
         TG_EFIELD},
        {"{\"event\":\"error\",\"code\":30003,\"msg\":\"instId doesn't exist\"}", TG_EPROTO},
    };
    size_t nc = sizeof(cases) / sizeof(cases[0]);
    for (size_t i = 0; i < nc; i++) {
        uint64_t fr = TG_STAT_GET(o->stats.frames), errs = vrun_errors(&o->stats);
        int rc = vh_feed1(o, cases[i].f);
        if (rc != cases[i].rc)
            fail_msg("case %zu: rc %d, want %d", i, rc, cases[i].rc);
        assert_int_equal(TG_STAT_GET(o->stats.frames), fr + 1);
        assert_int_equal(vrun_errors(&o->stats), errs + (rc < 0 ? 1 : 0));
        assert_int_equal(vrun_accounted(&o->stats), TG_STAT_GET(o->stats.frames));
    }
    assert_int_equal(TG_STAT_GET(o->stats.err_json), 2);
    assert_int_equal(TG_STAT_GET(o->stats.err_symbol), 1);
    assert_int_equal(TG_STAT_GET(o->stats.err_venue), 1);
    assert_int_equal(TG_STAT_GET(o->stats.err_decimal), 1);
    assert_int_equal(TG_STAT_GET(o->stats.unhandled), 2);
    assert_int_equal(b.v->trades[id_of(o, "EOSUSDT")], 0);
    vh_ev_close(&b);
}

/* ---- exact values at every scale ----------------------------------------------------------- */

/* Every LEVEL/TRADE event of b from index `from` printed exactly equals the texts, in order. */
static void check_exact(const vh_ev_t *b, size_t from, const char *const *px, const char *const *sz,
                        size_t n)
{
    size_t j = 0;
    for (size_t i = from; i < b->n_ev; i++) {
        const tg_event_t *e = &b->ev[i];
        if (e->kind != TG_EV_LEVEL && e->kind != TG_EV_TRADE)
            continue;
        assert_true(j < n);
        assert_true(e->flags & TG_EVF_SCALED);
        char got[TG_DEC_STR_MAX], want[128];
        tg_dec_format(e->price, e->px_scale, got);
        vh_dec_norm(px[j], want);
        if (strcmp(got, want) != 0)
            fail_msg("price %zu: %s (scale %u), sent %s", j, got, e->px_scale, px[j]);
        tg_dec_format(e->size, e->sz_scale, got);
        vh_dec_norm(sz[j], want);
        if (strcmp(got, want) != 0)
            fail_msg("size %zu: %s (scale %u), sent %s", j, got, e->sz_scale, sz[j]);
        j++;
    }
    assert_int_equal(j, n);
}

static void test_bitget_prices_and_sizes_are_exact_from_1e_minus12_to_1e12(void **state)
{
    vh_ev_t b;
    vh_ev_open(&b, "bitget", "TINYUSDT,HUGEUSDT,MIXUSDT", NULL);
    feed_offline_t *o = b.o;
    /* tiny prices (1e-12, 14 places) and sizes (1e-8) */
    size_t from = b.n_ev;
    static const char *const tpx[] = {"0.000000000001", "0.00000000000123", "0.00000000009"};
    static const char *const tsz[] = {"0.00000001", "12345678.12345678", "0.10000000"};
    assert_int_equal(vh_feed1(o,
                              V2S("snapshot", "books", "TINYUSDT") "{\"asks\":[[\"0.00000000000123"
                                                                   "\",\"12345678.12345678\"],["
                                                                   "\"0.00000000009\",\"0.10000000"
                                                                   "\"]],\"bids\":[[\"0.0000000000"
                                                                   "01\",\"0.00000001\"]],"
                                                                   "\"ts\":\"1\"}]}"),
                     0);
    /* emitted asks first, then bids */
    static const char *const tpx2[] = {tpx[1], tpx[2], tpx[0]};
    static const char *const tsz2[] = {tsz[1], tsz[2], tsz[0]};
    check_exact(&b, from, tpx2, tsz2, 3);
    /* huge prices (1e7) and sizes up to the largest a scale of 8 holds */
    from = b.n_ev;
    static const char *const hpx[] = {"10000000", "9999999.99", "9999999.5"};
    static const char *const hsz[] = {"92233720368.54775807", "1000000000.5", "0.5"};
    assert_int_equal(vh_feed1(o, V2S("snapshot", "books", "HUGEUSDT") "{\"asks\":[[\"10000000\","
                                                                      "\"92233720368.54775807\"]],"
                                                                      "\"bids\":[[\"9999999.99\","
                                                                      "\"1000000000.5\"],["
                                                                      "\"9999999.5\",\"0.5\"]],"
                                                                      "\"ts\":\"1\"}]}"),
                     0);
    check_exact(&b, from, hpx, hsz, 3);
    /* 1e12 needs a size scale of 6 or less: the instrument is at 8 (scales never go down), so
     * the value cannot be held; loud (counted, FAULT), never rounded */
    from = b.n_ev;
    assert_int_equal(vh_feed1(o, V2S("update", "books", "HUGEUSDT") "{\"asks\":[[\"10000001\","
                                                                    "\"1000000000000\"]],\"bids\":"
                                                                    "[],\"ts\":\"2\"}]}"),
                     TG_EDEC_RANGE);
    assert_int_equal(TG_STAT_GET(o->stats.unrepresentable), 1);
    assert_int_equal(TG_STAT_GET(o->stats.err_decimal), 1);
    assert_true(vh_faults_without_levels(b.ev, from, b.n_ev) >= 1);
    /* mixed inside one message: 2 places, then 11 (the scale rises mid-message; the whole
     * message is parsed again, nothing emitted twice) */
    from = b.n_ev;
    uint64_t resc = TG_STAT_GET(o->stats.rescales);
    static const char *const mpx[] = {"1.25", "0.12345678901", "1.3"};
    static const char *const msz[] = {"3", "0.000000012345", "70000.5"};
    assert_int_equal(vh_feed1(o, V2S("snapshot", "books", "MIXUSDT") "{\"asks\":[[\"1.25\",\"3\"],"
                                                                     "[\"0.12345678901\","
                                                                     "\"0.000000012345\"],[\"1.3\","
                                                                     "\"70000.5\"]],\"bids\":[],"
                                                                     "\"ts\":\"1\"}]}"),
                     0);
    check_exact(&b, from, mpx, msz, 3);
    assert_true(TG_STAT_GET(o->stats.rescales) >= resc + 2);
    for (size_t i = from; i < b.n_ev; i++)
        if (b.ev[i].kind == TG_EV_LEVEL) {
            assert_int_equal(b.ev[i].px_scale, 11);
            assert_int_equal(b.ev[i].sz_scale, 12);
        }
    /* trades: v1 arrays and v2 objects at new places, one value in exponent form (Bitget does
     * not send them; accepted exactly) */
    from = b.n_ev;
    static const char *const rpx[] = {"0.0000000000015", "12.5", "0.00000015"};
    static const char *const rsz[] = {"12345678901.5", "0.00000001", "2"};
    assert_int_equal(vh_feed1(o, "{\"action\":\"update\",\"arg\":{\"instType\":\"sp\",\"channel\":"
                                 "\"trade\",\"instId\":\"TINYUSDT\"},\"data\":[[\"1\","
                                 "\"0.0000000000015\",\"12345678901.5\",\"buy\"]]}"),
                     0);
    assert_int_equal(vh_feed1(o, V2S("update", "trade", "HUGEUSDT") "{\"ts\":\"2\",\"price\":"
                                                                    "\"12.5\",\"size\":\"0.00000001"
                                                                    "\",\"side\":\"sell\","
                                                                    "\"tradeId\":\"9\"}]}"),
                     0);
    assert_int_equal(vh_feed1(o, V2S("update", "trade", "MIXUSDT") "{\"ts\":\"3\",\"price\":"
                                                                   "\"1.5e-7\",\"size\":\"2\","
                                                                   "\"side\":\"sell\",\"tradeId\":"
                                                                   "\"10\"}]}"),
                     0);
    check_exact(&b, from, rpx, rsz, 3);
    /* every frame counted once even though some were parsed twice */
    assert_int_equal(TG_STAT_GET(o->stats.frames), 7);
    assert_int_equal(TG_STAT_GET(o->stats.handled), 6);
    assert_int_equal(vrun_errors(&o->stats), 1);
    vh_ev_close(&b);
}

/* The checksum of a book whose strings are padded to more places than its scale needs. */
static void test_bitget_checksum_pads_like_bitget_at_any_scale(void **state)
{
    vh_ev_t b;
    vh_ev_open(&b, "bitget", "CULTUSDT", NULL);
    feed_offline_t *o = b.o;
    const char *t1 = "0.0000350500:285020.00000000000:0.0000353000:145214.00000000000";
    assert_int_equal(feed_ck(o,
                             V2S("snapshot", "books",
                                 "CULTUSDT") "{\"asks\":[[\"0.0000353000\",\"145214.0000000000"
                                             "0\"]],\"bids\":[[\"0.0000350500\","
                                             "\"285020.00000000000\"]],"
                                             "\"checksum\":%ld,\"ts\":\"1\"}]}",
                             t1),
                     0);
    /* prices with 10 places and sizes with 11 (the strings'), beyond the scale of 8 */
    assert_int_equal(b.v->ck_ok, 1);
    assert_int_equal(b.v->ck_bad, 0);
    vh_ev_close(&b);
}

/* ---- fuzz ---------------------------------------------------------------------------------- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static const char *const v2_frames[] = {
    V2S("snapshot", "books", "EOSUSDT") "{\"asks\":[[\"2.4400\",\"195.6669\"],[\"2.4409\","
                                        "\"1209.0600\"]],\"bids\":[[\"2.4367\",\"10.0000\"]],"
                                        "\"checksum\":-1408694506,\"seq\":10,\"ts\":\"1\"}],"
                                        "\"ts\":1}",
    V2S("update", "books", "EOSUSDT") "{\"asks\":[[\"2.4400\",\"0\"]],\"bids\":[[\"2.4368\","
                                      "\"1.5000\"]],\"checksum\":17,\"seq\":11,\"ts\":\"2\"}]}",
    V2S("update", "trade", "EOSUSDT") "{\"ts\":\"1695716760565\",\"price\":\"2.4383\",\"size\":"
                                      "\"2.0507\",\"side\":\"buy\",\"tradeId\":\"1\"}]}",
    V2S("snapshot", "books5", "EOSUSDT") "{\"asks\":[[\"2.4400\",\"1\"]],\"bids\":[],\"seq\":3}]}",
};

static void test_bitget_mutated_frames_never_crash_and_are_all_counted(void **state)
{
    vh_fuzz_t f =
        VH_FUZZ_NUM(vh_rec(BG_REC), &rng, "9", v2_frames, sizeof(v2_frames) / sizeof(v2_frames[0]));
    f.more_places = f.ts_it = 1; /* case 4: a digit after a point, more places (rescales) */
    f.ns = 1000000000LL;
    f.tick_every = 1000;
    vh_fuzz_run(&f, 25000);
    assert_true(TG_STAT_GET(f.o->stats.handled) > 0);
    vh_fuzz_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bitget_both_ids_are_found_with_limits_and_variants),
        cmocka_unit_test(test_bitget_v1_every_recorded_checksum_matches_our_book),
        cmocka_unit_test(test_bitget_v1_books_and_trades_equal_the_reference),
        cmocka_unit_test(test_bitget_v1_trade_arrays_are_emitted_exactly_with_taker_side),
        cmocka_unit_test(test_bitget_v1_corrupted_snapshot_level_fails_the_next_checksum),
        cmocka_unit_test(test_bitget_v2_checksum_of_padded_strings_and_seq_replays),
        cmocka_unit_test(test_bitget_builder_resync_request_resubscribes_in_the_connection_version),
        cmocka_unit_test(test_bitget_bad_level_emits_gap_and_resubscribes),
        cmocka_unit_test(test_bitget_resubscribes_are_paced_to_ten_frames_per_second),
        cmocka_unit_test(test_bitget_v2_futures_books15_trades_objects_and_ids),
        cmocka_unit_test(test_bitget_v1_futures_books_checksum_and_trade_arrays),
        cmocka_unit_test(test_bitget_subscribes_pings_and_falls_back_to_v1_after_an_error),
        cmocka_unit_test(test_bitget_bad_input_is_counted_once_each),
        cmocka_unit_test(test_bitget_prices_and_sizes_are_exact_from_1e_minus12_to_1e12),
        cmocka_unit_test(test_bitget_checksum_pads_like_bitget_at_any_scale),
        cmocka_unit_test(test_bitget_mutated_frames_never_crash_and_are_all_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
