/* SPDX-License-Identifier: MIT */
/*
 * Trade gaps after a closed connection (book/book_tgap.h): a venue whose trade ids are
 * consecutive per instrument shows the exact hole; a venue with global, hashed or no ids shows
 * no id-bounded gap (its ids would make false ones) but one gap with unknown bounds (0, 0) at
 * the first newer trade, so the loss is still on record. The tracker is checked on id
 * sequences taken from the recordings, then the whole path (feed_venue_t.trade_ids_seq ->
 * registry -> builder) on two recordings run offline with a connection closed half-way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "book/book_builder.h"
#include "book/book_tgap.h"
#include "feeds/rec/feed_offline.h"
#include "tests/fixtures/rec_walk.h"
#include "tests/fixtures/tu_main.h"

#define US 1000LL

typedef struct seen {
    int n;
    uint64_t last[16], got[16];
    int64_t ts[16];
} seen_t;

static void on_gap(void *ctx, uint64_t last, uint64_t got, int64_t ts_exch, int64_t ts_recv)
{
    (void)ts_recv;
    seen_t *s = ctx;
    assert_true(s->n < 16);
    s->last[s->n] = last;
    s->got[s->n] = got;
    s->ts[s->n++] = ts_exch;
}

typedef struct step {
    uint64_t id; /* 0: the connection closed */
    int64_t ts;  /* exchange time, ns */
} step_t;

static void run(book_tgap_t *g, const step_t *st, size_t n, seen_t *s)
{
    for (size_t i = 0; i < n; i++) {
        if (!st[i].id)
            book_tgap_closed(g, false);
        else
            book_tgap_trade(g, st[i].id, st[i].ts, st[i].ts, on_gap, s);
    }
    book_tgap_finish(g, on_gap, s);
}

/* Binance spot BTCUSDT trade ids (recordings/binance/hftbacktest_spot_btcusdt_20240808): a
 * close that lost nothing shows nothing; one that lost 261..269 shows exactly (260, 270); a
 * re-delivered older trade first is not the one that shows it. */
static void test_consecutive_ids_show_the_exact_hole(void **state)
{
    (void)state;
    const step_t st[] = {{3735683259u, 1}, {3735683260u, 2}, {0, 0},           {3735683261u, 3},
                         {0, 0},           {3735683255u, 1}, {3735683270u, 9}, {3735683271u, 9}};
    book_tgap_t g = {0};
    book_tgap_init(&g, true);
    seen_t s = {0};
    run(&g, st, sizeof(st) / sizeof(st[0]), &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.last[0], 3735683261u);
    assert_int_equal(s.got[0], 3735683270u);
}

/* Bitstamp linketh (recordings/bitstamp/cryptofeed_1312c062_BITSTAMP-b88f8b): ids are global
 * over all pairs, so 161009671 -> 161009694 lost nothing (672..693 were other pairs' trades).
 * Read as consecutive ids it is a false gap (the old rule); read as this venue's it is one
 * gap with unknown bounds at the first trade newer than those seen before the close. */
static void test_global_ids_show_no_id_bounded_gap(void **state)
{
    (void)state;
    const step_t st[] = {{161009669u, 1617654353577000 * US}, {161009670u, 1617654353839000 * US},
                         {161009671u, 1617654354110000 * US}, {0, 0},
                         {161009670u, 1617654353839000 * US}, /* re-delivered */
                         {161009694u, 1617654362978000 * US}, {161009706u, 1617654366746000 * US},
                         {161009725u, 1617654372075000 * US}};
    const size_t n = sizeof(st) / sizeof(st[0]);
    book_tgap_t g = {0};
    seen_t s = {0};
    book_tgap_init(&g, true); /* what the old rule did with these ids */
    run(&g, st, n, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.last[0], 161009671u);
    assert_int_equal(s.got[0], 161009694u);

    memset(&g, 0, sizeof(g));
    memset(&s, 0, sizeof(s));
    book_tgap_init(&g, false);
    run(&g, st, n, &s);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.last[0], 0); /* unknown bounds */
    assert_int_equal(s.got[0], 0);
    assert_int_equal(s.ts[0], 0); /* at the message of the trade that showed it */
    /* no close: nothing, however the ids jump */
    memset(&g, 0, sizeof(g));
    memset(&s, 0, sizeof(s));
    book_tgap_init(&g, false);
    run(&g, st + 4, n - 4, &s);
    assert_int_equal(s.n, 0);
}

/* ---- the whole path on recordings ------------------------------------------------------ */

#define DROP 3 /* trades lost while the connection was closed */

