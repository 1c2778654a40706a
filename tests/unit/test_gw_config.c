/* SPDX-License-Identifier: MIT */
/* gateway config: defaults, a full valid file, and errors that name file and line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "book/tg_cfgkey.h"
#include "book/tg_err.h"
#include "book/tg_event.h"
#include "feeds/feed.h"
#include "gateway/gw_config.h"

static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/tg-cfg-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static int has_error(const gw_cfg_t *c, const char *needle)
{
    for (uint32_t i = 0; i < c->n_errors; i++)
        if (strstr(c->errors[i], needle))
            return 1;
    return 0;
}

static void test_cfg_valid_file_is_loaded(void **state)
{
    char *path = write_tmp("; comment\n"
                           "[gateway]\n"
                           "log_level = debug\n"
                           "feed_threads = 2\n"
                           "candles = 1s, 1m, 1h\n"
                           "[postgres]\n"
                           "conninfo = host=127.0.0.1 port=5432 dbname=x\n"
                           "batch_rows = 5000\n"
                           "[redis]\n"
                           "port = 6380\n"
                           "[metrics]\n"
                           "listen = 127.0.0.1:9999\n"
                           "[feed bin]\n"
                           "venue = binance\n"
                           "url = wss://127.0.0.1:9443/rec/x\n"
                           "symbols = BTCUSDT, ETHUSDT\n"
                           "symbols = BNBUSDT\n"
                           "depth = 1000\n"
                           "[feed krk]\n"
                           "venue = kraken\n"
                           "url = ws://127.0.0.1:1/\n"
                           "symbols = XBT/USD\n"
                           "channels = book\n");
    gw_cfg_t c;
    int rc = gw_cfg_load(&c, path);
    for (uint32_t i = 0; i < c.n_errors; i++)
        fprintf(stderr, "%s\n", c.errors[i]);
    assert_int_equal(rc, 0);
    assert_int_equal(c.log_level, 3);
    assert_int_equal(c.feed_threads, 2);
    assert_int_equal(c.n_intervals, 3);
    assert_true(c.intervals_ns[0] == 1000000000LL);
    assert_true(c.intervals_ns[2] == 3600LL * 1000000000LL);
    char v[64];
    assert_int_equal(tg_cfgkey_get(tg_sink_postgres.keys, tg_sink_postgres.n_keys,
                                   gw_cfg_sink(&c, "postgres"), "batch_rows", v, sizeof(v)),
                     0);
    assert_string_equal(v, "5000");
    assert_int_equal(tg_cfgkey_get(tg_sink_redis.keys, tg_sink_redis.n_keys,
                                   gw_cfg_sink(&c, "redis"), "port", v, sizeof(v)),
                     0);
    assert_string_equal(v, "6380");
    assert_int_equal(c.metrics_port, 9999);
    assert_int_equal(c.n_feeds, 2);
    assert_string_equal(c.feeds[0].name, "bin");
    assert_int_equal(c.feeds[0].n_symbols, 3);
    assert_string_equal(c.feeds[0].symbols[2], "BNBUSDT");
    assert_int_equal(c.feeds[0].depth, 1000);
    assert_int_equal(c.feeds[1].channels, 2u);
    assert_int_equal(c.feeds[1].thread, 1);
    gw_cfg_free(&c);
    unlink(path);
    free(path);
}

static void test_cfg_errors_name_file_and_line(void **state)
{
    char *path = write_tmp("[gateway]\n"                  /* 1 */
                           "feed_threads = 0\n"           /* 2 */
                           "bogus = 1\n"                  /* 3 */
                           "[postgres]\n"                 /* 4 */
                           "conninfo = password=secret\n" /* 5 */
                           "[feed a]\n"                   /* 6 */
                           "venue = nowhere\n"            /* 7 */
                           "[feed b]\n"                   /* 8 */
                           "venue = binance\n"            /* 9 */
                           "url = http://x\n"             /* 10 */
                           "[nosuch]\n"                   /* 11 */
                           "x = 1\n");                    /* 12 */
    gw_cfg_t c;
    assert_int_equal(gw_cfg_load(&c, path), TG_ECONFIG);
    static const char *const errs[] = {
        ":2: [gateway] feed_threads",
        ":3: [gateway] unknown key 'bogus'",
        ":5: [postgres] conninfo must not hold a password",
        ":7: [feed a] unknown venue 'nowhere'",
        ":10: [feed b] url must start with ws://",
        ":12: unknown section [nosuch]",
        ":8: [feed b] symbols is required",
    };
    char want[600];
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        snprintf(want, sizeof(want), "%s%s", path, errs[i]);
        assert_true(has_error(&c, want));
    }
    gw_cfg_free(&c);
    unlink(path);
    free(path);
}

