/* SPDX-License-Identifier: MIT */
/*
 * Integration tests of tickgate-replay serve: the built binary (TG_REPLAY_BIN) is started on a
 * free loopback port for each test and driven by a minimal lws client (tools/replay/
 * tool_replay_client.h) over ws and wss. The expected frames are read independently from the
 * real recordings in TG_RECORDINGS with the shared tgrec reader (feeds/feed_tgrec.h); the
 * expected REST bodies are cut out of the recorded in-band snapshot lines here. TLS uses a
 * throwaway certificate made at test time by tools/replay/gen-test-cert.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "feeds/rec/feed_tgrec.h"
#include "tests/fixtures/it_http_get.h"
#include "tests/fixtures/it_replay_srv.h"
#include "tools/replay/tool_replay_client.h"

#define KRAKEN    "kraken/cryptofeed_ce58c2a0_KRAKEN.ws.50.tgrec"
#define OKEX      "okex/cryptofeed_9a4a9b9d_OKEX.ws.1.tgrec"
#define OKX       "okex/cryptofeed_ce58c2a0_OKX.ws.1.tgrec"
#define BINANCE   "binance/hftbacktest_spot_btcusdt_20240808.tgrec.zst"
#define BINANCE10 "binance/cryptofeed_1312c062_BINANCE-b38f7c.tgrec.zst"
#define BITSTAMP  "bitstamp/cryptofeed_1312c062_BITSTAMP-b88f8b.tgrec"
#define COINBASE  "coinbase/cryptofeed_ce58c2a0_COINBASE.ws.28.tgrec.zst"

static const char *g_bin, *g_recs, *g_root;
static it_cert_t g_tls;

/* ---- expected data, read with the shared reader ---- */

/* The body of the first `{"stream":"<stream>","generated":true,"data":BODY}` line. */
static char *recorded_body(const char *rel, const char *stream, size_t *blen)
{
    char path[1024], pre[256];
    snprintf(path, sizeof(path), "%s/%s", g_recs, rel);
    snprintf(pre, sizeof(pre), "{\"stream\":\"%s\",\"generated\":true,\"data\":", stream);
    feed_tgrec_t *r;
    assert_int_equal(feed_tgrec_open(&r, path), 0);
    int64_t ts;
    const char *f;
    size_t len;
    char *out = NULL;
    while (!out && feed_tgrec_next(r, &ts, &f, &len) == 1)
        if (len > strlen(pre) && strncmp(f, pre, strlen(pre)) == 0) {
            *blen = len - strlen(pre) - 1;
            out = malloc(*blen);
            memcpy(out, f + strlen(pre), *blen);
        }
    feed_tgrec_close(&r);
    assert_non_null(out);
    return out;
}

/* ---- the server process ---- */

static void server_start(it_srv_t *s, const char *const *args)
{
    it_srv_start(s, g_bin, g_recs, args);
}

static void client_run(it_srv_t *s, tool_replay_client_cfg_t *cfg, tool_replay_client_res_t *res,
                       size_t n)
{
    cfg->port = s->port;
    if (!cfg->timeout_ms)
        cfg->timeout_ms = 30000;
    assert_int_equal(tool_replay_client_run(cfg, res, n), 0);
}

static void assert_all_frames(const it_expect_t *e, const tool_replay_client_res_t *r, size_t first)
{
    assert_true(r->n_msgs >= first + e->n);
    for (size_t i = 0; i < e->n; i++) {
        if (r->msgs[first + i].len != e->len[i] ||
            memcmp(r->msgs[first + i].data, e->f[i], e->len[i]) != 0)
            fail_msg("frame %zu differs (got %zu bytes, recorded %zu)", i, r->msgs[first + i].len,
                     e->len[i]);
    }
}

/* One server and one collecting client that sends the recording's subscribes. */
typedef struct play {
    it_expect_t e;
    it_srv_t s;
    tool_replay_client_cfg_t cfg;
    tool_replay_client_res_t r;
} play_t;

/* Load rel and start the server with args; the client is configured, not run yet. */
static void play_start(play_t *p, const char *rel, const char *const *args)
{
    memset(p, 0, sizeof(*p));
    it_expect_load(&p->e, g_recs, rel, 100);
    server_start(&p->s, args);
    p->cfg =
        (tool_replay_client_cfg_t){.collect = true, .send = p->e.r->sent, .n_send = p->e.r->n_sent};
}

/* Run the client once (the previous result freed); with whole, it must have received exactly
 * the recorded frames, byte for byte and in order. */
static void play_run(play_t *p, bool whole)
{
    tool_replay_client_res_free(&p->r);
    client_run(&p->s, &p->cfg, &p->r, 1);
    if (whole) {
        assert_int_equal(p->r.n_msgs, p->e.n);
        assert_all_frames(&p->e, &p->r, 0);
    }
}

/* play_start() then play_run(), for a client that needs no other setting. */
static void play(play_t *p, const char *rel, const char *const *args, bool whole)
{
    play_start(p, rel, args);
    play_run(p, whole);
}

/* Free the last result, stop the server (it must exit 0) and free the recording.
 * @return the server's stderr. */
static char *play_end(play_t *p)
{
    tool_replay_client_res_free(&p->r);
    char *log = it_srv_stop_log(&p->s);
    it_expect_free(&p->e);
    return log;
}

