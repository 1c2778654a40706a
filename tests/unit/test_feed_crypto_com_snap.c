/* SPDX-License-Identifier: MIT */
/*
 * Crypto.com trade backfill from the subscribe snapshot (feeds/venues/feed_bf_snap.c, issue 15)
 * on the recording's real frames (../shared/recordings/crypto-com): the first trade push of an
 * instrument holds its 100 newest trades, newest first. A reconnect whose first push reaches
 * back to the last trade seen emits exactly the trades missed, once, flagged TG_EVF_REST, and
 * no gap; one that does not reach back (more trades published meanwhile than the push holds:
 * the recording's live trades on top of its first push, as the venue would send them) emits
 * what it holds and one TG_EV_TRADE_GAP whose time bounds hold every trade lost; at start-up a
 * resume time (tg_instr_t.resume_ts, from PostgreSQL) is the last trade seen. The STALE of a
 * closed connection carries TG_EVF_REST without a REST client (feed_venue_t.trade_history_ws).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/fixtures/tu_main.h"
#include "tests/fixtures/venue_harness.h"
#include "feeds/venues/venues.h"

#define CC_REC "crypto-com/cryptofeed_57d5f18d_CRYPTO.COM.ws.1.tgrec.zst"
#define CX_MAX 256

/* The trade pushes of one instrument in the recording: the elements of each push's data
 * array (flat objects), their ids and times (ms), the first push and the live ones. */
typedef struct cx_push {
    char *text;
    const char *el[CX_MAX]; /* element k: el[k], el_len[k] bytes */
    size_t el_len[CX_MAX];
    uint64_t id[CX_MAX];
    int64_t t[CX_MAX];
    int n;     /* elements of the first push */
    int n_all; /* the first push's, then every live push's elements (oldest push first) */
    char sym[32];
} cx_push_t;

static const char *cx_field(const char *e, const char *key)
{
    const char *p = strstr(e, key);
    assert_non_null(p);
    return p + strlen(key);
}

/* Split the data array of the push at line into elements appended to c. */
static void cx_split(cx_push_t *c, const char *line)
{
    const char *p = strstr(line, "\"data\":[");
    assert_non_null(p);
    p += 8;
    while (*p == '{') {
        const char *e = strchr(p, '}');
        assert_non_null(e);
        assert_true(c->n_all < CX_MAX);
        c->el[c->n_all] = p;
        c->el_len[c->n_all] = (size_t)(e + 1 - p);
        c->id[c->n_all] = strtoull(cx_field(p, "\"d\":"), NULL, 10);
        c->t[c->n_all] = strtoll(cx_field(p, "\"t\":"), NULL, 10);
        c->n_all++;
        p = e + 1;
        if (*p == ',')
            p++;
    }
}

static void cx_load(cx_push_t *c, const char *sym)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->sym, sizeof(c->sym), "%s", sym);
    size_t len;
    c->text = fv_load_text(vh_rec(CC_REC), &len);
    assert_non_null(c->text);
    char key[64];
    snprintf(key, sizeof(key), "\"subscription\":\"trade.%s\"", sym);
    /* live pushes are kept newest first, after the first push's elements */
    const char *lines[64];
    int nl = 0;
    for (const char *p = c->text; (p = strstr(p, key)) != NULL; p++) {
        const char *bol = p;
        while (bol > c->text && bol[-1] != '\n')
            bol--;
        assert_true(nl < 64);
        lines[nl++] = bol;
    }
    assert_true(nl >= 2);
    cx_split(c, lines[0]);
    c->n = c->n_all;
    for (int i = nl - 1; i >= 1; i--) /* the newest push first: the whole list newest first */
        cx_split(c, lines[i]);
    assert_int_equal(c->n, 100);
}

/* A trade push of sym with elements idx[0..k) (newest first). Caller frees. */
static char *cx_frame(const cx_push_t *c, const int *idx, int k)
{
    size_t cap = 512;
    for (int i = 0; i < k; i++)
        cap += c->el_len[idx[i]] + 1;
    char *f = malloc(cap);
    size_t n = (size_t)snprintf(f, cap,
                                "{\"code\":0,\"method\":\"subscribe\",\"result\":{\"instrument_"
                                "name\":\"%s\",\"subscription\":\"trade.%s\",\"channel\":\"trade\","
                                "\"data\":[",
                                c->sym, c->sym);
    for (int i = 0; i < k; i++)
        n += (size_t)snprintf(f + n, cap - n, "%s%.*s", i ? "," : "", (int)c->el_len[idx[i]],
                              c->el[idx[i]]);
    snprintf(f + n, cap - n, "]}}");
    return f;
}

