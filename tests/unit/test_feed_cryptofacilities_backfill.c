/* SPDX-License-Identifier: MIT */
/*
 * Kraken Futures trade backfill from the venue's own trade_snapshot (feeds/venues/
 * feed_cryptofacilities.c, issue 15), on the recording's real frames
 * (../shared/recordings/cryptofacilities): the first connection emits none of the 10 recorded
 * snapshots and the 3 live trades continue their seqs; after a close, a snapshot cut from the
 * recorded PI_ETHUSD one emits exactly the missing seqs, oldest first, once (TG_EVF_REST, the
 * live path's ids), none on a further reconnect; a snapshot that does not reach back is a trade
 * gap with time bounds (seq .. u.aux, ns, inclusive) and an ERROR line; the instrument's resume
 * time at start-up emits from that time on (a gap where the snapshot is newer); a reconnect
 * whose snapshot does not come is a gap after CF_TSNAP_WAIT_NS, a live seq jump is counted; the
 * STALE of a closed connection carries TG_EVF_REST without a REST client.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>

#include <cmocka.h>

#include "tests/fixtures/venue_harness.h"
#include "book/tg_clock.h"
#include "feeds/venues/venues.h"

#define CF_REC "cryptofacilities/cryptofeed_ce58c2a0_KRAKEN_FUTURES.ws.1.tgrec.zst"
#define CF_SYMS                                                                                    \
    "fi_ethusd_211231,pi_xrpusd,pi_ltcusd,fi_bchusd_210730,pi_ethusd,fi_xbtusd_210924,"            \
    "fi_ethusd_210730,fi_bchusd_210924,fi_xrpusd_210924,fi_xbtusd_210730"
#define ETH "PI_ETHUSD"
#define MS  1000000LL
#define SEC 1000000000LL

/* The recording's trade_snapshot frames (10) and live trades (3), copied. */
static char *g_snap[16], *g_live[4];
static int g_n_snap, g_n_live;
/* PI_ETHUSD's snapshot: its 100 trade objects, newest first (seq 103831 .. 103732) */
static const char *g_el[128];
static size_t g_el_len[128];
static int g_n_el;

static char g_log[16384]; /* the handler's log lines, one a line */
static size_t g_log_n;

static void cf_log_cap(void *lctx, int level, const char *msg)
{
    int n = snprintf(g_log + g_log_n, sizeof(g_log) - g_log_n, "%s\n", msg);
    if (n > 0 && g_log_n + (size_t)n < sizeof(g_log))
        g_log_n += (size_t)n;
}

#define logged(what) (strstr(g_log, (what)) != NULL)

static int load(void **state)
{
    feed_offline_t *o = NULL;
    const char **fr;
    size_t *fl;
    size_t nf = vh_rec_frames(CF_REC, &o, &fr, &fl);
    for (size_t i = 0; i < nf; i++) {
        char *f = strndup(fr[i], fl[i]);
        if (strstr(f, "{\"feed\":\"trade_snapshot\",") == f && g_n_snap < 16)
            g_snap[g_n_snap++] = f;
        else if (strstr(f, "{\"feed\":\"trade\",") == f && g_n_live < 4)
            g_live[g_n_live++] = f;
        else
            free(f);
    }
    vh_frames_close(&o, fr, fl);
    for (int i = 0; i < g_n_snap; i++) {
        if (!strstr(g_snap[i], "\"product_id\":\"" ETH "\",\"trades\""))
            continue;
        /* flat objects: each from {"feed":"trade" to the next } */
        for (const char *p = g_snap[i]; (p = strstr(p, "{\"feed\":\"trade\",")) != NULL;) {
            const char *e = strchr(p, '}');
            g_el[g_n_el] = p;
            g_el_len[g_n_el++] = (size_t)(e - p + 1);
            p = e;
        }
    }
    return g_n_snap == 10 && g_n_live == 3 && g_n_el == 100 ? 0 : -1;
}

static int unload(void **state)
{
    for (int i = 0; i < g_n_snap; i++)
        free(g_snap[i]);
    for (int i = 0; i < g_n_live; i++)
        free(g_live[i]);
    return 0;
}

static long el_num(int i, const char *key)
{
    return vh_num_after(g_el[i], g_el_len[i], key);
}

static uint64_t el_id(int i)
{
    const char *u = memmem(g_el[i], g_el_len[i], "\"uid\":\"", 7) + 7;
    return feed_hash_id(u, strcspn(u, "\""));
}

