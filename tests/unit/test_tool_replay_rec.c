/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of tools/replay/tool_replay_rec.c: --fault spec parsing, recording names, the
 * loose JSON comparison used for subscribe gating, corrupt@N, the frame/snapshot index of
 * real recordings (counts checked against an independent pass of the shared tgrec reader), and
 * the Kraken Futures trade_snapshot a --resume reconnect gets first.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "feeds/feed.h"
#include "tools/replay/tool_replay.h"

static const char *recs(void)
{
    const char *r = getenv("TG_RECORDINGS");
    return r ? r : "../shared/recordings";
}

static void test_fault_specs_parse_into_kind_frame_duration_and_times(void **st)
{
    tool_replay_fault_t f;
    assert_int_equal(tool_replay_fault_parse(&f, "drop-after=100"), 0);
    assert_int_equal(f.kind, TOOL_REPLAY_FAULT_DROP);
    assert_int_equal(f.at, 100);
    assert_int_equal(f.times, 0);
    assert_int_equal(tool_replay_fault_parse(&f, "drop-after=0,times=3"), 0);
    assert_int_equal(f.at, 0);
    assert_int_equal(f.times, 3);
    assert_string_equal(f.spec, "drop-after=0,times=3");
    assert_int_equal(tool_replay_fault_parse(&f, "stall=250@10"), 0);
    assert_int_equal(f.kind, TOOL_REPLAY_FAULT_STALL);
    assert_int_equal(f.ms, 250);
    assert_int_equal(f.at, 10);
    assert_int_equal(tool_replay_fault_parse(&f, "corrupt@1"), 0);
    assert_int_equal(f.kind, TOOL_REPLAY_FAULT_CORRUPT);
    assert_int_equal(f.at, 1);
    assert_int_equal(tool_replay_fault_parse(&f, "truncate@7,times=1"), 0);
    assert_int_equal(f.kind, TOOL_REPLAY_FAULT_TRUNCATE);
    assert_int_equal(f.times, 1);
    assert_int_equal(tool_replay_fault_parse(&f, "oversize@3"), 0);
    assert_int_equal(f.kind, TOOL_REPLAY_FAULT_OVERSIZE);
    assert_int_equal(f.at, 3);
}

static void test_malformed_fault_specs_are_rejected(void **st)
{
    static const char *const bad[] = {
        "",
        "drop-after=",
        "drop-after=x",
        "drop-after=-1",
        "drop-after=5 ",
        "stall=10",
        "stall=@5",
        "stall=10@",
        "corrupt@0",
        "corrupt@5,times=0",
        "corrupt@5,foo=1",
        "explode@3",
        "truncate@",
        "oversize@2,times=",
        "corrupt5",
    };
    tool_replay_fault_t f;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (tool_replay_fault_parse(&f, bad[i]) != -EINVAL)
            fail_msg("accepted bad spec '%s'", bad[i]);
}

static void test_recording_names_drop_the_directory_and_tgrec_zst_suffixes(void **st)
{
    char n[64];
    tool_replay_rec_name(n, sizeof(n), "/a/b/cryptofeed_ce58c2a0_KRAKEN.ws.50.tgrec");
    assert_string_equal(n, "cryptofeed_ce58c2a0_KRAKEN.ws.50");
    tool_replay_rec_name(n, sizeof(n), "x/hftbacktest_spot_btcusdt_20240808.tgrec.zst");
    assert_string_equal(n, "hftbacktest_spot_btcusdt_20240808");
    tool_replay_rec_name(n, sizeof(n), "plain.zst");
    assert_string_equal(n, "plain");
    tool_replay_rec_name(n, sizeof(n), "noext");
    assert_string_equal(n, "noext");
}

static void test_loose_json_equality_ignores_blanks_and_nothing_else(void **st)
{
    const char *a = "{\"op\":\"subscribe\",\"args\":[\"a\",\"b\"]}";
    const char *b = " { \"op\": \"subscribe\",\n \"args\" : [\"a\", \"b\"] }\r\n";
    assert_true(tool_replay_json_loose_eq(a, strlen(a), b, strlen(b)));
    assert_true(tool_replay_json_loose_eq(b, strlen(b), a, strlen(a)));
    const char *c = "{\"op\":\"subscribe\",\"args\":[\"a\",\"c\"]}";
    assert_false(tool_replay_json_loose_eq(a, strlen(a), c, strlen(c)));
    assert_false(tool_replay_json_loose_eq(a, strlen(a), a, strlen(a) - 1));
    assert_true(tool_replay_json_loose_eq("", 0, " \n", 2));
}

