/* SPDX-License-Identifier: MIT */
/*
 * tickgate-replay serve --live-snapshots (issue 13): a Binance REST depth answer is the book as
 * of the frames already sent. A websocket client reads the first 2000 frames of the BTCUSDT
 * spot recording (the server stalls after them), the test then GETs the snapshot and compares
 * it with its own rebuild: the recorded snapshot plus every received depthUpdate with
 * u > lastUpdateId, levels kept as fixed-point values (book/tg_dec.h) in a plain unsorted
 * table, sorted at the end. lastUpdateId must be the u of the last diff received. Without the
 * option the answer is the recorded body. With --clone the answer for a clone follows the newest
 * connection subscribed to it (one stalled after 100 frames), not the furthest published.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "book/tg_dec.h"
#include "tests/fixtures/it_http_get.h"
#include "tests/fixtures/replay_proc.h"
#include "tools/replay/tool_replay.h"
#include "tools/replay/tool_replay_client.h"
#include "tests/fixtures/tu_main.h"

#define REC    "binance/hftbacktest_spot_btcusdt_20240808.tgrec.zst"
#define STALL  2000 /* frames sent before the server stalls */
#define EARLY  100  /* --clone: frames sent to the first connection before it stalls */
#define SCALE  8
#define MAX_LV 16384

static const char *bin, *recs;

/* ---- the server and HTTP ---- */

/* Start the server on REC with args; its stderr goes to errfd when >= 0. */
static pid_t srv_start(const char *const *args, int errfd, int *port)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", recs, REC);
    const char *argv[32] = {bin, "serve", "--port", "0", "--quiet"};
    size_t n = 5;
    for (size_t i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n++] = path;
    argv[n] = NULL;
    pid_t pid = replay_proc_spawn(argv, errfd, true, port);
    assert_true(pid > 0);
    return pid;
}

/* ---- the test's own book ---- */

typedef struct tlv {
    int64_t p, q;
} tlv_t;

typedef struct tbook {
    tlv_t v[2][MAX_LV]; /* 0 bids, 1 asks; unsorted */
    size_t n[2];
} tbook_t;

static int64_t dec(const char *s, size_t n)
{
    int64_t v;
    assert_int_equal(tg_dec_parse(s, n, SCALE, &v), 0);
    return v;
}

/* Call fn for each ["p","q"] of the array at s ('['). @return after its ']'. */
static const char *each_level(const char *s, void (*fn)(void *, int, int64_t, int64_t), void *u,
                              int side)
{
    assert_int_equal(*s, '[');
    s++;
    while (*s != ']') {
        if (*s == ',')
            s++;
        assert_true(s[0] == '[' && s[1] == '"');
        const char *p = s + 2, *pe = strchr(p, '"');
        assert_true(pe[1] == ',' && pe[2] == '"');
        const char *q = pe + 3, *qe = strchr(q, '"');
        assert_int_equal(qe[1], ']');
        fn(u, side, dec(p, (size_t)(pe - p)), dec(q, (size_t)(qe - q)));
        s = qe + 2;
    }
    return s + 1;
}

static void tb_set(void *u, int side, int64_t p, int64_t q)
{
    tbook_t *b = u;
    size_t i = 0;
    while (i < b->n[side] && b->v[side][i].p != p)
        i++;
    if (q == 0) {
        if (i < b->n[side])
            b->v[side][i] = b->v[side][--b->n[side]];
        return;
    }
    if (i == b->n[side]) {
        assert_true(b->n[side] < MAX_LV);
        b->n[side]++;
    }
    b->v[side][i] = (tlv_t){p, q};
}

static void tb_add(void *u, int side, int64_t p, int64_t q)
{
    tbook_t *b = u;
    assert_true(b->n[side] < MAX_LV);
    b->v[side][b->n[side]++] = (tlv_t){p, q};
}

static int by_price_desc(const void *a, const void *b)
{
    int64_t x = ((const tlv_t *)a)->p, y = ((const tlv_t *)b)->p;
    return x < y ? 1 : x > y ? -1 : 0;
}

static int by_price_asc(const void *a, const void *b)
{
    return -by_price_desc(a, b);
}

static void tb_sort(tbook_t *b)
{
    qsort(b->v[0], b->n[0], sizeof(tlv_t), by_price_desc);
    qsort(b->v[1], b->n[1], sizeof(tlv_t), by_price_asc);
}

static uint64_t num_after(const char *s, const char *key)
{
    const char *f = strstr(s, key);
    assert_non_null(f);
    return strtoull(f + strlen(key), NULL, 10);
}

/* Load a REST depth body into b (levels in the body's order). @return its lastUpdateId. */
static uint64_t tb_load(tbook_t *b, const char *body)
{
    memset(b->n, 0, sizeof(b->n));
    each_level(strstr(body, "\"bids\":") + 7, tb_add, b, 0);
    each_level(strstr(body, "\"asks\":") + 7, tb_add, b, 1);
    return num_after(body, "\"lastUpdateId\":");
}