/* ---- tests: frames ---- */

typedef struct frames_case {
    const char *rel;
    bool ws, wss; /* the transports to check, each with its own server */
} frames_case_t;

static frames_case_t k_frames_kraken = {KRAKEN, true, false};
static frames_case_t k_frames_okex = {OKEX, false, true};
static frames_case_t k_frames_binance = {BINANCE, true, true}; /* zstd */

static void frames_identical(const char *rel, bool tls)
{
    char at[256];
    snprintf(at, sizeof(at), "@%s", rel);
    const char *cert = g_tls.cert, *key = g_tls.key;
    const char *args_ws[] = {"--max", at, NULL};
    const char *args_wss[] = {"--max", "--tls", "--cert", cert, "--key", key, at, NULL};
    play_t p;
    play_start(&p, rel, tls ? args_wss : args_ws);
    p.cfg.tls = tls;
    play_run(&p, true);
    assert_true(p.r.connected);
    assert_false(p.r.timed_out);
    assert_int_equal(p.r.close_status, 1000);
    play_end(&p);
}

/* The recording's frames arrive byte-identical and in order over ws and/or wss (*st). */
static void test_frames_identical(void **st)
{
    const frames_case_t *c = *st;
    if (c->ws)
        frames_identical(c->rel, false);
    if (c->wss)
        frames_identical(c->rel, true);
}

static void test_three_clients_at_once_each_get_the_whole_recording(void **st)
{
    const char *args[] = {"--max", "@" KRAKEN, NULL};
    play_t p;
    play_start(&p, KRAKEN, args);
    tool_replay_client_res_t r[3];
    client_run(&p.s, &p.cfg, r, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(r[i].n_msgs, p.e.n);
        assert_all_frames(&p.e, &r[i], 0);
        tool_replay_client_res_free(&r[i]);
    }
    play_end(&p);
}

static void test_each_file_is_served_at_its_own_path_and_unknown_paths_are_refused(void **st)
{
    it_expect_t ek, eo;
    it_expect_load(&ek, g_recs, KRAKEN, 100);
    it_expect_load(&eo, g_recs, OKX, 100);
    const char *args[] = {"--max", "@" KRAKEN, "@" OKX, NULL};
    it_srv_t s;
    server_start(&s, args);
    tool_replay_client_cfg_t cfg = {.collect = true,
                                    .path = "/rec/cryptofeed_ce58c2a0_OKX.ws.1",
                                    .send = eo.r->sent,
                                    .n_send = eo.r->n_sent};
    tool_replay_client_res_t r;
    client_run(&s, &cfg, &r, 1);
    assert_int_equal(r.n_msgs, eo.n);
    assert_all_frames(&eo, &r, 0);
    tool_replay_client_res_free(&r);
    cfg.path = "/rec/cryptofeed_ce58c2a0_KRAKEN.ws.50";
    cfg.send = ek.r->sent;
    cfg.n_send = ek.r->n_sent;
    client_run(&s, &cfg, &r, 1);
    assert_int_equal(r.n_msgs, ek.n);
    assert_all_frames(&ek, &r, 0);
    tool_replay_client_res_free(&r);
    cfg.path = "/rec/nosuch";
    client_run(&s, &cfg, &r, 1);
    assert_false(r.connected);
    assert_int_equal(r.frames, 0);
    tool_replay_client_res_free(&r);
    it_srv_stop_log(&s);
    it_expect_free(&ek);
    it_expect_free(&eo);
}

static void test_loop_two_replays_the_recording_twice(void **st)
{
    const char *args[] = {"--max", "--loop", "2", "@" OKX, NULL};
    play_t p;
    play(&p, OKX, args, false);
    assert_int_equal(p.r.n_msgs, 2 * p.e.n);
    assert_all_frames(&p.e, &p.r, 0);
    assert_all_frames(&p.e, &p.r, p.e.n);
    play_end(&p);
}

/* ---- tests: subscribe gating ---- */

static void test_nothing_is_streamed_before_the_client_subscribes(void **st)
{
    const char *args[] = {"--max", "@" KRAKEN, NULL};
    play_t p;
    play_start(&p, KRAKEN, args);
    assert_int_equal(p.e.r->n_sent, 1);
    p.cfg.send_delay_ms = 700;
    play_run(&p, true);
    assert_int_equal(p.r.frames_before_send, 0);
    assert_true(p.r.t_first_us - p.r.t_connect_us >= 650000);
    assert_null(strstr(play_end(&p), "differs"));
}