/* A handler on c's instrument alone. @return its instrument id */
static uint32_t cx_open(vh_ev_t *b, const cx_push_t *c)
{
    vh_ev_open(b, "crypto-com", c->sym, NULL);
    return vh_ev_id(b, c->sym);
}

/* The first push's elements [from, to) as a push. */
static void cx_feed_first(vh_ev_t *b, const cx_push_t *c, int from, int to)
{
    int idx[CX_MAX];
    for (int i = from; i < to; i++)
        idx[i - from] = i;
    char *f = cx_frame(c, idx, to - from);
    assert_int_equal(vh_ev_frame(b, f), 0);
    free(f);
}

/* The order of c's elements from the newest trade published: the live pushes' (newest push
 * first) before the first push's. */
static int cx_newest(const cx_push_t *c, int k)
{
    int live = c->n_all - c->n;
    return k < live ? c->n + k : k - live;
}

/* What ev[from..) holds for instr: trades (their ids in ids[], REST ones counted), gaps. */
typedef struct cx_seen {
    uint64_t ids[CX_MAX];
    int n, rest;
    int n_gap;
    tg_event_t gap;
} cx_seen_t;

static void cx_scan(const vh_ev_t *b, size_t from, uint32_t instr, cx_seen_t *s)
{
    memset(s, 0, sizeof(*s));
    for (size_t i = from; i < b->n_ev; i++) {
        const tg_event_t *e = &b->ev[i];
        if (e->instr != instr)
            continue;
        if (e->kind == TG_EV_TRADE) {
            assert_true(s->n < CX_MAX);
            s->ids[s->n++] = e->u.trade_id;
            s->rest += (e->flags & TG_EVF_REST) != 0;
        } else if (e->kind == TG_EV_TRADE_GAP) {
            s->gap = *e;
            s->n_gap++;
        }
    }
}

static char g_log[2048];

static void cx_log(void *lctx, int level, const char *msg)
{
    (void)lctx;
    size_t used = strlen(g_log);
    if (level <= TG_LOG_WARN)
        snprintf(g_log + used, sizeof(g_log) - used, "%s\n", msg);
}

/* A connection closes (no REST client: the STALE still carries TG_EVF_REST) and another opens. */
static void cx_reconnect(vh_ev_t *b, uint32_t instr)
{
    b->o->h.rest_get = NULL;
    size_t i0 = b->n_ev;
    feed_close(&b->o->h, 2, 2);
    feed_flush(&b->o->h);
    int stale = 0;
    for (size_t i = i0; i < b->n_ev; i++)
        if (b->ev[i].kind == TG_EV_STALE && b->ev[i].instr == instr) {
            assert_int_equal(b->ev[i].flags & (TG_EVF_CLOSED | TG_EVF_REST),
                             TG_EVF_CLOSED | TG_EVF_REST);
            stale++;
        }
    assert_int_equal(stale, 1);
    assert_int_equal(b->o->venue->on_open(&b->o->h), 0);
}

/* Connection 1 sees the 70 oldest trades of the first push; the reconnect's first push (the
 * recorded one; then one that starts at the last trade seen, reaching back by its id alone)
 * holds them and 30 newer: exactly those 30 come, oldest first, once, flagged TG_EVF_REST; no
 * gap; the live pushes then count once each. */
static void test_a_snapshot_reaching_back_emits_exactly_the_missed_trades_once(void **state)
{
    (void)state;
    cx_push_t c;
    cx_load(&c, "HNT_USDT");
    for (int pass = 0; pass < 2; pass++) {
        vh_ev_t b;
        uint32_t id = cx_open(&b, &c);
        cx_feed_first(&b, &c, 30, 100);
        assert_int_equal(b.v->trades[id], 70);
        cx_reconnect(&b, id);
        size_t i0 = b.n_ev;
        cx_feed_first(&b, &c, 0, pass == 0 ? 100 : 31);
        cx_seen_t s;
        cx_scan(&b, i0, id, &s);
        assert_int_equal(s.n, 30);
        assert_int_equal(s.rest, 30);
        assert_int_equal(s.n_gap, 0);
        for (int k = 0; k < 30; k++)
            assert_true(s.ids[k] == c.id[29 - k]);
        assert_int_equal(TG_STAT_GET(b.o->stats.backfill_trades), 30);
        assert_int_equal(TG_STAT_GET(b.o->stats.backfill_failures), 0);
        /* the live pushes: each trade once, not flagged */
        i0 = b.n_ev;
        for (int k = c.n_all - 1; k >= c.n; k--) {
            int one = k;
            char *f = cx_frame(&c, &one, 1);
            assert_int_equal(vh_ev_frame(&b, f), 0);
            free(f);
        }
        cx_scan(&b, i0, id, &s);
        assert_int_equal(s.n, c.n_all - c.n);
        assert_int_equal(s.rest, 0);
        assert_int_equal(b.v->trades[id], c.n_all);
        assert_int_equal(vrun_errors(&b.o->stats), 0);
        vh_ev_close(&b);
    }
    free(c.text);
}