/* The answer `got` must hold want's best `lim` levels a side, in order, and lastUpdateId id. */
static void assert_answer(const char *got, tbook_t *want, size_t lim, uint64_t id)
{
    static tbook_t g;
    assert_int_equal(tb_load(&g, got), id);
    for (int s = 0; s < 2; s++) {
        size_t n = want->n[s] < lim ? want->n[s] : lim;
        assert_int_equal(g.n[s], n);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(g.v[s][i].p, want->v[s][i].p);
            assert_int_equal(g.v[s][i].q, want->v[s][i].q);
        }
    }
}

static const tool_replay_snap_t *recorded(tool_replay_rec_t *rec)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", recs, REC);
    assert_int_equal(tool_replay_rec_load(rec, path), 0);
    const tool_replay_snap_t *sn = tool_replay_rec_snapshot(rec, "btcusdt");
    assert_non_null(sn);
    return sn;
}

/* ---- tests ---- */

/* Without --live-snapshots the recorded body, whatever was sent; with it and nothing sent yet,
 * the recorded body too. */
static void test_without_the_option_the_recorded_snapshot(void **st)
{
    (void)st;
    tool_replay_rec_t rec;
    const tool_replay_snap_t *sn = recorded(&rec);
    const char *plain[] = {"--max", "--no-gate", NULL}, *live[] = {"--live-snapshots", NULL};
    for (int k = 0; k < 2; k++) {
        int port;
        pid_t pid = srv_start(k ? live : plain, -1, &port);
        if (k == 0) { /* a connection first: the whole recording sent */
            tool_replay_client_cfg_t cfg = {.port = port, .timeout_ms = 30000};
            tool_replay_client_res_t res;
            assert_int_equal(tool_replay_client_run(&cfg, &res, 1), 0);
            assert_int_equal(res.frames, rec.n_frames);
            tool_replay_client_res_free(&res);
        }
        char *body;
        size_t blen;
        assert_int_equal(
            it_http_get(port, false, "/api/v3/depth?symbol=BTCUSDT&limit=1000", &body, &blen), 200);
        assert_int_equal(strlen(body), sn->len);
        assert_memory_equal(body, sn->body, sn->len);
        free(body);
        replay_proc_stop(pid);
    }
    tool_replay_rec_free(&rec);
}

typedef struct client_run {
    tool_replay_client_cfg_t cfg;
    tool_replay_client_res_t res;
} client_run_t;

static void *client_thread(void *arg)
{
    client_run_t *c = arg;
    tool_replay_client_run(&c->cfg, &c->res, 1);
    return NULL;
}

/* A websocket on /stream that sends msg (< 126 bytes) and then reads nothing. @return the
 * socket. */
static int ws_open_sub(int port, const char *msg)
{
    int fd = it_tcp_connect(port);
    char req[512], rsp[1024] = {0};
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     "/stream");
    assert_int_equal(write(fd, req, (size_t)n), n);
    size_t got = 0;
    while (got < sizeof(rsp) - 1 && !strstr(rsp, "\r\n\r\n")) {
        ssize_t r = read(fd, rsp + got, sizeof(rsp) - 1 - got);
        assert_true(r > 0);
        got += (size_t)r;
    }
    assert_non_null(strstr(rsp, " 101 "));
    size_t ml = strlen(msg);
    unsigned char f[256] = {0x81, (unsigned char)(0x80 | ml), 1, 2, 3, 4};
    assert_true(ml < 126);
    for (size_t i = 0; i < ml; i++)
        f[6 + i] = (unsigned char)msg[i] ^ f[2 + i % 4];
    assert_int_equal(write(fd, f, 6 + ml), (ssize_t)(6 + ml));
    return fd;
}

/* clone: --clone 3, the client subscribes to BTCUSDT_1 only; a second connection, subscribed
 * to BTCUSDT_2 and not yet streaming, is the one that serves BTCUSDT_2: its answer is the
 * recorded body although 2000 frames were published. */
/* Wait up to 9 s for text in the server's stderr (errfd). */
static bool wait_log(int errfd, const char *text)
{
    static char log[1 << 16];
    for (int i = 0; i < 180; i++) {
        ssize_t n = pread(errfd, log, sizeof(log) - 1, 0);
        log[n > 0 ? n : 0] = 0;
        if (strstr(log, text))
            return true;
        usleep(50000);
    }
    return false;
}