static void test_subscribes_are_awaited_until_all_sent_or_quiet_and_blanks_do_not_matter(void **st)
{
    it_expect_t e;
    it_expect_load(&e, g_recs, BITSTAMP, 100);
    assert_int_equal(e.r->n_sent, 20);
    /* re-spaced copies of the recorded subscribes */
    char *sp[20];
    for (size_t i = 0; i < 20; i++) {
        const char *m = e.r->sent[i];
        sp[i] = malloc(3 * strlen(m) + 3);
        char *o = sp[i];
        *o++ = ' ';
        for (; *m; m++) {
            *o++ = *m;
            if (*m == ',' || *m == ':')
                *o++ = ' ';
        }
        *o++ = '\n';
        *o = 0;
    }
    const char *args[] = {"--max", "--sub-timeout", "1500", "--sub-settle",
                          "800",   "@" BITSTAMP,    NULL};
    it_srv_t s;
    server_start(&s, args);
    /* all 20 (re-spaced): streaming starts at once */
    tool_replay_client_cfg_t cfg = {
        .collect = true, .send = (const char *const *)sp, .n_send = 20, .timeout_ms = 8000};
    tool_replay_client_res_t r;
    client_run(&s, &cfg, &r, 1);
    assert_int_equal(r.n_msgs, e.n);
    assert_all_frames(&e, &r, 0);
    assert_true(r.t_first_us - r.t_connect_us < 700000);
    tool_replay_client_res_free(&r);
    /* 19 of 20: streaming starts only after the settle time without a further message */
    cfg.n_send = 19;
    client_run(&s, &cfg, &r, 1);
    assert_int_equal(r.n_msgs, e.n);
    assert_all_frames(&e, &r, 0);
    assert_true(r.t_first_us - r.t_connect_us >= 750000);
    tool_replay_client_res_free(&r);
    /* nothing: closed with 1008 after the sub-timeout, no frame */
    cfg.n_send = 0;
    client_run(&s, &cfg, &r, 1);
    assert_true(r.connected);
    assert_int_equal(r.frames, 0);
    assert_int_equal(r.close_status, 1008);
    tool_replay_client_res_free(&r);
    char *log = it_srv_stop_log(&s);
    assert_null(strstr(log, "differs"));
    assert_non_null(strstr(log, "client sent 19 of 20 recorded subscribe messages, then nothing "
                                "for 800 ms; streaming"));
    assert_non_null(strstr(log, "client sent 0 of 20 subscribe messages in 1500 ms; closing"));
    for (size_t i = 0; i < 20; i++)
        free(sp[i]);
    it_expect_free(&e);
}

static void test_a_different_subscribe_is_logged_and_streaming_goes_on(void **st)
{
    const char *other[] = {"{\"event\":\"subscribe\",\"pair\":[\"XBT/USD\"]}"};
    const char *args[] = {"--max", "@" KRAKEN, NULL};
    play_t p;
    play_start(&p, KRAKEN, args);
    p.cfg.send = other;
    p.cfg.n_send = 1;
    play_run(&p, false);
    assert_int_equal(p.r.n_msgs, p.e.n);
    assert_non_null(strstr(play_end(&p), "differs from the recorded one"));
}

static void test_no_gate_streams_at_once_without_subscribes(void **st)
{
    const char *args[] = {"--max", "--no-gate", "@" KRAKEN, NULL};
    play_t p;
    play_start(&p, KRAKEN, args);
    p.cfg.send = NULL;
    p.cfg.n_send = 0;
    play_run(&p, true);
    play_end(&p);
}

static void test_url_subscription_query_is_checked_against_the_recorded_url(void **st)
{
    it_expect_t e;
    it_expect_load(&e, g_recs, BINANCE, 100);
    const char *q = strchr(e.r->url, '?');
    assert_non_null(q);
    const char *args[] = {"--max", "@" BINANCE, NULL};
    it_srv_t s;
    server_start(&s, args);
    char path[600];
    snprintf(path, sizeof(path), "/stream%s", q);
    tool_replay_client_cfg_t cfg = {.path = path};
    tool_replay_client_res_t r;
    client_run(&s, &cfg, &r, 1);
    assert_int_equal(r.frames, e.n);
    tool_replay_client_res_free(&r);
    char *log = it_srv_stop_log(&s);
    assert_null(strstr(log, "client asked for"));

    server_start(&s, args);
    cfg.path = "/stream?streams=ethusdt@trade";
    client_run(&s, &cfg, &r, 1);
    assert_int_equal(r.frames, e.n);
    tool_replay_client_res_free(&r);
    log = it_srv_stop_log(&s);
    assert_non_null(strstr(log, "client asked for ?streams=ethusdt@trade"));
    it_expect_free(&e);
}

/* ---- tests: pace ---- */

/* OKX paced by args (--speed 10 or --rate 2000): first to last frame must take the wanted
 * time, within -10% and +30% + 0.3 s. */
static void assert_paced(const char *const *args, bool by_rate)
{
    play_t p;
    play_start(&p, OKX, args);
    const it_expect_t *e = &p.e;
    /* --speed 10: a tenth of the recorded span between the first and last websocket frame;
     * --rate 2000: frame i goes at i / rate, so (n - 1) / rate whatever was recorded */
    double want =
        by_rate ? (double)(e->n - 1) / 2000.0 : (double)(e->ts[e->n - 1] - e->ts[0]) / 1e9 / 10.0;
    play_run(&p, false);
    assert_int_equal(p.r.n_msgs, e->n);
    double got = (double)(p.r.t_last_us - p.r.t_first_us) / 1e6;
    print_message("%zu frames at %s %s: want %.3f s, replayed in %.3f s\n", e->n, args[0], args[1],
                  want, got);
    assert_true(got > want * 0.9);
    assert_true(got < want * 1.3 + 0.3);
    play_end(&p);
}

