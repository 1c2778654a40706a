/* SPDX-License-Identifier: MIT */
/*
 * test_it_backfill.c, continued: Crypto.com, whose trade backfill is the venue's own subscribe
 * push of recent trades (feeds/venues/feed_bf_snap.h), no REST. The real recording (1143
 * trades of 10 instruments: the first push of each holds its 100 newest, then 143 live) served
 * with 5 drops of 300 frames then 200 away; at each reconnect the replay sends per instrument
 * the push of its N newest published trades (--trade-snapshot N), as Crypto.com does with 100.
 * The expected outcome is simulated here from the recording's text, apart from the replay:
 *  - N = 100: every trade of the recording stored exactly once, no trade gap row; the trades
 *    of the frames nobody received come from the pushes (tickgate_feed_backfill_trades_total
 *    counts exactly them);
 *  - N = 2 (what a drop longer than 100 trades of an instrument does with 100): exactly the
 *    trades neither received nor in a push are missing, each inside a trade gap row of its
 *    instrument bounded by time (reason 10), no stored trade strictly inside one;
 *  - N = 0 (no push: a venue without history): exactly the trades of the frames nobody
 *    received are missing; the first push after a reconnect bounds the hole, so those followed
 *    by a later trade of their instrument are inside a time-bounded gap row.
 * Included once, by test_it_backfill.c, after the helpers it uses.
 */
#ifndef TEST_IT_BACKFILL_CC_H
#define TEST_IT_BACKFILL_CC_H

#define CC_BF_REC  "crypto-com/cryptofeed_57d5f18d_CRYPTO.COM.ws.1.tgrec.zst"
#define CC_BF_SNAP 100u /* the trades of Crypto.com's push on subscribe */

/* The recording's trades: id, time (ns), instrument, frame, place in its push (0: newest). */
typedef struct cc_bf_trade {
    uint64_t id;
    int64_t ts;
    char sym[32];
    size_t frame;
    int pos;
    bool got; /* received: in a frame some connection gets, or in a push at a reconnect */
} cc_bf_trade_t;

static const bf_case_t k_cc = {.rec = CC_BF_REC,
                               .venue = "crypto-com",
                               .symbols = "MATIC_USDT,HNT_USDT,LPT_USDC,GRT_CRO,HOT_USDT,BAND_USDT,"
                                          "SUSHI_USDT,RGT_USDC,FLOW_CRO,ONE_USDT",
                               .drops = 5,
                               .drop = 300,
                               .away = 200,
                               .steady = 16};

/* Every trade of the recording's trade pushes, by plain text search. */
static cc_bf_trade_t *cc_bf_load(size_t *n)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", G.recs, CC_BF_REC);
    feed_tgrec_t *r;
    assert_int_equal(feed_tgrec_open(&r, path), 0);
    cc_bf_trade_t *tr = calloc(r->data_lines * 128 + 1, sizeof(*tr));
    assert_non_null(tr);
    *n = 0;
    size_t fi = 0, len;
    int64_t ts;
    const char *f;
    while (feed_tgrec_next(r, &ts, &f, &len) == 1) {
        if (feed_tgrec_is_generated(f, len))
            continue;
        size_t i = fi++;
        const char *in = strstr(f, "\"instrument_name\":\""), *d = strstr(f, "\"data\":[");
        if (!memmem(f, len, "\"channel\":\"trade\"", 17))
            continue;
        assert_true(in && d);
        char sym[32];
        assert_int_equal(sscanf(in + 19, "%31[^\"]", sym), 1);
        int pos = 0;
        for (const char *p = d; (p = strstr(p, "\"d\":")) != NULL && p < f + len; p++) {
            const char *e = strchr(p, '}'), *t = strstr(p, "\"t\":");
            assert_true(e && t && t < e);
            cc_bf_trade_t *x = &tr[(*n)++];
            x->id = strtoull(p + 4, NULL, 10);
            x->ts = strtoll(t + 4, NULL, 10) * 1000000;
            snprintf(x->sym, sizeof(x->sym), "%s", sym);
            x->frame = i;
            x->pos = pos++;
        }
    }
    feed_tgrec_close(&r);
    return tr;
}