static void run_live(bool clone)
{
    tool_replay_rec_t rec;
    const tool_replay_snap_t *sn = recorded(&rec);
    char *snap = strndup(sn->body, sn->len);
    uint64_t early_u = 0; /* the last u > lastUpdateId in the first EARLY frames */
    for (size_t i = 0; i < EARLY; i++) {
        const char *m = rec.frames[i].data;
        uint64_t u = strstr(m, "depthUpdate") ? num_after(m, "\"u\":") : 0;
        if (u > num_after(snap, "\"lastUpdateId\":"))
            early_u = u;
    }
    tool_replay_rec_free(&rec);
    int port;
    char stall[32];
    snprintf(stall, sizeof(stall), "stall=60000@%d", STALL);
    const char *args[] = {"--live-snapshots", "--max", "--fault", stall, "--no-gate", NULL};
    char early[48];
    snprintf(early, sizeof(early), "stall=60000@%d,times=1", EARLY);
    const char *cargs[] = {"--live-snapshots", "--max", "--fault",      stall, "--fault", early,
                           "--clone",          "3",     "--sub-settle", "100", NULL};
    const char *sym = clone ? "BTCUSDT_1" : "BTCUSDT";
    char errpath[] = "/tmp/tg-replay-live-XXXXXX";
    int errfd = mkstemp(errpath);
    assert_true(errfd >= 0);
    pid_t pid = srv_start(clone ? cargs : args, errfd, &port);
    client_run_t c = {.cfg = {.port = port, .collect = true, .timeout_ms = 10000}};
    if (clone) /* subscribed by its URL alone (connection 1 below by a message) */
        c.cfg.path = "/stream?streams=btcusdt_1@depth@100ms";
    int fd2 = -1;
    if (clone) { /* connection 1 serves BTCUSDT_2 only and stops after EARLY frames */
        fd2 = ws_open_sub(port,
                          "{\"method\":\"SUBSCRIBE\",\"params\":[\"btcusdt_2@depth\"],\"id\":1}");
        char text[64];
        snprintf(text, sizeof(text), "stalling 60000 ms after frame %d", EARLY);
        assert_true(wait_log(errfd, text));
    }
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, client_thread, &c), 0);
    /* the server logs its stall after frame STALL, with the connection open */
    char text[64];
    snprintf(text, sizeof(text), "stalling 60000 ms after frame %d", STALL);
    assert_true(wait_log(errfd, text));
    char *open_body, *open_5, *closed_body, path[128];
    size_t blen;
    snprintf(path, sizeof(path), "/api/v3/depth?symbol=%s&limit=1000", sym);
    assert_int_equal(it_http_get(port, false, path, &open_body, &blen), 200);
    snprintf(path, sizeof(path), "/api/v3/depth?symbol=%s&limit=5", sym);
    assert_int_equal(it_http_get(port, false, path, &open_5, &blen), 200);
    if (clone) { /* BTCUSDT_2: as of connection 1's EARLY frames, not the STALL published */
        char *b2;
        assert_int_equal(
            it_http_get(port, false, "/api/v3/depth?symbol=BTCUSDT_2&limit=1000", &b2, &blen), 200);
        if (early_u == 0)
            assert_string_equal(b2, snap);
        else
            assert_int_equal(num_after(b2, "\"lastUpdateId\":"), early_u);
        assert_int_not_equal(num_after(b2, "\"lastUpdateId\":"),
                             num_after(open_body, "\"lastUpdateId\":"));
        free(b2);
        close(fd2);
    }
    pthread_join(th, NULL);
    assert_true(c.res.timed_out);
    assert_int_equal(c.res.n_msgs, STALL);
    /* the connection is gone: the furthest position sent, the same */
    snprintf(path, sizeof(path), "/api/v3/depth?symbol=%s&limit=1000", sym);
    assert_int_equal(it_http_get(port, false, path, &closed_body, &blen), 200);

    static tbook_t b;
    uint64_t last = tb_load(&b, snap), L = last;
    size_t applied = 0;
    for (size_t i = 0; i < c.res.n_msgs; i++) {
        const char *m = c.res.msgs[i].data;
        if (!strstr(m, "\"e\":\"depthUpdate\""))
            continue;
        uint64_t u = num_after(m, "\"u\":");
        if (u <= L)
            continue;
        each_level(strstr(m, "\"b\":") + 4, tb_set, &b, 0);
        each_level(strstr(m, "\"a\":") + 4, tb_set, &b, 1);
        last = u;
        applied++;
    }
    assert_true(applied > 64); /* past a checkpoint of the server's index */
    tb_sort(&b);
    assert_answer(open_body, &b, 1000, last);
    assert_answer(open_5, &b, 5, last);
    assert_answer(closed_body, &b, 1000, last);
    assert_null(strstr(open_body, "E\":")); /* spot: no futures fields */
    free(open_body);
    free(open_5);
    free(closed_body);
    free(snap);
    tool_replay_client_res_free(&c.res);
    replay_proc_stop(pid);
    close(errfd);
    unlink(errpath);
}

static void test_live_snapshot_is_the_book_as_of_the_frames_sent(void **st)
{
    (void)st;
    run_live(false);
}

static void test_live_snapshot_of_a_clone_follows_its_connection(void **st)
{
    (void)st;
    run_live(true);
}

int main(void)
{
    bin = getenv("TG_REPLAY_BIN");
    recs = getenv("TG_RECORDINGS");
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", recs ? recs : "", REC);
    if (!bin || !recs || access(path, R_OK) != 0) {
        fprintf(stderr, "skip: TG_REPLAY_BIN / TG_RECORDINGS (%s) not set or missing\n", path);
        return 77;
    }
    TU_RETURN_GROUP(NULL, NULL, cmocka_unit_test(test_without_the_option_the_recorded_snapshot),
                    cmocka_unit_test(test_live_snapshot_is_the_book_as_of_the_frames_sent),
                    cmocka_unit_test(test_live_snapshot_of_a_clone_follows_its_connection));
}
