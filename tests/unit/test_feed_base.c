/* SPDX-License-Identifier: MIT */
/*
 * The venue base (feeds/feed.c): feed_dec raises an instrument's scale when a value needs more
 * places and feed_frame parses the message again, dropping what the abandoned attempt
 * buffered; values no scale holds fault the book loudly; frames count once; tg_dec_places;
 * the rest_key helpers; the venue table (ids, aliases, "known:" list).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "book/tg_dec.h"
#include "feeds/feed.h"
#include "tests/fixtures/tu_reg.h"

/* A toy venue: a frame is "px sz;px sz;..." levels of instrument 0, parsed first, then
 * emitted (the base's rule: no state change before every number is parsed). */
static int toy_frame(feed_handler_t *h, const char *buf, size_t len, int64_t tr, int64_t tm)
{
    int64_t px[16], sz[16];
    int n = 0;
    const char *p = buf, *end = buf + len;
    while (p < end && n < 16) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        if (!sp)
            return TG_EJSON;
        const char *semi = memchr(sp, ';', (size_t)(end - sp));
        const char *e = semi ? semi : end;
        int rc = feed_dec_px(h, 0, p, (size_t)(sp - p), &px[n]);
        if (rc == 0)
            rc = feed_dec_sz(h, 0, sp + 1, (size_t)(e - sp - 1), &sz[n]);
        if (rc < 0) {
            feed_count_error(h->stats, rc);
            return rc;
        }
        n++;
        p = semi ? semi + 1 : end;
    }
    for (int i = 0; i < n; i++)
        feed_emit_make(h, TG_EV_LEVEL, 0, TG_SIDE_BID, px[i], sz[i], 0, 0, 0, tr, tm, 0);
    feed_end_message(h, 0, 0, tr, tm);
    TG_STAT_INC(h->stats->handled);
    return 0;
}

static const feed_venue_t toy = {.name = "toy", .on_frame = toy_frame};

typedef struct fx {
    tg_instr_reg_t *reg;
    feed_handler_t h;
    feed_stats_t st;
    tg_event_t buf[8], got[64];
    int n_got, flushes;
    char log[512];
} fx_t;

static int sink(void *ctx, const tg_event_t *ev, uint32_t n)
{
    fx_t *f = ctx;
    f->flushes++;
    for (uint32_t i = 0; i < n && f->n_got < 64; i++)
        f->got[f->n_got++] = ev[i];
    return 0;
}

static void logcb(void *lctx, int level, const char *msg)
{
    fx_t *f = lctx;
    snprintf(f->log, sizeof(f->log), "%s", msg);
}

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    uint32_t id;
    tu_reg_one(&f->reg, "toy", "ELON-USDT", 2, 0, &id, NULL);
    f->h.venue = &toy;
    f->h.reg = f->reg;
    f->h.out = (feed_out_t){.ev = f->buf, .cap = 8, .flush = sink, .ctx = f};
    f->h.stats = &f->st;
    f->h.log = logcb;
    f->h.lctx = f;
    assert_int_equal(feed_handler_setup(&f->h), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    feed_handler_teardown(&f->h);
    tg_instr_reg_destroy(&f->reg);
    free(f);
    return 0;
}

static void frame(fx_t *f, const char *s)
{
    feed_frame(&f->h, s, strlen(s), 1, 1);
    feed_flush(&f->h);
}

static void assert_ev(const tg_event_t *e, const char *px, const char *sz)
{
    char b[TG_DEC_STR_MAX];
    assert_true(e->flags & TG_EVF_SCALED);
    tg_dec_format(e->price, (int)e->px_scale, b);
    assert_string_equal(b, px);
    tg_dec_format(e->size, (int)e->sz_scale, b);
    assert_string_equal(b, sz);
}

static void test_more_places_raise_the_scale_and_the_frame_is_parsed_again(void **state)
{
    fx_t *f = *state;
    frame(f, "12.5 3");
    assert_int_equal(f->n_got, 1);
    assert_int_equal(f->got[0].px_scale, 2);
    assert_ev(&f->got[0], "12.5", "3");
    /* first level fits 2 places, the second needs 11 (OKX ELON-USDT): parsed again at 11,
       the first attempt's buffered level is dropped, not sent twice */
    f->n_got = 0;
    frame(f, "1.25 1;0.00000074408 1000000000000");
    assert_int_equal(f->n_got, 2);
    assert_int_equal(f->got[0].px_scale, 11);
    assert_ev(&f->got[0], "1.25", "1");
    assert_ev(&f->got[1], "0.00000074408", "1000000000000");
    assert_int_equal(feed_px_scale(&f->h, 0), 11);
    assert_int_equal(TG_STAT_GET(f->st.rescales), 1);
    assert_int_equal(TG_STAT_GET(f->st.frames), 2); /* counted once, not per attempt */
    assert_int_equal(TG_STAT_GET(f->st.handled), 2);
    assert_int_equal(TG_STAT_GET(f->st.err_decimal), 0);
    assert_non_null(strstr(f->log, "ELON-USDT"));
    /* sizes too, in scientific notation; scales never go down */
    f->n_got = 0;
    frame(f, "2 1.5e-8");
    assert_int_equal(f->n_got, 1);
    assert_int_equal(f->got[0].px_scale, 11);
    assert_int_equal(f->got[0].sz_scale, 9);
    assert_ev(&f->got[0], "2", "0.000000015");
}

