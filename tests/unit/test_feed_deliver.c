/* SPDX-License-Identifier: MIT */
/*
 * The transport's delivery (feeds/feed.c feed_deliver, feed_deliver_rest): a malformed frame
 * or REST answer is counted once, in its err_* counter, and not again as a handler error;
 * a failure no err_* counter took (a handler out of memory) is a handler error, once. Real
 * venue handlers (Kraken, Gate.io) where the rule meets a venue; a toy handler for the
 * uncounted failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "feeds/feed.h"
#include "feeds/venues/venues.h"

typedef struct fx {
    tg_instr_reg_t *reg;
    feed_handler_t h;
    feed_stats_t st;
    tg_stat_t handler_errors;
    uint32_t instr;
    tg_event_t buf[64];
} fx_t;

static int sink(void *ctx, const tg_event_t *ev, uint32_t n)
{
    (void)ctx;
    (void)ev;
    (void)n;
    return 0;
}

static uint64_t errors(const feed_stats_t *s)
{
    return TG_STAT_GET(s->err_json) + TG_STAT_GET(s->err_field) + TG_STAT_GET(s->err_symbol) +
           TG_STAT_GET(s->err_decimal) + TG_STAT_GET(s->err_venue);
}

static fx_t *fx_new(const feed_venue_t *v, const char *symbol)
{
    fx_t *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(tg_instr_reg_create(&f->reg), 0);
    tg_instr_cfg_t c;
    feed_venue_instr_cfg(v, symbol, 0, &c);
    assert_int_equal(tg_instr_reg_add(f->reg, v->name, symbol, &c, &f->instr), 0);
    f->h.venue = v;
    f->h.reg = f->reg;
    f->h.venue_id = tg_instr_reg_get(f->reg, f->instr)->venue_id;
    f->h.instr = &f->instr;
    f->h.n_instr = 1;
    f->h.channels = FEED_CH_ALL;
    f->h.out = (feed_out_t){.ev = f->buf, .cap = 64, .flush = sink, .ctx = f};
    f->h.stats = &f->st;
    assert_int_equal(feed_handler_setup(&f->h), 0);
    return f;
}

static void fx_free(fx_t *f)
{
    feed_handler_teardown(&f->h);
    tg_instr_reg_destroy(&f->reg);
    free(f);
}

static int deliver(fx_t *f, const char *s)
{
    int rc = feed_deliver(&f->h, s, strlen(s), 1, 1, &f->handler_errors);
    feed_flush(&f->h);
    return rc;
}

static void test_a_malformed_frame_counts_once_as_a_json_error(void **state)
{
    (void)state;
    fx_t *f = fx_new(&feed_venue_kraken, "XBT/USD");
    assert_true(deliver(f, "{\"event\":\"heartbeat\"") < 0); /* unterminated */
    assert_int_equal(TG_STAT_GET(f->st.err_json), 1);
    assert_int_equal(TG_STAT_GET(f->handler_errors), 0);
    assert_int_equal(errors(&f->st) + TG_STAT_GET(f->handler_errors), 1);
    /* and a good frame after it is not an error at all */
    assert_int_equal(deliver(f, "{\"event\":\"heartbeat\"}"), 0);
    assert_int_equal(errors(&f->st) + TG_STAT_GET(f->handler_errors), 1);
    assert_int_equal(TG_STAT_GET(f->st.frames), 2);
    fx_free(f);
}

static void test_every_bad_frame_of_a_batch_counts_once(void **state)
{
    (void)state;
    static const char *bad[] = {"", "[", "{\"a\":}", "not json", "{\"channel\":42}"};
    fx_t *f = fx_new(&feed_venue_gate_io, "BTC_USDT");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_true(deliver(f, bad[i]) < 0);
    uint64_t n = sizeof(bad) / sizeof(bad[0]);
    assert_int_equal(errors(&f->st), n);
    assert_int_equal(TG_STAT_GET(f->handler_errors), 0);
    assert_int_equal(TG_STAT_GET(f->st.frames),
                     TG_STAT_GET(f->st.handled) + TG_STAT_GET(f->st.unhandled) + errors(&f->st));
    fx_free(f);
}