static void test_speed_ten_plays_at_a_tenth_of_the_recorded_span(void **st)
{
    const char *args[] = {"--speed", "10", "@" OKX, NULL};
    assert_paced(args, false);
}

static void test_rate_sends_frames_evenly_at_n_per_second(void **st)
{
    const char *args[] = {"--rate", "2000", "@" OKX, NULL};
    assert_paced(args, true);
}

/* ---- tests: REST ---- */

/* GET path must answer 200 with the body of rel's first in-band snapshot line of stream. */
static void assert_recorded_body(int port, bool tls, const char *path, const char *rel,
                                 const char *stream)
{
    size_t wl, gl;
    char *want = recorded_body(rel, stream, &wl), *got;
    assert_int_equal(it_http_get(port, tls, path, &got, &gl), 200);
    assert_int_equal(gl, wl);
    assert_memory_equal(got, want, wl);
    free(got);
    free(want);
}

static void test_rest_snapshots_are_the_recorded_bodies_byte_for_byte(void **st)
{
    static const struct {
        const char *rel, *stream, *path;
    } cases[] = {
        {BINANCE, "btcusdt@depthSnapshot",
         "/rec/hftbacktest_spot_btcusdt_20240808/api/v3/depth?symbol=BTCUSDT&limit=1000"},
        {BINANCE10, "zilusdt@depthSnapshot",
         "/rec/cryptofeed_1312c062_BINANCE-b38f7c/api/v3/depth?symbol=zilusdt"},
        {BITSTAMP, "diff_order_book_btcusdc@depthSnapshot",
         "/rec/cryptofeed_1312c062_BITSTAMP-b88f8b/api/v2/order_book/BTCUSDC/"},
    };
    const char *args[] = {"@" BINANCE, "@" BINANCE10, "@" BITSTAMP, NULL};
    it_srv_t s;
    server_start(&s, args);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        assert_recorded_body(s.port, false, cases[i].path, cases[i].rel, cases[i].stream);
    char *got;
    size_t gl;
    assert_int_equal(
        it_http_get(s.port, false,
                    "/rec/hftbacktest_spot_btcusdt_20240808/api/v3/depth?symbol=ETHUSDT", &got,
                    &gl),
        404);
    assert_non_null(strstr(got, "unknown symbol"));
    free(got);
    it_srv_stop_log(&s);
}

static void test_rest_snapshot_over_https_at_the_short_path_with_one_file(void **st)
{
    const char *cert = g_tls.cert, *key = g_tls.key;
    const char *args[] = {"--tls", "--cert", cert, "--key", key, "@" BINANCE, NULL};
    it_srv_t s;
    server_start(&s, args);
    assert_recorded_body(s.port, true, "/api/v3/depth?symbol=btcUSDT&limit=5000", BINANCE,
                         "btcusdt@depthSnapshot");
    it_srv_stop_log(&s);
}

/* The venue's historicalTrades object for recorded frame f if it is a @trade frame (built
 * here by plain text search, independently of the server's JSON parse), else NULL. */
static char *trade_object(const char *f, size_t len, uint64_t *id)
{
    if (!memmem(f, len < 64 ? len : 64, "@trade\"", 7))
        return NULL;
    const char *keys[] = {"\"t\":", "\"p\":\"", "\"q\":\"", "\"T\":", "\"m\":", "\"M\":"};
    char v[6][64];
    for (int k = 0; k < 6; k++) {
        const char *p = strstr(f, keys[k]);
        assert_non_null(p);
        p += strlen(keys[k]);
        size_t n = strcspn(p, "\",}");
        assert_true(n > 0 && n < sizeof(v[k]));
        memcpy(v[k], p, n);
        v[k][n] = 0;
    }
    *id = strtoull(v[0], NULL, 10);
    char *o = malloc(512);
    snprintf(o, 512,
             "{\"id\":%s,\"price\":\"%s\",\"qty\":\"%s\",\"time\":%s,\"isBuyerMaker\":%s,"
             "\"isBestMatch\":%s}",
             v[0], v[1], v[2], v[3], v[4], v[5]);
    return o;
}

/* The expected answer: trades of frames [0, upto) with id >= from, at most limit. */
static char *trades_want(const it_expect_t *e, size_t upto, uint64_t from, size_t limit, size_t *n)
{
    size_t cap = 256 * upto + 16, len = 0; /* an object is < 256 bytes */
    char *b = malloc(cap);
    b[len++] = '[';
    *n = 0;
    for (size_t i = 0; i < upto && *n < limit; i++) {
        uint64_t id;
        char *o = trade_object(e->f[i], e->len[i], &id);
        if (o && id >= from) {
            len += (size_t)snprintf(b + len, cap - len, "%s%s", *n ? "," : "", o);
            ++*n;
        }
        free(o);
    }
    snprintf(b + len, cap - len, "]");
    return b;
}

/* GET path answers 200 with exactly want (its n trades: want_n expected); want freed. */
static void assert_get_trades(int port, const char *path, char *want, size_t n, size_t want_n)
{
    char *got;
    size_t gl;
    assert_int_equal(it_http_get(port, false, path, &got, &gl), 200);
    assert_int_equal(n, want_n);
    assert_string_equal(got, want);
    free(got);
    free(want);
}

