/* SPDX-License-Identifier: MIT */
/*
 * test_it_backfill.c, continued: the replay's OKX history-trades endpoint checked against the
 * recording (every trade published). Included once, by test_it_backfill.c.
 */
#ifndef TEST_IT_BACKFILL_OKX_H
#define TEST_IT_BACKFILL_OKX_H

static const char *okx_hist_rec; /* the OKX recording's path (check_okx_history) */

/* ---- the replay's OKX history-trades, every trade published ---- */

/* OKX's REST trade object of recorded frame f if it is a trades push of inst (by plain text
 * search, apart from the server's JSON parse), else NULL; *id: its tradeId. */
static char *okx_object(const char *f, size_t len, const char *inst, uint64_t *id)
{
    static const char *const keys[] = {"instId", "side", "sz", "px", "tradeId", "ts"};
    char v[6][64], *o;
    if (!memmem(f, len < 64 ? len : 64, k_okx.trade_pre, strlen(k_okx.trade_pre)))
        return NULL;
    for (int i = 0; i < 6; i++) {
        char k[16];
        snprintf(k, sizeof(k), "\"%s\":\"", keys[i]);
        const char *p = strstr(f, k);
        assert_non_null(p);
        assert_int_equal(sscanf(p + strlen(k), "%63[^\"]", v[i]), 1);
    }
    if (strcmp(v[0], inst) != 0)
        return NULL;
    *id = strtoull(v[4], NULL, 10);
    assert_true(asprintf(&o,
                         "{\"instId\":\"%s\",\"side\":\"%s\",\"sz\":\"%s\",\"px\":\"%s\","
                         "\"tradeId\":\"%s\",\"ts\":\"%s\"}",
                         v[0], v[1], v[2], v[3], v[4], v[5]) > 0);
    return o;
}

/* The answer OKX gives for inst's trades with ids in (lo, hi): the newest `limit`, newest
 * first, in its envelope; *n: how many. */
static char *okx_want(const char *inst, uint64_t lo, uint64_t hi, size_t limit, size_t *n)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s", okx_hist_rec);
    feed_tgrec_t *r;
    assert_int_equal(feed_tgrec_open(&r, path), 0);
    char **o = calloc(r->data_lines + 1, sizeof(*o));
    size_t m = 0, len, cap = 64;
    int64_t ts;
    const char *f;
    while (feed_tgrec_next(r, &ts, &f, &len) == 1) { /* ids ascend in frame order here */
        uint64_t id;
        char *t = okx_object(f, len, inst, &id);
        if (t && id > lo && id < hi)
            cap += strlen(o[m++] = t) + 1;
        else
            free(t);
    }
    feed_tgrec_close(&r);
    char *b = malloc(cap);
    size_t k = (size_t)sprintf(b, "{\"code\":\"0\",\"msg\":\"\",\"data\":[");
    *n = m < limit ? m : limit;
    for (size_t i = m; i-- > m - *n;)
        k += (size_t)sprintf(b + k, "%s%s", i + 1 < m ? "," : "", o[i]);
    sprintf(b + k, "]}");
    for (size_t i = 0; i < m; i++)
        free(o[i]);
    free(o);
    return b;
}

/* GET the replay's history-trades with query; its HTTP status, the body in *body. */
static int okx_get(int rport, const char *query, char **body)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v5/market/history-trades?%s", query);
    char *a = itg_http_get(rport, path);
    assert_non_null(a);
    const char *b = strstr(a, "\r\n\r\n");
    assert_non_null(b);
    *body = strdup(b + 4);
    int status = atoi(strchr(a, ' ') + 1);
    free(a);
    return status;
}

static void okx_expect(int rport, const char *query, const char *inst, uint64_t lo, uint64_t hi,
                       size_t limit, size_t want_n)
{
    size_t n;
    char *want = okx_want(inst, lo, hi, limit, &n), *got;
    assert_int_equal(okx_get(rport, query, &got), 200);
    assert_string_equal(got, want);
    assert_int_equal(n, want_n);
    free(want);
    free(got);
}

/* After the run (every frame published): the replay answers as OKX documents for type=1: newest
 * first, `after` (ids below), `before` (ids above; alone: the newest), `limit` (default and
 * cap 100); 400 with OKX's codes for an unknown instId, type 2 and a bad cursor. */
static void check_okx_history(int rport, const char *rec_path)
{
    okx_hist_rec = rec_path;
    okx_expect(rport, "instId=BTC-USDT", "BTC-USDT", 0, UINT64_MAX, 100, 69);
    okx_expect(rport, "instId=BTC-USDT&type=1&limit=1000", "BTC-USDT", 0, UINT64_MAX, 100, 69);
    okx_expect(rport, "instId=BTC-USDT&type=1&after=338476350&limit=5", "BTC-USDT", 0, 338476350, 5,
               5);
    okx_expect(rport, "instId=BTC-USDT&before=338476340&limit=3", "BTC-USDT", 338476340, UINT64_MAX,
               3, 3);
    okx_expect(rport, "instId=BTC-USDT&after=338476350&before=338476340", "BTC-USDT", 338476340,
               338476350, 100, 9);
    okx_expect(rport, "instId=BTC-USDT&after=338476307", "BTC-USDT", 0, 338476307, 100, 0);
    okx_expect(rport, "instId=UNI-USD-SWAP", "UNI-USD-SWAP", 0, UINT64_MAX, 100, 1);
    static const char *const bad[][2] = {{"instId=ETH-USDT", "\"code\":\"51001\""},
                                         {"instId=BTC-USDT&type=2", "\"code\":\"51000\""},
                                         {"instId=BTC-USDT&after=x", "\"code\":\"51000\""},
                                         {"instId=BTC-USDT&limit=0", "\"code\":\"51000\""}};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *got;
        assert_int_equal(okx_get(rport, bad[i][0], &got), 400);
        assert_non_null(strstr(got, bad[i][1]));
        free(got);
    }
}

#endif
