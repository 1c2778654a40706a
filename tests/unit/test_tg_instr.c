/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the instrument registry (book/tg_instr.h): dense ids, idempotent add,
 * exact and case-insensitive lookups, per-venue separation, defaults, argument checks and
 * the TG_INSTR_MAX / TG_VENUE_MAX limits (every registered symbol stays findable when the
 * table is full).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "book/tg_instr.h"

static int setup(void **state)
{
    tg_instr_reg_t *reg = NULL;
    if (tg_instr_reg_create(&reg) != 0)
        return -1;
    *state = reg;
    return 0;
}

static int teardown(void **state)
{
    tg_instr_reg_t *reg = *state;
    tg_instr_reg_destroy(&reg);
    return reg == NULL ? 0 : -1;
}

static int64_t find(const tg_instr_reg_t *reg, const char *venue, const char *sym)
{
    return tg_instr_reg_find(reg, tg_instr_reg_venue_id(reg, venue), sym, strlen(sym));
}

static void test_defaults_are_scale_8_and_no_depth_limit(void **state)
{
    (void)state;
    tg_instr_cfg_t c;
    memset(&c, 0x5a, sizeof(c));
    tg_instr_cfg_defaults(&c);
    assert_int_equal(c.px_scale, 8);
    assert_int_equal(c.sz_scale, 8);
    assert_int_equal(c.depth_limit, 0);
    assert_null(c.checksum);
}

static void test_add_gives_dense_ids_and_adding_twice_changes_nothing(void **state)
{
    tg_instr_reg_t *reg = *state;
    uint32_t a, b, c, again;
    tg_instr_cfg_t cfg;
    tg_instr_cfg_defaults(&cfg);
    cfg.px_scale = 2;
    cfg.sz_scale = 5;
    cfg.depth_limit = 25;
    assert_int_equal(tg_instr_reg_add(reg, "binance", "BTCUSDT", &cfg, &a), 0);
    assert_int_equal(tg_instr_reg_add(reg, "binance", "ETHUSDT", NULL, &b), 0);
    assert_int_equal(tg_instr_reg_add(reg, "kraken", "XBT/USD", NULL, &c), 0);
    assert_int_equal(a, 0);
    assert_int_equal(b, 1);
    assert_int_equal(c, 2);
    cfg.px_scale = 7;
    assert_int_equal(tg_instr_reg_add(reg, "binance", "BTCUSDT", &cfg, &again), 0);
    assert_int_equal(again, a);
    assert_int_equal(tg_instr_reg_count(reg), 3);
    const tg_instr_t *in = tg_instr_reg_get(reg, a);
    assert_non_null(in);
    assert_int_equal(in->id, a);
    assert_int_equal(in->px_scale, 2); /* first registration wins */
    assert_int_equal(in->sz_scale, 5);
    assert_int_equal(in->depth_limit, 25);
    assert_string_equal(in->venue, "binance");
    assert_string_equal(in->symbol, "BTCUSDT");
    in = tg_instr_reg_get(reg, b);
    assert_int_equal(in->px_scale, 8);
    assert_int_equal(in->venue_id, tg_instr_reg_venue_id(reg, "binance"));
    assert_int_equal(tg_instr_reg_get(reg, c)->venue_id, tg_instr_reg_venue_id(reg, "kraken"));
    assert_null(tg_instr_reg_get(reg, 3));
}

static void test_find_is_exact_per_venue_and_nocase_folds_ascii(void **state)
{
    tg_instr_reg_t *reg = *state;
    uint32_t id1, id2, id3;
    assert_int_equal(tg_instr_reg_add(reg, "binance", "BTCUSDT", NULL, &id1), 0);
    assert_int_equal(tg_instr_reg_add(reg, "okex", "BTC-USDT", NULL, &id2), 0);
    assert_int_equal(tg_instr_reg_add(reg, "binance", "BTC-USDT", NULL, &id3), 0);
    assert_int_equal(find(reg, "binance", "BTCUSDT"), id1);
    assert_int_equal(find(reg, "okex", "BTC-USDT"), id2);
    assert_int_equal(find(reg, "binance", "BTC-USDT"), id3);
    assert_int_equal(find(reg, "okex", "BTCUSDT"), -1);
    assert_int_equal(find(reg, "binance", "btcusdt"), -1);
    assert_int_equal(find(reg, "binance", "BTCUSD"), -1);
    assert_int_equal(find(reg, "binance", "BTCUSDTX"), -1);
    int v = tg_instr_reg_venue_id(reg, "binance");
    assert_int_equal(tg_instr_reg_find_nocase(reg, v, "btcusdt", 7), id1);
    assert_int_equal(tg_instr_reg_find_nocase(reg, v, "bTcUsDt", 7), id1);
    assert_int_equal(tg_instr_reg_find_nocase(reg, v, "btc-usdt", 8), id3);
    assert_int_equal(tg_instr_reg_find_nocase(reg, v, "btcusdc", 7), -1);
    /* not NUL-terminated: only len bytes count */
    assert_int_equal(tg_instr_reg_find(reg, v, "BTCUSDT@depth", 7), id1);
    assert_int_equal(tg_instr_reg_find_nocase(reg, v, "btcusdt@trade", 7), id1);
    /* bad venue ids and lengths */
    assert_int_equal(tg_instr_reg_find(reg, -1, "BTCUSDT", 7), -1);
    assert_int_equal(tg_instr_reg_find(reg, 99, "BTCUSDT", 7), -1);
    assert_int_equal(tg_instr_reg_find(reg, v, "BTCUSDT", 0), -1);
    assert_int_equal(tg_instr_reg_venue_id(reg, "bybit"), -1);
}