static void test_corrupt_flips_at_most_eight_bytes_including_the_first(void **st)
{
    char orig[300], buf[300];
    for (size_t i = 0; i < sizeof(orig); i++)
        orig[i] = (char)('a' + i % 26);
    memcpy(buf, orig, sizeof(buf));
    tool_replay_corrupt(buf, sizeof(buf));
    size_t diff = 0;
    for (size_t i = 0; i < sizeof(buf); i++)
        diff += buf[i] != orig[i];
    assert_int_equal(diff, TOOL_REPLAY_CORRUPT_BYTES);
    assert_true(buf[0] != orig[0]);
    char three[3] = {'{', '"', '}'};
    tool_replay_corrupt(three, 3);
    assert_memory_equal(three, "z#|", 3);
}

/* Independent count: data lines that are / are not generated. */
static void count_lines(const char *path, size_t *ws, size_t *gen)
{
    feed_tgrec_t *r;
    assert_int_equal(feed_tgrec_open(&r, path), 0);
    int64_t ts;
    const char *f;
    size_t len;
    *ws = *gen = 0;
    while (feed_tgrec_next(r, &ts, &f, &len) == 1) {
        if (feed_tgrec_is_generated(f, len))
            (*gen)++;
        else
            (*ws)++;
    }
    feed_tgrec_close(&r);
}

/* rec loaded from the recording rel under $TG_RECORDINGS, with one frame per websocket line
 * of it (asserted). @return its generated (REST) lines. */
static size_t load_counted(tool_replay_rec_t *rec, const char *rel)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", recs(), rel);
    size_t ws, gen;
    count_lines(path, &ws, &gen);
    assert_int_equal(tool_replay_rec_load(rec, path), 0);
    assert_int_equal(rec->n_frames, ws);
    return gen;
}