static void assert_trades(int port, const it_expect_t *e, size_t upto, uint64_t from,
                          const char *lim, size_t limit, size_t want_n)
{
    char path[256];
    size_t n;
    snprintf(path, sizeof(path), "/api/v3/historicalTrades?symbol=BTCUSDT&fromId=%llu%s",
             (unsigned long long)from, lim);
    char *want = trades_want(e, upto, from, limit, &n);
    assert_get_trades(port, path, want, n, want_n);
}

/* Load rel into e and start s on it: --max --hold --resume away, the first connection dropped
 * after drop frames. */
static void resume_start(it_expect_t *e, it_srv_t *s, const char *rel, const char *away, int drop)
{
    it_expect_load(e, g_recs, rel, 100);
    char fault[64], at[256];
    snprintf(fault, sizeof(fault), "drop-after=%d,times=1", drop);
    snprintf(at, sizeof(at), "@%s", rel);
    const char *args[] = {"--max", "--hold", "--resume", away, "--fault", fault, at, NULL};
    server_start(s, args);
}

/*
 * --resume: one timeline per recording. The first connection is dropped after 2000 frames,
 * the next one starts 500 frames later (published while away). historicalTrades serves the
 * recording's @trade frames published so far, ids from fromId, at most limit (500 by default,
 * 1000 at most), bodies exactly the recorded values.
 */
static void test_trade_history_serves_the_published_trades_from_fromid_with_limit(void **st)
{
    it_expect_t e;
    it_srv_t s;
    resume_start(&e, &s, BINANCE, "500", 2000);
    uint64_t first = 0;
    for (size_t i = 0; i < e.n && !first; i++)
        free(trade_object(e.f[i], e.len[i], &first));
    assert_true(first > 0);
    char *got;
    size_t gl, n;
    /* nothing published yet */
    assert_int_equal(
        it_http_get(s.port, false, "/api/v3/historicalTrades?symbol=BTCUSDT", &got, &gl), 200);
    assert_string_equal(got, "[]");
    free(got);
    tool_replay_client_cfg_t cfg = {.collect = true};
    tool_replay_client_res_t r;
    client_run(&s, &cfg, &r, 1);
    assert_int_equal(r.n_msgs, 2000);
    tool_replay_client_res_free(&r);
    /* the first connection's trades: fewer than 1000 in 2000 frames, all of them */
    free(trades_want(&e, 2000, 0, SIZE_MAX, &n));
    assert_true(n > 100 && n < 1000);
    assert_trades(s.port, &e, 2000, first, "&limit=1000", 1000, n);
    /* the second connection starts 500 frames later: frame 2501 first */
    cfg.timeout_ms = 3000; /* --hold: ends on the timeout */
    client_run(&s, &cfg, &r, 1);
    assert_true(r.n_msgs == e.n - 2500);
    assert_memory_equal(r.msgs[0].data, e.f[2500], e.len[2500]);
    tool_replay_client_res_free(&r);
    /* now every trade is published, the 500 frames nobody received included */
    assert_trades(s.port, &e, e.n, first, "&limit=1000", 1000, 1000);
    assert_trades(s.port, &e, e.n, first + 400, "&limit=5000", 1000, 1000); /* capped */
    assert_trades(s.port, &e, e.n, first + 700, "", 500, 500);              /* default */
    free(trades_want(&e, e.n, 0, SIZE_MAX, &n));
    assert_trades(s.port, &e, e.n, first + n - 3, "&limit=10", 10, 3); /* the last three */
    /* ids are continuous from fromId */
    assert_int_equal(it_http_get(s.port, false,
                                 "/api/v3/historicalTrades?symbol=btcusdt&limit=1000&fromId=0",
                                 &got, &gl),
                     200);
    uint64_t want_id = first;
    for (const char *p = got; (p = strstr(p, "{\"id\":")); p++)
        assert_int_equal(strtoull(p + 6, NULL, 10), want_id++);
    assert_int_equal(want_id, first + 1000);
    free(got);
    /* a symbol without trades, a bad fromId, a route without recorded aggTrades */
    assert_int_equal(
        it_http_get(s.port, false, "/api/v3/historicalTrades?symbol=ETHUSDT", &got, &gl), 400);
    assert_non_null(strstr(got, "-1121"));
    free(got);
    assert_int_equal(
        it_http_get(s.port, false, "/api/v3/historicalTrades?symbol=BTCUSDT&fromId=x", &got, &gl),
        400);
    assert_non_null(strstr(got, "-1100"));
    free(got);
    assert_int_equal(it_http_get(s.port, false, "/api/v3/aggTrades?symbol=BTCUSDT", &got, &gl),
                     400);
    free(got);
    it_srv_stop_log(&s);
    it_expect_free(&e);
}

/* The text of field key ("key": followed by a string or a number) in frame f, in v. */
static void cb_field(const char *f, const char *key, char *v, size_t cap)
{
    char k[32];
    snprintf(k, sizeof(k), "\"%s\":", key);
    const char *p = strstr(f, k);
    assert_non_null(p);
    p += strlen(k);
    p += *p == '"';
    size_t n = strcspn(p, "\",}");
    assert_true(n > 0 && n < cap);
    memcpy(v, p, n);
    v[n] = 0;
}

/* Coinbase's REST trade object for recorded frame f if it is a `match` of product (built here
 * by plain text search, independently of the server's JSON parse), else NULL. */