/* Mark what the gateway receives: the frames of its connections, and at the start of
 * connection k >= 1 per instrument the push of its snap newest trades of frames before. */
static void cc_bf_simulate(const bf_case_t *c, unsigned snap, cc_bf_trade_t *tr, size_t n)
{
    size_t per = (size_t)(c->drop + c->away);
    for (size_t j = 0; j < n; j++)
        tr[j].got = !away(c, tr[j].frame);
    for (int k = 1; k <= c->drops; k++) {
        size_t start = (size_t)k * per;
        for (size_t s = 0; s < n; s++) { /* s: an instrument's first trade */
            bool first = true;
            for (size_t x = 0; x < s && first; x++)
                first = strcmp(tr[x].sym, tr[s].sym) != 0;
            if (!first)
                continue;
            unsigned taken = 0; /* newest first: later frames first, then the push's order */
            for (size_t j = n; j-- > 0 && taken < snap;) {
                if (tr[j].frame >= start || strcmp(tr[j].sym, tr[s].sym) != 0)
                    continue;
                size_t g = j;
                while (g > 0 && tr[g - 1].frame == tr[j].frame)
                    g--;
                for (size_t x = g; x <= j && taken < snap; x++, taken++)
                    tr[x].got = true;
                j = g;
            }
        }
    }
}

static int cmp_tt(const void *a, const void *b)
{
    return cmp_u64(&((const bf_tt_t *)a)->id, &((const bf_tt_t *)b)->id);
}