static void test_bitstamp_recording_indexes_frames_and_its_ten_rest_snapshots(void **st)
{
    tool_replay_rec_t rec;
    size_t gen = load_counted(&rec, "bitstamp/cryptofeed_1312c062_BITSTAMP-b88f8b.tgrec");
    assert_string_equal(rec.name, "cryptofeed_1312c062_BITSTAMP-b88f8b");
    assert_int_equal(rec.n_snaps, gen);
    assert_int_equal(rec.n_snaps, 10);
    assert_int_equal(rec.bad_lines, 0);
    /* every pair in the header has its snapshot; lookups are case-insensitive */
    char syms[4096];
    snprintf(syms, sizeof(syms), "%s", rec.r->symbols);
    size_t found = 0;
    const feed_venue_t *bs = feed_venue_find("bitstamp"), *bn = feed_venue_find("binance");
    assert_non_null(bs);
    assert_non_null(bn);
    for (char *sv, *t = strtok_r(syms, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
        char path2[128], key[128];
        /* the request the Bitstamp handler makes maps to the recorded answer */
        snprintf(path2, sizeof(path2), "/api/v2/order_book/%s/", t);
        assert_int_equal(bs->rest_key(path2, key, sizeof(key)), 0);
        const tool_replay_snap_t *s = tool_replay_rec_snapshot(&rec, key);
        assert_non_null(s);
        assert_true(s->len > 2 && s->body[0] == '{' && s->body[s->len - 1] == '}');
        /* a Binance request for the same name finds nothing: not a Binance symbol */
        snprintf(path2, sizeof(path2), "/api/v3/depth?symbol=%s&limit=1000", t);
        assert_int_equal(bn->rest_key(path2, key, sizeof(key)), 0);
        assert_null(tool_replay_rec_snapshot(&rec, key));
        found++;
    }
    assert_int_equal(found, 10);
    assert_non_null(tool_replay_rec_snapshot(&rec, "DIFF_ORDER_BOOK_XLMEUR"));
    assert_null(tool_replay_rec_snapshot(&rec, "diff_order_book_btcusd"));
    char key[1024];
    assert_int_equal(bs->rest_key("/api/v3/depth?symbol=X", key, sizeof(key)), -ENOENT);
    /* frames are in file order with non-decreasing timestamps */
    for (size_t i = 1; i < rec.n_frames; i++)
        assert_true(rec.frames[i].ts_ns >= rec.frames[i - 1].ts_ns);
    tool_replay_rec_free(&rec);
}

static void test_binance_zstd_recording_indexes_its_symbol_snapshot(void **st)
{
    tool_replay_rec_t rec;
    load_counted(&rec, "binance/hftbacktest_spot_btcusdt_20240808.tgrec.zst");
    assert_int_equal(rec.n_snaps, 1);
    const tool_replay_snap_t *s = tool_replay_rec_snapshot(&rec, "BTCUSDT");
    assert_non_null(s);
    assert_string_equal(s->key, "btcusdt");
    assert_true(strncmp(s->body, "{\"lastUpdateId\":", 16) == 0);
    assert_int_equal(s->body[s->len - 1], '}');
    tool_replay_rec_free(&rec);
}

static size_t count_of(const char *s, size_t n, const char *what)
{
    size_t k = 0, wl = strlen(what);
    for (const char *p = s; (p = memmem(p, n - (size_t)(p - s), what, wl)) != NULL; p += wl)
        k++;
    return k;
}

/* Kraken Futures (10 products, a recorded trade_snapshot of 100 trades each, 3 live trades at
 * frames 572, 1309, 2191): the lead of a reconnect at frame 500 is the recorded snapshots again,
 * byte for byte, in their order; at frame 2300 each product's newest 100 published trades,
 * newest first: PI_LTCUSD's live 5956 (a frame nobody may have received) then 5955..5857. */
static void test_kraken_futures_reconnect_lead_is_a_trade_snapshot_of_the_newest_100(void **st)
{
    tool_replay_rec_t rec;
    load_counted(&rec, "cryptofacilities/cryptofeed_ce58c2a0_KRAKEN_FUTURES.ws.1.tgrec.zst");
    assert_int_equal(rec.n_trades, 1003);
    char *out;
    size_t len, k = 0;
    assert_int_equal(tool_replay_trades_cb_last(&rec, 500, &out, &len), 0);
    assert_non_null(out);
    const char *line = out;
    for (size_t i = 0; i < rec.n_frames; i++) {
        const tool_replay_frame_t *f = &rec.frames[i];
        static const char pre[] = "{\"feed\":\"trade_snapshot\",";
        if (f->len < sizeof(pre) || memcmp(f->data, pre, sizeof(pre) - 1) != 0)
            continue;
        assert_memory_equal(line, f->data, f->len);
        assert_int_equal(line[f->len], '\n');
        line += f->len + 1;
        k++;
    }
    assert_int_equal(k, 10);
    assert_int_equal((size_t)(line - out), len);
    free(out);
    assert_int_equal(tool_replay_trades_cb_last(&rec, 2300, &out, &len), 0);
    assert_int_equal(count_of(out, len, "\n"), 10);
    assert_int_equal(count_of(out, len, "{\"feed\":\"trade\","), 1000);
    const char *ltc = strstr(out, "\"product_id\":\"PI_LTCUSD\",\"trades\":[");
    assert_non_null(ltc);
    const char *end = strchr(ltc, '\n');
    assert_non_null(strstr(ltc, "\"uid\":\"e2429e31-8b9d-4195-900e-fd42be2dec89\""));
    long prev = 5957;
    for (const char *p = ltc; (p = strstr(p, "\"seq\":")) != NULL && p < end; p += 6) {
        long seq = strtol(p + 6, NULL, 10);
        assert_int_equal(seq, prev - 1); /* newest first, consecutive */
        prev = seq;
    }
    assert_int_equal(prev, 5857);
    free(out);
    tool_replay_rec_free(&rec);
}

static void test_bad_lines_are_counted_and_skipped(void **st)
{
    char path[] = "/tmp/tg-replay-unit-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char text[] = "# tgrec 1\n# venue: kraken\n# sent: {\"a\":1}\n"
                               "100 {\"x\":1}\nnot a line\n"
                               "200 {\"stream\":\"abc@depthSnapshot\",\"generated\":true,"
                               "\"data\":{\"b\":[]}}\n"
                               "300 {\"x\":2}\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    close(fd);
    tool_replay_rec_t rec;
    assert_int_equal(tool_replay_rec_load(&rec, path), 0);
    unlink(path);
    assert_int_equal(rec.n_frames, 2);
    assert_int_equal(rec.bad_lines, 1);
    assert_int_equal(rec.frames[1].ts_ns, 300);
    assert_int_equal(rec.frames[1].len, 7);
    assert_memory_equal(rec.frames[1].data, "{\"x\":2}", 7);
    assert_int_equal(rec.n_snaps, 1);
    assert_int_equal(rec.snaps[0].len, 8);
    assert_memory_equal(rec.snaps[0].body, "{\"b\":[]}", 8);
    assert_int_equal(rec.r->n_sent, 1);
    tool_replay_rec_free(&rec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_specs_parse_into_kind_frame_duration_and_times),
        cmocka_unit_test(test_malformed_fault_specs_are_rejected),
        cmocka_unit_test(test_recording_names_drop_the_directory_and_tgrec_zst_suffixes),
        cmocka_unit_test(test_loose_json_equality_ignores_blanks_and_nothing_else),
        cmocka_unit_test(test_corrupt_flips_at_most_eight_bytes_including_the_first),
        cmocka_unit_test(test_bitstamp_recording_indexes_frames_and_its_ten_rest_snapshots),
        cmocka_unit_test(test_binance_zstd_recording_indexes_its_symbol_snapshot),
        cmocka_unit_test(test_bad_lines_are_counted_and_skipped),
        cmocka_unit_test(test_kraken_futures_reconnect_lead_is_a_trade_snapshot_of_the_newest_100),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
