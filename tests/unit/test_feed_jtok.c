/* SPDX-License-Identifier: MIT */
/*
 * JSON token trees (feeds/feed_jtok.h feed_jtok_wellformed): jsmn, even strict, accepts a key
 * without its value, a key inside an array, two keys in a row and several top-level values, and
 * the handlers' key/value walks would read a neighbour's token as a value. Every such text is
 * refused by feed_jtok_parse; well-formed JSON (nesting, escapes, empty containers) is not.
 * Then every venue (every recording of TG_RECORDINGS): the recording's frames with, after each
 * of the first FRAMES websocket frames that has a key, the same frame with that key's value cut
 * off (`{"e":"trade",..}` -> `{"e","trade",..}`): each cut frame is counted once, as a JSON
 * error, and nothing else changes in the counters. Skipped (77) without TG_RECORDINGS.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "feeds/feed_jtok.h"
#include "feeds/rec/feed_offline.h"
#include "tests/fixtures/tu_main.h"

#define FRAMES 300 /* frames of each recording cut */

static int parse(const char *s)
{
    feed_jtok_t j;
    assert_int_equal(feed_jtok_init(&j, 4, 1 << 12), 0);
    int n = feed_jtok_parse(&j, s, strlen(s));
    feed_jtok_deinit(&j);
    return n;
}