static char *cb_trade_object(const char *f, size_t len, const char *product, uint64_t *id)
{
    static const char pre[] = "{\"type\":\"match\"";
    char prod[32], v[5][64];
    if (len < sizeof(pre) || memcmp(f, pre, sizeof(pre) - 1) != 0)
        return NULL;
    cb_field(f, "product_id", prod, sizeof(prod));
    if (product && strcmp(prod, product) != 0)
        return NULL;
    static const char *const keys[] = {"time", "trade_id", "price", "size", "side"};
    for (int k = 0; k < 5; k++)
        cb_field(f, keys[k], v[k], sizeof(v[k]));
    *id = strtoull(v[1], NULL, 10);
    char *o = malloc(512);
    snprintf(o, 512,
             "{\"time\":\"%s\",\"trade_id\":%s,\"price\":\"%s\",\"size\":\"%s\",\"side\":\"%s\"}",
             v[0], v[1], v[2], v[3], v[4]);
    return o;
}

/* The expected answer: product's matches of frames [0, upto) with ids in (lo, hi), newest
 * first, at most limit (the newest ones, or with oldest the oldest ones). */
static char *cb_trades_want(const it_expect_t *e, const char *product, size_t upto, uint64_t lo,
                            uint64_t hi, size_t limit, bool oldest, size_t *n)
{
    char **o = calloc(upto + 1, sizeof(*o));
    size_t m = 0;
    for (size_t i = 0; i < upto; i++) { /* ids ascend in frame order in this recording */
        uint64_t id;
        char *t = cb_trade_object(e->f[i], e->len[i], product, &id);
        if (t && id > lo && id < hi)
            o[m++] = t;
        else
            free(t);
    }
    size_t first = oldest || m <= limit ? 0 : m - limit,
           last = first + limit < m ? first + limit : m;
    size_t cap = 512 * (m + 1), len = 0;
    char *b = malloc(cap);
    b[len++] = '[';
    for (size_t i = last; i-- > first;)
        len += (size_t)snprintf(b + len, cap - len, "%s%s", i + 1 < last ? "," : "", o[i]);
    snprintf(b + len, cap - len, "]");
    for (size_t i = 0; i < m; i++)
        free(o[i]);
    free(o);
    *n = last - first;
    return b;
}

static void assert_cb_trades(int port, const it_expect_t *e, const char *query, size_t upto,
                             uint64_t lo, uint64_t hi, size_t limit, bool oldest, size_t want_n)
{
    char path[256];
    size_t n;
    snprintf(path, sizeof(path), "/products/SKL-USD/trades%s", query);
    char *want = cb_trades_want(e, "SKL-USD", upto, lo, hi, limit, oldest, &n);
    assert_get_trades(port, path, want, n, want_n);
}

/*
 * Coinbase: --resume, the first connection dropped after 3000 frames, the next one starts 800
 * frames later. /products/<P>/trades serves the published `match` frames (never last_match)
 * newest first, `after` (ids below), `before` (ids above, the page just above), `limit`; 404
 * for a product without matches. The second connection first gets a last_match per product:
 * its newest published match.
 */
