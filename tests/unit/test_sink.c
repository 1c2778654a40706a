/* SPDX-License-Identifier: MIT */
/*
 * The sink table (storage/sink.h): every sink kind is switched on and off by its `enabled`
 * key alone (tg_sink_enabled), with the defaults its key table documents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "book/tg_cfgkey.h"
#include "storage/sink.h"

static void test_every_sink_is_switched_by_its_enabled_key(void **state)
{
    size_t n = 0;
    for (const tg_sink_ops_t *o; (o = tg_sink_at(n)) != NULL; n++) {
        const tg_cfgkey_t *k = tg_cfgkey_find(o->keys, o->n_keys, "enabled");
        assert_non_null(k);
        assert_int_equal(k->type, TG_CFG_BOOL);
        void *cfg = calloc(1, o->cfg_size);
        assert_non_null(cfg);
        tg_sink_cfg_defaults(o, cfg);
        assert_int_equal(tg_sink_enabled(o, cfg), strcmp(k->def, "true") == 0);
        char err[256];
        assert_int_equal(tg_sink_cfg_set(o, cfg, "enabled", "false", err, sizeof(err)), 0);
        assert_false(tg_sink_enabled(o, cfg));
        assert_int_equal(tg_sink_cfg_set(o, cfg, "enabled", "on", err, sizeof(err)), 0);
        assert_true(tg_sink_enabled(o, cfg));
        free(cfg);
    }
    assert_int_equal(n, 3); /* postgres, redis, shm */
}

/* A sink kind without an `enabled` key would always be on. */
static void test_a_sink_without_an_enabled_key_is_on(void **state)
{
    static const tg_cfgkey_t none[] = {{"x", TG_CFG_U32, 0, 4, 0, 9, "1", "a number"}};
    const tg_sink_ops_t o = {.name = "t", .keys = none, .n_keys = 1, .cfg_size = 4};
    uint32_t cfg = 0;
    assert_true(tg_sink_enabled(&o, &cfg));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_sink_is_switched_by_its_enabled_key),
        cmocka_unit_test(test_a_sink_without_an_enabled_key_is_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