static void test_a_refused_rest_answer_counts_once_as_a_venue_error(void **state)
{
    (void)state;
    fx_t *f = fx_new(&feed_venue_gate_io, "BTC_USDT");
    const char *body = "{\"label\":\"TOO_MANY_REQUESTS\"}";
    /* tag: connection generation 0, symbol 0 (no on_open: the first generation) */
    int rc = feed_deliver_rest(&f->h, 0, 429, body, strlen(body), 1, 1, &f->handler_errors);
    assert_true(rc < 0);
    assert_int_equal(TG_STAT_GET(f->st.err_venue), 1);
    assert_int_equal(errors(&f->st), 1);
    assert_int_equal(TG_STAT_GET(f->handler_errors), 0);
    fx_free(f);
}

/* A handler that fails without counting anything (as out of memory does). */
static int oom_frame(feed_handler_t *h, const char *buf, size_t len, int64_t tr, int64_t tm)
{
    (void)h;
    (void)buf;
    (void)len;
    (void)tr;
    (void)tm;
    return -ENOMEM;
}

static const feed_venue_t oom = {.name = "oom", .on_frame = oom_frame};

static void test_a_failure_no_err_counter_took_is_a_handler_error(void **state)
{
    (void)state;
    fx_t *f = fx_new(&oom, "X");
    assert_int_equal(deliver(f, "{}"), -ENOMEM);
    assert_int_equal(errors(&f->st), 0);
    assert_int_equal(TG_STAT_GET(f->handler_errors), 1);
    fx_free(f);
}

/* Every field of a venue's registration config is set, whatever the memory held before
 * (a venue's instr_defaults sets only its own fields: CI once read an uninitialised
 * trade_ids_seq through a test that called it alone). */
static void test_every_venue_config_sets_every_field(void **state)
{
    (void)state;
    size_t n = 0;
    for (const feed_venue_t *v; (v = feed_venue_at(n)) != NULL; n++) {
        for (int fill = 0; fill < 2; fill++) {
            tg_instr_cfg_t c;
            memset(&c, fill ? 0xff : 0x5a, sizeof(c));
            feed_venue_instr_cfg(v, "BTC-USD", 10, &c);
            unsigned char tb;
            memcpy(&tb, &c.trade_ids_seq, 1);
            if (tb != (v->trade_ids_seq ? 1 : 0))
                fail_msg("%s: trade_ids_seq byte %u", v->name, tb);
            if (c.px_scale < 0 || c.px_scale > 18 || c.sz_scale < 0 || c.sz_scale > 18)
                fail_msg("%s: scales %d/%d", v->name, c.px_scale, c.sz_scale);
            if (c.depth_limit > 100000)
                fail_msg("%s: depth_limit %u", v->name, c.depth_limit);
            tg_instr_cfg_t again;
            memset(&again, fill ? 0x5a : 0xff, sizeof(again));
            feed_venue_instr_cfg(v, "BTC-USD", 10, &again);
            assert_true(again.checksum == c.checksum);
            assert_int_equal(again.depth_limit, c.depth_limit);
        }
    }
    assert_true(n >= 19);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_every_venue_config_sets_every_field),
    cmocka_unit_test(test_a_malformed_frame_counts_once_as_a_json_error),
    cmocka_unit_test(test_every_bad_frame_of_a_batch_counts_once),
    cmocka_unit_test(test_a_refused_rest_answer_counts_once_as_a_venue_error),
    cmocka_unit_test(test_a_failure_no_err_counter_took_is_a_handler_error),
};

int main(void)
{
    return cmocka_run_group_tests(tests, NULL, NULL);
}