static void test_coinbase_trades_serve_the_published_matches_with_cursors(void **st)
{
    it_expect_t e;
    it_srv_t s;
    resume_start(&e, &s, COINBASE, "800", 3000);
    char *got;
    size_t gl, n;
    assert_int_equal(it_http_get(s.port, false, "/products/SKL-USD/trades", &got, &gl), 200);
    assert_string_equal(got, "[]"); /* nothing published yet */
    free(got);
    tool_replay_client_cfg_t cfg = {.collect = true, .send = e.r->sent, .n_send = e.r->n_sent};
    tool_replay_client_res_t r;
    client_run(&s, &cfg, &r, 1);
    assert_int_equal(r.n_msgs, 3000);
    tool_replay_client_res_free(&r);
    /* the first connection's: all SKL-USD matches of 3000 frames, newest first */
    free(cb_trades_want(&e, "SKL-USD", 3000, 0, UINT64_MAX, SIZE_MAX, false, &n));
    assert_true(n >= 5);
    assert_cb_trades(s.port, &e, "", 3000, 0, UINT64_MAX, 1000, false, n);
    /* the second connection: a last_match per product (its newest match of frames [0, 3800)),
       in the order the products first trade, then frame 3801 */
    cfg.timeout_ms = 3000; /* --hold: ends on the timeout */
    client_run(&s, &cfg, &r, 1);
    size_t k = 0;
    char seen[16][32];
    for (size_t i = 0; i < 3800; i++) {
        uint64_t id;
        char *o = cb_trade_object(e.f[i], e.len[i], NULL, &id), prod[32];
        bool match = o != NULL;
        free(o);
        if (!match)
            continue;
        cb_field(e.f[i], "product_id", prod, sizeof(prod));
        bool dup = false;
        for (size_t j = 0; j < k; j++)
            dup |= strcmp(seen[j], prod) == 0;
        if (dup)
            continue;
        assert_true(k < 16);
        snprintf(seen[k], sizeof(seen[k]), "%s", prod);
        size_t last = i;
        for (size_t j = i; j < 3800; j++) {
            char *t = cb_trade_object(e.f[j], e.len[j], prod, &id);
            last = t ? j : last;
            free(t);
        }
        char want[2048];
        snprintf(want, sizeof(want), "{\"type\":\"last_match\"%.*s",
                 (int)(e.len[last] - strlen("{\"type\":\"match\"")),
                 e.f[last] + strlen("{\"type\":\"match\""));
        assert_true(k < r.n_msgs);
        assert_int_equal(r.msgs[k].len, strlen(want));
        assert_memory_equal(r.msgs[k].data, want, strlen(want));
        k++;
    }
    assert_true(k >= 5);
    assert_int_equal(r.n_msgs, k + e.n - 3800);
    assert_memory_equal(r.msgs[k].data, e.f[3800], e.len[3800]);
    tool_replay_client_res_free(&r);
    /* now every match is published, those of the 800 frames nobody received included */
    free(cb_trades_want(&e, "SKL-USD", e.n, 0, UINT64_MAX, SIZE_MAX, false, &n));
    assert_int_equal(n, 52);
    assert_cb_trades(s.port, &e, "", e.n, 0, UINT64_MAX, 1000, false, 52);
    assert_cb_trades(s.port, &e, "?limit=5000", e.n, 0, UINT64_MAX, 1000, false, 52); /* capped */
    assert_cb_trades(s.port, &e, "?after=1568300&limit=5", e.n, 0, 1568300, 5, false, 5);
    assert_cb_trades(s.port, &e, "?limit=3&before=1568280", e.n, 1568280, UINT64_MAX, 3, true, 3);
    assert_cb_trades(s.port, &e, "?after=1568268", e.n, 0, 1568268, 1000, false, 0);
    /* CRV-EUR has only its last_match (from before the session): no trade history; unknown
       products and bad cursors */
    assert_int_equal(it_http_get(s.port, false, "/products/CRV-EUR/trades", &got, &gl), 404);
    assert_string_equal(got, "{\"message\":\"NotFound\"}");
    free(got);
    assert_int_equal(it_http_get(s.port, false, "/products/BTC-USD/trades", &got, &gl), 404);
    free(got);
    assert_int_equal(it_http_get(s.port, false, "/products/SKL-USD/trades?after=x", &got, &gl),
                     400);
    free(got);
    it_srv_stop_log(&s);
    it_expect_free(&e);
}

/* ---- tests: faults ---- */

static void drop_after(bool tls)
{
    const char *cert = g_tls.cert, *key = g_tls.key;
    const char *args_ws[] = {"--max", "--fault", "drop-after=100,times=1", "@" KRAKEN, NULL};
    const char *args_wss[] = {
        "--max",    "--fault", "drop-after=100,times=1", "--tls", "--cert", cert, "--key", key,
        "@" KRAKEN, NULL};
    play_t p;
    play_start(&p, KRAKEN, tls ? args_wss : args_ws);
    p.cfg.tls = tls;
    play_run(&p, false);
    assert_true(p.r.connected);
    assert_int_equal(p.r.n_msgs, 100);
    assert_int_equal(p.r.close_status, -1);
    for (size_t i = 0; i < 100; i++)
        assert_memory_equal(p.r.msgs[i].data, p.e.f[i], p.e.len[i]);
    play_run(&p, false); /* second connection: not affected */
    assert_int_equal(p.r.n_msgs, p.e.n);
    assert_int_equal(p.r.close_status, 1000);
    char *log = play_end(&p);
    assert_non_null(strstr(log, "fault drop-after=100,times=1: dropping TCP after 100 frames"));
}

static void test_drop_after_closes_without_close_frame_for_the_first_connections_only(void **st)
{
    drop_after(false);
    drop_after(true);
}

static void test_stall_pauses_after_the_given_frame(void **st)
{
    const char *args[] = {"--max", "--fault", "stall=1000@50", "@" KRAKEN, NULL};
    play_t p;
    play(&p, KRAKEN, args, true);
    const tool_replay_client_msg_t *m = p.r.msgs;
    int64_t gap = m[50].t_us - m[49].t_us; /* frames 50 -> 51 (1-based) */
    assert_true(gap >= 990000);
    /* only that one: no other pause of the stall's length (the time of the whole rest was
     * compared before, and a loaded machine can take a second over it at --max) */
    for (size_t i = 1; i < p.r.n_msgs; i++)
        if (i != 50 && m[i].t_us - m[i - 1].t_us >= 990000)
            fail_msg("a second stall: %lld us before frame %zu",
                     (long long)(m[i].t_us - m[i - 1].t_us), i + 1);
    assert_non_null(strstr(play_end(&p), "stalling 1000 ms after frame 50"));
}