typedef struct path {
    book_builder_t *b;
    feed_offline_t *o;
    uint32_t trades, close_at, dropped;
    int closed;
    /* per instrument: last trade id before the close, first after it, any after it */
    uint64_t before[64], after[64];
    /* trade gap records seen */
    int id_bounded, unknown;
    uint64_t gap_last[64], gap_got[64];
    uint32_t gap_instr[64];
} path_t;

static int path_out(void *ctx, const book_out_t *r)
{
    path_t *p = ctx;
    if (r->kind != BOOK_OUT_GAP || r->u.gap.reason != BOOK_GAP_TRADES)
        return 0;
    if (!r->u.gap.seq_last && !r->u.gap.seq_got) {
        p->unknown++;
    } else if (p->id_bounded < 64) {
        p->gap_last[p->id_bounded] = r->u.gap.seq_last;
        p->gap_got[p->id_bounded] = r->u.gap.seq_got;
        p->gap_instr[p->id_bounded++] = r->instr;
    }
    return 0;
}

/* Offline events to the builder; at the close_at-th trade every instrument's connection
 * closes (STALE, CLOSED) and the next DROP trades are lost. */
static int path_in(void *ctx, const tg_event_t *ev, uint32_t n)
{
    path_t *p = ctx;
    for (uint32_t i = 0; i < n; i++) {
        tg_event_t e = ev[i];
        if (e.kind == TG_EV_TRADE && e.instr < 64) {
            if (++p->trades == p->close_at) {
                for (uint32_t k = 0; k < p->o->h.n_instr; k++) {
                    tg_event_t c = {.kind = TG_EV_STALE,
                                    .instr = p->o->h.instr[k],
                                    .flags = TG_EVF_CLOSED | TG_EVF_LAST,
                                    .ts_recv = e.ts_recv,
                                    .ts_mono = e.ts_mono};
                    book_builder_apply(p->b, &c, 1);
                }
                p->closed = 1;
            }
            if (p->closed && p->dropped < DROP) { /* lost; the message still ends */
                p->dropped++;
                if (!(e.flags & TG_EVF_LAST))
                    continue;
                e = (tg_event_t){.kind = TG_EV_END,
                                 .instr = e.instr,
                                 .flags = TG_EVF_LAST,
                                 .ts_recv = e.ts_recv,
                                 .ts_mono = e.ts_mono};
            } else if (!p->closed) {
                p->before[e.instr] = e.u.trade_id;
            } else if (!p->after[e.instr]) {
                p->after[e.instr] = e.u.trade_id;
            }
        }
        book_builder_apply(p->b, &e, 1);
    }
    return 0;
}

/* A recording of $TG_RECORDINGS run twice: whole (no trade gap may show), then with the close
 * half-way. */
static path_t *run_path(const char *dir, const char *rel)
{
    path_t *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    char file[1024];
    snprintf(file, sizeof(file), "%s/%s", dir, rel);
    assert_int_equal(feed_offline_open(&p->o, file, NULL, NULL, 0), 0);
    /* count the trades first: close half-way */
    path_t count = {0};
    count.close_at = UINT32_MAX;
    book_builder_cfg_t cfg;
    book_builder_cfg_defaults(&cfg);
    cfg.reg = p->o->reg;
    cfg.n_sinks = 1;
    cfg.sinks[0] = (book_sink_cfg_t){
        .name = "history", .fn = path_out, .ctx = &count, .kinds = BOOK_SINK_TRADE_GAP};
    cfg.sinks[0].lossless = true;
    assert_int_equal(book_builder_create(&count.b, &cfg), 0);
    count.o = p->o;
    assert_int_equal(feed_offline_run(p->o, path_in, &count), 0);
    book_builder_destroy(&count.b);
    assert_true(count.trades > 2 * DROP);
    assert_int_equal(count.id_bounded + count.unknown, 0); /* no close: no trade gap */
    assert_int_equal(feed_offline_rewind(p->o), 0);

    p->close_at = count.trades / 2;
    cfg.sinks[0].ctx = p;
    assert_int_equal(book_builder_create(&p->b, &cfg), 0);
    assert_int_equal(feed_offline_run(p->o, path_in, p), 0);
    book_builder_destroy(&p->b);
    assert_int_equal(p->dropped, DROP);
    return p;
}