static void test_malformed_trees_are_refused(void **state)
{
    (void)state;
    static const char *bad[] = {
        "{\"a\",\"b\":1}",
        "{\"a\":}",
        "{\"a\":1,\"b\"}",
        "[\"a\":1]",
        "{\"a\" \"b\"}",
        "{\"a\":{\"b\"}}",
        "[{\"a\":[\"b\":2]}]",
        "{} {}",
        "[1] 2",
        "\"a\":1",
        "{\"a\":1,\"b\",\"c\":3}",
        "[[],{\"k\"}]",
        "{\"a\":[1,2],\"b\"}",
        "{\"a\":\"b\":\"c\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (parse(bad[i]) != TG_EJSON)
            fail_msg("accepted: %s", bad[i]);
}

static void test_wellformed_trees_are_kept(void **state)
{
    (void)state;
    static const char *good[] = {
        "{}",
        "[]",
        "{\"a\":1}",
        "[1,\"x\",true,null]",
        "{\"a\":{\"b\":[1,{\"c\":\"d\"}]},\"e\":[]}",
        "[[[]],[{}],{\"k\":\"v\\\"\"}]",
        "{\"a\":\"b:c\",\"d\":[\"e\",\"f\"]}",
        "\"s\"",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        if (parse(good[i]) <= 0)
            fail_msg("refused: %s", good[i]);
    /* deep nesting: no limit (no stack) */
    char deep[2 * 2000 + 2];
    memset(deep, '[', 2000);
    deep[2000] = '1';
    memset(deep + 2001, ']', 2000);
    deep[2 * 2000 + 1] = 0;
    assert_true(parse(deep) > 0);
}

typedef struct text {
    char *p;
    size_t len, cap;
} text_t;

static void put(text_t *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->p = realloc(t->p, t->cap);
        assert_non_null(t->p);
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = 0;
}

static uint64_t errors(const feed_stats_t *s)
{
    return TG_STAT_GET(s->err_json) + TG_STAT_GET(s->err_field) + TG_STAT_GET(s->err_symbol) +
           TG_STAT_GET(s->err_decimal) + TG_STAT_GET(s->err_venue);
}

static int drop(void *ctx, const tg_event_t *ev, uint32_t n)
{
    (void)ctx;
    (void)ev;
    (void)n;
    return 0;
}

/* Run a tgrec text through its venue offline; the counters into st. */
static void run_text(const char *path, const text_t *t, feed_stats_t *st)
{
    feed_offline_t *o = NULL;
    int rc = feed_offline_open_mem(&o, t->p, t->len, NULL, NULL, 0);
    if (rc != 0)
        fail_msg("%s: open: %d", path, rc);
    assert_int_equal(feed_offline_run(o, drop, NULL), 0);
    *st = o->stats;
    feed_offline_close(&o);
}

/* One recording: the original frames, then the same with cut copies; the cut ones count. */
static unsigned check_recording(const char *path)
{
    feed_tgrec_t *r = NULL;
    if (feed_tgrec_open(&r, path) != 0)
        fail_msg("%s: open", path);
    text_t orig = {0}, cut = {0};
    put(&orig, r->buf, r->data_off); /* the header, before next() rewrites line ends */
    put(&cut, r->buf, r->data_off);
    int64_t ts;
    const char *f;
    size_t len, k = 0;
    unsigned m = 0;
    char num[32];
    while (feed_tgrec_next(r, &ts, &f, &len) == 1) {
        int nl = snprintf(num, sizeof(num), "%lld ", (long long)ts);
        put(&orig, num, (size_t)nl);
        put(&orig, f, len);
        put(&orig, "\n", 1);
        put(&cut, num, (size_t)nl);
        put(&cut, f, len);
        put(&cut, "\n", 1);
        const char *colon = len > 2 ? memmem(f, len, "\":", 2) : NULL;
        if (k++ < FRAMES && colon && !feed_tgrec_is_generated(f, len)) {
            put(&cut, num, (size_t)nl);
            put(&cut, f, (size_t)(colon - f) + 1);
            put(&cut, ",", 1);
            put(&cut, colon + 2, len - (size_t)(colon - f) - 2);
            put(&cut, "\n", 1);
            m++;
        }
    }
    feed_tgrec_close(&r);
    feed_stats_t a, b;
    run_text(path, &orig, &a);
    run_text(path, &cut, &b);
    if (TG_STAT_GET(b.err_json) != TG_STAT_GET(a.err_json) + m || errors(&b) != errors(&a) + m ||
        TG_STAT_GET(b.frames) != TG_STAT_GET(a.frames) + m)
        fail_msg("%s: %u frames cut: json errors %llu -> %llu, all errors %llu -> %llu", path, m,
                 (unsigned long long)TG_STAT_GET(a.err_json),
                 (unsigned long long)TG_STAT_GET(b.err_json), (unsigned long long)errors(&a),
                 (unsigned long long)errors(&b));
    free(orig.p);
    free(cut.p);
    return m;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void test_every_venue_counts_a_cut_frame_as_json_error(void **state)
{
    (void)state;
    const char *recs = getenv("TG_RECORDINGS");
    struct dirent **venues;
    int nv = scandir(recs, &venues, NULL, by_name);
    assert_true(nv > 0);
    unsigned files = 0, cut = 0;
    for (int i = 0; i < nv; i++) {
        char dir[1024];
        snprintf(dir, sizeof(dir), "%s/%s", recs, venues[i]->d_name);
        struct dirent **fs;
        int nf = venues[i]->d_name[0] == '.' ? -1 : scandir(dir, &fs, NULL, by_name);
        for (int k = 0; k < nf; k++) {
            if (strstr(fs[k]->d_name, ".tgrec")) {
                char path[2048];
                snprintf(path, sizeof(path), "%s/%s", dir, fs[k]->d_name);
                cut += check_recording(path);
                files++;
            }
            free(fs[k]);
        }
        if (nf >= 0)
            free(fs);
        free(venues[i]);
    }
    free(venues);
    printf("# %u recordings, %u cut frames, each counted once as a JSON error\n", files, cut);
    assert_true(files >= 19 && cut > 1000);
}

TU_MAIN_NEEDS("TG_RECORDINGS", "the shared recordings",
              cmocka_unit_test(test_malformed_trees_are_refused),
              cmocka_unit_test(test_wellformed_trees_are_kept),
              cmocka_unit_test(test_every_venue_counts_a_cut_frame_as_json_error))