static void test_corrupt_and_truncate_change_only_their_frames(void **st)
{
    const char *args[] = {"--max", "--fault", "corrupt@5", "--fault", "truncate@9", "@" OKEX, NULL};
    play_t p;
    play_start(&p, OKEX, args);
    const it_expect_t *e = &p.e;
    play_run(&p, false);
    assert_int_equal(p.r.n_msgs, e->n);
    for (size_t i = 0; i < e->n; i++) {
        const tool_replay_client_msg_t *m = &p.r.msgs[i];
        if (i == 4) { /* frame 5: same length, some bytes differ */
            assert_int_equal(m->len, e->len[i]);
            size_t diff = 0;
            for (size_t k = 0; k < m->len; k++)
                diff += m->data[k] != e->f[i][k];
            assert_true(diff >= 1 && diff <= 8);
            assert_true(m->data[0] != '{');
        } else if (i == 8) { /* frame 9: first half */
            assert_int_equal(m->len, e->len[i] / 2);
            assert_memory_equal(m->data, e->f[i], m->len);
        } else {
            assert_int_equal(m->len, e->len[i]);
            assert_memory_equal(m->data, e->f[i], m->len);
        }
    }
    char *log = play_end(&p);
    assert_non_null(strstr(log, "corrupted frame 5"));
    assert_non_null(strstr(log, "truncated frame 9"));
}

static void test_oversize_sends_a_junk_frame_over_one_mebibyte_before_the_frame(void **st)
{
    const char *args[] = {"--max", "--fault", "oversize@3", "@" OKEX, NULL};
    play_t p;
    play(&p, OKEX, args, false);
    assert_int_equal(p.r.n_msgs, p.e.n + 1);
    const tool_replay_client_msg_t *m = p.r.msgs;
    assert_true(m[2].len > (1u << 20));
    assert_null(memchr(m[2].data, '{', m[2].len));
    for (size_t i = 0, j = 0; i < p.e.n; i++, j++) {
        if (j == 2)
            j++;
        assert_int_equal(m[j].len, p.e.len[i]);
        assert_memory_equal(m[j].data, p.e.f[i], p.e.len[i]);
    }
    assert_non_null(strstr(play_end(&p), "junk frame before frame 3"));
}

static void test_bad_options_are_refused(void **st)
{
    const char *bad[][4] = {
        {"--fault", "explode@3", NULL}, {"--fault", "stall=10", NULL}, {"--tls", NULL},
        {"--speed", "0", NULL},         {"--rate", "0", NULL},         {"--rate", "fast", NULL}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pid_t p = fork();
        assert_true(p >= 0);
        if (p == 0) {
            int nul = open("/dev/null", O_WRONLY);
            dup2(nul, 2);
            dup2(nul, 1);
            char path[1024];
            snprintf(path, sizeof(path), "%s/%s", g_recs, OKX);
            const char *argv[8] = {g_bin, "serve"};
            size_t n = 2;
            for (size_t k = 0; bad[i][k]; k++)
                argv[n++] = bad[i][k];
            argv[n++] = path;
            argv[n] = NULL;
            execv(g_bin, (char *const *)argv);
            _exit(127);
        }
        int stt;
        assert_int_equal(waitpid(p, &stt, 0), p);
        assert_true(WIFEXITED(stt));
        assert_int_equal(WEXITSTATUS(stt), 2);
    }
}

int main(void)
{
    static const struct CMUnitTest tests[] = {
        {"test_kraken_frames_arrive_byte_identical_and_in_order_over_ws", test_frames_identical,
         NULL, NULL, &k_frames_kraken},
        {"test_okex_frames_arrive_byte_identical_and_in_order_over_wss", test_frames_identical,
         NULL, NULL, &k_frames_okex},
        {"test_binance_spot_zstd_recording_arrives_byte_identical_over_ws_and_wss",
         test_frames_identical, NULL, NULL, &k_frames_binance},
        cmocka_unit_test(test_three_clients_at_once_each_get_the_whole_recording),
        cmocka_unit_test(test_each_file_is_served_at_its_own_path_and_unknown_paths_are_refused),
        cmocka_unit_test(test_loop_two_replays_the_recording_twice),
        cmocka_unit_test(test_nothing_is_streamed_before_the_client_subscribes),
        cmocka_unit_test(
            test_subscribes_are_awaited_until_all_sent_or_quiet_and_blanks_do_not_matter),
        cmocka_unit_test(test_a_different_subscribe_is_logged_and_streaming_goes_on),
        cmocka_unit_test(test_no_gate_streams_at_once_without_subscribes),
        cmocka_unit_test(test_url_subscription_query_is_checked_against_the_recorded_url),
        cmocka_unit_test(test_speed_ten_plays_at_a_tenth_of_the_recorded_span),
        cmocka_unit_test(test_rate_sends_frames_evenly_at_n_per_second),
        cmocka_unit_test(test_rest_snapshots_are_the_recorded_bodies_byte_for_byte),
        cmocka_unit_test(test_rest_snapshot_over_https_at_the_short_path_with_one_file),
        cmocka_unit_test(test_trade_history_serves_the_published_trades_from_fromid_with_limit),
        cmocka_unit_test(test_coinbase_trades_serve_the_published_matches_with_cursors),
        cmocka_unit_test(test_drop_after_closes_without_close_frame_for_the_first_connections_only),
        cmocka_unit_test(test_stall_pauses_after_the_given_frame),
        cmocka_unit_test(test_corrupt_and_truncate_change_only_their_frames),
        cmocka_unit_test(test_oversize_sends_a_junk_frame_over_one_mebibyte_before_the_frame),
        cmocka_unit_test(test_bad_options_are_refused),
    };
    return it_replay_main(&g_bin, &g_recs, &g_root, &g_tls, "replay", tests,
                          sizeof(tests) / sizeof(tests[0]));
}