/* One run with --trade-snapshot snap. */
static void run_cc(const bf_case_t *c, unsigned snap)
{
    size_t n, lost = 0, away_n = 0, uncoverable = 0;
    cc_bf_trade_t *tr = cc_bf_load(&n);
    assert_int_equal(n, 1143);
    cc_bf_simulate(c, snap, tr, n);
    for (size_t j = 0; j < n; j++) {
        away_n += away(c, tr[j].frame);
        lost += !tr[j].got;
        bool later = false; /* a trade of its instrument received after it: bounds the hole */
        for (size_t x = j + 1; x < n && !tr[j].got && !later; x++)
            later = tr[x].got && !strcmp(tr[x].sym, tr[j].sym) && tr[x].frame > tr[j].frame;
        uncoverable += !tr[j].got && !later;
    }
    bf_tt_t *tt = calloc(n + 1, sizeof(*tt));
    uint64_t *want = calloc(n + 1, sizeof(*want));
    assert_true(tt && want);
    for (size_t j = 0; j < n; j++)
        tt[j] = (bf_tt_t){.id = tr[j].id, .ts = tr[j].ts};
    for (size_t j = 0; j < n; j++)
        memcpy(tt[j].sym, tr[j].sym, sizeof(tt[j].sym));
    qsort(tt, n, sizeof(*tt), cmp_tt);
    for (size_t j = 0; j < n; j++)
        want[j] = tt[j].id;
    fprintf(stderr,
            "crypto-com, pushes of %u trades at reconnects: %zu trades, %zu in the frames no "
            "connection receives, %zu in no push either (%zu with no later trade of theirs)\n",
            snap, n, away_n, lost, uncoverable);
    assert_true(away_n > 0);

    char path[1024], drop[64], away_s[16], snap_s[16], rlog[400], cfg[400], glog[400], schema[64];
    snprintf(path, sizeof(path), "%s/%s", G.recs, c->rec);
    snprintf(drop, sizeof(drop), "drop-after=%d,times=%d", c->drop, c->drops);
    snprintf(away_s, sizeof(away_s), "%d", c->away);
    snprintf(snap_s, sizeof(snap_s), "%u", snap);
    snprintf(rlog, sizeof(rlog), "%s/replay-cc-%u.log", G.tmp, snap);
    char opt[] = "--trade-snapshot";
    char *rargv[] = {
        (char *)G.replay_bin, "serve", "--port", "0",    "--quiet", "--hold", "--rate", RATE,
        "--resume",           away_s,  opt,      snap_s, "--fault", drop,     path,     NULL};
    pid_t replay = 0, gw = 0;
    int rport = itg_replay_start(rargv, rlog, &replay);
    assert_true(rport > 0);
    snprintf(schema, sizeof(schema), "tg_backfill_cc_%u_%d", snap, (int)getpid());
    snprintf(cfg, sizeof(cfg), "%s/gw-cc.ini", G.tmp);
    snprintf(glog, sizeof(glog), "%s/gw-cc-%u.log", G.tmp, snap);
    /* no REST: the rest_url a closed port (nothing may ask it) */
    write_cfg(c, cfg, schema, rport, itg_free_port(), 3600, NULL);
    int mport;
    gw = start_gw(cfg, glog, &mport);
    /* every trade the gateway is to get, received (a starved replay may pause longer than
       wait_steady's window: seen once under a parallel build), then rows steady */
    for (int64_t end = itg_now_ms() + 60000;
         itg_now_ms() < end && metric(mport, "tickgate_feed_trades_total") < (long long)(n - lost);
         itg_sleep_ms(100))
        ;
    wait_steady(mport, c->drops + 1, c->steady);
    static const char *const names[] = {
        "tickgate_feed_backfill_trades_total", "tickgate_feed_backfill_requests_total",
        "tickgate_feed_backfill_failures_total", "tickgate_feed_connects_total"};
    long long m[4];
    for (int i = 0; i < 4; i++)
        m[i] = metric(mport, names[i]);
    long long bf_trades = m[0], bf_reqs = m[1], bf_fail = m[2], conns = m[3];
    stop(&gw);
    stop(&replay);
    pg_check_t k = check_pg(schema, want, tt, n, NULL);
    fprintf(stderr,
            "connections %lld; backfill: %lld trades, %lld requests, %lld failures; "
            "PostgreSQL: %lld rows, %lld distinct; missing %zu, not in the recording %zu; %lld "
            "trade gap rows (%lld by time), %zu missing outside them, %zu stored inside\n",
            conns, bf_trades, bf_reqs, bf_fail, k.rows, k.distinct, k.missing, k.extra, k.tgaps,
            k.tgaps_time, k.uncovered, k.covered);
    char *log = itg_slurp(glog);
    assert_non_null(log);
    if (k.missing != lost)
        fprintf(stderr, "tickgate log:\n%s\n", log);
    assert_true(conns >= c->drops + 1);
    assert_int_equal(bf_reqs, 0); /* over the websocket */
    assert_int_equal(k.extra, 0);
    assert_int_equal(k.rows, k.distinct);
    assert_int_equal(k.missing, lost);
    assert_int_equal(k.rows, (long long)(n - lost));
    assert_int_equal(k.tgaps_time, k.tgaps); /* bounds are times, never ids */
    assert_int_equal(k.covered, 0);
    assert_int_equal(k.uncovered, uncoverable);
    if (snap == CC_BF_SNAP) { /* every trade, the missed ones from the pushes */
        assert_int_equal(lost, 0);
        assert_int_equal(k.tgaps, 0);
        assert_int_equal(bf_fail, 0);
        /* at least the trades nobody received (a trade sent just before a drop but lost in
           flight would come from the push too: more, never fewer) */
        assert_true(bf_trades >= (long long)away_n);
    } else {
        assert_true(lost > 0);
        assert_true(k.tgaps > 0 && bf_fail >= k.tgaps);
        assert_non_null(strstr(log, "does not reach back to the last trade seen"));
        if (snap)
            assert_true(bf_trades >= (long long)(away_n - lost));
    }
    free(log);
    free(tt);
    free(want);
    free(tr);
}

/* The three runs: pushes of 100 (the venue's), of 2, none. */
static void test_crypto_com_subscribe_pushes(void **st)
{
    const bf_case_t *c = *st;
    run_cc(c, CC_BF_SNAP);
    run_cc(c, 2);
    run_cc(c, 0);
}

#endif