static void test_a_value_no_scale_holds_is_loud_and_faults_the_book(void **state)
{
    fx_t *f = *state;
    frame(f, "0.0000000000000000001 1"); /* 19 places */
    assert_int_equal(TG_STAT_GET(f->st.unrepresentable), 1);
    assert_int_equal(TG_STAT_GET(f->st.err_decimal), 1);
    assert_int_equal(f->n_got, 1);
    assert_int_equal(f->got[0].kind, TG_EV_GAP);
    assert_true(f->got[0].flags & TG_EVF_FAULT);
    assert_non_null(strstr(f->log, "ELON-USDT"));
    assert_non_null(strstr(f->log, "0.0000000000000000001"));
    /* too large at the scale the instrument needs: 1e17 at 2 places */
    f->n_got = 0;
    frame(f, "100000000000000000 1");
    assert_int_equal(TG_STAT_GET(f->st.unrepresentable), 2);
    assert_int_equal(f->got[0].kind, TG_EV_GAP);
    assert_int_equal(TG_STAT_GET(f->st.frames), 2);
}

static void test_a_retry_after_a_flush_resends_idempotent_levels(void **state)
{
    fx_t *f = *state; /* out buffer of 8: a 10-level message flushes before the rescale */
    frame(f, "1 1;2 1;3 1;4 1;5 1;6 1;7 1;8 1;9 1;0.001 1");
    assert_int_equal(TG_STAT_GET(f->st.rescales), 1);
    /* 8 levels at 2 places went out before the retry; then all 10 at 3 places + the end */
    assert_int_equal(f->got[f->n_got - 1].px_scale, 3);
    assert_ev(&f->got[f->n_got - 1], "0.001", "1");
}

static void test_dec_places(void **state)
{
    struct {
        const char *s;
        int places;
    } c[] = {{"0.00000074408", 11}, {"1.50", 1},          {"2.5E+3", 0},
             {"1e-12", 12},         {"0.0000016425", 10}, {"100", 0},
             {"-0.5", 1},           {"1.25e1", 1},        {"0", 0},
             {"0.000", 0},          {"12e-0", 0},         {"1.1e-18", 19}};
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
        assert_int_equal(tg_dec_places(c[i].s, strlen(c[i].s)), c[i].places);
    assert_int_equal(tg_dec_places("abc", 3), TG_EDEC_SYNTAX);
    assert_int_equal(tg_dec_places("1e", 2), TG_EDEC_SYNTAX);
    assert_int_equal(tg_dec_places(".", 1), TG_EDEC_SYNTAX);
}

static void test_rest_key_helpers(void **state)
{
    char k[64];
    assert_int_equal(feed_rest_key_query("/api/v3/depth?symbol=BTCUSDT&limit=5", "/api/v3/depth",
                                         "symbol", "", k, sizeof(k)),
                     0);
    assert_string_equal(k, "btcusdt");
    assert_int_equal(feed_rest_key_query("/api/v3/depth?limit=5&symbol=ETHBTC", "/api/v3/depth",
                                         "symbol", "x:", k, sizeof(k)),
                     0);
    assert_string_equal(k, "x:ethbtc");
    assert_int_equal(
        feed_rest_key_query("/api/v3/depthx?symbol=A", "/api/v3/depth", "symbol", "", k, sizeof(k)),
        -ENOENT);
    assert_int_equal(
        feed_rest_key_query("/api/v3/depth?sym=A", "/api/v3/depth", "symbol", "", k, sizeof(k)),
        -EINVAL);
    assert_int_equal(feed_rest_key_tail("/api/v2/order_book/XLMEUR/", "/api/v2/order_book/",
                                        "diff_order_book_", k, sizeof(k)),
                     0);
    assert_string_equal(k, "diff_order_book_xlmeur");
    assert_int_equal(feed_rest_key_tail("/other", "/api/", "", k, sizeof(k)), -ENOENT);
}

static void test_venue_table_ids_aliases_and_list(void **state)
{
    assert_non_null(feed_venue_find("binance"));
    assert_ptr_equal(feed_venue_find("okx"), feed_venue_find("okex"));
    assert_null(feed_venue_find("nosuchvenue"));
    char list[1024];
    feed_venue_list(list, sizeof(list));
    assert_non_null(strstr(list, "binance, binance-futures"));
    size_t n = 0;
    for (const feed_venue_t *v; (v = feed_venue_at(n)) != NULL; n++) {
        assert_non_null(v->on_frame);
        assert_ptr_equal(feed_venue_find(v->name), v);
        assert_non_null(strstr(list, v->name));
    }
    assert_true(n >= 8);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_more_places_raise_the_scale_and_the_frame_is_parsed_again),
        T(test_a_value_no_scale_holds_is_loud_and_faults_the_book),
        T(test_a_retry_after_a_flush_resends_idempotent_levels),
        cmocka_unit_test(test_dec_places),
        cmocka_unit_test(test_rest_key_helpers),
        cmocka_unit_test(test_venue_table_ids_aliases_and_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