/* PI_ETHUSD's trade_snapshot of the recorded objects [a, b) (newest first, as the venue). */
static char *snap_of(int a, int b)
{
    size_t cap = 128;
    for (int i = a; i < b; i++)
        cap += g_el_len[i] + 1;
    char *s = malloc(cap);
    size_t n = (size_t)snprintf(
        s, cap, "{\"feed\":\"trade_snapshot\",\"product_id\":\"" ETH "\",\"trades\":[");
    for (int i = a; i < b; i++) {
        if (i > a)
            s[n++] = ',';
        memcpy(s + n, g_el[i], g_el_len[i]);
        n += g_el_len[i];
    }
    snprintf(s + n, cap - n, "]}");
    return s;
}

static int feed_snap(vh_env_t *e, int a, int b)
{
    char *s = snap_of(a, b);
    int rc = vh_env_frame(e, s);
    free(s);
    return rc;
}

static vh_env_t *open_env(const char *syms)
{
    vh_env_t *e = vh_env_open("cryptofacilities", syms, NULL, 256, 1);
    e->o->h.log = cf_log_cap;
    g_log_n = 0;
    g_log[0] = 0;
    return e;
}

/* The connection closes (the transport's feed_close) and opens again. */
static void reconnect(vh_env_t *e)
{
    feed_close(&e->o->h, 1000, 1000);
    feed_flush(&e->o->h);
    assert_int_equal(e->o->venue->on_open(&e->o->h), 0);
}

/* Every event from i0 on is of kind, its flags & mask == want. */
static void assert_all(const vh_env_t *e, size_t i0, uint8_t kind, uint16_t mask, uint16_t want)
{
    assert_true(e->n_ev > i0);
    for (size_t i = i0; i < e->n_ev; i++) {
        assert_int_equal(e->ev[i].kind, kind);
        assert_int_equal(e->ev[i].flags & mask, want);
    }
}

/* Event v is a trade gap with time bounds [lo, hi] (ns; ts_exch = hi). */
static void assert_tgap(const tg_event_t *v, int64_t lo, int64_t hi)
{
    assert_int_equal(v->kind, TG_EV_TRADE_GAP);
    assert_int_equal(v->seq, lo);
    assert_int_equal(v->u.aux, hi);
    assert_int_equal(v->ts_exch, hi);
}

/* The handler's seq gaps, backfilled trades and ranges given up. */
static void assert_counts(const vh_env_t *e, uint64_t gaps, uint64_t trades, uint64_t failures)
{
    assert_int_equal(TG_STAT_GET(e->o->stats.gaps), gaps);
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_trades), trades);
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_failures), failures);
}

static size_t count_kind(const vh_env_t *e, size_t from, uint8_t kind)
{
    size_t n = 0;
    for (size_t i = from; i < e->n_ev; i++)
        n += e->ev[i].kind == kind;
    return n;
}

/* Events [i0, i0 + n) are the trades of objects hi - 1 down to hi - n, oldest first, from a
 * trade_snapshot (REST). */
static void assert_backfilled(const vh_env_t *e, size_t i0, int hi, int n)
{
    for (int k = 0; k < n; k++) {
        const tg_event_t *v = &e->ev[i0 + (size_t)k];
        int el = hi - 1 - k;
        assert_int_equal(v->kind, TG_EV_TRADE);
        assert_int_equal(v->flags & (TG_EVF_REST | TG_EVF_LAST), TG_EVF_REST | TG_EVF_LAST);
        assert_int_equal(v->seq, el_num(el, "\"seq\":"));
        assert_int_equal(v->ts_exch, el_num(el, "\"time\":") * MS);
        assert_int_equal(v->u.trade_id, el_id(el)); /* the live path's key */
    }
}

/* First connection: the 10 recorded snapshots emit nothing (no resume point), each counted
 * unhandled; the 3 live trades follow their snapshot's newest seq (no seq gap counted). */
static void test_cf_backfill_first_connection_emits_no_snapshot_and_live_seqs_continue(void **st)
{
    vh_env_t *e = open_env(CF_SYMS);
    for (int i = 0; i < g_n_snap; i++)
        assert_int_equal(vh_env_frame(e, g_snap[i]), 0);
    assert_int_equal(e->n_ev, 0);
    assert_int_equal(TG_STAT_GET(e->o->stats.unhandled), 10);
    for (int i = 0; i < g_n_live; i++)
        assert_int_equal(vh_env_frame(e, g_live[i]), 0);
    assert_int_equal(e->n_ev, 3);
    assert_all(e, 0, TG_EV_TRADE, TG_EVF_REST, 0);
    assert_counts(e, 0, 0, 0);
    vh_env_close(e);
}