/* Connection 1 sees only the oldest trade of the first push; then the recording's live trades
 * are published too, and the reconnect's first push is the 100 newest of them all: it does not
 * reach back. The 100 come (TG_EVF_REST), and one gap bounded by the last trade seen and the
 * push's oldest, holding every trade lost; a WARN line names the instrument. */
static void test_a_snapshot_not_reaching_back_emits_a_time_bounded_gap(void **state)
{
    (void)state;
    cx_push_t c;
    cx_load(&c, "ONE_USDT");
    int live = c.n_all - c.n;
    assert_true(live >= 2); /* 24 in the recording */
    vh_ev_t b;
    uint32_t id = cx_open(&b, &c);
    b.o->h.log = cx_log;
    g_log[0] = 0;
    cx_feed_first(&b, &c, 99, 100);
    cx_reconnect(&b, id);
    int idx[100];
    for (int k = 0; k < 100; k++)
        idx[k] = cx_newest(&c, k);
    char *f = cx_frame(&c, idx, 100);
    size_t i0 = b.n_ev;
    assert_int_equal(vh_ev_frame(&b, f), 0);
    free(f);
    cx_seen_t s;
    cx_scan(&b, i0, id, &s);
    assert_int_equal(s.n, 100);
    assert_int_equal(s.rest, 100);
    assert_int_equal(s.n_gap, 1);
    int64_t lo = c.t[99] * 1000000, hi = c.t[idx[99]] * 1000000;
    assert_true(s.gap.seq == (uint64_t)lo);
    assert_true(s.gap.u.aux == (uint64_t)hi);
    /* the lost ones: the first push's [100 - live, 99), inside the bounds, never emitted */
    for (int k = 100 - live; k < 99; k++) {
        assert_true(c.t[k] * 1000000 >= lo && c.t[k] * 1000000 <= hi);
        for (int j = 0; j < s.n; j++)
            assert_true(s.ids[j] != c.id[k]);
    }
    assert_int_equal(TG_STAT_GET(b.o->stats.backfill_failures), 1);
    assert_non_null(strstr(g_log, "ONE_USDT"));
    assert_non_null(strstr(g_log, "does not reach back"));
    assert_int_equal(b.v->trades[id], 101);
    free(c.text);
    vh_ev_close(&b);
}

/* At start-up with a resume time (the newest trade PostgreSQL holds): the first push's trades
 * from that time on come, flagged; no gap where the push reaches back past it, a gap from the
 * resume time to its oldest trade where it does not. */
static void test_a_resume_time_at_start_is_the_last_trade_seen(void **state)
{
    (void)state;
    cx_push_t c;
    cx_load(&c, "MATIC_USDT");
    for (int pass = 0; pass < 2; pass++) {
        vh_ev_t b;
        uint32_t id = cx_open(&b, &c);
        int64_t resume = pass == 0 ? c.t[40] * 1000000 : c.t[99] * 1000000 - 60000000000LL;
        assert_int_equal(tg_instr_reg_set_resume_ts(b.o->reg, id, resume), 0);
        assert_int_equal(b.o->venue->on_open(&b.o->h), 0); /* the first connection */
        size_t i0 = b.n_ev;
        cx_feed_first(&b, &c, 0, 100);
        cx_seen_t s;
        cx_scan(&b, i0, id, &s);
        int want = 0;
        for (int k = 0; k < 100; k++)
            want += c.t[k] * 1000000 >= resume;
        assert_true(want >= (pass == 0 ? 41 : 100));
        assert_int_equal(s.n, want);
        assert_int_equal(s.rest, want);
        assert_int_equal(s.n_gap, pass);
        if (pass) {
            assert_true(s.gap.seq == (uint64_t)resume);
            assert_true(s.gap.u.aux == (uint64_t)(c.t[99] * 1000000));
        }
        vh_ev_close(&b);
    }
    free(c.text);
}

TU_MAIN_NEEDS("TG_RECORDINGS", "the crypto.com recording is needed",
              cmocka_unit_test(test_a_snapshot_reaching_back_emits_exactly_the_missed_trades_once),
              cmocka_unit_test(test_a_snapshot_not_reaching_back_emits_a_time_bounded_gap),
              cmocka_unit_test(test_a_resume_time_at_start_is_the_last_trade_seen))