static void test_add_rejects_bad_names_and_scales(void **state)
{
    tg_instr_reg_t *reg = *state;
    uint32_t id = 77;
    char longsym[TG_SYMBOL_MAX + 1], longven[TG_VENUE_NAME_MAX + 1];
    memset(longsym, 'A', TG_SYMBOL_MAX);
    longsym[TG_SYMBOL_MAX] = '\0';
    memset(longven, 'v', TG_VENUE_NAME_MAX);
    longven[TG_VENUE_NAME_MAX] = '\0';
    tg_instr_cfg_t cfg;
    tg_instr_cfg_defaults(&cfg);
    assert_int_equal(tg_instr_reg_add(reg, "", "BTC", NULL, &id), -EINVAL);
    assert_int_equal(tg_instr_reg_add(reg, "binance", "", NULL, &id), -EINVAL);
    assert_int_equal(tg_instr_reg_add(reg, "binance", longsym, NULL, &id), -EINVAL);
    assert_int_equal(tg_instr_reg_add(reg, longven, "BTC", NULL, &id), -EINVAL);
    assert_int_equal(tg_instr_reg_add(reg, NULL, "BTC", NULL, &id), -EINVAL);
    cfg.px_scale = 19;
    assert_int_equal(tg_instr_reg_add(reg, "binance", "BTC", &cfg, &id), -EINVAL);
    cfg.px_scale = 8;
    cfg.sz_scale = -1;
    assert_int_equal(tg_instr_reg_add(reg, "binance", "BTC", &cfg, &id), -EINVAL);
    assert_int_equal(id, 77);
    assert_int_equal(tg_instr_reg_count(reg), 0);
    longsym[TG_SYMBOL_MAX - 1] = '\0'; /* longest allowed */
    assert_int_equal(tg_instr_reg_add(reg, "binance", longsym, NULL, &id), 0);
    assert_int_equal(find(reg, "binance", longsym), id);
}

static void test_full_registry_refuses_more_and_finds_all(void **state)
{
    tg_instr_reg_t *reg = *state;
    char sym[32];
    for (uint32_t i = 0; i < TG_INSTR_MAX; i++) {
        uint32_t id;
        snprintf(sym, sizeof(sym), "SYM%uUSDT", i);
        assert_int_equal(tg_instr_reg_add(reg, i % 2 ? "okex" : "binance", sym, NULL, &id), 0);
        assert_int_equal(id, i);
    }
    uint32_t id;
    assert_int_equal(tg_instr_reg_add(reg, "binance", "ONEMORE", NULL, &id), -ENOSPC);
    assert_int_equal(tg_instr_reg_add(reg, "binance", "SYM0USDT", NULL, &id), 0); /* exists */
    assert_int_equal(id, 0);
    for (uint32_t i = 0; i < TG_INSTR_MAX; i++) {
        snprintf(sym, sizeof(sym), "sym%uusdt", i);
        int v = tg_instr_reg_venue_id(reg, i % 2 ? "okex" : "binance");
        assert_int_equal(tg_instr_reg_find_nocase(reg, v, sym, strlen(sym)), i);
        assert_int_equal(tg_instr_reg_find(reg, v, sym, strlen(sym)), -1);
        snprintf(sym, sizeof(sym), "SYM%uUSDT", i);
        assert_int_equal(tg_instr_reg_find(reg, v, sym, strlen(sym)), i);
    }
}

static void test_venue_limit_is_enforced(void **state)
{
    tg_instr_reg_t *reg = *state;
    char ven[16];
    uint32_t id;
    for (int i = 0; i < TG_VENUE_MAX; i++) {
        snprintf(ven, sizeof(ven), "venue%d", i);
        assert_int_equal(tg_instr_reg_add(reg, ven, "X", NULL, &id), 0);
        assert_int_equal(tg_instr_reg_venue_id(reg, ven), i);
    }
    assert_int_equal(tg_instr_reg_add(reg, "onemore", "X", NULL, &id), -ENOSPC);
    assert_int_equal(tg_instr_reg_add(reg, "venue3", "Y", NULL, &id), 0);
    assert_int_equal(tg_instr_reg_venue_id(reg, "onemore"), -1);
}

static void test_destroy_null_is_a_noop(void **state)
{
    (void)state;
    tg_instr_reg_destroy(NULL);
    tg_instr_reg_t *reg = NULL;
    tg_instr_reg_destroy(&reg);
    assert_null(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_scale_8_and_no_depth_limit),
        cmocka_unit_test_setup_teardown(test_add_gives_dense_ids_and_adding_twice_changes_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_find_is_exact_per_venue_and_nocase_folds_ascii, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_add_rejects_bad_names_and_scales, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_registry_refuses_more_and_finds_all, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_venue_limit_is_enforced, setup, teardown),
        cmocka_unit_test(test_destroy_null_is_a_noop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