/* [redis] cluster: what cluster mode does not support is refused, naming the setting; the A/B
 * lease is accepted (its key lives on its slot's primary). */
static void test_cfg_redis_cluster_refuses_db_and_bad_seeds(void **state)
{
    static const struct {
        const char *extra, *want;
    } cases[] = {
        {"db = 2\n", "[redis] db must be 0 with [redis] cluster"},
        {"leader = ab\n", NULL},
        {"", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), "[redis]\ncluster = 127.0.0.1:7000, 127.0.0.1:7001\n%s",
                 cases[i].extra);
        char *path = write_tmp(text);
        gw_cfg_t c;
        int rc = gw_cfg_load(&c, path);
        if (cases[i].want) {
            assert_int_equal(rc, TG_ECONFIG);
            assert_true(has_error(&c, cases[i].want));
        } else {
            assert_false(has_error(&c, "[redis]"));
        }
        gw_cfg_free(&c);
        unlink(path);
        free(path);
    }
    char *path = write_tmp("[redis]\ncluster = 127.0.0.1:7000, nohost\n");
    gw_cfg_t c;
    assert_int_equal(gw_cfg_load(&c, path), TG_ECONFIG);
    assert_true(has_error(&c, "[redis] cluster: "));
    gw_cfg_free(&c);
    unlink(path);
    free(path);
}

static void test_cfg_missing_file_is_an_errno(void **state)
{
    gw_cfg_t c;
    assert_int_equal(gw_cfg_load(&c, "/nonexistent/tickgate.ini"), -ENOENT);
    gw_cfg_free(&c);
}

static void test_cfg_durations_parse(void **state)
{
    int64_t ns;
    assert_int_equal(gw_cfg_parse_duration("250ms", &ns), 0);
    assert_true(ns == 250000000LL);
    assert_int_equal(gw_cfg_parse_duration("5m", &ns), 0);
    assert_true(ns == 300000000000LL);
    assert_int_equal(gw_cfg_parse_duration("1d", &ns), 0);
    assert_true(ns == 86400000000000LL);
    assert_int_equal(gw_cfg_parse_duration("0s", &ns), TG_ECONFIG);
    assert_int_equal(gw_cfg_parse_duration("5x", &ns), TG_ECONFIG);
    assert_int_equal(gw_cfg_parse_duration("", &ns), TG_ECONFIG);
}

static void test_cfg_unknown_venue_lists_the_known_ones_and_nothing_else(void **state)
{
    char *path = write_tmp("[feed x]\nvenue = nosuch\nsymbols = A\n");
    gw_cfg_t c;
    assert_int_equal(gw_cfg_load(&c, path), TG_ECONFIG);
    assert_true(has_error(&c, ":2: [feed x] unknown venue 'nosuch' (known: binance, "));
    assert_true(has_error(&c, "okex"));
    assert_false(has_error(&c, "venue is required")); /* it was given, just unknown */
    assert_int_equal(c.n_errors, 1);
    gw_cfg_free(&c);
    unlink(path);
    free(path);
}

static void test_cfg_feed_is_split_by_the_venue_symbols_per_connection(void **state)
{
    const feed_venue_t *v = NULL;
    for (size_t i = 0; (v = feed_venue_at(i)) != NULL; i++)
        if (v->max_symbols_per_conn && v->max_symbols_per_conn < 2000)
            break;
    assert_non_null(v); /* some venue publishes a per-connection limit */
    uint32_t max = v->max_symbols_per_conn, n = 2 * max + 1;
    size_t cap = 64 + (size_t)n * 16;
    char *text = malloc(cap);
    size_t k =
        (size_t)snprintf(text, cap, "[feed big]\nvenue = %s\nurl = ws://127.0.0.1:1/\n", v->name);
    for (uint32_t i = 0; i < n; i++) /* one symbols line each: the parser's line limit */
        k += (size_t)snprintf(text + k, cap - k, "symbols = S%u\n", i);
    char *path = write_tmp(text);
    gw_cfg_t c;
    assert_int_equal(gw_cfg_load(&c, path), 0);
    assert_int_equal(c.n_feeds, 3);
    assert_string_equal(c.feeds[0].name, "big.1");
    assert_string_equal(c.feeds[2].name, "big.3");
    assert_int_equal(c.feeds[0].n_symbols, max);
    assert_int_equal(c.feeds[1].n_symbols, max);
    assert_int_equal(c.feeds[2].n_symbols, 1);
    char want[16];
    snprintf(want, sizeof(want), "S%u", max);
    assert_string_equal(c.feeds[1].symbols[0], want);
    assert_int_equal(c.feeds[2].parts, 3);
    gw_cfg_free(&c);
    unlink(path);
    free(path);
    free(text);
}