static void test_recordings_the_venue_property_reaches_the_builder(void **state)
{
    (void)state;
    const char *dir = getenv("TG_RECORDINGS");
    if (!dir)
        skip();
    /* Bitstamp (global ids): no id-bounded gap; one unknown-bounds gap per instrument that
       traded after the close */
    path_t *bs = run_path(dir, "bitstamp/cryptofeed_1312c062_BITSTAMP-b88f8b.tgrec");
    assert_int_equal(tg_instr_reg_get(bs->o->reg, 0)->trade_ids_seq, 0);
    int traded_after = 0;
    for (int k = 0; k < 64; k++)
        traded_after += bs->after[k] != 0;
    assert_true(traded_after > 0);
    assert_int_equal(bs->id_bounded, 0);
    assert_int_equal(bs->unknown, traded_after);
    feed_offline_close(&bs->o);
    free(bs);

    /* Binance (aggTrade ids consecutive per symbol): the exact hole of each instrument that
       lost trades, nothing else */
    path_t *bn = run_path(dir, "binance/cryptofeed_1312c062_BINANCE-b38f7c.tgrec.zst");
    assert_int_equal(tg_instr_reg_get(bn->o->reg, 0)->trade_ids_seq, 1);
    int holes = 0;
    for (uint32_t k = 0; k < 64; k++) {
        if (!bn->before[k] || bn->after[k] <= bn->before[k] + 1)
            continue;
        int found = 0;
        for (int j = 0; j < bn->id_bounded; j++)
            found += bn->gap_instr[j] == k && bn->gap_last[j] == bn->before[k] &&
                     bn->gap_got[j] == bn->after[k];
        assert_int_equal(found, 1);
        holes++;
    }
    assert_true(holes > 0);
    assert_int_equal(bn->id_bounded, holes);
    assert_int_equal(bn->unknown, 0);
    feed_offline_close(&bn->o);
    free(bn);
}

/* ---- the venues' ids in the recordings (opt-in: TG_TGAP_SURVEY=1, ~4 s under ASan) ------ */

typedef struct survey {
    uint64_t last[1024], pairs, next, jump, back, zero;
} survey_t;

static int survey_in(void *ctx, const tg_event_t *ev, uint32_t n)
{
    survey_t *s = ctx;
    for (uint32_t i = 0; i < n; i++) {
        if (ev[i].kind != TG_EV_TRADE || ev[i].instr >= 1024)
            continue;
        uint64_t id = ev[i].u.trade_id, *last = &s->last[ev[i].instr];
        if (!id) {
            s->zero++;
            continue;
        }
        if (*last) {
            s->pairs++;
            s->next += id == *last + 1;
            s->jump += id > *last + 1;
            s->back += id <= *last;
        }
        if (id > *last)
            *last = id;
    }
    return 0;
}

/* Every recording through its handler: per file, the pairs of successive trades of one
 * instrument and how many have id = previous + 1, a jump, or a step back (docs/RELIABILITY.md
 * "Trade gaps by venue"). A venue with trade_ids_seq must show only + 1. */
static int survey_one(void *ctx, const char *venue, const char *vdir, const char *name)
{
    (void)ctx;
    const feed_venue_t *fv = feed_venue_find(venue);
    char file[2100];
    snprintf(file, sizeof(file), "%s/%s", vdir, name);
    feed_offline_t *o = NULL;
    survey_t *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    assert_int_equal(feed_offline_open(&o, file, fv->name, NULL, 0), 0);
    assert_int_equal(feed_offline_run(o, survey_in, s), 0);
    printf("%-18s seq=%d pairs %6llu: +1 %6llu, jump %5llu, back %5llu, no id %4llu  %s\n",
           fv->name, fv->trade_ids_seq, (unsigned long long)s->pairs, (unsigned long long)s->next,
           (unsigned long long)s->jump, (unsigned long long)s->back, (unsigned long long)s->zero,
           name);
    if (fv->trade_ids_seq)
        assert_int_equal(s->next, s->pairs);
    feed_offline_close(&o);
    free(s);
    return 1;
}

static void test_survey_trade_ids_of_every_recording(void **state)
{
    (void)state;
    const char *dir = getenv("TG_RECORDINGS");
    if (!dir || !getenv("TG_TGAP_SURVEY"))
        skip();
    assert_true(tu_recs_each(dir, NULL, 1 << 30, survey_one, NULL) > 0);
}

TU_MAIN(NULL, NULL, cmocka_unit_test(test_consecutive_ids_show_the_exact_hole),
        cmocka_unit_test(test_global_ids_show_no_id_bounded_gap),
        cmocka_unit_test(test_recordings_the_venue_property_reaches_the_builder),
        cmocka_unit_test(test_survey_trade_ids_of_every_recording))