/* The first connection saw seqs 103732..103791 (the recorded snapshot's oldest 60); after a
 * close the recorded snapshot (..103831) emits exactly 103792..103831, oldest first, once; a
 * further reconnect with the same snapshot emits none; the live 103832 follows. The STALE of the
 * close carries TG_EVF_REST, also without a REST client (trade_history_ws). */
static void test_cf_backfill_reconnect_emits_exactly_the_missing_seqs_once(void **st)
{
    vh_env_t *e = open_env(ETH);
    assert_int_equal(feed_snap(e, 40, 100), 0);
    assert_int_equal(e->n_ev, 0);
    e->o->h.rest_get = NULL;
    size_t i0 = e->n_ev;
    reconnect(e);
    const uint16_t cr = TG_EVF_CLOSED | TG_EVF_REST;
    assert_all(e, i0, TG_EV_STALE, cr, cr);
    i0 = e->n_ev;
    assert_int_equal(feed_snap(e, 0, 100), 0);
    assert_int_equal(e->n_ev - i0, 40);
    assert_backfilled(e, i0, 40, 40);
    assert_true(logged("cryptofacilities " ETH ": 40 trades from trade_snapshot"));
    i0 = e->n_ev;
    reconnect(e);
    size_t i1 = e->n_ev;
    assert_int_equal(feed_snap(e, 0, 100), 0);
    assert_int_equal(e->n_ev, i1); /* none twice */
    assert_int_equal(count_kind(e, i0, TG_EV_TRADE_GAP), 0);
    assert_int_equal(vh_env_frame(e, g_live[2]), 0); /* PI_ETHUSD 103832 */
    assert_int_equal(e->n_ev, i1 + 1);
    assert_int_equal(e->ev[i1].seq, 103832);
    assert_int_equal(e->ev[i1].flags & TG_EVF_REST, 0);
    assert_counts(e, 0, 40, 0);
    vh_env_close(e);
}

/* Seen 103732..103761; the reconnect's snapshot holds 103782..103831: 20 trades out of reach, a
 * TG_EV_TRADE_GAP [time of 103761, time of 103782] (ns, inclusive; ts_exch the end) before the
 * 50 trades, an ERROR line with the seqs and the count, backfill_failures. */
static void test_cf_backfill_a_snapshot_that_does_not_reach_back_is_a_time_bounded_gap(void **st)
{
    vh_env_t *e = open_env(ETH);
    assert_int_equal(feed_snap(e, 70, 100), 0);
    reconnect(e);
    size_t i0 = e->n_ev;
    assert_int_equal(feed_snap(e, 0, 50), 0);
    assert_int_equal(e->n_ev - i0, 51);
    assert_tgap(&e->ev[i0], el_num(70, "\"time\":") * MS, el_num(49, "\"time\":") * MS);
    assert_int_equal(e->ev[i0].instr, vh_env_id(e, ETH));
    assert_backfilled(e, i0 + 1, 50, 50);
    assert_counts(e, 0, 50, 1);
    assert_true(logged("cryptofacilities " ETH ": trades seq 103762..103781 lost (20 trades, "
                       "older than the trade_snapshot)"));
    vh_env_close(e);
}

/* Start-up with a resume time (the newest stored trade, PostgreSQL): the first connection's
 * snapshot emits its trades at or after it (inclusive: the stored boundary one comes again),
 * no gap; a resume time older than the snapshot's oldest trade: all 100 and a gap from it. */
static void test_cf_backfill_resume_time_at_start_emits_from_that_time(void **st)
{
    vh_env_t *e = open_env(ETH);
    int64_t from = el_num(30, "\"time\":") * MS;
    assert_int_equal(tg_instr_reg_set_resume_ts(e->o->reg, vh_env_id(e, ETH), from), 0);
    assert_int_equal(feed_snap(e, 0, 100), 0);
    int want = 0;
    for (int i = 0; i < g_n_el; i++)
        want += el_num(i, "\"time\":") * MS >= from;
    assert_true(want >= 31 && want < 100);
    assert_int_equal(e->n_ev, (size_t)want);
    assert_backfilled(e, 0, want, want);
    assert_true(logged("(from the last stored time)"));
    /* a later reconnect goes by seq, not by the resume time */
    reconnect(e);
    size_t i0 = e->n_ev;
    assert_int_equal(feed_snap(e, 0, 100), 0);
    assert_int_equal(e->n_ev, i0);
    vh_env_close(e);

    e = open_env(ETH);
    int64_t old = el_num(99, "\"time\":") * MS - 5000 * MS;
    assert_int_equal(tg_instr_reg_set_resume_ts(e->o->reg, vh_env_id(e, ETH), old), 0);
    assert_int_equal(feed_snap(e, 0, 100), 0);
    assert_int_equal(e->n_ev, 101);
    assert_tgap(&e->ev[0], old, el_num(99, "\"time\":") * MS);
    assert_backfilled(e, 1, 100, 100);
    assert_true(logged("trades before seq 103732 may be lost"));
    vh_env_close(e);
}