/* n [feed] sections of one symbol each, after a [gateway] section with `ring` (NULL: none).
 * @return the ring's events; *ovf (may be NULL): the overflow's. */
static uint32_t feed_ring_of(uint32_t n, const char *ring, int *rc, uint32_t *ovf)
{
    size_t cap = 128 + (size_t)n * 96;
    char *text = malloc(cap);
    size_t k = 0;
    if (ring)
        k += (size_t)snprintf(text + k, cap - k, "[gateway]\nfeed_ring = %s\n", ring);
    for (uint32_t i = 0; i < n; i++)
        k += (size_t)snprintf(text + k, cap - k,
                              "[feed f%u]\nvenue = binance\nurl = ws://127.0.0.1:1/\nsymbols = S\n",
                              i);
    char *path = write_tmp(text);
    gw_cfg_t c;
    *rc = gw_cfg_load(&c, path);
    uint32_t cap_ev = *rc == 0 ? gw_cfg_feed_ring(&c) : 0;
    if (ovf)
        *ovf = *rc == 0 ? gw_cfg_feed_overflow(&c) : 0;
    if (*rc == 0)
        assert_int_equal(c.n_feeds, n);
    gw_cfg_free(&c);
    unlink(path);
    free(path);
    free(text);
    return cap_ev;
}

static void test_cfg_feed_ring_auto_bounds_the_rings_of_all_connections(void **state)
{
    (void)state;
    int rc;
    /* auto: a ring of 16384 at most; ring + overflow: 65536 up to 16 connections, then the
     * 64 MiB budget (at least 8192) */
    static const struct {
        uint32_t conns, ring, ovf;
    } rows[] = {{1, 16384, 49152},  {16, 16384, 49152}, {17, 16384, 16384},
                {32, 16384, 16384}, {40, 16384, 0},     {64, 16384, 0},
                {65, 8192, 0},      {128, 8192, 0},     {300, 8192, 0}};
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        uint32_t ovf = 1;
        uint32_t got = feed_ring_of(rows[i].conns, NULL, &rc, &ovf);
        assert_int_equal(rc, 0);
        if (got != rows[i].ring || ovf != rows[i].ovf)
            fail_msg("%u connections: feed_ring auto = %u + %u overflow, want %u + %u",
                     rows[i].conns, got, ovf, rows[i].ring, rows[i].ovf);
        if (rows[i].conns <= 128) /* the budget holds down to the floor */
            assert_true((uint64_t)(got + ovf) * sizeof(tg_event_t) * rows[i].conns <=
                        GW_FEED_RING_AUTO_BUDGET);
    }
    uint32_t ovf = 1;
    assert_int_equal(feed_ring_of(40, "AUTO", &rc, NULL), 16384);
    assert_int_equal(feed_ring_of(40, "1024", &rc, &ovf), 1024); /* a set value is kept */
    assert_int_equal(ovf, 0);                                    /* ... with no overflow */
    assert_int_equal(feed_ring_of(1, "65536", &rc, &ovf), 65536);
    assert_int_equal(ovf, 0);
    gw_cfg_t c;
    char *path = write_tmp("[gateway]\ncandle_dedup_window = 128\n[feed f]\nvenue = binance\nurl = "
                           "ws://127.0.0.1:1/\nsymbols = S\n");
    assert_int_equal(gw_cfg_load(&c, path), 0);
    assert_int_equal(c.candle_dedup_window, 128);
    gw_cfg_free(&c);
    unlink(path);
    free(path);
    feed_ring_of(2, "1000", &rc, NULL); /* not a power of two */
    assert_int_equal(rc, TG_ECONFIG);
    feed_ring_of(2, "autox", &rc, NULL);
    assert_int_equal(rc, TG_ECONFIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cfg_valid_file_is_loaded),
        cmocka_unit_test(test_cfg_errors_name_file_and_line),
        cmocka_unit_test(test_cfg_missing_file_is_an_errno),
        cmocka_unit_test(test_cfg_redis_cluster_refuses_db_and_bad_seeds),
        cmocka_unit_test(test_cfg_durations_parse),
        cmocka_unit_test(test_cfg_unknown_venue_lists_the_known_ones_and_nothing_else),
        cmocka_unit_test(test_cfg_feed_is_split_by_the_venue_symbols_per_connection),
        cmocka_unit_test(test_cfg_feed_ring_auto_bounds_the_rings_of_all_connections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