static int live(vh_env_t *e, long seq, long long ms)
{
    char f[512];
    snprintf(f, sizeof(f),
             "{\"feed\":\"trade\",\"product_id\":\"" ETH "\",\"uid\":\"u-%ld\",\"side\":\"buy\","
             "\"type\":\"fill\",\"seq\":%ld,\"time\":%lld,\"qty\":1.0,\"price\":2005.2}",
             seq, seq, ms);
    return vh_env_frame(e, f);
}

/* A reconnect without a trade_snapshot: CF_TSNAP_WAIT_NS (10 s) after the connection's first
 * tick, a gap from the last trade's time to now; a live seq jump on a connection that had its
 * snapshot is counted (gaps) and logged, no gap event; a reconnect's first live trade with a
 * jump (no snapshot) is the gap itself, bounded by the two trades' times. */
static void test_cf_backfill_missing_snapshot_and_live_seq_jumps(void **st)
{
    vh_env_t *e = open_env(ETH);
    assert_int_equal(feed_snap(e, 0, 100), 0);
    reconnect(e);
    size_t i0 = e->n_ev;
    int64_t t0 = 5 * SEC;
    e->o->venue->on_tick(&e->o->h, t0);
    e->o->venue->on_tick(&e->o->h, t0 + 10 * SEC - 1);
    feed_flush(&e->o->h);
    assert_int_equal(e->n_ev, i0);
    int64_t before = tg_clock_realtime_ns();
    e->o->venue->on_tick(&e->o->h, t0 + 10 * SEC);
    e->o->venue->on_tick(&e->o->h, t0 + 11 * SEC); /* once */
    feed_flush(&e->o->h);
    assert_int_equal(e->n_ev, i0 + 1);
    const tg_event_t *g = &e->ev[i0];
    assert_int_equal(g->kind, TG_EV_TRADE_GAP);
    assert_int_equal(g->seq, el_num(0, "\"time\":") * MS);
    assert_true((int64_t)g->u.aux >= before && (int64_t)g->u.aux <= tg_clock_realtime_ns());
    assert_int_equal(TG_STAT_GET(e->o->stats.backfill_failures), 1);
    assert_true(logged("trades after seq 103831 may be lost (no trade_snapshot)"));
    /* the same connection: a jump 103831 -> 103835 */
    long long ms = el_num(0, "\"time\":") + 1000;
    assert_int_equal(live(e, 103835, ms), 0);
    assert_int_equal(TG_STAT_GET(e->o->stats.gaps), 1);
    assert_int_equal(count_kind(e, i0 + 1, TG_EV_TRADE_GAP), 0);
    assert_true(logged("trade seq 103835 after 103831 (3 trades not received)"));
    /* a reconnect, no snapshot, the first live trade jumps: the hole it shows */
    reconnect(e);
    i0 = e->n_ev;
    assert_int_equal(live(e, 103840, ms + 2000), 0);
    assert_int_equal(e->n_ev, i0 + 2);
    assert_tgap(&e->ev[i0], ms * MS, (ms + 2000) * MS);
    assert_int_equal(e->ev[i0 + 1].kind, TG_EV_TRADE);
    assert_true(logged("trades seq 103836..103839 lost (4 trades, no trade_snapshot)"));
    assert_int_equal(TG_STAT_GET(e->o->stats.gaps), 1);
    vh_env_close(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            test_cf_backfill_first_connection_emits_no_snapshot_and_live_seqs_continue),
        cmocka_unit_test(test_cf_backfill_reconnect_emits_exactly_the_missing_seqs_once),
        cmocka_unit_test(
            test_cf_backfill_a_snapshot_that_does_not_reach_back_is_a_time_bounded_gap),
        cmocka_unit_test(test_cf_backfill_resume_time_at_start_emits_from_that_time),
        cmocka_unit_test(test_cf_backfill_missing_snapshot_and_live_seq_jumps),
    };
    return cmocka_run_group_tests(tests, load, unload);
}
